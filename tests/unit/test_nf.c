/*
 * Unit tests for the collector (src/codec/datagram.h): hand-built NetFlow v5, v9, IPFIX and
 * sFlow v5 datagrams. Templates, data, variable-length and enterprise IEs, RFC 5103
 * reverse counters, padding, options sampling, template withdrawal, data before its
 * template, and truncation at every byte (which must never crash: run under ASan).
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

#define MAXF 16
struct got {
    struct flow f[MAXF];
    int n;
};

static int sink(void *ctx, const struct flow *f)
{
    struct got *g = ctx;
    if (g->n < MAXF)
        g->f[g->n] = *f;
    g->n++;
    return 0;
}

static const uint8_t EXP[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 9 };

static int feed(struct collector *c, const struct buf *b, struct got *g)
{
    /* An exact-size copy, so ASan sees any read past the datagram. */
    uint8_t *d = malloc(b->n ? b->n : 1);
    memcpy(d, b->b, b->n);
    int rc = collect_datagram(c, EXP, d, b->n, 1000, sink, g);
    free(d);
    return rc;
}

static void v4(const struct flow *f, int pos, uint8_t a, uint8_t b, uint8_t c2, uint8_t d)
{
    const uint8_t *x = pos ? f->dst : f->src;
    assert_true(flow_addr_is_v4mapped(x));
    assert_int_equal(x[12], a);
    assert_int_equal(x[13], b);
    assert_int_equal(x[14], c2);
    assert_int_equal(x[15], d);
}

/* Every prefix of b, fed to a fresh collector and to a shared one: no crash, no leak. */
static void truncate_everywhere(const struct buf *b)
{
    struct collector *shared = collector_new(NULL);
    for (size_t len = 0; len <= b->n; len++) {
        struct buf t = *b;
        t.n = len;
        struct got g = { 0 };
        struct collector *c = collector_new(NULL);
        feed(c, &t, &g);
        feed(shared, &t, &g);
        collector_free(c);
    }
    collector_free(shared);
}

static void build_v5(struct buf *b)
{
    memset(b, 0, sizeof(*b));
    p16(b, 5);
    p16(b, 1);
    p32(b, 10000);      /* sysUptime */
    p32(b, 1700000000); /* unix secs */
    p32(b, 500000000);  /* nsecs: +500 ms */
    p32(b, 7);          /* sequence */
    p16(b, 0x0102);     /* engine */
    p16(b, 0);          /* sampling */
    p32(b, 0x0a000001);
    p32(b, 0x0a000002);
    p32(b, 0);
    p16(b, 3);
    p16(b, 4);
    p32(b, 5);    /* packets */
    p32(b, 1500); /* octets */
    p32(b, 4000); /* first: 6 s before export */
    p32(b, 9000);
    p16(b, 1234);
    p16(b, 80);
    p8(b, 0);
    p8(b, 0x1b);
    p8(b, 6);
    p8(b, 0x10);
    p16(b, 65001);
    p16(b, 65002);
    p32(b, 0);
}

static void test_v5(void **state)
{
    (void)state;
    struct buf b;
    build_v5(&b);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 1);
    assert_int_equal(g.n, 1);
    const struct flow *f = &g.f[0];
    v4(f, 0, 10, 0, 0, 1);
    v4(f, 1, 10, 0, 0, 2);
    assert_int_equal(f->sport, 1234);
    assert_int_equal(f->dport, 80);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->bytes, 1500);
    assert_int_equal(f->packets, 5);
    assert_int_equal(f->rbytes, 0);
    assert_int_equal(f->flags, 0x1b);
    assert_int_equal(f->in_if, 3);
    assert_int_equal(f->src_as, 65001);
    assert_int_equal(f->first, 1700000000500ull - 6000);
    assert_int_equal(f->last, 1700000000500ull - 1000);
    assert_memory_equal(f->exporter, EXP, 16);
    assert_int_equal(f->payload, 0);
    collector_free(c);
    truncate_everywhere(&b);
}

