/*
 * Whole-file reads for catalogue inputs, decompressed by magic: Debian ships Packages
 * indexes as .gz and .xz, and apt keeps its lists as LZ4 frames (Acquire::GzipIndexes
 * with lz4), so all three are read without temporary files. Every codec is capped at
 * max_out bytes so a decompression bomb ends with FS_ENOSPC, not an OOM.
 */
#include "catalog.h"

#include "../core/atomic_file.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
/* next_in as a const pointer: inflate never writes its input. */
#define ZLIB_CONST
#include <zlib.h>

/* A growing output buffer with a cap; one spare byte for the final NUL. */
struct obuf {
    char *p;
    size_t len, cap, max;
};

/* Make room for at least want more bytes; FS_ENOSPC beyond the cap. */
static int obuf_room(struct obuf *o, size_t want)
{
    if (o->len + want + 1 <= o->cap)
        return 0;
    if (o->len + want > o->max)
        return FS_ENOSPC;
    size_t nc = o->cap ? o->cap * 2 : 65536;
    while (nc < o->len + want + 1)
        nc *= 2;
    if (nc > o->max + 1)
        nc = o->max + 1;
    o->p = xrealloc(o->p, nc);
    o->cap = nc;
    return 0;
}

static int gunzip(const uint8_t *in, size_t inlen, struct obuf *o, struct fs_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* +32: gzip or zlib header */
        return fs_err_set(err, FS_ECODEC, 0, "zlib: cannot initialise");
    int rc = 0, zr = Z_OK;
    size_t off = 0;
    while (zr != Z_STREAM_END) {
        if ((rc = obuf_room(o, 65536)) != 0)
            break;
        size_t chunk = inlen - off > 1u << 30 ? 1u << 30 : inlen - off;
        z.next_in = in + off;
        z.avail_in = (uInt)chunk;
        z.next_out = (Bytef *)o->p + o->len;
        z.avail_out = (uInt)(o->cap - 1 - o->len);
        zr = inflate(&z, Z_NO_FLUSH);
        off += chunk - z.avail_in;
        o->len = o->cap - 1 - z.avail_out;
        if (zr == Z_STREAM_END && off < inlen && in[off] == 0x1f) {
            inflateReset(&z); /* concatenated gzip members */
            zr = Z_OK;
        } else if (zr != Z_OK && zr != Z_STREAM_END) {
            rc = fs_err_set(err, FS_ECODEC, (long long)off, "gzip: corrupt data (%d)", zr);
            break;
        } else if (zr == Z_OK && off == inlen && z.avail_out != 0) {
            rc = fs_err_set(err, FS_ETRUNC, (long long)off, "gzip: truncated stream");
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

static int unxz(const uint8_t *in, size_t inlen, struct obuf *o, struct fs_err *err)
{
    lzma_stream z = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&z, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
        return fs_err_set(err, FS_ECODEC, 0, "xz: cannot initialise");
    z.next_in = in;
    z.avail_in = inlen;
    int rc = 0;
    for (;;) {
        if ((rc = obuf_room(o, 65536)) != 0)
            break;
        z.next_out = (uint8_t *)o->p + o->len;
        z.avail_out = o->cap - 1 - o->len;
        lzma_ret r = lzma_code(&z, z.avail_in ? LZMA_RUN : LZMA_FINISH);
        o->len = o->cap - 1 - z.avail_out;
        if (r == LZMA_STREAM_END)
            break;
        if (r != LZMA_OK) {
            rc = fs_err_set(err, r == LZMA_BUF_ERROR ? FS_ETRUNC : FS_ECODEC,
                            (long long)(inlen - z.avail_in), "xz: %s (%d)",
                            r == LZMA_BUF_ERROR ? "truncated stream" : "corrupt data", (int)r);
            break;
        }
    }
    lzma_end(&z);
    return rc;
}

static int unlz4(const uint8_t *in, size_t inlen, struct obuf *o, struct fs_err *err)
{
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return fs_err_set(err, FS_ECODEC, 0, "lz4: cannot initialise");
    size_t off = 0, hint = 1;
    int rc = 0;
    while (off < inlen && hint != 0) {
        if ((rc = obuf_room(o, 65536)) != 0)
            break;
        size_t dst = o->cap - 1 - o->len, src = inlen - off;
        hint = LZ4F_decompress(dctx, o->p + o->len, &dst, in + off, &src, NULL);
        if (LZ4F_isError(hint)) {
            rc = fs_err_set(err, FS_ECODEC, (long long)off, "lz4: %s", LZ4F_getErrorName(hint));
            break;
        }
        off += src;
        o->len += dst;
        if (hint == 0 && off < inlen && inlen - off >= 4 && in[off] == 0x04 && in[off + 1] == 0x22)
            hint = 1; /* another frame follows */
    }
    /* Flush what the context still holds after the input ended. */
    while (rc == 0 && hint != 0 && off == inlen) {
        if ((rc = obuf_room(o, 65536)) != 0)
            break;
        size_t dst = o->cap - 1 - o->len, src = 0;
        hint = LZ4F_decompress(dctx, o->p + o->len, &dst, in + off, &src, NULL);
        if (LZ4F_isError(hint) || dst == 0) {
            rc = fs_err_set(err, FS_ETRUNC, (long long)off, "lz4: truncated frame");
            break;
        }
        o->len += dst;
    }
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

/* Pick the codec by the first bytes; anything else is copied as plain text. */
int catalog_decompress(const uint8_t *in, size_t inlen, size_t max_out, char **buf, size_t *len,
                       struct fs_err *err)
{
    struct obuf o = { NULL, 0, 0, max_out };
    int rc;
    if (inlen >= 2 && in[0] == 0x1f && in[1] == 0x8b)
        rc = gunzip(in, inlen, &o, err);
    else if (inlen >= 6 && memcmp(in,
                                  "\xfd"
                                  "7zXZ\0",
                                  6) == 0)
        rc = unxz(in, inlen, &o, err);
    else if (inlen >= 4 && memcmp(in, "\x04\x22\x4d\x18", 4) == 0)
        rc = unlz4(in, inlen, &o, err);
    else if ((rc = obuf_room(&o, inlen)) == 0) {
        if (inlen)
            memcpy(o.p, in, inlen);
        o.len = inlen;
    }
    if (rc == FS_ENOSPC)
        fs_err_set(err, rc, -1, "more than %zu bytes after decompression", max_out);
    if (rc == 0 && !o.p) { /* no output at all: a buffer for the NUL alone */
        o.p = xmalloc(1);
        o.cap = 1;
    }
    if (rc) {
        free(o.p);
        return rc;
    }
    o.p[o.len] = '\0';
    *buf = o.p;
    *len = o.len;
    return 0;
}

/* Slurp a file or stdin into memory. */
static int slurp(FILE *fp, uint8_t **out, size_t *outlen)
{
    size_t cap = 1 << 20, len = 0, n;
    uint8_t *b = xmalloc(cap);
    while ((n = fread(b + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap)
            b = xrealloc(b, cap *= 2);
    }
    if (ferror(fp)) {
        free(b);
        return -EIO;
    }
    *out = b;
    *outlen = len;
    return 0;
}

/* Read path ("-" = stdin) whole and decompress it by its magic. */
int catalog_read_file(const char *path, size_t max_out, char **buf, size_t *len, struct fs_err *err)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp)
        return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    uint8_t *raw;
    size_t rawlen;
    int rc = slurp(fp, &raw, &rawlen);
    if (fp != stdin)
        fclose(fp);
    if (rc)
        return fs_err_set(err, rc, -1, "%s: read error", path);
    rc = catalog_decompress(raw, rawlen, max_out, buf, len, err);
    free(raw);
    if (rc) {
        char m[sizeof(err->msg)];
        snprintf(m, sizeof(m), "%s", err ? err->msg : "");
        fs_err_set(err, rc, -1, "%s: %s", path, m);
    }
    return rc;
}

int catalog_save(const struct catalog *c, const char *path, struct fs_err *err)
{
    if (strcmp(path, "-") == 0) {
        if (catalog_write(c, stdout) == 0 && fflush(stdout) == 0)
            return 0;
        fs_err_set(err, -EIO, -1, "cannot write the catalogue to stdout");
        return -1;
    }
    /* Replaced whole (core/atomic_file.h): a crash leaves the old catalogue. */
    struct atomic_file af;
    if (atomic_file_open(&af, path, err) != 0)
        return -1;
    if (catalog_write(c, af.fp) != 0) {
        int e = errno ? errno : EIO;
        atomic_file_abort(&af);
        fs_err_set(err, -e, -1, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    return atomic_file_commit(&af, err) ? -1 : 0;
}
