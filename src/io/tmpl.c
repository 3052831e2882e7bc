/*
 * Template compilation and the per-record copy loop shared by NetFlow v9 and IPFIX
 * (nfdump's sequencer, libfixbuf's transcoding): a template is turned once into a flat
 * list of struct tmpl_op; each data record runs that list into slots (struct tmpl_rec),
 * and tmpl_to_flow resolves the slots (which counter, which time encoding) into a flow.
 */
#include "../core/err.h"
#include "../core/xalloc.h"
#include "collect.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(S_NSLOTS <= 64, "slot bits must fit tmpl_rec.have");

#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900-01-01 to 1970-01-01 */

static void add_op(struct tmpl *t, uint16_t len, uint16_t dst, uint8_t kind)
{
    /* Adjacent skips merge, so unmapped runs of fields cost one step per record. */
    if (kind == OPK_SKIP && t->nops && t->ops[t->nops - 1].kind == OPK_SKIP &&
        (uint32_t)t->ops[t->nops - 1].len + len <= 0xffff) {
        t->ops[t->nops - 1].len = (uint16_t)(t->ops[t->nops - 1].len + len);
        return;
    }
    t->ops[t->nops].len = len;
    t->ops[t->nops].dst = dst;
    t->ops[t->nops].kind = kind;
    t->nops++;
}

/*
 * Compile n wire fields into t. An IE we map is copied when its length suits its kind
 * (unsigned 1..8 bytes in reduced-size encoding, addresses exactly 4/16); anything else
 * is skipped by length. Returns FS_EUNSUP beyond TMPL_MAX_FIELDS fields and
 * FS_ECORRUPT when the fixed part of a record cannot fit a datagram.
 */
int tmpl_compile(struct tmpl *t, const struct tmpl_field *f, size_t n, int options)
{
    memset(t, 0, sizeof(*t));
    if (n > TMPL_MAX_FIELDS)
        return FS_EUNSUP;
    t->options = (uint8_t)(options != 0);
    t->ops = xmalloc((n ? n : 1) * sizeof(*t->ops));
    uint32_t minlen = 0;
    int seen_addr = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].len == 0xffff) {
            add_op(t, 0, S_NONE, OPK_VARSKIP);
            t->varlen = 1;
            minlen += 1;
            continue;
        }
        minlen += f[i].len;
        const struct ipfix_ie *ie = ipfix_ie_find(f[i].pen, f[i].id);
        int ok = ie && ((ie->kind == OPK_UINT && f[i].len >= 1 && f[i].len <= 8) ||
                        (ie->kind == OPK_ADDR4 && f[i].len == 4) ||
                        (ie->kind == OPK_ADDR6 && f[i].len == 16));
        if (ok && ie->kind != OPK_UINT && !seen_addr) {
            seen_addr = 1;
            t->v6first = ie->kind == OPK_ADDR6;
        }
        if (ok)
            add_op(t, f[i].len, ie->slot, ie->kind);
        else if (f[i].len)
            add_op(t, f[i].len, S_NONE, OPK_SKIP);
    }
    if (minlen > 0xffff) {
        free(t->ops);
        t->ops = NULL;
        return FS_ECORRUPT;
    }
    t->minlen = (uint16_t)minlen;
    return 0;
}

/* Unsigned big-endian of 1..8 bytes (reduced-size encoding, RFC 7011 section 6.2). */
static uint64_t be_uint(const uint8_t *p, uint16_t len)
{
    switch (len) {
    case 1:
        return p[0];
    case 2:
        return (uint64_t)p[0] << 8 | p[1];
    case 4:
        return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    case 8:
        return be_uint(p, 4) << 32 | be_uint(p + 4, 4);
    default: {
        uint64_t v = 0;
        for (uint16_t k = 0; k < len; k++)
            v = (v << 8) | p[k];
        return v;
    }
    }
}

