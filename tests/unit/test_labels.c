/* --label lists (query/labels.c): names from files and NAME=FILE, the lists a flow hits
 * on either side and in either family, the filter term `label NAME` with its negation
 * and dump, and each refused argument with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fmt.h"
#include "query/filter.h"
#include "query/labels.h"
#include "testutil.h"

static const char *write_list(const char *name, const char *text)
{
    return tu_write(name, text, strlen(text));
}

static int setup(void **state)
{
    (void)state;
    tu_dir_make("labels");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    labels_free();
    return tu_dir_remove();
}

static void load(const char *arg)
{
    struct fs_err err = { 0 };
    if (labels_add(arg, &err) != 0)
        fail_msg("labels_add %s: %s", arg, err.msg);
}

static void test_hits(void **state)
{
    (void)state;
    labels_free();
    char arg[300];
    load(write_list("drop.txt", "; Spamhaus DROP\n203.0.113.0/24 ; SBL1\n2001:db8:bad::/48\n"));
    snprintf(arg, sizeof(arg), "ours=%s", write_list("nets", "# ours\n10.0.0.0/8\n"));
    load(arg);
    assert_int_equal(labels_count(), 2);
    assert_int_equal(labels_find("drop", 4), 0);
    assert_int_equal(labels_find("ours", 4), 1);
    assert_int_equal(labels_find("our", 3), -1);
    assert_string_equal(labels_name(1), "ours");

    char buf[LABELS_TEXT_MAX];
    struct flow f = tu_flow("10.1.2.3", "203.0.113.9");
    assert_int_equal(labels_format(&f, buf), strlen("drop+ours"));
    assert_string_equal(buf, "drop+ours");
    f = tu_flow("203.0.113.200", "192.0.2.1"); /* the source side alone */
    labels_format(&f, buf);
    assert_string_equal(buf, "drop");
    f = tu_flow("2001:db8:bad:1::1", "2001:db8::1"); /* IPv6 */
    labels_format(&f, buf);
    assert_string_equal(buf, "drop");
    assert_true(labels_any(&f));
    f = tu_flow("192.0.2.1", "198.51.100.1");
    assert_int_equal(labels_format(&f, buf), 0);
    assert_string_equal(buf, "");
    assert_false(labels_any(&f));
    assert_false(labels_hit(5, &f));
}

static void test_filter_term(void **state)
{
    (void)state;
    labels_free();
    load(write_list("tor.list", "198.51.100.0/24\n"));
    struct filter *flt = NULL;
    struct fs_err err = { 0 };
    assert_int_equal(filter_compile("label tor and dst port 0", &flt, &err), 0);
    struct flow in = tu_flow("192.0.2.1", "198.51.100.7"), out = tu_flow("192.0.2.1", "192.0.2.2");
    assert_true(filter_match(flt, &in));
    assert_false(filter_match(flt, &out));
    filter_free(flt);
    assert_int_equal(filter_compile("label != tor", &flt, &err), 0);
    assert_false(filter_match(flt, &in));
    assert_true(filter_match(flt, &out));
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    filter_dump(flt, fp);
    fclose(fp);
    assert_non_null(strstr(text, "label tor"));
    free(text);
    filter_free(flt);
    assert_int_not_equal(filter_compile("label nosuch", &flt, &err), 0);
    assert_string_equal(err.msg, "no --label list is called 'nosuch'");
    assert_int_equal(err.pos, 6);
    labels_free();
    assert_int_not_equal(filter_compile("label tor", &flt, &err), 0);
    assert_string_equal(err.msg, "label needs an address list: --label FILE");
}

static void expect_refused(const char *arg, const char *msg)
{
    struct fs_err err = { 0 };
    assert_int_not_equal(labels_add(arg, &err), 0);
    if (!strstr(err.msg, msg))
        fail_msg("labels_add %s: '%s' lacks '%s'", arg, err.msg, msg);
}

static void test_refused(void **state)
{
    (void)state;
    labels_free();
    const char *ok = write_list("a.txt", "192.0.2.0/24\n");
    load(ok);
    expect_refused(ok, "a list is already called 'a'");
    expect_refused(write_list("bad name", "192.0.2.0/24\n"), "'bad name' is no list name");
    expect_refused("x=", "no file");
    expect_refused("x=/tmp/a\"b", "a quote or control byte");
    expect_refused(write_list("empty", "# nothing\n"), "no address or prefix in the file");
    expect_refused(write_list("junk", "192.0.2.0/24\nnot-an-address\n"), ":2: 'not-an-address'");
    expect_refused("/nonexistent/list", "No such file or directory");
    char arg[300];
    for (int i = 1; i < LABELS_MAX; i++) {
        snprintf(arg, sizeof(arg), "n%d=%s", i, ok);
        load(arg);
    }
    snprintf(arg, sizeof(arg), "last=%s", ok);
    expect_refused(arg, "at most 8 lists");
    /* the longest text fits its buffer */
    char buf[LABELS_TEXT_MAX];
    struct flow f = tu_flow("192.0.2.1", "192.0.2.2");
    assert_true(labels_format(&f, buf) < sizeof(buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits),
        cmocka_unit_test(test_filter_term),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
