/*
 * Pieces of the store shared by the writer and the reader: codec names, CRC-32, the
 * header codecs, the column shuffle and the compression wrappers (store_int.h).
 */
#include "store_int.h"
#include "store_shuf.h"

#include "../core/fields.h"
#include "../core/fmt.h"
#include "../core/le.h"
#include "../core/rd.h"

#include <errno.h>
#include <lz4.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

/*
 * Parse "none" | "lz4" | "zstd" | "zstd:N". *level is 0 (codec default) unless a zstd
 * level is given. Returns 0 or FS_EINVAL; the outputs are untouched on error.
 */
int store_codec_parse(const char *s, enum store_codec *codec, int *level)
{
    if (!s)
        return FS_EINVAL;
    if (strcmp(s, "none") == 0 || strcmp(s, "lz4") == 0 || strcmp(s, "zstd") == 0) {
        *codec = s[0] == 'n' ? STORE_NONE : s[0] == 'l' ? STORE_LZ4 : STORE_ZSTD;
        *level = 0;
        return 0;
    }
    if (strncmp(s, "zstd:", 5) != 0 || s[5] == '\0')
        return FS_EINVAL;
    char *end;
    errno = 0;
    long v = strtol(s + 5, &end, 10);
    if (errno || *end || v == 0 || v < ZSTD_minCLevel() || v > ZSTD_maxCLevel())
        return FS_EINVAL;
    *codec = STORE_ZSTD;
    *level = (int)v;
    return 0;
}

/* ---- CRC-32, slicing by 8 ---- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <wmmintrin.h>
#define STORE_CRC_CLMUL 1

static int crc_clmul_ok;

/*
 * The bulk of a CRC-32 by carry-less multiplication (Intel, "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ", 2009; the bit-reflected constants as zlib's
 * Chromium fork uses them): four 128-bit lanes folded 64 bytes at a time, then
 * reduced to 32 bits. c is the running register (pre-inverted); n >= 64, a multiple of
 * 16. The slicing-by-8 tables below cost a sixth of a plain read; this is ~10x faster.
 */
__attribute__((target("pclmul,sse2"))) static uint32_t crc_clmul(uint32_t c, const uint8_t *p,
                                                                 size_t n)
{
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i m32 = _mm_setr_epi32(~0, 0, ~0, 0);
    __m128i x[4];
    for (int i = 0; i < 4; i++)
        x[i] = _mm_loadu_si128((const __m128i *)(p + (size_t)16 * i));
    x[0] = _mm_xor_si128(x[0], _mm_cvtsi32_si128((int)c));
    for (p += 64, n -= 64; n >= 64; p += 64, n -= 64)
        for (int i = 0; i < 4; i++) {
            __m128i lo = _mm_clmulepi64_si128(x[i], k1k2, 0x00);
            __m128i hi = _mm_clmulepi64_si128(x[i], k1k2, 0x11);
            x[i] = _mm_xor_si128(_mm_xor_si128(lo, hi),
                                 _mm_loadu_si128((const __m128i *)(p + (size_t)16 * i)));
        }
    __m128i a = x[0];
    for (int i = 1; i < 4; i++) /* fold the four lanes into one */
        a = _mm_xor_si128(
            _mm_xor_si128(_mm_clmulepi64_si128(a, k3k4, 0x00), _mm_clmulepi64_si128(a, k3k4, 0x11)),
            x[i]);
    for (; n >= 16; p += 16, n -= 16)
        a = _mm_xor_si128(
            _mm_xor_si128(_mm_clmulepi64_si128(a, k3k4, 0x00), _mm_clmulepi64_si128(a, k3k4, 0x11)),
            _mm_loadu_si128((const __m128i *)p));
    /* 128 -> 64 bits */
    a = _mm_xor_si128(_mm_srli_si128(a, 8), _mm_clmulepi64_si128(a, k3k4, 0x10));
    a = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(a, m32), k5, 0x00), _mm_srli_si128(a, 4));
    /* Barrett reduction to 32 bits */
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(a, m32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, m32), poly, 0x00);
    a = _mm_xor_si128(a, t);
    return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(a, 4));
}
#endif

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
#ifdef STORE_CRC_CLMUL
    __builtin_cpu_init();
    crc_clmul_ok = __builtin_cpu_supports("pclmul");
#endif
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

/*
 * CRC-32 as zlib computes it: carry-less multiplication where the CPU has it, else
 * slicing by 8 (byte-wise tables run at ~400 MB/s, slicing at ~1.5 GB/s).
 */
uint32_t store_crc32(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *b = p;
    uint32_t c = ~crc;
#ifdef STORE_CRC_CLMUL
    if (n >= 64 && crc_clmul_ok) {
        size_t k = n & ~(size_t)15;
        c = crc_clmul(c, b, k);
        b += k;
        n -= k;
    }
#endif
    while (n >= 8) {
        uint32_t lo = c ^ get_le32(b), hi = get_le32(b + 4);
        c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^ crc_tab[5][(lo >> 16) & 0xff] ^
            crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
            crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
        b += 8;
        n -= 8;
    }
    while (n--)
        c = crc_tab[0][(c ^ *b++) & 0xff] ^ (c >> 8);
    return ~c;
}

/* ---- headers ---- */

/* The file's first bytes, no NUL (store.h). */
static const uint8_t store_magic[4] = { 'F', 'S', 'F', 'L' };

size_t store_record_bytes(uint32_t ncolumns)
{
    size_t sum = 0;
    for (size_t i = 0; i < ncolumns && i < nfields; i++)
        sum += fields[i].size;
    return sum;
}

