/*
 * The web console's engine (web_engine.h): count, stats, hosts and services over the
 * inputs, each bounded by the request's limits; web_answer turns one API request into
 * its JSON.
 */
#include "web_engine.h"

#include "../analytics/anomaly.h"
#include "../analytics/evidence.h"
#include "../analytics/hosts.h"
#include "../analytics/scan.h"
#include "../analytics/spam.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/hostsw.h"
#include "../query/filter.h"
#include "../query/output.h"
#include "input_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

enum stop { STOP_NONE, STOP_TIME, STOP_MEM };

/* The scans' decoder threads stop on their own and may do so at once: the reason they
 * leave is an atomic (any value means: stopped; the last one written is said). */
static void stop_with(atomic_int *why, enum stop reason)
{
    atomic_store_explicit(why, (int)reason, memory_order_relaxed);
}

static void limit_msg(const struct web_ctx *w, enum stop why, char *msg, size_t cap)
{
    if (why == STOP_TIME)
        snprintf(msg, cap,
                 "the request ran longer than its limit of %" PRIu64 " ms; "
                 "narrow the time window or the filter",
                 w->lim.max_ms);
    else
        snprintf(msg, cap,
                 "the request needs more memory than its limit of %zu MiB; "
                 "narrow the time window or the filter, or use a larger bin",
                 w->lim.max_mem >> 20);
}

/* ---------------------------------------------------------------- series */

struct series {
    const struct web_ctx *w;
    uint64_t bin_ms, deadline;
    struct count *c;
    size_t n;
    atomic_int why; /* stop_with() */
};

static int series_setup(void *vctx, size_t nthreads)
{
    struct series *s = vctx;
    s->c = xcalloc(nthreads, sizeof(*s->c));
    s->n = nthreads;
    size_t bins = s->w->lim.max_mem / sizeof(struct count_bin) / nthreads;
    for (size_t t = 0; t < nthreads; t++)
        count_init(&s->c[t], s->bin_ms, COUNT_LOAD_SPREAD, bins);
    return 0;
}

static int series_flows(void *vctx, size_t t, const struct flow *v, size_t n)
{
    struct series *s = vctx;
    for (size_t i = 0; i < n; i++)
        if (count_add(&s->c[t], &v[i]) != 0) {
            stop_with(&s->why, STOP_MEM);
            return 1;
        }
    if (mono_ms() > s->deadline) {
        stop_with(&s->why, STOP_TIME);
        return 1;
    }
    return 0;
}

int web_series(const struct web_ctx *w, struct input_opts *in, uint64_t bin_ms, struct count *out,
               char *msg, size_t cap)
{
    static const struct scan_ops ops = { series_setup, series_flows };
    static const char *const used[] = { "first", "last", "bytes", "rbytes", "packets", "rpackets" };
    struct series s = { w, bin_ms, mono_ms() + w->lim.max_ms, NULL, 0, STOP_NONE };
    uint64_t cols = 0;
    int stopped;
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        cols |= (uint64_t)1 << field_index(used[i]);
    count_init(out, bin_ms, COUNT_LOAD_SPREAD, w->lim.max_mem / sizeof(struct count_bin));
    int status = input_scan(in, w->prog, cols, &ops, &s, &stopped);
    int rc = status ? WEB_EINPUT : 0;
    for (size_t t = 0; t < s.n; t++) {
        if (!stopped && !rc && count_merge(out, &s.c[t]) != 0) {
            stop_with(&s.why, STOP_MEM);
            stopped = 1;
        }
        count_free(&s.c[t]);
    }
    free(s.c);
    if (stopped) {
        limit_msg(w, s.why ? (enum stop)s.why : STOP_MEM, msg, cap);
        return WEB_ELIMIT;
    }
    if (rc)
        snprintf(msg, cap, "an input could not be read (the server's log says which)");
    return rc;
}

/* ---------------------------------------------------------------- top-N */

