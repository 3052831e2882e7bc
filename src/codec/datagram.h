/*
 * Flow collection: NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011/7012/5103) and
 * sFlow v5 datagrams -> struct flow. Pure: no sockets, no files; the command (or a test,
 * or the fuzzer) hands in one UDP payload at a time with the exporter's address.
 *
 *   datagram --collect_datagram--> version detect (first 2 or 4 bytes)
 *        5 -> nf5.c    9 -> nf9.c    10 -> ipfix.c    sFlow 5 -> sflow.c
 *   v9/IPFIX sets:  template  -> tmpl.c compiles (IE table ipfix_ie.c) into tmpl_op[]
 *                   data      -> the ops copy each record into slots -> struct flow
 *                   no template yet -> held in a bounded queue, decoded when it comes
 *
 * NetFlow v9 message (RFC 3954)          IPFIX message (RFC 7011)
 *   u16 version=9 | u16 count              u16 version=10 | u16 length
 *   u32 sysUptime ms                       u32 export time (s)
 *   u32 unix secs                          u32 sequence (data records sent)
 *   u32 sequence (packets sent)            u32 observation domain id
 *   u32 source id                          sets: u16 set id | u16 set length | body
 *   flowsets: u16 id | u16 length | body     2 template, 3 options template, >=256 data
 *     0 template, 1 options, >=256 data    template field: u16 id (bit 15 = enterprise)
 *   template field: u16 type | u16 len       | u16 len (65535 = variable) [| u32 PEN]
 *
 * Ownership: collector_new allocates, collector_free frees (templates, queue, stats).
 * The sink receives a pointer valid only during the call. Nothing here prints.
 */
#ifndef FS_COLLECT_H
#define FS_COLLECT_H

#include "../core/err.h"
#include "../core/flow.h"
#include "../core/rd.h"

#include <stddef.h>
#include <stdint.h>

/* Why a datagram, set or record was refused; names in collect_reason_name(). */
enum collect_reason {
    CR_SHORT = 0,     /* shorter than its header */
    CR_VERSION,       /* not v5, v9, IPFIX or sFlow v5 */
    CR_LENGTH,        /* a length field points past the datagram */
    CR_BAD_TEMPLATE,  /* template or options template inconsistent */
    CR_BAD_RECORD,    /* data record or sFlow sample inconsistent */
    CR_TEMPLATE_SIZE, /* template longer than we keep (fields or bytes) */
    CR_NRESULTS
};

const char *collect_reason_name(enum collect_reason r);

/* Counters per (exporter address, observation domain / source id / sFlow sub-agent). */
struct collect_stats {
    uint64_t datagrams;         /* messages (one datagram may hold several in files) */
    uint64_t records;           /* flows emitted */
    uint64_t options_records;   /* options data records read (sampling, ...) */
    uint64_t templates;         /* template and options template records stored */
    uint64_t withdrawals;       /* IPFIX template withdrawals */
    uint64_t unknown_template;  /* data sets that came before their template */
    uint64_t held_decoded;      /* ... of which decoded later from the queue */
    uint64_t held_dropped;      /* ... of which dropped (queue full, or never came) */
    uint64_t seq_lost;          /* sequence gap as the protocol counts: v5/IPFIX records,
                                   v9/sFlow datagrams */
    uint64_t seq_reset;         /* sequence went backwards (exporter restart, reordering) */
    uint64_t counter_samples;   /* sFlow counter samples (counted, not decoded) */
    uint64_t not_allowed;       /* datagrams refused by the command's --allow list */
    uint64_t bad_time;          /* flows with a time past year 9999 or before 1970 (wrapped) */
    uint64_t bad_time_dropped;  /* ... of which dropped (collect_opts.bad_time_drop) */
    uint64_t future_time;       /* flows ending over future_ms after their datagram came */
    uint64_t tmpl_fallback;     /* data sets decoded with the template of the exporter's
                                   only other transport session (source port) */
    uint64_t templates_refused; /* templates refused: the exporter's byte budget is spent */
    uint64_t malformed[CR_NRESULTS];
};

