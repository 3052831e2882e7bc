/*
 * flowsleuth match: identify downloads by matching each flow's (or exchange's)
 * server-to-client payload against a catalogue (src/detect/match.h has the model).
 */
#include "../detect/match.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/rows.h"
#include "cmd.h"
#include "input.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth match"

static const char usage_text[] =
    "usage: flowsleuth match -c CAT [-r PATH]... [-t FROM..TO] [-o FORMAT] [--all]\n"
    "                        [model options] [FILTER]\n"
    "\n"
    "Identify downloads: the server-to-client payload of each flow or exchange (meter\n"
    "--split) against the sizes of a catalogue. One fitting entry: match; several:\n"
    "ambiguous (each candidate a row); none: rejected (not printed without --all).\n"
    "Pipelined exchanges are matched as sets of 2..4 entries: a match when the\n"
    "connection was calibrated by a unique single on it, else only 'possible'.\n"
    "\n"
    "  -c CAT           the catalogue (flowsleuth catalog debian|import)\n" INPUT_HELP
    "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --all            print rejected flows too\n" MATCH_HELP "  -h, --help       this help\n";

static const char *const cols[] = { "time",  "client",  "server", "port",    "exchange", "payload",
                                    "basis", "verdict", "cand",   "set",     "name",     "version",
                                    "arch",  "os",      "size",   "residual" };
static const unsigned char numeric[] = { 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1 };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static const char *const verdicts[] = { "rejected", "match", "ambiguous", "possible" };
static const char *const bases[] = { "goodput", "payload", "estimate" };

struct mctx {
    const struct catalog *cat;
    struct rows rows;
    int all;
    size_t nflows, nmatch, nambig, nreject, nposs;
};

/* One row: the flow's columns, then entry part (or empty columns when e is NULL). */
static void add(struct mctx *m, const struct flow *f, const struct match_result *r, int cand,
                int part, const struct cat_entry *e, int64_t residual)
{
    char t[FMT_TIME_MAX], cl[FMT_ADDR_MAX], sv[FMT_ADDR_MAX], port[8], ex[12], pay[24];
    char cn[12], set[32], size[24], res[24];
    fmt_time_ms(t, f->first);
    fmt_addr(cl, f->src, f->ipver);
    fmt_addr(sv, f->dst, f->ipver);
    snprintf(port, sizeof(port), "%u", f->dport);
    snprintf(ex, sizeof(ex), "%u", f->exchange);
    snprintf(pay, sizeof(pay), "%llu", (unsigned long long)r->payload);
    snprintf(cn, sizeof(cn), "%d", cand);
    snprintf(set, sizeof(set), "%d/%d", part + 1, e ? r->c[cand - 1].k : 0);
    snprintf(size, sizeof(size), "%llu", e ? (unsigned long long)e->size : 0ULL);
    snprintf(res, sizeof(res), "%lld", (long long)residual);
    const char *cells[NCOLS] = { t,
                                 cl,
                                 sv,
                                 port,
                                 ex,
                                 pay,
                                 bases[r->basis],
                                 verdicts[r->verdict],
                                 e ? cn : "",
                                 e ? set : "",
                                 e ? e->name : "",
                                 e ? e->version : "",
                                 e ? e->arch : "",
                                 e ? e->os : "",
                                 e ? size : "",
                                 e ? res : "" };
    rows_add(&m->rows, cells);
}

static int on_result(void *vctx, const struct flow *f, const struct match_result *r)
{
    struct mctx *m = vctx;
    m->nflows++;
    m->nmatch += r->verdict == MV_MATCH;
    m->nambig += r->verdict == MV_AMBIGUOUS;
    m->nreject += r->verdict == MV_REJECT;
    m->nposs += r->verdict == MV_POSSIBLE;
    if (r->verdict == MV_REJECT && !m->all)
        return 0;
    if (r->ncands == 0)
        add(m, f, r, 0, 0, NULL, 0);
    for (int i = 0; i < r->ncands; i++)
        for (int p = 0; p < r->c[i].k; p++)
            add(m, f, r, i + 1, p, &m->cat->e[r->c[i].idx[p]], r->c[i].residual);
    return 0;
}

/* Options: -c, -o, --all, input and model options. Returns 0 to go on, -1 after
 * --help, or an exit status. */
static int parse(int argc, char **argv, struct input_opts *in, struct match_opts *mo,
                 const char **cat, int *mode, int *all)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "all", no_argument, NULL, 2 },
                                              MATCH_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "c:o:h", longopts, NULL)) != -1) {
        int used = input_opt(in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        struct fs_err err = { 0 };
        int mr = match_option(mo, c, optarg, &err);
        if (mr < 0) {
            fprintf(stderr, PROG ": --%s: %s\n", longopts[3 + (c - 0x100)].name, err.msg);
            return 2;
        }
        if (mr == 0)
            continue;
        if (c == 'c') {
            *cat = optarg;
        } else if (c == 'o' && (*mode = rows_mode_parse(optarg)) >= 0) {
            continue;
        } else if (c == 1) {
            in->stats = 1;
        } else if (c == 2) {
            *all = 1;
        } else {
            if (c == 'o')
                fprintf(stderr, PROG ": unknown format '%s'\n", optarg);
            fputs(usage_text, c == 'h' ? stdout : stderr);
            return c == 'h' ? -1 : 2;
        }
    }
    if (!*cat) {
        fprintf(stderr, PROG ": needs -c CAT\n");
        return 2;
    }
    if (input_filter_args(in, argc - optind, argv + optind) || input_prepare(in, PROG))
        return 2;
    return 0;
}

/* Load the catalogue and read the flows worth matching. Returns an exit status. */
static int load(struct input_opts *in, const char *path, struct catalog *cat, struct match_batch *b)
{
    struct fs_err err = { 0 };
    catalog_init(cat);
    if (catalog_load(cat, path, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    return input_read(in, PROG, match_batch_add, b);
}

int cmd_match(int argc, char **argv)
{
    struct input_opts in = { 0 };
    struct match_opts mo;
    match_opts_default(&mo);
    const char *catpath = NULL;
    int mode = ROWS_TABLE, all = 0;
    int st = parse(argc, argv, &in, &mo, &catpath, &mode, &all);
    if (st) {
        input_free(&in);
        return st < 0 ? 0 : st;
    }
    struct catalog cat;
    struct match_batch b = { &mo, NULL, 0, 0 };
    st = load(&in, catpath, &cat, &b);
    struct mctx m = { .cat = &cat, .all = all };
    rows_init(&m.rows, cols, numeric, NCOLS);
    if (cat.n || b.n)
        match_run(&cat, &mo, b.v, b.n, on_result, &m);
    rows_print(&m.rows, (enum rows_mode)mode, stdout);
    fprintf(stderr,
            PROG ": %zu flows considered: %zu match, %zu ambiguous, %zu possible, %zu rejected\n",
            m.nflows, m.nmatch, m.nambig, m.nposs, m.nreject);
    rows_free(&m.rows);
    free(b.v);
    catalog_free(&cat);
    input_free(&in);
    return ferror(stdout) ? 1 : st;
}
