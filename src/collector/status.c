/*
 * The collector's counters (per exporter and domain: datagrams, records, sequence loss,
 * malformed by reason, unknown templates, socket drops): the text its control socket
 * (src/daemon/control.h, a UNIX socket in the store folder) answers each connection
 * with, which `flowsleuth collect --status` prints; the same counters are logged at
 * each rotation.
 */
#include "../core/xalloc.h"
#include "collector.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sock_diag.h>

static void addr_text(const uint8_t ex[16], char *buf, size_t len)
{
    if (flow_addr_is_v4mapped(ex))
        inet_ntop(AF_INET, ex + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, ex, buf, (socklen_t)len);
}

static void print_entry(void *ctx, const uint8_t ex[16], uint32_t domain, int version,
                        const struct collect_stats *st)
{
    FILE *out = ctx;
    char addr[INET6_ADDRSTRLEN] = "-", ver[8];
    addr_text(ex, addr, sizeof(addr));
    if (version == 0) {
        fprintf(out, "flowsleuth collect: %s: not allowed %llu\n", addr,
                (unsigned long long)st->not_allowed);
        return;
    }
    snprintf(ver, sizeof(ver), version == 'S' ? "sflow" : version == 10 ? "ipfix" : "v%d", version);
    fprintf(out,
            "flowsleuth collect: %s %s domain %u: datagrams %llu, flows %llu, options %llu, "
            "templates %llu, withdrawn %llu, unknown template %llu (decoded later %llu, "
            "dropped %llu), sequence lost %llu, resets %llu, counter samples %llu\n",
            addr, ver, domain, (unsigned long long)st->datagrams, (unsigned long long)st->records,
            (unsigned long long)st->options_records, (unsigned long long)st->templates,
            (unsigned long long)st->withdrawals, (unsigned long long)st->unknown_template,
            (unsigned long long)st->held_decoded, (unsigned long long)st->held_dropped,
            (unsigned long long)st->seq_lost, (unsigned long long)st->seq_reset,
            (unsigned long long)st->counter_samples);
    for (int i = 0; i < CR_NRESULTS; i++)
        if (st->malformed[i])
            fprintf(out, "flowsleuth collect:   malformed %llu: %s\n",
                    (unsigned long long)st->malformed[i],
                    collect_reason_name((enum collect_reason)i));
    if (st->bad_time || st->future_time || st->tmpl_fallback || st->templates_refused)
        fprintf(out,
                "flowsleuth collect:   time out of range %llu (dropped %llu), future %llu, "
                "template of its other session %llu, templates refused (memory) %llu\n",
                (unsigned long long)st->bad_time, (unsigned long long)st->bad_time_dropped,
                (unsigned long long)st->future_time, (unsigned long long)st->tmpl_fallback,
                (unsigned long long)st->templates_refused);
}

/*
 * The kernel's drop counter of a socket now: SO_RXQ_OVFL reports it only with the next
 * datagram received, SO_MEMINFO (Linux 4.6+) at any time.
 */
uint64_t collect_socket_drops(const struct listener *l)
{
    uint64_t d = l->drops;
#if defined(SO_MEMINFO) && defined(__linux__)
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mi);
    if (l->fd >= 0 && getsockopt(l->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
        len > SK_MEMINFO_DROPS * sizeof(uint32_t) && mi[SK_MEMINFO_DROPS] > d)
        d = mi[SK_MEMINFO_DROPS];
#endif
    return d;
}

/* Open TCP connections of listener l. */
static int tcp_open_count(const struct collect_run *run, const struct listener *l)
{
    int n = 0;
    for (int i = 0; i < run->nconn; i++)
        n += run->conns[i].l == l;
    return n;
}

