/*
 * flowsleuth eval: measure download identification against labelled runs (the lab's
 * labels CSV): closed-set accuracy, open-set precision/recall and wrong matches of
 * files outside the catalogue, with the nearest model or the article's decision tree.
 */
#include "../detect/eval.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/learn.h"
#include "../detect/match.h"
#include "../detect/model.h"
#include "../query/rows.h"
#include "args.h"
#include "cmd.h"
#include "input.h"
#include "uniflow.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth eval"

static const char usage_text[] =
    "usage: flowsleuth eval -c CAT --labels FILE [-r PATH]... [-b] [--model M] [--basis B]\n"
    "                       [--train FLOWS --train-labels FILE | --folds K [--seed S] |\n"
    "                        --model-file MODEL] [-o FORMAT] [FILTER]\n"
    "\n"
    "Measure identification against labelled downloads (lab/run.sh writes the labels:\n"
    "client,server,sport,start_ms,end_ms,entry_name; entry_name '-' = a file not in the\n"
    "catalogue, which must be rejected). Each label is joined to the flow (or exchange)\n"
    "of that client and server overlapping its time window (and its port when given).\n"
    "\n"
    "  -c CAT           the catalogue\n"
    "  --labels FILE    the test downloads (labels CSV)\n" INPUT_HELP UNI_PAIR_HELP
    "  --model M        nearest (default: flowsleuth match's model, with reject);\n"
    "                   article: CART decision tree on rbytes as in the article;\n"
    "                   article-bp: the tree on rbytes and rpackets\n"
    "  --basis B        what nearest sees: auto (goodput where known), payload, or bytes\n"
    "                   (rbytes and rpackets only, as from a NetFlow exporter)\n"
    "  --train FLOWS    flows of the training run (tree models)\n"
    "  --train-labels FILE  labels of the training run (tree models)\n"
    "  --folds K        k-fold cross-validation over the labels of this run (2..100):\n"
    "                   each fold is tested with the model trained on the others (the\n"
    "                   tree; for nearest the per-server calibration of flowsleuth\n"
    "                   learn); folds stratified by entry name, dealt round-robin\n"
    "  --seed S         shuffle seed of the folds (1)\n"
    "  --model-file MODEL  use a model saved by flowsleuth learn (tree, tree-bp or\n"
    "                   nearest) instead of --model and training\n"
    "  --slack MS       widen each label's time window by MS either side (1000)\n"
    "  --top N          confusions listed (10)\n"
    "  -o FORMAT        table (default), csv or tsv (its metric,value rows), or json\n"
    "                   (one object with every figure)\n" MATCH_HELP
    "  -h, --help       this help\n";

enum emodel { M_NEAREST, M_ARTICLE, M_ARTICLE_BP };
enum basis { B_AUTO, B_PAYLOAD, B_BYTES };

struct opts {
    struct input_opts in;
    struct match_opts mo;
    const char *cat, *labels, *train, *train_labels, *model_file;
    enum emodel model;
    unsigned folds;
    uint64_t seed;
    struct model saved; /* --model-file */
    enum basis basis;
    uint64_t slack;
    size_t top;
    int mode; /* enum rows_mode */
    int pair; /* -b: pair uniflows, in the test flows and --train FLOWS */
};

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
        o->model = (enum emodel)v;
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
    case 0x207:
        o->folds = (unsigned)strtoul(arg, &end, 10);
        return *end || *arg < '0' || *arg > '9' || o->folds < 2 || o->folds > 100
                   ? (fprintf(stderr, PROG ": --folds must be 2..100\n"), 2)
                   : 0;
    case 0x208:
        o->seed = strtoull(arg, &end, 10);
        return *end || *arg < '0' || *arg > '9' ? (fprintf(stderr, PROG ": bad --seed\n"), 2) : 0;
    case 0x209:
        o->model_file = arg;
        return 0;
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
                                          { "folds", required_argument, NULL, 0x207 },
                                          { "seed", required_argument, NULL, 0x208 },
                                          { "model-file", required_argument, NULL, 0x209 },
                                          INPUT_LONGOPTS,
                                          { NULL, 0, NULL, 0 } };

