/*
 * -r clickhouse://[USER[:PASS]@]HOST[:PORT]/DB[?table=T] for every reading command, as
 * nfdump's files are read (src/store/nfdump_file.c): each URL becomes the read end of a
 * pipe into which one thread writes a flowsleuth stream, so the store reader, the -t
 * window and the filter treat the rows as they treat a file's. The thread sends one
 * SELECT of the flow table's columns with FORMAT RowBinary and the WHERE of where.c,
 * and decodes the answer as it arrives (rowdec.c): no more than a chunk of the answer
 * and the writer's block are ever in memory. Messages name the server with
 * ch_url_say, never with the password.
 */
#define _GNU_SOURCE /* memmem */
#include "../core/xalloc.h"
#include "../store/pipe_stream.h"
#include "../store/store.h"
#include "ch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ch_shared {
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
    _Atomic uint64_t inputs, rows, bytes, errors;
    _Atomic int pushed, refs;
    /* The thread, joined by ch_inputs_free when the last pipe has no writer left (it
     * is past its last write: its exit frees OpenSSL's per-thread state, which a
     * process exiting under it would leak), else left detached, blocked on a reader
     * that stopped early. */
    pthread_t thread;
    int started, last_rfd;
};

static void shared_put(struct ch_shared *sh)
{
    if (atomic_fetch_sub(&sh->refs, 1) == 1)
        free(sh);
}

static void shared_warn(struct ch_shared *sh, const char *name, const char *msg)
{
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s", name, msg);
    if (sh->warn)
        sh->warn(sh->ctx, line);
    atomic_fetch_add(&sh->errors, 1);
}

/* One URL's SELECT into the write end of its pipe. */
struct job {
    struct ch_shared *sh;
    struct ch_url url;
    char name[700];
    char *query;
    int wfd, rfd;
    struct store_writer *w;
    struct ch_rows rows;
    struct fs_err err; /* the first problem met while decoding or writing */
    int failed, w_failed;
    uint8_t tail[1024]; /* the last bytes of the answer */
    size_t ntail;
};

static int job_flow(void *ctx, const struct flow *f)
{
    struct job *j = ctx;
    if (store_writer_add(j->w, f, &j->err) != 0) {
        j->failed = j->w_failed = 1;
        return 1;
    }
    return 0;
}

static void keep_tail(struct job *j, const uint8_t *p, size_t n)
{
    const size_t cap = sizeof(j->tail);
    if (n >= cap) {
        memcpy(j->tail, p + n - cap, cap);
        j->ntail = cap;
        return;
    }
    if (j->ntail + n > cap) {
        size_t drop = j->ntail + n - cap;
        memmove(j->tail, j->tail + drop, j->ntail - drop);
        j->ntail -= drop;
    }
    memcpy(j->tail + j->ntail, p, n);
    j->ntail += n;
}

/* An error after the first rows comes with status 200, its text appended to the rows
 * (at a row boundary, and text never decodes: the IP version byte of a row is 4 or 6,
 * below any printable character). Say the server's text rather than the bad row. */
static void server_text(struct job *j)
{
    static const char code[] = "Code: ";
    const uint8_t *t = memmem(j->tail, j->ntail, code, sizeof(code) - 1);
    if (!t)
        return;
    size_t len = j->ntail - (size_t)(t - j->tail);
    const uint8_t *nl = memchr(t, '\n', len);
    if (nl)
        len = (size_t)(nl - t);
    fs_err_set(&j->err, FS_EINVAL, -1, "the server stopped after %llu rows: %.*s",
               (unsigned long long)j->rows.rows, (int)(len > 200 ? 200 : len), (const char *)t);
}

static int job_data(void *ctx, const uint8_t *p, size_t n)
{
    struct job *j = ctx;
    atomic_fetch_add(&j->sh->bytes, n);
    keep_tail(j, p, n);
    if (ch_rows_feed(&j->rows, p, n, &j->err) != 0) {
        j->failed = 1;
        return 0;
    }
    return 1;
}

