/*
 * addrmap: a hash map from (16-byte address, 32-bit tag) to a dense id 0, 1, 2, ... in
 * the order the keys were first seen. The detectors (scan, services, hosts) group
 * their flows through it instead of sorting every flow by address: they sort only the
 * distinct keys, which are few beside the flows (sources, servers, hosts).
 *
 * Open addressing with linear probing over a power-of-two table of ids, kept at most
 * half full; the keys sit in a dense array of records (id order) so the table is 4
 * bytes a slot. A slot's bits above the id (those the table's size leaves free: 16 at
 * 65536 slots) hold bits of the key's hash, so a probe past another key's slot reads
 * no record: each such read missed the cache in a map larger than it, and probes were
 * most of scan's lookups. A record is the key and what the caller keeps for it (its sums), so
 * one lookup touches one record: addrmap_init takes the record's size.
 * Memory: at most ADDRMAP_BYTES_PER_KEY bytes a key besides twice its record (the
 * record array doubling), for the callers' --max-mem accounting.
 *
 * Ownership: the map owns its arrays; addrmap_free releases them.
 */
#ifndef FS_ADDRMAP_H
#define FS_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A key as two big-endian halves of the address and the tag: integer compares give
 * memcmp's order of the address bytes. */
struct addrkey {
    uint64_t hi, lo;
    uint32_t tag;
};

/* 4-byte slots at a load between 1/4 and 1/2. */
#define ADDRMAP_BYTES_PER_KEY 16

struct addrmap {
    unsigned char *recs; /* records of `stride` bytes, each starting with its addrkey */
    size_t stride;
    uint32_t n, cap;
    uint32_t *slot;  /* hash bits above idmask, id + 1 in it; 0 = empty */
    size_t mask;     /* slots - 1 */
    uint32_t idmask; /* the slot's id bits: mask, at most 32 bits */
};

/* stride: the record's size (at least sizeof(struct addrkey); the key comes first). */
void addrmap_init(struct addrmap *m, size_t stride);

/* The record of id (its key first). */
static inline void *addrmap_rec(const struct addrmap *m, uint32_t id)
{
    return m->recs + (size_t)id * m->stride;
}

static inline const struct addrkey *addrmap_key(const struct addrmap *m, uint32_t id)
{
    return (const struct addrkey *)(m->recs + (size_t)id * m->stride);
}
void addrmap_free(struct addrmap *m);

/* 8 address bytes as a big-endian integer: one load (and a byte swap), where the
 * loop of shifts the compiler kept was 5-10 % of scan_add. */
static inline uint64_t addr_half_load(const uint8_t b[8])
{
    uint64_t v;
    memcpy(&v, b, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The address a (16 bytes, memcmp order) as a key's halves. */
static inline void addrkey_load(struct addrkey *k, const uint8_t a[16], uint32_t tag)
{
    k->hi = addr_half_load(a);
    k->lo = addr_half_load(a + 8);
    k->tag = tag;
}

void addrkey_store(uint8_t a[16], const struct addrkey *k);

/* -1, 0, 1: by address (memcmp order), then tag. */
int addrkey_cmp(const struct addrkey *a, const struct addrkey *b);

/* The id of k; a new key gets the next id and a record zeroed but for its key.
 * *added is set to 1 for a new key. */
uint32_t addrmap_put(struct addrmap *m, const struct addrkey *k, int *added);

/*
 * addrmap_put for n keys at once (n <= ADDRMAP_BATCH): the ids into id[] and 1 into
 * added[] for each new key, in the order given (as n calls would). A lookup is two
 * dependent cache misses when the map is larger than the cache (the slot, then the
 * record); here every key's slot, then every record, is fetched ahead, so the misses
 * of the batch overlap instead of following one another.
 */
#define ADDRMAP_BATCH 32
void addrmap_put_batch(struct addrmap *m, const struct addrkey *k, size_t n, uint32_t *id,
                       uint8_t *added);

/* The id of k, or UINT32_MAX when absent. */
uint32_t addrmap_get(const struct addrmap *m, const struct addrkey *k);

/* The ids 0 .. n-1 in key order (a new array of m->n ids; NULL when empty). */
uint32_t *addrmap_sorted(const struct addrmap *m);

#endif
