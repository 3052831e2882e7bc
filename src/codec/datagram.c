/*
 * The collector context: protocol detection, the per-exporter state and counters, the
 * template cache, and the bounded queue of data that came before its template. The
 * protocol decoders (nf5.c, nf9.c, ipfix.c, sflow.c) call back into the helpers here,
 * so every cap, eviction and counter lives in one place.
 */
#include "datagram.h"
#include "../core/err.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKETS         4096 /* hash buckets of each table (power of two) */
#define SAMPLERS         8    /* per-entry sampler id -> interval slots */
#define HELD_MAXBYTES    (4u << 20)
#define TCACHE_BITS      4 /* collect_tmpl_get's cache: 16 slots */
#define TCACHE           (1u << TCACHE_BITS)
#define TMPL_BYTES_EXP   (2u << 20)  /* default compiled template bytes per exporter entry */
#define TMPL_BYTES_TOTAL (64u << 20) /* default compiled template bytes in all */
#define FUTURE_MS        86400000u   /* a flow a day ahead of its datagram: a wrong clock */

struct key {
    uint8_t addr[16];
    uint32_t domain;
    uint16_t tid;  /* templates; 0 for exporter entries */
    uint16_t port; /* templates: the session's source port; 0 for exporter entries */
    uint8_t version;
};

struct collect_exp {
    struct collect_exp *next;
    struct key k;
    struct collect_stats st;
    uint32_t next_seq;
    int has_seq;
    uint32_t sampling; /* default interval from options records */
    uint64_t sysinit_ms;
    uint32_t samp_id[SAMPLERS], samp_val[SAMPLERS];
    uint64_t tmpl_bytes; /* compiled templates of this entry, all sessions */
    struct tnode *thead; /* those templates (tnode.enext) */
    uint16_t sess_port;  /* the source port that defined templates ... */
    uint8_t has_sess;    /* ... once one did */
    uint8_t many_sess;   /* more than one port defined templates: no fallback */
    uint8_t warned_future;
};

struct tnode {
    struct tnode *next;
    struct key k;
    size_t bytes;                 /* what the template takes (tmpl_cost) */
    struct collect_exp *owner;    /* the entry charged for it (NULL once that is evicted) */
    struct tnode *enext, **eprev; /* the owner's list of its templates */
    struct tmpl t;
};

struct held {
    struct key k;
    struct tmpl_time tt;
    uint8_t *buf;
    size_t len;
};

struct collector {
    struct collect_opts o;
    struct collect_exp *exps[NBUCKETS];
    struct tnode *tmpls[NBUCKETS];
    uint32_t nexps, ntmpls, exp_cursor, tmpl_cursor;
    struct held *held;
    uint32_t nheld;
    size_t held_bytes;
    struct collect_exp *last_exp; /* the entry exp_get found last (every record asks) */
    struct tnode *tcache[TCACHE]; /* templates collect_tmpl_get found, by tid % TCACHE */
    struct collect_stats evicted; /* stats of exporter entries dropped by the cap */
    uint64_t templates_evicted, exporters_evicted, not_flow;
    uint64_t tmpl_bytes;               /* compiled templates in all */
    struct collect_flow_info cur_info; /* of the flow the sink is called with */
};

static const char *const reason_names[CR_NRESULTS] = {
    "short datagram",        "unknown version",          "length past the end",
    "inconsistent template", "inconsistent data record", "template too large",
};

/* Name of a malformed reason for --stats. */
const char *collect_reason_name(enum collect_reason r)
{
    return (unsigned)r < CR_NRESULTS ? reason_names[r] : "?";
}

static uint32_t key_hash(const struct key *k)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ k->addr[i]) * 16777619u;
    uint32_t rest[4] = { k->domain, k->tid, k->version, k->port };
    for (int i = 0; i < 4; i++)
        h = (h ^ rest[i]) * 16777619u;
    return (h ^ (h >> 15)) & (NBUCKETS - 1);
}

static int key_eq(const struct key *a, const struct key *b)
{
    return a->domain == b->domain && a->tid == b->tid && a->version == b->version &&
           a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

static struct key mkkey(const uint8_t *addr, uint32_t domain, int version, uint16_t tid)
{
    struct key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.addr, addr, 16);
    k.domain = domain;
    k.version = (uint8_t)version;
    k.tid = tid;
    return k;
}

/* The key of a template of the current datagram's transport session. */
static struct key mktkey(const struct collect_ctx *x, uint32_t domain, int version, uint16_t tid)
{
    struct key k = mkkey(x->exporter, domain, version, tid);
    k.port = x->port;
    return k;
}

