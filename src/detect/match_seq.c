/*
 * Request sequences: name the responses of a split HTTP connection by their size and
 * the length of the request they answered.
 *
 * meter --split gives each exchange record the client's next request unit as its
 * forward goodput (src/meter/requests.c): one request where the meter counted them,
 * else a unit of several (a pipelined burst whose end the capture did not keep). The
 * units, in exchange order, are the connection's request sequence u[0..nu). Exchange
 * i answers unit i - s for a shift s that is 0 while every response start was cut and
 * every request counted, grows by n - 1 after a unit of n requests, and moves by one
 * where the split missed a response start or cut inside a response. The pass
 *
 *  1. calibrates the server's header h and the client's request constant C together:
 *     every single in the default window of every exchange votes (h = P - size,
 *     C = u[i - s] - urllen) for every shift; the true pair gets a vote from every
 *     exchange whose shift is right, chance pairs scatter over 760 x 8192 cells. The
 *     densest cell must hold a strict majority of the voting exchanges and at least
 *     SEQ_VOTES; the header sizes voted with the same C (at least two votes each,
 *     within calib_slack of the best) give the window [lo - 2, hi + 2];
 *  2. for each exchange and shift lists the entries whose size fits that window and
 *     whose URL fits the unit exactly (urllen + C == u[i - s]);
 *  3. names an exchange when one object fits it under a shift that its neighbours
 *     support (the next exchange fits under the same shift, so this one held one
 *     response; or the two before it fit and its unit is the connection's last), and
 *     that shift's run is at least twice as long as any other supported shift's that
 *     gives another object (single_name);
 *  4. solves a snapped burst between two runs as a sum (bursts() below), and, for a
 *     connection that borrowed its calibration (match_seq.h), names the prefix of
 *     exchanges that each answered their own request.
 */
#include "match_seq.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define SEQ_VOTES 6    /* exchanges agreeing on (h, C) before the pass names anything */
#define SEQ_C_MAX 8191 /* request constants beyond this are not votes */
#define NSHIFT    (2 * SEQ_SHIFT + 1)
#define SEQ_RUN   3 /* exchanges in a row under one shift before any is named */

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int same_obj(const struct cat_entry *a, const struct cat_entry *b)
{
    return a->size == b->size && strcmp(a->name, b->name) == 0 &&
           strcmp(a->version, b->version) == 0;
}

/* The entries of size in [lo, hi]: indexes [*a, *b). */
static void span_of(const uint64_t *sizes, size_t n, uint64_t p, int64_t hlo, int64_t hhi,
                    size_t *a, size_t *b)
{
    uint64_t lo = (int64_t)p > hhi ? p - (uint64_t)hhi : 0;
    uint64_t hi = (int64_t)p > hlo ? p - (uint64_t)hlo : 0;
    *a = match_first_at_least(sizes, n, lo);
    *b = match_first_at_least(sizes, n, hi + 1);
}

struct fit {
    uint32_t e;  /* the entry, when cnt == 1 */
    uint8_t cnt; /* distinct objects fitting (2 = two or more) */
};

