/*
 * flowsleuth eval: measure download identification against labelled runs (the lab's
 * labels CSV): closed-set accuracy, open-set precision/recall and wrong matches of
 * files outside the catalogue, with the nearest model or the article's decision tree.
 */
#include "../detect/eval.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/match.h"
#include "../detect/rows.h"
#include "cmd.h"
#include "input.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth eval"

static const char usage_text[] =
    "usage: flowsleuth eval -c CAT --labels FILE [-r PATH]... [--model M] [--basis B]\n"
    "                       [--train FLOWS --train-labels FILE] [-o table|json] [FILTER]\n"
    "\n"
    "Measure identification against labelled downloads (lab/run.sh writes the labels:\n"
    "client,server,sport,start_ms,end_ms,entry_name; entry_name '-' = a file not in the\n"
    "catalogue, which must be rejected). Each label is joined to the flow (or exchange)\n"
    "of that client and server overlapping its time window (and its port when given).\n"
    "\n"
    "  -c CAT           the catalogue\n"
    "  --labels FILE    the test downloads (labels CSV)\n" INPUT_HELP
    "  --model M        nearest (default: flowsleuth match's model, with reject);\n"
    "                   article: CART decision tree on rbytes as in the article;\n"
    "                   article-bp: the tree on rbytes and rpackets\n"
    "  --basis B        what nearest sees: auto (goodput where known), payload, or bytes\n"
    "                   (rbytes and rpackets only, as from a NetFlow exporter)\n"
    "  --train FLOWS    flows of the training run (tree models)\n"
    "  --train-labels FILE  labels of the training run (tree models)\n"
    "  --slack MS       widen each label's time window by MS either side (1000)\n"
    "  --top N          confusions listed (10)\n"
    "  -o FORMAT        table (default) or json (one object)\n" MATCH_HELP
    "  -h, --help       this help\n";

enum model { M_NEAREST, M_ARTICLE, M_ARTICLE_BP };
enum basis { B_AUTO, B_PAYLOAD, B_BYTES };

struct opts {
    struct input_opts in;
    struct match_opts mo;
    const char *cat, *labels, *train, *train_labels;
    enum model model;
    enum basis basis;
    uint64_t slack;
    size_t top;
    int json;
};

/* All flows of the inputs. */
struct flows {
    struct flow *v;
    size_t n, cap;
};

static int keep(void *vctx, const struct flow *f)
{
    struct flows *fl = vctx;
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? fl->cap * 2 : 1024;
        fl->v = xrealloc(fl->v, fl->cap * sizeof(*fl->v));
    }
    fl->v[fl->n++] = *f;
    return 0;
}

static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Our own options (0x200..); returns 0 handled, 1 not ours, 2 bad value. */
static int own_option(struct opts *o, int c, const char *arg)
{
    static const char *const models[] = { "nearest", "article", "article-bp" };
    static const char *const bases[] = { "auto", "payload", "bytes" };
    char *end;
    int v;
    switch (c) {
    case 0x200:
        o->labels = arg;
        return 0;
    case 0x201:
        if ((v = pick(arg, models, 3)) < 0)
            break;
        o->model = (enum model)v;
        return 0;
    case 0x202:
        if ((v = pick(arg, bases, 3)) < 0)
            break;
        o->basis = (enum basis)v;
        return 0;
    case 0x203:
        o->train = arg;
        return 0;
    case 0x204:
        o->train_labels = arg;
        return 0;
    case 0x205:
        o->slack = strtoull(arg, &end, 10);
        return *end || *arg < '0' || *arg > '9' ? (fprintf(stderr, PROG ": bad --slack\n"), 2) : 0;
    case 0x206:
        o->top = strtoull(arg, &end, 10);
        return *end || *arg < '0' || *arg > '9' ? (fprintf(stderr, PROG ": bad --top\n"), 2) : 0;
    case 'c':
        o->cat = arg;
        return 0;
    default:
        return 1;
    }
    fprintf(stderr, PROG ": unknown value '%s'\n", arg);
    return 2;
}

static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                          { "stats", no_argument, NULL, 1 },
                                          { "labels", required_argument, NULL, 0x200 },
                                          { "model", required_argument, NULL, 0x201 },
                                          { "basis", required_argument, NULL, 0x202 },
                                          { "train", required_argument, NULL, 0x203 },
                                          { "train-labels", required_argument, NULL, 0x204 },
                                          { "slack", required_argument, NULL, 0x205 },
                                          { "top", required_argument, NULL, 0x206 },
                                          MATCH_LONGOPTS,
                                          { NULL, 0, NULL, 0 } };

