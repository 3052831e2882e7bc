/* Prefix and port lists (netlist.h). */
#include "netlist.h"
#include "../core/err.h"
#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 512

void netlist_init(struct netlist *l)
{
    memset(l, 0, sizeof(*l));
}

void netlist_free(struct netlist *l)
{
    free(l->nets);
    free(l->ports);
    netlist_init(l);
}

int net_prefix_parse(const char *s, struct net_prefix *p)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    int ipver;
    if (n == 0 || n >= sizeof(buf))
        return FS_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (parse_addr(buf, p->addr, &ipver) != 0)
        return FS_EINVAL;
    unsigned max = ipver == 4 ? 32 : 128, len = max;
    if (slash) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || slash[1] == '-' || slash[1] == '+' || v > max)
            return FS_EINVAL;
        len = (unsigned)v;
    }
    p->len = (uint8_t)(ipver == 4 ? 96 + len : len);
    for (unsigned bit = p->len; bit < 128; bit++)
        p->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    return 0;
}

int netlist_add_net(struct netlist *l, const char *s)
{
    struct net_prefix p;
    if (net_prefix_parse(s, &p) != 0)
        return FS_EINVAL;
    if (l->nnets == l->capnets) {
        l->capnets = l->capnets ? 2 * l->capnets : 8;
        l->nets = xrealloc(l->nets, l->capnets * sizeof(*l->nets));
    }
    l->nets[l->nnets++] = p;
    return 0;
}

static uint64_t load_be64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, sizeof(v));
    return __builtin_bswap64(v);
}

/* The first n bits of a 128-bit value as its two halves' masks. */
static void mask128(unsigned n, uint64_t *hi, uint64_t *lo)
{
    *hi = n >= 64 ? ~(uint64_t)0 : n ? ~(uint64_t)0 << (64 - n) : 0;
    *lo = n <= 64 ? 0 : n >= 128 ? ~(uint64_t)0 : ~(uint64_t)0 << (128 - n);
}

/*
 * The address's first len bits against the prefix's whole bytes up to the one len ends
 * in, as a memcmp of the whole bytes and a masked compare of the last one gave; in two
 * 64-bit compares: memcmp's call was 8% of hosts, which asks for each end of each flow.
 */
static int prefix_has(const struct net_prefix *p, const uint8_t a[16])
{
    uint64_t mh, ml, bh, bl;
    mask128(p->len, &mh, &ml);
    mask128((p->len + 7u) & ~7u, &bh, &bl);
    return ((load_be64(a) & mh) ^ (load_be64(p->addr) & bh)) == 0 &&
           ((load_be64(a + 8) & ml) ^ (load_be64(p->addr + 8) & bl)) == 0;
}

int netlist_has_addr(const struct netlist *l, const uint8_t a[16])
{
    for (size_t i = 0; i < l->nnets; i++)
        if (prefix_has(&l->nets[i], a))
            return 1;
    return 0;
}

int netlist_has_port(const struct netlist *l, uint16_t port)
{
    for (size_t i = 0; i < l->nports; i++)
        if (l->ports[i] == port)
            return 1;
    return 0;
}

static int add_port(struct netlist *l, const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v == 0 || v > 65535)
        return FS_EINVAL;
    if (l->nports == l->capports) {
        l->capports = l->capports ? 2 * l->capports : 8;
        l->ports = xrealloc(l->ports, l->capports * sizeof(*l->ports));
    }
    l->ports[l->nports++] = (uint16_t)v;
    return 0;
}

/* The words of one line (comment and surrounding blanks gone): 0, 1 or 2 of them, or
 * 3 when there are more. */
static int split_words(char *line, char **w1, char **w2)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *words[3] = { NULL, NULL, NULL };
    int n = 0;
    for (char *p = line; *p && n < 3;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            *p++ = '\0';
        if (!*p)
            break;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
    }
    *w1 = words[0];
    *w2 = words[1];
    return n;
}

/* One line's entry: 0, or FS_EINVAL with msg's tail saying why. */
static int load_line(struct netlist *l, char *line, char *why, size_t whylen)
{
    char *w1, *w2;
    int n = split_words(line, &w1, &w2);
    if (n == 0)
        return 0;
    if (n == 1) {
        if (netlist_add_net(l, w1) == 0)
            return 0;
        snprintf(why, whylen, "'%s' is not an address or prefix (or 'port N')", w1);
        return FS_EINVAL;
    }
    if (n == 2 && strcmp(w1, "port") == 0) {
        if (add_port(l, w2) == 0)
            return 0;
        snprintf(why, whylen, "port needs 1..65535, not '%s'", w2);
        return FS_EINVAL;
    }
    snprintf(why, whylen, "one entry a line: an address, a prefix or 'port N'");
    return FS_EINVAL;
}

int netlist_load(struct netlist *l, const char *path, char *msg, size_t msglen)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -errno;
    char line[LINE_MAX_LEN], why[160];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(why, sizeof(why), "line longer than %d bytes", LINE_MAX_LEN - 2);
            rc = FS_EINVAL;
        } else {
            rc = load_line(l, line, why, sizeof(why));
        }
        if (rc)
            snprintf(msg, msglen, "%s:%u: %s", path, lineno, why);
    }
    if (rc == 0 && ferror(fp))
        rc = -EIO;
    fclose(fp);
    return rc;
}
