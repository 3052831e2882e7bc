/*
 * FS_SKIP(reason): skip a cmocka test whose input or device is missing, naming why.
 * cmocka's skip() exits 0, so a skipped test looks like a passed one; where the suite
 * has everything it needs (CI sets FS_NO_SKIP=1) a skip would hide a regression, so
 * there it fails instead.
 */
#ifndef FS_TEST_SKIP_H
#define FS_TEST_SKIP_H

#include <stdlib.h>

#define FS_SKIP(reason)                                                       \
    do {                                                                      \
        if (getenv("FS_NO_SKIP"))                                             \
            fail_msg("would skip, but FS_NO_SKIP is set (CI): %s", (reason)); \
        print_message("SKIP: %s\n", (reason));                                \
        skip();                                                               \
    } while (0)

#endif
