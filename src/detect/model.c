/*
 * Saved models: the text format of model.h, written and checked line by line.
 */
#include "model.h"

#include "../core/fmt.h"
#include "../core/xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char magic[] = "#flowsleuth-model";
static const char *const kinds[] = { "tree", "tree-bp", "nearest" };

int model_kind_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, kinds[i]) == 0)
            return i;
    return -1;
}

const char *model_kind_name(enum model_kind k)
{
    return (unsigned)k < 3 ? kinds[k] : "?";
}

void model_features(const struct model *m, const struct flow *f, double *x)
{
    x[0] = (double)f->rbytes;
    if (m->kind == MODEL_TREE_BP)
        x[1] = (double)f->rpackets;
}

const char *model_tree_class(const struct model *m, const struct flow *f)
{
    double x[EVAL_MAX_FEAT];
    model_features(m, f, x);
    return m->cls[eval_tree_predict(&m->tree, x)];
}

void model_free(struct model *m)
{
    eval_tree_free(&m->tree);
    for (size_t i = 0; i < m->ncls; i++)
        free(m->cls[i]);
    free(m->cls);
    learn_model_free(&m->near);
    memset(m, 0, sizeof(*m));
}

/* ---- training ---- */

void model_basis(struct flow *v, size_t n, int basis)
{
    for (size_t i = 0; i < n && basis; i++) {
        v[i].rgoodput = 0;
        if (basis == 2)
            v[i].rpayload = 0;
    }
}

/* Class id of name, added when new. */
static uint32_t class_of(struct model *m, const char *name)
{
    for (size_t i = 0; i < m->ncls; i++)
        if (strcmp(m->cls[i], name) == 0)
            return (uint32_t)i;
    m->cls = xrealloc(m->cls, (m->ncls + 1) * sizeof(*m->cls));
    m->cls[m->ncls] = xstrdup(name);
    return (uint32_t)m->ncls++;
}

/* The article's tree on the observations (learn_observe did the joining). */
static int train_tree(struct model *m, const struct learn_obs *obs, size_t nobs,
                      const struct catalog *c)
{
    int nfeat = m->kind == MODEL_TREE_BP ? 2 : 1;
    double *x = xmalloc((nobs ? nobs : 1) * EVAL_MAX_FEAT * sizeof(double));
    uint32_t *y = xmalloc((nobs ? nobs : 1) * sizeof(uint32_t));
    for (size_t i = 0; i < nobs; i++) {
        model_features(m, obs[i].f, &x[i * (size_t)nfeat]);
        y[i] = class_of(m, c->e[obs[i].entry].name);
    }
    int rc = eval_tree_train(&m->tree, nfeat, x, y, nobs, (uint32_t)m->ncls);
    free(x);
    free(y);
    return rc;
}

int model_train(struct model *m, enum model_kind k, const struct catalog *c,
                const struct eval_labels *lab, const unsigned char *only, const struct flow *flows,
                size_t n, uint64_t slack, uint32_t header_bytes, struct learn_counts *cnt)
{
    struct learn_obs *obs;
    model_free(m);
    m->kind = k;
    size_t nobs = learn_observe(c, lab, only, flows, n, slack, header_bytes, &obs, cnt);
    int rc = nobs ? 0 : FS_EINVAL;
    if (!rc && k == MODEL_NEAREST)
        learn_model_train(&m->near, c, obs, nobs, header_bytes);
    else if (!rc)
        rc = train_tree(m, obs, nobs, c);
    free(obs);
    return rc;
}

/* ---- writer ---- */

static void put_name(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", fp);
        else if (*s == '\r')
            fputs("\\r", fp);
        else if (*s == '\\')
            fputs("\\\\", fp);
        else
            fputc(*s, fp);
    }
}

static void write_tree(const struct model *m, FILE *fp)
{
    fprintf(fp, "classes %zu\n", m->ncls);
    for (size_t i = 0; i < m->ncls; i++) {
        fputs("class ", fp);
        put_name(fp, m->cls[i]);
        fputc('\n', fp);
    }
    fprintf(fp, "nodes %zu\n", m->tree.n);
    for (size_t i = 0; i < m->tree.n; i++) {
        const struct eval_tnode *t = &m->tree.node[i];
        if (t->feat < 0)
            fprintf(fp, "leaf %u\n", t->cls);
        else
            fprintf(fp, "split %d %.17g %u %u\n", t->feat, t->thr, t->lo, t->hi);
    }
}

