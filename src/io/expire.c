/*
 * Store expiry (expire.h): list the bin files of a store folder, sort them oldest
 * first, remove by age and then by size, and tidy the folders left empty.
 */
#include "expire.h"
#include "../core/xalloc.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct bin_file {
    char *path;
    uint64_t start_ms, bytes;
    uint32_t suffix;
};

struct walk {
    const struct expire_opts *o;
    expire_fn fn;
    void *ctx;
    struct expire_stats *st;
    struct fs_err *err;
    int rc;
    struct bin_file *v;
    size_t n, cap;
};

static long digits(const char *s, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* ".flows.NAME.tmp.PID.K" of a process that no longer exists. */
static int stale_tmp(const char *s)
{
    if (strncmp(s, ".flows.", 7) != 0)
        return 0;
    const char *t = strstr(s, ".tmp.");
    if (!t)
        return 0;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    if (end == t + 5 || *end != '.' || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void walk_err(struct walk *w, int rc, const char *path, const char *what)
{
    if (!w->rc)
        w->rc = fs_err_set(w->err, rc, -1, "%s: %s: %s", path, what, fs_strerror(rc));
}

static void remove_file(struct walk *w, const char *path, uint64_t bytes, const char *why)
{
    if (w->fn)
        w->fn(w->ctx, path, bytes, why);
    if (!w->o->dry_run && unlink(path) != 0 && errno != ENOENT)
        walk_err(w, -errno, path, "remove");
}

static void add_file(struct walk *w, const char *path, const char *name)
{
    uint64_t start;
    uint32_t suffix;
    struct stat sb;
    int is_bin = store_bin_parse(name, &start, &suffix) == 0;
    if ((!is_bin && !stale_tmp(name)) || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return;
    if (!is_bin) {
        w->st->stale_tmp++;
        remove_file(w, path, (uint64_t)sb.st_size, "temp file of a writer that is gone");
        return;
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 256;
        w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    w->v[w->n++] = (struct bin_file){ xstrdup(path), start, (uint64_t)sb.st_size, suffix };
    w->st->files++;
    w->st->bytes += (uint64_t)sb.st_size;
}

/* Collect the bin files of dir; depth 0 = the store, 3 = a day folder. */
static void walk_dir(struct walk *w, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0)
            walk_err(w, -errno, dir, "open store folder");
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, ".."))
            continue;
        size_t len = strlen(dir) + strlen(nm) + 2;
        char *p = xmalloc(len);
        snprintf(p, len, "%s/%s", dir, nm);
        size_t want = depth == 0 ? 4 : 2;
        if (depth < 3 && strlen(nm) == want && digits(nm, (int)want) >= 0)
            walk_dir(w, p, depth + 1);
        else
            add_file(w, p, nm);
        free(p);
    }
    closedir(d);
    /* A day, month or year folder left empty goes (ENOTEMPTY otherwise: fine). */
    if (depth > 0 && !w->o->dry_run)
        rmdir(dir);
}

static int bin_cmp(const void *a, const void *b)
{
    const struct bin_file *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return x->suffix < y->suffix ? -1 : x->suffix > y->suffix;
}

/* Expire a store folder (expire.h). */
int store_expire(const char *root, const struct expire_opts *o, expire_fn fn, void *ctx,
                 struct expire_stats *st, struct fs_err *err)
{
    struct expire_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof(*st));
    struct walk w = { .o = o, .fn = fn, .ctx = ctx, .st = st, .err = err };
    walk_dir(&w, root, 0);
    if (w.n)
        qsort(w.v, w.n, sizeof(*w.v), bin_cmp);
    uint64_t left = st->bytes;
    uint64_t cutoff = o->max_age_ms && o->now_ms > o->max_age_ms ? o->now_ms - o->max_age_ms : 0;
    for (size_t i = 0; i < w.n; i++) {
        const struct bin_file *b = &w.v[i];
        const char *why = NULL;
        if (o->max_age_ms && b->start_ms < cutoff)
            why = "older than --expire-age";
        else if (o->max_bytes && left > o->max_bytes)
            why = "store larger than --expire-size";
        if (why) {
            remove_file(&w, b->path, b->bytes, why);
            left -= b->bytes;
            st->removed++;
            st->removed_bytes += b->bytes;
        }
        free(b->path);
    }
    free(w.v);
    /* Tidy folders the removals emptied (a second, cheap pass over what is left). */
    if (st->removed && !o->dry_run) {
        struct walk t = { .o = o, .st = &dummy, .err = NULL };
        memset(&dummy, 0, sizeof(dummy));
        walk_dir(&t, root, 0);
        for (size_t i = 0; i < t.n; i++)
            free(t.v[i].path);
        free(t.v);
    }
    return w.rc;
}

/* Number with an optional unit from units (each with its multiplier). */
static int parse_unit(const char *s, const char *units, const uint64_t *mult, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return FS_EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
        return FS_EINVAL;
    uint64_t m = 1;
    if (*end) {
        const char *u = strchr(units, *end);
        if (!u || !*u)
            return FS_EINVAL;
        m = mult[u - units];
        end++;
        if (*end == 'B' || *end == 'b')
            end++;
        if (*end)
            return FS_EINVAL;
    }
    if (v > UINT64_MAX / m)
        return FS_EINVAL;
    *out = (uint64_t)v * m;
    return 0;
}

/* Duration to ms. */
int expire_parse_age(const char *s, uint64_t *ms)
{
    static const uint64_t mult[] = { 1000, 60000, 3600000, 86400000, 604800000 };
    uint64_t v;
    size_t n = s ? strlen(s) : 0;
    if (n && (s[n - 1] == 'B' || s[n - 1] == 'b'))
        return FS_EINVAL;
    if (parse_unit(s, "smhdw", mult, &v) != 0)
        return FS_EINVAL;
    if (v == 0 || (n && s[n - 1] >= '0' && s[n - 1] <= '9' && v > UINT64_MAX / 1000))
        return FS_EINVAL;
    *ms = n && s[n - 1] >= '0' && s[n - 1] <= '9' ? v * 1000 : v;
    return 0;
}

/* Size to bytes. */
int expire_parse_size(const char *s, uint64_t *bytes)
{
    static const uint64_t mult[] = { 1ull << 10, 1ull << 20, 1ull << 30, 1ull << 40,
                                     1ull << 10, 1ull << 20, 1ull << 30, 1ull << 40 };
    uint64_t v;
    if (parse_unit(s, "KMGTkmgt", mult, &v) != 0 || v == 0)
        return FS_EINVAL;
    *bytes = v;
    return 0;
}
