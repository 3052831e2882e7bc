/*
 * The store's column shuffle without SIMD (store_common.c), declared apart from
 * store_int.h: only the unit test calls it, to hold the SSE2 path of store_shuffle()
 * to the same bytes.
 */
#ifndef FS_STORE_SHUF_H
#define FS_STORE_SHUF_H

#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

/* store_shuffle() by the portable scalar code: n records into raw, every column. */
void store_shuffle_scalar(const struct flow *f, size_t n, uint8_t *raw);

#endif
