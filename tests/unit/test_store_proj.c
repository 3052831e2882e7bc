/*
 * Store reader paths for queries: column projection (store_reader_columns: wanted fields
 * exact, the others zero, every codec, holes inside the decoded prefix, each column
 * alone over constant and varying byte planes), the sink
 * (store_reader_drain: every record exactly once on some thread, the window, errors in
 * file order with the rest of a bad file dropped as the sequential reader drops it, an
 * early stop), and the filter's column mask that feeds the projection.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/fields.h"
#include "core/le.h"
#include "query/filter.h"
#include "store/store.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define T0  1700000000000ULL
#define BIN 300000ULL

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every field nonzero and varied, so a field decoded wrongly or not zeroed shows. */
static void gen_flow(struct flow *f, uint64_t *s, uint64_t t0)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < nfields; i++) {
        uint8_t *p = (uint8_t *)f + fields[i].offset;
        for (size_t b = 0; b < fields[i].size; b++)
            p[b] = (uint8_t)(rnd(s) | 1);
    }
    f->last = t0 + rnd(s) % 1000;
    f->first = f->last - rnd(s) % 30000;
    f->pad_ = 0;
}

static char *mktmp(void)
{
    char *d = strdup("/tmp/test_store_proj.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rmtree(char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static void write_flows(const char *path, enum store_codec codec, const struct flow *f, size_t n)
{
    struct store_writer *w;
    struct fs_err e = { 0 };
    struct store_wopts o = { .codec = codec };
    assert_int_equal(store_writer_open(&w, path, &o, &e), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_writer_add(w, &f[i], &e), 0);
    assert_int_equal(store_writer_close(w, &e), 0);
}

static uint64_t col(const char *name)
{
    int i = field_index(name);
    assert_true(i >= 0);
    return STORE_COL(i);
}

/* Wanted fields as written, every other field zero. */
static void check_projected(const struct flow *got, const struct flow *want, uint64_t mask)
{
    for (size_t i = 0; i < nfields; i++) {
        const uint8_t *g = (const uint8_t *)got + fields[i].offset;
        const uint8_t *w = (const uint8_t *)want + fields[i].offset;
        if (mask >> i & 1) {
            assert_memory_equal(g, w, fields[i].size);
        } else {
            for (size_t b = 0; b < fields[i].size; b++)
                assert_int_equal(g[b], 0);
        }
    }
}

static void read_projected(const char *path, uint64_t mask, const struct flow *f, size_t n)
{
    struct store_reader *r;
    struct fs_err e;
    const char *paths[] = { path };
    const struct flow *x;
    size_t got = 0;
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    store_reader_columns(r, mask);
    while (store_reader_next(r, &x, &e) == 1) {
        assert_true(got < n);
        if (mask && mask != store_columns_all())
            check_projected(x, &f[got], mask);
        else
            assert_memory_equal(x, &f[got], sizeof(*x));
        got++;
    }
    assert_int_equal(got, n);
    store_reader_close(r);
}

static void test_projection(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = 2 * STORE_BLOCK_RECORDS + 777; /* a short last block: another size */
    struct flow *f = calloc(n, sizeof(*f));
    uint64_t s = 7;
    for (size_t i = 0; i < n; i++)
        gen_flow(&f[i], &s, T0);
    const uint64_t masks[] = {
        0,
        store_columns_all(),
        col("first"),                                          /* the first column alone */
        col("src") | col("bytes") | col("rpackets"),           /* holes inside the prefix */
        col("proto") | col("exchange"),                        /* the last column */
        col("first") | col("last") | col("tos") | col("vlan"), /* far apart */
    };
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/f%d.fsf", d, codec);
        write_flows(path, (enum store_codec)codec, f, n);
        for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++)
            for (int threads = 0; threads <= 2; threads += 2) {
                setenv("FS_READ_THREADS", threads ? "2" : "0", 1);
                read_projected(path, masks[m], f, n);
            }
    }
    unsetenv("FS_READ_THREADS");
    free(f);
    rmtree(d);
}

/*
 * Records whose fields have every kind of byte plane (store.h, version 2): per field,
 * chosen by seed, all random, a constant (zero or not), or a mix in one field; `bytes`
 * always a mix (byte 0 varies, byte 1 a nonzero constant, the rest zero).
 */
