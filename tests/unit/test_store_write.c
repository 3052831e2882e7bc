/*
 * Store writer internals: the plane map and the SSE2 column shuffle of the stored
 * planes against the scalar code and against a naive statement of the format, on
 * random records of every field width and odd lengths, with fields of constant,
 * varying and mixed planes; the unshuffle from a plane table, whole and in chunks; the
 * writer with its worker thread (many blocks, several bins, every codec) against a
 * file built block by block from the format; and a write error seen through the worker
 * (stdout on /dev/full).
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
#include "store/store_shuf.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1700000000000ULL /* 2023-11-14 22:13:20 UTC */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every byte of every record random: each column of every width gets noise. */
static struct flow *random_flows(size_t n, uint64_t seed)
{
    struct flow *f = malloc((n ? n : 1) * sizeof(*f));
    assert_non_null(f);
    uint8_t *p = (uint8_t *)f;
    for (size_t i = 0; i < n * sizeof(*f); i++)
        p[i] = (uint8_t)rnd(&seed);
    return f;
}

/* An integer field's value, whatever the host's byte order. */
static uint64_t value_of(const uint8_t *v, size_t sz)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (sz) {
    case 1:
        return v[0];
    case 2:
        memcpy(&u16, v, 2);
        return u16;
    case 4:
        memcpy(&u32, v, 4);
        return u32;
    default:
        memcpy(&u64, v, 8);
        return u64;
    }
}

/* The format as store.h words it: column by column, plane b = byte b of each value
 * (little-endian for integers, array order for addresses). */
static void naive_shuffle(const struct flow *f, size_t n, uint8_t *raw)
{
    uint8_t *col = raw;
    for (size_t i = 0; i < nfields; i++) {
        const struct field *fd = &fields[i];
        int bytes = fd->type == FT_ADDR || fd->type == FT_EADDR || fd->type == FT_STR;
        for (size_t r = 0; r < n; r++) {
            const uint8_t *v = (const uint8_t *)&f[r] + fd->offset;
            uint64_t x = bytes ? 0 : value_of(v, fd->size);
            for (size_t b = 0; b < fd->size; b++)
                col[b * n + r] = bytes ? v[b] : (uint8_t)(x >> (8 * b));
        }
        col += n * fd->size;
    }
}

/* The plane map by the format's words: plane p varies when some byte of it differs
 * from its first (planes of a full naive shuffle). Returns the set bits. */
static size_t naive_map(const uint8_t *full, size_t n, uint8_t *map, uint8_t *val)
{
    size_t planes = store_record_bytes((uint32_t)nfields), k = 0;
    memset(map, 0, STORE_MAP_LEN(planes));
    for (size_t p = 0; p < planes; p++) {
        val[p] = full[p * n];
        for (size_t r = 1; r < n; r++)
            if (full[p * n + r] != val[p]) {
                map[p / 8] |= (uint8_t)(1u << (p % 8));
                k++;
                break;
            }
    }
    return k;
}

/* The stored planes of a full naive shuffle, one after the other. */
static void naive_compact(const uint8_t *full, size_t n, const uint8_t *map, uint8_t *out)
{
    size_t planes = store_record_bytes((uint32_t)nfields), k = 0;
    for (size_t p = 0; p < planes; p++)
        if (STORE_MAP_BIT(map, p))
            memcpy(out + k++ * n, full + p * n, n);
}

/*
 * Random records with planes of every kind: per field one of random, constant zero,
 * constant nonzero, or (addresses and 8-byte counters) a mix of the three within the
 * field, as an IPv4-mapped address or a small counter has.
 */
static struct flow *mixed_flows(size_t n, uint64_t seed)
{
    struct flow *f = random_flows(n, seed);
    for (size_t i = 0; i < nfields; i++) {
        const struct field *fd = &fields[i];
        uint64_t kind = rnd(&seed) % 4;
        uint8_t c = (uint8_t)(rnd(&seed) | 1);
        for (size_t b = 0; b < fd->size; b++) {
            /* plane b of an integer is byte b of its value: set through the value */
            uint64_t k = kind == 3 ? b % 3 : kind;
            for (size_t r = 0; r < n && k; r++) {
                uint8_t *v = (uint8_t *)&f[r] + fd->offset;
                size_t at = b;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                if (fd->type != FT_ADDR && fd->type != FT_EADDR && fd->type != FT_STR)
                    at = fd->size - 1 - b;
#endif
                v[at] = k == 1 ? 0 : c;
            }
        }
    }
    return f;
}

