/*
 * nfdump file reader (nfdump_file.h). The layout as read here is described in
 * docs/internals/nfdump.md; this file only knows what that page says.
 */
#include "nfdump_file.h"

#include "../core/rd.h"
#include "../core/xalloc.h"
#include "pipe_stream.h"
#include "store.h"

#include <bzlib.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

enum { NFD_V1_HDR = 140, NFD_V1_STAT = 136, NFD_V2_HDR = 40, NFD_BHDR = 12 };
enum { CODEC_NONE = 0, CODEC_LZO = 1, CODEC_BZ2 = 2, CODEC_LZ4 = 3, CODEC_ZSTD = 4 };
enum { REC_V0COMMON = 1, REC_EXTMAP = 2, REC_EXPORTER = 7, REC_COMMON = 10, REC_V3 = 11 };
enum { REC_STAT = 0x8002 };
#define NFD_MAX_MAP_IDS 64

/* The bytes of the file: an open FILE or a buffer, with a read offset. */
struct nsrc {
    FILE *fp;
    const uint8_t *mem;
    uint64_t size, off;
};

struct nfd_exp {
    uint16_t sysid;
    uint8_t addr[16];
};

/* A 1.6 extension map: the optional extensions of the records that name its id. */
struct nfd_map {
    uint16_t id, n;
    uint16_t ids[NFD_MAX_MAP_IDS];
};

struct nfd {
    struct nsrc src;
    const char *name;
    const struct nfd_sink *sink;
    struct nfd_stats *st;
    int layout, codec, stop, bad; /* bad: the current block had a bad record */
    int want_times, have_times;   /* nfdump_file_times: look for the stat record only */
    uint64_t t_first, t_last;
    uint64_t data_off;    /* first data block */
    uint64_t block_off;   /* the current block's header */
    uint8_t *cbuf, *rbuf; /* compressed payload, decompressed payload */
    size_t ccap, rcap;
    ZSTD_DCtx *zctx;
    struct nfd_exp *exp;
    size_t nexp, capexp;
    struct nfd_map *maps;
    size_t nmaps, capmaps;
};

/* ---- bytes ---- */

static int src_read(struct nsrc *s, void *dst, size_t n)
{
    if (n > s->size - s->off)
        return FS_ETRUNC;
    if (!s->fp)
        memcpy(dst, s->mem + s->off, n);
    else if (fread(dst, 1, n, s->fp) != n)
        return ferror(s->fp) ? -EIO : FS_ETRUNC;
    s->off += n;
    return 0;
}

static int src_seek(struct nsrc *s, uint64_t off)
{
    if (off > s->size)
        return FS_ETRUNC;
    if (s->fp && fseeko(s->fp, (off_t)off, SEEK_SET) != 0)
        return -errno;
    s->off = off;
    return 0;
}

static void warnf(struct nfd *d, const char *fmt, const char *what)
{
    char msg[300];
    snprintf(msg, sizeof(msg), "%s: block at offset %llu: %s%s", d->name,
             (unsigned long long)d->block_off, fmt, what ? what : "");
    if (d->sink->warn)
        d->sink->warn(d->sink->ctx, msg);
}

/* nfdump keeps an IPv4 address as a host-order 32-bit number. */
static void addr_v4(uint8_t a[16], uint32_t v)
{
    const uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    flow_addr_from_v4(a, b);
}

