/*
 * Reading nfdump's own files (nfcapd.YYYYMMDDhhmm): the archives nfcapd wrote with
 * nfdump 1.7 (layout 2, V3 records) and 1.6 (layout 1, common records with extension
 * maps), uncompressed or with LZO, LZ4, BZ2 or ZSTD blocks. docs/internals/nfdump.md
 * draws the layout as read here.
 *
 * A file is recognised by its magic (0xA50C, little-endian) and layout version, never
 * by its name. Every byte is untrusted: all parsing goes through src/core/rd.h, block
 * sizes are checked against the file and capped (NFD_MAX_BLOCK) before anything is
 * allocated or decompressed. A bad block (an unknown codec, a payload that does not
 * decompress, a record that overruns it) is skipped and counted, and the sink's warn
 * callback told the file and offset; a truncated file or a size field that points past
 * the end ends that file with an error.
 *
 * nfdump_inputs_prepare is what commands use: it turns the nfdump files and folders
 * among the -r paths into one flowsleuth stream each, written by a converter thread
 * into a pipe and read through /dev/fd/N, so the store reader and everything after it
 * reads them like its own. Files are chosen by the -t window from the stat record or
 * the name first.
 *
 * Ownership: nfdump_read_file / nfdump_decode_buf own nothing after they return;
 * nfdump_inputs_prepare fills caller storage that nfdump_inputs_free frees; the pipes'
 * read ends stay open until the process ends (the reader opens them lazily, by name).
 */
#ifndef FS_NFDUMP_FILE_H
#define FS_NFDUMP_FILE_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

#define NFD_MAGIC      0xA50Cu
#define NFD_MAX_BLOCK  (8u << 20) /* compressed and decompressed block bytes, at most */
#define NFD_WALK_DEPTH 8          /* folders below an nfcapd folder (year/month/day/hour) */

struct nfd_stats {
    uint64_t files, files_skipped; /* read; left out by the time window */
    uint64_t blocks, blocks_bad;   /* data blocks read; skipped as bad */
    uint64_t records, flows;       /* records seen; flow records handed out */
    uint64_t errors;               /* files ended early (truncated, bad header) */
};

/* Where decoded flows and warnings go. flow returning nonzero stops the file. */
struct nfd_sink {
    int (*flow)(void *ctx, const struct flow *f);
    void (*warn)(void *ctx, const char *msg); /* may be NULL */
    void *ctx;
};

/* 1 when the n bytes at p begin an nfdump file of a layout this reader reads. */
int nfdump_probe(const uint8_t *p, size_t n);

/* 1 when PATH is a regular file beginning like one, 0 when not, -errno when unreadable. */
int nfdump_probe_path(const char *path);

/*
 * The time range of a file's flows from its stat record (ms): 0, or FS_EUNSUP when the
 * file does not tell it (an empty range), or another code when it cannot be read.
 */
int nfdump_file_times(const char *path, uint64_t *first, uint64_t *last, struct fs_err *err);

/*
 * Decode one file, handing every flow record to s->flow. Returns 0 (bad blocks were
 * skipped and warned about), or a negative code with err naming the file and offset
 * when the file could not be read to its end (the flows before are handed out).
 */
int nfdump_read_file(const char *path, const struct nfd_sink *s, struct nfd_stats *st,
                     struct fs_err *err);

/* The same over a whole file in memory (NAME labels messages): the fuzz entry point. */
int nfdump_decode_buf(const uint8_t *buf, size_t len, const char *name, const struct nfd_sink *s,
                      struct nfd_stats *st, struct fs_err *err);

/*
 * The nfdump files of a folder (flat, or nfcapd's year/month/day sub-folders), by magic,
 * in time order (the name's time, then the path); nfcapd's open file (nfcapd.current.*)
 * and hidden names are left out, no symlink inside is followed. With a window, files
 * whose name dates them a day or more before from_ms are not opened. *out is an array
 * of *n malloc'd paths (free with nfdump_list_free); *skipped counts the files left
 * out by name. Returns 0 or -errno.
 */
int nfdump_list(const char *dir, uint64_t from_ms, char ***out, size_t *n, size_t *skipped,
                struct fs_err *err);
void nfdump_list_free(char **v, size_t n);

struct nfd_shared;

struct nfdump_inputs {
    const char **paths; /* the -r paths with nfdump ones replaced; NULL = none was nfdump */
    char **owned;       /* the "/dev/fd/N" strings */
    size_t npaths, nowned;
    struct nfd_shared *sh; /* counters shared with the converter threads */
};

/*
 * Replace every nfdump file or folder among paths by "/dev/fd/N": the read end of a
 * pipe into which one converter thread (for all of them, in path order) writes the
 * flows in the window
 * [from_ms, to_ms) (0 = open) as a flowsleuth stream, file after file, as the reader
 * takes them (nothing on disk; a reader that stops early leaves the thread blocked
 * until the process ends: the read end stays open, so no SIGPIPE). Warnings and
 * per-file errors go to s->warn (s->flow unused; s is copied), from those threads.
 * Returns 0 (out->paths NULL when nothing was nfdump's), or a negative code with err
 * set when a pipe or thread could not be made.
 */
int nfdump_inputs_prepare(struct nfdump_inputs *out, const char *const *paths, size_t npaths,
                          uint64_t from_ms, uint64_t to_ms, const struct nfd_sink *s,
                          struct fs_err *err);

/* The counters so far: final once the reader has read every converted stream to its end. */
void nfdump_inputs_stats(const struct nfdump_inputs *in, struct nfd_stats *st);

/* Free in's paths and let go of the counters (the threads hold them while they run). */
void nfdump_inputs_free(struct nfdump_inputs *in);

#endif
