/*
 * The collector's open bins (src/collector/bins.h) on an injected clock: rotation at a
 * bin boundary (not a millisecond before), SIGHUP-style rotation between boundaries,
 * the housekeeping callback once per completed rotation, the counters against what is
 * on disk, and the retry after a write failure on the clock, not the wall.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/bins.h"
#include "store/store_walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN   60000ULL
#define START (29000000ULL * MIN) /* a bin boundary (a multiple of 60 s and 300 s) */

struct fake {
    uint64_t now;
    int rotated, logged;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static void on_rotated(void *ctx, int log)
{
    struct fake *fk = ctx;
    fk->rotated++;
    fk->logged += log;
}

static void flow_at(struct flow *f, uint64_t t, uint16_t port)
{
    memset(f, 0, sizeof(*f));
    f->first = t;
    f->last = t;
    f->proto = 17;
    f->sport = port;
    f->dport = 53;
    f->packets = 1;
    f->bytes = 80;
    f->ipver = 4;
}

/* Records in the bin files of folder dir (a store_reader over the folder). */
static uint64_t stored_records(const char *dir, size_t *files)
{
    struct store_walk w = { 0 };
    struct fs_err err = { 0 };
    *files = 0;
    if (store_walk(dir, 0, &w, &err) != 0)
        return 0;
    *files = w.nfiles;
    store_walk_free(&w);
    struct store_reader *r;
    const char *paths[] = { dir };
    struct store_ropts o = { 0, 0 };
    if (store_reader_open(&r, paths, 1, &o, &err) != 0)
        return 0;
    const struct flow *f;
    uint64_t n = 0;
    while (store_reader_next(r, &f, &err) == 1)
        n++;
    store_reader_close(r);
    return n;
}

static char *temp_store(void)
{
    char *dir = strdup("/tmp/fs-test-bins-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_rotate_at_boundary(void **state)
{
    (void)state;
    char *dir = temp_store();
    struct store_wopts wo = { .codec = STORE_LZ4, .bin_secs = 60 };
    struct fake fk = { .now = START + MIN - 1000 }; /* a second before a boundary */
    struct bins b;
    struct fs_err err = { 0 };
    bins_init(&b, "test", dir, &wo, (struct bins_clock){ fake_now, &fk }, on_rotated, &fk);
    assert_int_equal(bins_open(&b, &err), 0);
    struct flow f;
    for (uint16_t i = 0; i < 10; i++) {
        flow_at(&f, START + 1000 * i, (uint16_t)(1000 + i));
        bins_add(&b, &f, f.last);
    }
    assert_false(bins_due(&b));
    assert_int_equal(bins_wait_ms(&b, 500), 500);
    fk.now = START + MIN - 1;
    assert_false(bins_due(&b));
    assert_int_equal(bins_wait_ms(&b, 500), 1);
    size_t files;
    assert_int_equal(stored_records(dir, &files), 0); /* nothing visible before it closes */
    fk.now = START + MIN;                             /* the boundary itself */
    assert_true(bins_due(&b));
    assert_int_equal(bins_wait_ms(&b, 500), 0);
    bins_rotate(&b, 1);
    assert_false(bins_due(&b)); /* the next boundary is a bin later */
    assert_int_equal(bins_open_records(&b) + b.stored, 10);
    bins_poll(&b, 1);
    assert_int_equal(b.stored, 10);
    assert_int_equal(b.rotations, 1);
    assert_int_equal(fk.rotated, 1);
    assert_int_equal(fk.logged, 1);
    assert_int_equal(stored_records(dir, &files), 10);
    assert_int_equal(files, 1);
    /* The next records open a new writer; the next boundary is START + 2 MIN. */
    flow_at(&f, START + MIN + 5, 2000);
    bins_add(&b, &f, f.last);
    fk.now = START + 2 * MIN - 1;
    assert_false(bins_due(&b));
    fk.now = START + 2 * MIN;
    assert_true(bins_due(&b));
    bins_finish(&b);
    assert_int_equal(b.stored, 11);
    assert_int_equal(b.lost, 0);
    assert_int_equal(fk.rotated, 2);
    assert_int_equal(fk.logged, 1); /* the final rotation does not log */
    assert_int_equal(stored_records(dir, &files), 11);
    assert_int_equal(files, 2);
    rmtree(dir);
    free(dir);
}

/* A rotation asked for between boundaries (SIGHUP) closes the open bins at once; a
 * rotation with nothing open still completes (the templates are saved, expiry runs). */
static void test_rotate_on_demand(void **state)
{
    (void)state;
    char *dir = temp_store();
    struct store_wopts wo = { .codec = STORE_LZ4, .bin_secs = 300 };
    struct fake fk = { .now = START + 1000 };
    struct bins b;
    struct fs_err err = { 0 };
    bins_init(&b, "test", dir, &wo, (struct bins_clock){ fake_now, &fk }, on_rotated, &fk);
    assert_int_equal(bins_open(&b, &err), 0);
    struct flow f;
    flow_at(&f, START + 500, 7);
    bins_add(&b, &f, f.last);
    bins_rotate(&b, 0);
    bins_poll(&b, 1);
    assert_int_equal(b.stored, 1);
    bins_rotate(&b, 0); /* nothing open */
    bins_poll(&b, 1);
    assert_int_equal(fk.rotated, 2);
    size_t files;
    assert_int_equal(stored_records(dir, &files), 1);
    bins_finish(&b);
    rmtree(dir);
    free(dir);
}

/* A bin time no bin can name costs that record only. */
static void test_unbinned(void **state)
{
    (void)state;
    char *dir = temp_store();
    struct store_wopts wo = { .codec = STORE_LZ4, .bin_secs = 60 };
    struct fake fk = { .now = START };
    struct bins b;
    struct fs_err err = { 0 };
    bins_init(&b, "test", dir, &wo, (struct bins_clock){ fake_now, &fk }, NULL, NULL);
    assert_int_equal(bins_open(&b, &err), 0);
    struct flow f;
    flow_at(&f, START, 1);
    bins_add(&b, &f, UINT64_MAX - 5);
    bins_add(&b, &f, f.last);
    bins_finish(&b);
    assert_int_equal(b.unbinned, 1);
    assert_int_equal(b.stored, 1);
    assert_int_equal(b.lost, 0);
    rmtree(dir);
    free(dir);
}

/* The store cannot be written: records are lost and counted, and the writer is tried
 * again only BINS_RETRY_MS later on the injected clock; then writing works again. */
static void test_retry_on_clock(void **state)
{
    (void)state;
    /* A file where the store folder should be: no writer opens, also for root. */
    char *dir = temp_store();
    char bad[600], file[600];
    snprintf(bad, sizeof(bad), "%s/notafolder/", dir);
    snprintf(file, sizeof(file), "%s/notafolder", dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    struct store_wopts wo = { .codec = STORE_LZ4, .bin_secs = 60 };
    struct fake fk = { .now = START };
    struct bins b;
    bins_init(&b, "test", bad, &wo, (struct bins_clock){ fake_now, &fk }, NULL, NULL);
    struct flow f;
    flow_at(&f, START, 1);
    bins_add(&b, &f, f.last); /* open fails: lost, retry at START + BINS_RETRY_MS */
    assert_int_equal(b.lost, 1);
    assert_true(b.failing);
    fk.now = START + BINS_RETRY_MS - 1;
    bins_add(&b, &f, f.last); /* not tried again yet */
    assert_int_equal(b.lost, 2);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(mkdir(file, 0755), 0);
    bins_add(&b, &f, f.last); /* still before the retry time: lost although it would work */
    assert_int_equal(b.lost, 3);
    fk.now = START + BINS_RETRY_MS;
    bins_add(&b, &f, f.last); /* tried again: works */
    bins_add(&b, &f, f.last);
    bins_finish(&b);
    assert_int_equal(b.lost, 3);
    assert_int_equal(b.stored, 2);
    assert_false(b.failing);
    size_t files;
    assert_int_equal(stored_records(file, &files), 2);
    rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotate_at_boundary),
        cmocka_unit_test(test_rotate_on_demand),
        cmocka_unit_test(test_unbinned),
        cmocka_unit_test(test_retry_on_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
