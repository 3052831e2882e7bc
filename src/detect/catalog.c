/*
 * Catalogue of known downloads: the arena, sort and search, and the version-1 text
 * format (catalog.h has the layout). Packages indexes and CSV import are in
 * catalog_debian.c, decompression in catalog_io.c.
 */
#include "catalog.h"

#include "../core/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536

const char *const catalog_columns[] = { "size", "name", "product", "version", "arch",
                                        "os",   "url",  "digest",  "source",  "spread" };
const size_t catalog_ncolumns = sizeof(catalog_columns) / sizeof(catalog_columns[0]);

static const char magic_line[] = "#flowsleuth-catalog";

void catalog_init(struct catalog *c)
{
    memset(c, 0, sizeof(*c));
    c->sorted = 1;
}

void catalog_free(struct catalog *c)
{
    for (size_t i = 0; i < c->nblocks; i++)
        free(c->blocks[i]);
    free(c->blocks);
    free(c->e);
    memset(c, 0, sizeof(*c));
}

/* Copy len bytes plus a NUL into the arena; strings longer than a block get their own. */
static const char *arena_put(struct catalog *c, const char *s, size_t len)
{
    if (len + 1 > c->left) {
        size_t sz = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
        c->blocks = xrealloc(c->blocks, (c->nblocks + 1) * sizeof(*c->blocks));
        c->blocks[c->nblocks++] = c->cur = xmalloc(sz);
        c->left = sz;
    }
    char *p = c->cur;
    memcpy(p, s, len);
    p[len] = '\0';
    c->cur += len + 1;
    c->left -= len + 1;
    return p;
}

static const char *put_str(struct catalog *c, const char *s)
{
    if (!s || !*s)
        return "";
    return arena_put(c, s, strlen(s));
}

/*
 * Append a copy of *e: the strings go to the arena so the caller's may be temporary.
 */
void catalog_add(struct catalog *c, const struct cat_entry *e)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
    }
    struct cat_entry *d = &c->e[c->n++];
    *d = *e;
    d->name = e->name && *e->name ? put_str(c, e->name) : "?"; /* the format needs one */
    d->product = put_str(c, e->product);
    d->version = put_str(c, e->version);
    d->arch = put_str(c, e->arch);
    d->os = put_str(c, e->os);
    d->url = put_str(c, e->url);
    d->digest = put_str(c, e->digest);
    if (c->n > 1 && c->e[c->n - 2].size > d->size)
        c->sorted = 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct cat_entry *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    r = strcmp(x->version, y->version);
    if (r)
        return r;
    r = strcmp(x->arch, y->arch);
    return r ? r : strcmp(x->os, y->os);
}

/* Sort by size (then name, version, arch, os) so lookups can binary-search. */
void catalog_sort(struct catalog *c)
{
    if (c->n > 1)
        qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
    c->sorted = 1;
}

/* First index whose size is >= size; classic lower bound on the sorted array. */
size_t catalog_lower_bound(const struct catalog *c, uint64_t size)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->e[mid].size < size)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const char *const source_names[] = { "debian", "import", "learned" };

/* Name of a source value, for the file format and output. */
const char *catalog_source_name(enum cat_source s)
{
    return (unsigned)s < 3 ? source_names[s] : "?";
}

/* Source value of a name, -1 when unknown. */
int catalog_source_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, source_names[i]) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- text format */

/* Unescape src[0..len) into dst (same size or larger). Returns the length or -1. */
static long unescape(char *dst, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '\\') {
            dst[o++] = src[i];
            continue;
        }
        if (++i == len)
            return -1;
        switch (src[i]) {
        case 't':
            dst[o++] = '\t';
            break;
        case 'n':
            dst[o++] = '\n';
            break;
        case 'r':
            dst[o++] = '\r';
            break;
        case '\\':
            dst[o++] = '\\';
            break;
        default:
            return -1;
        }
    }
    dst[o] = '\0';
    return (long)o;
}

/* Decimal u64 of a whole string; -1 on empty, non-digit or overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

struct line_ctx {
    const char *name;
    size_t lineno;
};

/* Fill one entry from the unescaped fields f[10]. */
static int fill_entry(struct cat_entry *e, char **f, const struct line_ctx *lc, struct fs_err *err)
{
    memset(e, 0, sizeof(*e));
    if (parse_u64(f[0], &e->size) != 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field 'size': not a decimal byte count: '%.40s'", lc->name,
                          lc->lineno, f[0]);
    e->name = f[1];
    e->product = f[2];
    e->version = f[3];
    e->arch = f[4];
    e->os = f[5];
    e->url = f[6];
    e->digest = f[7];
    int src = catalog_source_parse(f[8]);
    if (src < 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field 'source': '%.40s' is not debian, import or learned",
                          lc->name, lc->lineno, f[8]);
    e->source = (enum cat_source)src;
    if (parse_u64(f[9], &e->spread) != 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field 'spread': not a decimal byte count: '%.40s'", lc->name,
                          lc->lineno, f[9]);
    if (!*e->name)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno, "%s:%zu: field 'name': empty",
                          lc->name, lc->lineno);
    return 0;
}

