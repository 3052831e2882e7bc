/*
 * Store writer (store.h): buffers records per open file, writes one compressed block
 * of byte-plane shuffled columns (the planes that vary; the constant ones as one byte
 * each) every STORE_BLOCK_RECORDS records, and on close writes the end block,
 * rewrites the header with the totals, syncs and moves the file from its hidden temp
 * name into place.
 *
 * Once a first block is full the writer starts a worker thread: the caller fills the
 * next block while the worker shuffles, compresses and writes the earlier ones (a busy
 * collector spent a third of its receiving thread on that). Up to WQ_DEPTH blocks wait
 * in a queue: with one, the caller waited for the worker at a quarter of the blocks
 * whenever the two shared a core with a sender, though the worker needed half the time
 * the caller took to fill a block (a wakeup late, not work too slow). A full queue
 * waits for the worker, so memory stays bounded and a slow disk slows the caller.
 * Blocks are written in the order they fill, as without the worker. A block's outcome
 * (totals or error) is taken into its file by the caller, in order, when it next hands
 * over a block and before closing a file. Small outputs (under one block) never start
 * a thread.
 */
#include "store_int.h"

#include "../core/fields.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bins a folder writer keeps open: the current one plus stragglers for a few before. */
#define MAX_OPEN 4

/* Full blocks waiting for or in the worker, each STORE_BLOCK_RECORDS flows (1.5 MB). */
#define WQ_DEPTH 4

/* Largest time a bin name can hold (9999-12-31 23:59:59.999 UTC). */
#define MAX_TIME_MS 253402300799999ULL

/* W_DIRECT: an existing path that is neither a regular file nor a folder (a FIFO, a
 * device such as /dev/null): written in place as a stream, never replaced by a file. */
enum wmode { W_STREAM, W_FILE, W_FOLDER, W_DIRECT };

struct wfile {
    FILE *fp;
    char *tmp;          /* hidden temp path; NULL for stdout and W_DIRECT */
    const char *name;   /* what errors name: the user's path (dst), or "stdout" */
    char *dst;          /* final path (folder mode: without the numeric suffix) */
    struct store_hdr h; /* totals so far */
    struct flow *buf;   /* records of the block being filled */
    size_t n;
    int err;            /* sticky: first error on this file */
    struct fs_err emsg; /* its message */
};

/*
 * A block handed to the worker and what became of it. The caller writes the first three
 * fields before posting the job and reads the rest once the worker has finished it
 * (pipe.finished passed it, read under pipe.mu), which orders every access. buf is a
 * spare block buffer while the slot is free.
 */
struct wjob {
    struct wfile *wf;
    struct flow *buf;
    size_t n;
    int rc;
    struct fs_err e;
    struct store_bhdr b;
};

/* The queue: job k is in slot k % WQ_DEPTH; taken <= finished <= posted. */
struct wpipe {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* posted, finished or quit changed */
    unsigned long posted;   /* jobs handed over (caller, under mu) */
    unsigned long finished; /* jobs the worker finished (worker, under mu) */
    unsigned long taken;    /* outcomes taken into their files (caller only) */
    int quit;
    struct wjob job[WQ_DEPTH];
};

struct store_writer {
    enum wmode mode;
    char *root; /* folder mode: the store folder */
    enum store_codec codec;
    int level;
    uint32_t bin_secs;
    struct wfile *files[MAX_OPEN];
    size_t nopen;
    struct wfile *cur; /* folder mode: the bin pick_bin gave last, [cur_from, cur_to) */
    uint64_t cur_from, cur_to;
    uint8_t *raw, *comp; /* shared block buffers */
    size_t compcap;
    void *cctx;
    int first_err;
    struct fs_err first; /* message of first_err */
    int threaded;        /* pipe.th runs */
    struct wpipe pipe;
};

/* Remember the first error for store_writer_close; returns rc. */
static int keep_err(struct store_writer *w, int rc, const struct fs_err *e)
{
    if (rc && !w->first_err) {
        w->first_err = rc;
        w->first = *e;
    }
    return rc;
}

