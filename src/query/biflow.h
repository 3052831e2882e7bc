/*
 * Pairing of uniflows into biflows (flowsleuth print -b, whose -w stores the pairs once;
 * stats -b), for records from NetFlow/IPFIX exporters that report each direction of a
 * connection on its own.
 *
 * A uniflow is a record with rbytes = rpackets = 0. Two uniflows pair when their keys
 * are each other's reverse (src/dst and sport/dport swapped; same proto, IP version,
 * vlan and exporter) and their times overlap or nearly do: the later one starts at
 * most `gap_ms` after the earlier one ends. The pair becomes one biflow (RFC 5103):
 * forward = the initiator, the record that started first. On equal first times
 * (softflowd and other exporters that keep a connection as one entry give both
 * directions its times) the forward record is the one sent to the port that looks more
 * like a service (1..1023, then a short list of common registered service ports such
 * as 8080, 3306, 8443), and between equals the one sent to the lower port. The biflow
 * has the forward record's key, counters and other members (interfaces, AS numbers,
 * tos), the earliest first and latest last, and the other record's bytes, packets,
 * payload, goodput, retrans, flags and minlen/maxlen as its reverse counters. Records
 * that are already biflows (rbytes or rpackets set), and uniflows that find no partner,
 * pass through unchanged.
 *
 * Memory is bounded: open uniflows wait in a ring (insertion order) indexed by a hash
 * of the direction-independent 5-tuple. Records are expected roughly in time order
 * (a store is read in time-bin order); an open uniflow is given up (emitted unpaired)
 * once a record has been seen whose last time is more than `hold_ms` past its own
 * last time, or when the ring is full (the oldest goes first). Output order is
 * therefore not input order: a pair is emitted when its second record arrives.
 *
 * Ownership: biflow_new allocates, biflow_free releases. Records handed to the emit
 * callback are only lent for the call. Nothing here prints.
 */
#ifndef FS_BIFLOW_H
#define FS_BIFLOW_H

#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

#define BIFLOW_GAP_MS   1000u    /* default: later start <= earlier end + 1 s */
#define BIFLOW_HOLD_MS  120000u  /* default: wait 2 min of record time for a partner */
#define BIFLOW_MAX_OPEN 1000000u /* default ring capacity (about 200 MB when full) */

/* Called for every output record; a nonzero return stops and is passed back. */
typedef int (*biflow_emit_fn)(void *ctx, const struct flow *f);

struct biflow;

/* A pairer; max_open is rounded up to a power of two (at least 16). */
struct biflow *biflow_new(uint64_t gap_ms, uint64_t hold_ms, size_t max_open);

/*
 * Take one record: pair it with an open uniflow, keep it open, or pass it through,
 * emitting what is complete (0, 1 or more records). Returns 0, or the first nonzero
 * value emit returned.
 */
int biflow_add(struct biflow *b, const struct flow *f, biflow_emit_fn emit, void *ctx);

/* Emit every uniflow still open (unpaired), oldest first. 0 or emit's nonzero value. */
int biflow_flush(struct biflow *b, biflow_emit_fn emit, void *ctx);

/* Counters for --stats and tests. */
struct biflow_counts {
    uint64_t in, paired, unpaired, passed; /* records in; pairs made; uniflows alone; biflows */
};
void biflow_counts(const struct biflow *b, struct biflow_counts *out);

/* Merge uniflow rev into fwd's reverse direction (out = the biflow). */
void biflow_merge(const struct flow *fwd, const struct flow *rev, struct flow *out);

void biflow_free(struct biflow *b);

#endif
