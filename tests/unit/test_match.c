/*
 * The nearest model: exact matches with goodput, tolerance, ambiguity, rejection,
 * sets of 2-3 entries, the estimate from bytes, and per-connection calibration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "detect/catalog.h"
#include "detect/match.h"

static struct catalog cat;

static const struct {
    uint64_t size;
    const char *name, *url;
} entries[] = {
    { 100000, "a", "pool/a.deb" },   { 150000, "b", "pool/bb.deb" },
    { 150300, "c", "pool/ccc.deb" }, { 400000, "d", "pool/dddd+1.deb" },
    { 777777, "e", "pool/e.deb" },   { 5000000, "f", "pool/f.deb" },
};

static int setup(void **state)
{
    (void)state;
    catalog_init(&cat);
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        struct cat_entry e = {
            .size = entries[i].size, .name = entries[i].name, .version = "1", .url = entries[i].url
        };
        catalog_add(&cat, &e);
    }
    catalog_sort(&cat);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    catalog_free(&cat);
    return 0;
}

static struct flow goodput(uint64_t g)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.rgoodput = g;
    f.rpayload = g;
    f.rbytes = g + 52 * (g / 1448 + 1);
    f.rpackets = g / 1448 + 1;
    return f;
}

static const char *name0(const struct match_result *r, int i, int p)
{
    return cat.e[r->c[i].idx[p]].name;
}

static void test_single(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct match_result r;
    struct flow f = goodput(777777 + 250);
    assert_int_equal(match_flow(&cat, &o, NULL, &f, &r), 0);
    /* alone in its window, but nothing vouches for it yet: possible */
    assert_int_equal(r.verdict, MV_POSSIBLE);
    assert_int_equal(r.alone, 1);
    assert_int_equal(r.basis, MB_GOODPUT);
    assert_string_equal(name0(&r, 0, 0), "e");
    assert_int_equal(r.c[0].residual, 250);
    /* below the overhead range, above it: rejected */
    f = goodput(777777 + 20);
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_REJECT);
    f = goodput(777777 + 801);
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_REJECT);
    /* a tolerance widens it */
    o.tol_exact = 1;
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.alone, 1);
    /* with the server calibrated around 250 bytes: a match */
    f = goodput(777777 + 250);
    match_flow(&cat, &o, &(struct match_calib){ .resp = 1, .resp_oh = 250 }, &f, &r);
    assert_int_equal(r.verdict, MV_MATCH);
    /* small flows are not considered */
    f = goodput(9000);
    assert_int_equal(match_flow(&cat, &o, NULL, &f, &r), 1);
}

static void test_ambiguous(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct match_result r;
    struct flow f = goodput(150300 + 300); /* b + 600 or c + 300 */
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS);
    assert_int_equal(r.ncands, 2);
    o.oh_min = o.oh_max = 300; /* a known overhead separates them */
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.alone, 1);
    assert_string_equal(name0(&r, 0, 0), "c");
    o.max_cands = 1;
    o.oh_min = 40;
    o.oh_max = 800;
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS);
    assert_int_equal(r.ncands, 1);
    assert_int_equal(r.more, 1);
}

static void test_estimate(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct match_result r;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.rpackets = 3455;                              /* 5 MB in 1448-byte segments */
    f.rbytes = 5000000 + 300 + 3455ULL * 52 + 4000; /* off by 4000 bytes (0.08%) */
    assert_int_equal(match_flow(&cat, &o, NULL, &f, &r), 0);
    assert_int_equal(r.basis, MB_ESTIMATE);
    assert_int_equal(r.alone, 1);
    assert_string_equal(name0(&r, 0, 0), "f");
    o.tol_pct = 0; /* 2*H only: 4000 bytes off is too far */
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_REJECT);
    /* hostile counters: no overflow, nothing considered */
    f.rpackets = UINT64_MAX / 3;
    f.rbytes = 1;
    assert_int_equal(match_flow(&cat, &o, NULL, &f, &r), 1);
}

