/*
 * flowsleuth catalog learn: record, per catalogue entry and per server, what labelled
 * lab or honeypot downloads looked like in flow form (src/detect/learn.h has the model).
 * src/cmd/catalog.c dispatches "catalog learn ..." here with argv[0] = "learn".
 */
#ifndef FS_CATALOG_LEARN_H
#define FS_CATALOG_LEARN_H

/* Returns the exit status: 0 ok, 1 runtime error, 2 usage. */
int catalog_learn_main(int argc, char **argv);

#endif
