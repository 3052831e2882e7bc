/*
 * Time zones for the hour of the week (baseline, anomaly) and the filter's hour and
 * wday: an IANA zone name (Europe/Berlin) read through the C library once, turned into
 * a table of UTC offsets and the times they start, so a lookup afterwards is a
 * bisection with no locks, no environment and no localtime_r per flow (glibc's takes a
 * lock and rereads TZ).
 *
 * Building the table sets TZ for the duration of tz_load and puts the old value back:
 * call it before any thread starts (commands do, while parsing options).
 *
 * Ownership: tz_load fills caller storage and allocates the table; tz_free frees it.
 */
#ifndef FS_TZ_H
#define FS_TZ_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 64

struct tz {
    char name[TZ_NAME_MAX]; /* as given, "UTC" by default */
    int64_t *at;            /* at[i]: first second (UTC) of offset off[i]; at[0] = INT64_MIN */
    int32_t *off;           /* seconds east of UTC */
    size_t n;               /* entries, at least 1 */
};

/* UTC, no table to free beyond one entry. */
void tz_utc(struct tz *z);

/*
 * Load zone name: an IANA name with a zone file under $TZDIR or /usr/share/zoneinfo,
 * the absolute path of a zone file, either with a leading ':' (POSIX TZ), or "UTC".
 * 0, or FS_EINVAL with err naming the zone when it names no zone file (glibc would
 * silently take an unknown name as UTC).
 */
int tz_load(struct tz *z, const char *name, struct fs_err *err);

/* The offset from UTC in seconds at t (seconds since the epoch). */
int32_t tz_offset(const struct tz *z, int64_t t);

/* Local hour (0..23) and weekday (0 = Sunday .. 6, as tm_wday and cron) of ms. */
void tz_local(const struct tz *z, uint64_t ms, unsigned *hour, unsigned *wday);

/* Hour of the week of ms in the zone: 0 = Monday 00:00-00:59 local .. 167 = Sunday 23:00. */
unsigned tz_how(const struct tz *z, uint64_t ms);

void tz_free(struct tz *z);

#endif
