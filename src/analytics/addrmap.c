/* A hash map from (address, tag) to dense ids (addrmap.h). */
#include "addrmap.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

void addrmap_init(struct addrmap *m, size_t stride)
{
    memset(m, 0, sizeof(*m));
    m->stride = stride;
}

void addrmap_free(struct addrmap *m)
{
    free(m->recs);
    free(m->slot);
    size_t stride = m->stride;
    memset(m, 0, sizeof(*m));
    m->stride = stride;
}

void addrkey_store(uint8_t a[16], const struct addrkey *k)
{
    for (int i = 0; i < 8; i++) {
        a[i] = (uint8_t)(k->hi >> (56 - 8 * i));
        a[8 + i] = (uint8_t)(k->lo >> (56 - 8 * i));
    }
}

int addrkey_cmp(const struct addrkey *a, const struct addrkey *b)
{
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return (a->tag > b->tag) - (a->tag < b->tag);
}

/* The tag is multiplied apart from the address: added to it, (server, port) keys whose
 * address and port differ by the same amount collided, and services' probe chains were
 * most of its time. */
static inline uint64_t hash(const struct addrkey *k)
{
    uint64_t h = k->hi * 0x9e3779b97f4a7c15u;
    h ^= k->lo * 0xc2b2ae3d27d4eb4fu;
    h ^= (uint64_t)k->tag * 0xd6e8feb86659fd93u;
    h ^= h >> 29;
    h *= 0x165667b19e3779f9u;
    return h ^ h >> 32;
}

/* The bits of a slot above the id: hash bits the index does not use. */
static inline uint32_t slot_tag(const struct addrmap *m, uint64_t h)
{
    return (uint32_t)(h >> 32) & ~m->idmask;
}

/* The slot's id when it holds one of hash h, else UINT32_MAX (also for an empty slot). */
static inline uint32_t slot_id(const struct addrmap *m, uint32_t s, uint32_t tag)
{
    return s && (s & ~m->idmask) == tag ? (s & m->idmask) - 1 : UINT32_MAX;
}

static inline int same(const struct addrkey *a, const struct addrkey *b)
{
    return a->lo == b->lo && a->hi == b->hi && a->tag == b->tag;
}

/* Twice the records' room, on a 64-byte boundary: a record of 64 bytes (services') is
 * then one cache line, where malloc's 16-byte alignment split most of them over two,
 * and a lookup missed twice. */
static void grow_recs(struct addrmap *m)
{
    size_t cap = m->cap ? 2 * (size_t)m->cap : 256;
    cap = cap > UINT32_MAX ? UINT32_MAX : cap;
    size_t len = (cap * m->stride + 63) / 64 * 64;
    unsigned char *p = aligned_alloc(64, len);
    if (!p)
        p = xmalloc(len);
    if (m->n)
        memcpy(p, m->recs, (size_t)m->n * m->stride);
    free(m->recs);
    m->recs = p;
    m->cap = (uint32_t)cap;
}

static void grow(struct addrmap *m)
{
    size_t slots = m->mask ? 2 * (m->mask + 1) : 1024;
    free(m->slot);
    m->slot = xcalloc(slots, sizeof(*m->slot));
    m->mask = slots - 1;
    m->idmask = (uint64_t)m->mask > UINT32_MAX ? UINT32_MAX : (uint32_t)m->mask;
    for (uint32_t id = 0; id < m->n; id++) {
        uint64_t h = hash(addrmap_key(m, id));
        size_t i = (size_t)h & m->mask;
        while (m->slot[i])
            i = (i + 1) & m->mask;
        m->slot[i] = slot_tag(m, h) | (id + 1);
    }
}

uint32_t addrmap_get(const struct addrmap *m, const struct addrkey *k)
{
    if (!m->mask)
        return UINT32_MAX;
    uint64_t h = hash(k);
    uint32_t tag = slot_tag(m, h);
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        uint32_t s = m->slot[i], id = slot_id(m, s, tag);
        if (!s)
            return UINT32_MAX;
        if (id != UINT32_MAX && same(addrmap_key(m, id), k))
            return id;
    }
}

uint32_t addrmap_put(struct addrmap *m, const struct addrkey *k, int *added)
{
    *added = 0;
    if (!m->mask)
        grow(m);
    uint64_t h = hash(k);
    uint32_t tag = slot_tag(m, h);
    size_t i = (size_t)h & m->mask;
    for (;; i = (i + 1) & m->mask) {
        uint32_t s = m->slot[i], id = slot_id(m, s, tag);
        if (!s)
            break;
        if (id != UINT32_MAX && same(addrmap_key(m, id), k))
            return id;
    }
    if (m->n == m->cap)
        grow_recs(m);
    uint32_t id = m->n++;
    unsigned char *r = addrmap_rec(m, id);
    memset(r, 0, m->stride);
    memcpy(r, k, sizeof(*k));
    m->slot[i] = tag | (id + 1);
    *added = 1;
    if (2 * (size_t)m->n > m->mask + 1)
        grow(m);
    return id;
}

void addrmap_put_batch(struct addrmap *m, const struct addrkey *k, size_t n, uint32_t *id,
                       uint8_t *added)
{
    uint64_t h[ADDRMAP_BATCH];
    if (!m->mask)
        grow(m);
    for (size_t i = 0; i < n; i++) {
        h[i] = hash(&k[i]);
        __builtin_prefetch(&m->slot[h[i] & m->mask]);
    }
    for (size_t i = 0; i < n; i++) { /* the record of the first slot with the key's tag */
        uint32_t tag = slot_tag(m, h[i]), s, r = UINT32_MAX;
        for (size_t j = (size_t)h[i] & m->mask; (s = m->slot[j]) != 0; j = (j + 1) & m->mask)
            if ((r = slot_id(m, s, tag)) != UINT32_MAX)
                break;
        if (r != UINT32_MAX) { /* its first and last lines: a record may span two */
            __builtin_prefetch(addrmap_rec(m, r));
            __builtin_prefetch((const unsigned char *)addrmap_rec(m, r) + m->stride - 1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        int a;
        id[i] = addrmap_put(m, &k[i], &a);
        added[i] = (uint8_t)a;
    }
}

struct keyed {
    struct addrkey k;
    uint32_t id;
};

static int cmp_keyed(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    return addrkey_cmp(&a->k, &b->k);
}

uint32_t *addrmap_sorted(const struct addrmap *m)
{
    if (!m->n)
        return NULL;
    struct keyed *t = xmalloc(m->n * sizeof(*t));
    for (uint32_t i = 0; i < m->n; i++) {
        t[i].k = *addrmap_key(m, i);
        t[i].id = i;
    }
    qsort(t, m->n, sizeof(*t), cmp_keyed);
    uint32_t *ids = xmalloc(m->n * sizeof(*ids));
    for (uint32_t i = 0; i < m->n; i++)
        ids[i] = t[i].id;
    free(t);
    return ids;
}
