/*
 * libFuzzer target: the HTML link extractor (src/grab/html_links.c). When the input
 * starts with a line "BASE:<url>\n" that URL is the base, else a fixed one, so the
 * resolver meets odd bases too. Any page must parse without a crash, leak or undefined
 * behaviour, and every link must come out bounded, absolute http(s) and fragment-free.
 */
#include "grab/html_links.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINKS 200

static void check(const struct html_links *l)
{
    if (l->n > MAX_LINKS)
        abort();
    for (size_t i = 0; i < l->n; i++) {
        const char *u = l->url[i];
        if (strlen(u) >= HTML_LINKS_MAX_URL || strchr(u, '#') ||
            (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char base[512] = "http://fuzz.example.test/dir/page.html";
    const char *p = (const char *)data;
    if (size > 5 && memcmp(p, "BASE:", 5) == 0) {
        const char *nl = memchr(p, '\n', size);
        if (nl && (size_t)(nl - p - 5) < sizeof(base)) {
            memcpy(base, p + 5, (size_t)(nl - p - 5));
            base[nl - p - 5] = '\0';
            size -= (size_t)(nl - p) + 1;
            p = nl + 1;
        }
    }
    if (memchr(base, '\0', sizeof(base)) == NULL)
        return 0;
    struct html_links l;
    if (html_links_extract(p, size, base, MAX_LINKS, &l) == 0) {
        check(&l);
        html_links_free(&l);
    }
    return 0;
}
