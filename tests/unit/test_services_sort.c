/* The services profile's own sort (services.c sort_recs): random, sorted, reversed and
 * all-equal inputs of many records give the rows a brute-force count gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/services.h"
#include "core/flow.h"

#include <stdlib.h>
#include <string.h>

#define NSERVERS 7
#define NPORTS   3
#define NCLIENTS 40

struct want {
    uint64_t flows, bytes, first, last;
    unsigned char client[NCLIENTS];
};

static struct want want[NSERVERS][NPORTS];
static const uint16_t ports[NPORTS] = { 22, 80, 443 };

static struct flow mk(unsigned server, unsigned port, unsigned client, uint64_t t)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.src[10] = f.dst[10] = f.src[11] = f.dst[11] = 0xff;
    f.src[12] = 192;
    f.src[15] = (uint8_t)(client + 1);
    f.dst[12] = (uint8_t)(server % 2 ? 10 : 172); /* high and low first bytes */
    f.dst[15] = (uint8_t)(server + 1);
    f.ipver = 4;
    f.proto = 6;
    f.sport = 40000;
    f.dport = ports[port];
    f.rflags = FS_TCP_SYN | FS_TCP_ACK;
    f.rpackets = 1;
    f.bytes = 60 + client;
    f.rbytes = 40;
    f.first = t;
    f.last = t + 5;
    return f;
}

struct got {
    unsigned rows;
    int bad;
    uint64_t prev; /* the last row's key: rows come in address, then port order */
};

static int check(void *ctx, const struct svc_row *r)
{
    struct got *g = ctx;
    unsigned server = r->server[15] - 1u, port = 0;
    while (port < NPORTS && ports[port] != r->port)
        port++;
    struct want *w = &want[server][port];
    uint64_t clients = 0;
    for (unsigned c = 0; c < NCLIENTS; c++)
        clients += w->client[c];
    if (server >= NSERVERS || port == NPORTS || r->flows != w->flows || r->bytes != w->bytes ||
        r->first != w->first || r->last != w->last || r->clients != clients)
        g->bad++;
    uint64_t key = (uint64_t)r->server[12] << 24 | (uint64_t)r->server[15] << 16 | r->port;
    if (g->rows && key <= g->prev)
        g->bad++;
    g->prev = key;
    g->rows++;
    return 0;
}

/* order: 0 random, 1 ascending, 2 descending, 3 one service and one client only;
 * the flows dealt round to `parts` states (as the reading threads get them), merged
 * into the first at the end */
static void run_parts(unsigned order, size_t n, size_t parts)
{
    memset(want, 0, sizeof(want));
    struct services_opts o = { NULL, NULL, (size_t)1 << 30 };
    struct services *part[3];
    for (size_t p = 0; p < parts; p++)
        part[p] = services_new(&o);
    struct services *s = part[0];
    srand(7);
    unsigned distinct = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned server, port, client;
        if (order == 0) {
            server = (unsigned)rand() % NSERVERS;
            port = (unsigned)rand() % NPORTS;
            client = (unsigned)rand() % NCLIENTS;
        } else if (order == 3) {
            server = port = client = 0;
        } else {
            size_t k = order == 1 ? i : n - 1 - i;
            size_t per = n / (NSERVERS * NPORTS) + 1;
            server = (unsigned)(k / per / NPORTS) % NSERVERS;
            port = (unsigned)(k / per) % NPORTS;
            client = (unsigned)(k % NCLIENTS);
        }
        uint64_t t = 1000 + (uint64_t)rand() % 100000;
        struct flow f = mk(server, port, client, t);
        assert_int_equal(services_add(part[i % parts], &f), 0);
        struct want *w = &want[server][port];
        distinct += w->flows == 0;
        w->first = w->flows == 0 || t < w->first ? t : w->first;
        w->last = t + 5 > w->last ? t + 5 : w->last;
        w->flows++;
        w->bytes += f.bytes + f.rbytes;
        w->client[client] = 1;
    }
    for (size_t p = 1; p < parts; p++) {
        assert_int_equal(services_merge(s, part[p]), 0);
        services_free(part[p]);
    }
    struct got g = { 0, 0, 0 };
    services_finish(s, check, &g);
    services_free(s);
    assert_int_equal(g.bad, 0);
    assert_int_equal(g.rows, distinct);
}

static void run(unsigned order, size_t n)
{
    run_parts(order, n, 1);
    run_parts(order, n, 3); /* services_merge gives the same rows */
}

static void random_order(void **unused)
{
    (void)unused;
    run(0, 200000);
    run(0, 17);
    run(0, 3);
}

static void sorted_and_reversed(void **unused)
{
    (void)unused;
    run(1, 100000);
    run(2, 100000);
}

static void all_equal(void **unused)
{
    (void)unused;
    run(3, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_order),
        cmocka_unit_test(sorted_and_reversed),
        cmocka_unit_test(all_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
