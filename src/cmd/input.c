#include "input.h"

#include "../core/fmt.h"
#include "../io/store.h"

#include <stdio.h>
#include <sys/time.h>

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

int input_opt(struct input_opts *in, int c, const char *arg)
{
    switch (c) {
    case 'r':
        if (in->npaths == INPUT_MAX_PATHS) {
            fprintf(stderr, "flowsleuth: too many -r inputs (at most %d)\n", INPUT_MAX_PATHS);
            return -1;
        }
        in->paths[in->npaths++] = arg;
        return 1;
    case 't':
        if (parse_time_window(arg, now_ms(), &in->from_ms, &in->to_ms) != 0) {
            fprintf(stderr,
                    "flowsleuth: bad time window '%s' (FROM..TO, e.g. "
                    "2026-11-01T08:00..2026-11-01T09:00, @1700000000.., -2h)\n",
                    arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

static void print_stats(const char *prog, struct store_reader *r)
{
    struct store_rstats st;
    store_reader_stats(r, &st);
    fprintf(stderr,
            "%s: files read %llu, skipped by time %llu; blocks read %llu, skipped %llu; "
            "records %llu; errors %llu\n",
            prog, (unsigned long long)st.files_opened, (unsigned long long)st.files_skipped,
            (unsigned long long)st.blocks_read, (unsigned long long)st.blocks_skipped,
            (unsigned long long)st.records, (unsigned long long)st.errors);
}

int input_read(struct input_opts *in, const char *prog, int (*fn)(void *ctx, const struct flow *f),
               void *ctx)
{
    static const char *const stdin_path[] = { "-" };
    const char *const *paths = in->npaths ? in->paths : stdin_path;
    size_t npaths = in->npaths ? in->npaths : 1;
    struct store_ropts ro = { in->from_ms, in->to_ms };
    struct store_reader *r = NULL;
    struct fs_err err = { 0 };
    if (store_reader_open(&r, paths, npaths, &ro, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 1;
    }
    int status = 0, rc;
    const struct flow *f;
    while ((rc = store_reader_next(r, &f, &err)) != 0) {
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            status = 1;
            continue;
        }
        if (fn(ctx, f))
            break;
    }
    if (in->stats)
        print_stats(prog, r);
    store_reader_close(r);
    return status;
}
