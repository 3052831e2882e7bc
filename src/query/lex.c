/*
 * Filter lexer and the text forms of values (numbers with scale suffixes, durations,
 * TCP flag letters, protocol names, times, addresses and prefixes).
 *
 * A token is punctuation or a word: a run of bytes that are neither blanks nor one of
 * ( ) [ ] , = ! < > & |. Words carry addresses (2001:db8::/32), times
 * (2026-11-01T08:00) and numbers (1.5M) whole, so the parser decides what a word means
 * from its position (a field name is known before its value is read). A word may be
 * quoted ("1:LQU9...=") to hold punctuation; the token is then its text between the
 * quotes. Every token keeps its byte offset for the caret in error messages.
 */
#include "filter_int.h"

#include "../core/fmt.h"
#include "../core/units.h"

#include <string.h>
#include <strings.h>
#include <time.h>

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_word(unsigned char c)
{
    if (c < 0x21 || c == 0x7f)
        return 0;
    return strchr("()[],=!<>&|\"", c) == NULL;
}

/* Two-character operators: "==", "!=", "<=", ">=", "&&", "||". */
static int second_is(const char *text, size_t i, char c)
{
    return text[i + 1] == c;
}

static void lex_cmp(const char *text, size_t i, struct ftoken *t)
{
    t->type = TK_CMP;
    switch (text[i]) {
    case '=':
        t->cmp = CMP_EQ;
        t->len = second_is(text, i, '=') ? 2 : 1;
        break;
    case '<':
        t->cmp = second_is(text, i, '=') ? CMP_LE : CMP_LT;
        t->len = t->cmp == CMP_LE ? 2 : 1;
        break;
    default: /* '>' */
        t->cmp = second_is(text, i, '=') ? CMP_GE : CMP_GT;
        t->len = t->cmp == CMP_GE ? 2 : 1;
        break;
    }
}

/*
 * Scan one token at *pos (blanks skipped). A lone '&' or '|' and control bytes are
 * errors here, so the parser only sees well-formed tokens.
 */
int filter_lex(const char *text, size_t *pos, struct ftoken *t, struct fs_err *err)
{
    size_t i = *pos;
    while (is_blank((unsigned char)text[i]))
        i++;
    t->pos = i;
    t->len = 1;
    t->cmp = CMP_EQ;
    unsigned char c = (unsigned char)text[i];
    switch (c) {
    case '\0':
        t->type = TK_EOF;
        t->len = 0;
        break;
    case '(':
        t->type = TK_LPAREN;
        break;
    case ')':
        t->type = TK_RPAREN;
        break;
    case '[':
        t->type = TK_LBRACK;
        break;
    case ']':
        t->type = TK_RBRACK;
        break;
    case ',':
        t->type = TK_COMMA;
        break;
    case '=':
    case '<':
    case '>':
        lex_cmp(text, i, t);
        break;
    case '!':
        t->type = second_is(text, i, '=') ? TK_CMP : TK_NOT;
        t->cmp = CMP_NE;
        t->len = t->type == TK_CMP ? 2 : 1;
        break;
    case '"': {
        const char *end = strchr(text + i + 1, '"');
        if (!end)
            return fs_err_set(err, FS_EINVAL, (long long)i, "no closing '\"' for this quote");
        t->type = TK_WORD;
        t->pos = i + 1;
        t->len = (size_t)(end - (text + i + 1));
        *pos = (size_t)(end - text) + 1;
        return 0;
    }
    case '&':
    case '|':
        if (!second_is(text, i, (char)c))
            return fs_err_set(err, FS_EINVAL, (long long)i, "expected '%c%c' (%s), not a lone '%c'",
                              c, c, c == '&' ? "and" : "or", c);
        t->type = c == '&' ? TK_AND : TK_OR;
        t->len = 2;
        break;
    default:
        if (!is_word(c))
            return fs_err_set(err, FS_EINVAL, (long long)i, "unexpected character (byte 0x%02x)",
                              c);
        t->type = TK_WORD;
        while (is_word((unsigned char)text[i + t->len]))
            t->len++;
        break;
    }
    *pos = i + t->len;
    return 0;
}

/* 1 when the word token t spells kw, ignoring case. */
int filter_tok_is(const char *text, const struct ftoken *t, const char *kw)
{
    return t->type == TK_WORD && strlen(kw) == t->len &&
           strncasecmp(text + t->pos, kw, t->len) == 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex(const char *s, size_t len, uint64_t *v)
{
    uint64_t r = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = is_digit(c)                              ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                         : -1;
        if (d < 0)
            return -1;
        if (r >> 60)
            return -2;
        r = r << 4 | (uint64_t)d;
    }
    *v = r;
    return 0;
}

/* A count: 12, 0x1f, or with a unit (core/units.h: 1.5M = 1500000, 4Ki = 4096). */
int filter_num(const char *s, size_t len, uint64_t *v)
{
    if (len > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
        return hex(s + 2, len - 2, v);
    return units_parse(s, len, 1, v);
}

/* A weekday: a name (sun, mon, ..., also sunday ...) or 0 (Sunday) .. 6, as cron. */
int filter_wday(const char *s, size_t len, uint64_t *v)
{
    static const char *const names[7] = { "sunday",   "monday", "tuesday", "wednesday",
                                          "thursday", "friday", "saturday" };
    for (uint64_t i = 0; i < 7; i++)
        if ((len == 3 || len == strlen(names[i])) && strncasecmp(s, names[i], len) == 0) {
            *v = i;
            return 0;
        }
    if (len == 1 && s[0] >= '0' && s[0] <= '6') {
        *v = (uint64_t)(s[0] - '0');
        return 0;
    }
    return -1;
}

/* A duration in milliseconds: 250 (ms), 250ms, 10s, 1.5s, 5m, 2h, 1d. */
int filter_dur(const char *s, size_t len, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t scale;
    } units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t ul = strlen(units[u].unit);
        if (len > ul && strncasecmp(s + len - ul, units[u].unit, ul) == 0 &&
            is_digit(s[len - ul - 1]))
            return units_decimal(s, len - ul, units[u].scale, ms);
    }
    return units_decimal(s, len, 1, ms);
}

