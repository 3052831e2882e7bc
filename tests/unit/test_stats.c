/* Unit tests of stat keys, top-N statistics, the Space-Saving fallback and aggregation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/fmt.h"
#include "query/aggregate.h"
#include "query/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct flow mk(const char *src, const char *dst, uint16_t sport, uint16_t dport,
                      uint64_t bytes, uint64_t first)
{
    struct flow f;
    int v;
    memset(&f, 0, sizeof(f));
    assert_int_equal(parse_addr(src, f.src, &v), 0);
    assert_int_equal(parse_addr(dst, f.dst, &v), 0);
    f.ipver = (uint8_t)v;
    f.sport = sport;
    f.dport = dport;
    f.proto = 6;
    f.bytes = bytes;
    f.rbytes = bytes / 2;
    f.packets = 2;
    f.rpackets = 1;
    f.first = first;
    f.last = first + 1000;
    return f;
}

static void expect_error(const char *spec, const char *words)
{
    struct stats *s = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(stats_new(spec, 1 << 20, &s, &err), FS_EINVAL);
    assert_null(s);
    if (!strstr(err.msg, words))
        fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, words);
}

static void test_key_parse(void **state)
{
    (void)state;
    static const char *const good[] = { "ip",     "srcip",     "dstip/bytes", "port/packets",
                                        "proto",  "srcnet",    "dstip4/24",   "srcip6/48/bps",
                                        "vlan",   "dport/bpp", "exporter",    "as/pps",
                                        "ip4/16", "tos",       "flags",       "first" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct stats *s = NULL;
        struct fs_err err = { 0 };
        if (stats_new(good[i], 1 << 20, &s, &err) != 0)
            fail_msg("'%s' rejected: %s", good[i], err.msg);
        stats_free(s);
    }
    expect_error("bogus", "unknown key 'bogus'");
    expect_error("srcip/bogus", "unknown order 'bogus'");
    expect_error("srcip/24", "versioned");
    expect_error("srcip4/33", "0..32");
    expect_error("dstip6/129", "0..128");
    expect_error("dport/8", "only addresses");
    expect_error("", "empty");

    struct key_spec ks;
    struct fs_err err = { 0 };
    assert_int_equal(key_parse_list("srcip,ip", &ks, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "two-sided"));
    assert_int_equal(key_parse_list("dport,dport", &ks, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(key_parse_list("srcip,", &ks, &err), FS_EINVAL);
    assert_int_equal(key_parse_list("srcip4/24,srcip6/48,dstip,dport,proto", &ks, &err), 0);
    assert_int_equal(ks.nparts, 4); /* the two srcip prefixes merge */
    assert_int_equal(ks.part[0].v4bits, 24);
    assert_int_equal(ks.part[0].v6bits, 48);
    assert_int_equal(ks.keylen, 40); /* 16 + 16 + 2 + 1 = 35, padded */
}

static void key_text(const struct key_spec *ks, const char *src, const char *dst, char *out)
{
    uint8_t key[KEY_MAX_BYTES];
    struct flow f = mk(src, dst, 1, 2, 10, 0);
    key_pack(ks, &f, 0, key);
    key_part_text(out, 64, ks, 0, key, 1);
}

static void test_prefix_mask(void **state)
{
    (void)state;
    struct key_spec ks;
    struct fs_err err = { 0 };
    char buf[64];
    assert_int_equal(key_parse("srcip4/24", &ks, &err), 0);
    key_text(&ks, "10.1.2.3", "1.1.1.1", buf);
    assert_string_equal(buf, "10.1.2.0/24");
    key_text(&ks, "2001:db8::1", "::1", buf); /* an IPv6 source keeps all its bits */
    assert_string_equal(buf, "2001:db8::1");
    assert_int_equal(key_parse("srcip6/48", &ks, &err), 0);
    key_text(&ks, "2001:db8:1:2::1", "::1", buf);
    assert_string_equal(buf, "2001:db8:1::/48");
    assert_int_equal(key_parse("srcip6/45", &ks, &err), 0);
    key_text(&ks, "2001:db8:ffff::1", "::1", buf);
    assert_string_equal(buf, "2001:db8:fff8::/45");
    assert_int_equal(key_parse("srcip4/0", &ks, &err), 0);
    key_text(&ks, "192.168.7.9", "::1", buf);
    assert_string_equal(buf, "0.0.0.0/0");
    assert_int_equal(key_parse("srcnet", &ks, &err), 0);
    key_text(&ks, "192.168.7.9", "::1", buf);
    assert_string_equal(buf, "192.168.7.0/24");
    assert_int_equal(key_parse("srcip4/13", &ks, &err), 0);
    key_text(&ks, "10.255.1.1", "::1", buf);
    assert_string_equal(buf, "10.248.0.0/13");
}

