/*
 * The nearest model and the bounded set search (match.h explains the model).
 */
#include "match.h"

#include "match_keep.h"
#include "match_learned.h"
#include "match_seq.h"
#include "match_tls.h"

#include "../core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void match_opts_default(struct match_opts *o)
{
    o->header_bytes = 52; /* IPv4 20 + TCP 20 + timestamp option 12 */
    o->oh_min = 40;       /* "HTTP/1.1 200 OK", Content-Length and the blank line */
    o->oh_max = 800;
    o->tol_exact = 0;
    o->tol_pct = 0.2;
    o->min_size = 10000;
    o->max_set = 4;
    o->max_cands = 8;
    o->calib_slack = 16;
    o->req_slack = 4;
    o->work_cap = 20000000;
    o->range_gap_ms = 0; /* match and inventory turn it on; eval scores flow by flow */
    o->resid = NULL;
    o->rec = NULL;
}

/* Goodput counts every byte once; rpayload may count retransmissions twice; bytes
 * minus per-packet headers is all a NetFlow exporter leaves us. */
uint64_t match_payload(const struct flow *f, uint32_t header_bytes, enum match_basis *basis)
{
    if (f->rgoodput > 0) {
        *basis = MB_GOODPUT;
        return f->rgoodput;
    }
    if (f->rpayload > 0) {
        *basis = MB_PAYLOAD;
        return f->rpayload;
    }
    *basis = MB_ESTIMATE;
    uint64_t h = f->rpackets * (uint64_t)header_bytes;
    if (f->rpackets && h / f->rpackets != header_bytes)
        return 0; /* overflow: hostile counters */
    return f->rbytes > h ? f->rbytes - h : 0;
}

/* Percent-encoding as apt does it: '+' -> %2b, and '~' -> %7e too (a real capture:
 * node-ws-iconv_0.0~git..., 2 bytes more than the plain URL), everything else of RFC
 * 3986's unreserved set plain. */
size_t match_url_len(const char *url)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '/';
        n += plain ? 1 : 3;
    }
    return n;
}

/* Two entries describing the same object (one package in two indexes). */
static int same_object(const struct cat_entry *a, const struct cat_entry *b)
{
    return a->size == b->size && strcmp(a->name, b->name) == 0 &&
           strcmp(a->version, b->version) == 0;
}

struct search {
    const struct catalog *c;
    const struct match_opts *o;
    struct match_result *res;
    uint64_t lo, hi; /* bounds on the sum of sizes */
    int k;           /* set size being searched */
    uint32_t pick[MATCH_MAX_SET];
    uint64_t work;
    int64_t req_target; /* client payload minus k request overheads; <0 = no check */
    uint64_t req_slack;
    size_t total;          /* candidates found (stored or not) */
    const uint64_t *sizes; /* the catalogue's sizes in a compact copy, or NULL */
    size_t lb;             /* last lower bound found (for lb_need), when lb_set */
    uint64_t lb_need;
    int lb_set;
};

/* Size of entry i, from the compact array when there is one (one cache line holds 8). */
static inline uint64_t size_at(const struct search *s, size_t i)
{
    return s->sizes ? s->sizes[i] : s->c->e[i].size;
}

/*
 * The first entry of size >= need. match_run passes the catalogue's sizes as a compact
 * array (8 bytes an entry, not a whole cat_entry: the binary searches of the set search
 * then stay in the L2 cache), and successive searches of one loop ask for decreasing
 * needs (its earlier picks grow), so the last answer is walked down a few entries
 * instead of searching again. Without the array: catalog_lower_bound.
 */
static size_t lower_bound(struct search *s, uint64_t need)
{
    const uint64_t *z = s->sizes;
    if (!z)
        return catalog_lower_bound(s->c, need);
    if (s->lb_set && need <= s->lb_need) {
        size_t i = s->lb;
        for (int steps = 0; i > 0 && z[i - 1] >= need && steps < 32; steps++)
            i--;
        if (i == 0 || z[i - 1] < need) {
            s->lb = i;
            s->lb_need = need;
            return i;
        }
    }
    size_t lo = match_first_at_least(z, s->c->n, need);
    s->lb = lo;
    s->lb_need = need;
    s->lb_set = 1;
    return lo;
}

/* A set (or single) found: drop duplicates of one object, check the requests, keep. */
static void found(struct search *s, uint64_t sum)
{
    struct match_result *r = s->res;
    const struct cat_entry *e = s->c->e;
    if (s->k == 1 && s->o->resid && !match_resid_fits(s->o->resid, (int64_t)(r->payload - sum)))
        return;
    if (s->k == 1 && s->o->rec && !match_rec_fits(s->o->rec, sum, (int64_t)(r->payload - sum)))
        return;
    if (s->req_target >= 0) {
        uint64_t u = 0;
        for (int i = 0; i < s->k; i++)
            u += match_url_len(e[s->pick[i]].url);
        uint64_t t = (uint64_t)s->req_target;
        if ((u > t ? u - t : t - u) > s->req_slack)
            return;
    }
    for (int j = 0; j < r->ncands; j++) {
        int same = r->c[j].k == s->k;
        for (int i = 0; same && i < s->k; i++)
            same = same_object(&e[r->c[j].idx[i]], &e[s->pick[i]]);
        if (same)
            return;
    }
    s->total++;
    if (r->ncands >= s->o->max_cands || r->ncands >= MATCH_MAX_CANDS) {
        r->more = 1;
        return;
    }
    struct match_cand *m = &r->c[r->ncands++];
    memset(m, 0, sizeof(*m));
    m->k = (uint8_t)s->k;
    memcpy(m->idx, s->pick, sizeof(m->idx[0]) * (size_t)s->k);
    m->residual = (int64_t)(r->payload - sum);
}

/*
 * Choose pick[depth..k-1] from indexes >= start with sizes adding to [lo, hi] - sum.
 * Sizes ascend, so once size * (picks left) exceeds what remains no later index fits;
 * the last pick is a binary search.
 *
 * The search stops as soon as the result has `more` set (max_cands distinct
 * candidates stored and one more found): nothing later can change the result then
 * (the verdict is ambiguous, the stored candidates are the first ones found, and the
 * caller only asks whether the total is 0, 1 or more). Against a big catalogue that
 * is what makes a foreign size cheap: the pairs of 100,000 entries fill any window,
 * and enumerating them all took about 0.6 ms a flow (bench/match.sh).
 */
static void search_rec(struct search *s, int depth, size_t start, uint64_t sum);

/* The first index at or after from whose size is >= need, by bisection alone (not
 * disturbing lower_bound's walk-down of decreasing needs). */
