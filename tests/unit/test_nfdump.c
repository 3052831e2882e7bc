/*
 * nfdump file reader tests, on files built here byte by byte from the layout in
 * docs/internals/nfdump.md: a 1.7 file (layout 2) with an exporter record and V3
 * records of every element the reader maps, IPv6, a ZSTD-compressed copy (nfdump
 * 1.7.1 on this machine writes no zstd), a 1.6 file (layout 1, extension map and
 * common record: nfdump 1.7.1 cannot write one), the stat-record time range of both,
 * folder listing, and hostile input (record overrunning its block, undecodable
 * payload, a decompression bomb, size fields past the end, truncation at every byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/le.h"
#include "store/nfdump_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

struct buf {
    uint8_t b[1 << 16];
    size_t n;
};

static void p8(struct buf *b, uint8_t v)
{
    b->b[b->n++] = v;
}
static void p16(struct buf *b, uint16_t v)
{
    put_le16(b->b + b->n, v);
    b->n += 2;
}
static void p32(struct buf *b, uint32_t v)
{
    put_le32(b->b + b->n, v);
    b->n += 4;
}
static void p64(struct buf *b, uint64_t v)
{
    put_le64(b->b + b->n, v);
    b->n += 8;
}
static void pbytes(struct buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

/* Layout 2 header: codec, appendix offset. */
static void v2_header(struct buf *b, uint8_t codec, uint64_t appendix)
{
    p16(b, 0xA50C);
    p16(b, 2);
    p32(b, 0x01070100);
    p64(b, 1700000000);
    p8(b, codec);
    p8(b, 0);
    p16(b, 0);
    p32(b, 1);
    p64(b, appendix);
    p32(b, 0);
    p32(b, 1);
}

static void block(struct buf *b, uint32_t nrec, uint16_t type, uint16_t flags, const struct buf *pl)
{
    p32(b, nrec);
    p32(b, (uint32_t)pl->n);
    p16(b, type);
    p16(b, flags);
    pbytes(b, pl->b, pl->n);
}

static void exporter_rec(struct buf *b, uint16_t sysid, uint32_t v4)
{
    p16(b, 7);
    p16(b, 32);
    p32(b, 9);
    p64(b, 0);
    p32(b, v4);
    p32(b, 0);
    p16(b, 2);
    p16(b, sysid);
    p32(b, 0);
}

/* A V3 record with every element the reader maps; v6 selects the address element. */
static void v3_rec(struct buf *b, int v6, uint16_t exporter)
{
    size_t start = b->n;
    p16(b, 11);
    p16(b, 0); /* size, set below */
    p16(b, 7);
    p16(b, 0);
    p16(b, exporter);
    p16(b, 0x0900);
    p16(b, 1); /* generic */
    p16(b, 52);
    p64(b, 1700000000123ULL);
    p64(b, 1700000005456ULL);
    p64(b, 1700000006000ULL);
    p64(b, 14);
    p64(b, 12162);
    p16(b, 80);
    p16(b, 49433);
    p8(b, 6);
    p8(b, 0x1b);
    p8(b, 0);
    p8(b, 0x28);
    if (v6) {
        p16(b, 3);
        p16(b, 36);
        p64(b, 0x20010db800050000ULL);
        p64(b, 0x14d);
        p64(b, 0x20010db8000c0001ULL);
        p64(b, 0x0000000000000002ULL);
    } else {
        p16(b, 2);
        p16(b, 12);
        p32(b, 0x41365f07);
        p32(b, 0xc0a80169);
    }
    p16(b, 4); /* misc: interfaces */
    p16(b, 20);
    p32(b, 3);
    p32(b, 4);
    p64(b, 0);
    p16(b, 5); /* counters of the other direction */
    p16(b, 28);
    p64(b, 1);
    p64(b, 11);
    p64(b, 1230);
    p16(b, 6);
    p16(b, 12);
    p32(b, 100);
    p32(b, 0);
    p16(b, 7);
    p16(b, 12);
    p32(b, 64500);
    p32(b, 64501);
    p16(b, 12); /* received from: the exporter record wins */
    p16(b, 8);
    p32(b, 0x0a000009);
    put_le16(b->b + start + 2, (uint16_t)(b->n - start));
}

