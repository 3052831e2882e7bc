/*
 * catalog import from JSON (catalog_json.h): jansson parses, every element is checked
 * field by field.
 */
#include "catalog_json.h"

#include <jansson.h>
#include <string.h>

/* A byte count: a JSON integer >= 0, or a string of decimal digits (sizes above 2^63
 * do not fit jansson's integers). */
static int json_count(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0)
            return -1;
        *out = (uint64_t)x;
        return 0;
    }
    const char *s = json_string_value(v);
    uint64_t x = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *out = x;
    return 0;
}

static int elem_err(struct fs_err *err, const char *name, size_t i, const char *field,
                    const char *what)
{
    return fs_err_set(err, FS_ECORRUPT, (long long)i, "%s: [%zu]: field '%s': %s", name, i, field,
                      what);
}

/* One array element into an entry. */
static int json_entry(struct catalog *c, const json_t *o, const char *name, size_t i,
                      struct fs_err *err)
{
    const char *txt[CATALOG_NCOLUMNS]; /* as catalog_columns; size, spread unused */
    uint64_t size, spread = 0;
    for (size_t k = 0; k < CATALOG_NCOLUMNS; k++)
        txt[k] = "";
    if (!json_is_object(o))
        return elem_err(err, name, i, "size", "element is not an object");
    const json_t *v = json_object_get(o, "size");
    if (!v)
        return elem_err(err, name, i, "size", "missing");
    if (json_count(v, &size) != 0)
        return elem_err(err, name, i, "size", "not a byte count (integer >= 0)");
    if ((v = json_object_get(o, "spread")) != NULL && json_count(v, &spread) != 0)
        return elem_err(err, name, i, "spread", "not a byte count (integer >= 0)");
    for (int k = 0; k < 7; k++) {
        v = json_object_get(o, catalog_columns[k + 1]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v))
            return elem_err(err, name, i, catalog_columns[k + 1], "not a string");
        if (strlen(json_string_value(v)) != json_string_length(v))
            return elem_err(err, name, i, catalog_columns[k + 1], "holds a NUL character");
        txt[k + 1] = json_string_value(v);
    }
    catalog_add_import(c, size, spread, txt);
    return 0;
}

int catalog_import_json(struct catalog *c, const char *name, const char *buf, size_t len,
                        struct fs_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root)
        return fs_err_set(err, FS_ECORRUPT, je.position, "%s:%d:%d: JSON syntax: %s", name, je.line,
                          je.column, je.text);
    int rc = 0;
    if (!json_is_array(root))
        rc = fs_err_set(err, FS_ECORRUPT, 0, "%s: top level: not a JSON array of entries", name);
    for (size_t i = 0; rc == 0 && i < json_array_size(root); i++)
        rc = json_entry(c, json_array_get(root, i), name, i, err);
    json_decref(root);
    return rc;
}