void store_hdr_encode(uint8_t *out, const struct store_hdr *h)
{
    memcpy(out, store_magic, sizeof(store_magic));
    put_le16(out + 4, h->version);
    out[6] = h->codec;
    out[7] = h->flags;
    put_le32(out + 8, h->header_len);
    put_le64(out + 12, h->bin_start_ms);
    put_le32(out + 20, h->bin_secs);
    put_le32(out + 24, h->nblocks);
    put_le64(out + 28, h->nrecords);
    put_le64(out + 36, h->first_min_ms);
    put_le64(out + 44, h->last_max_ms);
    put_le32(out + 52, h->ncolumns);
    put_le32(out + 56, 0);
    put_le32(out + 60, store_crc32(0, out, 60));
}

int store_hdr_parse(const uint8_t *p, size_t n, struct store_hdr *h, const char *name,
                    struct fs_err *err)
{
    if (n < 4 || memcmp(p, store_magic, sizeof(store_magic)) != 0)
        return fs_err_set(err, n < 4 ? FS_ETRUNC : FS_EFORMAT, 0,
                          "%s: not a flowsleuth store file (bad magic)", name);
    struct rd r = rd_init(p + 4, n - 4);
    h->version = rd_le16(&r);
    if (!r.err && (h->version < STORE_VERSION_MIN || h->version > STORE_VERSION))
        return fs_err_set(err, FS_EVERSION, 4, "%s: store version %u, this reader knows %u to %u",
                          name, h->version, STORE_VERSION_MIN, STORE_VERSION);
    h->codec = rd_u8(&r);
    h->flags = rd_u8(&r);
    h->header_len = rd_le32(&r);
    h->bin_start_ms = rd_le64(&r);
    h->bin_secs = rd_le32(&r);
    h->nblocks = rd_le32(&r);
    h->nrecords = rd_le64(&r);
    h->first_min_ms = rd_le64(&r);
    h->last_max_ms = rd_le64(&r);
    h->ncolumns = rd_le32(&r);
    rd_skip(&r, 4); /* reserved: a later minor revision may use it */
    uint32_t crc = rd_le32(&r);
    if (r.err)
        return fs_err_set(err, FS_ETRUNC, (long long)n, "%s: header truncated (%zu of %d bytes)",
                          name, n, STORE_HDR_LEN);
    if (crc != store_crc32(0, p, 60))
        return fs_err_set(err, FS_ECORRUPT, 60, "%s: header crc mismatch", name);
    if (h->header_len != STORE_HDR_LEN || h->codec > STORE_ZSTD ||
        h->bin_secs > STORE_MAX_BIN_SECS || h->ncolumns == 0)
        return fs_err_set(err, FS_ECORRUPT, 0, "%s: bad header field", name);
    if (h->flags & ~STORE_FLAG_STREAM)
        return fs_err_set(err, FS_EUNSUP, 7, "%s: unknown header flags 0x%x", name, h->flags);
    if (h->ncolumns > nfields)
        return fs_err_set(err, FS_EVERSION, 52, "%s: file has %u columns, this reader knows %zu",
                          name, h->ncolumns, nfields);
    return 0;
}

void store_bhdr_encode(uint8_t *out, const struct store_bhdr *b)
{
    memcpy(out, "FSBK", 4);
    put_le32(out + 4, b->nrecords);
    put_le32(out + 8, b->raw_len);
    put_le32(out + 12, b->comp_len);
    out[16] = b->codec;
    out[17] = out[18] = out[19] = 0;
    put_le64(out + 20, b->first_min_ms);
    put_le64(out + 28, b->last_max_ms);
    put_le32(out + 36, b->crc);
}

/* v1: raw_len is every plane, the payload codec(raw_len) or raw_len bytes for NONE. */
static const char *bhdr_check_v1(const struct store_bhdr *b, size_t recbytes)
{
    if ((uint64_t)b->nrecords * recbytes != b->raw_len)
        return "raw_len does not match the record count";
    if (b->codec == STORE_NONE ? b->comp_len != b->raw_len
                               : b->comp_len > store_comp_bound(b->raw_len))
        return "comp_len does not fit raw_len";
    return NULL;
}

/*
 * v2: raw_len is the stored planes (raw_len / nrecords of the recbytes), which also
 * fixes the length of the plane map and constants ahead of the codec part. With NONE
 * the codec part is raw_len bytes; a codec needs something to decode (a block without
 * stored planes is NONE).
 */
static const char *bhdr_check_v2(const struct store_bhdr *b, size_t recbytes)
{
    if (b->raw_len % b->nrecords || b->raw_len / b->nrecords > recbytes)
        return "raw_len is not a whole number of the records' planes";
    size_t head = STORE_MAP_LEN(recbytes) + recbytes - b->raw_len / b->nrecords;
    if (b->comp_len < head)
        return "plane map and constants do not fit comp_len";
    size_t part = b->comp_len - head;
    if (b->codec == STORE_NONE ? part != b->raw_len
                               : part == 0 || part > store_comp_bound(b->raw_len))
        return b->codec != STORE_NONE && b->raw_len == 0 ? "compressed block without stored planes"
                                                         : "comp_len does not fit raw_len";
    return NULL;
}

/* Everything a block header can get wrong, as a message (NULL when fine). */
static const char *bhdr_check(const struct store_bhdr *b, uint16_t version, size_t recbytes)
{
    if (b->codec > STORE_ZSTD)
        return "unknown codec";
    if (b->nrecords == 0)
        return b->raw_len || b->comp_len ? "bad end block" : NULL;
    if (b->nrecords > STORE_MAX_BLOCK_RECORDS)
        return "too many records";
    if (b->comp_len == 0 || b->comp_len > STORE_MAX_COMP_LEN)
        return "bad comp_len";
    return version < 2 ? bhdr_check_v1(b, recbytes) : bhdr_check_v2(b, recbytes);
}

