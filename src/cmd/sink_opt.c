/*
 * --sink and its options (sink_opt.h).
 */
#include "sink_opt.h"

#include "../core/xalloc.h"
#include "../store/expire.h"
#include "args.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sink_opt(struct ch_sink_args *so, const char *cmd, int c, const char *arg)
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

struct ch_sink *sink_open(struct ch_sink_args *so, const char *who, const char *store,
                          const char *user, int *failed)
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
        size_t n = strlen(store);
        while (n > 1 && store[n - 1] == '/')
            n--;
        def = xmalloc(n + 32);
        snprintf(def, n + 32, "%.*s/.clickhouse-spool", (int)n, store);
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
    struct passwd *pw = user ? getpwnam(user) : NULL;
    if (s && pw && chown(spool, pw->pw_uid, pw->pw_gid) != 0) {
        fprintf(stderr, "%s: cannot give the spool %s to %s: %s\n", who, spool, user,
                strerror(errno));
        ch_sink_close(s, 0, NULL);
        s = NULL;
    } else if (!s) {
        fprintf(stderr, "%s: --sink: %s\n", who, e.msg);
    }
    *failed = s == NULL;
    free(def);
    return s;
}
