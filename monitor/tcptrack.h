/*
 * tcptrack: follow every TCP connection of the watched services from the
 * captured segments.  Per connection it knows the handshake options and
 * ISNs, the latest seq/ack/window/TSval each way, and both byte streams
 * reassembled (out of order, retransmitted, overlapping, across sequence
 * wrap).  It keeps only the bytes recovery may need, within fixed bounds,
 * and hands contiguous stream data to its consumer (the SSH tracker) as soon
 * as it is complete.  Stream positions are 64-bit offsets from the first
 * byte after the SYN, so they never wrap.
 *
 * After a restart of the daemon a connection is resumed from what only its
 * handshake showed (saved by the consumer): each direction re-anchors at the
 * first segment seen from its sender, with offsets relative to the saved
 * ISN, so positions are exact again at once; what was sent while the daemon
 * was down is a known hole, not a capture loss.
 */
#ifndef SJ_TCPTRACK_H
#define SJ_TCPTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pkt.h"

#define TCPTRACK_C2S	0		/* client to server */
#define TCPTRACK_S2C	1		/* server to client */

/* Why a connection cannot be protected (0: it can). */
#define TCPTRACK_OK			0
#define TCPTRACK_NO_HANDSHAKE		1	/* picked up mid-stream */
#define TCPTRACK_GAP			2	/* capture lost stream bytes */
#define TCPTRACK_RETAIN_LIMIT		3	/* too many unacked bytes */
#define TCPTRACK_OOO_LIMIT		4	/* out-of-order bytes over bound */
#define TCPTRACK_CLOSING		5	/* FIN seen */
#define TCPTRACK_RESUME_HOLE		6	/* bytes sent while the daemon was
						   down are still needed */
#define TCPTRACK_RESUME_WAIT		7	/* resumed: a side not seen yet */

enum tcptrack_state {
	TCPTRACK_SYN_SENT,		/* client SYN seen */
	TCPTRACK_SYN_RECEIVED,		/* server SYN-ACK seen */
	TCPTRACK_ESTABLISHED,
	TCPTRACK_FIN_WAIT,		/* one side has sent FIN */
	TCPTRACK_CLOSED,		/* both FINs, or RST */
};

/* One out-of-order segment waiting for the hole before it to fill. */
struct tcptrack_seg {
	uint64_t		 off;
	size_t			 len;
	struct tcptrack_seg	*next;
	uint8_t			 data[];
};

/* One direction of a connection: what its sender sent. */
struct tcptrack_dir {
	/* From the sender's SYN (or SYN-ACK). */
	int		syn_seen;
	uint32_t	isn;
	int		has_mss, has_wscale, has_sackok, has_ts;
	uint16_t	mss;
	uint8_t		wscale;
	/* Latest values sent by this side. */
	uint32_t	last_seq;	/* seq of the latest segment */
	uint32_t	last_ack;	/* its ack field */
	uint32_t	win;		/* advertised window, scaled */
	uint32_t	tsval, tsecr;
	double		tsval_time;	/* capture time of tsval */
	double		last_time;	/* capture time of its latest segment */
	/* The stream this side sends. */
	uint64_t	delivered;	/* contiguous bytes seen: next offset */
	uint64_t	highest;	/* end of the highest byte seen */
	uint64_t	acked;		/* the peer's cumulative ack of it */
	uint64_t	base;		/* offset of retained[0] */
	uint64_t	hold;		/* consumer keeps bytes from here on */
	struct buf	retained;	/* bytes [base, delivered) */
	struct tcptrack_seg *ooo;	/* sorted, disjoint, beyond delivered */
	size_t		ooo_bytes;
	int		fin_seen;
	int		fin_acked;	/* the peer acknowledged the FIN */
	uint64_t	fin_off;	/* offset the FIN occupies */
	int		lost_reason;	/* why base moved past needed bytes */
	uint64_t	ooo_dropped;	/* segments dropped: ooo bound */
	uint64_t	gaps;		/* holes the capture lost */
	uint64_t	gap_bytes;
	uint64_t	segments;
	uint64_t	bytes;		/* payload bytes seen, retransmits too */
	/* Resumed after a restart (tcptrack_resume()). */
	int		resume_pending;	/* no segment from this side yet */
	int		ack_unknown;	/* the peer's ack not seen since */
	uint64_t	anchor;		/* offset of the first segment since */
};

struct tcptrack_conn {
	struct pkt_addr		 client, server;
	uint16_t		 cport, sport;
	enum tcptrack_state	 state;
	int			 unprotectable;	/* lasting TCPTRACK_* reason */
	double			 first_time, last_time;
	struct tcptrack_dir	 dir[2];
	void			*upper;		/* the consumer's per-conn state */
	int			 resumed;	/* from a saved handshake */
	/* The consumer's record of what it saved; tcptrack never reads it. */
	int			 saved;
	uint64_t		 saved_off[2];
	double			 saved_time;
	uint64_t		 id;		/* unique within this tracker */
	struct tcptrack_conn	*hnext;		/* hash chain */
	struct tcptrack_conn	*lnext, *lprev;	/* list of all */
};

