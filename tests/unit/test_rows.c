/* Unit tests of result rows (query/rows.h): buffered and streamed
 * output are the same bytes in csv, tsv and json; streamed rows are printed at once and
 * never held; an empty stream still gets its header; the table is streamed only with
 * widths given, and then equals the buffered table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "query/rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = { "n", "text", "size" };
static const unsigned char numeric[] = { 1, 0, 1 };

/* Rows that need every quoting rule: comma, quote, tab, line break, control byte, an
 * empty numeric cell (json null) and NULL cells. */
static const char *const data[][3] = { { "1", "plain", "10" },
                                       { "2", "a,b \"q\"", "" },
                                       { "3", "tab\there\nnl", NULL },
                                       { NULL, "ctl\x01x\\", "7" } };
#define NDATA (sizeof(data) / sizeof(data[0]))

/* Output of rows_add of the first nrows data rows, then rows_print, streamed or not. */
static char *render(enum rows_mode mode, int stream, size_t nrows)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    struct rows r;
    rows_init(&r, names, numeric, 3);
    if (stream)
        rows_stream(&r, mode, fp);
    for (size_t i = 0; i < nrows; i++)
        rows_add(&r, data[i]);
    rows_print(&r, mode, fp);
    rows_free(&r);
    assert_int_equal(fclose(fp), 0);
    return buf;
}

static void test_stream_same_bytes(void **state)
{
    (void)state;
    for (int m = ROWS_CSV; m <= ROWS_JSON; m++)
        for (size_t n = 0; n <= NDATA; n++) {
            char *a = render((enum rows_mode)m, 0, n), *b = render((enum rows_mode)m, 1, n);
            assert_string_equal(a, b);
            free(a);
            free(b);
        }
}

static void test_stream_bytes(void **state)
{
    (void)state;
    char *s = render(ROWS_CSV, 1, NDATA);
    assert_string_equal(s, "n,text,size\n1,plain,10\n2,\"a,b \"\"q\"\"\",\n"
                           "3,\"tab\there\nnl\",\n,ctl\x01x\\,7\n");
    free(s);
    s = render(ROWS_TSV, 1, NDATA);
    assert_string_equal(s, "n\ttext\tsize\n1\tplain\t10\n2\ta,b \"q\"\t\n"
                           "3\ttab here nl\t\n\tctl\x01x\\\t7\n");
    free(s);
    s = render(ROWS_JSON, 1, 2);
    assert_string_equal(s, "{\"n\":1,\"text\":\"plain\",\"size\":10}\n"
                           "{\"n\":2,\"text\":\"a,b \\\"q\\\"\",\"size\":null}\n");
    free(s);
    s = render(ROWS_JSON, 1, NDATA);
    assert_non_null(strstr(s, "{\"n\":null,\"text\":\"ctl\\u0001x\\\\\",\"size\":7}\n"));
    free(s);
    s = render(ROWS_CSV, 1, 0); /* an empty result still names its columns */
    assert_string_equal(s, "n,text,size\n");
    free(s);
    s = render(ROWS_JSON, 1, 0);
    assert_string_equal(s, "");
    free(s);
}

/* Each row is on the file when rows_add returns, and nothing is held. */
static void test_stream_prints_at_once(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    struct rows r;
    rows_init(&r, names, numeric, 3);
    rows_stream(&r, ROWS_CSV, fp);
    rows_add(&r, data[0]);
    assert_int_equal(fflush(fp), 0);
    assert_string_equal(buf, "n,text,size\n1,plain,10\n");
    for (int i = 0; i < 1000; i++)
        rows_add(&r, data[0]);
    assert_int_equal(r.n, 0);
    assert_null(r.cells);
    rows_print(&r, ROWS_CSV, fp);
    rows_print(&r, ROWS_CSV, fp); /* a second call prints no second header */
    assert_int_equal(fflush(fp), 0);
    assert_int_equal(len, strlen("n,text,size\n") + 1001 * strlen("1,plain,10\n"));
    rows_free(&r);
    assert_int_equal(fclose(fp), 0);
    free(buf);
}

/* The aligned table needs every row for its widths: rows_stream leaves it buffered. */
static void test_table_not_streamed(void **state)
{
    (void)state;
    char *a = render(ROWS_TABLE, 0, 2), *b = render(ROWS_TABLE, 1, 2);
    assert_string_equal(a, b);
    assert_string_equal(a, "n  text     size\n"
                           "1  plain      10\n"
                           "2  a,b \"q\"      \n");
    free(a);
    free(b);
    struct rows r;
    rows_init(&r, names, numeric, 3);
    rows_stream(&r, ROWS_TABLE, stdout);
    rows_add(&r, data[0]);
    assert_int_equal(r.n, 1);
    rows_free(&r);
}

/* A table streamed with the widths of its rows is the buffered table, byte for byte,
 * and holds no row; narrower widths never cut a cell or a header. */
static void test_table_streamed_widths(void **state)
{
    (void)state;
    char *want = render(ROWS_TABLE, 0, 2);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    struct rows r;
    rows_init(&r, names, numeric, 3);
    static const size_t w[] = { 1, 7, 2 }; /* the widest cell of each column */
    rows_stream_table(&r, w, fp);
    rows_add(&r, data[0]);
    rows_add(&r, data[1]);
    assert_int_equal(r.n, 0);
    rows_print(&r, ROWS_TABLE, fp);
    rows_free(&r);
    assert_int_equal(fclose(fp), 0);
    assert_string_equal(buf, want);
    free(buf);
    free(want);

    static const size_t zero[] = { 0, 0, 0 };
    buf = NULL;
    fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    rows_init(&r, names, numeric, 3);
    rows_stream_table(&r, zero, fp);
    rows_print(&r, ROWS_TABLE, fp); /* no row: the header alone */
    rows_add(&r, data[1]);          /* a late row is printed whole */
    rows_free(&r);
    assert_int_equal(fclose(fp), 0);
    assert_string_equal(buf, "n  text  size\n"
                             "2  a,b \"q\"      \n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_same_bytes),     cmocka_unit_test(test_stream_bytes),
        cmocka_unit_test(test_stream_prints_at_once), cmocka_unit_test(test_table_not_streamed),
        cmocka_unit_test(test_table_streamed_widths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