/* New collector with defaults for zero options. */
struct collector *collector_new(const struct collect_opts *opts)
{
    struct collector *c = xcalloc(1, sizeof(*c));
    if (opts)
        c->o = *opts;
    if (!c->o.max_templates)
        c->o.max_templates = 65536;
    if (!c->o.max_exporters)
        c->o.max_exporters = 4096;
    if (!c->o.max_held)
        c->o.max_held = 256;
    if (!c->o.max_tmpl_bytes)
        c->o.max_tmpl_bytes = TMPL_BYTES_EXP;
    if (!c->o.max_tmpl_total)
        c->o.max_tmpl_total = TMPL_BYTES_TOTAL;
    if (!c->o.future_ms)
        c->o.future_ms = FUTURE_MS;
    c->held = xcalloc(c->o.max_held, sizeof(*c->held));
    return c;
}

static void add_stats(struct collect_stats *a, const struct collect_stats *b)
{
    const uint64_t *s = (const uint64_t *)b;
    uint64_t *d = (uint64_t *)a;
    for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
        d[i] += s[i];
}

static struct collect_exp *exp_lookup(struct collector *c, const struct key *k)
{
    for (struct collect_exp *e = c->exps[key_hash(k)]; e; e = e->next)
        if (key_eq(&e->k, k))
            return e;
    return NULL;
}

/* Evict the last entry of the next non-empty bucket after the cursor (clock-like). */
static void exp_evict_one(struct collector *c)
{
    for (uint32_t n = 0; n < NBUCKETS; n++) {
        uint32_t b = c->exp_cursor++ & (NBUCKETS - 1);
        struct collect_exp **pp = &c->exps[b];
        if (!*pp)
            continue;
        while ((*pp)->next)
            pp = &(*pp)->next;
        if (*pp == c->last_exp)
            c->last_exp = NULL;
        for (struct tnode *t = (*pp)->thead, *tn; t; t = tn) {
            tn = t->enext; /* its templates stay, charged to nobody */
            t->owner = NULL;
            t->enext = NULL;
            t->eprev = NULL;
        }
        add_stats(&c->evicted, &(*pp)->st);
        free(*pp);
        *pp = NULL;
        c->nexps--;
        c->exporters_evicted++;
        return;
    }
}

static struct collect_exp *exp_get(struct collector *c, const uint8_t *addr, uint32_t domain,
                                   int version)
{
    /* sFlow and the rest keep apart even on the same address and domain. */
    struct collect_exp *e = c->last_exp;
    /* Every record of a datagram asks for the same entry: skip the hash (a profile of
     * collect -f showed key_hash at 12% of the time when each flow hashed). */
    if (e && e->k.domain == domain && e->k.version == (uint8_t)version &&
        memcmp(e->k.addr, addr, 16) == 0)
        return e;
    struct key k = mkkey(addr, domain, version, 0);
    e = exp_lookup(c, &k);
    if (e)
        return c->last_exp = e;
    if (c->nexps >= c->o.max_exporters)
        exp_evict_one(c);
    e = xcalloc(1, sizeof(*e));
    e->k = k;
    uint32_t h = key_hash(&k);
    e->next = c->exps[h];
    c->exps[h] = e;
    c->nexps++;
    return c->last_exp = e;
}

/* Stats entry of the current exporter and this domain. */
struct collect_stats *collect_exp_stats(struct collect_ctx *x, uint32_t domain, int version)
{
    return &exp_get(x->c, x->exporter, domain, version)->st;
}

/* Count a malformed datagram/set/record under its exporter and domain. */
void collect_malformed(struct collect_ctx *x, uint32_t domain, int version, enum collect_reason why)
{
    collect_exp_stats(x, domain, version)->malformed[why]++;
}

/*
 * Sequence tracking: `seq` is what the header says, `advance` how far this message
 * moves it (v5: its records, v9/sFlow: 1, IPFIX: its data records). A gap forward is
 * loss; a step back is a reset (restart or reordering), not loss.
 */
void collect_seq(struct collect_ctx *x, uint32_t domain, int version, uint32_t seq,
                 uint32_t advance)
{
    struct collect_exp *e = exp_get(x->c, x->exporter, domain, version);
    if (e->has_seq) {
        int32_t d = (int32_t)(seq - e->next_seq);
        if (d > 0)
            e->st.seq_lost += (uint32_t)d;
        else if (d < 0)
            e->st.seq_reset++;
    }
    e->has_seq = 1;
    e->next_seq = seq + advance;
}

/* Default sampling of an exporter/domain learnt from options data. */
uint32_t collect_sampling_get(struct collect_ctx *x, uint32_t domain, int version)
{
    return exp_get(x->c, x->exporter, domain, version)->sampling;
}

/* Remember sampling (and systemInitTime) from an options record. */
void collect_sampling_set(struct collect_ctx *x, uint32_t domain, int version, uint32_t n,
                          uint64_t sysinit_ms)
{
    struct collect_exp *e = exp_get(x->c, x->exporter, domain, version);
    if (n)
        e->sampling = n;
    if (sysinit_ms)
        e->sysinit_ms = sysinit_ms;
}

