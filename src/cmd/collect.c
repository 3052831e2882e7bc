/*
 * flowsleuth collect: NetFlow v5/v9, IPFIX and sFlow v5 datagrams into flow records,
 * from UDP sockets (-l) or from a capture file (-f: every UDP datagram that decodes as
 * one of those protocols, on any port; the exporter is the packet's IP source). The
 * decoding is src/io/collect.h; this file moves bytes, runs the store's rotation,
 * expiry and template file, and prints; collect_status.c serves the control socket
 * (--status).
 *
 * Live loop (-l):
 *   poll(UDP sockets, control socket, clock)
 *     UDP readable      -> recvmmsg, RX_BATCH datagrams a call (kernel drops: SO_MEMINFO,
 *                          or an SO_RXQ_OVFL cmsg where that is missing) -> --allow check
 *                          -> collect_datagram -> sink -> store writer
 *     control readable  -> accept, write the counters, close (collect --status)
 *     clock at a bin boundary, or SIGHUP -> rotate: close the writer on a thread of its
 *                          own (every open bin file is fsynced and renamed into
 *                          place) while reception goes on; once it is closed, log
 *                          the counters, save STORE/.templates, expire
 *   SIGTERM/SIGINT -> a drop-all socket filter stops new datagrams, what is queued is
 *                     read and stored, then the final rotation
 * A write error (disk full) drops the records of the failed bin files, says so once,
 * and the writer is reopened at most once a second until writing works again.
 */
#define _GNU_SOURCE /* recvmmsg */
#include "../io/collect.h"
#include "../core/xalloc.h"
#include "../io/capture.h"
#include "../io/expire.h"
#include "../io/store.h"
#include "../meter/decode.h"
#include "../query/output.h"
#include "args.h"
#include "cmd.h"
#include "collect_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/filter.h>
#endif

static const char usage_text[] =
    "usage: flowsleuth collect (-f FILE | -l [tcp:][ADDR:]PORT ...) [-w PATH] [options]\n"
    "       flowsleuth collect --status [--control PATH | -w STORE]\n"
    "\n"
    "Decode NetFlow v5, NetFlow v9, IPFIX and sFlow v5 into flow records.\n"
    "\n"
    "  -f FILE          read the flow datagrams in a pcap/pcapng capture (every UDP\n"
    "                   datagram on any port; exporter = its IP source address), or an\n"
    "                   IPFIX file (RFC 5655)\n"
    "  -l [ADDR:]PORT   listen on UDP (repeatable; [::]:PORT or ADDR:PORT, IPv4 or\n"
    "                   IPv6; default address 0.0.0.0); SIGINT/SIGTERM store every\n"
    "                   datagram already received and close the store; SIGHUP rotates\n"
    "                   (PORT is 1..65535)\n"
    "  -l tcp:[ADDR:]PORT  accept IPFIX over TCP (RFC 7011 10.4) on PORT, up to 64\n"
    "                   connections at once; a bad message length closes that one\n"
    "  -w PATH          write flows to a store folder (existing dir or PATH/), a file,\n"
    "                   or -; without -w the flows are printed\n"
    "  -z CODEC         store compression: lz4 (default), zstd[:LEVEL], none\n"
    "  --rotate S       store bin width in seconds, whole minutes (default 300); a live\n"
    "                   collector closes its bin files at each boundary of the clock\n"
    "  --allow ADDR[/LEN]  decode only datagrams from these exporters (repeatable);\n"
    "                   others are counted as not allowed and ignored\n"
    "  --control PATH   control socket (default STORE/.flowsleuth-collect.sock when -w\n"
    "                   is a store folder); only a socket nobody answers is replaced\n"
    "  --status         print the counters of the collector running on the control\n"
    "                   socket (--control PATH, or -w STORE) and exit\n"
    "  --expire-age D   at each rotation remove bins older than D (30d, 12h, 90m, 2w)\n"
    "  --expire-size S  at each rotation remove the oldest bins until the store is at\n"
    "                   most S (10G, 500M: powers of 1000; 10Gi, 512Mi: of 1024)\n"
    "  --expire-dry-run print what expiry would remove, remove nothing\n"
    "  -o FORMAT        print format when not writing (see flowsleuth print)\n"
    "  -N               plain numbers when printing\n"
    "  --sampling N     use sampling interval N for every flow instead of the\n"
    "                   exporter's (1 = counters as exported, unscaled)\n"
    "  --max-templates N  template cache size (default 65536; oldest evicted beyond)\n"
    "  --max-template-kb K  compiled templates per exporter and domain, KiB (default\n"
    "                   2048; more are refused and counted); 64 MiB in all\n"
    "  --bin-by flow|received  file records by their flow time (default) or by the\n"
    "                   arrival of their datagram (an exporter with a wrong clock)\n"
    "  --bad-time keep|drop  a flow time past year 9999 or before 1970: keep the\n"
    "                   record in the bin of its arrival (default) or drop it; counted\n"
    "  --tcp-idle S     close an IPFIX-over-TCP connection silent for S seconds\n"
    "                   (default 300; counted)\n"
    "  --tcp-per-source N  IPFIX-over-TCP connections from one address (default 8)\n"
    "  --stats          print per-exporter counters to stderr at the end\n"
    "  -D               run as a daemon once the sockets are bound (stdin/stdout to\n"
    "                   /dev/null; stderr stays as given: redirect it to a log)\n"
    "  --pid-file PATH  write the collector's process id to PATH, never through a link\n"
    "                   (as USER after -u: its folder must be writable by USER);\n"
    "                   removed at exit\n"
    "  -u USER          after binding the listeners, switch to USER and its group (root\n"
    "                   only; the store folder must be writable by USER, and the\n"
    "                   folder of --control)\n"
    "  -h, --help       this help\n";

