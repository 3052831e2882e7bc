/*
 * flowsleuth stats: top-N statistics (-s KEY[/ORDER], repeatable) and aggregation
 * (-A KEY,...), as nfdump -s / -A. The engines are src/query/stats.c and aggregate.c;
 * this file parses options, feeds them flows and prints the results.
 */
#include "../query/stats.h"
#include "../clickhouse/group.h"
#include "../core/fmt.h"
#include "../core/units.h"
#include "../core/xalloc.h"
#include "../query/aggregate.h"
#include "../query/biflow.h"
#include "../query/output.h"
#include "../query/rows.h"
#include "../query/sort.h"
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

#define PROG      "flowsleuth stats"
#define MAX_STATS 16
#define CELL      80

static const char usage_text[] =
    "usage: flowsleuth stats -s KEY[/ORDER] [-s ...] [-n N] [-o FORMAT] [-N]\n"
    "                        [--max-mem SIZE] [input options] [FILTER]\n"
    "       flowsleuth stats -A KEY,... [-O FIELD] [-c N] [-o FORMAT] [-N] [--max-mem SIZE]\n"
    "                        [input options] [FILTER]\n"
    "       flowsleuth stats -b [-s ...|-A ...] [-o FORMAT] [input options] [FILTER]\n"
    "\n"
    "Top-N statistics and aggregation of flow records (nfdump's -s and -A).\n"
    "\n" INPUT_HELP
    "  -s KEY[/ORDER]   top N by KEY: ip srcip dstip port srcport dstport proto net\n"
    "                   srcnet dstnet (/24, /64) as srcas dstas exporter inif outif,\n"
    "                   srcip4/N dstip6/N ip4/N ..., or any field (print --fields);\n"
    "                   ORDER: flows (default) tbytes tpackets bps pps bpp (bytes and\n"
    "                   packets: nfdump's names of tbytes, tpackets); repeatable.\n"
    "                   ip, port, net and as count each flow for both of its ends\n"
    "  -n N             rows per table (default 10, 0 = all)\n"
    "  -A KEY,...       one record per combination of keys (srcip4/24,dstip,dport ...):\n"
    "                   counters summed, first/last min/max, a flows column\n"
    "  -O FIELD         with -A: records ordered by FIELD (counters and flows largest\n"
    "                   first, times, addresses and ports smallest first)\n"
    "  -c N             with -A: print at most N records (after -O: the top N)\n"
    "  -b               pair uniflows (rbytes = rpackets = 0) whose keys are each other's\n"
    "                   reverse and whose times overlap into biflows (src = initiator)\n"
    "                   before -s/-A; alone, print the paired records as print does\n"
    "  -o FORMAT        table (default), csv, tsv, json (one object a line); with -A or\n"
    "                   -b also fmt:/csv:/json:FIELDS as in print\n"
    "  -N               plain numbers in the table (no k/M/G scaling)\n"
    "  --max-mem SIZE   memory for the key tables (default 4Gi;\n"
    "                   k M G: 1000, Ki Mi Gi: 1024; a plain number is MiB): past it the\n"
    "                   result becomes an approximate top-N (Space-Saving)\n"
    "  -h, --help       this help\n"
    "\n"
    "-s prints tbytes = bytes + rbytes and tpackets = packets + rpackets, the totals of\n"
    "both directions (nfdump's -s sums in and out bytes too); pps, bps and bpp are from\n"
    "them. bytes and packets alone are the forward direction, as in print and filters.\n";

struct stats_ctx {
    struct stats *st[MAX_STATS];
    int nst;
    struct aggregate *agg;
    struct biflow *bi;  /* -b */
    struct output *out; /* -b alone: print the records */
    uint64_t flows, bytes, packets;
    struct flow batch[STATS_BATCH]; /* copies: the reader's record is only lent */
    size_t nbatch;
};

static void flush_batch(struct stats_ctx *c)
{
    for (int i = 0; i < c->nst; i++)
        stats_add_batch(c->st[i], c->batch, c->nbatch);
    if (c->agg)
        aggregate_add_batch(c->agg, c->batch, c->nbatch);
    c->nbatch = 0;
}

