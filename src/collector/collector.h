/*
 * The collector daemon (flowsleuth collect): what its files share.
 *
 *   listen.c   UDP and TCP listeners, the poll loop, signals, -D/-u/--pid-file, drain
 *   tcp.c      IPFIX-over-TCP connections (framing: tcp_frame.c, a pure function)
 *   file.c     the datagrams of a capture file or an IPFIX file (-f)
 *   sink.c     where decoded records go: printed, a file, or a store folder's bins
 *              (bins.c: rotation on an injected clock), the templates file, expiry
 *   status.c   the counters: --status over the control socket, the rotation log
 *
 * The decoding of datagrams (NetFlow v5/v9, IPFIX, sFlow, templates) is
 * src/io/collect.h; the options are src/cmd/collect.c.
 *
 * Live loop (-l):
 *   poll(UDP sockets, TCP connections, control socket, clock)
 *     UDP readable      -> recvmmsg, RX_BATCH datagrams a call (kernel drops: SO_MEMINFO,
 *                          or an SO_RXQ_OVFL cmsg where that is missing) -> --allow check
 *                          -> collect_datagram -> collect_store_flow -> bins -> store writer
 *     control readable  -> the counters, written as the client reads (never blocks)
 *     clock at a bin boundary, or SIGHUP -> bins_rotate: the writer closes on a thread
 *                          of its own while reception goes on; once it is closed, log
 *                          the counters, save STORE/.templates, expire
 *   SIGTERM/SIGINT -> a drop-all socket filter stops new datagrams, what is queued is
 *                     read and stored, then the final rotation
 */
#ifndef FS_COLLECTOR_H
#define FS_COLLECTOR_H

#include "../clickhouse/ch.h"
#include "../codec/datagram.h"
#include "../daemon/control.h"
#include "../daemon/daemon.h"
#include "../query/output.h"
#include "../store/bins.h"
#include "../store/store.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define MAX_LISTEN    16
#define MAX_TCP       64    /* IPFIX-over-TCP connections at once; more are refused */
#define TCP_IDLE_S    300   /* --tcp-idle default: a connection silent this long closes */
#define TCP_PER_SRC   8     /* --tcp-per-source default: connections of one address */
#define REFUSE_LOG_MS 10000 /* a refused connection is logged at most this often */
#define TCP_MSG_MAX   65536 /* an IPFIX message is at most 65535 bytes */
#define TCP_BATCH     64    /* reads from one connection before polling again */
#define MAX_ALLOW     64
#define DRAIN_BATCH   4096 /* datagrams read from one socket before polling again */
#define RX_BATCH      32   /* datagrams one recvmmsg takes: a syscall each was a tenth */
#define RX_DGRAM_MAX  65536
#define RX_NAP_MAX_US 1000 /* longest pause after the queues ran dry (see rx_nap_us) */
#define CTL_NAME      ".flowsleuth-collect.sock"
#define TMPL_NAME     ".templates"
#define TMPL_MAXSIZE  (256u << 20)

struct allow {
    uint8_t addr[16];
    int bits; /* prefix length over the 16 bytes (IPv4: 96 + LEN) */
};

struct collect_args {
    const char *file, *wpath, *format, *control;
    const char *pid_file, *user;
    int daemon, syslog;
    const char *listen[MAX_LISTEN];
    int nlisten, plain, stats, status, dry_run;
    struct allow allow[MAX_ALLOW];
    int nallow;
    uint64_t expire_age_ms, expire_bytes;
    struct store_wopts wo;
    struct collect_opts co;
    int bin_received;        /* --bin-by received: bin = the datagram's arrival */
    uint32_t tcp_idle_s;     /* --tcp-idle (0 = TCP_IDLE_S) */
    uint32_t tcp_per_source; /* --tcp-per-source (0 = TCP_PER_SRC) */
    /* --sink clickhouse://... and its options */
    struct ch_sink_args sink;
};

struct listener {
    int fd;
    int tcp; /* -l tcp:...: a listening TCP socket for IPFIX (RFC 7011 10.4) */
    const char *name;
    uint64_t datagrams, drops; /* drops: the kernel's SO_RXQ_OVFL counter */
    /* TCP: connections accepted / refused (--allow, too many), closed on a bad length
     * or a version other than 10, cut off inside a message; messages are datagrams. */
    uint64_t accepted, refused, bad_length, not_ipfix, cut_off;
    /* TCP: refusals by cause (in refused), connections closed for being idle */
    uint64_t refused_full, refused_source, refused_allow, idle_closed;
    uint64_t refuse_logged_ms, refused_unlogged; /* rate limit of the refusal log */
    int rcvbuf; /* UDP: the receive buffer the kernel gave, bytes */
};

