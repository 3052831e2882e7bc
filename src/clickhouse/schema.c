/*
 * The DDL of the ClickHouse scale-out (docs/internals/clickhouse.md): the flow table
 * (MergeTree, a partition a day, ordered by the 5-minute bin then the exporter), three
 * rollups (SummingMergeTree: a minute, 5 minutes, an hour) filled by materialized
 * views, and with a cluster the local tables plus Distributed tables over them. Only
 * syntax that Debian 12's 18.16 and current servers both accept; the TTL clause is
 * printed when asked for, as 18.16 does not know it (ch_version_has_ttl).
 */
#include "../core/strbuf.h"
#include "../core/xalloc.h"
#include "ch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rollup {
    const char *name, *time;
};

/* The rollups: a table each, with the time expression its view groups by. */
static const struct rollup rollups[] = {
    { "flows_1m", "toStartOfMinute(toDateTime(intDiv(last, 1000)))" },
    { "flows_5m", "bin" },
    { "flows_1h", "toStartOfHour(bin)" },
};

/* The keys of every rollup, after its time. */
static const char rollup_keys[] = "exporter, in_if, out_if, src_as, dst_as, proto";
static const char rollup_key_cols[] = "exporter FixedString(16), in_if UInt32, out_if UInt32, "
                                      "src_as UInt32, dst_as UInt32, proto UInt8";

static const char *const tables[] = { "flows", "flows_1m", "flows_5m", "flows_1h", NULL };
static const char *const tables_local[] = { "flows_local", "flows_1m_local", "flows_5m_local",
                                            "flows_1h_local", NULL };

const char *const *ch_schema_tables(int cluster)
{
    return cluster ? tables_local : tables;
}

int ch_version_has_ttl(const char *version)
{
    char *end;
    if (*version < '0' || *version > '9')
        return 0;
    unsigned long maj = strtoul(version, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        return 0;
    unsigned long min = strtoul(end + 1, NULL, 10);
    return maj > 19 || (maj == 19 && min >= 6);
}

struct buf {
    struct strbuf s;
    size_t n; /* statements ended */
};

static void add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(&b->s, fmt, ap);
    va_end(ap);
}

/* End one statement: its NUL separates it from the next. */
static void end(struct buf *b)
{
    add(b, "%c", 'x');
    b->s.p[b->s.len - 1] = '\0';
    b->n++;
}

static void ttl(struct buf *b, const struct ch_schema_opts *o, const char *col)
{
    if (o->ttl_days)
        add(b, "\nTTL %s + INTERVAL %u DAY", col, (unsigned)o->ttl_days);
}

char *ch_schema_sql(const struct ch_schema_opts *o, size_t *n)
{
    struct buf b = { { NULL, 0, 4096 }, 0 };
    const char *db = o->db ? o->db : "flowsleuth";
    const char *sfx = o->cluster ? "_local" : "";
    add(&b, "CREATE DATABASE IF NOT EXISTS %s", db);
    end(&b);
    add(&b, "CREATE TABLE IF NOT EXISTS %s.flows%s\n(\n", db, sfx);
    for (size_t i = 0; i < ch_ncols; i++)
        add(&b, "    %s %s%s\n", ch_cols[i].name, ch_cols[i].type, i + 1 < ch_ncols ? "," : "");
    add(&b, ")\nENGINE = MergeTree()\nPARTITION BY toYYYYMMDD(bin)\nORDER BY (bin, exporter)");
    ttl(&b, o, "bin");
    add(&b, "\nSETTINGS index_granularity = 8192");
    end(&b);
    for (size_t r = 0; r < sizeof(rollups) / sizeof(rollups[0]); r++) {
        const struct rollup *ru = &rollups[r];
        add(&b,
            "CREATE TABLE IF NOT EXISTS %s.%s%s\n(\n    t DateTime, %s,\n    flows UInt64, "
            "bytes UInt64, packets UInt64, rbytes UInt64, rpackets UInt64\n)\n"
            "ENGINE = SummingMergeTree()\nPARTITION BY toYYYYMMDD(t)\nORDER BY (t, %s)",
            db, ru->name, sfx, rollup_key_cols, rollup_keys);
        ttl(&b, o, "t");
        end(&b);
        add(&b,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s_mv%s TO %s.%s%s AS\nSELECT %s AS t, "
            "%s,\n    count() AS flows, sum(bytes) AS bytes, sum(packets) AS packets,\n    "
            "sum(rbytes) AS rbytes, sum(rpackets) AS rpackets\nFROM %s.flows%s\nGROUP BY t, %s",
            db, ru->name, sfx, db, ru->name, sfx, ru->time, rollup_keys, db, sfx, rollup_keys);
        end(&b);
    }
    if (o->cluster) {
        for (int i = 0; tables[i]; i++) {
            add(&b,
                "CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s\nENGINE = Distributed(%s, %s, %s, "
                "rand())",
                db, tables[i], db, tables_local[i], o->cluster, db, tables_local[i]);
            end(&b);
        }
    }
    *n = b.n;
    return b.s.p;
}
