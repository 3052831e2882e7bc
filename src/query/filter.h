/*
 * The filter language: one engine for every command that reads flows.
 *
 * Text (nfdump's syntax where users know it, plus any field of the field table with
 * = != < <= > >=) is lexed, parsed by recursive descent into a tree, and compiled
 * into a flat program of instructions with jump targets (BPF / nfdump style) that
 * filter_match runs in one loop without recursion. All state is in struct filter,
 * so a compiled filter is reentrant and may be shared by threads read-only.
 *
 * Ownership: filter_compile allocates *out; filter_free frees it.
 */
#ifndef FS_FILTER_H
#define FS_FILTER_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stdio.h>

struct filter;

/*
 * Compile text. On error returns FS_EINVAL with err->pos = byte offset of the problem
 * in text and err->msg saying what was expected (and the nearest field name for an
 * unknown one). An empty or blank text compiles to "match everything".
 */
int filter_compile(const char *text, struct filter **out, struct fs_err *err);

/*
 * Whether `in @FILE` may open files (default: yes). A process that compiles filters
 * from others (a fuzzer, a server answering requests) turns it off: a filter is then
 * refused where it names a file, instead of reading any path the process can.
 */
void filter_allow_set_files(int allowed);

/* 1 when the record matches, else 0. */
int filter_match(const struct filter *f, const struct flow *r);

/*
 * The fields the program reads, as a column mask (bit i = fields[i]) for a store reader
 * that decodes only what is used (store_reader_columns). 0 for a filter that reads no
 * field (any, a folded constant).
 */
uint64_t filter_columns(const struct filter *f);

/* Print the compiled program, one instruction a line (print --dump-filter). */
void filter_dump(const struct filter *f, FILE *fp);

void filter_free(struct filter *f);

#endif
