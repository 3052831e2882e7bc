/* DNS responses (src/meter/dns.h) from hand-built messages: answers with compression,
 * CNAME chains, AAAA, classes and types left out, and hostile ones: pointer loops,
 * pointers past the end, truncation at every byte, labels over 63 bytes, names over 255
 * bytes, bad rdata lengths; and the passive DNS table over UDP and TCP segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meter/dns.h"
#include "meter/dns_table.h"

struct msg {
    uint8_t b[2048];
    size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void u16(struct msg *m, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(m, b, 2);
}

/* "www.example.com" in wire form. */
static void name(struct msg *m, const char *s)
{
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        uint8_t len = (uint8_t)n;
        put(m, &len, 1);
        put(m, s, n);
        s += n + (dot ? 1 : 0);
    }
    put(m, "", 1);
}

static void header(struct msg *m, uint16_t flags, uint16_t qd, uint16_t an)
{
    m->n = 0;
    u16(m, 0x1234);
    u16(m, flags);
    u16(m, qd);
    u16(m, an);
    u16(m, 0);
    u16(m, 0);
}

/* An RR header after its owner name. */
static void rr(struct msg *m, uint16_t type, uint16_t cls, uint16_t rdlen)
{
    u16(m, type);
    u16(m, cls);
    u16(m, 0);
    u16(m, 300);
    u16(m, rdlen);
}

struct got {
    char text[16][300];
    int n;
};

static void collect(void *ctx, const struct dns_answer *a)
{
    struct got *g = ctx;
    char addr[64] = "";
    if (a->rrtype == DNS_TYPE_A)
        snprintf(addr, sizeof(addr), "%u.%u.%u.%u", a->addr[12], a->addr[13], a->addr[14],
                 a->addr[15]);
    else if (a->rrtype == DNS_TYPE_AAAA)
        snprintf(addr, sizeof(addr), "%02x%02x..%02x", a->addr[0], a->addr[1], a->addr[15]);
    assert_true(g->n < 16);
    snprintf(g->text[g->n++], sizeof(g->text[0]), "%s %u %s", a->rrname, a->rrtype,
             a->cname ? a->cname : addr);
}

/* www.example.com: CNAME web.net.example.com (compressed), its A and AAAA; a TXT
 * and a CH-class A left out. */
static void build_chain(struct msg *m)
{
    header(m, 0x8180, 1, 5);
    name(m, "WWW.Example.com"); /* offset 12 */
    u16(m, 1);
    u16(m, 1);
    u16(m, 0xc00c); /* owner: pointer to the question */
    rr(m, DNS_TYPE_CNAME, 1, 10);
    size_t target = m->n; /* web.net + a pointer to the question's example.com */
    put(m, "\3web", 4);
    put(m, "\3net", 4);
    u16(m, 0xc010);
    u16(m, (uint16_t)(0xc000 | target)); /* owner: the CNAME target */
    rr(m, DNS_TYPE_A, 1, 4);
    put(m, "\xc0\x00\x02\x01", 4);
    u16(m, (uint16_t)(0xc000 | target));
    rr(m, DNS_TYPE_AAAA, 1, 16);
    put(m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    u16(m, 0xc00c);
    rr(m, 16, 1, 3); /* TXT */
    put(m, "\2hi", 3);
    u16(m, 0xc00c);
    rr(m, DNS_TYPE_A, 3, 4); /* class CH */
    put(m, "\1\2\3\4", 4);
}

static void test_chain(void **state)
{
    (void)state;
    struct msg m;
    build_chain(&m);
    struct got g = { 0 };
    assert_int_equal(dns_parse(m.b, m.n, collect, &g, NULL), DNS_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "www.example.com 5 web.net.example.com");
    assert_string_equal(g.text[1], "web.net.example.com 1 192.0.2.1");
    assert_string_equal(g.text[2], "web.net.example.com 28 2001..01");
    /* Cut at every byte: truncated (or a bad rdata for a cut CNAME), never an answer. */
    for (size_t n = 0; n < m.n; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, m.b, n);
        struct got none = { 0 };
        size_t where = 99999;
        enum dns_result r = dns_parse(cut, n, collect, &none, &where);
        assert_true(r == DNS_TRUNC || r == DNS_RDATA || r == DNS_PTR_RANGE);
        assert_int_equal(none.n, 0);
        assert_true(where <= n);
        free(cut);
    }
}

