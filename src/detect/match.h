/*
 * The `nearest` model: which catalogue entries a flow's server-to-client payload fits
 * (DESIGN.md, "The download view"; docs/internals/detect.md has the arithmetic).
 *
 *   payload P  = rgoodput if > 0 (exact), else rpayload (may hold retransmissions),
 *                else rbytes - rpackets * H (estimate; H = header bytes per packet)
 *   entry fits  when  P - oh_max - tol <= size <= P - oh_min + tol
 *                (oh = HTTP response header bytes; tol = tol_exact for goodput,
 *                 else P * tol_pct / 100 + 2 * H)
 *   one entry fits alone (no set of 2..max_set entries, sizes plus k overheads, fits
 *   too, and the catalogue's density puts fewer than MATCH_CHANCE chance entries in
 *   the window): match when vouched for (the server calibrated, below, or a learned
 *   window), else possible; a set fits too, or several entries: ambiguous (all
 *   reported up to a cap);
 *   none: the exchange may be pipelined, so sets of 2..max_set distinct entries are
 *   searched (bounded by work_cap steps); still none: rejected. A unique set counts as
 *   a match only when both sums fit: on a calibrated server (below) with the client's
 *   request bytes calibrated too; else it is "possible". Sets fit by chance far more
 *   often than singles (a 100-entry catalogue has 161,700 triples), and a calibrated
 *   window that misses the true single's header (a second Content-Type) can leave one
 *   chance set alone in it: one measurement is not enough to name a set.
 *
 * Calibration: one server's response header is nearly one constant (it varies with
 * the Content-Length digits and a few headers), and one client's request is a
 * constant plus the URL path. A flow alone on exact goodput measures both (oh = P -
 * size; request overhead = client payload - len(url)). match_run takes per server the
 * overhead a strict majority of such flows agree on (+- calib_slack; one flow alone
 * stands only when another flow matches under its calibration), or where no flow is
 * alone the significant peak of every flow's singles (peak_calib), per client of it
 * the request overhead likewise, and matches every flow of that server again with
 * oh +- calib_slack per
 * object and, where the catalogue has URLs, the request bytes as a second sum that
 * must fit (k requests of len(url) + request overhead, +- req_slack each). That is
 * what makes a 4-object apt pipeline unique among similar-sized packages, and what
 * leaves a single that only fit the default range no longer alone.
 *
 * Ownership: results are plain values in caller storage; candidates refer to catalogue
 * entries by index, valid while the catalogue lives and is not re-sorted.
 */
#ifndef FS_MATCH_H
#define FS_MATCH_H

#include "../core/flow.h"
#include "catalog.h"
#include "match_types.h"

#include <stddef.h>
#include <stdint.h>

/* The defaults above. */
void match_opts_default(struct match_opts *o);

/* P and its basis for a flow (see the top of this file). */
uint64_t match_payload(const struct flow *f, uint32_t header_bytes, enum match_basis *basis);

/* Request-line length of a URL path as clients send it: bytes outside [A-Za-z0-9-._~/]
 * count 3 (percent-encoded). */
size_t match_url_len(const char *url);

/*
 * Match one flow against a sorted catalogue; cal may be NULL. Returns 0 after filling
 * *res, or 1 when P <= min_size (not considered; *res has verdict reject).
 */
int match_flow(const struct catalog *c, const struct match_opts *o, const struct match_calib *cal,
               const struct flow *f, struct match_result *res);

/*
 * Derive a calibration from a single alone on exact goodput (res->alone). Returns 1
 * and fills *cal when res qualifies, else 0.
 */
int match_learn(const struct catalog *c, const struct flow *f, const struct match_result *res,
                struct match_calib *cal);

/*
 * Match a batch of flows: each alone (singles, sets where at most one single fits),
 * then each server's flows again with the calibration its defended matches agree on.
 * With o->range_gap_ms, runs of flows between one client and one server (port,
 * protocol) that nothing explains alone, each starting at most range_gap_ms after the
 * previous ended, are then matched as one download of res->pieces pieces (a flow
 * summing the pieces, with pieces x the overhead range, first piece's key); fn gets
 * that flow, which lives only for the call. fn is called for every considered flow (P >
 * min_size) in input order; it stops early by returning nonzero. Returns 0.
 */
int match_run(const struct catalog *c, const struct match_opts *o, const struct flow *flows,
              size_t n, int (*fn)(void *ctx, const struct flow *f, const struct match_result *r),
              void *ctx);

