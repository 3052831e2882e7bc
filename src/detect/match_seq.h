/*
 * The request sequence of a split connection (match_run's third pass): HTTP/1.1
 * answers pipelined requests in order, so the n-th response of a connection answers
 * its n-th request, and a response is named when its size fits an entry with the
 * server's header and the entry's URL fits the request with the client's request
 * constant (docs/internals/detect.md, "Request sequences").
 *
 * Ownership: plain values; the caller's arrays are read, verdicts written through
 * keep_put.
 */
#ifndef FS_MATCH_SEQ_H
#define FS_MATCH_SEQ_H

#include "../core/flow.h"
#include "catalog.h"
#include "match_keep.h"
#include "match_types.h"

#include <stddef.h>

/* Shifts searched between an exchange and the request unit it answers: apt pipelines
 * up to 10 requests; a snapped burst is one unit of up to that many. */
#define SEQ_SHIFT 16
/* Exchanges with more singles than this in the default window do not vote. */
#define SEQ_MAX_SINGLES 1024
/* Bounds on what one connection may cost (about 32 MB of votes, 12 bytes per
 * exchange and shift): a connection beyond them is not named by this pass. */
#define SEQ_MAX_VOTES     (1u << 22)
#define SEQ_MAX_EXCHANGES (1u << 16)

/* One exchange of a connection: its flow, its result slot, its payload P. */
struct seq_x {
    const struct flow *f;
    size_t slot;
    uint64_t p;
};

/* A connection's calibration: the server's header sizes less the Content-Length
 * digits (a header of one server differs by a byte per digit: 132, 133 and 134 bytes
 * for 5-, 6- and 7-digit sizes on apt's mirror), and the client's request constant. */
struct seq_cal {
    int64_t h[4];
    int nh;
    int64_t c;
};

/* Calibrate the connection x[0..n) (in exchange order; sizes the catalogue's sizes,
 * ulen its URLs' request lengths, match_url_len, 0 = no URL) from its own exchanges:
 * 1 when one (h, C) stands out (SEQ_VOTES exchanges at least), else 0. */
int match_seq_calibrate(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                        const struct match_opts *o, const struct seq_x *x, size_t n,
                        struct seq_cal *cal);

/* Name the responses of the connection x[0..n) under k. borrowed: k came from
 * other connections of the same client and server (too few exchanges here to
 * calibrate); then an exchange is named also when it and every exchange before it
 * since the connection's first answered its own request (shift 0, one object each).
 * Rewrites the verdicts of the exchanges it names in res. Returns how many. */
size_t match_seq(const struct catalog *c, const uint64_t *sizes, const uint32_t *ulen,
                 const struct seq_x *x, size_t n, const struct seq_cal *k, int borrowed,
                 struct keep *res);

#endif
