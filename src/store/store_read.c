/*
 * Store reader (store.h): expands folders into their bin files in time order, prunes
 * files and blocks against the window, checks every block (header fields, crc, plane
 * map, exact decompressed size) and unshuffles its columns straight into an array of
 * struct flow that store_reader_next hands out one by one, from a table of plane
 * pointers: decoded planes where they were decoded, constant planes from a zero or a
 * filled buffer (a v2 block stores a constant plane as one byte).
 *
 * Two paths for queries: a column projection (store_reader_columns: LZ4 decodes the
 * prefix of stored planes that holds the wanted columns, unwanted columns are zero
 * planes, not unshuffled), and sink mode (store_reader_drain: each decoding thread
 * consumes the blocks it decoded, chunk by chunk while they are in its cache, into
 * per-thread state of the command; docs/internals/store.md).
 */
#include "store_int.h"
#include "store_walk.h"

#include "../core/fmt.h"

#include "../core/fields.h"
#include "../core/rd.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Decoded records of one block; bytes outside fields stay zero: allocated zeroed. */
struct fbuf {
    struct flow *v;
    size_t cap;
    struct store_known z; /* bytes v is known to hold */
};

/* A decoder's scratch, kept across blocks so a long read does no per-block allocation:
 * one per decoding thread. In sink mode (store_reader_drain) the thread decodes into its
 * own out and consumes the records at once, so slots need no record arrays. */
struct dec {
    uint8_t *raw; /* the decoded stored planes */
    size_t rawcap;
    uint8_t *fill; /* planes of a nonzero constant: one per value, n bytes each */
    size_t fillcap;
    void *dctx;
    struct fbuf out;
};

/* One input file; binned ones came from a folder and carry the bin from their name. */
struct rfile {
    char *path;
    uint64_t bin_start_ms;
    uint32_t suffix;
    int binned;
    size_t rel; /* binned: where the part below the store folder starts in path */
};

/*
 * The read-ahead ring. The caller's thread reads each block's compressed bytes into the
 * next FREE slot (TODO); decoder threads (and the caller while it would otherwise wait)
 * turn TODO slots into records (BUSY, then DONE); the caller hands records out from
 * the head slot in order and frees it. A file error is queued as a DONE slot in its
 * place, so errors come out exactly where a sequential reader would report them.
 */
enum { SLOT_FREE, SLOT_TODO, SLOT_BUSY, SLOT_DONE };

struct slot {
    int state;        /* under r->mu */
    int decoded;      /* a block (1) rather than a queued file error (0) */
    size_t file;      /* index into files: later blocks of a failed file are dropped */
    const char *name; /* of the file, for messages */
    uint64_t blockno, off;
    uint16_t version; /* of the file */
    uint32_t ncolumns;
    struct store_bhdr b;
    uint8_t *comp;
    size_t compcap;
    struct fbuf out;
    size_t count; /* records decoded; in sink mode: records handed to the sink */
    int rc;       /* error of this slot, 0 = records */
    int checked;  /* sink mode: decoding is over and rc says how it went (under r->mu) */
    struct fs_err err;
};

struct worker {
    struct store_reader *r;
    struct dec d;
    pthread_t tid;
};

/* Decoder threads at most; the ring holds one slot per decoder plus the caller's. */
#define MAX_WORKERS 3

struct store_reader {
    struct rfile *files;
    size_t nfiles, next;
    struct store_ropts o;
    FILE *fp; /* current file, NULL between files */
    int is_stdin, seekable;
    const char *name; /* of the current file, for messages */
    struct store_hdr h;
    size_t recbytes;
    uint64_t off, nblocks, nrecords; /* position and totals seen in the current file */
    struct store_rstats st;
    /* the ring: nq queued slots from head; pos = next record of the head slot */
    struct slot **slots;
    size_t nslots, head, nq, pos;
    int taken;              /* the head slot's error / count is dealt with */
    const struct flow *run; /* store_reader_next: the run it hands out one by one */
    size_t runpos, runlen;
    struct dec d; /* the caller's decoder */
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    int stop;
    uint64_t tc_ns, td_ns; /* moving averages: caller's time per block, decode time */
    uint64_t t_take;       /* when the caller took the head slot */
    struct worker wk[MAX_WORKERS];
    size_t nworkers;
    store_sink_fn sink; /* sink mode: set by store_reader_drain before any reading */
    void *sink_ctx;
    int sink_stop;    /* the sink asked to stop (under mu) */
    uint64_t columns; /* store_reader_columns: fields to decode, 0 = all */
};

/* Monotonic nanoseconds, for the caller/decoder balance (todo_for_caller). */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void dec_free(struct dec *d)
{
    free(d->raw);
    free(d->fill);
    free(d->out.v);
    store_codec_free(NULL, d->dctx);
    memset(d, 0, sizeof(*d));
}

uint64_t store_columns_all(void)
{
    return nfields >= 64 ? UINT64_MAX : STORE_COL(nfields) - 1;
}

uint64_t store_columns_at(size_t offset, size_t len)
{
    uint64_t m = 0;
    for (size_t i = 0; i < nfields && i < 64; i++)
        if (fields[i].offset < offset + len && offset < (size_t)fields[i].offset + fields[i].size)
            m |= STORE_COL(i);
    return m;
}

