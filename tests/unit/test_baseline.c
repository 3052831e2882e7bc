/* Baselines and anomalies (analytics/baseline.c, anomaly.c): keys and their text, the
 * memory budget, median and MAD per slot, the profile file and its errors, the band
 * and the kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/anomaly.h"
#include "analytics/baseline.h"
#include "core/fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOUR 3600000ull
#define WEEK (168 * HOUR)
#define MON  1759708800000ull /* 2025-10-06 00:00 UTC, a Monday */

static struct flow mk(const char *src, const char *dst, uint16_t dport, uint64_t first,
                      uint64_t bytes)
{
    struct flow f;
    int v, dv;
    memset(&f, 0, sizeof(f));
    parse_addr(src, f.src, &v);
    parse_addr(dst, f.dst, &dv);
    f.ipver = (uint8_t)v;
    f.proto = 6;
    f.dport = dport;
    f.first = f.last = first;
    f.bytes = bytes;
    f.packets = 1;
    return f;
}

static void test_keys(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *src, *text;
    } cases[] = { { "all", "10.1.2.3", "all" },
                  { "src", "10.1.2.3", "10.1.2.3" },
                  { "srcnet/24", "10.1.2.3", "10.1.2.0/24" },
                  { "srcnet/16/48", "2001:db8:1:2::5", "2001:db8:1::/48" },
                  { "service", "10.1.2.3", "tcp/443" } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bl_keyspec k;
        struct bl_key a, b;
        char t[BL_KEY_TEXT];
        assert_int_equal(bl_keyspec_parse(cases[i].spec, &k), 0);
        struct flow f = mk(cases[i].src, "192.0.2.1", 443, 0, 1);
        bl_key_of(&k, &f, &a);
        bl_key_text(&k, &a, t);
        assert_string_equal(t, cases[i].text);
        assert_int_equal(bl_key_parse(&k, t, &b), 0);
        assert_memory_equal(&a, &b, sizeof(a));
    }
    static const char *const bad_specs[] = { "",          "srcnet", "srcnet/33",  "srcnet/24/129",
                                             "srcnet/-1", "host",   "dstnet/24/", "all " };
    struct bl_keyspec k;
    for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++)
        assert_int_equal(bl_keyspec_parse(bad_specs[i], &k), FS_EINVAL);
    struct bl_key key;
    assert_int_equal(bl_keyspec_parse("srcnet/24", &k), 0);
    assert_int_equal(bl_key_parse(&k, "10.1.2.3/24", &key), FS_EINVAL); /* host bits */
    assert_int_equal(bl_key_parse(&k, "10.1.2.0/25", &key), FS_EINVAL);
    assert_int_equal(bl_key_parse(&k, "10.1.2.0", &key), FS_EINVAL);
}

static void test_budget(void **state)
{
    (void)state;
    struct bl_keyspec k;
    struct bl_series s;
    assert_int_equal(bl_keyspec_parse("src", &k), 0);
    bl_series_init(&s, &k, HOUR, 4096);
    int rc = 0;
    char a[32];
    for (int i = 0; i < 1000 && rc == 0; i++) {
        snprintf(a, sizeof(a), "10.0.%d.%d", i / 250, i % 250 + 1);
        struct flow f = mk(a, "192.0.2.1", 80, MON, 100);
        rc = bl_series_add(&s, &f);
    }
    assert_int_equal(rc, FS_ENOSPC);
    assert_true(s.used <= s.max_bytes + 64 * sizeof(struct count_bin));
    bl_series_free(&s);
}

/* Five weeks of one key: slot 9 (Monday 09:00) holds 10, 12, 11, 100, 13 flows. */
static void five_weeks(struct bl_series *s)
{
    static const int mon9[5] = { 10, 12, 11, 100, 13 };
    struct bl_keyspec k;
    assert_int_equal(bl_keyspec_parse("all", &k), 0);
    bl_series_init(s, &k, HOUR, 1 << 20);
    for (int w = 0; w < 5; w++) {
        for (int i = 0; i < mon9[w]; i++) {
            struct flow f = mk("10.0.0.1", "192.0.2.1", 80, MON + w * WEEK + 9 * HOUR + i, 1000);
            assert_int_equal(bl_series_add(s, &f), 0);
        }
    }
    struct flow end = mk("10.0.0.1", "192.0.2.1", 80, MON + 5 * WEEK - 1, 1);
    assert_int_equal(bl_series_add(s, &end), 0);
}

