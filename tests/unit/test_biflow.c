/* Unit tests of uniflow pairing (print -b, stats -b): pairing, orientation, time gap,
 * pass-through, exporters, port reuse, hold and capacity limits, many flows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "query/biflow.h"

#include <stdlib.h>
#include <string.h>

struct sink {
    struct flow *f;
    size_t n, cap;
    size_t stop_after; /* 0 = never */
};

static int collect(void *ctx, const struct flow *f)
{
    struct sink *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->f = realloc(s->f, s->cap * sizeof(*s->f));
        assert_non_null(s->f);
    }
    s->f[s->n++] = *f;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

static void v4(uint8_t a[16], uint32_t ip)
{
    uint8_t b[4] = { (uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip };
    flow_addr_from_v4(a, b);
}

/* A uniflow src:sport -> dst:dport (proto 6) over [first, last] ms. */
static struct flow uni(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint64_t first,
                       uint64_t last, uint64_t bytes, uint64_t packets)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    v4(f.src, src);
    v4(f.dst, dst);
    f.sport = sport;
    f.dport = dport;
    f.proto = 6;
    f.ipver = 4;
    f.first = first;
    f.last = last;
    f.bytes = bytes;
    f.packets = packets;
    f.flags = 0x1b;
    f.minlen = 40;
    f.maxlen = (uint16_t)(bytes / packets);
    return f;
}

static struct biflow *pairer(void)
{
    return biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN);
}

static void run(struct biflow *b, const struct flow *in, size_t n, struct sink *out)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(biflow_add(b, &in[i], collect, out), 0);
    assert_int_equal(biflow_flush(b, collect, out), 0);
}

/* Client -> server first, then the reply: one biflow, client forward. */
static void test_pair_basic(void **state)
{
    (void)state;
    struct flow in[2] = { uni(0x0a000001, 40000, 0xc0000201, 80, 1000, 1500, 600, 6),
                          uni(0xc0000201, 80, 0x0a000001, 40000, 1001, 1499, 9000, 8) };
    in[1].flags = 0x12;
    in[1].minlen = 60;
    in[1].maxlen = 1500;
    struct biflow *b = pairer();
    struct sink s = { 0 };
    run(b, in, 2, &s);
    assert_int_equal(s.n, 1);
    const struct flow *f = &s.f[0];
    assert_memory_equal(f->src, in[0].src, 16);
    assert_int_equal(f->sport, 40000);
    assert_int_equal(f->dport, 80);
    assert_int_equal(f->bytes, 600);
    assert_int_equal(f->packets, 6);
    assert_int_equal(f->rbytes, 9000);
    assert_int_equal(f->rpackets, 8);
    assert_int_equal(f->flags, 0x1b);
    assert_int_equal(f->rflags, 0x12);
    assert_int_equal(f->rminlen, 60);
    assert_int_equal(f->rmaxlen, 1500);
    assert_int_equal(f->first, 1000);
    assert_int_equal(f->last, 1500);
    struct biflow_counts c;
    biflow_counts(b, &c);
    assert_int_equal(c.in, 2);
    assert_int_equal(c.paired, 1);
    assert_int_equal(c.unpaired, 0);
    biflow_free(b);
    free(s.f);
}

/* The reply arrives first (exporters order by expiry): forward is still the initiator,
 * by start time; on equal start times the record sent to the lower port is forward. */
