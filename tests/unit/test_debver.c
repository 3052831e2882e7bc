/*
 * Debian version comparison (src/detect/debver.c): the examples of Debian Policy 5.6.12
 * and of dpkg's own documentation, then dpkg --compare-versions as the oracle over pairs
 * of real versions from this machine's apt lists (the Packages files in
 * /var/lib/apt/lists): pairs of versions of one package that the lists hold (up to 600)
 * and 600 pairs of versions of any packages drawn with a fixed seed (one dpkg process
 * per comparison: about 10 s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glob.h>
#include <unistd.h>

#include "detect/catalog.h"
#include "detect/debver.h"
#include "skip.h"

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* a < b, and the comparison is antisymmetric */
static void lt(const char *a, const char *b)
{
    if (debver_cmp(a, b) >= 0 || debver_cmp(b, a) <= 0)
        fail_msg("want %s < %s: cmp %d, reverse %d", a, b, debver_cmp(a, b), debver_cmp(b, a));
}

static void eq(const char *a, const char *b)
{
    if (debver_cmp(a, b) != 0 || debver_cmp(b, a) != 0)
        fail_msg("want %s = %s: cmp %d", a, b, debver_cmp(a, b));
}

static void test_policy(void **state)
{
    (void)state;
    /* Policy 5.6.12: "~" sorts before anything, even the end of a part */
    lt("1.0~rc1", "1.0");
    lt("~~", "~~a");
    lt("~~a", "~");
    lt("~", "");
    lt("", "a");
    lt("1.0~~", "1.0~~a");
    lt("1.0~~a", "1.0~");
    lt("1.0~", "1.0");
    lt("1.0", "1.0a");
    /* letters before non-letters; digits compared as numbers */
    lt("1.0a", "1.0+b1");
    lt("1.0+b1", "1.0.1");
    lt("1.9", "1.10");
    lt("1.09", "1.10");
    eq("1.01", "1.1");
    eq("1.0", "1.00");
    /* the epoch decides first; a missing epoch is 0 */
    lt("1:0.1", "2:0.0");
    lt("9.9", "1:0.0");
    eq("0:1.2-3", "1.2-3");
    lt("99999999999999999999:1", "100000000000000000000:0"); /* longer than 64 bits */
    /* the revision is what follows the last hyphen; none compares as 0 */
    eq("1.0", "1.0-0");
    lt("1.0-1", "1.0-2");
    lt("1.0-2", "1.0-10");
    lt("1.2-3-1", "1.2-4-0"); /* upstream 1.2-3 < 1.2-4 */
    lt("1.0-1", "1.0-1+deb12u1");
    lt("1.0-1+deb12u1", "1.0-1+deb12u2");
    lt("2.36-9+deb12u4", "2.36-9+deb12u10");
    lt("1.0-1~bpo12+1", "1.0-1");
    lt("4.14-8", "1:4.14-8");
    lt("20230208+ds1-1", "20230208+ds1-1.1");
    eq("1.58.2974-1", "1.58.2974-1");
    /* hostile input: no crash, a total order of some kind */
    assert_int_equal(debver_cmp(NULL, ""), 0);
    lt("", "0:0-1");
    (void)debver_cmp("::::", "-:-:-");
    (void)debver_cmp("1:", ":1");
    (void)debver_cmp("\xff\x80~", "\x7f~~");
}

/* Versions of the machine's apt lists, with their package names. */
struct ver {
    const char *name, *version;
};

static int cmp_ver(const void *a, const void *b)
{
    const struct ver *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : strcmp(x->version, y->version);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Ask dpkg about every pair in path ("A B" lines); its answers (-1, 0, 1) into want. */
static void dpkg_oracle(const char *path, int *want, size_t n)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then echo -1; "
             "elif dpkg --compare-versions \"$a\" gt \"$b\"; then echo 1; else echo 0; fi; "
             "done < %s",
             path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t i = 0;
    while (i < n && fscanf(p, "%d", &want[i]) == 1)
        i++;
    assert_int_equal(pclose(p), 0);
    assert_int_equal(i, n);
}

static void test_dpkg_oracle(void **state)
{
    (void)state;
    if (system("dpkg --version >/dev/null 2>&1") != 0)
        FS_SKIP("dpkg not installed");
    glob_t g;
    if (glob("/var/lib/apt/lists/*_Packages*", 0, NULL, &g) != 0 || g.gl_pathc == 0)
        FS_SKIP("no Packages index in /var/lib/apt/lists");
    struct catalog c;
    catalog_init(&c);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *buf;
        size_t len, added, skipped;
        struct fs_err err = { 0 };
        if (catalog_read_file(g.gl_pathv[i], (size_t)1 << 31, &buf, &len, &err) != 0)
            continue;
        catalog_debian_parse(&c, g.gl_pathv[i], buf, len, "", NULL, NULL, &added, &skipped);
        free(buf);
    }
    globfree(&g);
    if (c.n < 100) {
        catalog_free(&c);
        FS_SKIP("fewer than 100 packages in the apt lists");
    }
    struct ver *v = calloc(c.n, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < c.n; i++)
        v[i] = (struct ver){ c.e[i].name, c.e[i].version };
    qsort(v, c.n, sizeof(*v), cmp_ver);
    enum { NSAME = 600, NRAND = 600 };
    const char **pa = calloc(NSAME + NRAND, sizeof(*pa)), **pb = calloc(NSAME + NRAND, sizeof(*pb));
    assert_true(pa && pb);
    size_t n = 0;
    /* versions of one package (adjacent after the sort): the pairs that matter */
    for (size_t i = 1; i < c.n && n < NSAME; i++)
        if (strcmp(v[i].name, v[i - 1].name) == 0 && strcmp(v[i].version, v[i - 1].version)) {
            pa[n] = v[i - 1].version;
            pb[n++] = v[i].version;
        }
    size_t nsame = n;
    while (n < nsame + NRAND) {
        pa[n] = v[next() % c.n].version;
        pb[n++] = v[next() % c.n].version;
    }
    char path[] = "/tmp/test_debver_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s %s\n", pa[i], pb[i]);
    assert_int_equal(fclose(fp), 0);
    int *want = calloc(n, sizeof(*want));
    assert_non_null(want);
    dpkg_oracle(path, want, n);
    unlink(path);
    size_t bad = 0, nlt = 0, ngt = 0;
    for (size_t i = 0; i < n; i++) {
        int got = sign(debver_cmp(pa[i], pb[i]));
        nlt += want[i] < 0;
        ngt += want[i] > 0;
        if (got != want[i] && bad++ < 10)
            print_message("%s vs %s: dpkg %d, debver_cmp %d\n", pa[i], pb[i], want[i], got);
    }
    print_message("%zu pairs (%zu of one package): dpkg says %zu <, %zu >; %zu disagree\n", n,
                  nsame, nlt, ngt, bad);
    assert_int_equal(bad, 0);
    assert_true(nsame >= 100); /* the lists hold several versions of many packages */
    free(want);
    free(pa);
    free(pb);
    free(v);
    catalog_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_dpkg_oracle),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
