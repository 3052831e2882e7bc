/*
 * The API's requests: endpoint paths and query parameters, checked one by one
 * (web.h). Hostile text is bounded by the buffers of struct web_req and gets a message
 * naming the parameter; nothing is allocated.
 */
#include "../analytics/duration.h"
#include "../core/fmt.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ep_names[WEB_NEP] = { "series", "top",      "flows",
                                               "hosts",  "services", "alerts" };

int web_ep_parse(const char *path)
{
    if (strncmp(path, "/api/", 5) != 0)
        return -1;
    for (int i = 0; i < WEB_NEP; i++)
        if (strcmp(path + 5, ep_names[i]) == 0)
            return i;
    return -1;
}

const char *web_ep_name(enum web_ep ep)
{
    return ep < WEB_NEP ? ep_names[ep] : "?";
}

void web_req_init(struct web_req *r, enum web_ep ep)
{
    memset(r, 0, sizeof(*r));
    r->ep = ep;
    r->bin_s = 300;
    r->prev = 1;
    r->k = 4;
    snprintf(r->key, sizeof(r->key), "srcip/tbytes");
    r->n = 10;
    r->limit = 100;
    /* flowsleuth scan's and spam's defaults: what the CLI finds without options */
    r->scan_count = 20;
    r->scan_count_internal = 50;
    r->scan_window_ms = 3600000;
    r->spam_count = 10;
    r->spam_window_ms = 3600000;
    static const uint16_t mail[] = { 25, 465, 587 };
    memcpy(r->spam_ports, mail, sizeof(mail));
    r->spam_nports = sizeof(mail) / sizeof(mail[0]);
}

