/*
 * Labels, association, the CART baseline and the scores of `flowsleuth eval`
 * (eval.h explains each).
 */
#include "eval.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const eval_outcome_names[EO_N] = { "right",    "wrong",    "ambiguous",
                                               "possible", "rejected", "noflow" };

/* Frees the names and the array; *l is empty afterwards. */
void eval_labels_free(struct eval_labels *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* "-" names a file that the catalogue does not hold. */
int eval_label_foreign(const struct eval_label *l)
{
    return strcmp(l->name, "-") == 0;
}

/* ---- labels CSV ---- */

enum { LC_CLIENT, LC_SERVER, LC_SPORT, LC_EXCHANGE, LC_START, LC_END, LC_NAME, LC_N };
static const char *const label_cols[LC_N] = { "client",   "server", "sport",     "exchange",
                                              "start_ms", "end_ms", "entry_name" };

#define MAX_FIELDS 32

/* Split line[0..len) at commas into copies in f[] (at most MAX_FIELDS). */
static size_t split(const char *line, size_t len, char **f)
{
    size_t n = 0, a = 0;
    for (size_t i = 0; i <= len && n < MAX_FIELDS; i++) {
        if (i < len && line[i] != ',')
            continue;
        size_t b = i;
        while (a < b && (line[a] == ' ' || line[a] == '\t'))
            a++;
        while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t' || line[b - 1] == '\r'))
            b--;
        f[n] = xmalloc(b - a + 1);
        memcpy(f[n], line + a, b - a);
        f[n++][b - a] = '\0';
        a = i + 1;
    }
    return n;
}

static void free_fields(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i]);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *v = x;
    return 0;
}

/* The header: which field holds which column. */
static int header(const char *name, size_t lineno, char **f, size_t nf, int *col,
                  struct fs_err *err)
{
    for (int c = 0; c < LC_N; c++)
        col[c] = -1;
    for (size_t i = 0; i < nf; i++)
        for (int c = 0; c < LC_N; c++)
            if (strcmp(f[i], label_cols[c]) == 0)
                col[c] = (int)i;
    for (int c = 0; c < LC_N; c++)
        if (col[c] < 0 && c != LC_SPORT && c != LC_EXCHANGE)
            return fs_err_set(err, FS_ECORRUPT, -1, "%s:%zu: field '%s': missing in the header",
                              name, lineno, label_cols[c]);
    return 0;
}

/* One data row into *l (name copied). Returns 0 or the failing column. */
static int row(char **f, size_t nf, const int *col, struct eval_label *l, int *bad)
{
    int ver;
    uint64_t v = 0;
    memset(l, 0, sizeof(*l));
    for (int c = 0; c < LC_N; c++) {
        *bad = c;
        if (col[c] < 0)
            continue;
        if ((size_t)col[c] >= nf)
            return -1;
        const char *s = f[col[c]];
        if ((c == LC_CLIENT && parse_addr(s, l->client, &ver)) ||
            (c == LC_SERVER && parse_addr(s, l->server, &ver)))
            return -1;
        if (c == LC_SPORT && *s && (parse_u64(s, &v) || v > 65535))
            return -1;
        if (c == LC_SPORT)
            l->sport = (uint16_t)v;
        if (c == LC_EXCHANGE && *s && (parse_u64(s, &v) || v > UINT32_MAX))
            return -1;
        if (c == LC_EXCHANGE)
            l->exchange = (uint32_t)(*s ? v : 0);
        if ((c == LC_START && parse_u64(s, &l->start_ms)) ||
            (c == LC_END && (parse_u64(s, &l->end_ms) || l->end_ms < l->start_ms)))
            return -1;
        if (c == LC_NAME && !*s)
            return -1;
    }
    l->name = xstrdup(f[col[LC_NAME]]);
    return 0;
}