/* Options and their checks. Returns 0 to go on, -1 after --help, or an exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "c:o:h", longopts, NULL)) != -1) {
        int used = input_opt(&o->in, c, optarg);
        if (used < 0)
            return 2;
        struct fs_err err = { 0 };
        int mr = used ? 0 : match_option(&o->mo, c, optarg, &err);
        if (mr < 0) {
            fprintf(stderr, PROG ": --%s: %s\n", longopts[9 + (c - 0x100)].name, err.msg);
            return 2;
        }
        int own = used || mr == 0 ? 0 : own_option(o, c, optarg);
        if (own == 2)
            return 2;
        if (used || mr == 0 || own == 0)
            continue;
        if (c == 'o' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0)) {
            o->json = optarg[0] == 'j';
        } else if (c == 1) {
            o->in.stats = 1;
        } else {
            if (c == 'o')
                fprintf(stderr, PROG ": unknown format '%s' (table or json)\n", optarg);
            fputs(usage_text, c == 'h' ? stdout : stderr);
            return c == 'h' ? -1 : 2;
        }
    }
    if (!o->cat || !o->labels) {
        fprintf(stderr, PROG ": needs -c CAT and --labels FILE\n");
        return 2;
    }
    if (o->model != M_NEAREST && (!o->train || !o->train_labels)) {
        fprintf(stderr, PROG ": the tree models need --train FLOWS and --train-labels FILE\n");
        return 2;
    }
    if (input_filter_args(&o->in, argc - optind, argv + optind) || input_prepare(&o->in, PROG))
        return 2;
    return 0;
}

static int load_labels(const char *path, struct eval_labels *l)
{
    struct fs_err err = { 0 };
    char *buf;
    size_t len;
    int rc = catalog_read_file(path, (size_t)1 << 30, &buf, &len, &err);
    if (rc == 0) {
        rc = eval_labels_parse(l, path, buf, len, &err);
        free(buf);
    }
    if (rc)
        fprintf(stderr, PROG ": %s\n", err.msg[0] ? err.msg : path);
    return rc ? 1 : 0;
}

static int read_flows(const char *path, struct flows *fl)
{
    struct input_opts in = { 0 };
    in.paths[0] = path;
    in.npaths = 1;
    return input_read(&in, PROG, keep, fl);
}

/* ---- nearest ---- */

struct nctx {
    const struct flow *base;
    struct match_result *res;
    unsigned char *seen;
};

static int on_result(void *vctx, const struct flow *f, const struct match_result *r)
{
    struct nctx *n = vctx;
    size_t i = (size_t)(f - n->base);
    n->res[i] = *r;
    n->seen[i] = 1;
    return 0;
}

/* Outcome of one label from the model's result for its flow. */
static enum eval_outcome outcome(const struct catalog *cat, const struct eval_label *l,
                                 const struct match_result *r, const char **got)
{
    *got = NULL;
    if (r->verdict == MV_REJECT)
        return EO_REJECT;
    if (r->verdict == MV_AMBIGUOUS)
        return EO_AMBIG;
    if (r->verdict == MV_POSSIBLE)
        return EO_POSSIBLE;
    *got = cat->e[r->c[0].idx[0]].name;
    for (int p = 0; p < r->c[0].k && !eval_label_foreign(l); p++)
        if (strcmp(cat->e[r->c[0].idx[p]].name, l->name) == 0)
            return EO_RIGHT;
    return EO_WRONG;
}

static void run_nearest(const struct opts *o, const struct catalog *cat, struct flows *fl,
                        const struct eval_labels *lab, struct eval_score *s)
{
    for (size_t i = 0; i < fl->n; i++) {
        if (o->basis != B_AUTO)
            fl->v[i].rgoodput = 0;
        if (o->basis == B_BYTES)
            fl->v[i].rpayload = 0;
    }
    struct nctx n = { fl->v, xcalloc(fl->n ? fl->n : 1, sizeof(struct match_result)),
                      xcalloc(fl->n ? fl->n : 1, 1) };
    match_run(cat, &o->mo, fl->v, fl->n, on_result, &n);
    for (size_t j = 0; j < lab->n; j++) {
        const struct eval_label *l = &lab->v[j];
        size_t i = eval_find(l, fl->v, fl->n, o->slack);
        const char *got = NULL;
        enum eval_outcome oc = EO_NOFLOW;
        if (i < fl->n)
            oc = n.seen[i] ? outcome(cat, l, &n.res[i], &got) : EO_REJECT;
        eval_score_add(s, l->name, oc, got);
    }
    free(n.res);
    free(n.seen);
}

