#include "input_scan.h"

#include "../core/xalloc.h"
#include "../query/filter.h"
#include "../store/store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A thread's batch of filtered records, padded so two threads never share a line. */
struct scan_batch {
    struct flow v[SCAN_BATCH];
    size_t n;
    int stopped; /* the consumer asked to stop on this thread */
    char pad_[64];
};

struct scan {
    const struct scan_ops *ops;
    void *ctx;
    const struct filter *flt;
    struct scan_batch *b; /* one per thread: each thread touches only its own */
    atomic_int stopped;   /* some thread's consumer asked to stop */
};

/* Give n records to the consumer on thread t; 1 when it asks to stop. */
static int give(struct scan *s, size_t t, const struct flow *v, size_t n)
{
    if (!s->ops->flows(s->ctx, t, v, n))
        return 0;
    s->b[t].stopped = 1;
    atomic_store(&s->stopped, 1);
    return 1;
}

/* The reader's sink: filter into the thread's batch, or pass slices straight on. */
static int scan_sink(void *vs, size_t thread, const struct flow *v, size_t n)
{
    struct scan *s = vs;
    if (!s->flt) {
        for (size_t i = 0; i < n; i += SCAN_BATCH)
            if (give(s, thread, v + i, n - i < SCAN_BATCH ? n - i : SCAN_BATCH))
                return 1;
        return 0;
    }
    struct scan_batch *b = &s->b[thread];
    for (size_t i = 0; i < n; i++) {
        if (!filter_match(s->flt, &v[i]))
            continue;
        b->v[b->n++] = v[i];
        if (b->n == SCAN_BATCH) {
            b->n = 0;
            if (give(s, thread, b->v, SCAN_BATCH))
                return 1;
        }
    }
    return 0;
}

/* Errors are kept until the end: a stopped scan is read again and reports them then. */
struct msgs {
    char *text;
    size_t len, cap;
};

static void msgs_add(struct msgs *m, const char *prog, const char *msg)
{
    size_t need = strlen(prog) + strlen(msg) + 4;
    if (m->len + need > m->cap) {
        m->cap = (m->len + need) * 2;
        m->text = xrealloc(m->text, m->cap);
    }
    m->len += (size_t)snprintf(m->text + m->len, m->cap - m->len, "%s: %s\n", prog, msg);
}

/*
 * Drain the reader to its end, collecting errors. At the end every block is consumed
 * and the decoders wait idle, so the caller may flush each thread's partial batch
 * with that thread's number.
 */
static int scan_drain(struct store_reader *r, struct scan *s, size_t nthreads, const char *prog,
                      struct msgs *m)
{
    int status = 0;
    struct fs_err err = { 0 };
    while (store_reader_drain(r, scan_sink, s, &err) != 0) {
        msgs_add(m, prog, err.msg);
        status = 1;
    }
    /* Not stopped: the input ended, every block was consumed and the decoders are idle.
     * Stopped: they may still be busy with the blocks under way; flush nothing. */
    int stopped = atomic_load(&s->stopped);
    for (size_t t = 0; t < nthreads && !stopped; t++)
        if (s->b[t].n)
            stopped = give(s, t, s->b[t].v, s->b[t].n);
    return status;
}

int input_scan(struct input_opts *in, const char *prog, uint64_t columns,
               const struct scan_ops *ops, void *ctx, int *stopped)
{
    *stopped = 0;
    struct store_reader *r = input_open(in, prog);
    if (!r)
        return 1;
    if (columns && in->filter)
        columns |= filter_columns(in->filter);
    store_reader_columns(r, columns);
    size_t nthreads = store_reader_threads(r);
    struct scan s = { ops, ctx, in->filter, xcalloc(nthreads, sizeof(struct scan_batch)), 0 };
    struct msgs m = { 0 };
    struct store_rstats st;
    int status = 1;
    if (ops->setup(ctx, nthreads) == 0)
        status = scan_drain(r, &s, nthreads, prog, &m);
    else
        s.b[0].stopped = 1; /* the consumer gave up before reading */
    store_reader_stats(r, &st);
    store_reader_close(r); /* joins the decoders: their stopped flags are final */
    for (size_t t = 0; t < nthreads; t++)
        *stopped |= s.b[t].stopped;
    if (!*stopped && m.len)
        fputs(m.text, stderr);
    if (!*stopped && in->stats)
        input_print_rstats(prog, &st);
    if (!*stopped && input_nfdump_end(in, prog))
        status = 1;
    free(m.text);
    free(s.b);
    return status;
}

int input_is_stream(const struct input_opts *in)
{
    if (!in->npaths)
        return 1;
    for (size_t i = 0; i < in->npaths; i++)
        if (strcmp(in->paths[i], "-") == 0)
            return 1;
    return 0;
}
