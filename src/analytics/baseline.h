/*
 * Baselines (flowsleuth baseline, anomaly): time series of flows, tbytes and tpackets
 * per key and bin, and the hour-of-week profile learned from them.
 *
 * A key is what a series is kept for (--by): the whole network, a source or destination
 * host, a source or destination subnet, or a service (protocol and destination port).
 * Each key's series is a struct count (query/count.h: a flow counts once in the bin of
 * its first packet; its bytes and packets are spread over the bins it spans). All keys
 * together stay within a memory budget.
 *
 * The profile holds, per key and hour of the week (168 slots, Monday 00:00 local = 0),
 * the median and the spread (1.4826 x the median absolute deviation, a robust standard
 * deviation) of each metric over the bins of that slot in the learning weeks. It is
 * saved as versioned text (docs/internals/analytics-baseline.md draws it).
 *
 * Ownership: bl_series_init / bl_profile_* fill caller storage; the matching _free
 * releases. Nothing here prints.
 */
#ifndef FS_BASELINE_H
#define FS_BASELINE_H

#include "../core/err.h"
#include "../core/flow.h"
#include "../core/tz.h"
#include "../query/count.h"

#include <stddef.h>
#include <stdint.h>

#define BL_SLOTS    168
#define BL_METRICS  3 /* flows, tbytes, tpackets */
#define BL_VERSION  1
#define BL_KEY_TEXT 64

extern const char *const bl_metric_names[BL_METRICS];

enum bl_by { BL_ALL, BL_SRC, BL_DST, BL_SRCNET, BL_DSTNET, BL_SERVICE };

struct bl_keyspec {
    enum bl_by by;
    uint8_t len4, len6; /* BL_SRCNET, BL_DSTNET: prefix lengths for IPv4 and IPv6 */
};

/* "all", "src", "dst", "srcnet/LEN[/LEN6]", "dstnet/LEN[/LEN6]" (LEN6 default 64),
 * "service": 0 or FS_EINVAL. */
int bl_keyspec_parse(const char *s, struct bl_keyspec *k);
void bl_keyspec_format(const struct bl_keyspec *k, char *buf, size_t len);

/* 20 bytes, no padding: compared and hashed as bytes. */
struct bl_key {
    uint8_t a[16]; /* address or masked prefix (IPv4-mapped) */
    uint16_t port; /* BL_SERVICE */
    uint8_t proto; /* BL_SERVICE */
    uint8_t ver;   /* 4 or 6 for addresses */
};

void bl_key_of(const struct bl_keyspec *k, const struct flow *f, struct bl_key *out);
/* "all", "10.0.0.5", "10.1.2.0/24", "tcp/80" (BL_KEY_TEXT bytes). */
void bl_key_text(const struct bl_keyspec *k, const struct bl_key *key, char *buf);
/* The reverse of bl_key_text: 0 or FS_EINVAL. */
int bl_key_parse(const struct bl_keyspec *k, const char *text, struct bl_key *out);
/* A filter selecting the key's flows ("any" for the whole network). */
void bl_key_filter(const struct bl_keyspec *k, const struct bl_key *key, char *buf, size_t len);

struct bl_series {
    struct bl_keyspec spec;
    uint64_t bin_ms;
    struct bl_key *keys;
    struct count *c; /* c[i]: the series of keys[i] */
    size_t n, cap;
    uint64_t *slot; /* hash: 32 bits of hash, index + 1 (0 = empty) */
    size_t hcap;
    size_t last;            /* the key found last */
    size_t max_bytes, used; /* memory budget and what the keys and bins take */
    int frozen;             /* only keys already present are counted (anomaly) */
};

void bl_series_init(struct bl_series *s, const struct bl_keyspec *spec, uint64_t bin_ms,
                    size_t max_bytes);
/* Index of key, inserting it (unless frozen): -1 when frozen and absent. */
long bl_series_key(struct bl_series *s, const struct bl_key *key);
/* Count one flow: 0, or FS_ENOSPC when the budget is spent. */
int bl_series_add(struct bl_series *s, const struct flow *f);
/* Add src's keys and bins to dst: 0 or FS_ENOSPC. */
int bl_series_merge(struct bl_series *dst, const struct bl_series *src);
/* The bins with data over all keys: 0, or -1 when there is none. */
int bl_series_range(const struct bl_series *s, uint64_t *lo, uint64_t *hi);
/* Value of metric m of key i in bin b (bin number), 0 outside its series. */
uint64_t bl_series_value(const struct bl_series *s, size_t i, uint64_t b, int m);
void bl_series_free(struct bl_series *s);

struct bl_stat {
    double med, spread;
};

struct bl_slot {
    uint32_t samples;
    struct bl_stat m[BL_METRICS];
};

struct bl_profile {
    uint64_t bin_ms;
    char tz[TZ_NAME_MAX];
    char *filter; /* the filter the flows were read with, one line (NULL: none), owned */
    struct bl_keyspec spec;
    uint32_t weeks;
    uint64_t from_ms, to_ms; /* the learning range, [from, to) */
    struct bl_key *keys;
    struct bl_slot *slots; /* nkeys x BL_SLOTS */
    size_t nkeys;
};

/*
 * Learn the profile of every key of s over bins lo..hi (inclusive; bins without data
 * count as zeros), hour of the week in zone z.
 */
void bl_profile_learn(struct bl_profile *p, const struct bl_series *s, const struct tz *z,
                      uint64_t lo, uint64_t hi);

int bl_profile_save(const struct bl_profile *p, const char *path, struct fs_err *err);
/* 0, or an error naming the file, the line and the field. */
int bl_profile_load(struct bl_profile *p, const char *path, struct fs_err *err);
void bl_profile_free(struct bl_profile *p);

/* 1 when p was learned with the filter line (evidence_filter_line's form; "" = none):
 * the same words, whatever blanks run between them. */
int bl_profile_same_filter(const struct bl_profile *p, const char *line);

#endif
