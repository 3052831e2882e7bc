#include "baseline.h"

#include "../core/atomic_file.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct bl_key) == 20, "bl_key is compared as bytes");

const char *const bl_metric_names[BL_METRICS] = { "flows", "tbytes", "tpackets" };

/* ---------------------------------------------------------------- keys */

static int parse_len(const char *s, unsigned max, uint8_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || errno || v > max || (*end && *end != '/') || s[0] == '-')
        return -1;
    *out = (uint8_t)v;
    return (int)(end - s);
}

static int parse_net(const char *s, struct bl_keyspec *k)
{
    int used = parse_len(s, 32, &k->len4);
    if (used < 0)
        return FS_EINVAL;
    k->len6 = 64;
    if (s[used] == '/' &&
        (parse_len(s + used + 1, 128, &k->len6) < 0 || !s[used + 1] || strchr(s + used + 1, '/')))
        return FS_EINVAL;
    return 0;
}

int bl_keyspec_parse(const char *s, struct bl_keyspec *k)
{
    static const struct {
        const char *name;
        enum bl_by by;
    } plain[] = {
        { "all", BL_ALL }, { "src", BL_SRC }, { "dst", BL_DST }, { "service", BL_SERVICE }
    };
    memset(k, 0, sizeof(*k));
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(s, plain[i].name) == 0) {
            k->by = plain[i].by;
            return 0;
        }
    if (strncmp(s, "srcnet/", 7) == 0) {
        k->by = BL_SRCNET;
        return parse_net(s + 7, k);
    }
    if (strncmp(s, "dstnet/", 7) == 0) {
        k->by = BL_DSTNET;
        return parse_net(s + 7, k);
    }
    return FS_EINVAL;
}

void bl_keyspec_format(const struct bl_keyspec *k, char *buf, size_t len)
{
    static const char *const names[] = { "all", "src", "dst", "srcnet", "dstnet", "service" };
    if (k->by == BL_SRCNET || k->by == BL_DSTNET)
        snprintf(buf, len, "%s/%u/%u", names[k->by], k->len4, k->len6);
    else
        snprintf(buf, len, "%s", names[k->by]);
}

/* The first bits of a 64-bit half that a prefix of plen keeps (bits before it: off). */
static uint64_t half_mask(unsigned plen, unsigned off)
{
    if (plen <= off)
        return 0;
    return plen - off >= 64 ? UINT64_MAX : UINT64_MAX << (64 - (plen - off));
}

/* Clear the host bits of a as two big-endian words (a per-flow cost; the compiler makes
 * the byte loops one load, swap and store each). */
static void mask(uint8_t a[16], unsigned plen)
{
    for (unsigned h = 0; h < 2; h++) {
        uint64_t w = 0;
        for (unsigned i = 0; i < 8; i++)
            w = w << 8 | a[h * 8 + i];
        w &= half_mask(plen, h * 64);
        for (unsigned i = 0; i < 8; i++)
            a[h * 8 + i] = (uint8_t)(w >> (56 - 8 * i));
    }
}

void bl_key_of(const struct bl_keyspec *k, const struct flow *f, struct bl_key *out)
{
    memset(out, 0, sizeof(*out));
    switch (k->by) {
    case BL_ALL:
        return;
    case BL_SERVICE:
        out->proto = f->proto;
        out->port = f->dport;
        return;
    default:
        break;
    }
    int src = k->by == BL_SRC || k->by == BL_SRCNET;
    memcpy(out->a, src ? f->src : f->dst, 16);
    out->ver = f->ipver == 6 ? 6 : 4;
    if (k->by == BL_SRCNET || k->by == BL_DSTNET)
        mask(out->a, out->ver == 4 ? 96u + k->len4 : k->len6);
}

static const char *proto_name(unsigned p)
{
    return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : p == 58 ? "icmp6" : NULL;
}

