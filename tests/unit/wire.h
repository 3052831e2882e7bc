/*
 * Building wire datagrams by hand in unit tests (NetFlow, IPFIX, sFlow are big-endian):
 * a fixed buffer, appenders, and a 16-bit length patched once the body is written.
 * Test code only; nothing checks the buffer's end (the tests' datagrams are small).
 */
#ifndef FS_TEST_WIRE_H
#define FS_TEST_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t b[4096];
    size_t n;
};

static inline void p8(struct buf *b, uint32_t v)
{
    b->b[b->n++] = (uint8_t)v;
}

static inline void p16(struct buf *b, uint32_t v)
{
    p8(b, v >> 8);
    p8(b, v);
}

static inline void p32(struct buf *b, uint32_t v)
{
    p16(b, v >> 16);
    p16(b, v);
}

static inline void p64(struct buf *b, uint64_t v)
{
    p32(b, (uint32_t)(v >> 32));
    p32(b, (uint32_t)v);
}

/* Patch a 16-bit length at `at` to cover from `from` to the end. */
static inline void patch_len(struct buf *b, size_t at, size_t from)
{
    size_t l = b->n - from;
    b->b[at] = (uint8_t)(l >> 8);
    b->b[at + 1] = (uint8_t)l;
}

#endif
