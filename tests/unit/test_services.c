/* The services profile (analytics/services.c): what answers, the aggregation, the
 * authorised inventory and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/services.h"
#include "core/err.h"
#include "core/fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct flow mk(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                      uint8_t proto, uint8_t rflags, uint64_t rpackets)
{
    struct flow f;
    int v;
    memset(&f, 0, sizeof(f));
    parse_addr(src, f.src, &v);
    parse_addr(dst, f.dst, &v);
    f.ipver = (uint8_t)v;
    f.sport = sport;
    f.dport = dport;
    f.proto = proto;
    f.rflags = rflags;
    f.rpackets = rpackets;
    f.packets = 1;
    f.bytes = 100;
    f.rbytes = rpackets * 10;
    f.first = 1000;
    f.last = 2000;
    return f;
}

#define SA (FS_TCP_SYN | FS_TCP_ACK)
#define A  FS_TCP_ACK

/*
 * A capture that began mid-connection makes the server's packet the first one: the
 * "flow" then runs server:80 -> client:3254 (an old Windows client port, below the
 * ephemeral range) with ACKs back. That is no service 3254; the same flow seen the right
 * way round is service 80. A handshake makes even a high port a service.
 */
static void test_answers(void **state)
{
    (void)state;
    struct flow f;
    f = mk("10.0.0.1", 40000, "10.0.0.2", 80, 6, SA, 1);
    assert_true(services_flow_answers(&f));
    f = mk("10.0.0.1", 40000, "10.0.0.2", 45000, 6, SA, 1);
    assert_true(services_flow_answers(&f));
    f = mk("10.0.0.1", 3254, "10.0.0.2", 80, 6, A, 4);
    assert_true(services_flow_answers(&f));
    f = mk("10.0.0.1", 3254, "10.0.0.2", 80, 6, A, 3);
    assert_false(services_flow_answers(&f));
    f = mk("65.54.95.206", 80, "192.168.72.14", 3254, 6, A | FS_TCP_PSH, 40);
    assert_false(services_flow_answers(&f));
    f = mk("10.0.0.2", 443, "10.0.0.1", 51000, 6, A, 40);
    assert_false(services_flow_answers(&f));
    f = mk("10.0.0.1", 40000, "10.0.0.2", 80, 6, FS_TCP_RST | A, 1);
    assert_false(services_flow_answers(&f));
    f = mk("10.0.0.1", 40000, "10.0.0.2", 80, 6, 0, 0);
    assert_false(services_flow_answers(&f));
    /* UDP: a reply needed; high ports and answers to a well-known port are no service */
    f = mk("10.0.0.1", 40000, "10.0.0.2", 53, 17, 0, 1);
    assert_true(services_flow_answers(&f));
    f = mk("10.0.0.1", 40000, "10.0.0.2", 53, 17, 0, 0);
    assert_false(services_flow_answers(&f));
    f = mk("10.0.0.2", 53, "10.0.0.1", 3000, 17, 0, 1);
    assert_false(services_flow_answers(&f));
    f = mk("10.0.0.1", 5000, "10.0.0.2", 40000, 17, 0, 1);
    assert_false(services_flow_answers(&f));
    f = mk("10.0.0.1", 123, "10.0.0.2", 123, 17, 0, 1);
    assert_true(services_flow_answers(&f));
    f = mk("10.0.0.1", 0, "10.0.0.2", 0x0800, 1, 0, 1);
    assert_false(services_flow_answers(&f));
}

struct got {
    struct svc_row r[8];
    char text[8][64];
    int n;
};