struct collect_opts {
    uint32_t max_templates;  /* template cache cap; the oldest is evicted beyond (0 = 65536) */
    uint32_t max_exporters;  /* exporter/domain entries (0 = 4096) */
    uint32_t max_held;       /* data sets held waiting for a template (0 = 256) */
    uint32_t sampling;       /* 0 = scale by the exporter's sampling; N = use N (1 = raw) */
    uint32_t max_tmpl_bytes; /* compiled template bytes per exporter entry (0 = 1 MiB) */
    uint64_t max_tmpl_total; /* compiled template bytes in all (0 = 64 MiB); oldest evicted */
    int bad_time_drop;       /* flows with a time out of range are dropped, not emitted */
    uint64_t future_ms;      /* a flow ending this far after arrival counts (0 = 1 day) */
};

/* The latest flow time a store bin can hold (end of year 9999, UTC): later ones, and
 * times before 1970 that wrapped around in 64 bits, are "out of range". */
#define COLLECT_TIME_MAX_MS 253402300799999ULL

/* What the collector knows about the flow the sink is called with (valid in the call). */
struct collect_flow_info {
    uint64_t recv_ms; /* arrival time of the datagram it came in */
    int bad_time;     /* its first or last time is out of range (counted) */
    int future_first; /* the first flow of this exporter entry ending far in the future */
};

struct collector;

/* Info about the flow of the sink call in progress. */
void collector_flow_info(const struct collector *c, struct collect_flow_info *out);

/* Called for every decoded flow; a nonzero return stops decoding of this datagram. */
typedef int (*collect_sink)(void *ctx, const struct flow *f);

struct collector;

/* New collector context (opts may be NULL for defaults). */
struct collector *collector_new(const struct collect_opts *opts);

/* Drop what is still held (counted held_dropped) and free everything. */
void collector_free(struct collector *c);

/*
 * Decode one datagram from `exporter` (16 bytes, IPv4-mapped for IPv4; all zero when
 * unknown) received at recv_ms. Every flow goes to sink(ctx, f) with f->exporter set.
 * Returns the number of flows emitted, or a negative FS_E* code when the datagram was
 * refused as a whole (counted in the stats: malformed input is never fatal).
 */
int collect_datagram(struct collector *c, const uint8_t exporter[16], const uint8_t *data,
                     size_t len, uint64_t recv_ms, collect_sink sink, void *ctx);

/*
 * collect_datagram with the exporter's source port (0 when unknown). Templates are
 * scoped by transport session, (address, port, domain) as RFC 7011 section 8 says: two
 * exporters behind one address with one source id keep their templates apart. Data
 * for which the session has no template uses the template of the same (address,
 * domain) only when exactly one session of it defined templates (an exporter that
 * changed its source port); counted as tmpl_fallback.
 */
int collect_datagram_from(struct collector *c, const uint8_t exporter[16], uint16_t port,
                          const uint8_t *data, size_t len, uint64_t recv_ms, collect_sink sink,
                          void *ctx);

/*
 * Walk the per-exporter stats: calls fn for each (exporter, domain) entry, with the
 * protocol version last seen (5, 9, 10 or 'S' for sFlow). Entries dropped by the cap
 * are folded into none; collector_totals gives the sums and evictions.
 */
void collector_foreach(const struct collector *c,
                       void (*fn)(void *ctx, const uint8_t exporter[16], uint32_t domain,
                                  int version, const struct collect_stats *st),
                       void *ctx);

struct collect_totals {
    struct collect_stats sum;   /* over every entry, including evicted ones */
    uint64_t templates_evicted; /* template cache cap reached */
    uint64_t exporters_evicted; /* exporter table cap reached */
    uint64_t templates_cached;  /* templates held now */
    uint64_t templates_bytes;   /* bytes of the compiled templates held now */
    uint64_t not_flow;          /* datagrams that were no flow protocol at all */
};

