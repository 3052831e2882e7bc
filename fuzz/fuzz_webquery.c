/*
 * libFuzzer target for the web console's request parsing (src/web/req.c): the input is
 * "PATH?QUERY"; the path goes through web_ep_parse and the query through
 * web_req_parse_query (percent-decoding, then every parameter checked by web_req_set).
 * Checked beyond memory safety: a refused query says why (a non-empty message); an
 * accepted one leaves the request within its bounds (rows 1..WEB_MAX_ROWS, a bin of
 * at least a second, a window that ends after it starts, NUL-terminated texts); the
 * filter an accepted query carries compiles or fails with a position inside it, as the
 * server would compile it; and a request's JSON error for the message is valid UTF-8
 * free of raw control bytes and '<'.
 */
#include "query/filter.h"
#include "web/web.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(
    int *argc, char ***argv) // NOLINT(readability-non-const-parameter): libFuzzer's signature
{
    (void)argc;
    (void)argv;
    filter_allow_set_files(0); /* as serve: a filter may not name a file */
    return 0;
}

static void check_json(const char *msg)
{
    char buf[4096];
    FILE *fp = fmemopen(buf, sizeof(buf), "w");
    if (!fp)
        return;
    web_json_error(fp, msg);
    fclose(fp);
    buf[sizeof(buf) - 1] = 0;
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
        if (*p < 0x20 || *p == '<')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *q = strchr(text, '?');
    if (q)
        *q++ = 0;
    int ep = web_ep_parse(text);
    if (ep < -1 || ep >= WEB_NEP)
        abort();
    struct web_req r;
    char msg[300] = "";
    web_req_init(&r, ep < 0 ? WEB_TOP : (enum web_ep)ep);
    /* a fixed "now" (2026-12-01) for relative windows */
    if (web_req_parse_query(&r, q ? q : "", 1764547200000ull, msg, sizeof(msg)) != 0) {
        if (!msg[0] || strlen(msg) >= sizeof(msg))
            abort();
        check_json(msg);
    } else {
        if (r.n < 1 || r.n > WEB_MAX_ROWS || r.limit < 1 || r.limit > WEB_MAX_ROWS || r.bin_s < 1 ||
            (r.to_ms && r.to_ms <= r.from_ms) || (r.prev != 0 && r.prev != 1) ||
            memchr(r.filter, 0, sizeof(r.filter)) == NULL ||
            memchr(r.window, 0, sizeof(r.window)) == NULL ||
            memchr(r.key, 0, sizeof(r.key)) == NULL)
            abort();
        struct filter *f = NULL;
        struct fs_err err = { 0 };
        if (filter_compile(r.filter, &f, &err) == 0)
            filter_free(f);
        else if (err.pos < 0 || (size_t)err.pos > strlen(r.filter))
            abort();
    }
    free(text);
    return 0;
}
