/*
 * catalog import: CSV (RFC 4180: comma separated, "quoted" fields with "" for a quote,
 * newlines allowed inside quotes) whose header row names catalogue columns.
 */
#include "catalog.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define CSV_MAX_COLS 64

struct csv {
    const char *p, *end;
    size_t line; /* current line (1-based) */
    char *fld[CSV_MAX_COLS];
    size_t nf;
    char *buf; /* unquoted text of the record's fields: never longer than the input */
};

/* Read one record into c->fld; returns 1 with a record, 0 at the end, -1 on bad quotes. */
static int csv_record(struct csv *c)
{
    if (c->p >= c->end)
        return 0;
    char *o = c->buf;
    c->nf = 0;
    c->fld[c->nf++] = o;
    while (c->p < c->end && *c->p != '\n') {
        if (*c->p == '"' && o == c->fld[c->nf - 1]) {
            for (c->p++;; c->p++) {
                if (c->p >= c->end)
                    return -1;
                if (*c->p == '"' && (c->p + 1 >= c->end || c->p[1] != '"'))
                    break;
                if (*c->p == '"')
                    c->p++;
                else if (*c->p == '\n')
                    c->line++;
                *o++ = *c->p;
            }
            c->p++;
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                return -1;
            continue;
        }
        if (*c->p == ',') {
            *o++ = '\0';
            if (c->nf == CSV_MAX_COLS)
                return -1;
            c->fld[c->nf++] = o;
        } else if (*c->p != '\r') {
            *o++ = *c->p;
        }
        c->p++;
    }
    *o = '\0';
    if (c->p < c->end)
        c->p++; /* the newline */
    return 1;
}

/* Column index per catalogue column (-1 when the CSV lacks it). */
static int map_header(const struct csv *c, int map[CATALOG_NCOLUMNS], const char *name,
                      struct fs_err *err)
{
    for (size_t i = 0; i < CATALOG_NCOLUMNS; i++)
        map[i] = -1;
    for (size_t f = 0; f < c->nf; f++)
        for (size_t i = 0; i < CATALOG_NCOLUMNS; i++)
            if (strcmp(c->fld[f], catalog_columns[i]) == 0)
                map[i] = (int)f;
    if (map[0] < 0)
        return fs_err_set(err, FS_ECORRUPT, 1, "%s:1: field 'size': no such column in the header",
                          name);
    return 0;
}

static int dec(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (unsigned)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Build an entry from one record through the header map. */
static int csv_entry(struct catalog *cat, const struct csv *c, const int map[CATALOG_NCOLUMNS],
                     size_t line, const char *name, struct fs_err *err)
{
    const char *v[CATALOG_NCOLUMNS];
    for (size_t i = 0; i < CATALOG_NCOLUMNS; i++)
        v[i] = map[i] >= 0 && (size_t)map[i] < c->nf ? c->fld[map[i]] : "";
    uint64_t size, spread = 0;
    if (dec(v[0], &size) != 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)line,
                          "%s:%zu: field 'size': not a decimal byte count: '%.40s'", name, line,
                          v[0]);
    if (*v[9] && dec(v[9], &spread) != 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)line,
                          "%s:%zu: field 'spread': not a decimal byte count: '%.40s'", name, line,
                          v[9]);
    catalog_add_import(cat, size, spread, v);
    return 0;
}

/* Parse the header, then one entry per record; the first bad record ends the import. */
int catalog_import_csv(struct catalog *cat, const char *name, const char *buf, size_t len,
                       struct fs_err *err)
{
    /* A record's unquoted fields never take more than the input plus a NUL per column. */
    struct csv c = { buf, buf + len, 1, { 0 }, 0, xmalloc(len + CSV_MAX_COLS + 1) };
    int map[CATALOG_NCOLUMNS], rc, r;
    if (csv_record(&c) <= 0) {
        free(c.buf);
        return fs_err_set(err, FS_ECORRUPT, 1, "%s:1: field 'header': missing or bad header row",
                          name);
    }
    rc = map_header(&c, map, name, err);
    while (rc == 0) {
        size_t line = ++c.line;
        r = csv_record(&c);
        if (r == 0)
            break;
        if (r < 0) {
            rc = fs_err_set(err, FS_ECORRUPT, (long long)line,
                            "%s:%zu: field '%s': bad quoting or too many columns", name, line,
                            "record");
            break;
        }
        if (c.nf == 1 && !*c.fld[0])
            continue; /* empty line */
        rc = csv_entry(cat, &c, map, line, name, err);
    }
    free(c.buf);
    return rc;
}