int store_bhdr_parse(const uint8_t *p, struct store_bhdr *b, uint16_t version, size_t recbytes,
                     const char *name, uint64_t blockno, uint64_t off, struct fs_err *err)
{
    struct rd r = rd_init(p, STORE_BHDR_LEN);
    int magic_ok = memcmp(p, "FSBK", 4) == 0;
    rd_skip(&r, 4);
    b->nrecords = rd_le32(&r);
    b->raw_len = rd_le32(&r);
    b->comp_len = rd_le32(&r);
    b->codec = rd_u8(&r);
    int pad = rd_u8(&r) | rd_u8(&r) | rd_u8(&r);
    b->first_min_ms = rd_le64(&r);
    b->last_max_ms = rd_le64(&r);
    b->crc = rd_le32(&r);
    const char *why = !magic_ok ? "bad block magic"
                      : pad     ? "nonzero padding"
                                : bhdr_check(b, version, recbytes);
    if (why)
        return fs_err_set(err, FS_ECORRUPT, (long long)off, "%s: block %llu at offset %llu: %s",
                          name, (unsigned long long)blockno, (unsigned long long)off, why);
    return 0;
}

/* Set bits of a plane map of planes planes; *beyond = 1 when a bit at or past the
 * last plane is set. */
static size_t map_count(const uint8_t *map, size_t planes, int *beyond)
{
    size_t k = 0, len = STORE_MAP_LEN(planes);
    for (size_t i = 0; i < len; i++)
        k += (size_t)__builtin_popcount(map[i]);
    *beyond = planes % 8 && map[len - 1] >> (planes % 8);
    return k;
}

const char *store_payload_parse(const uint8_t *payload, const struct store_bhdr *b,
                                uint16_t version, size_t planes, struct store_payload *out)
{
    if (version < 2) {
        *out = (struct store_payload){ .part = payload,
                                       .part_len = b->comp_len,
                                       .nstored = b->raw_len / b->nrecords };
        return NULL;
    }
    /* store_bhdr_parse let only a whole number of planes through; checked again, as
     * this reads the payload. */
    size_t k = b->raw_len / b->nrecords, maplen = STORE_MAP_LEN(planes);
    if (b->raw_len % b->nrecords || k > planes || b->comp_len < maplen + planes - k)
        return "plane map and constants do not fit comp_len";
    int beyond;
    size_t set = map_count(payload, planes, &beyond);
    if (beyond)
        return "plane map has bits beyond the last plane";
    if (set != k)
        return "raw_len does not match the plane map";
    *out = (struct store_payload){ .map = payload,
                                   .consts = payload + maplen,
                                   .part = payload + maplen + planes - k,
                                   .part_len = b->comp_len - (maplen + planes - k),
                                   .nstored = k };
    return NULL;
}

/* ---- byte-plane shuffle ---- */

/* 1 for fields stored as byte arrays (addresses, strings), 0 for integers. */
static int is_bytes(const struct field *fd)
{
    return fd->type == FT_ADDR || fd->type == FT_EADDR || fd->type == FT_STR;
}

/*
 * A byte-array column wider than 16 bytes (sni, 64) goes through the shuffle and the
 * unshuffle as 16-byte pieces, each an address-like column of its own: the format
 * (plane b = byte b of the field) is the same, only the code that moves the planes
 * works 16 bytes at a time. Piece c of fd, c < pieces(fd).
 */
static size_t pieces(const struct field *fd)
{
    return fd->size > 16 ? ((size_t)fd->size + 15) / 16 : 1;
}

static struct field piece_of(const struct field *fd, size_t c)
{
    struct field x = *fd;
    if (fd->size > 16) {
        x.offset = (uint16_t)(fd->offset + 16 * c);
        x.size = (uint8_t)(fd->size - 16 * c < 16 ? fd->size - 16 * c : 16);
    }
    return x;
}

/* The byte of struct flow that plane b of field fd is: integers little-endian,
 * addresses byte by byte. */
static size_t plane_byte(const struct field *fd, size_t b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    if (!is_bytes(fd))
        return (size_t)fd->offset + fd->size - 1 - b;
#endif
    return (size_t)fd->offset + b;
}

#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define STORE_SHUFFLE_SIMD 1
#endif

_Static_assert(sizeof(struct flow) % 8 == 0, "vary_bytes reads the record in 8-byte words");

/*
 * acc[i] = OR over records 1..n-1 of (byte i XOR byte i of record 0): nonzero where
 * byte i of struct flow varies in the block. One pass over the records in whole
 * registers, whatever the fields are (bytes of no field are simply not looked at).
 */
static void vary_bytes(const struct flow *f, size_t n, uint8_t *acc)
{
    const uint8_t *p0 = (const uint8_t *)f;
#ifdef STORE_SHUFFLE_SIMD
    enum { NV = sizeof(struct flow) / 16, NW = sizeof(struct flow) % 16 / 8 };
    const size_t tail = (size_t)NV * 16; /* the last 8 bytes when the size is 16k + 8 */
    __m128i a[NV];
    uint64_t t = 0, t0 = 0;
    for (size_t j = 0; j < NV; j++)
        a[j] = _mm_setzero_si128();
    if (NW)
        memcpy(&t0, p0 + tail, 8);
    for (size_t r = 1; r < n; r++) {
        const uint8_t *p = p0 + r * sizeof(struct flow);
        for (size_t j = 0; j < NV; j++)
            a[j] =
                _mm_or_si128(a[j], _mm_xor_si128(_mm_loadu_si128((const __m128i *)(p + 16 * j)),
                                                 _mm_loadu_si128((const __m128i *)(p0 + 16 * j))));
        if (NW) {
            uint64_t x;
            memcpy(&x, p + tail, 8);
            t |= x ^ t0;
        }
    }
    for (size_t j = 0; j < NV; j++)
        _mm_storeu_si128((__m128i *)(acc + 16 * j), a[j]);
    if (NW)
        memcpy(acc + tail, &t, 8);
#else
    enum { NW = sizeof(struct flow) / 8 };
    uint64_t a[NW] = { 0 }, w0[NW];
    memcpy(w0, p0, sizeof(w0));
    for (size_t r = 1; r < n; r++)
        for (size_t j = 0; j < NW; j++) {
            uint64_t x;
            memcpy(&x, p0 + r * sizeof(struct flow) + 8 * j, 8);
            a[j] |= x ^ w0[j];
        }
    memcpy(acc, a, sizeof(a));
#endif
}