static size_t first_at_least(const struct search *s, size_t from, uint64_t need)
{
    size_t lo = from, hi = s->c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (size_at(s, mid) < need)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * The last two picks, i < j from start, sizes adding to [need, room]: either each i
 * of the lower half with a search for its j (as the levels above), or each j of the
 * upper half (size >= need / 2) with a search for its i, whichever side holds fewer
 * entries. Large payloads lie where the catalogue is sparse: their upper half holds a
 * few hundred entries of a whole Debian index, the lower half tens of thousands.
 */
static void search_pair(struct search *s, int depth, size_t start, uint64_t sum, uint64_t room)
{
    uint64_t need = s->lo > sum ? s->lo - sum : 0;
    size_t n = s->c->n;
    if (start + 1 >= n || depth + 1 >= MATCH_MAX_SET)
        return;
    size_t lo_end = first_at_least(s, start, room / 2 + 1);
    size_t hi_beg = first_at_least(s, start + 1, need / 2 + (need & 1));
    size_t hi_end = first_at_least(s, hi_beg, room - size_at(s, start) + 1);
    if (lo_end - start <= (hi_end > hi_beg ? hi_end - hi_beg : 0)) {
        for (size_t i = start; i < lo_end && !s->res->more; i++) {
            if (++s->work > s->o->work_cap)
                return;
            s->pick[depth] = (uint32_t)i;
            search_rec(s, depth + 1, i + 1, sum + size_at(s, i));
        }
        return;
    }
    for (size_t j = hi_beg; j < hi_end && !s->res->more; j++) {
        if (++s->work > s->o->work_cap)
            return;
        uint64_t sj = size_at(s, j);
        size_t i = first_at_least(s, start, need > sj ? need - sj : 0);
        for (; i < j && size_at(s, i) <= room - sj && !s->res->more; i++) {
            if (++s->work > s->o->work_cap)
                return;
            s->pick[depth] = (uint32_t)i;
            s->pick[depth + 1] = (uint32_t)j;
            found(s, sum + size_at(s, i) + sj);
        }
    }
}

static void search_rec(struct search *s, int depth, size_t start, uint64_t sum)
{
    const struct cat_entry *e = s->c->e;
    size_t n = s->c->n;
    int left = s->k - depth;
    if (depth >= MATCH_MAX_SET || left < 1)
        return; /* k <= MATCH_MAX_SET; also tells the compiler pick[] stays in bounds */
    uint64_t room = s->hi - sum; /* sum <= hi always holds here */
    if (left == 1) {
        uint64_t need = s->lo > sum ? s->lo - sum : 0;
        size_t i = lower_bound(s, need);
        for (i = i < start ? start : i; i < n && size_at(s, i) <= room && !s->res->more; i++) {
            if (++s->work > s->o->work_cap)
                return;
            s->pick[depth] = (uint32_t)i;
            found(s, sum + e[i].size);
        }
        return;
    }
    if (left == 2) {
        search_pair(s, depth, start, sum, room);
        return;
    }
    const uint64_t share = room / (uint64_t)left; /* one division, not one a pick */
    for (size_t i = start; i < n && !s->res->more; i++) {
        if (++s->work > s->o->work_cap)
            return;
        uint64_t size = size_at(s, i);
        if (size > share)
            break;
        s->pick[depth] = (uint32_t)i;
        search_rec(s, depth + 1, i + 1, sum + size);
    }
}

/* Window of the sum of k sizes, with or without a calibration. */
static void window(const struct match_opts *o, const struct match_calib *cal, uint64_t p,
                   uint64_t tol, int k, uint64_t *lo, uint64_t *hi)
{
    int64_t ohlo = o->oh_min, ohhi = o->oh_max;
    /* The spread the votes showed narrows the window for sets only: a single whose
     * header is a variant none of the votes had (a second Content-Type) must still be
     * found, or a chance entry beside it could be named; a set needs both sums anyway. */
    int span = cal && cal->span && k >= 2;
    if (cal && cal->resp) {
        ohlo = span ? cal->resp_lo : cal->resp_oh - (int64_t)o->calib_slack;
        ohhi = span ? cal->resp_hi : cal->resp_oh + (int64_t)o->calib_slack;
        if (ohlo < 0)
            ohlo = 0;
    }
    uint64_t sub_hi = (uint64_t)ohhi * (uint64_t)k + tol; /* most the headers can take */
    uint64_t sub_lo = (uint64_t)ohlo * (uint64_t)k;       /* least */
    *lo = p > sub_hi ? p - sub_hi : 0;
    *hi = p > sub_lo ? p - sub_lo + tol : tol;
}

/* Search sets of k entries; returns the number of candidates found. */
static size_t search_k(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                       const struct match_calib *cal, const struct flow *f, uint64_t tol, int k,
                       struct match_result *res)
{
    struct search s;
    memset(&s, 0, sizeof(s));
    s.c = c;
    s.sizes = sizes;
    s.o = o;
    s.res = res;
    s.k = k;
    s.req_target = -1;
    window(o, cal, res->payload, tol, k, &s.lo, &s.hi);
    /* The request sum checks sets only: a single's exchange may carry the request of a
     * later response (apt sends one as each response ends, ten ahead), and a check
     * that drops the true single can leave a chance entry alone in the window. */
    if (k >= 2 && cal && cal->req && f->payload > 0) {
        int64_t t = (int64_t)f->payload - (int64_t)k * cal->req_oh;
        s.req_target = t > 0 ? t : 0;
        s.req_slack = (uint64_t)o->req_slack * (uint64_t)k;
    }
    search_rec(&s, 0, 0, 0);
    if (s.work > o->work_cap)
        res->more = 1;
    return s.total;
}

/*
 * How many entries other than the one found a window [lo, hi] holds by chance: the
 * catalogue's density within 64 window widths either side, times the width. A
 * payload that is no catalogue download (a foreign file, a response the split cut in
 * two) finds a single in the window about that often, and then nothing else.
 */
static double chance_in(const struct catalog *c, const uint64_t *sizes, uint64_t lo, uint64_t hi)
{
    uint64_t w = hi - lo + 1, r = 64 * w;
    uint64_t a = lo > r ? lo - r : 0, b = hi + r;
    size_t i = sizes ? match_first_at_least(sizes, c->n, a) : catalog_lower_bound(c, a);
    size_t j = sizes ? match_first_at_least(sizes, c->n, b + 1) : catalog_lower_bound(c, b + 1);
    return j - i > 1 ? (double)(j - i - 1) * (double)w / (double)(b - a + 1) : 0.0;
}

/* match_flow with the catalogue's sizes in a compact array (or NULL): see lower_bound. */
static int flow_match(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                      const struct match_calib *cal, const struct flow *f, struct match_result *res)
{
    memset(res, 0, sizeof(*res));
    res->payload = match_payload(f, o->header_bytes, &res->basis);
    if (res->payload <= o->min_size)
        return 1;
    struct match_opts so; /* learned per-server overhead and tolerance (learn.h) */
    int learned = c->model && learn_model_opts(c->model, f, res->payload, res->basis, o, &so);
    if (learned)
        o = &so;
    uint64_t tol = o->tol_exact;
    if (res->basis != MB_GOODPUT && !learned)
        tol = (uint64_t)((double)res->payload * o->tol_pct / 100.0) + 2 * (uint64_t)o->header_bytes;
    size_t total = search_k(c, sizes, o, cal, f, tol, 1, res);
    if (c->nlearned) /* learned entries: their own windows (learn.h) */
        total = learn_singles(c, o, f, tol, res, total);
    res->calibrated = cal && cal->resp;
    res->reqsum = res->calibrated && cal->req && f->payload > 0;
    /* Sets are searched even when one single fits: a single is only an
     * identification when nothing else explains the bytes (a pipelined pair in a big
     * catalogue fits most sizes that one entry fits). Not when a single fits a
     * learned server's residues or record framing: a set's sum lands on them by
     * chance as often as a single does, and sets have none of their own (their
     * headers and records add up). */
    size_t most = o->resid || o->rec ? 0 : 1;
    for (int k = 2; total <= most && !res->more && k <= o->max_set && k <= MATCH_MAX_SET; k++)
        total += search_k(c, sizes, o, cal, f, tol, k, res);
    /* Alone: one single fits, no set does, and the catalogue is sparse enough there
     * that a payload of no catalogue download (most flows; a response the split cut in
     * two) would rarely find a chance entry in the window. */
    res->alone = total == 1 && !res->more && res->c[0].k == 1;
    if (res->alone) {
        uint64_t lo, hi;
        window(o, cal, res->payload, tol, 1, &lo, &hi);
        double chance = chance_in(c, sizes, lo, hi);
        if (o->resid) /* a chance entry must land on a residue too */
            chance *= match_resid_share(o->resid, hi - lo + 1);
        if (o->rec) { /* ... or on the framing's few bytes */
            double w = match_rec_width(o->rec);
            chance *= w < (double)(hi - lo + 1) ? w / (double)(hi - lo + 1) : 1.0;
        }
        res->alone = chance <= MATCH_CHANCE;
    }
    /* Alone is not yet an identification: a chance entry is alone too. The server's
     * calibration (from its other downloads, match_run: header or TLS framing) or a
     * learned window must vouch for it. */
    int trusted = res->calibrated || learned || c->nlearned || o->rec;
    if (total == 0 && !res->more)
        res->verdict = MV_REJECT;
    else if (total == 1 && !res->more)
        res->verdict = (res->alone && trusted) || res->reqsum ? MV_MATCH : MV_POSSIBLE;
    else
        res->verdict = MV_AMBIGUOUS;
    return 0;
}

/* Singles first, then sets of 2..max_set while at most one single fits. */
int match_flow(const struct catalog *c, const struct match_opts *o, const struct match_calib *cal,
               const struct flow *f, struct match_result *res)
{
    return flow_match(c, NULL, o, cal, f, res);
}

/* What the server pass needs of a flow's first-pass result: its payload and basis,
 * and whether it fit one entry alone (which one, with what residual). */
struct first {
    uint64_t payload;
    int64_t residual;
    uint32_t idx0;
    uint8_t basis, alone;
};

static void first_of(const struct match_result *r, struct first *fp)
{
    fp->payload = r->payload;
    fp->basis = (uint8_t)r->basis;
    fp->alone = (uint8_t)r->alone;
    fp->idx0 = r->ncands ? r->c[0].idx[0] : 0;
    fp->residual = r->ncands ? r->c[0].residual : 0;
}

/* Only an exact, unique single says what this server's headers weigh. */
static int learn_first(const struct catalog *c, const struct flow *f, const struct first *fp,
                       struct match_calib *cal)
{
    if (!fp->alone || fp->basis != MB_GOODPUT)
        return 0;
    const struct cat_entry *e = &c->e[fp->idx0];
    memset(cal, 0, sizeof(*cal));
    cal->resp = 1;
    cal->resp_oh = fp->residual;
    if (f->payload > 0 && *e->url) {
        cal->req = 1;
        cal->req_oh = (int64_t)f->payload - (int64_t)match_url_len(e->url);
    }
    return 1;
}

int match_learn(const struct catalog *c, const struct flow *f, const struct match_result *res,
                struct match_calib *cal)
{
    struct first fp;
    first_of(res, &fp);
    return learn_first(c, f, &fp, cal);
}

/* A considered flow and the index of its result. */
struct item {
    const struct flow *f;
    size_t i;
};

#define NO_RESULT SIZE_MAX

static int cmp_u64(uint64_t x, uint64_t y)
{
    return x < y ? -1 : x > y;
}

/* Server order: server address, port and protocol, then client, connection, exchange,
 * time. One server's flows are then adjacent, and within them one client's. */
static int cmp_server(const void *a, const void *b)
{
    const struct flow *x = ((const struct item *)a)->f, *y = ((const struct item *)b)->f;
    int r = memcmp(x->dst, y->dst, 16);
    if (!r)
        r = (int)x->dport - (int)y->dport;
    if (!r)
        r = (int)x->proto - (int)y->proto;
    if (!r)
        r = memcmp(x->src, y->src, 16);
    if (!r)
        r = (int)x->sport - (int)y->sport;
    if (!r)
        r = cmp_u64(x->exchange, y->exchange);
    if (!r)
        r = cmp_u64(x->first, y->first);
    return r;
}

static int same_server(const struct flow *x, const struct flow *y)
{
    return memcmp(x->dst, y->dst, 16) == 0 && x->dport == y->dport && x->proto == y->proto;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * The value a strict majority of votes v[0..n) agree on within +-slack (the middle of
 * the largest cluster no wider than 2 * slack); 0 when there is none. Two clusters of
 * equal weight mean the votes contradict each other: no calibration is better than a
 * guessed one. v is sorted in place. span (may be NULL) gets the cluster's smallest
 * and largest vote. Returns the cluster's size, 0 without a majority.
 */
static size_t consensus(int64_t *v, size_t n, uint64_t slack, int64_t *out, int64_t *span)
{
    size_t best = 0, at = 0;
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_i64);
    for (size_t i = 0, j = 0; i < n; i++) {
        while ((uint64_t)(v[i] - v[j]) > 2 * slack)
            j++;
        if (i - j + 1 > best) {
            best = i - j + 1;
            at = j;
        }
    }
    if (2 * best <= n)
        return 0;
    *out = v[at + best / 2];
    if (span) {
        span[0] = v[at];
        span[1] = v[at + best - 1];
    }
    return best;
}

struct vote {
    uint32_t entry;
    int64_t v;
};

static int cmp_vote(const void *a, const void *b)
{
    const struct vote *x = a, *y = b;
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    return x->v < y->v ? -1 : x->v > y->v;
}

/*
 * Votes of the defended singles on exact goodput among items a..b-1 (first-pass
 * results in first[0..b-a)): their response overheads (req 0), or their request
 * overheads (req 1), one per catalogue entry: the same file fetched again (or a
 * foreign file fetched again, fitting the same entry by the same chance) is no second
 * witness of the server's header. Returns the number of votes written to v.
 */
static size_t votes(const struct catalog *c, const struct item *it, size_t a, size_t b,
                    const struct first *first, int req, int64_t *v)
{
    struct vote *w = xmalloc((b > a ? b - a : 1) * sizeof(*w));
    size_t n = 0, k = 0;
    for (size_t x = a; x < b; x++) {
        struct match_calib one;
        if (!learn_first(c, it[x].f, &first[x - a], &one))
            continue;
        if (!req)
            w[n++] = (struct vote){ first[x - a].idx0, one.resp_oh };
        else if (one.req)
            w[n++] = (struct vote){ first[x - a].idx0, one.req_oh };
    }
    if (n > 1)
        qsort(w, n, sizeof(*w), cmp_vote);
    for (size_t i = 0; i < n; i++) /* the entry's smallest vote stands for it */
        if (i == 0 || w[i].entry != w[i - 1].entry)
            v[k++] = w[i].v;
    free(w);
    return k;
}

/* One flow's votes for the peak: the header sizes its singles imply, at most one per
 * 2 * slack (so a window of that width holds at most one vote of a flow). Returns the
 * chance that a window of that width holds one of them by accident. */
static double flow_peak_votes(const uint64_t *sizes, size_t n, const struct match_opts *o,
                              uint64_t p, int64_t *v, size_t *nv)
{
    uint64_t slack2 = 2 * (uint64_t)o->calib_slack;
    size_t lo = match_first_at_least(sizes, n, p - o->oh_max),
           hi = match_first_at_least(sizes, n, p - o->oh_min + 1);
    double chance = (double)(hi - lo) * (double)(slack2 + 1) / (double)(o->oh_max - o->oh_min + 1);
    if (hi - lo > MATCH_PEAK_CANDS)
        return 1.0; /* so dense that any header size finds a single here */
    size_t from = *nv;
    for (size_t i = lo; i < hi; i++) {
        int64_t h = (int64_t)(p - sizes[i]);
        int dup = 0;
        for (size_t j = from; j < *nv && !dup; j++)
            dup = (uint64_t)(v[j] > h ? v[j] - h : h - v[j]) <= slack2;
        if (!dup)
            v[(*nv)++] = h;
    }
    return chance < 1.0 ? chance : 1.0;
}

/*
 * The server's header size when none of its downloads fits one entry alone (in a
 * catalogue of hundreds of entries a pair fits most payloads): every single within
 * the default range of every goodput flow votes for the header size it implies. The
 * true size gets a vote from each download of a catalogue entry, a chance size from
 * the few flows that happen to hold an entry at that distance. The densest window of
 * 2 * calib_slack calibrates the server only when it holds a strict majority of the
 * flows, at least MATCH_SPAN_VOTES of them and four times what chance puts in a
 * window. first[0..nf) are the server's first-pass results. Returns the flows in the
 * window (0: no calibration); fills *oh and span.
 */
static size_t peak_calib(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                         const struct first *first, size_t nf, int64_t *oh, int64_t *span)
{
    int64_t *v = xmalloc((nf ? nf : 1) * MATCH_PEAK_CANDS * sizeof(*v));
    size_t nv = 0, nflows = 0, best = 0, at = 0;
    double chance = 0;
    for (size_t x = 0; x < nf; x++) {
        const struct first *r = &first[x];
        if (r->basis != MB_GOODPUT || r->payload <= o->oh_max)
            continue;
        nflows++;
        chance += flow_peak_votes(sizes, c->n, o, r->payload, v, &nv);
    }
    qsort(v, nv, sizeof(*v), cmp_i64);
    for (size_t i = 0, j = 0; i < nv; i++) {
        while ((uint64_t)(v[i] - v[j]) > 2 * (uint64_t)o->calib_slack)
            j++;
        if (i - j + 1 > best) {
            best = i - j + 1;
            at = j;
        }
    }
    if (best < MATCH_SPAN_VOTES || 2 * best <= nflows || (double)best < 4 * chance)
        best = 0;
    if (best) {
        *oh = v[at + best / 2];
        span[0] = v[at];
        span[1] = v[at + best - 1];
    }
    free(v);
    return best;
}

/*
 * A calibration from one download alone (the server's only flow that fits one entry
 * alone) is only that download's word: it stands when another flow of the server
 * fits under it too (the apt capture: the pipelined 4-set fits both sums exactly),
 * else every match it made (its own among them) falls back to possible.
 */
static void corroborate(const struct catalog *c, const struct item *it, size_t a, size_t b,
                        const struct first *first, struct keep *res)
{
    int others = 0;
    for (size_t x = a; x < b; x++) {
        struct match_calib one;
        if (res->r[it[x].i].verdict == MV_MATCH && !learn_first(c, it[x].f, &first[x - a], &one))
            others++;
    }
    for (size_t x = a; x < b && !others; x++)
        if (res->r[it[x].i].verdict == MV_MATCH)
            res->r[it[x].i].verdict = MV_POSSIBLE;
}

/*
 * A server no header size calibrates may be a TLS server: its record framing from its
 * own goodput flows (match_tls.h), when no learned model speaks for it and the framing
 * holds more votes than the header size's `agree` (a chance single in the header
 * window makes one vote), then each flow again under that framing. A server may show
 * a second constant: a connection's first response can carry the session tickets a
 * TLS 1.3 server sends after the handshake (574 bytes more in the lab), so the flows
 * the first framing leaves unnamed get a calibration of their own, whose matches are
 * kept. Returns 1 when a framing was found and applied.
 */
static int tls_server(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                      const struct item *it, size_t a, size_t b, const struct first *first,
                      size_t agree, struct keep *res, struct match_tls_work *tw)
{
    if (c->model && learn_model_find(c->model, it[a].f->dst))
        return 0;
    uint64_t *p = xmalloc((b - a) * sizeof(*p));
    size_t *at = xmalloc((b - a) * sizeof(*at)), np = 0;
    for (size_t x = a; x < b; x++)
        if (first[x - a].basis == MB_GOODPUT) {
            at[np] = x;
            p[np++] = first[x - a].payload;
        }
    int applied = 0;
    for (int round = 0; round < MATCH_TLS_ROUNDS && np; round++) {
        struct match_rec rc;
        if (match_tls_calib(tw, sizes, c->n, p, np, &rc) <= (round ? 0 : agree))
            break;
        size_t left = 0;
        for (size_t k = 0; k < np; k++) {
            struct match_opts so;
            struct match_result r;
            match_tls_opts(&rc, p[k], o, &so);
            flow_match(c, sizes, &so, NULL, it[at[k]].f, &r);
            if (!round || r.verdict == MV_MATCH)
                keep_put(res, it[at[k]].i, &r);
            if (res->r[it[at[k]].i].verdict != MV_MATCH) {
                at[left] = at[k];
                p[left++] = p[k];
            }
        }
        np = left;
        applied = 1;
    }
    free(at);
    free(p);
    return applied;
}

/*
 * Match one server's flows (items a..b-1, one client's adjacent) again with the
 * server's calibration: the response overhead from the defended singles to that server
 * (its headers are one constant, whoever asks), the request overhead from that
 * client's only (another client sends other headers). Every window narrows to what
 * the server's other downloads measured, and where the requests are calibrated the
 * request bytes must fit too, so a single that only fit the default overhead range,
 * or a set, is decided by evidence from the same server.
 */
static void run_server(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                       const struct item *it, size_t a, size_t b, struct keep *res,
                       struct match_tls_work *tw)
{
    int64_t *v = xmalloc((b - a) * sizeof(*v));
    struct first *first = xmalloc((b - a) * sizeof(*first));
    struct match_calib cal;
    struct match_result r;
    memset(&cal, 0, sizeof(cal));
    for (size_t x = a; x < b; x++) {
        const struct kept *k = &res->r[it[x].i];
        struct first *fp = &first[x - a];
        fp->payload = k->payload;
        fp->basis = k->basis;
        fp->alone = k->alone;
        fp->idx0 = k->ncands ? res->idx[k->idx] : 0;
        fp->residual = k->ncands ? res->c[k->cand].residual : 0;
    }
    int64_t span[2];
    size_t agree =
        consensus(v, votes(c, it, a, b, first, 0, v), o->calib_slack, &cal.resp_oh, span);
    if (!agree)
        agree = peak_calib(c, sizes, o, first, b - a, &cal.resp_oh, span);
    cal.resp = agree > 0;
    if (agree < MATCH_SPAN_VOTES && tls_server(c, sizes, o, it, a, b, first, agree, res, tw)) {
        free(first);
        free(v);
        return;
    }
    /* Enough agreeing downloads show how far this server's headers really vary (the
     * Content-Length digits, a Content-Type or two): a window that wide, not +-16. */
    if (agree >= MATCH_SPAN_VOTES) {
        cal.span = 1;
        cal.resp_lo = span[0] - MATCH_SPAN_MARGIN;
        cal.resp_hi = span[1] + MATCH_SPAN_MARGIN;
    }
    for (size_t x = a, y; cal.resp && x < b; x = y) {
        for (y = x + 1; y < b && memcmp(it[x].f->src, it[y].f->src, 16) == 0; y++)
            ;
        cal.req = consensus(v, votes(c, it, x, y, first + (x - a), 1, v), o->req_slack, &cal.req_oh,
                            NULL) > 0;
        for (size_t z = x; z < y; z++) {
            flow_match(c, sizes, o, &cal, it[z].f, &r);
            keep_put(res, it[z].i, &r);
        }
    }
    if (agree == 1)
        corroborate(c, it, a, b, first, res);
    free(first);
    free(v);
}

/* Client, server, port, protocol, then time: the runs of range pieces. */
static int cmp_pair(const void *a, const void *b)
{
    const struct flow *x = ((const struct item *)a)->f, *y = ((const struct item *)b)->f;
    int r = memcmp(x->src, y->src, 16);
    if (!r)
        r = memcmp(x->dst, y->dst, 16);
    if (!r)
        r = (int)x->dport - (int)y->dport;
    if (!r)
        r = (int)x->proto - (int)y->proto;
    if (!r)
        r = cmp_u64(x->first, y->first);
    if (!r)
        r = cmp_u64(x->exchange, y->exchange);
    if (!r) /* pieces come from two places (flows, the arena): one order whatever came first */
        r = (int)x->sport - (int)y->sport;
    return r;
}

/* splitmix64's finalizer: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t h)
{
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

/* A hash of client, server, port and protocol. Each word goes through a full mix: a
 * bare multiply carries bits only upwards, so IPv4 clients (the top of their 8-byte
 * word) differed only in the top bits, and bench/match.sh's distinct pairs collided
 * by the hundred thousand in the 64-bit hash itself. */
static uint64_t pair_hash(const struct flow *f)
{
    uint64_t h = mix64(0x9E3779B97F4A7C15ULL ^ ((uint64_t)f->dport << 8) ^ f->proto);
    for (int i = 0; i < 16; i += 8) {
        uint64_t a, b;
        memcpy(&a, f->src + i, 8);
        memcpy(&b, f->dst + i, 8);
        h = mix64(h ^ a);
        h = mix64(h ^ b);
    }
    return h;
}

/* One client, one server port, one protocol. */
static int same_pair(const struct flow *x, const struct flow *y)
{
    return memcmp(x->src, y->src, 16) == 0 && same_server(x, y);
}

/* The pieces it[a..b-1] as one flow: counters summed, times spanned, the first
 * piece's key. Goodput only when every piece has it (one basis for the sum). */
static void combine(const struct item *it, size_t a, size_t b, struct flow *out)
{
    int good = 1;
    *out = *it[a].f;
    out->exchange = 0;
    out->bytes = out->packets = out->rbytes = out->rpackets = 0;
    out->payload = out->rpayload = out->goodput = out->rgoodput = 0;
    out->retrans = out->rretrans = 0;
    for (size_t x = a; x < b; x++) {
        const struct flow *f = it[x].f;
        out->bytes += f->bytes;
        out->packets += f->packets;
        out->rbytes += f->rbytes;
        out->rpackets += f->rpackets;
        out->payload += f->payload;
        out->rpayload += f->rpayload;
        out->goodput += f->goodput;
        out->rgoodput += f->rgoodput;
        out->retrans += f->retrans;
        out->rretrans += f->rretrans;
        good &= f->rgoodput > 0;
        out->first = f->first < out->first ? f->first : out->first;
        out->last = f->last > out->last ? f->last : out->last;
    }
    if (!good)
        out->rgoodput = out->goodput = 0;
}

/* Whether item b is on a connection none of items a..b-1 is on (one client and
 * server: the client port tells). Pieces of a range download each have their own
 * connection; exchanges of one connection are one client's consecutive requests,
 * which keep-alive and pipelining make of any files. */
static int new_conn(const struct item *it, size_t a, size_t b)
{
    for (size_t x = a; x < b; x++)
        if (it[x].f->sport == it[b].f->sport)
            return 0;
    return 1;
}

/* Match one run of pieces (items a..b-1) as one download with b-a response headers. */
static int run_pieces(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                      const struct item *it, size_t a, size_t b,
                      int (*fn)(void *ctx, const struct flow *f, const struct match_result *r),
                      void *ctx)
{
    struct flow cf;
    struct match_result r;
    struct match_opts ro = *o;
    uint32_t k = (uint32_t)(b - a);
    combine(it, a, b, &cf);
    ro.oh_min = o->oh_min * k; /* every piece is a response with its own header */
    ro.oh_max = o->oh_max * k;
    ro.range_gap_ms = 0;
    ro.max_set = 1; /* one URL (the request bytes agree): one file, not a set */
    if (flow_match(c, sizes, &ro, NULL, &cf, &r) != 0 || r.verdict == MV_REJECT)
        return 0; /* a group that fits nothing is no finding: its flows were reported */
    /* No server calibration vouches for a group (its pieces fit nothing alone), but
     * groups are few (one URL asked on several connections), so a group that fits one
     * entry alone where the catalogue is sparse is named. */
    uint64_t lo, hi;
    window(&ro, NULL, r.payload, ro.tol_exact, 1, &lo, &hi);
    if (r.alone && r.basis == MB_GOODPUT && chance_in(c, sizes, lo, hi) <= MATCH_CHANCE_GROUP)
        r.verdict = MV_MATCH;
    r.pieces = (int)k;
    return fn(ctx, &cf, &r);
}

/* Request bytes of a flow: goodput where known (retransmissions once), else payload. */
static uint64_t request_bytes(const struct flow *f)
{
    return f->goodput ? f->goodput : f->payload;
}

/* Whether a flow is a possible range piece: TCP, big enough, explained by nothing
 * (r: its result, NULL when it was not considered). */
static int is_piece(const struct match_opts *o, const struct flow *f, const struct kept *r)
{
    enum match_basis basis;
    return f->proto == 6 && (!r || (r->verdict == MV_REJECT && !r->more)) &&
           match_payload(f, o->header_bytes, &basis) >= MATCH_PIECE_MIN;
}

/* Where the range pieces come from: flows (their first-pass results in res, pos
 * mapping a flow to its slot) and the batch's arena. */
struct piece_src {
    const struct flow *flows;
    size_t n;
    const size_t *pos;
    const struct keep *res;
    const uint8_t *arena;
    size_t arena_len;
    const uint64_t *hash; /* the arena records' pair hashes */
    size_t narena;
    size_t budget;   /* bytes the decoded pieces may take; SIZE_MAX = no bound */
    size_t *dropped; /* pieces not grouped for the budget (may be NULL) */
};

/* Whether flow i of src is a possible piece. */
static int src_piece(const struct match_opts *o, const struct piece_src *src, size_t i)
{
    return is_piece(o, &src->flows[i], src->pos[i] == NO_RESULT ? NULL : &src->res->r[src->pos[i]]);
}

/* Sorted 64-bit pair hashes that occur more than once among the possible pieces. */
struct repeats {
    uint64_t *h;
    size_t n;
};

static int cmp_u64p(const void *a, const void *b)
{
    return cmp_u64(*(const uint64_t *)a, *(const uint64_t *)b);
}

static int repeated(const struct repeats *r, uint64_t h)
{
    return bsearch(&h, r->h, r->n, sizeof(*r->h), cmp_u64p) != NULL;
}

/* A walk over the possible pieces: the flows that are pieces, then the arena's. */
struct piece_walk {
    size_t i, j, off;     /* next flow; next arena record and its offset */
    size_t at;            /* offset of the arena record returned */
    const struct flow *f; /* the flow returned, NULL for an arena record */
    uint64_t h;           /* its pair hash */
};

/* The next piece and its hash into w; 0 at the end. Arena records are not decoded. */
static int next_piece(const struct match_opts *o, const struct piece_src *src, struct piece_walk *w)
{
    for (; w->i < src->n; w->i++) {
        if (src_piece(o, src, w->i)) {
            w->f = &src->flows[w->i++];
            w->h = pair_hash(w->f);
            return 1;
        }
    }
    if (w->j >= src->narena || w->off >= src->arena_len)
        return 0;
    w->f = NULL;
    w->at = w->off;
    w->h = src->hash[w->j++];
    w->off += src->arena[w->off];
    return 1;
}

static void push_u64(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = x;
}

/* Two-bit saturating counters (0, 1, 2 = more), four a byte. */
static void cnt_bump(uint8_t *cnt, uint64_t slot)
{
    unsigned sh = (unsigned)(slot & 3) * 2;
    if (((cnt[slot >> 2] >> sh) & 3) < 2)
        cnt[slot >> 2] = (uint8_t)(cnt[slot >> 2] + (1u << sh));
}

static int cnt_many(const uint8_t *cnt, uint64_t slot)
{
    return ((cnt[slot >> 2] >> ((slot & 3) * 2)) & 3) > 1;
}

/*
 * Which pairs have more than one piece. A table of two-bit counters (16 to 32 slots
 * a piece, 4 to 8 bytes) screens out most lone pairs; the hashes that pass (a repeated
 * pair, or a collision in the table: about one lone piece in 20) are sorted and only
 * those seen twice kept, so a collision costs 8 bytes, not a decoded flow. The
 * arena's hashes are walked in order, the table's slot fetched ahead: the table is
 * tens of MB, and a miss per piece was most of the time.
 */
static void find_repeats(const struct match_opts *o, const struct piece_src *src,
                         struct repeats *rep)
{
    size_t npieces = src->narena, mask = 4, nh = 0, cap = 0;
    const uint64_t *hv = src->hash;
    for (size_t i = 0; i < src->n; i++)
        npieces += src_piece(o, src, i);
    while (mask < 16 * npieces)
        mask <<= 1;
    uint8_t *cnt = xcalloc(mask / 4, 1);
    mask--;
    for (size_t i = 0; i < src->n; i++)
        if (src_piece(o, src, i))
            cnt_bump(cnt, pair_hash(&src->flows[i]) & mask);
    for (size_t j = 0; j < src->narena; j++) {
        if (j + 16 < src->narena)
            __builtin_prefetch(&cnt[(hv[j + 16] & mask) >> 2], 1);
        cnt_bump(cnt, hv[j] & mask);
    }
    rep->h = NULL;
    for (size_t i = 0; i < src->n; i++) {
        uint64_t h = pair_hash(&src->flows[i]);
        if (src_piece(o, src, i) && cnt_many(cnt, h & mask))
            push_u64(&rep->h, &nh, &cap, h);
    }
    for (size_t j = 0; j < src->narena; j++) {
        if (j + 16 < src->narena)
            __builtin_prefetch(&cnt[(hv[j + 16] & mask) >> 2], 0);
        if (cnt_many(cnt, hv[j] & mask))
            push_u64(&rep->h, &nh, &cap, hv[j]);
    }
    free(cnt);
    if (nh)
        qsort(rep->h, nh, sizeof(*rep->h), cmp_u64p);
    rep->n = 0;
    for (size_t i = 0; i + 1 < nh; i++) /* one of each hash seen at least twice */
        if (rep->h[i + 1] == rep->h[i] && (!rep->n || rep->h[rep->n - 1] != rep->h[i]))
            rep->h[rep->n++] = rep->h[i];
}

/*
 * The possible pieces of pairs (client, server, port, protocol) seen more than once:
 * items into src->flows or into *extra (arena records decoded, only those of such
 * pairs; free both). Most mid-sized flows are a client's only flow to that server:
 * those are neither sorted nor decoded.
 */
static size_t repeated_pieces(const struct match_opts *o, const struct piece_src *src,
                              struct item **items, struct flow **extra)
{
    struct repeats rep = { NULL, 0 };
    size_t m = 0, ne = 0, capm = 0, cape = 0;
    struct piece_walk w;
    find_repeats(o, src, &rep);
    *items = NULL;
    *extra = NULL;
    memset(&w, 0, sizeof(w));
    while (rep.n && next_piece(o, src, &w))
        ne += !w.f && repeated(&rep, w.h);
    /* Decoded, the pieces of repeated pairs are whole flows: when they do not fit, no
     * group is searched (a part of them would give other runs), and that is counted. */
    if (ne > src->budget / (sizeof(struct flow) + 2 * sizeof(struct item))) {
        if (src->dropped)
            *src->dropped += src->narena;
        rep.n = 0;
    }
    ne = 0;
    memset(&w, 0, sizeof(w));
    while (rep.n && next_piece(o, src, &w)) {
        if (!repeated(&rep, w.h))
            continue;
        if (!w.f) { /* an arena record: decoded for good */
            struct flow f;
            size_t at = w.at;
            if (piece_get(src->arena, src->arena_len, &at, &f) != 0)
                continue;
            if (ne == cape) {
                cape = cape ? 2 * cape : 256;
                *extra = xrealloc(*extra, cape * sizeof(**extra));
            }
            (*extra)[ne++] = f;
        }
        if (m == capm) {
            capm = capm ? 2 * capm : 256;
            *items = xrealloc(*items, capm * sizeof(**items));
        }
        (*items)[m++].i = w.f ? (size_t)(w.f - src->flows) : SIZE_MAX - (ne - 1);
    }
    /* extra moved while it grew: point the items only now */
    for (size_t x = 0; x < m; x++) {
        size_t i = (*items)[x].i;
        (*items)[x].f = i < src->n ? &src->flows[i] : &(*extra)[SIZE_MAX - i];
    }
    free(rep.h);
    return m;
}

/*
 * Range pieces: the flows nothing explains alone (not considered, or rejected), in
 * runs per client and server where each starts within range_gap_ms of the end of the
 * ones before, sends the same request bytes as the first within 16 (one URL, the
 * Range header's digits vary; a page's different objects have different URLs) and is
 * on a connection of its own; a run of 2..MATCH_MAX_PIECES is matched as one
 * download. Returns what fn returned last (nonzero stops).
 */
static int run_ranges(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                      const struct piece_src *src,
                      int (*fn)(void *ctx, const struct flow *f, const struct match_result *r),
                      void *ctx)
{
    struct item *it;
    struct flow *extra;
    int stop = 0;
    size_t m = repeated_pieces(o, src, &it, &extra);
    if (m)
        qsort(it, m, sizeof(*it), cmp_pair);
    for (size_t a = 0, b; a < m && !stop; a = b) {
        uint64_t last = it[a].f->last;
        for (b = a + 1; b < m && b - a < MATCH_MAX_PIECES; b++) {
            const struct flow *x = it[a].f, *y = it[b].f;
            uint64_t qx = request_bytes(x), qy = request_bytes(y);
            if (!same_pair(x, y) || y->first > last + o->range_gap_ms || !qy ||
                (qx > qy ? qx - qy : qy - qx) > 16 || !new_conn(it, a, b))
                break;
            last = y->last > last ? y->last : last;
        }
        if (b - a >= 2)
            stop = run_pieces(c, sizes, o, it, a, b, fn, ctx);
    }
    free(extra);
    free(it);
    return stop;
}

/* One connection's split exchanges, adjacent in server order. */
static int same_conn(const struct flow *x, const struct flow *y)
{
    return same_server(x, y) && memcmp(x->src, y->src, 16) == 0 && x->sport == y->sport;
}

/*
 * The third pass: each split TCP connection's exchanges as a request sequence
 * (match_seq.h). A connection calibrates itself when it can (SEQ_VOTES exchanges
 * agreeing); one too short to do so borrows the calibration of the other connections
 * of the same client and server, when those that calibrated all agree on the header
 * and the request constant (a client's requests to one server differ only in the
 * URL, and the server's header only in the Content-Length digits). The URLs' request
 * lengths are computed once, on the first split connection.
 */
static void seq_fill(const struct match_opts *o, const struct item *it, size_t a, size_t b,
                     struct seq_x *x)
{
    for (size_t i = a; i < b; i++) {
        enum match_basis basis;
        x[i - a].f = it[i].f;
        x[i - a].slot = it[i].i;
        x[i - a].p = match_payload(it[i].f, o->header_bytes, &basis);
    }
}

/* The third pass's buffers, made on its first TCP group. */
struct seq_work {
    uint32_t *ulen; /* the catalogue's URLs' request lengths, 0 = no URL */
    struct seq_x *x;
    struct seq_cal *cal; /* a group's connections' calibrations, */
    int *ok;             /* whether each calibrated, */
    size_t *end;         /* and their items: [end[k - 1], end[k]) */
};

static void seq_work_init(struct seq_work *w, const struct catalog *c, size_t m)
{
    w->ulen = xmalloc((c->n ? c->n : 1) * sizeof(*w->ulen));
    for (size_t i = 0; i < c->n; i++) {
        size_t l = *c->e[i].url ? match_url_len(c->e[i].url) : 0;
        w->ulen[i] = l > UINT32_MAX ? 0 : (uint32_t)l;
    }
    w->x = xmalloc(m * sizeof(*w->x));
    w->cal = xmalloc(m * sizeof(*w->cal));
    w->end = xmalloc(m * sizeof(*w->end));
    w->ok = xmalloc(m * sizeof(*w->ok));
}

static void seq_work_free(struct seq_work *w)
{
    free(w->ok);
    free(w->end);
    free(w->cal);
    free(w->x);
    free(w->ulen);
}

/*
 * Calibrate each connection of the group it[g..h) (one client and server) on its own;
 * returns how many connections. *shared: the calibration the others borrow, *borrow
 * whether they may (some calibrated and all of those agree).
 */
static size_t calibrate_conns(const struct catalog *c, const uint64_t *sizes,
                              const struct match_opts *o, const struct item *it, size_t g, size_t h,
                              struct seq_work *w, struct seq_cal *shared, int *borrow)
{
    size_t nc = 0, nok = 0, agree = 1, first = 0;
    for (size_t a = g, b; a < h; a = b) {
        for (b = a + 1; b < h && same_conn(it[a].f, it[b].f); b++)
            ;
        w->ok[nc] = 0;
        if (it[a].f->exchange) {
            seq_fill(o, it, a, b, w->x);
            w->ok[nc] = match_seq_calibrate(c, sizes, w->ulen, o, w->x, b - a, &w->cal[nc]);
        }
        if (w->ok[nc] && nok++ == 0)
            first = nc;
        else if (w->ok[nc])
            agree &= w->cal[nc].h[0] == w->cal[first].h[0] && w->cal[nc].c == w->cal[first].c;
        w->end[nc++] = b;
    }
    *shared = (struct seq_cal){ .h = { nok ? w->cal[first].h[0] : 0 },
                                .nh = 1,
                                .c = nok ? w->cal[first].c : 0 };
    *borrow = nok && agree;
    return nc;
}

/* Match each of the group's nc connections, from it[g], with its own calibration or,
 * when it has none and may borrow, the shared one. */
static void match_conns(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                        const struct item *it, size_t g, size_t nc, const struct seq_work *w,
                        const struct seq_cal *shared, int borrow, struct keep *res)
{
    for (size_t k = 0, a = g; k < nc; a = w->end[k++]) {
        if (!it[a].f->exchange || (!w->ok[k] && !borrow))
            continue;
        seq_fill(o, it, a, w->end[k], w->x);
        match_seq(c, sizes, w->ulen, w->x, w->end[k] - a, w->ok[k] ? &w->cal[k] : shared, !w->ok[k],
                  res);
    }
}

static void run_seqs(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                     const struct item *it, size_t m, struct keep *res)
{
    struct seq_work w = { NULL, NULL, NULL, NULL, NULL };
    for (size_t g = 0, h; g < m; g = h) {
        for (h = g + 1;
             h < m && same_server(it[g].f, it[h].f) && memcmp(it[g].f->src, it[h].f->src, 16) == 0;
             h++)
            ;
        if (it[g].f->proto != 6)
            continue;
        if (!w.ulen)
            seq_work_init(&w, c, m);
        struct seq_cal shared;
        int borrow;
        size_t nc = calibrate_conns(c, sizes, o, it, g, h, &w, &shared, &borrow);
        match_conns(c, sizes, o, it, g, nc, &w, &shared, borrow, res);
    }
    seq_work_free(&w);
}

/* The first pass: every considered flow alone into res (slot = its order among the
 * considered), pos[i] its slot or NO_RESULT, it[] the considered flows. Returns how
 * many. */
static size_t first_pass(const struct catalog *c, const uint64_t *sizes, const struct match_opts *o,
                         const struct flow *flows, size_t n, struct keep *res, size_t *pos,
                         struct item *it)
{
    struct match_result r;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        pos[i] = NO_RESULT;
        if (m < res->n && flow_match(c, sizes, o, NULL, &flows[i], &r) == 0) {
            keep_put(res, m, &r);
            pos[i] = m;
            it[m].f = &flows[i];
            it[m].i = m;
            m++;
        }
    }
    return m;
}

