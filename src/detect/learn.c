/*
 * Learning from labelled downloads: observations, learned catalogue rows and the
 * per-server calibration (learn.h explains each; the matcher's hooks that apply them
 * are match_learned.c).
 */
#include "learn.h"

#include "../core/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LIM (1LL << 40) /* clamp for byte differences: hostile counters cannot overflow */

static int64_t diff(uint64_t a, uint64_t b)
{
    if (a >= b)
        return a - b > (uint64_t)LIM ? LIM : (int64_t)(a - b);
    return b - a > (uint64_t)LIM ? -LIM : -(int64_t)(b - a);
}

/* ---- observations ---- */

/* qsort has no context argument (qsort_r is not C11); commands are single-threaded. */
static const struct catalog *sort_cat;

static int cmp_name_idx(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int r = strcmp(sort_cat->e[x].name, sort_cat->e[y].name);
    return r ? r : (x > y) - (x < y);
}

/* First entry (lowest index) named name, via the name-sorted index ix; c->n if none. */
static size_t find_name(const struct catalog *c, const size_t *ix, const char *name)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(c->e[ix[mid]].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n && strcmp(c->e[ix[lo]].name, name) == 0 ? ix[lo] : c->n;
}

/* Every address that a flow has at either end, sorted (16 bytes each), for the check that
 * a label's hosts exist at all. */
struct addr_set {
    uint8_t (*a)[16];
    size_t n;
};

static int cmp_addr16(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static void addr_set_build(struct addr_set *s, const struct flow *flows, size_t n)
{
    s->a = xmalloc((n ? 2 * n : 1) * sizeof(*s->a));
    s->n = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->a[s->n++], flows[i].src, 16);
        memcpy(s->a[s->n++], flows[i].dst, 16);
    }
    if (s->n > 1)
        qsort(s->a, s->n, sizeof(*s->a), cmp_addr16);
}

static int addr_set_has(const struct addr_set *s, const uint8_t *a)
{
    return s->n && bsearch(a, s->a, s->n, sizeof(*s->a), cmp_addr16) != NULL;
}

/* 1 when both hosts of the label occur in some flow (the set built on first use). */
static int hosts_known(struct addr_set *s, const struct eval_label *l, const struct flow *flows,
                       size_t n)
{
    if (!s->a)
        addr_set_build(s, flows, n);
    return addr_set_has(s, l->client) && addr_set_has(s, l->server);
}

size_t learn_observe(const struct catalog *c, const struct eval_labels *lab,
                     const unsigned char *only, const struct flow *flows, size_t n, uint64_t slack,
                     uint32_t header_bytes, struct learn_obs **obs, struct learn_counts *cnt)
{
    size_t *ix = xmalloc((c->n ? c->n : 1) * sizeof(*ix)), m = 0;
    for (size_t i = 0; i < c->n; i++)
        ix[i] = i;
    sort_cat = c;
    if (c->n > 1)
        qsort(ix, c->n, sizeof(*ix), cmp_name_idx);
    memset(cnt, 0, sizeof(*cnt));
    *obs = xmalloc((lab->n ? lab->n : 1) * sizeof(**obs));
    struct addr_set hosts = { NULL, 0 };
    for (size_t j = 0; j < lab->n; j++) {
        const struct eval_label *l = &lab->v[j];
        if (only && !only[j])
            continue;
        cnt->labels++;
        size_t e = eval_label_foreign(l) ? c->n : find_name(c, ix, l->name);
        size_t i = e < c->n ? eval_find(l, flows, n, slack) : n;
        cnt->foreign += eval_label_foreign(l);
        cnt->unknown += !eval_label_foreign(l) && e == c->n;
        cnt->noflow += e < c->n && i == n;
        if (i == n) {
            if (!eval_label_foreign(l) && !hosts_known(&hosts, l, flows, n))
                cnt->nohost++;
            continue;
        }
        enum match_basis basis;
        struct learn_obs *o = &(*obs)[m++];
        o->entry = e;
        o->f = &flows[i];
        o->payload = match_payload(&flows[i], header_bytes, &basis);
        o->oh = diff(o->payload, c->e[e].size);
    }
    cnt->used = m;
    free(ix);
    free(hosts.a);
    return m;
}

