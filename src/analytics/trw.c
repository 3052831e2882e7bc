/* Threshold Random Walk arithmetic (trw.h). */
#include "trw.h"
#include "../core/err.h"

#include <math.h>

/* A walk sits on a threshold after an exact number of steps (4 misses from 1 reach
 * 256 >= 99 either way, but other parameter sets can land on eta exactly): compare with
 * a little slack so that a rounding error in the sum does not add a step. */
#define TRW_EPS 1e-9

int trw_init(struct trw *t, const struct trw_params *p)
{
    if (!(p->theta1 > 0 && p->theta1 < p->theta0 && p->theta0 < 1))
        return FS_EINVAL;
    if (!(p->alpha > 0 && p->alpha < p->beta && p->beta < 1))
        return FS_EINVAL;
    t->log_hit = log(p->theta1 / p->theta0);
    t->log_miss = log((1 - p->theta1) / (1 - p->theta0));
    t->log_eta1 = log(p->beta / p->alpha);
    t->log_eta0 = log((1 - p->beta) / (1 - p->alpha));
    return 0;
}

enum trw_state trw_step(const struct trw *t, struct trw_walk *w, int hit)
{
    w->contacts++;
    w->log_ratio += hit ? t->log_hit : t->log_miss;
    if (w->log_ratio >= t->log_eta1 - TRW_EPS)
        return TRW_SCANNER;
    if (w->log_ratio <= t->log_eta0 + TRW_EPS) {
        w->log_ratio = 0;
        return TRW_BENIGN;
    }
    return TRW_PENDING;
}

double trw_expected_n(const struct trw_params *p, int scanner)
{
    double eta1 = log(p->beta / p->alpha), eta0 = log((1 - p->beta) / (1 - p->alpha));
    double lh = log(p->theta1 / p->theta0), lm = log((1 - p->theta1) / (1 - p->theta0));
    if (scanner)
        return (p->beta * eta1 + (1 - p->beta) * eta0) / (p->theta1 * lh + (1 - p->theta1) * lm);
    return ((1 - p->alpha) * eta0 + p->alpha * eta1) / (p->theta0 * lh + (1 - p->theta0) * lm);
}

uint32_t trw_min_misses(const struct trw *t)
{
    return (uint32_t)ceil(t->log_eta1 / t->log_miss - TRW_EPS);
}
