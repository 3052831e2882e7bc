/*
 * catalog import FILE.json: a JSON array of objects whose keys are catalogue columns
 * (catalog.h, version 1: size name product version arch os url digest spread; source
 * is always "import"). size is required (a non-negative integer, or a string of
 * decimal digits); spread likewise optional; the text columns are strings. Unknown
 * keys are ignored, as CSV import ignores unknown columns.
 */
#ifndef FS_CATALOG_JSON_H
#define FS_CATALOG_JSON_H

#include "catalog.h"

/*
 * Parse buf[0..len) with jansson and append one entry per array element; name is the
 * file name for messages. Returns 0 or FS_ECORRUPT with err saying
 * "NAME: [INDEX]: field 'F': what" (or "NAME:LINE:COLUMN: JSON syntax: ..." when the
 * text is not JSON). Entries before the bad element stay.
 */
int catalog_import_json(struct catalog *c, const char *name, const char *buf, size_t len,
                        struct fs_err *err);

#endif
