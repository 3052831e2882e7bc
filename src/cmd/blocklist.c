/*
 * flowsleuth blocklist: a rolling block list fed by the detectors' findings (JSON lines
 * on stdin), kept in a state file across runs, written for nftables, ipset or as a
 * plain list (src/analytics/blocklist.c keeps the list; this file reads and reports).
 */
#include "../analytics/blocklist.h"
#include "../analytics/duration.h"
#include "../analytics/netlist.h"
#include "../core/fmt.h"
#include "args.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "flowsleuth blocklist"

static const char usage_text[] =
    "usage: flowsleuth blocklist --state FILE [--ttl DURATION] [--allow FILE ...]\n"
    "                            [--field NAME] [-o FORMAT] [--name NAME] [-n]\n"
    "                            [--now TIME]\n"
    "\n"
    "A rolling block list: adds the sources named in detector output (JSON lines on\n"
    "stdin, as scan, spam and watch write with -o json), each until its time to live\n"
    "runs out, keeps the list in a state file across runs and writes it to stdout.\n"
    "\n"
    "  --state FILE     the list between runs (created when missing; a corrupt one is\n"
    "                   renamed FILE.corrupt.EPOCH and not trusted: the run starts\n"
    "                   empty and exits 1)\n"
    "  --ttl DURATION   how long an entry stays after its last finding: 90s, 30m, 24h,\n"
    "                   7d or seconds (default 24h)\n"
    "  --allow FILE     addresses and prefixes never to block, one a line (# comments);\n"
    "                   repeatable. Always wins: also removes entries added before\n"
    "  --field NAME     the JSON member holding the address or prefix (default src)\n"
    "  -o FORMAT        list (default: one prefix a line), nft (a script nft -f loads:\n"
    "                   table inet NAME, sets block4 and block6 with timeouts), ipset\n"
    "                   (an ipset restore file: sets NAME-4 and NAME-6)\n"
    "  --name NAME      the nftables table or ipset name prefix (default flowsleuth)\n"
    "  -n, --no-input   read nothing: expire entries and write the list\n"
    "  --now TIME       the current time (ISO 8601 or @EPOCH), for replays and tests\n"
    "  -h, --help       this help\n"
    "\n"
    "Lines without the member are skipped (counted on stderr); a line that is not a JSON\n"
    "object is reported with its number and gives exit status 1.\n";

struct blk_cli {
    const char *state, *field, *name;
    uint64_t ttl_ms, now_ms;
    enum blk_format fmt;
    int no_input;
    struct netlist allow;
};

struct blk_counts {
    size_t added, refreshed, refused, skipped, bad;
};

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 24 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static int opt_format(struct blk_cli *o, const char *arg)
{
    static const char *const names[] = { "list", "nft", "ipset" };
    for (int i = 0; i < 3; i++)
        if (strcmp(arg, names[i]) == 0) {
            o->fmt = (enum blk_format)i;
            return -1;
        }
    fprintf(stderr, PROG ": -o is list, nft or ipset, not '%s'\n", arg);
    return 2;
}

static int opt_allow(struct blk_cli *o, const char *arg)
{
    char msg[300];
    int rc = netlist_load(&o->allow, arg, msg, sizeof(msg));
    if (rc == 0)
        return -1;
    if (rc == FS_EINVAL)
        fprintf(stderr, PROG ": %s\n", msg);
    else
        fprintf(stderr, PROG ": %s: %s\n", arg, strerror(-rc));
    return 2;
}

static int opt_now(struct blk_cli *o, const char *arg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (parse_time_ms(arg, now, &o->now_ms) == 0 && o->now_ms)
        return -1;
    fprintf(stderr, PROG ": --now needs a time (2026-11-01T08:00, @EPOCH), not '%s'\n", arg);
    return 2;
}

/* One option: -1 to go on, else an exit status. */
static int blk_opt(struct blk_cli *o, int c)
{
    switch (c) {
    case 1:
        o->state = optarg;
        return -1;
    case 2:
        if (duration_parse_ms(optarg, &o->ttl_ms) == 0)
            return -1;
        fprintf(stderr, PROG ": --ttl needs a duration such as 24h, 30m or 7d, not '%s'\n", optarg);
        return 2;
    case 3:
        return opt_allow(o, optarg);
    case 4:
        o->field = optarg;
        return -1;
    case 5:
        if (name_ok(optarg)) {
            o->name = optarg;
            return -1;
        }
        fprintf(stderr, PROG ": --name takes 1-24 letters, digits or _, not '%s'\n", optarg);
        return 2;
    case 6:
        return opt_now(o, optarg);
    case 'o':
        return opt_format(o, optarg);
    case 'n':
        o->no_input = 1;
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("blocklist", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct blk_cli *o)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "state", required_argument, NULL, 1 },
                                              { "ttl", required_argument, NULL, 2 },
                                              { "allow", required_argument, NULL, 3 },
                                              { "field", required_argument, NULL, 4 },
                                              { "name", required_argument, NULL, 5 },
                                              { "now", required_argument, NULL, 6 },
                                              { "no-input", no_argument, NULL, 'n' },
                                              { NULL, 0, NULL, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:nh", longopts, NULL)) != -1) {
        int rc = blk_opt(o, c);
        if (rc >= 0)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
        return arg_usage_hint("blocklist", usage_text);
    }
    if (!o->state) {
        fprintf(stderr, PROG ": --state FILE is required (where the list lives between runs)\n");
        return arg_usage_hint("blocklist", usage_text);
    }
    return -1;
}

