/*
 * fsgen: deterministic test pcaps for flowsleuth's tests and benchmarks.
 *
 *   fsgen mix OUT.pcap (--flows N | --packets P) [options]
 *       many interleaved TCP and UDP flows, IPv4 and IPv6, with per-flow ground truth
 *   fsgen download OUT.pcap --size BYTES [options]
 *       one HTTP-like TCP connection as a server-side capture sees it, with downstream
 *       loss (retransmissions), sequence wrap and keep-alive exchanges
 *   fsgen series OUT --weeks W [--spike H] [--drop H] [--gap H] [options]
 *       flow records (not packets) straight into a flowsleuth store: weeks of traffic
 *       with a diurnal and a weekly shape and injected anomalies, for baseline/anomaly
 *   fsgen mmdb OUT.mmdb --kind country|asn [options]
 *       a small MaxMind DB file of a fixed table of networks (mmdb_write.c), for --mmdb
 *
 * Output is classic pcap (little-endian header, microsecond timestamps, LINKTYPE_ETHERNET)
 * written by hand. Everything derives from --seed through a private xorshift64* generator
 * and integer arithmetic only, so a given command line gives the same bytes on every
 * machine. OUT may be "-" for stdout. The pcap modes use only libc; series writes
 * through flowsleuth's store writer.
 */
#include "../../src/core/flow.h"
#include "../../src/core/tz.h"
#include "../../src/store/store.h"
#include "mmdb_write.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN   14
#define IP4_HLEN   20
#define IP6_HLEN   40
#define UDP_HLEN   8
#define TCP_HLEN   20
#define MAX_PAY    65000
#define OUTBUF_CAP (4u << 20)

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* TCP options carried by a packet (bit mask). */
#define O_MSS 0x1 /* MSS (SYN only) */
#define O_TS  0x2 /* timestamps */
#define O_WS  0x4 /* window scale (SYN only) */

static const char *prog = "fsgen";

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", prog, msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

/* ---------------------------------------------------------------- PRNG (xorshift64*) */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_seeded(uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    uint64_t s = splitmix64(&x);
    return s ? s : 0x1234567887654321ull;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) (modulo bias is irrelevant here); 0 when n == 0. */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return n ? (rng_next(s) >> 11) % n : 0;
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(s, hi - lo + 1);
}

/* Piecewise log-uniform in [2^lo_bits, 2^hi_bits). */
static uint64_t rng_logu(uint64_t *s, unsigned lo_bits, unsigned hi_bits)
{
    unsigned e = lo_bits + (unsigned)rng_below(s, hi_bits - lo_bits);
    return (1ull << e) + rng_below(s, 1ull << e);
}

/* 1 with probability ppm / 1e6. */
static int rng_chance(uint64_t *s, uint32_t ppm)
{
    return rng_below(s, 1000000) < ppm;
}

/* ---------------------------------------------------------------- pcap output */

struct out {
    FILE *f;
    const char *name;
    uint8_t *buf;
    size_t len;
    uint32_t snap;       /* 0 = whole packets */
    uint64_t file_bytes; /* pcap bytes written */
    uint64_t packets;
    uint64_t ip_bytes;
    uint64_t last_ts;
};

static void out_flush(struct out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        die("write failed", o->name);
    o->file_bytes += o->len;
    o->len = 0;
}

static void put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void out_open(struct out *o, const char *path, uint32_t snap)
{
    memset(o, 0, sizeof(*o));
    o->name = path;
    o->snap = snap;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
    } else {
        o->f = fopen(path, "wb");
        if (!o->f)
            die(strerror(errno), path);
    }
    o->buf = malloc(OUTBUF_CAP);
    if (!o->buf)
        die("out of memory", NULL);
    uint8_t *h = o->buf;
    put_le32(h, 0xa1b2c3d4); /* microsecond timestamps */
    put_le16(h + 4, 2);
    put_le16(h + 6, 4);
    put_le32(h + 8, 0);                     /* thiszone */
    put_le32(h + 12, 0);                    /* sigfigs */
    put_le32(h + 16, snap ? snap : 262144); /* snaplen */
    put_le32(h + 20, 1);                    /* LINKTYPE_ETHERNET */
    o->len = 24;
}

static void out_close(struct out *o)
{
    out_flush(o);
    if (o->f == stdout ? fflush(o->f) != 0 : fclose(o->f) != 0)
        die("write failed", o->name);
    free(o->buf);
    o->buf = NULL;
}

/* One packet to build: addresses are 4 (v4) or 16 bytes. */
struct pk {
    uint64_t ts_us;
    const uint8_t *src, *dst;
    const uint8_t *smac, *dmac;
    const uint8_t *pl; /* payload bytes, NULL = zeros */
    uint32_t plen;
    uint32_t seq, ack;
    uint32_t tsval, tsecr;
    uint16_t sport, dport;
    uint16_t win, mss, ipid;
    uint8_t v6, proto, flags, opts, wscale, ttl, tos;
};

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        sum += (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Header length of the transport header for these options. */
static uint32_t tcp_hlen(uint8_t opts)
{
    uint32_t n = TCP_HLEN;
    if (opts & O_MSS)
        n += 4;
    if (opts & O_TS)
        n += 12;
    if (opts & O_WS)
        n += 4;
    return n;
}

static void out_packet(struct out *o, const struct pk *p)
{
    uint8_t h[ETH_HLEN + IP6_HLEN + 60];
    uint32_t iph = p->v6 ? IP6_HLEN : IP4_HLEN;
    uint32_t l4h = p->proto == 6 ? tcp_hlen(p->opts) : UDP_HLEN;
    uint32_t l4len = l4h + p->plen;
    uint32_t iplen = iph + l4len;
    uint32_t hl = ETH_HLEN + iph + l4h;
    uint8_t *e = h, *ip = h + ETH_HLEN, *l4 = ip + iph;

    if (p->ts_us < o->last_ts)
        die("internal error: time went backwards", NULL);
    o->last_ts = p->ts_us;

    memcpy(e, p->dmac, 6);
    memcpy(e + 6, p->smac, 6);
    put_be16(e + 12, p->v6 ? 0x86dd : 0x0800);

    uint32_t sum = 0;
    if (p->v6) {
        put_be32(ip, 0x60000000u | (uint32_t)p->tos << 20 | (p->sport ^ p->dport ^ 0x5a5a5u));
        put_be16(ip + 4, l4len);
        ip[6] = p->proto;
        ip[7] = p->ttl;
        memcpy(ip + 8, p->src, 16);
        memcpy(ip + 24, p->dst, 16);
        sum = csum_add(0, ip + 8, 32);
        sum += l4len + p->proto;
    } else {
        ip[0] = 0x45;
        ip[1] = p->tos;
        put_be16(ip + 2, iplen);
        put_be16(ip + 4, p->ipid);
        put_be16(ip + 6, 0x4000); /* DF */
        ip[8] = p->ttl;
        ip[9] = p->proto;
        put_be16(ip + 10, 0);
        memcpy(ip + 12, p->src, 4);
        memcpy(ip + 16, p->dst, 4);
        put_be16(ip + 10, csum_fold(csum_add(0, ip, IP4_HLEN)));
        sum = csum_add(0, ip + 12, 8);
        sum += l4len + p->proto;
    }

    put_be16(l4, p->sport);
    put_be16(l4 + 2, p->dport);
    uint8_t *ck;
    if (p->proto == 6) {
        put_be32(l4 + 4, p->seq);
        put_be32(l4 + 8, (p->flags & F_ACK) ? p->ack : 0);
        l4[12] = (uint8_t)((l4h / 4) << 4);
        l4[13] = p->flags;
        put_be16(l4 + 14, p->win);
        put_be16(l4 + 16, 0);
        put_be16(l4 + 18, 0);
        uint8_t *op = l4 + TCP_HLEN;
        if (p->opts & O_MSS) {
            op[0] = 2;
            op[1] = 4;
            put_be16(op + 2, p->mss);
            op += 4;
        }
        if (p->opts & O_TS) {
            op[0] = 1;
            op[1] = 1;
            op[2] = 8;
            op[3] = 10;
            put_be32(op + 4, p->tsval);
            put_be32(op + 8, p->tsecr);
            op += 12;
        }
        if (p->opts & O_WS) {
            op[0] = 1;
            op[1] = 3;
            op[2] = 3;
            op[3] = p->wscale;
        }
        ck = l4 + 16;
    } else {
        put_be16(l4 + 4, l4len);
        put_be16(l4 + 6, 0);
        ck = l4 + 6;
    }
    sum = csum_add(sum, l4, l4h);
    if (p->pl)
        sum = csum_add(sum, p->pl, p->plen);
    uint16_t c = csum_fold(sum);
    if (p->proto == 17 && c == 0)
        c = 0xffff;
    put_be16(ck, c);

    uint32_t wire = ETH_HLEN + iplen;
    uint32_t cap = (o->snap && wire > o->snap) ? o->snap : wire;
    if (o->len + 16 + cap > OUTBUF_CAP)
        out_flush(o);
    uint8_t *r = o->buf + o->len;
    put_le32(r, (uint32_t)(p->ts_us / 1000000));
    put_le32(r + 4, (uint32_t)(p->ts_us % 1000000));
    put_le32(r + 8, cap);
    put_le32(r + 12, wire);
    r += 16;
    uint32_t nh = cap < hl ? cap : hl;
    memcpy(r, h, nh);
    if (cap > hl) {
        if (p->pl)
            memcpy(r + hl, p->pl, cap - hl);
        else
            memset(r + hl, 0, cap - hl);
    }
    o->len += 16 + cap;
    o->packets++;
    o->ip_bytes += iplen;
}

/* ---------------------------------------------------------------- arguments */

static uint64_t parse_u64(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        die("bad number for option", opt);
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        die("bad number for option", opt);
    return v;
}

/* A percentage such as "3" or "0.5" to parts per million. */
static uint32_t parse_pct_ppm(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    if (!s || !*s)
        die("bad percentage for option", opt);
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0.0) || v > 100.0)
        die("bad percentage for option", opt);
    return (uint32_t)(v * 10000.0 + 0.5);
}

