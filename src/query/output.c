#include "output.h"

#include "../core/cid.h"
#include "../core/fmt.h"
#include "../core/fwnat.h"
#include "geo.h"
#include "labels.h"
#include "pdns.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

static const char *const default_table =
    "first,last,proto,src,sport,dst,dport,packets,bytes,rpackets,rbytes,rgoodput,flags,rflags";

const char *proto_name(uint8_t proto)
{
    switch (proto) {
    case 1:
        return "icmp";
    case 2:
        return "igmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 47:
        return "gre";
    case 50:
        return "esp";
    case 51:
        return "ah";
    case 58:
        return "icmp6";
    case 89:
        return "ospf";
    case 132:
        return "sctp";
    default:
        return NULL;
    }
}

/* Columns computed from the record rather than read from it (DESIGN.md: cid). */
static const struct field computed[] = {
    { "cid", FT_CID, 0, 0, 0, "Community ID v1 of the connection (--cid-seed)" },
    { "src_name", FT_NAME, offsetof(struct flow, src), 16, 0,
      "the DNS name src had at the flow's first packet (--pdns)" },
    { "dst_name", FT_NAME, offsetof(struct flow, dst), 16, 0,
      "the DNS name dst had at the flow's first packet (--pdns)" },
    { "label", FT_LABEL, 0, 0, 0, "the --label lists src or dst is in, joined by '+'" },
    { "src_cc", FT_CC, offsetof(struct flow, src), 16, 0, "the country of src (--mmdb)" },
    { "dst_cc", FT_CC, offsetof(struct flow, dst), 16, 0, "the country of dst (--mmdb)" },
    { "src_asn", FT_ASN, offsetof(struct flow, src), 16, 0, "the AS number of src (--mmdb)" },
    { "dst_asn", FT_ASN, offsetof(struct flow, dst), 16, 0, "the AS number of dst (--mmdb)" },
    { "src_asname", FT_ASNAME, offsetof(struct flow, src), 16, 0,
      "the organization of src's AS (--mmdb)" },
    { "dst_asname", FT_ASNAME, offsetof(struct flow, dst), 16, 0,
      "the organization of dst's AS (--mmdb)" },
};

const struct field *output_computed(size_t *n)
{
    *n = sizeof(computed) / sizeof(computed[0]);
    return computed;
}

static const struct field *column_find(const char *name)
{
    const struct field *fd = field_find(name);
    for (size_t i = 0; !fd && i < sizeof(computed) / sizeof(computed[0]); i++)
        if (strcmp(computed[i].name, name) == 0)
            fd = &computed[i];
    return fd;
}

static int parse_cols(struct output *o, const char *list, struct fs_err *err)
{
    char buf[1024];
    size_t len = strlen(list);
    if (len >= sizeof(buf))
        return fs_err_set(err, FS_EINVAL, -1, "format list too long");
    memcpy(buf, list, len + 1);
    o->ncols = 0;
    int names = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const struct field *fd = column_find(t);
        if (!fd)
            return fs_err_set(err, FS_EINVAL, -1, "unknown field '%s' in format", t);
        if (o->ncols == OUTPUT_MAX_COLS)
            return fs_err_set(err, FS_EINVAL, -1, "too many columns in format");
        o->cols[o->ncols++] = fd;
        /* Names take a line's room and a lookup each: a few are enough. */
        if (fd->type == FT_NAME && !pdns_current())
            return fs_err_set(err, FS_EINVAL, -1, "%s needs a passive DNS table: --pdns FILE", t);
        if (fd->type == FT_LABEL && labels_count() == 0)
            return fs_err_set(err, FS_EINVAL, -1, "%s needs an address list: --label FILE", t);
        if ((fd->type == FT_CC || fd->type == FT_ASN || fd->type == FT_ASNAME) && !geo_count())
            return fs_err_set(err, FS_EINVAL, -1, "%s needs a MaxMind database: --mmdb FILE", t);
        if ((fd->type == FT_NAME || fd->type == FT_LABEL) && ++names > 4)
            return fs_err_set(err, FS_EINVAL, -1, "at most 4 name and label columns in a format");
    }
    if (o->ncols == 0)
        return fs_err_set(err, FS_EINVAL, -1, "empty column list in format");
    return 0;
}

