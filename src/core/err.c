#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *fs_strerror(int code)
{
    switch (code) {
    case FS_EOK:
        return "success";
    case FS_EINVAL:
        return "invalid argument";
    case FS_ETRUNC:
        return "truncated input";
    case FS_ECORRUPT:
        return "corrupt input";
    case FS_EVERSION:
        return "unsupported format version";
    case FS_ECODEC:
        return "compression codec error";
    case FS_EFORMAT:
        return "not a flowsleuth file";
    case FS_ENOSPC:
        return "capacity exhausted";
    case FS_EPCAP:
        return "packet capture error";
    case FS_EUNSUP:
        return "unsupported feature";
    default:
        break;
    }
    if (code < 0 && code > FS_EBASE)
        return strerror(-code);
    return "unknown error";
}

int fs_err_set(struct fs_err *e, int code, long long pos, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    e->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}
