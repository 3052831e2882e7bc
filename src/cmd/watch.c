/*
 * flowsleuth watch: follow a live store (what collect writes), run the detectors on
 * every bin file that closed since the last look (over a sliding window of the last N
 * bins) and send their findings as JSON lines, once each: the state file
 * (analytics/watch.h) remembers the files handled and the alerts sent across restarts.
 * It polls: a bin closes by a rename into place, at most once a rotation.
 */
#include "../analytics/watch.h"
#include "../analytics/baseline.h"
#include "../analytics/duration.h"
#include "../analytics/evidence.h"
#include "../core/err.h"
#include "../core/fmt.h"
#include "../core/tz.h"
#include "../core/units.h"
#include "../core/xalloc.h"
#include "../daemon/log.h"
#include "../store/store_walk.h"
#include "args.h"
#include "cmd.h"
#include "input.h"
#include "watch_alert.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "flowsleuth watch"

static const char usage_text[] =
    "usage: flowsleuth watch -r STORE [--state FILE] [-o json] [-w FILE | --syslog]\n"
    "                        [--detectors LIST] [--window N] [--hold DURATION]\n"
    "                        [--interval DURATION] [--once] [--from-start]\n"
    "                        [--blocklist STATE [--ttl DURATION]]\n"
    "                        [detector options] [FILTER]\n"
    "\n"
    "Follow a live store (what collect writes), run the detectors on every bin file\n"
    "that closed since the last look, over the last N bins, and write each finding once\n"
    "as a JSON line: time, detector, severity, bin, then the detector's columns (as\n"
    "scan, spam and services print them) with the evidence filter.\n"
    "\n"
    "  -r STORE         the store folder to follow\n"
    "  --state FILE     remember the bin files handled and the alerts sent here, so a\n"
    "                   restart neither repeats nor misses any (a damaged state file is\n"
    "                   set aside as FILE.bad, said so, and watch starts afresh)\n"
    "  -o json          the output format (JSON lines, the only one)\n"
    "  -w FILE          append the alerts to FILE (default: stdout)\n"
    "  --syslog         send the alerts to syslog (facility daemon, level warning) and\n"
    "                   log messages there too\n"
    "  --detectors LIST comma-separated: scan, spam, services, anomaly (default\n"
    "                   scan,spam, with services when --authorised is given and anomaly\n"
    "                   when --baseline is; services alerts on unexpected services)\n"
    "  --window N       run the detectors over the last N bins of the store up to the\n"
    "                   bin that closed (default 1; 1..1000)\n"
    "  --hold DURATION  an alert's key (the detector and its source or service) is not\n"
    "                   alerted again until DURATION after the bin that raised it\n"
    "                   (default 24h; 90s, 30m, 1h, 2d or seconds)\n"
    "  --interval DURATION  how often to look for closed bins (default 10s)\n"
    "  --once           handle the bins closed so far, then exit\n"
    "  --from-start     without a state, also handle the bins already in the store\n"
    "                   (default: start after them)\n"
    "  --internal NET   our own network (repeatable): scan's internal threshold,\n"
    "                   spam's sources, services' servers\n"
    "  --allow FILE     scan: sources and ports to leave out (see flowsleuth scan)\n"
    "  --mail-servers NET  spam: the authorised relays (repeatable)\n"
    "  --authorised FILE.csv  services: the authorised inventory (server,proto,port)\n"
    "  --max-mem SIZE   memory per detector for the window's flows (default 1Gi)\n"
    "  --blocklist STATE  add the sources of scan and spam alerts to the block list\n"
    "                   state STATE (see flowsleuth blocklist: it writes the list)\n"
    "  --ttl DURATION   how long they stay there after their last alert (default 24h)\n"
    "  --baseline PROFILE  anomaly: judge each baseline bin against PROFILE (written\n"
    "                   by flowsleuth baseline -w) once the store is past it\n"
    "  -k K             anomaly: the band's reach (default 4, as flowsleuth anomaly)\n"
    "  FILTER           only flows that pass it (a filter expression, flowsleuth(1))\n"
    "  -h, --help       this help\n"
    "\n"
    "Severity: scan high when its score is 2 or more, else medium; spam high when its\n"
    "peak is twice the threshold (10 servers an hour), else medium; services medium.\n"
    "SIGTERM or SIGINT stop it after the bin at hand, with the state saved.\n";

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct watch_cli {
    struct watch_cfg cfg;
    const char *root, *state_path, *out_path;
    uint32_t window;
    uint64_t interval_ms;
    int once, from_start, detectors_given;
    int state_loaded;     /* a state file was read: the store was followed before */
    int said_cap;         /* the window's files were cut to INPUT_MAX_PATHS, said once */
    struct bl_profile bl; /* --baseline */
    struct tz tz;
    int have_bl, have_tz;
};

