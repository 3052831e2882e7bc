/*
 * Suricata EVE reader (eve.h). One line at a time is validated and read in place
 * (eve_json.h: jansson's rules without its tree of allocated values), so a file of any
 * size streams in the memory of one line; every value is type-checked before use, and
 * a line that fails a check is counted, not fatal.
 */
#include "eve.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "eve_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

struct eve_slot {
    uint32_t start, n; /* n == 0: empty */
    uint64_t tag;      /* the digest's first 8 bytes: a miss never touches the alerts */
};

void eve_init(struct eve *e)
{
    memset(e, 0, sizeof(*e));
    e->cappool = 4096;
    e->pool = xmalloc(e->cappool);
    e->pool[0] = '\0';
    e->npool = 1;
    e->json = xmalloc(sizeof(*e->json));
    ej_init(e->json);
}

void eve_free(struct eve *e)
{
    if (e->json)
        ej_free(e->json);
    free(e->json);
    free(e->alerts);
    free(e->dns);
    free(e->flows);
    free(e->pool);
    free(e->intern);
    free(e->index);
    free(e->tuples);
    memset(e, 0, sizeof(*e));
}

/* ---- strings ---- */

/* Control characters become spaces: the text goes to terminals and tables, where a
 * newline or an escape sequence from a rule does harm. */
static char clean(char c)
{
    unsigned char u = (unsigned char)c;
    if (u < 0x20 || u == 0x7f)
        return ' ';
    return c;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, of the cleaned text */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)clean(s[i])) * 1099511628211ULL;
    return h;
}

/* 1 when the pool's t is s (n bytes) cleaned. */
static int same_text(const char *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] != clean(s[i]))
            return 0;
    return t[n] == '\0';
}

static void intern_grow(struct eve *e)
{
    size_t cap = e->capintern ? e->capintern * 2 : 1024;
    uint32_t *t = xcalloc(cap, sizeof(*t));
    for (size_t i = 0; i < e->capintern; i++) {
        uint32_t v = e->intern[i];
        if (!v)
            continue;
        const char *s = e->pool + v - 1;
        size_t j = hash_bytes(s, strlen(s)) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = v;
    }
    free(e->intern);
    e->intern = t;
    e->capintern = cap;
}

/* Append s (n bytes), cleaned, to the pool. */
static uint32_t pool_add(struct eve *e, const char *s, size_t n)
{
    if (e->npool + n + 1 > UINT32_MAX)
        return 0; /* pool full (4 GiB of distinct text): the empty string */
    while (e->npool + n + 1 > e->cappool) {
        e->cappool *= 2;
        e->pool = xrealloc(e->pool, e->cappool);
    }
    uint32_t off = (uint32_t)e->npool;
    for (size_t i = 0; i < n; i++)
        e->pool[off + i] = clean(s[i]);
    e->pool[off + n] = '\0';
    e->npool += n + 1;
    return off;
}

/* The pool offset of s (NUL-free, n bytes), added once. */
static uint32_t intern(struct eve *e, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (2 * (e->ninterned + 1) > e->capintern)
        intern_grow(e);
    uint64_t h = hash_bytes(s, n);
    size_t j = h & (e->capintern - 1);
    for (; e->intern[j]; j = (j + 1) & (e->capintern - 1)) {
        const char *t = e->pool + e->intern[j] - 1;
        if (same_text(t, s, n))
            return e->intern[j] - 1;
    }
    uint32_t off = pool_add(e, s, n);
    if (off == 0)
        return 0;
    e->intern[j] = off + 1;
    e->ninterned++;
    return off;
}

/* ---- field readers: 0, or -1 when the field is present with a wrong type or value;
 * a missing field leaves *out as it was and returns 1. */

static int get_str(struct eve *e, const struct ej_obj *o, const char *key, const char **out,
                   size_t *len)
{
    const char *v = ej_get(o, key);
    if (!v)
        return 1;
    return ej_string(e->json, v, out, len);
}

