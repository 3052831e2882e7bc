/*
 * --eve FILE and --eve-slack SECONDS for the commands that show flows (print, pivot):
 * load a Suricata EVE file, tell stderr what it held and skipped, and give the printer
 * the alert columns of each flow (alerts, severity, sid, category, signature: the most
 * severe alert joined by Community ID inside [first - slack, last + slack]).
 *
 * Ownership: eve_opt_open fills caller storage; eve_opt_end says the skips and frees.
 */
#ifndef FS_EVE_OPT_H
#define FS_EVE_OPT_H

#include "../analytics/eve.h"
#include "../query/output.h"

#include <stdint.h>

#define EVE_SLACK_DEFAULT_MS 60000

#define EVE_OPT_HELP                                                                          \
    "  --eve FILE       Suricata EVE JSON: add the alerts joined to each flow by Community\n" \
    "                   ID (alerts, severity, sid, category, signature: the most severe of\n" \
    "                   the alerts within the flow's time +- the slack; severity 1 is the\n"  \
    "                   highest)\n"                                                           \
    "  --eve-slack S    seconds an alert may lie before the flow's first or after its\n"      \
    "                   last packet (default 60)\n"

#define EVE_OPT_NCOLS 5

/* getopt_long values of the two options. */
#define EVE_OPT_FILE  0x100
#define EVE_OPT_SLACK 0x101
#define EVE_OPT_LONGOPTS                                    \
    { "eve", required_argument, NULL, EVE_OPT_FILE },       \
    {                                                       \
        "eve-slack", required_argument, NULL, EVE_OPT_SLACK \
    }

/* Zero is "no --eve, the default slack". */
struct eve_opt {
    const char *path; /* --eve, NULL = none */
    uint32_t slack_s; /* --eve-slack */
    int slack_set;
    struct eve eve;
    int loaded;
    struct output_extra extra;
    char n[24], sev[8], sid[16]; /* the current row's numbers */
};

/* Option c with arg: 1 when --eve or --eve-slack (-1: a bad value, said), 0 when neither. */
int eve_opt_parse(struct eve_opt *o, const char *prog, int c, const char *arg);

struct input_opts;

/* Load and index the file (when --eve was given). 0, 1 after saying why it failed, 2
 * for --eve-slack alone or --eve - when the flows come from stdin too (in). */
int eve_opt_open(struct eve_opt *o, const char *prog, const struct input_opts *in);

/* The join of one flow (after eve_opt_open). */
unsigned eve_opt_join(const struct eve_opt *o, const struct flow *f, struct eve_hit *hit);

/* Append the alert columns to the printer's rows (after output_init). */
void eve_opt_attach(struct eve_opt *o, struct output *out);

/* "eve: N lines skipped: ..." on stderr when any was, then free. */
void eve_opt_end(struct eve_opt *o, const char *prog);

#endif
