/*
 * The result table of every command whose rows are not flows (match, inventory, catalog,
 * stats -s, count, eval, the detectors):
 * rows of text cells printed as an aligned table, csv, tsv or json (one object a line,
 * numeric columns unquoted). The flow printer (query/output.h) prints flow records;
 * these rows are not flows.
 *
 * Ownership: rows_init on caller storage; rows_add copies the cells; rows_free frees.
 * The FILE given to rows_stream or rows_print is the caller's.
 *
 * Only the aligned table needs every row before the first line (its column widths),
 * unless the caller gives the widths (rows_stream_table); csv, tsv and json can be
 * streamed (rows_stream): each row is printed by rows_add and never held, so a
 * million-row result costs no memory. The bytes are the same.
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
    char **cells; /* n * ncols copies (none when streaming) */
    size_t n, cap;
    FILE *out;           /* rows_stream's file, NULL when buffering */
    enum rows_mode mode; /* rows_stream's mode */
    int header_done;     /* the stream's header line is out */
    size_t *widths;      /* rows_stream_table's column widths, else NULL */
};

/* Parse "table", "csv", "tsv", "json"; -1 when unknown. */
int rows_mode_parse(const char *s);

void rows_init(struct rows *r, const char *const *names, const unsigned char *numeric,
               size_t ncols);

/* After rows_init: in csv, tsv and json modes print each row to fp as rows_add is
 * called (header line before the first row) instead of holding it; rows_print then only
 * completes the output (the header when no row came) and must get the same mode and fp.
 * In table mode nothing changes: rows are held for rows_print. */
void rows_stream(struct rows *r, enum rows_mode mode, FILE *fp);

/*
 * The table streamed: each row printed by rows_add in columns of the given widths
 * (each at least its name's), for a caller that knows its widths without holding its
 * rows (count's series: a first pass over its bins). A cell wider than its column
 * shifts the rest of its line. rows_print then only prints the header of an empty
 * result and must get ROWS_TABLE and the same fp.
 */
void rows_stream_table(struct rows *r, const size_t *widths, FILE *fp);

/* Append one row of ncols cells (NULL = empty); printed at once when streaming. */
void rows_add(struct rows *r, const char *const *cells);

/* Print every held row (with a header line in table, csv and tsv modes); when streaming,
 * what is still due: the csv/tsv header of an empty result. */
void rows_print(struct rows *r, enum rows_mode mode, FILE *fp);

void rows_free(struct rows *r);

#endif
