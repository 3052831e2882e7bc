/*
 * flowsleuth catalog: build and inspect the catalogue of known downloads.
 *   catalog grab / learn: see catalog_grab.c, catalog_learn.c
 *   catalog debian [--suite S] [--os NAME] -o CAT PACKAGES...
 *   catalog import -o CAT FILE.csv...
 *   catalog list CAT [-o FORMAT]
 *   catalog stats CAT
 */
#include "../detect/catalog.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/catalog_json.h"
#include "../query/rows.h"
#include "args.h"
#include "catalog_learn.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: flowsleuth catalog debian [--suite NAME] [--os NAME] -o CAT PACKAGES_FILE...\n"
    "       flowsleuth catalog import -o CAT FILE.csv|FILE.json...\n"
    "       flowsleuth catalog learn LABELS FLOWS... -c CAT -o CAT\n"
    "       flowsleuth catalog grab [--depth N] [--min-size SIZE] [--other-hosts] -o CAT URL...\n"
    "       flowsleuth catalog list CAT [-o FORMAT]\n"
    "       flowsleuth catalog stats CAT\n"
    "\n"
    "Build and inspect the catalogue of known downloads (a TSV file, see\n"
    "flowsleuth-catalog(1) for the format).\n"
    "\n"
    "  debian           read Debian/Ubuntu Packages indexes (plain, .gz, .xz, .lz4 as in\n"
    "                   /var/lib/apt/lists); stanzas without a valid Size are reported\n"
    "                   and skipped\n"
    "  import           read CSV files whose header names catalogue columns (size\n"
    "                   required; name product version arch os url digest spread), or\n"
    "                   JSON files (*.json): an array of objects keyed by those columns\n"
    "  learn            from a labelled lab or honeypot run (the labels CSV of eval),\n"
    "                   record per entry and server the observed bytes, payload,\n"
    "                   goodput and response overhead; match then uses that window;\n"
    "                   'catalog learn --help' lists its options\n"
    "  grab             crawl download pages from the URLs; each link asked with HEAD\n"
    "                   (a one-byte ranged GET where HEAD is refused); keep files of at\n"
    "                   least --min-size; 'catalog grab --help' lists every cap\n"
    "  list             print the entries (table, csv, tsv, json); a learned catalogue's\n"
    "                   with its learned columns (server n rbytes ... overhead tls)\n"
    "  stats            entries by source, arch and OS, size range, and how many sizes\n"
    "                   are unique (the ambiguity that limits matching)\n"
    "  -o CAT           (debian, import, grab) write the catalogue here (- = stdout)\n"
    "  -o FORMAT        (list, stats) table (default), csv, tsv, json\n"
    "  --suite NAME     suite for the entries' os column (default: from an apt lists\n"
    "                   file name such as ..._dists_bookworm_main_..., else none)\n"
    "  --os NAME        OS name for the os column (default debian): os = NAME/SUITE\n"
    "  --append CAT     (debian, import, grab) start from the entries of an existing catalogue\n"
    "  --depth N        (grab) read pages up to N links from a start URL (default 2)\n"
    "  --min-size SIZE  (grab) keep files of at least SIZE bytes (K M G T; default 1M)\n"
    "  --other-hosts    (grab) follow links and redirects to other hosts too\n"
    "  --delay MS       (grab) pause before each request (default 100)\n"
    "  --max-pages N, --max-requests N, --max-redirects N, --max-body SIZE, --max-links N,\n"
    "  --max-time T, --timeout T, --user-agent TEXT  (grab) caps, see catalog grab --help\n"
    "  -h, --help       this help\n";

#define MAX_WARN 20

struct warn_ctx {
    size_t shown;
};

static void on_warn(void *vctx, const char *msg)
{
    struct warn_ctx *w = vctx;
    if (w->shown++ < MAX_WARN)
        fprintf(stderr, "flowsleuth catalog: %s\n", msg);
}

/* Sort and write the catalogue to path ("-" = stdout) through a temp file + rename. */
static int save(struct catalog *cat, const char *path)
{
    struct cat_dropped d;
    char msg[160];
    if (catalog_clean(cat, &d)) {
        catalog_dropped_text(&d, msg, sizeof(msg));
        fprintf(stderr, "flowsleuth catalog: %s\n", msg);
    }
    struct fs_err err = { 0 };
    if (catalog_save(cat, path, &err) == 0)
        return 0;
    fprintf(stderr, "flowsleuth catalog: %s\n", err.msg);
    return 1;
}

struct opts {
    const char *out, *suite, *os, *append;
};

