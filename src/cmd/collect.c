/*
 * flowsleuth collect: NetFlow v5/v9, IPFIX and sFlow v5 datagrams into flow records,
 * from UDP sockets (-l) or from a capture file (-f: every UDP datagram that decodes as
 * one of those protocols, on any port; the exporter is the packet's IP source). The
 * decoding is src/io/collect.h; this file only moves bytes and prints.
 */
#include "../io/collect.h"
#include "../core/xalloc.h"
#include "../io/capture.h"
#include "../io/store.h"
#include "../meter/decode.h"
#include "../query/output.h"
#include "cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: flowsleuth collect (-f FILE | -l [ADDR:]PORT ...) [-w PATH] [options]\n"
    "\n"
    "Decode NetFlow v5, NetFlow v9, IPFIX and sFlow v5 into flow records.\n"
    "\n"
    "  -f FILE          read the flow datagrams in a pcap/pcapng capture (every UDP\n"
    "                   datagram on any port; exporter = its IP source address), or an\n"
    "                   IPFIX file (RFC 5655)\n"
    "  -l [ADDR:]PORT   listen on UDP (repeatable; [::]:PORT or ADDR:PORT, IPv4 or\n"
    "                   IPv6; default address 0.0.0.0); SIGINT/SIGTERM stop after the\n"
    "                   datagrams already read and close the store\n"
    "  -w PATH          write flows to a store folder (existing dir or PATH/), a file,\n"
    "                   or -; without -w the flows are printed\n"
    "  -z CODEC         store compression: lz4 (default), zstd[:LEVEL], none\n"
    "  --rotate S       store bin width in seconds (default 300)\n"
    "  -o FORMAT        print format when not writing (see flowsleuth print)\n"
    "  -N               plain numbers when printing\n"
    "  --sampling N     use sampling interval N for every flow instead of the\n"
    "                   exporter's (1 = counters as exported, unscaled)\n"
    "  --max-templates N  template cache size (default 65536; oldest evicted beyond)\n"
    "  --stats          print per-exporter counters to stderr at the end\n"
    "  -h, --help       this help\n";

#define MAX_LISTEN 16

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct collect_args {
    const char *file, *wpath, *format;
    const char *listen[MAX_LISTEN];
    int nlisten, plain, stats;
    struct store_wopts wo;
    struct collect_opts co;
};

struct collect_run {
    struct store_writer *w;
    struct output out;
    int printing, write_err;
    struct fs_err err;
    uint64_t udp, frag, trunc;
};

static int sink(void *vctx, const struct flow *f)
{
    struct collect_run *r = vctx;
    if (r->printing) {
        output_flow(&r->out, f);
        return 0;
    }
    if (!r->write_err && store_writer_add(r->w, f, &r->err) != 0)
        r->write_err = 1;
    return r->write_err;
}

static int parse_u32(const char *arg, uint32_t lo, uint32_t hi, uint32_t *out, const char *name)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi) {
        fprintf(stderr, "flowsleuth collect: %s needs %u..%u, not '%s'\n", name, lo, hi, arg);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
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
    case 'z':
        if (store_codec_parse(arg, &a->wo.codec, &a->wo.level) == 0)
            return 0;
        fprintf(stderr, "flowsleuth collect: unknown codec '%s' (lz4, zstd, none)\n", arg);
        return -1;
    case 1:
        return parse_u32(arg, 60, 86400, &a->wo.bin_secs, "--rotate");
    case 2:
        return parse_u32(arg, 1, 1u << 30, &a->co.sampling, "--sampling");
    case 3:
        return parse_u32(arg, 1, 1u << 24, &a->co.max_templates, "--max-templates");
    case 4:
        a->stats = 1;
        return 0;
    default:
        return -1;
    }
}