static int get_uint(const struct ej_obj *o, const char *key, uint64_t max, uint64_t *out)
{
    const char *v = ej_get(o, key);
    int64_t n;
    if (!v)
        return 1;
    if (ej_int(v, &n) != 0 || n < 0 || (uint64_t)n > max)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

static int take_digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int take_char(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/* ".123456": milliseconds (digits past the third dropped); none is 0. */
static int take_fraction(const char **p, unsigned *ms)
{
    *ms = 0;
    if (**p != '.')
        return 0;
    (*p)++;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++)
        if (n < 3)
            *ms = *ms * 10 + (unsigned)(**p - '0');
    for (int k = n; k < 3; k++)
        *ms *= 10;
    return n ? 0 : -1;
}

/* "Z", "+0100", "-05:00" or nothing (UTC): the offset in ms. */
static int take_offset(const char **p, int64_t *off)
{
    *off = 0;
    if (**p == 'Z') {
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return 0;
    int64_t sign = **p == '-' ? -1 : 1;
    unsigned h, m;
    (*p)++;
    if (take_digits(p, 2, &h) != 0)
        return -1;
    if (**p == ':')
        (*p)++;
    if (take_digits(p, 2, &m) != 0 || h > 23 || m > 59)
        return -1;
    *off = sign * (int64_t)(h * 60 + m) * 60000;
    return 0;
}

int eve_parse_time(const char *s, int64_t *ms)
{
    unsigned y, mo, d, h, mi, sec, frac;
    int64_t off;
    const char *p = s;
    if (take_digits(&p, 4, &y) || take_char(&p, '-') || take_digits(&p, 2, &mo) ||
        take_char(&p, '-') || take_digits(&p, 2, &d) || take_char(&p, 'T') ||
        take_digits(&p, 2, &h) || take_char(&p, ':') || take_digits(&p, 2, &mi) ||
        take_char(&p, ':') || take_digits(&p, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (take_fraction(&p, &frac) || take_offset(&p, &off) || *p)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    *ms = secs * 1000 + frac - off;
    return 0;
}

static int get_time(struct eve *e, const struct ej_obj *o, const char *key, int64_t *ms)
{
    const char *s;
    size_t len;
    if (get_str(e, o, key, &s, &len) != 0 || len > 64)
        return -1;
    return eve_parse_time(s, ms);
}

/* EVE's proto: a name ("TCP", "IPv6-ICMP") or a number, as a string or an integer. */
static int parse_proto(struct eve *e, const char *v, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = { { "TCP", 6 },     { "UDP", 17 },   { "ICMP", 1 },  { "IPv6-ICMP", 58 },
                  { "ICMPv6", 58 }, { "SCTP", 132 }, { "GRE", 47 },  { "ESP", 50 },
                  { "AH", 51 },     { "IGMP", 2 },   { "OSPF", 89 }, { "IPv6", 41 } };
    int64_t n;
    const char *s;
    size_t len;
    if (ej_int(v, &n) == 0) {
        if (n < 0 || n > 255)
            return -1;
        *out = (uint8_t)n;
        return 0;
    }
    if (ej_string(e->json, v, &s, &len) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].num;
            return 0;
        }
    }
    char *end;
    unsigned long u = strtoul(s, &end, 10);
    if (end == s || *end || u > 255 || *s < '0' || *s > '9')
        return -1;
    *out = (uint8_t)u;
    return 0;
}

/* An address as text: a dotted quad here (as inet_pton reads it: four decimal parts up
 * to 255, no leading zero), anything else through parse_addr; glibc's inet_pton looks
 * every digit up with strchr, a tenth of loading a million alerts. */
static int addr_parse(const char *s, uint8_t a[16], int *ver)
{
    uint8_t v4[4];
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        unsigned v = 0;
        int n = 0;
        for (; *p >= '0' && *p <= '9' && n < 4; p++, n++)
            v = v * 10 + (unsigned)(*p - '0');
        if (n == 0 || n > 3 || v > 255 || (n > 1 && p[-n] == '0') || *p != (i < 3 ? '.' : '\0'))
            return parse_addr(s, a, ver);
        v4[i] = (uint8_t)v;
        p += i < 3;
    }
    flow_addr_from_v4(a, v4);
    *ver = 4;
    return 0;
}

/* The 5-tuple of an event into a flow key (addresses are required; ports are 0 when
 * absent; ICMP type and code as the flow record keeps them). */
static int get_tuple(struct eve *e, const struct ej_obj *o, struct flow *k)
{
    const char *s, *d;
    size_t ls, ld;
    int vs, vd;
    uint64_t sp = 0, dp = 0, type = 0, code = 0;
    memset(k, 0, sizeof(*k));
    if (get_str(e, o, "src_ip", &s, &ls) != 0 || get_str(e, o, "dest_ip", &d, &ld) != 0 ||
        addr_parse(s, k->src, &vs) != 0 || addr_parse(d, k->dst, &vd) != 0 || vs != vd)
        return -1;
    const char *pv = ej_get(o, "proto");
    if (!pv || parse_proto(e, pv, &k->proto) != 0)
        return -1;
    if (get_uint(o, "src_port", 65535, &sp) < 0 || get_uint(o, "dest_port", 65535, &dp) < 0 ||
        get_uint(o, "icmp_type", 255, &type) < 0 || get_uint(o, "icmp_code", 255, &code) < 0)
        return -1;
    k->ipver = (uint8_t)vs;
    k->sport = (uint16_t)sp;
    k->dport = (uint16_t)dp;
    if (k->proto == 1 || k->proto == 58) {
        k->sport = 0;
        k->dport = (uint16_t)(type << 8 | code);
    }
    return 0;
}

/* community_id when Suricata wrote one (it must then be a v1 id), else computed from
 * the tuple with this process's seed. */
static int get_cid(struct eve *e, const struct ej_obj *o, const struct flow *k,
                   uint8_t cid[CID_DIGEST])
{
    const char *s;
    size_t len;
    int r = get_str(e, o, "community_id", &s, &len);
    if (r < 0)
        return -1;
    if (r == 0)
        return cid_parse(s, len, cid);
    cid_digest(k, cid_seed(), cid);
    e->cid_made++;
    return 0;
}

/* ---- events ---- */

#define GROW(arr, n, cap)                                    \
    do {                                                     \
        if ((n) == (cap)) {                                  \
            (cap) = (cap) ? (cap)*2 : 1024;                  \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr))); \
        }                                                    \
    } while (0)

