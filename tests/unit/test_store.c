/*
 * Store tests: round trips through every codec and mode (file, folder, stream), window
 * pruning at file, block and record level, hostile input (truncation at every byte,
 * flipped bytes, wrong magic/version, fewer columns than we know), version 2's constant
 * planes (every kind in one field, 1-record blocks, hostile plane maps and lengths) and
 * version 1 files built by hand.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "skip.h"

#include "core/fields.h"
#include "core/le.h"
#include "store/store.h"
#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0  1700000000000ULL /* 2023-11-14 22:13:20 UTC */
#define BIN 300000ULL

/* ---- helpers ---- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A plausible flow: few hosts, small counters, `last` within span after t0. */
static void gen_flow(struct flow *f, uint64_t *s, uint64_t t0, uint64_t span)
{
    memset(f, 0, sizeof(*f));
    uint8_t a[4] = { 10, 0, (uint8_t)(rnd(s) % 4), (uint8_t)rnd(s) };
    uint8_t b[4] = { 192, 168, 1, (uint8_t)(rnd(s) % 32) };
    flow_addr_from_v4(f->src, a);
    flow_addr_from_v4(f->dst, b);
    f->last = t0 + rnd(s) % span;
    f->first = f->last - rnd(s) % 30000;
    f->sport = (uint16_t)(32768 + rnd(s) % 28000);
    f->dport = (uint16_t)(rnd(s) % 3 ? 443 : 53);
    f->proto = f->dport == 53 ? 17 : 6;
    f->ipver = 4;
    f->packets = 1 + rnd(s) % 40;
    f->bytes = f->packets * (40 + rnd(s) % 1400);
    f->rpackets = rnd(s) % 60;
    f->rbytes = f->rpackets * (40 + rnd(s) % 1400);
    f->payload = f->bytes / 2;
    f->rpayload = f->rbytes / 2;
    f->flags = (uint8_t)rnd(s);
    f->minlen = 40;
    f->maxlen = (uint16_t)(40 + rnd(s) % 1460);
    f->exchange = (uint32_t)(rnd(s) % 3);
}

