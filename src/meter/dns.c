#include "dns.h"

#include <string.h>

const char *dns_result_name(enum dns_result r)
{
    static const char *const names[DNS_NRESULTS] = {
        [DNS_OK] = "ok",
        [DNS_NOT_RESPONSE] = "not a response",
        [DNS_OPCODE] = "not a standard query",
        [DNS_TRUNC] = "truncated",
        [DNS_LABEL] = "label over 63 bytes or of an unknown type",
        [DNS_NAME_LONG] = "name over 255 bytes",
        [DNS_PTR_LOOP] = "compression pointer loop",
        [DNS_PTR_RANGE] = "compression pointer past the end",
        [DNS_RDATA] = "bad rdata length",
    };
    return (unsigned)r < DNS_NRESULTS ? names[r] : "?";
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static enum dns_result fail(enum dns_result r, size_t at, size_t *where)
{
    if (where)
        *where = at;
    return r;
}

/* One label byte in presentation form: letters lowered, [a-z0-9-_*] kept, else \DDD. */
static size_t put_byte(char *out, uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        c = (uint8_t)(c + 32);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*') {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = (char)('0' + c / 100);
    out[2] = (char)('0' + c / 10 % 10);
    out[3] = (char)('0' + c % 10);
    return 4;
}

enum dns_result dns_name(const uint8_t *buf, size_t len, size_t off, char *text, size_t *next,
                         size_t *where)
{
    size_t wire = 1, n = 0; /* wire length counts the root's zero byte */
    unsigned hops = 0;
    int jumped = 0;
    for (;;) {
        if (off >= len)
            return fail(DNS_TRUNC, off, where);
        uint8_t c = buf[off];
        if ((c & 0xc0) == 0xc0) {
            if (off + 1 >= len)
                return fail(DNS_TRUNC, off, where);
            size_t to = (size_t)(c & 0x3f) << 8 | buf[off + 1];
            if (!jumped)
                *next = off + 2;
            jumped = 1;
            if (++hops > DNS_MAX_HOPS)
                return fail(DNS_PTR_LOOP, off, where);
            if (to >= len)
                return fail(DNS_PTR_RANGE, off, where);
            off = to;
            continue;
        }
        if (c & 0xc0)
            return fail(DNS_LABEL, off, where);
        if (c == 0) {
            if (!jumped)
                *next = off + 1;
            break;
        }
        wire += (size_t)c + 1;
        if (wire > 255)
            return fail(DNS_NAME_LONG, off, where);
        if (off + 1 + c > len)
            return fail(DNS_TRUNC, off, where);
        if (n)
            text[n++] = '.';
        for (size_t i = 0; i < c; i++)
            n += put_byte(text + n, buf[off + 1 + i]);
        off += 1 + (size_t)c;
    }
    /* 254 wire bytes of labels at 4 characters a byte at most: n < DNS_NAME_TEXT. */
    if (n == 0)
        text[n++] = '.';
    text[n] = '\0';
    return DNS_OK;
}

/* Skip a name (questions, owner names of records we do not keep). */
static enum dns_result skip_name(const uint8_t *buf, size_t len, size_t off, size_t *next,
                                 size_t *where)
{
    char text[DNS_NAME_TEXT];
    return dns_name(buf, len, off, text, next, where);
}

/* Skip the question section: qd names, each with its type and class. */
static enum dns_result skip_questions(const uint8_t *buf, size_t len, unsigned qd, size_t *off,
                                      size_t *where)
{
    for (unsigned i = 0; i < qd; i++) {
        enum dns_result r = skip_name(buf, len, *off, off, where);
        if (r != DNS_OK)
            return r;
        if (len - *off < 4)
            return fail(DNS_TRUNC, *off, where);
        *off += 4;
    }
    return DNS_OK;
}

/*
 * The rdata at rd of an A, AAAA or CNAME answer into a (the CNAME's target text into
 * target). DNS_OK with *keep 0: a type we do not keep.
 */
static enum dns_result answer_rdata(const uint8_t *buf, size_t rd, uint16_t rdlen,
                                    struct dns_answer *a, char *target, int *keep, size_t *where)
{
    *keep = 1;
    if (a->rrtype == DNS_TYPE_A) {
        if (rdlen != 4)
            return fail(DNS_RDATA, rd, where);
        a->addr[10] = a->addr[11] = 0xff;
        memcpy(a->addr + 12, buf + rd, 4);
    } else if (a->rrtype == DNS_TYPE_AAAA) {
        if (rdlen != 16)
            return fail(DNS_RDATA, rd, where);
        memcpy(a->addr, buf + rd, 16);
    } else if (a->rrtype == DNS_TYPE_CNAME) {
        size_t end = 0; /* dns_name sets it on DNS_OK; the analyzer cannot tell */
        /* The name is read from the whole message (pointers), but its own bytes
         * must be the rdata's. */
        enum dns_result r = dns_name(buf, rd + rdlen, rd, target, &end, where);
        if (r != DNS_OK)
            return r == DNS_TRUNC ? fail(DNS_RDATA, rd, where) : r;
        if (end != rd + rdlen)
            return fail(DNS_RDATA, rd, where);
        a->cname = target;
    } else {
        *keep = 0;
    }
    return DNS_OK;
}

/* One answer record at *off (moved past it); fn, when not NULL, gets it if kept. */
static enum dns_result one_answer(const uint8_t *buf, size_t len, size_t *off, dns_answer_fn fn,
                                  void *ctx, size_t *where)
{
    char owner[DNS_NAME_TEXT], target[DNS_NAME_TEXT];
    enum dns_result r = dns_name(buf, len, *off, owner, off, where);
    if (r != DNS_OK)
        return r;
    size_t at = *off;
    if (len - at < 10)
        return fail(DNS_TRUNC, at, where);
    uint16_t type = be16(buf + at), cls = be16(buf + at + 2), rdlen = be16(buf + at + 8);
    uint32_t ttl = (uint32_t)be16(buf + at + 4) << 16 | be16(buf + at + 6);
    size_t rd = at + 10;
    if (len - rd < rdlen)
        return fail(DNS_TRUNC, rd, where);
    *off = rd + rdlen;
    if ((cls & 0x7fff) != 1)
        return DNS_OK;
    struct dns_answer a = { .rrname = owner, .rrtype = type, .ttl = ttl };
    int keep;
    r = answer_rdata(buf, rd, rdlen, &a, target, &keep, where);
    if (r == DNS_OK && keep && fn)
        fn(ctx, &a);
    return r;
}

/*
 * One pass over the questions and the answers; fn NULL checks only. Both passes walk
 * the same bytes, so the second cannot fail where the first succeeded.
 */
static enum dns_result walk(const uint8_t *buf, size_t len, dns_answer_fn fn, void *ctx,
                            size_t *where)
{
    uint16_t qd = be16(buf + 4), an = be16(buf + 6);
    size_t off = 12;
    enum dns_result r = skip_questions(buf, len, qd, &off, where);
    for (unsigned i = 0; r == DNS_OK && i < an; i++)
        r = one_answer(buf, len, &off, fn, ctx, where);
    return r;
}

enum dns_result dns_parse(const uint8_t *buf, size_t len, dns_answer_fn fn, void *ctx,
                          size_t *where)
{
    if (len < 12)
        return fail(DNS_TRUNC, len, where);
    if (!(buf[2] & 0x80))
        return fail(DNS_NOT_RESPONSE, 2, where);
    if (buf[2] & 0x78)
        return fail(DNS_OPCODE, 2, where);
    enum dns_result r = walk(buf, len, NULL, NULL, where);
    if (r != DNS_OK || !fn)
        return r;
    return walk(buf, len, fn, ctx, where);
}