/*
 * The columns a block decode needs: the first *ncols columns of the file hold every
 * wanted one; *holes has the columns among those that are not wanted. No projection
 * (want 0 or all, or more fields than the mask holds): all columns, no holes.
 */
static void projection(uint64_t want, uint32_t ncolumns, uint32_t *ncols, uint64_t *holes)
{
    *ncols = ncolumns;
    *holes = 0;
    if (!want || nfields > 64 || (want & store_columns_all()) == store_columns_all())
        return;
    uint32_t k = (uint32_t)(64 - __builtin_clzll(want));
    if (k < *ncols)
        *ncols = k;
    for (uint32_t i = 0; i < *ncols; i++)
        if (!(want >> i & 1))
            *holes |= STORE_COL(i);
}

/*
 * The first need bytes of the block's stored planes (all of them when need == raw_len):
 * the codec part itself for NONE, else decompressed into d->raw. LZ4 stops at need:
 * its matches only reach back, so the prefix decodes alone. zstd decodes whole. NULL
 * when the codec fails.
 */
static const uint8_t *dec_raw(struct dec *d, const struct store_bhdr *b,
                              const struct store_payload *sp, size_t need)
{
    if (b->codec == STORE_NONE || need == 0)
        return sp->part;
    if (d->rawcap < b->raw_len) {
        free(d->raw);
        d->raw = xmalloc(d->rawcap = b->raw_len);
    }
    if (b->codec == STORE_LZ4 && need < b->raw_len) {
        int got = LZ4_decompress_safe_partial((const char *)sp->part, (char *)d->raw,
                                              (int)sp->part_len, (int)need, (int)b->raw_len);
        return got >= 0 && (size_t)got == need ? d->raw : NULL;
    }
    if (store_decompress(b->codec, &d->dctx, sp->part, sp->part_len, d->raw, b->raw_len))
        return NULL;
    return d->raw;
}

/* Stored planes among planes 0..upto-1 of the block. */
static size_t stored_below(const struct store_payload *sp, size_t upto)
{
    size_t k = 0;
    for (size_t p = 0; p < upto; p++)
        k += !sp->map || STORE_MAP_BIT(sp->map, p);
    return k;
}

/* Distinct nonzero values of the constant planes among planes 0..upto-1 of a v2 block:
 * the planes of d->fill it needs (a handful: 0xff, the exporter's bytes, ipver). */
static size_t distinct_consts(const struct store_payload *sp, size_t upto)
{
    uint8_t seen[256] = { 0 };
    size_t c = 0, k = 0;
    for (size_t p = 0; p < upto; p++)
        if (!STORE_MAP_BIT(sp->map, p)) {
            uint8_t v = sp->consts[c++];
            k += v && !seen[v];
            seen[v] = 1;
        }
    return k;
}

/* One n-byte plane of value v in d->fill, shared by the planes of that value: by[v] is
 * its index plus one once made; *used counts the planes made so far. */
static const uint8_t *const_plane(struct dec *d, uint8_t v, size_t n, uint8_t *by, size_t *used)
{
    if (!by[v]) {
        memset(d->fill + *used * n, v, n);
        *used += 1;
        by[v] = (uint8_t)*used;
    }
    return d->fill + (size_t)(by[v] - 1) * n;
}

/*
 * The plane table of a checked block: the first planes planes (those of the decoded
 * columns) point into the decoded stored planes raw, at store_zero_plane (a zero
 * constant, a column not wanted) or into d->fill (another constant). Then no plane is
 * copied or expanded: the unshuffle reads each where it is.
 */
static void dec_planes(struct dec *d, const struct store_payload *sp, const uint8_t *raw, size_t n,
                       uint32_t ncols, uint64_t holes, struct store_planes *pl)
{
    uint8_t by[256] = { 0 };
    size_t planes = store_record_bytes(ncols), k = 0, c = 0, used = 0, p = 0;
    if (!sp->map) /* v1: every plane stored, the constant ones found by looking */
        store_planes_flat(pl, raw, n, ncols);
    else
        memset(pl->konst, 0, sizeof(pl->konst));
    size_t nfill = sp->map ? distinct_consts(sp, planes) : 0;
    if (d->fillcap < nfill * n) {
        free(d->fill);
        d->fill = xmalloc(d->fillcap = nfill * n);
    }
    for (size_t i = 0; p < planes; i++)
        for (size_t b = 0; b < fields[i].size; b++, p++) {
            int stored = !sp->map || STORE_MAP_BIT(sp->map, p), hole = i < 64 && (holes >> i & 1);
            uint8_t v = stored ? 0 : sp->consts[c++];
            if (hole)
                pl->plane[p] = store_zero_plane;
            else if (stored)
                pl->plane[p] = raw + k * n;
            else
                pl->plane[p] = v ? const_plane(d, v, n, by, &used) : store_zero_plane;
            if (hole || !stored)
                pl->konst[p / 64] |= (uint64_t)1 << (p % 64);
            k += (size_t)stored;
        }
    pl->ncolumns = ncols;
}

