#include "pdns.h"

#include "../core/xalloc.h"
#include "jstr.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 1024 /* bytes of a name or rdata string after unescaping */
#define RDATA_MAX    256  /* strings of an rdata array */

struct arec { /* an A/AAAA record: 32 bytes */
    uint8_t addr[16];
    uint32_t name; /* pool offset of the name it gives (after the CNAME chain) */
    uint32_t first, last, count;
};

struct crec {
    uint32_t owner, target; /* pool offsets */
    uint32_t first, last, count;
};

struct islot { /* interned name: pool offset + 1 (0 = empty) and its hash */
    uint32_t off1, hash;
};

/*
 * An address's answer over time: from second `from` to the next segment's, the name at
 * pool offset name - 1 (0 = none). An address's segments start at 0 and never repeat
 * the name before them.
 */
struct seg {
    uint64_t from; /* past 2^32: a record's time_last + PDNS_AFTER + 1 may be */
    uint32_t name;
};

/*
 * An address (nseg = 0: an empty slot), a cache line: a lookup that the answer of its
 * address's last lookup still answers touches this line alone. That answer is a
 * seqlock's data, as lookups run on several threads (filters on the decoder threads):
 * seq is odd while a thread writes it, and a reader that saw it change reads on.
 */
struct aslot {
    _Alignas(64) uint8_t addr[16];
    uint32_t start;     /* its first record in a[] */
    uint32_t seg, nseg; /* its segments in segs[] */
    _Atomic uint32_t seq;
    _Atomic uint32_t cur;      /* the segment of the last answer */
    _Atomic uint32_t name;     /* ... its name (segs' name) */
    _Atomic uint64_t from, to; /* ... and the seconds it answers, [from, to) */
};
_Static_assert(sizeof(struct aslot) == 64, "an address slot is a cache line");

struct pdns {
    char *pool;
    size_t npool, cappool;
    struct islot *names;
    size_t nnames, capnames; /* capnames: slots, a power of two */
    struct arec *a;
    size_t na, capa;
    struct crec *c;
    size_t nc, capc;
    struct aslot *slots; /* in slot_mem, at a cache line */
    void *slot_mem;
    size_t nslots; /* a power of two */
    struct seg *segs;
    size_t nsegs, capsegs;
    uint64_t *bits; /* a bit per address hash: clear, the table has no such address */
    size_t bitmask; /* bits' size in bits - 1 */
};

static struct pdns *current;

void pdns_use(struct pdns *t)
{
    current = t;
}

const struct pdns *pdns_current(void)
{
    return current;
}

const char *pdns_skip_name(enum pdns_skip r)
{
    static const char *const names[PDNS_NSKIP] = {
        [PDNS_SKIP_LONG] = "line too long",
        [PDNS_SKIP_JSON] = "not a JSON object",
        [PDNS_SKIP_FIELD] = "bad or missing field",
        [PDNS_SKIP_RDATA] = "rdata not an address of its type",
        [PDNS_SKIP_TIME] = "bad time range",
        [PDNS_SKIP_NAME] = "empty, long or unprintable name",
    };
    return (unsigned)r < PDNS_NSKIP ? names[r] : "?";
}

/* ---- interned names ---- */

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void names_grow(struct pdns *t)
{
    size_t cap = t->capnames ? t->capnames * 2 : 4096;
    struct islot *ns = xcalloc(cap, sizeof(*ns));
    for (size_t i = 0; i < t->capnames; i++) {
        if (!t->names[i].off1)
            continue;
        size_t s = t->names[i].hash & (cap - 1);
        while (ns[s].off1)
            s = (s + 1) & (cap - 1);
        ns[s] = t->names[i];
    }
    free(t->names);
    t->names = ns;
    t->capnames = cap;
}

/* The pool offset of name s (n bytes, no NUL), added when new. */
static uint32_t intern(struct pdns *t, const char *s, size_t n)
{
    if ((t->nnames + 1) * 2 > t->capnames)
        names_grow(t);
    uint32_t h = hash_str(s, n);
    size_t i = h & (t->capnames - 1);
    for (; t->names[i].off1; i = (i + 1) & (t->capnames - 1)) {
        const char *p = t->pool + t->names[i].off1 - 1;
        if (t->names[i].hash == h && strncmp(p, s, n) == 0 && p[n] == '\0')
            return t->names[i].off1 - 1;
    }
    if (t->npool + n + 1 > t->cappool) {
        t->cappool = (t->npool + n + 1) * 2;
        t->pool = xrealloc(t->pool, t->cappool);
    }
    uint32_t off = (uint32_t)t->npool;
    memcpy(t->pool + off, s, n);
    t->pool[off + n] = '\0';
    t->npool += n + 1;
    t->names[i].off1 = off + 1;
    t->names[i].hash = h;
    t->nnames++;
    return off;
}