static const char *need_val(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        die("option needs a value", argv[*i]);
    return argv[++*i];
}

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0x00, 0x5e, 0x20, 0x00, 0x02 };

static void addr_str(char *buf, size_t n, int v6, const uint8_t *a)
{
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)n))
        snprintf(buf, n, "?");
}

/* ================================================================ mix */

enum phase { P_SYN, P_SYNACK, P_HSACK, P_REQ, P_RESP, P_CACK, P_FIN1, P_FIN2, P_FIN3 };
enum kind { K_TCP, K_DOWNLOAD, K_DNS, K_NTP, K_QUIC };

struct mflow {
    uint64_t plan;      /* PRNG for sizes (replayable for counting) */
    uint64_t trng;      /* PRNG for timing */
    uint64_t cnt[2][3]; /* [dir][packets, ip bytes, payload]; dir 0 = client -> server */
    uint32_t idx;
    uint32_t cseq, sseq; /* next sequence number each side sends */
    uint32_t rtt, gap;   /* microseconds */
    uint32_t tsbase;
    uint32_t req_left, resp_left;
    uint32_t dsegs, segi, nacks;
    uint32_t cli, srv;
    uint16_t sport, dport, seg, ipid[2];
    uint8_t v6, proto, phase, tsopt, exch_left, kind, srv_close;
};

struct mix {
    struct out o;
    FILE *truth;
    uint64_t seed;
    uint64_t nflows;   /* 0 = unlimited (use --packets) */
    uint64_t npackets; /* planned packet budget, 0 = none */
    uint32_t v6_ppm, udp_ppm;
    uint32_t ppf;  /* exact packets per flow, 0 = realistic mix */
    uint64_t rate; /* new flows per second */
    uint64_t start_us;
    uint64_t created, finished, planned;
    uint64_t nv6, nudp, ndl;
    /* flow pool + heap ordered by next packet time */
    struct mflow *pool;
    uint32_t *freel;
    uint32_t nfree, cap;
    struct hent {
        uint64_t t;
        uint32_t slot;
    } * heap;
    uint32_t hn, hpeak;
};

#define NCLI 16384u
#define NSRV 4096u

static void cli_addr(uint8_t *a, int v6, uint32_t c)
{
    memset(a, 0, 16);
    if (v6) {
        static const uint8_t p[8] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc1, 0x00, 0x00 };
        memcpy(a, p, 8);
        put_be32(a + 12, c + 2);
    } else {
        a[0] = 10;
        a[1] = 1;
        a[2] = (uint8_t)(c / 250);
        a[3] = (uint8_t)(c % 250 + 2);
    }
}

static void srv_addr(uint8_t *a, int v6, uint32_t s)
{
    memset(a, 0, 16);
    if (v6) {
        static const uint8_t p[8] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0x00, 0x00 };
        memcpy(a, p, 8);
        put_be32(a + 12, s + 2);
    } else {
        a[0] = 198;
        a[1] = 18;
        a[2] = (uint8_t)(s / 250);
        a[3] = (uint8_t)(s % 250 + 2);
    }
}

/* Draw the request and response sizes of the next exchange from f->plan. */
static void mix_draw_exchange(const struct mix *m, struct mflow *f, uint32_t *req, uint32_t *resp)
{
    uint64_t *s = &f->plan;
    if (m->ppf) {
        uint32_t k = m->ppf;
        if (f->proto == 6) {
            /* SYN, SYN-ACK, ACK, request, M response packets, FIN, FIN, ACK */
            uint32_t mm = k - 7, d = (2 * mm + 2) / 3;
            *req = (uint32_t)rng_range(s, 150, 700);
            *resp = (d - 1) * f->seg + (uint32_t)rng_range(s, 1, f->seg);
        } else {
            *req = (uint32_t)rng_range(s, 30, 90);
            *resp = k > 1 ? (k - 2) * f->seg + (uint32_t)rng_range(s, 1, f->seg) : 0;
        }
        return;
    }
    switch (f->kind) {
    case K_DOWNLOAD:
        *req = (uint32_t)rng_range(s, 180, 600);
        *resp = (uint32_t)rng_range(s, 200, 1200) * f->seg - (uint32_t)rng_below(s, f->seg);
        break;
    case K_TCP:
        *req = rng_chance(s, 50000) ? (uint32_t)rng_range(s, 2000, 20000)
                                    : (uint32_t)rng_range(s, 90, 800);
        *resp = (uint32_t)rng_logu(s, 7, 16);
        break;
    case K_DNS:
        *req = (uint32_t)rng_range(s, 28, 90);
        *resp = (uint32_t)rng_range(s, 45, 500);
        break;
    case K_NTP:
        *req = 48;
        *resp = 48;
        break;
    default: /* K_QUIC */
        *req = f->seg * (uint32_t)rng_range(s, 1, 2);
        *resp = (uint32_t)rng_logu(s, 10, 20);
        break;
    }
}