static void job_select(struct job *j)
{
    struct fs_err e = { 0 };
    struct ch_http *h = ch_http_new(&j->url, 0, &e);
    if (!h) {
        shared_warn(j->sh, j->name, e.msg);
        return;
    }
    j->rows = (struct ch_rows){ .flow = job_flow, .ctx = j };
    int rc = ch_http_stream(h, j->query, job_data, j, &e);
    ch_http_free(h);
    if (rc == 0 && !j->failed && ch_rows_end(&j->rows, &j->err) != 0)
        j->failed = 1;
    atomic_fetch_add(&j->sh->rows, j->rows.rows);
    if (j->failed && !j->w_failed)
        server_text(j);
    if (j->failed)
        shared_warn(j->sh, j->name, j->err.msg);
    else if (rc != 0)
        shared_warn(j->sh, j->name, e.msg);
}

/* Write the job's stream: the rows, then the end block (the reader sees the end when
 * the writer closes its descriptor). */
static void job_run(struct job *j)
{
    struct fs_err e = { 0 };
    int rc = pipe_stream_writer(&j->w, j->wfd, &e);
    if (rc == 0) {
        job_select(j);
        rc = store_writer_close(j->w, &e);
    }
    if (rc != 0)
        shared_warn(j->sh, j->name, e.msg);
}

struct conductor {
    struct ch_shared *sh;
    struct job **v;
    size_t n;
};

/* The jobs one after the other, in -r order, as the reader reads the paths. */
static void *conductor_run(void *arg)
{
    struct conductor *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        job_run(c->v[i]);
        free(c->v[i]->query);
        free(c->v[i]);
    }
    shared_put(c->sh);
    free(c->v);
    free(c);
    return NULL;
}

int ch_is_url(const char *path)
{
    return strncmp(path, "clickhouse://", 13) == 0;
}

static char *select_sql(const struct ch_url *u, const struct ch_read_opts *o, int *pushed)
{
    char *where = ch_where(o->filter, o->from_ms, o->to_ms, pushed, NULL);
    size_t n = strlen(where) + 2048;
    char *q = xmalloc(n);
    snprintf(q, n, "SELECT %s FROM %s.%s WHERE %s FORMAT RowBinary", ch_read_columns(), u->db,
             u->table, where);
    free(where);
    return q;
}

static int job_make(struct ch_shared *sh, const char *url, const struct ch_read_opts *o,
                    struct job **out, struct fs_err *err)
{
    struct job *j = xcalloc(1, sizeof(*j));
    if (ch_url_parse(url, &j->url, err) != 0) {
        free(j);
        return -1;
    }
    ch_url_say(&j->url, j->name, sizeof(j->name));
    if (pipe_stream_make(&j->rfd, &j->wfd, err) != 0) {
        free(j);
        return -1;
    }
    j->sh = sh;
    int pushed;
    j->query = select_sql(&j->url, o, &pushed);
    atomic_store(&sh->pushed, pushed);
    if (getenv("FS_CH_DEBUG"))
        fprintf(stderr, "flowsleuth: %s: %s\n", j->name, j->query);
    *out = j;
    return 0;
}

static void jobs_free(struct job **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        close(v[i]->wfd);
        close(v[i]->rfd);
        free(v[i]->query);
        free(v[i]);
    }
    free(v);
}

static int start(struct ch_shared *sh, struct job **v, size_t n, struct fs_err *err)
{
    struct conductor *c = xcalloc(1, sizeof(*c));
    *c = (struct conductor){ sh, v, n };
    atomic_fetch_add(&sh->refs, 1);
    int rc = pthread_create(&sh->thread, NULL, conductor_run, c);
    if (rc == 0) {
        sh->started = 1;
        return 0;
    }
    jobs_free(v, n);
    free(c);
    atomic_fetch_sub(&sh->refs, 1); /* the caller's reference stays */
    return fs_err_set(err, -rc, -1, "cannot start the ClickHouse reader thread: %s", strerror(rc)),
           -1;
}

