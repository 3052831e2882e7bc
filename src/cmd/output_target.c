#include "output_target.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int out_target_codec(const char *prog, const char *arg, struct store_wopts *o)
{
    if (store_codec_parse(arg, &o->codec, &o->level) == 0)
        return 0;
    fprintf(stderr, "%s: unknown codec '%s' (lz4, zstd, none)\n", prog, arg);
    return -1;
}

int out_target_is_folder(const char *path)
{
    struct stat st;
    size_t len = strlen(path);
    return strcmp(path, "-") != 0 &&
           ((len && path[len - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)));
}

int out_target_open(struct out_target *t, const char *prog, const char *path,
                    const struct store_wopts *o)
{
    memset(t, 0, sizeof(*t));
    t->prog = prog;
    t->path = path;
    if (store_writer_open(&t->w, path, o, &t->err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, t->err.msg);
        t->w = NULL;
        return 1;
    }
    return 0;
}

int out_target_add(struct out_target *t, const struct flow *f)
{
    if (t->failed || !t->w)
        return -1;
    if (store_writer_add(t->w, f, &t->err) != 0) {
        t->failed = 1;
        return -1;
    }
    t->written++;
    return 0;
}

int out_target_close(struct out_target *t)
{
    if (!t->w)
        return 0;
    /* After a failed write the first error is the one to tell, not close's. */
    int rc = store_writer_close(t->w, t->failed ? NULL : &t->err);
    t->w = NULL;
    if (rc != 0 || t->failed) {
        fprintf(stderr, "%s: %s\n", t->prog, t->err.msg);
        return 1;
    }
    return 0;
}
