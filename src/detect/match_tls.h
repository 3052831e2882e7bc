/*
 * A TLS server's record framing found from its own flows, without a model (issue 13:
 * HTTPS without per-server training). learn.c fits the framing on labelled downloads
 * (learn.h, 4); this finds the same thing unlabelled, as peak_calib (match.c) finds an
 * HTTP server's header size: every catalogue entry near a goodput flow's size votes for
 * the constant c = P - size - r * ceil(size / 16 KiB) it implies, for r = 22 (TLS 1.3),
 * 29 (TLS 1.2 AES-GCM) and 21 (TLS 1.2 ChaCha20-Poly1305). A download of a catalogue
 * entry votes for the server's constant every time; a chance entry for a chance value.
 * The constants a server shows lie on a grid (lo + j * r: a CDN sends 0..j records more
 * than the size needs, README.md "HTTPS"), so the votes are counted in grids of up to
 * MATCH_TLS_STEPS steps: the grid holding the most votes calibrates the server when
 * those are at least MATCH_SPAN_VOTES, four times what chance would put on a grid that
 * wide and more than chance would put on the best of the grids tried (a Poisson tail,
 * match_tls.c), and when their files' record counts
 * span more than the grid's steps (a plain HTTP server's constant header makes a grid
 * too, over files of a few record counts only).
 *
 * Functions over sorted catalogue sizes and payloads; the work area (histograms, one a
 * record cost) is the caller's, reused from server to server and left clear.
 */
#ifndef FS_MATCH_TLS_H
#define FS_MATCH_TLS_H

#include "match_types.h"

#include <stddef.h>
#include <stdint.h>

#define MATCH_TLS_C_MIN  40   /* the constant: at least an HTTP header ... */
#define MATCH_TLS_C_MAX  8192 /* ... at most a handshake flight with a long chain */
#define MATCH_TLS_STEPS  8    /* records beyond the size's a grid spans */
#define MATCH_TLS_CANDS  32   /* entries a flow may have in its window and still vote */
#define MATCH_TLS_ROUNDS 2    /* framings one server may show (match.c, tls_server) */

struct match_tls_work;
struct match_tls_work *match_tls_work_new(void);
void match_tls_work_free(struct match_tls_work *w);

/* The framing of the server whose goodput payloads are p[0..np), over the catalogue's
 * sorted sizes[0..n). Returns the votes on the winning grid and fills *rc (lo..hi,
 * step r when the constants span more than a few bytes, reaching 2 records past the
 * most seen, as learn does), or 0 when no grid stands out. */
size_t match_tls_calib(struct match_tls_work *w, const uint64_t *sizes, size_t n, const uint64_t *p,
                       size_t np, struct match_rec *rc);

/* o with the window and framing a payload p has under rc: the overhead of every size
 * whose constant can lie in rc's range, the framing to check each single against. */
void match_tls_opts(const struct match_rec *rc, uint64_t p, const struct match_opts *o,
                    struct match_opts *so);

#endif
