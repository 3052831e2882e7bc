/*
 * Catalogue of known downloads: the arena, sort and search, and the version-1 text
 * format (catalog.h has the layout). Packages indexes and CSV import are in
 * catalog_debian.c, decompression in catalog_io.c.
 */
#include "catalog.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536

const char *const catalog_columns[] = { "size", "name", "product", "version", "arch",
                                        "os",   "url",  "digest",  "source",  "spread" };
_Static_assert(sizeof(catalog_columns) / sizeof(catalog_columns[0]) == CATALOG_NCOLUMNS,
               "CATALOG_NCOLUMNS counts catalog_columns");
const char *const catalog_columns_v2[CATALOG_NCOLUMNS_V2] = {
    "size",   "name",     "product",  "version",  "arch",   "os",
    "url",    "digest",   "source",   "spread",   "server", "n",
    "rbytes", "rpayload", "rgoodput", "overhead", "tls"
};

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

/* Start a new arena block of at least sz bytes. */
static void arena_block(struct catalog *c, size_t sz)
{
    sz = sz > ARENA_BLOCK ? sz : ARENA_BLOCK;
    c->blocks = xrealloc(c->blocks, (c->nblocks + 1) * sizeof(*c->blocks));
    c->blocks[c->nblocks++] = c->cur = xmalloc(sz);
    c->left = sz;
}

/* Copy len bytes plus a NUL into the arena; strings longer than a block get their own. */
static const char *arena_put(struct catalog *c, const char *s, size_t len)
{
    if (len + 1 > c->left)
        arena_block(c, len + 1);
    char *p = c->cur;
    memcpy(p, s, len);
    p[len] = '\0';
    c->cur += len + 1;
    c->left -= len + 1;
    return p;
}

/* A learn record in the arena, 8-byte aligned (the arena holds strings otherwise). */
static const struct cat_learn *put_learn(struct catalog *c, const struct cat_learn *l)
{
    size_t pad = (8 - ((uintptr_t)c->cur & 7)) & 7;
    if (c->left < pad + sizeof(*l)) {
        arena_block(c, ARENA_BLOCK); /* malloc'd: aligned */
        pad = 0;
    }
    c->cur += pad;
    c->left -= pad;
    struct cat_learn *d = (struct cat_learn *)(void *)c->cur;
    memcpy(d, l, sizeof(*d));
    c->cur += sizeof(*d);
    c->left -= sizeof(*d);
    return d;
}

/* a - b as a signed count, clamped to +-2^40 (hostile counters cannot overflow). */
static int64_t diff_clamp(uint64_t a, uint64_t b)
{
    const uint64_t lim = 1ULL << 40;
    if (a >= b)
        return a - b > lim ? (int64_t)lim : (int64_t)(a - b);
    return b - a > lim ? -(int64_t)lim : -(int64_t)(b - a);
}

/* Widen the catalogue's bounds on (expected payload - size) over learned entries, so
 * the matcher can find every learned window with one size range. */
static void learn_bounds(struct catalog *c, const struct cat_entry *e)
{
    const struct cat_learn *l = e->learn;
    int64_t m = cat_learn_margin(l), lo = l->oh[0] - m, hi = l->oh[1] + m;
    if (l->rpayload[1]) {
        int64_t plo = diff_clamp(l->rpayload[0], e->size) - m;
        int64_t phi = diff_clamp(l->rpayload[1], e->size) + m;
        lo = plo < lo ? plo : lo;
        hi = phi > hi ? phi : hi;
    }
    if (c->nlearned++ == 0 || lo < c->learn_lo)
        c->learn_lo = lo;
    if (c->nlearned == 1 || hi > c->learn_hi)
        c->learn_hi = hi;
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
    if (e->learn) {
        d->learn = put_learn(c, e->learn);
        learn_bounds(c, d);
    }
    if (c->n > 1 && c->e[c->n - 2].size > d->size)
        c->sorted = 0;
}

