/*
 * The set search's shortcuts (match.c: stop once `more` is set, the compact size array
 * with the walked-down lower bound that match_run uses) against a plain enumeration:
 * on random catalogues dense enough that most windows hold many singles and pairs, the
 * verdict, the stored candidates (the first max_cands distinct ones in index order) and
 * `more` are what enumerating every single and pair gives; and match_run (compact
 * sizes) agrees with match_flow (catalog_lower_bound) flow by flow.
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

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static char names[400][24];

/* n entries of sizes in [lo, lo + span): unique names, so no two are one object. */
static void make_catalog(struct catalog *c, size_t n, uint64_t lo, uint64_t span, uint64_t *s)
{
    catalog_init(c);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "p%zu", i);
        struct cat_entry e = { .size = lo + rnd(s) % span, .name = names[i], .version = "1" };
        catalog_add(c, &e);
    }
    catalog_sort(c);
}

static struct flow goodput(uint64_t g, uint32_t i)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.rgoodput = g;
    f.rpayload = g;
    f.rpackets = g / 1448 + 1;
    f.rbytes = g + 52 * f.rpackets;
    f.src[15] = (uint8_t)i; /* every flow its own server: no calibration */
    f.src[14] = (uint8_t)(i >> 8);
    f.dst[15] = (uint8_t)i;
    f.dst[14] = (uint8_t)(i >> 8);
    f.sport = (uint16_t)i;
    return f;
}

/* Whether candidate x of a is among b's candidates. */
static int has_cand(const struct match_result *b, const struct match_cand *x)
{
    for (int j = 0; j < b->ncands; j++)
        if (b->c[j].k == x->k && b->c[j].residual == x->residual &&
            memcmp(b->c[j].idx, x->idx, sizeof(x->idx[0]) * x->k) == 0)
            return 1;
    return 0;
}

/*
 * Everything of the search's answer that a printer shows. The pair search may visit
 * pairs from either side, so the order of candidates is free; when there are more
 * candidates than kept (more), which ones were kept is free too.
 */
static void same_result(const struct match_result *a, const struct match_result *b)
{
    assert_int_equal(a->verdict, b->verdict);
    assert_int_equal(a->ncands, b->ncands);
    assert_int_equal(a->more, b->more);
    assert_true(a->payload == b->payload);
    for (int i = 0; i < a->ncands && !a->more; i++)
        assert_true(has_cand(b, &a->c[i]));
}

/*
 * The plain enumeration for sets of at most 2 with goodput (tolerance 0): singles
 * first, pairs i < j unless several singles fit (one single that fits is a match only
 * when no pair does), in index order; the first max_cands stored, more when there are
 * others.
 */
static void reference(const struct catalog *c, const struct match_opts *o, uint64_t p,
                      struct match_result *r)
{
    memset(r, 0, sizeof(*r));
    r->payload = p;
    size_t total = 0;
    for (int k = 1; k <= 2 && total <= 1; k++) {
        uint64_t lo = p > (uint64_t)o->oh_max * k ? p - (uint64_t)o->oh_max * k : 0;
        uint64_t hi = p > (uint64_t)o->oh_min * k ? p - (uint64_t)o->oh_min * k : 0;
        for (size_t i = 0; i < c->n; i++)
            for (size_t j = k == 1 ? i : i + 1; j < (k == 1 ? i + 1 : c->n); j++) {
                uint64_t sum = c->e[i].size + (k == 2 ? c->e[j].size : 0);
                if (sum < lo || sum > hi)
                    continue;
                total++;
                if (r->ncands >= o->max_cands) {
                    r->more = 1;
                    continue;
                }
                struct match_cand *m = &r->c[r->ncands++];
                m->k = (uint8_t)k;
                m->idx[0] = (uint32_t)i;
                m->idx[1] = k == 2 ? (uint32_t)j : 0;
                m->residual = (int64_t)(p - sum);
            }
    }
    r->verdict = total == 0                     ? MV_REJECT
                 : total == 1 && r->c[0].k == 1 ? MV_POSSIBLE
                 : total == 1                   ? MV_POSSIBLE
                                                : MV_AMBIGUOUS;
}

struct collect {
    struct match_result *r;
    const struct flow *base;
};

static int keep(void *ctx, const struct flow *f, const struct match_result *r)
{
    struct collect *c = ctx;
    c->r[f - c->base] = *r;
    return 0;
}

static void test_shortcuts_change_nothing(void **state)
{
    (void)state;
    uint64_t s = 99;
    for (int round = 0; round < 6; round++) {
        struct catalog c;
        /* dense (many candidates a window) to sparse (few or none) */
        uint64_t span = round < 3 ? 20000 : 2000000;
        make_catalog(&c, 300, 20000, span, &s);
        struct match_opts o;
        match_opts_default(&o);
        o.max_set = 2;
        o.max_cands = 1 + round % 8;
        size_t n = 400;
        struct flow *f = calloc(n, sizeof(*f));
        for (size_t i = 0; i < n; i++)
            f[i] = goodput(20000 + rnd(&s) % (2 * span + 60000), (uint32_t)i);
        struct match_result *got = calloc(n, sizeof(*got));
        struct collect col = { got, f };
        match_run(&c, &o, f, n, keep, &col);
        for (size_t i = 0; i < n; i++) {
            struct match_result one, ref;
            if (match_flow(&c, &o, NULL, &f[i], &one) != 0)
                continue;
            reference(&c, &o, f[i].rgoodput, &ref);
            same_result(&ref, &one);
            same_result(&ref, &got[i]);
        }
        free(got);
        free(f);
        catalog_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shortcuts_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
