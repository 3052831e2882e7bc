/*
 * libFuzzer target for the classic pcap reader (capture/pcap_file.h), differential:
 * the input is a whole capture file, read by pcap_file_header/pcap_file_record and by
 * libpcap (from the same bytes through fmemopen). Where our reader takes the file,
 * both must give the same link type, the same packets (lengths, times, bytes) and end
 * the same way (clean end or an error, after the same packets); any difference
 * aborts. The input is copied into a buffer of exactly its size so the corpus replay
 * under plain ASan (fuzz/regress.c) catches over-reads too.
 */
#include "capture/capture.h"
#include "capture/pcap_file.h"

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The time capture.c makes from libpcap's header. */
static uint64_t libpcap_ts(const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

static void compare(const uint8_t *buf, size_t size, const struct pcap_file *pf)
{
    FILE *fp = fmemopen((void *)buf, size, "rb");
    if (!fp)
        return;
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!p)
        abort(); /* a header we take, libpcap refuses */
    if (pcap_datalink(p) != pf->dlt || (uint32_t)pcap_snapshot(p) != pf->snapshot)
        abort();
    size_t pos = PCAP_FILE_HDR_LEN;
    for (;;) {
        struct capture_pkt ours;
        size_t used = 0;
        struct fs_err err = { 0 };
        int rc = pcap_file_record(pf, buf + pos, size - pos, &ours, &used, &err);
        struct pcap_pkthdr *h;
        const u_char *data;
        int lrc = pcap_next_ex(p, &h, &data);
        if (rc == CAPTURE_PACKET) {
            if (lrc != 1 || h->caplen != ours.caplen || h->len != ours.wirelen ||
                libpcap_ts(h) != ours.ts_us || memcmp(data, ours.data, ours.caplen) != 0)
                abort();
            if (used > size - pos)
                abort();
            pos += used;
            continue;
        }
        if ((rc == CAPTURE_END) != (lrc == PCAP_ERROR_BREAK) || (rc < 0) != (lrc == -1))
            abort();
        break;
    }
    pcap_close(p); /* closes fp */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1u << 20)
        return 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct pcap_file pf;
    if (pcap_file_header(buf, size, &pf) == PCAP_FILE_OURS)
        compare(buf, size, &pf);
    free(buf);
    return 0;
}
