/*
 * A TLS server's record framing from its own flows (src/detect/match_tls.c): the grid of
 * a CDN that sends extra records, one constant of a plain TLS server, and nothing from
 * a plain HTTP server, from too few flows or from flows of no catalogue file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "detect/catalog.h"
#include "detect/match.h"
#include "detect/match_learned.h"
#include "detect/match_tls.h"

#define NSIZES 2000

/* One work area for every test: each call must leave it clear for the next. */
static struct match_tls_work *w;

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A catalogue of NSIZES sizes in lo..hi, sorted. */
static void catalogue(uint64_t *sizes, uint64_t lo, uint64_t hi, uint64_t seed)
{
    for (size_t i = 0; i < NSIZES; i++)
        sizes[i] = lo + lcg(&seed) % (hi - lo);
    qsort(sizes, NSIZES, sizeof(*sizes), cmp_u64);
}

static int64_t records(uint64_t size)
{
    return (int64_t)((size + 16383) / 16384);
}

/* n downloads of catalogue files from a server whose overhead is c + j * r extra
 * records (j = i % extra) plus r a record; r 0 = plain HTTP with header c. */
static void downloads(const uint64_t *sizes, uint64_t *p, size_t n, int64_t c, uint32_t r,
                      int extra, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t s = sizes[lcg(&seed) % NSIZES];
        int64_t j = extra ? (int64_t)(i % (size_t)extra) : 0;
        p[i] = s + (uint64_t)(c + (int64_t)r * (j + records(s)));
    }
}

static void test_cdn_grid(void **state)
{
    (void)state;
    static uint64_t sizes[NSIZES], p[60];
    catalogue(sizes, 500000, 8000000, 1);
    downloads(sizes, p, 30, 2452, 22, 4, 2);
    uint64_t seed = 3; /* 30 flows of no catalogue file */
    for (size_t i = 30; i < 60; i++)
        p[i] = 500000 + lcg(&seed) % 7500000;
    struct match_rec rc;
    assert_true(match_tls_calib(w, sizes, NSIZES, p, 60, &rc) >= 30);
    assert_int_equal(rc.r, 22);
    assert_int_equal(rc.step, 22);
    assert_int_equal(rc.lo, 2452);
    assert_true(rc.hi >= 2452 + 5 * 22 && rc.hi <= 2452 + 7 * 22);
    /* each download's overhead lies in its window and on the grid */
    for (size_t i = 0; i < 30; i++) {
        struct match_opts o, so;
        match_opts_default(&o);
        match_tls_opts(&rc, p[i], &o, &so);
        assert_ptr_equal(so.rec, &rc);
        int hit = 0;
        for (size_t k = 0; k < NSIZES && !hit; k++) {
            if (sizes[k] >= p[i])
                break;
            uint64_t oh = p[i] - sizes[k];
            hit = oh >= so.oh_min && oh <= so.oh_max && match_rec_fits(&rc, sizes[k], (int64_t)oh);
        }
        assert_true(hit);
    }
}

static void test_one_constant(void **state)
{
    (void)state;
    static uint64_t sizes[NSIZES], p[20];
    catalogue(sizes, 1000000, 10000000, 4);
    downloads(sizes, p, 20, 940, 29, 0, 5); /* TLS 1.2 AES-GCM, one constant */
    struct match_rec rc;
    assert_int_equal(match_tls_calib(w, sizes, NSIZES, p, 20, &rc), 20);
    assert_int_equal(rc.r, 29);
    assert_int_equal(rc.step, 0);
    assert_int_equal(rc.lo, 940);
    assert_int_equal(rc.hi, 940);
}

