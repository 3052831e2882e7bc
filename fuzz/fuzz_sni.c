/*
 * libFuzzer target for the server-name parsers (src/meter/sni.h): any bytes as the
 * first bytes of a client's TCP stream. sni_find must return a value of the enum, never
 * crash, hang or read past the input (the input is copied into a buffer of exactly its
 * size, so the replay under ASan, fuzz/regress.c, catches a one-byte over-read); a
 * FOUND name must be 1..FS_SNI_MAX bytes of the kept alphabet, NUL-padded. The same
 * bytes also go through sni_segment cut into up to three segments at offsets the
 * input's first bytes choose, as the meter feeds them.
 * Seeds: fuzz/corpus/sni/ (ClientHellos of openssl s_client and curl, HTTP requests,
 * and the hand-built hostile inputs of tests/unit/test_sni.c).
 */
#include "meter/sni.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *name)
{
    size_t n = strnlen(name, FS_SNI_MAX);
    if (n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'))
            abort();
    }
    for (size_t i = n; i < FS_SNI_MAX; i++)
        if (name[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    char out[FS_SNI_MAX];
    memset(out, 0, sizeof(out));
    size_t need = 0;
    enum sni_result r = sni_find(p, size, out, &need);
    if (r == SNI_FOUND)
        check(out);
    else if (r != SNI_NONE && r != SNI_MORE)
        abort();
    free(p);

    /* The meter's path: up to three segments, consecutive sequence numbers. */
    size_t cut1 = size ? data[0] % (size + 1) : 0, cut2 = size > 1 ? data[1] % (size + 1) : 0;
    if (cut2 < cut1) {
        size_t t = cut1;
        cut1 = cut2;
        cut2 = t;
    }
    struct sni_asm s;
    memset(&s, 0, sizeof(s));
    struct flow f;
    memset(&f, 0, sizeof(f));
    size_t at[4] = { 0, cut1, cut2, size };
    for (int i = 0; i < 3; i++) {
        size_t len = at[i + 1] - at[i];
        uint8_t *seg = malloc(len ? len : 1);
        memcpy(seg, data + at[i], len);
        sni_segment(&s, &f, seg, (uint32_t)len, (uint32_t)len, 1000u + (uint32_t)at[i]);
        free(seg);
    }
    if (f.sni[0])
        check(f.sni);
    sni_asm_free(&s);
    return 0;
}
