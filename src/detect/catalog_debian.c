/*
 * Catalogue inputs other than our own format: Debian/Ubuntu Packages indexes (RFC 822
 * style stanzas separated by blank lines) and CSV files with a header row.
 */
#include "catalog.h"

#include "../core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal u64 of p[0..len); -1 on empty, non-digit or overflow. */
static int dec_u64(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The fields of one stanza we keep, as (pointer, length) into the index. */
struct stanza {
    size_t line; /* first line, for messages */
    const char *v[7];
    size_t l[7];
};

enum { ST_PACKAGE, ST_SOURCE, ST_VERSION, ST_ARCH, ST_SIZE, ST_FILENAME, ST_SHA256 };
static const char *const st_keys[7] = { "Package", "Source",   "Version", "Architecture",
                                        "Size",    "Filename", "SHA256" };

struct deb_ctx {
    struct catalog *c;
    const char *name, *os;
    void (*warn)(void *ctx, const char *msg);
    void *wctx;
    size_t added, skipped;
};

static void deb_warn(struct deb_ctx *d, size_t line, const char *what)
{
    d->skipped++;
    if (d->warn) {
        char m[512];
        snprintf(m, sizeof(m), "%s:%zu: %s; stanza skipped", d->name, line, what);
        d->warn(d->wctx, m);
    }
}

/* Copy a (pointer, length) value into a NUL-terminated string of at most cap bytes. */
static char *dupn(const char *p, size_t len)
{
    char *s = xmalloc(len + 1);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* Turn a finished stanza into an entry, or report why not. */
static void deb_emit(struct deb_ctx *d, const struct stanza *s)
{
    if (!s->v[ST_PACKAGE] && !s->v[ST_SIZE] && !s->v[ST_VERSION])
        return; /* not a package stanza (e.g. stray text) */
    struct cat_entry e = { 0 };
    if (!s->v[ST_PACKAGE] || s->l[ST_PACKAGE] == 0)
        return deb_warn(d, s->line, "field 'Package': missing");
    if (!s->v[ST_SIZE])
        return deb_warn(d, s->line, "field 'Size': missing");
    if (dec_u64(s->v[ST_SIZE], s->l[ST_SIZE], &e.size) != 0)
        return deb_warn(d, s->line, "field 'Size': not a decimal byte count");
    size_t srcl = s->l[ST_SOURCE];
    if (s->v[ST_SOURCE]) { /* "Source: name (version)" keeps only the name */
        const char *sp = memchr(s->v[ST_SOURCE], ' ', srcl);
        if (sp)
            srcl = (size_t)(sp - s->v[ST_SOURCE]);
    }
    char *str[7];
    for (int i = 0; i < 7; i++)
        str[i] = s->v[i] ? dupn(s->v[i], i == ST_SOURCE ? srcl : s->l[i]) : NULL;
    char *digest = NULL;
    if (str[ST_SHA256]) {
        digest = xmalloc(strlen(str[ST_SHA256]) + 8);
        snprintf(digest, strlen(str[ST_SHA256]) + 8, "sha256:%s", str[ST_SHA256]);
    }
    e.name = str[ST_PACKAGE];
    e.product = str[ST_SOURCE] && *str[ST_SOURCE] ? str[ST_SOURCE] : str[ST_PACKAGE];
    e.version = str[ST_VERSION];
    e.arch = str[ST_ARCH];
    e.os = d->os;
    e.url = str[ST_FILENAME];
    e.digest = digest;
    e.source = CAT_SRC_DEBIAN;
    catalog_add(d->c, &e);
    d->added++;
    for (int i = 0; i < 7; i++)
        free(str[i]);
    free(digest);
}

/* Record "Key: value" of one line into the stanza when Key is one we keep. */
static void deb_field(struct stanza *s, const char *p, size_t len)
{
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return;
    size_t kl = (size_t)(colon - p);
    for (int i = 0; i < 7; i++) {
        if (strlen(st_keys[i]) != kl || memcmp(p, st_keys[i], kl) != 0)
            continue;
        const char *v = colon + 1, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        s->v[i] = v;
        s->l[i] = (size_t)(end - v);
        return;
    }
}

/*
 * Walk the index line by line; a blank line ends a stanza. Continuation lines (leading
 * space or tab, e.g. Description) and fields we do not keep are passed over.
 */
void catalog_debian_parse(struct catalog *c, const char *name, const char *buf, size_t len,
                          const char *os, void (*warn)(void *ctx, const char *msg), void *ctx,
                          size_t *added, size_t *skipped)
{
    struct deb_ctx d = { c, name, os, warn, ctx, 0, 0 };
    struct stanza s;
    memset(&s, 0, sizeof(s));
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *p = buf + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - p) : len - pos;
        pos += ll + (nl != NULL);
        lineno++;
        size_t tl = ll;
        while (tl && (p[tl - 1] == '\r' || p[tl - 1] == ' ' || p[tl - 1] == '\t'))
            tl--;
        if (tl == 0) {
            deb_emit(&d, &s);
            memset(&s, 0, sizeof(s));
            continue;
        }
        if (!s.line)
            s.line = lineno;
        if (p[0] != ' ' && p[0] != '\t')
            deb_field(&s, p, ll);
    }
    deb_emit(&d, &s);
    if (added)
        *added = d.added;
    if (skipped)
        *skipped = d.skipped;
}

/* "..._dists_SUITE_..." in an apt lists file name gives the suite. */
int catalog_suite_from_name(const char *path, char *out, size_t outlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *d = strstr(base, "_dists_");
    if (!d || outlen == 0)
        return 0;
    d += 7;
    const char *end = strchr(d, '_');
    if (!end || end == d || (size_t)(end - d) >= outlen)
        return 0;
    memcpy(out, d, (size_t)(end - d));
    out[end - d] = '\0';
    return 1;
}