enum {
    O_STATE = 0x100,
    O_SYSLOG,
    O_DETECTORS,
    O_WINDOW,
    O_HOLD,
    O_INTERVAL,
    O_ONCE,
    O_FROM_START,
    O_INTERNAL,
    O_ALLOW,
    O_RELAYS,
    O_AUTH,
    O_MAXMEM,
    O_BLOCKLIST,
    O_TTL,
    O_BASELINE
};

static int parse_detectors(struct watch_cli *c, const char *arg)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", arg);
    c->cfg.detectors = 0;
    c->detectors_given = 1;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "scan") == 0)
            c->cfg.detectors |= WATCH_SCAN;
        else if (strcmp(t, "spam") == 0)
            c->cfg.detectors |= WATCH_SPAM;
        else if (strcmp(t, "services") == 0)
            c->cfg.detectors |= WATCH_SERVICES;
        else if (strcmp(t, "anomaly") == 0)
            c->cfg.detectors |= WATCH_ANOMALY;
        else {
            fprintf(stderr,
                    PROG ": --detectors: unknown detector '%s' (scan, spam, services, anomaly)\n",
                    t);
            return -1;
        }
    }
    if (c->cfg.detectors)
        return 0;
    fprintf(stderr, PROG ": --detectors needs at least one of scan, spam, services, anomaly\n");
    return -1;
}

static int parse_dur(const char *name, const char *arg, uint64_t *ms)
{
    if (duration_parse_ms(arg, ms) == 0)
        return 0;
    fprintf(stderr, PROG ": %s needs a duration such as 30s, 1h or 3600, not '%s'\n", name, arg);
    return -1;
}

static int load_list(struct netlist *l, const char *opt, const char *path)
{
    char msg[640] = "";
    int rc = netlist_load(l, path, msg, sizeof(msg));
    if (rc == FS_EINVAL)
        fprintf(stderr, PROG ": %s %s\n", opt, msg);
    else if (rc)
        fprintf(stderr, PROG ": %s %s: %s\n", opt, path, fs_strerror(rc));
    return rc ? -1 : 0;
}

static int add_net(struct netlist *l, const char *opt, const char *arg)
{
    if (netlist_add_net(l, arg) == 0)
        return 0;
    fprintf(stderr, PROG ": %s needs an address or prefix, not '%s'\n", opt, arg);
    return -1;
}

/* --mail-servers: the prefix, and its text for spam's evidence ("A B/N ..."). */
static int add_relay(struct watch_cli *c, const char *arg)
{
    if (add_net(&c->cfg.relays, "--mail-servers", arg) != 0)
        return -1;
    size_t old = c->cfg.relay_text ? strlen(c->cfg.relay_text) : 0, len = old + strlen(arg) + 2;
    c->cfg.relay_text = xrealloc(c->cfg.relay_text, len);
    snprintf(c->cfg.relay_text + old, len - old, "%s%s", old ? " " : "", arg);
    return 0;
}

static int load_auth(struct watch_cli *c, const char *path)
{
    char msg[640] = "";
    int rc = services_load_authorised(&c->cfg.auth, path, msg, sizeof(msg));
    if (rc == FS_EINVAL)
        fprintf(stderr, PROG ": --authorised %s\n", msg);
    else if (rc)
        fprintf(stderr, PROG ": --authorised %s: %s\n", path, fs_strerror(rc));
    c->cfg.svc.auth = &c->cfg.auth;
    return rc ? -1 : 0;
}

