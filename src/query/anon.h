/*
 * Prefix-preserving address anonymisation: Crypto-PAn (J. Xu, J. Fan, M. Ammar, S. Moon,
 * "Prefix-Preserving IP Address Anonymization", ICNP 2002), as nfdump's nfanon applies
 * it to flow files (print --anon).
 *
 * Two addresses that share their first k bits are mapped to two addresses that share
 * their first k bits, and no more; the map is one-to-one and fixed by a 32-byte key:
 * bytes 0..15 are an AES-128 key K, bytes 16..31 encrypted under K give the pad P.
 * Bit i of the output is bit i of the input XOR the first bit of AES_K(the input's
 * first i bits followed by the rest of P). IPv4 runs this over 32 bits (the
 * original's published sample trace is the unit test's vector); IPv6 over 128 bits,
 * the same rule at full width as the Go and Python implementations do (nfdump's
 * anonymize_v6 differs: it is not one-to-one, so it is not followed here).
 *
 * Addresses are struct flow's 16 bytes: an IPv4-mapped address is anonymised as the
 * IPv4 address it holds and stays IPv4-mapped (nfanon's IPv4 path), any other as IPv6.
 *
 * Ownership: anon_new allocates (with an OpenSSL cipher context), anon_free releases.
 * A struct anon is used by one thread at a time (its cache is not shared). Nothing
 * here prints; errors come back as FS_E* codes with struct fs_err.
 */
#ifndef FS_ANON_H
#define FS_ANON_H

#include "../core/err.h"
#include "../core/flow.h"

#include <stddef.h>
#include <stdint.h>

#define ANON_KEY_LEN 32

/*
 * A key as nfanon -K takes it: 32 characters (their bytes are the key) or "0x"
 * followed by 64 hex digits. FS_EINVAL when it is neither (the message does not
 * repeat the key: it is a secret).
 */
int anon_key_parse(const char *text, size_t len, uint8_t key[ANON_KEY_LEN], struct fs_err *err);

/*
 * --anon KEYFILE|KEY: a path that exists is read as a key file (exactly 32 bytes are
 * the key as they are; otherwise its text without trailing white space, parsed as
 * anon_key_parse does), anything else is the key itself.
 */
int anon_key_load(const char *arg, uint8_t key[ANON_KEY_LEN], struct fs_err *err);

struct anon;

/* Overwrite a key in memory (a plain memset before it goes out of scope may be
 * dropped by the compiler). */
void anon_key_wipe(uint8_t key[ANON_KEY_LEN]);

/* An anonymiser for key; NULL (err set) when the cipher cannot be set up. */
struct anon *anon_new(const uint8_t key[ANON_KEY_LEN], struct fs_err *err);

/* addr (host byte order) anonymised. */
uint32_t anon_ip4(struct anon *a, uint32_t addr);

/* in[16] anonymised as 128 bits into out[16] (in == out is allowed). */
void anon_ip6(struct anon *a, const uint8_t in[16], uint8_t out[16]);

/* A struct flow address in place: IPv4-mapped as IPv4, else as IPv6. */
void anon_addr(struct anon *a, uint8_t addr[16]);

/*
 * A record as nfanon leaves it: src and dst anonymised, the exporter's address too
 * (unless zero: metered locally), and the AS numbers zeroed (they name the networks
 * the prefixes hide).
 */
void anon_flow(struct anon *a, struct flow *f);

/* Cache counters (tests and measurement). */
struct anon_stats {
    uint64_t lookups, hits;
};
void anon_get_stats(const struct anon *a, struct anon_stats *out);

void anon_free(struct anon *a);

#endif
