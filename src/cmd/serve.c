/*
 * flowsleuth serve: the web console. libmicrohttpd answers, one thread a connection;
 * the page (src/web/) and a read-only JSON API over the stores (web_engine.c). Every
 * API request is bounded in time and memory, and at most --jobs of them read at once
 * (the others wait their turn), so one request cannot take the server down.
 */
#include "../core/units.h"
#include "../query/filter.h"
#include "../web/web.h"
#include "args.h"
#include "cmd.h"
#include "detect_args.h"
#include "input.h"
#include "web_cache.h"
#include "web_engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define PROG "flowsleuth serve"

static const char usage_text[] =
    "usage: flowsleuth serve -r STORE [-r ...] [--listen ADDR:PORT] [--token FILE]\n"
    "                        [--internal NET ...] [--authorised FILE.csv] [--max-time SECONDS]\n"
    "                        [--max-mem SIZE] [--jobs N] [--cache-mem SIZE] [-c CAT]\n"
    "                        [-b PROFILE]\n"
    "\n"
    "The web console: a page with the charts and tables of flowsleuth report, fed by a\n"
    "read-only JSON API over the stores: /api/series (count), /api/top (stats -s),\n"
    "/api/flows (print, paged), /api/hosts (with -c their software), /api/services,\n"
    "/api/alerts (scan's and spam's findings, with their evidence); each takes t (a\n"
    "-t window), filter (the filter language), and bin, prev, k, key, n, offset, limit\n"
    "where they apply; /api/alerts also the detectors' options as scan and spam take\n"
    "them: scan_count, scan_count_internal, scan_window, spam_count, spam_window,\n"
    "spam_ports. A bad filter answers 400 with the message and caret the CLI prints.\n"
    "\n"
    "  -r PATH            a store folder or flowsleuth file (repeatable)\n"
    "  --listen ADDR:PORT where to listen (default 127.0.0.1:8750; [::1]:PORT for IPv6;\n"
    "                     port 0: any free port, printed at start)\n"
    "  --token FILE       require 'Authorization: Bearer TOKEN' on /api/ (the token is\n"
    "                     FILE's first line); needed to listen on any address but loopback\n"
    "  --internal NET     hosts and services: only addresses inside NET; alerts:\n"
    "                     scan's and spam's --internal (repeatable)\n"
    "  --authorised F     services: the authorised inventory (server,proto,port CSV)\n"
    "  -c CAT             hosts: the software each host's downloads reveal, named from\n"
    "                     the catalogue (as flowsleuth hosts -c), versions with a newer\n"
    "                     one in the catalogue marked outdated (inventory's newest)\n"
    "  -b, --baseline PROFILE\n"
    "                     series: the band flowsleuth anomaly -b PROFILE judges by, for\n"
    "                     bins of the profile's width (the page's default bin) and its\n"
    "                     filter; a profile learned --by all (the whole network); the\n"
    "                     API's k is anomaly's -k (default 4)\n"
    "  --max-time SECONDS wall time of one request (default 10): past it, 503\n"
    "  --max-mem SIZE     memory of one request's tables (default 256Mi): past it, 503\n"
    "  --jobs N           requests reading the stores at once (default 4); others wait\n"
    "  --cache-mem SIZE   answers kept for the same request while the stores do not\n"
    "                     change (default 64Mi; 0: none)\n"
    "  -h, --help         this help\n"
    "\n"
    "The page opens at http://ADDR:PORT/ (with a token: http://ADDR:PORT/#token=TOKEN).\n"
    "TLS: put it behind a reverse proxy (README, Web console).\n";

enum { O_LISTEN = 1, O_TOKEN, O_INTERNAL, O_AUTH, O_MAXTIME, O_MAXMEM, O_JOBS, O_CACHE };

