/*
 * --label [NAME=]FILE: address lists (block lists, reputation feeds, our own networks;
 * the set files of `ip in @FILE`) that tag each flow with the names of the lists its
 * source or destination is in. The `label` column prints them, the filter term
 * `label NAME` selects them. The lists are loaded once per run, before any filter is
 * compiled, and only read afterwards, so decoder threads may share them.
 */
#ifndef FS_QUERY_LABELS_H
#define FS_QUERY_LABELS_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>

#define LABELS_MAX     8
#define LABEL_NAME_MAX 32 /* with its NUL */
/* The longest `label` text: every name and a '+' between each two. */
#define LABELS_TEXT_MAX (LABELS_MAX * LABEL_NAME_MAX)

/*
 * Load one list: arg is FILE (named after its base name up to the first dot) or
 * NAME=FILE. 0, or a negative code with err naming the list (a bad name, a name given
 * twice, more than LABELS_MAX lists, or the file's own error with its line).
 */
int labels_add(const char *arg, struct fs_err *err);

/* The number of lists loaded. */
size_t labels_count(void);

/* The index of the list called name[0..len), or -1. */
int labels_find(const char *name, size_t len);

/* The name of list i ("?" past the last). */
const char *labels_name(size_t i);

/* 1 when f's source or destination is in list i. */
int labels_hit(size_t i, const struct flow *f);

/* 1 when f hits any list. */
int labels_any(const struct flow *f);

/* The names of the lists f hits, joined by '+' (no CSV quoting needed) in --label
 * order, into buf (at least LABELS_TEXT_MAX bytes); returns the length (0: none). */
size_t labels_format(const struct flow *f, char *buf);

/* Drop every list (the run's end). */
void labels_free(void);

#endif