/* Read each Packages file into cat; returns the exit status. */
static int read_debian(struct catalog *cat, const struct opts *o, int n, char **files)
{
    struct warn_ctx w = { 0 };
    for (int i = 0; i < n; i++) {
        char *buf, osname[160], suite[64];
        size_t len, added, skipped;
        struct fs_err err = { 0 };
        if (catalog_read_file(files[i], (size_t)1 << 31, &buf, &len, &err) != 0) {
            fprintf(stderr, "flowsleuth catalog: %s\n", err.msg);
            return 1;
        }
        const char *s = o->suite;
        if (!s && catalog_suite_from_name(files[i], suite, sizeof(suite)))
            s = suite;
        snprintf(osname, sizeof(osname), "%s%s%s", o->os, s ? "/" : "", s ? s : "");
        catalog_debian_parse(cat, files[i], buf, len, osname, on_warn, &w, &added, &skipped);
        free(buf);
        fprintf(stderr, "flowsleuth catalog: %s: %zu entries (%s), %zu stanzas skipped\n", files[i],
                added, osname, skipped);
    }
    if (w.shown > MAX_WARN)
        fprintf(stderr, "flowsleuth catalog: %zu more problems not shown\n", w.shown - MAX_WARN);
    return 0;
}

/* Read each CSV or JSON (by its .json name) file into cat; returns the exit status. */
static int read_csv(struct catalog *cat, int n, char **files)
{
    for (int i = 0; i < n; i++) {
        char *buf;
        size_t len;
        struct fs_err err = { 0 };
        size_t before = cat->n;
        if (catalog_read_file(files[i], (size_t)1 << 31, &buf, &len, &err) != 0) {
            fprintf(stderr, "flowsleuth catalog: %s\n", err.msg);
            return 1;
        }
        size_t fl = strlen(files[i]);
        int json = fl >= 5 && strcmp(files[i] + fl - 5, ".json") == 0;
        int rc = json ? catalog_import_json(cat, files[i], buf, len, &err)
                      : catalog_import_csv(cat, files[i], buf, len, &err);
        free(buf);
        if (rc != 0) {
            fprintf(stderr, "flowsleuth catalog: %s\n", err.msg);
            return 1;
        }
        fprintf(stderr, "flowsleuth catalog: %s: %zu entries\n", files[i], cat->n - before);
    }
    return 0;
}

/* catalog debian|import: options, read, save. */
static int cat_build(int argc, char **argv, int debian)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "suite", required_argument, NULL, 1 },
                                              { "os", required_argument, NULL, 2 },
                                              { "append", required_argument, NULL, 3 },
                                              { NULL, 0, NULL, 0 } };
    struct opts o = { NULL, NULL, "debian", NULL };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'o')
            o.out = optarg;
        else if (c == 1)
            o.suite = optarg;
        else if (c == 2)
            o.os = optarg;
        else if (c == 3)
            o.append = optarg;
        else {
            if (c != 'h')
                return arg_usage_hint("catalog", usage_text);
            fputs(usage_text, stdout);
            return 0;
        }
    }
    if (!o.out || optind >= argc) {
        fprintf(stderr, "flowsleuth catalog %s: needs -o CAT and at least one input file\n",
                argv[0]);
        return 2;
    }
    struct catalog cat;
    catalog_init(&cat);
    struct fs_err err = { 0 };
    int st = 0;
    if (o.append && catalog_load(&cat, o.append, &err) != 0) {
        fprintf(stderr, "flowsleuth catalog: %s\n", err.msg);
        st = 1;
    }
    if (!st)
        st = debian ? read_debian(&cat, &o, argc - optind, argv + optind)
                    : read_csv(&cat, argc - optind, argv + optind);
    if (!st)
        st = save(&cat, o.out);
    if (!st)
        fprintf(stderr, "flowsleuth catalog: %zu entries written to %s\n", cat.n, o.out);
    catalog_free(&cat);
    return st;
}

/* Parse "CAT [-o FORMAT]" for list and stats, load the catalogue. */
static int open_cat(int argc, char **argv, struct catalog *cat, int *mode)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    int c;
    *mode = ROWS_TABLE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'o' && (*mode = rows_mode_parse(optarg)) >= 0)
            continue;
        if (c == 'o')
            fprintf(stderr, "flowsleuth catalog: unknown format '%s'\n", optarg);
        if (c != 'h')
            return arg_usage_hint("catalog", usage_text);
        fputs(usage_text, stdout);
        return -1;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "flowsleuth catalog %s: needs one catalogue file\n", argv[0]);
        return 2;
    }
    struct fs_err err = { 0 };
    catalog_init(cat);
    if (catalog_load(cat, argv[optind], &err) != 0) {
        fprintf(stderr, "flowsleuth catalog: %s\n", err.msg);
        catalog_free(cat);
        return 1;
    }
    return 0;
}

