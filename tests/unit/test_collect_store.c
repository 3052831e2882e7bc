/*
 * The store writer under the collector (issue 11): a record whose bin time no bin can
 * name (past year 9999) is an error of that record alone (FS_EINVAL), not of the
 * writer: the records before and after it are written and the close succeeds. Before,
 * the error was kept as the writer's first and the close failed, so the collector
 * counted every open bin as lost although it was on disk.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static uint64_t count_records(const char *dir)
{
    struct store_reader *r;
    struct fs_err e;
    const char *paths[1] = { dir };
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    const struct flow *f;
    uint64_t n = 0;
    while (store_reader_next(r, &f, &e) == 1)
        n++;
    store_reader_close(r);
    return n;
}

static void test_bad_bin_time_is_per_record(void **state)
{
    (void)state;
    char dir[] = "/tmp/fs-test-collect-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct store_writer *w;
    struct fs_err e;
    assert_int_equal(store_writer_open(&w, dir, NULL, &e), 0);
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.ipver = 4;
    f.first = 1700000000000ull;
    f.last = 1700000001000ull;
    f.bytes = 100;
    assert_int_equal(store_writer_add(w, &f, &e), 0);
    struct flow bad = f;
    bad.first = bad.last = 300000000000000ull; /* year 11476 */
    assert_int_equal(store_writer_add(w, &bad, &e), FS_EINVAL);
    assert_int_equal(store_writer_add_at(w, &f, (uint64_t)-5000, &e), FS_EINVAL);
    /* Filed by another time (the arrival), the same record is written. */
    assert_int_equal(store_writer_add_at(w, &bad, f.last, &e), 0);
    assert_int_equal(store_writer_add(w, &f, &e), 0);
    assert_int_equal(store_writer_close(w, &e), 0);
    assert_int_equal(count_records(dir), 3);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_bin_time_is_per_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
