/*
 * IPFIX over TCP (RFC 7011 section 10.4): a byte stream of messages, each framed by
 * the length field of its 16-byte header. A pure function over a buffer, so the
 * framing is fuzzed on its own (fuzz/fuzz_tcp_frame.c) apart from sockets.
 */
#ifndef FS_COLLECTOR_TCP_FRAME_H
#define FS_COLLECTOR_TCP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TCP_FRAME_HDR 16 /* the IPFIX message header; a length below it cannot frame */

enum tcp_frame_err {
    TCP_FRAME_NOT_IPFIX = -1,  /* a header whose version is not 10 */
    TCP_FRAME_BAD_LENGTH = -2, /* a length below the header's 16 bytes */
};

/*
 * Call fn for every whole message at the start of buf[0..len), in order. Returns the
 * bytes taken (the rest is the start of a message still arriving: keep it and read on),
 * or a tcp_frame_err once a header cannot frame; the messages before it were given.
 */
long tcp_frames(const uint8_t *buf, size_t len,
                void (*fn)(void *ctx, const uint8_t *msg, size_t mlen), void *ctx);

#endif
