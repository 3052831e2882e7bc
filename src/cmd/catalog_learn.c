/*
 * flowsleuth catalog learn LABELS FLOWS... -c CAT -o CAT: from a lab or honeypot run,
 * record per catalogue entry and server what its downloads looked like in flow form
 * (src/detect/learn.h has the model, catalog.h the version-2 columns).
 */
#include "catalog_learn.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/eval.h"
#include "../detect/learn.h"
#include "../query/rows.h"
#include "args.h"
#include "input.h"
#include "uniflow.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth catalog learn"

static const char usage_text[] =
    "usage: flowsleuth catalog learn LABELS FLOWS... -c CAT -o CAT [-b] [--basis B]\n"
    "                                [--slack MS] [--header-bytes H]\n"
    "\n"
    "Learn from labelled downloads (a lab or honeypot run; LABELS is the CSV that\n"
    "flowsleuth eval --labels reads: client,server,sport,start_ms,end_ms,entry_name).\n"
    "Each label of a catalogue entry is joined to its flow in FLOWS (files or store\n"
    "folders); per entry and server the observed rbytes, rpayload, rgoodput and the\n"
    "response overhead (payload minus size: HTTP header bytes, and TLS record bytes on\n"
    "port 443) are written as MIN..MAX into the catalogue's learned columns. match then\n"
    "uses each learned entry's own overhead window for flows from that server. A label\n"
    "naming a file the catalogue lacks adds it (source learned): its size is the\n"
    "observed payload minus the overhead learned at its server from the catalogue's\n"
    "files (the payload itself where none is known), so a file seen only on a honeypot\n"
    "becomes matchable. The learned rows are printed as a table.\n"
    "\n"
    "  -c CAT           the catalogue to learn into\n"
    "  -o CAT           write the learned catalogue here (- = stdout; may equal -c)\n" UNI_PAIR_HELP
        UNI_BASIS_HELP
    "  --slack MS       widen each label's time window by MS either side (1000)\n"
    "  --header-bytes H IP+TCP header bytes per packet when payload is estimated from\n"
    "                   rbytes and rpackets (52)\n"
    "  -h, --help       this help\n";

struct opts {
    const char *cat, *out;
    uint64_t slack;
    uint32_t header_bytes;
    int pair, basis; /* -b, --basis */
};

static int num(const char *s, uint64_t max, uint64_t *v, const char *what)
{
    char *end;
    if (*s < '0' || *s > '9' || (*v = strtoull(s, &end, 10), *end) || *v > max) {
        fprintf(stderr, PROG ": bad %s '%s'\n", what, s);
        return 2;
    }
    return 0;
}

/* Options; returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = { { "help", no_argument, NULL, 'h' },
                                        { "slack", required_argument, NULL, 1 },
                                        { "header-bytes", required_argument, NULL, 2 },
                                        { "basis", required_argument, NULL, 3 },
                                        { NULL, 0, NULL, 0 } };
    int c;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "bc:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->cat = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 1:
            if (num(optarg, UINT32_MAX, &o->slack, "--slack"))
                return 2;
            break;
        case 2:
            if (num(optarg, 200, &v, "--header-bytes"))
                return 2;
            o->header_bytes = (uint32_t)v;
            break;
        case 'b':
            o->pair = 1;
            break;
        case 3:
            if ((o->basis = uni_basis_parse(optarg)) < 0) {
                fprintf(stderr, PROG ": unknown basis '%s' (auto, payload, bytes)\n", optarg);
                return 2;
            }
            break;
        default:
            if (c != 'h')
                return arg_usage_hint("catalog learn", usage_text);
            fputs(usage_text, stdout);
            return 0;
        }
    }
    if (!o->cat || !o->out || argc - optind < 2) {
        fprintf(stderr, PROG ": needs LABELS, at least one FLOWS path, -c CAT and -o CAT\n");
        return 2;
    }
    if (argc - optind - 1 > INPUT_MAX_PATHS) {
        fprintf(stderr, PROG ": at most %d FLOWS paths\n", INPUT_MAX_PATHS);
        return 2;
    }
    return -1;
}

/* Labels, catalogue and flows; returns an exit status. */
static int load(const struct opts *o, const char *labels, int nf, char **paths, struct catalog *cat,
                struct eval_labels *lab, struct flow_vec *fl)
{
    struct fs_err err = { 0 };
    char *buf;
    size_t len;
    int rc = catalog_read_file(labels, (size_t)1 << 30, &buf, &len, &err);
    if (rc == 0) {
        rc = eval_labels_parse(lab, labels, buf, len, &err);
        free(buf);
    }
    if (rc == 0)
        rc = catalog_load(cat, o->cat, &err);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    struct input_opts in = { 0 };
    for (int i = 0; i < nf; i++)
        in.paths[in.npaths++] = paths[i];
    struct uni_feed u;
    uni_feed_init(&u, o->pair, (enum uni_basis)o->basis, 10000, flow_vec_keep, fl);
    rc = uni_read(&in, PROG, &u);
    uni_feed_report(&u, PROG);
    uni_feed_free(&u);
    return rc;
}