static void gen_planes(struct flow *f, size_t n, uint64_t seed)
{
    uint64_t kind[64], s = seed;
    for (size_t i = 0; i < nfields && i < 64; i++)
        kind[i] = rnd(&s) % 4;
    for (size_t r = 0; r < n; r++) {
        gen_flow(&f[r], &s, T0);
        for (size_t i = 0; i < nfields && i < 64; i++) {
            uint8_t *p = (uint8_t *)&f[r] + fields[i].offset;
            for (size_t b = 0; b < fields[i].size; b++)
                if (kind[i] == 1 || (kind[i] == 3 && b % 3 == 1))
                    p[b] = 0;
                else if (kind[i] == 2 || (kind[i] == 3 && b % 3 == 2))
                    p[b] = (uint8_t)(0x11 * (b + 1));
        }
        f[r].bytes = 0x4d00u | (rnd(&s) & 0xff);
    }
}

/* Each column alone, and all of them, from files with constant planes, every codec,
 * with and without decoder threads; the sink too, whose chunks start mid-block. */
static void test_projection_planes(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = 2 * STORE_BLOCK_RECORDS + 777;
    struct flow *f = calloc(n, sizeof(*f));
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++) {
        gen_planes(f, n, 11 + (uint64_t)codec);
        char path[256];
        snprintf(path, sizeof(path), "%s/p%d.fsf", d, codec);
        write_flows(path, (enum store_codec)codec, f, n);
        for (int threads = 0; threads <= 2; threads += 2) {
            setenv("FS_READ_THREADS", threads ? "2" : "0", 1);
            read_projected(path, 0, f, n);
            for (size_t i = 0; i < nfields && i < 64; i++)
                read_projected(path, STORE_COL(i), f, n);
        }
    }
    unsetenv("FS_READ_THREADS");
    free(f);
    rmtree(d);
}

static void test_columns_at(void **state)
{
    (void)state;
    assert_int_equal(store_columns_at(offsetof(struct flow, src), 16), col("src"));
    assert_int_equal(store_columns_at(offsetof(struct flow, proto), 1), col("proto"));
    /* an 8-byte load at sport spans sport, dport, vlan and minlen */
    assert_int_equal(store_columns_at(offsetof(struct flow, sport), 8),
                     col("sport") | col("dport") | col("vlan") | col("minlen"));
    assert_int_equal(store_columns_all() & col("exchange"), col("exchange"));
}

/* ---- the sink ---- */

#define MAX_THREADS 4

struct acc {
    pthread_mutex_t mu; /* only for the thread-number check below */
    uint64_t n[MAX_THREADS], bytes[MAX_THREADS];
    size_t nthreads;
    int active[MAX_THREADS]; /* a thread number in use by two calls at once is a bug */
    int overlap;
    size_t stop_after; /* calls; 0 = never */
    size_t calls;
};

static int sink(void *ctx, size_t t, const struct flow *v, size_t n)
{
    struct acc *a = ctx;
    assert_true(t < a->nthreads);
    pthread_mutex_lock(&a->mu);
    a->overlap |= a->active[t];
    a->active[t] = 1;
    size_t calls = ++a->calls;
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++) {
        a->n[t]++;
        a->bytes[t] += v[i].bytes;
    }
    pthread_mutex_lock(&a->mu);
    a->active[t] = 0;
    pthread_mutex_unlock(&a->mu);
    return a->stop_after && calls >= a->stop_after;
}

/* Drain paths with threads decoders; returns records, errors counted into *nerr. */
static uint64_t drain(const char *const *paths, size_t np, const struct store_ropts *o,
                      const char *threads, struct acc *a, int *nerr, char *first_err)
{
    struct store_reader *r;
    struct fs_err e;
    int rc;
    setenv("FS_READ_THREADS", threads, 1);
    assert_int_equal(store_reader_open(&r, paths, np, o, &e), 0);
    unsetenv("FS_READ_THREADS");
    a->nthreads = store_reader_threads(r);
    assert_true(a->nthreads <= MAX_THREADS);
    store_reader_columns(r, col("bytes"));
    *nerr = 0;
    while ((rc = store_reader_drain(r, sink, a, &e)) != 0) {
        assert_true(rc < 0);
        if (!*nerr && first_err)
            snprintf(first_err, 256, "%s", e.msg);
        (*nerr)++;
    }
    store_reader_close(r);
    assert_int_equal(a->overlap, 0);
    uint64_t n = 0;
    for (size_t t = 0; t < a->nthreads; t++)
        n += a->n[t];
    return n;
}

