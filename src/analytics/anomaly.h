/*
 * Anomalies (flowsleuth anomaly): each bin of each key of a profile against the band
 * its hour of the week expects.
 *
 * For a slot with median m and spread s (baseline.h), and median flows n, the scale is
 * sigma = max(s, 0.05 m, m / sqrt(n), 1): a spread learned as zero (a slot that was the
 * same every week, often zero at night) would otherwise make any change infinitely
 * unusual, and the number of flows varies at least as a Poisson count does (sqrt(n)),
 * tbytes and tpackets with it (a few flows more or less move them by a few flows'
 * worth: m / sqrt(n)). The band is
 * [max(0, m - k sigma), m + k sigma], the score the robust z = (value - m) / sigma.
 * A value above the band is a spike, below a drop; no flows at all where the band's low
 * end is above zero is a gap (an exporter or a link that went quiet), reported once, on
 * the flows metric, instead of as three drops.
 *
 * Ownership: nothing allocated that outlives a call.
 */
#ifndef FS_ANOMALY_H
#define FS_ANOMALY_H

#include "baseline.h"
#include "tz.h"

#include <stddef.h>
#include <stdint.h>

enum an_kind { AN_SPIKE, AN_DROP, AN_GAP };

extern const char *const an_kind_names[3];

struct an_finding {
    uint64_t bin_ms; /* start of the bin */
    size_t key;      /* index in the profile's keys */
    int metric;      /* bl_metric_names */
    double value, expected, low, high, score;
    enum an_kind kind;
};

/* The band of metric m of slot x for threshold k. */
void an_band(const struct bl_slot *x, int m, double k, double *low, double *high, double *sigma);

/*
 * Compare bins lo..hi (bin numbers, inclusive) of every profile key in s (whose keys
 * are the profile's, in its order) and call emit for each finding, in time order and
 * key order within a bin.
 */
void anomaly_run(const struct bl_profile *p, const struct bl_series *s, const struct tz *z,
                 uint64_t lo, uint64_t hi, double k,
                 void (*emit)(void *ctx, const struct an_finding *f), void *ctx);

#endif
