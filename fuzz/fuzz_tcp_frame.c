/*
 * libFuzzer target for IPFIX-over-TCP framing (src/collector/tcp_frame.h): the input
 * is a byte stream cut into reads of sizes taken from its first bytes, appended to a
 * 64 KiB buffer as the collector does and framed after each read. Checked beyond
 * memory safety: every message given is whole, starts with version 10 and has a length
 * of at least 16; the bytes given plus the bytes kept equal the bytes read until the
 * framing refuses a header; a full buffer always holds a whole message.
 */
#include "collector/tcp_frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF 65536

struct seen {
    const uint8_t *lo, *hi;
    size_t bytes;
};

static void on_msg(void *ctx, const uint8_t *msg, size_t mlen)
{
    struct seen *s = ctx;
    if (mlen < TCP_FRAME_HDR || msg[0] != 0 || msg[1] != 10 ||
        (((size_t)msg[2] << 8) | msg[3]) != mlen || msg < s->lo || msg + mlen > s->hi)
        abort();
    s->bytes += mlen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = ((size_t)data[0] << 8 | data[1]) % 4096 + 1;
    data += 2;
    size -= 2;
    uint8_t *buf = malloc(BUF);
    size_t have = 0, at = 0, given = 0;
    while (at < size) {
        size_t n = size - at < step ? size - at : step;
        if (n > BUF - have)
            n = BUF - have;
        memcpy(buf + have, data + at, n);
        at += n;
        have += n;
        struct seen s = { buf, buf + have, 0 };
        long took = tcp_frames(buf, have, on_msg, &s);
        if (took < 0)
            break; /* the collector closes the connection */
        if ((size_t)took != s.bytes || (size_t)took > have || (have == BUF && took == 0))
            abort();
        given += s.bytes;
        memmove(buf, buf + took, have - (size_t)took);
        have -= (size_t)took;
        if (given + have != at)
            abort();
    }
    free(buf);
    return 0;
}