struct got {
    struct flow f[16];
    size_t n;
    char warn[8][300];
    size_t nwarn;
};

static int keep(void *ctx, const struct flow *f)
{
    struct got *g = ctx;
    if (g->n < 16)
        g->f[g->n] = *f;
    g->n++;
    return 0;
}

static void warned(void *ctx, const char *msg)
{
    struct got *g = ctx;
    if (g->nwarn < 8)
        snprintf(g->warn[g->nwarn], sizeof(g->warn[0]), "%s", msg);
    g->nwarn++;
}

static int decode(const struct buf *b, struct got *g, struct nfd_stats *st)
{
    struct nfd_sink s = { keep, warned, g };
    struct fs_err err = { 0 };
    memset(g, 0, sizeof(*g));
    memset(st, 0, sizeof(*st));
    return nfdump_decode_buf(b->b, b->n, "t.nf", &s, st, &err);
}

static void check_v4_flow(const struct flow *f)
{
    static const uint8_t src[16] = { [10] = 0xff, [11] = 0xff, 65, 54, 95, 7 };
    static const uint8_t dst[16] = { [10] = 0xff, [11] = 0xff, 192, 168, 1, 105 };
    static const uint8_t exp[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
    assert_memory_equal(f->src, src, 16);
    assert_memory_equal(f->dst, dst, 16);
    assert_memory_equal(f->exporter, exp, 16);
    assert_int_equal(f->ipver, 4);
    assert_int_equal(f->first, 1700000000123ULL);
    assert_int_equal(f->last, 1700000005456ULL);
    assert_int_equal(f->packets, 14);
    assert_int_equal(f->bytes, 12162);
    assert_int_equal(f->rpackets, 11);
    assert_int_equal(f->rbytes, 1230);
    assert_int_equal(f->sport, 80);
    assert_int_equal(f->dport, 49433);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->flags, 0x1b);
    assert_int_equal(f->tos, 0x28);
    assert_int_equal(f->in_if, 3);
    assert_int_equal(f->out_if, 4);
    assert_int_equal(f->vlan, 100);
    assert_int_equal(f->src_as, 64500);
    assert_int_equal(f->dst_as, 64501);
}

/* An uncompressed 1.7 file: exporter record, an IPv4 and an IPv6 V3 record. */
static void make_v2(struct buf *b, struct buf *pl)
{
    memset(pl, 0, sizeof(*pl));
    exporter_rec(pl, 1, 0x7f000001);
    v3_rec(pl, 0, 1);
    v3_rec(pl, 1, 9); /* exporter 9 unknown: the received-from address */
    memset(b, 0, sizeof(*b));
    v2_header(b, 0, 0);
    block(b, 3, 3, 0, pl);
}

static void test_v3_fields(void **state)
{
    (void)state;
    static struct buf b, pl;
    static struct got g;
    struct nfd_stats st;
    make_v2(&b, &pl);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.nwarn, 0);
    check_v4_flow(&g.f[0]);
    static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 5, [14] = 0x01, [15] = 0x4d };
    static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, 0, 1, [15] = 2 };
    static const uint8_t recv[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 9 };
    assert_int_equal(g.f[1].ipver, 6);
    assert_memory_equal(g.f[1].src, src6, 16);
    assert_memory_equal(g.f[1].dst, dst6, 16);
    assert_memory_equal(g.f[1].exporter, recv, 16);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.flows, 2);
}

/* The same records in a ZSTD block (codec 4 in the file header). */
static void test_zstd(void **state)
{
    (void)state;
    static struct buf b, pl, z;
    static struct got g;
    struct nfd_stats st;
    make_v2(&b, &pl);
    memset(&z, 0, sizeof(z));
    z.n = ZSTD_compress(z.b, sizeof(z.b), pl.b, pl.n, 3);
    assert_false(ZSTD_isError(z.n));
    memset(&b, 0, sizeof(b));
    v2_header(&b, 4, 0);
    block(&b, 3, 3, 0, &z);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.n, 2);
    check_v4_flow(&g.f[0]);
    /* A block marked raw in a zstd file is read as it is. */
    memset(&b, 0, sizeof(b));
    v2_header(&b, 4, 0);
    block(&b, 3, 3, 1, &pl);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.n, 2);
}

