/*
 * A glob over a text field of struct flow (sni): fnmatch(3) without flags on the
 * field's bytes lowered to ASCII lower case, up to its first NUL or its size. The glob
 * is expected in lower case (the filter lowers it), so `*.Example.COM` and
 * `*.example.com` select the same names. No allocation.
 */
#ifndef FS_TEXTGLOB_H
#define FS_TEXTGLOB_H

#include <stddef.h>

/* 1 when text[0..size) (NUL-padded) matches glob, else 0; size at most 255. */
int text_glob(const char *glob, const char *text, size_t size);

#endif
