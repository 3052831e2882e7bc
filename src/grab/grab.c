/*
 * The grabber's crawl loop (see grab.h and docs/internals/grab.md): one libcurl easy
 * handle (its connection cache gives keep-alive), redirects followed by hand so that
 * every hop is checked against the host rule, the seen set and the caps.
 */
#include "grab.h"
#include "../core/err.h"
#include "../core/xalloc.h"
#include "html_links.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_URL        HTML_LINKS_MAX_URL
#define MAX_QUEUE      200000       /* URLs waiting; beyond, links are dropped */
#define MAX_PLAUSIBLE  (1ull << 50) /* 1 PiB: a larger stated size is a lie */
#define RANGE_BODY_CAP 64           /* a server ignoring Range: stop after this */
#define MAX_HEADERS    262144       /* 256 KiB of response headers (curl: 100 KB a line) */

void grab_opts_default(struct grab_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->depth = 2;
    o->min_size = 1ull << 20;
    o->max_pages = 200;
    o->max_requests = 5000;
    o->max_redirects = 5;
    o->max_body = 4ull << 20;
    o->max_links = 5000;
    o->max_time_ms = 600000;
    o->timeout_ms = 30000;
    o->delay_ms = 100;
    o->user_agent = "flowsleuth/" FS_VERSION " (catalog grab)";
}

/* --- a set of strings (open addressing, FNV-1a) --- */

struct strset {
    char **slot;
    size_t cap, n;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void set_grow(struct strset *s);

/* Add a copy of k; returns 1 when added, 0 when it was there. */
static int set_add(struct strset *s, const char *k)
{
    if ((s->n + 1) * 2 > s->cap)
        set_grow(s);
    size_t i = fnv1a(k) & (s->cap - 1);
    for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slot[i], k) == 0)
            return 0;
    s->slot[i] = xstrdup(k);
    s->n++;
    return 1;
}

static void set_grow(struct strset *s)
{
    struct strset t = { xcalloc(s->cap ? s->cap * 2 : 256, sizeof(char *)),
                        s->cap ? s->cap * 2 : 256, 0 };
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) {
            size_t j = fnv1a(s->slot[i]) & (t.cap - 1);
            while (t.slot[j])
                j = (j + 1) & (t.cap - 1);
            t.slot[j] = s->slot[i];
            t.n++;
        }
    free(s->slot);
    *s = t;
}

static void set_free(struct strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
}

/* --- crawl state --- */

struct item {
    char *url;
    unsigned depth;
};

struct grab {
    const struct grab_opts *o;
    struct grab_stats *st;
    struct catalog *cat;
    CURL *curl;
    struct strset seen;  /* every URL queued or reached by a redirect */
    struct strset hosts; /* the start URLs' hosts, lower case */
    struct item *q;
    size_t qhead, qn, qcap;
    uint64_t t0;
    int stop;         /* a cap on the whole crawl was hit */
    int page_cap_hit; /* reported once */
    int queue_cap_hit;
    grab_report_fn report;
    void *ctx;
    char errbuf[CURL_ERROR_SIZE];
};

enum method { M_HEAD, M_RANGE, M_GET };
static const char *const method_name[] = { "HEAD", "ranged GET", "GET" };

struct resp {
    long status;
    char url[MAX_URL];      /* the URL that gave this response (after redirects) */
    char ctype[128];        /* Content-Type, "" when none */
    int64_t clen;           /* Content-Length, -1 when none */
    int clen_conflict;      /* several Content-Length headers that differ */
    int clen_bad;           /* a Content-Length that is no byte count */
    char clen_raw[48];      /* the (first) Content-Length as sent, for messages */
    int64_t range_total;    /* total of a Content-Range, -1 when none or bad */
    int range_bad;          /* a Content-Range that does not parse */
    char location[MAX_URL]; /* resolved redirect target, "" when none */
    char *body;
    size_t blen, bcap;
    uint64_t body_cap;
    int truncated; /* the body reached body_cap and the transfer was cut */
    size_t hbytes; /* header bytes so far */
    int hcut;      /* the headers passed MAX_HEADERS and the transfer was cut */
};

