/*
 * --sink clickhouse://...: every flow a RowBinary row of the open batch (the receive
 * path copies, nothing else); a batch is handed over at batch_rows rows or when its
 * first row is batch_ms old, and a thread of its own posts it. A batch that cannot be
 * posted (server down, slow, or answering an error), or that finds memory full, goes
 * to a file in the spool folder; the thread always sends the batch of lowest sequence
 * number next, from memory or the spool, so the server sees them in order.
 *
 * Exactly once: every row carries its batch's id (random, 64 bits). Before a spooled
 * batch is sent, the thread asks how many rows of that id each day already holds (a
 * post whose answer was lost may have been stored) and sends only the rest: an insert
 * of one batch is one part per day (partition), and a part is stored whole or not at
 * all (docs/internals/clickhouse.md).
 */
#include "../core/xalloc.h"
#include "ch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct batch {
    uint64_t seq, id, t0_ms;
    uint8_t *rows;
    uint32_t n, cap;
    struct batch *next;
};

struct spooled {
    uint64_t seq, id, bytes;
};

struct ch_sink {
    struct ch_url url;
    char name[600], insert[900];
    struct ch_sink_opts o;
    char *spool;
    struct ch_http *http;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started, closing;
    uint64_t deadline_ms;
    struct batch *open, *head, *tail;
    uint64_t mem_bytes, next_seq;
    struct spooled *sp; /* the spool's files, sorted by seq */
    size_t nsp, capsp;
    struct ch_sink_stats st;
    char last_err[256];
    int spool_full_said;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t random_id(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
    }
    return v ? v : 1;
}

static char *spool_path(const struct ch_sink *s, uint64_t seq, uint64_t id, int tmp)
{
    size_t n = strlen(s->spool) + 64;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s%016" PRIx64 "-%016" PRIx64 ".rb", s->spool, tmp ? ".tmp-" : "", seq, id);
    return p;
}

/* Insert into the sorted spool index (locked). */
static void sp_insert(struct ch_sink *s, uint64_t seq, uint64_t id, uint64_t bytes)
{
    if (s->nsp == s->capsp) {
        s->capsp = s->capsp ? s->capsp * 2 : 64;
        s->sp = xrealloc(s->sp, s->capsp * sizeof(*s->sp));
    }
    size_t i = s->nsp;
    while (i && s->sp[i - 1].seq > seq) {
        s->sp[i] = s->sp[i - 1];
        i--;
    }
    s->sp[i] = (struct spooled){ seq, id, bytes };
    s->nsp++;
    s->st.spool_files = s->nsp;
    s->st.spool_bytes += bytes;
}

static void batch_free(struct batch *b)
{
    if (b) {
        free(b->rows);
        free(b);
    }
}

/*
 * Write b to the spool (unlocked: b is ours alone) and free it: 0, or -1 when it was
 * lost (spool full or a write error, said once an episode).
 */
static int spool_write(struct ch_sink *s, struct batch *b)
{
    uint64_t bytes = (uint64_t)b->n * CH_ROW;
    pthread_mutex_lock(&s->mu);
    int full = s->st.spool_bytes + bytes > s->o.spool_max;
    pthread_mutex_unlock(&s->mu);
    char *tmp = spool_path(s, b->seq, b->id, 1), *fin = spool_path(s, b->seq, b->id, 0);
    const char *why = full ? "the spool is full (--sink-spool-max)" : NULL;
    char ebuf[160];
    if (!why) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        size_t off = 0;
        while (fd >= 0 && off < bytes) {
            ssize_t k = write(fd, b->rows + off, bytes - off);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        if (fd < 0 || off < bytes || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, fin) != 0) {
            snprintf(ebuf, sizeof(ebuf), "cannot write %s: %s", tmp, strerror(errno));
            why = ebuf;
            unlink(tmp);
        } else {
            fd = -1;
        }
        if (fd >= 0)
            close(fd);
    }
    pthread_mutex_lock(&s->mu);
    if (why) {
        s->st.lost_rows += b->n;
        if (!s->spool_full_said)
            fprintf(stderr, "%s: %s: %s; batches are LOST until it has room (counted)\n", s->o.who,
                    s->name, why);
        s->spool_full_said = 1;
    } else {
        s->spool_full_said = 0;
        s->st.spooled_batches++;
        sp_insert(s, b->seq, b->id, bytes);
    }
    pthread_mutex_unlock(&s->mu);
    free(tmp);
    free(fin);
    batch_free(b);
    return why ? -1 : 0;
}