static int mem_opt(struct watch_cli *c, const char *arg)
{
    uint64_t v;
    if (units_parse_str(arg, 1 << 20, &v) != 0 || v == 0 || v > SIZE_MAX) {
        fprintf(stderr, PROG ": --max-mem needs a size such as 512Mi or 2G, not '%s'\n", arg);
        return -1;
    }
    c->cfg.scan.max_mem = c->cfg.spam.max_mem = c->cfg.svc.max_mem = (size_t)v;
    return 0;
}

/* --baseline: the profile and its zone, loaded once; the filter's hour and wday are
 * then in the profile's zone, as anomaly takes them. */
static int load_baseline(struct watch_cli *c, const char *path)
{
    struct fs_err e = { 0 };
    if (c->cfg.bl) {
        fprintf(stderr, PROG ": --baseline given twice\n");
        return -1;
    }
    if (bl_profile_load(&c->bl, path, &e) != 0) {
        fprintf(stderr, PROG ": --baseline %s\n", e.msg);
        return -1;
    }
    c->have_bl = 1;
    c->cfg.bl = &c->bl;
    if (tz_load(&c->tz, c->bl.tz, &e) != 0) {
        fprintf(stderr, PROG ": --baseline %s: %s\n", path, e.msg);
        return -1;
    }
    c->have_tz = 1;
    c->cfg.tz = &c->tz;
    setenv("TZ", c->bl.tz, 1);
    return 0;
}

static int parse_k(struct watch_cli *c, const char *arg)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v > 0 && v <= 1000)) {
        fprintf(stderr, PROG ": -k needs a number above 0 (at most 1000), not '%s'\n", arg);
        return -1;
    }
    c->cfg.k = v;
    return 0;
}

/* The options with a value: 0, or -1 (said why). */
static int value_opt(struct watch_cli *c, int opt, const char *arg)
{
    switch (opt) {
    case O_DETECTORS:
        return parse_detectors(c, arg);
    case O_WINDOW:
        return arg_u32("watch", "--window", arg, 1, 1000, &c->window);
    case O_HOLD:
        return parse_dur("--hold", arg, &c->cfg.hold_ms);
    case O_INTERVAL:
        return parse_dur("--interval", arg, &c->interval_ms);
    case O_INTERNAL:
        return add_net(&c->cfg.internal, "--internal", arg);
    case O_ALLOW:
        return load_list(&c->cfg.allow, "--allow", arg);
    case O_RELAYS:
        return add_relay(c, arg);
    case O_AUTH:
        return load_auth(c, arg);
    case O_BLOCKLIST:
        c->cfg.blocklist = arg;
        return 0;
    case O_TTL:
        return parse_dur("--ttl", arg, &c->cfg.ttl_ms);
    case O_BASELINE:
        return load_baseline(c, arg);
    case 'k':
        return parse_k(c, arg);
    default:
        return mem_opt(c, arg);
    }
}

/* One option: -1 to go on, else an exit status. */
static int watch_opt(struct watch_cli *c, int opt, const char *arg)
{
    switch (opt) {
    case 'r':
        c->root = arg;
        return -1;
    case 'o':
        if (strcmp(arg, "json") == 0)
            return -1;
        fprintf(stderr, PROG ": unknown output format '%s' (json)\n", arg);
        return 2;
    case 'w':
        c->out_path = arg;
        return -1;
    case O_STATE:
        c->state_path = arg;
        return -1;
    case O_SYSLOG:
        c->cfg.use_syslog = 1;
        return -1;
    case O_ONCE:
        c->once = 1;
        return -1;
    case O_FROM_START:
        c->from_start = 1;
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    case '?':
        return arg_usage_hint("watch", usage_text);
    default:
        return value_opt(c, opt, arg) ? 2 : -1;
    }
}