/* Digits of the Content-Length a response of this size carries. */
static int64_t digits(uint64_t v)
{
    int64_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static int cal_fits(const struct seq_cal *k, uint64_t p, uint64_t size)
{
    int64_t h = (int64_t)(p - size) - digits(size);
    for (int i = 0; i < k->nh; i++)
        if (h == k->h[i])
            return 1;
    return 0;
}

/* Distinct exchanges among the votes k[a..b) of one cell (sorted, shifts dropped:
 * exchange last). */
static size_t cell_votes(const uint64_t *k, size_t a, size_t *b, size_t nk)
{
    size_t d = 1, e;
    for (e = a + 1; e < nk && k[e] >> 24 == k[a] >> 24; e++)
        d += (k[e] & 0xffffff) != (k[e - 1] & 0xffffff);
    *b = e;
    return d;
}

/* A connection's votes: h << 40 | C << 24 | (shift + SEQ_SHIFT) << 16 | exchange each
 * (exchanges < SEQ_MAX_EXCHANGES = 2^16). */
#define VOTE_EXCHANGE 0xffffu
#define VOTE_SHIFT    ((uint64_t)0xff << 16)
struct votes {
    uint64_t *k;
    size_t nk, cap;
};

/* Add one vote; 0 when there are too many to weigh. */
static int vote(struct votes *v, uint64_t key)
{
    if (v->nk == SEQ_MAX_VOTES)
        return 0;
    if (v->nk == v->cap) {
        v->cap *= 2;
        v->k = xrealloc(v->k, v->cap * sizeof(*v->k));
    }
    v->k[v->nk++] = key;
    return 1;
}

/* Exchange i's votes for one entry (URL length ul, header h), one per shift that
 * leaves a request constant in range; 0 when there are too many votes. */
static int entry_votes(struct votes *v, const uint32_t *u, size_t nu, size_t i, uint32_t ul,
                       int64_t h)
{
    for (int s = -SEQ_SHIFT; s <= SEQ_SHIFT; s++) {
        int64_t j = (int64_t)i - s;
        if (j < 0 || j >= (int64_t)nu)
            continue;
        int64_t cv = (int64_t)u[j] - (int64_t)ul;
        if (cv < 0 || cv > SEQ_C_MAX)
            continue;
        uint64_t sh = (uint64_t)(s + SEQ_SHIFT) << 16;
        if (!vote(v, ((uint64_t)h << 40) | ((uint64_t)cv << 24) | sh | (uint64_t)i))
            return 0;
    }
    return 1;
}

/* Every single in the default window of every exchange votes; *voters counts the
 * exchanges that did. 0 when there are too many votes. */
static int collect_votes(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                         const struct match_opts *o, const struct seq_x *x, size_t n,
                         const uint32_t *u, size_t nu, struct votes *v, size_t *voters)
{
    for (size_t i = 0; i < n; i++) {
        if (!x[i].f->rgoodput || x[i].p <= o->oh_max)
            continue;
        size_t a, b;
        span_of(sizes, c->n, x[i].p, o->oh_min, o->oh_max, &a, &b);
        if (b - a > SEQ_MAX_SINGLES)
            continue;
        (*voters)++;
        for (size_t e = a; e < b; e++) {
            int64_t h = (int64_t)(x[i].p - sizes[e]) - digits(sizes[e]);
            if (!ulen[e] || h < 0 || h > 0xffffff)
                continue;
            if (!entry_votes(v, u, nu, i, ulen[e], h))
                return 0;
        }
    }
    return 1;
}

/* The (h, C) cell with the most distinct exchanges among the sorted votes (the first
 * such); *best: how many. */
static uint64_t densest_cell(const uint64_t *k, size_t nk, size_t *best)
{
    uint64_t cell = 0;
    *best = 0;
    for (size_t a = 0, b; a < nk; a = b) {
        size_t d = cell_votes(k, a, &b, nk);
        if (d > *best) {
            *best = d;
            cell = k[a] >> 24;
        }
    }
    return cell;
}

/* Other header sizes of the server (another Content-Type): cells of the same C near
 * the best with a quarter of its votes, three at least (at most three more; h[0] is
 * the best, which alone must hold a strict majority of the voters). */
static void header_variants(struct seq_cal *cal, const uint64_t *k, size_t nk, size_t best,
                            const struct match_opts *o)
{
    int64_t h0 = cal->h[0], c0 = cal->c;
    for (size_t a = 0, b; a < nk; a = b) {
        size_t d = cell_votes(k, a, &b, nk);
        int64_t h = (int64_t)(k[a] >> 40), cv = (int64_t)((k[a] >> 24) & 0xffff);
        if (cv != c0 || (h != h0 && (d < 3 || 4 * d < best || cal->nh >= 4)) ||
            h < h0 - (int64_t)o->calib_slack || h > h0 + (int64_t)o->calib_slack)
            continue;
        if (h != h0)
            cal->h[cal->nh++] = h;
    }
}

/*
 * The votes a neighbour shares, shifts dropped, into out (sorted): exchange i's vote for
 * (h, C) under shift s stands when exchange i - 1 or i + 1 votes for the same (h, C)
 * under the same s. The true pair's votes come in runs under one shift (the shift only
 * moves at a merged or cut exchange); against a dense part of an index (files of
 * 8-40 kB) nearly every exchange votes for nearly every chance pair under some shift
 * (33 of 40 exchanges of a real capture, the index without its files), but rarely under
 * the same shift as its neighbour (17 of 40). k is sorted in place. Returns how many.
 */
static size_t supported_votes(uint64_t *k, size_t nk, uint64_t *out)
{
    qsort(k, nk, sizeof(*k), cmp_key);
    size_t m = 0;
    for (size_t a = 0; a < nk; a++) {
        uint64_t cell = k[a] >> 16, i = k[a] & VOTE_EXCHANGE;
        int ok = 0;
        for (size_t b = a; b-- > 0 && !ok && k[b] >> 16 == cell && (k[b] & VOTE_EXCHANGE) + 1 >= i;)
            ok = (k[b] & VOTE_EXCHANGE) + 1 == i;
        for (size_t b = a + 1;
             b < nk && !ok && k[b] >> 16 == cell && (k[b] & VOTE_EXCHANGE) <= i + 1; b++)
            ok = (k[b] & VOTE_EXCHANGE) == i + 1;
        if (ok)
            out[m++] = k[a] & ~VOTE_SHIFT;
    }
    qsort(out, m, sizeof(*out), cmp_key);
    return m;
}

/* Calibrate (h, C) from the votes; 0 when no pair stands out. The pair and the server's
 * other header sizes (header_variants) are chosen among the votes neighbours share: all
 * votes there gave chance variants in a dense part of an index, and with them twins. */
static int calibrate(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                     const struct match_opts *o, const struct seq_x *x, size_t n, const uint32_t *u,
                     size_t nu, struct seq_cal *cal)
{
    size_t voters = 0, best;
    struct votes v = { xmalloc(1024 * sizeof(uint64_t)), 0, 1024 };
    if (!collect_votes(c, sizes, ulen, o, x, n, u, nu, &v, &voters)) {
        free(v.k); /* a hostile connection: too many to weigh, none named */
        return 0;
    }
    uint64_t *sup = xmalloc((v.nk ? v.nk : 1) * sizeof(*sup));
    size_t nsup = supported_votes(v.k, v.nk, sup);
    uint64_t cell = densest_cell(sup, nsup, &best);
    cal->h[0] = (int64_t)(cell >> 16);
    cal->nh = 1;
    cal->c = (int64_t)(cell & 0xffff);
    if (best)
        header_variants(cal, sup, nsup, best, o);
    free(sup);
    int ok = best >= SEQ_VOTES && 2 * best > voters;
    free(v.k);
    return ok;
}

/* Name exchange x by entry e, unless the first pass matched another object (then
 * neither is defended: ambiguous). Returns 1 when named. */
static int put_name(const struct catalog *c, const uint64_t *sizes, const struct seq_x *x,
                    uint32_t e, struct keep *res)
{
    struct match_result r;
    keep_get(res, x->slot, &r);
    if (r.verdict == MV_MATCH &&
        !(r.ncands == 1 && r.c[0].k == 1 && same_obj(&c->e[r.c[0].idx[0]], &c->e[e]))) {
        r.verdict = MV_AMBIGUOUS; /* the two passes disagree: neither is defended */
        keep_put(res, x->slot, &r);
        return 0;
    }
    memset(&r, 0, sizeof(r));
    r.verdict = MV_MATCH;
    r.basis = MB_GOODPUT;
    r.payload = x->p;
    r.ncands = 1;
    r.c[0].k = 1;
    r.c[0].idx[0] = e;
    r.c[0].residual = (int64_t)(x->p - sizes[e]);
    r.calibrated = r.reqsum = r.alone = 1;
    keep_put(res, x->slot, &r);
    return 1;
}

#define BURST_CANDS  8          /* objects per exchange of a burst, at most */
#define BURST_COMBOS 65536      /* combinations tried per burst, at most */
#define SEQ_VARIANT  16         /* a header variant within this of the calibrated size */
#define BURST_BUDGET (1u << 24) /* combinations per connection, at most */

/* A burst: exchanges a..a+m-1 answering the one unit `want` (m requests). cand[k]
 * their objects by size; the combinations whose URLs add up to the unit are
 * counted, and agree[k] keeps the object all of them give exchange k (-1: they
 * differ). */
struct burst {
    const uint32_t *ulen;
    const struct catalog *c;
    uint32_t cand[SEQ_SHIFT + 1][BURST_CANDS];
    int ncand[SEQ_SHIFT + 1];
    int m;
    int64_t want;
    uint32_t pick[SEQ_SHIFT + 1];
    int64_t agree[SEQ_SHIFT + 1];
    size_t sols;
};

static void burst_search(struct burst *bu, int k, int64_t sum)
{
    if (sum > bu->want)
        return;
    if (k == bu->m) {
        if (sum != bu->want)
            return;
        for (int i = 0; i < bu->m; i++)
            if (!bu->sols)
                bu->agree[i] = bu->pick[i];
            else if (bu->agree[i] >= 0 &&
                     !same_obj(&bu->c->e[bu->agree[i]], &bu->c->e[bu->pick[i]]))
                bu->agree[i] = -1;
        bu->sols++;
        return;
    }
    for (int j = 0; j < bu->ncand[k]; j++) {
        bu->pick[k] = bu->cand[k][j];
        burst_search(bu, k + 1, sum + bu->ulen[bu->cand[k][j]]);
    }
}

/* The objects of size that fit exchange x under cal (hv < 0) or under the one header
 * size hv, into bu->cand[k]; 1 when there are more than BURST_CANDS. */
static int burst_fill(struct burst *bu, int k, const uint64_t *sizes, const struct seq_x *x,
                      const struct seq_cal *cal, int64_t lo, int64_t hi, int64_t hv)
{
    size_t ea, eb;
    span_of(sizes, bu->c->n, x->p, lo, hi, &ea, &eb);
    for (size_t e = ea; e < eb; e++) {
        if (!bu->ulen[e])
            continue;
        if (hv < 0 ? !cal_fits(cal, x->p, sizes[e])
                   : (int64_t)(x->p - sizes[e]) - digits(sizes[e]) != hv)
            continue;
        int dup = 0;
        for (int d = 0; d < bu->ncand[k]; d++)
            dup |= same_obj(&bu->c->e[bu->cand[k][d]], &bu->c->e[e]);
        if (dup)
            continue;
        if (bu->ncand[k] == BURST_CANDS)
            return 1;
        bu->cand[k][bu->ncand[k]++] = (uint32_t)e;
    }
    return 0;
}

/* One connection's pass (match_seq): its exchanges and units, the calibration, and
 * what the fits and runs found. */
struct seq_pass {
    const struct catalog *c;
    const uint64_t *sizes;
    const uint32_t *ulen;
    const struct seq_x *x;
    size_t n;
    const uint32_t *u;
    size_t nu;
    const struct seq_cal *cal;
    int64_t hmin, hmax;       /* the calibrated header sizes' range */
    struct fit *fit;          /* [exchange * NSHIFT + shift + SEQ_SHIFT] */
    uint16_t *before, *after; /* the run's members up to it, and from it on */
    uint8_t *done;            /* named by the pass */
    struct keep *res;
};

/* The burst's candidates: each exchange's objects under the calibrated header, into
 * bu->cand; zero[0..*nz) the (at most two) exchanges that fit none. Returns how many
 * combinations (0: an exchange more fits none; over BURST_COMBOS: too many). */
static size_t burst_cands(const struct seq_pass *sp, struct burst *bu, size_t a, int zero[2],
                          int *nz)
{
    size_t combos = 1;
    for (int k = 0; k < bu->m && combos <= BURST_COMBOS; k++) {
        bu->ncand[k] = 0;
        if (burst_fill(bu, k, sp->sizes, &sp->x[a + (size_t)k], sp->cal, sp->hmin + 1,
                       sp->hmax + 20, -1))
            combos = BURST_COMBOS + 1;
        else if (!bu->ncand[k] && *nz < 2)
            zero[(*nz)++] = k;
        else if (!bu->ncand[k])
            combos = 0;
        else
            combos *= (size_t)bu->ncand[k];
    }
    return combos;
}

static int known_header(const struct seq_cal *cal, int64_t hv)
{
    int known = 0;
    for (int i = 0; i < cal->nh; i++)
        known |= cal->h[i] == hv;
    return known;
}

/* The combinations with the exchanges that fit nothing given the objects of header
 * size hv (0: one of them fits none there either, or too many). */
static size_t variant_combos(const struct seq_pass *sp, struct burst *bu, size_t a, const int *zero,
                             int nz, size_t combos, int64_t hv)
{
    size_t more = combos;
    for (int z = 0; z < nz && more && more <= BURST_COMBOS; z++) {
        bu->ncand[zero[z]] = 0;
        if (burst_fill(bu, zero[z], sp->sizes, &sp->x[a + (size_t)zero[z]], sp->cal, hv + 1,
                       hv + 20, hv))
            more = 0;
        more *= (size_t)bu->ncand[zero[z]];
    }
    return more;
}

/* A header variant no vote had (another Content-Type): one more size, the same for
 * the exchanges that fit nothing, within the slack. */
static void variant_search(const struct seq_pass *sp, struct burst *bu, size_t a, const int *zero,
                           int nz, size_t combos, size_t *budget)
{
    const struct seq_cal *cal = sp->cal;
    for (int64_t hv = cal->h[0] - SEQ_VARIANT; hv <= cal->h[0] + SEQ_VARIANT; hv++) {
        if (known_header(cal, hv) || hv < 0)
            continue;
        size_t more = variant_combos(sp, bu, a, zero, nz, combos, hv);
        if (more && more <= BURST_COMBOS && *budget >= more) {
            *budget -= more;
            burst_search(bu, 0, 0);
        }
    }
}

/* Solve the m exchanges from a as the burst that answered unit j: 1 when some
 * combination adds up (bu->agree then holds the objects), 0 when none, -1 when the
 * connection's budget ran out. */
static int try_burst(const struct seq_pass *sp, struct burst *bu, size_t a, int m, size_t j,
                     size_t *budget)
{
    int zero[2], nz = 0;
    bu->m = m;
    bu->want = (int64_t)sp->u[j] - (int64_t)m * sp->cal->c;
    size_t combos = burst_cands(sp, bu, a, zero, &nz);
    if (!combos || combos > BURST_COMBOS)
        return 0;
    if (*budget < combos) /* a hostile connection: no more bursts solved */
        return -1;
    *budget -= combos;
    bu->sols = 0;
    if (!nz)
        burst_search(bu, 0, 0);
    else
        variant_search(sp, bu, a, zero, nz, combos, budget);
    return bu->sols != 0;
}

/* The bursts that end before the run under shift s2 starting at exchange b: how many
 * burst lengths have combinations (the last into *best, with where it starts in
 * pick[0] and the fit of the exchange before it in pick[1]; stops at two); -1 when
 * the budget ran out. */
static int bursts_before(const struct seq_pass *sp, struct burst *bu, struct burst *best, size_t b,
                         int s2, size_t *budget)
{
    const struct seq_x *x = sp->x;
    size_t q2 = b * NSHIFT + (size_t)(s2 + SEQ_SHIFT);
    if (!sp->fit[q2].cnt || sp->before[q2] != 1 || sp->after[q2] < SEQ_RUN)
        return 0;
    int found = 0;
    for (int m = 2; m <= SEQ_SHIFT && (size_t)m < b && found < 2; m++) {
        size_t a = b - (size_t)m;
        int s1 = s2 - m + 1;
        int64_t j = (int64_t)a - s1;
        if (s1 < -SEQ_SHIFT || j < 1 || j >= (int64_t)sp->nu)
            continue;
        size_t q1 = (a - 1) * NSHIFT + (size_t)(s1 + SEQ_SHIFT);
        if (!sp->fit[q1].cnt || sp->after[q1] != 1 ||
            x[b].f->exchange != x[a - 1].f->exchange + (uint64_t)m + 1)
            continue;
        int r = try_burst(sp, bu, a, m, (size_t)j, budget);
        if (r < 0)
            return -1;
        if (!r)
            continue;
        found++;
        *best = *bu;
        best->pick[0] = (uint32_t)a; /* where it starts */
        best->pick[1] = (uint32_t)q1;
    }
    return found;
}

/* Name the burst's exchanges that every combination agrees on, and the exchange
 * before it when one object fits it. Returns how many were named. */
static size_t name_burst(const struct seq_pass *sp, const struct burst *best)
{
    size_t named = 0, a = best->pick[0];
    for (int k = 0; k < best->m; k++)
        if (best->agree[k] >= 0 && !sp->done[a + (size_t)k]) {
            named += put_name(sp->c, sp->sizes, &sp->x[a + (size_t)k], (uint32_t)best->agree[k],
                              sp->res);
            sp->done[a + (size_t)k] = 1;
        }
    if (sp->fit[best->pick[1]].cnt == 1 && !sp->done[a - 1]) {
        named += put_name(sp->c, sp->sizes, &sp->x[a - 1], sp->fit[best->pick[1]].e, sp->res);
        sp->done[a - 1] = 1;
    }
    return named;
}

/*
 * Snapped bursts: where a run under shift s2 of SEQ_RUN or more starts at exchange
 * b, and the exchange a - 1 before it fits under s1 = s2 - (b - a) + 1 as the last
 * of its run, the m = b - a exchanges between answered the one unit a - s1 (a burst
 * of m requests the capture kept as one). Each of them must fit objects by size
 * (under the calibrated header, at most BURST_CANDS), and the objects' URLs with m
 * request constants must add up to the unit exactly; an exchange is named when every
 * such combination gives it the same object, and exactly one a (one burst length)
 * has combinations. The exchange a - 1 is then named too when one object fits it:
 * the burst shows it held one response. Returns how many were named.
 */
static size_t bursts(const struct seq_pass *sp)
{
    size_t named = 0, budget = BURST_BUDGET;
    struct burst *bu = xmalloc(sizeof(*bu)), *best = xmalloc(sizeof(*best));
    bu->ulen = sp->ulen;
    bu->c = sp->c;
    for (size_t b = 1; b < sp->n; b++) {
        for (int s2 = -SEQ_SHIFT + 1; s2 <= SEQ_SHIFT; s2++) {
            int found = bursts_before(sp, bu, best, b, s2, &budget);
            if (found < 0)
                goto out;
            if (found == 1)
                named += name_burst(sp, best);
        }
    }
out:
    free(best);
    free(bu);
    return named;
}

/* The connection's request units, in exchange order: u[0..*nu). */
static uint32_t *units(const struct seq_x *x, size_t n, size_t *nu)
{
    uint32_t *u = xmalloc((n ? n : 1) * sizeof(*u));
    *nu = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i].f->goodput)
            u[(*nu)++] = x[i].f->goodput > UINT32_MAX ? UINT32_MAX : (uint32_t)x[i].f->goodput;
    return u;
}

