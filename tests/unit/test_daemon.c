/*
 * src/daemon: the pid file (created exclusively, never through a link; a stale one
 * replaced, a live one refused; removed through its folder) and the control socket
 * (only a dead socket is stale; anything else at the path is an error and stays; a
 * client that does not read never blocks control_serve, and is dropped once stalled).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/control.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fs-test-daemon.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void read_text(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, len - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

static void test_pidfile(void **state)
{
    (void)state;
    char path[128], text[64], want[32];
    path_in(path, sizeof(path), "x.pid");
    struct daemon_pidfile pf, pf2;
    struct fs_err e = { 0 };
    assert_int_equal(daemon_pidfile_write(&pf, path, &e), 0);
    read_text(path, text, sizeof(text));
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    assert_string_equal(text, want);
    /* our own pid is live: refused, the file stays */
    assert_true(daemon_pidfile_write(&pf2, path, &e) < 0);
    assert_non_null(strstr(e.msg, path));
    read_text(path, text, sizeof(text));
    assert_string_equal(text, want);
    assert_int_equal(daemon_pidfile_remove(&pf), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(daemon_pidfile_remove(&pf), 0); /* a second time: nothing */
}

static void test_pidfile_stale(void **state)
{
    (void)state;
    char path[128], text[64], buf[32];
    path_in(path, sizeof(path), "stale.pid");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    snprintf(buf, sizeof(buf), "%ld\n", (long)child);
    write_text(path, buf);
    struct daemon_pidfile pf;
    struct fs_err e = { 0 };
    assert_int_equal(daemon_pidfile_write(&pf, path, &e), 0);
    read_text(path, text, sizeof(text));
    snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    assert_string_equal(text, buf);
    assert_int_equal(daemon_pidfile_remove(&pf), 0);
}

static void test_pidfile_link(void **state)
{
    (void)state;
    char path[128], target[128], text[64];
    path_in(path, sizeof(path), "link.pid");
    path_in(target, sizeof(target), "precious");
    write_text(target, "precious\n");
    assert_int_equal(symlink(target, path), 0);
    struct daemon_pidfile pf;
    struct fs_err e = { 0 };
    assert_true(daemon_pidfile_write(&pf, path, &e) < 0);
    assert_non_null(strstr(e.msg, path));
    read_text(target, text, sizeof(text));
    assert_string_equal(text, "precious\n");
    /* a dangling link must not create its target either */
    char dangling[128], nowhere[128];
    path_in(dangling, sizeof(dangling), "dangling.pid");
    path_in(nowhere, sizeof(nowhere), "nowhere");
    assert_int_equal(symlink(nowhere, dangling), 0);
    assert_true(daemon_pidfile_write(&pf, dangling, &e) < 0);
    assert_int_equal(access(nowhere, F_OK), -1);
}

static size_t big_len;

/* A text far larger than a UNIX socket buffers: big_len bytes (a multiple of 64). */
static void big_text(void *ctx, FILE *out)
{
    (void)ctx;
    char line[64];
    memset(line, 'x', sizeof(line));
    line[63] = '\n';
    for (size_t i = 0; i < big_len; i += sizeof(line))
        fwrite(line, 1, sizeof(line), out);
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_control_not_socket(void **state)
{
    (void)state;
    char path[128], text[64];
    path_in(path, sizeof(path), "file.sock");
    write_text(path, "keep\n");
    struct control c;
    struct fs_err e = { 0 };
    control_init(&c, "test", big_text, NULL);
    assert_true(control_open(&c, path, &e) < 0);
    assert_non_null(strstr(e.msg, path));
    read_text(path, text, sizeof(text));
    assert_string_equal(text, "keep\n");
    control_close(&c);
}

static void test_control_stale_and_live(void **state)
{
    (void)state;
    char path[128];
    path_in(path, sizeof(path), "c.sock");
    /* a socket bound and closed without unlink: stale */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int old = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(old, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(old);
    struct control c, c2;
    struct fs_err e = { 0 };
    control_init(&c, "test", big_text, NULL);
    assert_int_equal(control_open(&c, path, &e), 0);
    control_init(&c2, "test", big_text, NULL);
    assert_true(control_open(&c2, path, &e) < 0);
    assert_non_null(strstr(e.msg, "another test runs on"));
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    control_close(&c2);
    control_close(&c);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_control_slow_reader(void **state)
{
    (void)state;
    char path[128];
    path_in(path, sizeof(path), "slow.sock");
    big_len = 4u << 20;
    struct control c;
    struct fs_err e = { 0 };
    control_init(&c, "test", big_text, NULL);
    assert_int_equal(control_open(&c, path, &e), 0);
    int r1 = connect_to(path), r2 = connect_to(path);
    uint64_t t0 = mono_ms();
    struct pollfd pfd[1 + CONTROL_CLIENTS];
    int n = control_pollfds(&c, pfd);
    assert_int_equal(poll(pfd, (nfds_t)n, 1000), 1);
    control_serve(&c, pfd, n, 1000);
    for (int i = 0; i < 10; i++)
        control_serve(&c, NULL, 0, 1000 + (uint64_t)i);
    /* neither reader read: both wait with their text, and serving took no time */
    assert_true(mono_ms() - t0 < 500);
    assert_int_equal(c.ncl, 2);
    assert_int_equal(c.served, 2);
    /* one reads everything now: it gets the whole text */
    size_t got = 0;
    char buf[65536];
    int flags = fcntl(r1, F_GETFL);
    fcntl(r1, F_SETFL, flags | O_NONBLOCK);
    for (int rounds = 0; rounds < 100000; rounds++) {
        ssize_t k = read(r1, buf, sizeof(buf));
        if (k == 0)
            break;
        if (k > 0)
            got += (size_t)k;
        control_serve(&c, NULL, 0, 2000);
    }
    assert_int_equal(got, big_len);
    /* the other is dropped once it took nothing for CONTROL_STALL_MS */
    assert_int_equal(c.ncl, 1);
    control_serve(&c, NULL, 0, 2000 + CONTROL_STALL_MS + 1);
    assert_int_equal(c.ncl, 0);
    assert_int_equal(c.stalled, 1);
    close(r1);
    close(r2);
    control_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pidfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pidfile_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pidfile_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_not_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_stale_and_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_slow_reader, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
