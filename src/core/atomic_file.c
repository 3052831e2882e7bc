#include "atomic_file.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void release(struct atomic_file *af)
{
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
    af->fp = NULL;
}

int atomic_file_open(struct atomic_file *af, const char *path, struct fs_err *err)
{
    size_t n = strlen(path) + 32;
    af->path = xstrdup(path);
    af->tmp = xmalloc(n);
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    unlink(af->tmp); /* ours from an earlier run of this pid, or nothing */
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    af->fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!af->fp) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        fs_err_set(err, -e, -1, "%s: create: %s", path, strerror(e));
        release(af);
        return -1;
    }
    return 0;
}

/* The folder of path, synced so the rename itself survives a crash. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrdup(path) : xstrdup(".");
    if (slash)
        dir[slash == path ? 1 : slash - path] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int atomic_file_commit(struct atomic_file *af, struct fs_err *err)
{
    const char *step = "write";
    int e = 0;
    if (fflush(af->fp) != 0 || ferror(af->fp))
        e = errno ? errno : EIO;
    else if (fsync(fileno(af->fp)) != 0)
        e = errno, step = "fsync";
    if (fclose(af->fp) != 0 && !e)
        e = errno ? errno : EIO, step = "close";
    if (!e && rename(af->tmp, af->path) != 0)
        e = errno, step = "rename";
    if (e) {
        unlink(af->tmp);
        fs_err_set(err, -e, -1, "%s: %s: %s", af->path, step, strerror(e));
        release(af);
        return -1;
    }
    sync_folder(af->path);
    release(af);
    return 0;
}

void atomic_file_abort(struct atomic_file *af)
{
    if (af->fp)
        fclose(af->fp);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}

int atomic_file_write(const char *path, const void *buf, size_t len, struct fs_err *err)
{
    struct atomic_file af;
    if (atomic_file_open(&af, path, err) != 0)
        return -1;
    if (len && fwrite(buf, 1, len, af.fp) != len) {
        int e = errno ? errno : EIO;
        atomic_file_abort(&af);
        return fs_err_set(err, -e, -1, "%s: write: %s", path, strerror(e));
    }
    return atomic_file_commit(&af, err);
}