int output_init(struct output *o, const char *spec, int plain, FILE *fp, struct fs_err *err)
{
    memset(o, 0, sizeof(*o));
    o->plain = plain;
    o->fp = fp;
    static const struct {
        const char *name;
        enum output_mode mode;
    } modes[] = { { "table", OUT_TABLE },
                  { "fmt", OUT_TABLE },
                  { "csv", OUT_CSV },
                  { "tsv", OUT_TSV },
                  { "json", OUT_JSON } };
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strlen(modes[i].name) != n || strncmp(modes[i].name, spec, n) != 0)
            continue;
        o->mode = modes[i].mode;
        if (colon)
            return parse_cols(o, colon + 1, err);
        if (strcmp(modes[i].name, "fmt") == 0)
            return fs_err_set(err, FS_EINVAL, -1, "fmt: needs a list of fields");
        if (o->mode == OUT_TABLE)
            return parse_cols(o, default_table, err);
        for (size_t k = 0; k < nfields && k < OUTPUT_MAX_COLS; k++)
            o->cols[o->ncols++] = &fields[k];
        return 0;
    }
    return fs_err_set(err, FS_EINVAL, -1,
                      "unknown output format '%s' (table, csv, tsv, json, fmt:FIELDS)", spec);
}

/* 1234567 -> "1.2 M" (SI units, as people read link speeds and volumes). */
static size_t human(char *buf, uint64_t v)
{
    static const char units[] = " kMGTPE";
    if (v < 1000)
        return (size_t)snprintf(buf, 64, "%" PRIu64, v);
    double d = (double)v;
    int u = 0;
    while (d >= 999.95 && u < 6) {
        d /= 1000.0;
        u++;
    }
    return (size_t)snprintf(buf, 64, "%.1f %c", d, units[u]);
}

static size_t fmt_flags(char *buf, uint8_t fl)
{
    static const char names[] = "CEUAPRSF";
    for (int i = 0; i < 8; i++) {
        buf[i] = '.';
        if (fl & (0x80 >> i))
            buf[i] = names[i];
    }
    buf[8] = '\0';
    return 8;
}

/* Unsigned decimal without snprintf: CSV of millions of flows spends its time here. */
static size_t fmt_u64(char *buf, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return (size_t)n;
}

size_t output_field(char *buf, const struct field *fd, const struct flow *f, int hum)
{
    switch (fd->type) {
    case FT_ADDR:
        return fmt_addr(buf, field_get_addr(fd, f), f->ipver);
    case FT_EADDR:
        return fmt_addr(buf, field_get_addr(fd, f), 0);
    case FT_TIME:
        return fmt_time_ms(buf, field_get_u64(fd, f));
    case FT_PROTO: {
        const char *name = hum ? proto_name(f->proto) : NULL;
        if (name) {
            size_t len = strlen(name);
            memcpy(buf, name, len + 1);
            return len;
        }
        return fmt_u64(buf, f->proto);
    }
    case FT_FLAGS:
        if (hum)
            return fmt_flags(buf, (uint8_t)field_get_u64(fd, f));
        return fmt_u64(buf, field_get_u64(fd, f));
    case FT_NAME: {
        const char *name = pdns_name(pdns_current(), field_get_addr(fd, f), f->first);
        size_t len = name ? strlen(name) : 0;
        memcpy(buf, name ? name : "", len + 1);
        return len;
    }
    case FT_LABEL:
        return labels_format(f, buf);
    case FT_CC:
        if (!geo_cc(field_get_addr(fd, f), f->ipver, buf))
            buf[0] = '\0';
        return strlen(buf);
    case FT_ASN: {
        uint32_t asn;
        if (geo_asn(field_get_addr(fd, f), f->ipver, &asn))
            return fmt_u64(buf, asn);
        buf[0] = '\0';
        return 0;
    }
    case FT_ASNAME:
        return geo_asname(field_get_addr(fd, f), f->ipver, buf);
    case FT_CID: {
        uint8_t d[CID_DIGEST];
        cid_digest(f, cid_seed(), d);
        return cid_format(d, buf);
    }
    case FT_FWEV:
    case FT_NATEV: {
        unsigned v = (unsigned)field_get_u64(fd, f);
        const char *name = !hum ? NULL : fd->type == FT_FWEV ? fw_event_name(v) : nat_event_name(v);
        if (name) {
            size_t len = strlen(name);
            memcpy(buf, name, len + 1);
            return len;
        }
        return fmt_u64(buf, v);
    }
    case FT_ACL:
        return (size_t)acl_format(field_get_u64(fd, f), buf, 18);
    case FT_STR: { /* its alphabet needs no quoting in CSV nor escaping in JSON */
        const char *s = (const char *)f + fd->offset;
        size_t len = strnlen(s, fd->size);
        memcpy(buf, s, len);
        buf[len] = '\0';
        return len;
    }
    default:
        if (hum && (fd->kind & (FK_BYTES | FK_COUNT)))
            return human(buf, field_get_u64(fd, f));
        return fmt_u64(buf, field_get_u64(fd, f));
    }
}

