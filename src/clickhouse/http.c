/*
 * One POST to ClickHouse's HTTP interface. libcurl is opened with dlopen the first time
 * a command talks to a server: the binary does not link it, so the commands that never
 * do (all but clickhouse and a --sink) start without its shared libraries (CMakeLists:
 * the crawler alone links libcurl for the same reason).
 */
#define CURL_DISABLE_TYPECHECK 1
#include "../core/xalloc.h"
#include "ch.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    CURLcode (*getinfo)(CURL *, CURLINFO, ...);
    void (*cleanup)(CURL *);
    const char *(*strerror)(CURLcode);
    char *(*escape)(CURL *, const char *, int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    int ok;
    char err[200];
} cu;

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void cu_load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(cu.err, sizeof(cu.err), "cannot load libcurl (Debian: libcurl4): %s", dlerror());
        return;
    }
    const struct {
        void **slot;
        const char *name;
    } syms[] = {
        { (void **)&cu.global_init, "curl_global_init" },
        { (void **)&cu.init, "curl_easy_init" },
        { (void **)&cu.setopt, "curl_easy_setopt" },
        { (void **)&cu.perform, "curl_easy_perform" },
        { (void **)&cu.getinfo, "curl_easy_getinfo" },
        { (void **)&cu.cleanup, "curl_easy_cleanup" },
        { (void **)&cu.strerror, "curl_easy_strerror" },
        { (void **)&cu.escape, "curl_easy_escape" },
        { (void **)&cu.free, "curl_free" },
        { (void **)&cu.slist_append, "curl_slist_append" },
        { (void **)&cu.slist_free_all, "curl_slist_free_all" },
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(cu.err, sizeof(cu.err), "libcurl.so.4 has no %s", syms[i].name);
            return;
        }
    }
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(cu.err, sizeof(cu.err), "curl_global_init failed");
        return;
    }
    cu.ok = 1;
}

struct ch_http {
    CURL *c;
    struct curl_slist *hdr;
    char base[300];
    char *ans;
    size_t alen, acap;
};

#define ANSWER_MAX (16u << 20)

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    struct ch_http *h = ctx;
    size_t n = sz * nm;
    if (h->alen + n + 1 > ANSWER_MAX)
        return 0; /* an answer this long is no answer of ours: cut it off */
    if (h->alen + n + 1 > h->acap) {
        h->acap = (h->alen + n + 1) * 2;
        h->ans = xrealloc(h->ans, h->acap);
    }
    memcpy(h->ans + h->alen, p, n);
    h->alen += n;
    h->ans[h->alen] = '\0';
    return n;
}

