/*
 * flowsleuth meter: packets from a capture file or a live interface into flow
 * records, written to a store (-w), exported (-e URL, IPFIX / NetFlow v9 / v5 over
 * UDP), or printed when neither is given.
 */
#include "../meter/meter.h"
#include "../capture/capture.h"
#include "../capture/decode.h"
#include "../codec/export.h"
#include "../core/atomic_file.h"
#include "../core/cid.h"
#include "../core/xalloc.h"
#include "../daemon/control.h"
#include "../daemon/daemon.h"
#include "../daemon/log.h"
#include "../meter/dns_table.h"
#include "../query/output.h"
#include "../store/bins.h"
#include "../store/store.h"
#include "args.h"
#include "cmd.h"
#include "output_target.h"
#include "sink_opt.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: flowsleuth meter (-r FILE | -i IFACE) [-w PATH] [-e URL ...] [options]\n"
    "                        [BPF FILTER]\n"
    "\n"
    "Meter packets into biflow records (forward = initiator to responder).\n"
    "\n"
    "  -r FILE          read a pcap or pcapng file (- = stdin)\n"
    "  -i IFACE         capture live on IFACE (SIGINT/SIGTERM flush every flow and exit;\n"
    "                   with -w STORE/ bins close at their end, and at SIGHUP)\n"
    "  -w PATH          write flows to a store folder (existing dir or PATH/), a file,\n"
    "                   or - (stdout, for a pipe into 'flowsleuth print'); without -w the\n"
    "                   or -e the flows are printed as a table\n"
    "  -e URL           export flows as they expire over UDP (repeatable; with -w too):\n"
    "                   ipfix://HOST:PORT (IPFIX, biflows as RFC 5103, extra fields\n"
    "                   under PEN 32473), nf9://HOST:PORT (NetFlow v9, a biflow as two\n"
    "                   uniflows), nf5://HOST:PORT (NetFlow v5, IPv4 only),\n"
    "                   ipfix+tcp://HOST:PORT (IPFIX over TCP, reconnects with\n"
    "                   backoff, templates at each connect); HOST may be [IPv6]\n"
    "  --rate N         send at most N records per second to each exporter (for slow\n"
    "                   collectors); default: as fast as they are made\n"
    "  --export-size N  largest export message in bytes, 512..65535 (default 1400,\n"
    "                   which fits an Ethernet frame; 8960 for a jumbo-frame path)\n"
    "  --export-fields LIST  also send these fields to ipfix exporters, comma-separated:\n"
    "                   sni (server name), cid (Community ID), as strings under PEN\n"
    "                   32473 in templates 258/259 (nf9 and nf5 exporters ignore it)\n"
    "  --cid-seed N     Community ID seed of the exported (and printed) cid (default 0)\n"
    "  -z CODEC         store compression: lz4 (default), zstd[:LEVEL], none\n"
    "  -b SECONDS       store bin width (default 300)\n"
    "  -o FORMAT        print format when not writing (see flowsleuth print)\n"
    "  -N               plain numbers when printing\n"
    "  -s SNAPLEN       live capture snap length (default 65535)\n"
    "  --idle S         idle timeout in seconds (default 60)\n"
    "  --active S       active timeout: longer flows are cut (default 1800)\n"
    "  --linger S       time after FIN both ways or RST before a flow ends (default 2)\n"
    "  --max-flows N    flows held at once; the least recently used is evicted\n"
    "                   beyond (default 1000000)\n"
    "  --split          cut TCP connections into request/response exchanges: a client\n"
    "                   packet with payload after server payload starts exchange N+1\n"
    "                   (one record per download on a keep-alive connection); pipelined\n"
    "                   responses are cut where the server's writes or bytes (\"HTTP/\")\n"
    "                   show a new one; on HTTP, each exchange's payload and goodput\n"
    "                   are the bytes of the request its response answered\n"
    "  --pdns-out FILE  passive DNS: the A, AAAA and CNAME answers of the DNS responses\n"
    "                   seen (UDP and TCP from port 53) as JSON lines (rrname, rrtype,\n"
    "                   rdata, time_first, time_last, count), written at the end\n" SINK_HELP
    "  --stats          print packets read, decoded, skipped by reason, flows, and per\n"
    "                   exporter messages and records sent and flows left out, to stderr\n"
    "  --status         print the counters of the meter running on the control socket\n"
    "                   (--control PATH, or -w STORE) and exit\n"
    "  --control PATH   control socket of a live meter (default\n"
    "                   STORE/.flowsleuth-meter.sock when -w is a store folder)\n"
    "  -D               live: run as a daemon once the capture is open (needs -w PATH\n"
    "                   or -e; stderr stays as given: redirect it to a log)\n"
    "  --pid-file PATH  live: write the process id to PATH (as USER after -u, so its\n"
    "                   folder must be writable by USER); removed at exit\n"
    "  -u USER          live: after opening the capture, switch to USER and its group\n"
    "                   (root only; the store folder must be writable by USER)\n"
    "  --syslog         live: log to syslog (facility daemon) instead of stderr, whose\n"
    "                   lines are otherwise stamped with the time (RFC 3339, UTC)\n"
    "  -h, --help       this help\n"
    "\n"
    "Trailing arguments form a BPF capture filter, as with tcpdump.\n";

