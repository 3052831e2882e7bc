#include "debver.h"

#include <string.h>

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Sort weight of one character of a non-digit part: '~' first, then the end of the
 * part (and a digit, which ends it), then letters, then everything else. */
static int weight(unsigned char c)
{
    if (c == '~')
        return -1;
    if (c == '\0' || is_digit(c))
        return 0;
    if (is_alpha(c))
        return c;
    return c + 256;
}

/* Compare the digit runs a[0..al) and b[0..bl) as numbers (leading zeros ignored). */
static int cmp_digits(const char *a, size_t al, const char *b, size_t bl)
{
    while (al > 0 && *a == '0')
        a++, al--;
    while (bl > 0 && *b == '0')
        b++, bl--;
    if (al != bl)
        return al < bl ? -1 : 1;
    for (size_t i = 0; i < al; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* Compare the strings a[0..al) and b[0..bl) by the rules above (upstream or revision). */
static int cmp_part(const char *a, size_t al, const char *b, size_t bl)
{
    size_t i = 0, j = 0;
    while (i < al || j < bl) {
        /* non-digit runs, character by character; a digit or the end weighs 0 */
        while ((i < al && !is_digit(a[i])) || (j < bl && !is_digit(b[j]))) {
            int wa = weight(i < al ? (unsigned char)a[i] : 0);
            int wb = weight(j < bl ? (unsigned char)b[j] : 0);
            if (wa != wb)
                return wa < wb ? -1 : 1;
            /* equal weights here are the same non-digit character in both */
            i++;
            j++;
        }
        size_t i0 = i, j0 = j;
        while (i < al && is_digit(a[i]))
            i++;
        while (j < bl && is_digit(b[j]))
            j++;
        int r = cmp_digits(a + i0, i - i0, b + j0, j - j0);
        if (r)
            return r;
    }
    return 0;
}

struct parts {
    const char *ep, *up, *rev;
    size_t epl, upl, revl;
};

static void split(const char *v, struct parts *p)
{
    size_t n = strlen(v);
    const char *colon = memchr(v, ':', n);
    const char *s = v;
    p->ep = v;
    p->epl = 0;
    if (colon) {
        p->epl = (size_t)(colon - v);
        s = colon + 1;
    }
    const char *end = v + n;
    const char *dash = NULL;
    for (const char *q = s; q < end; q++)
        if (*q == '-')
            dash = q;
    p->up = s;
    p->upl = (size_t)((dash ? dash : end) - s);
    p->rev = dash ? dash + 1 : end;
    p->revl = (size_t)(end - p->rev);
}

int debver_cmp(const char *a, const char *b)
{
    struct parts x, y;
    split(a ? a : "", &x);
    split(b ? b : "", &y);
    int r = cmp_digits(x.ep, x.epl, y.ep, y.epl);
    if (!r)
        r = cmp_part(x.up, x.upl, y.up, y.upl);
    if (!r)
        r = cmp_part(x.rev, x.revl, y.rev, y.revl);
    return r;
}