int match_seq_calibrate(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                        const struct match_opts *o, const struct seq_x *x, size_t n,
                        struct seq_cal *cal)
{
    if (n < 3 || n > SEQ_MAX_EXCHANGES)
        return 0;
    size_t nu;
    uint32_t *u = units(x, n, &nu);
    int ok = nu >= 2 && calibrate(c, sizes, ulen, o, x, n, u, nu, cal);
    free(u);
    return ok;
}

/* The range of the calibrated header sizes. */
static void header_range(const struct seq_cal *cal, int64_t *hmin, int64_t *hmax)
{
    *hmin = *hmax = cal->h[0];
    for (int i = 1; i < cal->nh; i++) {
        *hmin = cal->h[i] < *hmin ? cal->h[i] : *hmin;
        *hmax = cal->h[i] > *hmax ? cal->h[i] : *hmax;
    }
}

/* The objects among the entries [a, b) whose URL fits unit j and whose size fits
 * exchange i under the calibration, into ft (two at most: distinct objects). */
static void fit_unit(const struct seq_pass *sp, size_t i, int64_t j, size_t a, size_t b,
                     struct fit *ft)
{
    const struct seq_cal *cal = sp->cal;
    for (size_t e = a; e < b && ft->cnt < 2; e++) {
        if (!sp->ulen[e] || (int64_t)sp->ulen[e] + cal->c != (int64_t)sp->u[j] ||
            !cal_fits(cal, sp->x[i].p, sp->sizes[e]))
            continue;
        if (ft->cnt && same_obj(&sp->c->e[ft->e], &sp->c->e[e]))
            continue;
        ft->e = (uint32_t)e;
        ft->cnt++;
    }
}

