/* The EVE reader (analytics/eve.h): alert, flow and dns events in Suricata's documented
 * shapes (DNS log versions 1, 2 and 3), the join by Community ID inside a time span,
 * and hostile lines (too long, bad UTF-8, bad JSON, no event, wrong types), each
 * skipped and counted by its reason. The community_id below is the specification's
 * baseline value for tcp 128.232.110.120:34855 -> 66.35.250.204:80. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/eve.h"
#include "core/fmt.h"

#define CID "1:LQU9qZlK+B5F3KDmev6m5PMibrg="

/* A Suricata 6 alert line (flow_id, in_iface, metadata as Suricata writes them). */
#define ALERT(ts, sev, sig)                                                                    \
    "{\"timestamp\":\"" ts "\",\"flow_id\":1460312932349416,\"in_iface\":\"eth0\","            \
    "\"event_type\":\"alert\",\"src_ip\":\"128.232.110.120\",\"src_port\":34855,"              \
    "\"dest_ip\":\"66.35.250.204\",\"dest_port\":80,\"proto\":\"TCP\",\"community_id\":\"" CID \
    "\",\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":2013028,\"rev\":7,"       \
    "\"signature\":\"" sig "\",\"category\":\"Potential Corporate Privacy Violation\","        \
    "\"severity\":" #sev "},\"app_proto\":\"http\"}"

static void feed(struct eve *e, const char *s)
{
    eve_line(e, s, strlen(s));
}

static void make_flow(struct flow *f, uint64_t first, uint64_t last)
{
    int v;
    memset(f, 0, sizeof(*f));
    assert_int_equal(parse_addr("66.35.250.204", f->src, &v), 0);
    assert_int_equal(parse_addr("128.232.110.120", f->dst, &v), 0);
    f->ipver = 4;
    f->proto = 6;
    f->sport = 80; /* the reverse direction: one Community ID for both */
    f->dport = 34855;
    f->first = first;
    f->last = last;
}

static void test_time(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(eve_parse_time("2026-12-07T05:30:24.123456+0000", &ms), 0);
    assert_int_equal(ms, 1796621424123LL);
    assert_int_equal(eve_parse_time("2026-12-07T06:30:24.1239+0100", &ms), 0);
    assert_int_equal(ms, 1796621424123LL);
    assert_int_equal(eve_parse_time("2026-12-07T00:30:24.12-05:00", &ms), 0);
    assert_int_equal(ms, 1796621424120LL);
    assert_int_equal(eve_parse_time("2026-12-07T05:30:24Z", &ms), 0);
    assert_int_equal(ms, 1796621424000LL);
    assert_int_equal(eve_parse_time("2026-12-07T05:30:24.+0000", &ms), -1);
    assert_int_equal(eve_parse_time("2026-13-07T05:30:24+0000", &ms), -1);
    assert_int_equal(eve_parse_time("2026-12-07 05:30:24", &ms), -1);
    assert_int_equal(eve_parse_time("2026-12-07T05:30:24+0000x", &ms), -1);
}

static void test_alert_join(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    feed(&e, ALERT("2026-12-07T05:30:24.500000+0000", 3, "ET POLICY curl User-Agent"));
    feed(&e, ALERT("2026-12-07T05:30:25.000000+0000", 1, "ET TROJAN something"));
    feed(&e, ALERT("2026-12-07T05:40:00.000000+0000", 1, "ET TROJAN much later"));
    eve_index(&e);
    assert_int_equal(e.nalerts, 3);
    assert_int_equal(e.lines, 3);
    assert_int_equal(e.cid_made, 0);

    struct flow f;
    struct eve_hit hit;
    make_flow(&f, 1796621424000ULL, 1796621426000ULL);
    assert_int_equal(eve_join_flow(&e, &f, 0, &hit), 2);
    assert_non_null(hit.best);
    assert_string_equal(eve_str(&e, hit.best->signature), "ET TROJAN something");
    assert_string_equal(eve_str(&e, hit.best->category), "Potential Corporate Privacy Violation");
    assert_int_equal(hit.best->severity, 1);
    assert_int_equal(hit.best->sid, 2013028);
    /* An hour before, with a minute of slack: nothing. */
    make_flow(&f, 1796617824000ULL, 1796617825000ULL);
    assert_int_equal(eve_join_flow(&e, &f, 60000, &hit), 0);
    assert_null(hit.best);
    /* The late alert is 9.5 minutes after the flow's end: inside 10 minutes of slack. */
    make_flow(&f, 1796621424000ULL, 1796621430000ULL);
    assert_int_equal(eve_join_flow(&e, &f, 570000, &hit), 3);
    assert_int_equal(eve_join_flow(&e, &f, 569999, &hit), 2);
    /* Another connection (other port): no alert. */
    f.dport = 34856;
    assert_int_equal(eve_join_flow(&e, &f, 600000, &hit), 0);
    eve_free(&e);
}