/*
 * Check the payload of a validated block header (crc, plane map, codec, size),
 * decompress what the projection want (store_reader_columns) needs into d->raw and
 * point *pl at its planes. 0, or the error naming the block.
 */
static int dec_check(struct dec *d, const struct store_bhdr *b, const uint8_t *payload,
                     uint16_t version, uint32_t ncolumns, uint64_t want, struct store_planes *pl,
                     const char *name, uint64_t blockno, uint64_t off, struct fs_err *e)
{
    struct store_payload sp;
    uint32_t ncols;
    uint64_t holes;
    projection(want, ncolumns, &ncols, &holes);
    size_t n = b->nrecords;
    const uint8_t *raw = NULL;
    int code = FS_ECORRUPT;
    const char *why = NULL;
    if (store_crc32(0, payload, b->comp_len) != b->crc)
        why = "crc mismatch";
    else
        why = store_payload_parse(payload, b, version, store_record_bytes(ncolumns), &sp);
    /* the stored planes up to the last one of the last wanted column */
    if (!why && !(raw = dec_raw(d, b, &sp, stored_below(&sp, store_record_bytes(ncols)) * n))) {
        why = "decompression failed or gave the wrong size";
        code = b->codec != STORE_NONE ? FS_ECODEC : FS_ECORRUPT;
    }
    if (why)
        return fs_err_set(e, code, (long long)off, "%s: block %llu at offset %llu: %s", name,
                          (unsigned long long)blockno, (unsigned long long)off, why);
    dec_planes(d, &sp, raw, n, ncols, holes, pl);
    return 0;
}

/* Room for n records in out; a new array is zeroed and its zero-column memory reset. */
static void fbuf_room(struct fbuf *out, size_t n)
{
    if (out->cap >= n)
        return;
    free(out->v);
    out->v = xcalloc(n, sizeof(struct flow));
    out->cap = n;
    memset(&out->z, 0, sizeof(out->z));
}

/*
 * Unshuffle records r0..r0+m of the block pl into out->v[0..m): the whole block, or in
 * sink mode a chunk (the plane pointers reach any record). Unwanted columns are
 * constant zero planes, so from the second block into the same out on
 * store_unshuffle_planes does not touch them at all (out->z knows they are zero).
 */
static void dec_unshuffle(const struct store_planes *pl, size_t r0, size_t m, struct fbuf *out)
{
    fbuf_room(out, m);
    store_unshuffle_planes(pl, r0, m, out->v, &out->z);
}

/* Check the payload of a validated block header and unshuffle it into out->v: every
 * column, or with want (store_reader_columns) only those. */
static int dec_block(struct dec *d, const struct store_bhdr *b, const uint8_t *payload,
                     uint16_t version, uint32_t ncolumns, uint64_t want, struct fbuf *out,
                     const char *name, uint64_t blockno, uint64_t off, struct fs_err *e)
{
    struct store_planes pl;
    int err = dec_check(d, b, payload, version, ncolumns, want, &pl, name, blockno, off, e);
    if (!err)
        dec_unshuffle(&pl, 0, b->nrecords, out);
    return err;
}

/* At the end block: a file (not a stream) must hold what its header says. */
static int check_totals(const struct store_hdr *h, uint64_t nblocks, uint64_t nrecords,
                        const char *name, uint64_t off, struct fs_err *e)
{
    if (h->flags & STORE_FLAG_STREAM)
        return 0;
    if (nblocks != h->nblocks || nrecords != h->nrecords)
        return fs_err_set(e, FS_ECORRUPT, (long long)off,
                          "%s: end block at offset %llu: %llu blocks / %llu records, header "
                          "says %u / %llu",
                          name, (unsigned long long)off, (unsigned long long)nblocks,
                          (unsigned long long)nrecords, h->nblocks,
                          (unsigned long long)h->nrecords);
    return 0;
}

static int trunc_err(struct fs_err *e, const char *name, uint64_t blockno, uint64_t off,
                     const char *what)
{
    return fs_err_set(e, FS_ETRUNC, (long long)off, "%s: block %llu at offset %llu: %s", name,
                      (unsigned long long)blockno, (unsigned long long)off, what);
}

/* Walk the blocks after the header of an in-memory file, calling fn per record. */
static int decode_blocks(struct rd *r, const struct store_hdr *h, size_t len, struct dec *d,
                         struct fbuf *fb, int (*fn)(void *ctx, const struct flow *f), void *ctx,
                         struct fs_err *e)
{
    size_t recbytes = store_record_bytes(h->ncolumns);
    uint64_t nrec = 0;
    for (uint64_t blk = 0;; blk++) {
        uint64_t off = len - rd_left(r);
        const uint8_t *p = rd_take(r, STORE_BHDR_LEN);
        if (!p)
            return trunc_err(e, "buffer", blk, off,
                             rd_left(r) ? "truncated block header" : "no end block");
        struct store_bhdr b;
        int rc = store_bhdr_parse(p, &b, h->version, recbytes, "buffer", blk, off, e);
        if (rc)
            return rc;
        if (b.nrecords == 0) {
            if (rd_left(r))
                return fs_err_set(e, FS_ECORRUPT, (long long)off + STORE_BHDR_LEN,
                                  "buffer: trailing data after the end block");
            return check_totals(h, blk, nrec, "buffer", off, e);
        }
        const uint8_t *payload = rd_take(r, b.comp_len);
        if (!payload)
            return trunc_err(e, "buffer", blk, off, "truncated block");
        if ((rc = dec_block(d, &b, payload, h->version, h->ncolumns, 0, fb, "buffer", blk, off,
                            e)) != 0)
            return rc;
        nrec += b.nrecords;
        for (size_t i = 0; i < b.nrecords; i++)
            if ((rc = fn(ctx, &fb->v[i])) != 0)
                return rc;
    }
}