void bl_key_text(const struct bl_keyspec *k, const struct bl_key *key, char *buf)
{
    char a[FMT_ADDR_MAX];
    if (k->by == BL_ALL) {
        snprintf(buf, BL_KEY_TEXT, "all");
    } else if (k->by == BL_SERVICE) {
        const char *pn = proto_name(key->proto);
        if (pn)
            snprintf(buf, BL_KEY_TEXT, "%s/%u", pn, key->port);
        else
            snprintf(buf, BL_KEY_TEXT, "%u/%u", key->proto, key->port);
    } else {
        fmt_addr(a, key->a, key->ver);
        if (k->by == BL_SRC || k->by == BL_DST)
            snprintf(buf, BL_KEY_TEXT, "%s", a);
        else
            snprintf(buf, BL_KEY_TEXT, "%s/%u", a, key->ver == 4 ? k->len4 : k->len6);
    }
}

static int parse_service(const char *text, struct bl_key *out)
{
    static const char *const names[] = { "icmp", "tcp", "udp", "icmp6" };
    static const uint8_t nums[] = { 1, 6, 17, 58 };
    const char *slash = strchr(text, '/');
    if (!slash)
        return FS_EINVAL;
    size_t n = (size_t)(slash - text);
    int found = 0;
    for (size_t i = 0; i < 4; i++)
        if (strlen(names[i]) == n && strncmp(text, names[i], n) == 0) {
            out->proto = nums[i];
            found = 1;
        }
    uint8_t p8;
    char num[8];
    if (!found && (n == 0 || n >= sizeof(num) || !memcpy(num, text, n) ||
                   (num[n] = 0, parse_len(num, 255, &p8) < 0)))
        return FS_EINVAL;
    if (!found)
        out->proto = p8;
    char *end;
    errno = 0;
    unsigned long port = strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end || errno || port > 65535 || slash[1] == '-')
        return FS_EINVAL;
    out->port = (uint16_t)port;
    return 0;
}

/* An address, with /LEN when the spec is a subnet (it must match the spec's). */
static int key_addr(const struct bl_keyspec *k, const char *text, struct bl_key *out)
{
    char buf[FMT_ADDR_MAX];
    const char *slash = strchr(text, '/');
    int net = k->by == BL_SRCNET || k->by == BL_DSTNET;
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    if (n >= sizeof(buf) || (net != (slash != NULL)))
        return FS_EINVAL;
    memcpy(buf, text, n);
    buf[n] = 0;
    int ver;
    if (parse_addr(buf, out->a, &ver) != 0)
        return FS_EINVAL;
    out->ver = (uint8_t)ver;
    if (!net)
        return 0;
    uint8_t len;
    if (parse_len(slash + 1, 128, &len) < 0 || strchr(slash + 1, '/') ||
        len != (out->ver == 4 ? k->len4 : k->len6))
        return FS_EINVAL;
    uint8_t m[16];
    memcpy(m, out->a, 16);
    mask(m, out->ver == 4 ? 96u + len : len);
    return memcmp(m, out->a, 16) == 0 ? 0 : FS_EINVAL; /* host bits set */
}

int bl_key_parse(const struct bl_keyspec *k, const char *text, struct bl_key *out)
{
    memset(out, 0, sizeof(*out));
    if (k->by == BL_ALL)
        return strcmp(text, "all") == 0 ? 0 : FS_EINVAL;
    if (k->by == BL_SERVICE)
        return parse_service(text, out);
    return key_addr(k, text, out);
}

void bl_key_filter(const struct bl_keyspec *k, const struct bl_key *key, char *buf, size_t len)
{
    char t[BL_KEY_TEXT];
    bl_key_text(k, key, t);
    switch (k->by) {
    case BL_ALL:
        snprintf(buf, len, "any");
        break;
    case BL_SERVICE:
        snprintf(buf, len, "proto %u and dst port %u", key->proto, key->port);
        break;
    case BL_SRC:
    case BL_DST:
        snprintf(buf, len, "%s host %s", k->by == BL_SRC ? "src" : "dst", t);
        break;
    default:
        snprintf(buf, len, "%s net %s", k->by == BL_SRCNET ? "src" : "dst", t);
    }
}

/* ---------------------------------------------------------------- series */

void bl_series_init(struct bl_series *s, const struct bl_keyspec *spec, uint64_t bin_ms,
                    size_t max_bytes)
{
    memset(s, 0, sizeof(*s));
    s->spec = *spec;
    s->bin_ms = bin_ms;
    s->max_bytes = max_bytes;
}

