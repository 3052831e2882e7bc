/* Unit tests of the request FIFO of split HTTP connections (src/meter/requests.c) and
 * of the records meter --split gives each exchange from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meter/meter.h"
#include "meter/requests.h"

#include <string.h>

static struct pkt seg(uint32_t seq, const char *data, uint32_t len, uint32_t captured)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.proto = 6;
    p.seq = seq;
    p.payload = len;
    p.data = (const uint8_t *)data;
    p.datalen = captured;
    return p;
}

#define R1 "GET /debian/pool/a.deb HTTP/1.1\r\nHost: h\r\n\r\n"
#define R2 "GET /debian/pool/bb.deb HTTP/1.1\r\nHost: h\r\n\r\n"
#define R3 "GET /debian/pool/cccc.deb HTTP/1.1\r\nHost: h\r\n\r\n"
#define L1 44u
#define L2 45u
#define L3 47u

/* One request a segment, a burst of three in one segment, one split over two
 * segments with the end marker cut between them. */
static void test_counted(void **state)
{
    (void)state;
    struct reqs r;
    memset(&r, 0, sizeof(r));
    const char *burst = R1 R2 R3;
    uint32_t seq = 1000, n;
    struct pkt p = seg(seq, R1, L1, L1);
    reqs_client(&r, &p);
    seq += L1;
    n = (uint32_t)strlen(burst);
    p = seg(seq, burst, n, n);
    reqs_client(&r, &p);
    seq += n;
    p = seg(seq, R2, L2 - 2, L2 - 2); /* "...\r\n\r" */
    reqs_client(&r, &p);
    seq += L2 - 2;
    p = seg(seq, &R2[L2 - 2], 2, 2);
    reqs_client(&r, &p);
    assert_true(reqs_on(&r));
    assert_int_equal(reqs_take(&r), L1);
    assert_int_equal(reqs_take(&r), L1);
    assert_int_equal(reqs_take(&r), L2);
    assert_int_equal(reqs_take(&r), L3);
    assert_int_equal(reqs_take(&r), L2);
    assert_int_equal(reqs_take(&r), 0);
    assert_int_equal(reqs_rest(&r), 0);
}

/* A retransmitted request is not counted again; a segment overlapping the last one
 * counts only its new bytes. */
static void test_retransmission(void **state)
{
    (void)state;
    struct reqs r;
    memset(&r, 0, sizeof(r));
    struct pkt p = seg(1, R1, L1, L1);
    reqs_client(&r, &p);
    reqs_client(&r, &p);
    const char *two = R1 R2;
    p = seg(1 + 20, two + 20, L1 - 20 + L2, L1 - 20 + L2); /* from byte 20 of R1 on */
    reqs_client(&r, &p);
    assert_int_equal(reqs_take(&r), L1);
    assert_int_equal(reqs_take(&r), L2);
    assert_int_equal(reqs_rest(&r), 0);
}

/* A snapped capture (62 bytes of each segment kept): a segment's requests cannot be
 * counted; a unit ends where a segment visibly starts a request, so a request over
 * two segments is one unit and a burst of three is one unit of their bytes. */
static void test_snapped(void **state)
{
    (void)state;
    struct reqs r;
    memset(&r, 0, sizeof(r));
    const char *burst = R1 R2 R3;
    uint32_t seq = 7, n = (uint32_t)strlen(burst);
    struct pkt p = seg(seq, R1, L1, 10);
    reqs_client(&r, &p);
    seq += L1;
    p = seg(seq, burst, n, 30);
    reqs_client(&r, &p);
    seq += n;
    p = seg(seq, R2, 20, 20);
    reqs_client(&r, &p);
    seq += 20;
    p = seg(seq, &R2[20], L2 - 20, 3); /* the continuation: not a method */
    reqs_client(&r, &p);
    seq += L2 - 20;
    p = seg(seq, R3, L3, 8);
    reqs_client(&r, &p);
    assert_int_equal(reqs_take(&r), L1);
    assert_int_equal(reqs_take(&r), n);
    assert_int_equal(reqs_take(&r), L2); /* ended where R3 visibly began */
    assert_int_equal(reqs_take(&r), 0);  /* R3's unit ends only with the next request */
    assert_int_equal(reqs_rest(&r), L3);
}

