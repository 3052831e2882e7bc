/*
 * Packet decoder tests: hand-built packets for every link type and header variant,
 * truncation at every length (each copy in a buffer of exactly that size so ASan sees
 * any over-read), and the real captures in ../shared/data/pcap checked against their
 * tshark-derived .flows.tsv byte counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "skip.h"

#include "capture/decode.h"
#include "core/flow.h"

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_DIR "../shared/data/pcap"

/* ---- packet builders (trusted, our own buffers) ---- */

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

static const uint8_t V4SRC[4] = { 10, 0, 0, 1 };
static const uint8_t V4DST[4] = { 192, 168, 7, 9 };
static const uint8_t V6SRC[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t V6DST[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2 };

/* Ethernet header with ntags VLAN tags (tpid[i], vid[i]); returns its length. */
static size_t eth(uint8_t *b, int ntags, const uint16_t *tpid, const uint16_t *vid, uint16_t type)
{
    memset(b, 0x11, 12);
    size_t o = 12;
    for (int i = 0; i < ntags; i++) {
        put16(b + o, tpid[i]);
        put16(b + o + 2, (uint16_t)(0xa000 | vid[i])); /* PCP bits must be masked off */
        o += 4;
    }
    put16(b + o, type);
    return o + 2;
}

/* IPv4 header with optwords 4-byte option words; returns its length. */
static size_t ip4(uint8_t *b, uint8_t proto, uint16_t totlen, uint16_t frag, int optwords)
{
    size_t hl = 20 + 4 * (size_t)optwords;
    memset(b, 0, hl);
    b[0] = (uint8_t)(0x40 | (hl / 4));
    b[1] = 0xb8; /* DSCP EF */
    put16(b + 2, totlen);
    put16(b + 4, 0x1234);
    put16(b + 6, frag);
    b[8] = 64;
    b[9] = proto;
    memcpy(b + 12, V4SRC, 4);
    memcpy(b + 16, V4DST, 4);
    for (size_t i = 20; i < hl; i++)
        b[i] = 1; /* NOP options */
    return hl;
}

static size_t ip6(uint8_t *b, uint16_t plen, uint8_t nh)
{
    put32(b, 0x6a312345); /* traffic class 0xa3 */
    put16(b + 4, plen);
    b[6] = nh;
    b[7] = 64;
    memcpy(b + 8, V6SRC, 16);
    memcpy(b + 24, V6DST, 16);
    return 40;
}

static size_t tcp(uint8_t *b, uint16_t sp, uint16_t dp, uint32_t seq, uint8_t flags, int doff)
{
    size_t hl = doff >= 5 ? 4 * (size_t)doff : 20;
    memset(b, 0, hl);
    put16(b, sp);
    put16(b + 2, dp);
    put32(b + 4, seq);
    b[12] = (uint8_t)(doff << 4);
    b[13] = flags;
    return hl;
}

static size_t udp(uint8_t *b, uint16_t sp, uint16_t dp, uint16_t len)
{
    put16(b, sp);
    put16(b + 2, dp);
    put16(b + 4, len);
    put16(b + 6, 0);
    return 8;
}

/* Generic extension header of 8 * (1 + hlen) bytes. */
static size_t ext6(uint8_t *b, uint8_t nh, uint8_t hlen)
{
    memset(b, 0, 8 * (size_t)(hlen + 1));
    b[0] = nh;
    b[1] = hlen;
    return 8 * (size_t)(hlen + 1);
}

static size_t frag6(uint8_t *b, uint8_t nh, uint16_t off8, int more)
{
    memset(b, 0, 8);
    b[0] = nh;
    put16(b + 2, (uint16_t)((off8 << 3) | (more ? 1 : 0)));
    put32(b + 4, 0xdeadbeef);
    return 8;
}

/* Ethernet + IPv4 + TCP with plen payload bytes; returns the frame length. */
static size_t eth_v4_tcp(uint8_t *b, uint16_t plen)
{
    size_t o = eth(b, 0, NULL, NULL, 0x0800);
    o += ip4(b + o, 6, (uint16_t)(20 + 20 + plen), 0x4000, 0);
    o += tcp(b + o, 40000, 443, 0x01020304, FS_TCP_PSH | FS_TCP_ACK, 5);
    memset(b + o, 'x', plen);
    return o + plen;
}

/* Decode from a heap copy of exactly len bytes so ASan catches any read past it. */
static enum decode_result dec(int dlt, const uint8_t *b, size_t len, uint32_t wire, struct pkt *p)
{
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len)
        memcpy(c, b, len);
    memset(p, 0xa5, sizeof(*p)); /* the decoder must set what it promises */
    enum decode_result r = decode_packet(dlt, c, (uint32_t)len, wire, p);
    free(c);
    return r;
}