/* Three words of the key, multiplied and folded (a per-flow cost: no byte loop). */
static uint64_t key_hash(const struct bl_key *k)
{
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, k->a, 8);
    memcpy(&b, k->a + 8, 8);
    memcpy(&c, &k->port, 4);
    uint64_t h = (a ^ 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ b ^ (h >> 31)) * 0x94D049BB133111EBull;
    h = (h ^ c ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

/* A hash slot: the key's index + 1 in the low half (0 = empty), 32 bits of its hash in
 * the high half, compared first so a probe rarely touches keys[] of another key. */
#define SLOT(i, h)  ((uint64_t)(h) >> 32 << 32 | ((uint64_t)(i) + 1))
#define SLOT_IDX(v) ((size_t)((v)&0xffffffffu) - 1)

static void rehash(struct bl_series *s)
{
    size_t hcap = s->hcap ? s->hcap * 2 : 64;
    free(s->slot);
    s->slot = xcalloc(hcap, sizeof(*s->slot));
    s->hcap = hcap;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t hv = key_hash(&s->keys[i]);
        size_t h = (size_t)hv & (hcap - 1);
        while (s->slot[h])
            h = (h + 1) & (hcap - 1);
        s->slot[h] = SLOT(i, hv);
    }
}

/* Bytes a key costs besides its bins. */
#define KEY_COST (sizeof(struct bl_key) + sizeof(struct count) + 2 * sizeof(uint64_t))

static long insert(struct bl_series *s, const struct bl_key *key, size_t h, uint64_t hv)
{
    if (s->used + KEY_COST > s->max_bytes || s->n >= UINT32_MAX - 1)
        return -2;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->keys = xrealloc(s->keys, s->cap * sizeof(*s->keys));
        s->c = xrealloc(s->c, s->cap * sizeof(*s->c));
    }
    s->keys[s->n] = *key;
    count_init(&s->c[s->n], s->bin_ms, COUNT_LOAD_SPREAD, s->max_bytes / sizeof(struct count_bin));
    s->slot[h] = SLOT(s->n, hv);
    s->used += KEY_COST;
    s->n++;
    if (s->n * 2 > s->hcap)
        rehash(s);
    return (long)s->n - 1;
}

long bl_series_key(struct bl_series *s, const struct bl_key *key)
{
    /* Flows of one key come in runs (and --by all has one key): try the last first. */
    if (s->last < s->n && memcmp(&s->keys[s->last], key, sizeof(*key)) == 0)
        return (long)s->last;
    if (!s->hcap)
        rehash(s);
    uint64_t hv = key_hash(key), tag = hv >> 32;
    size_t h = (size_t)hv & (s->hcap - 1);
    for (; s->slot[h]; h = (h + 1) & (s->hcap - 1))
        if (s->slot[h] >> 32 == tag &&
            memcmp(&s->keys[SLOT_IDX(s->slot[h])], key, sizeof(*key)) == 0) {
            s->last = SLOT_IDX(s->slot[h]);
            return (long)s->last;
        }
    return s->frozen ? -1 : insert(s, key, h, hv);
}

/* Account for bins count_add or count_merge allocated; FS_ENOSPC past the budget. */
static int charge(struct bl_series *s, size_t before, size_t after)
{
    s->used += (after - before) * sizeof(struct count_bin);
    return s->used > s->max_bytes ? FS_ENOSPC : 0;
}

int bl_series_add(struct bl_series *s, const struct flow *f)
{
    struct bl_key key;
    bl_key_of(&s->spec, f, &key);
    long i = bl_series_key(s, &key);
    if (i == -1)
        return 0;
    if (i < 0)
        return FS_ENOSPC;
    struct count *c = &s->c[i];
    size_t cap = c->cap;
    if (count_add(c, f) != 0)
        return FS_ENOSPC;
    return charge(s, cap, c->cap);
}

int bl_series_merge(struct bl_series *dst, const struct bl_series *src)
{
    for (size_t i = 0; i < src->n; i++) {
        long j = bl_series_key(dst, &src->keys[i]);
        if (j == -1)
            continue;
        if (j < 0)
            return FS_ENOSPC;
        size_t cap = dst->c[j].cap;
        if (count_merge(&dst->c[j], &src->c[i]) != 0 || charge(dst, cap, dst->c[j].cap) != 0)
            return FS_ENOSPC;
    }
    return 0;
}