/* 16 hex digits into *v: 1, or 0 when they are not. */
static int hex16(const char *s, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        *v = *v << 4 | (uint64_t)d;
    }
    return 1;
}

/* "SEQ-ID.rb" (16 hex digits each), as spool_path names a batch: 1, or 0. */
static int spool_name(const char *nm, uint64_t *seq, uint64_t *id)
{
    return strlen(nm) == 36 && hex16(nm, seq) && nm[16] == '-' && hex16(nm + 17, id) &&
           strcmp(nm + 33, ".rb") == 0;
}

/* The spool as the last run left it: its files in order, the next sequence number. */
static int spool_scan(struct ch_sink *s, struct fs_err *e)
{
    if (mkdir(s->spool, 0700) != 0 && errno != EEXIST)
        return fs_err_set(e, -errno, -1, "cannot make the spool folder %s: %s", s->spool,
                          strerror(errno)),
               -1;
    DIR *d = opendir(s->spool);
    if (!d)
        return fs_err_set(e, -errno, -1, "cannot read the spool folder %s: %s", s->spool,
                          strerror(errno)),
               -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq, id;
        const char *nm = de->d_name;
        size_t pn = strlen(s->spool) + strlen(nm) + 2;
        char *p = xmalloc(pn);
        snprintf(p, pn, "%s/%s", s->spool, nm);
        struct stat st;
        if (strncmp(nm, ".tmp-", 5) == 0) {
            unlink(p); /* a spool write cut off by a kill: its batch was never handed back */
        } else if (spool_name(nm, &seq, &id) && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            if (st.st_size % CH_ROW || !st.st_size) {
                size_t bn = strlen(p) + 8;
                char *bad = xmalloc(bn);
                snprintf(bad, bn, "%s.bad", p);
                fprintf(stderr,
                        "%s: spool file %s: %lld bytes, not a whole number of %d-byte rows; "
                        "set aside as %s\n",
                        s->o.who, p, (long long)st.st_size, CH_ROW, bad);
                rename(p, bad);
                free(bad);
            } else {
                sp_insert(s, seq, id, (uint64_t)st.st_size);
                if (seq >= s->next_seq)
                    s->next_seq = seq + 1;
            }
        }
        free(p);
    }
    closedir(d);
    return 0;
}

struct ch_sink *ch_sink_open(const char *url, const struct ch_sink_opts *o, struct fs_err *e)
{
    struct ch_sink *s = xcalloc(1, sizeof(*s));
    if (ch_url_parse(url, &s->url, e) != 0) {
        free(s);
        return NULL;
    }
    s->o = *o;
    if (!s->o.batch_rows)
        s->o.batch_rows = 100000;
    if (!s->o.batch_ms)
        s->o.batch_ms = 1000;
    if (!s->o.spool_max)
        s->o.spool_max = 1ull << 30;
    if (!s->o.mem_max)
        s->o.mem_max = 256ull << 20;
    if (!s->o.timeout_s)
        s->o.timeout_s = 30;
    if (!s->o.who)
        s->o.who = "flowsleuth";
    ch_url_say(&s->url, s->name, sizeof(s->name));
    int k = snprintf(s->insert, sizeof(s->insert), "INSERT INTO %s.%s (", s->url.db, s->url.table);
    for (size_t i = 0; i < ch_ncols; i++)
        k += snprintf(s->insert + k, sizeof(s->insert) - (size_t)k, "%s%s", ch_cols[i].name,
                      i + 1 < ch_ncols ? ", " : ") FORMAT RowBinary");
    s->spool = xstrdup(o->spool);
    s->next_seq = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (spool_scan(s, e) != 0 || !(s->http = ch_http_new(&s->url, s->o.timeout_s, e))) {
        free(s->sp);
        free(s->spool);
        free(s);
        return NULL;
    }
    return s;
}

const char *ch_sink_name(const struct ch_sink *s)
{
    return s->name;
}

/* The open batch goes to the queue (locked); NULL, or a batch the caller must spool
 * (unlocked) because memory is full. */
