/*
 * The web console (flowsleuth serve) and the HTML report (flowsleuth report): what is
 * the same in both and needs no store.
 *
 * - the API's requests: a path (/api/series, /api/top, /api/flows, /api/hosts,
 *   /api/services, /api/alerts) and query parameters, checked and turned into struct web_req
 *   (web_req_set, web_req_parse_query); hostile input gets a message, never more;
 * - the answers as JSON: a count series with the previous period beside it, a top-N
 *   with "other", hosts (with their software) and services rows (json.c);
 * - the page: one HTML document with the style, Debian's d3 (libjs-d3) and the page's
 *   script built into the binary (page.c); the report inlines its data, the served
 *   page fetches it from the API. Both draw with the same script (page.js).
 *
 * The engine runs in src/cmd/web_engine.c (it reads stores through the input options
 * every command shares). Nothing here reads files or prints to stdout/stderr.
 */
#ifndef FS_WEB_H
#define FS_WEB_H

#include "../analytics/hosts.h"
#include "../analytics/services.h"
#include "../analytics/spam.h"
#include "../detect/catalog.h"
#include "../query/count.h"
#include "../query/stats.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum web_ep { WEB_SERIES, WEB_TOP, WEB_FLOWS, WEB_HOSTS, WEB_SERVICES, WEB_ALERTS, WEB_NEP };

#define WEB_FILTER_MAX 4096
#define WEB_MAX_ROWS   1000 /* top n, flows limit, hosts, services and alerts rows at most */
#define WEB_MAX_BINS   100000
#define WEB_MAX_KEYS   8 /* top: keys of one request */
#define WEB_KEYS_TEXT  256

struct web_req {
    enum web_ep ep;
    char window[128]; /* the -t text as given, "" = the whole store */
    uint64_t from_ms, to_ms;
    char filter[WEB_FILTER_MAX]; /* the filter text, "" = every flow */
    uint64_t bin_s;              /* series: bin width (default 300) */
    int prev;                    /* series: the previous period as well (default 1) */
    double k;                    /* series: the baseline band's reach (anomaly -k, default 4) */
    char key[WEB_KEYS_TEXT];     /* top: KEY[/ORDER] as stats -s takes it, or several
                                    joined by commas (one scan answers them all) */
    size_t n;                    /* top, hosts, services, alerts: rows (default 10) */
    size_t offset, limit;        /* flows: page (default 0, 100) */
    /* alerts: the detectors' options, as flowsleuth scan and spam take them (their
     * defaults unless given) */
    uint32_t scan_count, scan_count_internal; /* scan --count, --count-internal */
    uint64_t scan_window_ms;                  /* scan --window */
    uint32_t spam_count;                      /* spam --count */
    uint64_t spam_window_ms;                  /* spam --window */
    uint16_t spam_ports[SPAM_MAX_PORTS];      /* spam --ports */
    size_t spam_nports;
};

/* The endpoint of a path ("/api/top" ...), or -1. */
int web_ep_parse(const char *path);
const char *web_ep_name(enum web_ep ep);

/* Defaults for an endpoint. */
void web_req_init(struct web_req *r, enum web_ep ep);

/*
 * One query parameter (already percent-decoded): t, filter, bin, prev, k, key, n,
 * offset, limit; alerts: scan_count, scan_count_internal, scan_window, spam_count,
 * spam_window, spam_ports (the values scan's and spam's options take). now_ms resolves relative
 * windows (-2h). 0, or -1 with msg saying what is wrong with which parameter. Unknown parameters
 * are refused (a typo would otherwise answer a different question without a word).
 */
int web_req_set(struct web_req *r, const char *name, const char *value, uint64_t now_ms, char *msg,
                size_t cap);

/*
 * Split a top request's key text into its specs (at most WEB_MAX_KEYS, each checked by
 * stats_new): the count, or -1 with msg. specs point into buf (a copy, cap bytes).
 */
int web_keys_split(const char *text, char *buf, size_t cap, const char **specs, char *msg,
                   size_t msgcap);

/* A raw query string "a=1&b=x%20y" (+ is a space) through web_req_set: 0 or -1. */
int web_req_parse_query(struct web_req *r, const char *query, uint64_t now_ms, char *msg,
                        size_t cap);

/* ---------------------------------------------------------------- JSON */

/* s as a JSON string (quotes included); '<' as \u003c so it may sit in a <script>. */
void web_json_str(FILE *fp, const char *s);

/*
 * {"bin":S,"start":[ms...],"flows":[...],"bytes":[...],"packets":[...],
 *  "total":{...},"prev":{...same, starts shifted forward by shift_ms...}|null
 * bytes and packets are count's tbytes and tpackets (both directions). The object is
 * left open: the caller adds its members (the baseline's band), then '}'.
 */
void web_json_series(FILE *fp, const struct count *c, const struct count *prev, uint64_t shift_ms);

/*
 * {"key":NAME,"order":ORDER,"rows":[{"key":TEXT,"flows":..,"bytes":..,"packets":..}],
 *  "other":{...},"total":{...},"two_sided":0|1,"approx":0|1}
 * The first n rows of stats_top; "other" is what the rest of the keys hold (a
 * two-sided key counts each flow for both of its ends, so its rows add up to twice
 * the total).
 */
void web_json_top(FILE *fp, const struct stats *s, size_t n);

/* One row of hosts as a JSON object left open (the caller adds members, then '}'). */
void web_json_host(FILE *fp, const struct host_row *h);

/* One package of a host's software: {"name":..,"version":..,"arch":..,"flows":N,
 * "outdated":0|1,"newest":TEXT}; newest is the catalogue's newest version of the
 * package when newer than e's (inventory's column newest), else NULL (""). */
void web_json_pkg(FILE *fp, const struct cat_entry *e, uint64_t flows, const char *newest);

/* One row of services as a JSON object. */
void web_json_service(FILE *fp, const struct svc_row *s);

/* {"error":MSG} */
void web_json_error(FILE *fp, const char *msg);

/* ---------------------------------------------------------------- page */

struct web_page {
    const char *title;
    const char *data_json; /* the report's data (a JSON object), NULL: served, fetched */
    const char *window;    /* the time window as given, for the page's heading and box */
    const char *filter;    /* the filter, likewise */
    const char *generated; /* when the report was made (ISO 8601), NULL in serve */
    uint64_t bin_s;        /* the series' bin the served page asks for (0: 300) */
};

/* The whole HTML document to fp: style, d3 and the page's script inline. */
void web_page_write(FILE *fp, const struct web_page *p);

/* The embedded files (generated at build time from src/web/ and libjs-d3). */
extern const unsigned char web_d3_js[], web_page_js[], web_page_css[];
extern const size_t web_d3_js_len, web_page_js_len, web_page_css_len;

#endif