/* Flows are counted in batches so that the tables' cache misses overlap. */
static int count_flow(void *vctx, const struct flow *f)
{
    struct stats_ctx *c = vctx;
    if (c->out)
        output_flow(c->out, f);
    c->flows++;
    c->bytes += f->bytes + f->rbytes;
    c->packets += f->packets + f->rpackets;
    c->batch[c->nbatch++] = *f;
    if (c->nbatch == STATS_BATCH)
        flush_batch(c);
    return 0;
}

static int on_flow(void *vctx, const struct flow *f)
{
    struct stats_ctx *c = vctx;
    return c->bi ? biflow_add(c->bi, f, count_flow, c) : count_flow(c, f);
}

/* "1024" (MiB), "64Ki", "2G" -> bytes (core/units.h); 0 on a bad value. */
static size_t parse_mem(const char *s)
{
    uint64_t v;
    if (units_parse_str(s, 1 << 20, &v) != 0 || v > SIZE_MAX)
        return 0;
    return (size_t)v;
}

/* ---------------------------------------------------------------- stats output */

/*
 * One column set in every format (query/rows), so a script reads csv, tsv and json by
 * the same names and a person sees them in the table. tpackets and tbytes are the
 * totals of both directions (bytes + rbytes): `bytes` is the forward direction
 * everywhere else. The csv positions are those of before the rename, which the tests
 * and bench/ read by number.
 */
enum {
    C_RANK,
    C_KEY,
    C_FLOWS,
    C_FLOWS_PCT,
    C_PKTS,
    C_PKTS_PCT,
    C_BYTES,
    C_BYTES_PCT,
    C_PPS,
    C_BPS,
    C_BPP,
    C_FIRST,
    C_LAST,
    C_ERROR,
    NCOLS
};

static const unsigned char stats_numeric[NCOLS] = { 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1 };

static double pct(uint64_t part, uint64_t total)
{
    return total ? 100.0 * (double)part / (double)total : 0.0;
}

/* The cells of one row; the table gets human units (unless -N) and shorter shares. */
static void stats_cells(const struct stats *s, const struct stats_row *r, size_t rank, int table,
                        int plain, char cells[NCOLS][CELL])
{
    const struct stats_val *v = r->v;
    int human = table && !plain;
    int prec = table ? 1 : 2;
    snprintf(cells[C_RANK], CELL, "%zu", rank);
    key_part_text(cells[C_KEY], CELL, &s->key, 0, r->key, table);
    stats_fmt_num(cells[C_FLOWS], (double)v->flows, human);
    snprintf(cells[C_FLOWS_PCT], CELL, "%.*f", prec, pct(v->flows, s->flows));
    stats_fmt_num(cells[C_PKTS], (double)v->packets, human);
    snprintf(cells[C_PKTS_PCT], CELL, "%.*f", prec, pct(v->packets, s->packets));
    stats_fmt_num(cells[C_BYTES], (double)v->bytes, human);
    snprintf(cells[C_BYTES_PCT], CELL, "%.*f", prec, pct(v->bytes, s->bytes));
    stats_fmt_num(cells[C_PPS], stats_metric(ORD_PPS, v), human);
    stats_fmt_num(cells[C_BPS], stats_metric(ORD_BPS, v), human);
    stats_fmt_num(cells[C_BPP], stats_metric(ORD_BPP, v), human);
    fmt_time_ms(cells[C_FIRST], v->first);
    fmt_time_ms(cells[C_LAST], v->last);
    snprintf(cells[C_ERROR], CELL, "%" PRIu64, s->tab.approx ? v->h.err : 0);
}

/* The table's line above its rows (the other formats carry it in their columns). */
static void print_title(FILE *fp, const struct stats *s, size_t want)
{
    fprintf(fp, "Top %zu %s ordered by %s", want, s->key.name, stats_order_name(s->order));
    if (s->tab.approx)
        fprintf(fp,
                " (approximate: Space-Saving with %zu counters; %s are upper bounds, each "
                "at most its error over)",
                s->tab.capacity, stats_order_name(s->order));
    fputs(":\n", fp);
}

/* One -s table, each row printed as it is made, never held: the table after a first
 * pass over the top rows for its column widths (-n 0 can list millions of keys). */
