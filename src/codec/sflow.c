/*
 * sFlow v5 (sflow.org sflow_version_5.txt), XDR: every field a 4-byte multiple.
 *
 *   datagram: u32 version=5 | u32 agent addr type (1 = IPv4, 2 = IPv6) | agent address
 *             | u32 sub-agent id | u32 sequence | u32 uptime ms | u32 nsamples | samples
 *   sample:   u32 tag (enterprise << 12 | format) | u32 length | body
 *     0:1 flow sample:      seq | source id | rate | pool | drops | input | output | n
 *     0:3 expanded flow:    seq | id type | id index | rate | pool | drops
 *                           | in format | in value | out format | out value | n
 *     0:2, 0:4 counters:    counted, not decoded
 *   flow record: u32 tag | u32 length | body
 *     1 raw header: u32 protocol (1 Ethernet, 11 IPv4, 12 IPv6) | u32 frame length
 *                   | u32 stripped | u32 header length | header bytes (padded to 4)
 *     3 / 4 sampled IPv4 / IPv6: length | proto | src | dst | sport | dport | flags | tos
 *     1001 extended switch: src vlan | src prio | dst vlan | dst prio
 *     1003 extended gateway: next hop (u32 type 0/1/2 + 0/4/16 bytes) | router AS
 *                   | src AS | src peer AS | u32 nsegments, each: u32 type (1 set,
 *                   2 sequence) | u32 n | n x u32 AS | communities<> | localpref
 *
 * Gateway AS numbers as sflowtool and nfdump's sfcapd read them: src_as is the
 * record's source AS as sent (0 stays 0: the agent did not know it or the source is
 * local), dst_as the last AS of the destination path (0 for an empty path). The next
 * hop, router AS and peer AS have no field in the flow record; they are checked for
 * length and skipped.
 *
 * Each flow sample becomes one flow of one packet, scaled by the sampling rate; the
 * raw header goes through the meter's decode_packet. Time = the datagram's arrival.
 */
#include "../capture/decode.h"
#include "../core/err.h"
#include "datagram.h"

#include <string.h>

#define SFLOW_V 'S' /* version key of sFlow entries in the collector */

struct sflow_sample {
    uint32_t rate, in_if, out_if, nrec;
};

/* Raw packet header record -> flow; 0 when the header decodes to IP. */
static int sflow_raw(struct rd *r, struct flow *f)
{
    static const int dlts[13] = { [1] = FS_DLT_EN10MB, [11] = FS_DLT_IPV4, [12] = FS_DLT_IPV6 };
    uint32_t proto = rd_be32(r), frame = rd_be32(r);
    rd_skip(r, 4); /* stripped */
    uint32_t hl = rd_be32(r);
    const uint8_t *h = rd_take(r, hl);
    rd_skip(r, (4 - hl % 4) % 4);
    if (!h || proto >= 13 || !dlts[proto])
        return -1;
    struct pkt p;
    enum decode_result dr = decode_packet(dlts[proto], h, hl, frame, &p);
    if (dr != DEC_OK && dr != DEC_TRUNC_L4 && dr != DEC_BAD_L4)
        return -1;
    memcpy(f->src, p.src, 16);
    memcpy(f->dst, p.dst, 16);
    f->ipver = p.ipver;
    f->proto = p.proto;
    f->sport = p.sport;
    f->dport = p.dport;
    f->flags = p.tcpflags;
    f->tos = p.tos;
    f->bytes = p.iplen;
    if (p.vlan)
        f->vlan = p.vlan;
    return 0;
}

/* Sampled IPv4 (3) / IPv6 (4) record: the agent decoded the header for us. */
static int sflow_sampled_ip(struct rd *r, struct flow *f, int v6)
{
    f->bytes = rd_be32(r);
    f->proto = (uint8_t)rd_be32(r);
    if (v6) {
        rd_bytes(r, f->src, 16);
        rd_bytes(r, f->dst, 16);
    } else {
        uint8_t a[4];
        rd_bytes(r, a, 4);
        flow_addr_from_v4(f->src, a);
        rd_bytes(r, a, 4);
        flow_addr_from_v4(f->dst, a);
    }
    f->sport = (uint16_t)rd_be32(r);
    f->dport = (uint16_t)rd_be32(r);
    f->flags = (uint8_t)rd_be32(r);
    f->tos = (uint8_t)rd_be32(r);
    f->ipver = v6 ? 6 : 4;
    return r->err ? -1 : 0;
}

