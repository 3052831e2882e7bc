/*
 * fsgen mmdb: a small MaxMind DB file of a fixed table (mmdb_write.h), written from the
 * format's specification. The tree is built as a binary trie over the address bits,
 * shorter networks first, so that a network nested in another splits the outer one's
 * leaf and overrides its part of it; every leaf's record is a map encoded once in the
 * data section, which the tree's records point at (node count + 16 + offset).
 */
#include "mmdb_write.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Clients of `fsgen mix` are 10.1.0.0/18 and 2001:db8:c1::/64, servers 198.18.0.0/20
 * and 2001:db8:5::/64 (a few thousand flows use the lower part of each): the table
 * covers parts of each and leaves the rest unknown. */
const struct mw_net mw_nets[] = {
    { "10.1.0.0/21", "DE", NULL, 64500, "Example Net, Inc." },
    { "10.1.8.0/22", "FR", NULL, 64501, "Test \"Quoted\" Carrier" },
    { "10.1.10.0/24", "BE", NULL, 0, NULL },
    { "198.18.0.0/21", "US", NULL, 4200000001u, "Big ASN Ltd" },
    { "198.18.4.0/24", "CA", NULL, 0, NULL },
    { "198.18.8.0/22", "JP", NULL, 64502, "R\xc3\xa9seau Exemple" },
    { "198.18.12.0/24", NULL, "IT", 64503, NULL },
    { "2001:db8:c1::/64", "NL", NULL, 64510, "V6 Clients" },
    { "2001:db8:c1::800/117", "SE", NULL, 0, NULL },
    { "2001:db8:5::/117", "BR", NULL, 64511, "V6 Servers\\Backslash" },
};
const size_t mw_nnets = sizeof(mw_nets) / sizeof(mw_nets[0]);

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            perror("fsgen mmdb");
            exit(1);
        }
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_byte(struct buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

/* A field's control byte(s): the type (extended past 7) and the payload size. */
static void put_ctrl(struct buf *b, unsigned type, size_t size)
{
    unsigned low = size < 29 ? (unsigned)size : size < 285 ? 29 : size < 65821 ? 30 : 31;
    put_byte(b, (type <= 7 ? type : 0) << 5 | low);
    if (type > 7)
        put_byte(b, type - 7);
    size_t extra = low == 29 ? size - 29 : low == 30 ? size - 285 : size - 65821;
    for (unsigned k = low == 29 ? 1 : low == 30 ? 2 : low == 31 ? 3 : 0; k > 0; k--)
        put_byte(b, (unsigned)(extra >> (8 * (k - 1))) & 0xff);
}

static void put_str(struct buf *b, const char *s)
{
    put_ctrl(b, 2, strlen(s));
    put(b, s, strlen(s));
}

/* Unsigned integers of type 5 (16-bit), 6 (32-bit) or 9 (64-bit), in as few bytes as
 * their value needs (none for 0). */
static void put_uint(struct buf *b, unsigned type, uint64_t v)
{
    size_t n = 0;
    while (n < 8 && (v >> (8 * n)) != 0)
        n++;
    put_ctrl(b, type, n);
    for (size_t k = n; k > 0; k--)
        put_byte(b, (unsigned)(v >> (8 * (k - 1))) & 0xff);
}

/* {"geoname_id": id, "iso_code": cc, "names": {"en": cc}} */
static void put_place(struct buf *b, const char *cc, uint32_t id)
{
    put_ctrl(b, 7, 3);
    put_str(b, "geoname_id");
    put_uint(b, 6, id);
    put_str(b, "iso_code");
    put_str(b, cc);
    put_str(b, "names");
    put_ctrl(b, 7, 1);
    put_str(b, "en");
    put_str(b, cc);
}

static void put_record(struct buf *b, const struct mw_net *n, enum mw_kind kind)
{
    if (kind == MW_ASN) {
        put_ctrl(b, 7, n->org ? 2 : 1);
        put_str(b, "autonomous_system_number");
        put_uint(b, 6, n->asn);
        if (n->org) {
            put_str(b, "autonomous_system_organization");
            put_str(b, n->org);
        }
        return;
    }
    put_ctrl(b, 7, n->cc ? 2 : 1);
    if (n->cc) {
        put_str(b, "continent");
        put_place(b, "EU", 6255148);
        put_str(b, "country");
        put_place(b, n->cc, 1000u + (uint32_t)(n->cc[0] * 32 + n->cc[1]));
    } else {
        put_str(b, "registered_country");
        put_place(b, n->reg_cc, 3175395);
    }
}

/* A network as 128 bits (IPv4 under ::/96 in a version-6 tree) and its length. */
static int parse_net(const char *text, int tree_ver, uint8_t a[16], int *plen, int *ver)
{
    char host[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : 0;
    if (!slash || len >= sizeof(host))
        return -1;
    memcpy(host, text, len);
    host[len] = '\0';
    memset(a, 0, 16);
    *plen = (int)strtol(slash + 1, NULL, 10);
    if (inet_pton(AF_INET, host, tree_ver == 4 ? a : a + 12) == 1) {
        *ver = 4;
        *plen += tree_ver == 4 ? 0 : 96;
        return 0;
    }
    *ver = 6;
    return inet_pton(AF_INET6, host, a) == 1 ? 0 : -1;
}

static int bit(const uint8_t a[16], int i)
{
    return a[i / 8] >> (7 - i % 8) & 1;
}

int mw_expect(enum mw_kind kind, const uint8_t a[16], int ipver)
{
    int best = -1, best_len = -1;
    uint8_t key[16]; /* as the version-6 tree holds it: IPv4 under ::/96 */
    memcpy(key, a, 16);
    if (ipver == 4)
        memset(key, 0, 12);
    for (size_t i = 0; i < mw_nnets; i++) {
        const struct mw_net *n = &mw_nets[i];
        if (kind == MW_ASN ? n->asn == 0 : !n->cc && !n->reg_cc)
            continue;
        uint8_t net[16];
        int plen, ver;
        if (parse_net(n->net, 6, net, &plen, &ver) != 0 || ver != ipver)
            continue;
        int k = 0;
        while (k < plen && bit(net, k) == bit(key, k))
            k++;
        if (k == plen && plen > best_len) {
            best = (int)i;
            best_len = plen;
        }
    }
    return best;
}

/* The in-memory trie: each record is empty, a node or a leaf (a row's data). */
enum { R_EMPTY, R_NODE, R_DATA };
struct tnode {
    uint8_t type[2];
    uint32_t val[2];
};
struct trie {
    struct tnode *n;
    uint32_t count, cap;
};

static uint32_t new_node(struct trie *t, uint8_t type, uint32_t val)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->n = realloc(t->n, t->cap * sizeof(*t->n));
        if (!t->n) {
            perror("fsgen mmdb");
            exit(1);
        }
    }
    t->n[t->count] = (struct tnode){ { type, type }, { val, val } };
    return t->count++;
}

