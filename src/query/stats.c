#include "stats.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"
#include "geo.h"
#include "labels.h"
#include "output.h"
#include "pdns.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ key specs */

/*
 * nfdump's stat names. Two-sided names count a flow for both of its ends; "net" keeps
 * a /24 of IPv4 and a /64 of IPv6 (nfdump takes the exporter's mask; we have none).
 */
static const struct {
    const char *name, *fd, *alt;
    uint8_t v4bits, v6bits;
} key_names[] = {
    { "ip", "src", "dst", 32, 128 },          { "srcip", "src", NULL, 32, 128 },
    { "dstip", "dst", NULL, 32, 128 },        { "port", "sport", "dport", 0, 0 },
    { "srcport", "sport", NULL, 0, 0 },       { "dstport", "dport", NULL, 0, 0 },
    { "net", "src", "dst", 24, 64 },          { "srcnet", "src", NULL, 24, 64 },
    { "dstnet", "dst", NULL, 24, 64 },        { "as", "src_as", "dst_as", 0, 0 },
    { "srcas", "src_as", NULL, 0, 0 },        { "dstas", "dst_as", NULL, 0, 0 },
    { "ip4", "src", "dst", 32, 128 },         { "ip6", "src", "dst", 32, 128 },
    { "srcip4", "src", NULL, 32, 128 },       { "srcip6", "src", NULL, 32, 128 },
    { "dstip4", "dst", NULL, 32, 128 },       { "dstip6", "dst", NULL, 32, 128 },
    { "inif", "in_if", NULL, 0, 0 },          { "outif", "out_if", NULL, 0, 0 },
    { "cc", "src_cc", "dst_cc", 0, 0 },       { "asn", "src_asn", "dst_asn", 0, 0 },
    { "name", "src_name", "dst_name", 0, 0 },
};

#define NKEY_NAMES (sizeof(key_names) / sizeof(key_names[0]))

static const char key_help[] =
    "ip srcip dstip port srcport dstport proto net srcnet dstnet as srcas dstas exporter, "
    "srcip4/N dstip6/N ..., cc src_cc dst_cc asn src_asn dst_asn (--mmdb), label (--label), "
    "name src_name dst_name (--pdns), or any field (flowsleuth print --fields)";

/*
 * Keys computed from the record rather than read from it (output.h's computed fields):
 * a country (2 letters, 0 0 unknown), an AS number (4 bytes, 0 unknown) of --mmdb, the
 * --label lists hit (a bit each), the --pdns name at the flow's first packet (4 bytes:
 * pdns_name_ref, 0 none). Counted with -s only: -A prints records rebuilt from their
 * keys, and these cannot be put back into one.
 */
static int computed_key(const struct field *fd)
{
    return fd->type == FT_CC || fd->type == FT_ASN || fd->type == FT_LABEL || fd->type == FT_NAME;
}

