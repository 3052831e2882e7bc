/*
 * flowsleuth watch: one run of the detectors over a window of bin files, and the
 * alerts it raises as JSON lines (DESIGN.md, "Detector output": time, detector,
 * severity, then that detector's columns). Split from watch.c, which follows the store.
 *
 * Ownership: the caller's struct watch_cfg outlives every call; nothing here keeps
 * memory across calls.
 */
#ifndef FS_CMD_WATCH_ALERT_H
#define FS_CMD_WATCH_ALERT_H

#include "../analytics/anomaly.h"
#include "../analytics/blocklist.h"
#include "../analytics/netlist.h"
#include "../analytics/scan.h"
#include "../analytics/services.h"
#include "../analytics/spam.h"
#include "../analytics/watch.h"
#include "input.h"

#include <stdint.h>
#include <stdio.h>

enum { WATCH_SCAN = 1, WATCH_SPAM = 2, WATCH_SERVICES = 4, WATCH_ANOMALY = 8 };

struct watch_cfg {
    unsigned detectors; /* WATCH_* */
    struct scan_opts scan;
    struct spam_opts spam;
    struct services_opts svc;
    struct netlist internal, allow, relays;
    struct svc_authlist auth;
    uint64_t hold_ms;
    FILE *out;             /* alerts, when not to syslog */
    int use_syslog;        /* alerts to syslog(3) */
    char *filter;          /* the user's filter on one line (for evidence), or NULL */
    char *relay_text;      /* --mail-servers as given, "A B/N", for spam's evidence, or NULL */
    const char *blocklist; /* --blocklist STATE: scan and spam sources added, or NULL */
    uint64_t ttl_ms;       /* their time to live there */
    struct bl_profile *bl; /* --baseline: anomaly's profile, or NULL */
    struct tz *tz;         /* its time zone */
    double k;              /* anomaly's -k */
};

/*
 * Run the detectors over the flows of in (its paths: the window's bin files) and send
 * the alerts not held in st, bin_ms being the start of the bin that closed. Returns the
 * reading's exit status (0, or 1 when a file could not be read or a detector ran out of
 * --max-mem, said on stderr); *sent counts the alerts sent.
 */
int watch_run_window(const struct watch_cfg *c, struct input_opts *in, struct watch_state *st,
                     uint64_t bin_ms, unsigned *sent);

/*
 * anomaly: judge the baseline bin starting at b_ms against c->bl, reading the flows of
 * in (the store bins that can hold its flows), and send each finding (its key is the
 * key, metric and bin: a bin is judged once). Returns the exit status of the reading.
 */
int watch_run_anomaly(const struct watch_cfg *c, struct input_opts *in, struct watch_state *st,
                      uint64_t b_ms, unsigned *sent);

#endif
