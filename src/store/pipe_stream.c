#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include "pipe_stream.h"

#include "../core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FD_PATH_MAX 32

int pipe_stream_make(int *rfd, int *wfd, struct fs_err *err)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return fs_err_set(err, -errno, -1, "pipe: %s", strerror(errno));
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
    *rfd = pfd[0];
    *wfd = pfd[1];
    return 0;
}

char *pipe_stream_path(int rfd)
{
    char *p = xmalloc(FD_PATH_MAX);
    snprintf(p, FD_PATH_MAX, "/dev/fd/%d", rfd);
    return p;
}

int pipe_stream_writer(struct store_writer **w, int wfd, struct fs_err *err)
{
    char path[FD_PATH_MAX];
    struct store_wopts wo = { .codec = STORE_NONE };
    snprintf(path, sizeof(path), "/dev/fd/%d", wfd);
    int rc = store_writer_open(w, path, &wo, err);
    close(wfd);
    return rc;
}
