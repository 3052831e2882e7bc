/*
 * What match_run holds between its passes, held compactly (inside src/detect/ only).
 *
 * Results: a struct match_result reserves MATCH_MAX_CANDS sets of MATCH_MAX_SET
 * entries (about 950 bytes) whatever it holds; 200,000 ambiguous flows took 190 MB
 * that way. struct keep stores each result's header and only the candidates and
 * entry indexes it has, in two pools.
 *
 * Range pieces: with --ranges, every TCP flow of 4,096 to --min-size payload bytes
 * may be a piece, and in a real network (or bench/match.sh) that is half of all flows:
 * 184 bytes each as struct flow. match_batch_add writes them to a byte arena instead
 * (piece_put: key, times and counters, variable-length integers, IPv4 addresses in 4
 * bytes), about 40 bytes a flow; piece_get gives a flow back with those members and
 * the rest zero.
 *
 * Ownership: struct keep lives in caller storage, keep_init/keep_free; the arena is
 * the match_batch's (match_batch_free).
 */
#ifndef FS_MATCH_KEEP_H
#define FS_MATCH_KEEP_H

#include "../core/flow.h"
#include "match_types.h"

#include <stddef.h>
#include <stdint.h>

struct kept {
    uint64_t payload;
    size_t cand, idx; /* first candidate in keep.c, first entry index in keep.idx */
    uint16_t ncands, nidx;
    uint8_t verdict, basis, more, calibrated, reqsum, alone, pieces;
};

struct kcand {
    int64_t residual;
    uint8_t k;
};

struct keep {
    struct kept *r; /* one per result slot */
    size_t n;
    struct kcand *c;
    size_t nc, capc;
    uint32_t *idx;
    size_t ni, capi;
};

/* n result slots, all empty (a rejected result without candidates). */
void keep_init(struct keep *k, size_t n);
void keep_free(struct keep *k);

/* Store r in slot i: in place when it has no more candidates and indexes than the
 * slot held, else appended to the pools (a slot is rewritten at most once more, by
 * the server pass, so the pools stay below twice what they hold). */
void keep_put(struct keep *k, size_t i, const struct match_result *r);

/* The result in slot i, whole. */
void keep_get(const struct keep *k, size_t i, struct match_result *r);

/* Append flow f to the arena (*buf, *len, *cap; grown with xrealloc). A record
 * starts with its length in one byte: buf[off] skips to the next. */
void piece_put(uint8_t **buf, size_t *len, size_t *cap, const struct flow *f);

/* Decode the flow at *off of buf[0..len) into *f and advance *off. Returns 0, or -1 at
 * the end or on a record cut short (never happens for piece_put's own output). */
int piece_get(const uint8_t *buf, size_t len, size_t *off, struct flow *f);

#endif
