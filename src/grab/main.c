/*
 * flowsleuth-grab: the crawler behind `flowsleuth catalog grab`, a program of its own
 * so that only it links libcurl and libxml2 (about 40 shared libraries and 8.5 MB of
 * resident memory that every other command would pay at start-up; git keeps its curl
 * transport in git-remote-http for the same reason). `flowsleuth catalog grab ARGS`
 * runs `flowsleuth-grab grab ARGS`.
 */
#include "catalog_grab.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "grab") != 0) {
        fprintf(stderr, "flowsleuth-grab: run it as 'flowsleuth catalog grab ...'\n");
        return 2;
    }
    return catalog_grab_main(argc - 1, argv + 1);
}