static int take_alert(struct eve *e, const struct ej_obj *o)
{
    struct eve_alert a = { .severity = 255 };
    struct flow k;
    const struct ej_obj *al = ej_object(e->json, 1, ej_get(o, "alert"));
    const char *sig = "", *cat = "";
    size_t lsig = 0, lcat = 0;
    uint64_t sid = 0, sev = 255;
    if (!al || get_time(e, o, "timestamp", &a.ts_ms) != 0 || get_tuple(e, o, &k) != 0 ||
        get_cid(e, o, &k, a.cid) != 0)
        return -1;
    if (get_str(e, al, "signature", &sig, &lsig) < 0 ||
        get_str(e, al, "category", &cat, &lcat) < 0 ||
        get_uint(al, "signature_id", UINT32_MAX, &sid) < 0 ||
        get_uint(al, "severity", 255, &sev) < 0)
        return -1;
    if (e->nalerts >= UINT32_MAX - 1)
        return -1;
    memcpy(a.src, k.src, 16);
    memcpy(a.dst, k.dst, 16);
    a.sport = k.sport;
    a.dport = k.dport;
    a.proto = k.proto;
    a.ipver = k.ipver;
    a.sid = (uint32_t)sid;
    a.severity = (uint8_t)sev;
    a.signature = intern(e, sig, lsig);
    a.category = intern(e, cat, lcat);
    GROW(e->alerts, e->nalerts, e->capalerts);
    e->alerts[e->nalerts++] = a;
    return 0;
}

static int take_flow(struct eve *e, const struct ej_obj *o)
{
    struct eve_flowev fe = { 0 };
    struct flow k;
    const struct ej_obj *fl = ej_object(e->json, 1, ej_get(o, "flow"));
    if (!fl || get_time(e, fl, "start", &fe.start_ms) != 0 ||
        get_time(e, fl, "end", &fe.end_ms) != 0 || get_tuple(e, o, &k) != 0 ||
        get_cid(e, o, &k, fe.cid) != 0)
        return -1;
    if (get_uint(fl, "bytes_toserver", UINT64_MAX, &fe.bytes_toserver) < 0 ||
        get_uint(fl, "bytes_toclient", UINT64_MAX, &fe.bytes_toclient) < 0)
        return -1;
    GROW(e->flows, e->nflows, e->capflows);
    e->flows[e->nflows++] = fe;
    return 0;
}

/* One answer object {rrname, rrtype, rdata}; answers without rdata (SOA, ...) are
 * left out, a mistyped one spoils the event. */
