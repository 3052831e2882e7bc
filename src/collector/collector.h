/*
 * What collect.c (sockets, the live loop, rotation) and collect_status.c (the control
 * socket, --status and the counters it prints) share: the command's arguments and run
 * state. Private to src/cmd/collect*.c.
 */
#ifndef FS_COLLECT_INT_H
#define FS_COLLECT_INT_H

#include "../daemon/control.h"
#include "../daemon/daemon.h"
#include "../io/collect.h"
#include "../io/store.h"
#include "../query/output.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

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
#define RETRY_MS      1000 /* a failed store writer is reopened at most this often */
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
    int daemon;
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

/*
 * A rotated writer being closed on its own thread: closing fsyncs and renames every bin
 * file, which held the receiving thread long enough for the socket to overflow (three
 * SIGHUPs under 190 k datagrams/s lost up to 20,000 datagrams). The caller sets w,
 * pending and log before the thread starts and reads rc and e after joining it.
 */
struct closer {
    pthread_t th;
    int running;     /* th started and not joined */
    atomic_int done; /* th finished: join it and take the outcome */
    int log;         /* log the counters once the rotation is complete */
    struct store_writer *w;
    uint64_t pending; /* records in w */
    int rc;
    struct fs_err e;
};

struct collect_run {
    const struct collect_args *a;
    struct collector *col;
    struct store_writer *w;
    struct output out;
    int printing, write_err, folder, failing;
    struct fs_err err;
    uint64_t udp, frag, trunc;
    uint64_t pending;          /* records in the open writer */
    struct closer closer;      /* the writer of the last rotation, while it closes */
    uint64_t stored, lost;     /* records in closed bin files / dropped on write errors */
    uint64_t unbinned;         /* records whose arrival time no bin can name (not stored) */
    int tmpl_failing;          /* saving STORE/.templates failed last time (said once) */
    uint64_t tmpl_save_failed; /* failed saves of STORE/.templates */
    uint64_t rotations, retry_ms, started_ms, expired;
    struct listener ls[MAX_LISTEN];
    int nls;
    struct control ctl; /* the control socket (src/daemon/control.h) */
    int nap_us;         /* pause after a round that emptied the UDP queues (rx_nap_us) */
    struct tcp_conn conns[MAX_TCP];
    int nconn;
    struct daemon_pidfile pidf; /* --pid-file, ours to remove */
    char *tmpl_path;
};

/* Wall clock in milliseconds. */
uint64_t collect_now_ms(void);

/* collect_status.c: the kernel's drop counter of a UDP listener (SO_RXQ_OVFL, else
 * /proc), the counters as --status and the rotation log print them, the text a control
 * socket client gets (ctx: the struct collect_run), a file name in the store folder,
 * and `collect --status`. */
uint64_t collect_socket_drops(const struct listener *l);
void collect_print_stats(FILE *out, const struct collect_run *run);
void collect_status_text(void *ctx, FILE *out);
char *collect_store_file(const char *store, const char *name);
int collect_status_client(const struct collect_args *a);

#endif
