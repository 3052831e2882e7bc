/*
 * Detach, drop root, pid file: see daemon.h for the order and why nothing here
 * follows a planted link.
 */
#include "daemon.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

int daemon_fork(int *ready, struct fs_err *err)
{
    int p[2];
    if (pipe(p) != 0)
        return fs_err_set(err, -errno, -1, "-D: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return fs_err_set(err, -e, -1, "-D: fork: %s", strerror(e));
    }
    if (pid > 0) {
        char c = 0;
        close(p[1]);
        ssize_t n;
        while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
            ;
        close(p[0]);
        return n == 1 && c == 'r' ? 1 : 2;
    }
    close(p[0]);
    setsid();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    *ready = p[1];
    return 0;
}

void daemon_ready(int ready, int ok)
{
    /* Without NOTIFY_SOCKET (not under systemd) sd_notify does nothing. */
    if (ok)
        sd_notifyf(0, "READY=1\nMAINPID=%ld", (long)getpid());
    if (ready < 0)
        return;
    if (ok && write(ready, "r", 1) != 1) {
        /* the parent is gone: nobody waits for the verdict */
    }
    close(ready);
}

void daemon_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

int daemon_drop(const char *user, struct fs_err *err)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return fs_err_set(err, FS_EINVAL, -1, "-u: no user '%s'", user);
    uid_t uid = pw->pw_uid;
    gid_t g = pw->pw_gid;
    if (setgroups(1, &g) != 0 || setgid(g) != 0 || setuid(uid) != 0)
        return fs_err_set(err, -errno, -1, "-u %s: %s", user, strerror(errno));
    if (uid != 0 && setuid(0) == 0)
        return fs_err_set(err, FS_EINVAL, -1, "-u %s: root privileges remain", user);
    return 0;
}

/* The folder part of path opened (O_PATH would do, but O_DIRECTORY reads clearer). */
static int open_parent(const char *path, char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *name = xstrdup(path);
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    *name = xstrdup(slash + 1);
    if (slash == path)
        return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t n = (size_t)(slash - path);
    char *dir = xmalloc(n + 1);
    memcpy(dir, path, n);
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    return fd;
}

/*
 * An existing entry at name: 0 when it is a stale pid file (a regular file naming no
 * live process) and may be replaced, else an error that says what is there.
 */
static int stale_pidfile(int dirfd, const char *name, const char *path, struct fs_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fs_err_set(err, FS_EINVAL, -1, "%s exists and is not a regular file", path);
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    if (pid > 0 && end != buf && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
        return fs_err_set(err, FS_EINVAL, -1, "%s names process %ld, which runs", path, pid);
    return 0;
}

/* Create name exclusively, once more after removing a stale file; the fd or an error. */
static int create_excl(int dirfd, const char *name, const char *path, struct fs_err *err)
{
    for (int attempt = 0;; attempt++) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST || attempt > 0)
            return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
        int rc = stale_pidfile(dirfd, name, path, err);
        if (rc)
            return rc;
        if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
            return fs_err_set(err, -errno, -1, "stale %s: %s", path, strerror(errno));
    }
}

int daemon_pidfile_write(struct daemon_pidfile *pf, const char *path, struct fs_err *err)
{
    pf->dirfd = -1;
    pf->name = NULL;
    char *name;
    int dirfd = open_parent(path, &name);
    if (dirfd < 0) {
        int e = errno;
        free(name);
        return fs_err_set(err, -e, -1, "%s: folder: %s", path, strerror(e));
    }
    int fd = create_excl(dirfd, name, path, err);
    if (fd < 0) {
        close(dirfd);
        free(name);
        return fd;
    }
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    ssize_t n = write(fd, buf, (size_t)len);
    int e = n < 0 ? errno : EIO; /* a short write sets no errno */
    int ok = n == len;
    if (close(fd) != 0 && ok) {
        e = errno;
        ok = 0;
    }
    if (!ok) {
        unlinkat(dirfd, name, 0);
        close(dirfd);
        free(name);
        return fs_err_set(err, -e, -1, "%s: %s", path, strerror(e));
    }
    pf->dirfd = dirfd;
    pf->name = name;
    return 0;
}

int daemon_pidfile_remove(struct daemon_pidfile *pf)
{
    if (pf->dirfd < 0)
        return 0;
    int rc = unlinkat(pf->dirfd, pf->name, 0) == 0 ? 0 : -errno;
    close(pf->dirfd);
    free(pf->name);
    pf->dirfd = -1;
    pf->name = NULL;
    return rc;
}

void daemon_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}
