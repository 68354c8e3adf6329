/*
 * drainrec: the final state of one drained connection (SJD1 or SJD2), as
 * the sshd's monitor sends it in drain records (docs/drain.md): the exact
 * SSH positions and channel windows from the sshd, the exact TCP state from
 * its socket in repair mode; SJD2 adds what a capture gave until then (the
 * identification strings, the first KEX's host key algorithm, strict KEX,
 * the setup log), so that the session can be rebuilt with no capture at
 * all.  Decoded views point into the reassembled bytes, which the caller
 * keeps (and wipes) meanwhile.  The bytes are signed by the exporter but
 * still checked as hostile: every length, count and name is bounded.
 */
#ifndef SJ_DRAINREC_H
#define SJ_DRAINREC_H

#include <stddef.h>
#include <stdint.h>

#define DRAINREC_MAX_CHANS	4096
#define DRAINREC_IV_MAX		32
#define DRAINREC_VERSION_MAX	255	/* identification string, bytes */
#define DRAINREC_NAME_MAX	64	/* host key algorithm */
#define DRAINREC_MAX_LOG	65536	/* setup log entries (RPKG_MAX_LOG) */

/* Setup log entry flags (SJRP1's): a USERAUTH_REQUEST not kept. */
#define DRAINREC_LOG_PASSWORD	0x01
#define DRAINREC_LOG_REDACTED	0x02

/* Channel flags, as the sshd sends them (OpenSSH channels.h). */
#define DRAINREC_CHAN_CLOSE_SENT	0x01
#define DRAINREC_CHAN_CLOSE_RCVD	0x02
#define DRAINREC_CHAN_EOF_SENT		0x04
#define DRAINREC_CHAN_EOF_RCVD		0x08
#define DRAINREC_CHAN_BY_SERVER		0x100

/* TCP option flags. */
#define DRAINREC_TCP_WSCALE	0x01
#define DRAINREC_TCP_SACK	0x02
#define DRAINREC_TCP_TS		0x04

struct drainrec_dir {
	uint32_t	 seqnr;
	uint64_t	 packets, blocks;
	uint8_t		 iv[DRAINREC_IV_MAX];
	size_t		 iv_len;
	const uint8_t	*raw;		/* in: unprocessed input; out: unsent */
	size_t		 raw_len;
};

struct drainrec_chan {
	uint32_t	 self, remote_id;
	char		 type[65];
	uint32_t	 local_window, remote_window;
	uint32_t	 local_maxpacket, remote_maxpacket;
	uint32_t	 flags;
};

/* One setup log entry (SJD2), as SJRP1's: the payload, type byte first. */
struct drainrec_msg {
	uint32_t	 dir;		/* 0: client to server, 1: back */
	uint32_t	 flags;		/* DRAINREC_LOG_* */
	const uint8_t	*p;
	size_t		 len;
};

struct drainrec {
	int		 version;	/* 1: SJD1, 2: SJD2 */
	uint32_t	 kex_number;	/* the key exchange in force */
	uint64_t	 stop_us;	/* the sshd's clock when it stopped */
	struct drainrec_dir dir[2];	/* 0: client to server, 1: back */
	struct drainrec_chan *chans;	/* malloc'd */
	size_t		 nchans;
	/* TCP, from the socket in repair mode */
	uint32_t	 snd_una, rcv_nxt;
	const uint8_t	*sendq;		/* from snd_una */
	size_t		 sendq_len;
	const uint8_t	*recvq;		/* ends at rcv_nxt */
	size_t		 recvq_len;
	uint32_t	 mss;
	uint8_t		 tcp_flags;	/* DRAINREC_TCP_* */
	uint8_t		 snd_wscale, rcv_wscale;
	uint32_t	 tsval;
	uint32_t	 snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	/* SJD2 only (version 2): what the capture gave for SJD1 */
	char		 client_version[DRAINREC_VERSION_MAX + 1];
	char		 server_version[DRAINREC_VERSION_MAX + 1];
	char		 hostkey_alg[DRAINREC_NAME_MAX + 1];	/* first KEX */
	int		 strict_kex;
	struct drainrec_msg *log;	/* malloc'd; payloads point into p */
	size_t		 nlog;
};

/*
 * Decode SJD1 or SJD2; 0, or -1 with the reason in why (it names the
 * field).  drainrec_free() either way.
 */
int	drainrec_decode(const uint8_t *p, size_t len, struct drainrec *d,
	    char *why, size_t whylen);
void	drainrec_free(struct drainrec *d);
/*
 * Encode d (its version says SJD1 or SJD2) into out, as the sshd does:
 * for tests and the fuzz harness.  0, or -1 (a field out of bounds).
 */
struct buf;
int	drainrec_encode(const struct drainrec *d, struct buf *out);

#endif
