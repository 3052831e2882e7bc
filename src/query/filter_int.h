/*
 * Internals of the filter engine, shared by lex.c, parse.c, compile.c and eval.c
 * (docs/internals/filter.md tells the story). Nothing here is public API: commands use
 * filter.h only.
 *
 * Pipeline: text -> lex.c tokens (byte offsets kept for errors) -> parse.c recursive
 * descent into a small tree of struct fnode (AND/OR with any number of children, NOT,
 * constants, leaf tests) with constants folded -> compile.c emits a flat array of
 * struct finsn whose jt/jf are instruction indices (NOT costs nothing: its child is
 * emitted with the two targets swapped) -> eval.c runs it in one loop.
 *
 * Ownership: struct filter owns its program and side tables (one xmalloc'd array each);
 * the parser's tree and token state live in struct fparser and die with it.
 */
#ifndef FS_FILTER_INT_H
#define FS_FILTER_INT_H

#include "../core/err.h"
#include "../core/flow.h"
#include "ops.h"

#include <stddef.h>
#include <stdint.h>

#define FILTER_MAX_DEPTH 64 /* nested '(' and 'not' (Lua's LUAI_MAXCCALLS idea) */

/*
 * Width of the field an instruction reads: 1 2 4 8, or one of the virtual fields,
 * computed from the record (widths no field has, so one test tells them apart).
 */
#define FW_DURATION   0 /* last - first */
#define FW_HOUR       3 /* hour of first, 0..23, in the filter's zone */
#define FW_WDAY       5 /* weekday of first, 0 = Sunday .. 6, in the filter's zone */
#define FW_BPP        6 /* bytes per packet: (bytes + rbytes) / (packets + rpackets), 0 without */
#define FW_VIRTUAL(w) ((w) < 8 && ((0x69u >> (w)) & 1u))

/*
 * One instruction: 32 bytes. The target indices are absolute; n (the program length)
 * means accept and n + 1 reject, so the loop ends when pc >= n without ret opcodes.
 */
struct finsn {
    uint8_t op;    /* enum filter_op */
    uint8_t width; /* 1 2 4 8 or FW_DURATION; FOP_NET: 1 = require ipver == group ver */
    uint16_t off;  /* offsetof(struct flow, field) */
    uint16_t off2; /* FOP_ALLSET2: the second field (rflags) */
    uint8_t shift; /* bits to shift an 8-byte load that starts before off (end of record) */
    uint8_t pad_;
    uint32_t jt, jf; /* next pc when the test holds / fails */
    uint32_t aux;    /* FOP_IN: first of nums[]; FOP_NET: first of groups[] */
    uint64_t k;      /* constant; FOP_IN / FOP_NET: number of entries / groups */
};

/* An address or masked prefix as two big-endian halves, so lists sort and compare fast. */
struct fnet {
    uint64_t hi, lo;
};

/*
 * Prefixes of one address list with the same version and length: a mask and a sorted
 * run nets[start .. start + count) of masked addresses searched by bisection. IPv4
 * prefixes are stored IPv4-mapped with 96 added to their length.
 */
struct fgroup {
    uint64_t mhi, mlo;
    uint32_t start, count;
    uint8_t ver;  /* 4 or 6 */
    uint8_t plen; /* prefix length as the user wrote it (0..32 or 0..128) */
};

struct tz;

struct filter {
    struct finsn *prog;
    uint32_t n;
    uint64_t *nums; /* sorted number lists of FOP_IN */
    uint32_t nnums, capnums;
    struct fnet *nets; /* prefix runs of the groups */
    uint32_t nnets, capnets;
    struct fgroup *groups;
    uint32_t ngroups, capgroups;
    struct tz *tz; /* hour and wday: the zone of $TZ (UTC when unset), loaded by the parser */
};

/* ---- lex.c ---- */

enum ftok {
    TK_EOF,
    TK_WORD, /* a run of characters that are not blanks or punctuation below */
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACK,
    TK_RBRACK,
    TK_COMMA,
    TK_CMP, /* = == != < <= > >= ; cmp says which */
    TK_AND, /* && */
    TK_OR,  /* || */
    TK_NOT, /* ! */
};

