/*
 * stats -s KEY[/ORDER] as a GROUP BY on the server (issue 17): when every input is a
 * clickhouse:// URL, the whole filter has a SQL form (where.c) and the key is a column
 * of the flow table (or the two columns of ip, port, as: arrayJoin counts a flow once
 * for each end, as add_side does), the server sums what query/stats.c sums per key
 * (flows, bytes + rbytes, packets + rpackets, min first, max last) and only the top rows
 * travel. They go into the command's own table, so stats_top ranks them and the same
 * printer prints them. One server: ORDER BY the order's value, ties by the key
 * ascending (the packed key's memcmp order: addresses bytewise, numbers by value), and
 * LIMIT N, which selects the rows stats_top would; several servers send every key, as
 * a key's top on one may not be its top overall. The totals line is a query of its own.
 */
#include "group.h"
#include "../core/xalloc.h"
#include "../query/stats.h"
#include "ch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server's answer may take as long as a read would. */
#define GROUP_TIMEOUT_S 3600

static int is_column(const char *name)
{
    for (size_t i = 0; i < ch_ncols; i++)
        if (strcmp(ch_cols[i].name, name) == 0)
            return strcmp(name, "bin") != 0 && strcmp(name, "batch") != 0;
    return 0;
}

/* A key part the server groups by as stats packs it: a whole address, or a number
 * stored as it is read (field_get_u64 of the column). Prefixes and computed keys stay
 * local. */
static int part_ok(const struct key_part *p)
{
    const struct field *fd = p->fd;
    if (!is_column(fd->name) || (p->alt && !is_column(p->alt->name)))
        return 0;
    if (p->size == 16)
        return (fd->type == FT_ADDR || fd->type == FT_EADDR) && p->v4bits >= 32 && p->v6bits >= 128;
    return p->size <= 8 && fd->type != FT_STR && fd->size == p->size;
}

static const char *order_sql(enum stats_order o)
{
    /* stats_metric's arithmetic step for step, so the doubles compare alike. */
    switch (o) {
    case ORD_FLOWS:
        return "c_n";
    case ORD_BYTES:
        return "c_b";
    case ORD_PACKETS:
        return "c_p";
    case ORD_BPS:
        return "if(c_l > c_f, toFloat64(c_b) * 8.0 / (toFloat64(c_l - c_f) / 1000.0), 0.0)";
    case ORD_PPS:
        return "if(c_l > c_f, toFloat64(c_p) / (toFloat64(c_l - c_f) / 1000.0), 0.0)";
    case ORD_BPP:
        return "if(c_p > 0, toFloat64(c_b) / toFloat64(c_p), 0.0)";
    }
    return "c_n";
}

