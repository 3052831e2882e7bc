/*
 * flowsleuth count: a time series of flows, tbytes and tpackets per bin
 * (src/query/count.c does the binning; this file parses options and prints).
 */
#include "../query/count.h"
#include "../clickhouse/series.h"
#include "../core/fmt.h"
#include "../core/units.h"
#include "../query/rows.h"
#include "../query/stats.h"
#include "args.h"
#include "cmd.h"
#include "input.h"
#include "input_scan.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth count"

static const char usage_text[] =
    "usage: flowsleuth count [--bin SECONDS] [--load spread|start] [-o FORMAT] [-N]\n"
    "                        [--max-mem SIZE] [input options] [FILTER]\n"
    "\n"
    "Flows, tpackets and tbytes per time bin (aligned to multiples of the bin since the\n"
    "epoch; bins without traffic between the first and the last are printed as zeros).\n"
    "\n" INPUT_HELP "  --bin SECONDS    bin width (default 300)\n"
    "  --load MODE      spread (default): tbytes and tpackets of a flow are spread over\n"
    "                   the bins it spans in proportion to time; start: all in the bin\n"
    "                   of its first packet. A flow counts as one flow in its first bin\n"
    "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  -N               plain numbers in the table (no k/M/G scaling)\n"
    "  --max-mem SIZE   memory for the bins (default 1Gi;\n"
    "                   k M G: 1000, Ki Mi Gi: 1024; a plain number is MiB)\n"
    "  -h, --help       this help\n"
    "\n"
    "tbytes = bytes + rbytes and tpackets = packets + rpackets, the totals of both\n"
    "directions; bps and pps are from them. bytes and packets alone are the forward\n"
    "direction, as in print and filters.\n";

struct count_ctx {
    struct count c;
    int full; /* a flow did not fit in --max-mem */
};

static int on_flow(void *vctx, const struct flow *f)
{
    struct count_ctx *x = vctx;
    if (count_add(&x->c, f) != 0) {
        x->full = 1;
        return 1;
    }
    return 0;
}

/*
 * The series through query/rows, the same columns in every format. tpackets and tbytes
 * are the totals of both directions (bytes + rbytes), and bps and pps are from them:
 * `bytes` is the forward direction everywhere else.
 */
#define NCOLS 6
#define CELL  32 /* a time (FMT_TIME_MAX) or a number (stats_fmt_num) */
_Static_assert(FMT_TIME_MAX <= CELL, "a time fits a cell");

static void bin_cells(const struct count *c, size_t i, int human, char cells[NCOLS][CELL])
{
    const struct count_bin *b = &c->bins[i];
    double secs = (double)c->bin_ms / 1000.0;
    fmt_time_ms(cells[0], count_bin_start(c, i));
    stats_fmt_num(cells[1], (double)b->flows, human);
    stats_fmt_num(cells[2], (double)b->packets, human);
    stats_fmt_num(cells[3], (double)b->bytes, human);
    stats_fmt_num(cells[4], (double)b->bytes * 8.0 / secs, human);
    stats_fmt_num(cells[5], (double)b->packets / secs, human);
}

/* Every row is printed as it is made, never held: in the table after a first pass over
 * the bins for the column widths (a year of 1-second bins is 31 M rows). */
