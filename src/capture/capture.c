#include "capture.h"

#include "../core/xalloc.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capture {
    pcap_t *p;
    int live;
    volatile sig_atomic_t stop;
    int draining; /* live, stopped: hand out what is buffered, then end */
    int fd;       /* live: selectable descriptor, polled with our own timeout */
    char *iobuf;  /* stdio buffer of a capture file */
};

/* Live read timeout: how often a quiet interface lets the caller expire flows. */
#define CAPTURE_POLL_MS 200

/*
 * libpcap reads files through stdio, a header and a packet per fread; with the
 * default 4 KB buffer that is two read(2) calls per packet. A large buffer cuts the
 * system time of metering a big file by about half (measured, bench/meter.sh).
 */
#define CAPTURE_FILE_BUFFER (4u << 20)

static int set_filter(struct capture *c, const char *bpf, struct fs_err *err)
{
    if (!bpf || !*bpf)
        return 0;
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return fs_err_set(err, FS_EINVAL, -1, "bad capture filter '%s': %s", bpf,
                          pcap_geterr(c->p));
    int rc = pcap_setfilter(c->p, &prog);
    pcap_freecode(&prog);
    if (rc != 0)
        return fs_err_set(err, FS_EPCAP, -1, "cannot set capture filter: %s", pcap_geterr(c->p));
    return 0;
}

int capture_open_file(struct capture **out, const char *path, const char *bpf, struct fs_err *err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp)
        return fs_err_set(err, -errno, -1, "%s: %s", path, strerror(errno));
    struct capture *c = xcalloc(1, sizeof(*c));
    c->iobuf = xmalloc(CAPTURE_FILE_BUFFER);
    setvbuf(fp, c->iobuf, _IOFBF, CAPTURE_FILE_BUFFER);
    /* Microsecond timestamps whatever the file holds (pcapng may carry ns). */
    c->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (!c->p) {
        if (fp != stdin)
            fclose(fp);
        free(c->iobuf);
        free(c);
        return fs_err_set(err, FS_EPCAP, -1, "%s: %s", path, ebuf);
    }
    int rc = set_filter(c, bpf, err);
    if (rc) {
        capture_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int capture_open_live(struct capture **out, const char *iface, const char *bpf, int snaplen,
                      struct fs_err *err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, ebuf);
    if (!p)
        return fs_err_set(err, FS_EPCAP, -1, "%s: %s", iface, ebuf);
    pcap_set_snaplen(p, snaplen > 0 ? snaplen : 65535);
    pcap_set_promisc(p, 1);
    pcap_set_timeout(p, 200);
    pcap_set_immediate_mode(p, 1);
    pcap_set_buffer_size(p, 32 << 20);
    int rc = pcap_activate(p);
    if (rc < 0) {
        fs_err_set(err, FS_EPCAP, -1, "%s: %s", iface, pcap_geterr(p));
        pcap_close(p);
        return FS_EPCAP;
    }
    /*
     * In immediate mode libpcap's read timeout does not fire on a quiet interface
     * (pcap_next_ex sits in poll), so idle flows would never expire and signals would
     * not be seen. Non-blocking reads plus our own poll() give a real timeout.
     */
    if (pcap_setnonblock(p, 1, ebuf) != 0 || pcap_get_selectable_fd(p) < 0) {
        fs_err_set(err, FS_EPCAP, -1, "%s: cannot poll the capture: %s", iface, ebuf);
        pcap_close(p);
        return FS_EPCAP;
    }
    struct capture *c = xcalloc(1, sizeof(*c));
    c->p = p;
    c->live = 1;
    c->fd = pcap_get_selectable_fd(p);
    rc = set_filter(c, bpf, err);
    if (rc) {
        capture_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Live: wait up to CAPTURE_POLL_MS for the descriptor; 1 when readable. */
static int wait_readable(struct capture *c)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    return poll(&pfd, 1, CAPTURE_POLL_MS) > 0;
}

int capture_next(struct capture *c, struct capture_pkt *out, struct fs_err *err)
{
    if (c->stop && !c->live)
        return CAPTURE_END;
    if (c->stop)
        c->draining = 1; /* a stopped live capture still hands out what it buffered */
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(c->p, &h, &data);
    if (rc == 0 && c->live && !c->draining && wait_readable(c))
        rc = pcap_next_ex(c->p, &h, &data);
    if (rc == 0 && c->draining)
        return CAPTURE_END;
    if (rc == PCAP_ERROR_BREAK && c->live && !c->draining) {
        c->draining = 1;
        return CAPTURE_TIMEOUT;
    }
    if (rc == 1) {
        out->data = data;
        out->caplen = h->caplen;
        out->wirelen = h->len;
        out->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        return CAPTURE_PACKET;
    }
    if (rc == 0)
        return CAPTURE_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK)
        return CAPTURE_END;
    return fs_err_set(err, FS_EPCAP, -1, "%s", pcap_geterr(c->p));
}

int capture_linktype(const struct capture *c)
{
    return pcap_datalink(c->p);
}

void capture_stop(struct capture *c)
{
    c->stop = 1;
    pcap_breakloop(c->p);
}

int capture_drops(struct capture *c, uint64_t *received, uint64_t *dropped)
{
    *received = *dropped = 0;
    if (!c->live)
        return 0;
    struct pcap_stat st;
    if (pcap_stats(c->p, &st) != 0)
        return FS_EPCAP;
    *received = st.ps_recv;
    *dropped = (uint64_t)st.ps_drop + st.ps_ifdrop;
    return 0;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    pcap_close(c->p); /* closes the FILE too (stdin included) */
    free(c->iobuf);
    free(c);
}