static char *mktmp(void)
{
    char *d = strdup("/tmp/test_store.XXXXXX");
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

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void write_flows(const char *path, const struct store_wopts *o, const struct flow *f,
                        size_t n)
{
    struct store_writer *w;
    struct fs_err e = { 0 };
    assert_int_equal(store_writer_open(&w, path, o, &e), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_writer_add(w, &f[i], &e), 0);
    assert_int_equal(store_writer_close(w, &e), 0);
}

/* Read every record of paths; returns the count, errors counted into *nerr. */
static size_t read_all(const char *const *paths, size_t np, const struct store_ropts *o,
                       struct flow *out, size_t cap, int *nerr, struct store_rstats *st)
{
    struct store_reader *r;
    struct fs_err e;
    size_t n = 0;
    int rc;
    const struct flow *f;
    *nerr = 0;
    assert_int_equal(store_reader_open(&r, paths, np, o, &e), 0);
    while ((rc = store_reader_next(r, &f, &e)) != 0) {
        if (rc < 0) {
            (*nerr)++;
            assert_non_null(strstr(e.msg, ":"));
            continue;
        }
        if (n < cap)
            out[n] = *f;
        n++;
    }
    if (st)
        store_reader_stats(r, st);
    store_reader_close(r);
    return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    rewind(fp);
    uint8_t *b = malloc(*len ? *len : 1);
    assert_int_equal(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void spill(const char *path, const uint8_t *b, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

struct collect {
    const struct flow *want;
    size_t n, cap, bad;
};

/* store_decode_buf callback: count, and compare with the expected records. */
static int collect_cb(void *ctx, const struct flow *f)
{
    struct collect *c = ctx;
    if (c->n >= c->cap || memcmp(&c->want[c->n], f, sizeof(*f)) != 0)
        c->bad++;
    c->n++;
    return 0;
}

static size_t count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

/* ---- basics ---- */

static void test_codec_parse(void **state)
{
    (void)state;
    enum store_codec c;
    int lvl;
    assert_int_equal(store_codec_parse("lz4", &c, &lvl), 0);
    assert_int_equal(c, STORE_LZ4);
    assert_int_equal(store_codec_parse("none", &c, &lvl), 0);
    assert_int_equal(c, STORE_NONE);
    assert_int_equal(store_codec_parse("zstd:19", &c, &lvl), 0);
    assert_int_equal(c, STORE_ZSTD);
    assert_int_equal(lvl, 19);
    assert_int_equal(store_codec_parse("zstd", &c, &lvl), 0);
    assert_int_equal(lvl, 0);
    const char *bad[] = { "", "lz5", "zstd:", "zstd:x", "zstd:99", "zstd:3x", "lz4:1", "ZSTD" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(store_codec_parse(bad[i], &c, &lvl), FS_EINVAL);
}

static void test_crc_and_names(void **state)
{
    (void)state;
    assert_int_equal(store_crc32(0, "123456789", 9), 0xcbf43926u);
    uint32_t part = store_crc32(store_crc32(0, "1234", 4), "56789", 5);
    assert_int_equal(part, 0xcbf43926u);
    char buf[64];
    store_bin_name(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970/01/01/flows.197001010000");
    store_bin_name(T0 - T0 % BIN, buf, sizeof(buf));
    assert_string_equal(buf, "2023/11/14/flows.202311142210");
}

/* ---- round trips ---- */

static void roundtrip_file(enum store_codec codec)
{
    char *d = mktmp(), *path = join(d, "out.flows");
    size_t n = 3 * STORE_BLOCK_RECORDS + 17;
    struct flow *f = calloc(n, sizeof(*f)), *got = calloc(n, sizeof(*f));
    uint64_t s = 42 + codec;
    for (size_t i = 0; i < n; i++)
        gen_flow(&f[i], &s, T0, 3600000);
    struct store_wopts o = { .codec = codec };
    write_flows(path, &o, f, n);
    assert_int_equal(count_entries(d, "."), 2); /* "." and "..": no temp file left */

    int nerr;
    struct store_rstats st;
    const char *paths[] = { path };
    assert_int_equal(read_all(paths, 1, NULL, got, n, &nerr, &st), n);
    assert_int_equal(nerr, 0);
    assert_memory_equal(got, f, n * sizeof(*f));
    assert_int_equal(st.blocks_read, 4);
    assert_int_equal(st.records, n);

    size_t len;
    uint8_t *buf = slurp(path, &len);
    assert_int_equal(buf[6], codec);
    struct collect c = { f, 0, n, 0 };
    assert_int_equal(store_decode_buf(buf, len, collect_cb, &c, NULL), 0);
    assert_int_equal(c.n, n);
    assert_int_equal(c.bad, 0);
    free(buf);
    free(f);
    free(got);
    free(path);
    rmtree(d);
}

static void test_roundtrip_none(void **state)
{
    (void)state;
    roundtrip_file(STORE_NONE);
}

static void test_roundtrip_lz4(void **state)
{
    (void)state;
    roundtrip_file(STORE_LZ4);
}

static void test_roundtrip_zstd(void **state)
{
    (void)state;
    roundtrip_file(STORE_ZSTD);
}

static void test_empty_and_bad_open(void **state)
{
    (void)state;
    char *d = mktmp(), *path = join(d, "empty.flows"), *nodir = join(d, "no/such/file");
    write_flows(path, NULL, NULL, 0);
    int nerr;
    const char *paths[] = { path };
    assert_int_equal(read_all(paths, 1, NULL, NULL, 0, &nerr, NULL), 0);
    assert_int_equal(nerr, 0);

    struct store_writer *w;
    struct fs_err e;
    assert_int_equal(store_writer_open(&w, nodir, NULL, &e), -ENOENT);
    assert_null(w);
    assert_non_null(strstr(e.msg, "no/such"));
    struct store_wopts o = { .codec = STORE_LZ4, .bin_secs = 90 };
    assert_int_equal(store_writer_open(&w, d, &o, &e), FS_EINVAL);

    struct store_reader *r;
    const char *missing[] = { nodir };
    assert_int_equal(store_reader_open(&r, missing, 1, NULL, &e), -ENOENT);
    assert_null(r);
    free(path);
    free(nodir);
    rmtree(d);
}

/* Sort key for comparing record sets regardless of order. */
static int flow_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct flow));
}

static void test_folder(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = 20000;
    struct flow *f = calloc(n + 1, sizeof(*f)), *got = calloc(n + 1, sizeof(*f));
    uint64_t s = 7;
    /* Mostly in time order over 8 bins, with 1 in 50 up to 3 bins late. */
    for (size_t i = 0; i < n; i++) {
        uint64_t t = T0 + i * (8 * BIN) / n;
        gen_flow(&f[i], &s, t, 1000);
        if (i % 50 == 0 && t > T0 + 3 * BIN)
            f[i].last -= (1 + rnd(&s) % 3) * BIN;
        if (f[i].first > f[i].last)
            f[i].first = f[i].last;
    }
    /* Seven bins later a record for the first: that bin was closed long ago. */
    f[n] = f[0];
    f[n].sport = 1;
    n++;
    struct store_wopts o = { .codec = STORE_LZ4 };
    write_flows(d, &o, f, n);

    char rel[64], *first = NULL;
    store_bin_name(f[0].last - f[0].last % BIN, rel, sizeof(rel));
    first = join(d, rel);
    char *late = malloc(strlen(first) + 4);
    snprintf(late, strlen(first) + 4, "%s.1", first);
    assert_int_equal(access(first, F_OK), 0);
    assert_int_equal(access(late, F_OK), 0);

    int nerr;
    const char *paths[] = { d };
    assert_int_equal(read_all(paths, 1, NULL, got, n, &nerr, NULL), n);
    assert_int_equal(nerr, 0);
    /* Time order: the bin of each record never goes back. */
    for (size_t i = 1; i < n; i++)
        assert_true(got[i].last / BIN >= got[i - 1].last / BIN);
    qsort(f, n, sizeof(*f), flow_cmp);
    qsort(got, n, sizeof(*f), flow_cmp);
    assert_memory_equal(got, f, n * sizeof(*f));

    /* A second writer on the same bins adds files, overwriting none. */
    write_flows(d, &o, f, 10);
    assert_int_equal(read_all(paths, 1, NULL, NULL, 0, &nerr, NULL), n + 10);
    free(first);
    free(late);
    free(f);
    free(got);
    rmtree(d);
}

/* ---- stream mode ---- */

/* Run a stream writer with stdout sent to fd; returns its close code. */
static int write_stream_to(int fd, const struct flow *f, size_t n, struct fs_err *e)
{
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    struct store_writer *w;
    struct store_wopts o = { .codec = STORE_ZSTD, .level = 1 };
    int rc = store_writer_open(&w, "-", &o, e);
    for (size_t i = 0; !rc && i < n; i++)
        rc = store_writer_add(w, &f[i], e);
    int crc = store_writer_close(w, e);
    fflush(stdout);
    clearerr(stdout);
    dup2(saved, 1);
    close(saved);
    return rc ? rc : crc;
}

static void test_stream(void **state)
{
    (void)state;
    char *d = mktmp(), *path = join(d, "stream");
    size_t n = STORE_BLOCK_RECORDS + 5;
    struct flow *f = calloc(n, sizeof(*f)), *got = calloc(n, sizeof(*f));
    uint64_t s = 9;
    for (size_t i = 0; i < n; i++)
        gen_flow(&f[i], &s, T0, 60000);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    struct fs_err e;
    assert_int_equal(write_stream_to(fd, f, n, &e), 0);
    close(fd);

    size_t len;
    uint8_t *buf = slurp(path, &len);
    assert_int_equal(buf[7], STORE_FLAG_STREAM);
    assert_int_equal(get_le64(buf + 28), 0); /* counts unknown */
    struct collect c = { f, 0, n, 0 };
    assert_int_equal(store_decode_buf(buf, len, collect_cb, &c, NULL), 0);
    assert_int_equal(c.n, n);
    assert_int_equal(c.bad, 0);

    /* And through stdin; a window on a stream drops records, never files. */
    fd = open(path, O_RDONLY);
    int saved = dup(0);
    dup2(fd, 0);
    close(fd);
    int nerr;
    const char *paths[] = { "-" };
    struct store_ropts o = { .from_ms = T0 + 30000 };
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += f[i].last >= o.from_ms;
    assert_int_equal(read_all(paths, 1, &o, got, n, &nerr, NULL), want);
    assert_int_equal(nerr, 0);
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    free(buf);
    free(f);
    free(got);
    free(path);
    rmtree(d);
}

static void test_stream_enospc(void **state)
{
    (void)state;
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        FS_SKIP("cannot open /dev/full");
    struct flow f[64];
    uint64_t s = 3;
    for (size_t i = 0; i < 64; i++)
        gen_flow(&f[i], &s, T0, 1000);
    struct fs_err e = { 0 };
    assert_int_equal(write_stream_to(fd, f, 64, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "stdout"));
    close(fd);
}

/* ---- windows ---- */

static void test_window(void **state)
{
    (void)state;
    char *d = mktmp(), *file = join(d, "one.flows"), *dir = join(d, "store/");
    size_t n = (size_t)8 * STORE_BLOCK_RECORDS;
    struct flow *f = calloc(n, sizeof(*f)), *got = calloc(n, sizeof(*f));
    uint64_t s = 11;
    /* Sorted by time, 12 bins over an hour: block i covers a known span. */
    for (size_t i = 0; i < n; i++) {
        gen_flow(&f[i], &s, T0 + i * (12 * BIN) / n, 1);
        f[i].first = f[i].last - (i % 7) * 1000;
    }
    struct store_wopts o = { .codec = STORE_LZ4 };
    write_flows(file, &o, f, n);
    write_flows(dir, &o, f, n);
    struct store_ropts win = { .from_ms = T0 + 4 * BIN + 1234, .to_ms = T0 + 6 * BIN + 77 };
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += !(f[i].last < win.from_ms || f[i].first >= win.to_ms);
    assert_true(want > 0 && want < n);

    int nerr;
    struct store_rstats st;
    const char *p1[] = { file }, *p2[] = { dir };
    assert_int_equal(read_all(p1, 1, &win, got, n, &nerr, &st), want);
    assert_int_equal(nerr, 0);
    assert_true(st.blocks_skipped >= 5);
    assert_int_equal(st.blocks_skipped + st.blocks_read, 8);
    for (size_t i = 0; i < want; i++)
        assert_false(got[i].last < win.from_ms || got[i].first >= win.to_ms);

    assert_int_equal(read_all(p2, 1, &win, got, n, &nerr, &st), want);
    assert_int_equal(nerr, 0);
    uint64_t nbins = f[n - 1].last / BIN - f[0].last / BIN + 1;
    assert_int_equal(st.files_opened + st.files_skipped, nbins);
    assert_true(st.files_opened <= 4);
    /* A window after everything reads nothing and opens only the last day's headers. */
    struct store_ropts late = { .from_ms = T0 + 30 * 86400000ULL };
    assert_int_equal(read_all(p2, 1, &late, got, n, &nerr, &st), 0);
    assert_int_equal(st.files_opened, 0);
    free(f);
    free(got);
    free(file);
    free(dir);
    rmtree(d);
}

/* ---- hostile input ---- */

/* A small one-block file of n records in buf; returns its length. */
static uint8_t *small_file(const char *dir, enum store_codec codec, struct flow *f, size_t n,
                           size_t *len)
{
    char *path = join(dir, "small.flows");
    uint64_t s = 5 + codec;
    for (size_t i = 0; i < n; i++)
        gen_flow(&f[i], &s, T0, 60000);
    struct store_wopts o = { .codec = codec };
    write_flows(path, &o, f, n);
    uint8_t *b = slurp(path, len);
    unlink(path);
    free(path);
    return b;
}

static void test_truncation(void **state)
{
    (void)state;
    char *d = mktmp(), *path = join(d, "cut.flows");
    struct flow f[40];
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++) {
        size_t len;
        uint8_t *b = small_file(d, codec, f, 40, &len);
        for (size_t cut = 0; cut < len; cut++) {
            struct collect c = { f, 0, 40, 0 };
            struct fs_err e = { 0 };
            int rc = store_decode_buf(b, cut, collect_cb, &c, &e);
            assert_true(rc == FS_ETRUNC || rc == FS_EFORMAT);
            assert_int_equal(c.bad, 0);
            assert_true(e.msg[0] != '\0');
            if (cut % 7 && cut + 45 < len)
                continue; /* the file reader at a sample of cuts and all the tail */
            spill(path, b, cut);
            int nerr;
            const char *paths[] = { path };
            size_t got = read_all(paths, 1, NULL, NULL, 0, &nerr, NULL);
            assert_int_equal(nerr, 1);
            assert_int_equal(got, cut >= len - STORE_BHDR_LEN ? 40 : 0);
        }
        free(b);
    }
    free(path);
    rmtree(d);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    char *d = mktmp();
    struct flow f[30];
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++) {
        size_t len;
        uint8_t *b = small_file(d, codec, f, 30, &len);
        for (size_t i = 0; i < len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                b[i] ^= (uint8_t)(1 << bit);
                struct collect c = { f, 0, 30, 0 };
                int rc = store_decode_buf(b, len, collect_cb, &c, NULL);
                /* Either an error, or exactly the records written. */
                assert_int_equal(c.bad, 0);
                if (rc == 0)
                    assert_int_equal(c.n, 30);
                else
                    assert_true(rc < 0);
                b[i] ^= (uint8_t)(1 << bit);
            }
        }
        free(b);
    }
    rmtree(d);
}