/* ... and an IPv6 address as two host-order 64-bit numbers, the high half first. */
static void addr_v6(uint8_t a[16], struct rd *r)
{
    uint64_t hi = rd_le64(r), lo = rd_le64(r);
    for (int i = 0; i < 8; i++) {
        a[i] = (uint8_t)(hi >> (56 - 8 * i));
        a[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
}

/* ---- exporters and extension maps ---- */

static const uint8_t *exporter_of(const struct nfd *d, uint16_t sysid)
{
    for (size_t i = 0; i < d->nexp; i++)
        if (d->exp[i].sysid == sysid)
            return d->exp[i].addr;
    return NULL;
}

/* An exporter record: its sysid is what flow records name. */
static int read_exporter(struct nfd *d, struct rd *r)
{
    rd_skip(r, 4); /* netflow version */
    uint8_t ip[16];
    rd_bytes(r, ip, sizeof(ip));
    uint16_t family = rd_le16(r), sysid = rd_le16(r);
    if (r->err)
        return -1;
    struct nfd_exp e = { .sysid = sysid };
    struct rd ar = rd_init(ip, sizeof(ip));
    if (family == 10) {
        addr_v6(e.addr, &ar);
    } else {
        rd_skip(&ar, 8);
        addr_v4(e.addr, rd_le32(&ar));
    }
    for (size_t i = 0; i < d->nexp; i++)
        if (d->exp[i].sysid == sysid) {
            d->exp[i] = e;
            return 0;
        }
    if (d->nexp == d->capexp) {
        d->capexp = d->capexp ? d->capexp * 2 : 8;
        d->exp = xrealloc(d->exp, d->capexp * sizeof(*d->exp));
    }
    d->exp[d->nexp++] = e;
    return 0;
}

static const struct nfd_map *map_of(const struct nfd *d, uint16_t id)
{
    for (size_t i = 0; i < d->nmaps; i++)
        if (d->maps[i].id == id)
            return &d->maps[i];
    return NULL;
}

static int read_extmap(struct nfd *d, struct rd *r)
{
    struct nfd_map m = { .id = rd_le16(r) };
    rd_skip(r, 2); /* the extensions' total size: the record's own size says it */
    while (rd_left(r) >= 2 && m.n < NFD_MAX_MAP_IDS) {
        uint16_t id = rd_le16(r);
        if (!id)
            break;
        m.ids[m.n++] = id;
    }
    if (r->err)
        return -1;
    for (size_t i = 0; i < d->nmaps; i++)
        if (d->maps[i].id == m.id) {
            d->maps[i] = m;
            return 0;
        }
    if (d->nmaps == d->capmaps) {
        d->capmaps = d->capmaps ? d->capmaps * 2 : 8;
        d->maps = xrealloc(d->maps, d->capmaps * sizeof(*d->maps));
    }
    d->maps[d->nmaps++] = m;
    return 0;
}

/* ---- 1.7 V3 records ---- */

static void el_generic(struct flow *f, struct rd *r)
{
    f->first = rd_le64(r);
    f->last = rd_le64(r);
    rd_skip(r, 8); /* received */
    f->packets = rd_le64(r);
    f->bytes = rd_le64(r);
    f->sport = rd_le16(r);
    f->dport = rd_le16(r);
    f->proto = rd_u8(r);
    f->flags = rd_u8(r);
    rd_skip(r, 1); /* forwarding status */
    f->tos = rd_u8(r);
}

/* What a V3 record's elements say besides the flow's own fields. */
struct v3addr {
    uint8_t s4[16], d4[16], s6[16], d6[16], recv[16];
    int has4, has6, has_recv;
    uint64_t event_ms; /* NSEL / NEL event time (elements 19, 25), 0 = none */
};

/*
 * NSEL and NEL (nfdump's EXnselCommon 19, EXnselXlateIPv4 20, EXnselXlateIPv6 21,
 * EXnselXlatePort 22, EXnselAcl 23, EXnelCommon 25) as nfdump 1.7.1 writes them,
 * checked against its own nfdump -o raw of the shared ASA and NAT captures (21, the
 * IPv6 translation, has no capture: read when it holds two 16-byte addresses);
 * an element shorter than that is skipped.
 */
static void v3_nsel(struct flow *f, uint16_t type, struct rd *r, struct v3addr *a)
{
    switch (type) {
    case 19: /* u64 event ms, u32 connection id, u16 extended event, u8 event */
        if (rd_left(r) < 16)
            break;
        a->event_ms = rd_le64(r);
        rd_skip(r, 4);
        f->fw_ext_event = rd_le16(r);
        f->fw_event = rd_u8(r);
        break;
    case 20: /* u32 translated source, u32 destination */
        if (rd_left(r) < 8)
            break;
        addr_v4(f->xsrc, rd_le32(r));
        addr_v4(f->xdst, rd_le32(r));
        break;
    case 21: /* two IPv6 addresses as element 3 has them */
        if (rd_left(r) < 32)
            break;
        addr_v6(f->xsrc, r);
        addr_v6(f->xdst, r);
        break;
    case 22: /* u16 translated source port, u16 destination port */
        if (rd_left(r) < 4)
            break;
        f->xsport = rd_le16(r);
        f->xdport = rd_le16(r);
        break;
    case 23: { /* ingress ACL[3], egress ACL[3] (ACL id, ACE id, extended id): the
                * exporter's 12 bytes each, as they came (network order) */
        if (rd_left(r) < 24)
            break;
        uint64_t in0 = rd_be32(r), in1 = rd_be32(r);
        rd_skip(r, 4);
        uint64_t eg0 = rd_be32(r), eg1 = rd_be32(r);
        f->ingress_acl = in0 << 32 | in1;
        f->egress_acl = eg0 << 32 | eg1;
        break;
    }
    case 25: /* nfdump 1.7.1: u64 event ms, u32 (pool id), u8 event, 3 fill */
        if (rd_left(r) != 16)
            break;
        a->event_ms = rd_le64(r);
        rd_skip(r, 4);
        f->nat_event = rd_u8(r);
        break;
    default:
        break;
    }
}

/* One element of a V3 record. */
static void v3_element(struct flow *f, uint16_t type, struct rd *r, struct v3addr *a)
{
    switch (type) {
    case 1:
        el_generic(f, r);
        break;
    case 2:
        addr_v4(a->s4, rd_le32(r));
        addr_v4(a->d4, rd_le32(r));
        a->has4 = 1;
        break;
    case 3:
        addr_v6(a->s6, r);
        addr_v6(a->d6, r);
        a->has6 = 1;
        break;
    case 4:
        f->in_if = rd_le32(r);
        f->out_if = rd_le32(r);
        break;
    case 5:
        rd_skip(r, 8); /* aggregated flows */
        f->rpackets = rd_le64(r);
        f->rbytes = rd_le64(r);
        break;
    case 6:
        f->vlan = (uint16_t)rd_le32(r);
        break;
    case 7:
        f->src_as = rd_le32(r);
        f->dst_as = rd_le32(r);
        break;
    case 12:
    case 13:
        if (type == 12)
            addr_v4(a->recv, rd_le32(r));
        else
            addr_v6(a->recv, r);
        a->has_recv = !r->err;
        break;
    default:
        v3_nsel(f, type, r, a);
        break;
    }
}

/* 1 when a6 is zero, or the IPv4-compatible form (::a.b.c.d) of the mapped a4. */
static int v6_echoes_v4(const uint8_t a6[16], const uint8_t a4[16])
{
    static const uint8_t zero[16];
    return !memcmp(a6, zero, 16) || (!memcmp(a6, zero, 12) && !memcmp(a6 + 12, a4 + 12, 4));
}

/*
 * Some exporters fill both address families of a template: nfdump keeps both elements
 * and prints the IPv6 one. It is taken here too, unless it only repeats the IPv4
 * addresses (zero, or ::a.b.c.d of them): then the flow is the IPv4 one.
 */
static void v3_addrs(struct flow *f, const struct v3addr *a)
{
    int v6 = a->has6 && !(a->has4 && v6_echoes_v4(a->s6, a->s4) && v6_echoes_v4(a->d6, a->d4));
    f->ipver = v6 ? 6 : 4;
    if (v6) {
        memcpy(f->src, a->s6, 16);
        memcpy(f->dst, a->d6, 16);
    } else if (a->has4) {
        memcpy(f->src, a->s4, 16);
        memcpy(f->dst, a->d4, 16);
    } else {
        addr_v4(f->src, 0);
        addr_v4(f->dst, 0);
    }
}

/* A V3 record (r after its type and size). -1 when its elements overrun it. */
static int read_v3(struct nfd *d, struct rd *r, struct flow *f)
{
    uint16_t nel = rd_le16(r);
    rd_skip(r, 2); /* engine type and id */
    uint16_t exporter = rd_le16(r);
    rd_skip(r, 2); /* flags, netflow version */
    struct v3addr a;
    a.has4 = a.has6 = a.has_recv = 0;
    a.event_ms = 0;
    for (uint16_t i = 0; i < nel && !r->err; i++) {
        uint16_t type = rd_le16(r), len = rd_le16(r);
        if (len < 4 || len - 4u > rd_left(r))
            return -1;
        struct rd er = rd_init(rd_take(r, len - 4u), len - 4u);
        v3_element(f, type, &er, &a);
        if (er.err)
            return -1;
    }
    if (r->err)
        return -1;
    v3_addrs(f, &a);
    /* An event carries its time there, not as the flow's end (as collect reads 323). */
    if (a.event_ms && !f->last)
        f->last = a.event_ms;
    if (a.event_ms && !f->first)
        f->first = a.event_ms;
    const uint8_t *ex = exporter_of(d, exporter);
    if (ex)
        memcpy(f->exporter, ex, 16);
    else if (a.has_recv)
        memcpy(f->exporter, a.recv, 16);
    return 0;
}

/* ---- 1.6 common records ---- */

/* Bytes of a 1.6 extension past the three required ones; 0 = not known. */
static size_t ext16_size(uint16_t id)
{
    static const uint8_t size[28] = { 0, 0, 0, 0, 4, 8, 4,  8,  4,  4, 16, 4, 16, 4,
                                      4, 8, 4, 8, 4, 8, 16, 16, 40, 4, 16, 4, 8,  8 };
    return id < sizeof(size) ? size[id] : 0;
}

static void ext16(struct flow *f, uint16_t id, struct rd *r)
{
    switch (id) {
    case 4:
    case 6: {
        uint16_t a = rd_le16(r), b = rd_le16(r);
        *(id == 4 ? &f->in_if : &f->src_as) = a;
        *(id == 4 ? &f->out_if : &f->dst_as) = b;
        break;
    }
    case 5:
        f->in_if = rd_le32(r);
        f->out_if = rd_le32(r);
        break;
    case 7:
        f->src_as = rd_le32(r);
        f->dst_as = rd_le32(r);
        break;
    case 13:
        f->vlan = rd_le16(r);
        break;
    case 14:
    case 15:
        f->rpackets = id == 14 ? rd_le32(r) : rd_le64(r);
        break;
    case 16:
    case 17:
        f->rbytes = id == 16 ? rd_le32(r) : rd_le64(r);
        break;
    case 23: { /* a zero address is no address: the exporter record then tells */
        uint32_t v = rd_le32(r);
        if (v)
            addr_v4(f->exporter, v);
        break;
    }
    case 24:
        addr_v6(f->exporter, r);
        break;
    default:
        break;
    }
}

/* The extensions of a 1.6 record: required 1-3 by its flags, then its map's. */
static int read_exts16(struct nfd *d, struct rd *r, struct flow *f, uint16_t flags, uint16_t mapid)
{
    f->ipver = flags & 1 ? 6 : 4;
    if (flags & 1) {
        addr_v6(f->src, r);
        addr_v6(f->dst, r);
    } else {
        addr_v4(f->src, rd_le32(r));
        addr_v4(f->dst, rd_le32(r));
    }
    f->packets = flags & 2 ? rd_le64(r) : rd_le32(r);
    f->bytes = flags & 4 ? rd_le64(r) : rd_le32(r);
    if (r->err)
        return -1;
    const struct nfd_map *m = map_of(d, mapid);
    if (!m)
        return -1;
    /* An extension of unknown size ends what can be read of the record. */
    for (uint16_t i = 0; i < m->n; i++) {
        size_t n = ext16_size(m->ids[i]);
        if (!n)
            break;
        if (rd_left(r) < n)
            return -1;
        struct rd er = rd_init(rd_take(r, n), n);
        ext16(f, m->ids[i], &er);
    }
    return 0;
}

/* A 1.6 common record, type 10 (wide exporter id) or type 1 (r after type and size). */
static int read_common16(struct nfd *d, struct rd *r, struct flow *f, int wide)
{
    uint16_t flags, sysid = 0;
    if (wide) {
        flags = rd_le16(r);
    } else {
        flags = rd_u8(r);
        sysid = rd_u8(r);
    }
    uint16_t mapid = rd_le16(r), ms_first = rd_le16(r), ms_last = rd_le16(r);
    uint32_t first = rd_le32(r), last = rd_le32(r);
    rd_skip(r, 1); /* forwarding status */
    f->flags = rd_u8(r);
    f->proto = rd_u8(r);
    f->tos = rd_u8(r);
    f->sport = rd_le16(r);
    f->dport = rd_le16(r);
    if (wide) {
        sysid = rd_le16(r);
        rd_skip(r, 2); /* biflow direction, end reason */
    }
    f->first = (uint64_t)first * 1000 + ms_first;
    f->last = (uint64_t)last * 1000 + ms_last;
    if (r->err || read_exts16(d, r, f, flags, mapid) != 0)
        return -1;
    static const uint8_t zero[16];
    const uint8_t *ex = exporter_of(d, sysid);
    if (ex && !memcmp(f->exporter, zero, 16))
        memcpy(f->exporter, ex, 16);
    return 0;
}

/* ---- records of a block ---- */

/* One record; 1 when it was a flow handed out (f filled). -1 when malformed. */
static int read_record(struct nfd *d, uint16_t type, struct rd *r, struct flow *f)
{
    memset(f, 0, sizeof(*f));
    switch (type) {
    case REC_V3:
        return read_v3(d, r, f) == 0 ? 1 : -1;
    case REC_COMMON:
    case REC_V0COMMON:
        return read_common16(d, r, f, type == REC_COMMON) == 0 ? 1 : -1;
    case REC_EXTMAP:
        return read_extmap(d, r);
    case REC_EXPORTER:
        return read_exporter(d, r);
    default:
        return 0; /* statistics, samplers, names: nothing of a flow */
    }
}

/* Layout 2's stat record (in the appendix): flow counters, then the time range. */
static void read_stat(struct nfd *d, uint16_t type, struct rd *r)
{
    if (type != REC_STAT)
        return;
    rd_skip(r, (size_t)15 * 8);
    d->t_first = rd_le64(r);
    d->t_last = rd_le64(r);
    d->have_times = !r->err;
    d->stop = 1;
}

static void read_records(struct nfd *d, const uint8_t *p, size_t n, uint32_t nrec)
{
    struct rd r = rd_init(p, n);
    struct flow f;
    for (uint32_t i = 0; i < nrec && rd_left(&r) >= 4 && !d->stop; i++) {
        const uint8_t *rec = r.p;
        uint16_t type = rd_le16(&r), size = rd_le16(&r);
        if (size < 4 || size - 4u > rd_left(&r)) {
            warnf(d, "a record overruns its block", NULL);
            d->bad = 1;
            return;
        }
        rd_skip(&r, size - 4u);
        struct rd rr = rd_init(rec + 4, size - 4u);
        if (d->want_times) {
            read_stat(d, type, &rr);
            continue;
        }
        d->st->records++;
        int rc = read_record(d, type, &rr, &f);
        if (rc < 0 && !d->bad) {
            warnf(d, "a malformed record skipped", NULL);
            d->bad = 1;
        }
        if (rc == 1) {
            d->st->flows++;
            d->stop = d->sink->flow(d->sink->ctx, &f) != 0;
        }
    }
}

/* ---- blocks ---- */

/* One attempt into rbuf's rcap bytes: the decoded length, -1 when the payload is
 * corrupt, -2 when the output did not fit (LZ4 cannot tell the two apart: -2). */
static long try_decompress(struct nfd *d, size_t n)
{
    switch (d->codec) {
    case CODEC_LZ4: {
        int k = LZ4_decompress_safe((const char *)d->cbuf, (char *)d->rbuf, (int)n, (int)d->rcap);
        return k < 0 ? -2 : k;
    }
    case CODEC_LZO: {
        lzo_uint out = d->rcap;
        int rc = lzo1x_decompress_safe(d->cbuf, n, d->rbuf, &out, NULL);
        return rc == LZO_E_OK ? (long)out : rc == LZO_E_OUTPUT_OVERRUN ? -2 : -1;
    }
    case CODEC_BZ2: {
        unsigned int out = (unsigned int)d->rcap;
        int rc = BZ2_bzBuffToBuffDecompress((char *)d->rbuf, &out, (char *)d->cbuf, (unsigned int)n,
                                            0, 0);
        return rc == BZ_OK ? (long)out : rc == BZ_OUTBUFF_FULL ? -2 : -1;
    }
    default: {
        if (!d->zctx)
            d->zctx = ZSTD_createDCtx();
        size_t k = ZSTD_decompressDCtx(d->zctx, d->rbuf, d->rcap, d->cbuf, n);
        if (!ZSTD_isError(k))
            return (long)k;
        return ZSTD_getErrorCode(k) == ZSTD_error_dstSize_tooSmall ? -2 : -1;
    }
    }
}

/*
 * Decompress n bytes of cbuf into rbuf: the decoded length, or -1 with *why set. The
 * output buffer starts small and doubles up to the cap, so a block costs memory in
 * proportion to what it holds and a bomb stops at NFD_MAX_BLOCK.
 */
static long decompress(struct nfd *d, size_t n, const char **why)
{
    if (d->codec < CODEC_LZO || d->codec > CODEC_ZSTD) {
        *why = "unknown compression";
        return -1;
    }
    size_t room = n * 4 > (256u << 10) ? n * 4 : (256u << 10);
    if (d->codec == CODEC_ZSTD) {
        unsigned long long want = ZSTD_getFrameContentSize(d->cbuf, n);
        if (want != ZSTD_CONTENTSIZE_UNKNOWN && want != ZSTD_CONTENTSIZE_ERROR && want > room)
            room = want > NFD_MAX_BLOCK ? NFD_MAX_BLOCK : (size_t)want;
    }
    for (;;) {
        room = room > NFD_MAX_BLOCK ? NFD_MAX_BLOCK : room;
        if (d->rcap < room) {
            free(d->rbuf);
            d->rbuf = xmalloc(room);
            d->rcap = room;
        }
        long k = try_decompress(d, n);
        if (k >= 0)
            return k;
        if (k == -1 || d->rcap >= NFD_MAX_BLOCK) {
            *why = k == -1 ? "does not decompress"
                   : d->codec == CODEC_LZ4
                       ? "does not decompress (or to more than the block cap, 8 MiB)"
                       : "decompresses to more than the block cap (8 MiB)";
            return -1;
        }
        room = d->rcap * 2;
    }
}

/* Read and decode the block at the current offset: 1 read (maybe bad), 0 at the end,
 * negative when the file cannot be read further. */
static int next_block(struct nfd *d, struct fs_err *err)
{
    d->block_off = d->src.off;
    if (d->src.off == d->src.size)
        return 0;
    uint8_t h[NFD_BHDR] = { 0 }; /* parsed even after a short read: zeros then */
    int rc = src_read(&d->src, h, sizeof(h));
    struct rd r = rd_init(h, sizeof(h));
    uint32_t nrec = rd_le32(&r), size = rd_le32(&r);
    uint16_t type = rd_le16(&r), flags = rd_le16(&r);
    if (rc == 0 && size > d->src.size - d->src.off)
        rc = FS_ETRUNC;
    if (rc)
        return fs_err_set(err, rc, (long long)d->block_off,
                          "%s: block at offset %llu: %s (the file ends before it does)", d->name,
                          (unsigned long long)d->block_off, fs_strerror(rc));
    d->st->blocks++;
    d->bad = 0;
    if (size > NFD_MAX_BLOCK) {
        warnf(d, "block size over the cap (8 MiB), skipped", NULL);
        d->st->blocks_bad++;
        return src_seek(&d->src, d->src.off + size) == 0 ? 1 : FS_ETRUNC;
    }
    if (d->ccap < size || !d->cbuf) {
        free(d->cbuf);
        d->ccap = size ? size : 1;
        d->cbuf = xmalloc(d->ccap);
    }
    if ((rc = src_read(&d->src, d->cbuf, size)) != 0)
        return fs_err_set(err, rc, (long long)d->block_off, "%s: block at offset %llu: %s", d->name,
                          (unsigned long long)d->block_off, fs_strerror(rc));
    const uint8_t *p = d->cbuf;
    long n = size;
    /* Layout 2 marks a raw block with flag bit 0; layout 1 with flags == 1. */
    int raw = d->codec == CODEC_NONE || (d->layout == 2 ? (flags & 1) : flags == 1);
    const char *why = NULL;
    if (!raw && (n = decompress(d, size, &why)) < 0) {
        warnf(d, "skipped: payload ", why);
        d->st->blocks_bad++;
        return 1;
    }
    if (!raw)
        p = d->rbuf;
    if (type == 2 || type == 3)
        read_records(d, p, (size_t)n, nrec);
    else if (type != 4) {
        warnf(d, "skipped: unknown block type", NULL);
        d->bad = 1;
    }
    d->st->blocks_bad += (uint64_t)d->bad;
    return 1;
}

/* ---- file headers ---- */

static int parse_header(struct nfd *d, struct fs_err *err)
{
    uint8_t h[NFD_V1_HDR];
    size_t n = d->src.size < sizeof(h) ? (size_t)d->src.size : sizeof(h);
    if (src_read(&d->src, h, n) != 0 || !nfdump_probe(h, n))
        return fs_err_set(err, FS_EFORMAT, 0, "%s: not an nfdump file (magic, layout)", d->name);
    struct rd r = rd_init(h, n);
    rd_skip(&r, 2);
    d->layout = rd_le16(&r);
    if (d->layout == 1) {
        uint32_t flags = rd_le32(&r);
        d->codec = flags & 0x1 ? CODEC_LZO : flags & 0x8 ? CODEC_BZ2 : flags & 0x10 ? CODEC_LZ4 : 0;
        d->data_off = NFD_V1_HDR + NFD_V1_STAT;
    } else {
        rd_skip(&r, 12); /* nfdump version, creation time */
        d->codec = rd_u8(&r);
        uint8_t crypt = rd_u8(&r);
        if (r.err || n < NFD_V2_HDR)
            return fs_err_set(err, FS_ETRUNC, 0, "%s: file header cut short", d->name);
        if (crypt)
            return fs_err_set(err, FS_EUNSUP, 16, "%s: encrypted nfdump file", d->name);
        d->data_off = NFD_V2_HDR;
    }
    if (d->data_off > d->src.size)
        return fs_err_set(err, FS_ETRUNC, 0, "%s: file header cut short", d->name);
    return src_seek(&d->src, d->data_off);
}

static void nfd_free(struct nfd *d)
{
    free(d->cbuf);
    free(d->rbuf);
    free(d->exp);
    free(d->maps);
    ZSTD_freeDCtx(d->zctx);
}

static int decode(struct nfd *d, struct fs_err *err)
{
    int rc = parse_header(d, err);
    while (rc == 0 && !d->stop && (rc = next_block(d, err)) == 1)
        rc = 0;
    if (rc < 0)
        d->st->errors++;
    else
        d->st->files++;
    nfd_free(d);
    return rc < 0 ? rc : 0;
}

int nfdump_probe(const uint8_t *p, size_t n)
{
    struct rd r = rd_init(p, n);
    uint16_t magic = rd_le16(&r), layout = rd_le16(&r);
    return !r.err && magic == NFD_MAGIC && (layout == 1 || layout == 2);
}

int nfdump_probe_path(const char *path)
{
    /* Not even opened unless regular: opening a FIFO's read end for a look, then
     * closing it, would give its writer a broken pipe before the real reader came. */
    struct stat pst;
    if (stat(path, &pst) != 0)
        return -errno;
    if (!S_ISREG(pst.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    uint8_t h[4];
    int yes =
        fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, h, 4) == 4 && nfdump_probe(h, 4);
    close(fd);
    return yes;
}

int nfdump_decode_buf(const uint8_t *buf, size_t len, const char *name, const struct nfd_sink *s,
                      struct nfd_stats *st, struct fs_err *err)
{
    struct nfd d = { .src = { NULL, buf, len, 0 }, .name = name, .sink = s, .st = st };
    return decode(&d, err);
}

static FILE *open_file(const char *path, uint64_t *size, struct fs_err *err)
{
    FILE *fp = fopen(path, "rb");
    struct stat sb;
    if (fp && fstat(fileno(fp), &sb) == 0) {
        *size = (uint64_t)sb.st_size;
        return fp;
    }
    fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    if (fp)
        fclose(fp);
    return NULL;
}

int nfdump_read_file(const char *path, const struct nfd_sink *s, struct nfd_stats *st,
                     struct fs_err *err)
{
    uint64_t size = 0;
    FILE *fp = open_file(path, &size, err);
    if (!fp) {
        st->errors++;
        return err ? err->code : -EIO;
    }
    struct nfd d = { .src = { fp, NULL, size, 0 }, .name = path, .sink = s, .st = st };
    int rc = decode(&d, err);
    fclose(fp);
    return rc;
}

/* ---- time range ---- */

static int times_v1(struct nfd *d, struct fs_err *err)
{
    uint8_t s[NFD_V1_STAT];
    if (src_seek(&d->src, NFD_V1_HDR) != 0 || src_read(&d->src, s, sizeof(s)) != 0)
        return fs_err_set(err, FS_ETRUNC, NFD_V1_HDR, "%s: stat record cut short", d->name);
    struct rd r = rd_init(s, sizeof(s));
    rd_skip(&r, (size_t)15 * 8);
    uint32_t first = rd_le32(&r), last = rd_le32(&r);
    uint16_t ms_first = rd_le16(&r), ms_last = rd_le16(&r);
    d->t_first = (uint64_t)first * 1000 + ms_first;
    d->t_last = (uint64_t)last * 1000 + ms_last;
    d->have_times = 1;
    return 0;
}

/* Layout 2: the appendix at the offset the header gives holds the stat record. */
static int times_v2(struct nfd *d, struct fs_err *err)
{
    uint8_t h[8];
    if (src_seek(&d->src, 24) != 0 || src_read(&d->src, h, sizeof(h)) != 0)
        return fs_err_set(err, FS_ETRUNC, 24, "%s: file header cut short", d->name);
    struct rd r = rd_init(h, sizeof(h));
    uint64_t off = rd_le64(&r);
    if (off < NFD_V2_HDR || off >= d->src.size || src_seek(&d->src, off) != 0)
        return 0;
    while (!d->stop && next_block(d, err) == 1)
        ;
    return 0;
}

int nfdump_file_times(const char *path, uint64_t *first, uint64_t *last, struct fs_err *err)
{
    uint64_t size = 0;
    FILE *fp = open_file(path, &size, err);
    if (!fp)
        return err ? err->code : -EIO;
    struct nfd_stats st = { 0 };
    static const struct nfd_sink none = { 0 };
    struct nfd d = {
        .src = { fp, NULL, size, 0 }, .name = path, .sink = &none, .st = &st, .want_times = 1
    };
    int rc = parse_header(&d, err);
    if (rc == 0)
        rc = d.layout == 1 ? times_v1(&d, err) : times_v2(&d, err);
    nfd_free(&d);
    fclose(fp);
    if (rc == 0 && (!d.have_times || d.t_last < d.t_first || !d.t_last))
        rc = FS_EUNSUP;
    *first = d.t_first;
    *last = d.t_last;
    return rc;
}

/* ---- folders ---- */

struct lent {
    char *path;
    uint64_t ms; /* time from the name, UINT64_MAX when it has none */
};

struct lst {
    struct lent *v;
    size_t n, cap;
    size_t skipped; /* dated out of the window by their names, not opened */
};

/* nfcapd names a file by the start of its interval: nfcapd.YYYYMMDDhhmm[ss] (UTC or
 * local time; a day of slack covers either). */
static uint64_t name_ms(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *s = dot ? dot + 1 : name;
    size_t len = strlen(s);
    if (len != 12 && len != 14)
        return UINT64_MAX;
    int v[7] = { 0 };
    static const int w[7] = { 4, 2, 2, 2, 2, 2, 2 };
    for (int i = 0, k = 0; i < (len == 12 ? 5 : 6); i++)
        for (int j = 0; j < w[i]; j++, k++) {
            if (s[k] < '0' || s[k] > '9')
                return UINT64_MAX;
            v[i] = v[i] * 10 + (s[k] - '0');
        }
    struct tm tm = { .tm_year = v[0] - 1900,
                     .tm_mon = v[1] - 1,
                     .tm_mday = v[2],
                     .tm_hour = v[3],
                     .tm_min = v[4],
                     .tm_sec = v[5] };
    time_t t = timegm(&tm);
    return t < 0 ? UINT64_MAX : (uint64_t)t * 1000;
}

static void lst_add(struct lst *l, char *path, uint64_t ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].path = path;
    l->v[l->n++].ms = ms;
}

static int lent_cmp(const void *a, const void *b)
{
    const struct lent *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* One folder entry: a sub-folder to walk, or a file to keep when it is nfdump's. */
static void walk(int dfd, const char *dir, int depth, uint64_t from_ms, struct lst *l);

static void walk_entry(int dfd, const char *dir, const char *name, int depth, uint64_t from_ms,
                       struct lst *l)
{
    struct stat st;
    if (name[0] == '.' || !strncmp(name, "nfcapd.current", 14) ||
        fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = xmalloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    if (S_ISDIR(st.st_mode) && depth < NFD_WALK_DEPTH) {
        int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            walk(sub, path, depth + 1, from_ms, l);
        free(path);
        return;
    }
    uint64_t bin_ms;
    uint32_t suffix;
    if (store_bin_parse(name, &bin_ms, &suffix) == 0) {
        free(path); /* a flowsleuth store's bin: not opened to look for nfdump's magic */
        return;
    }
    uint64_t ms = name_ms(name);
    int fd = -1;
    uint8_t h[4];
    /* nfcapd's name dated a day before the window cannot hold a flow in it: not opened
     * (other names are: only the magic makes a file nfdump's). */
    int early =
        from_ms && ms != UINT64_MAX && ms + 86400000 <= from_ms && !strncmp(name, "nfcapd.", 7);
    l->skipped += S_ISREG(st.st_mode) && early;
    int keep = S_ISREG(st.st_mode) && !early &&
               (fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
               read(fd, h, 4) == 4 && nfdump_probe(h, 4);
    if (fd >= 0)
        close(fd);
    if (keep)
        lst_add(l, path, ms);
    else
        free(path);
}

static void walk(int dfd, const char *dir, int depth, uint64_t from_ms, struct lst *l)
{
    DIR *dp = fdopendir(dfd);
    if (!dp) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dp)) != NULL)
        walk_entry(dirfd(dp), dir, de->d_name, depth, from_ms, l);
    closedir(dp);
}

int nfdump_list(const char *dir, uint64_t from_ms, char ***out, size_t *n, size_t *skipped,
                struct fs_err *err)
{
    struct lst l = { 0 };
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fs_err_set(err, -errno, -1, "%s: %s", dir, strerror(errno));
    size_t dl = strlen(dir);
    char *d = xstrdup(dir);
    while (dl > 1 && d[dl - 1] == '/')
        d[--dl] = '\0';
    walk(dfd, d, 0, from_ms, &l);
    free(d);
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), lent_cmp);
    *out = xcalloc(l.n ? l.n : 1, sizeof(char *));
    for (size_t i = 0; i < l.n; i++)
        (*out)[i] = l.v[i].path;
    *n = l.n;
    *skipped = l.skipped;
    free(l.v);
    return 0;
}

