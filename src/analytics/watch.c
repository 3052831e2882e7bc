/*
 * flowsleuth watch's state: handled bin files and held alert keys (watch.h).
 */
#include "watch.h"

#include "../core/atomic_file.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void watch_state_init(struct watch_state *s)
{
    memset(s, 0, sizeof(*s));
}

static void clear(struct watch_state *s)
{
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i].rel);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i].key);
    s->nfiles = s->nkeys = 0;
    s->have_last = s->have_judged = 0;
    s->last_ms = s->judged_ms = 0;
}

void watch_state_free(struct watch_state *s)
{
    clear(s);
    free(s->files);
    free(s->keys);
    watch_state_init(s);
}

static void add_file(struct watch_state *s, char *rel, uint64_t start_ms)
{
    if (s->nfiles == s->capfiles) {
        s->capfiles = s->capfiles ? 2 * s->capfiles : 64;
        s->files = xrealloc(s->files, s->capfiles * sizeof(*s->files));
    }
    struct watch_file *f = &s->files[s->nfiles++];
    f->rel = rel;
    f->start_ms = start_ms;
}

static void add_key(struct watch_state *s, const char *key, uint64_t until_ms)
{
    if (s->nkeys == s->capkeys) {
        s->capkeys = s->capkeys ? 2 * s->capkeys : 64;
        s->keys = xrealloc(s->keys, s->capkeys * sizeof(*s->keys));
    }
    size_t n = strnlen(key, WATCH_KEY_MAX);
    char *k = xmalloc(n + 1);
    memcpy(k, key, n);
    for (size_t i = 0; i < n; i++) /* a key is one line of the state file */
        if ((unsigned char)k[i] < ' ' || k[i] == 0x7f)
            k[i] = '?';
    k[n] = 0;
    s->keys[s->nkeys++] = (struct watch_key){ k, until_ms };
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The %XX form of a path back to bytes: a new string, or NULL when malformed. */
static char *unescape(const char *t)
{
    size_t n = strlen(t), j = 0;
    char *out = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        if (t[i] != '%') {
            out[j++] = t[i];
            continue;
        }
        int hi = hexval(t[i + 1]);
        int lo = hi >= 0 ? hexval(t[i + 2]) : -1;
        if (lo < 0 || hi * 16 + lo == 0) {
            free(out);
            return NULL;
        }
        out[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[j] = 0;
    return out;
}

static void escape(FILE *fp, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '%' || *p >= 0x7f)
            fprintf(fp, "%%%02X", *p);
        else
            fputc(*p, fp);
    }
}

/* A decimal u64 ending at a space or the end: 0 with *v, or -1. */
static int parse_u64(const char *t, char **end, uint64_t *v)
{
    if (*t < '0' || *t > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(t, end, 10);
    if (errno || (**end != ' ' && **end != 0))
        return -1;
    *v = x;
    return 0;
}

/* One line after the version line: 0, or -1 when it is not one of ours. */
static int load_line(struct watch_state *s, char *line)
{
    char *end;
    uint64_t v;
    if (strncmp(line, "last ", 5) == 0 && parse_u64(line + 5, &end, &v) == 0 && !*end) {
        s->have_last = 1;
        s->last_ms = v;
        return 0;
    }
    if (strncmp(line, "judged ", 7) == 0 && parse_u64(line + 7, &end, &v) == 0 && !*end) {
        s->have_judged = 1;
        s->judged_ms = v;
        return 0;
    }
    if (strncmp(line, "file ", 5) == 0 && parse_u64(line + 5, &end, &v) == 0 && *end == ' ' &&
        end[1] && !strchr(end + 1, ' ')) {
        char *rel = unescape(end + 1);
        if (!rel)
            return -1;
        add_file(s, rel, v);
        return 0;
    }
    if (strncmp(line, "alert ", 6) == 0 && parse_u64(line + 6, &end, &v) == 0 && *end == ' ' &&
        end[1]) {
        add_key(s, end + 1, v);
        return 0;
    }
    return -1;
}

/* The lines of fp into s: 0 or an error naming path and line. */
static int load_lines(struct watch_state *s, FILE *fp, const char *path, struct fs_err *err)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    ssize_t len;
    while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len == 0 || line[len - 1] != '\n') {
            rc = fs_err_set(err, FS_ECORRUPT, lineno, "%s:%ld: cut short", path, lineno);
            break;
        }
        line[len - 1] = 0;
        if (lineno == 1) {
            if (strncmp(line, "flowsleuth-watch ", 17) != 0)
                rc = fs_err_set(err, FS_ECORRUPT, 1, "%s:1: not a watch state file", path);
            else if (strcmp(line + 17, "1") != 0)
                rc = fs_err_set(err, FS_EVERSION, 1, "%s:1: version %s (this one reads 1)", path,
                                line + 17);
        } else if (line[0] && line[0] != '#' && load_line(s, line) != 0) {
            rc = fs_err_set(err, FS_ECORRUPT, lineno, "%s:%ld: not a state line", path, lineno);
        }
    }
    if (rc == 0 && ferror(fp))
        rc = fs_err_set(err, -EIO, -1, "%s: read: %s", path, strerror(EIO));
    if (rc == 0 && lineno == 0)
        rc = fs_err_set(err, FS_ECORRUPT, 0, "%s:1: empty", path);
    free(line);
    return rc;
}

