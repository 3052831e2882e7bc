/*
 * Packet decoder: link layer -> IPv4/IPv6 (+ extension headers) -> transport.
 *
 * This is the per-packet hot path (millions of packets/s), so it reads bytes with
 * explicit length checks against what is captured instead of going through struct rd:
 * every layer checks once that its fixed header is there, then indexes directly. Each
 * function receives `cap`, the bytes readable from its start, and never indexes at or
 * past it. Lengths that are counted come from the IP header; the captured and wire
 * lengths are only used where the header carries none (TSO total length 0, jumbograms).
 *
 * Fields of struct pkt on return:
 *   DEC_OK                    all but ts_us;
 *   DEC_TRUNC_L4, DEC_BAD_L4  the IP-level fields (addresses, ipver, proto, tos, iplen,
 *                             vlan, is_frag) are valid; ports, seq, flags and payload are
 *                             0, so a caller may still count the packet's bytes;
 *   other results             nothing is meaningful.
 */
#include "decode.h"

#include "../core/flow.h"

#include <string.h>

/* Stacked VLAN tags followed at most; QinQ is 2, provider networks rarely exceed 3. */
#define DECODE_MAX_VLAN 4
/* IPv6 extension headers walked before giving up on finding the transport. */
#define DECODE_MAX_EXT6 8

#define ETH_IP4      0x0800
#define ETH_IP6      0x86dd
#define ETH_8021Q    0x8100
#define ETH_8021AD   0x88a8
#define ETH_QINQ_OLD 0x9100

#define IPP_HOPOPT 0
#define IPP_ICMP   1
#define IPP_TCP    6
#define IPP_UDP    17
#define IPP_ROUTE6 43
#define IPP_FRAG6  44
#define IPP_ESP    50
#define IPP_AH     51
#define IPP_ICMP6  58
#define IPP_NONXT6 59
#define IPP_DSTOPT 60
#define IPP_SCTP   132
#define IPP_MOBIL6 135

static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)((b[0] << 8) | b[1]);
}

static inline uint32_t be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* flow_addr_from_v4 in two copies, which the compiler makes three stores: it runs
 * twice for every IPv4 packet, and its byte loop was 20 instructions a packet. */
static inline void v4mapped(uint8_t a[16], const uint8_t v4[4])
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    memcpy(a, prefix, sizeof(prefix));
    memcpy(a + 12, v4, 4);
}

/* Length of the IP packet when its header says 0 (TSO total length, IPv6 jumbogram):
 * the original length after the link header, or what was captured if the caller gave
 * an inconsistent (smaller) wire length. */
static inline uint32_t len_from_frame(uint32_t cap, uint32_t wire)
{
    return wire > cap ? wire : cap;
}

/* The payload's captured bytes after a transport header of hl bytes (cap captured). */
static inline void set_data(const uint8_t *b, uint32_t cap, uint32_t hl, struct pkt *p)
{
    uint32_t n = cap > hl ? cap - hl : 0;
    p->datalen = n < p->payload ? n : p->payload;
    p->data = p->datalen ? b + hl : NULL;
}

/* Transport ports from the first 4 bytes (UDP, SCTP), then a fixed header of hl bytes. */
static enum decode_result l4_ports(const uint8_t *b, uint32_t cap, uint32_t l4len, uint32_t hl,
                                   struct pkt *p)
{
    if (cap < 4)
        return DEC_TRUNC_L4;
    p->sport = be16(b);
    p->dport = be16(b + 2);
    p->has_ports = 1;
    p->payload = l4len > hl ? l4len - hl : 0;
    set_data(b, cap, hl, p);
    return DEC_OK;
}

/*
 * Transport header at b (cap bytes captured, l4len bytes by the IP header). p->proto is
 * set. ICMP and ICMPv6 have no ports; like nfdump and softflowd we put type * 256 + code
 * into dport (sport 0) so that echo requests, replies and unreachables become separate
 * flows and a filter can select them; has_ports stays 0 because they are not ports.
 */
