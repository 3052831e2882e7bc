/*
 * The sender behind `meter -e URL`: parses the URL, connect()s one UDP socket per
 * destination (so the kernel filters replies and reports ICMP unreachable as an
 * error we count), and paces with a token bucket only when a rate is given: a capture
 * file is otherwise exported as fast as the encoder makes messages.
 *
 * ipfix+tcp:// (RFC 7011 10.4) sends the same IPFIX messages over one TCP connection:
 * the stream is framed by the header's length, TCP's flow control paces the sender
 * (a blocking send waits for a slow collector), and a broken connection is reopened
 * at once, then with a backoff of 100 ms doubling to 30 s while the collector is away
 * (messages in that time are counted as send errors). A new connection starts with a
 * template-only message, so the collector can decode what follows.
 */
#include "export.h"
#include "export_int.h"

#include "../core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct exporter {
    char *url;
    int fd;
    struct export_enc *enc;
    double rate;         /* flows/s, 0 = unlimited */
    double tokens;       /* records that may go now */
    uint64_t tb_us;      /* wall time of the last refill */
    uint64_t pending_us; /* wall time the pending message got its first record */
    int tcp;             /* ipfix+tcp: fd may be -1 between connections */
    char *host, *port;   /* for reconnecting */
    uint64_t retry_us;   /* no connect attempt before this wall time */
    uint64_t backoff_us; /* wait after the next failed attempt */
    uint64_t connects;   /* TCP connections made */
};

#define TCP_BACKOFF_MIN_US 100000u
#define TCP_BACKOFF_MAX_US 30000000u
#define TCP_CONNECT_MS     3000

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Token bucket in records (a v9 biflow costs two): refill at `rate` per second, hold
 * at most a tenth of a second's worth (a slow collector's socket buffer is what a
 * burst must fit), and sleep until a whole message's records are there.
 */
static void pace(struct exporter *x, uint32_t nrec)
{
    if (x->rate <= 0 || nrec == 0)
        return;
    uint64_t now = mono_us();
    double cap = x->rate / 10 < nrec ? nrec : x->rate / 10;
    x->tokens += (double)(now - x->tb_us) * x->rate / 1e6;
    if (x->tokens > cap)
        x->tokens = cap;
    x->tb_us = now;
    if (x->tokens < nrec) {
        uint64_t wait = (uint64_t)(((double)nrec - x->tokens) * 1e6 / x->rate);
        sleep_us(wait);
        x->tb_us = mono_us();
        x->tokens = nrec;
    }
    x->tokens -= nrec;
}

static int tcp_send(struct exporter *x, const uint8_t *msg, size_t len);

/* Emit callback: one send() per message; a refusal is counted by the encoder. */
static int send_msg(void *ctx, const uint8_t *msg, size_t len)
{
    struct exporter *x = ctx;
    pace(x, export_enc_pending(x->enc));
    x->pending_us = 0;
    if (x->tcp)
        return tcp_send(x, msg, len);
    for (;;) {
        ssize_t n = send(x->fd, msg, len, 0);
        if (n == (ssize_t)len)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
            /* The socket buffer is full: wait a little rather than drop. */
            sleep_us(200);
            continue;
        }
        return -1;
    }
}

/* The whole buffer on a blocking stream socket; 0 or -1 (the connection is broken). */
static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Connect fd to ai within TCP_CONNECT_MS; 0 or -1 with errno set. */
static int connect_timed(int fd, const struct addrinfo *ai)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        struct pollfd p = { fd, POLLOUT, 0 };
        int e = 0;
        socklen_t el = sizeof(e);
        if (errno != EINPROGRESS)
            return -1;
        if (poll(&p, 1, TCP_CONNECT_MS) != 1) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e) {
            errno = e ? e : errno;
            return -1;
        }
    }
    return fcntl(fd, F_SETFL, fl);
}

/* A connected TCP socket to host:port, or -1. */
static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect_timed(fd, ai) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/*
 * The template-only message that opens a connection: header (sequence number and
 * export time of the message about to go, whose header is already written), set 2.
 */
static int tcp_send_templates(struct exporter *x, const uint8_t *next)
{
    uint8_t buf[16 + 4 + EXPORT_NTMPL * (4 + EXPORT_MAX_FIELDS * 8)];
    uint32_t ntmpl;
    size_t len = 16 + export_templates(x->enc, buf + 16, &ntmpl);
    put_be16(buf, 10);
    put_be16(buf + 2, (uint16_t)len);
    memcpy(buf + 4, next + 4, 8); /* export time, sequence number */
    put_be32(buf + 12, x->enc->o.domain);
    if (send_all(x->fd, buf, len) != 0)
        return -1;
    x->enc->st.templates += ntmpl;
    x->enc->st.bytes += len;
    return 0;
}

/* (Re)connect unless the backoff says wait, and send the templates; 0 or -1. */
static int tcp_reconnect(struct exporter *x, const uint8_t *next)
{
    uint64_t now = mono_us();
    if (now < x->retry_us)
        return -1;
    x->fd = tcp_connect(x->host, x->port);
    if (x->fd >= 0 && tcp_send_templates(x, next) == 0) {
        x->connects++;
        x->backoff_us = 0;
        return 0;
    }
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    x->backoff_us = x->backoff_us ? x->backoff_us * 2 : TCP_BACKOFF_MIN_US;
    if (x->backoff_us > TCP_BACKOFF_MAX_US)
        x->backoff_us = TCP_BACKOFF_MAX_US;
    x->retry_us = now + x->backoff_us;
    return -1;
}

