/*
 * Filter compiler: the parser's tree becomes a flat program of struct finsn with jump
 * targets (BPF's jt/jf, nfdump's OnTrue/OnFalse), so filter_match is one loop.
 *
 * gen(node, T, F) emits code that jumps to label T when node holds and F when not:
 *   test      one instruction, jt = T, jf = F
 *   not x     gen(x, F, T): negation is free, no instruction
 *   a and b   gen(a, L, F); L: gen(b, T, F)
 *   a or b    gen(a, T, L); L: gen(b, T, F)
 * Labels are resolved to instruction indices at the end; the two outer labels become n
 * (accept) and n + 1 (reject), where the run loop stops. Every jump goes forward, so
 * any program ends. Also here: the side tables (number lists, prefix groups) and
 * filter_dump.
 */
#include "filter_int.h"

#include "../core/tz.h"

#include "../core/fields.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "filter.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort and deduplicate a number list into f->nums. */
uint32_t filter_add_nums(struct filter *f, uint64_t *v, uint32_t n, uint32_t *count)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    if (f->nnums + m > f->capnums) {
        f->capnums = (f->nnums + m) * 2;
        f->nums = xrealloc(f->nums, f->capnums * sizeof(*f->nums));
    }
    memcpy(f->nums + f->nnums, v, m * sizeof(*v));
    *count = m;
    f->nnums += m;
    return f->nnums - m;
}

uint32_t filter_add_words(struct filter *f, const uint64_t *v, uint32_t n)
{
    if (f->nnums + n > f->capnums) {
        f->capnums = (f->nnums + n) * 2;
        f->nums = xrealloc(f->nums, f->capnums * sizeof(*f->nums));
    }
    memcpy(f->nums + f->nnums, v, n * sizeof(*v));
    f->nnums += n;
    return f->nnums - n;
}

/* Masks of a prefix of len bits over the 128-bit address (IPv4 mapped: 96 + len). */
static void prefix_mask(int bits, uint64_t *mhi, uint64_t *mlo)
{
    *mhi = bits <= 0 ? 0 : bits >= 64 ? UINT64_MAX : UINT64_MAX << (64 - bits);
    *mlo = bits <= 64 ? 0 : bits >= 128 ? UINT64_MAX : UINT64_MAX << (128 - bits);
}

static int cmp_ent(const void *a, const void *b)
{
    const struct fnet_ent *x = a, *y = b;
    if (x->ver != y->ver)
        return x->ver < y->ver ? -1 : 1;
    if (x->plen != y->plen)
        return x->plen > y->plen ? -1 : 1; /* longer prefixes first */
    if (x->a.hi != y->a.hi)
        return x->a.hi < y->a.hi ? -1 : 1;
    return x->a.lo < y->a.lo ? -1 : x->a.lo > y->a.lo;
}

static struct fgroup *new_group(struct filter *f, const struct fnet_ent *e)
{
    if (f->ngroups == f->capgroups) {
        f->capgroups = f->capgroups ? f->capgroups * 2 : 8;
        f->groups = xrealloc(f->groups, f->capgroups * sizeof(*f->groups));
    }
    struct fgroup *g = &f->groups[f->ngroups++];
    prefix_mask(e->plen + (e->ver == 4 ? 96 : 0), &g->mhi, &g->mlo);
    g->start = f->nnets;
    g->count = 0;
    g->ver = e->ver;
    g->plen = e->plen;
    return g;
}

/* Mask, sort, deduplicate and group an address list into f->groups and f->nets. */
uint32_t filter_add_nets(struct filter *f, struct fnet_ent *e, uint32_t n, uint32_t *ngroups)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t mhi, mlo;
        prefix_mask(e[i].plen + (e[i].ver == 4 ? 96 : 0), &mhi, &mlo);
        e[i].a.hi &= mhi;
        e[i].a.lo &= mlo;
    }
    qsort(e, n, sizeof(*e), cmp_ent);
    if (f->nnets + n > f->capnets) {
        f->capnets = (f->nnets + n) * 2;
        f->nets = xrealloc(f->nets, f->capnets * sizeof(*f->nets));
    }
    uint32_t first = f->ngroups;
    struct fgroup *g = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (i && cmp_ent(&e[i], &e[i - 1]) == 0)
            continue;
        if (!g || g->ver != e[i].ver || g->plen != e[i].plen)
            g = new_group(f, &e[i]);
        f->nets[f->nnets++] = e[i].a;
        g->count++;
    }
    *ngroups = f->ngroups - first;
    return first;
}

