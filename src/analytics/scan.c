/* Scan detection: TRW and the failed-pair count rule (scan.h). */
#include "scan.h"
#include "../core/err.h"
#include "../core/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_ICMP  1
#define PROTO_TCP   6
#define PROTO_UDP   17
#define PROTO_ICMP6 58

/* The meter and exporters put ICMP type * 256 + code into dport. */
#define ICMP_ECHO       0x0800
#define ICMP_ECHO_REPLY 0x0000
#define ICMP6_ECHO      0x8000
#define ICMP6_REPLY     0x8100

/* Sorted by kind inside a source: contacts first, so a source's contacts are one run. */
enum { K_CONTACT, K_REPLY, K_OTHER };

/* An address as two big-endian halves: integer compares give memcmp's order, and the
 * sort (most of the command's time) runs several times faster than on bytes. */
struct addr128 {
    uint64_t hi, lo;
};

/* One flow as the detector needs it: 56 bytes. */
struct contact {
    struct addr128 src, dst;
    uint64_t first, last;
    uint16_t dport;
    uint8_t proto, ipver, kind, answered;
};

/* A destination at its first contact (the walk's order). */
struct dst_obs {
    uint64_t first;
    int answered;
};

struct scan {
    struct scan_opts o;
    struct trw trw;
    struct contact *v;
    size_t n, cap, max_n;
    struct dst_obs *dsts; /* scan_finish's work arrays, sized to the largest source */
    uint64_t *fails;
    uint16_t *ports;
};

