/* A growing printf string (strbuf.h). */
#include "strbuf.h"

#include "xalloc.h"

#include <stdio.h>

void strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
    if (!b->p) {
        b->cap = b->cap ? b->cap : 256;
        b->p = xmalloc(b->cap);
        b->len = 0;
    }
    for (;;) {
        va_list aq;
        va_copy(aq, ap);
        int k = vsnprintf(b->p + b->len, b->cap - b->len, fmt, aq);
        va_end(aq);
        if (k >= 0 && (size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)(k > 0 ? k : 0);
        b->p = xrealloc(b->p, b->cap);
    }
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}
