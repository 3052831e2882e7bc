/*
 * flowsleuth match: identify downloads by matching each flow's (or exchange's)
 * server-to-client payload against a catalogue (src/detect/match.h has the model).
 */
#include "../detect/match.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../query/rows.h"
#include "cmd.h"
#include "detect_args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth match"

static const char usage_text[] =
    "usage: flowsleuth match -c CAT [-r PATH]... [-t FROM..TO] [-b] [-o FORMAT] [--all]\n"
    "                        [--basis B] [model options] [FILTER]\n"
    "\n"
    "Identify downloads: the server-to-client payload of each flow or exchange (meter\n"
    "--split) against the sizes of a catalogue. One entry fits alone (no set fits, the\n"
    "catalogue sparse enough there) on a server its other downloads calibrated: match;\n"
    "alone but not vouched for: possible; several: ambiguous (each candidate a row);\n"
    "none: rejected (not printed without --all). Pipelined exchanges are matched as\n"
    "sets of 2..4 entries (--max-set, up to 10): a match when the server and the\n"
    "client's requests are calibrated (both sums fit), else 'possible'.\n"
    "\n"
    "  -c CAT           the catalogue (flowsleuth catalog debian|import)\n" INPUT_HELP
    "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --all            print rejected flows too\n" UNI_PAIR_HELP UNI_BASIS_HELP
    "  --model-file MODEL  a model saved by flowsleuth learn: nearest narrows each known\n"
    "                   server's overhead to what was learned there; tree and tree-bp\n"
    "                   give every flow the class the article's tree decides (no reject)\n" MATCH_HELP
        MATCH_RANGES_HELP DETECT_MEM_HELP "  -h, --help       this help\n";

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
    size_t ngroups, npieces; /* range groups matched as one download, and their flows */
};

/* Decimal v into buf (at least 21 bytes); snprintf's format parsing was a tenth of a
 * whole match -o csv printing 1.8 M candidate rows. Returns buf. */
static char *dec(char *buf, uint64_t v)
{
    char t[24];
    size_t n = 0, i = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n > 0)
        buf[i++] = t[--n];
    buf[i] = '\0';
    return buf;
}

/* dec for a signed value (buf at least 22 bytes). */
static char *sdec(char *buf, int64_t v)
{
    if (v >= 0)
        return dec(buf, (uint64_t)v);
    buf[0] = '-';
    dec(buf + 1, (uint64_t)0 - (uint64_t)v);
    return buf;
}

/* The flow's columns of a result's rows, formatted once for all its candidate rows
 * (an ambiguous flow prints up to 8 sets of up to 10 entries). */
struct flow_cells {
    char t[FMT_TIME_MAX], cl[FMT_ADDR_MAX], sv[FMT_ADDR_MAX], port[24], ex[24], pay[24];
};

static void flow_cells(struct flow_cells *fc, const struct flow *f, const struct match_result *r)
{
    fmt_time_ms(fc->t, f->first);
    fmt_addr(fc->cl, f->src, f->ipver);
    fmt_addr(fc->sv, f->dst, f->ipver);
    dec(fc->port, f->dport);
    dec(fc->ex, f->exchange);
    dec(fc->pay, r->payload);
}

/* One row: the flow's columns, then entry part (or empty columns when e is NULL). */
static void add(struct mctx *m, const struct flow_cells *fc, const struct match_result *r, int cand,
                int part, const struct cat_entry *e, int64_t residual)
{
    char cn[24], set[48], size[24], res[24];
    dec(cn, (uint64_t)cand);
    dec(set, (uint64_t)part + 1);
    size_t sl = strlen(set);
    set[sl] = '/';
    dec(set + sl + 1, e ? r->c[cand - 1].k : 0);
    dec(size, e ? e->size : 0);
    sdec(res, residual);
    const char *cells[NCOLS] = { fc->t,
                                 fc->cl,
                                 fc->sv,
                                 fc->port,
                                 fc->ex,
                                 fc->pay,
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
    if (r->pieces > 1) {
        m->ngroups++;
        m->npieces += (size_t)r->pieces;
    }
    if (r->verdict == MV_REJECT && !m->all)
        return 0;
    struct flow_cells fc;
    flow_cells(&fc, f, r);
    if (r->ncands == 0)
        add(m, &fc, r, 0, 0, NULL, 0);
    for (int i = 0; i < r->ncands; i++)
        for (int p = 0; p < r->c[i].k; p++)
            add(m, &fc, r, i + 1, p, &m->cat->e[r->c[i].idx[p]], r->c[i].residual);
    return 0;
}

/* First entry named name (the tree's classes are the training labels' names). */
static size_t entry_named(const struct catalog *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0)
            return i;
    return c->n;
}

/* A saved tree: every considered flow is matched to the class the tree decides. */
static void run_tree(const struct detect_args *a, struct mctx *m)
{
    for (size_t i = 0; i < a->batch.n; i++) {
        const struct flow *f = &a->batch.v[i];
        struct match_result r;
        memset(&r, 0, sizeof(r));
        r.payload = match_payload(f, a->mo.header_bytes, &r.basis);
        if (r.payload <= a->mo.min_size)
            continue; /* kept only as a possible range piece */
        size_t e = entry_named(&a->cat, model_tree_class(&a->model, f));
        if (e < a->cat.n) {
            r.verdict = MV_MATCH;
            r.ncands = 1;
            r.c[0].k = 1;
            r.c[0].idx[0] = (uint32_t)e;
            r.c[0].residual = (int64_t)r.payload - (int64_t)a->cat.e[e].size;
        }
        if (on_result(m, f, &r))
            break;
    }
}

int cmd_match(int argc, char **argv)
{
    struct detect_args a;
    int st = detect_args_parse(&a, PROG, usage_text, 1, argc, argv);
    if (st >= 0) {
        detect_args_free(&a);
        return st;
    }
    st = detect_args_load(&a, PROG);
    if (!a.loaded) { /* printed; no empty table after a bad catalogue or model */
        detect_args_free(&a);
        return st;
    }
    struct mctx m = { .cat = &a.cat, .all = a.all };
    rows_init(&m.rows, cols, numeric, NCOLS);
    rows_stream(&m.rows, (enum rows_mode)a.mode, stdout); /* 1 M candidate rows: no copies */
    if (a.model_file && a.model.kind != MODEL_NEAREST)
        run_tree(&a, &m);
    else if (a.cat.n || a.batch.n || a.batch.pklen)
        match_run_batch(&a.cat, &a.batch, on_result, &m);
    rows_print(&m.rows, (enum rows_mode)a.mode, stdout);
    fprintf(stderr,
            PROG ": %zu flows considered: %zu match, %zu ambiguous, %zu possible, %zu rejected\n",
            m.nflows, m.nmatch, m.nambig, m.nposs, m.nreject);
    detect_args_report(&a, PROG);
    if (m.ngroups)
        fprintf(stderr,
                PROG ": of them %zu range groups (%zu flows matched as one download each)\n",
                m.ngroups, m.npieces);
    rows_free(&m.rows);
    detect_args_free(&a);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
        return 1;
    }
    return st;
}
