/*
 * Durations in the detectors' options (--window): "90s", "30m", "1h", "2d" or plain
 * seconds, at most ten years.
 */
#ifndef FS_DURATION_H
#define FS_DURATION_H

#include <stdint.h>

/* 0 with *ms set, or FS_EINVAL (zero, malformed, too long). */
int duration_parse_ms(const char *s, uint64_t *ms);

#endif
