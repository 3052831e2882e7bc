/*
 * The grabber (DESIGN.md, "The download view"): crawl download pages over HTTP(S)
 * and add every linked file at or above a size threshold to a catalogue, with the
 * size the server states, without downloading the file. See docs/internals/grab.md.
 *
 * Breadth-first from the start URLs (depth 0). Every link is asked with HEAD (a
 * ranged GET "Range: bytes=0-0" where HEAD is refused or gives no length); a
 * text/html answer is a page, read with GET when its depth is within the limit and
 * its links queued; anything else is a file candidate. Only http/https, the start
 * URLs' hosts unless other_hosts is set, each URL (also redirect targets) once.
 * Every cap that stops something is reported through the report callback with the
 * URL and the cap, and counted; nothing hostile crashes or hangs the crawl.
 *
 * Ownership: the caller owns the catalogue and the options; grab_run allocates and
 * frees everything else. Entries' strings are copied into the catalogue's arena.
 */
#ifndef FS_GRAB_H
#define FS_GRAB_H

#include "../detect/catalog.h"

#include <stddef.h>
#include <stdint.h>

struct grab_opts {
    unsigned depth;         /* read pages up to this many links from a start URL */
    uint64_t min_size;      /* keep files of at least this many bytes */
    int other_hosts;        /* follow links and redirects to other hosts too */
    size_t max_pages;       /* pages read with GET */
    size_t max_requests;    /* HTTP requests in all (HEAD, ranged GET, GET, redirects) */
    unsigned max_redirects; /* per URL */
    uint64_t max_body;      /* bytes of one page */
    size_t max_links;       /* links taken from one page */
    uint64_t max_time_ms;   /* whole crawl */
    uint64_t timeout_ms;    /* one request */
    uint64_t delay_ms;      /* pause before every request but the first */
    const char *user_agent;
};

struct grab_stats {
    size_t requests, pages, files; /* requests sent, pages read, file candidates asked */
    size_t kept, below, nosize;    /* files kept, under the threshold, without a size */
    size_t errors;                 /* failed requests and error statuses */
    size_t offsite, deep;          /* links to other hosts, pages beyond the depth */
    size_t caps;                   /* times a cap stopped something */
    uint64_t elapsed_ms;
};

enum grab_level { GRAB_WARN, GRAB_INFO };

/* Called with one line of text ("URL: what happened"); INFO lines narrate the crawl
 * (pages read, entries kept), WARN lines are problems and caps. */
typedef void (*grab_report_fn)(void *ctx, enum grab_level level, const char *msg);

/* The defaults documented in flowsleuth-catalog(1). */
void grab_opts_default(struct grab_opts *o);

/*
 * Crawl from urls[0..n) and add one entry per kept file (source grab, name = file
 * name of the URL, product/version guessed from it, url = the URL after redirects).
 * OUT: *st. Returns 0 (problems on the way are reported, not fatal), or FS_EINVAL
 * when a start URL is not an absolute http/https URL (reported), or FS_EBASE when
 * libcurl cannot start.
 */
int grab_run(struct catalog *cat, char *const *urls, size_t n, const struct grab_opts *o,
             grab_report_fn report, void *ctx, struct grab_stats *st);

/* --- pure helpers, exported for the unit tests --- */

/* Content-Range "bytes 0-0/1234", or "bytes STAR/1234" (STAR = '*', as a 416 has it)
 * -> *total = 1234; 0, or -1 when the value is malformed or the total unknown. */
int grab_content_range(const char *v, uint64_t *total);

/* Content-Type names an HTML page (text/html, application/xhtml+xml; case and
 * parameters ignored). */
int grab_is_html(const char *ctype);

/* The file name of a URL: its last non-empty path segment, percent-decoded where
 * the byte is printable (else kept encoded); the host when the path is empty. */
void grab_file_name(const char *url, char *out, size_t outlen);

/* Product and version from a file name where the pattern is clear: up to two
 * extensions dropped (1-5 letters or digits starting with a letter, or "7z"), then a
 * product that starts with a letter, '-' or '_', an optional 'v', a version of at least
 * two dot-separated numbers with an optional pre-release tag (rc1, -beta2, ~pre3), and
 * then the end, '.' and a letter, or another '-', '_', '+' part
 * ("foo-bar-1.2.3-linux-x64.tar.gz" -> "foo-bar", "1.2.3"). Otherwise both are "". */
void grab_guess(const char *name, char *product, size_t plen, char *version, size_t vlen);

#endif
