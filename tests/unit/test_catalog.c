/*
 * Catalogue: format round trip, errors with file:line:field, Packages stanzas (plain,
 * gzip, xz, lz4 made here), hostile values, CSV import.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>

#include "detect/catalog.h"

static const char hdr[] = "#flowsleuth-catalog 1\n"
                          "size\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread\n";

static void test_round_trip(void **state)
{
    (void)state;
    struct catalog c, d;
    catalog_init(&c);
    struct cat_entry e = { .size = 300,
                           .name = "b\tx",
                           .product = "p\\q",
                           .version = "1\n2",
                           .arch = "amd64",
                           .os = "debian/bookworm",
                           .url = "u",
                           .digest = "",
                           .source = CAT_SRC_LEARNED,
                           .spread = 17 };
    catalog_add(&c, &e);
    e.size = 100;
    e.name = "a";
    e.source = CAT_SRC_DEBIAN;
    catalog_add(&c, &e);
    assert_int_equal(c.sorted, 0);
    catalog_sort(&c);
    assert_int_equal(c.e[0].size, 100);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(catalog_write(&c, fp), 0);
    fclose(fp);
    assert_non_null(strstr(buf, "b\\tx\tp\\\\q\t1\\n2"));
    catalog_init(&d);
    struct fs_err err = { 0 };
    assert_int_equal(catalog_parse(&d, "t", buf, len, &err), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.e[1].name, "b\tx");
    assert_string_equal(d.e[1].product, "p\\q");
    assert_string_equal(d.e[1].version, "1\n2");
    assert_int_equal(d.e[1].spread, 17);
    assert_int_equal(d.e[1].source, CAT_SRC_LEARNED);
    assert_int_equal(catalog_lower_bound(&d, 101), 1);
    assert_int_equal(catalog_lower_bound(&d, 301), 2);
    free(buf);
    catalog_free(&c);
    catalog_free(&d);
}

/* Parse text after the header; expect rc and a message containing want. */
static void expect_error(const char *body, int rc, const char *want)
{
    char text[1024];
    snprintf(text, sizeof(text), "%s%s", hdr, body);
    struct catalog c;
    catalog_init(&c);
    struct fs_err err = { 0 };
    assert_int_equal(catalog_parse(&c, "cat.tsv", text, strlen(text), &err), rc);
    if (!strstr(err.msg, want))
        fail_msg("'%s' does not contain '%s'", err.msg, want);
    catalog_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("12x\ta\t\t\t\t\t\t\tdebian\t0\n", FS_ECORRUPT, "cat.tsv:3: field 'size'");
    expect_error("# comment\n\n1\ta\t\t\t\t\t\t\tbogus\t0\n", FS_ECORRUPT,
                 "cat.tsv:5: field 'source'");
    expect_error("1\ta\t\t\t\t\t\t\tdebian\n", FS_ECORRUPT, "cat.tsv:3: field 'spread': missing");
    expect_error("1\ta\n", FS_ECORRUPT, "field 'product': missing");
    expect_error("1\ta\\x\t\t\t\t\t\t\tdebian\t0\n", FS_ECORRUPT, "field 'name': bad backslash");
    expect_error("1\ta\t\t\t\t\t\t\tdebian\t0\textra\n", FS_ECORRUPT, "more than");
    expect_error("99999999999999999999\ta\t\t\t\t\t\t\tdebian\t0\n", FS_ECORRUPT, "field 'size'");
    expect_error("1\t\t\t\t\t\t\t\tdebian\t0\n", FS_ECORRUPT, "field 'name': empty");
    struct catalog c;
    catalog_init(&c);
    struct fs_err err = { 0 };
    assert_int_equal(catalog_parse(&c, "x", "#flowsleuth-catalog 3\n", 22, &err), FS_EVERSION);
    assert_int_equal(catalog_parse(&c, "x", "size\tname\n", 10, &err), FS_EFORMAT);
    assert_int_equal(catalog_parse(&c, "x", "#flowsleuth-catalog 1\nsize\n", 27, &err), FS_EFORMAT);
    assert_non_null(strstr(err.msg, "x:2:"));
    assert_int_equal(catalog_parse(&c, "x", "", 0, &err), FS_EFORMAT);
    catalog_free(&c);
}

