#include "uniflow.h"

#include "../query/biflow.h"

#include <stdio.h>
#include <string.h>

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

/* After pairing: skip what stayed a uniflow (-b), apply the basis, hand on. */
static int deliver(void *vu, const struct flow *f)
{
    struct uni_feed *u = vu;
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

int uni_feed_add(void *vu, const struct flow *f)
{
    struct uni_feed *u = vu;
    u->records++;
    return u->bi ? biflow_add(u->bi, f, deliver, u) : deliver(u, f);
}

int uni_read(struct input_opts *in, const char *prog, struct uni_feed *u)
{
    int st = input_read(in, prog, uni_feed_add, u);
    if (u->bi)
        biflow_flush(u->bi, deliver, u);
    return st;
}

void uni_feed_report(const struct uni_feed *u, const char *prog)
{
    if (u->bi) {
        struct biflow_counts c;
        biflow_counts(u->bi, &c);
        fprintf(stderr,
                "%s: -b: %llu records: %llu pairs of uniflows made into biflows, %llu biflows "
                "as read; %llu uniflows without their reverse skipped (one direction "
                "missing), %llu of them above %llu bytes\n",
                prog, (unsigned long long)c.in, (unsigned long long)c.paired,
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
}