/* Response segment count and client ACK count for a response of resp bytes. */
static void mix_resp_plan(const struct mix *m, const struct mflow *f, uint32_t resp, uint32_t *d,
                          uint32_t *a)
{
    *d = (resp + f->seg - 1) / f->seg;
    if (m->ppf) {
        uint32_t mm = f->proto == 6 ? m->ppf - 7 : m->ppf - 1;
        *a = mm - *d;
    } else if (f->proto == 6) {
        *a = (*d + 1) / 2;
    } else if (f->kind == K_QUIC) {
        *a = *d / 4;
    } else {
        *a = 0;
    }
}

static uint64_t mix_count_packets(const struct mix *m, struct mflow *f)
{
    uint64_t saved = f->plan, n = f->proto == 6 ? 6 : 0;
    for (unsigned e = 0; e < f->exch_left; e++) {
        uint32_t req, resp, d, a;
        mix_draw_exchange(m, f, &req, &resp);
        mix_resp_plan(m, f, resp, &d, &a);
        n += (req + f->seg - 1) / f->seg + d + a;
    }
    f->plan = saved;
    return n;
}

static void mix_start_exchange(const struct mix *m, struct mflow *f)
{
    uint32_t req, resp;
    mix_draw_exchange(m, f, &req, &resp);
    f->req_left = req;
    f->resp_left = resp;
    mix_resp_plan(m, f, resp, &f->dsegs, &f->nacks);
    f->segi = 0;
    f->phase = P_REQ;
}

static void mix_new_flow(struct mix *m, struct mflow *f, uint64_t *g)
{
    memset(f, 0, sizeof(*f));
    uint32_t idx = (uint32_t)m->created;
    f->idx = idx;
    f->plan = rng_seeded(m->seed, 2 * (uint64_t)idx + 1);
    f->trng = rng_seeded(m->seed, 2 * (uint64_t)idx + 2);
    f->v6 = (uint8_t)rng_chance(g, m->v6_ppm);
    int udp = m->ppf && m->ppf < 8 ? 1 : rng_chance(g, m->udp_ppm);
    f->cli = idx % NCLI;
    f->sport = (uint16_t)(1024 + ((uint64_t)(idx / NCLI) * 7919u) % 64512u);
    uint32_t a = (uint32_t)rng_below(g, NSRV), b = (uint32_t)rng_below(g, NSRV);
    f->srv = a < b ? a : b; /* popular servers first */
    f->rtt = (uint32_t)rng_range(g, 2000, 120000);
    f->gap = (uint32_t)rng_range(g, 60, 3000);
    f->tsbase = (uint32_t)rng_next(g);
    f->ipid[0] = (uint16_t)rng_next(g);
    f->ipid[1] = (uint16_t)rng_next(g);
    f->exch_left = 1;
    if (udp) {
        f->proto = 17;
        uint64_t r = rng_below(g, 100);
        if (m->ppf)
            f->kind = m->ppf == 2 ? K_DNS : K_QUIC;
        else
            f->kind = r < 60 ? K_DNS : r < 75 ? K_NTP : K_QUIC;
        f->dport = f->kind == K_DNS ? 53 : f->kind == K_NTP ? 123 : 443;
        f->seg = f->kind == K_QUIC ? (f->v6 ? 1232 : 1252) : 1472;
        m->nudp++;
    } else {
        f->proto = 6;
        f->tsopt = (uint8_t)rng_chance(g, 700000);
        f->seg = (uint16_t)((f->v6 ? 1440 : 1460) - (f->tsopt ? 12 : 0));
        f->cseq = (uint32_t)rng_next(g);
        f->sseq = (uint32_t)rng_next(g);
        f->srv_close = (uint8_t)rng_chance(g, 300000);
        uint64_t r = rng_below(g, 1000);
        f->dport = r < 700 ? 443 : r < 950 ? 80 : r < 980 ? 22 : 8080;
        if (!m->ppf && rng_chance(g, 20000)) {
            f->kind = K_DOWNLOAD;
            m->ndl++;
        } else {
            f->kind = K_TCP;
            if (!m->ppf && rng_chance(g, 200000))
                f->exch_left = (uint8_t)rng_range(g, 2, 5);
        }
        if (f->dport == 22 && !m->ppf)
            f->exch_left = (uint8_t)(f->exch_left + rng_range(g, 3, 20));
    }
    if (f->v6)
        m->nv6++;
    m->planned += mix_count_packets(m, f);
    if (f->proto == 6)
        f->phase = P_SYN;
    else
        mix_start_exchange(m, f);
    m->created++;
}