static void test_not_response(void **state)
{
    (void)state;
    struct msg m;
    build_chain(&m);
    m.b[2] &= 0x7f;
    assert_int_equal(dns_parse(m.b, m.n, collect, NULL, NULL), DNS_NOT_RESPONSE);
    build_chain(&m);
    m.b[2] |= 0x28; /* opcode 5: update */
    assert_int_equal(dns_parse(m.b, m.n, collect, NULL, NULL), DNS_OPCODE);
}

static void test_pointer_loops(void **state)
{
    (void)state;
    struct msg m;
    /* The question's name is a pointer to itself. */
    header(&m, 0x8180, 1, 0);
    u16(&m, 0xc00c);
    u16(&m, 1);
    u16(&m, 1);
    size_t where = 0;
    assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, &where), DNS_PTR_LOOP);
    assert_int_equal(where, 12);
    /* Two pointers to each other. */
    header(&m, 0x8180, 1, 0);
    u16(&m, 0xc00e);
    u16(&m, 0xc00c);
    assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_PTR_LOOP);
    /* A label, then a pointer back to it: the name grows until it is too long. */
    header(&m, 0x8180, 1, 0);
    put(&m, "\3abc", 4);
    u16(&m, 0xc00c);
    assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_NAME_LONG);
    /* A pointer past the end. */
    header(&m, 0x8180, 1, 0);
    u16(&m, 0xc000 | 0x3fff);
    assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_PTR_RANGE);
    /* A pointer cut after its first byte. */
    header(&m, 0x8180, 1, 0);
    put(&m, "\xc0", 1);
    assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_TRUNC);
}

static void test_long_names(void **state)
{
    (void)state;
    struct msg m;
    /* A label length of 64 (top bits 01) and 0x80 (10): errors. */
    for (int bad = 0; bad < 2; bad++) {
        header(&m, 0x8180, 1, 0);
        uint8_t len = bad ? 0x80 : 64;
        put(&m, &len, 1);
        for (int i = 0; i < 64; i++)
            put(&m, "a", 1);
        put(&m, "\0\0\1\0\1", 5);
        size_t where = 0;
        assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, &where), DNS_LABEL);
        assert_int_equal(where, 12);
    }
    /* 63-byte labels: 3 of them and a 61-byte one make 255 bytes (good); 62 is 256. */
    for (int extra = 0; extra < 2; extra++) {
        header(&m, 0x8180, 1, 1);
        for (int l = 0; l < 4; l++) {
            uint8_t len = (uint8_t)(l < 3 ? 63 : 61 + extra);
            put(&m, &len, 1);
            for (int i = 0; i < len; i++)
                put(&m, l == 3 && i == 0 ? "\"" : "A", 1);
        }
        put(&m, "", 1);
        u16(&m, 1);
        u16(&m, 1);
        u16(&m, 0xc00c);
        rr(&m, DNS_TYPE_A, 1, 4);
        put(&m, "\x0a\0\0\1", 4);
        struct got g = { 0 };
        enum dns_result r = dns_parse(m.b, m.n, collect, &g, NULL);
        if (extra) {
            assert_int_equal(r, DNS_NAME_LONG);
            assert_int_equal(g.n, 0);
            continue;
        }
        assert_int_equal(r, DNS_OK);
        assert_int_equal(g.n, 1);
        /* Lowered, the quote as \034: printable, nothing to escape in csv. */
        assert_non_null(strstr(g.text[0], ".\\034aaa"));
        assert_int_equal(strlen(g.text[0]), 63 * 3 + 3 + 4 + 60 + strlen(" 1 10.0.0.1"));
    }
}

static void test_bad_rdata(void **state)
{
    (void)state;
    struct msg m;
    static const struct {
        uint16_t type, rdlen;
        enum dns_result want;
    } cases[] = {
        { DNS_TYPE_A, 3, DNS_RDATA },
        { DNS_TYPE_A, 5, DNS_RDATA },
        { DNS_TYPE_AAAA, 4, DNS_RDATA },
        { DNS_TYPE_CNAME, 2, DNS_RDATA }, /* name longer than its rdata */
        { DNS_TYPE_CNAME, 3, DNS_OK },
        { DNS_TYPE_CNAME, 6, DNS_RDATA }, /* name shorter than its rdata */
        { 99, 5, DNS_OK },                /* a type not kept: skipped by length */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        header(&m, 0x8180, 0, 1);
        name(&m, "x.y");
        rr(&m, cases[i].type, 1, cases[i].rdlen);
        put(&m, "\1z\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", cases[i].rdlen);
        assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), cases[i].want);
    }
    /* An rdata length past the end. */
    header(&m, 0x8180, 0, 1);
    name(&m, "x.y");
    rr(&m, DNS_TYPE_A, 1, 400);
    put(&m, "\1\2\3\4", 4);
    assert_int_equal(dns_parse(m.b, m.n, NULL, NULL, NULL), DNS_TRUNC);
    /* The root as owner. */
    header(&m, 0x8180, 0, 1);
    put(&m, "", 1);
    rr(&m, DNS_TYPE_A, 1, 4);
    put(&m, "\1\2\3\4", 4);
    struct got g = { 0 };
    assert_int_equal(dns_parse(m.b, m.n, collect, &g, NULL), DNS_OK);
    assert_string_equal(g.text[0], ". 1 1.2.3.4");
}

