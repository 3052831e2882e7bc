/*
 * The one walk of a store folder, shared by the reader, expiry and the collector's
 * start-up cleanup, so they agree on what a store holds and none of them leaves it.
 *
 *   root (opened as given: a symlink named on the command line is the user's choice)
 *     +- any sub-folder whose name does not start with '.', at most STORE_WALK_DEPTH
 *     |  deep (STORE/YYYY/MM/DD is 3): entered with openat(O_NOFOLLOW | O_DIRECTORY)
 *     +- flows.YYYYMMDDhhmm[.N]  a bin file (regular files only), returned in time order
 *     +- .flows.*.tmp.PID.K     a writer's temp file, returned apart (want_tmp)
 *
 * Inside the store no symlink is ever followed: a linked year, month or day folder, a
 * `loop -> ..` link or a linked bin file is skipped (fstatat with AT_SYMLINK_NOFOLLOW),
 * and files are opened and removed through a chain of openat(O_NOFOLLOW) from the root,
 * so a folder swapped for a link after the walk is not followed either.
 *
 * Ownership: store_walk fills caller storage; store_walk_free frees what it holds.
 */
#ifndef FS_STORE_WALK_H
#define FS_STORE_WALK_H

#include "../core/err.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_WALK_DEPTH 8

struct store_walk_file {
    char *path;        /* root "/" rel: for messages */
    size_t rel;        /* offset of the part below the root in path */
    uint64_t start_ms; /* bin start from the name (temp files: 0) */
    uint32_t suffix;   /* .N of the name, 0 when none */
    uint64_t bytes;
    long pid; /* temp files: the writer's process id */
};

struct store_walk {
    struct store_walk_file *files; /* bin files sorted by (start, suffix, path) */
    size_t nfiles, capfiles;
    struct store_walk_file *tmps; /* temp files, in no order */
    size_t ntmps, captmps;
    uint64_t skipped_links; /* symlinks met inside the store and not followed */
};

/*
 * List the store folder root into w (zeroed by the caller). want_tmp: also list the
 * writers' temp files. Returns 0, or -errno (err names the folder) when root cannot be
 * opened as a folder; sub-folders that vanish or cannot be read are passed over.
 */
int store_walk(const char *root, int want_tmp, struct store_walk *w, struct fs_err *err);

void store_walk_free(struct store_walk *w);

/*
 * Open f (flags for open(), O_NOFOLLOW added) below its root without following a
 * symlink on the way. Returns the fd or -errno.
 */
int store_walk_open(const struct store_walk_file *f, int flags);

/* Remove f the same way (unlinkat in its folder). Returns 0 or -errno. */
int store_walk_unlink(const struct store_walk_file *f);

/*
 * Remove the folders of f's path below the root that are empty, deepest first
 * (rmdir semantics: a folder with anything in it stays). Returns the number removed.
 */
int store_walk_prune(const struct store_walk_file *f);

#endif
