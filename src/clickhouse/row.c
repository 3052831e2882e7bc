/*
 * One flow as a RowBinary row of the flow table: every field of struct flow (but the
 * computed cid and the padding), little-endian, in the order of ch_cols, then the
 * batch id the sink checks before a resend (docs/internals/clickhouse.md).
 */
#include "../core/le.h"
#include "ch.h"

#include <string.h>

const struct ch_col ch_cols[] = {
    { "bin", "DateTime" },         { "exporter", "FixedString(16)" },
    { "first", "UInt64" },         { "last", "UInt64" },
    { "src", "FixedString(16)" },  { "dst", "FixedString(16)" },
    { "sport", "UInt16" },         { "dport", "UInt16" },
    { "proto", "UInt8" },          { "ipver", "UInt8" },
    { "bytes", "UInt64" },         { "packets", "UInt64" },
    { "rbytes", "UInt64" },        { "rpackets", "UInt64" },
    { "payload", "UInt64" },       { "rpayload", "UInt64" },
    { "goodput", "UInt64" },       { "rgoodput", "UInt64" },
    { "retrans", "UInt64" },       { "rretrans", "UInt64" },
    { "flags", "UInt8" },          { "rflags", "UInt8" },
    { "minlen", "UInt16" },        { "maxlen", "UInt16" },
    { "rminlen", "UInt16" },       { "rmaxlen", "UInt16" },
    { "in_if", "UInt32" },         { "out_if", "UInt32" },
    { "src_as", "UInt32" },        { "dst_as", "UInt32" },
    { "vlan", "UInt16" },          { "tos", "UInt8" },
    { "exchange", "UInt32" },      { "xsrc", "FixedString(16)" },
    { "xdst", "FixedString(16)" }, { "xsport", "UInt16" },
    { "xdport", "UInt16" },        { "fw_event", "UInt8" },
    { "fw_ext_event", "UInt16" },  { "nat_event", "UInt8" },
    { "ingress_acl", "UInt64" },   { "egress_acl", "UInt64" },
    { "batch", "UInt64" },
};
const size_t ch_ncols = sizeof(ch_cols) / sizeof(ch_cols[0]);

uint32_t ch_row_bin(const struct flow *f)
{
    uint64_t s = f->last / 1000;
    s -= s % 300;
    return s > UINT32_MAX ? UINT32_MAX - UINT32_MAX % 300 : (uint32_t)s;
}

uint32_t ch_row_day(const uint8_t row[CH_ROW])
{
    return get_le32(row + CH_ROW_BIN_OFF) / 86400;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    put_le64(p, v);
    return p + 8;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    put_le32(p, v);
    return p + 4;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    put_le16(p, v);
    return p + 2;
}

static uint8_t *put_addr(uint8_t *p, const uint8_t a[16])
{
    memcpy(p, a, 16);
    return p + 16;
}

void ch_row_encode(uint8_t out[CH_ROW], const struct flow *f, uint64_t batch)
{
    uint8_t *p = out;
    p = put32(p, ch_row_bin(f));
    p = put_addr(p, f->exporter);
    p = put64(p, f->first);
    p = put64(p, f->last);
    p = put_addr(p, f->src);
    p = put_addr(p, f->dst);
    p = put16(p, f->sport);
    p = put16(p, f->dport);
    *p++ = f->proto;
    *p++ = f->ipver;
    const uint64_t c[10] = { f->bytes,    f->packets, f->rbytes,   f->rpackets, f->payload,
                             f->rpayload, f->goodput, f->rgoodput, f->retrans,  f->rretrans };
    for (int i = 0; i < 10; i++)
        p = put64(p, c[i]);
    *p++ = f->flags;
    *p++ = f->rflags;
    p = put16(p, f->minlen);
    p = put16(p, f->maxlen);
    p = put16(p, f->rminlen);
    p = put16(p, f->rmaxlen);
    p = put32(p, f->in_if);
    p = put32(p, f->out_if);
    p = put32(p, f->src_as);
    p = put32(p, f->dst_as);
    p = put16(p, f->vlan);
    *p++ = f->tos;
    p = put32(p, f->exchange);
    p = put_addr(p, f->xsrc);
    p = put_addr(p, f->xdst);
    p = put16(p, f->xsport);
    p = put16(p, f->xdport);
    *p++ = f->fw_event;
    p = put16(p, f->fw_ext_event);
    *p++ = f->nat_event;
    p = put64(p, f->ingress_acl);
    p = put64(p, f->egress_acl);
    put64(p, batch);
}