static const char packages[] =
    "Package: a2ps\nVersion: 1:4.14-8\nArchitecture: amd64\nDescription: GNU a2ps\n"
    " long text\n .\nFilename: pool/main/a/a2ps/a2ps_4.14-8_amd64.deb\nSize: 641620\n"
    "SHA256: abcd\n\n"
    "Package: nosize\nVersion: 1\n\n"
    "Package: badsize\nVersion: 1\nSize: 12k\n\n"
    "Package: libx\nSource: x (1.2)\nVersion: 1.2+b1\nArchitecture: all\nSize: 99999999999999\n"
    "\r\n"
    "Package: huge\nVersion: 1\nSize: 99999999999999999999999\n";

struct warns {
    int n;
    char last[512];
};

static void on_warn(void *ctx, const char *msg)
{
    struct warns *w = ctx;
    w->n++;
    snprintf(w->last, sizeof(w->last), "%s", msg);
}

/* Parse the test index from (possibly compressed) bytes and check the entries. */
static void check_packages(const uint8_t *bytes, size_t n)
{
    char *buf;
    size_t len;
    struct fs_err err = { 0 };
    assert_int_equal(catalog_decompress(bytes, n, 1 << 20, &buf, &len, &err), 0);
    assert_int_equal(len, strlen(packages));
    struct catalog c;
    catalog_init(&c);
    struct warns w = { 0 };
    size_t added, skipped;
    catalog_debian_parse(&c, "P", buf, len, "debian/bookworm", on_warn, &w, &added, &skipped);
    assert_int_equal(added, 2);
    assert_int_equal(skipped, 3);
    assert_int_equal(w.n, 3);
    assert_non_null(strstr(w.last, "P:24: field 'Size'"));
    catalog_sort(&c);
    assert_string_equal(c.e[0].name, "a2ps");
    assert_string_equal(c.e[0].product, "a2ps");
    assert_string_equal(c.e[0].version, "1:4.14-8");
    assert_string_equal(c.e[0].digest, "sha256:abcd");
    assert_string_equal(c.e[0].url, "pool/main/a/a2ps/a2ps_4.14-8_amd64.deb");
    assert_string_equal(c.e[0].os, "debian/bookworm");
    assert_int_equal(c.e[0].size, 641620);
    assert_string_equal(c.e[1].product, "x");
    assert_int_equal(c.e[1].size, 99999999999999ULL);
    free(buf);
    catalog_free(&c);
}

static void test_packages_plain(void **state)
{
    (void)state;
    check_packages((const uint8_t *)packages, strlen(packages));
}

static void test_packages_gz(void **state)
{
    (void)state;
    uint8_t out[4096];
    z_stream z = { 0 };
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)packages;
    z.avail_in = (uInt)strlen(packages);
    z.next_out = out;
    z.avail_out = sizeof(out);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = sizeof(out) - z.avail_out;
    deflateEnd(&z);
    check_packages(out, n);
    /* truncated: an error, not a crash or a short index */
    char *buf;
    size_t len;
    struct fs_err err = { 0 };
    assert_int_not_equal(catalog_decompress(out, n / 2, 1 << 20, &buf, &len, &err), 0);
    /* a bomb beyond the cap */
    assert_int_equal(catalog_decompress(out, n, 100, &buf, &len, &err), FS_ENOSPC);
}

static void test_packages_xz(void **state)
{
    (void)state;
    uint8_t out[4096];
    size_t n = 0;
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)packages,
                                             strlen(packages), out, &n, sizeof(out)),
                     LZMA_OK);
    check_packages(out, n);
    char *buf;
    size_t len;
    struct fs_err err = { 0 };
    assert_int_not_equal(catalog_decompress(out, n - 5, 1 << 20, &buf, &len, &err), 0);
}

static void test_packages_lz4(void **state)
{
    (void)state;
    uint8_t out[8192];
    size_t n = LZ4F_compressFrame(out, sizeof(out), packages, strlen(packages), NULL);
    assert_false(LZ4F_isError(n));
    check_packages(out, n);
    char *buf;
    size_t len;
    struct fs_err err = { 0 };
    assert_int_not_equal(catalog_decompress(out, n - 3, 1 << 20, &buf, &len, &err), 0);
    out[6] ^= 0x55; /* header checksum */
    assert_int_equal(catalog_decompress(out, n, 1 << 20, &buf, &len, &err), FS_ECODEC);
}