/* No community_id: computed from the 5-tuple, equal to the flow's in either direction. */
static void test_alert_without_cid(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    feed(&e, "{\"timestamp\":\"2026-12-07T05:30:24.5+0000\",\"event_type\":\"alert\","
             "\"src_ip\":\"66.35.250.204\",\"src_port\":80,\"dest_ip\":\"128.232.110.120\","
             "\"dest_port\":34855,\"proto\":\"TCP\",\"alert\":{\"signature_id\":1,"
             "\"signature\":\"reply\",\"severity\":2}}");
    eve_index(&e);
    assert_int_equal(e.nalerts, 1);
    assert_int_equal(e.cid_made, 1);
    uint8_t d[CID_DIGEST];
    assert_int_equal(cid_parse(CID, strlen(CID), d), 0);
    assert_memory_equal(e.alerts[0].cid, d, CID_DIGEST);
    assert_string_equal(eve_str(&e, e.alerts[0].category), "");
    eve_free(&e);
}

/* An ICMP echo reply's alert joins the echo request's flow: the Community ID pairs
 * types 8 and 0, and the join's bit set leaves ICMP ports (type, code) out. */
static void test_icmp_reply(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    feed(&e, "{\"timestamp\":\"2026-12-07T05:30:24.5+0000\",\"event_type\":\"alert\","
             "\"src_ip\":\"192.0.2.2\",\"dest_ip\":\"192.0.2.1\",\"proto\":\"ICMP\","
             "\"icmp_type\":0,\"icmp_code\":0,\"alert\":{\"signature_id\":3,"
             "\"signature\":\"echo reply\",\"severity\":3}}");
    eve_index(&e);
    assert_int_equal(e.nalerts, 1);
    struct flow f;
    int v;
    memset(&f, 0, sizeof(f));
    assert_int_equal(parse_addr("192.0.2.1", f.src, &v), 0);
    assert_int_equal(parse_addr("192.0.2.2", f.dst, &v), 0);
    f.ipver = 4;
    f.proto = 1;
    f.dport = 8 << 8; /* echo request, code 0 */
    f.first = 1796621424000ULL;
    f.last = 1796621425000ULL;
    struct eve_hit hit;
    assert_int_equal(eve_join_flow(&e, &f, 0, &hit), 1);
    f.dport = 13 << 8; /* a timestamp request: another Community ID */
    assert_int_equal(eve_join_flow(&e, &f, 0, &hit), 0);
    eve_free(&e);
}

/* Addresses as inet_pton reads them (the reader parses dotted quads itself). */
static void test_addresses(void **state)
{
    (void)state;
    static const char *const good[] = { "1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.1" };
    static const char *const bad[] = { "01.2.3.4", "1.2.3",  "256.1.1.1", "1.2.3.4.5",  "1.2.3.04",
                                       "1.2.3.4 ", "1..2.3", "1.2.3.4a",  "1234.1.1.1", "::1" };
    struct eve e;
    char line[512];
    eve_init(&e);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"timestamp\":\"2026-12-07T05:30:24Z\",\"event_type\":\"alert\","
                 "\"src_ip\":\"%s\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"TCP\",\"alert\":{}}",
                 good[i]);
        feed(&e, line);
        assert_int_equal(e.nalerts, i + 1);
        uint8_t want[16];
        int v;
        assert_int_equal(parse_addr(good[i], want, &v), 0);
        assert_memory_equal(e.alerts[i].src, want, 16);
        assert_int_equal(e.alerts[i].ipver, 4);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"timestamp\":\"2026-12-07T05:30:24Z\",\"event_type\":\"alert\","
                 "\"src_ip\":\"%s\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"TCP\",\"alert\":{}}",
                 bad[i]);
        feed(&e, line);
    }
    assert_int_equal(e.nalerts, 4);
    assert_int_equal(e.skipped[EVE_SKIP_FIELD], 10);
    eve_free(&e);
}

