/*
 * A small result table for the detect commands (match, inventory, catalog list/stats):
 * rows of text cells printed as an aligned table, csv, tsv or json (one object a line,
 * numeric columns unquoted). The flow printer (query/output.h) prints flow records;
 * these rows are not flows.
 *
 * Ownership: rows_init on caller storage; rows_add copies the cells; rows_free frees.
 * The FILE given to rows_print is the caller's.
 */
#ifndef FS_ROWS_H
#define FS_ROWS_H

#include <stddef.h>
#include <stdio.h>

enum rows_mode { ROWS_TABLE, ROWS_CSV, ROWS_TSV, ROWS_JSON };

struct rows {
    const char *const *names;     /* column names (caller's, static) */
    const unsigned char *numeric; /* per column: 1 = print unquoted in json */
    size_t ncols;
    char **cells; /* n * ncols copies */
    size_t n, cap;
};

/* Parse "table", "csv", "tsv", "json"; -1 when unknown. */
int rows_mode_parse(const char *s);

void rows_init(struct rows *r, const char *const *names, const unsigned char *numeric,
               size_t ncols);

/* Append one row of ncols cells (NULL = empty). */
void rows_add(struct rows *r, const char *const *cells);

/* Print every row (with a header line in table, csv and tsv modes). */
void rows_print(const struct rows *r, enum rows_mode mode, FILE *fp);

void rows_free(struct rows *r);

#endif
