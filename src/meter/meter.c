/*
 * Flow table: a chained hash on the canonical 5-tuple + VLAN, and two LRU lists
 * (open flows, closing flows) ordered by last activity. Because each list is in
 * last-seen order and has one timeout, the next flow to expire is always at a list
 * head: expiry is O(1) per packet, with no timer wheel or heap.
 */
#include "meter.h"

#include "../core/xalloc.h"
#include "requests.h"
#include "sni.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Sequence-space tracking of one TCP direction: goodput and retransmissions. */
struct seqspan {
    uint32_t hi;  /* sequence number one past the highest payload byte seen */
    uint32_t isn; /* the SYN's sequence number, when isn_set */
    uint8_t init; /* hi is valid */
    uint8_t isn_set;
    uint64_t span; /* unique payload bytes seen = goodput */
    uint64_t retx; /* payload bytes at or below hi when they arrived */
    uint64_t hole; /* bytes jumped over and not seen yet (loss before the capture) */
};

enum fstate { FS_OPEN = 0, FS_CLOSING = 1 };

/*
 * The counters of an exchange at one moment of it: when a response boundary is
 * recognised later (split_server), the exchange is cut in two there.
 */
struct xsnap {
    uint64_t bytes, packets, rbytes, rpackets, payload, rpayload;
    uint64_t span[2], retx[2];
    uint64_t first_us; /* the first packet after the moment */
    uint64_t last_us;  /* the last packet before it */
    uint16_t minlen, maxlen, rminlen, rmaxlen;
    uint8_t valid; /* 0: taken in an exchange already emitted */
};

/*
 * The server's writes, as its segments show them (split only): a segment shorter than
 * the largest one ends a write. Two snapshots, no per-packet data.
 */
struct xsplit {
    struct xsnap w;   /* where the server's current write started */
    struct xsnap run; /* where the run of equal-length writes before it started */
    uint32_t wseq;    /* sequence number of the current write's first byte */
    uint32_t runlen;  /* length of each write of that run */
    uint32_t next;    /* one past the server's highest byte seen */
    uint32_t rmax;    /* largest server segment of the connection */
    uint32_t req1;    /* the client's first segment with payload: one request */
    uint32_t qmax;    /* the client's largest segment in this exchange */
    uint8_t seen;     /* next, wseq are valid */
    uint8_t ended;    /* the last server segment was short: a write ended */
    uint8_t hdr;      /* the last server segment was a header-sized realignment */
    uint8_t whttp;    /* the current write's first bytes: 1 "HTTP/", 2 other, 0 unseen */
    uint8_t runhttp;  /* ... and those of the run's first write */
    uint8_t srvhttp;  /* a response start was seen in the server's bytes */
    struct reqs rq;   /* the client's requests: each record gets the one it answered */
};

/* hash and hnext first: walking past another flow of the bucket reads one cache line. */
struct fent {
    uint32_t hash;
    uint8_t state;
    uint8_t fin;        /* bit 0: forward FIN seen, bit 1: reverse FIN seen */
    struct fent *hnext; /* hash chain */
    struct flow f;
    struct fent *prev, *next; /* LRU list of its state */
    uint64_t first_us, last_us;
    struct seqspan seq[2];
    struct xsplit *xs; /* the server's write structure (split only), else NULL */
    /* the look for the server name in the client's first bytes (sni.h) */
    struct sni_asm sni;
};

struct lru {
    struct fent *head, *tail;
};

struct meter {
    struct meter_opts o;
    meter_sink sink;
    void *ctx;
    struct fent **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t nflows;
    struct lru open, closing;
    struct fent *freelist;
    uint64_t now_us;
    struct meter_stats st;
};

void meter_opts_default(struct meter_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->idle_ms = 60000;
    o->active_ms = 1800000;
    o->linger_ms = 2000;
    o->max_flows = 1000000;
}

struct meter *meter_new(const struct meter_opts *o, meter_sink sink, void *ctx)
{
    struct meter *m = xcalloc(1, sizeof(*m));
    if (o)
        m->o = *o;
    else
        meter_opts_default(&m->o);
    if (!m->o.max_flows)
        m->o.max_flows = 1;
    m->sink = sink;
    m->ctx = ctx;
    m->nbuckets = 1 << 12;
    m->buckets = xcalloc(m->nbuckets, sizeof(struct fent *));
    return m;
}

