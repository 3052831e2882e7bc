/*
 * count -r clickhouse://... as a GROUP BY on the server (issue 17). count files a flow
 * as one flow in the bin of its first packet, intDiv(first, bin_ms) (ms since the
 * epoch: no time zone, bins aligned to the epoch), and its tbytes and tpackets either
 * all in that bin (--load start) or spread over every bin [first, last] touches by
 * cumulative shares in 128-bit arithmetic (query/count.c), which no SQL that 18.16
 * takes computes exactly. So the server sums per bin the flows whose load stays in one
 * bin (all of them with --load start; with spread, those whose last packet falls in
 * the bin of the first), and the flows over several bins come as rows through
 * count_add. Each bin row is merged as a one-bin series (count_merge): the memory
 * bound and the zero bins between are count's own, and the same printer prints it.
 */
#define _GNU_SOURCE /* memmem */
#include "series.h"
#include "../core/xalloc.h"
#include "../query/count.h"
#include "ch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the bins: "BIN\tFLOWS\tTBYTES\tTPACKETS\n" lines, split anywhere between chunks */

struct bin_lines {
    struct count *c;
    char line[128];
    size_t len;
    uint64_t rows;
    int bad, full;
};

static int bin_line(struct bin_lines *l)
{
    uint64_t v[4]; /* bin number, flows, tbytes, tpackets */
    const char *p = l->line;
    for (int i = 0; i < 4; i++) {
        char *end;
        if (*p < '0' || *p > '9')
            return -1;
        v[i] = strtoull(p, &end, 10);
        if (*end != (i == 3 ? '\0' : '\t'))
            return -1;
        p = end + 1;
    }
    struct count_bin b = { v[1], v[2], v[3] };
    struct count one = { .bin_ms = l->c->bin_ms,
                         .load = l->c->load,
                         .max_bins = l->c->max_bins,
                         .base = v[0],
                         .bins = &b,
                         .nbins = 1,
                         .cap = 1,
                         .flows = v[1],
                         .bytes = v[2],
                         .packets = v[3] };
    if (count_merge(l->c, &one) != 0) {
        l->full = 1;
        return -1;
    }
    l->rows++;
    return 0;
}

static int bin_data(void *ctx, const uint8_t *p, size_t n)
{
    struct bin_lines *l = ctx;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (l->len + 1 >= sizeof(l->line)) {
                l->bad = 1;
                return 0;
            }
            l->line[l->len++] = (char)p[i];
            continue;
        }
        l->line[l->len] = '\0';
        if (bin_line(l) != 0) {
            l->bad = !l->full;
            return 0;
        }
        l->len = 0;
    }
    return 1;
}

static void debug(const char *q)
{
    if (getenv("FS_CH_DEBUG"))
        fprintf(stderr, "flowsleuth: %s\n", q);
}

/* The flows whose load stays in the bin of their first packet, summed per bin. */
static int bins(struct ch_http *h, const struct ch_url *u, struct count *c, const char *where,
                struct ch_series_stats *ss, struct fs_err *e)
{
    unsigned long long b = (unsigned long long)c->bin_ms;
    char one[96] = "";
    if (c->load == COUNT_LOAD_SPREAD)
        snprintf(one, sizeof(one), " AND intDiv(last, %llu) <= intDiv(first, %llu)", b, b);
    size_t n = strlen(where) + 1024;
    char *q = xmalloc(n);
    snprintf(q, n,
             "SELECT intDiv(first, %llu) AS c_k, count(), sum(bytes + rbytes), "
             "sum(packets + rpackets) FROM %s.%s WHERE (%s)%s GROUP BY c_k ORDER BY c_k "
             "FORMAT TabSeparated",
             b, u->db, u->table, where, one);
    debug(q);
    struct bin_lines l = { .c = c };
    int rc = ch_http_stream(h, q, bin_data, &l, e);
    free(q);
    ss->bin_rows += l.rows;
    if (l.full)
        return 1;
    if (l.bad || (rc == 0 && l.len)) {
        l.line[l.len < sizeof(l.line) ? l.len : sizeof(l.line) - 1] = '\0';
        return fs_err_set(e, FS_EINVAL, -1, "a GROUP BY row the server sent does not parse: %s",
                          l.line),
               -1;
    }
    return rc;
}

