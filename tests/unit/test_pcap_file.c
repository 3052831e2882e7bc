/*
 * The classic pcap reader (capture/pcap_file.h) on hand-built files: both byte
 * orders, micro- and nanosecond magic, what goes to libpcap instead, and every bad
 * record libpcap ends with an error (each record copied into a buffer of exactly its
 * size so ASan sees any over-read). Then capture.c end to end: a file written here
 * read through the mapping and through libpcap (FS_PCAP_READER=libpcap) must give the
 * same packets, with and without a BPF filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "capture/decode.h"
#include "capture/pcap_file.h"

#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- builders ---- */

static void put32(uint8_t *b, uint32_t v, int big)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(big ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put16(uint8_t *b, uint16_t v, int big)
{
    b[0] = (uint8_t)(big ? v >> 8 : v);
    b[1] = (uint8_t)(big ? v : v >> 8);
}

static void file_hdr(uint8_t *b, int big, int nsec, uint16_t major, uint16_t minor,
                     uint32_t snaplen, uint32_t linktype)
{
    put32(b, nsec ? 0xa1b23c4du : 0xa1b2c3d4u, big);
    put16(b + 4, major, big);
    put16(b + 6, minor, big);
    put32(b + 8, 0, big);
    put32(b + 12, 0, big);
    put32(b + 16, snaplen, big);
    put32(b + 20, linktype, big);
}

static void rec_hdr(uint8_t *b, int big, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len)
{
    put32(b, sec, big);
    put32(b + 4, frac, big);
    put32(b + 8, caplen, big);
    put32(b + 12, len, big);
}

/* Parse a header of n bytes from a copy of exactly n bytes. */
static int header(const uint8_t *b, size_t n, struct pcap_file *pf)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    int rc = pcap_file_header(copy, n, pf);
    free(copy);
    return rc;
}

/* ---- file header ---- */

static void test_header_orders_and_precision(void **state)
{
    (void)state;
    uint8_t h[PCAP_FILE_HDR_LEN];
    struct pcap_file pf;
    for (int big = 0; big < 2; big++) {
        for (int nsec = 0; nsec < 2; nsec++) {
            file_hdr(h, big, nsec, 2, 4, 65535, 1);
            assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
            assert_int_equal(pf.big, big);
            assert_int_equal(pf.nsec, nsec);
            assert_int_equal(pf.dlt, DLT_EN10MB);
            assert_int_equal(pf.snapshot, 65535);
        }
    }
}

static void test_header_link_types(void **state)
{
    (void)state;
    uint8_t h[PCAP_FILE_HDR_LEN];
    struct pcap_file pf;
    /* LINKTYPE_RAW is 101 in a file, DLT_RAW (12 on Linux) from pcap_datalink */
    file_hdr(h, 0, 0, 2, 4, 65535, 101);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
    assert_int_equal(pf.dlt, DLT_RAW);
    const uint32_t same[] = { 0, 1, 113, 228, 229, 276 };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        file_hdr(h, 1, 0, 2, 4, 65535, same[i]);
        assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
        assert_int_equal(pf.dlt, (int)same[i]);
        assert_true(decode_linktype_supported(pf.dlt));
    }
    /* FCS length bits above the link type are not part of it */
    file_hdr(h, 0, 0, 2, 4, 65535, 0x10000000u | 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
    assert_int_equal(pf.dlt, DLT_EN10MB);
    /* link types the decoder does not know: libpcap's (the meter warns, skips all) */
    file_hdr(h, 0, 0, 2, 4, 65535, 105);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OTHER);
    file_hdr(h, 0, 0, 2, 4, 65535, 12);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OTHER);
}

static void test_header_others(void **state)
{
    (void)state;
    uint8_t h[PCAP_FILE_HDR_LEN];
    struct pcap_file pf;
    /* versions whose length fields may be swapped, and DG/UX's 543.0 */
    file_hdr(h, 0, 0, 2, 3, 65535, 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OTHER);
    file_hdr(h, 0, 0, 543, 0, 65535, 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OTHER);
    file_hdr(h, 0, 0, 1, 4, 65535, 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OTHER);
    /* Kuznetzov's patched format (a longer record header) */
    file_hdr(h, 0, 0, 2, 4, 65535, 1);
    put32(h, 0xa1b2cd34u, 0);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OTHER);
    /* pcapng section header block */
    static const uint8_t ng[PCAP_FILE_HDR_LEN] = { 0x0a, 0x0d, 0x0d, 0x0a, 28,   0,
                                                   0,    0,    0x4d, 0x3c, 0x2b, 0x1a };
    assert_int_equal(header(ng, sizeof(ng), &pf), PCAP_FILE_OTHER);
    /* too short to be a header at all: libpcap reports the truncation */
    file_hdr(h, 0, 0, 2, 4, 65535, 1);
    for (size_t n = 0; n < PCAP_FILE_HDR_LEN; n++)
        assert_int_equal(header(h, n, &pf), PCAP_FILE_OTHER);
}