size_t learn_labels_nohost(const struct eval_labels *lab, const struct flow *flows, size_t n)
{
    struct addr_set hosts = { NULL, 0 };
    size_t k = 0;
    for (size_t j = 0; j < lab->n; j++)
        k += !hosts_known(&hosts, &lab->v[j], flows, n);
    free(hosts.a);
    return k;
}

/* ---- new files ---- */

/* The overhead range of the observations at server (oh[1] < oh[0] when none). */
static void server_oh(const struct learn_obs *obs, size_t nobs, const uint8_t *server,
                      int64_t oh[2])
{
    oh[0] = 1;
    oh[1] = 0;
    for (size_t i = 0; i < nobs; i++) {
        if (memcmp(obs[i].f->dst, server, 16) != 0)
            continue;
        if (oh[1] < oh[0]) {
            oh[0] = oh[1] = obs[i].oh;
            continue;
        }
        if (obs[i].oh < oh[0])
            oh[0] = obs[i].oh;
        if (obs[i].oh > oh[1])
            oh[1] = obs[i].oh;
    }
}

static const struct eval_labels *sort_lab;

static int cmp_label_name(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int r = strcmp(sort_lab->v[x].name, sort_lab->v[y].name);
    return r ? r : (x > y) - (x < y);
}

/* The labels of names the catalogue lacks, sorted by name; *nl of them. */
static size_t *missing_labels(const struct catalog *c, const struct eval_labels *lab, size_t *nl)
{
    size_t *ix = xmalloc((c->n ? c->n : 1) * sizeof(*ix));
    size_t *lx = xmalloc((lab->n ? lab->n : 1) * sizeof(*lx));
    *nl = 0;
    for (size_t i = 0; i < c->n; i++)
        ix[i] = i;
    sort_cat = c;
    if (c->n > 1)
        qsort(ix, c->n, sizeof(*ix), cmp_name_idx);
    for (size_t j = 0; j < lab->n; j++)
        if (!eval_label_foreign(&lab->v[j]) && find_name(c, ix, lab->v[j].name) == c->n)
            lx[(*nl)++] = j;
    free(ix);
    sort_lab = lab;
    if (*nl > 1)
        qsort(lx, *nl, sizeof(*lx), cmp_label_name);
    return lx;
}

/* What the size estimate of a new file looks at: the flows and the observations. */
struct new_ctx {
    const struct flow *flows;
    size_t n;
    uint64_t slack;
    uint32_t header_bytes;
    const struct learn_obs *obs;
    size_t nobs;
};

/* The file's size by flow f: its payload less the middle of its server's overhead
 * range (0 overhead when the server has no observation; *has_oh says which); 0 when
 * the flow is smaller than that. */
static uint64_t flow_estimate(const struct new_ctx *x, const struct flow *f, int *has_oh)
{
    enum match_basis basis;
    uint64_t p = match_payload(f, x->header_bytes, &basis);
    int64_t oh[2];
    server_oh(x->obs, x->nobs, f->dst, oh);
    *has_oh = oh[1] >= oh[0];
    int64_t mid = *has_oh ? oh[0] + (oh[1] - oh[0]) / 2 : 0;
    return mid > 0 && (uint64_t)mid >= p ? 0 : (uint64_t)((int64_t)p - mid);
}

/* The smallest estimate over the labels lx[a..b) of one name; 0 when none has one.
 * *known: every estimate used had its server's overhead. */
static uint64_t name_size(const struct new_ctx *x, const struct eval_labels *lab, const size_t *lx,
                          size_t a, size_t b, int *known)
{
    uint64_t size = 0;
    *known = 1;
    for (size_t k = a; k < b; k++) {
        size_t i = eval_find(&lab->v[lx[k]], x->flows, x->n, x->slack);
        if (i == x->n)
            continue;
        int has_oh;
        uint64_t est = flow_estimate(x, &x->flows[i], &has_oh);
        if (!est)
            continue; /* a flow smaller than the server's header: not this file */
        if (!size || est < size)
            size = est;
        *known &= has_oh;
    }
    return size;
}