static void print_stats(FILE *fp, const struct stats *s, size_t n, enum rows_mode mode, int plain,
                        int index)
{
    const char *names[NCOLS] = { "rank",         s->key.name, "flows",      "flows_pct", "tpackets",
                                 "tpackets_pct", "tbytes",    "tbytes_pct", "pps",       "bps",
                                 "bpp",          "first",     "last",       "error" };
    size_t want = n ? n : s->tab.n;
    struct stats_row *top = xmalloc((want ? want : 1) * sizeof(*top));
    size_t got = stats_top(s, want, top);
    char cells[NCOLS][CELL];
    const char *cp[NCOLS];
    struct rows r;
    /* A key that is one plain number (a port, a vlan, an AS) is a json number too. */
    unsigned char numeric[NCOLS];
    memcpy(numeric, stats_numeric, sizeof(numeric));
    const struct field *kf = s->key.part[0].fd;
    numeric[1] = s->key.nparts == 1 && (kf->type == FT_U64 || kf->type == FT_U32 ||
                                        kf->type == FT_U16 || kf->type == FT_U8);
    rows_init(&r, names, numeric, NCOLS);
    if (mode == ROWS_TABLE) {
        size_t w[NCOLS] = { 0 };
        for (size_t i = 0; i < got; i++) {
            stats_cells(s, &top[i], i + 1, 1, plain, cells);
            for (int j = 0; j < NCOLS; j++)
                w[j] = strlen(cells[j]) > w[j] ? strlen(cells[j]) : w[j];
        }
        rows_stream_table(&r, w, fp);
        print_title(fp, s, want);
    } else {
        rows_stream(&r, mode, fp);
        if (mode != ROWS_JSON && index)
            fputc('\n', fp); /* csv, tsv: an empty line before each further table */
    }
    for (int j = 0; j < NCOLS; j++)
        cp[j] = cells[j];
    for (size_t i = 0; i < got; i++) {
        stats_cells(s, &top[i], i + 1, mode == ROWS_TABLE, plain, cells);
        rows_add(&r, cp);
    }
    rows_print(&r, mode, fp);
    if (mode == ROWS_TABLE)
        fputc('\n', fp);
    rows_free(&r);
    free(top);
}

static void print_summary(FILE *fp, const struct stats_ctx *c, int plain)
{
    char f[32], b[32], p[32];
    stats_fmt_num(f, (double)c->flows, !plain);
    stats_fmt_num(b, (double)c->bytes, !plain);
    stats_fmt_num(p, (double)c->packets, !plain);
    fprintf(fp, "Summary: total flows: %s, tbytes: %s, tpackets: %s\n", f, b, p);
}

/* ---------------------------------------------------------------- -A output */

/* The aggregate's printer: -o as print takes it; plain "table" shows the keys. */
static int agg_output(struct output *o, const struct aggregate *a, const char *format, int plain,
                      struct fs_err *err)
{
    if (strcmp(format, "table") != 0)
        return output_init(o, format, plain, stdout, err);
    char spec[512];
    size_t n = (size_t)snprintf(spec, sizeof(spec), "fmt:first,last");
    for (int i = 0; i < a->key.nparts; i++)
        n += (size_t)snprintf(spec + n, sizeof(spec) - n, ",%s", a->key.part[i].fd->name);
    snprintf(spec + n, sizeof(spec) - n, ",packets,bytes,rpackets,rbytes");
    return output_init(o, spec, plain, stdout, err);
}

/* One aggregated record: the flows count first, then the printer's columns. */
static void agg_row(struct output *o, const struct flow *f, uint64_t flows)
{
    if (o->mode != OUT_JSON) {
        if (o->mode == OUT_TABLE)
            fprintf(o->fp, "%8" PRIu64 " ", flows);
        else
            fprintf(o->fp, "%" PRIu64 "%c", flows, o->mode == OUT_CSV ? ',' : '\t');
        output_flow(o, f);
        return;
    }
    char buf[OUTPUT_FIELD_MAX];
    fprintf(o->fp, "{\"flows\":%" PRIu64, flows);
    for (int i = 0; i < o->ncols; i++) {
        const struct field *fd = o->cols[i];
        output_json_value(buf, fd, f);
        fprintf(o->fp, ",\"%s\":%s", fd->name, buf);
    }
    fputs("}\n", o->fp);
}

