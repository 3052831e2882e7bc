/*
 * NetFlow v5: a fixed 24-byte header and fixed 48-byte records, IPv4 only.
 *
 *   header: u16 version=5 | u16 count | u32 sysUptime ms | u32 unix_secs | u32 unix_nsecs
 *           u32 flow_sequence | u8 engine_type | u8 engine_id | u16 sampling (2b mode, 14b n)
 *   record: u32 src | u32 dst | u32 nexthop | u16 input | u16 output | u32 packets
 *           u32 octets | u32 first (uptime ms) | u32 last | u16 sport | u16 dport | u8 pad
 *           u8 tcp_flags | u8 proto | u8 tos | u16 src_as | u16 dst_as | u8 src_mask
 *           u8 dst_mask | u16 pad
 *
 * The domain of a v5 exporter is engine_type << 8 | engine_id. A header count larger
 * than the datagram holds is decoded as far as records go and counted malformed
 * (tshark does the same with the logstash "invalid" samples).
 */
#include "../core/err.h"
#include "datagram.h"

#include <string.h>

#define NF5_HDR 24
#define NF5_REC 48

static void nf5_record(struct rd *r, const struct tmpl_time *tt, struct flow *f)
{
    uint8_t a[4];
    memset(f, 0, sizeof(*f));
    rd_bytes(r, a, 4);
    flow_addr_from_v4(f->src, a);
    rd_bytes(r, a, 4);
    flow_addr_from_v4(f->dst, a);
    rd_skip(r, 4); /* next hop */
    f->in_if = rd_be16(r);
    f->out_if = rd_be16(r);
    f->packets = rd_be32(r);
    f->bytes = rd_be32(r);
    uint32_t first = rd_be32(r), last = rd_be32(r);
    f->sport = rd_be16(r);
    f->dport = rd_be16(r);
    rd_skip(r, 1);
    f->flags = rd_u8(r);
    f->proto = rd_u8(r);
    f->tos = rd_u8(r);
    f->src_as = rd_be16(r);
    f->dst_as = rd_be16(r);
    rd_skip(r, 4); /* masks, pad */
    f->ipver = 4;
    /* Signed distance from the header uptime: survives the 49.7-day uptime wrap. */
    f->first = (uint64_t)((int64_t)tt->export_ms - (int32_t)(tt->sysuptime - first));
    f->last = (uint64_t)((int64_t)tt->export_ms - (int32_t)(tt->sysuptime - last));
}

/* Decode one NetFlow v5 datagram; returns 0 or a negative FS_E* code. */
int nf5_decode(struct collect_ctx *x, const uint8_t *data, size_t len)
{
    struct rd r = rd_init(data, len);
    struct tmpl_time tt = { 0 };
    rd_skip(&r, 2);
    uint16_t count = rd_be16(&r);
    tt.sysuptime = rd_be32(&r);
    uint32_t secs = rd_be32(&r), nsecs = rd_be32(&r), seq = rd_be32(&r);
    uint32_t domain = rd_be16(&r); /* engine type, engine id */
    uint16_t sampling = rd_be16(&r) & 0x3fff;
    tt.export_ms = (uint64_t)secs * 1000 + nsecs / 1000000;
    tt.has_uptime = 1;
    if (r.err) {
        collect_malformed(x, 0, 5, CR_SHORT);
        return FS_ETRUNC;
    }
    collect_exp_stats(x, domain, 5)->datagrams++;
    size_t avail = rd_left(&r) / NF5_REC, n = count;
    if (n > avail) {
        collect_malformed(x, domain, 5, CR_LENGTH);
        n = avail;
    }
    for (size_t i = 0; i < n && !x->stopped; i++) {
        struct flow f;
        nf5_record(&r, &tt, &f);
        collect_emit(x, domain, 5, &f, sampling);
    }
    collect_seq(x, domain, 5, seq, count);
    return 0;
}
