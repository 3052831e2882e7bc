/*
 * libFuzzer target: the catalogue loaders on one input. The first byte picks the
 * reader: 0 the catalogue text (version 1 or 2), 1 a Packages index (after
 * decompression by magic, so gzip/xz/lz4 framing is fuzzed too), 2 CSV import, 3 JSON
 * import, 4 a saved model (learn's model file, which must write and parse back). Bad input must
 * give an error, never a crash, a leak or undefined behaviour; a catalogue that parses must write
 * and parse back to the same number of entries.
 */
#include "detect/catalog.h"
#include "detect/catalog_json.h"
#include "detect/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void round_trip(const struct catalog *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return;
    catalog_write(c, fp);
    fclose(fp);
    struct catalog d;
    catalog_init(&d);
    struct fs_err err = { 0 };
    if (catalog_parse(&d, "rt", buf, len, &err) != 0 || d.n != c->n)
        abort();
    catalog_free(&d);
    free(buf);
}

/* A model that parses must write and parse back with the same shape. */
static void model_round_trip(const char *text, size_t n)
{
    struct model m, d;
    struct fs_err err = { 0 };
    if (model_parse(&m, "m", text, n, &err) != 0)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        abort();
    model_write(&m, fp);
    fclose(fp);
    if (model_parse(&d, "rt", buf, len, &err) != 0 || d.kind != m.kind || d.ncls != m.ncls ||
        d.tree.n != m.tree.n || d.near.n != m.near.n)
        abort();
    double x[2] = { 1e6, 1e3 };
    if (m.kind != MODEL_NEAREST && eval_tree_predict(&m.tree, x) >= m.ncls)
        abort();
    model_free(&d);
    model_free(&m);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct catalog c;
    catalog_init(&c);
    struct fs_err err = { 0 };
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0:
        if (catalog_parse(&c, "f", text, n, &err) == 0) {
            catalog_sort(&c);
            round_trip(&c);
        }
        break;
    case 1: {
        char *buf;
        size_t len;
        if (catalog_decompress(data + 1, n, 1 << 22, &buf, &len, &err) == 0) {
            size_t added, skipped;
            catalog_debian_parse(&c, "p", buf, len, "debian", NULL, NULL, &added, &skipped);
            free(buf);
            round_trip(&c);
        }
        break;
    }
    case 2:
        catalog_import_csv(&c, "c", text, n, &err);
        round_trip(&c);
        break;
    case 3:
        catalog_import_json(&c, "j", text, n, &err);
        round_trip(&c);
        break;
    default: {
        char *z = malloc(n + 1); /* model_parse wants a NUL after the text */
        if (!z)
            abort();
        memcpy(z, text, n);
        z[n] = '\0';
        model_round_trip(z, n);
        free(z);
        break;
    }
    }
    catalog_free(&c);
    return 0;
}
