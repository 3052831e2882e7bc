/* Services that answered, against an authorised inventory (services.h). */
#include "services.h"
#include "../core/err.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_TCP     6
#define PROTO_UDP     17
#define AUTH_LINE_MAX 512

/* One answered flow as the profile needs it. */
struct svc_rec {
    uint8_t server[16], client[16];
    uint64_t first, last, bytes;
    uint16_t port;
    uint8_t proto, ipver;
};

struct services {
    struct services_opts o;
    struct svc_rec *v;
    size_t n, cap, max_n;
};

const char *services_status_name(enum svc_status st)
{
    return st == SVC_AUTHORISED ? "authorised" : st == SVC_UNEXPECTED ? "unexpected" : "missing";
}

struct services *services_new(const struct services_opts *o)
{
    struct services *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->max_n = o->max_mem / SERVICES_BYTES_PER_FLOW;
    return s;
}

size_t services_flows(const struct services *s)
{
    return s->n;
}

void services_free(struct services *s)
{
    if (!s)
        return;
    free(s->v);
    free(s);
}

/* Where no handshake tells the sides apart: dst:dport may be a client's port when the
 * flow's first packet seen was a server's (a capture or exporter that began in the
 * middle). Ephemeral ports are out, and so is an answer to a well-known port. */
static int sides_plausible(const struct flow *f)
{
    return f->dport < SERVICES_EPHEMERAL && !(f->sport < 1024 && f->dport >= 1024);
}

int services_flow_answers(const struct flow *f)
{
    if (f->proto == PROTO_TCP) {
        int synack = (f->rflags & (FS_TCP_SYN | FS_TCP_ACK)) == (FS_TCP_SYN | FS_TCP_ACK);
        if (synack)
            return 1;
        return sides_plausible(f) && (f->rflags & FS_TCP_ACK) &&
               f->rpackets >= SERVICES_MIN_RPACKETS;
    }
    if (f->proto == PROTO_UDP)
        return sides_plausible(f) && f->rpackets > 0;
    return 0;
}

