/*
 * The matcher's hooks for what was learned (match_learned.h): the per-server overhead
 * of a nearest model and the learned rows' windows.
 */
#include "match_learned.h"

#include <string.h>

#define LIM (1LL << 40) /* clamp for byte differences: hostile counters cannot overflow */

static int64_t diff(uint64_t a, uint64_t b)
{
    if (a >= b)
        return a - b > (uint64_t)LIM ? LIM : (int64_t)(a - b);
    return b - a > (uint64_t)LIM ? -LIM : -(int64_t)(b - a);
}

static int same_addr(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 16) == 0;
}

/* Same object as learn.h means it: size, name and version. */
static int same_object(const struct cat_entry *a, const struct cat_entry *b)
{
    return a->size == b->size && strcmp(a->name, b->name) == 0 &&
           strcmp(a->version, b->version) == 0;
}

const struct learn_server *learn_model_find(const struct learn_model *m, const uint8_t *server)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = memcmp(m->s[mid].server, server, 16);
        if (r == 0)
            return &m->s[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static uint32_t clamp_u32(double v)
{
    return v < 0 ? 0 : v > 1000000 ? 1000000 : (uint32_t)v;
}

int learn_model_opts(const struct learn_model *m, const struct flow *f, uint64_t p,
                     enum match_basis basis, const struct match_opts *o, struct match_opts *so)
{
    const struct learn_server *s = m ? learn_model_find(m, f->dst) : NULL;
    if (!s)
        return 0;
    double half = (s->ppm[1] - s->ppm[0]) / 2, x = (double)p / 1e6;
    *so = *o;
    so->oh_min = clamp_u32((double)s->base - LEARN_BASE_SLACK + (s->ppm[0] - half) * x);
    so->oh_max = clamp_u32((double)s->base + LEARN_BASE_SLACK + (s->ppm[1] + half) * x);
    so->resid = s->resid.seg && basis != MB_GOODPUT ? &s->resid : NULL;
    so->rec = s->rec.r && basis == MB_GOODPUT ? &s->rec : NULL;
    return 1;
}

int match_rec_fits(const struct match_rec *rc, uint64_t size, int64_t oh)
{
    int64_t records = (int64_t)((size + MATCH_TLS_RECORD - 1) / MATCH_TLS_RECORD);
    int64_t c = oh - (int64_t)rc->r * records;
    if (c < rc->lo - MATCH_REC_SLACK || c > rc->hi + MATCH_REC_SLACK)
        return 0;
    if (!rc->step)
        return 1;
    int64_t d = (c - rc->lo + MATCH_REC_SLACK) % rc->step; /* c >= lo - slack: d >= 0 */
    return d <= 2 * MATCH_REC_SLACK;
}

double match_rec_width(const struct match_rec *rc)
{
    if (!rc->step)
        return (double)(rc->hi - rc->lo + 1 + 2 * (int64_t)MATCH_REC_SLACK);
    int64_t points = (rc->hi - rc->lo) / rc->step + 1; /* the grid's, whole */
    return (double)(points * (2 * MATCH_REC_SLACK + 1));
}

int match_resid_fits(const struct match_resid *rz, int64_t oh)
{
    int64_t m = rz->seg, x = oh % m;
    if (x < 0)
        x += m;
    for (int i = 0; i < rz->n; i++) {
        int64_t d = x - (int64_t)rz->r[i];
        if (d < 0)
            d = -d;
        if (d > m - d) /* around the modulus: residue 0 and m - 1 are neighbours */
            d = m - d;
        if (d <= MATCH_RES_SLACK)
            return 1;
    }
    return 0;
}

double match_resid_share(const struct match_resid *rz, uint64_t width)
{
    uint64_t span = width < rz->seg ? width : rz->seg;
    double s = (double)rz->n * (2 * MATCH_RES_SLACK + 1) / (double)(span ? span : 1);
    return s > 1 ? 1 : s;
}

/* ---- learned singles ---- */

/* The row applies to flows from this server. */
static int row_for(const struct cat_entry *e, const struct flow *f)
{
    return e->learn && same_addr(e->learn->server, f->dst);
}

/* Some row of e's object (rows of one object are adjacent) was learned at f's server. */
static int object_learned_here(const struct catalog *c, size_t i, const struct flow *f)
{
    size_t a = i;
    while (a > 0 && same_object(&c->e[a - 1], &c->e[i]))
        a--;
    for (; a < c->n && same_object(&c->e[a], &c->e[i]); a++)
        if (row_for(&c->e[a], f))
            return 1;
    return 0;
}

/* Does P fall in the learned window of row e (learn.h)? */
static int learned_fit(const struct cat_entry *e, enum match_basis basis, uint64_t p, uint64_t tol)
{
    const struct cat_learn *l = e->learn;
    int64_t m = cat_learn_margin(l) + (int64_t)(tol > (uint64_t)LIM ? LIM : tol);
    int64_t lo = l->oh[0], hi = l->oh[1];
    if (basis == MB_PAYLOAD && l->rpayload[1]) {
        lo = diff(l->rpayload[0], e->size);
        hi = diff(l->rpayload[1], e->size);
    }
    int64_t d = diff(p, e->size);
    return d >= lo - m && d <= hi + m;
}

/* Keep candidate i of res unless it is a learned object's row at this server. */
static size_t drop_learned(const struct catalog *c, const struct flow *f, struct match_result *res)
{
    int k = 0;
    size_t dropped = 0;
    for (int i = 0; i < res->ncands; i++) {
        uint32_t e = res->c[i].idx[0];
        if (res->c[i].k == 1 && c->e[e].learn && object_learned_here(c, e, f)) {
            dropped++;
            continue;
        }
        res->c[k++] = res->c[i];
    }
    res->ncands = k;
    return dropped;
}

static int have_object(const struct catalog *c, const struct match_result *res, size_t i)
{
    for (int j = 0; j < res->ncands; j++)
        if (res->c[j].k == 1 && same_object(&c->e[res->c[j].idx[0]], &c->e[i]))
            return 1;
    return 0;
}

size_t learn_singles(const struct catalog *c, const struct match_opts *o, const struct flow *f,
                     uint64_t tol, struct match_result *res, size_t total)
{
    size_t dropped = drop_learned(c, f, res);
    total = total > dropped ? total - dropped : 0;
    uint64_t p = res->payload, t = tol > (uint64_t)LIM ? (uint64_t)LIM : tol;
    uint64_t hi_off = (uint64_t)(c->learn_hi > 0 ? c->learn_hi : 0) + t;
    uint64_t lo_off = (uint64_t)(c->learn_lo < 0 ? -c->learn_lo : 0) + t;
    uint64_t lo = p > hi_off ? p - hi_off : 0;
    for (size_t i = catalog_lower_bound(c, lo); i < c->n && c->e[i].size <= p + lo_off; i++) {
        if (!row_for(&c->e[i], f) || !learned_fit(&c->e[i], res->basis, p, tol) ||
            have_object(c, res, i))
            continue;
        total++;
        if (res->ncands >= o->max_cands || res->ncands >= MATCH_MAX_CANDS) {
            res->more = 1;
            continue;
        }
        struct match_cand *m = &res->c[res->ncands++];
        memset(m, 0, sizeof(*m));
        m->k = 1;
        m->idx[0] = (uint32_t)i;
        m->residual = diff(p, c->e[i].size);
    }
    return total;
}
