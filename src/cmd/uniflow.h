/*
 * Uniflows for the download commands (match, inventory, eval, learn, catalog learn):
 * NetFlow v5/v9 and IPFIX exporters (softflowd, routers) send one record per direction,
 * and a download's size is in the server-to-client record, which the matcher reads as
 * the reverse counters of a biflow. With -b (as stats -b and print -b, nfdump's option)
 * the records are paired on the fly by src/query/biflow.c, forward = the initiator.
 *
 * What the feed says (uni_feed_report, stderr):
 *   -b: records read, pairs made, biflows passed through, and the uniflows that found
 *       no reverse (one direction missing: the exporter saw one side, a sampled or
 *       lost record, a flow cut by the exporter's timeout), which are skipped, counted,
 *       with how many of them were large enough to be a download;
 *   without -b: uniflows (rbytes = rpackets = 0) above the size the command considers,
 *       which no match can see, with the hint to use -b.
 * --basis (match, inventory): auto as recorded; payload drops rgoodput, bytes drops
 * rgoodput and rpayload (what a NetFlow exporter gives), applied after pairing.
 *
 * Sampling: an exporter that samples 1:N sends the interval in its records (v5 header,
 * v9/IPFIX options), and collect scales its counters by N; the byte count of a sampled
 * flow is then an estimate in steps of N packets, which can name no file. The store
 * record does not carry N, but a scaled record shows it: every packet and byte count a
 * multiple of N. After pairing (holding records back before it would keep a slow
 * exporter's uniflows from their reverse), the feed holds the first UNI_SAMPLE_K flows
 * of each exporter (an address other than zero: metered flows pass at once); when the
 * greatest common divisor of all their counters is 2 or more the exporter is judged
 * sampled and all its flows are refused (counted, named on stderr), else they go on.
 * An unsampled exporter's n flows share a divisor g by chance with odds of about
 * g^-2n (two counters at least each): judged sampled when that is below 2^-32 (16
 * flows all even; an exporter with fewer flows in the input needs a larger divisor: 4
 * flows g >= 16). Exporters beyond UNI_MAX_EXP, and those too few flows show nothing
 * of, are not judged (counted).
 *
 * Ownership: the struct lives on the caller's stack; uni_feed_free releases the pairer.
 */
#ifndef FS_CMD_UNIFLOW_H
#define FS_CMD_UNIFLOW_H

#include "../core/flow.h"
#include "input.h"

#include <stdint.h>

struct biflow;
struct uni_exp;

#define UNI_SAMPLE_K 16 /* flows of an exporter held to judge its sampling */
#define UNI_MAX_EXP  64 /* exporters judged */

enum uni_basis { UNI_AUTO, UNI_PAYLOAD, UNI_BYTES };

struct uni_feed {
    int pair; /* -b */
    enum uni_basis basis;
    uint64_t big; /* a uniflow above this many bytes could be a download */
    int (*fn)(void *ctx, const struct flow *f);
    void *ctx;
    struct biflow *bi;
    uint64_t records;      /* read */
    uint64_t unpaired;     /* -b: uniflows without their reverse, skipped */
    uint64_t unpaired_big; /* of them above big */
    uint64_t uni_big;      /* without -b: uniflows above big */
    struct uni_exp *exp;   /* exporters seen, judged for sampling */
    size_t nexp, last;     /* last: the entry found last */
    uint64_t unjudged;     /* flows of exporters not judged (too many, too few flows) */
    uint64_t sampled;      /* flows refused as sampled */
};

#define UNI_PAIR_HELP                                                                     \
    "  -b               pair uniflows (NetFlow/IPFIX exporters send one record per\n"     \
    "                   direction: rbytes = rpackets = 0) whose keys are each other's\n"  \
    "                   reverse and whose times overlap into biflows, as stats -b; the\n" \
    "                   uniflows left without their reverse are skipped and counted\n"    \
    "                   (with or without -b, an exporter whose counters all share its\n"  \
    "                   sampling interval is refused: a sampled count names no file)\n"

#define UNI_BASIS_HELP                                                                     \
    "  --basis B        what the payload is taken from: auto (rgoodput where the meter\n"  \
    "                   recorded it, else rpayload, else bytes), payload (rpayload), or\n" \
    "                   bytes (rbytes - rpackets x H only, as from a NetFlow exporter)\n"

/* Parse a --basis value; -1 when unknown. */
int uni_basis_parse(const char *s);

/* Set up the feed: records go to fn(ctx, f) after pairing (pair) and the basis. */
void uni_feed_init(struct uni_feed *u, int pair, enum uni_basis basis, uint64_t big,
                   int (*fn)(void *ctx, const struct flow *f), void *ctx);

/* An input_read callback: one record in. Returns fn's nonzero value to stop. */
int uni_feed_add(void *u, const struct flow *f);

/* The end of the input: the uniflows still open, the flows still held for judging.
 * Returns 0 or fn's nonzero value. */
int uni_end(struct uni_feed *u);

/* input_read through the feed, then uni_end. Returns input_read's status (a stop by fn
 * is not an error). */
int uni_read(struct input_opts *in, const char *prog, struct uni_feed *u);

/* What pairing did, or the -b hint, on stderr (nothing when there is nothing to say). */
void uni_feed_report(const struct uni_feed *u, const char *prog);

void uni_feed_free(struct uni_feed *u);

#endif