/* systemInitTimeMilliseconds learnt from options data (0 = none). */
uint64_t collect_sysinit_get(struct collect_ctx *x, uint32_t domain, int version)
{
    return exp_get(x->c, x->exporter, domain, version)->sysinit_ms;
}

/* Sampler id -> interval table per entry, from options records naming a sampler. */
static void sampler_set(struct collect_exp *e, uint32_t id, uint32_t val)
{
    int slot = (int)(id % SAMPLERS);
    for (int i = 0; i < SAMPLERS; i++)
        if (e->samp_id[i] == id || !e->samp_val[i]) {
            slot = i;
            break;
        }
    e->samp_id[slot] = id;
    e->samp_val[slot] = val;
}

static uint32_t sampler_get(const struct collect_exp *e, uint32_t id)
{
    for (int i = 0; i < SAMPLERS; i++)
        if (e->samp_val[i] && e->samp_id[i] == id)
            return e->samp_val[i];
    return e->sampling;
}

/* Set the exporter, scale by sampling (or the override), count under e, hand to the sink. */
static void emit_to(struct collect_ctx *x, struct collect_exp *e, struct flow *f, uint32_t sampling)
{
    uint32_t n = x->c->o.sampling ? x->c->o.sampling : sampling;
    if (n > 1) {
        f->bytes *= n;
        f->packets *= n;
        f->rbytes *= n;
        f->rpackets *= n;
    }
    memcpy(f->exporter, x->exporter, 16);
    struct collect_flow_info *in = &x->c->cur_info;
    in->recv_ms = x->recv_ms;
    in->bad_time = f->first > COLLECT_TIME_MAX_MS || f->last > COLLECT_TIME_MAX_MS;
    in->future_first = 0;
    if (in->bad_time) {
        e->st.bad_time++;
        if (x->c->o.bad_time_drop) {
            e->st.bad_time_dropped++;
            return;
        }
    } else if (x->recv_ms && f->last > x->recv_ms + x->c->o.future_ms) {
        e->st.future_time++;
        in->future_first = !e->warned_future;
        e->warned_future = 1;
    }
    e->st.records++;
    x->nflows++;
    if (!x->stopped && x->sink && x->sink(x->sink_ctx, f) != 0)
        x->stopped = 1;
}

/* What the sink's current flow came with (collect.h). */
void collector_flow_info(const struct collector *c, struct collect_flow_info *out)
{
    *out = c->cur_info;
}

void collect_emit(struct collect_ctx *x, uint32_t domain, int version, struct flow *f,
                  uint32_t sampling)
{
    emit_to(x, exp_get(x->c, x->exporter, domain, version), f, sampling);
}

static void options_record(struct collect_ctx *x, struct collect_exp *e, const struct tmpl_rec *r)
{
    uint32_t n = tmpl_rec_sampling(r);
    uint64_t init = (r->have >> S_SYSINIT_MS) & 1 ? r->v[S_SYSINIT_MS] : 0;
    e->st.options_records++;
    if (n && ((r->have >> S_SAMPLER_ID) & 1))
        sampler_set(e, (uint32_t)r->v[S_SAMPLER_ID], n);
    else if (n)
        e->sampling = n;
    if (init)
        e->sysinit_ms = init;
    (void)x;
}

/*
 * Walk the records of one data set. A remainder shorter than the smallest record is
 * padding (RFC 7011 section 3.3.1); a record cut short is counted malformed.
 */
void collect_data_set(struct collect_ctx *x, uint32_t domain, int version, const struct tmpl *t,
                      const uint8_t *set, size_t len, const struct tmpl_time *tt)
{
    struct collect_exp *e = exp_get(x->c, x->exporter, domain, version);
    struct rd r = rd_init(set, len);
    struct tmpl_rec rec;
    struct flow f;
    if (t->minlen == 0) { /* only zero-length fields: records cannot be delimited */
        e->st.malformed[CR_BAD_TEMPLATE]++;
        return;
    }
    while (rd_left(&r) >= t->minlen && !x->stopped) {
        tmpl_run(t, &r, &rec);
        if (r.err) {
            e->st.malformed[CR_BAD_RECORD]++;
            return;
        }
        if (t->options) {
            options_record(x, e, &rec);
            continue;
        }
        tmpl_to_flow(t, &rec, tt, &f);
        uint32_t n = tmpl_rec_sampling(&rec);
        if (!n)
            n = (rec.have >> S_SAMPLER_ID) & 1 ? sampler_get(e, (uint32_t)rec.v[S_SAMPLER_ID])
                                               : e->sampling;
        emit_to(x, e, &f, n);
    }
}

static struct tnode **tmpl_find(struct collector *c, const struct key *k)
{
    struct tnode **pp = &c->tmpls[key_hash(k)];
    while (*pp && !key_eq(&(*pp)->k, k))
        pp = &(*pp)->next;
    return pp;
}

