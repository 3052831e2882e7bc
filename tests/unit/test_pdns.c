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
    /* A line over PDNS_LINE_MAX between two good ones, and no final newline. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_time),
        cmocka_unit_test(test_hostile_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