/* ---- one line of JSON ---- */

struct jp {
    const char *s, *end;
};

static void ws(struct jp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n'))
        p->s++;
}

/* After an item of an object or array (close: its '}' or ']'): 0 at ',' (another
 * follows), 1 at its close, -1 else. Past either. */
static int next_item(struct jp *p, char close)
{
    ws(p);
    if (p->s >= p->end)
        return -1;
    if (*p->s == close) {
        p->s++;
        return 1;
    }
    return *p->s++ == ',' ? 0 : -1;
}

/*
 * A string at p->s ('"'): unescaped into out (cap bytes; NULL = skip it). Returns its
 * length, -1 when it is not a JSON string, -2 when it does not fit (still consumed).
 */
static long jstring(struct jp *p, char *out, size_t cap)
{
    if (p->s >= p->end || *p->s != '"')
        return -1;
    long n = jstr_scan(p->s + 1, p->end, out, cap, &p->s);
    if (n < 0)
        return -1;
    return out && (size_t)n >= cap ? -2 : n;
}

/* A JSON number; *v its integer part when it is >= 0 and below 2^63. 0, or -1. */
static int jnumber(struct jp *p, uint64_t *v, int *ok)
{
    const char *s = p->s;
    *v = 0;
    *ok = 1;
    if (s < p->end && *s == '-') {
        *ok = 0;
        s++;
    }
    if (s >= p->end || *s < '0' || *s > '9')
        return -1;
    if (*s == '0' && s + 1 < p->end && s[1] >= '0' && s[1] <= '9')
        return -1;
    for (; s < p->end && *s >= '0' && *s <= '9'; s++) {
        if (*v > (UINT64_MAX >> 1) / 10)
            *ok = 0;
        *v = *v * 10 + (uint64_t)(*s - '0');
    }
    if (s < p->end && *s == '.') {
        if (++s >= p->end || *s < '0' || *s > '9')
            return -1;
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        *ok = 0;
        s++;
        if (s < p->end && (*s == '+' || *s == '-'))
            s++;
        if (s >= p->end || *s < '0' || *s > '9')
            return -1;
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    p->s = s;
    return 0;
}

static int jskip(struct jp *p, int depth);

static int jlit(struct jp *p, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, lit, n) != 0)
        return -1;
    p->s += n;
    return 0;
}

/* Any value; containers nest at most 64 deep. */
static int jskip(struct jp *p, int depth)
{
    ws(p);
    if (p->s >= p->end || depth > 64)
        return -1;
    char c = *p->s;
    if (c == '"')
        return jstring(p, NULL, 0) == -1 ? -1 : 0;
    if (c == 't')
        return jlit(p, "true");
    if (c == 'f')
        return jlit(p, "false");
    if (c == 'n')
        return jlit(p, "null");
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p->s++;
        ws(p);
        if (p->s < p->end && *p->s == close) {
            p->s++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                ws(p);
                if (jstring(p, NULL, 0) == -1)
                    return -1;
                ws(p);
                if (p->s >= p->end || *p->s++ != ':')
                    return -1;
            }
            if (jskip(p, depth + 1) != 0)
                return -1;
            int r = next_item(p, close);
            if (r != 0)
                return r < 0 ? -1 : 0;
        }
    }
    uint64_t v;
    int ok;
    return jnumber(p, &v, &ok);
}

/* The members a line is read for, as bits of line.have (count, optional, sets none). */
enum { M_RRNAME = 1, M_RRTYPE = 2, M_RDATA = 4, M_FIRST = 8, M_LAST = 16, M_COUNT = 32 };
#define M_REQUIRED 31

struct line {
    char rrname[NAME_MAX_LEN], rrtype[16];
    char rdata[RDATA_MAX][NAME_MAX_LEN / 16]; /* addresses and short names */
    char *rdata_long;                         /* a long CNAME target (one string) */
    char rdata_buf[NAME_MAX_LEN];
    int nrdata;
    uint64_t first, last, count;
    int have; /* M_ bits of the members read */
};

/* One rdata string into l (the first may be long, later ones at most 63 bytes). */
static int rdata_string(struct jp *p, struct line *l)
{
    if (l->nrdata == RDATA_MAX)
        return -1;
    if (l->nrdata == 0) {
        long n = jstring(p, l->rdata_buf, sizeof(l->rdata_buf));
        if (n < 0)
            return -1;
        l->rdata_long = l->rdata_buf;
        l->nrdata = 1;
        return 0;
    }
    long n = jstring(p, l->rdata[l->nrdata], sizeof(l->rdata[0]));
    if (n < 0)
        return -1;
    l->nrdata++;
    return 0;
}

