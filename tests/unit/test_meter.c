/* Unit tests of the flow table: orientation, expiry, goodput, port reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meter/meter.h"

#include <string.h>

#define MAXOUT 64

struct sinkbuf {
    struct flow f[MAXOUT];
    int n;
};

static void sink(void *ctx, const struct flow *f)
{
    struct sinkbuf *b = ctx;
    assert_true(b->n < MAXOUT);
    b->f[b->n++] = *f;
}

static const uint8_t C[4] = { 10, 0, 0, 1 }, S[4] = { 10, 0, 0, 2 };

/* A TCP packet from client (dir 0) or server (dir 1) of the test connection. */
static struct pkt tcp(int from_server, uint64_t ts_us, uint8_t flags, uint32_t seq,
                      uint32_t payload)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    flow_addr_from_v4(from_server ? p.src : p.dst, S);
    flow_addr_from_v4(from_server ? p.dst : p.src, C);
    p.sport = from_server ? 80 : 40000;
    p.dport = from_server ? 40000 : 80;
    p.proto = 6;
    p.ipver = 4;
    p.has_ports = 1;
    p.tcpflags = flags;
    p.seq = seq;
    p.payload = payload;
    p.iplen = payload + 40;
    p.ts_us = ts_us;
    return p;
}

static struct meter *mk(struct sinkbuf *b, uint64_t idle_ms, uint64_t active_ms)
{
    struct meter_opts o;
    meter_opts_default(&o);
    o.idle_ms = idle_ms;
    o.active_ms = active_ms;
    memset(b, 0, sizeof(*b));
    return meter_new(&o, sink, b);
}

/* Handshake, request, a download in 1000-byte segments, FIN both ways. */
static uint64_t download(struct meter *m, uint64_t t, uint32_t cisn, uint32_t sisn, uint32_t size,
                         int retransmit_every)
{
    struct pkt p = tcp(0, t, FS_TCP_SYN, cisn, 0);
    meter_packet(m, &p);
    p = tcp(1, t + 10, FS_TCP_SYN | FS_TCP_ACK, sisn, 0);
    meter_packet(m, &p);
    p = tcp(0, t + 20, FS_TCP_ACK | FS_TCP_PSH, cisn + 1, 100);
    meter_packet(m, &p);
    uint32_t seq = sisn + 1, sent = 0;
    int k = 0;
    while (sent < size) {
        uint32_t len = size - sent < 1000 ? size - sent : 1000;
        t += 100;
        p = tcp(1, t, FS_TCP_ACK, seq + sent, len);
        meter_packet(m, &p);
        if (retransmit_every && ++k % retransmit_every == 0) {
            p = tcp(1, t + 1, FS_TCP_ACK, seq + sent, len);
            meter_packet(m, &p);
        }
        sent += len;
    }
    p = tcp(1, t + 200, FS_TCP_FIN | FS_TCP_ACK, seq + size, 0);
    meter_packet(m, &p);
    p = tcp(0, t + 300, FS_TCP_FIN | FS_TCP_ACK, cisn + 101, 0);
    meter_packet(m, &p);
    return t + 300;
}

static void test_biflow_orientation_and_counts(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    download(m, 1000000, 5, 1000, 10500, 0);
    meter_flush(m);
    assert_int_equal(b.n, 1);
    struct flow *f = &b.f[0];
    uint8_t c16[16];
    flow_addr_from_v4(c16, C);
    assert_memory_equal(f->src, c16, 16);
    assert_int_equal(f->sport, 40000);
    assert_int_equal(f->dport, 80);
    assert_int_equal(f->packets, 3);
    assert_int_equal(f->rpackets, 1 + 11 + 1);
    assert_int_equal(f->payload, 100);
    assert_int_equal(f->goodput, 100);
    assert_int_equal(f->rpayload, 10500);
    assert_int_equal(f->rgoodput, 10500);
    assert_int_equal(f->rretrans, 0);
    assert_int_equal(f->rbytes, 10500 + 13 * 40);
    assert_int_equal(f->minlen, 40);
    assert_int_equal(f->maxlen, 140);
    assert_int_equal(f->rmaxlen, 1040);
    assert_int_equal(f->flags, FS_TCP_SYN | FS_TCP_ACK | FS_TCP_PSH | FS_TCP_FIN);
    assert_int_equal(f->first, 1000);
    meter_free(m);
}

