/*
 * Unit tests for the export encoders (src/io/export.h): random flows are encoded in
 * each dialect and decoded again by the collector (collect_datagram). IPFIX must give
 * back every field, the enterprise ones included; v9 every field NetFlow carries, a
 * biflow as two uniflows; v5 the IPv4 fields with its documented losses (32-bit
 * counters, 16-bit interfaces, AS_TRANS). Also: sequence numbers as each protocol
 * counts them, template refresh by count and by clock, message size limits, the
 * dialect table, and every prefix of a message fed to the decoder (ASan).
 */
#include "codec/datagram.h"
#include "codec/export.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAXMSG 4096
#define MAXFL  4096

/* Every message the encoder emits, kept for decoding and header checks. */
struct msgs {
    uint8_t *m[MAXMSG];
    size_t len[MAXMSG];
    size_t n;
};

static int keep(void *ctx, const uint8_t *msg, size_t len)
{
    struct msgs *ms = ctx;
    assert_true(ms->n < MAXMSG);
    ms->m[ms->n] = malloc(len);
    memcpy(ms->m[ms->n], msg, len);
    ms->len[ms->n++] = len;
    return 0;
}

static void msgs_free(struct msgs *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        free(ms->m[i]);
    ms->n = 0;
}

struct got {
    struct flow f[MAXFL];
    size_t n;
};