static const char *rdata_at(const struct line *l, int i)
{
    return i == 0 ? l->rdata_long : l->rdata[i];
}

/* What a member's reader returns when the line goes on; else a pdns_skip reason. */
#define MEMBER_OK (-1)

static int member_bit(const char *key)
{
    return !strcmp(key, "rrname")       ? M_RRNAME
           : !strcmp(key, "rrtype")     ? M_RRTYPE
           : !strcmp(key, "rdata")      ? M_RDATA
           : !strcmp(key, "time_first") ? M_FIRST
           : !strcmp(key, "time_last")  ? M_LAST
           : !strcmp(key, "count")      ? M_COUNT
                                        : 0;
}

/* rrname or rrtype (bit) at p->s: a string that fits, else *bad. */
static int take_text(struct jp *p, struct line *l, int bit, int *bad)
{
    char *out = bit == M_RRNAME ? l->rrname : l->rrtype;
    size_t cap = bit == M_RRNAME ? sizeof(l->rrname) : sizeof(l->rrtype);
    long n = *p->s == '"' ? jstring(p, out, cap) : -3;
    if (n == -1)
        return PDNS_SKIP_JSON;
    if (n >= 0) {
        l->have |= bit;
        return MEMBER_OK;
    }
    *bad = 1;
    if (n == -3 && jskip(p, 0) != 0)
        return PDNS_SKIP_JSON;
    return MEMBER_OK;
}

/* The strings of the rdata array at p->s ('['): 0, 1 when an element is not a string
 * that fits (the array is skipped), -1 when the array is not JSON. */
static int rdata_array(struct jp *p, struct line *l)
{
    const char *v = p->s;
    p->s++;
    ws(p);
    if (p->s < p->end && *p->s == ']') {
        p->s++;
        return 0;
    }
    for (;;) {
        ws(p);
        if (p->s >= p->end)
            return -1;
        if (*p->s != '"' || rdata_string(p, l) != 0) {
            p->s = v; /* skip the whole array as JSON */
            return jskip(p, 0) != 0 ? -1 : 1;
        }
        int r = next_item(p, ']');
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
}

/* rdata at p->s: a string, or an array of at least one string. */
static int take_rdata(struct jp *p, struct line *l, int *bad)
{
    const char *v = p->s;
    l->nrdata = 0;
    if (*v == '"') {
        if (rdata_string(p, l) != 0)
            return jstring(&(struct jp){ v, p->end }, NULL, 0) == -1 ? PDNS_SKIP_JSON
                                                                     : PDNS_SKIP_FIELD;
        l->have |= M_RDATA;
        return MEMBER_OK;
    }
    if (*v != '[') {
        if (jskip(p, 0) != 0)
            return PDNS_SKIP_JSON;
        *bad = 1;
        return MEMBER_OK;
    }
    int r = rdata_array(p, l);
    if (r < 0)
        return PDNS_SKIP_JSON;
    if (r == 0 && l->nrdata)
        l->have |= M_RDATA;
    else
        *bad = 1;
    return MEMBER_OK;
}

/* time_first, time_last or count (bit) at p->s: a number below 2^63, else *bad. */
static int take_number(struct jp *p, struct line *l, int bit, int *bad)
{
    if (*p->s != '-' && (*p->s < '0' || *p->s > '9')) {
        if (jskip(p, 0) != 0)
            return PDNS_SKIP_JSON;
        *bad = 1;
        return MEMBER_OK;
    }
    uint64_t x;
    int ok;
    if (jnumber(p, &x, &ok) != 0)
        return PDNS_SKIP_JSON;
    if (!ok) {
        *bad = 1;
        return MEMBER_OK;
    }
    if (bit == M_FIRST)
        l->first = x;
    else if (bit == M_LAST)
        l->last = x;
    else
        l->count = x;
    l->have |= bit & M_REQUIRED;
    return MEMBER_OK;
}

/* One member "key": value at p->s; a key too long to be one of ours is skipped. */
static int member(struct jp *p, struct line *l, int *bad)
{
    char key[32];
    ws(p);
    long kn = jstring(p, key, sizeof(key));
    if (kn == -1)
        return PDNS_SKIP_JSON;
    ws(p);
    if (p->s >= p->end || *p->s++ != ':')
        return PDNS_SKIP_JSON;
    ws(p);
    if (p->s >= p->end)
        return PDNS_SKIP_JSON;
    int bit = kn < 0 ? 0 : member_bit(key);
    if (bit == M_RRNAME || bit == M_RRTYPE)
        return take_text(p, l, bit, bad);
    if (bit == M_RDATA)
        return take_rdata(p, l, bad);
    if (bit >= M_FIRST)
        return take_number(p, l, bit, bad);
    return jskip(p, 0) != 0 ? PDNS_SKIP_JSON : MEMBER_OK;
}

/* Parse one line into l: -1, or the pdns_skip reason. */
static int parse_line(const char *s, size_t len, struct line *l)
{
    struct jp p = { s, s + len };
    l->have = 0;
    l->nrdata = 0;
    l->count = 1;
    int bad_field = 0;
    ws(&p);
    if (p.s >= p.end || *p.s++ != '{')
        return PDNS_SKIP_JSON;
    ws(&p);
    if (p.s < p.end && *p.s == '}') {
        p.s++;
    } else {
        for (int r = 0; r == 0;) {
            int m = member(&p, l, &bad_field);
            if (m != MEMBER_OK)
                return m;
            if ((r = next_item(&p, '}')) < 0)
                return PDNS_SKIP_JSON;
        }
    }
    ws(&p);
    if (p.s != p.end)
        return PDNS_SKIP_JSON;
    if (bad_field || (l->have & M_REQUIRED) != M_REQUIRED)
        return PDNS_SKIP_FIELD;
    if (l->last < l->first || l->last > UINT32_MAX)
        return PDNS_SKIP_TIME;
    return -1;
}

/* Lower a name in place, drop a final dot; 0, or -1 when it is empty, longer than
 * PDNS_NAME_MAX, or holds a byte outside printable ASCII or '"', ',' or '\\'. Returns
 * its new length in *n. */
static int norm_name(char *s, size_t *n)
{
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '.')
        s[--len] = '\0';
    if (len == 0 || len > PDNS_NAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == '\\')
            return -1;
        if (c >= 'A' && c <= 'Z')
            s[i] = (char)(c + 32);
    }
    *n = len;
    return 0;
}