/* Table column width per type: enough for typical values, IPv6 may overflow it. */
static int col_width(const struct field *fd)
{
    switch (fd->type) {
    case FT_TIME:
        return 24;
    case FT_ADDR:
    case FT_EADDR:
        return 15;
    case FT_PROTO:
        return 5;
    case FT_FLAGS:
        return 8;
    case FT_CID:
        return 30;
    case FT_NAME:
        return 24;
    case FT_LABEL:
        return 12;
    case FT_CC: /* the header's width: src_cc */
        return 6;
    case FT_ASN:
        return 10;
    case FT_ASNAME:
        return 24;
    case FT_ACL:
        return 17;
    case FT_STR:
        return 20;
    case FT_FWEV:
        return 7;
    case FT_NATEV:
        return 12;
    case FT_U16:
        return 5;
    case FT_U8:
        return 3;
    default:
        return 8;
    }
}

static int right_aligned(const struct field *fd)
{
    return fd->type != FT_ADDR && fd->type != FT_EADDR && fd->type != FT_TIME &&
           fd->type != FT_PROTO && fd->type != FT_FLAGS && fd->type != FT_CID &&
           fd->type != FT_NAME && fd->type != FT_FWEV && fd->type != FT_NATEV &&
           fd->type != FT_ACL && fd->type != FT_STR && fd->type != FT_LABEL && fd->type != FT_CC &&
           fd->type != FT_ASNAME;
}

/* printf width of table column i: negative = left-aligned; the last is not padded. */
static int table_width(const struct output *o, int i)
{
    const struct field *fd = o->cols[i];
    if (right_aligned(fd))
        return col_width(fd);
    return i == o->ncols - 1 && !o->extra ? 0 : -col_width(fd);
}

/* The extra columns' header cells (after the record's). */
static void extra_header(const struct output *o, char sep)
{
    const struct output_extra *x = o->extra;
    for (size_t i = 0; i < x->ncols; i++) {
        int w = x->numeric[i] ? x->widths[i] : i + 1 == x->ncols ? 0 : -x->widths[i];
        if (o->mode == OUT_TABLE)
            fprintf(o->fp, " %*s", w, x->names[i]);
        else
            fprintf(o->fp, "%c%s", sep, x->names[i]);
    }
}

/* One extra text cell: csv quotes a cell holding a comma, quote or line end (RFC 4180),
 * json escapes what RFC 8259 requires. */
