/*
 * flowsleuth pivot: one timeline for a host or a connection. Its flows (selected by
 * the filter `ip HOST` or `cid "1:..."` and the user's own), the Suricata alerts
 * joined to them by Community ID (--eve, analytics/eve.h), and for a host the DNS
 * answers of the EVE file that named its address, in time order, one row each through
 * query/rows.h.
 */
#include "../analytics/eve.h"
#include "../core/cid.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../query/output.h"
#include "../query/pdns.h"
#include "../query/rows.h"
#include "args.h"
#include "cmd.h"
#include "eve_opt.h"
#include "input.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth pivot"

static const char usage_text[] =
    "usage: flowsleuth pivot [-r PATH]... [-t FROM..TO] [-o FORMAT] [-c N]\n"
    "                        [--eve FILE [--eve-slack S]] HOST|CID [FILTER]\n"
    "\n"
    "One timeline for a host (an IPv4 or IPv6 address) or a connection (a Community ID,\n"
    "1:...): its flows, the Suricata alerts joined to them by Community ID (--eve) and,\n"
    "for a host, the DNS answers of the EVE file that gave its address and the names\n"
    "the passive DNS table of --pdns gives it; in time order.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  -c N             the first N flows only (and their alerts)\n" EVE_OPT_HELP
    "  -h, --help       this help\n"
    "\n"
    "Columns: time, last (a flow's last packet; a name's time_last), kind (flow, alert,\n"
    "dns, name), proto, src,\n"
    "sport, dst, dport, packets, bytes, rpackets, rbytes (a flow's counters), alerts\n"
    "(joined to a flow), severity, sid, category (an alert's; a flow's most severe\n"
    "alert), cid (Community ID), what (an alert's signature; a dns row's type and name;\n"
    "a name row's name and count).\n";

enum {
    C_TIME,
    C_LAST,
    C_KIND,
    C_PROTO,
    C_SRC,
    C_SPORT,
    C_DST,
    C_DPORT,
    C_PKTS,
    C_BYTES,
    C_RPKTS,
    C_RBYTES,
    C_ALERTS,
    C_SEV,
    C_SID,
    C_CAT,
    C_CID,
    C_WHAT,
    NCOLS
};

static const char *const col_names[NCOLS] = { "time",     "last",   "kind",   "proto",    "src",
                                              "sport",    "dst",    "dport",  "packets",  "bytes",
                                              "rpackets", "rbytes", "alerts", "severity", "sid",
                                              "category", "cid",    "what" };
static const unsigned char col_numeric[NCOLS] = { 0, 0, 0, 0, 0, 1, 0, 1, 1,
                                                  1, 1, 1, 1, 1, 1, 0, 0, 0 };

enum { K_FLOW, K_ALERT, K_DNS, K_NAME };

/* A passive DNS record naming the host (--pdns). */
struct name_rec {
    const char *name;
    uint32_t first, last, count;
};

struct event {
    int64_t t;
    int kind;
    size_t idx; /* into the flows, the alerts or the dns answers */
};

struct pivot {
    struct input_opts in;
    struct eve_opt eve;
    int mode;
    unsigned long long limit;
    int host; /* 1: HOST, 0: CID */
    uint8_t addr[16];
    int ipver;
    struct flow_vec flows;
    struct event *ev;
    size_t nev, capev;
    uint8_t *shown;         /* alerts already on the timeline (one bit each) */
    struct name_rec *names; /* the host's passive DNS records (--pdns) */
    size_t nnames, capnames;
};

static void add_event(struct pivot *p, int64_t t, int kind, size_t idx)
{
    if (p->nev == p->capev) {
        p->capev = p->capev ? p->capev * 2 : 256;
        p->ev = xrealloc(p->ev, p->capev * sizeof(*p->ev));
    }
    p->ev[p->nev++] = (struct event){ t, kind, idx };
}

/* HOST or CID: the filter that selects its flows, joined with the user's (-f or the
 * trailing words). 0, or 2 after saying what is wrong. */
