/*
 * Names of the firewall and NAT event codes of struct flow (fw_event, nat_event),
 * printed by the output and accepted by the filter (docs/internals/decode.md,
 * "Firewall and NAT").
 *
 * fw_event: IANA IPFIX "firewallEvent" (IE 233) values, which are also Cisco's NSEL
 * FW_EVENT (field 40005): 0 ignore, 1 created, 2 deleted, 3 denied, 4 alert, 5 update.
 * nat_event: IANA "NAT Event Type" registry (IE 230, RFC 8158 section 4.1), 1..18.
 *
 * Pure functions over static tables; nothing to free.
 */
#ifndef FS_FWNAT_H
#define FS_FWNAT_H

#include <stddef.h>
#include <stdint.h>

/* The name of a fw_event / nat_event code, or NULL when the registry has none. */
const char *fw_event_name(unsigned v);
const char *nat_event_name(unsigned v);

/* The code of a name (ignoring case, the s[0..len) bytes), or -1. */
int fw_event_code(const char *s, size_t len);
int nat_event_code(const char *s, size_t len);

/* The names joined by ", " for --help and error messages. */
const char *fw_event_names(void);
const char *nat_event_names(void);

/*
 * A Cisco ACL id (NSEL fields 33000/33001, 12 bytes: ACL id, ACE id, extended ACE id,
 * each a 32-bit hash) as struct flow keeps it: ACL id << 32 | ACE id.
 * Printed "%08x:%08x" (ACL:ACE), "0" when zero; acl_parse reads that form back
 * (and "0"); 0 or -1 on a malformed text.
 */
int acl_format(uint64_t v, char *buf, size_t cap);
int acl_parse(const char *s, size_t len, uint64_t *v);

#endif