struct shards {
    const struct web_ctx *w;
    struct stats *const *s; /* the tables, one per key */
    int ns;
    uint64_t deadline;
    struct stats_part *(*p)[WEB_MAX_KEYS]; /* per thread, per key */
    size_t n;
    atomic_int why; /* stop_with() */
};

static int shards_setup(void *vctx, size_t nthreads)
{
    struct shards *sh = vctx;
    sh->p = xcalloc(nthreads, sizeof(*sh->p));
    sh->n = nthreads;
    for (size_t t = 0; t < nthreads; t++)
        for (int k = 0; k < sh->ns; k++)
            if ((sh->p[t][k] = stats_part_new(sh->s[k], sh->w->lim.max_mem / (size_t)sh->ns /
                                                            nthreads)) == NULL) {
                stop_with(&sh->why, STOP_MEM);
                return 1;
            }
    return 0;
}

static int shards_flows(void *vctx, size_t t, const struct flow *v, size_t n)
{
    struct shards *sh = vctx;
    for (int k = 0; k < sh->ns; k++) {
        stats_part_add(sh->p[t][k], v, n);
        if (stats_part_full(sh->p[t][k])) {
            stop_with(&sh->why, STOP_MEM);
            return 1;
        }
    }
    if (mono_ms() > sh->deadline) {
        stop_with(&sh->why, STOP_TIME);
        return 1;
    }
    return 0;
}

/* Key k's parts into thread 0's, then into its table, as stats -s merges them: 0 or
 * FS_ENOSPC. */
static int shards_merge(struct shards *sh, int k, size_t budget)
{
    struct stats_part *dst = sh->p[0][k];
    for (size_t t = 1; t < sh->n; t++) {
        size_t others = 0;
        for (size_t u = t; u < sh->n; u++)
            others += stats_part_bytes(sh->p[u][k]);
        if (stats_part_merge(dst, sh->p[t][k], budget > others ? budget - others : 0))
            return FS_ENOSPC;
        stats_part_free(sh->p[t][k]);
        sh->p[t][k] = NULL;
    }
    size_t held = stats_part_bytes(dst);
    if (stats_part_to_stats(sh->s[k], dst, budget > held ? budget - held : 0))
        return FS_ENOSPC;
    sh->s[k]->tab.max_bytes = budget;
    return 0;
}