/* Emit one packet of flow f at time now, return its next packet time or 0 when done. */
static uint64_t mix_step(struct mix *m, struct mflow *f, uint64_t now)
{
    uint8_t ca[16], sa[16];
    struct pk p;
    int dir = 0; /* 0 = client -> server */
    uint64_t next = 0;
    uint64_t *r = &f->trng;
    int end_ex = 0;

    memset(&p, 0, sizeof(p));
    cli_addr(ca, f->v6, f->cli);
    srv_addr(sa, f->v6, f->srv);
    p.ts_us = now;
    p.v6 = f->v6;
    p.proto = f->proto;
    p.opts = f->tsopt ? O_TS : 0;
    p.win = f->tsopt ? 501 : 64240; /* scaled by 2^7 with timestamps (and window scale) */

    switch (f->phase) {
    case P_SYN:
        p.flags = F_SYN;
        p.seq = f->cseq++;
        p.opts |= O_MSS | (f->tsopt ? O_WS : 0);
        p.win = 64240;
        f->phase = P_SYNACK;
        next = now + f->rtt;
        break;
    case P_SYNACK:
        dir = 1;
        p.flags = F_SYN | F_ACK;
        p.seq = f->sseq++;
        p.opts |= O_MSS | (f->tsopt ? O_WS : 0);
        p.win = 65160;
        f->phase = P_HSACK;
        next = now + rng_range(r, 20, 300);
        break;
    case P_HSACK:
        p.flags = F_ACK;
        p.seq = f->cseq;
        mix_start_exchange(m, f);
        next = now + rng_range(r, 30, 800);
        break;
    case P_REQ: {
        uint32_t n = f->req_left < f->seg ? f->req_left : f->seg;
        p.flags = F_ACK | (n == f->req_left ? F_PSH : 0);
        p.seq = f->cseq;
        p.plen = n;
        f->cseq += n;
        f->req_left -= n;
        if (f->req_left) {
            next = now + 15;
        } else if (!f->resp_left) {
            end_ex = 1;
        } else {
            f->phase = P_RESP;
            next = now + f->rtt + rng_range(r, 10, 2000);
        }
        break;
    }
    case P_RESP: {
        uint32_t n = f->resp_left < f->seg ? f->resp_left : f->seg;
        dir = 1;
        p.flags = F_ACK | (n == f->resp_left ? F_PSH : 0);
        p.seq = f->sseq;
        p.plen = n;
        f->sseq += n;
        f->resp_left -= n;
        uint32_t j = f->segi++;
        int ack_due = (uint64_t)(j + 1) * f->nacks / f->dsegs > (uint64_t)j * f->nacks / f->dsegs;
        if (ack_due) {
            f->phase = P_CACK;
            next = now + f->gap / 4;
        } else if (f->resp_left) {
            next = now + f->gap;
        } else {
            end_ex = 1;
        }
        break;
    }
    case P_CACK:
        p.flags = F_ACK;
        p.seq = f->cseq;
        if (f->proto == 17)
            p.plen = (uint32_t)rng_range(r, 25, 45);
        if (f->resp_left) {
            f->phase = P_RESP;
            next = now + f->gap - f->gap / 4;
        } else {
            end_ex = 1;
        }
        break;
    case P_FIN1:
        dir = f->srv_close;
        p.flags = F_FIN | F_ACK;
        p.seq = dir ? f->sseq++ : f->cseq++;
        f->phase = P_FIN2;
        next = now + (dir ? rng_range(r, 50, 3000) : f->rtt);
        break;
    case P_FIN2:
        dir = !f->srv_close;
        p.flags = F_FIN | F_ACK;
        p.seq = dir ? f->sseq++ : f->cseq++;
        f->phase = P_FIN3;
        next = now + (dir ? rng_range(r, 10, 200) : f->rtt);
        break;
    case P_FIN3:
        dir = f->srv_close;
        p.flags = F_ACK;
        p.seq = dir ? f->sseq : f->cseq;
        next = 0;
        break;
    }
    if (end_ex) {
        if (--f->exch_left) {
            mix_start_exchange(m, f);
            next =
                now + (f->dport == 22 ? rng_range(r, 20000, 3000000) : rng_range(r, 1000, 2000000));
        } else if (f->proto == 6) {
            f->phase = P_FIN1;
            next = now + (f->srv_close ? rng_range(r, 100, 5000) : rng_range(r, 1000, 300000));
        } else {
            next = 0;
        }
    }

    if (f->kind == K_DNS && p.plen >= 12) {
        /* DNS header: the flow's ID, query or response flags, no records */
        static uint8_t dns[1500];
        put_be16(dns, (uint16_t)(f->idx * 2654435761u >> 16));
        put_be16(dns + 2, dir ? 0x8180 : 0x0100);
        p.pl = dns;
    }
    if (f->proto == 17)
        p.opts = 0;
    p.ack = dir ? f->cseq : f->sseq;
    p.src = dir ? sa : ca;
    p.dst = dir ? ca : sa;
    p.sport = dir ? f->dport : f->sport;
    p.dport = dir ? f->sport : f->dport;
    p.smac = dir ? mac_b : mac_a;
    p.dmac = dir ? mac_a : mac_b;
    p.ttl = dir ? 52 : 63;
    p.ipid = f->ipid[dir]++;
    p.mss = (uint16_t)(f->v6 ? 1440 : 1460);
    p.wscale = 7;
    p.tsval = f->tsbase + (dir ? 0x40000000u : 0) + (uint32_t)(now / 1000);
    p.tsecr = f->tsbase + (dir ? 0 : 0x40000000u) + (uint32_t)((now - f->rtt / 2) / 1000);
    if (p.flags & F_SYN && !dir)
        p.tsecr = 0;
    out_packet(&m->o, &p);
    f->cnt[dir][0]++;
    f->cnt[dir][1] +=
        (p.v6 ? IP6_HLEN : IP4_HLEN) + (p.proto == 6 ? tcp_hlen(p.opts) : UDP_HLEN) + p.plen;
    f->cnt[dir][2] += p.plen;
    return next;
}

static void mix_truth(struct mix *m, const struct mflow *f)
{
    if (!m->truth)
        return;
    uint8_t ca[16], sa[16];
    char cs[64], ss[64];
    cli_addr(ca, f->v6, f->cli);
    srv_addr(sa, f->v6, f->srv);
    addr_str(cs, sizeof(cs), f->v6, ca);
    addr_str(ss, sizeof(ss), f->v6, sa);
    fprintf(m->truth,
            "%s,%s,%u,%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
            "\n",
            cs, ss, f->sport, f->dport, f->proto, f->cnt[0][0], f->cnt[0][1], f->cnt[1][0],
            f->cnt[1][1], f->cnt[0][2], f->cnt[1][2]);
}

static void heap_up(struct mix *m, uint32_t i)
{
    struct hent e = m->heap[i];
    while (i) {
        uint32_t pa = (i - 1) / 2;
        if (m->heap[pa].t <= e.t)
            break;
        m->heap[i] = m->heap[pa];
        i = pa;
    }
    m->heap[i] = e;
}

static void heap_down(struct mix *m, uint32_t i)
{
    struct hent e = m->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= m->hn)
            break;
        if (c + 1 < m->hn && m->heap[c + 1].t < m->heap[c].t)
            c++;
        if (m->heap[c].t >= e.t)
            break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    m->heap[i] = e;
}

static uint32_t mix_alloc(struct mix *m)
{
    if (!m->nfree) {
        uint32_t ncap = m->cap ? m->cap * 2 : 4096;
        struct mflow *np = realloc(m->pool, (size_t)ncap * sizeof(*np));
        uint32_t *nf = realloc(m->freel, (size_t)ncap * sizeof(*nf));
        struct hent *nh = realloc(m->heap, (size_t)ncap * sizeof(*nh));
        if (!np || !nf || !nh)
            die("out of memory", NULL);
        m->pool = np;
        m->freel = nf;
        m->heap = nh;
        for (uint32_t i = ncap; i > m->cap; i--)
            m->freel[m->nfree++] = i - 1;
        m->cap = ncap;
    }
    return m->freel[--m->nfree];
}

static void usage_mix(FILE *fp)
{
    fprintf(fp,
            "usage: fsgen mix OUT.pcap (--flows N | --packets P) [options]\n"
            "  --flows N            number of flows\n"
            "  --packets P          start flows until about P packets are planned\n"
            "  --seed S             PRNG seed (default 1)\n"
            "  --v6 PCT             share of IPv6 flows (default 20)\n"
            "  --udp PCT            share of UDP flows (default 15)\n"
            "  --start EPOCHSEC     time of the first packet (default 1700000000)\n"
            "  --rate R             new flows per second (default 5000)\n"
            "  --packets-per-flow K every flow has exactly K packets (TCP needs K >= 8;\n"
            "                       with K < 8 all flows are UDP)\n"
            "  --snap N             store at most N bytes of each packet (default: all)\n"
            "  --truth FILE.csv     per-flow ground truth: src,dst,sport,dport,proto,packets,\n"
            "                       bytes,rpackets,rbytes,payload,rpayload (in order of the\n"
            "                       flows' last packets; IP bytes, payload = transport payload)\n");
}

