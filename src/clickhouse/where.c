/*
 * The -t window and the filter of a read as the WHERE of its SELECT (read.c). The filter
 * is parsed by the filter engine's own parser (filter_int.h) and its tree translated,
 * so the SQL and the local program come from one parse: every leaf test (a field of the
 * flow table compared, tested for flags, in a number list or in prefixes; duration and
 * bpp computed the same way as eval.c) has a SQL form. A filter with any other term (cid,
 * name, label, cc, asn, hour, wday, sni: computed from the flow or not a column) is not
 * translated at all: the WHERE is then the window alone. Either way the reader runs
 * the filter on every row it gets, so the WHERE can only save transfer, never change
 * an answer (tests/e2e/117-clickhouse-read.sh checks that the WHERE alone keeps the
 * same rows).
 */
#include "../core/fields.h"
#include "../core/strbuf.h"
#include "../core/xalloc.h"
#include "../query/filter.h"
#include "../query/filter_int.h"
#include "ch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_MAX (200u << 10)

struct sql {
    struct strbuf s;
    const char *why; /* the first term without a SQL form */
};

static void add(struct sql *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct sql *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(&b->s, fmt, ap);
    va_end(ap);
}

/* The column a test reads at (off, width), NULL when none of the flow table's. */
static const char *column(unsigned off, unsigned width)
{
    for (size_t i = 0; i < nfields; i++) {
        const struct field *fd = &fields[i];
        if (fd->offset != off || fd->size != width || fd->type == FT_STR)
            continue;
        for (size_t c = 0; c < ch_ncols; c++)
            if (strcmp(ch_cols[c].name, fd->name) == 0)
                return fd->name;
    }
    return NULL;
}

/* The value a comparison reads, as SQL (eval.c's load and load_virtual), or NULL. */
static const char *operand(const struct finsn *t, struct sql *b)
{
    switch (t->width) {
    case FW_DURATION:
        return "if(last > first, last - first, 0)";
    case FW_BPP:
        return "if(packets + rpackets > 0, intDiv(bytes + rbytes, packets + rpackets), 0)";
    case FW_HOUR:
    case FW_WDAY:
        b->why = "hour and wday (local time)";
        return NULL;
    default:
        break;
    }
    const char *c = column(t->off, t->width);
    if (!c)
        b->why = "a field that is not a column of the flow table";
    return c;
}

static void hex16(struct sql *b, uint64_t hi, uint64_t lo)
{
    add(b, "toFixedString(unhex('%016llX%016llX'), 16)", (unsigned long long)hi,
        (unsigned long long)lo);
}

/* FOP_NET: the address in one of the prefixes (eval.c's in_nets), each as the range of
 * the addresses it holds: FixedString compares bytewise, as a big-endian address. */
static int net(const struct filter *f, const struct finsn *t, struct sql *b)
{
    const char *c = column(t->off, 16);
    if (!c) {
        b->why = "an address that is not a column of the flow table";
        return -1;
    }
    add(b, "(0");
    for (uint64_t gi = t->aux; gi < t->aux + t->k; gi++) {
        const struct fgroup *g = &f->groups[gi];
        for (uint32_t i = g->start; i < g->start + g->count; i++) {
            const struct fnet *n = &f->nets[i];
            add(b, " OR (");
            if (t->width)
                add(b, "ipver = %u AND ", g->ver);
            add(b, "%s BETWEEN ", c);
            hex16(b, n->hi, n->lo);
            add(b, " AND ");
            hex16(b, n->hi | ~g->mhi, n->lo | ~g->mlo);
            add(b, ")");
        }
    }
    add(b, ")");
    return 0;
}

