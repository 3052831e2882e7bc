/*
 * flowsleuth report: one self-contained HTML file with the web console's charts and
 * tables for a time window (src/web/ draws, web_engine.c computes: the same requests
 * serve answers, so a report and the served page show the same numbers).
 */
#include "../core/fmt.h"
#include "../core/units.h"
#include "../web/web.h"
#include "args.h"
#include "cmd.h"
#include "detect_args.h"
#include "input.h"
#include "input_scan.h"
#include "web_engine.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define PROG "flowsleuth report"

static const char usage_text[] =
    "usage: flowsleuth report -r STORE [-r ...] [-t WINDOW] -o FILE.html [--title TEXT]\n"
    "                         [--bin SECONDS] [--internal NET ...] [--authorised FILE.csv]\n"
    "                         [--max-mem SIZE] [-c CAT] [-b PROFILE] [input options]\n"
    "                         [FILTER]\n"
    "\n"
    "One self-contained HTML file (style, scripts and data inline, nothing loaded from\n"
    "elsewhere) with the charts and tables of flowsleuth serve for the window (default:\n"
    "the whole store): flows, tbytes and tpackets over time (count's series; with a\n"
    "window, the period before it overlaid), the top 10 sources, destinations, source\n"
    "subnets, destination ports, protocols and AS numbers (when the flows carry\n"
    "them) by tbytes with the rest as \"other\" (stats -s), flows by hour and\n"
    "weekday, hosts (flowsleuth hosts; with -c their software, outdated versions\n"
    "marked), services (flowsleuth services), alerts (flowsleuth scan's and spam's\n"
    "findings) and the first 100 flows.\n"
    "\n" INPUT_HELP "  -o FILE.html     where to write the report (- = stdout)\n"
    "  --title TEXT     the report's title (default: flowsleuth report)\n"
    "  --bin SECONDS    bin width of the series (default 300; with -b the profile's)\n"
    "  --internal NET   hosts and services: only addresses inside NET; alerts:\n"
    "                   scan's and spam's --internal (repeatable)\n"
    "  --authorised F   services: the authorised inventory (server,proto,port CSV)\n"
    "  --max-mem SIZE   memory of each table (default 1Gi)\n"
    "  -c CAT           hosts: the software each host's downloads reveal, named from\n"
    "                   the catalogue (as flowsleuth hosts -c), versions with a newer\n"
    "                   one in the catalogue marked outdated (inventory's newest)\n"
    "  -b, --baseline PROFILE\n"
    "                   the series with the band flowsleuth anomaly -b PROFILE judges\n"
    "                   by (its default -k 4), when the bins are the profile's and the\n"
    "                   filter the one it was learned with; a profile learned --by all\n"
    "  -h, --help       this help\n";

/* The top-N lists of the report and of the served page (page.js names them). */
static const char tops[] = "srcip/tbytes,dstip/tbytes,srcnet/tbytes,dport/tbytes,proto/tbytes,"
                           "srcas/tbytes,dstas/tbytes";

enum { O_TITLE = 1, O_BIN, O_INTERNAL, O_AUTH, O_MAXMEM, O_STATS };

struct report_opts {
    const char *out, *title;
    uint64_t bin_s;
    struct netlist internal;
    struct svc_authlist auth;
    int have_auth;
    size_t max_mem;
    const char *catpath;  /* -c */
    const char *bandpath; /* -b */
    int bin_given;        /* --bin: else the profile's with -b */
};

static int report_opt(void *vo, struct input_opts *in, int c, const char *arg)
{
    struct report_opts *o = vo;
    uint64_t v;
    switch (c) {
    case 'o':
        o->out = arg;
        return -1;
    case 'c':
        o->catpath = arg;
        return -1;
    case 'b':
        o->bandpath = arg;
        return -1;
    case O_TITLE:
        o->title = arg;
        return -1;
    case O_BIN:
        if (units_parse_str(arg, 1, &v) != 0 || v == 0 || v > 366ull * 86400) {
            fprintf(stderr, PROG ": --bin needs seconds 1..%llu, not '%s'\n", 366ull * 86400, arg);
            return 2;
        }
        o->bin_s = v;
        o->bin_given = 1;
        return -1;
    case O_INTERNAL:
        return detect_internal(PROG, arg, &o->internal) ? 2 : -1;
    case O_AUTH:
        return detect_authorised(PROG, arg, &o->auth, &o->have_auth) ? 2 : -1;
    case O_MAXMEM:
        return detect_max_mem(PROG, arg, &o->max_mem) ? 2 : -1;
    case O_STATS:
        in->stats = 1;
        return -1;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    default:
        return arg_usage_hint("report", usage_text);
    }
}

static int parse_args(int argc, char **argv, struct report_opts *o, struct input_opts *in)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "title", required_argument, NULL, O_TITLE },
                                              { "bin", required_argument, NULL, O_BIN },
                                              { "internal", required_argument, NULL, O_INTERNAL },
                                              { "authorised", required_argument, NULL, O_AUTH },
                                              { "max-mem", required_argument, NULL, O_MAXMEM },
                                              { "stats", no_argument, NULL, O_STATS },
                                              { "baseline", required_argument, NULL, 'b' },
                                              INPUT_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    int rc = detect_getopt(argc, argv, INPUT_OPTSTRING "o:c:b:h", longopts, in, report_opt, o);
    if (rc >= 0)
        return rc;
    if (!o->out) {
        fprintf(stderr, PROG ": give the report's file with -o FILE.html\n");
        return 2;
    }
    if (input_is_stream(in)) {
        fprintf(stderr, PROG ": give the flows with -r STORE (a report reads them several "
                             "times; stdin cannot be read twice)\n");
        return 2;
    }
    return detect_input_args(in, PROG, argc, argv);
}

