/*
 * libFuzzer target: bytes as an EVE file through eve_read (lines split as a file is),
 * then the index and a join of every kept alert's own connection and time, and the
 * skip summary. Any input must be kept, counted as other or skipped with a reason:
 * never a crash, a hang, a leak or undefined behaviour. Seeds: fuzz/corpus/eve/ (alert,
 * flow and dns events of DNS log versions 1-3, as Suricata writes them, and broken
 * ones).
 */
#include "analytics/eve.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eve e;
    eve_init(&e);
    if (size) {
        FILE *fp = fmemopen((void *)(uintptr_t)data, size, "r");
        if (fp) {
            (void)eve_read(&e, fp);
            fclose(fp);
        }
    }
    eve_index(&e);
    unsigned long long found = 0;
    for (size_t i = 0; i < e.nalerts; i++) {
        struct eve_hit hit;
        const struct eve_alert *a = &e.alerts[i];
        found += eve_join(&e, a->cid, a->ts_ms, a->ts_ms, &hit);
        if (!hit.best || hit.n == 0)
            __builtin_trap(); /* an alert must find itself */
        (void)strlen(eve_str(&e, hit.best->signature));
    }
    for (size_t i = 0; i < e.ndns; i++)
        found += strlen(eve_str(&e, e.dns[i].rdata));
    char text[256];
    (void)eve_skips_text(&e, text, sizeof(text));
    eve_free(&e);
    return found == (unsigned long long)-1;
}