/* The fast cache's slot of (tid, port). Fibonacci hashing: softflowd's 1024 and 2048
 * would share slot tid % 16, and two sessions of one exporter send the same ids. */
static struct tnode **tcache_slot(struct collector *c, uint16_t tid, uint16_t port)
{
    uint32_t h = ((uint32_t)tid | (uint32_t)port << 16) * 2654435761u;
    return &c->tcache[h >> (32 - TCACHE_BITS)];
}

/* The template of exactly this session (port included), or NULL. */
static struct tnode *tmpl_exact(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid,
                                uint16_t port)
{
    struct collector *c = x->c;
    /* Exporters send data of a few templates over and over (IPv4 and IPv6 sets in one
     * datagram): a small cache spares the hash, 3.6% of a collector's time. */
    struct tnode **slot = tcache_slot(c, tid, port);
    struct tnode *n = *slot;
    if (n && n->k.tid == tid && n->k.port == port && n->k.domain == domain &&
        n->k.version == (uint8_t)version && memcmp(n->k.addr, x->exporter, 16) == 0)
        return n;
    struct key k = mkkey(x->exporter, domain, version, tid);
    k.port = port;
    n = *tmpl_find(c, &k);
    if (n)
        *slot = n;
    return n;
}

/*
 * The compiled template for (exporter, port, domain, version, tid), or NULL. Without
 * one, the template of the entry's one other session (an exporter that changed its
 * source port), counted; with several sessions none is guessed.
 */
const struct tmpl *collect_tmpl_get(struct collect_ctx *x, uint32_t domain, int version,
                                    uint16_t tid)
{
    struct tnode *n = tmpl_exact(x, domain, version, tid, x->port);
    if (n)
        return &n->t;
    struct collect_exp *e = exp_get(x->c, x->exporter, domain, version);
    if (!e->has_sess || e->many_sess || e->sess_port == x->port)
        return NULL;
    n = tmpl_exact(x, domain, version, tid, e->sess_port);
    e->st.tmpl_fallback += n != NULL;
    return n ? &n->t : NULL;
}

/* Bytes a compiled template takes: its node, ops (allocated per wire field), fast ops
 * and wire fields, and the allocator's overhead (16 bytes for each of 4 blocks). */
static size_t tmpl_cost(const struct tmpl *t)
{
    size_t nops = t->nwire > t->nops ? t->nwire : t->nops;
    return sizeof(struct tnode) + nops * sizeof(struct tmpl_op) +
           (t->fops ? (size_t)t->nops * sizeof(struct tmpl_fop) : 0) +
           (size_t)t->nwire * sizeof(struct tmpl_field) + 64u;
}

/* Take a template's bytes off its entry and the total, and it off the entry's list. */
static void tmpl_uncount(struct collector *c, struct tnode *n)
{
    if (n->owner) {
        n->owner->tmpl_bytes -= n->bytes;
        *n->eprev = n->enext;
        if (n->enext)
            n->enext->eprev = n->eprev;
    }
    c->tmpl_bytes -= n->bytes;
}

/* Unlink and free *pp. */
static void tnode_unlink(struct collector *c, struct tnode **pp)
{
    struct tnode *n = *pp;
    *pp = n->next;
    memset(c->tcache, 0, sizeof(c->tcache));
    tmpl_uncount(c, n);
    tmpl_free(&n->t);
    free(n);
    c->ntmpls--;
}

static void tmpl_evict_one(struct collector *c)
{
    for (uint32_t n = 0; n < NBUCKETS; n++) {
        struct tnode **pp = &c->tmpls[c->tmpl_cursor++ & (NBUCKETS - 1)];
        if (!*pp)
            continue;
        while ((*pp)->next)
            pp = &(*pp)->next;
        tnode_unlink(c, pp);
        c->templates_evicted++;
        return;
    }
}

static void held_remove(struct collector *c, uint32_t i)
{
    c->held_bytes -= c->held[i].len;
    free(c->held[i].buf);
    memmove(&c->held[i], &c->held[i + 1], (c->nheld - i - 1) * sizeof(*c->held));
    c->nheld--;
}

/* Decode whatever the queue holds for a template that just arrived. */
static void held_replay(struct collect_ctx *x, const struct key *k, const struct tmpl *t)
{
    struct collector *c = x->c;
    for (uint32_t i = 0; i < c->nheld;) {
        struct held *h = &c->held[i];
        if (!key_eq(&h->k, k)) {
            i++;
            continue;
        }
        struct tmpl_time tt = h->tt;
        collect_exp_stats(x, k->domain, k->version)->held_decoded++;
        collect_data_set(x, k->domain, k->version, t, h->buf, h->len, &tt);
        held_remove(c, i);
    }
}

/* The session of k (its port) defined a template of its entry. */
static void sess_note(struct collect_exp *e, uint16_t port)
{
    if (!e->has_sess) {
        e->has_sess = 1;
        e->sess_port = port;
    } else if (e->sess_port != port) {
        e->many_sess = 1;
    }
}

