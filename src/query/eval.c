/*
 * Running and printing a compiled filter. filter_match is one loop over the program
 * with no recursion and no allocation: each instruction reads one field of the record
 * (by offset and width), tests it and sets pc to jt or jf. Jumps only go forward and
 * pc >= n ends the loop (n = accept, n + 1 = reject), so it always terminates, in at
 * most n steps.
 */
#include "filter_int.h"

#include "../core/cid.h"
#include "../core/fields.h"
#include "../core/fmt.h"
#include "../core/fwnat.h"
#include "../core/textglob.h"
#include "../core/tz.h"
#include "filter.h"
#include "geo.h"
#include "labels.h"
#include "pdns.h"

#include <fnmatch.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A virtual field (filter_int.h): computed, not loaded. */
static uint64_t load_virtual(const struct filter *f, const struct flow *r, unsigned width)
{
    unsigned hour, wday;
    switch (width) {
    case FW_HOUR:
    case FW_WDAY:
        tz_local(f->tz, r->first, &hour, &wday);
        return width == FW_HOUR ? hour : wday;
    case FW_BPP: {
        uint64_t p = r->packets + r->rpackets;
        return p ? (r->bytes + r->rbytes) / p : 0;
    }
    default:
        return r->last > r->first ? r->last - r->first : 0;
    }
}

/*
 * A field widened to 64 bits without branching on its width: one unaligned 8-byte load
 * (starting up to 7 bytes early near the end of the record, see compile.c), a shift and
 * a mask. Little-endian hosts only; others take the switch. The virtual fields are the
 * one branch, and it is predictable (the same for every record).
 */
static inline uint64_t load(const struct filter *f, const uint8_t *base, const struct finsn *in)
{
    static const uint64_t width_mask[16] = { 0, 0xff, 0xffff, 0, 0xffffffffu, 0, 0, 0, UINT64_MAX };
    if (FW_VIRTUAL(in->width))
        return load_virtual(f, (const struct flow *)(const void *)base, in->width);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, base + in->off - (in->shift >> 3), sizeof(v));
    return (v >> in->shift) & width_mask[in->width & 15];
#else
    switch (in->width) {
    case 1:
        return base[in->off];
    case 2: {
        uint16_t v;
        memcpy(&v, base + in->off, sizeof(v));
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, base + in->off, sizeof(v));
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, base + in->off, sizeof(v));
        return v;
    }
    }
#endif
}

static inline uint64_t be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return __builtin_bswap64(v);
}

/* Bisection in a sorted number list. */
static int in_nums(const uint64_t *v, uint64_t n, uint64_t x)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (v[mid] == x)
            return 1;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The address at in->off in one of the prefix groups [aux, aux + k). */
static int in_nets(const struct filter *f, const struct finsn *in, const struct flow *r)
{
    const uint8_t *a = (const uint8_t *)r + in->off;
    uint64_t hi = be64(a), lo = be64(a + 8);
    for (uint64_t gi = in->aux; gi < in->aux + in->k; gi++) {
        const struct fgroup *g = &f->groups[gi];
        if (in->width && g->ver != r->ipver)
            continue;
        uint64_t mh = hi & g->mhi, ml = lo & g->mlo;
        const struct fnet *v = f->nets + g->start;
        uint32_t l = 0, h = g->count;
        while (l < h) {
            uint32_t mid = l + (h - l) / 2;
            if (v[mid].hi == mh && v[mid].lo == ml)
                return 1;
            if (v[mid].hi < mh || (v[mid].hi == mh && v[mid].lo < ml))
                l = mid + 1;
            else
                h = mid;
        }
    }
    return 0;
}

/* Truth tables of EQ NE LT LE GT GE over idx 0 (v < k), 1 (v == k), 2 (v > k). */
#define CMP_TRUTH (2u | 5u << 3 | 1u << 6 | 3u << 9 | 4u << 12 | 6u << 15)

