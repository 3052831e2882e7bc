/*
 * --mmdb FILE: MaxMind DB files (GeoLite2 or DB-IP country and ASN databases, read by
 * Debian's libmaxminddb) that give each flow address its country (country.iso_code) and
 * autonomous system (autonomous_system_number, autonomous_system_organization): the
 * src_cc, dst_cc, src_asn, dst_asn, src_asname and dst_asname columns and the filter
 * terms `[src|dst] cc CC` and `[src|dst] asn N`. A country database and an ASN
 * database are given as two --mmdb; each answer comes from the first file that has it.
 * The files are opened once per run, before any filter is compiled, and only read
 * afterwards (libmaxminddb's lookups keep no state), so decoder threads may share them.
 */
#ifndef FS_QUERY_GEO_H
#define FS_QUERY_GEO_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

#define GEO_DBS_MAX 4
/* The longest organization text kept, with its NUL: longer ones are cut at a character. */
#define GEO_ASNAME_MAX 128

/*
 * Open one database (memory-mapped). 0, or a negative code with err naming the file and
 * what is wrong with it: not there, not a MaxMind DB, a search tree or data section that
 * does not hold together, more than GEO_DBS_MAX files.
 */
int geo_add(const char *path, struct fs_err *err);

/* The number of databases open. */
size_t geo_count(void);

/*
 * The country of address a (16 bytes, IPv4-mapped when ipver is 4): its ISO 3166 code,
 * two upper-case letters and a NUL, into cc. 1 when known, else 0 (no database has the
 * address, or its record has no country.iso_code of two letters).
 */
int geo_cc(const uint8_t a[16], int ipver, char cc[3]);

/* The autonomous system number of address a into *asn: 1 when known, else 0. */
int geo_asn(const uint8_t a[16], int ipver, uint32_t *asn);

/*
 * The organization of a's autonomous system into buf (GEO_ASNAME_MAX bytes) as valid
 * UTF-8 without control characters (a database's bytes are not trusted: others become
 * '?', controls a blank); returns its length, 0 when unknown.
 */
size_t geo_asname(const uint8_t a[16], int ipver, char *buf);

/* ISO code "de" or "DE" to its two-letter upper-case form in cc: 0, or -1 when it is
 * not two ASCII letters. */
int geo_cc_parse(const char *s, size_t len, char cc[3]);

/* Close every database (the run's end). */
void geo_free(void);

#endif
