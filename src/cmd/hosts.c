/*
 * flowsleuth hosts: every host of our networks that the flows show, with when it was
 * first and last seen, its flows and bytes and the services it offered. The hosts are
 * src/analytics/hosts.c, the services src/analytics/services.c (the rule of
 * flowsleuth services); this file feeds both, joins them by address and prints one row
 * per host through query/rows.h.
 *
 * With -c CAT, each host's software too: the flows worth matching are kept as
 * flowsleuth inventory keeps them (match.h's batch), matched once the reading is done,
 * and src/detect/hostsw.c joins the unique matches to the hosts by address.
 */
#include "../analytics/hosts.h"
#include "../analytics/evidence.h"
#include "../analytics/services.h"
#include "../core/err.h"
#include "../core/fmt.h"
#include "../core/units.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/hostsw.h"
#include "../detect/match.h"
#include "../detect/model.h"
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

#define PROG "flowsleuth hosts"

_Static_assert(HOSTS_BYTES_PER_HOST == 176 && SERVICES_BYTES_PER_PAIR == 16 &&
                   SERVICES_BYTES_PER_SERVICE == 160 && SERVICES_BYTES_PER_CLIENT == 64,
               "--max-mem in the help text and the man page says 176, 16, 160 and 64 bytes");

static const char usage_text[] =
    "usage: flowsleuth hosts [-o FORMAT] [--internal NET ...] [--max-mem SIZE]\n"
    "                        [-c CAT [--model-file MODEL] [model options]]\n"
    "                        [input options] [FILTER]\n"
    "\n"
    "Every host of our networks that the flows show: when it was first and last seen,\n"
    "its flows and bytes, and the services it offered. A host is an address that sent\n"
    "something (began a flow, or answered one); an address only ever probed is none.\n"
    "\n" INPUT_HELP "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n"
    "  --internal NET   our network (address or prefix; repeatable): only its hosts\n"
    "                   are listed; default: every address that sent something\n"
    "  --max-mem SIZE   memory for what is held, each part up to SIZE: 176 bytes a\n"
    "                   host; for their services 16 an answered flow, 160 a service\n"
    "                   and 64 a client (default 1Gi; k M G: 1000, Ki Mi Gi: 1024; a\n"
    "                   plain number is MiB): past it the command stops with an error\n"
    "  -c CAT           the catalogue (flowsleuth catalog debian|import): add the\n"
    "                   software each host's downloads reveal, identified as by\n"
    "                   flowsleuth inventory (only unique matches count); the flows\n"
    "                   worth matching are held too, up to --max-mem\n"
    "  --model-file MODEL  a nearest model saved by flowsleuth learn (as inventory)\n" MATCH_HELP
        MATCH_RANGES_HELP "  -h, --help       this help\n"
    "\n"
    "Columns: host, first, last (one millisecond past its last packet, so that\n"
    "'flowsleuth print -t FIRST..LAST EVIDENCE' shows them all), flows (every flow it\n"
    "took part in), initiated (flows it began), answered (flows it answered), bytes\n"
    "(both directions), services (proto/port it answered on, as flowsleuth services\n"
    "finds them), evidence. With -c also packages (how many distinct packages its\n"
    "downloads named) and software (each as 'name version arch', by name; in json an\n"
    "array of objects with name, version, arch and flows) before evidence.\n";

enum {
    O_INTERNAL = DETECT_O_INTERNAL,
    O_MAXMEM = DETECT_O_MAXMEM,
    O_STATS = DETECT_O_STATS,
    O_MODEL = DETECT_O_OWN
};

struct hosts_cli {
    struct netlist internal;
    int mode;
    size_t max_mem;
    const char *catpath;    /* -c */
    const char *model_file; /* --model-file */
    struct match_opts mo;
};

static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                          { "internal", required_argument, NULL, O_INTERNAL },
                                          { "max-mem", required_argument, NULL, O_MAXMEM },
                                          { "stats", no_argument, NULL, O_STATS },
                                          { "model-file", required_argument, NULL, O_MODEL },
                                          MATCH_LONGOPTS,
                                          MATCH_RANGES_OPT,
                                          INPUT_LONGOPTS,
                                          { NULL, 0, NULL, 0 } };