static void v9_header(struct buf *b, uint32_t seq)
{
    memset(b, 0, sizeof(*b));
    p16(b, 9);
    p16(b, 0);
    p32(b, 60000);      /* sysUptime */
    p32(b, 1700000000); /* unix secs */
    p32(b, seq);
    p32(b, 42); /* source id */
}

static void v9_template(struct buf *b)
{
    size_t at = b->n;
    p16(b, 0);
    p16(b, 0);
    p16(b, 300); /* template id */
    p16(b, 8);
    p16(b, 8), p16(b, 4);   /* src */
    p16(b, 12), p16(b, 4);  /* dst */
    p16(b, 4), p16(b, 1);   /* proto */
    p16(b, 1), p16(b, 4);   /* bytes, reduced size */
    p16(b, 2), p16(b, 4);   /* packets */
    p16(b, 22), p16(b, 4);  /* first switched */
    p16(b, 21), p16(b, 4);  /* last switched */
    p16(b, 999), p16(b, 3); /* unknown: skipped */
    patch_len(b, at + 2, at);
}

static void v9_data(struct buf *b, int records)
{
    size_t at = b->n;
    p16(b, 300);
    p16(b, 0);
    for (int i = 0; i < records; i++) {
        p32(b, 0xc0a80001);
        p32(b, 0xc0a80002 + (uint32_t)i);
        p8(b, 17);
        p32(b, 100 + (uint32_t)i);
        p32(b, 1);
        p32(b, 50000);
        p32(b, 59000);
        p8(b, 0xaa), p8(b, 0xbb), p8(b, 0xcc);
    }
    p8(b, 0), p8(b, 0), p8(b, 0); /* padding to a 4-byte boundary */
    patch_len(b, at + 2, at);
}

static void test_v9(void **state)
{
    (void)state;
    struct buf b;
    v9_header(&b, 1);
    v9_template(&b);
    v9_data(&b, 2);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 2);
    assert_int_equal(g.f[1].bytes, 101);
    assert_int_equal(g.f[1].proto, 17);
    v4(&g.f[1], 1, 192, 168, 0, 3);
    assert_int_equal(g.f[0].first, 1700000000000ull - 10000);
    assert_int_equal(g.f[0].last, 1700000000000ull - 1000);
    assert_int_equal(g.f[0].ipver, 4);
    collector_free(c);
    truncate_everywhere(&b);
}

static void on_stats(void *ctx, const uint8_t ex[16], uint32_t domain, int version,
                     const struct collect_stats *st)
{
    (void)ex;
    (void)domain;
    (void)version;
    *(struct collect_stats *)ctx = *st;
}

static void test_v9_data_before_template(void **state)
{
    (void)state;
    struct buf d, t;
    v9_header(&d, 1);
    v9_data(&d, 3);
    v9_header(&t, 3); /* sequence 2 is missing: one datagram lost */
    v9_template(&t);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &d, &g), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(feed(c, &t, &g), 3);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.f[2].bytes, 102);
    struct collect_stats st;
    collector_foreach(c, on_stats, &st);
    assert_int_equal(st.unknown_template, 1);
    assert_int_equal(st.held_decoded, 1);
    assert_int_equal(st.held_dropped, 0);
    assert_int_equal(st.seq_lost, 1);
    collector_free(c);
}

static void ipfix_header(struct buf *b, uint32_t seq)
{
    memset(b, 0, sizeof(*b));
    p16(b, 10);
    p16(b, 0);
    p32(b, 1700000000);
    p32(b, seq);
    p32(b, 7); /* observation domain */
}

/* Template 400: src, dst, varlen string, enterprise IE, bytes, reverse bytes, start ms,
 * end delta us, a varlen string again. */
