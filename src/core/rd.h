/*
 * The one bounds-checked reader for untrusted bytes (curl's strparse idea).
 *
 * Every read advances on success; an underflow sets the sticky `err` and returns 0,
 * so a decoder reads a whole header and checks `r.err` once. Never cast packet bytes
 * to structs. The reader borrows the buffer; it owns nothing.
 */
#ifndef FS_RD_H
#define FS_RD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* one past the last byte */
    int err;            /* 1 after any read past `end` */
};

static inline struct rd rd_init(const uint8_t *p, size_t n)
{
    struct rd r = { p, p + n, 0 };
    return r;
}

static inline size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

/* A NULL p (rd_init(NULL, 0)) has end NULL too, so rd_left is 0 and the `!r->p` test
 * changes nothing; it states that for the analyzer, which cannot link p and end and
 * otherwise reports a NULL dereference after an rd_take of 0 bytes returned NULL. */
static inline int rd_need(struct rd *r, size_t n)
{
    if (r->err || rd_left(r) < n || (n && !r->p)) {
        r->err = 1;
        return 0;
    }
    return 1;
}

static inline uint8_t rd_u8(struct rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    return *r->p++;
}

static inline uint16_t rd_be16(struct rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return v;
}

static inline uint32_t rd_be32(struct rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v =
        ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return v;
}

static inline uint64_t rd_be64(struct rd *r)
{
    uint64_t hi = rd_be32(r);
    return (hi << 32) | rd_be32(r);
}

static inline uint16_t rd_le16(struct rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[0] | (r->p[1] << 8));
    r->p += 2;
    return v;
}

static inline uint32_t rd_le32(struct rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    uint32_t v = (uint32_t)r->p[0] | ((uint32_t)r->p[1] << 8) | ((uint32_t)r->p[2] << 16) |
                 ((uint32_t)r->p[3] << 24);
    r->p += 4;
    return v;
}

static inline uint64_t rd_le64(struct rd *r)
{
    uint64_t lo = rd_le32(r);
    return lo | ((uint64_t)rd_le32(r) << 32);
}

/* Copy n bytes into dst (zero-filled on underflow). */
static inline void rd_bytes(struct rd *r, void *dst, size_t n)
{
    if (!rd_need(r, n)) {
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

/* Borrow a pointer to the next n bytes and skip them; NULL on underflow. */
static inline const uint8_t *rd_take(struct rd *r, size_t n)
{
    if (!rd_need(r, n))
        return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static inline void rd_skip(struct rd *r, size_t n)
{
    if (rd_need(r, n))
        r->p += n;
}

#endif