static void test_dns_versions(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    /* v2 (Suricata 5-7): answers with the query's fields beside them. */
    feed(&e,
         "{\"timestamp\":\"2026-12-07T05:30:24.000000+0000\",\"event_type\":\"dns\","
         "\"src_ip\":\"10.0.0.53\",\"src_port\":53,\"dest_ip\":\"10.0.0.2\","
         "\"dest_port\":40000,\"proto\":\"UDP\",\"dns\":{\"version\":2,\"type\":\"answer\","
         "\"id\":1,\"flags\":\"8180\",\"qr\":true,\"rd\":true,\"ra\":true,"
         "\"rrname\":\"www.example.org\",\"rrtype\":\"A\",\"rcode\":\"NOERROR\","
         "\"answers\":[{\"rrname\":\"www.example.org\",\"rrtype\":\"CNAME\",\"ttl\":60,"
         "\"rdata\":\"web.example.org\"},{\"rrname\":\"web.example.org\",\"rrtype\":\"A\","
         "\"ttl\":60,\"rdata\":\"192.0.2.7\"},{\"rrname\":\"example.org\",\"rrtype\":"
         "\"SOA\",\"ttl\":60,\"soa\":{\"mname\":\"ns\"}}],\"grouped\":{\"A\":[\"192.0.2.7\"]}}}");
    /* v3 (Suricata 8): queries[] and answers[]. */
    feed(&e, "{\"timestamp\":\"2026-12-07T05:30:25.000000+0000\",\"event_type\":\"dns\","
             "\"dns\":{\"version\":3,\"type\":\"response\",\"id\":2,\"queries\":[{\"rrname\":"
             "\"v6.example.org\",\"rrtype\":\"AAAA\"}],\"answers\":[{\"rrname\":"
             "\"v6.example.org\",\"rrtype\":\"AAAA\",\"ttl\":30,\"rdata\":\"2001:db8::7\"}]}}");
    /* v1: one answer an event; a query: nothing kept, nothing skipped. */
    feed(&e, "{\"timestamp\":\"2026-12-07T05:30:26.000000+0000\",\"event_type\":\"dns\","
             "\"dns\":{\"type\":\"answer\",\"id\":3,\"rrname\":\"old.example.org\","
             "\"rrtype\":\"A\",\"ttl\":5,\"rdata\":\"198.51.100.1\"}}");
    feed(&e,
         "{\"timestamp\":\"2026-12-07T05:30:26.000000+0000\",\"event_type\":\"dns\","
         "\"dns\":{\"type\":\"query\",\"id\":4,\"rrname\":\"q.example.org\",\"rrtype\":\"A\"}}");
    /* A mistyped answer spoils its event whole. */
    feed(&e, "{\"timestamp\":\"2026-12-07T05:30:27.000000+0000\",\"event_type\":\"dns\","
             "\"dns\":{\"version\":2,\"answers\":[{\"rrname\":\"a\",\"rrtype\":\"A\","
             "\"rdata\":\"192.0.2.1\"},{\"rrname\":\"b\",\"rrtype\":\"A\",\"rdata\":7}]}}");
    assert_int_equal(e.ndns, 4);
    assert_string_equal(eve_str(&e, e.dns[0].rrtype), "CNAME");
    assert_string_equal(eve_str(&e, e.dns[1].rdata), "192.0.2.7");
    assert_string_equal(eve_str(&e, e.dns[2].rrname), "v6.example.org");
    assert_string_equal(eve_str(&e, e.dns[2].rdata), "2001:db8::7");
    assert_string_equal(eve_str(&e, e.dns[3].rdata), "198.51.100.1");
    assert_int_equal(e.dns[3].ts_ms, 1796621426000LL);
    assert_int_equal(e.skipped[EVE_SKIP_FIELD], 1);
    /* Interned once: the two answers' rrtype "A" share one offset. */
    assert_int_equal(e.dns[1].rrtype, e.dns[3].rrtype);
    eve_free(&e);
}

static void test_flow_event(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    feed(&e, "{\"timestamp\":\"2026-12-07T05:31:24.000000+0000\",\"flow_id\":1,"
             "\"event_type\":\"flow\",\"src_ip\":\"128.232.110.120\",\"src_port\":34855,"
             "\"dest_ip\":\"66.35.250.204\",\"dest_port\":80,\"proto\":\"TCP\",\"community_id\":"
             "\"" CID "\",\"flow\":{\"pkts_toserver\":5,\"pkts_toclient\":4,\"bytes_toserver\":"
             "500,\"bytes_toclient\":4000,\"start\":\"2026-12-07T05:30:24.000000+0000\","
             "\"end\":\"2026-12-07T05:30:26.000000+0000\",\"age\":2,\"state\":\"closed\"}}");
    assert_int_equal(e.nflows, 1);
    assert_int_equal(e.flows[0].start_ms, 1796621424000LL);
    assert_int_equal(e.flows[0].bytes_toclient, 4000);
    eve_free(&e);
}