/* A V3 record with both address elements (exporters that fill both families). */
static void dual_rec(struct buf *b, uint32_t v4, uint64_t v6hi, uint64_t v6lo)
{
    p16(b, 11);
    p16(b, 12 + 12 + 36);
    p16(b, 2);
    p16(b, 0);
    p16(b, 0);
    p16(b, 0);
    p16(b, 2);
    p16(b, 12);
    p32(b, v4);
    p32(b, v4);
    p16(b, 3);
    p16(b, 36);
    p64(b, v6hi);
    p64(b, v6lo);
    p64(b, v6hi);
    p64(b, v6lo);
}

/* The IPv4 element when the IPv6 one is zero or ::a.b.c.d of it, else the IPv6 one. */
static void test_dual_family(void **state)
{
    (void)state;
    static struct buf b, pl;
    static struct got g;
    struct nfd_stats st;
    memset(&pl, 0, sizeof(pl));
    dual_rec(&pl, 0xc0000211, 0, 0);
    dual_rec(&pl, 0xc0000211, 0, 0xc0000211);
    dual_rec(&pl, 0, 0x20010db800000000ULL, 0x13);
    dual_rec(&pl, 0xc0000211, 0x20010db800000000ULL, 0x13);
    memset(&b, 0, sizeof(b));
    v2_header(&b, 0, 0);
    block(&b, 4, 3, 0, &pl);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.n, 4);
    static const uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 17 };
    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x13 };
    const int want6[4] = { 0, 0, 1, 1 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g.f[i].ipver, want6[i] ? 6 : 4);
        assert_memory_equal(g.f[i].src, want6[i] ? v6 : v4, 16);
    }
}

/* A 1.6 file: header, stat record, a block with an extension map and a common record. */
static void make_v1(struct buf *b)
{
    static struct buf pl;
    memset(&pl, 0, sizeof(pl));
    exporter_rec(&pl, 2, 0x0a000001);
    p16(&pl, 2); /* extension map 5: interfaces 4 bytes, AS 4 bytes, out bytes 4, router v4 */
    p16(&pl, 20);
    p16(&pl, 5);
    p16(&pl, 20);
    p16(&pl, 5);
    p16(&pl, 7);
    p16(&pl, 16);
    p16(&pl, 23);
    p16(&pl, 0);
    p16(&pl, 0);
    p16(&pl, 10); /* common record, wide exporter id */
    p16(&pl, 32 + 8 + 4 + 8 + 8 + 8 + 4 + 4);
    p16(&pl, 4); /* flags: 64-bit bytes */
    p16(&pl, 5);
    p16(&pl, 123);
    p16(&pl, 456);
    p32(&pl, 1700000000);
    p32(&pl, 1700000005);
    p8(&pl, 0);
    p8(&pl, 0x12);
    p8(&pl, 17);
    p8(&pl, 4);
    p16(&pl, 53);
    p16(&pl, 3333);
    p16(&pl, 2);
    p16(&pl, 0);
    p32(&pl, 0x0a000002);
    p32(&pl, 0x0a000003);
    p32(&pl, 7);
    p64(&pl, 700);
    p32(&pl, 1);
    p32(&pl, 2);
    p32(&pl, 65001);
    p32(&pl, 65002);
    p32(&pl, 99);
    p32(&pl, 0);
    memset(b, 0, sizeof(*b));
    p16(b, 0xA50C);
    p16(b, 1);
    p32(b, 0);
    p32(b, 1);
    b->n += 128; /* ident */
    size_t stat = b->n;
    b->n += 136;
    put_le32(b->b + stat + 120, 1700000000);
    put_le32(b->b + stat + 124, 1700000005);
    put_le16(b->b + stat + 128, 123);
    put_le16(b->b + stat + 130, 456);
    block(b, 3, 2, 0, &pl);
}