static int cmd_mix(int argc, char **argv)
{
    struct mix m;
    const char *outp = NULL, *truthp = NULL;
    uint32_t snap = 0;

    memset(&m, 0, sizeof(m));
    m.seed = 1;
    m.v6_ppm = 200000;
    m.udp_ppm = 150000;
    m.rate = 5000;
    m.start_us = 1700000000ull * 1000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_mix(stdout);
            return 0;
        } else if (strcmp(a, "--flows") == 0) {
            m.nflows = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--packets") == 0) {
            m.npackets = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--seed") == 0) {
            m.seed = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--v6") == 0) {
            m.v6_ppm = parse_pct_ppm(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--udp") == 0) {
            m.udp_ppm = parse_pct_ppm(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--start") == 0) {
            m.start_us = parse_u64(a, need_val(argc, argv, &i)) * 1000000;
        } else if (strcmp(a, "--rate") == 0) {
            m.rate = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--packets-per-flow") == 0) {
            m.ppf = (uint32_t)parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--snap") == 0) {
            snap = (uint32_t)parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--truth") == 0) {
            truthp = need_val(argc, argv, &i);
        } else if (a[0] == '-' && a[1]) {
            usage_mix(stderr);
            die("unknown option", a);
        } else if (!outp) {
            outp = a;
        } else {
            die("extra argument", a);
        }
    }
    if (!outp || (!m.nflows && !m.npackets)) {
        usage_mix(stderr);
        return 2;
    }
    if (m.nflows > 0xffffffffull)
        die("too many flows", NULL);
    if (!m.rate)
        die("--rate must be positive", NULL);
    if (snap && snap < 128)
        die("--snap must be at least 128", NULL);
    out_open(&m.o, outp, snap);
    if (truthp) {
        m.truth = fopen(truthp, "w");
        if (!m.truth)
            die(strerror(errno), truthp);
        static char tbuf[1 << 16];
        setvbuf(m.truth, tbuf, _IOFBF, sizeof(tbuf));
        fprintf(m.truth,
                "src,dst,sport,dport,proto,packets,bytes,rpackets,rbytes,payload,rpayload\n");
    }

    uint64_t g = rng_seeded(m.seed, 0);
    uint64_t mean_gap = 1000000 / m.rate, next_arrival = m.start_us;
    for (;;) {
        int more = m.nflows ? m.created < m.nflows : m.planned < m.npackets;
        if (more && (m.hn == 0 || next_arrival <= m.heap[0].t)) {
            uint32_t slot = mix_alloc(&m);
            mix_new_flow(&m, &m.pool[slot], &g);
            m.heap[m.hn].t = next_arrival;
            m.heap[m.hn].slot = slot;
            heap_up(&m, m.hn++);
            if (m.hn > m.hpeak)
                m.hpeak = m.hn;
            next_arrival += mean_gap ? rng_below(&g, 2 * mean_gap + 1) : 0;
            continue;
        }
        if (m.hn == 0)
            break;
        struct hent *top = &m.heap[0];
        struct mflow *f = &m.pool[top->slot];
        uint64_t nt = mix_step(&m, f, top->t);
        if (nt) {
            top->t = nt;
            heap_down(&m, 0);
        } else {
            mix_truth(&m, f);
            m.freel[m.nfree++] = top->slot;
            m.finished++;
            m.heap[0] = m.heap[--m.hn];
            if (m.hn)
                heap_down(&m, 0);
        }
    }
    out_close(&m.o);
    if (m.truth && fclose(m.truth) != 0)
        die("write failed", truthp);
    fprintf(stderr,
            "fsgen mix: flows=%" PRIu64 " packets=%" PRIu64 " ip_bytes=%" PRIu64
            " pcap_bytes=%" PRIu64 " v6_flows=%" PRIu64 " udp_flows=%" PRIu64 " downloads=%" PRIu64
            " peak_active=%u seconds=%.3f\n",
            m.created, m.o.packets, m.o.ip_bytes, m.o.file_bytes, m.nv6, m.nudp, m.ndl, m.hpeak,
            (double)(m.o.last_ts - m.start_us) / 1e6);
    free(m.pool);
    free(m.freel);
    free(m.heap);
    return 0;
}

/* ================================================================ download */

struct dl {
    struct out o;
    uint64_t rng;
    uint8_t ca[16], sa[16];
    uint16_t cport, sport;
    uint16_t ipid[2];
    uint8_t v6;
    uint32_t cisn, sisn;
    uint64_t coff, soff;      /* payload bytes each side has sent (new data) */
    uint32_t cts, sts;        /* TS clock bases */
    uint32_t srv_last_cli_ts; /* latest client TSval the server saw */
    uint32_t mss, rtt, gap, rto;
    uint32_t loss_ppm;
    uint64_t size, req;
    char rhdr[160];
    uint32_t rhdr_len;
    char qbuf[9100];
    uint64_t retx_bytes, retx_segs, lost;
    uint64_t pkts[2], pay[2];
};

/* Emit one packet; dir 0 = client -> server. */
static void dl_emit(struct dl *d, int dir, uint64_t t, uint8_t flags, uint32_t seq, uint32_t ack,
                    const uint8_t *pl, uint32_t plen, uint32_t tsecr)
{
    struct pk p;
    memset(&p, 0, sizeof(p));
    p.ts_us = t;
    p.v6 = d->v6;
    p.proto = 6;
    p.src = dir ? d->sa : d->ca;
    p.dst = dir ? d->ca : d->sa;
    p.smac = dir ? mac_b : mac_a;
    p.dmac = dir ? mac_a : mac_b;
    p.sport = dir ? d->sport : d->cport;
    p.dport = dir ? d->cport : d->sport;
    p.flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.pl = pl;
    p.plen = plen;
    p.opts = O_TS | ((flags & F_SYN) ? O_MSS | O_WS : 0);
    p.mss = (uint16_t)(d->v6 ? 1440 : 1460);
    p.wscale = 7;
    p.win = (flags & F_SYN) ? 65160 : dir ? 509 : 3000;
    p.tsval = (dir ? d->sts : d->cts) + (uint32_t)(t / 1000);
    p.tsecr = tsecr;
    p.ttl = dir ? 64 : 52;
    p.ipid = d->ipid[dir]++;
    out_packet(&d->o, &p);
    if (!dir)
        d->srv_last_cli_ts = p.tsval;
    d->pkts[dir]++;
    d->pay[dir] += plen;
}

/* Server segment of response bytes [x, x+len) of one exchange, materialised into buf. */
static const uint8_t *dl_resp_bytes(const struct dl *d, uint64_t x, uint32_t len, uint8_t *buf)
{
    if (x >= d->rhdr_len)
        return NULL; /* zeros */
    memset(buf, 0, len);
    uint64_t n = d->rhdr_len - x;
    memcpy(buf, d->rhdr + x, n < len ? n : len);
    return buf;
}

struct qent {
    uint64_t t;
    uint64_t v; /* segment index (to client) or ack offset (to server) */
    uint32_t ts1, ts2;
};

struct fifo {
    struct qent *e;
    size_t head, tail, cap;
};

static void fifo_push(struct fifo *q, uint64_t t, uint64_t v, uint32_t ts1, uint32_t ts2)
{
    if (q->tail == q->cap) {
        if (q->head) {
            memmove(q->e, q->e + q->head, (q->tail - q->head) * sizeof(*q->e));
            q->tail -= q->head;
            q->head = 0;
        } else {
            q->cap = q->cap ? q->cap * 2 : 1024;
            q->e = realloc(q->e, q->cap * sizeof(*q->e));
            if (!q->e)
                die("out of memory", NULL);
        }
    }
    if (q->tail > q->head && q->e[q->tail - 1].t > t)
        t = q->e[q->tail - 1].t; /* keep FIFO order (only retransmissions can clash) */
    q->e[q->tail].t = t;
    q->e[q->tail].v = v;
    q->e[q->tail].ts1 = ts1;
    q->e[q->tail].ts2 = ts2;
    q->tail++;
}

#define NEVER UINT64_MAX

static uint64_t fifo_t(const struct fifo *q)
{
    return q->head < q->tail ? q->e[q->head].t : NEVER;
}

/*
 * One response of d->size bytes, starting with the server's first segment at time t.
 * Returns the time of the last packet. Event-driven: the server paces new segments every
 * gap; a lost segment reaches the capture (server side) but not the client; the client
 * ACKs every second in-order segment (40 ms delayed ACK otherwise), and every
 * out-of-order segment at once (duplicate ACK); the server retransmits the segment at
 * the cumulative ACK on the third duplicate ACK, on a partial ACK once all new data is
 * sent (no later than RTT + RTT/4 after the last new segment), or after an RTO
 * (200 ms + RTT). Retransmissions are never lost.
 */
