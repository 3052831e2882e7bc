/*
 * flowsleuth catalog grab: crawl download pages and keep the large files they link
 * to as catalogue entries (source "grab"). See docs/internals/grab.md.
 */
#ifndef FS_CATALOG_GRAB_H
#define FS_CATALOG_GRAB_H

/* argv[0] = "grab"; returns the exit status: 0 ok, 1 runtime error, 2 usage. */
int catalog_grab_main(int argc, char **argv);

#endif