/* What the options say together: -1 to go on, or 2 after saying why. */
static int check_args(struct watch_cli *c)
{
    if (!c->root) {
        fprintf(stderr, PROG ": -r STORE is needed (the store folder to follow)\n");
        return 2;
    }
    if ((c->cfg.detectors & WATCH_SERVICES) && !c->cfg.svc.auth) {
        fprintf(stderr, PROG ": the services detector needs --authorised FILE.csv (without it "
                             "every service is unexpected)\n");
        return 2;
    }
    if (!c->detectors_given && c->cfg.svc.auth)
        c->cfg.detectors |= WATCH_SERVICES;
    if (!c->detectors_given && c->cfg.bl)
        c->cfg.detectors |= WATCH_ANOMALY;
    if ((c->cfg.detectors & WATCH_ANOMALY) && !c->cfg.bl) {
        fprintf(stderr, PROG ": the anomaly detector needs --baseline PROFILE\n");
        return 2;
    }
    if (c->out_path && c->cfg.use_syslog) {
        fprintf(stderr, PROG ": -w and --syslog: choose one\n");
        return 2;
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct watch_cli *c, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "state", required_argument, NULL, O_STATE },
                                              { "syslog", no_argument, NULL, O_SYSLOG },
                                              { "detectors", required_argument, NULL, O_DETECTORS },
                                              { "window", required_argument, NULL, O_WINDOW },
                                              { "hold", required_argument, NULL, O_HOLD },
                                              { "interval", required_argument, NULL, O_INTERVAL },
                                              { "once", no_argument, NULL, O_ONCE },
                                              { "from-start", no_argument, NULL, O_FROM_START },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "allow", required_argument, NULL, O_ALLOW },
                                              { "mail-servers", required_argument, NULL, O_RELAYS },
                                              { "authorised", required_argument, NULL, O_AUTH },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "blocklist", required_argument, NULL, O_BLOCKLIST },
                                              { "ttl", required_argument, NULL, O_TTL },
                                              { "baseline", required_argument, NULL, O_BASELINE },
                                              { NULL, 0, NULL, 0 } };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:f:o:w:k:h", longopts, NULL)) != -1) {
        if (opt == 'f') {
            if (input_opt(in, opt, optarg) < 0)
                return 2;
            continue;
        }
        int rc = watch_opt(c, opt, optarg);
        if (rc >= 0)
            return rc;
    }
    if (input_filter_args(in, argc - optind, argv + optind) || input_prepare(in, PROG))
        return 2;
    return check_args(c);
}

/* ---------------------------------------------------------------- state */

/* The state at start: 0, or 1 when it could not be set aside. */
static int state_start(struct watch_cli *c, struct watch_state *st)
{
    struct fs_err e = { 0 };
    if (!c->state_path)
        return 0;
    int rc = watch_state_load(st, c->state_path, &e);
    c->state_loaded = rc == 0;
    if (rc == 0 || rc == -ENOENT)
        return 0;
    if (rc != FS_ECORRUPT && rc != FS_EVERSION) {
        fprintf(stderr, PROG ": %s\n", e.msg);
        return 1;
    }
    size_t len = strlen(c->state_path) + 8;
    char *bad = malloc(len);
    if (!bad)
        return 1;
    snprintf(bad, len, "%s.bad", c->state_path);
    int moved = rename(c->state_path, bad) == 0;
    if (moved)
        fprintf(stderr, PROG ": %s; set aside as %s, starting without it\n", e.msg, bad);
    else
        fprintf(stderr, PROG ": %s; cannot set it aside as %s: %s\n", e.msg, bad, strerror(errno));
    free(bad);
    return moved ? 0 : 1;
}

static int state_save(const struct watch_cli *c, const struct watch_state *st)
{
    struct fs_err e = { 0 };
    if (!c->state_path || watch_state_save(st, c->state_path, &e) == 0)
        return 0;
    fprintf(stderr, PROG ": state: %s\n", e.msg);
    return 1;
}

/* ---------------------------------------------------------------- following */

/* Index of the first file of the window of N bins ending with the bin at files[end]. */
static size_t window_first(const struct store_walk *w, size_t end, uint32_t n)
{
    size_t i = end;
    uint64_t start = w->files[end].start_ms;
    uint32_t bins = 1;
    while (i > 0) {
        if (w->files[i - 1].start_ms != start) {
            if (bins == n)
                break;
            start = w->files[i - 1].start_ms;
            bins++;
        }
        i--;
    }
    return i;
}