/* A field by name: the record's, or a computed one; NULL when neither. */
static const struct field *key_field(const char *name)
{
    const struct field *fd = field_find(name);
    size_t n;
    const struct field *c = output_computed(&n);
    for (size_t i = 0; !fd && i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            fd = &c[i];
    return fd;
}

/* The packed width of a computed key, or an error when it cannot be one or its data
 * was not loaded. */
static int computed_size(const struct field *fd, const char *text, struct fs_err *err)
{
    if (!computed_key(fd))
        return fs_err_set(err, FS_EINVAL, -1,
                          "key '%s' is computed per flow and cannot be counted by (keys: %s)", text,
                          key_help);
    if (fd->type == FT_LABEL && labels_count() == 0)
        return fs_err_set(err, FS_EINVAL, -1, "key '%s' needs an address list: --label FILE", text);
    if (fd->type == FT_NAME)
        return pdns_current() ? 4
                              : fs_err_set(err, FS_EINVAL, -1,
                                           "key '%s' needs a passive DNS table: --pdns FILE", text);
    if (fd->type != FT_LABEL && geo_count() == 0)
        return fs_err_set(err, FS_EINVAL, -1, "key '%s' needs a MaxMind DB file: --mmdb FILE",
                          text);
    return fd->type == FT_CC ? 2 : fd->type == FT_ASN ? 4 : 1;
}

/* "24" -> 24 within 0..max; -1 when not a number in range. */
static int parse_bits(const char *s, int max)
{
    if (!*s || strlen(s) > 3)
        return -1;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= max ? v : -1;
}

/* Apply "/N" of a versioned name (srcip4/24): the version is the name's last char. */
static int apply_prefix(struct key_part *p, const char *name, const char *bits, struct fs_err *err)
{
    size_t len = strlen(name);
    char ver = '\0';
    if (len)
        ver = name[len - 1];
    if (ver != '4' && ver != '6')
        return fs_err_set(err, FS_EINVAL, -1,
                          "key '%s/%s': a prefix length needs a versioned key (srcip4/24, "
                          "dstip6/48, ip4/16, ...)",
                          name, bits);
    int v = parse_bits(bits, ver == '4' ? 32 : 128);
    if (v < 0)
        return fs_err_set(err, FS_EINVAL, -1, "key '%s/%s': prefix length must be 0..%d", name,
                          bits, ver == '4' ? 32 : 128);
    if (ver == '4')
        p->v4bits = (uint8_t)v;
    else
        p->v6bits = (uint8_t)v;
    return 0;
}

/* One key name, optionally with "/N": fills *p; *two_sided for ip/port/net/as. */
static int parse_part(const char *text, struct key_part *p, int *two_sided, struct fs_err *err)
{
    char name[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    if (len == 0 || len >= sizeof(name))
        return fs_err_set(err, FS_EINVAL, -1, "empty or too long key '%s' (keys: %s)", text,
                          key_help);
    memcpy(name, text, len);
    name[len] = '\0';
    memset(p, 0, sizeof(*p));
    *two_sided = 0;
    for (size_t i = 0; i < NKEY_NAMES; i++) {
        if (strcmp(key_names[i].name, name) != 0)
            continue;
        p->fd = key_field(key_names[i].fd);
        p->alt = key_names[i].alt ? key_field(key_names[i].alt) : NULL;
        p->v4bits = key_names[i].v4bits;
        p->v6bits = key_names[i].v6bits;
        *two_sided = p->alt != NULL;
        break;
    }
    if (!p->fd) {
        p->fd = key_field(name);
        if (!p->fd)
            return fs_err_set(err, FS_EINVAL, -1, "unknown key '%s' (keys: %s)", name, key_help);
        p->v4bits = 32;
        p->v6bits = 128;
    }
    p->size = (p->fd->type == FT_ADDR || p->fd->type == FT_EADDR) ? 16 : p->fd->size;
    if (p->fd->size == 16 && p->fd->type != FT_ADDR && p->fd->type != FT_EADDR) {
        int size = computed_size(p->fd, name, err); /* the fields of src or dst */
        if (size < 0)
            return size;
        p->size = (uint8_t)size;
    } else if (p->fd->size == 0) {
        int size = computed_size(p->fd, name, err); /* cid, label */
        if (size < 0)
            return size;
        p->size = (uint8_t)size;
    }
    if (slash) {
        if (p->size != 16)
            return fs_err_set(err, FS_EINVAL, -1, "key '%s': only addresses take a prefix length",
                              text);
        return apply_prefix(p, name, slash + 1, err);
    }
    return 0;
}

static void spec_layout(struct key_spec *ks)
{
    int off = 0;
    for (int i = 0; i < ks->nparts; i++) {
        ks->part[i].off = (uint8_t)off;
        off += ks->part[i].size;
    }
    ks->keylen = (off + 7) & ~7;
    if (ks->keylen == 0)
        ks->keylen = 8;
}

int key_parse(const char *text, struct key_spec *ks, struct fs_err *err)
{
    memset(ks, 0, sizeof(*ks));
    int rc = parse_part(text, &ks->part[0], &ks->two_sided, err);
    if (rc)
        return rc;
    ks->nparts = 1;
    snprintf(ks->name, sizeof(ks->name), "%s", text);
    spec_layout(ks);
    return 0;
}

/* Add one aggregation part, merging a second prefix of the same address field. */
static int add_list_part(struct key_spec *ks, const char *tok, struct fs_err *err)
{
    struct key_part p;
    int two;
    int rc = parse_part(tok, &p, &two, err);
    if (rc)
        return rc;
    if (two)
        return fs_err_set(err, FS_EINVAL, -1,
                          "aggregation key '%s' is two-sided; name each side (e.g. srcip,dstip)",
                          tok);
    if (computed_key(p.fd))
        return fs_err_set(err, FS_EINVAL, -1,
                          "aggregation key '%s' is computed per flow: count by it with -s", tok);
    for (int i = 0; i < ks->nparts; i++) {
        if (ks->part[i].fd != p.fd)
            continue;
        if (p.size != 16)
            return fs_err_set(err, FS_EINVAL, -1, "aggregation key '%s' given twice", tok);
        if (p.v4bits < ks->part[i].v4bits)
            ks->part[i].v4bits = p.v4bits;
        if (p.v6bits < ks->part[i].v6bits)
            ks->part[i].v6bits = p.v6bits;
        return 0;
    }
    if (ks->nparts == KEY_MAX_PARTS)
        return fs_err_set(err, FS_EINVAL, -1, "too many aggregation keys (at most %d)",
                          KEY_MAX_PARTS);
    int used = ks->nparts ? ks->part[ks->nparts - 1].off + ks->part[ks->nparts - 1].size : 0;
    if (used + p.size > KEY_MAX_BYTES)
        return fs_err_set(err, FS_EINVAL, -1, "aggregation keys too wide (at most %d bytes)",
                          KEY_MAX_BYTES);
    ks->part[ks->nparts++] = p;
    spec_layout(ks);
    return 0;
}

int key_parse_list(const char *text, struct key_spec *ks, struct fs_err *err)
{
    memset(ks, 0, sizeof(*ks));
    snprintf(ks->name, sizeof(ks->name), "%s", text);
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char tok[64];
        if (len == 0 || len >= sizeof(tok))
            return fs_err_set(err, FS_EINVAL, -1, "empty or too long key in '%s'", text);
        memcpy(tok, s, len);
        tok[len] = '\0';
        int rc = add_list_part(ks, tok, err);
        if (rc)
            return rc;
        if (!comma)
            break;
        s = comma + 1;
    }
    return 0;
}

/* Zero the host bits of a 16-byte address per the part's prefix for its version. */
static void mask_addr(const struct key_part *p, uint8_t *a)
{
    int bits;
    if (flow_addr_is_v4mapped(a))
        bits = p->v4bits >= 32 ? 128 : 96 + p->v4bits;
    else
        bits = p->v6bits;
    if (bits >= 128)
        return;
    int byte = bits / 8;
    if (bits % 8)
        a[byte++] &= (uint8_t)(0xff << (8 - bits % 8));
    memset(a + byte, 0, (size_t)(16 - byte));
}

/* A computed key part of f into k (computed_size bytes). */
static void pack_computed(const struct field *fd, const struct flow *f, uint8_t *k)
{
    if (fd->type == FT_LABEL) {
        for (size_t i = 0; i < labels_count(); i++)
            k[0] |= (uint8_t)(labels_hit(i, f) << i);
        return;
    }
    const uint8_t *a = field_get_addr(fd, f);
    if (fd->type == FT_NAME) {
        uint32_t ref = pdns_name_ref(pdns_current(), a, f->first);
        for (int b = 3; b >= 0; b--, ref >>= 8)
            k[b] = (uint8_t)ref;
        return;
    }
    if (fd->type == FT_CC) {
        char cc[3];
        if (geo_cc(a, f->ipver, cc) == 1)
            memcpy(k, cc, 2);
        return;
    }
    uint32_t asn = 0;
    if (geo_asn(a, f->ipver, &asn) == 1)
        for (int b = 3; b >= 0; b--, asn >>= 8)
            k[b] = (uint8_t)asn;
}

void key_pack(const struct key_spec *ks, const struct flow *f, int side, uint8_t *key)
{
    memset(key, 0, (size_t)ks->keylen);
    for (int i = 0; i < ks->nparts; i++) {
        const struct key_part *p = &ks->part[i];
        const struct field *fd = side && p->alt ? p->alt : p->fd;
        uint8_t *k = key + p->off;
        if (computed_key(fd)) {
            pack_computed(fd, f, k);
            continue;
        }
        if (p->size == 16) {
            memcpy(k, field_get_addr(fd, f), 16);
            if (p->v4bits < 32 || p->v6bits < 128) /* whole addresses need no mask */
                mask_addr(p, k);
            continue;
        }
        uint64_t v = field_get_u64(fd, f);
        for (int b = p->size - 1; b >= 0; b--, v >>= 8)
            k[b] = (uint8_t)v;
    }
}

void key_unpack(const struct key_spec *ks, const uint8_t *key, struct flow *f)
{
    for (int i = 0; i < ks->nparts; i++) {
        const struct key_part *p = &ks->part[i];
        const uint8_t *k = key + p->off;
        uint8_t *dst = (uint8_t *)f + p->fd->offset;
        if (computed_key(p->fd))
            continue; /* not a member: key_part_text reads the key itself */
        if (p->size == 16) {
            memcpy(dst, k, 16);
            if (p->fd->type == FT_ADDR)
                f->ipver = flow_addr_is_v4mapped(k) ? 4 : 6;
            continue;
        }
        uint64_t v = 0;
        for (int b = 0; b < p->size; b++)
            v = v << 8 | k[b];
        switch (p->size) {
        case 1:
            *dst = (uint8_t)v;
            break;
        case 2: {
            uint16_t x = (uint16_t)v;
            memcpy(dst, &x, 2);
            break;
        }
        case 4: {
            uint32_t x = (uint32_t)v;
            memcpy(dst, &x, 4);
            break;
        }
        default:
            memcpy(dst, &v, 8);
        }
    }
}

/* A computed key part as text: the country, the AS number, the lists joined by '+';
 * empty when unknown (as print shows them). */
static size_t computed_text(char *buf, size_t cap, const struct key_part *p, const uint8_t *k)
{
    char tmp[LABELS_TEXT_MAX];
    size_t n = 0;
    if (p->fd->type == FT_CC && k[0]) {
        tmp[0] = (char)k[0];
        tmp[1] = (char)k[1];
        n = 2;
    } else if (p->fd->type == FT_ASN) {
        uint32_t asn = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
        if (asn)
            n = (size_t)snprintf(tmp, sizeof(tmp), "%u", asn);
    } else if (p->fd->type == FT_NAME) {
        uint32_t ref = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
        const char *name = pdns_ref_name(pdns_current(), ref);
        int w = snprintf(buf, cap, "%s", name ? name : "");
        return w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
    } else if (p->fd->type == FT_LABEL) {
        for (size_t i = 0; i < labels_count(); i++) {
            if (!(k[0] >> i & 1))
                continue;
            const char *name = labels_name(i);
            size_t len = strlen(name);
            if (n)
                tmp[n++] = '+';
            memcpy(tmp + n, name, len);
            n += len;
        }
    }
    tmp[n] = '\0';
    return (size_t)snprintf(buf, cap, "%s", tmp) < cap ? n : cap - 1;
}

size_t key_part_text(char *buf, size_t cap, const struct key_spec *ks, int i, const uint8_t *key,
                     int human)
{
    const struct key_part *p = &ks->part[i];
    char tmp[OUTPUT_FIELD_MAX];
    if (computed_key(p->fd))
        return computed_text(buf, cap, p, key + p->off);
    struct flow f;
    memset(&f, 0, sizeof(f));
    key_unpack(ks, key, &f);
    size_t n = output_field(tmp, p->fd, &f, human);
    if (p->size == 16) {
        int v4 = flow_addr_is_v4mapped(key + p->off);
        int bits = v4 ? p->v4bits : p->v6bits;
        if (bits < (v4 ? 32 : 128))
            n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "/%d", bits);
    }
    return (size_t)snprintf(buf, cap, "%s", tmp) < cap ? n : cap - 1;
}

