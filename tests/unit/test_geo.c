/* --mmdb databases (query/geo.c) against the table they were written from (fsgen's
 * tests/gen/mmdb_write.c): country, AS number and organization of addresses inside,
 * at the edges of and outside each network, nested networks, both families, every
 * record size, an IPv4 tree; the columns in csv and json; the filter terms with sides,
 * negation and dump; and the refused files and terms with their messages. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../gen/mmdb_write.h"
#include "core/fmt.h"
#include "query/filter.h"
#include "query/geo.h"
#include "query/output.h"
#include "testutil.h"

static const char *write_db(const char *name, enum mw_kind kind, int size, int ipver)
{
    const char *p = tu_path(name);
    char msg[160];
    if (mw_write(p, kind, size, ipver, msg, sizeof(msg)) != 0)
        fail_msg("mw_write %s: %s", p, msg);
    return p;
}

static void open_db(const char *path)
{
    struct fs_err err = { 0 };
    if (geo_add(path, &err) != 0)
        fail_msg("geo_add %s: %s", path, err.msg);
}

static int setup(void **state)
{
    (void)state;
    tu_dir_make("geo");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    geo_free();
    return tu_dir_remove();
}

/* The addresses probed for a network: its first, second, middle and last, and the ones
 * just outside it. */
static size_t probes(const char *net, uint8_t out[8][16], int *ver)
{
    char host[64];
    const char *slash = strchr(net, '/');
    assert_non_null(slash);
    memcpy(host, net, (size_t)(slash - net));
    host[slash - net] = '\0';
    uint8_t a[16];
    assert_int_equal(parse_addr(host, a, ver), 0);
    int plen = (int)strtol(slash + 1, NULL, 10) + (*ver == 4 ? 96 : 0);
    size_t n = 0;
    for (int which = 0; which < 6; which++) {
        uint8_t b[16];
        memcpy(b, a, 16);
        /* host bits: 0 first, 1 second, 2 middle, 3 last, 4 last + 1, 5 first - 1 */
        for (int i = plen; i < 128; i++) {
            int set =
                which == 3 || which == 4 || (which == 2 && i == plen) || (which == 1 && i == 127);
            if (set)
                b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
        }
        if (which >= 4) { /* step out: +1 after the last, -1 before the first */
            for (int i = 15; i >= (*ver == 4 ? 12 : 0); i--) {
                b[i] = (uint8_t)(b[i] + (which == 4 ? 1 : -1));
                if (b[i] != (which == 4 ? 0 : 0xff))
                    break;
            }
        }
        memcpy(out[n++], b, 16);
    }
    return n;
}

static void check_addr(const uint8_t a[16], int ver, int v4tree)
{
    char cc[3] = "", name[GEO_ASNAME_MAX], text[64];
    uint32_t asn = 0;
    fmt_addr(text, a, ver);
    int c = v4tree && ver == 6 ? -1 : mw_expect(MW_COUNTRY, a, ver);
    int s = v4tree && ver == 6 ? -1 : mw_expect(MW_ASN, a, ver);
    const char *want_cc = c >= 0 ? mw_nets[c].cc : NULL;
    int got = geo_cc(a, ver, cc);
    if (got != (want_cc != NULL) || (want_cc && strcmp(cc, want_cc) != 0))
        fail_msg("%s: cc %s, want %s", text, got ? cc : "none", want_cc ? want_cc : "none");
    got = geo_asn(a, ver, &asn);
    if (got != (s >= 0) || (s >= 0 && asn != mw_nets[s].asn))
        fail_msg("%s: asn %u, want row %d", text, (unsigned)asn, s);
    size_t len = geo_asname(a, ver, name);
    const char *want = s >= 0 && mw_nets[s].org ? mw_nets[s].org : "";
    if (len != strlen(want) || strcmp(name, want) != 0)
        fail_msg("%s: asname '%s', want '%s'", text, name, want);
}

static void check_table(int v4tree)
{
    for (size_t i = 0; i < mw_nnets; i++) {
        uint8_t a[8][16];
        int ver;
        size_t n = probes(mw_nets[i].net, a, &ver);
        for (size_t k = 0; k < n; k++)
            check_addr(a[k], ver, v4tree);
    }
}

