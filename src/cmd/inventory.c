/*
 * flowsleuth inventory: per client host, the packages and versions its identified
 * downloads reveal and the platform (OS/suite, architecture) they imply, with the
 * evidence (flow count, first and last seen). Only unique matches count; ambiguous
 * flows are left out (flowsleuth match shows them).
 */
#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../detect/catalog.h"
#include "../detect/match.h"
#include "../detect/newest.h"
#include "../query/rows.h"
#include "cmd.h"
#include "detect_args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "flowsleuth inventory"

static const char usage_text[] =
    "usage: flowsleuth inventory -c CAT [-r PATH]... [-t FROM..TO] [-b] [-o FORMAT]\n"
    "                            [--basis B] [model options] [FILTER]\n"
    "\n"
    "Per client host: the packages and versions its identified downloads reveal, the\n"
    "platform they imply (OS/suite and architecture from the catalogue), the number of\n"
    "flows and when they were first and last seen. Downloads are identified as by\n"
    "flowsleuth match; only unique matches count. Column newest: the newest version of\n"
    "the package (same name and architecture, same release: a suite's -security and\n"
    "-updates count as the release, -backports as a release of its own) in the\n"
    "catalogue when it is newer than the one downloaded (Debian version order), else\n"
    "empty: the host runs outdated software.\n"
    "\n"
    "  -c CAT           the catalogue (flowsleuth catalog debian|import)\n" INPUT_HELP
    "  -o FORMAT        table (default), csv, tsv, json (one object a line)\n" UNI_PAIR_HELP
        UNI_BASIS_HELP
    "  --model-file MODEL  a nearest model saved by flowsleuth learn: each known\n"
    "                   server's overhead narrowed to what was learned there (tree\n"
    "                   models are refused: they cannot reject)\n" MATCH_HELP MATCH_RANGES_HELP
        DETECT_MEM_HELP "  -h, --help       this help\n";

static const char *const cols[] = { "client", "platform", "name", "version", "arch",
                                    "flows",  "first",    "last", "newest" };
static const unsigned char numeric[] = { 0, 0, 0, 0, 0, 1, 0, 0, 0 };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* One (client, entry) sighting; merged after sorting. */
struct seen {
    uint8_t client[16];
    uint8_t ipver;
    const struct cat_entry *e;
    uint64_t first, last;
    size_t flows;
};

struct ictx {
    const struct catalog *cat;
    struct seen *v;
    size_t n, cap;
    struct cat_newest newest; /* column newest */
    size_t rows, outdated;
};

static int on_result(void *vctx, const struct flow *f, const struct match_result *r)
{
    struct ictx *c = vctx;
    if (r->verdict != MV_MATCH)
        return 0;
    for (int p = 0; p < r->c[0].k; p++) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 256;
            c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
        }
        struct seen *s = &c->v[c->n++];
        memcpy(s->client, f->src, 16);
        s->ipver = f->ipver;
        s->e = &c->cat->e[r->c[0].idx[p]];
        s->first = f->first;
        s->last = f->last;
        s->flows = 1;
    }
    return 0;
}

static int cmp_seen(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int r = memcmp(x->client, y->client, 16);
    if (!r)
        r = strcmp(x->e->name, y->e->name);
    if (!r)
        r = strcmp(x->e->version, y->e->version);
    if (!r)
        r = strcmp(x->e->arch, y->e->arch);
    if (!r && x->e != y->e)
        r = x->e < y->e ? -1 : 1;
    return r;
}

/* Append s to the list buf ("a, b") unless it is empty, "all" or already there. */
static void add_word(char *buf, size_t cap, const char *s)
{
    if (!*s || strcmp(s, "all") == 0)
        return;
    size_t l = strlen(s), bl = strlen(buf);
    for (const char *p = buf; (p = strstr(p, s)) != NULL; p += l)
        if ((p == buf || p[-1] == ' ') && (p[l] == '\0' || p[l] == ','))
            return;
    snprintf(buf + bl, cap - bl, "%s%s", bl ? ", " : "", s);
}