/* Write through a temporary file and rename, so -o may name the input catalogue. */
static int save(const struct catalog *cat, const char *path)
{
    struct fs_err err = { 0 };
    if (catalog_save(cat, path, &err) == 0)
        return 0;
    fprintf(stderr, PROG ": %s\n", err.msg);
    return 1;
}

static void range_cell(char *b, size_t bl, long long lo, long long hi)
{
    if (lo == hi)
        snprintf(b, bl, "%lld", lo);
    else
        snprintf(b, bl, "%lld..%lld", lo, hi);
}

/* The learned rows as a table on stdout. */
static void show(const struct catalog *cat)
{
    static const char *const cols[] = { "name",     "server",   "n",        "size",   "rbytes",
                                        "rpayload", "rgoodput", "overhead", "tls_ppm" };
    static const unsigned char nums[] = { 0, 0, 1, 1, 1, 1, 1, 1, 1 };
    struct rows r;
    rows_init(&r, cols, nums, 9);
    for (size_t i = 0; i < cat->n; i++) {
        const struct cat_entry *e = &cat->e[i];
        const struct cat_learn *l = e->learn;
        if (!l)
            continue;
        char sv[FMT_ADDR_MAX], n[16], sz[24], rb[48], rp[48], rg[48], oh[48], tls[16];
        fmt_addr(sv, l->server, l->ipver);
        snprintf(n, sizeof(n), "%u", l->n);
        snprintf(sz, sizeof(sz), "%llu", (unsigned long long)e->size);
        range_cell(rb, sizeof(rb), (long long)l->rbytes[0], (long long)l->rbytes[1]);
        range_cell(rp, sizeof(rp), (long long)l->rpayload[0], (long long)l->rpayload[1]);
        range_cell(rg, sizeof(rg), (long long)l->rgoodput[0], (long long)l->rgoodput[1]);
        range_cell(oh, sizeof(oh), (long long)l->oh[0], (long long)l->oh[1]);
        snprintf(tls, sizeof(tls), "%u", l->tls_ppm);
        const char *cells[9] = { e->name, sv, n, sz, rb, rp, rg, oh, tls };
        rows_add(&r, cells);
    }
    rows_print(&r, ROWS_TABLE, stdout);
    rows_free(&r);
}

int catalog_learn_main(int argc, char **argv)
{
    struct opts o = { .slack = 1000, .header_bytes = 52 };
    int st = parse(argc, argv, &o);
    if (st >= 0)
        return st;
    struct catalog cat, out;
    struct eval_labels lab = { 0 };
    struct flow_vec fl = { 0 };
    struct learn_obs *obs = NULL;
    struct learn_counts cnt;
    catalog_init(&cat);
    catalog_init(&out);
    st = load(&o, argv[optind], argc - optind - 1, argv + optind + 1, &cat, &lab, &fl);
    if (!st) {
        size_t nobs =
            learn_observe(&cat, &lab, NULL, fl.v, fl.n, o.slack, o.header_bytes, &obs, &cnt);
        size_t added = 0, guessed = 0, unknown = cnt.unknown, nohost = cnt.nohost;
        if (cnt.unknown) { /* new files: entries of their own, then observed as the others */
            added = learn_new_files(&cat, &lab, fl.v, fl.n, o.slack, o.header_bytes, obs, nobs,
                                    &guessed);
            free(obs);
            nobs = learn_observe(&cat, &lab, NULL, fl.v, fl.n, o.slack, o.header_bytes, &obs, &cnt);
        }
        size_t rows = 0;
        learn_catalog(&out, &cat, obs, nobs, &rows);
        fprintf(stderr,
                PROG ": %zu labels: %zu learned, %zu not in the catalogue ('-'), %zu of files "
                     "the catalogue lacks, %zu without a flow (%zu of them name a host that is "
                     "in no flow); %zu learned rows\n",
                cnt.labels, cnt.used, cnt.foreign, unknown, cnt.noflow + cnt.unknown, nohost, rows);
        if (added)
            fprintf(stderr,
                    PROG ": %zu new files added (source learned), %zu of them sized without a "
                         "known overhead at their server\n",
                    added, guessed);
        st = save(&out, o.out);
        if (!st && strcmp(o.out, "-") != 0)
            show(&out);
    }
    free(obs);
    free(fl.v);
    eval_labels_free(&lab);
    catalog_free(&cat);
    catalog_free(&out);
    return st ? st : ferror(stdout) ? 1 : 0;
}