static void test_goodput_with_retransmissions_and_wrap(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    /* Server ISN just below 2^32: the sequence numbers wrap during the download. */
    download(m, 1000000, 7, 0xFFFFF000u, 50000, 4);
    meter_flush(m);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.f[0].rgoodput, 50000);
    assert_int_equal(b.f[0].rretrans, 12 * 1000);
    assert_int_equal(b.f[0].rpayload, 50000 + 12 * 1000);
    meter_free(m);
}

static void test_midstream_start(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    /* No handshake seen: the first server packet's sequence starts the span. */
    for (uint32_t i = 0; i < 5; i++) {
        struct pkt p = tcp(1, 1000 + i, FS_TCP_ACK, 123456 + i * 1000, 1000);
        meter_packet(m, &p);
    }
    meter_flush(m);
    assert_int_equal(b.n, 1);
    /* Initiator unknown: the first packet's source (the server) is src. */
    assert_int_equal(b.f[0].sport, 80);
    assert_int_equal(b.f[0].goodput, 5000);
    meter_free(m);
}

static void test_close_linger_and_port_reuse(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    uint64_t t = download(m, 1000000, 5, 1000, 3000, 0);
    /* A new SYN on the same tuple right after close: a new flow. */
    download(m, t + 100, 99999, 5000, 2000, 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.f[0].rgoodput, 3000);
    meter_flush(m);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.f[1].rgoodput, 2000);
    struct meter_stats st;
    meter_get_stats(m, &st);
    assert_int_equal(st.exp_reused, 1);
    meter_free(m);
}

/* A client port reused without FIN or RST on the old connection: the new SYN's ISN is
 * far outside the old sequence space, so it starts a new flow; a retransmitted SYN of
 * the open connection (same ISN) does not. */
static void test_port_reuse_without_close(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    struct pkt p = tcp(0, 1000, FS_TCP_SYN, 5, 0);
    meter_packet(m, &p);
    meter_packet(m, &p); /* SYN retransmitted */
    p = tcp(1, 1010, FS_TCP_SYN | FS_TCP_ACK, 1000, 0);
    meter_packet(m, &p);
    p = tcp(0, 1020, FS_TCP_ACK | FS_TCP_PSH, 6, 100);
    meter_packet(m, &p);
    for (uint32_t i = 0; i < 3; i++) {
        p = tcp(1, 1030 + i, FS_TCP_ACK, 1001 + i * 1000, 1000);
        meter_packet(m, &p);
    }
    assert_int_equal(b.n, 0);
    /* no FIN, no RST: the client's next connection on the same port */
    download(m, 5000, 2000000000u, 3000000000u, 2000, 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.f[0].rgoodput, 3000);
    assert_int_equal(b.f[0].goodput, 100);
    assert_int_equal(b.f[0].packets, 3);
    meter_flush(m);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.f[1].rgoodput, 2000);
    assert_int_equal(b.f[1].rpayload, 2000);
    struct meter_stats st;
    meter_get_stats(m, &st);
    assert_int_equal(st.exp_reused, 1);
    meter_free(m);
}

/* Segments the capture never saw (lost before the capture point): goodput counts what
 * was seen, and a retransmission that fills the hole counts once. */
static void test_goodput_hole(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    static const uint32_t order[] = { 0, 1, 3, 4, 2, 2 }; /* 2 missing, then twice */
    for (int i = 0; i < 6; i++) {
        struct pkt p = tcp(1, 1000 + (uint64_t)i, FS_TCP_ACK, 500 + order[i] * 1000, 1000);
        meter_packet(m, &p);
    }
    struct pkt p = tcp(1, 2000, FS_TCP_ACK, 500 + 7 * 1000, 1000); /* 5, 6 never seen */
    meter_packet(m, &p);
    meter_flush(m);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.f[0].goodput, 6000);
    assert_int_equal(b.f[0].retrans, 1000);
    assert_int_equal(b.f[0].payload, 7000);
    meter_free(m);
}

static void test_linger_expiry(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    uint64_t t = download(m, 1000000, 5, 1000, 3000, 0);
    meter_expire(m, t + 1000000); /* 1 s later: still lingering (default 2 s) */
    assert_int_equal(b.n, 0);
    meter_expire(m, t + 2000000);
    assert_int_equal(b.n, 1);
    struct meter_stats st;
    meter_get_stats(m, &st);
    assert_int_equal(st.exp_closed, 1);
    meter_free(m);
}

