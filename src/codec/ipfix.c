/*
 * IPFIX (RFC 7011): message header, then sets (layout in collect.h). Template and
 * options template sets are compiled by tmpl.c (enterprise bit -> a 4-byte PEN follows;
 * RFC 5103 reverse IEs are PEN 29305 rows of the IE table); a template record with no
 * fields withdraws that template, and template id 2 / 3 with no fields withdraws every
 * template of the domain. Times: absolute IEs 150-157, deltas 158/159 from the export
 * time, 21/22 from systemInitTimeMilliseconds (160) in the record or options data.
 */
#include "../core/err.h"
#include "../core/xalloc.h"
#include "datagram.h"

#include <stdlib.h>

#define IPFIX_HDR 16

/* Read n field specifiers; 0 or -1 when they run past the set. */
static int ipfix_fields(struct rd *r, struct tmpl_field *f, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        uint16_t id = rd_be16(r);
        f[i].len = rd_be16(r);
        f[i].pen = (id & 0x8000) ? rd_be32(r) : 0;
        f[i].id = id & 0x7fff;
    }
    return r->err ? -1 : 0;
}

/*
 * Template set (2) or options template set (3). Record: u16 id | u16 field count
 * [| u16 scope field count, options only] | fields.
 */
static void ipfix_templates(struct collect_ctx *x, uint32_t dom, struct rd *r, int options)
{
    struct tmpl_field *f = xmalloc(TMPL_MAX_FIELDS * sizeof(*f));
    while (rd_left(r) >= 4) {
        uint16_t tid = rd_be16(r), n = rd_be16(r);
        if (n == 0) { /* withdrawal; set id as template id = all of the domain */
            if (tid == 2 || tid == 3)
                collect_tmpl_withdraw(x, dom, 10, 0xffff);
            else if (tid >= 256)
                collect_tmpl_withdraw(x, dom, 10, tid);
            else if (tid != 0)
                collect_malformed(x, dom, 10, CR_BAD_TEMPLATE);
            if (tid == 0)
                break; /* padding */
            continue;
        }
        uint16_t scope = options ? rd_be16(r) : 0;
        if (tid < 256 || n > TMPL_MAX_FIELDS || (options && (scope == 0 || scope > n))) {
            collect_malformed(x, dom, 10, n > TMPL_MAX_FIELDS ? CR_TEMPLATE_SIZE : CR_BAD_TEMPLATE);
            break;
        }
        if (ipfix_fields(r, f, n) != 0) {
            collect_malformed(x, dom, 10, CR_BAD_TEMPLATE);
            break;
        }
        collect_tmpl_define(x, dom, 10, tid, f, n, options);
    }
    free(f);
}

/* Decode one IPFIX message; bytes past its length field are ignored. */
int ipfix_decode(struct collect_ctx *x, const uint8_t *data, size_t len)
{
    struct rd r = rd_init(data, len);
    struct tmpl_time tt = { 0 };
    rd_skip(&r, 2);
    uint16_t mlen = rd_be16(&r);
    tt.export_ms = (uint64_t)rd_be32(&r) * 1000;
    uint32_t seq = rd_be32(&r), dom = rd_be32(&r);
    if (r.err) {
        collect_malformed(x, 0, 10, CR_SHORT);
        return FS_ETRUNC;
    }
    struct collect_stats *st = collect_exp_stats(x, dom, 10);
    st->datagrams++;
    if (mlen < IPFIX_HDR || mlen > len) {
        st->malformed[CR_LENGTH]++;
        return FS_ECORRUPT;
    }
    r = rd_init(data + IPFIX_HDR, mlen - IPFIX_HDR);
    uint64_t before = st->records + st->options_records;
    while (rd_left(&r) >= 4 && !x->stopped) {
        uint16_t id = rd_be16(&r), sl = rd_be16(&r);
        if (sl < 4 || (size_t)sl - 4 > rd_left(&r)) {
            collect_malformed(x, dom, 10, CR_LENGTH);
            break;
        }
        struct rd s = rd_init(rd_take(&r, sl - 4u), sl - 4u);
        tt.sysinit_ms = collect_sysinit_get(x, dom, 10);
        if (id == 2 || id == 3) {
            ipfix_templates(x, dom, &s, id == 3);
        } else if (id >= 256) {
            const struct tmpl *t = collect_tmpl_get(x, dom, 10, id);
            if (t)
                collect_data_set(x, dom, 10, t, s.p, rd_left(&s), &tt);
            else
                collect_hold(x, dom, 10, id, s.p, rd_left(&s), &tt);
        }
    }
    /* Look the entry up again: holding data for another exporter may evict entries. */
    st = collect_exp_stats(x, dom, 10);
    collect_seq(x, dom, 10, seq, (uint32_t)(st->records + st->options_records - before));
    return 0;
}
