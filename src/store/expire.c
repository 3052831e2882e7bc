/*
 * Store expiry (expire.h): list the bin files of a store folder, sort them oldest
 * first, remove by age and then by size, and tidy the folders left empty.
 */
#include "expire.h"
#include "../core/units.h"
#include "../core/xalloc.h"
#include "store_walk.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct expiry {
    const struct expire_opts *o;
    expire_fn fn;
    void *ctx;
    struct expire_stats *st;
    struct fs_err *err;
    int rc;
    int pruned; /* folders removed */
};

/* A temp file whose writer no longer exists. */
static int stale(const struct store_walk_file *f)
{
    return f->pid != (long)getpid() && kill((pid_t)f->pid, 0) != 0 && errno == ESRCH;
}

static void keep_err(struct expiry *x, int rc, const char *path, const char *what)
{
    if (!x->rc)
        x->rc = fs_err_set(x->err, rc, -1, "%s: %s: %s", path, what, fs_strerror(rc));
}

/* Remove f (relative to its folder, never through a link) and the folders it empties. */
static void remove_file(struct expiry *x, const struct store_walk_file *f, const char *why)
{
    if (x->fn)
        x->fn(x->ctx, f->path, f->bytes, why);
    if (x->o->dry_run)
        return;
    int rc = store_walk_unlink(f);
    if (rc && rc != -ENOENT)
        keep_err(x, rc, f->path, "remove");
    else
        x->pruned += store_walk_prune(f);
}

/* Expire a store folder (expire.h). */
int store_expire(const char *root, const struct expire_opts *o, expire_fn fn, void *ctx,
                 struct expire_stats *st, struct fs_err *err)
{
    struct expire_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof(*st));
    struct expiry x = { .o = o, .fn = fn, .ctx = ctx, .st = st, .err = err };
    struct store_walk w = { 0 };
    int rc = store_walk(root, 1, &w, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < w.ntmps; i++)
        if (stale(&w.tmps[i])) {
            st->stale_tmp++;
            remove_file(&x, &w.tmps[i], "temp file of a writer that is gone");
        }
    for (size_t i = 0; i < w.nfiles; i++)
        st->bytes += w.files[i].bytes;
    st->files = w.nfiles;
    uint64_t left = st->bytes;
    uint64_t cutoff = o->max_age_ms && o->now_ms > o->max_age_ms ? o->now_ms - o->max_age_ms : 0;
    for (size_t i = 0; i < w.nfiles; i++) {
        const struct store_walk_file *b = &w.files[i];
        const char *why = NULL;
        if (o->max_age_ms && b->start_ms < cutoff)
            why = "older than --expire-age";
        else if (o->max_bytes && left > o->max_bytes)
            why = "store larger than --expire-size";
        if (why) {
            remove_file(&x, b, why);
            left -= b->bytes;
            st->removed++;
            st->removed_bytes += b->bytes;
        }
    }
    store_walk_free(&w);
    return x.rc;
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

/* Size to bytes, with the units of every command (core/units.h). */
int expire_parse_size(const char *s, uint64_t *bytes)
{
    uint64_t v;
    if (!s || units_parse_str(s, 1, &v) != 0 || v == 0)
        return FS_EINVAL;
    *bytes = v;
    return 0;
}