void catalog_add_import(struct catalog *c, uint64_t size, uint64_t spread,
                        const char *const text[CATALOG_NCOLUMNS])
{
    struct cat_entry e = { 0 };
    e.size = size;
    e.spread = spread;
    e.name = *text[1] ? text[1] : (*text[6] ? text[6] : "?");
    e.product = *text[2] ? text[2] : e.name;
    e.version = text[3];
    e.arch = text[4];
    e.os = text[5];
    e.url = text[6];
    e.digest = text[7];
    e.source = CAT_SRC_IMPORT;
    catalog_add(c, &e);
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
    if (r || (r = strcmp(x->os, y->os)) != 0)
        return r;
    if (!x->learn || !y->learn) /* one object learned at several servers: by server */
        return !!x->learn - !!y->learn;
    return memcmp(x->learn->server, y->learn->server, 16);
}

/* Sort by size (then name, version, arch, os) so lookups can binary-search. */
void catalog_sort(struct catalog *c)
{
    if (c->n > 1)
        qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
    c->sorted = 1;
}

/* Every column equal (the learned ones too: two rows of one server are not merged here). */
static int same_entry(const struct cat_entry *x, const struct cat_entry *y)
{
    return cmp_entry(x, y) == 0 && !x->learn && !y->learn && x->source == y->source &&
           x->spread == y->spread && strcmp(x->product, y->product) == 0 &&
           strcmp(x->url, y->url) == 0 && strcmp(x->digest, y->digest) == 0;
}

size_t catalog_clean(struct catalog *c, struct cat_dropped *d)
{
    memset(d, 0, sizeof(*d));
    catalog_sort(c);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct cat_entry *e = &c->e[i];
        int dup = 0;
        /* equal entries are adjacent in sort order, but not in url order: look back
         * over the kept ones that compare equal */
        for (size_t j = k; j > 0 && cmp_entry(&c->e[j - 1], e) == 0 && !dup; j--)
            dup = same_entry(&c->e[j - 1], e);
        if (e->size == 0)
            d->zero++;
        else if (e->size > CAT_SIZE_MAX)
            d->absurd++;
        else if (dup)
            d->dup++;
        else {
            c->e[k++] = *e;
            continue;
        }
        c->nlearned -= e->learn != NULL; /* learn_lo..hi stay: wider bounds are safe */
    }
    size_t dropped = c->n - k;
    c->n = k;
    return dropped;
}