static void test_v1_file(void **state)
{
    (void)state;
    static struct buf b;
    static struct got g;
    struct nfd_stats st;
    make_v1(&b);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.nwarn, 0);
    assert_int_equal(g.n, 1);
    const struct flow *f = &g.f[0];
    static const uint8_t src[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 2 };
    static const uint8_t exp[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 };
    assert_memory_equal(f->src, src, 16);
    assert_memory_equal(f->exporter, exp, 16); /* the exporter record, not ext 23's 0 */
    assert_int_equal(f->first, 1700000000123ULL);
    assert_int_equal(f->last, 1700000005456ULL);
    assert_int_equal(f->packets, 7);
    assert_int_equal(f->bytes, 700);
    assert_int_equal(f->proto, 17);
    assert_int_equal(f->flags, 0x12);
    assert_int_equal(f->tos, 4);
    assert_int_equal(f->sport, 53);
    assert_int_equal(f->dport, 3333);
    assert_int_equal(f->in_if, 1);
    assert_int_equal(f->out_if, 2);
    assert_int_equal(f->src_as, 65001);
    assert_int_equal(f->dst_as, 65002);
    assert_int_equal(f->rbytes, 99);
}

static void write_file(const char *path, const struct buf *b)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b->b, 1, b->n, fp), b->n);
    fclose(fp);
}

/* The time range: 1.6 from the stat record after the header, 1.7 from the appendix. */
static void test_times(void **state)
{
    (void)state;
    static struct buf b, pl, ap;
    char path[] = "/tmp/fs-nfd-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    uint64_t first = 0, last = 0;
    make_v1(&b);
    write_file(path, &b);
    assert_int_equal(nfdump_file_times(path, &first, &last, NULL), 0);
    assert_int_equal(first, 1700000000123ULL);
    assert_int_equal(last, 1700000005456ULL);
    make_v2(&b, &pl);
    size_t appendix = b.n;
    put_le64(b.b + 24, appendix);
    memset(&ap, 0, sizeof(ap));
    p16(&ap, 0x8002);
    p16(&ap, 4 + 18 * 8);
    ap.n += 15 * 8;
    p64(&ap, 1700000000001ULL);
    p64(&ap, 1700000009999ULL);
    p64(&ap, 0);
    block(&b, 1, 3, 0, &ap);
    write_file(path, &b);
    assert_int_equal(nfdump_file_times(path, &first, &last, NULL), 0);
    assert_int_equal(first, 1700000000001ULL);
    assert_int_equal(last, 1700000009999ULL);
    /* The appendix's stat record is no flow. */
    static struct got g;
    struct nfd_stats st;
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.n, 2);
    unlink(path);
}

/* A record overrunning its block, an undecodable payload, a bomb: skipped with the
 * offset named; the next block is still read. */
static void test_bad_blocks(void **state)
{
    (void)state;
    static struct buf b, pl, bad, bomb;
    static struct got g;
    struct nfd_stats st;
    make_v2(&b, &pl);
    memset(&bad, 0, sizeof(bad));
    p16(&bad, 11);
    p16(&bad, 200); /* longer than the block */
    p32(&bad, 0);
    block(&b, 3, 3, 0, &pl); /* a second good block after the first */
    size_t bad_off = b.n;
    block(&b, 1, 3, 0, &bad);
    block(&b, 3, 3, 0, &pl);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(g.n, 6);
    assert_int_equal(st.blocks_bad, 1);
    assert_int_equal(g.nwarn, 1);
    char want[64];
    snprintf(want, sizeof(want), "t.nf: block at offset %zu", bad_off);
    assert_non_null(strstr(g.warn[0], want));

    /* An LZ4 file whose block is garbage, and a ZSTD block that decodes to 9 MiB. */
    memset(&b, 0, sizeof(b));
    v2_header(&b, 3, 0);
    block(&b, 1, 3, 0, &bad);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(st.blocks_bad, 1);
    assert_non_null(strstr(g.warn[0], "does not decompress"));
    size_t big = (size_t)9 << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    memset(&bomb, 0, sizeof(bomb));
    bomb.n = ZSTD_compress(bomb.b, sizeof(bomb.b), zeros, big, 1);
    free(zeros);
    assert_false(ZSTD_isError(bomb.n));
    memset(&b, 0, sizeof(b));
    v2_header(&b, 4, 0);
    block(&b, 1, 3, 0, &bomb);
    assert_int_equal(decode(&b, &g, &st), 0);
    assert_int_equal(st.blocks_bad, 1);
    assert_non_null(strstr(g.warn[0], "more than the block cap"));
}