/* The detectors over the window of the bin whose last file is files[end]: status. */
static int run_bin(struct watch_cli *c, struct input_opts *in, const struct store_walk *w,
                   size_t end, struct watch_state *st)
{
    size_t first = window_first(w, end, c->window), from = first;
    if (end + 1 - first > INPUT_MAX_PATHS) { /* the newest files are the ones to keep */
        from = end + 1 - INPUT_MAX_PATHS;
        if (!c->said_cap)
            fprintf(stderr,
                    PROG ": a window of %" PRIu32 " bins holds %zu files; the detectors read "
                         "the newest %d\n",
                    c->window, end + 1 - first, INPUT_MAX_PATHS);
        c->said_cap = 1;
    }
    in->npaths = 0;
    for (size_t i = from; i <= end; i++)
        in->paths[in->npaths++] = w->files[i].path;
    unsigned sent = 0;
    int status = watch_run_window(&c->cfg, in, st, w->files[end].start_ms, &sent);
    for (size_t i = first; i <= end; i++)
        if (w->files[i].start_ms == w->files[end].start_ms)
            watch_file_mark(st, w->files[i].path + w->files[i].rel, w->files[i].start_ms);
    watch_state_prune(st, w->files[end].start_ms);
    return status | state_save(c, st);
}

/* The files that can hold flows of the baseline bin at b: from the store bin holding b
 * (its first file) up to files[end]; at most INPUT_MAX_PATHS, the oldest kept. */
static void judge_paths(struct input_opts *in, const struct store_walk *w, size_t end, uint64_t b)
{
    size_t first = 0;
    for (size_t i = 0; i <= end && w->files[i].start_ms <= b; i++)
        first = i;
    while (first > 0 && w->files[first - 1].start_ms == w->files[first].start_ms)
        first--;
    in->npaths = 0;
    for (size_t i = first; i <= end && in->npaths < INPUT_MAX_PATHS; i++)
        in->paths[in->npaths++] = w->files[i].path;
}

/*
 * anomaly: judge every baseline bin that has ended by the start of the store bin that
 * closed (files[end]): the store has moved past it. Without a state the first bin
 * judged is the one that ended there (--from-start: the one the store begins in).
 */
static int judge_due(struct watch_cli *c, struct input_opts *in, const struct store_walk *w,
                     size_t end, struct watch_state *st)
{
    uint64_t p = c->cfg.bl->bin_ms, s = w->files[end].start_ms;
    if (!st->have_judged) {
        uint64_t from = c->from_start ? w->files[0].start_ms : s - (s >= p ? p : s);
        st->judged_ms = from / p * p - (from / p * p >= p ? p : 0);
        st->have_judged = 1;
    }
    int status = 0;
    unsigned sent = 0;
    for (uint64_t b = st->judged_ms + p; b + p <= s && !stop_flag; b += p) {
        judge_paths(in, w, end, b);
        status |= watch_run_anomaly(&c->cfg, in, st, b, &sent);
        st->judged_ms = b;
    }
    return status | state_save(c, st);
}

/* Each bin with a file not handled yet, in time order: the exit status so far. */
static int handle_new(struct watch_cli *c, struct input_opts *in, const struct store_walk *w,
                      struct watch_state *st)
{
    int status = 0;
    for (size_t i = 0; i < w->nfiles && !stop_flag; i++) {
        int last_of_bin = i + 1 == w->nfiles || w->files[i + 1].start_ms != w->files[i].start_ms;
        if (!last_of_bin)
            continue;
        int fresh = 0;
        for (size_t k = i + 1; k-- > 0 && w->files[k].start_ms == w->files[i].start_ms;)
            fresh |= !watch_file_done(st, w->files[k].path + w->files[k].rel, w->files[k].start_ms);
        if (fresh)
            status |= run_bin(c, in, w, i, st);
        if (fresh && (c->cfg.detectors & WATCH_ANOMALY))
            status |= judge_due(c, in, w, i, st);
    }
    return status;
}

/* Without a state: take the bins already there as handled, unless --from-start. */
static int skip_present(struct watch_cli *c, const struct store_walk *w, struct watch_state *st)
{
    for (size_t i = 0; i < w->nfiles; i++)
        watch_file_mark(st, w->files[i].path + w->files[i].rel, w->files[i].start_ms);
    fprintf(stderr,
            PROG ": %zu bin files already in %s; following from after them "
                 "(--from-start handles them too)\n",
            w->nfiles, c->root);
    return state_save(c, st);
}

