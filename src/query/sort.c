#include "sort.h"
#include "../core/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct sortkey {
    uint8_t k[16];
    size_t idx;
};

static int cmp_key(const void *a, const void *b)
{
    const struct sortkey *x = a, *y = b;
    int c = memcmp(x->k, y->k, 16);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void put_u64(uint8_t k[16], uint64_t v)
{
    memset(k, 0, 8);
    for (int b = 0; b < 8; b++)
        k[8 + b] = (uint8_t)(v >> (56 - 8 * b));
}

static size_t *sorted(struct sortkey *keys, size_t n, int desc)
{
    if (desc)
        for (size_t i = 0; i < n; i++)
            for (int b = 0; b < 16; b++)
                keys[i].k[b] = (uint8_t)~keys[i].k[b];
    qsort(keys, n, sizeof(*keys), cmp_key);
    size_t *order = xmalloc((n ? n : 1) * sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = keys[i].idx;
    free(keys);
    return order;
}

size_t *flow_sort(const struct field *fd, const struct flow *v, size_t n)
{
    struct sortkey *keys = xmalloc((n ? n : 1) * sizeof(*keys));
    for (size_t i = 0; i < n; i++) {
        if (fd->type == FT_ADDR || fd->type == FT_EADDR)
            memcpy(keys[i].k, field_get_addr(fd, &v[i]), 16);
        else
            put_u64(keys[i].k, field_get_u64(fd, &v[i]));
        keys[i].idx = i;
    }
    return sorted(keys, n, (fd->kind & (FK_BYTES | FK_COUNT)) != 0);
}

size_t *u64_sort_desc(const uint64_t *v, size_t n)
{
    struct sortkey *keys = xmalloc((n ? n : 1) * sizeof(*keys));
    for (size_t i = 0; i < n; i++) {
        put_u64(keys[i].k, v[i]);
        keys[i].idx = i;
    }
    return sorted(keys, n, 1);
}
