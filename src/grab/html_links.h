/*
 * Links of an HTML page, for catalog grab: a pure function over a buffer (no network,
 * no files), so unit tests and the fuzzer call it directly.
 *
 * libxml2's HTML parser (recovering, errors silenced, no network) reads the page; the
 * links are the href of <a>, <area> and <link>, and the src of <frame> and <iframe>,
 * in document order. The first <base href> replaces the base URL (HTML's rule). Each
 * value is stripped of surrounding ASCII whitespace, resolved against the base with
 * curl's URL API (relative, absolute, protocol-relative "//host/x"), its fragment
 * removed, and kept only when the result is an http or https URL. Entities in
 * attributes ("&amp;") are decoded by the parser.
 *
 * Bounds: at most max_links URLs (further links are counted in `dropped`), each at
 * most HTML_LINKS_MAX_URL bytes (longer ones counted in `dropped` too); the input is
 * at most INT_MAX bytes (libxml2's limit; callers cap pages far below).
 *
 * Ownership: html_links_extract fills caller storage; html_links_free frees the URLs.
 */
#ifndef FS_HTML_LINKS_H
#define FS_HTML_LINKS_H

#include <stddef.h>

#define HTML_LINKS_MAX_URL 4096

struct html_links {
    char **url; /* absolute http/https URLs without fragment, malloc'ed */
    size_t n, cap;
    size_t skipped; /* links of another scheme (mailto:, javascript:, ftp:, ...) or empty */
    size_t bad;     /* links that do not resolve to a valid URL */
    size_t dropped; /* links beyond max_links or longer than HTML_LINKS_MAX_URL */
};

/*
 * Extract the links of html[0..len) resolved against base_url (an absolute http or
 * https URL: the page's own URL after redirects). OUT: *out, initialised here.
 * Returns 0, or FS_EINVAL when base_url is not an absolute http/https URL or len is
 * too big for the parser. A page that does not parse yields no links, not an error.
 */
int html_links_extract(const char *html, size_t len, const char *base_url, size_t max_links,
                       struct html_links *out);

void html_links_free(struct html_links *l);

/*
 * Resolve ref against the absolute URL base (curl's URL API, no network), drop the
 * fragment, and copy the result into out[outlen]. Returns 1 for an http/https URL
 * that fits, 0 for another scheme, -1 for a malformed or too long one.
 */
int html_links_resolve(const char *base, const char *ref, char *out, size_t outlen);

#endif
