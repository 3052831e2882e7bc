#include "sni.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* The largest TLS record a ClientHello may come in (RFC 8446: 2^14 plaintext). */
#define TLS_REC_MAX 16384

/* A ClientHello being read: what is at hand of it and where the reading is. */
struct hello {
    const uint8_t *p;
    size_t at;           /* the next byte to read */
    size_t lim;          /* the bytes at hand: the ClientHello's or fewer */
    size_t end;          /* the ClientHello's last byte + 1 */
    enum sni_result res; /* why the reading stopped: SNI_MORE or SNI_NONE */
};

/* Are k more bytes at hand? If not, more bytes would tell, unless lim is the end. */
static int have(struct hello *h, size_t k)
{
    if (k <= h->lim - h->at)
        return 1;
    h->res = h->lim < h->end && k <= h->end - h->at ? SNI_MORE : SNI_NONE;
    return 0;
}

/* Fewer than the record and handshake headers (5 + 4 bytes): a ClientHello so far? */
static enum sni_result short_header(const uint8_t *p, size_t n, size_t *need)
{
    if ((n >= 2 && p[1] != 3) || (n >= 3 && p[2] > 4) || (n >= 6 && p[5] != 1))
        return SNI_NONE;
    *need = 9;
    return SNI_MORE;
}

/* Skip the fields before the extensions; 1 when the extensions' length is at hand. */
static int skip_to_extensions(struct hello *h)
{
    const uint8_t *p = h->p;
    if (!have(h, 2 + 32 + 1)) /* client_version, random, session id length */
        return 0;
    h->at += 34;
    size_t l = p[h->at];
    h->at += 1;
    if (!have(h, l + 2)) /* session id, cipher suites length */
        return 0;
    h->at += l;
    l = be16(p + h->at);
    h->at += 2;
    if (!have(h, l + 1)) /* cipher suites, compression methods length */
        return 0;
    h->at += l;
    l = p[h->at];
    h->at += 1;
    if (!have(h, l)) /* compression methods */
        return 0;
    h->at += l;
    if (h->at == h->end) { /* no extensions (SSL 3.0 style): no name */
        h->res = SNI_NONE;
        return 0;
    }
    return have(h, 2);
}

/* Find the server_name extension; 1 with its *len bytes at hand at h->at. */
static int find_server_name(struct hello *h, size_t *len)
{
    const uint8_t *p = h->p;
    size_t xend = h->at + 2 + be16(p + h->at);
    h->at += 2;
    h->res = SNI_NONE;
    if (xend > h->end)
        return 0;
    while (h->at < xend) {
        if (!have(h, 4))
            return 0;
        unsigned type = be16(p + h->at);
        size_t xl = be16(p + h->at + 2);
        h->at += 4;
        if (xl > xend - h->at)
            return 0;
        if (type == 0) {
            *len = xl;
            return have(h, xl);
        }
        if (xl > h->lim - h->at) { /* an extension we skip ends past what we have */
            h->res = SNI_MORE;
            return 0;
        }
        h->at += xl;
    }
    return 0;
}

/* The host_name of a ServerNameList x[0..n): u16 length, then (u8 type, u16 length, name)*. */
static enum sni_result host_name(const uint8_t *x, size_t n, char out[FS_SNI_MAX])
{
    if (n < 2 || be16(x) != n - 2)
        return SNI_NONE;
    size_t q = 2;
    while (q + 3 <= n) {
        size_t nl = be16(x + q + 1);
        if (nl > n - q - 3)
            return SNI_NONE;
        if (x[q] == 0) /* host_name */
            return sni_keep(x + q + 3, nl, out) ? SNI_FOUND : SNI_NONE;
        q += 3 + nl;
    }
    return SNI_NONE;
}

enum sni_result sni_tls(const uint8_t *p, size_t n, char out[FS_SNI_MAX], size_t *need)
{
    *need = 0;
    if (n < 1 || p[0] != 22)
        return SNI_NONE;
    if (n < 9) /* record header (5) and handshake header (4) */
        return short_header(p, n, need);
    size_t rec = be16(p + 3);
    size_t hs = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
    /* SSL 3.0 .. TLS 1.3 record versions, a ClientHello inside one record */
    if (p[1] != 3 || p[2] > 4 || rec < 4 || rec > TLS_REC_MAX || p[5] != 1 || hs + 4 > rec)
        return SNI_NONE;
    struct hello h = { .p = p, .at = 9, .end = 9 + hs, .res = SNI_NONE };
    h.lim = n < h.end ? n : h.end;
    size_t xl;
    if (skip_to_extensions(&h) && find_server_name(&h, &xl))
        return host_name(p + h.at, xl, out);
    if (h.res == SNI_MORE)
        *need = h.end;
    return h.res;
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
            return sni_keep(p + v, ve - v, out) ? SNI_FOUND : SNI_NONE;
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