struct server {
    const char *paths[INPUT_MAX_PATHS];
    size_t npaths;
    const char *listen;
    char token[256];
    int have_token;
    struct netlist internal;
    struct svc_authlist auth;
    int have_auth;
    struct web_catalog cat;
    const char *catpath; /* -c */
    int have_cat;
    struct web_band band;
    const char *bandpath; /* -b */
    int have_band;
    struct web_ctx w;
    unsigned jobs;
    sem_t sem;
    size_t cache_mem;
    struct web_cache *cache; /* NULL: --cache-mem 0 */
};

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static int read_token(struct server *s, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, PROG ": --token %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!fgets(s->token, sizeof(s->token), fp))
        s->token[0] = 0;
    fclose(fp);
    s->token[strcspn(s->token, "\r\n")] = 0;
    if (strlen(s->token) < 16) {
        fprintf(stderr,
                PROG ": --token %s: the first line must hold a token of 16 to 255 "
                     "characters\n",
                path);
        return -1;
    }
    for (const char *p = s->token; *p; p++)
        if (*p <= ' ' || *p > '~') {
            fprintf(stderr,
                    PROG ": --token %s: the token must be printable ASCII without "
                         "spaces\n",
                    path);
            return -1;
        }
    s->have_token = 1;
    return 0;
}

static int add_path(struct server *s, const char *arg)
{
    if (s->npaths == INPUT_MAX_PATHS) {
        fprintf(stderr, PROG ": too many -r inputs (at most %d)\n", INPUT_MAX_PATHS);
        return 2;
    }
    if (strcmp(arg, "-") == 0) {
        fprintf(stderr, PROG ": -r needs a store or file; stdin cannot be served\n");
        return 2;
    }
    s->paths[s->npaths++] = arg;
    return -1;
}

static int set_max_mem(struct server *s, const char *arg)
{
    uint64_t v;
    if (units_parse_str(arg, 1 << 20, &v) == 0 && v >= (1 << 20) && v <= SIZE_MAX) {
        s->w.lim.max_mem = (size_t)v;
        return -1;
    }
    fprintf(stderr, PROG ": --max-mem needs a size of 1Mi or more (512Mi, 2G), not '%s'\n", arg);
    return 2;
}

static int set_cache_mem(struct server *s, const char *arg)
{
    uint64_t v;
    if (units_parse_str(arg, 1 << 20, &v) == 0 && v <= SIZE_MAX) {
        s->cache_mem = (size_t)v;
        return -1;
    }
    fprintf(stderr, PROG ": --cache-mem needs a size (64Mi, 1G, 0), not '%s'\n", arg);
    return 2;
}

/* One option: -1 to go on, else an exit status. */
static int serve_opt(struct server *s, int c, const char *arg)
{
    uint32_t u;
    switch (c) {
    case 'r':
        return add_path(s, arg);
    case 'c':
        s->catpath = arg;
        return -1;
    case 'b':
        s->bandpath = arg;
        return -1;
    case O_LISTEN:
        s->listen = arg;
        return -1;
    case O_TOKEN:
        return read_token(s, arg) ? 2 : -1;
    case O_INTERNAL:
        return detect_internal(PROG, arg, &s->internal) ? 2 : -1;
    case O_AUTH:
        return detect_authorised(PROG, arg, &s->auth, &s->have_auth) ? 2 : -1;
    case O_MAXTIME:
        if (arg_u32("serve", "--max-time", arg, 1, 3600, &u) != 0)
            return 2;
        s->w.lim.max_ms = (uint64_t)u * 1000;
        return -1;
    case O_MAXMEM:
        return set_max_mem(s, arg);
    case O_CACHE:
        return set_cache_mem(s, arg);
    case O_JOBS:
        if (arg_u32("serve", "--jobs", arg, 1, 64, &u) != 0)
            return 2;
        s->jobs = u;
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("serve", usage_text);
    }
}

/* ---------------------------------------------------------------- address */

