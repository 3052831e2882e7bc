/*
 * input_scan: input_read (input.h) for commands whose work does not depend on the order
 * of the flows (top-N counts, time series sums). Every decoding thread of the store
 * reader filters and consumes the records it decoded itself, into per-thread state the
 * command merges at the end, instead of funnelling every record through the command's
 * thread; and only the fields the command and the filter read are decoded.
 *
 * Ownership: the command owns its per-thread state; input_scan allocates nothing that
 * outlives the call.
 */
#ifndef FS_INPUT_SCAN_H
#define FS_INPUT_SCAN_H

#include "input.h"

#include <stddef.h>
#include <stdint.h>

/* Records per call of the consumer: a stats batch (STATS_BATCH). */
#define SCAN_BATCH 64

struct scan_ops {
    /*
     * Called once before reading with the number of threads that will call flows
     * (numbered 0 .. nthreads - 1): set up that many states. Returns 0, or nonzero
     * to give up before reading (input_scan then sets *stopped). Not called when the
     * input cannot be opened (reported; input_scan returns 1).
     */
    int (*setup)(void *ctx, size_t nthreads);
    /*
     * n (1 .. SCAN_BATCH) records that passed the window and the filter, on thread
     * number thread; calls with different numbers run at the same time. Nonzero stops
     * the scan (e.g. a table ran out of memory): input_scan then sets *stopped.
     */
    int (*flows)(void *ctx, size_t thread, const struct flow *v, size_t n);
};

/*
 * Read every input of in (as input_read: -r paths or stdin, the window, the filter)
 * and hand the records to ops->flows. columns: the fields the consumer reads (bit i =
 * fields[i]; 0 = all); the filter's are added. Unreadable inputs are reported on
 * stderr after the scan and give exit status 1; when the consumer stopped the scan,
 * nothing is reported (the command reads again another way) and *stopped is 1.
 * Returns the exit status: 0, or 1 when an input was unreadable.
 */
int input_scan(struct input_opts *in, const char *prog, uint64_t columns,
               const struct scan_ops *ops, void *ctx, int *stopped);

/* 1 when in reads stdin (no -r, or -r -): such input cannot be read a second time. */
int input_is_stream(const struct input_opts *in);

#endif
