/*
 * flowsleuth clickhouse: the ClickHouse scale-out's schema (printed, or applied over
 * the HTTP interface), a store loaded into it (insert), and the expiry of old day
 * partitions on servers without table TTL (expire). src/clickhouse/ does the work.
 */
#include "../clickhouse/ch.h"
#include "../store/expire.h"
#include "cmd.h"
#include "input.h"
#include "sink_opt.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "clickhouse"

static const char usage_text[] =
    "usage: flowsleuth clickhouse schema [--cluster NAME] [--db DB] [--ttl AGE] [--apply URL]...\n"
    "       flowsleuth clickhouse insert [-r PATH]... [-t FROM..TO] (--sink URL | -w FILE) "
    "[FILTER]\n"
    "       flowsleuth clickhouse expire --age AGE [--dry-run] URL\n"
    "\n"
    "The ClickHouse scale-out (DESIGN.md, Scale-out). URL: clickhouse://[USER[:PASS]@]HOST\n"
    "[:PORT]/DB (HTTP interface, port 8123 by default).\n"
    "\n"
    "schema: print the DDL: the flow table (MergeTree, a partition a day, ordered by the\n"
    "5-minute bin then the exporter), rollups a minute, 5 minutes and an hour (flows,\n"
    "bytes, packets by exporter, interfaces, AS and protocol; SummingMergeTree) and their\n"
    "materialized views.\n"
    "  --db DB          database (default: the --apply URL's, else flowsleuth)\n"
    "  --cluster NAME   tables *_local on every shard, and Distributed tables named as\n"
    "                   the single-server ones over them (apply on each shard: ON\n"
    "                   CLUSTER needs ZooKeeper)\n"
    "  --ttl AGE        drop rows older than AGE (whole days: 90d, 12w) by table TTL; a\n"
    "                   server without TTL (before 19.6, such as Debian 12's 18.16) gets\n"
    "                   the schema without it: run `clickhouse expire` there\n"
    "  --apply URL      run the DDL on that server (repeatable: one per shard)\n"
    "\n"
    "insert: send flows read from files or stores to the flow table, as --sink does\n"
    "(or write them as RowBinary rows of the flow table to FILE, - for stdout).\n" SINK_HELP "\n"
    "expire: drop the day partitions of the flow and rollup tables (local ones too)\n"
    "older than AGE (whole days).\n"
    "  --dry-run        say what would be dropped, drop nothing\n"
    "\n"
    "  -h, --help       this help\n";

static int usage_err(void)
{
    fprintf(stderr, "flowsleuth clickhouse: see 'flowsleuth clickhouse --help'\n");
    return 2;
}

/* AGE as whole days: 0, or -1 after saying why. */
static int parse_days(const char *opt, const char *arg, uint32_t *days)
{
    uint64_t ms;
    if (expire_parse_age(arg, &ms) == 0 && ms && ms % 86400000 == 0 && ms / 86400000 <= 100000) {
        *days = (uint32_t)(ms / 86400000);
        return 0;
    }
    fprintf(stderr, "flowsleuth clickhouse: %s needs whole days (90d, 12w), not '%s'\n", opt, arg);
    return -1;
}

/* A connection to URL's server; NULL after saying why. */
static struct ch_http *connect_url(const char *url, struct ch_url *u)
{
    struct fs_err e = { 0 };
    if (ch_url_parse(url, u, &e) != 0) {
        fprintf(stderr, "flowsleuth clickhouse: %s (at byte %lld of the URL)\n", e.msg, e.pos);
        return NULL;
    }
    struct ch_http *h = ch_http_new(u, 60, &e);
    if (!h)
        fprintf(stderr, "flowsleuth clickhouse: %s\n", e.msg);
    return h;
}

