/*
 * Numbers with a unit suffix, one meaning in every command and in the filter
 * language: k (or K), M, G, T are powers of 1000, Ki, Mi, Gi, Ti powers of 1024 (IEC
 * 80000-13), an optional trailing B is allowed after either (10GB, 512MiB). Fractions
 * are taken when the result is whole: 1.5k = 1500, 1.5 alone is refused.
 */
#ifndef FS_UNITS_H
#define FS_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Plain decimal (with an optional fraction) times scale: 0, -1 malformed, -2 overflow. */
int units_decimal(const char *s, size_t len, uint64_t scale, uint64_t *v);

/*
 * A number with an optional unit suffix; without one it is multiplied by dflt (1 for
 * counts, 1 << 20 where an option's help says its plain numbers are MiB).
 * Returns 0, -1 (malformed or an unknown unit) or -2 (past 2^64 - 1).
 */
int units_parse(const char *s, size_t len, uint64_t dflt, uint64_t *v);

/* The same for a NUL-terminated string. */
int units_parse_str(const char *s, uint64_t dflt, uint64_t *v);

#endif
