/* Scan detection: TRW and the failed-pair count rule (scan.h). */
#include "scan.h"
#include "addrmap.h"

#include "../core/err.h"
#include "../core/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PROTO_ICMP  1
#define PROTO_TCP   6
#define PROTO_UDP   17
#define PROTO_ICMP6 58

/* The meter and exporters put ICMP type * 256 + code into dport. */
#define ICMP_ECHO       0x0800
#define ICMP_ECHO_REPLY 0x0000
#define ICMP6_ECHO      0x8000
#define ICMP6_REPLY     0x8100

enum { K_CONTACT, K_REPLY, K_OTHER };

/* An address as two big-endian halves: integer compares give memcmp's order, and the
 * sort (most of the command's time) runs several times faster than on bytes. */
struct addr128 {
    uint64_t hi, lo;
};

/* A contact as scan_finish reads it, unpacked from its held record. */
struct contact {
    struct addr128 dst;
    uint64_t first, last;
    uint16_t dport;
    uint8_t proto, ipver, answered;
};

/*
 * A contact as held: 20 bytes with an IPv4 (v4-mapped) destination, 32 with another.
 * Only contacts are held (another flow adds only to its source's record, an echo reply
 * also to rep): these pages are most of the command's memory, and the kernel zeroing
 * them as they are first written was a fifth of its time at 44 bytes a flow. Times are
 * offsets from the first contact's, the few that do not fit (more than 24 days before
 * or after it, or longer than 49) in `wide`; the protocol is one of four.
 */
struct held {
    uint32_t sid;   /* the source's id, set when flushed */
    uint32_t first; /* first - base + 2^31, or the index into wide (HELD_WIDE) */
    uint32_t dur;   /* last - first */
    uint16_t dport;
    uint8_t meta; /* the protocol's index in held_proto, HELD_ANSWERED, HELD_WIDE */
    uint8_t ipver;
};
struct held4 {
    struct held h;
    uint8_t dst[4]; /* of ::ffff:a.b.c.d */
};
struct held6 {
    struct held h;
    uint8_t dst[16];
};
#define HELD_PROTO    3
#define HELD_ANSWERED 4
#define HELD_WIDE     8
#define HELD_BIAS     ((uint64_t)1 << 31)
static const uint8_t held_proto[4] = { PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMP6 };

struct wide {
    uint64_t first, last;
};

/* Held records of one size, in one reservation or a doubling array. */
struct hold {
    unsigned char *p;
    size_t n, cap, size;
    size_t mapped; /* the reservation's length, else 0 */
};

/* An echo reply flow: replier -> requester. */
struct reply {
    struct addr128 from, to;
};

/*
 * A source's record in the map: its address, its flows, its flows' first and last
 * times, and its contacts that were not answered: at least as many as its failed pairs
 * and its missed destinations, so scan_finish judges only the sources where these
 * could reach a rule's threshold.
 */
struct srec {
    struct addrkey k;
    uint32_t nflows, nmiss;
    uint64_t first, last;
};

/* A flow whose source is not looked up yet. */
struct pend {
    uint64_t first, last;
    uint32_t *sid; /* its held record's, NULL when not held */
    uint32_t miss;
};

/* A source that could be a scanner, sorted by address. */
struct cand {
    uint64_t hi, lo;
    uint32_t id;
};

_Static_assert(sizeof(struct held6) + sizeof(struct wide) + sizeof(uint32_t) <= SCAN_BYTES_PER_FLOW,
               "scan's --max-mem help: a held contact, its wide times and its index");
/* At scan_finish a source has its record, its slots, and when it could be a scanner its
 * sort entry, its rank and its bounds. */
_Static_assert(sizeof(struct srec) + ADDRMAP_BYTES_PER_KEY + sizeof(struct cand) +
                       3 * sizeof(uint32_t) <=
                   SCAN_BYTES_PER_SOURCE,
               "scan's --max-mem help: a source's record, its map share, sort, bounds and rank");

/* One (destination, proto, port) pair of a source's contacts: its first contact and
 * whether any of them was answered. */
struct pair {
    struct addr128 dst;
    uint64_t first;
    uint16_t dport;
    uint8_t proto, answered;
};

/* A destination at its first contact (the walk's order); its address is pair's. */
struct dst_obs {
    uint64_t first;
    uint32_t pair, answered;
};

/* The busiest source's work arrays: its pairs, destinations, their hash slots (a power
 * of two of at least twice as many), failed pairs' times and ports. */
