#include "fields.h"

#include <string.h>

#define ROW(name, type, member, kind, help)                         \
    {                                                               \
#name, type, (uint16_t)offsetof(struct flow, member),       \
            (uint8_t)sizeof(((struct flow *)0)->member), kind, help \
    }

const struct field fields[] = {
    ROW(first, FT_TIME, first, 0, "first packet, ms since the epoch (ISO 8601 UTC)"),
    ROW(last, FT_TIME, last, 0, "last packet, ms since the epoch (ISO 8601 UTC)"),
    ROW(src, FT_ADDR, src, 0, "initiator (client) address"),
    ROW(dst, FT_ADDR, dst, 0, "responder (server) address"),
    ROW(sport, FT_U16, sport, 0, "initiator port"),
    ROW(dport, FT_U16, dport, 0, "responder port"),
    ROW(proto, FT_PROTO, proto, 0, "IP protocol"),
    ROW(bytes, FT_U64, bytes, FK_BYTES, "forward IP bytes"),
    ROW(packets, FT_U64, packets, FK_COUNT, "forward packets"),
    ROW(rbytes, FT_U64, rbytes, FK_BYTES, "reverse IP bytes"),
    ROW(rpackets, FT_U64, rpackets, FK_COUNT, "reverse packets"),
    ROW(payload, FT_U64, payload, FK_BYTES, "forward transport payload bytes"),
    ROW(rpayload, FT_U64, rpayload, FK_BYTES, "reverse transport payload bytes"),
    ROW(goodput, FT_U64, goodput, FK_BYTES, "forward unique TCP payload (sequence span)"),
    ROW(rgoodput, FT_U64, rgoodput, FK_BYTES, "reverse unique TCP payload (sequence span)"),
    ROW(flags, FT_FLAGS, flags, 0, "OR of forward TCP flags"),
    ROW(rflags, FT_FLAGS, rflags, 0, "OR of reverse TCP flags"),
    ROW(retrans, FT_U64, retrans, FK_BYTES, "forward retransmitted payload bytes"),
    ROW(rretrans, FT_U64, rretrans, FK_BYTES, "reverse retransmitted payload bytes"),
    ROW(minlen, FT_U16, minlen, 0, "smallest forward IP packet"),
    ROW(maxlen, FT_U16, maxlen, 0, "largest forward IP packet"),
    ROW(rminlen, FT_U16, rminlen, 0, "smallest reverse IP packet"),
    ROW(rmaxlen, FT_U16, rmaxlen, 0, "largest reverse IP packet"),
    ROW(ipver, FT_U8, ipver, 0, "IP version, 4 or 6"),
    ROW(exporter, FT_EADDR, exporter, 0, "exporter address (0 when metered here)"),
    ROW(in_if, FT_U32, in_if, 0, "input interface index (exporters)"),
    ROW(out_if, FT_U32, out_if, 0, "output interface index (exporters)"),
    ROW(src_as, FT_U32, src_as, 0, "source AS (exporters)"),
    ROW(dst_as, FT_U32, dst_as, 0, "destination AS (exporters)"),
    ROW(vlan, FT_U16, vlan, 0, "outermost VLAN id, 0 = none"),
    ROW(tos, FT_U8, tos, 0, "IPv4 TOS / IPv6 traffic class"),
    ROW(exchange, FT_U32, exchange, 0, "request/response exchange ordinal, 0 = not split"),
    ROW(xsrc, FT_EADDR, xsrc, 0, "translated (post-NAT) source address (NSEL, NAT events)"),
    ROW(xdst, FT_EADDR, xdst, 0, "translated (post-NAT) destination address"),
    ROW(xsport, FT_U16, xsport, 0, "translated (post-NAPT) source port"),
    ROW(xdport, FT_U16, xdport, 0, "translated (post-NAPT) destination port"),
    ROW(fw_event, FT_FWEV, fw_event, 0, "firewall event (IANA 233, Cisco 40005): created, ..."),
    ROW(fw_ext_event, FT_U16, fw_ext_event, 0, "Cisco extended firewall event (33002)"),
    ROW(nat_event, FT_NATEV, nat_event, 0, "NAT event (IANA 230): nat44-create, ..."),
    ROW(ingress_acl, FT_ACL, ingress_acl, 0, "Cisco ingress ACL (33000): ACL:ACE ids in hex"),
    ROW(egress_acl, FT_ACL, egress_acl, 0, "Cisco egress ACL (33001): ACL:ACE ids in hex"),
    ROW(sni, FT_STR, sni, 0, "server name the client asked for (TLS SNI, else HTTP Host)"),
};

const size_t nfields = sizeof(fields) / sizeof(fields[0]);

int field_index(const char *name)
{
    for (size_t i = 0; i < nfields; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

const struct field *field_find(const char *name)
{
    int i = field_index(name);
    return i < 0 ? NULL : &fields[i];
}