/* One statement; the answer in *out when wanted. 0, or -1 after saying the server's text. */
static int run_sql(struct ch_http *h, const char *name, const char *sql, char **out)
{
    struct fs_err e = { 0 };
    int down;
    if (ch_http_post(h, NULL, sql, strlen(sql), out, &down, &e) == 0)
        return 0;
    const char *nl = strchr(sql, '\n');
    fprintf(stderr, "flowsleuth clickhouse: %s: %s\n  in: %.*s\n", name, e.msg,
            (int)(nl ? nl - sql : (long)strlen(sql)), sql);
    return -1;
}

static int apply(const char *url, const struct ch_schema_opts *so)
{
    struct ch_url u;
    struct ch_http *h = connect_url(url, &u);
    if (!h)
        return 1;
    char name[600];
    ch_url_say(&u, name, sizeof(name));
    char *ver = NULL;
    int rc = 1;
    if (run_sql(h, name, "SELECT version()", &ver) == 0) {
        ver[strcspn(ver, "\n")] = '\0';
        struct ch_schema_opts o = *so;
        if (o.ttl_days && !ch_version_has_ttl(ver)) {
            fprintf(stderr,
                    "flowsleuth clickhouse: %s: ClickHouse %s has no table TTL (19.6 and "
                    "later): the tables are made without it; run `flowsleuth clickhouse "
                    "expire --age %ud URL` daily there\n",
                    name, ver, (unsigned)o.ttl_days);
            o.ttl_days = 0;
        }
        size_t n;
        char *sql = ch_schema_sql(&o, &n), *p = sql;
        rc = 0;
        for (size_t i = 0; i < n && !rc; i++, p += strlen(p) + 1)
            rc = run_sql(h, name, p, NULL) ? 1 : 0;
        if (!rc)
            fprintf(stderr, "flowsleuth clickhouse: %s (ClickHouse %s): %zu statements applied\n",
                    name, ver, n);
        free(sql);
    }
    free(ver);
    ch_http_free(h);
    return rc;
}

/* The --apply URLs parse and name one database (o->db, set from them when not given);
 * --db and --cluster are names. 0, or -1 after saying what is wrong. */
static int check_names(const char *const *applies, int napply, struct ch_schema_opts *o)
{
    static char dbname[128];
    for (int i = 0; i < napply; i++) {
        struct ch_url u;
        struct fs_err e = { 0 };
        if (ch_url_parse(applies[i], &u, &e) != 0) {
            fprintf(stderr, "flowsleuth clickhouse: --apply: %s (at byte %lld)\n", e.msg, e.pos);
            return -1;
        }
        if (o->db && strcmp(o->db, u.db) != 0) {
            fprintf(stderr, "flowsleuth clickhouse: --db %s but an --apply URL names %s\n", o->db,
                    u.db);
            return -1;
        }
        snprintf(dbname, sizeof(dbname), "%s", u.db);
        o->db = dbname;
    }
    if ((o->db && !ch_name_ok(o->db)) || (o->cluster && !ch_name_ok(o->cluster))) {
        fprintf(stderr, "flowsleuth clickhouse: --db and --cluster take names of letters, "
                        "digits and _\n");
        return -1;
    }
    return 0;
}