static void test_learn(void **state)
{
    (void)state;
    struct bl_series s;
    struct bl_profile p;
    struct tz z;
    uint64_t lo, hi;
    five_weeks(&s);
    tz_utc(&z);
    assert_int_equal(bl_series_range(&s, &lo, &hi), 0);
    lo = MON / HOUR; /* the range starts at the first week's Monday */
    bl_profile_learn(&p, &s, &z, lo, hi);
    assert_int_equal(p.weeks, 5);
    assert_int_equal(p.nkeys, 1);
    const struct bl_slot *x = &p.slots[9];
    assert_int_equal(x->samples, 5);
    /* Median of 10 11 12 13 100 is 12; deviations 2 1 0 1 88: MAD 1. */
    assert_true(x->m[0].med == 12);
    assert_true(x->m[0].spread > 1.4825 && x->m[0].spread < 1.4827);
    assert_true(x->m[1].med == 12000);
    assert_true(p.slots[10].m[0].med == 0);
    bl_profile_free(&p);
    tz_free(&z);
    bl_series_free(&s);
}

static void test_file(void **state)
{
    (void)state;
    struct bl_series s;
    struct bl_profile p, q;
    struct tz z;
    struct fs_err err = { 0 };
    char path[] = "/tmp/test_baseline.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    five_weeks(&s);
    tz_utc(&z);
    bl_profile_learn(&p, &s, &z, MON / HOUR, (MON + 5 * WEEK) / HOUR - 1);
    assert_int_equal(bl_profile_save(&p, path, &err), 0);
    assert_int_equal(bl_profile_load(&q, path, &err), 0);
    assert_int_equal(q.nkeys, 1);
    assert_int_equal(q.bin_ms, HOUR);
    assert_int_equal(q.from_ms, MON);
    assert_string_equal(q.tz, "UTC");
    assert_true(q.slots[9].m[0].med == 12);
    assert_true(q.slots[9].m[0].spread == p.slots[9].m[0].spread);
    bl_profile_free(&q);
    bl_profile_free(&p);
    tz_free(&z);
    bl_series_free(&s);
    unlink(path);
}

/* Write text as a profile file and load it: the error message. */
static void load_text(const char *text, const char *want)
{
    char path[] = "/tmp/test_baseline.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct bl_profile p;
    struct fs_err err = { 0 };
    assert_true(bl_profile_load(&p, path, &err) < 0);
    if (!strstr(err.msg, want))
        fail_msg("'%s' lacks '%s'", err.msg, want);
    unlink(path);
}

#define HDR                                                                               \
    "flowsleuth-baseline 1\nbin 3600\ntz UTC\nby all\nweeks 5\nfrom 1000\nto 2000\nkeys " \
    "1\n"

static void test_file_errors(void **state)
{
    (void)state;
    load_text("", "empty file");
    load_text("hello\n", ":1: not a flowsleuth baseline");
    load_text("flowsleuth-baseline 2\n", ":1: baseline version 2, not 1");
    load_text("flowsleuth-baseline 1\nbin 7\n", ":2: field 2: bad value '7'");
    load_text("flowsleuth-baseline 1\nbin 3600\nbin 3600\n", ":3: field 1: header given twice");
    load_text("flowsleuth-baseline 1\nall 0 5 1 1 1 1 1 1\n", ":2: a slot line before the header");
    load_text(HDR "all 0 5 1 1 1 1 1\n", ":9: a slot line has 9 fields");
    load_text(HDR "all 168 5 1 1 1 1 1 1\n", ":9: field 2: not a slot 0..167 '168'");
    load_text(HDR "all 0 5 1 1 1 -1 1 1\n", ":9: field 7: not a number >= 0 '-1'");
    load_text(HDR "all 0 5 1 1 1 nan 1 1\n", ":9: field 7: not a number >= 0 'nan'");
    load_text(HDR "all 0 5 1 1 1 1 1 1\nall 0 5 1 1 1 1 1 1\n", ":10: field 2: slot given twice");
    load_text(HDR "10.0.0.1 0 5 1 1 1 1 1 1\n", ":9: field 1: not a key of this profile's kind");
    load_text(HDR "all 0 5 1 1 1 1 1 1\n", "key all has no line for slot 1");
    load_text("flowsleuth-baseline 1\nbin 3600\ntz UTC\nby all\n", "ends before its header");
    load_text(HDR "filter any\nfilter any\n", ":10: field 1: header given twice");
}

