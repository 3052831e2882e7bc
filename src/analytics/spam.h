/*
 * Spam sources (flowsleuth spam): hosts that send mail to many mail servers. Per
 * source, the distinct servers contacted on the mail ports (TCP 25, 465, 587) inside a
 * sliding window, against a threshold; the authorised relays are left out both as
 * sources (sending to many servers is their job) and as destinations (submitting to
 * them is what every client does).
 *
 * The count is exact: each source's contacts are sorted by time and swept with two
 * pointers, a per-server counter telling when a server enters or leaves the window.
 * Record order does not matter (the flows are held and sorted, as for scan).
 *
 * Ownership: spam_new allocates, spam_free releases; findings handed to the callback
 * are lent for the call. Nothing prints.
 */
#ifndef FS_SPAM_H
#define FS_SPAM_H

#include "../core/flow.h"
#include "netlist.h"

#include <stddef.h>
#include <stdint.h>

#define SPAM_MAX_PORTS      8
#define SPAM_BYTES_PER_FLOW 72

struct spam_opts {
    uint16_t ports[SPAM_MAX_PORTS]; /* the mail ports (destination, TCP) */
    size_t nports;
    uint32_t threshold; /* distinct servers in one window that make a finding */
    uint64_t window_ms;
    const struct netlist *internal; /* sources must lie here (NULL or empty: anywhere) */
    const struct netlist *relays;   /* --mail-servers: neither source nor server counted */
    size_t max_mem;
};

struct spam_finding {
    uint8_t src[16];
    int ipver;
    uint64_t first, last; /* the source's mail flows */
    uint64_t flows;       /* its mail flows */
    uint32_t servers;     /* distinct servers over all of them */
    uint32_t peak;        /* the most distinct servers inside one window */
    uint64_t peak_start;  /* the first contact of that window */
};

struct spam;

struct spam *spam_new(const struct spam_opts *o);

/* 1 when f is a mail flow the detector counts (port, relays, internal). */
int spam_takes(const struct spam *s, const struct flow *f);

/* Take one flow: 0, or FS_ENOSPC when max_mem is used up. */
int spam_add(struct spam *s, const struct flow *f);

/* Sources whose peak reached the threshold, in address order, to fn; a nonzero return
 * stops and is passed back. Call once. */
typedef int (*spam_emit_fn)(void *ctx, const struct spam_finding *f);
int spam_finish(struct spam *s, spam_emit_fn fn, void *ctx);

size_t spam_flows(const struct spam *s);

void spam_free(struct spam *s);

#endif
