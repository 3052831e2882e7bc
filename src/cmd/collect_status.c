/*
 * collect's control socket (like softflowctl): a UNIX socket in the store folder that
 * answers each connection with the collector's counters (per exporter and domain:
 * datagrams, records, sequence loss, malformed by reason, unknown templates, socket
 * drops), which `flowsleuth collect --status` prints; the same counters are logged at
 * each rotation.
 */
#include "../core/xalloc.h"
#include "collect_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/sock_diag.h>

static void addr_text(const uint8_t ex[16], char *buf, size_t len)
{
    if (flow_addr_is_v4mapped(ex))
        inet_ntop(AF_INET, ex + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, ex, buf, (socklen_t)len);
}

static void print_entry(void *ctx, const uint8_t ex[16], uint32_t domain, int version,
                        const struct collect_stats *st)
{
    FILE *out = ctx;
    char addr[INET6_ADDRSTRLEN] = "-", ver[8];
    addr_text(ex, addr, sizeof(addr));
    if (version == 0) {
        fprintf(out, "flowsleuth collect: %s: not allowed %llu\n", addr,
                (unsigned long long)st->not_allowed);
        return;
    }
    snprintf(ver, sizeof(ver), version == 'S' ? "sflow" : version == 10 ? "ipfix" : "v%d", version);
    fprintf(out,
            "flowsleuth collect: %s %s domain %u: datagrams %llu, flows %llu, options %llu, "
            "templates %llu, withdrawn %llu, unknown template %llu (decoded later %llu, "
            "dropped %llu), sequence lost %llu, resets %llu, counter samples %llu\n",
            addr, ver, domain, (unsigned long long)st->datagrams, (unsigned long long)st->records,
            (unsigned long long)st->options_records, (unsigned long long)st->templates,
            (unsigned long long)st->withdrawals, (unsigned long long)st->unknown_template,
            (unsigned long long)st->held_decoded, (unsigned long long)st->held_dropped,
            (unsigned long long)st->seq_lost, (unsigned long long)st->seq_reset,
            (unsigned long long)st->counter_samples);
    for (int i = 0; i < CR_NRESULTS; i++)
        if (st->malformed[i])
            fprintf(out, "flowsleuth collect:   malformed %llu: %s\n",
                    (unsigned long long)st->malformed[i],
                    collect_reason_name((enum collect_reason)i));
}

/*
 * The kernel's drop counter of a socket now: SO_RXQ_OVFL reports it only with the next
 * datagram received, SO_MEMINFO (Linux 4.6+) at any time.
 */
uint64_t collect_socket_drops(const struct listener *l)
{
    uint64_t d = l->drops;
#if defined(SO_MEMINFO) && defined(__linux__)
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mi);
    if (l->fd >= 0 && getsockopt(l->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(uint32_t) && mi[SK_MEMINFO_DROPS] > d)
        d = mi[SK_MEMINFO_DROPS];
#endif
    return d;
}

/* Open TCP connections of listener l. */
static int tcp_open_count(const struct collect_run *run, const struct listener *l)
{
    int n = 0;
    for (int i = 0; i < run->nconn; i++)
        n += run->conns[i].l == l;
    return n;
}

