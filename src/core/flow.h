/*
 * The flow record: one struct for every command (DESIGN.md, "The flow record").
 *
 * A record is a biflow (RFC 5103): the forward direction is initiator -> responder
 * (client -> server); a NetFlow uniflow is a biflow whose reverse counters are zero.
 * Addresses are 16 bytes, IPv4 stored as IPv4-mapped IPv6 (::ffff:a.b.c.d), with the
 * version kept in `ipver`. All members are host byte order; the store encodes them
 * little-endian field by field (src/io/store.h), never by copying the struct.
 *
 * Ownership: plain value type, no pointers; copy with `=` or memcpy.
 */
#ifndef FS_FLOW_H
#define FS_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* TCP flag bits as on the wire (byte 13 of the TCP header). */
#define FS_TCP_FIN 0x01
#define FS_TCP_SYN 0x02
#define FS_TCP_RST 0x04
#define FS_TCP_PSH 0x08
#define FS_TCP_ACK 0x10
#define FS_TCP_URG 0x20
#define FS_TCP_ECE 0x40
#define FS_TCP_CWR 0x80

struct flow {
    uint8_t src[16];      /*   0 initiator address (IPv4-mapped for IPv4) */
    uint8_t dst[16];      /*  16 responder address */
    uint8_t exporter[16]; /*  32 exporter address; zero when metered locally */
    uint64_t first;       /*  48 first packet, ms since the epoch */
    uint64_t last;        /*  56 last packet, ms since the epoch */
    uint64_t bytes;       /*  64 forward IP bytes */
    uint64_t packets;     /*  72 forward packets */
    uint64_t rbytes;      /*  80 reverse IP bytes */
    uint64_t rpackets;    /*  88 reverse packets */
    uint64_t payload;     /*  96 forward transport payload bytes */
    uint64_t rpayload;    /* 104 reverse transport payload bytes */
    uint64_t goodput;     /* 112 forward unique TCP payload (sequence span) */
    uint64_t rgoodput;    /* 120 reverse unique TCP payload */
    uint64_t retrans;     /* 128 forward retransmitted payload bytes */
    uint64_t rretrans;    /* 136 reverse retransmitted payload bytes */
    uint32_t in_if;       /* 144 input interface (exporters) */
    uint32_t out_if;      /* 148 output interface (exporters) */
    uint32_t src_as;      /* 152 */
    uint32_t dst_as;      /* 156 */
    uint32_t exchange;    /* 160 request/response ordinal in a TCP connection, 0 = not split */
    uint16_t sport;       /* 164 */
    uint16_t dport;       /* 166 */
    uint16_t vlan;        /* 168 outermost 802.1Q VLAN id, 0 = none */
    uint16_t minlen;      /* 170 smallest forward IP packet */
    uint16_t maxlen;      /* 172 largest forward IP packet */
    uint16_t rminlen;     /* 174 smallest reverse IP packet */
    uint16_t rmaxlen;     /* 176 largest reverse IP packet */
    uint8_t proto;        /* 178 IP protocol / IPv6 next header of the transport */
    uint8_t ipver;        /* 179 4 or 6 */
    uint8_t flags;        /* 180 OR of forward TCP flags */
    uint8_t rflags;       /* 181 OR of reverse TCP flags */
    uint8_t tos;          /* 182 IPv4 TOS / IPv6 traffic class of the first packet */
    uint8_t pad_;         /* 183 always zero */
    /* Firewall and NAT (NSEL, NAT event logging; exporters only, zero when absent). */
    uint8_t xsrc[16];      /* 184 translated (post-NAT) source address, IPv4-mapped */
    uint8_t xdst[16];      /* 200 translated (post-NAT) destination address */
    uint64_t ingress_acl;  /* 216 Cisco 33000: ACL id << 32 | ACE id (extended id dropped) */
    uint64_t egress_acl;   /* 224 Cisco 33001, the same */
    uint16_t xsport;       /* 232 translated source port */
    uint16_t xdport;       /* 234 translated destination port */
    uint16_t fw_ext_event; /* 236 Cisco 33002 extended event (deny / teardown reason) */
    uint8_t fw_event;      /* 238 firewallEvent (IANA 233, Cisco 40005), FS_FW_* */
    uint8_t nat_event;     /* 239 natEvent (IANA 230), FS_NAT_* */
    /* The server name the client asked for (TLS ClientHello server_name, else the Host
     * of the first HTTP request): bytes of [A-Za-z0-9._:[]-], NUL-padded, not
     * terminated when it fills all FS_SNI_MAX bytes; empty when unknown. */
    char sni[64]; /* 240 */
};

#define FS_SNI_MAX 64

_Static_assert(sizeof(struct flow) == 304, "struct flow layout changed: update offsets");
_Static_assert(offsetof(struct flow, first) == 48, "offset comment out of date");
_Static_assert(offsetof(struct flow, exchange) == 160, "offset comment out of date");
_Static_assert(offsetof(struct flow, proto) == 178, "offset comment out of date");
_Static_assert(offsetof(struct flow, xsrc) == 184, "offset comment out of date");
_Static_assert(offsetof(struct flow, nat_event) == 239, "offset comment out of date");
_Static_assert(offsetof(struct flow, sni) == 240 && sizeof(((struct flow *)0)->sni) == FS_SNI_MAX,
               "offset comment out of date");

/* Store a 4-byte IPv4 address (network order) as IPv4-mapped IPv6 into a[16]. */
static inline void flow_addr_from_v4(uint8_t a[16], const uint8_t v4[4])
{
    for (int i = 0; i < 10; i++)
        a[i] = 0;
    a[10] = 0xff;
    a[11] = 0xff;
    a[12] = v4[0];
    a[13] = v4[1];
    a[14] = v4[2];
    a[15] = v4[3];
}

/* 1 when a[16] is an IPv4-mapped address. */
static inline int flow_addr_is_v4mapped(const uint8_t a[16])
{
    for (int i = 0; i < 10; i++)
        if (a[i])
            return 0;
    return a[10] == 0xff && a[11] == 0xff;
}

#endif
