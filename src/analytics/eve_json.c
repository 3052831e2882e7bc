/*
 * One EVE line's JSON in place (eve_json.h): a validating pass with jansson's rules,
 * then unchecked walks over the text it accepted.
 */
#include "eve_json.h"

#include "../core/xalloc.h"
#include "../query/jstr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ej_init(struct ej *j)
{
    memset(j, 0, sizeof(*j));
}

void ej_free(struct ej *j)
{
    free(j->arena);
    for (int i = 0; i < EJ_LEVELS; i++)
        free(j->lv[i].m);
    memset(j, 0, sizeof(*j));
}

/* ---- validation ---- */

struct vs {
    const unsigned char *p, *end;
    int depth;
};

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static void v_ws(struct vs *s)
{
    while (s->p < s->end && is_ws(*s->p))
        s->p++;
}

/* The length of the UTF-8 sequence at p (strict: no overlong form, no surrogate, at
 * most U+10FFFF), 0 when invalid. */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], v;
    int n;
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    v = c & (0x7Fu >> n);
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
        (n == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    return n;
}

static int v_string(struct vs *s)
{
    s->p++;
    while (s->p < s->end) {
        unsigned c = *s->p;
        int n = 1;
        if (c == '"') {
            s->p++;
            return EJ_OK;
        }
        if (c < 0x20)
            return EJ_BAD;
        if (c == '\\') {
            uint32_t cp;
            n = (int)jstr_escape((const char *)s->p, (const char *)s->end, &cp);
            if (!n || cp == 0) /* \u0000 too, as jansson without JSON_ALLOW_NUL */
                return EJ_BAD;
        } else if (c >= 0x80 && (n = utf8_len(s->p, s->end)) == 0) {
            return EJ_UTF8;
        }
        s->p += n;
    }
    return EJ_BAD;
}

/* A number literal of n bytes at b within jansson's range: integers in 64 bits, reals
 * finite (strtoll and strtod, as jansson uses them). */
static int number_fits(const unsigned char *b, size_t n, int real)
{
    if (!real && n < 19)
        return 1; /* 18 digits and a sign fit in 64 bits */
    char small[64], *buf = n < sizeof(small) ? small : xmalloc(n + 1), *end;
    memcpy(buf, b, n);
    buf[n] = '\0';
    errno = 0;
    int ok;
    if (real) {
        double d = strtod(buf, &end);
        ok = !(errno == ERANGE && (d > 1.0 || d < -1.0));
    } else {
        (void)strtoll(buf, &end, 10);
        ok = errno != ERANGE;
    }
    if (buf != small)
        free(buf);
    return ok;
}

static int v_digits(struct vs *s)
{
    if (s->p == s->end || !is_digit(*s->p))
        return -1;
    while (s->p < s->end && is_digit(*s->p))
        s->p++;
    return 0;
}

static int v_number(struct vs *s)
{
    const unsigned char *b = s->p;
    int real = 0;
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0') {
        s->p++;
        if (s->p < s->end && is_digit(*s->p))
            return EJ_BAD; /* no leading zero */
    } else if (v_digits(s) != 0) {
        return EJ_BAD;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        real = 1;
        if (v_digits(s) != 0)
            return EJ_BAD;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        real = 1;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (v_digits(s) != 0)
            return EJ_BAD;
    }
    return number_fits(b, (size_t)(s->p - b), real) ? EJ_OK : EJ_BAD;
}

static int v_word(struct vs *s, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return EJ_BAD;
    s->p += n;
    return EJ_OK;
}

static int v_value(struct vs *s);

/* The members or elements of an object (close '}') or array (close ']') after its
 * opening byte. */
static int v_items(struct vs *s, unsigned char close)
{
    s->p++;
    v_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return EJ_OK;
    }
    for (;;) {
        int rc;
        if (close == '}') {
            if (s->p == s->end || *s->p != '"')
                return EJ_BAD;
            if ((rc = v_string(s)) != EJ_OK)
                return rc;
            v_ws(s);
            if (s->p == s->end || *s->p != ':')
                return EJ_BAD;
            s->p++;
            v_ws(s);
        }
        if ((rc = v_value(s)) != EJ_OK)
            return rc;
        v_ws(s);
        if (s->p == s->end)
            return EJ_BAD;
        if (*s->p++ == close)
            return EJ_OK;
        if (s->p[-1] != ',')
            return EJ_BAD;
        v_ws(s);
    }
}

static int v_value(struct vs *s)
{
    if (s->p == s->end || ++s->depth > EJ_MAX_DEPTH)
        return EJ_BAD;
    int rc;
    unsigned char c = *s->p;
    if (c == '{' || c == '[')
        rc = v_items(s, c == '{' ? '}' : ']');
    else if (c == '"')
        rc = v_string(s);
    else if (c == '-' || is_digit(c))
        rc = v_number(s);
    else if (c == 't' || c == 'f' || c == 'n')
        rc = v_word(s, c == 't' ? "true" : c == 'f' ? "false" : "null");
    else
        rc = c >= 0x80 && utf8_len(s->p, s->end) == 0 ? EJ_UTF8 : EJ_BAD;
    s->depth--;
    return rc;
}

