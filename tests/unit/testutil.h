/*
 * Pieces the unit tests share (linked into each): a flow between two addresses, and a
 * temp folder for the files a test group writes (lists, databases), made in its setup
 * and removed in its teardown. Failures fail the calling test, as cmocka's asserts do.
 */
#ifndef FS_TEST_TESTUTIL_H
#define FS_TEST_TESTUTIL_H

#include <stddef.h>

#include "core/flow.h"

/* A flow from src to dst (addresses as text, either family), everything else zero. */
struct flow tu_flow(const char *src, const char *dst);

/* Make the folder /tmp/fs-test-TAG.XXXXXX. */
void tu_dir_make(const char *tag);

/* Remove the folder and all in it: 0, or -1. */
int tu_dir_remove(void);

/* The path of NAME in the folder; the last four returned stay valid. */
const char *tu_path(const char *name);

/* Write len bytes of data to NAME in the folder: its path, as tu_path. */
const char *tu_write(const char *name, const void *data, size_t len);

#endif
