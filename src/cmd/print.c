/*
 * flowsleuth print: read flows (file, store folder, stdin) and print them, or write
 * those that pass the window and the filter to a store, a file or a pipe (-w, as
 * nfdump -w does); -b pairs uniflows, --anon anonymises addresses on the way.
 */
#include "../core/fields.h"
#include "../core/xalloc.h"
#include "../query/anon.h"
#include "../query/biflow.h"
#include "../query/filter.h"
#include "../query/output.h"
#include "../query/sort.h"
#include "args.h"
#include "cmd.h"
#include "eve_opt.h"
#include "input.h"
#include "output_target.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: flowsleuth print [-r PATH]... [-t FROM..TO] [-o FORMAT] [-N] [-O FIELD] [-c N]\n"
    "                        [-b] [--anon KEY] [-w PATH [-z CODEC] [--bin SECONDS]]\n"
    "                        [--eve FILE [--eve-slack S]] [FILTER]\n"
    "\n"
    "Print flow records, or write them (-w).\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line), or\n"
    "                   fmt:F1,F2,... (table with these fields; csv:F,.. json:F,.. too)\n"
    "  -N               plain numbers in the table (no k/M/G scaling)\n"
    "  -O FIELD         sort by FIELD: counters largest first, times, addresses and\n"
    "                   ports smallest first (reads all flows into memory)\n"
    "  -c N             print at most N flows\n"
    "  -b               pair uniflows (rbytes = rpackets = 0, as NetFlow exporters give)\n"
    "                   whose keys are each other's reverse and whose times overlap into\n"
    "                   biflows: src = the initiator (after the filter)\n"
    "  -w PATH          write the flows to a store folder (existing dir or PATH/, binned\n"
    "                   by time), a file, or - (stdout) instead of printing them, in\n"
    "                   the format meter and collect write (nfdump -w)\n" OUT_TARGET_CODEC_HELP
    "  --bin SECONDS    store bin width with -w STORE/ (default 300)\n"
    "  --anon KEY       anonymise addresses with Crypto-PAn, prefix-preserving (as nfanon\n"
    "                   -K): src, dst, the exporter, xsrc and xdst; AS numbers are\n"
    "                   zeroed. KEY: a file holding the key, or the key: 32\n"
    "                   characters or 0x and 64 hex digits (a file keeps it out of ps\n"
    "                   and shell history)\n" EVE_OPT_HELP
    "  --fields         list the field names and exit\n"
    "  --dump-filter    print the compiled filter program and exit\n"
    "  -h, --help       this help\n";

struct print_ctx {
    struct output out;
    struct out_target tgt; /* -w */
    const char *wpath;     /* -w, NULL = print */
    const struct store_wopts *wo;
    int wopen;                /* -w: opened at the first record (a failed input writes nothing) */
    unsigned long long limit; /* 0 = none */
    const struct field *sort;
    struct flow *all; /* sort: every record */
    size_t n, cap;
    struct biflow *bi; /* -b */
    struct anon *anon; /* --anon */
};

/* Records given out so far, by -w or by the printer. */
static unsigned long long emitted(const struct print_ctx *c)
{
    return c->wpath ? c->tgt.written : c->out.rows;
}

/* Write or print one record; nonzero = stop reading (-c reached, output failed). */
static int emit(struct print_ctx *c, const struct flow *f)
{
    if (c->wpath) {
        if (!c->wopen) {
            c->wopen = 1;
            if (out_target_open(&c->tgt, "flowsleuth print", c->wpath, c->wo) != 0)
                c->tgt.failed = 2; /* said already: close says nothing more */
        }
        if (out_target_add(&c->tgt, f) != 0)
            return 1;
    } else {
        output_flow(&c->out, f);
        /* A failed stdout (disk full, closed pipe) will not recover: stop reading. */
        if (ferror(c->out.fp))
            return 1;
    }
    return c->limit && emitted(c) >= c->limit;
}