size_t learn_new_files(struct catalog *c, const struct eval_labels *lab, const struct flow *flows,
                       size_t n, uint64_t slack, uint32_t header_bytes, const struct learn_obs *obs,
                       size_t nobs, size_t *guessed)
{
    size_t nl, added = 0;
    size_t *lx = missing_labels(c, lab, &nl);
    const struct new_ctx x = { flows, n, slack, header_bytes, obs, nobs };
    *guessed = 0;
    size_t base = c->n;
    for (size_t a = 0, b; a < nl; a = b) {
        const char *name = lab->v[lx[a]].name;
        for (b = a + 1; b < nl && strcmp(lab->v[lx[b]].name, name) == 0; b++)
            ;
        int known;
        uint64_t size = name_size(&x, lab, lx, a, b, &known);
        if (!size)
            continue;
        struct cat_entry e = { 0 };
        e.size = size;
        e.name = name;
        e.product = name;
        e.source = CAT_SRC_LEARNED;
        catalog_add(c, &e);
        added++;
        *guessed += !known;
    }
    if (c->n > base)
        catalog_sort(c);
    free(lx);
    return added;
}

/* ---- per-server TLS slope ---- */

static int same_addr(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 16) == 0;
}

/* Least-squares slope of oh over size for the server's observations (only those on
 * port 443 when tls_only), in ppm; 0 when negative or the sizes do not vary. */
static uint32_t slope(const struct catalog *c, const struct learn_obs *obs, size_t nobs,
                      const uint8_t *server, int tls_only)
{
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < nobs; i++) {
        if (!same_addr(obs[i].f->dst, server) || (tls_only && obs[i].f->dport != 443))
            continue;
        double x = (double)c->e[obs[i].entry].size, y = (double)obs[i].oh;
        n++;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    double den = n * sxx - sx * sx;
    if (n < 2 || den <= 0)
        return 0;
    double ppm = (n * sxy - sx * sy) / den * 1e6;
    return ppm <= 0 ? 0 : ppm >= 1e6 ? 1000000 : (uint32_t)(ppm + 0.5);
}

/* ---- learned catalogue rows ---- */

static const struct learn_obs *sort_obs;

/* Observation order: entry, then server. */
static int cmp_obs(const void *a, const void *b)
{
    const struct learn_obs *x = &sort_obs[*(const size_t *)a], *y = &sort_obs[*(const size_t *)b];
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    return memcmp(x->f->dst, y->f->dst, 16);
}

static void range_u(uint64_t *r, uint64_t v, int first)
{
    if (first || v < r[0])
        r[0] = v;
    if (first || v > r[1])
        r[1] = v;
}

static void range_i(int64_t *r, int64_t v, int first)
{
    if (first || v < r[0])
        r[0] = v;
    if (first || v > r[1])
        r[1] = v;
}

/* Join the ranges of b into a (both observed). */
static void merge_learn(struct cat_learn *a, const struct cat_learn *b)
{
    uint64_t *ua[3] = { a->rbytes, a->rpayload, a->rgoodput };
    const uint64_t *ub[3] = { b->rbytes, b->rpayload, b->rgoodput };
    for (int k = 0; k < 3; k++) {
        if (!ub[k][1])
            continue;
        int first = !ua[k][1];
        range_u(ua[k], ub[k][0], first);
        range_u(ua[k], ub[k][1], 0);
    }
    range_i(a->oh, b->oh[0], 0);
    range_i(a->oh, b->oh[1], 0);
    a->n = a->n + b->n < a->n ? UINT32_MAX : a->n + b->n;
    if (!a->tls_ppm)
        a->tls_ppm = b->tls_ppm;
}