/* Long options of the model shared by match and inventory (getopt_long values 0x100+). */
#define MATCH_LONGOPTS                                       \
    { "header-bytes", required_argument, NULL, 0x100 },      \
        { "overhead", required_argument, NULL, 0x101 },      \
        { "tolerance", required_argument, NULL, 0x102 },     \
        { "tolerance-pct", required_argument, NULL, 0x103 }, \
        { "min-size", required_argument, NULL, 0x104 },      \
        { "max-set", required_argument, NULL, 0x105 },       \
    {                                                        \
        "max-cands", required_argument, NULL, 0x106          \
    }

#define MATCH_HELP                                                                          \
    "  --min-size N       consider only server-to-client payload above N bytes (10k)\n"     \
    "  --header-bytes H   IP+TCP header bytes per packet when payload is estimated from\n"  \
    "                     rbytes and rpackets (52: IPv4 + TCP with timestamps)\n"           \
    "  --overhead MIN..MAX  response header bytes per object (40..800)\n"                   \
    "  --tolerance N      extra bytes either side when goodput is known (0)\n"              \
    "  --tolerance-pct P  tolerance in percent of the payload plus 2*H when only payload\n" \
    "                     or bytes are known (0.2)\n"                                       \
    "  --max-set K        search pipelined sets of up to K objects (at most 10), 1 = off\n" \
    "                     (4)\n"                                                            \
    "  --max-cands N      candidates reported per ambiguous flow (8, at most 16)\n"

/* --ranges: match and inventory only (eval scores labels flow by flow). */
#define MATCH_RANGES_OPT                         \
    {                                            \
        "ranges", required_argument, NULL, 0x107 \
    }
#define MATCH_RANGES_HELP                                                                 \
    "  --ranges SECONDS   combine flows of one client and server that nothing explains\n" \
    "                     alone, each starting at most SECONDS after the previous\n"      \
    "                     ended, as range pieces of one download; 0 = off (60)\n"
#define MATCH_RANGES_DEFAULT_MS 60000

/*
 * Apply model option code (0x100.. as in MATCH_LONGOPTS) with value val. Returns 0,
 * 1 when code is not a model option, or FS_EINVAL with err saying what is wrong.
 */
int match_option(struct match_opts *o, int code, const char *val, struct fs_err *err);

/* Flows kept for match_run_batch: only those whose payload is above min_size, so a
 * day of flows costs memory only for its large transfers; with ranges on, the possible
 * range pieces too, about 50 bytes each in an arena (match_keep.h). Zero it and set o
 * (and max_mem); free with match_batch_free.
 *
 * max_mem (0 = no bound) bounds what the batch and match_run_batch hold for the
 * flows: each considered flow is charged MATCH_FLOW_BYTES(o) (the flow, and the most
 * its result and the passes can take), each piece its record and hash, and a range
 * piece decoded for its group a struct flow. Past it, pieces go first (counted in
 * pieces_dropped; their groups are not searched), then flows: a flow to match that
 * does not fit stops the reading (over set), since matching a part would give other
 * verdicts (a server's calibration comes from all its flows). */
struct match_batch {
    const struct match_opts *o;
    struct flow *v; /* flows to match */
    size_t n, cap;
    uint8_t *pk; /* possible range pieces, encoded */
    size_t pklen, pkcap;
    uint64_t *pkh; /* each piece's hash of client, server, port, protocol */
    size_t npk, pkhcap;
    size_t max_mem;        /* bytes; 0 = no bound */
    size_t pieces_dropped; /* possible pieces not kept, or not grouped, for max_mem */
    int over;              /* a flow to match did not fit in max_mem: reading stopped */
};

/* What one considered flow may cost at most: the flow, its result (max_cands sets
 * of max_set entries, written up to twice) and the per-flow arrays of match_run. */
#define MATCH_FLOW_BYTES(o) \
    (sizeof(struct flow) + 64 + 2 * (size_t)(o)->max_cands * (16 + 4 * (size_t)(o)->max_set))

/* Keep a copy of f when it is large enough to be considered, or (with ranges on) to
 * be a range piece. Returns 0, or 1 (stop reading) when a flow to match does not fit
 * in max_mem. A callback for input_read. */
int match_batch_add(void *batch, const struct flow *f);

/* match_run over a batch: its flows, and its pieces with b->o->range_gap_ms (counts
 * the pieces it could not group within max_mem in b->pieces_dropped). */
int match_run_batch(const struct catalog *c, struct match_batch *b,
                    int (*fn)(void *ctx, const struct flow *f, const struct match_result *r),
                    void *ctx);

void match_batch_free(struct match_batch *b);

#endif