static void test_sets(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct match_result r;
    /* a + d + e with 3 x 200 bytes of headers: only a possible set without calibration */
    struct flow f = goodput(100000 + 400000 + 777777 + 600);
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_POSSIBLE);
    assert_int_equal(r.c[0].k, 3);
    assert_string_equal(name0(&r, 0, 0), "a");
    assert_string_equal(name0(&r, 0, 1), "d");
    assert_string_equal(name0(&r, 0, 2), "e");
    /* calibrated at 200 bytes per response, no request calibration: still only
     * possible (one measurement does not name a set) */
    struct match_calib cal = { .resp = 1, .resp_oh = 200 };
    match_flow(&cat, &o, &cal, &f, &r);
    assert_int_equal(r.verdict, MV_POSSIBLE);
    assert_int_equal(r.calibrated, 1);
    assert_int_equal(r.reqsum, 0);
    /* request bytes must fit too: 3 requests of len(url) + 80 */
    size_t u = match_url_len("pool/a.deb") + match_url_len("pool/dddd+1.deb") +
               match_url_len("pool/e.deb");
    assert_int_equal(match_url_len("pool/dddd+1.deb"), 17);
    cal.req = 1;
    cal.req_oh = 80;
    f.payload = u + 240;
    match_flow(&cat, &o, &cal, &f, &r);
    assert_int_equal(r.verdict, MV_MATCH);
    assert_int_equal(r.reqsum, 1);
    f.payload = u + 240 + 40;
    match_flow(&cat, &o, &cal, &f, &r);
    assert_int_equal(r.verdict, MV_REJECT);
    /* b + c (2 entries), requests of len(url) + 80 */
    f = goodput(150000 + 150300 + 2 * 200);
    f.payload = match_url_len("pool/bb.deb") + match_url_len("pool/ccc.deb") + 160;
    match_flow(&cat, &o, &cal, &f, &r);
    assert_int_equal(r.verdict, MV_MATCH);
    assert_int_equal(r.c[0].k, 2);
    /* sums off: max_set 1 */
    o.max_set = 1;
    match_flow(&cat, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_REJECT);
    /* a tiny work cap gives up as ambiguous, never as a match */
    o.max_set = 4;
    o.work_cap = 1;
    match_flow(&cat, &o, &(struct match_calib){ .resp = 1, .resp_oh = 200 }, &f, &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS);
}

struct got {
    int n;
    enum match_verdict v[8];
};

static int on_result(void *ctx, const struct flow *f, const struct match_result *r)
{
    (void)f;
    struct got *g = ctx;
    g->v[g->n++] = r->verdict;
    return 0;
}

static void test_run_calibrates(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct flow fl[3];
    fl[0] = goodput(777777 + 133); /* exchange 1: e alone */
    fl[0].exchange = 1;
    fl[0].payload = match_url_len("pool/e.deb") + 88;
    fl[1] = goodput(100000 + 400000 + 2 * 133); /* exchange 2: a + d pipelined */
    fl[1].exchange = 2;
    fl[1].payload = match_url_len("pool/a.deb") + match_url_len("pool/dddd+1.deb") + (size_t)2 * 88;
    fl[2] = goodput(5000);
    struct got g = { 0 };
    match_run(&cat, &o, fl, 3, on_result, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.v[0], MV_MATCH);
    assert_int_equal(g.v[1], MV_MATCH);
}

/* One entry fits, and so does a pair of others: no defensible single answer. */
static void test_single_and_set(void **state)
{
    (void)state;
    struct catalog c;
    catalog_init(&c);
    static const uint64_t sz[3] = { 100000, 200000, 300500 };
    static const char *const nm[3] = { "x", "y", "z" };
    for (int i = 0; i < 3; i++) {
        struct cat_entry e = { .size = sz[i], .name = nm[i], .version = "1", .url = "p/x.deb" };
        catalog_add(&c, &e);
    }
    catalog_sort(&c);
    struct match_opts o;
    match_opts_default(&o);
    struct match_result r;
    struct flow f = goodput(300500 + 200); /* z + 200, or x + y + 2 x 350 */
    match_flow(&c, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS);
    assert_int_equal(r.ncands, 2);
    /* the server's calibrated 200 bytes a response leave z alone */
    match_flow(&c, &o, &(struct match_calib){ .resp = 1, .resp_oh = 200 }, &f, &r);
    assert_int_equal(r.verdict, MV_MATCH);
    assert_int_equal(r.ncands, 1);
    assert_string_equal(c.e[r.c[0].idx[0]].name, "z");
    /* without sets (--max-set 1) the single is alone (a match once calibrated) */
    o.max_set = 1;
    match_flow(&c, &o, NULL, &f, &r);
    assert_int_equal(r.alone, 1);
    assert_int_equal(r.verdict, MV_POSSIBLE);
    catalog_free(&c);
}