static void write_nearest(const struct learn_model *n, FILE *fp)
{
    fprintf(fp,
            "header-bytes %u\n# server ADDR N TLS BASE QLO QHI [seg=SEG res=R,...] "
            "[rec=R oh=LO..HI [step=R]]\nservers %zu\n",
            n->header_bytes, n->n);
    for (size_t i = 0; i < n->n; i++) {
        const struct learn_server *s = &n->s[i];
        char a[FMT_ADDR_MAX];
        fmt_addr(a, s->server, s->ipver);
        fprintf(fp, "server %s %u %d %lld %.3f %.3f", a, s->n, s->tls, (long long)s->base,
                s->ppm[0], s->ppm[1]);
        for (int j = 0; s->resid.seg && j < s->resid.n; j++)
            fprintf(fp, j ? ",%u" : " seg=%u res=%u", j ? s->resid.r[j] : s->resid.seg,
                    s->resid.r[j]);
        if (s->rec.r)
            fprintf(fp, " rec=%u oh=%lld..%lld", s->rec.r, (long long)s->rec.lo,
                    (long long)s->rec.hi);
        if (s->rec.step)
            fprintf(fp, " step=%u", s->rec.step);
        fputc('\n', fp);
    }
}

/* Version 2 only where it says more than version 1 could: a reader of 1 takes the rest. */
static int model_version(const struct model *m)
{
    for (size_t i = 0; m->kind == MODEL_NEAREST && i < m->near.n; i++)
        if (m->near.s[i].resid.seg || m->near.s[i].rec.r)
            return 2;
    return 1;
}

int model_write(const struct model *m, FILE *fp)
{
    fprintf(fp, "%s %d\nkind %s\n", magic, model_version(m), model_kind_name(m->kind));
    if (m->kind == MODEL_NEAREST)
        write_nearest(&m->near, fp);
    else
        write_tree(m, fp);
    fputs("end\n", fp);
    if (fflush(fp) != 0 || ferror(fp))
        return -(errno ? errno : EIO);
    return 0;
}

/* ---- reader ---- */

struct rd {
    const char *name, *buf;
    size_t len, pos, lineno;
    char *line; /* current line, NUL-terminated copy */
    size_t cap;
    struct fs_err *err;
    int version; /* of the file, from its first line */
};

/* Next line that is not empty or a comment (line 1 excepted); 0 at the end. */
static int next_line(struct rd *r)
{
    while (r->pos < r->len) {
        const char *p = r->buf + r->pos, *nl = memchr(p, '\n', r->len - r->pos);
        size_t ll = nl ? (size_t)(nl - p) : r->len - r->pos;
        r->pos += ll + (nl != NULL);
        r->lineno++;
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (r->lineno > 1 && (ll == 0 || p[0] == '#'))
            continue;
        if (!r->line || ll + 1 > r->cap) {
            r->cap = ll + 1;
            r->line = xrealloc(r->line, r->cap);
        }
        memcpy(r->line, p, ll);
        r->line[ll] = '\0';
        return 1;
    }
    return 0;
}

static int bad(struct rd *r, int code, const char *what)
{
    return fs_err_set(r->err, code, (long long)r->lineno, "%s:%zu: %s", r->name, r->lineno, what);
}

/* "KEY VALUE" with a decimal VALUE <= max. */
static int keyed_u64(struct rd *r, const char *key, uint64_t max, uint64_t *v)
{
    size_t kl = strlen(key);
    char *end;
    if (!next_line(r))
        return fs_err_set(r->err, FS_ETRUNC, (long long)r->lineno + 1,
                          "%s:%zu: file ends where '%s' was expected", r->name, r->lineno + 1, key);
    const char *s = r->line + kl + 1;
    if (strncmp(r->line, key, kl) != 0 || r->line[kl] != ' ' || *s < '0' || *s > '9')
        return bad(r, FS_ECORRUPT, "expected a count or value after the keyword here");
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (*end || errno || *v > max)
        return bad(r, FS_ECORRUPT, "number out of range or followed by junk");
    return 0;
}

