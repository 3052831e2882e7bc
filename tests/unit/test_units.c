/* Units: one meaning of k/M/G/T (1000) and Ki/Mi/Gi/Ti (1024) everywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/units.h"

static uint64_t ok(const char *s, uint64_t dflt)
{
    uint64_t v = 0;
    int rc = units_parse_str(s, dflt, &v);
    if (rc != 0)
        fail_msg("'%s' refused (%d)", s, rc);
    return v;
}

static void test_decimal_and_binary(void **state)
{
    (void)state;
    assert_int_equal(ok("1500", 1), 1500);
    assert_int_equal(ok("1k", 1), 1000);
    assert_int_equal(ok("1K", 1), 1000);
    assert_int_equal(ok("1.5M", 1), 1500000);
    assert_int_equal(ok("2G", 1), 2000000000ULL);
    assert_int_equal(ok("3T", 1), 3000000000000ULL);
    assert_int_equal(ok("1Ki", 1), 1024);
    assert_int_equal(ok("1.5Ki", 1), 1536);
    assert_int_equal(ok("2Mi", 1), 2ULL << 20);
    assert_int_equal(ok("10GiB", 1), 10ULL << 30);
    assert_int_equal(ok("10GB", 1), 10000000000ULL);
    assert_int_equal(ok("1Ti", 1), 1ULL << 40);
    assert_int_equal(ok("7B", 1), 7);
    assert_int_equal(ok("0.5k", 1), 500);
}

static void test_default_scale(void **state)
{
    (void)state;
    /* An option whose plain numbers are MiB (stats --max-mem 512). */
    assert_int_equal(ok("512", 1 << 20), 512ULL << 20);
    assert_int_equal(ok("512M", 1 << 20), 512000000ULL);
    assert_int_equal(ok("512Mi", 1 << 20), 512ULL << 20);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *bad[] = { "",    "k",     "1.5", "1x",  "1Mx", "1iB", "1KiBB",   "1.k",
                                 ".5k", "1..5k", "1m",  "1Pi", "-1",  "1 k", "1.0001k", "1e3" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 42;
        if (units_parse_str(bad[i], 1, &v) != -1)
            fail_msg("'%s' taken as %llu", bad[i], (unsigned long long)v);
        assert_int_equal(v, 42);
    }
    uint64_t v;
    assert_int_equal(units_parse_str("18446744073709551615", 1, &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(units_parse_str("18446744073709551616", 1, &v), -2);
    assert_int_equal(units_parse_str("20000000T", 1, &v), -2);
    assert_int_equal(units_parse_str("16777216Ti", 1, &v), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_and_binary),
        cmocka_unit_test(test_default_scale),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
