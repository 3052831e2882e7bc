/*
 * A saved model (`flowsleuth learn -o MODEL`; `match --model-file`, `eval --model-file`):
 * the article's CART tree on rbytes (tree) or rbytes and rpackets (tree-bp), or the
 * nearest model's per-server calibration (nearest, learn.h).
 *
 * File format version 1 or 2, UTF-8 text, one item a line; lines starting with '#' after
 * the first and empty lines are ignored; fields are separated by one space:
 *
 *   #flowsleuth-model 1
 *   kind tree|tree-bp|nearest
 *   (tree, tree-bp)
 *   classes N                  then N lines "class NAME" (NAME: the rest of the line,
 *                              with \n \r \\ escaped), class ids 0..N-1 in order
 *   nodes N                    then N lines, node ids 0..N-1 in order (0 = root):
 *   split FEAT THR LO HI       go to node LO when feature FEAT (0 rbytes, 1 rpackets)
 *                              <= THR, else to HI; LO and HI greater than the node's id
 *   leaf CLASS                 decide CLASS
 *   (nearest)
 *   header-bytes H             H the payload estimate used while learning
 *   servers N                  then N lines
 *   server ADDR N TLS BASE QLO QHI   observations, 1 when TLS, header bytes, q range
 *                              (ppm of the size; learn.h)
 *   server ... QHI ITEM=VALUE  version 2, after QHI: seg=SEG res=R1,R2,... the
 *                              retransmission residues (learn.h, 3: segment payload,
 *                              1..16 residues below it); rec=R oh=LO..HI the TLS record
 *                              framing (learn.h, 4: bytes a record adds, the constant's
 *                              range), perhaps step=S (a grid: LO + j * S only); a
 *                              model is written as version 2 only when a server has
 *                              either, so version-1 readers keep the rest
 *   end                        last line: a file cut short is an error, not a smaller model
 *
 * Children after their parent make every walk end; loading checks that, every count,
 * id and number, and names the line of the first problem ("FILE:LINE: what").
 *
 * Ownership: model_free frees what model_parse / model_load allocated.
 */
#ifndef FS_MODEL_H
#define FS_MODEL_H

#include "../core/err.h"
#include "eval.h"
#include "learn.h"

#include <stddef.h>
#include <stdio.h>

enum model_kind { MODEL_TREE, MODEL_TREE_BP, MODEL_NEAREST };

#define MODEL_MAX_NODES   (1u << 24)
#define MODEL_MAX_CLASSES (1u << 22)
#define MODEL_MAX_SERVERS (1u << 20)

struct model {
    enum model_kind kind;
    struct eval_tree tree; /* tree, tree-bp */
    char **cls;            /* class names, tree, tree-bp */
    size_t ncls;
    struct learn_model near; /* nearest */
};

/* "tree", "tree-bp", "nearest"; -1 when unknown. */
int model_kind_parse(const char *s);
const char *model_kind_name(enum model_kind k);

/* Features of a tree model for a flow (x[0] rbytes, x[1] rpackets). */
void model_features(const struct model *m, const struct flow *f, double *x);

/* The class name a tree model gives the flow. */
const char *model_tree_class(const struct model *m, const struct flow *f);

/*
 * Train a model of kind k on the labelled downloads of one run: labels lab (only[j]
 * nonzero picks label j; only may be NULL), their flows, the catalogue c (nearest:
 * the entries' sizes; tree: labels whose name c lacks are skipped). Foreign labels
 * ("-") are not trained on. *m is replaced. OUT: *cnt. Returns 0, or FS_EINVAL when
 * no labelled download was found in the flows.
 */
int model_train(struct model *m, enum model_kind k, const struct catalog *c,
                const struct eval_labels *lab, const unsigned char *only, const struct flow *flows,
                size_t n, uint64_t slack, uint32_t header_bytes, struct learn_counts *cnt);

/* What the nearest model sees (eval --basis): 0 auto (goodput where known), 1 payload
 * (rgoodput cleared), 2 bytes (rgoodput and rpayload cleared, as from NetFlow). */
void model_basis(struct flow *v, size_t n, int basis);

/* Write in format version 1. Returns 0 or -errno. */
int model_write(const struct model *m, FILE *fp);

/* Parse buf[0..len) (NUL-terminated); name is for messages. Returns 0 or FS_EFORMAT /
 * FS_EVERSION / FS_ECORRUPT / FS_ETRUNC with err saying "NAME:LINE: what". *m is
 * freed and zeroed on error. */
int model_parse(struct model *m, const char *name, const char *buf, size_t len, struct fs_err *err);

/* Read (decompressing by magic, as catalogues) and parse a model file. */
int model_load(struct model *m, const char *path, struct fs_err *err);

void model_free(struct model *m);

#endif