/* Re-seal a modified header so that only the field under test is wrong. */
static void reseal(uint8_t *b)
{
    put_le32(b + 60, store_crc32(0, b, 60));
}

static void test_magic_version(void **state)
{
    (void)state;
    char *d = mktmp();
    struct flow f[4];
    size_t len;
    uint8_t *b = small_file(d, STORE_LZ4, f, 4, &len);
    struct collect c = { f, 0, 4, 0 };
    struct fs_err e;
    b[0] = 'X';
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), FS_EFORMAT);
    b[0] = 'F';
    put_le16(b + 4, STORE_VERSION + 1);
    reseal(b);
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), FS_EVERSION);
    assert_non_null(strstr(e.msg, "version 4"));
    put_le16(b + 4, 0);
    reseal(b);
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), FS_EVERSION);
    put_le16(b + 4, 2);
    put_le32(b + 52, (uint32_t)nfields + 1);
    reseal(b);
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), FS_EVERSION);
    put_le32(b + 52, (uint32_t)nfields);
    b[7] = 0x80;
    reseal(b);
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), FS_EUNSUP);
    b[7] = 0;
    reseal(b);
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.bad, 0);
    /* Header counts must match the blocks. */
    put_le64(b + 28, 5);
    reseal(b);
    assert_int_equal(store_decode_buf(b, len, collect_cb, &c, &e), FS_ECORRUPT);
    assert_non_null(strstr(e.msg, "header says"));
    free(b);
    rmtree(d);
}

