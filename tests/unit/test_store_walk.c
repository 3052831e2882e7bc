/*
 * The store folder walk (src/io/store_walk.c) and its users, expiry and the reader, on a
 * store with symlinks inside it: a day folder linked to a folder outside the store, a
 * `loop -> ..` link and a bin file linked to one outside. Nothing outside the store is
 * read or removed, each file inside is read once, a dry run removes nothing.
 */
#include "store/expire.h"
#include "store/store.h"
#include "store/store_walk.h"

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

#define DAY1 1704067200000ULL /* 2024-01-01T00:00Z */
#define DAY2 (DAY1 + 86400000ULL)

static char top[64], root[96], out[96];

/* Run a shell command made by snprintf (a literal format, so the compiler checks it). */
#define SH(...)                                    \
    do {                                           \
        char cmd_[512];                            \
        snprintf(cmd_, sizeof(cmd_), __VA_ARGS__); \
        assert_int_equal(system(cmd_), 0);         \
    } while (0)

/* Write n flows ending at t into the store folder dir (one bin file). */
static void write_bin(const char *dir, uint64_t t, size_t n)
{
    struct store_writer *w;
    struct fs_err e;
    char folder[128];
    snprintf(folder, sizeof(folder), "%s/", dir); /* a store folder, made as needed */
    assert_int_equal(store_writer_open(&w, folder, NULL, &e), 0);
    for (size_t i = 0; i < n; i++) {
        struct flow f = { 0 };
        f.first = t;
        f.last = t + i;
        f.bytes = 100 + i;
        f.packets = 1;
        assert_int_equal(store_writer_add(w, &f, &e), 0);
    }
    assert_int_equal(store_writer_close(w, &e), 0);
}

static int exists(const char *dir, const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    return lstat(p, &st) == 0;
}

/*
 *   top/store/2024/01/01/flows.202401010000        10 flows (the only real bin file)
 *   top/store/2024/01/01/flows.202401010005 -> top/out/2024/01/02/flows.202401020000
 *   top/store/2024/01/02 -> top/out/2024/01/02     (holds a bin file and a stale temp)
 *   top/store/loop -> ..
 */
static int setup(void **state)
{
    (void)state;
    snprintf(top, sizeof(top), "/tmp/fs-walk-XXXXXX");
    assert_non_null(mkdtemp(top));
    snprintf(root, sizeof(root), "%s/store", top);
    snprintf(out, sizeof(out), "%s/out", top);
    write_bin(root, DAY1, 10);
    write_bin(out, DAY2, 7);
    /* pid 2^22+1 is above pid_max's default: no such process */
    SH("echo x > %s/2024/01/02/.flows.202401020005.tmp.4194305.0", out);
    SH("ln -s %s/2024/01/02 %s/2024/01/02", out, root);
    SH("ln -s %s/2024/01/02/flows.202401020000 %s/2024/01/01/flows.202401010005", out, root);
    SH("ln -s .. %s/loop", root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    SH("rm -rf '%s'", top);
    return 0;
}

static void test_walk_skips_links(void **state)
{
    (void)state;
    struct store_walk w = { 0 };
    struct fs_err e;
    assert_int_equal(store_walk(root, 1, &w, &e), 0);
    assert_int_equal(w.nfiles, 1);
    assert_non_null(strstr(w.files[0].path, "2024/01/01/flows.202401010000"));
    assert_string_equal(w.files[0].path + w.files[0].rel, "2024/01/01/flows.202401010000");
    assert_int_equal(w.ntmps, 0);
    assert_int_equal(w.skipped_links, 3);
    int fd = store_walk_open(&w.files[0], 0);
    assert_true(fd >= 0);
    close(fd);
    store_walk_free(&w);
    /* The root itself may be a link: the user named it. */
    char link[128];
    snprintf(link, sizeof(link), "%s/via", top);
    SH("ln -s store %s", link);
    assert_int_equal(store_walk(link, 0, &w, &e), 0);
    assert_int_equal(w.nfiles, 1);
    store_walk_free(&w);
    unlink(link);
}

static void test_read_once(void **state)
{
    (void)state;
    struct store_reader *r;
    struct fs_err e;
    const char *paths[] = { root };
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    const struct flow *f;
    int rc, n = 0;
    while ((rc = store_reader_next(r, &f, &e)) == 1)
        n++;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 10);
    store_reader_close(r);
}

/* A folder without bin files is an error naming it, not an empty result. */
static void test_no_files(void **state)
{
    (void)state;
    char empty[128];
    snprintf(empty, sizeof(empty), "%s/empty", top);
    SH("mkdir -p %s/sub && echo x > %s/sub/nfcapd.202401010000", empty, empty);
    struct store_reader *r;
    struct fs_err e = { 0 };
    const char *paths[] = { empty };
    assert_true(store_reader_open(&r, paths, 1, NULL, &e) < 0);
    assert_null(r);
    assert_non_null(strstr(e.msg, "no flowsleuth flow files in"));
    assert_non_null(strstr(e.msg, empty));
}

static void test_expire_stays_inside(void **state)
{
    (void)state;
    struct expire_opts dry = { 0, 1, DAY2, 1 }, real = { 0, 1, DAY2, 0 };
    struct expire_stats st;
    struct fs_err e;
    /* Dry run: nothing goes, inside or out, stale temp files included. */
    assert_int_equal(store_expire(root, &dry, NULL, NULL, &st, &e), 0);
    assert_int_equal(st.files, 1);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.stale_tmp, 0);
    assert_true(exists(root, "2024/01/01/flows.202401010000"));
    assert_int_equal(store_expire(root, &real, NULL, NULL, &st, &e), 0);
    assert_int_equal(st.removed, 1);
    assert_false(exists(root, "2024/01/01/flows.202401010000"));
    /* The linked file and folder and what they point at are all still there. */
    assert_true(exists(root, "2024/01/01/flows.202401010005"));
    assert_true(exists(root, "2024/01/02"));
    assert_true(exists(root, "loop"));
    assert_true(exists(out, "2024/01/02/flows.202401020000"));
    assert_true(exists(out, "2024/01/02/.flows.202401020005.tmp.4194305.0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_skips_links),
        cmocka_unit_test(test_read_once),
        cmocka_unit_test(test_no_files),
        cmocka_unit_test(test_expire_stays_inside),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
