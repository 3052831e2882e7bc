/*
 * The web console's engine (serve and report): the query engine's library calls over
 * the inputs of a struct input_opts (the -r stores, the -t window, the compiled
 * filter), with the limits of one request: wall time, memory, rows. The numbers are
 * those of the CLI for the same question: the series is count's (count_add, the same
 * bins and spread), a top-N is stats -s's (stats parts on every decoding thread, merged
 * exactly), hosts and services are flowsleuth hosts' and services' modules.
 *
 * Every call returns 0, or WEB_EINPUT (an input did not open or was unreadable: said on
 * stderr) or WEB_ELIMIT (msg says which limit the request ran into). Nothing prints to
 * stdout.
 */
#ifndef FS_WEB_ENGINE_H
#define FS_WEB_ENGINE_H

#include "../analytics/baseline.h"
#include "../analytics/netlist.h"
#include "../analytics/services.h"
#include "../detect/catalog.h"
#include "../detect/match.h"
#include "../detect/newest.h"
#include "../web/web.h"
#include "input.h"

#include <stdio.h>

#define WEB_EINPUT 1
#define WEB_ELIMIT 2

struct web_limits {
    uint64_t max_ms; /* wall time of one request */
    size_t max_mem;  /* memory of its tables */
};

/*
 * -c CAT: the catalogue the hosts' software is named from (as flowsleuth hosts -c,
 * default model options), and its entries by package for the newest version of each
 * (as flowsleuth inventory's column newest). Read-only once loaded: every request
 * matches against it at once.
 */
struct web_catalog {
    struct catalog cat;
    struct match_opts mo;
    struct cat_newest newest;
};

/* Load path into c: 0, or 1 after saying why on stderr after "prog: ". */
int web_catalog_load(struct web_catalog *c, const char *path, const char *prog);
void web_catalog_free(struct web_catalog *c);

/*
 * -b PROFILE: the band of flowsleuth anomaly (an_band, the same slots, per-flow sizes
 * and time zone) for the series of the whole network, the profile's key "all". The
 * series answer carries it when its bin is the profile's and its filter the one the
 * profile was learned with; else "band":null and "band_note" says why.
 */
struct web_band {
    const char *path;
    struct bl_profile p;
    struct tz z;
    double *per_flow; /* an_per_flow of the profile's one key */
};

/* Load path into b: 0, or 1 after saying why on stderr after "prog: ". */
int web_band_load(struct web_band *b, const char *path, const char *prog);
void web_band_free(struct web_band *b);

struct web_ctx {
    const char *prog;
    struct web_limits lim;
    const struct netlist *internal;  /* hosts and services: our networks (NULL: any) */
    const struct svc_authlist *auth; /* services: the authorised inventory, or NULL (each
                                        request marks a copy of its own) */
    const struct web_catalog *cat;   /* hosts: their software (-c), or NULL */
    const struct web_band *band;     /* series: the baseline's band (-b), or NULL */
};

/* The series of in in bins of bin_ms; out is count_init'ed here (count_free it). */
int web_series(const struct web_ctx *w, struct input_opts *in, uint64_t bin_ms, struct count *out,
               char *msg, size_t cap);

/* The top-N tables of specs (KEY[/ORDER], 1..WEB_MAX_KEYS of them) over in, in one scan;
 * out[k] to stats_free. */
int web_top(const struct web_ctx *w, struct input_opts *in, const char *const *specs, int nspecs,
            struct stats **out, char *msg, size_t cap);

/* Flows offset .. offset + limit - 1 of in, in the store's order, as the JSON answer
 * {"offset":..,"rows":[{flow as print -o json}...],"more":0|1} to fp. */
int web_flows(const struct web_ctx *w, struct input_opts *in, size_t offset, size_t limit, FILE *fp,
              char *msg, size_t cap);

/* {"count":N,"rows":[..n largest by bytes..]} of hosts / services to fp. Hosts also
 * say "catalogue":0|1 and, with one, each row its "software" (web_json_host). */
int web_hosts(const struct web_ctx *w, struct input_opts *in, size_t n, FILE *fp, char *msg,
              size_t cap);
int web_services(const struct web_ctx *w, struct input_opts *in, size_t n, FILE *fp, char *msg,
                 size_t cap);

/*
 * {"rows":[..the first r->n..],"count":N}: the findings of flowsleuth scan and then of
 * flowsleuth spam (each with r's options: their --count, --count-internal, --window
 * and --ports, by default the CLI's defaults; --internal as given; each in address
 * order), each row with "detector", "src", "first", "last" (one ms past, as the CLI),
 * "flows", "evidence" (the filter the CLI prints: r's filter in front) and the
 * detector's own columns.
 */
int web_alerts(const struct web_ctx *w, struct input_opts *in, const struct web_req *r, FILE *fp,
               char *msg, size_t cap);

/*
 * A request's whole answer (the JSON of one endpoint) to fp, or the error: *status is
 * the HTTP status (200, 400 a bad filter or parameter, 503 a limit, 500 an input).
 * paths: the -r inputs. Used by serve for every request and by report for its data.
 */
void web_answer(const struct web_ctx *w, const char *const *paths, size_t npaths,
                const struct web_req *r, FILE *fp, int *status);

#endif
