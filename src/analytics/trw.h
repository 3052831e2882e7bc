/*
 * Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan: "Fast Portscan Detection
 * Using Sequential Hypothesis Testing", IEEE S&P 2004), the arithmetic only.
 *
 * Each first contact of a source with a new destination is an observation Y: a hit
 * (the destination answered) or a miss. H0 = benign (P(hit) = theta0), H1 = scanner
 * (P(hit) = theta1 < theta0). The walk multiplies the likelihood ratio
 *   Lambda *= theta1 / theta0                 on a hit,
 *   Lambda *= (1 - theta1) / (1 - theta0)     on a miss,
 * and decides H1 when Lambda >= eta1 = beta / alpha, H0 when Lambda <= eta0 =
 * (1 - beta) / (1 - alpha) (alpha: false-positive bound, beta: detection probability).
 * The ratio is kept as its logarithm, so long walks neither overflow nor underflow.
 *
 * Ownership: plain values on caller storage; nothing allocates, nothing prints.
 */
#ifndef FS_TRW_H
#define FS_TRW_H

#include <stdint.h>

struct trw_params {
    double theta0, theta1; /* P(hit | benign), P(hit | scanner); 0 < theta1 < theta0 < 1 */
    double alpha, beta;    /* 0 < alpha < beta < 1 */
};

/* Jung et al.'s values: theta0 0.8, theta1 0.2, alpha 0.01, beta 0.99. */
#define TRW_PARAMS_DEFAULT   \
    {                        \
        0.8, 0.2, 0.01, 0.99 \
    }

/* The constants of one parameter set (logarithms), derived once. */
struct trw {
    double log_hit, log_miss; /* ln of the factors above: < 0 and > 0 */
    double log_eta0, log_eta1;
};

enum trw_state { TRW_PENDING, TRW_SCANNER, TRW_BENIGN };

/* One source's walk. */
struct trw_walk {
    double log_ratio;  /* ln Lambda since the last reset */
    uint32_t contacts; /* observations since the start (not reset by a benign decision) */
};

/* 0, or FS_EINVAL when the parameters are out of their ranges above. */
int trw_init(struct trw *t, const struct trw_params *p);

/*
 * One observation (hit nonzero = the destination answered). TRW_BENIGN resets the walk
 * (log_ratio = 0, contacts kept) so that a host that was benign at first and scans later
 * is still caught; TRW_SCANNER leaves the walk at the decision.
 */
enum trw_state trw_step(const struct trw *t, struct trw_walk *w, int hit);

/*
 * Wald's approximation of the expected number of observations to a decision (Jung et
 * al., eq. 4 and 5): under H1 (scanner = 1) or under H0 (scanner = 0).
 */
double trw_expected_n(const struct trw_params *p, int scanner);

/* The fewest observations that can decide H1: consecutive misses from a fresh walk. */
uint32_t trw_min_misses(const struct trw *t);

#endif