/* Split the current line at spaces into at most max fields. */
static size_t fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line; *p && n < max;) {
        f[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

static int u32_of(const char *s, uint32_t max, uint32_t *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno || x > max)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* Unescape a class name in place; -1 on a bad escape. */
static int unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        s++;
        if (*s == 'n')
            *o++ = '\n';
        else if (*s == 'r')
            *o++ = '\r';
        else if (*s == '\\')
            *o++ = '\\';
        else
            return -1;
    }
    *o = '\0';
    return 0;
}

static int read_classes(struct model *m, struct rd *r)
{
    uint64_t n = 0;
    int rc = keyed_u64(r, "classes", MODEL_MAX_CLASSES, &n);
    if (rc)
        return rc;
    if (n == 0)
        return bad(r, FS_ECORRUPT, "a tree needs at least one class");
    m->cls = xcalloc(n, sizeof(*m->cls));
    for (size_t i = 0; i < n; i++) {
        if (!next_line(r))
            return bad(r, FS_ETRUNC, "file ends inside the class list");
        if (strncmp(r->line, "class ", 6) != 0 || !r->line[6] || unescape(r->line + 6))
            return bad(r, FS_ECORRUPT, "expected 'class NAME' (escapes \\n \\r \\\\)");
        m->cls[m->ncls++] = xstrdup(r->line + 6);
    }
    return 0;
}

/* One node line into node i of the tree (checked against n nodes). */
static int read_node(struct model *m, struct rd *r, uint32_t i, uint32_t n)
{
    char *f[6], *end;
    size_t nf = fields(r->line, f, 6);
    struct eval_tnode *t = &m->tree.node[i];
    memset(t, 0, sizeof(*t));
    t->feat = -1;
    if (nf == 2 && strcmp(f[0], "leaf") == 0) {
        if (u32_of(f[1], (uint32_t)m->ncls - 1, &t->cls))
            return bad(r, FS_ECORRUPT, "leaf class is not a class id");
        return 0;
    }
    uint32_t feat;
    if (nf != 5 || strcmp(f[0], "split") != 0)
        return bad(r, FS_ECORRUPT, "expected 'split FEAT THR LO HI' or 'leaf CLASS'");
    if (u32_of(f[1], (uint32_t)m->tree.nfeat - 1, &feat))
        return bad(r, FS_ECORRUPT, "split feature out of range for this kind");
    t->feat = (int)feat;
    t->thr = strtod(f[2], &end);
    if (end == f[2] || *end || !isfinite(t->thr))
        return bad(r, FS_ECORRUPT, "split threshold is not a finite number");
    if (u32_of(f[3], n - 1, &t->lo) || u32_of(f[4], n - 1, &t->hi) || t->lo <= i || t->hi <= i)
        return bad(r, FS_ECORRUPT, "split children must be node ids after this node");
    return 0;
}

static int read_tree(struct model *m, struct rd *r)
{
    uint64_t n = 0;
    int rc = read_classes(m, r);
    if (!rc)
        rc = keyed_u64(r, "nodes", MODEL_MAX_NODES, &n);
    if (rc)
        return rc;
    if (n == 0)
        return bad(r, FS_ECORRUPT, "a tree needs at least one node");
    m->tree.nfeat = m->kind == MODEL_TREE_BP ? 2 : 1;
    m->tree.node = xcalloc(n, sizeof(*m->tree.node));
    m->tree.cap = n;
    for (uint32_t i = 0; i < n; i++, m->tree.n++) {
        if (!next_line(r))
            return bad(r, FS_ETRUNC, "file ends inside the node list");
        if ((rc = read_node(m, r, i, (uint32_t)n)) != 0)
            return rc;
    }
    return 0;
}