int watch_state_load(struct watch_state *s, const char *path, struct fs_err *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        return fs_err_set(err, -e, -1, "%s: %s", path, strerror(e));
    }
    int rc = load_lines(s, fp, path, err);
    fclose(fp);
    if (rc)
        clear(s);
    return rc;
}

int watch_state_save(const struct watch_state *s, const char *path, struct fs_err *err)
{
    struct atomic_file af;
    int rc = atomic_file_open(&af, path, err);
    if (rc)
        return rc;
    fprintf(af.fp, "flowsleuth-watch %d\n", WATCH_VERSION);
    if (s->have_last)
        fprintf(af.fp, "last %" PRIu64 "\n", s->last_ms);
    if (s->have_judged)
        fprintf(af.fp, "judged %" PRIu64 "\n", s->judged_ms);
    for (size_t i = 0; i < s->nfiles; i++) {
        fprintf(af.fp, "file %" PRIu64 " ", s->files[i].start_ms);
        escape(af.fp, s->files[i].rel);
        fputc('\n', af.fp);
    }
    for (size_t i = 0; i < s->nkeys; i++)
        fprintf(af.fp, "alert %" PRIu64 " %s\n", s->keys[i].until_ms, s->keys[i].key);
    return atomic_file_commit(&af, err);
}

/* Bins starting before this are past the horizon: taken as handled. */
static uint64_t horizon(const struct watch_state *s)
{
    return s->have_last && s->last_ms > WATCH_KEEP_MS ? s->last_ms - WATCH_KEEP_MS : 0;
}

int watch_file_done(const struct watch_state *s, const char *rel, uint64_t start_ms)
{
    if (s->have_last && start_ms < horizon(s))
        return 1;
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].start_ms == start_ms && strcmp(s->files[i].rel, rel) == 0)
            return 1;
    return 0;
}

void watch_file_mark(struct watch_state *s, const char *rel, uint64_t start_ms)
{
    if (watch_file_done(s, rel, start_ms))
        return;
    add_file(s, xstrdup(rel), start_ms);
    if (!s->have_last || start_ms > s->last_ms) {
        s->have_last = 1;
        s->last_ms = start_ms;
    }
}

int watch_alert_due(struct watch_state *s, const char *key, uint64_t t_ms, uint64_t hold_ms)
{
    size_t n = strnlen(key, WATCH_KEY_MAX);
    uint64_t until = t_ms + hold_ms < t_ms ? UINT64_MAX : t_ms + hold_ms;
    for (size_t i = 0; i < s->nkeys; i++) {
        struct watch_key *k = &s->keys[i];
        if (strlen(k->key) != n || strncmp(k->key, key, n) != 0)
            continue;
        if (t_ms < k->until_ms)
            return 0;
        k->until_ms = until;
        return 1;
    }
    add_key(s, key, until);
    return 1;
}

void watch_state_prune(struct watch_state *s, uint64_t t_ms)
{
    size_t j = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        if (s->keys[i].until_ms > t_ms)
            s->keys[j++] = s->keys[i];
        else
            free(s->keys[i].key);
    }
    s->nkeys = j;
    uint64_t h = horizon(s);
    j = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (s->files[i].start_ms >= h)
            s->files[j++] = s->files[i];
        else
            free(s->files[i].rel);
    }
    s->nfiles = j;
}
