/*
 * Allocation that cannot fail: on out-of-memory these print one line to stderr and
 * abort(), so callers never check for NULL (git's xmalloc). Free with free().
 */
#ifndef FS_XALLOC_H
#define FS_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
