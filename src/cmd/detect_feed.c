#include "detect_feed.h"

#include "../core/fields.h"
#include "../query/biflow.h"
#include "args.h"
#include "detect_args.h"
#include "input_scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int detect_cmd_opt(const struct detect_cmd *d, struct input_opts *in, int opt, const char *arg)
{
    switch (opt) {
    case 'o':
        *d->mode = rows_mode_parse(arg);
        if (*d->mode >= 0)
            return -1;
        fprintf(stderr, "%s: unknown output format '%s' (table, csv, tsv, json)\n", d->prog, arg);
        return 2;
    case DETECT_O_INTERNAL:
        return detect_internal(d->prog, arg, d->internal) ? 2 : -1;
    case DETECT_O_MAXMEM:
        return detect_max_mem(d->prog, arg, d->max_mem) ? 2 : -1;
    case DETECT_O_STATS:
        in->stats = 1;
        return -1;
    case 'h':
        fputs(d->usage, stdout);
        return 0;
    case '?':
        return arg_usage_hint(d->name, d->usage);
    default:
        return DETECT_OPT_OWN;
    }
}

struct seen_feed {
    struct biflow *bi; /* -b, else NULL */
    detect_add_fn add;
    void *ctx;
    struct detect_seen *seen;
};

static int seen_take(void *ctx, const struct flow *f)
{
    struct seen_feed *p = ctx;
    detect_seen_flow(p->seen, f);
    if (p->add(p->ctx, f) == 0)
        return 0;
    p->seen->full = 1;
    return 1;
}

static int pair_one(void *ctx, const struct flow *f)
{
    struct seen_feed *p = ctx;
    return biflow_add(p->bi, f, seen_take, p);
}

int detect_feed(struct input_opts *in, const char *prog, int pair, detect_add_fn add, void *ctx,
                struct detect_seen *seen)
{
    struct seen_feed p = { NULL, add, ctx, seen };
    if (!pair)
        return input_read(in, prog, seen_take, &p);
    p.bi = biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN);
    int status = input_read(in, prog, pair_one, &p);
    if (!seen->full) /* a full detector wants nothing of what is still open */
        biflow_flush(p.bi, seen_take, &p);
    biflow_free(p.bi);
    return status;
}

int detect_read(const struct detect_reader *rd, void *ctx, struct detect_seen *seen,
                struct input_opts *in, const char *prog, int pair, int in_order)
{
    int status = 0;
    if (in_order || pair || input_is_stream(in))
        return detect_feed(in, prog, pair, rd->add, ctx, seen);
    if (rd->parallel(ctx, in, &status))
        return status;
    *seen = (struct detect_seen){ 0 };
    rd->restart(ctx);
    return detect_feed(in, prog, pair, rd->add, ctx, seen);
}

void detect_uniflow_hint(const char *prog, const struct detect_seen *seen, int pair,
                         const char *cost)
{
    if (seen->flows && !seen->answered && !pair)
        fprintf(stderr,
                "%s: no flow has reverse counters (NetFlow uniflows?): %s; -b pairs them into "
                "biflows\n",
                prog, cost);
}

uint64_t detect_fields(const char *const *names, size_t n)
{
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++)
        want |= (uint64_t)1 << field_index(names[i]);
    return want;
}

void detect_rows_begin(struct rows *rows, const char *const *cols, const unsigned char *numeric,
                       size_t ncols, int mode)
{
    rows_init(rows, cols, numeric, ncols);
    rows_stream(rows, (enum rows_mode)mode, stdout);
}

int detect_rows_end(struct rows *rows, int mode, const char *prog)
{
    rows_print(rows, (enum rows_mode)mode, stdout);
    rows_free(rows);
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, "%s: stdout: write: %s\n", prog, strerror(errno ? errno : EIO));
    return 1;
}