static void assert_v4_addrs(const struct pkt *p)
{
    uint8_t a[16];
    flow_addr_from_v4(a, V4SRC);
    assert_memory_equal(p->src, a, 16);
    flow_addr_from_v4(a, V4DST);
    assert_memory_equal(p->dst, a, 16);
}

/* ---- names and link table ---- */

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < DEC_NRESULTS; i++) {
        const char *n = decode_result_name((enum decode_result)i);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, decode_result_name((enum decode_result)j));
    }
    assert_string_equal(decode_result_name(DEC_NRESULTS), "unknown");
    assert_string_equal(decode_result_name((enum decode_result) - 1), "unknown");
}

static void test_linktypes(void **state)
{
    (void)state;
    const int yes[] = { 0, 1, 12, 101, 108, 113, 228, 229, 276 };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_int_equal(decode_linktype_supported(yes[i]), 1);
    const int no[] = { -1, 2, 9, 105, 127, 147, 192, 1000 };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_int_equal(decode_linktype_supported(no[i]), 0);
    uint8_t b[64] = { 0 };
    struct pkt p;
    assert_int_equal(decode_packet(127, b, sizeof(b), sizeof(b), &p), DEC_LINKTYPE);
}

/* ---- Ethernet, VLAN ---- */

static void test_eth_ipv4_tcp(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = eth_v4_tcp(b, 100);
    struct pkt p;
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.ipver, 4);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.iplen, 140);
    assert_int_equal(p.payload, 100);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 443);
    assert_int_equal(p.seq, 0x01020304);
    assert_int_equal(p.tcpflags, FS_TCP_PSH | FS_TCP_ACK);
    assert_int_equal(p.tos, 0xb8);
    assert_int_equal(p.vlan, 0);
    assert_int_equal(p.has_ports, 1);
    assert_int_equal(p.is_frag, 0);
    assert_v4_addrs(&p);
}

static void test_eth_padding_and_snap(void **state)
{
    (void)state;
    /* A 60-byte padded frame: the IP total length, not the frame, is counted. */
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 0);
    memset(b + n, 0, 60 - n);
    struct pkt p;
    assert_int_equal(dec(1, b, 60, 60, &p), DEC_OK);
    assert_int_equal(p.iplen, 40);
    assert_int_equal(p.payload, 0);
    /* Snapped capture: lengths still from the header. */
    uint8_t big[1600];
    n = eth_v4_tcp(big, 1400);
    assert_int_equal(dec(1, big, 68, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.iplen, 1440);
    assert_int_equal(p.payload, 1400);
}

static void check_vlan(int ntags, const uint16_t *tpid, const uint16_t *vid, uint16_t expect)
{
    uint8_t b[256];
    size_t o = eth(b, ntags, tpid, vid, 0x0800);
    o += ip4(b + o, 17, 20 + 8 + 4, 0, 0);
    o += udp(b + o, 53, 5353, 12);
    memset(b + o, 0, 4);
    o += 4;
    struct pkt p;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.vlan, expect);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 53);
    assert_int_equal(p.dport, 5353);
    assert_int_equal(p.payload, 4);
    assert_int_equal(p.iplen, 32);
}

static void test_vlan(void **state)
{
    (void)state;
    const uint16_t q[] = { 0x8100 }, v1[] = { 100 };
    check_vlan(1, q, v1, 100);
    const uint16_t ad[] = { 0x88a8, 0x8100 }, v2[] = { 200, 300 };
    check_vlan(2, ad, v2, 200);
    const uint16_t old[] = { 0x9100, 0x8100 }, v3[] = { 4095, 7 };
    check_vlan(2, old, v3, 4095);
    const uint16_t four[] = { 0x88a8, 0x8100, 0x8100, 0x8100 }, v4[] = { 1, 2, 3, 4 };
    check_vlan(4, four, v4, 1);
}

