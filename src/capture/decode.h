/*
 * Packet decoder: link layer bytes -> struct pkt. Pure: no I/O, no allocation, so unit
 * tests and the fuzzer call it directly. Lengths come from the IP header, never from the
 * captured length, so captures of GRO/TSO "super packets" and snapped captures count
 * what was on the wire.
 */
#ifndef FS_DECODE_H
#define FS_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Link types we decode (pcap LINKTYPE_* values). */
#define FS_DLT_NULL       0   /* BSD loopback, host-order AF */
#define FS_DLT_EN10MB     1   /* Ethernet */
#define FS_DLT_RAW        12  /* raw IP (DLT_RAW on most systems) */
#define FS_DLT_RAW_LT     101 /* LINKTYPE_RAW */
#define FS_DLT_LOOP       108 /* OpenBSD loopback, network-order AF */
#define FS_DLT_LINUX_SLL  113
#define FS_DLT_IPV4       228
#define FS_DLT_IPV6       229
#define FS_DLT_LINUX_SLL2 276

/* Outcome of decoding one packet; names in decode_result_name(). */
enum decode_result {
    DEC_OK = 0,
    DEC_LINKTYPE,   /* unknown link type */
    DEC_TRUNC_LINK, /* captured bytes end inside the link header */
    DEC_NOT_IP,     /* ARP, LLDP, ... */
    DEC_TRUNC_IP,   /* captured bytes end inside the IP header */
    DEC_BAD_IP,     /* bad version, header length or total length */
    DEC_TRUNC_L4,   /* transport header cut by the snap length: ports unknown */
    DEC_BAD_L4,     /* transport header inconsistent (TCP data offset < 5 ...) */
    DEC_NRESULTS
};

const char *decode_result_name(enum decode_result r);

struct pkt {
    uint64_t ts_us;  /* capture time, microseconds since the epoch (caller sets) */
    uint8_t src[16]; /* IPv4-mapped for IPv4 */
    uint8_t dst[16];
    uint32_t iplen;      /* outermost IP bytes from its header: IPv4 total length,
                            IPv6 payload length + 40 */
    uint32_t payload;    /* transport payload bytes: iplen - IP headers - TCP/UDP header */
    uint32_t seq;        /* TCP sequence number */
    uint16_t sport;      /* 0 when the packet has no transport ports (fragments, ICMP) */
    uint16_t dport;      /* ICMP/ICMPv6: type * 256 + code (nfdump, softflowd); has_ports 0 */
    uint16_t vlan;       /* outermost 802.1Q/802.1ad VLAN id, 0 = none */
    uint8_t ipver;       /* 4 or 6 */
    uint8_t proto;       /* transport protocol (after IPv6 extension headers) */
    uint8_t tcpflags;    /* TCP flags byte, 0 for others */
    uint8_t tos;         /* IPv4 TOS / IPv6 traffic class */
    uint8_t has_ports;   /* 1 when sport/dport came from a transport header */
    uint8_t is_frag;     /* 1 for a non-first fragment (no transport header) */
    const uint8_t *data; /* TCP/UDP/SCTP payload's captured bytes (into the caller's
                            packet buffer, valid while it is), NULL when none */
    uint32_t datalen;    /* bytes readable at data: payload cut to what was captured */
};

/*
 * Decode one captured packet of link type dlt. caplen bytes are readable at data;
 * wirelen is the original length (used only when the IP header gives none, e.g.
 * IPv6 jumbograms). Returns DEC_OK with *p filled (except ts_us), or the reason.
 * On DEC_TRUNC_L4 / DEC_BAD_L4 the IP-level fields are valid (ports and payload 0),
 * so the packet can still be counted; see docs/internals/decode.md.
 */
enum decode_result decode_packet(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                                 struct pkt *p);

/* 1 when decode_packet knows the link type. */
int decode_linktype_supported(int dlt);

#endif
