/*
 * --sink clickhouse://... and its options, shared by collect and meter (and clickhouse
 * insert): one parser, one help text, one place that picks the spool folder.
 */
#ifndef FS_SINK_OPT_H
#define FS_SINK_OPT_H

#include "../clickhouse/ch.h"

#include <getopt.h>
#include <stdio.h>

#define SINK_OPT_URL       0x4101
#define SINK_OPT_SPOOL     0x4102
#define SINK_OPT_BATCH     0x4103
#define SINK_OPT_SPOOL_MAX 0x4104

#define SINK_LONGOPTS                                                 \
    { "sink", required_argument, NULL, SINK_OPT_URL },                \
        { "sink-spool", required_argument, NULL, SINK_OPT_SPOOL },    \
        { "sink-batch", required_argument, NULL, SINK_OPT_BATCH },    \
    {                                                                 \
        "sink-spool-max", required_argument, NULL, SINK_OPT_SPOOL_MAX \
    }

#define SINK_HELP                                                                            \
    "  --sink clickhouse://[USER[:PASS]@]HOST[:PORT]/DB[?table=T]  also send every flow\n"   \
    "                   to ClickHouse's HTTP interface (table flows of `flowsleuth\n"        \
    "                   clickhouse schema`), in batches, from a thread of its own\n"         \
    "  --sink-spool DIR batches the server has not taken wait here, on disk, and are sent\n" \
    "                   in order when it is back (default STORE/.clickhouse-spool with a\n"  \
    "                   store folder; needed otherwise)\n"                                   \
    "  --sink-batch N   rows a batch, 1000..1000000 (default 100000; a batch is also sent\n" \
    "                   when its first row is a second old)\n"                               \
    "  --sink-spool-max S  spool size limit (default 1G); beyond it batches are lost,\n"     \
    "                   said and counted\n"

/* 1 when c was a sink option (handled), 0 when not, -1 after saying what is wrong. */
int sink_opt(struct ch_sink_args *so, const char *cmd, int c, const char *arg);
/* Open the sink (NULL when no --sink; *failed after saying why). store: the -w store
 * folder or NULL (the default spool's place); user: -u USER, who is given the spool
 * folder (the sink's thread writes it after the switch). */
struct ch_sink *sink_open(struct ch_sink_args *so, const char *who, const char *store,
                          const char *user, int *failed);

#endif