/*
 * The entry's budget is spent and more than one session defined its templates: the
 * templates of the sessions other than port's go (counted as evicted), the newest
 * session wins. Exporters that restart or reconnect from a new source port leave their
 * old session's templates behind, which must not lock them out of their budget.
 */
static void drop_other_sessions(struct collector *c, struct collect_exp *e, uint16_t port)
{
    for (struct tnode *n = e->thead, *next; n; n = next) {
        next = n->enext;
        if (n->k.port == port)
            continue;
        struct tnode **pp = tmpl_find(c, &n->k);
        if (*pp) /* always n: it is in the table */
            tnode_unlink(c, pp);
        c->templates_evicted++;
    }
    e->has_sess = 1;
    e->sess_port = port;
    e->many_sess = 0;
}

/*
 * Insert or replace the template of k (takes t's allocations): 0, or -1 when the entry's
 * byte budget would be exceeded (t is freed, counted as refused). Beyond the count or
 * the total byte cap the oldest templates are evicted.
 */
static int tmpl_store(struct collector *c, const struct key *k, struct tmpl *t)
{
    size_t cost = tmpl_cost(t);
    struct tnode **pp = tmpl_find(c, k);
    size_t old = *pp && (*pp)->owner ? (*pp)->bytes : 0;
    struct collect_exp *e = exp_get(c, k->addr, k->domain, k->version);
    if (e->tmpl_bytes - old + cost > c->o.max_tmpl_bytes && e->many_sess) {
        drop_other_sessions(c, e, k->port);
        pp = tmpl_find(c, k); /* the chain may have lost nodes before k's */
    }
    if (e->tmpl_bytes - old + cost > c->o.max_tmpl_bytes) {
        e->st.templates_refused++;
        tmpl_free(t);
        return -1;
    }
    if (*pp)
        tnode_unlink(c, pp);
    while (c->ntmpls &&
           (c->ntmpls >= c->o.max_templates || c->tmpl_bytes + cost > c->o.max_tmpl_total))
        tmpl_evict_one(c);
    e = exp_get(c, k->addr, k->domain, k->version); /* eviction does not free entries,
                                                       but keep the lookup honest */
    pp = tmpl_find(c, k);
    struct tnode *n = xcalloc(1, sizeof(*n));
    n->k = *k;
    n->t = *t;
    n->bytes = cost;
    n->owner = e;
    n->enext = e->thead;
    n->eprev = &e->thead;
    if (e->thead)
        e->thead->eprev = &n->enext;
    e->thead = n;
    *pp = n;
    c->ntmpls++;
    c->tmpl_bytes += cost;
    e->tmpl_bytes += cost;
    sess_note(e, k->port);
    return 0;
}

/*
 * Define template tid from its wire fields: unless the cache already holds it compiled
 * from the same fields (exporters resend every template often, softflowd one datagram
 * in three, and compiling each again cost 5% of a collector), compile it, store or
 * replace it, and decode the data held for it. A template that does not compile is
 * counted as "template too large" and not as a template; one beyond the exporter's
 * byte budget as refused.
 */
void collect_tmpl_define(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid,
                         const struct tmpl_field *f, size_t n, int options)
{
    struct collector *c = x->c;
    const struct tnode *old = tmpl_exact(x, domain, version, tid, x->port);
    if (!old || !tmpl_same(&old->t, f, n, options)) {
        struct tmpl t;
        if (tmpl_compile(&t, f, n, options) != 0) {
            collect_malformed(x, domain, version, CR_TEMPLATE_SIZE);
            return;
        }
        struct key k = mktkey(x, domain, version, tid);
        if (tmpl_store(c, &k, &t) != 0)
            return;
        if (c->nheld)
            held_replay(x, &k, &(*tmpl_find(c, &k))->t);
    }
    collect_exp_stats(x, domain, version)->templates++;
}

/* Withdraw one template, or all of the domain for tid 0xffff (of this session). */
void collect_tmpl_withdraw(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid)
{
    struct collector *c = x->c;
    collect_exp_stats(x, domain, version)->withdrawals++;
    if (tid != 0xffff) {
        struct key k = mktkey(x, domain, version, tid);
        struct tnode **pp = tmpl_find(c, &k);
        if (*pp)
            tnode_unlink(c, pp);
        return;
    }
    for (uint32_t b = 0; b < NBUCKETS; b++) {
        struct tnode **pp = &c->tmpls[b];
        while (*pp) {
            const struct key *k = &(*pp)->k;
            if (k->domain == domain && k->version == version && k->port == x->port &&
                memcmp(k->addr, x->exporter, 16) == 0)
                tnode_unlink(c, pp);
            else
                pp = &(*pp)->next;
        }
    }
}