/* Text of the learned columns, as the catalogue file writes them (catalog.h). */
struct learn_text {
    char server[FMT_ADDR_MAX], n[16], rbytes[48], rpayload[48], rgoodput[48], oh[48], tls[16];
};

/* "MIN..MAX", one value when they agree, empty when not observed (max 0). */
static void urange_text(char *b, size_t bl, const uint64_t *v)
{
    if (v[1] && v[0] == v[1])
        snprintf(b, bl, "%llu", (unsigned long long)v[0]);
    else if (v[1])
        snprintf(b, bl, "%llu..%llu", (unsigned long long)v[0], (unsigned long long)v[1]);
    else
        *b = '\0';
}

/* The seven learned cells of e into cells[0..6]: empty when e was not learned. */
static void learn_cells(const struct cat_entry *e, struct learn_text *t, const char **cells)
{
    const struct cat_learn *l = e->learn;
    for (int i = 0; i < 7; i++)
        cells[i] = "";
    if (!l)
        return;
    fmt_addr(t->server, l->server, l->ipver);
    snprintf(t->n, sizeof(t->n), "%u", l->n);
    urange_text(t->rbytes, sizeof(t->rbytes), l->rbytes);
    urange_text(t->rpayload, sizeof(t->rpayload), l->rpayload);
    urange_text(t->rgoodput, sizeof(t->rgoodput), l->rgoodput);
    if (l->oh[0] == l->oh[1])
        snprintf(t->oh, sizeof(t->oh), "%lld", (long long)l->oh[0]);
    else
        snprintf(t->oh, sizeof(t->oh), "%lld..%lld", (long long)l->oh[0], (long long)l->oh[1]);
    snprintf(t->tls, sizeof(t->tls), "%u", l->tls_ppm);
    const char *v[7] = {
        t->server, t->n, t->rbytes, t->rpayload, t->rgoodput, t->oh, l->tls_ppm ? t->tls : ""
    };
    memcpy(cells, v, sizeof(v));
}

/* The catalogue's columns: version 1's, plus the learned ones when an entry has them
 * (ranges are text, so only n and tls are json numbers). */
static int cat_list(int argc, char **argv)
{
    static const unsigned char num[CATALOG_NCOLUMNS_V2] = { 1, 0, 0, 0, 0, 0, 0, 0, 0,
                                                            1, 0, 1, 0, 0, 0, 0, 1 };
    struct catalog cat;
    int mode, st = open_cat(argc, argv, &cat, &mode);
    if (st)
        return st < 0 ? 0 : st;
    size_t ncols = cat.nlearned ? CATALOG_NCOLUMNS_V2 : CATALOG_NCOLUMNS;
    struct rows r;
    rows_init(&r, catalog_columns_v2, num, ncols);
    rows_stream(&r, (enum rows_mode)mode, stdout);
    for (size_t i = 0; i < cat.n; i++) {
        const struct cat_entry *e = &cat.e[i];
        char size[24], spread[24];
        struct learn_text lt;
        snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
        snprintf(spread, sizeof(spread), "%llu", (unsigned long long)e->spread);
        const char *cells[CATALOG_NCOLUMNS_V2] = {
            size,       e->name,   e->product,
            e->version, e->arch,   e->os,
            e->url,     e->digest, catalog_source_name(e->source),
            spread
        };
        learn_cells(e, &lt, cells + CATALOG_NCOLUMNS);
        rows_add(&r, cells);
    }
    rows_print(&r, (enum rows_mode)mode, stdout);
    rows_free(&r);
    catalog_free(&cat);
    return ferror(stdout) ? 1 : 0;
}

#define MAX_KEYS 32

struct tally {
    const char *key[MAX_KEYS];
    size_t n[MAX_KEYS];
    size_t nkeys, other;
};

/* Count one value; beyond MAX_KEYS distinct values the rest go to "other". */
static void tally_add(struct tally *t, const char *k)
{
    for (size_t i = 0; i < t->nkeys; i++)
        if (strcmp(t->key[i], k) == 0) {
            t->n[i]++;
            return;
        }
    if (t->nkeys == MAX_KEYS) {
        t->other++;
        return;
    }
    t->key[t->nkeys] = k;
    t->n[t->nkeys++] = 1;
}

static void add_row(struct rows *r, const char *group, const char *key, unsigned long long v)
{
    char val[24];
    snprintf(val, sizeof(val), "%llu", v);
    const char *cells[3] = { group, key, val };
    rows_add(r, cells);
}