/* "res=R1,R2,..." of a version-2 server line: 1..16 residues below seg. */
static int read_resid(struct rd *r, char *list, struct match_resid *rz)
{
    for (char *p = list, *comma; p; p = comma ? comma + 1 : NULL) {
        if ((comma = strchr(p, ',')) != NULL)
            *comma = '\0';
        if (rz->n == MATCH_MAX_RES || u32_of(p, rz->seg - 1, &rz->r[rz->n]))
            return bad(r, FS_ECORRUPT,
                       "server: res= must be 1..16 numbers below seg=, comma-separated");
        rz->n++;
    }
    return 0;
}

/* "oh=LO..HI" of a version-2 server line: bytes within +-1000000, LO <= HI. */
static int read_range(struct rd *r, const char *v, struct match_rec *rc)
{
    char *e1, *e2;
    errno = 0;
    long long lo = strtoll(v, &e1, 10);
    if (e1 == v || e1[0] != '.' || e1[1] != '.')
        return bad(r, FS_ECORRUPT, "server: oh= must be LO..HI");
    long long hi = strtoll(e1 + 2, &e2, 10);
    if (*e2 || e2 == e1 + 2 || errno || lo < -1000000 || hi > 1000000 || lo > hi)
        return bad(r, FS_ECORRUPT, "server: oh= must be LO..HI bytes within +-1000000");
    rc->lo = lo;
    rc->hi = hi;
    return 0;
}

/* The version-2 tokens after QHI: seg= with res=, rec= with oh= (and perhaps step=),
 * each at most once. */
static int read_extras(struct rd *r, char **f, size_t nf, struct learn_server *s)
{
    char *res = NULL, *oh = NULL;
    for (size_t i = 0; i < nf; i++) {
        char *v = strchr(f[i], '=');
        if (!v)
            return bad(r, FS_ECORRUPT, "server: expected seg=, res=, rec=, oh= or step= after QHI");
        *v++ = '\0';
        if (strcmp(f[i], "seg") == 0 && !s->resid.seg) {
            if (u32_of(v, 1000000, &s->resid.seg) || s->resid.seg == 0)
                return bad(r, FS_ECORRUPT, "server: seg= must be bytes in 1..1000000");
        } else if (strcmp(f[i], "res") == 0 && !res) {
            res = v;
        } else if (strcmp(f[i], "rec") == 0 && !s->rec.r) {
            if (u32_of(v, 1000, &s->rec.r) || s->rec.r == 0)
                return bad(r, FS_ECORRUPT, "server: rec= must be bytes in 1..1000");
        } else if (strcmp(f[i], "oh") == 0 && !oh) {
            oh = v;
        } else if (strcmp(f[i], "step") == 0 && !s->rec.step) {
            if (u32_of(v, 1000, &s->rec.step) || s->rec.step == 0)
                return bad(r, FS_ECORRUPT, "server: step= must be bytes in 1..1000");
        } else {
            return bad(r, FS_ECORRUPT, "server: an unknown or repeated item before '='");
        }
    }
    if (!s->resid.seg != !res || !s->rec.r != !oh || (s->rec.step && !oh))
        return bad(r, FS_ECORRUPT, "server: seg= goes with res=, rec= with oh=, step= with both");
    int rc = res ? read_resid(r, res, &s->resid) : 0;
    if (!rc && oh)
        rc = read_range(r, oh, &s->rec);
    return rc;
}

/* "server ADDR N TLS BASE QLO QHI", in version 2 perhaps followed by read_extras' items */
static int read_server(struct rd *r, struct learn_server *s)
{
    char *f[12] = { 0 }, *e1, *e2, *e3;
    uint32_t tls;
    memset(s, 0, sizeof(*s));
    size_t nf = fields(r->line, f, 12);
    if (nf < 7 || nf > 11 || (nf > 7 && r->version < 2) || strcmp(f[0], "server") != 0)
        return bad(r, FS_ECORRUPT,
                   r->version >= 2 ? "expected 'server ADDR N TLS BASE QLO QHI [ITEM=VALUE ...]'"
                                   : "expected 'server ADDR N TLS BASE QLO QHI'");
    if (parse_addr(f[1], s->server, &s->ipver) != 0)
        return bad(r, FS_ECORRUPT, "server: not an IPv4 or IPv6 address");
    if (u32_of(f[2], UINT32_MAX, &s->n) || u32_of(f[3], 1, &tls))
        return bad(r, FS_ECORRUPT, "server: N must be a count and TLS 0 or 1");
    s->tls = (int)tls;
    errno = 0;
    long long b = strtoll(f[4], &e1, 10);
    s->ppm[0] = strtod(f[5], &e2);
    s->ppm[1] = strtod(f[6], &e3);
    if (*e1 || e1 == f[4] || errno || b < -1000000 || b > 1000000)
        return bad(r, FS_ECORRUPT, "server: BASE must be bytes within +-1000000");
    if (*e2 || *e3 || e2 == f[5] || e3 == f[6] || !(s->ppm[0] >= -1e6) || !(s->ppm[1] <= 1e6) ||
        !(s->ppm[0] <= s->ppm[1]))
        return bad(r, FS_ECORRUPT, "server: QLO..QHI must be ppm within +-1000000, QLO <= QHI");
    s->base = b;
    return read_extras(r, f + 7, nf - 7, s);
}