static uint64_t dl_response(struct dl *d, uint64_t t)
{
    uint64_t size = d->size, mss = d->mss;
    uint64_t nseg = (size + mss - 1) / mss;
    uint8_t *st = calloc(nseg ? nseg : 1, 1); /* bit0 lost, bit1 retx queued/sent, bit2 rcvd */
    struct fifo qc = { 0 }, qa = { 0 }, qr = { 0 };
    static uint8_t buf[MAX_PAY];
    uint32_t base = d->sisn + 1 + (uint32_t)d->soff;
    uint32_t cack = d->cisn + 1 + (uint32_t)d->coff;
    uint64_t next_new = 0, t_new = t, t_last = t, rto_t = NEVER, dack_t = NEVER, last = t;
    uint64_t snd_una = 0, snd_max = 0, rcv_idx = 0, unacked = 0, dupacks = 0;
    uint32_t cli_srv_ts = 0; /* latest server TSval the client received */

    if (!st)
        die("out of memory", NULL);
    for (;;) {
        uint64_t ta = fifo_t(&qa), tc = fifo_t(&qc), tr = fifo_t(&qr);
        uint64_t tn = next_new < nseg ? t_new : NEVER;
        uint64_t tm = ta;
        int ev = 0;
        if (tc < tm)
            tm = tc, ev = 1;
        if (dack_t < tm)
            tm = dack_t, ev = 2;
        if (tr < tm)
            tm = tr, ev = 3;
        if (tn < tm)
            tm = tn, ev = 4;
        if (rto_t < tm)
            tm = rto_t, ev = 5;
        if (tm == NEVER)
            break;
        uint64_t now = tm;
        if (ev == 0) { /* client ACK reaches the server: captured */
            struct qent e = qa.e[qa.head++];
            dl_emit(d, 0, now, F_ACK, cack, base + (uint32_t)e.v, NULL, 0, e.ts2);
            last = now;
            if (e.v > snd_una) {
                snd_una = e.v;
                dupacks = 0;
                rto_t = snd_una < snd_max ? now + d->rto : NEVER;
                uint64_t i = snd_una / mss;
                if (next_new == nseg && snd_una < size && (st[i] & 3) == 1) {
                    /* partial ACK after the last new segment: retransmit once the
                       segment is overdue by RTT + RTT/4 (RACK's reordering window) */
                    uint64_t when = t_last + d->rtt + d->rtt / 4;
                    st[i] |= 2;
                    fifo_push(&qr, when > now + 12 ? when : now + 12, i, 0, 0);
                }
            } else if (e.v == snd_una && snd_una < snd_max) {
                uint64_t i = snd_una / mss;
                if (++dupacks == 3 && (st[i] & 3) == 1) {
                    st[i] |= 2;
                    fifo_push(&qr, now + 12, i, 0, 0);
                }
            }
        } else if (ev == 1 || ev == 2) { /* segment reaches the client, or delayed ACK */
            int send = ev == 2;
            if (ev == 1) {
                struct qent e = qc.e[qc.head++];
                uint64_t i = e.v;
                cli_srv_ts = e.ts1;
                if (st[i] & 4) {
                    send = 1; /* duplicate: ACK at once */
                } else if (i == rcv_idx) {
                    st[i] |= 4;
                    while (rcv_idx < nseg && (st[rcv_idx] & 4))
                        rcv_idx++;
                    unacked++;
                    if (rcv_idx > i + 1 || unacked >= 2 || rcv_idx == nseg)
                        send = 1;
                    else if (dack_t == NEVER)
                        dack_t = now + 40000;
                } else {
                    st[i] |= 4;
                    send = 1; /* out of order: duplicate ACK */
                }
            }
            if (send) {
                uint64_t ackoff = rcv_idx == nseg ? size : rcv_idx * mss;
                uint32_t tsv = d->cts + (uint32_t)(now / 1000);
                fifo_push(&qa, now + d->rtt / 2, ackoff, tsv, cli_srv_ts);
                unacked = 0;
                dack_t = NEVER;
            }
        } else { /* server sends: new segment, queued retransmission or RTO */
            uint64_t i;
            int retx = ev != 4;
            if (ev == 4) {
                i = next_new++;
                t_new += d->gap;
                t_last = now;
            } else if (ev == 3) {
                i = qr.e[qr.head++].v;
            } else {
                i = snd_una / mss;
                rto_t = now + d->rto;
                if ((st[i] & 3) != 1)
                    continue;
                st[i] |= 2;
            }
            uint64_t x = i * mss;
            uint32_t len = (uint32_t)(x + mss <= size ? mss : size - x);
            uint8_t fl = F_ACK | (i == nseg - 1 ? F_PSH : 0);
            dl_emit(d, 1, now, fl, base + (uint32_t)x, cack, dl_resp_bytes(d, x, len, buf), len,
                    d->srv_last_cli_ts);
            last = now;
            uint32_t tsv = d->sts + (uint32_t)(now / 1000);
            if (retx) {
                d->retx_bytes += len;
                d->retx_segs++;
                fifo_push(&qc, now + d->rtt / 2, i, tsv, 0);
            } else if (d->loss_ppm && rng_chance(&d->rng, d->loss_ppm)) {
                st[i] |= 1; /* lost downstream of the capture */
                d->lost++;
            } else {
                fifo_push(&qc, now + d->rtt / 2, i, tsv, 0);
            }
            if (x + len > snd_max)
                snd_max = x + len;
            if (rto_t == NEVER)
                rto_t = now + d->rto;
        }
    }
    d->soff += size;
    free(st);
    free(qc.e);
    free(qa.e);
    free(qr.e);
    return last;
}

static void usage_download(FILE *fp)
{
    fprintf(fp, "usage: fsgen download OUT.pcap --size BYTES [options]\n"
                "  --size BYTES      response payload bytes per exchange\n"
                "  --mss N           server segment size (default 1448, 1428 with --v6)\n"
                "  --loss PCT        each first transmission of a server segment is lost\n"
                "                    downstream of the capture with this probability\n"
                "  --seed S          PRNG seed (default 1)\n"
                "  --isn N           server initial sequence number (default from seed)\n"
                "  --v6              IPv6 instead of IPv4\n"
                "  --exchanges K     K request/response pairs on the connection (default 1)\n"
                "  --request BYTES   request payload per exchange (default 120)\n"
                "  --rtt US          round-trip time in microseconds (default 1000)\n"
                "  --rate MBPS       server pacing in Mbit/s (default 100)\n"
                "  --start EPOCHSEC  time of the SYN (default 1700000000)\n"
                "prints key=value totals to stderr: response (per exchange), request (per\n"
                "exchange), retrans_bytes, retrans_segs, server_payload (incl. retransmissions),\n"
                "client_payload, packets\n");
}