/* Not HTTP (TLS): the requests are not followed; a gap ends nothing counted. */
static void test_not_http_and_gap(void **state)
{
    (void)state;
    struct reqs r;
    memset(&r, 0, sizeof(r));
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00";
    struct pkt p = seg(1, tls, 7, 7);
    reqs_client(&r, &p);
    assert_false(reqs_on(&r));
    memset(&r, 0, sizeof(r));
    p = seg(1, R1, L1, L1);
    reqs_client(&r, &p);
    p = seg(1 + L1 + L2, R3, L3, L3); /* R2 lost before the capture */
    reqs_client(&r, &p);
    assert_int_equal(reqs_take(&r), L1);
    assert_int_equal(reqs_take(&r), L3);
    assert_int_equal(reqs_rest(&r), 0);
}

/* More units than the FIFO holds: the bytes are kept, merged into the last. */
static void test_fifo_full(void **state)
{
    (void)state;
    struct reqs r;
    memset(&r, 0, sizeof(r));
    uint32_t seq = 1;
    for (int i = 0; i < REQS_FIFO + 3; i++) {
        struct pkt p = seg(seq, R1, L1, L1);
        reqs_client(&r, &p);
        seq += L1;
    }
    uint64_t sum = 0;
    for (int i = 0; i < REQS_FIFO - 1; i++)
        assert_int_equal(reqs_take(&r), L1);
    sum = reqs_take(&r);
    assert_int_equal(sum, 4 * L1);
    assert_int_equal(reqs_take(&r), 0);
}

#define MAXOUT 16
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

static struct pkt tcp(int from_server, uint64_t ts_us, uint32_t seq, const char *data, uint32_t len)
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
    p.tcpflags = FS_TCP_ACK | (len ? FS_TCP_PSH : 0);
    p.seq = seq;
    p.payload = len;
    p.iplen = len + 40;
    p.ts_us = ts_us;
    p.data = (const uint8_t *)data;
    /* the client's segments whole, the server's first 64 bytes (a snapped capture) */
    p.datalen = !data ? 0 : from_server && len > 64 ? 64 : len;
    return p;
}

/* meter --split on pipelining with the payloads captured: a burst of three requests,
 * three responses back to back whose starts show "HTTP/" (one too short for a
 * realignment). Each response is an exchange, and each record's forward payload and
 * goodput are the bytes of the request it answered; the bytes by time stay in bytes. */
static void test_meter_pipelined(void **state)
{
    (void)state;
    struct sinkbuf b;
    memset(&b, 0, sizeof(b));
    struct meter_opts o;
    meter_opts_default(&o);
    o.split = 1;
    struct meter *m = meter_new(&o, sink, &b);
    static char resp[3][4000];
    const uint32_t rlen[3] = { 3000, 500, 4000 };
    for (int i = 0; i < 3; i++) {
        memset(resp[i], 'x', sizeof(resp[i]));
        memcpy(resp[i], "HTTP/1.1 200 OK\r\n", 17);
    }
    const char *burst = R1 R2 R3;
    uint32_t cs = 100, ss = 9000;
    uint64_t t = 1000000;
    struct pkt p = tcp(0, t++, cs, burst, (uint32_t)strlen(burst));
    meter_packet(m, &p);
    cs += (uint32_t)strlen(burst);
    for (int i = 0; i < 3; i++) {
        p = tcp(1, t++, ss, resp[i], rlen[i]);
        meter_packet(m, &p);
        ss += rlen[i];
        p = tcp(0, t++, cs, NULL, 0); /* an ACK */
        meter_packet(m, &p);
    }
    meter_flush(m);
    meter_free(m);
    assert_int_equal(b.n, 3);
    const uint64_t want[3] = { L1, L2, L3 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(b.f[i].exchange, i + 1);
        assert_int_equal(b.f[i].rgoodput, rlen[i]);
        assert_int_equal(b.f[i].payload, want[i]);
        assert_int_equal(b.f[i].goodput, want[i]);
    }
    /* the burst's packet was in the first exchange's time */
    assert_int_equal(b.f[0].bytes, strlen(burst) + 40 + 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counted),   cmocka_unit_test(test_retransmission),
        cmocka_unit_test(test_snapped),   cmocka_unit_test(test_not_http_and_gap),
        cmocka_unit_test(test_fifo_full), cmocka_unit_test(test_meter_pipelined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