/* An older writer with only the first k columns: the rest reads as zero. */
static void test_missing_columns(void **state)
{
    (void)state;
    const uint32_t k = 9; /* up to packets */
    struct flow f[100];
    uint64_t s = 77;
    for (size_t i = 0; i < 100; i++)
        gen_flow(&f[i], &s, T0, 60000);
    size_t rb = store_record_bytes(k), full = store_record_bytes((uint32_t)nfields);
    uint8_t *raw = malloc(100 * full), *file = malloc(64 + 40 + 100 * rb + 40);
    store_shuffle(f, 100, NULL, raw); /* columns in table order: the first k are a prefix */
    struct store_hdr h = { .version = 1,
                           .codec = STORE_NONE,
                           .header_len = 64,
                           .nblocks = 1,
                           .nrecords = 100,
                           .first_min_ms = 0,
                           .last_max_ms = UINT64_MAX,
                           .ncolumns = k };
    store_hdr_encode(file, &h);
    struct store_bhdr b = { .nrecords = 100,
                            .raw_len = (uint32_t)(100 * rb),
                            .comp_len = (uint32_t)(100 * rb),
                            .codec = STORE_NONE,
                            .last_max_ms = UINT64_MAX,
                            .crc = store_crc32(0, raw, 100 * rb) };
    store_bhdr_encode(file + 64, &b);
    memcpy(file + 104, raw, 100 * rb);
    struct store_bhdr end = { 0 };
    store_bhdr_encode(file + 104 + 100 * rb, &end);

    struct flow want[100];
    memset(want, 0, sizeof(want));
    for (size_t i = 0; i < 100; i++)
        for (uint32_t j = 0; j < k; j++)
            memcpy((uint8_t *)&want[i] + fields[j].offset, (uint8_t *)&f[i] + fields[j].offset,
                   fields[j].size);
    struct collect c = { want, 0, 100, 0 };
    assert_int_equal(store_decode_buf(file, 144 + 100 * rb, collect_cb, &c, NULL), 0);
    assert_int_equal(c.n, 100);
    assert_int_equal(c.bad, 0);
    free(raw);
    free(file);
}

