/*
 * Top-N statistics (flowsleuth stats -s KEY[/ORDER]) and the keyed hash table that
 * aggregation (aggregate.h) shares.
 *
 * A key spec names what records are grouped by: one or more parts, each a field of the
 * field table (any of them: dport, vlan, exporter ...) or one of nfdump's stat names
 * (ip, srcip, dstip, port, srcport, dstport, net, srcnet, dstnet, as, srcip4/24,
 * dstip6/48 ...). "ip", "port", "net" and "as" are two-sided: every flow counts once
 * for its source side and once for its destination side, as nfdump counts them.
 * Parts are packed into a fixed-size byte key (numbers big-endian, so memcmp order is
 * numeric order, which makes the tie-break between equal counters deterministic).
 *
 * The table (struct ktab) is a dense array of entries with an open-addressing index
 * (linear probing) hashed over those raw key bytes. When growing it would exceed its memory budget
 * it stops growing and turns into a Space-Saving summary (Metwally et al. 2005) with the counters
 * it already holds: a new key then replaces the key with the smallest weight and inherits that
 * weight as its error, so every weight is an upper bound, overestimated by at most
 * `err`, and any key heavier than total/capacity is guaranteed to be present.
 *
 * Totals per flow are biflow totals: bytes + rbytes and packets + rpackets (the
 * tbytes and tpackets of the output; the members below keep the short names).
 *
 * Ownership: stats_new/ktab_init allocate; stats_free/ktab_free release. Nothing here
 * prints; errors come back as FS_E* codes with a message in struct fs_err.
 */
#ifndef FS_STATS_H
#define FS_STATS_H

#include "../core/err.h"
#include "../core/fields.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

#define KEY_MAX_PARTS 8
#define KEY_MAX_BYTES 64 /* packed key, padded to 8 */

/* One component of a key. */
struct key_part {
    const struct field *fd;  /* field read (source side of a two-sided part) */
    const struct field *alt; /* destination side of a two-sided part, else NULL */
    uint8_t v4bits, v6bits;  /* address parts: prefix bits kept (32 / 128 = all) */
    uint8_t off, size;       /* place in the packed key */
};

/* A parsed key: "srcip", "ip", "srcip4/24,dstip" (aggregation) ... */
struct key_spec {
    struct key_part part[KEY_MAX_PARTS];
    int nparts;
    int keylen;    /* packed bytes, padded to a multiple of 8 */
    int two_sided; /* the (single) part is counted for both directions */
    char name[64]; /* as the user wrote it, without the order */
};

/*
 * Parse one stat key (e.g. "srcip", "ip", "dstip6/48", "vlan") into *ks (one part).
 * Returns 0 or FS_EINVAL with a message naming the bad key and the valid ones.
 */
int key_parse(const char *text, struct key_spec *ks, struct fs_err *err);

/*
 * Parse an aggregation list "srcip4/24,dstip,dport" into *ks (one-sided parts only;
 * "srcip4/24,srcip6/64" merge into one part). Returns 0 or FS_EINVAL.
 */
int key_parse_list(const char *text, struct key_spec *ks, struct fs_err *err);

/* Pack side 0 (source) or 1 (destination) of flow f into key[ks->keylen], zero-padded. */
void key_pack(const struct key_spec *ks, const struct flow *f, int side, uint8_t *key);

/*
 * Unpack a packed key into the matching members of *f (others untouched) and set
 * f->ipver from an address part. Used to print keys through output_field.
 */
void key_unpack(const struct key_spec *ks, const uint8_t *key, struct flow *f);

/*
 * Text of part i of a packed key as a user reads it: "10.1.2.0/24", "tcp", "443".
 * human: table style (protocol names, flags letters). Returns the length.
 */
size_t key_part_text(char *buf, size_t cap, const struct key_spec *ks, int i, const uint8_t *key,
                     int human);

/* ------------------------------------------------------------------ hash table */

/*
 * The value area of every entry begins with the Space-Saving pair; the caller's
 * value follows. In exact mode w is the sum of the weights and err is 0.
 */
struct ktab_head {
    uint64_t w;   /* weight: upper bound of the true weight */
    uint64_t err; /* how much of w may be inherited from evicted keys */
};

struct ktab {
    uint64_t *index; /* nslots: (tag << 32) | (entry + 1), 0 = empty */
    size_t nslots;
    uint8_t *ents; /* cap entries of stride bytes: key, then value */
    size_t n, cap, stride, keylen, vallen;
    size_t max_bytes; /* budget for index + entries */
    int approx;       /* 1 once the table is a Space-Saving summary */
    size_t capacity;  /* approx: number of counters kept (= n) */
    uint32_t *heap;   /* approx: entries, min-heap on w */
    uint32_t *hpos;   /* approx: heap position of each entry */
    uint64_t evictions;
    int exact_only; /* set by the caller: at the budget refuse new keys, never approximate */
    int full;       /* exact_only: a key was refused (the table is incomplete) */
};

/*
 * Set up an empty table for keys of keylen bytes (multiple of 8) and values of vallen
 * bytes (starting with struct ktab_head), within max_bytes. Allocates.
 */
void ktab_init(struct ktab *t, size_t keylen, size_t vallen, size_t max_bytes);

/*
 * Find or insert key (keylen bytes) and add weight to its w. Returns its value area;
 * *isnew is 1 when the caller's part of the value is fresh (zeroed) and must be
 * initialised (first/last). At the memory budget the table turns approximate
 * (t->approx), unless t->exact_only: then a new key is refused (NULL, t->full set).
 */