static void lru_remove(struct lru *l, struct fent *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_append(struct lru *l, struct fent *e)
{
    e->prev = l->tail;
    e->next = NULL;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
}

static struct lru *lru_of(struct meter *m, const struct fent *e)
{
    return e->state == FS_CLOSING ? &m->closing : &m->open;
}

/*
 * Symmetric hash of the 5-tuple + VLAN: both directions of a connection give the same
 * value because the endpoint hashes are combined with a commutative operation.
 */
static uint32_t endpoint_hash(const uint8_t a[16], uint16_t port)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, a + 8, 8);
    uint64_t h = (x * 0x9E3779B97F4A7C15ULL) ^ (y + 0x632BE59BD9B4E019ULL + port);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return (uint32_t)h;
}

static uint32_t pkt_hash(const struct pkt *p)
{
    uint32_t h = endpoint_hash(p->src, p->sport) + endpoint_hash(p->dst, p->dport);
    h ^= ((uint32_t)p->proto << 16) ^ p->vlan;
    h *= 0x85EBCA6BU;
    return h ^ (h >> 15);
}

/* 0 = packet goes forward (src->dst of the record), 1 = reverse, -1 = other tuple. */
static int match_dir(const struct fent *e, const struct pkt *p)
{
    const struct flow *f = &e->f;
    if (f->proto != p->proto || f->vlan != p->vlan)
        return -1;
    if (f->sport == p->sport && f->dport == p->dport && memcmp(f->src, p->src, 16) == 0 &&
        memcmp(f->dst, p->dst, 16) == 0)
        return 0;
    if (f->sport == p->dport && f->dport == p->sport && memcmp(f->src, p->dst, 16) == 0 &&
        memcmp(f->dst, p->src, 16) == 0)
        return 1;
    return -1;
}