void nfdump_list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- inputs of a command ---- */

/* What the command and its converter threads share; freed by the last to let go. */
struct nfd_shared {
    struct nfd_sink sink; /* warn only */
    _Atomic uint64_t files, files_skipped, blocks, blocks_bad, flows, errors;
    _Atomic int refs;
};

static void shared_put(struct nfd_shared *sh)
{
    if (atomic_fetch_sub(&sh->refs, 1) == 1)
        free(sh);
}

static void shared_add(struct nfd_shared *sh, const struct nfd_stats *st)
{
    atomic_fetch_add(&sh->files, st->files);
    atomic_fetch_add(&sh->files_skipped, st->files_skipped);
    atomic_fetch_add(&sh->blocks, st->blocks);
    atomic_fetch_add(&sh->blocks_bad, st->blocks_bad);
    atomic_fetch_add(&sh->flows, st->flows);
    atomic_fetch_add(&sh->errors, st->errors);
}

static void shared_warn(struct nfd_shared *sh, const char *msg)
{
    if (sh->sink.warn)
        sh->sink.warn(sh->sink.ctx, msg);
}

/* One -r path's conversion: its files, into the write end of a pipe. */
struct job {
    struct nfd_shared *sh;
    char **files;
    size_t n;
    uint64_t from_ms, to_ms;
    int wfd, rfd; /* the pipe's ends */
    struct store_writer *w;
    struct fs_err werr;
    int failed;
};