/* Every kind of bad line, counted by its reason; the good ones among them kept. */
static void test_hostile(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    size_t big = EVE_LINE_MAX + 100;
    char *buf = malloc(big + 4096);
    assert_non_null(buf);
    size_t n = 0;
    buf[n++] = '"';
    memset(buf + n, 'x', big);
    n += big;
    n += (size_t)snprintf(
        buf + n, big + 4096 - n,
        "\"\n" ALERT("2026-12-07T05:30:24.5+0000", 2,
                     "kept") "\n"
                             "{\"event_type\":\"alert\",\"x\":\"\xff\xfe\"}\n"
                             "{\"event_type\":\n"
                             "[1,2]\n"
                             "{\"timestamp\":\"2026-12-07T05:30:24+0000\"}\n"
                             "{\"event_type\":7}\n"
                             "\n"
                             "{\"event_type\":\"http\",\"http\":{}}\n"
                             "{\"event_type\":\"alert\",\"timestamp\":\"2026-12-07T05:30:24+0000\","
                             "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"TCP\","
                             "\"src_port\":\"80\",\"alert\":{}}\n"
                             "{\"event_type\":\"alert\",\"timestamp\":\"2026-12-07T05:30:24+0000\","
                             "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"::1\",\"proto\":\"TCP\","
                             "\"alert\":{}}\n"
                             "{\"event_type\":\"alert\",\"timestamp\":\"yesterday\","
                             "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"TCP\","
                             "\"alert\":{\"severity\":\"high\"}}\n"
                             "{\"event_type\":\"alert\",\"timestamp\":\"2026-12-07T05:30:24+0000\","
                             "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"TCP\","
                             "\"community_id\":\"1:short\",\"alert\":{}}\n"
                             "{\"event_type\":\"flow\"}");
    FILE *fp = fmemopen(buf, n, "r");
    assert_non_null(fp);
    assert_int_equal(eve_read(&e, fp), 0);
    fclose(fp);
    free(buf);
    assert_int_equal(e.nalerts, 1);
    assert_string_equal(eve_str(&e, e.alerts[0].signature), "kept");
    assert_int_equal(e.skipped[EVE_SKIP_LONG], 1);
    assert_int_equal(e.skipped[EVE_SKIP_UTF8], 1);
    assert_int_equal(e.skipped[EVE_SKIP_JSON], 1);
    assert_int_equal(e.skipped[EVE_SKIP_NOT_EVENT], 3);
    assert_int_equal(e.skipped[EVE_SKIP_FIELD], 5);
    assert_int_equal(e.other, 1);
    assert_int_equal(e.lines, 13);
    char text[256];
    assert_int_equal(eve_skips_text(&e, text, sizeof(text)), 11);
    assert_string_equal(text, "eve: 11 lines skipped: 1 too long, 1 not UTF-8, 1 not JSON, "
                              "3 not an event, 5 bad or missing field");
    eve_free(&e);
}

/* A line of exactly EVE_LINE_MAX bytes is read; one byte more is too long. */
static void test_limit(void **state)
{
    (void)state;
    static const char head[] = "{\"event_type\":\"stats\",\"pad\":\"";
    size_t n = EVE_LINE_MAX;
    char *buf = malloc(2 * n + 8);
    assert_non_null(buf);
    for (int extra = 0; extra < 2; extra++) {
        size_t len = n + (size_t)extra;
        memcpy(buf, head, sizeof(head) - 1);
        memset(buf + sizeof(head) - 1, 'p', len - (sizeof(head) - 1) - 2);
        buf[len - 2] = '"';
        buf[len - 1] = '}';
        buf[len] = '\n';
        struct eve e;
        eve_init(&e);
        FILE *fp = fmemopen(buf, len + 1, "r");
        assert_int_equal(eve_read(&e, fp), 0);
        fclose(fp);
        assert_int_equal(e.other, extra ? 0 : 1);
        assert_int_equal(e.skipped[EVE_SKIP_LONG], extra ? 1 : 0);
        eve_free(&e);
    }
    free(buf);
}

/* A rule's newline or escape byte is a space in the kept text. */
static void test_control_chars(void **state)
{
    (void)state;
    struct eve e;
    eve_init(&e);
    feed(&e, ALERT("2026-12-07T05:30:24.5+0000", 2, "two\\nlines\\u001b[31m"));
    feed(&e, ALERT("2026-12-07T05:30:24.6+0000", 2, "two lines [31m"));
    assert_int_equal(e.nalerts, 2);
    assert_string_equal(eve_str(&e, e.alerts[0].signature), "two lines [31m");
    assert_int_equal(e.alerts[0].signature, e.alerts[1].signature);
    eve_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_alert_join),
        cmocka_unit_test(test_alert_without_cid),
        cmocka_unit_test(test_icmp_reply),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_dns_versions),
        cmocka_unit_test(test_flow_event),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_control_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
