/*
 * NetFlow v5 export: fixed 24-byte header and 48-byte records, IPv4 uniflows only, at
 * most 30 records a message (layout in nf5.c). What v5 cannot hold is documented in
 * docs/internals/export.md: counters saturate at 2^32 - 1, interfaces at 65535, AS
 * numbers above 65535 become AS_TRANS 23456 (RFC 6793); no VLAN, packet sizes,
 * payload, goodput, retransmissions or exchange; IPv6 flows are left out (counted).
 */
#include "export_int.h"

#include <string.h>

#define NF5_REC  48
#define AS_TRANS 23456u

static uint16_t as16(uint32_t as)
{
    return as > 0xffff ? (uint16_t)AS_TRANS : (uint16_t)as;
}

static void nf5_record(const struct export_enc *e, const struct flow *f, uint8_t *p)
{
    memset(p, 0, NF5_REC);
    memcpy(p, f->src + 12, 4);
    memcpy(p + 4, f->dst + 12, 4);
    /* next hop (8) stays 0: a meter routes nothing */
    put_beN(p + 12, 2, f->in_if);
    put_beN(p + 14, 2, f->out_if);
    put_beN(p + 16, 4, f->packets);
    put_beN(p + 20, 4, f->bytes);
    put_be32(p + 24, export_uptime(e, f->first));
    put_be32(p + 28, export_uptime(e, f->last));
    put_be16(p + 32, f->sport);
    put_be16(p + 34, f->dport);
    p[37] = f->flags;
    p[38] = f->proto;
    p[39] = f->tos;
    put_be16(p + 40, as16(f->src_as));
    put_be16(p + 42, as16(f->dst_as));
    /* masks and padding stay 0 */
}

/* v5 carries nanoseconds, so the uptime can be the exact clock. */
static void nf5_header(struct export_enc *e, uint8_t *msg, size_t len)
{
    (void)len;
    put_be16(msg, 5);
    put_be16(msg + 2, (uint16_t)e->nrec);
    put_be32(msg + 4, export_uptime(e, e->msg_ms));
    put_be32(msg + 8, (uint32_t)(e->msg_ms / 1000));
    put_be32(msg + 12, (uint32_t)(e->msg_ms % 1000) * 1000000u);
    put_be32(msg + 16, e->seq);
    msg[20] = 0;                    /* engine type */
    msg[21] = (uint8_t)e->o.domain; /* engine id */
    put_be16(msg + 22, 0);          /* no sampling */
    e->seq += e->nrec;              /* v5: flows sent before this message */
}

const struct export_dialect export_nf5 = {
    .name = "nf5",
    .version = 5,
    .max_records = 30,
    .v6 = 0,
    .biflow = 0,
    .pad4 = 0,
    .uptime = 1,
    .hdr_len = 24,
    .rec_len = NF5_REC,
    .fields = { NULL, NULL },
    .nfields = { 0, 0 },
    .templates = NULL,
    .record = nf5_record,
    .header = nf5_header,
};
