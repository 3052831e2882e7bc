/*
 * The log of a long-running command (collect -l, meter -i): every line it writes to
 * stderr becomes a log line, stamped with the time in RFC 3339 (UTC, milliseconds:
 * "2026-12-07T02:50:00.123Z flowsleuth collect: ..."), or with --syslog sent to
 * syslog(3) (facility daemon, the command's name and pid) instead of stderr.
 *
 * Done by replacing stderr with a stream that stamps whole lines (glibc's
 * fopencookie), so the messages of every module keep their one fprintf(stderr, ...)
 * and a message written by two threads at once stays two whole lines. Lines longer
 * than LOG_LINE_MAX are cut there.
 */
#ifndef FS_DAEMON_LOG_H
#define FS_DAEMON_LOG_H

#define LOG_LINE_MAX 4096

/* From now on stderr is the log: stamped lines on the old stderr, or syslog with
 * ident (e.g. "flowsleuth-collect") when use_syslog. 0, or -1 when no stream could be
 * made (stderr is then left as it was). */
int daemon_log_start(const char *ident, int use_syslog);

/* Flush what is pending and put the old stderr back (at exit). */
void daemon_log_stop(void);

#endif