static volatile sig_atomic_t stop_requested, rotate_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        rotate_requested = 1;
    else
        stop_requested = 1;
}

uint64_t collect_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* A write failed: say so once per episode; a writer is reopened no sooner than later. */
static void say_failed(struct collect_run *r, const struct fs_err *e)
{
    if (!r->failing)
        fprintf(stderr,
                "flowsleuth collect: %s; the open bin files are lost and records are "
                "dropped until the store can be written again\n",
                e->msg);
    r->failing = 1;
    r->retry_ms = collect_now_ms() + RETRY_MS;
}

/* The open writer failed: say so, drop its open bins, retry later. */
static void write_failed(struct collect_run *r, const struct fs_err *e)
{
    say_failed(r, e);
    if (r->w) {
        struct fs_err ignore;
        store_writer_close(r->w, &ignore);
        r->w = NULL;
    }
    r->lost += r->pending;
    r->pending = 0;
}

/*
 * Folder store: open the writer lazily, keep going after errors. The bin is the flow's
 * time, or the datagram's arrival with --bin-by received and for a time out of range
 * (a record's time never costs another record: a bin it cannot name is no I/O error).
 */
static int sink_folder(struct collect_run *r, const struct flow *f,
                       const struct collect_flow_info *in)
{
    if (!r->w) {
        if (r->failing && collect_now_ms() < r->retry_ms) {
            r->lost++;
            return 0;
        }
        if (store_writer_open(&r->w, r->a->wpath, &r->a->wo, &r->err) != 0) {
            r->w = NULL;
            write_failed(r, &r->err);
            r->lost++;
            return 0;
        }
    }
    uint64_t bin = r->a->bin_received || in->bad_time ? in->recv_ms : f->last;
    int rc = store_writer_add_at(r->w, f, bin, &r->err);
    if (rc == FS_EINVAL) {
        r->unbinned++; /* an arrival time past year 9999: this record only */
        return 0;
    }
    r->pending++;
    if (rc != 0)
        write_failed(r, &r->err);
    return 0;
}

/* An exporter's first flow far ahead of its arrival: its clock is wrong (once each). */
static void warn_future(const struct flow *f)
{
    char addr[INET6_ADDRSTRLEN] = "-";
    if (flow_addr_is_v4mapped(f->exporter))
        inet_ntop(AF_INET, f->exporter + 12, addr, sizeof(addr));
    else
        inet_ntop(AF_INET6, f->exporter, addr, sizeof(addr));
    fprintf(stderr,
            "flowsleuth collect: %s: flows end more than a day after they arrive (a wrong "
            "exporter clock?); counted as 'future' from now on%s\n",
            addr, "; --bin-by received files them by arrival");
}