static int put_err(struct fs_err *e, const struct fs_err *src, int rc)
{
    if (e)
        *e = *src;
    return rc;
}

/* The error of errno on wf's file; wf itself is left alone (the worker calls this). */
static int io_fail(const struct wfile *wf, const char *what, struct fs_err *e)
{
    int rc = -(errno ? errno : EIO);
    return fs_err_set(e, rc, -1, "%s: %s: %s", wf->name, what, fs_strerror(rc));
}

/* Make rc (message e) wf's sticky error unless it has one; returns rc. */
static int wfile_fail(struct wfile *wf, int rc, const struct fs_err *e)
{
    if (rc && !wf->err) {
        wf->err = rc;
        wf->emsg = *e;
    }
    return rc;
}

static int io_err(struct wfile *wf, const char *what, struct fs_err *e)
{
    int rc = io_fail(wf, what, e);
    return wfile_fail(wf, rc, e);
}

static int wfile_write(const struct wfile *wf, const void *p, size_t n, struct fs_err *e)
{
    errno = 0;
    if (n && fwrite(p, 1, n, wf->fp) != n)
        return io_fail(wf, "write", e);
    return 0;
}

/* The block's time range into b: the smallest first, the largest last. */
static void block_times(const struct flow *buf, size_t n, struct store_bhdr *b)
{
    b->first_min_ms = UINT64_MAX;
    b->last_max_ms = 0;
    for (size_t i = 0; i < n; i++) {
        b->first_min_ms = buf[i].first < b->first_min_ms ? buf[i].first : b->first_min_ms;
        b->last_max_ms = buf[i].last > b->last_max_ms ? buf[i].last : b->last_max_ms;
    }
}

/*
 * The head of a v2 payload into head: the plane map of the block's varying planes, then
 * the value of each constant plane. Returns its length; *nstored the planes to store.
 */
static size_t block_head(const struct flow *buf, size_t n, uint8_t *head, size_t *nstored)
{
    uint8_t val[STORE_MAX_PLANES];
    size_t planes = store_record_bytes((uint32_t)nfields), len = STORE_MAP_LEN(planes);
    *nstored = store_plane_map(buf, n, head, val);
    for (size_t p = 0; p < planes; p++)
        if (!STORE_MAP_BIT(head, p))
            head[len++] = val[p];
    return len;
}

/*
 * Shuffle the varying planes of n records, compress them and write the block to wf
 * (store.h, version 2); *b gets its header. Uses the writer's shared buffers and leaves
 * wf's counters to the caller, so that the worker can run it while the caller fills
 * another block.
 */
static int encode_block(struct store_writer *w, const struct wfile *wf, const struct flow *buf,
                        size_t n, struct store_bhdr *b, struct fs_err *e)
{
    uint8_t head[STORE_MAP_LEN(STORE_MAX_PLANES) + STORE_MAX_PLANES];
    size_t nstored, hlen = block_head(buf, n, head, &nstored);
    *b = (struct store_bhdr){ .nrecords = (uint32_t)n, .codec = (uint8_t)w->codec };
    block_times(buf, n, b);
    b->raw_len = (uint32_t)(nstored * n);
    store_shuffle(buf, n, head, w->raw);
    const uint8_t *part = w->raw;
    size_t part_len = b->raw_len;
    if (b->raw_len == 0) /* every plane constant: nothing to compress */
        b->codec = STORE_NONE;
    if (b->codec != STORE_NONE) {
        long long c =
            store_compress(w->codec, w->level, &w->cctx, w->raw, b->raw_len, w->comp, w->compcap);
        if (c < 0)
            return fs_err_set(e, FS_ECODEC, -1, "%s: compression failed", wf->name);
        /* Incompressible data is kept raw: the block's codec byte says so. */
        if ((size_t)c < b->raw_len) {
            part = w->comp;
            part_len = (size_t)c;
        } else {
            b->codec = STORE_NONE;
        }
    }
    b->comp_len = (uint32_t)(hlen + part_len);
    b->crc = store_crc32(store_crc32(0, head, hlen), part, part_len);
    uint8_t bh[STORE_BHDR_LEN];
    store_bhdr_encode(bh, b);
    int rc = wfile_write(wf, bh, sizeof(bh), e);
    if (!rc)
        rc = wfile_write(wf, head, hlen, e);
    return rc ? rc : wfile_write(wf, part, part_len, e);
}

