/*
 * Option values several commands parse the same way, with the same error message
 * ("flowsleuth CMD: NAME needs LO..HI, not 'ARG'").
 */
#ifndef FS_ARGS_H
#define FS_ARGS_H

#include <stdint.h>

/* A decimal in lo..hi into *out: 0, or -1 after saying why on stderr. */
int arg_u32(const char *cmd, const char *name, const char *arg, uint32_t lo, uint32_t hi,
            uint32_t *out);

/*
 * After getopt said what was wrong with an option: the synopsis of usage (its lines up
 * to the first blank one) and where the whole help is, on stderr, not the whole help.
 * arg_usage_hint is that, as the expression 2 (the exit status of bad usage), so that
 * `return arg_usage_hint(...)` is a constant to the compiler and the analyzer.
 */
void arg_usage_say(const char *cmd, const char *usage);
#define arg_usage_hint(cmd, usage) (arg_usage_say((cmd), (usage)), 2)

#endif
