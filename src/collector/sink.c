/*
 * Where the collector's decoded records go: printed (no -w), one file or stdout (-w
 * FILE, -w -), or a store folder (-w STORE/) through its open bins (bins.h), with the
 * housekeeping of each rotation: the counters logged, STORE/.templates saved, expiry.
 */
#include "../core/atomic_file.h"
#include "../core/xalloc.h"
#include "../store/expire.h"
#include "collector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint64_t collect_now_ms(void)
{
    return bins_wall_ms(NULL);
}

/* An exporter's first flow far ahead of its arrival: its clock is wrong (once each). */
static void warn_future(const struct flow *f)
{
    char addr[INET6_ADDRSTRLEN] = "-";
    if (flow_addr_is_v4mapped(f->exporter))
        inet_ntop(AF_INET, f->exporter + 12, addr, sizeof(addr));
    else
        inet_ntop(AF_INET6, f->exporter, addr, sizeof(addr));
    fprintf(stderr,
            "flowsleuth collect: %s: flows end more than a day after they arrive (a wrong "
            "exporter clock?); counted as 'future' from now on%s\n",
            addr, "; --bin-by received files them by arrival");
}

/*
 * A store folder files each record by its flow time, or by the datagram's arrival with
 * --bin-by received and for a time out of range (a record's time never costs another
 * record: a bin it cannot name is no I/O error).
 */
int collect_store_flow(void *vctx, const struct flow *f)
{
    struct collect_run *r = vctx;
    struct collect_flow_info in;
    collector_flow_info(r->col, &in);
    if (in.future_first)
        warn_future(f);
    if (r->ch)
        ch_sink_add(r->ch, f);
    if (r->printing) {
        output_flow(&r->out, f);
        return 0;
    }
    if (r->folder) {
        bins_add(&r->bins, f, r->a->bin_received || in.bad_time ? in.recv_ms : f->last);
        return 0;
    }
    if (!r->write_err && store_writer_add(r->w, f, &r->err) != 0)
        r->write_err = 1;
    r->pending += !r->write_err;
    return r->write_err;
}

void collect_templates_load(struct collect_run *run)
{
    FILE *fp = fopen(run->tmpl_path, "rb");
    if (!fp)
        return;
    uint8_t *buf = xmalloc(TMPL_MAXSIZE);
    size_t n = fread(buf, 1, TMPL_MAXSIZE, fp), nt = 0;
    struct fs_err e = { 0 };
    if (ferror(fp) || n == TMPL_MAXSIZE)
        fs_err_set(&e, FS_EINVAL, -1, "cannot read it whole");
    else
        collector_load(run->col, buf, n, &nt, &e);
    fclose(fp);
    free(buf);
    if (e.code)
        fprintf(stderr, "flowsleuth collect: %s: %s; starting without saved templates\n",
                run->tmpl_path, e.msg);
    else
        fprintf(stderr, "flowsleuth collect: %s: %zu templates loaded\n", run->tmpl_path, nt);
}

/* STORE/.templates replaced whole (atomic_file.h): a crash leaves the old file. */
static void templates_save(struct collect_run *run)
{
    size_t len;
    uint8_t *buf = collector_save(run->col, &len);
    struct fs_err e = { 0 };
    if (atomic_file_write(run->tmpl_path, buf, len, &e) != 0) {
        /* Once per episode: a full disk met this at every rotation. */
        if (!run->tmpl_failing)
            fprintf(stderr,
                    "flowsleuth collect: cannot save templates: %s (said once; failed saves "
                    "are counted in --status)\n",
                    e.msg);
        run->tmpl_failing = 1;
        run->tmpl_save_failed++;
    } else if (run->tmpl_failing) {
        fprintf(stderr, "flowsleuth collect: %s: templates saved again after %llu failed saves\n",
                run->tmpl_path, (unsigned long long)run->tmpl_save_failed);
        run->tmpl_failing = 0;
    }
    free(buf);
}

struct expire_ctx {
    int dry_run;
};