static void test_csv(void **state)
{
    (void)state;
    const char csv[] = "name,size,version,extra,url\n"
                       "\"setup, x64\",1048576,\"2.0 \"\"beta\"\"\",z,http://h/s.exe\n"
                       "\n"
                       "plain,2048,1,,\n"
                       "bad,12a,1,,\n";
    struct catalog c;
    catalog_init(&c);
    struct fs_err err = { 0 };
    assert_int_equal(catalog_import_csv(&c, "in.csv", csv, strlen(csv), &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "in.csv:5: field 'size'"));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.e[0].name, "setup, x64");
    assert_string_equal(c.e[0].version, "2.0 \"beta\"");
    assert_int_equal(c.e[0].source, CAT_SRC_IMPORT);
    assert_int_equal(c.e[1].size, 2048);
    catalog_free(&c);
    catalog_init(&c);
    assert_int_equal(catalog_import_csv(&c, "h.csv", "name,url\n", 9, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "h.csv:1: field 'size'"));
    assert_int_equal(catalog_import_csv(&c, "q.csv", "size\n\"12\n", 9, &err), FS_ECORRUPT);
    catalog_free(&c);
}

static void test_suite_name(void **state)
{
    (void)state;
    char s[64];
    assert_int_equal(catalog_suite_from_name("/var/lib/apt/lists/deb.debian.org_debian-security_"
                                             "dists_bookworm-security_main_binary-amd64_"
                                             "Packages.lz4",
                                             s, sizeof(s)),
                     1);
    assert_string_equal(s, "bookworm-security");
    assert_int_equal(catalog_suite_from_name("Packages.gz", s, sizeof(s)), 0);
}

/* 70,000 entries load in well under the 0.3 s budget (checked loosely here: the point
 * is that the arena, not one malloc per field, holds the strings). */
static void test_many(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    fputs(hdr, fp);
    for (int i = 0; i < 70000; i++)
        fprintf(fp,
                "%d\tpkg%d\tp\t1.%d\tamd64\tdebian/bookworm\tpool/main/p/pkg%d.deb\t\tdebian\t0\n",
                (i * 7919) % 1000003, i, i, i);
    fclose(fp);
    struct catalog c;
    catalog_init(&c);
    struct fs_err err = { 0 };
    assert_int_equal(catalog_parse(&c, "big", buf, len, &err), 0);
    catalog_sort(&c);
    assert_int_equal(c.n, 70000);
    for (size_t i = 1; i < c.n; i++)
        assert_true(c.e[i - 1].size <= c.e[i].size);
    free(buf);
    catalog_free(&c);
}

/* Bad entries are counted and dropped: size 0, above 1 TiB, exact duplicates (three
 * copies of one, interleaved in url order with an entry that differs only by url,
 * which stays); the rest is untouched and sorted. */
static void test_clean(void **state)
{
    (void)state;
    struct catalog c;
    struct cat_dropped d;
    catalog_init(&c);
    const struct {
        uint64_t size;
        const char *url;
    } in[] = { { 5000, "pool/a.deb" }, { 0, "pool/z.deb" },       { 5000, "mirror/a.deb" },
               { 5000, "pool/a.deb" }, { CAT_SIZE_MAX + 1, "x" }, { 5000, "pool/a.deb" },
               { 7000, "pool/b.deb" }, { CAT_SIZE_MAX, "max" } };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct cat_entry e = { .size = in[i].size, .name = "a", .version = "1", .url = in[i].url };
        catalog_add(&c, &e);
    }
    assert_int_equal(catalog_clean(&c, &d), 4);
    assert_int_equal(d.zero, 1);
    assert_int_equal(d.absurd, 1);
    assert_int_equal(d.dup, 2);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.e[0].size, 5000);
    assert_int_equal(c.e[1].size, 5000);
    assert_string_not_equal(c.e[0].url, c.e[1].url);
    assert_int_equal(c.e[2].size, 7000);
    assert_true(c.e[3].size == CAT_SIZE_MAX);
    char msg[160];
    catalog_dropped_text(&d, msg, sizeof(msg));
    assert_string_equal(msg, "4 entries skipped: 1 of size 0, 1 above 1 TiB, 2 duplicates of an "
                             "entry kept");
    assert_int_equal(catalog_clean(&c, &d), 0); /* clean stays clean */
    catalog_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_packages_plain),
        cmocka_unit_test(test_packages_gz),  cmocka_unit_test(test_packages_xz),
        cmocka_unit_test(test_packages_lz4), cmocka_unit_test(test_csv),
        cmocka_unit_test(test_suite_name),   cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
