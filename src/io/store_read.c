/*
 * Store reader (store.h): expands folders into their bin files in time order, prunes
 * files and blocks against the window, checks every block (header fields, crc, exact
 * decompressed size) and unshuffles its columns straight into an array of struct flow
 * that store_reader_next hands out one by one.
 */
#include "store_int.h"

#include "../core/fmt.h"

#include "../core/fields.h"
#include "../core/rd.h"
#include "../core/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 8 /* STORE/YYYY/MM/DD needs 3; the cap stops symlink loops */

/* Buffers kept across blocks so a long read does no per-block allocation. */
struct dec {
    uint8_t *raw;
    size_t rawcap;
    struct flow *flows; /* bytes outside fields stay zero: allocated zeroed */
    size_t flowcap;
    void *dctx;
};

/* One input file; binned ones came from a folder and carry the bin from their name. */
struct rfile {
    char *path;
    uint64_t bin_start_ms;
    uint32_t suffix;
    int binned;
};

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
    uint8_t *comp;
    size_t compcap;
    struct dec d;
    size_t pos, count; /* records of the current block handed out / decoded */
    struct store_rstats st;
};

static void dec_free(struct dec *d)
{
    free(d->raw);
    free(d->flows);
    store_codec_free(NULL, d->dctx);
}

/* Check the payload of a validated block header and unshuffle it into d->flows. */
static int dec_block(struct dec *d, const struct store_bhdr *b, const uint8_t *payload,
                     uint32_t ncolumns, const char *name, uint64_t blockno, uint64_t off,
                     struct fs_err *e)
{
    const char *why = NULL;
    const uint8_t *raw = payload;
    if (store_crc32(0, payload, b->comp_len) != b->crc) {
        why = "crc mismatch";
    } else if (b->codec != STORE_NONE) {
        if (d->rawcap < b->raw_len) {
            free(d->raw);
            d->raw = xmalloc(d->rawcap = b->raw_len);
        }
        raw = d->raw;
        if (store_decompress(b->codec, &d->dctx, payload, b->comp_len, d->raw, b->raw_len))
            why = "decompression failed or gave the wrong size";
    }
    if (why)
        return fs_err_set(e, b->codec != STORE_NONE && why[0] == 'd' ? FS_ECODEC : FS_ECORRUPT,
                          (long long)off, "%s: block %llu at offset %llu: %s", name,
                          (unsigned long long)blockno, (unsigned long long)off, why);
    if (d->flowcap < b->nrecords) {
        free(d->flows);
        d->flows = xcalloc(b->nrecords, sizeof(struct flow));
        d->flowcap = b->nrecords;
    }
    store_unshuffle(raw, b->nrecords, ncolumns, d->flows);
    return 0;
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
                         int (*fn)(void *ctx, const struct flow *f), void *ctx, struct fs_err *e)
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
        int rc = store_bhdr_parse(p, &b, recbytes, "buffer", blk, off, e);
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
        if ((rc = dec_block(d, &b, payload, h->ncolumns, "buffer", blk, off, e)) != 0)
            return rc;
        nrec += b.nrecords;
        for (size_t i = 0; i < b.nrecords; i++)
            if ((rc = fn(ctx, &d->flows[i])) != 0)
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
    rc = decode_blocks(&r, &h, len, &d, fn, ctx, err);
    dec_free(&d);
    return rc;
}

/* ---- file list ---- */

