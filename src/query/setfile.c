/*
 * Address sets from files for `ip in @FILE`: block lists, reputation feeds, our own
 * networks. One entry a line, the first word of it (so Spamhaus DROP's
 * "1.10.16.0/20 ; SBL256894" and "10.0.0.1 scanner" both work); '#' and ';' start a
 * comment; blank lines are skipped. Addresses and prefixes as the filter writes them.
 * The entries go through the filter's own prefix tables (sorted runs per prefix
 * length, bisection), so a set of millions costs a few probes a record.
 */
#include "filter_int.h"

#include "filter.h"

#include "../core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_LINE_MAX 4096

static int files_allowed = 1;

void filter_allow_set_files(int allowed)
{
    files_allowed = allowed;
}

/* The first word of line (comments cut): *start and its length; 0 when none. */
static size_t first_word(char *line, char **start)
{
    char *c = strpbrk(line, "#;");
    if (c)
        *c = '\0';
    char *s = line + strspn(line, " \t\r\n");
    *start = s;
    return strcspn(s, " \t\r\n,");
}

int filter_load_set(const char *path, struct fnet_ent **out, uint32_t *nout, struct fs_err *err)
{
    if (!files_allowed)
        return fs_err_set(err, FS_EINVAL, -1, "set files (@%s) are not allowed here", path);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return fs_err_set(err, -errno, -1, "@%s: %s", path, strerror(errno));
    struct fnet_ent *v = NULL;
    uint32_t n = 0, cap = 0;
    char line[SET_LINE_MAX];
    unsigned long lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(fp)) {
            rc = fs_err_set(err, FS_EINVAL, -1, "@%s:%lu: line longer than %d bytes", path, lineno,
                            SET_LINE_MAX - 2);
            break;
        }
        char *w;
        size_t wl = first_word(line, &w);
        if (wl == 0)
            continue;
        if (n == cap) {
            if (cap >= UINT32_MAX / 4) {
                rc = fs_err_set(err, FS_EINVAL, -1, "@%s: too many entries", path);
                break;
            }
            cap = cap ? cap * 2 : 256;
            v = xrealloc(v, cap * sizeof(*v));
        }
        int ver = 0, plen = 0;
        if (filter_prefix(w, wl, &v[n].a, &ver, &plen) != 0) {
            rc = fs_err_set(err, FS_EINVAL, -1,
                            "@%s:%lu: '%.*s' is not an IPv4 or IPv6 address or prefix", path,
                            lineno, (int)(wl > 60 ? 60 : wl), w);
            break;
        }
        v[n].ver = (uint8_t)ver;
        v[n].plen = (uint8_t)plen;
        n++;
    }
    if (rc == 0 && ferror(fp))
        rc = fs_err_set(err, -EIO, -1, "@%s: read error", path);
    if (rc == 0 && n == 0)
        rc = fs_err_set(err, FS_EINVAL, -1, "@%s: no address or prefix in the file", path);
    fclose(fp);
    if (rc != 0) {
        free(v);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}
