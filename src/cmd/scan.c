/*
 * flowsleuth scan: sources that probe many hosts or ports. The detector is
 * src/analytics/scan.c (Threshold Random Walk and a failed-pair count rule); this file
 * parses options, feeds it flows and prints one row per scanner through query/rows.h.
 */
#include "../analytics/scan.h"
#include "../analytics/duration.h"
#include "../analytics/evidence.h"
#include "../core/err.h"
#include "../core/fmt.h"
#include "../core/units.h"
#include "../core/xalloc.h"
#include "../query/rows.h"
#include "args.h"
#include "cmd.h"
#include "detect_args.h"
#include "detect_feed.h"
#include "input.h"
#include "input_scan.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth scan"

_Static_assert(SCAN_BYTES_PER_FLOW == 56 && SCAN_BYTES_PER_BUSIEST == 80 &&
                   SCAN_BYTES_PER_SOURCE == 136,
               "--max-mem in the help text and the man page says 56, 80 and 136 bytes");

static const char usage_text[] =
    "usage: flowsleuth scan [-o FORMAT] [--internal NET ...] [--allow FILE ...] [-b]\n"
    "                       [--count N] [--count-internal N] [--window DURATION]\n"
    "                       [--theta0 P] [--theta1 P] [--alpha P] [--beta P]\n"
    "                       [--max-mem SIZE] [input options] [FILTER]\n"
    "\n"
    "Scanners: sources that probe many hosts (horizontal) or ports (vertical), one row\n"
    "each. Two rules: a Threshold Random Walk over each source's first contacts with new\n"
    "hosts (Jung et al. 2004: a host that did not answer is a miss), and a count of the\n"
    "distinct (host, port) pairs that never answered inside a sliding window.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --internal NET   our own network (address or prefix; repeatable): its sources\n"
    "                   get the --count-internal threshold\n"
    "  --allow FILE     leave out what FILE lists, one a line: a source address or\n"
    "                   prefix, or 'port N' (flows to destination port N); # comments\n"
    "  -b               pair uniflows (NetFlow: one record per direction) into biflows\n"
    "                   first, as stats -b; without answers every contact is a miss\n"
    "  --count N        failed pairs in the window that make a scanner (default 20);\n"
    "                   0 turns the count rule off\n"
    "  --count-internal N  the same for sources in --internal (default 50)\n"
    "  --window DURATION   the count rule's window: 90s, 30m, 1h, 2d or seconds\n"
    "                   (default 1h)\n"
    "  --theta0 P       TRW: chance that a benign source's contact is answered (0.8)\n"
    "  --theta1 P       TRW: the same for a scanner (0.2)\n"
    "  --alpha P        TRW: false-positive bound (0.01)\n"
    "  --beta P         TRW: detection probability (0.99)\n"
    "  --max-mem SIZE   memory for the flows held: 56 bytes a flow, 80 more for each\n"
    "                   flow of the busiest source, 136 a source (default 1Gi; k M G:\n"
    "                   1000, Ki Mi Gi: 1024; a plain number is MiB): past it the\n"
    "                   command stops with an error (narrow -t or the filter)\n"
    "  -h, --help       this help\n"
    "\n"
    "Columns: src, first, last (the source's flows; last is one millisecond past the\n"
    "last packet, so that 'flowsleuth print -t FIRST..LAST EVIDENCE' shows them all),\n"
    "targets (distinct hosts), ports (distinct TCP/UDP ports), kind (horizontal,\n"
    "vertical, block), method (trw, count, trw+count), score (>= 1: the strongest rule\n"
    "against its threshold), contacts (TRW: new hosts until the decision), failed\n"
    "(pairs never answered), flows, evidence (a filter selecting the source's flows).\n";

struct scan_cli {
    struct scan_opts so;
    struct netlist internal, allow;
    int mode, bi;
};

