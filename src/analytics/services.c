/* Services that answered, against an authorised inventory (services.h). */
#include "services.h"
#include "addrmap.h"

#include "../core/err.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PROTO_TCP     6
#define PROTO_UDP     17
#define AUTH_LINE_MAX 512

/* One service's record in the map: its key (server, proto << 16 | port) and sums;
 * clients are counted from the (service, client) pairs at the end, into an array of
 * their own: so the record is 64 bytes, one cache line for each lookup (addrmap.c). */
struct sagg {
    struct addrkey k;
    uint64_t first, last, flows, bytes;
    uint32_t last_client; /* the client id of the pair pushed last (UINT32_MAX: none) */
    uint8_t ipver;
};

_Static_assert(sizeof(struct sagg) == 64, "services' record: one cache line");
_Static_assert(2 * sizeof(struct sagg) + ADDRMAP_BYTES_PER_KEY + sizeof(uint64_t) <=
                       SERVICES_BYTES_PER_SERVICE &&
                   2 * sizeof(struct addrkey) + ADDRMAP_BYTES_PER_KEY <= SERVICES_BYTES_PER_CLIENT,
               "services' --max-mem help says 160 bytes a service and 64 a client");

/*
 * The services by (server, proto, port) and the clients by address through hash maps:
 * each answered flow adds to its service's sums at once and leaves one 8-byte
 * (service, client) pair, and services_finish sorts the pairs (a radix sort) to count
 * each service's distinct clients and only the distinct services by key. Sorting every
 * answered flow by (server, proto, port, client) was most of the command's time.
 */
struct services {
    struct services_opts o;
    struct addrmap svc, cli; /* records: struct sagg, struct addrkey */
    uint64_t *pairs;         /* service id << 32 | client id */
    size_t npairs, pcap;
    size_t nflows, used, max_mem;
    struct spend { /* answered flows not yet added: looked up a batch at a time */
        uint64_t first, last, bytes;
        uint8_t ipver;
    } pend[ADDRMAP_BATCH];
    struct addrkey psk[ADDRMAP_BATCH], pck[ADDRMAP_BATCH];
    size_t npend;
};

const char *services_status_name(enum svc_status st)
{
    return st == SVC_AUTHORISED ? "authorised" : st == SVC_UNEXPECTED ? "unexpected" : "missing";
}

struct services *services_new(const struct services_opts *o)
{
    struct services *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    addrmap_init(&s->svc, sizeof(struct sagg));
    addrmap_init(&s->cli, sizeof(struct addrkey));
    s->max_mem = o->max_mem;
    return s;
}

size_t services_flows(const struct services *s)
{
    return s->nflows;
}