/* One option: -1 to go on, else an exit status. */
static int hosts_opt(void *vc, struct input_opts *in, int opt, const char *arg)
{
    struct hosts_cli *c = vc;
    struct fs_err err = { 0 };
    int mr = match_option(&c->mo, opt, arg, &err);
    if (mr < 0) {
        for (const struct option *o = longopts; o->name; o++)
            if (o->val == opt)
                fprintf(stderr, PROG ": --%s: %s\n", o->name, err.msg);
        return 2;
    }
    if (mr == 0)
        return -1;
    const struct detect_cmd d = { PROG, "hosts", usage_text, &c->mode, &c->internal, &c->max_mem };
    int st = detect_cmd_opt(&d, in, opt, arg);
    if (st != DETECT_OPT_OWN)
        return st;
    if (opt == 'c')
        c->catpath = arg;
    else /* O_MODEL */
        c->model_file = arg;
    return -1;
}

static int parse_args(int argc, char **argv, struct hosts_cli *c, struct input_opts *in)
{
    int rc = detect_getopt(argc, argv, INPUT_OPTSTRING "c:o:h", longopts, in, hosts_opt, c);
    if (rc >= 0)
        return rc;
    if (c->model_file && !c->catpath) {
        fprintf(stderr, PROG ": --model-file needs -c CAT\n");
        return 2;
    }
    return detect_input_args(in, PROG, argc, argv);
}

/* ---------------------------------------------------------------- software */

/* The catalogue, the model and the flows to match (-c). */
struct software {
    struct catalog cat;
    struct model model;
    struct match_batch batch;
    struct hostsw *sw;
};

