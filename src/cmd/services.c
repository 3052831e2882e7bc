/*
 * flowsleuth services: the services seen answering in the flows, against an authorised
 * inventory. The profile is src/analytics/services.c; this file parses options, feeds
 * it flows and prints one row per service (and per authorised entry never seen)
 * through query/rows.h.
 */
#include "../analytics/services.h"
#include "../analytics/evidence.h"
#include "../analytics/services_profile.h"
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

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth services"

_Static_assert(SERVICES_BYTES_PER_PAIR == 16 && SERVICES_BYTES_PER_SERVICE == 160 &&
                   SERVICES_BYTES_PER_CLIENT == 64,
               "--max-mem in the help text and the man page says 16, 160 and 64 bytes");

static const char usage_text[] =
    "usage: flowsleuth services [-o FORMAT] [--internal NET ...] [--authorised FILE.csv]\n"
    "                           [-b] [--max-mem SIZE] [-w PROFILE] [--since PROFILE]\n"
    "                           [input options] [FILTER]\n"
    "\n"
    "Services that answered: (server, protocol, port) with a completed TCP handshake\n"
    "(SYN+ACK seen, or 4 or more ACK-bearing reverse packets where the start was not\n"
    "seen) or UDP replies; one row each, marked against an authorised inventory.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --internal NET   only servers inside NET (address or prefix; repeatable);\n"
    "                   default: servers anywhere\n"
    "  --authorised FILE.csv  the authorised inventory: a header server,proto,port, then\n"
    "                   one service a line (server an address or prefix, proto tcp or\n"
    "                   udp); seen services become authorised or unexpected, entries\n"
    "                   never seen are printed as missing. Without it every service is\n"
    "                   unexpected\n"
    "  -w PROFILE       save the services seen as a profile (text, replaced whole);\n"
    "                   with --since, merged into that profile (a rolling profile)\n"
    "  --since PROFILE  add a since column: new for a service the profile lacks, else\n"
    "                   the time the profile first saw it\n"
    "  -b               pair uniflows (NetFlow: one record per direction) into biflows\n"
    "                   first, as stats -b; without answers no service is seen\n"
    "  --max-mem SIZE   memory for what is held: 16 bytes an answered flow, 160 a\n"
    "                   service, 64 a client (default 1Gi; k M G: 1000, Ki Mi Gi:\n"
    "                   1024; a plain number is MiB): past it the command stops with\n"
    "                   an error (narrow -t or the filter)\n"
    "  -h, --help       this help\n"
    "\n"
    "Columns: server, proto, port, clients (distinct), flows, bytes (both directions),\n"
    "first, last (one millisecond past the last packet, so that 'flowsleuth print\n"
    "-t FIRST..LAST EVIDENCE' shows them all), status (authorised, unexpected, missing),\n"
    "since (with --since), evidence. Where no handshake was seen (TCP without SYN+ACK,\n"
    "UDP) a port from 32768 up, or from 1024 up answering a port below 1024, is no\n"
    "service: a client's ephemeral port never shows up as one.\n";

struct svc_cli {
    struct netlist internal;
    struct svc_authlist auth;
    int have_auth, mode, bi;
    size_t max_mem;
    const char *since_path, *save_path; /* --since, -w */
};

enum {
    O_INTERNAL = DETECT_O_INTERNAL,
    O_MAXMEM = DETECT_O_MAXMEM,
    O_STATS = DETECT_O_STATS,
    O_AUTH = DETECT_O_OWN,
    O_SINCE
};

/* One option: -1 to go on, else an exit status. */
static int svc_opt(void *vc, struct input_opts *in, int opt, const char *arg)
{
    struct svc_cli *c = vc;
    const struct detect_cmd d = {
        PROG, "services", usage_text, &c->mode, &c->internal, &c->max_mem
    };
    int st = detect_cmd_opt(&d, in, opt, arg);
    if (st != DETECT_OPT_OWN)
        return st;
    switch (opt) {
    case O_AUTH:
        return detect_authorised(PROG, arg, &c->auth, &c->have_auth) ? 2 : -1;
    case 'b':
        c->bi = 1;
        return -1;
    case 'w':
        c->save_path = arg;
        return -1;
    default: /* O_SINCE */
        c->since_path = arg;
        return -1;
    }
}

static int parse_args(int argc, char **argv, struct svc_cli *c, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "authorised", required_argument, NULL, O_AUTH },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "stats", no_argument, NULL, O_STATS },
                                              { "since", required_argument, NULL, O_SINCE },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int rc = detect_getopt(argc, argv, INPUT_OPTSTRING "o:bw:h", longopts, in, svc_opt, c);
    if (rc >= 0)
        return rc;
    return detect_input_args(in, PROG, argc, argv);
}

/* ---------------------------------------------------------------- output */

