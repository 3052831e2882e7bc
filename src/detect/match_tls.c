/* The record framing of a TLS server from its own flows (match_tls.h). */
#include "match_tls.h"

#include "../core/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Flows of one server that vote: enough to find its grid, and a bound on the time a
 * busy server takes (its flows are sampled evenly). */
#define TLS_MAX_FLOWS 4096
/* A grid (or one of its points) stands when chance would put that many votes on the
 * best of the grids tried less often than this. */
#define TLS_FALSE_GRID 1e-3
#define TLS_SPAN       (MATCH_TLS_C_MAX - MATCH_TLS_C_MIN + 1)
#define TLS_AROUND     8 /* steps either side of a grid that say what chance puts there */
#define TLS_POINT      (2 * MATCH_REC_SLACK + 1) /* bytes of c a point takes */

/* Bytes a record adds: TLS 1.3 (any AEAD), TLS 1.2 AES-GCM, TLS 1.2 ChaCha20. */
static const uint32_t tls_r[] = { 22, 29, 21 };
#define TLS_NR    (sizeof(tls_r) / sizeof(tls_r[0]))
#define TLS_MAX_R 29

/* Votes per constant c under one r (index c - MATCH_TLS_C_MIN), and the values of c
 * that have any: most servers' votes are few, so the work walks those, and clears
 * only those for the next server. */
struct hist {
    uint32_t n[TLS_SPAN];
    uint16_t used[TLS_SPAN];
    size_t nused;
    size_t votes; /* in all */
    double floor; /* chance votes a point gets, spread evenly */
};

struct match_tls_work {
    struct hist h[TLS_NR];
};

struct match_tls_work *match_tls_work_new(void)
{
    return xcalloc(1, sizeof(struct match_tls_work));
}

void match_tls_work_free(struct match_tls_work *w)
{
    free(w);
}

static int64_t records(uint64_t size)
{
    return (int64_t)((size + MATCH_TLS_RECORD - 1) / MATCH_TLS_RECORD);
}

static void add_vote(struct hist *h, int64_t c)
{
    if (c < MATCH_TLS_C_MIN || c > MATCH_TLS_C_MAX)
        return;
    size_t at = (size_t)(c - MATCH_TLS_C_MIN);
    if (h->n[at]++ == 0)
        h->used[h->nused++] = (uint16_t)at;
    h->votes++;
}

static void clear(struct hist *h)
{
    for (size_t i = 0; i < h->nused; i++)
        h->n[h->used[i]] = 0;
    h->nused = 0;
    h->votes = 0;
    h->floor = 0;
}

/* The catalogue window [*a, *b) of payload p under every r (the widest r's); 0 when it
 * holds more than MATCH_TLS_CANDS entries and the flow says nothing. One binary search
 * (a cache miss a level: most of the cost), the start walked back over at most that
 * many entries. */
static int window(const uint64_t *sizes, size_t n, uint64_t p, size_t *a, size_t *b)
{
    uint64_t most = MATCH_TLS_C_MAX + (uint64_t)TLS_MAX_R * (p / MATCH_TLS_RECORD + 2);
    uint64_t low = p > most ? p - most : 0;
    if (p <= MATCH_TLS_C_MIN)
        return 0;
    *b = match_first_at_least(sizes, n, p - MATCH_TLS_C_MIN + 1);
    if (*b > MATCH_TLS_CANDS && sizes[*b - MATCH_TLS_CANDS - 1] >= low)
        return 0;
    for (*a = *b; *a > 0 && sizes[*a - 1] >= low; (*a)--)
        ;
    return 1;
}

/* Every flow's votes under every r into h[0..TLS_NR), one catalogue window a flow, and
 * each h's floor. */
static void vote_all(const uint64_t *sizes, size_t n, const uint64_t *p, size_t np, struct hist *h)
{
    for (size_t f = 0; f < np; f++) {
        size_t a, b, before[TLS_NR];
        if (!window(sizes, n, p[f], &a, &b))
            continue;
        for (size_t k = 0; k < TLS_NR; k++)
            before[k] = h[k].votes;
        for (size_t i = a; i < b; i++) {
            int64_t rec = records(sizes[i]), oh = (int64_t)(p[f] - sizes[i]);
            for (size_t k = 0; k < TLS_NR; k++)
                add_vote(&h[k], oh - (int64_t)tls_r[k] * rec);
        }
        for (size_t k = 0; k < TLS_NR; k++) {
            double pf = (double)(h[k].votes - before[k]) * TLS_POINT / TLS_SPAN;
            h[k].floor += pf < 1 ? pf : 1;
        }
    }
}

