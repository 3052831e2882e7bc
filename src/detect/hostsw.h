/*
 * The software of each host: the catalogue entries its identified downloads name,
 * joined by the host's address (flowsleuth hosts -c). The rule is flowsleuth
 * inventory's: the client is the flow's src, and only unique matches count (MV_MATCH;
 * ambiguous and possible flows name nothing); every entry of a matched set counts.
 *
 * Feed it from match_run_batch (match.h) through hostsw_on_result, then hostsw_finish
 * once, then look hosts up with hostsw_of in any order.
 *
 * Ownership: hostsw_new allocates, hostsw_free releases; the entries point into the
 * catalogue, which must outlive the join; the package arrays hostsw_of hands out are
 * the join's.
 */
#ifndef FS_HOSTSW_H
#define FS_HOSTSW_H

#include "../core/flow.h"
#include "catalog.h"
#include "match_types.h"

#include <stddef.h>
#include <stdint.h>

/* One package a host downloaded: the entry, the flows that named it, their times. */
struct hostsw_pkg {
    const struct cat_entry *e;
    uint64_t flows, first, last;
};

struct hostsw;

struct hostsw *hostsw_new(const struct catalog *cat);

/* A match_run_batch callback (ctx: the join): takes the flow's unique match, if any. */
int hostsw_on_result(void *ctx, const struct flow *f, const struct match_result *r);

/* Sort and merge what was taken: one package per (host, name, version, arch), by
 * name, version and arch. Call once, after the last result. */
void hostsw_finish(struct hostsw *h);

/* The packages of host addr (16 bytes): their count, *out set to the first (NULL when
 * none). Valid until hostsw_free. */
size_t hostsw_of(const struct hostsw *h, const uint8_t addr[16], const struct hostsw_pkg **out);

/* Hosts with at least one package. */
size_t hostsw_hosts(const struct hostsw *h);

void hostsw_free(struct hostsw *h);

#endif
