/* ClickHouse: --sink URLs, the RowBinary row, the answer of the check before a resend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clickhouse/ch.h"
#include "core/le.h"

#include <string.h>

static void test_url(void **state)
{
    (void)state;
    struct ch_url u;
    struct fs_err e = { 0 };
    char say[700];
    assert_int_equal(ch_url_parse("clickhouse://127.0.0.1:9123/fs", &u, &e), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 9123);
    assert_string_equal(u.db, "fs");
    assert_string_equal(u.table, "flows");
    assert_false(u.has_user);
    assert_int_equal(
        ch_url_parse("clickhouse://ops:p@ss:w0rd@[::1]/db_1?table=flows_local", &u, &e), 0);
    assert_string_equal(u.user, "ops");
    assert_string_equal(u.pass, "p@ss:w0rd"); /* up to the last @ */
    assert_string_equal(u.host, "[::1]");
    assert_int_equal(u.port, 8123);
    assert_string_equal(u.table, "flows_local");
    ch_url_say(&u, say, sizeof(say));
    assert_string_equal(say, "clickhouse://ops@[::1]:8123/db_1?table=flows_local");
    assert_null(strstr(say, "w0rd"));
    static const char *const bad[] = {
        "http://h/db",
        "clickhouse://h",
        "clickhouse://h:0/db",
        "clickhouse://h:65536/db",
        "clickhouse://h:8x/db",
        "clickhouse:///db",
        "clickhouse://h/1db",
        "clickhouse://h/db;drop",
        "clickhouse://h/db?table=a b",
        "clickhouse://h/db?x=1",
        "clickhouse://[::1/db",
        "clickhouse://h o/db",
        "clickhouse://@h/db",
        "clickhouse://h/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e.msg[0] = '\0';
        if (ch_url_parse(bad[i], &u, &e) == 0)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(e.msg[0] != '\0');
    }
    /* the message about a bad URL never holds its password */
    assert_int_not_equal(ch_url_parse("clickhouse://u:topsecret@h:99999/db", &u, &e), 0);
    assert_null(strstr(e.msg, "topsecret"));
}

