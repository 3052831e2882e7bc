/* The hosts of our networks (analytics/hosts.c): who counts as a host (began or
 * answered a flow; only probed is none), the sums per host against a brute-force count
 * over many flows in random, ascending and descending order (its own sort), address
 * order, and --max-mem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/hosts.h"
#include "core/err.h"
#include "core/flow.h"

#include <stdlib.h>
#include <string.h>

#define NHOSTS 300
#define NFLOWS 100000

struct want {
    uint64_t flows, bytes, first, last, initiated, answered;
};

static struct want want[NHOSTS];

static void set_addr(uint8_t a[16], unsigned h)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)(h % 2 ? 10 : 192); /* interleaved high and low first bytes */
    a[14] = (uint8_t)(h >> 8);
    a[15] = (uint8_t)h;
}

static unsigned host_of(const uint8_t a[16])
{
    return (unsigned)a[14] << 8 | a[15];
}

struct got {
    unsigned rows;
    int bad;
    uint64_t prev;
};

static int check(void *ctx, const struct host_row *r)
{
    struct got *g = ctx;
    unsigned h = host_of(r->addr);
    const struct want *w = &want[h];
    if (h >= NHOSTS || r->flows != w->flows || r->bytes != w->bytes || r->first != w->first ||
        r->last != w->last || r->initiated != w->initiated || r->answered != w->answered)
        g->bad++;
    uint64_t key = (uint64_t)r->addr[12] << 16 | h;
    if (g->rows && key <= g->prev)
        g->bad++;
    g->prev = key;
    g->rows++;
    return 0;
}

static void count(unsigned h, const struct flow *f, int role)
{
    struct want *w = &want[h];
    w->first = w->flows == 0 || f->first < w->first ? f->first : w->first;
    w->last = f->last > w->last ? f->last : w->last;
    w->flows++;
    w->bytes += f->bytes + f->rbytes;
    w->initiated += role == 1;
    w->answered += role == 2;
}

/* order: 0 random, 1 ascending, 2 descending (by source); the flows dealt round to
 * `parts` states (as the reading threads get them), merged into the first at the end */
static void run_parts(int order, size_t parts)
{
    memset(want, 0, sizeof(want));
    struct hosts_opts o = { NULL, (size_t)1 << 28 };
    struct hosts *part[3];
    for (size_t p = 0; p < parts; p++)
        part[p] = hosts_new(&o);
    struct hosts *hs = part[0];
    srand(5);
    for (size_t i = 0; i < NFLOWS; i++) {
        struct flow f;
        memset(&f, 0, sizeof(f));
        unsigned r = (unsigned)rand();
        unsigned src = order == 0   ? r % NHOSTS
                       : order == 1 ? (unsigned)(i * NHOSTS / NFLOWS)
                                    : (unsigned)((NFLOWS - 1 - i) * NHOSTS / NFLOWS);
        unsigned dst = (src + 1 + (r >> 9) % (NHOSTS - 1)) % NHOSTS;
        set_addr(f.src, src);
        set_addr(f.dst, dst);
        f.ipver = 4;
        f.bytes = 100 + r % 7;
        f.rbytes = (r >> 3) % 2 ? 50 : 0;
        f.rpackets = f.rbytes ? 1 : 0;
        f.first = 1000 + (r >> 12) % 100000;
        f.last = f.first + 10;
        assert_int_equal(hosts_add(part[i % parts], &f), 0);
        count(src, &f, 1);
        count(dst, &f, f.rpackets ? 2 : 0);
    }
    unsigned seen = 0;
    for (unsigned h = 0; h < NHOSTS; h++)
        seen += want[h].initiated + want[h].answered > 0;
    for (size_t p = 1; p < parts; p++) {
        assert_int_equal(hosts_merge(hs, part[p]), 0);
        hosts_free(part[p]);
    }
    struct got g = { 0, 0, 0 };
    hosts_finish(hs, check, &g);
    hosts_free(hs);
    assert_int_equal(g.bad, 0);
    assert_int_equal(g.rows, seen);
}

static void run(int order)
{
    run_parts(order, 1);
    run_parts(order, 3); /* hosts_merge gives the same rows */
}

static void sums_any_order(void **unused)
{
    (void)unused;
    run(0);
    run(1);
    run(2);
}

static int count_rows(void *ctx, const struct host_row *r)
{
    (void)r;
    ++*(unsigned *)ctx;
    return 0;
}

/* A scanner probing silent addresses: the scanner is a host, its targets are not; a
 * target that answered once is, with every flow it took part in. */
static void probed_is_no_host(void **unused)
{
    (void)unused;
    struct hosts_opts o = { NULL, (size_t)1 << 20 };
    struct hosts *hs = hosts_new(&o);
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.ipver = 4;
    set_addr(f.src, 1);
    for (unsigned t = 2; t < 12; t++) {
        set_addr(f.dst, t);
        assert_int_equal(hosts_add(hs, &f), 0);
    }
    f.rpackets = 1;
    set_addr(f.dst, 5);
    assert_int_equal(hosts_add(hs, &f), 0);
    unsigned rows = 0;
    hosts_finish(hs, count_rows, &rows);
    hosts_free(hs);
    assert_int_equal(rows, 2); /* the scanner and the one that answered */
}

static void max_mem(void **unused)
{
    (void)unused;
    /* room for three hosts: flows between them always fit, a fourth host does not */
    struct hosts_opts o = { NULL, HOSTS_BYTES_PER_HOST * 3 };
    struct hosts *hs = hosts_new(&o);
    struct flow f;
    memset(&f, 0, sizeof(f));
    set_addr(f.src, 1);
    set_addr(f.dst, 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hosts_add(hs, &f), 0);
    set_addr(f.dst, 3);
    assert_int_equal(hosts_add(hs, &f), 0);
    assert_int_equal(hosts_records(hs), 3);
    set_addr(f.dst, 4);
    assert_int_equal(hosts_add(hs, &f), FS_ENOSPC);
    set_addr(f.src, 2);
    assert_int_equal(hosts_add(hs, &f), FS_ENOSPC);
    set_addr(f.dst, 3);
    assert_int_equal(hosts_add(hs, &f), 0);
    assert_int_equal(hosts_records(hs), 3);
    hosts_free(hs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sums_any_order),
        cmocka_unit_test(probed_is_no_host),
        cmocka_unit_test(max_mem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