/* Votes on the point c +- MATCH_REC_SLACK; *top raised to the highest of them. */
static size_t point(const struct hist *h, int64_t c, int64_t *top)
{
    size_t sum = 0;
    for (int64_t d = -MATCH_REC_SLACK; d <= MATCH_REC_SLACK; d++) {
        int64_t at = c + d - MATCH_TLS_C_MIN;
        if (at < 0 || at >= TLS_SPAN || !h->n[at])
            continue;
        sum += h->n[at];
        if (top && c + d > *top)
            *top = c + d;
    }
    return sum;
}

struct grid {
    size_t votes;   /* on it */
    int64_t lo, hi; /* its first point, its highest point with a vote */
    int64_t base;   /* its first point before trim, and the points that stand out: */
    uint32_t sig;   /* bit j for base + j * r */
    double bg;      /* the chance votes one of its points gets */
};

/*
 * The chance votes a point of the grid starting at s gets: the votes around the grid
 * (TLS_AROUND steps either side) that are not on it, per byte, times a point's width;
 * at least what votes spread evenly would give (h->floor). Chance is not even: a
 * server's own downloads vote where their sizes put them (bench/match.sh's random
 * headers put three times the average between 40 and 200 bytes), so a grid is weighed
 * against its neighbourhood.
 */
static double background(const struct hist *h, int64_t s, uint32_t r, size_t on)
{
    int64_t lo = s - (int64_t)r * TLS_AROUND, hi = s + (int64_t)r * (MATCH_TLS_STEPS + TLS_AROUND);
    lo = lo < MATCH_TLS_C_MIN ? MATCH_TLS_C_MIN : lo;
    hi = hi > MATCH_TLS_C_MAX ? MATCH_TLS_C_MAX : hi;
    size_t all = 0;
    for (int64_t c = lo; c <= hi; c++)
        all += h->n[c - MATCH_TLS_C_MIN];
    double off = (double)(all > on ? all - on : 0);
    double bytes = (double)(hi - lo + 1) - (MATCH_TLS_STEPS + 1) * TLS_POINT;
    double bg = bytes > 0 ? off / bytes * TLS_POINT : h->floor;
    return bg > h->floor ? bg : h->floor;
}

/* P(X >= k) for X ~ Poisson(mean). */
static double poisson_tail(double mean, size_t k)
{
    double term = exp(-mean), below = 0;
    for (size_t i = 0; i < k && term > 0; i++) {
        below += term;
        term *= mean / (double)(i + 1);
    }
    return below < 1 ? 1 - below : 0;
}

/* The grid of r with the most votes beyond its background; ties go to the higher
 * start. A grid starts on a value of c with votes whose point holds at least `least`:
 * trim keeps a first point only when it holds more than chance would, and chance is
 * never below the even spread. */
static struct grid best_grid(const struct hist *h, uint32_t r, size_t least)
{
    struct grid best = { 0, 0, 0, 0, 0, 0 };
    double best_excess = 0;
    for (size_t i = 0; i < h->nused; i++) {
        int64_t s = (int64_t)h->used[i] + MATCH_TLS_C_MIN;
        if (point(h, s, NULL) < least)
            continue;
        struct grid g = { 0, s, s, s, 0, 0 };
        for (int j = 0; j <= MATCH_TLS_STEPS; j++)
            g.votes += point(h, s + (int64_t)r * j, &g.hi);
        g.bg = background(h, s, r, g.votes);
        double excess = (double)g.votes - (MATCH_TLS_STEPS + 1) * g.bg;
        if (excess > best_excess || (excess == best_excess && g.votes && s > best.lo)) {
            best = g;
            best_excess = excess;
        }
    }
    return best;
}

/*
 * A grid that starts a step below the server's constant holds all its votes and a
 * chance vote more: its first point is moved up to the first that holds more votes
 * than chance would (g->bg a point). At the top a point with one true download is as
 * likely as a chance vote: the grid reaches the last point of the run of points with
 * votes above the last such point, and MATCH_REC_GRID_ADD records past it, as learn
 * does with the most it saw.
 */
static void trim(const struct hist *h, uint32_t r, struct grid *g)
{
    size_t cnt[MATCH_TLS_STEPS + 2] = { 0 };
    int first = -1, last = -1;
    for (int j = 0; j <= MATCH_TLS_STEPS; j++) {
        cnt[j] = point(h, g->lo + (int64_t)r * j, NULL);
        if (poisson_tail(g->bg, cnt[j]) * (MATCH_TLS_STEPS + 1) > TLS_FALSE_GRID)
            continue;
        g->sig |= 1U << j;
        first = first < 0 ? j : first;
        last = j;
    }
    if (first < 0) {
        g->votes = 0;
        return;
    }
    while (cnt[last + 1] > 0) /* cnt[MATCH_TLS_STEPS + 1] is 0 */
        last++;
    g->base = g->lo;
    g->hi = g->lo + (int64_t)r * last;
    g->lo += (int64_t)r * first;
}