/* Run the program on one record: 1 when it is accepted. */
int filter_match(const struct filter *f, const struct flow *r)
{
    const struct finsn *prog = f->prog;
    const uint8_t *base = (const uint8_t *)r;
    uint32_t pc = 0, n = f->n;
    while (pc < n) {
        const struct finsn *in = &prog[pc];
        int t;
        switch (in->op) {
        case FOP_TRUE:
            t = 1;
            break;
        case FOP_EQ:
        case FOP_NE:
        case FOP_LT:
        case FOP_LE:
        case FOP_GT:
        case FOP_GE: {
            /* One case for all six, so the dispatch jump always goes to the same place
             * and predicts; the comparison is a truth table over (v >= k) + (v > k). */
            uint64_t v = load(f, base, in);
            unsigned idx = (unsigned)(v >= in->k) + (unsigned)(v > in->k);
            t = (int)(CMP_TRUTH >> (3u * (unsigned)(in->op - FOP_EQ) + idx)) & 1;
            break;
        }
        case FOP_ALLSET:
            t = (load(f, base, in) & in->k) == in->k;
            break;
        case FOP_ALLSET2:
            t = ((uint64_t)(base[in->off] | base[in->off2]) & in->k) == in->k;
            break;
        case FOP_IN:
            t = in_nums(f->nums + in->aux, in->k, load(f, base, in));
            break;
        case FOP_NET:
            t = in_nets(f, in, r);
            break;
        case FOP_NAME: {
            const char *nm = pdns_name(pdns_current(), base + in->off, r->first);
            t = nm && fnmatch((const char *)(f->nums + in->aux), nm, 0) == 0;
            break;
        }
        case FOP_GLOB:
            t = text_glob((const char *)(f->nums + in->aux), (const char *)base + in->off,
                          in->width);
            break;
        case FOP_LABEL:
            t = labels_hit(in->aux, r);
            break;
        case FOP_CC: {
            char cc[3];
            t = geo_cc(base + in->off, r->ipver, cc) &&
                ((uint64_t)(unsigned char)cc[0] << 8 | (unsigned char)cc[1]) == in->k;
            break;
        }
        case FOP_ASN: {
            uint32_t asn;
            t = geo_asn(base + in->off, r->ipver, &asn) && asn == in->k;
            break;
        }
        case FOP_CID: {
            uint8_t d[24] = { 0 };
            cid_digest(r, cid_seed(), d);
            t = memcmp(d, f->nums + in->aux, 24) == 0;
            break;
        }
        default: /* FOP_FALSE */
            t = 0;
            break;
        }
        pc = t ? in->jt : in->jf;
    }
    return pc == n;
}

/* Fields whose bytes overlap [off, off + len) of struct flow. */
static uint64_t cols_at(size_t off, size_t len)
{
    uint64_t m = 0;
    for (size_t i = 0; i < nfields && i < 64; i++)
        if (fields[i].offset < off + len && off < (size_t)fields[i].offset + fields[i].size)
            m |= (uint64_t)1 << i;
    return m;
}

uint64_t filter_columns(const struct filter *f)
{
    uint64_t m = 0;
    for (uint32_t pc = 0; pc < f->n; pc++) {
        const struct finsn *in = &f->prog[pc];
        switch (in->op) {
        case FOP_TRUE:
        case FOP_FALSE:
            break;
        case FOP_NET: /* a 16-byte address; width 1: also the version */
            m |= cols_at(in->off, 16);
            if (in->width)
                m |= cols_at(offsetof(struct flow, ipver), 1);
            break;
        case FOP_ALLSET2:
            m |= cols_at(in->off, 1) | cols_at(in->off2, 1);
            break;
        case FOP_NAME: /* the address and the time it is named at */
            m |= cols_at(in->off, 16) | cols_at(offsetof(struct flow, first), 8);
            break;
        case FOP_GLOB:
            m |= cols_at(in->off, in->width);
            break;
        case FOP_CC: /* the address and its version */
        case FOP_ASN:
            m |= cols_at(in->off, 16) | cols_at(offsetof(struct flow, ipver), 1);
            break;
        case FOP_LABEL: /* both addresses and their version */
            m |= cols_at(offsetof(struct flow, src), 32) | cols_at(offsetof(struct flow, ipver), 1);
            break;
        case FOP_CID: /* the key */
            m |= cols_at(offsetof(struct flow, src), 32) |
                 cols_at(offsetof(struct flow, sport), 4) |
                 cols_at(offsetof(struct flow, proto), 2);
            break;
        default:
            if (in->width == FW_BPP)
                m |= cols_at(offsetof(struct flow, bytes), 32); /* bytes .. rpackets */
            else if (FW_VIRTUAL(in->width))
                m |= cols_at(offsetof(struct flow, first), 8) |
                     cols_at(offsetof(struct flow, last), in->width == FW_DURATION ? 8 : 0);
            else
                m |= cols_at(in->off, in->width);
        }
    }
    return m;
}

