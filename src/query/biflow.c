#include "biflow.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define NIL       UINT32_MAX
#define START_CAP 4096u
#define MIN_CAP   16u

/* An open uniflow waiting for its reverse. */
struct slot {
    struct flow f;
    uint64_t seq;  /* insertion number: ring position and age */
    uint64_t hash; /* of the direction-independent key */
    uint32_t next; /* next slot in the bucket's chain */
    uint8_t live;  /* 0 once paired or emitted */
};

struct biflow {
    uint64_t gap_ms, hold_ms;
    size_t max_cap, cap; /* ring capacity: limit and current (powers of two) */
    struct slot *ring;   /* cap slots; seq s lives at s & (cap - 1) */
    uint32_t *bucket;    /* 2 * cap chain heads */
    uint64_t head, tail; /* oldest seq still in the ring, next seq */
    size_t open;         /* live slots */
    uint64_t watermark;  /* largest last time seen */
    struct biflow_counts n;
};

static size_t pow2_at_least(size_t v)
{
    size_t p = MIN_CAP;
    while (p < v)
        p <<= 1;
    return p;
}

static void alloc_tables(struct biflow *b, size_t cap)
{
    b->cap = cap;
    b->ring = xcalloc(cap, sizeof(*b->ring));
    b->bucket = xmalloc(2 * cap * sizeof(*b->bucket));
    for (size_t i = 0; i < 2 * cap; i++)
        b->bucket[i] = NIL;
}

struct biflow *biflow_new(uint64_t gap_ms, uint64_t hold_ms, size_t max_open)
{
    struct biflow *b = xcalloc(1, sizeof(*b));
    b->gap_ms = gap_ms;
    b->hold_ms = hold_ms;
    b->max_cap = pow2_at_least(max_open);
    alloc_tables(b, b->max_cap < START_CAP ? b->max_cap : START_CAP);
    return b;
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static uint64_t end_hash(const uint8_t a[16], uint16_t port)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, a + 8, 8);
    return mix64(mix64(x, y), port);
}

/* The same value for a key and its reverse: the two ends are combined symmetrically. */
static uint64_t key_hash(const struct flow *f)
{
    uint64_t s = end_hash(f->src, f->sport), d = end_hash(f->dst, f->dport);
    uint64_t lo = s < d ? s : d, hi = s < d ? d : s;
    return mix64(mix64(mix64(lo, hi), f->proto), ((uint64_t)f->vlan << 8) | f->ipver);
}

/* 1 when r's key is f's key reversed (same proto, version, vlan, exporter). */
static int is_reverse(const struct flow *f, const struct flow *r)
{
    return f->sport == r->dport && f->dport == r->sport && f->proto == r->proto &&
           f->ipver == r->ipver && f->vlan == r->vlan && memcmp(f->src, r->dst, 16) == 0 &&
           memcmp(f->dst, r->src, 16) == 0 && memcmp(f->exporter, r->exporter, 16) == 0;
}

/* 1 when the later-starting of x and y starts at most gap after the other ends. */
static int near_in_time(const struct flow *x, const struct flow *y, uint64_t gap)
{
    const struct flow *early = x->first <= y->first ? x : y;
    const struct flow *late = early == x ? y : x;
    return late->first <= early->last + gap;
}

static struct slot *slot_of(const struct biflow *b, uint64_t seq)
{
    return &b->ring[seq & (b->cap - 1)];
}

static uint32_t *bucket_of(const struct biflow *b, uint64_t hash)
{
    return &b->bucket[hash & (2 * b->cap - 1)];
}

static void unlink_slot(struct biflow *b, struct slot *s)
{
    uint32_t idx = (uint32_t)(s - b->ring);
    for (uint32_t *p = bucket_of(b, s->hash); *p != NIL; p = &b->ring[*p].next)
        if (*p == idx) {
            *p = s->next;
            break;
        }
    s->live = 0;
    b->open--;
}

/* Emit the slot's uniflow alone and close it. */
static int give_up(struct biflow *b, struct slot *s, biflow_emit_fn emit, void *ctx)
{
    unlink_slot(b, s);
    b->n.unpaired++;
    return emit(ctx, &s->f);
}

/* Drop closed slots at the head, and give up the live uniflows there whose partner can
 * no longer come (last more than hold before the watermark); force 1 gives up one
 * more regardless (to make room), force 2 every one (the end). */
static int advance_head(struct biflow *b, int force, biflow_emit_fn emit, void *ctx)
{
    while (b->head < b->tail) {
        struct slot *s = slot_of(b, b->head);
        if (s->live) {
            int old = s->f.last + b->hold_ms < b->watermark;
            if (!force && !old)
                return 0;
            b->head++;
            int rc = give_up(b, s, emit, ctx);
            if (rc)
                return rc;
            if (force == 1) /* one eviction to make room */
                force = 0;
            continue;
        }
        b->head++;
    }
    return 0;
}

/* Rebuild the ring with capacity newcap: live slots only, chains rebuilt. */
static void rebuild(struct biflow *b, size_t newcap)
{
    struct slot *old = b->ring;
    uint32_t *oldb = b->bucket;
    size_t oldcap = b->cap;
    uint64_t h = b->head, t = b->tail;
    alloc_tables(b, newcap);
    b->head = b->tail = 0;
    for (uint64_t q = h; q < t; q++) {
        const struct slot *o = &old[q & (oldcap - 1)];
        if (!o->live)
            continue;
        struct slot *s = slot_of(b, b->tail);
        *s = *o;
        s->seq = b->tail++;
        uint32_t *head = bucket_of(b, s->hash);
        s->next = *head;
        *head = (uint32_t)(s - b->ring);
    }
    free(old);
    free(oldb);
}