int web_top(const struct web_ctx *w, struct input_opts *in, const char *const *specs, int nspecs,
            struct stats **out, char *msg, size_t cap)
{
    static const struct scan_ops ops = { shards_setup, shards_flows };
    struct fs_err err = { 0 };
    uint64_t cols = 0;
    for (int k = 0; k < nspecs; k++)
        out[k] = NULL;
    for (int k = 0; k < nspecs; k++) {
        if (stats_new(specs[k], w->lim.max_mem / (size_t)nspecs, &out[k], &err) != 0) {
            snprintf(msg, cap, "key: %s", err.msg);
            for (int j = 0; j < k; j++)
                stats_free(out[j]);
            return WEB_ELIMIT + 1; /* a bad key: the caller's 400 */
        }
        cols |= stats_columns(out[k]);
    }
    struct shards sh = { w, out, nspecs, mono_ms() + w->lim.max_ms, NULL, 0, STOP_NONE };
    int stopped;
    int status = input_scan(in, w->prog, cols, &ops, &sh, &stopped);
    int rc = status ? WEB_EINPUT : 0;
    for (int k = 0; k < nspecs && !stopped && !rc && sh.p; k++)
        if (shards_merge(&sh, k, w->lim.max_mem / (size_t)nspecs) != 0) {
            stopped = 1;
            stop_with(&sh.why, STOP_MEM);
        }
    for (size_t t = 0; sh.p && t < sh.n; t++)
        for (int k = 0; k < nspecs; k++)
            stats_part_free(sh.p[t][k]);
    free(sh.p);
    if (stopped || rc) {
        for (int k = 0; k < nspecs; k++) {
            stats_free(out[k]);
            out[k] = NULL;
        }
        if (stopped) {
            limit_msg(w, sh.why ? (enum stop)sh.why : STOP_MEM, msg, cap);
            return WEB_ELIMIT;
        }
        snprintf(msg, cap, "an input could not be read (the server's log says which)");
        return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- flows */

struct page {
    struct output o;
    size_t skip, want, got;
    int more;
    uint64_t deadline, seen;
    enum stop why;
};

static int page_flow(void *vctx, const struct flow *f)
{
    struct page *p = vctx;
    if ((++p->seen & 1023) == 0 && mono_ms() > p->deadline) {
        p->why = STOP_TIME;
        return 1;
    }
    if (p->skip) {
        p->skip--;
        return 0;
    }
    if (p->got == p->want) {
        p->more = 1;
        return 1;
    }
    if (p->got)
        fputc(',', p->o.fp);
    output_flow(&p->o, f);
    p->got++;
    return 0;
}

int web_flows(const struct web_ctx *w, struct input_opts *in, size_t offset, size_t limit, FILE *fp,
              char *msg, size_t cap)
{
    struct page p = { .skip = offset, .want = limit, .deadline = mono_ms() + w->lim.max_ms };
    struct fs_err err = { 0 };
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem || output_init(&p.o, "json", 1, mem, &err) != 0) {
        snprintf(msg, cap, "%s", mem ? err.msg : strerror(errno));
        if (mem)
            fclose(mem);
        free(buf);
        return WEB_EINPUT;
    }
    int status = input_read(in, w->prog, page_flow, &p);
    fclose(mem);
    if (p.why) {
        free(buf);
        limit_msg(w, p.why, msg, cap);
        return WEB_ELIMIT;
    }
    if (status && in->open_failed) {
        free(buf);
        snprintf(msg, cap, "an input could not be read (the server's log says which)");
        return WEB_EINPUT;
    }
    /* print -o json writes one object a line: the line ends are the array's commas. */
    fprintf(fp, "{\"offset\":%zu,\"rows\":[", offset);
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\n')
            fputc(buf[i], fp);
    fprintf(fp, "],\"more\":%d}", p.more);
    free(buf);
    return 0;
}

/* ---------------------------------------------------------------- hosts, services */

struct keep {
    void *rows;
    size_t n, cap, size;
};

static void keep_add(struct keep *k, const void *row)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 256;
        k->rows = xrealloc(k->rows, k->cap * k->size);
    }
    memcpy((char *)k->rows + k->n++ * k->size, row, k->size);
}

static int keep_host(void *ctx, const struct host_row *r)
{
    keep_add(ctx, r);
    return 0;
}

static int keep_svc(void *ctx, const struct svc_row *r)
{
    keep_add(ctx, r);
    return 0;
}

static int by_host_bytes(const void *a, const void *b)
{
    const struct host_row *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return memcmp(x->addr, y->addr, 16);
}

/* Unexpected first, then by bytes: what an operator looks at first. */
static int by_svc(const void *a, const void *b)
{
    const struct svc_row *x = a, *y = b;
    int ux = x->status == SVC_UNEXPECTED, uy = y->status == SVC_UNEXPECTED;
    if (ux != uy)
        return uy - ux;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return memcmp(x->server, y->server, 16);
}

struct feed {
    struct hosts *h;
    struct services *s;
    struct match_batch *batch; /* hosts with -c: the flows worth matching */
    struct scan *scan;         /* alerts */
    struct spam *spam;
    uint64_t deadline, seen;
    enum stop why;
};

static int feed_flow(void *vctx, const struct flow *f)
{
    struct feed *x = vctx;
    if ((++x->seen & 1023) == 0 && mono_ms() > x->deadline) {
        x->why = STOP_TIME;
        return 1;
    }
    if ((x->h && hosts_add(x->h, f) != 0) || (x->s && services_add(x->s, f) != 0) ||
        (x->batch && match_batch_add(x->batch, f) != 0) || (x->scan && scan_add(x->scan, f) != 0) ||
        (x->spam && spam_add(x->spam, f) != 0)) {
        x->why = STOP_MEM;
        return 1;
    }
    return 0;
}