static struct batch *hand_over(struct ch_sink *s)
{
    struct batch *b = s->open;
    s->open = NULL;
    if (!b)
        return NULL;
    s->st.batches++;
    uint64_t bytes = (uint64_t)b->n * CH_ROW;
    if (s->mem_bytes + bytes > s->o.mem_max)
        return b;
    s->mem_bytes += bytes;
    if (s->tail)
        s->tail->next = b;
    else
        s->head = b;
    s->tail = b;
    pthread_cond_signal(&s->cv);
    return NULL;
}

static void *sender(void *arg);

static void start(struct ch_sink *s)
{
    if (!s->started && pthread_create(&s->th, NULL, sender, s) == 0)
        s->started = 1;
}

void ch_sink_add(struct ch_sink *s, const struct flow *f)
{
    pthread_mutex_lock(&s->mu);
    if (!s->started)
        start(s);
    struct batch *b = s->open;
    if (!b) {
        b = s->open = xcalloc(1, sizeof(*b));
        b->seq = s->next_seq++;
        b->id = random_id();
        b->t0_ms = now_ms();
        b->cap = s->o.batch_rows;
        b->rows = xmalloc((size_t)b->cap * CH_ROW);
    }
    ch_row_encode(b->rows + (size_t)b->n * CH_ROW, f, b->id);
    b->n++;
    s->st.rows++;
    struct batch *over = b->n >= b->cap ? hand_over(s) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (over)
        spool_write(s, over);
}

/* ---- the sender thread ---- */

/* The server's answer to the count of a batch's rows a day: "DAY\tCOUNT" lines. */
int ch_parse_day_counts(const char *ans, uint32_t *days, uint64_t *counts, size_t max, size_t *n,
                        struct fs_err *e)
{
    const char *p = ans;
    *n = 0;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            return fs_err_set(e, FS_ECORRUPT, p - ans, "answer: a day number expected"), -1;
        unsigned long long d = strtoull(p, &end, 10);
        if (*end != '\t' || d > UINT32_MAX)
            return fs_err_set(e, FS_ECORRUPT, end - ans, "answer: DAY<tab>COUNT expected"), -1;
        p = end + 1;
        if (*p < '0' || *p > '9')
            return fs_err_set(e, FS_ECORRUPT, p - ans, "answer: a count expected"), -1;
        errno = 0;
        unsigned long long c = strtoull(p, &end, 10);
        if (errno || *end != '\n')
            return fs_err_set(e, FS_ECORRUPT, end - ans, "answer: a line end expected"), -1;
        if (*n == max)
            return fs_err_set(e, FS_ECORRUPT, p - ans, "answer: more days than the batch has"), -1;
        days[*n] = (uint32_t)d;
        counts[*n] = c;
        (*n)++;
        p = end + 1;
    }
    return 0;
}

/* A failed post, said when its text differs from the last one's. */
static void say_failure(struct ch_sink *s, const struct fs_err *e)
{
    pthread_mutex_lock(&s->mu);
    s->st.failures++;
    int again = s->st.down && strcmp(s->last_err, e->msg) == 0;
    s->st.down = 1;
    snprintf(s->last_err, sizeof(s->last_err), "%s", e->msg);
    pthread_mutex_unlock(&s->mu);
    if (!again)
        fprintf(stderr, "%s: %s: %s (batches wait in the spool %s; retrying)\n", s->o.who, s->name,
                e->msg, s->spool);
}

static void say_up(struct ch_sink *s)
{
    pthread_mutex_lock(&s->mu);
    int was = s->st.down;
    s->st.down = 0;
    s->last_err[0] = '\0';
    pthread_mutex_unlock(&s->mu);
    if (was)
        fprintf(stderr, "%s: %s: sending again\n", s->o.who, s->name);
}

/*
 * Rows of a spooled batch the server does not hold yet, in their order: the first
 * count(day) rows of each day are there already (a part is stored whole; a body cut
 * short stores a prefix or nothing). 0 with the rows moved to the front and their number in *nout,
 * or -1 (e) on a failed check.
 */
