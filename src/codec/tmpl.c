/*
 * Template compilation and the per-record copy loop shared by NetFlow v9 and IPFIX
 * (nfdump's sequencer, libfixbuf's transcoding): a template is turned once into a flat
 * list of struct tmpl_op; each data record runs that list into slots (struct tmpl_rec),
 * and tmpl_to_flow resolves the slots (which counter, which time encoding) into a flow.
 */
#include "../core/err.h"
#include "../core/sniname.h"
#include "../core/xalloc.h"
#include "datagram.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(S_NSLOTS <= 128, "slot bits must fit tmpl_rec.have and have2");
_Static_assert(sizeof(struct flow) == 304, "tmpl_to_flow sets every member: set a new one there");

/* Bit s of the slot set (lo = slots 0..63, hi = 64..127). */
static inline int bit_has(uint64_t lo, uint64_t hi, unsigned s)
{
    return s < 64 ? (int)((lo >> s) & 1) : (int)((hi >> (s - 64)) & 1);
}

static inline void bit_set(uint64_t *lo, uint64_t *hi, unsigned s)
{
    if (s < 64)
        *lo |= 1ull << s;
    else
        *hi |= 1ull << (s - 64);
}

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
        const struct ipfix_ie *ie = ipfix_ie_find(f[i].pen, f[i].id);
        if (f[i].len == 0xffff) {
            int str = ie && ie->kind == OPK_STR;
            add_op(t, 0, str ? ie->slot : S_NONE, str ? OPK_VARSTR : OPK_VARSKIP);
            t->varlen = 1;
            minlen += 1;
            continue;
        }
        minlen += f[i].len;
        int ok = ie && ((ie->kind == OPK_UINT && f[i].len >= 1 && f[i].len <= 8) ||
                        (ie->kind == OPK_ADDR4 && f[i].len == 4) ||
                        (ie->kind == OPK_ADDR6 && f[i].len == 16) ||
                        (ie->kind == OPK_ACL && f[i].len == 12) ||
                        (ie->kind == OPK_STR && f[i].len >= 1));
        if (ok && ie->slot >= S_SRC4 && ie->slot <= S_DST6 && !seen_addr) {
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
    t->wire = xmalloc((n ? n : 1) * sizeof(*f));
    if (n)
        memcpy(t->wire, f, n * sizeof(*f));
    t->nwire = (uint16_t)n;
    tmpl_prepare(t);
    return 0;
}

