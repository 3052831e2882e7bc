/*
 * Pure helpers of the grabber (see grab.h): header values and file names. No network.
 */
#include "grab.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decimal without sign or leading space into *v; returns the end, or NULL. */
static const char *decimal(const char *s, uint64_t *v)
{
    if (!isdigit((unsigned char)*s))
        return NULL;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno)
        return NULL;
    *v = x;
    return end;
}

int grab_content_range(const char *v, uint64_t *total)
{
    uint64_t first, last;
    if (strncasecmp(v, "bytes", 5) != 0)
        return -1;
    v += 5;
    while (*v == ' ')
        v++;
    if (*v == '*') {
        v++;
    } else {
        const char *p = decimal(v, &first);
        if (!p || *p != '-' || !(p = decimal(p + 1, &last)) || last < first)
            return -1;
        v = p;
    }
    if (*v != '/')
        return -1;
    const char *p = decimal(v + 1, total);
    if (!p)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p ? -1 : 0;
}

int grab_is_html(const char *ctype)
{
    if (!ctype)
        return 0;
    while (*ctype == ' ')
        ctype++;
    size_t n = strcspn(ctype, "; \t");
    return (n == 9 && strncasecmp(ctype, "text/html", 9) == 0) ||
           (n == 21 && strncasecmp(ctype, "application/xhtml+xml", 21) == 0);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copy s[0..n) into out, decoding %XX when the byte is printable and not '/'. */
static void decode_segment(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            int c = hi * 16 + lo;
            if (c >= 0x20 && c != 0x7f && c != '/') {
                out[o++] = (char)c;
                i += 2;
                continue;
            }
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
}

void grab_file_name(const char *url, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *host = p;
    size_t hostlen = strcspn(p, "/?#");
    const char *path = p + hostlen;
    size_t pathlen = *path == '/' ? strcspn(path, "?#") : 0;
    while (pathlen > 0 && path[pathlen - 1] == '/')
        pathlen--;
    size_t start = pathlen;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (pathlen > start)
        decode_segment(path + start, pathlen - start, out, outlen);
    else
        decode_segment(host, hostlen, out, outlen);
}

/* Length of the extensions at the end of stem to drop: up to two ".ext" parts of 1-5
 * letters or digits starting with a letter (".tar.gz", ".zip", ".bz2"; also ".7z"),
 * so "1.2.3x" or ".x86_64" are not taken for one. */
static size_t ext_len(const char *s, size_t n)
{
    size_t cut = 0;
    for (int k = 0; k < 2; k++) {
        size_t end = n - cut, i = end, letters = 0;
        while (i > 0 && isalnum((unsigned char)s[i - 1]) && end - i <= 5) {
            letters += isalpha((unsigned char)s[i - 1]) != 0;
            i--;
        }
        if (i == 0 || s[i - 1] != '.' || i == end || end - i > 5 || !letters ||
            (!isalpha((unsigned char)s[i]) && strncasecmp(s + i, "7z", 2) != 0))
            break;
        cut = n - (i - 1);
    }
    return cut;
}

/* Length of a version at s: digits ('.' digits)+ then an optional tag (rc1, -beta2,
 * ~pre), where what follows is the end, '-', '_', '+', or '.' and a letter. 0 when
 * none. */
static size_t version_len(const char *s, size_t n)
{
    static const char *const tags[] = { "alpha", "beta", "pre", "rc", "dev" };
    size_t i = 0, dots = 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    while (i + 1 < n && s[i] == '.' && isdigit((unsigned char)s[i + 1])) {
        i++;
        dots++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    if (!dots)
        return 0;
    size_t j = i + (i < n && (s[i] == '-' || s[i] == '~' || s[i] == '.'));
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        size_t tl = strlen(tags[t]);
        if (j + tl <= n && strncasecmp(s + j, tags[t], tl) == 0) {
            j += tl;
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
            i = j;
            break;
        }
    }
    int more = i + 1 < n && s[i] == '.' && isalpha((unsigned char)s[i + 1]); /* ".linux" */
    return i == n || s[i] == '-' || s[i] == '_' || s[i] == '+' || more ? i : 0;
}

static void copy_n(char *out, size_t outlen, const char *s, size_t n)
{
    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

void grab_guess(const char *name, char *product, size_t plen, char *version, size_t vlen)
{
    copy_n(product, plen, "", 0);
    copy_n(version, vlen, "", 0);
    size_t n = strlen(name);
    n -= ext_len(name, n);
    if (n == 0 || !isalpha((unsigned char)name[0]))
        return;
    for (size_t i = 1; i + 1 < n; i++) {
        if (name[i] != '-' && name[i] != '_')
            continue;
        size_t v = i + 1 + ((name[i + 1] == 'v' || name[i + 1] == 'V') ? 1 : 0);
        size_t vl = v < n ? version_len(name + v, n - v) : 0;
        if (vl) {
            copy_n(product, plen, name, i);
            copy_n(version, vlen, name + v, vl);
            return;
        }
    }
}