/* Options and their checks. Returns 0 to go on, -1 after --help, or an exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "bc:o:h", longopts, NULL)) != -1) {
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
        if (c == 'o' && rows_mode_parse(optarg) >= 0) {
            o->mode = rows_mode_parse(optarg);
        } else if (c == 1) {
            o->in.stats = 1;
        } else if (c == 'b') {
            o->pair = 1;
        } else {
            if (c == 'o')
                fprintf(stderr, PROG ": unknown format '%s' (table, csv, tsv, json)\n", optarg);
            if (c != 'h')
                return arg_usage_hint("eval", usage_text);
            fputs(usage_text, stdout);
            return -1;
        }
    }
    if (!o->cat || !o->labels) {
        fprintf(stderr, PROG ": needs -c CAT and --labels FILE\n");
        return 2;
    }
    if (o->model_file && (o->folds || o->train)) {
        fprintf(stderr, PROG ": --model-file is a trained model: no --folds or --train\n");
        return 2;
    }
    if (o->folds && o->train) {
        fprintf(stderr, PROG ": --folds trains on this run: no --train\n");
        return 2;
    }
    if (o->model != M_NEAREST && !o->folds && !o->model_file && (!o->train || !o->train_labels)) {
        fprintf(stderr, PROG ": the tree models need --train FLOWS and --train-labels FILE, "
                             "--folds K or --model-file\n");
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

/* Every flow of in, paired with -b (what pairing skipped said on stderr). */
static int read_paired(struct input_opts *in, int pair, struct flow_vec *fl)
{
    struct uni_feed u;
    uni_feed_init(&u, pair, UNI_AUTO, 10000, flow_vec_keep, fl);
    int st = uni_read(in, PROG, &u);
    uni_feed_report(&u, PROG);
    uni_feed_free(&u);
    return st;
}

