/*
 * Which server names the record's sni field keeps (flow.h): a host name or an address
 * literal, every byte in [A-Za-z0-9.-_:[]], the first FS_SNI_MAX bytes. Here, below the
 * meter and the codecs, because both hold names to the same rule: the meter's TLS
 * ClientHello and HTTP Host (meter/sni.c), an exporter's IPFIX server name (codec/tmpl.c).
 *
 * Ownership: plain values.
 */
#ifndef FS_SNINAME_H
#define FS_SNINAME_H

#include "flow.h"

#include <stddef.h>
#include <stdint.h>

/* Keep p[0..n) as a name in out (its first FS_SNI_MAX bytes, NUL-padded) when n > 0
 * and every byte is in the alphabet above; 1 kept, 0 not (out untouched). */
int sni_keep(const uint8_t *p, size_t n, char out[FS_SNI_MAX]);

#endif