/*
 * Do the files behind the grid's standing points span more than its steps in record
 * counts? A plain HTTP server's constant header h makes c = h - r * records, a grid
 * too, but only over the few record counts its files span. A second pass over the
 * flows, for the few servers whose grid got this far.
 */
static int spans_records(const uint64_t *sizes, size_t n, const uint64_t *p, size_t np, uint32_t r,
                         const struct grid *g)
{
    int64_t rmin = INT64_MAX, rmax = 0;
    for (size_t f = 0; f < np; f++) {
        size_t a, b;
        if (!window(sizes, n, p[f], &a, &b))
            continue;
        for (size_t i = a; i < b; i++) {
            int64_t rec = records(sizes[i]);
            int64_t d = (int64_t)(p[f] - sizes[i]) - (int64_t)r * rec - g->base + MATCH_REC_SLACK;
            if (d < 0 || d % r > 2 * MATCH_REC_SLACK || d / r > MATCH_TLS_STEPS ||
                !(g->sig >> (d / r) & 1))
                continue;
            rmin = rec < rmin ? rec : rmin;
            rmax = rec > rmax ? rec : rmax;
        }
    }
    return rmax > rmin && rmax - rmin > MATCH_TLS_STEPS;
}

/* The grid of r in h, if it stands out: its votes, else 0. */
static size_t calib_r(const struct hist *h, uint32_t r, struct grid *out)
{
    if (h->votes < MATCH_SPAN_VOTES)
        return 0;
    size_t least = 1; /* the fewest votes a point needs to stand out from the even spread */
    while (poisson_tail(h->floor, least) * (MATCH_TLS_STEPS + 1) > TLS_FALSE_GRID)
        least++;
    *out = best_grid(h, r, least);
    if (out->votes == 0)
        return 0;
    trim(h, r, out);
    double chance = out->bg * (MATCH_TLS_STEPS + 1); /* on a grid */
    /* Votes on a grid by chance are about Poisson(chance), and up to TLS_SPAN grids
     * were tried. */
    if (out->votes < MATCH_SPAN_VOTES || (double)out->votes < 4 * chance ||
        poisson_tail(chance, out->votes) * TLS_SPAN > TLS_FALSE_GRID)
        return 0;
    return out->votes;
}

size_t match_tls_calib(struct match_tls_work *w, const uint64_t *sizes, size_t n, const uint64_t *p,
                       size_t np, struct match_rec *rc)
{
    memset(rc, 0, sizeof(*rc));
    if (np < MATCH_SPAN_VOTES)
        return 0;
    uint64_t *sample = NULL;
    if (np > TLS_MAX_FLOWS) {
        sample = xmalloc(TLS_MAX_FLOWS * sizeof(*sample));
        for (size_t i = 0; i < TLS_MAX_FLOWS; i++)
            sample[i] = p[i * np / TLS_MAX_FLOWS];
        p = sample;
        np = TLS_MAX_FLOWS;
    }
    vote_all(sizes, n, p, np, w->h);
    size_t best = 0;
    for (size_t k = 0; k < TLS_NR; k++) {
        struct grid g;
        size_t got = calib_r(&w->h[k], tls_r[k], &g);
        if (got <= best || !spans_records(sizes, n, p, np, tls_r[k], &g))
            continue;
        best = got;
        *rc = (struct match_rec){ .r = tls_r[k], .lo = g.lo, .hi = g.hi };
        if (g.hi - g.lo > MATCH_REC_SPREAD) { /* a grid, as learn keeps it */
            rc->step = tls_r[k];
            rc->hi += MATCH_REC_GRID_ADD * (int64_t)tls_r[k];
        }
    }
    for (size_t k = 0; k < TLS_NR; k++)
        clear(&w->h[k]);
    free(sample);
    return best;
}

void match_tls_opts(const struct match_rec *rc, uint64_t p, const struct match_opts *o,
                    struct match_opts *so)
{
    *so = *o;
    so->rec = rc;
    /* sizes S <= p - lo have at most rmax records; S >= p - hi - r * rmax at least rmin */
    int64_t rmax = records(p > (uint64_t)rc->lo ? p - (uint64_t)rc->lo : 0);
    int64_t least = (int64_t)p - rc->hi - MATCH_REC_SLACK - (int64_t)rc->r * rmax;
    int64_t rmin = records(least > 0 ? (uint64_t)least : 0);
    int64_t lo = rc->lo - MATCH_REC_SLACK + (int64_t)rc->r * rmin;
    int64_t hi = rc->hi + MATCH_REC_SLACK + (int64_t)rc->r * rmax;
    so->oh_min = lo > 0 ? (uint32_t)lo : 0;
    so->oh_max = hi < UINT32_MAX ? (uint32_t)hi : UINT32_MAX;
}