static int job_flow(void *ctx, const struct flow *f)
{
    struct job *j = ctx;
    j->failed = store_writer_add(j->w, f, &j->werr) != 0;
    return j->failed;
}

static void job_warn(void *ctx, const char *msg)
{
    struct job *j = ctx;
    shared_warn(j->sh, msg);
}

/* 1 when the file's stat record proves it has no flow in the window. */
static int outside(const char *path, uint64_t from_ms, uint64_t to_ms)
{
    uint64_t first, last;
    if (!from_ms && !to_ms)
        return 0;
    if (nfdump_file_times(path, &first, &last, NULL) != 0)
        return 0;
    return last < from_ms || (to_ms && first >= to_ms);
}

/* Convert the job's files one after the other. Every count is published before the
 * writer's end block, so a reader that saw the end of the stream sees final counts. */
static void job_files(struct job *j)
{
    struct nfd_sink ns = { job_flow, job_warn, j };
    for (size_t i = 0; i < j->n && !j->failed; i++) {
        struct nfd_stats st = { 0 };
        if (outside(j->files[i], j->from_ms, j->to_ms)) {
            st.files_skipped++;
        } else {
            struct fs_err e = { 0 };
            if (nfdump_read_file(j->files[i], &ns, &st, &e) != 0)
                shared_warn(j->sh, e.msg);
        }
        shared_add(j->sh, &st);
    }
    if (j->failed) {
        shared_warn(j->sh, j->werr.msg);
        atomic_fetch_add(&j->sh->errors, 1);
    }
}

