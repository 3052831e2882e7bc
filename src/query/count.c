#include "count.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

void count_init(struct count *c, uint64_t bin_ms, enum count_load load, size_t max_bins)
{
    memset(c, 0, sizeof(*c));
    c->bin_ms = bin_ms ? bin_ms : 1;
    c->load = load;
    c->max_bins = max_bins ? max_bins : 1;
}

/* Make bins lo..hi (bin numbers) addressable; FS_ENOSPC past max_bins. */
static int ensure(struct count *c, uint64_t lo, uint64_t hi)
{
    if (c->nbins == 0) {
        c->base = lo;
        c->nbins = 0;
    }
    uint64_t nlo = lo < c->base ? lo : c->base;
    uint64_t end = c->base + c->nbins; /* one past the last bin */
    uint64_t nend = hi + 1 > end ? hi + 1 : end;
    if (nend - nlo > c->max_bins)
        return FS_ENOSPC;
    size_t need = (size_t)(nend - nlo);
    if (need > c->cap) {
        size_t cap = c->cap ? c->cap : 64;
        while (cap < need)
            cap *= 2;
        if (cap > c->max_bins)
            cap = c->max_bins;
        c->bins = xrealloc(c->bins, cap * sizeof(*c->bins));
        c->cap = cap;
    }
    size_t shift = (size_t)(c->base - nlo);
    if (shift && c->nbins) {
        memmove(c->bins + shift, c->bins, c->nbins * sizeof(*c->bins));
        memset(c->bins, 0, shift * sizeof(*c->bins));
    }
    size_t old_end = shift + c->nbins;
    memset(c->bins + old_end, 0, (need - old_end) * sizeof(*c->bins));
    c->base = nlo;
    c->nbins = need;
    return 0;
}

/* total * part / whole without overflow (whole > 0, part <= whole). */
static uint64_t share(uint64_t total, uint64_t part, uint64_t whole)
{
    return (uint64_t)((unsigned __int128)total * part / whole);
}

/*
 * Spread bytes and packets over bins b0..b1 by the time [first, last] spends in each.
 * Cumulative shares: bin i gets share(total, end_i - first) minus what the earlier
 * bins got, so the parts sum to the totals exactly.
 */
static void spread(struct count *c, uint64_t first, uint64_t last, uint64_t b0, uint64_t b1,
                   uint64_t bytes, uint64_t packets)
{
    uint64_t dur = last - first, done_b = 0, done_p = 0;
    for (uint64_t b = b0; b <= b1; b++) {
        struct count_bin *bin = &c->bins[b - c->base];
        uint64_t end = b == b1 ? last : (b + 1) * c->bin_ms;
        uint64_t cb = b == b1 ? bytes : share(bytes, end - first, dur);
        uint64_t cp = b == b1 ? packets : share(packets, end - first, dur);
        bin->bytes += cb - done_b;
        bin->packets += cp - done_p;
        done_b = cb;
        done_p = cp;
    }
}

int count_add(struct count *c, const struct flow *f)
{
    uint64_t first = f->first, last = f->last > f->first ? f->last : f->first;
    uint64_t bytes = f->bytes + f->rbytes, packets = f->packets + f->rpackets;
    uint64_t b0 = first / c->bin_ms;
    uint64_t b1 = c->load == COUNT_LOAD_START ? b0 : last / c->bin_ms;
    if (b1 - b0 >= c->max_bins || ensure(c, b0, b1) != 0)
        return FS_ENOSPC;
    c->flows++;
    c->bytes += bytes;
    c->packets += packets;
    c->bins[b0 - c->base].flows++;
    if (b0 == b1) {
        c->bins[b0 - c->base].bytes += bytes;
        c->bins[b0 - c->base].packets += packets;
        return 0;
    }
    spread(c, first, last, b0, b1, bytes, packets);
    return 0;
}

int count_merge(struct count *dst, const struct count *src)
{
    if (src->nbins == 0)
        return 0;
    uint64_t lo = src->base, hi = src->base + src->nbins - 1;
    if (ensure(dst, lo, hi) != 0) /* refuses before it changes any bin */
        return FS_ENOSPC;
    for (size_t i = 0; i < src->nbins; i++) {
        struct count_bin *d = &dst->bins[src->base + i - dst->base];
        d->flows += src->bins[i].flows;
        d->bytes += src->bins[i].bytes;
        d->packets += src->bins[i].packets;
    }
    dst->flows += src->flows;
    dst->bytes += src->bytes;
    dst->packets += src->packets;
    return 0;
}

void count_free(struct count *c)
{
    free(c->bins);
    memset(c, 0, sizeof(*c));
}