/* The open capture, for the signal handler: capture_stop is async-signal-safe (it sets
 * a volatile sig_atomic_t and calls pcap_breakloop, which pcap_breakloop(3PCAP) says is
 * safe in a signal handler); clang-tidy cannot see into it, hence the NOLINT. */
static struct capture *volatile signal_capture;
static volatile sig_atomic_t rotate_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        rotate_requested = 1; /* poll in capture_next returns EINTR: a tick comes soon */
        return;
    }
    if (signal_capture)
        capture_stop(signal_capture); // NOLINT(bugprone-signal-handler): see above
}

#define MAX_EXPORT 8

struct meter_run {
    struct out_target tgt; /* -w, but not live into a store folder */
    struct exporter *ex[MAX_EXPORT];
    int nex;
    int live;
    uint64_t now_ms; /* the exporters' clock: packet time (file) or wall time (live) */
    struct output out;
    int printing;
    struct fs_err err;
    /* live into a store folder: the bins close on the wall clock, on a thread of their
     * own, as collect's do (collector/bins.h) */
    int folder;
    struct bins bins;
    const char *wpath;
    const struct store_wopts *wo;
    uint64_t started_ms, tick_ms; /* tick_ms: next live_tick due */
    uint64_t written;             /* flows given to the store */
    struct control ctl;
    struct ch_sink *ch; /* --sink */
    struct meter *m;
    struct capture *cap;
    const uint64_t *read;  /* packets read (struct decode_counts) */
    struct dns_table *dns; /* --pdns-out */
};

static void sink(void *vctx, const struct flow *f)
{
    struct meter_run *r = vctx;
    for (int i = 0; i < r->nex; i++)
        exporter_flow(r->ex[i], f, r->now_ms);
    if (r->ch)
        ch_sink_add(r->ch, f);
    if (r->printing) {
        output_flow(&r->out, f);
        return;
    }
    if (r->folder) {
        bins_add(&r->bins, f, f->last);
        r->written++;
    } else if (r->tgt.w && out_target_add(&r->tgt, f) == 0) {
        r->written++;
    }
}

struct meter_args {
    const char *rfile, *iface, *wpath, *format;
    const char *control, *pid_file, *user;
    const char *pdns_out; /* --pdns-out FILE */
    int daemon, status, syslog;
    const char *export[MAX_EXPORT];
    int nexport;
    double rate;
    uint32_t export_size;  /* --export-size, 0 = the encoder's default */
    uint32_t export_extra; /* --export-fields: EXPORT_X_* */
    uint32_t cid_seed;     /* --cid-seed */
    char *bpf;
    int plain, stats, snaplen;
    struct store_wopts wo;
    struct meter_opts mo;
    struct ch_sink_args sink; /* --sink */
};

static int parse_secs(const char *arg, uint64_t *ms, const char *name)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || v < 0 || v > 1e9) {
        fprintf(stderr, "flowsleuth meter: --%s needs seconds, not '%s'\n", name, arg);
        return -1;
    }
    *ms = (uint64_t)(v * 1000.0);
    return 0;
}

static char *join_args(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = xmalloc(n);
    s[0] = '\0';
    size_t at = 0;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (i)
            s[at++] = ' ';
        memcpy(s + at, argv[i], len + 1);
        at += len;
    }
    return s;
}

