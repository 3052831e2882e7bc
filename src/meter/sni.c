#include "sni.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of a host name or an address literal: what a name may hold to be kept. */
static int name_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

/* Keep p[0..n) as the name when every byte is allowed; 1 kept, 0 not. */
static int keep_name(const uint8_t *p, size_t n, char out[FS_SNI_MAX])
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_byte(p[i]))
            return 0;
    memset(out, 0, FS_SNI_MAX);
    memcpy(out, p, n < FS_SNI_MAX ? n : FS_SNI_MAX);
    return 1;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* The largest TLS record a ClientHello may come in (RFC 8446: 2^14 plaintext). */
#define TLS_REC_MAX 16384

// NOLINTNEXTLINE(readability-function-size): too long; to be split (a known debt)
enum sni_result sni_tls(const uint8_t *p, size_t n, char out[FS_SNI_MAX], size_t *need)
{
    *need = 0;
    if (n < 1 || p[0] != 22)
        return SNI_NONE;
    if (n < 9) { /* record header (5) and handshake header (4) */
        if ((n >= 2 && p[1] != 3) || (n >= 3 && p[2] > 4) || (n >= 6 && p[5] != 1))
            return SNI_NONE;
        *need = 9;
        return SNI_MORE;
    }
    size_t rec = be16(p + 3);
    size_t hs = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
    /* SSL 3.0 .. TLS 1.3 record versions, a ClientHello inside one record */
    if (p[1] != 3 || p[2] > 4 || rec < 4 || rec > TLS_REC_MAX || p[5] != 1 || hs + 4 > rec)
        return SNI_NONE;
    size_t end = 9 + hs; /* the ClientHello's last byte + 1 */
    size_t lim = n < end ? n : end, at = 9;
    /* A field that runs past lim: more bytes would tell, unless lim is the end. */
#define NEED(k)                                 \
    do {                                        \
        if ((k) > lim - at) {                   \
            if (lim < end && (k) <= end - at) { \
                *need = end;                    \
                return SNI_MORE;                \
            }                                   \
            return SNI_NONE;                    \
        }                                       \
    } while (0)
    NEED(2 + 32 + 1); /* client_version, random, session id length */
    at += 34;
    size_t l = p[at];
    at += 1;
    NEED(l + 2); /* session id, cipher suites length */
    at += l;
    l = be16(p + at);
    at += 2;
    NEED(l + 1); /* cipher suites, compression methods length */
    at += l;
    l = p[at];
    at += 1;
    NEED(l); /* compression methods */
    at += l;
    if (at == end) /* no extensions (SSL 3.0 style): no name */
        return SNI_NONE;
    NEED(2);
    size_t xend = at + 2 + be16(p + at);
    at += 2;
    if (xend > end)
        return SNI_NONE;
    while (at < xend) {
        NEED(4);
        unsigned type = be16(p + at);
        size_t xl = be16(p + at + 2);
        at += 4;
        if (xl > xend - at)
            return SNI_NONE;
        if (type != 0) {
            if (xl > lim - at) { /* an extension we skip ends past what we have */
                *need = end;
                return SNI_MORE;
            }
            at += xl;
            continue;
        }
        NEED(xl);
        /* ServerNameList: u16 length, then (u8 name_type, u16 length, name)* */
        if (xl < 2 || be16(p + at) != xl - 2)
            return SNI_NONE;
        size_t q = at + 2, qend = at + xl;
        while (q + 3 <= qend) {
            size_t nl = be16(p + q + 1);
            if (nl > qend - q - 3)
                return SNI_NONE;
            if (p[q] == 0) /* host_name */
                return keep_name(p + q + 3, nl, out) ? SNI_FOUND : SNI_NONE;
            q += 3 + nl;
        }
        return SNI_NONE;
    }
#undef NEED
    return SNI_NONE;
}

/* The request methods of RFC 9110 section 9 and PATCH (RFC 5789), with their space. */
static size_t http_method(const uint8_t *p, size_t n)
{
    static const char *const m[] = { "GET ",     "POST ",    "HEAD ",  "PUT ",  "DELETE ",
                                     "OPTIONS ", "CONNECT ", "TRACE ", "PATCH " };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        size_t l = strlen(m[i]);
        if (memcmp(p, m[i], n < l ? n : l) == 0)
            return n < l ? 0 : l; /* 0: a prefix of a method, undecided */
    }
    return (size_t)-1;
}