size_t store_plane_map(const struct flow *f, size_t n, uint8_t *map, uint8_t *val)
{
    uint8_t acc[sizeof(struct flow)];
    const uint8_t *rec0 = (const uint8_t *)f;
    vary_bytes(f, n, acc);
    memset(map, 0, STORE_MAP_LEN(store_record_bytes((uint32_t)nfields)));
    size_t p = 0, k = 0;
    for (size_t i = 0; i < nfields; i++)
        for (size_t b = 0; b < fields[i].size; b++, p++) {
            size_t at = plane_byte(&fields[i], b);
            val[p] = rec0[at];
            if (acc[at]) {
                map[p / 8] |= (uint8_t)(1u << (p % 8));
                k++;
            }
        }
    return k;
}

/* The plane map by the plain statement: a plane varies when some record's byte differs
 * from record 0's. */
size_t store_plane_map_scalar(const struct flow *f, size_t n, uint8_t *map, uint8_t *val)
{
    memset(map, 0, STORE_MAP_LEN(store_record_bytes((uint32_t)nfields)));
    size_t p = 0, k = 0;
    for (size_t i = 0; i < nfields; i++)
        for (size_t b = 0; b < fields[i].size; b++, p++) {
            size_t at = plane_byte(&fields[i], b);
            val[p] = ((const uint8_t *)&f[0])[at];
            size_t r = 1;
            while (r < n && ((const uint8_t *)&f[r])[at] == val[p])
                r++;
            if (r < n) {
                map[p / 8] |= (uint8_t)(1u << (p % 8));
                k++;
            }
        }
    return k;
}

/*
 * Where the planes of one block go: dst[p] = raw + k * n for the k-th stored plane, and
 * for a constant plane a spare plane after the stored ones (raw has room for every
 * plane), where the transposition of a field with stored and constant planes drops the
 * constant ones; fmask[i] = the stored planes of field i (a field with none is skipped).
 */
struct shuf_plan {
    uint8_t *dst[STORE_MAX_PLANES];
    uint16_t fmask[STORE_MAX_PLANES];
};

static void shuf_plan(const uint8_t *map, size_t n, uint8_t *raw, struct shuf_plan *sp)
{
    size_t planes = store_record_bytes((uint32_t)nfields), k = 0, p = 0;
    for (size_t q = 0; q < planes; q++)
        k += !map || STORE_MAP_BIT(map, q);
    uint8_t *spare = raw + k * n;
    k = 0;
    for (size_t i = 0; i < nfields; i++) {
        sp->fmask[i] = 0;
        for (size_t b = 0; b < fields[i].size; b++, p++) {
            if (map && !STORE_MAP_BIT(map, p)) {
                sp->dst[p] = spare;
                continue;
            }
            sp->dst[p] = raw + k++ * n;
            sp->fmask[i] |= (uint16_t)(1u << (b % 16)); /* wide: only "any" counts */
        }
    }
}

/* Records per shuffle tile: 64 records of struct flow stay in L1, and each byte plane
 * of a tile is one 64-byte cache line of the raw buffer. */
#define TILE 64

/*
 * Tiles go through a small local buffer: the byte planes of a column sit n bytes apart,
 * and with n a power of two they all map to one L1 set, so writing or reading them
 * record by record thrashes the cache. The local tile is transposed record by record
 * and each plane moves as one 64-byte run.
 */
typedef uint8_t tile_t[16][TILE];

/* Records r0..r1 (at most TILE) of one column: plane b (byte b of every value) to
 * dst[b] + r0. */
static void shuffle_col(const struct field *fd, const struct flow *f, size_t r0, size_t r1,
                        uint8_t *const *dst)
{
    const uint8_t *base = (const uint8_t *)f + r0 * sizeof(struct flow) + fd->offset;
    const size_t st = sizeof(struct flow), m = r1 - r0, sz = fd->size;
    tile_t t;
    if (is_bytes(fd)) {
        for (size_t r = 0; r < m; r++)
            for (size_t b = 0; b < 16 && b < sz; b++)
                t[b][r] = base[r * st + b];
    } else if (sz == 8) {
        for (size_t r = 0; r < m; r++) {
            uint64_t v;
            memcpy(&v, base + r * st, 8);
            for (size_t b = 0; b < 8; b++)
                t[b][r] = (uint8_t)(v >> (8 * b));
        }
    } else if (sz == 4) {
        for (size_t r = 0; r < m; r++) {
            uint32_t v;
            memcpy(&v, base + r * st, 4);
            for (size_t b = 0; b < 4; b++)
                t[b][r] = (uint8_t)(v >> (8 * b));
        }
    } else if (sz == 2) {
        for (size_t r = 0; r < m; r++) {
            uint16_t v;
            memcpy(&v, base + r * st, 2);
            t[0][r] = (uint8_t)v;
            t[1][r] = (uint8_t)(v >> 8);
        }
    } else {
        for (size_t r = 0; r < m; r++)
            t[0][r] = base[r * st];
    }
    for (size_t b = 0; b < sz && b < 16; b++)
        memcpy(dst[b] + r0, t[b], m);
}

#ifdef STORE_SHUFFLE_SIMD
/*
 * The shuffle in SSE2, 16 records of one column at a time. The values are loaded into
 * registers record-major (16 * sz bytes, byte b of record R at address R*sz + b), and
 * each stage splits pairs of registers into their even and odd bytes (pack
 * instructions). Read as a bit address into the 16*sz-byte matrix, one stage rotates
 * the address right by one bit, so log2(sz) stages turn R*sz + b into b*16 + R:
 * register b is then byte plane b of the 16 records, stored as one 16-byte run. The
 * scalar tile transposition it replaces was a fifth of a busy collector's time.
 */