void *ktab_upsert(struct ktab *t, const uint8_t *key, uint64_t weight, int *isnew);

/* ktab_upsert with the key's hash already computed by ktab_hash. */
void *ktab_upsert_h(struct ktab *t, const uint8_t *key, uint64_t h, uint64_t weight, int *isnew);

/* The hash of a key (keylen bytes) as the table computes it. */
uint64_t ktab_hash(const struct ktab *t, const uint8_t *key);

/*
 * Prefetch hints for batches: first the index slots of many hashes, then (once those
 * have arrived) the entries they point at, so the cache misses of a batch overlap
 * instead of coming one after another. The table's contents are not changed.
 */
void ktab_prefetch_slot(const struct ktab *t, uint64_t h);
void ktab_prefetch_entry(const struct ktab *t, uint64_t h);

/* The key and the value of entry i (0 <= i < t->n, dense), else NULL. */
const uint8_t *ktab_key(const struct ktab *t, size_t i);
void *ktab_val(const struct ktab *t, size_t i);

/* Bytes allocated now. */
size_t ktab_bytes(const struct ktab *t);

void ktab_free(struct ktab *t);

/* ------------------------------------------------------------------ stats */

/* ORD_BYTES and ORD_PACKETS rank by the totals of both directions (tbytes, tpackets). */
enum stats_order { ORD_FLOWS, ORD_BYTES, ORD_PACKETS, ORD_BPS, ORD_PPS, ORD_BPP };

/* The value of a stats entry. */
struct stats_val {
    struct ktab_head h;
    uint64_t flows, bytes, packets, first, last;
};

/* One -s table. */
struct stats {
    struct key_spec key;
    enum stats_order order;
    struct ktab tab;
    uint64_t flows, bytes, packets; /* every flow counted once */
};

/* A result row: pointer into the table, valid until stats_free. */
struct stats_row {
    const uint8_t *key;
    const struct stats_val *v;
};

/*
 * Parse "KEY[/ORDER]" (e.g. "srcip/tbytes", "dstip4/24/flows", "ip") into a new stats
 * with a memory budget. Returns 0 with *out set, or FS_EINVAL with a message.
 */
int stats_new(const char *spec, size_t max_bytes, struct stats **out, struct fs_err *err);

/* Count one flow (twice for a two-sided key). */
void stats_add(struct stats *s, const struct flow *f);

#define STATS_BATCH 64

/*
 * Count n (<= STATS_BATCH) flows, same result as n stats_add calls: all keys are
 * hashed and their memory prefetched first, so the lookups' cache misses overlap.
 */
void stats_add_batch(struct stats *s, const struct flow *f, size_t n);

/*
 * Per-thread parts: several threads count flows into parts of their own, which are
 * merged at the end (exact counts do not depend on the order of the flows). A part is
 * exact only: an open-addressing table whose 64-byte slots hold the key and the
 * counters inline, so a lookup touches one cache line (struct ktab needs two: index
 * slot, then entry). At its budget a part refuses new keys and says so (full); the
 * caller then counts on one struct stats instead, which may turn approximate.
 */
struct stats_part;

/*
 * A part counting for s (its key spec; s is not changed) within max_bytes. NULL when s
 * has a key wider than 16 bytes (not for a -s key).
 */
struct stats_part *stats_part_new(const struct stats *s, size_t max_bytes);

/* Count n flows (at most STATS_BATCH), as stats_add_batch. */
void stats_part_add(struct stats_part *p, const struct flow *f, size_t n);

/* 1 once p refused a key (it is incomplete). */
int stats_part_full(const struct stats_part *p);

/* Add every key and the totals of src to dst, dst's budget set to max_bytes first:
 * 0, or FS_ENOSPC (dst is then incomplete). */
int stats_part_merge(struct stats_part *dst, const struct stats_part *src, size_t max_bytes);

/*
 * Add every key and the totals of p to s, which must be exact (not approximate); s's
 * table may hold max_bytes. 0, or FS_ENOSPC when s would have to turn approximate
 * (s is then incomplete).
 */
int stats_part_to_stats(struct stats *s, const struct stats_part *p, size_t max_bytes);

/* Bytes p holds now. */
size_t stats_part_bytes(const struct stats_part *p);

void stats_part_free(struct stats_part *p);

/*
 * The fields stats_add reads (the key's, times, bytes and packets of both directions)
 * as a column mask: bit i = fields[i] (store_reader_columns).
 */
uint64_t stats_columns(const struct stats *s);

/*
 * The top n entries by the order, largest first, ties broken by key ascending.
 * Fills rows[0..] (caller array of n) and returns how many. O(entries log n).
 */
size_t stats_top(const struct stats *s, size_t n, struct stats_row *rows);

/* The order's value of a row (bps/pps over the row's first..last), for printing. */
double stats_metric(enum stats_order order, const struct stats_val *v);

/* Name of an order ("tbytes"; "bytes" is only accepted as nfdump's alias of it). */
const char *stats_order_name(enum stats_order order);

/*
 * A number as text: human = SI-scaled like the flow table ("1.2 M"), else integral
 * (rounded down). Returns the length; buf holds >= 32 bytes.
 */
size_t stats_fmt_num(char *buf, double v, int human);

void stats_free(struct stats *s);

#endif