_Static_assert(sizeof(struct pair) + sizeof(struct dst_obs) + 4 * sizeof(uint32_t) +
                       sizeof(uint64_t) + sizeof(uint16_t) <=
                   SCAN_BYTES_PER_BUSIEST,
               "scan's --max-mem help: the busiest source's work arrays");

/*
 * The contacts are held in arrival order with their source as a dense id (addrmap.h).
 * scan_finish picks the sources whose unanswered contacts could make a scanner, lists
 * their contacts (a counting sort of the indexes by the source's rank in address
 * order) and groups one source's contacts at a time by (destination, proto, port) and
 * then by destination through small hash tables, in the cache: sorting each source's
 * flows was a third of the command's time, and only the distinct destinations need an
 * order (the walk's).
 */
struct scan {
    struct scan_opts o;
    struct trw trw;
    struct addrmap srcs; /* records: struct srec */
    struct hold h4, h6;  /* contacts: struct held4, struct held6 */
    struct wide *wide;
    size_t nwide, widecap;
    uint64_t base; /* the first contact's first time */
    int has_base;
    size_t n;                           /* flows taken */
    uint64_t most;                      /* flows of the busiest source */
    struct addrkey pkey[ADDRMAP_BATCH]; /* the sources of the last npend flows: their */
    struct pend pend[ADDRMAP_BATCH];    /* ids are looked up a batch at a time */
    size_t npend;
    struct reply *rep; /* echo replies, sorted in scan_finish */
    size_t nrep, repcap;
    size_t used;
    struct pair *pairs; /* scan_finish's work arrays, sized to the largest source */
    struct dst_obs *dsts;
    uint32_t *slot; /* the hash table of pairs, then of destinations: index + 1 */
    uint64_t *fails;
    uint16_t *ports;
    uint64_t portbits[65536 / 64]; /* distinct_ports' set */
};

static struct addr128 addr_load(const uint8_t a[16])
{
    struct addr128 r = { addr_half_load(a), addr_half_load(a + 8) };
    return r;
}

static void addr_store(uint8_t a[16], const struct addr128 *v)
{
    for (int i = 0; i < 8; i++) {
        a[i] = (uint8_t)(v->hi >> (56 - 8 * i));
        a[8 + i] = (uint8_t)(v->lo >> (56 - 8 * i));
    }
}

