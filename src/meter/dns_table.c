#include "dns_table.h"

#include "../core/flow.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct rec {
    char *rrname; /* one allocation: rrname NUL rdata NUL */
    const char *rdata;
    uint64_t first, last, count;
    uint32_t hash;
    uint16_t rrtype;
};

struct stream {
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    int used, lost;
    uint32_t next; /* sequence number of the next byte wanted */
    uint64_t seen_us;
    uint8_t *buf; /* the bytes of messages not complete yet */
    uint32_t len, cap;
};

struct dns_table {
    struct rec *recs;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into recs, 0 = empty */
    size_t nslots;
    struct stream tcp[DNS_TCP_STREAMS];
    struct dns_table_stats st;
    uint64_t now_s; /* the time of the message being parsed */
};

struct dns_table *dns_table_new(void)
{
    struct dns_table *t = xcalloc(1, sizeof(*t));
    t->nslots = 1024;
    t->slots = xcalloc(t->nslots, sizeof(*t->slots));
    return t;
}

void dns_table_free(struct dns_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->recs[i].rrname);
    for (int i = 0; i < DNS_TCP_STREAMS; i++)
        free(t->tcp[i].buf);
    free(t->recs);
    free(t->slots);
    free(t);
}

static uint32_t hash_key(const char *rrname, uint16_t rrtype, const char *rdata)
{
    uint32_t h = 2166136261u ^ rrtype;
    for (const char *s = rrname; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const char *s = rdata; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void rehash(struct dns_table *t)
{
    free(t->slots);
    t->nslots *= 2;
    t->slots = xcalloc(t->nslots, sizeof(*t->slots));
    for (size_t i = 0; i < t->n; i++) {
        size_t s = t->recs[i].hash & (t->nslots - 1);
        while (t->slots[s])
            s = (s + 1) & (t->nslots - 1);
        t->slots[s] = (uint32_t)i + 1;
    }
}

void dns_table_add(struct dns_table *t, const char *rrname, uint16_t rrtype, const char *rdata,
                   uint64_t ts_s)
{
    uint32_t h = hash_key(rrname, rrtype, rdata);
    size_t s = h & (t->nslots - 1);
    for (; t->slots[s]; s = (s + 1) & (t->nslots - 1)) {
        struct rec *r = &t->recs[t->slots[s] - 1];
        if (r->hash == h && r->rrtype == rrtype && strcmp(r->rrname, rrname) == 0 &&
            strcmp(r->rdata, rdata) == 0) {
            if (ts_s < r->first)
                r->first = ts_s;
            if (ts_s > r->last)
                r->last = ts_s;
            r->count++;
            return;
        }
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->recs = xrealloc(t->recs, t->cap * sizeof(*t->recs));
    }
    size_t ln = strlen(rrname), ld = strlen(rdata);
    char *k = xmalloc(ln + ld + 2);
    memcpy(k, rrname, ln + 1);
    memcpy(k + ln + 1, rdata, ld + 1);
    t->recs[t->n] = (struct rec){ .rrname = k,
                                  .rdata = k + ln + 1,
                                  .first = ts_s,
                                  .last = ts_s,
                                  .count = 1,
                                  .hash = h,
                                  .rrtype = rrtype };
    t->slots[s] = (uint32_t)++t->n;
    if (t->n * 2 > t->nslots)
        rehash(t);
}

static void on_answer(void *ctx, const struct dns_answer *a)
{
    struct dns_table *t = ctx;
    char text[64];
    const char *rdata = a->cname;
    if (!rdata) {
        fmt_addr(text, a->addr, a->rrtype == DNS_TYPE_A ? 4 : 6);
        rdata = text;
    }
    dns_table_add(t, a->rrname, a->rrtype, rdata, t->now_s);
    t->st.answers++;
}

static void message(struct dns_table *t, const uint8_t *b, size_t len, uint64_t ts_us)
{
    t->st.messages++;
    t->now_s = ts_us / 1000000;
    enum dns_result r = dns_parse(b, len, on_answer, t, NULL);
    if (r == DNS_OK)
        t->st.responses++;
    else
        t->st.bad[r]++;
}

static struct stream *stream_find(struct dns_table *t, const struct pkt *p)
{
    struct stream *old = &t->tcp[0];
    for (int i = 0; i < DNS_TCP_STREAMS; i++) {
        struct stream *s = &t->tcp[i];
        if (s->used && s->sport == p->sport && s->dport == p->dport &&
            memcmp(s->src, p->src, 16) == 0 && memcmp(s->dst, p->dst, 16) == 0)
            return s;
        if (!s->used || (old->used && s->seen_us < old->seen_us))
            old = s;
    }
    /* A new stream takes a free slot or the least recently used one. */
    old->used = 1;
    old->lost = 0;
    old->len = 0;
    old->next = p->seq;
    old->sport = p->sport;
    old->dport = p->dport;
    memcpy(old->src, p->src, 16);
    memcpy(old->dst, p->dst, 16);
    return old;
}

/* The complete messages at the start of s's buffer, each after its 2-byte length. */
static void stream_drain(struct dns_table *t, struct stream *s, uint64_t ts_us)
{
    uint32_t off = 0;
    while (s->len - off >= 2) {
        uint32_t mlen = (uint32_t)s->buf[off] << 8 | s->buf[off + 1];
        if (s->len - off - 2 < mlen)
            break;
        message(t, s->buf + off + 2, mlen, ts_us);
        off += 2 + mlen;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
}

static void tcp_segment(struct dns_table *t, const struct pkt *p)
{
    struct stream *s = stream_find(t, p);
    s->seen_us = p->ts_us;
    if (p->tcpflags & FS_TCP_SYN) { /* a new connection on the tuple */
        s->lost = 0;
        s->len = 0;
        s->next = p->seq + 1;
        return;
    }
    if (s->lost || p->payload == 0)
        return;
    uint32_t skip = s->next - p->seq; /* bytes of the segment already had */
    if ((int32_t)skip < 0 || p->datalen < p->payload) {
        s->lost = 1; /* a gap, or bytes the capture cut: boundaries unknown from here */
        s->len = 0;
        t->st.tcp_gaps++;
        return;
    }
    if (skip >= p->payload)
        return; /* a retransmission of bytes already taken */
    uint32_t n = p->payload - skip;
    if (s->len + n > s->cap) {
        s->cap = s->len + n > 4096 ? s->len + n : 4096;
        s->buf = xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p->data + skip, n);
    s->len += n;
    s->next += n;
    stream_drain(t, s, p->ts_us);
    /* At most one message of 65535 bytes waits; anything longer is not DNS over TCP. */
    if (s->len > 65537) {
        s->lost = 1;
        s->len = 0;
    }
    if (s->cap > 65536 + 4096 && s->len == 0) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}

void dns_observe(struct dns_table *t, const struct pkt *p)
{
    if (p->sport != 53 || !p->has_ports || p->is_frag)
        return;
    if (p->proto == 17) {
        if (p->datalen < p->payload) {
            t->st.messages++;
            t->st.bad[DNS_TRUNC]++; /* snapped, or the first of IP fragments */
            return;
        }
        message(t, p->data, p->datalen, p->ts_us);
    } else if (p->proto == 6) {
        tcp_segment(t, p);
    }
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    int c = strcmp(x->rrname, y->rrname);
    if (c)
        return c;
    if (x->rrtype != y->rrtype)
        return x->rrtype < y->rrtype ? -1 : 1;
    return strcmp(x->rdata, y->rdata);
}

/* A name as a JSON string: only '\' of the \DDD escapes needs escaping (dns.h). */
static void put_json(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

int dns_table_write(struct dns_table *t, FILE *fp)
{
    if (t->n > 1) /* qsort's array must not be NULL, even for none */
        qsort(t->recs, t->n, sizeof(*t->recs), cmp_rec);
    memset(t->slots, 0, t->nslots * sizeof(*t->slots));
    for (size_t i = 0; i < t->n; i++) {
        size_t s = t->recs[i].hash & (t->nslots - 1);
        while (t->slots[s])
            s = (s + 1) & (t->nslots - 1);
        t->slots[s] = (uint32_t)i + 1;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct rec *r = &t->recs[i];
        fputs("{\"rrname\":", fp);
        put_json(fp, r->rrname);
        fprintf(fp, ",\"rrtype\":\"%s\",\"rdata\":",
                r->rrtype == DNS_TYPE_A      ? "A"
                : r->rrtype == DNS_TYPE_AAAA ? "AAAA"
                                             : "CNAME");
        put_json(fp, r->rdata);
        fprintf(fp, ",\"time_first\":%llu,\"time_last\":%llu,\"count\":%llu}\n",
                (unsigned long long)r->first, (unsigned long long)r->last,
                (unsigned long long)r->count);
    }
    return ferror(fp) ? -1 : 0;
}

void dns_table_get_stats(const struct dns_table *t, struct dns_table_stats *out)
{
    *out = t->st;
    out->records = t->n;
}
