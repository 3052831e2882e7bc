/*
 * flowsleuth collect: the options, and the wiring of the collector daemon
 * (src/collector/: listeners, the loop, the bins and their rotation, the control
 * socket) to the datagram decoder (src/io/collect.h).
 */
#include "../collector/collector.h"
#include "../daemon/log.h"
#include "../store/expire.h"
#include "args.h"
#include "cmd.h"
#include "sink_opt.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "  --tcp-per-source N  IPFIX-over-TCP connections from one address (default 8)\n" SINK_HELP
    "  --stats          print per-exporter counters to stderr at the end\n"
    "  --syslog         log to syslog (facility daemon) instead of stderr; with -l,\n"
    "                   stderr lines are stamped with the time (RFC 3339, UTC)\n"
    "  -D               run as a daemon once the sockets are bound (stdin/stdout to\n"
    "                   /dev/null; stderr stays as given: redirect it to a log)\n"
    "  --pid-file PATH  write the collector's process id to PATH, never through a link\n"
    "                   (as USER after -u: its folder must be writable by USER);\n"
    "                   removed at exit\n"
    "  -u USER          after binding the listeners, switch to USER and its group (root\n"
    "                   only; the store folder must be writable by USER, and the\n"
    "                   folder of --control)\n"
    "  -h, --help       this help\n";

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
    case 17:
        a->syslog = 1;
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
    int so = sink_opt(&a->sink, "collect", c, arg);
    if (so)
        return so < 0 ? -1 : 0;
    switch (c) {
    case 'f':
        a->file = arg;
        return 0;
    case 'l':
        if (a->nlisten == MAX_LISTEN) {
            fprintf(stderr, "flowsleuth collect: at most %d -l\n", MAX_LISTEN);
            return -1;
        }
        if (collect_listen_check(arg) != 0)
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
                                              SINK_LONGOPTS,
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
                                              { "syslog", no_argument, NULL, 17 },
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
    if ((a->daemon || a->pid_file || a->user || a->syslog) && !a->nlisten) {
        fprintf(stderr, "flowsleuth collect: -D, --pid-file, -u and --syslog need -l\n");
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

/* Decode what -f or -l gives into the sink until the end or a stop; the exit status. */
static int run_collect(struct collect_args *ap)
{
    struct collect_args a = *ap;
    struct collect_run run = { .a = &a, .started_ms = collect_now_ms() };
    int status = collect_open_sink(&a, &run), failed;
    if (status)
        return status;
    run.ch = sink_open(&a.sink, "flowsleuth collect", run.folder ? a.wpath : NULL, a.user, &failed);
    if (failed) {
        collect_close_sink(&run, 1);
        return 1;
    }
    collect_stop_requested = collect_rotate_requested = 0;
    collect_install_signals();
    run.col = collector_new(&a.co);
    if (run.folder && a.nlisten) {
        run.tmpl_path = collect_store_file(a.wpath, TMPL_NAME);
        collect_templates_load(&run);
        collect_stale_cleanup(&run);
    }
    status = a.file ? collect_run_file(&a, run.col, &run) : collect_run_listen(&run);
    int cs = collect_close_sink(&run, status != 0);
    if (a.stats)
        collect_print_stats(stderr, &run);
    if (ch_sink_close(run.ch, 5000, a.stats ? stderr : NULL) != 0)
        cs = cs ? cs : 1;
    status = status ? status : cs;
    collector_free(run.col);
    free(run.tmpl_path);
    return status;
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
    /* A listening collector runs for months: its messages are stamped log lines. */
    if (a.nlisten && daemon_log_start("flowsleuth-collect", a.syslog) != 0)
        fprintf(stderr, "flowsleuth collect: no log stream; messages are not stamped\n");
    int status = run_collect(&a);
    daemon_log_stop();
    return status;
}
