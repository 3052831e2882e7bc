#include "sniname.h"

#include <string.h>

/* Bytes of a host name or an address literal: what a name may hold to be kept. */
static int name_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

int sni_keep(const uint8_t *p, size_t n, char out[FS_SNI_MAX])
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_byte(p[i]))
            return 0;
    memset(out, 0, FS_SNI_MAX);
    memcpy(out, p, n < FS_SNI_MAX ? n : FS_SNI_MAX);
    return 1;
}
