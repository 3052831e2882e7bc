/*
 * IPFIX export (RFC 7011): header, the two templates, one biflow per data record
 * (RFC 5103: reverse counters as PEN 29305 reverse IEs) and flowsleuth's own IEs under
 * PEN 32473 (FS_PEN; docs/internals/export.md lists them).
 *
 *   header: u16 version=10 | u16 length | u32 export time (s) | u32 sequence (data
 *           records sent before this message, mod 2^32) | u32 observation domain
 *
 * Template 256 (IPv4) and 257 (IPv6) differ only in the address IEs. Times are
 * absolute milliseconds (152/153); counters go as 8-byte deltas; packet sizes as
 * 2-byte reduced-size minimum/maximumIpTotalLength.
 */
#include "export_int.h"

#define REV 29305u
#define FSR (FS_PEN_REVERSE)

#define COMMON_FIELDS                                                                           \
    { 0, 7, 2 }, { 0, 11, 2 }, { 0, 4, 1 }, { 0, 5, 1 }, { 0, 6, 2 }, { 0, 1, 8 }, { 0, 2, 8 }, \
        { REV, 1, 8 }, { REV, 2, 8 }, { REV, 6, 2 }, { 0, 10, 4 }, { 0, 14, 4 }, { 0, 16, 4 },  \
        { 0, 17, 4 }, { 0, 58, 2 }, { 0, 25, 2 }, { 0, 26, 2 }, { REV, 25, 2 }, { REV, 26, 2 }, \
        { FS_PEN, 1, 8 }, { FS_PEN, FSR | 1, 8 }, { FS_PEN, 2, 8 }, { FS_PEN, FSR | 2, 8 },     \
        { FS_PEN, 3, 8 }, { FS_PEN, FSR | 3, 8 },                                               \
    {                                                                                           \
        FS_PEN, 4, 4                                                                            \
    }

/* flowStart/EndMilliseconds, addresses, then the common part. */
static const struct export_field ipfix_v4[] = {
    { 0, 152, 8 }, { 0, 153, 8 }, { 0, 8, 4 }, { 0, 12, 4 }, COMMON_FIELDS
};
static const struct export_field ipfix_v6[] = {
    { 0, 152, 8 }, { 0, 153, 8 }, { 0, 27, 16 }, { 0, 28, 16 }, COMMON_FIELDS
};

static void ipfix_record(const struct export_enc *e, const struct flow *f, uint8_t *p)
{
    export_tmpl_record(e, export_tmpl_of(e, f), f, p);
}

static void ipfix_header(struct export_enc *e, uint8_t *msg, size_t len)
{
    put_be16(msg, 10);
    put_be16(msg + 2, (uint16_t)len);
    put_be32(msg + 4, (uint32_t)(e->msg_ms / 1000));
    put_be32(msg + 8, e->seq);
    put_be32(msg + 12, e->o.domain);
    e->seq += e->nrec; /* RFC 7011: data records, not templates, not messages */
}

const struct export_dialect export_ipfix = {
    .name = "ipfix",
    .version = 10,
    .max_records = 0,
    .v6 = 1,
    .biflow = 1,
    .pad4 = 0,
    .uptime = 0,
    .hdr_len = 16,
    .rec_len = 0,
    .fields = { ipfix_v4, ipfix_v6 },
    .nfields = { sizeof(ipfix_v4) / sizeof(ipfix_v4[0]), sizeof(ipfix_v6) / sizeof(ipfix_v6[0]) },
    .templates = export_templates,
    .record = ipfix_record,
    .header = ipfix_header,
};
