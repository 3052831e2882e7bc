/*
 * The instructions of a compiled filter, as an X-macro (jq's opcode_list.h): one line
 * gives the enum value (FOP_name) and the mnemonic filter_dump prints. Adding an
 * operator = a line here, a case in compile.c's emitter and eval.c's loop, test lines
 * in tests/filter/ and a fuzz seed (STYLE.md, checklist).
 *
 * Every instruction tests the record and jumps to jt when the test holds, else to jf.
 */
#ifndef FS_FILTER_OPS_H
#define FS_FILTER_OPS_H

/* X(name, mnemonic) */
#define FILTER_OPS(X)                                                                              \
    X(TRUE, "true")    /* always holds (the empty filter, `any`) */                                \
    X(FALSE, "false")  /* never holds (a folded contradiction) */                                  \
    X(EQ, "==")        /* field == k */                                                            \
    X(NE, "!=")        /* field != k */                                                            \
    X(LT, "<")         /* field < k */                                                             \
    X(LE, "<=")        /* field <= k */                                                            \
    X(GT, ">")         /* field > k */                                                             \
    X(GE, ">=")        /* field >= k */                                                            \
    X(ALLSET, "has")   /* (field & k) == k: TCP flags given as letters */                          \
    X(ALLSET2, "has2") /* ((field | field2) & k) == k: flags of both ways */                       \
    X(IN, "in")        /* field in the sorted number list nums[aux..+k) */                         \
    X(NET, "in-net")   /* address in one of the prefix groups[aux..+k) */                          \
    X(GLOB, "glob")    /* text at off matches the glob in nums[aux..) (sni) */                     \
    X(CID, "cid")      /* Community ID digest == nums[aux..aux+3) (cid.h) */                       \
    X(NAME, "name")   /* passive DNS name of the address at off matches the glob in nums[aux..) */ \
    X(LABEL, "label") /* src or dst is in the --label list aux (labels.h) */                       \
    X(CC, "cc")       /* --mmdb country of the address at off == the two letters in k (geo.h) */   \
    X(ASN, "asn")     /* --mmdb autonomous system number of the address at off == k */

enum filter_op {
#define FILTER_OP_ENUM(name, text) FOP_##name,
    FILTER_OPS(FILTER_OP_ENUM)
#undef FILTER_OP_ENUM
        FOP_COUNT
};

#endif