/* Hold a data set whose template has not come yet; the oldest goes when full. */
void collect_hold(struct collect_ctx *x, uint32_t domain, int version, uint16_t tid,
                  const uint8_t *set, size_t len, const struct tmpl_time *tt)
{
    struct collector *c = x->c;
    collect_exp_stats(x, domain, version)->unknown_template++;
    while (c->nheld && (c->nheld >= c->o.max_held || c->held_bytes + len > HELD_MAXBYTES)) {
        struct held *h = &c->held[0];
        exp_get(c, h->k.addr, h->k.domain, h->k.version)->st.held_dropped++;
        held_remove(c, 0);
    }
    if (len > HELD_MAXBYTES) {
        collect_exp_stats(x, domain, version)->held_dropped++;
        return;
    }
    struct held *h = &c->held[c->nheld++];
    h->k = mktkey(x, domain, version, tid);
    h->tt = *tt;
    h->buf = xmalloc(len ? len : 1);
    memcpy(h->buf, set, len);
    h->len = len;
    c->held_bytes += len;
}

/* Free the collector; data still held counts as dropped (already in no output). */
void collector_free(struct collector *c)
{
    if (!c)
        return;
    while (c->nheld)
        held_remove(c, 0);
    for (uint32_t b = 0; b < NBUCKETS; b++) {
        for (struct collect_exp *e = c->exps[b], *n; e; e = n) {
            n = e->next;
            free(e);
        }
        for (struct tnode *t = c->tmpls[b], *n; t; t = n) {
            n = t->next;
            tmpl_free(&t->t);
            free(t);
        }
    }
    free(c->held);
    free(c);
}

/*
 * Detect the protocol from the first bytes: u16 version 5/9/10 for NetFlow/IPFIX, u32
 * version 5 for sFlow (whose first u16 is 0). Anything else is counted as not flow.
 */
int collect_datagram(struct collector *c, const uint8_t exporter[16], const uint8_t *data,
                     size_t len, uint64_t recv_ms, collect_sink sink, void *ctx)
{
    return collect_datagram_from(c, exporter, 0, data, len, recv_ms, sink, ctx);
}

int collect_datagram_from(struct collector *c, const uint8_t exporter[16], uint16_t port,
                          const uint8_t *data, size_t len, uint64_t recv_ms, collect_sink sink,
                          void *ctx)
{
    struct collect_ctx x = { c, exporter, port, recv_ms, sink, ctx, 0, 0 };
    struct rd r = rd_init(data, len);
    uint32_t v32 = rd_be32(&r);
    if (r.err) {
        c->not_flow++;
        return FS_ETRUNC;
    }
    int rc;
    switch (v32 >> 16) {
    case 5:
        rc = nf5_decode(&x, data, len);
        break;
    case 9:
        rc = nf9_decode(&x, data, len);
        break;
    case 10:
        rc = ipfix_decode(&x, data, len);
        break;
    default:
        if (v32 != 5) {
            c->not_flow++;
            return FS_EFORMAT;
        }
        rc = sflow_decode(&x, data, len);
        break;
    }
    return rc < 0 ? rc : x.nflows;
}

/* Dropped-at-exit held data is counted here so --stats shows it. */
static uint64_t held_pending(const struct collector *c, const struct key *k)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < c->nheld; i++)
        n += c->held[i].k.domain == k->domain && c->held[i].k.version == k->version &&
             memcmp(c->held[i].k.addr, k->addr, 16) == 0;
    return n;
}

/* Walk every (exporter, domain) entry; data still held is reported as dropped. */
void collector_foreach(const struct collector *c,
                       void (*fn)(void *ctx, const uint8_t exporter[16], uint32_t domain,
                                  int version, const struct collect_stats *st),
                       void *ctx)
{
    for (uint32_t b = 0; b < NBUCKETS; b++)
        for (const struct collect_exp *e = c->exps[b]; e; e = e->next) {
            struct collect_stats st = e->st;
            st.held_dropped += held_pending(c, &e->k);
            fn(ctx, e->k.addr, e->k.domain, e->k.version, &st);
        }
}

/* Sums over every entry (evicted ones included) and the table counters. */
void collector_totals(const struct collector *c, struct collect_totals *out)
{
    memset(out, 0, sizeof(*out));
    out->sum = c->evicted;
    for (uint32_t b = 0; b < NBUCKETS; b++)
        for (const struct collect_exp *e = c->exps[b]; e; e = e->next)
            add_stats(&out->sum, &e->st);
    out->sum.held_dropped += c->nheld;
    out->templates_evicted = c->templates_evicted;
    out->exporters_evicted = c->exporters_evicted;
    out->templates_cached = c->ntmpls;
    out->templates_bytes = c->tmpl_bytes;
    out->not_flow = c->not_flow;
}

/* Count a refused datagram under its address (domain 0, version 0). */
void collector_refused(struct collector *c, const uint8_t exporter[16])
{
    exp_get(c, exporter, 0, 0)->st.not_allowed++;
}