static int sink(void *vctx, const struct flow *f)
{
    struct collect_run *r = vctx;
    struct collect_flow_info in;
    collector_flow_info(r->col, &in);
    if (in.future_first)
        warn_future(f);
    if (r->printing) {
        output_flow(&r->out, f);
        return 0;
    }
    if (r->folder)
        return sink_folder(r, f, &in);
    if (!r->write_err && store_writer_add(r->w, f, &r->err) != 0)
        r->write_err = 1;
    r->pending += !r->write_err;
    return r->write_err;
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
    uint32_t v;
    if (strlen(p) > 5 || arg_u32("collect", "-l PORT", p[0] ? p : "(none)", 1, 65535, &v) != 0) {
        if (strlen(p) > 5)
            fprintf(stderr, "flowsleuth collect: -l PORT needs 1..65535, not '%s'\n", p);
        return -1;
    }
    snprintf(port, 8, "%u", v);
    return 0;
}

/* A -l value: its port must be one (the address is checked when it is bound). */
static int listen_check(const char *spec)
{
    char host[LISTEN_HOST_MAX], port[8];
    int tcp;
    return listen_split(spec, host, port, &tcp);
}

/* "ADDR" or "ADDR/LEN", IPv4 (as IPv4-mapped) or IPv6. */
static int parse_allow(struct collect_args *a, const char *arg)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(arg, '/');
    size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
    struct allow *al = &a->allow[a->nallow];
    uint8_t v4[4];
    int maxbits = -1;
    if (a->nallow < MAX_ALLOW && n < sizeof(host)) {
        memcpy(host, arg, n);
        host[n] = '\0';
        if (inet_pton(AF_INET, host, v4) == 1) {
            flow_addr_from_v4(al->addr, v4);
            maxbits = 32;
        } else if (inet_pton(AF_INET6, host, al->addr) == 1) {
            maxbits = 128;
        }
    }
    uint32_t len = (uint32_t)maxbits;
    if (maxbits < 0 ||
        (slash && arg_u32("collect", "--allow LEN", slash + 1, 0, (uint32_t)maxbits, &len))) {
        fprintf(stderr, "flowsleuth collect: --allow needs ADDR[/LEN] (at most %d), not '%s'\n",
                MAX_ALLOW, arg);
        return -1;
    }
    al->bits = (int)len + (maxbits == 32 ? 96 : 0);
    a->nallow++;
    return 0;
}

static int parse_expire(struct collect_args *a, int c, const char *arg)
{
    if (c == 7 && expire_parse_age(arg, &a->expire_age_ms) == 0)
        return 0;
    if (c == 8 && expire_parse_size(arg, &a->expire_bytes) == 0)
        return 0;
    fprintf(stderr, "flowsleuth collect: %s needs %s, not '%s'\n",
            c == 7 ? "--expire-age" : "--expire-size",
            c == 7 ? "a duration such as 30d, 12h, 90m" : "a size such as 10G, 500M", arg);
    return -1;
}

/* "WORD" among two choices: 0 for the first, 1 for the second, -1 (said) otherwise. */
static int parse_choice(const char *opt, const char *arg, const char *w0, const char *w1)
{
    if (strcmp(arg, w0) == 0 || strcmp(arg, w1) == 0)
        return strcmp(arg, w1) == 0;
    fprintf(stderr, "flowsleuth collect: %s needs %s or %s, not '%s'\n", opt, w0, w1, arg);
    return -1;
}

static int parse_more(struct collect_args *a, int c, const char *arg)
{
    int v;
    uint32_t kb;
    switch (c) {
    case 12:
        v = parse_choice("--bin-by", arg, "flow", "received");
        a->bin_received = v > 0;
        return v < 0 ? -1 : 0;
    case 13:
        v = parse_choice("--bad-time", arg, "keep", "drop");
        a->co.bad_time_drop = v > 0;
        return v < 0 ? -1 : 0;
    case 14:
        return arg_u32("collect", "--tcp-idle", arg, 1, 86400, &a->tcp_idle_s);
    case 15:
        return arg_u32("collect", "--tcp-per-source", arg, 1, MAX_TCP, &a->tcp_per_source);
    case 16:
        if (arg_u32("collect", "--max-template-kb", arg, 16, 1u << 20, &kb) != 0)
            return -1;
        a->co.max_tmpl_bytes = kb << 10;
        return 0;
    default:
        return -1;
    }
}

