/*
 * For fuzz targets whose code under test reads a path, not bytes: the input as a memfd,
 * named by its /proc/self/fd path (no file on disk, nothing left behind by a crash).
 */
#ifndef FS_FUZZ_MEMFILE_H
#define FS_FUZZ_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

#define MEMFILE_PATH_MAX 64

/* The descriptor (close it when done) with its path in path, or -1 when it cannot be made. */
int memfile_open(const char *name, const uint8_t *data, size_t size, char path[MEMFILE_PATH_MAX]);

#endif