static void test_table(void **state)
{
    (void)state;
    static const int sizes[] = { 24, 28, 32 };
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        geo_free();
        snprintf(name, sizeof(name), "country%d.mmdb", sizes[i]);
        open_db(write_db(name, MW_COUNTRY, sizes[i], 6));
        snprintf(name, sizeof(name), "asn%d.mmdb", sizes[i]);
        open_db(write_db(name, MW_ASN, sizes[i], 6));
        assert_int_equal(geo_count(), 2);
        check_table(0);
    }
    geo_free();
    open_db(write_db("asn4.mmdb", MW_ASN, 24, 4)); /* the ASN first: order does not matter */
    open_db(write_db("country4.mmdb", MW_COUNTRY, 28, 4));
    check_table(1);
    char cc[3];
    struct flow f = tu_flow("198.18.12.1", "8.8.8.8"); /* registered_country only; none */
    assert_false(geo_cc(f.src, 4, cc));
    assert_false(geo_cc(f.dst, 4, cc));
}

static char *render(const char *spec, const struct flow *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    struct output o;
    struct fs_err err = { 0 };
    if (output_init(&o, spec, 1, fp, &err) != 0)
        fail_msg("output_init %s: %s", spec, err.msg);
    output_flow(&o, f);
    output_finish(&o);
    fclose(fp);
    return text;
}

static void test_columns(void **state)
{
    (void)state;
    geo_free();
    open_db(write_db("c.mmdb", MW_COUNTRY, 28, 6));
    open_db(write_db("a.mmdb", MW_ASN, 28, 6));
    const char *cols = "src_cc,dst_cc,src_asn,dst_asn,src_asname,dst_asname";
    char spec[128];
    /* FR with a quoted name; registered_country alone and an AS without a name */
    struct flow f = tu_flow("10.1.9.1", "198.18.12.5");
    snprintf(spec, sizeof(spec), "csv:%s", cols);
    char *t = render(spec, &f);
    assert_string_equal(strchr(t, '\n') + 1, "FR,,64501,64503,\"Test \"\"Quoted\"\" Carrier\",\n");
    free(t);
    snprintf(spec, sizeof(spec), "json:%s", cols);
    t = render(spec, &f);
    assert_string_equal(t, "{\"src_cc\":\"FR\",\"dst_cc\":null,\"src_asn\":64501,\"dst_asn\":"
                           "64503,\"src_asname\":\"Test \\\"Quoted\\\" Carrier\",\"dst_asname\":"
                           "null}\n");
    free(t);
    f = tu_flow("2001:db8:c1::5", "2001:db8:5::9"); /* NL; BR with a backslash */
    t = render(spec, &f);
    assert_string_equal(t, "{\"src_cc\":\"NL\",\"dst_cc\":\"BR\",\"src_asn\":64510,\"dst_asn\":"
                           "64511,\"src_asname\":\"V6 Clients\",\"dst_asname\":\"V6 "
                           "Servers\\\\Backslash\"}\n");
    free(t);
    f = tu_flow("10.1.0.9", "192.0.2.1"); /* a comma; dst unknown */
    t = render(spec, &f);
    assert_string_equal(t, "{\"src_cc\":\"DE\",\"dst_cc\":null,\"src_asn\":64500,\"dst_asn\":null,"
                           "\"src_asname\":\"Example Net, Inc.\",\"dst_asname\":null}\n");
    free(t);
    snprintf(spec, sizeof(spec), "csv:%s", cols);
    t = render(spec, &f);
    assert_string_equal(strchr(t, '\n') + 1, "DE,,64500,,\"Example Net, Inc.\",\n");
    free(t);
    t = render("tsv:src_asname,dst_cc", &f);
    assert_string_equal(t, "src_asname\tdst_cc\nExample Net, Inc.\t\n");
    free(t);
}

static int matches(const char *text, const struct flow *f)
{
    struct filter *flt = NULL;
    struct fs_err err = { 0 };
    if (filter_compile(text, &flt, &err) != 0)
        fail_msg("filter %s: %s", text, err.msg);
    int m = filter_match(flt, f);
    filter_free(flt);
    return m;
}