/* Platform of one client (items a..b-1): its OS/suite values, then its architectures
 * (an "all" package says nothing about the machine). */
static void platform(const struct seen *v, size_t a, size_t b, char *out, size_t cap)
{
    char os[160] = "", arch[96] = "";
    for (size_t i = a; i < b; i++) {
        add_word(os, sizeof(os), v[i].e->os);
        add_word(arch, sizeof(arch), v[i].e->arch);
    }
    snprintf(out, cap, "%s%s%s", os, *os && *arch ? " " : "", arch);
}

static int same_item(const struct seen *x, const struct seen *y)
{
    return memcmp(x->client, y->client, 16) == 0 && strcmp(x->e->name, y->e->name) == 0 &&
           strcmp(x->e->version, y->e->version) == 0 && strcmp(x->e->arch, y->e->arch) == 0;
}

/* Sort the sightings, merge repeats, one row per (client, package, version, arch). */
static void report(struct ictx *c, struct rows *r)
{
    if (c->n)
        qsort(c->v, c->n, sizeof(*c->v), cmp_seen);
    for (size_t a = 0, b; a < c->n; a = b) {
        for (b = a + 1; b < c->n && memcmp(c->v[a].client, c->v[b].client, 16) == 0; b++)
            ;
        char plat[256], cl[FMT_ADDR_MAX];
        platform(c->v, a, b, plat, sizeof(plat));
        fmt_addr(cl, c->v[a].client, c->v[a].ipver);
        for (size_t i = a, j; i < b; i = j) {
            struct seen m = c->v[i];
            for (j = i + 1; j < b && same_item(&c->v[i], &c->v[j]); j++) {
                m.flows++;
                m.first = c->v[j].first < m.first ? c->v[j].first : m.first;
                m.last = c->v[j].last > m.last ? c->v[j].last : m.last;
            }
            char flows[24], first[FMT_TIME_MAX], last[FMT_TIME_MAX];
            snprintf(flows, sizeof(flows), "%zu", m.flows);
            fmt_time_ms(first, m.first);
            fmt_time_ms(last, m.last);
            const char *newer = cat_newest(&c->newest, m.e);
            const char *cells[NCOLS] = { cl,    plat,  m.e->name, m.e->version,      m.e->arch,
                                         flows, first, last,      newer ? newer : "" };
            rows_add(r, cells);
            c->rows++;
            c->outdated += newer != NULL;
        }
    }
}

int cmd_inventory(int argc, char **argv)
{
    struct detect_args a;
    int st = detect_args_parse(&a, PROG, usage_text, 0, argc, argv);
    if (st >= 0) {
        detect_args_free(&a);
        return st;
    }
    st = detect_args_load(&a, PROG);
    if (!a.loaded) { /* printed; no empty table after a bad catalogue (as match) */
        detect_args_free(&a);
        return st;
    }
    struct ictx c = { .cat = &a.cat };
    cat_newest_init(&c.newest, c.cat);
    struct rows r;
    rows_init(&r, cols, numeric, NCOLS);
    rows_stream(&r, (enum rows_mode)a.mode, stdout);
    if (a.batch.n || a.batch.pklen)
        match_run_batch(&a.cat, &a.batch, on_result, &c);
    detect_args_report(&a, PROG);
    report(&c, &r);
    rows_print(&r, (enum rows_mode)a.mode, stdout);
    if (c.outdated)
        fprintf(stderr,
                PROG ": %zu of %zu packages downloaded have a newer version in the catalogue "
                     "(column newest)\n",
                c.outdated, c.rows);
    rows_free(&r);
    free(c.v);
    cat_newest_free(&c.newest);
    detect_args_free(&a);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": stdout: write: %s\n", strerror(errno ? errno : EIO));
        return 1;
    }
    return st;
}
