#include "fmt.h"

#include "err.h"
#include "flow.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t fmt_addr(char *buf, const uint8_t a[16], int ipver)
{
    if (ipver == 0)
        ipver = flow_addr_is_v4mapped(a) ? 4 : 6;
    if (ipver == 4) {
        /* Hand-rolled: inet_ntop and snprintf dominate CSV output time otherwise. */
        char *p = buf;
        for (int i = 12; i < 16; i++) {
            unsigned v = a[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = '.';
        }
        p[-1] = '\0';
        return (size_t)(p - 1 - buf);
    }
    /* glibc's inet_ntop follows RFC 5952: lowercase, longest zero run, no lone "::0". */
    if (!inet_ntop(AF_INET6, a, buf, FMT_ADDR_MAX))
        buf[0] = '\0';
    return strlen(buf);
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

size_t fmt_time_ms(char *buf, uint64_t ms)
{
    /* No gmtime/strftime: this runs once or twice per printed flow. */
    uint64_t secs = ms / 1000;
    int64_t days = (int64_t)(secs / 86400);
    unsigned sod = (unsigned)(secs % 86400);
    int y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    char *p = buf;
    if (y < 0 || y > 9999)
        y = 9999;
    p = put2(p, (unsigned)y / 100);
    p = put2(p, (unsigned)y % 100);
    *p++ = '-';
    p = put2(p, mo);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, sod / 3600);
    *p++ = ':';
    p = put2(p, sod / 60 % 60);
    *p++ = ':';
    p = put2(p, sod % 60);
    *p++ = '.';
    unsigned frac = (unsigned)(ms % 1000);
    *p++ = (char)('0' + frac / 100);
    p = put2(p, frac % 100);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - buf);
}

/* Read exactly n digits at *s; -1 when they are not there. */
static int digits(const char **s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    return v;
}

static int parse_relative(const char *s, uint64_t now_ms, uint64_t *ms)
{
    char *end;
    unsigned long long n = strtoull(s + 1, &end, 10);
    if (end == s + 1)
        return FS_EINVAL;
    uint64_t unit;
    if (strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else if (strcmp(end, "d") == 0)
        unit = 86400000;
    else
        return FS_EINVAL;
    if (n > now_ms / unit)
        return FS_EINVAL;
    *ms = now_ms - n * unit;
    return 0;
}

/* "HH:MM[:SS[.fff]]" after the date's 'T' or ' '; leaves *sp after what it read. */
static int parse_clock(const char **sp, int *h, int *mi, int *sec, int *frac)
{
    const char *s = *sp;
    *h = digits(&s, 2);
    if (*h < 0 || *h > 23 || *s++ != ':')
        return FS_EINVAL;
    *mi = digits(&s, 2);
    if (*mi < 0 || *mi > 59)
        return FS_EINVAL;
    if (*s == ':') {
        s++;
        *sec = digits(&s, 2);
        if (*sec < 0 || *sec > 60)
            return FS_EINVAL;
        if (*s == '.') {
            s++;
            if (*s < '0' || *s > '9')
                return FS_EINVAL;
            for (int scale = 100; *s >= '0' && *s <= '9'; scale /= 10)
                *frac += (*s++ - '0') * scale;
        }
    }
    *sp = s;
    return 0;
}

/* "+01:00", "-0530", "+02" after a clock time: the offset from UTC in seconds. */
static int parse_offset(const char **sp, int64_t *off_s)
{
    const char *s = *sp;
    int sign = *s++ == '-' ? -1 : 1;
    int h = digits(&s, 2), m = 0;
    if (h < 0 || h > 14)
        return FS_EINVAL;
    if (*s == ':')
        s++;
    if (*s >= '0' && *s <= '9') {
        m = digits(&s, 2);
        if (m < 0 || m > 59)
            return FS_EINVAL;
    } else if (s[-1] == ':') {
        return FS_EINVAL;
    }
    *off_s = sign * (int64_t)(h * 3600 + m * 60);
    *sp = s;
    return 0;
}

static int parse_iso(const char *s, uint64_t *ms)
{
    int y = digits(&s, 4);
    if (y < 1970 || *s++ != '-')
        return FS_EINVAL;
    int mo = digits(&s, 2);
    if (mo < 1 || mo > 12 || *s++ != '-')
        return FS_EINVAL;
    int d = digits(&s, 2);
    if (d < 1 || d > 31)
        return FS_EINVAL;
    int h = 0, mi = 0, sec = 0, frac = 0, clock = *s == 'T' || *s == ' ';
    if (clock && (s++, parse_clock(&s, &h, &mi, &sec, &frac) != 0))
        return FS_EINVAL;
    int64_t off_s = 0;
    if (*s == 'Z')
        s++;
    else if (clock && (*s == '+' || *s == '-') && parse_offset(&s, &off_s) != 0)
        return FS_EINVAL;
    if (*s)
        return FS_EINVAL;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t t = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off_s;
    if (t < 0)
        return FS_EINVAL;
    *ms = (uint64_t)t * 1000 + (uint64_t)frac;
    return 0;
}

int parse_time_ms(const char *s, uint64_t now_ms, uint64_t *ms)
{
    if (!s || !*s)
        return FS_EINVAL;
    if (s[0] == '-')
        return parse_relative(s, now_ms, ms);
    if (s[0] == '@') {
        char *end;
        unsigned long long v = strtoull(s + 1, &end, 10);
        if (end == s + 1 || *end || v > UINT64_MAX / 1000)
            return FS_EINVAL;
        *ms = v * 1000;
        return 0;
    }
    return parse_iso(s, ms);
}

int parse_time_window(const char *s, uint64_t now_ms, uint64_t *from, uint64_t *to)
{
    char buf[128];
    const char *dots = strstr(s, "..");
    *from = 0;
    *to = 0;
    if (!dots)
        return parse_time_ms(s, now_ms, from);
    size_t n = (size_t)(dots - s);
    if (n >= sizeof(buf))
        return FS_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n && parse_time_ms(buf, now_ms, from) != 0)
        return FS_EINVAL;
    if (dots[2] && parse_time_ms(dots + 2, now_ms, to) != 0)
        return FS_EINVAL;
    if (*to && *from >= *to)
        return FS_EINVAL;
    return 0;
}

int parse_addr(const char *s, uint8_t a[16], int *ipver)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        flow_addr_from_v4(a, v4);
        *ipver = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, a) == 1) {
        *ipver = 6;
        return 0;
    }
    return FS_EINVAL;
}