static int nfound;
static struct an_finding found[8];

static void keep(void *ctx, const struct an_finding *f)
{
    (void)ctx;
    if (nfound < 8)
        found[nfound] = *f;
    nfound++;
}

static void test_judge(void **state)
{
    (void)state;
    struct bl_series s, t;
    struct bl_profile p;
    struct tz z;
    five_weeks(&s);
    tz_utc(&z);
    bl_profile_learn(&p, &s, &z, MON / HOUR, (MON + 5 * WEEK) / HOUR - 1);
    /* Band of slot 9 flows: learned 12 +- 4 x 1.48 = [6.07, 17.93]; a Poisson count of
     * 12 at k = 4: up to 12 + 8 + 4 sqrt(16) = 36, down to 12 - 4 sqrt(12) < 0; the band
     * is the wider of the two. */
    double lo, hi;
    an_band(&p.slots[9], 0, 4, 0, &lo, &hi);
    assert_true(lo == 0 && hi == 36);
    /* tbytes: 1000 a flow, so the count part reaches 36000. */
    an_band(&p.slots[9], 1, 4, 1000, &lo, &hi);
    assert_true(lo == 0 && hi == 36000);
    /* A busy slot: 400 flows, spread 10 (0.05 m = 20 wins): learned [320, 480], Poisson
     * [400 - 80, 408 + 4 sqrt(404)] = [320, 488.4]. */
    struct bl_slot busy = { 5, { { 400, 10 }, { 400000, 10000 }, { 400, 10 } } };
    an_band(&busy, 0, 4, 0, &lo, &hi);
    assert_true(lo == 320 && hi > 488.39 && hi < 488.41);
    /* Week 6, Monday: 40 flows at 09:00 (30 would be inside the band) are a spike in all
     * three metrics; the other hours expect nothing and have nothing. */
    bl_series_init(&t, &p.spec, HOUR, 1 << 20);
    for (int i = 0; i < 40; i++) {
        struct flow f = mk("10.0.0.1", "192.0.2.1", 80, MON + 5 * WEEK + 9 * HOUR, 1000);
        assert_int_equal(bl_series_add(&t, &f), 0);
    }
    nfound = 0;
    anomaly_run(&p, &t, &z, (MON + 5 * WEEK) / HOUR, (MON + 5 * WEEK) / HOUR + 23, 4, keep, NULL);
    assert_int_equal(nfound, 3); /* flows, tbytes, tpackets */
    assert_int_equal(found[0].kind, AN_SPIKE);
    assert_int_equal(found[0].metric, 0);
    assert_true(found[0].value == 40);
    assert_true(found[0].score > 4.66 && found[0].score < 4.67); /* 4 x 28 / 24 */
    /* The same slot expecting 1000 flows: none at all is one gap, not three drops. */
    for (int m = 0; m < BL_METRICS; m++)
        p.slots[9].m[m].med = 1000;
    nfound = 0;
    struct bl_series empty;
    bl_series_init(&empty, &p.spec, HOUR, 1 << 20);
    (void)bl_series_key(&empty, &p.keys[0]);
    anomaly_run(&p, &empty, &z, (MON + 5 * WEEK) / HOUR + 9, (MON + 5 * WEEK) / HOUR + 9, 4, keep,
                NULL);
    assert_int_equal(nfound, 1);
    assert_int_equal(found[0].kind, AN_GAP);
    bl_series_free(&empty);
    bl_series_free(&t);
    bl_profile_free(&p);
    tz_free(&z);
    bl_series_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_learn),       cmocka_unit_test(test_file),
        cmocka_unit_test(test_file_errors), cmocka_unit_test(test_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
