/*
 * The collector's sockets and its loop: UDP and TCP listeners bound from -l, datagrams
 * read RX_BATCH at a time with their senders, the poll loop with the clock of the bins
 * and the control socket, the daemon's start (-D, -u, --pid-file) and the drain at a
 * stop (collector.h has the picture).
 */
#define _GNU_SOURCE /* recvmmsg */
#include "../core/xalloc.h"
#include "collector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/filter.h>
#endif

volatile sig_atomic_t collect_stop_requested, collect_rotate_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        collect_rotate_requested = 1;
    else
        collect_stop_requested = 1;
}

void collect_install_signals(void)
{
    daemon_signals(on_signal);
}

#define LISTEN_HOST_MAX 256

/*
 * Split "[tcp:][ADDR]:PORT", "[tcp:]ADDR:PORT" or "[tcp:]PORT" into host ("" = any) and
 * port, *tcp set for tcp:. The port is 1..65535 in decimal: getaddrinfo took 99999 as
 * 34463 (mod 65536) and 0 as "any port". 0, or -1 with the reason said.
 */
static int listen_split(const char *spec, char host[LISTEN_HOST_MAX], char port[8], int *tcp)
{
    const char *all = spec;
    host[0] = '\0';
    *tcp = strncmp(spec, "tcp:", 4) == 0;
    spec += *tcp ? 4 : 0;
    const char *p = spec, *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']') {
            spec++;
            n -= 2;
        }
        if (n >= LISTEN_HOST_MAX) {
            fprintf(stderr, "flowsleuth collect: -l: address too long in '%s'\n", all);
            return -1;
        }
        memcpy(host, spec, n);
        host[n] = '\0';
        p = colon + 1;
    }
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (!*p || *end || p[0] < '0' || p[0] > '9' || strlen(p) > 5 || v < 1 || v > 65535) {
        fprintf(stderr, "flowsleuth collect: -l PORT needs 1..65535, not '%s'\n",
                p[0] ? p : "(none)");
        return -1;
    }
    snprintf(port, 8, "%lu", v);
    return 0;
}

/* A -l value: its port must be one (the address is checked when it is bound). */
int collect_listen_check(const char *spec)
{
    char host[LISTEN_HOST_MAX], port[8];
    int tcp;
    return listen_split(spec, host, port, &tcp);
}

/* Socket options of a UDP listener: a big receive buffer, the drop counter. */
static void udp_tune(int fd)
{
    int big = 8 << 20, one = 1;
    /* Beyond net.core.rmem_max where allowed (root): bursts are what drops. */
#ifdef SO_RCVBUFFORCE
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
#endif
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
#if defined(SO_RXQ_OVFL) && !(defined(SO_MEMINFO) && defined(__linux__))
    /* Only without SO_MEMINFO, which collect_socket_drops reads when the counter is
     * shown: the cmsg on every datagram cost 2-3% of the receiving thread. */
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
#endif
    (void)one;
}

/*
 * Split "[tcp:][ADDR]:PORT", "[tcp:]ADDR:PORT" or "[tcp:]PORT" and bind a UDP socket,
 * or with tcp: a listening TCP socket (*tcp set); -1 on error.
 */