static void ipfix_template(struct buf *b)
{
    size_t at = b->n;
    p16(b, 2);
    p16(b, 0);
    p16(b, 400);
    p16(b, 9);
    p16(b, 8), p16(b, 4);
    p16(b, 12), p16(b, 4);
    p16(b, 82), p16(b, 65535);                   /* interfaceName, variable length */
    p16(b, 0x8000 | 5), p16(b, 4), p32(b, 6871); /* enterprise IE: skipped */
    p16(b, 1), p16(b, 8);
    p16(b, 0x8000 | 1), p16(b, 8), p32(b, 29305); /* reverseOctetDeltaCount */
    p16(b, 152), p16(b, 8);
    p16(b, 159), p16(b, 4);
    p16(b, 83), p16(b, 65535);
    patch_len(b, at + 2, at);
}

static void ipfix_data(struct buf *b)
{
    size_t at = b->n;
    p16(b, 400);
    p16(b, 0);
    p32(b, 0x0a010101);
    p32(b, 0x0a010102);
    p8(b, 3), p8(b, 'e'), p8(b, 't'), p8(b, 'h');
    p32(b, 0xdeadbeef);
    p64(b, 1000);
    p64(b, 250000);
    p64(b, 1699999990000ull);
    p32(b, 2000000); /* ended 2 s before export */
    p8(b, 255), p16(b, 300);
    for (int i = 0; i < 300; i++)
        p8(b, 'x');
    p8(b, 0), p8(b, 0); /* padding */
    patch_len(b, at + 2, at);
}

static void test_ipfix(void **state)
{
    (void)state;
    struct buf b;
    ipfix_header(&b, 0);
    ipfix_template(&b);
    ipfix_data(&b);
    patch_len(&b, 2, 0);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 1);
    const struct flow *f = &g.f[0];
    v4(f, 0, 10, 1, 1, 1);
    assert_int_equal(f->bytes, 1000);
    assert_int_equal(f->rbytes, 250000);
    assert_int_equal(f->first, 1699999990000ull);
    assert_int_equal(f->last, 1700000000000ull - 2000);
    collector_free(c);
    truncate_everywhere(&b);
}

/*
 * A fixed-length template that exercises the compiled plan (tmpl_prepare): a total
 * counter named before the delta one (delta wins), a total-only packet count, a
 * 3-byte reduced-size counter, sourceIPv4Address twice (the first wins), both address
 * families with ipVersion deciding per record, seconds and milliseconds for the start
 * (milliseconds win), ICMP type/code into dport, a VLAN id with priority bits.
 */
static void plan_template(struct buf *b)
{
    static const uint16_t ies[][2] = { { 85, 8 },  { 1, 3 },  { 86, 8 },  { 8, 4 },   { 8, 4 },
                                       { 28, 16 }, { 60, 1 }, { 150, 4 }, { 152, 8 }, { 151, 4 },
                                       { 4, 1 },   { 32, 2 }, { 58, 2 } };
    size_t at = b->n, n = sizeof(ies) / sizeof(ies[0]);
    p16(b, 2);
    p16(b, 0);
    p16(b, 401);
    p16(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        p16(b, ies[i][0]);
        p16(b, ies[i][1]);
    }
    patch_len(b, at + 2, at);
}

static void plan_record(struct buf *b, uint32_t bytes, uint8_t ipver, uint8_t last6)
{
    p64(b, 999999);     /* octetTotalCount: loses to the delta */
    p8(b, bytes >> 16); /* octetDeltaCount in 3 bytes */
    p16(b, bytes & 0xffff);
    p64(b, 42); /* packetTotalCount */
    p32(b, 0x0a000001);
    p32(b, 0x0a090909); /* the second sourceIPv4Address: ignored */
    for (int i = 0; i < 15; i++)
        p8(b, i == 0 ? 0x20 : 0);
    p8(b, last6);
    p8(b, ipver);
    p32(b, 1699999000);       /* flowStartSeconds: loses to milliseconds */
    p64(b, 1699999990123ull); /* flowStartMilliseconds */
    p32(b, 1700000000);       /* flowEndSeconds */
    p8(b, 1);                 /* ICMP */
    p16(b, 0x0303);           /* type 3 code 3 */
    p16(b, 0xf123);           /* priority bits above the 12-bit id */
}

