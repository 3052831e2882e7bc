/*
 * The server name a client asks for, from the first bytes it sends on a TCP connection
 * (struct flow's sni; docs/internals/meter.md, "Server names"):
 *
 *   TLS   the server_name extension (RFC 6066 section 3, type 0, host_name 0) of a
 *         ClientHello (RFC 8446 section 4.1.2; also SSL 3.0 to TLS 1.2 record versions)
 *         in the first handshake record;
 *   HTTP  the Host header of the first request (RFC 9112 section 3.2), its port cut.
 *
 * Pure functions over untrusted bytes: every length is checked against what is there,
 * nothing is allocated, and a name is kept only when every byte is in the alphabet of
 * host names and address literals ([A-Za-z0-9._-], and ':' '[' ']' for IPv6), so the
 * printer can put it in CSV and JSON as it is. Names longer than FS_SNI_MAX keep their
 * first FS_SNI_MAX bytes.
 *
 * struct sni_asm holds one connection's state in the meter: the first client
 * segments, reassembled when a ClientHello does not fit one (a post-quantum key
 * share makes a browser's ClientHello about 1,800 bytes, more than one segment).
 */
#ifndef FS_SNI_H
#define FS_SNI_H

#include "../core/flow.h"
#include "../core/sniname.h"

#include <stddef.h>
#include <stdint.h>

enum sni_result {
    SNI_NONE = 0,  /* no name here, and more bytes would not give one */
    SNI_FOUND = 1, /* out holds the name (NUL-padded to FS_SNI_MAX) */
    SNI_MORE = 2,  /* a ClientHello or request that continues past n bytes: *need bytes */
};

/* The largest ClientHello record the meter reassembles (two or three segments). */
#define SNI_ASM_MAX 4096

/* TLS: p[0..n) are the first bytes of the client's stream. */
enum sni_result sni_tls(const uint8_t *p, size_t n, char out[FS_SNI_MAX], size_t *need);

/* HTTP: p[0..n) are the first bytes of the client's stream. SNI_MORE when the request
 * looks like HTTP and its header block has not ended within n bytes. */
enum sni_result sni_http(const uint8_t *p, size_t n, char out[FS_SNI_MAX]);

/* Either of them: TLS when the first byte is a handshake record (22), else HTTP. */
enum sni_result sni_find(const uint8_t *p, size_t n, char out[FS_SNI_MAX], size_t *need);

/* One connection's look for a name: zero-initialised; sni_asm_free when it ends. */
struct sni_asm {
    uint8_t *buf;      /* the client's bytes so far, while a ClientHello is incomplete */
    uint32_t len;      /* bytes in buf */
    uint32_t next_seq; /* sequence number that continues them */
    uint8_t done;      /* found, or given up: look no further */
    uint8_t segs;      /* client segments with payload seen */
};

/*
 * A client-to-server TCP segment of the connection: data[0..datalen) the captured
 * payload of payload bytes at sequence number seq. Sets f->sni when a name is found.
 * Gives up after 3 segments with payload, at a gap or a snapped segment, or past
 * SNI_ASM_MAX bytes; a retransmission of bytes it has is ignored.
 */
void sni_segment(struct sni_asm *s, struct flow *f, const uint8_t *data, uint32_t datalen,
                 uint32_t payload, uint32_t seq);

void sni_asm_free(struct sni_asm *s);

#endif