/* Every counter: per exporter and domain, totals, sockets, store. */
void collect_print_stats(FILE *out, const struct collect_run *run)
{
    struct collect_totals t;
    collector_foreach(run->col, print_entry, out);
    collector_totals(run->col, &t);
    fprintf(out,
            "flowsleuth collect: total flows %llu; templates cached %llu, evicted %llu; "
            "exporters evicted %llu; not flow datagrams %llu; not allowed %llu\n",
            (unsigned long long)t.sum.records, (unsigned long long)t.templates_cached,
            (unsigned long long)t.templates_evicted, (unsigned long long)t.exporters_evicted,
            (unsigned long long)t.not_flow, (unsigned long long)t.sum.not_allowed);
    for (int i = 0; i < run->nls; i++) {
        const struct listener *l = &run->ls[i];
        if (l->tcp)
            fprintf(out,
                    "flowsleuth collect: socket %s: messages %llu, connections accepted %llu, "
                    "open %d, refused %llu; closed on bad length %llu, not IPFIX %llu, "
                    "cut off inside a message %llu\n",
                    l->name, (unsigned long long)l->datagrams, (unsigned long long)l->accepted,
                    tcp_open_count(run, l), (unsigned long long)l->refused,
                    (unsigned long long)l->bad_length, (unsigned long long)l->not_ipfix,
                    (unsigned long long)l->cut_off);
        if (l->tcp)
            fprintf(out,
                    "flowsleuth collect: socket %s: refused as slots full %llu, per source "
                    "%llu, not allowed %llu; closed idle %llu\n",
                    l->name, (unsigned long long)l->refused_full,
                    (unsigned long long)l->refused_source, (unsigned long long)l->refused_allow,
                    (unsigned long long)l->idle_closed);
        else
            fprintf(out, "flowsleuth collect: socket %s: datagrams %llu, kernel drops %llu\n",
                    l->name, (unsigned long long)l->datagrams,
                    (unsigned long long)collect_socket_drops(l));
    }
    /* open: also the bins of the last rotation while they close */
    const struct bins *b = &run->bins;
    if (run->folder)
        fprintf(out,
                "flowsleuth collect: store %s: records stored %llu, in open bins %llu, lost to "
                "write errors %llu, rotations %llu, bins expired %llu%s\n",
                run->a->wpath, (unsigned long long)b->stored,
                (unsigned long long)bins_open_records(b), (unsigned long long)b->lost,
                (unsigned long long)b->rotations, (unsigned long long)run->expired,
                b->failing ? " (writing fails now)" : "");
    if (run->folder)
        fprintf(out,
                "flowsleuth collect: store %s: records with no bin %llu; template saves "
                "failed %llu%s; compiled templates %llu bytes\n",
                run->a->wpath, (unsigned long long)b->unbinned,
                (unsigned long long)run->tmpl_save_failed,
                run->tmpl_failing ? " (failing now)" : "", (unsigned long long)t.templates_bytes);
    ch_sink_print_stats(out, run->ch);
    if (run->udp)
        fprintf(out,
                "flowsleuth collect: capture: UDP packets %llu, fragments skipped %llu, "
                "truncated skipped %llu\n",
                (unsigned long long)run->udp, (unsigned long long)run->frag,
                (unsigned long long)run->trunc);
}

/* What a control socket client gets: a heading line, then every counter. */
void collect_status_text(void *ctx, FILE *out)
{
    const struct collect_run *run = ctx;
    fprintf(out, "flowsleuth collect: pid %ld, up %llu s, bin %u s\n", (long)getpid(),
            (unsigned long long)((collect_now_ms() - run->started_ms) / 1000),
            run->a->wo.bin_secs ? run->a->wo.bin_secs : STORE_BIN_SECS_DEFAULT);
    collect_print_stats(out, run);
}

char *collect_store_file(const char *store, const char *name)
{
    size_t len = strlen(store) + strlen(name) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s/%s", store, name);
    return p;
}

/* collect --status: connect, copy what the collector writes to stdout. */
int collect_status_client(const struct collect_args *a)
{
    char *path = a->control ? xstrdup(a->control) : collect_store_file(a->wpath, CTL_NAME);
    struct fs_err e = { 0 };
    int rc = control_client(path, "collector", stdout, &e);
    if (rc)
        fprintf(stderr, "flowsleuth collect: %s\n", e.msg);
    free(path);
    return rc ? 1 : 0;
}