static int not_yet_stored(struct ch_sink *s, uint64_t id, uint8_t *rows, size_t nrows, size_t *nout,
                          struct fs_err *e)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < nrows; i++) {
        uint32_t bin = (uint32_t)rows[i * CH_ROW] | (uint32_t)rows[i * CH_ROW + 1] << 8 |
                       (uint32_t)rows[i * CH_ROW + 2] << 16 | (uint32_t)rows[i * CH_ROW + 3] << 24;
        lo = bin < lo ? bin : lo;
        hi = bin > hi ? bin : hi;
    }
    char q[600];
    snprintf(q, sizeof(q),
             "SELECT toUInt32(toDate(bin)) AS d, count() AS c FROM %s.%s WHERE batch = %" PRIu64
             " AND bin >= toDateTime(%u) AND bin <= toDateTime(%u) GROUP BY d FORMAT "
             "TabSeparated",
             s->url.db, s->url.table, id, lo, hi);
    char *ans = NULL;
    int down;
    if (ch_http_post(s->http, NULL, q, strlen(q), &ans, &down, e) != 0)
        return -1;
    enum { MAXD = 512 };
    uint32_t days[MAXD];
    uint64_t have[MAXD];
    size_t nd;
    int rc = ch_parse_day_counts(ans, days, have, MAXD, &nd, e);
    free(ans);
    if (rc != 0)
        return -1;
    size_t k = 0;
    uint64_t skipped = 0;
    for (size_t i = 0; i < nrows; i++) {
        uint32_t d = ch_row_day(rows + i * CH_ROW);
        int skip = 0;
        for (size_t j = 0; j < nd; j++)
            if (days[j] == d && have[j]) {
                have[j]--;
                skip = 1;
                break;
            }
        if (skip) {
            skipped++;
            continue;
        }
        if (k != i)
            memmove(rows + k * CH_ROW, rows + i * CH_ROW, CH_ROW);
        k++;
    }
    pthread_mutex_lock(&s->mu);
    s->st.skipped_rows += skipped;
    pthread_mutex_unlock(&s->mu);
    *nout = k;
    return 0;
}

static int post_rows(struct ch_sink *s, const uint8_t *rows, size_t n, struct fs_err *e)
{
    int down;
    if (!n)
        return 0;
    return ch_http_post(s->http, s->insert, rows, n * CH_ROW, NULL, &down, e);
}

/* Send the spool's first file: 0 (sent, removed) or -1 (e). */
static int send_spooled(struct ch_sink *s, struct spooled sp, struct fs_err *e)
{
    char *p = spool_path(s, sp.seq, sp.id, 0);
    int rc = -1;
    FILE *fp = fopen(p, "rb");
    uint8_t *rows = xmalloc(sp.bytes ? sp.bytes : 1);
    size_t n = sp.bytes / CH_ROW, k = 0;
    if (!fp || fread(rows, 1, sp.bytes, fp) != sp.bytes) {
        fs_err_set(e, FS_ETRUNC, -1, "spool file %s: cannot read it whole", p);
        if (fp)
            fclose(fp);
        free(rows);
        free(p);
        return -1;
    }
    fclose(fp);
    if (not_yet_stored(s, sp.id, rows, n, &k, e) == 0 && post_rows(s, rows, k, e) == 0) {
        unlink(p);
        rc = 0;
        pthread_mutex_lock(&s->mu);
        s->st.resent_batches++;
        s->st.sent_batches++;
        s->st.sent_rows += n;
        s->st.spool_bytes -= sp.bytes;
        /* the first entry is this one: the sender alone removes entries */
        memmove(s->sp, s->sp + 1, (s->nsp - 1) * sizeof(*s->sp));
        s->nsp--;
        s->st.spool_files = s->nsp;
        pthread_mutex_unlock(&s->mu);
    }
    free(rows);
    free(p);
    return rc;
}

