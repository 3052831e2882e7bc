/*
 * Learning from labelled downloads (a lab or honeypot run: the labels CSV of eval.h
 * names which client fetched which catalogue entry from which server and when).
 *
 * Observations: each label of a catalogue entry is joined to its flow (eval_find) and
 * gives the server-to-client counters and the response overhead
 *
 *   oh = P - size      (P as the matcher sees it: rgoodput, else rpayload, else
 *                       rbytes - rpackets * H; oh is the HTTP header, plus the TLS
 *                       record bytes when the server speaks TLS)
 *
 * Two things are learned from them:
 *
 * 1. Per entry and server (`catalog learn`): the observed min..max of rbytes, rpayload,
 *    rgoodput and oh, written into the catalogue's version-2 columns (catalog.h). The
 *    matcher then gives that entry, for flows from that server, the window
 *
 *        size + oh_min - m - tol  <=  P  <=  size + oh_max + m + tol
 *        (m = cat_learn_margin: half the observed spread, at least 8; tol as match.h)
 *
 *    and on the payload basis (retransmissions counted) the observed rpayload range
 *    widened the same way. For flows from other servers the entry keeps the default
 *    window of an unlearned entry.
 *
 * 2. Per server (`flowsleuth learn --model nearest`, the calibration): the overhead as a
 *    base plus a share of the size, for every entry, learned or not:
 *
 *        oh = base + q * size,   q in [q_min, q_max]  (ppm of the size)
 *
 *    base is the HTTP response header: the intercept of the least-squares line of oh
 *    over size when the overhead grows with the size (TLS, port 443: each record of
 *    at most 16 KiB adds a header and tag, ppm * 0.016384 bytes per full record; on
 *    the payload or bytes basis: retransmissions), else the smallest oh.
 *    q_i = (oh_i - base) / size_i per download (the range leaves out the 2% most
 *    extreme at each end, so one download hit by a burst of timeouts does not widen
 *    every window):
 *    the TLS share, and on the payload or bytes basis the retransmitted share (loss
 *    along the path), so the tolerance is learned too. The matcher then takes for flows
 *    from that server the overhead range
 *
 *        base - 8 + q_lo * P  ..  base + 8 + q_hi * P
 *        (q_lo, q_hi = the q range widened by half its width either side)
 *
 * 3. Per server, where P holds retransmissions (NetFlow's bytes, rpayload; never
 *    goodput): the retransmission residues (match_types.h). R = oh - header is not
 *    knowable from bytes and packets, but it is made of whole segments of the path's
 *    segment payload plus the few short segments the server's writes leave, so oh
 *    modulo that payload takes a few values. The payload is the modulus on which the
 *    most overheads share one residue (scored by count x ln(modulus), 500..9000 bytes;
 *    at least 8 observations and 3 sharing), the residues those that 2 or more
 *    observations share (at most 16); a path where 95% of the overheads are one value
 *    lost nothing, and its residues are the overheads themselves (modulus 1000000).
 *    The matcher then takes a single only when its overhead lands on a residue, and a
 *    single that does stands without the set search (match.c, flow_match).
 *
 * 4. Per server, on goodput: TLS record framing. A TLS server's overhead is a constant
 *    (its handshake flight on a one-file connection, the HTTP header) plus r bytes per
 *    started 16 KiB record (22 for TLS 1.3, 29 for TLS 1.2 AES-GCM): r is the value in
 *    0..64 that leaves oh - r * ceil(size / 16384) the narrowest, kept when it is not 0,
 *    that range is at most 8 bytes wide and the observations' record counts differ by
 *    8 or more. A single then fits only at that constant (+-1), and stands without the
 *    set search, as with residues. Constants no 8 bytes hold may lie on a grid of r (a
 *    CDN sending 0..j records more than the size needs): kept as one when every kept
 *    constant does, r >= 16 and j <= 8, reaching 2 records past the most seen. Else
 *    one constant with exceptions: the r that puts 80% or more of the observations
 *    within 8 bytes (a keep-alive connection's first response with the TLS 1.3
 *    session tickets in it is 574 bytes more).
 *
 * Ownership: the catalogue's learned records live in its arena; a learn_model owns its
 * array (learn_model_free). Observations point into the caller's flows.
 */