/* The CNAME records of l (owner: its rrname's pool offset, once every target is a
 * name). */
static void add_cnames(struct pdns *t, struct line *l, size_t nn, uint32_t count,
                       struct pdns_stats *st)
{
    for (int i = 0; i < l->nrdata; i++) {
        size_t tn;
        if (norm_name((char *)rdata_at(l, i), &tn) != 0) {
            st->skipped[PDNS_SKIP_NAME]++;
            return;
        }
    }
    uint32_t owner = intern(t, l->rrname, nn);
    for (int i = 0; i < l->nrdata; i++) {
        if (t->nc == t->capc) {
            t->capc = t->capc ? t->capc * 2 : 1024;
            t->c = xrealloc(t->c, t->capc * sizeof(*t->c));
        }
        const char *r = rdata_at(l, i);
        t->c[t->nc++] = (struct crec){ owner, intern(t, r, strlen(r)), (uint32_t)l->first,
                                       (uint32_t)l->last, count };
        st->cnames++;
    }
}

/* The A (type 4) or AAAA (6) records of l, once every rdata is an address. */
static void add_addrs(struct pdns *t, struct line *l, int type, size_t nn, uint32_t count,
                      struct pdns_stats *st)
{
    uint8_t addrs[RDATA_MAX][16];
    for (int i = 0; i < l->nrdata; i++) {
        memset(addrs[i], 0, 16);
        if (type == 4) {
            addrs[i][10] = addrs[i][11] = 0xff;
            if (inet_pton(AF_INET, rdata_at(l, i), addrs[i] + 12) != 1) {
                st->skipped[PDNS_SKIP_RDATA]++;
                return;
            }
        } else if (inet_pton(AF_INET6, rdata_at(l, i), addrs[i]) != 1) {
            st->skipped[PDNS_SKIP_RDATA]++;
            return;
        }
    }
    uint32_t name = intern(t, l->rrname, nn);
    for (int i = 0; i < l->nrdata; i++) {
        if (t->na == t->capa) {
            t->capa = t->capa ? t->capa * 2 : 1024;
            t->a = xrealloc(t->a, t->capa * sizeof(*t->a));
        }
        struct arec *r = &t->a[t->na++];
        memcpy(r->addr, addrs[i], 16);
        r->name = name;
        r->first = (uint32_t)l->first;
        r->last = (uint32_t)l->last;
        r->count = count;
        st->addrs++;
    }
}

