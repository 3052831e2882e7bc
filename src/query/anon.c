#include "anon.h"

#include "../core/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Direct-mapped cache of whole addresses: flow records repeat their hosts, and an
 * address costs 32 (IPv4) or 128 (IPv6) AES blocks. */
#define CACHE_BITS 14
#define CACHE_SIZE (1u << CACHE_BITS)

struct cache_slot {
    uint8_t in[16], out[16];
    uint8_t used;
};

struct anon {
    EVP_CIPHER_CTX *ctx;
    uint8_t pad[16];
    struct cache_slot *cache;
    struct anon_stats st;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int anon_key_parse(const char *text, size_t len, uint8_t key[ANON_KEY_LEN], struct fs_err *err)
{
    if (len == ANON_KEY_LEN) {
        memcpy(key, text, ANON_KEY_LEN);
        return 0;
    }
    if (len == 2 + 2 * ANON_KEY_LEN && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        for (size_t i = 0; i < ANON_KEY_LEN; i++) {
            int hi = hexval((unsigned char)text[2 + 2 * i]);
            int lo = hexval((unsigned char)text[3 + 2 * i]);
            if (hi < 0 || lo < 0)
                return fs_err_set(err, FS_EINVAL, (long long)i * 2 + 2,
                                  "the key's 0x form needs 64 hex digits (a bad digit at "
                                  "character %zu)",
                                  3 + 2 * i);
            key[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
    }
    return fs_err_set(err, FS_EINVAL, -1,
                      "a Crypto-PAn key is 32 characters or 0x and 64 hex digits, not %zu "
                      "characters",
                      len);
}

/* The whole of a small file into buf: its length, or -1 (err set). */
static ssize_t read_small(const char *path, char *buf, size_t cap, struct fs_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fs_err_set(err, -errno, -1, "%s: open: %s", path, strerror(errno));
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return fs_err_set(err, -e, -1, "%s: read: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            close(fd);
            return fs_err_set(err, FS_EINVAL, -1, "%s: too long for a key file", path);
        }
    }
    close(fd);
    return (ssize_t)n;
}

int anon_key_load(const char *arg, uint8_t key[ANON_KEY_LEN], struct fs_err *err)
{
    struct stat st;
    if (stat(arg, &st) != 0)
        return anon_key_parse(arg, strlen(arg), key, err);
    char buf[256] = { 0 };
    ssize_t n = read_small(arg, buf, sizeof(buf), err);
    if (n < 0)
        return (int)n;
    size_t len = (size_t)n;
    /* Exactly 32 bytes are the key as they are: random bytes may end in a newline. */
    if (len != ANON_KEY_LEN)
        while (len && isspace((unsigned char)buf[len - 1]))
            len--;
    int rc = anon_key_parse(buf, len, key, err);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc && err) {
        struct fs_err e = *err;
        fs_err_set(err, rc, -1, "%s: %s", arg, e.msg);
    }
    return rc;
}

void anon_key_wipe(uint8_t key[ANON_KEY_LEN])
{
    OPENSSL_cleanse(key, ANON_KEY_LEN);
}

struct anon *anon_new(const uint8_t key[ANON_KEY_LEN], struct fs_err *err)
{
    struct anon *a = xcalloc(1, sizeof(*a));
    int outl = 0;
    a->ctx = EVP_CIPHER_CTX_new();
    if (!a->ctx || EVP_EncryptInit_ex(a->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(a->ctx, 0) != 1 ||
        EVP_EncryptUpdate(a->ctx, a->pad, &outl, key + 16, 16) != 1 || outl != 16) {
        fs_err_set(err, FS_EUNSUP, -1, "AES-128 (OpenSSL libcrypto) could not be set up");
        anon_free(a);
        return NULL;
    }
    a->cache = xcalloc(CACHE_SIZE, sizeof(*a->cache));
    return a;
}

/*
 * The one-time pad of in[0..n-1] (n = 4 or 16 bytes, bits most significant first):
 * bit i is the first bit of AES_K(in's first i bits, then P's bits from i on). Every
 * block depends on the input only, not on earlier outputs, so all 8n go to the cipher
 * in one call (AES-NI pipelines them).
 */
static void otp(struct anon *a, const uint8_t *in, size_t n, uint8_t *pad_out)
{
    uint8_t blocks[128 * 16], outb[128 * 16];
    size_t nbits = 8 * n;
    for (size_t i = 0; i < nbits; i++) {
        uint8_t *b = blocks + 16 * i;
        size_t byte = i / 8, bit = i % 8;
        memcpy(b, in, byte);
        uint8_t keep = (uint8_t)(0xff00u >> bit); /* the first `bit` bits */
        b[byte] = (uint8_t)((in[byte] & keep) | (a->pad[byte] & (uint8_t)~keep));
        memcpy(b + byte + 1, a->pad + byte + 1, 15 - byte);
    }
    int outl = 0;
    /* ECB without padding on whole blocks cannot fail once the context is set up. */
    EVP_EncryptUpdate(a->ctx, outb, &outl, blocks, (int)(16 * nbits));
    memset(pad_out, 0, n);
    for (size_t i = 0; i < nbits; i++)
        pad_out[i / 8] |= (uint8_t)((outb[16 * i] >> 7) << (7 - i % 8));
}

static void anon_bytes(struct anon *a, const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t p[16];
    otp(a, in, n, p);
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] ^ p[i];
}

uint32_t anon_ip4(struct anon *a, uint32_t addr)
{
    uint8_t b[4] = { (uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
                     (uint8_t)addr };
    anon_bytes(a, b, 4, b);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void anon_ip6(struct anon *a, const uint8_t in[16], uint8_t out[16])
{
    uint8_t tmp[16];
    anon_bytes(a, in, 16, tmp);
    memcpy(out, tmp, 16);
}

static uint32_t slot_of(const uint8_t addr[16])
{
    uint64_t x, y;
    memcpy(&x, addr, 8);
    memcpy(&y, addr + 8, 8);
    uint64_t h = (x * 0x9e3779b97f4a7c15ull) ^ y;
    h *= 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> (64 - CACHE_BITS));
}

void anon_addr(struct anon *a, uint8_t addr[16])
{
    struct cache_slot *s = &a->cache[slot_of(addr)];
    a->st.lookups++;
    if (s->used && memcmp(s->in, addr, 16) == 0) {
        a->st.hits++;
        memcpy(addr, s->out, 16);
        return;
    }
    memcpy(s->in, addr, 16);
    if (flow_addr_is_v4mapped(addr))
        anon_bytes(a, addr + 12, 4, addr + 12);
    else
        anon_ip6(a, addr, addr);
    memcpy(s->out, addr, 16);
    s->used = 1;
}

void anon_flow(struct anon *a, struct flow *f)
{
    static const uint8_t zero[16];
    anon_addr(a, f->src);
    anon_addr(a, f->dst);
    if (memcmp(f->exporter, zero, 16) != 0)
        anon_addr(a, f->exporter);
    /* The translated addresses are real addresses too (the same map keeps a NAT that
     * left an address as it was visibly so). */
    if (memcmp(f->xsrc, zero, 16) != 0)
        anon_addr(a, f->xsrc);
    if (memcmp(f->xdst, zero, 16) != 0)
        anon_addr(a, f->xdst);
    f->src_as = 0;
    f->dst_as = 0;
}

void anon_get_stats(const struct anon *a, struct anon_stats *out)
{
    *out = a->st;
}

void anon_free(struct anon *a)
{
    if (!a)
        return;
    EVP_CIPHER_CTX_free(a->ctx);
    free(a->cache);
    free(a);
}
