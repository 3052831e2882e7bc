/*
 * A row of the flow table as SELECT ch_read_columns() FORMAT RowBinary sends it, back
 * into a flow: row.c's encoding read the other way, without bin (the store derives it
 * from last) and batch (the sink's). Every byte comes from the network: the row size is
 * fixed, so the only checks are the length and the IP version a flow must have.
 */
#include "../core/le.h"
#include "ch.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char columns[1024];
static pthread_once_t columns_once = PTHREAD_ONCE_INIT;

static void columns_make(void)
{
    size_t len = 0;
    for (size_t i = 0; i < ch_ncols; i++) {
        const char *n = ch_cols[i].name;
        if (strcmp(n, "bin") == 0 || strcmp(n, "batch") == 0)
            continue;
        int k = snprintf(columns + len, sizeof(columns) - len, "%s%s", len ? ", " : "", n);
        if (k > 0)
            len += (size_t)k;
    }
}

const char *ch_read_columns(void)
{
    pthread_once(&columns_once, columns_make);
    return columns;
}

static const uint8_t *get64(const uint8_t *p, uint64_t *v)
{
    *v = get_le64(p);
    return p + 8;
}

static const uint8_t *get32(const uint8_t *p, uint32_t *v)
{
    *v = get_le32(p);
    return p + 4;
}

static const uint8_t *get16(const uint8_t *p, uint16_t *v)
{
    *v = get_le16(p);
    return p + 2;
}

static const uint8_t *get_addr(const uint8_t *p, uint8_t a[16])
{
    memcpy(a, p, 16);
    return p + 16;
}

/* The columns after the counters, from flags to egress_acl. */
static void decode_tail(const uint8_t *p, struct flow *f)
{
    f->flags = *p++;
    f->rflags = *p++;
    p = get16(p, &f->minlen);
    p = get16(p, &f->maxlen);
    p = get16(p, &f->rminlen);
    p = get16(p, &f->rmaxlen);
    p = get32(p, &f->in_if);
    p = get32(p, &f->out_if);
    p = get32(p, &f->src_as);
    p = get32(p, &f->dst_as);
    p = get16(p, &f->vlan);
    f->tos = *p++;
    p = get32(p, &f->exchange);
    p = get_addr(p, f->xsrc);
    p = get_addr(p, f->xdst);
    p = get16(p, &f->xsport);
    p = get16(p, &f->xdport);
    f->fw_event = *p++;
    p = get16(p, &f->fw_ext_event);
    f->nat_event = *p++;
    p = get64(p, &f->ingress_acl);
    get64(p, &f->egress_acl);
}

int ch_row_decode(const uint8_t row[CH_RROW], struct flow *f, struct fs_err *e)
{
    const uint8_t *p = row;
    memset(f, 0, sizeof(*f));
    p = get_addr(p, f->exporter);
    p = get64(p, &f->first);
    p = get64(p, &f->last);
    p = get_addr(p, f->src);
    p = get_addr(p, f->dst);
    p = get16(p, &f->sport);
    p = get16(p, &f->dport);
    f->proto = *p++;
    f->ipver = *p++;
    uint64_t *c[10] = { &f->bytes,    &f->packets, &f->rbytes,   &f->rpackets, &f->payload,
                        &f->rpayload, &f->goodput, &f->rgoodput, &f->retrans,  &f->rretrans };
    for (int i = 0; i < 10; i++)
        p = get64(p, c[i]);
    decode_tail(p, f);
    if (f->ipver != 4 && f->ipver != 6)
        return fs_err_set(e, FS_ECORRUPT, -1, "IP version %u (not a row of the flow table)",
                          f->ipver),
               -1;
    return 0;
}

/* One whole row at p: 0, 1 (stop) or -1. */
static int one(struct ch_rows *d, const uint8_t *p, struct fs_err *e)
{
    struct flow f;
    if (ch_row_decode(p, &f, e) != 0) {
        char what[sizeof(e->msg)];
        memcpy(what, e->msg, sizeof(what));
        fs_err_set(e, FS_ECORRUPT, (long long)d->rows * CH_RROW, "row %llu: %s",
                   (unsigned long long)d->rows + 1, what);
        return -1;
    }
    d->rows++;
    return d->flow(d->ctx, &f) ? 1 : 0;
}

int ch_rows_feed(struct ch_rows *d, const uint8_t *p, size_t n, struct fs_err *e)
{
    int rc = 0;
    if (d->npart) {
        size_t k = CH_RROW - d->npart < n ? CH_RROW - d->npart : n;
        memcpy(d->part + d->npart, p, k);
        d->npart += k;
        p += k;
        n -= k;
        if (d->npart < CH_RROW)
            return 0;
        d->npart = 0;
        rc = one(d, d->part, e);
    }
    for (; rc == 0 && n >= CH_RROW; p += CH_RROW, n -= CH_RROW)
        rc = one(d, p, e);
    if (rc == 0 && n) {
        memcpy(d->part, p, n);
        d->npart = n;
    }
    return rc;
}

int ch_rows_end(const struct ch_rows *d, struct fs_err *e)
{
    if (!d->npart)
        return 0;
    return fs_err_set(e, FS_ETRUNC, (long long)d->rows * CH_RROW,
                      "the answer ends %zu bytes into row %llu (rows are %d bytes: an error "
                      "after the first rows?)",
                      d->npart, (unsigned long long)d->rows + 1, CH_RROW),
           -1;
}
