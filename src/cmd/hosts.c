/*
 * flowsleuth hosts: every host of our networks that the flows show, with when it was
 * first and last seen, its flows and bytes and the services it offered. The hosts are
 * src/analytics/hosts.c, the services src/analytics/services.c (the rule of
 * flowsleuth services); this file feeds both, joins them by address and prints one row
 * per host through query/rows.h.
 *
 * No software column: the identification behind flowsleuth inventory lives in
 * src/cmd/inventory.c with no library entry point to call, and needs a catalogue.
 */
#include "../analytics/hosts.h"
#include "../analytics/evidence.h"
#include "../analytics/services.h"
#include "../core/err.h"
#include "../core/fmt.h"
#include "../core/units.h"
#include "../core/xalloc.h"
#include "../query/rows.h"
#include "args.h"
#include "cmd.h"
#include "input.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth hosts"

_Static_assert(HOSTS_BYTES_PER_FLOW == 96 && SERVICES_BYTES_PER_FLOW == 64,
               "--max-mem in the help text and the man page says 96 and 64 bytes");

static const char usage_text[] =
    "usage: flowsleuth hosts [-o FORMAT] [--internal NET ...] [--max-mem SIZE]\n"
    "                        [input options] [FILTER]\n"
    "\n"
    "Every host of our networks that the flows show: when it was first and last seen,\n"
    "its flows and bytes, and the services it offered. A host is an address that sent\n"
    "something (began a flow, or answered one); an address only ever probed is none.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --internal NET   our network (address or prefix; repeatable): only its hosts\n"
    "                   are listed; default: every address that sent something\n"
    "  --max-mem SIZE   memory for the flows held: 96 bytes a flow for the hosts and\n"
    "                   64 an answered flow for their services, each up to SIZE\n"
    "                   (default 1Gi; k M G: 1000, Ki Mi Gi: 1024; a plain number is\n"
    "                   MiB): past it the command stops with an error\n"
    "  -h, --help       this help\n"
    "\n"
    "Columns: host, first, last (one millisecond past its last packet, so that\n"
    "'flowsleuth print -t FIRST..LAST EVIDENCE' shows them all), flows (every flow it\n"
    "took part in), initiated (flows it began), answered (flows it answered), bytes\n"
    "(both directions), services (proto/port it answered on, as flowsleuth services\n"
    "finds them), evidence. No software column: identification (flowsleuth inventory)\n"
    "needs a catalogue and has no library call yet.\n";

enum { O_INTERNAL = 1, O_MAXMEM, O_STATS };

struct hosts_cli {
    struct netlist internal;
    int mode;
    size_t max_mem;
};

/* One option: -1 to go on, else an exit status. */
static int hosts_opt(struct hosts_cli *c, struct input_opts *in, int opt, const char *arg)
{
    uint64_t v;
    switch (opt) {
    case 'o':
        c->mode = rows_mode_parse(arg);
        if (c->mode >= 0)
            return -1;
        fprintf(stderr, PROG ": unknown output format '%s' (table, csv, tsv, json)\n", arg);
        return 2;
    case O_INTERNAL:
        if (netlist_add_net(&c->internal, arg) == 0)
            return -1;
        fprintf(stderr, PROG ": --internal needs an address or prefix, not '%s'\n", arg);
        return 2;
    case O_MAXMEM:
        if (units_parse_str(arg, 1 << 20, &v) == 0 && v > 0 && v <= SIZE_MAX) {
            c->max_mem = (size_t)v;
            return -1;
        }
        fprintf(stderr, PROG ": --max-mem needs a size such as 512Mi or 2G, not '%s'\n", arg);
        return 2;
    case O_STATS:
        in->stats = 1;
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("hosts", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct hosts_cli *c, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "stats", no_argument, NULL, O_STATS },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, INPUT_OPTSTRING "o:h", longopts, NULL)) != -1) {
        int used = input_opt(in, opt, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        int rc = hosts_opt(c, in, opt, optarg);
        if (rc >= 0)
            return rc;
    }
    if (input_filter_args(in, argc - optind, argv + optind) || input_prepare(in, PROG))
        return 2;
    return -1;
}

/* ---------------------------------------------------------------- services */

/* A service as the join needs it: services_finish gives them in server order. */
struct svc_key {
    uint8_t server[16];
    uint8_t proto;
    uint16_t port;
};

struct svc_keys {
    struct svc_key *v;
    size_t n, cap, next; /* next: the join's position */
};

static int keep_service(void *ctx, const struct svc_row *s)
{
    struct svc_keys *k = ctx;
    if (s->status == SVC_MISSING)
        return 0;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
    }
    struct svc_key *e = &k->v[k->n++];
    memcpy(e->server, s->server, 16);
    e->proto = s->proto;
    e->port = s->port;
    return 0;
}

