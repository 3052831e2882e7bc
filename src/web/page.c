/*
 * The page of the web console and of the report (web.h): one HTML document. The
 * style, Debian's d3 and the page's script are built into the binary (embed.cmake)
 * and written inline, so the report is one self-contained file and the served page
 * needs nothing but the API; a report's data sits in a <script type="application/json">
 * (its '<' escaped by web_json_str, so no text in it can close the element).
 */
#include "web.h"

#include <stdio.h>

static void html_text(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", fp);
            break;
        case '>':
            fputs("&gt;", fp);
            break;
        case '&':
            fputs("&amp;", fp);
            break;
        case '"':
            fputs("&quot;", fp);
            break;
        default:
            fputc(*s, fp);
        }
    }
}

void web_page_write(FILE *fp, const struct web_page *p)
{
    const char *title = p->title ? p->title : "flowsleuth";
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"generator\" content=\"flowsleuth " FS_VERSION "\">\n<title>",
          fp);
    html_text(fp, title);
    fputs("</title>\n<style>\n", fp);
    fwrite(web_page_css, 1, web_page_css_len, fp);
    fputs("</style>\n</head>\n<body>\n<header><h1 id=\"title\">", fp);
    html_text(fp, title);
    fputs("</h1>\n<form id=\"query\"><label>window <input id=\"window\" name=\"t\" size=\"28\" "
          "placeholder=\"whole store\" value=\"",
          fp);
    html_text(fp, p->window);
    fputs("\"></label> <label>filter <input id=\"filter\" name=\"filter\" size=\"48\" "
          "placeholder=\"every flow\" value=\"",
          fp);
    html_text(fp, p->filter);
    fputs("\"></label> <button id=\"apply\">apply</button></form>\n"
          "<pre id=\"error\" class=\"error\" hidden></pre>\n<p id=\"summary\"></p>\n",
          fp);
    if (p->generated) {
        fputs("<p class=\"note\">report made ", fp);
        html_text(fp, p->generated);
        fputs(" by flowsleuth " FS_VERSION "</p>\n", fp);
    }
    /* The bin the served page asks for: the baseline profile's when serve has one. */
    fprintf(fp, "</header>\n<main data-bin=\"%llu\">\n",
            (unsigned long long)(p->bin_s ? p->bin_s : 300));
    fputs("<section><h2>Over time</h2><div id=\"series\"></div></section>\n"
          "<section><h2>Top 10</h2><div id=\"tops\" class=\"grid\"></div></section>\n"
          "<section><h2>Flows by hour and weekday (UTC)</h2><div id=\"heat\"></div></section>\n"
          "<section id=\"alerts-section\"><h2>Alerts</h2><div id=\"alerts\"></div></section>\n"
          "<section><h2>Hosts</h2><div id=\"hosts\"></div></section>\n"
          "<section><h2>Services</h2><div id=\"services\"></div></section>\n"
          "<section id=\"inventory-section\" hidden><h2>Inventory</h2><div "
          "id=\"inventory\"></div></section>\n"
          "<section id=\"flows-section\"><h2>Flows <span id=\"drill\"></span></h2><div "
          "id=\"flows\"></div></section>\n"
          "</main>\n",
          fp);
    if (p->data_json) {
        fputs("<script type=\"application/json\" id=\"fs-data\">", fp);
        fputs(p->data_json, fp);
        fputs("</script>\n", fp);
    }
    fputs("<script>\n", fp);
    fwrite(web_d3_js, 1, web_d3_js_len, fp);
    fputs("\n</script>\n<script>\n", fp);
    fwrite(web_page_js, 1, web_page_js_len, fp);
    fputs("\n</script>\n</body>\n</html>\n", fp);
}