/* ================================================================ hash table */

/*
 * Two arrays: a dense array of entries (key, then value), and an open-addressing index
 * of 8-byte slots, (high 32 hash bits | 1) << 32 | (entry + 1), 0 = empty, probed
 * linearly from the low hash bits. The index keeps probes inside few cache lines and
 * the tag saves most key compares; the dense entries waste no memory on empty slots,
 * grow by realloc (mremap for big arrays: no copy, no re-zeroing) and are read in
 * order for the results.
 */
#define KT_MAX_LOAD_NUM 1 /* index at most half full: probes stay short */
#define KT_MAX_LOAD_DEN 2

/* Hash of a zero-padded key, 8 bytes at a time (splitmix64-style mixing). */
static inline uint64_t kt_hash(const uint8_t *k, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w;
        memcpy(&w, k + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* Equality of two padded keys, 8 bytes at a time: inlined, unlike a call to memcmp,
 * which cost a sixth of a top-N run. */
static inline int kt_keyeq(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return 0;
    }
    return 1;
}

static inline uint8_t *kt_ent(const struct ktab *t, size_t e)
{
    return t->ents + e * t->stride;
}

static inline struct ktab_head *kt_head(const struct ktab *t, size_t e)
{
    return (struct ktab_head *)(void *)(kt_ent(t, e) + t->keylen);
}

static inline uint64_t kt_slotval(uint64_t h, size_t e)
{
    return ((h >> 32) | 1) << 32 | (uint64_t)(e + 1);
}

void ktab_init(struct ktab *t, size_t keylen, size_t vallen, size_t max_bytes)
{
    memset(t, 0, sizeof(*t));
    t->keylen = keylen;
    t->vallen = vallen;
    t->stride = keylen + vallen;
    t->max_bytes = max_bytes;
    t->nslots = 1024;
    t->cap = 256;
    while (t->nslots > 16 && t->nslots * 8 + t->cap * t->stride > max_bytes) {
        t->nslots /= 2;
        t->cap /= 2;
    }
    t->index = xcalloc(t->nslots, sizeof(*t->index));
    t->ents = xmalloc(t->cap * t->stride);
}

/* Rebuild the index at twice the size. */
static void kt_reindex(struct ktab *t, size_t nn)
{
    free(t->index);
    t->index = xcalloc(nn, sizeof(*t->index));
    t->nslots = nn;
    for (size_t e = 0; e < t->n; e++) {
        uint64_t h = kt_hash(kt_ent(t, e), t->keylen);
        size_t i = h & (nn - 1);
        while (t->index[i])
            i = (i + 1) & (nn - 1);
        t->index[i] = kt_slotval(h, e);
    }
}

/* Room for one more entry within the budget; 0 when there is none. */
static int kt_room(struct ktab *t)
{
    size_t nslots = t->nslots, cap = t->cap;
    if ((t->n + 1) * KT_MAX_LOAD_DEN > nslots * KT_MAX_LOAD_NUM)
        nslots *= 2;
    if (t->n == cap)
        cap *= 2;
    if (nslots == t->nslots && cap == t->cap)
        return 1;
    /* Budget the memory in use, not the reserve: the pages of a grown entry array are
     * only touched (made resident) as entries fill them. */
    if (nslots * 8 + (t->n + 1) * t->stride > t->max_bytes || cap >= ((size_t)1 << 32))
        return 0;
    if (cap != t->cap) {
        t->ents = xrealloc(t->ents, cap * t->stride);
        t->cap = cap;
    }
    if (nslots != t->nslots)
        kt_reindex(t, nslots);
    return 1;
}

/* ---- Space-Saving: a min-heap of entries on w, hpos[] = place of each entry */

static inline uint64_t kt_w(const struct ktab *t, uint32_t e)
{
    return kt_head(t, e)->w;
}

static inline void kt_heap_set(struct ktab *t, size_t pos, uint32_t e)
{
    t->heap[pos] = e;
    t->hpos[e] = (uint32_t)pos;
}

static void kt_heap_down(struct ktab *t, size_t pos)
{
    size_t n = t->n;
    uint32_t x = t->heap[pos];
    uint64_t wx = kt_w(t, x);
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= n)
            break;
        if (c + 1 < n && kt_w(t, t->heap[c + 1]) < kt_w(t, t->heap[c]))
            c++;
        if (kt_w(t, t->heap[c]) >= wx)
            break;
        kt_heap_set(t, pos, t->heap[c]);
        pos = c;
    }
    kt_heap_set(t, pos, x);
}