static int take_answer(struct eve *e, const struct ej_obj *a, int64_t ts)
{
    const char *name, *type, *data;
    size_t ln, lt, ld;
    if (!a)
        return -1;
    int rn = get_str(e, a, "rrname", &name, &ln), rt = get_str(e, a, "rrtype", &type, &lt);
    int rd = get_str(e, a, "rdata", &data, &ld);
    if (rn < 0 || rt < 0 || rd < 0)
        return -1;
    if (rn || rt || rd)
        return 0;
    GROW(e->dns, e->ndns, e->capdns);
    struct eve_dns *d = &e->dns[e->ndns++];
    d->ts_ms = ts;
    d->rrname = intern(e, name, ln);
    d->rrtype = intern(e, type, lt);
    d->rdata = intern(e, data, ld);
    return 0;
}

/* DNS log v2 and v3: dns.answers[]; v1: the event is one answer (dns.type "answer");
 * queries carry no answer and are kept as nothing. */
static int take_dns(struct eve *e, const struct ej_obj *o)
{
    int64_t ts;
    const struct ej_obj *d = ej_object(e->json, 1, ej_get(o, "dns"));
    if (!d || get_time(e, o, "timestamp", &ts) != 0)
        return -1;
    const char *ans = ej_get(d, "answers");
    if (ans) {
        if (!ej_is_array(ans))
            return -1;
        size_t keep = e->ndns;
        for (const char *el = ej_first(ans); el; el = ej_next(el)) {
            if (take_answer(e, ej_object(e->json, 2, el), ts) != 0) {
                e->ndns = keep; /* the event is skipped whole */
                return -1;
            }
        }
        return 0;
    }
    const char *type;
    size_t lt;
    if (get_str(e, d, "type", &type, &lt) == 0 && strcmp(type, "answer") == 0)
        return take_answer(e, d, ts);
    return 0;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

void eve_line(struct eve *e, const char *line, size_t len)
{
    if (blank(line, len))
        return;
    e->lines++;
    if (len > EVE_LINE_MAX) {
        e->skipped[EVE_SKIP_LONG]++;
        return;
    }
    enum ej_verdict v = ej_line(e->json, line, len);
    if (v != EJ_OK) {
        e->skipped[v == EJ_UTF8 ? EVE_SKIP_UTF8 : EVE_SKIP_JSON]++;
        return;
    }
    while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n')
        line++;
    const struct ej_obj *o = ej_object(e->json, 0, line);
    const char *type = NULL;
    size_t tl;
    const char *t = o ? ej_get(o, "event_type") : NULL;
    int rc = 0;
    if (!t || ej_string(e->json, t, &type, &tl) != 0)
        e->skipped[EVE_SKIP_NOT_EVENT]++;
    else if (strcmp(type, "alert") == 0)
        rc = take_alert(e, o);
    else if (strcmp(type, "flow") == 0)
        rc = take_flow(e, o);
    else if (strcmp(type, "dns") == 0)
        rc = take_dns(e, o);
    else
        e->other++;
    if (rc != 0)
        e->skipped[EVE_SKIP_FIELD]++;
}

/* Every complete line of buf[0..len): the bytes used. *skipping: the first line is the
 * tail of one that was too long (counted already). */
static size_t take_lines(struct eve *e, const char *buf, size_t len, int *skipping)
{
    size_t pos = 0;
    const char *nl;
    while ((nl = memchr(buf + pos, '\n', len - pos)) != NULL) {
        size_t n = (size_t)(nl - (buf + pos));
        if (*skipping)
            *skipping = 0;
        else
            eve_line(e, buf + pos, n);
        pos += n + 1;
    }
    return pos;
}

int eve_read(struct eve *e, FILE *fp)
{
    /* One line and its newline fit; a buffer full without a newline is a line too long,
     * whose rest is dropped up to the next newline. */
    size_t cap = (size_t)EVE_LINE_MAX + 1, len = 0, got;
    char *buf = xmalloc(cap);
    int skipping = 0;
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        size_t used = take_lines(e, buf, len, &skipping);
        memmove(buf, buf + used, len - used);
        len -= used;
        if (len == cap) {
            if (!skipping) {
                e->lines++;
                e->skipped[EVE_SKIP_LONG]++;
            }
            skipping = 1;
            len = 0;
        }
    }
    if (len && !skipping)
        eve_line(e, buf, len);
    int rc = ferror(fp) ? -(errno ? errno : EIO) : 0;
    free(buf);
    return rc;
}

