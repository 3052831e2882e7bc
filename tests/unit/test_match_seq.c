/*
 * Request sequences (src/detect/match_seq.c) through match_run: a dense synthetic
 * catalogue (sizes alone name nothing: every payload fits several entries and pairs),
 * one pipelined connection whose exchanges carry request units as meter --split
 * writes them. Named must be right, and nothing named that was not downloaded: with
 * every request its own, after a burst (a shift), around an exchange holding two
 * responses, and against a catalogue without the downloads; a short connection beside
 * a long one of the same client and server (borrowing its calibration), and where it
 * must not borrow (another server, calibrations that disagree).
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

#define NCAT 20000
#define NDL  14
#define HDR  120 /* the server's header less the Content-Length digits */
#define REQ  88  /* the client's request less the URL */

static char names[NCAT][16], urls[NCAT][80];
static uint64_t sizes[NCAT];
static uint32_t dl[NDL]; /* the downloaded entries, in request order */

static uint64_t rng = 42;
static uint32_t next(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

static uint64_t digits(uint64_t v)
{
    uint64_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static void build(struct catalog *c, int with_downloads)
{
    catalog_init(c);
    for (uint32_t i = 0; i < NCAT; i++) {
        int downloaded = 0;
        for (int k = 0; k < NDL; k++)
            downloaded |= dl[k] == i;
        if (downloaded && !with_downloads)
            continue;
        struct cat_entry e = { .size = sizes[i], .name = names[i], .version = "1", .url = urls[i] };
        catalog_add(c, &e);
    }
    catalog_sort(c);
}

static int setup(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < NCAT; i++) {
        snprintf(names[i], sizeof(names[i]), "p%05u", i);
        int pad = (int)(next() % 40);
        snprintf(urls[i], sizeof(urls[i]), "pool/main/p/%s%.*s.deb", names[i], pad,
                 "----------------------------------------");
        sizes[i] = 40000 + next() % 360000; /* 0.055 entries a byte */
    }
    for (int k = 0; k < NDL; k++)
        dl[k] = (uint32_t)(k * 1409 + 77) % NCAT;
    return 0;
}

static uint64_t req(uint32_t i)
{
    return REQ + match_url_len(urls[i]);
}

static uint64_t resp(uint32_t i)
{
    return sizes[i] + HDR + digits(sizes[i]);
}

static struct flow exchange(uint32_t n, uint64_t rgoodput, uint64_t unit)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.src[10] = f.src[11] = 0xff;
    f.src[15] = 2;
    f.dst[10] = f.dst[11] = 0xff;
    f.dst[15] = 80;
    f.sport = 40000;
    f.dport = 80;
    f.proto = 6;
    f.exchange = n;
    f.rgoodput = f.rpayload = rgoodput;
    f.rpackets = rgoodput / 1448 + 1;
    f.rbytes = rgoodput + 52 * f.rpackets;
    f.goodput = f.payload = unit;
    return f;
}

struct got {
    int named, wrong;
    uint32_t which[32]; /* per exchange: 1 + the entry named, 0 none */
    const struct catalog *c;
};

static int on_result(void *ctx, const struct flow *f, const struct match_result *r)
{
    struct got *g = ctx;
    if (r->verdict != MV_MATCH)
        return 0;
    for (int k = 0; k < r->ncands; k++)
        for (int j = 0; j < r->c[k].k; j++) {
            const char *name = g->c->e[r->c[k].idx[j]].name;
            int ok = 0;
            for (int d = 0; d < NDL; d++)
                ok |= strcmp(name, names[dl[d]]) == 0;
            if (ok)
                g->named++;
            else
                g->wrong++;
            if (r->c[k].k == 1 && f->exchange < 32)
                g->which[f->exchange] = (uint32_t)(r->c[k].idx[j] + 1);
        }
    return 0;
}

static void run(const struct catalog *c, struct flow *fl, size_t n, struct got *g)
{
    struct match_opts o;
    match_opts_default(&o);
    memset(g, 0, sizeof(*g));
    g->c = c;
    assert_int_equal(match_run(c, &o, fl, n, on_result, g), 0);
}

/* Exchange n names entry e when it named e's object. */
static int named_as(const struct got *g, uint32_t n, uint32_t e)
{
    return g->which[n] && strcmp(g->c->e[g->which[n] - 1].name, names[e]) == 0;
}