int tmpl_same(const struct tmpl *t, const struct tmpl_field *f, size_t n, int options)
{
    if (!t->wire || t->nwire != n || t->options != (options != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t->wire[i].id != f[i].id || t->wire[i].len != f[i].len || t->wire[i].pen != f[i].pen)
            return 0;
    return 1;
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

static uint64_t be_load(const uint8_t *p, int kind, uint8_t len)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (kind) {
    case FK_U8:
        return p[0];
    case FK_U16:
        memcpy(&u16, p, 2);
        return __builtin_bswap16(u16);
    case FK_U32:
        memcpy(&u32, p, 4);
        return __builtin_bswap32(u32);
    case FK_U64:
        memcpy(&u64, p, 8);
        return __builtin_bswap64(u64);
    default:
        return be_uint(p, len);
    }
}

/*
 * tmpl_run for a template without variable-length fields whose whole record is there
 * (the caller checked t->minlen bytes): every fast op lies inside minlen bytes
 * (tmpl_prepare sums them from the ops), so no read needs a bound check, and skipped
 * fields and repeated elements cost nothing. The checked loop cost a fifth of a live
 * collector's time; this one, with the loads' widths chosen once, a third of that.
 */
static void run_fast(const struct tmpl *t, const uint8_t *p, struct tmpl_rec *out)
{
    const struct tmpl_fop *op = t->fops, *end = t->fops + t->nfops;
    for (; op < end; op++) {
        const uint8_t *q = p + op->off;
        if (op->kind == FK_WIDE) {
            uint64_t w;
            memcpy(&w, q, 8);
            out->v[op->dst] = __builtin_bswap64(w) >> op->shift;
        } else if (op->kind == FK_A4)
            flow_addr_from_v4(out->a[SLOT_ADDR(op->dst)], q);
        else if (op->kind == FK_A6)
            memcpy(out->a[SLOT_ADDR(op->dst)], q, 16);
        else
            out->v[op->dst] = be_load(q, op->kind, op->len);
    }
    out->have = t->have;
    out->have2 = t->have2;
}

/*
 * A string element (flowsleuth's server name, fixed or variable length): kept when it
 * is a name the meter would keep (sni_keep: not empty, every byte in its alphabet,
 * the first FS_SNI_MAX bytes), else read past; the first occurrence wins.
 */
static void run_str(const struct tmpl_op *op, struct rd *r, struct tmpl_rec *out)
{
    size_t l = op->len;
    if (op->kind == OPK_VARSTR) {
        l = rd_u8(r);
        if (l == 255)
            l = rd_be16(r);
    }
    const uint8_t *p = rd_take(r, l);
    /* A fixed-length field may be NUL-padded (exporters pad names to their width). */
    while (p && op->kind == OPK_STR && l && p[l - 1] == 0)
        l--;
    if (p && !bit_has(out->have, out->have2, op->dst) && sni_keep(p, l, out->sni))
        bit_set(&out->have, &out->have2, op->dst);
}

/*
 * Run the ops over one record. Variable-length fields (RFC 7011 section 7): one length
 * byte, or 255 followed by a 16-bit length. A short record sets r->err.
 */
void tmpl_run(const struct tmpl *t, struct rd *r, struct tmpl_rec *out)
{
    out->have = 0;
    out->have2 = 0;
    out->v6first = t->v6first;
    out->v[S_NONE] = 0; /* what a plan slot of an absent element reads */
    if (t->fops && !r->err && rd_left(r) >= t->minlen) {
        run_fast(t, r->p, out);
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
        int fills = (op->kind >= OPK_UINT && op->kind <= OPK_ADDR6) || op->kind == OPK_ACL;
        int kind = fills && bit_has(out->have, out->have2, op->dst) ? OPK_SKIP : op->kind;
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
        case OPK_STR:
        case OPK_VARSTR:
            run_str(op, r, out);
            break;
        case OPK_UINT: {
            const uint8_t *p = rd_take(r, op->len);
            out->v[op->dst] = p ? be_uint(p, op->len) : 0;
            bit_set(&out->have, &out->have2, op->dst);
            break;
        }
        case OPK_ACL: { /* 12 bytes: ACL id, ACE id, extended ACE id; keep the first two */
            const uint8_t *p = rd_take(r, op->len);
            out->v[op->dst] = p ? be_uint(p, 8) : 0;
            bit_set(&out->have, &out->have2, op->dst);
            break;
        }
        default: { /* OPK_ADDR4 / OPK_ADDR6 */
            uint8_t *a = out->a[SLOT_ADDR(op->dst)];
            const uint8_t *p = rd_take(r, op->len);
            if (!p)
                break;
            if (op->kind == OPK_ADDR4)
                flow_addr_from_v4(a, p);
            else
                memcpy(a, p, 16);
            bit_set(&out->have, &out->have2, op->dst);
            break;
        }
        }
    }
}

static int has(const struct tmpl_rec *r, int slot)
{
    return bit_has(r->have, r->have2, (unsigned)slot);
}

/* The slot itself when the template has it, else S_NONE. */
static uint8_t slot_if(uint64_t have, int slot)
{
    return (have >> slot) & 1 ? (uint8_t)slot : S_NONE;
}

/* First slot of a preference list (terminated by S_NONE) the template has. */
static uint8_t first_of(uint64_t have, const uint8_t *slots)
{
    for (; *slots != S_NONE; slots++)
        if ((have >> *slots) & 1)
            return *slots;
    return S_NONE;
}

/* One end of a flow: the first time encoding the template carries, in this order. */
static void plan_time(struct tmpl_plan *pl, uint64_t have, int end)
{
    /* observationTimeMilliseconds last: an NSEL or NAT event's own time, the flow's
     * end where the record has no end time (a teardown) and its start where it has
     * none (a NAT session create). */
    static const uint8_t kinds[] = { TK_MS, TK_S, TK_NTP, TK_NTP, TK_DUS, TK_UPTIME, TK_MS };
    const uint8_t slots[2][7] = {
        { S_FIRST_MS, S_FIRST_S, S_FIRST_US, S_FIRST_NS, S_FIRST_DUS, S_SYSUP_FIRST, S_OBS_MS },
        { S_LAST_MS, S_LAST_S, S_LAST_US, S_LAST_NS, S_LAST_DUS, S_SYSUP_LAST, S_OBS_MS },
    };
    _Static_assert(S_OBS_MS < 64, "plan_time reads the low slot word");
    pl->tkind[end] = TK_NONE;
    pl->tslot[end] = S_NONE;
    for (int i = 0; i < 7; i++)
        if ((have >> slots[end][i]) & 1) {
            pl->tkind[end] = kinds[i];
            pl->tslot[end] = slots[end][i];
            return;
        }
}