/* Write one job's stream: its files, then the end block; the write end is closed. */
static void job_run(struct job *j)
{
    int rc = pipe_stream_writer(&j->w, j->wfd, &j->werr);
    if (rc == 0) {
        job_files(j);
        rc = store_writer_close(j->w, &j->werr);
    }
    if (rc != 0 && !j->failed) {
        shared_warn(j->sh, j->werr.msg);
        atomic_fetch_add(&j->sh->errors, 1);
    }
}

static void job_free(struct job *j, int close_read)
{
    if (close_read) {
        close(j->wfd);
        close(j->rfd);
    }
    nfdump_list_free(j->files, j->n);
    free(j);
}

/*
 * The one converter thread of an input_open: the jobs in -r order, one after the other,
 * as the reader reads the paths in that order. One at a time bounds the memory (a glob
 * of 256 nfcapd files is 256 jobs) and keeps a stream from waiting on a later one.
 */
struct conductor {
    struct nfd_shared *sh;
    struct job **v;
    size_t n;
};

static void *conductor_run(void *arg)
{
    struct conductor *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        job_run(c->v[i]);
        job_free(c->v[i], 0);
    }
    shared_put(c->sh);
    free(c->v);
    free(c);
    return NULL;
}

/* A job for files (taken over) with its pipe. */
static int job_make(struct nfd_shared *sh, char **files, size_t n, uint64_t from_ms, uint64_t to_ms,
                    struct job **out, struct fs_err *err)
{
    int rfd, wfd;
    int rc = pipe_stream_make(&rfd, &wfd, err);
    if (rc != 0) {
        nfdump_list_free(files, n);
        return rc;
    }
    struct job *j = xcalloc(1, sizeof(*j));
    *j = (struct job){
        .sh = sh, .files = files, .n = n, .from_ms = from_ms, .to_ms = to_ms, .wfd = wfd, .rfd = rfd
    };
    *out = j;
    return 0;
}