static int read_flows(const char *path, int pair, struct flow_vec *fl)
{
    struct input_opts in = { 0 };
    in.paths[0] = path;
    in.npaths = 1;
    return read_paired(&in, pair, fl);
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

/* Score the labels picked by only (NULL = all) with the nearest model: one match_run
 * over all flows, then each label's outcome from its flow's result. The flows' basis
 * is already applied (model_basis). */
static void run_nearest(const struct opts *o, const struct catalog *cat, const struct flow_vec *fl,
                        const struct eval_labels *lab, const unsigned char *only,
                        struct eval_score *s)
{
    struct nctx n = { fl->v, xcalloc(fl->n ? fl->n : 1, sizeof(struct match_result)),
                      xcalloc(fl->n ? fl->n : 1, 1) };
    match_run(cat, &o->mo, fl->v, fl->n, on_result, &n);
    for (size_t j = 0; j < lab->n; j++) {
        const struct eval_label *l = &lab->v[j];
        if (only && !only[j])
            continue;
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

static enum model_kind tree_kind(const struct opts *o)
{
    return o->model == M_ARTICLE_BP ? MODEL_TREE_BP : MODEL_TREE;
}

/* Score the picked labels with a trained tree (no reject: every flow gets a class). */
static void score_tree(const struct opts *o, const struct model *m, const struct flow_vec *fl,
                       const struct eval_labels *lab, const unsigned char *only,
                       struct eval_score *s)
{
    for (size_t j = 0; j < lab->n; j++) {
        const struct eval_label *l = &lab->v[j];
        if (only && !only[j])
            continue;
        size_t i = eval_find(l, fl->v, fl->n, o->slack);
        if (i == fl->n) {
            eval_score_add(s, l->name, EO_NOFLOW, NULL);
            continue;
        }
        const char *got = model_tree_class(m, &fl->v[i]);
        int right = !eval_label_foreign(l) && strcmp(got, l->name) == 0;
        eval_score_add(s, l->name, right ? EO_RIGHT : EO_WRONG, got);
    }
}

/* Train on the catalogue downloads of the training run (--train). Returns a status. */
static int train_tree(const struct opts *o, const struct catalog *cat, struct model *m)
{
    struct flow_vec fl = { 0 };
    struct eval_labels lab = { 0 };
    struct learn_counts cnt;
    int st = read_flows(o->train, o->pair, &fl);
    if (!st)
        st = load_labels(o->train_labels, &lab);
    if (!st && model_train(m, tree_kind(o), cat, &lab, NULL, fl.v, fl.n, o->slack,
                           o->mo.header_bytes, &cnt) != 0) {
        fprintf(stderr, PROG ": no training download found in %s\n", o->train);
        st = 1;
    }
    free(fl.v);
    eval_labels_free(&lab);
    return st;
}

/* ---- the whole run, or k folds ---- */

struct fold_res {
    struct eval_summary sum;
    size_t labels;
};

/* Train on the labels outside fold f, score fold f into *s. Returns a status. */
static int run_fold(const struct opts *o, struct catalog *cat, const struct flow_vec *fl,
                    const struct eval_labels *lab, const unsigned *fold, unsigned f,
                    struct eval_score *s, size_t *leaves)
{
    unsigned char *train = xmalloc(lab->n ? lab->n : 1), *test = xmalloc(lab->n ? lab->n : 1);
    for (size_t j = 0; j < lab->n; j++) {
        train[j] = fold[j] != f;
        test[j] = fold[j] == f;
    }
    struct model m = { 0 };
    struct learn_counts cnt;
    enum model_kind k = o->model == M_NEAREST ? MODEL_NEAREST : tree_kind(o);
    int rc = model_train(&m, k, cat, lab, train, fl->v, fl->n, o->slack, o->mo.header_bytes, &cnt);
    if (rc == 0 && k == MODEL_NEAREST) {
        cat->model = &m.near;
        run_nearest(o, cat, fl, lab, test, s);
        cat->model = NULL;
    } else if (rc == 0) {
        score_tree(o, &m, fl, lab, test, s);
        *leaves += eval_tree_leaves(&m.tree);
    } else {
        fprintf(stderr, PROG ": fold %u: no training download found\n", f + 1);
    }
    model_free(&m);
    free(train);
    free(test);
    return rc ? 1 : 0;
}

/* Score the run: every fold into the pooled score s and its own. Returns a status. */
static int run_folds(const struct opts *o, struct catalog *cat, const struct flow_vec *fl,
                     const struct eval_labels *lab, struct eval_score *s, struct fold_res *fr,
                     size_t *leaves)
{
    unsigned *fold = xmalloc((lab->n ? lab->n : 1) * sizeof(*fold));
    int st = 0;
    eval_folds(lab, o->folds, o->seed, fold);
    for (unsigned f = 0; f < o->folds && !st; f++) {
        struct eval_score one = { 0 };
        st = run_fold(o, cat, fl, lab, fold, f, &one, leaves);
        eval_summarize(&one, &fr[f].sum);
        fr[f].labels = fr[f].sum.known + fr[f].sum.foreign;
        eval_score_merge(s, &one);
        eval_score_free(&one);
    }
    *leaves = o->folds ? *leaves / o->folds : 0;
    free(fold);
    return st;
}

/* Without folds: the saved model, a tree trained on --train, or nearest. */
static int run_once(struct opts *o, struct catalog *cat, const struct flow_vec *fl,
                    const struct eval_labels *lab, struct eval_score *s, size_t *leaves)
{
    struct model trained = { 0 };
    const struct model *m = o->model_file ? &o->saved : NULL;
    int st = 0;
    if (!m && o->model != M_NEAREST && (st = train_tree(o, cat, &trained)) == 0)
        m = &trained;
    if (!st && m && m->kind == MODEL_NEAREST)
        cat->model = &m->near;
    if (!st && (!m || m->kind == MODEL_NEAREST))
        run_nearest(o, cat, fl, lab, NULL, s);
    else if (!st) {
        score_tree(o, m, fl, lab, NULL, s);
        *leaves = eval_tree_leaves(&m->tree);
    }
    cat->model = NULL;
    model_free(&trained);
    return st;
}

/* ---- output ---- */

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

/* The model in use: --model, or the kind of --model-file. */
static enum emodel effective(const struct opts *o)
{
    if (!o->model_file)
        return o->model;
    return o->saved.kind == MODEL_NEAREST ? M_NEAREST
           : o->saved.kind == MODEL_TREE  ? M_ARTICLE
                                          : M_ARTICLE_BP;
}

static const char *model_name(const struct opts *o)
{
    static const char *const m[] = { "nearest", "article", "article-bp" };
    return m[effective(o)];
}

static const char *basis_name(const struct opts *o)
{
    static const char *const b[] = { "auto", "payload", "bytes" };
    return effective(o) == M_NEAREST   ? b[o->basis]
           : effective(o) == M_ARTICLE ? "rbytes"
                                       : "rbytes,rpackets";
}

/* Per-fold figures and their means (nfold = 0 without --folds). */
struct folds_out {
    const struct fold_res *fr;
    unsigned n;
    struct eval_summary mean;
};

static void fold_mean(struct folds_out *fo)
{
    memset(&fo->mean, 0, sizeof(fo->mean));
    for (unsigned f = 0; f < fo->n; f++) {
        fo->mean.accuracy += fo->fr[f].sum.accuracy / fo->n;
        fo->mean.precision += fo->fr[f].sum.precision / fo->n;
        fo->mean.recall += fo->fr[f].sum.recall / fo->n;
        fo->mean.foreign_wrong += fo->fr[f].sum.foreign_wrong / fo->n;
    }
}

static void json_folds(const struct opts *o, const struct folds_out *fo)
{
    if (o->model_file) {
        printf(",\"model_file\":");
        json_str(stdout, o->model_file);
    }
    if (!fo->n)
        return;
    printf(",\"folds\":%u,\"seed\":%llu,\"fold_results\":[", fo->n, (unsigned long long)o->seed);
    for (unsigned f = 0; f < fo->n; f++) {
        const struct eval_summary *m = &fo->fr[f].sum;
        printf("%s{\"fold\":%u,\"labels\":%zu,\"known\":%zu,\"foreign\":%zu,\"accuracy\":%.6f,"
               "\"precision\":%.6f,\"recall\":%.6f,\"foreign_wrong_rate\":%.6f}",
               f ? "," : "", f + 1, fo->fr[f].labels, m->known, m->foreign, m->accuracy,
               m->precision, m->recall, m->foreign_wrong);
    }
    printf("],\"mean_accuracy\":%.6f,\"mean_precision\":%.6f,\"mean_recall\":%.6f,"
           "\"mean_foreign_wrong_rate\":%.6f",
           fo->mean.accuracy, fo->mean.precision, fo->mean.recall, fo->mean.foreign_wrong);
}

static void print_json(const struct opts *o, const struct eval_score *s, size_t leaves,
                       const struct folds_out *fo)
{
    struct eval_summary m;
    eval_summarize(s, &m);
    printf("{\"model\":\"%s\",\"basis\":\"%s\",\"leaves\":%zu,\"labels\":%zu,\"known\":%zu,"
           "\"foreign\":%zu,\"accuracy\":%.6f,\"precision\":%.6f,\"recall\":%.6f,"
           "\"foreign_wrong\":%zu,\"foreign_wrong_rate\":%.6f,\"foreign_rejected\":%.6f",
           model_name(o), basis_name(o), leaves, m.known + m.foreign, m.known, m.foreign,
           m.accuracy, m.precision, m.recall, s->foreign[EO_WRONG], m.foreign_wrong,
           m.foreign_rejected);
    json_folds(o, fo);
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

/* One line per fold, then the means. */
static void table_folds(struct rows *r, const struct folds_out *fo)
{
    for (unsigned f = 0; f < fo->n; f++) {
        const struct eval_summary *m = &fo->fr[f].sum;
        char k[32];
        snprintf(k, sizeof(k), "fold %u", f + 1);
        line(r, k,
             "%zu labels: accuracy %.2f%%, precision %.2f%%, recall %.2f%%, foreign "
             "matched %.2f%%",
             fo->fr[f].labels, 100 * m->accuracy, 100 * m->precision, 100 * m->recall,
             100 * m->foreign_wrong);
    }
    if (fo->n)
        line(r, "mean of the folds",
             "accuracy %.2f%%, precision %.2f%%, recall %.2f%%, foreign matched %.2f%%",
             100 * fo->mean.accuracy, 100 * fo->mean.precision, 100 * fo->mean.recall,
             100 * fo->mean.foreign_wrong);
}

/* The figures as metric,value rows (query/rows): aligned, or streamed as csv or tsv. */
static void print_table(const struct opts *o, const struct eval_score *s, size_t leaves,
                        const struct folds_out *fo)
{
    static const char *const cols[] = { "metric", "value" };
    static const unsigned char num[] = { 0, 0 };
    enum rows_mode mode = (enum rows_mode)o->mode;
    struct eval_summary m;
    struct rows r;
    eval_summarize(s, &m);
    rows_init(&r, cols, num, 2);
    rows_stream(&r, mode, stdout);
    line(&r, "model", "%s on %s%s%s", model_name(o), basis_name(o),
         o->model_file ? ", saved in " : "", o->model_file ? o->model_file : "");
    if (fo->n)
        line(&r, "cross-validation", "%u folds (seed %llu), stratified by entry", fo->n,
             (unsigned long long)o->seed);
    if (effective(o) != M_NEAREST)
        line(&r, fo->n ? "tree leaves (mean)" : "tree leaves", "%zu", leaves);
    table_folds(&r, fo);
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
            /* the table names a list once; csv and tsv rows each carry it */
            line(&r,
                 shown++ && mode == ROWS_TABLE ? ""
                 : k                           ? "foreign matched to"
                                               : "top confusions",
                 "%s -> %s: %zu", s->conf[i].truth, s->conf[i].got, s->conf[i].n);
        }
    }
    rows_print(&r, mode, stdout);
    rows_free(&r);
}

/* Catalogue, labels, flows and the saved model. Returns a status. */
static int load_all(struct opts *o, struct catalog *cat, struct eval_labels *lab,
                    struct flow_vec *fl)
{
    struct fs_err err = { 0 };
    if (catalog_load(cat, o->cat, &err) != 0 ||
        (o->model_file && model_load(&o->saved, o->model_file, &err) != 0)) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    int st = load_labels(o->labels, lab);
    if (!st)
        st = read_paired(&o->in, o->pair, fl);
    return st;
}

/* flowsleuth eval: load, join labels to flows, score with the chosen model, print. */
int cmd_eval(int argc, char **argv)
{
    struct opts o = { .slack = 1000, .top = 10, .seed = 1 };
    match_opts_default(&o.mo);
    int st = parse(argc, argv, &o);
    if (st) {
        input_free(&o.in);
        return st < 0 ? 0 : st;
    }
    struct catalog cat;
    struct flow_vec fl = { 0 };
    struct eval_labels lab = { 0 };
    struct eval_score s = { 0 };
    struct fold_res fr[100];
    struct folds_out fo = { fr, 0, { 0 } };
    size_t leaves = 0;
    catalog_init(&cat);
    st = load_all(&o, &cat, &lab, &fl);
    size_t nohost = st ? 0 : learn_labels_nohost(&lab, fl.v, fl.n);
    if (nohost)
        fprintf(stderr,
                PROG ": %zu labels name a client or server that is in no flow (outcome no flow)\n",
                nohost);
    if (!st && effective(&o) == M_NEAREST)
        model_basis(fl.v, fl.n, (int)o.basis);
    if (!st && o.folds) {
        st = run_folds(&o, &cat, &fl, &lab, &s, fr, &leaves);
        fo.n = o.folds;
        fold_mean(&fo);
    } else if (!st) {
        st = run_once(&o, &cat, &fl, &lab, &s, &leaves);
    }
    if (!st) {
        eval_score_sort(&s);
        if (o.mode == ROWS_JSON)
            print_json(&o, &s, leaves, &fo);
        else
            print_table(&o, &s, leaves, &fo);
    }
    eval_score_free(&s);
    eval_labels_free(&lab);
    free(fl.v);
    catalog_free(&cat);
    model_free(&o.saved);
    input_free(&o.in);
    return st ? st : ferror(stdout) ? 1 : 0;
}
