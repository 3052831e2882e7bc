/*
 * The control socket: see control.h. Every call on a client socket is non-blocking,
 * so a --status reader that does not read costs the daemon a buffered text, never
 * time on its receive path (a blocking send held the collector's loop while 38,607
 * of 60,001 datagrams overflowed the UDP socket).
 */
#include "control.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

void control_init(struct control *c, const char *who, control_text_fn text, void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->who = who;
    c->fd = -1;
    c->text = text;
    c->ctx = ctx;
}

static int fill_addr(struct sockaddr_un *sa, const char *path, struct fs_err *err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(sa->sun_path))
        return fs_err_set(err, FS_EINVAL, -1, "control socket path too long or empty: %s", path);
    memcpy(sa->sun_path, path, len + 1);
    return 0;
}

/*
 * bind found path taken: 0 when it was a stale socket (removed now), else an error.
 * Only a socket that refuses connections is stale; nothing else at path is touched.
 */
static int clear_stale(const struct control *c, const struct sockaddr_un *sa, const char *path,
                       struct fs_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT
                   ? 0
                   : fs_err_set(err, -errno, -1, "control socket %s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return fs_err_set(err, FS_EINVAL, -1,
                          "control socket %s: something that is not a socket is there "
                          "(remove it or give another --control)",
                          path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return fs_err_set(err, -errno, -1, "control socket %s: %s", path, strerror(errno));
    int live = connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    int e = errno;
    close(probe);
    if (live)
        return fs_err_set(err, FS_EINVAL, -1, "another %s runs on %s", c->who, path);
    if (e != ECONNREFUSED)
        return fs_err_set(err, -e, -1, "control socket %s: %s", path, strerror(e));
    if (unlink(path) != 0 && errno != ENOENT)
        return fs_err_set(err, -errno, -1, "stale control socket %s: %s", path, strerror(errno));
    return 0;
}

int control_open(struct control *c, const char *path, struct fs_err *err)
{
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path, err);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fs_err_set(err, -errno, -1, "control socket %s: %s", path, strerror(errno));
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc != 0 && errno == EADDRINUSE) {
        rc = clear_stale(c, &sa, path, err);
        if (rc) {
            close(fd);
            return rc;
        }
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (rc != 0 || listen(fd, CONTROL_CLIENTS) != 0) {
        int e = errno;
        close(fd);
        if (rc == 0)
            unlink(path);
        return fs_err_set(err, -e, -1, "control socket %s: %s", path, strerror(e));
    }
    c->fd = fd;
    c->path = xstrdup(path);
    return 0;
}

int control_pollfds(const struct control *c, struct pollfd *pfd)
{
    pfd[0] = (struct pollfd){ c->fd, POLLIN, 0 };
    for (int i = 0; i < c->ncl; i++)
        pfd[1 + i] = (struct pollfd){ c->cl[i].fd, POLLOUT, 0 };
    return 1 + c->ncl;
}

static void drop_client(struct control *c, int i)
{
    close(c->cl[i].fd);
    free(c->cl[i].text);
    c->cl[i] = c->cl[--c->ncl];
}

/* Write what the socket takes now; 1 when the client is done (all sent, or gone). */
static int client_write(struct control_client *cl, uint64_t now_ms)
{
    while (cl->off < cl->len) {
        ssize_t n =
            send(cl->fd, cl->text + cl->off, cl->len - cl->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK;
        cl->off += (size_t)n;
        cl->progress_ms = now_ms;
    }
    return 1;
}

static void client_add(struct control *c, int fd, uint64_t now_ms)
{
    if (c->ncl == CONTROL_CLIENTS || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        c->refused++;
        close(fd);
        return;
    }
    struct control_client *cl = &c->cl[c->ncl++];
    *cl = (struct control_client){ .fd = fd, .progress_ms = now_ms };
    FILE *m = open_memstream(&cl->text, &cl->len);
    if (m) {
        c->text(c->ctx, m);
        fclose(m);
    }
    c->served++;
    if (!cl->text || client_write(cl, now_ms))
        drop_client(c, c->ncl - 1);
}

void control_serve(struct control *c, const struct pollfd *pfd, int n, uint64_t now_ms)
{
    if (c->fd < 0)
        return;
    for (int i = c->ncl - 1; i >= 0; i--) {
        int ready = !pfd || (1 + i < n && pfd[1 + i].fd == c->cl[i].fd && pfd[1 + i].revents);
        if (ready && client_write(&c->cl[i], now_ms))
            drop_client(c, i);
        else if (now_ms - c->cl[i].progress_ms > CONTROL_STALL_MS) {
            c->stalled++;
            drop_client(c, i);
        }
    }
    if (pfd && (n < 1 || !(pfd[0].revents & POLLIN)))
        return;
    for (int k = 0; k < CONTROL_CLIENTS; k++) {
        int fd = accept(c->fd, NULL, NULL);
        if (fd < 0)
            break;
        client_add(c, fd, now_ms);
    }
}

void control_close(struct control *c)
{
    while (c->ncl)
        drop_client(c, c->ncl - 1);
    if (c->fd >= 0) {
        close(c->fd);
        unlink(c->path);
    }
    c->fd = -1;
    free(c->path);
    c->path = NULL;
}

int control_client(const char *path, const char *who, FILE *out, struct fs_err *err)
{
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path, err);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return fs_err_set(err, -e, -1, "no %s answers on %s: %s", who, path, strerror(e));
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, out);
    int e = errno;
    close(fd);
    if (n < 0)
        return fs_err_set(err, -e, -1, "%s: %s", path, strerror(e));
    return 0;
}