/* Sequential count and byte sum, for comparison. */
static uint64_t seq_count(const char *const *paths, size_t np, const struct store_ropts *o,
                          uint64_t *bytes)
{
    struct store_reader *r;
    struct fs_err e;
    const struct flow *x;
    uint64_t n = 0;
    int rc;
    *bytes = 0;
    assert_int_equal(store_reader_open(&r, paths, np, o, &e), 0);
    while ((rc = store_reader_next(r, &x, &e)) != 0)
        if (rc > 0) {
            n++;
            *bytes += x->bytes;
        }
    store_reader_close(r);
    return n;
}

static void test_drain_all(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = 5 * STORE_BLOCK_RECORDS + 100;
    struct flow *f = calloc(n, sizeof(*f));
    uint64_t s = 3, want_bytes = 0;
    for (size_t i = 0; i < n; i++) { /* several bins, so several files */
        gen_flow(&f[i], &s, T0 - T0 % BIN + (i % 3) * BIN);
        want_bytes += f[i].bytes;
    }
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/", d);
    write_flows(dir, STORE_LZ4, f, n);
    const char *paths[] = { d };
    const char *threads[] = { "0", "1", "3" };
    for (size_t k = 0; k < 3; k++) {
        for (int rep = 0; rep < 5; rep++) {
            struct acc a = { .mu = PTHREAD_MUTEX_INITIALIZER };
            int nerr;
            assert_int_equal(drain(paths, 1, NULL, threads[k], &a, &nerr, NULL), n);
            assert_int_equal(nerr, 0);
            uint64_t b = 0;
            for (size_t t = 0; t < a.nthreads; t++)
                b += a.bytes[t];
            assert_true(b == want_bytes);
        }
    }
    /* A window: as many records as the sequential reader returns. */
    struct store_ropts o = { T0 - T0 % BIN + BIN, T0 - T0 % BIN + BIN + 500 };
    uint64_t sb, sn = seq_count(paths, 1, &o, &sb);
    assert_true(sn > 0 && sn < n);
    struct acc a = { .mu = PTHREAD_MUTEX_INITIALIZER };
    int nerr;
    assert_int_equal(drain(paths, 1, &o, "3", &a, &nerr, NULL), sn);
    free(f);
    rmtree(d);
}

/* The sink over blocks with constant planes (`bytes` a mix of kinds): every record's
 * bytes once, on any number of threads. */
static void test_drain_planes(void **state)
{
    (void)state;
    char *d = mktmp(), path[256];
    size_t n = 3 * STORE_BLOCK_RECORDS + 1;
    struct flow *f = calloc(n, sizeof(*f));
    gen_planes(f, n, 5);
    uint64_t want_bytes = 0;
    for (size_t i = 0; i < n; i++)
        want_bytes += f[i].bytes;
    snprintf(path, sizeof(path), "%s/d.fsf", d);
    write_flows(path, STORE_LZ4, f, n);
    const char *paths[] = { path }, *threads[] = { "0", "3" };
    for (size_t k = 0; k < 2; k++) {
        struct acc a = { .mu = PTHREAD_MUTEX_INITIALIZER };
        int nerr;
        assert_int_equal(drain(paths, 1, NULL, threads[k], &a, &nerr, NULL), n);
        assert_int_equal(nerr, 0);
        uint64_t b = 0;
        for (size_t t = 0; t < a.nthreads; t++)
            b += a.bytes[t];
        assert_true(b == want_bytes);
    }
    free(f);
    rmtree(d);
}

