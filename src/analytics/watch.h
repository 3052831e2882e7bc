/*
 * The memory of flowsleuth watch across restarts: which bin files of the store it has
 * handled, and which alerts it has sent and holds back from repeating.
 *
 * Files. A collector closes a bin by renaming its file into place, and a bin that
 * already has a file gets NAME.1, NAME.2, ... (late records): so "new" is "a bin file
 * not handled yet", not "a bin later than the last one". The state lists the files
 * handled whose bin starts at most WATCH_KEEP_MS before the latest bin handled; a file
 * older than that and not listed is taken as handled (records that late are not
 * alerted on).
 *
 * Alerts. Each alert has a key (detector and what it names: "scan 192.0.2.7"); once
 * sent, the key is held until its time (data time, the bin's end, plus the hold), and
 * the same key raised again meanwhile is not sent. A sliding window of several bins
 * sees a scanner once in every bin of the window: the hold is what keeps that one
 * alert.
 *
 * State file (text, replaced whole through atomic_file):
 *
 *   flowsleuth-watch 1
 *   last 1765087200000
 *   judged 1765083600000
 *   file 1765087200000 2026/12/07/flows.202612070600
 *   alert 1765173600000 scan 192.0.2.7
 *
 * (judged: with --baseline, the start of the latest baseline bin judged; file: bin start in ms, the
 * path below the store with bytes <= ' ', '%' and >= 0x7f as %XX; alert: held until, in ms, then
 * the key to the end of the line.)
 *
 * Ownership: watch_state_init on caller storage, watch_state_free releases. Nothing
 * prints: errors come back in struct fs_err naming the file and line.
 */
#ifndef FS_WATCH_H
#define FS_WATCH_H

#include "../core/err.h"

#include <stddef.h>
#include <stdint.h>

#define WATCH_VERSION 1
#define WATCH_KEEP_MS (48ULL * 3600 * 1000)
#define WATCH_KEY_MAX 200

struct watch_file {
    char *rel; /* path below the store root */
    uint64_t start_ms;
};

struct watch_key {
    char *key;
    uint64_t until_ms;
};

struct watch_state {
    int have_last;      /* a bin was handled (last_ms is set) */
    uint64_t last_ms;   /* start of the latest bin handled */
    int have_judged;    /* anomaly: a baseline bin was judged (judged_ms is set) */
    uint64_t judged_ms; /* anomaly: start of the latest baseline bin judged */
    struct watch_file *files;
    size_t nfiles, capfiles;
    struct watch_key *keys;
    size_t nkeys, capkeys;
};

void watch_state_init(struct watch_state *s);
void watch_state_free(struct watch_state *s);

/*
 * Read a state file into s (empty before). 0; -ENOENT when there is none; FS_ECORRUPT
 * or FS_EVERSION with err naming the file and line (s is then emptied: a damaged state
 * is not trusted in part); another -errno when it cannot be read.
 */
int watch_state_load(struct watch_state *s, const char *path, struct fs_err *err);

/* Write the state: 0 or an error naming the file. */
int watch_state_save(const struct watch_state *s, const char *path, struct fs_err *err);

/* 1 when the bin file rel (of bin start start_ms) is handled or too old to handle. */
int watch_file_done(const struct watch_state *s, const char *rel, uint64_t start_ms);

/* Record rel as handled (and its bin as the latest when it is later). */
void watch_file_mark(struct watch_state *s, const char *rel, uint64_t start_ms);

/*
 * An alert of key at data time t_ms: 1 when it is to be sent (the key is then held
 * until t_ms + hold_ms), 0 when the key is held (nothing changes). Keys longer than
 * WATCH_KEY_MAX are cut there.
 */
int watch_alert_due(struct watch_state *s, const char *key, uint64_t t_ms, uint64_t hold_ms);

/* Forget held keys whose time has passed at t_ms, and files older than the horizon. */
void watch_state_prune(struct watch_state *s, uint64_t t_ms);

#endif
