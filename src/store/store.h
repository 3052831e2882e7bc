/*
 * The embedded flow store (DESIGN.md, "The store").
 *
 * A store is a folder of time-binned files STORE/YYYY/MM/DD/flows.YYYYMMDDhhmm[.N];
 * a flow goes to the bin that holds its `last` time (as a collector would file it when
 * it ends). A single file or a stream (stdout/stdin, `-`) has the same format.
 *
 * File layout, every integer little-endian:
 *
 *   +--------------------------- file header (64 bytes) ---------------------------+
 *   | magic "FSFL" | u16 version=3 | u8 codec | u8 flags | u32 header_len=64       |
 *   | u64 bin_start_ms | u32 bin_secs | u32 nblocks | u64 nrecords                  |
 *   | u64 first_min_ms | u64 last_max_ms | u32 ncolumns | u32 reserved=0 | u32 crc32 |
 *   +------------------------------------------------------------------------------+
 *   | block header (40 bytes): magic "FSBK" | u32 nrecords | u32 raw_len |          |
 *   |   u32 comp_len | u8 codec | 3 zero bytes | u64 first_min_ms | u64 last_max_ms |
 *   |   u32 crc32 of the comp_len payload bytes                                     |
 *   | payload: comp_len bytes = plane map | constants | codec(stored planes)        |
 *   +------------------------------------------------------------------------------+
 *   | ... more blocks ...                                                          |
 *   | end block: a block header with nrecords = 0, raw_len = comp_len = 0          |
 *   +------------------------------------------------------------------------------+
 *
 * Byte planes. For each field of fields[] (src/core/fields.h) in table order, the first
 * ncolumns of them, and for each byte b of that field (little-endian byte order of an
 * integer; an address byte by byte) there is one plane: byte b of the field of every
 * record of the block, n = nrecords bytes. Planes are numbered 0 .. P-1 in that order,
 * P = the sum of the sizes of the ncolumns fields (303 for every field today, 183 in
 * version 2 files, which lack the firewall/NAT columns and sni). A column wider than
 * 16 bytes (sni) has its planes like any other; the code moves it in 16-byte pieces.
 * Grouping the bytes this way puts the many zero high bytes of counters together,
 * which LZ4 and zstd compress far better than row records. ncolumns in the header is
 * the number of fields the writer had (at least 1); a reader refuses a file with more
 * columns than it knows (version bump) and zero-fills fields the file lacks.
 *
 * Version 2 and 3 payload (3 = 2 with the firewall/NAT columns; the crc covers all
 * comp_len bytes):
 *   plane map  ceil(P / 8) bytes; bit p (byte p / 8, bit p % 8, least significant
 *              first) set = plane p is stored; bits at and beyond P are zero.
 *   constants  one byte per clear bit, in plane order: every byte of that plane is
 *              this value (a constant plane: most planes of real traffic are, zero).
 *   codec part codec(the stored planes one after the other in plane order, n bytes
 *              each); with codec NONE the stored planes as they are.
 * raw_len = (stored planes) * n, the codec part's decoded size: a multiple of n, at
 * most P * n; the map and constants take ceil(P / 8) + P - raw_len / n bytes, the codec
 * part the rest of comp_len. With codec NONE the codec part is raw_len bytes; with
 * another codec it is not empty, so a block that stores no plane (every plane constant,
 * e.g. one record) has raw_len 0 and codec NONE. A writer may store a constant plane.
 *
 * Version 1 (still read; the writer writes 3): the payload is only the codec part,
 * every plane stored, raw_len = P * n. Other versions are refused.
 *
 * A block's codec byte may be NONE in a file of another codec: the writer keeps a block
 * raw when compressing does not shrink it. crc32 is IEEE CRC-32 (zlib's); the header's
 * covers its bytes 0..59. first_min_ms / last_max_ms are the smallest `first` and the
 * largest `last` of the records (0 / 0 when there are none). bin_start_ms / bin_secs are
 * the bin of a store-folder file (bins are whole minutes, at most a day, aligned to
 * multiples of bin_secs since the epoch) and 0 / 0 in a single file or stream.
 *
 * flags bit 0 (STREAM): written to a pipe, the header counts are zero and unknown;
 * readers rely on the end block. Files on disk are written to a hidden temporary name
 * (".NAME.tmp.PID.K") and renamed into place when closed, with the header rewritten with
 * the totals, so a reader never sees a half-written file. In a store folder a bin that
 * already has a file gets NAME.1, NAME.2, ...: complete files are never replaced.
 *
 * Ownership: store_writer_open/store_reader_open allocate; store_writer_close and
 * store_reader_close free. Errors are returned as negative FS_E* codes with struct
 * fs_err naming the file and block.
 */