/* ip and port count a flow once for each end; totals count it once. */
static void test_both_directions(void **state)
{
    (void)state;
    struct stats *ip = NULL, *port = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(stats_new("ip/flows", 1 << 20, &ip, &err), 0);
    assert_int_equal(stats_new("port/bytes", 1 << 20, &port, &err), 0);
    struct flow f1 = mk("10.0.0.1", "10.0.0.2", 1000, 80, 100, 0);
    struct flow f2 = mk("10.0.0.1", "10.0.0.3", 1001, 80, 300, 5000);
    stats_add(ip, &f1);
    stats_add(ip, &f2);
    stats_add(port, &f1);
    stats_add(port, &f2);
    assert_int_equal(ip->flows, 2);
    assert_int_equal(ip->bytes, 600); /* bytes + rbytes: 150 + 450 */
    struct stats_row rows[8];
    assert_int_equal(stats_top(ip, 8, rows), 3);
    char buf[64];
    key_part_text(buf, sizeof(buf), &ip->key, 0, rows[0].key, 0);
    assert_string_equal(buf, "10.0.0.1");
    assert_int_equal(rows[0].v->flows, 2);
    assert_int_equal(rows[0].v->first, 0);
    assert_int_equal(rows[0].v->last, 6000);
    key_part_text(buf, sizeof(buf), &ip->key, 0, rows[1].key, 0);
    assert_string_equal(buf, "10.0.0.2"); /* tie with .3: smaller key first */
    assert_int_equal(stats_top(port, 8, rows), 3);
    key_part_text(buf, sizeof(buf), &port->key, 0, rows[0].key, 0);
    assert_string_equal(buf, "80");
    assert_int_equal(rows[0].v->bytes, 600);
    assert_int_equal(rows[0].v->packets, 6);
    key_part_text(buf, sizeof(buf), &port->key, 0, rows[1].key, 0);
    assert_string_equal(buf, "1001");
    stats_free(ip);
    stats_free(port);
}

/* Top-N: the N largest by the order, largest first; equal counts by key ascending. */
static void test_top_order_ties(void **state)
{
    (void)state;
    struct stats *s = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(stats_new("dport/bytes", 1 << 20, &s, &err), 0);
    /* ports 1..200: bytes = port % 7 * 100 + 100; many ties */
    for (uint16_t p = 200; p >= 1; p--) {
        struct flow f = mk("10.0.0.1", "10.0.0.2", 9, p, (uint64_t)(p % 7) * 100 + 100, p);
        f.rbytes = 0;
        stats_add(s, &f);
    }
    struct stats_row rows[5];
    assert_int_equal(stats_top(s, 5, rows), 5);
    /* largest: p % 7 == 6 -> 700 bytes: ports 6, 13, 20, 27, 34 (ascending) */
    static const uint16_t want[] = { 6, 13, 20, 27, 34 };
    for (int i = 0; i < 5; i++) {
        struct flow k;
        memset(&k, 0, sizeof(k));
        key_unpack(&s->key, rows[i].key, &k);
        assert_int_equal(k.dport, want[i]);
        assert_int_equal(rows[i].v->bytes, 700);
    }
    struct stats_row all[300];
    assert_int_equal(stats_top(s, 300, all), 200);
    for (int i = 1; i < 200; i++)
        assert_true(all[i - 1].v->bytes >= all[i].v->bytes);
    assert_int_equal(stats_top(s, 0, all), 0);
    stats_free(s);
}

/* Past the budget the table becomes Space-Saving: heavy keys survive with upper bounds. */
static void test_approximate(void **state)
{
    (void)state;
    struct stats *s = NULL;
    struct fs_err err = { 0 };
    /* 16 index slots (128 B) + a few entries of 72 B: about 8 counters */
    assert_int_equal(stats_new("srcip/bytes", 800, &s, &err), 0);
    uint64_t heavy_true[3] = { 0, 0, 0 };
    for (int i = 0; i < 3000; i++) {
        char a[32];
        struct flow f;
        if (i % 3 == 0) {
            int h = (i / 3) % 3;
            snprintf(a, sizeof(a), "192.0.2.%d", h + 1);
            f = mk(a, "10.9.9.9", 1, 2, 1000, (uint64_t)i);
            heavy_true[h] += 1500;
        } else {
            snprintf(a, sizeof(a), "10.%d.%d.1", i / 250, i % 250);
            f = mk(a, "10.9.9.9", 1, 2, 10, (uint64_t)i);
        }
        stats_add(s, &f);
    }
    assert_true(s->tab.approx);
    assert_true(s->tab.capacity >= 3 && s->tab.capacity < 16);
    assert_true(s->tab.evictions > 0);
    struct stats_row rows[3];
    assert_int_equal(stats_top(s, 3, rows), 3);
    for (int i = 0; i < 3; i++) {
        char buf[64];
        key_part_text(buf, sizeof(buf), &s->key, 0, rows[i].key, 0);
        assert_non_null(strstr(buf, "192.0.2."));
        int h = buf[strlen(buf) - 1] - '1';
        /* Space-Saving: true <= w <= true + err, and the ordered counter is w */
        assert_true(rows[i].v->bytes >= heavy_true[h]);
        assert_true(rows[i].v->bytes - rows[i].v->h.err <= heavy_true[h]);
        assert_int_equal(rows[i].v->bytes, rows[i].v->h.w);
    }
    stats_free(s);
}

