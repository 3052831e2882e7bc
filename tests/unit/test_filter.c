/*
 * Filter language tests. Most cases are data: the .txt files of tests/filter/ (run with the repo
 * root as cwd), blocks of
 *
 *   filter: src ip 10.0.0.1 and dport 80
 *   record: src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=80 proto=6 bytes=100
 *   expect: 1
 *   record: ...          (more record/expect pairs for the same filter)
 *   expect: 0
 *
 *   filter: port 80 and (
 *   expect: error
 *   pos: 13
 *
 * Record values are by field-table name; addresses as text, times ISO 8601 or ms,
 * proto a name or number, flags letters or a number; ipver follows src when not given.
 * Every failing case is reported with its file:line. The same files are the seeds of
 * fuzz/corpus/filter/.
 *
 * Also: the dump of every compiled case is deterministic, and a property test matches
 * random records against a few filters evaluated directly in C.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/fields.h"
#include "core/fmt.h"
#include "query/filter.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_DIR "tests/filter"

struct stats {
    int cases, failed, filters;
};

static int parse_flags_text(const char *v, uint64_t *out)
{
    static const char letters[] = "FSRPAUEC";
    char *end;
    if (v[0] >= '0' && v[0] <= '9') {
        *out = strtoull(v, &end, 0);
        return *end ? -1 : 0;
    }
    *out = 0;
    for (; *v; v++) {
        const char *p = strchr(letters, *v);
        if (*v == '.')
            continue;
        if (!p)
            return -1;
        *out |= 1u << (p - letters);
    }
    return 0;
}

/* Set one key=value of a record; -1 on a bad key or value. */
static int set_field(struct flow *r, const char *key, const char *val, int *ipver_set)
{
    const struct field *fd = field_find(key);
    if (!fd)
        return -1;
    uint8_t *p = (uint8_t *)r + fd->offset;
    uint64_t v = 0;
    char *end = NULL;
    int ver;
    switch (fd->type) {
    case FT_ADDR:
    case FT_EADDR:
        if (parse_addr(val, p, &ver) != 0)
            return -1;
        if (fd->type == FT_ADDR && !*ipver_set)
            r->ipver = (uint8_t)ver;
        return 0;
    case FT_STR: /* sni: the text as it is */
        if (strlen(val) > fd->size)
            return -1;
        memset(p, 0, fd->size);
        memcpy(p, val, strlen(val));
        return 0;
    case FT_TIME:
        if (parse_time_ms(val, 0, &v) != 0) {
            v = strtoull(val, &end, 10);
            if (*end)
                return -1;
        }
        break;
    case FT_PROTO:
        v = strtoull(val, &end, 10);
        if (*end)
            v = strcmp(val, "tcp") == 0    ? 6
                : strcmp(val, "udp") == 0  ? 17
                : strcmp(val, "icmp") == 0 ? 1
                                           : 999;
        if (v > 255)
            return -1;
        break;
    case FT_FLAGS:
        if (parse_flags_text(val, &v) != 0)
            return -1;
        break;
    default:
        v = strtoull(val, &end, 0);
        if (*end)
            return -1;
        break;
    }
    if (strcmp(key, "ipver") == 0)
        *ipver_set = 1;
    switch (fd->size) {
    case 1:
        *p = (uint8_t)v;
        break;
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    default:
        memcpy(p, &v, 8);
        break;
    }
    return 0;
}

