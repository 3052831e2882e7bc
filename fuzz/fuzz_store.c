/*
 * libFuzzer target: one store file in memory through store_decode_buf. Corrupt input
 * must give an error code, never a crash, a leak or undefined behaviour.
 */
#include "io/store.h"

#include <stddef.h>
#include <stdint.h>

static int touch(void *ctx, const struct flow *f)
{
    /* Read the record so sanitizers see every byte the decoder produced. */
    uint64_t *sum = ctx;
    const uint8_t *p = (const uint8_t *)f;
    for (size_t i = 0; i < sizeof(*f); i++)
        *sum += p[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t sum = 0;
    struct fs_err e;
    (void)store_decode_buf(data, size, touch, &sum, &e);
    return 0;
}
