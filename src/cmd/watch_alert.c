/*
 * flowsleuth watch: the detectors over one window of bins, their findings as JSON
 * lines (watch_alert.h).
 */
#include "watch_alert.h"

#include "../core/err.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "baseline_input.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>

#define PROG "flowsleuth watch"

/* One JSON object being built. */
struct jl {
    char *p;
    size_t n, cap;
};

static void jl_put(struct jl *j, const char *s, size_t len)
{
    if (j->n + len + 2 > j->cap) {
        j->cap = 2 * (j->n + len + 2) + 256;
        j->p = xrealloc(j->p, j->cap);
    }
    memcpy(j->p + j->n, s, len);
    j->n += len;
    j->p[j->n] = 0;
}

static void jl_key(struct jl *j, const char *name)
{
    jl_put(j, j->n ? ",\"" : "{\"", 2);
    jl_put(j, name, strlen(name));
    jl_put(j, "\":", 2);
}

/* A string value, escaped as RFC 8259 asks. */
static void jl_str(struct jl *j, const char *name, const char *v)
{
    jl_key(j, name);
    jl_put(j, "\"", 1);
    for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
        char e[8];
        if (*s == '"' || *s == '\\') {
            e[0] = '\\';
            e[1] = (char)*s;
            jl_put(j, e, 2);
        } else if (*s < 0x20) {
            snprintf(e, sizeof(e), "\\u%04x", *s);
            jl_put(j, e, 6);
        } else {
            jl_put(j, (const char *)s, 1);
        }
    }
    jl_put(j, "\"", 1);
}

