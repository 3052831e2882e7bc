/*
 * flowsleuth eval's module: the labels CSV (columns in any order, optional sport and
 * exchange, errors with file:line:field), joining labels to flows, the CART tree (1-D
 * nearest-midpoint thresholds, 2-D splits, ties, pure leaves), and the scores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"
#include "detect/eval.h"
#include "testutil.h"

static void parse_ok(struct eval_labels *l, const char *text)
{
    struct fs_err err = { 0 };
    int rc = eval_labels_parse(l, "t.csv", text, strlen(text), &err);
    if (rc)
        fail_msg("%s", err.msg);
}

static void test_labels(void **state)
{
    (void)state;
    struct eval_labels l = { 0 };
    parse_ok(&l, "# lab run\n"
                 "entry_name,end_ms,start_ms,server,client,sport,exchange\r\n"
                 "file-001.bin,200,100,10.0.0.1,10.0.0.2,40000,2\r\n"
                 "\n"
                 "-,400,300,10.0.0.1,10.0.0.2,,\n");
    assert_int_equal(l.n, 2);
    uint8_t a[16];
    int ver;
    assert_int_equal(parse_addr("10.0.0.2", a, &ver), 0);
    assert_memory_equal(l.v[0].client, a, 16);
    assert_int_equal(l.v[0].sport, 40000);
    assert_int_equal(l.v[0].exchange, 2);
    assert_int_equal(l.v[0].start_ms, 100);
    assert_int_equal(l.v[0].end_ms, 200);
    assert_string_equal(l.v[0].name, "file-001.bin");
    assert_false(eval_label_foreign(&l.v[0]));
    assert_int_equal(l.v[1].sport, 0);
    assert_int_equal(l.v[1].exchange, 0);
    assert_true(eval_label_foreign(&l.v[1]));
    eval_labels_free(&l);

    /* sport and exchange are optional columns */
    parse_ok(&l, "client,server,start_ms,end_ms,entry_name\n::1,::2,5,6,x\n");
    assert_int_equal(l.n, 1);
    eval_labels_free(&l);
}

static void expect_error(const char *text, const char *msg)
{
    struct eval_labels l = { 0 };
    struct fs_err err = { 0 };
    assert_int_equal(eval_labels_parse(&l, "t.csv", text, strlen(text), &err), FS_ECORRUPT);
    if (!strstr(err.msg, msg))
        fail_msg("'%s' does not hold '%s'", err.msg, msg);
    eval_labels_free(&l);
}

static void test_label_errors(void **state)
{
    (void)state;
    const char *h = "client,server,sport,start_ms,end_ms,entry_name\n";
    char buf[256];
    expect_error("client,server,start_ms,entry_name\n", "t.csv:1: field 'end_ms'");
    expect_error("", "t.csv:1: field 'client'");
    snprintf(buf, sizeof(buf), "%s1.2.3.4,1.2.3.5,1,1,2,a\nnope,1.2.3.5,1,1,2,a\n", h);
    expect_error(buf, "t.csv:3: field 'client'");
    snprintf(buf, sizeof(buf), "%s1.2.3.4,1.2.3.5,70000,1,2,a\n", h);
    expect_error(buf, "t.csv:2: field 'sport'");
    snprintf(buf, sizeof(buf), "%s1.2.3.4,1.2.3.5,1,5,2,a\n", h);
    expect_error(buf, "t.csv:2: field 'end_ms'");
    snprintf(buf, sizeof(buf), "%s1.2.3.4,1.2.3.5,1,1,x2,a\n", h);
    expect_error(buf, "t.csv:2: field 'end_ms'");
    snprintf(buf, sizeof(buf), "%s1.2.3.4,1.2.3.5,1,1,2,\n", h);
    expect_error(buf, "t.csv:2: field 'entry_name'");
    snprintf(buf, sizeof(buf), "%s1.2.3.4,1.2.3.5,1,1\n", h);
    expect_error(buf, "t.csv:2: field 'end_ms'");
}

static struct flow mkflow(const char *cl, const char *sv, uint16_t sport, uint32_t ex,
                          uint64_t first, uint64_t last)
{
    struct flow f = tu_flow(cl, sv);
    f.sport = sport;
    f.dport = 80;
    f.exchange = ex;
    f.first = first;
    f.last = last;
    return f;
}

static void test_find(void **state)
{
    (void)state;
    struct flow fl[] = {
        mkflow("10.0.0.2", "10.0.0.1", 1000, 0, 100, 200),   /* 0 */
        mkflow("10.0.0.2", "10.0.0.1", 1001, 0, 190, 400),   /* 1: overlaps more */
        mkflow("10.0.0.3", "10.0.0.1", 1001, 0, 100, 400),   /* 2: other client */
        mkflow("10.0.0.2", "10.0.0.1", 2000, 1, 1000, 1100), /* 3: split exchanges */
        mkflow("10.0.0.2", "10.0.0.1", 2000, 2, 1100, 1200), /* 4 */
    };
    size_t n = sizeof(fl) / sizeof(fl[0]);
    struct eval_labels l = { 0 };
    parse_ok(&l, "client,server,sport,exchange,start_ms,end_ms,entry_name\n"
                 "10.0.0.2,10.0.0.1,,,150,350,a\n"        /* largest overlap: 1 */
                 "10.0.0.2,10.0.0.1,1000,,150,350,a\n"    /* port: 0 */
                 "10.0.0.2,10.0.0.1,,,5000,6000,a\n"      /* none */
                 "10.0.0.2,10.0.0.1,2000,2,1000,1100,a\n" /* exchange beats overlap */
                 "10.0.0.9,10.0.0.1,,,100,400,a\n");      /* unknown client */
    assert_int_equal(eval_find(&l.v[0], fl, n, 0), 1);
    assert_int_equal(eval_find(&l.v[1], fl, n, 0), 0);
    assert_int_equal(eval_find(&l.v[2], fl, n, 0), n);
    assert_int_equal(eval_find(&l.v[2], fl, 2, 5000), 1); /* slack widens the window */
    assert_int_equal(eval_find(&l.v[3], fl, n, 0), 4);
    assert_int_equal(eval_find(&l.v[4], fl, n, 0), n);
    /* an exchange label against unsplit flows: the connection's one record */
    struct flow whole = mkflow("10.0.0.2", "10.0.0.1", 2000, 0, 1000, 1200);
    assert_int_equal(eval_find(&l.v[3], &whole, 1, 0), 0);
    eval_labels_free(&l);
}