static int print_schema(const struct ch_schema_opts *o)
{
    size_t n;
    char *sql = ch_schema_sql(o, &n), *p = sql;
    printf("-- flowsleuth clickhouse schema --db %s%s%s", o->db ? o->db : "flowsleuth",
           o->cluster ? " --cluster " : "", o->cluster ? o->cluster : "");
    if (o->ttl_days)
        printf(" --ttl %ud", (unsigned)o->ttl_days);
    printf("\n");
    if (o->cluster)
        printf("-- Run on every shard of cluster %s (ON CLUSTER needs ZooKeeper).\n", o->cluster);
    if (o->ttl_days)
        printf("-- TTL needs ClickHouse 19.6 or later; on older servers leave out --ttl and run\n"
               "-- `flowsleuth clickhouse expire --age %ud URL` daily.\n",
               (unsigned)o->ttl_days);
    for (size_t i = 0; i < n; i++, p += strlen(p) + 1)
        printf("\n%s;\n", p);
    free(sql);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

static int cmd_schema(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },      { "cluster", required_argument, NULL, 1 },
        { "db", required_argument, NULL, 2 },    { "ttl", required_argument, NULL, 3 },
        { "apply", required_argument, NULL, 4 }, { NULL, 0, NULL, 0 }
    };
    struct ch_schema_opts o = { 0 };
    const char *applies[64];
    int napply = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case 1:
            o.cluster = optarg;
            break;
        case 2:
            o.db = optarg;
            break;
        case 3:
            if (parse_days("--ttl", optarg, &o.ttl_days) != 0)
                return 2;
            break;
        case 4:
            if (napply == 64) {
                fprintf(stderr, "flowsleuth clickhouse: at most 64 --apply\n");
                return 2;
            }
            applies[napply++] = optarg;
            break;
        default:
            return usage_err();
        }
    }
    if (optind < argc) {
        fprintf(stderr, "flowsleuth clickhouse schema: unexpected argument '%s'\n", argv[optind]);
        return usage_err();
    }
    if (check_names(applies, napply, &o) != 0)
        return 2;
    if (napply) {
        int rc = 0;
        for (int i = 0; i < napply; i++)
            rc |= apply(applies[i], &o);
        return rc;
    }
    return print_schema(&o);
}

/* ---- insert ---- */

struct insert_ctx {
    struct ch_sink *sink;
    FILE *out;
    uint8_t row[CH_ROW];
    int werr;
};

static int insert_flow(void *vctx, const struct flow *f)
{
    struct insert_ctx *x = vctx;
    if (x->sink) {
        ch_sink_add(x->sink, f);
        return 0;
    }
    ch_row_encode(x->row, f, 0);
    if (fwrite(x->row, CH_ROW, 1, x->out) != 1)
        x->werr = 1;
    return x->werr;
}

/* Read the inputs into the sink or the RowBinary file: the exit status. */
static int run_insert(struct input_opts *in, struct ch_sink_args *so, const char *wpath)
{
    struct insert_ctx x = { 0 };
    int failed = 0, status;
    if (so->url) {
        x.sink = sink_open(so, "flowsleuth clickhouse", NULL, NULL, &failed);
        if (failed)
            return 1;
    } else {
        x.out = strcmp(wpath, "-") == 0 ? stdout : fopen(wpath, "wb");
        if (!x.out) {
            perror(wpath);
            return 1;
        }
    }
    status = input_read(in, PROG, insert_flow, &x);
    if (x.sink) {
        if (ch_sink_close(x.sink, 3000, in->stats ? stderr : NULL) != 0)
            status = 1;
    } else if (x.werr || (x.out != stdout ? fclose(x.out) : fflush(x.out)) != 0) {
        fprintf(stderr, "flowsleuth clickhouse: cannot write %s\n", wpath);
        status = 1;
    }
    return status;
}

static int cmd_insert(int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "stats", no_argument, NULL, 1 },
                                              INPUT_LONGOPTS,
                                              SINK_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    struct input_opts in = { 0 };
    struct ch_sink_args so = { 0 };
    const char *wpath = NULL;
    int c, status = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, INPUT_OPTSTRING "w:h", longopts, NULL)) != -1) {
        int used = input_opt(&in, c, optarg);
        if (!used)
            used = sink_opt(&so, "clickhouse", c, optarg);
        if (used < 0)
            goto out;
        if (used)
            continue;
        if (c == 'h') {
            fputs(usage_text, stdout);
            status = 0;
            goto out;
        }
        if (c == 1) {
            in.stats = 1;
            continue;
        }
        if (c != 'w') {
            status = usage_err();
            goto out;
        }
        wpath = optarg;
    }
    if (!so.url == !wpath) {
        fprintf(stderr, "flowsleuth clickhouse insert: give --sink URL or -w FILE\n");
        goto out;
    }
    if (input_filter_args(&in, argc - optind, argv + optind) || input_prepare(&in, PROG))
        goto out;
    status = run_insert(&in, &so, wpath);
out:
    input_free(&in);
    return status;
}

