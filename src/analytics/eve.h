/*
 * Suricata EVE JSON (one object a line): the alert, flow and dns events, kept so that
 * flows join alerts by Community ID (never by Suricata's flow_id, which means nothing
 * outside one Suricata process) and hosts get the names DNS gave their addresses.
 *
 * The file is untrusted: a line longer than EVE_LINE_MAX, bad UTF-8, bad JSON, an object
 * without event_type, a field of the wrong type or a required field missing skips that
 * line and counts it by reason (struct eve.skipped); nothing in a line is fatal. Events
 * of other types (http, tls, stats, ...) are counted as other.
 *
 * Alerts: timestamp, community_id (computed from the alert's 5-tuple with the process's
 * seed, cid.h, when Suricata did not write one), src_ip, src_port, dest_ip, dest_port,
 * proto, alert.signature, alert.signature_id, alert.severity, alert.category.
 * DNS: each answer (rrname, rrtype, rdata) of DNS log version 2 and 3 (dns.answers) and
 * of version 1 (one answer an event: dns.type "answer").
 * Flow events: start, end, community_id and the byte counts.
 *
 * Ownership: eve_init on caller storage; eve_free frees everything. Strings (signature,
 * category, DNS words) are interned once in the struct's pool: eve_str gives them.
 * After the last line eve_index must run before eve_join (it sorts the alerts).
 */
#ifndef FS_EVE_H
#define FS_EVE_H

#include "../core/cid.h"
#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EVE_LINE_MAX (1u << 20) /* longer lines are skipped: no real event is near it */

struct eve_alert {
    int64_t ts_ms;
    uint8_t cid[CID_DIGEST];
    uint8_t src[16], dst[16]; /* IPv4-mapped for IPv4, as struct flow */
    uint16_t sport, dport;    /* ICMP: dport = type * 256 + code, as the flow record */
    uint8_t proto, ipver;
    uint8_t severity;   /* 1 is the most severe (Suricata's scale); 255 = not given */
    uint32_t sid;       /* alert.signature_id */
    uint32_t signature; /* eve_str offsets */
    uint32_t category;
};

struct eve_dns {
    int64_t ts_ms;
    uint32_t rrname, rrtype, rdata; /* eve_str offsets */
};

struct eve_flowev {
    int64_t start_ms, end_ms;
    uint8_t cid[CID_DIGEST];
    uint64_t bytes_toserver, bytes_toclient;
};

enum eve_skip {
    EVE_SKIP_LONG,      /* over EVE_LINE_MAX */
    EVE_SKIP_UTF8,      /* not UTF-8 */
    EVE_SKIP_JSON,      /* not JSON */
    EVE_SKIP_NOT_EVENT, /* not an object with a string event_type */
    EVE_SKIP_FIELD,     /* an alert, flow or dns event with a field missing or mistyped */
    EVE_NSKIP
};

struct eve_slot; /* the index: digest -> run of alerts */
struct ej;       /* eve_json.h: the line being read */

struct eve {
    struct eve_alert *alerts;
    size_t nalerts, capalerts;
    struct eve_dns *dns;
    size_t ndns, capdns;
    struct eve_flowev *flows;
    size_t nflows, capflows;
    char *pool; /* interned strings, NUL-terminated; offset 0 is "" */
    size_t npool, cappool;
    uint32_t *intern; /* open addressing: pool offset + 1, 0 = empty */
    size_t ninterned, capintern;
    struct eve_slot *index;
    size_t capindex;
    struct ej *json;
    uint64_t *tuples; /* bit set of the alerts' endpoint pairs and protocols (eve_index) */
    unsigned tuple_shift;
    unsigned long long lines;
    unsigned long long skipped[EVE_NSKIP];
    unsigned long long other;    /* events of other types, ignored */
    unsigned long long cid_made; /* alerts without community_id: computed */
};

void eve_init(struct eve *e);
void eve_free(struct eve *e);

/* One line (len bytes, no newline needed; NUL bytes are data): kept, counted as other,
 * or skipped with its reason counted. Never fails. */
void eve_line(struct eve *e, const char *line, size_t len);

/* Every line of fp, streamed (one line in memory at a time, at most EVE_LINE_MAX).
 * 0, or -errno when reading fails (what came before is kept). */
int eve_read(struct eve *e, FILE *fp);

/* eve_read of the file at path; "-" is stdin. 0 or an error with err filled. */
int eve_load(struct eve *e, const char *path, struct fs_err *err);

/* Sort the alerts by Community ID and time and index them. After the last line. */
void eve_index(struct eve *e);

/* The alerts of one connection inside a time span. */
struct eve_hit {
    unsigned n;                   /* alerts inside the span */
    const struct eve_alert *best; /* the most severe of them (earliest on a tie); NULL */
};

/* The alerts with Community ID cid whose time lies in [from_ms, to_ms]: a hash probe and
 * a bisection of the connection's alerts. Returns hit->n. */
unsigned eve_join(const struct eve *e, const uint8_t cid[CID_DIGEST], int64_t from_ms,
                  int64_t to_ms, struct eve_hit *hit);

/* The same alerts as a run of e->alerts (in time order): the first, and their number
 * in *n; NULL when none. */
const struct eve_alert *eve_range(const struct eve *e, const uint8_t cid[CID_DIGEST],
                                  int64_t from_ms, int64_t to_ms, size_t *n);

/* Whether f may have alerts at all: 0 when no alert has its endpoints and protocol
 * (then no Community ID needs computing). */
int eve_may_join(const struct eve *e, const struct flow *f);

/* eve_join for a flow record: its Community ID (cid_seed()) and [first - slack,
 * last + slack]. */
unsigned eve_join_flow(const struct eve *e, const struct flow *f, int64_t slack_ms,
                       struct eve_hit *hit);

/* The interned string at offset off. */
static inline const char *eve_str(const struct eve *e, uint32_t off)
{
    return e->pool + off;
}

/* Total lines skipped, and "eve: N lines skipped: 3 too long, 9 not an event" into buf
 * (empty when none). */
unsigned long long eve_skips_text(const struct eve *e, char *buf, size_t size);

/* Parse an EVE timestamp ("2026-12-07T05:30:24.123456+0000", also with "Z" or "+00:00")
 * into ms since the epoch; 0 or -1. */
int eve_parse_time(const char *s, int64_t *ms);

#endif