/* What the tracker tells its consumer. */
struct tcptrack_ops {
	/* A connection appeared (its first segment's state is set). */
	void	(*conn_new)(void *arg, struct tcptrack_conn *c);
	/* len contiguous bytes at stream offset off in direction dir. */
	void	(*data)(void *arg, struct tcptrack_conn *c, int dir,
		    uint64_t off, const uint8_t *p, size_t len);
	/*
	 * The peer acknowledged direction dir up to offset acked (called
	 * before bytes are released, so the consumer can move its hold).
	 */
	void	(*acked)(void *arg, struct tcptrack_conn *c, int dir,
		    uint64_t acked);
	/* Bytes [off, off + len) of direction dir were lost by the capture. */
	void	(*gap)(void *arg, struct tcptrack_conn *c, int dir,
		    uint64_t off, uint64_t len);
	/* The connection is gone (why: "rst", "fin", "timeout", ...); c is freed after. */
	void	(*conn_end)(void *arg, struct tcptrack_conn *c,
		    const char *why);
	/* Both SYNs seen and the handshake completed (tcptrack_handshake()). */
	void	(*established)(void *arg, struct tcptrack_conn *c);
	/*
	 * A resumed connection's direction dir re-anchored: its stream goes on
	 * at offset off; the bytes before it were sent while the daemon was
	 * down (called before any data of dir).
	 */
	void	(*resumed)(void *arg, struct tcptrack_conn *c, int dir,
		    uint64_t off);
};

/* What only the handshake shows: enough to resume after a restart. */
struct tcptrack_handshake {
	struct pkt_addr	 client, server;
	uint16_t	 cport, sport;
	uint32_t	 isn[2];		/* by direction */
	int		 has_mss[2];
	uint16_t	 mss[2];
	int		 has_wscale;		/* negotiated: both offered it */
	uint8_t		 wscale[2];
	int		 sackok, ts;		/* negotiated */
	/*
	 * A recent offset of each stream (0: none): a resumed stream's 32-bit
	 * sequence numbers are unwrapped to the 64-bit offset closest to it,
	 * so it must be less than 2 GiB behind.
	 */
	uint64_t	 ref_off[2];
};

/* Bounds and timeouts; tcptrack_limits_default() fills sane values. */
struct tcptrack_limits {
	size_t	max_retain;	/* retained bytes per direction */
	size_t	max_ooo;	/* out-of-order bytes per direction */
	size_t	max_conns;	/* connections tracked at once */
	double	syn_timeout;	/* handshake never completed */
	double	fin_timeout;	/* after a FIN, silence this long ends it */
	double	resume_timeout;	/* resumed and never seen: forgotten */
	double	midstream_timeout; /* picked up mid-stream, then silent */
};

struct tcptrack;

/* Fill lim with the defaults. */
void	tcptrack_limits_default(struct tcptrack_limits *lim);
/* Create a tracker calling ops with arg. */
struct tcptrack *tcptrack_new(const struct tcptrack_limits *lim,
	    const struct tcptrack_ops *ops, void *arg);
/* Free the tracker and every connection (conn_end is called with "shutdown"). */
void	tcptrack_free(struct tcptrack *t);
/* Watch the service at addr:port (the server side of connections). */
int	tcptrack_watch(struct tcptrack *t, const struct pkt_addr *addr,
	    uint16_t port);
/* Forget every watched service (a reload watches the new ones again). */
void	tcptrack_unwatch_all(struct tcptrack *t);
/* Feed one decoded segment captured at time now; 0 if it was tracked. */
int	tcptrack_feed(struct tcptrack *t, const struct pkt_tcp *seg,
	    double now);
/* The handshake of an established connection whose SYNs were seen; -1 if not. */
int	tcptrack_handshake(const struct tcptrack_conn *c,
	    struct tcptrack_handshake *hs);
/*
 * Track a connection from its saved handshake (conn_new is called): each
 * direction re-anchors at its sender's first segment (ops.resumed).  NULL if
 * the tuple is not watched, already tracked, or over the bound.
 */
struct tcptrack_conn *tcptrack_resume(struct tcptrack *t,
	    const struct tcptrack_handshake *hs, double now);
/* End connections that have timed out by now. */
void	tcptrack_expire(struct tcptrack *t, double now);
/*
 * Let the consumer keep bytes of dir from offset off on, even once the peer
 * has acknowledged them (default: none; bytes go once acknowledged).
 */
void	tcptrack_hold(struct tcptrack_conn *c, int dir, uint64_t off);
/* Call fn for every connection. */
void	tcptrack_foreach(struct tcptrack *t,
	    void (*fn)(void *arg, struct tcptrack_conn *c), void *arg);
/* Find a connection by its 4-tuple. */
struct tcptrack_conn *tcptrack_find(struct tcptrack *t,
	    const struct pkt_addr *client, uint16_t cport,
	    const struct pkt_addr *server, uint16_t sport);
/* Number of tracked connections. */
size_t	tcptrack_count(const struct tcptrack *t);
/* Whether the connection could be rebuilt now: TCPTRACK_OK or the reason. */
int	tcptrack_protectable(const struct tcptrack_conn *c);
/* The retained bytes of dir: from stream offset *off, *len bytes at *p. */
int	tcptrack_retained(const struct tcptrack_conn *c, int dir,
	    uint64_t *off, const uint8_t **p, size_t *len);
/* Bytes of memory a connection holds now (for status and benchmarks). */
size_t	tcptrack_conn_memory(const struct tcptrack_conn *c);
/* The 64-bit stream offset congruent to rel (mod 2^32) closest to ref. */
uint64_t tcptrack_unwrap(uint32_t rel, uint64_t ref);
/* Sequence number (32-bit, on the wire) of stream offset off in dir. */
uint32_t tcptrack_seq(const struct tcptrack_conn *c, int dir, uint64_t off);
/* Text for an unprotectable reason and a state. */
const char *tcptrack_reason_str(int reason);
const char *tcptrack_state_str(enum tcptrack_state s);

#endif