/* Find the open reverse of f closest in start time; NULL when none. */
static struct slot *find_partner(struct biflow *b, const struct flow *f, uint64_t hash)
{
    struct slot *best = NULL;
    uint64_t bestd = 0;
    for (uint32_t i = *bucket_of(b, hash); i != NIL; i = b->ring[i].next) {
        struct slot *s = &b->ring[i];
        if (s->hash != hash || !is_reverse(f, &s->f) || !near_in_time(f, &s->f, b->gap_ms))
            continue;
        uint64_t d = s->f.first > f->first ? s->f.first - f->first : f->first - s->f.first;
        if (!best || d < bestd || (d == bestd && s->seq < best->seq)) {
            best = s;
            bestd = d;
        }
    }
    return best;
}

void biflow_merge(const struct flow *fwd, const struct flow *rev, struct flow *out)
{
    struct flow o = *fwd;
    o.first = fwd->first < rev->first ? fwd->first : rev->first;
    o.last = fwd->last > rev->last ? fwd->last : rev->last;
    o.rbytes = rev->bytes;
    o.rpackets = rev->packets;
    o.rpayload = rev->payload;
    o.rgoodput = rev->goodput;
    o.rretrans = rev->retrans;
    o.rflags = rev->flags;
    o.rminlen = rev->minlen;
    o.rmaxlen = rev->maxlen;
    *out = o;
}

/* How much a port looks like a service: 2 well-known (1..1023), 1 a registered port
 * that commonly runs a service, 0 otherwise (ephemeral, or unknown). */
static int service_rank(uint16_t port)
{
    static const uint16_t common[] = {
        1080, 1194, 1433, 1521, 1883, 2049, 3128, 3306, 3389, 5060, 5222, 5432, 5672, 5900,  6379,
        6443, 8000, 8008, 8080, 8081, 8088, 8443, 8888, 9000, 9090, 9092, 9200, 9418, 11211, 27017
    };
    if (port > 0 && port < 1024)
        return 2;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (common[i] == port)
            return 1;
    return 0;
}

/* 1 when f (not its reverse) is the initiator's direction: it started first; on equal
 * starts (exporters that time both directions of a connection alike), it is sent to
 * the port that looks more like a service, then to the lower port. */
static int is_forward(const struct flow *f, const struct flow *rev)
{
    if (f->first != rev->first)
        return f->first < rev->first;
    int d = service_rank(f->dport), s = service_rank(f->sport);
    if (d != s)
        return d > s;
    return f->dport < f->sport;
}

/* Pair the new uniflow f with the open s: the initiator is forward. */
static int emit_pair(struct biflow *b, struct slot *s, const struct flow *f, biflow_emit_fn emit,
                     void *ctx)
{
    int f_fwd = is_forward(f, &s->f);
    struct flow out;
    if (f_fwd)
        biflow_merge(f, &s->f, &out);
    else
        biflow_merge(&s->f, f, &out);
    unlink_slot(b, s);
    b->n.paired++;
    return emit(ctx, &out);
}

/* Open f: make room first (compact, grow, or give up the oldest), then link it. */
static int open_uniflow(struct biflow *b, const struct flow *f, uint64_t hash, biflow_emit_fn emit,
                        void *ctx)
{
    if (b->tail - b->head == b->cap) {
        if (b->open < b->cap / 4 * 3) {
            rebuild(b, b->cap); /* many paired holes: squeeze them out */
        } else if (b->cap < b->max_cap) {
            rebuild(b, b->cap * 2);
        } else {
            int rc = advance_head(b, 1, emit, ctx);
            if (rc)
                return rc;
        }
    }
    struct slot *s = slot_of(b, b->tail);
    s->f = *f;
    s->seq = b->tail++;
    s->hash = hash;
    s->live = 1;
    b->open++;
    uint32_t *head = bucket_of(b, hash);
    s->next = *head;
    *head = (uint32_t)(s - b->ring);
    return 0;
}

int biflow_add(struct biflow *b, const struct flow *f, biflow_emit_fn emit, void *ctx)
{
    b->n.in++;
    if (f->last > b->watermark)
        b->watermark = f->last;
    int rc;
    if (f->rbytes || f->rpackets) {
        b->n.passed++;
        rc = emit(ctx, f);
    } else {
        uint64_t hash = key_hash(f);
        struct slot *s = find_partner(b, f, hash);
        rc = s ? emit_pair(b, s, f, emit, ctx) : open_uniflow(b, f, hash, emit, ctx);
    }
    if (rc)
        return rc;
    return advance_head(b, 0, emit, ctx);
}

int biflow_flush(struct biflow *b, biflow_emit_fn emit, void *ctx)
{
    return advance_head(b, 2, emit, ctx);
}

void biflow_counts(const struct biflow *b, struct biflow_counts *out)
{
    *out = b->n;
}

void biflow_free(struct biflow *b)
{
    if (!b)
        return;
    free(b->ring);
    free(b->bucket);
    free(b);
}
