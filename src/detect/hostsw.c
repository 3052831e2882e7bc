/* The software of each host from its identified downloads (hostsw.h). */
#include "hostsw.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* One sighting (host, entry), then, merged, one package of a host. */
struct sight {
    uint8_t host[16];
    struct hostsw_pkg p;
};

struct hostsw {
    const struct catalog *cat;
    struct sight *v;
    struct hostsw_pkg *pkgs; /* after hostsw_finish: the packages, hosts in order */
    size_t n, cap;
    uint8_t (*hosts)[16]; /* after hostsw_finish: the hosts in order */
    size_t *start;        /* ... host i's packages are pkgs[start[i]..start[i+1]) */
    size_t nhosts;
};

struct hostsw *hostsw_new(const struct catalog *cat)
{
    struct hostsw *h = xcalloc(1, sizeof(*h));
    h->cat = cat;
    return h;
}

void hostsw_free(struct hostsw *h)
{
    if (!h)
        return;
    free(h->v);
    free(h->pkgs);
    free(h->start);
    free(h->hosts);
    free(h);
}

int hostsw_on_result(void *ctx, const struct flow *f, const struct match_result *r)
{
    struct hostsw *h = ctx;
    if (r->verdict != MV_MATCH || r->ncands < 1)
        return 0;
    for (int i = 0; i < r->c[0].k; i++) {
        if (h->n == h->cap) {
            h->cap = h->cap ? 2 * h->cap : 64;
            h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
        }
        struct sight *s = &h->v[h->n++];
        memcpy(s->host, f->src, 16);
        s->p.e = &h->cat->e[r->c[0].idx[i]];
        s->p.flows = 1;
        s->p.first = f->first;
        s->p.last = f->last;
    }
    return 0;
}

/* inventory's order: host, then name, version, arch (entries equal in all three are
 * one package: catalogues list a package once per suite that carries it). */
static int cmp_pkg(const struct cat_entry *x, const struct cat_entry *y)
{
    int r = strcmp(x->name, y->name);
    if (!r)
        r = strcmp(x->version, y->version);
    return r ? r : strcmp(x->arch, y->arch);
}

static int cmp_sight(const void *a, const void *b)
{
    const struct sight *x = a, *y = b;
    int r = memcmp(x->host, y->host, 16);
    return r ? r : cmp_pkg(x->p.e, y->p.e);
}

void hostsw_finish(struct hostsw *h)
{
    if (h->n)
        qsort(h->v, h->n, sizeof(*h->v), cmp_sight);
    h->pkgs = xmalloc((h->n ? h->n : 1) * sizeof(*h->pkgs));
    h->start = xmalloc((h->n + 1) * sizeof(*h->start));
    h->hosts = xmalloc((h->n ? h->n : 1) * sizeof(*h->hosts));
    size_t np = 0;
    for (size_t i = 0; i < h->n; i++) {
        const struct sight *s = &h->v[i];
        int new_host = i == 0 || memcmp(s->host, h->v[i - 1].host, 16) != 0;
        if (new_host) {
            memcpy(h->hosts[h->nhosts], s->host, 16);
            h->start[h->nhosts++] = np;
        }
        struct hostsw_pkg *last = np ? &h->pkgs[np - 1] : NULL;
        if (!new_host && last && cmp_pkg(last->e, s->p.e) == 0) {
            last->flows++;
            last->first = s->p.first < last->first ? s->p.first : last->first;
            last->last = s->p.last > last->last ? s->p.last : last->last;
        } else {
            h->pkgs[np++] = s->p;
        }
    }
    h->start[h->nhosts] = np;
}

size_t hostsw_hosts(const struct hostsw *h)
{
    return h->nhosts;
}

size_t hostsw_of(const struct hostsw *h, const uint8_t addr[16], const struct hostsw_pkg **out)
{
    size_t lo = 0, hi = h->nhosts;
    *out = NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(h->hosts[mid], addr, 16);
        if (c == 0) {
            *out = &h->pkgs[h->start[mid]];
            return h->start[mid + 1] - h->start[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
