/*
 * The meter's passive DNS table (meter --pdns-out): the A, AAAA and CNAME answers of
 * the DNS responses the meter sees (UDP and TCP from port 53, dns.h), aggregated per
 * (rrname, rrtype, rdata) with the first and last time seen and how many responses
 * carried it, written as JSON lines in the passive DNS common output format
 * (draft-dulaunoy-dnsop-passive-dns-cof: rrname, rrtype, rdata, time_first, time_last,
 * count; times in seconds since the epoch).
 *
 * DNS over TCP: each server-to-client stream is followed in sequence order (a few
 * streams at once, DNS_TCP_STREAMS, the least recently used given up); a message is
 * parsed once its 2-byte length prefix and all its bytes are in. A stream with a
 * gap (a lost or snapped segment) is given up until its next SYN: the message
 * boundaries after a gap are unknown. IP fragments are not reassembled: a response
 * that came in fragments is counted as truncated.
 *
 * Ownership: dns_table_new allocates, dns_table_free frees.
 */
#ifndef FS_DNS_TABLE_H
#define FS_DNS_TABLE_H

#include "../capture/decode.h"
#include "dns.h"

#include <stdint.h>
#include <stdio.h>

#define DNS_TCP_STREAMS 64

struct dns_table_stats {
    uint64_t messages;          /* DNS messages parsed (UDP datagrams, TCP messages) */
    uint64_t responses;         /* of those, responses whose answers were taken */
    uint64_t answers;           /* A, AAAA and CNAME answers taken */
    uint64_t bad[DNS_NRESULTS]; /* messages left out, by reason (dns_result) */
    uint64_t tcp_gaps;          /* TCP streams given up at a gap */
    uint64_t records;           /* distinct (rrname, rrtype, rdata) held */
};

struct dns_table;

struct dns_table *dns_table_new(void);
void dns_table_free(struct dns_table *t);

/* One decoded packet; only UDP and TCP from port 53 are looked at. */
void dns_observe(struct dns_table *t, const struct pkt *p);

/* One answer seen at ts_s (seconds): rrtype DNS_TYPE_A/_AAAA (rdata the address as
 * text) or _CNAME (rdata the target). Names in dns.h's presentation form. */
void dns_table_add(struct dns_table *t, const char *rrname, uint16_t rrtype, const char *rdata,
                   uint64_t ts_s);

/* Write the table as JSON lines, sorted by rrname, rrtype, rdata. 0, or -1 when a
 * write failed (ferror). */
int dns_table_write(struct dns_table *t, FILE *fp);

void dns_table_get_stats(const struct dns_table *t, struct dns_table_stats *out);

#endif