static int read_nearest(struct model *m, struct rd *r)
{
    uint64_t h = 0, n = 0;
    int rc = keyed_u64(r, "header-bytes", 200, &h);
    if (!rc)
        rc = keyed_u64(r, "servers", MODEL_MAX_SERVERS, &n);
    if (rc)
        return rc;
    m->near.header_bytes = (uint32_t)h;
    m->near.s = xcalloc(n ? n : 1, sizeof(*m->near.s));
    for (size_t i = 0; i < n; i++, m->near.n++) {
        if (!next_line(r))
            return bad(r, FS_ETRUNC, "file ends inside the server list");
        if ((rc = read_server(r, &m->near.s[i])) != 0)
            return rc;
    }
    if (learn_model_sort(&m->near) != 0)
        return bad(r, FS_ECORRUPT, "a server is listed twice");
    return 0;
}

static int read_head(struct model *m, struct rd *r)
{
    size_t ml = sizeof(magic) - 1;
    if (!next_line(r) || strncmp(r->line, magic, ml) != 0)
        return bad(r, FS_EFORMAT, "not a flowsleuth model (no '#flowsleuth-model 1')");
    if (strcmp(r->line + ml, " 1") == 0)
        r->version = 1;
    else if (strcmp(r->line + ml, " 2") == 0)
        r->version = 2;
    else
        return bad(r, FS_EVERSION, "unsupported model version (this build reads 1 and 2)");
    if (!next_line(r) || strncmp(r->line, "kind ", 5) != 0)
        return bad(r, FS_ECORRUPT, "expected 'kind tree|tree-bp|nearest'");
    int k = model_kind_parse(r->line + 5);
    if (k < 0)
        return bad(r, FS_ECORRUPT, "unknown kind (tree, tree-bp, nearest)");
    m->kind = (enum model_kind)k;
    return 0;
}

int model_parse(struct model *m, const char *name, const char *buf, size_t len, struct fs_err *err)
{
    struct rd r = { name, buf, len, 0, 0, NULL, 0, err, 0 };
    memset(m, 0, sizeof(*m));
    int rc = read_head(m, &r);
    if (!rc)
        rc = m->kind == MODEL_NEAREST ? read_nearest(m, &r) : read_tree(m, &r);
    if (!rc && !next_line(&r))
        rc = fs_err_set(err, FS_ETRUNC, (long long)r.lineno + 1,
                        "%s:%zu: file ends before 'end' (cut short?)", name, r.lineno + 1);
    else if (!rc && strcmp(r.line, "end") != 0)
        rc = bad(&r, FS_ECORRUPT, "expected 'end' (more items than counted?)");
    else if (!rc && next_line(&r))
        rc = bad(&r, FS_ECORRUPT, "text after 'end'");
    free(r.line);
    if (rc)
        model_free(m);
    return rc;
}

int model_load(struct model *m, const char *path, struct fs_err *err)
{
    char *buf;
    size_t len;
    memset(m, 0, sizeof(*m));
    int rc = catalog_read_file(path, (size_t)1 << 30, &buf, &len, err);
    if (rc)
        return rc;
    rc = model_parse(m, path, buf, len, err);
    free(buf);
    return rc;
}