/* Two passes: every considered flow alone, then each server's flows with the
 * calibration its defended singles give; then the range pieces (flows not considered
 * or rejected, and the arena's). */
static int run(const struct catalog *c, const struct match_opts *o, const struct flow *flows,
               size_t n, const struct piece_src *pieces,
               int (*fn)(void *ctx, const struct flow *f, const struct match_result *r), void *ctx)
{
    /* Results only for the considered flows: a batch may hold flows kept only as
     * possible range pieces, never matched alone. */
    size_t nc = 0;
    enum match_basis basis;
    struct match_result r;
    for (size_t i = 0; i < n; i++)
        nc += match_payload(&flows[i], o->header_bytes, &basis) > o->min_size;
    struct keep res;
    keep_init(&res, nc);
    struct item *it = xmalloc((nc ? nc : 1) * sizeof(*it));
    size_t *pos = xmalloc((n ? n : 1) * sizeof(*pos)); /* flow -> its result, or NO_RESULT */
    uint64_t *sizes = xmalloc((c->n ? c->n : 1) * sizeof(*sizes));
    for (size_t i = 0; i < c->n; i++)
        sizes[i] = c->e[i].size;
    size_t m = first_pass(c, sizes, o, flows, n, &res, pos, it);
    qsort(it, m, sizeof(*it), cmp_server);
    struct match_tls_work *tw = match_tls_work_new();
    for (size_t a = 0, b; a < m; a = b) {
        for (b = a + 1; b < m && same_server(it[a].f, it[b].f); b++)
            ;
        run_server(c, sizes, o, it, a, b, &res, tw);
    }
    match_tls_work_free(tw);
    run_seqs(c, sizes, o, it, m, &res);
    free(it);
    size_t i = 0;
    for (; i < n; i++) {
        if (pos[i] == NO_RESULT)
            continue;
        keep_get(&res, pos[i], &r);
        if (fn(ctx, &flows[i], &r))
            break;
    }
    if (i == n && o->range_gap_ms) {
        struct piece_src src = *pieces;
        src.flows = flows;
        src.n = n;
        src.pos = pos;
        src.res = &res;
        run_ranges(c, sizes, o, &src, fn, ctx);
    }
    free(sizes);
    free(pos);
    keep_free(&res);
    return 0;
}