static void test_vlan_limits(void **state)
{
    (void)state;
    uint8_t b[256];
    const uint16_t five[] = { 0x8100, 0x8100, 0x8100, 0x8100, 0x8100 }, v[] = { 1, 2, 3, 4, 5 };
    size_t o = eth(b, 5, five, v, 0x0800);
    o += ip4(b + o, 17, 28, 0, 0);
    o += udp(b + o, 1, 2, 8);
    struct pkt p;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_NOT_IP);
    /* VLAN-tagged IPv6 */
    o = eth(b, 1, five, v, 0x86dd);
    o += ip6(b + o, 8, 17);
    o += udp(b + o, 1, 2, 8);
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.vlan, 1);
    assert_int_equal(p.ipver, 6);
    /* tag cut by the capture */
    assert_int_equal(dec(1, b, 16, 100, &p), DEC_TRUNC_LINK);
}

static void test_not_ip(void **state)
{
    (void)state;
    uint8_t b[64] = { 0 };
    struct pkt p;
    eth(b, 0, NULL, NULL, 0x0806); /* ARP */
    assert_int_equal(dec(1, b, 42, 42, &p), DEC_NOT_IP);
    eth(b, 0, NULL, NULL, 0x88cc); /* LLDP */
    assert_int_equal(dec(1, b, 60, 60, &p), DEC_NOT_IP);
    eth(b, 0, NULL, NULL, 46); /* 802.3 length field */
    assert_int_equal(dec(1, b, 60, 60, &p), DEC_NOT_IP);
    assert_int_equal(dec(1, b, 13, 60, &p), DEC_TRUNC_LINK);
    /* IPv4 EtherType with an IPv6 header */
    size_t o = eth(b, 0, NULL, NULL, 0x0800);
    ip6(b + o, 0, 59);
    assert_int_equal(dec(1, b, o + 40, 100, &p), DEC_BAD_IP);
}

/* ---- other link types ---- */

/* An IPv4/UDP packet (32 bytes) at b; returns its length. */
static size_t v4_udp(uint8_t *b)
{
    size_t o = ip4(b, 17, 32, 0, 0);
    o += udp(b + o, 1111, 2222, 12);
    memset(b + o, 'u', 4);
    return o + 4;
}

/* An IPv6/TCP SYN (60 bytes) at b; returns its length. */
static size_t v6_tcp(uint8_t *b)
{
    size_t o = ip6(b, 20, 6);
    return o + tcp(b + o, 50000, 80, 7, FS_TCP_SYN, 5);
}

static void check_v4_udp(const struct pkt *p)
{
    assert_int_equal(p->ipver, 4);
    assert_int_equal(p->proto, 17);
    assert_int_equal(p->iplen, 32);
    assert_int_equal(p->payload, 4);
    assert_int_equal(p->sport, 1111);
    assert_int_equal(p->dport, 2222);
    assert_v4_addrs(p);
}

static void check_v6_tcp(const struct pkt *p)
{
    assert_int_equal(p->ipver, 6);
    assert_int_equal(p->proto, 6);
    assert_int_equal(p->iplen, 60);
    assert_int_equal(p->payload, 0);
    assert_int_equal(p->sport, 50000);
    assert_int_equal(p->dport, 80);
    assert_int_equal(p->tcpflags, FS_TCP_SYN);
    assert_int_equal(p->tos, 0xa3);
    assert_memory_equal(p->src, V6SRC, 16);
    assert_memory_equal(p->dst, V6DST, 16);
}

/* Run a link header of hl bytes (already in b) in front of both test packets. */
static void check_link(int dlt, uint8_t *b, size_t hl, void (*set_type)(uint8_t *, int v6))
{
    struct pkt p;
    set_type(b, 0);
    size_t n = hl + v4_udp(b + hl);
    assert_int_equal(dec(dlt, b, n, (uint32_t)n, &p), DEC_OK);
    check_v4_udp(&p);
    assert_int_equal(dec(dlt, b, hl - 1, (uint32_t)n, &p), DEC_TRUNC_LINK);
    set_type(b, 1);
    n = hl + v6_tcp(b + hl);
    assert_int_equal(dec(dlt, b, n, (uint32_t)n, &p), DEC_OK);
    check_v6_tcp(&p);
}

static void sll_type(uint8_t *b, int v6)
{
    put16(b, 0); /* to us */
    put16(b + 2, 1);
    put16(b + 4, 6);
    memset(b + 6, 0x22, 8);
    put16(b + 14, v6 ? 0x86dd : 0x0800);
}

static void sll2_type(uint8_t *b, int v6)
{
    put16(b, v6 ? 0x86dd : 0x0800);
    put16(b + 2, 0);
    put32(b + 4, 3); /* ifindex */
    put16(b + 8, 1);
    b[10] = 4; /* outgoing */
    b[11] = 6;
    memset(b + 12, 0x33, 8);
}