static const char *const op_text[] = {
#define FILTER_OP_TEXT(name, text) text,
    FILTER_OPS(FILTER_OP_TEXT)
#undef FILTER_OP_TEXT
};

/* The field an instruction reads, for the dump. */
static const struct field *field_at(const struct finsn *in)
{
    for (size_t i = 0; i < nfields; i++)
        if (fields[i].offset == in->off && (in->op == FOP_NET || fields[i].size == in->width))
            return &fields[i];
    return NULL;
}

/* A line being formatted, so the jump columns of the dump line up. */
struct sbuf {
    char b[320];
    size_t n;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, ap);
    va_end(ap);
    if (w > 0)
        sb->n += (size_t)w < sizeof(sb->b) - sb->n ? (size_t)w : sizeof(sb->b) - sb->n - 1;
}

/* A constant as the user would write it for field fd (NULL: duration in ms). */
static void dump_value(struct sbuf *sb, const struct field *fd, uint64_t k)
{
    char buf[FMT_TIME_MAX];
    if (!fd) {
        sb_printf(sb, "%llums", (unsigned long long)k);
    } else if (fd->type == FT_TIME) {
        fmt_time_ms(buf, k);
        sb_printf(sb, "%s", buf);
    } else if (fd->type == FT_PROTO && filter_proto_name((unsigned)k)) {
        sb_printf(sb, "%llu(%s)", (unsigned long long)k, filter_proto_name((unsigned)k));
    } else if ((fd->type == FT_FWEV && fw_event_name((unsigned)k)) ||
               (fd->type == FT_NATEV && nat_event_name((unsigned)k))) {
        sb_printf(sb, "%llu(%s)", (unsigned long long)k,
                  fd->type == FT_FWEV ? fw_event_name((unsigned)k) : nat_event_name((unsigned)k));
    } else if (fd->type == FT_ACL) {
        acl_format(k, buf, sizeof(buf));
        sb_printf(sb, "%s", buf);
    } else if (fd->type == FT_FLAGS) {
        static const char letters[] = "FSRPAUEC";
        sb_printf(sb, "0x%02llx(", (unsigned long long)k);
        for (int b = 7; b >= 0; b--)
            if (k & (1u << b))
                sb_printf(sb, "%c", letters[b]);
        sb_printf(sb, ")");
    } else {
        sb_printf(sb, "%llu", (unsigned long long)k);
    }
}

/* A constant of a field or a virtual one (hour, wday and bpp are plain numbers). */
static void dump_num(struct sbuf *sb, const struct finsn *in, const struct field *vfd, uint64_t k)
{
    if (!vfd && in->width != FW_DURATION)
        sb_printf(sb, "%llu", (unsigned long long)k);
    else
        dump_value(sb, vfd, k);
}

/* The prefixes of groups [aux, aux + k), at most 8 of them, then a count. */
static void dump_nets(struct sbuf *sb, const struct filter *f, const struct finsn *in)
{
    unsigned shown = 0, total = 0;
    sb_printf(sb, "{");
    for (uint64_t gi = in->aux; gi < in->aux + in->k; gi++) {
        const struct fgroup *g = &f->groups[gi];
        total += g->count;
        for (uint32_t i = 0; i < g->count && shown < 8; i++, shown++) {
            uint8_t a[16];
            char buf[FMT_ADDR_MAX];
            const struct fnet *v = &f->nets[g->start + i];
            for (int b = 0; b < 8; b++) {
                a[b] = (uint8_t)(v->hi >> (56 - 8 * b));
                a[8 + b] = (uint8_t)(v->lo >> (56 - 8 * b));
            }
            fmt_addr(buf, a, g->ver);
            sb_printf(sb, "%s%s/%u", shown ? " " : "", buf, g->plen);
        }
    }
    if (total > shown)
        sb_printf(sb, " ... %u more", total - shown);
    sb_printf(sb, "}");
}

