/*
 * flowsleuth: one binary, git-style subcommands. The table below drives dispatch,
 * `flowsleuth help` and `flowsleuth help CMD`.
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "meter", cmd_meter, "packets (pcap file, live interface) to flow records" },
    { "collect", cmd_collect, "receive NetFlow v5/v9, IPFIX and sFlow into a store" },
    { "print", cmd_print, "print flow records as table, csv, tsv, json or a user format" },
    { "pivot", cmd_pivot, "one timeline of a host or connection: flows, alerts, names" },
    { "stats", cmd_stats, "top-N statistics by a key (address, subnet, port, ...)" },
    { "count", cmd_count, "time series: flows, tbytes, tpackets (both directions) per time bin" },
    { "baseline", cmd_baseline, "learn the hour-of-week profile of flows, bytes, packets" },
    { "anomaly", cmd_anomaly, "spikes, drops and gaps against a baseline profile" },
    { "blocklist", cmd_blocklist, "a rolling block list with expiry, fed by detector output" },
    { "catalog", cmd_catalog, "build and inspect the catalogue of known downloads" },
    { "match", cmd_match, "identify downloads: flows against the catalogue" },
    { "inventory", cmd_inventory, "per host: packages and versions its downloads reveal" },
    { "hosts", cmd_hosts, "every host of our networks seen: times, flows, bytes, services" },
    { "learn", cmd_learn, "train a model on labelled downloads and save it (lab/)" },
    { "eval", cmd_eval, "measure identification against labelled downloads (lab/)" },
    { "scan", cmd_scan, "scanners: sources probing many hosts or ports (TRW, counts)" },
    { "services", cmd_services, "services that answered, against an authorised inventory" },
    { "spam", cmd_spam, "spam sources: hosts sending mail to many mail servers" },
    { "watch", cmd_watch, "follow a live store, run the detectors on closed bins, alert" },
    { "clickhouse", cmd_clickhouse, "ClickHouse scale-out: schema, insert, expire" },
    { "serve", cmd_serve, "the web console: charts, tables and a JSON API over stores" },
    { "report", cmd_report, "one self-contained HTML report: charts and tables of a window" },
};

static const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

static void usage(FILE *fp)
{
    fprintf(fp, "usage: flowsleuth [--version] [help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < ncommands; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'flowsleuth help COMMAND' or 'flowsleuth COMMAND --help' explains one.\n");
}

static const struct command *lookup(const char *name)
{
    for (size_t i = 0; i < ncommands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("flowsleuth %s\n", FS_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        const struct command *c = lookup(argv[2]);
        if (!c) {
            fprintf(stderr, "flowsleuth: no command '%s'\n", argv[2]);
            return 2;
        }
        char *hargv[] = { (char *)c->name, "--help", NULL };
        return c->fn(2, hargv);
    }
    const struct command *c = lookup(name);
    if (!c) {
        fprintf(stderr, "flowsleuth: '%s' is not a command\n", name);
        usage(stderr);
        return 2;
    }
    /* getopt names argv[0] in its messages: "flowsleuth meter: unrecognized option". */
    static char prog[64];
    snprintf(prog, sizeof(prog), "flowsleuth %s", c->name);
    argv[1] = prog;
    return c->fn(argc - 1, argv + 1);
}