static void null_le(uint8_t *b, int v6)
{
    uint32_t af = v6 ? 30 : 2;
    b[0] = (uint8_t)af;
    b[1] = b[2] = b[3] = 0;
}

static void null_be(uint8_t *b, int v6)
{
    put32(b, v6 ? 24 : 2);
}

static void loop_af(uint8_t *b, int v6)
{
    put32(b, v6 ? 28 : 2);
}

static void test_links(void **state)
{
    (void)state;
    uint8_t b[256];
    check_link(FS_DLT_LINUX_SLL, b, 16, sll_type);
    check_link(FS_DLT_LINUX_SLL2, b, 20, sll2_type);
    check_link(FS_DLT_NULL, b, 4, null_le);
    check_link(FS_DLT_NULL, b, 4, null_be);
    check_link(FS_DLT_LOOP, b, 4, loop_af);

    const int raw[] = { FS_DLT_RAW, FS_DLT_RAW_LT, FS_DLT_IPV4, FS_DLT_IPV6 };
    struct pkt p;
    for (size_t i = 0; i < 4; i++) {
        size_t n = v4_udp(b);
        assert_int_equal(dec(raw[i], b, n, (uint32_t)n, &p), DEC_OK);
        check_v4_udp(&p);
        n = v6_tcp(b);
        assert_int_equal(dec(raw[i], b, n, (uint32_t)n, &p), DEC_OK);
        check_v6_tcp(&p);
        assert_int_equal(dec(raw[i], b, 0, 0, &p), DEC_TRUNC_IP);
        b[0] = 0x55;
        assert_int_equal(dec(raw[i], b, n, (uint32_t)n, &p), DEC_BAD_IP);
    }
}

static void test_link_not_ip(void **state)
{
    (void)state;
    uint8_t b[64] = { 0 };
    struct pkt p;
    put32(b, 7); /* AF_LOCAL-ish on LOOP */
    assert_int_equal(dec(FS_DLT_LOOP, b, 48, 48, &p), DEC_NOT_IP);
    b[0] = 23;
    b[1] = b[2] = b[3] = 0; /* AF 23 (LE) on NULL */
    assert_int_equal(dec(FS_DLT_NULL, b, 48, 48, &p), DEC_NOT_IP);
    put32(b, 2); /* LOOP v4, too short for IP */
    b[4] = 0x45;
    assert_int_equal(dec(FS_DLT_LOOP, b, 10, 48, &p), DEC_TRUNC_IP);
    sll_type(b, 0);
    put16(b + 14, 0x0806);
    assert_int_equal(dec(FS_DLT_LINUX_SLL, b, 44, 44, &p), DEC_NOT_IP);
    sll2_type(b, 0);
    put16(b, 0x0004);
    assert_int_equal(dec(FS_DLT_LINUX_SLL2, b, 44, 44, &p), DEC_NOT_IP);
}

/* ---- IPv4 ---- */

static void test_ipv4_options(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt p;
    for (int w = 0; w <= 10; w++) {
        size_t o = eth(b, 0, NULL, NULL, 0x0800);
        size_t hl = ip4(b + o, 6, (uint16_t)(4 * (5 + w) + 32 + 10), 0, w);
        o += hl;
        o += tcp(b + o, 1, 2, 3, FS_TCP_SYN, 8); /* 12 bytes of TCP options */
        memset(b + o, 0, 10);
        o += 10;
        assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
        assert_int_equal(p.iplen, hl + 42);
        assert_int_equal(p.payload, 10);
        assert_int_equal(p.sport, 1);
        /* options cut by the capture */
        if (w > 0)
            assert_int_equal(dec(1, b, 14 + hl - 1, (uint32_t)o, &p), DEC_TRUNC_IP);
    }
}

static void test_ipv4_bad(void **state)
{
    (void)state;
    uint8_t b[128];
    struct pkt p;
    size_t n = eth_v4_tcp(b, 10);
    for (int ihl = 0; ihl < 5; ihl++) {
        b[14] = (uint8_t)(0x40 | ihl);
        assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_BAD_IP);
    }
    b[14] = 0x45;
    for (int v = 0; v < 16; v++) {
        if (v == 4)
            continue;
        b[14] = (uint8_t)(v << 4 | 5);
        assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_BAD_IP);
    }
    b[14] = 0x45;
    put16(b + 16, 19); /* total length below the header */
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_BAD_IP);
    b[14] = 0x46;
    put16(b + 16, 23);
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_BAD_IP);
}