static int subject_filter(struct pivot *p, const char *subject, int argc, char **argv)
{
    uint8_t d[CID_DIGEST];
    char sel[96];
    if (parse_addr(subject, p->addr, &p->ipver) == 0) {
        p->host = 1;
        snprintf(sel, sizeof(sel), "ip %s", subject);
    } else if (cid_parse(subject, strlen(subject), d) == 0) {
        snprintf(sel, sizeof(sel), "cid \"%s\"", subject);
    } else {
        fprintf(stderr, PROG ": '%s' is neither an address nor a Community ID (1:...)\n", subject);
        return 2;
    }
    if (input_filter_args(&p->in, argc, argv))
        return 2;
    char *user = p->in.filter_text;
    size_t n = strlen(sel) + (user ? strlen(user) : 0) + 16;
    p->in.filter_text = xmalloc(n);
    if (user)
        snprintf(p->in.filter_text, n, "%s and (%s)", sel, user);
    else
        snprintf(p->in.filter_text, n, "%s", sel);
    free(user);
    return 0;
}

static int pivot_opt(struct pivot *p, int c, const char *arg)
{
    char *end;
    switch (c) {
    case 'o':
        p->mode = rows_mode_parse(arg);
        if (p->mode >= 0)
            return 1;
        fprintf(stderr, PROG ": -o takes table, csv, tsv or json, not '%s'\n", arg);
        return -1;
    case 'c':
        p->limit = strtoull(arg, &end, 10);
        if (*end == '\0' && end != arg && *arg != '-')
            return 1;
        fprintf(stderr, PROG ": -c needs a number, not '%s'\n", arg);
        return -1;
    default:
        return eve_opt_parse(&p->eve, "pivot", c, arg);
    }
}

/* Returns -1 to run, else the exit status (0 after --help, 2 on bad usage). */
static int parse_args(struct pivot *p, int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              EVE_OPT_LONGOPTS,
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "o:c:h", longopts, NULL)) != -1) {
        int used = input_opt(&p->in, c, optarg);
        if (used == 0 && c == 1) {
            p->in.stats = 1;
            used = 1;
        }
        if (used == 0 && c != 'h' && c != '?')
            used = pivot_opt(p, c, optarg);
        if (used < 0)
            return 2;
        if (used)
            continue;
        if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        }
        return arg_usage_hint("pivot", usage_text);
    }
    if (optind >= argc) {
        fprintf(stderr, PROG ": which host or Community ID?\n");
        return arg_usage_hint("pivot", usage_text);
    }
    if (subject_filter(p, argv[optind], argc - optind - 1, argv + optind + 1) ||
        input_prepare(&p->in, PROG))
        return 2;
    return -1;
}

static int flow_first_cmp(const void *pa, const void *pb)
{
    const struct flow *a = pa, *b = pb;
    return (a->first > b->first) - (a->first < b->first);
}

