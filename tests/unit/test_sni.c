/*
 * Unit tests for the server-name parsers (src/meter/sni.h): hand-built ClientHellos
 * (server_name first, last, after a long extension, every prefix of one), hostile ones
 * (lengths that lie, names with bytes outside the alphabet, empty and overlong names,
 * other handshake types and record versions), HTTP requests (Host with a port, an
 * IPv6 literal, lower case, missing, cut), and the meter's reassembly of a ClientHello
 * over two segments with a retransmission, a gap and a snapped segment. Every input
 * is parsed from a buffer of exactly its size, so ASan sees an over-read.
 */
#include "meter/sni.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct buf {
    uint8_t b[8192];
    size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void u8(struct buf *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}

static void u16(struct buf *b, unsigned v)
{
    u8(b, v >> 8);
    u8(b, v & 0xff);
}

/* A ClientHello in one record: pad_before bytes of a padding extension (21) before
 * server_name, or after it when negative; sni_ext the raw server_name extension data
 * (NULL: none). */
static void hello(struct buf *b, const uint8_t *sni_ext, size_t sni_len, int pad)
{
    struct buf body = { .n = 0 };
    u16(&body, 0x0303);
    for (int i = 0; i < 32; i++)
        u8(&body, (unsigned)i);
    u8(&body, 32);
    for (int i = 0; i < 32; i++)
        u8(&body, 0xaa);
    u16(&body, 4);
    u16(&body, 0x1301);
    u16(&body, 0x1302);
    u8(&body, 1);
    u8(&body, 0);
    struct buf ext = { .n = 0 };
    if (pad > 0) {
        u16(&ext, 21), u16(&ext, (unsigned)pad);
        for (int i = 0; i < pad; i++)
            u8(&ext, 0);
    }
    if (sni_ext) {
        u16(&ext, 0), u16(&ext, (unsigned)sni_len);
        put(&ext, sni_ext, sni_len);
    }
    if (pad < 0) {
        u16(&ext, 21), u16(&ext, (unsigned)-pad);
        for (int i = 0; i < -pad; i++)
            u8(&ext, 0);
    }
    u16(&body, (unsigned)ext.n);
    put(&body, ext.b, ext.n);
    b->n = 0;
    u8(b, 22), u16(b, 0x0301), u16(b, (unsigned)body.n + 4);
    u8(b, 1), u8(b, 0), u16(b, (unsigned)body.n);
    put(b, body.b, body.n);
}

/* The server_name extension data for one host_name. */
static size_t sni_of(uint8_t *out, const char *name)
{
    size_t l = strlen(name);
    out[0] = (uint8_t)((l + 3) >> 8), out[1] = (uint8_t)(l + 3);
    out[2] = 0;
    out[3] = (uint8_t)(l >> 8), out[4] = (uint8_t)l;
    memcpy(out + 5, name, l);
    return l + 5;
}

/* sni_find over an exact-size copy of p[0..n). */
static enum sni_result find(const uint8_t *p, size_t n, char out[FS_SNI_MAX])
{
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    size_t need;
    memset(out, 0, FS_SNI_MAX);
    enum sni_result r = sni_find(c, n, out, &need);
    free(c);
    return r;
}

static void test_tls(void **state)
{
    (void)state;
    uint8_t e[128];
    char out[FS_SNI_MAX];
    struct buf b;
    for (int pad = -300; pad <= 300; pad += 300) {
        hello(&b, e, sni_of(e, "www.Example.com"), pad);
        assert_int_equal(find(b.b, b.n, out), SNI_FOUND);
        assert_string_equal(out, "www.Example.com");
        /* every prefix: more wanted, or found once the name is all there, never none */
        for (size_t k = 1; k < b.n; k++) {
            enum sni_result r = find(b.b, k, out);
            assert_true(r == SNI_MORE || (r == SNI_FOUND && strcmp(out, "www.Example.com") == 0));
        }
    }
    hello(&b, NULL, 0, 100); /* no server_name */
    assert_int_equal(find(b.b, b.n, out), SNI_NONE);
    /* a name of 70 bytes keeps its first 64, unterminated */
    char longname[71];
    memset(longname, 'a', 70);
    longname[70] = 0;
    hello(&b, e, sni_of(e, longname), 0);
    assert_int_equal(find(b.b, b.n, out), SNI_FOUND);
    assert_memory_equal(out, longname, FS_SNI_MAX);
}