/* ---- expire ---- */

/* "TABLE<tab>YYYYMMDD": 0 with the two, or -1. */
static int parse_part_line(char *line, char **table, unsigned long *part)
{
    char *tab = strchr(line, '\t'), *end;
    if (!tab)
        return -1;
    *tab = '\0';
    *table = line;
    if (tab[1] < '0' || tab[1] > '9')
        return -1;
    *part = strtoul(tab + 1, &end, 10);
    return *end || !ch_name_ok(line) || *part > 99991231 ? -1 : 0;
}

/* Drop (or name, dry) the partitions of system.parts' answer before first_kept. */
static int drop_old(struct ch_http *h, const struct ch_url *u, const char *name, char *ans,
                    unsigned first_kept, int dry, unsigned *dropped)
{
    int rc = 0;
    for (char *line = ans, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *table;
        unsigned long part;
        if (parse_part_line(line, &table, &part) != 0) {
            fprintf(stderr, "flowsleuth clickhouse: %s: unexpected answer line '%.80s'\n", name,
                    line);
            return 1;
        }
        if (part >= first_kept)
            continue;
        char drop[512];
        snprintf(drop, sizeof(drop), "ALTER TABLE %s.%s DROP PARTITION %lu", u->db, table, part);
        printf("%s %s.%s partition %lu\n", dry ? "would drop" : "dropped", u->db, table, part);
        if (!dry && run_sql(h, name, drop, NULL) != 0)
            rc = 1;
        (*dropped)++;
    }
    return rc;
}

static int cmd_expire(int argc, char **argv)
{
    static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
                                              { "age", required_argument, NULL, 1 },
                                              { "dry-run", no_argument, NULL, 2 },
                                              { NULL, 0, NULL, 0 } };
    uint32_t days = 0;
    int dry = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        } else if (c == 1) {
            if (parse_days("--age", optarg, &days) != 0)
                return 2;
        } else if (c == 2) {
            dry = 1;
        } else {
            return usage_err();
        }
    }
    if (!days || optind + 1 != argc) {
        fprintf(stderr, "flowsleuth clickhouse expire: give --age AGE and one URL\n");
        return usage_err();
    }
    struct ch_url u;
    struct ch_http *h = connect_url(argv[optind], &u);
    if (!h)
        return 1;
    char name[600];
    ch_url_say(&u, name, sizeof(name));
    /* The first day kept, as YYYYMMDD (the partition key's value). */
    time_t keep = time(NULL) - (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&keep, &tm);
    unsigned first_kept =
        (unsigned)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
    char q[1024];
    snprintf(q, sizeof(q),
             "SELECT DISTINCT table, partition FROM system.parts WHERE active AND database = "
             "'%s' AND table IN ('flows', 'flows_1m', 'flows_5m', 'flows_1h', 'flows_local', "
             "'flows_1m_local', 'flows_5m_local', 'flows_1h_local') ORDER BY table, partition "
             "FORMAT TabSeparated",
             u.db);
    char *ans = NULL;
    unsigned dropped = 0;
    int rc = run_sql(h, name, q, &ans);
    if (!rc)
        rc = drop_old(h, &u, name, ans, first_kept, dry, &dropped);
    if (!rc)
        fprintf(stderr, "flowsleuth clickhouse: %s: %u partitions %s (days before %u)\n", name,
                dropped, dry ? "would be dropped" : "dropped", first_kept);
    free(ans);
    ch_http_free(h);
    return rc ? 1 : 0;
}

int cmd_clickhouse(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(sub, "schema") == 0)
        return cmd_schema(argc - 1, argv + 1);
    if (strcmp(sub, "insert") == 0)
        return cmd_insert(argc - 1, argv + 1);
    if (strcmp(sub, "expire") == 0)
        return cmd_expire(argc - 1, argv + 1);
    fprintf(stderr, "flowsleuth clickhouse: unknown subcommand '%s' (schema, insert, expire)\n",
            sub);
    return usage_err();
}