/* The reader's plane table built by hand: stored planes from raw, constants from
 * buffers filled here (a zero constant from store_zero_plane). fill has planes * n. */
static void hand_planes(const uint8_t *map, const uint8_t *val, const uint8_t *raw, size_t n,
                        uint8_t *fill, struct store_planes *pl)
{
    size_t planes = store_record_bytes((uint32_t)nfields), k = 0;
    memset(pl->konst, 0, sizeof(pl->konst));
    for (size_t p = 0; p < planes; p++) {
        if (!STORE_MAP_BIT(map, p))
            pl->konst[p / 64] |= (uint64_t)1 << (p % 64);
        if (STORE_MAP_BIT(map, p)) {
            pl->plane[p] = raw + k++ * n;
        } else if (val[p] == 0) {
            pl->plane[p] = store_zero_plane;
        } else {
            memset(fill + p * n, val[p], n);
            pl->plane[p] = fill + p * n;
        }
    }
    pl->ncolumns = (uint32_t)nfields;
}

static void assert_fields_equal(const struct flow *got, const struct flow *want, size_t n)
{
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < nfields; i++)
            assert_memory_equal((const uint8_t *)&got[r] + fields[i].offset,
                                (const uint8_t *)&want[r] + fields[i].offset, fields[i].size);
}

/* The plane map, the shuffle of the stored planes (SSE2, scalar, naive) and the
 * unshuffle from a plane table, whole and in chunks, on one set of records. */
static void check_planes(const struct flow *f, size_t n)
{
    size_t rb = store_record_bytes((uint32_t)nfields), ml = STORE_MAP_LEN(rb);
    uint8_t map[STORE_MAP_LEN(STORE_MAX_PLANES)], map2[sizeof(map)], nmap[sizeof(map)];
    uint8_t val[STORE_MAX_PLANES], val2[STORE_MAX_PLANES], nval[STORE_MAX_PLANES];
    uint8_t *full = calloc(n, rb), *ref = malloc(n * rb), *fast = malloc(n * rb);
    uint8_t *slow = malloc(n * rb), *fill = malloc(n * rb);
    naive_shuffle(f, n, full);
    size_t k = naive_map(full, n, nmap, nval);
    assert_int_equal(store_plane_map(f, n, map, val), k);
    assert_int_equal(store_plane_map_scalar(f, n, map2, val2), k);
    assert_memory_equal(map, nmap, ml);
    assert_memory_equal(map2, nmap, ml);
    assert_memory_equal(val, nval, rb);
    assert_memory_equal(val2, nval, rb);
    naive_compact(full, n, map, ref);
    memset(fast, 0xaa, n * rb);
    memset(slow, 0x55, n * rb);
    store_shuffle(f, n, map, fast);
    store_shuffle_scalar(f, n, map, slow);
    assert_memory_equal(fast, ref, k * n);
    assert_memory_equal(slow, ref, k * n);
    /* back, from the plane table: the whole block and chunks of odd sizes */
    struct store_planes pl;
    hand_planes(map, val, fast, n, fill, &pl);
    struct flow *back = calloc(n, sizeof(*back));
    store_unshuffle_planes(&pl, 0, n, back, NULL);
    assert_fields_equal(back, f, n);
    struct store_known z;
    for (size_t r0 = 0, m = 1; r0 < n; r0 += m, m = m * 3 + 5) {
        size_t len = n - r0 < m ? n - r0 : m;
        memset(back, 0, n * sizeof(*back));
        memset(&z, 0, sizeof(z));
        store_unshuffle_planes(&pl, r0, len, back, &z);
        store_unshuffle_planes(&pl, r0, len, back, &z); /* a second time: constants skipped */
        assert_fields_equal(back, f + r0, len);
    }
    free(back);
    free(full);
    free(ref);
    free(fast);
    free(slow);
    free(fill);
}