/* Count a written block into its file's header totals. */
static void account_block(struct wfile *wf, const struct store_bhdr *b)
{
    if (wf->h.nrecords == 0 || b->first_min_ms < wf->h.first_min_ms)
        wf->h.first_min_ms = b->first_min_ms;
    if (b->last_max_ms > wf->h.last_max_ms)
        wf->h.last_max_ms = b->last_max_ms;
    wf->h.nblocks++;
    wf->h.nrecords += b->nrecords;
}

/* ---- the worker ---- */

static void *worker_main(void *arg)
{
    struct wpipe *p = &((struct store_writer *)arg)->pipe;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->finished == p->posted && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->finished == p->posted)
            break;
        struct wjob *j = &p->job[p->finished % WQ_DEPTH];
        pthread_mutex_unlock(&p->mu);
        j->rc = encode_block(arg, j->wf, j->buf, j->n, &j->b, &j->e);
        pthread_mutex_lock(&p->mu);
        p->finished++;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Start the worker with every signal blocked (they belong to the caller's thread);
 * without one the writer simply goes on writing blocks itself. */
static void worker_start(struct store_writer *w)
{
    struct wpipe *p = &w->pipe;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->th, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        return;
    }
    for (int k = 0; k < WQ_DEPTH; k++)
        p->job[k].buf = xmalloc(STORE_BLOCK_RECORDS * sizeof(struct flow));
    w->threaded = 1;
}

static void worker_stop(struct store_writer *w)
{
    struct wpipe *p = &w->pipe;
    if (!w->threaded)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    for (int k = 0; k < WQ_DEPTH; k++)
        free(p->job[k].buf);
    w->threaded = 0;
}

/*
 * Take the outcomes of finished blocks into their files, oldest first: every block
 * posted when all is set, else those finished and, when the queue is full, at least
 * the oldest. Returns 0 or the first block's error (*e its message), which is also
 * kept as the file's and the writer's error.
 */
static int worker_take(struct store_writer *w, int all, struct fs_err *e)
{
    struct wpipe *p = &w->pipe;
    if (!w->threaded)
        return 0;
    pthread_mutex_lock(&p->mu);
    while (p->finished != p->posted && (all || p->posted - p->finished == WQ_DEPTH))
        pthread_cond_wait(&p->cv, &p->mu);
    unsigned long upto = p->finished;
    pthread_mutex_unlock(&p->mu);
    int first = 0;
    for (; p->taken < upto; p->taken++) {
        struct wjob *j = &p->job[p->taken % WQ_DEPTH];
        if (j->rc) {
            wfile_fail(j->wf, j->rc, &j->e);
            keep_err(w, j->rc, &j->e);
            if (!first) {
                first = j->rc;
                *e = j->e;
            }
        } else {
            account_block(j->wf, &j->b);
        }
    }
    return first;
}

/* Hand wf's full block to the worker (a slot is free); wf goes on filling the slot's
 * spare buffer. */