static int feed_run(const struct web_ctx *w, struct input_opts *in, struct feed *x, char *msg,
                    size_t cap)
{
    x->deadline = mono_ms() + w->lim.max_ms;
    int status = input_read(in, w->prog, feed_flow, x);
    if (x->why) {
        limit_msg(w, x->why, msg, cap);
        return WEB_ELIMIT;
    }
    if (status && in->open_failed) {
        snprintf(msg, cap, "an input could not be read (the server's log says which)");
        return WEB_EINPUT;
    }
    return 0;
}

/* ---------------------------------------------------------------- software (-c) */

int web_catalog_load(struct web_catalog *c, const char *path, const char *prog)
{
    struct fs_err err = { 0 };
    memset(c, 0, sizeof(*c));
    catalog_init(&c->cat);
    match_opts_default(&c->mo);
    c->mo.range_gap_ms = MATCH_RANGES_DEFAULT_MS; /* as flowsleuth hosts -c */
    if (catalog_load(&c->cat, path, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 1;
    }
    struct cat_dropped d;
    if (catalog_clean(&c->cat, &d)) {
        char text[160];
        catalog_dropped_text(&d, text, sizeof(text));
        fprintf(stderr, "%s: %s: %s\n", prog, path, text);
    }
    cat_newest_init(&c->newest, &c->cat);
    return 0;
}

void web_catalog_free(struct web_catalog *c)
{
    cat_newest_free(&c->newest);
    catalog_free(&c->cat);
}

/* A host's "software" member: its packages, by name, version and arch. */
static void host_software(FILE *fp, const struct web_catalog *c, const struct hostsw *sw,
                          const uint8_t addr[16])
{
    const struct hostsw_pkg *p;
    size_t np = hostsw_of(sw, addr, &p);
    fputs(",\"software\":[", fp);
    for (size_t i = 0; i < np; i++) {
        fputs(i ? "," : "", fp);
        web_json_pkg(fp, p[i].e, p[i].flows, cat_newest(&c->newest, p[i].e));
    }
    fputc(']', fp);
}

/* The hosts, and with -c the flows worth matching, matched and joined to them. */
static int hosts_read(const struct web_ctx *w, struct input_opts *in, struct feed *x,
                      struct hostsw **sw, char *msg, size_t cap)
{
    int rc = feed_run(w, in, x, msg, cap);
    if (rc != 0 || !x->batch)
        return rc;
    *sw = hostsw_new(&w->cat->cat);
    if (x->batch->n || x->batch->pklen)
        match_run_batch(&w->cat->cat, x->batch, hostsw_on_result, *sw);
    hostsw_finish(*sw);
    return 0;
}

int web_hosts(const struct web_ctx *w, struct input_opts *in, size_t n, FILE *fp, char *msg,
              size_t cap)
{
    struct hosts_opts ho = { w->internal, w->lim.max_mem };
    struct match_batch batch = { 0 };
    struct feed x = { .h = hosts_new(&ho), .batch = w->cat ? &batch : NULL };
    struct keep k = { .size = sizeof(struct host_row) };
    struct hostsw *sw = NULL;
    batch.o = w->cat ? &w->cat->mo : NULL;
    batch.max_mem = w->lim.max_mem;
    int rc = hosts_read(w, in, &x, &sw, msg, cap);
    if (rc == 0) {
        hosts_finish(x.h, keep_host, &k);
        if (k.n)
            qsort(k.rows, k.n, k.size, by_host_bytes);
        fprintf(fp, "{\"count\":%zu,\"catalogue\":%d,\"rows\":[", k.n, w->cat != NULL);
        for (size_t i = 0; i < k.n && i < n; i++) {
            const struct host_row *h = (const struct host_row *)k.rows + i;
            fputs(i ? "," : "", fp);
            web_json_host(fp, h);
            if (sw && w->cat)
                host_software(fp, w->cat, sw, h->addr);
            fputc('}', fp);
        }
        fputs("]}", fp);
    }
    free(k.rows);
    hosts_free(x.h);
    hostsw_free(sw);
    match_batch_free(&batch);
    return rc;
}

int web_services(const struct web_ctx *w, struct input_opts *in, size_t n, FILE *fp, char *msg,
                 size_t cap)
{
    /* services_add marks the entries it sees: each request marks a copy of its own. */
    struct svc_authlist auth = { 0 };
    if (w->auth && w->auth->n) {
        auth.v = xmalloc(w->auth->n * sizeof(*auth.v));
        memcpy(auth.v, w->auth->v, w->auth->n * sizeof(*auth.v));
        auth.n = auth.cap = w->auth->n;
    }
    struct services_opts so = { w->internal, w->auth ? &auth : NULL, w->lim.max_mem };
    struct feed x = { .s = services_new(&so) };
    struct keep k = { .size = sizeof(struct svc_row) };
    int rc = feed_run(w, in, &x, msg, cap);
    if (rc == 0) {
        services_finish(x.s, keep_svc, &k);
        if (k.n)
            qsort(k.rows, k.n, k.size, by_svc);
        fprintf(fp, "{\"count\":%zu,\"authorised_list\":%d,\"rows\":[", k.n, w->auth != NULL);
        for (size_t i = 0; i < k.n && i < n; i++) {
            if (i)
                fputc(',', fp);
            web_json_service(fp, (const struct svc_row *)k.rows + i);
        }
        fputs("]}", fp);
    }
    free(k.rows);
    services_free(x.s);
    free(auth.v);
    return rc;
}

/* ---------------------------------------------------------------- alerts */

/* The alerts of one request: rows to fp up to n, the findings counted. */
struct alerts {
    FILE *fp;
    size_t n, count;
    char *filter;          /* the request's filter on one line, or NULL: the evidence's front */
    const uint16_t *ports; /* spam's mail ports, for its evidence */
    size_t nports;
};

/* {"detector":D,"src":A,"first":MS,"last":MS,"flows":N,"evidence":F, then the
 * detector's members, left open. last is one millisecond past the last packet, as
 * the CLI prints it, so that print -t FIRST..LAST EVIDENCE shows every flow. */
static int alert_open(struct alerts *a, const char *det, const uint8_t src[16], int ipver,
                      uint64_t first, uint64_t last, uint64_t flows, const char *rest)
{
    if (a->count++ >= a->n)
        return 0;
    char addr[FMT_ADDR_MAX];
    fmt_addr(addr, src, ipver);
    size_t len = (a->filter ? strlen(a->filter) : 0) + strlen(rest) + FMT_ADDR_MAX + 16;
    char *ev = xmalloc(len);
    snprintf(ev, len, "%s%s%ssrc ip %s%s", a->filter ? "(" : "", a->filter ? a->filter : "",
             a->filter ? ") and " : "", addr, rest);
    fprintf(a->fp,
            "%s{\"detector\":\"%s\",\"src\":\"%s\",\"first\":%" PRIu64 ",\"last\":%" PRIu64
            ",\"flows\":%" PRIu64 ",\"evidence\":",
            a->count > 1 ? "," : "", det, addr, first, last + 1, flows);
    web_json_str(a->fp, ev);
    free(ev);
    return 1;
}

static int alert_scan(void *ctx, const struct scan_finding *f)
{
    struct alerts *a = ctx;
    if (!alert_open(a, "scan", f->src, f->ipver, f->first, f->last, f->flows, ""))
        return 0;
    const char *method = f->methods == (SCAN_TRW | SCAN_COUNT) ? "trw+count"
                         : f->methods == SCAN_TRW              ? "trw"
                                                               : "count";
    fprintf(a->fp,
            ",\"kind\":\"%s\",\"method\":\"%s\",\"score\":%.2f,\"targets\":%" PRIu32
            ",\"ports\":%" PRIu32 ",\"contacts\":%" PRIu32 ",\"failed\":%" PRIu32 "}",
            scan_kind_name(f->kind), method, f->score, f->targets, f->ports, f->contacts,
            f->failed);
    return 0;
}

static int alert_spam(void *ctx, const struct spam_finding *f)
{
    struct alerts *a = ctx;
    /* spam's evidence: its mail flows, TCP to the mail ports (no relays: none given) */
    char rest[96];
    size_t len = (size_t)snprintf(rest, sizeof(rest), " and proto tcp and dst port in [");
    for (size_t i = 0; i < a->nports; i++)
        len += (size_t)snprintf(rest + len, sizeof(rest) - len, "%s%u", i ? " " : "", a->ports[i]);
    snprintf(rest + len, sizeof(rest) - len, "]");
    if (!alert_open(a, "spam", f->src, f->ipver, f->first, f->last, f->flows, rest))
        return 0;
    fprintf(a->fp, ",\"servers\":%" PRIu32 ",\"peak\":%" PRIu32 "}", f->servers, f->peak);
    return 0;
}

int web_alerts(const struct web_ctx *w, struct input_opts *in, const struct web_req *r, FILE *fp,
               char *msg, size_t cap)
{
    int err;
    struct scan_opts so = { TRW_PARAMS_DEFAULT,
                            r->scan_count,
                            r->scan_count_internal,
                            r->scan_window_ms,
                            w->lim.max_mem / 2,
                            w->internal,
                            NULL };
    struct spam_opts po = { { 0 },       0,    r->spam_count,     r->spam_window_ms,
                            w->internal, NULL, w->lim.max_mem / 2 };
    memcpy(po.ports, r->spam_ports, r->spam_nports * sizeof(po.ports[0]));
    po.nports = r->spam_nports;
    struct feed x = { .scan = scan_new(&so, &err), .spam = spam_new(&po) };
    int rc = feed_run(w, in, &x, msg, cap);
    if (rc == 0) {
        struct alerts a = {
            fp, r->n, 0, evidence_filter_line(r->filter), r->spam_ports, r->spam_nports
        };
        fputs("{\"rows\":[", fp);
        scan_finish(x.scan, alert_scan, &a);
        spam_finish(x.spam, alert_spam, &a);
        fprintf(fp, "],\"count\":%zu}", a.count);
        free(a.filter);
    }
    scan_free(x.scan);
    spam_free(x.spam);
    return rc;
}

/* ---------------------------------------------------------------- baseline band (-b) */

int web_band_load(struct web_band *b, const char *path, const char *prog)
{
    struct fs_err err = { 0 };
    char by[32];
    memset(b, 0, sizeof(*b));
    b->path = path;
    if (bl_profile_load(&b->p, path, &err) != 0) {
        fprintf(stderr, "%s: -b: %s\n", prog, err.msg);
        return 1;
    }
    bl_keyspec_format(&b->p.spec, by, sizeof(by));
    if (b->p.spec.by != BL_ALL || b->p.nkeys != 1) {
        fprintf(stderr,
                "%s: -b %s: a profile of the whole network is needed (flowsleuth baseline "
                "--by all, the default), not one by %s (%zu keys)\n",
                prog, path, by, b->p.nkeys);
        bl_profile_free(&b->p);
        return 1;
    }
    if (tz_load(&b->z, b->p.tz, &err) != 0) {
        fprintf(stderr, "%s: -b %s: %s\n", prog, path, err.msg);
        bl_profile_free(&b->p);
        return 1;
    }
    b->per_flow = an_per_flow(&b->p, 1);
    return 0;
}

void web_band_free(struct web_band *b)
{
    free(b->per_flow);
    tz_free(&b->z);
    bl_profile_free(&b->p);
}

/* The shortest decimal that reads back as v: the band's numbers exactly, without
 * seventeen digits for 0.1. */
static void json_num(FILE *fp, double v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    fputs(buf, fp);
}

/* Why the series gets no band, or NULL when it gets one (note: cap bytes). */
static const char *band_refusal(const struct web_band *b, const struct count *c, const char *filter,
                                char *note, size_t cap)
{
    if (c->bin_ms != b->p.bin_ms) {
        snprintf(note, cap,
                 "the baseline's bins are %" PRIu64 " s and these %" PRIu64
                 " s: its band is drawn for bins of %" PRIu64 " s",
                 b->p.bin_ms / 1000, c->bin_ms / 1000, b->p.bin_ms / 1000);
        return note;
    }
    char *mine = evidence_filter_line(filter);
    const char *learned = b->p.filter ? b->p.filter : "";
    int same = bl_profile_same_filter(&b->p, mine ? mine : "");
    free(mine);
    if (same)
        return NULL;
    snprintf(note, cap,
             "the baseline was learned over %s%.200s%s: its band does not fit the flows of "
             "another filter",
             *learned ? "the filter '" : "every flow", learned, *learned ? "'" : "");
    return note;
}

/*
 * ,"band":{"k":K,"bin":S,"tz":ZONE,"flows":{"low":[..],"expected":[..],"high":[..]},
 * "bytes":{..},"packets":{..}} for c's bins, or ,"band":null (and "band_note" when a
 * profile was given), as flowsleuth anomaly -k K computes them for the same bins.
 */
static void band_json(FILE *fp, const struct web_band *b, const struct count *c,
                      const struct web_req *r)
{
    static const char *const names[BL_METRICS] = { "flows", "bytes", "packets" };
    static const char *const parts[3] = { "low", "expected", "high" };
    char note[400];
    const char *why = b ? band_refusal(b, c, r->filter, note, sizeof(note)) : NULL;
    fputs(",\"band\":", fp);
    if (!b || why) {
        fputs("null", fp);
        if (why) {
            fputs(",\"band_note\":", fp);
            web_json_str(fp, why);
        }
        return;
    }
    fputs("{\"k\":", fp);
    json_num(fp, r->k);
    fprintf(fp, ",\"bin\":%" PRIu64 ",\"tz\":", b->p.bin_ms / 1000);
    web_json_str(fp, b->p.tz);
    for (int m = 0; m < BL_METRICS; m++) {
        fprintf(fp, ",\"%s\":{", names[m]);
        for (int part = 0; part < 3; part++) {
            fprintf(fp, "%s\"%s\":[", part ? "," : "", parts[part]);
            for (size_t i = 0; i < c->nbins; i++) {
                const struct bl_slot *x = &b->p.slots[tz_how(&b->z, count_bin_start(c, i))];
                double v[3];
                an_band(x, m, r->k, b->per_flow[m], &v[0], &v[2]);
                v[1] = x->m[m].med;
                fputs(i ? "," : "", fp);
                json_num(fp, v[part]);
            }
            fputc(']', fp);
        }
        fputc('}', fp);
    }
    fputc('}', fp);
}

/* ---------------------------------------------------------------- one request */

/* The error as the CLI prints it after "PROG: ": the message, the text, a caret. */
static void filter_error(FILE *fp, const char *text, const struct fs_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        web_json_error(fp, err->msg);
        return;
    }
    fprintf(m, "bad filter: %s\n  %s\n", err->msg, text);
    if (err->pos >= 0 && (size_t)err->pos <= strlen(text))
        fprintf(m, "  %*s^\n", (int)err->pos, "");
    fclose(m);
    fputs("{\"error\":", fp);
    web_json_str(fp, buf);
    fprintf(fp, ",\"pos\":%lld}", (long long)err->pos);
    free(buf);
}

