/*
 * Community ID v1: the byte layout of the hash input is the specification's
 * (big-endian seed, addresses of 4 or 16 bytes, protocol, a zero byte, ports), so every
 * implementation hashes the same 32-bit-aligned bytes.
 */
/* OpenSSL 3 marks the low-level SHA1_* calls deprecated, but its one-shot SHA1() goes
 * through an EVP fetch on every call: 661 ns against 70 ns for 40 bytes here, and
 * print --eve and the cid filter hash every record. */
#define OPENSSL_API_COMPAT 10101

#include "cid.h"

#include <openssl/sha.h>
#include <string.h>

static uint16_t seed_;

void cid_set_seed(uint16_t seed)
{
    seed_ = seed;
}

uint16_t cid_seed(void)
{
    return seed_;
}

/* The counterpart of an ICMP (v4: 1, v6: 58) request or reply type, -1 when none. */
static int icmp_counterpart(uint8_t proto, unsigned type)
{
    static const uint8_t v4[][2] = { { 8, 0 }, { 13, 14 }, { 15, 16 }, { 10, 9 }, { 17, 18 } };
    static const uint8_t v6[][2] = { { 128, 129 }, { 130, 131 }, { 133, 134 },
                                     { 135, 136 }, { 139, 140 }, { 144, 145 } };
    const uint8_t(*pairs)[2] = proto == 1 ? v4 : v6;
    size_t n = proto == 1 ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);
    for (size_t i = 0; i < n; i++) {
        if (pairs[i][0] == type)
            return pairs[i][1];
        if (pairs[i][1] == type)
            return pairs[i][0];
    }
    return -1;
}

static int has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}

void cid_digest(const struct flow *f, uint16_t seed, uint8_t out[CID_DIGEST])
{
    int v4 = f->ipver == 4;
    size_t alen = v4 ? 4 : 16;
    const uint8_t *a = v4 ? f->src + 12 : f->src, *b = v4 ? f->dst + 12 : f->dst;
    unsigned pa = f->sport, pb = f->dport;
    int one_way = 0;
    if (f->proto == 1 || f->proto == 58) {
        unsigned type = f->dport >> 8, code = f->dport & 0xff;
        int other = icmp_counterpart(f->proto, type);
        pa = type;
        pb = other >= 0 ? (unsigned)other : code;
        one_way = other < 0;
    }
    int c = memcmp(a, b, alen);
    if (!one_way && (c > 0 || (c == 0 && pa > pb))) {
        const uint8_t *t = a;
        a = b;
        b = t;
        unsigned tp = pa;
        pa = pb;
        pb = tp;
    }
    uint8_t in[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    in[n++] = (uint8_t)(seed >> 8);
    in[n++] = (uint8_t)seed;
    memcpy(in + n, a, alen);
    n += alen;
    memcpy(in + n, b, alen);
    n += alen;
    in[n++] = f->proto;
    in[n++] = 0;
    if (has_ports(f->proto)) {
        in[n++] = (uint8_t)(pa >> 8);
        in[n++] = (uint8_t)pa;
        in[n++] = (uint8_t)(pb >> 8);
        in[n++] = (uint8_t)pb;
    }
    SHA_CTX sha;
    SHA1_Init(&sha);
    SHA1_Update(&sha, in, n);
    SHA1_Final(out, &sha);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cid_format(const uint8_t d[CID_DIGEST], char *buf)
{
    size_t n = 0;
    buf[n++] = '1';
    buf[n++] = ':';
    for (size_t i = 0; i < CID_DIGEST; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < CID_DIGEST)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < CID_DIGEST)
            v |= d[i + 2];
        buf[n++] = b64[v >> 18 & 63];
        buf[n++] = b64[v >> 12 & 63];
        buf[n++] = b64[v >> 6 & 63];
        buf[n++] = b64[v & 63];
    }
    buf[n - 1] = '='; /* 20 bytes leave the last group one byte short */
    buf[n] = '\0';
    return n;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int cid_parse(const char *s, size_t len, uint8_t out[CID_DIGEST])
{
    /* 20 bytes = 6 groups of 3 and one of 2: 27 characters and one '='. */
    if (len != 30 || s[0] != '1' || s[1] != ':' || s[29] != '=')
        return -1;
    uint32_t acc = 0;
    size_t bits = 0, n = 0;
    for (size_t i = 2; i < 29; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* The padding bits of the last character must be zero in a canonical encoding. */
    return n == CID_DIGEST && (acc & ((1u << bits) - 1)) == 0 ? 0 : -1;
}
