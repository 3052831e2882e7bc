/*
 * --sink and its options (sink_opt.h).
 */
#include "sink_opt.h"

#include "../core/xalloc.h"
#include "../store/expire.h"
#include "args.h"

#include <stdlib.h>
#include <string.h>

int sink_opt(struct sink_opts *so, const char *cmd, int c, const char *arg)
{
    uint32_t v;
    switch (c) {
    case SINK_OPT_URL: {
        struct ch_url u;
        struct fs_err e = { 0 };
        if (ch_url_parse(arg, &u, &e) != 0) {
            /* never the argument itself: it may hold a password */
            fprintf(stderr, "flowsleuth %s: --sink: %s (at byte %lld)\n", cmd, e.msg, e.pos);
            return -1;
        }
        so->url = arg;
        return 1;
    }
    case SINK_OPT_SPOOL:
        so->spool = arg;
        return 1;
    case SINK_OPT_BATCH:
        if (arg_u32(cmd, "--sink-batch", arg, 1000, 1000000, &v) != 0)
            return -1;
        so->o.batch_rows = v;
        return 1;
    case SINK_OPT_SPOOL_MAX:
        if (expire_parse_size(arg, &so->o.spool_max) != 0 || !so->o.spool_max) {
            fprintf(stderr,
                    "flowsleuth %s: --sink-spool-max needs a size such as 10G, 500M, "
                    "not '%s'\n",
                    cmd, arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

struct ch_sink *sink_open(struct sink_opts *so, const char *who, const char *store, int *failed)
{
    *failed = 0;
    if (!so->url) {
        if (so->spool)
            fprintf(stderr, "%s: --sink-spool without --sink\n", who);
        *failed = so->spool != NULL;
        return NULL;
    }
    char *def = NULL;
    const char *spool = so->spool;
    if (!spool && store) {
        def = xmalloc(strlen(store) + 32);
        sprintf(def, "%s/.clickhouse-spool", store);
        spool = def;
    }
    if (!spool) {
        fprintf(stderr,
                "%s: --sink needs --sink-spool DIR (or -w STORE/: its spool is "
                "STORE/.clickhouse-spool)\n",
                who);
        *failed = 1;
        return NULL;
    }
    so->o.spool = spool;
    so->o.who = who;
    struct fs_err e = { 0 };
    struct ch_sink *s = ch_sink_open(so->url, &so->o, &e);
    free(def);
    if (!s) {
        fprintf(stderr, "%s: --sink: %s\n", who, e.msg);
        *failed = 1;
    }
    return s;
}

void sink_print_stats(FILE *out, struct ch_sink *s)
{
    if (!s)
        return;
    struct ch_sink_stats st;
    ch_sink_get_stats(s, &st);
    fprintf(out,
            "sink %s: %s, rows %llu, sent %llu in %llu batches, spool %llu files (%llu bytes), "
            "spooled %llu, resent %llu (%llu rows were there), failed posts %llu, lost %llu\n",
            ch_sink_name(s), st.down ? "DOWN" : "up", (unsigned long long)st.rows,
            (unsigned long long)st.sent_rows, (unsigned long long)st.sent_batches,
            (unsigned long long)st.spool_files, (unsigned long long)st.spool_bytes,
            (unsigned long long)st.spooled_batches, (unsigned long long)st.resent_batches,
            (unsigned long long)st.skipped_rows, (unsigned long long)st.failures,
            (unsigned long long)st.lost_rows);
}