static int open_listener(const char *spec, int *tcp)
{
    char host[LISTEN_HOST_MAX], port[8];
    if (listen_split(spec, host, port, tcp) != 0)
        return -1;
    struct addrinfo hints = { 0 }, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = *tcp ? SOCK_STREAM : SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, hints.ai_socktype | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0 && *tcp)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    else if (fd >= 0)
        udp_tune(fd);
    if (fd >= 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
                    (*tcp && (listen(fd, 16) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0)))) {
        int e = errno;
        close(fd);
        fd = -1;
        errno = e;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The source port of a sender (0 when unknown): its templates' transport session. */
uint16_t collect_addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

void collect_addr16(const struct sockaddr_storage *ss, uint8_t a[16])
{
    memset(a, 0, 16);
    if (ss->ss_family == AF_INET)
        flow_addr_from_v4(a, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr);
    else if (ss->ss_family == AF_INET6)
        memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

int collect_allowed(const struct collect_args *a, const uint8_t ex[16])
{
    if (!a->nallow)
        return 1;
    for (int i = 0; i < a->nallow; i++) {
        const struct allow *al = &a->allow[i];
        int full = al->bits / 8, rem = al->bits % 8;
        if (memcmp(ex, al->addr, (size_t)full) != 0)
            continue;
        if (!rem || ((ex[full] ^ al->addr[full]) & (0xff00 >> rem)) == 0)
            return 1;
    }
    return 0;
}

/* Receive buffers for RX_BATCH datagrams with their senders and drop-counter cmsgs. */
struct rx_batch {
    struct mmsghdr m[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage ss[RX_BATCH];
    union {
        char b[CMSG_SPACE(sizeof(uint32_t))];
        struct cmsghdr align;
    } c[RX_BATCH];
    uint8_t *buf; /* RX_BATCH * RX_DGRAM_MAX bytes */
};

static struct rx_batch *rx_new(void)
{
    struct rx_batch *rx = xcalloc(1, sizeof(*rx));
    rx->buf = xmalloc((size_t)RX_BATCH * RX_DGRAM_MAX);
    return rx;
}

static void rx_free(struct rx_batch *rx)
{
    if (rx)
        free(rx->buf);
    free(rx);
}

/* The kernel's drop counter from a datagram's SO_RXQ_OVFL cmsg. */
static void take_drops(struct listener *l, struct msghdr *m)
{
#ifdef SO_RXQ_OVFL
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t d;
            memcpy(&d, CMSG_DATA(c), sizeof(d));
            l->drops = d > l->drops ? d : l->drops;
        }
#else
    (void)l;
    (void)m;
#endif
}

/*
 * Up to RX_BATCH datagrams in one call, each through the drop counter, the allow list
 * and the decoder. Returns how many were read; 0 when none was waiting (or an error).
 */
static int read_batch(struct collect_run *run, struct listener *l, struct rx_batch *rx)
{
    for (int i = 0; i < RX_BATCH; i++) {
        rx->iov[i] = (struct iovec){ rx->buf + (size_t)i * RX_DGRAM_MAX, RX_DGRAM_MAX };
        rx->ss[i].ss_family = AF_UNSPEC; /* no source address given: the zero address */
        rx->m[i].msg_hdr = (struct msghdr){ .msg_name = &rx->ss[i],
                                            .msg_namelen = sizeof(rx->ss[i]),
                                            .msg_iov = &rx->iov[i],
                                            .msg_iovlen = 1,
                                            .msg_control = rx->c[i].b,
                                            .msg_controllen = sizeof(rx->c[i].b) };
    }
    int n = recvmmsg(l->fd, rx->m, RX_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    uint64_t now = collect_now_ms();
    for (int i = 0; i < n; i++) {
        l->datagrams++;
        take_drops(l, &rx->m[i].msg_hdr);
        uint8_t ex[16];
        collect_addr16(&rx->ss[i], ex);
        if (!collect_allowed(run->a, ex))
            collector_refused(run->col, ex);
        else
            collect_datagram_from(run->col, ex, collect_addr_port(&rx->ss[i]), rx->iov[i].iov_base,
                                  rx->m[i].msg_len, now, collect_store_flow, run);
    }
    return n;
}

/* From now on the kernel queues nothing more for fd: what is queued is "received". */
static void close_gate(int fd)
{
#ifdef SO_ATTACH_FILTER
    struct sock_filter drop_all = { 0x06, 0, 0, 0 }; /* BPF_RET | BPF_K, accept 0 bytes */
    struct sock_fprog prog = { 1, &drop_all };
    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
#else
    (void)fd;
#endif
}

static int open_listeners(struct collect_run *run)
{
    for (int i = 0; i < run->a->nlisten; i++) {
        struct listener *l = &run->ls[run->nls];
        l->name = run->a->listen[i];
        errno = 0;
        l->fd = open_listener(l->name, &l->tcp);
        if (l->fd < 0) {
            fprintf(stderr, "flowsleuth collect: cannot listen on '%s': %s\n", l->name,
                    strerror(errno ? errno : EINVAL));
            return -1;
        }
        socklen_t sl = sizeof(l->rcvbuf);
        if (l->tcp || getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &l->rcvbuf, &sl) != 0)
            l->rcvbuf = 0;
        run->nls++;
    }
    return 0;
}

/* The poll set: listeners, the control socket and its clients, connections. */
static nfds_t poll_set(const struct collect_run *run, struct pollfd *pfd, int *nctl)
{
    int n = run->nls;
    for (int i = 0; i < n; i++)
        pfd[i] = (struct pollfd){ run->ls[i].fd, POLLIN, 0 };
    *nctl = control_pollfds(&run->ctl, pfd + n);
    for (int i = 0; i < run->nconn; i++)
        pfd[n + *nctl + i] = (struct pollfd){ run->conns[i].fd, POLLIN, 0 };
    return (nfds_t)n + (nfds_t)*nctl + (nfds_t)run->nconn;
}

/*
 * Handle what poll reported: datagrams, connections, the control socket. Returns 1
 * when datagrams came and every UDP queue was read dry (its last batch short): the
 * caller may then pause before polling again.
 */
static int serve_polled(struct collect_run *run, const struct pollfd *pfd, int nctl,
                        struct rx_batch *rx)
{
    int n = run->nls, nconn = run->nconn, got_any = 0, backlog = 0;
    for (int i = 0; i < nconn; i++)
        if (pfd[n + nctl + i].revents)
            collect_tcp_serve(run, i, 0);
    collect_tcp_compact(run);
    for (int i = 0; i < n; i++) {
        if (!(pfd[i].revents & POLLIN))
            continue;
        if (run->ls[i].tcp)
            collect_tcp_accept(run, &run->ls[i]);
        else {
            int k = 0, got = RX_BATCH;
            while (k < DRAIN_BATCH && got == RX_BATCH)
                k += got = read_batch(run, &run->ls[i], rx);
            got_any |= k > 0;
            backlog |= got == RX_BATCH;
        }
    }
    /* never blocks: a --status reader that does not read costs no datagram */
    control_serve(&run->ctl, pfd + n, nctl, collect_now_ms());
    return got_any && !backlog;
}

/*
 * The pause after a round that emptied the queues, so that the next round finds a
 * batch instead of one datagram: a wakeup (poll, context switch, recvmmsg) per
 * datagram was most of the kernel time of a collector at 100k datagrams/s. It scales
 * with the smallest UDP receive buffer (rcvbuf / 16384 us, at most RX_NAP_MAX_US): a
 * buffer fills during the pause only beyond 16 GB/s of arriving skb memory. Small
 * buffers (non-root, net.core.rmem_max) get no pause at all.
 */
static int rx_nap_us(const struct collect_run *run)
{
    int nap = RX_NAP_MAX_US;
    for (int i = 0; i < run->nls; i++)
        if (!run->ls[i].tcp && run->ls[i].rcvbuf / 16384 < nap)
            nap = run->ls[i].rcvbuf / 16384;
    return nap >= 50 ? nap : 0;
}

/*
 * Stop: close the gates, then store every datagram the kernel already holds. The
 * drops are taken first: the filter's own drops are not the kernel's losses. TCP:
 * no new connection is taken; what each connection holds is read, then it closes.
 */
static void drain_all(struct collect_run *run, struct rx_batch *rx)
{
    for (int i = 0; i < run->nls; i++) {
        if (run->ls[i].tcp)
            continue;
        run->ls[i].drops = collect_socket_drops(&run->ls[i]);
        close_gate(run->ls[i].fd);
    }
    for (int i = 0; i < run->nls; i++)
        while (!run->ls[i].tcp && read_batch(run, &run->ls[i], rx) > 0)
            ;
    for (int i = 0; i < run->nconn; i++) {
        struct tcp_conn *c = &run->conns[i];
        collect_tcp_read(run, c, 1);
        close(c->fd);
        c->fd = -1;
    }
    collect_tcp_compact(run);
}

/* Poll the sockets and the clock until SIGTERM/SIGINT; rotate on time and SIGHUP. */
static int listen_loop(struct collect_run *run, struct rx_batch *rx)
{
    struct pollfd pfd[MAX_LISTEN + 1 + CONTROL_CLIENTS + MAX_TCP];
    int nctl;
    run->nap_us = rx_nap_us(run);
    while (!collect_stop_requested) {
        int wait = run->folder ? bins_wait_ms(&run->bins, 500) : 500;
        if (run->folder && run->bins.closer.running && wait > 20)
            wait = 20; /* take a finished close soon, also without traffic */
        int np = poll(pfd, poll_set(run, pfd, &nctl), wait);
        if (np < 0 && errno != EINTR)
            return 1;
        uint64_t now = collect_now_ms();
        if (run->folder && (collect_rotate_requested || bins_due(&run->bins))) {
            collect_rotate_requested = 0;
            bins_rotate(&run->bins, 1);
        }
        if (run->folder)
            bins_poll(&run->bins, 0);
        if (np == 0 && run->ctl.ncl)
            control_serve(&run->ctl, NULL, 0, now); /* drop stalled clients */
        if (np > 0 && serve_polled(run, pfd, nctl, rx) && run->nap_us) {
            struct timespec ts = { 0, (long)run->nap_us * 1000 };
            nanosleep(&ts, NULL); /* a signal cuts it short */
        }
        if (run->nconn)
            collect_tcp_idle_sweep(run, collect_now_ms());
    }
    daemon_stopping();
    drain_all(run, rx);
    return 0;
}

/*
 * After binding the listeners: -D, -u, --pid-file, then the control socket, in that
 * order (daemon.h says why); 0 or -1 (the collector stops). With -D the parent exits
 * here once the child is ready or failed.
 */
static int go_background(struct collect_run *run, const char *ctl)
{
    const struct collect_args *a = run->a;
    struct fs_err e = { 0 };
    int ready = -1, rc = 0;
    if (a->daemon) {
        rc = daemon_fork(&ready, &e);
        if (rc > 0)
            _exit(rc == 1 ? 0 : 1);
    }
    if (rc == 0 && a->user)
        rc = daemon_drop(a->user, &e);
    /* Found now, not as a silent loss of every record at the first bin. */
    if (rc == 0 && a->user && run->folder && access(a->wpath, W_OK | X_OK) != 0) {
        rc = fs_err_set(&e, -errno, -1, "-u %s cannot write the store folder %s: %s", a->user,
                        a->wpath, strerror(errno));
    }
    if (rc == 0 && a->pid_file)
        rc = daemon_pidfile_write(&run->pidf, a->pid_file, &e);
    if (rc == 0 && ctl)
        rc = control_open(&run->ctl, ctl, &e);
    if (rc)
        fprintf(stderr, "flowsleuth collect: %s\n", e.msg);
    daemon_ready(ready, rc == 0);
    return rc ? -1 : 0;
}

int collect_run_listen(struct collect_run *run)
{
    int rc = 1;
    control_init(&run->ctl, "collector", collect_status_text, run);
    run->pidf.dirfd = -1;
    if (open_listeners(run) == 0) {
        const char *ctl = run->a->control;
        char *def = !ctl && run->folder ? collect_store_file(run->a->wpath, CTL_NAME) : NULL;
        if (def)
            ctl = def;
        if (go_background(run, ctl) == 0) {
            struct rx_batch *rx = rx_new();
            rc = listen_loop(run, rx);
            rx_free(rx);
        }
        free(def);
    }
    for (int i = 0; i < run->nls; i++) {
        close(run->ls[i].fd);
        run->ls[i].fd = -1;
    }
    control_close(&run->ctl);
    if (daemon_pidfile_remove(&run->pidf) != 0)
        fprintf(stderr, "flowsleuth collect: --pid-file %s: %s\n", run->a->pid_file,
                strerror(errno));
    return rc;
}
