/*
 * metrics: securejeebsd's Prometheus text-format metrics (exposition format
 * 0.0.4), served over HTTP on metrics_listen and/or written to
 * metrics_textfile for node_exporter's textfile collector.  Both are off
 * unless configured.  The HTTP side runs in the daemon's libev loop, never
 * blocks, and is bounded (clients, request size, time); a rendering is
 * reused for a second, so a scrape storm costs one rendering a second.
 */
#ifndef SJ_METRICS_H
#define SJ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"

#define METRICS_MAX_CLIENTS	16	/* HTTP clients at once */
#define METRICS_REQUEST_MAX	4096	/* bytes of request head */
#define METRICS_CLIENT_TIMEOUT	10.0	/* seconds for a whole exchange */
#define METRICS_CACHE		1.0	/* seconds a rendering is reused */
#define METRICS_TEXTFILE_INTERVAL 15.0	/* seconds between textfile writes */
#define METRICS_MAX_BUCKETS	16
#define METRICS_MAX_REASONS	32	/* distinct reason labels per server */

struct daemon;

/* The exposition format's pieces (exposed for the unit test). */

/* "# HELP name help" and "# TYPE name type". */
void	metrics_family(struct buf *out, const char *name, const char *type,
	    const char *help);
/*
 * Labels text from n key/value pairs: k1="v1",k2="v2" (values escaped:
 * backslash, double quote, newline).  0, or -1 if it does not fit.
 */
int	metrics_labels(char *dst, size_t len, int n, ...);
/* One sample line: name{labels} value (labels NULL or "": none). */
void	metrics_sample(struct buf *out, const char *name, const char *labels,
	    double v);

/* A histogram with fixed upper bounds (seconds), cumulative on output. */
struct metrics_hist {
	const double	*bounds;
	size_t		 nbounds;
	uint64_t	 counts[METRICS_MAX_BUCKETS];	/* per bucket, not cumulative */
	uint64_t	 count;
	double		 sum;
};

void	metrics_hist_init(struct metrics_hist *h, const double *bounds,
	    size_t nbounds);
void	metrics_hist_add(struct metrics_hist *h, double v);
/* name_bucket{labels,le="..."} ... name_sum, name_count. */
void	metrics_hist_write(struct buf *out, const char *name,
	    const char *labels, const struct metrics_hist *h);

/* The daemon's side. */

/* Every metric of d, as text. */
int	metrics_render(struct daemon *d, struct buf *out);
/* Open what d's configuration asks for (listener, textfile); -1 logged. */
int	metrics_init(struct ev_loop *loop, struct daemon *d);
/* A reload: re-open what changed (metrics settings apply live). */
int	metrics_reconf(struct daemon *d);
/* Write the textfile a last time, close everything. */
void	metrics_fini(void);

#endif
