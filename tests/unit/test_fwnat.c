/*
 * Unit tests for the firewall and NAT fields (docs/internals/decode.md, "Firewall and
 * NAT"): NSEL and NAT-event elements decoded from hand-built NetFlow v9 and IPFIX
 * datagrams, on the fast (fixed-length) and the checked (variable-length) template
 * paths, IPv6 post-NAT addresses (no shared capture has them), the event names, the
 * ACL text form with hostile inputs, and the filter terms.
 */
#include "codec/datagram.h"
#include "core/err.h"
#include "core/fields.h"
#include "core/fwnat.h"
#include "query/anon.h"
#include "query/filter.h"
#include "query/output.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

#define MAXF 4
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
    uint8_t *d = malloc(b->n ? b->n : 1);
    memcpy(d, b->b, b->n);
    int rc = collect_datagram(c, EXP, d, b->n, 1000, sink, g);
    free(d);
    return rc;
}

/* Every prefix of b to a fresh collector: no crash, no leak (ASan). */
static void truncate_everywhere(const struct buf *b)
{
    for (size_t len = 0; len <= b->n; len++) {
        struct buf t = *b;
        t.n = len;
        struct got g = { 0 };
        struct collector *c = collector_new(NULL);
        feed(c, &t, &g);
        collector_free(c);
    }
}

static void is_v4(const uint8_t *x, uint32_t want)
{
    assert_true(flow_addr_is_v4mapped(x));
    assert_int_equal((uint32_t)x[12] << 24 | (uint32_t)x[13] << 16 | (uint32_t)x[14] << 8 | x[15],
                     want);
}

/*
 * NetFlow v9 as a Cisco ASA sends NSEL: Cisco's field types 40001-40005, 33000-33002,
 * initiator/responder octets, observationTimeMilliseconds and flowStartMilliseconds.
 */
static void asa_datagram(struct buf *b)
{
    memset(b, 0, sizeof(*b));
    p16(b, 9), p16(b, 2), p32(b, 60000), p32(b, 1700000000), p32(b, 1), p32(b, 0);
    size_t at = b->n;
    p16(b, 0), p16(b, 0), p16(b, 260), p16(b, 16);
    p16(b, 8), p16(b, 4);
    p16(b, 7), p16(b, 2);
    p16(b, 12), p16(b, 4);
    p16(b, 11), p16(b, 2);
    p16(b, 4), p16(b, 1);
    p16(b, 40001), p16(b, 4);
    p16(b, 40002), p16(b, 4);
    p16(b, 40003), p16(b, 2);
    p16(b, 40004), p16(b, 2);
    p16(b, 40005), p16(b, 1);
    p16(b, 33002), p16(b, 2);
    p16(b, 323), p16(b, 8);
    p16(b, 152), p16(b, 8);
    p16(b, 231), p16(b, 4);
    p16(b, 33000), p16(b, 12);
    p16(b, 33001), p16(b, 12);
    patch_len(b, at + 2, at);
    at = b->n;
    p16(b, 260), p16(b, 0);
    p32(b, 0xc0a80e01), p16(b, 5000), p32(b, 0x02020202), p16(b, 443), p8(b, 6);
    p32(b, 0xcb007101), p32(b, 0x02020202), p16(b, 61000), p16(b, 443);
    p8(b, 3), p16(b, 1001);
    p64(b, 1699999999500ull), p64(b, 1699999999000ull);
    p32(b, 81);
    p32(b, 0x0f8e7ff3), p32(b, 0xfc1a030f), p32(b, 0x11111111);
    p32(b, 0), p32(b, 0), p32(b, 0);
    while ((b->n - at) % 4)
        p8(b, 0);
    patch_len(b, at + 2, at);
}

static void test_v9_asa(void **state)
{
    (void)state;
    struct buf b;
    asa_datagram(&b);
    struct collector *c = collector_new(NULL);
    struct got g = { 0 };
    assert_int_equal(feed(c, &b, &g), 1);
    const struct flow *f = &g.f[0];
    is_v4(f->src, 0xc0a80e01);
    is_v4(f->xsrc, 0xcb007101);
    is_v4(f->xdst, 0x02020202);
    assert_int_equal(f->xsport, 61000);
    assert_int_equal(f->xdport, 443);
    assert_int_equal(f->fw_event, 3);
    assert_int_equal(f->fw_ext_event, 1001);
    assert_int_equal(f->nat_event, 0);
    assert_int_equal(f->ingress_acl, 0x0f8e7ff3fc1a030full);
    assert_int_equal(f->egress_acl, 0);
    assert_int_equal(f->bytes, 81);
    /* flowStartMilliseconds is the start; the event time the end */
    assert_int_equal(f->first, 1699999999000ull);
    assert_int_equal(f->last, 1699999999500ull);
    collector_free(c);
    truncate_everywhere(&b);
}

