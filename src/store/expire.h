/*
 * Store expiry: remove the oldest bin files of a store folder (store.h layout,
 * STORE/YYYY/MM/DD/flows.YYYYMMDDhhmm[.N]) by age and by total size, as a collector
 * does at each rotation (collect --expire-age / --expire-size).
 *
 *   store_walk(STORE)  ->  bin files sorted by (bin start, suffix)
 *   age:  a file whose bin started before now - max_age goes
 *   size: then the oldest go until the rest fit in max_bytes
 *   the folders a removal left empty are removed
 *
 * The walk is the readers' (store_walk.h): no symlink inside the store is followed, and
 * files are unlinked relative to their folder, so nothing outside the store goes.
 *
 * Hidden temp files (".flows...tmp.PID.K") of writers that no longer run (a collector
 * killed with -9) are removed too: they can never be completed. Other files (the
 * collector's .templates, its control socket, anything a user put there) are left
 * alone. With dry_run nothing at all is removed (stale temp files neither) and fn is
 * told what would go.
 *
 * Nothing here prints; fn (may be NULL) is called once per file removed (or that would
 * be), with the reason.
 */
#ifndef FS_EXPIRE_H
#define FS_EXPIRE_H

#include "../core/err.h"

#include <stdint.h>

struct expire_opts {
    uint64_t max_age_ms; /* 0 = no age limit */
    uint64_t max_bytes;  /* 0 = no size limit */
    uint64_t now_ms;     /* the clock to age against */
    int dry_run;         /* report, do not remove */
};

struct expire_stats {
    uint64_t files, bytes; /* bin files seen and their bytes */
    uint64_t removed, removed_bytes;
    uint64_t stale_tmp; /* temp files of dead writers removed */
};

typedef void (*expire_fn)(void *ctx, const char *path, uint64_t bytes, const char *why);

/*
 * Expire the store folder root. Returns 0, or -errno when the folder cannot be read or
 * a file cannot be removed (the walk goes on; the first error is returned with err).
 */
int store_expire(const char *root, const struct expire_opts *o, expire_fn fn, void *ctx,
                 struct expire_stats *st, struct fs_err *err);

/* "30d", "12h", "90m", "45s", "2w", or plain seconds -> milliseconds; 0 or FS_EINVAL. */
int expire_parse_age(const char *s, uint64_t *ms);

/* "10G", "500M", "64k" (powers of 1000), "10Gi", "512MiB" (of 1024), or bytes; 0 or FS_EINVAL. */
int expire_parse_size(const char *s, uint64_t *bytes);

#endif
