/*
 * The field table: one row per member of struct flow. The printer, the CSV/JSON
 * headers, the store's column order, and (later) the filter and stats keys all read it,
 * so adding a field is a struct member plus one row here (STYLE.md).
 *
 * The names are the contract of DESIGN.md. The table is const and static; nothing
 * to free.
 */
#ifndef FS_FIELDS_H
#define FS_FIELDS_H

#include "flow.h"

#include <stddef.h>
#include <stdint.h>

enum field_type {
    FT_ADDR,  /* uint8_t[16], printed with the record's ipver */
    FT_EADDR, /* uint8_t[16] exporter address: IPv4-mapped printed as IPv4 */
    FT_TIME,  /* uint64_t ms since epoch, printed ISO 8601 UTC */
    FT_U64,
    FT_U32,
    FT_U16,
    FT_U8,
    FT_PROTO,  /* uint8_t printed as a name (tcp, udp, ...) where known */
    FT_FLAGS,  /* uint8_t TCP flags printed as nfdump does: CEUAPRSF with '.' */
    FT_CID,    /* computed from the key (cid.h), not a member: no row in fields[] */
    FT_NAME,   /* computed: the passive DNS name of the address at offset (query/pdns.h) */
    FT_FWEV,   /* uint8_t firewallEvent printed as a name (core/fwnat.h) where known */
    FT_NATEV,  /* uint8_t natEvent printed as a name (core/fwnat.h) where known */
    FT_ACL,    /* uint64_t Cisco ACL id << 32 | ACE id, printed ACL:ACE in hex */
    FT_STR,    /* char[size], NUL-padded text of a restricted alphabet (sni) */
    FT_LABEL,  /* computed: the --label lists the flow's addresses are in (query/labels.h) */
    FT_CC,     /* computed: the --mmdb country of the address at offset (query/geo.h) */
    FT_ASN,    /* computed: the --mmdb autonomous system number of the address at offset */
    FT_ASNAME, /* computed: the --mmdb autonomous system organization of the address */
};

/* Bits of field.kind: how the printer's table mode shows a number. */
#define FK_BYTES 0x01 /* scale with K/M/G (1024-based would surprise; we use 1000) */
#define FK_COUNT 0x02 /* scale with k/M/G */

struct field {
    const char *name;     /* contract name: CSV/JSON header, filter, stats key */
    enum field_type type; /* representation */
    uint16_t offset;      /* offsetof(struct flow, member) */
    uint8_t size;         /* bytes of the member */
    uint8_t kind;         /* FK_* display hints */
    const char *help;     /* one line for --help and the man page */
};

/* The table, in the canonical column order (also the store's column order). */
extern const struct field fields[];
extern const size_t nfields;

/* Look a field up by name; NULL when unknown. */
const struct field *field_find(const char *name);

/* Index of a field in fields[], or -1. */
int field_index(const char *name);

/* Read a numeric field (every type but the addresses) widened to 64 bits. */
static inline uint64_t field_get_u64(const struct field *fd, const struct flow *f)
{
    const uint8_t *p = (const uint8_t *)f + fd->offset;
    switch (fd->size) {
    case 1:
        return *p;
    case 2:
        return *(const uint16_t *)(const void *)p;
    case 4:
        return *(const uint32_t *)(const void *)p;
    default:
        return *(const uint64_t *)(const void *)p;
    }
}

/* The address member of an FT_ADDR / FT_EADDR field. */
static inline const uint8_t *field_get_addr(const struct field *fd, const struct flow *f)
{
    return (const uint8_t *)f + fd->offset;
}

#endif
