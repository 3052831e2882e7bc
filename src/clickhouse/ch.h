/*
 * ClickHouse, the scale-out store (DESIGN.md "Scale-out"; docs/internals/clickhouse.md).
 *
 *   url.c     clickhouse://[USER[:PASS]@]HOST[:PORT]/DB[?table=T]: parsed, and said with
 *             the password left out (logs and --status never show it)
 *   schema.c  the DDL: the flow table, its rollups and their views, a cluster's
 *             Distributed tables; which of it a server version accepts
 *   row.c     one flow as a RowBinary row of the flow table (fixed size: CH_ROW bytes)
 *   http.c    one POST to the HTTP interface through libcurl, opened with dlopen when a
 *             command first talks to a server (every other command starts without it)
 *   sink.c    --sink: batches filled on the receive path, sent by a thread of their own,
 *             spooled to disk while the server is down or slow, resent exactly once
 *   rowdec.c  a row of SELECT ... FORMAT RowBinary back into a flow (row.c's inverse)
 *   where.c   the -t window and the filter as a WHERE clause, when every term has one
 *   read.c    -r clickhouse://: one SELECT streamed into a pipe as a flowsleuth stream
 *   group.c   stats -s as a GROUP BY on the server, only the top rows sent (group.h)
 *   series.c  count as a GROUP BY of the bins on the server (series.h)
 */
#ifndef FS_CH_H
#define FS_CH_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- url.c ---- */
struct ch_url {
    char host[256];
    unsigned port; /* default 8123 */
    char db[128];
    char table[128]; /* default "flows" */
    char user[128], pass[128];
    int has_user;
};

/* Parse a clickhouse:// URL into *u: 0, or -1 with e naming what is wrong (the message
 * never holds the password). */
int ch_url_parse(const char *s, struct ch_url *u, struct fs_err *e);
/* "clickhouse://USER@HOST:PORT/DB" (no password) into buf. */
void ch_url_say(const struct ch_url *u, char *buf, size_t len);
/* A name ClickHouse takes unquoted: [A-Za-z_][A-Za-z0-9_]*, at most 127 bytes. */
int ch_name_ok(const char *s);

/* ---- schema.c ---- */
struct ch_schema_opts {
    const char *db;      /* default "flowsleuth" */
    const char *cluster; /* NULL: one server */
    uint32_t ttl_days;   /* 0: no TTL clause */
};

/* The DDL as a list of statements (NUL-separated in one allocation, count in *n). */
char *ch_schema_sql(const struct ch_schema_opts *o, size_t *n);
/* The tables the schema makes that hold rows (flows and rollups), NULL-terminated;
 * with a cluster, the local ones. */
const char *const *ch_schema_tables(int cluster);
/* Whether a server of this version ("18.16.1") accepts a table TTL (19.6 and later). */
int ch_version_has_ttl(const char *version);

/* ---- row.c ---- */
#define CH_ROW           251 /* bytes of one RowBinary row of the flow table */
#define CH_ROW_BIN_OFF   0
#define CH_ROW_BATCH_OFF (CH_ROW - 8)
/* The columns of the flow table in row order: name and ClickHouse type. */
struct ch_col {
    const char *name, *type;
};
extern const struct ch_col ch_cols[];
extern const size_t ch_ncols;
void ch_row_encode(uint8_t out[CH_ROW], const struct flow *f, uint64_t batch);
/* The 5-minute bin (seconds) of a flow: its last packet, as the store files it. */
uint32_t ch_row_bin(const struct flow *f);
/* The day (days since the epoch) of an encoded row, from its bin. */
uint32_t ch_row_day(const uint8_t row[CH_ROW]);

/* ---- http.c ---- */
struct ch_http;
/* A connection to u's server (kept alive between posts): NULL with e said when
 * libcurl cannot be loaded. */
struct ch_http *ch_http_new(const struct ch_url *u, long timeout_s, struct fs_err *e);
void ch_http_free(struct ch_http *h);
/* POST body to /?query=QUERY (NULL: body is the query): 0, or -1 with e holding the
 * server's own text (or curl's) and *down set when the server was not reached or
 * answered with no status (try again later) rather than with an error. The answer
 * goes into *out (malloc'd, NUL-terminated) when out is not NULL. */
int ch_http_post(struct ch_http *h, const char *query, const void *body, size_t len, char **out,
                 int *down, struct fs_err *e);

/* POST query as the body and hand the answer to fn as it arrives (fn returns 0 to
 * stop: the transfer ends with an error); no overall timeout, as a reader may take
 * its time. 0, or -1 with e holding the server's text (or curl's). */
int ch_http_stream(struct ch_http *h, const char *query,
                   int (*fn)(void *ctx, const uint8_t *p, size_t n), void *ctx, struct fs_err *e);

/* ---- rowdec.c ---- */
/* Bytes of one row as read: every column of the flow table but bin and batch. */
#define CH_RROW (CH_ROW - 12)
/* The columns read, comma-separated, in the order ch_row_decode takes them. */
const char *ch_read_columns(void);
/* Decode one row (CH_RROW bytes) into *f: 0, or -1 with e naming what is wrong (an IP
 * version that is neither 4 nor 6). */
int ch_row_decode(const uint8_t row[CH_RROW], struct flow *f, struct fs_err *e);