/* ---- version 2: constant planes ---- */

/*
 * Records whose `bytes` field has all three kinds of plane: byte 0 varies, byte 1 is a
 * nonzero constant, bytes 2-7 are zero; `exporter` is one constant nonzero address,
 * `vlan` a constant, `packets` varies only in its high byte.
 */
static void gen_planes(struct flow *f, size_t n, uint64_t seed)
{
    uint8_t ex[4] = { 192, 0, 2, 1 };
    for (size_t i = 0; i < n; i++) {
        gen_flow(&f[i], &seed, T0, 60000);
        f[i].bytes = 0x5a00u | (rnd(&seed) & 0xff);
        flow_addr_from_v4(f[i].exporter, ex);
        f[i].vlan = 7;
        f[i].packets = (uint64_t)(rnd(&seed) % 3) << 56 | 1;
    }
}

/* Walk the blocks of a file in memory: count them, and the 1-record blocks' headers
 * must say that nothing is stored (raw_len 0, codec NONE, map and constants only). */
static size_t check_blocks(const uint8_t *b, size_t len)
{
    size_t off = STORE_HDR_LEN, nblk = 0, rb = store_record_bytes((uint32_t)nfields);
    assert_int_equal(get_le16(b + 4), STORE_VERSION);
    for (;;) {
        assert_true(off + STORE_BHDR_LEN <= len);
        uint32_t nrec = get_le32(b + off + 4), raw = get_le32(b + off + 8),
                 comp = get_le32(b + off + 12);
        if (nrec == 0)
            break;
        assert_int_equal(raw % nrec, 0);
        if (nrec == 1) {
            assert_int_equal(raw, 0);
            assert_int_equal(b[off + 16], STORE_NONE);
            assert_int_equal(comp, STORE_MAP_LEN(rb) + rb);
        }
        off += STORE_BHDR_LEN + comp;
        nblk++;
    }
    return nblk;
}

/* Files of every codec with constant-zero, constant-nonzero and varying planes in one
 * field, full blocks and a 1-record last block, read by every path. */
static void test_v2_planes(void **state)
{
    (void)state;
    char *d = mktmp(), *path = join(d, "v2.flows");
    const size_t counts[] = { 1, 2 * STORE_BLOCK_RECORDS + 1 };
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++)
        for (size_t k = 0; k < 2; k++) {
            size_t n = counts[k];
            struct flow *f = calloc(n, sizeof(*f)), *got = calloc(n, sizeof(*f));
            gen_planes(f, n, 100 + (uint64_t)codec);
            struct store_wopts o = { .codec = (enum store_codec)codec };
            write_flows(path, &o, f, n);
            size_t len;
            uint8_t *buf = slurp(path, &len);
            assert_int_equal(check_blocks(buf, len),
                             (n + STORE_BLOCK_RECORDS - 1) / STORE_BLOCK_RECORDS);
            struct collect c = { f, 0, n, 0 };
            assert_int_equal(store_decode_buf(buf, len, collect_cb, &c, NULL), 0);
            assert_int_equal(c.n, n);
            assert_int_equal(c.bad, 0);
            for (int threads = 0; threads <= 3; threads += 3) {
                setenv("FS_READ_THREADS", threads ? "3" : "0", 1);
                int nerr;
                const char *paths[] = { path };
                memset(got, 0, n * sizeof(*got));
                assert_int_equal(read_all(paths, 1, NULL, got, n, &nerr, NULL), n);
                assert_int_equal(nerr, 0);
                assert_memory_equal(got, f, n * sizeof(*f));
            }
            unsetenv("FS_READ_THREADS");
            free(buf);
            free(f);
            free(got);
        }
    free(path);
    rmtree(d);
}

