#include "detect_args.h"
#include "args.h"

#include "../core/units.h"

#include "../query/rows.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                          { "stats", no_argument, NULL, 1 },
                                          { "all", no_argument, NULL, 2 },
                                          { "model-file", required_argument, NULL, 3 },
                                          { "max-mem", required_argument, NULL, 4 },
                                          { "basis", required_argument, NULL, 5 },
                                          MATCH_LONGOPTS,
                                          MATCH_RANGES_OPT,
                                          INPUT_LONGOPTS,
                                          { NULL, 0, NULL, 0 } };

/* The long name of option value c, for messages. */
static const char *opt_name(int c)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c)
            return o->name;
    return "?";
}

struct parse {
    struct detect_args *a;
    const char *prog, *usage;
    int allow_all;
};

/* One option that is not an input option. Returns -1 to go on, else an exit status. */
static int one_opt(void *ctx, struct input_opts *in, int c, const char *arg)
{
    const struct parse *p = ctx;
    struct detect_args *a = p->a;
    const char *prog = p->prog;
    struct fs_err err = { 0 };
    int mr = match_option(&a->mo, c, arg, &err);
    if (mr < 0) {
        fprintf(stderr, "%s: --%s: %s\n", prog, opt_name(c), err.msg);
        return 2;
    }
    if (mr == 0)
        return -1;
    if (c == 'c') {
        a->catpath = arg;
        return -1;
    }
    if (c == 'o' && (a->mode = rows_mode_parse(arg)) >= 0)
        return -1;
    if (c == 1) {
        in->stats = 1;
        return -1;
    }
    if (c == 3) {
        a->model_file = arg;
        return -1;
    }
    if (c == 4)
        return detect_max_mem(prog, arg, &a->batch.max_mem) ? 2 : -1;
    if (c == 'b') {
        a->pair = 1;
        return -1;
    }
    if (c == 5) {
        if ((a->basis = uni_basis_parse(arg)) < 0) {
            fprintf(stderr, "%s: unknown basis '%s' (auto, payload, bytes)\n", prog, arg);
            return 2;
        }
        return -1;
    }
    if (c == 2 && p->allow_all) {
        a->all = 1;
        return -1;
    }
    if (c == 'o')
        fprintf(stderr, "%s: unknown format '%s'\n", prog, arg);
    if (c != 'h') /* "flowsleuth match" -> match */
        return arg_usage_hint(strncmp(prog, "flowsleuth ", 11) ? prog : prog + 11, p->usage);
    fputs(p->usage, stdout);
    return 0;
}

int detect_args_parse(struct detect_args *a, const char *prog, const char *usage, int allow_all,
                      int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    match_opts_default(&a->mo);
    a->mo.range_gap_ms = MATCH_RANGES_DEFAULT_MS;
    a->mode = ROWS_TABLE;
    a->batch.o = &a->mo;
    a->batch.max_mem = (size_t)4096 << 20; /* as stats: 4Gi */
    a->allow_tree = allow_all;
    catalog_init(&a->cat);
    struct parse p = { a, prog, usage, allow_all };
    int st = detect_getopt(argc, argv, INPUT_OPTSTRING "bc:o:h", longopts, &a->in, one_opt, &p);
    if (st >= 0)
        return st;
    if (!a->catpath) {
        fprintf(stderr, "%s: needs -c CAT\n", prog);
        return 2;
    }
    return detect_input_args(&a->in, prog, argc, argv);
}

int detect_args_load(struct detect_args *a, const char *prog)
{
    struct fs_err err = { 0 };
    if (catalog_load(&a->cat, a->catpath, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 1;
    }
    struct cat_dropped d;
    if (catalog_clean(&a->cat, &d)) { /* a file written by hand or by an older build */
        char msg[160];
        catalog_dropped_text(&d, msg, sizeof(msg));
        fprintf(stderr, "%s: %s: %s\n", prog, a->catpath, msg);
    }
    if (a->model_file && model_load(&a->model, a->model_file, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 1;
    }
    if (a->model_file && a->model.kind != MODEL_NEAREST && !a->allow_tree) {
        fprintf(stderr, "%s: %s: a %s model names one entry per flow; use it with match\n", prog,
                a->model_file, model_kind_name(a->model.kind));
        return 1;
    }
    if (a->model_file && a->model.kind == MODEL_NEAREST)
        a->cat.model = &a->model.near;
    a->loaded = 1;
    uni_feed_init(&a->uf, a->pair, (enum uni_basis)a->basis, a->mo.min_size, match_batch_add,
                  &a->batch);
    int st = uni_read(&a->in, prog, &a->uf);
    if (a->batch.over) {
        fprintf(stderr,
                "%s: the flows to match need more than --max-mem (%zu of them fit, at up to %zu "
                "bytes each): narrow the input (-t, a filter) or raise --max-mem\n",
                prog, a->batch.n, MATCH_FLOW_BYTES(&a->mo));
        a->loaded = 0;
        return 1;
    }
    return st;
}

void detect_args_report(const struct detect_args *a, const char *prog)
{
    uni_feed_report(&a->uf, prog);
    if (a->batch.pieces_dropped)
        fprintf(stderr,
                "%s: %zu possible range pieces not kept or not grouped (--max-mem): range "
                "downloads among them are not named\n",
                prog, a->batch.pieces_dropped);
}

void detect_args_free(struct detect_args *a)
{
    match_batch_free(&a->batch);
    uni_feed_free(&a->uf);
    catalog_free(&a->cat);
    model_free(&a->model);
    input_free(&a->in);
}

int detect_getopt(int argc, char **argv, const char *optstring, const struct option *opts,
                  struct input_opts *in, detect_opt_fn opt, void *ctx)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        int used = input_opt(in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        int st = opt(ctx, in, c, optarg);
        if (st >= 0)
            return st;
    }
    return -1;
}

int detect_input_args(struct input_opts *in, const char *prog, int argc, char **argv)
{
    if (input_filter_args(in, argc - optind, argv + optind) || input_prepare(in, prog))
        return 2;
    return -1;
}

int detect_max_mem(const char *prog, const char *arg, size_t *out)
{
    uint64_t v;
    if (units_parse_str(arg, 1 << 20, &v) != 0 || v == 0 || v > SIZE_MAX) {
        fprintf(stderr, "%s: --max-mem needs a size such as 512Mi or 2G, not '%s'\n", prog, arg);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int detect_internal(const char *prog, const char *arg, struct netlist *nets)
{
    if (netlist_add_net(nets, arg) == 0)
        return 0;
    fprintf(stderr, "%s: --internal needs an address or prefix, not '%s'\n", prog, arg);
    return -1;
}

int detect_authorised(const char *prog, const char *arg, struct svc_authlist *auth, int *have)
{
    char msg[640] = "";
    if (*have) {
        fprintf(stderr, "%s: --authorised given twice\n", prog);
        return -1;
    }
    int rc = services_load_authorised(auth, arg, msg, sizeof(msg));
    *have = 1;
    if (rc == FS_EINVAL)
        fprintf(stderr, "%s: --authorised %s\n", prog, msg);
    else if (rc)
        fprintf(stderr, "%s: --authorised %s: %s\n", prog, arg, fs_strerror(rc));
    return rc ? -1 : 0;
}