/* "ADDR:PORT" or "[V6]:PORT" into ss: 0, or -1. */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = 0;
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof(host))
            return -1;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = 0;
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        return -1;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        return 0;
    }
    return -1;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* ---------------------------------------------------------------- requests */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *rsp = MHD_create_response_from_buffer(len, body, mode);
    if (!rsp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(rsp, "Content-Type", type);
    MHD_add_response_header(rsp, "Cache-Control", "no-store");
    MHD_add_response_header(rsp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(rsp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
    enum MHD_Result rc = MHD_queue_response(conn, status, rsp);
    MHD_destroy_response(rsp);
    return rc;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return MHD_NO;
    web_json_error(m, msg);
    fclose(m);
    return reply(conn, status, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
}

struct args {
    struct web_req *r;
    char msg[300];
    int bad;
};

static enum MHD_Result on_arg(void *vctx, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    struct args *a = vctx;
    (void)kind;
    if (a->bad)
        return MHD_NO;
    if (web_req_set(a->r, key, value ? value : "", now_ms(), a->msg, sizeof(a->msg)) != 0) {
        a->bad = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Constant time in the token's length: the comparison does not say where it differs. */
static int token_ok(const struct server *s, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    size_t n = strlen(s->token);
    if (strlen(h) != n)
        return 0;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(h[i] ^ s->token[i]);
    return d == 0;
}

static enum MHD_Result answer_page(const struct server *s, struct MHD_Connection *conn)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return MHD_NO;
    struct web_page p = { "flowsleuth", NULL, "", "", NULL, 0 };
    if (s->have_band)
        p.bin_s = s->band.p.bin_ms / 1000;
    web_page_write(m, &p);
    fclose(m);
    return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", buf, len, MHD_RESPMEM_MUST_FREE);
}

/* An API request whose parameters parsed: from the cache while the stores are unchanged,
 * else read with at most --jobs others. */
static enum MHD_Result answer_api(struct server *s, struct MHD_Connection *conn,
                                  const struct web_req *r)
{
    char *buf = NULL;
    size_t len = 0;
    int status = 500;
    /* The stores' state before reading: a change while reading makes the answer stale. */
    uint64_t stamp = s->cache ? web_cache_stamp(s->paths, s->npaths) : 0;
    if (stamp && web_cache_get(s->cache, r, stamp, &buf, &len))
        return reply(conn, MHD_HTTP_OK, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return MHD_NO;
    while (sem_wait(&s->sem) != 0 && errno == EINTR)
        ;
    web_answer(&s->w, s->paths, s->npaths, r, m, &status);
    sem_post(&s->sem);
    fclose(m);
    if (status == 200 && stamp)
        web_cache_put(s->cache, r, stamp, buf, len);
    return reply(conn, (unsigned)status, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    struct server *s = cls;
    (void)version;
    (void)upload;
    if (!*state) { /* the headers: wait for the (empty) body */
        *state = s;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET only");
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return answer_page(s, conn);
    if (strcmp(url, "/d3.min.js") == 0)
        return reply(conn, MHD_HTTP_OK, "application/javascript", (void *)web_d3_js, web_d3_js_len,
                     MHD_RESPMEM_PERSISTENT);
    int ep = web_ep_parse(url);
    if (ep < 0)
        return reply_error(conn, MHD_HTTP_NOT_FOUND,
                           "no such page (/, /api/series, /api/top, /api/flows, /api/hosts, "
                           "/api/services, /api/alerts)");
    if (s->have_token && !token_ok(s, conn))
        return reply_error(conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is required");
    struct web_req r;
    struct args a = { &r, "", 0 };
    web_req_init(&r, (enum web_ep)ep);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &a);
    if (a.bad)
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, a.msg);
    return answer_api(s, conn, &r);
}

/* ---------------------------------------------------------------- command */

static int parse_args(int argc, char **argv, struct server *s)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "listen", required_argument, NULL, O_LISTEN },
                                              { "token", required_argument, NULL, O_TOKEN },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "authorised", required_argument, NULL, O_AUTH },
                                              { "max-time", required_argument, NULL, O_MAXTIME },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "jobs", required_argument, NULL, O_JOBS },
                                              { "cache-mem", required_argument, NULL, O_CACHE },
                                              { "baseline", required_argument, NULL, 'b' },
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:c:b:h", longopts, NULL)) != -1) {
        int rc = serve_opt(s, c, optarg);
        if (rc >= 0)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr,
                PROG ": no filter here: the page and the API take it per request "
                     "('%s')\n",
                argv[optind]);
        return 2;
    }
    if (!s->npaths) {
        fprintf(stderr, PROG ": give the flows with -r STORE\n");
        return 2;
    }
    if (s->catpath) {
        s->have_cat = 1;
        if (web_catalog_load(&s->cat, s->catpath, PROG) != 0)
            return 1;
    }
    if (s->bandpath) {
        if (web_band_load(&s->band, s->bandpath, PROG) != 0)
            return 1;
        s->have_band = 1;
    }
    return -1;
}