/* What fits exchange i under each shift. */
static void fit_exchange(const struct seq_pass *sp, size_t i)
{
    if (!sp->x[i].f->rgoodput)
        return;
    size_t a, b; /* digits: 1 to 20 */
    span_of(sp->sizes, sp->c->n, sp->x[i].p, sp->hmin + 1, sp->hmax + 20, &a, &b);
    for (int s = -SEQ_SHIFT; s <= SEQ_SHIFT; s++) {
        int64_t j = (int64_t)i - s;
        if (j < 0 || j >= (int64_t)sp->nu)
            continue;
        fit_unit(sp, i, j, a, b, &sp->fit[i * NSHIFT + (size_t)(s + SEQ_SHIFT)]);
    }
}

/* Exchange i's number follows the one before it. */
static int follows(const struct seq_x *x, size_t i)
{
    return i > 0 && x[i].f->exchange == x[i - 1].f->exchange + 1;
}

/* The run lengths under shift index q: in[i] marks the members. */
static void run_lengths(const struct seq_pass *sp, size_t q, uint8_t *in)
{
    size_t n = sp->n;
    for (size_t i = 0; i < n; i++) {
        int ln = i + 1 < n && follows(sp->x, i + 1);
        in[i] = sp->fit[i * NSHIFT + q].cnt > 0 ||
                (follows(sp->x, i) && ln && sp->fit[(i - 1) * NSHIFT + q].cnt &&
                 sp->fit[(i + 1) * NSHIFT + q].cnt);
    }
    for (size_t i = 0, r = 0; i < n; i++) {
        r = in[i] ? (follows(sp->x, i) && r < 0xfffe ? r + 1 : 1) : 0;
        sp->before[i * NSHIFT + q] = (uint16_t)r;
    }
    for (size_t i = n, r = 0; i-- > 0;) {
        int ln = i + 1 < n && follows(sp->x, i + 1);
        r = in[i] ? (ln && r < 0xfffe ? r + 1 : 1) : 0;
        sp->after[i * NSHIFT + q] = (uint16_t)r;
    }
}

