/* Unit tests of Crypto-PAn (print --anon): the original distribution's sample trace
 * (IPv4), other implementations' IPv6 vectors, prefix preservation on random pairs,
 * the key forms nfanon takes, key files, the address cache, a whole record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "query/anon.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The key of the sample in the Crypto-PAn 1.0 source distribution (Xu, Fan et al.). */
static const uint8_t sample_key[32] = { 21,  34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
                                        22,  73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
                                        101, 39, 98,  87,  76, 45,  42,  132, 34,  2 };

/* Its sample_trace_raw.dat -> sample_trace_sanitized.dat addresses. */
static const char *const v4_vectors[][2] = {
    { "128.11.68.132", "135.242.180.132" },   { "129.118.74.4", "134.136.186.123" },
    { "130.132.252.244", "133.68.164.234" },  { "141.223.7.43", "141.167.8.160" },
    { "141.233.145.108", "141.129.237.235" }, { "152.163.225.39", "151.140.114.167" },
    { "156.29.3.236", "147.225.12.42" },      { "165.247.96.84", "162.9.99.234" },
    { "166.107.77.190", "160.132.178.185" },  { "192.102.249.13", "252.138.62.131" },
    { "192.215.32.125", "252.43.47.189" },    { "192.233.80.103", "252.25.108.8" },
    { "192.41.57.43", "252.222.221.184" },    { "193.150.244.223", "253.169.52.216" },
    { "195.205.63.100", "255.186.223.5" },    { "198.200.171.101", "249.199.68.213" },
    { "198.26.132.101", "249.36.123.202" },   { "198.36.213.5", "249.7.21.132" },
    { "198.51.77.238", "249.18.186.254" },    { "199.217.79.101", "248.38.184.213" },
    { "202.49.198.20", "245.206.7.234" },     { "203.12.160.252", "244.248.163.4" },
    { "204.184.162.189", "243.192.77.90" },   { "204.202.136.230", "243.178.4.198" },
    { "204.29.20.4", "243.33.20.123" },       { "205.178.38.67", "242.108.198.51" },
    { "205.188.147.153", "242.96.16.101" },   { "205.188.248.25", "242.96.88.27" },
    { "205.245.121.43", "242.21.121.163" },   { "207.105.49.5", "241.118.205.138" },
    { "207.135.65.238", "241.202.129.222" },  { "207.155.9.214", "241.220.250.22" },
    { "207.188.7.45", "241.255.249.220" },    { "207.25.71.27", "241.33.119.156" },
    { "207.33.151.131", "241.1.233.131" },    { "208.147.89.59", "227.237.98.191" },
    { "208.234.120.210", "227.154.67.17" },   { "208.28.185.184", "227.39.94.90" },
    { "208.52.56.122", "227.8.63.165" },      { "209.12.231.7", "226.243.167.8" },
    { "209.238.72.3", "226.6.119.243" },      { "209.246.74.109", "226.22.124.76" },
    { "209.68.60.238", "226.184.220.233" },   { "209.85.249.6", "226.170.70.6" },
    { "212.120.124.31", "228.135.163.231" },  { "212.146.8.236", "228.19.4.234" },
    { "212.186.227.154", "228.59.98.98" },    { "212.204.172.118", "228.71.195.169" },
    { "212.206.130.201", "228.69.242.193" },  { "216.148.237.145", "235.84.194.111" },
    { "216.157.30.252", "235.89.31.26" },     { "216.184.159.48", "235.96.225.78" },
    { "216.227.10.221", "235.28.253.36" },    { "216.254.18.172", "235.7.16.162" },
    { "216.32.132.250", "235.192.139.38" },   { "216.35.217.178", "235.195.157.81" },
    { "24.0.250.221", "100.15.198.226" },     { "24.13.62.231", "100.2.192.247" },
    { "24.14.213.138", "100.1.42.141" },      { "24.5.0.80", "100.9.15.210" },
    { "24.7.198.88", "100.10.6.25" },         { "24.94.26.44", "100.88.228.35" },
    { "38.15.67.68", "64.3.66.187" },         { "4.3.88.225", "124.60.155.63" },
    { "63.14.55.111", "95.9.215.7" },         { "63.195.241.44", "95.179.238.44" },
    { "63.97.7.140", "95.97.9.123" },         { "64.14.118.196", "0.255.183.58" },
    { "64.34.154.117", "0.221.154.117" },     { "64.39.15.238", "0.219.7.41" },
    { "10.185.25.118", "117.161.29.118" },
};

/* IPv6 under the same key, as the Go (Yawning Angel's cryptopan) and Python
 * implementations give them: the rule at 128 bits. */
static const char *const v6_vectors[][2] = {
    { "::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed" },
    { "::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef" },
    { "::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838" },
    { "2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e" },
    { "2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c" },
};

