/* Unit tests of flowsleuth watch's state (analytics/watch.h): files handled and late
 * ones, the alert hold, a save/load round trip with an awkward path, and the damaged
 * state files that must not be trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN 60000ULL

static void files_and_horizon(void **unused)
{
    (void)unused;
    struct watch_state s;
    watch_state_init(&s);
    assert_int_equal(watch_file_done(&s, "a/flows.1", 10 * MIN), 0);
    watch_file_mark(&s, "a/flows.1", 10 * MIN);
    assert_int_equal(watch_file_done(&s, "a/flows.1", 10 * MIN), 1);
    /* a late file of the same bin is new */
    assert_int_equal(watch_file_done(&s, "a/flows.1.1", 10 * MIN), 0);
    /* past the horizon: taken as handled */
    uint64_t now = 10 * MIN + WATCH_KEEP_MS + MIN;
    watch_file_mark(&s, "b/flows.2", now);
    assert_int_equal(watch_file_done(&s, "a/flows.1.2", 10 * MIN), 1);
    watch_state_prune(&s, now);
    assert_int_equal(s.nfiles, 1);
    assert_int_equal(s.last_ms, now);
    watch_state_free(&s);
}

static void hold(void **unused)
{
    (void)unused;
    struct watch_state s;
    watch_state_init(&s);
    assert_int_equal(watch_alert_due(&s, "scan 192.0.2.7", 0, 60 * MIN), 1);
    assert_int_equal(watch_alert_due(&s, "scan 192.0.2.7", 59 * MIN, 60 * MIN), 0);
    assert_int_equal(watch_alert_due(&s, "scan 192.0.2.8", 59 * MIN, 60 * MIN), 1);
    assert_int_equal(watch_alert_due(&s, "scan 192.0.2.7", 60 * MIN, 60 * MIN), 1);
    assert_int_equal(watch_alert_due(&s, "scan 192.0.2.7", 61 * MIN, 60 * MIN), 0);
    watch_state_prune(&s, 119 * MIN + 1); /* .8 held until 119 min: gone */
    assert_int_equal(s.nkeys, 1);
    watch_state_free(&s);
}

static void round_trip(void **unused)
{
    (void)unused;
    char path[] = "/tmp/fs-test-watch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct watch_state s, t;
    struct fs_err e = { 0 };
    watch_state_init(&s);
    watch_state_init(&t);
    watch_file_mark(&s, "odd dir/100%/flows.202611170550", 5 * MIN);
    watch_alert_due(&s, "services 10.0.0.1 tcp 22", 5 * MIN, MIN);
    s.have_judged = 1;
    s.judged_ms = 3 * MIN;
    assert_int_equal(watch_state_save(&s, path, &e), 0);
    assert_int_equal(watch_state_load(&t, path, &e), 0);
    assert_int_equal(t.have_last, 1);
    assert_int_equal(t.last_ms, 5 * MIN);
    assert_int_equal(t.have_judged, 1);
    assert_int_equal(t.judged_ms, 3 * MIN);
    assert_int_equal(t.nfiles, 1);
    assert_string_equal(t.files[0].rel, "odd dir/100%/flows.202611170550");
    assert_int_equal(t.nkeys, 1);
    assert_string_equal(t.keys[0].key, "services 10.0.0.1 tcp 22");
    assert_int_equal(t.keys[0].until_ms, 6 * MIN);
    watch_state_free(&s);
    watch_state_free(&t);
    unlink(path);
}

/* Each text must be refused, with the state left empty. */
static void damaged(void **unused)
{
    (void)unused;
    static const char *const bad[] = {
        "",
        "flowsleuth-watch 1",                                 /* cut short: no newline */
        "flowsleuth-blocklist 1\n",                           /* another file */
        "flowsleuth-watch 2\n",                               /* a later version */
        "flowsleuth-watch 1\nlast 12x\n",                     /* not a number */
        "flowsleuth-watch 1\nfile 5 a b\n",                   /* two words */
        "flowsleuth-watch 1\nfile 5 a%zz\n",                  /* bad escape */
        "flowsleuth-watch 1\nfile 5 a%00\n",                  /* a NUL */
        "flowsleuth-watch 1\nalert 5\n",                      /* no key */
        "flowsleuth-watch 1\nlast 5\nwhat 1\n",               /* unknown line */
        "flowsleuth-watch 1\njudged -5\n",                    /* not a number */
        "flowsleuth-watch 1\nalert 99999999999999999999 k\n", /* too large */
    };
    char path[] = "/tmp/fs-test-watch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(bad[i], fp);
        fclose(fp);
        struct watch_state s;
        struct fs_err e = { 0 };
        watch_state_init(&s);
        int rc = watch_state_load(&s, path, &e);
        if (rc != FS_ECORRUPT && rc != FS_EVERSION)
            fail_msg("case %zu: rc %d", i, rc);
        assert_non_null(strstr(e.msg, path));
        assert_int_equal(s.nfiles + s.nkeys + (size_t)s.have_last, 0);
        watch_state_free(&s);
    }
    struct watch_state s;
    struct fs_err e = { 0 };
    watch_state_init(&s);
    unlink(path);
    assert_int_equal(watch_state_load(&s, path, &e), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_and_horizon),
        cmocka_unit_test(hold),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
