/*
 * libFuzzer target for decode_packet. Input: one byte choosing the link type (byte % the
 * number of supported types) and the wire-length excess (byte / that number), then the
 * captured packet. The packet is copied into a buffer of exactly caplen bytes so the
 * corpus replay under plain ASan (fuzz/regress.c) catches over-reads too.
 */
#include "capture/decode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const int fuzz_dlts[] = {
    FS_DLT_EN10MB, FS_DLT_LINUX_SLL, FS_DLT_LINUX_SLL2, FS_DLT_RAW,  FS_DLT_RAW_LT,
    FS_DLT_IPV4,   FS_DLT_IPV6,      FS_DLT_NULL,       FS_DLT_LOOP,
};

#define NDLT (sizeof(fuzz_dlts) / sizeof(fuzz_dlts[0]))

/* Properties any DEC_OK result must have; a violation aborts so the fuzzer reports it. */
static void check(enum decode_result r, const struct pkt *p)
{
    if ((unsigned)r >= DEC_NRESULTS || !decode_result_name(r))
        abort();
    if (r != DEC_OK && r != DEC_TRUNC_L4 && r != DEC_BAD_L4)
        return;
    if (p->ipver != 4 && p->ipver != 6)
        abort();
    if (p->payload > p->iplen || p->iplen < (p->ipver == 4 ? 20u : 40u))
        abort();
    if (p->is_frag && p->has_ports)
        abort();
    if (r != DEC_OK && (p->has_ports || p->payload))
        abort();
}

/* One input: see the file comment for the layout. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1u << 20)
        return 0;
    int dlt = fuzz_dlts[data[0] % NDLT];
    uint32_t caplen = (uint32_t)(size - 1);
    /* excess 0 most often (unsnapped), else up to ~28 KB to reach TSO/jumbo paths */
    uint32_t wirelen = caplen + (uint32_t)(data[0] / NDLT) * 997u;
    uint8_t *pkt = malloc(caplen ? caplen : 1);
    if (!pkt)
        return 0;
    memcpy(pkt, data + 1, caplen);
    struct pkt p;
    check(decode_packet(dlt, pkt, caplen, wirelen, &p), &p);
    free(pkt);
    if (!decode_linktype_supported(dlt))
        abort();
    return 0;
}
