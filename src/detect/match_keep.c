/*
 * Compact results and range pieces for match_run (match_keep.h says why).
 */
#include "match_keep.h"

#include "../core/xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void keep_init(struct keep *k, size_t n)
{
    memset(k, 0, sizeof(*k));
    k->n = n;
    k->r = xcalloc(n ? n : 1, sizeof(*k->r));
}

void keep_free(struct keep *k)
{
    free(k->r);
    free(k->c);
    free(k->idx);
    memset(k, 0, sizeof(*k));
}

static void grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    *p = xrealloc(*p, c * size);
    *cap = c;
}

void keep_put(struct keep *k, size_t i, const struct match_result *r)
{
    struct kept *s = &k->r[i];
    size_t nidx = 0;
    for (int j = 0; j < r->ncands; j++)
        nidx += r->c[j].k;
    if ((size_t)r->ncands > s->ncands || nidx > s->nidx) {
        grow((void **)&k->c, &k->capc, k->nc + (size_t)r->ncands, sizeof(*k->c));
        grow((void **)&k->idx, &k->capi, k->ni + nidx, sizeof(*k->idx));
        s->cand = k->nc;
        s->idx = k->ni;
        k->nc += (size_t)r->ncands;
        k->ni += nidx;
    }
    s->payload = r->payload;
    s->ncands = (uint16_t)r->ncands;
    s->nidx = (uint16_t)nidx;
    s->verdict = (uint8_t)r->verdict;
    s->basis = (uint8_t)r->basis;
    s->more = (uint8_t)r->more;
    s->calibrated = (uint8_t)r->calibrated;
    s->reqsum = (uint8_t)r->reqsum;
    s->alone = (uint8_t)r->alone;
    s->pieces = (uint8_t)(r->pieces > 255 ? 255 : r->pieces);
    for (int j = 0, x = 0; j < r->ncands; j++) {
        k->c[s->cand + (size_t)j].residual = r->c[j].residual;
        k->c[s->cand + (size_t)j].k = r->c[j].k;
        for (int p = 0; p < r->c[j].k; p++)
            k->idx[s->idx + (size_t)x++] = r->c[j].idx[p];
    }
}

void keep_get(const struct keep *k, size_t i, struct match_result *r)
{
    const struct kept *s = &k->r[i];
    memset(r, 0, sizeof(*r));
    r->payload = s->payload;
    r->ncands = s->ncands;
    r->verdict = (enum match_verdict)s->verdict;
    r->basis = (enum match_basis)s->basis;
    r->more = s->more;
    r->calibrated = s->calibrated;
    r->reqsum = s->reqsum;
    r->alone = s->alone;
    r->pieces = s->pieces;
    for (int j = 0, x = 0; j < r->ncands; j++) {
        r->c[j].residual = k->c[s->cand + (size_t)j].residual;
        r->c[j].k = k->c[s->cand + (size_t)j].k;
        for (int p = 0; p < r->c[j].k; p++)
            r->c[j].idx[p] = k->idx[s->idx + (size_t)x++];
    }
}

/* ---- range pieces: one record a flow, fields in a fixed order */

#define PK_V4   1 /* both addresses IPv4-mapped: 4 bytes each */
#define PK_BACK 2 /* last < first: last stored whole, not as the difference */

static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static size_t put_var(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static int get_var(const uint8_t *buf, size_t len, size_t *off, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *off < len; shift += 7) {
        uint8_t b = buf[(*off)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The counters stored, in this order (offsets: no struct copy, no pointer table built
 * per call; piece_put runs for half the flows of a day). */
static const size_t counter_at[] = {
    offsetof(struct flow, bytes),   offsetof(struct flow, packets),
    offsetof(struct flow, rbytes),  offsetof(struct flow, rpackets),
    offsetof(struct flow, payload), offsetof(struct flow, rpayload),
    offsetof(struct flow, goodput), offsetof(struct flow, rgoodput),
    offsetof(struct flow, retrans), offsetof(struct flow, rretrans)
};
#define NCOUNTERS 10

void piece_put(uint8_t **buf, size_t *len, size_t *cap, const struct flow *f)
{
    uint8_t p[2 + 32 + 8 + 13 * 10]; /* length, flags, addresses, 8 bytes, 13 varints */
    size_t n = 2;
    int v4 =
        f->ipver == 4 && memcmp(f->src, v4_prefix, 12) == 0 && memcmp(f->dst, v4_prefix, 12) == 0;
    p[1] = (uint8_t)((v4 ? PK_V4 : 0) | (f->last < f->first ? PK_BACK : 0));
    memcpy(p + n, v4 ? f->src + 12 : f->src, v4 ? 4 : 16);
    n += v4 ? 4 : 16;
    memcpy(p + n, v4 ? f->dst + 12 : f->dst, v4 ? 4 : 16);
    n += v4 ? 4 : 16;
    p[n++] = (uint8_t)(f->sport >> 8);
    p[n++] = (uint8_t)f->sport;
    p[n++] = (uint8_t)(f->dport >> 8);
    p[n++] = (uint8_t)f->dport;
    p[n++] = f->proto;
    p[n++] = f->ipver;
    p[n++] = f->flags;
    p[n++] = f->rflags;
    n += put_var(p + n, f->exchange);
    n += put_var(p + n, f->first);
    n += put_var(p + n, f->last < f->first ? f->last : f->last - f->first);
    for (int i = 0; i < NCOUNTERS; i++) {
        uint64_t v;
        memcpy(&v, (const uint8_t *)f + counter_at[i], sizeof(v));
        n += put_var(p + n, v);
    }
    p[0] = (uint8_t)n; /* at most 172: a walk skips a record without decoding it */
    if (*len + n > *cap)
        grow((void **)buf, cap, *len + n, 1);
    memcpy(*buf + *len, p, n);
    *len += n;
}

int piece_get(const uint8_t *buf, size_t len, size_t *off, struct flow *f)
{
    size_t o = *off;
    memset(f, 0, sizeof(*f));
    if (o >= len || buf[o] < 2 || buf[o] > len - o)
        return -1;
    len = o + buf[o]; /* this record only */
    o++;
    uint8_t fl = buf[o++];
    size_t a = fl & PK_V4 ? 4 : 16;
    if (len - o < 2 * a + 8)
        return -1;
    if (a == 4) {
        memcpy(f->src, v4_prefix, 12);
        memcpy(f->dst, v4_prefix, 12);
    }
    memcpy(f->src + 16 - a, buf + o, a);
    memcpy(f->dst + 16 - a, buf + o + a, a);
    o += 2 * a;
    f->sport = (uint16_t)(buf[o] << 8 | buf[o + 1]);
    f->dport = (uint16_t)(buf[o + 2] << 8 | buf[o + 3]);
    f->proto = buf[o + 4];
    f->ipver = buf[o + 5];
    f->flags = buf[o + 6];
    f->rflags = buf[o + 7];
    o += 8;
    uint64_t ex, last;
    if (get_var(buf, len, &o, &ex) || get_var(buf, len, &o, &f->first) ||
        get_var(buf, len, &o, &last))
        return -1;
    f->exchange = (uint32_t)ex;
    f->last = fl & PK_BACK ? last : f->first + last;
    for (int i = 0; i < NCOUNTERS; i++) {
        uint64_t v;
        if (get_var(buf, len, &o, &v))
            return -1;
        memcpy((uint8_t *)f + counter_at[i], &v, sizeof(v));
    }
    *off = len;
    return 0;
}
