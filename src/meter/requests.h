/*
 * The client's requests on a split HTTP connection (meter --split): where each request
 * ends in the client's byte stream, kept as a FIFO of request lengths so that each
 * exchange can be given the request its response answered (HTTP/1.1 answers pipelined
 * requests in order). A few bytes of state per connection, nothing per packet.
 */
#ifndef FS_METER_REQUESTS_H
#define FS_METER_REQUESTS_H

#include "../capture/decode.h"

#include <stdint.h>

#define REQS_FIFO 64 /* units waiting for their exchange; more are merged into the last */

struct reqs {
    uint32_t q[REQS_FIFO]; /* lengths of the units not yet given to an exchange */
    uint32_t cur;          /* bytes of the unit under way (its end not seen yet) */
    uint32_t next;         /* the client's next sequence number */
    uint8_t head, count;   /* ring of q */
    uint8_t mode;          /* 0 undecided, 1 HTTP requests, 2 not HTTP (by time) */
    uint8_t crlf;          /* bytes of "\r\n\r\n" matched at the end of what was seen */
    uint8_t blind;         /* the unit under way was not captured to its end */
    uint8_t seen;          /* next is valid */
};

/* A client segment with payload (TCP, not a fragment). */
void reqs_client(struct reqs *r, const struct pkt *p);

/* 1 when the connection's requests are followed (its first request was seen). */
static inline int reqs_on(const struct reqs *r)
{
    return r->mode == 1;
}

/* An exchange is emitted: the bytes of the next unit (the request its response
 * answered), 0 when none has ended yet. */
uint64_t reqs_take(struct reqs *r);

/* The connection's last record: every unit left and the one under way. */
uint64_t reqs_rest(struct reqs *r);

#endif