static void test_header_snaplen(void **state)
{
    (void)state;
    uint8_t h[PCAP_FILE_HDR_LEN];
    struct pcap_file pf;
    file_hdr(h, 0, 0, 2, 4, 0, 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
    assert_int_equal(pf.snapshot, PCAP_FILE_MAX_CAPLEN);
    file_hdr(h, 0, 0, 2, 4, 0x80000000u, 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
    assert_int_equal(pf.snapshot, PCAP_FILE_MAX_CAPLEN);
    /* above the largest record but a valid int: kept, as libpcap keeps it */
    file_hdr(h, 0, 0, 2, 4, 1000000, 1);
    assert_int_equal(header(h, sizeof(h), &pf), PCAP_FILE_OURS);
    assert_int_equal(pf.snapshot, 1000000);
}

/* ---- records ---- */

/* Read one record of n bytes from an exact-size copy. */
static int record(const struct pcap_file *pf, const uint8_t *b, size_t n, struct capture_pkt *out,
                  size_t *used, uint8_t **copy)
{
    *copy = malloc(n ? n : 1);
    memcpy(*copy, b, n);
    struct fs_err err = { 0 };
    int rc = pcap_file_record(pf, *copy, n, out, used, &err);
    if (rc < 0)
        assert_true(err.msg[0] != '\0');
    return rc;
}

static void test_record_basic(void **state)
{
    (void)state;
    for (int big = 0; big < 2; big++) {
        struct pcap_file pf = { .dlt = 1, .snapshot = 65535, .big = (uint8_t)big };
        uint8_t b[PCAP_FILE_REC_LEN + 60];
        rec_hdr(b, big, 1700000000u, 123456, 60, 1514);
        for (int i = 0; i < 60; i++)
            b[PCAP_FILE_REC_LEN + i] = (uint8_t)i;
        struct capture_pkt p;
        size_t used = 0;
        uint8_t *copy;
        assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), CAPTURE_PACKET);
        assert_int_equal(used, sizeof(b));
        assert_int_equal(p.caplen, 60);
        assert_int_equal(p.wirelen, 1514);
        assert_true(p.ts_us == 1700000000ull * 1000000u + 123456u);
        assert_ptr_equal(p.data, copy + PCAP_FILE_REC_LEN);
        assert_int_equal(p.data[59], 59);
        free(copy);
        /* the end of the file is the end of the packets */
        assert_int_equal(record(&pf, b, 0, &p, &used, &copy), CAPTURE_END);
        free(copy);
    }
}

static void test_record_times(void **state)
{
    (void)state;
    struct pcap_file pf = { .dlt = 1, .snapshot = 65535, .nsec = 1 };
    uint8_t b[PCAP_FILE_REC_LEN];
    struct capture_pkt p;
    size_t used;
    uint8_t *copy;
    /* nanoseconds scale down by truncation */
    rec_hdr(b, 0, 10, 999999999u, 0, 0);
    assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), CAPTURE_PACKET);
    assert_true(p.ts_us == 10ull * 1000000u + 999999u);
    free(copy);
    /* a fraction of a second over 1 is not normalised (libpcap passes it through) */
    pf.nsec = 0;
    rec_hdr(b, 0, 10, 2000000u, 0, 0);
    assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), CAPTURE_PACKET);
    assert_true(p.ts_us == 12ull * 1000000u);
    free(copy);
    /* libpcap reads the fields as signed 32-bit from a file in the host's order (2^31
     * seconds is 1901) and as unsigned from a file it byte-swaps (2106) */
    for (int big = 0; big < 2; big++) {
        pf.big = (uint8_t)big;
        rec_hdr(b, big, 0x80000000u, 0xfffffff0u, 0, 0);
        assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), CAPTURE_PACKET);
        int host_order = big == (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
        uint64_t want = host_order ? (uint64_t)(-2147483648LL * 1000000LL - 16)
                                   : 2147483648ull * 1000000u + 0xfffffff0u;
        assert_true(p.ts_us == want);
        free(copy);
    }
}

static void test_record_bad(void **state)
{
    (void)state;
    struct pcap_file pf = { .dlt = 1, .snapshot = 65535 };
    uint8_t b[PCAP_FILE_REC_LEN + 100];
    rec_hdr(b, 0, 1, 2, 100, 100);
    memset(b + PCAP_FILE_REC_LEN, 0xab, 100);
    struct capture_pkt p;
    size_t used;
    uint8_t *copy;
    /* the file ends in the record header or in the packet: every length */
    for (size_t n = 1; n < sizeof(b); n++) {
        assert_int_equal(record(&pf, b, n, &p, &used, &copy), FS_ETRUNC);
        free(copy);
    }
    assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), CAPTURE_PACKET);
    free(copy);
    /* a capture length libpcap refuses, whatever the snap length says */
    pf.snapshot = 1000000;
    rec_hdr(b, 0, 1, 2, PCAP_FILE_MAX_CAPLEN + 1, 100);
    assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), FS_ECORRUPT);
    free(copy);
    pf.snapshot = 100;
    assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), FS_ECORRUPT);
    free(copy);
}

