/*
 * The hand-kept table of the IPFIX / NetFlow v9 information elements flowsleuth maps
 * into struct flow (STYLE.md: one table, IANA id, name, length, destination). Ids are
 * the IANA "IPFIX Information Elements" registry; NetFlow v9 field types 1-127 are the
 * same numbers (RFC 3954 section 8), so one table serves both. Elements not listed are
 * skipped by length. PEN 29305 rows are the RFC 5103 reverse elements; FS_PEN rows are
 * flowsleuth's own (docs/internals/export.md), sent by `meter -e ipfix://`. The
 * exporter (export_enc.c) builds its templates from this table too, so what it sends
 * is by construction what the decoder reads back.
 */
#include "datagram.h"

#define IE(pen, id, len, slot, kind, name) \
    {                                      \
        pen, id, len, slot, kind, name     \
    }
#define U(id, len, slot, name) IE(0, id, len, slot, OPK_UINT, name)
#define REV                    29305u
#define FSR(id)                (FS_PEN_REVERSE | (id))

const struct ipfix_ie ipfix_ies[] = {
    U(1, 8, S_BYTES, "octetDeltaCount"),
    U(2, 8, S_PKTS, "packetDeltaCount"),
    U(4, 1, S_PROTO, "protocolIdentifier"),
    U(5, 1, S_TOS, "ipClassOfService"),
    U(6, 2, S_FLAGS, "tcpControlBits"),
    U(7, 2, S_SPORT, "sourceTransportPort"),
    IE(0, 8, 4, S_SRC4, OPK_ADDR4, "sourceIPv4Address"),
    U(10, 4, S_IN_IF, "ingressInterface"),
    U(11, 2, S_DPORT, "destinationTransportPort"),
    IE(0, 12, 4, S_DST4, OPK_ADDR4, "destinationIPv4Address"),
    U(14, 4, S_OUT_IF, "egressInterface"),
    U(16, 4, S_SRC_AS, "bgpSourceAsNumber"),
    U(17, 4, S_DST_AS, "bgpDestinationAsNumber"),
    U(21, 4, S_SYSUP_LAST, "flowEndSysUpTime"),
    U(22, 4, S_SYSUP_FIRST, "flowStartSysUpTime"),
    U(23, 8, S_POST_BYTES, "postOctetDeltaCount"),
    U(24, 8, S_POST_PKTS, "postPacketDeltaCount"),
    U(25, 8, S_MINLEN, "minimumIpTotalLength"),
    U(26, 8, S_MAXLEN, "maximumIpTotalLength"),
    IE(0, 27, 16, S_SRC6, OPK_ADDR6, "sourceIPv6Address"),
    IE(0, 28, 16, S_DST6, OPK_ADDR6, "destinationIPv6Address"),
    U(32, 2, S_ICMP4, "icmpTypeCodeIPv4"),
    U(34, 4, S_SAMPLING, "samplingInterval"),
    U(35, 1, S_SAMPLING_ALG, "samplingAlgorithm"),
    U(48, 1, S_SAMPLER_ID, "samplerId"),
    U(50, 4, S_SAMPLING, "samplerRandomInterval"),
    U(58, 2, S_VLAN, "vlanId"),
    U(60, 1, S_IPVER, "ipVersion"),
    U(85, 8, S_TOTAL_BYTES, "octetTotalCount"),
    U(86, 8, S_TOTAL_PKTS, "packetTotalCount"),
    U(139, 2, S_ICMP6, "icmpTypeCodeIPv6"),
    U(150, 4, S_FIRST_S, "flowStartSeconds"),
    U(151, 4, S_LAST_S, "flowEndSeconds"),
    U(152, 8, S_FIRST_MS, "flowStartMilliseconds"),
    U(153, 8, S_LAST_MS, "flowEndMilliseconds"),
    U(154, 8, S_FIRST_US, "flowStartMicroseconds"),
    U(155, 8, S_LAST_US, "flowEndMicroseconds"),
    U(156, 8, S_FIRST_NS, "flowStartNanoseconds"),
    U(157, 8, S_LAST_NS, "flowEndNanoseconds"),
    U(158, 4, S_FIRST_DUS, "flowStartDeltaMicroseconds"),
    U(159, 4, S_LAST_DUS, "flowEndDeltaMicroseconds"),
    U(160, 8, S_SYSINIT_MS, "systemInitTimeMilliseconds"),
    IE(0, 225, 4, S_XSRC4, OPK_ADDR4, "postNATSourceIPv4Address"),
    IE(0, 226, 4, S_XDST4, OPK_ADDR4, "postNATDestinationIPv4Address"),
    U(227, 2, S_XSPORT, "postNAPTSourceTransportPort"),
    U(228, 2, S_XDPORT, "postNAPTDestinationTransportPort"),
    U(230, 1, S_NAT_EVENT, "natEvent"),
    U(231, 8, S_INIT_BYTES, "initiatorOctets"),
    U(232, 8, S_RESP_BYTES, "responderOctets"),
    U(233, 1, S_FW_EVENT, "firewallEvent"),
    U(243, 2, S_DOT1Q_VLAN, "dot1qVlanId"),
    IE(0, 281, 16, S_XSRC6, OPK_ADDR6, "postNATSourceIPv6Address"),
    IE(0, 282, 16, S_XDST6, OPK_ADDR6, "postNATDestinationIPv6Address"),
    U(298, 8, S_INIT_PKTS, "initiatorPackets"),
    U(299, 8, S_RESP_PKTS, "responderPackets"),
    U(302, 4, S_SAMPLER_ID, "selectorId"),
    U(305, 4, S_SAMPLING, "samplingPacketInterval"),
    U(323, 8, S_OBS_MS, "observationTimeMilliseconds"),
    /* Cisco ASA NSEL (NetFlow v9 field types, "Cisco ASA NetFlow Implementation Guide"):
     * the ACL ids are 12 bytes (ACL, ACE, extended ACE hash); 40001-40005 are the
     * pre-IPFIX numbers of 225-228 and 233. */
    IE(0, 33000, 12, S_IN_ACL, OPK_ACL, "NF_F_INGRESS_ACL_ID"),
    IE(0, 33001, 12, S_OUT_ACL, OPK_ACL, "NF_F_EGRESS_ACL_ID"),
    U(33002, 2, S_FW_EXT, "NF_F_FW_EXT_EVENT"),
    IE(0, 40001, 4, S_XSRC4, OPK_ADDR4, "NF_F_XLATE_SRC_ADDR_IPV4"),
    IE(0, 40002, 4, S_XDST4, OPK_ADDR4, "NF_F_XLATE_DST_ADDR_IPV4"),
    U(40003, 2, S_XSPORT, "NF_F_XLATE_SRC_PORT"),
    U(40004, 2, S_XDPORT, "NF_F_XLATE_DST_PORT"),
    U(40005, 1, S_FW_EVENT, "NF_F_FW_EVENT"),
    IE(REV, 1, 8, S_RBYTES, OPK_UINT, "reverseOctetDeltaCount"),
    IE(REV, 2, 8, S_RPKTS, OPK_UINT, "reversePacketDeltaCount"),
    IE(REV, 6, 2, S_RFLAGS, OPK_UINT, "reverseTcpControlBits"),
    IE(REV, 25, 8, S_RMINLEN, OPK_UINT, "reverseMinimumIpTotalLength"),
    IE(REV, 26, 8, S_RMAXLEN, OPK_UINT, "reverseMaximumIpTotalLength"),
    IE(REV, 85, 8, S_RTOTAL_BYTES, OPK_UINT, "reverseOctetTotalCount"),
    IE(REV, 86, 8, S_RTOTAL_PKTS, OPK_UINT, "reversePacketTotalCount"),
    IE(FS_PEN, 1, 8, S_PAYLOAD, OPK_UINT, "flowsleuthPayloadOctets"),
    IE(FS_PEN, FSR(1), 8, S_RPAYLOAD, OPK_UINT, "flowsleuthReversePayloadOctets"),
    IE(FS_PEN, 2, 8, S_GOODPUT, OPK_UINT, "flowsleuthGoodputOctets"),
    IE(FS_PEN, FSR(2), 8, S_RGOODPUT, OPK_UINT, "flowsleuthReverseGoodputOctets"),
    IE(FS_PEN, 3, 8, S_RETRANS, OPK_UINT, "flowsleuthRetransOctets"),
    IE(FS_PEN, FSR(3), 8, S_RRETRANS, OPK_UINT, "flowsleuthReverseRetransOctets"),
    IE(FS_PEN, 4, 4, S_EXCHANGE, OPK_UINT, "flowsleuthExchange"),
    /* Strings (length 0: variable, RFC 7011 section 7). The Community ID is listed so
     * the exporter may send it, and skipped on input: a record's cid is computed from
     * its 5-tuple and the reader's seed. */
    IE(FS_PEN, 5, 0, S_SNI, OPK_STR, "flowsleuthServerName"),
    IE(FS_PEN, 6, 0, S_NONE, OPK_SKIP, "flowsleuthCommunityId"),
};

const size_t ipfix_nies = sizeof(ipfix_ies) / sizeof(ipfix_ies[0]);

/*
 * Linear search: it runs once per template field when a template is compiled, never per
 * data record, so a 50-row scan costs nothing measurable.
 */
const struct ipfix_ie *ipfix_ie_find(uint32_t pen, uint16_t id)
{
    for (size_t i = 0; i < ipfix_nies; i++)
        if (ipfix_ies[i].id == id && ipfix_ies[i].pen == pen)
            return &ipfix_ies[i];
    return NULL;
}