/* 1-D, one sample per class: thresholds at the midpoints between sorted sizes. */
static void test_tree_1d(void **state)
{
    (void)state;
    double x[] = { 5000, 1000, 3000, 2000 };
    uint32_t y[] = { 3, 0, 2, 1 };
    struct eval_tree t;
    assert_int_equal(eval_tree_train(&t, 1, x, y, 4, 4), 0);
    assert_int_equal(eval_tree_leaves(&t), 4);
    double q[][1] = { { 0 }, { 1499 }, { 1501 }, { 2499 }, { 2501 }, { 3999 }, { 4001 }, { 1e12 } };
    uint32_t want[] = { 0, 0, 1, 1, 2, 2, 3, 3 };
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(eval_tree_predict(&t, q[i]), want[i]);
    eval_tree_free(&t);

    /* several samples a class, one outlier of class 0 above class 1: its own interval */
    double x2[] = { 10, 11, 12, 20, 21, 22, 30 };
    uint32_t y2[] = { 0, 0, 0, 1, 1, 1, 0 };
    assert_int_equal(eval_tree_train(&t, 1, x2, y2, 7, 2), 0);
    double a[] = { 12.5 }, b[] = { 25 }, c[] = { 27 };
    assert_int_equal(eval_tree_predict(&t, a), 0);
    assert_int_equal(eval_tree_predict(&t, b), 1);
    assert_int_equal(eval_tree_predict(&t, c), 0);
    assert_int_equal(eval_tree_leaves(&t), 3);
    eval_tree_free(&t);

    /* equal features, different classes: no split possible, the majority wins */
    double x3[] = { 7, 7, 7 };
    uint32_t y3[] = { 1, 0, 1 };
    assert_int_equal(eval_tree_train(&t, 1, x3, y3, 3, 2), 0);
    assert_int_equal(eval_tree_leaves(&t), 1);
    assert_int_equal(eval_tree_predict(&t, x3), 1);
    eval_tree_free(&t);
    assert_int_equal(eval_tree_train(&t, 1, x3, y3, 0, 2), FS_EINVAL);
    eval_tree_free(&t);
}

/* 2-D: the classes differ only in the second feature. */
static void test_tree_2d(void **state)
{
    (void)state;
    double x[] = { 100, 1, 100, 9, 101, 2, 99, 8 };
    uint32_t y[] = { 0, 1, 0, 1 };
    struct eval_tree t;
    assert_int_equal(eval_tree_train(&t, 2, x, y, 4, 2), 0);
    double a[] = { 100, 1.5 }, b[] = { 100, 8.5 };
    assert_int_equal(eval_tree_predict(&t, a), 0);
    assert_int_equal(eval_tree_predict(&t, b), 1);
    assert_int_equal(eval_tree_leaves(&t), 2);
    eval_tree_free(&t);
}

static void test_score(void **state)
{
    (void)state;
    struct eval_score s = { 0 };
    eval_score_add(&s, "a", EO_RIGHT, "a");
    eval_score_add(&s, "a", EO_RIGHT, "a");
    eval_score_add(&s, "b", EO_WRONG, "c");
    eval_score_add(&s, "b", EO_AMBIG, NULL);
    eval_score_add(&s, "-", EO_WRONG, "a");
    eval_score_add(&s, "-", EO_WRONG, "a");
    eval_score_add(&s, "-", EO_REJECT, NULL);
    eval_score_add(&s, "-", EO_POSSIBLE, NULL);
    eval_score_sort(&s);
    struct eval_summary m;
    eval_summarize(&s, &m);
    assert_int_equal(m.known, 4);
    assert_int_equal(m.foreign, 4);
    assert_true(m.accuracy == 0.5);
    assert_true(m.recall == 0.5);
    assert_true(m.precision == 2.0 / 5.0); /* 2 right of 5 matches made */
    assert_true(m.foreign_wrong == 0.5);
    assert_true(m.foreign_rejected == 0.5);
    assert_int_equal(s.nconf, 2);
    assert_string_equal(s.conf[0].truth, "-");
    assert_string_equal(s.conf[0].got, "a");
    assert_int_equal(s.conf[0].n, 2);
    assert_string_equal(s.conf[1].truth, "b");
    eval_score_free(&s);

    struct eval_score z = { 0 };
    eval_summarize(&z, &m);
    assert_true(m.accuracy == 0 && m.precision == 0 && m.foreign_wrong == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),  cmocka_unit_test(test_label_errors),
        cmocka_unit_test(test_find),    cmocka_unit_test(test_tree_1d),
        cmocka_unit_test(test_tree_2d), cmocka_unit_test(test_score),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