void collector_totals(const struct collector *c, struct collect_totals *out);

/*
 * Count a datagram from an exporter the command refuses (--allow): one entry per
 * address (domain 0, version 0) in the capped exporter table, nothing decoded.
 */
void collector_refused(struct collector *c, const uint8_t exporter[16]);

/*
 * Template persistence (the command keeps the bytes in STORE/.templates):
 * collector_save writes every cached template and every exporter's sampling state into
 * a malloc'd buffer (*len bytes; the caller frees). Layout, little-endian:
 *
 *   "FSTP" | u16 version=2 | u16 S_NSLOTS | u32 IE-table hash | u32 ntemplates |
 *   u32 nexporters, then per template: addr[16] u32 domain u8 version u16 port u16 tid
 *   u8 options u8 v6first u16 nops, nops x (u16 len u16 slot u8 kind); per exporter:
 *   addr[16] u32 domain u8 version u32 sampling u64 sysinit_ms 8 x (u32 id u32 val);
 *   then "FSTE".
 *
 * Version 1 files (no port) still load, as templates of port 0: the one session of
 * their exporter, which the fallback of collect_datagram_from then finds.
 * Templates are saved compiled, so a file from a build with another slot layout or IE
 * table is refused (FS_EVERSION) rather than misread.
 */
uint8_t *collector_save(const struct collector *c, size_t *len);

/*
 * Load what collector_save wrote (bounds-checked; every op is validated, so a hostile
 * file cannot make a template read out of bounds). All or nothing: on error nothing
 * is loaded and err says why (FS_EFORMAT, FS_EVERSION, FS_ETRUNC, FS_ECORRUPT). On
 * success *ntemplates (may be NULL) is the number of templates loaded.
 */
int collector_load(struct collector *c, const uint8_t *buf, size_t len, size_t *ntemplates,
                   struct fs_err *err);

/* ---- internal to src/io/{collect,nf5,nf9,ipfix,tmpl,ipfix_ie,sflow}.c ---------------- */

/* Slots a template op writes; finalize turns them into a struct flow. */
enum ie_slot {
    S_NONE = 0, /* skip the bytes */
    S_BYTES,
    S_PKTS,
    S_PROTO,
    S_TOS,
    S_FLAGS,
    S_SPORT,
    S_DPORT,
    S_SRC4,
    S_DST4,
    S_SRC6,
    S_DST6,
    S_IN_IF,
    S_OUT_IF,
    S_SRC_AS,
    S_DST_AS,
    S_SYSUP_LAST,
    S_SYSUP_FIRST,
    S_POST_BYTES,
    S_POST_PKTS,
    S_ICMP4,
    S_ICMP6,
    S_VLAN,
    S_DOT1Q_VLAN,
    S_SAMPLING,
    S_SAMPLING_ALG,
    S_SAMPLER_ID,
    S_FIRST_S,
    S_LAST_S,
    S_FIRST_MS,
    S_LAST_MS,
    S_FIRST_US,
    S_LAST_US,
    S_FIRST_NS,
    S_LAST_NS,
    S_FIRST_DUS,
    S_LAST_DUS,
    S_SYSINIT_MS,
    S_TOTAL_BYTES,
    S_TOTAL_PKTS,
    S_INIT_BYTES,
    S_RESP_BYTES,
    S_INIT_PKTS,
    S_RESP_PKTS,
    S_RBYTES,
    S_RPKTS,
    S_RFLAGS,
    S_RTOTAL_BYTES,
    S_RTOTAL_PKTS,
    S_IPVER,
    S_MINLEN, /* minimumIpTotalLength (25), reverse with PEN 29305 */
    S_MAXLEN,
    S_RMINLEN,
    S_RMAXLEN,
    S_PAYLOAD, /* flowsleuth enterprise IEs (PEN 32473, docs/internals/export.md) */
    S_RPAYLOAD,
    S_GOODPUT,
    S_RGOODPUT,
    S_RETRANS,
    S_RRETRANS,
    S_EXCHANGE,
    S_OBS_MS, /* observationTimeMilliseconds (323): NSEL and NAT events' event time */
    /* Firewall and NAT (NSEL, NAT event logging); slots from 64 on are tracked in
     * have2 (slot_has / slot_set). */
    S_XSPORT,    /* postNAPTSourceTransportPort (227), Cisco 40003 */
    S_XDPORT,    /* postNAPTDestinationTransportPort (228), Cisco 40004 */
    S_FW_EVENT,  /* firewallEvent (233), Cisco 40005 */
    S_FW_EXT,    /* Cisco 33002 */
    S_NAT_EVENT, /* natEvent (230) */
    S_IN_ACL,    /* Cisco 33000: the first 8 of its 12 bytes */
    S_OUT_ACL,   /* Cisco 33001 */
    S_XSRC4,     /* postNATSourceIPv4Address (225), Cisco 40001: address slots 4..7 */
    S_XDST4,     /* postNATDestinationIPv4Address (226), Cisco 40002 */
    S_XSRC6,     /* postNATSourceIPv6Address (281) */
    S_XDST6,     /* postNATDestinationIPv6Address (282) */
    S_SNI,       /* flowsleuthServerName (PEN 32473, 5): a string, into tmpl_rec.sni */
    S_NSLOTS
};