static int addr_cmp(const struct addr128 *a, const struct addr128 *b)
{
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

static int addr_eq(const struct addr128 *a, const struct addr128 *b)
{
    return a->hi == b->hi && a->lo == b->lo;
}

struct scan *scan_new(const struct scan_opts *o, int *err)
{
    struct trw t;
    *err = trw_init(&t, &o->trw);
    if (*err)
        return NULL;
    struct scan *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->trw = t;
    s->h4.size = sizeof(struct held4);
    s->h6.size = sizeof(struct held6);
    addrmap_init(&s->srcs, sizeof(struct srec));
    return s;
}

size_t scan_flows(const struct scan *s)
{
    return s->n;
}

const char *scan_kind_name(enum scan_kind k)
{
    return k == SCAN_HORIZONTAL ? "horizontal" : k == SCAN_VERTICAL ? "vertical" : "block";
}

static void hold_free(struct hold *h)
{
    if (h->mapped)
        munmap(h->p, h->mapped);
    else
        free(h->p);
    h->p = NULL;
    h->n = h->cap = h->mapped = 0;
}

void scan_free(struct scan *s)
{
    if (!s)
        return;
    hold_free(&s->h4);
    hold_free(&s->h6);
    free(s->wide);
    free(s->pairs);
    free(s->slot);
    free(s->rep);
    addrmap_free(&s->srcs);
    free(s->dsts);
    free(s->fails);
    free(s->ports);
    free(s);
}

static int tcp_answered(const struct flow *f)
{
    if (!f->rpackets)
        return 0;
    /* A RST alone is a closed port; a server that ends a real exchange with a RST has
     * sent a SYN+ACK or payload first. */
    return (f->rflags & FS_TCP_SYN) || f->rpayload > 0 || !(f->rflags & FS_TCP_RST);
}

static uint8_t flow_kind(const struct flow *f)
{
    if (f->proto == PROTO_TCP || f->proto == PROTO_UDP)
        return K_CONTACT;
    if (f->proto == PROTO_ICMP)
        return f->dport == ICMP_ECHO ? K_CONTACT : f->dport == ICMP_ECHO_REPLY ? K_REPLY : K_OTHER;
    if (f->proto == PROTO_ICMP6)
        return f->dport == ICMP6_ECHO ? K_CONTACT : f->dport == ICMP6_REPLY ? K_REPLY : K_OTHER;
    return K_OTHER;
}

/* The sources of the pending flows: their ids into the held contacts, the sources'
 * records, and the room they take. */
static void flush(struct scan *s)
{
    uint32_t id[ADDRMAP_BATCH];
    uint8_t added[ADDRMAP_BATCH];
    addrmap_put_batch(&s->srcs, s->pkey, s->npend, id, added);
    for (size_t i = 0; i < s->npend; i++) {
        const struct pend *p = &s->pend[i];
        struct srec *sr = addrmap_rec(&s->srcs, id[i]);
        if (p->sid)
            *p->sid = id[i];
        if (!sr->nflows || p->first < sr->first)
            sr->first = p->first;
        sr->last = p->last > sr->last ? p->last : sr->last;
        sr->nmiss += p->miss;
        s->used += added[i] ? SCAN_BYTES_PER_SOURCE : 0;
        if (++sr->nflows > s->most) {
            s->most = sr->nflows;
            s->used += SCAN_BYTES_PER_BUSIEST;
        }
    }
    s->npend = 0;
}

/*
 * Room for one more record. The array is reserved once as large as --max-mem lets it
 * grow (address space only: pages are given as they are written) and in 2 MiB pages
 * where the kernel gives them: scan_finish reads it at random, one source's contacts at
 * a time, and with 4 KiB pages nearly every read also missed the TLB (in a virtual
 * machine a walk of two page tables); reserved, it is never copied as a doubling
 * realloc does. Where the reservation fails, a doubling array. The caller flushes
 * first: pending flows point into the array.
 */
static void hold_grow(struct hold *h, size_t max_mem)
{
    const size_t huge = (size_t)2 << 20;
    size_t cap = max_mem / SCAN_BYTES_PER_FLOW + 1;
    if (!h->p && cap * h->size >= ((size_t)64 << 20)) {
        size_t len = (cap * h->size + huge - 1) / huge * huge;
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
            (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: 4 KiB pages work too */
#endif
            h->p = p;
            h->mapped = len;
            h->cap = len / h->size;
            return;
        }
    }
    cap = h->cap ? 2 * h->cap : 4096;
    if (!h->mapped) {
        h->p = xrealloc(h->p, cap * h->size);
        h->cap = cap;
        return;
    }
    /* the reservation full: not reached, --max-mem stops the flows first */
    unsigned char *p = xmalloc(cap * h->size);
    if (h->p)
        memcpy(p, h->p, h->n * h->size);
    munmap(h->p, h->mapped);
    h->p = p;
    h->mapped = 0;
    h->cap = cap;
}

static struct held *held_at(const struct hold *h, size_t i)
{
    return (struct held *)(h->p + i * h->size);
}

/* The contact f (last at least first) into its hold: the record, its sid left to set. */
static struct held *hold_contact(struct scan *s, const struct flow *f, uint64_t last, int answered)
{
    int v4 = flow_addr_is_v4mapped(f->dst);
    struct hold *hd = v4 ? &s->h4 : &s->h6;
    if (hd->n == hd->cap) {
        flush(s);
        hold_grow(hd, s->o.max_mem);
    }
    struct held *h = held_at(hd, hd->n++);
    if (v4)
        memcpy(((struct held4 *)h)->dst, f->dst + 12, 4);
    else
        memcpy(((struct held6 *)h)->dst, f->dst, 16);
    if (!s->has_base) {
        s->base = f->first;
        s->has_base = 1;
    }
    uint64_t off = f->first - s->base + HELD_BIAS, dur = last - f->first;
    uint8_t code = f->proto == PROTO_TCP    ? 0
                   : f->proto == PROTO_UDP  ? 1
                   : f->proto == PROTO_ICMP ? 2
                                            : 3;
    h->meta = (uint8_t)(code | (answered ? HELD_ANSWERED : 0));
    if (off > UINT32_MAX || dur > UINT32_MAX) {
        if (s->nwide == s->widecap) {
            s->widecap = s->widecap ? 2 * s->widecap : 64;
            s->wide = xrealloc(s->wide, s->widecap * sizeof(*s->wide));
        }
        s->wide[s->nwide] = (struct wide){ f->first, last };
        off = s->nwide++;
        dur = 0;
        h->meta |= HELD_WIDE;
    }
    h->first = (uint32_t)off;
    h->dur = (uint32_t)dur;
    h->dport = f->dport;
    h->ipver = f->ipver ? f->ipver : (flow_addr_is_v4mapped(f->src) ? 4 : 6);
    return h;
}

int scan_add(struct scan *s, const struct flow *f)
{
    const struct scan_opts *o = &s->o;
    if (o->allow && (netlist_has_addr(o->allow, f->src) || netlist_has_port(o->allow, f->dport)))
        return 0;
    uint8_t kind = flow_kind(f);
    struct addrkey k;
    addrkey_load(&k, f->src, 0);
    size_t need = SCAN_BYTES_PER_FLOW + (kind == K_REPLY ? sizeof(struct reply) : 0);
    /* room for the flows held and this one, each with a new source and one more flow
     * of the busiest: no lookup */
    if (s->used + (s->npend + 1) * (SCAN_BYTES_PER_FLOW + sizeof(struct reply) +
                                    SCAN_BYTES_PER_SOURCE + SCAN_BYTES_PER_BUSIEST) >
            o->max_mem ||
        s->n == UINT32_MAX) {
        flush(s);
        uint32_t id = addrmap_get(&s->srcs, &k);
        uint64_t mine = id == UINT32_MAX ? 0 : ((struct srec *)addrmap_rec(&s->srcs, id))->nflows;
        size_t more = (id == UINT32_MAX ? SCAN_BYTES_PER_SOURCE : 0) +
                      (mine + 1 > s->most ? SCAN_BYTES_PER_BUSIEST : 0);
        if (s->used + need + more > o->max_mem || s->n == UINT32_MAX)
            return FS_ENOSPC;
    }
    uint64_t last = f->last < f->first ? f->first : f->last;
    uint32_t *sid = NULL, miss = 0;
    if (kind == K_CONTACT) {
        int answered = f->proto == PROTO_TCP ? tcp_answered(f) : f->rpackets > 0;
        sid = &hold_contact(s, f, last, answered)->sid; /* may flush */
        miss = !answered;
    } else if (kind == K_REPLY) {
        if (s->nrep == s->repcap) {
            s->repcap = s->repcap ? 2 * s->repcap : 64;
            s->rep = xrealloc(s->rep, s->repcap * sizeof(*s->rep));
        }
        s->rep[s->nrep].from = addr_load(f->src);
        s->rep[s->nrep++].to = addr_load(f->dst);
    }
    s->n++;
    s->used += need;
    s->pend[s->npend] = (struct pend){ f->first, last, sid, miss };
    s->pkey[s->npend++] = k;
    if (s->npend == ADDRMAP_BATCH)
        flush(s);
    return 0;
}

/* The held contact ix (h4's first, then h6's after them). */
static const struct held *contact_at(const struct scan *s, uint32_t ix)
{
    return ix < s->h4.n ? held_at(&s->h4, ix) : held_at(&s->h6, ix - s->h4.n);
}

static void load_contact(const struct scan *s, uint32_t ix, struct contact *c)
{
    const struct held *h = contact_at(s, ix);
    if (ix < s->h4.n) {
        const uint8_t *a = ((const struct held4 *)h)->dst;
        c->dst.hi = 0;
        c->dst.lo = (uint64_t)0xffff << 32 | (uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 |
                    (uint64_t)a[2] << 8 | a[3];
    } else {
        c->dst = addr_load(((const struct held6 *)h)->dst);
    }
    if (h->meta & HELD_WIDE) {
        c->first = s->wide[h->first].first;
        c->last = s->wide[h->first].last;
    } else {
        c->first = s->base + h->first - HELD_BIAS;
        c->last = c->first + h->dur;
    }
    c->dport = h->dport;
    c->proto = held_proto[h->meta & HELD_PROTO];
    c->ipver = h->ipver;
    c->answered = (h->meta & HELD_ANSWERED) != 0;
}
/* ---------------------------------------------------------------- ordering */

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

/* One source's contacts by (dst, proto, dport, first): grouped by destination and
 * then by (proto, port). */
static int cmp_contact(const struct contact *a, const struct contact *b)
{
    int c = addr_cmp(&a->dst, &b->dst);
    if (c)
        return c;
    if (a->proto != b->proto)
        return a->proto - b->proto;
    if (a->dport != b->dport)
        return a->dport - b->dport;
    c = cmp_u64(a->first, b->first);
    if (c)
        return c;
    /* the rest only makes the order total, so an unstable sort gives one result */
    c = cmp_u64(a->last, b->last);
    if (c)
        return c;
    return a->answered != b->answered ? a->answered - b->answered : a->ipver - b->ipver;
}

static int cmp_reply(const void *pa, const void *pb)
{
    const struct reply *a = pa, *b = pb;
    int c = addr_cmp(&a->from, &b->from);
    return c ? c : addr_cmp(&a->to, &b->to);
}

/*
 * A quicksort (median of three, the smaller side first, insertion sort below 16) on
 * elements of TYPE ordered by LESS(a, b), as sort_contacts: qsort's calls through a
 * comparison pointer were 15% of scan over 10 M flows.
 */
/* NOLINTBEGIN(bugprone-macro-parentheses): TYPE is a type, it cannot be parenthesised */
#define DEFINE_SORT(NAME, TYPE, LESS)                                \
    static void NAME(TYPE *v, size_t n)                              \
    {                                                                \
        while (n > 16) {                                             \
            size_t mid = n / 2, i = 0, j = n - 1;                    \
            TYPE t;                                                  \
            if (LESS(v[mid], v[0])) {                                \
                t = v[mid], v[mid] = v[0], v[0] = t;                 \
            }                                                        \
            if (LESS(v[n - 1], v[0])) {                              \
                t = v[n - 1], v[n - 1] = v[0], v[0] = t;             \
            }                                                        \
            if (LESS(v[n - 1], v[mid])) {                            \
                t = v[n - 1], v[n - 1] = v[mid], v[mid] = t;         \
            }                                                        \
            t = v[mid], v[mid] = v[n - 1], v[n - 1] = t;             \
            const TYPE pv = v[n - 1];                                \
            for (;;) {                                               \
                while (LESS(v[i], pv))                               \
                    i++;                                             \
                while (j > 0 && LESS(pv, v[j - 1]))                  \
                    j--;                                             \
                if (j == 0 || i >= j - 1)                            \
                    break;                                           \
                t = v[i], v[i] = v[j - 1], v[j - 1] = t;             \
                i++;                                                 \
                j--;                                                 \
            }                                                        \
            t = v[i], v[i] = v[n - 1], v[n - 1] = t;                 \
            if (i < n - 1 - i) {                                     \
                NAME(v, i);                                          \
                v += i + 1;                                          \
                n -= i + 1;                                          \
            } else {                                                 \
                NAME(v + i + 1, n - 1 - i);                          \
                n = i;                                               \
            }                                                        \
        }                                                            \
        for (size_t i = 1; i < n; i++)                               \
            for (size_t k = i; k > 0 && LESS(v[k], v[k - 1]); k--) { \
                TYPE t = v[k - 1];                                   \
                v[k - 1] = v[k];                                     \
                v[k] = t;                                            \
            }                                                        \
    }

#define LESS_OBS(a, b) ((a).first < (b).first || ((a).first == (b).first && (a).pair < (b).pair))
#define LESS_NUM(a, b) ((a) < (b))
DEFINE_SORT(sort_obs, struct dst_obs, LESS_OBS)
DEFINE_SORT(sort_u64, uint64_t, LESS_NUM)
#define LESS_CAND(a, b) ((a).hi < (b).hi || ((a).hi == (b).hi && (a).lo < (b).lo))
DEFINE_SORT(sort_cand, struct cand, LESS_CAND)
/* NOLINTEND(bugprone-macro-parentheses) */

/* 1 when the contact's destination sent src an echo reply (a K_REPLY flow). */
static int echo_replied(const struct scan *s, const struct addr128 *src, const struct contact *c)
{
    struct reply key = { c->dst, *src };
    return s->nrep && bsearch(&key, s->rep, s->nrep, sizeof(*s->rep), cmp_reply) != NULL;
}

/* ---------------------------------------------------------------- one source */

/* How much of each work array collect_sets filled, and the source's sums. */
struct source_sets {
    size_t npair, ndst, nfail, nports;
    uint32_t ipvers; /* a bit per ipver among the contacts */
};

static int is_echo_proto(uint8_t proto)
{
    return proto == PROTO_ICMP || proto == PROTO_ICMP6;
}

static size_t hash3(uint64_t hi, uint64_t lo, uint64_t tag)
{
    uint64_t h = hi * 0x9e3779b97f4a7c15u ^ lo * 0xc2b2ae3d27d4eb4fu ^ tag * 0xd6e8feb86659fd93u;
    h ^= h >> 29;
    h *= 0x165667b19e3779f9u;
    return (size_t)(h ^ h >> 32);
}

/* A power of two of at least twice n slots, all empty: its mask. */
static size_t clear_table(uint32_t *slot, size_t n)
{
    size_t size = 16;
    while (size < 2 * n)
        size *= 2;
    memset(slot, 0, size * sizeof(*slot));
    return size - 1;
}

/* The contact's (destination, proto, port) pair, added when new. */
static struct pair *pair_of(struct scan *s, size_t mask, const struct contact *c, size_t *npair)
{
    size_t i = hash3(c->dst.hi, c->dst.lo, (uint64_t)c->proto << 16 | c->dport) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t id = s->slot[i];
        if (!id)
            break;
        struct pair *p = &s->pairs[id - 1];
        if (addr_eq(&p->dst, &c->dst) && p->proto == c->proto && p->dport == c->dport)
            return p;
    }
    struct pair *p = &s->pairs[*npair];
    p->dst = c->dst;
    p->first = c->first;
    p->dport = c->dport;
    p->proto = c->proto;
    p->answered = 0;
    s->slot[i] = (uint32_t)++ * npair;
    return p;
}

/*
 * One source's n contacts (indexes ix of the held ones) grouped into (destination,
 * proto, port) pairs with their first contact and whether any was answered (an echo
 * reply counts for ICMP echoes).
 */
static void collect_pairs(struct scan *s, const struct addr128 *src, const uint32_t *ix, size_t n,
                          struct source_sets *z)
{
    memset(z, 0, sizeof(*z));
    size_t mask = clear_table(s->slot, n);
    for (size_t j = 0; j < n; j++) {
        if (j + 16 < n) /* independent loads, fetched ahead */
            __builtin_prefetch(contact_at(s, ix[j + 16]));
        struct contact c;
        load_contact(s, ix[j], &c);
        z->ipvers |= c.ipver < 31 ? 1u << c.ipver : 3u; /* 3: two, looked at apart */
        struct pair *p = pair_of(s, mask, &c, &z->npair);
        p->first = c.first < p->first ? c.first : p->first;
        if (!p->answered)
            p->answered = c.answered || (is_echo_proto(c.proto) && echo_replied(s, src, &c));
    }
}

/*
 * The pairs into the work arrays: per destination its first contact and whether it
 * ever answered (dsts), the first contact of every pair that never answered (fails),
 * the TCP/UDP ports (ports).
 */
static void collect_dsts(struct scan *s, struct source_sets *z)
{
    size_t mask = clear_table(s->slot, z->npair);
    for (size_t k = 0; k < z->npair; k++) {
        const struct pair *p = &s->pairs[k];
        if (!p->answered)
            s->fails[z->nfail++] = p->first;
        if (!is_echo_proto(p->proto))
            s->ports[z->nports++] = p->dport;
        size_t i = hash3(p->dst.hi, p->dst.lo, 0) & mask;
        for (; s->slot[i]; i = (i + 1) & mask)
            if (addr_eq(&s->pairs[s->dsts[s->slot[i] - 1].pair].dst, &p->dst))
                break;
        if (!s->slot[i]) {
            s->dsts[z->ndst] = (struct dst_obs){ p->first, (uint32_t)k, 0 };
            s->slot[i] = (uint32_t)++z->ndst;
        }
        struct dst_obs *d = &s->dsts[s->slot[i] - 1];
        d->first = p->first < d->first ? p->first : d->first;
        d->answered |= p->answered;
    }
}

/* The ipver of the source's least contact in cmp_contact's order (its flows' ipver
 * when they agree, as they do but for v4-mapped addresses sent over IPv6). */
static uint8_t source_ipver(const struct scan *s, const uint32_t *ix, size_t n, uint32_t ipvers)
{
    if (!(ipvers & (ipvers - 1)))
        return (uint8_t)__builtin_ctz(ipvers);
    struct contact best, c;
    load_contact(s, ix[0], &best); /* n > 0: ipvers has bits */
    for (size_t j = 1; j < n; j++) {
        load_contact(s, ix[j], &c);
        if (cmp_contact(&c, &best) < 0)
            best = c;
    }
    return best.ipver;
}

/* Distinct values among v[0..n), through a bit per port (left all clear again). */
static uint32_t distinct_ports(uint64_t *seen, const uint16_t *v, size_t n)
{
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = (uint64_t)1 << (v[i] & 63);
        d += !(seen[v[i] >> 6] & bit);
        seen[v[i] >> 6] |= bit;
    }
    for (size_t i = 0; i < n; i++)
        seen[v[i] >> 6] = 0;
    return d;
}

