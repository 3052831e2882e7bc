/*
 * A growing NUL-terminated string written with printf formats (SQL statements, DDL):
 * strbuf_printf appends, growing the buffer as needed; out of memory ends the program
 * as xalloc does.
 */
#ifndef FS_CORE_STRBUF_H
#define FS_CORE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *p; /* NUL-terminated once anything was appended; NULL before */
    size_t len, cap;
};

void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