/*
 * Counters: delta, else total, else initiator/responder, else post-NAT; reverse from
 * RFC 5103 reverse IEs or responder counters. Addresses: with both families present,
 * ipVersion decides, else the one the template names first.
 */
static void plan_build(struct tmpl_plan *pl, uint64_t have, int v6first)
{
    static const uint8_t b[] = { S_BYTES, S_TOTAL_BYTES, S_INIT_BYTES, S_POST_BYTES, S_NONE };
    static const uint8_t p[] = { S_PKTS, S_TOTAL_PKTS, S_INIT_PKTS, S_POST_PKTS, S_NONE };
    static const uint8_t rb[] = { S_RBYTES, S_RTOTAL_BYTES, S_RESP_BYTES, S_NONE };
    static const uint8_t rp[] = { S_RPKTS, S_RTOTAL_PKTS, S_RESP_PKTS, S_NONE };
    static const uint8_t icmp[] = { S_ICMP6, S_ICMP4, S_NONE };
    static const uint8_t vlan[] = { S_VLAN, S_DOT1Q_VLAN, S_NONE };
    memset(pl, 0, sizeof(*pl));
    pl->bytes = first_of(have, b);
    pl->packets = first_of(have, p);
    pl->rbytes = first_of(have, rb);
    pl->rpackets = first_of(have, rp);
    pl->icmp = first_of(have, icmp);
    pl->vlan = first_of(have, vlan);
    pl->proto = slot_if(have, S_PROTO);
    pl->tos = slot_if(have, S_TOS);
    pl->flags = slot_if(have, S_FLAGS);
    pl->rflags = slot_if(have, S_RFLAGS);
    pl->sport = slot_if(have, S_SPORT);
    pl->dport = slot_if(have, S_DPORT);
    pl->in_if = slot_if(have, S_IN_IF);
    pl->out_if = slot_if(have, S_OUT_IF);
    pl->src_as = slot_if(have, S_SRC_AS);
    pl->dst_as = slot_if(have, S_DST_AS);
    pl->minlen = slot_if(have, S_MINLEN);
    pl->maxlen = slot_if(have, S_MAXLEN);
    pl->rminlen = slot_if(have, S_RMINLEN);
    pl->rmaxlen = slot_if(have, S_RMAXLEN);
    pl->payload = slot_if(have, S_PAYLOAD);
    pl->rpayload = slot_if(have, S_RPAYLOAD);
    pl->goodput = slot_if(have, S_GOODPUT);
    pl->rgoodput = slot_if(have, S_RGOODPUT);
    pl->retrans = slot_if(have, S_RETRANS);
    pl->rretrans = slot_if(have, S_RRETRANS);
    pl->exchange = slot_if(have, S_EXCHANGE);
    pl->sysinit = slot_if(have, S_SYSINIT_MS);
    pl->src4 = slot_if(have, S_SRC4);
    pl->dst4 = slot_if(have, S_DST4);
    int has4 = pl->src4 || pl->dst4, has6 = ((have >> S_SRC6) & 1) || ((have >> S_DST6) & 1);
    if (!has6)
        pl->af = AF_PLAN_V4;
    else if (!has4)
        pl->af = AF_PLAN_V6;
    else if ((have >> S_IPVER) & 1)
        pl->af = AF_PLAN_BY_IPVER;
    else
        pl->af = v6first ? AF_PLAN_V6 : AF_PLAN_V4;
    plan_time(pl, have, 0);
    plan_time(pl, have, 1);
}

/* The firewall and NAT slots (some beyond 63): the slot when present, else S_NONE. */
static uint8_t slot_if2(uint64_t have, uint64_t have2, int slot)
{
    return bit_has(have, have2, (unsigned)slot) ? (uint8_t)slot : S_NONE;
}

static void plan_fwnat(struct tmpl_plan *pl, uint64_t have, uint64_t have2)
{
    pl->xsport = slot_if2(have, have2, S_XSPORT);
    pl->xdport = slot_if2(have, have2, S_XDPORT);
    pl->fw_event = slot_if2(have, have2, S_FW_EVENT);
    pl->fw_ext = slot_if2(have, have2, S_FW_EXT);
    pl->nat_event = slot_if2(have, have2, S_NAT_EVENT);
    pl->in_acl = slot_if2(have, have2, S_IN_ACL);
    pl->out_acl = slot_if2(have, have2, S_OUT_ACL);
    /* IPv4 before IPv6 when a template carries both (neither capture does). */
    pl->xsrc = bit_has(have, have2, S_XSRC4)   ? S_XSRC4
               : bit_has(have, have2, S_XSRC6) ? S_XSRC6
                                               : S_NONE;
    pl->xdst = bit_has(have, have2, S_XDST4)   ? S_XDST4
               : bit_has(have, have2, S_XDST6) ? S_XDST6
                                               : S_NONE;
}

