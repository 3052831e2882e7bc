/*
 * The export encoder core: the dialect table, templates compiled from the decoder's IE
 * table, and message assembly shared by every dialect (which set is open, when the
 * message is full, when templates are due). The dialect files write headers and fixed
 * records; everything else is here.
 */
#include "../core/cid.h"
#include "../core/xalloc.h"
#include "export_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_MSG    1400
#define MIN_MAX_MSG        512
#define DEFAULT_TMPL_EVERY 20
#define DEFAULT_TMPL_MS    60000

/* The dialects, one row each (softflowd's nf[] table). */
static const struct export_dialect *const dialects[] = { &export_ipfix, &export_nf9, &export_nf5 };

/*
 * Which struct flow member feeds each decoder slot. The encoder reaches a member
 * through the same slot the decoder writes, so an IE that is sent is an IE that is
 * read back (test_export checks the round trip field by field).
 */
#define M(slot, member, kind)                                                                  \
    {                                                                                          \
        slot, kind, (uint8_t)sizeof(((struct flow *)0)->member), offsetof(struct flow, member) \
    }
static const struct {
    uint8_t slot, kind, size;
    uint16_t off;
} members[] = {
    M(S_BYTES, bytes, EXK_UINT),         M(S_PKTS, packets, EXK_UINT),
    M(S_PROTO, proto, EXK_UINT),         M(S_TOS, tos, EXK_UINT),
    M(S_FLAGS, flags, EXK_UINT),         M(S_SPORT, sport, EXK_UINT),
    M(S_DPORT, dport, EXK_UINT),         M(S_IN_IF, in_if, EXK_UINT),
    M(S_OUT_IF, out_if, EXK_UINT),       M(S_SRC_AS, src_as, EXK_UINT),
    M(S_DST_AS, dst_as, EXK_UINT),       M(S_VLAN, vlan, EXK_UINT),
    M(S_FIRST_MS, first, EXK_UINT),      M(S_LAST_MS, last, EXK_UINT),
    M(S_SYSUP_FIRST, first, EXK_UPTIME), M(S_SYSUP_LAST, last, EXK_UPTIME),
    M(S_SRC4, src, EXK_ADDR4),           M(S_DST4, dst, EXK_ADDR4),
    M(S_SRC6, src, EXK_ADDR6),           M(S_DST6, dst, EXK_ADDR6),
    M(S_RBYTES, rbytes, EXK_UINT),       M(S_RPKTS, rpackets, EXK_UINT),
    M(S_RFLAGS, rflags, EXK_UINT),       M(S_MINLEN, minlen, EXK_UINT),
    M(S_MAXLEN, maxlen, EXK_UINT),       M(S_RMINLEN, rminlen, EXK_UINT),
    M(S_RMAXLEN, rmaxlen, EXK_UINT),     M(S_PAYLOAD, payload, EXK_UINT),
    M(S_RPAYLOAD, rpayload, EXK_UINT),   M(S_GOODPUT, goodput, EXK_UINT),
    M(S_RGOODPUT, rgoodput, EXK_UINT),   M(S_RETRANS, retrans, EXK_UINT),
    M(S_RRETRANS, rretrans, EXK_UINT),   M(S_EXCHANGE, exchange, EXK_UINT),
};

/*
 * The IEs export_enc_opts.extra appends to the IPFIX templates, in this order: strings
 * of variable length, written by kind (put_var) rather than copied from a member. The
 * Community ID has no member (nor a decoder slot): it is computed from the 5-tuple.
 */
static const struct {
    uint32_t bit;
    struct export_field f;
    uint8_t kind;
} extras[] = {
    { EXPORT_X_SNI, { FS_PEN, 5, 0xffff }, EXK_SNI },
    { EXPORT_X_CID, { FS_PEN, 6, 0xffff }, EXK_CID },
};

/*
 * The dialect named name, or NULL. A linear scan of three rows: it runs once per -e
 * option.
 */
const struct export_dialect *export_dialect_find(const char *name)
{
    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
        if (strcmp(dialects[i]->name, name) == 0)
            return dialects[i];
    return NULL;
}

/* The URL scheme of d. */
const char *export_dialect_name(const struct export_dialect *d)
{
    return d->name;
}

/* The protocol version number of d (10, 9, 5). */
int export_dialect_version(const struct export_dialect *d)
{
    return d->version;
}

/* Append the extras asked for to t (a compiled template of fixed-length fields). */
static void tmpl_extras(struct export_tmpl *t, uint32_t extra)
{
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
        if (!(extra & extras[i].bit))
            continue;
        /* Sent only if the decoder knows it, as every field (ipfix_ie.c). */
        assert(ipfix_ie_find(extras[i].f.pen, extras[i].f.id));
        t->fields[t->nfields] = extras[i].f;
        t->op[t->nfields].off = 0;
        t->op[t->nfields].size = 0;
        t->op[t->nfields].kind = extras[i].kind;
        t->nfields++;
        t->varlen = 1;
    }
}