static void print_series(const struct count *c, enum rows_mode mode, int plain)
{
    static const char *const names[NCOLS] = {
        "start", "flows", "tpackets", "tbytes", "bps", "pps"
    };
    static const unsigned char numeric[NCOLS] = { 0, 1, 1, 1, 1, 1 };
    char cells[NCOLS][CELL];
    const char *cp[NCOLS];
    int human = mode == ROWS_TABLE && !plain;
    struct rows r;
    rows_init(&r, names, numeric, NCOLS);
    if (mode == ROWS_TABLE) {
        size_t w[NCOLS] = { 0 };
        for (size_t i = 0; i < c->nbins; i++) {
            bin_cells(c, i, human, cells);
            for (int j = 0; j < NCOLS; j++)
                w[j] = strlen(cells[j]) > w[j] ? strlen(cells[j]) : w[j];
        }
        rows_stream_table(&r, w, stdout);
    }
    rows_stream(&r, mode, stdout);
    for (int j = 0; j < NCOLS; j++)
        cp[j] = cells[j];
    for (size_t i = 0; i < c->nbins; i++) {
        bin_cells(c, i, human, cells);
        rows_add(&r, cp);
    }
    rows_print(&r, mode, stdout);
    rows_free(&r);
    if (mode == ROWS_TABLE) {
        char f[32], b[32], p[32];
        stats_fmt_num(f, (double)c->flows, !plain);
        stats_fmt_num(b, (double)c->bytes, !plain);
        stats_fmt_num(p, (double)c->packets, !plain);
        printf("Summary: %zu bins of %" PRIu64 " s; total flows: %s, tbytes: %s, tpackets: %s\n",
               c->nbins, c->bin_ms / 1000, f, b, p);
    }
}

struct count_opts {
    uint64_t bin_s;
    enum count_load load;
    enum rows_mode mode;
    int plain;
    size_t max_mem;
};

/* One non-input option: -1 to go on, else an exit status. */
static int count_opt(struct count_opts *co, struct input_opts *in, int c)
{
    char *end;
    switch (c) {
    case 1:
        in->stats = 1;
        return -1;
    case 2:
        co->bin_s = strtoull(optarg, &end, 10);
        if (*end || end == optarg || optarg[0] == '-' || co->bin_s == 0 ||
            co->bin_s > 100ull * 365 * 86400) {
            fprintf(stderr, PROG ": --bin needs a positive number of seconds, not '%s'\n", optarg);
            return 2;
        }
        return -1;
    case 3:
        if (strcmp(optarg, "spread") == 0)
            co->load = COUNT_LOAD_SPREAD;
        else if (strcmp(optarg, "start") == 0)
            co->load = COUNT_LOAD_START;
        else {
            fprintf(stderr, PROG ": --load is spread or start, not '%s'\n", optarg);
            return 2;
        }
        return -1;
    case 4: {
        uint64_t v;
        if (units_parse_str(optarg, 1 << 20, &v) != 0 || v == 0 || v > SIZE_MAX) {
            fprintf(stderr, PROG ": --max-mem needs a size such as 512Mi or 2G, not '%s'\n",
                    optarg);
            return 2;
        }
        co->max_mem = (size_t)v;
        return -1;
    }
    case 'o': {
        int m = rows_mode_parse(optarg);
        if (m < 0) {
            fprintf(stderr, PROG ": unknown output format '%s' (table, csv, tsv, json)\n", optarg);
            return 2;
        }
        co->mode = (enum rows_mode)m;
        return -1;
    }
    case 'N':
        co->plain = 1;
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("count", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct count_opts *co, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "bin", required_argument, NULL, 2 },
                                              { "load", required_argument, NULL, 3 },
                                              { "max-mem", required_argument, NULL, 4 },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "o:Nh", longopts, NULL)) != -1) {
        int used = input_opt(in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        int rc = count_opt(co, in, c);
        if (rc >= 0)
            return rc;
    }
    if (input_filter_args(in, argc - optind, argv + optind) || input_prepare(in, PROG))
        return 2;
    return -1;
}

/* ---------------------------------------------------------------- on every core */

/*
 * Sums per bin do not depend on the order of the flows: each decoding thread counts the
 * blocks it decoded into a series of its own (input_scan), merged at the end; only the
 * times, bytes and packets are decoded. A thread's series gets its share of --max-mem;
 * one that runs out stops the scan and the command counts again on one series, which
 * says what it always said when the flows do not fit.
 */
struct series {
    const struct count_opts *co;
    struct count *c; /* one per thread */
    size_t n;
};

