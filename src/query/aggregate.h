/*
 * Aggregation (flowsleuth stats -A KEY,...): one record per combination of key values,
 * as nfdump -A. Keys are those of stats (key_parse_list): any field, srcip4/24-style
 * prefixes, one-sided only. Each record holds the key members, min first, max last,
 * the sums of every counter (bytes, packets, payload, goodput, retrans, both
 * directions), the OR of the TCP flags, the min of minlen and the max of maxlen; every
 * other member is zero. The number of flows merged comes beside it.
 *
 * Memory is bounded like stats: past the budget the table becomes a Space-Saving
 * summary weighted by bytes + rbytes, keeping the heaviest records; their counters then
 * count only the flows seen since the key (re)entered the summary (lower bounds).
 *
 * Ownership: aggregate_new allocates, aggregate_free releases; records are produced
 * into caller storage. Nothing here prints.
 */
#ifndef FS_AGGREGATE_H
#define FS_AGGREGATE_H

#include "stats.h"

struct aggregate {
    struct key_spec key;
    struct ktab tab;
    uint64_t flows; /* flows added */
};

/* Parse "srcip,dstip4/24,..." and set up an empty aggregation. 0 or FS_EINVAL. */
int aggregate_new(const char *keys, size_t max_bytes, struct aggregate **out, struct fs_err *err);

/* Merge one flow into its record. */
void aggregate_add(struct aggregate *a, const struct flow *f);

/* Merge n (<= STATS_BATCH) flows, prefetching their records first (stats_add_batch). */
void aggregate_add_batch(struct aggregate *a, const struct flow *f, size_t n);

/*
 * The records are read by entry, 0 .. a->tab.n - 1 (aggregate_record returns 0 past
 * the end): first-seen order, as nfdump prints -A unsorted, because
 * sorting millions of records by key costs more than aggregating them (random access).
 */
/* The record of a slot as a flow and how many flows it merges; 0 for an slot past the end. */
int aggregate_record(const struct aggregate *a, size_t slot, struct flow *out, uint64_t *flows);

void aggregate_free(struct aggregate *a);

#endif
