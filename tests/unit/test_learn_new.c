/*
 * Honeypot learning of new files (learn_new_files, src/detect/learn.c): a label naming
 * a file the catalogue lacks becomes an entry sized from its flow's payload minus the
 * overhead learned at that server from the catalogue's files (exact on goodput), or the
 * payload itself at a server with no observation (counted as guessed); a name whose
 * labels have no flow adds nothing; the learned catalogue then names the new file at
 * its server through the matcher's learned window, and not a size 400 bytes away.
 * learn_observe counts labels whose host is in no flow; learn_labels_nohost too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"
#include "detect/learn.h"
#include "detect/match.h"

#define SRV  "10.0.0.1"
#define SRV2 "10.0.0.9"
#define CLI  "10.0.0.2"

static void addr(const char *s, uint8_t *a)
{
    int v;
    assert_int_equal(parse_addr(s, a, &v), 0);
}

/* A download of p goodput bytes from server s at time t (ms), client port sport. */
static struct flow dl(const char *s, uint16_t sport, uint64_t t, uint64_t p)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    addr(CLI, f.src);
    addr(s, f.dst);
    f.ipver = 4;
    f.proto = 6;
    f.sport = sport;
    f.dport = 80;
    f.first = t;
    f.last = t + 10;
    f.rgoodput = p;
    f.rpayload = p;
    f.rpackets = p / 1448 + 1;
    f.rbytes = f.rpayload + f.rpackets * 52;
    return f;
}

static void labels(struct eval_labels *l, const char *text)
{
    struct fs_err err = { 0 };
    if (eval_labels_parse(l, "l.csv", text, strlen(text), &err))
        fail_msg("%s", err.msg);
}

static const struct cat_entry *named(const struct catalog *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0)
            return &c->e[i];
    return NULL;
}

static void test_new_files(void **state)
{
    (void)state;
    struct catalog c, out;
    catalog_init(&c);
    catalog_init(&out);
    const uint64_t sizes[2] = { 1000000, 3000000 };
    const char *names[2] = { "a", "b" };
    for (int i = 0; i < 2; i++) {
        struct cat_entry e = { 0 };
        e.size = sizes[i];
        e.name = names[i];
        e.source = CAT_SRC_IMPORT;
        catalog_add(&c, &e);
    }
    catalog_sort(&c);
    /* a and b at SRV with 83 header bytes; delta (1,700,000 bytes) at SRV twice; new2
     * at SRV2, which served no catalogue file; gone has no flow; a label of a server
     * that is in no flow */
    struct flow f[5] = { dl(SRV, 1000, 1000, 1000083), dl(SRV, 1001, 2000, 3000083),
                         dl(SRV, 1002, 3000, 1700083), dl(SRV, 1003, 4000, 1700083),
                         dl(SRV2, 1004, 5000, 2500000) };
    struct eval_labels lab = { 0 };
    labels(&lab,
           "client,server,sport,start_ms,end_ms,entry_name\n" CLI "," SRV ",1000,1000,1010,a\n" CLI
           "," SRV ",1001,2000,2010,b\n" CLI "," SRV ",1002,3000,3010,delta\n" CLI "," SRV
           ",1003,4000,4010,delta\n" CLI "," SRV2 ",1004,5000,5010,new2\n" CLI "," SRV
           ",1009,9000,9010,gone\n" CLI ",203.0.113.99,0,1000,1010,a\n");
    struct learn_obs *obs;
    struct learn_counts cnt;
    size_t nobs = learn_observe(&c, &lab, NULL, f, 5, 1000, 52, &obs, &cnt);
    assert_int_equal(nobs, 2);
    assert_int_equal(cnt.unknown, 4); /* delta x2, new2, gone */
    assert_int_equal(cnt.nohost, 1);  /* 203.0.113.99 */
    assert_int_equal(learn_labels_nohost(&lab, f, 5), 1);
    size_t guessed = 0;
    size_t added = learn_new_files(&c, &lab, f, 5, 1000, 52, obs, nobs, &guessed);
    assert_int_equal(added, 2); /* delta, new2; gone has no flow */
    assert_int_equal(guessed, 1);
    const struct cat_entry *d = named(&c, "delta"), *n2 = named(&c, "new2");
    assert_non_null(d);
    assert_non_null(n2);
    assert_int_equal(d->size, 1700000);  /* payload - the server's 83 header bytes */
    assert_int_equal(n2->size, 2500000); /* no overhead known at SRV2: the payload */
    assert_int_equal(d->source, CAT_SRC_LEARNED);
    assert_null(named(&c, "gone"));
    free(obs);
    nobs = learn_observe(&c, &lab, NULL, f, 5, 1000, 52, &obs, &cnt);
    assert_int_equal(nobs, 5);
    size_t rows = 0;
    learn_catalog(&out, &c, obs, nobs, &rows);
    assert_int_equal(rows, 4); /* a, b, delta, new2 at their servers */
    const struct cat_entry *ld = named(&out, "delta");
    assert_non_null(ld);
    assert_non_null(ld->learn);
    assert_int_equal(ld->learn->oh[0], 83);
    assert_int_equal(ld->learn->oh[1], 83);
    /* matched at SRV: delta named; 400 bytes more is not delta */
    struct match_opts mo;
    match_opts_default(&mo);
    struct match_result r;
    struct flow t = dl(SRV, 2000, 20000, 1700083);
    assert_int_equal(match_flow(&out, &mo, NULL, &t, &r), 0);
    int found = 0;
    for (int i = 0; i < r.ncands; i++)
        found |= r.c[i].k == 1 && strcmp(out.e[r.c[i].idx[0]].name, "delta") == 0;
    assert_true(found);
    t = dl(SRV, 2001, 21000, 1700483);
    assert_int_equal(match_flow(&out, &mo, NULL, &t, &r), 0);
    for (int i = 0; i < r.ncands; i++)
        if (r.c[i].k == 1)
            assert_string_not_equal(out.e[r.c[i].idx[0]].name, "delta");
    free(obs);
    eval_labels_free(&lab);
    catalog_free(&c);
    catalog_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_files),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