/* Turn the exact table into a Space-Saving summary of its current keys. */
static void kt_to_approx(struct ktab *t)
{
    t->approx = 1;
    t->capacity = t->n;
    t->heap = xmalloc((t->n ? t->n : 1) * sizeof(*t->heap));
    t->hpos = xmalloc((t->n ? t->n : 1) * sizeof(*t->hpos));
    for (size_t e = 0; e < t->n; e++)
        kt_heap_set(t, e, (uint32_t)e);
    for (size_t i = t->n / 2; i-- > 0;)
        kt_heap_down(t, i);
}

/* Remove index slot i, shifting later members of its probe run back (no tombstones). */
static void kt_unindex(struct ktab *t, size_t i)
{
    size_t mask = t->nslots - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint64_t sv = t->index[j];
        if (!sv)
            break;
        size_t home = kt_hash(kt_ent(t, (uint32_t)sv - 1), t->keylen) & mask;
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->index[i] = sv;
        i = j;
    }
    t->index[i] = 0;
}

/* The index slot that points at entry e. */
static size_t kt_find_slot(const struct ktab *t, size_t e)
{
    size_t mask = t->nslots - 1, i = kt_hash(kt_ent(t, e), t->keylen) & mask;
    while ((uint32_t)t->index[i] != e + 1)
        i = (i + 1) & mask;
    return i;
}

/* Point index slot i (empty, end of the probe run of h) at entry e holding key. */
static struct ktab_head *kt_fill(struct ktab *t, size_t i, uint64_t h, size_t e, const uint8_t *key)
{
    t->index[i] = kt_slotval(h, e);
    memcpy(kt_ent(t, e), key, t->keylen);
    struct ktab_head *hd = kt_head(t, e);
    memset(hd, 0, t->vallen);
    return hd;
}

/* Space-Saving: the lightest key makes room and hands its weight on as error. */
static void *kt_evict_insert(struct ktab *t, const uint8_t *key, uint64_t h, uint64_t weight)
{
    uint32_t e = t->heap[0];
    uint64_t wmin = kt_w(t, e);
    kt_unindex(t, kt_find_slot(t, e));
    size_t mask = t->nslots - 1, i = h & mask;
    while (t->index[i])
        i = (i + 1) & mask;
    struct ktab_head *hd = kt_fill(t, i, h, e, key);
    hd->w = wmin + weight;
    hd->err = wmin;
    kt_heap_down(t, 0);
    t->evictions++;
    return hd;
}

uint64_t ktab_hash(const struct ktab *t, const uint8_t *key)
{
    return kt_hash(key, t->keylen);
}

