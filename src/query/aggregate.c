#include "aggregate.h"

#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* A record's accumulators: the members of struct flow that aggregation sums. */
struct agg_val {
    struct ktab_head h;
    uint64_t flows, first, last;
    uint64_t bytes, packets, rbytes, rpackets, payload, rpayload;
    uint64_t goodput, rgoodput, retrans, rretrans;
    uint16_t minlen, maxlen, rminlen, rmaxlen;
    uint8_t flags, rflags, pad_[6];
};

int aggregate_new(const char *keys, size_t max_bytes, struct aggregate **out, struct fs_err *err)
{
    struct key_spec ks;
    int rc = key_parse_list(keys, &ks, err);
    if (rc)
        return rc;
    struct aggregate *a = xcalloc(1, sizeof(*a));
    a->key = ks;
    ktab_init(&a->tab, (size_t)ks.keylen, sizeof(struct agg_val), max_bytes);
    *out = a;
    return 0;
}

static void agg_first(struct agg_val *v, const struct flow *f)
{
    v->first = f->first;
    v->last = f->last;
    v->minlen = f->minlen;
    v->maxlen = f->maxlen;
    v->rminlen = f->rminlen;
    v->rmaxlen = f->rmaxlen;
}

static void agg_merge(struct agg_val *v, const struct flow *f)
{
    if (f->first < v->first)
        v->first = f->first;
    if (f->last > v->last)
        v->last = f->last;
    if (f->minlen < v->minlen)
        v->minlen = f->minlen;
    if (f->maxlen > v->maxlen)
        v->maxlen = f->maxlen;
    if (f->rminlen < v->rminlen)
        v->rminlen = f->rminlen;
    if (f->rmaxlen > v->rmaxlen)
        v->rmaxlen = f->rmaxlen;
}

/* Merge flow f, whose packed key is key (hash h), into its record. */
static void add_flow(struct aggregate *a, const struct flow *f, const uint8_t *key, uint64_t h)
{
    int isnew;
    struct agg_val *v = ktab_upsert_h(&a->tab, key, h, f->bytes + f->rbytes, &isnew);
    a->flows++;
    if (isnew)
        agg_first(v, f);
    else
        agg_merge(v, f);
    v->flows++;
    v->bytes += f->bytes;
    v->packets += f->packets;
    v->rbytes += f->rbytes;
    v->rpackets += f->rpackets;
    v->payload += f->payload;
    v->rpayload += f->rpayload;
    v->goodput += f->goodput;
    v->rgoodput += f->rgoodput;
    v->retrans += f->retrans;
    v->rretrans += f->rretrans;
    v->flags |= f->flags;
    v->rflags |= f->rflags;
}

void aggregate_add(struct aggregate *a, const struct flow *f)
{
    uint8_t key[KEY_MAX_BYTES];
    key_pack(&a->key, f, 0, key);
    add_flow(a, f, key, ktab_hash(&a->tab, key));
}

void aggregate_add_batch(struct aggregate *a, const struct flow *f, size_t n)
{
    uint8_t keys[STATS_BATCH][KEY_MAX_BYTES];
    uint64_t h[STATS_BATCH];
    if (n > STATS_BATCH)
        n = STATS_BATCH;
    for (size_t i = 0; i < n; i++) {
        key_pack(&a->key, &f[i], 0, keys[i]);
        h[i] = ktab_hash(&a->tab, keys[i]);
        ktab_prefetch_slot(&a->tab, h[i]);
    }
    for (size_t i = 0; i < n; i++)
        ktab_prefetch_entry(&a->tab, h[i]);
    for (size_t i = 0; i < n; i++)
        add_flow(a, &f[i], keys[i], h[i]);
}

int aggregate_record(const struct aggregate *a, size_t slot, struct flow *out, uint64_t *flows)
{
    const struct agg_val *v = ktab_val(&a->tab, slot);
    if (!v)
        return 0;
    memset(out, 0, sizeof(*out));
    key_unpack(&a->key, ktab_key(&a->tab, slot), out);
    *flows = v->flows;
    out->first = v->first;
    out->last = v->last;
    out->bytes = v->bytes;
    out->packets = v->packets;
    out->rbytes = v->rbytes;
    out->rpackets = v->rpackets;
    out->payload = v->payload;
    out->rpayload = v->rpayload;
    out->goodput = v->goodput;
    out->rgoodput = v->rgoodput;
    out->retrans = v->retrans;
    out->rretrans = v->rretrans;
    out->minlen = v->minlen;
    out->maxlen = v->maxlen;
    out->rminlen = v->rminlen;
    out->rmaxlen = v->rmaxlen;
    out->flags = v->flags;
    out->rflags = v->rflags;
    return 1;
}

void aggregate_free(struct aggregate *a)
{
    if (!a)
        return;
    ktab_free(&a->tab);
    free(a);
}