/* Start the conductor over the jobs (taken over, freed on failure too). */
static int conductor_start(struct nfd_shared *sh, struct job **v, size_t n, struct fs_err *err)
{
    struct conductor *c = xcalloc(1, sizeof(*c));
    *c = (struct conductor){ sh, v, n };
    atomic_fetch_add(&sh->refs, 1);
    pthread_t t;
    int rc = pthread_create(&t, NULL, conductor_run, c);
    if (rc == 0) {
        pthread_detach(t);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        job_free(v[i], 1);
    free(v);
    free(c);
    shared_put(sh);
    return fs_err_set(err, -rc, -1, "cannot start the nfdump converter thread: %s", strerror(rc));
}

/* The nfdump files PATH stands for: none (0), itself, or a folder's. */
static int inputs_of(const char *path, uint64_t from_ms, char ***files, size_t *n, size_t *skipped,
                     struct fs_err *err)
{
    struct stat st;
    *n = *skipped = 0;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0)
        return 0; /* the store reader reports what it cannot open */
    if (S_ISDIR(st.st_mode))
        return nfdump_list(path, from_ms, files, n, skipped, err);
    if (nfdump_probe_path(path) != 1)
        return 0;
    *files = xcalloc(1, sizeof(char *));
    (*files)[0] = xstrdup(path);
    *n = 1;
    return 0;
}

