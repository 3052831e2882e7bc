/* The hosts of our networks that the flows show (hosts.h). */
#include "hosts.h"

#include "../core/err.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* One end of a flow that lies in our networks. */
struct hrec {
    uint8_t addr[16];
    uint64_t first, last, bytes;
    uint8_t ipver;
    uint8_t role; /* HR_* */
};

enum { HR_SRC = 1, HR_ANSWERED = 2 }; /* 0: a destination that did not answer */

_Static_assert(2 * sizeof(struct hrec) == HOSTS_BYTES_PER_FLOW,
               "hosts' --max-mem help says 96 bytes a flow");

struct hosts {
    struct hosts_opts o;
    struct hrec *v;
    size_t n, cap, max_n;
};

struct hosts *hosts_new(const struct hosts_opts *o)
{
    struct hosts *h = xcalloc(1, sizeof(*h));
    h->o = *o;
    h->max_n = o->max_mem / sizeof(struct hrec);
    return h;
}

size_t hosts_records(const struct hosts *h)
{
    return h->n;
}

void hosts_free(struct hosts *h)
{
    if (!h)
        return;
    free(h->v);
    free(h);
}

static int ours(const struct hosts *h, const uint8_t a[16])
{
    const struct netlist *l = h->o.internal;
    return !l || !l->nnets || netlist_has_addr(l, a);
}

static void push(struct hosts *h, const struct flow *f, const uint8_t a[16], uint8_t role)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 4096;
        h->cap = cap < h->max_n ? cap : h->max_n;
        h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    struct hrec *r = &h->v[h->n++];
    memcpy(r->addr, a, 16);
    r->first = f->first;
    r->last = f->last;
    r->bytes = f->bytes + f->rbytes;
    r->ipver = f->ipver;
    r->role = role;
}

int hosts_add(struct hosts *h, const struct flow *f)
{
    int src = ours(h, f->src);
    int dst = ours(h, f->dst) && memcmp(f->src, f->dst, 16) != 0;
    if (h->n + (size_t)src + (size_t)dst > h->max_n)
        return FS_ENOSPC;
    if (src)
        push(h, f, f->src, HR_SRC);
    if (dst)
        push(h, f, f->dst, f->rpackets > 0 || f->rbytes > 0 ? HR_ANSWERED : 0);
    return 0;
}

/* Eight address bytes as a big-endian integer: one load and a byte swap. */
static inline uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* memcmp's order of the addresses, compared as integers. */
static inline int cmp_rec(const struct hrec *a, const struct hrec *b)
{
    uint64_t x = be64(a->addr), y = be64(b->addr);
    if (x == y) {
        x = be64(a->addr + 8);
        y = be64(b->addr + 8);
    }
    return (x > y) - (x < y);
}

static inline void swap_rec(struct hrec *a, struct hrec *b)
{
    struct hrec t = *a;
    *a = *b;
    *b = t;
}

/*
 * Sort by address in place: a quicksort on the records, as services.c does, because
 * glibc's qsort sorts elements over 32 bytes through pointers and its comparisons then
 * miss the cache. Records of one address may end in any order: hosts_finish only sums
 * and takes extremes.
 */
static void sort_recs(struct hrec *v, size_t n)
{
    while (n > 16) {
        size_t mid = n / 2;
        if (cmp_rec(&v[mid], &v[0]) < 0)
            swap_rec(&v[mid], &v[0]);
        if (cmp_rec(&v[n - 1], &v[0]) < 0)
            swap_rec(&v[n - 1], &v[0]);
        if (cmp_rec(&v[n - 1], &v[mid]) < 0)
            swap_rec(&v[n - 1], &v[mid]);
        swap_rec(&v[mid], &v[n - 1]); /* the pivot (the median) waits at the end */
        const struct hrec *pv = &v[n - 1];
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare: the pivot stops i, v[0] <= pivot stops j */
            while (cmp_rec(&v[i], pv) < 0)
                i++;
            while (j > 0 && cmp_rec(pv, &v[j - 1]) < 0)
                j--;
            if (j == 0 || i >= j - 1)
                break;
            swap_rec(&v[i], &v[j - 1]);
            i++;
            j--;
        }
        swap_rec(&v[i], &v[n - 1]); /* v[0..i) <= pivot = v[i] <= v(i..n) */
        if (i < n - 1 - i) {
            sort_recs(v, i);
            v += i + 1;
            n -= i + 1;
        } else {
            sort_recs(v + i + 1, n - 1 - i);
            n = i;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && cmp_rec(&v[k - 1], &v[k]) > 0; k--)
            swap_rec(&v[k - 1], &v[k]);
}

/* The records v[a..b) of one address as a row: 1 when the address sent something. */
static int aggregate(const struct hrec *v, size_t a, size_t b, struct host_row *r)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->addr, v[a].addr, 16);
    r->ipver = v[a].ipver;
    r->first = UINT64_MAX;
    for (size_t i = a; i < b; i++) {
        r->first = v[i].first < r->first ? v[i].first : r->first;
        r->last = v[i].last > r->last ? v[i].last : r->last;
        r->flows++;
        r->bytes += v[i].bytes;
        r->initiated += v[i].role == HR_SRC;
        r->answered += v[i].role == HR_ANSWERED;
    }
    return r->initiated + r->answered > 0;
}

int hosts_finish(struct hosts *h, hosts_emit_fn fn, void *ctx)
{
    sort_recs(h->v, h->n);
    for (size_t a = 0, b; a < h->n; a = b) {
        for (b = a + 1; b < h->n && memcmp(h->v[b].addr, h->v[a].addr, 16) == 0; b++)
            ;
        struct host_row r;
        if (!aggregate(h->v, a, b, &r))
            continue;
        int rc = fn(ctx, &r);
        if (rc)
            return rc;
    }
    return 0;
}
