/*
 * The newest version of a package in a catalogue, for the "outdated" marks of
 * inventory's column newest and the web console's hosts table. A package is a name,
 * an architecture and a release: "debian/bookworm-security" and -updates belong to
 * "debian/bookworm"; -backports (newer versions a host gets only when asked for) is a
 * release of its own. Versions compare in Debian's order (debver.h).
 */
#ifndef FS_DETECT_NEWEST_H
#define FS_DETECT_NEWEST_H

#include "catalog.h"

#include <stddef.h>

struct cat_newest {
    const struct cat_entry **byname; /* the entries by name, architecture, release */
    size_t n;
};

/* Index c's entries (c must outlive x). */
void cat_newest_init(struct cat_newest *x, const struct catalog *c);

/* The newest version of e's package when newer than e's, else NULL. */
const char *cat_newest(const struct cat_newest *x, const struct cat_entry *e);

void cat_newest_free(struct cat_newest *x);

#endif
