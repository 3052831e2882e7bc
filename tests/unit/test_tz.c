/* Time zones (core/tz.c): the offset table against known transitions, the hour of
 * the week around them, and names the C library would silently take as UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/flow.h"
#include "core/tz.h"
#include "query/filter.h"

#include <stdlib.h>
#include <string.h>

/* ms of a UTC time (seconds). */
#define MS(s) ((uint64_t)(s)*1000)

static void test_utc(void **state)
{
    (void)state;
    struct tz z;
    tz_utc(&z);
    /* 2025-10-06 00:00 UTC is a Monday: slot 0; 23:59:59 Sunday 2025-10-12: 167. */
    assert_int_equal(tz_how(&z, MS(1759708800)), 0);
    assert_int_equal(tz_how(&z, MS(1759708800 + 7 * 86400 - 1)), 167);
    assert_int_equal(tz_how(&z, MS(1759708800 + 9 * 3600 + 1800)), 9);
    unsigned h, w;
    tz_local(&z, 0, &h, &w);
    assert_int_equal(h, 0);
    assert_int_equal(w, 4); /* 1970-01-01: Thursday */
    tz_free(&z);
}

static void test_berlin_dst(void **state)
{
    (void)state;
    struct tz z;
    struct fs_err err = { 0 };
    assert_int_equal(tz_load(&z, "Europe/Berlin", &err), 0);
    /* 2025-10-26 01:00 UTC: CEST ends (03:00 local back to 02:00). */
    assert_int_equal(tz_offset(&z, 1761440400 - 1), 7200);
    assert_int_equal(tz_offset(&z, 1761440400), 3600);
    /* 2025-03-30 01:00 UTC: CET to CEST. */
    assert_int_equal(tz_offset(&z, 1743296400 - 1), 3600);
    assert_int_equal(tz_offset(&z, 1743296400), 7200);
    /* Monday 2025-10-06 07:00 UTC is 09:00 in Berlin (CEST): slot 9. */
    assert_int_equal(tz_how(&z, MS(1759734000)), 9);
    /* Monday 2025-11-03 08:00 UTC is 09:00 in Berlin (CET): slot 9 again. */
    assert_int_equal(tz_how(&z, MS(1762156800)), 9);
    /* Sunday 2025-10-05 22:30 UTC is Monday 00:30 in Berlin: slot 0. */
    assert_int_equal(tz_how(&z, MS(1759703400)), 0);
    assert_string_equal(z.name, "Europe/Berlin");
    tz_free(&z);
}

static void test_half_hour_and_west(void **state)
{
    (void)state;
    struct tz z;
    struct fs_err err = { 0 };
    /* Lord Howe: +10:30 in winter, +11 in summer (a 30-minute shift). */
    assert_int_equal(tz_load(&z, "Australia/Lord_Howe", &err), 0);
    assert_int_equal(tz_offset(&z, 1751328000), 37800); /* 2025-07-01 */
    assert_int_equal(tz_offset(&z, 1735689600), 39600); /* 2025-01-01 */
    tz_free(&z);
    assert_int_equal(tz_load(&z, "America/New_York", &err), 0);
    assert_int_equal(tz_offset(&z, 1735689600), -18000);
    unsigned h, w;
    tz_local(&z, MS(1735689600), &h, &w); /* 2024-12-31 19:00 local, a Tuesday */
    assert_int_equal(h, 19);
    assert_int_equal(w, 2);
    tz_free(&z);
    /* TZ is put back as it was. */
    assert_null(getenv("TZ"));
}

static void test_bad_names(void **state)
{
    (void)state;
    /* /etc/passwd exists but is no zone file; ":" is TZ's prefix with nothing after it. */
    static const char *const bad[] = {
        "Mars/Olympus", "../../etc/passwd", "/etc/passwd", "", "Europe/../Europe/Berlin", ":",
        "/nonexistent"
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tz z;
        struct fs_err err = { 0 };
        assert_int_equal(tz_load(&z, bad[i], &err), FS_EINVAL);
        assert_non_null(strstr(err.msg, "unknown time zone"));
    }
}

/* The filter's hour and wday are in $TZ: 09:00 in Berlin is 07:00 UTC in summer time
 * and 08:00 in winter; TZ that names no zone is an error, not UTC. */
static void test_filter_zone(void **state)
{
    (void)state;
    struct filter *f;
    struct fs_err err = { 0 };
    struct flow r;
    memset(&r, 0, sizeof(r));
    setenv("TZ", "Europe/Berlin", 1);
    assert_int_equal(filter_compile("hour 9 and wday mon", &f, &err), 0);
    r.first = MS(1759734000 + 1800); /* Monday 2025-10-06 07:30 UTC */
    assert_int_equal(filter_match(f, &r), 1);
    r.first = MS(1762156800 + 1800); /* Monday 2025-11-03 08:30 UTC */
    assert_int_equal(filter_match(f, &r), 1);
    r.first = MS(1762153200 + 1800); /* 07:30 UTC: 08:30 in Berlin */
    assert_int_equal(filter_match(f, &r), 0);
    filter_free(f);
    setenv("TZ", "Nowhere/Atlantis", 1);
    assert_true(filter_compile("hour 9", &f, &err) != 0);
    assert_non_null(strstr(err.msg, "unknown time zone 'Nowhere/Atlantis'"));
    /* bpp needs no zone. */
    assert_int_equal(filter_compile("bpp > 10", &f, &err), 0);
    filter_free(f);
    unsetenv("TZ");
}

/* TZ=:Europe/Berlin and a zone file's path are the same zone. */
static void test_path_forms(void **state)
{
    (void)state;
    struct tz z;
    struct fs_err err = { 0 };
    assert_int_equal(tz_load(&z, ":Europe/Berlin", &err), 0);
    assert_int_equal(tz_offset(&z, 1761440400), 3600);
    tz_free(&z);
    assert_int_equal(tz_load(&z, ":/usr/share/zoneinfo/Europe/Berlin", &err), 0);
    assert_int_equal(tz_offset(&z, 1761440400 - 1), 7200);
    tz_free(&z);
    assert_int_equal(tz_load(&z, ":UTC", &err), 0);
    assert_int_equal(z.n, 1);
    tz_free(&z);
}

int main(void)
{
    unsetenv("TZ");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc),
        cmocka_unit_test(test_berlin_dst),
        cmocka_unit_test(test_half_hour_and_west),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_filter_zone),
        cmocka_unit_test(test_path_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