/* ---------------------------------------------------------------- the run */

/* The state, or an empty list when there is none or it is corrupt (set aside): the exit
 * status so far. */
static int load_state(struct blocklist *b, const struct blk_cli *o)
{
    struct fs_err err = { 0 };
    int rc = blk_load(b, o->state, &err);
    if (rc == 0 || rc == -ENOENT)
        return 0;
    if (rc != FS_ECORRUPT && rc != FS_EVERSION) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    char aside[4096];
    snprintf(aside, sizeof(aside), "%s.corrupt.%" PRIu64, o->state, o->now_ms / 1000);
    if (rename(o->state, aside) != 0) {
        fprintf(stderr, PROG ": %s; cannot set it aside as %s: %s\n", err.msg, aside,
                strerror(errno));
        return 1;
    }
    fprintf(stderr, PROG ": %s; set aside as %s, starting from an empty list\n", err.msg, aside);
    return 1;
}

/* One line of detector output. */
static void add_line(struct blocklist *b, const struct blk_cli *o, const char *line, size_t no,
                     struct blk_counts *n)
{
    json_error_t je;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, PROG ": stdin:%zu: not a JSON object\n", no);
        n->bad++;
        json_decref(j);
        return;
    }
    const char *addr = json_string_value(json_object_get(j, o->field));
    const char *why = json_string_value(json_object_get(j, "detector"));
    struct net_prefix p;
    if (!addr) {
        n->skipped++;
    } else if (net_prefix_parse(addr, &p) != 0) {
        fprintf(stderr, PROG ": stdin:%zu: %s '%.60s' is not an address or prefix\n", no, o->field,
                addr);
        n->bad++;
    } else {
        int rc = blk_add(b, &p, o->now_ms, o->ttl_ms, why, &o->allow);
        if (rc < 0)
            n->refused++;
        else if (rc)
            n->added++;
        else
            n->refreshed++;
    }
    json_decref(j);
}

static void read_input(struct blocklist *b, const struct blk_cli *o, struct blk_counts *n)
{
    char *line = NULL;
    size_t cap = 0, no = 0;
    while (getline(&line, &cap, stdin) != -1) {
        no++;
        if (line[strspn(line, " \t\r\n")])
            add_line(b, o, line, no, n);
    }
    free(line);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int run(struct blk_cli *o)
{
    struct blocklist b;
    struct blk_counts n = { 0 };
    struct fs_err err = { 0 };
    blk_init(&b);
    int status = load_state(&b, o);
    if (status && !b.n && access(o->state, F_OK) == 0) {
        blk_free(&b);
        return 1; /* unreadable, not corrupt: leave it as it is */
    }
    if (!o->no_input)
        read_input(&b, o, &n);
    size_t gone = blk_prune(&b, o->now_ms, &o->allow);
    blk_sort(&b);
    if (blk_save(&b, o->state, &err) != 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        status = 1;
    }
    if (blk_write(&b, o->fmt, o->name, o->now_ms, stdout) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
        status = 1;
    }
    fprintf(stderr,
            PROG ": %zu entries: %zu added, %zu refreshed, %zu allowed, %zu expired or now "
                 "allowed; %zu lines without '%s'\n",
            b.n, n.added, n.refreshed, n.refused, gone, n.skipped, o->field);
    blk_free(&b);
    return n.bad ? 1 : status;
}

int cmd_blocklist(int argc, char **argv)
{
    struct blk_cli o = { .field = "src", .name = "flowsleuth", .ttl_ms = 24ull * 3600 * 1000 };
    netlist_init(&o.allow);
    int status = parse_args(argc, argv, &o);
    if (status < 0) {
        if (!o.now_ms)
            o.now_ms = wall_ms();
        status = run(&o);
    }
    netlist_free(&o.allow);
    return status;
}