/*
 * tmpl_run for a template without variable-length fields whose whole record is there
 * (the caller checked t->minlen bytes): its ops cover exactly minlen bytes (tmpl_compile
 * and the templates-file loader both sum them), so no read needs a bound check. The
 * checked loop below cost a fifth of a live collector's time.
 */
static void run_fixed(const struct tmpl *t, const uint8_t *p, struct tmpl_rec *out)
{
    for (uint16_t i = 0; i < t->nops; i++) {
        const struct tmpl_op *op = &t->ops[i];
        if (op->kind != OPK_SKIP && !((out->have >> op->dst) & 1)) {
            if (op->kind == OPK_UINT)
                out->v[op->dst] = be_uint(p, op->len);
            else if (op->kind == OPK_ADDR4)
                flow_addr_from_v4(out->a[op->dst - S_SRC4], p);
            else
                memcpy(out->a[op->dst - S_SRC4], p, 16);
            out->have |= 1ull << op->dst;
        }
        p += op->len;
    }
}

/*
 * Run the ops over one record. Variable-length fields (RFC 7011 section 7): one length
 * byte, or 255 followed by a 16-bit length. A short record sets r->err.
 */
void tmpl_run(const struct tmpl *t, struct rd *r, struct tmpl_rec *out)
{
    out->have = 0;
    out->v6first = t->v6first;
    if (!t->varlen && !r->err && rd_left(r) >= t->minlen) {
        run_fixed(t, r->p, out);
        r->p += t->minlen;
        return;
    }
    for (uint16_t i = 0; i < t->nops && !r->err; i++) {
        const struct tmpl_op *op = &t->ops[i];
        /*
         * The first occurrence of an element wins: tunnel exporters (SRv6, Huawei VRF)
         * send the outer 5-tuple first and the inner one after; mixing them would give
         * outer addresses with inner ports.
         */
        int kind = (op->kind >= OPK_UINT && op->kind <= OPK_ADDR6 && ((out->have >> op->dst) & 1))
                       ? OPK_SKIP
                       : op->kind;
        switch (kind) {
        case OPK_SKIP:
            rd_skip(r, op->len);
            break;
        case OPK_VARSKIP: {
            size_t l = rd_u8(r);
            if (l == 255)
                l = rd_be16(r);
            rd_skip(r, l);
            break;
        }
        case OPK_UINT: {
            uint64_t v = 0;
            const uint8_t *p = rd_take(r, op->len);
            for (uint16_t k = 0; p && k < op->len; k++)
                v = (v << 8) | p[k];
            out->v[op->dst] = v;
            out->have |= 1ull << op->dst;
            break;
        }
        default: { /* OPK_ADDR4 / OPK_ADDR6 */
            uint8_t *a = out->a[op->dst - S_SRC4];
            const uint8_t *p = rd_take(r, op->len);
            if (!p)
                break;
            if (op->kind == OPK_ADDR4)
                flow_addr_from_v4(a, p);
            else
                memcpy(a, p, 16);
            out->have |= 1ull << op->dst;
            break;
        }
        }
    }
}

static int has(const struct tmpl_rec *r, int slot)
{
    return (int)((r->have >> slot) & 1);
}

/* First present slot of a preference list (terminated by S_NONE); 0 when none. */
static uint64_t pick(const struct tmpl_rec *r, const uint8_t *slots)
{
    for (; *slots != S_NONE; slots++)
        if (has(r, *slots))
            return r->v[*slots];
    return 0;
}

static uint64_t ntp_to_ms(uint64_t v)
{
    uint64_t secs = v >> 32, frac = v & 0xffffffffu;
    if (secs < NTP_UNIX_OFFSET)
        return 0;
    return (secs - NTP_UNIX_OFFSET) * 1000 + ((frac * 1000) >> 32);
}