static void test_ipv4_fragments(void **state)
{
    (void)state;
    uint8_t b[2048];
    struct pkt p;
    /* First fragment of a 3000-byte UDP datagram: MF, offset 0, transport decoded. */
    size_t o = eth(b, 0, NULL, NULL, 0x0800);
    o += ip4(b + o, 17, 1500, 0x2000, 0);
    o += udp(b + o, 5000, 6000, 3008);
    memset(b + o, 0, 1472);
    o += 1472;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.is_frag, 0);
    assert_int_equal(p.has_ports, 1);
    assert_int_equal(p.sport, 5000);
    assert_int_equal(p.payload, 1472);
    assert_int_equal(p.iplen, 1500);
    /* Middle (MF, offset 185) and last (offset 370) fragments: no ports. */
    const uint16_t frag[] = { 0x2000 | 185, 370 };
    for (int i = 0; i < 2; i++) {
        o = eth(b, 0, NULL, NULL, 0x0800);
        o += ip4(b + o, 17, 576, frag[i], 0);
        memset(b + o, 0xff, 556); /* looks like a UDP header, must be ignored */
        o += 556;
        assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
        assert_int_equal(p.is_frag, 1);
        assert_int_equal(p.has_ports, 0);
        assert_int_equal(p.sport, 0);
        assert_int_equal(p.dport, 0);
        assert_int_equal(p.proto, 17);
        assert_int_equal(p.payload, 556);
        assert_int_equal(p.iplen, 576);
        assert_v4_addrs(&p);
        /* a non-first fragment needs no transport bytes at all */
        assert_int_equal(dec(1, b, 34, (uint32_t)o, &p), DEC_OK);
        assert_int_equal(p.payload, 556);
    }
}

static void test_ipv4_tso(void **state)
{
    (void)state;
    uint8_t b[9100];
    size_t n = eth_v4_tcp(b, 9000);
    put16(b + 16, 0); /* TSO: total length 0 */
    struct pkt p;
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.iplen, 9040);
    assert_int_equal(p.payload, 9000);
    /* snapped TSO capture: the wire length is the truth */
    assert_int_equal(dec(1, b, 128, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.iplen, 9040);
    /* caller gives a wire length below the capture: trust what was captured */
    assert_int_equal(dec(1, b, n, 10, &p), DEC_OK);
    assert_int_equal(p.iplen, 9040);
}

/* ---- transports ---- */

static void test_tcp(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt p;
    size_t n = eth_v4_tcp(b, 20);
    for (int doff = 0; doff < 5; doff++) {
        b[34 + 12] = (uint8_t)(doff << 4);
        assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_BAD_L4);
        assert_int_equal(p.ipver, 4);
        assert_int_equal(p.iplen, 60);
        assert_int_equal(p.has_ports, 0);
    }
    /* data offset beyond the IP length: payload clamped, not an error */
    b[34 + 12] = 15 << 4;
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.payload, 0);
    b[34 + 12] = 8 << 4; /* 32 bytes of header, 40 of segment */
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.payload, 8);
    b[34 + 13] = 0xff;
    assert_int_equal(dec(1, b, n, (uint32_t)n, &p), DEC_OK);
    assert_int_equal(p.tcpflags, 0xff);
}

static void test_udp_sctp_other(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt p;
    /* SCTP: ports, 12-byte common header */
    size_t o = eth(b, 0, NULL, NULL, 0x0800);
    o += ip4(b + o, 132, 20 + 12 + 100, 0, 0);
    put16(b + o, 2905);
    put16(b + o + 2, 36412);
    memset(b + o + 4, 0, 108);
    o += 112;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.sport, 2905);
    assert_int_equal(p.dport, 36412);
    assert_int_equal(p.payload, 100);
    assert_int_equal(p.has_ports, 1);
    /* GRE: no ports, everything after IP is payload */
    o = eth(b, 0, NULL, NULL, 0x0800);
    o += ip4(b + o, 47, 20 + 4 + 40, 0, 0);
    put16(b + o, 0);
    put16(b + o + 2, 0x0800);
    memset(b + o + 4, 0x45, 40);
    o += 44;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.proto, 47);
    assert_int_equal(p.has_ports, 0);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.dport, 0);
    assert_int_equal(p.payload, 44);
    /* UDP: only the ports must be captured; length shorter than its header clamps */
    o = eth(b, 0, NULL, NULL, 0x0800);
    o += ip4(b + o, 17, 20 + 8 + 30, 0, 0);
    o += udp(b + o, 123, 123, 38);
    assert_int_equal(dec(1, b, 14 + 20 + 4, 100, &p), DEC_OK);
    assert_int_equal(p.sport, 123);
    assert_int_equal(p.payload, 30);
    assert_int_equal(dec(1, b, 14 + 20 + 3, 100, &p), DEC_TRUNC_L4);
    put16(b + 16, 20 + 6);
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.payload, 0);
}