static void worker_post(struct store_writer *w, struct wfile *wf)
{
    struct wpipe *p = &w->pipe;
    struct wjob *j = &p->job[p->posted % WQ_DEPTH];
    struct flow *spare = j->buf;
    *j = (struct wjob){ .wf = wf, .buf = wf->buf, .n = wf->n };
    wf->buf = spare;
    wf->n = 0;
    pthread_mutex_lock(&p->mu);
    p->posted++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/*
 * Write wf's buffered records as one block: a full block through the worker (started
 * on the first), the rest here once the worker is idle. Returns 0 or an error of this
 * file or of the block the worker wrote before (*e its message).
 */
static int flush_block(struct store_writer *w, struct wfile *wf, int full, struct fs_err *e)
{
    struct fs_err pe;
    int prev = worker_take(w, !full, &pe);
    if (wf->err) {
        wf->n = 0; /* a failed file drops its records */
        return put_err(e, &wf->emsg, wf->err);
    }
    if (wf->n && full && !w->threaded)
        worker_start(w);
    if (wf->n && full && w->threaded) {
        worker_post(w, wf);
    } else if (wf->n) {
        struct store_bhdr b;
        int rc = encode_block(w, wf, wf->buf, wf->n, &b, e);
        if (rc)
            return wfile_fail(wf, rc, e);
        account_block(wf, &b);
        wf->n = 0;
    }
    return prev ? put_err(e, &pe, prev) : 0;
}

/* Start a file on fp: allocate the block buffer and write a provisional header. */
static int wfile_start(struct store_writer *w, struct wfile *wf, uint64_t bin_start,
                       struct fs_err *e)
{
    wf->buf = xmalloc(STORE_BLOCK_RECORDS * sizeof(struct flow));
    wf->h =
        (struct store_hdr){ .version = STORE_VERSION,
                            .codec = (uint8_t)w->codec,
                            .flags =
                                w->mode == W_STREAM || w->mode == W_DIRECT ? STORE_FLAG_STREAM : 0,
                            .header_len = STORE_HDR_LEN,
                            .ncolumns = (uint32_t)nfields };
    if (w->mode == W_FOLDER) {
        wf->h.bin_start_ms = bin_start;
        wf->h.bin_secs = w->bin_secs;
    }
    uint8_t hb[STORE_HDR_LEN];
    store_hdr_encode(hb, &wf->h);
    return wfile_fail(wf, wfile_write(wf, hb, sizeof(hb), e), e);
}

/*
 * Create DIR/.BASE.tmp.PID.K (first free K) and a wfile writing to it; *out is set even
 * on error. Not mkstemp: its 0600 mode would stick to the published file, while open()
 * with 0666 honours the umask as any other output does.
 */
static int wfile_open_tmp(struct store_writer *w, const char *dir, const char *base,
                          const char *dst, uint64_t bin_start, struct wfile **out, struct fs_err *e)
{
    struct wfile *wf = xcalloc(1, sizeof(*wf));
    *out = wf;
    size_t len = strlen(dir) + strlen(base) + 48;
    wf->tmp = xmalloc(len);
    wf->dst = xstrdup(dst);
    wf->name = wf->dst;
    int fd = -1;
    for (unsigned k = 0; fd < 0 && k < 1000; k++) {
        snprintf(wf->tmp, len, "%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(), k);
        fd = open(wf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0 || !(wf->fp = fdopen(fd, "wb"))) {
        int rc = io_err(wf, "create", e);
        if (fd >= 0) {
            close(fd);
            unlink(wf->tmp);
        }
        return rc;
    }
    return wfile_start(w, wf, bin_start, e);
}

/* Link tmp to dst, or dst.1, dst.2, ...: a complete file is never replaced. */
static int publish_noreplace(struct wfile *wf, struct fs_err *e)
{
    size_t len = strlen(wf->dst) + 16;
    char *name = xmalloc(len);
    int rc = 0;
    for (unsigned k = 0;; k++) {
        if (k == 100000) {
            errno = EEXIST;
            rc = io_err(wf, "link into place", e);
            break;
        }
        if (k)
            snprintf(name, len, "%s.%u", wf->dst, k);
        else
            snprintf(name, len, "%s", wf->dst);
        if (link(wf->tmp, name) == 0) {
            unlink(wf->tmp);
            break;
        }
        if (errno == EEXIST)
            continue;
        /* File systems without hard links: check, then rename. Not atomic: two writers
         * racing for one name there could replace each other's file. */
        struct stat st;
        if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS) {
            rc = io_err(wf, "link into place", e);
            break;
        }
        if (lstat(name, &st) == 0)
            continue;
        if (rename(wf->tmp, name) != 0)
            rc = io_err(wf, "rename into place", e);
        break;
    }
    free(name);
    return rc;
}

static void wfile_free(struct wfile *wf)
{
    free(wf->buf);
    free(wf->tmp);
    free(wf->dst);
    free(wf);
}

/* Write the end block and the final header, sync, close and move the file into place. */
static int wfile_finish(struct store_writer *w, struct wfile *wf, struct fs_err *e)
{
    flush_block(w, wf, 0, e); /* an error of another file is that file's to report */
    int rc = wf->err;
    if (rc)
        *e = wf->emsg;
    uint8_t bh[STORE_BHDR_LEN], hb[STORE_HDR_LEN];
    struct store_bhdr end = { .codec = (uint8_t)w->codec };
    store_bhdr_encode(bh, &end);
    if (!rc)
        rc = wfile_fail(wf, wfile_write(wf, bh, sizeof(bh), e), e);
    errno = 0;
    if (!rc && fflush(wf->fp) != 0)
        rc = io_err(wf, "write", e);
    if (w->mode == W_STREAM) {
        wfile_free(wf);
        return rc;
    }
    if (w->mode == W_DIRECT) {
        if (fclose(wf->fp) != 0 && !rc)
            rc = io_err(wf, "close", e);
        wfile_free(wf);
        return rc;
    }
    store_hdr_encode(hb, &wf->h);
    if (!rc && pwrite(fileno(wf->fp), hb, sizeof(hb), 0) != (ssize_t)sizeof(hb))
        rc = io_err(wf, "rewrite header", e);
    if (!rc && fsync(fileno(wf->fp)) != 0)
        rc = io_err(wf, "sync", e);
    if (fclose(wf->fp) != 0 && !rc)
        rc = io_err(wf, "close", e);
    if (!rc && w->mode == W_FILE && rename(wf->tmp, wf->dst) != 0)
        rc = io_err(wf, "rename into place", e);
    else if (!rc && w->mode == W_FOLDER)
        rc = publish_noreplace(wf, e);
    if (rc)
        unlink(wf->tmp);
    wfile_free(wf);
    return rc;
}

/* mkdir -p; returns 0 or -errno. */
static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (!rc && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = -ENOTDIR;
    free(p);
    return rc;
}

/* Open the file of the bin starting at bin_start below the store folder. */
static int open_bin(struct store_writer *w, uint64_t bin_start, struct wfile **out,
                    struct fs_err *e)
{
    char rel[64];
    store_bin_name(bin_start, rel, sizeof(rel));
    size_t len = strlen(w->root) + strlen(rel) + 2;
    char *dst = xmalloc(len), *dir = xmalloc(len);
    snprintf(dst, len, "%s/%s", w->root, rel);
    const char *base = strrchr(dst, '/') + 1;
    snprintf(dir, len, "%.*s", (int)(base - 1 - dst), dst);
    int rc = mkdirs(dir);
    if (rc)
        fs_err_set(e, rc, -1, "%s: create folder: %s", dir, fs_strerror(rc));
    else
        rc = wfile_open_tmp(w, dir, base, dst, bin_start, out, e);
    free(dst);
    free(dir);
    return rc;
}

/* The open file for a flow's bin, opening it (and closing the oldest) as needed. */
static int pick_bin(struct store_writer *w, uint64_t last, struct wfile **out, struct fs_err *e)
{
    if (last > MAX_TIME_MS)
        return fs_err_set(e, FS_EINVAL, -1, "%s: flow time %llu ms is past year 9999", w->root,
                          (unsigned long long)last);
    uint64_t width = (uint64_t)w->bin_secs * 1000, start = last - last % width;
    for (size_t i = 0; i < w->nopen; i++)
        if (w->files[i]->h.bin_start_ms == start) {
            *out = w->files[i];
            return 0;
        }
    if (w->nopen == MAX_OPEN) {
        size_t old = 0;
        for (size_t i = 1; i < w->nopen; i++)
            if (w->files[i]->h.bin_start_ms < w->files[old]->h.bin_start_ms)
                old = i;
        struct wfile *wf = w->files[old];
        w->files[old] = w->files[--w->nopen];
        int rc = wfile_finish(w, wf, e);
        if (rc)
            return rc;
    }
    struct wfile *wf = NULL;
    int rc = open_bin(w, start, &wf, e);
    if (rc) {
        if (wf && wf->fp) {
            fclose(wf->fp);
            unlink(wf->tmp);
        }
        if (wf)
            wfile_free(wf);
        return rc;
    }
    w->files[w->nopen++] = *out = wf;
    return 0;
}

/* Check the options and settle the mode of PATH. */
static int writer_setup(struct store_writer *w, const char *path, const struct store_wopts *o,
                        struct fs_err *e)
{
    w->codec = o ? o->codec : STORE_LZ4;
    w->level = o ? o->level : 0;
    w->bin_secs = o && o->bin_secs ? o->bin_secs : STORE_BIN_SECS_DEFAULT;
    if ((unsigned)w->codec > STORE_ZSTD || w->bin_secs % 60 || w->bin_secs > STORE_MAX_BIN_SECS)
        return fs_err_set(e, FS_EINVAL, -1,
                          "%s: bad store options (codec %d, bin %u s: want whole minutes "
                          "up to a day)",
                          path, (int)w->codec, w->bin_secs);
    struct stat st;
    size_t len = strlen(path);
    int exists = stat(path, &st) == 0;
    if (strcmp(path, "-") == 0)
        w->mode = W_STREAM;
    else if ((len && path[len - 1] == '/') || (exists && S_ISDIR(st.st_mode)))
        w->mode = W_FOLDER;
    else if (exists && !S_ISREG(st.st_mode))
        w->mode = W_DIRECT; /* a temp file renamed over /dev/null would replace it */
    else
        w->mode = W_FILE;
    return 0;
}

/* Open an existing FIFO or device for writing in place (no O_CREAT, no O_TRUNC). */
static int open_direct(struct store_writer *w, const char *path, struct fs_err *e)
{
    struct wfile *wf = xcalloc(1, sizeof(*wf));
    wf->dst = xstrdup(path);
    wf->name = wf->dst;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || !(wf->fp = fdopen(fd, "wb"))) {
        int rc = io_fail(wf, "open", e);
        if (fd >= 0)
            close(fd);
        wfile_free(wf);
        return rc;
    }
    w->files[w->nopen++] = wf;
    return wfile_start(w, wf, 0, e);
}

/* Open the single file or stream writer's one file. */
static int open_single(struct store_writer *w, const char *path, struct fs_err *e)
{
    struct wfile *wf;
    if (w->mode == W_STREAM) {
        wf = xcalloc(1, sizeof(*wf));
        wf->fp = stdout;
        wf->name = "stdout";
        w->files[w->nopen++] = wf;
        return wfile_start(w, wf, 0, e);
    }
    if (w->mode == W_DIRECT)
        return open_direct(w, path, e);
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    int rc = wfile_open_tmp(w, slash ? dir : ".", base, path, 0, &wf, e);
    free(dir);
    if (rc && !wf->fp) {
        wfile_free(wf);
        return rc;
    }
    w->files[w->nopen++] = wf;
    return rc;
}

/*
 * Open a writer (store.h). The single file's temp file is created here so a bad path
 * fails at once; folder bins are created as records arrive. On error nothing is left
 * behind and *out is NULL.
 */
int store_writer_open(struct store_writer **out, const char *path, const struct store_wopts *o,
                      struct fs_err *err)
{
    *out = NULL;
    struct store_writer *w = xcalloc(1, sizeof(*w));
    int rc = writer_setup(w, path, o, err);
    if (!rc && w->mode == W_FOLDER) {
        w->root = xstrdup(path);
        for (size_t n = strlen(w->root); n > 1 && w->root[n - 1] == '/'; n--)
            w->root[n - 1] = '\0';
        if ((rc = mkdirs(w->root)) != 0)
            fs_err_set(err, rc, -1, "%s: create store folder: %s", path, fs_strerror(rc));
    } else if (!rc) {
        rc = open_single(w, path, err);
    }
    size_t raw = STORE_BLOCK_RECORDS * store_record_bytes((uint32_t)nfields);
    w->raw = xmalloc(raw);
    w->compcap = store_comp_bound(raw);
    w->comp = xmalloc(w->compcap);
    if (rc) {
        struct fs_err dummy;
        for (size_t i = 0; i < w->nopen; i++)
            w->files[i]->err = rc;
        store_writer_close(w, &dummy);
        return rc;
    }
    *out = w;
    return 0;
}

/*
 * Append one record (copied). Folder mode files it by its `last` time. Errors: -errno
 * on write failure, FS_ECODEC, FS_EINVAL for a time no bin name can hold; records of a
 * file that failed are dropped and the error repeated.
 */
int store_writer_add(struct store_writer *w, const struct flow *f, struct fs_err *err)
{
    return store_writer_add_at(w, f, f->last, err);
}

/*
 * store_writer_add filing the record in the bin of bin_ms. FS_EINVAL (a bin_ms past
 * year 9999) concerns this record alone: nothing is written and the writer is not
 * failed by it, unlike an I/O error.
 */
int store_writer_add_at(struct store_writer *w, const struct flow *f, uint64_t bin_ms,
                        struct fs_err *err)
{
    struct fs_err e;
    struct wfile *wf = w->files[0];
    int rc = 0;
    /* Flows come in time order mostly: the last bin's range spares pick_bin's 64-bit
     * division and search (most of this function's time in a busy collector). */
    if (w->mode == W_FOLDER && w->cur && bin_ms >= w->cur_from && bin_ms < w->cur_to) {
        wf = w->cur;
    } else if (w->mode == W_FOLDER) {
        w->cur = NULL;
        if (bin_ms > MAX_TIME_MS)
            return fs_err_set(err, FS_EINVAL, -1, "%s: flow time %llu ms is past year 9999",
                              w->root, (unsigned long long)bin_ms);
        if ((rc = pick_bin(w, bin_ms, &wf, &e)) != 0)
            return put_err(err, &e, keep_err(w, rc, &e));
        w->cur = wf;
        w->cur_from = wf->h.bin_start_ms;
        w->cur_to = wf->h.bin_start_ms + (uint64_t)w->bin_secs * 1000;
    }
    if (wf->err)
        return put_err(err, &wf->emsg, wf->err);
    wf->buf[wf->n++] = *f;
    if (wf->n == STORE_BLOCK_RECORDS && (rc = flush_block(w, wf, 1, &e)) != 0)
        return put_err(err, &e, keep_err(w, rc, &e));
    return 0;
}

/*
 * Finish every open file (end block, header totals, sync, rename into place) and free
 * w. Files that failed are removed instead. Returns 0 or the first error of the
 * writer's life, with its message.
 */
int store_writer_close(struct store_writer *w, struct fs_err *err)
{
    if (!w)
        return 0;
    struct fs_err e;
    for (size_t i = 0; i < w->nopen; i++) {
        struct wfile *wf = w->files[i];
        int rc = wfile_finish(w, wf, &e);
        keep_err(w, rc, &e);
    }
    worker_stop(w);
    int rc = w->first_err;
    if (rc && err)
        *err = w->first;
    store_codec_free(w->cctx, NULL);
    free(w->raw);
    free(w->comp);
    free(w->root);
    free(w);
    return rc;
}
