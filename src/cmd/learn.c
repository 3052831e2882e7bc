/*
 * flowsleuth learn: train a model on labelled downloads and save it (src/detect/model.h
 * has the file format, learn.h the nearest model's calibration).
 */
#include "../core/atomic_file.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/eval.h"
#include "../detect/model.h"
#include "args.h"
#include "cmd.h"
#include "input.h"
#include "uniflow.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth learn"

static const char usage_text[] =
    "usage: flowsleuth learn -c CAT --labels FILE [-r PATH]... [-b] --model KIND -o MODEL\n"
    "                        [--basis B] [--slack MS] [--header-bytes H] [FILTER]\n"
    "\n"
    "Train a model on the labelled downloads of a lab or honeypot run and save it for\n"
    "flowsleuth match --model-file and flowsleuth eval --model-file.\n"
    "\n"
    "  -c CAT           the catalogue (the labels name its entries)\n"
    "  --labels FILE    the labels CSV (client,server,sport,start_ms,end_ms,entry_name)\n" INPUT_HELP
        UNI_PAIR_HELP
    "  --model KIND     tree: the article's CART on rbytes; tree-bp: on rbytes and\n"
    "                   rpackets; nearest: the calibration, per server the response\n"
    "                   overhead (base + share of the size: TLS records, retransmissions)\n"
    "                   and its tolerance\n"
    "  -o MODEL         write the model here (- = stdout)\n"
    "  --basis B        (nearest) what the model is learned on: auto (goodput where\n"
    "                   known), payload, or bytes (rbytes and rpackets, as NetFlow)\n"
    "  --slack MS       widen each label's time window by MS either side (1000)\n"
    "  --header-bytes H IP+TCP header bytes per packet for the payload estimate (52)\n"
    "  -h, --help       this help\n";

struct opts {
    struct input_opts in;
    const char *cat, *labels, *out;
    int kind, basis;
    int pair; /* -b */
    uint64_t slack, header_bytes;
};

static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                          { "stats", no_argument, NULL, 1 },
                                          { "labels", required_argument, NULL, 2 },
                                          { "model", required_argument, NULL, 3 },
                                          { "basis", required_argument, NULL, 4 },
                                          { "slack", required_argument, NULL, 5 },
                                          { "header-bytes", required_argument, NULL, 6 },
                                          INPUT_LONGOPTS,
                                          { NULL, 0, NULL, 0 } };

static int num(const char *s, uint64_t max, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9' || (*v = strtoull(s, &end, 10), *end) || *v > max) {
        fprintf(stderr, PROG ": bad number '%s'\n", s);
        return 2;
    }
    return 0;
}

/* One option that is not an input option; returns -1 to go on, else an exit status. */
static int one(struct opts *o, int c, const char *arg)
{
    static const char *const bases[] = { "auto", "payload", "bytes" };
    switch (c) {
    case 'c':
        o->cat = arg;
        return -1;
    case 'o':
        o->out = arg;
        return -1;
    case 1:
        o->in.stats = 1;
        return -1;
    case 'b':
        o->pair = 1;
        return -1;
    case 2:
        o->labels = arg;
        return -1;
    case 3:
        if ((o->kind = model_kind_parse(arg)) >= 0)
            return -1;
        fprintf(stderr, PROG ": unknown model '%s' (tree, tree-bp, nearest)\n", arg);
        return 2;
    case 4:
        for (o->basis = 0; o->basis < 3; o->basis++)
            if (strcmp(arg, bases[o->basis]) == 0)
                return -1;
        fprintf(stderr, PROG ": unknown basis '%s' (auto, payload, bytes)\n", arg);
        return 2;
    case 5:
        return num(arg, UINT32_MAX, &o->slack) ? 2 : -1;
    case 6:
        return num(arg, 200, &o->header_bytes) ? 2 : -1;
    default:
        if (c != 'h')
            return arg_usage_hint("learn", usage_text);
        fputs(usage_text, stdout);
        return 0;
    }
}

static int parse(int argc, char **argv, struct opts *o)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "bc:o:h", longopts, NULL)) != -1) {
        int used = input_opt(&o->in, c, optarg);
        if (used < 0)
            return 2;
        int st = used ? -1 : one(o, c, optarg);
        if (st >= 0)
            return st;
    }
    if (!o->cat || !o->labels || !o->out || o->kind < 0) {
        fprintf(stderr, PROG ": needs -c CAT, --labels FILE, --model KIND and -o MODEL\n");
        return 2;
    }
    if (input_filter_args(&o->in, argc - optind, argv + optind) || input_prepare(&o->in, PROG))
        return 2;
    return -1;
}

