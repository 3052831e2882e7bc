/*
 * What `match` and `inventory` share: their options (-c CAT, -o, --stats, the model
 * options of match.h, -b and --basis of uniflow.h, input options and filter, --all for
 * match) and the loading of
 * the catalogue and of the flows worth matching. One parser so the two commands agree.
 * Also what the other commands over flows (hosts, services, spam, scan, report; serve
 * for --internal and --authorised) parse alike: the getopt loop with the input options,
 * --max-mem, --internal, --authorised; written once so that their messages agree.
 *
 * Ownership: the struct lives on the caller's stack; detect_args_free frees what
 * parsing and loading allocated.
 */
#ifndef FS_DETECT_ARGS_H
#define FS_DETECT_ARGS_H

#include "../analytics/services.h"
#include "../detect/catalog.h"
#include "../detect/match.h"
#include "../detect/model.h"
#include "input.h"
#include "uniflow.h"

#include <getopt.h>

struct detect_args {
    struct input_opts in;
    struct match_opts mo;
    const char *catpath;    /* -c */
    int mode;               /* -o: enum rows_mode */
    int all;                /* --all (match only) */
    const char *model_file; /* --model-file: a model saved by flowsleuth learn */
    int allow_tree;         /* tree models accepted (match: the commands with --all) */
    struct model model;     /* loaded; a nearest model is attached to cat */
    int loaded;             /* catalogue and model loaded (flows may still have failed) */
    struct catalog cat;
    struct match_batch batch; /* flows read by detect_args_load */
    int pair;                 /* -b: pair uniflows (uniflow.h) */
    int basis;                /* --basis: enum uni_basis */
    struct uni_feed uf;       /* what pairing did, for detect_args_report */
};

#define DETECT_MEM_HELP                                                                     \
    "  --max-mem SIZE   memory for the flows to match and their results (default 4Gi;\n"    \
    "                   k M G: 1000, Ki Mi Gi: 1024; a plain number is MiB): past it\n"     \
    "                   range pieces are dropped first (counted), then the command stops\n" \
    "                   with an error rather than match a part of the flows\n"

/*
 * Parse argv. allow_all: accept --all. Returns -1 to go on, or the exit status to
 * return at once (0 after --help, 2 on a usage error, after printing it).
 */
int detect_args_parse(struct detect_args *a, const char *prog, const char *usage, int allow_all,
                      int argc, char **argv);

/* Load the catalogue, the model (--model-file; a nearest model is attached to the
 * catalogue, a tree kept in a->model for match) and read the flows worth matching.
 * Returns 0 or 1 (printed). */
int detect_args_load(struct detect_args *a, const char *prog);

/* After matching: say on stderr what -b paired and skipped (or that uniflows were not
 * seen without it) and what --max-mem cost (range pieces dropped), if anything. */
void detect_args_report(const struct detect_args *a, const char *prog);

void detect_args_free(struct detect_args *a);

/* A command's own option c (not an input option) with its argument: -1 to go on, else
 * the exit status to return at once (0 after --help, 2 after saying what was wrong). */
typedef int (*detect_opt_fn)(void *ctx, struct input_opts *in, int c, const char *arg);

/* getopt_long over argv from its start with opts: the input options into in, the others to
 * opt(ctx, ...). Returns -1 when every option was taken, else the exit status. */
int detect_getopt(int argc, char **argv, const char *optstring, const struct option *opts,
                  struct input_opts *in, detect_opt_fn opt, void *ctx);

/* After detect_getopt: the words left are the filter; then input_prepare. Returns -1 to
 * go on, or 2 (said why). */
int detect_input_args(struct input_opts *in, const char *prog, int argc, char **argv);

/* --max-mem SIZE (1Mi units for a plain number) into *out: 0, or -1 after saying why. */
int detect_max_mem(const char *prog, const char *arg, size_t *out);

/* --internal NET added to nets: 0, or -1 after saying why. */
int detect_internal(const char *prog, const char *arg, struct netlist *nets);

/* --authorised FILE.csv into auth, at most once (*have is set once tried, so that the
 * caller frees auth): 0, or -1 after saying why. */
int detect_authorised(const char *prog, const char *arg, struct svc_authlist *auth, int *have);

#endif
