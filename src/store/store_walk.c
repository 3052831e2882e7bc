/*
 * Store folder walk (store_walk.h): a dirfd walk that never follows a symlink below
 * the root, and open / unlink / rmdir through openat chains for the same reason.
 */
#include "store_walk.h"
#include "../core/xalloc.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct wctx {
    struct store_walk *w;
    int want_tmp;
};

/* ".flows.NAME.tmp.PID.K": the pid, or 0 when the name is not a writer's temp file. */
static long tmp_pid(const char *s)
{
    if (strncmp(s, ".flows.", 7) != 0)
        return 0;
    const char *t = strstr(s, ".tmp.");
    if (!t)
        return 0;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    if (end == t + 5 || *end != '.' || pid <= 0)
        return 0;
    return pid;
}

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static void push(struct store_walk_file **v, size_t *n, size_t *cap,
                 const struct store_walk_file *f)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = *f;
}

/* One entry of the folder dfd (path dir, rel_off: where the root's part ends). */
static void walk_dir(struct wctx *c, int dfd, const char *dir, size_t rel_off, int depth);

static void walk_entry(struct wctx *c, int dfd, const char *dir, size_t rel_off, int depth,
                       const char *nm)
{
    struct store_walk *w = c->w;
    struct stat st;
    long pid = nm[0] == '.' ? tmp_pid(nm) : 0;
    if (nm[0] == '.' && (!pid || !c->want_tmp))
        return;
    if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return; /* vanished meanwhile */
    if (S_ISLNK(st.st_mode)) {
        w->skipped_links++;
        return;
    }
    struct store_walk_file f = { .bytes = (uint64_t)st.st_size, .pid = pid };
    if (S_ISDIR(st.st_mode) && !pid) {
        if (depth >= STORE_WALK_DEPTH)
            return;
        int sub = openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return;
        char *p = join(dir, nm);
        walk_dir(c, sub, p, rel_off, depth + 1);
        free(p);
        return;
    }
    if (!S_ISREG(st.st_mode))
        return;
    if (pid) {
        f.path = join(dir, nm);
        f.rel = rel_off;
        push(&w->tmps, &w->ntmps, &w->captmps, &f);
    } else if (store_bin_parse(nm, &f.start_ms, &f.suffix) == 0) {
        f.path = join(dir, nm);
        f.rel = rel_off;
        push(&w->files, &w->nfiles, &w->capfiles, &f);
    }
}

/* Walk the open folder dfd (closed here). */
static void walk_dir(struct wctx *c, int dfd, const char *dir, size_t rel_off, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0)
            walk_entry(c, dirfd(d), dir, rel_off, depth, nm);
    }
    closedir(d);
}

static int file_cmp(const void *a, const void *b)
{
    const struct store_walk_file *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    if (x->suffix != y->suffix)
        return x->suffix < y->suffix ? -1 : 1;
    return strcmp(x->path, y->path);
}

int store_walk(const char *root, int want_tmp, struct store_walk *w, struct fs_err *err)
{
    /* The root itself may be a symlink: the user named it. */
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fs_err_set(err, -errno, -1, "%s: %s", root, strerror(errno));
    struct wctx c = { w, want_tmp };
    /* Paths are root as given + "/" + rel, as messages named them before (a root
     * "STORE/" gives "STORE//2024/..."; scripts grep the collector's log for them). */
    walk_dir(&c, dfd, root, strlen(root) + 1, 0);
    if (w->nfiles > 1)
        qsort(w->files, w->nfiles, sizeof(*w->files), file_cmp);
    return 0;
}

void store_walk_free(struct store_walk *w)
{
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i].path);
    for (size_t i = 0; i < w->ntmps; i++)
        free(w->tmps[i].path);
    free(w->files);
    free(w->tmps);
    memset(w, 0, sizeof(*w));
}

/*
 * Open the folder that holds the component of f's path ending at `upto` (an offset of
 * a '/' in path after rel, or the path's end), walking from the root with O_NOFOLLOW.
 * Returns the folder fd and sets *name to the last component, or -errno.
 */
static int open_parent(const char *path, size_t rel, size_t upto, char *buf, const char **name)
{
    memcpy(buf, path, upto);
    buf[upto] = '\0';
    buf[rel - 1] = '\0';
    int dfd = open(rel > 1 ? buf : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    char *s = buf + rel, *slash;
    while ((slash = strchr(s, '/')) != NULL) {
        *slash = '\0';
        int sub = openat(dfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(dfd);
        if (sub < 0)
            return -e;
        dfd = sub;
        s = slash + 1;
    }
    *name = s;
    return dfd;
}

int store_walk_open(const struct store_walk_file *f, int flags)
{
    size_t len = strlen(f->path);
    char *buf = xmalloc(len + 1);
    const char *name = NULL;
    int dfd = open_parent(f->path, f->rel, len, buf, &name);
    int fd = dfd;
    if (dfd >= 0 && name) {
        fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            fd = -errno;
        close(dfd);
    }
    free(buf);
    return fd;
}

/* unlinkat(name in the folder that holds path[..upto]) with flags. */
static int unlink_upto(const struct store_walk_file *f, size_t upto, int flags)
{
    char *buf = xmalloc(strlen(f->path) + 1);
    const char *name = NULL;
    int dfd = open_parent(f->path, f->rel, upto, buf, &name);
    int rc = dfd;
    if (dfd >= 0 && name) {
        rc = unlinkat(dfd, name, flags) == 0 ? 0 : -errno;
        close(dfd);
    }
    free(buf);
    return rc;
}

int store_walk_unlink(const struct store_walk_file *f)
{
    return unlink_upto(f, strlen(f->path), 0);
}

int store_walk_prune(const struct store_walk_file *f)
{
    int removed = 0;
    for (size_t i = strlen(f->path); i > f->rel; i--) {
        if (f->path[i - 1] != '/')
            continue;
        if (i - 1 <= f->rel || unlink_upto(f, i - 1, AT_REMOVEDIR) != 0)
            break;
        removed++;
    }
    return removed;
}