/* ---- the flows over several bins (--load spread): rows, each through count_add */

struct span_rows {
    struct count *c;
    struct ch_rows rows;
    struct fs_err err;
    int bad, full;
    uint8_t tail[512]; /* the answer's last bytes: an error after status 200 is there */
    size_t ntail;
};

static void keep_tail(struct span_rows *s, const uint8_t *p, size_t n)
{
    const size_t cap = sizeof(s->tail);
    if (n >= cap) {
        memcpy(s->tail, p + n - cap, cap);
        s->ntail = cap;
        return;
    }
    if (s->ntail + n > cap) {
        size_t drop = s->ntail + n - cap;
        memmove(s->tail, s->tail + drop, s->ntail - drop);
        s->ntail -= drop;
    }
    memcpy(s->tail + s->ntail, p, n);
    s->ntail += n;
}

/* The server's own text when it stopped after sending rows (as read.c says it). */
static void server_text(struct span_rows *s)
{
    static const char code[] = "Code: ";
    const uint8_t *t = memmem(s->tail, s->ntail, code, sizeof(code) - 1);
    if (!t)
        return;
    size_t len = s->ntail - (size_t)(t - s->tail);
    const uint8_t *nl = memchr(t, '\n', len);
    if (nl)
        len = (size_t)(nl - t);
    fs_err_set(&s->err, FS_EINVAL, -1, "the server stopped after %llu rows: %.*s",
               (unsigned long long)s->rows.rows, (int)(len > 200 ? 200 : len), (const char *)t);
}

static int span_flow(void *ctx, const struct flow *f)
{
    struct span_rows *s = ctx;
    if (count_add(s->c, f) != 0) {
        s->full = 1;
        return 1;
    }
    return 0;
}

static int span_data(void *ctx, const uint8_t *p, size_t n)
{
    struct span_rows *s = ctx;
    keep_tail(s, p, n);
    int rc = ch_rows_feed(&s->rows, p, n, &s->err);
    s->bad = rc < 0;
    return rc == 0;
}

static int spans(struct ch_http *h, const struct ch_url *u, struct count *c, const char *where,
                 struct ch_series_stats *ss, struct fs_err *e)
{
    unsigned long long b = (unsigned long long)c->bin_ms;
    size_t n = strlen(where) + 2048;
    char *q = xmalloc(n);
    snprintf(q, n,
             "SELECT %s FROM %s.%s WHERE (%s) AND intDiv(last, %llu) > intDiv(first, %llu) "
             "FORMAT RowBinary",
             ch_read_columns(), u->db, u->table, where, b, b);
    debug(q);
    struct span_rows s = { .c = c };
    s.rows = (struct ch_rows){ .flow = span_flow, .ctx = &s };
    int rc = ch_http_stream(h, q, span_data, &s, e);
    free(q);
    ss->span_rows += s.rows.rows;
    if (s.full)
        return 1;
    if (s.bad || (rc == 0 && ch_rows_end(&s.rows, &s.err) != 0)) {
        server_text(&s);
        *e = s.err;
        return -1;
    }
    return rc;
}

static int series_url(const char *url, const struct ch_read_opts *o, struct count *c,
                      struct ch_series_stats *ss, struct fs_err *e)
{
    struct ch_push p;
    if (ch_push_open(&p, url, o, 0, e) != 0)
        return -1;
    int rc = bins(p.h, &p.u, c, p.where, ss, e);
    if (rc == 0 && c->load == COUNT_LOAD_SPREAD)
        rc = spans(p.h, &p.u, c, p.where, ss, e);
    return ch_push_close(&p, rc, e);
}

int ch_series_count(const char *const *paths, size_t npaths, const struct ch_read_opts *o,
                    struct count *c, struct ch_series_stats *ss, struct fs_err *e)
{
    memset(ss, 0, sizeof(*ss));
    ss->inputs = npaths;
    for (size_t i = 0; i < npaths; i++) {
        int rc = series_url(paths[i], o, c, ss, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}
