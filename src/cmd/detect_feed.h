/*
 * What the detector commands (scan, spam, services, hosts) share past detect_args.h:
 * the option cases they take alike (-o, --internal, --max-mem, --stats, -h and getopt's
 * complaint), the reading of every flow into a detector (over every core where the order
 * does not matter, else in order, with -b through the uniflow pairer of query/biflow.h),
 * the uniflow hint, and the end of their rows. Written once so that their messages and
 * their -b agree.
 *
 * Ownership: nothing is kept; struct detect_cmd points into the caller's options.
 */
#ifndef FS_DETECT_FEED_H
#define FS_DETECT_FEED_H

#include "../analytics/netlist.h"
#include "../core/flow.h"
#include "../query/rows.h"
#include "input.h"

#include <stddef.h>
#include <stdint.h>

/* The long options detect_cmd_opt takes; a command's own start at DETECT_O_OWN. */
enum { DETECT_O_INTERNAL = 1, DETECT_O_MAXMEM, DETECT_O_STATS, DETECT_O_OWN };

/* detect_cmd_opt: the option is none of the shared ones. */
#define DETECT_OPT_OWN (-2)

/* A detector command's name, help and where the shared options land. */
struct detect_cmd {
    const char *prog;         /* "flowsleuth scan": the messages' prefix */
    const char *name;         /* "scan", for the usage hint */
    const char *usage;        /* the --help text */
    int *mode;                /* -o: enum rows_mode */
    struct netlist *internal; /* --internal */
    size_t *max_mem;          /* --max-mem */
};

/* One option of detect_getopt's callback: -1 to go on, the exit status (0 after --help, 2
 * after saying what was wrong), or DETECT_OPT_OWN for the command's own options. */
int detect_cmd_opt(const struct detect_cmd *d, struct input_opts *in, int opt, const char *arg);

/* What a detector was fed: for the uniflow hint, and whether it filled up. */
struct detect_seen {
    uint64_t flows, answered; /* flows read; those with reverse counters */
    int full;                 /* the detector's add said it holds no more */
};

static inline void detect_seen_flow(struct detect_seen *s, const struct flow *f)
{
    s->flows++;
    s->answered += f->rpackets > 0 || f->rbytes > 0;
}

/* A detector's own add: 0, or nonzero when it holds no more. */
typedef int (*detect_add_fn)(void *ctx, const struct flow *f);

/* Every flow of in, counted in seen, to add(ctx, f), paired first with pair (-b): the exit
 * status of the reading. When add says full (seen->full) the reading stops and the
 * uniflows still open are not flushed. */
int detect_feed(struct input_opts *in, const char *prog, int pair, detect_add_fn add, void *ctx,
                struct detect_seen *seen);

/* How scan, services and hosts read: over every core where the order does not matter. */
struct detect_reader {
    detect_add_fn add;
    /* every flow over input_scan's threads: 1 with *status set (and seen), or 0 when it
     * gave up (a share of --max-mem ran out) */
    int (*parallel)(void *ctx, struct input_opts *in, int *status);
    /* after a parallel reading given up: the detector as new, for the reading in order */
    void (*restart)(void *ctx);
};

/* Read every flow of in into the detector: in parallel unless in_order, pair or a stream
 * input (the pairer needs the order), else or when that gave up, detect_feed on this
 * thread (seen counted afresh). The exit status of the reading. */
int detect_read(const struct detect_reader *rd, void *ctx, struct detect_seen *seen,
                struct input_opts *in, const char *prog, int pair, int in_order);

/* Without -b, flows read and none with reverse counters (NetFlow uniflows?): say so on
 * stderr, with what that costs the command (cost) and that -b pairs them. */
void detect_uniflow_hint(const char *prog, const struct detect_seen *seen, int pair,
                         const char *cost);

/* The input_scan column mask of the named fields. */
uint64_t detect_fields(const char *const *names, size_t n);

/* rows_init, and rows_stream to stdout in mode. */
void detect_rows_begin(struct rows *rows, const char *const *cols, const unsigned char *numeric,
                       size_t ncols, int mode);

/* rows_print to stdout, rows_free, and stdout flushed: 0, or 1 after saying why. */
int detect_rows_end(struct rows *rows, int mode, const char *prog);

#endif