static void test_shuffle_paths(void **state)
{
    (void)state;
    size_t rb = store_record_bytes((uint32_t)nfields);
    const size_t lens[] = { 1,  2,  3,   7,   15,  16,  17,   31,   33,   63,   64,
                            65, 79, 100, 127, 128, 129, 1000, 4097, 8191, 8192, 8193 };
    int widths[17] = { 0 };
    for (size_t i = 0; i < nfields; i++) /* wider columns (sni) move as 16-byte pieces */
        widths[fields[i].size < 16 ? fields[i].size : 16] = 1;
    /* The table must keep covering the widths the fast path has code for. */
    assert_true(widths[1] && widths[2] && widths[4] && widths[8] && widths[16]);
    assert_true(rb <= STORE_MAX_PLANES);
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k];
        struct flow *f = random_flows(n, 0x9e3779b97f4a7c15ull + n);
        uint8_t *fast = malloc(n * rb), *slow = malloc(n * rb), *ref = malloc(n * rb);
        memset(fast, 0xaa, n * rb);
        memset(slow, 0x55, n * rb);
        store_shuffle(f, n, NULL, fast);
        store_shuffle_scalar(f, n, NULL, slow);
        naive_shuffle(f, n, ref);
        assert_memory_equal(slow, ref, n * rb);
        assert_memory_equal(fast, ref, n * rb);
        /* and back: the reader's unshuffle restores every field */
        struct flow *back = calloc(n, sizeof(*back));
        store_unshuffle(fast, n, (uint32_t)nfields, back);
        assert_fields_equal(back, f, n);
        free(back);
        free(fast);
        free(slow);
        free(ref);
        check_planes(f, n);
        free(f);
        for (uint64_t seed = 1; seed <= 6; seed++) {
            f = mixed_flows(n, seed * 1000 + n);
            check_planes(f, n);
            free(f);
        }
    }
}

/*
 * One target array through a run of blocks with the memory of the bytes it holds: the
 * same constants again (skipped), other constants, constant planes turning into stored
 * ones and back, more and fewer records than before, chunks from the middle of a block.
 * After every call the records must be exactly those of the block.
 */
static void test_unshuffle_memory(void **state)
{
    (void)state;
    const uint64_t seeds[] = { 1, 1, 2, 2, 1, 3, 3, 4, 1, 1 };
    const size_t lens[] = { 100, 64, 300, 17, 300, 250, 1, 129, 8192, 40 };
    size_t rb = store_record_bytes((uint32_t)nfields);
    struct flow *out = calloc(8192, sizeof(*out));
    struct store_known z;
    memset(&z, 0, sizeof(z));
    for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
        size_t n = lens[k];
        struct flow *f = mixed_flows(n, seeds[k]);
        uint8_t map[STORE_MAP_LEN(STORE_MAX_PLANES)], val[STORE_MAX_PLANES];
        uint8_t *raw = malloc(n * rb), *fill = malloc(n * rb);
        store_plane_map(f, n, map, val);
        store_shuffle(f, n, map, raw);
        struct store_planes pl;
        hand_planes(map, val, raw, n, fill, &pl);
        store_unshuffle_planes(&pl, 0, n, out, &z);
        assert_fields_equal(out, f, n);
        /* a chunk from the middle, into the same array */
        if (n > 20) {
            store_unshuffle_planes(&pl, 7, n - 20, out, &z);
            assert_fields_equal(out, f + 7, n - 20);
        }
        /* a v1-style table (every plane stored, constants found by looking) */
        uint8_t *all = malloc(n * rb);
        store_shuffle(f, n, NULL, all);
        store_planes_flat(&pl, all, n, (uint32_t)nfields);
        store_unshuffle_planes(&pl, 0, n, out, &z);
        assert_fields_equal(out, f, n);
        free(all);
        free(raw);
        free(fill);
        free(f);
    }
    free(out);
}

/* ---- the writer with its worker ---- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return b;
}

/* Plausible records (compressible, so LZ4 blocks), times rising with i. */
static void plausible(struct flow *f, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        uint8_t a[4] = { 10, 0, (uint8_t)(rnd(&seed) % 4), (uint8_t)rnd(&seed) };
        flow_addr_from_v4(f[i].src, a);
        flow_addr_from_v4(f[i].dst, a);
        f[i].last = T0 + i * 7;
        f[i].first = f[i].last - rnd(&seed) % 30000;
        f[i].sport = (uint16_t)rnd(&seed);
        f[i].dport = 443;
        f[i].proto = 6;
        f[i].ipver = 4;
        f[i].packets = 1 + rnd(&seed) % 40;
        f[i].bytes = f[i].packets * 600;
    }
}

/*
 * One block of the format (store.h, version 2) at out: the plane map and constants by
 * the naive statement, the stored planes compressed with codec (or kept raw when that
 * does not shrink them, or when there are none). Returns its length; *hb its header.
 */
