/*
 * IPFIX over TCP (RFC 7011 10.4): connections accepted on a `-l tcp:` listener, each
 * read into a buffer of one message and framed by tcp_frame.c; --allow, at most
 * MAX_TCP at once and --tcp-per-source per address, --tcp-idle for the silent ones.
 */
#include "../core/xalloc.h"
#include "collector.h"
#include "tcp_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Why a new connection from ex is refused (--allow, MAX_TCP, --tcp-per-source), or NULL. */
static const char *tcp_refusal(struct collect_run *run, struct listener *l, const uint8_t ex[16])
{
    if (!collect_allowed(run->a, ex)) {
        collector_refused(run->col, ex);
        l->refused_allow++;
        return "not allowed (--allow)";
    }
    if (run->nconn == MAX_TCP) {
        l->refused_full++;
        return "every connection slot taken";
    }
    uint32_t max = run->a->tcp_per_source ? run->a->tcp_per_source : TCP_PER_SRC, n = 0;
    for (int i = 0; i < run->nconn; i++)
        n += memcmp(run->conns[i].ex, ex, 16) == 0;
    if (n >= max) {
        l->refused_source++;
        return "too many connections from this address (--tcp-per-source)";
    }
    return NULL;
}

/* Count a refused connection and say so, at most once per REFUSE_LOG_MS. */
static void tcp_refused(struct listener *l, const struct sockaddr_storage *ss, const char *why)
{
    uint64_t now = collect_now_ms();
    l->refused++;
    if (l->refuse_logged_ms && now < l->refuse_logged_ms + REFUSE_LOG_MS) {
        l->refused_unlogged++;
        return;
    }
    char addr[INET6_ADDRSTRLEN] = "-";
    const void *a = ss->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    inet_ntop(ss->ss_family == AF_INET6 ? AF_INET6 : AF_INET, a, addr, sizeof(addr));
    fprintf(stderr,
            "flowsleuth collect: %s: refused a connection from %s: %s (%llu more not logged)\n",
            l->name, addr, why, (unsigned long long)l->refused_unlogged);
    l->refused_unlogged = 0;
    l->refuse_logged_ms = now;
}

/* Accept what waits on a TCP listener: tcp_refusal decides, refused ones are closed. */
void collect_tcp_accept(struct collect_run *run, struct listener *l)
{
    for (;;) {
        struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
        socklen_t sl = sizeof(ss);
        int fd = accept(l->fd, (struct sockaddr *)&ss, &sl);
        if (fd < 0)
            return;
        if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
            close(fd);
            continue;
        }
        uint8_t ex[16];
        collect_addr16(&ss, ex);
        const char *why = tcp_refusal(run, l, ex);
        if (why) {
            tcp_refused(l, &ss, why);
            close(fd);
            continue;
        }
        struct tcp_conn *c = &run->conns[run->nconn++];
        *c = (struct tcp_conn){ .fd = fd,
                                .l = l,
                                .buf = xmalloc(TCP_MSG_MAX),
                                .port = collect_addr_port(&ss),
                                .last_ms = collect_now_ms() };
        memcpy(c->ex, ex, 16);
        l->accepted++;
    }
}

struct tcp_ctx {
    struct collect_run *run;
    struct tcp_conn *c;
};

static void tcp_message(void *vctx, const uint8_t *msg, size_t mlen)
{
    struct tcp_ctx *x = vctx;
    x->c->l->datagrams++;
    collect_datagram_from(x->run->col, x->c->ex, x->c->port, msg, mlen, collect_now_ms(),
                          collect_store_flow, x->run);
}

/* Decode the whole messages in c's buffer, keep a partial one; -1 (close) when a header
 * cannot frame (tcp_frame.h), counted by reason. */
static int tcp_frames_of(struct collect_run *run, struct tcp_conn *c)
{
    struct tcp_ctx x = { run, c };
    long took = tcp_frames(c->buf, c->have, tcp_message, &x);
    if (took == TCP_FRAME_NOT_IPFIX)
        c->l->not_ipfix++;
    if (took == TCP_FRAME_BAD_LENGTH)
        c->l->bad_length++;
    if (took < 0)
        return -1;
    memmove(c->buf, c->buf + took, c->have - (size_t)took);
    c->have -= (size_t)took;
    return 0;
}

/*
 * Read what c's socket holds (at most TCP_BATCH reads, or all when drain is set);
 * -1 when the connection ends or must close: EOF, error, a bad frame.
 */
int collect_tcp_read(struct collect_run *run, struct tcp_conn *c, int drain)
{
    for (int k = 0; drain || k < TCP_BATCH; k++) {
        ssize_t n = recv(c->fd, c->buf + c->have, TCP_MSG_MAX - c->have, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            c->l->cut_off += c->have > 0;
            return -1;
        }
        c->have += (size_t)n;
        c->last_ms = collect_now_ms();
        if (tcp_frames_of(run, c) != 0)
            return -1;
    }
    return 0;
}

/* Close the connections marked with fd -1 and close the gaps. */
void collect_tcp_compact(struct collect_run *run)
{
    int k = 0;
    for (int i = 0; i < run->nconn; i++) {
        if (run->conns[i].fd >= 0)
            run->conns[k++] = run->conns[i];
        else
            free(run->conns[i].buf);
    }
    run->nconn = k;
}

/* Close the connections silent for --tcp-idle seconds (counted): a connection that
 * sends nothing must not keep its slot from a real exporter for ever. */
void collect_tcp_idle_sweep(struct collect_run *run, uint64_t now)
{
    uint64_t idle = (uint64_t)(run->a->tcp_idle_s ? run->a->tcp_idle_s : TCP_IDLE_S) * 1000;
    int closed = 0;
    for (int i = 0; i < run->nconn; i++) {
        struct tcp_conn *c = &run->conns[i];
        if (c->fd >= 0 && now > c->last_ms + idle) {
            c->l->idle_closed++;
            c->l->cut_off += c->have > 0;
            close(c->fd);
            c->fd = -1;
            closed = 1;
        }
    }
    if (closed)
        collect_tcp_compact(run);
}

/* Read connection i after poll; close it when it ends. */
void collect_tcp_serve(struct collect_run *run, int i, int drain)
{
    struct tcp_conn *c = &run->conns[i];
    if (collect_tcp_read(run, c, drain) != 0) {
        close(c->fd);
        c->fd = -1;
    }
}