void catalog_dropped_text(const struct cat_dropped *d, char *buf, size_t len)
{
    snprintf(buf, len,
             "%zu entries skipped: %zu of size 0, %zu above 1 TiB, %zu duplicates of an "
             "entry kept",
             d->zero + d->absurd + d->dup, d->zero, d->absurd, d->dup);
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

static const char *const source_names[] = { "debian", "import", "learned", "grab" };
#define NSOURCES (sizeof(source_names) / sizeof(source_names[0]))

/* Name of a source value, for the file format and output. */
const char *catalog_source_name(enum cat_source s)
{
    return (unsigned)s < NSOURCES ? source_names[s] : "?";
}

/* Source value of a name, -1 when unknown. */
int catalog_source_parse(const char *s)
{
    for (int i = 0; i < (int)NSOURCES; i++)
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
    int version; /* 1 or 2, from line 1 */
};

/* Decimal i64, an optional leading '-'. */
static int parse_i64(const char *s, int64_t *out)
{
    uint64_t v;
    int neg = *s == '-';
    if (parse_u64(s + neg, &v) != 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* "MIN..MAX" (or one value for both) into v[2]; empty leaves 0..0. */
static int parse_urange(const char *s, uint64_t *v)
{
    char a[24];
    const char *dots = strstr(s, "..");
    if (!*s)
        return 0;
    if (!dots)
        return parse_u64(s, &v[0]) || parse_u64(s, &v[1]) ? -1 : 0;
    if ((size_t)(dots - s) >= sizeof(a))
        return -1;
    memcpy(a, s, (size_t)(dots - s));
    a[dots - s] = '\0';
    return parse_u64(a, &v[0]) || parse_u64(dots + 2, &v[1]) || v[0] > v[1] ? -1 : 0;
}

/* The signed form of parse_urange (overhead may be negative). */
static int parse_irange(const char *s, int64_t *v)
{
    char a[24];
    const char *dots = strstr(s, "..");
    if (!*s)
        return 0;
    if (!dots)
        return parse_i64(s, &v[0]) || parse_i64(s, &v[1]) ? -1 : 0;
    if ((size_t)(dots - s) >= sizeof(a))
        return -1;
    memcpy(a, s, (size_t)(dots - s));
    a[dots - s] = '\0';
    return parse_i64(a, &v[0]) || parse_i64(dots + 2, &v[1]) || v[0] > v[1] ? -1 : 0;
}

/* The learned columns of a version-2 line, f[10..16]; *l is used when server is set.
 * Returns the index of a bad column, or 0. */
static int fill_learn(struct cat_learn *l, char **f, int *have)
{
    uint64_t n = 0, tls = 0;
    memset(l, 0, sizeof(*l));
    *have = *f[10] != '\0';
    if (*have && parse_addr(f[10], l->server, &l->ipver) != 0)
        return 10;
    if (*f[11] && (parse_u64(f[11], &n) != 0 || n > UINT32_MAX))
        return 11;
    l->n = (uint32_t)n;
    if (parse_urange(f[12], l->rbytes) != 0)
        return 12;
    if (parse_urange(f[13], l->rpayload) != 0)
        return 13;
    if (parse_urange(f[14], l->rgoodput) != 0)
        return 14;
    if (parse_irange(f[15], l->oh) != 0 || l->oh[0] < -(1LL << 40) || l->oh[1] > (1LL << 40))
        return 15;
    if (*f[16] && (parse_u64(f[16], &tls) != 0 || tls > 1000000))
        return 16;
    l->tls_ppm = (uint32_t)tls;
    if (!*have && (n || *f[12] || *f[13] || *f[14] || *f[15] || *f[16]))
        return 10; /* observations without a server */
    return 0;
}

/* Fill one entry (and *l for a learned one) from the unescaped fields f[]. */
static int fill_entry(struct cat_entry *e, struct cat_learn *l, char **f, const struct line_ctx *lc,
                      struct fs_err *err)
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
                          "%s:%zu: field 'source': '%.40s' is not debian, import, learned or grab",
                          lc->name, lc->lineno, f[8]);
    e->source = (enum cat_source)src;
    if (parse_u64(f[9], &e->spread) != 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field 'spread': not a decimal byte count: '%.40s'", lc->name,
                          lc->lineno, f[9]);
    if (!*e->name)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno, "%s:%zu: field 'name': empty",
                          lc->name, lc->lineno);
    int have = 0, bad = lc->version == 2 ? fill_learn(l, f, &have) : 0;
    if (bad)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field '%s': bad value '%.40s'", lc->name, lc->lineno,
                          catalog_columns_v2[bad], f[bad]);
    e->learn = have ? l : NULL;
    return 0;
}

/* Split one data line (no newline) into fields, unescape them into scratch, add. */
static int parse_line(struct catalog *c, const char *p, size_t len, char *scratch,
                      const struct line_ctx *lc, struct fs_err *err)
{
    char *f[CATALOG_NCOLUMNS_V2];
    size_t nf = 0, start = 0, ncol = lc->version == 2 ? CATALOG_NCOLUMNS_V2 : CATALOG_NCOLUMNS;
    char *out = scratch;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '\t')
            continue;
        if (nf == ncol)
            return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                              "%s:%zu: field '%s': more than %zu fields", lc->name, lc->lineno,
                              catalog_columns_v2[ncol - 1], ncol);
        long n = unescape(out, p + start, i - start);
        if (n < 0)
            return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                              "%s:%zu: field '%s': bad backslash escape", lc->name, lc->lineno,
                              catalog_columns_v2[nf]);
        f[nf++] = out;
        out += n + 1;
        start = i + 1;
    }
    if (nf != ncol)
        return fs_err_set(err, FS_ECORRUPT, (long long)lc->lineno,
                          "%s:%zu: field '%s': missing (line has %zu of %zu fields)", lc->name,
                          lc->lineno, catalog_columns_v2[nf], nf, ncol);
    struct cat_entry e;
    struct cat_learn l;
    int rc = fill_entry(&e, &l, f, lc, err);
    if (rc == 0)
        catalog_add(c, &e);
    return rc;
}