/* Most failed pairs whose first contacts lie inside one window of window_ms. */
static uint32_t window_max(uint64_t *t, size_t n, uint64_t window_ms)
{
    sort_u64(t, n);
    size_t lo = 0, best = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (t[hi] - t[lo] >= window_ms)
            lo++;
        if (hi - lo + 1 > best)
            best = hi - lo + 1;
    }
    return (uint32_t)best;
}

/* The destinations by first contact, ties by address: sorted by (first, pair), then
 * each run of one first time (short: a few at most) by its addresses. */
static void order_dsts(const struct scan *s, struct dst_obs *d, size_t n)
{
    sort_obs(d, n);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && d[k].first == d[k - 1].first &&
                           addr_cmp(&s->pairs[d[k].pair].dst, &s->pairs[d[k - 1].pair].dst) < 0;
             k--) {
            struct dst_obs t = d[k - 1];
            d[k - 1] = d[k];
            d[k] = t;
        }
}

/* The ratio climbs on misses only (a hit lowers it, a benign decision sets it to 0):
 * when `miss` of them could not reach the threshold, no order decides a scanner. The
 * margin covers rounding. */
static int trw_out_of_reach(const struct trw *t, size_t miss)
{
    return (double)miss * t->log_miss < t->log_eta1 - 1e-6;
}

