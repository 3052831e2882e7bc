/*
 * matchbench: the matching phase of `flowsleuth match`, timed apart from reading and
 * printing (bench/match.sh). Loads a catalogue, reads every flow of a store into memory
 * (timed as "read"), then times what `match` does with them: match_batch_add screens
 * every flow (payload above --min-size or not) and match_run matches the considered
 * ones, with a callback that only folds each result into a checksum, so two builds can
 * be checked to give the same results.
 *
 *   matchbench CAT STORE [--max-set K] [--runs N]
 *
 * Prints: flows, considered, verdict counts, checksum, read seconds, and per run the
 * match seconds and flows/s (all flows / match seconds); the median run last. Then
 * what the verdicts were worth, from the truth matchgen put in each flow (src_as: the
 * size of the entry downloaded; dst_as 1: a foreign transfer): downloads named right
 * (one entry of the true size) or wrong, possible, ambiguous with the true size among
 * the candidates or not, rejected; foreign transfers named (always wrong) and so on.
 */
#include "detect/catalog.h"
#include "detect/match.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sum {
    uint64_t hash, n, verdict[4];
    const struct catalog *cat;
    /* downloads: right, wrong, possible, ambiguous with the truth, without, rejected */
    uint64_t dl[6], fg[4]; /* foreign: by verdict */
};

/* Whether candidate set i of r is the single entry of size sz. */
static int is_true(const struct sum *s, const struct match_result *r, int i, uint64_t sz)
{
    return r->c[i].k == 1 && s->cat->e[r->c[i].idx[0]].size == sz;
}

static void score(struct sum *s, const struct flow *f, const struct match_result *r)
{
    if (f->dst_as == 1) {
        s->fg[r->verdict & 3]++;
        return;
    }
    if (!f->src_as)
        return;
    int among = 0;
    for (int i = 0; i < r->ncands; i++)
        among |= is_true(s, r, i, f->src_as);
    if (r->verdict == MV_MATCH)
        s->dl[r->ncands == 1 && among ? 0 : 1]++;
    else if (r->verdict == MV_POSSIBLE)
        s->dl[2]++;
    else if (r->verdict == MV_AMBIGUOUS)
        s->dl[among ? 3 : 4]++;
    else
        s->dl[5]++;
}

static void mix(struct sum *s, uint64_t v)
{
    s->hash = (s->hash ^ v) * 0x100000001b3ull;
}

/* Everything a printer would show of a result goes into the checksum. */
static int on_result(void *ctx, const struct flow *f, const struct match_result *r)
{
    struct sum *s = ctx;
    score(s, f, r);
    s->n++;
    s->verdict[r->verdict & 3]++;
    mix(s, (uint64_t)r->verdict << 32 | (uint64_t)r->basis << 16 | (uint64_t)r->ncands);
    mix(s, r->payload);
    mix(s, (uint64_t)r->more << 1 | (uint64_t)r->calibrated);
    for (int i = 0; i < r->ncands; i++) {
        mix(s, (uint64_t)r->c[i].k);
        mix(s, (uint64_t)r->c[i].residual);
        for (int j = 0; j < r->c[i].k; j++)
            mix(s, r->c[i].idx[j]);
    }
    return 0;
}

static struct flow *read_store(const char *path, size_t *n)
{
    struct store_reader *r;
    struct fs_err err = { 0 };
    const char *paths[] = { path };
    if (store_reader_open(&r, paths, 1, NULL, &err) != 0) {
        fprintf(stderr, "matchbench: %s\n", err.msg);
        exit(1);
    }
    size_t cap = 1 << 20, len = 0;
    struct flow *v = malloc(cap * sizeof(*v));
    const struct flow *run;
    size_t k;
    int rc;
    while ((rc = store_reader_next_block(r, &run, &k, &err)) != 0) {
        if (rc < 0) {
            fprintf(stderr, "matchbench: %s\n", err.msg);
            exit(1);
        }
        while (len + k > cap)
            v = realloc(v, (cap *= 2) * sizeof(*v));
        if (!v)
            exit(1);
        memcpy(v + len, run, k * sizeof(*v));
        len += k;
    }
    store_reader_close(r);
    *n = len;
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: matchbench CAT STORE [--max-set K] [--runs N]\n");
        return 2;
    }
    struct match_opts mo;
    match_opts_default(&mo);
    int runs = 3; /* at most 64 */
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--max-set") == 0)
            mo.max_set = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = (int)strtol(argv[i + 1], NULL, 10);
    }
    if (runs < 1 || runs > 64)
        runs = 3;
    if (mo.max_set < 1 || mo.max_set > MATCH_MAX_SET)
        mo.max_set = MATCH_MAX_SET;
    struct catalog cat;
    struct fs_err err = { 0 };
    catalog_init(&cat);
    if (catalog_load(&cat, argv[1], &err) != 0) {
        fprintf(stderr, "matchbench: %s\n", err.msg);
        return 1;
    }
    double t0 = now();
    size_t n;
    struct flow *flows = read_store(argv[2], &n);
    double tread = now() - t0, times[64];
    struct sum s = { 0 };
    size_t considered = 0;
    for (int run = 0; run < runs; run++) {
        struct match_batch b;
        memset(&b, 0, sizeof(b));
        b.o = &mo;
        memset(&s, 0, sizeof(s));
        s.cat = &cat;
        s.hash = 0xcbf29ce484222325ull;
        t0 = now();
        for (size_t i = 0; i < n; i++)
            match_batch_add(&b, &flows[i]);
        match_run(&cat, &mo, b.v, b.n, on_result, &s);
        double t = now() - t0;
        considered = b.n;
        match_batch_free(&b);
        printf("run %d: match %.3f s, %.2f M flows/s\n", run + 1, t, (double)n / t / 1e6);
        times[run] = t;
    }
    /* The median run (the lower middle of an even count): insertion sort of a few. */
    for (int i = 1; i < runs; i++)
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double x = times[j];
            times[j] = times[j - 1];
            times[j - 1] = x;
        }
    double med = times[(runs - 1) / 2];
    printf("flows %zu, considered %zu: match %" PRIu64 ", ambiguous %" PRIu64 ", possible %" PRIu64
           ", rejected %" PRIu64 "; checksum %016" PRIx64 "\n",
           n, considered, s.verdict[MV_MATCH], s.verdict[MV_AMBIGUOUS], s.verdict[MV_POSSIBLE],
           s.verdict[MV_REJECT], s.hash);
    printf("catalogue %zu entries; read %.3f s; median match %.3f s = %.2f M flows/s\n", cat.n,
           tread, med, (double)n / med / 1e6);
    printf("downloads %" PRIu64 ": named right %" PRIu64 ", named wrong %" PRIu64
           ", possible %" PRIu64 ", ambiguous %" PRIu64
           " (true size among the candidates) + %" PRIu64 " (not), rejected %" PRIu64 "\n",
           s.dl[0] + s.dl[1] + s.dl[2] + s.dl[3] + s.dl[4] + s.dl[5], s.dl[0], s.dl[1], s.dl[2],
           s.dl[3], s.dl[4], s.dl[5]);
    printf("foreign %" PRIu64 ": named %" PRIu64 " (all wrong), possible %" PRIu64
           ", ambiguous %" PRIu64 ", rejected %" PRIu64 "\n",
           s.fg[0] + s.fg[1] + s.fg[2] + s.fg[3], s.fg[MV_MATCH], s.fg[MV_POSSIBLE],
           s.fg[MV_AMBIGUOUS], s.fg[MV_REJECT]);
    free(flows);
    catalog_free(&cat);
    return 0;
}