static int on_record(void *vctx, const struct flow *in)
{
    struct print_ctx *c = vctx;
    struct flow anon;
    const struct flow *f = in;
    if (c->anon) {
        anon = *in;
        anon_flow(c->anon, &anon);
        f = &anon;
    }
    if (c->sort) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 4096;
            c->all = xrealloc(c->all, c->cap * sizeof(*c->all));
        }
        c->all[c->n++] = *f;
        return 0;
    }
    return emit(c, f);
}

static int on_flow(void *vctx, const struct flow *f)
{
    struct print_ctx *c = vctx;
    return c->bi ? biflow_add(c->bi, f, on_record, c) : on_record(c, f);
}

static void sort_and_emit(struct print_ctx *c)
{
    size_t *order = flow_sort(c->sort, c->all, c->n);
    for (size_t i = 0; i < c->n; i++)
        if (emit(c, &c->all[order[i]]))
            break;
    free(order);
}

static void list_fields(void)
{
    for (size_t i = 0; i < nfields; i++)
        printf("%-10s %s\n", fields[i].name, fields[i].help);
    size_t n;
    const struct field *c = output_computed(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-10s %s\n", c[i].name, c[i].help);
}

struct print_args {
    struct input_opts in;
    const char *format;
    const char *anon; /* --anon KEYFILE|KEY */
    struct store_wopts wo;
    int plain, dump, pair;
    struct eve_opt eve; /* --eve, --eve-slack */
};

/* The long options and -w/-z: 1 when handled, 0 when not one of them, -1 bad value,
 * 3 for --fields (listed: exit 0). */
static int parse_more(struct print_args *a, struct print_ctx *ctx, int c, const char *arg)
{
    switch (c) {
    case 'w':
        ctx->wpath = arg;
        return 1;
    case 'z':
        return out_target_codec("flowsleuth print", arg, &a->wo) ? -1 : 1;
    case 1:
        a->in.stats = 1;
        return 1;
    case 2:
        list_fields();
        return 3;
    case 3:
        a->dump = 1;
        return 1;
    case 4:
        a->anon = arg;
        return 1;
    case 5:
        if (arg_u32("print", "--bin", arg, 60, 86400, &a->wo.bin_secs) != 0)
            return -1;
        if (a->wo.bin_secs % 60 == 0)
            return 1;
        fprintf(stderr, "flowsleuth print: --bin needs whole minutes (a multiple of 60)\n");
        return -1;
    default:
        return eve_opt_parse(&a->eve, "print", c, arg);
    }
}

/* -o/-N print and -w writes: both given is a mistake, not a silent choice. */
static int check_print_args(const struct print_args *a, const struct print_ctx *ctx)
{
    if (ctx->wpath && (a->format || a->plain)) {
        fprintf(stderr, "flowsleuth print: -o and -N format printed rows; -w writes records "
                        "(print them with 'flowsleuth print -r PATH')\n");
        return 2;
    }
    if (!ctx->wpath && (a->wo.codec != STORE_LZ4 || a->wo.level || a->wo.bin_secs)) {
        fprintf(stderr, "flowsleuth print: -z and --bin are for -w\n");
        return 2;
    }
    /* The join needs the real addresses, and -w writes records, not alert columns. */
    if (a->eve.path && (ctx->wpath || a->anon)) {
        fprintf(stderr, "flowsleuth print: --eve adds columns to printed rows: not with %s\n",
                ctx->wpath ? "-w" : "--anon");
        return 2;
    }
    return -1;
}

/* Returns -1 to run, else the exit status (0 after --help/--fields, 2 on bad usage). */
static int parse_print_args(struct print_args *a, struct print_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "fields", no_argument, NULL, 2 },
                                              { "dump-filter", no_argument, NULL, 3 },
                                              { "anon", required_argument, NULL, 4 },
                                              { "bin", required_argument, NULL, 5 },
                                              EVE_OPT_LONGOPTS,
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "o:NO:c:bw:z:h", longopts, NULL)) != -1) {
        int used = input_opt(&a->in, c, optarg);
        if (used == 0)
            used = parse_more(a, ctx, c, optarg);
        if (used < 0)
            return 2;
        if (used == 3)
            return 0;
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
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return arg_usage_hint("print", usage_text);
        }
    }
    return check_print_args(a, ctx);
}