int services_add(struct services *s, const struct flow *f)
{
    if (!services_flow_answers(f))
        return 0;
    const struct netlist *in = s->o.internal;
    if (in && in->nnets && !netlist_has_addr(in, f->dst))
        return 0;
    if (s->n == s->cap) {
        if (s->cap >= s->max_n)
            return FS_ENOSPC;
        size_t cap = s->cap ? 2 * s->cap : 1024;
        s->cap = cap < s->max_n ? cap : s->max_n;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    struct svc_rec *r = &s->v[s->n++];
    memcpy(r->server, f->dst, 16);
    memcpy(r->client, f->src, 16);
    r->first = f->first;
    r->last = f->last < f->first ? f->first : f->last;
    r->bytes = f->bytes + f->rbytes;
    r->port = f->dport;
    r->proto = f->proto;
    r->ipver = f->ipver ? f->ipver : (flow_addr_is_v4mapped(f->dst) ? 4 : 6);
    return 0;
}

/* Eight address bytes as a big-endian integer: compilers make it one load and a byte
 * swap, so the sort compares integers (memcmp calls were 53% of a profile). */
static inline uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* -1, 0, 1 as the 16 bytes at a and b compare (memcmp's order). */
static inline int cmp16(const uint8_t *a, const uint8_t *b)
{
    uint64_t x = be64(a), y = be64(b);
    if (x == y) {
        x = be64(a + 8);
        y = be64(b + 8);
    }
    return (x > y) - (x < y);
}

static inline int cmp_rec(const struct svc_rec *a, const struct svc_rec *b)
{
    int c = cmp16(a->server, b->server);
    if (c)
        return c;
    if (a->proto != b->proto)
        return a->proto - b->proto;
    if (a->port != b->port)
        return a->port - b->port;
    return cmp16(a->client, b->client);
}

static inline void swap_rec(struct svc_rec *a, struct svc_rec *b)
{
    struct svc_rec t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(struct svc_rec *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp_rec(&v[j - 1], &v[j]) > 0; j--)
            swap_rec(&v[j - 1], &v[j]);
}

/*
 * Sort the records in place. Not qsort: glibc sorts elements over 32 bytes through an
 * array of pointers, and the comparisons then chase them across the whole array (55 ns
 * a comparison, 70% of services over 1 M flows). A quicksort on the records themselves
 * scans them in order; the median of three and recursing into the smaller side keep it
 * O(n log n) and the stack O(log n) on sorted and repetitive input. Equal records may
 * end up in any order: services_finish only sums, takes extremes and counts changes.
 */
static void sort_recs(struct svc_rec *v, size_t n)
{
    while (n > 16) {
        size_t mid = n / 2;
        if (cmp_rec(&v[mid], &v[0]) < 0)
            swap_rec(&v[mid], &v[0]);
        if (cmp_rec(&v[n - 1], &v[0]) < 0)
            swap_rec(&v[n - 1], &v[0]);
        if (cmp_rec(&v[n - 1], &v[mid]) < 0)
            swap_rec(&v[n - 1], &v[mid]);
        swap_rec(&v[mid], &v[n - 1]); /* the pivot (the median) waits at the end */
        struct svc_rec *pv = &v[n - 1];
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare: v[0] <= pivot stops i; the median stops j at v[0] */
            while (cmp_rec(&v[i], pv) < 0)
                i++;
            while (j > 0 && cmp_rec(pv, &v[j - 1]) < 0)
                j--;
            if (j == 0 || i >= j - 1)
                break;
            swap_rec(&v[i], &v[j - 1]);
            i++;
            j--;
        }
        swap_rec(&v[i], &v[n - 1]); /* pivot in place: v[0..i) <= it <= v(i..n) */
        if (i < n - 1 - i) {
            sort_recs(v, i);
            v += i + 1;
            n -= i + 1;
        } else {
            sort_recs(v + i + 1, n - 1 - i);
            n = i;
        }
    }
    insertion_sort(v, n);
}

static int same_service(const struct svc_rec *a, const struct svc_rec *b)
{
    return memcmp(a->server, b->server, 16) == 0 && a->proto == b->proto && a->port == b->port;
}

static int prefix_has(const struct net_prefix *p, const uint8_t a[16])
{
    struct netlist one = { (struct net_prefix *)p, 1, 1, NULL, 0, 0 };
    return netlist_has_addr(&one, a);
}

/* The status of a seen service; every authorised entry that covers it is seen. */
static enum svc_status judge(struct svc_authlist *auth, const struct svc_row *r)
{
    if (!auth)
        return SVC_UNEXPECTED;
    enum svc_status st = SVC_UNEXPECTED;
    for (size_t i = 0; i < auth->n; i++) {
        struct svc_auth *e = &auth->v[i];
        if (e->proto == r->proto && e->port == r->port && prefix_has(&e->server, r->server)) {
            e->seen = 1;
            st = SVC_AUTHORISED;
        }
    }
    return st;
}

/* The service of the run [a, b). */
static void aggregate(const struct svc_rec *v, size_t a, size_t b, struct svc_row *r)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->server, v[a].server, 16);
    r->ipver = v[a].ipver;
    r->proto = v[a].proto;
    r->port = v[a].port;
    r->first = UINT64_MAX;
    for (size_t i = a; i < b; i++) {
        r->clients += i == a || memcmp(v[i].client, v[i - 1].client, 16) != 0;
        r->flows++;
        r->bytes += v[i].bytes;
        r->first = v[i].first < r->first ? v[i].first : r->first;
        r->last = v[i].last > r->last ? v[i].last : r->last;
    }
}

static int emit_missing(struct svc_authlist *auth, services_emit_fn fn, void *ctx)
{
    for (size_t i = 0; auth && i < auth->n; i++) {
        const struct svc_auth *e = &auth->v[i];
        if (e->seen)
            continue;
        struct svc_row r;
        memset(&r, 0, sizeof(r));
        memcpy(r.server, e->server.addr, 16);
        r.ipver = flow_addr_is_v4mapped(e->server.addr) ? 4 : 6;
        r.server_text = e->text;
        r.proto = e->proto;
        r.port = e->port;
        r.status = SVC_MISSING;
        int rc = fn(ctx, &r);
        if (rc)
            return rc;
    }
    return 0;
}

int services_finish(struct services *s, services_emit_fn fn, void *ctx)
{
    if (s->n)
        sort_recs(s->v, s->n);
    for (size_t a = 0, b; a < s->n; a = b) {
        for (b = a + 1; b < s->n && same_service(&s->v[a], &s->v[b]); b++)
            ;
        struct svc_row r;
        aggregate(s->v, a, b, &r);
        r.status = judge(s->o.auth, &r);
        int rc = fn(ctx, &r);
        if (rc)
            return rc;
    }
    return emit_missing(s->o.auth, fn, ctx);
}