struct agg_print {
    const char *format;
    int plain;
    const char *order; /* -O: a field, "flows", or NULL (the table's order) */
    size_t limit;      /* -c: at most this many records, 0 = all */
};

/* The records of a, in the order of -O: indices into recs (free() them). */
static size_t *agg_order(const struct agg_print *p, const struct flow *recs, const uint64_t *flows,
                         size_t n)
{
    if (strcmp(p->order, "flows") == 0)
        return u64_sort_desc(flows, n);
    return flow_sort(field_find(p->order), recs, n);
}

static int print_aggregate(const struct aggregate *a, const struct agg_print *p)
{
    const char *format = p->format;
    int plain = p->plain;
    struct output o;
    struct fs_err err = { 0 };
    if (agg_output(&o, a, format, plain, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    if (a->tab.approx && o.mode == OUT_TABLE)
        printf("Aggregated by %s (approximate: the %zu heaviest records by bytes kept by "
               "Space-Saving; their counters are lower bounds)\n",
               a->key.name, a->tab.capacity);
    if (o.mode == OUT_TABLE)
        printf("%8s ", "flows");
    else if (o.mode != OUT_JSON)
        printf("flows%c", o.mode == OUT_CSV ? ',' : '\t');
    output_finish(&o); /* the header line */
    if (!p->order) {   /* the table's order: streamed, nothing copied */
        size_t shown = 0;
        for (size_t i = 0; i < a->tab.n && (!p->limit || shown < p->limit); i++) {
            struct flow f;
            uint64_t flows;
            if (aggregate_record(a, i, &f, &flows)) {
                agg_row(&o, &f, flows);
                shown++;
            }
        }
        return 0;
    }
    /* -O: every record is sorted, so each is copied once (184 bytes a record). */
    struct flow *recs = xmalloc((a->tab.n ? a->tab.n : 1) * sizeof(*recs));
    uint64_t *flows = xmalloc((a->tab.n ? a->tab.n : 1) * sizeof(*flows));
    size_t n = 0;
    for (size_t i = 0; i < a->tab.n; i++)
        n += aggregate_record(a, i, &recs[n], &flows[n]) != 0;
    size_t *order = agg_order(p, recs, flows, n);
    for (size_t i = 0; i < n && (!p->limit || i < p->limit); i++)
        agg_row(&o, &recs[order[i]], flows[order[i]]);
    free(order);
    free(flows);
    free(recs);
    return 0;
}

/* ---------------------------------------------------------------- command */

struct stats_opts {
    const char *specs[MAX_STATS];
    int nspecs;
    const char *agg;
    const char *format;
    const char *order; /* -O with -A */
    size_t n, max_mem, limit;
    int plain, pair;
};

/* Parse one option that is not an input option; returns -1 to go on, else a status. */
static int stats_opt(struct stats_opts *so, struct input_opts *in, int c)
{
    char *end;
    switch (c) {
    case 's':
        if (so->nspecs == MAX_STATS) {
            fprintf(stderr, PROG ": at most %d -s options\n", MAX_STATS);
            return 2;
        }
        so->specs[so->nspecs++] = optarg;
        return -1;
    case 'A':
        so->agg = optarg;
        return -1;
    case 'n':
        so->n = (size_t)strtoull(optarg, &end, 10);
        if (*end || end == optarg || optarg[0] == '-') {
            fprintf(stderr, PROG ": -n needs a number, not '%s'\n", optarg);
            return 2;
        }
        return -1;
    case 'o':
        so->format = optarg;
        return -1;
    case 'O':
        if (strcmp(optarg, "flows") != 0 && !field_find(optarg)) {
            fprintf(stderr, PROG ": -O needs flows or a field (print --fields), not '%s'\n",
                    optarg);
            return 2;
        }
        so->order = optarg;
        return -1;
    case 'c':
        so->limit = (size_t)strtoull(optarg, &end, 10);
        if (*end || end == optarg || optarg[0] == '-' || !so->limit) {
            fprintf(stderr, PROG ": -c needs a number of records > 0, not '%s'\n", optarg);
            return 2;
        }
        return -1;
    case 'N':
        so->plain = 1;
        return -1;
    case 'b':
        so->pair = 1;
        return -1;
    case 1:
        in->stats = 1;
        return -1;
    case 2:
        so->max_mem = parse_mem(optarg);
        if (!so->max_mem) {
            fprintf(stderr, PROG ": --max-mem needs a size such as 512Mi or 2G, not '%s'\n",
                    optarg);
            return 2;
        }
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("stats", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct stats_opts *so, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "max-mem", required_argument, NULL, 2 },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "s:A:n:o:O:c:Nbh", longopts, NULL)) != -1) {
        int used = input_opt(in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        int rc = stats_opt(so, in, c);
        if (rc >= 0)
            return rc;
    }
    if (!so->nspecs && !so->agg && !so->pair) {
        fprintf(stderr, PROG ": give -s KEY[/ORDER], -A KEY,... or -b (see --help)\n");
        return 2;
    }
    if (so->nspecs && so->agg) {
        fprintf(stderr, PROG ": -s and -A do not combine; run them separately\n");
        return 2;
    }
    if ((so->order || so->limit) && !so->agg) {
        fprintf(stderr, PROG ": -O and -c order and cut the records of -A\n");
        return 2;
    }
    if (input_filter_args(in, argc - optind, argv + optind) || input_prepare(in, PROG))
        return 2;
    return -1;
}

/* Build the engines; 0 or 2 after printing the problem. */
static int setup(struct stats_ctx *ctx, const struct stats_opts *so, enum rows_mode *mode)
{
    struct fs_err err = { 0 };
    for (int i = 0; i < so->nspecs; i++) {
        if (stats_new(so->specs[i], so->max_mem / (size_t)so->nspecs, &ctx->st[i], &err)) {
            fprintf(stderr, PROG ": -s %s: %s\n", so->specs[i], err.msg);
            return 2;
        }
        ctx->nst++;
    }
    if (so->agg && aggregate_new(so->agg, so->max_mem, &ctx->agg, &err)) {
        fprintf(stderr, PROG ": -A %s: %s\n", so->agg, err.msg);
        return 2;
    }
    if (so->pair)
        ctx->bi = biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN);
    if (so->pair && !so->nspecs && !so->agg) {
        ctx->out = xmalloc(sizeof(*ctx->out));
        if (output_init(ctx->out, so->format, so->plain, stdout, &err) != 0) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            return 2;
        }
        return 0;
    }
    if (so->agg) {
        struct output o; /* check -o now rather than after reading everything */
        if (agg_output(&o, ctx->agg, so->format, so->plain, &err) != 0) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            return 2;
        }
        return 0;
    }
    int m = rows_mode_parse(so->format);
    if (m < 0) {
        fprintf(stderr, PROG ": unknown output format '%s' for -s (table, csv, tsv, json)\n",
                so->format);
        return 2;
    }
    *mode = (enum rows_mode)m;
    return 0;
}

