/*
 * flowsleuth's string IEs in IPFIX (PEN 32473: 5 flowsleuthServerName, 6
 * flowsleuthCommunityId): the encoder sends them only when asked (meter
 * --export-fields), in templates 258/259; the decoder puts the server name back into
 * sni by the meter's rule (sni_keep) and skips the Community ID. Hand-built messages
 * check hostile lengths: empty strings, the 0xff long form, lengths past the record,
 * bytes outside the alphabet, NUL-padded fixed-length fields.
 */
#include "codec/datagram.h"
#include "codec/export.h"
#include "core/cid.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAXMSG 64
#define MAXFL  64
#define T0     1700000000123ull

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

struct got {
    struct flow f[MAXFL];
    size_t n;
};

static int sink(void *ctx, const struct flow *f)
{
    struct got *g = ctx;
    assert_true(g->n < MAXFL);
    g->f[g->n++] = *f;
    return 0;
}

/* Decode every message into g; the collector's totals into t. */
static void decode(const struct msgs *ms, struct got *g, struct collect_totals *t)
{
    struct collector *c = collector_new(NULL);
    uint8_t ex[16] = { 0 };
    g->n = 0;
    for (size_t i = 0; i < ms->n; i++)
        collect_datagram(c, ex, ms->m[i], ms->len[i], T0, sink, g);
    collector_totals(c, t);
    collector_free(c);
}

static void msgs_free(struct msgs *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        free(ms->m[i]);
    ms->n = 0;
}

static const char name64[] = "a123456789b123456789c123456789d123456789e123456789f123456789.com";

/* The flows of the round trip: no name, a short one, one of all 64 bytes, IPv6. */
static size_t some_flows(struct flow *f)
{
    static const char *const names[] = { "", "tls1.example.com", name64, "[2001:db8::1]" };
    for (size_t i = 0; i < 4; i++) {
        f[i] =
            tu_flow(i == 3 ? "2001:db8::1" : "192.0.2.1", i == 3 ? "2001:db8::2" : "198.51.100.7");
        f[i].first = T0 + i;
        f[i].last = T0 + 10 + i;
        f[i].proto = 6;
        f[i].sport = (uint16_t)(40000 + i);
        f[i].dport = 443;
        f[i].packets = 3;
        f[i].bytes = 300;
        memcpy(f[i].sni, names[i], strlen(names[i]));
    }
    return 4;
}

static void encode(const struct flow *f, size_t n, uint32_t extra, uint16_t seed, struct msgs *ms)
{
    struct export_enc_opts o = { .extra = extra, .cid_seed = seed };
    const struct export_dialect *d = export_dialect_find("ipfix");
    struct export_enc *e = export_enc_new(d, &o, keep, ms);
    for (size_t i = 0; i < n; i++)
        export_enc_flow(e, &f[i], T0 + 100);
    export_enc_flush(e);
    export_enc_free(e);
}

/* The first template id of the first message (its template set follows the header). */
static unsigned first_tid(const struct msgs *ms)
{
    const uint8_t *p = ms->m[0];
    assert_int_equal(p[16] << 8 | p[17], 2);
    return (unsigned)(p[20] << 8 | p[21]);
}

static int has_bytes(const struct msgs *ms, const void *s, size_t n)
{
    for (size_t i = 0; i < ms->n; i++)
        for (size_t k = 0; k + n <= ms->len[i]; k++)
            if (memcmp(ms->m[i] + k, s, n) == 0)
                return 1;
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct flow f[4];
    size_t n = some_flows(f);
    struct msgs ms = { 0 };
    struct got *g = calloc(1, sizeof(struct got));
    struct collect_totals t;
    encode(f, n, EXPORT_X_SNI | EXPORT_X_CID, 7, &ms);
    assert_int_equal(first_tid(&ms), 258);
    decode(&ms, g, &t);
    assert_int_equal(g->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(g->f[i].sni, f[i].sni, FS_SNI_MAX);
        assert_int_equal(g->f[i].sport, f[i].sport);
    }
    /* The Community ID goes as its 30 characters after a length byte of 30. */
    for (size_t i = 0; i < n; i++) {
        uint8_t d[CID_DIGEST];
        char s[1 + CID_TEXT];
        cid_digest(&f[i], 7, d);
        s[0] = 30;
        assert_int_equal(cid_format(d, s + 1), 30);
        assert_true(has_bytes(&ms, s, 31));
        cid_digest(&f[i], 0, d);
        cid_format(d, s + 1);
        assert_false(has_bytes(&ms, s, 31));
    }
    msgs_free(&ms);
    free(g);
}