int ch_inputs_prepare(struct ch_inputs *out, const char *const *paths, size_t npaths,
                      const struct ch_read_opts *o, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t nurl = 0;
    for (size_t i = 0; i < npaths; i++)
        nurl += (size_t)ch_is_url(paths[i]);
    if (!nurl)
        return 0;
    out->paths = xcalloc(npaths, sizeof(char *));
    out->owned = xcalloc(nurl, sizeof(char *));
    out->npaths = npaths;
    out->sh = xcalloc(1, sizeof(*out->sh));
    out->sh->warn = o->warn;
    out->sh->ctx = o->ctx;
    atomic_init(&out->sh->refs, 1);
    atomic_init(&out->sh->pushed, 0);
    atomic_init(&out->sh->inputs, nurl);
    struct job **jobs = xcalloc(nurl, sizeof(struct job *));
    size_t njobs = 0;
    for (size_t i = 0; i < npaths; i++) {
        out->paths[i] = paths[i];
        if (!ch_is_url(paths[i]))
            continue;
        if (job_make(out->sh, paths[i], o, &jobs[njobs], err) != 0) {
            jobs_free(jobs, njobs);
            ch_inputs_free(out);
            return -1;
        }
        out->sh->last_rfd = jobs[njobs]->rfd;
        out->paths[i] = out->owned[out->nowned++] = pipe_stream_path(jobs[njobs++]->rfd);
    }
    if (start(out->sh, jobs, njobs, err) != 0) {
        ch_inputs_free(out);
        return -1;
    }
    return 0;
}

void ch_inputs_stats(const struct ch_inputs *in, struct ch_read_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!in->sh)
        return;
    st->inputs = atomic_load(&in->sh->inputs);
    st->rows = atomic_load(&in->sh->rows);
    st->bytes = atomic_load(&in->sh->bytes);
    st->errors = atomic_load(&in->sh->errors);
    st->pushed = atomic_load(&in->sh->pushed);
}

void ch_inputs_free(struct ch_inputs *in)
{
    for (size_t i = 0; i < in->nowned; i++)
        free(in->owned[i]);
    free(in->owned);
    free((void *)in->paths);
    if (in->sh && in->sh->started) {
        struct pollfd pf = { .fd = in->sh->last_rfd, .events = POLLIN };
        if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP))
            pthread_join(in->sh->thread, NULL);
        else
            pthread_detach(in->sh->thread);
    }
    if (in->sh)
        shared_put(in->sh);
    memset(in, 0, sizeof(*in));
}

int ch_push_open(struct ch_push *p, const char *url, const struct ch_read_opts *o, long timeout_s,
                 struct fs_err *e)
{
    memset(p, 0, sizeof(*p));
    if (ch_url_parse(url, &p->u, e) != 0)
        return -1;
    ch_url_say(&p->u, p->name, sizeof(p->name));
    int pushed;
    p->where = ch_where(o->filter, o->from_ms, o->to_ms, &pushed, NULL);
    p->h = ch_http_new(&p->u, timeout_s, e);
    if (!p->h)
        return ch_push_close(p, -1, e);
    return 0;
}

int ch_push_close(struct ch_push *p, int rc, struct fs_err *e)
{
    ch_http_free(p->h);
    free(p->where);
    p->h = NULL;
    p->where = NULL;
    if (rc != 0) {
        char msg[sizeof(e->msg)];
        snprintf(msg, sizeof(msg), "%s", e->msg);
        fs_err_set(e, e->code ? e->code : FS_EINVAL, -1, "%s: %s", p->name, msg);
    }
    return rc;
}

int ch_push_ok(const char *const *paths, size_t npaths, const char *filter)
{
    if (!npaths)
        return 0;
    for (size_t i = 0; i < npaths; i++)
        if (!ch_is_url(paths[i]))
            return 0;
    if (!filter)
        return 1;
    int pushed;
    free(ch_where(filter, 0, 0, &pushed, NULL)); /* its length rule too */
    return pushed;
}
