/* The hosts of our networks that the flows show (hosts.h). */
#include "hosts.h"

#include "addrmap.h"

#include "../core/err.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* One host's record in the map: its address, the flows it took part in, both
 * directions' bytes, its roles. */
struct hagg {
    struct addrkey k;
    uint64_t first, last, flows, bytes, initiated, answered;
    uint8_t ipver;
};

_Static_assert(2 * sizeof(struct hagg) + ADDRMAP_BYTES_PER_KEY <= HOSTS_BYTES_PER_HOST,
               "hosts' --max-mem help says 176 bytes a host");

/* The hosts by address through a hash map: each flow adds to its ends' sums at once,
 * and only the distinct addresses are sorted at the end (sorting every flow's ends was
 * most of the command's time). */
struct hosts {
    struct hosts_opts o;
    struct addrmap map; /* records: struct hagg */
    size_t max_n;
    struct pend { /* ends not yet added: looked up a batch at a time */
        uint64_t first, last, bytes;
        uint8_t ipver, initiated, answered;
    } pend[ADDRMAP_BATCH];
    struct addrkey pkey[ADDRMAP_BATCH];
    size_t npend;
};

struct hosts *hosts_new(const struct hosts_opts *o)
{
    struct hosts *h = xcalloc(1, sizeof(*h));
    h->o = *o;
    addrmap_init(&h->map, sizeof(struct hagg));
    h->max_n = o->max_mem / HOSTS_BYTES_PER_HOST;
    return h;
}

void hosts_free(struct hosts *h)
{
    if (!h)
        return;
    addrmap_free(&h->map);
    free(h);
}

static int ours(const struct hosts *h, const uint8_t a[16])
{
    const struct netlist *l = h->o.internal;
    return !l || !l->nnets || netlist_has_addr(l, a);
}

/* Add the ends held to their hosts (new hosts when absent; the caller checked the room). */
static void flush(struct hosts *h)
{
    uint32_t id[ADDRMAP_BATCH];
    uint8_t added[ADDRMAP_BATCH];
    addrmap_put_batch(&h->map, h->pkey, h->npend, id, added);
    for (size_t i = 0; i < h->npend; i++) {
        const struct pend *p = &h->pend[i];
        struct hagg *g = addrmap_rec(&h->map, id[i]);
        if (added[i]) {
            g->first = UINT64_MAX;
            g->ipver = p->ipver;
        }
        g->first = p->first < g->first ? p->first : g->first;
        g->last = p->last > g->last ? p->last : g->last;
        g->flows++;
        g->bytes += p->bytes;
        g->initiated += p->initiated;
        g->answered += p->answered;
    }
    h->npend = 0;
}

size_t hosts_records(struct hosts *h)
{
    flush(h);
    return h->map.n;
}

static void add_end(struct hosts *h, const struct flow *f, const uint8_t a[16], int initiated,
                    int answered)
{
    struct pend *p = &h->pend[h->npend];
    addrkey_load(&h->pkey[h->npend++], a, 0);
    p->first = f->first;
    p->last = f->last;
    p->bytes = f->bytes + f->rbytes;
    p->ipver = f->ipver;
    p->initiated = (uint8_t)initiated;
    p->answered = (uint8_t)answered;
}

static int known(const struct hosts *h, const uint8_t a[16])
{
    struct addrkey k;
    addrkey_load(&k, a, 0);
    return addrmap_get(&h->map, &k) != UINT32_MAX;
}

int hosts_add(struct hosts *h, const struct flow *f)
{
    int src = ours(h, f->src);
    int dst = ours(h, f->dst) && memcmp(f->src, f->dst, 16) != 0;
    if (h->map.n + h->npend + (size_t)src + (size_t)dst > h->max_n) { /* near full */
        flush(h);
        size_t fresh = (size_t)(src && !known(h, f->src)) + (size_t)(dst && !known(h, f->dst));
        if (h->map.n + fresh > h->max_n)
            return FS_ENOSPC;
    }
    if (src)
        add_end(h, f, f->src, 1, 0);
    if (dst)
        add_end(h, f, f->dst, 0, f->rpackets > 0 || f->rbytes > 0);
    if (h->npend + 2 > ADDRMAP_BATCH)
        flush(h);
    return 0;
}

int hosts_merge(struct hosts *dst, struct hosts *src)
{
    flush(src);
    flush(dst);
    for (uint32_t id = 0; id < src->map.n; id++) {
        const struct hagg *s = addrmap_rec(&src->map, id);
        if (dst->map.n + 1 > dst->max_n && addrmap_get(&dst->map, &s->k) == UINT32_MAX)
            return FS_ENOSPC;
        int added;
        struct hagg *g = addrmap_rec(&dst->map, addrmap_put(&dst->map, &s->k, &added));
        if (added) {
            *g = *s;
            continue;
        }
        g->first = s->first < g->first ? s->first : g->first;
        g->last = s->last > g->last ? s->last : g->last;
        g->flows += s->flows;
        g->bytes += s->bytes;
        g->initiated += s->initiated;
        g->answered += s->answered;
    }
    return 0;
}

int hosts_finish(struct hosts *h, hosts_emit_fn fn, void *ctx)
{
    flush(h);
    uint32_t *ids = addrmap_sorted(&h->map);
    int rc = 0;
    for (uint32_t i = 0; i < h->map.n && !rc; i++) {
        const struct hagg *g = addrmap_rec(&h->map, ids[i]);
        if (g->initiated + g->answered == 0) /* only ever probed: no host */
            continue;
        struct host_row r;
        memset(&r, 0, sizeof(r));
        addrkey_store(r.addr, &g->k);
        r.ipver = g->ipver;
        r.first = g->first;
        r.last = g->last;
        r.flows = g->flows;
        r.bytes = g->bytes;
        r.initiated = g->initiated;
        r.answered = g->answered;
        rc = fn(ctx, &r);
    }
    free(ids);
    return rc;
}
