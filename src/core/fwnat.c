#include "fwnat.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* IANA "IPFIX Information Elements", firewallEvent (233); Cisco NSEL FW_EVENT (40005)
 * uses the same numbers. */
static const char *const fw_names[] = {
    "ignore", "created", "deleted", "denied", "alert", "update"
};

/* IANA "NAT Event Type" (natEvent, 230), RFC 8158 section 4.1; 1 and 2 are the
 * historic create/delete of RFC 7659's predecessors that most NAT44 boxes still send. */
static const char *const nat_names[] = {
    NULL,
    "create",
    "delete",
    "addr-exhausted",
    "nat44-create",
    "nat44-delete",
    "nat64-create",
    "nat64-delete",
    "nat44-bib-create",
    "nat44-bib-delete",
    "nat64-bib-create",
    "nat64-bib-delete",
    "ports-exhausted",
    "quota-exceeded",
    "binding-create",
    "binding-delete",
    "block-alloc",
    "block-dealloc",
    "threshold",
};

#define NFW  (sizeof(fw_names) / sizeof(fw_names[0]))
#define NNAT (sizeof(nat_names) / sizeof(nat_names[0]))

const char *fw_event_name(unsigned v)
{
    return v < NFW ? fw_names[v] : NULL;
}

const char *nat_event_name(unsigned v)
{
    return v < NNAT ? nat_names[v] : NULL;
}

static int code_of(const char *const *names, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0)
            return (int)i;
    return -1;
}

int fw_event_code(const char *s, size_t len)
{
    return code_of(fw_names, NFW, s, len);
}

int nat_event_code(const char *s, size_t len)
{
    return code_of(nat_names, NNAT, s, len);
}

static const char *join(const char *const *names, size_t n, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        int w = snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - at)
            break;
        at += (size_t)w;
    }
    return buf;
}

const char *fw_event_names(void)
{
    static char buf[128];
    return buf[0] ? buf : join(fw_names, NFW, buf, sizeof(buf));
}

const char *nat_event_names(void)
{
    static char buf[512];
    return buf[0] ? buf : join(nat_names, NNAT, buf, sizeof(buf));
}

int acl_format(uint64_t v, char *buf, size_t cap)
{
    if (!v)
        return snprintf(buf, cap, "0");
    return snprintf(buf, cap, "%08x:%08x", (unsigned)(v >> 32), (unsigned)(v & 0xffffffffu));
}

static int hex32(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 8)
        return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

int acl_parse(const char *s, size_t len, uint64_t *v)
{
    if (len == 1 && s[0] == '0') {
        *v = 0;
        return 0;
    }
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return -1;
    uint32_t acl, ace;
    if (hex32(s, (size_t)(colon - s), &acl) ||
        hex32(colon + 1, len - (size_t)(colon - s) - 1, &ace))
        return -1;
    *v = (uint64_t)acl << 32 | ace;
    return 0;
}