#ifndef FS_STORE_H
#define FS_STORE_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

enum store_codec { STORE_NONE = 0, STORE_LZ4 = 1, STORE_ZSTD = 2 };

#define STORE_BIN_SECS_DEFAULT 300
#define STORE_BLOCK_RECORDS    8192 /* records per block (writer) */

struct store_wopts {
    enum store_codec codec; /* default STORE_LZ4 */
    int level;              /* codec level, 0 = codec default */
    uint32_t bin_secs;      /* bin width for store folders, 0 = default 300 */
};

/* Parse "lz4" | "zstd" | "none" (also "zstd:N"): 0 or FS_EINVAL. */
int store_codec_parse(const char *s, enum store_codec *codec, int *level);

struct store_writer;

/*
 * Open a writer on PATH: "-" = a stream to stdout; an existing directory, or a path
 * ending in '/', = a store folder (created as needed, files per time bin); anything else
 * = one file (written to a temp name, renamed on close).
 */
int store_writer_open(struct store_writer **out, const char *path, const struct store_wopts *o,
                      struct fs_err *err);

/* Append one record. */
int store_writer_add(struct store_writer *w, const struct flow *f, struct fs_err *err);

/* Append one record to the bin of bin_ms (folder stores; collect --bin-by received).
 * FS_EINVAL: bin_ms is past year 9999; that record only, the writer stays usable. */
int store_writer_add_at(struct store_writer *w, const struct flow *f, uint64_t bin_ms,
                        struct fs_err *err);

/* Flush every open file, rename it into place, free w. Returns the first error. */
int store_writer_close(struct store_writer *w, struct fs_err *err);

struct store_ropts {
    uint64_t from_ms; /* window start (inclusive), 0 = open */
    uint64_t to_ms;   /* window end (exclusive), 0 = open */
};

/* Bit of fields[i] in a column mask (store_reader_columns). */
#define STORE_COL(i) ((uint64_t)1 << (i))

/* Every field: the mask of a reader that needs whole records. */
uint64_t store_columns_all(void);

/* The fields whose bytes overlap [offset, offset + len) of struct flow. */
uint64_t store_columns_at(size_t offset, size_t len);

struct store_reader;

/*
 * Open a reader over PATHS (each a file, a store folder read recursively in time
 * order, or "-" for stdin). A folder is listed by store_walk (store_walk.h): no symlink
 * inside it is followed, and a folder without a single bin file is an error (FS_EFORMAT,
 * "no flowsleuth flow files in DIR"): a typo or another tool's folder, not an empty
 * result. With a window, files whose bin cannot overlap it are not
 * opened, blocks whose time range misses it are not decompressed, and records outside
 * it (last < from or first >= to) are not returned.
 *
 * Blocks are decompressed and unshuffled ahead of the caller by decoder threads (one
 * less than the CPUs, at most 3; FS_READ_THREADS=0..3 in the environment overrides it),
 * while the caller reads the files in order and hands the records out in file order:
 * the result is the same with any number of threads. Only regular files are read
 * ahead; a pipe or stdin is read one block at a time, so a live stream is not held up.
 * A reader is used by one thread at a time.
 */