static size_t expected_block(const struct flow *f, size_t m, enum store_codec codec, uint8_t *out,
                             struct store_bhdr *hb)
{
    size_t rb = store_record_bytes((uint32_t)nfields), cap = store_comp_bound(m * rb);
    uint8_t *full = calloc(m, rb), *raw = malloc(m * rb), *comp = malloc(cap);
    uint8_t map[STORE_MAP_LEN(STORE_MAX_PLANES)] = { 0 }, val[STORE_MAX_PLANES] = { 0 };
    struct store_bhdr b = { .nrecords = (uint32_t)m, .codec = (uint8_t)codec };
    b.first_min_ms = UINT64_MAX;
    for (size_t i = 0; i < m; i++) {
        b.first_min_ms = f[i].first < b.first_min_ms ? f[i].first : b.first_min_ms;
        b.last_max_ms = f[i].last > b.last_max_ms ? f[i].last : b.last_max_ms;
    }
    naive_shuffle(f, m, full);
    size_t k = naive_map(full, m, map, val), head = STORE_MAP_LEN(rb);
    uint8_t *p = out + STORE_BHDR_LEN;
    memcpy(p, map, head);
    for (size_t q = 0; q < rb; q++)
        if (!STORE_MAP_BIT(map, q))
            p[head++] = val[q];
    naive_compact(full, m, map, raw);
    b.raw_len = (uint32_t)(k * m);
    void *cctx = NULL;
    long long c = 0;
    if (codec != STORE_NONE && b.raw_len)
        c = store_compress(codec, 0, &cctx, raw, b.raw_len, comp, cap);
    if (c > 0 && (size_t)c < b.raw_len) {
        memcpy(p + head, comp, (size_t)c);
    } else {
        b.codec = STORE_NONE;
        c = b.raw_len;
        memcpy(p + head, raw, b.raw_len);
    }
    b.comp_len = (uint32_t)(head + (size_t)c);
    b.crc = store_crc32(0, p, b.comp_len);
    store_bhdr_encode(out, &b);
    store_codec_free(cctx, NULL);
    free(full);
    free(raw);
    free(comp);
    *hb = b;
    return STORE_BHDR_LEN + b.comp_len;
}

/* What the writer must produce for a single file of n records: the format, block by
 * block, from the naive statement of the shuffle and the plane map. */
static uint8_t *expected_file(const struct flow *f, size_t n, enum store_codec codec, size_t *len)
{
    size_t rb = store_record_bytes((uint32_t)nfields);
    size_t cap = STORE_HDR_LEN + STORE_BHDR_LEN * (n / STORE_BLOCK_RECORDS + 2) +
                 (n / STORE_BLOCK_RECORDS + 1) *
                     (store_comp_bound(STORE_BLOCK_RECORDS * rb) + 2 * STORE_MAX_PLANES);
    uint8_t *out = malloc(cap);
    struct store_hdr h = { .version = STORE_VERSION,
                           .codec = (uint8_t)codec,
                           .header_len = STORE_HDR_LEN,
                           .ncolumns = (uint32_t)nfields };
    size_t off = STORE_HDR_LEN;
    for (size_t r0 = 0; r0 < n; r0 += STORE_BLOCK_RECORDS) {
        size_t m = n - r0 < STORE_BLOCK_RECORDS ? n - r0 : STORE_BLOCK_RECORDS;
        struct store_bhdr b;
        off += expected_block(f + r0, m, codec, out + off, &b);
        if (h.nrecords == 0 || b.first_min_ms < h.first_min_ms)
            h.first_min_ms = b.first_min_ms;
        h.last_max_ms = b.last_max_ms > h.last_max_ms ? b.last_max_ms : h.last_max_ms;
        h.nblocks++;
        h.nrecords += m;
    }
    struct store_bhdr end = { .codec = (uint8_t)codec };
    store_bhdr_encode(out + off, &end);
    off += STORE_BHDR_LEN;
    store_hdr_encode(out, &h);
    *len = off;
    return out;
}