/* One stage over k registers (2, 4 or 8): y[i] = even bytes of x[2i] x[2i+1], y[k/2+i]
 * = their odd bytes. */
static inline void deint_stage(__m128i *x, int k)
{
    const __m128i lo = _mm_set1_epi16(0x00ff);
    __m128i y[8];
    for (size_t i = 0; i < (size_t)k / 2; i++) {
        __m128i a = x[2 * i], b = x[2 * i + 1];
        y[i] = _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo));
        y[k / 2 + i] = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
    }
    for (int i = 0; i < k; i++)
        x[i] = y[i];
}

static inline __m128i ld64(const uint8_t *p)
{
    return _mm_loadl_epi64((const __m128i *)p);
}

static inline __m128i ld32(const uint8_t *p)
{
    int v;
    memcpy(&v, p, 4);
    return _mm_cvtsi32_si128(v);
}

/* 16 values of 8 bytes at src (stride st) into planes d[b] + r (b < 8). */
static void shuf8_x16(const uint8_t *src, size_t st, uint8_t *const *d, size_t r)
{
    __m128i x[8];
    for (int j = 0; j < 8; j++)
        x[j] = _mm_unpacklo_epi64(ld64(src + (size_t)(2 * j) * st),
                                  ld64(src + (size_t)(2 * j + 1) * st));
    deint_stage(x, 8);
    deint_stage(x, 8);
    deint_stage(x, 8);
    for (int b = 0; b < 8; b++)
        _mm_storeu_si128((__m128i *)(d[b] + r), x[b]);
}

/* 16 values of 4 bytes, as shuf8_x16. */
static void shuf4_x16(const uint8_t *src, size_t st, uint8_t *const *d, size_t r)
{
    __m128i x[4];
    for (int j = 0; j < 4; j++) {
        const uint8_t *p = src + (size_t)(4 * j) * st;
        __m128i a = _mm_unpacklo_epi32(ld32(p), ld32(p + st));
        __m128i b = _mm_unpacklo_epi32(ld32(p + 2 * st), ld32(p + 3 * st));
        x[j] = _mm_unpacklo_epi64(a, b);
    }
    deint_stage(x, 4);
    deint_stage(x, 4);
    for (int b = 0; b < 4; b++)
        _mm_storeu_si128((__m128i *)(d[b] + r), x[b]);
}

static inline __m128i ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return _mm_cvtsi32_si128(v);
}

/* 16 values of 2 bytes, as shuf8_x16. */
static void shuf2_x16(const uint8_t *src, size_t st, uint8_t *const *d, size_t r)
{
    __m128i x[2];
    for (int j = 0; j < 2; j++) {
        const uint8_t *p = src + (size_t)(8 * j) * st;
        __m128i q[4];
        for (int k = 0; k < 4; k++)
            q[k] = _mm_unpacklo_epi16(ld16(p + (size_t)(2 * k) * st),
                                      ld16(p + (size_t)(2 * k + 1) * st));
        x[j] = _mm_unpacklo_epi64(_mm_unpacklo_epi32(q[0], q[1]), _mm_unpacklo_epi32(q[2], q[3]));
    }
    deint_stage(x, 2);
    _mm_storeu_si128((__m128i *)(d[0] + r), x[0]);
    _mm_storeu_si128((__m128i *)(d[1] + r), x[1]);
}

/*
 * The bytes [*o, *o + *w) of a field that a transposition must cover to reach its
 * stored planes (fmask, not 0): w a power of two, within the field. On a little-endian
 * machine plane b is memory byte b, so the window can be loaded as narrower values:
 * an IPv4-mapped address is one 4-byte transposition, a time or a counter that
 * varies in its low bytes 4 or 2 instead of 8.
 */
static void col_window(unsigned fmask, size_t sz, size_t *o, size_t *w)
{
    size_t lo = (size_t)__builtin_ctz(fmask), hi = 31 - (size_t)__builtin_clz(fmask), n = 1;
    while (n < hi - lo + 1)
        n *= 2;
    *o = lo + n > sz ? sz - n : lo;
    *w = n;
}

/* Records r0..r0+m of one column (m a multiple of 16) into its planes d[b] + r; fmask
 * its stored planes: only their window of bytes is transposed. */
static void shuffle_col_simd(const struct field *fd, const struct flow *f, size_t r0, size_t m,
                             uint8_t *const *d, unsigned fmask)
{
    const size_t st = sizeof(struct flow);
    size_t o, w;
    col_window(fmask, fd->size, &o, &w);
    const uint8_t *base = (const uint8_t *)f + r0 * st + fd->offset + o;
    d += o;
    for (size_t k = 0; k < m; k += 16) {
        const uint8_t *src = base + k * st;
        size_t r = r0 + k;
        if (w == 16) {
            shuf8_x16(src, st, d, r);
            shuf8_x16(src + 8, st, d + 8, r);
        } else if (w == 8) {
            shuf8_x16(src, st, d, r);
        } else if (w == 4) {
            shuf4_x16(src, st, d, r);
        } else if (w == 2) {
            shuf2_x16(src, st, d, r);
        } else {
            for (size_t i = 0; i < 16; i++)
                d[0][r + i] = src[i * st];
        }
    }
}
#endif

/* The shuffle without SIMD: the reference the fast path is tested against. */
void store_shuffle_scalar(const struct flow *f, size_t n, const uint8_t *map, uint8_t *raw)
{
    struct shuf_plan sp;
    shuf_plan(map, n, raw, &sp);
    for (size_t r0 = 0; r0 < n; r0 += TILE) {
        size_t r1 = r0 + TILE < n ? r0 + TILE : n, p = 0;
        for (size_t i = 0; i < nfields; p += fields[i].size, i++)
            for (size_t c = 0; sp.fmask[i] && c < pieces(&fields[i]); c++) {
                struct field x = piece_of(&fields[i], c);
                shuffle_col(&x, f, r0, r1, sp.dst + p + 16 * c);
            }
    }
}

