#include "textglob.h"

#include <fnmatch.h>

int text_glob(const char *glob, const char *text, size_t size)
{
    char buf[256];
    size_t n = 0;
    for (; n < size && n < sizeof(buf) - 1 && text[n]; n++)
        buf[n] = (char)(text[n] >= 'A' && text[n] <= 'Z' ? text[n] - 'A' + 'a' : text[n]);
    buf[n] = '\0';
    return fnmatch(glob, buf, 0) == 0;
}