/* The calibration is the server's: another connection to it, another client even,
 * has its window narrowed by what a unique single measured. */
static void test_run_calibrates_server(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct flow fl[3];
    fl[0] = goodput(777777 + 133); /* e alone: the server sends 133 header bytes */
    fl[0].sport = 40000;
    fl[1] = goodput(150300 + 133); /* alone: b + 433 or c + 133 */
    fl[1].sport = 40001;
    fl[1].src[15] = 9; /* another client */
    fl[2] = goodput(150300 + 133);
    fl[2].dst[15] = 7; /* another server: nothing calibrates it */
    struct got g = { 0 };
    match_run(&cat, &o, fl, 3, on_result, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.v[0], MV_MATCH);
    assert_int_equal(g.v[1], MV_MATCH);
    assert_int_equal(g.v[2], MV_AMBIGUOUS);
}

/* Five downloads from one server with headers of 124..133 bytes: its window narrows
 * to 122..135 a response, which leaves out a pair that fit the +-16 window. */
static void test_run_calibrates_span(void **state)
{
    (void)state;
    struct catalog c;
    catalog_init(&c);
    static const char *const nm[8] = { "x", "y", "z", "w1", "w2", "w3", "w4", "w5" };
    uint64_t sz[8] = { 100000, 200000, 300150 };
    for (int i = 0; i < 5; i++)
        sz[3 + i] = 1000777 + 123457 * (uint64_t)i;
    for (int i = 0; i < 8; i++) {
        struct cat_entry e = { .size = sz[i], .name = nm[i], .version = "1" };
        catalog_add(&c, &e);
    }
    catalog_sort(&c);
    static const int hdr[5] = { 124, 133, 132, 133, 124 };
    struct flow fl[6];
    for (int i = 0; i < 5; i++) {
        fl[i] = goodput(sz[3 + i] + (uint64_t)hdr[i]);
        fl[i].sport = (uint16_t)(40000 + i);
    }
    fl[5] = goodput(300150 + 133); /* z + 133, or x + y + 2 x 141.5 */
    fl[5].sport = 40009;
    struct match_opts o;
    match_opts_default(&o);
    struct got g = { 0 };
    match_run(&c, &o, fl, 6, on_result, &g);
    assert_int_equal(g.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(g.v[i], MV_MATCH);
    /* four downloads are not enough to trust their spread: +-16 stays, the pair fits */
    g.n = 0;
    fl[4] = fl[5];
    match_run(&c, &o, fl, 5, on_result, &g);
    assert_int_equal(g.v[4], MV_AMBIGUOUS);
    catalog_free(&c);
}

/* No download fits one entry alone (each also fits a pair with 300 bytes of headers
 * apiece), so no flow votes as a defended match; but every flow has a single 133
 * bytes below it: the peak of the singles calibrates the server, and in its window
 * the pairs no longer fit. */
static void test_run_calibrates_peak(void **state)
{
    (void)state;
    struct catalog c;
    catalog_init(&c);
    static const char *const nm[15] = { "w1", "w2", "w3", "w4", "w5", "p1", "p2", "p3",
                                        "p4", "p5", "q1", "q2", "q3", "q4", "q5" };
    uint64_t sz[15];
    for (int i = 0; i < 5; i++) {
        sz[i] = 1000777 + 123457 * (uint64_t)i;
        sz[5 + i] = 300000 + 1000 * (uint64_t)i;
        sz[10 + i] = sz[i] + 133 - 600 - sz[5 + i];
    }
    for (int i = 0; i < 15; i++) {
        struct cat_entry e = { .size = sz[i], .name = nm[i], .version = "1" };
        catalog_add(&c, &e);
    }
    catalog_sort(&c);
    struct flow fl[5];
    for (int i = 0; i < 5; i++) {
        fl[i] = goodput(sz[i] + 133);
        fl[i].sport = (uint16_t)(40000 + i);
    }
    struct match_opts o;
    match_opts_default(&o);
    struct match_result r;
    match_flow(&c, &o, NULL, &fl[0], &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS); /* alone: w1 or p1 + q1 */
    struct got g = { 0 };
    match_run(&c, &o, fl, 5, on_result, &g);
    assert_int_equal(g.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(g.v[i], MV_MATCH);
    /* four such flows are too few to be evidence */
    g.n = 0;
    match_run(&c, &o, fl, 4, on_result, &g);
    assert_int_equal(g.v[0], MV_AMBIGUOUS);
    catalog_free(&c);
}

/* One entry in the window, but entries every 800 bytes around it: a payload of no
 * catalogue download would find one as often, so it is not alone. In a calibrated
 * window of 33 bytes it is. */
static void test_chance(void **state)
{
    (void)state;
    struct catalog c;
    catalog_init(&c);
    static char names[400][8];
    for (int i = 0; i < 400; i++) {
        snprintf(names[i], sizeof(names[i]), "d%d", i);
        struct cat_entry e = { .size = 1000000 + 800 * (uint64_t)i,
                               .name = names[i],
                               .version = "1" };
        catalog_add(&c, &e);
    }
    catalog_sort(&c);
    struct match_opts o;
    match_opts_default(&o);
    o.max_set = 1;
    struct match_result r;
    struct flow f = goodput(1000000 + 800 * 200 + 133);
    match_flow(&c, &o, NULL, &f, &r);
    assert_int_equal(r.ncands, 1);
    assert_int_equal(r.alone, 0);
    assert_int_equal(r.verdict, MV_POSSIBLE);
    match_flow(&c, &o, &(struct match_calib){ .resp = 1, .resp_oh = 133 }, &f, &r);
    assert_int_equal(r.alone, 1);
    assert_int_equal(r.verdict, MV_MATCH);
    catalog_free(&c);
}

/* A server whose only flow fits one entry alone: its calibration has nothing to
 * corroborate it, so the flow stays possible. */
static void test_run_uncorroborated(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct flow fl[2];
    fl[0] = goodput(777777 + 133);
    fl[1] = goodput(5000000 + 20000); /* nothing fits, even at 133 */
    fl[1].sport = 1;
    struct got g = { 0 };
    match_run(&cat, &o, fl, 2, on_result, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.v[0], MV_POSSIBLE);
    assert_int_equal(g.v[1], MV_REJECT);
    /* the same payload fetched twice (a foreign file fitting entry e by the same
     * chance, as a lab's TLS keep-alive run did) is one witness, not two: possible */
    fl[1] = goodput(777777 + 133);
    fl[1].sport = 1;
    fl[1].first = fl[1].last = 50000;
    g.n = 0;
    match_run(&cat, &o, fl, 2, on_result, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.v[0], MV_POSSIBLE);
    assert_int_equal(g.v[1], MV_POSSIBLE);
}

static void test_options(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    struct fs_err err = { 0 };
    assert_int_equal(match_option(&o, 0x101, "150..700", &err), 0);
    assert_int_equal(o.oh_min, 150);
    assert_int_equal(o.oh_max, 700);
    assert_int_equal(match_option(&o, 0x101, "700..150", &err), FS_EINVAL);
    assert_int_equal(match_option(&o, 0x104, "1M", &err), 0);
    assert_int_equal(o.min_size, 1000000);
    assert_int_equal(match_option(&o, 0x105, "10", &err), 0);
    assert_int_equal(o.max_set, 10);
    assert_int_equal(match_option(&o, 0x105, "11", &err), FS_EINVAL);
    assert_int_equal(match_option(&o, 0x103, "x", &err), FS_EINVAL);
    assert_int_equal(match_option(&o, 'z', "1", &err), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_ambiguous),
        cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_run_calibrates),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_single_and_set),
        cmocka_unit_test(test_run_calibrates_server),
        cmocka_unit_test(test_run_calibrates_span),
        cmocka_unit_test(test_run_calibrates_peak),
        cmocka_unit_test(test_chance),
        cmocka_unit_test(test_run_uncorroborated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
