/*
 * stats -s as a GROUP BY on the ClickHouse server (group.c): only the top rows travel.
 */
#ifndef FS_CH_GROUP_H
#define FS_CH_GROUP_H

#include "../core/err.h"
#include "ch.h"

#include <stddef.h>
#include <stdint.h>

struct stats;

struct ch_group_stats {
    uint64_t inputs, rows; /* servers asked; key rows they sent */
};

/* 1 when the -s tables st[0..nst) can be counted by the servers: every path is a
 * clickhouse:// URL, the filter (NULL = none) goes whole into the WHERE and every key
 * is a column (or ip, port, as: both ends) without a prefix length. */
int ch_group_ok(const char *const *paths, size_t npaths, const char *filter,
                struct stats *const *st, int nst);

/* Fill the (empty) tables and their totals from the servers' GROUP BY, the top n rows
 * of each (0 = all) when there is one server. 0, or -1 with e said (the server named
 * without its password). */
int ch_group_stats(const char *const *paths, size_t npaths, const struct ch_read_opts *o,
                   struct stats *const *st, int nst, size_t n, struct ch_group_stats *gs,
                   struct fs_err *e);

#endif