/*
 * A prefetch the compiler keeps: gcc -O3 merged or dropped some __builtin_prefetch
 * calls of the batch loops (16 instead of 20 in the binary), and the explicit
 * instruction took a top-N on 10 M flows from 0.95 to 0.84 s of CPU.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define KT_PREFETCH(p) __asm__ volatile("prefetcht0 %0" ::"m"(*(const char *)(p)))
#else
#define KT_PREFETCH(p) __builtin_prefetch(p)
#endif

void ktab_prefetch_slot(const struct ktab *t, uint64_t h)
{
    KT_PREFETCH(&t->index[h & (t->nslots - 1)]);
}

/*
 * Prefetch the entry whose tag matches along the probe run, not just the first slot's:
 * at half load a third of the keys are not in their home slot, and each of those
 * missed the cache on the key compare (86 % of ktab_upsert_h on a 32 k-key top-N).
 */
void ktab_prefetch_entry(const struct ktab *t, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32) | 1;
    size_t mask = t->nslots - 1, i = h & mask;
    for (int probes = 0; probes < 4; probes++, i = (i + 1) & mask) {
        uint64_t sv = t->index[i];
        if (!sv)
            return;
        if ((uint32_t)(sv >> 32) == tag) {
            const uint8_t *e = kt_ent(t, (uint32_t)sv - 1);
            KT_PREFETCH(e);
            KT_PREFETCH(e + t->stride - 1);
            return;
        }
    }
}

void *ktab_upsert(struct ktab *t, const uint8_t *key, uint64_t weight, int *isnew)
{
    return ktab_upsert_h(t, key, kt_hash(key, t->keylen), weight, isnew);
}

void *ktab_upsert_h(struct ktab *t, const uint8_t *key, uint64_t h, uint64_t weight, int *isnew)
{
    uint32_t tag = (uint32_t)(h >> 32) | 1;
    size_t mask = t->nslots - 1, i = h & mask;
    for (;;) {
        uint64_t sv = t->index[i];
        if (!sv)
            break;
        if ((uint32_t)(sv >> 32) == tag && kt_keyeq(kt_ent(t, (uint32_t)sv - 1), key, t->keylen)) {
            uint32_t e = (uint32_t)sv - 1;
            struct ktab_head *hd = kt_head(t, e);
            hd->w += weight;
            if (t->approx)
                kt_heap_down(t, t->hpos[e]);
            *isnew = 0;
            return hd;
        }
        i = (i + 1) & mask;
    }
    *isnew = 1;
    if (!t->approx && !kt_room(t)) {
        if (t->exact_only) {
            t->full = 1;
            return NULL;
        }
        kt_to_approx(t);
    }
    if (t->approx)
        return kt_evict_insert(t, key, h, weight);
    if (t->nslots != (mask + 1)) { /* the index was rebuilt: find the end of the run */
        mask = t->nslots - 1;
        for (i = h & mask; t->index[i]; i = (i + 1) & mask)
            ;
    }
    struct ktab_head *hd = kt_fill(t, i, h, t->n++, key);
    hd->w = weight;
    return hd;
}

const uint8_t *ktab_key(const struct ktab *t, size_t i)
{
    return i < t->n ? kt_ent(t, i) : NULL;
}

void *ktab_val(const struct ktab *t, size_t i)
{
    return i < t->n ? kt_head(t, i) : NULL;
}

size_t ktab_bytes(const struct ktab *t)
{
    return t->nslots * 8 + t->cap * t->stride + (t->heap ? t->capacity * 8 : 0);
}

void ktab_free(struct ktab *t)
{
    free(t->index);
    free(t->ents);
    free(t->heap);
    free(t->hpos);
    memset(t, 0, sizeof(*t));
}

/* ================================================================ stats */

static const char *const order_names[] = { "flows", "tbytes", "tpackets", "bps", "pps", "bpp" };

const char *stats_order_name(enum stats_order order)
{
    return order_names[order];
}

/*
 * An order by name. "bytes" and "packets" are nfdump's names for the same orders as
 * tbytes and tpackets: nfdump 1.7.1 ranks -s KEY/bytes by the in + out bytes of a
 * record (measured on IPFIX biflows, whatever its manual says), so an nfdump user's
 * -s srcip/bytes gives nfdump's ranking here too. -1 when unknown.
 */
static int order_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(order_names) / sizeof(order_names[0]); i++)
        if (strcmp(name, order_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "bytes") == 0)
        return ORD_BYTES;
    if (strcmp(name, "packets") == 0)
        return ORD_PACKETS;
    return -1;
}

/* Split "KEY[/ORDER]": the order is a last "/word" that is not a prefix length. */
static int split_order(const char *spec, char *key, size_t cap, enum stats_order *order,
                       struct fs_err *err)
{
    const char *slash = strrchr(spec, '/');
    size_t klen = strlen(spec);
    *order = ORD_FLOWS;
    if (slash && !(slash[1] >= '0' && slash[1] <= '9')) {
        int o = order_parse(slash + 1);
        if (o < 0)
            return fs_err_set(err, FS_EINVAL, -1,
                              "unknown order '%s' in '%s' (flows, tbytes, tpackets, bps, pps, "
                              "bpp; bytes and packets as nfdump: tbytes and tpackets)",
                              slash + 1, spec);
        *order = (enum stats_order)o;
        klen = (size_t)(slash - spec);
    }
    if (klen >= cap)
        return fs_err_set(err, FS_EINVAL, -1, "stat key too long: '%s'", spec);
    memcpy(key, spec, klen);
    key[klen] = '\0';
    return 0;
}

int stats_new(const char *spec, size_t max_bytes, struct stats **out, struct fs_err *err)
{
    char key[64];
    enum stats_order order;
    struct key_spec ks;
    int rc = split_order(spec, key, sizeof(key), &order, err);
    if (rc == 0)
        rc = key_parse(key, &ks, err);
    if (rc)
        return rc;
    struct stats *s = xcalloc(1, sizeof(*s));
    s->key = ks;
    s->order = order;
    ktab_init(&s->tab, (size_t)ks.keylen, sizeof(struct stats_val), max_bytes);
    *out = s;
    return 0;
}

