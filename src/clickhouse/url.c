/*
 * clickhouse://[USER[:PASS]@]HOST[:PORT]/DB[?table=NAME]: the HTTP interface of one
 * server (ch.h). HOST is a name, an IPv4 address or [IPv6]; PORT defaults to 8123.
 */
#include "ch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ch_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 127 || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* Copy s[0..n) into dst (cap bytes with the NUL): 0, or -1 when it does not fit. */
static int take(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* USER[:PASS]@ before slash, if any: *pp moves past it. 0, or -1 (e). */
static int parse_userinfo(const char *s, const char **pp, const char *slash, struct ch_url *u,
                          struct fs_err *e)
{
    const char *p = *pp, *at = NULL;
    for (const char *q = p; q < slash; q++)
        if (*q == '@')
            at = q; /* the last one: a password may hold '@' */
    if (!at)
        return 0;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    size_t ul = colon ? (size_t)(colon - p) : (size_t)(at - p);
    if (!ul || take(u->user, sizeof(u->user), p, ul) != 0)
        return fs_err_set(e, FS_EINVAL, (long long)(p - s), "user name empty or too long"), -1;
    if (colon && take(u->pass, sizeof(u->pass), colon + 1, (size_t)(at - colon - 1)) != 0)
        return fs_err_set(e, FS_EINVAL, (long long)(p - s), "password too long"), -1;
    u->has_user = 1;
    *pp = at + 1;
    return 0;
}

/* The digits of a port from p up to end: 0, or -1 (e). */
static int parse_port(const char *s, const char *p, const char *end, struct ch_url *u,
                      struct fs_err *e)
{
    unsigned long v = 0;
    const char *q = p;
    for (; q < end && *q >= '0' && *q <= '9' && v <= 65535; q++)
        v = v * 10 + (unsigned long)(*q - '0');
    if (q != end || q == p || v < 1 || v > 65535)
        return fs_err_set(e, FS_EINVAL, (long long)(p - s), "PORT must be 1..65535"), -1;
    u->port = (unsigned)v;
    return 0;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* HOST[:PORT] or [IPv6][:PORT] from p up to slash: 0, or -1 (e). */
static int parse_host(const char *s, const char *p, const char *slash, struct ch_url *u,
                      struct fs_err *e)
{
    const char *hend, *portp = NULL;
    long long at = (long long)(p - s);
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(slash - p));
        if (!rb)
            return fs_err_set(e, FS_EINVAL, at, "no ] after [IPv6"), -1;
        if (take(u->host, sizeof(u->host), p, (size_t)(rb - p + 1)) != 0)
            return fs_err_set(e, FS_EINVAL, at, "host too long"), -1;
        hend = rb + 1;
        if (hend < slash && *hend != ':')
            return fs_err_set(e, FS_EINVAL, (long long)(hend - s), "':PORT' or '/' after ]"), -1;
        if (hend < slash)
            portp = hend + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(slash - p));
        hend = colon ? colon : slash;
        if (take(u->host, sizeof(u->host), p, (size_t)(hend - p)) != 0)
            return fs_err_set(e, FS_EINVAL, at, "host too long"), -1;
        if (colon)
            portp = colon + 1;
        for (size_t k = 0; u->host[k]; k++)
            if (!host_char(u->host[k]))
                return fs_err_set(e, FS_EINVAL, at + (long long)k,
                                  "bad character in the host name"),
                       -1;
    }
    if (!u->host[0])
        return fs_err_set(e, FS_EINVAL, at, "no host"), -1;
    return portp ? parse_port(s, portp, slash, u, e) : 0;
}

/* DB[?table=NAME] after the slash: 0, or -1 (e). */
static int parse_path(const char *s, const char *db, struct ch_url *u, struct fs_err *e)
{
    const char *qm = strchr(db, '?');
    size_t dl = qm ? (size_t)(qm - db) : strlen(db);
    if (take(u->db, sizeof(u->db), db, dl) != 0 || !ch_name_ok(u->db))
        return fs_err_set(e, FS_EINVAL, (long long)(db - s),
                          "DB must be a name of letters, digits and _ (not starting with a "
                          "digit)"),
               -1;
    if (!qm)
        return 0;
    const char *kv = qm + 1;
    if (strncmp(kv, "table=", 6) != 0 ||
        take(u->table, sizeof(u->table), kv + 6, strlen(kv + 6)) != 0 || !ch_name_ok(u->table))
        return fs_err_set(e, FS_EINVAL, (long long)(kv - s),
                          "the only parameter is ?table=NAME (letters, digits, _)"),
               -1;
    return 0;
}

int ch_url_parse(const char *s, struct ch_url *u, struct fs_err *e)
{
    static const char scheme[] = "clickhouse://";
    memset(u, 0, sizeof(*u));
    u->port = 8123;
    snprintf(u->table, sizeof(u->table), "flows");
    if (strncmp(s, scheme, sizeof(scheme) - 1) != 0)
        return fs_err_set(e, FS_EINVAL, 0, "not a clickhouse:// URL"), -1;
    const char *p = s + sizeof(scheme) - 1;
    const char *slash = strchr(p, '/');
    if (!slash)
        return fs_err_set(e, FS_EINVAL, (long long)(p - s),
                          "no /DB after the host (clickhouse://HOST:PORT/DB)"),
               -1;
    if (parse_userinfo(s, &p, slash, u, e) != 0 || parse_host(s, p, slash, u, e) != 0 ||
        parse_path(s, slash + 1, u, e) != 0)
        return -1;
    return 0;
}

void ch_url_say(const struct ch_url *u, char *buf, size_t len)
{
    snprintf(buf, len, "clickhouse://%s%s%s:%u/%s%s%s", u->has_user ? u->user : "",
             u->has_user ? "@" : "", u->host, u->port, u->db,
             strcmp(u->table, "flows") ? "?table=" : "", strcmp(u->table, "flows") ? u->table : "");
}