#ifdef STORE_SHUFFLE_SIMD
/* Records r0..r1 (one tile) of every column with a stored plane into sp's planes. */
static void shuffle_tile_simd(const struct flow *f, size_t r0, size_t r1,
                              const struct shuf_plan *sp)
{
    size_t m = (r1 - r0) & ~(size_t)15, p = 0;
    for (size_t i = 0; i < nfields; p += fields[i].size, i++) {
        size_t sz = fields[i].size;
        if (!sp->fmask[i])
            continue;
        if (sz == 1 || sz == 2 || sz == 4 || sz == 8 || sz == 16) {
            shuffle_col_simd(&fields[i], f, r0, m, sp->dst + p, sp->fmask[i]);
            if (r0 + m < r1)
                shuffle_col(&fields[i], f, r0 + m, r1, sp->dst + p);
            continue;
        }
        for (size_t c = 0; c < pieces(&fields[i]); c++) {
            struct field x = piece_of(&fields[i], c);
            shuffle_col(&x, f, r0, r1, sp->dst + p + 16 * c);
        }
    }
}
#endif

void store_shuffle(const struct flow *f, size_t n, const uint8_t *map, uint8_t *raw)
{
#ifdef STORE_SHUFFLE_SIMD
    /* Tile by tile, every column with a stored plane: the tile's records stay in L1
     * while their columns are cut out, and the planes of a column get whole 64-byte
     * lines. */
    struct shuf_plan sp;
    shuf_plan(map, n, raw, &sp);
    for (size_t r0 = 0; r0 < n; r0 += TILE)
        shuffle_tile_simd(f, r0, r0 + TILE < n ? r0 + TILE : n, &sp);
#else
    store_shuffle_scalar(f, n, map, raw);
#endif
}

/* The inverse of shuffle_col: records a..a+m of the planes pl[b] to the field at base
 * (of the first of them) in consecutive records. */
static void unshuffle_col(const struct field *fd, const uint8_t *const *pl, size_t a, size_t m,
                          uint8_t *base)
{
    const size_t st = sizeof(struct flow), sz = fd->size;
    tile_t t;
    for (size_t b = 0; b < sz && b < 16; b++)
        memcpy(t[b], pl[b] + a, m);
    if (is_bytes(fd)) {
        for (size_t r = 0; r < m; r++)
            for (size_t b = 0; b < 16 && b < sz; b++)
                base[r * st + b] = t[b][r];
    } else if (sz == 8) {
        for (size_t r = 0; r < m; r++) {
            uint64_t v = 0;
            for (size_t b = 0; b < 8; b++)
                v |= (uint64_t)t[b][r] << (8 * b);
            memcpy(base + r * st, &v, 8);
        }
    } else if (sz == 4) {
        for (size_t r = 0; r < m; r++) {
            uint32_t v = (uint32_t)t[0][r] | (uint32_t)t[1][r] << 8 | (uint32_t)t[2][r] << 16 |
                         (uint32_t)t[3][r] << 24;
            memcpy(base + r * st, &v, 4);
        }
    } else if (sz == 2) {
        for (size_t r = 0; r < m; r++) {
            uint16_t v = (uint16_t)(t[0][r] | t[1][r] << 8);
            memcpy(base + r * st, &v, 2);
        }
    } else if (sz == 1) {
        for (size_t r = 0; r < m; r++)
            base[r * st] = t[0][r];
    }
}

#ifdef STORE_SHUFFLE_SIMD
/*
 * The unshuffle in SSE2 (every x86-64 has it), 16 records at a time: byte planes are
 * interleaved with unpack instructions straight from the planes, without the copy
 * into a tile and the byte-by-byte assembly, which took half of a plain read. On a
 * little-endian machine plane b is memory byte b of the value, so an address (16
 * planes) is two 8-byte halves and one routine per width covers every field. Each
 * plane comes through its own pointer (decoded, zero or a constant).
 */
#define STORE_UNSHUFFLE_SIMD 1

#define LD(b)      _mm_loadu_si128((const __m128i *)(pl[b] + r))
#define ST64(k, v) _mm_storel_epi64((__m128i *)(dst + (size_t)(k)*st), (v))

/* 16 values of 8 bytes: planes pl[b], records r..r+15, to dst (stride st). */
static void unshuf8_x16(const uint8_t *const *pl, size_t r, uint8_t *dst, size_t st)
{
    __m128i a0 = _mm_unpacklo_epi8(LD(0), LD(1)), a1 = _mm_unpackhi_epi8(LD(0), LD(1));
    __m128i a2 = _mm_unpacklo_epi8(LD(2), LD(3)), a3 = _mm_unpackhi_epi8(LD(2), LD(3));
    __m128i a4 = _mm_unpacklo_epi8(LD(4), LD(5)), a5 = _mm_unpackhi_epi8(LD(4), LD(5));
    __m128i a6 = _mm_unpacklo_epi8(LD(6), LD(7)), a7 = _mm_unpackhi_epi8(LD(6), LD(7));
    /* bytes 0-3 (b*) and 4-7 (c*) of records 0-3, 4-7, 8-11, 12-15 */
    __m128i b[4] = { _mm_unpacklo_epi16(a0, a2), _mm_unpackhi_epi16(a0, a2),
                     _mm_unpacklo_epi16(a1, a3), _mm_unpackhi_epi16(a1, a3) };
    __m128i c[4] = { _mm_unpacklo_epi16(a4, a6), _mm_unpackhi_epi16(a4, a6),
                     _mm_unpacklo_epi16(a5, a7), _mm_unpackhi_epi16(a5, a7) };
    for (int q = 0; q < 4; q++) {
        __m128i lo = _mm_unpacklo_epi32(b[q], c[q]), hi = _mm_unpackhi_epi32(b[q], c[q]);
        ST64(4 * q, lo);
        ST64(4 * q + 1, _mm_unpackhi_epi64(lo, lo));
        ST64(4 * q + 2, hi);
        ST64(4 * q + 3, _mm_unpackhi_epi64(hi, hi));
    }
}

