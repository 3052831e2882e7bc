/*
 * Reading flows into per-key series for baseline and anomaly (analytics/baseline.h),
 * on every decoding thread (input_scan.h): sums per bin do not depend on the order of
 * the flows. Both commands share it so that what the profile learned and what anomaly
 * compares are counted the same way.
 */
#ifndef FS_BASELINE_INPUT_H
#define FS_BASELINE_INPUT_H

#include "../analytics/baseline.h"
#include "input.h"

/*
 * Read every flow of in into s (frozen: only its keys). Returns the exit status (0, or 1
 * when an input was unreadable); *full is 1 when s ran out of its memory budget (s then
 * holds part of the flows).
 */
int bl_input_read(struct input_opts *in, const char *prog, struct bl_series *s, int *full);

/*
 * The bins to learn or judge: with -t the whole bins inside the window, else those from
 * the first to the last bin with data. 0, or -1 when there is none.
 */
int bl_input_bins(const struct input_opts *in, const struct bl_series *s, uint64_t *lo,
                  uint64_t *hi);

#endif
