/*
 * Per-thread parts of -s (stats_part_*): flows split over parts in any way and merged
 * give exactly what one table counting them in order gives, for every kind of key
 * (addresses, prefixes, two-sided, numbers, IPv6); a part at its budget refuses keys and
 * says so; a merge past the budget fails; stats_columns names what the count reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/fields.h"
#include "query/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Flows over nhosts hosts (a fifth IPv6), times and counters that vary. */
static void gen(struct flow *f, size_t n, size_t nhosts, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        uint64_t a = rnd(&s) % nhosts, b = rnd(&s) % nhosts;
        if (a % 5 == 0) {
            f[i].src[0] = 0x20;
            f[i].src[1] = 0x01;
            memcpy(f[i].src + 8, &a, 8);
            f[i].dst[0] = 0x20;
            memcpy(f[i].dst + 8, &b, 8);
            f[i].ipver = 6;
        } else {
            uint8_t x[4] = { 10, (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };
            uint8_t y[4] = { 192, 168, (uint8_t)(b >> 8), (uint8_t)b };
            flow_addr_from_v4(f[i].src, x);
            flow_addr_from_v4(f[i].dst, y);
            f[i].ipver = 4;
        }
        f[i].sport = (uint16_t)rnd(&s);
        f[i].dport = (uint16_t)(rnd(&s) % 50);
        f[i].proto = (uint8_t)(rnd(&s) % 3 ? 6 : 17);
        f[i].first = 1700000000000ULL + rnd(&s) % 3600000;
        f[i].last = f[i].first + rnd(&s) % 60000;
        f[i].bytes = rnd(&s) % 100000;
        f[i].rbytes = rnd(&s) % 1000000;
        f[i].packets = 1 + rnd(&s) % 100;
        f[i].rpackets = rnd(&s) % 1000;
    }
}

static struct stats *mkstats(const char *spec, size_t budget)
{
    struct stats *s = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(stats_new(spec, budget, &s, &err), 0);
    return s;
}

/* Every entry of a and b, compared through their full top lists. */
static void same_tables(const struct stats *a, const struct stats *b)
{
    assert_int_equal(a->tab.n, b->tab.n);
    assert_true(a->flows == b->flows && a->bytes == b->bytes && a->packets == b->packets);
    size_t n = a->tab.n;
    struct stats_row *ra = calloc(n + 1, sizeof(*ra)), *rb = calloc(n + 1, sizeof(*rb));
    assert_int_equal(stats_top(a, n, ra), n);
    assert_int_equal(stats_top(b, n, rb), n);
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(ra[i].key, rb[i].key, (size_t)a->key.keylen);
        const struct stats_val *x = ra[i].v, *y = rb[i].v;
        assert_true(x->flows == y->flows && x->bytes == y->bytes && x->packets == y->packets);
        assert_true(x->first == y->first && x->last == y->last);
        assert_true(x->h.w == y->h.w && x->h.err == 0 && y->h.err == 0);
    }
    free(ra);
    free(rb);
}

/* Count f with parts: nparts of them, flows dealt out in batches of varying size. */
static void count_parts(struct stats *dst, const struct flow *f, size_t n, size_t nparts,
                        uint64_t seed)
{
    struct stats_part *p[4];
    for (size_t k = 0; k < nparts; k++)
        assert_non_null(p[k] = stats_part_new(dst, (size_t)64 << 20));
    uint64_t s = seed;
    for (size_t i = 0; i < n;) {
        size_t m = 1 + rnd(&s) % STATS_BATCH;
        if (m > n - i)
            m = n - i;
        stats_part_add(p[rnd(&s) % nparts], f + i, m);
        i += m;
    }
    for (size_t k = 1; k < nparts; k++) {
        assert_int_equal(stats_part_merge(p[0], p[k], (size_t)64 << 20), 0);
        stats_part_free(p[k]);
    }
    assert_false(stats_part_full(p[0]));
    assert_int_equal(stats_part_to_stats(dst, p[0], (size_t)64 << 20), 0);
    stats_part_free(p[0]);
}