/* Header first (columns by name), then one label a line. */
int eval_labels_parse(struct eval_labels *l, const char *name, const char *buf, size_t len,
                      struct fs_err *err)
{
    int col[LC_N], have_header = 0;
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len, ll = end - pos;
        const char *line = buf + pos;
        pos = end + 1;
        lineno++;
        if (ll == 0 || line[0] == '#' || (ll == 1 && line[0] == '\r'))
            continue;
        char *f[MAX_FIELDS];
        size_t nf = split(line, ll, f);
        int rc = 0, bad = 0;
        if (!have_header) {
            rc = header(name, lineno, f, nf, col, err);
            have_header = 1;
        } else {
            if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 256;
                l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
            }
            if (row(f, nf, col, &l->v[l->n], &bad) == 0)
                l->n++;
            else
                rc = fs_err_set(err, FS_ECORRUPT, -1, "%s:%zu: field '%s': bad or missing value",
                                name, lineno, label_cols[bad]);
        }
        free_fields(f, nf);
        if (rc)
            return rc;
    }
    if (!have_header)
        return fs_err_set(err, FS_ECORRUPT, -1, "%s:1: field 'client': no header line", name);
    return 0;
}

/* ---- association ---- */

/* Linear scan: a lab run has thousands of flows, not millions. */
size_t eval_find(const struct eval_label *l, const struct flow *flows, size_t n, uint64_t slack)
{
    size_t best = n;
    int64_t best_ov = 0;
    int64_t a = (int64_t)l->start_ms - (int64_t)slack, b = (int64_t)(l->end_ms + slack);
    for (size_t i = 0; i < n; i++) {
        const struct flow *f = &flows[i];
        if (memcmp(f->src, l->client, 16) != 0 || memcmp(f->dst, l->server, 16) != 0 ||
            (l->sport && f->sport != l->sport) ||
            (l->exchange && f->exchange && f->exchange != l->exchange))
            continue;
        int64_t lo = (int64_t)f->first > a ? (int64_t)f->first : a;
        int64_t hi = (int64_t)f->last < b ? (int64_t)f->last : b;
        int64_t ov = hi - lo; /* >= 0 when they overlap (a 1-packet flow has 0) */
        if (ov >= 0 && (best == n || ov > best_ov)) {
            best = i;
            best_ov = ov;
        }
    }
    return best;
}

/* ---- folds ---- */

struct fold_key {
    const char *name;
    uint64_t key; /* seeded hash of the label's index */
    size_t i;
};

static int cmp_fold(const void *a, const void *b)
{
    const struct fold_key *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* splitmix64: a fixed, portable shuffle key from the seed and the index. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void eval_folds(const struct eval_labels *l, unsigned k, uint64_t seed, unsigned *fold)
{
    struct fold_key *v = xmalloc((l->n ? l->n : 1) * sizeof(*v));
    for (size_t i = 0; i < l->n; i++) {
        v[i].name = l->v[i].name;
        v[i].key = mix(seed ^ mix(i));
        v[i].i = i;
    }
    if (l->n > 1)
        qsort(v, l->n, sizeof(*v), cmp_fold);
    for (size_t j = 0; j < l->n; j++)
        fold[v[j].i] = k ? (unsigned)(j % k) : 0;
    free(v);
}

/* ---- CART ---- */

struct sample {
    double v;
    uint32_t cls;
    uint32_t idx;
};

struct grow {
    const double *x;
    const uint32_t *y;
    int nfeat;
    uint32_t nclasses;
    struct sample *s; /* scratch, n */
    size_t *cl, *cr;  /* class counts left / right */
    struct eval_tree *t;
};

static int cmp_sample(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint32_t new_node(struct eval_tree *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->node = xrealloc(t->node, t->cap * sizeof(*t->node));
    }
    memset(&t->node[t->n], 0, sizeof(t->node[0]));
    t->node[t->n].feat = -1;
    return (uint32_t)t->n++;
}

/* Best split of samples idx[0..n) on feature f: maximises sum(cl^2)/nl + sum(cr^2)/nr
 * (the same as minimising the weighted Gini impurity). Returns the score, -1 when the
 * feature has one value only; *thr is set to the midpoint. */
static double best_split(struct grow *g, const uint32_t *idx, size_t n, int f, double *thr)
{
    double sl = 0, sr = 0, best = -1;
    memset(g->cl, 0, g->nclasses * sizeof(*g->cl));
    memset(g->cr, 0, g->nclasses * sizeof(*g->cr));
    for (size_t i = 0; i < n; i++) {
        g->s[i].v = g->x[(size_t)idx[i] * (size_t)g->nfeat + (size_t)f];
        g->s[i].cls = g->y[idx[i]];
        g->s[i].idx = idx[i];
        g->cr[g->s[i].cls]++;
    }
    for (uint32_t c = 0; c < g->nclasses; c++)
        sr += (double)g->cr[c] * (double)g->cr[c];
    qsort(g->s, n, sizeof(*g->s), cmp_sample);
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t c = g->s[i].cls;
        sl += 2.0 * (double)g->cl[c] + 1;
        g->cl[c]++;
        sr -= 2.0 * (double)g->cr[c] - 1;
        g->cr[c]--;
        if (g->s[i].v == g->s[i + 1].v)
            continue;
        double score = sl / (double)(i + 1) + sr / (double)(n - i - 1);
        if (score > best) {
            best = score;
            *thr = g->s[i].v + (g->s[i + 1].v - g->s[i].v) / 2;
        }
    }
    return best;
}