static int series_setup(void *vctx, size_t nthreads)
{
    struct series *s = vctx;
    s->c = calloc(nthreads, sizeof(*s->c));
    if (!s->c)
        return 1;
    s->n = nthreads;
    size_t bins = s->co->max_mem / sizeof(struct count_bin) / nthreads;
    for (size_t t = 0; t < nthreads; t++)
        count_init(&s->c[t], s->co->bin_s * 1000, s->co->load, bins);
    return 0;
}

static int series_flows(void *vctx, size_t t, const struct flow *v, size_t n)
{
    struct series *s = vctx;
    for (size_t i = 0; i < n; i++)
        if (count_add(&s->c[t], &v[i]) != 0)
            return 1;
    return 0;
}

/* 1 with *out merged and *status set, or 0: count again on one series. */
static int run_parallel(const struct count_opts *co, struct input_opts *in, struct count *out,
                        int *status)
{
    static const struct scan_ops ops = { series_setup, series_flows };
    static const char *const used[] = { "first", "last", "bytes", "rbytes", "packets", "rpackets" };
    struct series s = { co, NULL, 0 };
    uint64_t cols = 0;
    int stopped, ok;
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        cols |= (uint64_t)1 << field_index(used[i]);
    *status = input_scan(in, PROG, cols, &ops, &s, &stopped);
    ok = !stopped;
    for (size_t t = 0; t < s.n; t++) {
        if (ok && count_merge(out, &s.c[t]) != 0)
            ok = 0;
        count_free(&s.c[t]);
    }
    free(s.c);
    if (!ok)
        count_init(out, co->bin_s * 1000, co->load, co->max_mem / sizeof(struct count_bin));
    return ok;
}

/*
 * clickhouse:// inputs only and the filter whole in the WHERE: the servers sum the
 * bins (clickhouse/series.c) instead of every row travelling. 0 when that does not
 * apply (read as usual), else 1 with *status set; on an error nothing is printed, as
 * when an input does not open.
 */
static int run_pushdown(struct count_ctx *ctx, struct input_opts *in, int *status)
{
    if (!ch_push_ok(in->paths, in->npaths, in->filter_text))
        return 0;
    struct ch_read_opts o = { in->from_ms, in->to_ms, in->filter_text, NULL, NULL };
    struct ch_series_stats ss;
    struct fs_err err = { 0 };
    int rc = ch_series_count(in->paths, in->npaths, &o, &ctx->c, &ss, &err);
    *status = 0;
    if (rc < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        in->open_failed = 1;
        *status = 1;
        return 1;
    }
    ctx->full = rc > 0;
    if (in->stats)
        fprintf(stderr,
                PROG ": clickhouse inputs %" PRIu64 "; GROUP BY bin on the server: bin rows "
                     "received %" PRIu64 ", rows of flows spread over bins received %" PRIu64
                     "; WHERE: time window and filter\n",
                ss.inputs, ss.bin_rows, ss.span_rows);
    return 1;
}

int cmd_count(int argc, char **argv)
{
    struct count_opts co = { .bin_s = 300, .max_mem = (size_t)1 << 30 };
    struct input_opts in = { 0 };
    struct count_ctx ctx = { 0 };
    int status = parse_args(argc, argv, &co, &in);
    if (status >= 0) {
        input_free(&in);
        return status;
    }
    count_init(&ctx.c, co.bin_s * 1000, co.load, co.max_mem / sizeof(struct count_bin));
    /* A stream cannot be read twice, which running out of memory would need. */
    if (!run_pushdown(&ctx, &in, &status) &&
        (input_is_stream(&in) || !run_parallel(&co, &in, &ctx.c, &status)))
        status = input_read(&in, PROG, on_flow, &ctx);
    if (ctx.full) {
        fprintf(stderr,
                PROG ": the flows span more %" PRIu64 "-second bins than --max-mem allows; "
                     "use a larger --bin or a time window (-t)\n",
                co.bin_s);
        status = 1;
    } else if (!in.open_failed) { /* inputs that did not open print no header */
        print_series(&ctx.c, co.mode, co.plain);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
            status = 1;
        }
    }
    count_free(&ctx.c);
    input_free(&in);
    return status;
}
