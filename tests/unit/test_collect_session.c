/*
 * Unit tests for the collector's defences of issue 11 (src/codec/datagram.h): templates
 * scoped by transport session (two NetFlow v9 exporters behind one address with one
 * source id and one template id), the fallback for an exporter that changed its source
 * port, flow times out of range (counted, kept or dropped) or far in the future, and
 * the byte budget of compiled templates under a flood of 512-field templates.
 */
#include "codec/datagram.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

#define MAXF 8
struct got {
    struct flow f[MAXF];
    struct collect_flow_info in[MAXF];
    struct collector *c;
    int n;
};

static int sink(void *ctx, const struct flow *f)
{
    struct got *g = ctx;
    if (g->n < MAXF) {
        g->f[g->n] = *f;
        collector_flow_info(g->c, &g->in[g->n]);
    }
    g->n++;
    return 0;
}

static const uint8_t EXP[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 9 };
#define NOW_MS 1700000000000ull

static int feed(struct collector *c, uint16_t port, const struct buf *b, struct got *g)
{
    uint8_t *d = malloc(b->n ? b->n : 1);
    memcpy(d, b->b, b->n);
    g->c = c;
    int rc = collect_datagram_from(c, EXP, port, d, b->n, NOW_MS, sink, g);
    free(d);
    return rc;
}

static void v9_header(struct buf *b, uint32_t domain)
{
    memset(b, 0, sizeof(*b));
    p16(b, 9);
    p16(b, 0);
    p32(b, 60000);
    p32(b, (uint32_t)(NOW_MS / 1000));
    p32(b, 1);
    p32(b, domain);
}

/* Template 256, layout A: src, dst (4 each), bytes (4), first/last ms absolute (8). */
static void tmpl_a(struct buf *b)
{
    size_t at = b->n;
    p16(b, 0);
    p16(b, 0);
    p16(b, 256);
    p16(b, 5);
    p16(b, 8), p16(b, 4);
    p16(b, 12), p16(b, 4);
    p16(b, 1), p16(b, 4);
    p16(b, 152), p16(b, 8);
    p16(b, 153), p16(b, 8);
    patch_len(b, at + 2, at);
}

static void data_a(struct buf *b, uint32_t bytes, uint64_t first, uint64_t last)
{
    size_t at = b->n;
    p16(b, 256);
    p16(b, 0);
    p32(b, 0x0a000001);
    p32(b, 0x0a000002);
    p32(b, bytes);
    p64(b, first);
    p64(b, last);
    patch_len(b, at + 2, at);
}

/* Template 256, layout B: packets (8), bytes (8), src, dst: another exporter's. */
static void tmpl_b(struct buf *b)
{
    size_t at = b->n;
    p16(b, 0);
    p16(b, 0);
    p16(b, 256);
    p16(b, 4);
    p16(b, 2), p16(b, 8);
    p16(b, 1), p16(b, 8);
    p16(b, 8), p16(b, 4);
    p16(b, 12), p16(b, 4);
    patch_len(b, at + 2, at);
}

static void data_b(struct buf *b, uint64_t packets, uint64_t bytes)
{
    size_t at = b->n;
    p16(b, 256);
    p16(b, 0);
    p64(b, packets);
    p64(b, bytes);
    p32(b, 0x0a000003);
    p32(b, 0x0a000004);
    patch_len(b, at + 2, at);
}

struct sum {
    struct collect_stats st;
};

static void add_entry(void *ctx, const uint8_t ex[16], uint32_t domain, int version,
                      const struct collect_stats *st)
{
    struct sum *s = ctx;
    (void)ex;
    (void)domain;
    (void)version;
    s->st.bad_time += st->bad_time;
    s->st.bad_time_dropped += st->bad_time_dropped;
    s->st.future_time += st->future_time;
    s->st.tmpl_fallback += st->tmpl_fallback;
    s->st.templates_refused += st->templates_refused;
    s->st.unknown_template += st->unknown_template;
}

static struct collect_stats stats_of(const struct collector *c)
{
    struct sum s;
    memset(&s, 0, sizeof(s));
    collector_foreach(c, add_entry, &s);
    return s.st;
}

/* Two sessions (ports 1000, 2000) of one address and source id: each decodes its own
 * data with its own template 256; before, the second template replaced the first and
 * port 1000's data came out as 4.3e12-byte records dated 1970. */