enum ej_verdict ej_line(struct ej *j, const char *line, size_t len)
{
    struct vs s = { (const unsigned char *)line, (const unsigned char *)line + len, 0 };
    v_ws(&s);
    if (s.p == s.end || (*s.p != '{' && *s.p != '['))
        return s.p < s.end && *s.p >= 0x80 && utf8_len(s.p, s.end) == 0 ? EJ_UTF8 : EJ_BAD;
    int rc = v_value(&s);
    if (rc != EJ_OK)
        return (enum ej_verdict)rc;
    v_ws(&s);
    if (s.p != s.end)
        return s.p[0] >= 0x80 && utf8_len(s.p, s.end) == 0 ? EJ_UTF8 : EJ_BAD;
    /* Unescaped copies are never longer than their text, one NUL each. */
    if (j->cap < 2 * len + 64) {
        free(j->arena);
        j->cap = 2 * len + 64;
        j->arena = xmalloc(j->cap);
    }
    j->used = 0;
    j->end = line + len;
    return EJ_OK;
}

/* ---- walks over accepted text ---- */

static const char *skip_ws(const char *p)
{
    while (is_ws((unsigned char)*p))
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    for (p++; *p != '"'; p += *p == '\\' ? 2 : 1)
        ;
    return p + 1;
}

static const char *skip_value(const char *p)
{
    if (*p == '"')
        return skip_string(p);
    if (*p != '{' && *p != '[') {
        while (*p != ',' && *p != '}' && *p != ']' && !is_ws((unsigned char)*p))
            p++;
        return p;
    }
    int depth = 0;
    for (;;) {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
}

const struct ej_obj *ej_object(struct ej *j, int level, const char *v)
{
    if (level < 0 || level >= EJ_LEVELS || !v || *v != '{')
        return NULL;
    struct ej_obj *o = &j->lv[level];
    o->n = 0;
    const char *p = skip_ws(v + 1);
    while (*p == '"') {
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 32;
            o->m = xrealloc(o->m, o->cap * sizeof(*o->m));
        }
        struct ej_mem *m = &o->m[o->n++];
        const char *q = skip_string(p);
        m->k = p + 1;
        m->kn = (size_t)(q - 1 - m->k);
        p = skip_ws(skip_ws(q) + 1); /* past ':' */
        m->v = p;
        p = skip_ws(skip_value(p));
        if (*p == ',')
            p = skip_ws(p + 1);
    }
    return o;
}

/* Unescape the string text at s (after its opening quote; end past its closing one)
 * into out (room for its length + 1); the bytes written, without the NUL added. */
static size_t unescape(const char *s, const char *end, char *out)
{
    /* Accepted text is a string's, and its copy fits in the room for its text. */
    long n = jstr_scan(s, end, out, (size_t)(end - s), NULL);
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

const char *ej_get(const struct ej_obj *o, const char *key)
{
    size_t kl = strlen(key);
    char buf[72];
    for (size_t i = o->n; i-- > 0;) {
        const struct ej_mem *m = &o->m[i];
        if (m->kn == kl) {
            if (m->k[0] == key[0] && memcmp(m->k, key, kl) == 0)
                return m->v;
            continue;
        }
        /* An escaped key's text is longer than the key it spells. */
        if (m->kn > kl && m->kn < sizeof(buf) && memchr(m->k, '\\', m->kn) &&
            unescape(m->k, m->k + m->kn + 1, buf) == kl && memcmp(buf, key, kl) == 0)
            return m->v;
    }
    return NULL;
}

int ej_string(struct ej *j, const char *v, const char **s, size_t *len)
{
    if (!v || *v != '"')
        return -1;
    size_t raw = (size_t)(skip_string(v) - v);
    if (j->used + raw > j->cap)
        return -1; /* cannot happen for values taken once each (ej_line's sizing) */
    char *out = j->arena + j->used;
    *len = unescape(v + 1, v + raw, out);
    j->used += *len + 1;
    *s = out;
    return 0;
}

int ej_int(const char *v, int64_t *out)
{
    if (!v || (*v != '-' && !is_digit((unsigned char)*v)))
        return -1;
    const char *p = v + (*v == '-');
    while (is_digit((unsigned char)*p))
        p++;
    if (*p == '.' || *p == 'e' || *p == 'E')
        return -1;
    char buf[32];
    size_t n = (size_t)(p - v);
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    *out = strtoll(buf, NULL, 10);
    return 0;
}

int ej_is_array(const char *v)
{
    return v && *v == '[';
}

const char *ej_first(const char *v)
{
    const char *p = skip_ws(v + 1);
    return *p == ']' ? NULL : p;
}

const char *ej_next(const char *el)
{
    const char *p = skip_ws(skip_value(el));
    return *p == ',' ? skip_ws(p + 1) : NULL;
}