int eve_load(struct eve *e, const char *path, struct fs_err *err)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp)
        return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    errno = 0;
    int rc = eve_read(e, fp);
    if (fp != stdin)
        fclose(fp);
    if (rc != 0)
        return fs_err_set(err, rc, -1, "%s: read: %s", path, fs_strerror(rc));
    return 0;
}

/* ---- the index ---- */

static int alert_cmp(const void *pa, const void *pb)
{
    const struct eve_alert *a = pa, *b = pb;
    /* Equal digests together, in any order: the first 8 bytes decide nearly always. */
    uint64_t x, y;
    memcpy(&x, a->cid, sizeof(x));
    memcpy(&y, b->cid, sizeof(y));
    if (x != y)
        return x < y ? -1 : 1;
    int c = memcmp(a->cid + 8, b->cid + 8, CID_DIGEST - 8);
    if (c)
        return c;
    return (a->ts_ms > b->ts_ms) - (a->ts_ms < b->ts_ms);
}

/*
 * Zeroed memory for the tables the join reads at random (the alerts, the index, the bit
 * set: 120 MB for 1 M alerts), in 2 MiB pages where the kernel gives them: with 4 KiB
 * pages nearly every probe also misses the TLB, and in a virtual machine a TLB miss is
 * a walk of two page tables. Freed with free().
 */
static void *table_alloc(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < huge)
        return xcalloc(1, n);
    size_t len = (n + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, len);
    if (!p)
        return xcalloc(1, n);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: 4 KiB pages work too */
#endif
    memset(p, 0, len);
    return p;
}

/* A SHA-1 digest is uniform already: its first bytes are the hash. */
static size_t slot_of(const uint8_t cid[CID_DIGEST], size_t mask)
{
    uint64_t h;
    memcpy(&h, cid, sizeof(h));
    return (size_t)h & mask;
}

/* One endpoint (address, port) of a connection, mixed. */
static uint64_t end_hash(const uint8_t a[16], uint16_t port)
{
    uint64_t hi, lo;
    memcpy(&hi, a, 8);
    memcpy(&lo, a + 8, 8);
    uint64_t x = hi * 0x9E3779B97F4A7C15ULL ^ lo * 0xC2B2AE3D27D4EB4FULL ^
                 (uint64_t)port * 0x165667B19E3779F9ULL;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    return x ^ (x >> 32);
}

/*
 * The two bits of a connection in e->tuples, in one 64-bit word (a blocked Bloom
 * filter: one cache line a probe, about 5 % false positives at 8 bits an alert where
 * one bit gave 12 %): the same for both directions (the endpoints' hashes are added),
 * ports left out for ICMP (a reply's type differs from its request's, the Community ID
 * pairs them). Suricata computes community_id from the alert's own 5-tuple, so a flow
 * whose bits are not both set has no alert: most flows of a print are answered without
 * a SHA-1. Returns the word's index; *mask: its two bits.
 */
static size_t tuple_word(const struct eve *e, const uint8_t *src, uint16_t sport,
                         const uint8_t *dst, uint16_t dport, uint8_t proto, uint64_t *mask)
{
    if (proto == 1 || proto == 58)
        sport = dport = 0;
    uint64_t x = end_hash(src, sport) + end_hash(dst, dport) + proto * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    x *= 0xD6E8FEB86659FD93ULL;
    x ^= x >> 29;
    *mask = (uint64_t)1 << (x & 63) | (uint64_t)1 << ((x >> 6) & 63);
    return (size_t)(x >> e->tuple_shift);
}

static void index_tuples(struct eve *e)
{
    unsigned bits = 12;
    while (bits < 40 && ((size_t)1 << bits) < 8 * e->nalerts)
        bits++;
    free(e->tuples);
    e->tuples = table_alloc(((size_t)1 << bits) / 8);
    e->tuple_shift = 64 - (bits - 6); /* the top bits choose one of 2^(bits - 6) words */
    for (size_t i = 0; i < e->nalerts; i++) {
        const struct eve_alert *a = &e->alerts[i];
        uint64_t m;
        size_t w = tuple_word(e, a->src, a->sport, a->dst, a->dport, a->proto, &m);
        e->tuples[w] |= m;
    }
}