/* A run under shift s: exchanges in a row (consecutive exchange numbers) that fit
 * under s, where one that fits nothing between two that fit counts too (its
 * neighbours show it answered one request: a header variant or a file not in the
 * catalogue). after/before: the run's members from i on, and up to i. */
static void find_runs(const struct seq_pass *sp)
{
    uint8_t *in = xcalloc(sp->n, 1);
    for (size_t q = 0; q < NSHIFT; q++)
        run_lengths(sp, q, in);
    free(in);
}

/* Borrowed: the prefix from the connection's first exchange whose members each fit
 * one object under shift 0 (each answered its own request: the first response
 * answers the first request, and a response that fits its request's URL and the
 * server's header exactly held one response, so the next answers the next). */
static size_t borrowed_prefix(const struct seq_pass *sp)
{
    size_t prefix = 0;
    while (prefix < sp->n && prefix < sp->nu && sp->x[prefix].f->exchange == prefix + 1 &&
           sp->fit[prefix * NSHIFT + SEQ_SHIFT].cnt == 1)
        prefix++;
    return prefix;
}

/*
 * The object exchange i is named by: the one that fits it under the shift of the
 * longest run that covers it, when that run is at least RUN_DOMINATES times as long as
 * the longest run of any shift that gives another object; -1 when none fits, when two
 * objects fit under that shift, or when no run stands out. A connection's shift only
 * moves at a merged or cut exchange, so one long run under one shift is the sequence
 * itself, while against a dense part of an index (files of 8-40 kB) some of the 32
 * other shifts fit a neighbourhood of three by chance: requiring every supported shift
 * to agree then named 10 of 40 exchanges of a real capture that were all in one run.
 */
