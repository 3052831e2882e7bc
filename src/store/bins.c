#include "bins.h"

#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

uint64_t bins_wall_ms(void *ctx)
{
    (void)ctx;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static uint64_t now_ms(const struct bins *b)
{
    return b->clock.now_ms(b->clock.ctx);
}

static uint64_t next_boundary(const struct bins *b, uint64_t now)
{
    uint64_t w = (uint64_t)(b->wo->bin_secs ? b->wo->bin_secs : STORE_BIN_SECS_DEFAULT) * 1000;
    return (now / w + 1) * w;
}

void bins_init(struct bins *b, const char *prog, const char *path, const struct store_wopts *wo,
               struct bins_clock clock, void (*rotated)(void *ctx, int log), void *ctx)
{
    *b = (struct bins){
        .prog = prog, .path = path, .wo = wo, .clock = clock, .rotated = rotated, .ctx = ctx
    };
    b->boundary = next_boundary(b, now_ms(b));
}

int bins_open(struct bins *b, struct fs_err *err)
{
    return store_writer_open(&b->w, b->path, b->wo, err);
}

/* A write failed: say so once per episode; a writer is reopened no sooner than later. */
static void say_failed(struct bins *b, const struct fs_err *e)
{
    if (!b->failing)
        fprintf(stderr,
                "%s: %s; the open bin files are lost and records are dropped until the store "
                "can be written again\n",
                b->prog, e->msg);
    b->failing = 1;
    b->retry_ms = now_ms(b) + BINS_RETRY_MS;
}

/* The open writer failed: say so, drop its open bins, retry later. */
static void write_failed(struct bins *b, const struct fs_err *e)
{
    say_failed(b, e);
    if (b->w) {
        struct fs_err ignore;
        store_writer_close(b->w, &ignore);
        b->w = NULL;
    }
    b->lost += b->pending;
    b->pending = 0;
}

void bins_add(struct bins *b, const struct flow *f, uint64_t bin_ms)
{
    struct fs_err err = { 0 };
    if (!b->w) {
        if (b->failing && now_ms(b) < b->retry_ms) {
            b->lost++;
            return;
        }
        if (store_writer_open(&b->w, b->path, b->wo, &err) != 0) {
            b->w = NULL;
            write_failed(b, &err);
            b->lost++;
            return;
        }
    }
    int rc = store_writer_add_at(b->w, f, bin_ms, &err);
    if (rc == FS_EINVAL) {
        b->unbinned++; /* a time no bin can name: this record only, no I/O error */
        return;
    }
    b->pending++;
    if (rc != 0)
        write_failed(b, &err);
}

int bins_due(const struct bins *b)
{
    return now_ms(b) >= b->boundary;
}

int bins_wait_ms(const struct bins *b, int max)
{
    uint64_t now = now_ms(b);
    if (now >= b->boundary)
        return 0;
    return b->boundary - now < (uint64_t)max ? (int)(b->boundary - now) : max;
}

/* The outcome of closing a writer that held `pending` records. The writer opened since
 * (b->w) is left alone: its own adds and close tell whether writing works. */
static void writer_closed(struct bins *b, int rc, const struct fs_err *e, uint64_t pending)
{
    if (rc) {
        b->lost += pending;
        say_failed(b, e);
        return;
    }
    if (b->failing && pending)
        fprintf(stderr, "%s: writing the store works again\n", b->prog);
    b->failing = 0;
    b->stored += pending;
}

static void rotation_done(struct bins *b, int log)
{
    b->rotations++;
    if (b->rotated)
        b->rotated(b->ctx, log);
}

static void *closer_main(void *arg)
{
    struct bins_closer *c = arg;
    c->rc = store_writer_close(c->w, &c->e);
    atomic_store(&c->done, 1);
    return NULL;
}

void bins_poll(struct bins *b, int wait)
{
    struct bins_closer *c = &b->closer;
    if (!c->running || (!wait && !atomic_load(&c->done)))
        return;
    pthread_join(c->th, NULL);
    c->running = 0;
    writer_closed(b, c->rc, &c->e, c->pending);
    rotation_done(b, c->log);
}

void bins_rotate(struct bins *b, int log)
{
    bins_poll(b, 1);
    struct bins_closer *c = &b->closer;
    b->boundary = next_boundary(b, now_ms(b));
    if (b->w) {
        c->w = b->w;
        c->pending = b->pending;
        c->log = log;
        atomic_store(&c->done, 0);
        b->w = NULL;
        b->pending = 0;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the receiver */
        c->running = pthread_create(&c->th, NULL, closer_main, c) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!c->running) {
            struct fs_err e;
            int rc = store_writer_close(c->w, &e);
            writer_closed(b, rc, &e, c->pending);
        }
    }
    if (!c->running)
        rotation_done(b, log);
}

uint64_t bins_open_records(const struct bins *b)
{
    return b->pending + (b->closer.running ? b->closer.pending : 0);
}

void bins_finish(struct bins *b)
{
    bins_rotate(b, 0);
    bins_poll(b, 1);
}