static void extra_text(FILE *fp, const char *s, enum output_mode mode)
{
    int csv = mode == OUT_CSV && strpbrk(s, ",\"\r\n");
    if (mode != OUT_JSON && !csv) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"')
            fputs(csv ? "\"\"" : "\\\"", fp);
        else if (mode == OUT_JSON && *p == '\\')
            fputs("\\\\", fp);
        else if (mode == OUT_JSON && *p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

/* The extra cells of f, after the record's cells and before the line's end. */
static void extra_out(const struct output *o, const char **cells)
{
    const struct output_extra *x = o->extra;
    char sep = o->mode == OUT_TSV ? '\t' : ',';
    size_t n = x->ncols < OUTPUT_MAX_EXTRA ? x->ncols : OUTPUT_MAX_EXTRA;
    if (o->mode == OUT_TABLE) {
        /* Empty cells at the end are not padded: no trailing blanks on the line. */
        while (n && (!cells[n - 1] || !*cells[n - 1]))
            n--;
        for (size_t i = 0; i < n; i++) {
            int w = x->numeric[i] ? x->widths[i] : i + 1 == n ? 0 : -x->widths[i];
            fprintf(o->fp, " %*s", w, cells[i] ? cells[i] : "");
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = cells[i] ? cells[i] : "";
        if (o->mode == OUT_JSON)
            fprintf(o->fp, ",\"%s\":", x->names[i]);
        else
            fputc(sep, o->fp);
        if (o->mode == OUT_JSON && !*s)
            fputs("null", o->fp);
        else if (x->numeric[i])
            fputs(s, o->fp);
        else
            extra_text(o->fp, s, o->mode);
    }
}

static void extra_row(const struct output *o, const struct flow *f)
{
    const char *cells[OUTPUT_MAX_EXTRA] = { 0 };
    o->extra->cells(o->extra->ctx, f, cells);
    extra_out(o, cells);
}

/* csv/tsv: f's extra cells appended to line (n bytes used of cap) when none needs
 * quoting and all fit, as they nearly always do (a row without alerts is ",0,,,,"),
 * which spares a stdio call a cell; else they are written after the line so far. */
static void extra_sep(const struct output *o, const struct flow *f, char *line, size_t *n,
                      size_t cap)
{
    const struct output_extra *x = o->extra;
    const char *cells[OUTPUT_MAX_EXTRA] = { 0 };
    x->cells(x->ctx, f, cells);
    size_t k = x->ncols < OUTPUT_MAX_EXTRA ? x->ncols : OUTPUT_MAX_EXTRA, m = *n;
    char sep = o->mode == OUT_TSV ? '\t' : ',';
    for (size_t i = 0; i < k; i++) {
        const char *c = cells[i] ? cells[i] : "";
        size_t len = strlen(c);
        if (m + 1 + len + 2 > cap || (o->mode == OUT_CSV && strpbrk(c, ",\"\r\n"))) {
            fwrite(line, 1, *n, o->fp);
            *n = 0;
            extra_out(o, cells);
            return;
        }
        line[m++] = sep;
        for (size_t j = 0; j < len; j++) /* no NUL: the line is written by length */
            line[m++] = c[j];
    }
    *n = m;
}

static void header(struct output *o)
{
    o->header_done = 1;
    if (o->mode == OUT_JSON)
        return;
    for (int i = 0; i < o->ncols; i++) {
        const struct field *fd = o->cols[i];
        if (o->mode == OUT_TABLE)
            fprintf(o->fp, "%s%*s", i ? " " : "", table_width(o, i), fd->name);
        else
            fprintf(o->fp, "%s%s", i ? (o->mode == OUT_CSV ? "," : "\t") : "", fd->name);
    }
    if (o->extra)
        extra_header(o, o->mode == OUT_CSV ? ',' : '\t');
    fputc('\n', o->fp);
}

int output_field_quoted(const struct field *fd)
{
    return fd->type == FT_ADDR || fd->type == FT_EADDR || fd->type == FT_TIME ||
           fd->type == FT_CID || fd->type == FT_ACL || fd->type == FT_NAME || fd->type == FT_STR ||
           fd->type == FT_LABEL || fd->type == FT_CC || fd->type == FT_ASNAME;
}

static int is_geo(const struct field *fd)
{
    return fd->type == FT_CC || fd->type == FT_ASN || fd->type == FT_ASNAME;
}

/*
 * A --mmdb cell of csv or json: an organization is free text (commas, quotes, a
 * backslash), so csv quotes it when needed (RFC 4180) and json escapes it (RFC 8259:
 * geo.c has made it UTF-8 without control bytes); json says null when unknown.
 */
static size_t geo_cell(char *buf, const struct field *fd, const struct flow *f,
                       enum output_mode mode)
{
    char t[OUTPUT_FIELD_MAX];
    size_t len = output_field(t, fd, f, 0);
    if (mode == OUT_JSON && len == 0) {
        memcpy(buf, "null", 5);
        return 4;
    }
    if (fd->type == FT_ASN || (mode != OUT_JSON && (mode != OUT_CSV || !strpbrk(t, ",\"")))) {
        memcpy(buf, t, len + 1);
        return len;
    }
    size_t n = 0;
    buf[n++] = '"';
    for (size_t k = 0; k < len; k++) {
        if (t[k] == '"' || (t[k] == '\\' && mode == OUT_JSON))
            buf[n++] = mode == OUT_JSON ? '\\' : '"';
        buf[n++] = t[k];
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return n;
}

size_t output_json_value(char *buf, const struct field *fd, const struct flow *f)
{
    if (is_geo(fd))
        return geo_cell(buf, fd, f, OUT_JSON);
    int q = output_field_quoted(fd);
    size_t n = 0;
    if (q)
        buf[n++] = '"';
    n += output_field(buf + n, fd, f, 0);
    if (q)
        buf[n++] = '"';
    buf[n] = '\0';
    return n;
}

static void row_table(struct output *o, const struct flow *f)
{
    char buf[OUTPUT_FIELD_MAX];
    for (int i = 0; i < o->ncols; i++) {
        const struct field *fd = o->cols[i];
        output_field(buf, fd, f,
                     !o->plain || fd->type == FT_PROTO || fd->type == FT_FLAGS ||
                         fd->type == FT_FWEV || fd->type == FT_NATEV);
        fprintf(o->fp, "%s%*s", i ? " " : "", table_width(o, i), buf);
    }
    if (o->extra)
        extra_row(o, f);
    fputc('\n', o->fp);
}

/* A row of the longest fields, with JSON's names, quotes and commas: fits, whatever the
 * format repeats (sni 64 times, say). */
#define LINE_MAX_BYTES (OUTPUT_MAX_COLS * (OUTPUT_FIELD_MAX + 48))

static void row_sep(struct output *o, const struct flow *f, char sep)
{
    char line[LINE_MAX_BYTES];
    size_t n = 0;
    for (int i = 0; i < o->ncols; i++) {
        if (i)
            line[n++] = sep;
        if (is_geo(o->cols[i]))
            n += geo_cell(line + n, o->cols[i], f, o->mode);
        else
            n += output_field(line + n, o->cols[i], f, 0);
    }
    if (o->extra)
        extra_sep(o, f, line, &n, sizeof(line));
    line[n++] = '\n';
    fwrite(line, 1, n, o->fp);
}

/*
 * A name or label cell of json: null when the flow has none. Looked up once, written in
 * place after its key (a name table or address lists are the costly part of a row).
 */
static size_t json_known(char *buf, size_t cap, const struct field *fd, const struct flow *f, int i)
{
    size_t n = (size_t)snprintf(buf, cap, "%s\"%s\":", i ? "," : "", fd->name);
    char *cell = buf + n + 1;
    size_t len;
    int known;
    if (fd->type == FT_NAME) {
        const char *name = pdns_name(pdns_current(), field_get_addr(fd, f), f->first);
        known = name != NULL;
        len = known ? strlen(name) : 0;
        if (known)
            memcpy(cell, name, len);
    } else {
        len = labels_format(f, cell);
        known = len > 0; /* a list's name is never empty */
    }
    if (!known)
        return n + (size_t)snprintf(buf + n, cap - n, "null");
    buf[n] = '"';
    cell[len] = '"';
    return n + len + 2;
}

static void row_json(struct output *o, const struct flow *f)
{
    char line[LINE_MAX_BYTES];
    size_t n = 0;
    line[n++] = '{';
    for (int i = 0; i < o->ncols; i++) {
        const struct field *fd = o->cols[i];
        int quoted = output_field_quoted(fd);
        if (is_geo(fd)) {
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"%s\":", i ? "," : "", fd->name);
            n += geo_cell(line + n, fd, f, OUT_JSON);
            continue;
        }
        if (fd->type == FT_NAME || fd->type == FT_LABEL) {
            n += json_known(line + n, sizeof(line) - n, fd, f, i);
            continue;
        }
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"%s\":%s", i ? "," : "", fd->name,
                              quoted ? "\"" : "");
        n += output_field(line + n, fd, f, 0);
        if (quoted)
            line[n++] = '"';
    }
    if (o->extra) {
        fwrite(line, 1, n, o->fp);
        extra_row(o, f);
        n = 0;
    }
    line[n++] = '}';
    line[n++] = '\n';
    fwrite(line, 1, n, o->fp);
}

void output_flow(struct output *o, const struct flow *f)
{
    if (!o->header_done)
        header(o);
    o->rows++;
    switch (o->mode) {
    case OUT_TABLE:
        row_table(o, f);
        break;
    case OUT_CSV:
        row_sep(o, f, ',');
        break;
    case OUT_TSV:
        row_sep(o, f, '\t');
        break;
    case OUT_JSON:
        row_json(o, f);
        break;
    }
    /* errno now, while it still says why: stdio keeps only the error flag. */
    if (!o->werr && ferror(o->fp))
        o->werr = errno ? errno : EIO;
}

void output_finish(struct output *o)
{
    if (!o->header_done)
        header(o);
    fflush(o->fp);
}

int output_check(struct output *o, const char *name, struct fs_err *err)
{
    errno = 0;
    int bad = fflush(o->fp) != 0;
    if (!bad && !ferror(o->fp))
        return 0;
    int rc = -(o->werr ? o->werr : bad && errno ? errno : EIO);
    return fs_err_set(err, rc, -1, "%s: write: %s", name, fs_strerror(rc));
}