static void test_icmp(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt p;
    /* ICMP echo request, 56 data bytes: type 8 code 0 -> dport 0x0800 */
    size_t o = eth(b, 0, NULL, NULL, 0x0800);
    o += ip4(b + o, 1, 20 + 8 + 56, 0, 0);
    b[o] = 8;
    b[o + 1] = 0;
    memset(b + o + 2, 0, 62);
    o += 64;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.proto, 1);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.dport, 8 * 256 + 0);
    assert_int_equal(p.has_ports, 0);
    assert_int_equal(p.payload, 56);
    /* port unreachable: type 3 code 3 */
    b[34] = 3;
    b[35] = 3;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.dport, 0x0303);
    assert_int_equal(dec(1, b, 35, (uint32_t)o, &p), DEC_TRUNC_L4);
    /* fewer than 8 ICMP bytes: no payload */
    put16(b + 16, 20 + 4);
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.payload, 0);
    /* ICMPv6 neighbour solicitation: type 135 */
    o = eth(b, 0, NULL, NULL, 0x86dd);
    o += ip6(b + o, 32, 58);
    b[o] = 135;
    b[o + 1] = 0;
    memset(b + o + 2, 0, 30);
    o += 32;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.proto, 58);
    assert_int_equal(p.dport, 135 * 256);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.payload, 24);
}

/* ---- IPv6 ---- */

static void test_ipv6_ext_chain(void **state)
{
    (void)state;
    uint8_t b[512];
    struct pkt p;
    /* hop-by-hop(8) -> routing(24) -> dstopts(8) -> AH(24) -> mobility(8) -> UDP */
    size_t o = eth(b, 0, NULL, NULL, 0x86dd);
    size_t ip = o;
    o += ip6(b + o, 0, 0);
    o += ext6(b + o, 43, 0);
    o += ext6(b + o, 60, 2);
    o += ext6(b + o, 51, 0);
    memset(b + o, 0, 24);
    b[o] = 135;
    b[o + 1] = 4; /* AH: (4 + 2) * 4 = 24 bytes */
    o += 24;
    o += ext6(b + o, 17, 0);
    o += udp(b + o, 546, 547, 8 + 20);
    memset(b + o, 0, 20);
    o += 20;
    put16(b + ip + 4, (uint16_t)(o - ip - 40));
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 546);
    assert_int_equal(p.dport, 547);
    assert_int_equal(p.iplen, o - ip);
    assert_int_equal(p.payload, 20);
    /* the chain cut inside the AH header: transport unknown */
    assert_int_equal(dec(1, b, ip + 40 + 8 + 24 + 4, (uint32_t)o, &p), DEC_TRUNC_L4);
    assert_int_equal(p.ipver, 6);
    assert_int_equal(p.has_ports, 0);
    /* an extension header longer than the payload length */
    put16(b + ip + 4, 8 + 16);
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_BAD_IP);
}

static void test_ipv6_stop(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt p;
    const uint8_t stop[] = { 50, 59, 47 };
    for (int i = 0; i < 3; i++) {
        size_t o = eth(b, 0, NULL, NULL, 0x86dd);
        o += ip6(b + o, 8 + 60, 60);
        o += ext6(b + o, stop[i], 0);
        memset(b + o, 0xee, 60);
        o += 60;
        assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
        assert_int_equal(p.proto, stop[i]);
        assert_int_equal(p.has_ports, 0);
        assert_int_equal(p.sport, 0);
        assert_int_equal(p.payload, 60);
    }
    /* more extension headers than the walk limit: counted without ports */
    size_t o = eth(b, 0, NULL, NULL, 0x86dd);
    o += ip6(b + o, 10 * 8 + 8, 60);
    for (int i = 0; i < 10; i++)
        o += ext6(b + o, i < 9 ? 60 : 17, 0);
    o += udp(b + o, 1, 2, 8);
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.proto, 60);
    assert_int_equal(p.has_ports, 0);
}

