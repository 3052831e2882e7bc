/*
 * JSON string text (jstr.h): the one decoder of escapes both JSON-lines readers use.
 */
#include "jstr.h"

#include <string.h>

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* A \u escape at s: as jstr_escape. */
static size_t uescape(const char *s, const char *end, uint32_t *cp)
{
    uint32_t u, lo;
    if (end - s < 6 || hex4(s + 2, &u) != 0 || (u >= 0xdc00 && u <= 0xdfff))
        return 0;
    *cp = u;
    if (u < 0xd800 || u > 0xdbff)
        return 6;
    if (end - s < 12 || s[6] != '\\' || s[7] != 'u' || hex4(s + 8, &lo) != 0 || lo < 0xdc00 ||
        lo > 0xdfff)
        return 0;
    *cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
    return 12;
}

size_t jstr_escape(const char *s, const char *end, uint32_t *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (end - s < 2)
        return 0;
    if (s[1] == 'u')
        return uescape(s, end, cp);
    const char *k = s[1] ? strchr(from, s[1]) : NULL;
    if (!k)
        return 0;
    *cp = (unsigned char)to[k - from];
    return 2;
}

size_t jstr_utf8(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

long jstr_scan(const char *s, const char *end, char *out, size_t cap, const char **next)
{
    size_t n = 0;
    while (s < end && *s != '"') {
        char enc[4];
        size_t ne = 1;
        enc[0] = *s;
        if ((unsigned char)*s < 0x20)
            return -1;
        if (*s == '\\') {
            uint32_t cp;
            size_t len = jstr_escape(s, end, &cp);
            if (!len)
                return -1;
            s += len;
            ne = jstr_utf8(cp, enc);
        } else {
            s++;
        }
        /* Once a byte does not fit none after it does: n only grows. */
        if (out && n + ne < cap) {
            if (ne == 1) /* not a call per byte: a table's load was a quarter this memcpy */
                out[n] = enc[0];
            else
                memcpy(out + n, enc, ne);
        }
        n += ne;
    }
    if (s >= end)
        return -1;
    if (out && n < cap)
        out[n] = '\0';
    if (next)
        *next = s + 1;
    return (long)n;
}
