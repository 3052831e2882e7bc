#include "tcp_frame.h"

long tcp_frames(const uint8_t *buf, size_t len,
                void (*fn)(void *ctx, const uint8_t *msg, size_t mlen), void *ctx)
{
    size_t off = 0;
    /* The version and length are the header's first 4 bytes: judge as soon as they came. */
    while (len - off >= 4) {
        const uint8_t *m = buf + off;
        size_t mlen = ((size_t)m[2] << 8) | m[3];
        if (m[0] != 0 || m[1] != 10)
            return TCP_FRAME_NOT_IPFIX;
        if (mlen < TCP_FRAME_HDR)
            return TCP_FRAME_BAD_LENGTH;
        if (len - off < mlen)
            break;
        fn(ctx, m, mlen);
        off += mlen;
    }
    return (long)off;
}