static int keep(void *ctx, const struct svc_row *r)
{
    struct got *g = ctx;
    if (g->n < 8) {
        g->r[g->n] = *r;
        snprintf(g->text[g->n], sizeof(g->text[0]), "%s", r->server_text ? r->server_text : "");
        g->n++;
    }
    return 0;
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/fs-test-services-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* Clients counted once each; the internal filter; authorised by a prefix; an entry
 * never seen comes last as missing. */
static void test_profile(void **state)
{
    (void)state;
    struct svc_authlist auth = { 0 };
    char msg[256];
    char *path = write_tmp("server,proto,port\n10.0.0.0/24,tcp,80\n10.0.0.9,udp,53\n");
    assert_int_equal(services_load_authorised(&auth, path, msg, sizeof(msg)), 0);
    unlink(path);
    assert_int_equal(auth.n, 2);
    struct netlist internal;
    netlist_init(&internal);
    assert_int_equal(netlist_add_net(&internal, "10.0.0.0/8"), 0);
    struct services_opts o = { &internal, &auth, 1 << 20 };
    struct services *s = services_new(&o);
    struct flow f = mk("192.0.2.1", 40000, "10.0.0.2", 80, 6, SA, 3);
    for (int i = 0; i < 3; i++) {
        f.first = 1000 + (uint64_t)i * 100;
        f.last = f.first + 50;
        assert_int_equal(services_add(s, &f), 0);
    }
    f = mk("192.0.2.7", 40000, "10.0.0.2", 80, 6, SA, 3);
    assert_int_equal(services_add(s, &f), 0);
    f = mk("10.0.0.2", 40000, "10.0.0.3", 22, 6, SA, 3);
    assert_int_equal(services_add(s, &f), 0);
    f = mk("10.0.0.2", 40000, "192.0.2.1", 22, 6, SA, 3); /* outside --internal */
    assert_int_equal(services_add(s, &f), 0);
    struct got g = { .n = 0 };
    assert_int_equal(services_finish(s, keep, &g), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.r[0].port, 80);
    assert_int_equal(g.r[0].clients, 2);
    assert_int_equal(g.r[0].flows, 4);
    assert_int_equal(g.r[0].bytes, 4 * 130);
    assert_int_equal(g.r[0].first, 1000);
    assert_int_equal(g.r[0].last, 2000);
    assert_int_equal(g.r[0].status, SVC_AUTHORISED);
    assert_int_equal(g.r[1].port, 22);
    assert_int_equal(g.r[1].status, SVC_UNEXPECTED);
    assert_int_equal(g.r[2].status, SVC_MISSING);
    assert_string_equal(g.text[2], "10.0.0.9");
    assert_int_equal(g.r[2].proto, 17);
    assert_int_equal(g.r[2].flows, 0);
    services_free(s);
    netlist_free(&internal);
    services_authlist_free(&auth);
}

static void expect_bad(const char *text, const char *tail)
{
    struct svc_authlist auth = { 0 };
    char msg[256] = "", want[300];
    char *path = write_tmp(text);
    assert_int_equal(services_load_authorised(&auth, path, msg, sizeof(msg)), FS_EINVAL);
    snprintf(want, sizeof(want), "%s%s", path, tail);
    assert_string_equal(msg, want);
    unlink(path);
    services_authlist_free(&auth);
}

static void test_bad_inventory(void **state)
{
    (void)state;
    expect_bad("server,port,proto\n", ":1: the header must be server,proto,port");
    expect_bad("# ours\nserver,proto,port\n10.0.0.1,tcp\n",
               ":3: three fields needed: server,proto,port");
    expect_bad("server,proto,port\n10.0.0.1,tcp,80,x\n",
               ":2: three fields needed: server,proto,port");
    expect_bad("server,proto,port\n10.0.0.300,tcp,80\n",
               ":2: server '10.0.0.300' is not an address or prefix");
    expect_bad("server,proto,port\n10.0.0.1,gre,80\n", ":2: proto 'gre' is not tcp or udp");
    expect_bad("server,proto,port\n10.0.0.1,udp,65536\n", ":2: port '65536' is not 0..65535");
    expect_bad("", ": empty (the header server,proto,port is needed)");
    struct svc_authlist auth = { 0 };
    char msg[64];
    assert_int_equal(services_load_authorised(&auth, "/nonexistent/x.csv", msg, sizeof(msg)),
                     -ENOENT);
}

static void test_memory_bound(void **state)
{
    (void)state;
    /* room for one service, one client and three pairs: repeats fit, new keys do not */
    struct services_opts o = { NULL, NULL,
                               SERVICES_BYTES_PER_SERVICE + SERVICES_BYTES_PER_CLIENT +
                                   3 * SERVICES_BYTES_PER_PAIR };
    struct services *s = services_new(&o);
    struct flow f = mk("192.0.2.1", 40000, "10.0.0.2", 80, 6, SA, 3);
    struct flow g = mk("192.0.2.1", 40000, "10.0.0.3", 80, 6, SA, 3);
    struct flow h = mk("192.0.2.9", 40000, "10.0.0.2", 80, 6, SA, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(services_add(s, &f), 0);     /* the same pair again: no room taken */
    assert_int_equal(services_add(s, &g), FS_ENOSPC); /* a new service */
    assert_int_equal(services_add(s, &h), FS_ENOSPC); /* a new client */
    struct flow f2 = mk("192.0.2.1", 40001, "10.0.0.2", 443, 6, SA, 3);
    assert_int_equal(services_add(s, &f2), FS_ENOSPC);
    f.rflags = 0; /* not answered: not held, so no memory needed */
    f.rpackets = 0;
    assert_int_equal(services_add(s, &f), 0);
    assert_int_equal(services_flows(s), 3);
    services_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_bad_inventory),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
