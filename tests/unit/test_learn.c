/*
 * Learning (src/detect/learn.c, model.c, catalog_json.c, catalogue version 2): learned
 * rows from labelled flows, their windows in the matcher (and the default window at
 * other servers), the per-server calibration with a TLS slope, the model file and its
 * errors by line, JSON import errors by index and field, stratified folds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"
#include "detect/catalog_json.h"
#include "detect/learn.h"
#include "detect/match.h"
#include "detect/model.h"

#define SRV "10.0.0.1"
#define CLI "10.0.0.2"

static void addr(const char *s, uint8_t *a)
{
    int v;
    assert_int_equal(parse_addr(s, a, &v), 0);
}

/* A download of p goodput bytes from server s, client port sport, at time t. */
static struct flow dl(const char *s, uint16_t sport, uint16_t dport, uint64_t t, uint64_t p)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    addr(CLI, f.src);
    addr(s, f.dst);
    f.ipver = 4;
    f.proto = 6;
    f.sport = sport;
    f.dport = dport;
    f.first = t;
    f.last = t + 10;
    f.rgoodput = p;
    f.rpayload = p + 100;
    f.rpackets = p / 1448 + 1;
    f.rbytes = f.rpayload + f.rpackets * 52;
    return f;
}

static void cat3(struct catalog *c)
{
    const uint64_t sizes[3] = { 1000000, 1000300, 2000000 };
    const char *names[3] = { "a", "b", "c" };
    catalog_init(c);
    for (int i = 0; i < 3; i++) {
        struct cat_entry e = { 0 };
        e.size = sizes[i];
        e.name = names[i];
        e.source = CAT_SRC_IMPORT;
        catalog_add(c, &e);
    }
    catalog_sort(c);
}

/* An entry of that size named by a letter and a number (catalog_add copies the name). */
static void add_sized(struct catalog *c, uint64_t size, char letter, int i)
{
    char name[16];
    snprintf(name, sizeof(name), "%c%d", letter, i);
    struct cat_entry e = { 0 };
    e.size = size;
    e.name = name;
    e.source = CAT_SRC_IMPORT;
    catalog_add(c, &e);
}

static void labels(struct eval_labels *l, const char *text)
{
    struct fs_err err = { 0 };
    if (eval_labels_parse(l, "l.csv", text, strlen(text), &err))
        fail_msg("%s", err.msg);
}

static const char lab_text[] =
    "client,server,sport,start_ms,end_ms,entry_name\n" CLI "," SRV ",1000,1000,1010,a\n" CLI "," SRV
    ",1001,2000,2010,a\n" CLI "," SRV ",1002,3000,3010,c\n" CLI "," SRV ",1003,4000,4010,-\n" CLI
    "," SRV ",1004,5000,5010,zz\n";

