/*
 * A daemon's control socket (like softflowctl's): a UNIX stream socket that answers
 * each connection with a text (the daemon's counters) and closes it. `CMD --status`
 * is control_client.
 *
 * The socket never holds up the daemon's receive path: the listening socket and every
 * client are non-blocking; a client's text is made when it connects, buffered, and
 * written as the socket takes it from the daemon's poll loop (control_pollfds /
 * control_serve). A client that takes nothing for CONTROL_STALL_MS is dropped, and
 * beyond CONTROL_CLIENTS at once new ones are closed at once.
 *
 * Ownership: struct control is caller storage: control_init, then control_open;
 * control_close closes every socket, removes the path and frees the buffers.
 */
#ifndef FS_CONTROL_H
#define FS_CONTROL_H

#include "../core/err.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>

#define CONTROL_CLIENTS  8
#define CONTROL_STALL_MS 5000

/* Writes the text a client receives (called once per client, when it connects). */
typedef void (*control_text_fn)(void *ctx, FILE *out);

struct control_client {
    int fd;
    char *text;
    size_t len, off;
    uint64_t progress_ms; /* when it last took bytes (or connected) */
};

struct control {
    int fd;     /* listening socket, -1 when none */
    char *path; /* bound path, removed by control_close */
    const char *who;
    control_text_fn text;
    void *ctx;
    struct control_client cl[CONTROL_CLIENTS];
    int ncl;
    uint64_t served, stalled, refused; /* clients answered / dropped stalled / turned away */
};

/* who names the daemon in messages ("collector", "meter"). */
void control_init(struct control *c, const char *who, control_text_fn text, void *ctx);

/*
 * Bind and listen on path. Something already at path: a socket nobody answers is
 * stale and replaced; a socket that answers (another daemon) or anything that is not
 * a socket (a file, a link) is an error naming path, and is left alone.
 */
int control_open(struct control *c, const char *path, struct fs_err *err);

/* Up to 1 + CONTROL_CLIENTS pollfds into pfd (room for that many); their number. */
int control_pollfds(const struct control *c, struct pollfd *pfd);

/*
 * Accept and write what poll reported in pfd[0..n) (from control_pollfds), and drop
 * clients stalled at now_ms. Never blocks. pfd may be NULL (n 0): then every client
 * is tried as if writable and a pending connection is accepted.
 */
void control_serve(struct control *c, const struct pollfd *pfd, int n, uint64_t now_ms);

void control_close(struct control *c);

/* Connect to path and copy what the daemon (named who in messages) writes to out. */
int control_client(const char *path, const char *who, FILE *out, struct fs_err *err);

#endif