/* Comparisons, in the order of FOP_EQ .. FOP_GE so FOP_EQ + cmp is the opcode. */
enum fcmp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

struct ftoken {
    enum ftok type;
    enum fcmp cmp; /* TK_CMP */
    size_t pos;    /* byte offset in the text */
    size_t len;    /* bytes */
};

/* Scan the token at *pos into t and advance *pos. Returns 0 or FS_EINVAL (err set). */
int filter_lex(const char *text, size_t *pos, struct ftoken *t, struct fs_err *err);

/* 1 when the word token t spells kw, ignoring case. */
int filter_tok_is(const char *text, const struct ftoken *t, const char *kw);

/* Value forms (all return 0 or -1; the parser words the error). */
int filter_num(const char *s, size_t len, uint64_t *v);   /* 12 0x1f 1.5M 3k 2G 1T */
int filter_dur(const char *s, size_t len, uint64_t *ms);  /* 10 = ms; 250ms 10s 5m 2h 1d */
int filter_wday(const char *s, size_t len, uint64_t *v);  /* sun mon .. sat or 0..6 */
int filter_flags(const char *s, size_t len, uint64_t *v); /* CEUAPRSF letters or number */
int filter_proto(const char *s, size_t len, uint64_t *v); /* tcp udp ... or 0..255 */
const char *filter_proto_name(unsigned proto);            /* NULL when it has none */
int filter_time(const char *s, size_t len, uint64_t *ms); /* ISO 8601, @epoch, -2h, ms */
int filter_prefix(const char *s, size_t len, struct fnet *a, int *ver, int *plen);

/* Edit distance of two short strings (case-insensitive), capped at 99. */
int filter_edit_distance(const char *a, size_t alen, const char *b);

/* ---- parse.c ---- */

enum fnode_kind { FN_TRUE, FN_FALSE, FN_TEST, FN_NOT, FN_AND, FN_OR };

/* A tree node; children of AND/OR are a list through `next`. Indices into the pool. */
struct fnode {
    enum fnode_kind kind;
    int32_t child;     /* first child (NOT, AND, OR) */
    int32_t next;      /* next sibling, -1 at the end */
    int32_t tail;      /* last child (AND, OR), so appending is O(1) */
    struct finsn test; /* FN_TEST: the instruction without its targets */
};

struct fparser {
    const char *text;
    size_t lexpos;     /* where the token after tok starts */
    struct ftoken tok; /* current token */
    int depth;         /* nesting of '(' and not */
    struct fs_err *err;
    struct fnode *nodes;
    uint32_t nnodes, capnodes;
    struct filter *f; /* side tables (nums, nets, groups) filled while parsing */
};

/* Parse the whole text into p->nodes; returns the root index or -1 (p->err set). */
int32_t filter_parse(struct fparser *p);

/* ---- compile.c: side tables, filled by the parser ---- */

/* One address or prefix of a list before it is grouped (filter_add_nets). */
struct fnet_ent {
    struct fnet a; /* address, host bits not yet cleared; IPv4 mapped */
    uint8_t ver;   /* 4 or 6 */
    uint8_t plen;  /* as written: 0..32 for IPv4, 0..128 for IPv6 */
};

/*
 * Sort and deduplicate v[0..n) (n > 0) and append it to f->nums. Returns the index of
 * its first entry; *count gets the entries kept.
 */
uint32_t filter_add_nums(struct filter *f, uint64_t *v, uint32_t n, uint32_t *count);

/*
 * Read the address set of `in @PATH` (setfile.c): *out (xmalloc'd, the caller frees)
 * gets its n > 0 entries. 0, or a negative code with err naming the file and line.
 */
int filter_load_set(const char *path, struct fnet_ent **out, uint32_t *n, struct fs_err *err);

/* Append v[0..n) to f->nums as they are (a Community ID digest); returns its index. */
uint32_t filter_add_words(struct filter *f, const uint64_t *v, uint32_t n);

/*
 * Mask, sort and deduplicate e[0..n) (n > 0), group it by (version, length) and append
 * the groups to f->groups and their addresses to f->nets. Returns the index of the
 * first group; *ngroups gets their number.
 */
uint32_t filter_add_nets(struct filter *f, struct fnet_ent *e, uint32_t n, uint32_t *ngroups);

#endif