/*
 * Compile one template: look every field up in the IE table, then in members[]; then
 * the extras asked for.
 */
static void tmpl_build(struct export_tmpl *t, uint16_t id, const struct export_field *f, uint16_t n,
                       uint32_t extra)
{
    assert(n + sizeof(extras) / sizeof(extras[0]) <= EXPORT_MAX_FIELDS);
    t->id = id;
    t->nfields = n;
    t->reclen = 0;
    t->varlen = 0;
    for (uint16_t i = 0; i < n; i++) {
        const struct ipfix_ie *ie = ipfix_ie_find(f[i].pen, f[i].id);
        size_t k = 0;
        while (ie && k < sizeof(members) / sizeof(members[0]) && members[k].slot != ie->slot)
            k++;
        /* A field list names only IEs the decoder maps: a miss is a bug in the lists. */
        assert(ie && k < sizeof(members) / sizeof(members[0]));
        t->op[i].off = members[k].off;
        t->op[i].size = members[k].size;
        t->op[i].kind = members[k].kind;
        t->fields[i] = f[i];
        t->reclen = (uint16_t)(t->reclen + f[i].len);
    }
    tmpl_extras(t, extra);
}

/* New encoder; see export.h. */
struct export_enc *export_enc_new(const struct export_dialect *d, const struct export_enc_opts *o,
                                  export_emit emit, void *ctx)
{
    struct export_enc *e = xcalloc(1, sizeof(*e));
    e->d = d;
    if (o)
        e->o = *o;
    if (!e->o.max_msg)
        e->o.max_msg = DEFAULT_MAX_MSG;
    if (e->o.max_msg < MIN_MAX_MSG)
        e->o.max_msg = MIN_MAX_MSG;
    if (e->o.max_msg > 65535)
        e->o.max_msg = 65535;
    if (!e->o.tmpl_every)
        e->o.tmpl_every = DEFAULT_TMPL_EVERY;
    if (!e->o.tmpl_ms)
        e->o.tmpl_ms = DEFAULT_TMPL_MS;
    e->o.start_ms -= e->o.start_ms % 1000;
    e->emit = emit;
    e->ctx = ctx;
    e->buf = xmalloc(e->o.max_msg);
    /* Only IPFIX has enterprise IEs and variable-length fields. */
    uint32_t extra = d->version == 10 ? e->o.extra : 0;
    for (int i = 0; i < EXPORT_NTMPL; i++)
        if (d->fields[i])
            tmpl_build(&e->t[i], (uint16_t)(256 + i + (extra ? 2 : 0)), d->fields[i], d->nfields[i],
                       extra);
    return e;
}

/*
 * The start is truncated to a whole second: v9 carries unix seconds and a millisecond
 * uptime, and with a whole-second origin both name the same instant, so
 * FIRST/LAST_SWITCHED come back to the millisecond.
 */
void export_enc_start(struct export_enc *e, uint64_t start_ms)
{
    if (e->started)
        return;
    e->o.start_ms = start_ms - start_ms % 1000;
}

/*
 * The string of a variable-length field of f into buf (>= CID_TEXT bytes) or in
 * place; returns its length. The sni member is NUL-padded, and unterminated when full.
 */
static size_t var_str(const struct export_enc *e, const struct export_op *op, const struct flow *f,
                      const char **s, char *buf)
{
    if (op->kind == EXK_CID) {
        uint8_t d[CID_DIGEST];
        cid_digest(f, e->o.cid_seed, d);
        *s = buf;
        return cid_format(d, buf);
    }
    *s = f->sni;
    return strnlen(f->sni, sizeof(f->sni));
}

/* Bytes of f's record by t: the fixed part plus each string and its length prefix. */
size_t export_rec_len(const struct export_enc *e, const struct export_tmpl *t, const struct flow *f)
{
    size_t n = t->reclen;
    for (uint16_t i = 0; t->varlen && i < t->nfields; i++) {
        if (t->fields[i].len != 0xffff)
            continue;
        char buf[CID_TEXT];
        const char *s;
        size_t l = var_str(e, &t->op[i], f, &s, buf);
        n += l + (l < 255 ? 1 : 3);
    }
    return n;
}

