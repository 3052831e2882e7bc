/*
 * flowsleuth catalog grab [options] -o CAT URL...: crawl download pages and keep the
 * files they link to at or above a size threshold (src/grab/grab.c does the work;
 * this file parses options, prints what the crawler reports, and writes the result).
 */
#include "catalog_grab.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../store/expire.h"
#include "grab.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: flowsleuth catalog grab [options] -o CAT URL...\n"
    "\n"
    "Crawl download pages from the start URLs and write a catalogue of the files they\n"
    "link to that are at least --min-size bytes, as their servers state it (HEAD, or a\n"
    "one-byte ranged GET where HEAD is refused); files are never downloaded. Pages\n"
    "(text/html) are read breadth-first; only http and https; each URL once.\n"
    "\n"
    "  -o CAT             write the catalogue here (- = stdout)\n"
    "  --append CAT       start from the entries of an existing catalogue\n"
    "  --depth N          read pages up to N links from a start URL (default 2;\n"
    "                     0 = the start pages only; files they link to are asked)\n"
    "  --min-size SIZE    keep files of at least SIZE bytes (k M G T: powers of 1000,\n"
    "                     Ki Mi Gi Ti: of 1024; default 1Mi; 0 keeps every file)\n"
    "  --other-hosts      follow links and redirects to other hosts (default: only\n"
    "                     the start URLs' hosts)\n"
    "  --max-pages N      pages read (default 200)\n"
    "  --max-requests N   HTTP requests in all (default 5000)\n"
    "  --max-redirects N  redirects followed per URL (default 5)\n"
    "  --max-body SIZE    bytes read of one page (default 4Mi)\n"
    "  --max-links N      links taken from one page (default 5000)\n"
    "  --max-time T       stop the crawl after T (30s, 10m, or seconds; default 10m)\n"
    "  --timeout T        give up one request after T (default 30s)\n"
    "  --delay MS         pause before each request but the first, in ms (default 100)\n"
    "  --user-agent TEXT  User-Agent header (default flowsleuth/VERSION (catalog grab))\n"
    "  -v, --verbose      narrate: each page read and each entry kept\n"
    "  -h, --help         this help\n"
    "\n"
    "Every cap that stops something is reported on stderr with the URL and the cap.\n"
    "Exit status: 0 when the catalogue was written, 1 when nothing could be read or\n"
    "written, 2 on a usage error.\n";

#define MAX_WARN 50

struct report_ctx {
    int verbose;
    size_t warned;
};

static void on_report(void *vctx, enum grab_level lv, const char *msg)
{
    struct report_ctx *r = vctx;
    if (lv == GRAB_INFO) {
        if (r->verbose)
            fprintf(stderr, "flowsleuth catalog grab: %s\n", msg);
        return;
    }
    if (r->warned++ < MAX_WARN)
        fprintf(stderr, "flowsleuth catalog grab: warning: %s\n", msg);
}

struct cli {
    struct grab_opts g;
    const char *out, *append;
    int verbose;
};

/* Unsigned decimal in [0, max] into *v; 0 or -1. */
static int parse_count(const char *s, unsigned long long max, unsigned long long *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end || *v > max ? -1 : 0;
}

/* One option with an argument; returns 0, or -1 when its value is bad. */
static int set_opt(struct cli *c, int opt, const char *arg)
{
    unsigned long long v = 0;
    uint64_t u;
    switch (opt) {
    case 'o':
        c->out = arg;
        return 0;
    case 1:
        c->append = arg;
        return 0;
    case 2:
        return parse_count(arg, 1000, &v) ? -1 : (c->g.depth = (unsigned)v, 0);
    case 3:
        if (strcmp(arg, "0") == 0)
            return c->g.min_size = 0, 0;
        return expire_parse_size(arg, &c->g.min_size) ? -1 : 0;
    case 5:
        return parse_count(arg, SIZE_MAX, &v) || !v ? -1 : (c->g.max_pages = (size_t)v, 0);
    case 6:
        return parse_count(arg, SIZE_MAX, &v) || !v ? -1 : (c->g.max_requests = (size_t)v, 0);
    case 7:
        return parse_count(arg, 100, &v) ? -1 : (c->g.max_redirects = (unsigned)v, 0);
    case 8:
        return expire_parse_size(arg, &u) || u > (1ull << 31) ? -1 : (c->g.max_body = u, 0);
    case 9:
        return parse_count(arg, 10000000, &v) || !v ? -1 : (c->g.max_links = (size_t)v, 0);
    case 10:
        return expire_parse_age(arg, &c->g.max_time_ms) ? -1 : 0;
    case 11:
        return expire_parse_age(arg, &c->g.timeout_ms) ? -1 : 0;
    case 12:
        return parse_count(arg, 3600000, &v) ? -1 : (c->g.delay_ms = v, 0);
    case 13:
        c->g.user_agent = arg;
        return 0;
    default:
        return -1;
    }
}