int bl_series_range(const struct bl_series *s, uint64_t *lo, uint64_t *hi)
{
    int any = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct count *c = &s->c[i];
        if (!c->nbins)
            continue;
        if (!any || c->base < *lo)
            *lo = c->base;
        if (!any || c->base + c->nbins - 1 > *hi)
            *hi = c->base + c->nbins - 1;
        any = 1;
    }
    return any ? 0 : -1;
}

uint64_t bl_series_value(const struct bl_series *s, size_t i, uint64_t b, int m)
{
    const struct count *c = &s->c[i];
    if (b < c->base || b >= c->base + c->nbins)
        return 0;
    const struct count_bin *x = &c->bins[b - c->base];
    return m == 0 ? x->flows : m == 1 ? x->bytes : x->packets;
}

void bl_series_free(struct bl_series *s)
{
    for (size_t i = 0; i < s->n; i++)
        count_free(&s->c[i]);
    free(s->keys);
    free(s->c);
    free(s->slot);
    memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------------- learning */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorted in place); 0 when n = 0. */
static double median(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median and 1.4826 x MAD of v[0..n); v is reordered. */
static struct bl_stat robust(double *v, size_t n)
{
    struct bl_stat st = { median(v, n), 0 };
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(v[i] - st.med);
    st.spread = 1.4826 * median(v, n);
    return st;
}

/* The bins lo..hi grouped by slot: bins of slot s are idx[start[s] .. start[s + 1]). */
struct slot_index {
    uint64_t *idx;
    size_t start[BL_SLOTS + 1];
};

static void slot_index_build(struct slot_index *x, const struct tz *z, uint64_t bin_ms, uint64_t lo,
                             uint64_t hi)
{
    size_t n = (size_t)(hi - lo + 1), fill[BL_SLOTS] = { 0 };
    uint8_t *of = xmalloc(n);
    memset(x->start, 0, sizeof(x->start));
    for (size_t i = 0; i < n; i++) {
        of[i] = (uint8_t)tz_how(z, (lo + i) * bin_ms);
        x->start[of[i] + 1]++;
    }
    for (int s = 0; s < BL_SLOTS; s++)
        x->start[s + 1] += x->start[s];
    x->idx = xmalloc(n * sizeof(*x->idx));
    for (size_t i = 0; i < n; i++)
        x->idx[x->start[of[i]] + fill[of[i]]++] = lo + i;
    free(of);
}

void bl_profile_learn(struct bl_profile *p, const struct bl_series *s, const struct tz *z,
                      uint64_t lo, uint64_t hi)
{
    struct slot_index x;
    memset(p, 0, sizeof(*p));
    p->bin_ms = s->bin_ms;
    snprintf(p->tz, sizeof(p->tz), "%s", z->name);
    p->spec = s->spec;
    p->from_ms = lo * s->bin_ms;
    p->to_ms = (hi + 1) * s->bin_ms;
    p->weeks = (uint32_t)((p->to_ms - p->from_ms) / (7ull * 86400 * 1000));
    p->nkeys = s->n;
    p->keys = xmalloc((s->n ? s->n : 1) * sizeof(*p->keys));
    memcpy(p->keys, s->keys, s->n * sizeof(*p->keys));
    p->slots = xcalloc((s->n ? s->n : 1) * BL_SLOTS, sizeof(*p->slots));
    slot_index_build(&x, z, s->bin_ms, lo, hi);
    double *v = xmalloc((size_t)(hi - lo + 1) * sizeof(*v));
    for (size_t k = 0; k < s->n; k++)
        for (int sl = 0; sl < BL_SLOTS; sl++) {
            struct bl_slot *out = &p->slots[k * BL_SLOTS + (size_t)sl];
            size_t a = x.start[sl], n = x.start[sl + 1] - a;
            out->samples = (uint32_t)n;
            for (int m = 0; m < BL_METRICS; m++) {
                for (size_t i = 0; i < n; i++)
                    v[i] = (double)bl_series_value(s, k, x.idx[a + i], m);
                out->m[m] = robust(v, n);
            }
        }
    free(v);
    free(x.idx);
}

/* ---------------------------------------------------------------- the file */

#define BL_MAGIC "flowsleuth-baseline"

static void save_header(FILE *fp, const struct bl_profile *p)
{
    char by[32], a[FMT_TIME_MAX], b[FMT_TIME_MAX];
    bl_keyspec_format(&p->spec, by, sizeof(by));
    fmt_time_ms(a, p->from_ms);
    fmt_time_ms(b, p->to_ms);
    fprintf(fp, BL_MAGIC " %d\n", BL_VERSION);
    fprintf(fp, "# hour-of-week profile; learned from %s to %s\n", a, b);
    fprintf(fp, "bin %" PRIu64 "\n", p->bin_ms / 1000);
    fprintf(fp, "tz %s\n", p->tz);
    fprintf(fp, "by %s\n", by);
    fprintf(fp, "weeks %" PRIu32 "\n", p->weeks);
    fprintf(fp, "from %" PRIu64 "\n", p->from_ms);
    fprintf(fp, "to %" PRIu64 "\n", p->to_ms);
    if (p->filter)
        fprintf(fp, "filter %s\n", p->filter);
    fprintf(fp, "keys %zu\n", p->nkeys);
    fprintf(fp, "# key slot samples flows flows_spread tbytes tbytes_spread tpackets "
                "tpackets_spread\n");
}

#define NUM_MAX 32

/*
 * " v" with at most four decimals, trailing zeros dropped, written by hand: a profile
 * per host holds keys x 168 lines of six numbers, and printf's %g took most of the time
 * of writing one. Medians are whole or halves (exact); spreads keep 1e-4.
 */
static char *put_num(char *o, double v)
{
    uint64_t x = v > 0 && v < 1e14 ? (uint64_t)(v * 10000 + 0.5) : 0;
    char digits[NUM_MAX];
    int n = 0, frac = 4;
    while (frac > 0 && x % 10 == 0) {
        x /= 10;
        frac--;
    }
    do {
        digits[n++] = (char)('0' + x % 10);
        x /= 10;
        if (n == frac)
            digits[n++] = '.';
    } while (x || n <= frac);
    if (digits[n - 1] == '.')
        digits[n++] = '0';
    *o++ = ' ';
    while (n)
        *o++ = digits[--n];
    return o;
}

int bl_profile_save(const struct bl_profile *p, const char *path, struct fs_err *err)
{
    struct atomic_file af;
    int rc = atomic_file_open(&af, path, err);
    if (rc)
        return rc;
    save_header(af.fp, p);
    for (size_t k = 0; k < p->nkeys; k++) {
        char t[BL_KEY_TEXT];
        bl_key_text(&p->spec, &p->keys[k], t);
        for (int sl = 0; sl < BL_SLOTS; sl++) {
            const struct bl_slot *x = &p->slots[k * BL_SLOTS + (size_t)sl];
            char line[BL_KEY_TEXT + 16 + 2 * BL_METRICS * NUM_MAX], *o = line;
            o += snprintf(o, BL_KEY_TEXT + 16, "%s %d %" PRIu32, t, sl, x->samples);
            for (int m = 0; m < BL_METRICS; m++) {
                o = put_num(o, x->m[m].med);
                o = put_num(o, x->m[m].spread);
            }
            *o++ = '\n';
            fwrite(line, 1, (size_t)(o - line), af.fp);
        }
    }
    return atomic_file_commit(&af, err);
}

void bl_profile_free(struct bl_profile *p)
{
    free(p->keys);
    free(p->slots);
    free(p->filter);
    memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- loading */

#define BL_FIELDS (3 + 2 * BL_METRICS)

struct loader {
    const char *path;
    size_t line;
    struct fs_err *err;
    struct bl_profile *p;
    unsigned have; /* header keys seen, bit per name of hdr_names */
    size_t cap;    /* keys allocated */
    uint8_t *seen; /* per key and slot */
};

static const char *const hdr_names[] = { "bin", "tz", "by", "weeks", "from", "to", "keys" };
#define HDR_ALL ((1u << (sizeof(hdr_names) / sizeof(hdr_names[0]))) - 1)

static int bad(struct loader *l, int field, const char *what, const char *text)
{
    if (field)
        return fs_err_set(l->err, FS_ECORRUPT, (long long)l->line, "%s:%zu: field %d: %s '%.40s'",
                          l->path, l->line, field, what, text);
    return fs_err_set(l->err, FS_ECORRUPT, (long long)l->line, "%s:%zu: %s", l->path, l->line,
                      what);
}

/* Split line at blanks into at most max fields; returns how many (max + 1: too many). */
static int split(char *line, char **f, int max)
{
    int n = 0;
    for (char *s = strtok_r(line, " \t\r\n", &line); s; s = strtok_r(NULL, " \t\r\n", &line)) {
        if (n == max)
            return max + 1;
        f[n++] = s;
    }
    return n;
}

static int u64_of(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    *v = strtoull(s, &end, 10);
    return *end || errno ? -1 : 0;
}

static int hdr_value(struct loader *l, int which, const char *v)
{
    struct bl_profile *p = l->p;
    uint64_t x = 0;
    if (which == 1)
        return snprintf(p->tz, sizeof(p->tz), "%s", v) < (int)sizeof(p->tz) ? 0 : -1;
    if (which == 2)
        return bl_keyspec_parse(v, &p->spec) ? -1 : 0;
    if (u64_of(v, &x) != 0)
        return -1;
    switch (which) {
    case 0:
        p->bin_ms = x * 1000;
        return x == 0 || x > 3600 || 3600 % x ? -1 : 0;
    case 3:
        p->weeks = (uint32_t)x;
        return x > 100000 ? -1 : 0;
    case 4:
        p->from_ms = x;
        return 0;
    case 5:
        p->to_ms = x;
        return x <= p->from_ms ? -1 : 0;
    default:
        p->nkeys = (size_t)x;
        return x > (1u << 24) ? -1 : 0;
    }
}

static int header_line(struct loader *l, char **f, int n)
{
    for (size_t i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++) {
        if (strcmp(f[0], hdr_names[i]) != 0)
            continue;
        if (n != 2)
            return bad(l, 0, "a header line is NAME VALUE", NULL);
        if (l->have & (1u << i))
            return bad(l, 1, "header given twice", f[0]);
        if (hdr_value(l, (int)i, f[1]) != 0)
            return bad(l, 2, "bad value", f[1]);
        l->have |= 1u << i;
        if (l->have == HDR_ALL) {
            l->cap = l->p->nkeys;
            l->p->keys = xcalloc(l->cap ? l->cap : 1, sizeof(*l->p->keys));
            l->p->slots = xcalloc((l->cap ? l->cap : 1) * BL_SLOTS, sizeof(*l->p->slots));
            l->seen = xcalloc((l->cap ? l->cap : 1) * BL_SLOTS, 1);
            l->p->nkeys = 0;
        }
        return 0;
    }
    return -1;
}

static int number(struct loader *l, int field, const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(*v) || *v < 0)
        return bad(l, field, "not a number >= 0", s);
    return 0;
}

/* The key of a slot line: the current one, or the next. */
static long slot_key(struct loader *l, const char *text)
{
    struct bl_profile *p = l->p;
    struct bl_key k;
    if (bl_key_parse(&p->spec, text, &k) != 0)
        return bad(l, 1, "not a key of this profile's kind", text);
    if (p->nkeys && memcmp(&p->keys[p->nkeys - 1], &k, sizeof(k)) == 0)
        return (long)p->nkeys - 1;
    if (p->nkeys == l->cap)
        return bad(l, 1, "more keys than the header's count", text);
    p->keys[p->nkeys++] = k;
    return (long)p->nkeys - 1;
}

static int slot_line(struct loader *l, char **f, int n)
{
    uint64_t sl, samples;
    if (l->have != HDR_ALL)
        return bad(l, 0, "a slot line before the header is complete", NULL);
    if (n != BL_FIELDS)
        return bad(l, 0, "a slot line has 9 fields", NULL);
    long k = slot_key(l, f[0]);
    if (k < 0)
        return (int)k;
    if (u64_of(f[1], &sl) != 0 || sl >= BL_SLOTS)
        return bad(l, 2, "not a slot 0..167", f[1]);
    if (u64_of(f[2], &samples) != 0 || samples > UINT32_MAX)
        return bad(l, 3, "not a sample count", f[2]);
    size_t at = (size_t)k * BL_SLOTS + sl;
    if (l->seen[at])
        return bad(l, 2, "slot given twice for this key", f[1]);
    l->seen[at] = 1;
    struct bl_slot *x = &l->p->slots[at];
    x->samples = (uint32_t)samples;
    for (int m = 0; m < BL_METRICS; m++)
        if (number(l, 4 + 2 * m, f[3 + 2 * m], &x->m[m].med) ||
            number(l, 5 + 2 * m, f[4 + 2 * m], &x->m[m].spread))
            return l->err ? l->err->code : FS_ECORRUPT;
    return 0;
}

static int load_line(struct loader *l, char *line)
{
    char *f[BL_FIELDS + 1];
    if (l->line == 1) {
        int n = split(line, f, 3);
        uint64_t v;
        if (n != 2 || strcmp(f[0], BL_MAGIC) != 0)
            return bad(l, 0, "not a flowsleuth baseline (first line: " BL_MAGIC " VERSION)", NULL);
        if (u64_of(f[1], &v) != 0 || v != BL_VERSION)
            return fs_err_set(l->err, FS_EVERSION, 1, "%s:1: baseline version %s, not %d", l->path,
                              f[1], BL_VERSION);
        return 0;
    }
    if (line[strspn(line, " \t\r\n")] == '#' || !line[strspn(line, " \t\r\n")])
        return 0;
    if (strncmp(line, "filter ", 7) == 0) { /* optional; the rest of the line */
        if (l->p->filter)
            return bad(l, 1, "header given twice", "filter");
        line[strcspn(line, "\r\n")] = 0;
        l->p->filter = xstrdup(line + 7);
        return 0;
    }
    int n = split(line, f, BL_FIELDS);
    if (n > BL_FIELDS)
        return bad(l, 0, "too many fields", NULL);
    if (n == 0)
        return 0;
    int rc = header_line(l, f, n);
    return rc == -1 ? slot_line(l, f, n) : rc;
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct bl_key));
}