/* A bad block in the middle of a file: skipped, the blocks before and after it count. */
static void test_drain_bad_block(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = (size_t)4 * STORE_BLOCK_RECORDS;
    struct flow *f = calloc(n, sizeof(*f));
    uint64_t s = 5;
    for (size_t i = 0; i < n; i++)
        gen_flow(&f[i], &s, T0);
    char a1[256], a2[256];
    snprintf(a1, sizeof(a1), "%s/a.fsf", d);
    snprintf(a2, sizeof(a2), "%s/b.fsf", d);
    write_flows(a1, STORE_LZ4, f, n);
    write_flows(a2, STORE_LZ4, f, n / 2);
    FILE *fp = fopen(a1, "r+b");
    assert_non_null(fp);
    uint8_t h[40];
    assert_int_equal(fseek(fp, 64, SEEK_SET), 0);
    assert_int_equal(fread(h, 1, 40, fp), 40);
    long blk2 = 64 + 40 + (long)get_le32(h + 12);
    assert_int_equal(fseek(fp, blk2 + 40 + 9, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, blk2 + 40 + 9, SEEK_SET), 0);
    fputc(c ^ 0x20, fp);
    fclose(fp);
    const char *paths[] = { a1, a2 };
    uint64_t sb, sn = seq_count(paths, 2, NULL, &sb);
    assert_int_equal(sn, n - STORE_BLOCK_RECORDS + n / 2);
    for (int rep = 0; rep < 20; rep++) {
        struct acc a = { .mu = PTHREAD_MUTEX_INITIALIZER };
        int nerr;
        char msg[256] = "";
        assert_int_equal(drain(paths, 2, NULL, rep % 2 ? "3" : "1", &a, &nerr, msg), sn);
        assert_int_equal(nerr, 1);
        assert_non_null(strstr(msg, "block 1 at offset"));
        uint64_t b = 0;
        for (size_t t = 0; t < a.nthreads; t++)
            b += a.bytes[t];
        assert_true(b == sb);
    }
    free(f);
    rmtree(d);
}

static void test_drain_stop(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = (size_t)6 * STORE_BLOCK_RECORDS;
    struct flow *f = calloc(n, sizeof(*f));
    uint64_t s = 9;
    for (size_t i = 0; i < n; i++)
        gen_flow(&f[i], &s, T0);
    char p[256];
    snprintf(p, sizeof(p), "%s/a.fsf", d);
    write_flows(p, STORE_LZ4, f, n);
    const char *paths[] = { p };
    struct acc a = { .mu = PTHREAD_MUTEX_INITIALIZER, .stop_after = 1 };
    int nerr;
    uint64_t got = drain(paths, 1, NULL, "3", &a, &nerr, NULL);
    assert_true(got > 0 && got < n);
    assert_int_equal(nerr, 0);
    free(f);
    rmtree(d);
}

/* ---- the filter's columns ---- */

static uint64_t fcols(const char *text)
{
    struct filter *flt;
    struct fs_err e = { 0 };
    assert_int_equal(filter_compile(text, &flt, &e), 0);
    uint64_t m = filter_columns(flt);
    filter_free(flt);
    return m;
}

static void test_filter_columns(void **state)
{
    (void)state;
    assert_int_equal(fcols(""), 0);
    assert_int_equal(fcols("any"), 0);
    assert_int_equal(fcols("proto tcp and dst port 22"), col("proto") | col("dport"));
    assert_int_equal(fcols("src ip 10.0.0.1"), col("src") | col("ipver"));
    assert_int_equal(fcols("duration > 10s"), col("first") | col("last"));
    assert_int_equal(fcols("rpayload > 1000000 or exchange > 0"),
                     col("rpayload") | col("exchange"));
    assert_true(fcols("flags S") & col("flags"));
    assert_true(fcols("port 443") == (col("sport") | col("dport")));
    /* whatever a filter reads, the projected record must give it the same answer */
    const char *const texts[] = { "proto tcp and dst port 22",
                                  "src ip 10.0.0.1",
                                  "not flags A",
                                  "bytes > 1M or packets < 3",
                                  "net 10.0.0.0/8 and duration > 1s",
                                  "tos = 3" };
    uint64_t s = 17;
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        struct filter *flt;
        struct fs_err e = { 0 };
        assert_int_equal(filter_compile(texts[t], &flt, &e), 0);
        uint64_t m = filter_columns(flt);
        for (int i = 0; i < 200; i++) {
            struct flow a, b;
            gen_flow(&a, &s, T0);
            a.src[0] = (uint8_t)(i & 1 ? 10 : 11);
            memset(&b, 0, sizeof(b));
            for (size_t k = 0; k < nfields; k++)
                if (m >> k & 1)
                    memcpy((uint8_t *)&b + fields[k].offset, (uint8_t *)&a + fields[k].offset,
                           fields[k].size);
            assert_int_equal(filter_match(flt, &a), filter_match(flt, &b));
        }
        filter_free(flt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection),        cmocka_unit_test(test_columns_at),
        cmocka_unit_test(test_drain_all),         cmocka_unit_test(test_drain_bad_block),
        cmocka_unit_test(test_drain_stop),        cmocka_unit_test(test_filter_columns),
        cmocka_unit_test(test_projection_planes), cmocka_unit_test(test_drain_planes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