static void test_ipfix_plan(void **state)
{
    (void)state;
    struct buf b;
    ipfix_header(&b, 0);
    plan_template(&b);
    size_t at = b.n;
    p16(&b, 401);
    p16(&b, 0);
    plan_record(&b, 0x012345, 6, 0x55);
    plan_record(&b, 77, 4, 0x66);
    patch_len(&b, at + 2, at);
    patch_len(&b, 2, 0);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 2);
    for (int i = 0; i < 2; i++) {
        const struct flow *f = &g.f[i];
        assert_int_equal(f->bytes, i ? 77 : 0x012345);
        assert_int_equal(f->packets, 42);
        assert_int_equal(f->first, 1699999990123ull);
        assert_int_equal(f->last, 1700000000000ull);
        assert_int_equal(f->proto, 1);
        assert_int_equal(f->dport, 0x0303);
        assert_int_equal(f->vlan, 0x123);
    }
    /* ipVersion 6: the IPv6 destination, and no IPv6 source in the template: :: */
    const struct flow *f = &g.f[0];
    static const uint8_t zero[16];
    assert_int_equal(f->ipver, 6);
    assert_memory_equal(f->src, zero, 16);
    assert_int_equal(f->dst[0], 0x20);
    assert_int_equal(f->dst[15], 0x55);
    /* ipVersion 4: the first IPv4 source, no IPv4 destination: 0.0.0.0 */
    f = &g.f[1];
    assert_int_equal(f->ipver, 4);
    v4(f, 0, 10, 0, 0, 1);
    v4(f, 1, 0, 0, 0, 0);
    collector_free(c);
    truncate_everywhere(&b);
}

/* Template 401 again with the same fields (a refresh: counted, not recompiled), then
 * with other fields under the same id (replaced): data follows whichever is current. */
static void test_template_refresh(void **state)
{
    (void)state;
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    struct buf b;
    for (int round = 0; round < 3; round++) {
        ipfix_header(&b, 0);
        if (round < 2) {
            plan_template(&b);
        } else {
            size_t at = b.n;
            p16(&b, 2);
            p16(&b, 0);
            p16(&b, 401);
            p16(&b, 2);
            p16(&b, 1); /* octetDeltaCount, 4 bytes */
            p16(&b, 4);
            p16(&b, 8); /* sourceIPv4Address */
            p16(&b, 4);
            patch_len(&b, at + 2, at);
        }
        size_t at = b.n;
        p16(&b, 401);
        p16(&b, 0);
        if (round < 2) {
            plan_record(&b, 1000 + (uint32_t)round, 4, 0);
        } else {
            p32(&b, 5555);
            p32(&b, 0x0a000063);
        }
        patch_len(&b, at + 2, at);
        patch_len(&b, 2, 0);
        assert_int_equal(feed(c, &b, &g), 1);
    }
    assert_int_equal(g.n, 3);
    assert_int_equal(g.f[0].bytes, 1000);
    assert_int_equal(g.f[1].bytes, 1001);
    assert_int_equal(g.f[1].packets, 42);
    assert_int_equal(g.f[2].bytes, 5555);
    assert_int_equal(g.f[2].packets, 0);
    v4(&g.f[2], 0, 10, 0, 0, 99);
    struct collect_totals t;
    collector_totals(c, &t);
    assert_int_equal(t.sum.templates, 3);
    assert_int_equal(t.templates_cached, 1);
    collector_free(c);
}

static void test_ipfix_withdrawal(void **state)
{
    (void)state;
    struct buf b, w, d;
    ipfix_header(&b, 0);
    ipfix_template(&b);
    patch_len(&b, 2, 0);
    ipfix_header(&w, 0);
    size_t at = w.n;
    p16(&w, 2), p16(&w, 0), p16(&w, 400), p16(&w, 0); /* withdraw 400 */
    patch_len(&w, at + 2, at);
    patch_len(&w, 2, 0);
    ipfix_header(&d, 0);
    ipfix_data(&d);
    patch_len(&d, 2, 0);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    feed(c, &b, &g);
    assert_int_equal(feed(c, &d, &g), 1);
    feed(c, &w, &g);
    assert_int_equal(feed(c, &d, &g), 0); /* held: no template now */
    struct collect_stats st;
    collector_foreach(c, on_stats, &st);
    assert_int_equal(st.withdrawals, 1);
    assert_int_equal(st.unknown_template, 1);
    assert_int_equal(st.held_dropped, 1); /* still held: reported as dropped */
    struct collect_totals t;
    collector_totals(c, &t);
    assert_int_equal(t.templates_cached, 0);
    collector_free(c);
    truncate_everywhere(&w);
}

