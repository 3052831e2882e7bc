/*
 * Flow printers: table (aligned, human units), csv, tsv, json (one object a line), and
 * "fmt:f1,f2,..." (a table with the user's columns; "csv:f1,..." and "json:f1,..."
 * choose columns for those modes too). Columns and headers come from the field table.
 *
 * Ownership: output_init fills caller storage and allocates nothing to free;
 * output_finish flushes. The FILE is the caller's.
 */
#ifndef FS_OUTPUT_H
#define FS_OUTPUT_H

#include "../core/err.h"
#include "../core/fields.h"
#include "../core/flow.h"

#include <stdio.h>

enum output_mode { OUT_TABLE, OUT_CSV, OUT_TSV, OUT_JSON };

#define OUTPUT_MAX_COLS  64
#define OUTPUT_MAX_EXTRA 8

/*
 * Columns a command appends to every row, computed outside the record (print --eve: the
 * alerts joined to the flow). cells fills one row's ncols texts (NULL or "" = empty:
 * null in json); numeric columns are right-aligned in the table and unquoted in json.
 * Text cells are quoted for csv and escaped for json here.
 */
struct output_extra {
    size_t ncols; /* <= OUTPUT_MAX_EXTRA */
    const char *const *names;
    const unsigned char *numeric;
    const int *widths; /* table widths */
    void (*cells)(void *ctx, const struct flow *f, const char **out);
    void *ctx;
};

struct output {
    enum output_mode mode;
    int plain; /* -N: numbers unscaled in table mode */
    const struct field *cols[OUTPUT_MAX_COLS];
    int ncols;
    FILE *fp;
    int header_done;
    unsigned long long rows;
    int werr; /* errno of the first failed write to fp, 0 = none (output_check) */
    const struct output_extra *extra; /* set after output_init; NULL = none */
};

/* Parse a format spec ("table", "csv", "tsv", "json", "fmt:a,b", "csv:a,b", ...). */
int output_init(struct output *o, const char *spec, int plain, FILE *fp, struct fs_err *err);

/* Print one record (the header first, once). */
void output_flow(struct output *o, const struct flow *f);

/* Print the header even when no record came (so an empty CSV still has columns). */
void output_finish(struct output *o);

/*
 * Flush fp and say whether every write to it worked: 0, or -errno (EIO when unknown)
 * with err naming NAME (the output's path, e.g. "stdout") and the write. A full disk
 * or a closed pipe would otherwise end a command with status 1 and no word.
 */
int output_check(struct output *o, const char *name, struct fs_err *err);

/* The computed columns (cid, src_name, dst_name): *n of them, for --fields. */
const struct field *output_computed(size_t *n);

/* The most output_field writes, with its NUL: a passive DNS name (253) is the longest
 * text, then the --label names (8 of 31 and their '+'). */
#define OUTPUT_FIELD_MAX 320

/* Format one field of a record as text into buf (OUTPUT_FIELD_MAX bytes); human: table
 * style. */
size_t output_field(char *buf, const struct field *fd, const struct flow *f, int human);

/* 1 when JSON quotes the field's text (addresses, times, names: not numbers). */
int output_field_quoted(const struct field *fd);

/* The field as a JSON value into buf (OUTPUT_FIELD_MAX bytes): quoted where
 * output_field_quoted says; a --mmdb field escaped, null when unknown. */
size_t output_json_value(char *buf, const struct field *fd, const struct flow *f);

/* The name of an IP protocol ("tcp", "udp", ...) or NULL when unnamed. */
const char *proto_name(uint8_t proto);

#endif