struct ch_http *ch_http_new(const struct ch_url *u, long timeout_s, struct fs_err *e)
{
    pthread_once(&cu_once, cu_load);
    if (!cu.ok) {
        fs_err_set(e, FS_EUNSUP, -1, "%s", cu.err);
        return NULL;
    }
    struct ch_http *h = xcalloc(1, sizeof(*h));
    h->c = cu.init();
    if (!h->c) {
        free(h);
        fs_err_set(e, FS_EUNSUP, -1, "curl_easy_init failed");
        return NULL;
    }
    snprintf(h->base, sizeof(h->base), "http://%s:%u/", u->host, u->port);
    /* Expect: 100-continue costs a round trip per batch; ClickHouse needs none. */
    h->hdr = cu.slist_append(NULL, "Expect:");
    cu.setopt(h->c, CURLOPT_HTTPHEADER, h->hdr);
    cu.setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    cu.setopt(h->c, CURLOPT_CONNECTTIMEOUT, 5L);
    cu.setopt(h->c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
    cu.setopt(h->c, CURLOPT_WRITEFUNCTION, on_data);
    cu.setopt(h->c, CURLOPT_WRITEDATA, h);
    cu.setopt(h->c, CURLOPT_POST, 1L);
    cu.setopt(h->c, CURLOPT_PROXY, ""); /* never an environment proxy */
    if (u->has_user) {
        cu.setopt(h->c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        cu.setopt(h->c, CURLOPT_USERNAME, u->user);
        cu.setopt(h->c, CURLOPT_PASSWORD, u->pass);
    }
    return h;
}

void ch_http_free(struct ch_http *h)
{
    if (!h)
        return;
    cu.cleanup(h->c);
    cu.slist_free_all(h->hdr);
    free(h->ans);
    free(h);
}

/* The server's text made one line: ClickHouse ends it with a newline and may quote a
 * stack trace after it. */
static void one_line(char *s)
{
    char *nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

int ch_http_post(struct ch_http *h, const char *query, const void *body, size_t len, char **out,
                 int *down, struct fs_err *e)
{
    char *url;
    *down = 0;
    if (query) {
        char *q = cu.escape(h->c, query, 0);
        size_t n = strlen(h->base) + strlen(q) + 8;
        url = xmalloc(n);
        snprintf(url, n, "%s?query=%s", h->base, q);
        cu.free(q);
    } else {
        url = xstrdup(h->base);
    }
    h->alen = 0;
    if (h->ans)
        h->ans[0] = '\0';
    cu.setopt(h->c, CURLOPT_URL, url);
    cu.setopt(h->c, CURLOPT_POSTFIELDS, body);
    cu.setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = cu.perform(h->c);
    free(url);
    long status = 0;
    cu.getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        *down = 1;
        return fs_err_set(e, FS_EINVAL, -1, "%s", cu.strerror(rc)), -1;
    }
    if (status != 200) {
        *down = status == 502 || status == 503 || status == 504;
        char *t = h->ans ? h->ans : (char *)"";
        one_line(t);
        return fs_err_set(e, FS_EINVAL, -1, "HTTP %ld: %s", status, *t ? t : "(no text)"), -1;
    }
    if (out)
        *out = xstrdup(h->ans ? h->ans : "");
    return 0;
}

/* ch_http_stream: the answer goes to fn while the status is 200, else into h->ans
 * (the server's error text). */
struct stream {
    struct ch_http *h;
    int (*fn)(void *ctx, const uint8_t *p, size_t n);
    void *ctx;
    int status_known, ok;
};

static size_t on_stream(char *p, size_t sz, size_t nm, void *ctx)
{
    struct stream *s = ctx;
    if (!s->status_known) {
        long status = 0;
        cu.getinfo(s->h->c, CURLINFO_RESPONSE_CODE, &status);
        s->ok = status == 200;
        s->status_known = 1;
    }
    if (!s->ok)
        return on_data(p, sz, nm, s->h);
    return s->fn(s->ctx, (const uint8_t *)p, sz * nm) ? sz * nm : 0;
}

int ch_http_stream(struct ch_http *h, const char *query,
                   int (*fn)(void *ctx, const uint8_t *p, size_t n), void *ctx, struct fs_err *e)
{
    struct stream s = { h, fn, ctx, 0, 0 };
    h->alen = 0;
    if (h->ans)
        h->ans[0] = '\0';
    cu.setopt(h->c, CURLOPT_URL, h->base);
    cu.setopt(h->c, CURLOPT_POSTFIELDS, query);
    cu.setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(query));
    cu.setopt(h->c, CURLOPT_TIMEOUT, 0L);
    cu.setopt(h->c, CURLOPT_WRITEFUNCTION, on_stream);
    cu.setopt(h->c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = cu.perform(h->c);
    cu.setopt(h->c, CURLOPT_WRITEFUNCTION, on_data);
    cu.setopt(h->c, CURLOPT_WRITEDATA, h);
    long status = 0;
    cu.getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0 && status != 200) {
        char *t = h->ans ? h->ans : (char *)"";
        one_line(t);
        return fs_err_set(e, FS_EINVAL, -1, "HTTP %ld: %s", status, *t ? t : "(no text)"), -1;
    }
    if (rc != CURLE_OK)
        return fs_err_set(e, FS_EINVAL, -1, "%s", cu.strerror(rc)), -1;
    return 0;
}