/* What a batch is charged so far (match.h, max_mem): the considered flows, and per
 * piece its record, its hash and at most 16 bytes of the pair count in run_ranges. */
static size_t batch_held(const struct match_batch *b)
{
    return b->n * MATCH_FLOW_BYTES(b->o) + b->pklen + b->npk * (8 + 16);
}

int match_run(const struct catalog *c, const struct match_opts *o, const struct flow *flows,
              size_t n, int (*fn)(void *ctx, const struct flow *f, const struct match_result *r),
              void *ctx)
{
    struct piece_src none = { .budget = SIZE_MAX };
    return run(c, o, flows, n, &none, fn, ctx);
}

int match_run_batch(const struct catalog *c, struct match_batch *b,
                    int (*fn)(void *ctx, const struct flow *f, const struct match_result *r),
                    void *ctx)
{
    size_t held = batch_held(b);
    struct piece_src pieces = { .arena = b->pk,
                                .arena_len = b->pklen,
                                .hash = b->pkh,
                                .narena = b->npk,
                                .budget = !b->max_mem         ? SIZE_MAX
                                          : held < b->max_mem ? b->max_mem - held
                                                              : 0,
                                .dropped = &b->pieces_dropped };
    return run(c, b->o, b->v, b->n, &pieces, fn, ctx);
}

