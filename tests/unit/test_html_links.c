/*
 * HTML link extraction: relative, absolute, protocol-relative and <base> links,
 * entities, fragments, other schemes, malformed and hostile pages, the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "grab/html_links.h"

#define BASE "http://dl.example.test/pub/soft/index.html"

/* Extract from a C string with BASE and up to 100 links. */
static void run(const char *html, struct html_links *l)
{
    assert_int_equal(html_links_extract(html, strlen(html), BASE, 100, l), 0);
}

static void test_relative_absolute(void **state)
{
    (void)state;
    struct html_links l;
    run("<html><body>"
        "<a href=\"foo-1.0.tar.gz\">a</a>"
        "<a href=\"../other/bar.zip\">b</a>"
        "<a href=\"/root.iso\">c</a>"
        "<a href=\"https://mirror.example.test/x/y.bin\">d</a>"
        "<a href=\"//cdn.example.test/z.exe\">e</a>"
        "<a href=\"?page=2\">f</a>"
        "<A HREF=\"Upper.msi\">g</A>"
        "</body></html>",
        &l);
    assert_int_equal(l.n, 7);
    assert_string_equal(l.url[0], "http://dl.example.test/pub/soft/foo-1.0.tar.gz");
    assert_string_equal(l.url[1], "http://dl.example.test/pub/other/bar.zip");
    assert_string_equal(l.url[2], "http://dl.example.test/root.iso");
    assert_string_equal(l.url[3], "https://mirror.example.test/x/y.bin");
    assert_string_equal(l.url[4], "http://cdn.example.test/z.exe");
    assert_string_equal(l.url[5], "http://dl.example.test/pub/soft/index.html?page=2");
    assert_string_equal(l.url[6], "http://dl.example.test/pub/soft/Upper.msi");
    html_links_free(&l);
}

static void test_base_href(void **state)
{
    (void)state;
    struct html_links l;
    /* The base applies also to links before it; only the first base counts. */
    run("<html><head><base href=\"https://files.example.test/rel/\">"
        "<base href=\"http://ignored.example.test/\"></head>"
        "<body><a href=\"a.tar.xz\">a</a><a href=\"/b.bin\">b</a></body></html>",
        &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.url[0], "https://files.example.test/rel/a.tar.xz");
    assert_string_equal(l.url[1], "https://files.example.test/b.bin");
    html_links_free(&l);
}

static void test_entities_space_fragment(void **state)
{
    (void)state;
    struct html_links l;
    run("<a href=\"get?id=1&amp;v=2\">x</a>"
        "<a href=\"  with space.zip \n\">y</a>"
        "<a href=\"f.tar.gz#sha256=abc\">z</a>"
        "<a href=\"caf&#233;.bin\">w</a>"
        "<a href=\"l\ti\nne.bin\">v</a>",
        &l);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.url[0], "http://dl.example.test/pub/soft/get?id=1&v=2");
    assert_string_equal(l.url[1], "http://dl.example.test/pub/soft/with%20space.zip");
    assert_string_equal(l.url[2], "http://dl.example.test/pub/soft/f.tar.gz");
    assert_string_equal(l.url[3], "http://dl.example.test/pub/soft/caf%c3%a9.bin");
    assert_string_equal(l.url[4], "http://dl.example.test/pub/soft/line.bin");
    html_links_free(&l);
}

static void test_other_schemes_ignored(void **state)
{
    (void)state;
    struct html_links l;
    run("<a href=\"javascript:download()\">1</a>"
        "<a href=\"JavaScript:void(0)\">2</a>"
        "<a href=\"java\tscript:x()\">3</a>"
        "<a href=\"mailto:dl@example.test\">4</a>"
        "<a href=\"ftp://ftp.example.test/f.gz\">5</a>"
        "<a href=\"data:text/html,hi\">6</a>"
        "<a href=\"tel:+100\">7</a>"
        "<a href=\"#top\">8</a>"
        "<a href=\"\">9</a>"
        "<a name=\"anchor\">10</a>"
        "<a href=\"ok.bin\">11</a>",
        &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.url[0], "http://dl.example.test/pub/soft/ok.bin");
    assert_int_equal(l.skipped, 9);
    html_links_free(&l);
}