static int cmd_download(int argc, char **argv)
{
    struct dl d;
    const char *outp = NULL;
    uint64_t exchanges = 1, start = 1700000000, isn = 0, mss = 0, rate = 100;
    int have_isn = 0, have_size = 0;

    memset(&d, 0, sizeof(d));
    uint64_t seed = 1;
    d.req = 120;
    d.rtt = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_download(stdout);
            return 0;
        } else if (strcmp(a, "--size") == 0) {
            d.size = parse_u64(a, need_val(argc, argv, &i));
            have_size = 1;
        } else if (strcmp(a, "--mss") == 0) {
            mss = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--loss") == 0) {
            d.loss_ppm = parse_pct_ppm(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--seed") == 0) {
            seed = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--isn") == 0) {
            isn = parse_u64(a, need_val(argc, argv, &i));
            have_isn = 1;
        } else if (strcmp(a, "--v6") == 0) {
            d.v6 = 1;
        } else if (strcmp(a, "--exchanges") == 0) {
            exchanges = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--request") == 0) {
            d.req = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--rtt") == 0) {
            d.rtt = (uint32_t)parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--rate") == 0) {
            rate = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--start") == 0) {
            start = parse_u64(a, need_val(argc, argv, &i));
        } else if (a[0] == '-' && a[1]) {
            usage_download(stderr);
            die("unknown option", a);
        } else if (!outp) {
            outp = a;
        } else {
            die("extra argument", a);
        }
    }
    if (!outp || !have_size) {
        usage_download(stderr);
        return 2;
    }
    if (!mss)
        mss = d.v6 ? 1428 : 1448;
    if (mss < 64 || mss > 9000)
        die("--mss must be 64..9000", NULL);
    if (d.req < 1 || d.req > mss)
        die("--request must be 1..MSS", NULL);
    if (isn > 0xffffffffull)
        die("--isn must fit 32 bits", NULL);
    if (!exchanges || exchanges > 100000)
        die("--exchanges must be 1..100000", NULL);
    if (!rate || d.rtt < 10)
        die("--rate and --rtt must be positive", NULL);
    d.mss = (uint32_t)mss;
    /* serialisation time of one full IP packet at the pacing rate, at least 1 us */
    uint64_t ipsize = mss + 32 + (d.v6 ? IP6_HLEN : IP4_HLEN);
    d.gap = (uint32_t)(ipsize * 8 / rate);
    if (!d.gap)
        d.gap = 1;
    d.rto = 200000 + d.rtt;

    d.rng = rng_seeded(seed, 99);
    d.cisn = (uint32_t)rng_next(&d.rng);
    d.sisn = have_isn ? (uint32_t)isn : (uint32_t)rng_next(&d.rng);
    d.cport = (uint16_t)rng_range(&d.rng, 32768, 60999);
    d.sport = 80;
    d.cts = (uint32_t)rng_next(&d.rng);
    d.sts = (uint32_t)rng_next(&d.rng);
    d.ipid[0] = (uint16_t)rng_next(&d.rng);
    d.ipid[1] = (uint16_t)rng_next(&d.rng);
    if (d.v6) {
        static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                        0,    0,    0,    0,    0, 0, 0, 0x10 };
        static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                        0,    0,    0,    0,    0, 0, 0, 0x80 };
        memcpy(d.ca, c6, 16);
        memcpy(d.sa, s6, 16);
    } else {
        static const uint8_t c4[4] = { 192, 0, 2, 10 };
        static const uint8_t s4[4] = { 198, 51, 100, 80 };
        memcpy(d.ca, c4, 4);
        memcpy(d.sa, s4, 4);
    }

    /* HTTP response header at the start of each response, sized to BYTES in total. */
    d.rhdr_len = 0;
    for (int pass = 0; pass < 3; pass++) {
        uint64_t body = d.size > d.rhdr_len ? d.size - d.rhdr_len : 0;
        int n = snprintf(d.rhdr, sizeof(d.rhdr),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Length: %" PRIu64 "\r\n\r\n",
                         body);
        d.rhdr_len = (uint32_t)n;
    }
    if (d.size < d.rhdr_len)
        d.rhdr_len = 0; /* too small for a header: zeros only */

    out_open(&d.o, outp, 0);
    uint64_t t = start * 1000000;
    uint32_t cisn = d.cisn, sisn = d.sisn;
    /* handshake as the server sees it: the client's SYN, our SYN-ACK 20 us later, the
       client's ACK one RTT after that */
    dl_emit(&d, 0, t, F_SYN, cisn, 0, NULL, 0, 0);
    t += 20;
    dl_emit(&d, 1, t, F_SYN | F_ACK, sisn, cisn + 1, NULL, 0, d.srv_last_cli_ts);
    t += d.rtt;
    dl_emit(&d, 0, t, F_ACK, cisn + 1, sisn + 1, NULL, 0, d.sts + (uint32_t)((t - d.rtt) / 1000));
    t += 40;
    for (uint64_t e = 0; e < exchanges; e++) {
        uint8_t *q = (uint8_t *)d.qbuf;
        int n =
            snprintf(d.qbuf, sizeof(d.qbuf),
                     "GET /fsgen/%" PRIu64 "-%" PRIu64 ".bin HTTP/1.1\r\nHost: dl.example.test\r\n"
                     "X-Pad: ",
                     d.size, e);
        if (n < 0 || (uint64_t)n + 4 > d.req) {
            memset(d.qbuf, 'q', d.req); /* too short for HTTP */
        } else {
            memset(d.qbuf + n, 'a', d.req - (uint64_t)n - 4);
            memcpy(d.qbuf + d.req - 4, "\r\n\r\n", 4);
        }
        uint32_t sack = sisn + 1 + (uint32_t)d.soff;
        dl_emit(&d, 0, t, F_PSH | F_ACK, cisn + 1 + (uint32_t)d.coff, sack, q, (uint32_t)d.req,
                d.sts + (uint32_t)((t - d.rtt / 2) / 1000));
        d.coff += d.req;
        t = dl_response(&d, t + 35);
        t += d.rtt / 2 + 500; /* client think time before the next request or the close */
    }
    /* the client closes; the server answers FIN at once; the last ACK comes one RTT later */
    uint32_t cfin = cisn + 1 + (uint32_t)d.coff, sfin = sisn + 1 + (uint32_t)d.soff;
    dl_emit(&d, 0, t, F_FIN | F_ACK, cfin, sfin, NULL, 0, d.sts + (uint32_t)((t - d.rtt) / 1000));
    t += 25;
    dl_emit(&d, 1, t, F_FIN | F_ACK, sfin, cfin + 1, NULL, 0, d.srv_last_cli_ts);
    t += d.rtt;
    dl_emit(&d, 0, t, F_ACK, cfin + 1, sfin + 1, NULL, 0, d.sts + (uint32_t)((t - d.rtt) / 1000));
    out_close(&d.o);

    fprintf(stderr,
            "fsgen download: exchanges=%" PRIu64 " response=%" PRIu64 " request=%" PRIu64
            " retrans_bytes=%" PRIu64 " retrans_segs=%" PRIu64 " server_payload=%" PRIu64
            " client_payload=%" PRIu64 " packets=%" PRIu64 " server_packets=%" PRIu64
            " client_packets=%" PRIu64 " mss=%u isn=%u\n",
            exchanges, d.size, d.req, d.retx_bytes, d.retx_segs, d.pay[1], d.pay[0], d.o.packets,
            d.pkts[1], d.pkts[0], d.mss, d.sisn);
    return 0;
}

/* ================================================================ series */

/*
 * Flows per hour = peak x diurnal(hour) x weekly(day) (per mille each) x a noise of
 * +-5 %, all in integers; an hour named by --spike gets 5 times its flows, --drop a
 * fifth, --gap none. Every flow lies inside its hour (under a second long), so counts
 * per hour are exact. --start must be a Monday 00:00 UTC; the shape's hours and days
 * are UTC, or local in --tz (whose offset changes then move the traffic in UTC).
 */
#define SERIES_MAX_ANOM 32