/* Extended gateway (1003) -> src_as, dst_as; -1 (nothing set) when inconsistent. */
static int sflow_gateway(struct rd *r, uint32_t *src_as, uint32_t *dst_as)
{
    uint32_t nh = rd_be32(r);
    if (nh > 2)
        return -1;
    rd_skip(r, nh == 0 ? 0 : nh == 1 ? 4 : 16);
    rd_skip(r, 4); /* the router's own AS */
    uint32_t src = rd_be32(r);
    rd_skip(r, 4); /* source peer AS */
    uint32_t nseg = rd_be32(r), dst = 0;
    /* Each segment is at least 8 bytes: a lying count ends at the record's end. */
    for (uint32_t i = 0; i < nseg && !r->err; i++) {
        uint32_t type = rd_be32(r), n = rd_be32(r);
        if ((type != 1 && type != 2) || n > rd_left(r) / 4)
            return -1;
        if (n) {
            rd_skip(r, (size_t)(n - 1) * 4);
            dst = rd_be32(r);
        }
    }
    uint32_t ncomm = rd_be32(r);
    if (r->err || ncomm > rd_left(r) / 4)
        return -1;
    rd_skip(r, (size_t)ncomm * 4);
    rd_skip(r, 4); /* localpref */
    if (r->err)
        return -1;
    *src_as = src;
    *dst_as = dst;
    return 0;
}

/* The flow records of one sample; emits one flow when a packet record decoded. */
static void sflow_records(struct collect_ctx *x, uint32_t dom, struct rd *r,
                          const struct sflow_sample *s)
{
    struct flow f;
    int have = 0, have_raw = 0;
    uint16_t vlan = 0;
    uint32_t src_as = 0, dst_as = 0;
    memset(&f, 0, sizeof(f));
    for (uint32_t i = 0; i < s->nrec && rd_left(r) >= 8; i++) {
        uint32_t tag = rd_be32(r), rl = rd_be32(r);
        const uint8_t *body = rd_take(r, rl);
        if (!body) {
            collect_malformed(x, dom, SFLOW_V, CR_LENGTH);
            return;
        }
        struct rd b = rd_init(body, rl);
        if (tag == 1 && !have_raw) {
            have_raw = have = sflow_raw(&b, &f) == 0;
        } else if ((tag == 3 || tag == 4) && !have) {
            have = sflow_sampled_ip(&b, &f, tag == 4) == 0;
        } else if (tag == 1001) {
            vlan = (uint16_t)(rd_be32(&b) & 0x0fff);
        } else if (tag == 1003 && sflow_gateway(&b, &src_as, &dst_as) != 0) {
            collect_malformed(x, dom, SFLOW_V, CR_BAD_RECORD);
            return;
        }
    }
    if (!have) {
        collect_malformed(x, dom, SFLOW_V, CR_BAD_RECORD);
        return;
    }
    if (!f.vlan)
        f.vlan = vlan;
    f.src_as = src_as;
    f.dst_as = dst_as;
    f.packets = 1;
    f.in_if = s->in_if;
    f.out_if = s->out_if;
    f.first = f.last = x->recv_ms;
    collect_emit(x, dom, SFLOW_V, &f, s->rate);
}

/* One flow (format 1) or expanded flow (format 3) sample body. */
static void sflow_flow_sample(struct collect_ctx *x, uint32_t dom, struct rd *r, int expanded)
{
    struct sflow_sample s;
    rd_skip(r, expanded ? 12 : 8); /* seq, source id (expanded: type and index) */
    s.rate = rd_be32(r);
    rd_skip(r, 8); /* pool, drops */
    if (expanded) {
        rd_skip(r, 4);
        s.in_if = rd_be32(r);
        rd_skip(r, 4);
        s.out_if = rd_be32(r);
    } else {
        s.in_if = rd_be32(r) & 0x3fffffff;
        s.out_if = rd_be32(r) & 0x3fffffff;
    }
    s.nrec = rd_be32(r);
    if (r->err) {
        collect_malformed(x, dom, SFLOW_V, CR_BAD_RECORD);
        return;
    }
    sflow_records(x, dom, r, &s);
}

/* Decode one sFlow v5 datagram; returns 0 or a negative FS_E* code. */
int sflow_decode(struct collect_ctx *x, const uint8_t *data, size_t len)
{
    struct rd r = rd_init(data, len);
    rd_skip(&r, 4);
    uint32_t at = rd_be32(&r);
    rd_skip(&r, at == 2 ? 16 : 4);
    uint32_t dom = rd_be32(&r), seq = rd_be32(&r);
    rd_skip(&r, 4); /* uptime */
    uint32_t n = rd_be32(&r);
    if (r.err || (at != 1 && at != 2)) {
        collect_malformed(x, 0, SFLOW_V, r.err ? CR_SHORT : CR_VERSION);
        return FS_ECORRUPT;
    }
    struct collect_stats *st = collect_exp_stats(x, dom, SFLOW_V);
    st->datagrams++;
    for (uint32_t i = 0; i < n && !x->stopped; i++) {
        uint32_t tag = rd_be32(&r), sl = rd_be32(&r);
        const uint8_t *body = rd_take(&r, sl);
        if (!body) {
            collect_malformed(x, dom, SFLOW_V, CR_LENGTH);
            break;
        }
        struct rd s = rd_init(body, sl);
        if (tag == 1 || tag == 3)
            sflow_flow_sample(x, dom, &s, tag == 3);
        else if (tag == 2 || tag == 4)
            collect_exp_stats(x, dom, SFLOW_V)->counter_samples++;
    }
    collect_seq(x, dom, SFLOW_V, seq, 1);
    return 0;
}
