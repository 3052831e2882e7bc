/*
 * The API's answers as JSON (web.h). Numbers are the engine's integers as they are;
 * addresses are whole (IPv6 as RFC 5952, fmt_addr); times are ms since the epoch.
 */
#include "../core/fmt.h"
#include "../query/output.h"
#include "web.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void web_json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", fp);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

static void totals(FILE *fp, uint64_t flows, uint64_t bytes, uint64_t packets)
{
    fprintf(fp, "{\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 "}", flows,
            bytes, packets);
}

static void series_body(FILE *fp, const struct count *c, uint64_t shift_ms)
{
    static const char *const names[3] = { "flows", "bytes", "packets" };
    fputs("\"start\":[", fp);
    for (size_t i = 0; i < c->nbins; i++)
        fprintf(fp, "%s%" PRIu64, i ? "," : "", count_bin_start(c, i) + shift_ms);
    fputc(']', fp);
    for (int m = 0; m < 3; m++) {
        fprintf(fp, ",\"%s\":[", names[m]);
        for (size_t i = 0; i < c->nbins; i++) {
            const struct count_bin *b = &c->bins[i];
            uint64_t v = m == 0 ? b->flows : m == 1 ? b->bytes : b->packets;
            fprintf(fp, "%s%" PRIu64, i ? "," : "", v);
        }
        fputc(']', fp);
    }
    fputs(",\"total\":", fp);
    totals(fp, c->flows, c->bytes, c->packets);
}

void web_json_series(FILE *fp, const struct count *c, const struct count *prev, uint64_t shift_ms)
{
    fprintf(fp, "{\"bin\":%" PRIu64 ",", c->bin_ms / 1000);
    series_body(fp, c, 0);
    fputs(",\"prev\":", fp);
    if (prev) {
        fputc('{', fp);
        series_body(fp, prev, shift_ms);
        fputc('}', fp);
    } else
        fputs("null", fp);
}

void web_json_top(FILE *fp, const struct stats *s, size_t n)
{
    struct stats_row rows[WEB_MAX_ROWS];
    if (n > WEB_MAX_ROWS)
        n = WEB_MAX_ROWS;
    size_t got = stats_top(s, n, rows);
    int mult = s->key.two_sided ? 2 : 1;
    uint64_t of = s->flows * (uint64_t)mult, ob = s->bytes * (uint64_t)mult,
             op = s->packets * (uint64_t)mult;
    fputs("{\"key\":", fp);
    web_json_str(fp, s->key.name);
    fprintf(fp, ",\"order\":\"%s\",\"two_sided\":%d,\"approx\":%d,\"rows\":[",
            stats_order_name(s->order), s->key.two_sided, s->tab.approx);
    for (size_t i = 0; i < got; i++) {
        char key[80], label[80];
        const struct stats_val *v = rows[i].v;
        key_part_text(key, sizeof(key), &s->key, 0, rows[i].key, 0);
        key_part_text(label, sizeof(label), &s->key, 0, rows[i].key, 1);
        fputs(i ? ",{\"key\":" : "{\"key\":", fp);
        web_json_str(fp, key);
        fputs(",\"label\":", fp);
        web_json_str(fp, label);
        fprintf(fp,
                ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64
                ",\"first\":%" PRIu64 ",\"last\":%" PRIu64 "}",
                v->flows, v->bytes, v->packets, v->first, v->last);
        of -= v->flows < of ? v->flows : of;
        ob -= v->bytes < ob ? v->bytes : ob;
        op -= v->packets < op ? v->packets : op;
    }
    fputs("],\"keys\":", fp);
    fprintf(fp, "%zu,\"other\":", s->tab.n);
    totals(fp, of, ob, op);
    fputs(",\"total\":", fp);
    totals(fp, s->flows, s->bytes, s->packets);
    fputc('}', fp);
}

void web_json_host(FILE *fp, const struct host_row *h)
{
    char a[FMT_ADDR_MAX];
    fmt_addr(a, h->addr, h->ipver);
    fprintf(fp,
            "{\"host\":\"%s\",\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"flows\":%" PRIu64
            ",\"bytes\":%" PRIu64 ",\"initiated\":%" PRIu64 ",\"answered\":%" PRIu64,
            a, h->first, h->last, h->flows, h->bytes, h->initiated, h->answered);
}

void web_json_pkg(FILE *fp, const struct cat_entry *e, uint64_t flows, const char *newest)
{
    fputs("{\"name\":", fp);
    web_json_str(fp, e->name);
    fputs(",\"version\":", fp);
    web_json_str(fp, e->version);
    fputs(",\"arch\":", fp);
    web_json_str(fp, e->arch);
    fprintf(fp, ",\"flows\":%" PRIu64 ",\"outdated\":%d,\"newest\":", flows, newest != NULL);
    web_json_str(fp, newest ? newest : "");
    fputc('}', fp);
}

void web_json_service(FILE *fp, const struct svc_row *s)
{
    char a[FMT_ADDR_MAX];
    const char *pn = proto_name(s->proto);
    if (s->server_text)
        snprintf(a, sizeof(a), "%s", s->server_text);
    else
        fmt_addr(a, s->server, s->ipver);
    fputs("{\"server\":", fp);
    web_json_str(fp, a);
    if (pn)
        fprintf(fp, ",\"proto\":\"%s\"", pn);
    else
        fprintf(fp, ",\"proto\":\"%u\"", s->proto);
    fprintf(fp,
            ",\"port\":%u,\"clients\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"status\":\"%s\"}",
            s->port, s->clients, s->flows, s->bytes, s->first, s->last,
            services_status_name(s->status));
}

void web_json_error(FILE *fp, const char *msg)
{
    fputs("{\"error\":", fp);
    web_json_str(fp, msg);
    fputs("}", fp);
}