/* The fast op of a wire op that fills a slot, at byte off of a minlen-byte record. */
static struct tmpl_fop fop_of(const struct tmpl_op *op, uint32_t off, uint32_t minlen)
{
    struct tmpl_fop f = { .off = (uint16_t)off, .dst = (uint8_t)op->dst, .len = (uint8_t)op->len };
    if (op->kind == OPK_ACL) {
        f.kind = FK_U64;
        f.len = 8;
    } else if (op->kind == OPK_UINT && off + 8 <= minlen) {
        f.kind = FK_WIDE;
        f.shift = (uint8_t)(64 - 8 * op->len);
    } else if (op->kind == OPK_ADDR4)
        f.kind = FK_A4;
    else if (op->kind == OPK_ADDR6)
        f.kind = FK_A6;
    else
        f.kind = op->len == 1   ? FK_U8
                 : op->len == 2 ? FK_U16
                 : op->len == 4 ? FK_U32
                 : op->len == 8 ? FK_U64
                                : FK_UN;
    return f;
}

/*
 * The slots a record fills (the first occurrence of an element wins: tunnel exporters
 * such as SRv6 or Huawei VRF send the outer 5-tuple first and the inner one after) and,
 * for a template without variable-length fields, the fast ops: one per filled slot at
 * its fixed offset.
 */
void tmpl_prepare(struct tmpl *t)
{
    uint64_t have = 0, have2 = 0;
    uint32_t off = 0;
    /* A string is checked byte by byte (run_str): no fast plan for its template. */
    int slow = t->varlen;
    for (uint16_t i = 0; i < t->nops; i++)
        slow |= t->ops[i].kind == OPK_STR;
    free(t->fops);
    t->fops = slow ? NULL : xmalloc((t->nops ? t->nops : 1) * sizeof(*t->fops));
    t->nfops = 0;
    for (uint16_t i = 0; i < t->nops; i++) {
        const struct tmpl_op *op = &t->ops[i];
        int fills = op->kind == OPK_UINT || op->kind == OPK_ADDR4 || op->kind == OPK_ADDR6 ||
                    op->kind == OPK_ACL;
        if (fills && !bit_has(have, have2, op->dst)) {
            bit_set(&have, &have2, op->dst);
            if (t->fops)
                t->fops[t->nfops++] = fop_of(op, off, t->minlen);
        }
        off += op->len;
    }
    t->have = have;
    t->have2 = have2;
    plan_build(&t->plan, have, t->v6first);
    plan_fwnat(&t->plan, have, have2);
}

/* Free what tmpl_compile or a loader allocated in t. */
void tmpl_free(struct tmpl *t)
{
    free(t->ops);
    free(t->fops);
    free(t->wire);
    t->ops = NULL;
    t->fops = NULL;
    t->wire = NULL;
}

static uint64_t ntp_to_ms(uint64_t v)
{
    uint64_t secs = v >> 32, frac = v & 0xffffffffu;
    if (secs < NTP_UNIX_OFFSET)
        return 0;
    return (secs - NTP_UNIX_OFFSET) * 1000 + ((frac * 1000) >> 32);
}

/* Uptime ms of an event -> epoch ms, tolerant of the 32-bit uptime wrapping. */
static uint64_t from_uptime(const struct tmpl_time *tt, uint64_t sysinit_ms, uint32_t at)
{
    if (sysinit_ms)
        return sysinit_ms + at;
    if (!tt->has_uptime)
        return 0;
    int64_t ago = (int32_t)(tt->sysuptime - at);
    return (uint64_t)((int64_t)tt->export_ms - ago);
}

/* One end of a flow from the time encoding the plan chose (0 = none). */
static uint64_t flow_time(const struct tmpl_plan *pl, const struct tmpl_rec *r,
                          const struct tmpl_time *tt, int end)
{
    uint64_t v = r->v[pl->tslot[end]];
    switch (pl->tkind[end]) {
    case TK_MS:
        return v;
    case TK_S:
        return v * 1000;
    case TK_NTP:
        return ntp_to_ms(v);
    case TK_DUS:
        return tt->export_ms - v / 1000;
    case TK_UPTIME:
        return from_uptime(tt, pl->sysinit ? r->v[pl->sysinit] : tt->sysinit_ms, (uint32_t)v);
    default:
        return 0;
    }
}

