/*
 * A -r path that a thread writes: the read end of a pipe, named /dev/fd/N, into which a
 * converter thread writes a flowsleuth stream (nfdump files: nfdump_file.c; ClickHouse
 * rows: clickhouse/read.c), so the store reader, the -t window and the filter treat
 * them as they treat a file's.
 */
#ifndef FS_STORE_PIPE_STREAM_H
#define FS_STORE_PIPE_STREAM_H

#include "../core/err.h"
#include "store.h"

/* The pipe's ends, close-on-exec, the write end's buffer 1 MiB (fewer switches; the
 * default is fine too): 0, or -errno with err set. */
int pipe_stream_make(int *rfd, int *wfd, struct fs_err *err);

/* "/dev/fd/N" for read end rfd, allocated: the path the reader opens in place of -r's. */
char *pipe_stream_path(int rfd);

/* An uncompressed stream writer on write end wfd, which is closed either way: the
 * writer holds a descriptor of its own, so the reader sees the end when it closes. */
int pipe_stream_writer(struct store_writer **w, int wfd, struct fs_err *err);

#endif
