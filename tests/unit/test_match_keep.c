/*
 * What match_run holds between passes: range-piece records and compact results round
 * trip; a batch of lone mid-sized flows costs tens of bytes a flow, not a struct flow;
 * range groups found from the batch's arena are the ones found from whole flows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "detect/catalog.h"
#include "detect/match.h"
#include "detect/match_keep.h"

static struct flow piece(uint32_t client, uint8_t server, uint16_t sport, uint64_t first,
                         uint64_t payload, uint64_t request)
{
    struct flow f;
    uint8_t c[4] = { 10, (uint8_t)(client >> 16), (uint8_t)(client >> 8), (uint8_t)client };
    uint8_t s[4] = { 192, 0, 2, server };
    memset(&f, 0, sizeof(f));
    flow_addr_from_v4(f.src, c);
    flow_addr_from_v4(f.dst, s);
    f.ipver = 4;
    f.proto = 6;
    f.sport = sport;
    f.dport = 80;
    f.first = first;
    f.last = first + 40;
    f.rgoodput = f.rpayload = payload;
    f.rpackets = payload / 1448 + 2;
    f.rbytes = payload + 52 * f.rpackets;
    f.goodput = f.payload = request;
    f.packets = f.rpackets / 2 + 3;
    f.bytes = request + 52 * f.packets;
    f.flags = f.rflags = 0x1b;
    return f;
}

/* The members a piece record keeps. */
static void same_piece(const struct flow *a, const struct flow *b)
{
    assert_memory_equal(a->src, b->src, 16);
    assert_memory_equal(a->dst, b->dst, 16);
    assert_int_equal(a->sport, b->sport);
    assert_int_equal(a->dport, b->dport);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->ipver, b->ipver);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->rflags, b->rflags);
    assert_int_equal(a->exchange, b->exchange);
    assert_true(a->first == b->first && a->last == b->last);
    assert_true(a->bytes == b->bytes && a->packets == b->packets);
    assert_true(a->rbytes == b->rbytes && a->rpackets == b->rpackets);
    assert_true(a->payload == b->payload && a->rpayload == b->rpayload);
    assert_true(a->goodput == b->goodput && a->rgoodput == b->rgoodput);
    assert_true(a->retrans == b->retrans && a->rretrans == b->rretrans);
}

static void test_piece_round_trip(void **state)
{
    (void)state;
    struct flow in[3], out;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, off = 0;
    in[0] = piece(7, 1, 40000, 1700000000000ULL, 6000, 200);
    in[1] = in[0]; /* IPv6, counters at the top of their range, last before first */
    in[1].ipver = 6;
    in[1].src[0] = 0x20;
    in[1].dst[15] = 0x99;
    in[1].last = 5;
    in[1].rbytes = UINT64_MAX;
    in[1].retrans = 1ULL << 63;
    in[1].exchange = UINT32_MAX;
    in[2] = in[0]; /* ipver 4 but not IPv4-mapped: kept whole */
    in[2].src[0] = 1;
    for (int i = 0; i < 3; i++)
        piece_put(&buf, &len, &cap, &in[i]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(piece_get(buf, len, &off, &out), 0);
        same_piece(&in[i], &out);
        assert_int_equal(out.vlan, 0); /* not kept */
    }
    assert_int_equal(piece_get(buf, len, &off, &out), -1);
    /* cut short anywhere: an error, never a read past the end */
    for (size_t cut = 0; cut < len; cut++) {
        off = 0;
        int n = 0;
        while (piece_get(buf, cut, &off, &out) == 0)
            n++;
        assert_true(n < 3);
    }
    free(buf);
}

static void test_keep_round_trip(void **state)
{
    (void)state;
    struct keep k;
    struct match_result r, back;
    memset(&r, 0, sizeof(r));
    keep_init(&k, 2);
    r.verdict = MV_AMBIGUOUS;
    r.basis = MB_PAYLOAD;
    r.payload = 123456;
    r.ncands = 3;
    r.more = 1;
    for (int i = 0; i < 3; i++) {
        r.c[i].k = (uint8_t)(i + 1);
        r.c[i].residual = -5 * (int64_t)i;
        for (int p = 0; p <= i; p++)
            r.c[i].idx[p] = (uint32_t)(10 * i + p);
    }
    keep_put(&k, 1, &r);
    keep_get(&k, 1, &back);
    assert_memory_equal(&r, &back, sizeof(r));
    keep_get(&k, 0, &back); /* never put: rejected, no candidates */
    assert_int_equal(back.verdict, MV_REJECT);
    assert_int_equal(back.ncands, 0);
    r.ncands = 1; /* fewer: in place */
    r.verdict = MV_MATCH;
    size_t nc = k.nc;
    keep_put(&k, 1, &r);
    assert_int_equal(k.nc, nc);
    memset(&r.c[1], 0, sizeof(r.c) - sizeof(r.c[0]));
    keep_get(&k, 1, &back);
    assert_memory_equal(&r, &back, sizeof(r));
    keep_free(&k);
}

