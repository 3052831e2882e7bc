/*
 * A file replaced whole or not at all: written under PATH.tmp.PID (created new, never
 * through a link), flushed to the disk, renamed over PATH, and its folder synced, so a
 * crash or a full disk leaves the old file or the new one, never half of one. Catalogue,
 * model and template files are written this way; the store's bin files have their own
 * writer (src/io/store_write.c) that streams blocks.
 */
#ifndef FS_ATOMIC_FILE_H
#define FS_ATOMIC_FILE_H

#include "err.h"

#include <stddef.h>
#include <stdio.h>

struct atomic_file {
    FILE *fp; /* write here between open and commit */
    char *tmp, *path;
};

/* Create PATH's temp file: 0, or an error naming PATH. */
int atomic_file_open(struct atomic_file *af, const char *path, struct fs_err *err);

/*
 * Flush, sync and close the temp file, rename it over PATH, sync the folder: 0, or an
 * error naming PATH and the step (the temp file is then removed and PATH untouched).
 * Either way af is released.
 */
int atomic_file_commit(struct atomic_file *af, struct fs_err *err);

/* Give up: the temp file goes, PATH is untouched. */
void atomic_file_abort(struct atomic_file *af);

/* The whole of buf as PATH, the same way. */
int atomic_file_write(const char *path, const void *buf, size_t len, struct fs_err *err);

#endif