static void test_ipv6_fragments(void **state)
{
    (void)state;
    uint8_t b[2048];
    struct pkt p;
    /* first fragment: hop-by-hop, fragment(offset 0, M), UDP decoded */
    size_t o = eth(b, 0, NULL, NULL, 0x86dd);
    o += ip6(b + o, 8 + 8 + 8 + 1000, 0);
    o += ext6(b + o, 44, 0);
    o += frag6(b + o, 17, 0, 1);
    o += udp(b + o, 53, 33333, 3000);
    memset(b + o, 0, 1000);
    o += 1000;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.is_frag, 0);
    assert_int_equal(p.has_ports, 1);
    assert_int_equal(p.sport, 53);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.payload, 1000);
    assert_int_equal(p.iplen, 1064);
    /* later fragment: offset 1016 bytes (127 units) */
    o = eth(b, 0, NULL, NULL, 0x86dd);
    o += ip6(b + o, 8 + 500, 44);
    o += frag6(b + o, 17, 127, 0);
    memset(b + o, 0xff, 500);
    o += 500;
    assert_int_equal(dec(1, b, o, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(p.is_frag, 1);
    assert_int_equal(p.has_ports, 0);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.payload, 500);
    assert_int_equal(p.iplen, 548);
    assert_int_equal(dec(1, b, 14 + 40 + 8, (uint32_t)o, &p), DEC_OK);
    assert_int_equal(dec(1, b, 14 + 40 + 7, (uint32_t)o, &p), DEC_TRUNC_L4);
}

static void test_ipv6_jumbo(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt p;
    size_t o = eth(b, 0, NULL, NULL, 0x86dd);
    o += ip6(b + o, 0, 0);
    o += ext6(b + o, 6, 0); /* the jumbo option itself is not parsed */
    o += tcp(b + o, 1, 2, 3, FS_TCP_ACK, 5);
    /* capture snapped at o bytes, 100000 on the wire */
    assert_int_equal(dec(1, b, o, 100000, &p), DEC_OK);
    assert_int_equal(p.iplen, 100000 - 14);
    assert_int_equal(p.payload, 100000 - 14 - 40 - 8 - 20);
    /* payload length 0 without hop-by-hop is an empty packet: ext header past it */
    b[14 + 6] = 60;
    assert_int_equal(dec(1, b, o, 100000, &p), DEC_BAD_IP);
    b[14 + 6] = 59;
    assert_int_equal(dec(1, b, o, 100000, &p), DEC_OK);
    assert_int_equal(p.iplen, 40);
    assert_int_equal(p.payload, 0);
}

/* ---- truncation at every length ---- */

/* Decode every prefix of the frame; the result must follow the layer boundaries. */
static void check_prefixes(int dlt, const uint8_t *b, size_t n, size_t link, size_t ip, size_t l4)
{
    struct pkt p;
    for (size_t len = 0; len <= n; len++) {
        enum decode_result r = dec(dlt, b, len, (uint32_t)n, &p);
        enum decode_result want = len < link    ? DEC_TRUNC_LINK
                                  : len == link ? DEC_TRUNC_IP
                                  : len < ip    ? DEC_TRUNC_IP
                                  : len < l4    ? DEC_TRUNC_L4
                                                : DEC_OK;
        if (r != want)
            fail_msg("dlt %d len %zu: got %s want %s", dlt, len, decode_result_name(r),
                     decode_result_name(want));
        if (r == DEC_OK || r == DEC_TRUNC_L4)
            assert_true(p.ipver == 4 || p.ipver == 6);
    }
}

static void test_truncation(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = eth_v4_tcp(b, 60);
    check_prefixes(1, b, n, 14, 34, 48);
    /* VLAN + IPv4 options + UDP: ports need 4 bytes */
    const uint16_t t[] = { 0x8100 }, v[] = { 10 };
    size_t o = eth(b, 1, t, v, 0x0800);
    o += ip4(b + o, 17, 24 + 8 + 20, 0, 1);
    o += udp(b + o, 9, 9, 28);
    memset(b + o, 0, 20);
    o += 20;
    check_prefixes(1, b, o, 18, 42, 46);
    /* SLL2 + IPv6 + hop-by-hop + TCP */
    sll2_type(b, 1);
    o = 20 + ip6(b + 20, 8 + 20 + 30, 0);
    o += ext6(b + o, 6, 0);
    o += tcp(b + o, 1, 2, 3, FS_TCP_ACK, 5);
    memset(b + o, 0, 30);
    o += 30;
    check_prefixes(FS_DLT_LINUX_SLL2, b, o, 20, 60, 82);
    /* NULL + IPv6 ICMPv6 */
    null_le(b, 1);
    o = 4 + ip6(b + 4, 16, 58);
    memset(b + o, 0, 16);
    b[o] = 128;
    o += 16;
    check_prefixes(FS_DLT_NULL, b, o, 4, 44, 46);
    /* raw IPv4 UDP: no link header, so 0 bytes is a truncated IP header */
    o = v4_udp(b);
    check_prefixes(FS_DLT_RAW, b, o, 0, 20, 24);
}

