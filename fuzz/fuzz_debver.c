/*
 * libFuzzer target: Debian version comparison (src/detect/debver.c) on hostile strings.
 * The input is split at its first NUL (or its middle) into two versions a and b; any
 * bytes must compare without reading past the end, and the order must be antisymmetric
 * (a < b exactly when b > a) and reflexive (a = a). Bad versions have no meaning, but
 * never a crash.
 */
#include "detect/debver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t cut = nul ? (size_t)(nul - data) : size / 2;
    char *a = malloc(cut + 1), *b = malloc(size - cut + 1);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memcpy(a, data, cut);
    a[cut] = '\0';
    size_t bl = size - cut - (nul != NULL);
    memcpy(b, data + cut + (nul != NULL), bl);
    b[bl] = '\0';
    if (sign(debver_cmp(a, b)) != -sign(debver_cmp(b, a)) || debver_cmp(a, a) != 0 ||
        debver_cmp(b, b) != 0)
        abort();
    free(a);
    free(b);
    return 0;
}
