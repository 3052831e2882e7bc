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

/* store_shuffle() by the portable scalar code: the planes set in map (NULL = all). */
void store_shuffle_scalar(const struct flow *f, size_t n, const uint8_t *map, uint8_t *raw);

/* store_plane_map() by a plain loop over the fields' bytes, record by record. */
size_t store_plane_map_scalar(const struct flow *f, size_t n, uint8_t *map, uint8_t *val);

#endif
