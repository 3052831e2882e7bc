/*
 * A MaxMind DB writer for the tests (fsgen mmdb): a country or an ASN database in the
 * GeoLite2 / DB-IP record layout, of a fixed table of networks (IPv4 and IPv6, some
 * nested in others, names with a comma, a quote and non-ASCII letters), written from
 * the format's specification (MaxMind DB 2.0: a binary search tree of 24-, 28- or
 * 32-bit records, 16 zero bytes, the data section, the metadata after its marker).
 */
#ifndef FS_GEN_MMDB_WRITE_H
#define FS_GEN_MMDB_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One network of the table: an attribute left NULL or 0 is not in its record. */
struct mw_net {
    const char *net;    /* "198.18.0.0/21", "2001:db8:c1::/64" */
    const char *cc;     /* country.iso_code */
    const char *reg_cc; /* registered_country.iso_code alone (no country) */
    uint32_t asn;       /* autonomous_system_number */
    const char *org;    /* autonomous_system_organization */
};

extern const struct mw_net mw_nets[];
extern const size_t mw_nnets;

enum mw_kind { MW_COUNTRY, MW_ASN };

/*
 * Write the table as a database of kind: record_size 24, 28 or 32; ipver 6 (IPv4
 * networks under ::/96, as MaxMind's IPv6 databases hold them) or 4 (the IPv6 networks
 * left out). 0, or -1 with the reason in msg.
 */
int mw_write(const char *path, enum mw_kind kind, int record_size, int ipver, char *msg,
             size_t cap);

/*
 * The row of mw_nets a database of kind answers for address a (16 bytes, IPv4-mapped
 * when ipver is 4): the longest network holding a whose record kind carries (for
 * MW_COUNTRY: cc or reg_cc; for MW_ASN: asn), or -1 when none.
 */
int mw_expect(enum mw_kind kind, const uint8_t a[16], int ipver);

/* fsgen mmdb: the command and its help. */
int mw_cmd(int argc, char **argv);
void mw_usage(FILE *fp);

#endif