/* Say on stderr which tables ran out of memory and became approximate. */
static void report_approx(const struct stats_ctx *ctx, const struct stats_opts *so)
{
    for (int i = 0; i < ctx->nst; i++)
        if (ctx->st[i]->tab.approx)
            fprintf(stderr,
                    PROG ": -s %s: more keys than --max-mem allows; approximate top-N "
                         "(Space-Saving, %zu counters, %" PRIu64 " evictions)\n",
                    so->specs[i], ctx->st[i]->tab.capacity, ctx->st[i]->tab.evictions);
    if (ctx->agg && ctx->agg->tab.approx)
        fprintf(stderr,
                PROG ": -A %s: more records than --max-mem allows; kept the %zu heaviest by "
                     "bytes (Space-Saving, approximate)\n",
                so->agg, ctx->agg->tab.capacity);
}

/* ---------------------------------------------------------------- -s on every core */

/*
 * Top-N counts do not depend on the order of the flows, so each decoding thread of the
 * reader counts the blocks it decoded into parts of its own (input_scan, stats_part),
 * merged at the end, as nfdump's threads do. Before, every record went through the
 * command's thread, which then did 60 % of the work of a top-N.
 */
struct shard {
    struct stats_part *p[MAX_STATS];
    char pad_[64]; /* threads write their own shard: keep them off one cache line */
};

