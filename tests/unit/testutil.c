#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"

static char dir[64];

struct flow tu_flow(const char *src, const char *dst)
{
    struct flow f;
    int ver;
    memset(&f, 0, sizeof(f));
    assert_int_equal(parse_addr(src, f.src, &ver), 0);
    assert_int_equal(parse_addr(dst, f.dst, &ver), 0);
    f.ipver = (uint8_t)ver;
    return f;
}

void tu_dir_make(const char *tag)
{
    snprintf(dir, sizeof(dir), "/tmp/fs-test-%s.XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
}

int tu_dir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *tu_path(const char *name)
{
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
    return p;
}

const char *tu_write(const char *name, const void *data, size_t len)
{
    const char *p = tu_path(name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    return p;
}