static void test_aggregate(void **state)
{
    (void)state;
    struct aggregate *a = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(aggregate_new("srcip4/24,dport", 1 << 20, &a, &err), 0);
    struct flow f1 = mk("10.0.0.1", "10.0.1.1", 1000, 80, 100, 5000);
    struct flow f2 = mk("10.0.0.9", "10.0.2.1", 1001, 80, 300, 1000);
    struct flow f3 = mk("10.0.0.9", "10.0.2.1", 1001, 443, 7, 1000);
    f1.flags = 0x02;
    f2.flags = 0x10;
    f1.payload = 5;
    f2.payload = 6;
    aggregate_add(a, &f1);
    aggregate_add(a, &f2);
    aggregate_add(a, &f3);
    assert_int_equal(a->tab.n, 2);
    struct flow r;
    uint64_t flows;
    assert_int_equal(aggregate_record(a, 0, &r, &flows), 1);
    assert_int_equal(flows, 2);
    char buf[FMT_ADDR_MAX];
    fmt_addr(buf, r.src, r.ipver);
    assert_string_equal(buf, "10.0.0.0");
    assert_int_equal(r.ipver, 4);
    assert_int_equal(r.dport, 80);
    assert_int_equal(r.sport, 0); /* not a key: zero */
    assert_int_equal(r.bytes, 400);
    assert_int_equal(r.rbytes, 200);
    assert_int_equal(r.packets, 4);
    assert_int_equal(r.payload, 11);
    assert_int_equal(r.flags, 0x12);
    assert_int_equal(r.first, 1000);
    assert_int_equal(r.last, 6000);
    assert_int_equal(aggregate_record(a, 2, &r, &flows), 0);
    aggregate_free(a);
}

/* Batched counting (prefetching) gives exactly what one-by-one counting gives. */
static void test_batch_same(void **state)
{
    (void)state;
    struct stats *one = NULL, *bat = NULL;
    struct aggregate *a1 = NULL, *a2 = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(stats_new("ip/bytes", 1 << 20, &one, &err), 0);
    assert_int_equal(stats_new("ip/bytes", 1 << 20, &bat, &err), 0);
    assert_int_equal(aggregate_new("srcip,dport", 1 << 20, &a1, &err), 0);
    assert_int_equal(aggregate_new("srcip,dport", 1 << 20, &a2, &err), 0);
    struct flow fl[STATS_BATCH];
    for (int i = 0; i < 1000; i++) {
        char a[32], b[32];
        snprintf(a, sizeof(a), "10.0.%d.%d", i % 7, i % 13);
        snprintf(b, sizeof(b), "10.1.%d.%d", i % 5, i % 11);
        fl[i % STATS_BATCH] = mk(a, b, 1, (uint16_t)(i % 3), (uint64_t)i, (uint64_t)i);
        stats_add(one, &fl[i % STATS_BATCH]);
        aggregate_add(a1, &fl[i % STATS_BATCH]);
        if (i % STATS_BATCH == STATS_BATCH - 1 || i == 999) {
            stats_add_batch(bat, fl, (size_t)(i % STATS_BATCH) + 1);
            aggregate_add_batch(a2, fl, (size_t)(i % STATS_BATCH) + 1);
        }
    }
    struct stats_row r1[200], r2[200];
    size_t n = stats_top(one, 200, r1);
    assert_int_equal(stats_top(bat, 200, r2), n);
    assert_int_equal(bat->flows, 1000);
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(r1[i].key, r2[i].key, (size_t)one->key.keylen);
        assert_memory_equal(r1[i].v, r2[i].v, sizeof(struct stats_val));
    }
    assert_int_equal(a1->tab.n, a2->tab.n);
    for (size_t i = 0; i < a1->tab.n; i++) { /* same first-seen order */
        struct flow x, y;
        uint64_t fx, fy;
        aggregate_record(a1, i, &x, &fx);
        aggregate_record(a2, i, &y, &fy);
        assert_memory_equal(&x, &y, sizeof(x));
        assert_int_equal(fx, fy);
    }
    stats_free(one);
    stats_free(bat);
    aggregate_free(a1);
    aggregate_free(a2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_parse),       cmocka_unit_test(test_prefix_mask),
        cmocka_unit_test(test_both_directions), cmocka_unit_test(test_top_order_ties),
        cmocka_unit_test(test_approximate),     cmocka_unit_test(test_aggregate),
        cmocka_unit_test(test_batch_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