static void wait_until(struct ch_sink *s, uint64_t t_ms)
{
    struct timespec ts = { (time_t)(t_ms / 1000), (long)(t_ms % 1000) * 1000000 };
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Send the next batch (called locked, returns unlocked): 0, or -1 (e). */
static int send_next(struct ch_sink *s, struct fs_err *e)
{
    if (s->nsp && (!s->head || s->sp[0].seq < s->head->seq)) {
        struct spooled sp = s->sp[0];
        pthread_mutex_unlock(&s->mu);
        return send_spooled(s, sp, e);
    }
    struct batch *b = s->head;
    s->head = b->next;
    if (!s->head)
        s->tail = NULL;
    s->mem_bytes -= (uint64_t)b->n * CH_ROW;
    pthread_mutex_unlock(&s->mu);
    if (post_rows(s, b->rows, b->n, e) != 0) {
        spool_write(s, b); /* its rows may be stored: the check before a resend */
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    s->st.sent_batches++;
    s->st.sent_rows += b->n;
    pthread_mutex_unlock(&s->mu);
    batch_free(b);
    return 0;
}

/* Closing with the server down (called locked, returns unlocked): what memory holds
 * goes to the spool. */
static void spool_rest(struct ch_sink *s)
{
    struct batch *rest = s->head;
    s->head = s->tail = NULL;
    s->mem_bytes = 0;
    pthread_mutex_unlock(&s->mu);
    while (rest) {
        struct batch *nx = rest->next;
        spool_write(s, rest);
        rest = nx;
    }
}

/* When the sender must look again (locked): the open batch's age limit, the retry,
 * the closing deadline, whichever comes first. */
static uint64_t next_wake(const struct ch_sink *s, uint64_t now, uint64_t retry_at)
{
    uint64_t t = retry_at > now ? retry_at : now + 1000;
    if (s->open && s->open->t0_ms + s->o.batch_ms < t)
        t = s->open->t0_ms + s->o.batch_ms;
    if (s->closing && s->deadline_ms < t)
        t = s->deadline_ms;
    return t;
}

static void *sender(void *arg)
{
    struct ch_sink *s = arg;
    uint64_t retry_at = 0, backoff = 250;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        uint64_t now = now_ms();
        struct batch *over = NULL;
        if (s->open && (s->closing || now - s->open->t0_ms >= s->o.batch_ms))
            over = hand_over(s);
        if (over) {
            pthread_mutex_unlock(&s->mu);
            spool_write(s, over);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        int idle = !s->nsp && !s->head;
        if ((idle && s->closing) || (now < retry_at && s->closing && now >= s->deadline_ms))
            break;
        if (idle || now < retry_at) {
            wait_until(s, next_wake(s, now, idle ? 0 : retry_at));
            continue;
        }
        struct fs_err e = { 0 };
        if (send_next(s, &e) == 0) {
            say_up(s);
            backoff = 250;
            retry_at = 0;
        } else {
            say_failure(s, &e);
            retry_at = now_ms() + backoff;
            backoff = backoff * 2 > 8000 ? 8000 : backoff * 2;
        }
        pthread_mutex_lock(&s->mu);
    }
    spool_rest(s);
    return NULL;
}

void ch_sink_get_stats(struct ch_sink *s, struct ch_sink_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    pthread_mutex_unlock(&s->mu);
}

int ch_sink_close(struct ch_sink *s, uint64_t wait_ms, FILE *stats)
{
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (!s->started)
        start(s);
    s->closing = 1;
    s->deadline_ms = now_ms() + wait_ms;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->th, NULL);
    struct ch_sink_stats st = s->st;
    if (stats)
        ch_sink_print_stats(stats, s);
    if (st.spool_files)
        fprintf(stderr,
                "%s: %s: %llu batches (%llu bytes) wait in the spool %s; a run with the "
                "same spool sends them\n",
                s->o.who, s->name, (unsigned long long)st.spool_files,
                (unsigned long long)st.spool_bytes, s->spool);
    if (st.lost_rows)
        fprintf(stderr, "%s: %s: %llu rows LOST (the spool was full or could not be written)\n",
                s->o.who, s->name, (unsigned long long)st.lost_rows);
    ch_http_free(s->http);
    free(s->sp);
    free(s->spool);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    return st.lost_rows ? 1 : 0;
}

void ch_sink_print_stats(FILE *out, struct ch_sink *s)
{
    if (!s)
        return;
    struct ch_sink_stats st;
    ch_sink_get_stats(s, &st);
    fprintf(out,
            "%s: sink %s: %s, rows %llu, sent %llu in %llu batches, spool %llu files (%llu bytes), "
            "spooled %llu, resent %llu (%llu rows were there), failed posts %llu, lost %llu\n",
            s->o.who, ch_sink_name(s), st.down ? "DOWN" : "up", (unsigned long long)st.rows,
            (unsigned long long)st.sent_rows, (unsigned long long)st.sent_batches,
            (unsigned long long)st.spool_files, (unsigned long long)st.spool_bytes,
            (unsigned long long)st.spooled_batches, (unsigned long long)st.resent_batches,
            (unsigned long long)st.skipped_rows, (unsigned long long)st.failures,
            (unsigned long long)st.lost_rows);
}