/* 1 when the folders a and b (real paths) are one, or one holds the other. */
static int nested(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
    if (strncmp(a, b, n) != 0)
        return 0;
    return la == lb || (la < lb ? b[n] == '/' : a[n] == '/') || n == 1;
}

/* -w STORE/ that is read as well (or holds an input, or lies in one) would give the
 * store every record twice: 2 after saying so, else 0. */
static int check_own_output(const char *wpath, const struct input_opts *in)
{
    char *w = wpath && out_target_is_folder(wpath) ? realpath(wpath, NULL) : NULL;
    int bad = 0;
    for (size_t i = 0; w && !bad && i < in->npaths; i++) {
        char *r = strcmp(in->paths[i], "-") ? realpath(in->paths[i], NULL) : NULL;
        bad = r && nested(w, r);
        free(r);
    }
    free(w);
    if (bad)
        fprintf(stderr,
                "flowsleuth print: -w %s is a store folder the input reads or holds: "
                "write to another folder\n",
                wpath);
    return bad ? 2 : 0;
}

/* --anon: the anonymiser, or 2 (bad key, said). */
static int open_anon(const char *arg, struct anon **out)
{
    uint8_t key[ANON_KEY_LEN];
    struct fs_err err = { 0 };
    *out = NULL;
    if (!arg)
        return 0;
    if (anon_key_load(arg, key, &err) == 0)
        *out = anon_new(key, &err);
    anon_key_wipe(key);
    if (!*out) {
        fprintf(stderr, "flowsleuth print: --anon: %s\n", err.msg);
        return 2;
    }
    return 0;
}

/* Read, pair, sort and give out every record; the exit status. */
static int run_print(struct print_ctx *ctx, struct input_opts *in, int pair)
{
    if (pair)
        ctx->bi = biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN);
    int status = input_read(in, "flowsleuth print", on_flow, ctx);
    int stopped = (ctx->limit && emitted(ctx) >= ctx->limit) || ctx->tgt.failed;
    if (ctx->bi && !stopped)
        biflow_flush(ctx->bi, on_record, ctx);
    biflow_free(ctx->bi);
    if (ctx->sort)
        sort_and_emit(ctx);
    struct fs_err err = { 0 };
    if (ctx->wpath) {
        /* No record but the inputs were read: an empty file, as nfdump -w writes. */
        if (!ctx->wopen && !in->open_failed &&
            out_target_open(&ctx->tgt, "flowsleuth print", ctx->wpath, ctx->wo) != 0)
            return 1;
        if (ctx->tgt.failed == 2)
            return 1;
        return out_target_close(&ctx->tgt) ? 1 : status;
    }
    /* Inputs that did not open print no header: stdout stays empty on failure. */
    if (!in->open_failed)
        output_finish(&ctx->out);
    if (output_check(&ctx->out, "stdout", &err) != 0) {
        fprintf(stderr, "flowsleuth print: %s\n", err.msg);
        status = 1;
    }
    return status;
}

int cmd_print(int argc, char **argv)
{
    struct print_args a = { .wo = { .codec = STORE_LZ4 } };
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
    if (!ctx.wpath &&
        output_init(&ctx.out, a.format ? a.format : "table", a.plain, stdout, &err) != 0) {
        fprintf(stderr, "flowsleuth print: %s\n", err.msg);
        input_free(&in);
        return 2;
    }
    int status = check_own_output(ctx.wpath, &in);
    if (status == 0)
        status = open_anon(a.anon, &ctx.anon);
    if (status == 0)
        status = eve_opt_open(&a.eve, "print", &in);
    eve_opt_attach(&a.eve, &ctx.out);
    ctx.wo = &a.wo;
    if (status == 0)
        status = run_print(&ctx, &in, a.pair);
    eve_opt_end(&a.eve, "print");
    anon_free(ctx.anon);
    free(ctx.all);
    input_free(&in);
    return status;
}