/* ---- the article's tree ---- */

struct classes {
    char **name;
    size_t n, cap;
};

static uint32_t class_of(struct classes *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->name[i], name) == 0)
            return (uint32_t)i;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->name = xrealloc(c->name, c->cap * sizeof(*c->name));
    }
    c->name[c->n] = xstrdup(name);
    return (uint32_t)c->n++;
}

static void features(const struct flow *f, int nfeat, double *x)
{
    x[0] = (double)f->rbytes;
    if (nfeat > 1)
        x[1] = (double)f->rpackets;
}

/* Train on the catalogue downloads of the training run. Returns an exit status. */
static int train_tree(const struct opts *o, int nfeat, struct eval_tree *t, struct classes *cl)
{
    struct flows fl = { 0 };
    struct eval_labels lab = { 0 };
    int st = read_flows(o->train, &fl);
    if (!st)
        st = load_labels(o->train_labels, &lab);
    double *x = xmalloc((lab.n ? lab.n : 1) * EVAL_MAX_FEAT * sizeof(double));
    uint32_t *y = xmalloc((lab.n ? lab.n : 1) * sizeof(uint32_t));
    size_t n = 0;
    for (size_t j = 0; !st && j < lab.n; j++) {
        size_t i = eval_find(&lab.v[j], fl.v, fl.n, o->slack);
        if (i == fl.n || eval_label_foreign(&lab.v[j]))
            continue;
        features(&fl.v[i], nfeat, &x[n * (size_t)nfeat]);
        y[n++] = class_of(cl, lab.v[j].name);
    }
    if (!st && eval_tree_train(t, nfeat, x, y, n, (uint32_t)cl->n) != 0) {
        fprintf(stderr, PROG ": no training download found in %s\n", o->train);
        st = 1;
    }
    free(x);
    free(y);
    free(fl.v);
    eval_labels_free(&lab);
    return st;
}

static int run_tree(const struct opts *o, const struct flows *fl, const struct eval_labels *lab,
                    struct eval_score *s, size_t *leaves)
{
    int nfeat = o->model == M_ARTICLE_BP ? 2 : 1;
    struct eval_tree t = { 0 };
    struct classes cl = { 0 };
    int st = train_tree(o, nfeat, &t, &cl);
    for (size_t j = 0; !st && j < lab->n; j++) {
        const struct eval_label *l = &lab->v[j];
        size_t i = eval_find(l, fl->v, fl->n, o->slack);
        if (i == fl->n) {
            eval_score_add(s, l->name, EO_NOFLOW, NULL);
            continue;
        }
        double x[EVAL_MAX_FEAT];
        features(&fl->v[i], nfeat, x);
        const char *got = cl.name[eval_tree_predict(&t, x)];
        int right = !eval_label_foreign(l) && strcmp(got, l->name) == 0;
        eval_score_add(s, l->name, right ? EO_RIGHT : EO_WRONG, got);
    }
    *leaves = eval_tree_leaves(&t);
    eval_tree_free(&t);
    for (size_t i = 0; i < cl.n; i++)
        free(cl.name[i]);
    free(cl.name);
    return st;
}

/* ---- output ---- */

static const char *model_name(const struct opts *o)
{
    static const char *const m[] = { "nearest", "article", "article-bp" };
    return m[o->model];
}

static const char *basis_name(const struct opts *o)
{
    static const char *const b[] = { "auto", "payload", "bytes" };
    return o->model == M_NEAREST   ? b[o->basis]
           : o->model == M_ARTICLE ? "rbytes"
                                   : "rbytes,rpackets";
}

/* A JSON string (names are the catalogue's: escape quotes, backslashes, controls). */
static void json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

static void print_json(const struct opts *o, const struct eval_score *s, size_t leaves)
{
    struct eval_summary m;
    eval_summarize(s, &m);
    printf("{\"model\":\"%s\",\"basis\":\"%s\",\"leaves\":%zu,\"labels\":%zu,\"known\":%zu,"
           "\"foreign\":%zu,\"accuracy\":%.6f,\"precision\":%.6f,\"recall\":%.6f,"
           "\"foreign_wrong\":%zu,\"foreign_wrong_rate\":%.6f,\"foreign_rejected\":%.6f",
           model_name(o), basis_name(o), leaves, m.known + m.foreign, m.known, m.foreign,
           m.accuracy, m.precision, m.recall, s->foreign[EO_WRONG], m.foreign_wrong,
           m.foreign_rejected);
    for (int k = 0; k < 2; k++) {
        printf(",\"%s\":{", k ? "foreign_outcomes" : "known_outcomes");
        for (int i = 0; i < EO_N; i++)
            printf("%s\"%s\":%zu", i ? "," : "", eval_outcome_names[i],
                   (k ? s->foreign : s->known)[i]);
        printf("}");
    }
    for (int k = 0; k < 2; k++) {
        printf(",\"%s\":[", k ? "foreign_confusions" : "confusions");
        size_t shown = 0;
        for (size_t i = 0; i < s->nconf && shown < o->top; i++) {
            if (strcmp(s->conf[i].truth, "-") == 0 ? !k : k)
                continue;
            printf("%s{\"truth\":", shown++ ? "," : "");
            json_str(stdout, s->conf[i].truth);
            printf(",\"got\":");
            json_str(stdout, s->conf[i].got);
            printf(",\"n\":%zu}", s->conf[i].n);
        }
        printf("]");
    }
    printf("}\n");
}