struct shards {
    struct stats_ctx *ctx;
    const struct stats_opts *so;
    struct shard *v;
    size_t n;
};

/* One part per thread and -s, each with its share of the budget. */
static int shards_setup(void *vctx, size_t nthreads)
{
    struct shards *sh = vctx;
    size_t budget = sh->so->max_mem / (size_t)sh->ctx->nst / nthreads;
    sh->v = xcalloc(nthreads, sizeof(*sh->v));
    sh->n = nthreads;
    for (size_t t = 0; t < nthreads; t++)
        for (int i = 0; i < sh->ctx->nst; i++)
            if ((sh->v[t].p[i] = stats_part_new(sh->ctx->st[i], budget)) == NULL)
                return 1; /* not for a -s key */
    return 0;
}

/* A part at its budget stops the scan: the command counts again on one table. */
static int shards_flows(void *vctx, size_t t, const struct flow *v, size_t n)
{
    struct shards *sh = vctx;
    for (int i = 0; i < sh->ctx->nst; i++) {
        stats_part_add(sh->v[t].p[i], v, n);
        if (stats_part_full(sh->v[t].p[i]))
            return 1;
    }
    return 0;
}

/*
 * Merge the parts of each -s into its (empty) table, within the budget: the parts of
 * the other threads into thread 0's, then that into the table, each part freed once
 * merged. 0, or FS_ENOSPC.
 */
static int shards_merge(struct shards *sh)
{
    size_t budget = sh->so->max_mem / (size_t)sh->ctx->nst;
    for (int i = 0; i < sh->ctx->nst; i++) {
        struct stats_part *dst = sh->v[0].p[i];
        for (size_t t = 1; t < sh->n; t++) {
            size_t others = 0; /* still allocated */
            for (size_t u = t; u < sh->n; u++)
                others += stats_part_bytes(sh->v[u].p[i]);
            if (stats_part_merge(dst, sh->v[t].p[i], budget > others ? budget - others : 0))
                return FS_ENOSPC;
            stats_part_free(sh->v[t].p[i]);
            sh->v[t].p[i] = NULL;
        }
        size_t held = stats_part_bytes(dst);
        if (stats_part_to_stats(sh->ctx->st[i], dst, budget > held ? budget - held : 0))
            return FS_ENOSPC;
        sh->ctx->st[i]->tab.max_bytes = budget;
        stats_part_free(dst);
        sh->v[0].p[i] = NULL;
    }
    return 0;
}

static void shards_free(struct shards *sh)
{
    for (size_t t = 0; sh->v && t < sh->n; t++)
        for (int i = 0; i < sh->ctx->nst; i++)
            stats_part_free(sh->v[t].p[i]);
    free(sh->v);
}

/* Tables as stats_new made them, for counting again after a part ran out of memory. */
static int renew_tables(struct stats_ctx *ctx, const struct stats_opts *so)
{
    struct fs_err err = { 0 };
    for (int i = 0; i < ctx->nst; i++) {
        stats_free(ctx->st[i]);
        if (stats_new(so->specs[i], so->max_mem / (size_t)so->nspecs, &ctx->st[i], &err))
            return 2; /* parsed before: not reached */
    }
    return 0;
}

/*
 * -s on every decoding thread. Returns 1 with ctx's tables and totals filled (and
 * *status set), or 0 when the parts outgrew --max-mem: then the tables are empty again
 * and the caller reads again on one table each, which turns approximate as it always
 * did.
 */