/* The learn record of observations idx[a..b) (one entry, one server). */
static void group_learn(const struct catalog *c, const struct learn_obs *obs, size_t nobs,
                        const size_t *idx, size_t a, size_t b, struct cat_learn *l)
{
    memset(l, 0, sizeof(*l));
    const struct flow *f0 = obs[idx[a]].f;
    memcpy(l->server, f0->dst, 16);
    l->ipver = f0->ipver;
    for (size_t j = a; j < b; j++) {
        const struct learn_obs *o = &obs[idx[j]];
        int first = j == a;
        range_u(l->rbytes, o->f->rbytes, first);
        if (o->f->rpayload)
            range_u(l->rpayload, o->f->rpayload, !l->rpayload[1]);
        if (o->f->rgoodput)
            range_u(l->rgoodput, o->f->rgoodput, !l->rgoodput[1]);
        range_i(l->oh, o->oh, first);
        l->n++;
    }
    if (f0->dport == 443)
        l->tls_ppm = slope(c, obs, nobs, f0->dst, 1);
}

/* Same object as learn.h means it: size, name and version. */
static int same_object(const struct cat_entry *a, const struct cat_entry *b)
{
    return a->size == b->size && strcmp(a->name, b->name) == 0 &&
           strcmp(a->version, b->version) == 0;
}

/* Add the learned row: the entry's fields, the record, source learned. */
static void add_row(struct catalog *out, const struct cat_entry *e, const struct cat_learn *l)
{
    struct cat_entry d = *e;
    d.learn = l;
    d.source = CAT_SRC_LEARNED;
    d.spread = (uint64_t)(l->oh[1] - l->oh[0]);
    catalog_add(out, &d);
}

/* Is row j of c replaced by a new group (same object, same server)? If so, merge its
 * record into *l of that group and return 1. */
static int superseded(const struct catalog *c, size_t j, struct cat_learn *g, size_t ng,
                      const size_t *gentry)
{
    const struct cat_entry *e = &c->e[j];
    for (size_t k = 0; k < ng; k++) {
        if (!e->learn && gentry[k] == j)
            return 1; /* the unlearned base row of a learned object */
        if (e->learn && same_object(e, &c->e[gentry[k]]) &&
            same_addr(e->learn->server, g[k].server)) {
            merge_learn(&g[k], e->learn);
            return 1;
        }
    }
    return 0;
}

void learn_catalog(struct catalog *out, const struct catalog *c, const struct learn_obs *obs,
                   size_t nobs, size_t *rows)
{
    size_t *idx = xmalloc((nobs ? nobs : 1) * sizeof(*idx)), ng = 0;
    struct cat_learn *g = xmalloc((nobs ? nobs : 1) * sizeof(*g));
    size_t *gentry = xmalloc((nobs ? nobs : 1) * sizeof(*gentry));
    for (size_t i = 0; i < nobs; i++)
        idx[i] = i;
    sort_obs = obs;
    if (nobs > 1)
        qsort(idx, nobs, sizeof(*idx), cmp_obs);
    for (size_t a = 0, b; a < nobs; a = b) {
        for (b = a + 1; b < nobs && cmp_obs(&idx[a], &idx[b]) == 0; b++)
            ;
        group_learn(c, obs, nobs, idx, a, b, &g[ng]);
        gentry[ng++] = obs[idx[a]].entry;
    }
    for (size_t j = 0; j < c->n; j++)
        if (!superseded(c, j, g, ng, gentry))
            catalog_add(out, &c->e[j]);
    for (size_t k = 0; k < ng; k++)
        add_row(out, &c->e[gentry[k]], &g[k]);
    catalog_sort(out);
    *rows = ng;
    free(idx);
    free(g);
    free(gentry);
}

/* ---- per-server calibration ---- */

static int cmp_server(const void *a, const void *b)
{
    return memcmp(((const struct learn_server *)a)->server,
                  ((const struct learn_server *)b)->server, 16);
}

int learn_model_sort(struct learn_model *m)
{
    if (m->n > 1)
        qsort(m->s, m->n, sizeof(*m->s), cmp_server);
    for (size_t i = 1; i < m->n; i++)
        if (same_addr(m->s[i - 1].server, m->s[i].server))
            return -1;
    return 0;
}

