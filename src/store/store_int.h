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
#define STORE_VERSION     3 /* what the writer writes: 2 + the firewall/NAT columns */
#define STORE_VERSION_MIN 1 /* the oldest the reader reads: every plane stored */
#define STORE_FLAG_STREAM 0x01u

/* Byte planes of a record at most: fields do not overlap, so their sizes add up to no
 * more than the struct. A v2 block's plane map has ceil(planes / 8) bytes. */
#define STORE_MAX_PLANES    sizeof(struct flow)
#define STORE_MAP_LEN(p)    (((size_t)(p) + 7) / 8)
#define STORE_MAP_BIT(m, p) ((m)[(p) / 8] >> ((p) % 8) & 1)

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
 * Parse and validate a block header (40 untrusted bytes) of a file of the given version
 * whose records have recbytes bytes (= planes): magic, codec, zero padding, record cap,
 * raw_len (v1: nrecords * recbytes; v2: a whole number of planes, at most all of them),
 * comp_len within bounds for the codec (v2: plane map and constants included), an end
 * block all zero. blockno and off label the error. Returns 0 or FS_ECORRUPT.
 */
int store_bhdr_parse(const uint8_t *p, struct store_bhdr *b, uint16_t version, size_t recbytes,
                     const char *name, uint64_t blockno, uint64_t off, struct fs_err *err);

/*
 * A v2 block payload's head: the plane map and the constants of the clear bits
 * (store.h), then the codec part. Filled by store_payload_parse.
 */
struct store_payload {
    const uint8_t *map;    /* STORE_MAP_LEN(planes) bytes; v1: NULL (every plane stored) */
    const uint8_t *consts; /* one byte per constant plane, in plane order */
    const uint8_t *part;   /* the codec part */
    size_t part_len;
    size_t nstored; /* set bits: raw_len / nrecords */
};

/*
 * Split the payload of a block that passed store_bhdr_parse (and its crc): v1 is all
 * codec part; v2 checks the map (no bit at or beyond planes, popcount * nrecords ==
 * raw_len) and that map and constants fit comp_len. Returns NULL, or what is wrong.
 */
const char *store_payload_parse(const uint8_t *payload, const struct store_bhdr *b,
                                uint16_t version, size_t planes, struct store_payload *out);

/*
 * The writer's pass over a block before shuffling: map (STORE_MAP_LEN of every plane of
 * all nfields columns) gets a bit per plane that varies over records 0..n-1, val[p] the
 * value of plane p in record 0 (the constant of a clear bit). Returns the set bits.
 */
size_t store_plane_map(const struct flow *f, size_t n, uint8_t *map, uint8_t *val);

/*
 * Shuffle n records into raw: the planes whose bit is set in map (every plane of every
 * column when map is NULL), one after the other in plane order, n bytes each.
 */
void store_shuffle(const struct flow *f, size_t n, const uint8_t *map, uint8_t *raw);

/* Bit p of a plane bitset (struct store_planes, struct store_known). */
#define STORE_PSET_WORDS     ((STORE_MAX_PLANES + 63) / 64)
#define STORE_PSET_BIT(a, p) ((a)[(p) / 64] >> ((p) % 64) & 1)

/*
 * A block's byte planes for the unshuffle, in raw column order: plane[p] points at byte
 * plane p of records 0..n-1 (into the decoded planes, the shared store_zero_plane or a
 * buffer filled with a constant). konst bit p: plane p holds plane[p][0] in every
 * record (from a v2 plane map, or found by store_planes_flat). Fields beyond ncolumns
 * are zero.
 */
struct store_planes {
    const uint8_t *plane[STORE_MAX_PLANES];
    uint64_t konst[STORE_PSET_WORDS];
    uint32_t ncolumns;
};

/* STORE_MAX_BLOCK_RECORDS zero bytes, never written: a constant-zero plane of any block. */
extern const uint8_t *const store_zero_plane;

/* The planes of a buffer holding every plane of the first ncolumns columns, n bytes
 * each (a v1 block, a full shuffle); each is looked at to find the constant ones. */
void store_planes_flat(struct store_planes *pl, const uint8_t *raw, size_t n, uint32_t ncolumns);

/* 1 when the n bytes at p are all one value. */
int store_plane_is_const(const uint8_t *p, size_t n);

/*
 * What an unshuffle target out[0..n) is known to hold: bit p of known = byte plane p
 * (numbered over every field) is val[p] in each of those records. A zeroed struct
 * (fresh or reallocated out) knows nothing.
 */
struct store_known {
    uint64_t known[STORE_PSET_WORDS];
    uint8_t val[STORE_MAX_PLANES];
    size_t n;
};

/*
 * Unshuffle records r0..r0+m of the block pl into out[0..m). With z, bytes that a
 * constant plane would write and that z says out already holds are not written: a
 * column constant in both blocks is skipped, and of a column with constant and stored
 * planes (an IPv4-mapped address, a time) only the bytes around the stored ones are
 * unshuffled. z is updated for the next call into the same out; z = NULL: every byte is
 * written. Bytes of out that belong to no field are left as they were (the caller
 * keeps them zero).
 */
void store_unshuffle_planes(const struct store_planes *pl, size_t r0, size_t m, struct flow *out,
                            struct store_known *z);

/* Unshuffle n records of a buffer holding every plane of the first ncolumns columns
 * (store_planes_flat) into out[n], every byte. */
void store_unshuffle(const uint8_t *raw, size_t n, uint32_t ncolumns, struct flow *out);

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
