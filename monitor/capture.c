/*
 * capture: the one module that talks to libpcap (see capture.h).  Live
 * captures are non-blocking and driven by the daemon's libev loop; each
 * readiness event drains at most a bounded batch so that one busy interface
 * cannot starve the rest of the loop.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture.h"
#include "log.h"

#define CAPTURE_BATCH	512	/* frames per loop iteration */

struct capture {
	pcap_t			*p;
	int			 linktype;
	struct ev_loop		*loop;
	ev_io			 io;
	capture_handler		 fn;
	void			*arg;
	uint64_t		 received;
};

static void
capture_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *cap = (struct capture *)user;

	cap->received++;
	cap->fn(cap->arg, cap->linktype, bytes, h->caplen, h->len,
	    (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6);
}

static int
capture_set_filter(pcap_t *p, const char *filter, char *err, size_t errlen)
{
	struct bpf_program prog;

	if (filter == NULL || *filter == '\0')
		return 0;
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "bad capture filter \"%s\": %s", filter,
		    pcap_geterr(p));
		return -1;
	}
	if (pcap_setfilter(p, &prog) != 0) {
		snprintf(err, errlen, "cannot set capture filter: %s",
		    pcap_geterr(p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

int
capture_filter(const struct capture_service *svc, int nsvc,
    uint16_t export_port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	size_t off = 0;
	int i, j, n;

	buf[0] = '\0';
	for (i = 0; i < nsvc; i++) {
		inet_ntop(svc[i].addr.family, svc[i].addr.a, ip, sizeof(ip));
		n = snprintf(buf + off, len - off, "%s(tcp and host %s and (",
		    i ? " or " : "", ip);
		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
		for (j = 0; j < svc[i].nports; j++) {
			n = snprintf(buf + off, len - off, "%sport %u",
			    j ? " or " : "", svc[i].ports[j]);
			if (n < 0 || (size_t)n >= len - off)
				return -1;
			off += (size_t)n;
		}
		n = snprintf(buf + off, len - off, "))");
		if (n < 0 || (size_t)n >= len - off)
			return -1;
		off += (size_t)n;
	}
	if (export_port != 0) {
		n = snprintf(buf + off, len - off, "%s(tcp and port %u)",
		    nsvc ? " or " : "", export_port);
		if (n < 0 || (size_t)n >= len - off)
			return -1;
	}
	return 0;
}

struct capture *
capture_open_live(const char *ifname, const char *filter, size_t bufsize,
    char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *cap;
	pcap_t *p;
	int r;

	if ((p = pcap_create(ifname, ebuf)) == NULL) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		return NULL;
	}
	if (pcap_set_snaplen(p, CAPTURE_SNAPLEN) != 0 ||
	    pcap_set_promisc(p, 1) != 0 ||
	    pcap_set_immediate_mode(p, 1) != 0 ||
	    pcap_set_buffer_size(p, (int)bufsize) != 0) {
		snprintf(err, errlen, "%s: cannot set capture options",
		    ifname);
		pcap_close(p);
		return NULL;
	}
	if ((r = pcap_activate(p)) < 0) {
		snprintf(err, errlen, "%s: %s%s%s", ifname,
		    pcap_statustostr(r), r == PCAP_ERROR ? ": " : "",
		    r == PCAP_ERROR ? pcap_geterr(p) : "");
		pcap_close(p);
		return NULL;
	}
	if (r > 0)
		log_warn("capture on %s: %s", ifname, pcap_statustostr(r));
	if (capture_set_filter(p, filter, err, errlen) != 0 ||
	    pcap_setnonblock(p, 1, ebuf) != 0) {
		if (ebuf[0] != '\0')
			snprintf(err, errlen, "%s: %s", ifname, ebuf);
		pcap_close(p);
		return NULL;
	}
	if ((cap = calloc(1, sizeof(*cap))) == NULL) {
		pcap_close(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cap->p = p;
	cap->linktype = pcap_datalink(p);
	return cap;
}

struct capture *
capture_open_file(const char *path, const char *filter, char *err,
    size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct capture *cap;
	pcap_t *p;

	if ((p = pcap_open_offline(path, ebuf)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return NULL;
	}
	if (capture_set_filter(p, filter, err, errlen) != 0) {
		pcap_close(p);
		return NULL;
	}
	if ((cap = calloc(1, sizeof(*cap))) == NULL) {
		pcap_close(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cap->p = p;
	cap->linktype = pcap_datalink(p);
	return cap;
}

static void
capture_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct capture *cap = w->data;
	int n;

	(void)loop;
	(void)revents;
	n = pcap_dispatch(cap->p, CAPTURE_BATCH, capture_cb, (u_char *)cap);
	if (n == PCAP_ERROR)
		log_error("capture: %s", pcap_geterr(cap->p));
}

int
capture_refilter(struct capture *cap, const char *filter, char *err,
    size_t errlen)
{
	if (cap == NULL || cap->p == NULL) {
		snprintf(err, errlen, "no capture open");
		return -1;
	}
	/* An empty filter still replaces the old one: it accepts everything. */
	if (*filter == '\0') {
		struct bpf_program prog;

		if (pcap_compile(cap->p, &prog, "", 1,
		    PCAP_NETMASK_UNKNOWN) != 0 ||
		    pcap_setfilter(cap->p, &prog) != 0) {
			snprintf(err, errlen, "cannot clear the capture "
			    "filter: %s", pcap_geterr(cap->p));
			return -1;
		}
		pcap_freecode(&prog);
		return 0;
	}
	return capture_set_filter(cap->p, filter, err, errlen);
}

int
capture_start(struct capture *cap, struct ev_loop *loop, capture_handler fn,
    void *arg)
{
	int fd;

	if ((fd = pcap_get_selectable_fd(cap->p)) < 0)
		return -1;
	cap->loop = loop;
	cap->fn = fn;
	cap->arg = arg;
	ev_io_init(&cap->io, capture_io_cb, fd, EV_READ);
	cap->io.data = cap;
	ev_io_start(loop, &cap->io);
	return 0;
}

long
capture_read_all(struct capture *cap, capture_handler fn, void *arg)
{
	uint64_t before = cap->received;

	cap->fn = fn;
	cap->arg = arg;
	if (pcap_loop(cap->p, -1, capture_cb, (u_char *)cap) == PCAP_ERROR) {
		log_error("capture: %s", pcap_geterr(cap->p));
		return -1;
	}
	return (long)(cap->received - before);
}

void
capture_stats(struct capture *cap, struct capture_stats *st)
{
	struct pcap_stat ps;

	memset(st, 0, sizeof(*st));
	st->received = cap->received;
	if (pcap_stats(cap->p, &ps) == 0) {
		st->kernel_drops = ps.ps_drop;
		st->if_drops = ps.ps_ifdrop;
	}
}

int
capture_linktype(const struct capture *cap)
{
	return cap->linktype;
}

void
capture_close(struct capture *cap)
{
	if (cap == NULL)
		return;
	if (cap->loop != NULL)
		ev_io_stop(cap->loop, &cap->io);
	pcap_close(cap->p);
	free(cap);
}
