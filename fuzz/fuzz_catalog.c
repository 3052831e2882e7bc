/*
 * libFuzzer target: the catalogue loaders on one input. The first byte picks the
 * reader: 0 the version-1 catalogue text, 1 a Packages index (after decompression by
 * magic, so gzip/xz/lz4 framing is fuzzed too), 2 CSV import. Bad input must give an
 * error, never a crash, a leak or undefined behaviour; a catalogue that parses must
 * write and parse back to the same number of entries.
 */
#include "detect/catalog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct catalog c;
    catalog_init(&c);
    struct fs_err err = { 0 };
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
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
    default:
        catalog_import_csv(&c, "c", text, n, &err);
        round_trip(&c);
        break;
    }
    catalog_free(&c);
    return 0;
}
