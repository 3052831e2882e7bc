/* Unit tests of the time series: bins, spreading of long flows, --load start, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "query/count.h"

#include <string.h>

static struct flow span(uint64_t first, uint64_t last, uint64_t bytes, uint64_t packets)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.first = first;
    f.last = last;
    f.bytes = bytes;
    f.packets = packets;
    return f;
}

/* 5 s .. 25 s over 10 s bins: a quarter, a half, a quarter. */
static void test_spread_three_bins(void **state)
{
    (void)state;
    struct count c;
    count_init(&c, 10000, COUNT_LOAD_SPREAD, 1000);
    struct flow f = span(5000, 25000, 1500, 16);
    f.rbytes = 500; /* biflow totals: 2000 bytes, 20 packets */
    f.rpackets = 4;
    assert_int_equal(count_add(&c, &f), 0);
    assert_int_equal(c.nbins, 3);
    assert_int_equal(count_bin_start(&c, 0), 0);
    assert_int_equal(count_bin_start(&c, 2), 20000);
    assert_int_equal(c.bins[0].flows, 1);
    assert_int_equal(c.bins[1].flows, 0);
    assert_int_equal(c.bins[0].bytes, 500);
    assert_int_equal(c.bins[1].bytes, 1000);
    assert_int_equal(c.bins[2].bytes, 500);
    assert_int_equal(c.bins[0].packets, 5);
    assert_int_equal(c.bins[1].packets, 10);
    assert_int_equal(c.bins[2].packets, 5);
    count_free(&c);
}

static void test_load_start(void **state)
{
    (void)state;
    struct count c;
    count_init(&c, 10000, COUNT_LOAD_START, 1000);
    struct flow f = span(5000, 25000, 2000, 20);
    assert_int_equal(count_add(&c, &f), 0);
    assert_int_equal(c.nbins, 1);
    assert_int_equal(c.bins[0].bytes, 2000);
    assert_int_equal(c.bins[0].packets, 20);
    count_free(&c);
}

/* Uneven shares still add up to the totals exactly; bins grow both ways with zeros. */
static void test_rounding_and_gaps(void **state)
{
    (void)state;
    struct count c;
    count_init(&c, 300000, COUNT_LOAD_SPREAD, 1000);
    struct flow f = span(1700000123456ull, 1700001000001ull, 1000003, 7);
    assert_int_equal(count_add(&c, &f), 0);
    uint64_t b = 0, p = 0;
    for (size_t i = 0; i < c.nbins; i++) {
        b += c.bins[i].bytes;
        p += c.bins[i].packets;
    }
    assert_int_equal(b, 1000003);
    assert_int_equal(p, 7);
    size_t n = c.nbins;
    struct flow early = span(1699990000000ull, 1699990000000ull, 10, 1);
    assert_int_equal(count_add(&c, &early), 0);
    assert_true(c.nbins > n);
    assert_int_equal(count_bin_start(&c, 0), 1699990000000ull / 300000 * 300000);
    assert_int_equal(c.bins[0].bytes, 10);
    assert_int_equal(c.bins[1].flows, 0); /* a gap */
    assert_int_equal(c.flows, 2);
    assert_int_equal(c.bytes, 1000013);
    struct flow backwards = span(1700000000000ull, 1699999999000ull, 5, 1); /* last < first */
    assert_int_equal(count_add(&c, &backwards), 0);
    count_free(&c);
}

static void test_bound(void **state)
{
    (void)state;
    struct count c;
    count_init(&c, 1000, COUNT_LOAD_SPREAD, 10);
    struct flow ok = span(0, 9999, 1, 1);
    struct flow far = span(0, 10000, 1, 1);
    assert_int_equal(count_add(&c, &ok), 0);
    assert_int_equal(count_add(&c, &far), FS_ENOSPC);
    struct flow later = span(50000, 50000, 1, 1);
    assert_int_equal(count_add(&c, &later), FS_ENOSPC);
    assert_int_equal(c.flows, 1);
    count_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spread_three_bins),
        cmocka_unit_test(test_load_start),
        cmocka_unit_test(test_rounding_and_gaps),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
