/*
 * A saved services profile (services -w PROFILE) and what is new against it
 * (services --since PROFILE): the (server, proto, port) rows of a run, kept as text so
 * that a profile diffs well and an admin can read and edit it.
 *
 *   flowsleuth-services-profile 1
 *   # server proto port first last clients flows bytes
 *   10.1.0.5 6 22 1700200000000 1700286399999 4 310 1893120
 *
 * (first and last in ms since the epoch; proto a number.) Rows are sorted by (server,
 * proto, port); a later run merged into a profile keeps the earliest first, the latest
 * last and the larger counts, so `services --since P -w P` keeps a rolling profile of
 * everything seen.
 *
 * Ownership: svc_profile_init on caller storage, svc_profile_free releases. Nothing
 * prints: errors come back in struct fs_err naming the file and line.
 */
#ifndef FS_SERVICES_PROFILE_H
#define FS_SERVICES_PROFILE_H

#include "../core/err.h"
#include "services.h"

#include <stddef.h>
#include <stdint.h>

#define SVC_PROFILE_VERSION 1

struct svc_prow {
    uint8_t server[16];
    int ipver;
    uint8_t proto;
    uint16_t port;
    uint64_t first, last, clients, flows, bytes;
};

struct svc_profile {
    struct svc_prow *v;
    size_t n, cap;
    size_t nsorted; /* v[0..nsorted) is in key order */
};

void svc_profile_init(struct svc_profile *p);
void svc_profile_free(struct svc_profile *p);

/*
 * Read PROFILE into p (empty before): 0, -errno when it cannot be read, FS_ECORRUPT or
 * FS_EVERSION with err naming the file and line (p is then emptied).
 */
int svc_profile_load(struct svc_profile *p, const char *path, struct fs_err *err);

/* Write p (sorted first): 0 or an error naming the file. Replaced whole (atomic_file). */
int svc_profile_save(struct svc_profile *p, const char *path, struct fs_err *err);

/* Merge one seen service into p (added, or its times widened and counts raised).
 * Each key once between two saves (services_finish gives each once): a row added is
 * not looked up until p is sorted again. */
void svc_profile_merge(struct svc_profile *p, const struct svc_row *r);

/* The row of (server, proto, port) in p, or NULL. Sorts p on first use. */
const struct svc_prow *svc_profile_find(struct svc_profile *p, const uint8_t server[16],
                                        uint8_t proto, uint16_t port);

#endif