/* Least-squares intercept of oh over size (the header bytes of a TLS server). */
static int64_t intercept(const struct catalog *c, const struct learn_obs *obs, size_t nobs,
                         const uint8_t *server, uint32_t ppm)
{
    double n = 0, s = 0;
    for (size_t i = 0; i < nobs; i++) {
        if (!same_addr(obs[i].f->dst, server))
            continue;
        n++;
        s += (double)obs[i].oh - (double)c->e[obs[i].entry].size * ppm / 1e6;
    }
    return n ? (int64_t)(s / n + (s < 0 ? -0.5 : 0.5)) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fit one server: base, then the q range of its observations, trimmed by 2% at each
 * end (one download with a burst of timeouts must not widen every window). */
static void fit_server(struct learn_server *s, const struct catalog *c, const struct learn_obs *obs,
                       size_t nobs)
{
    size_t tls = 0, nq = 0;
    double *q = xmalloc((nobs ? nobs : 1) * sizeof(*q));
    for (size_t j = 0; j < nobs; j++) {
        if (!same_addr(obs[j].f->dst, s->server))
            continue;
        tls += obs[j].f->dport == 443;
        if (s->n++ == 0 || obs[j].oh < s->base)
            s->base = obs[j].oh;
    }
    s->tls = tls * 2 > s->n;
    uint32_t sl = slope(c, obs, nobs, s->server, 0);
    if (sl) /* grows with the size (TLS records, retransmissions): the line's intercept */
        s->base = intercept(c, obs, nobs, s->server, sl);
    for (size_t j = 0; j < nobs; j++) {
        uint64_t size = c->e[obs[j].entry].size;
        if (same_addr(obs[j].f->dst, s->server) && size)
            q[nq++] = ((double)obs[j].oh - (double)s->base) / (double)size * 1e6;
    }
    if (nq) {
        size_t k = nq / 50;
        qsort(q, nq, sizeof(*q), cmp_double);
        s->ppm[0] = q[k];
        s->ppm[1] = q[nq - 1 - k];
    }
    free(q);
}

/* ---- the retransmission residues (match_types.h) ---- */

#define RES_SEG_MIN  500  /* segment payloads searched: below the 536-byte default MSS ... */
#define RES_SEG_MAX  9000 /* ... to jumbo frames */
#define RES_MIN_OBS  8    /* observations with retransmissions before a pattern is learned */
#define RES_MAX_OBS  4096 /* the search costs (seg range) x 2 x this steps */
#define RES_MIN_TOP  3    /* the commonest residue holds at least this many ... */
#define RES_LOSSLESS 0.95 /* ... and less than this share: more is a path without loss */

/* The commonest residue of oh[0..n) modulo m: its count. cnt has m zeroes or more
 * and is left so (only the slots touched are reset: O(n) per modulus). */
static size_t top_count(const int64_t *oh, size_t n, uint32_t m, uint16_t *cnt)
{
    size_t top = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t *c = &cnt[oh[i] % m];
        if (++*c > top)
            top = *c;
    }
    for (size_t i = 0; i < n; i++)
        cnt[oh[i] % m] = 0;
    return top;
}

struct res_count {
    uint32_t r;
    uint32_t n;
};

static int cmp_res_count(const void *a, const void *b)
{
    const struct res_count *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return (x->r > y->r) - (x->r < y->r);
}

/* The residues modulo rz->seg that two or more observations share, commonest first. */
static void take_residues(struct match_resid *rz, const int64_t *oh, size_t n, uint16_t *cnt)
{
    struct res_count *v = xmalloc(n * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        cnt[oh[i] % rz->seg]++;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(oh[i] % rz->seg);
        if (cnt[r] >= 2)
            v[k++] = (struct res_count){ r, cnt[r] };
        cnt[r] = 0; /* each residue once */
    }
    qsort(v, k, sizeof(*v), cmp_res_count);
    rz->n = k < MATCH_MAX_RES ? (int)k : MATCH_MAX_RES;
    for (int i = 0; i < rz->n; i++)
        rz->r[i] = v[i].r;
    free(v);
}

/*
 * The segment payload is the modulus on which most overheads agree: score each
 * candidate by its commonest residue's count times ln(seg), since a residue shared
 * by chance is 1/seg likely (a divisor of the true seg always agrees at least as
 * often, and must not win for it). Observations on goodput carry no retransmissions
 * and are left out. A path where nearly every download had the same overhead has no
 * loss: seg MATCH_RES_EXACT then makes the residues the overheads themselves (modulo a
 * million bytes), so a single that fits one exactly stands as it does on a lossy path.
 */
