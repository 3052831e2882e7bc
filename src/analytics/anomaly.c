#include "anomaly.h"

#include <math.h>

const char *const an_kind_names[3] = { "spike", "drop", "gap" };

void an_band(const struct bl_slot *x, int m, double k, double *low, double *high, double *sigma)
{
    const struct bl_stat *st = &x->m[m];
    double flows = x->m[0].med > 1 ? x->m[0].med : 1;
    double s = st->spread;
    if (s < 0.05 * st->med)
        s = 0.05 * st->med;
    if (s < st->med / sqrt(flows))
        s = st->med / sqrt(flows);
    if (s < 1)
        s = 1;
    *sigma = s;
    *low = st->med - k * s > 0 ? st->med - k * s : 0;
    *high = st->med + k * s;
}

/* One metric of one key in one bin: 1 when it made a finding. */
static int judge(const struct bl_slot *x, double v, double k, struct an_finding *f)
{
    const struct bl_stat *st = &x->m[f->metric];
    double sigma;
    an_band(x, f->metric, k, &f->low, &f->high, &sigma);
    f->value = v;
    f->expected = st->med;
    f->score = (v - st->med) / sigma;
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

void anomaly_run(const struct bl_profile *p, const struct bl_series *s, const struct tz *z,
                 uint64_t lo, uint64_t hi, double k,
                 void (*emit)(void *ctx, const struct an_finding *f), void *ctx)
{
    for (uint64_t b = lo; b <= hi; b++) {
        unsigned slot = tz_how(z, b * p->bin_ms);
        for (size_t i = 0; i < p->nkeys && i < s->n; i++) {
            const struct bl_slot *x = &p->slots[i * BL_SLOTS + slot];
            for (int m = 0; m < BL_METRICS; m++) {
                struct an_finding f = { .bin_ms = b * p->bin_ms, .key = i, .metric = m };
                double v = (double)bl_series_value(s, i, b, m);
                if (!judge(x, v, k, &f))
                    continue;
                emit(ctx, &f);
                if (f.kind == AN_GAP)
                    break; /* tbytes and tpackets are zero too: one finding */
            }
        }
    }
}
