#include "anomaly.h"

#include "../core/xalloc.h"

#include <math.h>
#include <stdlib.h>

const char *const an_kind_names[3] = { "spike", "drop", "gap" };

/*
 * Where a Poisson count of mean n is k deviations away. Above, measured at the value,
 * (v - n) / sqrt(v) = k, i.e. v = n + k^2/2 + k sqrt(n + k^2/4): a median that five
 * weeks happened to put low does not make ordinary noise a spike. Below, measured at
 * the mean, v = n - k sqrt(n): at the value it would call every 0 impossible, and a
 * host that gets four flows an hour has none now and then.
 */
static void poisson_band(double n, double k, double *lo, double *hi)
{
    *lo = n - k * sqrt(n) > 0 ? n - k * sqrt(n) : 0;
    *hi = n + k * k / 2 + k * sqrt(n + k * k / 4);
}

void an_band(const struct bl_slot *x, int m, double k, double per_flow, double *low, double *high)
{
    double med = x->m[m].med, s = x->m[m].spread;
    if (s < 0.05 * med)
        s = 0.05 * med;
    /* The count part in flows: tbytes and tpackets as flows' worth of them. */
    double r = m == 0 || per_flow <= 0 ? 1 : per_flow, plo, phi;
    poisson_band(med / r, k, &plo, &phi);
    double lo = med - k * s < plo * r ? med - k * s : plo * r;
    double hi = med + k * s > phi * r ? med + k * s : phi * r;
    *low = lo > 0 ? lo : 0;
    *high = hi;
}

/* One metric of one key in one bin: 1 when it made a finding. */
static int judge(const struct bl_slot *x, double v, double k, double per_flow, struct an_finding *f)
{
    double med = x->m[f->metric].med;
    an_band(x, f->metric, k, per_flow, &f->low, &f->high);
    f->value = v;
    f->expected = med;
    /* k at either edge of the band, whatever its width on that side. */
    if (v >= med)
        f->score = k * (v - med) / (f->high - med);
    else
        f->score = med > f->low ? -k * (med - v) / (med - f->low) : 0;
    if (f->metric == 0 && v == 0 && f->low > 0) {
        f->kind = AN_GAP;
        return 1;
    }
    if (v > f->high)
        f->kind = AN_SPIKE;
    else if (v < f->low)
        f->kind = AN_DROP;
    else
        return 0;
    return 1;
}

/* tbytes and tpackets per flow of metric m over slots x[0..n) (all keys: the whole
 * profile), from the medians; 0 when no slot expects a flow. */
static double per_flow(const struct bl_slot *x, size_t n, int m)
{
    double flows = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        flows += x[i].m[0].med;
        sum += x[i].m[m].med;
    }
    return flows > 0 ? sum / flows : 0;
}

double *an_per_flow(const struct bl_profile *p, size_t nk)
{
    double *r = xmalloc((nk ? nk : 1) * BL_METRICS * sizeof(*r)), all[BL_METRICS];
    for (int m = 0; m < BL_METRICS; m++)
        all[m] = per_flow(p->slots, nk * BL_SLOTS, m);
    for (size_t i = 0; i < nk; i++)
        for (int m = 0; m < BL_METRICS; m++) {
            double v = per_flow(&p->slots[i * BL_SLOTS], BL_SLOTS, m);
            r[i * BL_METRICS + (size_t)m] = v > 0 ? v : all[m];
        }
    return r;
}

void anomaly_run(const struct bl_profile *p, const struct bl_series *s, const struct tz *z,
                 uint64_t lo, uint64_t hi, double k,
                 void (*emit)(void *ctx, const struct an_finding *f), void *ctx)
{
    size_t nk = p->nkeys < s->n ? p->nkeys : s->n;
    double *r = an_per_flow(p, nk);
    for (uint64_t b = lo; b <= hi; b++) {
        unsigned slot = tz_how(z, b * p->bin_ms);
        for (size_t i = 0; i < nk; i++) {
            const struct bl_slot *x = &p->slots[i * BL_SLOTS + slot];
            for (int m = 0; m < BL_METRICS; m++) {
                struct an_finding f = { .bin_ms = b * p->bin_ms, .key = i, .metric = m };
                double v = (double)bl_series_value(s, i, b, m);
                if (!judge(x, v, k, r[i * BL_METRICS + (size_t)m], &f))
                    continue;
                emit(ctx, &f);
                if (f.kind == AN_GAP)
                    break; /* tbytes and tpackets are zero too: one finding */
            }
        }
    }
    free(r);
}