/*
 * Decode one whole store file held in memory (store.h). fn returns 0 to go on; a
 * nonzero return stops the walk and is returned. Errors name the "buffer" and block.
 */
int store_decode_buf(const uint8_t *buf, size_t len, int (*fn)(void *ctx, const struct flow *f),
                     void *ctx, struct fs_err *err)
{
    struct store_hdr h;
    int rc = store_hdr_parse(buf, len, &h, "buffer", err);
    if (rc)
        return rc;
    struct rd r = rd_init(buf, len);
    rd_skip(&r, STORE_HDR_LEN);
    struct dec d = { 0 };
    struct fbuf fb = { 0 };
    rc = decode_blocks(&r, &h, len, &d, &fb, fn, ctx, err);
    dec_free(&d);
    free(fb.v);
    return rc;
}

/* ---- file list ---- */

struct flist {
    struct rfile *v;
    size_t n, cap;
};

static void flist_add(struct flist *l, const struct rfile *f)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *f;
}

/* A folder's bin files in time order (store_walk: no symlink below it is followed). */
static int add_folder(struct flist *l, const char *dir, struct fs_err *e)
{
    struct store_walk w = { 0 };
    int rc = store_walk(dir, 0, &w, e);
    if (rc)
        return rc;
    if (w.nfiles == 0) {
        store_walk_free(&w);
        return fs_err_set(e, FS_EFORMAT, -1, "no flowsleuth flow files in %s", dir);
    }
    for (size_t i = 0; i < w.nfiles; i++) {
        const struct store_walk_file *f = &w.files[i];
        flist_add(l, &(struct rfile){ f->path, f->start_ms, f->suffix, 1, f->rel });
        w.files[i].path = NULL; /* now the list's */
    }
    store_walk_free(&w);
    return 0;
}

