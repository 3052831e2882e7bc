#define _GNU_SOURCE /* memfd_create */
#include "memfile.h"

#include <stdio.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

int memfile_open(const char *name, const uint8_t *data, size_t size, char path[MEMFILE_PATH_MAX])
{
    int fd = memfd_create(name, 0);
    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, MEMFILE_PATH_MAX, "/proc/self/fd/%d", fd);
    return fd;
}