/* One message over TCP: a broken connection is reopened once at once, then backs off. */
static int tcp_send(struct exporter *x, const uint8_t *msg, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (x->fd < 0 && tcp_reconnect(x, msg) != 0)
            return -1;
        if (send_all(x->fd, msg, len) == 0)
            return 0;
        close(x->fd);
        x->fd = -1;
    }
    return -1;
}

/* Split SCHEME://HOST:PORT into its parts (host without brackets); 0 or -1. */
static int split_url(const char *url, char *scheme, size_t ns, char *host, size_t nh, char *port,
                     size_t np)
{
    const char *sep = strstr(url, "://");
    if (!sep || (size_t)(sep - url) >= ns)
        return -1;
    memcpy(scheme, url, (size_t)(sep - url));
    scheme[sep - url] = '\0';
    const char *h = sep + 3, *he, *colon;
    if (*h == '[') {
        he = strchr(h, ']');
        if (!he || he[1] != ':')
            return -1;
        colon = he + 1;
        h++;
    } else {
        colon = strrchr(h, ':');
        he = colon;
    }
    if (!colon || he <= h || (size_t)(he - h) >= nh || strlen(colon + 1) >= np || !colon[1])
        return -1;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    memcpy(port, colon + 1, strlen(colon + 1) + 1);
    return 0;
}

/* Resolve and connect a UDP socket to host:port; fd or -errno / FS_EINVAL. */
static int udp_connect(const char *host, const char *port, struct fs_err *err, const char *url)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return fs_err_set(err, FS_EINVAL, -1, "%s: %s", url, gai_strerror(rc));
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            e = errno;
            close(fd);
            fd = -1;
        } else if (fd < 0) {
            e = errno;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return fs_err_set(err, -e, -1, "%s: %s", url, strerror(e));
    /* A large send buffer absorbs bursts at the end of a capture file. */
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    return fd;
}

/*
 * ipfix+tcp at open: the name must resolve (a typo fails at once); the connection is
 * made with the first message, so a collector may start later. -1, or FS_E* < -1.
 */
static int tcp_check(const char *host, const char *port, struct fs_err *err, const char *url)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return fs_err_set(err, FS_EINVAL, -1, "%s: %s", url, gai_strerror(rc));
    freeaddrinfo(res);
    return -1;
}

/* Open an exporter for url (see export.h). */
int exporter_open(struct exporter **out, const char *url, const struct exporter_opts *o,
                  struct fs_err *err)
{
    char scheme[16], host[256], port[16];
    int tcp = 0;
    *out = NULL;
    if (split_url(url, scheme, sizeof(scheme), host, sizeof(host), port, sizeof(port)) != 0)
        return fs_err_set(err, FS_EINVAL, -1, "%s: expected SCHEME://HOST:PORT", url);
    if (strcmp(scheme, "ipfix+tcp") == 0) {
        tcp = 1;
        scheme[5] = '\0';
    }
    const struct export_dialect *d = export_dialect_find(scheme);
    if (!d)
        return fs_err_set(err, FS_EINVAL, -1,
                          "%s: unknown scheme '%s' (ipfix, ipfix+tcp, nf9, nf5)", url, scheme);
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (*end || p == 0 || p > 65535)
        return fs_err_set(err, FS_EINVAL, -1, "%s: bad port '%s'", url, port);
    int fd = tcp ? tcp_check(host, port, err, url) : udp_connect(host, port, err, url);
    if (fd < -1 || (fd < 0 && !tcp))
        return fd;
    struct exporter *x = xcalloc(1, sizeof(*x));
    x->url = xstrdup(url);
    x->fd = fd;
    x->tcp = tcp;
    if (tcp) {
        x->host = xstrdup(host);
        x->port = xstrdup(port);
    }
    x->rate = o ? o->rate : 0;
    x->tb_us = mono_us();
    x->tokens = x->rate / 10;
    x->enc = export_enc_new(d, o ? &o->enc : NULL, send_msg, x);
    *out = x;
    return 0;
}

/* The URL as given. */
const char *exporter_url(const struct exporter *x)
{
    return x->url;
}

/* Set the sysUptime origin (see export_enc_start). */
void exporter_start(struct exporter *x, uint64_t start_ms)
{
    export_enc_start(x->enc, start_ms);
}

/* Export one flow at clock now_ms. */
void exporter_flow(struct exporter *x, const struct flow *f, uint64_t now_ms)
{
    export_enc_flow(x->enc, f, now_ms);
    if (!x->pending_us && export_enc_pending(x->enc))
        x->pending_us = mono_us();
}

/* Send a message that has waited a second of wall time. */
void exporter_tick(struct exporter *x)
{
    if (x->pending_us && mono_us() - x->pending_us >= 1000000u)
        export_enc_flush(x->enc);
}

/* Send the pending message now. */
void exporter_flush(struct exporter *x)
{
    export_enc_flush(x->enc);
}

/* Counters of the encoder (send errors included). */
void exporter_stats(const struct exporter *x, struct export_stats *out)
{
    export_enc_stats(x->enc, out);
    out->connects = x->connects;
}

/* Flush, close and free. */
void exporter_close(struct exporter *x)
{
    if (!x)
        return;
    export_enc_flush(x->enc);
    export_enc_free(x->enc);
    if (x->fd >= 0)
        close(x->fd);
    free(x->host);
    free(x->port);
    free(x->url);
    free(x);
}