/* Every counter: per exporter and domain, totals, sockets, store. */
void collect_print_stats(FILE *out, const struct collect_run *run)
{
    struct collect_totals t;
    collector_foreach(run->col, print_entry, out);
    collector_totals(run->col, &t);
    fprintf(out,
            "flowsleuth collect: total flows %llu; templates cached %llu, evicted %llu; "
            "exporters evicted %llu; not flow datagrams %llu; not allowed %llu\n",
            (unsigned long long)t.sum.records, (unsigned long long)t.templates_cached,
            (unsigned long long)t.templates_evicted, (unsigned long long)t.exporters_evicted,
            (unsigned long long)t.not_flow, (unsigned long long)t.sum.not_allowed);
    for (int i = 0; i < run->nls; i++) {
        const struct listener *l = &run->ls[i];
        if (l->tcp)
            fprintf(out,
                    "flowsleuth collect: socket %s: messages %llu, connections accepted %llu, "
                    "open %d, refused %llu; closed on bad length %llu, not IPFIX %llu, "
                    "cut off inside a message %llu\n",
                    l->name, (unsigned long long)l->datagrams, (unsigned long long)l->accepted,
                    tcp_open_count(run, l), (unsigned long long)l->refused,
                    (unsigned long long)l->bad_length, (unsigned long long)l->not_ipfix,
                    (unsigned long long)l->cut_off);
        else
            fprintf(out, "flowsleuth collect: socket %s: datagrams %llu, kernel drops %llu\n",
                    l->name, (unsigned long long)l->datagrams,
                    (unsigned long long)collect_socket_drops(l));
    }
    /* open: also the bins of the last rotation while they close (struct closer) */
    uint64_t open = run->pending + (run->closer.running ? run->closer.pending : 0);
    if (run->folder)
        fprintf(out,
                "flowsleuth collect: store %s: records stored %llu, in open bins %llu, lost to "
                "write errors %llu, rotations %llu, bins expired %llu%s\n",
                run->a->wpath, (unsigned long long)run->stored, (unsigned long long)open,
                (unsigned long long)run->lost, (unsigned long long)run->rotations,
                (unsigned long long)run->expired, run->failing ? " (writing fails now)" : "");
    if (run->udp)
        fprintf(out,
                "flowsleuth collect: capture: UDP packets %llu, fragments skipped %llu, "
                "truncated skipped %llu\n",
                (unsigned long long)run->udp, (unsigned long long)run->frag,
                (unsigned long long)run->trunc);
}

/* Bind the control socket; a live collector already on it is an error, a stale one goes. */
int collect_ctl_open(struct collect_run *run, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "flowsleuth collect: control socket path too long: %s\n", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == EADDRINUSE) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            fprintf(stderr, "flowsleuth collect: another collector runs on %s\n", path);
            close(fd);
            return -1;
        }
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            errno = 0;
    }
    if (fd < 0 || errno || listen(fd, 8) != 0) {
        fprintf(stderr, "flowsleuth collect: control socket %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    run->ctl = fd;
    run->ctl_path = xstrdup(path);
    return 0;
}

/* One client: the counters as text, then close (the client reads to EOF). */
void collect_ctl_serve(struct collect_run *run)
{
    int c = accept(run->ctl, NULL, NULL);
    if (c < 0)
        return;
    struct timeval tv = { 1, 0 };
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        fprintf(m, "flowsleuth collect: pid %ld, up %llu s, bin %u s\n", (long)getpid(),
                (unsigned long long)((collect_now_ms() - run->started_ms) / 1000),
                run->a->wo.bin_secs ? run->a->wo.bin_secs : STORE_BIN_SECS_DEFAULT);
        collect_print_stats(m, run);
        fclose(m);
        for (size_t off = 0; off < len;) {
            ssize_t n = send(c, text + off, len - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    free(text);
    close(c);
}

char *collect_store_file(const char *store, const char *name)
{
    size_t len = strlen(store) + strlen(name) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s/%s", store, name);
    return p;
}

/* collect --status: connect, copy what the collector writes to stdout. */
int collect_status_client(const struct collect_args *a)
{
    char *path = a->control ? xstrdup(a->control) : collect_store_file(a->wpath, CTL_NAME);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = strlen(path) < sizeof(sa.sun_path) && fd >= 0;
    if (ok) {
        memcpy(sa.sun_path, path, strlen(path) + 1);
        struct timeval tv = { 5, 0 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    }
    if (!ok) {
        fprintf(stderr, "flowsleuth collect: no collector answers on %s: %s\n", path,
                strerror(errno ? errno : ENAMETOOLONG));
    } else {
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        ok = n == 0;
        if (!ok)
            fprintf(stderr, "flowsleuth collect: %s: %s\n", path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return ok ? 0 : 1;
}