/* 16 values of 4 or 2 bytes (sz), as unshuf8_x16. */
static void unshuf42_x16(const uint8_t *const *pl, size_t r, uint8_t *dst, size_t st, size_t sz)
{
    __m128i a0 = _mm_unpacklo_epi8(LD(0), LD(1)), a1 = _mm_unpackhi_epi8(LD(0), LD(1));
    union {
        __m128i v[4];
        uint8_t b[64];
    } u;
    if (sz == 2) {
        u.v[0] = a0;
        u.v[1] = a1;
    } else {
        __m128i a2 = _mm_unpacklo_epi8(LD(2), LD(3)), a3 = _mm_unpackhi_epi8(LD(2), LD(3));
        u.v[0] = _mm_unpacklo_epi16(a0, a2);
        u.v[1] = _mm_unpackhi_epi16(a0, a2);
        u.v[2] = _mm_unpacklo_epi16(a1, a3);
        u.v[3] = _mm_unpackhi_epi16(a1, a3);
    }
    /* Constant sizes: a memcpy of a variable size compiles to a loop per record. */
    if (sz == 2)
        for (size_t k = 0; k < 16; k++)
            memcpy(dst + k * st, u.b + 2 * k, 2);
    else
        for (size_t k = 0; k < 16; k++)
            memcpy(dst + k * st, u.b + 4 * k, 4);
}

#undef LD
#undef ST64

#endif

/* Never written, so reads of it find zeros (and its untouched pages are all the one
 * zero page of the kernel). As long as the largest block a reader accepts. */
static uint8_t zero_plane[STORE_MAX_BLOCK_RECORDS];
const uint8_t *const store_zero_plane = zero_plane;

/* The planes of a column the file does not have: zero. */
static const uint8_t *const zero_col[16] = {
    zero_plane, zero_plane, zero_plane, zero_plane, zero_plane, zero_plane, zero_plane, zero_plane,
    zero_plane, zero_plane, zero_plane, zero_plane, zero_plane, zero_plane, zero_plane, zero_plane,
};

int store_plane_is_const(const uint8_t *p, size_t n)
{
    const uint64_t v = p[0] * 0x0101010101010101ull;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) { /* whole words, a chunk at a time: vectorised */
        uint64_t acc = 0;
        for (size_t k = 0; k < 64; k += 8) {
            uint64_t w;
            memcpy(&w, p + i + k, 8);
            acc |= w ^ v;
        }
        if (acc)
            return 0;
    }
    for (; i < n; i++)
        if (p[i] != p[0])
            return 0;
    return 1;
}

void store_planes_flat(struct store_planes *pl, const uint8_t *raw, size_t n, uint32_t ncolumns)
{
    size_t planes = store_record_bytes(ncolumns);
    memset(pl->konst, 0, sizeof(pl->konst));
    for (size_t p = 0; p < STORE_MAX_PLANES; p++) { /* past the columns: never read */
        pl->plane[p] = p < planes ? raw + p * n : zero_plane;
        if (p < planes && store_plane_is_const(pl->plane[p], n))
            pl->konst[p / 64] |= (uint64_t)1 << (p % 64);
    }
    pl->ncolumns = ncolumns;
}

/*
 * Records a..a+len of one column from its planes pl to base (the field in the first of
 * len consecutive records); need (not 0) = the planes that must be written. With SIMD
 * only the window of bytes around them (col_window) is unshuffled, 16 records at a time;
 * the rest of the field already holds its bytes. The tail of a tile, and every column
 * without SIMD, takes every plane.
 */
static void unshuffle_win(const struct field *fd, const uint8_t *const *pl, unsigned need, size_t a,
                          size_t len, uint8_t *base)
{
#ifdef STORE_UNSHUFFLE_SIMD
    const size_t st = sizeof(struct flow), sz = fd->size, m = len & ~(size_t)15;
    if (sz == 1 || sz == 2 || sz == 4 || sz == 8 || sz == 16) {
        size_t o, w;
        col_window(need, sz, &o, &w);
        for (size_t k = 0; k < m; k += 16) {
            uint8_t *dst = base + k * st + o;
            if (w == 16) {
                unshuf8_x16(pl, a + k, dst, st);
                unshuf8_x16(pl + 8, a + k, dst + 8, st);
            } else if (w == 8) {
                unshuf8_x16(pl + o, a + k, dst, st);
            } else if (w == 4 || w == 2) {
                unshuf42_x16(pl + o, a + k, dst, st, w);
            } else {
                for (size_t i = 0; i < 16; i++)
                    dst[i * st] = pl[o][a + k + i];
            }
        }
        if (m < len)
            unshuffle_col(fd, pl, a + m, len - m, base + m * st);
        return;
    }
#else
    (void)need;
#endif
    unshuffle_col(fd, pl, a, len, base);
}

/*
 * The planes of field i that must be written into out (bit b = plane b): the stored
 * ones, and the constant ones unless z says out[0..m) already holds their value. z, if
 * given, learns the block's constants for the next call. p = the field's first plane.
 */
static unsigned col_need(const struct store_planes *pl, int beyond, const uint8_t *const *q,
                         const struct field *fd, size_t p, size_t m, struct store_known *z)
{
    unsigned need = 0;
    for (size_t b = 0; b < fd->size && b < 16; b++) {
        size_t pp = p + b, word = pp / 64;
        uint64_t bit = (uint64_t)1 << (pp % 64);
        int k = beyond || (pl->konst[word] & bit);
        uint8_t v = k ? q[b][0] : 0;
        if (!z) {
            need |= 1u << b;
            continue;
        }
        if (!k || m > z->n || !(z->known[word] & bit) || z->val[pp] != v)
            need |= 1u << b;
        if (k) {
            z->known[word] |= bit;
            z->val[pp] = v;
        } else {
            z->known[word] &= ~bit;
        }
    }
    return need;
}

