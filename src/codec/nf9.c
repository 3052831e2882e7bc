/*
 * NetFlow v9 (RFC 3954): header, then flowsets (layout in collect.h). Templates are
 * compiled by tmpl.c and cached per (exporter, source id, template id) in collect.c;
 * data flowsets run the compiled ops. The header count is not trusted (vendors count
 * flowsets, records or nothing): flowsets are walked by their lengths.
 */
#include "../core/err.h"
#include "../core/xalloc.h"
#include "datagram.h"

#include <stdlib.h>

#define NF9_HDR 20

/* Template flowset (id 0): records of u16 id | u16 count | count x (u16 type, u16 len). */
static void nf9_templates(struct collect_ctx *x, uint32_t dom, struct rd *r)
{
    struct tmpl_field *f = xmalloc(TMPL_MAX_FIELDS * sizeof(*f));
    while (rd_left(r) >= 4) {
        uint16_t tid = rd_be16(r), n = rd_be16(r);
        if (tid < 256 || n == 0 || n > TMPL_MAX_FIELDS || rd_left(r) < (size_t)n * 4) {
            /* Zero bytes to the end are padding; anything else is a bad template. */
            if (tid != 0 || n != 0)
                collect_malformed(x, dom, 9,
                                  n > TMPL_MAX_FIELDS ? CR_TEMPLATE_SIZE : CR_BAD_TEMPLATE);
            break;
        }
        for (uint16_t i = 0; i < n; i++) {
            f[i].id = rd_be16(r);
            f[i].len = rd_be16(r);
            f[i].pen = 0;
        }
        collect_tmpl_define(x, dom, 9, tid, f, n, 0);
    }
    free(f);
}

/*
 * Options template flowset (id 1): u16 id | u16 scope bytes | u16 option bytes | scope
 * fields | option fields, padded to 4. Scope field types are their own number space
 * (1 = system, 2 = interface, ...), so they are compiled as skips.
 */
static void nf9_options(struct collect_ctx *x, uint32_t dom, struct rd *r)
{
    struct tmpl_field *f = xmalloc(TMPL_MAX_FIELDS * sizeof(*f));
    while (rd_left(r) >= 6) {
        uint16_t tid = rd_be16(r), sl = rd_be16(r), ol = rd_be16(r);
        size_t n = (size_t)(sl / 4) + (ol / 4);
        if (tid < 256 || sl % 4 || ol % 4 || n == 0 || n > TMPL_MAX_FIELDS || rd_left(r) < n * 4) {
            if (tid != 0)
                collect_malformed(x, dom, 9, CR_BAD_TEMPLATE);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            f[i].id = rd_be16(r);
            f[i].len = rd_be16(r);
            f[i].pen = 0;
            if (i < sl / 4u)
                f[i].id = 0;
        }
        collect_tmpl_define(x, dom, 9, tid, f, n, 1);
    }
    free(f);
}

/* Decode one NetFlow v9 datagram; returns 0 or a negative FS_E* code. */
int nf9_decode(struct collect_ctx *x, const uint8_t *data, size_t len)
{
    struct rd r = rd_init(data, len);
    struct tmpl_time tt = { 0 };
    rd_skip(&r, 4); /* version, count */
    tt.sysuptime = rd_be32(&r);
    tt.export_ms = (uint64_t)rd_be32(&r) * 1000;
    tt.has_uptime = 1;
    uint32_t seq = rd_be32(&r), dom = rd_be32(&r);
    if (r.err) {
        collect_malformed(x, 0, 9, CR_SHORT);
        return FS_ETRUNC;
    }
    collect_exp_stats(x, dom, 9)->datagrams++;
    while (rd_left(&r) >= 4 && !x->stopped) {
        uint16_t id = rd_be16(&r), sl = rd_be16(&r);
        if (id == 0 && sl == 0)
            break; /* zero padding after the last flowset (PAN-OS) */
        if (sl < 4 || (size_t)sl - 4 > rd_left(&r)) {
            collect_malformed(x, dom, 9, CR_LENGTH);
            break;
        }
        struct rd s = rd_init(rd_take(&r, sl - 4u), sl - 4u);
        if (id == 0) {
            nf9_templates(x, dom, &s);
        } else if (id == 1) {
            nf9_options(x, dom, &s);
        } else if (id >= 256) {
            const struct tmpl *t = collect_tmpl_get(x, dom, 9, id);
            if (t)
                collect_data_set(x, dom, 9, t, s.p, rd_left(&s), &tt);
            else
                collect_hold(x, dom, 9, id, s.p, rd_left(&s), &tt);
        }
    }
    collect_seq(x, dom, 9, seq, 1);
    return 0;
}
