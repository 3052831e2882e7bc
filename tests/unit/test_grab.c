/*
 * The grabber's pure helpers: Content-Range totals, HTML content types, file names
 * from URLs, product/version guesses from file names. The crawl itself is tested
 * against nginx and a hostile server in tests/e2e/065-catalog-grab.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "grab/grab.h"

static void test_content_range(void **state)
{
    (void)state;
    uint64_t t = 0;
    assert_int_equal(grab_content_range("bytes 0-0/1234", &t), 0);
    assert_int_equal(t, 1234);
    assert_int_equal(grab_content_range("bytes */0", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(grab_content_range("Bytes  0-0/18446744073709551615", &t), 0);
    assert_true(t == UINT64_MAX);
    assert_int_equal(grab_content_range("bytes 0-0/18446744073709551616", &t), -1);
    assert_int_equal(grab_content_range("bytes 0-0/*", &t), -1);
    assert_int_equal(grab_content_range("bytes 0-0/abc", &t), -1);
    assert_int_equal(grab_content_range("bytes 5-1/10", &t), -1);
    assert_int_equal(grab_content_range("bytes 0-0/-5", &t), -1);
    assert_int_equal(grab_content_range("bytes 0-0/12x", &t), -1);
    assert_int_equal(grab_content_range("items 0-0/12", &t), -1);
    assert_int_equal(grab_content_range("", &t), -1);
}

static void test_is_html(void **state)
{
    (void)state;
    assert_true(grab_is_html("text/html"));
    assert_true(grab_is_html("Text/HTML; charset=utf-8"));
    assert_true(grab_is_html("application/xhtml+xml"));
    assert_false(grab_is_html("text/html5"));
    assert_false(grab_is_html("text/plain"));
    assert_false(grab_is_html("application/octet-stream"));
    assert_false(grab_is_html(""));
    assert_false(grab_is_html(NULL));
}

static void name_is(const char *url, const char *want)
{
    char out[64];
    grab_file_name(url, out, sizeof(out));
    assert_string_equal(out, want);
}

static void test_file_name(void **state)
{
    (void)state;
    name_is("http://h/a/b/foo-1.2.tar.gz", "foo-1.2.tar.gz");
    name_is("http://h/a/b/foo.zip?token=1#x", "foo.zip");
    name_is("http://h/dir/", "dir");
    name_is("http://h:8080", "h:8080");
    name_is("http://h/", "h");
    name_is("http://h/My%20File.iso", "My File.iso");
    name_is("http://h/a%2Fb%00c", "a%2Fb%00c"); /* no '/' or NUL from decoding */
    name_is("http://h/%zz%4", "%zz%4");
    char tiny[4];
    grab_file_name("http://h/abcdefgh", tiny, sizeof(tiny));
    assert_string_equal(tiny, "abc");
}

static void guess_is(const char *name, const char *product, const char *version)
{
    char p[32], v[32];
    grab_guess(name, p, sizeof(p), v, sizeof(v));
    assert_string_equal(p, product);
    assert_string_equal(v, version);
}

static void test_guess(void **state)
{
    (void)state;
    guess_is("foo-1.2.3.tar.gz", "foo", "1.2.3");
    guess_is("foo-bar-1.2.3-linux-x64.tar.gz", "foo-bar", "1.2.3");
    guess_is("tool_2.5.1_amd64.deb", "tool", "2.5.1");
    guess_is("node-v20.11.0-linux-x64.tar.xz", "node", "20.11.0");
    guess_is("app-4.0.zip", "app", "4.0");
    guess_is("pkg-1.0rc2.tar.gz", "pkg", "1.0rc2");
    guess_is("pkg-2.1-beta3.exe", "pkg", "2.1-beta3");
    guess_is("python-3.12.0-amd64.exe", "python", "3.12.0");
    guess_is("lib2-3-0.4.1.zip", "lib2-3", "0.4.1");
    guess_is("foo-1.2.3", "foo", "1.2.3");
    guess_is("foo-1.2.3.linux.tar.gz", "foo", "1.2.3");
    guess_is("arc-0.9.7z", "arc", "0.9");
    /* Not clear: no separator, a single number, a leading digit, junk after. */
    guess_is("setup.exe", "", "");
    guess_is("foo-2024.zip", "", "");
    guess_is("2fa-1.0.zip", "", "");
    guess_is("foo-1.2.3x.zip", "", "");
    guess_is("-1.0.zip", "", "");
    guess_is("My File.iso", "", "");
    guess_is("", "", "");
    /* Bounded outputs. */
    char p[4], v[3];
    grab_guess("longproduct-10.20.30.tgz", p, sizeof(p), v, sizeof(v));
    assert_string_equal(p, "lon");
    assert_string_equal(v, "10");
}

static void test_defaults(void **state)
{
    (void)state;
    struct grab_opts o;
    grab_opts_default(&o);
    assert_int_equal(o.depth, 2);
    assert_true(o.min_size == 1u << 20);
    assert_int_equal(o.delay_ms, 100);
    assert_false(o.other_hosts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_range), cmocka_unit_test(test_is_html),
        cmocka_unit_test(test_file_name),     cmocka_unit_test(test_guess),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
