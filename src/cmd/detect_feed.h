/*
 * What the detector commands (scan, spam, services, hosts) share past detect_args.h:
 * the option cases they take alike (-o, --internal, --max-mem, --stats, -h and getopt's
 * complaint), the reading of every flow into a detector (with -b through the uniflow
 * pairer of query/biflow.h), the field mask of their parallel reading, and the end of
 * their rows. Written once so that their messages and their -b agree.
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

/* Every flow of in to take(ctx, f), paired first with pair (-b): the exit status of the
 * reading. A nonzero take stops the reading, and the uniflows still open are then not
 * flushed. */
int detect_feed(struct input_opts *in, const char *prog, int pair,
                int (*take)(void *ctx, const struct flow *f), void *ctx);

/* The input_scan column mask of the named fields. */
uint64_t detect_fields(const char *const *names, size_t n);

/* rows_init, and rows_stream to stdout in mode. */
void detect_rows_begin(struct rows *rows, const char *const *cols, const unsigned char *numeric,
                       size_t ncols, int mode);

/* rows_print to stdout, rows_free, and stdout flushed: 0, or 1 after saying why. */
int detect_rows_end(struct rows *rows, int mode, const char *prog);

#endif