/* Sizes alone name nothing here; with each exchange's own request all are named. */
static void test_own_requests(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 1);
    struct flow fl[NDL];
    for (int k = 0; k < NDL; k++)
        fl[k] = exchange((uint32_t)k + 1, resp(dl[k]), 0);
    struct got g;
    run(&c, fl, NDL, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(g.named, 0); /* no request bytes: nothing */
    for (int k = 0; k < NDL; k++)
        fl[k].goodput = fl[k].payload = req(dl[k]);
    run(&c, fl, NDL, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(g.named, NDL);
    for (int k = 0; k < NDL; k++)
        assert_true(named_as(&g, (uint32_t)k + 1, dl[k]));
    catalog_free(&c);
}

/* The first unit is a burst of 4 requests (a snapped segment): exchange k carries unit
 * k, the request of response k + 3. Responses 5.. are named under that shift; the
 * burst's are not, nor the last (no exchange after it shows it held one response,
 * and units are left), and nothing wrong. */
static void test_burst_shift(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 1);
    struct flow fl[NDL];
    uint64_t units[NDL];
    size_t nu = 0;
    units[nu++] = req(dl[0]) + req(dl[1]) + req(dl[2]) + req(dl[3]);
    for (int k = 4; k < NDL; k++)
        units[nu++] = req(dl[k]);
    for (int k = 0; k < NDL; k++)
        fl[k] = exchange((uint32_t)k + 1, resp(dl[k]), (size_t)k < nu ? units[k] : 0);
    struct got g;
    run(&c, fl, NDL, &g);
    assert_int_equal(g.wrong, 0);
    for (int k = 4; k < NDL; k++)
        assert_true(named_as(&g, (uint32_t)k + 1, dl[k]));
    for (int k = 0; k < 4; k++)
        assert_int_equal(g.which[k + 1], 0);
    catalog_free(&c);
}

/* Exchange 7 holds responses 7 and 8 (a missed start): it carries request 7, every
 * later exchange the request of the response before its own, the last all that is
 * left. Exchange 7 fits its request only with the wrong size: not named, and neither
 * is exchange 6 (nothing after it shows that it held one response) nor the last two
 * (their requests are the merged rest); 1-5 and 8-10 (under shift -1) are; nothing
 * wrong. */
static void test_two_responses(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 1);
    struct flow fl[NDL];
    size_t n = 0;
    for (int k = 0; k < NDL; k++) {
        uint64_t g = resp(dl[k]);
        if (k == 6)
            g += resp(dl[++k]);
        fl[n] = exchange((uint32_t)n + 1, g, req(dl[n]));
        n++;
    }
    fl[n - 1].goodput = fl[n - 1].payload = req(dl[n - 1]) + req(dl[n]);
    struct got g;
    run(&c, fl, n, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(n, NDL - 1);
    for (int k = 0; k < 5; k++)
        assert_true(named_as(&g, (uint32_t)k + 1, dl[k]));
    for (uint32_t x = 8; x <= 10; x++) /* exchange x answers response x + 1 */
        assert_true(named_as(&g, x, dl[x]));
    for (uint32_t x = 6; x <= 13; x += x == 7 ? 4 : 1) /* 6, 7, 11, 12, 13 */
        assert_int_equal(g.which[x], 0);
    catalog_free(&c);
}

/* The catalogue without the downloads: every exchange foreign, none named. */
static void test_foreign(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 0);
    struct flow fl[NDL];
    for (int k = 0; k < NDL; k++)
        fl[k] = exchange((uint32_t)k + 1, resp(dl[k]), req(dl[k]));
    struct got g;
    run(&c, fl, NDL, &g);
    assert_int_equal(g.named + g.wrong, 0);
    catalog_free(&c);
}

/* The second unit is a burst of dl[1..4]'s requests (a snapped segment), every other
 * request its own; dh is added to response 3's header (a header variant no vote had).
 * Solved as a sum between the runs before and after it: every exchange named, none
 * wrong; against the catalogue without the downloads nothing. */
