/* Passive DNS names (src/query/pdns.h): the table read from JSON lines, CNAME chains
 * followed back to the name asked for, the choice among several names by time and
 * count, and hostile lines skipped with their reason: bad JSON, wrong types, bad
 * addresses, names it may not hold, a line over PDNS_LINE_MAX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <pthread.h>

#include "query/pdns.h"

static struct pdns *load(const char *text, struct pdns_stats *st)
{
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(fp);
    struct pdns *t = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(pdns_read(fp, "test", &t, st, &err), 0);
    fclose(fp);
    return t;
}

static const char *name_of(const struct pdns *t, const char *addr, uint64_t t_s)
{
    uint8_t a[16] = { 0 };
    if (strchr(addr, ':')) {
        assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
    } else {
        a[10] = a[11] = 0xff;
        assert_int_equal(inet_pton(AF_INET, addr, a + 12), 1);
    }
    return pdns_name(t, a, t_s * 1000);
}

static void test_chain_and_time(void **state)
{
    (void)state;
    struct pdns_stats st;
    struct pdns *t = load(
        /* www.netflix.com -> www.geo.netflix.com -> www.eu-west-1...: the CDN address */
        "{\"rrname\":\"WWW.Netflix.com.\",\"rrtype\":\"CNAME\",\"rdata\":\"www.geo.netflix.com\","
        "\"time_first\":1000,\"time_last\":2000,\"count\":5}\n"
        "{\"rrname\":\"www.geo.netflix.com\",\"rrtype\":\"CNAME\",\"rdata\":"
        "\"www.eu-west-1.prodaa.netflix.com\",\"time_first\":1000,\"time_last\":2000}\n"
        "{\"rrtype\":\"A\",\"rrname\":\"www.eu-west-1.prodaa.netflix.com\",\"rdata\":"
        "[\"34.252.114.84\",\"34.253.36.84\"],\"time_first\":1500,\"time_last\":1600,"
        "\"sensor_id\":{\"x\":[1,2,null]},\"count\":2}\n"
        /* a loop of CNAMEs: ends where it would come back */
        "{\"rrname\":\"a.loop\",\"rrtype\":\"CNAME\",\"rdata\":\"b.loop\",\"time_first\":1,"
        "\"time_last\":9}\n"
        "{\"rrname\":\"b.loop\",\"rrtype\":\"CNAME\",\"rdata\":\"a.loop\",\"time_first\":1,"
        "\"time_last\":9}\n"
        "{\"rrname\":\"b.loop\",\"rrtype\":\"A\",\"rdata\":\"10.0.0.9\",\"time_first\":1,"
        "\"time_last\":9}\n"
        /* one address, three names over time; two first seen at once: the most counted */
        "{\"rrname\":\"old.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\"time_first\":"
        "10000,\"time_last\":10100}\n"
        "{\"rrname\":\"new.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\"time_first\":"
        "20000,\"time_last\":20100,\"count\":1}\n"
        "{\"rrname\":\"busy.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\"time_first\":"
        "20000,\"time_last\":20050,\"count\":9}\n"
        "{\"rrname\":\"v6.example\",\"rrtype\":\"AAAA\",\"rdata\":\"2001:DB8::1\",\"time_first\":"
        "5,\"time_last\":5}\n"
        "\n"
        "{\"rrname\":\"mx.example\",\"rrtype\":\"MX\",\"rdata\":\"10 mail.example\","
        "\"time_first\":5,\"time_last\":5}\n",
        &st);
    assert_int_equal(st.lines, 11);
    assert_int_equal(st.addrs, 7);
    assert_int_equal(st.cnames, 4);
    assert_int_equal(st.other, 1);
    assert_int_equal(st.chained, 3);
    assert_string_equal(name_of(t, "34.252.114.84", 1550), "www.netflix.com");
    assert_string_equal(name_of(t, "34.253.36.84", 1500 - PDNS_BEFORE), "www.netflix.com");
    assert_null(name_of(t, "34.253.36.84", 1500 - PDNS_BEFORE - 1));
    assert_string_equal(name_of(t, "34.253.36.84", 1600 + PDNS_AFTER), "www.netflix.com");
    assert_null(name_of(t, "34.253.36.84", 1600 + PDNS_AFTER + 1));
    assert_string_equal(name_of(t, "10.0.0.9", 5), "a.loop");
    assert_string_equal(name_of(t, "192.0.2.1", 10050), "old.example");
    assert_string_equal(name_of(t, "192.0.2.1", 20010), "busy.example");
    assert_string_equal(name_of(t, "192.0.2.1", 20100 + PDNS_AFTER), "new.example");
    assert_null(name_of(t, "192.0.2.1", 15000));
    assert_string_equal(name_of(t, "2001:db8::1", 5), "v6.example");
    assert_null(name_of(t, "192.0.2.2", 10050));
    assert_null(name_of(t, "::ffff:0.0.0.0", 10050));
    /* the name as a number (stats keys): one per name, given back; 0 for none */
    uint8_t a1[16] = { [10] = 0xff, [11] = 0xff, 34, 252, 114, 84 };
    uint8_t a2[16] = { [10] = 0xff, [11] = 0xff, 34, 253, 36, 84 };
    uint8_t a3[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };
    uint32_t r1 = pdns_name_ref(t, a1, 1550000), r2 = pdns_name_ref(t, a2, 1550000);
    assert_int_not_equal(r1, 0);
    assert_int_equal(r1, r2);
    assert_string_equal(pdns_ref_name(t, r1), "www.netflix.com");
    assert_int_not_equal(pdns_name_ref(t, a3, 10050000), r1);
    assert_string_equal(pdns_ref_name(t, pdns_name_ref(t, a3, 10050000)), "old.example");
    assert_int_equal(pdns_name_ref(t, a3, 15000000), 0);
    assert_null(pdns_ref_name(t, 0));
    assert_null(pdns_ref_name(NULL, r1));
    pdns_free(t);
}