static char *group_sql(const struct ch_url *u, const struct stats *s, const char *where,
                       size_t limit)
{
    const struct key_part *p = &s->key.part[0];
    char key[128], lim[32] = "";
    if (p->alt)
        snprintf(key, sizeof(key), "arrayJoin([%s, %s])", p->fd->name, p->alt->name);
    else
        snprintf(key, sizeof(key), "%s", p->fd->name);
    if (limit)
        snprintf(lim, sizeof(lim), " LIMIT %zu", limit);
    size_t n = strlen(where) + 1024;
    char *q = xmalloc(n);
    snprintf(q, n,
             "SELECT %s(c_k), c_n, c_b, c_p, c_f, c_l FROM (SELECT %s AS c_k, count() AS c_n, "
             "sum(bytes + rbytes) AS c_b, sum(packets + rpackets) AS c_p, min(first) AS c_f, "
             "max(last) AS c_l FROM %s.%s WHERE %s GROUP BY c_k) ORDER BY %s DESC, c_k ASC%s "
             "FORMAT TabSeparated",
             p->size == 16 ? "hex" : "toString", key, u->db, u->table, where, order_sql(s->order),
             lim);
    return q;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The key text of a row (hex of an address, or a number) packed as key_pack packs it. */
static int pack_key(const struct stats *s, const char *t, size_t len, uint8_t *key)
{
    const struct key_part *p = &s->key.part[0];
    memset(key, 0, (size_t)s->key.keylen);
    if (p->size == 16) {
        if (len != 32)
            return -1;
        for (size_t i = 0; i < 16; i++) {
            int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            key[p->off + i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
    }
    char *end;
    uint64_t v = strtoull(t, &end, 10);
    if (end != t + len || len == 0)
        return -1;
    for (int b = p->size - 1; b >= 0; b--, v >>= 8)
        key[p->off + b] = (uint8_t)v;
    return 0;
}

/* "A\tB\t...\n": up to n numbers after the first column; the line's end in *next. */
static int split_nums(char *line, uint64_t *v, int n, char **next)
{
    char *nl = strchr(line, '\n');
    if (!nl)
        return -1;
    *nl = '\0';
    *next = nl + 1;
    char *t = strchr(line, '\t');
    for (int i = 0; i < n; i++) {
        if (!t)
            return -1;
        char *end;
        v[i] = strtoull(t + 1, &end, 10);
        if (end == t + 1 || (*end != '\t' && *end != '\0'))
            return -1;
        t = *end ? end : NULL;
    }
    return t ? -1 : 0;
}

/* Add one row (key text up to the first tab) to s's table, as stats_part_to_stats adds
 * a part's slot. 0, or -1 with e said. */
static int add_row(struct stats *s, char *line, char **next, struct fs_err *e)
{
    uint64_t v[5]; /* flows, bytes, packets, first, last */
    uint8_t key[KEY_MAX_BYTES];
    char *tab = strchr(line, '\t');
    if (!tab || split_nums(line, v, 5, next) != 0 ||
        pack_key(s, line, (size_t)(tab - line), key) != 0) {
        fs_err_set(e, FS_EINVAL, -1, "a GROUP BY row the server sent does not parse");
        return -1;
    }
    uint64_t w = s->order == ORD_FLOWS                            ? v[0]
                 : s->order == ORD_PACKETS || s->order == ORD_PPS ? v[2]
                                                                  : v[1];
    int isnew;
    struct stats_val *sv = ktab_upsert(&s->tab, key, w, &isnew);
    if (!sv) {
        fs_err_set(e, FS_ENOSPC, -1, "more keys than --max-mem allows");
        return -1;
    }
    if (isnew || v[3] < sv->first)
        sv->first = v[3];
    if (isnew || v[4] > sv->last)
        sv->last = v[4];
    sv->flows += v[0];
    sv->bytes += v[1];
    sv->packets += v[2];
    return 0;
}

static int post(struct ch_http *h, const char *q, char **out, struct fs_err *e)
{
    int down = 0;
    if (getenv("FS_CH_DEBUG"))
        fprintf(stderr, "flowsleuth: %s\n", q);
    return ch_http_post(h, NULL, q, strlen(q), out, &down, e);
}

/* One -s table's rows from one server. */
static int group_one(struct ch_http *h, const struct ch_url *u, struct stats *s, const char *where,
                     size_t limit, uint64_t *rows, struct fs_err *e)
{
    char *q = group_sql(u, s, where, limit), *ans = NULL;
    int rc = post(h, q, &ans, e);
    free(q);
    s->tab.exact_only = 1;
    for (char *l = ans, *next = NULL; rc == 0 && l && *l; l = next, ++*rows)
        rc = add_row(s, l, &next, e);
    s->tab.exact_only = 0;
    free(ans);
    return rc;
}

/* The totals line: every flow once. */
static int totals(struct ch_http *h, const struct ch_url *u, const char *where, uint64_t t[3],
                  struct fs_err *e)
{
    size_t n = strlen(where) + 256;
    char *q = xmalloc(n), *ans = NULL, *next;
    snprintf(q, n,
             "SELECT 'total', count(), sum(bytes + rbytes), sum(packets + rpackets) FROM %s.%s "
             "WHERE %s FORMAT TabSeparated",
             u->db, u->table, where);
    int rc = post(h, q, &ans, e);
    free(q);
    if (rc == 0 && (!ans || split_nums(ans, t, 3, &next) != 0)) {
        fs_err_set(e, FS_EINVAL, -1, "the server's totals do not parse");
        rc = -1;
    }
    free(ans);
    return rc;
}

static int group_url(const char *url, const struct ch_read_opts *o, struct stats *const *st,
                     int nst, size_t limit, struct ch_group_stats *gs, struct fs_err *e)
{
    struct ch_push p;
    if (ch_push_open(&p, url, o, GROUP_TIMEOUT_S, e) != 0)
        return -1;
    uint64_t t[3];
    int rc = totals(p.h, &p.u, p.where, t, e);
    for (int i = 0; i < nst && rc == 0; i++) {
        rc = group_one(p.h, &p.u, st[i], p.where, limit, &gs->rows, e);
        st[i]->flows += t[0];
        st[i]->bytes += t[1];
        st[i]->packets += t[2];
    }
    return ch_push_close(&p, rc, e);
}

int ch_group_ok(const char *const *paths, size_t npaths, const char *filter,
                struct stats *const *st, int nst)
{
    if (!nst)
        return 0;
    for (int i = 0; i < nst; i++)
        if (st[i]->key.nparts != 1 || !part_ok(&st[i]->key.part[0]))
            return 0;
    return ch_push_ok(paths, npaths, filter);
}

int ch_group_stats(const char *const *paths, size_t npaths, const struct ch_read_opts *o,
                   struct stats *const *st, int nst, size_t n, struct ch_group_stats *gs,
                   struct fs_err *e)
{
    memset(gs, 0, sizeof(*gs));
    gs->inputs = npaths;
    for (size_t i = 0; i < npaths; i++)
        if (group_url(paths[i], o, st, nst, npaths == 1 ? n : 0, gs, e) != 0)
            return -1;
    return 0;
}