/* Index of an address slot (S_SRC4..S_DST6, S_XSRC4..S_XDST6) in tmpl_rec.a. */
#define SLOT_ADDR(s)    ((s) <= S_DST6 ? (s)-S_SRC4 : 4 + (s)-S_XSRC4)
#define SLOT_IS_ADDR(s) (((s) >= S_SRC4 && (s) <= S_DST6) || ((s) >= S_XSRC4 && (s) <= S_XDST6))

/* How an op reads its bytes. OPK_ACL: a 12-byte Cisco ACL id, its first 8 bytes as an
 * unsigned (ACL id << 32 | ACE id). OPK_STR / OPK_VARSTR: a string of op->len bytes /
 * of the RFC 7011 variable length, kept as a server name (sni_keep) or dropped. */
enum { OPK_SKIP = 0, OPK_UINT, OPK_ADDR4, OPK_ADDR6, OPK_VARSKIP, OPK_ACL, OPK_STR, OPK_VARSTR };

/* One compiled step: read `len` bytes of the record into slot `dst` as `kind`. */
struct tmpl_op {
    uint16_t len;
    uint16_t dst;
    uint8_t kind;
};

/* How a fast op (tmpl_prepare) loads its bytes: widths chosen once per template. */
enum { FK_WIDE, FK_U8, FK_U16, FK_U32, FK_U64, FK_UN, FK_A4, FK_A6 };

/*
 * One step of a fixed-length template's fast plan: bytes at `off` of the record. An
 * unsigned of 1-8 bytes with at least 8 bytes of the record from `off` on is FK_WIDE:
 * one 8-byte big-endian load shifted right by 64 - 8 * len, the same code for every
 * width.
 */
struct tmpl_fop {
    uint16_t off;
    uint8_t dst;
    uint8_t kind; /* FK_* */
    uint8_t len;
    uint8_t shift; /* FK_WIDE */
};

/* Where a flow time comes from: the encoding the template carries, chosen once. */
enum { TK_NONE, TK_MS, TK_S, TK_NTP, TK_DUS, TK_UPTIME };

/* Address family choice of a template (tmpl_to_flow). */
enum { AF_PLAN_V4, AF_PLAN_V6, AF_PLAN_BY_IPVER };

/*
 * tmpl_to_flow's decisions for one template. Which elements a record carries depends
 * only on its template, so the preference lists (delta before total counters, which
 * time encoding ...) are resolved once: each member names the slot to read, S_NONE
 * (whose value tmpl_run keeps 0) when the template has none.
 */
