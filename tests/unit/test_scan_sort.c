/* The scan detector's own sort (scan.c sort_contacts): the same flows in random,
 * ascending and descending order give the same findings, and the scanners planted
 * among them are found ("record order does not matter", scan.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/scan.h"
#include "core/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFLOWS 60000

static struct flow flows[NFLOWS];

/* Sources 1..50 are clients of 4 answering servers; sources 200..203 scan 300 hosts
 * of which 1 in 10 answers; many repeats of one (src, dst, port) with equal times. */
static void make(void)
{
    srand(11);
    for (size_t i = 0; i < NFLOWS; i++) {
        struct flow *f = &flows[i];
        memset(f, 0, sizeof(*f));
        f->src[10] = f->dst[10] = f->src[11] = f->dst[11] = 0xff;
        f->src[12] = 10;
        f->dst[12] = 10;
        f->dst[13] = 9;
        f->ipver = 4;
        f->proto = 6;
        f->sport = 40000;
        f->packets = 1;
        unsigned r = (unsigned)rand();
        int scanner = i % 7 == 0;
        f->src[15] = (uint8_t)(scanner ? 200 + r % 4 : 1 + r % 50);
        unsigned host = scanner ? (r >> 4) % 300 : (r >> 4) % 4;
        f->dst[14] = (uint8_t)(host >> 8);
        f->dst[15] = (uint8_t)host;
        f->dport = (uint16_t)(i % 5 == 0 ? 80 : 443);
        f->first = i % 3 == 0 ? 5000 : 1000 + (uint64_t)(r >> 8) % 3000000;
        f->last = f->first + (r >> 20) % 50;
        if (!scanner || host % 10 == 0) {
            f->rpackets = 1;
            f->rflags = FS_TCP_SYN | FS_TCP_ACK;
        }
    }
}

static int cmp_first(const void *a, const void *b)
{
    const struct flow *x = a, *y = b;
    int c = memcmp(x->src, y->src, 16);
    if (c)
        return c;
    c = memcmp(x->dst, y->dst, 16);
    if (c)
        return c;
    return (x->first > y->first) - (x->first < y->first);
}

struct out {
    char buf[8192];
    size_t n;
    unsigned found;
};

static int keep(void *ctx, const struct scan_finding *f)
{
    struct out *o = ctx;
    o->n += (size_t)snprintf(
        o->buf + o->n, sizeof(o->buf) - o->n, "%u %llu %llu %llu %u %u %u %u %.6f|", f->src[15],
        (unsigned long long)f->first, (unsigned long long)f->last, (unsigned long long)f->flows,
        f->targets, f->ports, f->failed, f->contacts, f->score);
    o->found++;
    return 0;
}

static void run(int order, struct out *o)
{
    struct scan_opts so = { .trw = TRW_PARAMS_DEFAULT,
                            .count_external = 20,
                            .count_internal = 50,
                            .window_ms = 3600000,
                            .max_mem = (size_t)1 << 28 };
    int err;
    struct scan *s = scan_new(&so, &err);
    assert_non_null(s);
    for (size_t k = 0; k < NFLOWS; k++)
        assert_int_equal(scan_add(s, &flows[order < 0 ? NFLOWS - 1 - k : k]), 0);
    memset(o, 0, sizeof(*o));
    scan_finish(s, keep, o);
    scan_free(s);
}

static void any_order(void **unused)
{
    (void)unused;
    struct out a, b, c;
    make();
    run(1, &a);
    qsort(flows, NFLOWS, sizeof(flows[0]), cmp_first);
    run(1, &b);
    run(-1, &c);
    assert_string_equal(a.buf, b.buf);
    assert_string_equal(a.buf, c.buf);
    assert_int_equal(a.found, 4); /* the four scanners, no client */
    for (const char *p = a.buf; *p; p = strchr(p, '|') + 1)
        assert_true(strtol(p, NULL, 10) >= 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(any_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
