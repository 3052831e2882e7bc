/*
 * collect -f: the flow datagrams of a file. A pcap/pcapng capture gives every UDP
 * datagram on any port (the exporter is the packet's IP source); an IPFIX file (RFC
 * 5655) is a plain sequence of IPFIX messages.
 */
#include "../capture/capture.h"
#include "../capture/decode.h"
#include "../core/xalloc.h"
#include "collector.h"

#include <stdlib.h>
#include <string.h>

/*
 * The UDP payload of a decoded packet: the last p->payload bytes of the IP packet,
 * after an 8-byte UDP header. The packet's end is found by matching that header, since
 * an Ethernet trailer may follow the IP packet in the captured bytes.
 */
static const uint8_t *udp_payload(const struct capture_pkt *cp, const struct pkt *p)
{
    size_t need = (size_t)p->payload + 8;
    for (size_t trail = 0; trail <= 64 && need + trail <= cp->caplen; trail++) {
        const uint8_t *u = cp->data + cp->caplen - trail - need;
        if (((u[0] << 8) | u[1]) == p->sport && ((u[2] << 8) | u[3]) == p->dport &&
            (size_t)((u[4] << 8) | u[5]) == need)
            return u + 8;
    }
    return NULL;
}

static int run_pcap(struct collect_args *a, struct collector *col, struct collect_run *run)
{
    struct capture *cap;
    struct fs_err err = { 0 };
    if (capture_open_file(&cap, a->file, NULL, &err) != 0) {
        fprintf(stderr, "flowsleuth collect: %s\n", err.msg);
        return 1;
    }
    int dlt = capture_linktype(cap), rc = 0;
    struct capture_pkt cp;
    struct pkt p;
    while (!collect_stop_requested && (rc = capture_next(cap, &cp, &err)) == CAPTURE_PACKET) {
        if (decode_packet(dlt, cp.data, cp.caplen, cp.wirelen, &p) != DEC_OK || p.proto != 17)
            continue;
        run->udp++;
        if (p.is_frag || !p.has_ports) {
            run->frag++;
            continue;
        }
        const uint8_t *u = udp_payload(&cp, &p);
        if (!u) {
            run->trunc++;
            continue;
        }
        collect_datagram_from(col, p.src, p.sport, u, p.payload, cp.ts_us / 1000,
                              collect_store_flow, run);
    }
    capture_close(cap);
    if (rc < 0) {
        fprintf(stderr, "flowsleuth collect: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* An IPFIX file (RFC 5655) is a plain sequence of IPFIX messages. */
static int run_ipfix_file(FILE *fp, struct collector *col, struct collect_run *run)
{
    static const uint8_t none[16];
    uint8_t *buf = xmalloc(65536);
    while (!collect_stop_requested && fread(buf, 1, 4, fp) == 4) {
        size_t mlen = ((size_t)buf[2] << 8) | buf[3];
        if (buf[0] != 0 || buf[1] != 10 || mlen < 16 ||
            fread(buf + 4, 1, mlen - 4, fp) != mlen - 4) {
            fprintf(stderr, "flowsleuth collect: IPFIX file ends or breaks off early\n");
            free(buf);
            return 1;
        }
        uint64_t t = ((uint64_t)buf[4] << 24) | ((uint64_t)buf[5] << 16) | (buf[6] << 8) | buf[7];
        collect_datagram(col, none, buf, mlen, t * 1000, collect_store_flow, run);
    }
    free(buf);
    return 0;
}

int collect_run_file(struct collect_args *a, struct collector *col, struct collect_run *run)
{
    FILE *fp = strcmp(a->file, "-") ? fopen(a->file, "rb") : NULL;
    uint8_t magic[2] = { 0xff, 0xff };
    if (fp && fread(magic, 1, 2, fp) == 2 && magic[0] == 0 && magic[1] == 10) {
        rewind(fp);
        int rc = run_ipfix_file(fp, col, run);
        fclose(fp);
        return rc;
    }
    if (fp)
        fclose(fp);
    return run_pcap(a, col, run);
}