/* --export-fields sni,cid: the names into EXPORT_X_* bits. */
static int parse_export_fields(const char *arg, uint32_t *bits)
{
    *bits = 0;
    for (const char *p = arg; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "sni", 3) == 0)
            *bits |= EXPORT_X_SNI;
        else if (n == 3 && strncmp(p, "cid", 3) == 0)
            *bits |= EXPORT_X_CID;
        else {
            fprintf(stderr, "flowsleuth meter: --export-fields takes sni and cid, not '%.*s'\n",
                    (int)n, p);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

static int parse_long_opt(struct meter_args *a, int c, const char *arg)
{
    char *end;
    switch (c) {
    case 1:
        return parse_secs(arg, &a->mo.idle_ms, "idle");
    case 2:
        return parse_secs(arg, &a->mo.active_ms, "active");
    case 3:
        return parse_secs(arg, &a->mo.linger_ms, "linger");
    case 4:
        return arg_u32("meter", "--max-flows", arg, 1, 100000000, &a->mo.max_flows);
    case 5:
        a->stats = 1;
        return 0;
    case 6:
        a->mo.split = 1;
        return 0;
    case 7:
        a->rate = strtod(arg, &end);
        if (end == arg || *end || !(a->rate > 0) || a->rate > 1e9) {
            fprintf(stderr, "flowsleuth meter: --rate needs records per second > 0\n");
            return -1;
        }
        return 0;
    case 8:
        return arg_u32("meter", "--export-size", arg, 512, 65535, &a->export_size);
    case 9:
        a->status = 1;
        return 0;
    case 10:
        a->control = arg;
        return 0;
    case 11:
        a->pid_file = arg;
        return 0;
    case 12:
        a->syslog = 1;
        return 0;
    case 13:
        a->pdns_out = arg;
        return 0;
    case 14:
        return parse_export_fields(arg, &a->export_extra);
    case 15:
        return arg_u32("meter", "--cid-seed", arg, 0, 65535, &a->cid_seed);
    case 'D':
        a->daemon = 1;
        return 0;
    case 'u':
        a->user = arg;
        return 0;
    default:
        return sink_opt(&a->sink, "meter", c, arg) > 0 ? 0 : -1;
    }
}

static int usage_err(const char *msg)
{
    fprintf(stderr, "flowsleuth meter: %s\n", msg);
    return -1;
}

/* Whether some -e is IPFIX, the one dialect that carries --export-fields. */
static int has_ipfix_export(const struct meter_args *a)
{
    for (int i = 0; i < a->nexport; i++)
        if (strncmp(a->export[i], "ipfix://", 8) == 0 ||
            strncmp(a->export[i], "ipfix+tcp://", 12) == 0)
            return 1;
    return 0;
}

/* --status, -D, --pid-file, -u, --export-fields: 0 or -1 (a usage error, said). */
static int check_daemon_args(const struct meter_args *a)
{
    if (a->status)
        return a->control || a->wpath ? 0 : usage_err("--status needs --control PATH or -w STORE");
    if ((a->daemon || a->pid_file || a->user || a->syslog) && !a->iface)
        return usage_err("-D, --pid-file, -u and --syslog are for a live meter (-i)");
    if (a->daemon && (!a->wpath || strcmp(a->wpath, "-") == 0) && !a->nexport)
        return usage_err("-D needs -w PATH (not -) or -e: a daemon's stdout is /dev/null");
    if (a->export_extra && !has_ipfix_export(a))
        return usage_err("--export-fields needs an ipfix:// or ipfix+tcp:// -e");
    return 0;
}

/* Returns -1 on a usage error, 1 for --help, 0 to run. */
static int parse_args(struct meter_args *a, int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "idle", required_argument, NULL, 1 },
                                              { "active", required_argument, NULL, 2 },
                                              { "linger", required_argument, NULL, 3 },
                                              { "max-flows", required_argument, NULL, 4 },
                                              { "stats", no_argument, NULL, 5 },
                                              { "split", no_argument, NULL, 6 },
                                              { "rate", required_argument, NULL, 7 },
                                              { "export-size", required_argument, NULL, 8 },
                                              { "status", no_argument, NULL, 9 },
                                              { "control", required_argument, NULL, 10 },
                                              { "pid-file", required_argument, NULL, 11 },
                                              { "syslog", no_argument, NULL, 12 },
                                              { "pdns-out", required_argument, NULL, 13 },
                                              { "export-fields", required_argument, NULL, 14 },
                                              { "cid-seed", required_argument, NULL, 15 },
                                              SINK_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:i:w:e:z:b:o:Ns:hDu:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a->rfile = optarg;
            break;
        case 'i':
            a->iface = optarg;
            break;
        case 'w':
            a->wpath = optarg;
            break;
        case 'e':
            if (a->nexport == MAX_EXPORT) {
                fprintf(stderr, "flowsleuth meter: at most %d -e\n", MAX_EXPORT);
                return -1;
            }
            a->export[a->nexport++] = optarg;
            break;
        case 'z':
            if (out_target_codec("flowsleuth meter", optarg, &a->wo) != 0)
                return -1;
            break;
        case 'b':
            if (arg_u32("meter", "-b", optarg, 1, 86400, &a->wo.bin_secs) != 0)
                return -1;
            break;
        case 'o':
            a->format = optarg;
            break;
        case 'N':
            a->plain = 1;
            break;
        case 's':
            a->snaplen = (int)strtol(optarg, &end, 10);
            if (*end || a->snaplen < 0 || a->snaplen > 262144) {
                fprintf(stderr, "flowsleuth meter: -s needs 0..262144\n");
                return -1;
            }
            break;
        case 'h':
            return 1;
        default:
            if (((c >= 1 && c <= 15) || c == 'D' || c == 'u' || c >= SINK_OPT_URL) &&
                parse_long_opt(a, c, optarg) == 0)
                break;
            return -1;
        }
    }
    if (a->status || check_daemon_args(a) != 0)
        return a->status ? check_daemon_args(a) : -1;
    if (!a->rfile == !a->iface) {
        fprintf(stderr, "flowsleuth meter: give exactly one of -r FILE and -i IFACE\n");
        return -1;
    }
    if (optind < argc)
        a->bpf = join_args(argc - optind, argv + optind);
    return 0;
}