static void test_burst_sum(void **state)
{
    (void)state;
    for (int dh = 0; dh >= -9; dh -= 9) {
        for (int with = 1; with >= 0; with--) {
            struct catalog c;
            build(&c, with);
            struct flow fl[NDL];
            uint64_t units[NDL];
            size_t nu = 0;
            units[nu++] = req(dl[0]);
            units[nu++] = req(dl[1]) + req(dl[2]) + req(dl[3]) + req(dl[4]);
            for (int k = 5; k < NDL; k++)
                units[nu++] = req(dl[k]);
            for (int k = 0; k < NDL; k++)
                fl[k] = exchange((uint32_t)k + 1, resp(dl[k]) + (uint64_t)(k == 3 ? dh : 0),
                                 (size_t)k < nu ? units[k] : 0);
            struct got g;
            run(&c, fl, NDL, &g);
            assert_int_equal(g.wrong, 0);
            assert_int_equal(g.named, with ? NDL : 0);
            for (int k = 0; with && k < NDL; k++)
                assert_true(named_as(&g, (uint32_t)k + 1, dl[k]));
            catalog_free(&c);
        }
    }
}

/* The long connection (port 40000, every exchange its own request, header HDR + dh)
 * into fl[0..NDL), then a short one (port 40001: dl[0] alone, then dl[1] and dl[2]
 * in one exchange answering a burst of their two requests) to server 80 + other.
 * Returns the flows written. */
static size_t two_conns(struct flow *fl, uint64_t dh, int other)
{
    size_t n = 0;
    for (int k = 0; k < NDL; k++) {
        fl[n] = exchange((uint32_t)k + 1, resp(dl[k]) + dh, req(dl[k]));
        n++;
    }
    fl[n] = exchange(1, resp(dl[0]), req(dl[0]));
    fl[n + 1] = exchange(2, resp(dl[1]) + resp(dl[2]), req(dl[1]) + req(dl[2]));
    for (size_t i = n; i < n + 2; i++) {
        fl[i].sport = 40001;
        fl[i].dst[15] = (uint8_t)(80 + other);
    }
    return n + 2;
}

/* A connection of two exchanges cannot calibrate alone: nothing named. Beside a long
 * connection of the same client and server it borrows that calibration: its first
 * exchange (one response, its own request) is named, the second (two responses) not. */
static void test_borrowed(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 1);
    struct flow fl[NDL + 2];
    size_t n = two_conns(fl, 0, 0);
    struct got g;
    run(&c, fl + NDL, 2, &g);
    assert_int_equal(g.named + g.wrong, 0);
    run(&c, fl, n, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(g.named, NDL + 1);
    catalog_free(&c);
}

/* No sharing: the short connection to another server, or beside two long connections
 * whose calibrations disagree (one server header 7 bytes longer); the long ones are
 * still named under their own. */
static void test_not_shared(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 1);
    struct flow fl[2 * NDL + 2];
    size_t n = two_conns(fl, 0, 1);
    struct got g;
    run(&c, fl, n, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(g.named, NDL);
    n = two_conns(fl, 7, 0);
    for (int k = 0; k < NDL; k++) {
        fl[n] = exchange((uint32_t)k + 1, resp(dl[k]), req(dl[k]));
        fl[n++].sport = 39999;
    }
    run(&c, fl, n, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(g.named, 2 * NDL);
    /* agreeing, they share */
    for (int k = 0; k < NDL; k++)
        fl[k].rgoodput = fl[k].rpayload = resp(dl[k]);
    run(&c, fl, n, &g);
    assert_int_equal(g.wrong, 0);
    assert_int_equal(g.named, 2 * NDL + 1);
    catalog_free(&c);
}

/* Borrowing against the catalogue without the downloads: nothing named. */
static void test_borrowed_foreign(void **state)
{
    (void)state;
    struct catalog c;
    build(&c, 0);
    struct flow fl[NDL + 2];
    size_t n = two_conns(fl, 0, 0);
    struct got g;
    run(&c, fl, n, &g);
    assert_int_equal(g.named + g.wrong, 0);
    catalog_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_requests),     cmocka_unit_test(test_burst_shift),
        cmocka_unit_test(test_two_responses),    cmocka_unit_test(test_foreign),
        cmocka_unit_test(test_borrowed),         cmocka_unit_test(test_not_shared),
        cmocka_unit_test(test_borrowed_foreign), cmocka_unit_test(test_burst_sum),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
