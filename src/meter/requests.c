/*
 * Request ends in the client's byte stream of a split HTTP connection.
 *
 * A request without a body (GET, HEAD: what downloads send) ends with "\r\n\r\n"; a
 * match state of one byte carries a partial end over segment boundaries, and a
 * segment holding several requests (a pipelined burst) yields one length each. Where
 * a segment was not captured to its end (a snapped capture), its requests cannot be
 * counted: the bytes not seen belong to a *blind* unit, which ends where a later
 * segment's captured start begins a request (a method token), so a request split over
 * two segments stays one unit, and a burst of several requests is one unit of unknown
 * count (the matcher tells them apart by their length). Bytes at or below the highest
 * sequence seen (retransmissions) are not counted again; bytes never seen are not
 * counted at all.
 */
#include "requests.h"

#include <string.h>

/* "GET ", "HEAD ", "OPTIONS ": 3 to 7 capitals and a space. */
static int starts_method(const uint8_t *d, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && i < 8 && d[i] >= 'A' && d[i] <= 'Z')
        i++;
    return i >= 3 && i <= 7 && i < n && d[i] == ' ';
}

static void push(struct reqs *r, uint32_t len)
{
    if (!len)
        return;
    if (r->count < REQS_FIFO) {
        r->q[(r->head + r->count) % REQS_FIFO] = len;
        r->count++;
    } else {
        r->q[(r->head + r->count - 1) % REQS_FIFO] += len; /* bytes are never lost */
    }
}

static void add(uint32_t *v, uint32_t n)
{
    *v = n > UINT32_MAX - *v ? UINT32_MAX : *v + n;
}

/* The connection's first request must be visible as one; else (TLS, another protocol,
 * or nothing captured) its exchanges keep their bytes by time. 0: given up. */
static int first_request(struct reqs *r, const struct pkt *p, const uint8_t *d, uint32_t dl)
{
    if (!starts_method(d, dl)) {
        r->mode = 2;
        return 0;
    }
    r->mode = 1;
    r->next = p->seq;
    r->seen = 1;
    return 1;
}

/*
 * Drop the segment's bytes at or below the highest sequence seen (*d, *dl and *len
 * shrink); a gap makes the unit blind. -1: nothing new; else 1 when the segment's
 * new bytes start at its own start (no resent prefix), 0 when not.
 */
static int skip_resent(struct reqs *r, const struct pkt *p, const uint8_t **d, uint32_t *dl,
                       uint32_t *len)
{
    int32_t off = (int32_t)(r->next - p->seq);
    if (off > 0) {
        if ((uint32_t)off >= *len)
            return -1; /* all sent before */
        *len -= (uint32_t)off;
        if (*dl > (uint32_t)off) {
            *d += off;
            *dl -= (uint32_t)off;
        } else {
            *dl = 0;
        }
        return 0;
    }
    if (off < 0) {
        /* a gap: bytes the capture did not see end nothing we can count */
        r->blind = 1;
        r->crlf = 0;
    }
    return 1;
}

/* The current unit ends here: queue its length and start the next. */
static void end_unit(struct reqs *r)
{
    push(r, r->cur);
    r->cur = 0;
    r->crlf = 0;
    r->blind = 0;
}

/* Count the captured bytes, ending a unit at each "\r\n\r\n". */
static void scan_ends(struct reqs *r, const uint8_t *d, uint32_t dl)
{
    static const char end[4] = { '\r', '\n', '\r', '\n' };
    for (uint32_t i = 0; i < dl; i++) {
        uint8_t c = d[i];
        if (c == (uint8_t)end[r->crlf])
            r->crlf++;
        else
            r->crlf = c == '\r';
        if (r->cur < UINT32_MAX)
            r->cur++;
        if (r->crlf == 4)
            end_unit(r); /* a blind unit ends with the first end seen too */
    }
}

void reqs_client(struct reqs *r, const struct pkt *p)
{
    if (r->mode == 2 || !p->payload)
        return;
    const uint8_t *d = p->data;
    uint32_t len = p->payload, dl = d ? p->datalen : 0;
    if (dl > len)
        dl = len;
    if (!r->mode && !first_request(r, p, d, dl))
        return;
    int at_start = skip_resent(r, p, &d, &dl, &len);
    if (at_start < 0)
        return;
    r->next = p->seq + p->payload;
    /* A blind unit ends where a segment visibly starts a request; with nothing of the
     * segment captured, at the segment's start. */
    if (r->blind && at_start && (dl < 4 || starts_method(d, dl)))
        end_unit(r);
    scan_ends(r, d, dl);
    if (len > dl) {
        add(&r->cur, len - dl);
        r->blind = 1;
        r->crlf = 0;
    }
}

uint64_t reqs_take(struct reqs *r)
{
    if (!r->count)
        return 0;
    uint32_t v = r->q[r->head];
    r->head = (uint8_t)((r->head + 1) % REQS_FIFO);
    r->count--;
    return v;
}

uint64_t reqs_rest(struct reqs *r)
{
    uint64_t s = r->cur;
    while (r->count)
        s += reqs_take(r);
    r->cur = 0;
    return s;
}