static int event_cmp(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static void keep_name(void *ctx, const char *name, uint32_t first, uint32_t last, uint32_t count)
{
    struct pivot *p = ctx;
    /* Inside -t: the record's time range overlaps the window. */
    if ((p->in.from_ms && (uint64_t)last * 1000 + 999 < p->in.from_ms) ||
        (p->in.to_ms && (uint64_t)first * 1000 > p->in.to_ms))
        return;
    if (p->nnames == p->capnames) {
        p->capnames = p->capnames ? p->capnames * 2 : 16;
        p->names = xrealloc(p->names, p->capnames * sizeof(*p->names));
    }
    p->names[p->nnames] = (struct name_rec){ name, first, last, count };
    add_event(p, (int64_t)first * 1000, K_NAME, p->nnames++);
}

/* The flows, each flow's alerts once, and the host's DNS answers, as events. */
static void gather(struct pivot *p)
{
    const struct eve *e = &p->eve.eve;
    int64_t slack = (int64_t)p->eve.slack_s * 1000;
    if (p->eve.loaded)
        p->shown = xcalloc(e->nalerts / 8 + 1, 1);
    for (size_t i = 0; i < p->flows.n; i++) {
        const struct flow *f = &p->flows.v[i];
        add_event(p, (int64_t)f->first, K_FLOW, i);
        if (!p->eve.loaded || !eve_may_join(e, f))
            continue;
        uint8_t d[CID_DIGEST];
        size_t n;
        cid_digest(f, cid_seed(), d);
        const struct eve_alert *a =
            eve_range(e, d, (int64_t)f->first - slack, (int64_t)f->last + slack, &n);
        for (size_t k = 0; k < n; k++) {
            size_t idx = (size_t)(a + k - e->alerts);
            if (p->shown[idx / 8] & (1u << (idx % 8)))
                continue;
            p->shown[idx / 8] |= (uint8_t)(1u << (idx % 8));
            add_event(p, a[k].ts_ms, K_ALERT, idx);
        }
    }
    for (size_t i = 0; p->host && p->eve.loaded && i < e->ndns; i++) {
        const struct eve_dns *d = &e->dns[i];
        uint8_t a[16];
        int v;
        if (parse_addr(eve_str(e, d->rdata), a, &v) != 0 || v != p->ipver ||
            memcmp(a, p->addr, 16) != 0)
            continue;
        if ((p->in.from_ms && d->ts_ms < (int64_t)p->in.from_ms) ||
            (p->in.to_ms && d->ts_ms > (int64_t)p->in.to_ms))
            continue;
        add_event(p, d->ts_ms, K_DNS, i);
    }
    if (p->host)
        pdns_each(pdns_current(), p->addr, keep_name, p);
    if (p->nev > 1)
        qsort(p->ev, p->nev, sizeof(*p->ev), event_cmp);
}

/* Cell text for the columns every kind has. */
struct cells {
    char time[32], last[32], proto[8], src[48], sport[8], dst[48], dport[8];
    char pkts[24], bytes[24], rpkts[24], rbytes[24], alerts[16], sev[8], sid[16];
    char cid[CID_TEXT], what[512];
    const char *v[NCOLS];
};

static void put_time(char *buf, int64_t ms)
{
    fmt_time_ms(buf, ms < 0 ? 0 : (uint64_t)ms);
}

static void put_proto(char *buf, uint8_t proto)
{
    const char *name = proto_name(proto);
    if (name)
        snprintf(buf, 8, "%s", name);
    else
        snprintf(buf, 8, "%u", (unsigned)proto);
}

/* The tuple cells of src:sport -> dst:dport. */
static void put_tuple(struct cells *c, const uint8_t *src, uint16_t sport, const uint8_t *dst,
                      uint16_t dport, uint8_t proto, int ipver)
{
    put_proto(c->proto, proto);
    fmt_addr(c->src, src, ipver);
    fmt_addr(c->dst, dst, ipver);
    snprintf(c->sport, sizeof(c->sport), "%u", (unsigned)sport);
    snprintf(c->dport, sizeof(c->dport), "%u", (unsigned)dport);
    c->v[C_PROTO] = c->proto;
    c->v[C_SRC] = c->src;
    c->v[C_SPORT] = c->sport;
    c->v[C_DST] = c->dst;
    c->v[C_DPORT] = c->dport;
}

static void put_alert(struct cells *c, const struct eve *e, const struct eve_alert *a)
{
    c->sev[0] = '\0';
    if (a->severity != 255)
        snprintf(c->sev, sizeof(c->sev), "%u", (unsigned)a->severity);
    snprintf(c->sid, sizeof(c->sid), "%" PRIu32, a->sid);
    c->v[C_SEV] = c->sev;
    c->v[C_SID] = c->sid;
    c->v[C_CAT] = eve_str(e, a->category);
}

static void flow_cells(struct cells *c, const struct pivot *p, const struct flow *f)
{
    put_time(c->last, (int64_t)f->last);
    c->v[C_LAST] = c->last;
    put_tuple(c, f->src, f->sport, f->dst, f->dport, f->proto, f->ipver);
    snprintf(c->pkts, sizeof(c->pkts), "%" PRIu64, f->packets);
    snprintf(c->bytes, sizeof(c->bytes), "%" PRIu64, f->bytes);
    snprintf(c->rpkts, sizeof(c->rpkts), "%" PRIu64, f->rpackets);
    snprintf(c->rbytes, sizeof(c->rbytes), "%" PRIu64, f->rbytes);
    c->v[C_PKTS] = c->pkts;
    c->v[C_BYTES] = c->bytes;
    c->v[C_RPKTS] = c->rpkts;
    c->v[C_RBYTES] = c->rbytes;
    uint8_t d[CID_DIGEST];
    cid_digest(f, cid_seed(), d);
    cid_format(d, c->cid);
    c->v[C_CID] = c->cid;
    if (!p->eve.loaded)
        return;
    struct eve_hit hit;
    eve_opt_join(&p->eve, f, &hit);
    snprintf(c->alerts, sizeof(c->alerts), "%u", hit.n);
    c->v[C_ALERTS] = c->alerts;
    if (hit.best)
        put_alert(c, &p->eve.eve, hit.best);
}

static void event_row(struct rows *r, const struct pivot *p, const struct event *ev)
{
    static const char *const kinds[] = { "flow", "alert", "dns", "name" };
    const struct eve *e = &p->eve.eve;
    struct cells c;
    memset(c.v, 0, sizeof(c.v));
    put_time(c.time, ev->t);
    c.v[C_TIME] = c.time;
    c.v[C_KIND] = kinds[ev->kind];
    if (ev->kind == K_FLOW) {
        flow_cells(&c, p, &p->flows.v[ev->idx]);
    } else if (ev->kind == K_ALERT) {
        const struct eve_alert *a = &e->alerts[ev->idx];
        put_tuple(&c, a->src, a->sport, a->dst, a->dport, a->proto, a->ipver);
        put_alert(&c, e, a);
        cid_format(a->cid, c.cid);
        c.v[C_CID] = c.cid;
        c.v[C_WHAT] = eve_str(e, a->signature);
    } else if (ev->kind == K_NAME) {
        const struct name_rec *n = &p->names[ev->idx];
        put_time(c.last, (int64_t)n->last * 1000);
        c.v[C_LAST] = c.last;
        snprintf(c.what, sizeof(c.what), "%s (count %" PRIu32 ")", n->name, n->count);
        c.v[C_WHAT] = c.what;
    } else {
        const struct eve_dns *d = &e->dns[ev->idx];
        snprintf(c.what, sizeof(c.what), "%s %s", eve_str(e, d->rrtype), eve_str(e, d->rrname));
        c.v[C_WHAT] = c.what;
    }
    rows_add(r, c.v);
}

static int run_pivot(struct pivot *p)
{
    int status = eve_opt_open(&p->eve, "pivot", &p->in);
    if (status != 0)
        return status;
    status = input_read(&p->in, PROG, flow_vec_keep, &p->flows);
    if (p->in.open_failed)
        return status ? status : 1;
    if (p->flows.n > 1) /* qsort's array must not be NULL, even for none */
        qsort(p->flows.v, p->flows.n, sizeof(*p->flows.v), flow_first_cmp);
    if (p->limit && p->flows.n > p->limit)
        p->flows.n = (size_t)p->limit;
    gather(p);
    struct rows r;
    rows_init(&r, col_names, col_numeric, NCOLS);
    rows_stream(&r, (enum rows_mode)p->mode, stdout);
    for (size_t i = 0; i < p->nev; i++)
        event_row(&r, p, &p->ev[i]);
    rows_print(&r, (enum rows_mode)p->mode, stdout);
    rows_free(&r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": stdout: write error\n");
        status = 1;
    }
    return status;
}

int cmd_pivot(int argc, char **argv)
{
    struct pivot p;
    memset(&p, 0, sizeof(p));
    int status = parse_args(&p, argc, argv);
    if (status < 0)
        status = run_pivot(&p);
    eve_opt_end(&p.eve, "pivot");
    input_free(&p.in);
    free(p.flows.v);
    free(p.ev);
    free(p.shown);
    free(p.names);
    return status;
}