/* "k=v k=v ..." into a zeroed record (ipver 4 unless an address says otherwise). */
static int parse_record(char *line, struct flow *r)
{
    memset(r, 0, sizeof(*r));
    r->ipver = 4;
    int ipver_set = 0;
    for (char *save = NULL, *tok = strtok_r(line, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        if (set_field(r, tok, eq + 1, &ipver_set) != 0)
            return -1;
    }
    return 0;
}

static char *dump_text(const struct filter *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    filter_dump(f, fp);
    fclose(fp);
    return buf;
}

/* Compile a second time and require the same dump (determinism). */
static int check_dump(const char *text, const struct filter *f)
{
    struct filter *g = NULL;
    struct fs_err err = { 0 };
    if (filter_compile(text, &g, &err) != 0)
        return -1;
    char *a = dump_text(f), *b = dump_text(g);
    int same = strcmp(a, b) == 0 && strlen(a) > 0;
    free(a);
    free(b);
    filter_free(g);
    return same ? 0 : -1;
}

static void report(struct stats *st, const char *file, int line, const char *filter,
                   const char *what)
{
    fprintf(stderr, "%s:%d: filter '%s': %s\n", file, line, filter, what);
    st->failed++;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

/* The state of the block being read: the current filter and what the last expect was. */
struct block {
    char text[1024];
    struct filter *f;
    struct fs_err err;
    int rc;
    int have;
    struct flow rec;
    int have_rec;
    int last_error; /* line of the last "expect: error" waiting for a pos: line */
};

static void new_filter(struct block *b, struct stats *st, const char *file, int line,
                       const char *text)
{
    filter_free(b->f);
    b->f = NULL;
    snprintf(b->text, sizeof(b->text), "%s", text);
    memset(&b->err, 0, sizeof(b->err));
    b->rc = filter_compile(b->text, &b->f, &b->err);
    b->have = 1;
    b->have_rec = 0;
    st->filters++;
    if (b->rc == 0 && check_dump(b->text, b->f) != 0)
        report(st, file, line, b->text, "dump differs between two compiles");
}

static void expect_line(struct block *b, struct stats *st, const char *file, int line,
                        const char *v)
{
    char msg[400];
    st->cases++;
    b->last_error = 0;
    if (strcmp(v, "error") == 0) {
        if (b->rc == 0)
            report(st, file, line, b->text, "compiled, expected an error");
        else if (b->err.msg[0] == '\0' || b->err.pos < 0 || (size_t)b->err.pos > strlen(b->text))
            report(st, file, line, b->text, "error without a message or a position in the text");
        b->last_error = b->rc != 0;
        return;
    }
    if (b->rc != 0) {
        snprintf(msg, sizeof(msg), "compile error at %lld: %s", b->err.pos, b->err.msg);
        report(st, file, line, b->text, msg);
        return;
    }
    if (!b->have_rec) {
        report(st, file, line, b->text, "expect without a record");
        return;
    }
    int got = filter_match(b->f, &b->rec), want = (int)strtol(v, NULL, 10);
    if (got != want) {
        snprintf(msg, sizeof(msg), "matched %d, expected %d", got, want);
        report(st, file, line, b->text, msg);
    }
}

static void run_line(struct block *b, struct stats *st, const char *file, int line, char *s)
{
    char msg[400];
    s = trim(s);
    if (!*s || *s == '#')
        return;
    if (strncmp(s, "filter:", 7) == 0) {
        new_filter(b, st, file, line, trim(s + 7));
    } else if (strncmp(s, "record:", 7) == 0) {
        b->have_rec = parse_record(trim(s + 7), &b->rec) == 0;
        if (!b->have_rec)
            report(st, file, line, b->text, "bad record line");
    } else if (strncmp(s, "expect:", 7) == 0 && b->have) {
        expect_line(b, st, file, line, trim(s + 7));
    } else if (strncmp(s, "pos:", 4) == 0 && b->last_error) {
        long long want = strtoll(trim(s + 4), NULL, 10);
        if (b->err.pos != want) {
            snprintf(msg, sizeof(msg), "error at %lld (%s), expected at %lld", b->err.pos,
                     b->err.msg, want);
            report(st, file, line, b->text, msg);
        }
    } else {
        report(st, file, line, b->text, "unknown line in case file");
    }
}

static void run_file(const char *path, struct stats *st)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[2048];
    int lineno = 0;
    struct block b = { .rc = -1 };
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        run_line(&b, st, path, lineno, line);
    }
    filter_free(b.f);
    fclose(fp);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_cases(void **state)
{
    (void)state;
    DIR *d = opendir(CASE_DIR);
    assert_non_null(d);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".txt") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    struct stats st = { 0 };
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", CASE_DIR, names[i]);
        run_file(path, &st);
        free(names[i]);
    }
    printf("filter cases: %d in %d filters from %zu files, %d failed\n", st.cases, st.filters, n,
           st.failed);
    assert_true(n > 0);
    assert_true(st.cases >= 300);
    assert_int_equal(st.failed, 0);
}

