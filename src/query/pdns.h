/*
 * Names for addresses from a passive DNS table (--pdns FILE): the computed fields
 * src_name and dst_name and the filter's `name GLOB` (DESIGN.md: "the DNS name an
 * address had at the flow's time").
 *
 * The file is JSON lines in the passive DNS common output format, as meter --pdns-out
 * writes it: rrname, rrtype, rdata (a string, or an array of strings), time_first,
 * time_last (seconds since the epoch), count (optional, 1 when absent); other members
 * are ignored. A and AAAA records name addresses; CNAME records are followed back from
 * an A/AAAA record's rrname to the name a client asked for (www.netflix.com, not the
 * CDN's www.eu-west-1.prodaa.netflix.com): a CNAME whose rdata is the name and whose
 * time range overlaps the record's, the most counted (then the most recent) when
 * several, at most PDNS_CHAIN steps. Names are lowered and a final dot dropped. Other
 * types are counted and left out; bad lines (not JSON, a missing or mistyped member,
 * an rdata that is not an address of its type, time_last before time_first, a name that
 * is empty, longer than PDNS_NAME_MAX or holds a byte other than printable ASCII or one
 * of '"', ',' and '\\' (so that a name goes into csv, json and a filter as it is; the
 * meter writes odd bytes as \DDD and such names are left out), a line over
 * PDNS_LINE_MAX) are skipped and counted, never fatal.
 *
 * The name of an address at time t: among its A/AAAA records that cover t (time_first
 * - PDNS_BEFORE <= t <= time_last + PDNS_AFTER: the answer came before the connection,
 * and is used for up to its TTL after it was last seen), the one first seen most
 * recently, then the most counted. At load each address's answers are worked out as
 * segments of time; a lookup is a hash probe to the address and a step from the
 * segment of its last lookup (flows come in time order).
 *
 * Ownership: pdns_load allocates, pdns_free frees; pdns_use makes a table the one the
 * fields and the filter use (one per process, as the cid seed).
 */
#ifndef FS_PDNS_H
#define FS_PDNS_H

#include "../core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PDNS_LINE_MAX ((size_t)64 * 1024)
#define PDNS_NAME_MAX 253 /* characters of a name kept (RFC 1035's 255 wire bytes) */
#define PDNS_CHAIN    8
#define PDNS_BEFORE   60   /* seconds before time_first a record already names an address */
#define PDNS_AFTER    3600 /* seconds after time_last it still does */

enum pdns_skip {
    PDNS_SKIP_LONG,  /* line over PDNS_LINE_MAX */
    PDNS_SKIP_JSON,  /* not a JSON object of strings, numbers, arrays, ... */
    PDNS_SKIP_FIELD, /* rrname, rrtype, rdata, time_first or time_last missing/mistyped */
    PDNS_SKIP_RDATA, /* an A/AAAA rdata that is not an address of its type */
    PDNS_SKIP_TIME,  /* time_last before time_first, or a time past 2106 */
    PDNS_SKIP_NAME,  /* an empty or long name, or one with a byte it may not hold */
    PDNS_NSKIP
};

struct pdns_stats {
    uint64_t lines;
    uint64_t addrs;  /* A/AAAA records kept */
    uint64_t cnames; /* CNAME records kept */
    uint64_t other;  /* records of other types, left out */
    uint64_t skipped[PDNS_NSKIP];
    uint64_t chained; /* A/AAAA records named through a CNAME chain */
};

struct pdns;

/* Read the table from fp (name: for messages). 0, or a negative code with err set
 * when the file cannot be read; bad lines are counted in st, not errors. */
int pdns_read(FILE *fp, const char *name, struct pdns **out, struct pdns_stats *st,
              struct fs_err *err);

/* A table from another source (cmd/input.c: an EVE file's dns answers): pdns_new, then
 * pdns_add for each record (checked and counted in st as a line of the file would be),
 * then pdns_finish before the first lookup. */
struct pdns *pdns_new(void);
void pdns_add(struct pdns *t, const char *rrname, const char *rrtype, const char *rdata,
              uint64_t first, uint64_t last, uint64_t count, struct pdns_stats *st);
void pdns_finish(struct pdns *t, struct pdns_stats *st);

/* The same from a file; "-" is stdin. */
int pdns_load(const char *path, struct pdns **out, struct pdns_stats *st, struct fs_err *err);

void pdns_free(struct pdns *t);

/* "line too long", ... */
const char *pdns_skip_name(enum pdns_skip r);

/* The name of addr (16 bytes, IPv4-mapped for IPv4) at t_ms (ms since the epoch), or
 * NULL when the table names it not then. */
const char *pdns_name(const struct pdns *t, const uint8_t addr[16], uint64_t t_ms);

/* The same answer as a number that stands for the name while t lives (0 = none; equal
 * names, equal numbers), for keys that count by name; pdns_ref_name gives it back. */
uint32_t pdns_name_ref(const struct pdns *t, const uint8_t addr[16], uint64_t t_ms);
const char *pdns_ref_name(const struct pdns *t, uint32_t ref);

/* Every record that names addr, in time_first order: fn gets the name (after the CNAME
 * chain), time_first and time_last (seconds) and count. For pivot's timeline. */
void pdns_each(const struct pdns *t, const uint8_t addr[16],
               void (*fn)(void *ctx, const char *name, uint32_t first, uint32_t last,
                          uint32_t count),
               void *ctx);

/* The table of src_name, dst_name and the filter (NULL: none; the fields are empty). */
void pdns_use(struct pdns *t);
const struct pdns *pdns_current(void);

#endif