/* The services of addr ("tcp/22 udp/53"), the keys being in address order as the
 * hosts are: a new string. */
static char *services_of(struct svc_keys *k, const uint8_t addr[16])
{
    size_t cap = 64, n = 0;
    char *s = xmalloc(cap);
    s[0] = 0;
    while (k->next < k->n && memcmp(k->v[k->next].server, addr, 16) < 0)
        k->next++;
    for (; k->next < k->n && memcmp(k->v[k->next].server, addr, 16) == 0; k->next++) {
        const struct svc_key *e = &k->v[k->next];
        if (n + 16 > cap) {
            cap *= 2;
            s = xrealloc(s, cap);
        }
        n += (size_t)snprintf(s + n, cap - n, "%s%s/%u", n ? " " : "",
                              e->proto == 17 ? "udp" : "tcp", e->port);
    }
    return s;
}

/* ---------------------------------------------------------------- output */

static const char *const cols[] = { "host",     "first", "last",     "flows",   "initiated",
                                    "answered", "bytes", "services", "evidence" };
static const unsigned char numeric[] = { 0, 0, 0, 1, 1, 1, 1, 0, 0 };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

struct run {
    struct hosts *hosts;
    struct services *svc;
    struct svc_keys keys;
    struct rows rows;
    char *filter; /* the user's filter on one line, or NULL */
    int full;
};

static int emit(void *ctx, const struct host_row *h)
{
    struct run *r = ctx;
    char host[FMT_ADDR_MAX], first[FMT_TIME_MAX], last[FMT_TIME_MAX];
    char flows[24], init[24], ans[24], bytes[24];
    fmt_addr(host, h->addr, h->ipver);
    fmt_time_ms(first, h->first);
    fmt_time_ms(last, h->last + 1);
    snprintf(flows, sizeof(flows), "%" PRIu64, h->flows);
    snprintf(init, sizeof(init), "%" PRIu64, h->initiated);
    snprintf(ans, sizeof(ans), "%" PRIu64, h->answered);
    snprintf(bytes, sizeof(bytes), "%" PRIu64, h->bytes);
    char *svcs = services_of(&r->keys, h->addr);
    size_t evlen = (r->filter ? strlen(r->filter) : 0) + FMT_ADDR_MAX + 16;
    char *ev = xmalloc(evlen);
    snprintf(ev, evlen, "%s%s%sip %s", r->filter ? "(" : "", r->filter ? r->filter : "",
             r->filter ? ") and " : "", host);
    const char *cells[NCOLS] = { host, first, last, flows, init, ans, bytes, svcs, ev };
    rows_add(&r->rows, cells);
    free(ev);
    free(svcs);
    return 0;
}

static int take(void *ctx, const struct flow *f)
{
    struct run *r = ctx;
    if (hosts_add(r->hosts, f) == 0 && services_add(r->svc, f) == 0)
        return 0;
    r->full = 1;
    return 1;
}

static int print_rows(struct hosts_cli *c, struct run *r)
{
    services_finish(r->svc, keep_service, &r->keys);
    rows_init(&r->rows, cols, numeric, NCOLS);
    rows_stream(&r->rows, (enum rows_mode)c->mode, stdout);
    hosts_finish(r->hosts, emit, r);
    rows_print(&r->rows, (enum rows_mode)c->mode, stdout);
    rows_free(&r->rows);
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
    return 1;
}

static int run_hosts(struct hosts_cli *c, struct input_opts *in)
{
    struct hosts_opts ho = { &c->internal, c->max_mem };
    struct services_opts so = { &c->internal, NULL, c->max_mem };
    struct run r = { 0 };
    r.hosts = hosts_new(&ho);
    r.svc = services_new(&so);
    r.filter = evidence_filter_line(in->filter_text);
    int status = input_read(in, PROG, take, &r);
    if (r.full) {
        fprintf(stderr,
                PROG ": more flows than --max-mem holds (%zu host records of %d bytes, %zu "
                     "answered flows of %d); narrow the time window (-t) or the filter, or "
                     "raise --max-mem\n",
                hosts_records(r.hosts), HOSTS_BYTES_PER_FLOW / 2, services_flows(r.svc),
                SERVICES_BYTES_PER_FLOW);
        status = 1;
    } else if (!in->open_failed) { /* inputs that did not open print no header */
        status |= print_rows(c, &r);
    }
    free(r.keys.v);
    free(r.filter);
    hosts_free(r.hosts);
    services_free(r.svc);
    return status;
}

int cmd_hosts(int argc, char **argv)
{
    struct hosts_cli c = { 0 };
    struct input_opts in = { 0 };
    c.max_mem = (size_t)1 << 30;
    netlist_init(&c.internal);
    int status = parse_args(argc, argv, &c, &in);
    if (status < 0)
        status = run_hosts(&c, &in);
    netlist_free(&c.internal);
    input_free(&in);
    return status;
}