static void dump_target(struct sbuf *sb, const char *what, uint32_t pc, uint32_t n, int pad)
{
    if (pc >= n)
        sb_printf(sb, " %s %-*s", what, pad, pc == n ? "accept" : "reject");
    else
        sb_printf(sb, " %s %-*u", what, pad, pc);
}

/* The test of one instruction, as text. */
static void dump_test(struct sbuf *sb, const struct filter *f, const struct finsn *in)
{
    const struct field *fd = field_at(in);
    static const char *const virt[8] = {
        [FW_DURATION] = "duration", [FW_HOUR] = "hour", [FW_WDAY] = "wday", [FW_BPP] = "bpp"
    };
    int v = FW_VIRTUAL(in->width) && in->op != FOP_NET;
    const struct field *vfd = v ? NULL : fd;
    const char *name = v ? virt[in->width] : fd ? fd->name : "?";
    if (in->op == FOP_TRUE || in->op == FOP_FALSE) {
        sb_printf(sb, "%s", op_text[in->op]);
    } else if (in->op == FOP_NAME) {
        sb_printf(sb, "%s name %s", name, (const char *)(f->nums + in->aux));
    } else if (in->op == FOP_GLOB) {
        sb_printf(sb, "%s glob %s", name, (const char *)(f->nums + in->aux));
    } else if (in->op == FOP_LABEL) {
        sb_printf(sb, "label %s", labels_name(in->aux));
    } else if (in->op == FOP_CC) {
        sb_printf(sb, "%s cc %c%c", name, (char)(in->k >> 8), (char)(in->k & 0xff));
    } else if (in->op == FOP_ASN) {
        sb_printf(sb, "%s asn %llu", name, (unsigned long long)in->k);
    } else if (in->op == FOP_CID) {
        uint8_t d[24];
        char text[CID_TEXT];
        memcpy(d, f->nums + in->aux, sizeof(d));
        cid_format(d, text);
        sb_printf(sb, "cid == %s", text);
    } else if (in->op == FOP_ALLSET2) {
        sb_printf(sb, "flags|rflags has ");
        dump_value(sb, fd, in->k);
    } else if (in->op == FOP_NET) {
        sb_printf(sb, "%s %s ", name, op_text[in->op]);
        dump_nets(sb, f, in);
    } else if (in->op == FOP_IN) {
        sb_printf(sb, "%s in [", name);
        for (uint64_t i = 0; i < in->k && i < 8; i++) {
            sb_printf(sb, "%s", i ? " " : "");
            dump_num(sb, in, vfd, f->nums[in->aux + i]);
        }
        if (in->k > 8)
            sb_printf(sb, " ... %llu more", (unsigned long long)in->k - 8);
        sb_printf(sb, "]");
    } else {
        sb_printf(sb, "%s %s ", name, op_text[in->op]);
        dump_num(sb, in, vfd, in->k);
    }
}

/* One instruction a line, numbered, targets in columns (tcpdump -d, nfdump DumpEngine). */
void filter_dump(const struct filter *f, FILE *fp)
{
    for (uint32_t pc = 0; pc < f->n; pc++) {
        const struct finsn *in = &f->prog[pc];
        struct sbuf sb = { .n = 0 };
        sb_printf(&sb, "(%03u) ", pc);
        dump_test(&sb, f, in);
        while (sb.n < 46 && sb.n + 1 < sizeof(sb.b))
            sb.b[sb.n++] = ' ';
        sb.b[sb.n] = '\0';
        dump_target(&sb, "jt", in->jt, f->n, 6);
        dump_target(&sb, "jf", in->jf, f->n, 0);
        fprintf(fp, "%s\n", sb.b);
    }
    fprintf(fp, "(%03u) accept\n(%03u) reject\n", f->n, f->n + 1);
}