/* The walk over the destinations in first-contact order; the decision into f. */
static void walk(const struct scan *s, struct dst_obs *d, size_t n, struct scan_finding *f)
{
    struct trw_walk w = { 0, 0 };
    size_t miss = 0;
    for (size_t i = 0; i < n; i++)
        miss += !d[i].answered;
    if (trw_out_of_reach(&s->trw, miss)) /* the sort is most of the walk's time */
        return;
    order_dsts(s, d, n);
    for (size_t i = 0; i < n; i++) {
        if (trw_step(&s->trw, &w, d[i].answered != 0) == TRW_SCANNER) {
            f->methods |= SCAN_TRW;
            f->contacts = w.contacts;
            f->log_ratio = w.log_ratio;
            return;
        }
    }
}

/* Few ports over many hosts is horizontal, many ports of few hosts vertical, many of
 * both (nmap's default: 1000 ports over a subnet) a block. */
#define KIND_FEW 3

static enum scan_kind kind_of(uint32_t targets, uint32_t ports)
{
    if (ports <= KIND_FEW && (targets > KIND_FEW || targets >= ports))
        return SCAN_HORIZONTAL;
    if (targets <= KIND_FEW)
        return SCAN_VERTICAL;
    return SCAN_BLOCK;
}

/* The source's n contacts (indexes ix of the held ones): 0 when it made none, else 1
 * and its finding in f (methods 0 when it is no scanner). */
