/*
 * The -w target of every command that writes flows (meter, print): a store folder (an
 * existing folder or a path ending in '/'), one file, or "-" (stdout), all in the
 * store format (store/store.h), with the -z codec. One place, so the commands agree on
 * what -w and -z accept and on what a failed write says.
 *
 * The caller owns the struct out_target (zeroed or set up by out_target_open);
 * out_target_close frees what open allocated. Messages go to stderr prefixed with the
 * command's name: these helpers belong to commands, which print (STYLE.md).
 */
#ifndef FS_OUTPUT_TARGET_H
#define FS_OUTPUT_TARGET_H

#include "../core/err.h"
#include "../core/flow.h"
#include "../store/store.h"

#include <stdint.h>

struct out_target {
    const char *prog; /* "flowsleuth meter": the prefix of messages */
    const char *path; /* as given to -w */
    struct store_writer *w;
    int failed;        /* a write failed: later records are dropped, close says so */
    uint64_t written;  /* records the writer took */
    struct fs_err err; /* the first failure */
};

/* The help line of -z, for each command's --help. */
#define OUT_TARGET_CODEC_HELP \
    "  -z CODEC         store compression: lz4 (default), zstd[:LEVEL], none\n"

/* -z ARG into o: 0, or -1 after saying what is wrong (usage error). */
int out_target_codec(const char *prog, const char *arg, struct store_wopts *o);

/* PATH names a store folder (not "-"): an existing folder, or it ends in '/'. */
int out_target_is_folder(const char *path);

/* Open the writer: 0, or 1 (the exit status) after saying why on stderr. */
int out_target_open(struct out_target *t, const char *prog, const char *path,
                    const struct store_wopts *o);

/*
 * Append one record. After the first failed write the target drops every record and
 * returns -1 (the command may stop reading); out_target_close reports the failure.
 */
int out_target_add(struct out_target *t, const struct flow *f);

/* Close: the file is renamed into place. Returns 0, or 1 (exit status) after saying
 * what failed (a write, the rename) on stderr. A target never opened closes as 0. */
int out_target_close(struct out_target *t);

#endif
