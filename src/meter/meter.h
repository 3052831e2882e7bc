/*
 * The flow meter: packets (struct pkt, from decode.h) into biflow records.
 *
 * One hash table keyed on the canonical 5-tuple + VLAN, so both directions of a
 * connection hit one entry. The initiator (forward direction, `src`) is the sender of
 * a SYN without ACK, else the receiver of a SYN+ACK, else the first packet's source.
 *
 * Expiry, always by packet time (so reading a file gives the same result as live):
 *   - idle: no packet for idle_ms;
 *   - active: a flow older than active_ms is cut at its next packet and continues in
 *     a new record;
 *   - TCP close: FIN seen both ways, or RST: the flow lingers linger_ms for the last
 *     ACKs, then ends; a SYN on a closing flow's tuple ends it at once and starts a
 *     new flow (a client reusing its port);
 *   - capacity: with max_flows active flows, the least recently used is evicted;
 *   - meter_flush(): all, at end of input.
 * Expired records go to the sink callback in expiry order.
 *
 * Exchanges (opts.split): a TCP connection is cut into request/response exchanges by
 * metadata alone: a client packet with payload after the server has sent payload
 * starts a new exchange. Each exchange is a record of its own (same 5-tuple,
 * `exchange` = 1, 2, ...), so several downloads on one keep-alive connection become
 * several records. Responses sent back to back (pipelining) are cut where the
 * server's writes show a response start: a write of the run's length after an
 * irregular one, followed by a header-sized segment (the server realigning its file
 * reads after the header); the record is cut there after the fact, from two
 * snapshots of its counters (docs/internals/meter.md). A request that leaves right
 * after such a segment, mid-response, stays in that exchange; an exchange whose
 * client sent several requests in one segment (a burst) is not cut by the server.
 *
 * Ownership: meter_new allocates, meter_free frees (without flushing).
 */
#ifndef FS_METER_H
#define FS_METER_H

#include "../capture/decode.h"
#include "../core/flow.h"

#include <stdint.h>

struct meter_opts {
    uint64_t idle_ms;   /* default 60 s */
    uint64_t active_ms; /* default 1800 s */
    uint64_t linger_ms; /* after FIN both ways / RST; default 2 s */
    uint32_t max_flows; /* default 1,000,000 */
    int split;          /* 1 = cut TCP connections into request/response exchanges */
};

void meter_opts_default(struct meter_opts *o);

typedef void (*meter_sink)(void *ctx, const struct flow *f);

struct meter_stats {
    uint64_t packets;   /* packets given to meter_packet */
    uint64_t flows_out; /* records emitted */
    uint64_t exp_idle, exp_active, exp_closed, exp_evicted, exp_reused, exp_flush;
    uint64_t active_peak; /* most flows held at once */
    uint64_t exchanges;   /* records cut at an exchange boundary (split) */
    uint64_t resp_cuts;   /* of those, cut at a response start the server's writes show */
};

struct meter;

struct meter *meter_new(const struct meter_opts *o, meter_sink sink, void *ctx);

/* Account one decoded packet (p->ts_us set). Expires what is due at its time first. */
void meter_packet(struct meter *m, const struct pkt *p);

/*
 * The same for a caller that decodes packets ahead of the one it meters, so that the
 * flow table's memory each needs is on its way while the packets before it are
 * metered: hash = meter_hash(p); meter_prefetch(m, hash, 0) (its bucket) two packets
 * ahead, meter_prefetch(m, hash, 1) (the bucket's first flow, reading the bucket) one
 * packet ahead, then meter_packet_hash(m, p, hash). The prefetches change nothing:
 * the result is that of meter_packet(m, p) whatever they were given.
 */
uint32_t meter_hash(const struct pkt *p);
void meter_prefetch(const struct meter *m, uint32_t hash, int stage);
void meter_packet_hash(struct meter *m, const struct pkt *p, uint32_t hash);

/* Expire everything due at now_us (live capture calls this on a timer). */
void meter_expire(struct meter *m, uint64_t now_us);

/* Emit every flow still held. */
void meter_flush(struct meter *m);

/* Number of flows held now. */
uint32_t meter_active(const struct meter *m);

void meter_get_stats(const struct meter *m, struct meter_stats *out);

void meter_free(struct meter *m);

#endif
