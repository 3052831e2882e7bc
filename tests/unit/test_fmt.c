/* Unit tests of address and time text forms, and the table/CSV printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/fmt.h"
#include "query/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_addr_text(void **state)
{
    (void)state;
    char buf[FMT_ADDR_MAX];
    uint8_t a[16];
    int v;
    static const char *const canon[] = { "0.0.0.0",     "255.255.255.255",      "10.1.2.3",
                                         "2001:db8::1", "2001:db8:0:1:1:1:1:1", "::",
                                         "fe80::1:2",   "::ffff:1.2.3.4" };
    for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
        assert_int_equal(parse_addr(canon[i], a, &v), 0);
        fmt_addr(buf, a, i == 7 ? 6 : v);
        assert_string_equal(buf, canon[i]);
    }
    /* RFC 5952: lower case, longest zero run compressed, leading zeros dropped. */
    assert_int_equal(parse_addr("2001:0DB8:0000:0000:0001:0000:0000:0001", a, &v), 0);
    fmt_addr(buf, a, v);
    assert_string_equal(buf, "2001:db8::1:0:0:1");
    assert_int_not_equal(parse_addr("10.1.2", a, &v), 0);
    assert_int_not_equal(parse_addr("", a, &v), 0);
}

static void test_time_text(void **state)
{
    (void)state;
    char buf[FMT_TIME_MAX];
    fmt_time_ms(buf, 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    fmt_time_ms(buf, 1362692526869ULL);
    assert_string_equal(buf, "2013-03-07T21:42:06.869Z");
    fmt_time_ms(buf, 951782400000ULL); /* leap day 2000-02-29 */
    assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
    uint64_t ms;
    assert_int_equal(parse_time_ms("2013-03-07T21:42:06.869Z", 0, &ms), 0);
    assert_int_equal(ms, 1362692526869ULL);
    assert_int_equal(parse_time_ms("2013-03-07", 0, &ms), 0);
    assert_int_equal(ms, 1362614400000ULL);
    assert_int_equal(parse_time_ms("2013-03-07 21:42", 0, &ms), 0);
    assert_int_equal(ms, 1362692520000ULL);
    assert_int_equal(parse_time_ms("@1362692526", 0, &ms), 0);
    assert_int_equal(ms, 1362692526000ULL);
    assert_int_equal(parse_time_ms("-2h", 10000000, &ms), 0);
    assert_int_equal(ms, 10000000 - 7200000);
    /* Offsets from UTC (ISO 8601 / RFC 3339): the same instant as 21:42:06.869Z. */
    assert_int_equal(parse_time_ms("2013-03-07T22:42:06.869+01:00", 0, &ms), 0);
    assert_int_equal(ms, 1362692526869ULL);
    assert_int_equal(parse_time_ms("2013-03-07T16:12:06.869-0530", 0, &ms), 0);
    assert_int_equal(ms, 1362692526869ULL);
    assert_int_equal(parse_time_ms("2013-03-08T00:42:06.869+03", 0, &ms), 0);
    assert_int_equal(ms, 1362692526869ULL);
    assert_int_equal(parse_time_ms("1970-01-01T01:00+01:00", 0, &ms), 0);
    assert_int_equal(ms, 0);
    static const char *const bad[] = { "",
                                       "2013",
                                       "2013-13-01",
                                       "2013-03-07T25:00",
                                       "2013-03-07T21:42:06.Z",
                                       "-5x",
                                       "@",
                                       "@12a",
                                       "-99999d",
                                       "2013-03-07T21:42+1:00",
                                       "2013-03-07T21:42+15:00",
                                       "2013-03-07T21:42+01:",
                                       "2013-03-07T21:42+01:60",
                                       "2013-03-07+01:00",
                                       "1970-01-01T00:30+01:00",
                                       "2013-03-07T21:42Z+01:00" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_time_ms(bad[i], 1000, &ms), FS_EINVAL);
}

static void test_window(void **state)
{
    (void)state;
    uint64_t from, to;
    assert_int_equal(parse_time_window("2013-03-07..2013-03-08", 0, &from, &to), 0);
    assert_int_equal(from, 1362614400000ULL);
    assert_int_equal(to, 1362700800000ULL);
    assert_int_equal(parse_time_window("2013-03-07..", 0, &from, &to), 0);
    assert_int_equal(to, 0);
    assert_int_equal(parse_time_window("..2013-03-07", 0, &from, &to), 0);
    assert_int_equal(from, 0);
    assert_int_equal(parse_time_window("2013-03-08..2013-03-07", 0, &from, &to), FS_EINVAL);
}

static void test_csv_and_json_rows(void **state)
{
    (void)state;
    struct flow f;
    memset(&f, 0, sizeof(f));
    uint8_t s[4] = { 192, 0, 2, 1 }, d[4] = { 198, 51, 100, 7 };
    flow_addr_from_v4(f.src, s);
    flow_addr_from_v4(f.dst, d);
    f.ipver = 4;
    f.first = 1362692526869ULL;
    f.last = 1362692527000ULL;
    f.sport = 40000;
    f.dport = 80;
    f.proto = 6;
    f.bytes = 1234567;
    f.flags = FS_TCP_SYN | FS_TCP_ACK;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    struct output o;
    struct fs_err err;
    assert_int_equal(
        output_init(&o, "csv:first,src,dst,sport,dport,proto,bytes,flags", 0, fp, &err), 0);
    output_flow(&o, &f);
    output_finish(&o);
    fclose(fp);
    assert_string_equal(text, "first,src,dst,sport,dport,proto,bytes,flags\n"
                              "2013-03-07T21:42:06.869Z,192.0.2.1,198.51.100.7,40000,80,6,"
                              "1234567,18\n");
    free(text);
    fp = open_memstream(&text, &len);
    assert_int_equal(output_init(&o, "json:src,proto,bytes", 0, fp, &err), 0);
    output_flow(&o, &f);
    output_finish(&o);
    fclose(fp);
    assert_string_equal(text, "{\"src\":\"192.0.2.1\",\"proto\":6,\"bytes\":1234567}\n");
    free(text);
    fp = open_memstream(&text, &len);
    assert_int_equal(output_init(&o, "fmt:proto,bytes,flags", 0, fp, &err), 0);
    output_flow(&o, &f);
    output_finish(&o);
    fclose(fp);
    assert_string_equal(text, "proto    bytes flags\ntcp      1.2 M ...A..S.\n");
    free(text);
    assert_int_equal(output_init(&o, "fmt:nosuch", 0, stdout, &err), FS_EINVAL);
    assert_int_equal(output_init(&o, "xml", 0, stdout, &err), FS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_text),
        cmocka_unit_test(test_time_text),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_csv_and_json_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