struct decode_counts {
    uint64_t read, counts[DEC_NRESULTS];
};

/* Per exporter: what went out, what could not go (IPv6 in v5, refused messages). */
static void print_export_stats(const struct meter_run *run)
{
    for (int i = 0; i < run->nex; i++) {
        struct export_stats st;
        exporter_stats(run->ex[i], &st);
        fprintf(stderr,
                "flowsleuth meter: export %s: flows %llu, records sent %llu, messages %llu "
                "(%llu bytes, %llu template records), left out %llu, send errors %llu "
                "(%llu records), connections %llu\n",
                exporter_url(run->ex[i]), (unsigned long long)st.flows,
                (unsigned long long)st.records, (unsigned long long)st.messages,
                (unsigned long long)st.bytes, (unsigned long long)st.templates,
                (unsigned long long)st.left_out, (unsigned long long)st.send_errors,
                (unsigned long long)st.lost, (unsigned long long)st.connects);
    }
}

static void print_stats(const struct decode_counts *dc, struct meter *m, struct capture *cap)
{
    struct meter_stats st;
    meter_get_stats(m, &st);
    fprintf(stderr, "flowsleuth meter: packets read %llu, metered %llu\n",
            (unsigned long long)dc->read, (unsigned long long)dc->counts[DEC_OK]);
    for (int i = 1; i < DEC_NRESULTS; i++)
        if (dc->counts[i])
            fprintf(stderr, "flowsleuth meter:   skipped %llu: %s\n",
                    (unsigned long long)dc->counts[i], decode_result_name((enum decode_result)i));
    fprintf(stderr,
            "flowsleuth meter: flows %llu (idle %llu, active timeout %llu, closed %llu, "
            "port reuse %llu, evicted %llu, end of input %llu, exchange cuts %llu); "
            "most at once %llu\n",
            (unsigned long long)st.flows_out, (unsigned long long)st.exp_idle,
            (unsigned long long)st.exp_active, (unsigned long long)st.exp_closed,
            (unsigned long long)st.exp_reused, (unsigned long long)st.exp_evicted,
            (unsigned long long)st.exp_flush, (unsigned long long)st.exchanges,
            (unsigned long long)st.active_peak);
    uint64_t recv, drop;
    if (capture_drops(cap, &recv, &drop) == 0 && recv)
        fprintf(stderr, "flowsleuth meter: kernel received %llu, dropped %llu\n",
                (unsigned long long)recv, (unsigned long long)drop);
}

static uint64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/*
 * Advance the exporters' clock to a packet (file: its time; live: the wall clock).
 * The first packet (packets == 1; live: the start of the capture) is the exporters'
 * start (sysUptime 0): no flow begins before it.
 */
static void clock_packet(struct meter_run *run, uint64_t ts_us, uint64_t packets)
{
    uint64_t ms = run->live ? wall_us() / 1000 : ts_us / 1000;
    if (packets == 1)
        for (int i = 0; i < run->nex; i++)
            exporter_start(run->ex[i], ms);
    if (ms > run->now_ms)
        run->now_ms = ms;
}

/* Live timer: expire due flows, send exports that have waited a second, close bins
 * at their end of the wall clock, answer the control socket. */