static void add_line(struct pdns *t, struct line *l, struct pdns_stats *st)
{
    size_t nn;
    int type = !strcmp(l->rrtype, "A")       ? 4
               : !strcmp(l->rrtype, "AAAA")  ? 6
               : !strcmp(l->rrtype, "CNAME") ? 5
                                             : 0;
    if (!type) {
        st->other++;
        return;
    }
    if (norm_name(l->rrname, &nn) != 0) {
        st->skipped[PDNS_SKIP_NAME]++;
        return;
    }
    uint32_t count = l->count > UINT32_MAX ? UINT32_MAX : (uint32_t)l->count;
    if (type == 5)
        add_cnames(t, l, nn, count, st);
    else
        add_addrs(t, l, type, nn, count, st);
}

/* ---- after loading: chains, order, the address index ---- */

static int cmp_crec(const void *x, const void *y)
{
    const struct crec *a = x, *b = y;
    return a->target < b->target ? -1 : a->target > b->target;
}

/* Record x before y: by address, then time_first. */
static int arec_before(const struct arec *x, const struct arec *y)
{
    uint64_t xa, ya;
    for (int i = 0; i < 16; i += 8) {
        memcpy(&xa, x->addr + i, 8);
        memcpy(&ya, y->addr + i, 8);
        if (xa != ya)
            return be64toh(xa) < be64toh(ya);
    }
    return x->first < y->first;
}

/*
 * a[] by address, then time_first, stable (records first seen at once keep the file's
 * order, as glibc's qsort left them): merges of runs doubling in length, between a[]
 * and a buffer. qsort's calls of a comparator and a copy per element were a third of
 * a 1 M-line table's load.
 */
static void sort_arecs(struct pdns *t)
{
    size_t n = t->na;
    struct arec *src = t->a, *dst = xmalloc(n * sizeof(struct arec));
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = n - lo > w ? lo + w : n, hi = n - mid > w ? mid + w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = arec_before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct arec *tmp = src;
        src = dst;
        dst = tmp;
    }
    if (src != t->a)
        memcpy(t->a, src, n * sizeof(struct arec));
    free(src == t->a ? dst : src);
}

/* The name a client asked for: CNAMEs followed back from r's rrname. */
static uint32_t chain_head(const struct pdns *t, const struct arec *r)
{
    uint32_t name = r->name, seen[PDNS_CHAIN + 1];
    int nseen = 0;
    seen[nseen++] = name;
    for (int step = 0; step < PDNS_CHAIN; step++) {
        size_t lo = 0, hi = t->nc;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (t->c[mid].target < name)
                lo = mid + 1;
            else
                hi = mid;
        }
        const struct crec *best = NULL;
        for (size_t i = lo; i < t->nc && t->c[i].target == name; i++) {
            const struct crec *c = &t->c[i];
            if ((uint64_t)c->first > (uint64_t)r->last + PDNS_AFTER ||
                (uint64_t)c->last + PDNS_AFTER < r->first)
                continue;
            int loop = 0;
            for (int k = 0; k < nseen; k++)
                loop |= seen[k] == c->owner;
            if (loop)
                continue;
            if (!best || c->count > best->count ||
                (c->count == best->count && c->last > best->last))
                best = c;
        }
        if (!best)
            break;
        name = best->owner;
        seen[nseen++] = name;
    }
    return name;
}

static uint64_t hash_addr(const uint8_t a[16])
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, a + 8, 8);
    uint64_t h = (x * 0x9e3779b97f4a7c15ull) ^ (y + 0x632be59bd9b4e019ull);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32); /* low half: the slot; high half: the bit */
}

/* A record of a run while its segments are made. */
struct key {
    uint32_t first, count, idx, last;
};

