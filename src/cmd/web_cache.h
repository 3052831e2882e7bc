/*
 * The API's answers kept in memory (serve): a page's draw asks the same questions again
 * and again (every visitor, every reload), and a top-N over millions of flows costs a
 * scan each time. An answer is kept under its request (endpoint and every parameter,
 * the window as resolved milliseconds) and the state of the stores when it was made:
 * a hash of the inode, size and modification time of every folder and file under the
 * -r paths (web_cache_stamp). A store file is written once under a temporary name and
 * renamed into place, and expiry removes files, so any change to what a request could
 * read changes the stamp, and an answer of another state is never given.
 *
 * Bounded: at most max_entries answers and max_bytes of them; the least recently used
 * go first. Thread-safe (one mutex). Only 200 answers are kept.
 */
#ifndef FS_WEB_CACHE_H
#define FS_WEB_CACHE_H

#include "../web/web.h"

#include <stddef.h>
#include <stdint.h>

struct web_cache;

struct web_cache *web_cache_new(size_t max_entries, size_t max_bytes);

/* The stores' state: 0 when a path cannot be walked (such answers are not kept). */
uint64_t web_cache_stamp(const char *const *paths, size_t npaths);

/* A copy of the answer to r made at stamp (malloc'ed: *body, *len), 1; or 0. */
int web_cache_get(struct web_cache *c, const struct web_req *r, uint64_t stamp, char **body,
                  size_t *len);

/* Keep a copy of body as the answer to r at stamp (stamp 0: nothing kept). */
void web_cache_put(struct web_cache *c, const struct web_req *r, uint64_t stamp, const char *body,
                   size_t len);

void web_cache_free(struct web_cache *c);

#endif