static void test_parts_equal_sequential(void **state)
{
    (void)state;
    static const char *const specs[] = { "srcip/bytes",   "ip/bytes", "dstip4/24/bps",
                                         "srcip6/48/pps", "dport",    "proto/packets",
                                         "port/bpp",      "net" };
    size_t n = 60000;
    struct flow *f = malloc(n * sizeof(*f));
    gen(f, n, 20000, 42); /* some 30 k keys: the parts grow many times */
    for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
        struct stats *seq = mkstats(specs[k], (size_t)64 << 20);
        for (size_t i = 0; i < n; i++)
            stats_add(seq, &f[i]);
        for (size_t nparts = 1; nparts <= 3; nparts++) {
            struct stats *par = mkstats(specs[k], (size_t)64 << 20);
            count_parts(par, f, n, nparts, k * 10 + nparts);
            assert_false(par->tab.approx);
            same_tables(seq, par);
            stats_free(par);
        }
        stats_free(seq);
    }
    free(f);
}

static void test_part_budget(void **state)
{
    (void)state;
    size_t n = 20000;
    struct flow *f = malloc(n * sizeof(*f));
    gen(f, n, 100000, 7);
    struct stats *s = mkstats("srcip/bytes", (size_t)64 << 20);
    /* 64 KB holds some 700 keys at most: the part says it is full. */
    struct stats_part *p = stats_part_new(s, 64 << 10);
    assert_non_null(p);
    for (size_t i = 0; i < n; i += STATS_BATCH)
        stats_part_add(p, f + i, n - i < STATS_BATCH ? n - i : STATS_BATCH);
    assert_true(stats_part_full(p));
    assert_true(stats_part_bytes(p) <= 64 << 10);
    stats_part_free(p);
    /* Two full-size parts do not merge into a budget that holds one. */
    struct stats_part *a = stats_part_new(s, (size_t)64 << 20),
                      *b = stats_part_new(s, (size_t)64 << 20);
    for (size_t i = 0; i < n; i += STATS_BATCH)
        stats_part_add(i / STATS_BATCH % 2 ? a : b, f + i,
                       n - i < STATS_BATCH ? n - i : STATS_BATCH);
    assert_false(stats_part_full(a));
    assert_int_equal(stats_part_merge(a, b, stats_part_bytes(a) + 1024), FS_ENOSPC);
    /* Nor into a table that would have to turn approximate. */
    struct stats *small = mkstats("srcip/bytes", 32 << 10);
    assert_int_equal(stats_part_to_stats(small, b, 32 << 10), FS_ENOSPC);
    assert_false(small->tab.approx);
    stats_free(small);
    stats_part_free(a);
    stats_part_free(b);
    stats_free(s);
    free(f);
}

static void test_columns(void **state)
{
    (void)state;
    struct stats *s = mkstats("srcip/bytes", 1 << 20);
    uint64_t want = 0;
    static const char *const used[] = { "src",    "first",   "last",    "bytes",
                                        "rbytes", "packets", "rpackets" };
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        want |= (uint64_t)1 << field_index(used[i]);
    assert_int_equal(stats_columns(s), want);
    stats_free(s);
    s = mkstats("port", 1 << 20);
    assert_true(stats_columns(s) & ((uint64_t)1 << field_index("sport")));
    assert_true(stats_columns(s) & ((uint64_t)1 << field_index("dport")));
    assert_false(stats_columns(s) & ((uint64_t)1 << field_index("src")));
    stats_free(s);
    /* Every -s key (one part: at most 16 bytes) fits a part. */
    assert_non_null(s = mkstats("srcip", 1 << 20));
    struct stats_part *p = stats_part_new(s, 1 << 20);
    assert_non_null(p);
    stats_part_free(p);
    stats_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts_equal_sequential),
        cmocka_unit_test(test_part_budget),
        cmocka_unit_test(test_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
