/*
 * Packet sources: a pcap or pcapng file ("-" = stdin) or a live interface. Hands out
 * raw link-layer bytes; decoding is decode.h's job. A classic pcap file (a regular
 * file, not stdin) is mapped and read by pcap_file.h without a copy; pcapng, pipes
 * and live interfaces go through libpcap.
 *
 * Ownership: capture_open_* allocate, capture_close frees. The data pointer returned
 * by capture_next is valid until the next call.
 */
#ifndef FS_CAPTURE_H
#define FS_CAPTURE_H

#include "../core/err.h"

#include <stdint.h>

#define CAPTURE_PACKET  1 /* a packet was returned */
#define CAPTURE_TIMEOUT 0 /* live: no packet within the read timeout */
#define CAPTURE_END     2 /* end of file, or capture_stop() was called */

struct capture;

struct capture_pkt {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    uint64_t ts_us;
};

/* Open a capture file (pcap or pcapng, "-" = stdin), with an optional BPF filter. */
int capture_open_file(struct capture **out, const char *path, const char *bpf, struct fs_err *err);

/*
 * Open a live interface in immediate mode with a short read timeout, so a quiet
 * interface still lets the caller expire flows. snaplen 0 = 65535.
 */
int capture_open_live(struct capture **out, const char *iface, const char *bpf, int snaplen,
                      struct fs_err *err);

/* Next packet: CAPTURE_PACKET, CAPTURE_TIMEOUT, CAPTURE_END or a negative code. */
int capture_next(struct capture *c, struct capture_pkt *out, struct fs_err *err);

/*
 * How many further capture_next calls a packet's data stays valid through: 0 for
 * libpcap (its buffer is reused), more for a mapped file without a filter, so a
 * caller may decode packets ahead of the one it works on.
 */
int capture_keeps(const struct capture *c);

/* The link type (pcap LINKTYPE_* value). */
int capture_linktype(const struct capture *c);

/* Safe from a signal handler: makes capture_next return CAPTURE_END soon. */
void capture_stop(struct capture *c);

/* Kernel/libpcap counters of a live capture (received, dropped); 0 on files. */
int capture_drops(struct capture *c, uint64_t *received, uint64_t *dropped);

void capture_close(struct capture *c);

#endif
