/*
 * Links of an HTML page (see html_links.h): libxml2 parses, curl's URL API resolves.
 */
#include "html_links.h"
#include "../core/err.h"
#include "../core/xalloc.h"

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of an RFC 3986 scheme ending in ':' at the start of s, else 0. A ':' after
 * '/', '?' or '#' belongs to a path or query ("a/b:c" is relative). */
static size_t scheme_len(const char *s)
{
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (i = 1; s[i]; i++) {
        char c = s[i];
        if (c == ':')
            return i;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return 0;
    }
    return 0;
}

static int is_web_scheme(const char *s, size_t n)
{
    return (n == 4 && strncasecmp(s, "http", 4) == 0) ||
           (n == 5 && strncasecmp(s, "https", 5) == 0);
}

/* Copy an attribute value as a browser reads it: surrounding ASCII whitespace
 * stripped, tabs and newlines inside removed (WHATWG URL parser). Returns the
 * length, or (size_t)-1 when it does not fit out[outlen]. */
static size_t clean_ref(const char *v, char *out, size_t outlen)
{
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == '\f')
        v++;
    size_t n = 0;
    for (; *v; v++) {
        if (*v == '\t' || *v == '\n' || *v == '\r')
            continue;
        if (n + 1 >= outlen)
            return (size_t)-1;
        out[n++] = *v;
    }
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\f'))
        n--;
    out[n] = '\0';
    return n;
}

int html_links_resolve(const char *base, const char *ref, char *out, size_t outlen)
{
    size_t sl = scheme_len(ref);
    if (sl && !is_web_scheme(ref, sl))
        return 0;
    CURLU *h = curl_url();
    if (!h)
        return -1;
    char *u = NULL, *scheme = NULL;
    int rc = -1;
    if (curl_url_set(h, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_URL, ref, CURLU_URLENCODE) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_URL, &u, CURLU_NO_DEFAULT_PORT) == CURLUE_OK) {
        if (!is_web_scheme(scheme, strlen(scheme)))
            rc = 0;
        else if (strlen(u) < outlen) {
            memcpy(out, u, strlen(u) + 1);
            rc = 1;
        }
    }
    curl_free(u);
    curl_free(scheme);
    curl_url_cleanup(h);
    return rc;
}

struct walk {
    struct html_links *out;
    size_t max;
    char base[HTML_LINKS_MAX_URL];
    int have_base_tag;
};

static void push(struct html_links *l, const char *url)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->url = xrealloc(l->url, l->cap * sizeof(*l->url));
    }
    l->url[l->n++] = xstrdup(url);
}

/* One attribute value found on a link element: clean, resolve, count, keep. */
static void add_ref(struct walk *w, const char *value)
{
    char ref[HTML_LINKS_MAX_URL], abs[HTML_LINKS_MAX_URL];
    size_t n = clean_ref(value, ref, sizeof(ref));
    if (n == (size_t)-1) {
        w->out->dropped++;
        return;
    }
    if (n == 0 || ref[0] == '#') { /* the page itself */
        w->out->skipped++;
        return;
    }
    if (w->out->n >= w->max) {
        w->out->dropped++;
        return;
    }
    int r = html_links_resolve(w->base, ref, abs, sizeof(abs));
    if (r > 0)
        push(w->out, abs);
    else if (r == 0)
        w->out->skipped++;
    else
        w->out->bad++;
}

/* The attribute holding a link for this element name, or NULL. */
static const char *link_attr(const char *tag)
{
    if (strcasecmp(tag, "a") == 0 || strcasecmp(tag, "area") == 0 || strcasecmp(tag, "link") == 0)
        return "href";
    if (strcasecmp(tag, "frame") == 0 || strcasecmp(tag, "iframe") == 0)
        return "src";
    return NULL;
}

/* The first <base href> that resolves replaces the base for every link, also the ones
 * before it in the document (HTML's rule), so it is looked up before the walk. */
static void find_base(struct walk *w, xmlNode *root)
{
    for (xmlNode *n = root; n;) {
        if (n->type == XML_ELEMENT_NODE && strcasecmp((const char *)n->name, "base") == 0) {
            xmlChar *v = xmlGetProp(n, (const xmlChar *)"href");
            char ref[HTML_LINKS_MAX_URL], abs[HTML_LINKS_MAX_URL];
            int ok = v && clean_ref((const char *)v, ref, sizeof(ref)) != (size_t)-1 &&
                     html_links_resolve(w->base, ref, abs, sizeof(abs)) == 1;
            xmlFree(v);
            if (ok) {
                memcpy(w->base, abs, strlen(abs) + 1);
                return;
            }
        }
        /* Iterative pre-order walk: the parser bounds the depth, but a loop costs
         * no stack at all. */
        if (n->children && n->type == XML_ELEMENT_NODE)
            n = n->children;
        else {
            while (n && !n->next)
                n = n->parent;
            if (n)
                n = n->next;
        }
    }
}

static void walk_links(struct walk *w, xmlNode *root)
{
    for (xmlNode *n = root; n;) {
        const char *attr;
        if (n->type == XML_ELEMENT_NODE && (attr = link_attr((const char *)n->name)) != NULL) {
            xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
            if (v)
                add_ref(w, (const char *)v);
            xmlFree(v);
        }
        if (n->children && n->type == XML_ELEMENT_NODE)
            n = n->children;
        else {
            while (n && !n->next)
                n = n->parent;
            if (n)
                n = n->next;
        }
    }
}

int html_links_extract(const char *html, size_t len, const char *base_url, size_t max_links,
                       struct html_links *out)
{
    memset(out, 0, sizeof(*out));
    char probe[HTML_LINKS_MAX_URL];
    if (len > INT_MAX || strlen(base_url) >= HTML_LINKS_MAX_URL ||
        html_links_resolve(base_url, "", probe, sizeof(probe)) != 1)
        return FS_EINVAL;
    struct walk *w = xcalloc(1, sizeof(*w));
    w->out = out;
    w->max = max_links;
    memcpy(w->base, base_url, strlen(base_url) + 1);
    xmlInitParser();
    /* NONET: never fetch a DTD or entity; the errors of broken pages are normal. */
    htmlDocPtr doc = htmlReadMemory(html, (int)len, base_url, NULL,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET);
    if (doc) {
        xmlNode *root = xmlDocGetRootElement(doc);
        find_base(w, root);
        walk_links(w, root);
        xmlFreeDoc(doc);
    }
    free(w);
    return 0;
}

void html_links_free(struct html_links *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->url[i]);
    free(l->url);
    memset(l, 0, sizeof(*l));
}
