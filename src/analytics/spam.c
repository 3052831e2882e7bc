/* Spam sources: distinct mail servers per source in a sliding window (spam.h). */
#include "spam.h"
#include "../core/err.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define PROTO_TCP 6

/* One mail flow: 48 bytes; the other 24 of SPAM_BYTES_PER_FLOW are the sweep's work. */
struct mail {
    uint8_t src[16], dst[16];
    uint64_t first, last;
};

/* A contact in the sweep: its time and its server's number inside the source. */
struct touch {
    uint64_t t;
    uint32_t server;
};

struct spam {
    struct spam_opts o;
    struct mail *v;
    size_t n, cap, max_n;
    struct touch *touches; /* work arrays, sized to the largest source */
    uint32_t *inwin;
};

struct spam *spam_new(const struct spam_opts *o)
{
    struct spam *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->max_n = o->max_mem / SPAM_BYTES_PER_FLOW;
    return s;
}

size_t spam_flows(const struct spam *s)
{
    return s->n;
}

void spam_free(struct spam *s)
{
    if (!s)
        return;
    free(s->v);
    free(s->touches);
    free(s->inwin);
    free(s);
}

int spam_takes(const struct spam *s, const struct flow *f)
{
    const struct spam_opts *o = &s->o;
    size_t i;
    if (f->proto != PROTO_TCP)
        return 0;
    for (i = 0; i < o->nports && o->ports[i] != f->dport; i++)
        ;
    if (i == o->nports)
        return 0;
    if (o->internal && o->internal->nnets && !netlist_has_addr(o->internal, f->src))
        return 0;
    if (o->relays && (netlist_has_addr(o->relays, f->src) || netlist_has_addr(o->relays, f->dst)))
        return 0;
    return 1;
}

int spam_add(struct spam *s, const struct flow *f)
{
    if (!spam_takes(s, f))
        return 0;
    if (s->n == s->cap) {
        if (s->cap >= s->max_n)
            return FS_ENOSPC;
        size_t cap = s->cap ? 2 * s->cap : 1024;
        s->cap = cap < s->max_n ? cap : s->max_n;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    struct mail *m = &s->v[s->n++];
    memcpy(m->src, f->src, 16);
    memcpy(m->dst, f->dst, 16);
    m->first = f->first;
    m->last = f->last < f->first ? f->first : f->last;
    return 0;
}

/* (src, dst, first): a source is one run, each of its servers a sub-run. */
static int cmp_mail(const void *pa, const void *pb)
{
    const struct mail *a = pa, *b = pb;
    int c = memcmp(a->src, b->src, 16);
    if (c)
        return c;
    c = memcmp(a->dst, b->dst, 16);
    if (c)
        return c;
    return (a->first > b->first) - (a->first < b->first);
}

static int cmp_touch(const void *pa, const void *pb)
{
    const struct touch *a = pa, *b = pb;
    return (a->t > b->t) - (a->t < b->t);
}

/* The most distinct servers among the touches inside one window: two pointers over
 * the touches in time order, inwin[server] counting that server's touches inside. */
static uint32_t sweep(struct touch *t, size_t n, uint32_t nservers, uint64_t window_ms,
                      uint32_t *inwin, uint64_t *start)
{
    qsort(t, n, sizeof(*t), cmp_touch);
    memset(inwin, 0, nservers * sizeof(*inwin));
    uint32_t distinct = 0, best = 0;
    size_t lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        distinct += inwin[t[hi].server]++ == 0;
        while (t[hi].t - t[lo].t >= window_ms)
            distinct -= --inwin[t[lo++].server] == 0;
        if (distinct > best) {
            best = distinct;
            *start = t[lo].t;
        }
    }
    return best;
}

/* The source of the run [a, b). */
static void judge(struct spam *s, size_t a, size_t b, struct spam_finding *f)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->src, s->v[a].src, 16);
    f->ipver = flow_addr_is_v4mapped(f->src) ? 4 : 6;
    f->first = UINT64_MAX;
    uint32_t server = 0;
    for (size_t i = a; i < b; i++) {
        const struct mail *m = &s->v[i];
        if (i > a && memcmp(m->dst, s->v[i - 1].dst, 16) != 0)
            server++;
        s->touches[i - a].t = m->first;
        s->touches[i - a].server = server;
        f->first = m->first < f->first ? m->first : f->first;
        f->last = m->last > f->last ? m->last : f->last;
    }
    f->flows = b - a;
    f->servers = server + 1;
    f->peak = sweep(s->touches, b - a, f->servers, s->o.window_ms, s->inwin, &f->peak_start);
}

int spam_finish(struct spam *s, spam_emit_fn fn, void *ctx)
{
    if (!s->n)
        return 0;
    qsort(s->v, s->n, sizeof(*s->v), cmp_mail);
    size_t most = 0;
    for (size_t a = 0, b; a < s->n; a = b) {
        for (b = a + 1; b < s->n && memcmp(s->v[b].src, s->v[a].src, 16) == 0; b++)
            ;
        most = b - a > most ? b - a : most;
    }
    s->touches = xmalloc(most * sizeof(*s->touches));
    s->inwin = xmalloc(most * sizeof(*s->inwin));
    for (size_t a = 0, b; a < s->n; a = b) {
        for (b = a + 1; b < s->n && memcmp(s->v[b].src, s->v[a].src, 16) == 0; b++)
            ;
        struct spam_finding f;
        judge(s, a, b, &f);
        int rc = f.peak >= s->o.threshold ? fn(ctx, &f) : 0;
        if (rc)
            return rc;
    }
    return 0;
}
