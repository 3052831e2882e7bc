/*
 * What a long-running command (collect, meter -i) needs to run as a daemon: detach
 * (-D), drop root (-u USER), and a pid file (--pid-file) that no planted link can
 * redirect. The order a command follows, once its privileged sockets are open:
 *
 *   daemon_fork   -> the parent waits for the child's "ready" and exits with its verdict
 *   daemon_drop   -> USER's groups, group and user; root cannot be regained
 *   daemon_pidfile_write -> written as USER (after the drop), so USER can remove it at
 *                   exit: its folder must be writable by USER when -u is given
 *   control_open (control.h) -> the control socket, created by USER
 *   daemon_ready  -> the parent exits 0; systemd (Type=notify) hears READY=1
 *
 * Nothing here follows a path's last component as root: the pid file is opened with
 * O_NOFOLLOW | O_EXCL, and the control socket is bound after the drop, so no chown of
 * a path is ever needed.
 *
 * Ownership: struct daemon_pidfile is caller storage; daemon_pidfile_remove frees
 * what daemon_pidfile_write allocated. Errors are negative codes (-errno, FS_E*) with
 * a message in struct fs_err; nothing here prints or exits, except that the parent of
 * daemon_fork returns to the caller, who must _exit() as told.
 */
#ifndef FS_DAEMON_H
#define FS_DAEMON_H

#include "../core/err.h"

/*
 * Fork. In the child: starts a session, stdin and stdout become /dev/null (stderr
 * stays, for a log), *ready is the pipe to daemon_ready, returns 0. In the parent:
 * waits until the child is ready or gone and returns 1 (ready: exit 0) or 2 (the child
 * failed: exit 1); the caller then calls _exit. A negative code when fork fails.
 */
int daemon_fork(int *ready, struct fs_err *err);

/* Tell the waiting parent that start-up worked (ok) or not, and close the pipe (ready
 * < 0: no parent waits). Under systemd (NOTIFY_SOCKET set) ok also sends READY=1 with
 * our pid, so a Type=notify unit is "active" only once every socket is bound. */
void daemon_ready(int ready, int ok);

/* Tell systemd (when it asked) that a stop has begun: the final drain may take a while. */
void daemon_stopping(void);

/* The signals of a long-running command: SIGINT and SIGTERM stop it, SIGHUP rotates;
 * handler sees which (it may only set flags). */
void daemon_signals(void (*handler)(int));

/* Switch to USER, its group and only that group; fails if root can be regained. */
int daemon_drop(const char *user, struct fs_err *err);

struct daemon_pidfile {
    int dirfd;  /* the folder the file was created in, -1 when none */
    char *name; /* its name in that folder */
};

/*
 * Create path holding our pid: never through a symbolic link, never over an existing
 * file, except a regular pid file whose process is gone (stale), which is removed
 * first. A live process named in it, or anything but a regular file, is an error.
 */
int daemon_pidfile_write(struct daemon_pidfile *pf, const char *path, struct fs_err *err);

/* Remove the pid file written by daemon_pidfile_write (no-op when none); 0 or -errno. */
int daemon_pidfile_remove(struct daemon_pidfile *pf);

#endif