/* Uptime ms of an event -> epoch ms, tolerant of the 32-bit uptime wrapping. */
static uint64_t from_uptime(const struct tmpl_time *tt, uint32_t at)
{
    if (tt->sysinit_ms)
        return tt->sysinit_ms + at;
    if (!tt->has_uptime)
        return 0;
    int64_t ago = (int32_t)(tt->sysuptime - at);
    return (uint64_t)((int64_t)tt->export_ms - ago);
}

/* One end of a flow from whichever time encoding the record carries (0 = none). */
static uint64_t flow_time(const struct tmpl_rec *r, const struct tmpl_time *tt, int end)
{
    int ms = end ? S_LAST_MS : S_FIRST_MS, s = end ? S_LAST_S : S_FIRST_S;
    int us = end ? S_LAST_US : S_FIRST_US, ns = end ? S_LAST_NS : S_FIRST_NS;
    int dus = end ? S_LAST_DUS : S_FIRST_DUS, up = end ? S_SYSUP_LAST : S_SYSUP_FIRST;
    if (has(r, ms))
        return r->v[ms];
    if (has(r, s))
        return r->v[s] * 1000;
    if (has(r, us))
        return ntp_to_ms(r->v[us]);
    if (has(r, ns))
        return ntp_to_ms(r->v[ns]);
    if (has(r, dus))
        return tt->export_ms - r->v[dus] / 1000;
    if (has(r, up)) {
        struct tmpl_time t2 = *tt;
        if (has(r, S_SYSINIT_MS))
            t2.sysinit_ms = r->v[S_SYSINIT_MS];
        return from_uptime(&t2, (uint32_t)r->v[up]);
    }
    return 0;
}

static void set_addrs(const struct tmpl_rec *r, struct flow *f)
{
    /* Both families present: ipVersion decides, else the one the template names first. */
    int has4 = has(r, S_SRC4) || has(r, S_DST4), has6 = has(r, S_SRC6) || has(r, S_DST6);
    int v6 = has6 && (!has4 || (has(r, S_IPVER) ? r->v[S_IPVER] == 6 : r->v6first));
    if (v6) {
        memcpy(f->src, r->a[S_SRC6 - S_SRC4], 16);
        memcpy(f->dst, r->a[S_DST6 - S_SRC4], 16);
        f->ipver = 6;
    } else {
        static const uint8_t zero4[4];
        flow_addr_from_v4(f->src, zero4);
        flow_addr_from_v4(f->dst, zero4);
        if (has(r, S_SRC4))
            memcpy(f->src, r->a[0], 16);
        if (has(r, S_DST4))
            memcpy(f->dst, r->a[1], 16);
        f->ipver = 4;
    }
}

/* Clamp a 64-bit IE (minimum/maximumIpTotalLength) into a 16-bit member. */
static uint16_t u16_sat(uint64_t v)
{
    return v > 0xffff ? 0xffff : (uint16_t)v;
}

/*
 * Packet sizes (IANA 25/26 and their RFC 5103 reverses) and flowsleuth's enterprise
 * IEs (PEN 32473): payload, goodput, retransmitted bytes, exchange. Absent = 0, which
 * is what struct flow means by "unknown" for each of them.
 */
static void set_extra(const struct tmpl_rec *r, struct flow *f)
{
    f->minlen = has(r, S_MINLEN) ? u16_sat(r->v[S_MINLEN]) : 0;
    f->maxlen = has(r, S_MAXLEN) ? u16_sat(r->v[S_MAXLEN]) : 0;
    f->rminlen = has(r, S_RMINLEN) ? u16_sat(r->v[S_RMINLEN]) : 0;
    f->rmaxlen = has(r, S_RMAXLEN) ? u16_sat(r->v[S_RMAXLEN]) : 0;
    f->payload = has(r, S_PAYLOAD) ? r->v[S_PAYLOAD] : 0;
    f->rpayload = has(r, S_RPAYLOAD) ? r->v[S_RPAYLOAD] : 0;
    f->goodput = has(r, S_GOODPUT) ? r->v[S_GOODPUT] : 0;
    f->rgoodput = has(r, S_RGOODPUT) ? r->v[S_RGOODPUT] : 0;
    f->retrans = has(r, S_RETRANS) ? r->v[S_RETRANS] : 0;
    f->rretrans = has(r, S_RRETRANS) ? r->v[S_RRETRANS] : 0;
    f->exchange = (uint32_t)(has(r, S_EXCHANGE) ? r->v[S_EXCHANGE] : 0);
}

