/*
 * The rolling block list (flowsleuth blocklist): addresses and prefixes from the
 * detectors' findings, each until its time to live runs out, kept in a state file
 * across runs, and written as a plain list, an nftables script or an ipset restore file.
 *
 * An allow list always wins: an allowed address is never added, and one added before
 * it was allowed is dropped. A refreshed entry keeps the later of its two expiries.
 *
 * State file (text, replaced whole through atomic_file):
 *
 *   flowsleuth-blocklist 1
 *   # prefix expires_ms first_ms hits detector
 *   192.0.2.7 1762000000000 1761913600000 3 scan
 *   2001:db8::/64 1762000000000 1761913600000 1 spam
 *
 * Ownership: blk_init on caller storage, blk_free releases. Nothing prints to the
 * terminal: blk_write writes the list to the FILE it is given; errors come back in
 * struct fs_err naming the file and line.
 */
#ifndef FS_BLOCKLIST_H
#define FS_BLOCKLIST_H

#include "../core/err.h"
#include "netlist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BLK_VERSION 1
#define BLK_WHY     24

struct blk_entry {
    struct net_prefix p; /* 16-byte form: IPv4 as ::ffff:a.b.c.d/(96 + n) */
    uint64_t expires_ms, first_ms;
    uint32_t hits;
    char why[BLK_WHY]; /* the detector that named it last ("-" when unknown) */
};

struct blocklist {
    struct blk_entry *v;
    size_t n, cap;
};

enum blk_format { BLK_LIST, BLK_NFT, BLK_IPSET };

void blk_init(struct blocklist *b);
void blk_free(struct blocklist *b);

/*
 * Read a state file into b (empty before). 0; -ENOENT when there is none (b stays
 * empty); FS_ECORRUPT or FS_EVERSION with err naming the file and line (b is then
 * emptied: a damaged state is not trusted in part).
 */
int blk_load(struct blocklist *b, const char *path, struct fs_err *err);

/* Write the state: 0 or an error naming the file. */
int blk_save(const struct blocklist *b, const char *path, struct fs_err *err);

/*
 * Add p until now + ttl, or refresh it (later expiry kept, hits + 1). Returns 1 when
 * added, 0 when refreshed, -1 when allow holds it (nothing changes).
 */
int blk_add(struct blocklist *b, const struct net_prefix *p, uint64_t now, uint64_t ttl,
            const char *why, const struct netlist *allow);

/* Drop entries expired at now and entries allow holds; returns how many went. */
size_t blk_prune(struct blocklist *b, uint64_t now, const struct netlist *allow);

/* Sort by address (IPv4 first), for output and state that diff well. */
void blk_sort(struct blocklist *b);

/* "192.0.2.7", "10.1.0.0/16", "2001:db8::/64" (FMT_ADDR_MAX + 4 bytes). */
void blk_prefix_text(const struct net_prefix *p, char *buf, size_t len);

/*
 * Write the list: BLK_LIST one prefix a line; BLK_NFT a script `nft -f` loads (table
 * inet NAME with sets block4 and block6, flushed and refilled, each element with its
 * remaining time as timeout); BLK_IPSET an `ipset restore` file (sets NAME-4, NAME-6,
 * hash:net with timeouts). Returns 0, or -EIO when fp failed.
 */
int blk_write(const struct blocklist *b, enum blk_format fmt, const char *name, uint64_t now,
              FILE *fp);

#endif
