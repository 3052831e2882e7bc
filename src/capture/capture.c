#include "capture.h"

#include "../core/xalloc.h"
#include "pcap_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A classic pcap file read from a mapping of it (pcap_file.h), without libpcap. */
struct mapped {
    const uint8_t *base;
    size_t len;
    size_t pos;     /* next record */
    size_t dropped; /* pages below this offset are unmapped from our memory */
    size_t ahead;   /* lines below this offset have been prefetched */
    struct pcap_file pf;
    pcap_t *dead; /* for compiling and running a BPF filter */
    struct bpf_program prog;
    int filtered;
};

struct capture {
    pcap_t *p; /* NULL when mapped */
    struct mapped *m;
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

/*
 * Pages of the mapping already read are given back every this many bytes: the file's
 * pages stay in the page cache, but no longer count in the meter's resident memory
 * (a 4 GB capture would otherwise end with 4 GB resident).
 */
#define MAPPED_DROP (2u << 20)

/*
 * How far ahead of the record being read every line of a mapped file is prefetched.
 * In a file of whole packets each record header and the packet headers behind it lie
 * on lines of their own, some 900 bytes apart, a stride no hardware prefetcher
 * follows: fetched when read, each is a memory miss waited for, one after the other.
 * A prefetch of every line a page ahead turns them into one sequential stream; as
 * non-temporal prefetches, the lines not read do not push the flow table out of the
 * cache. docs/internals/capture.md has the measurements.
 */
#define MAPPED_AHEAD (4u << 10)

/* Compile a BPF filter for a mapped file, against its link type and snap length. */
static int mapped_filter(struct mapped *m, const char *bpf, struct fs_err *err)
{
    m->dead = pcap_open_dead(m->pf.dlt, (int)m->pf.snapshot);
    if (!m->dead)
        return fs_err_set(err, FS_EPCAP, -1, "cannot set capture filter: out of memory");
    if (pcap_compile(m->dead, &m->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return fs_err_set(err, FS_EINVAL, -1, "bad capture filter '%s': %s", bpf,
                          pcap_geterr(m->dead));
    m->filtered = 1;
    return 0;
}

static void mapped_close(struct mapped *m)
{
    if (!m)
        return;
    if (m->filtered)
        pcap_freecode(&m->prog);
    if (m->dead)
        pcap_close(m->dead);
    munmap((void *)m->base, m->len);
    free(m);
}

/* Map path when it is a regular file in a format pcap_file.h takes: 1 when mapped,
 * 0 when it is for libpcap. */
static int map_file(struct mapped **out, const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* libpcap's open reports it */
    struct stat st;
    uint8_t hdr[PCAP_FILE_HDR_LEN];
    struct pcap_file pf;
    void *base = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= PCAP_FILE_HDR_LEN &&
        (uint64_t)st.st_size <= SIZE_MAX &&
        pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
        pcap_file_header(hdr, sizeof(hdr), &pf) == PCAP_FILE_OURS)
        base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (base == MAP_FAILED)
        return 0;
    madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
    struct mapped *m = xcalloc(1, sizeof(*m));
    m->base = base;
    m->len = (size_t)st.st_size;
    m->pos = PCAP_FILE_HDR_LEN;
    m->pf = pf;
    *out = m;
    return 1;
}

/*
 * Map path and compile the filter for it. Returns 1 with *out set, 0 when libpcap
 * should read the file instead (stdin, a pipe, pcapng, ...), or a negative code (a
 * bad filter). FS_PCAP_READER in the environment is for the test
 * that compares the two readers (tests/e2e/011-pcap-readers.sh): "libpcap" reads
 * every file with libpcap, "own" refuses a file the own reader does not take.
 */
static int open_mapped(struct mapped **out, const char *path, const char *bpf, struct fs_err *err)
{
    const char *force = getenv("FS_PCAP_READER");
    if (force && strcmp(force, "libpcap") == 0)
        return 0;
    int rc = map_file(out, path);
    if (rc == 0 && force && strcmp(force, "own") == 0)
        return fs_err_set(err, FS_EUNSUP, -1, "%s: not a file the own pcap reader takes", path);
    if (rc == 1 && bpf && *bpf) {
        int frc = mapped_filter(*out, bpf, err);
        if (frc) {
            mapped_close(*out);
            *out = NULL;
            return frc;
        }
    }
    return rc;
}

/* The next packet of a mapped file that passes the filter. */
static int mapped_next(struct mapped *m, struct capture_pkt *out, struct fs_err *err)
{
    for (;;) {
        /* The previous packet is no longer the caller's: its pages may go. */
        if (m->pos - m->dropped >= 2 * (size_t)MAPPED_DROP) {
            madvise((void *)(m->base + m->dropped), MAPPED_DROP, MADV_DONTNEED);
            m->dropped += MAPPED_DROP;
        }
        size_t used = 0;
        int rc = pcap_file_record(&m->pf, m->base + m->pos, m->len - m->pos, out, &used, err);
        if (rc != CAPTURE_PACKET)
            return rc == CAPTURE_END ? rc : FS_EPCAP;
        m->pos += used;
        /* Every line of the file up to MAPPED_AHEAD bytes past this record, into the
         * cache while the packets before it are metered (a prefetch never faults). */
        size_t lim = m->len - m->pos > MAPPED_AHEAD ? m->pos + MAPPED_AHEAD : m->len;
        for (; m->ahead < lim; m->ahead += 64)
            __builtin_prefetch(m->base + m->ahead, 0, 0);
        if (!m->filtered)
            return CAPTURE_PACKET;
        struct pcap_pkthdr h = { .caplen = out->caplen, .len = out->wirelen };
        if (pcap_offline_filter(&m->prog, &h, out->data))
            return CAPTURE_PACKET;
    }
}

int capture_open_file(struct capture **out, const char *path, const char *bpf, struct fs_err *err)
{
    struct mapped *m = NULL;
    int mrc = open_mapped(&m, path, bpf, err);
    if (mrc < 0)
        return mrc;
    if (mrc) {
        struct capture *c = xcalloc(1, sizeof(*c));
        c->m = m;
        *out = c;
        return 0;
    }
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
    if (c->m)
        return mapped_next(c->m, out, err);
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

/*
 * mapped_next gives pages back at least MAPPED_DROP bytes behind the record it reads,
 * one record per call when nothing is filtered out, and a record is at most
 * PCAP_FILE_REC_LEN + PCAP_FILE_MAX_CAPLEN bytes. A filter skips any number of
 * records in one call.
 */
int capture_keeps(const struct capture *c)
{
    if (!c->m || c->m->filtered)
        return 0;
    return (int)(MAPPED_DROP / (PCAP_FILE_REC_LEN + PCAP_FILE_MAX_CAPLEN)) - 1;
}

int capture_linktype(const struct capture *c)
{
    return c->m ? c->m->pf.dlt : pcap_datalink(c->p);
}

void capture_stop(struct capture *c)
{
    c->stop = 1;
    if (c->p)
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
    if (c->p)
        pcap_close(c->p); /* closes the FILE too (stdin included) */
    mapped_close(c->m);
    free(c->iobuf);
    free(c);
}