static void test_record_over_snaplen(void **state)
{
    (void)state;
    /* caplen 100 in a file snapped at 40: 40 bytes handed out, all 100 skipped */
    struct pcap_file pf = { .dlt = 1, .snapshot = 40 };
    uint8_t b[PCAP_FILE_REC_LEN + 100];
    rec_hdr(b, 0, 1, 2, 100, 1500);
    memset(b + PCAP_FILE_REC_LEN, 0xab, 100);
    struct capture_pkt p;
    size_t used;
    uint8_t *copy;
    assert_int_equal(record(&pf, b, sizeof(b), &p, &used, &copy), CAPTURE_PACKET);
    assert_int_equal(p.caplen, 40);
    assert_int_equal(p.wirelen, 1500);
    assert_int_equal(used, sizeof(b));
    free(copy);
    /* ... but the whole record must be in the file */
    assert_int_equal(record(&pf, b, sizeof(b) - 1, &p, &used, &copy), FS_ETRUNC);
    free(copy);
}

/* ---- capture.c: the mapping against libpcap ---- */

/* A little-endian Ethernet file: n IPv4/UDP packets, ports 1000+i -> 53. */
static char *write_file(int n, int big, int nsec)
{
    static char path[] = "/tmp/test_pcap_file.XXXXXX";
    char *p = strdup(path);
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "wb");
    uint8_t h[PCAP_FILE_HDR_LEN];
    file_hdr(h, big, nsec, 2, 4, 96, 1);
    fwrite(h, 1, sizeof(h), fp);
    for (int i = 0; i < n; i++) {
        uint8_t pkt[14 + 20 + 8 + 20] = { 0 };
        pkt[12] = 0x08; /* IPv4 */
        uint8_t *ip = pkt + 14;
        ip[0] = 0x45;
        ip[3] = 48; /* total length */
        ip[9] = (uint8_t)(i % 3 == 0 ? 6 : 17);
        ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
        ip[20] = (uint8_t)((1000 + i) >> 8), ip[21] = (uint8_t)(1000 + i);
        ip[23] = 53;
        ip[32] = 0x50; /* TCP data offset 5 when TCP */
        uint8_t r[PCAP_FILE_REC_LEN];
        rec_hdr(r, big, 1700000000u + (uint32_t)i, nsec ? 5000u * (uint32_t)i : 5u * (uint32_t)i,
                sizeof(pkt), 1000);
        fwrite(r, 1, sizeof(r), fp);
        fwrite(pkt, 1, sizeof(pkt), fp);
    }
    fclose(fp);
    return p;
}

/* Every packet of path as "ts caplen wirelen first-bytes" lines, through one reader. */
static char *read_all(const char *path, const char *bpf, int libpcap, int *linktype)
{
    if (libpcap)
        setenv("FS_PCAP_READER", "libpcap", 1);
    else
        unsetenv("FS_PCAP_READER");
    struct capture *c = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(capture_open_file(&c, path, bpf, &err), 0);
    *linktype = capture_linktype(c);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    struct capture_pkt p;
    int rc;
    while ((rc = capture_next(c, &p, &err)) == CAPTURE_PACKET) {
        assert_true(len + 128 < cap);
        len += (size_t)snprintf(out + len, cap - len, "%llu %u %u %02x%02x\n",
                                (unsigned long long)p.ts_us, p.caplen, p.wirelen, p.data[34],
                                p.data[35]);
    }
    assert_int_equal(rc, CAPTURE_END);
    capture_close(c);
    unsetenv("FS_PCAP_READER");
    return out;
}

static void test_capture_same_as_libpcap(void **state)
{
    (void)state;
    for (int v = 0; v < 4; v++) {
        char *path = write_file(1000, v & 1, v >> 1);
        const char *filters[] = { NULL, "udp and src port 1500" };
        for (int f = 0; f < 2; f++) {
            int lt1, lt2;
            char *a = read_all(path, filters[f], 0, &lt1);
            char *b = read_all(path, filters[f], 1, &lt2);
            assert_int_equal(lt1, lt2);
            assert_string_equal(a, b);
            assert_true(strlen(a) > 0);
            free(a);
            free(b);
        }
        unlink(path);
        free(path);
    }
}

static void test_capture_bad_filter(void **state)
{
    (void)state;
    char *path = write_file(1, 0, 0);
    struct capture *c = NULL;
    struct fs_err err = { 0 };
    unsetenv("FS_PCAP_READER");
    assert_int_equal(capture_open_file(&c, path, "port nonsense", &err), FS_EINVAL);
    assert_null(c);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_orders_and_precision),
        cmocka_unit_test(test_header_link_types),
        cmocka_unit_test(test_header_others),
        cmocka_unit_test(test_header_snaplen),
        cmocka_unit_test(test_record_basic),
        cmocka_unit_test(test_record_times),
        cmocka_unit_test(test_record_bad),
        cmocka_unit_test(test_record_over_snaplen),
        cmocka_unit_test(test_capture_same_as_libpcap),
        cmocka_unit_test(test_capture_bad_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
