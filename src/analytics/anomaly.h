/*
 * Anomalies (flowsleuth anomaly): each bin of each key of a profile against the band
 * its hour of the week expects.
 *
 * For a slot with median m and spread s (baseline.h) the band is the wider of two:
 *   - the learned one, m +- k max(s, 0.05 m): a spread learned as zero (a slot that was
 *     the same every week) would otherwise make any change infinitely unusual;
 *   - the count's own noise: flows vary at least as a Poisson count of mean n = m does:
 *     up to n + k^2/2 + k sqrt(n + k^2/4) (where (v - n) / sqrt(v) = k: measured at the
 *     value, so a slot whose five weekly samples happened to be low does not turn
 *     ordinary noise at a few flows an hour into spikes, and a host that never expects
 *     a flow needs a few, not one, to be unusual) and down to n - k sqrt(n) (measured
 *     at the mean: at the value every 0 would be impossible). tbytes and tpackets are
 *     taken as flows' worth: m divided by the key's bytes or packets per flow, and back.
 * Above the band is a spike, below a drop; no flows at all where the band's low end is
 * above zero is a gap (an exporter or a link that went quiet), reported once, on the
 * flows metric, instead of as three drops. The score is k at the band's edge on that
 * side: k (v - m) / (high - m) above m, -k (m - v) / (m - low) below.
 *
 * Ownership: nothing allocated that outlives a call.
 */
#ifndef FS_ANOMALY_H
#define FS_ANOMALY_H

#include "../core/tz.h"
#include "baseline.h"

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

/* The band of metric m of slot x for threshold k; per_flow: the key's tbytes or
 * tpackets per flow (ignored for flows). */
void an_band(const struct bl_slot *x, int m, double k, double per_flow, double *low, double *high);

/* The per_flow of an_band for each of the profile's first nk keys, as anomaly_run
 * takes it: r[i * BL_METRICS + m], the key's own bytes or packets per flow, or the
 * whole profile's for a key that never expects a flow. The caller frees r. */
double *an_per_flow(const struct bl_profile *p, size_t nk);

/*
 * Compare bins lo..hi (bin numbers, inclusive) of every profile key in s (whose keys
 * are the profile's, in its order) and call emit for each finding, in time order and
 * key order within a bin.
 */
void anomaly_run(const struct bl_profile *p, const struct bl_series *s, const struct tz *z,
                 uint64_t lo, uint64_t hi, double k,
                 void (*emit)(void *ctx, const struct an_finding *f), void *ctx);

#endif