/* A version 1 file of n records in the old layout (every plane stored, the payload
 * all codec), blocks of STORE_BLOCK_RECORDS, into file; returns its length. */
static size_t v1_file(const struct flow *f, size_t n, enum store_codec codec, uint8_t *file)
{
    size_t rb = store_record_bytes((uint32_t)nfields);
    size_t cap = store_comp_bound(STORE_BLOCK_RECORDS * rb);
    uint8_t *raw = malloc(STORE_BLOCK_RECORDS * rb);
    struct store_hdr h = { .version = 1,
                           .codec = (uint8_t)codec,
                           .header_len = STORE_HDR_LEN,
                           .nblocks =
                               (uint32_t)((n + STORE_BLOCK_RECORDS - 1) / STORE_BLOCK_RECORDS),
                           .nrecords = n,
                           .last_max_ms = UINT64_MAX,
                           .ncolumns = (uint32_t)nfields };
    store_hdr_encode(file, &h);
    size_t off = STORE_HDR_LEN;
    void *cctx = NULL;
    for (size_t r0 = 0; r0 < n; r0 += STORE_BLOCK_RECORDS) {
        size_t m = n - r0 < STORE_BLOCK_RECORDS ? n - r0 : STORE_BLOCK_RECORDS;
        store_shuffle(f + r0, m, NULL, raw);
        struct store_bhdr b = { .nrecords = (uint32_t)m,
                                .raw_len = (uint32_t)(m * rb),
                                .codec = (uint8_t)codec,
                                .last_max_ms = UINT64_MAX };
        long long c =
            store_compress(codec, 0, &cctx, raw, b.raw_len, file + off + STORE_BHDR_LEN, cap);
        assert_true(c > 0);
        b.comp_len = (uint32_t)c;
        b.crc = store_crc32(0, file + off + STORE_BHDR_LEN, b.comp_len);
        store_bhdr_encode(file + off, &b);
        off += STORE_BHDR_LEN + b.comp_len;
    }
    store_codec_free(cctx, NULL);
    struct store_bhdr end = { 0 };
    store_bhdr_encode(file + off, &end);
    free(raw);
    return off + STORE_BHDR_LEN;
}

/* Read path with the `bytes` column alone: it exact, `first` and `packets` zero. */
static void read_bytes_only(const char *path, const struct flow *f, size_t n)
{
    struct store_reader *r;
    struct fs_err e;
    const struct flow *x;
    const char *paths[] = { path };
    size_t i = 0;
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    store_reader_columns(r, STORE_COL(field_index("bytes")));
    while (store_reader_next(r, &x, &e) == 1) {
        assert_true(i < n);
        assert_int_equal(x->bytes, f[i].bytes);
        assert_int_equal(x->first, 0);
        assert_int_equal(x->packets, 0);
        i++;
    }
    assert_int_equal(i, n);
    store_reader_close(r);
}

/* Version 1 files built by hand, two blocks of each codec, read by the file reader,
 * store_decode_buf and a projection. */
static void test_v1_file(void **state)
{
    (void)state;
    char *d = mktmp(), *path = join(d, "v1.flows");
    size_t n = STORE_BLOCK_RECORDS + 100, rb = store_record_bytes((uint32_t)nfields);
    struct flow *f = calloc(n, sizeof(*f)), *got = calloc(n, sizeof(*f));
    uint8_t *file =
        malloc(STORE_HDR_LEN + 3 * STORE_BHDR_LEN + 2 * store_comp_bound(STORE_BLOCK_RECORDS * rb));
    gen_planes(f, n, 31);
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++) {
        size_t len = v1_file(f, n, (enum store_codec)codec, file);
        assert_int_equal(get_le16(file + 4), 1);
        spill(path, file, len);
        struct collect c = { f, 0, n, 0 };
        assert_int_equal(store_decode_buf(file, len, collect_cb, &c, NULL), 0);
        assert_int_equal(c.n, n);
        assert_int_equal(c.bad, 0);
        int nerr;
        const char *paths[] = { path };
        assert_int_equal(read_all(paths, 1, NULL, got, n, &nerr, NULL), n);
        assert_int_equal(nerr, 0);
        assert_memory_equal(got, f, n * sizeof(*f));
        read_bytes_only(path, f, n);
    }
    free(file);
    free(f);
    free(got);
    free(path);
    rmtree(d);
}