/* A byte count with an optional k/M/G suffix (1000-based, as the filter language). */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    double v = strtod(s, &end);
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'M')
        mul = 1e6, end++;
    else if (*end == 'G')
        mul = 1e9, end++;
    if (*end || v * mul > 1e18)
        return -1;
    *out = (uint64_t)(v * mul);
    return 0;
}

/* "MIN..MAX" or a single value for both. */
static int parse_range(const char *s, uint32_t *lo, uint32_t *hi)
{
    char buf[64];
    uint64_t a, b;
    const char *dots = strstr(s, "..");
    if (strlen(s) >= sizeof(buf))
        return -1;
    if (!dots) {
        if (parse_bytes(s, &a) || a > 1000000)
            return -1;
        *lo = *hi = (uint32_t)a;
        return 0;
    }
    memcpy(buf, s, (size_t)(dots - s));
    buf[dots - s] = '\0';
    if (parse_bytes(buf, &a) || parse_bytes(dots + 2, &b) || a > b || b > 1000000)
        return -1;
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
    return 0;
}

/* One model option from the command line. */
int match_option(struct match_opts *o, int code, const char *val, struct fs_err *err)
{
    uint64_t v = 0;
    char *end;
    int bad = 0;
    switch (code) {
    case 0x100:
        bad = parse_bytes(val, &v) || v > 200;
        o->header_bytes = (uint32_t)v;
        break;
    case 0x101:
        bad = parse_range(val, &o->oh_min, &o->oh_max);
        break;
    case 0x102:
        bad = parse_bytes(val, &o->tol_exact);
        break;
    case 0x103:
        o->tol_pct = strtod(val, &end);
        bad = end == val || *end || !(o->tol_pct >= 0 && o->tol_pct <= 50);
        break;
    case 0x104:
        bad = parse_bytes(val, &o->min_size);
        break;
    case 0x105:
        bad = parse_bytes(val, &v) || v < 1 || v > MATCH_MAX_SET;
        o->max_set = (int)v;
        break;
    case 0x106:
        bad = parse_bytes(val, &v) || v < 1 || v > MATCH_MAX_CANDS;
        o->max_cands = (int)v;
        break;
    case 0x107:
        bad = parse_bytes(val, &v) || v > 86400;
        o->range_gap_ms = v * 1000;
        break;
    default:
        return 1;
    }
    if (bad)
        return fs_err_set(err, FS_EINVAL, -1, "bad value '%s' (see --help for the range)", val);
    return 0;
}