static int judge(struct scan *s, const struct srec *sr, const uint32_t *ix, size_t n,
                 struct scan_finding *f)
{
    if (!n) /* replies and unreachables only */
        return 0;
    struct addr128 src = { sr->k.hi, sr->k.lo };
    struct source_sets z;
    collect_pairs(s, &src, ix, n, &z);
    memset(f, 0, sizeof(*f));
    addr_store(f->src, &src);
    f->ipver = source_ipver(s, ix, n, z.ipvers);
    f->first = sr->first;
    f->last = sr->last;
    f->flows = sr->nflows;
    collect_dsts(s, &z);
    f->targets = (uint32_t)z.ndst;
    f->ports = distinct_ports(s->portbits, s->ports, z.nports);
    f->failed = (uint32_t)z.nfail;
    f->window_max = window_max(s->fails, z.nfail, s->o.window_ms);
    int internal = s->o.internal && netlist_has_addr(s->o.internal, f->src);
    f->threshold = internal ? s->o.count_internal : s->o.count_external;
    walk(s, s->dsts, z.ndst, f);
    double score = 0;
    if (f->methods & SCAN_TRW)
        score = f->log_ratio / s->trw.log_eta1;
    if (f->threshold && f->window_max >= f->threshold) {
        f->methods |= SCAN_COUNT;
        double cs = (double)f->window_max / f->threshold;
        score = cs > score ? cs : score;
    }
    f->score = score;
    f->kind = kind_of(f->targets, f->ports);
    return 1;
}

