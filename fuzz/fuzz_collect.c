/*
 * libFuzzer target for the collector: the input is split on the 4-byte separator
 * "FSEP" into datagrams fed, in order, to ONE collector context, so templates, options,
 * withdrawals and held data carry across datagrams as they do from a real exporter.
 * Each datagram is copied into a buffer of exactly its size so the corpus replay under
 * plain ASan (fuzz/regress.c) catches over-reads. Small caps make eviction reachable.
 */
#include "codec/datagram.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int sink(void *ctx, const struct flow *f)
{
    uint64_t *sum = ctx;
    *sum += f->bytes + f->first; /* touch the record so bad values are read */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sep[4] = { 'F', 'S', 'E', 'P' };
    struct collect_opts o = { .max_templates = 64, .max_exporters = 8, .max_held = 4 };
    struct collector *c = collector_new(&o);
    uint8_t ex[16] = { 0 };
    uint64_t sum = 0;
    size_t at = 0;
    while (at <= size) {
        size_t end = at;
        while (end + 4 <= size && memcmp(data + end, sep, 4) != 0)
            end++;
        if (end + 4 > size)
            end = size;
        size_t n = end - at;
        uint8_t *d = malloc(n ? n : 1);
        memcpy(d, data + at, n);
        ex[15] = (uint8_t)(n & 3); /* a few exporters share the template cache */
        collect_datagram(c, ex, d, n, 1700000000000ull, sink, &sum);
        free(d);
        at = end + 4;
    }
    struct collect_totals t;
    collector_totals(c, &t);
    collector_free(c);
    return (int)(sum & 0) + (int)(t.sum.records & 0);
}