static void test_area_link_frames(void **state)
{
    (void)state;
    struct html_links l;
    run("<map><area href=\"map.bin\"></map><link rel=alternate href=\"feed.xml\">"
        "<iframe src=\"frame.html\"></iframe><img src=\"not-a-link.png\"><script "
        "src=\"s.js\"></script>",
        &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.url[0], "http://dl.example.test/pub/soft/map.bin");
    assert_string_equal(l.url[1], "http://dl.example.test/pub/soft/feed.xml");
    assert_string_equal(l.url[2], "http://dl.example.test/pub/soft/frame.html");
    html_links_free(&l);
}

static void test_malformed(void **state)
{
    (void)state;
    struct html_links l;
    /* Unclosed tags, unquoted and unterminated attributes, stray '<', a NUL byte. */
    static const char page[] = "<html><body><p><a href=one.bin>x<div><a href='two.bin'"
                               "<table><tr><td><a href=\"three.bin\">< < >><a href=\"fo\0ur";
    assert_int_equal(html_links_extract(page, sizeof(page) - 1, BASE, 100, &l), 0);
    assert_true(l.n >= 2);
    assert_string_equal(l.url[0], "http://dl.example.test/pub/soft/one.bin");
    for (size_t i = 0; i < l.n; i++)
        assert_true(strncmp(l.url[i], "http", 4) == 0);
    html_links_free(&l);
    run("", &l);
    assert_int_equal(l.n, 0);
    html_links_free(&l);
    run("plain text, no markup at all", &l);
    assert_int_equal(l.n, 0);
    html_links_free(&l);
    run("<a href=\"http://[bad/x\">bad</a><a href=\"http://h:99999/\">port</a>", &l);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.bad, 2);
    html_links_free(&l);
}

static void test_bounds(void **state)
{
    (void)state;
    struct html_links l;
    /* A 1 MB attribute: dropped, not copied; the next link survives. */
    size_t big = 1 << 20;
    char *page = malloc(big + 100);
    memcpy(page, "<a href=\"", 9);
    memset(page + 9, 'a', big);
    static const char tail[] = "\">x</a><a href=\"next.bin\">y</a>";
    memcpy(page + 9 + big, tail, sizeof(tail));
    assert_int_equal(html_links_extract(page, strlen(page), BASE, 100, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.dropped, 1);
    assert_string_equal(l.url[0], "http://dl.example.test/pub/soft/next.bin");
    html_links_free(&l);
    free(page);
    /* More links than max_links: the first ones kept, the rest counted. */
    char many[2000] = "";
    size_t o = 0;
    for (int i = 0; i < 50; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "<a href=%d.bin>x</a>", i);
    assert_int_equal(html_links_extract(many, o, BASE, 10, &l), 0);
    assert_int_equal(l.n, 10);
    assert_int_equal(l.dropped, 40);
    assert_string_equal(l.url[9], "http://dl.example.test/pub/soft/9.bin");
    html_links_free(&l);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    struct html_links l;
    size_t depth = 100000;
    char *page = malloc(depth * 5 + 64);
    size_t o = 0;
    for (size_t i = 0; i < depth; i++) {
        memcpy(page + o, "<div>", 5);
        o += 5;
    }
    memcpy(page + o, "<a href=\"deep.bin\">x</a>", 24);
    o += 24;
    assert_int_equal(html_links_extract(page, o, BASE, 100, &l), 0);
    assert_true(l.n <= 1);
    html_links_free(&l);
    free(page);
}

static void test_bad_base(void **state)
{
    (void)state;
    struct html_links l;
    assert_int_equal(html_links_extract("<a href=x>", 10, "relative/path", 10, &l), FS_EINVAL);
    assert_int_equal(html_links_extract("<a href=x>", 10, "ftp://h/", 10, &l), FS_EINVAL);
    assert_int_equal(html_links_extract("<a href=x>", 10, "mailto:a@b", 10, &l), FS_EINVAL);
    char out[64];
    assert_int_equal(html_links_resolve("http://h/a/", "b#c", out, sizeof(out)), 1);
    assert_string_equal(out, "http://h/a/b");
    assert_int_equal(html_links_resolve("http://h:80/a/", "b", out, sizeof(out)), 1);
    assert_string_equal(out, "http://h/a/b");
    assert_int_equal(html_links_resolve("http://h/", "ftp://x/", out, sizeof(out)), 0);
    assert_int_equal(html_links_resolve("http://h/",
                                        "/very/long/path/beyond/the/buffer/of/"
                                        "sixty-four/bytes/in/all",
                                        out, 16),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relative_absolute),
        cmocka_unit_test(test_base_href),
        cmocka_unit_test(test_entities_space_fragment),
        cmocka_unit_test(test_other_schemes_ignored),
        cmocka_unit_test(test_area_link_frames),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_bad_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
