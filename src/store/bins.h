/*
 * The open bins of a live store folder: records go to a store writer, and at each
 * boundary of the clock (a multiple of the bin width) or on demand (SIGHUP) the writer
 * is closed, every bin file it holds fsynced and renamed into place, on a thread of its
 * own while reception goes on; the next record opens a new writer. A write error (a
 * full disk) drops the records of the failed bin files, says so once, and a writer is
 * reopened at most once per BINS_RETRY_MS until writing works again.
 *
 * The clock is a parameter (struct bins_clock), so that rotation at a boundary, the
 * retry after a failure and the counters are tested without waiting for the wall
 * clock (tests/unit/test_bins.c).
 */
#ifndef FS_COLLECTOR_BINS_H
#define FS_COLLECTOR_BINS_H

#include "../core/err.h"
#include "../core/flow.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define BINS_RETRY_MS 1000 /* a failed writer is reopened at most this often */

struct bins_clock {
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* The wall clock (gettimeofday), in ms since the epoch. */
uint64_t bins_wall_ms(void *ctx);

/*
 * A rotated writer being closed on its own thread: closing fsyncs and renames every bin
 * file, which held the receiving thread long enough for the socket to overflow (three
 * SIGHUPs under 190 k datagrams/s lost up to 20,000 datagrams).
 */
struct bins_closer {
    pthread_t th;
    int running;     /* th started and not joined */
    atomic_int done; /* th finished: join it and take the outcome */
    int log;         /* pass to the rotated callback once complete */
    struct store_writer *w;
    uint64_t pending; /* records in w */
    int rc;
    struct fs_err e;
};

struct bins {
    const char *prog; /* "flowsleuth collect": the prefix of log lines */
    const char *path;
    const struct store_wopts *wo;
    struct bins_clock clock;
    /* after each completed rotation (log: the caller asked for its counters) */
    void (*rotated)(void *ctx, int log);
    void *ctx;

    struct store_writer *w;
    uint64_t pending; /* records in w */
    struct bins_closer closer;
    int failing;
    uint64_t retry_ms, boundary;
    uint64_t stored;    /* records in closed bin files */
    uint64_t lost;      /* records dropped on write errors */
    uint64_t unbinned;  /* records whose bin time no bin can name (past year 9999) */
    uint64_t rotations; /* completed rotations */
};

void bins_init(struct bins *b, const char *prog, const char *path, const struct store_wopts *wo,
               struct bins_clock clock, void (*rotated)(void *ctx, int log), void *ctx);

/* Open the writer now, so that a bad store path fails at start: 0 or an error. */
int bins_open(struct bins *b, struct fs_err *err);

/* Store f in the bin of bin_ms (its time, or its arrival): counted, never fails. */
void bins_add(struct bins *b, const struct flow *f, uint64_t bin_ms);

/* The clock has reached the next boundary. */
int bins_due(const struct bins *b);

/* Milliseconds until the next boundary, at most max (0 when due). */
int bins_wait_ms(const struct bins *b, int max);

/*
 * Close the open bins (on the closer thread) and set the next boundary from now; the
 * rotated callback runs once they are closed (bins_poll). A rotation first waits for
 * the close of the one before.
 */
void bins_rotate(struct bins *b, int log);

/* Take the outcome of a finished close (or wait for it): counters, the callback. */
void bins_poll(struct bins *b, int wait);

/* Records not yet in closed files: the open bins and those closing. */
uint64_t bins_open_records(const struct bins *b);

/* The last rotation, waited for: every record is stored or counted as lost. */
void bins_finish(struct bins *b);

#endif
