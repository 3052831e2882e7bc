/*
 * libFuzzer target: bytes as an EVE file through eve_read (lines split as a file is),
 * then the index and a join of every kept alert's own connection and time, and the
 * skip summary. Any input must be kept, counted as other or skipped with a reason:
 * never a crash, a hang, a leak or undefined behaviour. Each line is also judged by
 * jansson (json_loadb, flags 0): the in-place reader (eve_json.h) must accept exactly
 * the lines jansson accepts and read the same event_type and alert.signature strings.
 * Seeds: fuzz/corpus/eve/ (alert, flow and dns events of DNS log versions 1-3, as
 * Suricata writes them, and broken ones).
 */
#include "analytics/eve.h"
#include "analytics/eve_json.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The string of member key of object o, both ways; they must agree. */
static void same_string(struct ej *j, const struct ej_obj *o, const json_t *jo, const char *key)
{
    const json_t *jv = json_is_object(jo) ? json_object_get(jo, key) : NULL;
    const char *v = o ? ej_get(o, key) : NULL;
    const char *s;
    size_t len;
    int ours = v ? ej_string(j, v, &s, &len) : -1;
    if (!json_is_string(jv)) {
        if (ours == 0)
            __builtin_trap();
        return;
    }
    if (ours != 0 || len != json_string_length(jv) || memcmp(s, json_string_value(jv), len) != 0)
        __builtin_trap();
}

/* One line: our verdict and strings against jansson's. */
static void differential(struct ej *j, const char *line, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(line, len, 0, &je);
    enum ej_verdict v = ej_line(j, line, len);
    if ((v == EJ_OK) != (root != NULL))
        __builtin_trap();
    if (root) {
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        const struct ej_obj *o = ej_object(j, 0, p);
        same_string(j, o, root, "event_type");
        const json_t *ja = json_is_object(root) ? json_object_get(root, "alert") : NULL;
        const struct ej_obj *a = o ? ej_object(j, 1, ej_get(o, "alert")) : NULL;
        if ((a != NULL) != json_is_object(ja))
            __builtin_trap();
        if (a)
            same_string(j, a, ja, "signature");
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ej j;
    ej_init(&j);
    for (size_t pos = 0; pos < size;) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
        differential(&j, (const char *)data + pos, n);
        pos += n + 1;
    }
    ej_free(&j);

    struct eve e;
    eve_init(&e);
    if (size) {
        FILE *fp = fmemopen((void *)data, size, "r");
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