int store_reader_open(struct store_reader **out, const char *const *paths, size_t npaths,
                      const struct store_ropts *o, struct fs_err *err);

/*
 * Next record: returns 1 with *f pointing into the reader's block buffer (valid until
 * the next call), 0 at the end of all input, or a negative code with err naming the file
 * and block. Calling again after an error goes on with the rest, so a command can warn
 * and continue: after a bad block (crc, plane map, codec: its header still gave its
 * length) with the next block of the same file, after a bad file header, a bad block
 * header or a truncation with the next file.
 */
int store_reader_next(struct store_reader *r, const struct flow **f, struct fs_err *err);

/*
 * Next run of records, for readers that take a block at a time: returns 1 with *v
 * pointing at *n (> 0) consecutive records in the window (valid until the next call),
 * 0 at the end, or a negative code as store_reader_next. Records come in the same
 * order as from store_reader_next, and the two may be mixed: a run starts where the
 * last record handed out left off.
 */
int store_reader_next_block(struct store_reader *r, const struct flow **v, size_t *n,
                            struct fs_err *err);

/*
 * Consume the records on the threads that decode them, for order-insensitive work
 * (counting, top-N) that keeps per-thread state and merges it at the end:
 * store_reader_drain reads the whole input (or up to an error) and calls fn with
 * each decoded run of records in the window, from whichever thread decoded its block:
 * a decoder or the caller, numbered 0 .. store_reader_threads(r) - 1. Calls with
 * different thread numbers run concurrently; calls with one number never do. Runs come
 * in no particular order, and from the same blocks a sequential reader returns: a bad
 * block is skipped, the blocks after it are read, as store_reader_next does.
 *
 * Returns 0 at the end of all input, or a negative code with err naming the file and
 * block (in file order); calling again goes on with the next file. fn returning
 * nonzero asks the reader to stop early: the call then returns 0 as soon as the
 * blocks under way are done (others may still reach fn meanwhile). Use it instead of
 * store_reader_next / _next_block, from the start of the reader.
 */
size_t store_reader_threads(const struct store_reader *r);

typedef int (*store_sink_fn)(void *ctx, size_t thread, const struct flow *v, size_t n);

int store_reader_drain(struct store_reader *r, store_sink_fn fn, void *ctx, struct fs_err *err);

/*
 * Decode only the fields in mask (bit i = fields[i]; 0 or store_columns_all() = every
 * one) from now on: other fields of the records handed out may be zero. LZ4 blocks are
 * decompressed only up to the last stored plane of the last wanted column (the crc
 * still covers the whole block) and unwanted columns are not unshuffled. Call before
 * reading.
 */
void store_reader_columns(struct store_reader *r, uint64_t mask);

/* Counters for --stats. */
struct store_rstats {
    uint64_t files_opened, files_skipped, blocks_read, blocks_skipped, records, errors;
    uint64_t blocks_bad; /* blocks that failed their checks and were skipped (in errors) */
};
void store_reader_stats(const struct store_reader *r, struct store_rstats *out);

void store_reader_close(struct store_reader *r);

/*
 * Decode one whole store file held in memory (the pure core of the reader, also the
 * fuzz entry point). Calls fn for each record; stops at the first error.
 */
int store_decode_buf(const uint8_t *buf, size_t len, int (*fn)(void *ctx, const struct flow *f),
                     void *ctx, struct fs_err *err);

/* Bin path of a time for a store folder: "YYYY/MM/DD/flows.YYYYMMDDhhmm" (UTC). */
void store_bin_name(uint64_t bin_start_ms, char *buf, size_t len);

/*
 * The reverse: "flows.YYYYMMDDhhmm[.N]" (a file name, no folders) into its bin start
 * (ms) and suffix N (0 when none). Returns 0, or -1 when the name is not a bin's.
 */
int store_bin_parse(const char *name, uint64_t *start, uint32_t *suffix);

#endif
