/*
 * The catalogue of known downloads (DESIGN.md, "The download view"): one entry per
 * object that can be fetched, with its exact size in bytes and what it reveals
 * (name, product, version, arch, OS/suite) and where the entry came from.
 *
 * On-disk format (version 1), UTF-8 text, one entry a line, tab-separated:
 *
 *   #flowsleuth-catalog 1
 *   size<TAB>name<TAB>product<TAB>version<TAB>arch<TAB>os<TAB>url<TAB>digest<TAB>source<TAB>spread
 *   184620<TAB>fonts-3270<TAB>3270font<TAB>3.0.1-1<TAB>all<TAB>debian/bookworm<TAB>pool/...<TAB>sha256:...<TAB>debian<TAB>0
 *
 * The first line names the format and its version; the second is the column header,
 * exactly as above. Further lines starting with '#' and empty lines are ignored. In
 * text fields a backslash escapes: \t tab, \n newline, \r carriage return, \\ backslash;
 * any other escape is an error. size and spread are decimal (spread: observed byte
 * spread of a learned entry, 0 when none), source is debian, import, learned or grab.
 * Every parse error names the file, the line and the field.
 *
 * Version 2 (written only when some entry holds learned observations, so catalogues
 * without them stay version 1 and version-1 files load as before) appends seven
 * columns, filled by `catalog learn` from labelled lab or honeypot runs:
 *
 *   ...<TAB>spread<TAB>server<TAB>n<TAB>rbytes<TAB>rpayload<TAB>rgoodput<TAB>overhead<TAB>tls
 *
 * server is the address the downloads came from (empty: no observation), n how many
 * were observed, rbytes/rpayload/rgoodput the observed server-to-client counters as
 * MIN..MAX (empty when not observed), overhead the response overhead MIN..MAX (payload
 * the model sees minus size: HTTP header bytes, plus TLS record bytes over TLS; may be
 * negative for cut-short transfers), tls the TLS record overhead of that server in
 * parts per million of the size (empty: plain HTTP). spread is then overhead MAX - MIN.
 * One object learned at several servers has one row per server (same size, name,
 * version); the matcher treats them as one object.
 *
 * Ownership: catalog_init / catalog_free on caller storage. Entries' strings live in
 * the catalogue's own arena (one allocation per 64 KB, not per string), so a 65,000
 * entry catalogue loads in tens of milliseconds; pointers stay valid until
 * catalog_free. Entries are kept sorted by size (catalog_sort) for binary search.
 */
#ifndef FS_CATALOG_H
#define FS_CATALOG_H

#include "../core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cat_source { CAT_SRC_DEBIAN, CAT_SRC_IMPORT, CAT_SRC_LEARNED, CAT_SRC_GRAB };

/* What labelled downloads of one entry from one server looked like (format version 2). */
struct cat_learn {
    uint8_t server[16];                           /* IPv4-mapped for IPv4 */
    int ipver;                                    /* 4 or 6 */
    uint32_t n;                                   /* downloads observed */
    uint64_t rbytes[2], rpayload[2], rgoodput[2]; /* min, max; max 0 = not observed */
    int64_t oh[2];                                /* response overhead min, max */
    uint32_t tls_ppm;                             /* TLS record overhead; 0 = none */
};

struct cat_entry {
    uint64_t size;   /* bytes of the object itself (no protocol headers) */
    uint64_t spread; /* observed spread of a learned entry, 0 when none */
    const char *name, *product, *version, *arch, *os, *url, *digest; /* never NULL */
    enum cat_source source;
    const struct cat_learn *learn; /* NULL when not learned; in the catalogue's arena */
};

struct learn_model; /* learn.h: a saved per-server calibration */

struct catalog {
    struct cat_entry *e;
    size_t n, cap;
    int sorted;    /* 1 after catalog_sort and until the next add */
    char **blocks; /* string arena */
    size_t nblocks;
    char *cur; /* free space of the newest block */
    size_t left;
    size_t nlearned;                 /* entries with learn != NULL */
    int64_t learn_lo, learn_hi;      /* bounds of every learned window minus size (match) */
    const struct learn_model *model; /* caller's per-server calibration, NULL = none */
};

/* Bytes either side of a learned overhead range that still fit: half the observed
 * spread (a few samples underestimate it) and at least 8 (header fields such as a
 * date or a length that change by a digit). */
static inline int64_t cat_learn_margin(const struct cat_learn *l)
{
    int64_t half = (l->oh[1] - l->oh[0]) / 2;
    return half > 8 ? half : 8;
}

/* Column names of format version 1, in order (the columns imports may name). */
#define CATALOG_NCOLUMNS 10
extern const char *const catalog_columns[];

/* Column names of format version 2: version 1's, then the learned ones. */
#define CATALOG_NCOLUMNS_V2 17
extern const char *const catalog_columns_v2[CATALOG_NCOLUMNS_V2];

void catalog_init(struct catalog *c);
void catalog_free(struct catalog *c);

/* Append a copy of *e (its strings and learn record copied into the arena; NULL strings
 * become "", an empty name "?" so that every catalogue can be written and read back). */
