/*
 * The JSON of one EVE line, read in place: a validating pass that accepts exactly what
 * jansson's json_loadb(line, len, 0) accepts (an object or array at the top, RFC 8259
 * grammar, strict UTF-8, no \u0000, no lone surrogate, integers within 64 bits, at most
 * 2048 nested values), then member tables of the objects the reader asks for and
 * copies of the strings it takes. jansson builds a tree of allocated values for every
 * line, about 9 us a line of Suricata's alerts here, 80% of loading 1 M alerts; this
 * reads the line twice without allocating. fuzz_eve checks the verdicts against
 * jansson on every input.
 *
 * Ownership: ej_init / ej_free on caller storage; ej_line before each line; pointers
 * it gives out live until the next ej_line.
 */
#ifndef FS_EVE_JSON_H
#define FS_EVE_JSON_H

#include <stddef.h>
#include <stdint.h>

enum ej_verdict { EJ_OK = 0, EJ_BAD = 1, EJ_UTF8 = 2 };

#define EJ_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */
#define EJ_LEVELS    4    /* objects open at once: line, alert/flow/dns, answer */

struct ej_mem {
    const char *k; /* the key's raw text (between the quotes) */
    size_t kn;
    const char *v; /* the value's first byte */
};

struct ej_obj {
    struct ej_mem *m;
    size_t n, cap;
};

struct ej {
    const char *end; /* the line's end */
    char *arena;     /* string copies of this line */
    size_t used, cap;
    struct ej_obj lv[EJ_LEVELS];
};

void ej_init(struct ej *j);
void ej_free(struct ej *j);

/* Validate line (len bytes): EJ_OK when it is a JSON object or array jansson accepts,
 * EJ_UTF8 for bad UTF-8, else EJ_BAD. On EJ_OK the line may be read with the calls
 * below until the next ej_line. */
enum ej_verdict ej_line(struct ej *j, const char *line, size_t len);

/* The members of the object whose text starts at v (level < EJ_LEVELS: the table is
 * reused by the next call at that level); NULL when v is not an object. */
const struct ej_obj *ej_object(struct ej *j, int level, const char *v);

/* The value of member key (its last one, as jansson keeps), NULL when absent. */
const char *ej_get(const struct ej_obj *o, const char *key);

/* The string at v, unescaped and NUL-terminated (its length in *len): 0, or -1 when v
 * is not a string. */
int ej_string(struct ej *j, const char *v, const char **s, size_t *len);

/* The integer at v: 0, or -1 when v is not an integer (a real, a string, ...). */
int ej_int(const char *v, int64_t *out);

/* Arrays: the first element of the array at v (NULL when empty), the element after
 * the one at el (NULL after the last). ej_is_array says whether v is one. */
int ej_is_array(const char *v);
const char *ej_first(const char *v);
const char *ej_next(const char *el);

#endif