/* Load the catalogue and the model as flowsleuth inventory does: 0, or 1 (printed). */
static int software_load(struct hosts_cli *c, struct software *w)
{
    struct fs_err err = { 0 };
    if (catalog_load(&w->cat, c->catpath, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    struct cat_dropped d;
    if (catalog_clean(&w->cat, &d)) {
        char msg[160];
        catalog_dropped_text(&d, msg, sizeof(msg));
        fprintf(stderr, PROG ": %s: %s\n", c->catpath, msg);
    }
    if (c->model_file && model_load(&w->model, c->model_file, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    if (c->model_file && w->model.kind != MODEL_NEAREST) {
        fprintf(stderr, PROG ": %s: a %s model names one entry per flow; use it with match\n",
                c->model_file, model_kind_name(w->model.kind));
        return 1;
    }
    if (c->model_file)
        w->cat.model = &w->model.near;
    w->batch.o = &c->mo;
    w->batch.max_mem = c->max_mem;
    w->sw = hostsw_new(&w->cat);
    return 0;
}

static void software_free(struct software *w)
{
    hostsw_free(w->sw);
    match_batch_free(&w->batch);
    catalog_free(&w->cat);
    model_free(&w->model);
}

/* JSON string body of s (quotes and backslashes escaped, control bytes as \u00XX). */
static void json_str(char **buf, size_t *n, size_t *cap, const char *s)
{
    for (; *s; s++) {
        if (*n + 8 > *cap) {
            *cap *= 2;
            *buf = xrealloc(*buf, *cap);
        }
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            *n += (size_t)snprintf(*buf + *n, *cap - *n, "\\%c", ch);
        else if (ch < 0x20)
            *n += (size_t)snprintf(*buf + *n, *cap - *n, "\\u%04x", ch);
        else
            (*buf)[(*n)++] = (char)ch;
    }
    (*buf)[*n] = 0;
}

/* Append printf-style text to buf. */
static void put(char **buf, size_t *n, size_t *cap, const char *a, const char *b, const char *c2)
{
    size_t need = strlen(a) + strlen(b) + strlen(c2) + 1;
    while (*n + need > *cap) {
        *cap *= 2;
        *buf = xrealloc(*buf, *cap);
    }
    *n += (size_t)snprintf(*buf + *n, *cap - *n, "%s%s%s", a, b, c2);
}

/* The software cell of a host: "name version arch, ..." or, for json, an array of
 * objects. A new string. */
static char *software_cell(const struct hostsw_pkg *p, size_t np, int json)
{
    size_t cap = 128, n = 0;
    char *s = xmalloc(cap);
    s[0] = 0;
    if (json)
        put(&s, &n, &cap, "[", "", "");
    for (size_t i = 0; i < np; i++) {
        const struct cat_entry *e = p[i].e;
        if (!json) {
            put(&s, &n, &cap, i ? ", " : "", e->name, " ");
            put(&s, &n, &cap, e->version, *e->arch ? " " : "", e->arch);
            continue;
        }
        char flows[24];
        snprintf(flows, sizeof(flows), "%" PRIu64, p[i].flows);
        put(&s, &n, &cap, i ? "," : "", "{\"name\":\"", "");
        json_str(&s, &n, &cap, e->name);
        put(&s, &n, &cap, "\",\"version\":\"", "", "");
        json_str(&s, &n, &cap, e->version);
        put(&s, &n, &cap, "\",\"arch\":\"", "", "");
        json_str(&s, &n, &cap, e->arch);
        put(&s, &n, &cap, "\",\"flows\":", flows, "}");
    }
    if (json)
        put(&s, &n, &cap, "]", "", "");
    return s;
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
/* With -c: packages and software before evidence; in json software is an array. */
static const char *const swcols[] = { "host",      "first",    "last",    "flows",
                                      "initiated", "answered", "bytes",   "services",
                                      "packages",  "software", "evidence" };
static const unsigned char swnumeric[] = { 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0 };
static const unsigned char swnumeric_json[] = { 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0 };
#define SWCOLS (sizeof(swcols) / sizeof(swcols[0]))

struct run {
    struct hosts *hosts;
    struct services *svc;
    struct svc_keys keys;
    struct rows rows;
    const struct hosts_opts *ho;
    const struct services_opts *so;
    char *filter; /* the user's filter on one line, or NULL */
    struct detect_seen seen;
    struct software *sw; /* -c, else NULL */
    int json;
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
    if (!r->sw) {
        const char *cells[NCOLS] = { host, first, last, flows, init, ans, bytes, svcs, ev };
        rows_add(&r->rows, cells);
    } else {
        const struct hostsw_pkg *p;
        size_t np = hostsw_of(r->sw->sw, h->addr, &p);
        char npk[24];
        snprintf(npk, sizeof(npk), "%zu", np);
        char *soft = software_cell(p, np, r->json);
        const char *cells[SWCOLS] = { host,  first, last, flows, init, ans,
                                      bytes, svcs,  npk,  soft,  ev };
        rows_add(&r->rows, cells);
        free(soft);
    }
    free(ev);
    free(svcs);
    return 0;
}

static int add(void *ctx, const struct flow *f)
{
    struct run *r = ctx;
    return hosts_add(r->hosts, f) != 0 || services_add(r->svc, f) != 0 ||
           (r->sw && match_batch_add(&r->sw->batch, f) != 0);
}

/* A thread's share of --max-mem ran out: again, on one, whose bound is the whole. */
static void restart(void *ctx)
{
    struct run *r = ctx;
    hosts_free(r->hosts);
    services_free(r->svc);
    r->hosts = hosts_new(r->ho);
    r->svc = services_new(r->so);
}

static int print_rows(struct hosts_cli *c, struct run *r)
{
    const char *const *names = cols;
    const unsigned char *num = numeric;
    size_t ncols = NCOLS;
    services_finish(r->svc, keep_service, &r->keys);
    if (r->sw) {
        if (r->sw->batch.n || r->sw->batch.pklen)
            match_run_batch(&r->sw->cat, &r->sw->batch, hostsw_on_result, r->sw->sw);
        hostsw_finish(r->sw->sw);
        if (r->sw->batch.pieces_dropped)
            fprintf(stderr,
                    PROG ": %zu possible range pieces not kept or not grouped (--max-mem): "
                         "range downloads among them are not named\n",
                    r->sw->batch.pieces_dropped);
        names = swcols;
        num = c->mode == ROWS_JSON ? swnumeric_json : swnumeric;
        ncols = SWCOLS;
    }
    detect_rows_begin(&r->rows, names, num, ncols, c->mode);
    hosts_finish(r->hosts, emit, r);
    return detect_rows_end(&r->rows, c->mode, PROG);
}

/* One hosts and one services state per reading thread (input_scan), merged after. */
struct par {
    const struct run *r;
    struct hosts **h;
    struct services **s;
    size_t n;
};

static int par_setup(void *ctx, size_t nthreads)
{
    struct par *p = ctx;
    struct hosts_opts ho = *p->r->ho;
    struct services_opts so = *p->r->so;
    ho.max_mem /= nthreads;
    so.max_mem /= nthreads;
    p->h = xcalloc(nthreads, sizeof(struct hosts *));
    p->s = xcalloc(nthreads, sizeof(struct services *));
    p->n = nthreads;
    for (size_t t = 0; t < nthreads; t++) {
        p->h[t] = hosts_new(&ho);
        p->s[t] = services_new(&so);
    }
    return 0;
}

static int par_flows(void *ctx, size_t t, const struct flow *v, size_t n)
{
    struct par *p = ctx;
    for (size_t i = 0; i < n; i++)
        if (hosts_add(p->h[t], &v[i]) != 0 || services_add(p->s[t], &v[i]) != 0)
            return 1;
    return 0;
}

/*
 * Without -c the hosts' and services' sums do not depend on the order of the flows, so
 * every decoding thread adds what it decoded to a state of its own (decoding only the
 * fields they read) and the states are merged. 1 with *status set and r's states
 * filled (r->seen.full when the merge does not fit), or 0 when a thread's share of
 * --max-mem ran out: then read again on one thread, whose bound is the whole.
 */
static int read_parallel(void *ctx, struct input_opts *in, int *status)
{
    struct run *r = ctx;
    static const struct scan_ops ops = { par_setup, par_flows };
    static const char *const used[] = { "src",      "dst",   "first", "last",  "bytes", "rbytes",
                                        "rpackets", "ipver", "proto", "sport", "dport", "rflags" };
    struct par p = { r, NULL, NULL, 0 };
    int stopped = 0;
    uint64_t want = detect_fields(used, sizeof(used) / sizeof(used[0]));
    *status = input_scan(in, PROG, want, &ops, &p, &stopped);
    for (size_t t = 0; t < p.n; t++) {
        if (!stopped && !r->seen.full &&
            (hosts_merge(r->hosts, p.h[t]) != 0 || services_merge(r->svc, p.s[t]) != 0))
            r->seen.full = 1;
        hosts_free(p.h[t]);
        services_free(p.s[t]);
    }
    free(p.h);
    free(p.s);
    return !stopped;
}

static int run_hosts(struct hosts_cli *c, struct input_opts *in)
{
    struct hosts_opts ho = { &c->internal, c->max_mem };
    struct services_opts so = { &c->internal, NULL, c->max_mem };
    struct run r = { 0 };
    struct software sw;
    memset(&sw, 0, sizeof(sw));
    catalog_init(&sw.cat);
    if (c->catpath) {
        if (software_load(c, &sw) != 0) {
            software_free(&sw);
            return 1;
        }
        r.sw = &sw;
    }
    r.json = c->mode == ROWS_JSON;
    r.hosts = hosts_new(&ho);
    r.svc = services_new(&so);
    r.filter = evidence_filter_line(in->filter_text);
    static const struct detect_reader rd = { add, read_parallel, restart };
    r.ho = &ho;
    r.so = &so;
    int status = detect_read(&rd, &r, &r.seen, in, PROG, 0, r.sw != NULL);
    if (r.seen.full && r.sw && r.sw->batch.over) {
        fprintf(stderr,
                PROG ": the flows to match need more than --max-mem (%zu of them fit, at up to "
                     "%zu bytes each): narrow the input (-t, a filter) or raise --max-mem\n",
                r.sw->batch.n, MATCH_FLOW_BYTES(&c->mo));
        status = 1;
    } else if (r.seen.full) {
        fprintf(stderr,
                PROG ": more flows than --max-mem holds (%zu hosts of %d bytes, %zu "
                     "answered flows of %d and their services); narrow the time window (-t) "
                     "or the filter, or raise --max-mem\n",
                hosts_records(r.hosts), HOSTS_BYTES_PER_HOST, services_flows(r.svc),
                SERVICES_BYTES_PER_PAIR);
        status = 1;
    } else if (!in->open_failed) { /* inputs that did not open print no header */
        status |= print_rows(c, &r);
    }
    free(r.keys.v);
    free(r.filter);
    hosts_free(r.hosts);
    services_free(r.svc);
    software_free(&sw);
    return status;
}

int cmd_hosts(int argc, char **argv)
{
    struct hosts_cli c = { 0 };
    struct input_opts in = { 0 };
    c.max_mem = (size_t)1 << 30;
    match_opts_default(&c.mo);
    c.mo.range_gap_ms = MATCH_RANGES_DEFAULT_MS;
    netlist_init(&c.internal);
    int status = parse_args(argc, argv, &c, &in);
    if (status < 0)
        status = run_hosts(&c, &in);
    netlist_free(&c.internal);
    input_free(&in);
    return status;
}
