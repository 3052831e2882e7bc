/*
 * Time series (flowsleuth count --bin S): flows, bytes and packets per time bin.
 *
 * Bins are aligned to multiples of the bin width since the epoch (so --bin 300 gives
 * wall-clock five-minute bins). A flow counts as one flow in the bin of its first
 * packet. Its bytes and packets (biflow totals: bytes + rbytes, packets + rpackets)
 * are, by default, spread over every bin its [first, last] span touches, in proportion
 * to the time spent in each bin; the shares are cumulative-rounded so they add up to
 * the flow's totals exactly. With COUNT_LOAD_START they all go to the first bin.
 * Bins between the first and the last one with traffic exist with zeros.
 *
 * Ownership: count_init allocates the bin array, count_free releases it. Nothing here
 * prints.
 */
#ifndef FS_COUNT_H
#define FS_COUNT_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

enum count_load { COUNT_LOAD_SPREAD, COUNT_LOAD_START };

struct count_bin {
    uint64_t flows, bytes, packets;
};

struct count {
    uint64_t bin_ms;
    enum count_load load;
    size_t max_bins;        /* memory bound */
    uint64_t base;          /* bin number (time / bin_ms) of bins[0] */
    struct count_bin *bins; /* nbins consecutive bins from base */
    size_t nbins, cap;
    uint64_t flows, bytes, packets; /* totals */
};

/*
 * Set up an empty series of bin_ms-wide bins (bin_ms > 0) that may hold at most
 * max_bins bins.
 */
void count_init(struct count *c, uint64_t bin_ms, enum count_load load, size_t max_bins);

/*
 * Add one flow. Returns 0, or FS_ENOSPC (nothing added) when the series would span
 * more than max_bins bins.
 */
int count_add(struct count *c, const struct flow *f);

/*
 * Add the bins and totals of src (same bin width and load) to dst, for threads that
 * counted apart: sums do not depend on the order of the flows. Returns 0, or
 * FS_ENOSPC (dst unchanged) when the two together span more than dst->max_bins.
 */
int count_merge(struct count *dst, const struct count *src);

/* Start of bin i (ms since the epoch). */
static inline uint64_t count_bin_start(const struct count *c, size_t i)
{
    return (c->base + i) * c->bin_ms;
}

void count_free(struct count *c);

#endif
