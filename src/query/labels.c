/*
 * Labels from address lists (labels.h). Each list is the filter `ip in "@FILE"`, so a
 * list is read, checked and searched by the one filter engine: the same file formats
 * (Spamhaus DROP, plain lists, CIDR), the same errors with line numbers, the same prefix
 * tables whatever its size.
 */
#include "labels.h"

#include "filter.h"

#include "../core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    char name[LABEL_NAME_MAX];
    struct filter *f;
} lists[LABELS_MAX];
static size_t nlists;

static int name_ok(const char *s, size_t len)
{
    if (len == 0 || len >= LABEL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (c == '.' && i > 0)))
            return 0;
    }
    return 1;
}

/* NAME=FILE, or FILE named after its base name up to the first dot. */
static void split_arg(const char *arg, const char **name, size_t *nlen, const char **path)
{
    const char *eq = strchr(arg, '=');
    if (eq && name_ok(arg, (size_t)(eq - arg))) {
        *name = arg;
        *nlen = (size_t)(eq - arg);
        *path = eq + 1;
        return;
    }
    const char *base = strrchr(arg, '/');
    base = base ? base + 1 : arg;
    *name = base;
    *nlen = strcspn(base, ".");
    *path = arg;
}

int labels_add(const char *arg, struct fs_err *err)
{
    const char *name, *path;
    size_t nlen;
    split_arg(arg, &name, &nlen, &path);
    if (!name_ok(name, nlen))
        return fs_err_set(err, FS_EINVAL, -1,
                          "--label %s: '%.*s' is no list name (1 to %d letters, digits, '_', "
                          "'-' or '.'): give one as NAME=FILE",
                          arg, (int)(nlen > 64 ? 64 : nlen), name, LABEL_NAME_MAX - 1);
    if (labels_find(name, nlen) >= 0)
        return fs_err_set(err, FS_EINVAL, -1, "--label %s: a list is already called '%.*s'", arg,
                          (int)nlen, name);
    if (nlists == LABELS_MAX)
        return fs_err_set(err, FS_EINVAL, -1, "--label %s: at most %d lists", arg, LABELS_MAX);
    if (*path == '\0' || strpbrk(path, "\"\n\r\t"))
        return fs_err_set(err, FS_EINVAL, -1,
                          "--label %s: no file, or a quote or control byte in its name", arg);
    size_t tlen = strlen(path) + 16;
    char *text = xmalloc(tlen);
    snprintf(text, tlen, "ip in \"@%s\"", path);
    struct fs_err e = { 0 };
    struct filter *f = NULL;
    int rc = filter_compile(text, &f, &e);
    free(text);
    if (rc != 0)
        return fs_err_set(err, rc, -1, "--label %s: %s", arg, e.msg);
    memcpy(lists[nlists].name, name, nlen);
    lists[nlists].name[nlen] = '\0';
    lists[nlists].f = f;
    nlists++;
    return 0;
}

size_t labels_count(void)
{
    return nlists;
}

int labels_find(const char *name, size_t len)
{
    for (size_t i = 0; i < nlists; i++)
        if (strlen(lists[i].name) == len && memcmp(lists[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

const char *labels_name(size_t i)
{
    return i < nlists ? lists[i].name : "?";
}

int labels_hit(size_t i, const struct flow *f)
{
    return i < nlists && filter_match(lists[i].f, f);
}

int labels_any(const struct flow *f)
{
    for (size_t i = 0; i < nlists; i++)
        if (filter_match(lists[i].f, f))
            return 1;
    return 0;
}

size_t labels_format(const struct flow *f, char *buf)
{
    size_t n = 0;
    for (size_t i = 0; i < nlists; i++) {
        if (!filter_match(lists[i].f, f))
            continue;
        size_t len = strlen(lists[i].name);
        if (n)
            buf[n++] = '+';
        memcpy(buf + n, lists[i].name, len);
        n += len;
    }
    buf[n] = '\0';
    return n;
}

void labels_free(void)
{
    for (size_t i = 0; i < nlists; i++)
        filter_free(lists[i].f);
    nlists = 0;
}