static int load(struct opts *o, struct catalog *cat, struct eval_labels *lab, struct flow_vec *fl)
{
    struct fs_err err = { 0 };
    char *buf;
    size_t len;
    int rc = catalog_load(cat, o->cat, &err);
    if (rc == 0 && (rc = catalog_read_file(o->labels, (size_t)1 << 30, &buf, &len, &err)) == 0) {
        rc = eval_labels_parse(lab, o->labels, buf, len, &err);
        free(buf);
    }
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    struct uni_feed u;
    uni_feed_init(&u, o->pair, UNI_AUTO, 10000, flow_vec_keep, fl);
    rc = uni_read(&o->in, PROG, &u);
    uni_feed_report(&u, PROG);
    uni_feed_free(&u);
    return rc;
}

static int save(const struct model *m, const char *path)
{
    if (strcmp(path, "-") == 0)
        return model_write(m, stdout) == 0 ? 0 : 1;
    /* Replaced whole (core/atomic_file.h): a crash leaves the old model. */
    struct atomic_file af;
    struct fs_err err = { 0 };
    int rc = atomic_file_open(&af, path, &err);
    if (rc == 0 && model_write(m, af.fp) != 0) {
        atomic_file_abort(&af);
        rc = fs_err_set(&err, -EIO, -1, "%s: write failed", path);
    } else if (rc == 0) {
        rc = atomic_file_commit(&af, &err);
    }
    if (rc)
        fprintf(stderr, PROG ": cannot write the model: %s\n", err.msg);
    return rc ? 1 : 0;
}

/* What was learned, on stderr (stdout may carry the model). */
static void describe(const struct model *m)
{
    if (m->kind != MODEL_NEAREST) {
        fprintf(stderr, PROG ": %s: %zu classes, %zu nodes, %zu leaves\n", model_kind_name(m->kind),
                m->ncls, m->tree.n, eval_tree_leaves(&m->tree));
        return;
    }
    for (size_t i = 0; i < m->near.n; i++) {
        const struct learn_server *s = &m->near.s[i];
        char a[FMT_ADDR_MAX];
        fmt_addr(a, s->server, s->ipver);
        fprintf(stderr,
                PROG ": server %s: %u downloads%s, header %lld B, overhead share %.1f..%.1f "
                     "ppm of the size",
                a, s->n, s->tls ? " (TLS)" : "", (long long)s->base, s->ppm[0], s->ppm[1]);
        if (s->resid.seg == MATCH_RES_EXACT)
            fprintf(stderr, ", no retransmissions: overhead %u B exactly", s->resid.r[0]);
        else if (s->resid.seg)
            fprintf(stderr, ", retransmissions in %u-byte segments, overhead residues",
                    s->resid.seg);
        for (int j = 0; s->resid.seg && s->resid.seg != MATCH_RES_EXACT && j < s->resid.n; j++)
            fprintf(stderr, "%c%u", j ? ',' : ' ', s->resid.r[j]);
        if (s->rec.r)
            fprintf(stderr, ", TLS records of %u bytes each beyond %lld..%lld B", s->rec.r,
                    (long long)s->rec.lo, (long long)s->rec.hi);
        if (s->rec.step)
            fprintf(stderr, " in steps of %u (records sent beyond the size's)", s->rec.step);
        fputc('\n', stderr);
    }
}

int cmd_learn(int argc, char **argv)
{
    struct opts o = { .kind = -1, .slack = 1000, .header_bytes = 52 };
    int st = parse(argc, argv, &o);
    if (st >= 0) {
        input_free(&o.in);
        return st;
    }
    struct catalog cat;
    struct eval_labels lab = { 0 };
    struct flow_vec fl = { 0 };
    struct model m = { 0 };
    struct learn_counts cnt;
    catalog_init(&cat);
    st = load(&o, &cat, &lab, &fl);
    if (!st) {
        model_basis(fl.v, fl.n, o.basis);
        if (model_train(&m, (enum model_kind)o.kind, &cat, &lab, NULL, fl.v, fl.n, o.slack,
                        (uint32_t)o.header_bytes, &cnt) != 0) {
            fprintf(stderr, PROG ": no labelled catalogue download found in the flows\n");
            st = 1;
        }
    }
    if (!st) {
        fprintf(stderr,
                PROG ": %zu labels: %zu trained on, %zu not in the catalogue ('-'), %zu "
                     "unknown names, %zu without a flow (%zu name a host that is in no flow)\n",
                cnt.labels, cnt.used, cnt.foreign, cnt.unknown, cnt.noflow, cnt.nohost);
        describe(&m);
        st = save(&m, o.out);
    }
    model_free(&m);
    free(fl.v);
    eval_labels_free(&lab);
    catalog_free(&cat);
    input_free(&o.in);
    return st;
}