static enum decode_result decode_l4(const uint8_t *b, uint32_t cap, uint32_t l4len, struct pkt *p)
{
    switch (p->proto) {
    case IPP_TCP: {
        /* Ports, seq (4..7), data offset (12) and flags (13): 14 bytes. */
        if (cap < 14)
            return DEC_TRUNC_L4;
        uint32_t hl = (uint32_t)(b[12] >> 4) * 4;
        if (hl < 20)
            return DEC_BAD_L4;
        p->sport = be16(b);
        p->dport = be16(b + 2);
        p->seq = be32(b + 4);
        p->tcpflags = b[13];
        p->has_ports = 1;
        p->payload = l4len > hl ? l4len - hl : 0;
        set_data(b, cap, hl, p);
        return DEC_OK;
    }
    case IPP_UDP:
        return l4_ports(b, cap, l4len, 8, p);
    case IPP_SCTP:
        return l4_ports(b, cap, l4len, 12, p);
    case IPP_ICMP:
    case IPP_ICMP6:
        if (cap < 2)
            return DEC_TRUNC_L4;
        p->dport = (uint16_t)((b[0] << 8) | b[1]);
        p->payload = l4len >= 8 ? l4len - 8 : 0;
        return DEC_OK;
    default:
        p->payload = l4len;
        return DEC_OK;
    }
}

/*
 * IPv4 at b. Version, IHL >= 5 and total length >= IHL * 4 are required; a non-first
 * fragment carries no transport header, so it is counted with its protocol but no ports.
 */
static enum decode_result decode_ip4(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 1)
        return DEC_TRUNC_IP;
    if ((b[0] >> 4) != 4)
        return DEC_BAD_IP;
    uint32_t hl = (uint32_t)(b[0] & 0x0f) * 4;
    if (hl < 20)
        return DEC_BAD_IP;
    if (cap < hl)
        return DEC_TRUNC_IP;
    uint32_t iplen = be16(b + 2);
    if (iplen == 0) /* TSO/GSO capture: the NIC writes the real lengths later */
        iplen = len_from_frame(cap, wire);
    if (iplen < hl)
        return DEC_BAD_IP;
    p->ipver = 4;
    p->tos = b[1];
    p->proto = b[9];
    p->iplen = iplen;
    v4mapped(p->src, b + 12);
    v4mapped(p->dst, b + 16);
    if (be16(b + 6) & 0x1fff) {
        p->is_frag = 1;
        p->payload = iplen - hl;
        return DEC_OK;
    }
    return decode_l4(b + hl, cap - hl, iplen - hl, p);
}

/* Headers we walk past; ESP (50) and no-next-header (59) end the walk like a transport. */
static inline int is_ext6(uint8_t nh)
{
    return nh == IPP_HOPOPT || nh == IPP_ROUTE6 || nh == IPP_FRAG6 || nh == IPP_DSTOPT ||
           nh == IPP_AH || nh == IPP_MOBIL6;
}

/*
 * IPv6 extension headers from offset 40 to the transport. Every extension header is at
 * least 8 bytes; one that runs past the payload length is a bad packet, one that runs
 * past the capture hides the transport (DEC_TRUNC_L4).
 */
static enum decode_result decode_ip6_ext(const uint8_t *b, uint32_t cap, uint8_t nh, struct pkt *p)
{
    uint32_t off = 40;
    for (int i = 0; i < DECODE_MAX_EXT6 && is_ext6(nh); i++) {
        p->proto = nh;
        if (p->iplen - off < 8)
            return DEC_BAD_IP;
        if (cap < off || cap - off < 8)
            return DEC_TRUNC_L4;
        const uint8_t *h = b + off;
        if (nh == IPP_FRAG6) {
            nh = h[0];
            off += 8;
            if (be16(h + 2) & 0xfff8) { /* non-first fragment: no transport header */
                p->is_frag = 1;
                p->proto = nh;
                p->payload = p->iplen - off;
                return DEC_OK;
            }
            continue;
        }
        uint32_t len = nh == IPP_AH ? (h[1] + 2u) * 4 : (h[1] + 1u) * 8;
        nh = h[0];
        if (p->iplen - off < len)
            return DEC_BAD_IP;
        off += len;
    }
    /* ESP, no next header, and a chain longer than the limit get decode_l4's default:
     * protocol and payload, no ports. */
    p->proto = nh;
    return decode_l4(b + off, cap > off ? cap - off : 0, p->iplen - off, p);
}