/*
 * The unshuffle with a memory of the bytes out holds: most planes of real traffic are
 * constant (zero high bytes of counters, the exporter, the ::ffff: of IPv4 addresses,
 * the high bytes of times), and a constant that out already holds from the previous
 * block needs no writing: columns constant in both blocks are skipped, and a mixed one
 * is unshuffled only over the bytes that change (4 of an IPv4-mapped address's 16).
 */
void store_unshuffle_planes(const struct store_planes *pl, size_t r0, size_t m, struct flow *out,
                            struct store_known *z)
{
    uint32_t ncolumns = pl->ncolumns < nfields ? pl->ncolumns : (uint32_t)nfields;
    /* Columns, wide ones as their 16-byte pieces (piece_of). */
    uint16_t need[STORE_MAX_PLANES];
    const uint8_t *const *cols[STORE_MAX_PLANES];
    struct field col[STORE_MAX_PLANES];
    size_t nc = 0;
    for (size_t i = 0, p = 0; i < nfields; p += fields[i].size, i++)
        for (size_t c = 0; c < pieces(&fields[i]); c++, nc++) {
            col[nc] = piece_of(&fields[i], c);
            cols[nc] = i < ncolumns ? pl->plane + p + 16 * c : zero_col;
            need[nc] = (uint16_t)col_need(pl, i >= ncolumns, cols[nc], &col[nc], p + 16 * c, m, z);
        }
    if (z)
        z->n = m;
    for (size_t a = r0; a < r0 + m; a += TILE) {
        size_t len = r0 + m - a < TILE ? r0 + m - a : TILE;
        uint8_t *tile = (uint8_t *)(out + (a - r0));
        for (size_t i = 0; i < nc; i++)
            if (need[i])
                unshuffle_win(&col[i], cols[i], need[i], a, len, tile + col[i].offset);
    }
}

void store_unshuffle(const uint8_t *raw, size_t n, uint32_t ncolumns, struct flow *out)
{
    struct store_planes pl;
    store_planes_flat(&pl, raw, n, ncolumns < nfields ? ncolumns : (uint32_t)nfields);
    store_unshuffle_planes(&pl, 0, n, out, NULL);
}

/* ---- codecs ---- */

size_t store_comp_bound(size_t raw_len)
{
    size_t a = (size_t)LZ4_compressBound((int)raw_len), z = ZSTD_compressBound(raw_len);
    return (a > z ? a : z) + 64;
}

long long store_compress(enum store_codec codec, int level, void **cctx, const uint8_t *src,
                         size_t n, uint8_t *dst, size_t cap)
{
    if (codec == STORE_LZ4) {
        int c = LZ4_compress_default((const char *)src, (char *)dst, (int)n, (int)cap);
        return c > 0 ? c : FS_ECODEC;
    }
    if (codec == STORE_ZSTD) {
        if (!*cctx)
            *cctx = ZSTD_createCCtx();
        if (!*cctx)
            return FS_ECODEC;
        /* A reused context saves zstd's per-call setup on every block. */
        size_t c = ZSTD_compressCCtx(*cctx, dst, cap, src, n, level);
        return ZSTD_isError(c) || c == 0 ? FS_ECODEC : (long long)c;
    }
    if (n > cap)
        return FS_ECODEC;
    memcpy(dst, src, n);
    return (long long)n;
}

int store_decompress(enum store_codec codec, void **dctx, const uint8_t *src, size_t comp_len,
                     uint8_t *dst, size_t raw_len)
{
    if (codec == STORE_LZ4) {
        int d = LZ4_decompress_safe((const char *)src, (char *)dst, (int)comp_len, (int)raw_len);
        return d >= 0 && (size_t)d == raw_len ? 0 : FS_ECODEC;
    }
    if (codec == STORE_ZSTD) {
        if (!*dctx)
            *dctx = ZSTD_createDCtx();
        if (!*dctx)
            return FS_ECODEC;
        size_t d = ZSTD_decompressDCtx(*dctx, dst, raw_len, src, comp_len);
        return !ZSTD_isError(d) && d == raw_len ? 0 : FS_ECODEC;
    }
    if (comp_len != raw_len)
        return FS_ECODEC;
    memcpy(dst, src, raw_len);
    return 0;
}

void store_codec_free(void *cctx, void *dctx)
{
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
}

/* ---- bin names ---- */

/*
 * "YYYY/MM/DD/flows.YYYYMMDDhhmm" of a bin start (UTC). Times beyond year 9999 have no
 * such name; the writer refuses them before asking.
 */
void store_bin_name(uint64_t bin_start_ms, char *buf, size_t len)
{
    time_t t = (time_t)(bin_start_ms / 1000);
    struct tm tm;
    if (bin_start_ms / 1000 > (uint64_t)253402300799LL || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "9999/12/31/flows.999912312359");
        return;
    }
    snprintf(buf, len, "%04d/%02d/%02d/flows.%04d%02d%02d%02d%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min);
}

/* Read exactly n digits; -1 when any is not a digit. */
static long bin_digits(const char *s, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int store_bin_parse(const char *name, uint64_t *start, uint32_t *suffix)
{
    const char *s = name;
    if (strncmp(s, "flows.", 6) != 0 || strlen(s) < 18)
        return -1;
    s += 6;
    long y = bin_digits(s, 4), mo = bin_digits(s + 4, 2), d = bin_digits(s + 6, 2),
         h = bin_digits(s + 8, 2), mi = bin_digits(s + 10, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return -1;
    s += 12;
    *suffix = 0;
    if (*s) {
        size_t n = strlen(s + 1);
        long k = n >= 1 && n <= 9 && s[0] == '.' ? bin_digits(s + 1, (int)n) : -1;
        if (k < 0)
            return -1;
        *suffix = (uint32_t)k;
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *start = ((uint64_t)days * 86400 + (uint64_t)h * 3600 + (uint64_t)mi * 60) * 1000;
    return 0;
}