/* The Space-Saving weight of a flow for the order (bps/bpp rank by bytes, pps by packets). */
static inline uint64_t order_weight(enum stats_order o, uint64_t bytes, uint64_t packets)
{
    switch (o) {
    case ORD_FLOWS:
        return 1;
    case ORD_PACKETS:
    case ORD_PPS:
        return packets;
    default:
        return bytes;
    }
}

/* A key that replaced an evicted one inherits its weight in the ordered counter, so
 * that counter stays the upper bound Space-Saving promises. */
static void inherit(struct stats_val *v, enum stats_order o)
{
    if (o == ORD_FLOWS)
        v->flows = v->h.err;
    else if (o == ORD_PACKETS || o == ORD_PPS)
        v->packets = v->h.err;
    else
        v->bytes = v->h.err;
}

/* Count one side of a flow whose key is packed (h: its hash). */
static void add_side(struct stats *s, const struct flow *f, const uint8_t *key, uint64_t h)
{
    uint64_t bytes = f->bytes + f->rbytes, packets = f->packets + f->rpackets;
    int isnew;
    struct stats_val *v =
        ktab_upsert_h(&s->tab, key, h, order_weight(s->order, bytes, packets), &isnew);
    if (!v) /* an exact_only table at its budget: the caller starts over (stats_full) */
        return;
    if (isnew) {
        v->first = f->first;
        v->last = f->last;
        if (v->h.err)
            inherit(v, s->order);
    } else {
        if (f->first < v->first)
            v->first = f->first;
        if (f->last > v->last)
            v->last = f->last;
    }
    v->flows++;
    v->bytes += bytes;
    v->packets += packets;
}

static void add_totals(struct stats *s, const struct flow *f)
{
    s->flows++;
    s->bytes += f->bytes + f->rbytes;
    s->packets += f->packets + f->rpackets;
}

void stats_add(struct stats *s, const struct flow *f)
{
    uint8_t key[KEY_MAX_BYTES];
    add_totals(s, f);
    for (int side = 0; side <= s->key.two_sided; side++) {
        key_pack(&s->key, f, side, key);
        add_side(s, f, key, ktab_hash(&s->tab, key));
    }
}

#define STATS_PREFETCH_AHEAD 12

void stats_add_batch(struct stats *s, const struct flow *f, size_t n)
{
    uint8_t keys[STATS_BATCH * 2][KEY_MAX_BYTES];
    uint64_t h[STATS_BATCH * 2];
    size_t m = 0, sides = (size_t)s->key.two_sided + 1;
    if (n > STATS_BATCH)
        n = STATS_BATCH;
    for (size_t i = 0; i < n; i++) {
        for (size_t side = 0; side < sides; side++, m++) {
            key_pack(&s->key, &f[i], (int)side, keys[m]);
            h[m] = ktab_hash(&s->tab, keys[m]);
            ktab_prefetch_slot(&s->tab, h[m]);
        }
    }
    /* Entries are prefetched a fixed distance ahead of their use: all of a batch at
     * once overran the CPU's outstanding-miss slots and most prefetches came too late. */
    size_t total = m, ahead = m < STATS_PREFETCH_AHEAD ? m : STATS_PREFETCH_AHEAD;
    for (size_t j = 0; j < ahead; j++)
        ktab_prefetch_entry(&s->tab, h[j]);
    m = 0;
    for (size_t i = 0; i < n; i++) {
        add_totals(s, &f[i]);
        for (size_t side = 0; side < sides; side++, m++) {
            if (m + ahead < total)
                ktab_prefetch_entry(&s->tab, h[m + ahead]);
            add_side(s, &f[i], keys[m], h[m]);
        }
    }
}

uint64_t stats_columns(const struct stats *s)
{
    static const char *const used[] = { "first", "last", "bytes", "rbytes", "packets", "rpackets" };
    uint64_t m = 0;
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        m |= (uint64_t)1 << field_index(used[i]);
    for (int i = 0; i < s->key.nparts; i++) {
        if (computed_key(s->key.part[i].fd)) { /* not a column: computed from the ends */
            m |= (uint64_t)1 << field_index("src") | (uint64_t)1 << field_index("dst") |
                 (uint64_t)1 << field_index("ipver");
            continue;
        }
        m |= (uint64_t)1 << (s->key.part[i].fd - fields);
        if (s->key.part[i].alt)
            m |= (uint64_t)1 << (s->key.part[i].alt - fields);
    }
    return m;
}

/* ================================================================ per-thread parts */

/* One slot: the key (zero-padded to 16 bytes) and its counters; flows == 0 = empty. */
struct pslot {
    uint64_t key[2];
    uint64_t flows, bytes, packets, first, last;
    uint64_t pad_;
};

_Static_assert(sizeof(struct pslot) == 64, "a part's slot is one cache line");

struct stats_part {
    const struct stats *s;
    struct pslot *slot; /* nslots, 64-byte aligned in mem */
    void *mem;
    size_t nslots, n, max_bytes;
    int full;
    uint64_t flows, bytes, packets;
};

/*
 * Sizes grow by half, not double, and a part fills up to 3/4: with 64-byte slots that
 * keeps its memory per key about that of a ktab (72-byte entries plus index), where
 * doubling would cost up to twice as much. A slot is picked by multiplying the hash
 * into [0, nslots) (Lemire's fast range), which needs no power of two.
 */
#define PART_MIN_SLOTS 1024
#define PART_LOAD_NUM  3
#define PART_LOAD_DEN  4