/* in for a request: the paths, the window [from, to), the compiled filter. 0 or 400. */
static int request_input(struct input_opts *in, const char *const *paths, size_t npaths,
                         uint64_t from, uint64_t to, const char *filter, FILE *fp)
{
    memset(in, 0, sizeof(*in));
    for (size_t i = 0; i < npaths && i < INPUT_MAX_PATHS; i++)
        in->paths[in->npaths++] = paths[i];
    in->from_ms = from;
    in->to_ms = to;
    if (!*filter)
        return 0;
    struct fs_err err = { 0 };
    if (filter_compile(filter, &in->filter, &err) != 0) {
        filter_error(fp, filter, &err);
        return 400;
    }
    return 0;
}

static int status_of(int rc)
{
    return rc == 0 ? 200 : rc == WEB_ELIMIT ? 503 : rc == WEB_EINPUT ? 500 : 400;
}

static void answer_series(const struct web_ctx *w, const char *const *paths, size_t npaths,
                          const struct web_req *r, FILE *fp, int *status)
{
    struct input_opts in;
    struct count c, pc;
    char msg[256];
    int have_prev = 0;
    uint64_t from = r->from_ms, to = r->to_ms;
    if ((*status = request_input(&in, paths, npaths, from, to, r->filter, fp)) != 0)
        return;
    int rc = web_series(w, &in, r->bin_s * 1000, &c, msg, sizeof(msg));
    /* The period before, as long as the window (open end: up to now), shifted onto it. */
    uint64_t span = 0;
    if (rc == 0 && r->prev && from) {
        span = (to ? to : wall_ms()) - from;
        if (span < from) {
            in.from_ms = from - span;
            in.to_ms = from;
            rc = web_series(w, &in, r->bin_s * 1000, &pc, msg, sizeof(msg));
            have_prev = 1;
        }
    }
    if (rc == 0) {
        web_json_series(fp, &c, have_prev ? &pc : NULL, span);
        band_json(fp, w->band, &c, r);
        fputc('}', fp);
    } else
        web_json_error(fp, msg);
    *status = status_of(rc);
    count_free(&c);
    if (have_prev)
        count_free(&pc);
    input_free(&in);
}

