#define _GNU_SOURCE /* fopencookie */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

struct log_state {
    FILE *orig; /* the stderr given to the process */
    int use_syslog;
    char line[LOG_LINE_MAX];
    size_t len;
};

static struct log_state ls;
static FILE *log_fp;

/* "YYYY-MM-DDThh:mm:ss.mmmZ " into buf (at least 32 bytes); its length. */
static size_t stamp(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, cap - n, ".%03dZ ", (int)(tv.tv_usec / 1000));
    return n;
}

static void emit(struct log_state *s)
{
    if (s->use_syslog) {
        syslog(LOG_NOTICE, "%.*s", (int)s->len, s->line);
    } else {
        char out[LOG_LINE_MAX + 40];
        size_t n = stamp(out, 40);
        memcpy(out + n, s->line, s->len);
        n += s->len;
        out[n++] = '\n';
        fwrite(out, 1, n, s->orig);
        fflush(s->orig);
    }
    s->len = 0;
}

/* The stream's write: called under the FILE's lock, so lines of two threads do not mix. */
static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
    struct log_state *s = cookie;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n') {
            emit(s);
        } else if (s->len < sizeof(s->line)) {
            s->line[s->len++] = buf[i];
        }
    }
    return (ssize_t)size;
}

static int log_close(void *cookie)
{
    struct log_state *s = cookie;
    if (s->len)
        emit(s);
    return 0;
}

int daemon_log_start(const char *ident, int use_syslog)
{
    if (log_fp)
        return 0;
    cookie_io_functions_t io = { .write = log_write, .close = log_close };
    ls = (struct log_state){ .orig = stderr, .use_syslog = use_syslog };
    FILE *fp = fopencookie(&ls, "w", io);
    if (!fp)
        return -1;
    setvbuf(fp, NULL, _IOLBF, 0);
    if (use_syslog)
        openlog(ident, LOG_PID, LOG_DAEMON);
    fflush(stderr);
    log_fp = fp;
    stderr = fp;
    return 0;
}

void daemon_log_stop(void)
{
    if (!log_fp)
        return;
    stderr = ls.orig;
    fclose(log_fp);
    log_fp = NULL;
    if (ls.use_syslog)
        closelog();
}