/* Write n records to path with codec and compare the file with expected_file. */
static void check_file_bytes(const char *path, const struct flow *f, size_t n,
                             enum store_codec codec)
{
    struct store_wopts o = { .codec = codec };
    struct store_writer *w;
    struct fs_err e = { 0 };
    assert_int_equal(store_writer_open(&w, path, &o, &e), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_writer_add(w, &f[i], &e), 0);
    assert_int_equal(store_writer_close(w, &e), 0);
    size_t got_len, want_len;
    uint8_t *got = slurp(path, &got_len), *want = expected_file(f, n, codec, &want_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    free(want);
    unlink(path);
}

/*
 * Many blocks through the worker give the very bytes of the format, in order, with
 * every codec: 1-record blocks (every plane constant, raw_len 0), full blocks, a short
 * last block, and random records that do not compress (codec NONE in the block).
 */
static void test_worker_file_bytes(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_store_write.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/f.fsf", dir);
    const size_t counts[] = { 1, 5, STORE_BLOCK_RECORDS, STORE_BLOCK_RECORDS + 1,
                              5 * STORE_BLOCK_RECORDS + 77 };
    for (int codec = STORE_NONE; codec <= STORE_ZSTD; codec++)
        for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
            size_t n = counts[k];
            if (codec != STORE_LZ4 && n > (size_t)2 * STORE_BLOCK_RECORDS)
                continue;
            struct flow *f = malloc(n * sizeof(*f));
            plausible(f, n, 42 + k);
            check_file_bytes(path, f, n, (enum store_codec)codec);
            free(f);
            f = mixed_flows(n, 99 + k);
            check_file_bytes(path, f, n, (enum store_codec)codec);
            free(f);
        }
    struct flow *f = random_flows(STORE_BLOCK_RECORDS, 5);
    check_file_bytes(path, f, STORE_BLOCK_RECORDS, STORE_LZ4);
    free(f);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int count_cb(void *ctx, const struct flow *f)
{
    struct flow **next = ctx;
    assert_memory_equal(*next, f, sizeof(*f));
    (*next)++;
    return 0;
}

/* A folder store whose records alternate between bins: blocks of different files go
 * through the one worker; every bin reads back complete and in order. */
static void test_worker_folder(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_store_write.XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t n = 6 * STORE_BLOCK_RECORDS + 1234, half = n / 2;
    struct flow *f = malloc(n * sizeof(*f)), *a = malloc(n * sizeof(*f)),
                *b = malloc(n * sizeof(*f));
    plausible(f, n, 7);
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        f[i].last = T0 - T0 % 300000 + (i % 2 ? 400000 : 1000) + i % 1000;
        f[i].first = f[i].last - 10;
        if (i % 2)
            b[nb++] = f[i];
        else
            a[na++] = f[i];
    }
    assert_int_equal(na + nb, n);
    assert_true(na >= half);
    struct store_wopts o = { .codec = STORE_LZ4 };
    struct store_writer *w;
    struct fs_err e = { 0 };
    assert_int_equal(store_writer_open(&w, dir, &o, &e), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_writer_add(w, &f[i], &e), 0);
    assert_int_equal(store_writer_close(w, &e), 0);
    char name[64], p1[160], p2[160];
    store_bin_name(T0 - T0 % 300000, name, sizeof(name));
    snprintf(p1, sizeof(p1), "%s/%s", dir, name);
    store_bin_name(T0 - T0 % 300000 + 300000, name, sizeof(name));
    snprintf(p2, sizeof(p2), "%s/%s", dir, name);
    const char *paths[2] = { p1, p2 };
    struct flow *want[2] = { a, b };
    size_t nwant[2] = { na, nb };
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *buf = slurp(paths[k], &len);
        struct flow *next = want[k];
        assert_int_equal(store_decode_buf(buf, len, count_cb, &next, &e), 0);
        assert_int_equal((size_t)(next - want[k]), nwant[k]);
        free(buf);
    }
    free(f);
    free(a);
    free(b);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Child: a stream writer on /dev/full; exit 0 when the error comes back as ENOSPC
 * from add (a later block) or close, naming stdout. */
static int full_disk_child(void)
{
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0 || dup2(fd, 1) < 0)
        return 2;
    struct flow *f = malloc((size_t)4 * STORE_BLOCK_RECORDS * sizeof(*f));
    plausible(f, (size_t)4 * STORE_BLOCK_RECORDS, 3);
    struct store_writer *w;
    struct fs_err e = { 0 };
    struct store_wopts o = { .codec = STORE_LZ4 };
    if (store_writer_open(&w, "-", &o, &e) != 0)
        return 3;
    int add_rc = 0;
    for (size_t i = 0; i < (size_t)4 * STORE_BLOCK_RECORDS && !add_rc; i++)
        add_rc = store_writer_add(w, &f[i], &e);
    int close_rc = store_writer_close(w, &e);
    free(f);
    if (close_rc != -ENOSPC || !strstr(e.msg, "stdout") || !strstr(e.msg, "No space left"))
        return 4;
    return add_rc == 0 || add_rc == -ENOSPC ? 0 : 5;
}

static void test_worker_write_error(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        FS_SKIP("cannot write /dev/full");
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(full_disk_child());
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffle_paths),      cmocka_unit_test(test_unshuffle_memory),
        cmocka_unit_test(test_worker_file_bytes),  cmocka_unit_test(test_worker_folder),
        cmocka_unit_test(test_worker_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