/* ---- template persistence ------------------------------------------------------------ */

#define TP_VERSION 2 /* 2: templates carry their session's source port */

struct wbuf {
    uint8_t *p;
    size_t n, cap;
};

static void wb_put(struct wbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void wb_le(struct wbuf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    wb_put(b, t, (size_t)bytes);
}

/* FNV-1a over the IE table rows that decide compiled templates. */
static uint32_t ie_table_hash(void)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < ipfix_nies; i++) {
        uint32_t v[5] = { ipfix_ies[i].pen, ipfix_ies[i].id, ipfix_ies[i].len, ipfix_ies[i].slot,
                          ipfix_ies[i].kind };
        for (int k = 0; k < 5; k++)
            h = (h ^ v[k]) * 16777619u;
    }
    return h;
}

static void save_key(struct wbuf *b, const struct key *k)
{
    wb_put(b, k->addr, 16);
    wb_le(b, k->domain, 4);
    wb_le(b, k->version, 1);
}

/* Serialise templates and sampling state (collect.h). */
uint8_t *collector_save(const struct collector *c, size_t *len)
{
    struct wbuf b = { 0 };
    wb_put(&b, "FSTP", 4);
    wb_le(&b, TP_VERSION, 2);
    wb_le(&b, S_NSLOTS, 2);
    wb_le(&b, ie_table_hash(), 4);
    wb_le(&b, c->ntmpls, 4);
    wb_le(&b, c->nexps, 4);
    for (uint32_t h = 0; h < NBUCKETS; h++)
        for (const struct tnode *n = c->tmpls[h]; n; n = n->next) {
            save_key(&b, &n->k);
            wb_le(&b, n->k.port, 2);
            wb_le(&b, n->k.tid, 2);
            wb_le(&b, n->t.options, 1);
            wb_le(&b, n->t.v6first, 1);
            wb_le(&b, n->t.nops, 2);
            for (uint16_t i = 0; i < n->t.nops; i++) {
                wb_le(&b, n->t.ops[i].len, 2);
                wb_le(&b, n->t.ops[i].dst, 2);
                wb_le(&b, n->t.ops[i].kind, 1);
            }
        }
    for (uint32_t h = 0; h < NBUCKETS; h++)
        for (const struct collect_exp *e = c->exps[h]; e; e = e->next) {
            save_key(&b, &e->k);
            wb_le(&b, e->sampling, 4);
            wb_le(&b, e->sysinit_ms, 8);
            for (int i = 0; i < SAMPLERS; i++) {
                wb_le(&b, e->samp_id[i], 4);
                wb_le(&b, e->samp_val[i], 4);
            }
        }
    wb_put(&b, "FSTE", 4);
    *len = b.n;
    return b.p;
}

/* One op as tmpl_run may safely run it; also sums the smallest record length. */
static int op_valid(const struct tmpl_op *op, uint32_t *minlen, uint8_t *varlen)
{
    switch (op->kind) {
    case OPK_SKIP:
        *minlen += op->len;
        return 1;
    case OPK_VARSKIP:
        *minlen += 1;
        *varlen = 1;
        return 1;
    case OPK_UINT:
        *minlen += op->len;
        return op->len >= 1 && op->len <= 8 && op->dst > S_NONE && op->dst < S_NSLOTS;
    case OPK_ADDR4:
    case OPK_ADDR6:
        *minlen += op->len;
        return op->len == (op->kind == OPK_ADDR4 ? 4 : 16) && SLOT_IS_ADDR(op->dst);
    case OPK_ACL:
        *minlen += op->len;
        return op->len == 12 && (op->dst == S_IN_ACL || op->dst == S_OUT_ACL);
    case OPK_STR:
        *minlen += op->len;
        return op->len >= 1 && op->dst == S_SNI;
    case OPK_VARSTR:
        *minlen += 1;
        *varlen = 1;
        return op->dst == S_SNI;
    default:
        return 0;
    }
}

static struct key load_key(struct rd *r)
{
    struct key k;
    memset(&k, 0, sizeof(k));
    rd_bytes(r, k.addr, 16);
    k.domain = rd_le32(r);
    k.version = rd_u8(r);
    return k;
}