/* Expand each path: "-" and files as given, folders into their bins in time order. */
static int build_list(struct flist *l, const char *const *paths, size_t npaths, struct fs_err *e)
{
    for (size_t i = 0; i < npaths; i++) {
        struct stat st = { 0 };
        int is_stdin = strcmp(paths[i], "-") == 0;
        if (!is_stdin && stat(paths[i], &st) != 0)
            return fs_err_set(e, -errno, -1, "%s: %s", paths[i], strerror(errno));
        if (is_stdin || !S_ISDIR(st.st_mode)) {
            flist_add(l, &(struct rfile){ xstrdup(paths[i]), 0, 0, 0, 0 });
            continue;
        }
        int rc = add_folder(l, paths[i], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- streaming reader ---- */

static void close_file(struct store_reader *r)
{
    if (r->fp && !r->is_stdin)
        fclose(r->fp);
    r->fp = NULL;
}

/* An error in the current file: report it and go on with the next file. */
static int file_fail(struct store_reader *r, int rc)
{
    close_file(r);
    r->st.errors++;
    return rc;
}

static int read_err(struct store_reader *r, const char *what, struct fs_err *e)
{
    int rc = ferror(r->fp) ? -(errno ? errno : EIO) : FS_ETRUNC;
    return fs_err_set(e, rc, (long long)r->off, "%s: block %llu at offset %llu: %s%s%s", r->name,
                      (unsigned long long)r->nblocks, (unsigned long long)r->off, what,
                      rc == FS_ETRUNC ? "" : ": ", rc == FS_ETRUNC ? "" : fs_strerror(rc));
}

/* 1 when the header proves that no record of the file is in the window. */
static int header_misses(const struct store_reader *r, const struct store_hdr *h)
{
    uint64_t from = r->o.from_ms, to = r->o.to_ms, width = (uint64_t)h->bin_secs * 1000;
    if (h->flags & STORE_FLAG_STREAM)
        return 0;
    if (h->nrecords == 0)
        return from || to;
    if ((to && h->first_min_ms >= to) || h->last_max_ms < from)
        return 1;
    return width && from >= width && h->bin_start_ms <= from - width;
}

/* A file of a folder is opened below the folder without following a link on the way
 * (store_walk.h); a file named by the user as given. NULL with errno on error. */
static FILE *open_file(const struct rfile *rf)
{
    if (!rf->binned)
        return fopen(rf->path, "rb");
    struct store_walk_file wf = { .path = rf->path, .rel = rf->rel };
    int fd = store_walk_open(&wf, O_RDONLY);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return fp;
}

/* Open the next input file and read its header; skipped files leave r->fp NULL. */
static int open_next(struct store_reader *r, struct fs_err *e)
{
    const struct rfile *rf = &r->files[r->next++];
    uint64_t from = r->o.from_ms;
    /* No bin is wider than a day, so a name a day before the window needs no open. */
    if (rf->binned && from && rf->bin_start_ms + STORE_MAX_BIN_SECS * 1000ULL <= from) {
        r->st.files_skipped++;
        return 0;
    }
    r->is_stdin = strcmp(rf->path, "-") == 0;
    r->name = r->is_stdin ? "stdin" : rf->path;
    r->fp = r->is_stdin ? stdin : open_file(rf);
    if (!r->fp && rf->binned && errno == ENOENT) {
        /* Expired (or rotated away) since the folder was listed: a live store, not an
         * error; the file is simply no longer part of it. */
        r->st.files_skipped++;
        return 0;
    }
    if (!r->fp) {
        r->st.errors++;
        return fs_err_set(e, -errno, -1, "%s: open: %s", rf->path, strerror(errno));
    }
    struct stat st;
    r->seekable = !r->is_stdin && fstat(fileno(r->fp), &st) == 0 && S_ISREG(st.st_mode);
    uint8_t hb[STORE_HDR_LEN];
    errno = 0;
    size_t got = fread(hb, 1, sizeof(hb), r->fp);
    if (got < sizeof(hb) && ferror(r->fp))
        return file_fail(r, fs_err_set(e, -(errno ? errno : EIO), 0, "%s: read: %s", r->name,
                                       strerror(errno ? errno : EIO)));
    int rc = store_hdr_parse(hb, got, &r->h, r->name, e);
    if (rc)
        return file_fail(r, rc);
    if (header_misses(r, &r->h)) {
        close_file(r);
        r->st.files_skipped++;
        return 0;
    }
    r->st.files_opened++;
    r->recbytes = store_record_bytes(r->h.ncolumns);
    r->off = STORE_HDR_LEN;
    r->nblocks = r->nrecords = 0;
    return 0;
}

/* Move past a payload the window does not need, without decompressing it. */
static int skip_payload(struct store_reader *r, size_t n, struct fs_err *e)
{
    if (r->seekable) {
        /* Seeking past the end is not an error; the missing end block reports it. */
        if (fseeko(r->fp, (off_t)n, SEEK_CUR) != 0)
            return read_err(r, "seek", e);
        return 0;
    }
    char tmp[16384];
    while (n) {
        size_t k = n < sizeof(tmp) ? n : sizeof(tmp);
        if (fread(tmp, 1, k, r->fp) != k)
            return read_err(r, "truncated block", e);
        n -= k;
    }
    return 0;
}

/* At the end block: the header totals, and nothing may follow. */
static int end_of_file(struct store_reader *r, struct fs_err *e)
{
    int rc = check_totals(&r->h, r->nblocks, r->nrecords, r->name, r->off, e);
    if (!rc && fgetc(r->fp) != EOF)
        rc = fs_err_set(e, FS_ECORRUPT, (long long)r->off + STORE_BHDR_LEN,
                        "%s: trailing data after the end block at offset %llu", r->name,
                        (unsigned long long)r->off);
    close_file(r);
    if (rc)
        r->st.errors++;
    return rc;
}

/*
 * Read the next block header of the current file and queue its payload in s (TODO), or
 * skip it. Returns 1 when s holds a block, 0 when nothing was queued (skipped block,
 * clean end of file), or a negative code after abandoning the file.
 */
static int read_block(struct store_reader *r, struct slot *s, struct fs_err *e)
{
    uint8_t bh[STORE_BHDR_LEN];
    struct store_bhdr b;
    errno = 0;
    size_t got = fread(bh, 1, sizeof(bh), r->fp);
    if (got < sizeof(bh))
        return file_fail(r, read_err(r, got ? "truncated block header" : "no end block", e));
    int rc = store_bhdr_parse(bh, &b, r->h.version, r->recbytes, r->name, r->nblocks, r->off, e);
    if (rc)
        return file_fail(r, rc);
    if (b.nrecords == 0)
        return end_of_file(r, e);
    uint64_t off = r->off;
    r->off += STORE_BHDR_LEN + (uint64_t)b.comp_len;
    if (b.last_max_ms < r->o.from_ms || (r->o.to_ms && b.first_min_ms >= r->o.to_ms)) {
        r->st.blocks_skipped++;
        if ((rc = skip_payload(r, b.comp_len, e)) != 0)
            return file_fail(r, rc);
        r->nblocks++;
        r->nrecords += b.nrecords;
        return 0;
    }
    if (s->compcap < b.comp_len) {
        free(s->comp);
        s->comp = xmalloc(s->compcap = b.comp_len);
    }
    if (fread(s->comp, 1, b.comp_len, r->fp) != b.comp_len) {
        r->off = off;
        return file_fail(r, read_err(r, "truncated block", e));
    }
    s->b = b;
    s->file = r->next - 1;
    s->name = r->name;
    s->blockno = r->nblocks;
    s->off = off;
    s->version = r->h.version;
    s->ncolumns = r->h.ncolumns;
    r->nblocks++;
    r->nrecords += b.nrecords;
    return 1;
}

/* Queue the next block or file error of the input in s; 0 when the input is done. */
static int produce(struct store_reader *r, struct slot *s)
{
    for (;;) {
        int rc;
        if (r->fp)
            rc = read_block(r, s, &s->err);
        else if (r->next < r->nfiles)
            rc = open_next(r, &s->err);
        else
            return 0;
        if (rc == 0)
            continue;
        s->decoded = rc > 0;
        s->rc = rc > 0 ? 0 : rc;
        s->count = 0;
        s->checked = 0;
        if (rc < 0)
            s->file = r->next - 1;
        return 1;
    }
}

/*
 * Read ahead only where it cannot block on input that has not arrived yet: regular
 * files. A pipe or stdin gets one block at a time, so a live stream is not held back.
 */
static int may_read_ahead(const struct store_reader *r)
{
    if (r->nq == 0)
        return 1;
    if (r->fp)
        return r->seekable;
    return r->next < r->nfiles && strcmp(r->files[r->next].path, "-") != 0;
}

/* Fill free slots of the ring from the input and wake the decoders. */
static void fill(struct store_reader *r)
{
    while (r->nq < r->nslots && may_read_ahead(r)) {
        struct slot *s = r->slots[(r->head + r->nq) % r->nslots];
        if (!produce(r, s))
            return;
        pthread_mutex_lock(&r->mu);
        s->state = s->decoded ? SLOT_TODO : SLOT_DONE;
        r->nq++;
        if (s->decoded)
            pthread_cond_signal(&r->work_cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* The oldest queued slot still to be decoded, or NULL; r->mu held. */
static struct slot *next_todo(struct store_reader *r)
{
    for (size_t i = 0; i < r->nq; i++) {
        struct slot *s = r->slots[(r->head + i) % r->nslots];
        if (s->state == SLOT_TODO)
            return s;
    }
    return NULL;
}

/* [*i, *j): the next run of records from i on inside the window (all when it is open). */
static void window_run(const struct store_ropts *o, const struct flow *fl, size_t c, size_t *i,
                       size_t *j)
{
    const uint64_t from = o->from_ms, to = o->to_ms;
    size_t a = *i, b = c;
    /* A block's time range cannot stand in for its records': a record from an exporter
     * may have last < first. */
    if (from || to) {
        while (a < c && (fl[a].last < from || (to && fl[a].first >= to)))
            a++;
        b = a;
        while (b < c && fl[b].last >= from && !(to && fl[b].first >= to))
            b++;
    }
    *i = a;
    *j = b;
}

/* Sink mode: may the records of slot s (decoded without error) be consumed? A bad
 * block of the same file no longer matters (it is skipped, not the rest of the file),
 * so only a stop says no. r->mu held. */
static int sink_may_consume(const struct store_reader *r)
{
    return !r->stop && !r->sink_stop;
}

/* Hand the window's runs of count decoded records to the sink; 1 when it asks to stop. */
static int sink_run(struct store_reader *r, const struct flow *v, size_t count, size_t thread,
                    size_t *given)
{
    size_t i = 0, j;
    while (i < count) {
        window_run(&r->o, v, count, &i, &j);
        if (j > i) {
            *given += j - i;
            if (r->sink(r->sink_ctx, thread, v + i, j - i)) {
                pthread_mutex_lock(&r->mu);
                r->sink_stop = 1;
                pthread_mutex_unlock(&r->mu);
                return 1;
            }
        }
        i = j;
    }
    return 0;
}

/*
 * Sink mode: records per chunk. A chunk is unshuffled into a small array and consumed
 * at once, while it is in the L2 cache; a whole block (1.5 MB of records) went out to
 * memory and was read back from there.
 */
#define SINK_CHUNK 512

/* Unshuffle the checked block pl chunk by chunk and consume it; the records given. */
static size_t sink_block(struct store_reader *r, struct dec *d, const struct store_planes *pl,
                         size_t n, size_t thread)
{
    size_t given = 0;
    for (size_t r0 = 0; r0 < n; r0 += SINK_CHUNK) {
        size_t m = n - r0 < SINK_CHUNK ? n - r0 : SINK_CHUNK;
        dec_unshuffle(pl, r0, m, &d->out);
        if (sink_run(r, d->out.v, m, thread, &given))
            break;
    }
    return given;
}

/*
 * Decode slot s with scratch d outside the lock; r->mu held on entry and on return.
 * In sink mode the same thread (number thread) then consumes the records.
 */
static void run_slot(struct store_reader *r, struct slot *s, struct dec *d, size_t thread)
{
    s->state = SLOT_BUSY;
    pthread_mutex_unlock(&r->mu);
    uint64_t t0 = now_ns();
    if (!r->sink) {
        s->rc = dec_block(d, &s->b, s->comp, s->version, s->ncolumns, r->columns, &s->out, s->name,
                          s->blockno, s->off, &s->err);
        s->count = s->rc ? 0 : s->b.nrecords;
    } else {
        struct store_planes pl;
        s->rc = dec_check(d, &s->b, s->comp, s->version, s->ncolumns, r->columns, &pl, s->name,
                          s->blockno, s->off, &s->err);
        pthread_mutex_lock(&r->mu);
        s->checked = 1;
        pthread_cond_broadcast(&r->done_cv); /* younger blocks of the file may wait */
        int ok = !s->rc && sink_may_consume(r);
        pthread_mutex_unlock(&r->mu);
        s->count = ok ? sink_block(r, d, &pl, s->b.nrecords, thread) : 0;
    }
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_DONE;
    r->td_ns = (3 * r->td_ns + (now_ns() - t0)) / 4;
    if (r->sink)
        pthread_cond_broadcast(&r->done_cv);
    else
        pthread_cond_signal(&r->done_cv);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct store_reader *r = w->r;
    size_t thread = (size_t)(w - r->wk);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        struct slot *s = NULL;
        while (!r->stop && (s = next_todo(r)) == NULL)
            pthread_cond_wait(&r->work_cv, &r->mu);
        if (r->stop)
            break;
        run_slot(r, s, &w->d, thread);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/*
 * The queued block the caller should decode itself while it waits for the head, or
 * NULL to let the decoders have it; r->mu held. A head nobody has started is always
 * the caller's. Another block is worth taking only when the caller spends less than
 * half a decode on a block (a plain read, a filter): with one slot per decoder and the
 * caller's, the decoders have nothing left to do while the caller decodes, so per
 * block a helping caller costs its own time plus half a decode, a waiting one the
 * larger of the two. A caller with real work per block (statistics) that helped would
 * leave the decoder idle: 0.69 s instead of 0.47 s for a top-N of 10 M flows. (One
 * more slot would keep the decoder busy, but gained only 0.01 s for 2 MB.)
 */
static struct slot *todo_for_caller(struct store_reader *r)
{
    struct slot *s = next_todo(r);
    if (!s || s == r->slots[r->head] || r->nworkers == 0)
        return s;
    return 2 * r->tc_ns < r->td_ns ? s : NULL;
}

/* Wait until the head slot is decoded, decoding queued blocks meanwhile. */
static struct slot *wait_head(struct store_reader *r)
{
    struct slot *h = r->slots[r->head];
    pthread_mutex_lock(&r->mu);
    while (h->state != SLOT_DONE) {
        struct slot *s = todo_for_caller(r);
        if (s)
            run_slot(r, s, &r->d, r->nworkers);
        else
            pthread_cond_wait(&r->done_cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return h;
}

/* Give the head slot back to the ring. */
static void release_head(struct store_reader *r)
{
    uint64_t tc = r->t_take ? now_ns() - r->t_take : 0; /* 0: no records handed out */
    pthread_mutex_lock(&r->mu);
    if (tc)
        r->tc_ns = (3 * r->tc_ns + tc) / 4;
    r->slots[r->head]->state = SLOT_FREE;
    r->head = (r->head + 1) % r->nslots;
    r->nq--;
    pthread_mutex_unlock(&r->mu);
    r->pos = 0;
    r->taken = 0;
    r->t_take = 0;
}

/*
 * First look at a decoded head slot: 1 when it holds records to hand out, or the slot's
 * error. A block that fails its checks (crc, plane map, codec) is skipped and counted:
 * its header gave its length, so the blocks after it are read (they are queued or
 * still to come); a file whose header or a block header is bad was abandoned by the
 * producer, which queued that error in its place.
 */
static int take_head(struct store_reader *r, struct slot *h, struct fs_err *err)
{
    r->taken = 1;
    if (!h->rc) {
        r->st.blocks_read++;
        r->t_take = now_ns();
        return 1;
    }
    int rc = h->rc;
    if (err)
        *err = h->err;
    if (h->decoded) {
        r->st.errors++;
        r->st.blocks_bad++;
    }
    release_head(r);
    return rc;
}

/* Number of decoder threads: FS_READ_THREADS (0..3) or one less than the CPUs. */
static size_t worker_count(void)
{
    const char *env = getenv("FS_READ_THREADS");
    long n;
    if (env && *env >= '0' && *env <= '9' && env[1] == '\0')
        n = *env - '0';
    else
        n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    return n < 0 ? 0 : n > MAX_WORKERS ? MAX_WORKERS : (size_t)n;
}

/* Start the decoder threads; a thread that cannot be made just means fewer of them. */
static void start_workers(struct store_reader *r)
{
    size_t want = worker_count();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work_cv, NULL);
    pthread_cond_init(&r->done_cv, NULL);
    r->nslots = want + 1;
    r->slots = xcalloc(r->nslots, sizeof(struct slot *));
    for (size_t i = 0; i < r->nslots; i++)
        r->slots[i] = xcalloc(1, sizeof(struct slot));
    for (size_t i = 0; i < want; i++) {
        struct worker *w = &r->wk[r->nworkers];
        w->r = r;
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
            break;
        r->nworkers++;
    }
}

/*
 * Open a reader (store.h). Folders are listed here (an unreadable path fails now);
 * files are opened one at a time as reading reaches them. *out is NULL on error.
 */
int store_reader_open(struct store_reader **out, const char *const *paths, size_t npaths,
                      const struct store_ropts *o, struct fs_err *err)
{
    *out = NULL;
    struct flist l = { 0 };
    int rc = build_list(&l, paths, npaths, err);
    if (rc) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i].path);
        free(l.v);
        return rc;
    }
    struct store_reader *r = xcalloc(1, sizeof(*r));
    r->files = l.v;
    r->nfiles = l.n;
    if (o)
        r->o = *o;
    start_workers(r);
    *out = r;
    return 0;
}

/*
 * Next run of records in the window (store.h): 1 with *v and *n, 0 at the end, or an
 * error after which the file is abandoned and the next call goes on with the next one.
 */
int store_reader_next_block(struct store_reader *r, const struct flow **v, size_t *n,
                            struct fs_err *err)
{
    if (r->runpos < r->runlen) { /* what store_reader_next has not handed out yet */
        *v = r->run + r->runpos;
        *n = r->runlen - r->runpos;
        r->runpos = r->runlen;
        return 1;
    }
    for (;;) {
        fill(r);
        if (r->nq == 0)
            return 0;
        struct slot *h = wait_head(r);
        if (!r->taken) {
            int rc = take_head(r, h, err);
            if (rc <= 0) {
                if (rc < 0)
                    return rc;
                continue;
            }
        }
        const struct flow *fl = h->out.v;
        size_t i = r->pos, j;
        window_run(&r->o, fl, h->count, &i, &j); /* no window: the whole block, unlooked at */
        r->pos = j;
        if (j > i) {
            *v = fl + i;
            *n = j - i;
            r->st.records += j - i;
            return 1;
        }
        release_head(r);
    }
}

/*
 * Next record in the window (store.h): 1 and *f, 0 at the end, or an error after which
 * the current file is abandoned and the next call goes on with the next one.
 */
int store_reader_next(struct store_reader *r, const struct flow **f, struct fs_err *err)
{
    if (r->runpos == r->runlen) {
        const struct flow *v;
        size_t n;
        int rc = store_reader_next_block(r, &v, &n, err);
        if (rc <= 0)
            return rc;
        r->run = v;
        r->runlen = n;
        r->runpos = 0;
    }
    *f = &r->run[r->runpos++];
    return 1;
}

/* Set before reading, so the decoders (started at open) only see it after the lock
 * that hands them their first block. */
void store_reader_columns(struct store_reader *r, uint64_t mask)
{
    /* The window's record test reads first and last. */
    if (mask && (r->o.from_ms || r->o.to_ms))
        mask |= store_columns_at(offsetof(struct flow, first), 16);
    pthread_mutex_lock(&r->mu);
    r->columns = mask;
    pthread_mutex_unlock(&r->mu);
}

size_t store_reader_threads(const struct store_reader *r)
{
    return r->nworkers + 1;
}

/* Sink slots per decoding thread: a thread finishing a block finds the next one queued
 * while the caller is busy consuming. They hold only compressed bytes. */
#define SINK_SLOTS_PER_THREAD 2

/* Enter sink mode before the first block: a deeper ring of slots without records. */
static void sink_start(struct store_reader *r, store_sink_fn fn, void *ctx)
{
    pthread_mutex_lock(&r->mu);
    r->sink = fn;
    r->sink_ctx = ctx;
    size_t want = (r->nworkers + 1) * SINK_SLOTS_PER_THREAD;
    if (r->nq == 0 && want > r->nslots) {
        r->slots = xrealloc(r->slots, want * sizeof(struct slot *));
        for (size_t i = r->nslots; i < want; i++)
            r->slots[i] = xcalloc(1, sizeof(struct slot));
        r->nslots = want;
        r->head = 0;
    }
    pthread_mutex_unlock(&r->mu);
}

/*
 * Read everything through the sink (store.h). The caller's thread reads the files and
 * reports errors in file order at the head of the ring, as store_reader_next_block
 * does; decoding and consuming happen in run_slot on every thread, the caller's too
 * while it waits for the head.
 */
int store_reader_drain(struct store_reader *r, store_sink_fn fn, void *ctx, struct fs_err *err)
{
    if (!r->sink)
        sink_start(r, fn, ctx);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int stop = r->sink_stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return 0;
        fill(r);
        if (r->nq == 0)
            return 0;
        struct slot *h = wait_head(r);
        int rc = take_head(r, h, err);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            r->st.records += h->count;
            release_head(r);
        }
    }
}

/* The counters so far; the caller's thread keeps them, so no lock is needed. */
void store_reader_stats(const struct store_reader *r, struct store_rstats *out)
{
    *out = r->st;
}

/* Stop the decoders, close the current file (never stdin itself), free everything. */
void store_reader_close(struct store_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->work_cv);
    pthread_cond_broadcast(&r->done_cv); /* sink mode: a decoder may wait for another */
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < r->nworkers; i++) {
        pthread_join(r->wk[i].tid, NULL);
        dec_free(&r->wk[i].d);
    }
    pthread_cond_destroy(&r->work_cv);
    pthread_cond_destroy(&r->done_cv);
    pthread_mutex_destroy(&r->mu);
    close_file(r);
    for (size_t i = 0; i < r->nslots; i++) {
        free(r->slots[i]->comp);
        free(r->slots[i]->out.v);
        free(r->slots[i]);
    }
    free(r->slots);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    dec_free(&r->d);
    free(r);
}