/*
 * IPFIX NAT64-style event: IPv6 source and destination, IPv6 post-NAT addresses (281,
 * 282), ports (227, 228), natEvent and firewallEvent, only observationTime for a time.
 * varlen adds an interfaceName (variable length), which takes the checked path.
 */
static void nat_datagram(struct buf *b, int varlen)
{
    memset(b, 0, sizeof(*b));
    p16(b, 10), p16(b, 0), p32(b, 1700000000), p32(b, 0), p32(b, 7);
    size_t at = b->n;
    p16(b, 2), p16(b, 0), p16(b, 400), p16(b, (uint32_t)(9 + (varlen != 0)));
    p16(b, 27), p16(b, 16);
    p16(b, 28), p16(b, 16);
    if (varlen)
        p16(b, 82), p16(b, 65535);
    p16(b, 281), p16(b, 16);
    p16(b, 282), p16(b, 16);
    p16(b, 227), p16(b, 2);
    p16(b, 228), p16(b, 2);
    p16(b, 230), p16(b, 1);
    p16(b, 233), p16(b, 1);
    p16(b, 323), p16(b, 8);
    patch_len(b, at + 2, at);
    at = b->n;
    p16(b, 400), p16(b, 0);
    for (int k = 0; k < 4; k++) { /* 2001:db8::k+1 */
        p32(b, 0x20010db8), p32(b, 0), p32(b, 0), p32(b, (uint32_t)k + 1);
        if (k == 1 && varlen)
            p8(b, 3), p8(b, 'e'), p8(b, 't'), p8(b, 'h');
    }
    p16(b, 1024), p16(b, 53), p8(b, 6), p8(b, 1), p64(b, 1699999998000ull);
    patch_len(b, at + 2, at);
    patch_len(b, 2, 0);
}

static void test_ipfix_nat6(void **state)
{
    (void)state;
    for (int varlen = 0; varlen < 2; varlen++) {
        struct buf b;
        nat_datagram(&b, varlen);
        struct collector *c = collector_new(NULL);
        struct got g = { 0 };
        assert_int_equal(feed(c, &b, &g), 1);
        const struct flow *f = &g.f[0];
        assert_int_equal(f->ipver, 6);
        assert_int_equal(f->src[15], 1);
        assert_int_equal(f->xsrc[0], 0x20);
        assert_int_equal(f->xsrc[15], 3);
        assert_int_equal(f->xdst[15], 4);
        assert_int_equal(f->xsport, 1024);
        assert_int_equal(f->xdport, 53);
        assert_int_equal(f->nat_event, 6);
        assert_int_equal(f->fw_event, 1);
        assert_int_equal(f->ingress_acl, 0);
        assert_int_equal(f->first, 1699999998000ull);
        assert_int_equal(f->last, 1699999998000ull);
        collector_free(c);
        truncate_everywhere(&b);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fw_event_name(3), "denied");
    assert_null(fw_event_name(6));
    assert_string_equal(nat_event_name(4), "nat44-create");
    assert_string_equal(nat_event_name(18), "threshold");
    assert_null(nat_event_name(0));
    assert_null(nat_event_name(19));
    assert_int_equal(fw_event_code("DENIED", 6), 3);
    assert_int_equal(fw_event_code("den", 3), -1);
    assert_int_equal(nat_event_code("nat64-bib-delete", 16), 11);
    assert_int_equal(nat_event_code("", 0), -1);

    char buf[32];
    acl_format(0x0f8e7ff3fc1a030full, buf, sizeof(buf));
    assert_string_equal(buf, "0f8e7ff3:fc1a030f");
    acl_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "0");
    uint64_t v = 1;
    assert_int_equal(acl_parse("0f8e7ff3:FC1A030F", 17, &v), 0);
    assert_int_equal(v, 0x0f8e7ff3fc1a030full);
    assert_int_equal(acl_parse("0", 1, &v), 0);
    assert_int_equal(v, 0);
    static const char *const bad[] = { "",      ":",   "1:",          ":1",
                                       "x:1",   "1:x", "123456789:1", "1:123456789",
                                       "1:2:3", "00",  "-1:1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(acl_parse(bad[i], strlen(bad[i]), &v), -1);
}

static int matches(const char *text, const struct flow *f)
{
    struct filter *fl = NULL;
    struct fs_err err = { 0 };
    if (filter_compile(text, &fl, &err) != 0)
        fail_msg("%s: %s", text, err.msg);
    int m = filter_match(fl, f);
    filter_free(fl);
    return m;
}