static const char *const cols[] = { "server", "proto", "port",   "clients", "flows",   "bytes",
                                    "first",  "last",  "status", "since",   "evidence" };
static const unsigned char numeric[] = { 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0 };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))
/* Without --since the since column is left out: cols_plain is cols without it. */
static const char *const cols_plain[] = { "server", "proto", "port", "clients", "flows",
                                          "bytes",  "first", "last", "status",  "evidence" };
#define COL_SINCE 9

_Static_assert(SERVICES_MIN_RPACKETS == 4, "the evidence filter below spells the rule out");

struct run {
    struct services *svc;
    struct rows rows;
    const struct services_opts *so;
    char *filter; /* the user's filter on one line, or NULL */
    struct detect_seen seen;
    struct svc_profile *prof; /* --since's profile (or empty), -w's merged into it */
    int since, save;          /* --since given; -w given */
};

/* The since cell: "new" when the profile lacks the service, else the profile's first
 * time; and -w's merge. Missing rows have neither. */
static void since_cell(struct run *r, const struct svc_row *s, char *buf)
{
    buf[0] = 0;
    if (s->status == SVC_MISSING)
        return;
    if (r->since) {
        const struct svc_prow *p = svc_profile_find(r->prof, s->server, s->proto, s->port);
        if (p)
            fmt_time_ms(buf, p->first);
        else
            snprintf(buf, FMT_TIME_MAX, "new");
    }
    if (r->save)
        svc_profile_merge(r->prof, s);
}

/* The flows that showed the service: the rule of services.h as a filter. */
static void evidence(const struct run *r, const struct svc_row *s, const char *server, char *buf,
                     size_t len)
{
    const char *answered = "";
    if (s->status == SVC_MISSING)
        answered = "";
    else if (s->proto == 17)
        answered = s->port >= 1024 ? " and rpackets > 0 and src port >= 1024" : " and rpackets > 0";
    else if (s->port >= SERVICES_EPHEMERAL)
        answered = " and rflags SA";
    else if (s->port >= 1024)
        answered = " and (rflags SA or (rflags A and rpackets >= 4 and src port >= 1024))";
    else
        answered = " and (rflags SA or (rflags A and rpackets >= 4))";
    snprintf(buf, len, "%s%s%sdst ip %s and proto %s and dst port %u%s", r->filter ? "(" : "",
             r->filter ? r->filter : "", r->filter ? ") and " : "", server,
             s->proto == 17 ? "udp" : "tcp", s->port, answered);
}

static int emit(void *ctx, const struct svc_row *s)
{
    struct run *r = ctx;
    char server[FMT_ADDR_MAX], first[FMT_TIME_MAX] = "", last[FMT_TIME_MAX] = "";
    char port[8], clients[24], flows[24], bytes[24];
    size_t evlen = (r->filter ? strlen(r->filter) : 0) + 192;
    char *ev = xmalloc(evlen);
    if (s->server_text)
        snprintf(server, sizeof(server), "%s", s->server_text);
    else
        fmt_addr(server, s->server, s->ipver);
    if (s->status != SVC_MISSING) {
        fmt_time_ms(first, s->first);
        fmt_time_ms(last, s->last + 1);
    }
    snprintf(port, sizeof(port), "%u", s->port);
    snprintf(clients, sizeof(clients), "%" PRIu64, s->clients);
    snprintf(flows, sizeof(flows), "%" PRIu64, s->flows);
    snprintf(bytes, sizeof(bytes), "%" PRIu64, s->bytes);
    evidence(r, s, server, ev, evlen);
    char since[FMT_TIME_MAX];
    since_cell(r, s, since);
    const char *cells[NCOLS] = {
        server, s->proto == 17 ? "udp" : "tcp",  port,  clients, flows, bytes, first,
        last,   services_status_name(s->status), since, ev
    };
    if (!r->since) /* no since column */
        memmove(&cells[COL_SINCE], &cells[COL_SINCE + 1], sizeof(cells[0]));
    rows_add(&r->rows, cells);
    free(ev);
    return 0;
}

static int add(void *ctx, const struct flow *f)
{
    struct run *r = ctx;
    return services_add(r->svc, f);
}

/* A thread's share of --max-mem ran out: again, on one, whose bound is the whole. */
static void restart(void *ctx)
{
    struct run *r = ctx;
    services_free(r->svc);
    r->svc = services_new(r->so);
}

/* One services state and counts per reading thread (input_scan), merged after. */
struct par {
    const struct services_opts *so;
    struct services **s;
    uint64_t (*cnt)[2]; /* flows read, those with reverse counters */
    size_t n;
};

static int par_setup(void *ctx, size_t nthreads)
{
    struct par *p = ctx;
    struct services_opts so = *p->so;
    so.max_mem /= nthreads;
    p->s = xcalloc(nthreads, sizeof(struct services *));
    p->cnt = xcalloc(nthreads, sizeof(*p->cnt));
    p->n = nthreads;
    for (size_t t = 0; t < nthreads; t++)
        p->s[t] = services_new(&so);
    return 0;
}