/* 20,000 lone mid-sized TCP flows (range pieces, one client each): the batch held each
 * as a struct flow (184 bytes and the array's slack); now about 50 bytes. */
static void test_batch_bytes_per_piece(void **state)
{
    (void)state;
    struct match_opts o;
    match_opts_default(&o);
    o.range_gap_ms = 60000;
    struct match_batch b;
    memset(&b, 0, sizeof(b));
    b.o = &o;
    struct mallinfo2 m0 = mallinfo2(); /* big blocks are mmap()ed: hblkhd */
    size_t before = m0.uordblks + m0.hblkhd;
    for (uint32_t i = 0; i < 20000; i++) {
        struct flow f = piece(i, (uint8_t)(i % 200), (uint16_t)(1024 + i), 1700000000000ULL + i,
                              4096 + i % 5000, 300);
        match_batch_add(&b, &f);
    }
    struct mallinfo2 m1 = mallinfo2();
    size_t held = m1.uordblks + m1.hblkhd - before;
    assert_true(held < (size_t)20000 * 72);
    match_batch_free(&b);
}

struct seen {
    char rows[64][96];
    int n;
};

static int record(void *ctx, const struct flow *f, const struct match_result *r)
{
    struct seen *s = ctx;
    if (s->n < 64)
        snprintf(s->rows[s->n++], sizeof(s->rows[0]), "%u %u %llu %d %d %d", f->src[15], f->sport,
                 (unsigned long long)r->payload, r->verdict, r->pieces,
                 r->ncands ? (int)r->c[0].idx[0] : -1);
    return 0;
}

/* Pieces from the arena (below --min-size) and from whole flows (rejected above it)
 * give the groups match_run gives for the same flows in one array. */
static void test_arena_groups_as_flows(void **state)
{
    (void)state;
    struct catalog c;
    struct match_opts o;
    struct flow fl[8];
    int n = 0;
    catalog_init(&c);
    struct cat_entry e = { .size = 19400, .name = "joined", .version = "1" };
    catalog_add(&c, &e);
    catalog_sort(&c);
    match_opts_default(&o);
    o.range_gap_ms = 60000;
    /* client 1: three pieces, one above min_size (considered, rejected, whole) and two
     * below (arena); together 20,000 bytes = 19,400 and three 200-byte headers */
    fl[n++] = piece(1, 5, 1001, 1700000000000ULL, 4500, 200);
    fl[n++] = piece(1, 5, 1002, 1700000001000ULL, 11000, 205);
    fl[n++] = piece(1, 5, 1003, 1700000002000ULL, 4500, 199);
    /* other clients: lone pieces, and a pair with different request bytes */
    fl[n++] = piece(2, 5, 2001, 1700000000500ULL, 6000, 200);
    fl[n++] = piece(3, 6, 3001, 1700000000500ULL, 9000, 200);
    fl[n++] = piece(3, 6, 3002, 1700000001500ULL, 9000, 400);
    struct seen whole = { .n = 0 }, arena = { .n = 0 };
    match_run(&c, &o, fl, (size_t)n, record, &whole);
    struct match_batch b;
    memset(&b, 0, sizeof(b));
    b.o = &o;
    for (int i = 0; i < n; i++)
        match_batch_add(&b, &fl[i]);
    assert_int_equal(b.n, 1); /* only the 11,000-byte flow as a whole flow */
    match_run_batch(&c, &b, record, &arena);
    assert_int_equal(whole.n, arena.n);
    for (int i = 0; i < whole.n; i++)
        assert_string_equal(whole.rows[i], arena.rows[i]);
    /* the 11,000-byte flow alone (rejected), then the group of client 1 */
    assert_int_equal(whole.n, 2);
    assert_string_equal(whole.rows[0], "1 1002 11000 0 0 -1");
    assert_string_equal(whole.rows[1], "1 1001 20000 1 3 0");
    match_batch_free(&b);
    catalog_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_piece_round_trip),
        cmocka_unit_test(test_keep_round_trip),
        cmocka_unit_test(test_batch_bytes_per_piece),
        cmocka_unit_test(test_arena_groups_as_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