static int run_parallel(struct stats_ctx *ctx, const struct stats_opts *so, struct input_opts *in,
                        int *status)
{
    struct shards sh = { ctx, so, NULL, 0 };
    static const struct scan_ops ops = { shards_setup, shards_flows };
    uint64_t cols = 0;
    int stopped;
    for (int i = 0; i < ctx->nst; i++)
        cols |= stats_columns(ctx->st[i]);
    *status = input_scan(in, PROG, cols, &ops, &sh, &stopped);
    /* No threads set up and not stopped: the input did not open (reported). */
    int ok = !stopped && (!sh.v || shards_merge(&sh) == 0);
    shards_free(&sh);
    if (!ok) {
        renew_tables(ctx, so);
        return 0;
    }
    /* Every table counted every flow once: the summary's totals are any table's. */
    ctx->flows = ctx->st[0]->flows;
    ctx->bytes = ctx->st[0]->bytes;
    ctx->packets = ctx->st[0]->packets;
    return 1;
}

/*
 * -s over clickhouse:// inputs only, the filter whole in the WHERE, keys that are
 * columns: a GROUP BY on the servers (clickhouse/group.c) fills the tables instead of
 * every row travelling. Returns 0 when that does not apply (read as usual), else 1
 * with *status set (on an error nothing is printed, as when an input does not open).
 */
static int run_pushdown(struct stats_ctx *ctx, const struct stats_opts *so, struct input_opts *in,
                        int *status)
{
    if (!ctx->nst || ctx->agg || ctx->bi ||
        !ch_group_ok(in->paths, in->npaths, in->filter_text, ctx->st, ctx->nst))
        return 0;
    struct ch_read_opts o = { in->from_ms, in->to_ms, in->filter_text, NULL, NULL };
    struct ch_group_stats gs;
    struct fs_err err = { 0 };
    *status = 0;
    if (ch_group_stats(in->paths, in->npaths, &o, ctx->st, ctx->nst, so->n, &gs, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        in->open_failed = 1;
        *status = 1;
        return 1;
    }
    ctx->flows = ctx->st[0]->flows;
    ctx->bytes = ctx->st[0]->bytes;
    ctx->packets = ctx->st[0]->packets;
    if (in->stats)
        fprintf(stderr,
                PROG ": clickhouse inputs %" PRIu64 "; GROUP BY on the server: key rows "
                     "received %" PRIu64 "; WHERE: time window and filter\n",
                gs.inputs, gs.rows);
    return 1;
}

/* Read, then print every result. */
static int run(struct stats_ctx *ctx, const struct stats_opts *so, struct input_opts *in,
               enum rows_mode mode)
{
    int status;
    /* A stream cannot be read twice, which running out of memory would need. */
    int done = run_pushdown(ctx, so, in, &status) ||
               (ctx->nst && !ctx->agg && !ctx->bi && !input_is_stream(in) &&
                run_parallel(ctx, so, in, &status));
    if (!done)
        status = input_read(in, PROG, on_flow, ctx);
    if (in->open_failed) /* inputs that did not open print nothing, not even a header */
        return status;
    if (ctx->bi)
        biflow_flush(ctx->bi, count_flow, ctx);
    if (ctx->out)
        output_finish(ctx->out);
    flush_batch(ctx);
    report_approx(ctx, so);
    for (int i = 0; i < ctx->nst; i++)
        print_stats(stdout, ctx->st[i], so->n, mode, so->plain, i);
    if (ctx->nst && mode == ROWS_TABLE)
        print_summary(stdout, ctx, so->plain);
    if (ctx->agg) {
        struct agg_print ap = { so->format, so->plain, so->order, so->limit };
        int rc = print_aggregate(ctx->agg, &ap);
        if (rc)
            status = rc;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
        status = 1;
    }
    return status;
}

int cmd_stats(int argc, char **argv)
{
    struct stats_opts so = { .format = "table", .n = 10, .max_mem = (size_t)4096 << 20 };
    struct input_opts in = { 0 };
    struct stats_ctx ctx = { 0 };
    enum rows_mode mode = ROWS_TABLE;
    int status = parse_args(argc, argv, &so, &in);
    if (status < 0)
        status = setup(&ctx, &so, &mode);
    else if (status == 0)
        status = -1; /* --help: done */
    if (status == 0)
        status = run(&ctx, &so, &in, mode);
    else if (status < 0)
        status = 0;
    for (int i = 0; i < ctx.nst; i++)
        stats_free(ctx.st[i]);
    aggregate_free(ctx.agg);
    biflow_free(ctx.bi);
    free(ctx.out);
    input_free(&in);
    return status;
}
