/*
 * libFuzzer target: one nfdump file in memory through nfdump_decode_buf. Hostile input
 * must end in an error code or skipped blocks, never a crash, a leak, a hang or
 * undefined behaviour.
 *
 * A layout 2 input is decoded once as it is and once more under each other codec
 * (the header's compression byte rewritten), so that mutations of one seed reach every
 * decompressor and the size checks around it. Seeds in fuzz/corpus/nfdump: nfcapd
 * 1.7.1 files (none, LZO, LZ4, bz2), a zstd and a 1.6 file built from the documented
 * layout, and two hostile copies.
 */
#include "store/nfdump_file.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int touch(void *ctx, const struct flow *f)
{
    /* Read the record so sanitizers see every byte the decoder produced. */
    uint64_t *sum = ctx;
    const uint8_t *p = (const uint8_t *)f;
    for (size_t i = 0; i < sizeof(*f); i++)
        *sum += p[i];
    return 0;
}

static void quiet(void *ctx, const char *msg)
{
    uint64_t *sum = ctx;
    *sum += strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t sum = 0;
    struct nfd_sink s = { touch, quiet, &sum };
    struct nfd_stats st = { 0 };
    struct fs_err e;
    (void)nfdump_decode_buf(data, size, "fuzz", &s, &st, &e);
    if (size < 40 || data[2] != 2)
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    for (uint8_t codec = 0; codec <= 4; codec++) {
        if (codec == data[16])
            continue;
        copy[16] = codec;
        (void)nfdump_decode_buf(copy, size, "fuzz", &s, &st, &e);
    }
    free(copy);
    return 0;
}