/* A probability strictly between 0 and 1: 0, or -1 after saying why. */
static int parse_prob(const char *name, const char *arg, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v > 0 && v < 1)) {
        fprintf(stderr, PROG ": %s needs a number between 0 and 1, not '%s'\n", name, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* --window: 0, or -1 after saying why. */
static int parse_window(const char *arg, uint64_t *ms)
{
    if (duration_parse_ms(arg, ms) == 0)
        return 0;
    fprintf(stderr, PROG ": --window needs a duration such as 30m, 1h or 3600, not '%s'\n", arg);
    return -1;
}

static int load_allow(struct scan_cli *c, const char *path)
{
    char msg[640] = "";
    int rc = netlist_load(&c->allow, path, msg, sizeof(msg));
    if (rc == FS_EINVAL)
        fprintf(stderr, PROG ": --allow %s\n", msg);
    else if (rc)
        fprintf(stderr, PROG ": --allow %s: %s\n", path, fs_strerror(rc));
    return rc ? -1 : 0;
}

enum {
    O_INTERNAL = DETECT_O_INTERNAL,
    O_MAXMEM = DETECT_O_MAXMEM,
    O_STATS = DETECT_O_STATS,
    O_ALLOW = DETECT_O_OWN,
    O_COUNT,
    O_COUNT_INT,
    O_WINDOW,
    O_THETA0,
    O_THETA1,
    O_ALPHA,
    O_BETA
};

/* The long options with a value: 0 or -1 (said why). */
static int value_opt(struct scan_cli *c, int opt, const char *arg)
{
    switch (opt) {
    case O_ALLOW:
        return load_allow(c, arg);
    case O_COUNT:
        return arg_u32("scan", "--count", arg, 0, 1000000000, &c->so.count_external);
    case O_COUNT_INT:
        return arg_u32("scan", "--count-internal", arg, 0, 1000000000, &c->so.count_internal);
    case O_WINDOW:
        return parse_window(arg, &c->so.window_ms);
    case O_THETA0:
        return parse_prob("--theta0", arg, &c->so.trw.theta0);
    case O_THETA1:
        return parse_prob("--theta1", arg, &c->so.trw.theta1);
    case O_ALPHA:
        return parse_prob("--alpha", arg, &c->so.trw.alpha);
    default:
        return parse_prob("--beta", arg, &c->so.trw.beta);
    }
}

/* One option: -1 to go on, else an exit status. */
static int scan_opt(void *vc, struct input_opts *in, int opt, const char *arg)
{
    struct scan_cli *c = vc;
    const struct detect_cmd d = {
        PROG, "scan", usage_text, &c->mode, &c->internal, &c->so.max_mem
    };
    int st = detect_cmd_opt(&d, in, opt, arg);
    if (st != DETECT_OPT_OWN)
        return st;
    if (opt != 'b')
        return value_opt(c, opt, arg) ? 2 : -1;
    c->bi = 1;
    return -1;
}

static int parse_args(int argc, char **argv, struct scan_cli *c, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "allow", required_argument, NULL, O_ALLOW },
                                              { "count", required_argument, NULL, O_COUNT },
                                              { "count-internal", required_argument, NULL,
                                                O_COUNT_INT },
                                              { "window", required_argument, NULL, O_WINDOW },
                                              { "theta0", required_argument, NULL, O_THETA0 },
                                              { "theta1", required_argument, NULL, O_THETA1 },
                                              { "alpha", required_argument, NULL, O_ALPHA },
                                              { "beta", required_argument, NULL, O_BETA },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "stats", no_argument, NULL, O_STATS },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int rc = detect_getopt(argc, argv, INPUT_OPTSTRING "o:bh", longopts, in, scan_opt, c);
    if (rc >= 0)
        return rc;
    return detect_input_args(in, PROG, argc, argv);
}

/* ---------------------------------------------------------------- output */

static const char *const cols[] = { "src",    "first", "last",     "targets", "ports", "kind",
                                    "method", "score", "contacts", "failed",  "flows", "evidence" };
static const unsigned char numeric[] = { 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0 };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

struct run {
    struct scan *scan;
    const struct scan_opts *so;
    struct rows rows;
    const char *filter; /* the user's filter on one line, or NULL */
    const struct netlist *allow;
    struct detect_seen seen;
};

/*
 * The evidence: the user's filter, the source, and the ports --allow left out, so that
 * print selects exactly the flows the detector took for this source.
 */