void eve_index(struct eve *e)
{
    index_tuples(e);
    if (e->nalerts > 1) {
        struct eve_alert *a = table_alloc(e->nalerts * sizeof(*a));
        memcpy(a, e->alerts, e->nalerts * sizeof(*a));
        free(e->alerts);
        e->alerts = a;
        e->capalerts = e->nalerts;
        qsort(e->alerts, e->nalerts, sizeof(*e->alerts), alert_cmp);
    }
    size_t groups = 0;
    for (size_t i = 0; i < e->nalerts; i++)
        groups += i == 0 || memcmp(e->alerts[i].cid, e->alerts[i - 1].cid, CID_DIGEST) != 0;
    size_t cap = 16;
    while (cap < 2 * groups)
        cap *= 2;
    free(e->index);
    e->index = table_alloc(cap * sizeof(*e->index));
    e->capindex = cap;
    for (size_t i = 0; i < e->nalerts;) {
        size_t j = i + 1;
        while (j < e->nalerts && memcmp(e->alerts[j].cid, e->alerts[i].cid, CID_DIGEST) == 0)
            j++;
        size_t s = slot_of(e->alerts[i].cid, cap - 1);
        while (e->index[s].n)
            s = (s + 1) & (cap - 1);
        e->index[s].start = (uint32_t)i;
        e->index[s].n = (uint32_t)(j - i);
        memcpy(&e->index[s].tag, e->alerts[i].cid, sizeof(e->index[s].tag));
        i = j;
    }
}

const struct eve_alert *eve_range(const struct eve *e, const uint8_t cid[CID_DIGEST],
                                  int64_t from_ms, int64_t to_ms, size_t *n)
{
    *n = 0;
    if (!e->index)
        return NULL;
    size_t mask = e->capindex - 1, s = slot_of(cid, mask);
    uint64_t tag;
    memcpy(&tag, cid, sizeof(tag));
    for (; e->index[s].n; s = (s + 1) & mask)
        if (e->index[s].tag == tag &&
            memcmp(e->alerts[e->index[s].start].cid, cid, CID_DIGEST) == 0)
            break;
    if (!e->index[s].n)
        return NULL;
    const struct eve_alert *a = e->alerts + e->index[s].start;
    size_t lo = 0, hi = e->index[s].n, end = hi;
    while (lo < hi) { /* the first alert at or after from_ms */
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].ts_ms < from_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    while (i < end && a[i].ts_ms <= to_ms)
        i++;
    *n = i - lo;
    return *n ? a + lo : NULL;
}

unsigned eve_join(const struct eve *e, const uint8_t cid[CID_DIGEST], int64_t from_ms,
                  int64_t to_ms, struct eve_hit *hit)
{
    size_t n;
    const struct eve_alert *a = eve_range(e, cid, from_ms, to_ms, &n);
    hit->n = (unsigned)n;
    hit->best = NULL;
    for (size_t i = 0; i < n; i++)
        if (!hit->best || a[i].severity < hit->best->severity)
            hit->best = &a[i];
    return hit->n;
}

int eve_may_join(const struct eve *e, const struct flow *f)
{
    if (!e->tuples)
        return 0;
    uint64_t m;
    size_t w = tuple_word(e, f->src, f->sport, f->dst, f->dport, f->proto, &m);
    return (e->tuples[w] & m) == m;
}

unsigned eve_join_flow(const struct eve *e, const struct flow *f, int64_t slack_ms,
                       struct eve_hit *hit)
{
    uint8_t d[CID_DIGEST];
    hit->n = 0;
    hit->best = NULL;
    if (!eve_may_join(e, f))
        return 0;
    cid_digest(f, cid_seed(), d);
    return eve_join(e, d, (int64_t)f->first - slack_ms, (int64_t)f->last + slack_ms, hit);
}

unsigned long long eve_skips_text(const struct eve *e, char *buf, size_t size)
{
    static const char *const why[EVE_NSKIP] = { "too long", "not UTF-8", "not JSON", "not an event",
                                                "bad or missing field" };
    unsigned long long total = 0;
    for (int i = 0; i < EVE_NSKIP; i++)
        total += e->skipped[i];
    if (size)
        buf[0] = '\0';
    if (!total || !size)
        return total;
    size_t n =
        (size_t)snprintf(buf, size, "eve: %llu line%s skipped:", total, total == 1 ? "" : "s");
    const char *sep = " ";
    for (int i = 0; i < EVE_NSKIP && n < size; i++) {
        if (!e->skipped[i])
            continue;
        n += (size_t)snprintf(buf + n, size - n, "%s%llu %s", sep, e->skipped[i], why[i]);
        sep = ", ";
    }
    return total;
}