static void live_tick(struct meter_run *run, struct meter *m, uint64_t expire_us)
{
    uint64_t us = wall_us();
    if (us / 1000 > run->now_ms)
        run->now_ms = us / 1000;
    run->tick_ms = us / 1000 + 200;
    meter_expire(m, expire_us);
    for (int i = 0; i < run->nex; i++)
        exporter_tick(run->ex[i]);
    /* A bin is readable about when it ends, not when the writer's fourth newer bin
     * pushes it out; a flow that expires later into a closed bin goes to NAME.1. */
    if (run->folder && (rotate_requested || bins_due(&run->bins))) {
        rotate_requested = 0;
        bins_rotate(&run->bins, 0);
    }
    if (run->folder)
        bins_poll(&run->bins, 0);
    control_serve(&run->ctl, NULL, 0, us / 1000);
}

/*
 * A mapped capture file (capture_keeps): packets are decoded ahead of the one
 * metered, so that the flow table's memory each needs is fetched while the packets
 * before it are metered: its bucket as it is decoded, the bucket's first flow
 * (which reads the bucket) two packets later, and it is metered one packet after
 * that. Shallower pipelines measured slower (docs/internals/capture.md). Each packet
 * is metered as run_loop meters it, in the same order.
 */
#define AHEAD_RING 4 /* a power of two above the packets waiting */
#define AHEAD_WAIT 3 /* packets decoded before the oldest is metered */
#define AHEAD_FLOW 2 /* packets between a bucket's prefetch and its flow's */

struct ahead {
    struct pkt p;
    uint32_t hash;
    uint64_t nr; /* its number among the decoded packets (clock_packet) */
};

static void meter_ahead_one(struct meter_run *run, struct meter *m, const struct ahead *a)
{
    clock_packet(run, a->p.ts_us, a->nr);
    meter_packet_hash(m, &a->p, a->hash);
    if (run->dns)
        dns_observe(run->dns, &a->p);
}