/* Check the two header lines: the magic + version, then the column names. */
static int check_header(const char *p, size_t len, size_t lineno, const char *name, int *version,
                        struct fs_err *err)
{
    if (lineno == 1) {
        size_t ml = sizeof(magic_line) - 1;
        if (len < ml || memcmp(p, magic_line, ml) != 0)
            return fs_err_set(err, FS_EFORMAT, 1,
                              "%s:1: field 'header': not a flowsleuth catalogue (no '%s 1')", name,
                              magic_line);
        if (len != ml + 2 || p[ml] != ' ' || (p[ml + 1] != '1' && p[ml + 1] != '2'))
            return fs_err_set(err, FS_EVERSION, 1,
                              "%s:1: field 'header': unsupported catalogue version '%.*s'", name,
                              (int)(len > ml ? (len - ml > 20 ? 20 : len - ml) : 0), p + ml);
        *version = p[ml + 1] - '0';
        return 0;
    }
    size_t off = 0, ncol = *version == 2 ? CATALOG_NCOLUMNS_V2 : CATALOG_NCOLUMNS;
    for (size_t i = 0; i < ncol; i++) {
        size_t cl = strlen(catalog_columns_v2[i]);
        if (off + cl > len || memcmp(p + off, catalog_columns_v2[i], cl) != 0 ||
            (i + 1 < ncol ? (off + cl >= len || p[off + cl] != '\t') : off + cl != len))
            return fs_err_set(err, FS_EFORMAT, 2,
                              "%s:2: field '%s': column header is not the version-%d columns", name,
                              catalog_columns_v2[i], *version);
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
    struct line_ctx lc = { name, 0, 1 };
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
            rc = check_header(p, ll, lc.lineno, name, &lc.version, err);
            continue;
        }
        if (ll == 0 || p[0] == '#')
            continue;
        if (!scratch || ll + 16 > scap) {
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

/* "MIN..MAX", one value when they agree, nothing when not observed. */
static void put_urange(FILE *fp, const uint64_t *v)
{
    fputc('\t', fp);
    if (v[1] && v[0] == v[1])
        fprintf(fp, "%llu", (unsigned long long)v[0]);
    else if (v[1])
        fprintf(fp, "%llu..%llu", (unsigned long long)v[0], (unsigned long long)v[1]);
}

/* The learned columns of a version-2 line (empty for an entry without them). */
static void write_learn(FILE *fp, const struct cat_learn *l)
{
    char a[FMT_ADDR_MAX];
    if (!l) {
        fputs("\t\t\t\t\t\t\t\n", fp); /* seven empty learned columns */
        return;
    }
    fmt_addr(a, l->server, l->ipver);
    fprintf(fp, "\t%s\t%u", a, l->n);
    put_urange(fp, l->rbytes);
    put_urange(fp, l->rpayload);
    put_urange(fp, l->rgoodput);
    if (l->oh[0] == l->oh[1])
        fprintf(fp, "\t%lld\t", (long long)l->oh[0]);
    else
        fprintf(fp, "\t%lld..%lld\t", (long long)l->oh[0], (long long)l->oh[1]);
    if (l->tls_ppm)
        fprintf(fp, "%u", l->tls_ppm);
    fputc('\n', fp);
}

/* Write the header lines and every entry, escaped. */
int catalog_write(const struct catalog *c, FILE *fp)
{
    int v2 = c->nlearned > 0;
    size_t ncol = v2 ? CATALOG_NCOLUMNS_V2 : CATALOG_NCOLUMNS;
    fprintf(fp, "%s %d\n", magic_line, v2 ? 2 : 1);
    for (size_t i = 0; i < ncol; i++)
        fprintf(fp, "%s%c", catalog_columns_v2[i], i + 1 < ncol ? '\t' : '\n');
    for (size_t i = 0; i < c->n; i++) {
        const struct cat_entry *e = &c->e[i];
        const char *s[7] = { e->name, e->product, e->version, e->arch, e->os, e->url, e->digest };
        fprintf(fp, "%llu", (unsigned long long)e->size);
        for (int k = 0; k < 7; k++) {
            fputc('\t', fp);
            put_escaped(fp, s[k]);
        }
        fprintf(fp, "\t%s\t%llu", catalog_source_name(e->source), (unsigned long long)e->spread);
        if (v2)
            write_learn(fp, e->learn);
        else
            fputc('\n', fp);
    }
    if (fflush(fp) != 0 || ferror(fp))
        return -(errno ? errno : EIO);
    return 0;
}
