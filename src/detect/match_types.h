/*
 * The matcher's types and constants (match.h explains the model): on their own so
 * that the matcher's parts (match_keep, match_learned) and learn.h use them without
 * including match.h, and every include among src/detect/ goes one way:
 *
 *     match.c -> match.h, match_keep.h, match_learned.h -> match_types.h
 *     learn.h -> match.h, match_learned.h
 *
 * Ownership: plain values.
 */
#ifndef FS_MATCH_TYPES_H
#define FS_MATCH_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define MATCH_MAX_SET   10 /* largest pipelined set searched (apt pipelines up to 10) */
#define MATCH_MAX_CANDS 16 /* candidates kept per flow */

enum match_basis { MB_GOODPUT, MB_PAYLOAD, MB_ESTIMATE };
/* MV_POSSIBLE: a unique set found without a calibration: the per-object overhead range
 * is then so wide that chance sums are common in a big catalogue, so it is shown but
 * not counted as an identification (inventory ignores it). */
enum match_verdict { MV_REJECT, MV_MATCH, MV_AMBIGUOUS, MV_POSSIBLE };

/*
 * A server's retransmission pattern, learned where payload includes retransmissions
 * (NetFlow's bytes and packets, or rpayload; learn.h explains the fit): the
 * retransmitted bytes R are unknown, but they are whole segments of the path's
 * segment payload `seg` (MSS minus options) plus the few short segments the server's
 * writes leave (a 64 KiB write on a 1448-byte MSS leaves 376), so the overhead P -
 * size = header + R falls, modulo seg, on a few residues. A single whose overhead
 * lands on none of them is not the download, whatever the window says. A path that
 * lost nothing while learning has seg 1000000: its residues are the overheads.
 */
#define MATCH_MAX_RES 16
/* Residues are exact: a header variant (a Content-Length digit more) is a residue of
 * its own when learned; +-1 byte let 3 of 100 foreign downloads through at 3% loss. */
#define MATCH_RES_SLACK 0
#define MATCH_RES_EXACT 1000000 /* seg of a path without loss */
struct match_resid {
    uint32_t seg;              /* 0 = nothing learned */
    int n;                     /* residues */
    uint32_t r[MATCH_MAX_RES]; /* of the overhead modulo seg, most frequent first */
};

/*
 * A TLS server's record framing, learned on goodput (learn.h): the response's plaintext
 * goes in records of at most 16 KiB, each adding r bytes (22 for TLS 1.3, 29 for TLS
 * 1.2 with AES-GCM), so a file of size S costs oh = c + r * ceil(S / 16384), c a
 * constant of the server and the connection's shape (the handshake flight and the
 * HTTP header) within lo..hi. A single whose overhead is not that is not the download.
 * A server that sometimes sends a few records more than the size needs (a CDN flushing
 * what its backend sent so far) has constants on a grid: lo + j * step, step = r.
 */
#define MATCH_TLS_RECORD   16384
#define MATCH_REC_SLACK    ((int64_t)1) /* +- bytes: the Content-Length digits */
#define MATCH_REC_SPREAD   8            /* a constant's range at most this wide, else a grid */
#define MATCH_REC_GRID_ADD 2            /* records past the most seen that a grid takes */
struct match_rec {
    uint32_t r;    /* 0 = nothing learned */
    uint32_t step; /* 0 = any constant in lo..hi; else only lo + j * step */
    int64_t lo, hi;
};

struct match_opts {
    uint32_t header_bytes;   /* H: IP+TCP header bytes per packet for the estimate (52) */
    uint32_t oh_min, oh_max; /* response header bytes per object (40..800) */
    uint64_t tol_exact;      /* tolerance with goodput (0) */
    double tol_pct;          /* tolerance without goodput, percent of P (0.2) plus 2*H */
    uint64_t min_size;       /* only P > min_size is considered (10000) */
    int max_set;             /* 1 = no sums; 2..MATCH_MAX_SET (default 4) */
    int max_cands;           /* candidates kept (8, at most MATCH_MAX_CANDS) */
    uint32_t calib_slack;    /* +- bytes per object around a calibrated overhead (16) */
    uint32_t req_slack;      /* +- bytes per request around the request sum (4) */
    uint64_t work_cap;       /* search steps per flow before giving up as ambiguous */
    uint64_t range_gap_ms;   /* range pieces: at most this gap between pieces; 0 = off */
    /* singles must fit one of these residues (a learned server's, on a basis with
     * retransmissions); NULL = no check. Not an option: learn_model_opts sets it. */
    const struct match_resid *resid;
    const struct match_rec *rec; /* the same for a learned TLS server, on goodput */
};

/* Range pieces: flows of at least this many payload bytes that nothing else explains
 * may be pieces of one file fetched by range requests. */
#define MATCH_PIECE_MIN  4096
#define MATCH_MAX_PIECES 64

struct match_calib {
    int resp;        /* resp_oh is known */
    int64_t resp_oh; /* response header bytes per object */
    int req;         /* req_oh is known */
    int64_t req_oh;  /* request bytes per object beyond len(url) */
    int span;        /* sets: resp_lo..resp_hi replace resp_oh +- calib_slack */
    int64_t resp_lo, resp_hi;
};

/* Votes that agree before a server's window for sets narrows from its overhead +-
 * calib_slack per object to the range its votes spanned (+- MATCH_SPAN_MARGIN);
 * singles keep +- calib_slack. */
#define MATCH_SPAN_VOTES 5
/* Singles a flow may have in the default window and still vote for its server's
 * header size when no download fits one entry alone (match.c, peak_calib). */
#define MATCH_PEAK_CANDS 64
/* A single alone in its window is a match only when the catalogue's density around it
 * puts fewer chance entries than this in a window that wide (match.c, chance_in). */
#define MATCH_CHANCE 0.15
/* ... and a range group (no calibration) only below this. */
#define MATCH_CHANCE_GROUP 0.05
#define MATCH_SPAN_MARGIN  2

struct match_cand {
    uint32_t idx[MATCH_MAX_SET]; /* catalogue indexes, sizes ascending */
    uint8_t k;                   /* objects in the set (1 = single) */
    int64_t residual;            /* P - sum of sizes: what the model calls headers */
};

struct match_result {
    enum match_verdict verdict;
    enum match_basis basis;
    uint64_t payload; /* P */
    int ncands;       /* stored candidates */
    int more;         /* more candidates than stored, or the search hit work_cap */
    int calibrated;   /* sums searched with a server's calibration */
    int reqsum;       /* ... and with the client's request bytes as a second sum */
    int alone;        /* one single fits and no set does (match when trusted) */
    int pieces;       /* > 1: flows combined as range pieces of one download */
    struct match_cand c[MATCH_MAX_CANDS];
};

/* Index of the first size >= need in the ascending sizes[0..n) (the catalogue's sizes
 * as the matcher, the sequence pass and the TLS framing search them). */
static inline size_t match_first_at_least(const uint64_t *sizes, size_t n, uint64_t need)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sizes[mid] < need)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