static void set_addrs(const struct tmpl_plan *pl, const struct tmpl_rec *r, struct flow *f)
{
    int v6 = pl->af == AF_PLAN_V6 || (pl->af == AF_PLAN_BY_IPVER && r->v[S_IPVER] == 6);
    if (v6) {
        static const uint8_t zero6[16];
        memcpy(f->src, has(r, S_SRC6) ? r->a[SLOT_ADDR(S_SRC6)] : zero6, 16);
        memcpy(f->dst, has(r, S_DST6) ? r->a[SLOT_ADDR(S_DST6)] : zero6, 16);
        f->ipver = 6;
    } else {
        static const uint8_t zero4[4];
        if (pl->src4)
            memcpy(f->src, r->a[0], 16);
        else
            flow_addr_from_v4(f->src, zero4);
        if (pl->dst4)
            memcpy(f->dst, r->a[1], 16);
        else
            flow_addr_from_v4(f->dst, zero4);
        f->ipver = 4;
    }
}

/* Clamp a 64-bit IE (minimum/maximumIpTotalLength) into a 16-bit member. */
static uint16_t u16_sat(uint64_t v)
{
    return v > 0xffff ? 0xffff : (uint16_t)v;
}

/*
 * Resolve a record's slots into a flow by its template's plan; an absent element reads
 * slot S_NONE, which is 0: what struct flow means by "unknown". Packet sizes (IANA
 * 25/26 and their RFC 5103 reverses) and flowsleuth's enterprise IEs (PEN 32473):
 * payload, goodput, retransmitted bytes, exchange, server name. ICMP type/code goes to dport
 * (type * 256 + code) as the meter does.
 */
void tmpl_to_flow(const struct tmpl *t, const struct tmpl_rec *r, const struct tmpl_time *tt,
                  struct flow *f)
{
    const struct tmpl_plan *pl = &t->plan;
    const uint64_t *v = r->v;
    /* Every member is set below: a memset of the whole record (rep stos) took half of
     * this function. */
    memset(f->exporter, 0, sizeof(f->exporter));
    f->pad_ = 0;
    set_addrs(pl, r, f);
    f->bytes = v[pl->bytes];
    f->packets = v[pl->packets];
    f->rbytes = v[pl->rbytes];
    f->rpackets = v[pl->rpackets];
    f->proto = (uint8_t)v[pl->proto];
    f->tos = (uint8_t)v[pl->tos];
    f->flags = (uint8_t)v[pl->flags];
    f->rflags = (uint8_t)v[pl->rflags];
    f->sport = (uint16_t)v[pl->sport];
    f->dport = (uint16_t)v[pl->dport];
    if ((f->proto == 1 || f->proto == 58) && pl->icmp && !f->dport && !f->sport)
        f->dport = (uint16_t)v[pl->icmp];
    f->in_if = (uint32_t)v[pl->in_if];
    f->out_if = (uint32_t)v[pl->out_if];
    f->src_as = (uint32_t)v[pl->src_as];
    f->dst_as = (uint32_t)v[pl->dst_as];
    f->vlan = (uint16_t)(v[pl->vlan] & 0x0fff);
    f->minlen = u16_sat(v[pl->minlen]);
    f->maxlen = u16_sat(v[pl->maxlen]);
    f->rminlen = u16_sat(v[pl->rminlen]);
    f->rmaxlen = u16_sat(v[pl->rmaxlen]);
    f->payload = v[pl->payload];
    f->rpayload = v[pl->rpayload];
    f->goodput = v[pl->goodput];
    f->rgoodput = v[pl->rgoodput];
    f->retrans = v[pl->retrans];
    f->rretrans = v[pl->rretrans];
    f->exchange = (uint32_t)v[pl->exchange];
    static const uint8_t zero16[16];
    memcpy(f->xsrc, pl->xsrc ? r->a[SLOT_ADDR(pl->xsrc)] : zero16, 16);
    memcpy(f->xdst, pl->xdst ? r->a[SLOT_ADDR(pl->xdst)] : zero16, 16);
    f->xsport = (uint16_t)v[pl->xsport];
    f->xdport = (uint16_t)v[pl->xdport];
    f->fw_event = (uint8_t)v[pl->fw_event];
    f->fw_ext_event = (uint16_t)v[pl->fw_ext];
    f->nat_event = (uint8_t)v[pl->nat_event];
    f->ingress_acl = v[pl->in_acl];
    f->egress_acl = v[pl->out_acl];
    if (has(r, S_SNI)) /* flowsleuthServerName, held to the meter's rule by run_str */
        memcpy(f->sni, r->sni, sizeof(f->sni));
    else
        memset(f->sni, 0, sizeof(f->sni));
    f->first = flow_time(pl, r, tt, 0);
    f->last = flow_time(pl, r, tt, 1);
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
