/*
 * libFuzzer target: the text files flowsleuth reads back across runs, a baseline
 * profile (bl_profile_load) and a block list state (blk_load), from the same bytes.
 * Any input must load or give an error naming a line: never a crash, a hang, a leak or
 * undefined behaviour, and a refused state must leave the list empty (not trusted in
 * part). The loaders read a path, so the bytes go through a memfd. Seeds:
 * fuzz/corpus/baseline/ (a profile of the generated store, a state, broken variants).
 */
#include "memfile.h"

#include "analytics/baseline.h"
#include "analytics/blocklist.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[MEMFILE_PATH_MAX];
    int fd = memfile_open("fuzz_baseline", data, size, path);
    if (fd < 0)
        return 0;
    struct bl_profile p;
    struct fs_err err = { 0 };
    if (bl_profile_load(&p, path, &err) == 0)
        bl_profile_free(&p);
    struct blocklist b;
    blk_init(&b);
    if (blk_load(&b, path, &err) != 0 && b.n != 0)
        abort(); /* a refused state was trusted in part */
    blk_free(&b);
    close(fd);
    return 0;
}
