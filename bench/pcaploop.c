/*
 * The floor for metering a capture file: libpcap's read loop and nothing else
 * (pcap_next_ex over every packet, touching each packet's first byte), with the same
 * 4 MB stdio buffer flowsleuth gives libpcap. bench/meter.sh runs it beside the meter.
 *
 *   pcaploop FILE    prints "packets N bytes N"
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcaploop FILE\n");
        return 2;
    }
    FILE *fp = fopen(argv[1], "rb");
    if (!fp) {
        perror(argv[1]);
        return 1;
    }
    static char buf[4u << 20];
    setvbuf(fp, buf, _IOFBF, sizeof(buf));
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!p) {
        fprintf(stderr, "%s: %s\n", argv[1], ebuf);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        n++;
        bytes += h->caplen;
        sum += h->caplen ? data[0] : 0;
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
        return 1;
    }
    printf("packets %llu bytes %llu (%llu)\n", (unsigned long long)n, (unsigned long long)bytes,
           (unsigned long long)(sum & 1));
    pcap_close(p);
    return 0;
}
