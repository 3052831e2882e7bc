/*
 * libFuzzer target: what the ClickHouse sink parses (src/clickhouse/): a --sink URL
 * (ch_url_parse, ch_url_say) and the server's
 * answer to the check before a resend (ch_parse_day_counts). Any input must parse or
 * give an error: never a crash, a hang or undefined behaviour. Seeds:
 * fuzz/corpus/clickhouse/ (URLs with users, IPv6 hosts, tables; answers).
 */
#include "clickhouse/ch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct ch_url u;
    struct fs_err e = { 0 };
    if (ch_url_parse(s, &u, &e) == 0) {
        char say[700];
        ch_url_say(&u, say, sizeof(say));
        if (strlen(say) >= sizeof(say) - 1)
            abort(); /* cut off: the buffer is sized for the longest URL */
    }
    uint32_t days[8];
    uint64_t counts[8];
    size_t n;
    ch_parse_day_counts(s, days, counts, 8, &n, &e);
    free(s);
    return 0;
}