struct tmpl_plan {
    uint8_t bytes, packets, rbytes, rpackets, proto, tos, flags, rflags, sport, dport;
    uint8_t icmp, in_if, out_if, src_as, dst_as, vlan, minlen, maxlen, rminlen, rmaxlen;
    uint8_t payload, rpayload, goodput, rgoodput, retrans, rretrans, exchange;
    uint8_t src4, dst4, af;     /* AF_PLAN_* */
    uint8_t tkind[2], tslot[2]; /* first, last: TK_* and its slot */
    uint8_t sysinit;            /* S_SYSINIT_MS or S_NONE */
    uint8_t xsport, xdport, fw_event, fw_ext, nat_event, in_acl, out_acl;
    uint8_t xsrc, xdst; /* address slot of the translated addresses, S_NONE = none */
};

/* One row of the hand-kept IE table (ipfix_ie.c). */
struct ipfix_ie {
    uint32_t pen; /* 0 = IANA, 29305 = RFC 5103 reverse, FS_PEN = flowsleuth's own */
    uint16_t id;
    uint16_t len; /* usual length; 0 = variable */
    uint8_t slot; /* enum ie_slot */
    uint8_t kind; /* OPK_UINT, OPK_ADDR4, OPK_ADDR6, OPK_ACL, OPK_STR; OPK_SKIP: known, not read */
    const char *name;
};

/*
 * flowsleuth's private enterprise number for its own IEs (payload, goodput,
 * retransmitted bytes, exchange ordinal, server name, Community ID). 32473 is the
 * example PEN of RFC 5612, meant for documentation, not registered to flowsleuth; a
 * real deployment would register a PEN with IANA. The reverse of an element sets bit
 * 0x4000 of its id (the convention YAF uses for PEN 6871).
 */
#define FS_PEN         32473u
#define FS_PEN_REVERSE 0x4000u

extern const struct ipfix_ie ipfix_ies[];
extern const size_t ipfix_nies;

/* The table row for (pen, id), or NULL when we do not map that IE. */
const struct ipfix_ie *ipfix_ie_find(uint32_t pen, uint16_t id);

#define TMPL_MAX_FIELDS 512

/* A compiled template. */
struct tmpl {
    uint16_t nops;
    uint16_t minlen; /* smallest record: fixed bytes + 1 per variable-length field */
    uint8_t options; /* options template: records feed sampling, not flows */
    uint8_t varlen;  /* has a variable-length field */
    uint8_t v6first; /* the first address element is IPv6 (outer header of a tunnel) */
    uint16_t nfops;  /* fast ops (fixed-length templates), after the nops wire ops */
    uint64_t have;   /* slots every record of this template fills (0..63) */
    uint64_t have2;  /* the same for slots 64.. */
    struct tmpl_op *ops;
    struct tmpl_fop *fops;   /* NULL for a template with variable-length fields */
    struct tmpl_field *wire; /* the fields it was compiled from (NULL when loaded) */
    uint16_t nwire;
    struct tmpl_plan plan;
};

/* One data record's slot values while it is decoded. */
struct tmpl_rec {
    uint64_t v[S_NSLOTS];
    uint8_t a[8][16];     /* address slots by SLOT_ADDR (IPv4-mapped) */
    char sni[FS_SNI_MAX]; /* S_SNI when its bit is set: struct flow's sni as it will be */
    uint64_t have;        /* bit per slot that was present (0..63) */
    uint64_t have2;       /* slots 64.. */
    uint8_t v6first;      /* copied from the template */
};

/* Field spec read from the wire before compiling. */
struct tmpl_field {
    uint16_t id;
    uint16_t len;
    uint32_t pen;
};

/* Compile fields into t (allocates; free with tmpl_free). 0 or FS_E*. */
int tmpl_compile(struct tmpl *t, const struct tmpl_field *f, size_t n, int options);

/*
 * Derive the fast plan of t from its ops (compiled or loaded): t->ops is reallocated to
 * hold the fast ops too. tmpl_compile calls it; a loader of saved ops must.
 */
void tmpl_prepare(struct tmpl *t);

/* Free t's ops and fast ops. */
void tmpl_free(struct tmpl *t);

