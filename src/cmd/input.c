#include "input.h"

#include "args.h"

#include "../analytics/eve.h"
#include "../clickhouse/ch.h"
#include "../core/cid.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../query/filter.h"
#include "../query/geo.h"
#include "../query/labels.h"
#include "../query/pdns.h"
#include "../store/nfdump_file.h"
#include "../store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Read a filter file: '#' to the end of a line is a comment, lines are joined. */
static int read_filter_file(struct input_opts *in, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "flowsleuth: cannot read filter file %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 256, len = 0;
    char *text = xmalloc(cap);
    int c, comment = 0;
    while ((c = fgetc(fp)) != EOF) {
        if (c == '#')
            comment = 1;
        if (c == '\n')
            comment = 0;
        if (comment)
            continue;
        if (len + 2 > cap)
            text = xrealloc(text, cap *= 2);
        text[len++] = (char)(c == '\n' || c == '\t' || c == '\r' ? ' ' : c);
    }
    text[len] = '\0';
    fclose(fp);
    free(in->filter_text);
    in->filter_text = text;
    return 1;
}

/* --pdns FILE: the table the name fields and filters use, for the whole run (a second
 * --pdns replaces the first). Lines skipped are said on stderr, never fatal. It is freed
 * at exit, not by input_free: serve frees a request's inputs while other requests still
 * name addresses with it. */
static struct pdns *pdns_loaded;

static void pdns_unload(void)
{
    pdns_use(NULL);
    pdns_free(pdns_loaded);
    pdns_loaded = NULL;
}

/* 1 when the file's first line is a Suricata EVE event (it has "event_type"). */
static int is_eve(const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *nl = memchr(buf, '\n', n);
    if (nl)
        *nl = '\0';
    return strstr(buf, "\"event_type\"") != NULL;
}

/* An EVE file's dns answers (DNS log versions 1 to 3, as pivot --eve reads them) as
 * passive DNS records, each seen once at its event's time. */
static int load_pdns_eve(const char *path, struct pdns **out, struct pdns_stats *st,
                         struct fs_err *err)
{
    struct eve e;
    eve_init(&e);
    if (eve_load(&e, path, err) != 0) {
        eve_free(&e);
        return -1;
    }
    char text[256];
    if (eve_skips_text(&e, text, sizeof(text)))
        fprintf(stderr, "flowsleuth: --pdns %s: %s\n", path, text);
    memset(st, 0, sizeof(*st));
    struct pdns *t = pdns_new();
    for (size_t i = 0; i < e.ndns; i++) {
        const struct eve_dns *d = &e.dns[i];
        uint64_t s = d->ts_ms < 0 ? 0 : (uint64_t)d->ts_ms / 1000;
        pdns_add(t, eve_str(&e, d->rrname), eve_str(&e, d->rrtype), eve_str(&e, d->rdata), s, s, 1,
                 st);
    }
    pdns_finish(t, st);
    eve_free(&e);
    *out = t;
    return 0;
}

static void pdns_say_skipped(const char *path, const struct pdns_stats *st)
{
    uint64_t skipped = 0;
    for (int i = 0; i < PDNS_NSKIP; i++)
        skipped += st->skipped[i];
    if (!skipped)
        return;
    fprintf(stderr, "flowsleuth: --pdns %s: %llu of %llu lines skipped:", path,
            (unsigned long long)skipped, (unsigned long long)st->lines);
    for (int i = 0, first = 1; i < PDNS_NSKIP; i++)
        if (st->skipped[i]) {
            fprintf(stderr, "%s %llu %s", first ? "" : ",", (unsigned long long)st->skipped[i],
                    pdns_skip_name((enum pdns_skip)i));
            first = 0;
        }
    fputc('\n', stderr);
}

static int pdns_add_file(const char *path, struct fs_err *err)
{
    struct pdns *t;
    struct pdns_stats st;
    if (is_eve(path) ? load_pdns_eve(path, &t, &st, err) != 0 : pdns_load(path, &t, &st, err) != 0)
        return -1;
    pdns_say_skipped(path, &st);
    pdns_free(pdns_loaded);
    pdns_loaded = t;
    pdns_use(t);
    return 0;
}

static size_t pdns_count(void)
{
    return pdns_loaded != NULL;
}

/* What --pdns, --label and --mmdb load: kept for the whole run like pdns_loaded, released
 * at exit by a handler set once, with the first that loads. */
struct kept {
    const char *opt; /* before add's error, when the message does not name the option */
    size_t (*count)(void);
    int (*add)(const char *arg, struct fs_err *err);
    void (*release)(void);
};

