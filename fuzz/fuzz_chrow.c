/*
 * libFuzzer target: what -r clickhouse:// takes from the server and the command line
 * (src/clickhouse/rowdec.c, where.c): the RowBinary answer, fed to the row decoder in
 * chunks of sizes the input's first byte picks (rows split anywhere), and the input as a
 * filter text translated to SQL. Hostile bytes must decode or give a named error:
 * never a crash, a hang or undefined behaviour. Seeds: fuzz/corpus/chrow/.
 */
#include "clickhouse/ch.h"
#include "query/filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, const struct flow *f)
{
    uint64_t *n = ctx;
    (*n)++;
    return f->ipver != 4 && f->ipver != 6; /* the decoder lets no other through */
}

static void rows(const uint8_t *data, size_t size)
{
    uint64_t seen = 0;
    struct ch_rows d = { .flow = count, .ctx = &seen };
    struct fs_err e = { 0 };
    size_t chunk = size ? (size_t)data[0] * 7 + 1 : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk)
        rc = ch_rows_feed(&d, data + off, size - off < chunk ? size - off : chunk, &e);
    if (rc == 0)
        rc = ch_rows_end(&d, &e);
    if (rc > 0 || (rc < 0 && !e.msg[0]) || seen != d.rows)
        abort();
    if (rc == 0 && (size % CH_RROW || d.rows != size / CH_RROW))
        abort(); /* every whole row was decoded, no partial one accepted */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rows(data, size);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    filter_allow_set_files(0);
    const char *why = NULL;
    char *w = ch_where_filter(s, &why);
    if (!w == !why)
        abort(); /* either SQL or a reason */
    free(w);
    free(s);
    return 0;
}