static int collect_sink_fn(void *ctx, const struct flow *f)
{
    struct got *g = ctx;
    assert_true(g->n < MAXFL);
    g->f[g->n++] = *f;
    return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A value of random magnitude, so small and huge counters are both exercised. */
static uint64_t rnd_mag(void)
{
    unsigned bits = (unsigned)(rnd() % 65);
    return bits == 64 ? rnd() : rnd() & ((1ull << bits) - 1);
}

#define T0 1700000000123ull /* a start time with milliseconds */

static void random_flow(struct flow *f, int v6)
{
    memset(f, 0, sizeof(*f));
    if (v6) {
        for (int i = 0; i < 16; i++)
            f->src[i] = (uint8_t)rnd(), f->dst[i] = (uint8_t)rnd();
        f->src[0] = f->dst[0] = 0x20; /* never IPv4-mapped */
    } else {
        uint8_t a[4] = { 10, (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd() };
        uint8_t b[4] = { 192, 168, (uint8_t)rnd(), (uint8_t)rnd() };
        flow_addr_from_v4(f->src, a);
        flow_addr_from_v4(f->dst, b);
    }
    f->ipver = v6 ? 6 : 4;
    f->first = T0 + rnd() % 3600000;
    f->last = f->first + rnd() % 600000;
    f->bytes = rnd_mag() | 1, f->packets = rnd_mag() | 1;
    if (rnd() % 4) {
        f->rbytes = rnd_mag() | 1;
        f->rpackets = rnd_mag() | 1;
    }
    f->payload = rnd_mag(), f->rpayload = rnd_mag();
    f->goodput = rnd_mag(), f->rgoodput = rnd_mag();
    f->retrans = rnd_mag(), f->rretrans = rnd_mag();
    f->in_if = (uint32_t)rnd_mag(), f->out_if = (uint32_t)rnd_mag();
    f->src_as = (uint32_t)rnd_mag(), f->dst_as = (uint32_t)rnd_mag();
    f->exchange = (uint32_t)rnd_mag();
    f->sport = (uint16_t)rnd(), f->dport = (uint16_t)rnd();
    f->vlan = (uint16_t)(rnd() % 4096);
    f->minlen = (uint16_t)rnd(), f->maxlen = (uint16_t)rnd();
    f->rminlen = (uint16_t)rnd(), f->rmaxlen = (uint16_t)rnd();
    static const uint8_t protos[] = { 6, 17, 1, 58, 132, 47 };
    f->proto = protos[rnd() % sizeof(protos)];
    f->flags = (uint8_t)rnd(), f->rflags = (uint8_t)rnd();
    f->tos = (uint8_t)rnd();
}

/* Encode flows (clock = the flow's last + 1 s) and flush. */
static void encode(const char *dialect, const struct export_enc_opts *o, const struct flow *fl,
                   size_t n, struct msgs *ms, struct export_stats *st)
{
    const struct export_dialect *d = export_dialect_find(dialect);
    assert_non_null(d);
    struct export_enc *e = export_enc_new(d, o, keep, ms);
    export_enc_start(e, T0);
    uint64_t now = T0;
    for (size_t i = 0; i < n; i++) {
        if (fl[i].last + 1000 > now)
            now = fl[i].last + 1000;
        export_enc_flow(e, &fl[i], now);
    }
    export_enc_flush(e);
    export_enc_stats(e, st);
    export_enc_free(e);
}

/* Decode every message in order with one collector; returns its sequence loss. */
static uint64_t decode_all(const struct msgs *ms, struct got *g, int *per_msg)
{
    static const uint8_t exporter[16];
    struct collector *c = collector_new(NULL);
    g->n = 0;
    for (size_t i = 0; i < ms->n; i++) {
        int rc = collect_datagram(c, exporter, ms->m[i], ms->len[i], 0, collect_sink_fn, g);
        assert_true(rc >= 0);
        if (per_msg)
            per_msg[i] = rc;
    }
    struct collect_totals t;
    collector_totals(c, &t);
    assert_int_equal(t.sum.unknown_template, 0);
    for (int r = 0; r < CR_NRESULTS; r++)
        assert_int_equal(t.sum.malformed[r], 0);
    collector_free(c);
    return t.sum.seq_lost + t.sum.seq_reset;
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_dialects(void **state)
{
    (void)state;
    assert_int_equal(export_dialect_version(export_dialect_find("ipfix")), 10);
    assert_int_equal(export_dialect_version(export_dialect_find("nf9")), 9);
    assert_int_equal(export_dialect_version(export_dialect_find("nf5")), 5);
    assert_string_equal(export_dialect_name(export_dialect_find("nf9")), "nf9");
    assert_null(export_dialect_find("nf7"));
    /* The enterprise IEs are in the decoder's table under flowsleuth's PEN. */
    for (uint16_t id = 1; id <= 3; id++) {
        assert_non_null(ipfix_ie_find(FS_PEN, id));
        assert_non_null(ipfix_ie_find(FS_PEN, (uint16_t)(FS_PEN_REVERSE | id)));
    }
    assert_non_null(ipfix_ie_find(FS_PEN, 4));
    assert_null(ipfix_ie_find(12345, 1));
}

static struct flow fl[1000];
static struct got got;
static struct msgs ms;

/* IPFIX: every field of every flow, IPv4 and IPv6 mixed, comes back bit for bit. */
static void test_ipfix_roundtrip(void **state)
{
    (void)state;
    size_t n = 1000;
    for (size_t i = 0; i < n; i++)
        random_flow(&fl[i], rnd() % 3 == 0);
    struct export_stats st;
    encode("ipfix", NULL, fl, n, &ms, &st);
    assert_int_equal(st.flows, n);
    assert_int_equal(st.records, n);
    assert_int_equal(st.left_out, 0);
    assert_int_equal(st.messages, ms.n);
    int per[MAXMSG];
    assert_int_equal(decode_all(&ms, &got, per), 0);
    assert_int_equal(got.n, n);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(&got.f[i], &fl[i], sizeof(struct flow));
    /* Header: version, length, sequence = data records before this message. */
    uint32_t seq = 0;
    for (size_t i = 0; i < ms.n; i++) {
        assert_true(ms.len[i] <= 1400);
        assert_int_equal(be16_at(ms.m[i]), 10);
        assert_int_equal(be16_at(ms.m[i] + 2), ms.len[i]);
        assert_int_equal(be32_at(ms.m[i] + 8), seq);
        seq += (uint32_t)per[i];
    }
    msgs_free(&ms);
}

/* The forward uniflow of f as NetFlow carries it (v9: fields it has). */
static void nf9_expect(const struct flow *f, struct flow *x)
{
    memset(x, 0, sizeof(*x));
    memcpy(x->src, f->src, 16);
    memcpy(x->dst, f->dst, 16);
    x->first = f->first, x->last = f->last;
    x->bytes = f->bytes, x->packets = f->packets;
    x->in_if = f->in_if, x->out_if = f->out_if;
    x->src_as = f->src_as, x->dst_as = f->dst_as;
    x->sport = f->sport, x->dport = f->dport;
    x->vlan = f->vlan, x->minlen = f->minlen, x->maxlen = f->maxlen;
    x->proto = f->proto, x->ipver = f->ipver, x->flags = f->flags, x->tos = f->tos;
}

/* The reverse uniflow of f, built independently of the encoder. */
static void nf9_expect_rev(const struct flow *f, struct flow *x)
{
    struct flow r = *f;
    memcpy(r.src, f->dst, 16);
    memcpy(r.dst, f->src, 16);
    if (f->proto != 1 && f->proto != 58)
        r.sport = f->dport, r.dport = f->sport;
    r.bytes = f->rbytes, r.packets = f->rpackets, r.flags = f->rflags;
    r.minlen = f->rminlen, r.maxlen = f->rmaxlen;
    r.in_if = f->out_if, r.out_if = f->in_if;
    r.src_as = f->dst_as, r.dst_as = f->src_as;
    nf9_expect(&r, x);
}

/* v9: biflows as uniflow pairs, every field v9 carries; sequence = messages. */
static void test_nf9_roundtrip(void **state)
{
    (void)state;
    size_t n = 1000, nrev = 0;
    for (size_t i = 0; i < n; i++) {
        random_flow(&fl[i], rnd() % 3 == 0);
        nrev += fl[i].rpackets != 0;
    }
    struct export_stats st;
    encode("nf9", NULL, fl, n, &ms, &st);
    assert_int_equal(st.records, n + nrev);
    assert_int_equal(decode_all(&ms, &got, NULL), 0);
    assert_int_equal(got.n, n + nrev);
    struct flow x;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        nf9_expect(&fl[i], &x);
        assert_memory_equal(&got.f[k++], &x, sizeof(x));
        if (fl[i].rpackets) {
            nf9_expect_rev(&fl[i], &x);
            assert_memory_equal(&got.f[k++], &x, sizeof(x));
        }
    }
    for (size_t i = 0; i < ms.n; i++) {
        assert_true(ms.len[i] <= 1400);
        assert_int_equal(be16_at(ms.m[i]), 9);
        assert_int_equal(be32_at(ms.m[i] + 12), i);
    }
    msgs_free(&ms);
}

static uint64_t sat(uint64_t v, uint64_t max)
{
    return v > max ? max : v;
}

/* v5: IPv4 only (IPv6 left out and counted), saturated counters, 16-bit fields. */
static void test_nf5_roundtrip(void **state)
{
    (void)state;
    size_t n = 1000, n6 = 0, nrev = 0;
    for (size_t i = 0; i < n; i++) {
        random_flow(&fl[i], rnd() % 4 == 0);
        n6 += fl[i].ipver == 6;
        nrev += fl[i].ipver == 4 && fl[i].rpackets;
    }
    struct export_stats st;
    encode("nf5", NULL, fl, n, &ms, &st);
    assert_int_equal(st.left_out, n6);
    assert_int_equal(st.records, n - n6 + nrev);
    assert_int_equal(decode_all(&ms, &got, NULL), 0);
    assert_int_equal(got.n, n - n6 + nrev);
    struct flow x;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (fl[i].ipver == 6)
            continue;
        for (int dir = 0; dir < 1 + (fl[i].rpackets != 0); dir++) {
            if (dir)
                nf9_expect_rev(&fl[i], &x);
            else
                nf9_expect(&fl[i], &x);
            x.bytes = sat(x.bytes, 0xffffffffu), x.packets = sat(x.packets, 0xffffffffu);
            x.in_if = (uint32_t)sat(x.in_if, 0xffff), x.out_if = (uint32_t)sat(x.out_if, 0xffff);
            x.src_as = x.src_as > 0xffff ? 23456 : x.src_as;
            x.dst_as = x.dst_as > 0xffff ? 23456 : x.dst_as;
            x.vlan = x.minlen = x.maxlen = 0;
            assert_memory_equal(&got.f[k++], &x, sizeof(x));
        }
    }
    uint32_t seq = 0;
    for (size_t i = 0; i < ms.n; i++) {
        uint16_t count = be16_at(ms.m[i] + 2);
        assert_true(count >= 1 && count <= 30);
        assert_int_equal(ms.len[i], 24 + 48 * count);
        assert_true(ms.len[i] <= 1400);
        assert_int_equal(be32_at(ms.m[i] + 16), seq);
        seq += count;
    }
    msgs_free(&ms);
}

/* IPFIX sequence numbers count data records; templates every N messages and by clock. */
static void test_sequence_and_refresh(void **state)
{
    (void)state;
    size_t n = 400;
    for (size_t i = 0; i < n; i++)
        random_flow(&fl[i], i % 2);
    struct export_enc_opts o = { .tmpl_every = 5, .tmpl_ms = 3600000 };
    struct export_stats st;
    int per[MAXMSG];
    encode("ipfix", &o, fl, n, &ms, &st);
    assert_int_equal(decode_all(&ms, &got, per), 0);
    uint32_t seq = 0;
    for (size_t i = 0; i < ms.n; i++) {
        assert_int_equal(be32_at(ms.m[i] + 8), seq);
        seq += (uint32_t)per[i];
        int has_tmpl = be16_at(ms.m[i] + 16) == 2;
        assert_int_equal(has_tmpl, i % 5 == 0);
    }
    assert_int_equal(st.templates, 2 * ((ms.n + 4) / 5));
    msgs_free(&ms);

    /* By clock: templates again once tmpl_ms of flow time has passed. */
    const struct export_dialect *d = export_dialect_find("nf9");
    o.tmpl_every = 1000;
    o.tmpl_ms = 10000;
    struct export_enc *e = export_enc_new(d, &o, keep, &ms);
    export_enc_start(e, T0);
    for (int i = 0; i < 8; i++) {
        random_flow(&fl[0], 0);
        export_enc_flow(e, &fl[0], T0 + (uint64_t)i * 4000);
        export_enc_flush(e);
    }
    export_enc_free(e);
    assert_int_equal(ms.n, 8);
    static const int want[8] = { 1, 0, 0, 1, 0, 0, 1, 0 }; /* at 0, 12, 24 s */
    for (size_t i = 0; i < ms.n; i++) {
        /* flowset 0 right after the header; v9 count includes the 2 template records */
        assert_int_equal(be16_at(ms.m[i] + 20) == 0, want[i]);
        assert_true(be16_at(ms.m[i] + 2) >= 1 + 2 * want[i]);
    }
    msgs_free(&ms);
}

/* A small size cap is honoured by every dialect, and the flows still round-trip. */
static void test_size_limit(void **state)
{
    (void)state;
    static const char *names[] = { "ipfix", "nf9", "nf5" };
    for (size_t d = 0; d < 3; d++) {
        size_t n = 300;
        for (size_t i = 0; i < n; i++)
            random_flow(&fl[i], d == 2 ? 0 : (int)(i % 2));
        struct export_enc_opts o = { .max_msg = 512 };
        struct export_stats st;
        encode(names[d], &o, fl, n, &ms, &st);
        for (size_t i = 0; i < ms.n; i++)
            assert_true(ms.len[i] <= 512);
        assert_int_equal(decode_all(&ms, &got, NULL), 0);
        assert_int_equal(got.n, st.records);
        msgs_free(&ms);
    }
}

/*
 * A sparse capture: flows years apart, each exported long after it ended (the meter
 * expires a flow at the next packet). v9 and v5 times are uptime-relative in 32 bits;
 * they must still come back to the millisecond.
 */
static void test_sparse_clock(void **state)
{
    (void)state;
    static const char *names[] = { "nf9", "nf5" };
    static const uint64_t day = 86400000ull;
    for (size_t d = 0; d < 2; d++) {
        const struct export_dialect *dl = export_dialect_find(names[d]);
        struct export_enc *e = export_enc_new(dl, NULL, keep, &ms);
        export_enc_start(e, T0);
        uint64_t at[] = { 0, 1000, 100 * day, 100 * day + 5, 1100 * day, 1100 * day + 40 * day };
        for (size_t i = 0; i < 6; i++) {
            random_flow(&fl[i], 0);
            fl[i].rpackets = fl[i].rbytes = 0;
            fl[i].first = T0 + at[i];
            fl[i].last = fl[i].first + 1234;
            export_enc_flow(e, &fl[i], fl[i].last + (i % 2 ? 30 * day : 1000));
        }
        export_enc_flush(e);
        export_enc_free(e);
        assert_int_equal(decode_all(&ms, &got, NULL), 0);
        assert_int_equal(got.n, 6);
        for (size_t i = 0; i < 6; i++) {
            assert_int_equal(got.f[i].first, fl[i].first);
            assert_int_equal(got.f[i].last, fl[i].last);
        }
        msgs_free(&ms);
    }
}

/* Every prefix of an encoded message decodes without a crash (ASan build). */
static void test_prefixes(void **state)
{
    (void)state;
    static const char *names[] = { "ipfix", "nf9", "nf5" };
    static const uint8_t exporter[16];
    for (size_t d = 0; d < 3; d++) {
        for (size_t i = 0; i < 20; i++)
            random_flow(&fl[i], d == 2 ? 0 : (int)(i % 2));
        struct export_stats st;
        encode(names[d], NULL, fl, 20, &ms, &st);
        for (size_t cut = 0; cut <= ms.len[0]; cut++) {
            struct collector *c = collector_new(NULL);
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, ms.m[0], cut);
            collect_datagram(c, exporter, p, cut, 0, NULL, NULL);
            free(p);
            collector_free(c);
        }
        msgs_free(&ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dialects),
        cmocka_unit_test(test_ipfix_roundtrip),
        cmocka_unit_test(test_nf9_roundtrip),
        cmocka_unit_test(test_nf5_roundtrip),
        cmocka_unit_test(test_sequence_and_refresh),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_sparse_clock),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
