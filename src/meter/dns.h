/*
 * DNS responses: the answers of one message (RFC 1035 4.1) that passive DNS keeps:
 * A, AAAA and CNAME records of class IN in the answer section. Pure: no I/O, no
 * allocation, so the unit tests and the fuzzer call it directly (fuzz/fuzz_dns.c).
 *
 * The message is untrusted. Every length is checked against the buffer; a compression
 * pointer may point anywhere inside the message but a name follows at most
 * DNS_MAX_HOPS of them (a loop ends there) and is at most 255 bytes in wire form (RFC
 * 1035 3.1); a label length byte with the top bits 01 or 10 (a label over 63 bytes,
 * or the obsolete extended label types) is an error. The whole answer section is
 * checked before the first callback, so a bad message gives no answer at all.
 *
 * Names are given in presentation form without the final dot ("www.example.com"; the
 * root is "."), ASCII letters lowered (resolvers randomise their case, RFC 0x20 draft),
 * and every byte other than a letter, digit, '-', '_' or '*' written as \DDD (RFC 1035
 * 5.1), so a name is printable and never holds a '.', '"' or ',' of its own.
 */
#ifndef FS_DNS_H
#define FS_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A     1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA  28

#define DNS_MAX_HOPS  64   /* compression pointers followed in one name */
#define DNS_NAME_TEXT 1024 /* presentation form: 253 bytes, each at most 4 chars, + NUL */

enum dns_result {
    DNS_OK = 0,
    DNS_NOT_RESPONSE, /* QR clear: a query (not an error, nothing to take) */
    DNS_OPCODE,       /* a response to something other than a standard query (opcode != 0) */
    DNS_TRUNC,        /* the message ends inside the header, a name or a record */
    DNS_LABEL,        /* a label length byte 0x40..0xbf: longer than 63 or an unknown type */
    DNS_NAME_LONG,    /* a name longer than 255 bytes in wire form */
    DNS_PTR_LOOP,     /* more than DNS_MAX_HOPS compression pointers in one name */
    DNS_PTR_RANGE,    /* a compression pointer past the message's end */
    DNS_RDATA,        /* an A/AAAA rdata of the wrong length, a CNAME name not filling it */
    DNS_NRESULTS
};

/* Short stable names ("truncated", "pointer loop", ...) for counters and messages. */
const char *dns_result_name(enum dns_result r);

struct dns_answer {
    const char *rrname; /* owner name, presentation form */
    uint16_t rrtype;    /* DNS_TYPE_A, _AAAA or _CNAME */
    uint32_t ttl;
    uint8_t addr[16];  /* A: IPv4-mapped; AAAA: as is */
    const char *cname; /* CNAME: the target, presentation form; NULL otherwise */
};

typedef void (*dns_answer_fn)(void *ctx, const struct dns_answer *a);

/*
 * Parse the DNS message buf[0..len) (a UDP payload, or one TCP message without its
 * length prefix). On DNS_OK, fn is called for each A, AAAA and CNAME answer of class
 * IN, in order (fn may be NULL: check only). On an error, *where (when not NULL) gets
 * the byte offset at which the problem was found and fn is not called.
 */
enum dns_result dns_parse(const uint8_t *buf, size_t len, dns_answer_fn fn, void *ctx,
                          size_t *where);

/*
 * Read the name at off: its presentation form into text (DNS_NAME_TEXT bytes), *next
 * the offset just after the name where it started (after its first pointer, if any).
 * For the unit tests and dns_parse.
 */
enum dns_result dns_name(const uint8_t *buf, size_t len, size_t off, char *text, size_t *next,
                         size_t *where);

#endif