/* Learned rows: ranges, spread, merge; the version-2 text round-trips. */
static void test_learn_catalog(void **state)
{
    (void)state;
    struct catalog c, out, back;
    struct eval_labels l = { 0 };
    struct flow f[4] = { dl(SRV, 1000, 80, 1000, 1000205), dl(SRV, 1001, 80, 2000, 1000206),
                         dl(SRV, 1002, 80, 3000, 2000205), dl(SRV, 1003, 80, 4000, 555555) };
    struct learn_obs *obs;
    struct learn_counts cnt;
    size_t rows;
    cat3(&c);
    labels(&l, lab_text);
    size_t n = learn_observe(&c, &l, NULL, f, 4, 0, 52, &obs, &cnt);
    assert_int_equal(n, 3);
    assert_int_equal(cnt.foreign, 1);
    assert_int_equal(cnt.unknown, 1);
    catalog_init(&out);
    learn_catalog(&out, &c, obs, n, &rows);
    assert_int_equal(rows, 2);
    assert_int_equal(out.n, 3); /* a and c learned, b kept */
    assert_int_equal(out.nlearned, 2);
    const struct cat_entry *a = &out.e[0];
    assert_string_equal(a->name, "a");
    assert_non_null(a->learn);
    assert_int_equal(a->learn->n, 2);
    assert_int_equal(a->learn->oh[0], 205);
    assert_int_equal(a->learn->oh[1], 206);
    assert_int_equal(a->spread, 1);
    assert_int_equal(a->learn->rgoodput[1], 1000206);
    assert_int_equal(a->source, CAT_SRC_LEARNED);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(catalog_write(&out, fp), 0);
    fclose(fp);
    assert_non_null(strstr(buf, "#flowsleuth-catalog 2\n"));
    assert_non_null(strstr(buf, "\t" SRV "\t2\t"));
    assert_non_null(strstr(buf, "\t205..206\t"));
    catalog_init(&back);
    struct fs_err err = { 0 };
    if (catalog_parse(&back, "rt", buf, len, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(back.nlearned, 2);
    /* learning again merges the ranges of the same object and server */
    struct catalog again;
    catalog_init(&again);
    catalog_sort(&back);
    learn_catalog(&again, &back, obs, n, &rows);
    assert_int_equal(again.n, 3);
    assert_int_equal(again.e[0].learn->n, 4);
    free(buf);
    free(obs);
    eval_labels_free(&l);
    catalog_free(&c);
    catalog_free(&out);
    catalog_free(&back);
    catalog_free(&again);
}

/* The matcher: the learned window at the learned server, the default elsewhere. */
static void test_learned_window(void **state)
{
    (void)state;
    struct catalog c;
    struct match_opts o;
    struct match_result r;
    cat3(&c);
    struct cat_learn l = { 0 };
    addr(SRV, l.server);
    l.ipver = 4;
    l.n = 1;
    l.oh[0] = l.oh[1] = 205;
    struct cat_entry e = c.e[0]; /* "a", 1000000 */
    e.learn = &l;
    struct catalog d;
    catalog_init(&d);
    catalog_add(&d, &e);
    catalog_add(&d, &c.e[1]);
    catalog_add(&d, &c.e[2]);
    catalog_sort(&d);
    match_opts_default(&o);
    o.max_set = 1;
    /* 1000505: by default both a (oh 505) and b (oh 205) fit: ambiguous */
    struct flow f = dl(SRV, 1, 80, 0, 1000505);
    match_flow(&c, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS);
    /* learned: a needs 205 +- 8 at this server, so only b fits */
    match_flow(&d, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_MATCH);
    assert_string_equal(d.e[r.c[0].idx[0]].name, "b");
    f = dl(SRV, 1, 80, 0, 1000205 + 8); /* a at the edge of its margin, b below its range */
    match_flow(&d, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_MATCH);
    assert_string_equal(d.e[r.c[0].idx[0]].name, "a");
    f = dl(SRV, 1, 80, 0, 1000205 + 9);
    match_flow(&d, &o, NULL, &f, &r);
    assert_true(r.verdict == MV_REJECT || strcmp(d.e[r.c[0].idx[0]].name, "a") != 0);
    /* another server: a has the default window again */
    f = dl("10.9.9.9", 1, 80, 0, 1000505);
    match_flow(&d, &o, NULL, &f, &r);
    assert_int_equal(r.verdict, MV_AMBIGUOUS);
    catalog_free(&c);
    catalog_free(&d);
}

/* The per-server calibration: HTTP base, TLS slope, and its window in the matcher. */
static void test_model_nearest(void **state)
{
    (void)state;
    struct catalog c;
    cat3(&c);
    /* TLS server: oh = 300 + 0.0018 * size (29 B per 16 KiB record) */
    struct flow f[3] = { dl("10.0.0.4", 1, 443, 0, 1000000 + 300 + 1800),
                         dl("10.0.0.4", 2, 443, 100, 2000000 + 300 + 3600),
                         dl(SRV, 3, 80, 200, 1000300 + 150) };
    struct learn_obs obs[3] = { { 0, &f[0], 0, 2100 },
                                { 2, &f[1], 0, 3900 },
                                { 1, &f[2], 0, 150 } };
    struct model m = { 0 };
    m.kind = MODEL_NEAREST;
    learn_model_train(&m.near, &c, obs, 3, 52);
    assert_int_equal(m.near.n, 2);
    uint8_t a4[16];
    addr("10.0.0.4", a4);
    const struct learn_server *s = learn_model_find(&m.near, a4);
    assert_non_null(s);
    assert_int_equal(s->tls, 1);
    assert_int_equal(s->base, 300);
    assert_true(s->ppm[0] > 1799 && s->ppm[1] < 1801);
    /* the window for a 1.5 MB object at the TLS server */
    struct match_opts o, so;
    match_opts_default(&o);
    assert_int_equal(learn_model_opts(&m.near, &f[0], 1500000, MB_GOODPUT, &o, &so), 1);
    assert_true(so.oh_min >= 300 + 2700 - 9 && so.oh_max <= 300 + 2700 + 9);
    /* write and parse back */
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(model_write(&m, fp), 0);
    fclose(fp);
    struct model b;
    struct fs_err err = { 0 };
    if (model_parse(&b, "m", buf, len, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(b.near.n, 2);
    assert_int_equal(learn_model_find(&b.near, a4)->base, 300);
    model_free(&b);
    model_free(&m);
    free(buf);
    catalog_free(&c);
}

static void model_bad(const char *text, const char *want)
{
    struct model m;
    struct fs_err err = { 0 };
    assert_int_not_equal(model_parse(&m, "m.txt", text, strlen(text), &err), 0);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
}

/* A hostile model file: every problem named with its line. */
static void test_model_errors(void **state)
{
    (void)state;
    const char *head = "#flowsleuth-model 1\nkind tree\nclasses 1\nclass a\nnodes 2\n";
    char t[512];
    model_bad("hello\n", "m.txt:1: not a flowsleuth model");
    model_bad("#flowsleuth-model 9\n", "m.txt:1: unsupported model version");
    model_bad("#flowsleuth-model 1\nkind forest\n", "m.txt:2: unknown kind");
    snprintf(t, sizeof(t), "%ssplit 0 1 0 1\nleaf 0\nend\n", head);
    model_bad(t, "m.txt:6: split children must be node ids after this node");
    snprintf(t, sizeof(t), "%ssplit 0 nan 1 1\nleaf 0\nend\n", head);
    model_bad(t, "m.txt:6: split threshold");
    snprintf(t, sizeof(t), "%ssplit 1 5 1 1\nleaf 0\nend\n", head);
    model_bad(t, "m.txt:6: split feature");
    snprintf(t, sizeof(t), "%ssplit 0 5 1 1\nleaf 3\nend\n", head);
    model_bad(t, "m.txt:7: leaf class");
    snprintf(t, sizeof(t), "%ssplit 0 5 1 1\nleaf 0\n", head);
    model_bad(t, "m.txt:8: file ends before 'end'");
    snprintf(t, sizeof(t), "%ssplit 0 5 1 1\n", head);
    model_bad(t, "file ends inside the node list");
    model_bad("#flowsleuth-model 1\nkind nearest\nheader-bytes 52\nservers 1\n"
              "server 10.0.0.1 1 0 99999999 0 1\nend\n",
              "m.txt:5: server: BASE");
    model_bad("#flowsleuth-model 1\nkind nearest\nheader-bytes 52\nservers 2\n"
              "server 10.0.0.1 1 0 1 0 1\nserver 10.0.0.1 1 0 1 0 1\nend\n",
              "listed twice");
    model_bad("#flowsleuth-model 1\nkind nearest\nheader-bytes 52\nservers 99999999999\n",
              "m.txt:4: number out of range");
    /* residues and record framing: only in version 2, each item once, with its pair */
    const char *v2 = "#flowsleuth-model 2\nkind nearest\nheader-bytes 52\nservers 1\n";
    model_bad("#flowsleuth-model 1\nkind nearest\nheader-bytes 52\nservers 1\n"
              "server 10.0.0.1 1 0 1 0 1 seg=1448 res=268\nend\n",
              "m.txt:5: expected 'server ADDR N TLS BASE QLO QHI'");
    const char *bad_items[][2] = {
        { "seg=1448 res=268,1448", "m.txt:5: server: res= must be" },
        { "seg=0 res=268", "m.txt:5: server: seg= must be" },
        { "seg=1448 res=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "server: res= must be" },
        { "seg=1448 res=268,", "server: res= must be" },
        { "seg=1448", "server: seg= goes with res=" },
        { "rec=22", "server: seg= goes with res=, rec= with oh=" },
        { "rec=22 oh=5..4", "server: oh= must be LO..HI bytes" },
        { "rec=22 oh=5", "server: oh= must be LO..HI" },
        { "rec=0 oh=1..2", "server: rec= must be" },
        { "rec=22 oh=1..2 rec=22", "unknown or repeated item" },
        { "tls=1", "unknown or repeated item" },
        { "seg1448", "expected seg=, res=, rec=, oh= or step=" },
        { "rec=22 oh=1..2 step=0", "server: step= must be" },
        { "step=22", "step= with both" },
        { "rec=22 oh=1..2 step=22 step=22", "unknown or repeated item" },
    };
    for (size_t i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
        snprintf(t, sizeof(t), "%sserver 10.0.0.1 1 0 1 0 1 %s\nend\n", v2, bad_items[i][0]);
        model_bad(t, bad_items[i][1]);
    }
}

/* NetFlow from a lossy path: overhead = 268 + k whole 1448-byte segments, or k plus a
 * 376-byte short one, for downloads of varied sizes (rgoodput 0: bytes only). */
static void resid_obs(struct flow *f, struct learn_obs *obs, size_t n, int lossless)
{
    for (size_t i = 0; i < n; i++) {
        int64_t oh =
            lossless ? 268 : 268 + (int64_t)(3 + i * 7 % 40) * 1448 + (int64_t)(i % 3 == 0) * 376;
        uint64_t size = 1000000 + i * 123457;
        f[i] = dl("10.0.0.9", (uint16_t)(1000 + i), 80, i * 100, size + (uint64_t)oh);
        f[i].rgoodput = 0;
        f[i].rpayload = 0;
        obs[i] = (struct learn_obs){ 0, &f[i], size + (uint64_t)oh, oh };
    }
}

/* Write m as text: version 2 holding want; parse it back into b (the caller frees). */
static void v2_round_trip(const struct model *m, const char *want, struct model *b)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(model_write(m, fp), 0);
    fclose(fp);
    assert_non_null(strstr(buf, "#flowsleuth-model 2\n"));
    if (!strstr(buf, want))
        fail_msg("no '%s' in:\n%s", want, buf);
    struct fs_err err = { 0 };
    if (model_parse(b, "m", buf, len, &err))
        fail_msg("%s", err.msg);
    free(buf);
}

/* The record-framing tests' catalogue: 12 sizes, 1 MB + i * 777,777. */
static void rec_catalogue(struct catalog *c)
{
    catalog_init(c);
    for (int i = 0; i < 12; i++)
        add_sized(c, 1000000 + (uint64_t)i * 777777, 't', i);
    catalog_sort(c);
}

/* Download i of c from 10.0.0.7 to dport whose overhead is c0 plus 22 B a record. */
static void rec_obs(const struct catalog *c, size_t i, int64_t c0, uint16_t dport, struct flow *f,
                    struct learn_obs *obs)
{
    uint64_t size = c->e[i].size;
    int64_t oh = c0 + 22 * (int64_t)((size + 16383) / 16384);
    f[i] = dl("10.0.0.7", (uint16_t)(2000 + i), dport, i * 100, size + (uint64_t)oh);
    obs[i] = (struct learn_obs){ i, &f[i], size + (uint64_t)oh, oh };
}

/* TLS records on goodput: oh = 1593 + 22 per started 16 KiB record (TLS 1.3's cost). */
static void test_model_rec(void **state)
{
    (void)state;
    struct catalog c;
    rec_catalogue(&c);
    struct flow f[12];
    struct learn_obs obs[12];
    for (size_t i = 0; i < 12; i++)
        rec_obs(&c, i, 1593, 8443, f, obs);
    struct model m = { 0 };
    m.kind = MODEL_NEAREST;
    learn_model_train(&m.near, &c, obs, 12, 52);
    const struct learn_server *s = &m.near.s[0];
    assert_int_equal(s->rec.r, 22);
    assert_int_equal(s->rec.lo, 1593);
    assert_int_equal(s->rec.hi, 1593);
    assert_int_equal(s->resid.seg, 0); /* goodput: no retransmissions to learn */
    assert_true(match_rec_fits(&s->rec, 16384, 1593 + 22 + 1));
    assert_true(match_rec_fits(&s->rec, 16385, 1593 + 44));
    assert_false(match_rec_fits(&s->rec, 16385, 1593 + 22));
    struct match_opts o, so;
    match_opts_default(&o);
    assert_int_equal(learn_model_opts(&m.near, &f[0], 2000000, MB_GOODPUT, &o, &so), 1);
    assert_ptr_equal(so.rec, &s->rec);
    assert_int_equal(learn_model_opts(&m.near, &f[0], 2000000, MB_PAYLOAD, &o, &so), 1);
    assert_null(so.rec);
    struct model b;
    v2_round_trip(&m, " rec=22 oh=1593..1593\n", &b);
    assert_int_equal(b.near.s[0].rec.r, s->rec.r); /* fields: the struct has padding */
    assert_int_equal(b.near.s[0].rec.lo, s->rec.lo);
    assert_int_equal(b.near.s[0].rec.hi, s->rec.hi);
    model_free(&b);
    /* the same sizes all in one record count: r cannot be told apart, nothing learned */
    for (size_t i = 0; i < 12; i++)
        obs[i].entry = 0;
    learn_model_train(&m.near, &c, obs, 12, 52);
    assert_int_equal(m.near.s[0].rec.r, 0);
    model_free(&m);
    catalog_free(&c);
}

/* test_model_rec_grid's server: the grid 2452 + j * 22, j 0..5; fits, width, file. */
static void check_grid(const struct model *m)
{
    const struct match_rec *rc = &m->near.s[0].rec;
    assert_int_equal(rc->r, 22);
    assert_int_equal(rc->step, 22);
    assert_int_equal(rc->lo, 2452);
    assert_int_equal(rc->hi, 2562); /* 3 extra records seen, 2 more taken */
    int64_t base = 2452 + 1364;     /* a 1,000,000-byte file: 62 records of 22 bytes */
    assert_true(match_rec_fits(rc, 1000000, base + 110 + 1));
    assert_false(match_rec_fits(rc, 1000000, base + 132));
    assert_false(match_rec_fits(rc, 1000000, base + 11));
    assert_false(match_rec_fits(rc, 1000000, base - 22));
    assert_true(match_rec_width(rc) == (double)(6 * (2 * MATCH_REC_SLACK + 1)));
    struct model b;
    v2_round_trip(m, " rec=22 oh=2452..2562 step=22\n", &b);
    assert_int_equal(b.near.s[0].rec.step, 22);
    assert_int_equal(b.near.s[0].rec.hi, rc->hi);
    model_free(&b);
}

/* A CDN's framing: 0..3 records more than the size needs, the constants on a grid of
 * 22 (README.md's HTTPS section, deb.debian.org); constants off any grid teach nothing. */
static void test_model_rec_grid(void **state)
{
    (void)state;
    struct catalog c;
    rec_catalogue(&c);
    struct flow f[12];
    struct learn_obs obs[12];
    for (int grid = 1; grid >= 0; grid--) {
        for (size_t i = 0; i < 12; i++)
            rec_obs(&c, i, 2452 + (grid ? 22 * (int64_t)(i % 4) : 7 * (int64_t)i), 443, f, obs);
        struct model m = { 0 };
        m.kind = MODEL_NEAREST;
        learn_model_train(&m.near, &c, obs, 12, 52);
        if (grid)
            check_grid(&m);
        else
            assert_int_equal(m.near.s[0].rec.r, 0);
        model_free(&m);
    }
    catalog_free(&c);
}

/* A keep-alive TLS 1.3 server: 260 bytes beyond the records for most responses, 834 for
 * a connection's first when the session tickets came in its exchange. The trimmed range
 * spans both, no grid holds them: the constant of 10 of the 12 is kept. */
static void test_model_rec_majority(void **state)
{
    (void)state;
    struct catalog c;
    rec_catalogue(&c);
    struct flow f[12];
    struct learn_obs obs[12];
    for (size_t i = 0; i < 12; i++)
        rec_obs(&c, i, i % 6 ? 260 : 834, 443, f, obs);
    struct model m = { 0 };
    m.kind = MODEL_NEAREST;
    learn_model_train(&m.near, &c, obs, 12, 52);
    const struct match_rec *rc = &m.near.s[0].rec;
    assert_int_equal(rc->r, 22);
    assert_int_equal(rc->step, 0);
    assert_int_equal(rc->lo, 260);
    assert_int_equal(rc->hi, 260);
    /* 3 of 12 exceptions are too many: no framing */
    obs[1].oh += 574;
    f[1].rgoodput += 574;
    learn_model_train(&m.near, &c, obs, 12, 52);
    assert_int_equal(m.near.s[0].rec.r, 0);
    model_free(&m);
    catalog_free(&c);
}

/* The retransmission residues: learned, saved as version 2, applied off goodput only. */
static void test_model_resid(void **state)
{
    (void)state;
    struct catalog c;
    cat3(&c);
    struct flow f[24];
    struct learn_obs obs[24];
    resid_obs(f, obs, 24, 0);
    struct model m = { 0 };
    m.kind = MODEL_NEAREST;
    learn_model_train(&m.near, &c, obs, 24, 52);
    const struct learn_server *s = &m.near.s[0];
    assert_int_equal(s->resid.seg, 1448);
    assert_int_equal(s->resid.n, 2);
    assert_int_equal(s->resid.r[0], 268); /* the commoner first */
    assert_int_equal(s->resid.r[1], 644);
    assert_true(match_resid_fits(&s->resid, 268 + 40 * 1448));
    assert_true(match_resid_fits(&s->resid, 644 + 1448));
    assert_true(match_resid_fits(&s->resid, 268 - 1448));
    assert_false(match_resid_fits(&s->resid, 644 + 1448 + 1)); /* exact */
    assert_false(match_resid_fits(&s->resid, 268 + 40 * 1448 + 2));
    assert_false(match_resid_fits(&s->resid, 1000));
    struct match_opts o, so;
    match_opts_default(&o);
    assert_int_equal(learn_model_opts(&m.near, &f[0], 2000000, MB_ESTIMATE, &o, &so), 1);
    assert_ptr_equal(so.resid, &s->resid);
    assert_int_equal(learn_model_opts(&m.near, &f[0], 2000000, MB_GOODPUT, &o, &so), 1);
    assert_null(so.resid);
    struct model b;
    v2_round_trip(&m, " seg=1448 res=268,644\n", &b);
    assert_memory_equal(&b.near.s[0].resid, &s->resid, sizeof(s->resid));
    model_free(&b);
    /* a path that lost nothing: the overhead itself, modulo a million */
    resid_obs(f, obs, 10, 1);
    learn_model_train(&m.near, &c, obs, 10, 52);
    assert_int_equal(m.near.s[0].resid.seg, 1000000);
    assert_int_equal(m.near.s[0].resid.n, 1);
    assert_int_equal(m.near.s[0].resid.r[0], 268);
    /* the chance share: a window narrower than seg holds a residue at most once */
    assert_true(fabs(match_resid_share(&m.near.s[0].resid, 17) - 1.0 / 17) < 1e-12);
    /* a lossless model's single that fits exactly is a match where the catalogue is
     * sparse, and only possible where entries lie a few bytes apart (a foreign
     * download then lands exactly on one as often as not) */
    struct catalog dense;
    catalog_init(&dense);
    for (int i = 0; i < 400; i++)
        add_sized(&dense, 20000 + (uint64_t)i * 3, 'd', i);
    struct cat_entry lone = { .size = 900000, .name = "lone", .source = CAT_SRC_IMPORT };
    catalog_add(&dense, &lone);
    catalog_sort(&dense);
    dense.model = &m.near;
    struct flow g = dl("10.0.0.9", 7, 80, 0, 0);
    g.rgoodput = g.rpayload = 0;
    struct match_result r;
    g.rpackets = 10;
    g.rbytes = 20000 + 300 + 268 + 10 * 52; /* entry d100 plus the exact overhead */
    assert_int_equal(match_flow(&dense, &o, NULL, &g, &r), 0);
    assert_int_equal(r.verdict, MV_POSSIBLE);
    g.rbytes = 900000 + 268 + 10 * 52;
    assert_int_equal(match_flow(&dense, &o, NULL, &g, &r), 0);
    assert_int_equal(r.verdict, MV_MATCH);
    dense.model = NULL;
    catalog_free(&dense);
    /* too few observations: nothing learned */
    resid_obs(f, obs, 5, 0);
    learn_model_train(&m.near, &c, obs, 5, 52);
    assert_int_equal(m.near.s[0].resid.seg, 0);
    model_free(&m);
    catalog_free(&c);
}

static void json_bad(const char *text, const char *want)
{
    struct catalog c;
    struct fs_err err = { 0 };
    catalog_init(&c);
    assert_int_not_equal(catalog_import_json(&c, "c.json", text, strlen(text), &err), 0);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
    catalog_free(&c);
}

static void test_json(void **state)
{
    (void)state;
    struct catalog c;
    struct fs_err err = { 0 };
    const char *ok = "[{\"size\":184620,\"name\":\"fonts-3270\",\"version\":\"3.0.1-1\","
                     "\"arch\":\"all\",\"extra\":[1]},{\"size\":\"18446744073709551615\","
                     "\"url\":\"x/y.bin\",\"spread\":3}]";
    catalog_init(&c);
    if (catalog_import_json(&c, "c.json", ok, strlen(ok), &err))
        fail_msg("%s", err.msg);
    catalog_sort(&c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.e[0].name, "fonts-3270");
    assert_string_equal(c.e[0].product, "fonts-3270");
    assert_int_equal(c.e[1].size, UINT64_MAX);
    assert_string_equal(c.e[1].name, "x/y.bin");
    assert_int_equal(c.e[1].spread, 3);
    catalog_free(&c);
    json_bad("[{\"size\":1},{\"name\":\"x\"}]", "c.json: [1]: field 'size': missing");
    json_bad("[{\"size\":-5}]", "c.json: [0]: field 'size': not a byte count");
    json_bad("[{\"size\":1},{\"size\":2,\"version\":7}]",
             "c.json: [1]: field 'version': not a string");
    json_bad("[{\"size\":1,\"spread\":\"x\"}]", "[0]: field 'spread'");
    json_bad("[1]", "c.json: [0]: field 'size': element is not an object");
    json_bad("{\"size\":1}", "not a JSON array");
    json_bad("[{\"size\":1,}", "c.json:1:");
    json_bad("[{\"size\":1,\"size\":2}]", "c.json:1:");
}

/* Version-2 catalogue errors name the learned field. */
static void test_v2_errors(void **state)
{
    (void)state;
    const char *h = "#flowsleuth-catalog 2\nsize\tname\tproduct\tversion\tarch\tos\turl\tdigest\t"
                    "source\tspread\tserver\tn\trbytes\trpayload\trgoodput\toverhead\ttls\n";
    const char *bad[][2] = {
        { "5\tx\t\t\t\t\t\t\timport\t0\tnot-an-ip\t1\t\t\t\t1\t\n", "field 'server'" },
        { "5\tx\t\t\t\t\t\t\timport\t0\t10.0.0.1\t1\t9..3\t\t\t1\t\n", "field 'rbytes'" },
        { "5\tx\t\t\t\t\t\t\timport\t0\t10.0.0.1\t1\t\t\t\t1..x\t\n", "field 'overhead'" },
        { "5\tx\t\t\t\t\t\t\timport\t0\t\t1\t\t\t\t\t\n", "field 'server'" },
        { "5\tx\t\t\t\t\t\t\timport\t0\t10.0.0.1\t1\t\t\t\t1\t2000000\n", "field 'tls'" },
        { "5\tx\t\t\t\t\t\t\timport\t0\n", "field 'server': missing" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[1024];
        snprintf(t, sizeof(t), "%s%s", h, bad[i][0]);
        struct catalog c;
        struct fs_err err = { 0 };
        catalog_init(&c);
        assert_int_not_equal(catalog_parse(&c, "v2.tsv", t, strlen(t), &err), 0);
        if (!strstr(err.msg, "v2.tsv:3: ") || !strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: got '%s', want '%s'", i, err.msg, bad[i][1]);
        catalog_free(&c);
    }
}

/* Folds: every name spread over the folds, same seed same folds. */
static void test_folds(void **state)
{
    (void)state;
    struct eval_labels l = { 0 };
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof(text), "client,server,start_ms,end_ms,entry_name\n");
    for (int i = 0; i < 30; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, CLI "," SRV ",%d,%d,%s\n", i, i,
                                i % 3 == 0   ? "a"
                                : i % 3 == 1 ? "b"
                                             : "-");
    labels(&l, text);
    unsigned f1[30], f2[30], per[5][3] = { { 0 } };
    eval_folds(&l, 5, 7, f1);
    eval_folds(&l, 5, 7, f2);
    assert_memory_equal(f1, f2, sizeof(f1));
    for (int i = 0; i < 30; i++) {
        assert_true(f1[i] < 5);
        per[f1[i]][i % 3]++;
    }
    for (int f = 0; f < 5; f++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(per[f][k], 2); /* 10 of each name over 5 folds */
    eval_labels_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learn_catalog),  cmocka_unit_test(test_learned_window),
        cmocka_unit_test(test_model_nearest),  cmocka_unit_test(test_model_errors),
        cmocka_unit_test(test_model_resid),    cmocka_unit_test(test_model_rec),
        cmocka_unit_test(test_model_rec_grid), cmocka_unit_test(test_model_rec_majority),
        cmocka_unit_test(test_json),           cmocka_unit_test(test_v2_errors),
        cmocka_unit_test(test_folds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