static int refused(const char *text)
{
    struct filter *fl = NULL;
    struct fs_err err = { 0 };
    int rc = filter_compile(text, &fl, &err);
    filter_free(fl);
    return rc != 0;
}

static void test_filter(void **state)
{
    (void)state;
    struct flow f;
    memset(&f, 0, sizeof(f));
    const uint8_t x[4] = { 203, 0, 113, 1 };
    flow_addr_from_v4(f.xsrc, x);
    f.fw_event = 3;
    f.nat_event = 4;
    f.xsport = 61000;
    f.ingress_acl = 0x0f8e7ff3fc1a030full;
    assert_true(matches("xsrc 203.0.113.1", &f));
    assert_true(matches("xsrc 203.0.113.0/24 and not xdst 203.0.113.0/24", &f));
    assert_true(matches("fw_event denied", &f));
    assert_true(matches("fw_event 3", &f));
    assert_false(matches("fw_event created", &f));
    assert_true(matches("fw_event in [denied, alert]", &f));
    assert_true(matches("nat_event nat44-create", &f));
    assert_true(matches("xsport 61000 and xdport 0", &f));
    assert_true(matches("ingress_acl 0f8e7ff3:fc1a030f", &f));
    assert_true(matches("egress_acl 0", &f));
    assert_false(matches("ingress_acl 0f8e7ff3:fc1a0300", &f));
    assert_true(refused("fw_event bogus"));
    assert_true(refused("fw_event 256"));
    assert_true(refused("ingress_acl 12"));
    assert_true(refused("xsrc 999.1.1.1"));
}

static void test_print(void **state)
{
    (void)state;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.fw_event = 2;
    f.nat_event = 99;
    f.ingress_acl = 0x0102030405060708ull;
    char buf[64];
    output_field(buf, field_find("fw_event"), &f, 1);
    assert_string_equal(buf, "deleted");
    output_field(buf, field_find("fw_event"), &f, 0);
    assert_string_equal(buf, "2");
    output_field(buf, field_find("nat_event"), &f, 1);
    assert_string_equal(buf, "99");
    output_field(buf, field_find("ingress_acl"), &f, 0);
    assert_string_equal(buf, "01020304:05060708");
    output_field(buf, field_find("xsrc"), &f, 0);
    assert_string_equal(buf, "::");
}

/* --anon maps the translated addresses with the same key as src and dst (a NAT that
 * left an address unchanged stays visibly so), and leaves absent ones zero. */
static void test_anon(void **state)
{
    (void)state;
    uint8_t key[ANON_KEY_LEN];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    struct fs_err e = { 0 };
    struct anon *a = anon_new(key, &e);
    assert_non_null(a);
    struct flow f;
    memset(&f, 0, sizeof(f));
    const uint8_t s4[4] = { 192, 168, 0, 2 }, x4[4] = { 203, 0, 113, 7 };
    flow_addr_from_v4(f.src, s4);
    flow_addr_from_v4(f.dst, x4);
    flow_addr_from_v4(f.xsrc, x4);
    f.ipver = 4;
    struct flow g = f;
    anon_flow(a, &g);
    assert_memory_not_equal(g.xsrc, f.xsrc, 16);
    assert_memory_equal(g.xsrc, g.dst, 16); /* same address, same image */
    assert_true(flow_addr_is_v4mapped(g.xsrc));
    static const uint8_t zero[16];
    assert_memory_equal(g.xdst, zero, 16);
    anon_free(a);
}

/* A store file of the previous format (version 2, 32 columns, a fuzz seed): it reads,
 * with the firewall and NAT fields zero. */
static void test_old_store(void **state)
{
    (void)state;
    const char *paths[] = { "fuzz/corpus/store/v2_valid_lz4" };
    struct store_reader *r;
    struct fs_err e;
    assert_int_equal(store_reader_open(&r, paths, 1, NULL, &e), 0);
    const struct flow *x;
    int rc, n = 0;
    static const uint8_t zero[16];
    while ((rc = store_reader_next(r, &x, &e)) > 0) {
        n++;
        assert_true(x->ipver == 4 || x->ipver == 6);
        assert_memory_equal(x->xsrc, zero, 16);
        assert_memory_equal(x->xdst, zero, 16);
        assert_int_equal(x->xsport | x->xdport | x->fw_event | x->fw_ext_event | x->nat_event, 0);
        assert_int_equal(x->ingress_acl | x->egress_acl, 0);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 0);
    store_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v9_asa), cmocka_unit_test(test_ipfix_nat6),
        cmocka_unit_test(test_names),  cmocka_unit_test(test_filter),
        cmocka_unit_test(test_print),  cmocka_unit_test(test_old_store),
        cmocka_unit_test(test_anon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
