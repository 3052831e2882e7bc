/*
 * libFuzzer target for the request FIFO of split HTTP connections
 * (src/meter/requests.h): the input is a client byte stream cut into segments, each
 * described by a 4-byte header (length, bytes captured of it, a sequence step: in
 * order, a retransmission from earlier, or a gap), and units are taken between
 * segments as exchanges would be. Checked beyond memory safety: the units given out
 * plus what is left never exceed the new in-order bytes the segments carried, and
 * equal them when the stream had no gap.
 */
#include "meter/requests.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reqs r;
    memset(&r, 0, sizeof(r));
    uint32_t seq = 0x7ffffff0u; /* the stream wraps the sequence space */
    uint32_t hi = seq;          /* one past the highest byte sent */
    uint64_t fresh = 0, out = 0;
    int gap = 0, on = 0;
    while (size >= 4) {
        uint32_t len = data[0] % 200 + 1, cap = data[1] % 256;
        uint8_t how = data[2] % 8, takes = data[3] % 3;
        data += 4;
        size -= 4;
        if (len > size)
            len = (uint32_t)size;
        if (!len)
            break;
        if (cap > len)
            cap = len;
        uint32_t at = hi;
        if (how == 6 && hi - seq > 10)
            at = hi - 10; /* overlaps the last 10 bytes */
        else if (how == 7 && on) {
            at = hi + 5; /* 5 bytes never seen */
            gap = 1;
        }
        struct pkt p;
        memset(&p, 0, sizeof(p));
        p.proto = 6;
        p.seq = at;
        p.payload = len;
        p.data = data;
        p.datalen = cap;
        reqs_client(&r, &p);
        if (!on && reqs_on(&r))
            on = 1;
        if (on && (int32_t)(at + len - hi) > 0) {
            fresh += (uint32_t)(at + len - hi) - ((int32_t)(at - hi) > 0 ? (uint32_t)(at - hi) : 0);
            hi = at + len;
        }
        for (int i = 0; i < takes; i++)
            out += reqs_take(&r);
        data += len;
        size -= len;
    }
    out += reqs_rest(&r);
    if (!reqs_on(&r) && out != 0)
        abort();
    if (out > fresh || (!gap && out != fresh))
        abort();
    return 0;
}