/* ---------------------------------------------------------------- the inventory */

void services_authlist_free(struct svc_authlist *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int parse_u16(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static int parse_proto(const char *s, uint8_t *out)
{
    uint16_t v;
    if (strcmp(s, "tcp") == 0 || strcmp(s, "TCP") == 0)
        v = PROTO_TCP;
    else if (strcmp(s, "udp") == 0 || strcmp(s, "UDP") == 0)
        v = PROTO_UDP;
    else if (parse_u16(s, &v) != 0 || (v != PROTO_TCP && v != PROTO_UDP))
        return -1;
    *out = (uint8_t)v;
    return 0;
}

/* Split "a,b,c" (no quoting: none of the three fields needs it) into exactly three
 * trimmed fields; -1 when the count differs. */
static int split3(char *line, char *f[3])
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n == 3)
            return -1;
        f[n++] = p;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    for (int i = 0; i < n; i++) {
        while (*f[i] == ' ' || *f[i] == '\t')
            f[i]++;
        size_t len = strlen(f[i]);
        while (len && strchr(" \t\r\n", f[i][len - 1]))
            f[i][--len] = '\0';
    }
    return n == 3 ? 0 : -1;
}

/* One entry line into l: 0, or -1 with why filled. */
static int auth_line(struct svc_authlist *l, char *line, char *why, size_t whylen)
{
    char *f[3];
    struct svc_auth e;
    memset(&e, 0, sizeof(e));
    if (split3(line, f) != 0) {
        snprintf(why, whylen, "three fields needed: server,proto,port");
        return -1;
    }
    if (net_prefix_parse(f[0], &e.server) != 0 || strlen(f[0]) >= sizeof(e.text)) {
        snprintf(why, whylen, "server '%s' is not an address or prefix", f[0]);
        return -1;
    }
    if (parse_proto(f[1], &e.proto) != 0) {
        snprintf(why, whylen, "proto '%s' is not tcp or udp", f[1]);
        return -1;
    }
    if (parse_u16(f[2], &e.port) != 0) {
        snprintf(why, whylen, "port '%s' is not 0..65535", f[2]);
        return -1;
    }
    snprintf(e.text, sizeof(e.text), "%s", f[0]);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = e;
    return 0;
}

static int blank_or_comment(const char *s)
{
    s += strspn(s, " \t\r\n");
    return *s == '\0' || *s == '#';
}

/* The next line into buf: 1, 0 at the end, -1 when longer than buf. */
static int next_line(FILE *fp, char *buf, size_t len)
{
    if (!fgets(buf, (int)len, fp))
        return 0;
    return strchr(buf, '\n') || feof(fp) ? 1 : -1;
}

int services_load_authorised(struct svc_authlist *l, const char *path, char *msg, size_t msglen)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -errno;
    char line[AUTH_LINE_MAX], why[160];
    unsigned lineno = 0;
    int header = 0, rc = 0, got;
    while (rc == 0 && (got = next_line(fp, line, sizeof(line))) != 0) {
        lineno++;
        if (got < 0) {
            snprintf(why, sizeof(why), "line longer than %d bytes", AUTH_LINE_MAX - 2);
            rc = FS_EINVAL;
        } else if (blank_or_comment(line)) {
            continue;
        } else if (!header) {
            char *f[3];
            header = 1;
            if (split3(line, f) != 0 || strcmp(f[0], "server") != 0 || strcmp(f[1], "proto") != 0 ||
                strcmp(f[2], "port") != 0) {
                snprintf(why, sizeof(why), "the header must be server,proto,port");
                rc = FS_EINVAL;
            }
        } else if (auth_line(l, line, why, sizeof(why)) != 0) {
            rc = FS_EINVAL;
        }
        if (rc)
            snprintf(msg, msglen, "%s:%u: %s", path, lineno, why);
    }
    if (rc == 0 && !header) {
        snprintf(msg, msglen, "%s: empty (the header server,proto,port is needed)", path);
        rc = FS_EINVAL;
    }
    fclose(fp);
    return rc;
}