/* One look at the store: the exit status of what it did. */
static int look(struct watch_cli *c, struct input_opts *in, struct watch_state *st, int *first)
{
    struct store_walk w = { 0 };
    struct fs_err e = { 0 };
    int rc = store_walk(c->root, 0, &w, &e);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", e.msg);
        store_walk_free(&w);
        return *first ? 3 : 1; /* a store that is not there at start: give up */
    }
    int status;
    if (*first && !c->state_loaded && !c->from_start)
        status = skip_present(c, &w, st);
    else
        status = handle_new(c, in, &w, st);
    *first = 0;
    store_walk_free(&w);
    return status;
}

static void nap(uint64_t ms)
{
    while (ms && !stop_flag) {
        uint64_t step = ms < 100 ? ms : 100;
        struct timespec ts = { 0, (long)step * 1000000L };
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static int follow(struct watch_cli *c, struct input_opts *in, struct watch_state *st)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int first = 1, status = 0;
    for (;;) {
        int rc = look(c, in, st, &first);
        if (c->once || rc == 3)
            return rc & 1;
        status |= rc;
        if (stop_flag)
            break;
        nap(c->interval_ms);
        if (stop_flag)
            break;
    }
    fprintf(stderr, PROG ": stopped; state %s\n", c->state_path ? "saved" : "not kept");
    return status & 1;
}

static int open_out(struct watch_cli *c)
{
    c->cfg.out = stdout;
    if (c->cfg.use_syslog)
        return daemon_log_start("flowsleuth-watch", 1) == 0 ? 0 : 1;
    if (!c->out_path)
        return 0;
    c->cfg.out = fopen(c->out_path, "a");
    if (c->cfg.out)
        return 0;
    fprintf(stderr, PROG ": -w %s: %s\n", c->out_path, strerror(errno));
    return 1;
}

static void cli_init(struct watch_cli *c)
{
    static const uint16_t mail_ports[] = { 25, 465, 587 };
    memset(c, 0, sizeof(*c));
    struct watch_cfg *g = &c->cfg;
    netlist_init(&g->internal);
    netlist_init(&g->allow);
    netlist_init(&g->relays);
    g->detectors = WATCH_SCAN | WATCH_SPAM;
    g->hold_ms = 24ULL * 3600 * 1000;
    g->ttl_ms = 24ULL * 3600 * 1000;
    g->scan.trw = (struct trw_params)TRW_PARAMS_DEFAULT;
    g->scan.count_external = 20;
    g->scan.count_internal = 50;
    g->scan.window_ms = 3600000;
    g->scan.max_mem = g->spam.max_mem = g->svc.max_mem = (size_t)1 << 30;
    g->scan.internal = g->spam.internal = g->svc.internal = &g->internal;
    g->scan.allow = &g->allow;
    g->spam.relays = &g->relays;
    memcpy(g->spam.ports, mail_ports, sizeof(mail_ports));
    g->spam.nports = sizeof(mail_ports) / sizeof(mail_ports[0]);
    g->spam.threshold = 10;
    g->spam.window_ms = 3600000;
    g->k = 4;
    c->window = 1;
    c->interval_ms = 10000;
}

static void cli_free(struct watch_cli *c)
{
    if (c->cfg.out && c->cfg.out != stdout)
        fclose(c->cfg.out);
    if (c->cfg.use_syslog)
        daemon_log_stop();
    netlist_free(&c->cfg.internal);
    netlist_free(&c->cfg.allow);
    netlist_free(&c->cfg.relays);
    if (c->have_tz)
        tz_free(&c->tz);
    if (c->have_bl)
        bl_profile_free(&c->bl);
    services_authlist_free(&c->cfg.auth);
    free(c->cfg.filter);
    free(c->cfg.relay_text);
}

int cmd_watch(int argc, char **argv)
{
    struct watch_cli c;
    struct input_opts in = { 0 };
    struct watch_state st;
    cli_init(&c);
    watch_state_init(&st);
    int status = parse_args(argc, argv, &c, &in);
    if (status < 0) { /* options fine: go */
        c.cfg.filter = evidence_filter_line(in.filter_text);
        status = open_out(&c);
        if (status == 0)
            status = state_start(&c, &st);
        if (status == 0)
            status = follow(&c, &in, &st);
    }
    watch_state_free(&st);
    cli_free(&c);
    input_free(&in);
    return status;
}