/*
 * TCP flags: letters of CEUAPRSF in any order and case (dots ignored, so the printed
 * form "...AP.S." can be pasted back), or a number 0..255.
 */
int filter_flags(const char *s, size_t len, uint64_t *v)
{
    static const char letters[] = "FSRPAUEC"; /* bit i = letters[i] */
    if (len && is_digit(s[0])) {
        int rc = filter_num(s, len, v);
        return rc == 0 && *v > 255 ? -2 : rc;
    }
    uint64_t r = 0;
    int any = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.')
            continue;
        const char *p = strchr(letters, s[i] & ~0x20);
        if (!p || !*p || !(s[i] & 0x40))
            return -1;
        r |= 1u << (p - letters);
        any = 1;
    }
    if (!any)
        return -1;
    *v = r;
    return 0;
}

static const struct {
    const char *name;
    unsigned num;
} protos[] = { { "icmp", 1 },  { "igmp", 2 },  { "tcp", 6 },   { "udp", 17 },
               { "gre", 47 },  { "esp", 50 },  { "ah", 51 },   { "icmp6", 58 },
               { "ospf", 89 }, { "pim", 103 }, { "sctp", 132 } };

/* A protocol name of the table above, "ipv6-icmp"/"icmpv6", or a number 0..255. */
int filter_proto(const char *s, size_t len, uint64_t *v)
{
    if (len && is_digit(s[0])) {
        int rc = filter_num(s, len, v);
        return rc == 0 && *v > 255 ? -2 : rc;
    }
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (strlen(protos[i].name) == len && strncasecmp(s, protos[i].name, len) == 0) {
            *v = protos[i].num;
            return 0;
        }
    if ((len == 9 && strncasecmp(s, "ipv6-icmp", 9) == 0) ||
        (len == 6 && strncasecmp(s, "icmpv6", 6) == 0)) {
        *v = 58;
        return 0;
    }
    return -1;
}

/* The name filter_dump shows beside a protocol number; NULL when it has none. */
const char *filter_proto_name(unsigned proto)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (protos[i].num == proto)
            return protos[i].name;
    return NULL;
}

/* Copy a word into a NUL-terminated buffer; -1 when it does not fit. */
static int word_copy(char *buf, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

/*
 * A point in time: ISO 8601 UTC, @EPOCH, relative to now (-2h), or plain digits taken
 * as milliseconds since the epoch (the unit of the field).
 */
int filter_time(const char *s, size_t len, uint64_t *ms)
{
    char buf[64];
    if (word_copy(buf, sizeof(buf), s, len) != 0)
        return -1;
    size_t i = 0;
    while (i < len && is_digit(s[i]))
        i++;
    if (i == len)
        return units_decimal(s, len, 1, ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return parse_time_ms(buf, now, ms) == 0 ? 0 : -1;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Length of a dotted IPv4 netmask (255.255.240.0 -> 20); -1 when not contiguous. */
static int mask_len(const char *s)
{
    uint8_t a[16];
    int ver;
    if (parse_addr(s, a, &ver) != 0 || ver != 4)
        return -1;
    uint32_t m = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
    int n = 0;
    while (n < 32 && (m & (0x80000000u >> n)))
        n++;
    return n < 32 && (m << n) ? -1 : n;
}

/*
 * An address or prefix: 10.1.2.3, 10.0.0.0/8, 10.1.2.0/255.255.255.0, 2001:db8::/32.
 * A bare address is a full-length prefix. Host bits are cleared later, when grouped.
 * Returns 0, or -1 (not an address) / -2 (bad prefix length).
 */
int filter_prefix(const char *s, size_t len, struct fnet *a, int *ver, int *plen)
{
    char buf[64];
    if (word_copy(buf, sizeof(buf), s, len) != 0)
        return -1;
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    uint8_t b[16];
    if (parse_addr(buf, b, ver) != 0)
        return -1;
    int max = *ver == 4 ? 32 : 128;
    *plen = max;
    if (slash) {
        const char *p = slash + 1;
        uint64_t n;
        if (*p && strchr(p, '.') && *ver == 4)
            *plen = mask_len(p);
        else if (units_decimal(p, strlen(p), 1, &n) == 0 && n <= (uint64_t)max)
            *plen = (int)n;
        else
            return -2;
        if (*plen < 0)
            return -2;
    }
    a->hi = be64(b);
    a->lo = be64(b + 8);
    return 0;
}

/* Levenshtein distance of a (alen bytes) and b, ignoring case; capped at 99. */
int filter_edit_distance(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    int row[33];
    if (alen > 32 || blen > 32)
        return 99;
    for (size_t j = 0; j <= blen; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= alen; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= blen; j++) {
            int up = row[j];
            int cost = ((a[i - 1] | 0x20) == (b[j - 1] | 0x20)) ? 0 : 1;
            int best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}