static void test_filter(void **state)
{
    (void)state;
    geo_free();
    open_db(write_db("c.mmdb", MW_COUNTRY, 24, 6));
    open_db(write_db("a.mmdb", MW_ASN, 32, 6));
    struct flow f = tu_flow("10.1.10.2", "198.18.9.1"); /* BE (nested in FR), AS64501; JP */
    assert_true(matches("cc BE", &f));
    assert_true(matches("src cc be and dst cc == JP", &f));
    assert_false(matches("src cc FR", &f));
    assert_false(matches("dst cc BE", &f));
    assert_true(matches("dst cc != BE", &f));
    assert_true(matches("asn 64501 and dst asn AS64502", &f));
    assert_false(matches("src asn 64502", &f));
    assert_true(matches("not asn 1", &f));
    f = tu_flow("2001:db8:c1::801", "2001:db8:5::fff"); /* SE, AS64510; past BR's /117 */
    assert_true(matches("src cc SE and src asn 64510", &f));
    assert_false(matches("dst cc BR or dst asn 64511", &f));
    f = tu_flow("198.18.0.1", "10.1.0.1");
    assert_true(matches("src asn 4200000001", &f));

    struct filter *flt = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(filter_compile("dst cc de or src asn 7", &flt, &err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    filter_dump(flt, fp);
    fclose(fp);
    assert_non_null(strstr(text, "dst cc DE"));
    assert_non_null(strstr(text, "src asn 7"));
    free(text);
    filter_free(flt);

    static const struct {
        const char *text, *msg;
        long long pos;
    } bad[] = {
        { "cc DEU", "'DEU' is not a two-letter country code", 3 },
        { "src cc 12", "'12' is not a two-letter country code", 7 },
        { "asn AS", "'AS' is not an AS number (0 to 4294967295)", 4 },
        { "asn 4294967296", "'4294967296' is not an AS number (0 to 4294967295)", 4 },
        { "dst asn > 5", "asn compares with = or != only", 8 },
        { "cc", "expected a country code (DE) after cc, not the end of the filter", 2 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(filter_compile(bad[i].text, &flt, &err), 0);
        assert_string_equal(err.msg, bad[i].msg);
        assert_int_equal(err.pos, bad[i].pos);
    }
    geo_free();
    assert_int_not_equal(filter_compile("dst asn 5", &flt, &err), 0);
    assert_string_equal(err.msg, "asn needs a MaxMind database: --mmdb FILE");
    struct output o;
    assert_int_not_equal(output_init(&o, "csv:src,dst_cc", 0, stdout, &err), 0);
    assert_string_equal(err.msg, "dst_cc needs a MaxMind database: --mmdb FILE");
}

static void expect_refused(const char *path, const char *msg)
{
    struct fs_err err = { 0 };
    assert_int_not_equal(geo_add(path, &err), 0);
    if (!strstr(err.msg, msg))
        fail_msg("geo_add %s: '%s' lacks '%s'", path, err.msg, msg);
}

/* A copy of file src with its bytes from..to (negative: from the end) set to v and cut
 * bytes cut off its end; from == to == 0 and v == 'M': the metadata marker broken. */
static const char *spoil(const char *src, const char *name, long from, long to, int v, long cut)
{
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    long len = (long)n;
    uint8_t *m = memmem(buf, n, "\xab\xcd\xefMaxMind.com", 14);
    assert_non_null(m);
    if (v == 'M')
        m[3] = 'm';
    for (long i = from < 0 ? len + from : from; i < (to < 0 ? len + to : to); i++)
        buf[i] = (uint8_t)v;
    return tu_write(name, buf, (size_t)(len - cut));
}

static void test_refused(void **state)
{
    (void)state;
    geo_free();
    const char *good = write_db("good.mmdb", MW_COUNTRY, 28, 6);
    expect_refused("/nonexistent/x.mmdb", "--mmdb /nonexistent/x.mmdb: No such file");
    expect_refused(spoil(good, "nomarker", 0, 0, 'M', 0), "not a usable MaxMind DB file");
    expect_refused(spoil(good, "short", 0, 0, 0, 2000), "not a usable MaxMind DB file");
    expect_refused(spoil(good, "meta", -60, -1, 0xee, 0), "not a usable MaxMind DB file");
    /* a tree whose records point past everything: opens, and every answer is unknown */
    const char *wild = spoil(good, "wild", 0, 700, 0xff, 0);
    open_db(wild);
    char cc[3];
    uint32_t asn;
    char name[GEO_ASNAME_MAX];
    struct flow f = tu_flow("10.1.0.1", "2001:db8:c1::1");
    assert_false(geo_cc(f.src, 4, cc));
    assert_false(geo_cc(f.dst, 6, cc));
    assert_false(geo_asn(f.src, 4, &asn));
    assert_int_equal(geo_asname(f.dst, 6, name), 0);
    for (int i = 1; i < GEO_DBS_MAX; i++)
        open_db(good);
    expect_refused(good, "at most 4 databases");
    geo_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