static void test_orientation(void **state)
{
    (void)state;
    struct flow in[2] = { uni(0xc0000201, 443, 0x0a000001, 50000, 2005, 2600, 7000, 7),
                          uni(0x0a000001, 50000, 0xc0000201, 443, 2000, 2500, 700, 5) };
    struct biflow *b = pairer();
    struct sink s = { 0 };
    run(b, in, 2, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.f[0].sport, 50000);
    assert_int_equal(s.f[0].dport, 443);
    assert_int_equal(s.f[0].bytes, 700);
    assert_int_equal(s.f[0].rbytes, 7000);
    assert_int_equal(s.f[0].first, 2000);
    assert_int_equal(s.f[0].last, 2600);
    biflow_free(b);

    /* equal first: the record whose dport (53) is the lower port is forward */
    s.n = 0;
    in[0] = uni(0xc0000235, 53, 0x0a000001, 33333, 5000, 5000, 120, 1);
    in[1] = uni(0x0a000001, 33333, 0xc0000235, 53, 5000, 5000, 60, 1);
    in[0].proto = in[1].proto = 17;
    b = pairer();
    run(b, in, 2, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.f[0].dport, 53);
    assert_int_equal(s.f[0].bytes, 60);
    assert_int_equal(s.f[0].rbytes, 120);
    biflow_free(b);

    /* equal first, client port 1024, server 8080 (a common service port) */
    s.n = 0;
    in[0] = uni(0x0a000001, 1024, 0xc0000202, 8080, 7000, 7100, 300, 4);
    in[1] = uni(0xc0000202, 8080, 0x0a000001, 1024, 7000, 7100, 900, 4);
    b = pairer();
    run(b, &in[1], 1, &s);
    assert_int_equal(s.n, 1); /* alone: passes through */
    s.n = 0;
    biflow_free(b);
    b = pairer();
    assert_int_equal(biflow_add(b, &in[1], collect, &s), 0);
    assert_int_equal(biflow_add(b, &in[0], collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.f[0].sport, 1024);
    assert_int_equal(s.f[0].dport, 8080);
    assert_int_equal(s.f[0].rbytes, 900);
    biflow_free(b);
    free(s.f);
}

/* Times more than the gap apart, another proto, another exporter, a same-direction
 * key: none pair; each passes through unchanged. */
static void test_not_paired(void **state)
{
    (void)state;
    struct flow in[5] = {
        uni(0x0a000001, 1234, 0x0a000002, 80, 1000, 2000, 100, 1),
        uni(0x0a000002, 80, 0x0a000001, 1234, 3001, 3500, 200, 2), /* starts 1001 ms late */
        uni(0x0a000002, 80, 0x0a000001, 1234, 1500, 1600, 300, 3), /* proto 17 */
        uni(0x0a000002, 80, 0x0a000001, 1234, 1500, 1600, 400, 4), /* other exporter */
        uni(0x0a000001, 1234, 0x0a000002, 80, 1500, 1600, 500, 5), /* same direction */
    };
    in[2].proto = 17;
    in[3].exporter[15] = 9;
    struct biflow *b = pairer();
    struct sink s = { 0 };
    run(b, in, 5, &s);
    assert_int_equal(s.n, 5);
    uint64_t sum = 0;
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.f[i].rbytes, 0);
        assert_int_equal(s.f[i].rpackets, 0);
        sum += s.f[i].bytes;
    }
    assert_int_equal(sum, 1500);
    /* unpaired records come out unchanged (in insertion order at the flush) */
    assert_memory_equal(&s.f[0], &in[0], sizeof(struct flow));
    assert_memory_equal(&s.f[4], &in[4], sizeof(struct flow));
    struct biflow_counts c;
    biflow_counts(b, &c);
    assert_int_equal(c.paired, 0);
    assert_int_equal(c.unpaired, 5);
    biflow_free(b);
    free(s.f);
}

/* Within the gap (starts 1000 ms after the other ends) pairs; biflows pass through
 * at once, untouched. */
