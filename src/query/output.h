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

#define OUTPUT_MAX_COLS 64

struct output {
    enum output_mode mode;
    int plain; /* -N: numbers unscaled in table mode */
    const struct field *cols[OUTPUT_MAX_COLS];
    int ncols;
    FILE *fp;
    int header_done;
    unsigned long long rows;
    int werr; /* errno of the first failed write to fp, 0 = none (output_check) */
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

/* Format one field of a record as text into buf (>= 64 bytes); human: table style. */
size_t output_field(char *buf, const struct field *fd, const struct flow *f, int human);

/* The name of an IP protocol ("tcp", "udp", ...) or NULL when unnamed. */
const char *proto_name(uint8_t proto);

#endif