static void fit_resid(struct learn_server *s, const struct learn_obs *obs, size_t nobs)
{
    int64_t *oh = xmalloc(RES_MAX_OBS * sizeof(*oh));
    uint16_t *cnt = xcalloc(MATCH_RES_EXACT, sizeof(*cnt)) /* seg is at most MATCH_RES_EXACT */;
    size_t n = 0, top = 0;
    for (size_t j = 0; j < nobs && n < RES_MAX_OBS; j++)
        if (same_addr(obs[j].f->dst, s->server) && obs[j].f->rgoodput == 0 && obs[j].oh > 0)
            oh[n++] = obs[j].oh;
    double best = 0;
    for (uint32_t m = RES_SEG_MIN; n >= RES_MIN_OBS && m <= RES_SEG_MAX; m++) {
        size_t t = top_count(oh, n, m, cnt);
        double score = (double)t * log((double)m);
        if (t >= RES_MIN_TOP && score > best) {
            best = score;
            top = t;
            s->resid.seg = m;
        }
    }
    if (s->resid.seg && top >= (size_t)(RES_LOSSLESS * (double)n))
        s->resid.seg = MATCH_RES_EXACT;
    if (s->resid.seg)
        take_residues(&s->resid, oh, n, cnt);
    free(oh);
    free(cnt);
}

/* ---- the TLS record framing (match_types.h) ---- */

#define REC_MAX_R    64  /* bytes a record adds: up to a CBC suite's MAC and padding */
#define REC_MIN_SPAN 8   /* records between the fewest and the most of the observations */
#define REC_GRID_MIN 16  /* a grid of r: only where r leaves few positions on it */
#define REC_MAJORITY 0.8 /* one constant with exceptions: its share of the observations */
#define REC_GRID_MAX 8   /* ... and the constants span at most this many records */

