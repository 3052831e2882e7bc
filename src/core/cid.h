/*
 * Community ID v1 (corelight/community-id-spec) of a flow record: the identifier
 * Suricata, Zeek, Arkime and Wireshark write for a connection, so that flows join
 * alerts and logs by one string. SHA-1 over the seed, the ordered endpoints, the
 * protocol, a zero byte and the ports; printed as "1:" + base64 of the digest.
 *
 * ICMP and ICMPv6 have no ports: the record keeps type * 256 + code in dport (as
 * nfdump and softflowd do), and the hash uses the type and, for a request or reply,
 * the type of its counterpart (echo 8 <-> 0 ...), else the code, as Zeek does; a
 * message without a counterpart is one-way and keeps its direction.
 *
 * Nothing here allocates.
 */
#ifndef FS_CID_H
#define FS_CID_H

#include "flow.h"

#include <stddef.h>
#include <stdint.h>

#define CID_DIGEST 20
#define CID_TEXT   31 /* "1:" + 28 base64 characters + NUL */

/* The 20-byte digest of f's Community ID with the given seed. */
void cid_digest(const struct flow *f, uint16_t seed, uint8_t out[CID_DIGEST]);

/* "1:" + base64 of the digest into buf (>= CID_TEXT bytes); returns the length (30). */
size_t cid_format(const uint8_t d[CID_DIGEST], char *buf);

/* Parse "1:" + 28 base64 characters (len bytes of s) into a digest; 0, or -1 when s is
 * not a Community ID v1. */
int cid_parse(const char *s, size_t len, uint8_t out[CID_DIGEST]);

/* The seed that printed and filtered cid values use (--cid-seed; default 0). One per
 * process: it is a reading option, the same for every record of a run. */
void cid_set_seed(uint16_t seed);
uint16_t cid_seed(void);

#endif