/* ---- real captures ---- */

/* Sum of column 7 (ip_bytes) of a .flows.tsv; -1 when the file is missing. */
static long long tsv_ip_bytes(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    long long sum = 0;
    int header = 1;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        if (header) {
            header = 0;
            continue;
        }
        char *s = line;
        for (int col = 1; col < 7 && s; col++) {
            s = strchr(s, '\t');
            if (s)
                s++;
        }
        if (s)
            sum += strtoll(s, NULL, 10);
    }
    fclose(f);
    return sum;
}

/* Decode every packet of one capture; returns the IP byte sum, counts results. */
static long long decode_file(const char *path, unsigned long *counts)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc)
        fail_msg("%s: %s", path, errbuf);
    int dlt = pcap_datalink(pc);
    assert_int_equal(decode_linktype_supported(dlt), 1);
    struct pcap_pkthdr *h;
    const u_char *data;
    long long sum = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        struct pkt p;
        enum decode_result r = dec(dlt, data, h->caplen, h->len, &p);
        counts[r]++;
        if (r != DEC_OK && r != DEC_NOT_IP && r != DEC_TRUNC_L4)
            fail_msg("%s: unexpected %s", path, decode_result_name(r));
        if (r == DEC_OK) {
            assert_true(p.payload <= p.iplen);
            assert_true(!p.is_frag || !p.has_ports);
        }
        if (r == DEC_OK || r == DEC_TRUNC_L4)
            sum += p.iplen;
    }
    pcap_close(pc);
    return sum;
}

static void test_real_captures(void **state)
{
    (void)state;
    DIR *d = opendir(PCAP_DIR);
    if (!d) {
        FS_SKIP("no captures folder " PCAP_DIR);
        return; /* FS_SKIP does not return; this tells the analyzer */
    }
    struct dirent *e;
    int files = 0, ssh = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".pcap") != 0)
            continue;
        char path[1024], tsv[1100];
        snprintf(path, sizeof(path), "%s/%s", PCAP_DIR, e->d_name);
        snprintf(tsv, sizeof(tsv), "%s.flows.tsv", path);
        unsigned long counts[DEC_NRESULTS] = { 0 };
        long long got = decode_file(path, counts);
        long long want = tsv_ip_bytes(tsv);
        files++;
        if (strcmp(e->d_name, "tcp_ssh_retransmissions.pcap") == 0) {
            ssh = 1;
            assert_true(want > 0);
            assert_int_equal(got, want);
            assert_int_equal(counts[DEC_OK], 377);
        } else if (want >= 0 && got != want) {
            fail_msg("%s: iplen sum %lld, tsv says %lld", e->d_name, got, want);
        }
    }
    closedir(d);
    assert_true(files > 0);
    assert_int_equal(ssh, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),          cmocka_unit_test(test_linktypes),
        cmocka_unit_test(test_eth_ipv4_tcp),   cmocka_unit_test(test_eth_padding_and_snap),
        cmocka_unit_test(test_vlan),           cmocka_unit_test(test_vlan_limits),
        cmocka_unit_test(test_not_ip),         cmocka_unit_test(test_links),
        cmocka_unit_test(test_link_not_ip),    cmocka_unit_test(test_ipv4_options),
        cmocka_unit_test(test_ipv4_bad),       cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_ipv4_tso),       cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_udp_sctp_other), cmocka_unit_test(test_icmp),
        cmocka_unit_test(test_ipv6_ext_chain), cmocka_unit_test(test_ipv6_stop),
        cmocka_unit_test(test_ipv6_fragments), cmocka_unit_test(test_ipv6_jumbo),
        cmocka_unit_test(test_truncation),     cmocka_unit_test(test_real_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
