/* Threshold Random Walk arithmetic (analytics/trw.c), the scan detector's rules
 * (analytics/scan.c) and its prefix lists (analytics/netlist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/netlist.h"
#include "analytics/scan.h"
#include "analytics/trw.h"
#include "core/err.h"
#include "core/fmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct trw_params defaults = TRW_PARAMS_DEFAULT;

/* Steps of a fresh walk over obs (1 = hit) until a decision: the step number, 0 when
 * none; *how gets the decision. */
static unsigned walk_until(const char *obs, enum trw_state *how)
{
    struct trw t;
    struct trw_walk w = { 0, 0 };
    assert_int_equal(trw_init(&t, &defaults), 0);
    for (unsigned i = 0; obs[i]; i++) {
        enum trw_state st = trw_step(&t, &w, obs[i] == 'h');
        if (st != TRW_PENDING) {
            *how = st;
            return i + 1;
        }
    }
    *how = TRW_PENDING;
    return 0;
}

/*
 * With the paper's parameters a miss multiplies the ratio by 4 and a hit by 1/4;
 * eta1 = 99, eta0 = 1/99: four misses in a row (4^4 = 256 >= 99, 4^3 = 64 < 99)
 * decide a scanner, four hits a benign host.
 */
static void test_default_thresholds(void **state)
{
    (void)state;
    struct trw t;
    enum trw_state how;
    assert_int_equal(trw_init(&t, &defaults), 0);
    assert_true(fabs(exp(t.log_miss) - 4.0) < 1e-12);
    assert_true(fabs(exp(t.log_hit) - 0.25) < 1e-12);
    assert_true(fabs(exp(t.log_eta1) - 99.0) < 1e-9);
    assert_true(fabs(exp(t.log_eta0) - 1.0 / 99.0) < 1e-12);
    assert_int_equal(trw_min_misses(&t), 4);
    assert_int_equal(walk_until("mmmmmm", &how), 4);
    assert_int_equal(how, TRW_SCANNER);
    assert_int_equal(walk_until("mmm", &how), 0);
    assert_int_equal(walk_until("hhhhh", &how), 4);
    assert_int_equal(how, TRW_BENIGN);
    /* one hit first: 4^k / 4 >= 99 needs k = 5 misses, decided at contact 6 */
    assert_int_equal(walk_until("hmmmmmm", &how), 6);
    assert_int_equal(how, TRW_SCANNER);
    /* alternating hits and misses never decide */
    assert_int_equal(walk_until("hmhmhmhmhmhmhmhmhmhm", &how), 0);
}

/* A benign decision restarts the walk: a host that scans after 4 good contacts is
 * caught 4 misses later, and the contact count runs on from the start. */
