/*
 * Address prefixes and port lists for the detectors' options: --internal NET,
 * --allow FILE (hosts, nets and ports whose traffic a detector leaves out).
 *
 * Prefixes are kept on the 16-byte form of struct flow: an IPv4 prefix a.b.c.d/n is
 * ::ffff:a.b.c.d/(96 + n), so it matches IPv4 flows only, as the filter's prefixes do.
 *
 * Ownership: netlist_init on caller storage, netlist_free releases. Nothing prints:
 * netlist_load fills a message naming the file and line.
 */
#ifndef FS_NETLIST_H
#define FS_NETLIST_H

#include <stddef.h>
#include <stdint.h>

struct net_prefix {
    uint8_t addr[16]; /* bits past len are zero */
    uint8_t len;      /* 0..128 on the 16-byte form */
};

struct netlist {
    struct net_prefix *nets;
    size_t nnets, capnets;
    uint16_t *ports; /* destination ports */
    size_t nports, capports;
};

void netlist_init(struct netlist *l);
void netlist_free(struct netlist *l);

/* "A", "A/N" (IPv4 or IPv6) into *p: 0 or FS_EINVAL. */
int net_prefix_parse(const char *s, struct net_prefix *p);

/* Add a prefix given as text: 0 or FS_EINVAL. */
int netlist_add_net(struct netlist *l, const char *s);

/* 1 when a (16-byte form) lies in one of the prefixes. */
int netlist_has_addr(const struct netlist *l, const uint8_t a[16]);

/* 1 when port is one of the ports. */
int netlist_has_port(const struct netlist *l, uint16_t port);

/*
 * Read an allow list: one entry a line, '#' starts a comment, blank lines ignored:
 *   ADDRESS or PREFIX      (10.0.0.5, 10.1.0.0/16, 2001:db8::/32)
 *   port N                 (1..65535: flows to this destination port)
 * Returns 0, -errno when the file cannot be read, or FS_EINVAL with msg holding
 * "FILE:LINE: what is wrong".
 */
int netlist_load(struct netlist *l, const char *path, char *msg, size_t msglen);

#endif