/* Code generator state: the program being emitted and the label positions. */
struct cgen {
    struct finsn *code;
    uint32_t n, cap;
    uint32_t *label; /* label id -> instruction index */
    uint32_t nlabels, caplabels;
};

enum { LABEL_ACCEPT, LABEL_REJECT };

static uint32_t new_label(struct cgen *g)
{
    if (g->nlabels == g->caplabels) {
        g->caplabels = g->caplabels ? g->caplabels * 2 : 16;
        g->label = xrealloc(g->label, g->caplabels * sizeof(*g->label));
    }
    g->label[g->nlabels] = UINT32_MAX;
    return g->nlabels++;
}

static void emit(struct cgen *g, const struct finsn *t, uint32_t jt, uint32_t jf)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->code = xrealloc(g->code, g->cap * sizeof(*g->code));
    }
    g->code[g->n] = *t;
    g->code[g->n].jt = jt; /* label ids until resolve() */
    g->code[g->n].jf = jf;
    g->n++;
}

/* Emit node; recursion depth is bounded by the parser's nesting limit. */
static void gen(struct cgen *g, const struct fnode *nodes, int32_t idx, uint32_t t, uint32_t f)
{
    const struct fnode *nd = &nodes[idx];
    switch (nd->kind) {
    case FN_TRUE:
    case FN_FALSE: {
        struct finsn c = { .op = nd->kind == FN_TRUE ? FOP_TRUE : FOP_FALSE };
        emit(g, &c, t, f);
        break;
    }
    case FN_TEST:
        emit(g, &nd->test, t, f);
        break;
    case FN_NOT:
        gen(g, nodes, nd->child, f, t);
        break;
    case FN_AND:
    case FN_OR:
        for (int32_t c = nd->child; c >= 0; c = nodes[c].next) {
            if (nodes[c].next < 0) {
                gen(g, nodes, c, t, f);
                break;
            }
            uint32_t l = new_label(g);
            if (nd->kind == FN_AND)
                gen(g, nodes, c, l, f);
            else
                gen(g, nodes, c, t, l);
            g->label[l] = g->n; /* the next child starts here */
        }
        break;
    }
}

/*
 * Compile: parse into a tree, generate, resolve labels. The tree and labels are freed
 * here; only the program and the side tables stay in *out.
 */
int filter_compile(const char *text, struct filter **out, struct fs_err *err)
{
    struct filter *f = xcalloc(1, sizeof(*f));
    struct fparser p = { .text = text, .err = err, .f = f };
    *out = NULL;
    int32_t root = filter_parse(&p);
    if (root < 0) {
        free(p.nodes);
        filter_free(f);
        return FS_EINVAL;
    }
    struct cgen g = { 0 };
    new_label(&g); /* LABEL_ACCEPT */
    new_label(&g); /* LABEL_REJECT */
    gen(&g, p.nodes, root, LABEL_ACCEPT, LABEL_REJECT);
    free(p.nodes);
    g.label[LABEL_ACCEPT] = g.n;
    g.label[LABEL_REJECT] = g.n + 1;
    for (uint32_t i = 0; i < g.n; i++) {
        struct finsn *in = &g.code[i];
        in->jt = g.label[in->jt];
        in->jf = g.label[in->jf];
        /* eval.c reads every field with one 8-byte load; near the end of the record it
         * starts the load earlier and shifts, so it never reads past the struct. */
        if (in->off + 8u > sizeof(struct flow))
            in->shift = (uint8_t)((in->off + 8u - sizeof(struct flow)) * 8u);
    }
    free(g.label);
    f->prog = g.code;
    f->n = g.n;
    *out = f;
    return 0;
}

/* Free a compiled filter (NULL is fine). */
void filter_free(struct filter *f)
{
    if (!f)
        return;
    free(f->prog);
    free(f->nums);
    free(f->nets);
    free(f->groups);
    if (f->tz)
        tz_free(f->tz);
    free(f->tz);
    free(f);
}
