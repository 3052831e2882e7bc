/*
 * --eve for print and pivot (eve_opt.h).
 */
#include "eve_opt.h"

#include "args.h"
#include "input.h"

#include <stdio.h>
#include <string.h>

static const char *const col_names[EVE_OPT_NCOLS] = { "alerts", "severity", "sid", "category",
                                                      "signature" };
static const unsigned char col_numeric[EVE_OPT_NCOLS] = { 1, 1, 1, 0, 0 };
static const int col_widths[EVE_OPT_NCOLS] = { 6, 8, 8, 30, 0 };

int eve_opt_parse(struct eve_opt *o, const char *prog, int c, const char *arg)
{
    if (c == EVE_OPT_FILE) {
        o->path = arg;
        return 1;
    }
    if (c != EVE_OPT_SLACK)
        return 0;
    o->slack_set = 1;
    return arg_u32(prog, "--eve-slack", arg, 0, 86400 * 365, &o->slack_s) ? -1 : 1;
}

/* 1 when the flows are read from stdin (no -r, or -r -). */
static int reads_stdin(const struct input_opts *in)
{
    for (size_t i = 0; i < in->npaths; i++)
        if (strcmp(in->paths[i], "-") == 0)
            return 1;
    return in->npaths == 0;
}

int eve_opt_open(struct eve_opt *o, const char *prog, const struct input_opts *in)
{
    if (!o->path) {
        if (o->slack_set)
            fprintf(stderr, "flowsleuth %s: --eve-slack without --eve\n", prog);
        return o->slack_set ? 2 : 0;
    }
    if (strcmp(o->path, "-") == 0 && reads_stdin(in)) {
        fprintf(stderr,
                "flowsleuth %s: --eve - and the flows cannot both come from stdin "
                "(give the flows with -r)\n",
                prog);
        return 2;
    }
    if (!o->slack_set)
        o->slack_s = EVE_SLACK_DEFAULT_MS / 1000;
    struct fs_err err = { 0 };
    eve_init(&o->eve);
    o->loaded = 1;
    if (eve_load(&o->eve, o->path, &err) != 0) {
        fprintf(stderr, "flowsleuth %s: --eve %s\n", prog, err.msg);
        return 1;
    }
    eve_index(&o->eve);
    return 0;
}

unsigned eve_opt_join(const struct eve_opt *o, const struct flow *f, struct eve_hit *hit)
{
    return eve_join_flow(&o->eve, f, (int64_t)o->slack_s * 1000, hit);
}

/* Decimal of v into buf (>= 11 bytes): snprintf costs more than a row's join. */
static const char *u32_text(char *buf, uint32_t v)
{
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

static void row_cells(void *ctx, const struct flow *f, const char **out)
{
    struct eve_opt *o = ctx;
    struct eve_hit hit;
    eve_opt_join(o, f, &hit);
    out[0] = hit.n ? u32_text(o->n, hit.n) : "0";
    if (!hit.best)
        return;
    const struct eve_alert *a = hit.best;
    o->sev[0] = '\0';
    if (a->severity != 255)
        u32_text(o->sev, a->severity);
    u32_text(o->sid, a->sid);
    out[1] = o->sev;
    out[2] = o->sid;
    out[3] = eve_str(&o->eve, a->category);
    out[4] = eve_str(&o->eve, a->signature);
}

void eve_opt_attach(struct eve_opt *o, struct output *out)
{
    if (!o->path)
        return;
    o->extra.ncols = EVE_OPT_NCOLS;
    o->extra.names = col_names;
    o->extra.numeric = col_numeric;
    o->extra.widths = col_widths;
    o->extra.cells = row_cells;
    o->extra.ctx = o;
    out->extra = &o->extra;
}

void eve_opt_end(struct eve_opt *o, const char *prog)
{
    if (!o->loaded)
        return;
    char text[256];
    if (eve_skips_text(&o->eve, text, sizeof(text)))
        fprintf(stderr, "flowsleuth %s: %s\n", prog, text);
    eve_free(&o->eve);
    o->loaded = 0;
}