/* A variable-length field (RFC 7011 section 7): one length byte, or 255 and 16 bits. */
static size_t put_var(const struct export_enc *e, const struct export_op *op, const struct flow *f,
                      uint8_t *p)
{
    char buf[CID_TEXT];
    const char *s;
    size_t l = var_str(e, op, f, &s, buf), h = 1;
    if (l < 255) {
        p[0] = (uint8_t)l;
    } else {
        p[0] = 255;
        put_be16(p + 1, (uint16_t)l);
        h = 3;
    }
    memcpy(p + h, s, l);
    return h + l;
}

/* Data record of f by its template (IPFIX, v9): run the compiled copy steps. */
void export_tmpl_record(const struct export_enc *e, const struct export_tmpl *t,
                        const struct flow *f, uint8_t *p)
{
    const uint8_t *base = (const uint8_t *)f;
    for (uint16_t i = 0; i < t->nfields; i++) {
        const struct export_op *op = &t->op[i];
        uint16_t len = t->fields[i].len;
        uint64_t v = 0;
        if (len == 0xffff) {
            p += put_var(e, op, f, p);
            continue;
        }
        if (op->kind == EXK_ADDR4) {
            memcpy(p, base + op->off + 12, 4);
        } else if (op->kind == EXK_ADDR6) {
            memcpy(p, base + op->off, 16);
        } else {
            /* Read the member by its size; memcpy keeps the access aligned-safe. */
            uint8_t u8;
            uint16_t u16;
            uint32_t u32;
            switch (op->size) {
            case 1:
                memcpy(&u8, base + op->off, 1);
                v = u8;
                break;
            case 2:
                memcpy(&u16, base + op->off, 2);
                v = u16;
                break;
            case 4:
                memcpy(&u32, base + op->off, 4);
                v = u32;
                break;
            default:
                memcpy(&v, base + op->off, 8);
                break;
            }
            if (op->kind == EXK_UPTIME)
                v = export_uptime(e, v);
            put_beN(p, len, v);
        }
        p += len;
    }
}

/*
 * Template set holding both templates (IPv4, IPv6): v9 flowset 0 or IPFIX set 2.
 * Enterprise fields set bit 15 of the id and add their PEN (IPFIX only: the v9 lists
 * hold none).
 */
size_t export_templates(const struct export_enc *e, uint8_t *p, uint32_t *ntmpl)
{
    size_t at = 4;
    *ntmpl = 0;
    for (int i = 0; i < EXPORT_NTMPL; i++) {
        const struct export_tmpl *t = &e->t[i];
        put_be16(p + at, t->id);
        put_be16(p + at + 2, t->nfields);
        at += 4;
        for (uint16_t k = 0; k < t->nfields; k++) {
            const struct export_field *f = &t->fields[k];
            put_be16(p + at, (uint16_t)(f->id | (f->pen ? 0x8000 : 0)));
            put_be16(p + at + 2, f->len);
            at += 4;
            if (f->pen) {
                put_be32(p + at, f->pen);
                at += 4;
            }
        }
        (*ntmpl)++;
    }
    put_be16(p, e->d->version == 10 ? 2 : 0);
    put_be16(p + 2, (uint16_t)at);
    return at;
}

static int tmpl_due(const struct export_enc *e)
{
    return e->st.messages + e->st.send_errors == 0 || e->since_tmpl >= e->o.tmpl_every ||
           e->now_ms - e->tmpl_at >= e->o.tmpl_ms;
}

/*
 * Whether f's times are close enough to export time ms for an uptime-relative
 * dialect: collectors resolve FIRST/LAST_SWITCHED as a signed 32-bit distance from the
 * header (ours does; 2^31 ms is 24.8 days), so a message keeps within 2^30 ms.
 */
static int fits_clock(uint64_t ms, const struct flow *f)
{
    const int64_t lim = (int64_t)1 << 30;
    int64_t a = (int64_t)(ms - f->first), b = (int64_t)(ms - f->last);
    return a < lim && a > -lim && b < lim && b > -lim;
}

/*
 * Start a message: room for the header, then the templates when they are due. Its
 * export time is the clock, unless f ended long before (a sparse capture file expires
 * a flow only at the next packet, maybe years later): then the flow's end, so v9/v5
 * times stay exact.
 */
static void msg_begin(struct export_enc *e, const struct flow *f)
{
    e->msg_ms = e->now_ms;
    if (e->d->uptime && !fits_clock(e->msg_ms, f))
        e->msg_ms = f->last;
    e->len = e->d->hdr_len;
    e->nrec = e->ntmpl = 0;
    e->set_id = 0;
    e->started = 1;
    if (e->d->fields[0] && tmpl_due(e)) {
        e->len += export_templates(e, e->buf + e->len, &e->ntmpl);
        e->since_tmpl = 0;
        e->tmpl_at = e->now_ms;
    }
}