static void test_row(void **state)
{
    (void)state;
    struct flow f;
    memset(&f, 0, sizeof(f));
    for (int i = 0; i < 16; i++) {
        f.src[i] = (uint8_t)i;
        f.dst[i] = (uint8_t)(0x20 + i);
        f.exporter[i] = (uint8_t)(0x40 + i);
    }
    f.first = 1700000000003ull;
    f.last = 1700000299999ull; /* bin 1700000100: 1700000299 - 1700000299 % 300 */
    f.bytes = 1;
    f.packets = 2;
    f.rbytes = 3;
    f.rpackets = 4;
    f.payload = 5;
    f.rpayload = 6;
    f.goodput = 7;
    f.rgoodput = 8;
    f.retrans = 9;
    f.rretrans = 10;
    f.in_if = 11;
    f.out_if = 12;
    f.src_as = 13;
    f.dst_as = 14;
    f.exchange = 15;
    f.sport = 16;
    f.dport = 17;
    f.vlan = 18;
    f.minlen = 19;
    f.maxlen = 20;
    f.rminlen = 21;
    f.rmaxlen = 22;
    f.proto = 23;
    f.ipver = 6;
    f.flags = 24;
    f.rflags = 25;
    f.tos = 26;
    for (int i = 0; i < 16; i++) {
        f.xsrc[i] = (uint8_t)(0x60 + i);
        f.xdst[i] = (uint8_t)(0x80 + i);
    }
    f.xsport = 27;
    f.xdport = 28;
    f.fw_event = 29;
    f.fw_ext_event = 30;
    f.nat_event = 31;
    f.ingress_acl = 0x1111111122222222ull;
    f.egress_acl = 0x3333333344444444ull;
    uint8_t r[CH_ROW];
    ch_row_encode(r, &f, 0x0102030405060708ull);
    assert_int_equal(get_le32(r), 1700000100u - 1700000100u % 300);
    assert_int_equal(get_le32(r) % 300, 0);
    assert_int_equal(ch_row_day(r), 1700000100u / 86400);
    assert_memory_equal(r + 4, f.exporter, 16);
    assert_true(get_le64(r + 20) == f.first);
    assert_true(get_le64(r + 28) == f.last);
    assert_memory_equal(r + 36, f.src, 16);
    assert_memory_equal(r + 52, f.dst, 16);
    assert_int_equal(get_le16(r + 68), 16);
    assert_int_equal(get_le16(r + 70), 17);
    assert_int_equal(r[72], 23);
    assert_int_equal(r[73], 6);
    for (int i = 0; i < 10; i++)
        assert_true(get_le64(r + 74 + 8 * i) == (uint64_t)(i + 1));
    assert_int_equal(r[154], 24);
    assert_int_equal(r[155], 25);
    for (int i = 0; i < 4; i++)
        assert_int_equal(get_le16(r + 156 + 2 * i), 19 + i);
    for (int i = 0; i < 4; i++)
        assert_int_equal(get_le32(r + 164 + 4 * i), 11 + i);
    assert_int_equal(get_le16(r + 180), 18);
    assert_int_equal(r[182], 26);
    assert_int_equal(get_le32(r + 183), 15);
    assert_memory_equal(r + 187, f.xsrc, 16);
    assert_memory_equal(r + 203, f.xdst, 16);
    assert_int_equal(get_le16(r + 219), 27);
    assert_int_equal(get_le16(r + 221), 28);
    assert_int_equal(r[223], 29);
    assert_int_equal(get_le16(r + 224), 30);
    assert_int_equal(r[226], 31);
    assert_true(get_le64(r + 227) == f.ingress_acl);
    assert_true(get_le64(r + 235) == f.egress_acl);
    assert_true(get_le64(r + CH_ROW_BATCH_OFF) == 0x0102030405060708ull);
    /* the columns' sizes add up to the row */
    size_t sz = 0;
    for (size_t i = 0; i < ch_ncols; i++) {
        const char *t = ch_cols[i].type;
        sz += strcmp(t, "FixedString(16)") == 0                        ? 16
              : strcmp(t, "UInt64") == 0                               ? 8
              : strcmp(t, "UInt32") == 0 || strcmp(t, "DateTime") == 0 ? 4
              : strcmp(t, "UInt16") == 0                               ? 2
                                                                       : 1;
    }
    assert_int_equal(sz, CH_ROW);
}

static void test_day_counts(void **state)
{
    (void)state;
    uint32_t d[4];
    uint64_t c[4];
    size_t n;
    struct fs_err e = { 0 };
    assert_int_equal(ch_parse_day_counts("19675\t5000\n19676\t17\n", d, c, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(d[1], 19676);
    assert_int_equal(c[1], 17);
    assert_int_equal(ch_parse_day_counts("", d, c, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    static const char *const bad[] = { "1\t2",
                                       "1\t\n",
                                       "x\t1\n",
                                       "1 2\n",
                                       "1\t2\n3\n",
                                       "99999999999\t1\n",
                                       "1\t2\n1\t2\n1\t2\n1\t2\n1\t2\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ch_parse_day_counts(bad[i], d, c, 4, &n, &e) == 0)
            fail_msg("'%s' accepted", bad[i]);
}

static void test_version_ttl(void **state)
{
    (void)state;
    assert_false(ch_version_has_ttl("18.16.1"));
    assert_false(ch_version_has_ttl("19.5.3.8"));
    assert_true(ch_version_has_ttl("19.6.2.11"));
    assert_true(ch_version_has_ttl("24.8.4.13"));
    assert_false(ch_version_has_ttl("garbage"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_row),
        cmocka_unit_test(test_day_counts),
        cmocka_unit_test(test_version_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
