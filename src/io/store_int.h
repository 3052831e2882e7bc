/*
 * Internals shared by store_write.c and store_read.c: the header and block header
 * codecs, CRC-32, the byte-plane shuffle of columns, and the compression wrappers.
 * The on-disk layout itself is drawn in store.h.
 *
 * Nothing here owns memory except the codec contexts (ZSTD_CCtx / ZSTD_DCtx) that the
 * compress/decompress helpers create lazily into a pointer the caller holds and frees
 * with store_codec_free().
 */
#ifndef FS_STORE_INT_H
#define FS_STORE_INT_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_HDR_LEN     64
#define STORE_BHDR_LEN    40
#define STORE_VERSION     1
#define STORE_FLAG_STREAM 0x01u

/*
 * Caps a reader applies before allocating anything: 16 times the writer's block keeps
 * room for other writers while bounding a hostile block to ~24 MB of raw columns.
 */
#define STORE_MAX_BLOCK_RECORDS (1u << 17)
#define STORE_MAX_COMP_LEN      (64u << 20)

/* Bins are whole minutes (the file name has minute resolution) up to one day (the
 * folder level), which lets a reader skip files by name alone. */
#define STORE_MAX_BIN_SECS 86400u

_Static_assert(STORE_BLOCK_RECORDS <= STORE_MAX_BLOCK_RECORDS, "writer blocks exceed reader cap");

struct store_hdr {
    uint16_t version;
    uint8_t codec;
    uint8_t flags;
    uint32_t header_len;
    uint64_t bin_start_ms;
    uint32_t bin_secs;
    uint32_t nblocks;
    uint64_t nrecords;
    uint64_t first_min_ms;
    uint64_t last_max_ms;
    uint32_t ncolumns;
};

struct store_bhdr {
    uint32_t nrecords; /* 0 = end block */
    uint32_t raw_len;
    uint32_t comp_len;
    uint8_t codec;
    uint64_t first_min_ms;
    uint64_t last_max_ms;
    uint32_t crc;
};

/* CRC-32 (IEEE, as zlib's crc32()): pass 0 to start, the previous result to go on. */
uint32_t store_crc32(uint32_t crc, const void *p, size_t n);

/* Bytes one record takes in the raw columns of a file with ncolumns columns. */
size_t store_record_bytes(uint32_t ncolumns);

/* Encode h into out[64] with the CRC of bytes 0..59 in bytes 60..63. */
void store_hdr_encode(uint8_t *out, const struct store_hdr *h);

/*
 * Parse and validate a file header from n untrusted bytes (magic, version, header_len,
 * codec, flags, ncolumns, crc). NAME only labels the error message.
 * Returns 0, FS_ETRUNC, FS_EFORMAT, FS_EVERSION, FS_EUNSUP or FS_ECORRUPT.
 */
int store_hdr_parse(const uint8_t *p, size_t n, struct store_hdr *h, const char *name,
                    struct fs_err *err);

/* Encode a block header into out[40]. */
void store_bhdr_encode(uint8_t *out, const struct store_bhdr *b);

/*
 * Parse and validate a block header (40 untrusted bytes): magic, codec, zero padding,
 * record cap, raw_len == nrecords * recbytes, comp_len within bounds for the codec,
 * an end block all zero. blockno and off label the error. Returns 0 or FS_ECORRUPT.
 */
int store_bhdr_parse(const uint8_t *p, struct store_bhdr *b, size_t recbytes, const char *name,
                     uint64_t blockno, uint64_t off, struct fs_err *err);

/* Shuffle n records into raw (n * store_record_bytes(nfields) bytes), every column. */
void store_shuffle(const struct flow *f, size_t n, uint8_t *raw);

/*
 * Unshuffle n records of a raw buffer holding the first ncolumns columns into out[n];
 * fields beyond ncolumns are zeroed. Bytes of out that belong to no field are left as
 * they were (the caller keeps them zero).
 */
void store_unshuffle(const uint8_t *raw, size_t n, uint32_t ncolumns, struct flow *out);

/* Columns known to be zero in records 0..n-1 of an unshuffle target (bit = field). */
struct store_zcols {
    uint64_t mask;
    size_t n;
};

/*
 * store_unshuffle that skips columns which are zero in raw and, per z, already zero in
 * out; z is updated for the next block into the same out. z = NULL: no skipping. A
 * zeroed z (fresh or reallocated out) knows nothing.
 */
void store_unshuffle_z(const uint8_t *raw, size_t n, uint32_t ncolumns, struct flow *out,
                       struct store_zcols *z);

/* Worst-case compressed size of raw_len bytes for any codec. */
size_t store_comp_bound(size_t raw_len);

/*
 * Compress n bytes of src into dst (cap bytes). *cctx holds a zstd context created on
 * first use. Returns the compressed length (> 0) or FS_ECODEC.
 */
long long store_compress(enum store_codec codec, int level, void **cctx, const uint8_t *src,
                         size_t n, uint8_t *dst, size_t cap);

/*
 * Decompress comp_len bytes into exactly raw_len bytes of dst; anything else (codec
 * error, short or long output) is FS_ECODEC. *dctx as for store_compress.
 */
int store_decompress(enum store_codec codec, void **dctx, const uint8_t *src, size_t comp_len,
                     uint8_t *dst, size_t raw_len);

/* Free the contexts made by store_compress / store_decompress (either may be NULL). */
void store_codec_free(void *cctx, void *dctx);

#endif