static void tally_rows(struct rows *r, const char *group, const struct tally *t)
{
    for (size_t i = 0; i < t->nkeys; i++)
        add_row(r, group, *t->key[i] ? t->key[i] : "(none)", t->n[i]);
    if (t->other)
        add_row(r, group, "(other)", t->other);
}

/* Sizes: how many entries have a size of their own, and how many have a neighbour
 * closer than the default overhead window (100..800 B: 700 B), where a single match on
 * exact goodput already cannot tell them apart. */
static void size_rows(struct rows *r, const struct catalog *cat)
{
    size_t distinct = 0, unique = 0, near = 0;
    for (size_t i = 0; i < cat->n; i++) {
        uint64_t s = cat->e[i].size;
        int dup_prev = i > 0 && cat->e[i - 1].size == s;
        int dup_next = i + 1 < cat->n && cat->e[i + 1].size == s;
        distinct += !dup_prev;
        unique += !dup_prev && !dup_next;
        int close_prev = i > 0 && s - cat->e[i - 1].size <= 700;
        int close_next = i + 1 < cat->n && cat->e[i + 1].size - s <= 700;
        near += close_prev || close_next;
    }
    add_row(r, "entries", "total", cat->n);
    if (cat->n) {
        add_row(r, "size", "min", cat->e[0].size);
        add_row(r, "size", "median", cat->e[cat->n / 2].size);
        add_row(r, "size", "max", cat->e[cat->n - 1].size);
    }
    add_row(r, "size", "distinct", distinct);
    add_row(r, "size", "unique", unique);
    add_row(r, "size", "within-700B", near);
}

static int cat_stats(int argc, char **argv)
{
    static const char *const names[] = { "group", "key", "value" };
    static const unsigned char num[] = { 0, 0, 1 };
    struct catalog cat;
    int mode, st = open_cat(argc, argv, &cat, &mode);
    if (st)
        return st < 0 ? 0 : st;
    struct tally src = { 0 }, arch = { 0 }, os = { 0 };
    for (size_t i = 0; i < cat.n; i++) {
        tally_add(&src, catalog_source_name(cat.e[i].source));
        tally_add(&arch, cat.e[i].arch);
        tally_add(&os, cat.e[i].os);
    }
    struct rows r;
    rows_init(&r, names, num, 3);
    rows_stream(&r, (enum rows_mode)mode, stdout);
    size_rows(&r, &cat);
    tally_rows(&r, "source", &src);
    tally_rows(&r, "arch", &arch);
    tally_rows(&r, "os", &os);
    rows_print(&r, (enum rows_mode)mode, stdout);
    rows_free(&r);
    catalog_free(&cat);
    return ferror(stdout) ? 1 : 0;
}

/* Dispatch on the sub-subcommand. */
/*
 * catalog grab runs the flowsleuth-grab program (src/grab/main.c), the only one that
 * links libcurl and libxml2: first the one beside this binary (a build tree, or a
 * package's bindir), then FS_LIBEXECDIR. Returns only when neither can be run.
 */
static int run_grab(int argc, char **argv)
{
    static const char helper[] = "flowsleuth-grab";
    char self[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    /* argv[0] "catalog" becomes the helper's name; argv[argc] is NULL. */
    char **argv2 = xmalloc(((size_t)argc + 1) * sizeof(*argv2));
    argv2[0] = (char *)helper;
    memcpy(argv2 + 1, argv + 1, (size_t)argc * sizeof(*argv2));
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/%s", self, helper);
            execv(path, argv2);
        }
    }
    snprintf(path, sizeof(path), "%s/%s", FS_LIBEXECDIR, helper);
    execv(path, argv2);
    fprintf(stderr, "flowsleuth catalog: cannot run %s (looked beside this binary and in %s): %s\n",
            helper, FS_LIBEXECDIR, strerror(errno));
    free(argv2);
    return 1;
}

int cmd_catalog(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "debian") == 0)
        return cat_build(argc - 1, argv + 1, 1);
    if (strcmp(argv[1], "import") == 0)
        return cat_build(argc - 1, argv + 1, 0);
    if (strcmp(argv[1], "learn") == 0)
        return catalog_learn_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "grab") == 0)
        return run_grab(argc, argv);
    if (strcmp(argv[1], "list") == 0)
        return cat_list(argc - 1, argv + 1);
    if (strcmp(argv[1], "stats") == 0)
        return cat_stats(argc - 1, argv + 1);
    fprintf(stderr,
            "flowsleuth catalog: unknown action '%s' (debian, import, grab, learn, list, stats)\n",
            argv[1]);
    return arg_usage_hint("catalog", usage_text);
}