/* Read exactly n digits; -1 when any is not a digit. */
static long digits(const char *s, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Parse "flows.YYYYMMDDhhmm[.N]" into the bin start and suffix; 0 when it matches. */
static int parse_bin_name(const char *s, uint64_t *start, uint32_t *suffix)
{
    if (strncmp(s, "flows.", 6) != 0 || strlen(s) < 18)
        return -1;
    s += 6;
    long y = digits(s, 4), mo = digits(s + 4, 2), d = digits(s + 6, 2), h = digits(s + 8, 2),
         mi = digits(s + 10, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return -1;
    s += 12;
    *suffix = 0;
    if (*s) {
        size_t n = strlen(s + 1);
        long k = n >= 1 && n <= 9 && s[0] == '.' ? digits(s + 1, (int)n) : -1;
        if (k < 0)
            return -1;
        *suffix = (uint32_t)k;
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *start = ((uint64_t)days * 86400 + (uint64_t)h * 3600 + (uint64_t)mi * 60) * 1000;
    return 0;
}

struct flist {
    struct rfile *v;
    size_t n, cap;
};

static void flist_add(struct flist *l, const char *path, int binned, uint64_t start,
                      uint32_t suffix)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (struct rfile){ xstrdup(path), start, suffix, binned };
}

/* Time order: bin, then suffix (the order the files were closed), then path. */
static int rfile_cmp(const void *a, const void *b)
{
    const struct rfile *x = a, *y = b;
    if (x->bin_start_ms != y->bin_start_ms)
        return x->bin_start_ms < y->bin_start_ms ? -1 : 1;
    if (x->suffix != y->suffix)
        return x->suffix < y->suffix ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Collect the bin files below dir; hidden names (temp files) are never read. */
static int walk(struct flist *l, const char *dir, int depth, struct fs_err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return fs_err_set(e, -errno, -1, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = xmalloc(len);
        snprintf(p, len, "%s/%s", dir, de->d_name);
        struct stat st;
        uint64_t start;
        uint32_t suffix;
        if (stat(p, &st) != 0)
            ; /* vanished or dangling link: not ours to report */
        else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
            rc = walk(l, p, depth + 1, e);
        else if (S_ISREG(st.st_mode) && parse_bin_name(de->d_name, &start, &suffix) == 0)
            flist_add(l, p, 1, start, suffix);
        free(p);
    }
    closedir(d);
    return rc;
}

/* Expand each path: "-" and files as given, folders into their bins in time order. */
static int build_list(struct flist *l, const char *const *paths, size_t npaths, struct fs_err *e)
{
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") == 0) {
            flist_add(l, "-", 0, 0, 0);
            continue;
        }
        if (stat(paths[i], &st) != 0)
            return fs_err_set(e, -errno, -1, "%s: %s", paths[i], strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
            flist_add(l, paths[i], 0, 0, 0);
            continue;
        }
        size_t first = l->n;
        int rc = walk(l, paths[i], 0, e);
        if (rc)
            return rc;
        qsort(l->v + first, l->n - first, sizeof(*l->v), rfile_cmp);
    }
    return 0;
}

/* ---- streaming reader ---- */

static void close_file(struct store_reader *r)
{
    if (r->fp && !r->is_stdin)
        fclose(r->fp);
    r->fp = NULL;
    r->pos = r->count = 0;
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
    r->fp = r->is_stdin ? stdin : fopen(rf->path, "rb");
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

/* Read the next block of the current file into r->d.flows (or skip it). */
static int read_block(struct store_reader *r, struct fs_err *e)
{
    uint8_t bh[STORE_BHDR_LEN];
    struct store_bhdr b;
    errno = 0;
    size_t got = fread(bh, 1, sizeof(bh), r->fp);
    if (got < sizeof(bh))
        return file_fail(r, read_err(r, got ? "truncated block header" : "no end block", e));
    int rc = store_bhdr_parse(bh, &b, r->recbytes, r->name, r->nblocks, r->off, e);
    if (rc)
        return file_fail(r, rc);
    if (b.nrecords == 0)
        return end_of_file(r, e);
    uint64_t off = r->off;
    r->off += STORE_BHDR_LEN + (uint64_t)b.comp_len;
    if (b.last_max_ms < r->o.from_ms || (r->o.to_ms && b.first_min_ms >= r->o.to_ms)) {
        r->st.blocks_skipped++;
        rc = skip_payload(r, b.comp_len, e);
    } else {
        if (r->compcap < b.comp_len) {
            free(r->comp);
            r->comp = xmalloc(r->compcap = b.comp_len);
        }
        if (fread(r->comp, 1, b.comp_len, r->fp) != b.comp_len) {
            r->off = off;
            return file_fail(r, read_err(r, "truncated block", e));
        }
        rc = dec_block(&r->d, &b, r->comp, r->h.ncolumns, r->name, r->nblocks, off, e);
        r->pos = 0;
        r->count = rc ? 0 : b.nrecords;
        r->st.blocks_read += !rc;
    }
    r->nblocks++;
    r->nrecords += b.nrecords;
    return rc ? file_fail(r, rc) : 0;
}

/*
 * Open a reader (store.h). Folders are listed here (an unreadable path fails now);
 * files are opened one at a time by store_reader_next. *out is NULL on error.
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
    *out = r;
    return 0;
}

/*
 * Next record in the window (store.h): 1 and *f, 0 at the end, or an error after which
 * the current file is abandoned and the next call goes on with the next one.
 */
int store_reader_next(struct store_reader *r, const struct flow **f, struct fs_err *err)
{
    const uint64_t from = r->o.from_ms, to = r->o.to_ms;
    for (;;) {
        while (r->pos < r->count) {
            const struct flow *x = &r->d.flows[r->pos++];
            if (x->last < from || (to && x->first >= to))
                continue;
            r->st.records++;
            *f = x;
            return 1;
        }
        int rc = 0;
        if (r->fp)
            rc = read_block(r, err);
        else if (r->next < r->nfiles)
            rc = open_next(r, err);
        else
            return 0;
        if (rc)
            return rc;
    }
}

void store_reader_stats(const struct store_reader *r, struct store_rstats *out)
{
    *out = r->st;
}

/* Close the current file (never stdin itself) and free everything of r. */
void store_reader_close(struct store_reader *r)
{
    if (!r)
        return;
    close_file(r);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    free(r->comp);
    dec_free(&r->d);
    free(r);
}
