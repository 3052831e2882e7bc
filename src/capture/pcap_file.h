/*
 * Classic pcap files read from memory, without libpcap: capture.c maps a file and
 * hands out packets straight from the mapping (libpcap copies each packet from its
 * stdio buffer, and the kernel copies the file into that buffer first).
 *
 *   file header, 24 bytes, in the writer's byte order (the magic tells which):
 *     magic 4 (a1b2c3d4 microseconds, a1b23c4d nanoseconds) | version 2.4 (2 + 2)
 *     | thiszone 4 | sigfigs 4 | snaplen 4 | linktype 4 (low 26 bits; FCS bits above)
 *   then records: seconds 4 | fraction 4 | caplen 4 | wire length 4 | caplen bytes
 *
 * Only what is common is taken here: version 2.4, both byte orders, micro- and
 * nanosecond magic, the link types decode.h knows. Everything else (pcapng, the
 * old and patched variants, other link types) goes to libpcap, so its handling of
 * them stays as it was. What is taken gives exactly what libpcap gives (the same
 * packets, lengths, times and errors; fuzz/fuzz_pcap_file.c compares the two).
 *
 * Pure: no I/O, no allocation; every byte is read through core/rd.h.
 */
#ifndef FS_PCAP_FILE_H
#define FS_PCAP_FILE_H

#include "../core/err.h"
#include "capture.h"

#include <stddef.h>
#include <stdint.h>

#define PCAP_FILE_HDR_LEN 24
#define PCAP_FILE_REC_LEN 16
/* libpcap refuses a record longer than this for every link type decode.h knows. */
#define PCAP_FILE_MAX_CAPLEN 262144u

struct pcap_file {
    int dlt;           /* link type as pcap_datalink() gives it (DLT_RAW for 101) */
    uint32_t snapshot; /* the file's snap length as libpcap adjusts it */
    uint8_t big;       /* written big-endian */
    uint8_t nsec;      /* nanosecond fractions */
};

#define PCAP_FILE_OURS  0 /* a file this reader takes */
#define PCAP_FILE_OTHER 1 /* anything else: libpcap's to read (or to refuse) */

/* Look at the first n bytes of a file: PCAP_FILE_OURS with *out filled, or
 * PCAP_FILE_OTHER. */
int pcap_file_header(const uint8_t *b, size_t n, struct pcap_file *out);

/*
 * The record at b, with n bytes left in the file. Returns CAPTURE_PACKET (*out
 * points into b; *used = bytes to step over), CAPTURE_END when n is 0, or FS_ETRUNC
 * / FS_ECORRUPT with err set (the file ends inside the record; a capture length
 * libpcap refuses), as libpcap ends with an error there.
 */
int pcap_file_record(const struct pcap_file *f, const uint8_t *b, size_t n, struct capture_pkt *out,
                     size_t *used, struct fs_err *err);

#endif
