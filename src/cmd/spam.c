/*
 * flowsleuth spam: hosts that send mail to many mail servers (SMTP fan-out), the
 * authorised relays excepted. The detector is src/analytics/spam.c; this file parses
 * options, feeds it flows and prints one row per source through query/rows.h.
 */
#include "../analytics/spam.h"
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

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG          "flowsleuth spam"
#define MAX_RELAY_ARG 64

_Static_assert(SPAM_BYTES_PER_FLOW == 72,
               "--max-mem in the help text and the man page says 72 bytes");

static const char usage_text[] =
    "usage: flowsleuth spam [-o FORMAT] [--internal NET ...] [--mail-servers NET ...]\n"
    "                       [--count N] [--window DURATION] [--ports LIST]\n"
    "                       [--max-mem SIZE] [input options] [FILTER]\n"
    "\n"
    "Spam sources: hosts that contact many mail servers (TCP 25, 465, 587), one row each.\n"
    "A host that sends its mail through the organisation's relays talks to one or two\n"
    "servers; a spam bot or an unauthorised mail server talks to many.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --internal NET   only sources inside NET (address or prefix; repeatable);\n"
    "                   default: every source\n"
    "  --mail-servers NET  the authorised relays (address or prefix; repeatable): not\n"
    "                   counted as sources (sending to many servers is their job) nor as\n"
    "                   servers (every client submits to them)\n"
    "  --count N        distinct servers in one window that make a spam source\n"
    "                   (default 10)\n"
    "  --window DURATION   the window: 90s, 30m, 1h, 2d or seconds (default 1h)\n"
    "  --ports LIST     the mail ports, comma-separated (default 25,465,587)\n"
    "  --max-mem SIZE   memory for the mail flows held (72 bytes each; default 1Gi;\n"
    "                   k M G: 1000, Ki Mi Gi: 1024; a plain number is MiB): past it the\n"
    "                   command stops with an error (narrow -t or the filter)\n"
    "  -h, --help       this help\n"
    "\n"
    "Columns: src, first, last (the source's mail flows; last is one millisecond past the\n"
    "last packet, so that 'flowsleuth print -t FIRST..LAST EVIDENCE' shows them all),\n"
    "servers (distinct), peak (the most distinct servers in one window), flows,\n"
    "evidence (a filter selecting those flows).\n";

struct spam_cli {
    struct spam_opts so;
    struct netlist internal, relays;
    char *relay_text; /* the relays as given, for the evidence: "A B/N ..." */
    int mode;
};

static int add_relay(struct spam_cli *c, const char *arg)
{
    if (strlen(arg) >= MAX_RELAY_ARG || netlist_add_net(&c->relays, arg) != 0) {
        fprintf(stderr, PROG ": --mail-servers needs an address or prefix, not '%s'\n", arg);
        return -1;
    }
    size_t old = c->relay_text ? strlen(c->relay_text) : 0, len = old + strlen(arg) + 2;
    c->relay_text = xrealloc(c->relay_text, len);
    snprintf(c->relay_text + old, len - old, "%s%s", old ? " " : "", arg);
    return 0;
}

/* "25,465,587": 0, or -1 after saying why. */
static int parse_ports(struct spam_cli *c, const char *arg)
{
    const char *p = arg;
    c->so.nports = 0;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (errno || end == p || *p == '-' || *p == '+' || v == 0 || v > 65535 ||
            (*end && *end != ',') || c->so.nports == SPAM_MAX_PORTS) {
            fprintf(stderr,
                    PROG ": --ports needs 1 to %d ports 1..65535, comma-separated, not '%s'\n",
                    SPAM_MAX_PORTS, arg);
            return -1;
        }
        c->so.ports[c->so.nports++] = (uint16_t)v;
        p = *end ? end + 1 : end;
    }
    if (c->so.nports)
        return 0;
    fprintf(stderr, PROG ": --ports needs at least one port\n");
    return -1;
}

enum {
    O_INTERNAL = DETECT_O_INTERNAL,
    O_MAXMEM = DETECT_O_MAXMEM,
    O_STATS = DETECT_O_STATS,
    O_RELAYS = DETECT_O_OWN,
    O_COUNT,
    O_WINDOW,
    O_PORTS
};

/* The options with a value: 0, or -1 after saying why. */
static int value_opt(struct spam_cli *c, int opt, const char *arg)
{
    switch (opt) {
    case O_RELAYS:
        return add_relay(c, arg);
    case O_COUNT:
        return arg_u32("spam", "--count", arg, 1, 100000000, &c->so.threshold);
    case O_WINDOW:
        if (duration_parse_ms(arg, &c->so.window_ms) == 0)
            return 0;
        fprintf(stderr, PROG ": --window needs a duration such as 30m, 1h or 3600, not '%s'\n",
                arg);
        return -1;
    default:
        return parse_ports(c, arg);
    }
}

