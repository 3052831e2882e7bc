/*
 * libFuzzer target for dns_parse (src/meter/dns.h): any bytes as one DNS message. Any
 * input must give a result of the enum, never a crash, a hang or undefined behaviour;
 * on DNS_OK every answer must be one the parser keeps (A with an IPv4-mapped address,
 * AAAA, or CNAME with a target) and its names printable text without '"' or ','. The
 * message is copied into a buffer of exactly its size, so the replay under ASan
 * (fuzz/regress.c) catches an over-read by one byte. The same bytes are also fed as a
 * TCP stream through dns_observe, cut into two segments.
 * Seeds: fuzz/corpus/dns/ (the DNS payloads of ../shared/data/pcap's Zeek capture, and
 * hand-built hostile messages of tests/unit/test_dns.c).
 */
#include "meter/dns.h"
#include "meter/dns_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= DNS_NAME_TEXT)
        abort();
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '"' || *s == ',')
            abort();
}

static void on_answer(void *ctx, const struct dns_answer *a)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    (*(size_t *)ctx)++;
    check_name(a->rrname);
    if (a->rrtype == DNS_TYPE_A && memcmp(a->addr, mapped, 12) != 0)
        abort();
    if (a->rrtype == DNS_TYPE_CNAME)
        check_name(a->cname);
    else if (a->rrtype != DNS_TYPE_A && a->rrtype != DNS_TYPE_AAAA)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t n = 0, where = 0;
    enum dns_result r = dns_parse(buf, size, on_answer, &n, &where);
    if ((unsigned)r >= DNS_NRESULTS || !dns_result_name(r))
        abort();
    if (r != DNS_OK && (n != 0 || where > size))
        abort();

    /* As a TCP stream: the length prefix, then the message in two segments. */
    struct dns_table *t = dns_table_new();
    uint8_t *seg = malloc(size + 2);
    seg[0] = (uint8_t)(size >> 8);
    seg[1] = (uint8_t)size;
    memcpy(seg + 2, data, size);
    size_t cut = size ? data[0] % (size + 2) : 1;
    struct pkt p = { .ts_us = 1000000,
                     .proto = 6,
                     .sport = 53,
                     .dport = 40000,
                     .has_ports = 1,
                     .ipver = 4,
                     .seq = 1000,
                     .tcpflags = 0x18 };
    p.data = seg;
    p.datalen = p.payload = (uint32_t)cut;
    dns_observe(t, &p);
    p.seq += (uint32_t)cut;
    p.data = seg + cut;
    p.datalen = p.payload = (uint32_t)(size + 2 - cut);
    dns_observe(t, &p);
    struct dns_table_stats st;
    dns_table_get_stats(t, &st);
    if (size <= 65535 && st.messages != 1)
        abort();
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        dns_table_write(t, null);
        fclose(null);
    }
    dns_table_free(t);
    free(seg);
    free(buf);
    return 0;
}