static void test_idle_and_active_timeouts(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 10000, 30000);
    /* One UDP packet per 5 s for 70 s: active timeout cuts at 30 s. */
    for (int i = 0; i <= 14; i++) {
        struct pkt p = tcp(0, 1000000 + (uint64_t)i * 5000000, 0, 0, 10);
        p.proto = 17;
        meter_packet(m, &p);
    }
    assert_int_equal(b.n, 2);
    assert_int_equal(b.f[0].packets, 6);
    assert_int_equal(b.f[0].sport, 40000); /* orientation kept in the continuation */
    assert_int_equal(b.f[1].sport, 40000);
    meter_expire(m, 1000000 + 70000000 + 10000000);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.f[0].packets + b.f[1].packets + b.f[2].packets, 15);
    meter_free(m);
}

static void test_eviction(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter_opts o;
    meter_opts_default(&o);
    o.max_flows = 3;
    memset(&b, 0, sizeof(b));
    struct meter *m = meter_new(&o, sink, &b);
    for (int i = 0; i < 10; i++) {
        struct pkt p = tcp(0, 1000 + (uint64_t)i, 0, 0, 10);
        p.proto = 17;
        p.sport = (uint16_t)(1000 + i);
        meter_packet(m, &p);
    }
    assert_int_equal(meter_active(m), 3);
    assert_int_equal(b.n, 7);
    assert_int_equal(b.f[0].sport, 1000); /* oldest first */
    meter_flush(m);
    assert_int_equal(b.n, 10);
    meter_free(m);
}

static void test_synack_first_sets_initiator(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter *m = mk(&b, 60000, 1800000);
    struct pkt p = tcp(1, 1000, FS_TCP_SYN | FS_TCP_ACK, 1, 0);
    meter_packet(m, &p);
    p = tcp(0, 1001, FS_TCP_ACK, 2, 0);
    meter_packet(m, &p);
    meter_flush(m);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.f[0].sport, 40000);
    assert_int_equal(b.f[0].rpackets, 1);
    assert_int_equal(b.f[0].packets, 1);
    meter_free(m);
}

static void test_split_exchanges(void **state)
{
    (void)state;
    struct sinkbuf b;
    struct meter_opts o;
    meter_opts_default(&o);
    o.split = 1;
    memset(&b, 0, sizeof(b));
    struct meter *m = meter_new(&o, sink, &b);
    uint64_t t = 1000000;
    struct pkt p = tcp(0, t, FS_TCP_SYN, 10, 0);
    meter_packet(m, &p);
    p = tcp(1, t + 1, FS_TCP_SYN | FS_TCP_ACK, 500, 0);
    meter_packet(m, &p);
    uint32_t cseq = 11, sseq = 501;
    static const uint32_t sizes[3] = { 3000, 1000, 2500 };
    for (int x = 0; x < 3; x++) {
        t += 1000;
        p = tcp(0, t, FS_TCP_ACK | FS_TCP_PSH, cseq, 100); /* request */
        meter_packet(m, &p);
        cseq += 100;
        for (uint32_t sent = 0; sent < sizes[x]; sent += 500) {
            p = tcp(1, ++t, FS_TCP_ACK, sseq + sent, 500);
            meter_packet(m, &p);
            p = tcp(0, ++t, FS_TCP_ACK, cseq, 0); /* pure ACKs do not cut */
            meter_packet(m, &p);
        }
        sseq += sizes[x];
    }
    meter_flush(m);
    assert_int_equal(b.n, 3);
    for (int x = 0; x < 3; x++) {
        assert_int_equal(b.f[x].exchange, x + 1);
        assert_int_equal(b.f[x].rgoodput, sizes[x]);
        assert_int_equal(b.f[x].rpayload, sizes[x]);
        assert_int_equal(b.f[x].goodput, 100);
        assert_int_equal(b.f[x].sport, 40000);
    }
    assert_true(b.f[1].first > b.f[0].last || b.f[1].first == b.f[0].last);
    meter_free(m);
}

/* Server segments of the given sizes from *sseq on, one microsecond apart. */
static void serve(struct meter *m, uint64_t *t, uint32_t *sseq, const uint32_t *seg, int n)
{
    for (int i = 0; i < n; i++) {
        struct pkt p = tcp(1, ++*t, FS_TCP_ACK, *sseq, seg[i]);
        meter_packet(m, &p);
        *sseq += seg[i];
    }
}

static struct meter *split_conn(struct sinkbuf *b, uint64_t *t)
{
    struct meter_opts o;
    meter_opts_default(&o);
    o.split = 1;
    memset(b, 0, sizeof(*b));
    struct meter *m = meter_new(&o, sink, b);
    struct pkt p = tcp(0, *t, FS_TCP_SYN, 10, 0);
    meter_packet(m, &p);
    p = tcp(1, ++*t, FS_TCP_SYN | FS_TCP_ACK, 500, 0);
    meter_packet(m, &p);
    return m;
}