#ifndef FS_LEARN_H
#define FS_LEARN_H

#include "../core/flow.h"
#include "catalog.h"
#include "eval.h"
#include "match.h"
#include "match_learned.h"

#include <stddef.h>
#include <stdint.h>

/* One labelled catalogue download joined to its flow. */
struct learn_obs {
    size_t entry;         /* catalogue index (the first entry of the label's name) */
    const struct flow *f; /* the flow that carried it */
    uint64_t payload;     /* P */
    int64_t oh;           /* P - size, clamped to +-2^40 */
};

struct learn_counts {
    size_t labels;  /* labels read */
    size_t foreign; /* "-": not in the catalogue, not learned from */
    size_t unknown; /* names the catalogue does not hold */
    size_t noflow;  /* no flow overlapped the label */
    size_t used;    /* observations */
    size_t nohost;  /* of unknown + noflow: the label's client or server is in no flow */
};

/*
 * Join labels to flows. only (may be NULL) picks labels: only[j] nonzero = use label j.
 * OUT: *obs (free() it) with one observation per usable label, *cnt. Returns the number
 * of observations.
 */
size_t learn_observe(const struct catalog *c, const struct eval_labels *lab,
                     const unsigned char *only, const struct flow *flows, size_t n, uint64_t slack,
                     uint32_t header_bytes, struct learn_obs **obs, struct learn_counts *cnt);

/* Labels (foreign ones too) whose client or server is in none of the flows: a typing
 * error or the wrong capture, told apart from a download the capture missed. */
size_t learn_labels_nohost(const struct eval_labels *lab, const struct flow *flows, size_t n);

/*
 * Honeypot learning of new files: labels that name a file the catalogue lacks (counted
 * as unknown by learn_observe) become entries of their own, source learned, so that a
 * file seen only on a honeypot (a delta or incremental update) becomes matchable.
 * Per name, the size is estimated from its labelled flows:
 *
 *   size = min over its flows of (P - oh_s)    where the server s has known overhead:
 *          oh_s = the middle of the overhead range of the observations obs[0..nobs)
 *          of catalogue entries at that server (the HTTP header, on the basis of P);
 *   size = min P                               where none is known (the learned row's
 *          overhead window then starts at 0, and the spread is that of P).
 *
 * Names are taken as the labels give them (product = name; no version, arch or os).
 * Appends to c (then sorted); learn_observe on c then gives their observations, and
 * learn_catalog their learned rows. OUT: *guessed = entries whose server had no known
 * overhead. Returns the number of entries added (one per new name with a flow).
 */
size_t learn_new_files(struct catalog *c, const struct eval_labels *lab, const struct flow *flows,
                       size_t n, uint64_t slack, uint32_t header_bytes, const struct learn_obs *obs,
                       size_t nobs, size_t *guessed);

/*
 * Build out (initialised, empty) from c: every entry of c, with the observations
 * written as learned rows, one per (entry, server). A learned row of c for the same
 * object and server is merged (ranges joined, counts added); other rows are kept.
 * OUT: *rows = learned rows written. Sorted on return.
 */
void learn_catalog(struct catalog *out, const struct catalog *c, const struct learn_obs *obs,
                   size_t nobs, size_t *rows);

/* ---- the per-server calibration (nearest model; its structs are match_learned.h's) ---- */

/* Fit one learn_server per server of the observations (replaces m's contents). */
void learn_model_train(struct learn_model *m, const struct catalog *c, const struct learn_obs *obs,
                       size_t nobs, uint32_t header_bytes);

/* Sort the servers (after filling m->s by hand, e.g. when loading a model file);
 * returns -1 when one address is listed twice. */
int learn_model_sort(struct learn_model *m);

void learn_model_free(struct learn_model *m);

#endif