static struct anon *sample(void)
{
    struct fs_err err = { 0 };
    struct anon *a = anon_new(sample_key, &err);
    assert_non_null(a);
    return a;
}

static uint32_t ip4(const char *s)
{
    struct in_addr in;
    assert_int_equal(inet_pton(AF_INET, s, &in), 1);
    return ntohl(in.s_addr);
}

static void test_ipv4_sample_trace(void **state)
{
    (void)state;
    struct anon *a = sample();
    for (size_t i = 0; i < sizeof(v4_vectors) / sizeof(v4_vectors[0]); i++) {
        uint32_t got = anon_ip4(a, ip4(v4_vectors[i][0]));
        if (got != ip4(v4_vectors[i][1]))
            fail_msg("%s -> %08x, want %s", v4_vectors[i][0], got, v4_vectors[i][1]);
        /* The record path: IPv4-mapped, anonymised as IPv4, stays mapped. */
        uint8_t m[16], want[16];
        uint32_t be = htonl(ip4(v4_vectors[i][0])), wbe = htonl(ip4(v4_vectors[i][1]));
        flow_addr_from_v4(m, (const uint8_t *)&be);
        flow_addr_from_v4(want, (const uint8_t *)&wbe);
        anon_addr(a, m);
        assert_memory_equal(m, want, 16);
    }
    anon_free(a);
}

static void test_ipv6_vectors(void **state)
{
    (void)state;
    struct anon *a = sample();
    for (size_t i = 0; i < sizeof(v6_vectors) / sizeof(v6_vectors[0]); i++) {
        uint8_t in[16], want[16], out[16];
        assert_int_equal(inet_pton(AF_INET6, v6_vectors[i][0], in), 1);
        assert_int_equal(inet_pton(AF_INET6, v6_vectors[i][1], want), 1);
        anon_ip6(a, in, out);
        assert_memory_equal(out, want, 16);
        anon_addr(a, in);
        assert_memory_equal(in, want, 16);
    }
    anon_free(a);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Length of the common prefix of a and b (n bytes), in bits. */
static unsigned cpl(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a[i] ^ b[i];
        if (x) {
            unsigned k = 0;
            while (!(x & 0x80)) {
                x = (uint8_t)(x << 1);
                k++;
            }
            return (unsigned)(8 * i) + k;
        }
    }
    return (unsigned)(8 * n);
}

/* b = a with its first k bits, bit k flipped (k < 8n), random bits after. */
static void pair_with_prefix(uint8_t *a, uint8_t *b, size_t n, unsigned k)
{
    for (size_t i = 0; i < n; i++) {
        a[i] = (uint8_t)rnd();
        b[i] = (uint8_t)rnd();
    }
    for (unsigned i = 0; i <= k; i++) {
        uint8_t bit = (uint8_t)(0x80 >> (i % 8));
        b[i / 8] = (uint8_t)((b[i / 8] & ~bit) | (a[i / 8] & bit));
    }
    b[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
}

/* Addresses sharing exactly k bits come out sharing exactly k bits: prefix-preserving,
 * and one-to-one (they never collide). */
static void test_prefix_preserving(void **state)
{
    (void)state;
    struct anon *a = sample();
    for (int round = 0; round < 2000; round++) {
        size_t n = round % 2 ? 16 : 4;
        unsigned k = (unsigned)(rnd() % (8 * n));
        uint8_t x[16], y[16], ax[16], ay[16];
        pair_with_prefix(x, y, n, k);
        assert_int_equal(cpl(x, y, n), k);
        if (n == 4) {
            uint32_t u = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
            uint32_t v = (uint32_t)y[0] << 24 | (uint32_t)y[1] << 16 | (uint32_t)y[2] << 8 | y[3];
            uint32_t au = htonl(anon_ip4(a, u)), av = htonl(anon_ip4(a, v));
            memcpy(ax, &au, 4);
            memcpy(ay, &av, 4);
        } else {
            anon_ip6(a, x, ax);
            anon_ip6(a, y, ay);
        }
        if (cpl(ax, ay, n) != k)
            fail_msg("round %d: %zu-byte pair sharing %u bits comes out sharing %u", round, n, k,
                     cpl(ax, ay, n));
    }
    anon_free(a);
}

static void test_key_forms(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32];
    struct fs_err err = { 0 };
    const char *text = "abcdefghijklmnopqrstuvwxyz012345";
    assert_int_equal(anon_key_parse(text, strlen(text), k1, &err), 0);
    assert_memory_equal(k1, text, 32);
    const char *hex = "0X6162636465666768696A6B6C6D6E6F707172737475767778797a303132333435";
    assert_int_equal(anon_key_parse(hex, strlen(hex), k2, &err), 0);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(anon_key_parse("short", 5, k2, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "32 characters or 0x and 64 hex digits"));
    char bad[67];
    memcpy(bad, hex, 67);
    bad[40] = 'g';
    assert_int_equal(anon_key_parse(bad, 66, k2, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "hex digits"));
    /* 33 characters: neither form (nfanon refuses it too). */
    assert_int_equal(anon_key_parse("abcdefghijklmnopqrstuvwxyz0123456", 33, k2, &err), FS_EINVAL);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void test_key_files(void **state)
{
    (void)state;
    char path[] = "/tmp/fs-test-anon-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    uint8_t k[32], want[32];
    struct fs_err err = { 0 };
    /* 32 raw bytes, the last a newline: the key as it is, nothing stripped */
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)(i * 37 + 1);
    want[31] = '\n';
    write_file(path, want, 32);
    assert_int_equal(anon_key_load(path, k, &err), 0);
    assert_memory_equal(k, want, 32);
    /* text and hex forms with a newline */
    write_file(path, "abcdefghijklmnopqrstuvwxyz012345\n", 33);
    assert_int_equal(anon_key_load(path, k, &err), 0);
    assert_memory_equal(k, "abcdefghijklmnopqrstuvwxyz012345", 32);
    const char *hex = "0x6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435\r\n";
    write_file(path, hex, strlen(hex));
    assert_int_equal(anon_key_load(path, k, &err), 0);
    assert_memory_equal(k, "abcdefghijklmnopqrstuvwxyz012345", 32);
    /* a file that is no key: the error names the file */
    write_file(path, "not a key\n", 10);
    assert_int_equal(anon_key_load(path, k, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, path));
    unlink(path);
    /* no such file: the argument is the key */
    assert_int_equal(anon_key_load("abcdefghijklmnopqrstuvwxyz012345", k, &err), 0);
    assert_memory_equal(k, "abcdefghijklmnopqrstuvwxyz012345", 32);
}

