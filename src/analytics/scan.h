/*
 * Scan detection (flowsleuth scan): per source, a Threshold Random Walk over its first
 * contacts with new destinations (trw.h) and a count rule for what TRW misses (slow
 * scans, vertical scans of one host, UDP): distinct failed (host, proto, port) pairs
 * inside a sliding time window against a threshold, one for internal sources and one
 * for the others.
 *
 * Record order does not matter: the store hands flows out in bin order and, inside a
 * bin, in the order the meter or exporter closed them (by the end of the flow, not its
 * start), so scan_add keeps a compact copy of every contact (sums per source for the
 * rest) and scan_finish groups them by source and then each source's destinations,
 * ordered by first-contact time before it walks. Only the sources with enough
 * unanswered contacts to reach a rule's threshold are grouped and judged.
 *
 * What a flow tells (per flow, answered or not):
 *   TCP   answered when reverse packets came and they were not only a RST: a SYN+ACK,
 *         payload, or reverse packets without RST;
 *   UDP   answered when reverse packets came;
 *   ICMP  an echo request (v4 type 8, v6 type 128) is a contact, answered when the
 *         destination sent the source an echo reply (a flow of its own: the meter keys
 *         ICMP by type and code); other ICMP (replies, unreachables, ...) is no contact,
 *         so a router that sends unreachables to a scanner is not taken for one;
 *   other protocols are no contacts.
 * A destination (or a host+port pair) is a hit when any contact of the source with it
 * was answered, a miss otherwise; a destination that never answers anyone is a miss
 * whatever the port.
 *
 * Memory: SCAN_BYTES_PER_FLOW bytes a flow, SCAN_BYTES_PER_BUSIEST more for each flow
 * of the source with the most, SCAN_BYTES_PER_SOURCE a source, bounded by max_mem
 * (scan_add says FS_ENOSPC past it). Ownership: scan_new allocates, scan_free releases; findings
 * handed to the callback are lent for the call. Nothing prints.
 */
#ifndef FS_SCAN_H
#define FS_SCAN_H

#include "../core/flow.h"
#include "netlist.h"
#include "trw.h"

#include <stddef.h>
#include <stdint.h>

struct scan_opts {
    struct trw_params trw;
    uint32_t count_external;        /* failed pairs in the window that make a scanner: outside */
    uint32_t count_internal;        /* ... for sources in `internal` */
    uint64_t window_ms;             /* the count rule's sliding window */
    size_t max_mem;                 /* bytes for the flows held */
    const struct netlist *internal; /* our networks (NULL = none) */
    const struct netlist *allow;    /* sources (nets) and destination ports left out */
};

enum scan_method { SCAN_TRW = 1, SCAN_COUNT = 2 };
enum scan_kind { SCAN_HORIZONTAL, SCAN_VERTICAL, SCAN_BLOCK };

struct scan_finding {
    uint8_t src[16];
    int ipver;
    uint64_t first, last; /* the source's flows: earliest first, latest last */
    uint64_t flows;       /* the source's flows (all of them, as the evidence selects) */
    uint32_t targets;     /* distinct destinations contacted */
    uint32_t ports;       /* distinct TCP/UDP destination ports contacted */
    uint32_t failed;      /* distinct (host, proto, port) pairs never answered */
    uint32_t window_max;  /* most failed pairs inside one window */
    uint32_t threshold;   /* the count rule's threshold for this source */
    uint32_t contacts;    /* TRW: first contacts until the decision (0: not decided) */
    double log_ratio;     /* TRW: ln Lambda at the decision */
    unsigned methods;     /* SCAN_TRW | SCAN_COUNT */
    double score;         /* >= 1: the strongest rule, against its threshold */
    enum scan_kind kind;
};

/* --max-mem: a flow (a contact is held in 20 or 32 bytes, more when its times are far
 * apart, and its index), each flow of the busiest source again (scan_finish's work
 * arrays: its pairs, destinations, hash slots), a source (its record in the map, its
 * sort entry, bounds and rank), and an echo reply 32 bytes more. The figures are kept
 * as they were when a flow took 44 bytes, so --max-mem holds the same flows. */
#define SCAN_BYTES_PER_FLOW    56
#define SCAN_BYTES_PER_BUSIEST 80
#define SCAN_BYTES_PER_SOURCE  136

struct scan;

/* NULL with FS_EINVAL in *err when the TRW parameters are out of range. */
struct scan *scan_new(const struct scan_opts *o, int *err);

/* Take one flow: 0, or FS_ENOSPC when max_mem is used up (the flow is not taken). */
int scan_add(struct scan *s, const struct flow *f);

/* Findings (one per source, in address order) to fn; a nonzero return stops and is
 * passed back. Call once. */
typedef int (*scan_emit_fn)(void *ctx, const struct scan_finding *f);
int scan_finish(struct scan *s, scan_emit_fn fn, void *ctx);

/* Flows held so far. */
size_t scan_flows(const struct scan *s);

const char *scan_kind_name(enum scan_kind k);

void scan_free(struct scan *s);

#endif