static void test_benign_resets(void **state)
{
    (void)state;
    struct trw t;
    struct trw_walk w = { 0, 0 };
    assert_int_equal(trw_init(&t, &defaults), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(trw_step(&t, &w, 1), TRW_PENDING);
    assert_int_equal(trw_step(&t, &w, 1), TRW_BENIGN);
    assert_true(w.log_ratio == 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(trw_step(&t, &w, 0), TRW_PENDING);
    assert_int_equal(trw_step(&t, &w, 0), TRW_SCANNER);
    assert_int_equal(w.contacts, 8);
}

/*
 * Wald's expected sample number (Jung et al., section 4): for the defaults
 * E[N|H1] = (0.99 ln 99 + 0.01 ln(1/99)) / (0.2 ln 0.25 + 0.8 ln 4) = 5.41 contacts,
 * the "about 4 or 5" detection delay of the paper; E[N|H0] is the same by symmetry.
 */
static void test_expected_n(void **state)
{
    (void)state;
    double h1 = trw_expected_n(&defaults, 1), h0 = trw_expected_n(&defaults, 0);
    assert_true(fabs(h1 - 5.414) < 0.001);
    assert_true(fabs(h0 - 5.414) < 0.001);
    /* a stricter alpha needs more contacts */
    struct trw_params strict = defaults;
    strict.alpha = 0.0001;
    assert_true(trw_expected_n(&strict, 1) > h1 + 1);
    struct trw t;
    assert_int_equal(trw_init(&t, &strict), 0);
    assert_int_equal(trw_min_misses(&t), 7); /* 4^7 = 16384 >= 9900 > 4^6 */
}

static void test_bad_params(void **state)
{
    (void)state;
    struct trw t;
    struct trw_params p = defaults;
    p.theta1 = 0.9; /* a scanner must be answered less often than a benign host */
    assert_int_equal(trw_init(&t, &p), FS_EINVAL);
    p = defaults;
    p.alpha = 0.995;
    assert_int_equal(trw_init(&t, &p), FS_EINVAL);
    p = defaults;
    p.theta0 = 1.0;
    assert_int_equal(trw_init(&t, &p), FS_EINVAL);
}

/* ---------------------------------------------------------------- netlist */

static void test_prefixes(void **state)
{
    (void)state;
    struct netlist l;
    struct net_prefix p;
    uint8_t a[16];
    int v;
    netlist_init(&l);
    assert_int_equal(netlist_add_net(&l, "10.1.0.0/16"), 0);
    assert_int_equal(netlist_add_net(&l, "2001:db8::/33"), 0);
    assert_int_equal(netlist_add_net(&l, "10.1.0.0/33"), FS_EINVAL);
    assert_int_equal(netlist_add_net(&l, "10.1.0.0/"), FS_EINVAL);
    assert_int_equal(netlist_add_net(&l, "10.1.0"), FS_EINVAL);
    assert_int_equal(net_prefix_parse("192.0.2.77/24", &p), 0);
    assert_int_equal(p.len, 120);
    assert_int_equal(p.addr[15], 0);
    parse_addr("10.1.255.3", a, &v);
    assert_true(netlist_has_addr(&l, a));
    parse_addr("10.2.0.1", a, &v);
    assert_false(netlist_has_addr(&l, a));
    parse_addr("2001:db8:7fff::1", a, &v);
    assert_true(netlist_has_addr(&l, a));
    parse_addr("2001:db8:8000::1", a, &v);
    assert_false(netlist_has_addr(&l, a));
    /* an IPv4 prefix holds IPv4 flows only, not the IPv6 address with the same low bits */
    parse_addr("::a01:1", a, &v);
    assert_false(netlist_has_addr(&l, a));
    netlist_free(&l);
}

static void test_allow_file(void **state)
{
    (void)state;
    char path[] = "/tmp/fs-test-trw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs("# monitoring\n10.0.0.5\n\n  192.0.2.0/24   # lab\nport 161\nport 99999\n", fp);
    fclose(fp);
    struct netlist l;
    char msg[256] = "";
    netlist_init(&l);
    assert_int_equal(netlist_load(&l, path, msg, sizeof(msg)), FS_EINVAL);
    char want[300];
    snprintf(want, sizeof(want), "%s:6: port needs 1..65535, not '99999'", path);
    assert_string_equal(msg, want);
    assert_int_equal(l.nnets, 2);
    assert_int_equal(l.nports, 1);
    assert_true(netlist_has_port(&l, 161));
    netlist_free(&l);
    unlink(path);
    netlist_init(&l);
    assert_int_equal(netlist_load(&l, path, msg, sizeof(msg)), -ENOENT);
    netlist_free(&l);
}

/* ---------------------------------------------------------------- scan rules */

static struct flow mk(const char *src, const char *dst, uint8_t proto, uint16_t dport,
                      uint64_t first)
{
    struct flow f;
    int v;
    memset(&f, 0, sizeof(f));
    parse_addr(src, f.src, &v);
    parse_addr(dst, f.dst, &v);
    f.ipver = (uint8_t)v;
    f.proto = proto;
    f.dport = dport;
    f.sport = 40000;
    f.first = first;
    f.last = first + 1;
    f.packets = 1;
    return f;
}

struct got {
    struct scan_finding f[8];
    int n;
};

static int keep(void *ctx, const struct scan_finding *f)
{
    struct got *g = ctx;
    if (g->n < 8)
        g->f[g->n++] = *f;
    return 0;
}

static struct scan *new_scan(const struct netlist *allow)
{
    struct scan_opts o = { TRW_PARAMS_DEFAULT, 20, 50, 3600000, 1 << 20, NULL, allow };
    int err;
    struct scan *s = scan_new(&o, &err);
    assert_non_null(s);
    return s;
}

/*
 * Flows come out of order (as from a store: by flow end); the walk is in first-contact
 * order. Source A: 3 answered hosts, then 6 silent ones, handed in newest first:
 * decided after 3 hits (ratio 1/64) and 7 misses (4^7/64 = 256 >= 99) = contact 10.
 * Source B: a server that ends exchanges with a RST after payload, and a RST alone from
 * one closed port: no scanner.
 */
static void test_scan_order_and_answers(void **state)
{
    (void)state;
    struct scan *s = new_scan(NULL);
    char dst[32];
    for (int h = 9; h >= 0; h--) {
        snprintf(dst, sizeof(dst), "10.9.0.%d", h + 1);
        struct flow f = mk("203.0.113.7", dst, 6, 80, 1000 + (uint64_t)h * 10);
        if (h < 3) {
            f.rpackets = 1;
            f.rflags = FS_TCP_SYN | FS_TCP_ACK;
        }
        assert_int_equal(scan_add(s, &f), 0);
    }
    for (int h = 0; h < 6; h++) {
        snprintf(dst, sizeof(dst), "10.9.1.%d", h + 1);
        struct flow f = mk("192.168.1.10", dst, 6, 443, 1000 + (uint64_t)h);
        f.rpackets = 5;
        f.rpayload = h == 5 ? 0 : 3000;
        f.rflags = h == 5 ? FS_TCP_RST | FS_TCP_ACK : FS_TCP_ACK | FS_TCP_PSH | FS_TCP_RST;
        assert_int_equal(scan_add(s, &f), 0);
    }
    struct got g = { .n = 0 };
    assert_int_equal(scan_finish(s, keep, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].methods, SCAN_TRW);
    assert_int_equal(g.f[0].contacts, 10);
    assert_int_equal(g.f[0].targets, 10);
    assert_int_equal(g.f[0].ports, 1);
    assert_int_equal(g.f[0].kind, SCAN_HORIZONTAL);
    assert_int_equal(g.f[0].first, 1000);
    assert_int_equal(g.f[0].last, 1091);
    scan_free(s);
}

/*
 * The count rule: 25 closed ports of one host (vertical: TRW sees one destination),
 * inside the window, against the external threshold 20; the same 25 spread over
 * 25 hours are never 20 in one hour. ICMP: echo requests answered by replies (flows
 * of their own) are hits; the unreachables a host sends are no contacts of it.
 */
static void test_scan_count_and_icmp(void **state)
{
    (void)state;
    struct scan *s = new_scan(NULL);
    for (uint64_t p = 0; p < 25; p++) {
        struct flow f = mk("198.51.100.9", "10.9.0.1", 6, (uint16_t)(100 + p), 5000 + p);
        f.rpackets = 1;
        f.rflags = FS_TCP_RST | FS_TCP_ACK;
        assert_int_equal(scan_add(s, &f), 0);
        f = mk("198.51.100.20", "10.9.0.1", 17, (uint16_t)(100 + p), p * 3600000);
        assert_int_equal(scan_add(s, &f), 0);
        f = mk("10.9.0.1", "198.51.100.20", 1, 0x0303, p * 3600000 + 1);
        assert_int_equal(scan_add(s, &f), 0);
    }
    char dst[32];
    for (int h = 1; h <= 8; h++) {
        snprintf(dst, sizeof(dst), "10.9.0.%d", h);
        struct flow f = mk("192.168.1.20", dst, 1, 0x0800, 100 + (uint64_t)h);
        assert_int_equal(scan_add(s, &f), 0);
        f = mk(dst, "192.168.1.20", 1, 0x0000, 101 + (uint64_t)h);
        assert_int_equal(scan_add(s, &f), 0);
    }
    struct got g = { .n = 0 };
    assert_int_equal(scan_finish(s, keep, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].methods, SCAN_COUNT);
    assert_int_equal(g.f[0].window_max, 25);
    assert_int_equal(g.f[0].failed, 25);
    assert_int_equal(g.f[0].kind, SCAN_VERTICAL);
    assert_true(fabs(g.f[0].score - 25.0 / 20.0) < 1e-9);
    scan_free(s);
}

/* --allow: a listed source and flows to a listed port are not taken; --max-mem bounds
 * the flows held. */
static void test_scan_allow_and_memory(void **state)
{
    (void)state;
    struct netlist allow;
    netlist_init(&allow);
    assert_int_equal(netlist_add_net(&allow, "203.0.113.0/24"), 0);
    struct scan *s = new_scan(&allow);
    struct flow f = mk("203.0.113.7", "10.9.0.1", 6, 80, 1);
    assert_int_equal(scan_add(s, &f), 0);
    assert_int_equal(scan_flows(s), 0);
    scan_free(s);
    netlist_free(&allow);
    struct scan_opts o = { TRW_PARAMS_DEFAULT,
                           20,
                           50,
                           3600000,
                           10 * (SCAN_BYTES_PER_FLOW + SCAN_BYTES_PER_BUSIEST) +
                               SCAN_BYTES_PER_SOURCE,
                           NULL,
                           NULL };
    int err;
    s = scan_new(&o, &err);
    for (int i = 0; i < 10; i++) /* ten flows of one source */
        assert_int_equal(scan_add(s, &f), 0);
    assert_int_equal(scan_add(s, &f), FS_ENOSPC);
    assert_int_equal(scan_flows(s), 10);
    scan_free(s);
    o.max_mem = 2 * (SCAN_BYTES_PER_FLOW + SCAN_BYTES_PER_BUSIEST) + SCAN_BYTES_PER_SOURCE;
    s = scan_new(&o, &err);
    assert_int_equal(scan_add(s, &f), 0);
    struct flow g = mk("203.0.113.8", "10.9.0.1", 6, 80, 1);
    assert_int_equal(scan_add(s, &g), FS_ENOSPC); /* a second source does not fit */
    assert_int_equal(scan_add(s, &f), 0);
    scan_free(s);
    o.trw.theta1 = 0.9;
    assert_null(scan_new(&o, &err));
    assert_int_equal(err, FS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_thresholds),
        cmocka_unit_test(test_benign_resets),
        cmocka_unit_test(test_expected_n),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_allow_file),
        cmocka_unit_test(test_scan_order_and_answers),
        cmocka_unit_test(test_scan_count_and_icmp),
        cmocka_unit_test(test_scan_allow_and_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
