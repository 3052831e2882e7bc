/*
 * Store expiry (src/io/expire.c) on a temp store folder: age and size limits remove
 * the oldest bins first, the dry run removes nothing, stale temp files of dead writers
 * go, other files stay, empty folders are tidied; duration and size parsing.
 */
#include "store/expire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char root[64];

static void put(const char *rel, size_t bytes)
{
    char p[256], cmd[300];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < bytes; i++)
        fputc('x', fp);
    fclose(fp);
}

static int exists(const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return stat(p, &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/fs-expire-XXXXXX");
    assert_non_null(mkdtemp(root));
    put("2024/01/01/flows.202401010000", 100);
    put("2024/01/01/flows.202401010005", 100);
    put("2024/01/01/flows.202401010005.1", 50);
    put("2024/01/02/flows.202401020000", 100);
    put("2024/01/03/flows.202401030000", 100);
    put(".templates", 1000);
    put("2024/01/03/notes.txt", 10);
    /* pid 2^22+1 is above pid_max's default: no such process */
    put("2024/01/03/.flows.202401030005.tmp.4194305.0", 70);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd);
}

struct seen {
    int n;
    uint64_t bytes;
};

static void note(void *ctx, const char *path, uint64_t bytes, const char *why)
{
    struct seen *s = ctx;
    (void)path;
    assert_non_null(why);
    s->n++;
    s->bytes += bytes;
}

/* 2024-01-03 12:00 UTC */
#define NOW 1704283200000ull
#define DAY 86400000ull

static void test_dry_run(void **state)
{
    (void)state;
    struct expire_opts o = { .max_age_ms = 2 * DAY, .now_ms = NOW, .dry_run = 1 };
    struct expire_stats st;
    struct seen s = { 0 };
    assert_int_equal(store_expire(root, &o, note, &s, &st, NULL), 0);
    assert_int_equal(st.files, 5);
    assert_int_equal(st.bytes, 450);
    assert_int_equal(st.removed, 3); /* the three bins of Jan 1 (started > 2 days ago) */
    assert_int_equal(s.n, 4);        /* ... and the stale temp file */
    assert_true(exists("2024/01/01/flows.202401010000"));
    assert_true(exists("2024/01/03/.flows.202401030005.tmp.4194305.0"));
}

static void test_age(void **state)
{
    (void)state;
    struct expire_opts o = { .max_age_ms = 2 * DAY, .now_ms = NOW };
    struct expire_stats st;
    assert_int_equal(store_expire(root, &o, NULL, NULL, &st, NULL), 0);
    assert_int_equal(st.removed, 3);
    assert_int_equal(st.removed_bytes, 250);
    assert_int_equal(st.stale_tmp, 1);
    assert_false(exists("2024/01/01"));
    assert_true(exists("2024/01/02/flows.202401020000"));
    assert_false(exists("2024/01/03/.flows.202401030005.tmp.4194305.0"));
    assert_true(exists("2024/01/03/notes.txt"));
    assert_true(exists(".templates"));
}

static void test_size(void **state)
{
    (void)state;
    struct expire_opts o = { .max_bytes = 260, .now_ms = NOW };
    struct expire_stats st;
    struct seen s = { 0 };
    assert_int_equal(store_expire(root, &o, note, &s, &st, NULL), 0);
    /* 450 bytes: 0000 (100) and 0005 (100) go, leaving 250 <= 260 */
    assert_int_equal(st.removed, 2);
    assert_false(exists("2024/01/01/flows.202401010005"));
    assert_true(exists("2024/01/01/flows.202401010005.1"));
    assert_true(exists("2024/01/02/flows.202401020000"));
}

static void test_parse(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(expire_parse_age("30d", &v), 0);
    assert_int_equal(v, 30 * DAY);
    assert_int_equal(expire_parse_age("90m", &v), 0);
    assert_int_equal(v, 90 * 60000ull);
    assert_int_equal(expire_parse_age("3600", &v), 0);
    assert_int_equal(v, 3600000ull);
    assert_int_equal(expire_parse_age("2w", &v), 0);
    assert_int_equal(v, 14 * DAY);
    assert_int_equal(expire_parse_age("12x", &v), FS_EINVAL);
    assert_int_equal(expire_parse_age("-1d", &v), FS_EINVAL);
    assert_int_equal(expire_parse_age("", &v), FS_EINVAL);
    assert_int_equal(expire_parse_age("0", &v), FS_EINVAL);
    assert_int_equal(expire_parse_size("10G", &v), 0);
    assert_int_equal(v, 10000000000ull);
    assert_int_equal(expire_parse_size("10Gi", &v), 0);
    assert_int_equal(v, 10ull << 30);
    assert_int_equal(expire_parse_size("500MB", &v), 0);
    assert_int_equal(v, 500000000ull);
    assert_int_equal(expire_parse_size("500MiB", &v), 0);
    assert_int_equal(v, 500ull << 20);
    assert_int_equal(expire_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(expire_parse_size("99999999999T", &v), FS_EINVAL);
    assert_int_equal(expire_parse_size("1Q", &v), FS_EINVAL);
    assert_int_equal(expire_parse_size("G", &v), FS_EINVAL);
}

static void test_missing(void **state)
{
    (void)state;
    struct expire_opts o = { .max_bytes = 1, .now_ms = NOW };
    struct fs_err e = { 0 };
    assert_true(store_expire("/nonexistent/fs-store", &o, NULL, NULL, NULL, &e) < 0);
    assert_true(e.msg[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size, setup, teardown),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