static int cmp_key(const void *x, const void *y)
{
    const struct key *a = x, *b = y;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* The first second a record names its address at, and the first it no longer does. */
static uint64_t enters(const struct key *k)
{
    return k->first > PDNS_BEFORE ? (uint64_t)k->first - PDNS_BEFORE : 0;
}

static uint64_t leaves(const struct key *k)
{
    return (uint64_t)k->last + PDNS_AFTER + 1;
}

static void seg_push(struct pdns *t, uint64_t from, uint32_t name)
{
    if (t->nsegs == t->capsegs) {
        t->capsegs *= 2;
        t->segs = xrealloc(t->segs, t->capsegs * sizeof(struct seg));
    }
    t->segs[t->nsegs++] = (struct seg){ from, name };
}

/* The answer from second `from` on, after the run's earlier segments. */
static void seg_add(struct pdns *t, uint64_t from, uint32_t name)
{
    struct seg *prev = &t->segs[t->nsegs - 1];
    if (prev->from == from) /* a record named the address from second 0 */
        prev->name = name;
    else if (prev->name != name)
        seg_push(t, from, name);
}

/* Buffers of the sweep, as long as the longest run so far. */
struct sweep {
    struct key *k;
    size_t *stack;
    size_t cap;
};

/*
 * The segments of the run a[i, j) (one address), appended to segs. The name at ts is
 * the record that covers ts (enters <= ts < leaves) first seen last, then the most
 * counted, then the last in a[] (as a walk back over a[] from the newest met it).
 * Records are pushed on a stack in that order as they enter; the top that has left is
 * popped, and below it the next best that still covers is found the same way, so the
 * top is the answer. It changes only when a record enters or the top leaves.
 */
static void run_segments(struct pdns *t, size_t i, size_t j, struct sweep *sw)
{
    size_t n = j - i, next = 0, top = 0;
    if (n > sw->cap) {
        sw->cap = n;
        sw->k = xrealloc(sw->k, n * sizeof(struct key));
        sw->stack = xrealloc(sw->stack, n * sizeof(size_t));
    }
    for (size_t m = 0; m < n; m++) {
        const struct arec *r = &t->a[i + m];
        sw->k[m] = (struct key){ r->first, r->count, (uint32_t)(i + m), r->last };
    }
    qsort(sw->k, n, sizeof(struct key), cmp_key);
    seg_push(t, 0, 0);
    for (uint64_t now = enters(&sw->k[0]);;) {
        while (next < n && enters(&sw->k[next]) <= now)
            sw->stack[top++] = next++;
        while (top && leaves(&sw->k[sw->stack[top - 1]]) <= now)
            top--;
        const struct key *best = top ? &sw->k[sw->stack[top - 1]] : NULL;
        seg_add(t, now, best ? t->a[best->idx].name + 1 : 0);
        uint64_t then = next < n ? enters(&sw->k[next]) : UINT64_MAX;
        if (best && leaves(best) < then)
            then = leaves(best);
        if (then == UINT64_MAX)
            return;
        now = then;
    }
}

/* The address index: a slot each, with its segments, and its bit in bits. */
static void index_addrs(struct pdns *t)
{
    size_t distinct = 0;
    for (size_t i = 0; i < t->na; i++)
        distinct += i == 0 || memcmp(t->a[i].addr, t->a[i - 1].addr, 16) != 0;
    t->nslots = 16;
    while (t->nslots < distinct * 2)
        t->nslots *= 2;
    t->slot_mem = xcalloc(t->nslots + 1, sizeof(struct aslot));
    char *mem = t->slot_mem;
    t->slots = (struct aslot *)(void *)(mem + (64 - (uintptr_t)mem % 64) % 64);
    /* 8 bits an address slot: a lookup of an address the table lacks (a client)
     * mostly stops at a bit in a cached array, without touching a slot. */
    t->bitmask = t->nslots * 8 - 1;
    t->bits = xcalloc(t->nslots / 8, sizeof(uint64_t));
    t->capsegs = 1024;
    t->segs = xmalloc(t->capsegs * sizeof(struct seg));
    struct sweep sw = { 0 };
    for (size_t i = 0; i < t->na;) {
        size_t j = i + 1;
        while (j < t->na && memcmp(t->a[j].addr, t->a[i].addr, 16) == 0)
            j++;
        uint64_t h = hash_addr(t->a[i].addr);
        size_t s = h & (t->nslots - 1);
        while (t->slots[s].nseg)
            s = (s + 1) & (t->nslots - 1);
        struct aslot *sl = &t->slots[s];
        memcpy(sl->addr, t->a[i].addr, 16);
        sl->start = (uint32_t)i;
        sl->seg = (uint32_t)t->nsegs;
        run_segments(t, i, j, &sw);
        sl->nseg = (uint32_t)(t->nsegs - sl->seg);
        size_t b = (size_t)(h >> 32) & t->bitmask;
        t->bits[b >> 6] |= (uint64_t)1 << (b & 63);
        i = j;
    }
    free(sw.k);
    free(sw.stack);
}

static void finish(struct pdns *t, struct pdns_stats *st)
{
    if (t->nc)
        qsort(t->c, t->nc, sizeof(*t->c), cmp_crec);
    for (size_t i = 0; i < t->na; i++) {
        uint32_t head = t->nc ? chain_head(t, &t->a[i]) : t->a[i].name;
        st->chained += head != t->a[i].name;
        t->a[i].name = head;
    }
    if (t->na)
        sort_arecs(t);
    index_addrs(t);
    /* The intern table is not needed for lookups. */
    free(t->names);
    t->names = NULL;
    t->capnames = t->nnames = 0;
    free(t->c);
    t->c = NULL;
    t->nc = t->capc = 0;
}

/* The slot of addr, or NULL when the table does not name it. */
static struct aslot *find(const struct pdns *t, const uint8_t addr[16])
{
    if (!t || !t->na)
        return NULL;
    uint64_t h = hash_addr(addr);
    size_t b = (size_t)(h >> 32) & t->bitmask;
    if (!((t->bits[b >> 6] >> (b & 63)) & 1))
        return NULL;
    for (size_t s = h & (t->nslots - 1); t->slots[s].nseg; s = (s + 1) & (t->nslots - 1))
        if (memcmp(t->slots[s].addr, addr, 16) == 0)
            return &t->slots[s];
    return NULL;
}

/*
 * The segment of sl at ts. Flows come in time order, so it is mostly the one of the
 * address's last lookup or a neighbour: from there by doubling steps forward or back,
 * then a bisection (one of all a busy server's records missed the cache at each step).
 */
static size_t seg_at(const struct pdns *t, const struct aslot *sl, size_t c, uint64_t ts)
{
    const struct seg *g = t->segs + sl->seg;
    size_t n = sl->nseg, lo = c, hi = c + 1; /* g[lo].from <= ts < g[hi].from, or hi = n */
    if (c >= n) {
        lo = 0;
        hi = n;
    } else if (ts >= g[c].from) {
        for (size_t step = 1; hi < n && g[hi].from <= ts; step *= 2) {
            lo = hi;
            hi = n - lo > step ? lo + step : n;
        }
    } else { /* c > 0: g[0].from is 0 */
        hi = c;
        lo = c - 1;
        for (size_t step = 1; g[lo].from > ts; step *= 2) {
            hi = lo;
            lo = lo > step ? lo - step : 0;
        }
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (g[mid].from <= ts)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The name of sl at ts, as segs' name (0: none). */
static uint32_t slot_name(const struct pdns *t, struct aslot *sl, uint64_t ts)
{
    uint32_t seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
    uint64_t from = atomic_load_explicit(&sl->from, memory_order_relaxed);
    uint64_t to = atomic_load_explicit(&sl->to, memory_order_relaxed);
    uint32_t name = atomic_load_explicit(&sl->name, memory_order_relaxed);
    uint32_t cur = atomic_load_explicit(&sl->cur, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (seq == atomic_load_explicit(&sl->seq, memory_order_relaxed) && !(seq & 1) && from <= ts &&
        ts < to)
        return name;
    size_t c = seg_at(t, sl, cur, ts);
    const struct seg *g = t->segs + sl->seg;
    name = g[c].name;
    /* Another thread writing it: leave it to that one. */
    if ((seq & 1) || !atomic_compare_exchange_strong_explicit(
                         &sl->seq, &seq, seq + 1, memory_order_acquire, memory_order_relaxed))
        return name;
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&sl->from, g[c].from, memory_order_relaxed);
    atomic_store_explicit(&sl->to, c + 1 < sl->nseg ? g[c + 1].from : UINT64_MAX,
                          memory_order_relaxed);
    atomic_store_explicit(&sl->name, name, memory_order_relaxed);
    atomic_store_explicit(&sl->cur, (uint32_t)c, memory_order_relaxed);
    atomic_store_explicit(&sl->seq, seq + 2, memory_order_release);
    return name;
}

const char *pdns_name(const struct pdns *t, const uint8_t addr[16], uint64_t t_ms)
{
    struct aslot *sl = find(t, addr);
    uint32_t name = sl ? slot_name(t, sl, t_ms / 1000) : 0;
    return name ? t->pool + name - 1 : NULL;
}

void pdns_each(const struct pdns *t, const uint8_t addr[16],
               void (*fn)(void *ctx, const char *name, uint32_t first, uint32_t last,
                          uint32_t count),
               void *ctx)
{
    const struct aslot *sl = find(t, addr);
    if (!sl)
        return;
    for (size_t i = sl->start; i < t->na && memcmp(t->a[i].addr, addr, 16) == 0; i++)
        fn(ctx, t->pool + t->a[i].name, t->a[i].first, t->a[i].last, t->a[i].count);
}

struct pdns *pdns_new(void)
{
    return xcalloc(1, sizeof(struct pdns));
}

void pdns_add(struct pdns *t, const char *rrname, const char *rrtype, const char *rdata,
              uint64_t first, uint64_t last, uint64_t count, struct pdns_stats *st)
{
    static __thread struct line *l; /* 20 KB: not on the stack, kept for the next call */
    if (!l)
        l = xmalloc(sizeof(*l));
    st->lines++;
    if (strlen(rrname) >= sizeof(l->rrname) || strlen(rdata) >= sizeof(l->rdata_buf)) {
        st->skipped[PDNS_SKIP_NAME]++;
        return;
    }
    if (last < first || last > UINT32_MAX) {
        st->skipped[PDNS_SKIP_TIME]++;
        return;
    }
    snprintf(l->rrname, sizeof(l->rrname), "%s", rrname);
    snprintf(l->rrtype, sizeof(l->rrtype), "%s", rrtype);
    snprintf(l->rdata_buf, sizeof(l->rdata_buf), "%s", rdata);
    l->rdata_long = l->rdata_buf;
    l->nrdata = 1;
    l->first = first;
    l->last = last;
    l->count = count;
    add_line(t, l, st);
}

void pdns_finish(struct pdns *t, struct pdns_stats *st)
{
    finish(t, st);
}

/* ---- reading ---- */

/* The file's bytes: a line is buf[start, its newline), end the bytes read. */
struct reader {
    FILE *fp;
    char *buf;
    size_t cap, start, end;
    int eof;
    int skipping; /* within a line over PDNS_LINE_MAX, already counted */
};

/* More bytes after the unread ones: 0, or the errno of a read error. */
static int refill(struct reader *r)
{
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
    size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->fp);
    r->end += got;
    if (got == 0) {
        if (ferror(r->fp))
            return errno ? errno : EIO;
        r->eof = 1;
    }
    return 0;
}

/* One line of len bytes at s; nl: a newline ends it (the last line may have none). */
static void read_line(struct pdns *t, struct line *l, const char *s, size_t len, int nl,
                      struct pdns_stats *st)
{
    if (!len && !nl)
        return;
    st->lines++;
    if (len > PDNS_LINE_MAX) {
        st->skipped[PDNS_SKIP_LONG]++;
    } else if (len == 0 || (len == 1 && s[0] == '\r')) {
        st->lines--; /* blank lines are not records */
    } else {
        int r = parse_line(s, len, l);
        if (r >= 0)
            st->skipped[r]++;
        else
            add_line(t, l, st);
    }
}

/* Every line of r into t: 0, or the errno of a read error. */
static int read_lines(struct reader *r, struct pdns *t, struct line *l, struct pdns_stats *st)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (!nl && !r->eof && r->end - r->start <= PDNS_LINE_MAX) {
            int e = refill(r);
            if (e)
                return e;
            continue;
        }
        if (!nl && !r->eof) { /* over PDNS_LINE_MAX and no end in sight: drop to its end */
            if (!r->skipping)
                st->lines++, st->skipped[PDNS_SKIP_LONG]++;
            r->skipping = 1;
            r->start = r->end;
            continue;
        }
        const char *s = r->buf + r->start;
        size_t len = nl ? (size_t)(nl - s) : r->end - r->start;
        if (r->skipping)
            r->skipping = 0;
        else
            read_line(t, l, s, len, nl != NULL, st);
        if (!nl)
            return 0;
        r->start = (size_t)(nl - r->buf) + 1;
    }
}

