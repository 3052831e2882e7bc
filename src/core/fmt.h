/*
 * Text forms of addresses and times, shared by every printer and parser.
 * All functions write into caller buffers; nothing is allocated.
 */
#ifndef FS_FMT_H
#define FS_FMT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_ADDR_MAX 48 /* longest IPv6 text incl. NUL */
#define FMT_TIME_MAX 32

/*
 * Canonical text of a 16-byte address: ipver 4 prints the dotted quad of the last four
 * bytes, 6 prints RFC 5952 text, 0 decides by the IPv4-mapped prefix. Returns length.
 */
size_t fmt_addr(char *buf, const uint8_t a[16], int ipver);

/* "YYYY-MM-DDThh:mm:ss.mmmZ" for ms since the epoch. Returns length (24). */
size_t fmt_time_ms(char *buf, uint64_t ms);

/*
 * Parse a point in time: ISO 8601 "YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z]" (UTC),
 * "@EPOCHSECONDS", or a time relative to now_ms: "-90s", "-15m", "-2h", "-7d".
 * Returns 0 with *ms set, or FS_EINVAL.
 */
int parse_time_ms(const char *s, uint64_t now_ms, uint64_t *ms);

/* Parse "FROM..TO", "FROM.." or "FROM" (to = open, 0). Returns 0 or FS_EINVAL. */
int parse_time_window(const char *s, uint64_t now_ms, uint64_t *from, uint64_t *to);

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, Howard Hinnant's algorithm). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

/* Parse an address in text form into 16 bytes (+ version). Returns 0 or FS_EINVAL. */
int parse_addr(const char *s, uint8_t a[16], int *ipver);

#endif
