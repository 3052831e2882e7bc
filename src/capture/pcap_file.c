#include "pcap_file.h"

#include "../core/rd.h"
#include "decode.h"

#include <limits.h>
#include <pcap/dlt.h>
#include <string.h>

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du

/* File link types (LINKTYPE_*) taken here and the DLT_* value libpcap reports for
 * each: they differ for raw IP, and for loopback on OpenBSD. */
static const struct {
    uint32_t linktype;
    int dlt;
} link_types[] = {
    { 0, FS_DLT_NULL },   { 1, FS_DLT_EN10MB },       { 101, DLT_RAW },
    { 108, DLT_LOOP },    { 113, FS_DLT_LINUX_SLL },  { 228, FS_DLT_IPV4 },
    { 229, FS_DLT_IPV6 }, { 276, FS_DLT_LINUX_SLL2 },
};

static int dlt_of(uint32_t linktype)
{
    for (size_t i = 0; i < sizeof(link_types) / sizeof(link_types[0]); i++)
        if (link_types[i].linktype == linktype)
            return link_types[i].dlt;
    return -1;
}

static uint32_t rd_u32(struct rd *r, int big)
{
    return big ? rd_be32(r) : rd_le32(r);
}

int pcap_file_header(const uint8_t *b, size_t n, struct pcap_file *out)
{
    struct rd r = rd_init(b, n);
    uint32_t magic = rd_be32(&r);
    int big;
    if (magic == MAGIC_US || magic == MAGIC_NS)
        big = 1;
    else if (__builtin_bswap32(magic) == MAGIC_US || __builtin_bswap32(magic) == MAGIC_NS)
        big = 0;
    else
        return PCAP_FILE_OTHER;
    uint16_t major = big ? rd_be16(&r) : rd_le16(&r);
    uint16_t minor = big ? rd_be16(&r) : rd_le16(&r);
    rd_u32(&r, big); /* thiszone: always 0, unused by libpcap */
    rd_u32(&r, big); /* sigfigs: likewise */
    uint32_t snaplen = rd_u32(&r, big);
    uint32_t linktype = rd_u32(&r, big) & 0x03ffffffu; /* FCS length bits above */
    /* 2.0-2.3 and DG/UX's 543.0 may swap the two lengths: libpcap's to guess */
    if (r.err || major != 2 || minor != 4)
        return PCAP_FILE_OTHER;
    int dlt = dlt_of(linktype);
    if (dlt < 0)
        return PCAP_FILE_OTHER;
    out->dlt = dlt;
    /* libpcap: 0 or over INT_MAX means "the largest"; any other value is kept, even
     * above the largest record it accepts */
    out->snapshot = snaplen == 0 || snaplen > INT_MAX ? PCAP_FILE_MAX_CAPLEN : snaplen;
    out->big = (uint8_t)big;
    out->nsec = (magic == MAGIC_NS || __builtin_bswap32(magic) == MAGIC_NS);
    return PCAP_FILE_OURS;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BIG 1
#else
#define HOST_BIG 0
#endif

/*
 * The time as capture.c makes it from libpcap's struct timeval. libpcap reads both
 * fields as signed 32-bit values from a file in the host's byte order (a second count
 * from 2038 on is negative) but as unsigned ones from a file it byte-swaps; it scales
 * nanoseconds down by a truncating division of that value. capture.c then computes
 * sec * 10^6 + usec in unsigned 64-bit arithmetic. Odd values only in odd files, but
 * the two readers must agree on every file.
 */
static uint64_t ts_of(uint32_t sec, uint32_t frac, const struct pcap_file *f)
{
    int swapped = f->big != HOST_BIG;
    int64_t s = swapped ? (int64_t)sec : (int64_t)(int32_t)sec;
    int64_t u = swapped ? (int64_t)frac : (int64_t)(int32_t)frac;
    if (f->nsec)
        u /= 1000;
    return (uint64_t)s * 1000000u + (uint64_t)u;
}

int pcap_file_record(const struct pcap_file *f, const uint8_t *b, size_t n, struct capture_pkt *out,
                     size_t *used, struct fs_err *err)
{
    if (n == 0)
        return CAPTURE_END;
    struct rd r = rd_init(b, n);
    const uint8_t *h = rd_take(&r, PCAP_FILE_REC_LEN);
    if (!h)
        return fs_err_set(err, FS_ETRUNC, -1,
                          "truncated dump file; tried to read %d header bytes, only got %zu",
                          PCAP_FILE_REC_LEN, n);
    /* The per-packet path: four words at once, swapped when the writer's order is not
     * ours (rd_le32 and rd_be32 would check the length and shift bytes four times). */
    uint32_t w[4];
    memcpy(w, h, sizeof(w));
    if (f->big != HOST_BIG)
        for (int i = 0; i < 4; i++)
            w[i] = __builtin_bswap32(w[i]);
    uint32_t sec = w[0], frac = w[1], caplen = w[2], wirelen = w[3];
    if (caplen > PCAP_FILE_MAX_CAPLEN) {
        if (caplen > f->snapshot)
            return fs_err_set(err, FS_ECORRUPT, -1,
                              "invalid packet capture length %u, bigger than snaplen of %u", caplen,
                              f->snapshot);
        return fs_err_set(err, FS_ECORRUPT, -1,
                          "invalid packet capture length %u, bigger than maximum of %u", caplen,
                          PCAP_FILE_MAX_CAPLEN);
    }
    const uint8_t *data = rd_take(&r, caplen);
    if (!data)
        return fs_err_set(err, FS_ETRUNC, -1,
                          "truncated dump file; tried to read %u captured bytes, only got %zu",
                          caplen, n - PCAP_FILE_REC_LEN);
    out->data = data;
    /* A record longer than the file's snap length is cut to it (libpcap does so that
     * no caller sees more than the snap length). */
    out->caplen = caplen > f->snapshot ? f->snapshot : caplen;
    out->wirelen = wirelen;
    out->ts_us = ts_of(sec, frac, f);
    *used = PCAP_FILE_REC_LEN + (size_t)caplen;
    return CAPTURE_PACKET;
}
