/*
 * Countries and autonomous systems from MaxMind DB files (geo.h), through libmaxminddb.
 * A lookup that the file cannot answer (no network, a record of another layout, data
 * that does not decode) is an unknown value, never an error of the run: a database is
 * read many times a flow, and one bad record must not stop a report.
 */
#include "geo.h"

#include <maxminddb.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static MMDB_s dbs[GEO_DBS_MAX];
static size_t ndbs;
/* Changed by every geo_add and geo_free (before any reader thread starts or after they
 * end), so that no thread's cache outlives the files its entries point into. */
static unsigned generation = 1;

/*
 * The records of the last few addresses, per thread: a row asks for the country, the AS
 * number and its name of the same address, and the next row often has the same client;
 * one tree search per file and address serves them all.
 */
#define GEO_CACHE 4
struct geo_slot {
    unsigned gen; /* 0: empty */
    uint8_t a[16];
    int ipver;
    uint8_t found[GEO_DBS_MAX];
    MMDB_entry_s entry[GEO_DBS_MAX];
};
static _Thread_local struct geo_slot cache[GEO_CACHE];
static _Thread_local unsigned cache_next;

int geo_add(const char *path, struct fs_err *err)
{
    if (ndbs == GEO_DBS_MAX)
        return fs_err_set(err, FS_EINVAL, -1, "--mmdb %s: at most %d databases", path, GEO_DBS_MAX);
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &dbs[ndbs]);
    if (rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR) {
        int e = errno ? errno : EIO;
        return fs_err_set(err, -e, -1, "--mmdb %s: %s", path, strerror(e));
    }
    if (rc != MMDB_SUCCESS)
        return fs_err_set(err, FS_EFORMAT, -1, "--mmdb %s: not a usable MaxMind DB file: %s", path,
                          MMDB_strerror(rc));
    unsigned major = dbs[ndbs].metadata.binary_format_major_version;
    if (major != 2) {
        MMDB_close(&dbs[ndbs]);
        return fs_err_set(err, FS_EVERSION, -1, "--mmdb %s: MaxMind DB format version %u, not 2",
                          path, major);
    }
    ndbs++;
    generation++;
    return 0;
}

size_t geo_count(void)
{
    return ndbs;
}

/* The record of address a in database i; 0 when it has one. */
static int search(size_t i, const uint8_t a[16], int ipver, MMDB_entry_s *entry)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    const struct sockaddr *sa;
    if (ipver == 4) {
        memset(&v4, 0, sizeof(v4));
        v4.sin_family = AF_INET;
        memcpy(&v4.sin_addr, a + 12, 4);
        sa = (const struct sockaddr *)&v4;
    } else {
        memset(&v6, 0, sizeof(v6));
        v6.sin6_family = AF_INET6;
        memcpy(&v6.sin6_addr, a, 16);
        sa = (const struct sockaddr *)&v6;
    }
    int mmdb_err = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&dbs[i], sa, &mmdb_err);
    if (mmdb_err != MMDB_SUCCESS || !r.found_entry)
        return -1;
    *entry = r.entry;
    return 0;
}

/* The records of address a in every database, from the cache or searched into it. */
static const struct geo_slot *lookup(const uint8_t a[16], int ipver)
{
    for (unsigned k = 0; k < GEO_CACHE; k++)
        if (cache[k].gen == generation && cache[k].ipver == ipver && memcmp(cache[k].a, a, 16) == 0)
            return &cache[k];
    struct geo_slot *s = &cache[cache_next++ % GEO_CACHE];
    s->gen = generation;
    memcpy(s->a, a, 16);
    s->ipver = ipver;
    for (size_t i = 0; i < ndbs; i++)
        s->found[i] = search(i, a, ipver, &s->entry[i]) == 0;
    return s;
}

/* The value at path (NULL-terminated keys) in a's record of database i: 0 when there is one. */
static int value(size_t i, const uint8_t a[16], int ipver, const char *const *path,
                 MMDB_entry_data_s *d)
{
    const struct geo_slot *s = lookup(a, ipver);
    if (!s->found[i])
        return -1;
    MMDB_entry_s entry = s->entry[i];
    if (MMDB_aget_value(&entry, d, path) != MMDB_SUCCESS || !d->has_data)
        return -1;
    return 0;
}

int geo_cc_parse(const char *s, size_t len, char cc[3])
{
    if (len != 2)
        return -1;
    for (size_t k = 0; k < 2; k++) {
        char c = s[k];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c < 'A' || c > 'Z')
            return -1;
        cc[k] = c;
    }
    cc[2] = '\0';
    return 0;
}

int geo_cc(const uint8_t a[16], int ipver, char cc[3])
{
    static const char *const path[] = { "country", "iso_code", NULL };
    for (size_t i = 0; i < ndbs; i++) {
        MMDB_entry_data_s d;
        if (value(i, a, ipver, path, &d) == 0 && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
            geo_cc_parse(d.utf8_string, d.data_size, cc) == 0)
            return 1;
    }
    return 0;
}

int geo_asn(const uint8_t a[16], int ipver, uint32_t *asn)
{
    static const char *const path[] = { "autonomous_system_number", NULL };
    for (size_t i = 0; i < ndbs; i++) {
        MMDB_entry_data_s d;
        if (value(i, a, ipver, path, &d) != 0)
            continue;
        if (d.type == MMDB_DATA_TYPE_UINT32) {
            *asn = d.uint32;
            return 1;
        }
        if (d.type == MMDB_DATA_TYPE_UINT16) {
            *asn = d.uint16;
            return 1;
        }
        if (d.type == MMDB_DATA_TYPE_UINT64 && d.uint64 <= UINT32_MAX) {
            *asn = (uint32_t)d.uint64;
            return 1;
        }
    }
    return 0;
}

/* The length of the UTF-8 sequence at s (n bytes left), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf5 ? 0 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    /* overlong three- and four-byte forms, surrogates, past U+10FFFF */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* Copy n bytes of untrusted text to buf (cap bytes with the NUL) as clean UTF-8. */
static size_t clean_text(char *buf, size_t cap, const unsigned char *s, size_t n)
{
    size_t out = 0;
    for (size_t k = 0; k < n;) {
        size_t len = utf8_len(s + k, n - k);
        if (out + (len ? len : 1) >= cap)
            break;
        if (len == 0) {
            buf[out++] = '?';
            k++;
        } else if (len == 1) {
            buf[out++] = (char)(s[k] < 0x20 || s[k] == 0x7f ? ' ' : s[k]);
            k++;
        } else {
            memcpy(buf + out, s + k, len);
            out += len;
            k += len;
        }
    }
    buf[out] = '\0';
    return out;
}

size_t geo_asname(const uint8_t a[16], int ipver, char *buf)
{
    static const char *const path[] = { "autonomous_system_organization", NULL };
    buf[0] = '\0';
    for (size_t i = 0; i < ndbs; i++) {
        MMDB_entry_data_s d;
        if (value(i, a, ipver, path, &d) == 0 && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
            d.data_size > 0)
            return clean_text(buf, GEO_ASNAME_MAX, (const unsigned char *)d.utf8_string,
                              d.data_size);
    }
    return 0;
}

void geo_free(void)
{
    for (size_t i = 0; i < ndbs; i++)
        MMDB_close(&dbs[i]);
    ndbs = 0;
    generation++;
}