/* One option: -1 to go on, else an exit status. */
static int spam_opt(void *vc, struct input_opts *in, int opt, const char *arg)
{
    struct spam_cli *c = vc;
    const struct detect_cmd d = {
        PROG, "spam", usage_text, &c->mode, &c->internal, &c->so.max_mem
    };
    int st = detect_cmd_opt(&d, in, opt, arg);
    if (st != DETECT_OPT_OWN)
        return st;
    return value_opt(c, opt, arg) ? 2 : -1;
}

static int parse_args(int argc, char **argv, struct spam_cli *c, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "mail-servers", required_argument, NULL, O_RELAYS },
                                              { "count", required_argument, NULL, O_COUNT },
                                              { "window", required_argument, NULL, O_WINDOW },
                                              { "ports", required_argument, NULL, O_PORTS },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "stats", no_argument, NULL, O_STATS },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int rc = detect_getopt(argc, argv, INPUT_OPTSTRING "o:h", longopts, in, spam_opt, c);
    if (rc >= 0)
        return rc;
    return detect_input_args(in, PROG, argc, argv);
}

/* ---------------------------------------------------------------- output */

static const char *const cols[] = {
    "src", "first", "last", "servers", "peak", "flows", "evidence"
};
static const unsigned char numeric[] = { 0, 0, 0, 1, 1, 1, 0 };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

struct run {
    struct spam *spam;
    struct rows rows;
    const struct spam_cli *cli;
    char *filter; /* the user's filter on one line, or NULL */
    struct detect_seen seen;
};

/* The source's mail flows as a filter: the user's filter, the source, the ports, and
 * not to the relays. */
static void evidence(const struct run *r, const char *src, char *buf, size_t len)
{
    const struct spam_cli *c = r->cli;
    size_t n = (size_t)snprintf(buf, len, "%s%s%ssrc ip %s and proto tcp and dst port in [",
                                r->filter ? "(" : "", r->filter ? r->filter : "",
                                r->filter ? ") and " : "", src);
    for (size_t i = 0; i < c->so.nports && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? " " : "", c->so.ports[i]);
    if (n < len)
        n += (size_t)snprintf(buf + n, len - n, "]");
    if (c->relay_text && n < len)
        snprintf(buf + n, len - n, " and not dst ip in [%s]", c->relay_text);
}

static int emit(void *ctx, const struct spam_finding *f)
{
    struct run *r = ctx;
    char src[FMT_ADDR_MAX], first[FMT_TIME_MAX], last[FMT_TIME_MAX];
    char servers[16], peak[16], flows[24];
    size_t evlen = (r->filter ? strlen(r->filter) : 0) +
                   (r->cli->relay_text ? strlen(r->cli->relay_text) : 0) + 192;
    char *ev = xmalloc(evlen);
    fmt_addr(src, f->src, f->ipver);
    fmt_time_ms(first, f->first);
    fmt_time_ms(last, f->last + 1);
    snprintf(servers, sizeof(servers), "%" PRIu32, f->servers);
    snprintf(peak, sizeof(peak), "%" PRIu32, f->peak);
    snprintf(flows, sizeof(flows), "%" PRIu64, f->flows);
    evidence(r, src, ev, evlen);
    const char *cells[NCOLS] = { src, first, last, servers, peak, flows, ev };
    rows_add(&r->rows, cells);
    free(ev);
    return 0;
}

static int add(void *ctx, const struct flow *f)
{
    struct run *r = ctx;
    return spam_add(r->spam, f);
}

static int run_spam(struct spam_cli *c, struct input_opts *in)
{
    struct run r = { 0 };
    r.spam = spam_new(&c->so);
    r.cli = c;
    r.filter = evidence_filter_line(in->filter_text);
    int status = detect_feed(in, PROG, 0, add, &r, &r.seen);
    if (r.seen.full) {
        fprintf(stderr,
                PROG ": more mail flows than --max-mem holds (%zu of %d bytes); narrow the "
                     "time window (-t) or the filter, or raise --max-mem\n",
                spam_flows(r.spam), SPAM_BYTES_PER_FLOW);
        status = 1;
    } else if (!in->open_failed) { /* inputs that did not open print no header */
        detect_rows_begin(&r.rows, cols, numeric, NCOLS, c->mode);
        spam_finish(r.spam, emit, &r);
        if (detect_rows_end(&r.rows, c->mode, PROG))
            status = 1;
    }
    free(r.filter);
    spam_free(r.spam);
    return status;
}

int cmd_spam(int argc, char **argv)
{
    static const uint16_t mail_ports[] = { 25, 465, 587 };
    struct spam_cli c = { 0 };
    struct input_opts in = { 0 };
    memcpy(c.so.ports, mail_ports, sizeof(mail_ports));
    c.so.nports = sizeof(mail_ports) / sizeof(mail_ports[0]);
    c.so.threshold = 10;
    c.so.window_ms = 3600000;
    c.so.max_mem = (size_t)1 << 30;
    netlist_init(&c.internal);
    netlist_init(&c.relays);
    c.so.internal = &c.internal;
    c.so.relays = &c.relays;
    int status = parse_args(argc, argv, &c, &in);
    if (status < 0)
        status = run_spam(&c, &in);
    netlist_free(&c.internal);
    netlist_free(&c.relays);
    free(c.relay_text);
    input_free(&in);
    return status;
}
