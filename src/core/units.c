#include "units.h"

#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int units_decimal(const char *s, size_t len, uint64_t scale, uint64_t *v)
{
    size_t i = 0;
    uint64_t ip = 0, frac = 0, fscale = 1;
    if (len == 0 || !is_digit(s[0]))
        return -1;
    for (; i < len && is_digit(s[i]); i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (ip > (UINT64_MAX - d) / 10)
            return -2;
        ip = ip * 10 + d;
    }
    if (i < len && s[i] == '.') {
        if (++i == len || !is_digit(s[i]))
            return -1;
        for (; i < len && is_digit(s[i]); i++) {
            if (fscale >= 1000000000000ULL)
                return -1;
            frac = frac * 10 + (uint64_t)(s[i] - '0');
            fscale *= 10;
        }
    }
    if (i != len)
        return -1;
    while (frac && frac % 10 == 0) {
        frac /= 10;
        fscale /= 10;
    }
    if (!frac)
        fscale = 1;
    /* The fraction must come out whole: 1.5k and 1.5Ki yes, 1.0001k no. frac < fscale
     * <= scale <= 2^40, so the product needs more than 64 bits. */
    unsigned __int128 part = (unsigned __int128)frac * scale;
    if (fscale > scale || part % fscale)
        return -1;
    if (ip > UINT64_MAX / scale)
        return -2;
    uint64_t r = ip * scale, add = (uint64_t)(part / fscale);
    if (r > UINT64_MAX - add)
        return -2;
    *v = r + add;
    return 0;
}

/* The scale of a suffix ("k", "Mi", "GB", "TiB"), 0 when it is none of them. */
static uint64_t suffix_scale(const char *u, size_t n)
{
    static const char prefixes[] = "kMGT";
    if (n == 1 && u[0] == 'B')
        return 1;
    if (n && u[n - 1] == 'B')
        n--;
    if (n == 0 || n > 2 || (n == 2 && u[1] != 'i'))
        return 0;
    char p = u[0];
    if (p == 'K')
        p = 'k';
    const char *at = strchr(prefixes, p);
    if (!at || !p)
        return 0;
    uint64_t base = n == 2 ? 1024 : 1000, scale = 1;
    for (const char *q = prefixes; q <= at; q++)
        scale *= base;
    return scale;
}

int units_parse(const char *s, size_t len, uint64_t dflt, uint64_t *v)
{
    size_t num = 0;
    while (num < len && (is_digit(s[num]) || s[num] == '.'))
        num++;
    if (num == len)
        return units_decimal(s, len, dflt ? dflt : 1, v);
    uint64_t scale = suffix_scale(s + num, len - num);
    if (!scale)
        return -1;
    return units_decimal(s, num, scale, v);
}

int units_parse_str(const char *s, uint64_t dflt, uint64_t *v)
{
    return units_parse(s, strlen(s), dflt, v);
}