/* IPv6 at b: fixed header, then the extension header walk. */
static enum decode_result decode_ip6(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 1)
        return DEC_TRUNC_IP;
    if ((b[0] >> 4) != 6)
        return DEC_BAD_IP;
    if (cap < 40)
        return DEC_TRUNC_IP;
    uint32_t plen = be16(b + 4);
    uint8_t nh = b[6];
    p->ipver = 6;
    p->tos = (uint8_t)(((b[0] & 0x0f) << 4) | (b[1] >> 4));
    /* A jumbogram (RFC 2675) says 0 here and its real length in a hop-by-hop option;
     * the frame length is the same number without parsing options. */
    p->iplen = (plen == 0 && nh == IPP_HOPOPT) ? len_from_frame(cap, wire) : plen + 40;
    memcpy(p->src, b + 8, 16);
    memcpy(p->dst, b + 24, 16);
    return decode_ip6_ext(b, cap, nh, p);
}

/* Raw IP: the version nibble says which. */
static enum decode_result decode_ip(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 1)
        return DEC_TRUNC_IP;
    switch (b[0] >> 4) {
    case 4:
        return decode_ip4(b, cap, wire, p);
    case 6:
        return decode_ip6(b, cap, wire, p);
    default:
        return DEC_BAD_IP;
    }
}

/*
 * An EtherType and what follows it (b points just after the type field), following
 * 802.1Q / 802.1ad / old-QinQ 0x9100 tags. The first tag met is the outermost.
 */
static enum decode_result decode_ethertype(const uint8_t *b, uint32_t cap, uint32_t wire,
                                           uint16_t type, struct pkt *p)
{
    for (int depth = 0;; depth++) {
        switch (type) {
        case ETH_IP4:
            return decode_ip4(b, cap, wire, p);
        case ETH_IP6:
            return decode_ip6(b, cap, wire, p);
        case ETH_8021Q:
        case ETH_8021AD:
        case ETH_QINQ_OLD:
            break;
        default:
            return DEC_NOT_IP;
        }
        if (depth == DECODE_MAX_VLAN)
            return DEC_NOT_IP;
        if (cap < 4)
            return DEC_TRUNC_LINK;
        if (depth == 0)
            p->vlan = be16(b) & 0x0fff;
        type = be16(b + 2);
        b += 4;
        cap -= 4;
        wire = wire > 4 ? wire - 4 : 0;
    }
}

static inline uint32_t sub_sat(uint32_t a, uint32_t b)
{
    return a > b ? a - b : 0;
}

static enum decode_result link_en10mb(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 14)
        return DEC_TRUNC_LINK;
    return decode_ethertype(b + 14, cap - 14, sub_sat(wire, 14), be16(b + 12), p);
}

/* Linux cooked v1: 16 bytes, protocol (an EtherType for IP) at offset 14. */
static enum decode_result link_sll(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 16)
        return DEC_TRUNC_LINK;
    return decode_ethertype(b + 16, cap - 16, sub_sat(wire, 16), be16(b + 14), p);
}

/* Linux cooked v2: 20 bytes, protocol at offset 0. */
static enum decode_result link_sll2(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 20)
        return DEC_TRUNC_LINK;
    return decode_ethertype(b + 20, cap - 20, sub_sat(wire, 20), be16(b), p);
}