/* Past max_mem the pieces go first: groups are rare, every considered flow counts. */
static void drop_pieces(struct match_batch *b)
{
    b->pieces_dropped += b->npk;
    free(b->pk);
    free(b->pkh);
    b->pk = NULL;
    b->pkh = NULL;
    b->pklen = b->pkcap = b->npk = b->pkhcap = 0;
}

/* Keep only what match_flow would consider, and possible range pieces compactly. */
int match_batch_add(void *batch, const struct flow *f)
{
    struct match_batch *b = batch;
    enum match_basis basis;
    uint64_t p = match_payload(f, b->o->header_bytes, &basis);
    if (p <= b->o->min_size) {
        if (!b->o->range_gap_ms || f->proto != 6 || p < MATCH_PIECE_MIN)
            return 0;
        if (b->max_mem && batch_held(b) + 256 > b->max_mem) {
            b->pieces_dropped++;
            return 0;
        }
        piece_put(&b->pk, &b->pklen, &b->pkcap, f);
        push_u64(&b->pkh, &b->npk, &b->pkhcap, pair_hash(f));
        return 0;
    }
    if (b->max_mem && batch_held(b) + MATCH_FLOW_BYTES(b->o) > b->max_mem)
        drop_pieces(b);
    if (b->max_mem && batch_held(b) + MATCH_FLOW_BYTES(b->o) > b->max_mem) {
        b->over = 1;
        return 1;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
    }
    b->v[b->n++] = *f;
    return 0;
}

void match_batch_free(struct match_batch *b)
{
    free(b->v);
    free(b->pk);
    free(b->pkh);
    b->v = NULL;
    b->pk = NULL;
    b->pkh = NULL;
    b->n = b->cap = b->pklen = b->pkcap = b->npk = b->pkhcap = 0;
}