static void test_ipfix_options_sampling(void **state)
{
    (void)state;
    struct buf b;
    ipfix_header(&b, 0);
    size_t at = b.n;
    p16(&b, 3), p16(&b, 0);
    p16(&b, 500), p16(&b, 2), p16(&b, 1); /* options template: 2 fields, 1 scope */
    p16(&b, 144), p16(&b, 4);             /* exportingProcessId (scope) */
    p16(&b, 34), p16(&b, 4);              /* samplingInterval */
    patch_len(&b, at + 2, at);
    at = b.n;
    p16(&b, 500), p16(&b, 0);
    p32(&b, 1), p32(&b, 10);
    patch_len(&b, at + 2, at);
    ipfix_template(&b);
    ipfix_data(&b);
    patch_len(&b, 2, 0);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 1);
    assert_int_equal(g.f[0].bytes, 10000);
    assert_int_equal(g.f[0].rbytes, 2500000);
    collector_free(c);
    struct collect_opts o = { .sampling = 1 };
    c = collector_new(&o);
    g.n = 0;
    feed(c, &b, &g);
    assert_int_equal(g.f[0].bytes, 1000);
    collector_free(c);
    truncate_everywhere(&b);
}

static void test_sflow(void **state)
{
    (void)state;
    struct buf b;
    memset(&b, 0, sizeof(b));
    p32(&b, 5), p32(&b, 1), p32(&b, 0xc0000201), p32(&b, 0), p32(&b, 1), p32(&b, 100);
    p32(&b, 2); /* samples */
    size_t at = b.n;
    p32(&b, 1), p32(&b, 0); /* flow sample */
    p32(&b, 1), p32(&b, 3), p32(&b, 100), p32(&b, 1000), p32(&b, 0), p32(&b, 4), p32(&b, 5);
    p32(&b, 1);              /* records */
    p32(&b, 3), p32(&b, 32); /* sampled IPv4 */
    p32(&b, 60), p32(&b, 6), p32(&b, 0x0a000001), p32(&b, 0x0a000002);
    p32(&b, 40000), p32(&b, 443), p32(&b, 0x12), p32(&b, 0);
    b.b[at + 7] = (uint8_t)(b.n - at - 8);
    p32(&b, 2), p32(&b, 4), p32(&b, 0); /* counter sample, counted */
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 1);
    assert_int_equal(g.f[0].packets, 100);
    assert_int_equal(g.f[0].bytes, 6000);
    assert_int_equal(g.f[0].dport, 443);
    assert_int_equal(g.f[0].in_if, 4);
    assert_int_equal(g.f[0].first, 1000);
    struct collect_stats st;
    collector_foreach(c, on_stats, &st);
    assert_int_equal(st.counter_samples, 1);
    collector_free(c);
    truncate_everywhere(&b);
}

/* A flow sample of one sampled IPv4 record and an extended gateway (1003) record whose
 * body is `gw` (n words): the datagram, with every length patched. */
