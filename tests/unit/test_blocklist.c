/* The block list (analytics/blocklist.c): add and refresh, expiry, the allow list in
 * both directions of overlap, the state file round trip and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/blocklist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct net_prefix pfx(const char *s)
{
    struct net_prefix p;
    assert_int_equal(net_prefix_parse(s, &p), 0);
    return p;
}

static void test_add_expire(void **state)
{
    (void)state;
    struct blocklist b;
    blk_init(&b);
    struct net_prefix a = pfx("192.0.2.7"), c = pfx("2001:db8::/64");
    assert_int_equal(blk_add(&b, &a, 1000, 500, "scan", NULL), 1);
    assert_int_equal(blk_add(&b, &c, 1000, 500, NULL, NULL), 1);
    /* A refresh with a shorter remaining time keeps the later expiry. */
    assert_int_equal(blk_add(&b, &a, 1100, 100, "spam", NULL), 0);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.v[0].expires_ms, 1500);
    assert_int_equal(b.v[0].hits, 2);
    assert_string_equal(b.v[0].why, "spam");
    assert_string_equal(b.v[1].why, "-");
    assert_int_equal(blk_prune(&b, 1499, NULL), 0);
    assert_int_equal(blk_prune(&b, 1500, NULL), 2); /* expiry is exclusive */
    blk_free(&b);
}

static void test_allow_wins(void **state)
{
    (void)state;
    struct blocklist b;
    struct netlist allow;
    blk_init(&b);
    netlist_init(&allow);
    assert_int_equal(netlist_add_net(&allow, "10.1.2.3"), 0);
    assert_int_equal(netlist_add_net(&allow, "198.51.100.0/24"), 0);
    struct net_prefix host = pfx("10.1.2.3"), wide = pfx("10.0.0.0/8"), inner = pfx("198.51.100.9"),
                      other = pfx("10.1.2.4"), v6 = pfx("::a01:203");
    assert_int_equal(blk_add(&b, &host, 0, 10, NULL, &allow), -1);
    assert_int_equal(blk_add(&b, &wide, 0, 10, NULL, &allow), -1); /* would block 10.1.2.3 */
    assert_int_equal(blk_add(&b, &inner, 0, 10, NULL, &allow), -1);
    assert_int_equal(blk_add(&b, &other, 0, 10, NULL, &allow), 1);
    assert_int_equal(blk_add(&b, &v6, 0, 10, NULL, &allow), 1); /* not the IPv4 address */
    assert_int_equal(blk_add(&b, &inner, 0, 10, NULL, NULL), 1);
    assert_int_equal(blk_prune(&b, 0, &allow), 1); /* added before it was allowed */
    assert_int_equal(b.n, 2);
    netlist_free(&allow);
    blk_free(&b);
}

static void test_state_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_blocklist.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct blocklist b, c;
    struct fs_err err = { 0 };
    blk_init(&b);
    blk_init(&c);
    struct net_prefix p1 = pfx("2001:db8::/48"), p2 = pfx("192.0.2.0/24"), p3 = pfx("192.0.2.7");
    blk_add(&b, &p1, 5, 100, "watch", NULL);
    blk_add(&b, &p2, 5, 100, "scan", NULL);
    blk_add(&b, &p3, 5, 100, "scan", NULL);
    blk_sort(&b);
    char t[64];
    blk_prefix_text(&b.v[0].p, t, sizeof(t));
    assert_string_equal(t, "192.0.2.0/24");
    blk_prefix_text(&b.v[2].p, t, sizeof(t));
    assert_string_equal(t, "2001:db8::/48");
    assert_int_equal(blk_save(&b, path, &err), 0);
    assert_int_equal(blk_load(&c, path, &err), 0);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.v, b.v, 3 * sizeof(*b.v));
    blk_free(&c);
    blk_free(&b);
    unlink(path);
    assert_int_equal(blk_load(&c, path, &err), -2); /* -ENOENT */
}

static void load_text(const char *text, int code, const char *want)
{
    char path[] = "/tmp/test_blocklist.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct blocklist b;
    struct fs_err err = { 0 };
    blk_init(&b);
    assert_int_equal(blk_load(&b, path, &err), code);
    assert_int_equal(b.n, 0);
    if (!strstr(err.msg, want))
        fail_msg("'%s' lacks '%s'", err.msg, want);
    blk_free(&b);
    unlink(path);
}

#define HDR "flowsleuth-blocklist 1\n"

static void test_state_errors(void **state)
{
    (void)state;
    load_text("", FS_ECORRUPT, "empty file");
    load_text("hello\n", FS_ECORRUPT, ":1: not a flowsleuth block list state");
    load_text("flowsleuth-blocklist 7\n", FS_EVERSION, ":1: block list version '7', not 1");
    load_text(HDR "192.0.2.1 10 5 1\n", FS_ECORRUPT, ":2: an entry is PREFIX");
    load_text(HDR "192.0.2.300 10 5 1 x\n", FS_ECORRUPT, ":2: field 1 is not valid");
    load_text(HDR "192.0.2.1 10 20 1 x\n", FS_ECORRUPT, ":2: field 3 is not valid");
    load_text(HDR "192.0.2.1 10 5 0 x\n", FS_ECORRUPT, ":2: field 4 is not valid");
    load_text(HDR "192.0.2.1 10 5 1 x\n# c\n192.0.2.1 11 5 1 y\n", FS_ECORRUPT,
              ":4: the prefix appears twice");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_expire),
        cmocka_unit_test(test_allow_wins),
        cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_state_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
