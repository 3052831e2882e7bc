/*
 * Evaluation of download identification against labelled runs (`flowsleuth eval`):
 * labels, the association of each label with a flow, the article's baseline model
 * (a CART decision tree on server-to-client bytes, or bytes and packets), and the
 * scores (closed-set accuracy, open-set precision/recall, wrong matches of files that
 * are not in the catalogue, confusions).
 *
 * Labels file (CSV, written by lab/run.sh): a header naming the columns, in any order,
 *
 *   client,server,sport,start_ms,end_ms,entry_name
 *   10.77.0.2,10.77.0.1,40312,1764000000123,1764000000456,file-017.bin
 *
 * sport is optional (column absent or empty = any port), and so is exchange (the
 * ordinal of the response on a keep-alive connection, as `meter --split` numbers
 * exchanges; absent, empty or 0 = any; it is not checked against flows that were not
 * split, so every download of an unsplit keep-alive connection is joined to the one
 * record a NetFlow exporter would give); start_ms..end_ms is the time
 * the client spent on the download (ms since the epoch); entry_name is the catalogue
 * entry's name, or "-" for a file that is not in the catalogue (it must be rejected).
 * Empty lines and lines starting with '#' are skipped; no quoting (names hold no
 * commas). Errors name the file, the line and the field.
 *
 * The tree: classic CART (Gini impurity, binary splits at midpoints between distinct
 * feature values, grown until leaves are pure or no split lowers the impurity). On one
 * feature with one training sample per class it is the nearest-midpoint rule the
 * article's tree amounts to. It has no reject option: every flow gets a class.
 *
 * Ownership: every struct is caller storage with its own _free; strings are copied.
 */
#ifndef FS_EVAL_H
#define FS_EVAL_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

struct eval_label {
    uint8_t client[16], server[16]; /* IPv4-mapped for IPv4 */
    uint16_t sport;                 /* 0 = any */
    uint32_t exchange;              /* 0 = any */
    uint64_t start_ms, end_ms;
    char *name; /* entry name, "-" = not in the catalogue */
};

struct eval_labels {
    struct eval_label *v;
    size_t n, cap;
};

void eval_labels_free(struct eval_labels *l);

/* Is this label a file outside the catalogue ("-")? */
int eval_label_foreign(const struct eval_label *l);

/*
 * Parse a labels CSV held in buf[0..len) (NUL-terminated) and append its rows; name is
 * the file name for messages. Returns 0 or FS_ECORRUPT with err saying
 * "NAME:LINE: field 'F': what". Rows before the error stay.
 */
int eval_labels_parse(struct eval_labels *l, const char *name, const char *buf, size_t len,
                      struct fs_err *err);

/*
 * The flow that carried a labelled download: same client (src) and server (dst), the
 * same client port and exchange when the label has them, and the largest overlap of [first, last]
 * with [start_ms - slack, end_ms + slack]. Returns its index, or n when none overlaps.
 */
size_t eval_find(const struct eval_label *l, const struct flow *flows, size_t n, uint64_t slack);

/*
 * k-fold cross-validation: fold[j] in 0..k-1 for each label, stratified by entry name:
 * the labels are ordered by name and, within a name, by a seeded shuffle, then dealt
 * round-robin, so each name's downloads spread over the folds as evenly as they can
 * and the same seed gives the same folds. Foreign labels ("-") are one more name.
 */
void eval_folds(const struct eval_labels *l, unsigned k, uint64_t seed, unsigned *fold);

/* ---- the article's model: a CART decision tree ---- */

#define EVAL_MAX_FEAT 2

struct eval_tnode {
    int feat;        /* split feature, -1 for a leaf */
    double thr;      /* go left when x[feat] <= thr */
    uint32_t lo, hi; /* children (node indexes) */
    uint32_t cls;    /* a leaf's class (majority) */
};

struct eval_tree {
    struct eval_tnode *node;
    size_t n, cap;
    int nfeat;
};

/*
 * Train on n samples: x[i * nfeat + f] is feature f of sample i, y[i] < nclasses its
 * class. nfeat is 1 or 2. Returns 0, or FS_EINVAL when there are no samples.
 */
int eval_tree_train(struct eval_tree *t, int nfeat, const double *x, const uint32_t *y, size_t n,
                    uint32_t nclasses);

/* The class of one sample x[0..nfeat-1] (tree must be trained). */
uint32_t eval_tree_predict(const struct eval_tree *t, const double *x);

/* Leaves of a trained tree (the number of distinct decisions it can make). */
size_t eval_tree_leaves(const struct eval_tree *t);

void eval_tree_free(struct eval_tree *t);

/* ---- scores ---- */

enum eval_outcome {
    EO_RIGHT,    /* matched to the labelled entry (or a set holding it) */
    EO_WRONG,    /* matched to another entry; for a foreign file: any match */
    EO_AMBIG,    /* several candidates */
    EO_POSSIBLE, /* an uncalibrated set: shown, not counted as identified */
    EO_REJECT,   /* no candidate */
    EO_NOFLOW,   /* no flow found for the label */
    EO_N
};

extern const char *const eval_outcome_names[EO_N];

struct eval_confusion {
    char *truth, *got;
    size_t n;
};

struct eval_score {
    size_t known[EO_N];   /* labels of catalogue entries, by outcome */
    size_t foreign[EO_N]; /* labels of files outside the catalogue, by outcome */
    struct eval_confusion *conf;
    size_t nconf, capconf;
};

/* Count one labelled download; got is the (first) entry it was matched to for
 * EO_WRONG, recorded as a confusion (truth "-" for a foreign file). */
void eval_score_add(struct eval_score *s, const char *truth, enum eval_outcome o, const char *got);

/* Add the counts and confusions of src to dst. */
void eval_score_merge(struct eval_score *dst, const struct eval_score *src);

/* Sort the confusions by count, most frequent first (then by names). */
void eval_score_sort(struct eval_score *s);

/* The figures eval prints, from the counts. Rates are 0..1; 0 when undefined. */
struct eval_summary {
    size_t known, foreign;   /* labels */
    double accuracy;         /* closed set: known labels matched to the right entry */
    double precision;        /* right matches / all matches made (known and foreign) */
    double recall;           /* right matches / known labels */
    double foreign_wrong;    /* foreign labels wrongly matched / foreign labels */
    double foreign_rejected; /* foreign labels not matched / foreign labels */
};

void eval_summarize(const struct eval_score *s, struct eval_summary *out);

void eval_score_free(struct eval_score *s);

#endif
