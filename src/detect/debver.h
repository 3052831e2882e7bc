/*
 * Debian version comparison (Debian Policy 5.6.12, "Version"), as dpkg --compare-versions
 * orders versions: [epoch:]upstream_version[-debian_revision].
 *
 *   epoch      the digits before the first ':' (0 when there is no ':'), compared as a
 *              number (any length: compared as a digit string without leading zeros);
 *   revision   what follows the last '-' ("" when there is none, which sorts as "0");
 *   upstream   what lies between;
 *
 * upstream, then revision, are compared left to right in alternating parts: the
 * longest run of non-digits, compared character by character where '~' sorts before
 * everything (even the end of the part), then the end, then letters (ASCII), then
 * every other character (ASCII, after the letters); then the longest run of digits,
 * compared as numbers (an empty run is 0). So 1.0~rc1 < 1.0 < 1.0a < 1.0+b1 < 1.0.1
 * (letters sort before '+' and '.', and '+' before '.'), and 1.0 = 1.0-0 = 0:1.0.
 *
 * The function accepts any string (it never reads past the terminator and never
 * overflows on long digit runs); only valid versions have a meaning.
 */
#ifndef FS_DEBVER_H
#define FS_DEBVER_H

/* < 0, 0 or > 0 as a sorts before, equal to, or after b. NULL is taken as "". */
int debver_cmp(const char *a, const char *b);

#endif