/* Zeroed, 64-byte aligned slots (calloc: big tables get untouched zero pages). */
static void part_alloc(struct stats_part *p, size_t nslots)
{
    p->mem = xcalloc(nslots * sizeof(struct pslot) + 64, 1);
    uintptr_t mis = (uintptr_t)p->mem & 63; /* bytes past the last 64-byte boundary */
    p->slot = (struct pslot *)(void *)((uint8_t *)p->mem + (mis ? 64 - mis : 0));
    p->nslots = nslots;
}

struct stats_part *stats_part_new(const struct stats *s, size_t max_bytes)
{
    if (s->key.keylen > 16)
        return NULL;
    struct stats_part *p = xcalloc(1, sizeof(*p));
    p->s = s;
    p->max_bytes = max_bytes;
    size_t nslots = PART_MIN_SLOTS; /* a small budget starts small, as ktab_init does */
    while (nslots > 16 && nslots * sizeof(struct pslot) + 64 > max_bytes)
        nslots /= 2;
    part_alloc(p, nslots);
    return p;
}

/* The hash of a part's key: kt_hash with the width known, so it unrolls. */
static inline uint64_t part_hash(const struct stats_part *p, const uint64_t key[2])
{
    return p->s->key.keylen == 16 ? kt_hash((const uint8_t *)key, 16)
                                  : kt_hash((const uint8_t *)key, 8);
}

static inline size_t part_home(const struct stats_part *p, uint64_t h)
{
    return (size_t)(((unsigned __int128)h * p->nslots) >> 64);
}

/* The slot of key: its own, or the empty one that ends its probe run. */
static inline struct pslot *part_find(const struct stats_part *p, const uint64_t key[2], uint64_t h)
{
    size_t i = part_home(p, h);
    for (;;) {
        struct pslot *sl = &p->slot[i];
        if (!sl->flows || (sl->key[0] == key[0] && sl->key[1] == key[1]))
            return sl;
        if (++i == p->nslots)
            i = 0;
    }
}

/* Grow by half within the budget (old and new slots both live while moving). */
static int part_grow(struct stats_part *p)
{
    size_t nn = (p->nslots + p->nslots / 2 + 63) & ~(size_t)63;
    if ((nn + p->nslots) * sizeof(struct pslot) + 128 > p->max_bytes)
        return 0;
    struct stats_part old = *p;
    part_alloc(p, nn);
    for (size_t i = 0; i < old.nslots; i++)
        if (old.slot[i].flows)
            *part_find(p, old.slot[i].key, part_hash(p, old.slot[i].key)) = old.slot[i];
    free(old.mem);
    return 1;
}

/* Add counters to key's slot (a new key when empty); 0, or -1 when it did not fit. */
static int part_upsert(struct stats_part *p, const uint64_t key[2], uint64_t h,
                       const struct pslot *add)
{
    struct pslot *sl = part_find(p, key, h);
    if (!sl->flows) {
        if ((p->n + 1) * PART_LOAD_DEN > p->nslots * PART_LOAD_NUM) {
            if (!part_grow(p)) {
                p->full = 1;
                return -1;
            }
            sl = part_find(p, key, h);
        }
        p->n++;
        *sl = *add;
        sl->key[0] = key[0];
        sl->key[1] = key[1];
        return 0;
    }
    sl->flows += add->flows;
    sl->bytes += add->bytes;
    sl->packets += add->packets;
    if (add->first < sl->first)
        sl->first = add->first;
    if (add->last > sl->last)
        sl->last = add->last;
    return 0;
}

/*
 * Pack side `side` of f into key[2] (zero-padded). Whole addresses, the usual key, are
 * two loads; anything else goes through key_pack (prefix masks, numbers).
 */
static inline void part_key(const struct key_spec *ks, const struct flow *f, int side,
                            uint64_t key[2])
{
    const struct key_part *kp = &ks->part[0];
    if (kp->size == 16 && kp->v4bits >= 32 && kp->v6bits >= 128) {
        const struct field *fd = side && kp->alt ? kp->alt : kp->fd;
        memcpy(key, (const uint8_t *)f + fd->offset, 16);
        return;
    }
    uint64_t kb[KEY_MAX_BYTES / 8];
    key_pack(ks, f, side, (uint8_t *)kb);
    key[0] = kb[0];
    key[1] = ks->keylen > 8 ? kb[1] : 0;
}

#define PART_PREFETCH_AHEAD 20

void stats_part_add(struct stats_part *p, const struct flow *f, size_t n)
{
    uint64_t keys[STATS_BATCH * 2][2], h[STATS_BATCH * 2];
    const struct key_spec *ks = &p->s->key;
    size_t m = 0, sides = (size_t)ks->two_sided + 1;
    if (n > STATS_BATCH)
        n = STATS_BATCH;
    for (size_t i = 0; i < n; i++) {
        p->bytes += f[i].bytes + f[i].rbytes;
        p->packets += f[i].packets + f[i].rpackets;
        for (size_t side = 0; side < sides; side++, m++) {
            part_key(ks, &f[i], (int)side, keys[m]);
            h[m] = part_hash(p, keys[m]);
        }
    }
    p->flows += n;
    /* A fixed distance ahead: a whole batch of prefetches at once overruns the CPU's
     * outstanding misses (the prefetch instructions themselves then stall). */
    size_t ahead = m < PART_PREFETCH_AHEAD ? m : PART_PREFETCH_AHEAD;
    for (size_t j = 0; j < ahead; j++)
        KT_PREFETCH(&p->slot[part_home(p, h[j])]);
    for (size_t j = 0; j < m; j++) {
        if (j + ahead < m)
            KT_PREFETCH(&p->slot[part_home(p, h[j + ahead])]);
        const struct flow *x = &f[j / sides];
        struct pslot add = { { 0, 0 }, 1, x->bytes + x->rbytes, x->packets + x->rpackets, x->first,
                             x->last,  0 };
        part_upsert(p, keys[j], h[j], &add);
    }
}