/* Split one data line (no newline) into fields, unescape them into scratch, add. */
static int parse_line(struct catalog *c, const char *p, size_t len, char *scratch,
                      const struct line_ctx *lc, struct fs_err *err)
{
    char *f[10];
    size_t nf = 0, start = 0;
    char *out = scratch;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '\t')
            continue;
        if (nf == catalog_ncolumns)
            return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                              "%s:%zu: field 'spread': more than %zu fields", lc->name, lc->lineno,
                              catalog_ncolumns);
        long n = unescape(out, p + start, i - start);
        if (n < 0)
            return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                              "%s:%zu: field '%s': bad backslash escape", lc->name, lc->lineno,
                              catalog_columns[nf]);
        f[nf++] = out;
        out += n + 1;
        start = i + 1;
    }
    if (nf != catalog_ncolumns)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field '%s': missing (line has %zu of %zu fields)", lc->name,
                          lc->lineno, catalog_columns[nf], nf, catalog_ncolumns);
    struct cat_entry e;
    int rc = fill_entry(&e, f, lc, err);
    if (rc == 0)
        catalog_add(c, &e);
    return rc;
}

/* Check the two header lines: the magic + version, then the column names. */
static int check_header(const char *p, size_t len, size_t lineno, const char *name,
                        struct fs_err *err)
{
    if (lineno == 1) {
        size_t ml = sizeof(magic_line) - 1;
        if (len < ml || memcmp(p, magic_line, ml) != 0)
            return fs_err_set(err, FS_EFORMAT, 1,
                              "%s:1: field 'header': not a flowsleuth catalogue (no '%s 1')", name,
                              magic_line);
        if (len != ml + 2 || p[ml] != ' ' || p[ml + 1] != '1')
            return fs_err_set(err, FS_EVERSION, 1,
                              "%s:1: field 'header': unsupported catalogue version '%.*s'", name,
                              (int)(len > ml ? (len - ml > 20 ? 20 : len - ml) : 0), p + ml);
        return 0;
    }
    size_t off = 0;
    for (size_t i = 0; i < catalog_ncolumns; i++) {
        size_t cl = strlen(catalog_columns[i]);
        if (off + cl > len || memcmp(p + off, catalog_columns[i], cl) != 0 ||
            (i + 1 < catalog_ncolumns ? (off + cl >= len || p[off + cl] != '\t') : off + cl != len))
            return fs_err_set(err, FS_EFORMAT, 2,
                              "%s:2: field '%s': column header is not the version-1 columns", name,
                              catalog_columns[i]);
        off += cl + 1;
    }
    return 0;
}

/*
 * Parse buf line by line: two header lines, then entries. One scratch buffer as large
 * as the longest line holds the unescaped fields until catalog_add copies them.
 */
int catalog_parse(struct catalog *c, const char *name, const char *buf, size_t len,
                  struct fs_err *err)
{
    struct line_ctx lc = { name, 0 };
    char *scratch = NULL;
    size_t scap = 0;
    int rc = 0;
    size_t pos = 0;
    while (pos < len && rc == 0) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        const char *p = buf + pos;
        pos += ll + (nl != NULL);
        lc.lineno++;
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (lc.lineno <= 2) {
            rc = check_header(p, ll, lc.lineno, name, err);
            continue;
        }
        if (ll == 0 || p[0] == '#')
            continue;
        if (ll + 16 > scap) {
            scap = ll + 16;
            scratch = xrealloc(scratch, scap);
        }
        rc = parse_line(c, p, ll, scratch, &lc, err);
    }
    if (rc == 0 && lc.lineno < 2)
        rc = fs_err_set(err, FS_EFORMAT, (long long)lc.lineno + 1,
                        "%s:%zu: field 'header': missing catalogue header", name, lc.lineno + 1);
    free(scratch);
    return rc;
}

/* Read, parse and sort one catalogue file. */
int catalog_load(struct catalog *c, const char *path, struct fs_err *err)
{
    char *buf;
    size_t len;
    int rc = catalog_read_file(path, (size_t)1 << 32, &buf, &len, err);
    if (rc)
        return rc;
    rc = catalog_parse(c, path, buf, len, err);
    free(buf);
    catalog_sort(c);
    return rc;
}

/* Write s with the format's escapes. */
static void put_escaped(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\t':
            fputs("\\t", fp);
            break;
        case '\n':
            fputs("\\n", fp);
            break;
        case '\r':
            fputs("\\r", fp);
            break;
        case '\\':
            fputs("\\\\", fp);
            break;
        default:
            fputc(*s, fp);
        }
    }
}

/* Write the header lines and every entry, escaped. */
int catalog_write(const struct catalog *c, FILE *fp)
{
    fprintf(fp, "%s 1\n", magic_line);
    for (size_t i = 0; i < catalog_ncolumns; i++)
        fprintf(fp, "%s%c", catalog_columns[i], i + 1 < catalog_ncolumns ? '\t' : '\n');
    for (size_t i = 0; i < c->n; i++) {
        const struct cat_entry *e = &c->e[i];
        const char *s[7] = { e->name, e->product, e->version, e->arch, e->os, e->url, e->digest };
        fprintf(fp, "%llu", (unsigned long long)e->size);
        for (int k = 0; k < 7; k++) {
            fputc('\t', fp);
            put_escaped(fp, s[k]);
        }
        fprintf(fp, "\t%s\t%llu\n", catalog_source_name(e->source), (unsigned long long)e->spread);
    }
    if (fflush(fp) != 0 || ferror(fp))
        return -(errno ? errno : EIO);
    return 0;
}