int pdns_read(FILE *fp, const char *name, struct pdns **out, struct pdns_stats *st,
              struct fs_err *err)
{
    memset(st, 0, sizeof(*st));
    struct pdns *t = xcalloc(1, sizeof(*t));
    struct line *l = xmalloc(sizeof(*l));
    struct reader r = { .fp = fp, .cap = 2 * PDNS_LINE_MAX + 2 };
    r.buf = xmalloc(r.cap);
    int e = read_lines(&r, t, l, st);
    free(r.buf);
    free(l);
    if (e) {
        pdns_free(t);
        return fs_err_set(err, -e, -1, "%s: read: %s", name, strerror(e));
    }
    finish(t, st);
    *out = t;
    return 0;
}

int pdns_load(const char *path, struct pdns **out, struct pdns_stats *st, struct fs_err *err)
{
    if (strcmp(path, "-") == 0)
        return pdns_read(stdin, "stdin", out, st, err);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        return fs_err_set(err, -e, -1, "%s: %s", path, strerror(e));
    }
    int rc = pdns_read(fp, path, out, st, err);
    fclose(fp);
    return rc;
}

void pdns_free(struct pdns *t)
{
    if (!t)
        return;
    if (current == t)
        current = NULL;
    free(t->pool);
    free(t->names);
    free(t->a);
    free(t->c);
    free(t->slot_mem);
    free(t->segs);
    free(t->bits);
    free(t);
}

/* Names are interned (one copy in the pool each), so the pool offset is the name. */
uint32_t pdns_name_ref(const struct pdns *t, const uint8_t addr[16], uint64_t t_ms)
{
    const char *name = pdns_name(t, addr, t_ms);
    return name ? (uint32_t)(name - t->pool) + 1 : 0;
}

const char *pdns_ref_name(const struct pdns *t, uint32_t ref)
{
    return t && ref && ref <= t->npool ? t->pool + ref - 1 : NULL;
}
