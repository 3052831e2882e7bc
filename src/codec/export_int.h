/*
 * Internals shared by src/io/export_{enc,ipfix,nf9,nf5}.c: the dialect row, the encoder
 * state the dialect writers read, big-endian writers for buffers we build ourselves
 * (explicit byte order, never a struct copy), and template field lists resolved through
 * the IE table of the decoder (ipfix_ie.c).
 */
#ifndef FS_EXPORT_INT_H
#define FS_EXPORT_INT_H

#include "datagram.h"
#include "export.h"

#include <stddef.h>
#include <stdint.h>

static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* Unsigned value in len (1..8) bytes, saturated: reduced-size encoding (RFC 7011 6.2). */
static inline void put_beN(uint8_t *p, uint16_t len, uint64_t v)
{
    if (len < 8 && v >> (8 * len))
        v = (1ull << (8 * len)) - 1;
    for (uint16_t i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

/* One template field: IE (pen, id) sent with len bytes. */
struct export_field {
    uint32_t pen;
    uint16_t id;
    uint16_t len;
};

/* How a template field gets its bytes from struct flow. EXK_SNI and EXK_CID are
 * variable-length strings (RFC 7011 section 7): the sni member, the computed cid. */
enum { EXK_UINT = 0, EXK_UPTIME, EXK_ADDR4, EXK_ADDR6, EXK_SNI, EXK_CID };

/* One compiled step of a data record: the flow member at off, size bytes, as kind. */
struct export_op {
    uint16_t off;
    uint8_t size;
    uint8_t kind;
};

#define EXPORT_MAX_FIELDS 48

/*
 * A template compiled once into copy steps (the mirror of the decoder's tmpl_op):
 * each field's IE is looked up in ipfix_ie.c, its slot names the flow member.
 */
struct export_tmpl {
    uint16_t id;
    uint16_t nfields;
    uint16_t reclen; /* bytes of one data record: all of it, or its fixed-length part */
    uint8_t varlen;  /* has variable-length fields (export_rec_len) */
    struct export_field fields[EXPORT_MAX_FIELDS];
    struct export_op op[EXPORT_MAX_FIELDS];
};

#define EXPORT_NTMPL 2 /* [0] IPv4, [1] IPv6 */

struct export_enc {
    const struct export_dialect *d;
    struct export_enc_opts o;
    export_emit emit;
    void *ctx;
    struct export_tmpl t[EXPORT_NTMPL];
    uint8_t *buf;         /* o.max_msg bytes */
    size_t len;           /* bytes in the message being filled; 0 = none */
    size_t set_off;       /* offset of the open set header */
    uint16_t set_id;      /* id of the open set; 0 = none */
    uint32_t nrec, ntmpl; /* data and template records in the message */
    uint64_t now_ms;      /* the clock: latest now given */
    uint64_t msg_ms;      /* export time in the header of the message being filled */
    uint64_t tmpl_at;     /* clock when templates were last sent */
    uint32_t since_tmpl;  /* messages since templates were last sent */
    uint32_t seq;         /* next sequence number, as the dialect counts */
    int started;          /* o.start_ms is final (a message went out) */
    struct export_stats st;
};

struct export_dialect {
    const char *name;     /* URL scheme */
    int version;          /* 10, 9, 5 */
    uint16_t max_records; /* per message by the protocol; 0 = by size only */
    uint8_t v6;           /* carries IPv6 */
    uint8_t biflow;       /* one record carries both directions (RFC 5103) */
    uint8_t pad4;         /* pad data sets to 4 bytes (v9 SHOULD) */
    uint8_t uptime;       /* record times relative to the header's sysUptime */
    uint16_t hdr_len;
    uint16_t rec_len; /* fixed record length (v5); 0 = the template's */
    /* Template field lists [IPv4, IPv6], NULL for v5 (fixed records). */
    const struct export_field *fields[EXPORT_NTMPL];
    uint16_t nfields[EXPORT_NTMPL];
    /* Write the template set at p; returns its length, *ntmpl = records in it. */
    size_t (*templates)(const struct export_enc *e, uint8_t *p, uint32_t *ntmpl);
    /* Write one data record of f at p (length: reclen of its template, or fixed). */
    void (*record)(const struct export_enc *e, const struct flow *f, uint8_t *p);
    /* Fill the header of the message and advance e->seq. */
    void (*header)(struct export_enc *e, uint8_t *msg, size_t len);
};

extern const struct export_dialect export_ipfix, export_nf9, export_nf5;

/* sysUptime (ms since the exporter's start) of clock value ms, modulo 2^32. */
static inline uint32_t export_uptime(const struct export_enc *e, uint64_t ms)
{
    return (uint32_t)(ms - e->o.start_ms);
}

/* Template of a flow: [0] IPv4, [1] IPv6. */
static inline const struct export_tmpl *export_tmpl_of(const struct export_enc *e,
                                                       const struct flow *f)
{
    return &e->t[f->ipver == 6];
}

/* Template set of e's templates at p (v9 flowset 0 / IPFIX set 2); see dialect. */
size_t export_templates(const struct export_enc *e, uint8_t *p, uint32_t *ntmpl);

/* Bytes of f's data record by template t (t->reclen plus its strings). */
size_t export_rec_len(const struct export_enc *e, const struct export_tmpl *t,
                      const struct flow *f);

/* Write f's data record by template t at p (export_rec_len bytes). */
void export_tmpl_record(const struct export_enc *e, const struct export_tmpl *t,
                        const struct flow *f, uint8_t *p);

#endif