/* Read one template record into t (ops allocated); 0, or FS_ETRUNC / FS_ECORRUPT. */
static int load_tmpl(struct rd *r, int ver, struct key *k, struct tmpl *t)
{
    *k = load_key(r);
    k->port = ver >= 2 ? rd_le16(r) : 0;
    k->tid = rd_le16(r);
    memset(t, 0, sizeof(*t));
    t->options = rd_u8(r);
    t->v6first = rd_u8(r);
    t->nops = rd_le16(r);
    if (r->err)
        return FS_ETRUNC;
    if (t->options > 1 || t->v6first > 1 || t->nops > TMPL_MAX_FIELDS ||
        rd_left(r) < (size_t)t->nops * 5)
        return t->nops > TMPL_MAX_FIELDS || t->options > 1 || t->v6first > 1 ? FS_ECORRUPT
                                                                             : FS_ETRUNC;
    t->ops = xcalloc(t->nops ? t->nops : 1, sizeof(*t->ops));
    uint32_t minlen = 0;
    for (uint16_t i = 0; i < t->nops; i++) {
        t->ops[i].len = rd_le16(r);
        t->ops[i].dst = rd_le16(r);
        t->ops[i].kind = rd_u8(r);
        if (!op_valid(&t->ops[i], &minlen, &t->varlen) || minlen > 0xffff) {
            free(t->ops);
            t->ops = NULL;
            return FS_ECORRUPT;
        }
    }
    t->minlen = (uint16_t)minlen;
    tmpl_prepare(t);
    return 0;
}

struct loaded {
    struct key *k;
    struct tmpl *t;
    uint32_t n;
};

static void loaded_free(struct loaded *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        tmpl_free(&l->t[i]);
    free(l->k);
    free(l->t);
}

/* The header; returns the counts or an error code. */
static int load_header(struct rd *r, int *version, uint32_t *nt, uint32_t *ne, struct fs_err *err)
{
    uint8_t magic[4];
    rd_bytes(r, magic, 4);
    uint16_t ver = rd_le16(r), nslots = rd_le16(r);
    uint32_t hash = rd_le32(r);
    *nt = rd_le32(r);
    *ne = rd_le32(r);
    if (r->err || memcmp(magic, "FSTP", 4) != 0)
        return fs_err_set(err, FS_EFORMAT, 0, "not a flowsleuth templates file");
    *version = ver;
    if ((ver != TP_VERSION && ver != 1) || nslots != S_NSLOTS || hash != ie_table_hash())
        return fs_err_set(err, FS_EVERSION, 4,
                          "templates file from another flowsleuth version (format %u)", ver);
    return 0;
}

/* Exporter sampling records: validated, then applied (after the templates parsed). */
static int load_exps(struct collector *c, struct rd *r, uint32_t ne, int apply)
{
    for (uint32_t i = 0; i < ne && !r->err; i++) {
        struct key k = load_key(r);
        uint32_t sampling = rd_le32(r);
        uint64_t sysinit = rd_le64(r);
        uint32_t id[SAMPLERS], val[SAMPLERS];
        for (int s = 0; s < SAMPLERS; s++) {
            id[s] = rd_le32(r);
            val[s] = rd_le32(r);
        }
        if (r->err || !apply || (!sampling && !sysinit && !val[0]))
            continue;
        struct collect_exp *e = exp_get(c, k.addr, k.domain, k.version);
        e->sampling = sampling;
        e->sysinit_ms = sysinit;
        memcpy(e->samp_id, id, sizeof(id));
        memcpy(e->samp_val, val, sizeof(val));
    }
    return r->err ? FS_ETRUNC : 0;
}

/* Load a templates file (collect.h): all or nothing. */
int collector_load(struct collector *c, const uint8_t *buf, size_t len, size_t *ntemplates,
                   struct fs_err *err)
{
    struct rd r = rd_init(buf, len);
    uint32_t nt, ne;
    int ver = 0;
    int rc = load_header(&r, &ver, &nt, &ne, err);
    if (rc)
        return rc;
    /* Each template takes at least 30 bytes: a count beyond that is a lie. */
    if (nt > rd_left(&r) / 30)
        return fs_err_set(err, FS_ETRUNC, (long long)len, "templates file cut short");
    struct loaded l = { xcalloc(nt ? nt : 1, sizeof(*l.k)), xcalloc(nt ? nt : 1, sizeof(*l.t)), 0 };
    for (; l.n < nt && !rc; l.n++)
        rc = load_tmpl(&r, ver, &l.k[l.n], &l.t[l.n]);
    if (rc) {
        l.n--; /* the failed one freed its ops itself */
    } else {
        struct rd probe = r;
        rc = load_exps(c, &probe, ne, 0);
        uint8_t end[4];
        rd_bytes(&probe, end, 4);
        if (!rc && (probe.err || memcmp(end, "FSTE", 4) != 0 || rd_left(&probe)))
            rc = probe.err ? FS_ETRUNC : FS_ECORRUPT;
    }
    if (rc) {
        loaded_free(&l);
        return fs_err_set(err, rc, (long long)(r.p - buf), "templates file %s at byte %lld",
                          rc == FS_ETRUNC ? "cut short" : "damaged", (long long)(r.p - buf));
    }
    load_exps(c, &r, ne, 1);
    size_t stored = 0;
    for (uint32_t i = 0; i < l.n; i++)
        stored += tmpl_store(c, &l.k[i], &l.t[i]) == 0;
    free(l.k);
    free(l.t);
    if (ntemplates)
        *ntemplates = stored;
    return 0;
}
