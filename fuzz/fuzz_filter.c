/*
 * libFuzzer target: filter text through filter_compile; a compiled filter is run on a
 * few fixed records (IPv4 and IPv6, zero and busy) and dumped to /dev/null, then freed.
 * Any input must give a program or an error with a position inside the text: never a
 * crash, a hang, a leak or undefined behaviour. Seeds: fuzz/corpus/filter/, one file
 * per expression of the tests/filter/ case files.
 */
#include "core/fmt.h"
#include "query/filter.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* `in @FILE` would open whatever path the fuzzer writes (/dev/stdin blocks). */
int LLVMFuzzerInitialize(
    int *argc, char ***argv) // NOLINT(readability-non-const-parameter): libFuzzer's signature
{
    (void)argc;
    (void)argv;
    filter_allow_set_files(0);
    return 0;
}

static void make_records(struct flow r[3])
{
    int v;
    memset(r, 0, 3 * sizeof(*r));
    parse_addr("10.1.2.3", r[0].src, &v);
    parse_addr("192.168.0.1", r[0].dst, &v);
    r[0].ipver = 4;
    r[0].proto = 6;
    r[0].sport = 50000;
    r[0].dport = 80;
    r[0].bytes = 1500;
    r[0].rbytes = 2000000;
    r[0].packets = 10;
    r[0].flags = 0x1b;
    r[0].first = 1700000000000ULL;
    r[0].last = 1700000012345ULL;
    parse_addr("2001:db8::1", r[1].src, &v);
    parse_addr("2001:db8::2", r[1].dst, &v);
    parse_addr("192.0.2.1", r[1].exporter, &v);
    r[1].ipver = 6;
    r[1].proto = 17;
    r[1].dport = 53;
    r[1].vlan = 10;
    r[1].exchange = 2;
    r[1].last = 5; /* last before first: duration 0 */
    r[1].first = 9;
    r[2].ipver = 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    static struct flow recs[3];
    if (!devnull) {
        devnull = fopen("/dev/null", "w");
        make_records(recs);
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct filter *f = NULL;
    struct fs_err err = { 0 };
    if (filter_compile(text, &f, &err) == 0) {
        for (int i = 0; i < 3; i++)
            (void)filter_match(f, &recs[i]);
        if (devnull)
            filter_dump(f, devnull);
        filter_free(f);
    } else if (err.pos < 0 || (size_t)err.pos > strlen(text) || !err.msg[0]) {
        abort(); /* an error must say where and what */
    }
    free(text);
    return 0;
}