/* A one-block v2 file of n gen_planes records written with codec. */
static uint8_t *v2_file(enum store_codec codec, size_t n, size_t *len)
{
    char *d = mktmp(), *path = join(d, "h.flows");
    struct flow *f = calloc(n, sizeof(*f));
    gen_planes(f, n, 3);
    struct store_wopts o = { .codec = codec };
    write_flows(path, &o, f, n);
    uint8_t *b = slurp(path, len);
    free(f);
    free(path);
    rmtree(d);
    return b;
}

/* Decode buf (len bytes) as a buffer and as a file; both must fail with code and a
 * message naming block 0 at offset 64 and why. */
static void expect_block_error(const uint8_t *buf, size_t len, int code, const char *why)
{
    struct fs_err e = { 0 };
    struct collect c = { NULL, 0, 0, 0 };
    assert_int_equal(store_decode_buf(buf, len, collect_cb, &c, &e), code);
    assert_int_equal(c.n, 0);
    assert_non_null(strstr(e.msg, "buffer: block 0 at offset 64: "));
    if (!strstr(e.msg, why))
        fail_msg("want \"%s\", got \"%s\"", why, e.msg);
    char *d = mktmp(), *path = join(d, "bad.flows");
    spill(path, buf, len);
    struct store_reader *r;
    const char *paths[] = { path };
    const struct flow *x;
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    assert_int_equal(store_reader_next(r, &x, &e), code);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "block 0 at offset 64: "));
    assert_non_null(strstr(e.msg, why));
    assert_int_equal(store_reader_next(r, &x, &e), 0);
    store_reader_close(r);
    free(path);
    rmtree(d);
}

/* The block of a one-block file: header fields at 64, payload at 104. */
#define BH      STORE_HDR_LEN
#define PAYLOAD (STORE_HDR_LEN + STORE_BHDR_LEN)
#define RESEAL_BLOCK(b) \
    put_le32((b) + BH + 36, store_crc32(0, (b) + PAYLOAD, get_le32((b) + BH + 12)))

/* Cut a one-block file's payload to comp bytes, keeping the end block after it. */
static size_t cut_payload(uint8_t *b, size_t len, uint32_t comp)
{
    uint32_t old = get_le32(b + BH + 12);
    memmove(b + PAYLOAD + comp, b + PAYLOAD + old, len - PAYLOAD - old);
    put_le32(b + BH + 12, comp);
    RESEAL_BLOCK(b);
    return len - old + comp;
}

/* Hostile v2 blocks with valid crcs: each fails with its own message, never a crash. */
static void test_v2_hostile(void **state)
{
    (void)state;
    size_t rb = store_record_bytes((uint32_t)nfields), ml = STORE_MAP_LEN(rb), len;
    size_t n = 300;
    uint8_t *b = v2_file(STORE_LZ4, n, &len), *w = malloc(len);
    assert_int_equal(b[BH + 16], STORE_LZ4);
    uint32_t raw = get_le32(b + BH + 8), comp = get_le32(b + BH + 12);
    assert_true(raw > 0 && raw % n == 0 && raw < n * rb);
    /* a map bit at or beyond the last plane */
    assert_true(rb % 8 != 0);
    memcpy(w, b, len);
    w[PAYLOAD + ml - 1] |= 0x80;
    RESEAL_BLOCK(w);
    expect_block_error(w, len, FS_ECORRUPT, "plane map has bits beyond the last plane");
    /* raw_len says one plane fewer than the map has */
    memcpy(w, b, len);
    put_le32(w + BH + 8, raw - (uint32_t)n);
    expect_block_error(w, len, FS_ECORRUPT, "raw_len does not match the plane map");
    /* raw_len says one plane more */
    memcpy(w, b, len);
    put_le32(w + BH + 8, raw + (uint32_t)n);
    expect_block_error(w, len, FS_ECORRUPT, "raw_len does not match the plane map");
    /* raw_len not a whole number of planes, or more planes than a record has */
    memcpy(w, b, len);
    put_le32(w + BH + 8, raw + 1);
    expect_block_error(w, len, FS_ECORRUPT, "raw_len is not a whole number of the records' planes");
    put_le32(w + BH + 8, (uint32_t)(n * (rb + 1)));
    expect_block_error(w, len, FS_ECORRUPT, "raw_len is not a whole number of the records' planes");
    /* the map and constants longer than the payload */
    memcpy(w, b, len);
    size_t wl = cut_payload(w, len, (uint32_t)ml + 3);
    expect_block_error(w, wl, FS_ECORRUPT, "plane map and constants do not fit comp_len");
    /* the codec part cut short (crc resealed): the codec fails */
    memcpy(w, b, len);
    wl = cut_payload(w, len, comp - 9);
    expect_block_error(w, wl, FS_ECODEC, "decompression failed");
    /* the file itself cut inside the codec part */
    expect_block_error(b, PAYLOAD + comp - 5, FS_ETRUNC, "truncated block");
    /* a compressed block that stores no plane, and NONE with a wrong length */
    uint8_t *one = v2_file(STORE_LZ4, 1, &len);
    assert_int_equal(get_le32(one + BH + 8), 0);
    one[BH + 16] = STORE_LZ4;
    expect_block_error(one, len, FS_ECORRUPT, "compressed block without stored planes");
    free(one);
    memcpy(w, b, PAYLOAD + comp + STORE_BHDR_LEN);
    w[BH + 16] = STORE_NONE; /* a NONE codec part is raw_len bytes: this one is shorter */
    expect_block_error(w, PAYLOAD + comp + STORE_BHDR_LEN, FS_ECORRUPT,
                       "comp_len does not fit raw_len");
    free(w);
    free(b);
}