static void line(struct rows *r, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void line(struct rows *r, const char *k, const char *fmt, ...)
{
    char v[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    const char *cells[2] = { k, v };
    rows_add(r, cells);
}

static void print_table(const struct opts *o, const struct eval_score *s, size_t leaves)
{
    static const char *const cols[] = { "metric", "value" };
    static const unsigned char num[] = { 0, 0 };
    struct eval_summary m;
    struct rows r;
    eval_summarize(s, &m);
    rows_init(&r, cols, num, 2);
    line(&r, "model", "%s on %s", model_name(o), basis_name(o));
    if (o->model != M_NEAREST)
        line(&r, "tree leaves", "%zu", leaves);
    line(&r, "labels", "%zu catalogue + %zu not in the catalogue", m.known, m.foreign);
    line(&r, "closed-set accuracy", "%.2f%% (%zu of %zu)", 100 * m.accuracy, s->known[EO_RIGHT],
         m.known);
    line(&r, "open-set precision", "%.2f%%", 100 * m.precision);
    line(&r, "open-set recall", "%.2f%%", 100 * m.recall);
    line(&r, "foreign wrongly matched", "%.2f%% (%zu of %zu)", 100 * m.foreign_wrong,
         s->foreign[EO_WRONG], m.foreign);
    for (int k = 0; k < 2; k++) {
        const size_t *c = k ? s->foreign : s->known;
        line(&r, k ? "foreign outcomes" : "catalogue outcomes",
             "right %zu, wrong %zu, ambiguous %zu, possible %zu, rejected %zu, no flow %zu",
             c[EO_RIGHT], c[EO_WRONG], c[EO_AMBIG], c[EO_POSSIBLE], c[EO_REJECT], c[EO_NOFLOW]);
    }
    for (int k = 0; k < 2; k++) {
        size_t shown = 0;
        for (size_t i = 0; i < s->nconf && shown < o->top; i++) {
            if (strcmp(s->conf[i].truth, "-") == 0 ? !k : k)
                continue;
            line(&r,
                 shown++ ? ""
                 : k     ? "foreign matched to"
                         : "top confusions",
                 "%s -> %s: %zu", s->conf[i].truth, s->conf[i].got, s->conf[i].n);
        }
    }
    rows_print(&r, ROWS_TABLE, stdout);
    rows_free(&r);
}

/* flowsleuth eval: load, join labels to flows, score with the chosen model, print. */
int cmd_eval(int argc, char **argv)
{
    struct opts o = { .slack = 1000, .top = 10 };
    match_opts_default(&o.mo);
    int st = parse(argc, argv, &o);
    if (st) {
        input_free(&o.in);
        return st < 0 ? 0 : st;
    }
    struct catalog cat;
    struct flows fl = { 0 };
    struct eval_labels lab = { 0 };
    struct eval_score s = { 0 };
    struct fs_err err = { 0 };
    size_t leaves = 0;
    catalog_init(&cat);
    if (catalog_load(&cat, o.cat, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        st = 1;
    }
    if (!st)
        st = load_labels(o.labels, &lab);
    if (!st)
        st = input_read(&o.in, PROG, keep, &fl);
    if (!st && o.model == M_NEAREST)
        run_nearest(&o, &cat, &fl, &lab, &s);
    else if (!st)
        st = run_tree(&o, &fl, &lab, &s, &leaves);
    if (!st) {
        eval_score_sort(&s);
        if (o.json)
            print_json(&o, &s, leaves);
        else
            print_table(&o, &s, leaves);
    }
    eval_score_free(&s);
    eval_labels_free(&lab);
    free(fl.v);
    catalog_free(&cat);
    input_free(&o.in);
    return st ? st : ferror(stdout) ? 1 : 0;
}
