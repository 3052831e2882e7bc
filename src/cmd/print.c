/*
 * flowsleuth print: read flows (file, store folder, stdin) and print them.
 */
#include "../core/fields.h"
#include "../core/xalloc.h"
#include "../query/biflow.h"
#include "../query/filter.h"
#include "../query/output.h"
#include "../query/sort.h"
#include "args.h"
#include "cmd.h"
#include "input.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: flowsleuth print [-r PATH]... [-t FROM..TO] [-o FORMAT] [-N] [-O FIELD] [-c N]\n"
    "                        [-b] [FILTER]\n"
    "\n"
    "Print flow records.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line), or\n"
    "                   fmt:F1,F2,... (table with these fields; csv:F,.. json:F,.. too)\n"
    "  -N               plain numbers in the table (no k/M/G scaling)\n"
    "  -O FIELD         sort by FIELD: counters largest first, times, addresses and\n"
    "                   ports smallest first (reads all flows into memory)\n"
    "  -c N             print at most N flows\n"
    "  -b               pair uniflows (rbytes = rpackets = 0, as NetFlow exporters give)\n"
    "                   whose keys are each other's reverse and whose times overlap into\n"
    "                   biflows: src = the initiator (after the filter)\n"
    "  --fields         list the field names and exit\n"
    "  --dump-filter    print the compiled filter program and exit\n"
    "  -h, --help       this help\n";

struct print_ctx {
    struct output out;
    unsigned long long limit; /* 0 = none */
    const struct field *sort;
    struct flow *all; /* sort: every record */
    size_t n, cap;
    struct biflow *bi; /* -b */
};

static int on_record(void *vctx, const struct flow *f)
{
    struct print_ctx *c = vctx;
    if (c->sort) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 4096;
            c->all = xrealloc(c->all, c->cap * sizeof(*c->all));
        }
        c->all[c->n++] = *f;
        return 0;
    }
    output_flow(&c->out, f);
    /* A failed stdout (disk full, closed pipe) will not recover: stop reading. */
    return (c->limit && c->out.rows >= c->limit) || ferror(c->out.fp);
}

static int on_flow(void *vctx, const struct flow *f)
{
    struct print_ctx *c = vctx;
    return c->bi ? biflow_add(c->bi, f, on_record, c) : on_record(c, f);
}

static void sort_and_print(struct print_ctx *c)
{
    size_t *order = flow_sort(c->sort, c->all, c->n);
    for (size_t i = 0; i < c->n && (!c->limit || i < c->limit); i++)
        output_flow(&c->out, &c->all[order[i]]);
    free(order);
}

static void list_fields(void)
{
    for (size_t i = 0; i < nfields; i++)
        printf("%-10s %s\n", fields[i].name, fields[i].help);
}

struct print_args {
    struct input_opts in;
    const char *format;
    int plain, dump, pair;
};

/* Returns -1 to run, else the exit status (0 after --help/--fields, 2 on bad usage). */
static int parse_print_args(struct print_args *a, struct print_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "fields", no_argument, NULL, 2 },
                                              { "dump-filter", no_argument, NULL, 3 },
                                              { NULL, 0, NULL, 0 } };
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "o:NO:c:bh", longopts, NULL)) != -1) {
        int used = input_opt(&a->in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        switch (c) {
        case 'o':
            a->format = optarg;
            break;
        case 'N':
            a->plain = 1;
            break;
        case 'O':
            ctx->sort = field_find(optarg);
            if (!ctx->sort) {
                fprintf(stderr, "flowsleuth print: unknown field '%s' for -O (see --fields)\n",
                        optarg);
                return 2;
            }
            break;
        case 'c':
            ctx->limit = strtoull(optarg, &end, 10);
            if (*end || end == optarg) {
                fprintf(stderr, "flowsleuth print: -c needs a number, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'b':
            a->pair = 1;
            break;
        case 1:
            a->in.stats = 1;
            break;
        case 2:
            list_fields();
            return 0;
        case 3:
            a->dump = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return arg_usage_hint("print", usage_text);
        }
    }
    return -1;
}

int cmd_print(int argc, char **argv)
{
    struct print_args a = { .format = "table" };
    struct print_ctx ctx = { 0 };
    int rc = parse_print_args(&a, &ctx, argc, argv);
    if (rc >= 0) {
        input_free(&a.in);
        return rc;
    }
    struct input_opts in = a.in;
    if (input_filter_args(&in, argc - optind, argv + optind) ||
        input_prepare(&in, "flowsleuth print")) {
        input_free(&in);
        return 2;
    }
    if (a.dump) {
        if (in.filter)
            filter_dump(in.filter, stdout);
        else
            printf("(no filter: every flow)\n");
        input_free(&in);
        return 0;
    }
    struct fs_err err = { 0 };
    if (output_init(&ctx.out, a.format, a.plain, stdout, &err) != 0) {
        fprintf(stderr, "flowsleuth print: %s\n", err.msg);
        input_free(&in);
        return 2;
    }
    if (a.pair)
        ctx.bi = biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN);
    int status = input_read(&in, "flowsleuth print", on_flow, &ctx);
    if (ctx.bi && !(ctx.limit && ctx.out.rows >= ctx.limit))
        biflow_flush(ctx.bi, on_record, &ctx);
    biflow_free(ctx.bi);
    if (ctx.sort)
        sort_and_print(&ctx);
    /* Inputs that did not open print no header: stdout stays empty on failure. */
    if (!in.open_failed)
        output_finish(&ctx.out);
    free(ctx.all);
    input_free(&in);
    if (output_check(&ctx.out, "stdout", &err) != 0) {
        fprintf(stderr, "flowsleuth print: %s\n", err.msg);
        status = 1;
    }
    return status;
}
