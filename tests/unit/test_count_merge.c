/*
 * count_merge: series counted apart (as count's decoding threads do) and merged equal
 * the series counted in order, bin by bin, for both loads and with gaps at either end;
 * a merge past max_bins is refused and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "query/count.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void gen(struct flow *f, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].first = 1700000000000ULL + rnd(&s) % 3600000;
        f[i].last = f[i].first + (rnd(&s) % 4 ? rnd(&s) % 5000 : rnd(&s) % 900000);
        f[i].bytes = rnd(&s) % 1000000;
        f[i].rbytes = rnd(&s) % 100000;
        f[i].packets = 1 + rnd(&s) % 1000;
        f[i].rpackets = rnd(&s) % 100;
    }
}

static void same_series(const struct count *a, const struct count *b)
{
    assert_int_equal(a->nbins, b->nbins);
    assert_true(a->base == b->base);
    assert_true(a->flows == b->flows && a->bytes == b->bytes && a->packets == b->packets);
    for (size_t i = 0; i < a->nbins; i++) {
        assert_true(a->bins[i].flows == b->bins[i].flows);
        assert_true(a->bins[i].bytes == b->bins[i].bytes);
        assert_true(a->bins[i].packets == b->bins[i].packets);
    }
}

static void test_merge_equals_sequential(void **state)
{
    (void)state;
    size_t n = 20000;
    struct flow *f = malloc(n * sizeof(*f));
    gen(f, n, 5);
    for (int load = COUNT_LOAD_SPREAD; load <= COUNT_LOAD_START; load++) {
        struct count seq, part[3], all;
        count_init(&seq, 60000, (enum count_load)load, 100000);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(count_add(&seq, &f[i]), 0);
        for (int k = 0; k < 3; k++)
            count_init(&part[k], 60000, (enum count_load)load, 100000);
        uint64_t s = 77;
        /* part 2 gets only the first quarter: merges extend at both ends */
        for (size_t i = 0; i < n; i++) {
            int k =
                f[i].first < 1700000000000ULL + 900000 ? (int)(rnd(&s) % 3) : (int)(rnd(&s) % 2);
            assert_int_equal(count_add(&part[k], &f[i]), 0);
        }
        count_init(&all, 60000, (enum count_load)load, 100000);
        for (int k = 2; k >= 0; k--) {
            assert_int_equal(count_merge(&all, &part[k]), 0);
            count_free(&part[k]);
        }
        same_series(&seq, &all);
        struct count empty;
        count_init(&empty, 60000, (enum count_load)load, 10);
        assert_int_equal(count_merge(&all, &empty), 0); /* nothing to add */
        same_series(&seq, &all);
        count_free(&empty);
        count_free(&all);
        count_free(&seq);
    }
    free(f);
}

static void test_merge_past_max(void **state)
{
    (void)state;
    struct flow f[2];
    gen(f, 2, 9);
    f[0].first = f[0].last = 1700000000000ULL;
    f[1].first = f[1].last = 1700000000000ULL + 50 * 60000;
    struct count a, b;
    count_init(&a, 60000, COUNT_LOAD_SPREAD, 20);
    count_init(&b, 60000, COUNT_LOAD_SPREAD, 20);
    assert_int_equal(count_add(&a, &f[0]), 0);
    assert_int_equal(count_add(&b, &f[1]), 0);
    assert_int_equal(count_merge(&a, &b), FS_ENOSPC); /* 51 bins > 20 */
    assert_int_equal(a.nbins, 1);
    assert_true(a.flows == 1 && a.bins[0].flows == 1);
    count_free(&a);
    count_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_equals_sequential),
        cmocka_unit_test(test_merge_past_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
