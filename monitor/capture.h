/*
 * capture: libpcap on the monitored interface (promiscuous, immediate mode,
 * a large ring buffer, a BPF filter for the watched services), or a pcap
 * file for tests and offline analysis.  Each frame goes to one handler; the
 * capture never interprets frames itself.
 */
#ifndef SJ_CAPTURE_H
#define SJ_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "pkt.h"

#define CAPTURE_DEFAULT_BUFFER	(64 * 1024 * 1024)
#define CAPTURE_SNAPLEN		262144	/* GSO frames exceed the MTU */

struct capture;

/* Called for every captured frame; ts is the capture time in seconds. */
typedef void (*capture_handler)(void *arg, int linktype, const uint8_t *frame,
    size_t caplen, size_t wirelen, double ts);

/* What the kernel and libpcap report, plus our own counts. */
struct capture_stats {
	uint64_t	received;	/* frames handed to the handler */
	uint64_t	kernel_drops;	/* ps_drop: ring buffer full */
	uint64_t	if_drops;	/* ps_ifdrop: interface dropped */
};

/* One watched service, for the BPF filter. */
struct capture_service {
	struct pkt_addr	addr;
	uint16_t	ports[16];
	int		nports;
};

/*
 * Build the BPF filter text for the services (and the export port, 0 for
 * none) into buf.  Returns 0, or -1 if it does not fit.
 */
int	capture_filter(const struct capture_service *svc, int nsvc,
	    uint16_t export_port, char *buf, size_t len);
/* Open the interface live with filter; err says why on failure. */
struct capture *capture_open_live(const char *ifname, const char *filter,
	    size_t bufsize, char *err, size_t errlen);
/* Open a pcap file; err says why on failure. */
struct capture *capture_open_file(const char *path, const char *filter,
	    char *err, size_t errlen);
/* Deliver frames from loop as they arrive (live captures). */
int	capture_start(struct capture *cap, struct ev_loop *loop,
	    capture_handler fn, void *arg);
/* Read a whole file capture now; returns the frame count or -1. */
long	capture_read_all(struct capture *cap, capture_handler fn, void *arg);
/*
 * Replace the filter of an open capture (a reload); "" captures every
 * frame.  The ring buffer and the counters stay.
 */
int	capture_refilter(struct capture *cap, const char *filter, char *err,
	    size_t errlen);
/* Current statistics. */
void	capture_stats(struct capture *cap, struct capture_stats *st);
/* The link type (DLT_*) of the capture. */
int	capture_linktype(const struct capture *cap);
/* Stop and close. */
void	capture_close(struct capture *cap);

#endif