void services_free(struct services *s)
{
    if (!s)
        return;
    addrmap_free(&s->svc);
    addrmap_free(&s->cli);
    free(s->pairs);
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

#define WORST_FLOW \
    (SERVICES_BYTES_PER_SERVICE + SERVICES_BYTES_PER_CLIENT + SERVICES_BYTES_PER_PAIR)

/* 1 when the flow's new keys and pair would not fit in max_mem. */
static int full(const struct services *s, const struct addrkey *sk, const struct addrkey *ck)
{
    if (s->used + WORST_FLOW <= s->max_mem)
        return 0;
    size_t need = SERVICES_BYTES_PER_PAIR;
    need += addrmap_get(&s->svc, sk) == UINT32_MAX ? SERVICES_BYTES_PER_SERVICE : 0;
    need += addrmap_get(&s->cli, ck) == UINT32_MAX ? SERVICES_BYTES_PER_CLIENT : 0;
    return s->used + need > s->max_mem;
}

/* Add the flows held (their room was checked). */
static void flush(struct services *s)
{
    uint32_t sid[ADDRMAP_BATCH], cid[ADDRMAP_BATCH];
    uint8_t sadded[ADDRMAP_BATCH], cadded[ADDRMAP_BATCH];
    addrmap_put_batch(&s->svc, s->psk, s->npend, sid, sadded);
    addrmap_put_batch(&s->cli, s->pck, s->npend, cid, cadded);
    for (size_t i = 0; i < s->npend; i++) {
        const struct spend *p = &s->pend[i];
        struct sagg *g = addrmap_rec(&s->svc, sid[i]);
        if (sadded[i]) {
            g->first = UINT64_MAX;
            g->last_client = UINT32_MAX;
            g->ipver = p->ipver;
            s->used += SERVICES_BYTES_PER_SERVICE;
        }
        s->used += cadded[i] ? SERVICES_BYTES_PER_CLIENT : 0;
        g->first = p->first < g->first ? p->first : g->first;
        g->last = p->last > g->last ? p->last : g->last;
        g->flows++;
        g->bytes += p->bytes;
        if (g->last_client != cid[i]) { /* a repeat of the same pair adds nothing */
            if (s->npairs == s->pcap) {
                s->pcap = s->pcap ? 2 * s->pcap : 4096;
                s->pairs = xrealloc(s->pairs, s->pcap * sizeof(*s->pairs));
            }
            s->pairs[s->npairs++] = (uint64_t)sid[i] << 32 | cid[i];
            s->used += SERVICES_BYTES_PER_PAIR;
            g->last_client = cid[i];
        }
    }
    s->npend = 0;
}

int services_add(struct services *s, const struct flow *f)
{
    if (!services_flow_answers(f))
        return 0;
    const struct netlist *in = s->o.internal;
    if (in && in->nnets && !netlist_has_addr(in, f->dst))
        return 0;
    struct addrkey *sk = &s->psk[s->npend], *ck = &s->pck[s->npend];
    addrkey_load(sk, f->dst, (uint32_t)f->proto << 16 | f->dport);
    addrkey_load(ck, f->src, 0);
    if (s->used + (s->npend + 1) * WORST_FLOW > s->max_mem) { /* near full: exactly */
        struct addrkey k1 = *sk, k2 = *ck;
        flush(s);
        if (full(s, &k1, &k2))
            return FS_ENOSPC;
        s->psk[0] = k1;
        s->pck[0] = k2;
    }
    struct spend *p = &s->pend[s->npend++];
    p->first = f->first;
    p->last = f->last < f->first ? f->first : f->last;
    p->bytes = f->bytes + f->rbytes;
    p->ipver = f->ipver ? f->ipver : (flow_addr_is_v4mapped(f->dst) ? 4 : 6);
    if (s->npend == ADDRMAP_BATCH)
        flush(s);
    s->nflows++;
    return 0;
}

int services_merge(struct services *dst, struct services *src)
{
    flush(src);
    flush(dst);
    uint32_t *sid = xmalloc((src->svc.n ? src->svc.n : 1) * sizeof(*sid));
    uint32_t *cid = xmalloc((src->cli.n ? src->cli.n : 1) * sizeof(*cid));
    int added, rc = 0;
    for (uint32_t i = 0; i < src->svc.n; i++) {
        const struct sagg *s = addrmap_rec(&src->svc, i);
        sid[i] = addrmap_put(&dst->svc, &s->k, &added);
        struct sagg *g = addrmap_rec(&dst->svc, sid[i]);
        if (added) {
            *g = *s;
            dst->used += SERVICES_BYTES_PER_SERVICE;
        } else {
            g->first = s->first < g->first ? s->first : g->first;
            g->last = s->last > g->last ? s->last : g->last;
            g->flows += s->flows;
            g->bytes += s->bytes;
        }
        g->last_client = UINT32_MAX;
    }
    for (uint32_t i = 0; i < src->cli.n; i++) {
        cid[i] = addrmap_put(&dst->cli, addrmap_key(&src->cli, i), &added);
        dst->used += added ? SERVICES_BYTES_PER_CLIENT : 0;
    }
    if (dst->npairs + src->npairs > dst->pcap) {
        dst->pcap = dst->npairs + src->npairs;
        dst->pairs = xrealloc(dst->pairs, dst->pcap * sizeof(*dst->pairs));
    }
    for (size_t i = 0; i < src->npairs; i++)
        dst->pairs[dst->npairs++] =
            (uint64_t)sid[src->pairs[i] >> 32] << 32 | cid[src->pairs[i] & 0xffffffffu];
    dst->used += src->npairs * SERVICES_BYTES_PER_PAIR;
    dst->nflows += src->nflows;
    if (dst->used > dst->max_mem)
        rc = FS_ENOSPC;
    free(sid);
    free(cid);
    return rc;
}

static unsigned bits_of(uint64_t v)
{
    unsigned b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

/*
 * An array of n keys in 2 MiB pages where the kernel gives them: the sort's buffer, as
 * large as its largest bucket (large when one service has most of the pairs), which
 * its passes scatter over; with 4 KiB pages nearly every store also missed the TLB.
 * Freed with free().
 */
static uint64_t *keys_alloc(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    size_t len = n * sizeof(uint64_t);
    if (len < huge)
        return xmalloc(len ? len : 1);
    len = (len + huge - 1) / huge * huge;
    uint64_t *p = aligned_alloc(huge, len);
    if (!p)
        return xmalloc(n * sizeof(uint64_t));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: 4 KiB pages work too */
#endif
    return p;
}

/* The pairs' sort: the top digit's bits, and the bits of the digits below it. */
#define TOP_BITS 11
#define LOW_BITS 8

/* v[0..n) by their bits below `bits`, least significant digit first, through tmp (as
 * large); the result in v. */
static void sort_low(uint64_t *v, uint64_t *tmp, size_t n, unsigned bits)
{
    enum { RN = 1 << LOW_BITS };
    size_t cnt[RN];
    uint64_t *src = v, *dst = tmp;
    for (unsigned shift = 0; shift < bits; shift += LOW_BITS) {
        memset(cnt, 0, sizeof(cnt));
        for (size_t i = 0; i < n; i++)
            cnt[src[i] >> shift & (RN - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < RN; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[src[i] >> shift & (RN - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof(*v));
}

/* Every pair into the bucket of its digit v >> top (bucket d is v[start[d] ..
 * start[d + 1]), next[d] its first pair not yet in place), in place: each pair taken
 * from a bucket it does not belong to goes to the first free place of its own and
 * brings the pair found there along. */
static void flag_pass(uint64_t *v, const size_t *start, size_t *next, unsigned top)
{
    for (size_t d = 0; d < ((size_t)1 << TOP_BITS); d++) {
        while (next[d] < start[d + 1]) {
            uint64_t x = v[next[d]];
            for (size_t e = (size_t)(x >> top); e != d; e = (size_t)(x >> top)) {
                uint64_t t = v[next[e]];
                v[next[e]++] = x;
                x = t;
            }
            v[next[d]++] = x;
        }
    }
}

/*
 * s's pairs (keys below 2^bits) sorted in place: by their top TOP_BITS bits (an
 * American flag pass: each pair moved once, inside the array), then each bucket by the
 * bits below through a buffer as large as the largest bucket, in the cache. Three LSD
 * passes over the whole array each went to memory, into two arrays as large whose
 * pages the kernel zeroed first (a tenth of the command's time over 10 M pairs).
 */
static void sort_pairs(struct services *s, unsigned bits)
{
    enum { RN = 1 << TOP_BITS };
    uint64_t *v = s->pairs;
    size_t n = s->npairs, most = 0;
    unsigned top = bits > TOP_BITS ? bits - TOP_BITS : 0;
    size_t *start = xcalloc(RN + 1, sizeof(*start)), *next = xmalloc(RN * sizeof(*next));
    for (size_t i = 0; i < n; i++)
        start[(v[i] >> top) + 1]++;
    for (size_t d = 0; d < RN; d++) {
        most = start[d + 1] > most ? start[d + 1] : most;
        start[d + 1] += start[d];
    }
    memcpy(next, start, RN * sizeof(*next));
    flag_pass(v, start, next, top);
    free(next);
    if (top) {
        uint64_t *tmp = keys_alloc(most);
        for (size_t d = 0; d < RN; d++)
            sort_low(v + start[d], tmp, start[d + 1] - start[d], top);
        free(tmp);
    }
    free(start);
}

/* Every service's distinct clients from the pairs: a new array by service id. */
static uint64_t *count_clients(struct services *s)
{
    uint64_t *clients = xcalloc(s->svc.n ? s->svc.n : 1, sizeof(*clients));
    if (!s->npairs)
        return clients;
    /* pack the pair as sid * 2^cbits + cid so the sort handles only the bits used */
    unsigned cbits = bits_of(s->cli.n ? s->cli.n - 1 : 0);
    unsigned bits = cbits + bits_of(s->svc.n ? s->svc.n - 1 : 0);
    for (size_t i = 0; i < s->npairs; i++)
        s->pairs[i] = (s->pairs[i] >> 32) << cbits | (s->pairs[i] & 0xffffffffu);
    sort_pairs(s, bits);
    for (size_t i = 0; i < s->npairs; i++)
        if (i == 0 || s->pairs[i] != s->pairs[i - 1])
            clients[s->pairs[i] >> cbits]++;
    return clients;
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
    flush(s);
    uint64_t *clients = count_clients(s);
    uint32_t *ids = addrmap_sorted(&s->svc);
    int rc = 0;
    for (uint32_t i = 0; i < s->svc.n && !rc; i++) {
        const struct sagg *g = addrmap_rec(&s->svc, ids[i]);
        const struct addrkey *k = &g->k;
        struct svc_row r;
        memset(&r, 0, sizeof(r));
        addrkey_store(r.server, k);
        r.ipver = g->ipver;
        r.proto = (uint8_t)(k->tag >> 16);
        r.port = (uint16_t)k->tag;
        r.clients = clients[ids[i]];
        r.flows = g->flows;
        r.bytes = g->bytes;
        r.first = g->first;
        r.last = g->last;
        r.status = judge(s->o.auth, &r);
        rc = fn(ctx, &r);
    }
    free(ids);
    free(clients);
    return rc ? rc : emit_missing(s->o.auth, fn, ctx);
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
