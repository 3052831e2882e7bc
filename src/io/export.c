/*
 * The UDP sender behind `meter -e URL`: parses the URL, connect()s one UDP socket per
 * destination (so the kernel filters replies and reports ICMP unreachable as an
 * error we count), and paces with a token bucket only when a rate is given: a capture
 * file is otherwise exported as fast as the encoder makes messages.
 */
#include "export.h"

#include "../core/xalloc.h"

#include <errno.h>
#include <netdb.h>
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
};

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

/* Emit callback: one send() per message; a refusal is counted by the encoder. */
static int send_msg(void *ctx, const uint8_t *msg, size_t len)
{
    struct exporter *x = ctx;
    pace(x, export_enc_pending(x->enc));
    x->pending_us = 0;
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

/* Open an exporter for url (see export.h). */
int exporter_open(struct exporter **out, const char *url, const struct exporter_opts *o,
                  struct fs_err *err)
{
    char scheme[16], host[256], port[16];
    *out = NULL;
    if (split_url(url, scheme, sizeof(scheme), host, sizeof(host), port, sizeof(port)) != 0)
        return fs_err_set(err, FS_EINVAL, -1, "%s: expected SCHEME://HOST:PORT", url);
    const struct export_dialect *d = export_dialect_find(scheme);
    if (!d)
        return fs_err_set(err, FS_EINVAL, -1, "%s: unknown scheme '%s' (ipfix, nf9, nf5)", url,
                          scheme);
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (*end || p == 0 || p > 65535)
        return fs_err_set(err, FS_EINVAL, -1, "%s: bad port '%s'", url, port);
    int fd = udp_connect(host, port, err, url);
    if (fd < 0)
        return fd;
    struct exporter *x = xcalloc(1, sizeof(*x));
    x->url = xstrdup(url);
    x->fd = fd;
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
}

/* Flush, close and free. */
void exporter_close(struct exporter *x)
{
    if (!x)
        return;
    export_enc_flush(x->enc);
    export_enc_free(x->enc);
    close(x->fd);
    free(x->url);
    free(x);
}