static void insert(struct trie *t, const uint8_t a[16], int plen, uint32_t row)
{
    uint32_t cur = 0;
    for (int d = 0; d < plen; d++) {
        int b = bit(a, d);
        if (d == plen - 1) {
            t->n[cur].type[b] = R_DATA;
            t->n[cur].val[b] = row;
        } else if (t->n[cur].type[b] == R_NODE) {
            cur = t->n[cur].val[b];
        } else {
            uint32_t k = new_node(t, t->n[cur].type[b], t->n[cur].val[b]);
            t->n[cur].type[b] = R_NODE;
            t->n[cur].val[b] = k;
            cur = k;
        }
    }
}

/* Rows of kind in the order the trie takes them: shorter networks first. */
static size_t rows_by_length(enum mw_kind kind, int tree_ver, size_t *rows, uint8_t (*addr)[16],
                             int *plens)
{
    size_t m = 0;
    for (int want = 1; want <= 128; want++)
        for (size_t i = 0; i < mw_nnets; i++) {
            const struct mw_net *n = &mw_nets[i];
            int plen, ver;
            if ((kind == MW_ASN ? n->asn == 0 : !n->cc && !n->reg_cc) ||
                parse_net(n->net, tree_ver, addr[m], &plen, &ver) != 0 || plen != want ||
                (tree_ver == 4 && ver == 6))
                continue;
            rows[m] = i;
            plens[m++] = plen;
        }
    return m;
}