static int par_flows(void *ctx, size_t t, const struct flow *v, size_t n)
{
    struct par *p = ctx;
    for (size_t i = 0; i < n; i++) {
        p->cnt[t][0]++;
        p->cnt[t][1] += v[i].rpackets > 0 || v[i].rbytes > 0;
        if (services_add(p->s[t], &v[i]) != 0)
            return 1;
    }
    return 0;
}

/*
 * Without -b the profile does not depend on the order of the flows, so every decoding
 * thread adds what it decoded to a state of its own (decoding only the fields the rule
 * reads) and the states are merged into r->svc. 1 with *status set (r->seen.full when the
 * merge does not fit), or 0 when a thread's share of --max-mem ran out: then read
 * again on one thread, whose bound is the whole.
 */
static int read_parallel(void *ctx, struct input_opts *in, int *status)
{
    struct run *r = ctx;
    static const struct scan_ops ops = { par_setup, par_flows };
    static const char *const used[] = { "src",      "dst",   "first", "last",  "bytes", "rbytes",
                                        "rpackets", "ipver", "proto", "sport", "dport", "rflags" };
    struct par p = { r->so, NULL, NULL, 0 };
    int stopped = 0;
    uint64_t want = detect_fields(used, sizeof(used) / sizeof(used[0]));
    *status = input_scan(in, PROG, want, &ops, &p, &stopped);
    for (size_t t = 0; t < p.n; t++) {
        r->seen.flows += p.cnt[t][0];
        r->seen.answered += p.cnt[t][1];
        if (!stopped && !r->seen.full && services_merge(r->svc, p.s[t]) != 0)
            r->seen.full = 1;
        services_free(p.s[t]);
    }
    free(p.s);
    free(p.cnt);
    return !stopped;
}

/* --since's profile: 0, or 2 after naming the file and line. */
static int load_since(const struct svc_cli *c, struct svc_profile *p)
{
    struct fs_err e = { 0 };
    if (!c->since_path || svc_profile_load(p, c->since_path, &e) == 0)
        return 0;
    fprintf(stderr, PROG ": --since %s\n", e.msg);
    return 2;
}

/* The rows, the -w profile: the exit status. */
static int print_rows(struct svc_cli *c, struct run *r)
{
    int status = 0;
    detect_rows_begin(&r->rows, r->since ? cols : cols_plain, numeric, NCOLS - !r->since, c->mode);
    services_finish(r->svc, emit, r);
    if (detect_rows_end(&r->rows, c->mode, PROG))
        status = 1;
    struct fs_err e = { 0 };
    if (c->save_path && svc_profile_save(r->prof, c->save_path, &e) != 0) {
        fprintf(stderr, PROG ": -w %s\n", e.msg);
        status = 1;
    }
    return status;
}

static int run_services(struct svc_cli *c, struct input_opts *in)
{
    struct services_opts so = { &c->internal, c->have_auth ? &c->auth : NULL, c->max_mem };
    struct svc_profile prof;
    struct run r = { 0 };
    svc_profile_init(&prof);
    int status = load_since(c, &prof);
    if (status) {
        svc_profile_free(&prof);
        return status;
    }
    r.prof = &prof;
    r.since = c->since_path != NULL;
    r.save = c->save_path != NULL;
    static const struct detect_reader rd = { add, read_parallel, restart };
    r.so = &so;
    r.svc = services_new(&so);
    r.filter = evidence_filter_line(in->filter_text);
    status = detect_read(&rd, &r, &r.seen, in, PROG, c->bi, c->bi);
    detect_uniflow_hint(PROG, &r.seen, c->bi, "no service can be seen answering");
    if (r.seen.full) {
        fprintf(stderr,
                PROG ": more answered flows than --max-mem holds (%zu of %d bytes, their "
                     "services and clients); narrow the time window (-t) or the filter, or "
                     "raise --max-mem\n",
                services_flows(r.svc), SERVICES_BYTES_PER_PAIR);
        status = 1;
    } else if (!in->open_failed) { /* inputs that did not open print no header */
        status |= print_rows(c, &r);
    }
    free(r.filter);
    services_free(r.svc);
    svc_profile_free(&prof);
    return status;
}

int cmd_services(int argc, char **argv)
{
    struct svc_cli c = { 0 };
    struct input_opts in = { 0 };
    c.max_mem = (size_t)1 << 30;
    netlist_init(&c.internal);
    int status = parse_args(argc, argv, &c, &in);
    if (status < 0)
        status = run_services(&c, &in);
    netlist_free(&c.internal);
    services_authlist_free(&c.auth);
    input_free(&in);
    return status;
}