static int parse_long(struct collect_args *a, int c, const char *arg)
{
    switch (c) {
    case 1:
        return arg_u32("collect", "--rotate", arg, 60, 86400, &a->wo.bin_secs);
    case 2:
        return arg_u32("collect", "--sampling", arg, 1, 1u << 30, &a->co.sampling);
    case 3:
        return arg_u32("collect", "--max-templates", arg, 1, 1u << 24, &a->co.max_templates);
    case 4:
        a->stats = 1;
        return 0;
    case 5:
        return parse_allow(a, arg);
    case 6:
        a->control = arg;
        return 0;
    case 7:
    case 8:
        return parse_expire(a, c, arg);
    case 9:
        a->dry_run = 1;
        return 0;
    case 10:
        a->status = 1;
        return 0;
    case 11:
        a->pid_file = arg;
        return 0;
    default:
        return parse_more(a, c, arg);
    }
}

static int parse_opt(struct collect_args *a, int c, const char *arg)
{
    switch (c) {
    case 'f':
        a->file = arg;
        return 0;
    case 'l':
        if (a->nlisten == MAX_LISTEN) {
            fprintf(stderr, "flowsleuth collect: at most %d -l\n", MAX_LISTEN);
            return -1;
        }
        if (listen_check(arg) != 0)
            return -1;
        a->listen[a->nlisten++] = arg;
        return 0;
    case 'w':
        a->wpath = arg;
        return 0;
    case 'o':
        a->format = arg;
        return 0;
    case 'N':
        a->plain = 1;
        return 0;
    case 'D':
        a->daemon = 1;
        return 0;
    case 'u':
        a->user = arg;
        return 0;
    case 'z':
        if (store_codec_parse(arg, &a->wo.codec, &a->wo.level) == 0)
            return 0;
        fprintf(stderr, "flowsleuth collect: unknown codec '%s' (lz4, zstd, none)\n", arg);
        return -1;
    default:
        return parse_long(a, c, arg);
    }
}

/* Returns -1 on a usage error, 1 for --help, 0 to run. */
static int parse_args(struct collect_args *a, int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "rotate", required_argument, NULL, 1 },
                                              { "sampling", required_argument, NULL, 2 },
                                              { "max-templates", required_argument, NULL, 3 },
                                              { "stats", no_argument, NULL, 4 },
                                              { "allow", required_argument, NULL, 5 },
                                              { "control", required_argument, NULL, 6 },
                                              { "expire-age", required_argument, NULL, 7 },
                                              { "expire-size", required_argument, NULL, 8 },
                                              { "expire-dry-run", no_argument, NULL, 9 },
                                              { "status", no_argument, NULL, 10 },
                                              { "pid-file", required_argument, NULL, 11 },
                                              { "bin-by", required_argument, NULL, 12 },
                                              { "bad-time", required_argument, NULL, 13 },
                                              { "tcp-idle", required_argument, NULL, 14 },
                                              { "tcp-per-source", required_argument, NULL, 15 },
                                              { "max-template-kb", required_argument, NULL, 16 },
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:l:w:o:Nz:Du:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (parse_opt(a, c, optarg) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "flowsleuth collect: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if ((a->daemon || a->pid_file || a->user) && !a->nlisten) {
        fprintf(stderr, "flowsleuth collect: -D, --pid-file and -u need -l\n");
        return -1;
    }
    if (a->status ? a->file || a->nlisten || (!a->control && !a->wpath) : !a->file == !a->nlisten) {
        fprintf(stderr, a->status
                            ? "flowsleuth collect: --status takes --control PATH or -w STORE\n"
                            : "flowsleuth collect: give -f FILE or -l [ADDR:]PORT\n");
        return -1;
    }
    return 0;
}

/*
 * The UDP payload of a decoded packet: the last p->payload bytes of the IP packet,
 * after an 8-byte UDP header. The packet's end is found by matching that header, since
 * an Ethernet trailer may follow the IP packet in the captured bytes.
 */
static const uint8_t *udp_payload(const struct capture_pkt *cp, const struct pkt *p)
{
    size_t need = (size_t)p->payload + 8;
    for (size_t trail = 0; trail <= 64 && need + trail <= cp->caplen; trail++) {
        const uint8_t *u = cp->data + cp->caplen - trail - need;
        if (((u[0] << 8) | u[1]) == p->sport && ((u[2] << 8) | u[3]) == p->dport &&
            (size_t)((u[4] << 8) | u[5]) == need)
            return u + 8;
    }
    return NULL;
}