/* Without extras: templates 256/257 as before, no name out, none back. */
static void test_default_unchanged(void **state)
{
    (void)state;
    struct flow f[4];
    size_t n = some_flows(f);
    struct msgs ms = { 0 };
    struct got *g = calloc(1, sizeof(struct got));
    struct collect_totals t;
    encode(f, n, 0, 0, &ms);
    assert_int_equal(first_tid(&ms), 256);
    assert_false(has_bytes(&ms, "tls1.example.com", 16));
    decode(&ms, g, &t);
    assert_int_equal(g->n, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(g->f[i].sni[0], 0);
    msgs_free(&ms);
    free(g);
}

/* ---- hand-built messages --------------------------------------------------------- */

struct wb {
    uint8_t b[2048];
    size_t n;
};

static void w8(struct wb *w, unsigned v)
{
    assert_true(w->n < sizeof(w->b));
    w->b[w->n++] = (uint8_t)v;
}

static void w16(struct wb *w, unsigned v)
{
    w8(w, v >> 8);
    w8(w, v);
}

static void w32(struct wb *w, uint32_t v)
{
    w16(w, v >> 16);
    w16(w, v & 0xffff);
}

static void wstr(struct wb *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w8(w, (uint8_t)s[i]);
}

/*
 * A message with template 300 (sourceIPv4Address, then the server name with length
 * slen, 0xffff = variable, then the Community ID, variable) and a data set whose body
 * the caller writes after this returns; ipfix_end fixes the lengths.
 */
static size_t ipfix_begin(struct wb *w, uint16_t slen)
{
    w->n = 0;
    w16(w, 10);
    w16(w, 0);
    w32(w, (uint32_t)(T0 / 1000));
    w32(w, 0);
    w32(w, 1);
    w16(w, 2);
    w16(w, 4 + 4 + 4 + 8 + 8);
    w16(w, 300);
    w16(w, 3);
    w16(w, 8);
    w16(w, 4);
    w16(w, 0x8000 | 5);
    w16(w, slen);
    w32(w, FS_PEN);
    w16(w, 0x8000 | 6);
    w16(w, 0xffff);
    w32(w, FS_PEN);
    size_t set = w->n;
    w16(w, 300);
    w16(w, 0);
    return set;
}

static void ipfix_end(struct wb *w, size_t set, size_t set_len)
{
    w->b[2] = (uint8_t)(w->n >> 8);
    w->b[3] = (uint8_t)w->n;
    w->b[set + 2] = (uint8_t)(set_len >> 8);
    w->b[set + 3] = (uint8_t)set_len;
}

static void one(struct wb *w, struct got *g, struct collect_totals *t)
{
    struct msgs ms = { .n = 1 };
    ms.m[0] = malloc(w->n); /* exactly its size: ASan sees any over-read */
    memcpy(ms.m[0], w->b, w->n);
    ms.len[0] = w->n;
    decode(&ms, g, t);
    msgs_free(&ms);
}

static void addr(struct wb *w)
{
    w32(w, 0xc0000201);
}

static void test_hostile(void **state)
{
    (void)state;
    struct got *g = calloc(1, sizeof(struct got));
    struct collect_totals t;
    struct wb w;
    char long_name[300];
    memset(long_name, 'x', sizeof(long_name));

    /* Empty name, empty cid; a name of bad bytes; the 0xff form with 300 bytes (the
     * first 64 kept); a name the cid would not pass for. */
    size_t set = ipfix_begin(&w, 0xffff);
    addr(&w), w8(&w, 0), w8(&w, 0);
    addr(&w), w8(&w, 9), wstr(&w, "a/b\"c d\n", 9), w8(&w, 0);
    addr(&w), w8(&w, 255), w16(&w, 300), wstr(&w, long_name, 300), w8(&w, 2), wstr(&w, "1:", 2);
    addr(&w), w8(&w, 255), w16(&w, 3), wstr(&w, "ok.", 3), w8(&w, 255), w16(&w, 0);
    ipfix_end(&w, set, w.n - set);
    one(&w, g, &t);
    assert_int_equal(g->n, 4);
    assert_int_equal(g->f[0].sni[0], 0);
    assert_int_equal(g->f[1].sni[0], 0);
    assert_memory_equal(g->f[2].sni, long_name, FS_SNI_MAX);
    assert_string_equal(g->f[3].sni, "ok.");
    assert_int_equal(t.sum.malformed[CR_BAD_RECORD], 0);

    /* A length past the record (short form, long form) and a long form cut inside its
     * 16-bit length: the rest of the set is malformed, the record before it kept. */
    for (int k = 0; k < 3; k++) {
        set = ipfix_begin(&w, 0xffff);
        addr(&w), w8(&w, 4), wstr(&w, "a.bc", 4), w8(&w, 0);
        addr(&w), w8(&w, k == 0 ? 200 : 255), w8(&w, 1);
        if (k != 2)
            w8(&w, 0), wstr(&w, "abcdefghijklmnopqrstuvwxyz", 26);
        ipfix_end(&w, set, w.n - set);
        one(&w, g, &t);
        assert_int_equal(g->n, 1);
        assert_string_equal(g->f[0].sni, "a.bc");
        assert_int_equal(t.sum.malformed[CR_BAD_RECORD], 1);
    }

    /* A fixed-length name of 16 bytes, NUL-padded; one with a NUL inside. */
    set = ipfix_begin(&w, 16);
    addr(&w), wstr(&w, "fixed.example\0\0\0", 16), w8(&w, 0);
    addr(&w), wstr(&w, "bad\0name.example", 16), w8(&w, 0);
    addr(&w), wstr(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16), w8(&w, 0);
    ipfix_end(&w, set, w.n - set);
    one(&w, g, &t);
    assert_int_equal(g->n, 3);
    assert_string_equal(g->f[0].sni, "fixed.example");
    assert_int_equal(g->f[1].sni[0], 0);
    assert_int_equal(g->f[2].sni[0], 0);
    free(g);
}

/* The same ids under another PEN are skipped by length, never read as a name. */
static void test_other_pen(void **state)
{
    (void)state;
    struct got *g = calloc(1, sizeof(struct got));
    struct collect_totals t;
    struct wb w;
    size_t set = ipfix_begin(&w, 0xffff);
    w.b[35] ^= 1; /* the server name's PEN (bytes 32..35): 32472 */
    addr(&w), w8(&w, 4), wstr(&w, "a.bc", 4), w8(&w, 0);
    ipfix_end(&w, set, w.n - set);
    one(&w, g, &t);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->f[0].sni[0], 0);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_default_unchanged),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_other_pen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
