#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int arg_u32(const char *cmd, const char *name, const char *arg, uint32_t lo, uint32_t hi,
            uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "flowsleuth %s: %s needs %u..%u, not '%s'\n", cmd, name, lo, hi, arg);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

void arg_usage_say(const char *cmd, const char *usage)
{
    const char *end = strstr(usage, "\n\n");
    int n = end ? (int)(end - usage) + 1 : (int)strlen(usage);
    fprintf(stderr, "%.*s'flowsleuth %s --help' explains every option.\n", n, usage, cmd);
}
