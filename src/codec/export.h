/*
 * Flow export: struct flow -> IPFIX (RFC 7011, biflows as RFC 5103), NetFlow v9
 * (RFC 3954) and NetFlow v5 messages, and a UDP sender for them. The inverse of
 * collect.h; docs/internals/export.md has the templates and enterprise IEs.
 *
 * Two layers:
 *   export_enc_*  pure encoder: flows in, whole messages out through a callback; no
 *                 sockets, no clock of its own (the caller passes "now"), so the unit
 *                 tests decode its output with collect_datagram.
 *   exporter_*    URL (ipfix://HOST:PORT, nf9://, nf5://), a connect()ed UDP socket,
 *                 an optional token bucket (--rate flows/s); otherwise no pacing.
 *                 ipfix+tcp://HOST:PORT: IPFIX over TCP (RFC 7011 10.4), connected
 *                 at the first message, reconnected with backoff, templates first
 *                 on every connection.
 *
 * Dialects are rows of a const table (softflowd's nf[]): name, version, records per
 * message, IPv6 and biflow support, header/template/record writers.
 *
 *   IPFIX message                 NetFlow v9 message            NetFlow v5 message
 *   16-byte header                20-byte header                24-byte header
 *   [set 2: templates 256 + 257]  [flowset 0: templates]        1..30 x 48-byte record
 *   set 256 (IPv4) / 257 (IPv6)   flowset 256 / 257, padded
 *   one biflow per record         one uniflow per record        IPv4 uniflows only
 *   seq = data records before     seq = messages before         seq = records before
 *
 * Time: the caller's clock (the meter passes packet time when reading a file, wall
 * time when live). sysUptime counts from the exporter's start, truncated to a whole
 * second so the v9 header's unix seconds and uptime agree to the millisecond.
 *
 * Ownership: export_enc_new / exporter_open allocate, export_enc_free / exporter_close
 * free. Messages handed to the emit callback are valid only during the call. Nothing
 * here prints.
 */
#ifndef FS_EXPORT_H
#define FS_EXPORT_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

struct export_dialect; /* a row of the dialect table (export_enc.c) */

/* The dialect of a URL scheme name ("ipfix", "nf9", "nf5"), or NULL. */
const struct export_dialect *export_dialect_find(const char *name);

/* Properties of a dialect, for commands and tests. */
const char *export_dialect_name(const struct export_dialect *d);
int export_dialect_version(const struct export_dialect *d); /* 10, 9 or 5 */

struct export_stats {
    uint64_t flows;       /* flows given to the encoder */
    uint64_t left_out;    /* flows the dialect cannot carry (IPv6 in v5), not sent */
    uint64_t records;     /* data records in messages sent (v9/v5: uniflows) */
    uint64_t messages;    /* messages sent */
    uint64_t templates;   /* template records sent */
    uint64_t bytes;       /* message bytes sent */
    uint64_t send_errors; /* messages the emit callback (the network) refused */
    uint64_t lost;        /* data records in those refused messages */
    uint64_t connects;    /* ipfix+tcp: connections made (1 + reconnections) */
};

/*
 * flowsleuth's string IEs an IPFIX encoder adds when asked (export_enc_opts.extra,
 * meter --export-fields): variable-length, appended to both templates, which then
 * take ids 258 / 259 so a collector never confuses them with the default 256 / 257.
 * Without them the templates are as they always were. NetFlow v9 and v5 ignore them.
 */
enum {
    EXPORT_X_SNI = 1, /* flowsleuthServerName (PEN 32473, 5): the record's sni */
    EXPORT_X_CID = 2, /* flowsleuthCommunityId (PEN 32473, 6): "1:..." with cid_seed */
};

struct export_enc_opts {
    size_t max_msg;      /* message size cap in bytes (0 = 1400; at least 512) */
    uint32_t tmpl_every; /* resend templates every N messages (0 = 20) */
    uint64_t tmpl_ms;    /* ... or when this much clock has passed (0 = 60000) */
    uint32_t domain;     /* IPFIX observation domain, v9 source id, v5 engine id */
    uint64_t start_ms;   /* exporter start = sysUptime 0 (0 = set by export_enc_start
                            or the first flow) */
    uint32_t extra;      /* EXPORT_X_* (IPFIX only) */
    uint16_t cid_seed;   /* Community ID seed for EXPORT_X_CID */
};

/* Receives one whole message; nonzero = it was not sent (counted, not fatal). */
typedef int (*export_emit)(void *ctx, const uint8_t *msg, size_t len);

struct export_enc;

/* New encoder for dialect d (opts may be NULL for defaults). */
struct export_enc *export_enc_new(const struct export_dialect *d, const struct export_enc_opts *o,
                                  export_emit emit, void *ctx);

/*
 * Set the exporter's start (the sysUptime origin) unless messages already went out:
 * the meter passes its first packet's time so no flow starts before it.
 */
void export_enc_start(struct export_enc *e, uint64_t start_ms);

/*
 * Encode one flow at clock now_ms. Full messages go to the emit callback; the last
 * one waits for more flows or export_enc_flush. IPFIX sends a biflow as one record;
 * v9 and v5 send the forward uniflow and, when it has packets, the reverse one. v5
 * leaves IPv6 flows out (counted in left_out).
 */
void export_enc_flow(struct export_enc *e, const struct flow *f, uint64_t now_ms);

/* Emit the message being filled, if any. */
void export_enc_flush(struct export_enc *e);

/* Data records in the message being filled (0 = nothing pending). */
uint32_t export_enc_pending(const struct export_enc *e);

void export_enc_stats(const struct export_enc *e, struct export_stats *out);

/* Free without flushing. */
void export_enc_free(struct export_enc *e);

/* ---- the UDP sender -------------------------------------------------------------- */

struct exporter_opts {
    double rate;                /* flows per second, token bucket; 0 = no limit */
    struct export_enc_opts enc; /* message size, template refresh, domain */
};

struct exporter;

/*
 * Parse URL (SCHEME://HOST:PORT, HOST an IPv4 address, [IPv6] or a name; SCHEME
 * ipfix, ipfix+tcp, nf9 or nf5), resolve it, open and connect() a UDP socket (TCP:
 * only resolve; the connection is made with the first message). 0 or FS_E* /
 * -errno with err filled.
 */
int exporter_open(struct exporter **out, const char *url, const struct exporter_opts *o,
                  struct fs_err *err);

/* The URL as given (for messages and --stats). */
const char *exporter_url(const struct exporter *x);

/* Exporter start, see export_enc_start. */
void exporter_start(struct exporter *x, uint64_t start_ms);

/* Export one flow at clock now_ms (may sleep when a --rate limit applies). */
void exporter_flow(struct exporter *x, const struct flow *f, uint64_t now_ms);

/*
 * Live timer: send the pending message when it has waited a second of wall time, so a
 * quiet network still delivers its flows promptly.
 */
void exporter_tick(struct exporter *x);

/* Send the pending message now (end of input). */
void exporter_flush(struct exporter *x);

void exporter_stats(const struct exporter *x, struct export_stats *out);

/* Send what is pending, close the socket and free. */
void exporter_close(struct exporter *x);

#endif