/* A size field past the end, and every truncation: an error or fewer flows, no crash. */
static void test_truncation(void **state)
{
    (void)state;
    static struct buf b, pl, cut;
    static struct got g;
    struct nfd_stats st;
    make_v2(&b, &pl);
    put_le32(b.b + 40 + 4, 0x7fffffff);
    assert_int_equal(decode(&b, &g, &st), FS_ETRUNC);
    assert_int_equal(st.errors, 1);
    make_v2(&b, &pl);
    for (size_t n = 0; n < b.n; n++) {
        memset(&cut, 0, sizeof(cut));
        memcpy(cut.b, b.b, n);
        cut.n = n;
        int rc = decode(&cut, &g, &st);
        assert_true(rc < 0 || n == 40);
        assert_int_equal(g.n, 0);
    }
    make_v1(&b);
    for (size_t n = 0; n < b.n; n++) {
        memcpy(cut.b, b.b, n);
        cut.n = n;
        assert_true(decode(&cut, &g, &st) < 0 || n == 276);
    }
    assert_false(nfdump_probe((const uint8_t *)"FSFL", 4));
    assert_true(nfdump_probe(b.b, 4));
}

/* A folder: year/month/day sub-folders, files in time order by name, other files
 * (wrong magic, nfcapd's open file, hidden) left out. */
static void test_list(void **state)
{
    (void)state;
    static struct buf b, pl;
    char dir[] = "/tmp/fs-nfd-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    make_v2(&b, &pl);
    snprintf(p, sizeof(p), "%s/2026", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/2026/12", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/2026/12/nfcapd.202612070205", dir);
    write_file(p, &b);
    snprintf(p, sizeof(p), "%s/nfcapd.202612070200", dir);
    write_file(p, &b);
    snprintf(p, sizeof(p), "%s/nfcapd.current.123", dir);
    write_file(p, &b);
    snprintf(p, sizeof(p), "%s/.nfcapd.202612070210", dir);
    write_file(p, &b);
    snprintf(p, sizeof(p), "%s/nfcapd.202612070215", dir);
    FILE *fp = fopen(p, "w");
    fputs("not nfdump", fp);
    fclose(fp);
    char **v = NULL, cmd[300];
    size_t n = 0, skipped = 0;
    assert_int_equal(nfdump_list(dir, 0, &v, &n, &skipped, NULL), 0);
    assert_int_equal(n, 2);
    assert_non_null(strstr(v[0], "/nfcapd.202612070200"));
    assert_non_null(strstr(v[1], "/2026/12/nfcapd.202612070205"));
    nfdump_list_free(v, n);
    /* A window from a day after both names: neither is opened. */
    assert_int_equal(nfdump_list(dir, 1796774400000ULL, &v, &n, &skipped, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(skipped, 3);
    nfdump_list_free(v, n);
    /* A flowsleuth store's bins and other dated names are neither nfdump files nor
     * skipped ones: a store folder read with -t must stay the store reader's. */
    snprintf(cmd, sizeof(cmd), "rm -rf %s/* && mkdir -p %s/2020/01/01", dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof(p), "%s/2020/01/01/flows.202001010000", dir);
    write_file(p, &b);
    snprintf(p, sizeof(p), "%s/2020/01/01/notes.202001010000", dir);
    write_file(p, &pl);
    assert_int_equal(nfdump_list(dir, 1796774400000ULL, &v, &n, &skipped, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(skipped, 0);
    nfdump_list_free(v, n);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_fields),  cmocka_unit_test(test_dual_family),
        cmocka_unit_test(test_zstd),       cmocka_unit_test(test_v1_file),
        cmocka_unit_test(test_times),      cmocka_unit_test(test_bad_blocks),
        cmocka_unit_test(test_truncation), cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