/* ---- property test: random records, filters evaluated directly in C ---- */

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void random_record(uint64_t *s, struct flow *r)
{
    static const char *const addrs[] = { "10.0.0.1",         "10.1.2.3",       "192.168.1.5",
                                         "11.0.0.1",         "2001:db8::1",    "2001:db9::5",
                                         "2001:db8:ffff::7", "::ffff:10.0.0.1" };
    static const uint16_t ports[] = { 22, 53, 80, 443, 8080, 1023, 1024, 0 };
    static const uint8_t protos[] = { 6, 17, 1, 47 };
    int v4, v6;
    memset(r, 0, sizeof(*r));
    const char *src = addrs[rnd(s) % 8];
    parse_addr(src, r->src, &v4);
    r->ipver = (uint8_t)v4;
    if (strcmp(src, "::ffff:10.0.0.1") == 0)
        r->ipver = 6; /* a mapped IPv6 address must not match IPv4 prefixes */
    do {
        parse_addr(addrs[rnd(s) % 8], r->dst, &v6);
    } while ((v6 == 4) != (r->ipver == 4));
    r->sport = rnd(s) % 3 ? ports[rnd(s) % 8] : (uint16_t)rnd(s);
    r->dport = rnd(s) % 3 ? ports[rnd(s) % 8] : (uint16_t)rnd(s);
    r->proto = protos[rnd(s) % 4];
    r->bytes = rnd(s) % 2 ? rnd(s) % 2000 : rnd(s) % 2000000;
    r->rbytes = rnd(s) % 2 ? 1000000 : rnd(s) % 3000000;
    r->packets = rnd(s) % 10;
    r->flags = (uint8_t)rnd(s);
    r->rflags = (uint8_t)rnd(s);
    r->first = 1700000000000ULL + rnd(s) % 100000;
    r->last = r->first + (rnd(s) % 2 ? rnd(s) % 20000 : 10000);
}

static int in_v4net(const struct flow *r, const uint8_t *a, uint32_t net, int len)
{
    if (r->ipver != 4)
        return 0;
    uint32_t x = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
    uint32_t m = len ? 0xffffffffu << (32 - len) : 0;
    return (x & m) == (net & m);
}

static int in_v6_32(const struct flow *r, const uint8_t *a, uint32_t top)
{
    return r->ipver == 6 &&
           ((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]) == top;
}

static int is_host(const struct flow *r, const uint8_t *a, const char *text)
{
    uint8_t b[16];
    int v;
    parse_addr(text, b, &v);
    return r->ipver == v && memcmp(a, b, 16) == 0;
}

static int c_filter(int i, const struct flow *r)
{
    int port3 = r->sport == 53 || r->sport == 80 || r->sport == 443 || r->dport == 53 ||
                r->dport == 80 || r->dport == 443;
    uint8_t fl = r->flags | r->rflags;
    switch (i) {
    case 0:
        return r->proto == 6 && r->dport == 80 && r->bytes > 1000;
    case 1:
        return in_v4net(r, r->src, 0x0a000000, 8) || !port3;
    case 2:
        return ((fl & 2) && !(fl & 0x10)) || r->last - r->first > 10000;
    case 3:
        return (is_host(r, r->src, "10.1.2.3") || is_host(r, r->dst, "10.1.2.3") ||
                in_v6_32(r, r->src, 0x20010db8) || in_v6_32(r, r->dst, 0x20010db8)) &&
               !(r->proto == 17 || r->packets < 3);
    case 4:
        return r->rbytes >= 1000000 || (r->dport != 80 && !(r->sport < 1024));
    case 5:
        return (in_v6_32(r, r->src, 0x20010db8) || in_v6_32(r, r->dst, 0x20010db8)) &&
               !is_host(r, r->src, "2001:db8::1");
    default:
        return (in_v4net(r, r->src, 0x0a010200, 24) || in_v4net(r, r->dst, 0x0a010200, 24)) ==
               (r->bytes <= 1500000 && r->packets != 7);
    }
}