/* The header block of a request is at most this long to be looked at. */
#define HTTP_HDR_MAX 8192

enum sni_result sni_http(const uint8_t *p, size_t n, char out[FS_SNI_MAX])
{
    if (n == 0)
        return SNI_NONE;
    size_t ml = http_method(p, n);
    if (ml == (size_t)-1)
        return SNI_NONE;
    if (ml == 0)
        return SNI_MORE;
    size_t lim = n < HTTP_HDR_MAX ? n : HTTP_HDR_MAX;
    /* the end of the request line */
    const uint8_t *nl = memchr(p, '\n', lim);
    if (!nl)
        return n < HTTP_HDR_MAX ? SNI_MORE : SNI_NONE;
    size_t at = (size_t)(nl - p) + 1;
    for (;;) {
        nl = memchr(p + at, '\n', lim - at);
        if (!nl)
            return n < HTTP_HDR_MAX ? SNI_MORE : SNI_NONE;
        size_t le = (size_t)(nl - p), e = le;
        if (e > at && p[e - 1] == '\r')
            e--;
        if (e == at) /* the empty line: the headers ended without a Host */
            return SNI_NONE;
        if (e - at >= 5 && strncasecmp((const char *)p + at, "host:", 5) == 0) {
            size_t v = at + 5;
            while (v < e && (p[v] == ' ' || p[v] == '\t'))
                v++;
            size_t ve = e;
            while (ve > v && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
                ve--;
            /* cut a :port (after the ']' of an IPv6 literal) */
            size_t c = ve;
            while (c > v && p[c - 1] >= '0' && p[c - 1] <= '9')
                c--;
            if (c > v + 1 && c < ve && p[c - 1] == ':' &&
                (p[v] == '[' ? p[c - 2] == ']' : memchr(p + v, ':', c - 1 - v) == NULL))
                ve = c - 1;
            return keep_name(p + v, ve - v, out) ? SNI_FOUND : SNI_NONE;
        }
        at = le + 1;
    }
}

enum sni_result sni_find(const uint8_t *p, size_t n, char out[FS_SNI_MAX], size_t *need)
{
    *need = 0;
    if (n && p[0] == 22)
        return sni_tls(p, n, out, need);
    return sni_http(p, n, out);
}

void sni_asm_free(struct sni_asm *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
}

static void give_up(struct sni_asm *s)
{
    s->done = 1;
    sni_asm_free(s);
}

void sni_segment(struct sni_asm *s, struct flow *f, const uint8_t *data, uint32_t datalen,
                 uint32_t payload, uint32_t seq)
{
    if (s->done || !payload)
        return;
    size_t need;
    enum sni_result r;
    if (!s->buf) {
        s->segs = 1;
        r = sni_find(data, datalen, f->sni, &need);
        if (r != SNI_MORE || datalen < payload) { /* found, none, or snapped */
            give_up(s);
            return;
        }
        s->buf = xmalloc(SNI_ASM_MAX);
        s->len = datalen < SNI_ASM_MAX ? datalen : SNI_ASM_MAX;
        memcpy(s->buf, data, s->len);
        s->next_seq = seq + payload;
        if (s->len < datalen)
            give_up(s);
        return;
    }
    int32_t d = (int32_t)(seq - s->next_seq);
    if (d < 0 && (int32_t)(seq + payload - s->next_seq) <= 0)
        return; /* a retransmission of bytes we have */
    if (d != 0 || datalen < payload || ++s->segs > 3 || datalen > SNI_ASM_MAX - s->len) {
        give_up(s); /* a gap, an overlap, a snapped segment, too many or too long */
        return;
    }
    memcpy(s->buf + s->len, data, datalen);
    s->len += datalen;
    s->next_seq = seq + payload;
    r = sni_find(s->buf, s->len, f->sni, &need);
    if (r != SNI_MORE)
        give_up(s);
}