/* One IPFIX-over-TCP connection: bytes of the message being read, its exporter. */
struct tcp_conn {
    int fd;
    struct listener *l;
    uint8_t ex[16];
    uint8_t *buf; /* TCP_MSG_MAX bytes */
    size_t have;
    uint16_t port;    /* the exporter's source port: its templates' session */
    uint64_t last_ms; /* when it last sent bytes (--tcp-idle) */
};

struct collect_run {
    const struct collect_args *a;
    struct collector *col;
    struct store_writer *w; /* -w FILE or - (a store folder writes through bins) */
    struct bins bins;       /* -w STORE/: the open bins, rotation */
    struct output out;
    int printing, write_err, folder;
    struct fs_err err;
    uint64_t udp, frag, trunc;
    uint64_t pending;          /* records in w */
    int tmpl_failing;          /* saving STORE/.templates failed last time (said once) */
    uint64_t tmpl_save_failed; /* failed saves of STORE/.templates */
    uint64_t started_ms, expired;
    struct listener ls[MAX_LISTEN];
    int nls;
    struct control ctl; /* the control socket (src/daemon/control.h) */
    int nap_us;         /* pause after a round that emptied the UDP queues (rx_nap_us) */
    struct tcp_conn conns[MAX_TCP];
    int nconn;
    struct daemon_pidfile pidf; /* --pid-file, ours to remove */
    char *tmpl_path;
    struct ch_sink *ch; /* --sink: every decoded flow also goes there */
};

/* Wall clock in milliseconds. */
uint64_t collect_now_ms(void);

/* listen.c: set by SIGTERM/SIGINT and SIGHUP; the handlers for them. */
extern volatile sig_atomic_t collect_stop_requested, collect_rotate_requested;
void collect_install_signals(void);
/* A -l value: 0, or -1 after saying what is wrong with it. */
int collect_listen_check(const char *spec);
/* Bind the listeners, go to the background as asked, run the loop until a stop. */
int collect_run_listen(struct collect_run *run);
/* The sender of a datagram or connection as a 16-byte address, and its port. */
void collect_addr16(const struct sockaddr_storage *ss, uint8_t a[16]);
uint16_t collect_addr_port(const struct sockaddr_storage *ss);
/* --allow: 1 when ex may send. */
int collect_allowed(const struct collect_args *a, const uint8_t ex[16]);

/* tcp.c: IPFIX-over-TCP connections: accept on a listener, read one after poll (drain:
 * everything it holds), close the idle ones, drop the closed ones from run->conns. */
void collect_tcp_accept(struct collect_run *run, struct listener *l);
int collect_tcp_read(struct collect_run *run, struct tcp_conn *c, int drain);
void collect_tcp_serve(struct collect_run *run, int i, int drain);
void collect_tcp_idle_sweep(struct collect_run *run, uint64_t now);
void collect_tcp_compact(struct collect_run *run);

/* file.c: every datagram of -f FILE (pcap/pcapng or an IPFIX file): 0 or an exit status. */
int collect_run_file(struct collect_args *a, struct collector *col, struct collect_run *run);

/* sink.c: where each decoded record goes (collect_datagram's callback); opening it
 * (exit status on failure) and closing it (the exit status); the templates file and
 * the start-up cleanup of a store folder. */
int collect_store_flow(void *vctx, const struct flow *f);
int collect_open_sink(struct collect_args *a, struct collect_run *run);
int collect_close_sink(struct collect_run *run, int failed);
void collect_templates_load(struct collect_run *run);
void collect_stale_cleanup(struct collect_run *run);

/* status.c: the kernel's drop counter of a UDP listener (SO_RXQ_OVFL, else
 * /proc), the counters as --status and the rotation log print them, the text a control
 * socket client receives (ctx: the struct collect_run), a file name in the store folder,
 * and `collect --status`. */
uint64_t collect_socket_drops(const struct listener *l);
void collect_print_stats(FILE *out, const struct collect_run *run);
void collect_status_text(void *ctx, FILE *out);
char *collect_store_file(const char *store, const char *name);
int collect_status_client(const struct collect_args *a);

#endif
