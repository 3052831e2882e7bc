/* A saved services profile and lookups against it (services_profile.h). */
#include "services_profile.h"

#include "../core/atomic_file.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "flowsleuth-services-profile "

void svc_profile_init(struct svc_profile *p)
{
    memset(p, 0, sizeof(*p));
}

void svc_profile_free(struct svc_profile *p)
{
    free(p->v);
    svc_profile_init(p);
}

static int cmp_key(const uint8_t a[16], uint8_t aproto, uint16_t aport, const struct svc_prow *b)
{
    int c = memcmp(a, b->server, 16);
    if (c)
        return c;
    if (aproto != b->proto)
        return aproto < b->proto ? -1 : 1;
    return aport < b->port ? -1 : aport > b->port;
}

static int cmp_row(const void *pa, const void *pb)
{
    const struct svc_prow *a = pa;
    return cmp_key(a->server, a->proto, a->port, pb);
}

static void sort(struct svc_profile *p)
{
    if (p->nsorted != p->n)
        qsort(p->v, p->n, sizeof(*p->v), cmp_row);
    p->nsorted = p->n;
}

static struct svc_prow *push(struct svc_profile *p)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    struct svc_prow *r = &p->v[p->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* Binary search of the sorted part. */
static struct svc_prow *search(const struct svc_profile *p, const uint8_t server[16], uint8_t proto,
                               uint16_t port)
{
    size_t lo = 0, hi = p->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(server, proto, port, &p->v[mid]);
        if (c == 0)
            return &p->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct svc_prow *svc_profile_find(struct svc_profile *p, const uint8_t server[16],
                                        uint8_t proto, uint16_t port)
{
    sort(p);
    return search(p, server, proto, port);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

void svc_profile_merge(struct svc_profile *p, const struct svc_row *r)
{
    struct svc_prow *o = search(p, r->server, r->proto, r->port);
    if (!o) {
        o = push(p);
        memcpy(o->server, r->server, 16);
        o->ipver = r->ipver;
        o->proto = r->proto;
        o->port = r->port;
        o->first = r->first;
    }
    o->first = r->first < o->first ? r->first : o->first;
    o->last = max64(o->last, r->last);
    o->clients = max64(o->clients, r->clients);
    o->flows = max64(o->flows, r->flows);
    o->bytes = max64(o->bytes, r->bytes);
}

/* Digits only, no overflow: 0 with *v, or -1. */
static int parse_u64(const char *t, uint64_t *v)
{
    char *end;
    if (*t < '0' || *t > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(t, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* "ADDR PROTO PORT FIRST LAST CLIENTS FLOWS BYTES", one space apart: 0, or -1. */
static int parse_row(char *line, struct svc_prow *r)
{
    char *f[8];
    uint64_t n[8];
    size_t k = 0;
    for (char *p = line; k < 8; k++) {
        f[k] = p;
        p = strchr(p, ' ');
        if (!p)
            break;
        *p++ = 0;
    }
    if (k != 7) /* exactly eight fields: the last ended the line */
        return -1;
    for (size_t i = 1; i < 8; i++)
        if (parse_u64(f[i], &n[i]) != 0)
            return -1;
    if (n[1] > 255 || n[2] > 65535 || n[3] > n[4] || parse_addr(f[0], r->server, &r->ipver) != 0)
        return -1;
    r->proto = (uint8_t)n[1];
    r->port = (uint16_t)n[2];
    r->first = n[3];
    r->last = n[4];
    r->clients = n[5];
    r->flows = n[6];
    r->bytes = n[7];
    return 0;
}

static int load_lines(struct svc_profile *p, FILE *fp, const char *path, struct fs_err *err)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len == 0 || line[len - 1] != '\n') {
            rc = fs_err_set(err, FS_ECORRUPT, lineno, "%s:%ld: cut short", path, lineno);
            break;
        }
        line[len - 1] = 0;
        if (lineno == 1) {
            if (strncmp(line, MAGIC, strlen(MAGIC)) != 0)
                rc = fs_err_set(err, FS_ECORRUPT, 1, "%s:1: not a services profile", path);
            else if (strcmp(line + strlen(MAGIC), "1") != 0)
                rc = fs_err_set(err, FS_EVERSION, 1, "%s:1: version %s (this one reads 1)", path,
                                line + strlen(MAGIC));
        } else if (line[0] && line[0] != '#') {
            struct svc_prow r;
            if (parse_row(line, &r) == 0)
                *push(p) = r;
            else
                rc = fs_err_set(err, FS_ECORRUPT, lineno,
                                "%s:%ld: not 'server proto port first last clients flows bytes'",
                                path, lineno);
        }
    }
    if (rc == 0 && lineno == 0)
        rc = fs_err_set(err, FS_ECORRUPT, 0, "%s:1: empty", path);
    free(line);
    return rc;
}

int svc_profile_load(struct svc_profile *p, const char *path, struct fs_err *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        return fs_err_set(err, -e, -1, "%s: %s", path, strerror(e));
    }
    int rc = load_lines(p, fp, path, err);
    if (rc == 0 && ferror(fp))
        rc = fs_err_set(err, -EIO, -1, "%s: read: %s", path, strerror(EIO));
    fclose(fp);
    if (rc)
        p->n = 0;
    sort(p);
    return rc;
}

int svc_profile_save(struct svc_profile *p, const char *path, struct fs_err *err)
{
    struct atomic_file af;
    int rc = atomic_file_open(&af, path, err);
    if (rc)
        return rc;
    sort(p);
    fprintf(af.fp, MAGIC "%d\n# server proto port first last clients flows bytes\n",
            SVC_PROFILE_VERSION);
    for (size_t i = 0; i < p->n; i++) {
        const struct svc_prow *r = &p->v[i];
        char a[FMT_ADDR_MAX];
        fmt_addr(a, r->server, r->ipver);
        fprintf(af.fp, "%s %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", a,
                r->proto, r->port, r->first, r->last, r->clients, r->flows, r->bytes);
    }
    return atomic_file_commit(&af, err);
}