/* Options into *c; returns -1 to go on, else the exit status (help: 0, usage: 2). */
static int parse_args(int argc, char **argv, struct cli *c)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "verbose", no_argument, NULL, 'v' },
                                              { "append", required_argument, NULL, 1 },
                                              { "depth", required_argument, NULL, 2 },
                                              { "min-size", required_argument, NULL, 3 },
                                              { "other-hosts", no_argument, NULL, 4 },
                                              { "max-pages", required_argument, NULL, 5 },
                                              { "max-requests", required_argument, NULL, 6 },
                                              { "max-redirects", required_argument, NULL, 7 },
                                              { "max-body", required_argument, NULL, 8 },
                                              { "max-links", required_argument, NULL, 9 },
                                              { "max-time", required_argument, NULL, 10 },
                                              { "timeout", required_argument, NULL, 11 },
                                              { "delay", required_argument, NULL, 12 },
                                              { "user-agent", required_argument, NULL, 13 },
                                              { NULL, 0, NULL, 0 } };
    int opt, idx = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:vh", longopts, &idx)) != -1) {
        if (opt == 'v')
            c->verbose = 1;
        else if (opt == 4)
            c->g.other_hosts = 1;
        else if (opt == 'h' || opt == '?') {
            fputs(usage_text, opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        } else if (set_opt(c, opt, optarg) != 0) {
            fprintf(stderr, "flowsleuth catalog grab: bad value '%s' for %s%s\n", optarg,
                    opt == 'o' ? "-o" : "--", opt == 'o' ? "" : longopts[idx].name);
            return 2;
        }
    }
    if (!c->out || optind >= argc) {
        fprintf(stderr, "flowsleuth catalog grab: needs -o CAT and at least one URL\n");
        return 2;
    }
    return -1;
}

/* Sort and write to path ("-" = stdout) through a temporary file renamed into place. */
static int save(struct catalog *cat, const char *path)
{
    catalog_sort(cat);
    struct fs_err err = { 0 };
    if (catalog_save(cat, path, &err) == 0)
        return 0;
    fprintf(stderr, "flowsleuth catalog grab: %s\n", err.msg);
    return 1;
}

static void summary(const struct grab_stats *s, const struct grab_opts *o, size_t warned)
{
    fprintf(stderr,
            "flowsleuth catalog grab: %zu pages read, %zu files asked: %zu kept (>= %llu "
            "bytes), %zu smaller, %zu without size; %zu errors, %zu caps hit, %zu links to "
            "other hosts not followed, %zu pages beyond --depth; %zu requests in %.1f s\n",
            s->pages, s->files, s->kept, (unsigned long long)o->min_size, s->below, s->nosize,
            s->errors, s->caps, s->offsite, s->deep, s->requests, (double)s->elapsed_ms / 1000.0);
    if (warned > MAX_WARN)
        fprintf(stderr, "flowsleuth catalog grab: %zu more warnings not shown\n",
                warned - MAX_WARN);
}

int catalog_grab_main(int argc, char **argv)
{
    struct cli c = { 0 };
    grab_opts_default(&c.g);
    int st = parse_args(argc, argv, &c);
    if (st >= 0)
        return st;
    struct catalog cat;
    catalog_init(&cat);
    struct fs_err err = { 0 };
    if (c.append && catalog_load(&cat, c.append, &err) != 0) {
        fprintf(stderr, "flowsleuth catalog grab: %s\n", err.msg);
        catalog_free(&cat);
        return 1;
    }
    struct report_ctx rc = { c.verbose, 0 };
    struct grab_stats gs;
    size_t before = cat.n;
    int r = grab_run(&cat, argv + optind, (size_t)(argc - optind), &c.g, on_report, &rc, &gs);
    if (r == FS_EINVAL) {
        catalog_free(&cat);
        return 2;
    }
    summary(&gs, &c.g, rc.warned);
    st = r != 0 || (gs.pages == 0 && gs.files == 0) ? 1 : 0;
    if (st == 0)
        st = save(&cat, c.out);
    if (st == 0)
        fprintf(stderr, "flowsleuth catalog grab: %zu entries (%zu new) written to %s\n", cat.n,
                cat.n - before, c.out);
    catalog_free(&cat);
    return st;
}