static void test_gap_and_biflow_passthrough(void **state)
{
    (void)state;
    struct flow bi = uni(0x0a000009, 999, 0x0a00000a, 22, 100, 200, 10, 1);
    bi.rbytes = 20;
    bi.rpackets = 2;
    struct flow in[3] = { uni(0x0a000001, 1234, 0x0a000002, 80, 1000, 2000, 100, 1), bi,
                          uni(0x0a000002, 80, 0x0a000001, 1234, 3000, 3500, 200, 2) };
    struct biflow *b = pairer();
    struct sink s = { 0 };
    assert_int_equal(biflow_add(b, &in[0], collect, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(biflow_add(b, &in[1], collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_memory_equal(&s.f[0], &bi, sizeof(bi));
    assert_int_equal(biflow_add(b, &in[2], collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.f[1].bytes, 100);
    assert_int_equal(s.f[1].rbytes, 200);
    assert_int_equal(s.f[1].last, 3500);
    assert_int_equal(biflow_flush(b, collect, &s), 0);
    assert_int_equal(s.n, 2);
    biflow_free(b);
    free(s.f);
}

/* A 5-tuple reused: each reply pairs with the request closest in start time. */
static void test_port_reuse(void **state)
{
    (void)state;
    struct flow in[4] = { uni(0x0a000001, 5555, 0x0a000002, 80, 1000, 1100, 1, 1),
                          uni(0x0a000001, 5555, 0x0a000002, 80, 1900, 2000, 2, 1),
                          uni(0x0a000002, 80, 0x0a000001, 5555, 1950, 2000, 20, 1),
                          uni(0x0a000002, 80, 0x0a000001, 5555, 1050, 1100, 10, 1) };
    struct biflow *b = pairer();
    struct sink s = { 0 };
    run(b, in, 4, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.f[0].bytes, 2);
    assert_int_equal(s.f[0].rbytes, 20);
    assert_int_equal(s.f[1].bytes, 1);
    assert_int_equal(s.f[1].rbytes, 10);
    biflow_free(b);
    free(s.f);
}

/* A record far later in time gives up old open uniflows (hold), so a late reverse
 * no longer pairs; a full ring gives up its oldest. */
static void test_hold_and_capacity(void **state)
{
    (void)state;
    struct biflow *b = biflow_new(1000, 60000, 16);
    struct sink s = { 0 };
    struct flow a = uni(0x0a000001, 1000, 0x0a000002, 80, 0, 100, 1, 1);
    struct flow late = uni(0x0a000003, 1, 0x0a000004, 2, 70000, 70000, 1, 1);
    assert_int_equal(biflow_add(b, &a, collect, &s), 0);
    assert_int_equal(biflow_add(b, &late, collect, &s), 0);
    assert_int_equal(s.n, 1); /* a given up: 70000 > 100 + 60000 */
    assert_memory_equal(&s.f[0], &a, sizeof(a));
    biflow_free(b);

    s.n = 0;
    b = biflow_new(1000, 60000, 16);
    for (uint16_t i = 0; i < 17; i++) {
        struct flow f = uni(0x0a000001, (uint16_t)(1000 + i), 0x0a000002, 80, i, i, 1, 1);
        assert_int_equal(biflow_add(b, &f, collect, &s), 0);
    }
    assert_int_equal(s.n, 1);
    assert_int_equal(s.f[0].sport, 1000); /* the oldest */
    struct flow r = uni(0x0a000002, 80, 0x0a000001, 1016, 20, 20, 5, 1);
    assert_int_equal(biflow_add(b, &r, collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.f[1].rbytes, 5);
    assert_int_equal(biflow_flush(b, collect, &s), 0);
    assert_int_equal(s.n, 17);
    biflow_free(b);
    free(s.f);
}

/* A nonzero return of the callback stops and is passed back. */
static void test_stop(void **state)
{
    (void)state;
    struct biflow *b = pairer();
    struct sink s = { .stop_after = 1 };
    struct flow x = uni(0x0a000001, 1, 0x0a000002, 2, 0, 0, 1, 1);
    struct flow y = uni(0x0a000003, 1, 0x0a000002, 2, 0, 0, 1, 1);
    assert_int_equal(biflow_add(b, &x, collect, &s), 0);
    assert_int_equal(biflow_add(b, &y, collect, &s), 0);
    assert_int_equal(biflow_flush(b, collect, &s), 7);
    assert_int_equal(s.n, 1);
    biflow_free(b);
    free(s.f);
}

/* 200000 connections, IPv4 and IPv6, both directions shuffled within a window and
 * 1% of replies missing: every reply pairs with its request (the ring compacts its
 * holes), the lone requests come out unpaired, totals are kept. */
static void test_many(void **state)
{
    (void)state;
    enum { N = 200000 };
    struct flow *in = malloc(2 * N * sizeof(*in));
    assert_non_null(in);
    size_t n = 0;
    uint64_t fwd = 0, rev = 0, missing = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint64_t t = 1000000 + (uint64_t)i * 3;
        struct flow q = uni(0x0a000000 + i / 50000, (uint16_t)(1024 + i % 50000), 0xc0000201, 443,
                            t, t + 500, 100 + i % 7, 2);
        struct flow r = uni(0xc0000201, 443, 0, q.sport, t + 1, t + 499, 1000 + i % 13, 3);
        memcpy(r.dst, q.src, 16);
        if (i % 3 == 0) { /* some IPv6 */
            q.ipver = r.ipver = 6;
            q.src[0] = r.dst[0] = 0x20;
        }
        fwd += q.bytes;
        in[n++] = i % 2 ? r : q; /* reply first for odd i */
        if (i % 100 == 99) {
            missing++;
            in[n - 1] = q;
            continue;
        }
        rev += r.bytes;
        in[n++] = i % 2 ? q : r;
    }
    struct biflow *b = pairer();
    struct sink s = { 0 };
    run(b, in, n, &s);
    assert_int_equal(s.n, N);
    uint64_t sf = 0, sr = 0, unp = 0;
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.f[i].dport, 443);
        sf += s.f[i].bytes;
        sr += s.f[i].rbytes;
        unp += s.f[i].rpackets == 0;
    }
    assert_int_equal(sf, fwd);
    assert_int_equal(sr, rev);
    assert_int_equal(unp, missing);
    biflow_free(b);
    free(s.f);
    free(in);
}

/* 10000 requests open at once, then their replies newest first: the ring grows. */
static void test_grow(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct biflow *b = pairer();
    struct sink s = { 0 };
    for (uint32_t i = 0; i < N; i++) {
        struct flow q = uni(0x0a000001 + i, 40000, 0x0a0000ff, 53, 5000, 5000 + i, 50, 1);
        assert_int_equal(biflow_add(b, &q, collect, &s), 0);
    }
    assert_int_equal(s.n, 0);
    for (uint32_t i = N; i-- > 0;) {
        struct flow r = uni(0x0a0000ff, 53, 0x0a000001 + i, 40000, 5001, 5001 + i, 90, 1);
        assert_int_equal(biflow_add(b, &r, collect, &s), 0);
    }
    assert_int_equal(biflow_flush(b, collect, &s), 0);
    assert_int_equal(s.n, N);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.f[i].dport, 53);
        assert_int_equal(s.f[i].rbytes, 90);
    }
    biflow_free(b);
    free(s.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_basic), cmocka_unit_test(test_orientation),
        cmocka_unit_test(test_not_paired), cmocka_unit_test(test_gap_and_biflow_passthrough),
        cmocka_unit_test(test_port_reuse), cmocka_unit_test(test_hold_and_capacity),
        cmocka_unit_test(test_stop),       cmocka_unit_test(test_many),
        cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
