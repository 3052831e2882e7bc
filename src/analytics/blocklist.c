#include "blocklist.h"

#include "../core/atomic_file.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BLK_MAGIC "flowsleuth-blocklist"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void blk_init(struct blocklist *b)
{
    memset(b, 0, sizeof(*b));
}

void blk_free(struct blocklist *b)
{
    free(b->v);
    memset(b, 0, sizeof(*b));
}

static int is_v4(const struct net_prefix *p)
{
    return p->len >= 96 && memcmp(p->addr, v4_mapped, 12) == 0;
}

void blk_prefix_text(const struct net_prefix *p, char *buf, size_t len)
{
    char a[FMT_ADDR_MAX];
    int v4 = is_v4(p);
    fmt_addr(a, p->addr, v4 ? 4 : 6);
    if (p->len == 128)
        snprintf(buf, len, "%s", a);
    else
        snprintf(buf, len, "%s/%u", a, v4 ? p->len - 96u : p->len);
}

/* 1 when the first len bits of a and b agree. */
static int same_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
    unsigned whole = len / 8, rest = len % 8;
    if (memcmp(a, b, whole) != 0)
        return 0;
    return !rest || ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

/* An allowed prefix overlaps p: blocking p would block something allowed. */
static int allowed(const struct netlist *allow, const struct net_prefix *p)
{
    if (!allow)
        return 0;
    for (size_t i = 0; i < allow->nnets; i++) {
        const struct net_prefix *q = &allow->nets[i];
        if (same_bits(p->addr, q->addr, p->len < q->len ? p->len : q->len))
            return 1;
    }
    return 0;
}

static long find(const struct blocklist *b, const struct net_prefix *p)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].p.len == p->len && memcmp(b->v[i].p.addr, p->addr, 16) == 0)
            return (long)i;
    return -1;
}

static struct blk_entry *push(struct blocklist *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
    }
    struct blk_entry *e = &b->v[b->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

int blk_add(struct blocklist *b, const struct net_prefix *p, uint64_t now, uint64_t ttl,
            const char *why, const struct netlist *allow)
{
    if (allowed(allow, p))
        return -1;
    long i = find(b, p);
    struct blk_entry *e = i >= 0 ? &b->v[i] : push(b);
    if (i < 0) {
        e->p = *p;
        e->first_ms = now;
    }
    if (now + ttl > e->expires_ms)
        e->expires_ms = now + ttl;
    e->hits++;
    snprintf(e->why, sizeof(e->why), "%s", why && *why ? why : "-");
    return i < 0;
}

size_t blk_prune(struct blocklist *b, uint64_t now, const struct netlist *allow)
{
    size_t kept = 0, n = b->n;
    for (size_t i = 0; i < n; i++)
        if (b->v[i].expires_ms > now && !allowed(allow, &b->v[i].p))
            b->v[kept++] = b->v[i];
    b->n = kept;
    return n - kept;
}

static int cmp_entry(const void *x, const void *y)
{
    const struct blk_entry *a = x, *b = y;
    int va = is_v4(&a->p), vb = is_v4(&b->p);
    if (va != vb)
        return vb - va;
    int c = memcmp(a->p.addr, b->p.addr, 16);
    return c ? c : (int)a->p.len - (int)b->p.len;
}

void blk_sort(struct blocklist *b)
{
    if (b->n)
        qsort(b->v, b->n, sizeof(*b->v), cmp_entry);
}

/* ---------------------------------------------------------------- state file */

int blk_save(const struct blocklist *b, const char *path, struct fs_err *err)
{
    struct atomic_file af;
    int rc = atomic_file_open(&af, path, err);
    if (rc)
        return rc;
    fprintf(af.fp, BLK_MAGIC " %d\n# prefix expires_ms first_ms hits detector\n", BLK_VERSION);
    for (size_t i = 0; i < b->n; i++) {
        char t[FMT_ADDR_MAX + 8];
        const struct blk_entry *e = &b->v[i];
        blk_prefix_text(&e->p, t, sizeof(t));
        fprintf(af.fp, "%s %" PRIu64 " %" PRIu64 " %" PRIu32 " %s\n", t, e->expires_ms, e->first_ms,
                e->hits, e->why);
    }
    return atomic_file_commit(&af, err);
}

static int u64_field(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    *v = strtoull(s, &end, 10);
    return *end || errno ? -1 : 0;
}

/* One entry line: 0 or -(field number) of the bad field. */
static int entry_line(char *line, struct blk_entry *e)
{
    char *f[6], *save = NULL;
    int n = 0;
    for (char *s = strtok_r(line, " \t\r\n", &save); s && n < 6;
         s = strtok_r(NULL, " \t\r\n", &save))
        f[n++] = s;
    if (n != 5)
        return -99;
    uint64_t hits;
    if (net_prefix_parse(f[0], &e->p) != 0)
        return -1;
    if (u64_field(f[1], &e->expires_ms) != 0)
        return -2;
    if (u64_field(f[2], &e->first_ms) != 0 || e->first_ms > e->expires_ms)
        return -3;
    if (u64_field(f[3], &hits) != 0 || hits == 0 || hits > UINT32_MAX)
        return -4;
    e->hits = (uint32_t)hits;
    if (strlen(f[4]) >= sizeof(e->why))
        return -5;
    memcpy(e->why, f[4], strlen(f[4]) + 1);
    return 0;
}

static int load_line(struct blocklist *b, char *line, size_t no, const char *path,
                     struct fs_err *err)
{
    if (no == 1) {
        char want[32];
        snprintf(want, sizeof(want), BLK_MAGIC " %d", BLK_VERSION);
        line[strcspn(line, "\r\n")] = 0;
        if (strcmp(line, want) == 0)
            return 0;
        if (strncmp(line, BLK_MAGIC " ", sizeof(BLK_MAGIC)) == 0)
            return fs_err_set(err, FS_EVERSION, 1, "%s:1: block list version '%s', not %d", path,
                              line + sizeof(BLK_MAGIC), BLK_VERSION);
        return fs_err_set(err, FS_ECORRUPT, 1, "%s:1: not a flowsleuth block list state", path);
    }
    size_t skip = strspn(line, " \t\r\n");
    if (!line[skip] || line[skip] == '#')
        return 0;
    struct blk_entry e;
    memset(&e, 0, sizeof(e));
    int rc = entry_line(line, &e);
    if (rc == -99)
        return fs_err_set(err, FS_ECORRUPT, (long long)no,
                          "%s:%zu: an entry is PREFIX EXPIRES_MS FIRST_MS HITS DETECTOR", path, no);
    if (rc < 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)no, "%s:%zu: field %d is not valid", path,
                          no, -rc);
    if (find(b, &e.p) >= 0)
        return fs_err_set(err, FS_ECORRUPT, (long long)no, "%s:%zu: the prefix appears twice", path,
                          no);
    *push(b) = e;
    return 0;
}