static void sflow_gateway_dgram(struct buf *b, const uint32_t *gw, size_t n)
{
    memset(b, 0, sizeof(*b));
    p32(b, 5), p32(b, 1), p32(b, 0xc0000201), p32(b, 0), p32(b, 1), p32(b, 100);
    p32(b, 1); /* samples */
    size_t at = b->n;
    p32(b, 1), p32(b, 0); /* flow sample */
    p32(b, 1), p32(b, 3), p32(b, 1), p32(b, 1000), p32(b, 0), p32(b, 4), p32(b, 5);
    p32(b, 2);             /* records */
    p32(b, 3), p32(b, 32); /* sampled IPv4 */
    p32(b, 60), p32(b, 6), p32(b, 0x0a000001), p32(b, 0x0a000002);
    p32(b, 40000), p32(b, 443), p32(b, 0x12), p32(b, 0);
    p32(b, 1003), p32(b, (uint32_t)(n * 4));
    for (size_t i = 0; i < n; i++)
        p32(b, gw[i]);
    patch_len(b, at + 6, at + 8);
}

static void test_sflow_gateway(void **state)
{
    (void)state;
    /* IPv6 next hop; router AS 65000, source AS 4200000001 (4-byte), peer AS 64512;
     * path: an AS set {1, 2} then the sequence 3356 174 64999; two communities. */
    static const uint32_t gw[] = { 2,           0x20010db8, 0,          0,    1,   65000,
                                   4200000001u, 64512,      2,          1,    2,   1,
                                   2,           2,          3,          3356, 174, 64999,
                                   2,           0xfde80001, 0xfde80002, 100 };
    struct buf b;
    sflow_gateway_dgram(&b, gw, sizeof(gw) / 4);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 1);
    assert_int_equal(g.f[0].src_as, 4200000001u);
    assert_int_equal(g.f[0].dst_as, 64999);
    assert_int_equal(g.f[0].dport, 443);
    collector_free(c);
    truncate_everywhere(&b);

    /* Empty path, unknown next hop (type 0, no address): dst_as 0, src_as as sent. */
    static const uint32_t empty[] = { 0, 65000, 7, 0, 0, 0, 0 };
    sflow_gateway_dgram(&b, empty, sizeof(empty) / 4);
    c = collector_new(NULL);
    g.n = 0;
    feed(c, &b, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].src_as, 7);
    assert_int_equal(g.f[0].dst_as, 0);
    collector_free(c);

    /* Hostile records inside a consistent sample: a segment count, an AS count and a
     * community count past the record, a segment type 9, a next-hop type 3, and a
     * record cut before localpref: no flow, each counted as a bad record. */
    static const uint32_t bad[][8] = {
        { 1, 0x0a000001, 1, 2, 3, 0x40000000, 1, 1 }, /* 2^30 segments */
        { 1, 0x0a000001, 1, 2, 3, 1, 2, 0x3fffffff }, /* 2^30 - 1 AS numbers */
        { 1, 0x0a000001, 1, 2, 3, 0, 0x3fffffff, 0 }, /* 2^30 - 1 communities */
        { 1, 0x0a000001, 1, 2, 3, 1, 9, 0 },          /* segment type 9 */
        { 3, 0x0a000001, 1, 2, 3, 0, 0, 0 },          /* next hop type 3 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sflow_gateway_dgram(&b, bad[i], 8);
        c = collector_new(NULL);
        g.n = 0;
        feed(c, &b, &g);
        assert_int_equal(g.n, 0);
        struct collect_stats st;
        collector_foreach(c, on_stats, &st);
        assert_int_equal(st.malformed[CR_BAD_RECORD], 1);
        collector_free(c);
    }
    sflow_gateway_dgram(&b, empty, 6); /* no localpref */
    c = collector_new(NULL);
    g.n = 0;
    feed(c, &b, &g);
    assert_int_equal(g.n, 0);
    collector_free(c);
}

static void test_template_cap(void **state)
{
    (void)state;
    struct collect_opts o = { .max_templates = 4 };
    struct collector *c = collector_new(&o);
    struct got g = { 0 };
    for (uint32_t i = 0; i < 20; i++) {
        struct buf b;
        v9_header(&b, i);
        v9_template(&b);
        b.b[24] = (uint8_t)(1 + i); /* template id 256 + ... */
        feed(c, &b, &g);
    }
    struct collect_totals t;
    collector_totals(c, &t);
    assert_int_equal(t.templates_cached, 4);
    assert_int_equal(t.templates_evicted, 16);
    assert_int_equal(collect_datagram(c, EXP, (const uint8_t *)"junk", 4, 0, sink, &g), -1006);
    collector_free(c);
}