static void put_record_value(struct buf *b, int size, uint32_t left, uint32_t right)
{
    uint8_t node[8];
    if (size == 24 || size == 32) {
        int w = size / 8;
        for (int k = 0; k < w; k++) {
            node[k] = (uint8_t)(left >> (8 * (w - 1 - k)));
            node[w + k] = (uint8_t)(right >> (8 * (w - 1 - k)));
        }
        put(b, node, (size_t)w * 2);
        return;
    }
    node[0] = (uint8_t)(left >> 16);
    node[1] = (uint8_t)(left >> 8);
    node[2] = (uint8_t)left;
    node[3] = (uint8_t)((left >> 24 & 0x0f) << 4 | (right >> 24 & 0x0f));
    node[4] = (uint8_t)(right >> 16);
    node[5] = (uint8_t)(right >> 8);
    node[6] = (uint8_t)right;
    put(b, node, 7);
}

static void put_metadata(struct buf *b, enum mw_kind kind, int size, int ipver, uint32_t nodes)
{
    static const uint8_t marker[] = "\xab\xcd\xefMaxMind.com";
    put(b, marker, sizeof(marker) - 1);
    put_ctrl(b, 7, 9);
    put_str(b, "binary_format_major_version");
    put_uint(b, 5, 2);
    put_str(b, "binary_format_minor_version");
    put_uint(b, 5, 0);
    put_str(b, "build_epoch");
    put_uint(b, 9, 1796601600); /* 2026-12-07: fixed, so the bytes are */
    put_str(b, "database_type");
    put_str(b, kind == MW_ASN ? "fsgen-ASN" : "fsgen-Country");
    put_str(b, "description");
    put_ctrl(b, 7, 1);
    put_str(b, "en");
    put_str(b, "flowsleuth test database (fsgen mmdb)");
    put_str(b, "ip_version");
    put_uint(b, 5, (uint64_t)ipver);
    put_str(b, "languages");
    put_ctrl(b, 11, 1);
    put_str(b, "en");
    put_str(b, "node_count");
    put_uint(b, 6, nodes);
    put_str(b, "record_size");
    put_uint(b, 5, (uint64_t)size);
}

/* The tree's records as the file holds them: a node's index, the node count for none, or
 * node count + 16 + the offset of the row's data. */
static uint32_t record(const struct tnode *n, int side, uint32_t nodes, const uint32_t *off)
{
    if (n->type[side] == R_NODE)
        return n->val[side];
    if (n->type[side] == R_EMPTY)
        return nodes;
    return nodes + 16 + off[n->val[side]];
}

