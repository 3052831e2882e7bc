/*
 * The hosts of our networks that the flows show (flowsleuth hosts): per internal
 * address, when it was first and last seen, its flows and bytes.
 *
 * An address counts as seen when it sent something: it initiated a flow (src), or it
 * answered one (dst of a flow with reverse packets or bytes). An address that was only
 * ever probed (a scan's dead targets, a ping sweep's silent addresses) is no host. Once
 * seen, every flow it took part in counts in its flows and bytes (both directions),
 * and in first and last.
 *
 * Memory: HOSTS_BYTES_PER_HOST bytes a distinct address (its sums and its share of
 * the hash map that finds them), bounded by max_mem (hosts_add says FS_ENOSPC when a
 * flow would add a host past it); the flows themselves are not held. Ownership: hosts_new
 * allocates, hosts_free releases; rows handed to the callback are lent for the call.
 * Nothing prints.
 */
#ifndef FS_HOSTS_H
#define FS_HOSTS_H

#include "../core/flow.h"
#include "netlist.h"

#include <stddef.h>
#include <stdint.h>

#define HOSTS_BYTES_PER_HOST 176

struct hosts_opts {
    const struct netlist *internal; /* our networks: NULL or empty = every address */
    size_t max_mem;
};

struct host_row {
    uint8_t addr[16];
    int ipver;
    uint64_t first, last; /* earliest first, latest last of its flows */
    uint64_t flows, bytes;
    uint64_t initiated; /* flows it began (src) */
    uint64_t answered;  /* flows it answered (dst, reverse traffic) */
};

struct hosts;

struct hosts *hosts_new(const struct hosts_opts *o);

/* Take one flow: 0, or FS_ENOSPC when max_mem is used up (the flow is not taken). */
int hosts_add(struct hosts *h, const struct flow *f);

/* The hosts seen, in address order, to fn; a nonzero return stops and is passed back.
 * Call once. */
typedef int (*hosts_emit_fn)(void *ctx, const struct host_row *r);
int hosts_finish(struct hosts *h, hosts_emit_fn fn, void *ctx);

/* Add what src holds to dst (src is flushed, not freed): 0, or FS_ENOSPC when dst's
 * max_mem cannot hold the union (dst then holds part of it). For one state per reading
 * thread: the sums do not depend on the order of the flows. */
int hosts_merge(struct hosts *dst, struct hosts *src);

/* Addresses held (internal ends seen, probed only or not). */
size_t hosts_records(struct hosts *h);

void hosts_free(struct hosts *h);

#endif
