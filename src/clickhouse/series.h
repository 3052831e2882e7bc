/*
 * count over clickhouse:// as a GROUP BY of the bins on the server (series.c): only a
 * row a bin travels, plus the rows of the flows that count spreads over several bins.
 */
#ifndef FS_CH_SERIES_H
#define FS_CH_SERIES_H

#include "../core/err.h"
#include "ch.h"

#include <stddef.h>
#include <stdint.h>

struct count;

struct ch_series_stats {
    uint64_t inputs;    /* servers asked */
    uint64_t bin_rows;  /* GROUP BY rows they sent (one a bin and server) */
    uint64_t span_rows; /* flow rows they sent: flows spread over several bins */
};

/* Add every server's flows to the series c (set up by count_init, bin width and load
 * its own) as count_add would have added them one by one. 0; 1 when the series would
 * span more bins than c allows (count_add's FS_ENOSPC); -1 with e said (the server
 * named without its password). */
int ch_series_count(const char *const *paths, size_t npaths, const struct ch_read_opts *o,
                    struct count *c, struct ch_series_stats *ss, struct fs_err *e);

#endif