static void jl_num(struct jl *j, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void jl_num(struct jl *j, const char *name, const char *fmt, ...)
{
    char v[48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    jl_key(j, name);
    jl_put(j, v, strlen(v));
}

struct wrun {
    const struct watch_cfg *c;
    struct watch_state *st;
    uint64_t bin_ms;
    unsigned sent;
    struct scan *scan;
    struct spam *spam;
    struct services *svc;
    int full;                 /* a detector's --max-mem ran out */
    struct net_prefix *block; /* sources alerted on, for --blocklist */
    size_t nblock, capblock;
};

/* A source alerted on goes to the block list after the run. */
static void block_src(struct wrun *r, const uint8_t src[16])
{
    if (!r->c->blocklist)
        return;
    if (r->nblock == r->capblock) {
        r->capblock = r->capblock ? 2 * r->capblock : 16;
        r->block = xrealloc(r->block, r->capblock * sizeof(*r->block));
    }
    struct net_prefix *p = &r->block[r->nblock++];
    memcpy(p->addr, src, 16);
    p->len = 128;
}

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/*
 * The sources alerted on into the --blocklist state (read, added to, pruned, replaced
 * whole), with the wall clock as blocklist's own runs take it: 0, or 1 after saying
 * why. A state that does not read is left as it is for flowsleuth blocklist to set
 * aside: watch does not overwrite it.
 */
static int block_feed(struct wrun *r, const char *why)
{
    struct blocklist b;
    struct fs_err e = { 0 };
    int status = 0;
    if (!r->nblock)
        return 0;
    blk_init(&b);
    int rc = blk_load(&b, r->c->blocklist, &e);
    if (rc && rc != -ENOENT) {
        fprintf(stderr, PROG ": --blocklist %s; %zu sources not added\n", e.msg, r->nblock);
        status = 1;
    } else {
        uint64_t now = wall_ms();
        for (size_t i = 0; i < r->nblock; i++)
            blk_add(&b, &r->block[i], now, r->c->ttl_ms, why, &r->c->allow);
        blk_prune(&b, now, &r->c->allow);
        blk_sort(&b);
        if (blk_save(&b, r->c->blocklist, &e) != 0) {
            fprintf(stderr, PROG ": --blocklist %s\n", e.msg);
            status = 1;
        }
    }
    blk_free(&b);
    r->nblock = 0;
    return status;
}

/* The fields every alert opens with; 0 when key is held (nothing to send). */
static int alert_open(struct wrun *r, struct jl *j, const char *key, const char *det,
                      const char *severity)
{
    if (!watch_alert_due(r->st, key, r->bin_ms, r->c->hold_ms))
        return 0;
    char t[FMT_TIME_MAX], b[FMT_TIME_MAX];
    fmt_time_ms(t, wall_ms());
    fmt_time_ms(b, r->bin_ms);
    jl_str(j, "time", t);
    jl_str(j, "detector", det);
    jl_str(j, "severity", severity);
    jl_str(j, "bin", b);
    return 1;
}

static void alert_send(struct wrun *r, struct jl *j)
{
    jl_put(j, "}", 1);
    if (r->c->use_syslog) {
        syslog(LOG_WARNING, "%s", j->p);
    } else {
        fputs(j->p, r->c->out);
        fputc('\n', r->c->out);
        fflush(r->c->out);
    }
    free(j->p);
    r->sent++;
}

/* "(FILTER) and " in front of an evidence, or "". */
static void ev_prefix(const struct watch_cfg *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", c->filter ? "(" : "", c->filter ? c->filter : "",
             c->filter ? ") and " : "");
}

static int on_scan(void *ctx, const struct scan_finding *f)
{
    struct wrun *r = ctx;
    struct jl j = { 0 };
    char src[FMT_ADDR_MAX], first[FMT_TIME_MAX], last[FMT_TIME_MAX], key[64];
    fmt_addr(src, f->src, f->ipver);
    snprintf(key, sizeof(key), "scan %s", src);
    block_src(r, f->src); /* held or not: a source still at it stays blocked */
    if (!alert_open(r, &j, key, "scan", f->score >= 2 ? "high" : "medium"))
        return 0;
    fmt_time_ms(first, f->first);
    fmt_time_ms(last, f->last + 1);
    jl_str(&j, "src", src);
    jl_str(&j, "first", first);
    jl_str(&j, "last", last);
    jl_num(&j, "targets", "%" PRIu32, f->targets);
    jl_num(&j, "ports", "%" PRIu32, f->ports);
    jl_str(&j, "kind", scan_kind_name(f->kind));
    jl_str(&j, "method",
           f->methods == (SCAN_TRW | SCAN_COUNT) ? "trw+count"
           : f->methods == SCAN_TRW              ? "trw"
                                                 : "count");
    jl_num(&j, "score", "%.2f", f->score);
    jl_num(&j, "contacts", "%" PRIu32, f->contacts);
    jl_num(&j, "failed", "%" PRIu32, f->failed);
    jl_num(&j, "flows", "%" PRIu64, f->flows);
    const struct netlist *allow = &r->c->allow;
    size_t evlen =
        (r->c->filter ? strlen(r->c->filter) : 0) + 6 * allow->nports + FMT_ADDR_MAX + 64;
    char *ev = xmalloc(evlen);
    size_t n = strlen((ev_prefix(r->c, ev, evlen), ev));
    n += (size_t)snprintf(ev + n, evlen - n, "src ip %s", src);
    for (size_t i = 0; i < allow->nports && n < evlen; i++) /* as scan: --allow's ports */
        n += (size_t)snprintf(ev + n, evlen - n, "%s%u", i ? " " : " and not dst port in [",
                              allow->ports[i]);
    if (allow->nports && n < evlen)
        snprintf(ev + n, evlen - n, "]");
    jl_str(&j, "evidence", ev);
    free(ev);
    alert_send(r, &j);
    return 0;
}

static int on_spam(void *ctx, const struct spam_finding *f)
{
    struct wrun *r = ctx;
    struct jl j = { 0 };
    char src[FMT_ADDR_MAX], first[FMT_TIME_MAX], last[FMT_TIME_MAX], key[64];
    fmt_addr(src, f->src, f->ipver);
    snprintf(key, sizeof(key), "spam %s", src);
    block_src(r, f->src); /* held or not: a source still at it stays blocked */
    if (!alert_open(r, &j, key, "spam", f->peak >= 2 * r->c->spam.threshold ? "high" : "medium"))
        return 0;
    fmt_time_ms(first, f->first);
    fmt_time_ms(last, f->last + 1);
    jl_str(&j, "src", src);
    jl_str(&j, "first", first);
    jl_str(&j, "last", last);
    jl_num(&j, "servers", "%" PRIu32, f->servers);
    jl_num(&j, "peak", "%" PRIu32, f->peak);
    jl_num(&j, "flows", "%" PRIu64, f->flows);
    const char *relays = r->c->relay_text;
    size_t evlen = (r->c->filter ? strlen(r->c->filter) : 0) + (relays ? strlen(relays) : 0) +
                   FMT_ADDR_MAX + 160;
    char *ev = xmalloc(evlen);
    size_t n = strlen((ev_prefix(r->c, ev, evlen), ev));
    n += (size_t)snprintf(ev + n, evlen - n, "src ip %s and proto tcp and dst port in [", src);
    for (size_t i = 0; i < r->c->spam.nports && n < evlen; i++)
        n += (size_t)snprintf(ev + n, evlen - n, "%s%u", i ? " " : "", r->c->spam.ports[i]);
    if (n < evlen) /* as flowsleuth spam: the relays are no servers */
        snprintf(ev + n, evlen - n, "]%s%s%s", relays ? " and not dst ip in [" : "",
                 relays ? relays : "", relays ? "]" : "");
    jl_str(&j, "evidence", ev);
    free(ev);
    alert_send(r, &j);
    return 0;
}

static int on_service(void *ctx, const struct svc_row *s)
{
    struct wrun *r = ctx;
    struct jl j = { 0 };
    char server[FMT_ADDR_MAX], first[FMT_TIME_MAX], last[FMT_TIME_MAX], key[96];
    const char *proto = s->proto == 17 ? "udp" : "tcp";
    if (s->status != SVC_UNEXPECTED) /* authorised, or missing: no alert */
        return 0;
    fmt_addr(server, s->server, s->ipver);
    snprintf(key, sizeof(key), "services %s %s %u", server, proto, s->port);
    if (!alert_open(r, &j, key, "services", "medium"))
        return 0;
    fmt_time_ms(first, s->first);
    fmt_time_ms(last, s->last + 1);
    jl_str(&j, "server", server);
    jl_str(&j, "proto", proto);
    jl_num(&j, "port", "%u", s->port);
    jl_num(&j, "clients", "%" PRIu64, s->clients);
    jl_num(&j, "flows", "%" PRIu64, s->flows);
    jl_num(&j, "bytes", "%" PRIu64, s->bytes);
    jl_str(&j, "first", first);
    jl_str(&j, "last", last);
    jl_str(&j, "status", services_status_name(s->status));
    size_t evlen = (r->c->filter ? strlen(r->c->filter) : 0) + FMT_ADDR_MAX + 64;
    char *ev = xmalloc(evlen);
    size_t n = strlen((ev_prefix(r->c, ev, evlen), ev));
    snprintf(ev + n, evlen - n, "dst ip %s and proto %s and dst port %u", server, proto, s->port);
    jl_str(&j, "evidence", ev);
    free(ev);
    alert_send(r, &j);
    return 0;
}

static int take(void *ctx, const struct flow *f)
{
    struct wrun *r = ctx;
    int rc = 0;
    if (r->scan)
        rc |= scan_add(r->scan, f);
    if (r->spam && spam_takes(r->spam, f))
        rc |= spam_add(r->spam, f);
    if (r->svc)
        rc |= services_add(r->svc, f);
    if (rc)
        r->full = 1;
    return rc != 0;
}

static void detectors_free(struct wrun *r)
{
    if (r->scan)
        scan_free(r->scan);
    if (r->spam)
        spam_free(r->spam);
    if (r->svc)
        services_free(r->svc);
}

int watch_run_window(const struct watch_cfg *c, struct input_opts *in, struct watch_state *st,
                     uint64_t bin_ms, unsigned *sent)
{
    struct wrun r = { .c = c, .st = st, .bin_ms = bin_ms };
    int err = 0;
    if (c->detectors & WATCH_SCAN)
        r.scan = scan_new(&c->scan, &err);
    if (c->detectors & WATCH_SPAM)
        r.spam = spam_new(&c->spam);
    if (c->detectors & WATCH_SERVICES)
        r.svc = services_new(&c->svc);
    int status = input_read(in, PROG, take, &r);
    if (r.full) {
        fprintf(stderr,
                PROG ": the bins up to %" PRIu64 " hold more flows than --max-mem; "
                     "no alerts from them\n",
                bin_ms);
        status = 1;
    } else {
        if (r.scan)
            scan_finish(r.scan, on_scan, &r);
        status |= block_feed(&r, "scan");
        if (r.spam)
            spam_finish(r.spam, on_spam, &r);
        status |= block_feed(&r, "spam");
        if (r.svc)
            services_finish(r.svc, on_service, &r);
    }
    if (!c->use_syslog && ferror(c->out)) {
        fprintf(stderr, PROG ": alerts: write: %s\n", strerror(errno ? errno : EIO));
        status = 1;
    }
    detectors_free(&r);
    free(r.block);
    *sent += r.sent;
    return status;
}

/* ---------------------------------------------------------------- anomaly */

/* A number as anomaly prints it: whole, or one decimal. */
static void num(struct jl *j, const char *name, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        jl_num(j, name, "%.0f", v);
    else
        jl_num(j, name, "%.1f", v);
}

static void on_anomaly(void *ctx, const struct an_finding *f)
{
    struct wrun *r = ctx;
    const struct bl_profile *p = r->c->bl;
    struct jl j = { 0 };
    char key[BL_KEY_TEXT], akey[BL_KEY_TEXT + 64], first[FMT_TIME_MAX], last[FMT_TIME_MAX];
    char kf[160], ev[1024];
    bl_key_text(&p->spec, &p->keys[f->key], key);
    snprintf(akey, sizeof(akey), "anomaly %s %s %" PRIu64, key, bl_metric_names[f->metric],
             f->bin_ms);
    int high = f->kind == AN_GAP || fabs(f->score) >= 2 * r->c->k;
    if (!alert_open(r, &j, akey, "anomaly", high ? "high" : "medium"))
        return;
    fmt_time_ms(first, f->bin_ms);
    fmt_time_ms(last, f->bin_ms + p->bin_ms);
    jl_str(&j, "key", key);
    jl_str(&j, "metric", bl_metric_names[f->metric]);
    num(&j, "value", f->value);
    num(&j, "expected", f->expected);
    num(&j, "low", f->low);
    num(&j, "high", f->high);
    jl_num(&j, "score", "%.1f", f->score);
    jl_str(&j, "kind", an_kind_names[f->kind]);
    jl_str(&j, "first", first);
    jl_str(&j, "last", last);
    bl_key_filter(&p->spec, &p->keys[f->key], kf, sizeof(kf));
    int all = p->spec.by == BL_ALL;
    const char *u = r->c->filter;
    snprintf(ev, sizeof(ev), "%s%s%sfirst >= %s and first < %s%s%s", u ? "(" : "", u ? u : "",
             u ? ") and " : "", first, last, all ? "" : " and ", all ? "" : kf);
    jl_str(&j, "evidence", ev);
    alert_send(r, &j);
}

int watch_run_anomaly(const struct watch_cfg *c, struct input_opts *in, struct watch_state *st,
                      uint64_t b_ms, unsigned *sent)
{
    const struct bl_profile *p = c->bl;
    struct bl_series s;
    struct wrun r = { .c = c, .st = st, .bin_ms = b_ms };
    int full = 0, status;
    bl_series_init(&s, &p->spec, p->bin_ms, c->scan.max_mem);
    for (size_t i = 0; i < p->nkeys; i++) /* the profile's keys, frozen: only they count */
        (void)bl_series_key(&s, &p->keys[i]);
    s.frozen = 1;
    if (s.n != p->nkeys)
        full = 1;
    status = full ? 1 : bl_input_read(in, PROG, &s, &full);
    if (full) {
        char t[FMT_TIME_MAX];
        fmt_time_ms(t, b_ms);
        fprintf(stderr,
                PROG ": the baseline's keys need more than --max-mem; bin %s not "
                     "judged\n",
                t);
        status = 1;
    } else {
        uint64_t b = b_ms / p->bin_ms;
        anomaly_run(p, &s, c->tz, b, b, c->k, on_anomaly, &r);
    }
    bl_series_free(&s);
    *sent += r.sent;
    return status;
}