static char *table_text(struct dns_table *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_int_equal(dns_table_write(t, fp), 0);
    fclose(fp);
    return text;
}

static void test_table_udp_tcp(void **state)
{
    (void)state;
    struct msg m;
    build_chain(&m);
    struct dns_table *t = dns_table_new();
    struct pkt p = { .ts_us = 1700000000000000ull,
                     .proto = 17,
                     .sport = 53,
                     .dport = 5000,
                     .has_ports = 1,
                     .ipver = 4 };
    p.data = m.b;
    p.datalen = p.payload = (uint32_t)m.n;
    dns_observe(t, &p);
    p.ts_us += 5000000;
    dns_observe(t, &p);
    p.sport = 5000; /* a query's direction: not looked at */
    dns_observe(t, &p);
    /* TCP: the prefix and the message in three segments, one retransmitted, from a
     * later time. */
    uint8_t s[2100];
    s[0] = (uint8_t)(m.n >> 8);
    s[1] = (uint8_t)m.n;
    memcpy(s + 2, m.b, m.n);
    struct pkt q = { .ts_us = 1700000100000000ull,
                     .proto = 6,
                     .sport = 53,
                     .dport = 6000,
                     .has_ports = 1,
                     .ipver = 4,
                     .seq = 77,
                     .tcpflags = 0x12 };
    dns_observe(t, &q); /* SYN+ACK: the stream starts at 78 */
    uint32_t cuts[] = { 0, 1, 20, (uint32_t)m.n + 2 };
    for (int i = 0; i < 3; i++) {
        q.tcpflags = 0x18;
        q.seq = 78 + cuts[i];
        q.data = s + cuts[i];
        q.datalen = q.payload = cuts[i + 1] - cuts[i];
        dns_observe(t, &q);
        if (i == 1)
            dns_observe(t, &q);
    }
    struct dns_table_stats st;
    dns_table_get_stats(t, &st);
    assert_int_equal(st.messages, 3);
    assert_int_equal(st.responses, 3);
    assert_int_equal(st.answers, 9);
    assert_int_equal(st.records, 3);
    char *text = table_text(t);
    assert_string_equal(
        text,
        "{\"rrname\":\"web.net.example.com\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\","
        "\"time_first\":1700000000,\"time_last\":1700000100,\"count\":3}\n"
        "{\"rrname\":\"web.net.example.com\",\"rrtype\":\"AAAA\",\"rdata\":\"2001:db8::1\","
        "\"time_first\":1700000000,\"time_last\":1700000100,\"count\":3}\n"
        "{\"rrname\":\"www.example.com\",\"rrtype\":\"CNAME\",\"rdata\":\"web.net.example.com\","
        "\"time_first\":1700000000,\"time_last\":1700000100,\"count\":3}\n");
    free(text);
    /* A gap (a lost segment) gives the stream up until its next SYN. */
    q.dport = 6001;
    q.seq = 1000;
    q.data = s;
    q.datalen = q.payload = 10;
    dns_observe(t, &q);
    q.seq = 1020;
    dns_observe(t, &q);
    dns_table_get_stats(t, &st);
    assert_int_equal(st.tcp_gaps, 1);
    assert_int_equal(st.messages, 3);
    /* A snapped UDP response is counted as truncated. */
    p.sport = 53;
    p.datalen = 20;
    dns_observe(t, &p);
    dns_table_get_stats(t, &st);
    assert_int_equal(st.bad[DNS_TRUNC], 1);
    dns_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),         cmocka_unit_test(test_not_response),
        cmocka_unit_test(test_pointer_loops), cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_bad_rdata),     cmocka_unit_test(test_table_udp_tcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