#define RUN_DOMINATES 2

static int64_t single_name(const struct seq_pass *sp, int64_t i, size_t prefix)
{
    int64_t name = -1;
    int best = 0, other = 0; /* the longest run naming `name`, and naming anything else */
    int borrowed = 0;        /* the borrowed prefix names it: any other object undoes that */
    for (int s = -SEQ_SHIFT; s <= SEQ_SHIFT; s++) {
        size_t q = (size_t)i * NSHIFT + (size_t)(s + SEQ_SHIFT);
        const struct fit *ft = &sp->fit[q];
        if (!ft->cnt)
            continue;
        /* a run of SEQ_RUN exchanges under one shift, and this one not its last
         * unless no request is left for a second response in it; or, borrowed,
         * inside the prefix */
        int run = sp->before[q] + sp->after[q] - 1;
        int last = sp->after[q] == 1 && i - s != (int64_t)sp->nu - 1;
        int prefixed = s == 0 && i < (int64_t)prefix;
        if ((run < SEQ_RUN || last) && !prefixed)
            continue;
        borrowed |= prefixed;
        /* twins under a shift name nothing, but their run still counts against others */
        int64_t e = ft->cnt > 1 ? -2 : (int64_t)ft->e;
        if (name >= 0 && e >= 0 && same_obj(&sp->c->e[name], &sp->c->e[e])) {
            best = run > best ? run : best;
        } else if (run > best) {
            other = best > other ? best : other;
            best = run;
            name = e;
        } else {
            other = run > other ? run : other;
        }
    }
    if (name < 0 || (borrowed && other) || best < RUN_DOMINATES * other)
        return -1;
    return name;
}