/* BSD address families: IPv6's number differs between the BSDs (24 Net/OpenBSD,
 * 28 FreeBSD, 30 macOS), and a capture may come from any of them. */
static enum decode_result decode_af(const uint8_t *b, uint32_t cap, uint32_t wire, uint32_t af,
                                    struct pkt *p)
{
    switch (af) {
    case 2:
        return decode_ip4(b + 4, cap - 4, sub_sat(wire, 4), p);
    case 24:
    case 28:
    case 30:
        return decode_ip6(b + 4, cap - 4, sub_sat(wire, 4), p);
    default:
        return DEC_NOT_IP;
    }
}

/* DLT_NULL: the AF is in the capturing host's byte order, which the file does not say;
 * AF values are small, so a value above 0xffff means the other order. */
static enum decode_result link_null(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 4)
        return DEC_TRUNC_LINK;
    uint32_t af =
        (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    if (af > 0xffff)
        af = be32(b);
    return decode_af(b, cap, wire, af, p);
}

/* DLT_LOOP: as NULL but always network order. */
static enum decode_result link_loop(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p)
{
    if (cap < 4)
        return DEC_TRUNC_LINK;
    return decode_af(b, cap, wire, be32(b), p);
}

typedef enum decode_result (*link_fn)(const uint8_t *b, uint32_t cap, uint32_t wire, struct pkt *p);

/* Most captures are Ethernet, so it comes first in the scan. */
static const struct {
    int dlt;
    link_fn fn;
} link_table[] = {
    { FS_DLT_EN10MB, link_en10mb },   { FS_DLT_LINUX_SLL, link_sll },
    { FS_DLT_LINUX_SLL2, link_sll2 }, { FS_DLT_RAW, decode_ip },
    { FS_DLT_RAW_LT, decode_ip },     { FS_DLT_IPV4, decode_ip },
    { FS_DLT_IPV6, decode_ip },       { FS_DLT_NULL, link_null },
    { FS_DLT_LOOP, link_loop },
};

#define LINK_COUNT (sizeof(link_table) / sizeof(link_table[0]))

static link_fn link_lookup(int dlt)
{
    for (size_t i = 0; i < LINK_COUNT; i++)
        if (link_table[i].dlt == dlt)
            return link_table[i].fn;
    return NULL;
}

/*
 * Decode one packet. Only the scalar fields are reset here (the addresses are always
 * written by the IP layer before any result that promises them), so no memset of the
 * whole struct per packet.
 */
enum decode_result decode_packet(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                                 struct pkt *p)
{
    link_fn fn = link_lookup(dlt);
    if (!fn)
        return DEC_LINKTYPE;
    p->iplen = 0;
    p->payload = 0;
    p->seq = 0;
    p->sport = 0;
    p->dport = 0;
    p->vlan = 0;
    p->ipver = 0;
    p->proto = 0;
    p->tcpflags = 0;
    p->tos = 0;
    p->has_ports = 0;
    p->is_frag = 0;
    p->data = NULL;
    p->datalen = 0;
    return fn(data, caplen, wirelen, p);
}

/* 1 when decode_packet has a handler for dlt (callers check once per capture). */
int decode_linktype_supported(int dlt)
{
    return link_lookup(dlt) != NULL;
}

/* Short stable names, used as counter labels in meter statistics. */
const char *decode_result_name(enum decode_result r)
{
    static const char *const names[DEC_NRESULTS] = {
        [DEC_OK] = "ok",
        [DEC_LINKTYPE] = "unknown-linktype",
        [DEC_TRUNC_LINK] = "truncated-link",
        [DEC_NOT_IP] = "not-ip",
        [DEC_TRUNC_IP] = "truncated-ip",
        [DEC_BAD_IP] = "bad-ip",
        [DEC_TRUNC_L4] = "truncated-transport",
        [DEC_BAD_L4] = "bad-transport",
    };
    if ((unsigned)r >= DEC_NRESULTS)
        return "unknown";
    return names[r];
}
