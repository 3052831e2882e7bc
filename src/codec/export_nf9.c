/*
 * NetFlow v9 export (RFC 3954): header, flowset 0 with templates 256 (IPv4) and 257
 * (IPv6), data flowsets padded to 4 bytes. One uniflow per record: a biflow goes as
 * its forward direction and, when it has packets, its reverse (export_enc.c). v9 has
 * no field for payload, goodput, retransmissions or the exchange: they are not sent.
 *
 *   header: u16 version=9 | u16 count (template + data records) | u32 sysUptime ms
 *           u32 unix secs | u32 sequence (messages sent before) | u32 source id
 *
 * FIRST_SWITCHED / LAST_SWITCHED are sysUptime values of the flow's ends. Counters are
 * 8 bytes (IN_BYTES/IN_PKTS allow N bytes), interfaces and AS numbers 4.
 */
#include "export_int.h"

/* FIRST/LAST_SWITCHED, addresses, then ports, protocol, counters, ... */
#define NF9_COMMON                                                                              \
    { 0, 7, 2 }, { 0, 11, 2 }, { 0, 4, 1 }, { 0, 5, 1 }, { 0, 6, 1 }, { 0, 1, 8 }, { 0, 2, 8 }, \
        { 0, 10, 4 }, { 0, 14, 4 }, { 0, 16, 4 }, { 0, 17, 4 }, { 0, 58, 2 }, { 0, 25, 2 },     \
    {                                                                                           \
        0, 26, 2                                                                                \
    }

static const struct export_field nf9_v4[] = {
    { 0, 22, 4 }, { 0, 21, 4 }, { 0, 8, 4 }, { 0, 12, 4 }, NF9_COMMON
};
static const struct export_field nf9_v6[] = {
    { 0, 22, 4 }, { 0, 21, 4 }, { 0, 27, 16 }, { 0, 28, 16 }, NF9_COMMON
};

static void nf9_record(const struct export_enc *e, const struct flow *f, uint8_t *p)
{
    export_tmpl_record(e, export_tmpl_of(e, f), f, p);
}

/*
 * sysUptime is taken at the whole second of the header's unix secs: a collector
 * computes boot = secs * 1000 - sysUptime, and with both from one instant the
 * *_SWITCHED times come back exact to the millisecond.
 */
static void nf9_header(struct export_enc *e, uint8_t *msg, size_t len)
{
    (void)len;
    uint64_t secs = e->msg_ms / 1000;
    put_be16(msg, 9);
    put_be16(msg + 2, (uint16_t)(e->nrec + e->ntmpl));
    put_be32(msg + 4, export_uptime(e, secs * 1000));
    put_be32(msg + 8, (uint32_t)secs);
    put_be32(msg + 12, e->seq);
    put_be32(msg + 16, e->o.domain);
    e->seq++; /* RFC 3954: export packets */
}

const struct export_dialect export_nf9 = {
    .name = "nf9",
    .version = 9,
    .max_records = 0,
    .v6 = 1,
    .biflow = 0,
    .pad4 = 1,
    .uptime = 1,
    .hdr_len = 20,
    .rec_len = 0,
    .fields = { nf9_v4, nf9_v6 },
    .nfields = { sizeof(nf9_v4) / sizeof(nf9_v4[0]), sizeof(nf9_v6) / sizeof(nf9_v6[0]) },
    .templates = export_templates,
    .record = nf9_record,
    .header = nf9_header,
};