/* Make out->paths a copy of paths, once. */
static void own_paths(struct nfdump_inputs *out, const char *const *paths, size_t npaths,
                      const struct nfd_sink *s)
{
    if (out->paths)
        return;
    out->paths = xcalloc(npaths, sizeof(char *));
    out->owned = xcalloc(npaths, sizeof(char *));
    for (size_t k = 0; k < npaths; k++)
        out->paths[k] = paths[k];
    out->npaths = npaths;
    out->sh = xcalloc(1, sizeof(*out->sh));
    out->sh->sink = *s;
    atomic_init(&out->sh->refs, 1);
}

int nfdump_inputs_prepare(struct nfdump_inputs *out, const char *const *paths, size_t npaths,
                          uint64_t from_ms, uint64_t to_ms, const struct nfd_sink *s,
                          struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    struct job **jobs = xcalloc(npaths ? npaths : 1, sizeof(struct job *));
    size_t njobs = 0;
    int rc = 0;
    for (size_t i = 0; i < npaths && rc == 0; i++) {
        char **files = NULL;
        size_t n = 0, skipped = 0;
        rc = inputs_of(paths[i], from_ms, &files, &n, &skipped, err);
        /* A folder whose files the window left out by name alone still reads empty. */
        if (rc != 0 || (!n && !skipped)) {
            if (files)
                nfdump_list_free(files, n);
            continue;
        }
        own_paths(out, paths, npaths, s);
        atomic_fetch_add(&out->sh->files_skipped, skipped);
        rc = job_make(out->sh, files, n, from_ms, to_ms, &jobs[njobs], err);
        if (rc == 0)
            out->paths[i] = out->owned[out->nowned++] = pipe_stream_path(jobs[njobs++]->rfd);
    }
    if (rc == 0 && njobs) {
        rc = conductor_start(out->sh, jobs, njobs, err);
        if (rc)
            nfdump_inputs_free(out);
        return rc;
    }
    for (size_t i = 0; i < njobs; i++)
        job_free(jobs[i], 1);
    free(jobs);
    if (rc)
        nfdump_inputs_free(out);
    return rc;
}

void nfdump_inputs_stats(const struct nfdump_inputs *in, struct nfd_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!in->sh)
        return;
    st->files = atomic_load(&in->sh->files);
    st->files_skipped = atomic_load(&in->sh->files_skipped);
    st->blocks = atomic_load(&in->sh->blocks);
    st->blocks_bad = atomic_load(&in->sh->blocks_bad);
    st->flows = atomic_load(&in->sh->flows);
    st->errors = atomic_load(&in->sh->errors);
}

void nfdump_inputs_free(struct nfdump_inputs *in)
{
    for (size_t i = 0; i < in->nowned; i++)
        free(in->owned[i]);
    free(in->owned);
    free((void *)in->paths);
    if (in->sh)
        shared_put(in->sh);
    memset(in, 0, sizeof(*in));
}
