/* Spam sources (analytics/spam.c): the exact distinct count in a sliding window, the
 * relays, the ports, and the memory bound. Durations (analytics/duration.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/duration.h"
#include "analytics/spam.h"
#include "core/err.h"
#include "core/fmt.h"

#include <stdio.h>
#include <string.h>

static struct flow mail(const char *src, const char *dst, uint16_t dport, uint64_t first)
{
    struct flow f;
    int v;
    memset(&f, 0, sizeof(f));
    parse_addr(src, f.src, &v);
    parse_addr(dst, f.dst, &v);
    f.ipver = (uint8_t)v;
    f.proto = 6;
    f.sport = 40000;
    f.dport = dport;
    f.first = first;
    f.last = first + 500;
    f.packets = 3;
    return f;
}

struct got {
    struct spam_finding f[8];
    int n;
};

static int keep(void *ctx, const struct spam_finding *f)
{
    struct got *g = ctx;
    if (g->n < 8)
        g->f[g->n++] = *f;
    return 0;
}

static struct spam *new_spam(const struct netlist *internal, const struct netlist *relays,
                             size_t max_mem)
{
    struct spam_opts o = { { 25, 465, 587 }, 3, 10, 3600000, internal, relays, max_mem };
    return spam_new(&o);
}

#define MIN 60000ULL

/*
 * Host A: 12 servers, one every 10 minutes, server 0 again at 0:05: any hour holds 6
 * distinct (peak 6 < 10), 12 overall. Host B: the same 12 servers within 11 minutes,
 * each twice: peak 12. Only B is a finding; repeats do not count twice.
 */
static void test_window(void **state)
{
    (void)state;
    struct spam *s = new_spam(NULL, NULL, 1 << 20);
    char dst[32];
    for (int i = 11; i >= 0; i--) { /* newest first: order must not matter */
        snprintf(dst, sizeof(dst), "198.51.100.%d", i + 1);
        struct flow f = mail("10.1.0.5", dst, 25, (uint64_t)i * 10 * MIN);
        assert_int_equal(spam_add(s, &f), 0);
        f = mail("10.1.0.66", dst, i % 2 ? 587 : 25, (uint64_t)i * MIN);
        assert_int_equal(spam_add(s, &f), 0);
        f.first += 30000;
        f.last += 30000;
        assert_int_equal(spam_add(s, &f), 0);
    }
    struct flow again = mail("10.1.0.5", "198.51.100.1", 25, 5 * MIN);
    assert_int_equal(spam_add(s, &again), 0);
    struct got g = { .n = 0 };
    assert_int_equal(spam_finish(s, keep, &g), 0);
    assert_int_equal(g.n, 1);
    char a[FMT_ADDR_MAX];
    fmt_addr(a, g.f[0].src, g.f[0].ipver);
    assert_string_equal(a, "10.1.0.66");
    assert_int_equal(g.f[0].servers, 12);
    assert_int_equal(g.f[0].peak, 12);
    assert_int_equal(g.f[0].flows, 24);
    assert_int_equal(g.f[0].first, 0);
    assert_int_equal(g.f[0].last, 11 * MIN + 30000 + 500);
    spam_free(s);

    /* host A with a 2 h window: 12 contacts over 110 min are 12 distinct in one window */
    struct spam_opts o = { { 25 }, 1, 10, 2 * 3600000, NULL, NULL, 1 << 20 };
    s = spam_new(&o);
    for (int i = 0; i < 12; i++) {
        snprintf(dst, sizeof(dst), "198.51.100.%d", i + 1);
        struct flow f = mail("10.1.0.5", dst, 25, (uint64_t)i * 10 * MIN);
        assert_int_equal(spam_add(s, &f), 0);
    }
    g.n = 0;
    assert_int_equal(spam_finish(s, keep, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].peak, 12);
    spam_free(s);
}

/* What is counted: TCP to a mail port, from inside, neither end a relay. */
static void test_takes(void **state)
{
    (void)state;
    struct netlist internal, relays;
    netlist_init(&internal);
    netlist_init(&relays);
    assert_int_equal(netlist_add_net(&internal, "10.1.0.0/16"), 0);
    assert_int_equal(netlist_add_net(&relays, "10.1.0.25"), 0);
    struct spam *s = new_spam(&internal, &relays, 1 << 20);
    struct flow f = mail("10.1.0.5", "198.51.100.1", 25, 0);
    assert_true(spam_takes(s, &f));
    f = mail("10.1.0.5", "198.51.100.1", 2525, 0);
    assert_false(spam_takes(s, &f));
    f = mail("10.1.0.5", "198.51.100.1", 25, 0);
    f.proto = 17;
    assert_false(spam_takes(s, &f));
    f = mail("10.2.0.5", "198.51.100.1", 25, 0);
    assert_false(spam_takes(s, &f));
    f = mail("10.1.0.25", "198.51.100.1", 25, 0);
    assert_false(spam_takes(s, &f));
    f = mail("10.1.0.5", "10.1.0.25", 587, 0);
    assert_false(spam_takes(s, &f));
    spam_free(s);
    netlist_free(&internal);
    netlist_free(&relays);
}

static void test_memory(void **state)
{
    (void)state;
    struct spam *s = new_spam(NULL, NULL, 2 * SPAM_BYTES_PER_FLOW);
    struct flow f = mail("10.1.0.5", "198.51.100.1", 25, 0);
    assert_int_equal(spam_add(s, &f), 0);
    assert_int_equal(spam_add(s, &f), 0);
    assert_int_equal(spam_add(s, &f), FS_ENOSPC);
    f.dport = 80; /* not a mail flow: not held */
    assert_int_equal(spam_add(s, &f), 0);
    spam_free(s);
}

static void test_duration(void **state)
{
    (void)state;
    uint64_t ms = 0;
    assert_int_equal(duration_parse_ms("90s", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(duration_parse_ms("30m", &ms), 0);
    assert_int_equal(ms, 1800000);
    assert_int_equal(duration_parse_ms("1h", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(duration_parse_ms("2d", &ms), 0);
    assert_int_equal(ms, 172800000);
    assert_int_equal(duration_parse_ms("3600", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(duration_parse_ms("3650d", &ms), 0);
    const char *bad[] = { "0", "-5", "+5", "1x", "1h5", "", "h", "3651d", "99999999999999999999" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(duration_parse_ms(bad[i], &ms), FS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_takes),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