/* 1 when t was compiled from exactly these fields (a template refresh). */
int tmpl_same(const struct tmpl *t, const struct tmpl_field *f, size_t n, int options);

/* Run t over one record at r (advancing it); r->err set on a short record. */
void tmpl_run(const struct tmpl *t, struct rd *r, struct tmpl_rec *out);

/* Time context of the message a record came in. */
struct tmpl_time {
    uint64_t export_ms;  /* header export time, ms since the epoch */
    uint64_t sysinit_ms; /* IPFIX systemInitTimeMilliseconds learnt from options, or 0 */
    uint32_t sysuptime;  /* v9 header sysUptime (ms) */
    int has_uptime;      /* 1 for v9: sysUptime-relative times resolve against it */
};

/* Turn slots of a record of t into a flow (uniflow = biflow with zero reverse). */
void tmpl_to_flow(const struct tmpl *t, const struct tmpl_rec *r, const struct tmpl_time *tt,
                  struct flow *f);

/* Sampling interval a record names (34, 50, 305, or 0). */
uint32_t tmpl_rec_sampling(const struct tmpl_rec *r);

struct collect_exp; /* per (exporter, domain) state, collect.c */

/* Context one decoder call gets from collect.c. */
struct collect_ctx {
    struct collector *c;
    const uint8_t *exporter;
    uint16_t port; /* exporter's source port, 0 = unknown */
    uint64_t recv_ms;
    collect_sink sink;
    void *sink_ctx;
    int stopped; /* the sink asked to stop */
    int nflows;
};

int nf5_decode(struct collect_ctx *x, const uint8_t *data, size_t len);
int nf9_decode(struct collect_ctx *x, const uint8_t *data, size_t len);
int ipfix_decode(struct collect_ctx *x, const uint8_t *data, size_t len);
int sflow_decode(struct collect_ctx *x, const uint8_t *data, size_t len);

/* Find or create the stats/state entry of (exporter, domain); never NULL. */
struct collect_stats *collect_exp_stats(struct collect_ctx *x, uint32_t domain, int version);

/* Sequence check: expected next value kept per entry; counts loss and resets. */
void collect_seq(struct collect_ctx *x, uint32_t domain, int version, uint32_t seq,
                 uint32_t advance);

/* Per-entry sampling learnt from options records (0 = none). */
uint32_t collect_sampling_get(struct collect_ctx *x, uint32_t domain, int version);
void collect_sampling_set(struct collect_ctx *x, uint32_t domain, int version, uint32_t n,
                          uint64_t sysinit_ms);
uint64_t collect_sysinit_get(struct collect_ctx *x, uint32_t domain, int version);

/* Emit one flow: sets exporter, applies sampling, counts, calls the sink. */
void collect_emit(struct collect_ctx *x, uint32_t domain, int version, struct flow *f,
                  uint32_t sampling);

/* Template cache. */
const struct tmpl *collect_tmpl_get(struct collect_ctx *x, uint32_t domain, int version,
                                    uint16_t tid);
/*
 * Define a template from its wire fields (a refresh with the same fields is counted,
 * not compiled again); data held for it is decoded. One that does not compile is
 * counted as malformed (template too large).
 */
void collect_tmpl_define(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid,
                         const struct tmpl_field *f, size_t n, int options);
/* Withdraw one template, or all of the domain when tid is 0xffff (IPFIX set id 2/3). */
void collect_tmpl_withdraw(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid);

/*
 * Hold a data set that came before its template (bounded; counted). tt is the time
 * context of its message.
 */
void collect_hold(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid,
                  const uint8_t *set, size_t len, const struct tmpl_time *tt);

/* Decode the records of one data set with template t (shared by v9 and IPFIX). */
void collect_data_set(struct collect_ctx *x, uint32_t domain, int version, const struct tmpl *t,
                      const uint8_t *set, size_t len, const struct tmpl_time *tt);

void collect_malformed(struct collect_ctx *x, uint32_t domain, int version,
                       enum collect_reason why);

#endif