__attribute__((format(printf, 3, 4))) static void say(struct grab *g, enum grab_level lv,
                                                      const char *fmt, ...)
{
    char msg[MAX_URL + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g->report)
        g->report(g->ctx, lv, msg);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Lower-cased host of an absolute URL into out; 0, or -1 when it has none. */
static int url_host(const char *url, char *out, size_t outlen)
{
    CURLU *h = curl_url();
    char *host = NULL;
    int rc = -1;
    if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && strlen(host) < outlen) {
        for (size_t i = 0; host[i]; i++)
            out[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
        out[strlen(host)] = '\0';
        rc = 0;
    }
    curl_free(host);
    curl_url_cleanup(h);
    return rc;
}

/* Same site: the host is one of the start URLs' hosts (ports and schemes aside, so
 * an http page linking to https on the same host is followed). */
static int site_ok(struct grab *g, const char *url)
{
    char host[512];
    if (g->o->other_hosts)
        return 1;
    if (url_host(url, host, sizeof(host)) != 0)
        return 0;
    size_t i = fnv1a(host) & (g->hosts.cap - 1);
    for (; g->hosts.slot[i]; i = (i + 1) & (g->hosts.cap - 1))
        if (strcmp(g->hosts.slot[i], host) == 0)
            return 1;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *vr)
{
    struct resp *r = vr;
    size_t n = size * nmemb;
    if (r->blen + n > r->body_cap) {
        n = (size_t)(r->body_cap - r->blen);
        r->truncated = 1;
    }
    if (r->blen + n + 1 > r->bcap) {
        r->bcap = (r->blen + n + 1) * 2;
        if (r->bcap > r->body_cap + 1)
            r->bcap = (size_t)r->body_cap + 1;
        r->body = xrealloc(r->body, r->bcap);
    }
    memcpy(r->body + r->blen, data, n);
    r->blen += n;
    r->body[r->blen] = '\0';
    return r->truncated ? 0 : size * nmemb; /* 0 cuts the transfer */
}

/* curl bounds each header line, not their number: an endless header stream would
 * only end at the timeout, holding memory all along. */
// NOLINTNEXTLINE(readability-non-const-parameter): CURLOPT_HEADERFUNCTION's type
static size_t on_header(char *data, size_t size, size_t nmemb, void *vr)
{
    struct resp *r = vr;
    (void)data;
    r->hbytes += size * nmemb;
    if (r->hbytes > MAX_HEADERS) {
        r->hcut = 1;
        return 0;
    }
    return size * nmemb;
}

/* Every Content-Length of the response must agree (a smuggling classic); the value
 * curl parsed is then the length. */
static void read_headers(struct grab *g, struct resp *r)
{
    struct curl_header *h;
    char *ct = NULL;
    curl_off_t cl = -1;
    if (curl_easy_header(g->curl, "Content-Length", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
        size_t amount = h->amount;
        snprintf(r->clen_raw, sizeof(r->clen_raw), "%s", h->value);
        for (size_t i = 1; i < amount; i++)
            if (curl_easy_header(g->curl, "Content-Length", i, CURLH_HEADER, -1, &h) == CURLHE_OK &&
                strcmp(h->value, r->clen_raw) != 0)
                r->clen_conflict = 1;
        curl_easy_getinfo(g->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        r->clen_bad = cl < 0;
    }
    r->clen = cl;
    if (curl_easy_getinfo(g->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
    r->range_total = -1;
    if (curl_easy_header(g->curl, "Content-Range", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
        uint64_t total;
        if (grab_content_range(h->value, &total) == 0 && total < MAX_PLAUSIBLE)
            r->range_total = (int64_t)total;
        else
            r->range_bad = 1;
    }
}

/* The caps on the whole crawl, checked before every request. */
static int budget_ok(struct grab *g)
{
    if (g->stop)
        return 0;
    if (g->st->requests >= g->o->max_requests) {
        say(g, GRAB_WARN,
            "request cap reached (--max-requests %zu): crawl stopped with %zu URLs "
            "not visited",
            g->o->max_requests, g->qn - g->qhead);
        g->stop = 1;
    } else if (now_ms() - g->t0 >= g->o->max_time_ms) {
        say(g, GRAB_WARN,
            "time cap reached (--max-time %llu s): crawl stopped with %zu URLs not "
            "visited",
            (unsigned long long)(g->o->max_time_ms / 1000), g->qn - g->qhead);
        g->stop = 1;
    }
    if (g->stop)
        g->st->caps++;
    return !g->stop;
}

static void setup_request(struct grab *g, const char *url, enum method m, struct resp *r)
{
    CURL *c = g->curl;
    uint64_t left = g->o->max_time_ms - (now_ms() - g->t0);
    uint64_t tmo = g->o->timeout_ms < left ? g->o->timeout_ms : left;
    curl_easy_reset(c); /* keeps the connection cache */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* CURLOPT_NOSIGNAL stays off: libcurl then ignores SIGPIPE around each transfer
     * (a server closing early must not kill us); its resolver is threaded here. */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(tmo ? tmo : 1));
    curl_easy_setopt(c, CURLOPT_USERAGENT, g->o->user_agent);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, g->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (m == M_HEAD)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (m == M_RANGE)
        curl_easy_setopt(c, CURLOPT_RANGE, "0-0");
    r->body_cap = m == M_GET ? g->o->max_body : RANGE_BODY_CAP;
}

/* One request, no redirect followed. Returns 0 when a response arrived (any status),
 * -1 when the transfer failed (reported). */
static int request(struct grab *g, const char *url, enum method m, struct resp *r)
{
    if (!budget_ok(g))
        return -1;
    if (g->st->requests > 0 && g->o->delay_ms)
        sleep_ms(g->o->delay_ms);
    g->st->requests++;
    free(r->body);
    memset(r, 0, sizeof(*r));
    snprintf(r->url, sizeof(r->url), "%s", url);
    setup_request(g, url, m, r);
    g->errbuf[0] = '\0';
    CURLcode cc = curl_easy_perform(g->curl);
    curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc == CURLE_WRITE_ERROR && r->truncated)
        cc = CURLE_OK; /* we cut it ourselves */
    if (r->hcut) {
        g->st->caps++;
        g->st->errors++;
        say(g, GRAB_WARN, "%s: %s: response headers larger than %d bytes; cut", url, method_name[m],
            MAX_HEADERS);
        return -1;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        g->st->caps++;
        g->st->errors++;
        say(g, GRAB_WARN, "%s: %s timed out (cap --timeout %llu ms or --max-time): %s", url,
            method_name[m], (unsigned long long)g->o->timeout_ms, g->errbuf);
        return -1;
    }
    if (cc != CURLE_OK && !(cc == CURLE_PARTIAL_FILE && m == M_GET && r->status / 100 == 2)) {
        g->st->errors++;
        say(g, GRAB_WARN, "%s: %s failed: %s", url, method_name[m],
            g->errbuf[0] ? g->errbuf : curl_easy_strerror(cc));
        return -1;
    }
    if (cc == CURLE_PARTIAL_FILE)
        say(g, GRAB_WARN,
            "%s: body shorter than its Content-Length (%zu bytes received); "
            "links of what arrived are used",
            url, r->blen);
    read_headers(g, r);
    char *loc = NULL;
    if (curl_easy_getinfo(g->curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc &&
        html_links_resolve(url, loc, r->location, sizeof(r->location)) != 1)
        r->location[0] = '\0';
    return 0;
}

static int is_redirect(long s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/*
 * Request url with method m and follow redirects by hand. Returns 0 with the final
 * response in *r, 1 when a redirect leads to a URL already seen (quietly skipped when
 * dedupe), -1 on a failure or cap (reported).
 */
static int fetch(struct grab *g, const char *url, enum method m, int dedupe, struct resp *r)
{
    char cur[MAX_URL];
    snprintf(cur, sizeof(cur), "%s", url);
    for (unsigned hop = 0;; hop++) {
        if (request(g, cur, m, r) != 0)
            return -1;
        if (!is_redirect(r->status))
            return 0;
        if (!r->location[0]) {
            g->st->errors++;
            say(g, GRAB_WARN, "%s: redirect %ld without a usable http(s) Location", cur, r->status);
            return -1;
        }
        if (hop >= g->o->max_redirects) {
            g->st->caps++;
            say(g, GRAB_WARN, "%s: more than %u redirects (cap --max-redirects), last to %s", url,
                g->o->max_redirects, r->location);
            return -1;
        }
        if (strcmp(r->location, cur) == 0) {
            g->st->errors++;
            say(g, GRAB_WARN, "%s: redirects to itself", cur);
            return -1;
        }
        if (!site_ok(g, r->location)) {
            g->st->offsite++;
            say(g, GRAB_INFO, "%s: redirects to another host (%s), not followed", url, r->location);
            return -1;
        }
        if (!set_add(&g->seen, r->location) && dedupe)
            return 1; /* reached before, by a link or another redirect */
        snprintf(cur, sizeof(cur), "%s", r->location);
    }
}

static void enqueue(struct grab *g, const char *url, unsigned depth)
{
    if (!site_ok(g, url)) {
        g->st->offsite++;
        return;
    }
    if (g->qn - g->qhead >= MAX_QUEUE) {
        if (!g->queue_cap_hit++) {
            g->st->caps++;
            say(g, GRAB_WARN, "%s: more than %d URLs waiting: further links dropped", url,
                MAX_QUEUE);
        }
        return;
    }
    if (!set_add(&g->seen, url))
        return;
    if (g->qn == g->qcap) {
        g->qcap = g->qcap ? g->qcap * 2 : 64;
        g->q = xrealloc(g->q, g->qcap * sizeof(*g->q));
    }
    g->q[g->qn].url = xstrdup(url);
    g->q[g->qn++].depth = depth;
}

/* GET a page (within the depth and page caps) and queue its links. */
static void read_page(struct grab *g, const char *url, unsigned depth, struct resp *r)
{
    if (depth > g->o->depth) {
        g->st->deep++;
        return;
    }
    if (g->st->pages >= g->o->max_pages) {
        g->st->caps++;
        if (!g->page_cap_hit++)
            say(g, GRAB_WARN,
                "%s: page cap reached (--max-pages %zu): this and further pages "
                "not read",
                url, g->o->max_pages);
        return;
    }
    if (fetch(g, url, M_GET, 0, r) != 0)
        return;
    if (r->status / 100 != 2) {
        g->st->errors++;
        say(g, GRAB_WARN, "%s: GET: HTTP status %ld", r->url, r->status);
        return;
    }
    g->st->pages++;
    if (r->truncated) {
        g->st->caps++;
        say(g, GRAB_WARN,
            "%s: page larger than %llu bytes (cap --max-body): links of the first "
            "%llu bytes used",
            r->url, (unsigned long long)g->o->max_body, (unsigned long long)g->o->max_body);
    }
    struct html_links l;
    if (html_links_extract(r->body ? r->body : "", r->blen, r->url, g->o->max_links, &l) != 0)
        return;
    say(g, GRAB_INFO, "%s: page (depth %u): %zu links", r->url, depth, l.n);
    if (l.dropped) {
        g->st->caps++;
        say(g, GRAB_WARN,
            "%s: %zu links dropped (more than %zu, cap --max-links, or longer "
            "than %d bytes)",
            r->url, l.dropped, g->o->max_links, MAX_URL - 1);
    }
    for (size_t i = 0; i < l.n; i++)
        enqueue(g, l.url[i], depth + 1);
    html_links_free(&l);
}

/* A file candidate of the given size (-1 unknown): kept, below, or without size. */
static void take_file(struct grab *g, const char *url, int64_t size)
{
    g->st->files++;
    if (size < 0) {
        g->st->nosize++;
        say(g, GRAB_WARN, "%s: no size (no Content-Length, no Content-Range)", url);
        return;
    }
    if ((uint64_t)size >= MAX_PLAUSIBLE) {
        g->st->nosize++;
        say(g, GRAB_WARN, "%s: stated size %lld is not plausible; skipped", url, (long long)size);
        return;
    }
    if ((uint64_t)size < g->o->min_size) {
        g->st->below++;
        return;
    }
    char name[512], product[256], version[128];
    grab_file_name(url, name, sizeof(name));
    grab_guess(name, product, sizeof(product), version, sizeof(version));
    struct cat_entry e = { 0 };
    e.size = (uint64_t)size;
    e.name = name;
    e.product = product;
    e.version = version;
    e.url = url;
    e.source = CAT_SRC_GRAB;
    catalog_add(g->cat, &e);
    g->st->kept++;
    say(g, GRAB_INFO, "%s: %llu bytes: kept", url, (unsigned long long)size);
}

/* HEAD refused (405 Method Not Allowed, 501 Not Implemented, and the 400/403 some
 * object stores answer) or without a length: ask again with a one-byte ranged GET. */
static int head_refused(long s)
{
    return s == 405 || s == 501 || s == 400 || s == 403;
}

/* Size from a ranged GET: 206 + Content-Range, 200 (range ignored) + Content-Length,
 * 416 + "bytes * /N" (an empty file). -1 when none. */
static int64_t ranged_size(struct grab *g, const struct resp *r)
{
    if (r->range_bad)
        say(g, GRAB_WARN, "%s: malformed Content-Range", r->url);
    if ((r->status == 206 || r->status == 416) && r->range_total >= 0)
        return r->range_total;
    if (r->status == 200)
        return r->clen;
    return -1;
}

/* A length no server honestly sends: reported, the file skipped. */
static int bad_length(struct grab *g, const struct resp *r)
{
    if (!r->clen_conflict && !r->clen_bad)
        return 0;
    g->st->files++;
    g->st->nosize++;
    say(g, GRAB_WARN, "%s: %s Content-Length ('%s'%s); skipped", r->url,
        r->clen_conflict ? "conflicting" : "malformed", r->clen_raw,
        r->clen_conflict ? " and others" : "");
    return 1;
}

/* One queued URL: HEAD it, then read it as a page or size it as a file. */
static void visit(struct grab *g, const struct item *it)
{
    struct resp r = { 0 };
    if (fetch(g, it->url, M_HEAD, 1, &r) != 0)
        goto out;
    int html = grab_is_html(r.ctype);
    if (!html && r.status / 100 == 2 && bad_length(g, &r))
        goto out;
    int ranged = head_refused(r.status) || (r.status / 100 == 2 && !html && r.clen < 0);
    if (ranged) {
        char url[MAX_URL];
        snprintf(url, sizeof(url), "%s", r.url);
        if (fetch(g, url, M_RANGE, 0, &r) != 0)
            goto out;
        html = grab_is_html(r.ctype);
    }
    if (r.status / 100 != 2 && !(ranged && r.status == 416)) {
        g->st->errors++;
        say(g, GRAB_WARN, "%s: %s: HTTP status %ld", r.url, method_name[ranged ? M_RANGE : M_HEAD],
            r.status);
        goto out;
    }
    if (html) {
        char url[MAX_URL];
        snprintf(url, sizeof(url), "%s", r.url);
        read_page(g, url, it->depth, &r);
    } else if (!(ranged && r.status == 200 && bad_length(g, &r))) {
        take_file(g, r.url, ranged ? ranged_size(g, &r) : r.clen);
    }
out:
    free(r.body);
}

/* Check the start URLs, note their hosts, queue them at depth 0. */
static int start(struct grab *g, char *const *urls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char abs[MAX_URL], host[512];
        if (html_links_resolve(urls[i], urls[i], abs, sizeof(abs)) != 1 ||
            url_host(abs, host, sizeof(host)) != 0) {
            say(g, GRAB_WARN, "%s: not an absolute http:// or https:// URL", urls[i]);
            return FS_EINVAL;
        }
        set_add(&g->hosts, host);
    }
    for (size_t i = 0; i < n; i++) {
        char abs[MAX_URL];
        html_links_resolve(urls[i], urls[i], abs, sizeof(abs));
        enqueue(g, abs, 0);
    }
    return 0;
}

int grab_run(struct catalog *cat, char *const *urls, size_t n, const struct grab_opts *o,
             grab_report_fn report, void *ctx, struct grab_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return FS_EBASE;
    struct grab g = { 0 };
    g.o = o;
    g.st = st;
    g.cat = cat;
    g.report = report;
    g.ctx = ctx;
    g.t0 = now_ms();
    g.curl = curl_easy_init();
    int rc = g.curl ? start(&g, urls, n) : FS_EBASE;
    while (rc == 0 && g.qhead < g.qn && !g.stop) {
        struct item it = g.q[g.qhead++];
        visit(&g, &it);
        free(it.url);
    }
    for (size_t i = g.qhead; i < g.qn; i++)
        free(g.q[i].url);
    free(g.q);
    set_free(&g.seen);
    set_free(&g.hosts);
    if (g.curl)
        curl_easy_cleanup(g.curl);
    curl_global_cleanup();
    st->elapsed_ms = now_ms() - g.t0;
    return rc;
}