static void evidence(const struct run *r, const char *src, char *buf, size_t len)
{
    size_t n = 0;
    if (r->filter)
        n += (size_t)snprintf(buf, len, "(%s) and ", r->filter);
    if (n < len)
        n += (size_t)snprintf(buf + n, len - n, "src ip %s", src);
    if (!r->allow || !r->allow->nports || n >= len)
        return;
    n += (size_t)snprintf(buf + n, len - n, " and not dst port in [");
    for (size_t i = 0; i < r->allow->nports && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? " " : "", r->allow->ports[i]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

static int emit(void *ctx, const struct scan_finding *f)
{
    struct run *r = ctx;
    char src[FMT_ADDR_MAX], first[FMT_TIME_MAX], last[FMT_TIME_MAX], targets[16], ports[16];
    char score[32], contacts[16], failed[16], flows[24];
    size_t evlen = (r->filter ? strlen(r->filter) : 0) + 6 * r->allow->nports + 128;
    char *ev = xmalloc(evlen);
    fmt_addr(src, f->src, f->ipver);
    fmt_time_ms(first, f->first);
    fmt_time_ms(last, f->last + 1);
    snprintf(targets, sizeof(targets), "%" PRIu32, f->targets);
    snprintf(ports, sizeof(ports), "%" PRIu32, f->ports);
    snprintf(score, sizeof(score), "%.2f", f->score);
    snprintf(contacts, sizeof(contacts), "%" PRIu32, f->contacts);
    snprintf(failed, sizeof(failed), "%" PRIu32, f->failed);
    snprintf(flows, sizeof(flows), "%" PRIu64, f->flows);
    evidence(r, src, ev, evlen);
    const char *method = f->methods == (SCAN_TRW | SCAN_COUNT) ? "trw+count"
                         : f->methods == SCAN_TRW              ? "trw"
                                                               : "count";
    const char *cells[NCOLS] = { src,    first, last,     targets, ports, scan_kind_name(f->kind),
                                 method, score, contacts, failed,  flows, ev };
    rows_add(&r->rows, cells);
    free(ev);
    return 0;
}

static int add(void *ctx, const struct flow *f)
{
    struct run *r = ctx;
    return scan_add(r->scan, f);
}

/* --max-mem ran out in the parallel reading: again, in order. */
static void restart(void *ctx)
{
    struct run *r = ctx;
    int err;
    scan_free(r->scan);
    r->scan = scan_new(r->so, &err);
}

/* The decoding threads of input_scan feed the one detector in turn. */
struct par {
    struct run *run;
    pthread_mutex_t mu;
};

static int par_setup(void *ctx, size_t nthreads)
{
    (void)ctx;
    (void)nthreads;
    return 0;
}

static int par_flows(void *ctx, size_t t, const struct flow *v, size_t n)
{
    struct par *p = ctx;
    int stop = 0;
    (void)t;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < n && !stop; i++) {
        detect_seen_flow(&p->run->seen, &v[i]);
        stop = scan_add(p->run->scan, &v[i]) != 0;
    }
    pthread_mutex_unlock(&p->mu);
    return stop;
}

/*
 * Without -b the findings do not depend on the order of the flows, so the decoding
 * threads add what they decoded (only the fields scan reads) to the detector under a
 * lock, instead of handing every record to this thread. 1 with *status set, or 0 when
 * --max-mem ran out: then the caller reads again in order, on this thread, so that
 * the message counts the flows held as before.
 */
static int read_parallel(void *ctx, struct input_opts *in, int *status)
{
    struct run *r = ctx;
    static const struct scan_ops ops = { par_setup, par_flows };
    static const char *const used[] = { "src",   "dst",      "first",  "last",   "dport",   "proto",
                                        "ipver", "rpackets", "rbytes", "rflags", "rpayload" };
    struct par p = { r, PTHREAD_MUTEX_INITIALIZER };
    int stopped = 0;
    uint64_t want = detect_fields(used, sizeof(used) / sizeof(used[0]));
    *status = input_scan(in, PROG, want, &ops, &p, &stopped);
    pthread_mutex_destroy(&p.mu);
    return !stopped;
}

static int run_scan(struct scan_cli *c, struct input_opts *in)
{
    int err;
    struct run r = { 0 };
    r.scan = scan_new(&c->so, &err);
    if (!r.scan) {
        fprintf(stderr, PROG ": the TRW parameters need 0 < theta1 < theta0 < 1 and "
                             "0 < alpha < beta < 1\n");
        return 2;
    }
    r.filter = evidence_filter_line(in->filter_text);
    r.allow = &c->allow;
    static const struct detect_reader rd = { add, read_parallel, restart };
    r.so = &c->so;
    int status = detect_read(&rd, &r, &r.seen, in, PROG, c->bi, c->bi);
    detect_uniflow_hint(PROG, &r.seen, c->bi, "every contact looks unanswered");
    if (r.seen.full) {
        fprintf(stderr,
                PROG ": more flows than --max-mem holds (%zu flows of %d bytes and their "
                     "sources); narrow the time window (-t) or the filter, or raise "
                     "--max-mem\n",
                scan_flows(r.scan), SCAN_BYTES_PER_FLOW);
        status = 1;
    } else if (!in->open_failed) { /* inputs that did not open print no header */
        detect_rows_begin(&r.rows, cols, numeric, NCOLS, c->mode);
        scan_finish(r.scan, emit, &r);
        if (detect_rows_end(&r.rows, c->mode, PROG))
            status = 1;
    }
    free((char *)r.filter);
    scan_free(r.scan);
    return status;
}

int cmd_scan(int argc, char **argv)
{
    struct scan_cli c = { 0 };
    struct input_opts in = { 0 };
    c.so.trw = (struct trw_params)TRW_PARAMS_DEFAULT;
    c.so.count_external = 20;
    c.so.count_internal = 50;
    c.so.window_ms = 3600000;
    c.so.max_mem = (size_t)1 << 30;
    netlist_init(&c.internal);
    netlist_init(&c.allow);
    c.so.internal = &c.internal;
    c.so.allow = &c.allow;
    int status = parse_args(argc, argv, &c, &in);
    if (status < 0)
        status = run_scan(&c, &in);
    netlist_free(&c.internal);
    netlist_free(&c.allow);
    input_free(&in);
    return status;
}