int blk_load(struct blocklist *b, const char *path, struct fs_err *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        return fs_err_set(err, -e, -1, "%s: %s", path, strerror(e));
    }
    char *line = NULL;
    size_t cap = 0, no = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, fp) != -1)
        rc = load_line(b, line, ++no, path, err);
    if (rc == 0 && ferror(fp))
        rc = fs_err_set(err, FS_ECORRUPT, -1, "%s: read error", path);
    if (rc == 0 && no == 0)
        rc = fs_err_set(err, FS_ECORRUPT, -1, "%s: empty file", path);
    free(line);
    fclose(fp);
    if (rc)
        b->n = 0; /* a damaged state is not trusted in part */
    return rc;
}

/* ---------------------------------------------------------------- output */

/* Seconds left, at least 1 (nft and ipset take whole seconds; 0 means no timeout). */
static uint64_t left_s(const struct blk_entry *e, uint64_t now)
{
    uint64_t ms = e->expires_ms > now ? e->expires_ms - now : 0;
    return ms / 1000 + (ms % 1000 != 0) + (ms == 0);
}

static void write_nft_set(const struct blocklist *b, const char *name, int v4, uint64_t now,
                          FILE *fp)
{
    const char *set = v4 ? "block4" : "block6";
    int first = 1;
    fprintf(fp, "flush set inet %s %s\n", name, set);
    for (size_t i = 0; i < b->n; i++) {
        char t[FMT_ADDR_MAX + 8];
        if (is_v4(&b->v[i].p) != v4)
            continue;
        blk_prefix_text(&b->v[i].p, t, sizeof(t));
        if (first)
            fprintf(fp, "add element inet %s %s {\n", name, set);
        fprintf(fp, "%s    %s timeout %" PRIu64 "s", first ? "" : ",\n", t, left_s(&b->v[i], now));
        first = 0;
    }
    if (!first)
        fputs("\n}\n", fp);
}

static void write_nft(const struct blocklist *b, const char *name, uint64_t now, FILE *fp)
{
    fprintf(fp,
            "# flowsleuth blocklist: load with nft -f; match with ip saddr @block4 and\n"
            "# ip6 saddr @block6 in rules of table inet %s\n"
            "table inet %s {\n"
            "    set block4 { type ipv4_addr; flags interval, timeout; }\n"
            "    set block6 { type ipv6_addr; flags interval, timeout; }\n"
            "}\n",
            name, name);
    for (int v4 = 1; v4 >= 0; v4--)
        write_nft_set(b, name, v4, now, fp);
}

static void write_ipset(const struct blocklist *b, const char *name, uint64_t now, FILE *fp)
{
    fprintf(fp, "create %s-4 hash:net family inet timeout 86400 -exist\n", name);
    fprintf(fp, "create %s-6 hash:net family inet6 timeout 86400 -exist\n", name);
    fprintf(fp, "flush %s-4\nflush %s-6\n", name, name);
    for (size_t i = 0; i < b->n; i++) {
        char t[FMT_ADDR_MAX + 8];
        blk_prefix_text(&b->v[i].p, t, sizeof(t));
        fprintf(fp, "add %s-%c %s timeout %" PRIu64 " -exist\n", name,
                is_v4(&b->v[i].p) ? '4' : '6', t, left_s(&b->v[i], now));
    }
}

int blk_write(const struct blocklist *b, enum blk_format fmt, const char *name, uint64_t now,
              FILE *fp)
{
    if (fmt == BLK_NFT) {
        write_nft(b, name, now, fp);
    } else if (fmt == BLK_IPSET) {
        write_ipset(b, name, now, fp);
    } else {
        for (size_t i = 0; i < b->n; i++) {
            char t[FMT_ADDR_MAX + 8];
            blk_prefix_text(&b->v[i].p, t, sizeof(t));
            fprintf(fp, "%s\n", t);
        }
    }
    return ferror(fp) ? -EIO : 0;
}