/* /api/top: one key's table, or several from one scan as {"tops":{"KEY":{...},...}}. */
static int answer_top(const struct web_ctx *w, struct input_opts *in, const struct web_req *r,
                      FILE *fp, char *msg, size_t cap)
{
    char buf[WEB_KEYS_TEXT];
    const char *specs[WEB_MAX_KEYS];
    struct stats *s[WEB_MAX_KEYS];
    int ns = web_keys_split(r->key, buf, sizeof(buf), specs, msg, cap);
    int rc = ns < 0 ? WEB_ELIMIT + 1 : web_top(w, in, specs, ns, s, msg, cap);
    if (rc == 0 && ns == 1)
        web_json_top(fp, s[0], r->n);
    else if (rc == 0) {
        fputs("{\"tops\":{", fp);
        for (int k = 0; k < ns; k++) {
            fputs(k ? "," : "", fp);
            web_json_str(fp, specs[k]);
            fputc(':', fp);
            web_json_top(fp, s[k], r->n);
        }
        fputs("}}", fp);
    }
    for (int k = 0; rc == 0 && k < ns; k++)
        stats_free(s[k]);
    return rc;
}

void web_answer(const struct web_ctx *w, const char *const *paths, size_t npaths,
                const struct web_req *r, FILE *fp, int *status)
{
    struct input_opts in;
    char msg[256];
    int rc;
    if (r->ep == WEB_SERIES) {
        answer_series(w, paths, npaths, r, fp, status);
        return;
    }
    if ((*status = request_input(&in, paths, npaths, r->from_ms, r->to_ms, r->filter, fp)) != 0)
        return;
    switch (r->ep) {
    case WEB_TOP:
        rc = answer_top(w, &in, r, fp, msg, sizeof(msg));
        break;
    case WEB_FLOWS:
        rc = web_flows(w, &in, r->offset, r->limit, fp, msg, sizeof(msg));
        break;
    case WEB_HOSTS:
        rc = web_hosts(w, &in, r->n, fp, msg, sizeof(msg));
        break;
    case WEB_SERVICES:
        rc = web_services(w, &in, r->n, fp, msg, sizeof(msg));
        break;
    case WEB_ALERTS:
        rc = web_alerts(w, &in, r, fp, msg, sizeof(msg));
        break;
    default:
        snprintf(msg, sizeof(msg), "no such endpoint");
        rc = WEB_ELIMIT + 1;
    }
    if (rc)
        web_json_error(fp, msg);
    *status = status_of(rc);
    input_free(&in);
}