static void test_hostile_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        int reason; /* enum pdns_skip, or -1: kept */
    } cases[] = {
        { "not json", PDNS_SKIP_JSON },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2",
          PDNS_SKIP_JSON },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2} x",
          PDNS_SKIP_JSON },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":7,\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":\"1\","
          "\"time_last\":2}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":-1,"
          "\"time_last\":2}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":3,"
          "\"time_last\":2}",
          PDNS_SKIP_TIME },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"::1\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_RDATA },
        { "{\"rrname\":\"a\",\"rrtype\":\"AAAA\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_RDATA },
        { "{\"rrname\":\"a\\u0001b\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_NAME },
        { "{\"rrname\":\"a,b\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_NAME },
        { "{\"rrname\":\"\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_NAME },
        { "{\"rrname\":\"a\\ud800\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_JSON },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":[\"1.2.3.4\",7],\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":[],\"time_first\":1,"
          "\"time_last\":2}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":\"\\u0041.b\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1.5,"
          "\"time_last\":2e0}",
          PDNS_SKIP_FIELD },
        { "{\"rrname\":\"\\u0041.b\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\",\"time_first\":1.5,"
          "\"time_last\":2}",
          -1 },
        { "[1,2]", PDNS_SKIP_JSON },
        { "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
          "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
          PDNS_SKIP_JSON },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text), "%s\n", cases[i].line);
        struct pdns_stats st;
        struct pdns *t = load(text, &st);
        assert_int_equal(st.lines, 1);
        for (int r = 0; r < PDNS_NSKIP; r++)
            if (st.skipped[r] != (uint64_t)(r == cases[i].reason)) {
                print_error("case %zu: %s: reason %d counted %llu\n", i, cases[i].line, r,
                            (unsigned long long)st.skipped[r]);
                fail();
            }
        assert_int_equal(st.addrs, cases[i].reason < 0);
        pdns_free(t);
    }
}

/* A line over PDNS_LINE_MAX between two good ones, and no final newline. */
static void test_long_line(void **state)
{
    (void)state;
    size_t big = PDNS_LINE_MAX * 3;
    char *text = malloc(big + 400);
    static const char head[] = "{\"rrname\":\"a\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.4\","
                               "\"time_first\":1,\"time_last\":2}\n{\"x\":\"";
    static const char tail[] = "\"}\n{\"rrname\":\"c\",\"rrtype\":\"A\",\"rdata\":\"1.2.3.5\","
                               "\"time_first\":1,\"time_last\":2}";
    size_t n = sizeof(head) - 1;
    memcpy(text, head, n);
    memset(text + n, 'y', big);
    memcpy(text + n + big, tail, sizeof(tail));
    struct pdns_stats st;
    struct pdns *t = load(text, &st);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.skipped[PDNS_SKIP_LONG], 1);
    assert_int_equal(st.addrs, 2);
    assert_string_equal(name_of(t, "1.2.3.5", 2), "c");
    pdns_free(t);
    free(text);
}

/*
 * Lookups against the rule itself, on random tables: among an address's records that
 * cover t (time_first - PDNS_BEFORE <= t <= time_last + PDNS_AFTER), the one first seen
 * last, then the most counted. Times near 0 and near 2^32 (where a record covers past
 * 2^32), few names (so that answers repeat), counts unique per address (ties of first
 * and count are left to the sort's order, which the rule does not fix). Lookups in time
 * order as flows come, backwards, at random, and from four threads at once.
 */
#define RND_ADDRS 4
#define RND_RECS  300
#define RND_TIMES 3000

struct rnd_rec {
    uint32_t first, last, count;
    int name;
};

struct rnd {
    struct pdns *t;
    struct rnd_rec rec[RND_ADDRS][RND_RECS];
    int nrec[RND_ADDRS];
    uint64_t times[RND_TIMES]; /* seconds */
};

