/*
 * The download commands' input feed (src/cmd/uniflow.c): pairing of NetFlow uniflows
 * (-b) with the uniflows that find no reverse skipped and counted, the --basis, and
 * the sampling judge: an exporter whose flows all share a divisor (collect scaled them
 * by its interval) is refused, an unsampled one passes, too few flows with a small
 * divisor are not judged, metered flows (no exporter) are never held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/uniflow.h"

struct got {
    struct flow v[256];
    size_t n;
};

static int keep(void *ctx, const struct flow *f)
{
    struct got *g = ctx;
    assert_true(g->n < 256);
    g->v[g->n++] = *f;
    return 0;
}

static void v4(uint8_t a[16], uint8_t last)
{
    const uint8_t b[4] = { 10, 0, 0, last };
    flow_addr_from_v4(a, b);
}

/* One direction of connection i: c2s = client to server, from exporter exp (0 = none). */
static struct flow uni(int i, int c2s, uint8_t exp, uint64_t bytes, uint64_t packets)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    v4(c2s ? f.src : f.dst, 2);
    v4(c2s ? f.dst : f.src, 1);
    f.sport = c2s ? (uint16_t)(40000 + i) : 80;
    f.dport = c2s ? 80 : (uint16_t)(40000 + i);
    f.proto = 6;
    f.ipver = 4;
    f.first = 1700000000000ull + (uint64_t)i * 1000;
    f.last = f.first + 500;
    f.bytes = bytes;
    f.packets = packets;
    if (exp)
        v4(f.exporter, exp);
    return f;
}

static void test_pair_and_missing(void **state)
{
    (void)state;
    struct got g = { .n = 0 };
    struct uni_feed u;
    uni_feed_init(&u, 1, UNI_AUTO, 10000, keep, &g);
    struct flow v[5];
    v[0] = uni(0, 1, 9, 600, 9);      /* request */
    v[1] = uni(0, 0, 9, 520013, 361); /* response: pairs with v[0] */
    v[2] = uni(1, 0, 9, 400009, 277); /* a response alone: one direction missing */
    v[3] = uni(2, 1, 9, 700, 11);     /* a request alone */
    v[4] = uni(3, 0, 0, 100001, 70);  /* metered, alone */
    for (int i = 0; i < 5; i++)
        assert_int_equal(uni_feed_add(&u, &v[i]), 0);
    assert_int_equal(uni_end(&u), 0);
    /* one biflow out: forward = the client, reverse = the server's record */
    assert_int_equal(g.n, 1);
    assert_int_equal(g.v[0].sport, 40000);
    assert_int_equal(g.v[0].rbytes, 520013);
    assert_int_equal(g.v[0].rpackets, 361);
    assert_int_equal(u.unpaired, 3);
    assert_int_equal(u.unpaired_big, 2);
    uni_feed_free(&u);
}

static void test_basis(void **state)
{
    (void)state;
    struct got g = { .n = 0 };
    struct uni_feed u;
    uni_feed_init(&u, 0, UNI_BYTES, 10000, keep, &g);
    struct flow f = uni(0, 1, 0, 600, 9);
    f.rbytes = 520013;
    f.rpackets = 361;
    f.rpayload = 501241;
    f.rgoodput = 500000;
    assert_int_equal(uni_feed_add(&u, &f), 0);
    assert_int_equal(uni_end(&u), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.v[0].rpayload, 0);
    assert_int_equal(g.v[0].rgoodput, 0);
    assert_int_equal(g.v[0].rbytes, 520013);
    uni_feed_free(&u);
    /* without -b a uniflow passes (the matcher sees nothing in it) and is counted */
    g.n = 0;
    uni_feed_init(&u, 0, UNI_AUTO, 10000, keep, &g);
    f = uni(0, 0, 0, 520013, 361);
    assert_int_equal(uni_feed_add(&u, &f), 0);
    assert_int_equal(uni_end(&u), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(u.uni_big, 1);
    uni_feed_free(&u);
}

/* n connections from exporter exp, every counter times k (k = 1: unsampled). */
static size_t conns(struct flow *v, uint64_t k, uint8_t exp, int n)
{
    size_t m = 0;
    for (int i = 0; i < n; i++) {
        v[m++] = uni(i, 1, exp, (uint64_t)(300 + 7 * i) * k, (uint64_t)(5 + i) * k);
        v[m++] = uni(i, 0, exp, (uint64_t)(200001 + 13 * i) * k, (uint64_t)(139 + i) * k);
    }
    return m;
}

/* One case of the sampling judge: n connections of exporter exp with every counter
 * times k, and what comes of them (-1: not checked). */
struct sampling_case {
    uint64_t k;
    uint8_t exp;
    int n;
    size_t out;   /* flows passed */
    int sampled;  /* flows refused */
    int unjudged; /* flows passed without a judgement */
    int ordered;  /* passed in connection order */
};

static void test_sampling(void **state)
{
    (void)state;
    static const struct sampling_case cases[] = {
        /* scaled by 4: refused, every one of the 20 paired flows */
        { 4, 7, 20, 0, 20, -1, 0 },
        /* unsampled: all 20 pass, in order, none held back at the end */
        { 1, 7, 20, 20, 0, 0, 1 },
        /* 4 flows scaled by 2: too few to tell (2^8 < 2^32), passed and counted */
        { 2, 7, 4, 4, -1, 4, 0 },
        /* 4 flows scaled by 1000 (a router's 1:1000): refused */
        { 1000, 7, 4, 0, 4, -1, 0 },
        /* metered flows (exporter zero) scaled by chance: never judged */
        { 4, 0, 20, 20, -1, -1, 0 },
    };
    static struct flow v[64];
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct sampling_case *t = &cases[c];
        struct got g = { .n = 0 };
        struct uni_feed u;
        uni_feed_init(&u, 1, UNI_AUTO, 10000, keep, &g);
        size_t n = conns(v, t->k, t->exp, t->n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(uni_feed_add(&u, &v[i]), 0);
        assert_int_equal(uni_end(&u), 0);
        assert_int_equal(g.n, t->out);
        if (t->sampled >= 0)
            assert_int_equal(u.sampled, t->sampled);
        if (t->unjudged >= 0)
            assert_int_equal(u.unjudged, t->unjudged);
        for (size_t i = 0; t->ordered && i < t->out; i++)
            assert_int_equal(g.v[i].sport, 40000 + i);
        uni_feed_free(&u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_and_missing),
        cmocka_unit_test(test_basis),
        cmocka_unit_test(test_sampling),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
