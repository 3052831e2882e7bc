#include "uniflow.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "../query/biflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One exporter: judging (its first records held), passed, or refused as sampled. */
enum { EXP_JUDGING, EXP_PASS, EXP_SAMPLED };
struct uni_exp {
    uint8_t addr[16];
    int state;
    uint64_t g;     /* gcd of the counters seen */
    uint64_t nrec;  /* records seen */
    struct flow *q; /* UNI_SAMPLE_K held while judging */
    size_t nq;
};

int uni_basis_parse(const char *s)
{
    static const char *const names[] = { "auto", "payload", "bytes" };
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void uni_feed_init(struct uni_feed *u, int pair, enum uni_basis basis, uint64_t big,
                   int (*fn)(void *ctx, const struct flow *f), void *ctx)
{
    memset(u, 0, sizeof(*u));
    u->pair = pair;
    u->basis = basis;
    u->big = big;
    u->fn = fn;
    u->ctx = ctx;
    if (pair)
        u->bi = biflow_new(BIFLOW_GAP_MS, BIFLOW_HOLD_MS, BIFLOW_MAX_OPEN);
}

static int is_uni(const struct flow *f)
{
    return f->rbytes == 0 && f->rpackets == 0;
}

/* Last: skip what stayed a uniflow (-b), apply the basis, hand on. */
static int finish(struct uni_feed *u, const struct flow *f)
{
    if (is_uni(f)) {
        if (u->pair) {
            u->unpaired++;
            u->unpaired_big += f->bytes > u->big;
            return 0;
        }
        u->uni_big += f->bytes > u->big;
    }
    if (u->basis == UNI_AUTO)
        return u->fn(u->ctx, f);
    struct flow g = *f;
    g.rgoodput = g.goodput = 0;
    if (u->basis == UNI_BYTES)
        g.rpayload = g.payload = 0;
    return u->fn(u->ctx, &g);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int zero_addr(const uint8_t *a)
{
    for (int i = 0; i < 16; i++)
        if (a[i])
            return 0;
    return 1;
}

/* The exporter entry of addr, made when new; NULL when the table is full. */
static struct uni_exp *exp_of(struct uni_feed *u, const uint8_t *addr)
{
    if (u->nexp && memcmp(u->exp[u->last].addr, addr, 16) == 0)
        return &u->exp[u->last]; /* a store's records come in runs of one exporter */
    for (size_t i = 0; i < u->nexp; i++)
        if (memcmp(u->exp[i].addr, addr, 16) == 0)
            return &u->exp[u->last = i];
    if (u->nexp == UNI_MAX_EXP)
        return NULL;
    if (!u->exp)
        u->exp = xcalloc(UNI_MAX_EXP, sizeof(*u->exp));
    u->last = u->nexp;
    struct uni_exp *e = &u->exp[u->nexp++];
    memcpy(e->addr, addr, 16);
    e->q = xmalloc(UNI_SAMPLE_K * sizeof(*e->q));
    return e;
}

/* Sampled: the n records held share the divisor g >= 2, which an unsampled exporter's
 * 2n packet and byte counts do by chance with odds of about g^-2n: judged so below
 * 2^-32 (16 records with g = 2, 4 records with g >= 16). */
static int looks_sampled(const struct uni_exp *e)
{
    return e->g >= 2 && 2.0 * (double)e->nq * log2((double)e->g) >= 32.0;
}

/* Refuse e's records: held ones counted, later ones dropped as they come. */
static void refuse(struct uni_feed *u, struct uni_exp *e)
{
    e->state = EXP_SAMPLED;
    u->sampled += e->nq;
    e->nq = 0;
    free(e->q);
    e->q = NULL;
}

/* Let the held records of e go on (judged unsampled, or not judged at the end). */
static int release(struct uni_feed *u, struct uni_exp *e)
{
    int rc = 0;
    for (size_t i = 0; i < e->nq && !rc; i++)
        rc = finish(u, &e->q[i]);
    e->nq = 0;
    free(e->q);
    e->q = NULL;
    return rc;
}

/* After pairing (the judging holds records back, which must not keep a uniflow from
 * its reverse): judge the exporter's sampling, then finish. */
static int deliver(void *vu, const struct flow *f)
{
    struct uni_feed *u = vu;
    if (zero_addr(f->exporter))
        return finish(u, f);
    struct uni_exp *e = exp_of(u, f->exporter);
    if (!e) {
        u->unjudged++;
        return finish(u, f);
    }
    e->nrec++;
    if (e->state == EXP_PASS)
        return finish(u, f);
    if (e->state == EXP_SAMPLED) {
        u->sampled++;
        return 0;
    }
    e->g = gcd(gcd(gcd(gcd(e->g, f->packets), f->bytes), f->rpackets), f->rbytes);
    e->q[e->nq++] = *f;
    if (e->nq < UNI_SAMPLE_K)
        return 0;
    if (looks_sampled(e)) {
        refuse(u, e);
        return 0;
    }
    e->state = EXP_PASS;
    return release(u, e);
}

int uni_feed_add(void *vu, const struct flow *f)
{
    struct uni_feed *u = vu;
    u->records++;
    return u->bi ? biflow_add(u->bi, f, deliver, u) : deliver(u, f);
}

int uni_end(struct uni_feed *u)
{
    int rc = u->bi ? biflow_flush(u->bi, deliver, u) : 0;
    for (size_t i = 0; i < u->nexp && !rc; i++)
        if (u->exp[i].state != EXP_JUDGING)
            continue;
        else if (looks_sampled(&u->exp[i])) /* fewer flows, a larger divisor */
            refuse(u, &u->exp[i]);
        else { /* too few flows to tell */
            u->unjudged += u->exp[i].nq;
            rc = release(u, &u->exp[i]);
        }
    return rc;
}

int uni_read(struct input_opts *in, const char *prog, struct uni_feed *u)
{
    int st = input_read(in, prog, uni_feed_add, u);
    uni_end(u);
    return st;
}

void uni_feed_report(const struct uni_feed *u, const char *prog)
{
    for (size_t i = 0; i < u->nexp; i++) {
        const struct uni_exp *e = &u->exp[i];
        if (e->state != EXP_SAMPLED)
            continue;
        char a[FMT_ADDR_MAX];
        fmt_addr(a, e->addr, flow_addr_is_v4mapped(e->addr) ? 4 : 6);
        fprintf(stderr,
                "%s: exporter %s samples: every packet and byte count of its records is a "
                "multiple of %llu (collect scales sampled records by the interval); its %llu "
                "flows refused: a sampled byte count names no file\n",
                prog, a, (unsigned long long)e->g, (unsigned long long)e->nrec);
    }
    if (u->unjudged)
        fprintf(stderr,
                "%s: %llu flows of exporters with too few flows to judge their sampling (or "
                "beyond %d exporters) taken as unsampled\n",
                prog, (unsigned long long)u->unjudged, UNI_MAX_EXP);
    if (u->bi) {
        struct biflow_counts c;
        biflow_counts(u->bi, &c);
        fprintf(stderr,
                "%s: -b: %llu records: %llu pairs of uniflows made into biflows, %llu biflows "
                "as read; %llu uniflows without their reverse skipped (one direction "
                "missing), %llu of them above %llu bytes\n",
                prog, (unsigned long long)u->records, (unsigned long long)c.paired,
                (unsigned long long)c.passed, (unsigned long long)u->unpaired,
                (unsigned long long)u->unpaired_big, (unsigned long long)u->big);
    } else if (u->uni_big) {
        fprintf(stderr,
                "%s: %llu uniflows (rbytes = rpackets = 0: one record per direction, as "
                "NetFlow/IPFIX exporters send) above %llu bytes, whose downloads are not "
                "seen: -b pairs them into biflows\n",
                prog, (unsigned long long)u->uni_big, (unsigned long long)u->big);
    }
}

void uni_feed_free(struct uni_feed *u)
{
    biflow_free(u->bi);
    u->bi = NULL;
    for (size_t i = 0; i < u->nexp; i++)
        free(u->exp[i].q);
    free(u->exp);
    u->exp = NULL;
    u->nexp = 0;
}