static void test_tls_hostile(void **state)
{
    (void)state;
    uint8_t e[128];
    char out[FS_SNI_MAX];
    struct buf b;
    static const char *const bad[] = { "a b", "a\"b", "x,y", "caf\xc3\xa9", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hello(&b, e, sni_of(e, bad[i]), 0);
        assert_int_equal(find(b.b, b.n, out), SNI_NONE);
    }
    uint8_t nul[] = { 0, 6, 0, 0, 3, 'a', 0, 'b' }; /* a NUL inside */
    hello(&b, nul, sizeof(nul), 0);
    assert_int_equal(find(b.b, b.n, out), SNI_NONE);
    uint8_t lie[] = { 0, 9, 0, 0, 200, 'a', 'b', 'c', 'd', 'e', 'f' }; /* name past the list */
    hello(&b, lie, sizeof(lie), 0);
    assert_int_equal(find(b.b, b.n, out), SNI_NONE);
    uint8_t list[] = { 0, 50, 0, 0, 1, 'a' }; /* list length past the extension */
    hello(&b, list, sizeof(list), 0);
    assert_int_equal(find(b.b, b.n, out), SNI_NONE);
    uint8_t other[] = { 0, 4, 1, 0, 1, 'a' }; /* only a name type we do not know */
    hello(&b, other, sizeof(other), 0);
    assert_int_equal(find(b.b, b.n, out), SNI_NONE);

    size_t n = sni_of(e, "ok.example");
    hello(&b, e, n, 0);
    struct buf c = b;
    c.b[5] = 2; /* a ServerHello */
    assert_int_equal(find(c.b, c.n, out), SNI_NONE);
    c = b;
    c.b[1] = 2; /* SSL 2 record version */
    assert_int_equal(find(c.b, c.n, out), SNI_NONE);
    c = b;
    c.b[3] = 0xff, c.b[4] = 0xff; /* a record longer than TLS allows */
    assert_int_equal(find(c.b, c.n, out), SNI_NONE);
    c = b;
    c.b[6] = 0x7f; /* handshake longer than its record */
    assert_int_equal(find(c.b, c.n, out), SNI_NONE);
    c = b;
    c.b[b.n - n - 1] = 0xff; /* the server_name extension's length past the list */
    assert_int_equal(find(c.b, c.n, out), SNI_NONE);
    /* the extensions' total past the handshake */
    c = b;
    size_t xl = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 4 + 1 + 1;
    c.b[xl] = 0x40;
    assert_int_equal(find(c.b, c.n, out), SNI_NONE);
    /* one byte of 22 is a start; a non-handshake first byte is not TLS, not HTTP */
    uint8_t one = 22;
    assert_int_equal(find(&one, 1, out), SNI_MORE);
    uint8_t junk[] = { 23, 3, 3, 0, 5, 1, 2, 3, 4, 5 };
    assert_int_equal(find(junk, sizeof(junk), out), SNI_NONE);
}

static enum sni_result http(const char *s, char out[FS_SNI_MAX])
{
    return find((const uint8_t *)s, strlen(s), out);
}

