/* Files replaced whole or not at all (src/core/atomic_file.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/atomic_file.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/fs-test-atomic-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* Entries of dir besides . and .. */
static int entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_write_and_replace(void **state)
{
    (void)state;
    char path[128], buf[64];
    struct fs_err err = { 0 };
    snprintf(path, sizeof(path), "%s/cat", dir);
    assert_int_equal(atomic_file_write(path, "one\n", 4, &err), 0);
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "one\n");
    assert_int_equal(atomic_file_write(path, "two\n", 4, &err), 0);
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "two\n");
    assert_int_equal(entries(), 1); /* no temp file left */
    unlink(path);
}

/* A failed commit leaves the old file as it was and no temp file; the error names
 * the user's path and the step. */
static void test_failure_keeps_old(void **state)
{
    (void)state;
    char path[128];
    struct fs_err err = { 0 };
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0); /* rename onto a folder fails */
    assert_int_not_equal(atomic_file_write(path, "x", 1, &err), 0);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "rename"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(entries(), 1);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/missing/cat", dir);
    assert_int_not_equal(atomic_file_write(path, "x", 1, &err), 0);
    assert_non_null(strstr(err.msg, "create"));
}

/* A link planted at the temp name is replaced, never followed. */
static void test_planted_link(void **state)
{
    (void)state;
    char path[128], tmp[160], target[128], buf[64];
    struct fs_err err = { 0 };
    snprintf(path, sizeof(path), "%s/cat", dir);
    snprintf(target, sizeof(target), "%s/victim", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(target, "w");
    assert_non_null(fp);
    fputs("victim\n", fp);
    fclose(fp);
    assert_int_equal(symlink(target, tmp), 0);
    assert_int_equal(atomic_file_write(path, "new\n", 4, &err), 0);
    slurp(target, buf, sizeof(buf));
    assert_string_equal(buf, "victim\n");
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "new\n");
    unlink(path);
    unlink(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_replace),
        cmocka_unit_test(test_failure_keeps_old),
        cmocka_unit_test(test_planted_link),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
