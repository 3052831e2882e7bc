/* Community ID v1 against the specification's own baseline (corelight/community-id-spec,
 * baseline/baseline_deflt.json and baseline_seed1.json): every tuple in both directions,
 * seeds 0 and 1, ICMP and ICMPv6 with and without a counterpart type, a protocol
 * without ports; and the text form parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/cid.h"
#include "core/fmt.h"

/* One baseline line. ICMP lines give the port equivalents (type, counterpart or
 * code); icmp_type/icmp_code are what a flow record keeps (dport = type * 256 + code). */
struct vec {
    const char *src, *dst;
    const char *seed0, *seed1;
    uint16_t sport, dport;
    uint8_t proto;
};

static const struct vec vecs[] = {
    { "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea",
      "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=", 135, 136, 58 },
    { "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da",
      "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=", 136, 135, 58 },
    { "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da",
      "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM=", 135, 136, 58 },
    { "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da",
      "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=", 3, 0, 58 },
    { "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da",
      "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8=", 1, 4, 58 },
    { "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2",
      "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=", 128, 129, 58 },
    { "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da",
      "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ=", 129, 128, 58 },
    { "fe80::200:86ff:fe05:80da", "ff02::2",
      "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8=", 133, 134, 58 },
    { "fe80::260:97ff:fe07:69ea", "ff02::1",
      "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc=", 134, 133, 58 },
    { "192.168.0.89", "192.168.0.1",
      "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=", 8, 0, 1 },
    { "192.168.0.1", "192.168.0.89",
      "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA=", 0, 8, 1 },
    { "10.0.0.1", "10.0.0.2",
      "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20=", 11, 0, 1 },
    { "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a",
      "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=", 63943, 25, 6 },
    { "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887",
      "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=", 25, 63943, 6 },
    { "192.168.170.8", "192.168.170.56",
      "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=", 7, 7, 132 },
    { "192.168.170.56", "192.168.170.8",
      "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=", 7, 7, 132 },
    { "128.232.110.120", "66.35.250.204",
      "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=", 34855, 80, 6 },
    { "66.35.250.204", "128.232.110.120",
      "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=", 80, 34855, 6 },
    { "192.168.1.52", "8.8.8.8",
      "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=", 54585, 53, 17 },
    { "8.8.8.8", "192.168.1.52",
      "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=", 53, 54585, 17 },
    { "10.1.12.1", "10.1.12.2",
      "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=", 0, 0, 46 },
    { "10.1.12.2", "10.1.12.1",
      "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI=", 0, 0, 46 },
};

/* The record the meter would write for v: ICMP's type and code in dport. A baseline
 * ICMP line's dport is the counterpart type when the type has one (the record's code
 * is then anything: 0 here), else the code. */
static void make_flow(const struct vec *v, struct flow *f)
{
    memset(f, 0, sizeof(*f));
    int ver = 0;
    assert_int_equal(parse_addr(v->src, f->src, &ver), 0);
    assert_int_equal(parse_addr(v->dst, f->dst, &ver), 0);
    f->ipver = (uint8_t)ver;
    f->proto = v->proto;
    f->sport = v->sport;
    f->dport = v->dport;
    if (v->proto == 1 || v->proto == 58) {
        int paired = (v->proto == 1 && (v->sport == 8 || v->sport == 0)) ||
                     (v->proto == 58 && v->sport >= 128 && v->sport != 132);
        f->sport = 0;
        f->dport = (uint16_t)(v->sport << 8 | (paired ? 0 : v->dport));
    }
}

static void check(uint16_t seed, int use_seed1)
{
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        struct flow f;
        make_flow(&vecs[i], &f);
        uint8_t d[CID_DIGEST], back[CID_DIGEST];
        char text[CID_TEXT];
        cid_digest(&f, seed, d);
        assert_int_equal(cid_format(d, text), 30);
        const char *want = use_seed1 ? vecs[i].seed1 : vecs[i].seed0;
        if (strcmp(text, want) != 0)
            fail_msg("vector %zu (%s -> %s proto %u) seed %u: %s, want %s", i, vecs[i].src,
                     vecs[i].dst, vecs[i].proto, seed, text, want);
        assert_int_equal(cid_parse(want, strlen(want), back), 0);
        assert_memory_equal(back, d, CID_DIGEST);
    }
}

static void test_baseline_seed0(void **state)
{
    (void)state;
    check(0, 0);
}

static void test_baseline_seed1(void **state)
{
    (void)state;
    check(1, 1);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    uint8_t d[CID_DIGEST];
    static const char *const bad[] = {
        "",
        "1:",
        "2:LQU9qZlK+B5F3KDmev6m5PMibrg=",  /* version 2 */
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg",   /* no padding */
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg==", /* too long */
        "1:LQU9qZlK+B5F3KDmev6m5PMib*g=",  /* not base64 */
        "1:LQU9qZlK+B5F3KDmev6m5PMibrh=",  /* padding bits set: not canonical */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cid_parse(bad[i], strlen(bad[i]), d) == 0)
            fail_msg("'%s' parsed as a Community ID", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_seed0),
        cmocka_unit_test(test_baseline_seed1),
        cmocka_unit_test(test_parse_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