static const struct kept kept_pdns = { "--pdns ", pdns_count, pdns_add_file, pdns_unload };
static const struct kept kept_label = { "", labels_count, labels_add, labels_free };
static const struct kept kept_mmdb = { "", geo_count, geo_add, geo_free };

static int load_kept(const struct kept *k, const char *arg)
{
    struct fs_err err = { 0 };
    int first = k->count() == 0;
    if (k->add(arg, &err) != 0) {
        fprintf(stderr, "flowsleuth: %s%s\n", k->opt, err.msg);
        return -1;
    }
    if (first)
        atexit(k->release);
    return 1;
}

int input_opt(struct input_opts *in, int c, const char *arg)
{
    switch (c) {
    case 'f':
        return read_filter_file(in, arg);
    case 'r':
        if (in->npaths == INPUT_MAX_PATHS) {
            fprintf(stderr, "flowsleuth: too many -r inputs (at most %d)\n", INPUT_MAX_PATHS);
            return -1;
        }
        in->paths[in->npaths++] = arg;
        return 1;
    case INPUT_OPT_CID_SEED: {
        uint32_t seed;
        if (arg_u32("flowsleuth", "--cid-seed", arg, 0, 65535, &seed) != 0)
            return -1;
        cid_set_seed((uint16_t)seed);
        return 1;
    }
    case INPUT_OPT_PDNS:
        return load_kept(&kept_pdns, arg);
    case INPUT_OPT_LABEL:
        return load_kept(&kept_label, arg);
    case INPUT_OPT_MMDB:
        return load_kept(&kept_mmdb, arg);
    case 't':
        if (parse_time_window(arg, now_ms(), &in->from_ms, &in->to_ms) != 0) {
            fprintf(stderr,
                    "flowsleuth: bad time window '%s' (FROM..TO, e.g. "
                    "2026-11-01T08:00..2026-11-01T09:00, @1700000000.., -2h)\n",
                    arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

int input_filter_args(struct input_opts *in, int argc, char **argv)
{
    if (argc <= 0)
        return 0;
    if (in->filter_text) {
        fprintf(stderr, "flowsleuth: give the filter either with -f or as arguments\n");
        return 2;
    }
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = xmalloc(n), *p = s;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (i)
            *p++ = ' ';
        memcpy(p, argv[i], len);
        p += len;
    }
    *p = '\0';
    in->filter_text = s;
    return 0;
}

int input_prepare(struct input_opts *in, const char *prog)
{
    if (!in->filter_text)
        return 0;
    struct fs_err err = { 0 };
    if (filter_compile(in->filter_text, &in->filter, &err) == 0)
        return 0;
    fprintf(stderr, "%s: bad filter: %s\n  %s\n", prog, err.msg, in->filter_text);
    if (err.pos >= 0 && (size_t)err.pos <= strlen(in->filter_text))
        fprintf(stderr, "  %*s^\n", (int)err.pos, "");
    return 2;
}

/* The nfdump conversions of the last input_open (their threads may still run). */
static void nfdump_release(struct input_opts *in)
{
    if (!in->nfdump)
        return;
    nfdump_inputs_free(in->nfdump);
    free(in->nfdump);
    in->nfdump = NULL;
}

/* The ClickHouse reads of the last input_open (their thread may still run). */
static void ch_release(struct input_opts *in)
{
    if (!in->ch)
        return;
    ch_inputs_free(in->ch);
    free(in->ch);
    in->ch = NULL;
}

void input_free(struct input_opts *in)
{
    filter_free(in->filter);
    in->filter = NULL;
    free(in->filter_text);
    in->filter_text = NULL;
    nfdump_release(in);
    ch_release(in);
}

void input_print_rstats(const char *prog, const struct store_rstats *st)
{
    fprintf(stderr,
            "%s: files read %llu, skipped by time %llu; blocks read %llu, skipped %llu, "
            "bad %llu; records %llu; errors %llu\n",
            prog, (unsigned long long)st->files_opened, (unsigned long long)st->files_skipped,
            (unsigned long long)st->blocks_read, (unsigned long long)st->blocks_skipped,
            (unsigned long long)st->blocks_bad, (unsigned long long)st->records,
            (unsigned long long)st->errors);
}

static void nfdump_warn(void *prog, const char *msg)
{
    fprintf(stderr, "%s: %s\n", (const char *)prog, msg);
}

static void nfdump_print_stats(const char *prog, const struct nfd_stats *st)
{
    fprintf(stderr,
            "%s: nfdump files read %llu, skipped by time %llu, failed %llu; blocks read %llu, "
            "bad %llu; flows %llu\n",
            prog, (unsigned long long)st->files, (unsigned long long)st->files_skipped,
            (unsigned long long)st->errors, (unsigned long long)st->blocks,
            (unsigned long long)st->blocks_bad, (unsigned long long)st->flows);
}

/* --stats of the ClickHouse reads; 1 when one failed. */
static int ch_end(struct input_opts *in, const char *prog)
{
    if (!in->ch)
        return 0;
    struct ch_read_stats st;
    ch_inputs_stats(in->ch, &st);
    if (in->stats && in->ch->paths)
        fprintf(stderr,
                "%s: clickhouse inputs %llu; rows received %llu, bytes %llu; errors %llu; "
                "WHERE: %s\n",
                prog, (unsigned long long)st.inputs, (unsigned long long)st.rows,
                (unsigned long long)st.bytes, (unsigned long long)st.errors,
                st.pushed ? "time window and filter" : "time window (filter run here)");
    ch_release(in);
    return st.errors != 0;
}

int input_nfdump_end(struct input_opts *in, const char *prog)
{
    int ch_failed = ch_end(in, prog);
    if (!in->nfdump)
        return ch_failed;
    struct nfd_stats st;
    nfdump_inputs_stats(in->nfdump, &st);
    if (in->stats && in->nfdump->paths)
        nfdump_print_stats(prog, &st);
    nfdump_release(in);
    return ch_failed || st.errors || st.blocks_bad;
}

struct store_reader *input_open(struct input_opts *in, const char *prog)
{
    static const char *const stdin_path[] = { "-" };
    const char *const *paths = in->npaths ? in->paths : stdin_path;
    size_t npaths = in->npaths ? in->npaths : 1;
    struct store_ropts ro = { in->from_ms, in->to_ms };
    struct store_reader *r = NULL;
    struct fs_err err = { 0 };
    in->open_failed = 1; /* until the reader stands */
    /* nfdump's files and folders: converted on threads into a stream each. */
    nfdump_release(in);
    in->nfdump = xcalloc(1, sizeof(*in->nfdump));
    struct nfd_sink warn = { NULL, nfdump_warn, (void *)prog };
    if (nfdump_inputs_prepare(in->nfdump, paths, npaths, in->from_ms, in->to_ms, &warn, &err)) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        nfdump_release(in);
        return NULL;
    }
    const char *const *rp = in->nfdump->paths ? in->nfdump->paths : paths;
    /* clickhouse:// URLs: a SELECT each, streamed by a thread (src/clickhouse/read.c). */
    ch_release(in);
    in->ch = xcalloc(1, sizeof(*in->ch));
    struct ch_read_opts co = { in->from_ms, in->to_ms, in->filter_text, nfdump_warn, (void *)prog };
    int rc = ch_inputs_prepare(in->ch, rp, npaths, &co, &err);
    if (rc == 0) {
        rp = in->ch->paths ? in->ch->paths : rp;
        rc = store_reader_open(&r, rp, npaths, &ro, &err);
    }
    if (rc != 0) {
        nfdump_release(in);
        ch_release(in);
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return NULL;
    }
    in->open_failed = 0;
    return r;
}

int input_read(struct input_opts *in, const char *prog, int (*fn)(void *ctx, const struct flow *f),
               void *ctx)
{
    struct store_reader *r = input_open(in, prog);
    if (!r)
        return 1;
    struct fs_err err = { 0 };
    int status = 0, rc, stop = 0;
    const struct flow *v;
    size_t n;
    /* A run at a time: the per-record cost is the filter and fn, not a reader call. */
    while (!stop && (rc = store_reader_next_block(r, &v, &n, &err)) != 0) {
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            status = 1;
            continue;
        }
        const struct filter *flt = in->filter;
        for (size_t i = 0; i < n && !stop; i++)
            if (!flt || filter_match(flt, &v[i]))
                stop = fn(ctx, &v[i]);
    }
    if (in->stats) {
        struct store_rstats st;
        store_reader_stats(r, &st);
        input_print_rstats(prog, &st);
    }
    store_reader_close(r);
    return input_nfdump_end(in, prog) ? 1 : status;
}

int flow_vec_keep(void *ctx, const struct flow *f)
{
    struct flow_vec *fl = ctx;
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? fl->cap * 2 : 1024;
        fl->v = xrealloc(fl->v, fl->cap * sizeof(*fl->v));
    }
    fl->v[fl->n++] = *f;
    return 0;
}