static void test_two_sessions(void **state)
{
    (void)state;
    struct collector *c = collector_new(NULL);
    struct buf b;
    struct got g = { 0 };
    v9_header(&b, 42);
    tmpl_a(&b);
    data_a(&b, 1500, NOW_MS - 5000, NOW_MS - 1000);
    assert_int_equal(feed(c, 1000, &b, &g), 1);
    v9_header(&b, 42);
    tmpl_b(&b);
    data_b(&b, 7, 9000);
    assert_int_equal(feed(c, 2000, &b, &g), 1);
    v9_header(&b, 42);
    data_a(&b, 1600, NOW_MS - 4000, NOW_MS - 500);
    assert_int_equal(feed(c, 1000, &b, &g), 1);
    v9_header(&b, 42);
    data_b(&b, 8, 9100);
    assert_int_equal(feed(c, 2000, &b, &g), 1);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.f[0].bytes, 1500);
    assert_int_equal(g.f[1].bytes, 9000);
    assert_int_equal(g.f[1].packets, 7);
    assert_int_equal(g.f[2].bytes, 1600);
    assert_int_equal(g.f[2].last, NOW_MS - 500);
    assert_int_equal(g.f[3].bytes, 9100);
    assert_int_equal(g.f[3].packets, 8);
    /* A third port with two sessions known: nothing is guessed, the data waits. */
    v9_header(&b, 42);
    data_b(&b, 9, 9200);
    assert_int_equal(feed(c, 3000, &b, &g), 0);
    struct collect_stats st = stats_of(c);
    assert_int_equal(st.unknown_template, 1);
    assert_int_equal(st.tmpl_fallback, 0);
    collector_free(c);
}

/* An exporter that restarted on another source port: its one session's templates
 * decode the data, counted as a fallback. */
static void test_port_change_fallback(void **state)
{
    (void)state;
    struct collector *c = collector_new(NULL);
    struct buf b;
    struct got g = { 0 };
    v9_header(&b, 42);
    tmpl_a(&b);
    assert_int_equal(feed(c, 1000, &b, &g), 0);
    v9_header(&b, 42);
    data_a(&b, 1700, NOW_MS - 3000, NOW_MS - 100);
    assert_int_equal(feed(c, 1001, &b, &g), 1);
    assert_int_equal(g.f[0].bytes, 1700);
    assert_int_equal(stats_of(c).tmpl_fallback, 1);
    /* Template persistence keeps the port: a reloaded session decodes as before. */
    size_t len;
    uint8_t *file = collector_save(c, &len);
    struct collector *c2 = collector_new(NULL);
    struct fs_err e;
    size_t nt;
    assert_int_equal(collector_load(c2, file, len, &nt, &e), 0);
    assert_int_equal(nt, 1);
    v9_header(&b, 42);
    data_a(&b, 1800, NOW_MS - 3000, NOW_MS - 100);
    assert_int_equal(feed(c2, 1000, &b, &g), 1);
    assert_int_equal(g.f[1].bytes, 1800);
    assert_int_equal(stats_of(c2).tmpl_fallback, 0);
    free(file);
    collector_free(c2);
    collector_free(c);
}

/* Times past year 9999 and before 1970 (wrapped): counted per exporter, kept with
 * the flag the command bins by arrival, or dropped and counted with bad_time_drop. */
static void test_bad_time(void **state)
{
    (void)state;
    for (int drop = 0; drop <= 1; drop++) {
        struct collect_opts o = { 0 };
        o.bad_time_drop = drop;
        struct collector *c = collector_new(&o);
        struct buf b;
        struct got g = { 0 };
        v9_header(&b, 42);
        tmpl_a(&b);
        data_a(&b, 100, NOW_MS - 1000, NOW_MS);                  /* fine */
        data_a(&b, 200, 300000000000000ull, 300000000000000ull); /* year 11476 */
        data_a(&b, 300, NOW_MS, (uint64_t)-5000);                /* 1969, wrapped */
        data_a(&b, 400, NOW_MS - 1000, NOW_MS);                  /* fine */
        feed(c, 1000, &b, &g);
        struct collect_stats st = stats_of(c);
        assert_int_equal(st.bad_time, 2);
        assert_int_equal(st.bad_time_dropped, drop ? 2 : 0);
        assert_int_equal(g.n, drop ? 2 : 4);
        if (!drop) {
            assert_int_equal(g.in[0].bad_time, 0);
            assert_int_equal(g.in[1].bad_time, 1);
            assert_int_equal(g.in[1].recv_ms, NOW_MS);
            assert_int_equal(g.in[2].bad_time, 1);
            assert_int_equal(g.in[3].bad_time, 0);
        }
        collector_free(c);
    }
}