static void grow(struct meter *m)
{
    uint32_t n = m->nbuckets * 2;
    struct fent **b = xcalloc(n, sizeof(struct fent *));
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        struct fent *e = m->buckets[i];
        while (e) {
            struct fent *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

static void finalize(struct fent *e)
{
    struct flow *f = &e->f;
    f->first = e->first_us / 1000;
    f->last = e->last_us / 1000;
    if (f->proto == 6) {
        f->goodput = e->seq[0].span;
        f->retrans = e->seq[0].retx;
        f->rgoodput = e->seq[1].span;
        f->rretrans = e->seq[1].retx;
    }
}

/* Take e out of the table, hand its record to the sink, recycle it. */
static void expire(struct meter *m, struct fent *e, uint64_t *reason)
{
    struct fent **pp = &m->buckets[e->hash & (m->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_remove(lru_of(m, e), e);
    m->nflows--;
    (*reason)++;
    finalize(e);
    m->st.flows_out++;
    if (e->xs && reqs_on(&e->xs->rq))
        e->f.payload = e->f.goodput = reqs_rest(&e->xs->rq);
    m->sink(m->ctx, &e->f);
    if (e->xs) {
        free(e->xs);
        e->xs = NULL;
    }
    sni_asm_free(&e->sni);
    e->hnext = m->freelist;
    m->freelist = e;
}

void meter_expire(struct meter *m, uint64_t now_us)
{
    if (now_us > m->now_us)
        m->now_us = now_us;
    uint64_t idle = m->o.idle_ms * 1000, linger = m->o.linger_ms * 1000;
    while (m->closing.head && m->closing.head->last_us + linger <= m->now_us)
        expire(m, m->closing.head, &m->st.exp_closed);
    while (m->open.head && m->open.head->last_us + idle <= m->now_us)
        expire(m, m->open.head, &m->st.exp_idle);
}

/*
 * Create a record for a packet with no entry. The initiator is the SYN sender; a
 * SYN+ACK seen first means the other side initiated; otherwise the packet's source.
 */
static struct fent *create(struct meter *m, const struct pkt *p, uint32_t h, int swap)
{
    if (m->nflows >= m->o.max_flows) {
        struct fent *old = m->open.head ? m->open.head : m->closing.head;
        expire(m, old, &m->st.exp_evicted);
    }
    struct fent *e = m->freelist;
    if (e)
        m->freelist = e->hnext;
    else
        e = xmalloc(sizeof(*e));
    memset(e, 0, sizeof(*e));
    struct flow *f = &e->f;
    memcpy(f->src, swap ? p->dst : p->src, 16);
    memcpy(f->dst, swap ? p->src : p->dst, 16);
    f->sport = swap ? p->dport : p->sport;
    f->dport = swap ? p->sport : p->dport;
    f->proto = p->proto;
    f->ipver = p->ipver;
    f->vlan = p->vlan;
    f->tos = p->tos;
    f->exchange = m->o.split && p->proto == 6 ? 1 : 0;
    e->first_us = p->ts_us;
    e->hash = h;
    /* At most one flow per two buckets: a lookup rarely walks past another flow. */
    if (m->nflows + 1 > m->nbuckets / 2)
        grow(m);
    struct fent **b = &m->buckets[h & (m->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_append(&m->open, e);
    m->nflows++;
    if (m->nflows > m->st.active_peak)
        m->st.active_peak = m->nflows;
    return e;
}

/*
 * Goodput from the sequence span: bytes past the highest sequence seen are new, bytes
 * at or below it were sent before (a retransmission, or reordering, which we cannot
 * tell apart without keeping holes). 32-bit wrap is handled by signed differences.
 *
 * A segment that starts beyond hi leaves a hole: bytes the capture did not see (lost
 * before the capture point, or dropped by it). They are not counted until something
 * at or below hi arrives, which then fills the hole first: so a segment lost upstream
 * and retransmitted counts once, and goodput never exceeds the payload the meter saw
 * (a port reused with a new ISN, or a capture that misses packets, used to count
 * the whole jump).
 */
static void seq_update(struct seqspan *s, uint32_t seq, uint32_t len, uint8_t flags)
{
    if (flags & FS_TCP_SYN) {
        s->isn = seq;
        s->isn_set = 1;
        seq++;
    }
    if (!s->init) {
        s->hi = seq;
        s->init = 1;
    }
    if (len == 0)
        return;
    uint32_t end = seq + len;
    int32_t beyond = (int32_t)(end - s->hi);
    if (beyond <= 0) {
        uint64_t fill = s->hole < len ? s->hole : len;
        s->hole -= fill;
        s->span += fill;
        s->retx += len - fill;
        return;
    }
    if ((uint32_t)beyond < len) {
        s->retx += len - (uint32_t)beyond;
        s->span += (uint32_t)beyond;
    } else {
        s->hole += (uint32_t)beyond - len;
        s->span += len;
    }
    s->hi = end;
}

/*
 * A SYN (without ACK) on the tuple of a connection still open: the same connection
 * when it repeats the connection's ISN or lies inside its sequence window (the ISN up
 * to 1 MiB past the highest byte sent: a generous receive window), else a new
 * connection on a reused port whose old one ended without FIN or RST.
 */
static int syn_starts_new(const struct seqspan *s, uint32_t seq)
{
    if (!s->init)
        return 0;
    uint32_t lo = s->isn_set ? s->isn : s->hi - (1u << 20);
    return (uint32_t)(seq - lo) > (uint32_t)(s->hi - lo) + (1u << 20);
}

/*
 * Emit the current exchange of a TCP connection as a record of its own and start the
 * next one: the connection state (orientation, sequence tracking, FIN/RST) goes on,
 * the counters start again from zero.
 */
static void cut_exchange(struct meter *m, struct fent *e, uint64_t ts_us)
{
    struct flow *f = &e->f;
    finalize(e);
    if (e->xs && reqs_on(&e->xs->rq))
        f->payload = f->goodput = reqs_take(&e->xs->rq);
    m->st.flows_out++;
    m->st.exchanges++;
    m->sink(m->ctx, f);
    f->bytes = f->packets = f->rbytes = f->rpackets = 0;
    f->payload = f->rpayload = f->goodput = f->rgoodput = f->retrans = f->rretrans = 0;
    f->minlen = f->maxlen = f->rminlen = f->rmaxlen = 0;
    f->flags = f->rflags = 0;
    f->exchange++;
    for (int d = 0; d < 2; d++)
        e->seq[d].span = e->seq[d].retx = e->seq[d].hole = 0;
    e->first_us = e->last_us = ts_us;
    if (e->xs) {
        e->xs->w.valid = e->xs->run.valid = 0;
        e->xs->qmax = 0;
    }
}

/*
 * A server segment of this size that starts a write after a run of equal writes is the
 * realignment a server sends once per response: it wrote the response header together
 * with the file's first bytes in one write of the run's length, then sends as many
 * bytes as the header took to bring its reads of the file back to that length
 * (apt's mirror: header + 65,403 bytes, then 133 bytes, then 64 KiB writes).
 */
#define SPLIT_HDR_MIN 64
#define SPLIT_HDR_MAX 1024
#define SPLIT_RUN_MIN 8192 /* a write that short is no file read */

static void snap_take(const struct fent *e, struct xsnap *s, uint64_t ts_us)
{
    const struct flow *f = &e->f;
    s->bytes = f->bytes;
    s->packets = f->packets;
    s->rbytes = f->rbytes;
    s->rpackets = f->rpackets;
    s->payload = f->payload;
    s->rpayload = f->rpayload;
    for (int d = 0; d < 2; d++) {
        s->span[d] = e->seq[d].span;
        s->retx[d] = e->seq[d].retx;
    }
    s->first_us = ts_us;
    s->last_us = e->last_us;
    s->minlen = f->minlen;
    s->maxlen = f->maxlen;
    s->rminlen = f->rminlen;
    s->rmaxlen = f->rmaxlen;
    s->valid = 1;
}

/*
 * Cut the current exchange where snapshot s was taken: emit what came before as a
 * record of its own, keep what came after as the next exchange. Flags are those of
 * both parts; the smallest and largest packet of the later part are those of both.
 */
static void cut_at(struct meter *m, struct fent *e, const struct xsnap *s)
{
    struct flow *f = &e->f;
    struct flow out = *f;
    out.bytes = s->bytes;
    out.packets = s->packets;
    out.rbytes = s->rbytes;
    out.rpackets = s->rpackets;
    out.payload = s->payload;
    out.rpayload = s->rpayload;
    out.goodput = s->span[0];
    out.retrans = s->retx[0];
    out.rgoodput = s->span[1];
    out.rretrans = s->retx[1];
    out.minlen = s->minlen;
    out.maxlen = s->maxlen;
    out.rminlen = s->rminlen;
    out.rmaxlen = s->rmaxlen;
    out.first = e->first_us / 1000;
    out.last = s->last_us / 1000;
    if (reqs_on(&e->xs->rq))
        out.payload = out.goodput = reqs_take(&e->xs->rq);
    m->st.flows_out++;
    m->st.exchanges++;
    m->st.resp_cuts++;
    m->sink(m->ctx, &out);
    f->bytes -= s->bytes;
    f->packets -= s->packets;
    f->rbytes -= s->rbytes;
    f->rpackets -= s->rpackets;
    f->payload -= s->payload;
    f->rpayload -= s->rpayload;
    for (int d = 0; d < 2; d++) {
        e->seq[d].span -= s->span[d];
        e->seq[d].retx -= s->retx[d];
    }
    f->exchange++;
    e->first_us = s->first_us;
}

/*
 * Follow the server's writes before server segment p is counted; cut the exchange at
 * the start of a response recognised by its realignment segment. Retransmitted
 * segments say nothing of writes; a gap in the sequence loses the writes' lengths.
 */
static void split_server(struct meter *m, struct fent *e, const struct pkt *p)
{
    struct xsplit *x = e->xs;
    if (x->seen && (int32_t)(p->seq - x->next) < 0)
        return;
    if (x->seen && p->seq != x->next)
        x->w.valid = x->run.valid = 0;
    x->hdr = 0;
    /* Where the capture kept the segment's first bytes, a response start shows as
     * such: cut there at once (a response that fits in one write has no realignment),
     * and a realignment whose run did not start with one is no response start. */
    uint8_t look = p->datalen < 5 ? 0 : memcmp(p->data, "HTTP/", 5) == 0 ? 1 : 2;
    int burst = x->qmax > x->req1 + x->req1 / 2;
    if (look == 1)
        x->srvhttp = 1;
    if (look == 1 && e->f.rpayload && !burst) {
        cut_exchange(m, e, p->ts_us);
        m->st.resp_cuts++;
    }
    if (!x->seen || x->ended) {
        uint32_t wlen = p->seq - x->wseq;
        if (!x->seen || !x->w.valid) {
            x->run.valid = 0;
            x->runlen = 0;
        } else if (wlen != x->runlen) {
            x->run = x->w;
            x->runlen = wlen;
            x->runhttp = x->whttp;
        }
        x->whttp = look;
        if (p->payload >= SPLIT_HDR_MIN && p->payload <= SPLIT_HDR_MAX && p->payload < x->rmax &&
            x->runlen >= SPLIT_RUN_MIN && x->run.valid && x->runhttp != 2) {
            x->hdr = 1;
            /* Server bytes before the run belong to earlier responses. An exchange
             * whose client sent several requests in one segment (a pipelined burst)
             * stays whole: its requests are all in it, a second sum for the set of
             * its responses. */
            if (x->run.rpayload && !burst) {
                cut_at(m, e, &x->run);
                memset(&x->run, 0, sizeof(x->run));
                x->run.valid = 1;
            }
        }
        snap_take(e, &x->w, p->ts_us);
        x->wseq = p->seq;
    }
    if (p->payload > x->rmax)
        x->rmax = p->payload;
    x->ended = p->payload < x->rmax;
    x->next = p->seq + p->payload;
    x->seen = 1;
}

/*
 * A request after response bytes starts the next exchange (keep-alive), unless the
 * server's last segment was a response's realignment: that response goes on, and a
 * request the client sends meanwhile (pipelining) stays in its exchange.
 */
static void split_packet(struct meter *m, struct fent *e, const struct pkt *p, int dir)
{
    if (!e->xs)
        e->xs = xcalloc(1, sizeof(*e->xs));
    if (dir == 1) {
        split_server(m, e, p);
        return;
    }
    if (!e->xs->req1)
        e->xs->req1 = p->payload;
    reqs_client(&e->xs->rq, p);
    /* Where the response starts are visible, requests cut nothing (pipelined, they
     * leave mid-response), except in an exchange holding a burst of uncounted
     * requests: kept whole against the writes, it ends at the next request. */
    /* A burst is a segment of several requests whose count the meter could not see
     * (not captured to its end); requests it counted get an exchange each. */
    uint32_t q = !reqs_on(&e->xs->rq) || p->datalen < p->payload ? p->payload : 0;
    uint32_t big = e->xs->req1 + e->xs->req1 / 2;
    if (e->f.rpayload && !e->xs->hdr && (!e->xs->srvhttp || e->xs->qmax > big || q > big))
        cut_exchange(m, e, p->ts_us);
    if (q > e->xs->qmax)
        e->xs->qmax = q;
}

static void account(struct meter *m, struct fent *e, const struct pkt *p, int dir)
{
    struct flow *f = &e->f;
    if (m->o.split && p->payload && p->proto == 6 && !p->is_frag)
        split_packet(m, e, p, dir);
    uint16_t len = p->iplen > 0xffff ? 0xffff : (uint16_t)p->iplen;
    if (dir == 0) {
        if (!f->packets || len < f->minlen)
            f->minlen = len;
        if (len > f->maxlen)
            f->maxlen = len;
        f->packets++;
        f->bytes += p->iplen;
        f->payload += p->payload;
        f->flags |= p->tcpflags;
    } else {
        if (!f->rpackets || len < f->rminlen)
            f->rminlen = len;
        if (len > f->rmaxlen)
            f->rmaxlen = len;
        f->rpackets++;
        f->rbytes += p->iplen;
        f->rpayload += p->payload;
        f->rflags |= p->tcpflags;
    }
    if (p->ts_us > e->last_us)
        e->last_us = p->ts_us;
    if (p->proto != 6 || p->is_frag)
        return;
    if (dir == 0 && p->payload && !e->sni.done) /* the client's first segments only */
        sni_segment(&e->sni, f, p->data, p->datalen, p->payload, p->seq);
    seq_update(&e->seq[dir], p->seq, p->payload, p->tcpflags);
    if (p->tcpflags & FS_TCP_FIN)
        e->fin |= (uint8_t)(1 << dir);
    if (e->state == FS_OPEN && ((p->tcpflags & FS_TCP_RST) || e->fin == 3)) {
        lru_remove(&m->open, e);
        e->state = FS_CLOSING;
        lru_append(&m->closing, e);
    }
}

static struct fent *lookup(struct meter *m, const struct pkt *p, uint32_t h, int *dir)
{
    for (struct fent *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash != h)
            continue;
        int d = match_dir(e, p);
        if (d >= 0) {
            *dir = d;
            return e;
        }
    }
    return NULL;
}

uint32_t meter_hash(const struct pkt *p)
{
    return pkt_hash(p);
}

/*
 * An entry's lines that matching and counting a packet read: the tuple, the counters,
 * the LRU links, times and sequence state (not the sni and split state behind them).
 */
#define FENT_HOT_END (offsetof(struct fent, seq) + sizeof(struct seqspan[2]))

void meter_prefetch(const struct meter *m, uint32_t hash, int stage)
{
    struct fent *const *b = &m->buckets[hash & (m->nbuckets - 1)];
    if (stage == 0) {
        __builtin_prefetch(b, 1, 3);
        return;
    }
    const char *e = (const char *)*b;
    if (!e)
        return;
    /* An entry need not start a line: an address in every 64 bytes and its last byte
     * reach each line it spans. */
    for (size_t off = 0; off < FENT_HOT_END; off += 64)
        __builtin_prefetch(e + off, 1, 3);
    __builtin_prefetch(e + FENT_HOT_END - 1, 1, 3);
}

void meter_packet(struct meter *m, const struct pkt *p)
{
    meter_packet_hash(m, p, pkt_hash(p));
}

void meter_packet_hash(struct meter *m, const struct pkt *p, uint32_t h)
{
    m->st.packets++;
    meter_expire(m, p->ts_us);
    int dir = 0;
    struct fent *e = lookup(m, p, h, &dir);
    int syn_only = p->proto == 6 && (p->tcpflags & (FS_TCP_SYN | FS_TCP_ACK)) == FS_TCP_SYN;
    if (e && syn_only && (e->state == FS_CLOSING || syn_starts_new(&e->seq[dir], p->seq))) {
        expire(m, e, &m->st.exp_reused); /* port reuse: a new connection */
        e = NULL;
    } else if (e && p->ts_us >= e->first_us + m->o.active_ms * 1000) {
        /* Long flow: cut it and go on in a record with the same orientation. */
        int swap = dir == 1;
        uint32_t exchange = e->f.exchange;
        expire(m, e, &m->st.exp_active);
        e = create(m, p, h, swap);
        e->f.exchange = exchange;
        account(m, e, p, dir);
        return;
    }
    if (!e) {
        int synack =
            p->proto == 6 && (p->tcpflags & (FS_TCP_SYN | FS_TCP_ACK)) == (FS_TCP_SYN | FS_TCP_ACK);
        dir = synack ? 1 : 0;
        e = create(m, p, h, synack);
    } else if (lru_of(m, e)->tail != e) {
        /* To the end of its list; a flow that is already there (its packets come in a
         * row) leaves its neighbours, two other flows' cache lines, alone. */
        struct lru *l = lru_of(m, e);
        lru_remove(l, e);
        lru_append(l, e);
    }
    account(m, e, p, dir);
}

void meter_flush(struct meter *m)
{
    while (m->open.head)
        expire(m, m->open.head, &m->st.exp_flush);
    while (m->closing.head)
        expire(m, m->closing.head, &m->st.exp_flush);
}

uint32_t meter_active(const struct meter *m)
{
    return m->nflows;
}

void meter_get_stats(const struct meter *m, struct meter_stats *out)
{
    *out = m->st;
}

void meter_free(struct meter *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        struct fent *e = m->buckets[i];
        while (e) {
            struct fent *next = e->hnext;
            free(e->xs);
            sni_asm_free(&e->sni);
            free(e);
            e = next;
        }
    }
    while (m->freelist) {
        struct fent *next = m->freelist->hnext;
        free(m->freelist);
        m->freelist = next;
    }
    free(m->buckets);
    free(m);
}