static void test_property(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "proto tcp and dport 80 and bytes > 1000",
        "src net 10.0.0.0/8 or not port in [53 80 443]",
        "(flags S and not flags A) or duration > 10s",
        "ip in [10.1.2.3 2001:db8::/32] and not (udp or packets < 3)",
        "rbytes >= 1M || dport != 80 && !(sport < 1024)",
        "net 2001:db8::/32 and not src ip 2001:db8::1",
        ("(net 10.1.2.0/255.255.255.0 and (bytes <= 1.5M and packets != 7)) or "
         "(not net 10.1.2.0/24 and not (bytes <= 1.5M and packets != 7))"),
    };
    uint64_t seed = 42;
    for (int i = 0; i < 7; i++) {
        struct filter *f = NULL;
        struct fs_err err = { 0 };
        assert_int_equal(filter_compile(texts[i], &f, &err), 0);
        int hits = 0;
        for (int n = 0; n < 20000; n++) {
            struct flow r;
            random_record(&seed, &r);
            int want = c_filter(i, &r), got = filter_match(f, &r);
            if (want != got)
                fprintf(stderr, "filter %d '%s': record %d got %d want %d\n", i, texts[i], n, got,
                        want);
            assert_int_equal(got, want);
            hits += got;
        }
        /* Both outcomes must occur, or the comparison proves little. */
        assert_true(hits > 0 && hits < 20000);
        filter_free(f);
    }
}

static int compiles(const char *text, long long *pos)
{
    struct filter *f = NULL;
    struct fs_err err = { 0 };
    int rc = filter_compile(text, &f, &err);
    *pos = err.pos;
    filter_free(f);
    return rc == 0;
}

/* The depth limit, long flat chains (no recursion per term), and junk input. */
static void test_depth_and_junk(void **state)
{
    (void)state;
    char *s = malloc(1 << 20);
    long long pos;
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(s + n, 16, "(");
    n += (size_t)snprintf(s + n, 16, "any");
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(s + n, 16, ")");
    assert_true(compiles(s, &pos));
    memmove(s + 1, s, n + 1);
    s[0] = '(';
    memcpy(s + n + 1, ")", 2); /* 65 levels */
    assert_false(compiles(s, &pos));
    assert_int_equal(pos, 64);
    n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(s + n, 16, "not ");
    snprintf(s + n, 16, "tcp");
    assert_false(compiles(s, &pos));
    assert_int_equal(pos, 64 * 4);
    n = 0;
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(s + n, 32, "port %d or ", i);
    snprintf(s + n, 16, "tcp");
    assert_true(compiles(s, &pos));
    uint64_t seed = 7;
    for (int i = 0; i < 20000; i++) {
        size_t len = rnd(&seed) % 40;
        static const char alpha[] = "()[]!=<>&| ,.:/0123456789aAnNdDoOrRtTsScCpP-kMGxyz\t";
        for (size_t j = 0; j < len; j++)
            s[j] = alpha[rnd(&seed) % (sizeof(alpha) - 1)];
        s[len] = '\0';
        struct filter *f = NULL;
        struct fs_err err = { 0 };
        if (filter_compile(s, &f, &err) == 0) {
            struct flow r;
            random_record(&seed, &r);
            (void)filter_match(f, &r);
        } else {
            assert_true(err.pos >= 0 && (size_t)err.pos <= len);
            assert_true(err.msg[0] != '\0');
        }
        filter_free(f);
    }
    free(s);
}

int main(void)
{
    unsetenv("TZ"); /* hour and wday are in $TZ: the case files are written for UTC */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_property),
        cmocka_unit_test(test_depth_and_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