/* Flows ending over a day after their arrival: counted, the first one flagged. */
static void test_future(void **state)
{
    (void)state;
    struct collector *c = collector_new(NULL);
    struct buf b;
    struct got g = { 0 };
    uint64_t month = 30ull * 86400000;
    v9_header(&b, 42);
    tmpl_a(&b);
    data_a(&b, 100, NOW_MS + month, NOW_MS + month);
    data_a(&b, 200, NOW_MS - 100, NOW_MS + 3600000); /* an hour ahead: fine */
    data_a(&b, 300, NOW_MS + month, NOW_MS + month);
    assert_int_equal(feed(c, 1000, &b, &g), 3);
    assert_int_equal(stats_of(c).future_time, 2);
    assert_int_equal(g.in[0].future_first, 1);
    assert_int_equal(g.in[1].future_first, 0);
    assert_int_equal(g.in[2].future_first, 0);
    collector_free(c);
}

/* A flood of 512-field templates from one address stays in its byte budget. */
static void flood(struct collector *c, uint32_t domains, uint32_t per_domain)
{
    struct buf *b = malloc(sizeof(*b));
    struct got g = { 0 };
    for (uint32_t d = 0; d < domains; d++)
        for (uint32_t t = 0; t < per_domain; t++) {
            v9_header(b, d);
            size_t at = b->n;
            p16(b, 0);
            p16(b, 0);
            p16(b, 256 + t);
            p16(b, 512);
            for (int i = 0; i < 512; i++)
                p16(b, 1000 + (uint32_t)i), p16(b, 1);
            patch_len(b, at + 2, at);
            feed(c, 1000, b, &g);
        }
    free(b);
}

static void test_template_budget(void **state)
{
    (void)state;
    struct collector *c = collector_new(NULL);
    flood(c, 1, 1000);
    struct collect_totals t;
    collector_totals(c, &t);
    assert_true(t.templates_bytes <= (2u << 20));
    assert_true(t.templates_cached > 100); /* ~7 KB each: ~290 fit */
    assert_true(stats_of(c).templates_refused >= 1000 - t.templates_cached);
    collector_free(c);
    /* Across domains the total cap evicts the oldest instead. */
    struct collect_opts o = { 0 };
    o.max_tmpl_total = 4u << 20;
    c = collector_new(&o);
    flood(c, 8, 400);
    collector_totals(c, &t);
    assert_true(t.templates_bytes <= (4u << 20));
    assert_true(t.templates_evicted > 0);
    collector_free(c);
}

/* An exporter that reconnects from a new port each time (TCP, restarts) leaves its old
 * sessions' templates behind: once its budget is spent they make room for the newest
 * session instead of locking it out. */
static void test_stale_sessions(void **state)
{
    (void)state;
    struct collect_opts o = { 0 };
    o.max_tmpl_bytes = 64u << 10;
    struct collector *c = collector_new(&o);
    struct buf *b = malloc(sizeof(*b));
    struct got g = { 0 };
    for (uint16_t port = 1000; port < 1012; port++) {
        v9_header(b, 42);
        tmpl_a(b);
        for (uint32_t t = 0; t < 5; t++) { /* 100 skipped fields: about 1.5 KB each */
            size_t at = b->n;
            p16(b, 0);
            p16(b, 0);
            p16(b, 300 + t);
            p16(b, 100);
            for (int i = 0; i < 100; i++)
                p16(b, 2000 + (uint32_t)i), p16(b, 1);
            patch_len(b, at + 2, at);
        }
        feed(c, port, b, &g);
    }
    struct collect_totals t;
    collector_totals(c, &t);
    assert_int_equal(stats_of(c).templates_refused, 0);
    assert_true(t.templates_evicted > 0);
    assert_true(t.templates_bytes <= (64u << 10));
    /* The newest session decodes, and a next port falls back to it alone. */
    v9_header(b, 42);
    data_a(b, 1900, NOW_MS - 3000, NOW_MS - 100);
    assert_int_equal(feed(c, 1011, b, &g), 1);
    assert_int_equal(g.f[0].bytes, 1900);
    free(b);
    collector_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_sessions),    cmocka_unit_test(test_port_change_fallback),
        cmocka_unit_test(test_bad_time),        cmocka_unit_test(test_future),
        cmocka_unit_test(test_template_budget), cmocka_unit_test(test_stale_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