static void free_server(struct server *s)
{
    netlist_free(&s->internal);
    if (s->have_auth)
        services_authlist_free(&s->auth);
    if (s->have_cat)
        web_catalog_free(&s->cat);
    if (s->have_band)
        web_band_free(&s->band);
    memset(s->token, 0, sizeof(s->token));
}

/* The listening address, and a token unless it is loopback: -1 to go on, else 2. */
static int check_listen(const struct server *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
    if (parse_listen(s->listen, ss, sslen) != 0) {
        fprintf(stderr, PROG ": --listen needs ADDR:PORT or [ADDR6]:PORT, not '%s'\n", s->listen);
        return 2;
    }
    if (!is_loopback(ss) && !s->have_token) {
        fprintf(stderr,
                PROG ": --listen %s is not a loopback address: give --token FILE, so that "
                     "only those holding the token read the flows\n",
                s->listen);
        return 2;
    }
    return -1;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static struct MHD_Daemon *start_daemon(struct server *s, struct sockaddr_storage *ss)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(flags, port_of(ss), NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, ss,
                            MHD_OPTION_CONNECTION_LIMIT, 128u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            64u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 << 10, MHD_OPTION_END);
}

/* Where the page is, with the port the system chose for port 0. */
static void say_listening(const struct server *s, struct MHD_Daemon *d,
                          const struct sockaddr_storage *ss)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
    fprintf(stderr, PROG ": listening on http://%s%s%s:%u/ (read-only; %s)\n",
            ss->ss_family == AF_INET6 ? "[" : "", host, ss->ss_family == AF_INET6 ? "]" : "",
            info ? info->port : port_of(ss),
            s->have_token ? "the API requires the bearer token of --token"
                          : "loopback only, no token");
    fflush(stderr);
}

/* Until SIGINT or SIGTERM: a SIGPIPE (a client gone) is no reason to stop. */
static void wait_stop(const sigset_t *set)
{
    int sig;
    do {
        sig = 0;
        sigwait(set, &sig);
    } while (sig == SIGPIPE);
    fprintf(stderr, PROG ": stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
}

int cmd_serve(int argc, char **argv)
{
    static struct server s; /* the handler's, for the daemon's life */
    memset(&s, 0, sizeof(s));
    s.listen = "127.0.0.1:8750";
    s.jobs = 4;
    s.cache_mem = (size_t)64 << 20;
    s.w.prog = PROG;
    s.w.lim.max_ms = 10000;
    s.w.lim.max_mem = (size_t)256 << 20;
    netlist_init(&s.internal);
    struct sockaddr_storage ss;
    socklen_t sslen;
    int status = parse_args(argc, argv, &s);
    if (status < 0)
        status = check_listen(&s, &ss, &sslen);
    if (status >= 0) {
        free_server(&s);
        return status;
    }
    s.w.internal = s.internal.nnets ? &s.internal : NULL;
    s.w.auth = s.have_auth ? &s.auth : NULL;
    s.w.cat = s.have_cat ? &s.cat : NULL;
    s.w.band = s.have_band ? &s.band : NULL;
    sem_init(&s.sem, 0, s.jobs);
    if (s.cache_mem)
        s.cache = web_cache_new(256, s.cache_mem);
    /* A served filter may not read files (`in @FILE`): any path the server can read. */
    filter_allow_set_files(0);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread started from here on */

    struct MHD_Daemon *d = start_daemon(&s, &ss);
    if (!d) {
        fprintf(stderr, PROG ": cannot listen on %s: %s\n", s.listen, strerror(errno));
        sem_destroy(&s.sem);
        free_server(&s);
        return 1;
    }
    say_listening(&s, d, &ss);
    wait_stop(&set);
    MHD_stop_daemon(d);
    web_cache_free(s.cache);
    sem_destroy(&s.sem);
    free_server(&s);
    return 0;
}