static int run_pcap(struct collect_args *a, struct collector *col, struct collect_run *run)
{
    struct capture *cap;
    struct fs_err err = { 0 };
    if (capture_open_file(&cap, a->file, NULL, &err) != 0) {
        fprintf(stderr, "flowsleuth collect: %s\n", err.msg);
        return 1;
    }
    int dlt = capture_linktype(cap), rc = 0;
    struct capture_pkt cp;
    struct pkt p;
    while (!stop_requested && (rc = capture_next(cap, &cp, &err)) == CAPTURE_PACKET) {
        if (decode_packet(dlt, cp.data, cp.caplen, cp.wirelen, &p) != DEC_OK || p.proto != 17)
            continue;
        run->udp++;
        if (p.is_frag || !p.has_ports) {
            run->frag++;
            continue;
        }
        const uint8_t *u = udp_payload(&cp, &p);
        if (!u) {
            run->trunc++;
            continue;
        }
        collect_datagram_from(col, p.src, p.sport, u, p.payload, cp.ts_us / 1000, sink, run);
    }
    capture_close(cap);
    if (rc < 0) {
        fprintf(stderr, "flowsleuth collect: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* An IPFIX file (RFC 5655) is a plain sequence of IPFIX messages. */
static int run_ipfix_file(FILE *fp, struct collector *col, struct collect_run *run)
{
    static const uint8_t none[16];
    uint8_t *buf = xmalloc(65536);
    while (!stop_requested && fread(buf, 1, 4, fp) == 4) {
        size_t mlen = ((size_t)buf[2] << 8) | buf[3];
        if (buf[0] != 0 || buf[1] != 10 || mlen < 16 ||
            fread(buf + 4, 1, mlen - 4, fp) != mlen - 4) {
            fprintf(stderr, "flowsleuth collect: IPFIX file ends or breaks off early\n");
            free(buf);
            return 1;
        }
        uint64_t t = ((uint64_t)buf[4] << 24) | ((uint64_t)buf[5] << 16) | (buf[6] << 8) | buf[7];
        collect_datagram(col, none, buf, mlen, t * 1000, sink, run);
    }
    free(buf);
    return 0;
}

static int run_file(struct collect_args *a, struct collector *col, struct collect_run *run)
{
    FILE *fp = strcmp(a->file, "-") ? fopen(a->file, "rb") : NULL;
    uint8_t magic[2] = { 0xff, 0xff };
    if (fp && fread(magic, 1, 2, fp) == 2 && magic[0] == 0 && magic[1] == 10) {
        rewind(fp);
        int rc = run_ipfix_file(fp, col, run);
        fclose(fp);
        return rc;
    }
    if (fp)
        fclose(fp);
    return run_pcap(a, col, run);
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
static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

static void sockaddr_to16(const struct sockaddr_storage *ss, uint8_t a[16])
{
    memset(a, 0, 16);
    if (ss->ss_family == AF_INET)
        flow_addr_from_v4(a, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr);
    else if (ss->ss_family == AF_INET6)
        memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static int allowed(const struct collect_args *a, const uint8_t ex[16])
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

/* ---- templates file, expiry, rotation ------------------------------------------------ */

static void templates_load(struct collect_run *run)
{
    FILE *fp = fopen(run->tmpl_path, "rb");
    if (!fp)
        return;
    uint8_t *buf = xmalloc(TMPL_MAXSIZE);
    size_t n = fread(buf, 1, TMPL_MAXSIZE, fp), nt = 0;
    struct fs_err e = { 0 };
    if (ferror(fp) || n == TMPL_MAXSIZE)
        fs_err_set(&e, FS_EINVAL, -1, "cannot read it whole");
    else
        collector_load(run->col, buf, n, &nt, &e);
    fclose(fp);
    free(buf);
    if (e.code)
        fprintf(stderr, "flowsleuth collect: %s: %s; starting without saved templates\n",
                run->tmpl_path, e.msg);
    else
        fprintf(stderr, "flowsleuth collect: %s: %zu templates loaded\n", run->tmpl_path, nt);
}

/* Write STORE/.templates through a temp name: a crash leaves the old file whole. */
static void templates_save(struct collect_run *run)
{
    size_t len, plen = strlen(run->tmpl_path) + 32;
    uint8_t *buf = collector_save(run->col, &len);
    char *tmp = xmalloc(plen);
    snprintf(tmp, plen, "%s.tmp.%ld", run->tmpl_path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    int ok = fp && fwrite(buf, 1, len, fp) == len;
    ok = fp && fclose(fp) == 0 && ok;
    if (!ok || rename(tmp, run->tmpl_path) != 0) {
        /* Once per episode: a full disk met this at every rotation. */
        if (!run->tmpl_failing)
            fprintf(stderr,
                    "flowsleuth collect: %s: cannot save templates: %s (said once; "
                    "failed saves are counted in --status)\n",
                    run->tmpl_path, strerror(errno ? errno : EIO));
        run->tmpl_failing = 1;
        run->tmpl_save_failed++;
        unlink(tmp);
    } else if (run->tmpl_failing) {
        fprintf(stderr, "flowsleuth collect: %s: templates saved again after %llu failed saves\n",
                run->tmpl_path, (unsigned long long)run->tmpl_save_failed);
        run->tmpl_failing = 0;
    }
    free(tmp);
    free(buf);
}

struct expire_ctx {
    int dry_run;
};

static void expire_say(void *ctx, const char *path, uint64_t bytes, const char *why)
{
    const struct expire_ctx *x = ctx;
    fprintf(stderr, "flowsleuth collect: %s %s (%llu bytes, %s)\n",
            x->dry_run ? "would expire" : "expired", path, (unsigned long long)bytes, why);
}

static void expire_run(struct collect_run *run)
{
    const struct collect_args *a = run->a;
    if (!a->expire_age_ms && !a->expire_bytes)
        return;
    struct expire_opts o = { a->expire_age_ms, a->expire_bytes, collect_now_ms(), a->dry_run };
    struct expire_ctx x = { a->dry_run };
    struct expire_stats st;
    struct fs_err e = { 0 };
    if (store_expire(a->wpath, &o, expire_say, &x, &st, &e) != 0)
        fprintf(stderr, "flowsleuth collect: expiry: %s\n", e.msg);
    if (!a->dry_run)
        run->expired += st.removed;
}

/* At start: temp files of writers killed before they finished (kill -9) go; with
 * --expire-dry-run they are only named, as every removal of a dry run. */
static void stale_cleanup(struct collect_run *run)
{
    int dry = run->a->dry_run;
    struct expire_opts o = { 0, 0, collect_now_ms(), dry };
    struct expire_ctx x = { dry };
    struct expire_stats st;
    struct fs_err e = { 0 };
    if (store_expire(run->a->wpath, &o, dry ? expire_say : NULL, &x, &st, &e) != 0)
        fprintf(stderr, "flowsleuth collect: %s\n", e.msg);
    else if (st.stale_tmp && !dry)
        fprintf(stderr,
                "flowsleuth collect: removed %llu unfinished bin files of a collector "
                "that was killed\n",
                (unsigned long long)st.stale_tmp);
}

/* The outcome of closing a writer that held `pending` records. The writer opened since
 * (run->w) is left alone: its own adds and close tell whether writing works. */
static void writer_closed(struct collect_run *run, int rc, const struct fs_err *e, uint64_t pending)
{
    if (rc) {
        run->lost += pending;
        say_failed(run, e);
        return;
    }
    if (run->failing && pending)
        fprintf(stderr, "flowsleuth collect: writing the store works again\n");
    run->failing = 0;
    run->stored += pending;
}

/* The rest of a rotation once its files are closed: count it, log, save the templates,
 * expire (in that order, as a full disk is first met by the bin files). */
static void rotation_done(struct collect_run *run, int log)
{
    run->rotations++;
    if (log)
        collect_print_stats(stderr, run);
    if (run->tmpl_path)
        templates_save(run);
    expire_run(run);
}

static void *closer_main(void *arg)
{
    struct closer *c = arg;
    c->rc = store_writer_close(c->w, &c->e);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Take the outcome of the closing writer: when it is done, or waiting for it (wait). */
static void closer_take(struct collect_run *run, int wait)
{
    struct closer *c = &run->closer;
    if (!c->running || (!wait && !atomic_load(&c->done)))
        return;
    pthread_join(c->th, NULL);
    c->running = 0;
    writer_closed(run, c->rc, &c->e, c->pending);
    rotation_done(run, c->log);
}

/*
 * Close every open bin file (renamed into place), then the housekeeping of a rotation
 * once they are closed: counters to stderr when log is set, STORE/.templates saved,
 * expiry. The close runs on a thread of its own (struct closer) while
 * reception goes on, one at a time: a rotation first waits for the one before.
 */
static void rotate(struct collect_run *run, int log)
{
    closer_take(run, 1);
    struct closer *c = &run->closer;
    if (run->w) {
        c->w = run->w;
        c->pending = run->pending;
        c->log = log;
        atomic_store(&c->done, 0);
        run->w = NULL;
        run->pending = 0;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the receiver */
        c->running = pthread_create(&c->th, NULL, closer_main, c) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!c->running) {
            struct fs_err e;
            int rc = store_writer_close(c->w, &e);
            writer_closed(run, rc, &e, c->pending);
        }
    }
    if (!c->running)
        rotation_done(run, log);
}

/* ---- the live loop ------------------------------------------------------------------- */

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
        sockaddr_to16(&rx->ss[i], ex);
        if (!allowed(run->a, ex))
            collector_refused(run->col, ex);
        else
            collect_datagram_from(run->col, ex, sockaddr_port(&rx->ss[i]), rx->iov[i].iov_base,
                                  rx->m[i].msg_len, now, sink, run);
    }
    return n;
}

/* ---- IPFIX over TCP (RFC 7011 10.4) ------------------------------------------------ */

/* Why a new connection from ex is refused (--allow, MAX_TCP, --tcp-per-source), or NULL. */
static const char *tcp_refusal(struct collect_run *run, struct listener *l, const uint8_t ex[16])
{
    if (!allowed(run->a, ex)) {
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
static void tcp_accept(struct collect_run *run, struct listener *l)
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
        sockaddr_to16(&ss, ex);
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
                                .port = sockaddr_port(&ss),
                                .last_ms = collect_now_ms() };
        memcpy(c->ex, ex, 16);
        l->accepted++;
    }
}

/*
 * Decode the whole messages in c's buffer, keep a partial one. A header that is not
 * IPFIX or a length below the header's 16 bytes cannot be framed: -1 (close).
 */
static int tcp_frames(struct collect_run *run, struct tcp_conn *c)
{
    size_t off = 0;
    while (c->have - off >= 4) {
        const uint8_t *m = c->buf + off;
        size_t mlen = ((size_t)m[2] << 8) | m[3];
        if (m[0] != 0 || m[1] != 10) {
            c->l->not_ipfix++;
            return -1;
        }
        if (mlen < 16) {
            c->l->bad_length++;
            return -1;
        }
        if (c->have - off < mlen)
            break;
        c->l->datagrams++;
        collect_datagram_from(run->col, c->ex, c->port, m, mlen, collect_now_ms(), sink, run);
        off += mlen;
    }
    memmove(c->buf, c->buf + off, c->have - off);
    c->have -= off;
    return 0;
}

/*
 * Read what c's socket holds (at most TCP_BATCH reads, or all when drain is set);
 * -1 when the connection ends or must close: EOF, error, a bad frame.
 */
static int tcp_read(struct collect_run *run, struct tcp_conn *c, int drain)
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
        if (tcp_frames(run, c) != 0)
            return -1;
    }
    return 0;
}

/* Close the connections marked with fd -1 and close the gaps. */
static void tcp_compact(struct collect_run *run)
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
static void tcp_idle_sweep(struct collect_run *run, uint64_t now)
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
        tcp_compact(run);
}