/* Returns -1 on a usage error, 1 for --help, 0 to run. */
static int parse_args(struct collect_args *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },         { "rotate", required_argument, NULL, 1 },
        { "sampling", required_argument, NULL, 2 }, { "max-templates", required_argument, NULL, 3 },
        { "stats", no_argument, NULL, 4 },          { NULL, 0, NULL, 0 }
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:l:w:o:Nz:h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (parse_opt(a, c, optarg) != 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "flowsleuth collect: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!a->file == !a->nlisten) {
        fprintf(stderr, "flowsleuth collect: give -f FILE or -l [ADDR:]PORT\n");
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
    int dlt = capture_linktype(cap), rc;
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
        collect_datagram(col, p.src, u, p.payload, cp.ts_us / 1000, sink, run);
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

/* Split "[ADDR]:PORT", "ADDR:PORT" or "PORT" and bind a UDP socket; -1 on error. */
static int open_listener(const char *spec)
{
    char host[256] = "";
    const char *port = spec, *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']') {
            spec++;
            n -= 2;
        }
        if (n >= sizeof(host))
            return -1;
        memcpy(host, spec, n);
        host[n] = '\0';
        port = colon + 1;
    }
    struct addrinfo hints = { 0 }, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    int big = 8 << 20;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void sockaddr_to16(const struct sockaddr_storage *ss, uint8_t a[16])
{
    memset(a, 0, 16);
    if (ss->ss_family == AF_INET)
        flow_addr_from_v4(a, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr);
    else if (ss->ss_family == AF_INET6)
        memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Read every socket until a signal; each readable socket is drained before polling. */
static int run_listen(struct collect_args *a, struct collector *col, struct collect_run *run)
{
    struct pollfd pfd[MAX_LISTEN];
    int rc = 0;
    for (int i = 0; i < a->nlisten; i++) {
        pfd[i].fd = open_listener(a->listen[i]);
        pfd[i].events = POLLIN;
        if (pfd[i].fd < 0) {
            fprintf(stderr, "flowsleuth collect: cannot listen on '%s': %s\n", a->listen[i],
                    strerror(errno ? errno : EINVAL));
            for (int k = 0; k < i; k++)
                close(pfd[k].fd);
            return 1;
        }
    }
    uint8_t *buf = xmalloc(65536);
    while (!stop_requested) {
        if (poll(pfd, (nfds_t)a->nlisten, 500) < 0 && errno != EINTR) {
            rc = 1;
            break;
        }
        for (int i = 0; i < a->nlisten; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            ssize_t n;
            while ((n = recvfrom(pfd[i].fd, buf, 65536, MSG_DONTWAIT, (struct sockaddr *)&ss,
                                 &sl)) >= 0) {
                uint8_t ex[16];
                sockaddr_to16(&ss, ex);
                collect_datagram(col, ex, buf, (size_t)n, now_ms(), sink, run);
                sl = sizeof(ss);
            }
        }
    }
    free(buf);
    for (int i = 0; i < a->nlisten; i++)
        close(pfd[i].fd);
    return rc;
}

static void print_entry(void *ctx, const uint8_t ex[16], uint32_t domain, int version,
                        const struct collect_stats *st)
{
    char addr[INET6_ADDRSTRLEN] = "-";
    (void)ctx;
    if (flow_addr_is_v4mapped(ex))
        inet_ntop(AF_INET, ex + 12, addr, sizeof(addr));
    else
        inet_ntop(AF_INET6, ex, addr, sizeof(addr));
    char ver[8];
    snprintf(ver, sizeof(ver), version == 'S' ? "sflow" : version == 10 ? "ipfix" : "v%d", version);
    fprintf(stderr,
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
            fprintf(stderr, "flowsleuth collect:   malformed %llu: %s\n",
                    (unsigned long long)st->malformed[i],
                    collect_reason_name((enum collect_reason)i));
}

static void print_stats(const struct collector *col, const struct collect_run *run)
{
    struct collect_totals t;
    collector_foreach(col, print_entry, NULL);
    collector_totals(col, &t);
    fprintf(stderr,
            "flowsleuth collect: total flows %llu; templates cached %llu, evicted %llu; "
            "exporters evicted %llu; not flow datagrams %llu\n",
            (unsigned long long)t.sum.records, (unsigned long long)t.templates_cached,
            (unsigned long long)t.templates_evicted, (unsigned long long)t.exporters_evicted,
            (unsigned long long)t.not_flow);
    if (run->udp)
        fprintf(stderr,
                "flowsleuth collect: capture: UDP packets %llu, fragments skipped %llu, "
                "truncated skipped %llu\n",
                (unsigned long long)run->udp, (unsigned long long)run->frag,
                (unsigned long long)run->trunc);
}

static int open_sink(struct collect_args *a, struct collect_run *run)
{
    if (a->wpath) {
        if (store_writer_open(&run->w, a->wpath, &a->wo, &run->err) == 0)
            return 0;
        fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
        return 1;
    }
    run->printing = 1;
    if (output_init(&run->out, a->format ? a->format : "table", a->plain, stdout, &run->err)) {
        fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
        return 2;
    }
    return 0;
}

int cmd_collect(int argc, char **argv)
{
    struct collect_args a = { 0 };
    a.wo.codec = STORE_LZ4;
    int pa = parse_args(&a, argc, argv);
    if (pa) {
        fputs(usage_text, pa > 0 ? stdout : stderr);
        return pa > 0 ? 0 : 2;
    }
    struct collect_run run = { 0 };
    int status = open_sink(&a, &run);
    if (status)
        return status;
    stop_requested = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct collector *col = collector_new(&a.co);
    status = a.file ? run_file(&a, col, &run) : run_listen(&a, col, &run);
    if (a.stats)
        print_stats(col, &run);
    if (run.printing) {
        output_finish(&run.out);
    } else if (store_writer_close(run.w, run.write_err ? NULL : &run.err) != 0 || run.write_err) {
        fprintf(stderr, "flowsleuth collect: %s\n", run.err.msg);
        status = 1;
    }
    collector_free(col);
    return status;
}
