/*
 * One prototype per subcommand (git's builtin.h). Each lives in src/cmd/NAME.c, parses
 * its own options, and returns the exit status: 0 ok, 1 runtime error, 2 usage.
 */
#ifndef FS_CMD_H
#define FS_CMD_H

int cmd_meter(int argc, char **argv);
int cmd_print(int argc, char **argv);
int cmd_pivot(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_anomaly(int argc, char **argv);
int cmd_blocklist(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_hosts(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_services(int argc, char **argv);
int cmd_spam(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_clickhouse(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