static int cmp_i64v(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * A range too wide for one constant may still be a grid: a server (a CDN) that sends
 * 0..j records more than the size needs has constants lo + j * r. Taken when every kept
 * constant lies on it (+-1, the Content-Length digits) and j stays small; the range
 * then reaches MATCH_REC_GRID_ADD records past the most seen, since the count of extra
 * records is the server's timing, not a property of the files trained on (the real
 * CDN of README.md's HTTPS section: 0..3 extra in training, 5 in a test download).
 */
static void rec_grid(struct match_rec *rc, const int64_t *v, size_t k, size_t n)
{
    int64_t span = rc->hi - rc->lo;
    if (rc->r < REC_GRID_MIN || span / rc->r > REC_GRID_MAX)
        return;
    for (size_t i = k; i < n - k; i++) {
        int64_t d = (v[i] - rc->lo + MATCH_REC_SLACK) % rc->r;
        if (d > 2 * MATCH_REC_SLACK)
            return;
    }
    rc->step = rc->r;
    rc->hi =
        rc->lo + (span + MATCH_REC_SLACK) / rc->r * rc->r + MATCH_REC_GRID_ADD * (int64_t)rc->r;
}

/*
 * Neither one range nor a grid: perhaps one constant with exceptions. A keep-alive
 * connection's first response may carry the TLS 1.3 session tickets the server sends
 * after the handshake (260 bytes beyond the records for most responses, 834 for
 * those: README.md "HTTPS"), and the trimmed range then spans both. The r whose
 * constants put the most observations within MATCH_REC_SPREAD bytes is kept when
 * those are REC_MAJORITY of them (r = 0, plain HTTP, competes, and wins nothing).
 */
static void rec_majority(struct match_rec *out, const int64_t *oh, const uint64_t *rec, size_t n,
                         int64_t *v)
{
    size_t best = 0;
    for (int r = 0; r <= REC_MAX_R; r++) {
        for (size_t i = 0; i < n; i++)
            v[i] = oh[i] - (int64_t)r * (int64_t)rec[i];
        qsort(v, n, sizeof(*v), cmp_i64v);
        for (size_t i = 0, j = 0; i < n; i++) {
            while (v[i] - v[j] > MATCH_REC_SPREAD)
                j++;
            if (i - j + 1 > best) {
                best = i - j + 1;
                *out = (struct match_rec){ .r = (uint32_t)r, .lo = v[j], .hi = v[i] };
            }
        }
    }
    if ((double)best < REC_MAJORITY * (double)n)
        memset(out, 0, sizeof(*out));
}

/*
 * On goodput a TLS server's overhead is c + r * records: r is the per-record cost that
 * leaves the constants c_i = oh_i - r * ceil(S_i / 16 KiB) the narrowest (r = 0, plain
 * HTTP, wins ties: nothing is learned then), over observations whose record counts span
 * enough to tell r apart. The range leaves out the 2% most extreme at each end, as the
 * q range does (a download whose exchange also held the session tickets).
 */
static void fit_rec(struct learn_server *s, const struct catalog *c, const struct learn_obs *obs,
                    size_t nobs)
{
    uint64_t *rec = xmalloc(RES_MAX_OBS * sizeof(*rec)), rmin = UINT64_MAX, rmax = 0;
    int64_t *oh = xmalloc(RES_MAX_OBS * sizeof(*oh)), *v = xmalloc(RES_MAX_OBS * sizeof(*v));
    size_t n = 0;
    for (size_t j = 0; j < nobs && n < RES_MAX_OBS; j++) {
        if (!same_addr(obs[j].f->dst, s->server) || obs[j].f->rgoodput == 0)
            continue;
        rec[n] = (c->e[obs[j].entry].size + MATCH_TLS_RECORD - 1) / MATCH_TLS_RECORD;
        rmin = rec[n] < rmin ? rec[n] : rmin;
        rmax = rec[n] > rmax ? rec[n] : rmax;
        oh[n++] = obs[j].oh;
    }
    size_t k = n / 50;
    int64_t best_w = INT64_MAX;
    int best_r = 0;
    for (int r = 0; n >= RES_MIN_OBS && rmax - rmin >= REC_MIN_SPAN && r <= REC_MAX_R; r++) {
        for (size_t i = 0; i < n; i++)
            v[i] = oh[i] - (int64_t)r * (int64_t)rec[i];
        qsort(v, n, sizeof(*v), cmp_i64v);
        if (v[n - 1 - k] - v[k] < best_w) {
            best_w = v[n - 1 - k] - v[k];
            best_r = r;
            s->rec = (struct match_rec){ .r = (uint32_t)r, .lo = v[k], .hi = v[n - 1 - k] };
        }
    }
    if (best_r && best_w > MATCH_REC_SPREAD) {
        for (size_t i = 0; i < n; i++)
            v[i] = oh[i] - (int64_t)best_r * (int64_t)rec[i];
        qsort(v, n, sizeof(*v), cmp_i64v);
        rec_grid(&s->rec, v, k, n);
    }
    if (best_r && best_w > MATCH_REC_SPREAD && !s->rec.step)
        rec_majority(&s->rec, oh, rec, n, v);
    if (s->rec.r == 0)
        memset(&s->rec, 0, sizeof(s->rec));
    free(rec);
    free(oh);
    free(v);
}

void learn_model_train(struct learn_model *m, const struct catalog *c, const struct learn_obs *obs,
                       size_t nobs, uint32_t header_bytes)
{
    learn_model_free(m);
    m->header_bytes = header_bytes;
    m->s = xmalloc((nobs ? nobs : 1) * sizeof(*m->s));
    for (size_t i = 0; i < nobs; i++) {
        const struct flow *f = obs[i].f;
        if (learn_model_find(m, f->dst))
            continue;
        struct learn_server *s = &m->s[m->n++];
        memset(s, 0, sizeof(*s));
        memcpy(s->server, f->dst, 16);
        s->ipver = f->ipver;
        fit_server(s, c, obs, nobs);
        fit_resid(s, obs, nobs);
        fit_rec(s, c, obs, nobs);
        learn_model_sort(m); /* keeps learn_model_find's binary search valid */
    }
}

void learn_model_free(struct learn_model *m)
{
    free(m->s);
    memset(m, 0, sizeof(*m));
}