/* A decimal in lo..hi: 0, or -1. */
static int num(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    char *end;
    if (!*s || *s < '0' || *s > '9' || strlen(s) > 20)
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Copy value into dst (cap bytes): 0, or -1 when it does not fit or holds a control byte. */
static int text(char *dst, size_t cap, const char *value)
{
    size_t n = strlen(value);
    if (n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
            return -1;
    memcpy(dst, value, n + 1);
    return 0;
}

/* One parameter being set: what each setter below needs, and where its message goes. */
struct param {
    struct web_req *r;
    const char *name, *value;
    uint64_t now_ms;
    char *msg;
    size_t cap;
};

static int set_window(const struct param *p)
{
    struct web_req *r = p->r;
    if (text(r->window, sizeof(r->window), p->value) != 0) {
        snprintf(p->msg, p->cap, "t: a time window of at most %zu characters",
                 sizeof(r->window) - 1);
        return -1;
    }
    r->from_ms = r->to_ms = 0;
    if (*p->value && parse_time_window(p->value, p->now_ms, &r->from_ms, &r->to_ms) != 0) {
        snprintf(p->msg, p->cap,
                 "t: bad time window '%.100s' (FROM..TO, e.g. "
                 "2026-11-01T08:00..2026-11-01T09:00, @1700000000.., -2h)",
                 p->value);
        return -1;
    }
    if (r->to_ms && r->to_ms <= r->from_ms) {
        snprintf(p->msg, p->cap, "t: the window '%.100s' ends before it starts", p->value);
        return -1;
    }
    return 0;
}

static int set_filter(const struct param *p)
{
    if (text(p->r->filter, sizeof(p->r->filter), p->value) != 0) {
        snprintf(p->msg, p->cap, "filter: at most %d characters, no control characters",
                 WEB_FILTER_MAX - 1);
        return -1;
    }
    return 0;
}

static int set_bin(const struct param *p)
{
    unsigned long long v;
    if (num(p->value, 1, 366ull * 86400, &v) != 0) {
        snprintf(p->msg, p->cap, "bin: seconds 1..%llu, not '%.40s'", 366ull * 86400, p->value);
        return -1;
    }
    p->r->bin_s = v;
    return 0;
}

static int set_prev(const struct param *p)
{
    unsigned long long v;
    if (num(p->value, 0, 1, &v) != 0) {
        snprintf(p->msg, p->cap, "prev: 0 or 1, not '%.40s'", p->value);
        return -1;
    }
    p->r->prev = (int)v;
    return 0;
}

/* As flowsleuth anomaly -k takes it. */
static int set_k(const struct param *p)
{
    char *end;
    double v = strtod(p->value, &end);
    if (end == p->value || *end || !(v > 0 && v <= 1000)) {
        snprintf(p->msg, p->cap, "k: a number above 0 and at most 1000, not '%.40s'", p->value);
        return -1;
    }
    p->r->k = v;
    return 0;
}

static int set_key(const struct param *p)
{
    char buf[WEB_KEYS_TEXT];
    const char *specs[WEB_MAX_KEYS];
    if (text(p->r->key, sizeof(p->r->key), p->value) != 0) {
        snprintf(p->msg, p->cap, "key: at most %zu characters", sizeof(p->r->key) - 1);
        return -1;
    }
    return web_keys_split(p->value, buf, sizeof(buf), specs, p->msg, p->cap) < 0 ? -1 : 0;
}

/* n and limit: a row count, named in the message as given. */
static int rows(const struct param *p, size_t *out)
{
    unsigned long long v;
    if (num(p->value, 1, WEB_MAX_ROWS, &v) != 0) {
        snprintf(p->msg, p->cap, "%s: rows 1..%d, not '%.40s'", p->name, WEB_MAX_ROWS, p->value);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int set_n(const struct param *p)
{
    return rows(p, &p->r->n);
}

static int set_limit(const struct param *p)
{
    return rows(p, &p->r->limit);
}

static int set_offset(const struct param *p)
{
    unsigned long long v;
    if (num(p->value, 0, 1000000000ull, &v) != 0) {
        snprintf(p->msg, p->cap, "offset: 0..1000000000, not '%.40s'", p->value);
        return -1;
    }
    p->r->offset = (size_t)v;
    return 0;
}

/* scan_count, scan_count_internal (0..1000000000) and spam_count (1..100000000), as
 * the CLI's --count and --count-internal take them. */
static int count_param(const struct param *p, unsigned long long lo, unsigned long long hi,
                       uint32_t *out)
{
    unsigned long long v;
    if (num(p->value, lo, hi, &v) != 0) {
        snprintf(p->msg, p->cap, "%s: %llu..%llu, not '%.40s'", p->name, lo, hi, p->value);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int set_scan_count(const struct param *p)
{
    return count_param(p, 0, 1000000000, &p->r->scan_count);
}

static int set_scan_count_internal(const struct param *p)
{
    return count_param(p, 0, 1000000000, &p->r->scan_count_internal);
}

static int set_spam_count(const struct param *p)
{
    return count_param(p, 1, 100000000, &p->r->spam_count);
}

/* scan_window, spam_window: a duration as --window takes it. */
static int window_param(const struct param *p, uint64_t *ms)
{
    if (duration_parse_ms(p->value, ms) == 0)
        return 0;
    snprintf(p->msg, p->cap, "%s: a duration such as 30m, 1h or 3600, not '%.40s'", p->name,
             p->value);
    return -1;
}

static int set_scan_window(const struct param *p)
{
    return window_param(p, &p->r->scan_window_ms);
}

static int set_spam_window(const struct param *p)
{
    return window_param(p, &p->r->spam_window_ms);
}

/* spam_ports: "25,465,587", as spam --ports takes it. */
static int set_spam_ports(const struct param *p)
{
    const char *s = p->value;
    size_t n = 0;
    for (;;) {
        unsigned long long v;
        char one[8];
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof(one) || n == SPAM_MAX_PORTS)
            break;
        memcpy(one, s, len);
        one[len] = 0;
        if (num(one, 1, 65535, &v) != 0)
            break;
        p->r->spam_ports[n++] = (uint16_t)v;
        if (!s[len]) {
            p->r->spam_nports = n;
            return 0;
        }
        s += len + 1;
    }
    snprintf(p->msg, p->cap, "spam_ports: 1 to %d ports 1..65535, comma-separated, not '%.40s'",
             SPAM_MAX_PORTS, p->value);
    return -1;
}

static const struct {
    const char *name;
    int (*set)(const struct param *p);
} params[] = { { "t", set_window },
               { "filter", set_filter },
               { "bin", set_bin },
               { "prev", set_prev },
               { "k", set_k },
               { "key", set_key },
               { "n", set_n },
               { "scan_count", set_scan_count },
               { "scan_count_internal", set_scan_count_internal },
               { "scan_window", set_scan_window },
               { "spam_count", set_spam_count },
               { "spam_window", set_spam_window },
               { "spam_ports", set_spam_ports },
               { "limit", set_limit },
               { "offset", set_offset } };

int web_req_set(struct web_req *r, const char *name, const char *value, uint64_t now_ms, char *msg,
                size_t cap)
{
    const struct param p = { r, name, value, now_ms, msg, cap };
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        if (strcmp(name, params[i].name) == 0)
            return params[i].set(&p);
    snprintf(msg, cap,
             "unknown parameter '%.40s' (t, filter, bin, prev, k, key, n, offset, limit, "
             "scan_count, scan_count_internal, scan_window, spam_count, spam_window, "
             "spam_ports)",
             name);
    return -1;
}

int web_keys_split(const char *text, char *buf, size_t cap, const char **specs, char *msg,
                   size_t msgcap)
{
    int n = 0;
    if (strlen(text) >= cap) {
        snprintf(msg, msgcap, "key: at most %zu characters", cap - 1);
        return -1;
    }
    memcpy(buf, text, strlen(text) + 1);
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        struct stats *s;
        struct fs_err err = { 0 };
        if (n == WEB_MAX_KEYS) {
            snprintf(msg, msgcap, "key: at most %d keys", WEB_MAX_KEYS);
            return -1;
        }
        if (stats_new(p, 4096, &s, &err) != 0) {
            snprintf(msg, msgcap, "key: %s", err.msg);
            return -1;
        }
        stats_free(s);
        specs[n++] = p;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into out (cap bytes): the length, or -1 (too long, a bad escape, NUL). */
static long decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = a * 16 + b;
            i += 2;
        }
        if (c == 0 || k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = 0;
    return (long)k;
}

int web_req_parse_query(struct web_req *r, const char *query, uint64_t now_ms, char *msg,
                        size_t cap)
{
    char name[64], value[WEB_FILTER_MAX + 1];
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        if (len == 0) {
            p += amp ? 1 : 0;
            continue;
        }
        if (decode(p, nlen, name, sizeof(name)) < 0) {
            snprintf(msg, cap, "a parameter name that is too long or badly escaped");
            return -1;
        }
        if (decode(eq ? eq + 1 : p + len, eq ? len - nlen - 1 : 0, value, sizeof(value)) < 0) {
            snprintf(msg, cap, "%s: a value that is too long or badly escaped", name);
            return -1;
        }
        if (web_req_set(r, name, value, now_ms, msg, cap) != 0)
            return -1;
        p += len + (amp ? 1 : 0);
    }
    return 0;
}
