#include "baseline_input.h"

#include "../core/fields.h"
#include "input_scan.h"

#include <stdlib.h>

struct bl_par {
    struct bl_series *dst;
    struct bl_series *t; /* one per thread */
    size_t n;
};

static int par_setup(void *vctx, size_t nthreads)
{
    struct bl_par *p = vctx;
    p->t = calloc(nthreads, sizeof(*p->t));
    if (!p->t)
        return 1;
    p->n = nthreads;
    for (size_t i = 0; i < nthreads; i++) {
        struct bl_series *s = &p->t[i];
        bl_series_init(s, &p->dst->spec, p->dst->bin_ms, p->dst->max_bytes / nthreads);
        for (size_t k = 0; k < p->dst->n; k++)
            if (bl_series_key(s, &p->dst->keys[k]) < 0)
                return 1;
        s->frozen = p->dst->frozen;
    }
    return 0;
}

static int par_flows(void *vctx, size_t t, const struct flow *v, size_t n)
{
    struct bl_par *p = vctx;
    for (size_t i = 0; i < n; i++)
        if (bl_series_add(&p->t[t], &v[i]) != 0)
            return 1;
    return 0;
}

struct bl_one {
    struct bl_series *s;
    int full;
};

static int one_flow(void *vctx, const struct flow *f)
{
    struct bl_one *o = vctx;
    o->full = bl_series_add(o->s, f) != 0;
    return o->full;
}

/* Only the fields the key reads are decoded: the whole network needs no address. */
static uint64_t key_columns(const struct bl_keyspec *k)
{
    switch (k->by) {
    case BL_SRC:
    case BL_SRCNET:
        return (uint64_t)1 << field_index("src") | (uint64_t)1 << field_index("ipver");
    case BL_DST:
    case BL_DSTNET:
        return (uint64_t)1 << field_index("dst") | (uint64_t)1 << field_index("ipver");
    case BL_SERVICE:
        return (uint64_t)1 << field_index("proto") | (uint64_t)1 << field_index("dport");
    default:
        return 0;
    }
}

int bl_input_read(struct input_opts *in, const char *prog, struct bl_series *s, int *full)
{
    static const struct scan_ops ops = { par_setup, par_flows };
    static const char *const used[] = { "first", "last", "bytes", "rbytes", "packets", "rpackets",
                                        "src",   "dst",  "dport", "proto",  "ipver" };
    *full = 0;
    if (input_is_stream(in)) {
        struct bl_one o = { s, 0 };
        int st = input_read(in, prog, one_flow, &o);
        *full = o.full;
        return st;
    }
    struct bl_par p = { s, NULL, 0 };
    uint64_t cols = 0;
    int stopped = 0;
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        cols |= (uint64_t)1 << field_index(used[i]);
    cols |= key_columns(&s->spec);
    int status = input_scan(in, prog, cols, &ops, &p, &stopped);
    for (size_t i = 0; i < p.n; i++) {
        if (!stopped && bl_series_merge(s, &p.t[i]) != 0)
            stopped = 1;
        bl_series_free(&p.t[i]);
    }
    free(p.t);
    *full = stopped;
    return status;
}

int bl_input_bins(const struct input_opts *in, const struct bl_series *s, uint64_t *lo,
                  uint64_t *hi)
{
    uint64_t b = s->bin_ms;
    if (in->from_ms && in->to_ms) {
        *lo = (in->from_ms + b - 1) / b;
        if (in->to_ms / b <= *lo)
            return -1;
        *hi = in->to_ms / b - 1;
        return 0;
    }
    if (bl_series_range(s, lo, hi) != 0)
        return -1;
    if (in->from_ms && *lo < (in->from_ms + b - 1) / b)
        *lo = (in->from_ms + b - 1) / b;
    if (in->to_ms && *hi >= in->to_ms / b)
        *hi = in->to_ms / b ? in->to_ms / b - 1 : 0;
    return *lo <= *hi ? 0 : -1;
}
