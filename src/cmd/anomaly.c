/*
 * flowsleuth anomaly: every bin of every key of a saved profile (flowsleuth baseline)
 * against the band its hour of the week expects; spikes, drops and gaps, one row each
 * (src/analytics/anomaly.c judges; this file parses options, reads and prints).
 */
#include "../analytics/anomaly.h"
#include "../analytics/evidence.h"
#include "../core/fmt.h"
#include "../core/units.h"
#include "../query/rows.h"
#include "args.h"
#include "baseline_input.h"
#include "cmd.h"
#include "input.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth anomaly"

static const char usage_text[] =
    "usage: flowsleuth anomaly -b PROFILE [-k K] [-o FORMAT] [--max-mem SIZE]\n"
    "                          [input options] [FILTER]\n"
    "\n"
    "Compare each bin of flows with the hour-of-week profile that flowsleuth baseline\n"
    "learned (its keys, bin width and time zone): a value above the slot's band is a\n"
    "spike, below it a drop, and no flows at all where the band's low end is above zero a\n"
    "gap (an exporter or link that went quiet). No profile, no alarms.\n"
    "\n" INPUT_HELP "  -b PROFILE       the profile written by flowsleuth baseline -w\n"
    "  -k K             how far the band reaches, in robust standard deviations and\n"
    "                   Poisson deviations of the count (default 4)\n"
    "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --max-mem SIZE   memory for the series (default 1Gi; k M G: 1000, Ki Mi Gi:\n"
    "                   1024; a plain number is MiB)\n"
    "  -h, --help       this help\n"
    "\n"
    "With -t only the whole bins inside the window are judged; without it, the bins from\n"
    "the first to the last one with flows (a bin still being written looks like a drop:\n"
    "give -t to leave it out).\n"
    "\n"
    "Columns: bin (start, UTC), key, metric (flows, tbytes, tpackets), value, expected\n"
    "(the slot's median), low, high (the band), score (K at the band's edge), kind\n"
    "(spike, drop, gap), first, last (the bin, for print -t), evidence (a filter\n"
    "selecting the flows counted in the bin).\n";

struct an_cli {
    const char *profile;
    double k;
    enum rows_mode mode;
    size_t max_mem;
};

static int an_opt(struct an_cli *o, struct input_opts *in, int c)
{
    char *end;
    uint64_t v;
    switch (c) {
    case 1:
        in->stats = 1;
        return -1;
    case 'b':
        o->profile = optarg;
        return -1;
    case 'k':
        errno = 0;
        o->k = strtod(optarg, &end);
        if (!errno && end != optarg && !*end && o->k > 0 && o->k <= 1000)
            return -1;
        fprintf(stderr, PROG ": -k needs a number above 0, not '%s'\n", optarg);
        return 2;
    case 'o': {
        int m = rows_mode_parse(optarg);
        if (m >= 0) {
            o->mode = (enum rows_mode)m;
            return -1;
        }
        fprintf(stderr, PROG ": unknown output format '%s' (table, csv, tsv, json)\n", optarg);
        return 2;
    }
    case 2:
        if (units_parse_str(optarg, 1 << 20, &v) == 0 && v && v <= SIZE_MAX) {
            o->max_mem = (size_t)v;
            return -1;
        }
        fprintf(stderr, PROG ": --max-mem needs a size such as 512Mi or 2G, not '%s'\n", optarg);
        return 2;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("anomaly", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct an_cli *o, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "max-mem", required_argument, NULL, 2 },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "b:k:o:h", longopts, NULL)) != -1) {
        int used = input_opt(in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        int rc = an_opt(o, in, c);
        if (rc >= 0)
            return rc;
    }
    if (!o->profile) {
        fprintf(stderr, PROG ": -b PROFILE is required (no alarms without a baseline: "
                             "make one with flowsleuth baseline -w)\n");
        return arg_usage_hint("anomaly", usage_text);
    }
    if (input_filter_args(in, argc - optind, argv + optind))
        return 2;
    return -1;
}

/* ---------------------------------------------------------------- rows */

#define NCOLS 12

struct printer {
    struct rows r;
    const struct bl_profile *p;
    char *user; /* the command's filter on one line, or NULL */
    size_t n;
};

static void num(char *buf, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.1f", v);
}