void catalog_add(struct catalog *c, const struct cat_entry *e);

/* An imported entry (CSV, JSON) from its text columns, indexed as catalog_columns
 * (size and spread are given as numbers; their text is ignored): name defaults to the
 * url, product to the name; source import. */
void catalog_add_import(struct catalog *c, uint64_t size, uint64_t spread,
                        const char *const text[CATALOG_NCOLUMNS]);

/* Sort by size, then name, then version (stable order for output and tests). */
void catalog_sort(struct catalog *c);

/* No download in a catalogue is larger (1 TiB): a size above is a broken index line,
 * and in a set sum it would only ever be a chance fit. */
#define CAT_SIZE_MAX (1ULL << 40)

/* Entries catalog_clean dropped, by reason. */
struct cat_dropped {
    size_t zero;   /* size 0: a pair with it fits wherever its partner fits alone */
    size_t absurd; /* size above CAT_SIZE_MAX */
    size_t dup;    /* every column equal to an entry kept (one index listed twice) */
};

/*
 * Sort c and drop the entries no download can be: size 0, size above CAT_SIZE_MAX, and
 * exact duplicates (every column the same; learned rows are never duplicates of each
 * other, they differ by server). OUT: *d counts them. Returns the number dropped.
 */
size_t catalog_clean(struct catalog *c, struct cat_dropped *d);

/* "N entries skipped: ..." for a command to print. */
void catalog_dropped_text(const struct cat_dropped *d, char *buf, size_t len);

/* Index of the first entry with size >= size (c must be sorted); c->n when none. */
size_t catalog_lower_bound(const struct catalog *c, uint64_t size);

/* "debian", "import", "learned", "grab"; and back (-1 when unknown). */
const char *catalog_source_name(enum cat_source s);
int catalog_source_parse(const char *s);

/*
 * Parse a version-1 or version-2 catalogue held in buf[0..len) and append its entries; name is the
 * file name for error messages. Returns 0 or FS_EFORMAT / FS_EVERSION / FS_ECORRUPT
 * with err saying "NAME:LINE: field 'F': what". Entries added before the error stay.
 */
int catalog_parse(struct catalog *c, const char *name, const char *buf, size_t len,
                  struct fs_err *err);

/* Read and parse a catalogue file, then sort. Returns 0 or an error as catalog_parse. */
int catalog_load(struct catalog *c, const char *path, struct fs_err *err);

/* Write the catalogue: format version 1, or 2 when an entry has learned observations.
 * Returns 0 or -errno. */
int catalog_write(const struct catalog *c, FILE *fp);

/* Write the catalogue to path ("-" = stdout) through PATH.tmp renamed into place, so
 * the output may name an input catalogue and a failed write leaves the old file.
 * Returns 0, or -1 with err naming the file. */
int catalog_save(const struct catalog *c, const char *path, struct fs_err *err);

/*
 * Read a Debian/Ubuntu Packages index held in buf[0..len) and append one entry per
 * stanza: Package -> name, Source (or Package) -> product, Version, Architecture ->
 * arch, os (e.g. "debian/bookworm") as given, Filename -> url, SHA256 -> digest
 * ("sha256:HEX"), Size -> size. A stanza without a valid Size or Package is skipped
 * and reported through warn(ctx, "NAME:LINE: ...") when warn is not NULL. OUT: *added
 * and *skipped count the stanzas. Never fails: every byte sequence is some index.
 */
void catalog_debian_parse(struct catalog *c, const char *name, const char *buf, size_t len,
                          const char *os, void (*warn)(void *ctx, const char *msg), void *ctx,
                          size_t *added, size_t *skipped);

/*
 * Read a CSV file (RFC 4180 quoting) whose header names some of the catalogue's columns
 * (size is required; unknown columns are ignored) and append its rows as source
 * "import". Returns 0 or FS_ECORRUPT with err naming file, line and field.
 */
int catalog_import_csv(struct catalog *c, const char *name, const char *buf, size_t len,
                       struct fs_err *err);

/*
 * Read a whole file, decompressing it by its magic: gzip (zlib), xz (liblzma), LZ4
 * frame (liblz4), else as is. "-" is stdin. At most max_out bytes after decompression
 * (a decompression bomb is FS_ENOSPC). OUT: *buf (free() it) and *len; the buffer has
 * a NUL after the last byte. Returns 0, -errno, FS_ECODEC or FS_ENOSPC.
 */
int catalog_read_file(const char *path, size_t max_out, char **buf, size_t *len,
                      struct fs_err *err);

/* Decompress an in-memory buffer the same way (gzip, xz, lz4 frame, or a copy). */
int catalog_decompress(const uint8_t *in, size_t inlen, size_t max_out, char **buf, size_t *len,
                       struct fs_err *err);

/* The suite a Debian lists file name implies ("..._dists_bookworm-security_main_..."
 * -> "bookworm-security") copied into out[outlen]; returns 1 when found, else 0. */
int catalog_suite_from_name(const char *path, char *out, size_t outlen);

#endif
