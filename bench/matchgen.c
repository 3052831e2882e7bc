/*
 * matchgen: the input of bench/match.sh. Writes a catalogue CSV of N entries with
 * random sizes (log-uniform between 10 kB and 100 MB, as package and installer sizes
 * spread) and a store file of flows in three kinds:
 *
 *   small     server-to-client payload at most 10 kB: most flows of a real network
 *             (DNS, web objects, APIs); `match` screens them out before any search
 *   download  one catalogue entry served over HTTP: exact goodput = size + a response
 *             header of 150..450 bytes, client payload = the request (URL + 80..120)
 *   foreign   a large transfer of a size not taken from the catalogue
 *
 * Every flow has its own 5-tuple (one exchange per connection). Deterministic for a seed.
 * The truth rides in two fields `match` does not read, so matchbench can score the
 * verdicts: src_as = the entry's size for a download (0 above 4 GB), dst_as = 1 for a
 * foreign transfer.
 *
 *   matchgen CAT.csv FLOWS.fsf [--entries N] [--flows N] [--downloads PCT]
 *            [--foreign PCT] [--seed S] [--sizes CAT.tsv]
 *
 * --sizes takes the entries' sizes from a flowsleuth catalogue (e.g. the whole Debian
 * index from `flowsleuth catalog debian`) instead of drawing them; CAT.csv is then
 * not written.
 *
 * Built by bench/match.sh against the build's libfs.a (the store writer).
 */
#include "core/flow.h"
#include "store/store.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* Log-uniform in [10 kB, 100 MB]. */
static uint64_t rand_size(void)
{
    return (uint64_t)exp(log(1e4) + unit() * (log(1e8) - log(1e4)));
}

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "matchgen: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static uint64_t num(const char *s, const char *opt)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0)
        die("bad number for option", opt);
    return (uint64_t)v;
}

struct opts {
    const char *cat, *out, *sizes;
    uint64_t entries, flows, seed;
    double downloads, foreign; /* percent of the flows */
};

static void parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){ NULL, NULL, NULL, 100000, 10000000, 1, 1.0, 1.0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--sizes") == 0 && i + 1 < argc) {
            o->sizes = argv[++i];
        } else if (a[0] == '-' && a[1] == '-' && i + 1 < argc) {
            uint64_t v = num(argv[i + 1], a);
            if (strcmp(a, "--entries") == 0)
                o->entries = v;
            else if (strcmp(a, "--flows") == 0)
                o->flows = v;
            else if (strcmp(a, "--seed") == 0)
                o->seed = v;
            else if (strcmp(a, "--downloads") == 0)
                o->downloads = strtod(argv[i + 1], NULL);
            else if (strcmp(a, "--foreign") == 0)
                o->foreign = strtod(argv[i + 1], NULL);
            else
                die("unknown option", a);
            i++;
        } else if (!o->cat) {
            o->cat = a;
        } else if (!o->out) {
            o->out = a;
        } else {
            die("too many arguments", a);
        }
    }
    if (!o->cat || !o->out || !o->entries)
        die("usage: matchgen CAT.csv FLOWS.fsf [--entries N] [--flows N] [--downloads PCT] "
            "[--foreign PCT] [--seed S]",
            NULL);
}

/* The sizes of a flowsleuth catalogue (two header lines, size in the first column). */
static uint64_t *read_sizes(struct opts *o)
{
    FILE *fp = fopen(o->sizes, "r");
    char line[8192];
    uint64_t n = 0, cap = 1 << 16;
    uint64_t *sizes = malloc(cap * sizeof(*sizes));
    if (!fp || !sizes)
        die("cannot read", o->sizes);
    for (int ln = 0; fgets(line, sizeof(line), fp); ln++) {
        char *end;
        unsigned long long v = strtoull(line, &end, 10);
        if (ln < 2 || end == line || *end != '\t')
            continue;
        if (n == cap) {
            cap *= 2;
            sizes = realloc(sizes, cap * sizeof(*sizes));
            if (!sizes)
                die("out of memory", NULL);
        }
        sizes[n++] = v;
    }
    fclose(fp);
    if (!n)
        die("no entries in", o->sizes);
    o->entries = n;
    return sizes;
}

/* The catalogue: sizes to *sizes, rows to the CSV. */
static uint64_t *write_catalog(const struct opts *o)
{
    FILE *fp = fopen(o->cat, "w");
    if (!fp)
        die("cannot write", o->cat);
    uint64_t *sizes = malloc(o->entries * sizeof(*sizes));
    if (!sizes)
        die("out of memory", NULL);
    fprintf(fp, "size,name,version,arch,os,url\n");
    for (uint64_t i = 0; i < o->entries; i++) {
        sizes[i] = rand_size();
        fprintf(fp,
                "%" PRIu64 ",pkg%" PRIu64 ",1.%" PRIu64 ",amd64,debian,/pool/main/p/pkg%" PRIu64
                "/pkg%" PRIu64 "_1.%" PRIu64 "_amd64.deb\n",
                sizes[i], i, i % 97, i, i, i % 97);
    }
    if (fclose(fp) != 0)
        die("write failed", o->cat);
    return sizes;
}

/* One flow of flow number i; kind by the percentages. */
static void make_flow(struct flow *f, uint64_t i, const struct opts *o, const uint64_t *sizes)
{
    memset(f, 0, sizeof(*f));
    uint8_t c[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
    uint8_t s[4] = { 192, 0, 2, (uint8_t)(rnd() % 200) };
    flow_addr_from_v4(f->src, c);
    flow_addr_from_v4(f->dst, s);
    f->ipver = 4;
    f->proto = 6;
    f->sport = (uint16_t)(1024 + i % 60000);
    f->dport = 80;
    f->first = 1700000000000ull + i / 3;
    double k = unit() * 100.0;
    uint64_t p; /* server-to-client payload */
    if (k < o->downloads) {
        uint64_t e = rnd() % o->entries;
        p = sizes[e] + 150 + rnd() % 300;
        f->payload = 40 + 80 + rnd() % 40; /* request: URL + headers */
        f->src_as = sizes[e] <= UINT32_MAX ? (uint32_t)sizes[e] : 0;
    } else if (k < o->downloads + o->foreign) {
        p = rand_size();
        f->payload = 100 + rnd() % 300;
        f->dst_as = 1;
    } else {
        p = rnd() % 10000;
        f->payload = rnd() % 2000;
    }
    f->rgoodput = p;
    f->rpayload = p;
    f->rpackets = p / 1448 + 2;
    f->rbytes = p + f->rpackets * 52;
    f->goodput = f->payload;
    f->packets = f->rpackets / 2 + 3;
    f->bytes = f->payload + f->packets * 52;
    f->last = f->first + 10 + p / 10000;
    f->flags = f->rflags = 0x1b;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    rng ^= o.seed * 0x9e3779b97f4a7c15ull;
    uint64_t *sizes = o.sizes ? read_sizes(&o) : write_catalog(&o);
    struct store_writer *w;
    struct store_wopts wo = { .codec = STORE_LZ4 };
    struct fs_err err = { 0 };
    if (store_writer_open(&w, o.out, &wo, &err) != 0)
        die("cannot open the store", err.msg);
    for (uint64_t i = 0; i < o.flows; i++) {
        struct flow f;
        make_flow(&f, i, &o, sizes);
        if (store_writer_add(w, &f, &err) != 0)
            die("write failed", err.msg);
    }
    if (store_writer_close(w, &err) != 0)
        die("close failed", err.msg);
    free(sizes);
    return 0;
}
