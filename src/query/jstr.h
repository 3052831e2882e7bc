/*
 * JSON string text: escapes decoded and strings unescaped to UTF-8, for the JSON-lines
 * readers (pdns.c: the passive DNS table, analytics/eve_json.c: Suricata EVE), so that
 * the two read a string's escapes the same way. Bytes outside escapes are copied as
 * they are: a reader that must judge UTF-8 does so itself.
 *
 * Nothing here allocates.
 */
#ifndef FS_JSTR_H
#define FS_JSTR_H

#include <stddef.h>
#include <stdint.h>

/* The escape at s (its '\\'), before end: the code point it spells in *cp and the
 * bytes it takes (2, 6, or 12 for a surrogate pair), 0 when it is not a JSON escape
 * (a lone or unpaired surrogate either). \u0000 is one, with *cp 0. */
size_t jstr_escape(const char *s, const char *end, uint32_t *cp);

/* cp (at most U+10FFFF) as UTF-8 into out: its length, 1 to 4. */
size_t jstr_utf8(uint32_t cp, char out[4]);

/*
 * The text of a string from s (past its opening quote) to its closing quote before
 * end, unescaped into out (cap bytes; NULL: only scanned). Returns its unescaped
 * length, or -1 when the text is no string's (a control byte, a bad escape, no
 * closing quote); then *next (when next is not NULL) is past the closing quote. A
 * length below cap is out's, NUL-terminated; a longer string leaves a part of it in
 * out, unterminated.
 */
long jstr_scan(const char *s, const char *end, char *out, size_t cap, const char **next);

#endif
