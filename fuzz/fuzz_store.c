/*
 * libFuzzer target: one store file in memory through store_decode_buf. Corrupt input
 * must give an error code, never a crash, a leak or undefined behaviour.
 *
 * Each input is decoded twice: as is, and with every crc recomputed. The crcs would
 * otherwise stop almost every mutation at the first check, and the fuzzer would never
 * reach the plane map checks of a version 2 block, the codecs, the size checks behind
 * them and the unshuffle. Seeds of both versions are in fuzz/corpus/store.
 */
#include "core/le.h"
#include "store/store.h"
#include "store/store_int.h"

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

/* Recompute the header crc and the crc of every block that fits in the buffer. */
static void fix_crcs(uint8_t *b, size_t n)
{
    if (n < STORE_HDR_LEN)
        return;
    put_le32(b + 60, store_crc32(0, b, 60));
    size_t off = STORE_HDR_LEN;
    while (n - off >= STORE_BHDR_LEN) {
        size_t comp = get_le32(b + off + 12);
        if (comp > n - off - STORE_BHDR_LEN)
            return;
        put_le32(b + off + 36, store_crc32(0, b + off + STORE_BHDR_LEN, comp));
        off += STORE_BHDR_LEN + comp;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t sum = 0;
    struct fs_err e;
    (void)store_decode_buf(data, size, touch, &sum, &e);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    (void)store_decode_buf(copy, size, touch, &sum, &e);
    free(copy);
    return 0;
}