static const uint32_t diurnal_pm[24] = { 200,  200,  200,  200,  200,  200,  400,  600,
                                         850,  1000, 1000, 1000, 1000, 1000, 1000, 1000,
                                         1000, 850,  650,  500,  400,  350,  300,  250 };
static const uint32_t weekly_pm[7] = { 1000, 1000, 1000, 1000, 1000, 450, 400 }; /* Mon.. */

struct series_anom {
    uint64_t hour;
    char kind; /* 's' spike, 'd' drop, 'g' gap */
};

struct series {
    uint64_t start_s, weeks, peak, seed;
    struct tz tz; /* the shape's hours and days are local here */
    struct series_anom an[SERIES_MAX_ANOM];
    size_t nan;
};

static void usage_series(FILE *fp)
{
    fprintf(fp, "fsgen series OUT --weeks W [options]\n"
                "  OUT            a flowsleuth store: a folder (ending in /) or one file\n"
                "  --weeks W      weeks of flows (default 5)\n"
                "  --start EPOCH  first hour, a Monday 00:00 UTC in seconds (default\n"
                "                 1759708800 = 2025-10-06)\n"
                "  --peak N       flows in a busy weekday hour (default 200)\n"
                "  --spike H      hour H (counted from the start) gets 5x its flows; repeatable\n"
                "  --drop H       hour H gets a fifth of its flows; repeatable\n"
                "  --gap H        hour H gets no flows; repeatable\n"
                "  --tz ZONE      the shape's hours and days are local in ZONE (default UTC)\n"
                "  --seed S       (default 1)\n"
                "Prints one line per injected anomaly: KIND EPOCH_MS FLOWS_WITHOUT_IT\n");
}

/* Flows of hour h without anomalies. */
static uint64_t series_norm(const struct series *g, uint64_t h, uint64_t *rng)
{
    unsigned hour, wday;
    tz_local(&g->tz, (g->start_s + h * 3600) * 1000, &hour, &wday);
    uint64_t lam = g->peak * diurnal_pm[hour] * weekly_pm[(wday + 6) % 7] / 1000000;
    return lam * (950 + rng_below(rng, 101)) / 1000;
}

static char series_kind(const struct series *g, uint64_t h)
{
    for (size_t i = 0; i < g->nan; i++)
        if (g->an[i].hour == h)
            return g->an[i].kind;
    return 0;
}

static void series_flow(struct flow *f, uint64_t t0, uint64_t slot_ms, uint64_t i, uint64_t *r)
{
    uint8_t v4[4] = { 10, 0, (uint8_t)(i % 4), (uint8_t)rng_range(r, 1, 250) };
    memset(f, 0, sizeof(*f));
    flow_addr_from_v4(f->src, v4);
    v4[0] = 192;
    v4[1] = 0;
    v4[2] = 2;
    v4[3] = (uint8_t)rng_range(r, 1, 50);
    flow_addr_from_v4(f->dst, v4);
    f->ipver = 4;
    f->proto = 6;
    f->sport = (uint16_t)rng_range(r, 1024, 65000);
    f->dport = rng_below(r, 4) ? 443 : 80;
    f->first = t0 + i * slot_ms + rng_below(r, slot_ms / 2);
    f->last = f->first + rng_range(r, 50, 900);
    f->packets = rng_range(r, 3, 5);
    f->rpackets = rng_range(r, 4, 6);
    f->bytes = rng_range(r, 300, 500);
    f->rbytes = rng_range(r, 4000, 6000);
    f->flags = F_SYN | F_ACK | F_FIN;
    f->rflags = F_SYN | F_ACK | F_FIN;
}

static int series_write(const struct series *g, const char *out, uint64_t *total)
{
    struct store_writer *w;
    struct store_wopts wo = { .codec = STORE_LZ4, .bin_secs = 86400 };
    struct fs_err err = { 0 };
    uint64_t rng = rng_seeded(g->seed, 15);
    if (store_writer_open(&w, out, &wo, &err) != 0)
        die("cannot open the store", err.msg);
    for (uint64_t h = 0; h < g->weeks * 168; h++) {
        uint64_t n = series_norm(g, h, &rng), t0 = (g->start_s + h * 3600) * 1000;
        char k = series_kind(g, h);
        if (k)
            printf("%s %" PRIu64 " %" PRIu64 "\n",
                   k == 's'   ? "spike"
                   : k == 'd' ? "drop"
                              : "gap",
                   t0, n);
        n = k == 's' ? n * 5 : k == 'd' ? n / 5 : k == 'g' ? 0 : n;
        for (uint64_t i = 0; i < n; i++) {
            struct flow f;
            series_flow(&f, t0, 3600000 / n, i, &rng);
            if (store_writer_add(w, &f, &err) != 0)
                die("write", err.msg);
        }
        *total += n;
    }
    if (store_writer_close(w, &err) != 0)
        die("close", err.msg);
    return 0;
}

static int cmd_series(int argc, char **argv)
{
    struct series g = { .start_s = 1759708800, .weeks = 5, .peak = 200, .seed = 1 };
    const char *out = NULL;
    uint64_t total = 0;
    tz_utc(&g.tz);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int kind = strcmp(a, "--spike") == 0  ? 's'
                   : strcmp(a, "--drop") == 0 ? 'd'
                   : strcmp(a, "--gap") == 0  ? 'g'
                                              : 0;
        if (kind) {
            if (g.nan == SERIES_MAX_ANOM)
                die("too many anomalies", NULL);
            g.an[g.nan].kind = (char)kind;
            g.an[g.nan++].hour = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--weeks") == 0) {
            g.weeks = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--start") == 0) {
            g.start_s = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--peak") == 0) {
            g.peak = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--seed") == 0) {
            g.seed = parse_u64(a, need_val(argc, argv, &i));
        } else if (strcmp(a, "--tz") == 0) {
            struct fs_err err = { 0 };
            tz_free(&g.tz);
            if (tz_load(&g.tz, need_val(argc, argv, &i), &err) != 0)
                die("--tz", err.msg);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage_series(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            die("unknown option", a);
        } else {
            out = a;
        }
    }
    if (!out || g.weeks == 0 || g.weeks > 520 || g.peak == 0 || g.peak > 1000000)
        die("usage: fsgen series OUT --weeks W (fsgen series --help)", NULL);
    if ((g.start_s / 86400 + 3) % 7 != 0 || g.start_s % 86400)
        die("--start must be a Monday 00:00 UTC", NULL);
    series_write(&g, out, &total);
    fprintf(stderr, "fsgen series: flows=%" PRIu64 " hours=%" PRIu64 "\n", total, g.weeks * 168);
    tz_free(&g.tz);
    return 0;
}

/* ================================================================ main */

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        FILE *fp = argc < 2 ? stderr : stdout;
        fprintf(fp, "usage: fsgen mix|download|series|mmdb OUT [options]   (fsgen CMD --help)\n\n");
        usage_mix(fp);
        fprintf(fp, "\n");
        usage_download(fp);
        fprintf(fp, "\n");
        usage_series(fp);
        fprintf(fp, "\n");
        mw_usage(fp);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "mix") == 0)
        return cmd_mix(argc - 1, argv + 1);
    if (strcmp(argv[1], "download") == 0)
        return cmd_download(argc - 1, argv + 1);
    if (strcmp(argv[1], "series") == 0)
        return cmd_series(argc - 1, argv + 1);
    if (strcmp(argv[1], "mmdb") == 0)
        return mw_cmd(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (mix, download, series, mmdb)\n", prog, argv[1]);
    return 2;
}