/* Close the open data set: pad (v9) and write its length. */
static void set_close(struct export_enc *e)
{
    if (!e->set_id)
        return;
    while (e->d->pad4 && (e->len - e->set_off) % 4)
        e->buf[e->len++] = 0;
    put_be16(e->buf + e->set_off + 2, (uint16_t)(e->len - e->set_off));
    e->set_id = 0;
}

/* Emit the message being filled (see export.h). */
void export_enc_flush(struct export_enc *e)
{
    if (!e->len)
        return;
    set_close(e);
    e->d->header(e, e->buf, e->len);
    e->since_tmpl++;
    if (e->emit(e->ctx, e->buf, e->len) == 0) {
        e->st.messages++;
        e->st.records += e->nrec;
        e->st.templates += e->ntmpl;
        e->st.bytes += e->len;
    } else {
        e->st.send_errors++;
        e->st.lost += e->nrec;
    }
    e->len = 0;
    e->nrec = e->ntmpl = 0;
}

/* Append one record (a uniflow for v9/v5), starting a new message when it is full. */
static void put_record(struct export_enc *e, const struct flow *f)
{
    const struct export_dialect *d = e->d;
    uint16_t sid = d->fields[0] ? export_tmpl_of(e, f)->id : 0;
    size_t rl = d->rec_len ? d->rec_len : export_rec_len(e, export_tmpl_of(e, f), f);
    for (;;) {
        if (!e->len)
            msg_begin(e, f);
        size_t need = rl + (sid != e->set_id ? 4u : 0u) + (d->pad4 ? 3u : 0u);
        int fits = !d->uptime || e->nrec == 0 || fits_clock(e->msg_ms, f);
        if (fits && e->len + need <= e->o.max_msg && (!d->max_records || e->nrec < d->max_records))
            break;
        /*
         * Full: send it. With a small max_msg the templates may fill a message of
         * their own; an empty message of 512 bytes always holds one record of any
         * dialect, so this loop ends.
         */
        assert(e->nrec > 0 || e->ntmpl > 0);
        export_enc_flush(e);
    }
    if (sid != e->set_id) {
        set_close(e);
        e->set_off = e->len;
        put_be16(e->buf + e->len, sid);
        e->len += 4;
        e->set_id = sid;
    }
    d->record(e, f, e->buf + e->len);
    e->len += rl;
    e->nrec++;
}

/*
 * The reverse direction of a biflow as a uniflow of its own (v9, v5): addresses,
 * ports, interfaces and AS numbers swapped, reverse counters forward. ICMP keeps its
 * ports: dport holds type and code, not a port. Times are the biflow's: the meter
 * keeps no separate first/last per direction.
 */
static void reverse_of(const struct flow *f, struct flow *r)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->src, f->dst, 16);
    memcpy(r->dst, f->src, 16);
    memcpy(r->exporter, f->exporter, 16);
    int icmp = f->proto == 1 || f->proto == 58;
    r->sport = icmp ? f->sport : f->dport;
    r->dport = icmp ? f->dport : f->sport;
    r->first = f->first;
    r->last = f->last;
    r->bytes = f->rbytes;
    r->packets = f->rpackets;
    r->payload = f->rpayload;
    r->goodput = f->rgoodput;
    r->retrans = f->rretrans;
    r->flags = f->rflags;
    r->minlen = f->rminlen;
    r->maxlen = f->rmaxlen;
    r->in_if = f->out_if;
    r->out_if = f->in_if;
    r->src_as = f->dst_as;
    r->dst_as = f->src_as;
    r->vlan = f->vlan;
    r->tos = f->tos;
    r->proto = f->proto;
    r->ipver = f->ipver;
    r->exchange = f->exchange;
}

/* Encode one flow (see export.h). */
void export_enc_flow(struct export_enc *e, const struct flow *f, uint64_t now_ms)
{
    if (now_ms > e->now_ms)
        e->now_ms = now_ms;
    e->st.flows++;
    if (f->ipver == 6 && !e->d->v6) {
        e->st.left_out++;
        return;
    }
    if (!e->started && !e->o.start_ms)
        export_enc_start(e, f->first < e->now_ms ? f->first : e->now_ms);
    put_record(e, f);
    if (!e->d->biflow && f->rpackets) {
        struct flow r;
        reverse_of(f, &r);
        put_record(e, &r);
    }
}

/* Data records waiting in the message being filled. */
uint32_t export_enc_pending(const struct export_enc *e)
{
    return e->len ? e->nrec : 0;
}

/* Copy the counters out. */
void export_enc_stats(const struct export_enc *e, struct export_stats *out)
{
    *out = e->st;
}

/* Free the encoder and its buffer (without flushing). */
void export_enc_free(struct export_enc *e)
{
    if (!e)
        return;
    free(e->buf);
    free(e);
}