/* Whether the source's unanswered contacts, as many as its misses and failed pairs
 * could be at most, reach the walk's or the count rule's threshold: when not, judge
 * would find no rule and its contacts are not gathered. */
static int could_scan(const struct scan *s, const struct srec *sr)
{
    if (!trw_out_of_reach(&s->trw, sr->nmiss))
        return 1;
    if (!sr->nmiss)
        return 0;
    uint32_t threshold = s->o.count_external;
    if (s->o.internal) {
        uint8_t a[16];
        addrkey_store(a, &sr->k);
        if (netlist_has_addr(s->o.internal, a))
            threshold = s->o.count_internal;
    }
    return threshold && sr->nmiss >= threshold;
}

/*
 * n bytes in 2 MiB pages where the kernel gives them, for group_contacts' index: its
 * counting sort stores to as many places at once as there are sources, and with 4 KiB
 * pages nearly every store also missed the TLB. Freed with free().
 */
static void *huge_alloc(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < huge)
        return xmalloc(n ? n : 1);
    size_t len = (n + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, len);
    if (!p)
        return xmalloc(n);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: 4 KiB pages work too */
#endif
    return p;
}

/* The sources that could be scanners, in address order: their count. */
static size_t candidates(const struct scan *s, struct cand *c)
{
    size_t nc = 0;
    for (uint32_t id = 0; id < s->srcs.n; id++) {
        const struct srec *sr = addrmap_rec(&s->srcs, id);
        if (could_scan(s, sr))
            c[nc++] = (struct cand){ sr->k.hi, sr->k.lo, id };
    }
    sort_cand(c, nc);
    return nc;
}

