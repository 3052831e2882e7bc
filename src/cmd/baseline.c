/*
 * flowsleuth baseline: learn the hour-of-week profile of flows, tbytes and tpackets
 * (the whole network or per key) from weeks of flows and save it for anomaly
 * (src/analytics/baseline.c does the work; this file parses options and reports).
 */
#include "../analytics/baseline.h"
#include "../analytics/evidence.h"
#include "../core/tz.h"
#include "../core/units.h"
#include "args.h"
#include "baseline_input.h"
#include "cmd.h"
#include "input.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth baseline"

static const char usage_text[] =
    "usage: flowsleuth baseline -w PROFILE [--by KEY] [--tz ZONE] [--bin SECONDS]\n"
    "                           [--min-weeks N] [--max-mem SIZE] [input options] [FILTER]\n"
    "\n"
    "Learn the hour-of-week profile of flows, tbytes and tpackets from weeks of flows:\n"
    "per key and hour of the week (168 slots, Monday 00:00 local first), the median and\n"
    "the spread (1.4826 x the median absolute deviation) over the bins of that hour.\n"
    "flowsleuth anomaly compares new flows with it.\n"
    "\n" INPUT_HELP "  -w PROFILE       write the profile here (versioned text, replaced whole)\n"
    "  --by KEY         all (default: the whole network), src, dst (per host),\n"
    "                   srcnet/LEN[/LEN6], dstnet/LEN[/LEN6] (per subnet: IPv4 prefix\n"
    "                   length, IPv6 length, default 64), service (protocol and\n"
    "                   destination port)\n"
    "  --tz ZONE        time zone of the hours of the week (IANA name such as\n"
    "                   Europe/Berlin; default UTC): a Monday 09:00 is local\n"
    "  --bin SECONDS    bin width, a divisor of 3600 (default 3600)\n"
    "  --min-weeks N    refuse to learn from fewer whole weeks (default 4: the profile\n"
    "                   must span several weekly cycles)\n"
    "  --max-mem SIZE   memory for the series of all keys (default 1Gi; k M G: 1000,\n"
    "                   Ki Mi Gi: 1024; a plain number is MiB): past it the command\n"
    "                   stops with an error (a coarser --by, or a filter)\n"
    "  -h, --help       this help\n"
    "\n"
    "tbytes = bytes + rbytes and tpackets = packets + rpackets (both directions). Bins\n"
    "without flows inside the learned range count as zeros.\n";

struct bl_cli {
    const char *out;
    struct bl_keyspec spec;
    const char *zone;
    uint32_t bin_s, min_weeks;
    size_t max_mem;
};

static int parse_mem(const char *arg, size_t *out)
{
    uint64_t v;
    if (units_parse_str(arg, 1 << 20, &v) != 0 || v == 0 || v > SIZE_MAX) {
        fprintf(stderr, PROG ": --max-mem needs a size such as 512Mi or 2G, not '%s'\n", arg);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* One non-input option: -1 to go on, else an exit status. */
static int bl_opt(struct bl_cli *o, struct input_opts *in, int c)
{
    switch (c) {
    case 1:
        in->stats = 1;
        return -1;
    case 'w':
        o->out = optarg;
        return -1;
    case 2:
        if (bl_keyspec_parse(optarg, &o->spec) == 0)
            return -1;
        fprintf(stderr,
                PROG ": --by is all, src, dst, srcnet/LEN[/LEN6], dstnet/LEN[/LEN6] or "
                     "service, not '%s'\n",
                optarg);
        return 2;
    case 3:
        o->zone = optarg;
        return -1;
    case 4:
        if (arg_u32("baseline", "--bin", optarg, 1, 3600, &o->bin_s) != 0)
            return 2;
        if (3600 % o->bin_s == 0)
            return -1;
        fprintf(stderr, PROG ": --bin must divide 3600 (an hour), not '%s'\n", optarg);
        return 2;
    case 5:
        return arg_u32("baseline", "--min-weeks", optarg, 0, 1000, &o->min_weeks) ? 2 : -1;
    case 6:
        return parse_mem(optarg, &o->max_mem) ? 2 : -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("baseline", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct bl_cli *o, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              { "by", required_argument, NULL, 2 },
                                              { "tz", required_argument, NULL, 3 },
                                              { "bin", required_argument, NULL, 4 },
                                              { "min-weeks", required_argument, NULL, 5 },
                                              { "max-mem", required_argument, NULL, 6 },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "w:h", longopts, NULL)) != -1) {
        int used = input_opt(in, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        int rc = bl_opt(o, in, c);
        if (rc >= 0)
            return rc;
    }
    if (!o->out) {
        fprintf(stderr, PROG ": -w PROFILE is required (where to save the profile)\n");
        return arg_usage_hint("baseline", usage_text);
    }
    if (input_filter_args(in, argc - optind, argv + optind))
        return 2;
    return -1;
}

/* Learn over the bins read and save: the exit status. */
static int learn_save(const struct bl_cli *o, const struct input_opts *in,
                      const struct bl_series *s, const struct tz *z)
{
    uint64_t lo, hi;
    struct bl_profile p;
    struct fs_err err = { 0 };
    if (bl_input_bins(in, s, &lo, &hi) != 0) {
        fprintf(stderr, PROG ": no flows to learn from\n");
        return 1;
    }
    uint64_t weeks = (hi - lo + 1) * s->bin_ms / (7ull * 86400 * 1000);
    if (weeks < o->min_weeks) {
        fprintf(stderr,
                PROG ": refused: the flows span %" PRIu64 " whole week(s), fewer than "
                     "--min-weeks %" PRIu32 " (a profile needs several weekly cycles)\n",
                weeks, o->min_weeks);
        return 1;
    }
    bl_profile_learn(&p, s, z, lo, hi);
    p.filter = evidence_filter_line(in->filter_text); /* anomaly warns when its own differs */
    int rc = bl_profile_save(&p, o->out, &err);
    if (rc)
        fprintf(stderr, PROG ": %s\n", err.msg);
    else
        fprintf(stderr, PROG ": %zu key(s), %" PRIu64 " week(s) of %" PRIu64 " bins -> %s\n",
                p.nkeys, weeks, hi - lo + 1, o->out);
    bl_profile_free(&p);
    return rc ? 1 : 0;
}

int cmd_baseline(int argc, char **argv)
{
    struct bl_cli o = { .bin_s = 3600, .min_weeks = 4, .max_mem = (size_t)1 << 30 };
    struct input_opts in = { 0 };
    struct bl_series s;
    struct tz z;
    struct fs_err err = { 0 };
    int full, status = parse_args(argc, argv, &o, &in);
    if (status >= 0) {
        input_free(&in);
        return status;
    }
    if (tz_load(&z, o.zone, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        input_free(&in);
        return 2;
    }
    /* The filter's hour and wday are in the profile's zone too. */
    if (o.zone)
        setenv("TZ", o.zone, 1);
    if (input_prepare(&in, PROG)) {
        tz_free(&z);
        input_free(&in);
        return 2;
    }
    bl_series_init(&s, &o.spec, (uint64_t)o.bin_s * 1000, o.max_mem);
    status = bl_input_read(&in, PROG, &s, &full);
    if (full) {
        fprintf(stderr, PROG ": the keys and bins need more than --max-mem; use a coarser "
                             "--by, a filter or a larger --max-mem\n");
        status = 1;
    } else if (!in.open_failed) {
        int rc = learn_save(&o, &in, &s, &z);
        status = rc ? rc : status;
    }
    bl_series_free(&s);
    tz_free(&z);
    input_free(&in);
    return status;
}