static struct addr128 addr_load(const uint8_t a[16])
{
    struct addr128 r = { 0, 0 };
    for (int i = 0; i < 8; i++) {
        r.hi = r.hi << 8 | a[i];
        r.lo = r.lo << 8 | a[8 + i];
    }
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
    /* The work arrays of scan_finish take the rest of SCAN_BYTES_PER_FLOW. */
    s->max_n = o->max_mem / SCAN_BYTES_PER_FLOW;
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

void scan_free(struct scan *s)
{
    if (!s)
        return;
    free(s->v);
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

int scan_add(struct scan *s, const struct flow *f)
{
    const struct scan_opts *o = &s->o;
    if (o->allow && (netlist_has_addr(o->allow, f->src) || netlist_has_port(o->allow, f->dport)))
        return 0;
    if (s->n == s->cap) {
        if (s->cap >= s->max_n)
            return FS_ENOSPC;
        size_t cap = s->cap ? 2 * s->cap : 4096;
        s->cap = cap < s->max_n ? cap : s->max_n;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    struct contact *c = &s->v[s->n++];
    c->src = addr_load(f->src);
    c->dst = addr_load(f->dst);
    c->first = f->first;
    c->last = f->last < f->first ? f->first : f->last;
    c->dport = f->dport;
    c->proto = f->proto;
    c->ipver = f->ipver ? f->ipver : (flow_addr_is_v4mapped(f->src) ? 4 : 6);
    c->kind = flow_kind(f);
    c->answered = f->proto == PROTO_TCP ? (uint8_t)tcp_answered(f) : f->rpackets > 0;
    return 0;
}

/* ---------------------------------------------------------------- ordering */

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

/* (src, kind, dst, proto, dport, first): a source's contacts in one run, grouped by
 * destination and then by (proto, port); the echo replies findable by bsearch. */
static int cmp_contact(const void *pa, const void *pb)
{
    const struct contact *a = pa, *b = pb;
    int c = addr_cmp(&a->src, &b->src);
    if (c)
        return c;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    c = addr_cmp(&a->dst, &b->dst);
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

static inline void swap_contact(struct contact *a, struct contact *b)
{
    struct contact t = *a;
    *a = *b;
    *b = t;
}

/*
 * Sort the contacts in place. Not qsort: glibc sorts elements over 32 bytes through an
 * array of pointers, and the comparisons then chase them across the whole array (cmp
 * and the pointer merge were 73% of scan over 1 M flows). A quicksort on the records
 * themselves scans them in order; the median of three and recursing into the smaller
 * side keep it O(n log n) and the stack O(log n). cmp_contact is a total order, so
 * the result is the one a stable sort gives.
 */
static void sort_contacts(struct contact *v, size_t n)
{
    while (n > 16) {
        size_t mid = n / 2;
        if (cmp_contact(&v[mid], &v[0]) < 0)
            swap_contact(&v[mid], &v[0]);
        if (cmp_contact(&v[n - 1], &v[0]) < 0)
            swap_contact(&v[n - 1], &v[0]);
        if (cmp_contact(&v[n - 1], &v[mid]) < 0)
            swap_contact(&v[n - 1], &v[mid]);
        swap_contact(&v[mid], &v[n - 1]); /* the pivot (the median) waits at the end */
        const struct contact *pv = &v[n - 1];
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare: the pivot stops i, v[0] <= pivot stops j */
            while (cmp_contact(&v[i], pv) < 0)
                i++;
            while (j > 0 && cmp_contact(pv, &v[j - 1]) < 0)
                j--;
            if (j == 0 || i >= j - 1)
                break;
            swap_contact(&v[i], &v[j - 1]);
            i++;
            j--;
        }
        swap_contact(&v[i], &v[n - 1]); /* v[0..i) <= pivot = v[i] <= v(i..n) */
        if (i < n - 1 - i) {
            sort_contacts(v, i);
            v += i + 1;
            n -= i + 1;
        } else {
            sort_contacts(v + i + 1, n - 1 - i);
            n = i;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && cmp_contact(&v[k - 1], &v[k]) > 0; k--)
            swap_contact(&v[k - 1], &v[k]);
}

/* (src, kind, dst) only: the key of an echo reply lookup. */
static int cmp_reply_key(const void *pa, const void *pb)
{
    const struct contact *a = pa, *b = pb;
    int c = addr_cmp(&a->src, &b->src);
    if (c)
        return c;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    return addr_cmp(&a->dst, &b->dst);
}

static int cmp_dst_obs(const void *pa, const void *pb)
{
    const struct dst_obs *a = pa, *b = pb;
    return cmp_u64(a->first, b->first);
}

static int cmp_u64p(const void *pa, const void *pb)
{
    return cmp_u64(*(const uint64_t *)pa, *(const uint64_t *)pb);
}

static int cmp_u16p(const void *pa, const void *pb)
{
    return (int)*(const uint16_t *)pa - (int)*(const uint16_t *)pb;
}

/* 1 when dst sent src an echo reply (a K_REPLY flow dst -> src). */
static int echo_replied(const struct scan *s, const struct contact *c)
{
    struct contact key;
    key.src = c->dst;
    key.dst = c->src;
    key.kind = K_REPLY;
    return bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_reply_key) != NULL;
}

/* ---------------------------------------------------------------- one source */

/* How much of each work array collect_sets filled. */
struct source_sets {
    size_t ndst, nfail, nports;
};

static int is_echo(const struct contact *c)
{
    return c->proto == PROTO_ICMP || c->proto == PROTO_ICMP6;
}

/*
 * One source's contacts [a, b), sorted by (dst, proto, dport, first), into the work
 * arrays: per destination its first contact and whether it ever answered (dsts), the
 * first contact of every pair that never answered (fails), the TCP/UDP ports (ports).
 */
static void collect_sets(struct scan *s, size_t a, size_t b, struct source_sets *z)
{
    memset(z, 0, sizeof(*z));
    for (size_t i = a; i < b;) {
        const struct contact *c = &s->v[i];
        uint64_t dfirst = c->first;
        int dans = 0;
        size_t j = i;
        /* every (proto, port) pair of this destination */
        while (j < b && addr_eq(&s->v[j].dst, &c->dst)) {
            const struct contact *p = &s->v[j];
            int pans = 0;
            uint64_t pfirst = p->first;
            for (; j < b && addr_eq(&s->v[j].dst, &p->dst) && s->v[j].proto == p->proto &&
                   s->v[j].dport == p->dport;
                 j++)
                pans |= s->v[j].answered || (is_echo(&s->v[j]) && echo_replied(s, &s->v[j]));
            dfirst = pfirst < dfirst ? pfirst : dfirst;
            dans |= pans;
            if (!pans)
                s->fails[z->nfail++] = pfirst;
            if (!is_echo(p))
                s->ports[z->nports++] = p->dport;
        }
        s->dsts[z->ndst].first = dfirst;
        s->dsts[z->ndst++].answered = dans;
        i = j;
    }
}

static uint32_t distinct_ports(uint16_t *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u16p);
    uint32_t d = 1;
    for (size_t i = 1; i < n; i++)
        d += v[i] != v[i - 1];
    return d;
}

/* Most failed pairs whose first contacts lie inside one window of window_ms. */
static uint32_t window_max(uint64_t *t, size_t n, uint64_t window_ms)
{
    qsort(t, n, sizeof(*t), cmp_u64p);
    size_t lo = 0, best = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (t[hi] - t[lo] >= window_ms)
            lo++;
        if (hi - lo + 1 > best)
            best = hi - lo + 1;
    }
    return (uint32_t)best;
}

/* The walk over the destinations in first-contact order; the decision into f. */
static void walk(const struct scan *s, struct dst_obs *d, size_t n, struct scan_finding *f)
{
    struct trw_walk w = { 0, 0 };
    qsort(d, n, sizeof(*d), cmp_dst_obs);
    for (size_t i = 0; i < n; i++) {
        if (trw_step(&s->trw, &w, d[i].answered) == TRW_SCANNER) {
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

/* The source's flows [a, b) (contacts first): its finding, methods 0 when none. */
static void judge(struct scan *s, size_t a, size_t b, struct scan_finding *f)
{
    size_t ncont = a;
    memset(f, 0, sizeof(*f));
    addr_store(f->src, &s->v[a].src);
    f->ipver = s->v[a].ipver;
    f->first = UINT64_MAX;
    for (size_t i = a; i < b; i++) {
        f->first = s->v[i].first < f->first ? s->v[i].first : f->first;
        f->last = s->v[i].last > f->last ? s->v[i].last : f->last;
        ncont += s->v[i].kind == K_CONTACT;
    }
    f->flows = b - a;
    struct source_sets z;
    collect_sets(s, a, ncont, &z);
    f->targets = (uint32_t)z.ndst;
    f->ports = distinct_ports(s->ports, z.nports);
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
}

int scan_finish(struct scan *s, scan_emit_fn fn, void *ctx)
{
    if (!s->n)
        return 0;
    sort_contacts(s->v, s->n);
    size_t most = 0;
    for (size_t a = 0, b; a < s->n; a = b) {
        for (b = a + 1; b < s->n && addr_eq(&s->v[b].src, &s->v[a].src); b++)
            ;
        most = b - a > most ? b - a : most;
    }
    s->dsts = xmalloc(most * sizeof(*s->dsts));
    s->fails = xmalloc(most * sizeof(*s->fails));
    s->ports = xmalloc(most * sizeof(*s->ports));
    for (size_t a = 0, b; a < s->n; a = b) {
        for (b = a + 1; b < s->n && addr_eq(&s->v[b].src, &s->v[a].src); b++)
            ;
        if (s->v[a].kind != K_CONTACT) /* no contacts: replies and unreachables only */
            continue;
        struct scan_finding f;
        judge(s, a, b, &f);
        int rc = f.methods ? fn(ctx, &f) : 0;
        if (rc)
            return rc;
    }
    return 0;
}