int stats_part_full(const struct stats_part *p)
{
    return p->full;
}

int stats_part_merge(struct stats_part *dst, const struct stats_part *src, size_t max_bytes)
{
    dst->max_bytes = max_bytes;
    for (size_t i = 0; i < src->nslots; i++) {
        const struct pslot *sl = &src->slot[i];
        if (sl->flows && part_upsert(dst, sl->key, part_hash(dst, sl->key), sl) != 0)
            return FS_ENOSPC;
    }
    dst->flows += src->flows;
    dst->bytes += src->bytes;
    dst->packets += src->packets;
    return 0;
}

int stats_part_to_stats(struct stats *s, const struct stats_part *p, size_t max_bytes)
{
    s->tab.max_bytes = max_bytes;
    s->tab.exact_only = 1;
    int rc = 0;
    for (size_t i = 0; i < p->nslots && !rc; i++) {
        const struct pslot *sl = &p->slot[i];
        if (!sl->flows)
            continue;
        /* The weight Space-Saving would have summed: flows, bytes or packets. */
        uint64_t w =
            s->order == ORD_FLOWS ? sl->flows : order_weight(s->order, sl->bytes, sl->packets);
        int isnew;
        struct stats_val *v = ktab_upsert(&s->tab, (const uint8_t *)sl->key, w, &isnew);
        if (!v) {
            rc = FS_ENOSPC;
            break;
        }
        if (isnew) {
            v->first = sl->first;
            v->last = sl->last;
        } else {
            if (sl->first < v->first)
                v->first = sl->first;
            if (sl->last > v->last)
                v->last = sl->last;
        }
        v->flows += sl->flows;
        v->bytes += sl->bytes;
        v->packets += sl->packets;
    }
    s->tab.exact_only = 0;
    if (!rc) {
        s->flows += p->flows;
        s->bytes += p->bytes;
        s->packets += p->packets;
    }
    return rc;
}

size_t stats_part_bytes(const struct stats_part *p)
{
    return p->nslots * sizeof(struct pslot) + 64;
}

void stats_part_free(struct stats_part *p)
{
    if (!p)
        return;
    free(p->mem);
    free(p);
}

double stats_metric(enum stats_order order, const struct stats_val *v)
{
    double secs = v->last > v->first ? (double)(v->last - v->first) / 1000.0 : 0.0;
    switch (order) {
    case ORD_FLOWS:
        return (double)v->flows;
    case ORD_BYTES:
        return (double)v->bytes;
    case ORD_PACKETS:
        return (double)v->packets;
    case ORD_BPS:
        return secs > 0 ? (double)v->bytes * 8.0 / secs : 0.0;
    case ORD_PPS:
        return secs > 0 ? (double)v->packets / secs : 0.0;
    case ORD_BPP:
        return v->packets ? (double)v->bytes / (double)v->packets : 0.0;
    }
    return 0.0;
}

/* 1 when row a ranks above row b: larger metric, then smaller key. Counters compare as
 * integers (exact beyond 2^53); rates as doubles. */
static int ranks_above(const struct stats *s, const struct stats_row *a, const struct stats_row *b)
{
    if (s->order <= ORD_PACKETS) {
        uint64_t x = s->order == ORD_FLOWS   ? a->v->flows
                     : s->order == ORD_BYTES ? a->v->bytes
                                             : a->v->packets;
        uint64_t y = s->order == ORD_FLOWS   ? b->v->flows
                     : s->order == ORD_BYTES ? b->v->bytes
                                             : b->v->packets;
        if (x != y)
            return x > y;
    } else {
        double x = stats_metric(s->order, a->v), y = stats_metric(s->order, b->v);
        if (x != y)
            return x > y;
    }
    return memcmp(a->key, b->key, (size_t)s->key.keylen) < 0;
}

/* rows[0..n) is a heap whose root ranks lowest: the one to drop first. */
static void top_sift(const struct stats *s, struct stats_row *rows, size_t n, size_t pos)
{
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= n)
            return;
        if (c + 1 < n && ranks_above(s, &rows[c], &rows[c + 1]))
            c++;
        if (!ranks_above(s, &rows[pos], &rows[c]))
            return;
        struct stats_row tmp = rows[pos];
        rows[pos] = rows[c];
        rows[c] = tmp;
        pos = c;
    }
}

size_t stats_top(const struct stats *s, size_t n, struct stats_row *rows)
{
    size_t k = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < s->tab.n; i++) {
        struct stats_row r = { ktab_key(&s->tab, i), ktab_val(&s->tab, i) };
        if (!r.key)
            continue;
        if (k < n) {
            rows[k++] = r;
            if (k == n)
                for (size_t p = n / 2; p-- > 0;)
                    top_sift(s, rows, n, p);
        } else if (ranks_above(s, &r, &rows[0])) {
            rows[0] = r;
            top_sift(s, rows, n, 0);
        }
    }
    if (k < n)
        for (size_t p = k / 2; p-- > 0;)
            top_sift(s, rows, k, p);
    /* heap sort: repeatedly move the lowest to the end, leaving best first */
    for (size_t m = k; m > 1; m--) {
        struct stats_row tmp = rows[0];
        rows[0] = rows[m - 1];
        rows[m - 1] = tmp;
        top_sift(s, rows, m - 1, 0);
    }
    return k;
}

size_t stats_fmt_num(char *buf, double v, int human)
{
    static const char units[] = " kMGTPE";
    if (!human || v < 1000.0)
        return (size_t)snprintf(buf, 32, "%.0f", v < 0 ? 0.0 : floor(v));
    int u = 0;
    while (v >= 999.95 && u < 6) {
        v /= 1000.0;
        u++;
    }
    return (size_t)snprintf(buf, 32, "%.1f %c", v, units[u]);
}

void stats_free(struct stats *s)
{
    if (!s)
        return;
    ktab_free(&s->tab);
    free(s);
}
