/*
 * Services profile (flowsleuth services): the (server, protocol, port) triples that
 * answered, with their clients, flows, bytes and times, marked against an authorised
 * inventory.
 *
 * A flow shows a service when its responder answered (a biflow's forward direction is
 * the initiator, so the service is dst:dport):
 *   TCP  the reverse direction carried SYN+ACK (a completed handshake seen), or, for
 *        flows whose start was not seen (a capture or an exporter that began
 *        mid-connection), ACK-bearing reverse traffic of 4 packets or more (the SEI's
 *        network-profiling rule);
 *   UDP  reverse packets came.
 * Where no handshake was seen (TCP without SYN+ACK, and UDP) the sides are the meter's
 * guess from the first packet: the responder's port must then be below the ephemeral
 * range (SERVICES_EPHEMERAL: Linux's default range starts at 32768, IANA's at 49152)
 * and must not be a port from 1024 up answering a well-known one (sport < 1024: the
 * flow began with a server's packet; old Windows clients use 1025-5000). So a client's
 * port never shows up as a service; a real listener on a high port shows on its
 * handshake.
 *
 * Ownership: services_new allocates, services_free releases; rows handed to the
 * callback are lent for the call. Nothing prints; services_load_authorised fills a
 * message naming the file and line.
 */
#ifndef FS_SERVICES_H
#define FS_SERVICES_H

#include "../core/flow.h"
#include "netlist.h"

#include <stddef.h>
#include <stdint.h>

#define SERVICES_EPHEMERAL    32768
#define SERVICES_MIN_RPACKETS 4
/* --max-mem: each distinct service, each distinct client and each answered flow (an
 * 8-byte (service, client) pair and the sort's copy of it; a flow that repeats the
 * pair its service took last takes none) */
#define SERVICES_BYTES_PER_SERVICE 160
#define SERVICES_BYTES_PER_CLIENT  64
#define SERVICES_BYTES_PER_PAIR    16

/* One line of the authorised inventory. */
struct svc_auth {
    struct net_prefix server;
    char text[64]; /* the server as written, for a missing row */
    uint8_t proto;
    uint16_t port;
    int seen;
};

struct svc_authlist {
    struct svc_auth *v;
    size_t n, cap;
};

/*
 * Read FILE.csv: a header line "server,proto,port", then one entry a line: an address
 * or prefix, tcp/udp/sctp or a protocol number, a port 0..65535. Blank lines and lines
 * starting with # are skipped. Returns 0, -errno, or FS_EINVAL with msg holding
 * "FILE:LINE: what is wrong". Free with services_authlist_free.
 */
int services_load_authorised(struct svc_authlist *l, const char *path, char *msg, size_t msglen);
void services_authlist_free(struct svc_authlist *l);

enum svc_status { SVC_AUTHORISED, SVC_UNEXPECTED, SVC_MISSING };

struct svc_row {
    uint8_t server[16];
    int ipver;
    const char *server_text; /* a missing row's entry as written; NULL otherwise */
    uint8_t proto;
    uint16_t port;
    uint64_t clients, flows, bytes; /* bytes: both directions */
    uint64_t first, last;
    enum svc_status status;
};

struct services_opts {
    const struct netlist *internal; /* servers must lie here (NULL or empty: anywhere) */
    struct svc_authlist *auth;      /* NULL: no inventory (every service unexpected) */
    size_t max_mem;
};

struct services;

struct services *services_new(const struct services_opts *o);

/* 1 when the flow shows its responder answering as a service (the rule above). */
int services_flow_answers(const struct flow *f);

/* Take one flow: 0, or FS_ENOSPC when max_mem is used up. */
int services_add(struct services *s, const struct flow *f);

/* The services (by server, proto, port), then the authorised entries never seen, to
 * fn; a nonzero return stops and is passed back. Call once. */
typedef int (*services_emit_fn)(void *ctx, const struct svc_row *r);
int services_finish(struct services *s, services_emit_fn fn, void *ctx);

/* Add what src holds to dst (src is flushed, not freed): 0, or FS_ENOSPC when dst's
 * max_mem cannot hold the union. For one state per reading thread: the sums and the
 * distinct clients do not depend on the order of the flows. */
int services_merge(struct services *dst, struct services *src);

size_t services_flows(const struct services *s);

const char *services_status_name(enum svc_status st);

void services_free(struct services *s);

#endif