/* Majority class of idx[0..n) (lowest class on ties); *pure when all agree. */
static uint32_t majority(struct grow *g, const uint32_t *idx, size_t n, int *pure)
{
    memset(g->cl, 0, g->nclasses * sizeof(*g->cl));
    uint32_t m = g->y[idx[0]];
    for (size_t i = 0; i < n; i++)
        g->cl[g->y[idx[i]]]++;
    for (uint32_t c = 0; c < g->nclasses; c++)
        if (g->cl[c] > g->cl[m])
            m = c;
    *pure = g->cl[m] == n;
    return m;
}

/* Grow the subtree of samples idx[0..n) into node id (depth-bounded). */
static void grow_node(struct grow *g, uint32_t id, uint32_t *idx, size_t n, int depth)
{
    int pure;
    uint32_t cls = majority(g, idx, n, &pure);
    g->t->node[id].cls = cls;
    double parent = 0; /* the parent's score: a split must beat it */
    for (uint32_t c = 0; c < g->nclasses; c++)
        parent += (double)g->cl[c] * (double)g->cl[c];
    parent /= (double)n;
    if (pure || n < 2 || depth > 500)
        return;
    int bf = -1;
    double bthr = 0, bscore = parent + 1e-9;
    for (int f = 0; f < g->nfeat; f++) {
        double thr = 0, sc = best_split(g, idx, n, f, &thr);
        if (sc > bscore) {
            bscore = sc;
            bf = f;
            bthr = thr;
        }
    }
    if (bf < 0)
        return;
    size_t nl = 0;
    for (size_t i = 0; i < n; i++) { /* left first; the order inside does not matter */
        if (g->x[(size_t)idx[i] * (size_t)g->nfeat + (size_t)bf] <= bthr) {
            uint32_t tmp = idx[i];
            idx[i] = idx[nl];
            idx[nl++] = tmp;
        }
    }
    uint32_t lo = new_node(g->t), hi = new_node(g->t);
    g->t->node[id].feat = bf;
    g->t->node[id].thr = bthr;
    g->t->node[id].lo = lo;
    g->t->node[id].hi = hi;
    grow_node(g, lo, idx, nl, depth + 1);
    grow_node(g, hi, idx + nl, n - nl, depth + 1);
}

/* Grow from the root over all samples (eval.h: CART with Gini). */
int eval_tree_train(struct eval_tree *t, int nfeat, const double *x, const uint32_t *y, size_t n,
                    uint32_t nclasses)
{
    memset(t, 0, sizeof(*t));
    t->nfeat = nfeat;
    if (n == 0 || nclasses == 0 || nfeat < 1 || nfeat > EVAL_MAX_FEAT)
        return FS_EINVAL;
    struct grow g = { x,
                      y,
                      nfeat,
                      nclasses,
                      xmalloc(n * sizeof(struct sample)),
                      xcalloc(nclasses, sizeof(size_t)),
                      xcalloc(nclasses, sizeof(size_t)),
                      t };
    uint32_t *idx = xmalloc(n * sizeof(*idx));
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    grow_node(&g, new_node(t), idx, n, 0);
    free(idx);
    free(g.s);
    free(g.cl);
    free(g.cr);
    return 0;
}