static int test(const struct filter *f, const struct finsn *t, struct sql *b)
{
    static const char *const cmp[] = { "=", "!=", "<", "<=", ">", ">=" };
    const char *v;
    switch (t->op) {
    case FOP_TRUE:
    case FOP_FALSE:
        add(b, "%d", t->op == FOP_TRUE);
        return 0;
    case FOP_EQ:
    case FOP_NE:
    case FOP_LT:
    case FOP_LE:
    case FOP_GT:
    case FOP_GE:
        if (!(v = operand(t, b)))
            return -1;
        add(b, "(%s %s %llu)", v, cmp[t->op - FOP_EQ], (unsigned long long)t->k);
        return 0;
    case FOP_ALLSET:
        if (!(v = operand(t, b)))
            return -1;
        add(b, "(bitAnd(%s, %llu) = %llu)", v, (unsigned long long)t->k, (unsigned long long)t->k);
        return 0;
    case FOP_ALLSET2:
        if (!column(t->off, 1) || !column(t->off2, 1))
            return b->why = "a field that is not a column of the flow table", -1;
        add(b, "(bitAnd(bitOr(%s, %s), %llu) = %llu)", column(t->off, 1), column(t->off2, 1),
            (unsigned long long)t->k, (unsigned long long)t->k);
        return 0;
    case FOP_IN:
        if (!(v = operand(t, b)))
            return -1;
        add(b, "(%s IN (", v);
        for (uint64_t i = 0; i < t->k; i++)
            add(b, "%s%llu", i ? ", " : "", (unsigned long long)f->nums[t->aux + i]);
        add(b, "))");
        return 0;
    case FOP_NET:
        return net(f, t, b);
    default:
        b->why = "a computed term (sni, cid, name, label, cc, asn)";
        return -1;
    }
}

static int node(const struct fparser *p, int32_t i, struct sql *b)
{
    const struct fnode *n = &p->nodes[i];
    switch (n->kind) {
    case FN_TRUE:
    case FN_FALSE:
        add(b, "%d", n->kind == FN_TRUE);
        return 0;
    case FN_TEST:
        return test(p->f, &n->test, b);
    case FN_NOT:
        add(b, "NOT (");
        if (node(p, n->child, b) != 0)
            return -1;
        add(b, ")");
        return 0;
    default:
        break;
    }
    add(b, "(");
    for (int32_t c = n->child; c >= 0; c = p->nodes[c].next) {
        if (c != n->child)
            add(b, n->kind == FN_AND ? " AND " : " OR ");
        if (node(p, c, b) != 0)
            return -1;
    }
    add(b, ")");
    return 0;
}

char *ch_where_filter(const char *text, const char **why)
{
    struct fs_err err = { 0 };
    struct filter *f = xcalloc(1, sizeof(*f));
    struct fparser p = { .text = text, .err = &err, .f = f };
    struct sql b = { { NULL, 0, 0 }, NULL };
    strbuf_printf(&b.s, "%s", ""); /* an empty answer is a string too */
    int32_t root = filter_parse(&p);
    if (root < 0)
        b.why = "the filter does not parse";
    else if (node(&p, root, &b) != 0 && !b.why)
        b.why = "a term without a SQL form";
    free(p.nodes);
    filter_free(f);
    if (why)
        *why = b.why;
    if (b.why) {
        free(b.s.p);
        return NULL;
    }
    return b.s.p;
}

char *ch_where(const char *filter_text, uint64_t from_ms, uint64_t to_ms, int *pushed,
               const char **why)
{
    struct sql b = { { NULL, 0, 0 }, NULL };
    add(&b, "1");
    /* bin is the 5-minute bin of last (row.c) and leads the sort key: the server skips
     * the parts and granules before the window. */
    if (from_ms)
        add(&b, " AND bin >= toDateTime(%llu) AND last >= %llu",
            (unsigned long long)(from_ms / 1000 - from_ms / 1000 % 300),
            (unsigned long long)from_ms);
    if (to_ms)
        add(&b, " AND first < %llu", (unsigned long long)to_ms);
    *pushed = 0;
    if (why)
        *why = NULL;
    if (filter_text) {
        char *w = ch_where_filter(filter_text, why);
        /* The server parses at most max_query_size bytes (256 KiB by default): a long
         * address list (in @FILE) stays local rather than fail. */
        if (w && strlen(w) > WHERE_MAX) {
            free(w);
            w = NULL;
            if (why)
                *why = "a filter longer in SQL than the server's max_query_size";
        }
        if (w) {
            add(&b, " AND %s", w);
            *pushed = 1;
        }
        free(w);
    }
    return b.s.p;
}
