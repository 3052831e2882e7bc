/*
 * Filter parser: recursive descent, one function per production (Lua's lparser.c),
 * building a tree of struct fnode in a pool. Grammar (keywords ignore case):
 *
 *   filter  := [ or_expr ] EOF
 *   or_expr := and_expr { ("or" | "||") and_expr }
 *   and_expr:= unary { ("and" | "&&") unary }
 *   unary   := ("not" | "!") unary | primary            -- depth <= FILTER_MAX_DEPTH
 *   primary := "(" or_expr ")" | "any" | term
 *   term    := ("src" | "dst") ("ip" | "host" | "net" | "port" | "as") rhs
 *            | ("ip" | "host" | "net" | "port" | "as") rhs    -- either side
 *            | "flags" LETTERS                               -- flags | rflags
 *            | PROTONAME | "ipv4" | "inet" | "ipv6" | "inet6"
 *            | FIELD rhs          -- field table + duration, hour, wday, bpp
 *            | "cid" [ "=" | "==" | "!=" ] CID               -- Community ID, "1:..."
 *            | TEXTFIELD [ "=" | "==" | "!=" ] GLOB          -- sni *.example.com
 *            | [ "src" | "dst" ] "name" [ "=" | "==" | "!=" ] GLOB  -- passive DNS (--pdns)
 *            | "label" [ "=" | "==" | "!=" ] NAME            -- an address list (--label)
 *            | [ "src" | "dst" ] "cc" [ "=" | "==" | "!=" ] CC     -- country (--mmdb)
 *            | [ "src" | "dst" ] "asn" [ "=" | "==" | "!=" ] N     -- AS number (--mmdb)
 *   rhs     := [ CMP ] VALUE | "in" "[" VALUE { [","] VALUE } "]" | "in" "@"PATH
 *   CMP     := = == != < <= > >= eq ne lt le gt ge
 *
 * Constants are folded while the tree is built (any and x = x, not any = false), so
 * the compiler only meets a constant at the root.
 */
#include "filter_int.h"

#include "../core/cid.h"
#include "../core/fields.h"
#include "../core/fwnat.h"
#include "../core/tz.h"
#include "../core/xalloc.h"
#include "geo.h"
#include "labels.h"
#include "pdns.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How a field's value is written. */
enum vkind {
    VK_ADDR,
    VK_NUM,
    VK_TIME,
    VK_PROTO,
    VK_FLAGS,
    VK_DUR,
    VK_WDAY,
    VK_FWEV,
    VK_NATEV,
    VK_ACL,
    VK_GLOB
};

/* A field as the parser sees it: a row of fields[] or a virtual one (duration, hour,
 * wday, bpp). */
struct fref {
    const char *name;
    enum vkind vk;
    uint16_t off;
    uint8_t width; /* FOP_NET: 1 = check ipver (src, dst), 0 = exporter */
};

static const char *const keywords[] = { "and",      "or",   "not",  "any",  "src",  "dst",
                                        "ip",       "host", "net",  "port", "as",   "proto",
                                        "flags",    "in",   "ipv4", "ipv6", "inet", "inet6",
                                        "duration", "cid",  "hour", "wday", "bpp",  "name" };