/* Many addresses (beyond the cache), each twice: the cached answer is the computed one. */
static void test_cache(void **state)
{
    (void)state;
    struct anon *a = sample();
    enum { N = 40000 };
    uint32_t *in = malloc(N * sizeof(*in));
    assert_non_null(in);
    for (int i = 0; i < N; i++)
        in[i] = (uint32_t)rnd();
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N; i++) {
            uint8_t m[16];
            uint32_t be = htonl(in[i]);
            flow_addr_from_v4(m, (const uint8_t *)&be);
            anon_addr(a, m);
            uint32_t got;
            memcpy(&got, m + 12, 4);
            assert_int_equal(ntohl(got), anon_ip4(a, in[i]));
        }
    /* one address again and again hits */
    uint8_t m[16] = { 0x20, 0x01, 0x0d, 0xb8 }, first[16];
    memcpy(first, m, 16);
    anon_addr(a, first);
    struct anon_stats st0, st1;
    anon_get_stats(a, &st0);
    for (int i = 0; i < 100; i++) {
        uint8_t c[16];
        memcpy(c, m, 16);
        anon_addr(a, c);
        assert_memory_equal(c, first, 16);
    }
    anon_get_stats(a, &st1);
    assert_int_equal(st1.hits - st0.hits, 100);
    free(in);
    anon_free(a);
}

static void test_flow(void **state)
{
    (void)state;
    struct anon *a = sample();
    struct flow f = { 0 }, g;
    uint32_t s = htonl(ip4("128.11.68.132")), d = htonl(ip4("129.118.74.4"));
    flow_addr_from_v4(f.src, (const uint8_t *)&s);
    flow_addr_from_v4(f.dst, (const uint8_t *)&d);
    f.ipver = 4;
    f.src_as = 65000;
    f.dst_as = 3320;
    f.bytes = 1234;
    g = f;
    anon_flow(a, &g);
    uint32_t gs, gd;
    memcpy(&gs, g.src + 12, 4);
    memcpy(&gd, g.dst + 12, 4);
    assert_int_equal(ntohl(gs), ip4("135.242.180.132"));
    assert_int_equal(ntohl(gd), ip4("134.136.186.123"));
    assert_true(flow_addr_is_v4mapped(g.src));
    assert_int_equal(g.src_as, 0);
    assert_int_equal(g.dst_as, 0);
    assert_int_equal(g.bytes, 1234);
    static const uint8_t zero[16];
    assert_memory_equal(g.exporter, zero, 16); /* metered locally: stays zero */
    uint32_t e = htonl(ip4("10.185.25.118"));
    flow_addr_from_v4(f.exporter, (const uint8_t *)&e);
    anon_flow(a, &f);
    uint32_t ge;
    memcpy(&ge, f.exporter + 12, 4);
    assert_int_equal(ntohl(ge), ip4("117.161.29.118"));
    anon_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_sample_trace),
        cmocka_unit_test(test_ipv6_vectors),
        cmocka_unit_test(test_prefix_preserving),
        cmocka_unit_test(test_key_forms),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_flow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