static void test_nothing(void **state)
{
    (void)state;
    static uint64_t sizes[NSIZES], p[40];
    struct match_rec rc;
    /* plain HTTP, small files (1-3 records): c = 250 - 22 * records is a grid too */
    catalogue(sizes, 8000, 40000, 6);
    downloads(sizes, p, 40, 250, 0, 0, 7);
    assert_int_equal(match_tls_calib(w, sizes, NSIZES, p, 40, &rc), 0);
    assert_int_equal(rc.r, 0);
    /* plain HTTP, large files */
    catalogue(sizes, 1000000, 10000000, 8);
    downloads(sizes, p, 40, 250, 0, 0, 9);
    assert_int_equal(match_tls_calib(w, sizes, NSIZES, p, 40, &rc), 0);
    /* too few downloads */
    downloads(sizes, p, 4, 1593, 22, 0, 10);
    assert_int_equal(match_tls_calib(w, sizes, NSIZES, p, 4, &rc), 0);
    /* no catalogue file at all */
    uint64_t seed = 11;
    for (size_t i = 0; i < 40; i++)
        p[i] = 1000000 + lcg(&seed) % 9000000;
    assert_int_equal(match_tls_calib(w, sizes, NSIZES, p, 40, &rc), 0);
}

/* Chance is not even: votes that crowd one region (bench/match.sh's generated flows
 * put three times the average between 40 and 200 bytes) hold more on any grid there
 * than votes spread evenly would, but no more than the grid's neighbourhood does.
 * Here 200 downloads whose overhead beyond their records is anywhere in 40..250. */
static void test_uneven_chance(void **state)
{
    (void)state;
    static uint64_t sizes[NSIZES], p[200];
    catalogue(sizes, 500000, 8000000, 12);
    uint64_t seed = 15;
    for (size_t i = 0; i < 200; i++) {
        uint64_t s = sizes[lcg(&seed) % NSIZES];
        p[i] = s + (uint64_t)(22 * records(s)) + 40 + lcg(&seed) % 211;
    }
    struct match_rec rc;
    assert_int_equal(match_tls_calib(w, sizes, NSIZES, p, 200, &rc), 0);
}

struct tally {
    const struct catalog *c;
    const uint64_t *want; /* the size each flow downloaded, 0 = none */
    size_t n, right, wrong;
};

static int on_result(void *ctx, const struct flow *f, const struct match_result *r)
{
    (void)f;
    struct tally *t = ctx;
    size_t i = t->n++;
    if (r->verdict == MV_MATCH)
        t->c->e[r->c[0].idx[0]].size == t->want[i] ? t->right++ : t->wrong++;
    return 0;
}

/* A keep-alive TLS 1.3 server through match_run: most responses cost 260 bytes beyond
 * their records, the first of a connection 834 (the session tickets in the same
 * exchange), and foreign transfers between them. The second framing names the firsts. */
static void test_run_two_framings(void **state)
{
    (void)state;
    struct catalog c;
    catalog_init(&c);
    static uint64_t sizes[NSIZES];
    catalogue(sizes, 1000000, 10000000, 13);
    for (size_t i = 0; i < NSIZES; i++) {
        char nm[16];
        snprintf(nm, sizeof(nm), "f%zu", i);
        struct cat_entry e = { .size = sizes[i], .name = nm, .version = "1" };
        catalog_add(&c, &e);
    }
    catalog_sort(&c);
    struct flow fl[60];
    uint64_t want[60], seed = 14;
    for (size_t i = 0; i < 60; i++) {
        uint64_t s = sizes[lcg(&seed) % NSIZES], g;
        want[i] = i < 50 ? s : 0;
        g = i < 50 ? s + (uint64_t)((i % 5 ? 260 : 834) + 22 * records(s))
                   : 1000000 + lcg(&seed) % 9000000;
        memset(&fl[i], 0, sizeof(fl[i]));
        fl[i].rgoodput = fl[i].rpayload = g;
        fl[i].rbytes = g + 52 * (g / 1448 + 1);
        fl[i].rpackets = g / 1448 + 1;
        fl[i].dport = 443;
        fl[i].sport = (uint16_t)(40000 + i);
    }
    struct match_opts o;
    match_opts_default(&o);
    struct tally t = { &c, want, 0, 0, 0 };
    match_run(&c, &o, fl, 60, on_result, &t);
    assert_int_equal(t.n, 60);
    assert_int_equal(t.wrong, 0);
    assert_int_equal(t.right, 50);
    catalog_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdn_grid),         cmocka_unit_test(test_one_constant),
        cmocka_unit_test(test_nothing),          cmocka_unit_test(test_uneven_chance),
        cmocka_unit_test(test_run_two_framings),
    };
    w = match_tls_work_new();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    match_tls_work_free(w);
    return failed;
}