static uint64_t rnd_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void rnd_addr(int i, uint8_t a[16])
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[15] = (uint8_t)(i + 1);
}

/* The rule's answer: a name index, or -1. */
static int rnd_want(const struct rnd *r, int ai, uint64_t ts)
{
    const struct rnd_rec *best = NULL;
    for (int k = 0; k < r->nrec[ai]; k++) {
        const struct rnd_rec *c = &r->rec[ai][k];
        if ((uint64_t)c->first > ts + PDNS_BEFORE || (uint64_t)c->last + PDNS_AFTER < ts)
            continue;
        if (!best || c->first > best->first || (c->first == best->first && c->count > best->count))
            best = c;
    }
    return best ? best->name : -1;
}

static void rnd_make(struct rnd *r, uint64_t base, uint64_t *x)
{
    struct pdns_stats st = { 0 };
    r->t = pdns_new();
    for (int ai = 0; ai < RND_ADDRS; ai++) {
        uint8_t a[16];
        char text[INET6_ADDRSTRLEN];
        rnd_addr(ai, a);
        inet_ntop(AF_INET6, a, text, sizeof(text));
        r->nrec[ai] = 1 + (int)(rnd_next(x) % RND_RECS);
        for (int k = 0; k < r->nrec[ai]; k++) {
            uint64_t first = base + rnd_next(x) % (ai == 0 ? 5 : 8000);
            uint64_t last = first + rnd_next(x) % (ai == 1 ? 8000 : 300);
            first = first > UINT32_MAX ? UINT32_MAX : first;
            last = last > UINT32_MAX ? UINT32_MAX : last;
            struct rnd_rec *c = &r->rec[ai][k];
            *c = (struct rnd_rec){ (uint32_t)first, (uint32_t)last, (uint32_t)k + 1,
                                   (int)(rnd_next(x) % 5) };
            char name[16], rdata[32];
            snprintf(name, sizeof(name), "n%d.example", c->name);
            snprintf(rdata, sizeof(rdata), "10.0.0.%d", ai + 1);
            pdns_add(r->t, name, "A", rdata, first, last, c->count, &st);
        }
    }
    pdns_finish(r->t, &st);
    for (int i = 0; i < RND_TIMES; i++)
        r->times[i] = (base > 9000 ? base - 9000 : 0) + rnd_next(x) % 30000;
}

/* Lookups of every address at times[i] for i from `from` by `step` (mod RND_TIMES);
 * the count that disagree with the rule. */
static long rnd_check(const struct rnd *r, size_t from, size_t step)
{
    long bad = 0;
    for (size_t n = 0, i = from; n < RND_TIMES; n++, i = (i + step) % RND_TIMES) {
        for (int ai = 0; ai < RND_ADDRS; ai++) {
            uint8_t a[16];
            rnd_addr(ai, a);
            const char *got = pdns_name(r->t, a, r->times[i] * 1000 + 999);
            int want = rnd_want(r, ai, r->times[i]);
            char name[16];
            snprintf(name, sizeof(name), "n%d.example", want);
            bad += want < 0 ? got != NULL : !got || strcmp(got, name) != 0;
        }
    }
    return bad;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

struct rnd_job {
    const struct rnd *r;
    size_t from, step;
    long bad;
};

static void *rnd_thread(void *arg)
{
    struct rnd_job *j = arg;
    j->bad = rnd_check(j->r, j->from, j->step);
    return NULL;
}

static void test_random_tables(void **state)
{
    (void)state;
    static const uint64_t bases[] = { 0, 30, 1700000000, (uint64_t)UINT32_MAX - 5000 };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    struct rnd *r = malloc(sizeof(*r));
    assert_non_null(r);
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        for (int round = 0; round < 4; round++) {
            rnd_make(r, bases[b], &x);
            assert_int_equal(rnd_check(r, 0, 7), 0); /* at random (7 and 3000: coprime) */
            qsort(r->times, RND_TIMES, sizeof(r->times[0]), cmp_u64);
            assert_int_equal(rnd_check(r, 0, 1), 0);                         /* in time order */
            assert_int_equal(rnd_check(r, RND_TIMES - 1, RND_TIMES - 1), 0); /* backwards */
            struct rnd_job jobs[4];
            pthread_t th[4];
            for (int k = 0; k < 4; k++) {
                jobs[k] = (struct rnd_job){ r, (size_t)k * 111, k == 3 ? 7 : 1, 0 };
                assert_int_equal(pthread_create(&th[k], NULL, rnd_thread, &jobs[k]), 0);
            }
            for (int k = 0; k < 4; k++) {
                assert_int_equal(pthread_join(th[k], NULL), 0);
                assert_int_equal(jobs[k].bad, 0);
            }
            pdns_free(r->t);
        }
    }
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_time),
        cmocka_unit_test(test_hostile_lines),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_random_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
