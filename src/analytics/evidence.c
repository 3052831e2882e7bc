/* The detectors' evidence filters (evidence.h). */
#include "evidence.h"
#include "../core/xalloc.h"

#include <string.h>

char *evidence_filter_line(const char *text)
{
    if (!text || !text[strspn(text, " \t\r\n")])
        return NULL;
    char *s = xstrdup(text), *o = s;
    for (const char *p = text; *p; p++) {
        if (*p == '#') {
            while (p[1] && p[1] != '\n')
                p++;
            continue;
        }
        char ch = *p;
        if (ch == '\n' || ch == '\r' || ch == '\t')
            ch = ' ';
        *o++ = ch;
    }
    *o = '\0';
    return s;
}
