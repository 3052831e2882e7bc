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
 *     no other supported shift gives another object;
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

static size_t bisect(const uint64_t *sizes, size_t n, uint64_t need)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sizes[mid] < need)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

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
    *a = bisect(sizes, n, lo);
    *b = bisect(sizes, n, hi + 1);
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

/* Distinct exchanges among the votes k[a..b) of one cell (sorted: exchange last). */
static size_t cell_votes(const uint64_t *k, size_t a, size_t *b, size_t nk)
{
    size_t d = 1, e;
    for (e = a + 1; e < nk && k[e] >> 24 == k[a] >> 24; e++)
        d += (k[e] & 0xffffff) != (k[e - 1] & 0xffffff);
    *b = e;
    return d;
}

/* Calibrate (h, C) from the votes; 0 when no pair stands out. */
// NOLINTNEXTLINE(readability-function-size): too long; to be split (a known debt)
static int calibrate(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                     const struct match_opts *o, const struct seq_x *x, size_t n, const uint32_t *u,
                     size_t nu, struct seq_cal *cal)
{
    size_t nk = 0, cap = 1024, voters = 0;
    uint64_t *k = xmalloc(cap * sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        if (!x[i].f->rgoodput || x[i].p <= o->oh_max)
            continue;
        size_t a, b;
        span_of(sizes, c->n, x[i].p, o->oh_min, o->oh_max, &a, &b);
        if (b - a > SEQ_MAX_SINGLES)
            continue;
        voters++;
        for (size_t e = a; e < b; e++) {
            int64_t h = (int64_t)(x[i].p - sizes[e]) - digits(sizes[e]);
            if (!ulen[e] || h < 0 || h > 0xffffff)
                continue;
            for (int s = -SEQ_SHIFT; s <= SEQ_SHIFT; s++) {
                int64_t j = (int64_t)i - s;
                if (j < 0 || j >= (int64_t)nu)
                    continue;
                int64_t cv = (int64_t)u[j] - (int64_t)ulen[e];
                if (cv < 0 || cv > SEQ_C_MAX)
                    continue;
                if (nk == SEQ_MAX_VOTES) {
                    free(k); /* a hostile connection: too many to weigh, none named */
                    return 0;
                }
                if (nk == cap) {
                    cap *= 2;
                    k = xrealloc(k, cap * sizeof(*k));
                }
                k[nk++] = ((uint64_t)h << 40) | ((uint64_t)cv << 24) | (uint64_t)i;
            }
        }
    }
    qsort(k, nk, sizeof(*k), cmp_key);
    uint64_t best_cell = 0;
    size_t best = 0;
    for (size_t a = 0, b; a < nk; a = b) {
        size_t d = cell_votes(k, a, &b, nk);
        if (d > best) {
            best = d;
            best_cell = k[a] >> 24;
        }
    }
    /* Other header sizes of the server (another Content-Type): cells of the same C
     * near the best with a quarter of its votes, three at least (at most three more;
     * h[0] is the best, which alone must hold a strict majority of the voters). */
    int64_t h0 = (int64_t)(best_cell >> 16), c0 = (int64_t)(best_cell & 0xffff);
    cal->h[0] = h0;
    cal->nh = 1;
    cal->c = c0;
    for (size_t a = 0, b; best && a < nk; a = b) {
        size_t d = cell_votes(k, a, &b, nk);
        int64_t h = (int64_t)(k[a] >> 40), cv = (int64_t)((k[a] >> 24) & 0xffff);
        if (cv != c0 || (h != h0 && (d < 3 || 4 * d < best || cal->nh >= 4)) ||
            h < h0 - (int64_t)o->calib_slack || h > h0 + (int64_t)o->calib_slack)
            continue;
        if (h != h0)
            cal->h[cal->nh++] = h;
    }
    int ok = best >= SEQ_VOTES && 2 * best > voters;
    free(k);
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
// NOLINTNEXTLINE(readability-function-size): too long; to be split (a known debt)
static size_t bursts(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                     const struct seq_x *x, size_t n, const uint32_t *u, size_t nu,
                     const struct seq_cal *cal, int64_t hmin, int64_t hmax, const struct fit *fit,
                     const uint16_t *before, const uint16_t *after, uint8_t *done, struct keep *res)
{
    size_t named = 0, budget = BURST_BUDGET;
    struct burst *bu = xmalloc(sizeof(*bu)), *best = xmalloc(sizeof(*best));
    bu->ulen = ulen;
    bu->c = c;
    for (size_t b = 1; b < n; b++) {
        for (int s2 = -SEQ_SHIFT + 1; s2 <= SEQ_SHIFT; s2++) {
            size_t q2 = b * NSHIFT + (size_t)(s2 + SEQ_SHIFT);
            if (!fit[q2].cnt || before[q2] != 1 || after[q2] < SEQ_RUN)
                continue;
            int found = 0;
            for (int m = 2; m <= SEQ_SHIFT && (size_t)m < b && found < 2; m++) {
                size_t a = b - (size_t)m;
                int s1 = s2 - m + 1;
                int64_t j = (int64_t)a - s1;
                if (s1 < -SEQ_SHIFT || j < 1 || j >= (int64_t)nu)
                    continue;
                size_t q1 = (a - 1) * NSHIFT + (size_t)(s1 + SEQ_SHIFT);
                if (!fit[q1].cnt || after[q1] != 1 ||
                    x[b].f->exchange != x[a - 1].f->exchange + (uint64_t)m + 1)
                    continue;
                bu->m = m;
                bu->want = (int64_t)u[j] - (int64_t)m * cal->c;
                size_t combos = 1;
                int zero[2], nz = 0;
                for (int k = 0; k < m && combos <= BURST_COMBOS; k++) {
                    bu->ncand[k] = 0;
                    if (burst_fill(bu, k, sizes, &x[a + (size_t)k], cal, hmin + 1, hmax + 20, -1))
                        combos = BURST_COMBOS + 1;
                    else if (!bu->ncand[k] && nz < 2)
                        zero[nz++] = k;
                    else if (!bu->ncand[k])
                        combos = 0;
                    else
                        combos *= (size_t)bu->ncand[k];
                }
                if (!combos || combos > BURST_COMBOS)
                    continue;
                if (budget < combos) /* a hostile connection: no more bursts solved */
                    goto out;
                budget -= combos;
                bu->sols = 0;
                if (!nz)
                    burst_search(bu, 0, 0);
                /* a header variant no vote had (another Content-Type): one more size,
                 * the same for the exchanges that fit nothing, within the slack */
                for (int64_t hv = cal->h[0] - SEQ_VARIANT; nz && hv <= cal->h[0] + SEQ_VARIANT;
                     hv++) {
                    int known = 0;
                    for (int i = 0; i < cal->nh; i++)
                        known |= cal->h[i] == hv;
                    if (known || hv < 0)
                        continue;
                    size_t more = combos;
                    for (int z = 0; z < nz && more && more <= BURST_COMBOS; z++) {
                        bu->ncand[zero[z]] = 0;
                        if (burst_fill(bu, zero[z], sizes, &x[a + (size_t)zero[z]], cal, hv + 1,
                                       hv + 20, hv))
                            more = 0;
                        more *= (size_t)bu->ncand[zero[z]];
                    }
                    if (more && more <= BURST_COMBOS && budget >= more) {
                        budget -= more;
                        burst_search(bu, 0, 0);
                    }
                }
                if (!bu->sols)
                    continue;
                found++;
                *best = *bu;
                best->pick[0] = (uint32_t)a; /* where it starts */
                best->pick[1] = (uint32_t)q1;
            }
            if (found != 1)
                continue;
            size_t a = best->pick[0];
            for (int k = 0; k < best->m; k++)
                if (best->agree[k] >= 0 && !done[a + (size_t)k]) {
                    named += put_name(c, sizes, &x[a + (size_t)k], (uint32_t)best->agree[k], res);
                    done[a + (size_t)k] = 1;
                }
            if (fit[best->pick[1]].cnt == 1 && !done[a - 1]) {
                named += put_name(c, sizes, &x[a - 1], fit[best->pick[1]].e, res);
                done[a - 1] = 1;
            }
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

// NOLINTNEXTLINE(readability-function-size): too long; to be split (a known debt)
size_t match_seq(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                 const struct seq_x *x, size_t n, const struct seq_cal *k, int borrowed,
                 struct keep *res)
{
    if (!n || n > SEQ_MAX_EXCHANGES || k->nh < 1 || k->nh > 4)
        return 0;
    size_t nu, named = 0;
    uint32_t *u = units(x, n, &nu);
    const struct seq_cal cal = *k;
    int64_t hmin = cal.h[0], hmax = cal.h[0];
    for (int i = 1; i < cal.nh; i++) {
        hmin = cal.h[i] < hmin ? cal.h[i] : hmin;
        hmax = cal.h[i] > hmax ? cal.h[i] : hmax;
    }
    struct fit *fit = xcalloc(n * NSHIFT, sizeof(*fit));
    for (size_t i = 0; i < n; i++) {
        if (!x[i].f->rgoodput)
            continue;
        size_t a, b; /* digits: 1 to 20 */
        span_of(sizes, c->n, x[i].p, hmin + 1, hmax + 20, &a, &b);
        for (int s = -SEQ_SHIFT; s <= SEQ_SHIFT; s++) {
            int64_t j = (int64_t)i - s;
            if (j < 0 || j >= (int64_t)nu)
                continue;
            struct fit *ft = &fit[i * NSHIFT + (size_t)(s + SEQ_SHIFT)];
            for (size_t e = a; e < b && ft->cnt < 2; e++) {
                if (!ulen[e] || (int64_t)ulen[e] + cal.c != (int64_t)u[j] ||
                    !cal_fits(&cal, x[i].p, sizes[e]))
                    continue;
                if (ft->cnt && same_obj(&c->e[ft->e], &c->e[e]))
                    continue;
                ft->e = (uint32_t)e;
                ft->cnt++;
            }
        }
    }
    /* A run under shift s: exchanges in a row (consecutive exchange numbers) that fit
     * under s, where one that fits nothing between two that fit counts too (its
     * neighbours show it answered one request: a header variant or a file not in the
     * catalogue). after/before: the run's members from i on, and up to i. */
    uint16_t *after = xcalloc(n * NSHIFT, sizeof(*after));
    uint16_t *before = xcalloc(n * NSHIFT, sizeof(*before));
    uint8_t *in = xcalloc(n, 1);
    for (size_t q = 0; q < NSHIFT; q++) {
        for (size_t i = 0; i < n; i++) {
            int lp = i > 0 && x[i].f->exchange == x[i - 1].f->exchange + 1;
            int ln = i + 1 < n && x[i + 1].f->exchange == x[i].f->exchange + 1;
            in[i] = fit[i * NSHIFT + q].cnt > 0 ||
                    (lp && ln && fit[(i - 1) * NSHIFT + q].cnt && fit[(i + 1) * NSHIFT + q].cnt);
        }
        for (size_t i = 0, r = 0; i < n; i++) {
            int lp = i > 0 && x[i].f->exchange == x[i - 1].f->exchange + 1;
            r = in[i] ? (lp && r < 0xfffe ? r + 1 : 1) : 0;
            before[i * NSHIFT + q] = (uint16_t)r;
        }
        for (size_t i = n, r = 0; i-- > 0;) {
            int ln = i + 1 < n && x[i + 1].f->exchange == x[i].f->exchange + 1;
            r = in[i] ? (ln && r < 0xfffe ? r + 1 : 1) : 0;
            after[i * NSHIFT + q] = (uint16_t)r;
        }
    }
    free(in);
    uint8_t *done = xcalloc(n, 1); /* named by the pass */
    /* Borrowed: the prefix from the connection's first exchange whose members each fit
     * one object under shift 0 (each answered its own request: the first response
     * answers the first request, and a response that fits its request's URL and the
     * server's header exactly held one response, so the next answers the next). */
    size_t prefix = 0;
    while (borrowed && prefix < n && prefix < nu && x[prefix].f->exchange == prefix + 1 &&
           fit[prefix * NSHIFT + SEQ_SHIFT].cnt == 1)
        prefix++;
    for (int64_t i = 0; i < (int64_t)n; i++) {
        int64_t name = -1;
        int conflict = 0;
        for (int s = -SEQ_SHIFT; s <= SEQ_SHIFT && !conflict; s++) {
            size_t q = (size_t)i * NSHIFT + (size_t)(s + SEQ_SHIFT);
            const struct fit *ft = &fit[q];
            if (!ft->cnt)
                continue;
            /* a run of SEQ_RUN exchanges under one shift, and this one not its last
             * unless no request is left for a second response in it; or, borrowed,
             * inside the prefix */
            int run = before[q] + after[q] - 1;
            int last = after[q] == 1 && i - s != (int64_t)nu - 1;
            if ((run < SEQ_RUN || last) && !(s == 0 && i < (int64_t)prefix))
                continue;
            if (ft->cnt > 1 || (name >= 0 && !same_obj(&c->e[name], &c->e[ft->e])))
                conflict = 1;
            else
                name = ft->e;
        }
        if (conflict || name < 0)
            continue;
        named += put_name(c, sizes, &x[i], (uint32_t)name, res);
        done[i] = 1;
    }
    named += bursts(c, sizes, ulen, x, n, u, nu, &cal, hmin, hmax, fit, before, after, done, res);
    free(done);
    free(after);
    free(before);
    free(fit);
    free(u);
    return named;
}
