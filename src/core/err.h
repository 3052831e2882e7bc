/*
 * Error codes. Modules return 0 or a negative FS_E* code (or -errno); only commands
 * print and choose an exit status (STYLE.md). fs_strerror() names any of them.
 *
 * struct fs_err carries a message with the place (file, block, byte offset, column)
 * where a parser found bad input; the module fills it, the command prints it.
 */
#ifndef FS_ERR_H
#define FS_ERR_H

#include <stddef.h>

enum {
    FS_EOK = 0,
    FS_EBASE = -1000,    /* below every errno value */
    FS_EINVAL = -1001,   /* bad argument or option value */
    FS_ETRUNC = -1002,   /* input ends early */
    FS_ECORRUPT = -1003, /* input is not what its format says */
    FS_EVERSION = -1004, /* unsupported format version */
    FS_ECODEC = -1005,   /* compression codec failed */
    FS_EFORMAT = -1006,  /* not a file of ours (bad magic) */
    FS_ENOSPC = -1007,   /* capacity exhausted */
    FS_EPCAP = -1008,    /* libpcap reported an error */
    FS_EUNSUP = -1009,   /* supported format, unsupported feature */
};

struct fs_err {
    int code;      /* FS_E* or -errno, 0 when none */
    long long pos; /* byte offset / column of the problem, -1 when not known */
    char msg[256]; /* human text including what and where */
};

/* Name an error code (FS_E* or -errno). Returns a static string. */
const char *fs_strerror(int code);

/* Fill e (may be NULL) with code, pos and a printf-style message; returns code. */
int fs_err_set(struct fs_err *e, int code, long long pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