static void emit(void *ctx, const struct an_finding *f)
{
    struct printer *pr = ctx;
    char c[NCOLS - 1][40], key[BL_KEY_TEXT], kf[160], ev[1024];
    const char *cells[NCOLS];
    fmt_time_ms(c[0], f->bin_ms);
    bl_key_text(&pr->p->spec, &pr->p->keys[f->key], key);
    num(c[1], sizeof(c[1]), f->value);
    num(c[2], sizeof(c[2]), f->expected);
    num(c[3], sizeof(c[3]), f->low);
    num(c[4], sizeof(c[4]), f->high);
    snprintf(c[5], sizeof(c[5]), "%.1f", f->score);
    fmt_time_ms(c[6], f->bin_ms + pr->p->bin_ms);
    bl_key_filter(&pr->p->spec, &pr->p->keys[f->key], kf, sizeof(kf));
    int all = pr->p->spec.by == BL_ALL;
    snprintf(ev, sizeof(ev), "%s%s%sfirst >= %s and first < %s%s%s", pr->user ? "(" : "",
             pr->user ? pr->user : "", pr->user ? ") and " : "", c[0], c[6], all ? "" : " and ",
             all ? "" : kf);
    const char *row[NCOLS] = { c[0], key,  bl_metric_names[f->metric], c[1], c[2], c[3],
                               c[4], c[5], an_kind_names[f->kind],     c[0], c[6], ev };
    memcpy(cells, row, sizeof(cells));
    rows_add(&pr->r, cells);
    pr->n++;
}

/* Judge the bins and print: the exit status. */
static int judge_print(const struct an_cli *o, const struct input_opts *in,
                       const struct bl_profile *p, const struct bl_series *s, const struct tz *z)
{
    static const char *const names[NCOLS] = { "bin",      "key",   "metric", "value",
                                              "expected", "low",   "high",   "score",
                                              "kind",     "first", "last",   "evidence" };
    static const unsigned char numeric[NCOLS] = { 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0 };
    struct printer pr = { .p = p, .user = evidence_filter_line(in->filter_text) };
    uint64_t lo, hi;
    rows_init(&pr.r, names, numeric, NCOLS);
    rows_stream(&pr.r, o->mode, stdout);
    if (bl_input_bins(in, s, &lo, &hi) == 0)
        anomaly_run(p, s, z, lo, hi, o->k, emit, &pr);
    rows_print(&pr.r, o->mode, stdout);
    rows_free(&pr.r);
    free(pr.user);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

/* A profile learned from other flows than this run reads has bands that do not fit:
 * say so (the filters are compared as written, word by word). */
static void check_filter(const struct bl_profile *p, const struct input_opts *in)
{
    char *mine = evidence_filter_line(in->filter_text);
    const char *a = p->filter ? p->filter : "", *b = mine ? mine : "";
    if (!bl_profile_same_filter(p, b))
        fprintf(stderr,
                PROG ": warning: the profile was learned with the filter '%s', this run reads "
                     "'%s': its bands may not fit these flows\n",
                a, b);
    free(mine);
}

/* The profile's keys, frozen: only they are counted. */
static void series_of(struct bl_series *s, const struct bl_profile *p, size_t max_mem)
{
    bl_series_init(s, &p->spec, p->bin_ms, max_mem);
    for (size_t i = 0; i < p->nkeys; i++)
        (void)bl_series_key(s, &p->keys[i]);
    s->frozen = 1;
}

int cmd_anomaly(int argc, char **argv)
{
    struct an_cli o = { .k = 4, .max_mem = (size_t)1 << 30 };
    struct input_opts in = { 0 };
    struct bl_profile p;
    struct bl_series s;
    struct tz z;
    struct fs_err err = { 0 };
    int full, status = parse_args(argc, argv, &o, &in);
    if (status >= 0) {
        input_free(&in);
        return status;
    }
    if (bl_profile_load(&p, o.profile, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        input_free(&in);
        return 1;
    }
    if (tz_load(&z, p.tz, &err) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", o.profile, err.msg);
        bl_profile_free(&p);
        input_free(&in);
        return 1;
    }
    /* The filter's hour and wday are in the profile's zone, as its slots are. */
    setenv("TZ", p.tz, 1);
    if (input_prepare(&in, PROG)) {
        tz_free(&z);
        bl_profile_free(&p);
        input_free(&in);
        return 2;
    }
    check_filter(&p, &in);
    series_of(&s, &p, o.max_mem);
    if (s.n != p.nkeys) {
        full = 1;
        status = 1;
    } else {
        status = bl_input_read(&in, PROG, &s, &full);
    }
    if (full) {
        fprintf(stderr, PROG ": the profile's keys and bins need more than --max-mem; "
                             "narrow -t or raise --max-mem\n");
        status = 1;
    } else if (!in.open_failed) {
        int rc = judge_print(&o, &in, &p, &s, &z);
        status = rc ? rc : status;
    }
    bl_series_free(&s);
    tz_free(&z);
    bl_profile_free(&p);
    input_free(&in);
    return status;
}