/* Walk from the root to a leaf. */
uint32_t eval_tree_predict(const struct eval_tree *t, const double *x)
{
    uint32_t id = 0;
    while (t->node[id].feat >= 0)
        id = x[t->node[id].feat] <= t->node[id].thr ? t->node[id].lo : t->node[id].hi;
    return t->node[id].cls;
}

/* Count the leaves. */
size_t eval_tree_leaves(const struct eval_tree *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->node[i].feat < 0;
    return n;
}

/* Free the nodes. */
void eval_tree_free(struct eval_tree *t)
{
    free(t->node);
    memset(t, 0, sizeof(*t));
}

/* ---- scores ---- */

/* Count the outcome; a wrong match also counts as a (truth, got) confusion. */
void eval_score_add(struct eval_score *s, const char *truth, enum eval_outcome o, const char *got)
{
    int foreign = !truth || strcmp(truth, "-") == 0;
    (foreign ? s->foreign : s->known)[o]++;
    if (o != EO_WRONG || !got)
        return;
    const char *tn = foreign ? "-" : truth;
    for (size_t i = 0; i < s->nconf; i++)
        if (strcmp(s->conf[i].truth, tn) == 0 && strcmp(s->conf[i].got, got) == 0) {
            s->conf[i].n++;
            return;
        }
    if (s->nconf == s->capconf) {
        s->capconf = s->capconf ? s->capconf * 2 : 32;
        s->conf = xrealloc(s->conf, s->capconf * sizeof(*s->conf));
    }
    s->conf[s->nconf].truth = xstrdup(tn);
    s->conf[s->nconf].got = xstrdup(got);
    s->conf[s->nconf++].n = 1;
}

void eval_score_merge(struct eval_score *dst, const struct eval_score *src)
{
    for (int o = 0; o < EO_N; o++) {
        dst->known[o] += src->known[o];
        dst->foreign[o] += src->foreign[o];
    }
    for (size_t i = 0; i < src->nconf; i++) {
        const struct eval_confusion *c = &src->conf[i];
        size_t j = 0;
        while (j < dst->nconf &&
               (strcmp(dst->conf[j].truth, c->truth) != 0 || strcmp(dst->conf[j].got, c->got) != 0))
            j++;
        if (j == dst->nconf) {
            if (dst->nconf == dst->capconf) {
                dst->capconf = dst->capconf ? dst->capconf * 2 : 32;
                dst->conf = xrealloc(dst->conf, dst->capconf * sizeof(*dst->conf));
            }
            dst->conf[j].truth = xstrdup(c->truth);
            dst->conf[j].got = xstrdup(c->got);
            dst->conf[j].n = 0;
            dst->nconf++;
        }
        dst->conf[j].n += c->n;
    }
}

static int cmp_conf(const void *a, const void *b)
{
    const struct eval_confusion *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    int r = strcmp(x->truth, y->truth);
    return r ? r : strcmp(x->got, y->got);
}

/* Most frequent confusions first. */
void eval_score_sort(struct eval_score *s)
{
    if (s->nconf)
        qsort(s->conf, s->nconf, sizeof(*s->conf), cmp_conf);
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* Rates from the counts (eval.h defines each). */
void eval_summarize(const struct eval_score *s, struct eval_summary *out)
{
    memset(out, 0, sizeof(*out));
    for (int o = 0; o < EO_N; o++) {
        out->known += s->known[o];
        out->foreign += s->foreign[o];
    }
    size_t right = s->known[EO_RIGHT];
    size_t made = right + s->known[EO_WRONG] + s->foreign[EO_WRONG];
    out->accuracy = ratio(right, out->known);
    out->recall = out->accuracy;
    out->precision = ratio(right, made);
    out->foreign_wrong = ratio(s->foreign[EO_WRONG], out->foreign);
    out->foreign_rejected = out->foreign ? 1.0 - out->foreign_wrong : 0.0;
}

/* Free the confusions. */
void eval_score_free(struct eval_score *s)
{
    for (size_t i = 0; i < s->nconf; i++) {
        free(s->conf[i].truth);
        free(s->conf[i].got);
    }
    free(s->conf);
    memset(s, 0, sizeof(*s));
}
