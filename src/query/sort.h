/*
 * The order of records by one field (print -O, stats -A -O): counters (bytes, packets,
 * ...) largest first, times, addresses and ports smallest first, ties in input order.
 * One 16-byte big-endian key per record and one qsort, so an address and a counter
 * sort the same way.
 */
#ifndef FS_QUERY_SORT_H
#define FS_QUERY_SORT_H

#include "../core/fields.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

/* Indices 0..n-1 of v in the order of fd (free() them). */
size_t *flow_sort(const struct field *fd, const struct flow *v, size_t n);

/* Indices 0..n-1 of v, largest value first, ties in input order (free() them). */
size_t *u64_sort_desc(const uint64_t *v, size_t n);

#endif