/*
 * A bad block in the middle of a file of a folder: the good blocks before it, then the
 * error, then the good blocks after it (its header gave its length) and the next file.
 */
static void test_error_then_continue(void **state)
{
    (void)state;
    char *d = mktmp();
    size_t n = (size_t)4 * STORE_BLOCK_RECORDS, in1 = (size_t)3 * STORE_BLOCK_RECORDS;
    struct flow *f = calloc(n, sizeof(*f));
    uint64_t s = 13;
    for (size_t i = 0; i < n; i++) /* three blocks in one bin, the rest in the next */
        gen_flow(&f[i], &s, i < in1 ? T0 - T0 % BIN : T0 - T0 % BIN + BIN, 1000);
    struct store_wopts o = { .codec = STORE_ZSTD };
    write_flows(d, &o, f, n);
    char rel[64];
    store_bin_name(T0 - T0 % BIN, rel, sizeof(rel));
    char *p = join(d, rel);
    size_t len;
    uint8_t *b = slurp(p, &len);
    /* Flip a payload byte of the second block, whose offset the first block gives. */
    size_t blk2 = 64 + 40 + get_le32(b + 64 + 12);
    b[blk2 + 40 + 5] ^= 0x10;
    spill(p, b, len);
    /* Junk the reader must ignore: temp files and foreign names. */
    char *junk = join(d, "2023/11/14/.flows.202311142210.tmp.1.abc"), *junk2 = join(d, "x.txt");
    spill(junk, b, 10);
    spill(junk2, b, 10);

    struct store_reader *r;
    struct fs_err e;
    const char *paths[] = { d };
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    const struct flow *x;
    size_t got = 0;
    int rc;
    while ((rc = store_reader_next(r, &x, &e)) == 1)
        got++;
    assert_int_equal(got, STORE_BLOCK_RECORDS);
    assert_int_equal(rc, FS_ECORRUPT);
    assert_non_null(strstr(e.msg, "block 1 at offset"));
    assert_non_null(strstr(e.msg, "crc mismatch"));
    assert_non_null(strstr(e.msg, p));
    while ((rc = store_reader_next(r, &x, &e)) == 1)
        got++;
    assert_int_equal(rc, 0);
    assert_int_equal(got, n - STORE_BLOCK_RECORDS);
    struct store_rstats st;
    store_reader_stats(r, &st);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.blocks_bad, 1);
    assert_int_equal(st.blocks_read, 3);
    assert_int_equal(st.files_opened, 2);
    store_reader_close(r);
    free(b);
    free(p);
    free(junk);
    free(junk2);
    free(f);
    rmtree(d);
}

/* The fuzz seed with a bad middle block (of three one-record blocks): the first and
 * the last record come, with one error between them naming the block's offset. */
static void test_corpus_bad_middle_block(void **state)
{
    (void)state;
    const char *paths[] = { "fuzz/corpus/store/bad_crc_middle_block" };
    struct store_reader *r;
    struct fs_err e;
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    const struct flow *x;
    int rc, got = 0, errs = 0;
    while ((rc = store_reader_next(r, &x, &e)) != 0) {
        if (rc > 0) {
            got++;
            continue;
        }
        errs++;
        assert_non_null(strstr(e.msg, "block 1 at offset 310: crc mismatch"));
    }
    assert_int_equal(got, 2);
    assert_int_equal(errs, 1);
    struct store_rstats st;
    store_reader_stats(r, &st);
    assert_int_equal(st.blocks_bad, 1);
    store_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_parse),
        cmocka_unit_test(test_crc_and_names),
        cmocka_unit_test(test_roundtrip_none),
        cmocka_unit_test(test_roundtrip_lz4),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_empty_and_bad_open),
        cmocka_unit_test(test_folder),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_enospc),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_magic_version),
        cmocka_unit_test(test_missing_columns),
        cmocka_unit_test(test_error_then_continue),
        cmocka_unit_test(test_corpus_bad_middle_block),
        cmocka_unit_test(test_v2_planes),
        cmocka_unit_test(test_v1_file),
        cmocka_unit_test(test_v2_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