/* Load b into a fresh collector and decode d: the flows it gives (-1 = refused). */
static int load_and_decode(const uint8_t *file, size_t len, const struct buf *d)
{
    struct collector *c = collector_new(NULL);
    struct fs_err e = { 0 };
    /* An exact-size copy, so ASan sees any read past the file. */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, file, len);
    int rc = collector_load(c, copy, len, NULL, &e);
    free(copy);
    struct got g = { 0 };
    int n = rc ? -1 : feed(c, d, &g);
    collector_free(c);
    return n;
}

/* Templates and options sampling survive save/load; damaged files are refused whole. */
static void test_template_persistence(void **state)
{
    (void)state;
    struct buf b, d;
    ipfix_header(&b, 0);
    size_t at = b.n;
    p16(&b, 3), p16(&b, 0);
    p16(&b, 500), p16(&b, 2), p16(&b, 1);
    p16(&b, 144), p16(&b, 4);
    p16(&b, 34), p16(&b, 4);
    patch_len(&b, at + 2, at);
    at = b.n;
    p16(&b, 500), p16(&b, 0);
    p32(&b, 1), p32(&b, 10);
    patch_len(&b, at + 2, at);
    ipfix_template(&b);
    patch_len(&b, 2, 0);
    ipfix_header(&d, 1);
    ipfix_data(&d);
    patch_len(&d, 2, 0);

    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    feed(c, &b, &g);
    size_t len;
    uint8_t *file = collector_save(c, &len);
    collector_free(c);

    c = collector_new(NULL);
    size_t nt = 0;
    struct fs_err e = { 0 };
    assert_int_equal(collector_load(c, file, len, &nt, &e), 0);
    assert_int_equal(nt, 2);
    g.n = 0;
    assert_int_equal(feed(c, &d, &g), 1);  /* decoded at once, no template resent */
    assert_int_equal(g.f[0].bytes, 10000); /* sampling from the options record kept */
    struct collect_totals t;
    collector_totals(c, &t);
    assert_int_equal(t.templates_cached, 2);
    collector_free(c);

    /* Every prefix is refused (cut short), never half loaded. */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(load_and_decode(file, n, &d), -1);
    /* Every single-byte flip: refused, or loaded and decoding without harm (ASan). */
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            file[i] ^= (uint8_t)(1u << bit);
            load_and_decode(file, len, &d);
            file[i] ^= (uint8_t)(1u << bit);
        }
    /* The first op of the first template (header 20 bytes, key, port and counts 29)
     * made a 9-byte unsigned: refused as damaged. Another format version: refused as
     * such. */
    c = collector_new(NULL);
    uint8_t save[5];
    memcpy(save, file + 49, 5);
    memcpy(file + 49, "\x09\x00\x01\x00\x01", 5);
    assert_int_equal(collector_load(c, file, len, NULL, &e), FS_ECORRUPT);
    memcpy(file + 49, save, 5);
    memcpy(file + 4, "\x03\x00", 2);
    assert_int_equal(collector_load(c, file, len, NULL, &e), FS_EVERSION);
    assert_int_equal(collector_load(c, (const uint8_t *)"nope", 4, NULL, &e), FS_EFORMAT);
    collector_free(c);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v5),
        cmocka_unit_test(test_v9),
        cmocka_unit_test(test_v9_data_before_template),
        cmocka_unit_test(test_ipfix),
        cmocka_unit_test(test_ipfix_plan),
        cmocka_unit_test(test_template_refresh),
        cmocka_unit_test(test_ipfix_withdrawal),
        cmocka_unit_test(test_ipfix_options_sampling),
        cmocka_unit_test(test_sflow),
        cmocka_unit_test(test_sflow_gateway),
        cmocka_unit_test(test_template_cap),
        cmocka_unit_test(test_template_persistence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