/*
 * Two responses back to back with no request between them (pipelining), as apt's
 * mirror sends them: the second's first write (header + file) is as long as the
 * writes after it and is followed by a header-sized segment that realigns the file
 * reads. The exchange is cut where that write began; a request that leaves right
 * after the realignment stays with the response under way; a request after it ends
 * cuts as before.
 */
static void test_split_server_writes(void **state)
{
    (void)state;
    struct sinkbuf b;
    uint64_t t = 1000000;
    struct meter *m = split_conn(&b, &t);
    uint32_t sseq = 501;
    struct pkt p = tcp(0, ++t, FS_TCP_ACK | FS_TCP_PSH, 11, 100);
    meter_packet(m, &p);
    static const uint32_t a[] = { 20000, 20000, 5000 }; /* response A: 45,000 */
    static const uint32_t b1[] = { 20000, 12768, 200 }; /* B: 32,768 write, realign */
    static const uint32_t b2[] = { 20000, 12768, 20000, 7000 };
    serve(m, &t, &sseq, a, 3);
    uint64_t b_start = t + 1;
    serve(m, &t, &sseq, b1, 3);
    p = tcp(0, ++t, FS_TCP_ACK | FS_TCP_PSH, 111, 120); /* mid-response request */
    meter_packet(m, &p);
    serve(m, &t, &sseq, b2, 4);
    p = tcp(0, ++t, FS_TCP_ACK | FS_TCP_PSH, 231, 110); /* after B: cuts */
    meter_packet(m, &p);
    static const uint32_t c[] = { 1000 };
    serve(m, &t, &sseq, c, 1);
    meter_flush(m);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.f[0].rgoodput, 45000);
    assert_int_equal(b.f[0].rpayload, 45000);
    assert_int_equal(b.f[0].rpackets, 3 + 1); /* the SYN+ACK */
    assert_int_equal(b.f[0].payload, 100);
    assert_int_equal(b.f[1].exchange, 2);
    assert_int_equal(b.f[1].rgoodput, 32768 + 200 + 59768);
    assert_int_equal(b.f[1].rpayload, 32768 + 200 + 59768);
    assert_int_equal(b.f[1].rpackets, 7);
    assert_int_equal(b.f[1].payload, 120);
    assert_int_equal(b.f[1].goodput, 120);
    assert_int_equal(b.f[1].first, b_start / 1000);
    assert_int_equal(b.f[2].exchange, 3);
    assert_int_equal(b.f[2].rgoodput, 1000);
    assert_int_equal(b.f[2].payload, 110);
    meter_free(m);
}

/* A burst (several requests in one client segment) keeps its exchange whole: the
 * requests are all in it, a second sum for its responses as a set. */
static void test_split_burst_stays_whole(void **state)
{
    (void)state;
    struct sinkbuf b;
    uint64_t t = 1000000;
    struct meter *m = split_conn(&b, &t);
    uint32_t sseq = 501;
    struct pkt p = tcp(0, ++t, FS_TCP_ACK | FS_TCP_PSH, 11, 100);
    meter_packet(m, &p);
    static const uint32_t r0[] = { 20000, 3000 };
    serve(m, &t, &sseq, r0, 2);
    p = tcp(0, ++t, FS_TCP_ACK | FS_TCP_PSH, 111, 400); /* four requests */
    meter_packet(m, &p);
    static const uint32_t ab[] = { 20000, 20000, 5000, 20000, 12768, 200, 20000, 7000 };
    serve(m, &t, &sseq, ab, 8);
    meter_flush(m);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.f[1].rgoodput, 45000 + 32768 + 200 + 27000);
    assert_int_equal(b.f[1].payload, 400);
    meter_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_biflow_orientation_and_counts),
        cmocka_unit_test(test_goodput_with_retransmissions_and_wrap),
        cmocka_unit_test(test_midstream_start),
        cmocka_unit_test(test_close_linger_and_port_reuse),
        cmocka_unit_test(test_port_reuse_without_close),
        cmocka_unit_test(test_goodput_hole),
        cmocka_unit_test(test_linger_expiry),
        cmocka_unit_test(test_idle_and_active_timeouts),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_synack_first_sets_initiator),
        cmocka_unit_test(test_split_exchanges),
        cmocka_unit_test(test_split_server_writes),
        cmocka_unit_test(test_split_burst_stays_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