static int32_t fail(struct fparser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int32_t fail(struct fparser *p, size_t pos, const char *fmt, ...)
{
    char buf[sizeof(p->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fs_err_set(p->err, FS_EINVAL, (long long)pos, "%s", buf);
    return -1;
}

/* The current token as text for messages: 'word' or "the end of the filter". */
static const char *tok_text(const struct fparser *p, char *buf, size_t cap)
{
    if (p->tok.type == TK_EOF)
        return "the end of the filter";
    size_t n = p->tok.len > 40 ? 40 : p->tok.len;
    snprintf(buf, cap, "'%.*s%s'", (int)n, p->text + p->tok.pos, n < p->tok.len ? "..." : "");
    return buf;
}

static int advance(struct fparser *p)
{
    return filter_lex(p->text, &p->lexpos, &p->tok, p->err) == 0 ? 0 : -1;
}

/* The token after the current one, without consuming anything (no error: EOF then). */
static struct ftoken peek(const struct fparser *p)
{
    struct ftoken t;
    size_t pos = p->lexpos;
    if (filter_lex(p->text, &pos, &t, NULL) != 0)
        t.type = TK_EOF;
    return t;
}

static int is_kw(const struct fparser *p, const char *kw)
{
    return filter_tok_is(p->text, &p->tok, kw);
}

static int32_t new_node(struct fparser *p, enum fnode_kind kind)
{
    if (p->nnodes == p->capnodes) {
        p->capnodes = p->capnodes ? p->capnodes * 2 : 32;
        p->nodes = xrealloc(p->nodes, p->capnodes * sizeof(*p->nodes));
    }
    struct fnode *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->child = -1;
    n->next = -1;
    n->tail = -1;
    return (int32_t)p->nnodes++;
}

static int32_t mk_test(struct fparser *p, const struct finsn *t)
{
    int32_t n = new_node(p, FN_TEST);
    p->nodes[n].test = *t;
    return n;
}

static int32_t mk_not(struct fparser *p, int32_t c)
{
    enum fnode_kind k = p->nodes[c].kind;
    if (k == FN_TRUE || k == FN_FALSE)
        return new_node(p, k == FN_TRUE ? FN_FALSE : FN_TRUE);
    if (k == FN_NOT)
        return p->nodes[c].child;
    int32_t n = new_node(p, FN_NOT);
    p->nodes[n].child = c;
    return n;
}

/* Append c (or c's children when it is the same operator) to the n-ary node n. */
static void append_child(struct fparser *p, int32_t n, int32_t c)
{
    int32_t first = c, last = c;
    if (p->nodes[c].kind == p->nodes[n].kind) {
        first = p->nodes[c].child;
        last = p->nodes[c].tail;
    }
    if (p->nodes[n].tail < 0)
        p->nodes[n].child = first;
    else
        p->nodes[p->nodes[n].tail].next = first;
    p->nodes[n].tail = last;
}

/* a AND b / a OR b, folding constants and flattening chains into one n-ary node. */
static int32_t mk_bin(struct fparser *p, enum fnode_kind kind, int32_t a, int32_t b)
{
    enum fnode_kind absorb = kind == FN_AND ? FN_FALSE : FN_TRUE;
    enum fnode_kind neutral = kind == FN_AND ? FN_TRUE : FN_FALSE;
    if (p->nodes[a].kind == absorb || p->nodes[b].kind == neutral)
        return a;
    if (p->nodes[b].kind == absorb || p->nodes[a].kind == neutral)
        return b;
    int32_t n = a;
    if (p->nodes[a].kind != kind) {
        n = new_node(p, kind);
        append_child(p, n, a);
    }
    append_child(p, n, b);
    return n;
}

/* Find a field of the table, or a virtual one, ignoring case. */
static int find_field(const char *s, size_t len, struct fref *out);

/* A field the grammar itself names (src, dport, flags ...): always in the table, so a
 * miss is a programming error, not bad input. */
static void known_field(const char *name, struct fref *out)
{
    if (find_field(name, strlen(name), out) != 0)
        abort();
}

static int find_field(const char *s, size_t len, struct fref *out)
{
    static const struct fref virt[] = { { "duration", VK_DUR, 0, FW_DURATION },
                                        { "hour", VK_NUM, 0, FW_HOUR },
                                        { "wday", VK_WDAY, 0, FW_WDAY },
                                        { "bpp", VK_NUM, 0, FW_BPP } };
    for (size_t i = 0; i < sizeof(virt) / sizeof(virt[0]); i++)
        if (len == strlen(virt[i].name) && strncasecmp(s, virt[i].name, len) == 0) {
            *out = virt[i];
            return 0;
        }
    for (size_t i = 0; i < nfields; i++) {
        const struct field *fd = &fields[i];
        if (strlen(fd->name) != len || strncasecmp(s, fd->name, len) != 0)
            continue;
        static const enum vkind vk[] = {
            [FT_ADDR] = VK_ADDR, [FT_EADDR] = VK_ADDR,  [FT_TIME] = VK_TIME,
            [FT_U64] = VK_NUM,   [FT_U32] = VK_NUM,     [FT_U16] = VK_NUM,
            [FT_U8] = VK_NUM,    [FT_PROTO] = VK_PROTO, [FT_FLAGS] = VK_FLAGS,
            [FT_FWEV] = VK_FWEV, [FT_NATEV] = VK_NATEV, [FT_ACL] = VK_ACL,
            [FT_STR] = VK_GLOB
        };
        *out = (struct fref){ fd->name, vk[fd->type], fd->offset, fd->size };
        if (fd->type == FT_ADDR || fd->type == FT_EADDR)
            out->width = fd->type == FT_ADDR;
        return 0;
    }
    return -1;
}

/*
 * The optional `=`, `==` or `!=` of a term that only tests for equality (sni, name, cid,
 * label), at the current token: *neg is set for `!=`, and the current token is then
 * the value. 0, or -1 (said why: `what compares with = or != only`).
 */
static int eq_or_ne(struct fparser *p, const char *what, int *neg)
{
    *neg = 0;
    if (p->tok.type == TK_CMP && (p->tok.cmp == CMP_EQ || p->tok.cmp == CMP_NE)) {
        *neg = p->tok.cmp == CMP_NE;
        return advance(p);
    }
    if (p->tok.type == TK_CMP)
        return (int)fail(p, p->tok.pos, "%s compares with = or != only", what);
    return 0;
}

/*
 * `sni [= | != | ==] GLOB` (a text field, FT_STR): fnmatch(3) without flags over the
 * field's bytes, case-insensitively (names are matched in lower case, the glob is
 * lowered): `sni *.example.com`. The glob is kept NUL-terminated in the number words.
 * The current token is the one after the field name.
 */
static int32_t parse_glob(struct fparser *p, const struct fref *fr)
{
    char buf[64];
    int neg;
    if (eq_or_ne(p, fr->name, &neg) != 0)
        return -1;
    if (p->tok.type != TK_WORD || p->tok.len == 0)
        return fail(p, p->tok.pos, "expected a name or glob (*.example.com) after %s, not %s",
                    fr->name, tok_text(p, buf, sizeof(buf)));
    const char *s = p->text + p->tok.pos;
    size_t len = p->tok.len;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    if (len > 255)
        return fail(p, p->tok.pos, "glob longer than 255 bytes");
    uint64_t w[32];
    memset(w, 0, sizeof(w));
    char *g = (char *)w;
    for (size_t i = 0; i < len; i++)
        g[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    struct finsn t = { .op = FOP_GLOB,
                       .off = fr->off,
                       .width = fr->width,
                       .aux = filter_add_words(p->f, w, (uint32_t)(len / 8 + 1)),
                       .k = len / 8 + 1 };
    if (advance(p) != 0)
        return -1;
    int32_t n = mk_test(p, &t);
    return neg && n >= 0 ? mk_not(p, n) : n;
}

/* "unknown field 'rbyte' (did you mean 'rbytes'?)": nearest field or keyword. */
static int32_t unknown_word(struct fparser *p)
{
    const char *s = p->text + p->tok.pos;
    size_t len = p->tok.len;
    const char *best = NULL;
    int bestd = 99;
    for (size_t i = 0; i < nfields + sizeof(keywords) / sizeof(keywords[0]); i++) {
        const char *name = i < nfields ? fields[i].name : keywords[i - nfields];
        int d = filter_edit_distance(s, len, name);
        if (d < bestd) {
            bestd = d;
            best = name;
        }
    }
    char buf[64];
    tok_text(p, buf, sizeof(buf));
    if (best && bestd <= (len > 4 ? 2 : 1))
        return fail(p, p->tok.pos, "unknown field %s (did you mean '%s'?)", buf, best);
    return fail(p, p->tok.pos,
                "unknown field %s: expected a field name (see print --fields), ip, net, port, "
                "proto, flags, any or '('",
                buf);
}

static const char *vk_what(enum vkind vk)
{
    /* NOLINTBEGIN(bugprone-suspicious-missing-comma): the long texts are concatenated */
    static const char *const what[] = { "an address or prefix",
                                        "a number",
                                        "a time (2026-11-01T08:00, @EPOCH)",
                                        "a protocol name or number",
                                        "TCP flags (letters of CEUAPRSF) or a number",
                                        "a duration (10s, 500ms, 5m, 2h)",
                                        "a weekday (mon .. sun, or 0 = Sunday .. 6)",
                                        "a firewall event (ignore, created, deleted, denied, "
                                        "alert, update) or a number",
                                        "a NAT event (nat44-create, ... see print --fields) or "
                                        "a number",
                                        "an ACL as ACLID:ACEID in hex (0f8e7ff3:fc1a030f) or 0",
                                        "a name or glob (*.example.com)" };
    /* NOLINTEND(bugprone-suspicious-missing-comma) */
    return what[vk];
}

/* Read the current word as a value of fr; 0 or -1 (error set). Does not advance. */
static int parse_value(struct fparser *p, const struct fref *fr, const char *name, uint64_t *v)
{
    char buf[64];
    const char *s = p->text + p->tok.pos;
    size_t len = p->tok.len;
    if (p->tok.type != TK_WORD) {
        const char *what = strcmp(name, "port") == 0 ? "a port number" : vk_what(fr->vk);
        return fail(p, p->tok.pos, "expected %s after '%s', not %s", what, name,
                    tok_text(p, buf, sizeof(buf)));
    }
    int rc;
    switch (fr->vk) {
    case VK_TIME:
        rc = filter_time(s, len, v);
        break;
    case VK_PROTO:
        rc = filter_proto(s, len, v);
        break;
    case VK_FLAGS:
        rc = filter_flags(s, len, v);
        break;
    case VK_DUR:
        rc = filter_dur(s, len, v);
        break;
    case VK_WDAY:
        rc = filter_wday(s, len, v);
        break;
    case VK_FWEV:
    case VK_NATEV: {
        int c = fr->vk == VK_FWEV ? fw_event_code(s, len) : nat_event_code(s, len);
        if (c >= 0) {
            *v = (uint64_t)c;
            rc = 0;
        } else {
            rc = filter_num(s, len, v);
        }
        break;
    }
    case VK_ACL:
        rc = acl_parse(s, len, v);
        break;
    default:
        rc = filter_num(s, len, v);
        break;
    }
    if (rc == -2)
        return fail(p, p->tok.pos, "number %s is too large for '%s'", tok_text(p, buf, sizeof(buf)),
                    name);
    if (rc != 0)
        return fail(p, p->tok.pos, "expected %s after '%s', not %s",
                    strcmp(name, "port") == 0 ? "a port number" : vk_what(fr->vk), name,
                    tok_text(p, buf, sizeof(buf)));
    uint64_t max = fr->width == 1   ? 0xff
                   : fr->width == 2 ? 0xffff
                   : fr->width == 4 ? 0xffffffffu
                                    : UINT64_MAX;
    if (*v > max)
        return fail(p, p->tok.pos, "%s is out of range for '%s' (0..%llu)",
                    tok_text(p, buf, sizeof(buf)), name, (unsigned long long)max);
    return 0;
}

/* Read the current word as an address or prefix into e; 0 or -1. Does not advance. */
static int parse_prefix(struct fparser *p, const char *name, struct fnet_ent *e)
{
    char buf[64];
    int ver = 0, plen = 0;
    int rc = p->tok.type == TK_WORD
                 ? filter_prefix(p->text + p->tok.pos, p->tok.len, &e->a, &ver, &plen)
                 : -1;
    if (rc == -2)
        return fail(p, p->tok.pos,
                    "bad prefix length in %s (0..32 for IPv4, 0..128 for IPv6, or a netmask)",
                    tok_text(p, buf, sizeof(buf)));
    if (rc != 0)
        return fail(p, p->tok.pos, "expected an IPv4 or IPv6 address or prefix after '%s', not %s",
                    name, tok_text(p, buf, sizeof(buf)));
    e->ver = (uint8_t)ver;
    e->plen = (uint8_t)plen;
    return 0;
}

/* A comparison operator at the current token (symbol or eq/ne/lt/le/gt/ge); -1 none. */
static int cmp_here(const struct fparser *p)
{
    static const char *const words[] = { "eq", "ne", "lt", "le", "gt", "ge" };
    if (p->tok.type == TK_CMP)
        return (int)p->tok.cmp;
    for (int i = 0; i < 6; i++)
        if (is_kw(p, words[i]))
            return i;
    return -1;
}

/* `in @PATH`: the address set in a file (setfile.c); the current token is the @word. */
static int parse_set_file(struct fparser *p, const struct fref *fr, const char *name,
                          struct finsn *t)
{
    if (fr->vk != VK_ADDR)
        return fail(p, p->tok.pos, "a set file (@FILE) holds addresses; '%s' takes in [...]", name);
    char path[4096];
    size_t len = p->tok.len - 1;
    if (len >= sizeof(path))
        return fail(p, p->tok.pos, "set file name too long");
    memcpy(path, p->text + p->tok.pos + 1, len);
    path[len] = '\0';
    struct fnet_ent *nets = NULL;
    uint32_t n = 0, count = 0;
    struct fs_err e = { 0 };
    if (filter_load_set(path, &nets, &n, &e) != 0)
        return fail(p, p->tok.pos, "%s", e.msg);
    t->op = FOP_NET;
    t->aux = filter_add_nets(p->f, nets, n, &count);
    t->k = count;
    free(nets);
    return advance(p);
}

/*
 * The test of one list `in [ ... ]` for field fr: parse values up to ']' into the side
 * table; fill t (op, aux, k). The current token is "in".
 */
static int parse_list(struct fparser *p, const struct fref *fr, const char *name, struct finsn *t)
{
    if (advance(p) != 0)
        return -1;
    if (p->tok.type == TK_WORD && p->tok.len > 1 && p->text[p->tok.pos] == '@')
        return parse_set_file(p, fr, name, t);
    if (p->tok.type != TK_LBRACK) {
        char buf[64];
        return fail(p, p->tok.pos, "expected '[' after 'in', not %s",
                    tok_text(p, buf, sizeof(buf)));
    }
    size_t open = p->tok.pos;
    uint32_t n = 0, cap = 0;
    uint64_t *nums = NULL;
    struct fnet_ent *nets = NULL;
    int rc = 0;
    const int is_addr = fr->vk == VK_ADDR;
    while (rc == 0 && (rc = advance(p)) == 0) {
        if (p->tok.type == TK_COMMA)
            continue;
        if (p->tok.type == TK_RBRACK)
            break;
        if (p->tok.type == TK_EOF) {
            rc = fail(p, p->tok.pos, "missing ']' to close the '[' at offset %zu", open);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            if (is_addr)
                nets = xrealloc(nets, cap * sizeof(*nets));
            else
                nums = xrealloc(nums, cap * sizeof(*nums));
        }
        rc = is_addr ? parse_prefix(p, name, &nets[n]) : parse_value(p, fr, name, &nums[n]);
        n++;
    }
    if (rc == 0 && n == 0)
        rc = fail(p, p->tok.pos, "expected a value in the list after 'in ['");
    if (rc == 0) {
        uint32_t count;
        t->op = is_addr ? FOP_NET : FOP_IN;
        t->aux = is_addr ? filter_add_nets(p->f, nets, n, &count)
                         : filter_add_nums(p->f, nums, n, &count);
        t->k = count;
    }
    free(nums);
    free(nets);
    return rc == 0 ? advance(p) : -1;
}

/*
 * Right-hand side of a test on field a (and on b too when b is given: either side, as
 * nfdump's `port 80` and `ip X`). "!=" on two sides means neither side equals.
 */
static int32_t parse_rhs(struct fparser *p, const struct fref *a, const struct fref *b,
                         const char *name, int flag_default)
{
    struct finsn t = { .width = a->width, .off = a->off };
    int negate = 0;
    if (is_kw(p, "in")) {
        if (parse_list(p, a, name, &t) != 0)
            return -1;
    } else {
        int cmp = cmp_here(p);
        if (a->vk == VK_ADDR && cmp > CMP_NE)
            return fail(p, p->tok.pos,
                        "an address takes =, != or in [...], not an order comparison");
        if (cmp >= 0 && advance(p) != 0)
            return -1;
        if (cmp == CMP_NE && (b || a->vk == VK_ADDR)) {
            negate = 1;
            cmp = CMP_EQ;
        }
        if (a->vk == VK_ADDR) {
            struct fnet_ent e;
            uint32_t ng;
            if (parse_prefix(p, name, &e) != 0)
                return -1;
            t.op = FOP_NET;
            t.aux = filter_add_nets(p->f, &e, 1, &ng);
            t.k = ng;
        } else {
            if (parse_value(p, a, name, &t.k) != 0)
                return -1;
            t.op = (uint8_t)(cmp < 0 && flag_default ? FOP_ALLSET : FOP_EQ + (cmp < 0 ? 0 : cmp));
        }
        if (advance(p) != 0)
            return -1;
    }
    int32_t n = mk_test(p, &t);
    if (b) {
        t.off = b->off;
        t.width = b->width;
        n = mk_bin(p, FN_OR, n, mk_test(p, &t));
    }
    return negate ? mk_not(p, n) : n;
}

/* src|dst followed by ip/host/net/port/as; side 0 = src, 1 = dst, 2 = either. */
static int32_t parse_qualified(struct fparser *p, int side)
{
    static const char *const fnames[][2] = { { "src", "dst" },
                                             { "src", "dst" },
                                             { "src", "dst" },
                                             { "sport", "dport" },
                                             { "src_as", "dst_as" } };
    static const char *const quals[] = { "ip", "host", "net", "port", "as" };
    int q = 0;
    while (!is_kw(p, quals[q]))
        q++;
    const char *name = quals[q];
    struct fref a, b;
    known_field(fnames[q][0], &a);
    known_field(fnames[q][1], &b);
    if (advance(p) != 0)
        return -1;
    if (side == 1)
        a = b;
    return parse_rhs(p, &a, side == 2 ? &b : NULL, name, 0);
}

static int is_qualifier(const char *text, const struct ftoken *t)
{
    return filter_tok_is(text, t, "ip") || filter_tok_is(text, t, "host") ||
           filter_tok_is(text, t, "net") || filter_tok_is(text, t, "port") ||
           filter_tok_is(text, t, "as");
}

/*
 * `[src|dst] name GLOB`: the current token is "name" (side 0 src, 1 dst, 2 either). The
 * glob (fnmatch(3), lowered as the names are: `*.windowsupdate.com`; quote it to hold '[') is kept
 * NUL-terminated in the number words; a flow whose address has no name does not match.
 */
static int32_t parse_name(struct fparser *p, int side)
{
    char buf[64];
    size_t at = p->tok.pos;
    if (!pdns_current())
        return fail(p, at, "name needs a passive DNS table: --pdns FILE");
    int neg;
    if (advance(p) != 0 || eq_or_ne(p, "name", &neg) != 0)
        return -1;
    if (p->tok.type != TK_WORD || p->tok.len == 0)
        return fail(p, p->tok.pos, "expected a name or glob (*.example.com) after name, not %s",
                    tok_text(p, buf, sizeof(buf)));
    if (p->tok.len > 1024)
        return fail(p, p->tok.pos, "a name glob is at most 1024 bytes");
    uint64_t w[1024 / 8 + 1] = { 0 };
    memcpy(w, p->text + p->tok.pos, p->tok.len);
    for (char *c = (char *)w; *c; c++) /* names are lowered when loaded (pdns.h) */
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    uint32_t nw = (uint32_t)(p->tok.len / 8 + 1), aux = filter_add_words(p->f, w, nw);
    int32_t n = -1;
    for (int s = 0; s < 2; s++) {
        if (side != 2 && side != s)
            continue;
        struct finsn t = { .op = FOP_NAME,
                           .width = 16,
                           .off = (uint16_t)(s ? offsetof(struct flow, dst)
                                               : offsetof(struct flow, src)),
                           .aux = aux,
                           .k = nw };
        n = n < 0 ? mk_test(p, &t) : mk_bin(p, FN_OR, n, mk_test(p, &t));
    }
    if (advance(p) != 0)
        return -1;
    return neg && n >= 0 ? mk_not(p, n) : n;
}

/*
 * `cid VALUE`: the current token is "cid". The value is "1:" + base64 of 20 bytes; its
 * trailing '=' is also a comparison token, so an unquoted value is taken whole when an
 * '=' follows it without a blank.
 */
static int32_t parse_cid(struct fparser *p)
{
    int neg;
    if (advance(p) != 0 || eq_or_ne(p, "cid", &neg) != 0)
        return -1;
    struct ftoken next = peek(p);
    char buf[64];
    size_t pos = p->tok.pos, len = p->tok.len;
    if (p->tok.type != TK_WORD)
        return fail(p, pos, "expected a Community ID (\"1:...\") after cid, not %s",
                    tok_text(p, buf, sizeof(buf)));
    int glued = next.type == TK_CMP && next.cmp == CMP_EQ && next.len == 1 && next.pos == pos + len;
    uint8_t d[CID_DIGEST];
    if (cid_parse(p->text + pos, len + (size_t)glued, d) != 0)
        return fail(p, pos, "'%.*s' is not a Community ID v1 (\"1:\" and 28 base64 characters)",
                    (int)(len + (size_t)glued > 40 ? 40 : len + (size_t)glued), p->text + pos);
    if (glued && advance(p) != 0)
        return -1;
    uint64_t w[3] = { 0, 0, 0 };
    memcpy(w, d, CID_DIGEST);
    struct finsn t = { .op = FOP_CID, .aux = filter_add_words(p->f, w, 3), .k = 3 };
    if (advance(p) != 0)
        return -1;
    int32_t n = mk_test(p, &t);
    return neg && n >= 0 ? mk_not(p, n) : n;
}

/*
 * `label NAME`: the flow's source or destination is in the --label list NAME (labels.h);
 * the current token is "label".
 */
static int32_t parse_label(struct fparser *p)
{
    char buf[64];
    size_t at = p->tok.pos;
    if (labels_count() == 0)
        return fail(p, at, "label needs an address list: --label FILE");
    int neg;
    if (advance(p) != 0 || eq_or_ne(p, "label", &neg) != 0)
        return -1;
    if (p->tok.type != TK_WORD)
        return fail(p, p->tok.pos, "expected a list name after label, not %s",
                    tok_text(p, buf, sizeof(buf)));
    int i = labels_find(p->text + p->tok.pos, p->tok.len);
    if (i < 0)
        return fail(p, p->tok.pos, "no --label list is called '%.*s'",
                    (int)(p->tok.len > 40 ? 40 : p->tok.len), p->text + p->tok.pos);
    struct finsn t = { .op = FOP_LABEL, .aux = (uint32_t)i };
    if (advance(p) != 0)
        return -1;
    int32_t n = mk_test(p, &t);
    return neg && n >= 0 ? mk_not(p, n) : n;
}

/* The value of `cc` or `asn` (the current token) into *k: two letters, or a number
 * with or without "AS". */
static int geo_value(struct fparser *p, int asn, uint64_t *k)
{
    const char *s = p->text + p->tok.pos;
    size_t len = p->tok.len;
    char buf[64];
    if (p->tok.type != TK_WORD)
        return (int)fail(p, p->tok.pos, "expected %s after %s, not %s",
                         asn ? "an AS number" : "a country code (DE)", asn ? "asn" : "cc",
                         tok_text(p, buf, sizeof(buf)));
    if (!asn) {
        char cc[3];
        if (geo_cc_parse(s, len, cc) != 0)
            return (int)fail(p, p->tok.pos, "'%.*s' is not a two-letter country code",
                             (int)(len > 40 ? 40 : len), s);
        *k = (uint64_t)(unsigned char)cc[0] << 8 | (unsigned char)cc[1];
        return 0;
    }
    size_t i = len > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') ? 2 : 0;
    uint64_t v = 0;
    for (size_t j = i; j < len && v <= UINT32_MAX; j++)
        v = s[j] >= '0' && s[j] <= '9' ? v * 10 + (uint64_t)(s[j] - '0') : UINT64_MAX;
    if (i == len || v > UINT32_MAX)
        return (int)fail(p, p->tok.pos, "'%.*s' is not an AS number (0 to 4294967295)",
                         (int)(len > 40 ? 40 : len), s);
    *k = v;
    return 0;
}

/*
 * `[src|dst] cc CC` and `[src|dst] asn N`: the country or AS number a --mmdb database
 * gives the address (side 0 src, 1 dst, 2 either); the current token is "cc" or "asn".
 * An address the databases do not know matches neither a value nor, under not, its
 * negation's complement: `cc != DE` is `not cc DE`.
 */
static int32_t parse_geo(struct fparser *p, int side)
{
    int asn = is_kw(p, "asn"), neg;
    const char *what = asn ? "asn" : "cc";
    if (!geo_count())
        return fail(p, p->tok.pos, "%s needs a MaxMind database: --mmdb FILE", what);
    uint64_t k = 0;
    if (advance(p) != 0 || eq_or_ne(p, what, &neg) != 0 || geo_value(p, asn, &k) != 0)
        return -1;
    int32_t n = -1;
    for (int s = 0; s < 2; s++) {
        if (side != 2 && side != s)
            continue;
        struct finsn t = { .op = asn ? FOP_ASN : FOP_CC,
                           .width = 16,
                           .off = (uint16_t)(s ? offsetof(struct flow, dst)
                                               : offsetof(struct flow, src)),
                           .k = k };
        n = n < 0 ? mk_test(p, &t) : mk_bin(p, FN_OR, n, mk_test(p, &t));
    }
    if (advance(p) != 0)
        return -1;
    return neg && n >= 0 ? mk_not(p, n) : n;
}

/* The side of a `cc` or `asn` term starting at the current token (2: either), or -1. */
static int geo_side(const struct fparser *p, const struct ftoken *next)
{
    if (is_kw(p, "cc") || is_kw(p, "asn"))
        return 2;
    if ((is_kw(p, "src") || is_kw(p, "dst")) &&
        (filter_tok_is(p->text, next, "cc") || filter_tok_is(p->text, next, "asn")))
        return is_kw(p, "dst");
    return -1;
}

/*
 * The terms on what the enrichment options compute (cid, name, label, cc, asn): sets
 * *done and returns the term's node, or clears *done when the term is another.
 */
static int32_t parse_computed(struct fparser *p, const struct ftoken *next, int *done)
{
    *done = 1;
    if (is_kw(p, "cid"))
        return parse_cid(p);
    if (is_kw(p, "name"))
        return parse_name(p, 2);
    if (is_kw(p, "label"))
        return parse_label(p);
    int geo = geo_side(p, next);
    if (geo >= 0)
        return geo == 2 || advance(p) == 0 ? parse_geo(p, geo) : -1;
    if ((is_kw(p, "src") || is_kw(p, "dst")) && filter_tok_is(p->text, next, "name")) {
        int side = is_kw(p, "dst");
        return advance(p) == 0 ? parse_name(p, side) : -1;
    }
    *done = 0;
    return -1;
}

/*
 * hour and wday are local: the zone of $TZ (an IANA name; UTC when unset or empty),
 * loaded once per filter into an offset table (core/tz.h) so that matching needs
 * no localtime_r. A command with --tz sets TZ before compiling its filter.
 */
static int need_zone(struct fparser *p)
{
    if (p->f->tz)
        return 0;
    const char *name = getenv("TZ");
    struct fs_err e = { 0 };
    struct tz *z = xmalloc(sizeof(*z));
    if (tz_load(z, name && *name ? name : NULL, &e) != 0) {
        free(z);
        return (int)fail(p, p->tok.pos, "hour and wday need a known zone in TZ: %s", e.msg);
    }
    p->f->tz = z;
    return 0;
}
/* A term starting with a word: see the grammar at the top. */
static int32_t parse_term(struct fparser *p)
{
    struct ftoken next = peek(p);
    const char *s = p->text + p->tok.pos;
    size_t len = p->tok.len;
    uint64_t v;
    if (is_kw(p, "any"))
        return advance(p) == 0 ? new_node(p, FN_TRUE) : -1;
    int computed;
    int32_t n = parse_computed(p, &next, &computed);
    if (computed)
        return n;
    if ((is_kw(p, "src") || is_kw(p, "dst")) && is_qualifier(p->text, &next)) {
        int side = is_kw(p, "dst");
        return advance(p) == 0 ? parse_qualified(p, side) : -1;
    }
    if (is_qualifier(p->text, &p->tok))
        return parse_qualified(p, 2);
    if (is_kw(p, "flags") && next.type == TK_WORD && !filter_tok_is(p->text, &next, "in") &&
        cmp_here(&(struct fparser){ .text = p->text, .tok = next }) < 0) {
        /* nfdump's `flags S`: the letters are set in either direction of the biflow. */
        struct fref fl;
        known_field("flags", &fl);
        if (advance(p) != 0 || parse_value(p, &fl, "flags", &v) != 0)
            return -1;
        struct finsn t = {
            .op = FOP_ALLSET2, .width = 1, .off = fl.off, .off2 = fl.off + 1, .k = v
        };
        return advance(p) == 0 ? mk_test(p, &t) : -1;
    }
    int ver = is_kw(p, "ipv4") || is_kw(p, "inet")    ? 4
              : is_kw(p, "ipv6") || is_kw(p, "inet6") ? 6
                                                      : 0;
    if (ver || (!(len && s[0] >= '0' && s[0] <= '9') && filter_proto(s, len, &v) == 0)) {
        struct fref fr;
        known_field(ver ? "ipver" : "proto", &fr);
        struct finsn t = {
            .op = FOP_EQ, .width = fr.width, .off = fr.off, .k = ver ? (uint64_t)ver : v
        };
        return advance(p) == 0 ? mk_test(p, &t) : -1;
    }
    struct fref fr;
    if (find_field(s, len, &fr) != 0)
        return unknown_word(p);
    if ((fr.width == FW_HOUR || fr.width == FW_WDAY) && need_zone(p) != 0)
        return -1;
    if (advance(p) != 0)
        return -1;
    if (fr.vk == VK_GLOB)
        return parse_glob(p, &fr);
    return parse_rhs(p, &fr, NULL, fr.name, fr.vk == VK_FLAGS);
}

static int32_t parse_or(struct fparser *p);

/* primary := "(" or_expr ")" | term */
static int32_t parse_primary(struct fparser *p)
{
    char buf[64];
    if (p->tok.type == TK_WORD)
        return parse_term(p);
    if (p->tok.type == TK_RPAREN && p->depth > 0)
        return fail(p, p->tok.pos, "expected a filter term before ')'");
    if (p->tok.type == TK_RPAREN)
        return fail(p, p->tok.pos, "unexpected ')' without a matching '('");
    if (p->tok.type != TK_LPAREN)
        return fail(
            p, p->tok.pos,
            "expected a filter term (a field, ip, net, port, proto, flags, any or '('), not %s",
            tok_text(p, buf, sizeof(buf)));
    size_t open = p->tok.pos;
    if (++p->depth > FILTER_MAX_DEPTH)
        return fail(p, p->tok.pos, "nesting deeper than %d", FILTER_MAX_DEPTH);
    if (advance(p) != 0)
        return -1;
    int32_t e = parse_or(p);
    if (e < 0)
        return -1;
    if (p->tok.type != TK_RPAREN)
        return fail(
            p, p->tok.pos,
            "missing ')' to close the '(' at offset %zu: expected 'and', 'or' or ')', not %s", open,
            tok_text(p, buf, sizeof(buf)));
    p->depth--;
    return advance(p) == 0 ? e : -1;
}

/* unary := ("not" | "!") unary | primary */
static int32_t parse_unary(struct fparser *p)
{
    if (p->tok.type != TK_NOT && !is_kw(p, "not"))
        return parse_primary(p);
    if (++p->depth > FILTER_MAX_DEPTH)
        return fail(p, p->tok.pos, "nesting deeper than %d", FILTER_MAX_DEPTH);
    if (advance(p) != 0)
        return -1;
    int32_t c = parse_unary(p);
    p->depth--;
    return c < 0 ? -1 : mk_not(p, c);
}

/* and_expr := unary { ("and" | "&&") unary } */
static int32_t parse_and(struct fparser *p)
{
    int32_t a = parse_unary(p);
    while (a >= 0 && (p->tok.type == TK_AND || is_kw(p, "and"))) {
        if (advance(p) != 0)
            return -1;
        int32_t b = parse_unary(p);
        a = b < 0 ? -1 : mk_bin(p, FN_AND, a, b);
    }
    return a;
}

/* or_expr := and_expr { ("or" | "||") and_expr } */
static int32_t parse_or(struct fparser *p)
{
    int32_t a = parse_and(p);
    while (a >= 0 && (p->tok.type == TK_OR || is_kw(p, "or"))) {
        if (advance(p) != 0)
            return -1;
        int32_t b = parse_and(p);
        a = b < 0 ? -1 : mk_bin(p, FN_OR, a, b);
    }
    return a;
}

/*
 * filter := [ or_expr ] EOF. An empty or blank text is the constant true. Returns the
 * root node or -1 with p->err set.
 */
int32_t filter_parse(struct fparser *p)
{
    char buf[64];
    if (advance(p) != 0)
        return -1;
    if (p->tok.type == TK_EOF)
        return new_node(p, FN_TRUE);
    int32_t root = parse_or(p);
    if (root < 0)
        return -1;
    if (p->tok.type == TK_RPAREN)
        return fail(p, p->tok.pos, "unexpected ')' without a matching '('");
    if (p->tok.type != TK_EOF)
        return fail(p, p->tok.pos, "expected 'and', 'or' or the end of the filter, not %s",
                    tok_text(p, buf, sizeof(buf)));
    return root;
}
