/*
 * Result rows of every command whose rows are not flows (rows.h).
 */
#include "rows.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

int rows_mode_parse(const char *s)
{
    static const char *const names[] = { "table", "csv", "tsv", "json" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void rows_init(struct rows *r, const char *const *names, const unsigned char *numeric, size_t ncols)
{
    memset(r, 0, sizeof(*r));
    r->names = names;
    r->numeric = numeric;
    r->ncols = ncols;
}

void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n * r->ncols; i++)
        free(r->cells[i]);
    free(r->cells);
    free(r->widths);
    memset(r, 0, sizeof(*r));
}

/* CSV cell: quoted when it holds a comma, quote or line break (RFC 4180). */
static void put_csv(FILE *fp, const char *s, char sep)
{
    if (sep == '\t') {
        for (; *s; s++)
            fputc(*s == '\t' || *s == '\n' ? ' ' : *s, fp);
        return;
    }
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* JSON string with the escapes RFC 8259 requires. */
static void put_json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

/* One table line: numeric columns right-aligned, the last column unpadded. */
static void print_table_line(const struct rows *r, const size_t *w, const char *const *cells,
                             FILE *fp)
{
    for (size_t c = 0; c < r->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        int last = c + 1 == r->ncols;
        if (r->numeric[c])
            fprintf(fp, "%*s%s", (int)w[c], s, last ? "" : "  ");
        else
            fprintf(fp, "%-*s%s", last ? 0 : (int)w[c], s, last ? "" : "  ");
    }
    fputc('\n', fp);
}

static void print_table(const struct rows *r, FILE *fp)
{
    size_t *w = xcalloc(r->ncols, sizeof(*w));
    for (size_t c = 0; c < r->ncols; c++) {
        w[c] = strlen(r->names[c]);
        for (size_t i = 0; i < r->n; i++) {
            size_t l = strlen(r->cells[i * r->ncols + c]);
            w[c] = l > w[c] ? l : w[c];
        }
    }
    print_table_line(r, w, r->names, fp);
    for (size_t i = 0; i < r->n; i++)
        print_table_line(r, w, (const char *const *)&r->cells[i * r->ncols], fp);
    free(w);
}

/* The header line of csv and tsv (json has none). */
static void print_header(const struct rows *r, enum rows_mode mode, FILE *fp)
{
    if (mode == ROWS_JSON)
        return;
    char sep = mode == ROWS_TSV ? '\t' : ',';
    for (size_t c = 0; c < r->ncols; c++)
        fprintf(fp, "%s%c", r->names[c], c + 1 < r->ncols ? sep : '\n');
}

/* One row of ncols cells (NULL = empty) as a csv or tsv line or a json object. */
static void print_row(const struct rows *r, enum rows_mode mode, const char *const *cells, FILE *fp)
{
    char sep = mode == ROWS_TSV ? '\t' : ',';
    if (mode == ROWS_JSON)
        fputc('{', fp);
    for (size_t c = 0; c < r->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        if (mode != ROWS_JSON) {
            put_csv(fp, s, sep);
            fputc(c + 1 < r->ncols ? sep : '\n', fp);
            continue;
        }
        fprintf(fp, "%s\"%s\":", c ? "," : "", r->names[c]);
        if (r->numeric[c] && *s)
            fputs(s, fp);
        else if (r->numeric[c])
            fputs("null", fp);
        else
            put_json_str(fp, s);
    }
    if (mode == ROWS_JSON)
        fputs("}\n", fp);
}

/* A stream's header line, once: before its first row, or at rows_print when none came. */
static void stream_header(struct rows *r)
{
    if (!r->header_done && r->mode == ROWS_TABLE)
        print_table_line(r, r->widths, r->names, r->out);
    else if (!r->header_done)
        print_header(r, r->mode, r->out);
    r->header_done = 1;
}

void rows_stream(struct rows *r, enum rows_mode mode, FILE *fp)
{
    if (mode == ROWS_TABLE)
        return;
    r->out = fp;
    r->mode = mode;
}

void rows_stream_table(struct rows *r, const size_t *widths, FILE *fp)
{
    r->widths = xcalloc(r->ncols, sizeof(*r->widths));
    for (size_t c = 0; c < r->ncols; c++) {
        size_t h = strlen(r->names[c]);
        r->widths[c] = widths[c] > h ? widths[c] : h;
    }
    r->out = fp;
    r->mode = ROWS_TABLE;
}

/* Print a streamed row at once; else copy the cells so callers may pass stack buffers. */
void rows_add(struct rows *r, const char *const *cells)
{
    if (r->out) {
        stream_header(r);
        if (r->mode == ROWS_TABLE)
            print_table_line(r, r->widths, cells, r->out);
        else
            print_row(r, r->mode, cells, r->out);
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->cells = xrealloc(r->cells, r->cap * r->ncols * sizeof(*r->cells));
    }
    for (size_t i = 0; i < r->ncols; i++)
        r->cells[r->n * r->ncols + i] = xstrdup(cells[i] ? cells[i] : "");
    r->n++;
}

/* Header plus rows in the chosen mode; for a stream only the header still due. */
void rows_print(struct rows *r, enum rows_mode mode, FILE *fp)
{
    if (r->out) {
        stream_header(r);
        return;
    }
    if (mode == ROWS_TABLE) {
        print_table(r, fp);
        return;
    }
    print_header(r, mode, fp);
    for (size_t i = 0; i < r->n; i++)
        print_row(r, mode, (const char *const *)&r->cells[i * r->ncols], fp);
}