static void expire_say(void *ctx, const char *path, uint64_t bytes, const char *why)
{
    const struct expire_ctx *x = ctx;
    fprintf(stderr, "flowsleuth collect: %s %s (%llu bytes, %s)\n",
            x->dry_run ? "would expire" : "expired", path, (unsigned long long)bytes, why);
}

static void expire_run(struct collect_run *run)
{
    const struct collect_args *a = run->a;
    if (!a->expire_age_ms && !a->expire_bytes)
        return;
    struct expire_opts o = { a->expire_age_ms, a->expire_bytes, collect_now_ms(), a->dry_run };
    struct expire_ctx x = { a->dry_run };
    struct expire_stats st;
    struct fs_err e = { 0 };
    if (store_expire(a->wpath, &o, expire_say, &x, &st, &e) != 0)
        fprintf(stderr, "flowsleuth collect: expiry: %s\n", e.msg);
    if (!a->dry_run)
        run->expired += st.removed;
}

/* At start: temp files of writers killed before they finished (kill -9) go; with
 * --expire-dry-run they are only named, as every removal of a dry run. */
void collect_stale_cleanup(struct collect_run *run)
{
    int dry = run->a->dry_run;
    struct expire_opts o = { 0, 0, collect_now_ms(), dry };
    struct expire_ctx x = { dry };
    struct expire_stats st;
    struct fs_err e = { 0 };
    if (store_expire(run->a->wpath, &o, dry ? expire_say : NULL, &x, &st, &e) != 0)
        fprintf(stderr, "flowsleuth collect: %s\n", e.msg);
    else if (st.stale_tmp && !dry)
        fprintf(stderr,
                "flowsleuth collect: removed %llu unfinished bin files of a collector "
                "that was killed\n",
                (unsigned long long)st.stale_tmp);
}

/* The rest of a rotation once its files are closed: log, save the templates, expire
 * (in that order, as a full disk is first met by the bin files). */
static void rotated(void *ctx, int log)
{
    struct collect_run *run = ctx;
    if (log)
        collect_print_stats(stderr, run);
    if (run->tmpl_path)
        templates_save(run);
    expire_run(run);
}

static int is_folder(const char *path)
{
    struct stat st;
    size_t len = strlen(path);
    return strcmp(path, "-") != 0 &&
           ((len && path[len - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)));
}

int collect_open_sink(struct collect_args *a, struct collect_run *run)
{
    if (a->wpath && is_folder(a->wpath)) {
        struct bins_clock wall = { bins_wall_ms, NULL };
        bins_init(&run->bins, "flowsleuth collect", a->wpath, &a->wo, wall, rotated, run);
        /* Created now so a bad path fails at once; bins are opened as flows come. */
        if (bins_open(&run->bins, &run->err) == 0) {
            run->folder = 1;
            return 0;
        }
    } else if (a->wpath) {
        if (store_writer_open(&run->w, a->wpath, &a->wo, &run->err) == 0)
            return 0;
    } else {
        run->printing = 1;
        if (output_init(&run->out, a->format ? a->format : "table", a->plain, stdout, &run->err) ==
            0)
            return 0;
        fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
        return 2;
    }
    fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
    return 1;
}

int collect_close_sink(struct collect_run *run, int failed)
{
    if (run->printing) {
        /* An input that did not open prints nothing, not even a header. */
        if (failed && !run->out.rows)
            return 0;
        output_finish(&run->out);
        if (output_check(&run->out, "stdout", &run->err) != 0) {
            fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
            return 1;
        }
        return 0;
    }
    if (run->folder) {
        bins_finish(&run->bins);
        if (run->bins.lost)
            fprintf(stderr, "flowsleuth collect: %llu records lost to store write errors\n",
                    (unsigned long long)run->bins.lost);
        return run->bins.lost ? 1 : 0;
    }
    if (store_writer_close(run->w, run->write_err ? NULL : &run->err) != 0 || run->write_err) {
        fprintf(stderr, "flowsleuth collect: %s\n", run->err.msg);
        return 1;
    }
    return 0;
}
