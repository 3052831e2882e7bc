/*
 * What the matcher applies of learning (learn.h learns it): the per-server overhead
 * of a nearest model, and the learned rows' windows. Here, on the match side, so that
 * match.c needs nothing of learn.c, and learn.c (which computes P as the matcher
 * does: match_payload) depends on the matcher one way only:
 *
 *     learn.h -> match.h, match_learned.h -> match_types.h
 *
 * Ownership: a learn_model owns its array (learn_model_free, learn.h); the learned
 * rows live in the catalogue's arena.
 */
#ifndef FS_MATCH_LEARNED_H
#define FS_MATCH_LEARNED_H

#include "../core/flow.h"
#include "catalog.h"
#include "match_types.h"

#include <stddef.h>
#include <stdint.h>

/* The per-server calibration of a nearest model (learn.h explains the fit). */
struct learn_server {
    uint8_t server[16];
    int ipver;
    uint32_t n;               /* observations */
    int tls;                  /* most of them on port 443 (reported; the fit is the same) */
    int64_t base;             /* response header bytes */
    double ppm[2];            /* q range: overhead beyond base per byte of size, ppm */
    struct match_resid resid; /* retransmission residues (match_types.h), seg 0 = none */
    struct match_rec rec;     /* TLS record framing (match_types.h), r 0 = none */
};

#define LEARN_BASE_SLACK 8 /* bytes either side of base */

struct learn_model {
    struct learn_server *s; /* sorted by address */
    size_t n;
    uint32_t header_bytes; /* H the observations were taken with */
};

/* The server's entry, or NULL. */
const struct learn_server *learn_model_find(const struct learn_model *m, const uint8_t *server);

/* ---- hooks of the matcher (match.c calls these; they keep its search loops as they
 * are) ---- */

/*
 * When the catalogue carries a model and f's server is in it: *so = *o with the
 * server's overhead range for payload P and its residues (basis is P's: goodput has
 * no retransmissions to take apart). Returns 1 then, else 0; match_flow then adds no
 * basis tolerance (the learned range is the tolerance).
 */
int learn_model_opts(const struct learn_model *m, const struct flow *f, uint64_t p,
                     enum match_basis basis, const struct match_opts *o, struct match_opts *so);

/* Does overhead oh (P - size of a single) land on one of rz's residues? */
int match_resid_fits(const struct match_resid *rz, int64_t oh);

/* Does overhead oh of a single of size `size` fit the record framing rc? */
int match_rec_fits(const struct match_rec *rc, uint64_t size, int64_t oh);
/* Bytes of overhead the framing rc accepts (a chance entry's odds within a window). */
double match_rec_width(const struct match_rec *rc);

/* The share of a window `width` bytes wide whose overheads land on a residue (0..1):
 * a window narrower than seg holds each residue at most once (a lossless path's one
 * residue: one byte of its window), a wider one seg-th parts of it. */
double match_resid_share(const struct match_resid *rz, uint64_t width);

/*
 * After the single-entry search of match_flow (total = candidates it found): drop the
 * candidates that are learned rows of an object learned at f's server (their learned
 * window decides instead), then add every learned row for f's server whose window
 * holds res->payload. Returns the new total.
 */
size_t learn_singles(const struct catalog *c, const struct match_opts *o, const struct flow *f,
                     uint64_t tol, struct match_result *res, size_t total);

#endif