static void test_http(void **state)
{
    (void)state;
    char out[FS_SNI_MAX];
    assert_int_equal(http("GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: example.com:8080\r\n\r\n", out),
                     SNI_FOUND);
    assert_string_equal(out, "example.com");
    assert_int_equal(http("POST /a HTTP/1.1\nhost:\tdeb.debian.org \n\n", out), SNI_FOUND);
    assert_string_equal(out, "deb.debian.org");
    assert_int_equal(http("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", out), SNI_FOUND);
    assert_string_equal(out, "[2001:db8::1]");
    assert_int_equal(http("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", out), SNI_FOUND);
    assert_string_equal(out, "[::1]");
    assert_int_equal(http("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", out), SNI_FOUND);
    assert_string_equal(out, "10.0.0.1");
    /* no Host before the empty line; a bad Host; not a request */
    assert_int_equal(http("GET / HTTP/1.0\r\nAccept: */*\r\n\r\nHost: late\r\n", out), SNI_NONE);
    assert_int_equal(http("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", out), SNI_NONE);
    assert_int_equal(http("GET / HTTP/1.1\r\nHost:\r\n\r\n", out), SNI_NONE);
    assert_int_equal(http("GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n", out), SNI_NONE);
    assert_int_equal(http("SSH-2.0-OpenSSH_9.2\r\n", out), SNI_NONE);
    assert_int_equal(http("GETX / HTTP/1.1\r\n", out), SNI_NONE);
    /* cut: more wanted */
    assert_int_equal(http("GE", out), SNI_MORE);
    assert_int_equal(http("GET / HTTP/1.1\r\nAccept: */*\r\n", out), SNI_MORE);
    assert_int_equal(http("GET / HTTP/1.1\r\nHost: exa", out), SNI_MORE);
    /* a header block past 8 KiB without a Host: given up */
    static char big[9000];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'x', sizeof(big) - 20);
    assert_int_equal(find((const uint8_t *)big, sizeof(big) - 1, out), SNI_NONE);
}

/* Feed the meter's reassembly one segment (an exact-size copy). */
static void seg(struct sni_asm *s, struct flow *f, const uint8_t *p, uint32_t len, uint32_t payload,
                uint32_t seq)
{
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, p, len);
    sni_segment(s, f, c, len, payload, seq);
    free(c);
}

static void test_segments(void **state)
{
    (void)state;
    uint8_t e[128];
    struct buf b;
    hello(&b, e, sni_of(e, "split.example.org"), -1500); /* ~1,600 bytes, name late */
    size_t n = b.n;
    hello(&b, e, sni_of(e, "split.example.org"), 1500); /* name after the padding */
    assert_int_equal(b.n, n);
    for (int mode = 0; mode < 4; mode++) {
        struct sni_asm s;
        memset(&s, 0, sizeof(s));
        struct flow f;
        memset(&f, 0, sizeof(f));
        uint32_t a = 1448, seq = 7;
        seg(&s, &f, b.b, a, a, seq);
        assert_int_equal(f.sni[0], 0);
        if (mode == 1) /* a retransmission of the first segment: ignored */
            seg(&s, &f, b.b, a, a, seq);
        if (mode == 2) /* a gap: given up */
            seg(&s, &f, b.b + a + 10, (uint32_t)(b.n - a - 10), (uint32_t)(b.n - a - 10),
                seq + a + 10);
        else if (mode == 3) /* the second segment snapped: given up */
            seg(&s, &f, b.b + a, 60, (uint32_t)(b.n - a), seq + a);
        else
            seg(&s, &f, b.b + a, (uint32_t)(b.n - a), (uint32_t)(b.n - a), seq + a);
        if (mode <= 1)
            assert_string_equal(f.sni, "split.example.org");
        else
            assert_int_equal(f.sni[0], 0);
        assert_int_equal(s.done, 1);
        assert_null(s.buf);
        /* later segments change nothing */
        seg(&s, &f, (const uint8_t *)"GET / HTTP/1.1\r\nHost: other\r\n\r\n", 31, 31, 99999);
        if (mode <= 1)
            assert_string_equal(f.sni, "split.example.org");
        sni_asm_free(&s);
    }
    /* an HTTP request whose Host comes in the second segment; the sequence wraps */
    struct sni_asm s;
    memset(&s, 0, sizeof(s));
    struct flow f;
    memset(&f, 0, sizeof(f));
    const char *r1 = "GET /x HTTP/1.1\r\nAccept: */*\r\n", *r2 = "Host: w.example\r\n\r\n";
    seg(&s, &f, (const uint8_t *)r1, (uint32_t)strlen(r1), (uint32_t)strlen(r1), 0xfffffff0u);
    seg(&s, &f, (const uint8_t *)r2, (uint32_t)strlen(r2), (uint32_t)strlen(r2),
        0xfffffff0u + (uint32_t)strlen(r1));
    assert_string_equal(f.sni, "w.example");
    sni_asm_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_tls_hostile),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