/* Name each exchange one object fits under a supported shift; returns how many. */
static size_t name_singles(const struct seq_pass *sp, size_t prefix)
{
    size_t named = 0;
    for (int64_t i = 0; i < (int64_t)sp->n; i++) {
        int64_t name = single_name(sp, i, prefix);
        if (name < 0)
            continue;
        named += put_name(sp->c, sp->sizes, &sp->x[i], (uint32_t)name, sp->res);
        sp->done[i] = 1;
    }
    return named;
}

size_t match_seq(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                 const struct seq_x *x, size_t n, const struct seq_cal *k, int borrowed,
                 struct keep *res)
{
    if (!n || n > SEQ_MAX_EXCHANGES || k->nh < 1 || k->nh > 4)
        return 0;
    const struct seq_cal cal = *k;
    size_t nu;
    uint32_t *u = units(x, n, &nu);
    struct seq_pass sp = { .c = c,
                           .sizes = sizes,
                           .ulen = ulen,
                           .x = x,
                           .n = n,
                           .u = u,
                           .nu = nu,
                           .cal = &cal,
                           .res = res };
    header_range(&cal, &sp.hmin, &sp.hmax);
    sp.fit = xcalloc(n * NSHIFT, sizeof(*sp.fit));
    for (size_t i = 0; i < n; i++)
        fit_exchange(&sp, i);
    sp.after = xcalloc(n * NSHIFT, sizeof(*sp.after));
    sp.before = xcalloc(n * NSHIFT, sizeof(*sp.before));
    find_runs(&sp);
    sp.done = xcalloc(n, 1);
    size_t named = name_singles(&sp, borrowed ? borrowed_prefix(&sp) : 0);
    named += bursts(&sp);
    free(sp.done);
    free(sp.after);
    free(sp.before);
    free(sp.fit);
    free(u);
    return named;
}