/* One request's answer into data as "NAME":JSON; 0, or 1 after saying why. */
static int add(FILE *data, const struct web_ctx *w, const struct input_opts *in,
               const struct web_req *r, const char *name, int first)
{
    int status;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        fprintf(stderr, PROG ": %s\n", strerror(errno));
        return 1;
    }
    web_answer(w, in->paths, in->npaths, r, m, &status);
    fclose(m);
    if (status != 200) {
        fprintf(stderr, PROG ": %s: %s\n", name, buf);
        free(buf);
        return 1;
    }
    fprintf(data, "%s\"%s\":%s", first ? "" : ",", name, buf);
    free(buf);
    return 0;
}

static int build(const struct report_opts *o, const struct input_opts *in,
                 const struct web_catalog *cat, const struct web_band *band, FILE *data)
{
    struct web_ctx w = { PROG,
                         { UINT64_MAX / 4, o->max_mem },
                         o->internal.nnets ? &o->internal : NULL,
                         o->have_auth ? &o->auth : NULL,
                         cat,
                         band };
    struct web_req r;
    int bad = 0;
    fputc('{', data);
    web_req_init(&r, WEB_SERIES);
    r.from_ms = in->from_ms;
    r.to_ms = in->to_ms;
    snprintf(r.filter, sizeof(r.filter), "%s", in->filter_text ? in->filter_text : "");
    r.bin_s = band && !o->bin_given ? band->p.bin_ms / 1000 : o->bin_s;
    bad |= add(data, &w, in, &r, "series", 1);
    r.ep = WEB_TOP; /* the seven in one scan: {"tops":{"srcip/tbytes":{...},...}} */
    snprintf(r.key, sizeof(r.key), "%s", tops);
    bad |= !bad && add(data, &w, in, &r, "top", 0);
    r.n = 50;
    r.ep = WEB_HOSTS;
    bad |= !bad && add(data, &w, in, &r, "hosts", 0);
    r.ep = WEB_SERVICES;
    bad |= !bad && add(data, &w, in, &r, "services", 0);
    r.n = 100;
    r.ep = WEB_ALERTS;
    bad |= !bad && add(data, &w, in, &r, "alerts", 0);
    r.ep = WEB_FLOWS;
    r.limit = 100;
    bad |= !bad && add(data, &w, in, &r, "flows", 0);
    fputc('}', data);
    return bad;
}

/* The page with its data to o->out: 0, or 1 after saying why. */
static int write_page(const struct report_opts *o, const struct input_opts *in, const char *data)
{
    char made[FMT_TIME_MAX], window[FMT_TIME_MAX * 2 + 4] = "";
    struct timeval tv;
    int status = 0;
    gettimeofday(&tv, NULL);
    fmt_time_ms(made, (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
    if (in->from_ms || in->to_ms) {
        char a[FMT_TIME_MAX] = "", b[FMT_TIME_MAX] = "";
        if (in->from_ms)
            fmt_time_ms(a, in->from_ms);
        if (in->to_ms)
            fmt_time_ms(b, in->to_ms);
        snprintf(window, sizeof(window), "%s..%s", a, b);
    }
    struct web_page p = { o->title, data, window, in->filter_text ? in->filter_text : "", made, 0 };
    FILE *fp = strcmp(o->out, "-") == 0 ? stdout : fopen(o->out, "w");
    if (!fp) {
        fprintf(stderr, PROG ": %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    web_page_write(fp, &p);
    if (fflush(fp) != 0 || ferror(fp)) {
        fprintf(stderr, PROG ": %s: write: %s\n", o->out, strerror(errno ? errno : EIO));
        status = 1;
    }
    if (fp != stdout && fclose(fp) != 0 && status == 0) {
        fprintf(stderr, PROG ": %s: %s\n", o->out, strerror(errno));
        status = 1;
    }
    return status;
}

/* The catalogue (-c), the profile (-b), the data, the page: the exit status. */
static int run(const struct report_opts *o, const struct input_opts *in)
{
    struct web_catalog cat;
    struct web_band band;
    int have_cat = 0, have_band = 0;
    char *data = NULL;
    size_t len = 0;
    int status = 0;
    if (o->catpath) {
        have_cat = web_catalog_load(&cat, o->catpath, PROG) == 0;
        status = !have_cat;
    }
    if (status == 0 && o->bandpath) {
        have_band = web_band_load(&band, o->bandpath, PROG) == 0;
        status = !have_band;
    }
    if (status == 0) {
        FILE *m = open_memstream(&data, &len);
        status = !m || build(o, in, have_cat ? &cat : NULL, have_band ? &band : NULL, m);
        if (m)
            fclose(m);
    }
    if (status == 0)
        status = write_page(o, in, data);
    free(data);
    if (have_cat)
        web_catalog_free(&cat);
    if (have_band)
        web_band_free(&band);
    return status;
}

int cmd_report(int argc, char **argv)
{
    struct report_opts o = { .title = "flowsleuth report", .bin_s = 300, .max_mem = 1u << 30 };
    struct input_opts in = { 0 };
    netlist_init(&o.internal);
    int status = parse_args(argc, argv, &o, &in);
    if (status < 0) /* else --help or bad usage */
        status = run(&o, &in);
    netlist_free(&o.internal);
    if (o.have_auth)
        services_authlist_free(&o.auth);
    input_free(&in);
    return status;
}
