/* The newest version of a package in a catalogue (newest.h). */
#include "newest.h"

#include "../core/xalloc.h"
#include "debver.h"

#include <stdlib.h>
#include <string.h>

/* The length of os's release part (newest.h). */
static size_t release_len(const char *os)
{
    size_t n = strlen(os);
    const char *slash = strchr(os, '/');
    const char *dash = strchr(slash ? slash : os, '-');
    if (!dash || strcmp(dash, "-backports") == 0)
        return n;
    return (size_t)(dash - os);
}

static int cmp_package(const struct cat_entry *x, const struct cat_entry *y)
{
    int r = strcmp(x->name, y->name);
    if (!r)
        r = strcmp(x->arch, y->arch);
    if (r)
        return r;
    size_t a = release_len(x->os), b = release_len(y->os);
    r = strncmp(x->os, y->os, a < b ? a : b);
    return r ? r : (a > b) - (a < b);
}

static int cmp_package_p(const void *a, const void *b)
{
    return cmp_package(*(const struct cat_entry *const *)a, *(const struct cat_entry *const *)b);
}

void cat_newest_init(struct cat_newest *x, const struct catalog *c)
{
    x->n = c->n;
    x->byname = xmalloc((c->n ? c->n : 1) * sizeof(const struct cat_entry *));
    for (size_t i = 0; i < c->n; i++)
        x->byname[i] = &c->e[i];
    if (c->n > 1)
        qsort(x->byname, c->n, sizeof(const struct cat_entry *), cmp_package_p);
}

const char *cat_newest(const struct cat_newest *x, const struct cat_entry *e)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_package(x->byname[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const char *best = e->version;
    for (size_t i = lo; i < x->n && cmp_package(x->byname[i], e) == 0; i++)
        if (debver_cmp(x->byname[i]->version, best) > 0)
            best = x->byname[i]->version;
    return best == e->version ? NULL : best;
}

void cat_newest_free(struct cat_newest *x)
{
    free(x->byname);
    x->byname = NULL;
    x->n = 0;
}