int mw_write(const char *path, enum mw_kind kind, int record_size, int ipver, char *msg, size_t cap)
{
    size_t rows[64];
    uint8_t addr[64][16];
    int plens[64];
    uint32_t off[64] = { 0 };
    if ((record_size != 24 && record_size != 28 && record_size != 32) ||
        (ipver != 4 && ipver != 6) || mw_nnets > 64) {
        snprintf(msg, cap, "record size 24, 28 or 32 and IP version 4 or 6");
        return -1;
    }
    size_t m = rows_by_length(kind, ipver, rows, addr, plens);
    struct trie t = { 0 };
    new_node(&t, R_EMPTY, 0);
    struct buf data = { 0 }, file = { 0 };
    for (size_t i = 0; i < m; i++) {
        insert(&t, addr[i], plens[i], (uint32_t)rows[i]);
        off[rows[i]] = (uint32_t)data.n;
        put_record(&data, &mw_nets[rows[i]], kind);
    }
    uint64_t top = (uint64_t)t.count + 16 + data.n;
    if (record_size < 32 && top >> record_size) {
        snprintf(msg, cap, "%u nodes and %zu data bytes need records over %d bits", t.count, data.n,
                 record_size);
        free(t.n);
        free(data.p);
        return -1;
    }
    for (uint32_t i = 0; i < t.count; i++)
        put_record_value(&file, record_size, record(&t.n[i], 0, t.count, off),
                         record(&t.n[i], 1, t.count, off));
    static const uint8_t zeros[16];
    put(&file, zeros, sizeof(zeros));
    put(&file, data.p, data.n);
    put_metadata(&file, kind, record_size, ipver, t.count);
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    int rc = fp && fwrite(file.p, 1, file.n, fp) == file.n ? 0 : -1;
    if (fp && fp != stdout && fclose(fp) != 0)
        rc = -1;
    if (rc != 0)
        snprintf(msg, cap, "%s: cannot write", path);
    free(t.n);
    free(data.p);
    free(file.p);
    return rc;
}

void mw_usage(FILE *fp)
{
    fprintf(fp, "fsgen mmdb OUT.mmdb --kind country|asn [--record-size 24|28|32] [--ipv4]\n"
                "      [--table FILE]\n"
                "  a MaxMind DB file (GeoLite2 / DB-IP layout) of a fixed table of IPv4 and IPv6\n"
                "  networks: --kind country gives country.iso_code (one network only\n"
                "  registered_country), asn autonomous_system_number and _organization;\n"
                "  --record-size of the search tree (default 28); --ipv4 an IPv4 tree without the\n"
                "  IPv6 networks; --table FILE writes the table as TSV (network, cc, reg_cc,\n"
                "  asn, org; - for none), the ground truth of the tests\n");
}

static void write_table(const char *path)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!fp) {
        perror(path);
        exit(1);
    }
    fprintf(fp, "network\tcc\treg_cc\tasn\torg\n");
    for (size_t i = 0; i < mw_nnets; i++) {
        const struct mw_net *n = &mw_nets[i];
        fprintf(fp, "%s\t%s\t%s\t", n->net, n->cc ? n->cc : "-", n->reg_cc ? n->reg_cc : "-");
        if (n->asn)
            fprintf(fp, "%u\t%s\n", (unsigned)n->asn, n->org ? n->org : "-");
        else
            fprintf(fp, "-\t-\n");
    }
    if (fp != stdout && fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

int mw_cmd(int argc, char **argv)
{
    const char *out = NULL, *kind = NULL, *table = NULL;
    int size = 28, ipver = 6;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            mw_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--ipv4") == 0)
            ipver = 4;
        else if (i + 1 < argc && strcmp(argv[i], "--kind") == 0)
            kind = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--record-size") == 0)
            size = (int)strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--table") == 0)
            table = argv[++i];
        else if (!out && argv[i][0] != '-')
            out = argv[i];
        else {
            fprintf(stderr, "fsgen mmdb: unknown or incomplete option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!out || !kind || (strcmp(kind, "country") != 0 && strcmp(kind, "asn") != 0)) {
        mw_usage(stderr);
        return 2;
    }
    char msg[160];
    if (mw_write(out, strcmp(kind, "asn") == 0 ? MW_ASN : MW_COUNTRY, size, ipver, msg,
                 sizeof(msg)) != 0) {
        fprintf(stderr, "fsgen mmdb: %s\n", msg);
        return 1;
    }
    if (table)
        write_table(table);
    return 0;
}
