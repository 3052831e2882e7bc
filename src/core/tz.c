#include "tz.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The table covers 1970 .. 2200; before and after, the edge offsets hold. */
#define TZ_SCAN_END ((int64_t)7258118400) /* 2200-01-01 */
#define TZ_STEP     ((int64_t)86400)      /* no zone changes its offset twice in a day */

void tz_utc(struct tz *z)
{
    memset(z, 0, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "UTC");
    z->at = xmalloc(sizeof(*z->at));
    z->off = xmalloc(sizeof(*z->off));
    z->at[0] = INT64_MIN;
    z->off[0] = 0;
    z->n = 1;
}

/*
 * A name the C library will read a zone file for: NAME under $TZDIR or
 * /usr/share/zoneinfo (no ".." in it), or an absolute path (TZ=:/etc/localtime, as
 * systemd units write it; the ':' is dropped), whose file starts with the TZif magic.
 * Anything else glibc would take as UTC without a word.
 */
static int zone_file_ok(const char *name)
{
    if (!name[0] || name[0] == '.' || strstr(name, "..") || strlen(name) >= TZ_NAME_MAX)
        return 0;
    const char *dir = getenv("TZDIR");
    char path[512], magic[4];
    if (name[0] == '/')
        snprintf(path, sizeof(path), "%s", name);
    else
        snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    int ok = fread(magic, 1, sizeof(magic), fp) == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
    fclose(fp);
    return ok;
}

static long gmtoff_at(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return 0;
    return tm.tm_gmtoff;
}

static void push(struct tz *z, size_t *cap, int64_t at, int32_t off)
{
    if (z->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        z->at = xrealloc(z->at, *cap * sizeof(*z->at));
        z->off = xrealloc(z->off, *cap * sizeof(*z->off));
    }
    z->at[z->n] = at;
    z->off[z->n] = off;
    z->n++;
}

/* Walk the years a day at a time; where the offset changed, bisect to the second. */
static void scan_zone(struct tz *z)
{
    size_t cap = 0;
    long cur = gmtoff_at(0);
    push(z, &cap, INT64_MIN, (int32_t)cur);
    for (int64_t t = TZ_STEP; t < TZ_SCAN_END; t += TZ_STEP) {
        long o = gmtoff_at(t);
        if (o == cur)
            continue;
        int64_t lo = t - TZ_STEP, hi = t; /* offset cur at lo, o at hi */
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (gmtoff_at(mid) == cur)
                lo = mid;
            else
                hi = mid;
        }
        push(z, &cap, hi, (int32_t)o);
        cur = o;
    }
}

int tz_load(struct tz *z, const char *name, struct fs_err *err)
{
    if (name && name[0] == ':')
        name++;
    if (!name || strcmp(name, "UTC") == 0) {
        tz_utc(z);
        return 0;
    }
    if (!zone_file_ok(name))
        return fs_err_set(err, FS_EINVAL, -1,
                          "unknown time zone '%s' (an IANA name such as Europe/Berlin, "
                          "with a zone file under /usr/share/zoneinfo, or a zone file's path)",
                          name);
    memset(z, 0, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "%s", name);
    const char *old = getenv("TZ");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("TZ", name, 1);
    tzset();
    scan_zone(z);
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    return 0;
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
    size_t lo = 0, hi = z->n; /* the last entry with at <= t; at[0] is INT64_MIN */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

/* Local seconds since the epoch. */
static int64_t local_s(const struct tz *z, uint64_t ms)
{
    int64_t t = (int64_t)(ms / 1000);
    return t + tz_offset(z, t);
}

/* Floor division for local times before the epoch (a negative offset at 1970). */
static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void tz_local(const struct tz *z, uint64_t ms, unsigned *hour, unsigned *wday)
{
    int64_t l = local_s(z, ms);
    int64_t day = floordiv(l, 86400);
    *hour = (unsigned)((l - day * 86400) / 3600);
    *wday = (unsigned)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}

unsigned tz_how(const struct tz *z, uint64_t ms)
{
    unsigned hour, wday;
    tz_local(z, ms, &hour, &wday);
    return ((wday + 6) % 7) * 24 + hour;
}

void tz_free(struct tz *z)
{
    free(z->at);
    free(z->off);
    memset(z, 0, sizeof(*z));
}