/* The held contacts of hd (indexes from base on) counted (next NULL) or placed by the
 * rank of their source: UINT32_MAX for a source not judged. */
static void by_rank(const struct hold *hd, uint32_t base, const uint32_t *rank, uint32_t *count,
                    uint32_t *next, uint32_t *idx)
{
    for (size_t i = 0; i < hd->n; i++) {
        uint32_t r = rank[held_at(hd, i)->sid];
        if (r == UINT32_MAX)
            continue;
        if (next)
            idx[next[r]++] = base + (uint32_t)i;
        else
            count[r + 1]++;
    }
}

/* The candidates' contacts grouped by candidate (a counting sort by rank): idx[start[r]
 * .. start[r + 1]) are the contacts of the candidate of rank r. Returns idx. */
static uint32_t *group_contacts(const struct scan *s, const uint32_t *rank, size_t nc,
                                uint32_t *start)
{
    memset(start, 0, (nc + 1) * sizeof(*start));
    by_rank(&s->h4, 0, rank, start, NULL, NULL);
    by_rank(&s->h6, 0, rank, start, NULL, NULL);
    for (size_t r = 0; r < nc; r++)
        start[r + 1] += start[r];
    uint32_t *next = xmalloc(nc * sizeof(*next));
    memcpy(next, start, nc * sizeof(*next));
    uint32_t *idx = huge_alloc(start[nc] * sizeof(*idx));
    by_rank(&s->h4, 0, rank, NULL, next, idx);
    by_rank(&s->h6, (uint32_t)s->h4.n, rank, NULL, next, idx);
    free(next);
    return idx;
}

/* Judge every candidate, findings to fn in address order. */
static int judge_all(struct scan *s, const struct cand *c, size_t nc, const uint32_t *start,
                     const uint32_t *idx, scan_emit_fn fn, void *ctx)
{
    if (s->nrep)
        qsort(s->rep, s->nrep, sizeof(*s->rep), cmp_reply);
    size_t most = (size_t)s->most, slots = 16;
    while (slots < 2 * most)
        slots *= 2;
    s->pairs = xmalloc(most * sizeof(*s->pairs));
    s->dsts = xmalloc(most * sizeof(*s->dsts));
    s->slot = xmalloc(slots * sizeof(*s->slot));
    s->fails = xmalloc(most * sizeof(*s->fails));
    s->ports = xmalloc(most * sizeof(*s->ports));
    int rc = 0;
    for (size_t r = 0; r < nc && !rc; r++) {
        struct scan_finding f;
        const struct srec *sr = addrmap_rec(&s->srcs, c[r].id);
        if (judge(s, sr, idx + start[r], start[r + 1] - start[r], &f) && f.methods)
            rc = fn(ctx, &f);
    }
    return rc;
}

int scan_finish(struct scan *s, scan_emit_fn fn, void *ctx)
{
    flush(s);
    size_t nsrc = s->srcs.n;
    if (!nsrc)
        return 0;
    struct cand *c = xmalloc(nsrc * sizeof(*c));
    size_t nc = candidates(s, c);
    int rc = 0;
    if (nc) {
        uint32_t *rank = xmalloc(nsrc * sizeof(*rank));
        memset(rank, 0xff, nsrc * sizeof(*rank));
        for (size_t r = 0; r < nc; r++)
            rank[c[r].id] = (uint32_t)r;
        uint32_t *start = xmalloc((nc + 1) * sizeof(*start));
        uint32_t *idx = group_contacts(s, rank, nc, start);
        free(rank);
        rc = judge_all(s, c, nc, start, idx, fn, ctx);
        free(idx);
        free(start);
    }
    free(c);
    return rc;
}