/* Rows split anywhere between the chunks of an answer. */
struct ch_rows {
    uint8_t part[CH_RROW];
    size_t npart;
    uint64_t rows;                                /* decoded */
    int (*flow)(void *ctx, const struct flow *f); /* nonzero: stop (ch_rows_feed: 1) */
    void *ctx;
};
/* 0, 1 when flow asked to stop, -1 with e set on a bad row (named by its number). */
int ch_rows_feed(struct ch_rows *d, const uint8_t *p, size_t n, struct fs_err *e);
/* At the end of the answer: 0, or -1 when it ended inside a row. */
int ch_rows_end(const struct ch_rows *d, struct fs_err *e);

/* ---- where.c ---- */
/* The filter text as a SQL condition on the flow table (malloc'd), or NULL when a term
 * has no SQL form (a computed field: cid, name, label, cc, asn, hour, sni...) or
 * the text does not parse; *why (may be NULL) then says which. */
char *ch_where_filter(const char *text, const char **why);
/* The WHERE of a read: the window [from_ms, to_ms) (0 = open) as the store reader takes
 * it (last >= from, first < to) and the filter when it translates (*pushed = 1). */
char *ch_where(const char *filter_text, uint64_t from_ms, uint64_t to_ms, int *pushed,
               const char **why);

/* ---- read.c ---- */
struct ch_shared;
struct ch_inputs {
    const char **paths; /* the -r paths with clickhouse:// ones replaced; NULL = none */
    char **owned;       /* the "/dev/fd/N" strings */
    size_t npaths, nowned;
    struct ch_shared *sh;
};
struct ch_read_opts {
    uint64_t from_ms, to_ms;
    const char *filter; /* text, NULL = none */
    void (*warn)(void *ctx, const char *msg);
    void *ctx;
};
struct ch_read_stats {
    uint64_t inputs, rows, bytes, errors;
    int pushed; /* the filter went into the WHERE of every input */
};
/* 1 when path names a ClickHouse input. */
int ch_is_url(const char *path);
/* Replace every clickhouse:// path by "/dev/fd/N", the read end of a pipe that one
 * thread (for all of them, in order) fills with the rows of a SELECT as a flowsleuth
 * stream. 0 (out->paths NULL when none was a URL), or -1 with err said (a bad URL: the
 * message holds no password). */
int ch_inputs_prepare(struct ch_inputs *out, const char *const *paths, size_t npaths,
                      const struct ch_read_opts *o, struct fs_err *err);
void ch_inputs_stats(const struct ch_inputs *in, struct ch_read_stats *st);
void ch_inputs_free(struct ch_inputs *in);

/* One server asked for an answer on its side (group.c, series.c): the URL, its name
 * without the password, the read's WHERE and the connection. */
struct ch_push {
    struct ch_url u;
    char name[700];
    char *where;
    struct ch_http *h;
};
/* Open it for url (timeout_s 0 = the HTTP default). 0, or -1 with e said. */
int ch_push_open(struct ch_push *p, const char *url, const struct ch_read_opts *o, long timeout_s,
                 struct fs_err *e);
/* Free it; a nonzero rc's message gets the server's name in front. Returns rc. */
int ch_push_close(struct ch_push *p, int rc, struct fs_err *e);
/* 1 when every path is a clickhouse:// URL (and there is one) and the filter (NULL =
 * none) goes whole into the WHERE: what an answer asked of the server needs. */
int ch_push_ok(const char *const *paths, size_t npaths, const char *filter);

/* ---- sink.c ---- */
struct ch_sink_opts {
    const char *spool;   /* spool folder (created) */
    uint32_t batch_rows; /* rows a batch (default 100000) */
    uint32_t batch_ms;   /* oldest row waits at most this (default 1000) */
    uint64_t spool_max;  /* bytes of spool (default 1 GiB) */
    uint64_t mem_max;    /* bytes of batches in memory (default 256 MiB) */
    long timeout_s;      /* one HTTP request (default 30) */
    const char *who;     /* "flowsleuth collect" */
};

struct ch_sink_stats {
    uint64_t rows, sent_rows, batches, sent_batches;
    uint64_t spooled_batches, spool_bytes, spool_files; /* spool: written ever, now */
    uint64_t resent_batches, skipped_rows;              /* resends; rows found there */
    uint64_t failures, lost_rows;                       /* failed posts; dropped (spool full) */
    int down;                                           /* the last post failed */
};

/* --sink and its options as a command takes them (src/cmd/sink_opt.h). */
struct ch_sink_args {
    const char *url, *spool;
    struct ch_sink_opts o;
};

struct ch_sink;
struct ch_sink *ch_sink_open(const char *url, const struct ch_sink_opts *o, struct fs_err *e);
/* Add one flow (the receive path: a copy into the open batch, never I/O). */
void ch_sink_add(struct ch_sink *s, const struct flow *f);
/* Close (NULL: nothing): hand the open batch over, send what memory and the spool
 * hold (wait_ms at most while the server is down: then the rest goes to the spool for
 * the next run); the final counters to stats when not NULL. Returns 0, or 1 when rows
 * were lost (said). */
int ch_sink_close(struct ch_sink *s, uint64_t wait_ms, FILE *stats);
void ch_sink_get_stats(struct ch_sink *s, struct ch_sink_stats *st);
/* The server's "DAY<tab>COUNT" lines (the check before a resend): 0, or -1 (e). */
int ch_parse_day_counts(const char *ans, uint32_t *days, uint64_t *counts, size_t max, size_t *n,
                        struct fs_err *e);
/* One line of the sink's counters (--status, --stats, the rotation log); nothing for
 * NULL. */
void ch_sink_print_stats(FILE *out, struct ch_sink *s);
/* "clickhouse://USER@HOST:PORT/DB" of the sink. */
const char *ch_sink_name(const struct ch_sink *s);

#endif