/* Read connection i after poll; close it when it ends. */
static void tcp_serve(struct collect_run *run, int i, int drain)
{
    struct tcp_conn *c = &run->conns[i];
    if (tcp_read(run, c, drain) != 0) {
        close(c->fd);
        c->fd = -1;
    }
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

static uint64_t next_boundary(const struct collect_run *run, uint64_t now)
{
    uint64_t w =
        (uint64_t)(run->a->wo.bin_secs ? run->a->wo.bin_secs : STORE_BIN_SECS_DEFAULT) * 1000;
    return (now / w + 1) * w;
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
            tcp_serve(run, i, 0);
    tcp_compact(run);
    for (int i = 0; i < n; i++) {
        if (!(pfd[i].revents & POLLIN))
            continue;
        if (run->ls[i].tcp)
            tcp_accept(run, &run->ls[i]);
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
        tcp_read(run, c, 1);
        close(c->fd);
        c->fd = -1;
    }
    tcp_compact(run);
}

/* Poll the sockets and the clock until SIGTERM/SIGINT; rotate on time and SIGHUP. */
static int listen_loop(struct collect_run *run, struct rx_batch *rx)
{
    struct pollfd pfd[MAX_LISTEN + 1 + CONTROL_CLIENTS + MAX_TCP];
    int nctl;
    uint64_t boundary = next_boundary(run, collect_now_ms());
    run->nap_us = rx_nap_us(run);
    while (!stop_requested) {
        uint64_t now = collect_now_ms();
        int wait = boundary > now ? (int)(boundary - now < 500 ? boundary - now : 500) : 0;
        if (run->closer.running && wait > 20)
            wait = 20; /* take a finished close soon, also without traffic */
        int np = poll(pfd, poll_set(run, pfd, &nctl), wait);
        if (np < 0 && errno != EINTR)
            return 1;
        now = collect_now_ms();
        if (run->folder && (rotate_requested || now >= boundary)) {
            rotate_requested = 0;
            rotate(run, 1);
            boundary = next_boundary(run, now);
        }
        closer_take(run, 0);
        if (np == 0 && run->ctl.ncl)
            control_serve(&run->ctl, NULL, 0, now); /* drop stalled clients */
        if (np > 0 && serve_polled(run, pfd, nctl, rx) && run->nap_us) {
            struct timespec ts = { 0, (long)run->nap_us * 1000 };
            nanosleep(&ts, NULL); /* a signal cuts it short */
        }
        if (run->nconn)
            tcp_idle_sweep(run, collect_now_ms());
    }
    drain_all(run, rx);
    return 0;
}

/* ---- daemon, pid file, privileges (src/daemon/) ------------------------------------ */

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

static int run_listen(struct collect_run *run)
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

static int is_folder(const char *path)
{
    struct stat st;
    size_t len = strlen(path);
    return strcmp(path, "-") != 0 &&
           ((len && path[len - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)));
}

static int open_sink(struct collect_args *a, struct collect_run *run)
{
    if (a->wpath && is_folder(a->wpath)) {
        /* Created now so a bad path fails at once; bins are opened as flows come. */
        if (store_writer_open(&run->w, a->wpath, &a->wo, &run->err) == 0) {
            run->folder = 1;
            return 0;
        }
    } else if (a->wpath) {
        if (store_writer_open(&run->w, a->wpath, &a->wo, &run->err) == 0)
            return 0;
    } else {
        run->printing = 1;
        if (output_init(&run->out, a->format ? a->format : "table", a->plain, stdout, &run->err) ==
            0)
            return 0;
        fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
        return 2;
    }
    fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
    return 1;
}

/* Close the sink at the end; the exit status. */
static int close_sink(struct collect_run *run)
{
    if (run->printing) {
        output_finish(&run->out);
        return 0;
    }
    if (run->folder) {
        rotate(run, 0);
        closer_take(run, 1);
        if (run->lost)
            fprintf(stderr, "flowsleuth collect: %llu records lost to store write errors\n",
                    (unsigned long long)run->lost);
        return run->lost ? 1 : 0;
    }
    if (store_writer_close(run->w, run->write_err ? NULL : &run->err) != 0 || run->write_err) {
        fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
        return 1;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int cmd_collect(int argc, char **argv)
{
    struct collect_args a = { 0 };
    a.wo.codec = STORE_LZ4;
    int pa = parse_args(&a, argc, argv);
    if (pa < 0)
        return arg_usage_hint("collect", usage_text);
    if (pa) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (a.status)
        return collect_status_client(&a);
    struct collect_run run = { .a = &a, .started_ms = collect_now_ms() };
    int status = open_sink(&a, &run);
    if (status)
        return status;
    stop_requested = rotate_requested = 0;
    install_signals();
    run.col = collector_new(&a.co);
    if (run.folder && a.nlisten) {
        run.tmpl_path = collect_store_file(a.wpath, TMPL_NAME);
        templates_load(&run);
        stale_cleanup(&run);
    }
    status = a.file ? run_file(&a, run.col, &run) : run_listen(&run);
    int cs = close_sink(&run);
    if (a.stats)
        collect_print_stats(stderr, &run);
    status = status ? status : cs;
    collector_free(run.col);
    free(run.tmpl_path);
    return status;
}
