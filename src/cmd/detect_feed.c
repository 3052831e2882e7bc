#include "detect_feed.h"

#include "../core/fields.h"
#include "../query/biflow.h"
#include "args.h"
#include "detect_args.h"

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

struct pair_feed {
    struct biflow *bi;
    int (*take)(void *ctx, const struct flow *f);
    void *ctx;
    int stopped; /* take said stop: what is still open is not wanted */
};

static int pair_one(void *ctx, const struct flow *f)
{
    struct pair_feed *p = ctx;
    int rc = biflow_add(p->bi, f, p->take, p->ctx);
    if (rc)
        p->stopped = 1;
    return rc;
}

int detect_feed(struct input_opts *in, const char *prog, int pair,
                int (*take)(void *ctx, const struct flow *f), void *ctx)
{
    if (!pair)
        return input_read(in, prog, take, ctx);
    struct pair_feed p = { biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN), take, ctx,
                           0 };
    int status = input_read(in, prog, pair_one, &p);
    if (!p.stopped)
        biflow_flush(p.bi, take, ctx);
    biflow_free(p.bi);
    return status;
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