/*
 * Resolve slots into a flow. Counters: delta, else total, else initiator/responder,
 * else post-NAT; reverse from RFC 5103 reverse IEs or responder counters. ICMP
 * type/code goes to dport (type * 256 + code) as the meter does.
 */
void tmpl_to_flow(const struct tmpl_rec *r, const struct tmpl_time *tt, struct flow *f)
{
    static const uint8_t b[] = { S_BYTES, S_TOTAL_BYTES, S_INIT_BYTES, S_POST_BYTES, S_NONE };
    static const uint8_t p[] = { S_PKTS, S_TOTAL_PKTS, S_INIT_PKTS, S_POST_PKTS, S_NONE };
    static const uint8_t rb[] = { S_RBYTES, S_RTOTAL_BYTES, S_RESP_BYTES, S_NONE };
    static const uint8_t rp[] = { S_RPKTS, S_RTOTAL_PKTS, S_RESP_PKTS, S_NONE };
    memset(f, 0, sizeof(*f));
    set_addrs(r, f);
    f->bytes = pick(r, b);
    f->packets = pick(r, p);
    f->rbytes = pick(r, rb);
    f->rpackets = pick(r, rp);
    f->proto = (uint8_t)(has(r, S_PROTO) ? r->v[S_PROTO] : 0);
    f->tos = (uint8_t)(has(r, S_TOS) ? r->v[S_TOS] : 0);
    f->flags = (uint8_t)(has(r, S_FLAGS) ? r->v[S_FLAGS] : 0);
    f->rflags = (uint8_t)(has(r, S_RFLAGS) ? r->v[S_RFLAGS] : 0);
    f->sport = (uint16_t)(has(r, S_SPORT) ? r->v[S_SPORT] : 0);
    f->dport = (uint16_t)(has(r, S_DPORT) ? r->v[S_DPORT] : 0);
    int icmp = has(r, S_ICMP6) ? S_ICMP6 : S_ICMP4;
    if ((f->proto == 1 || f->proto == 58) && has(r, icmp) && !f->dport && !f->sport)
        f->dport = (uint16_t)r->v[icmp];
    f->in_if = (uint32_t)(has(r, S_IN_IF) ? r->v[S_IN_IF] : 0);
    f->out_if = (uint32_t)(has(r, S_OUT_IF) ? r->v[S_OUT_IF] : 0);
    f->src_as = (uint32_t)(has(r, S_SRC_AS) ? r->v[S_SRC_AS] : 0);
    f->dst_as = (uint32_t)(has(r, S_DST_AS) ? r->v[S_DST_AS] : 0);
    int vl = has(r, S_VLAN) ? S_VLAN : S_DOT1Q_VLAN;
    f->vlan = (uint16_t)(has(r, vl) ? r->v[vl] & 0x0fff : 0);
    set_extra(r, f);
    f->first = flow_time(r, tt, 0);
    f->last = flow_time(r, tt, 1);
    /* A missing end takes the other; both missing: the export time (what we know). */
    if (!f->first)
        f->first = f->last ? f->last : tt->export_ms;
    if (!f->last)
        f->last = f->first;
}

/* Sampling interval named in a record (samplingInterval, samplerRandomInterval, 305). */
uint32_t tmpl_rec_sampling(const struct tmpl_rec *r)
{
    return has(r, S_SAMPLING) ? (uint32_t)r->v[S_SAMPLING] : 0;
}