/* What the whole file must hold: every key of the count with all its slots. */
static int load_check(struct loader *l)
{
    if (l->have != HDR_ALL)
        return bad(l, 0, "the file ends before its header is complete", NULL);
    if (l->p->nkeys != l->cap)
        return bad(l, 0, "fewer keys than the header's count", NULL);
    for (size_t i = 0; i < l->cap * BL_SLOTS; i++)
        if (!l->seen[i]) {
            char t[BL_KEY_TEXT];
            bl_key_text(&l->p->spec, &l->p->keys[i / BL_SLOTS], t);
            return fs_err_set(l->err, FS_ECORRUPT, -1, "%s: key %s has no line for slot %zu",
                              l->path, t, i % BL_SLOTS);
        }
    struct bl_key *k = xmalloc((l->cap ? l->cap : 1) * sizeof(*k));
    memcpy(k, l->p->keys, l->cap * sizeof(*k));
    qsort(k, l->cap, sizeof(*k), cmp_key);
    int rc = 0;
    for (size_t i = 1; i < l->cap && !rc; i++)
        if (memcmp(&k[i - 1], &k[i], sizeof(*k)) == 0) {
            char t[BL_KEY_TEXT];
            bl_key_text(&l->p->spec, &k[i], t);
            rc = fs_err_set(l->err, FS_ECORRUPT, -1, "%s: key %s appears twice", l->path, t);
        }
    free(k);
    return rc;
}

int bl_profile_load(struct bl_profile *p, const char *path, struct fs_err *err)
{
    struct loader l = { path, 0, err, p, 0, 0, NULL };
    memset(p, 0, sizeof(*p));
    FILE *fp = fopen(path, "r");
    if (!fp)
        return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, fp) != -1) {
        l.line++;
        rc = load_line(&l, line);
    }
    if (rc == 0 && ferror(fp))
        rc = fs_err_set(err, FS_ECORRUPT, -1, "%s: read error", path);
    if (rc == 0 && l.line == 0)
        rc = bad(&l, 0, "empty file", NULL);
    if (rc == 0)
        rc = load_check(&l);
    free(line);
    free(l.seen);
    fclose(fp);
    if (rc)
        bl_profile_free(p);
    return rc;
}

int bl_profile_same_filter(const struct bl_profile *p, const char *line)
{
    const char *a = p->filter ? p->filter : "", *b = line;
    for (;;) {
        a += strspn(a, " ");
        b += strspn(b, " ");
        size_t na = strcspn(a, " "), nb = strcspn(b, " ");
        if (na != nb || strncmp(a, b, na) != 0)
            return 0;
        if (!na)
            return 1;
        a += na;
        b += nb;
    }
}
