/*
 * The input options every flow-reading command shares (DESIGN.md contract): -r PATH
 * (file, store folder or "-", repeatable), -t FROM..TO; one parser so all commands
 * agree. input_read drives a store reader and reports bad files on stderr (commands
 * print; modules don't), going on with the next file.
 */
#ifndef FS_INPUT_H
#define FS_INPUT_H

#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

#define INPUT_MAX_PATHS 256

struct filter;
struct nfdump_inputs;
struct ch_inputs;

struct input_opts {
    const char *paths[INPUT_MAX_PATHS];
    size_t npaths;
    uint64_t from_ms, to_ms;      /* 0 = open */
    int stats;                    /* --stats: print reader counters to stderr */
    char *filter_text;            /* trailing arguments or -f FILE, owned */
    struct filter *filter;        /* compiled by input_prepare, NULL = all */
    int open_failed;              /* input_open: the inputs did not open (nothing was read) */
    struct nfdump_inputs *nfdump; /* input_open: the nfdump conversions under way */
    struct ch_inputs *ch;         /* input_open: the clickhouse:// reads under way */
};

/* The getopt letters these options take, to splice into a command's optstring. */
#define INPUT_OPTSTRING "r:t:f:"

/* The long options of input_opt, for each command's struct option list (before its
 * terminator): --cid-seed, --pdns, --label, --mmdb. */
#define INPUT_OPT_CID_SEED 0x4001
#define INPUT_OPT_PDNS     0x4002
#define INPUT_OPT_LABEL    0x4003
#define INPUT_OPT_MMDB     0x4004
#define INPUT_LONGOPTS                                           \
    { "cid-seed", required_argument, NULL, INPUT_OPT_CID_SEED }, \
        { "pdns", required_argument, NULL, INPUT_OPT_PDNS },     \
        { "label", required_argument, NULL, INPUT_OPT_LABEL },   \
    {                                                            \
        "mmdb", required_argument, NULL, INPUT_OPT_MMDB          \
    }

/* Help lines for the options, for each command's --help. */
#define INPUT_HELP                                                                               \
    "  -r PATH          read flows from a file, a store folder, nfdump's nfcapd files and\n"     \
    "                   folders, clickhouse://[USER[:PASS]@]HOST[:PORT]/DB[?table=T] (the\n"     \
    "                   flow table of `flowsleuth clickhouse`), or - (stdin); repeatable\n"      \
    "                   (default: stdin)\n"                                                      \
    "  -t FROM[..TO]    time window: ISO 8601 (2026-11-01T08:00 is UTC, or with an offset:\n"    \
    "                   2026-11-01T09:00+01:00), @EPOCH or relative (-2h, -30m, -7d);\n"         \
    "                   flows overlapping the window are read\n"                                 \
    "  -f FILE          read the filter expression from FILE (# starts a comment)\n"             \
    "  --stats          print files, blocks and records read or skipped to stderr\n"             \
    "  --cid-seed N     seed of the Community ID (cid column and filter), 0..65535\n"            \
    "                   (default 0, as Suricata and Zeek)\n"                                     \
    "  --pdns FILE      passive DNS table (JSON lines: meter --pdns-out, or rrname, rrtype,\n"   \
    "                   rdata, time_first, time_last; or a Suricata EVE file's dns answers):\n"  \
    "                   the src_name and dst_name fields and the filter's [src|dst] name GLOB\n" \
    "  --label [NAME=]FILE  an address list (as ip in @FILE reads: addresses, prefixes,\n"       \
    "                   Spamhaus DROP) named NAME or after the file: the label field names\n"    \
    "                   the lists src or dst is in, the filter's label NAME selects them;\n"     \
    "                   repeatable (8 lists)\n"                                                  \
    "  --mmdb FILE      a MaxMind DB file (GeoLite2 or DB-IP, country or ASN): the src_cc,\n"    \
    "                   dst_cc, src_asn, dst_asn, src_asname, dst_asname fields and the\n"       \
    "                   filter's [src|dst] cc CC and [src|dst] asn N; repeatable (4 files)\n"    \
    "  FILTER           trailing arguments: a filter expression, e.g. 'proto tcp and\n"          \
    "                   dst port 80 and rbytes > 1M' (see flowsleuth(1), FILTERS)\n"

/*
 * Handle option c with argument arg if it is an input option: returns 1 when handled,
 * 0 when not ours, -1 (after printing the problem) on a bad value.
 */
int input_opt(struct input_opts *in, int c, const char *arg);

/*
 * Take the command's trailing arguments (argv[0..argc-1]) as the filter expression
 * (joined with spaces). Returns 0, or 2 after printing a usage error (both -f and an
 * expression given).
 */
int input_filter_args(struct input_opts *in, int argc, char **argv);

/*
 * Compile the filter. Returns 0, or 2 after printing the expression with a caret under
 * the error and what was expected.
 */
int input_prepare(struct input_opts *in, const char *prog);

/* Free what input_filter_args / input_prepare / -f allocated. */
void input_free(struct input_opts *in);

/* Every flow of an input in memory (learning and evaluation need them all at once). */
struct flow_vec {
    struct flow *v;
    size_t n, cap;
};

/* input_read callback: appends f to the struct flow_vec ctx. */
int flow_vec_keep(void *ctx, const struct flow *f);

struct store_reader;
struct store_rstats;

/* --stats: what the reader read and skipped, to stderr. */
void input_print_rstats(const char *prog, const struct store_rstats *st);

/* The store reader of the command's inputs (stdin when none) and time window; NULL
 * after reporting the error on stderr. nfdump files and folders among the paths are
 * read through a flowsleuth stream each, converted on threads (nfdump_file.h) while
 * the reader reads; their problems are reported as they are met. NULL sets
 * in->open_failed: a command then prints nothing to stdout, not even a header
 * (input_scan's callers too). */
struct store_reader *input_open(struct input_opts *in, const char *prog);

/*
 * After reading what input_open opened: print the nfdump conversions' and ClickHouse
 * reads' counters with --stats and let go of them. Returns 1 when an nfdump file was cut
 * short or a block of one skipped, or a ClickHouse read failed (the exit status then is
 * 1, as for a bad store block), else 0.
 */
int input_nfdump_end(struct input_opts *in, const char *prog);

/*
 * Read every record of the inputs in order that passes the filter, calling fn for each
 * (stop early when fn returns nonzero). Returns the exit status: 0, or 1 when an input
 * was unreadable (after reading all the others; a bad block is skipped and the rest of
 * its file read). When the inputs do not open at all (a missing path, a folder without
 * flowsleuth files) in->open_failed is set: a command then prints no header either.
 */
int input_read(struct input_opts *in, const char *prog, int (*fn)(void *ctx, const struct flow *f),
               void *ctx);

#endif