static int run_loop_ahead(struct capture *cap, struct meter *m, struct decode_counts *dc,
                          struct meter_run *run)
{
    int dlt = capture_linktype(cap), rc;
    struct ahead q[AHEAD_RING];
    unsigned head = 0, n = 0; /* n packets wait, the oldest at q[head] */
    struct capture_pkt cp;
    struct fs_err err = { 0 };
    while ((rc = capture_next(cap, &cp, &err)) == CAPTURE_PACKET) {
        dc->read++;
        struct ahead *a = &q[(head + n) % AHEAD_RING];
        enum decode_result dr = decode_packet(dlt, cp.data, cp.caplen, cp.wirelen, &a->p);
        dc->counts[dr]++;
        if (dr != DEC_OK)
            continue;
        a->p.ts_us = cp.ts_us;
        a->nr = dc->counts[DEC_OK];
        a->hash = meter_hash(&a->p);
        meter_prefetch(m, a->hash, 0);
        if (++n > AHEAD_FLOW)
            meter_prefetch(m, q[(head + n - 1 - AHEAD_FLOW) % AHEAD_RING].hash, 1);
        if (n > AHEAD_WAIT) {
            meter_ahead_one(run, m, &q[head]);
            head = (head + 1) % AHEAD_RING;
            n--;
        }
    }
    for (; n; n--, head = (head + 1) % AHEAD_RING)
        meter_ahead_one(run, m, &q[head]);
    if (rc < 0) {
        fprintf(stderr, "flowsleuth meter: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* The packet loop; returns 0 or 1 (a capture error). */
static int run_loop(struct capture *cap, struct meter *m, struct decode_counts *dc,
                    struct meter_run *run)
{
    int dlt = capture_linktype(cap), rc;
    struct capture_pkt cp;
    struct pkt p;
    struct fs_err err = { 0 };
    if (!run->live && capture_keeps(cap) >= AHEAD_WAIT)
        return run_loop_ahead(cap, m, dc, run);
    for (;;) {
        /* A signal stops the capture (capture_stop); it ends after the buffered packets. */
        rc = capture_next(cap, &cp, &err);
        if (rc == CAPTURE_END)
            break;
        if (rc == CAPTURE_TIMEOUT) { /* nothing waits: the wall clock is the flows' clock */
            live_tick(run, m, wall_us());
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "flowsleuth meter: %s\n", err.msg);
            return 1;
        }
        dc->read++;
        enum decode_result dr = decode_packet(dlt, cp.data, cp.caplen, cp.wirelen, &p);
        dc->counts[dr]++;
        if (dr != DEC_OK)
            continue;
        p.ts_us = cp.ts_us;
        clock_packet(run, cp.ts_us, dc->counts[DEC_OK]);
        meter_packet(m, &p);
        if (run->dns)
            dns_observe(run->dns, &p);
        /* Also under a trickle of packets, which never lets the capture time out. Flows
         * expire by the packets' time here, not the wall clock's: a meter that lags
         * behind its capture buffer (a slow disk, a loaded machine) would otherwise
         * cut a flow whose next packet is already waiting in the buffer. */
        if (run->live && ((dc->read & 1023) == 0 || run->now_ms >= run->tick_ms))
            live_tick(run, m, cp.ts_us);
    }
    return 0;
}

/* What a control socket client receives (meter --status). */
static void status_text(void *ctx, FILE *out)
{
    const struct meter_run *run = ctx;
    uint64_t recv = 0, drop = 0;
    capture_drops(run->cap, &recv, &drop);
    uint64_t now = wall_us() / 1000;
    fprintf(out, "flowsleuth meter: pid %ld, up %llu s, bin %u s\n", (long)getpid(),
            (unsigned long long)((now - run->started_ms) / 1000),
            run->wo->bin_secs ? run->wo->bin_secs : STORE_BIN_SECS_DEFAULT);
    fprintf(out,
            "flowsleuth meter: packets read %llu, kernel received %llu, dropped %llu; flows in "
            "table %u, flows written %llu, bins closed %llu%s\n",
            (unsigned long long)*run->read, (unsigned long long)recv, (unsigned long long)drop,
            meter_active(run->m), (unsigned long long)run->written,
            (unsigned long long)run->bins.rotations, run->tgt.failed ? " (writing failed)" : "");
    if (run->folder)
        fprintf(out,
                "flowsleuth meter: store %s: records stored %llu, in open bins %llu, lost to "
                "write errors %llu%s\n",
                run->wpath, (unsigned long long)run->bins.stored,
                (unsigned long long)bins_open_records(&run->bins),
                (unsigned long long)run->bins.lost,
                run->bins.failing ? " (writing fails now)" : "");
    ch_sink_print_stats(out, run->ch);
}

/* meter --status: connect, copy what the meter writes to stdout. */
static int status_client(const struct meter_args *a)
{
    size_t len = a->control ? 0 : strlen(a->wpath) + sizeof("/.flowsleuth-meter.sock");
    char *path = a->control ? xstrdup(a->control) : xmalloc(len);
    if (!a->control)
        snprintf(path, len, "%s/.flowsleuth-meter.sock", a->wpath);
    struct fs_err e = { 0 };
    int rc = control_client(path, "meter", stdout, &e);
    if (rc)
        fprintf(stderr, "flowsleuth meter: %s\n", e.msg);
    free(path);
    return rc ? 1 : 0;
}

/*
 * Live, once the capture is open: -D, -u, --pid-file (daemon.h says why in this
 * order); 0 or an exit status. With -D the parent exits here once the child is ready
 * or failed (*ready: the pipe, for daemon_ready once the sinks are open).
 */
static int go_background(const struct meter_args *a, struct daemon_pidfile *pf, int *ready)
{
    struct fs_err e = { 0 };
    int rc = 0;
    *ready = -1;
    if (a->daemon) {
        rc = daemon_fork(ready, &e);
        if (rc > 0)
            _exit(rc == 1 ? 0 : 1);
    }
    if (rc == 0 && a->user)
        rc = daemon_drop(a->user, &e);
    if (rc == 0 && a->pid_file)
        rc = daemon_pidfile_write(pf, a->pid_file, &e);
    if (rc) {
        fprintf(stderr, "flowsleuth meter: %s\n", e.msg);
        daemon_ready(*ready, 0);
        *ready = -1;
        return 1;
    }
    return 0;
}

/* The control socket of a live meter: --control, or in the store folder. */
static int open_control(const struct meter_args *a, struct meter_run *run)
{
    char *def = NULL;
    const char *path = a->control;
    if (!path && run->folder) {
        size_t len = strlen(a->wpath) + sizeof("/.flowsleuth-meter.sock");
        def = xmalloc(len);
        snprintf(def, len, "%s/.flowsleuth-meter.sock", a->wpath);
        path = def;
    }
    struct fs_err e = { 0 };
    int rc = path ? control_open(&run->ctl, path, &e) : 0;
    if (rc)
        fprintf(stderr, "flowsleuth meter: %s\n", e.msg);
    free(def);
    return rc ? 1 : 0;
}

static int open_capture(struct meter_args *a, struct capture **cap)
{
    struct fs_err err = { 0 };
    int rc = a->rfile ? capture_open_file(cap, a->rfile, a->bpf, &err)
                      : capture_open_live(cap, a->iface, a->bpf, a->snaplen, &err);
    if (rc != 0) {
        fprintf(stderr, "flowsleuth meter: %s\n", err.msg);
        return 1;
    }
    int dlt = capture_linktype(*cap);
    if (!decode_linktype_supported(dlt))
        fprintf(stderr,
                "flowsleuth meter: warning: link type %d is not supported; "
                "every packet will be skipped\n",
                dlt);
    return 0;
}

/* Open every -e exporter; on an error close those already open. */
static int open_exporters(struct meter_args *a, struct meter_run *run)
{
    struct exporter_opts eo = { 0 };
    eo.rate = a->rate;
    eo.enc.max_msg = a->export_size;
    eo.enc.extra = a->export_extra;
    eo.enc.cid_seed = (uint16_t)a->cid_seed;
    for (int i = 0; i < a->nexport; i++) {
        if (exporter_open(&run->ex[run->nex], a->export[i], &eo, &run -> err) != 0) {
            fprintf(stderr, "flowsleuth meter: %s\n", run->err.msg);
            return 1;
        }
        run->nex++;
    }
    return 0;
}

static void close_exporters(struct meter_run *run)
{
    for (int i = 0; i < run->nex; i++)
        exporter_close(run->ex[i]);
    run->nex = 0;
}

static int open_sink(struct meter_args *a, struct meter_run *run)
{
    if (open_exporters(a, run) != 0)
        return 1;
    if (a->wpath && a->iface && out_target_is_folder(a->wpath)) {
        struct bins_clock wall = { bins_wall_ms, NULL };
        bins_init(&run->bins, "flowsleuth meter", a->wpath, &a->wo, wall, NULL, NULL);
        run->folder = 1;
        if (bins_open(&run->bins, &run->err) != 0) {
            fprintf(stderr, "flowsleuth meter: %s\n", run->err.msg);
            return 1;
        }
        return 0;
    }
    if (a->wpath)
        return out_target_open(&run->tgt, "flowsleuth meter", a->wpath, &a->wo);
    if (run->nex)
        return 0; /* only -e: nothing is printed */
    run->printing = 1;
    if (output_init(&run->out, a->format ? a->format : "table", a->plain, stdout, &run->err)) {
        fprintf(stderr, "flowsleuth meter: %s\n", run->err.msg);
        return 2;
    }
    return 0;
}

/* --pdns-out: the passive DNS table, replaced whole; --stats: what it took. */
static int write_pdns(const struct meter_args *a, struct meter_run *run)
{
    struct dns_table_stats st;
    dns_table_get_stats(run->dns, &st);
    if (a->stats) {
        fprintf(stderr,
                "flowsleuth meter: dns messages %llu, responses taken %llu, answers %llu, "
                "records %llu, tcp streams given up at a gap %llu\n",
                (unsigned long long)st.messages, (unsigned long long)st.responses,
                (unsigned long long)st.answers, (unsigned long long)st.records,
                (unsigned long long)st.tcp_gaps);
        for (int i = DNS_OPCODE; i < DNS_NRESULTS; i++)
            if (st.bad[i])
                fprintf(stderr, "flowsleuth meter:   dns skipped %llu: %s\n",
                        (unsigned long long)st.bad[i], dns_result_name((enum dns_result)i));
    }
    struct atomic_file af;
    struct fs_err err = { 0 };
    if (atomic_file_open(&af, a->pdns_out, &err) != 0) {
        fprintf(stderr, "flowsleuth meter: --pdns-out: %s\n", err.msg);
        return -1;
    }
    if (dns_table_write(run->dns, af.fp) != 0) {
        fprintf(stderr, "flowsleuth meter: --pdns-out %s: write failed\n", a->pdns_out);
        atomic_file_abort(&af);
        return -1;
    }
    if (atomic_file_commit(&af, &err) != 0) {
        fprintf(stderr, "flowsleuth meter: --pdns-out: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* After the loop: flush, stats, close every sink; the exit status. */
static int finish(struct meter_args *a, struct meter_run *run, struct decode_counts *dc,
                  struct meter *m, struct capture *cap, int status)
{
    if (run->live)
        clock_packet(run, 0, 2);
    meter_flush(m);
    /* Send what is pending before the stats, so they count every message. */
    for (int i = 0; i < run->nex; i++)
        exporter_flush(run->ex[i]);
    if (a->stats) {
        print_stats(dc, m, cap);
        print_export_stats(run);
    }
    close_exporters(run);
    if (ch_sink_close(run->ch, 5000, a->stats ? stderr : NULL) != 0)
        status = 1;
    if (run->dns && write_pdns(a, run) != 0)
        status = 1;
    if (run->printing) {
        output_finish(&run->out);
        if (output_check(&run->out, "stdout", &run->err) != 0) {
            fprintf(stderr, "flowsleuth meter: %s\n", run->err.msg);
            status = 1;
        }
    } else if (run->folder) {
        bins_finish(&run->bins);
        if (run->bins.lost) {
            fprintf(stderr, "flowsleuth meter: %llu flows lost to store write errors\n",
                    (unsigned long long)run->bins.lost);
            status = 1;
        }
    } else if (out_target_close(&run->tgt) != 0) {
        status = 1;
    }
    return status;
}

/* Open the capture (as root), detach and drop (live), then the sinks and the control
 * socket as USER; 0 or an exit status. */
static int start(struct meter_args *a, struct meter_run *run, struct capture **cap,
                 struct daemon_pidfile *pf)
{
    int ready = -1;
    int status = open_capture(a, cap);
    if (status == 0 && a->iface)
        status = go_background(a, pf, &ready);
    if (status == 0)
        status = open_sink(a, run);
    if (status == 0 && a->sink.url) {
        int failed;
        const char *store = a->wpath && out_target_is_folder(a->wpath) ? a->wpath : NULL;
        run->ch = sink_open(&a->sink, "flowsleuth meter", store, NULL, &failed);
        status = failed;
    }
    if (status == 0 && a->iface)
        status = open_control(a, run);
    daemon_ready(ready, status == 0);
    return status;
}

/* Capture, meter and write until the end of the input or a stop; the exit status. */
static int run_meter(struct meter_args *ap)
{
    struct meter_args a = *ap;
    struct meter_run run = { 0 };
    struct decode_counts dc = { 0 };
    struct daemon_pidfile pf = { .dirfd = -1 };
    struct capture *cap = NULL;
    run.wpath = a.wpath;
    run.wo = &a.wo;
    run.read = &dc.read;
    run.started_ms = wall_us() / 1000;
    control_init(&run.ctl, "meter", status_text, &run);
    rotate_requested = 0;
    int status = start(&a, &run, &cap, &pf);
    if (status) {
        free(a.bpf);
        out_target_close(&run.tgt);
        if (run.folder)
            bins_finish(&run.bins);
        close_exporters(&run);
        ch_sink_close(run.ch, 0, NULL);
        control_close(&run.ctl);
        daemon_pidfile_remove(&pf);
        capture_close(cap);
        return status;
    }
    run.live = a.iface != NULL;
    if (run.live)
        clock_packet(&run, 0, 1);
    signal_capture = cap;
    daemon_signals(on_signal);
    struct meter *m = meter_new(&a.mo, sink, &run);
    run.m = m;
    run.dns = a.pdns_out ? dns_table_new() : NULL;
    run.cap = cap;
    status = run_loop(cap, m, &dc, &run);
    if (run.live)
        daemon_stopping();
    status = finish(&a, &run, &dc, m, cap, status);
    control_close(&run.ctl);
    if (daemon_pidfile_remove(&pf) != 0)
        fprintf(stderr, "flowsleuth meter: --pid-file %s: %s\n", a.pid_file, strerror(errno));
    meter_free(m);
    dns_table_free(run.dns);
    signal_capture = NULL;
    capture_close(cap);
    free(a.bpf);
    return status;
}

int cmd_meter(int argc, char **argv)
{
    struct meter_args a = { 0 };
    meter_opts_default(&a.mo);
    a.wo.codec = STORE_LZ4;
    int pa = parse_args(&a, argc, argv);
    if (pa < 0)
        return arg_usage_hint("meter", usage_text);
    if (pa) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (a.status)
        return status_client(&a);
    cid_set_seed((uint16_t)a.cid_seed); /* a printed cid is the one exported */
    /* A live meter runs for months: its messages are stamped log lines. */
    if (a.iface && daemon_log_start("flowsleuth-meter", a.syslog) != 0)
        fprintf(stderr, "flowsleuth meter: no log stream; messages are not stamped\n");
    int status = run_meter(&a);
    daemon_log_stop();
    return status;
}
