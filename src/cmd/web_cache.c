/*
 * serve's answer cache (web_cache.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "web_cache.h"

#include "../core/xalloc.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct entry {
    char *key;
    uint64_t stamp, used;
    char *body;
    size_t len;
};

struct web_cache {
    pthread_mutex_t mu;
    struct entry *v;
    size_t n, max, max_bytes, bytes;
    uint64_t clock;
};

struct web_cache *web_cache_new(size_t max_entries, size_t max_bytes)
{
    struct web_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->v = xcalloc(max_entries ? max_entries : 1, sizeof(*c->v));
    c->max = max_entries ? max_entries : 1;
    c->max_bytes = max_bytes;
    return c;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static _Thread_local uint64_t walk_hash; /* nftw's callback has no context argument */

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_NS || type == FTW_DNR)
        return 1; /* cannot say what is there: no stamp */
    walk_hash = mix(walk_hash, (uint64_t)st->st_ino);
    walk_hash = mix(walk_hash, (uint64_t)st->st_size);
    walk_hash = mix(walk_hash, (uint64_t)st->st_mtim.tv_sec);
    walk_hash = mix(walk_hash, (uint64_t)st->st_mtim.tv_nsec);
    return 0;
}

uint64_t web_cache_stamp(const char *const *paths, size_t npaths)
{
    walk_hash = 0x5eed;
    for (size_t i = 0; i < npaths; i++) {
        walk_hash = mix(walk_hash, i);
        if (nftw(paths[i], walk_one, 16, FTW_PHYS) != 0)
            return 0;
    }
    return walk_hash ? walk_hash : 1;
}

static char *req_key(const struct web_req *r)
{
    char *k = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&k, &len);
    if (!m)
        return NULL;
    fprintf(m, "%d|%llu|%llu|%llu|%d|%.17g|%s|%zu|%zu|%zu|%s", (int)r->ep,
            (unsigned long long)r->from_ms, (unsigned long long)r->to_ms,
            (unsigned long long)r->bin_s, r->prev, r->k, r->ep == WEB_TOP ? r->key : "", r->n,
            r->offset, r->limit, r->filter);
    if (r->ep == WEB_ALERTS) {
        fprintf(m, "|%u|%u|%llu|%u|%llu|", r->scan_count, r->scan_count_internal,
                (unsigned long long)r->scan_window_ms, r->spam_count,
                (unsigned long long)r->spam_window_ms);
        for (size_t i = 0; i < r->spam_nports; i++)
            fprintf(m, "%u,", r->spam_ports[i]);
    }
    fclose(m);
    return k;
}

int web_cache_get(struct web_cache *c, const struct web_req *r, uint64_t stamp, char **body,
                  size_t *len)
{
    char *k = req_key(r);
    int hit = 0;
    if (!k || !stamp) {
        free(k);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        struct entry *e = &c->v[i];
        if (e->stamp == stamp && strcmp(e->key, k) == 0) {
            e->used = ++c->clock;
            *body = xmalloc(e->len ? e->len : 1);
            memcpy(*body, e->body, e->len);
            *len = e->len;
            hit = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    free(k);
    return hit;
}

static void drop(struct web_cache *c, size_t i)
{
    c->bytes -= c->v[i].len;
    /* NOLINTBEGIN(clang-analyzer-unix.Malloc): the analyzer loses that slot i was refilled */
    free(c->v[i].key);
    free(c->v[i].body);
    /* NOLINTEND(clang-analyzer-unix.Malloc) */
    c->n--;
    c->v[i] = c->v[c->n];
    c->v[c->n].key = NULL; /* the moved entry has one owner, slot i */
    c->v[c->n].body = NULL;
}

void web_cache_put(struct web_cache *c, const struct web_req *r, uint64_t stamp, const char *body,
                   size_t len)
{
    if (!stamp || len > c->max_bytes)
        return;
    char *k = req_key(r);
    if (!k)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n;) /* the same question of another state, or again */
        if (strcmp(c->v[i].key, k) == 0)
            drop(c, i);
        else
            i++;
    while (c->n && (c->n == c->max || c->bytes + len > c->max_bytes)) {
        size_t old = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->v[i].used < c->v[old].used)
                old = i;
        drop(c, old);
    }
    struct entry *e = &c->v[c->n++];
    e->key = k;
    e->stamp = stamp;
    e->used = ++c->clock;
    e->body = xmalloc(len ? len : 1);
    memcpy(e->body, body, len);
    e->len = len;
    c->bytes += len;
    pthread_mutex_unlock(&c->mu);
}

void web_cache_free(struct web_cache *c)
{
    if (!c)
        return;
    while (c->n)
        drop(c, c->n - 1);
    free(c->v);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
