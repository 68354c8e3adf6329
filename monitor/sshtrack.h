/*
 * sshtrack: follow the SSH transport of every tracked TCP connection, both
 * directions, packet by packet, so that a recovery can later rebuild the
 * connection at the exact position the client expects (DESIGN.md 2 and 6).
 * Fed by the TCP tracker's consumer callbacks; decrypts with the session keys
 * the patched sshd exports after every KEX (a key provider callback), and
 * buffers ciphertext, within a bound, until they arrive.  It keeps per
 * direction the sequence number and cipher position, the decrypted setup
 * messages (never a password), per-channel windows, and for the client's
 * direction the packet boundaries the TCP tracker must retain.
 *
 * It never guesses.  A capture gap, a failed MAC or tag, a bad header, a key
 * record that disagrees with the wire, compression, keys that come too late,
 * a bound exceeded: the connection becomes unprotectable with the first
 * reason, and the direction concerned stops.  There is no resync after a
 * gap: neither the framing nor the MACs can be proved without the lost bytes.
 */
#ifndef SJ_SSHTRACK_H
#define SJ_SSHTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "seal.h"
#include "tcptrack.h"

#define SSHTRACK_C2S		TCPTRACK_C2S
#define SSHTRACK_S2C		TCPTRACK_S2C

#define SSHTRACK_NAME_MAX	64	/* algorithm names (RFC 4251 6) */
#define SSHTRACK_VERSION_MAX	255	/* identification, without CRLF */
#define SSHTRACK_REASON_MAX	160

/* Where a direction's parser is. */
enum sshtrack_phase {
	SSHTRACK_PHASE_VERSION,		/* reading the identification */
	SSHTRACK_PHASE_CLEAR,		/* packets before the first NEWKEYS */
	SSHTRACK_PHASE_WAIT_KEYS,	/* NEWKEYS seen, no keys: buffering */
	SSHTRACK_PHASE_DECRYPT,		/* following packets with the keys */
	SSHTRACK_PHASE_STOPPED,		/* given up (see the reason) */
};

/* Bounds per connection; sshtrack_limits_default() fills these. */
struct sshtrack_limits {
	size_t	max_buffer;	/* stream bytes held per direction: a packet
				   being assembled, or ciphertext waiting for
				   keys; 1 MiB (keep >= 256 KiB + 100) */
	size_t	max_log;	/* setup-message log bytes; 64 KiB */
	size_t	max_channels;	/* channels open at once; 256 */
	size_t	max_marks;	/* client packets not yet acked; 4096 */
	size_t	max_kexinit;	/* one KEXINIT payload; 16 KiB */
	size_t	max_arrivals;	/* turns of the two directions kept in
				   order while keys are awaited; 4096 */
};

/*
 * The key provider: the daemon's decoded record of KEX kex_number (0 for the
 * first) for connection c, or NULL if it has not arrived.  sshtrack copies
 * what it needs at once and never keeps the pointer.
 */
typedef const struct seal_keyrec *(*sshtrack_keys_fn)(void *arg,
    const struct tcptrack_conn *c, uint32_t kex_number);

/*
 * A cipher position: what a direction's packet at off is encrypted with.
 * iv is secret for CTR and GCM (wipe copies): CTR the 16-byte counter block,
 * GCM the 12-byte nonce, CBC the last ciphertext block before off; none for
 * chacha20-poly1305 (its nonce is seqnr) and in clear.  iv_len is 0 too
 * while the keys have not arrived.
 */
struct sshtrack_pos {
	uint64_t	off;		/* stream offset of that packet */
	uint32_t	seqnr;
	int		keyed;		/* 0: before the first NEWKEYS */
	uint32_t	kex_number;	/* keys it is under, if keyed */
	uint64_t	packets;	/* since those keys were installed */
	uint64_t	blocks;		/* likewise, as OpenSSH counts them */
	uint8_t		iv[16];
	size_t		iv_len;
};

/* One direction, for status (nothing secret). */
struct sshtrack_dir_info {
	enum sshtrack_phase phase;
	char		version[SSHTRACK_VERSION_MAX + 1];
	uint32_t	seqnr;		/* of the next packet */
	uint64_t	total_packets;	/* binary packets since the start */
	uint64_t	bytes;		/* sum of 4 + packet_length */
	uint32_t	newkeys;	/* NEWKEYS seen in this direction */
	uint32_t	kex_number;	/* newkeys - 1: in use or awaited */
	uint64_t	packets;	/* since the current keys came in */
	uint64_t	blocks;
	uint64_t	packet_end;	/* offset after the last whole packet */
	size_t		buffered;	/* stream bytes held, not processed */
	char		cipher[SSHTRACK_NAME_MAX + 1];	/* in use, or "" */
	char		mac[SSHTRACK_NAME_MAX + 1];	/* "" for AEAD */
	int		mac_verified;	/* every MAC or tag is checked */
	int		compressed;	/* payloads compressed: opaque */
};

/* Algorithms negotiated by the latest KEXINIT pair (RFC 4253 7.1). */
struct sshtrack_algs {
	uint32_t	round;		/* 0 = first KEX */
	char		kex[SSHTRACK_NAME_MAX + 1];
	char		hostkey[SSHTRACK_NAME_MAX + 1];
	char		cipher[2][SSHTRACK_NAME_MAX + 1];	/* by dir */
	char		mac[2][SSHTRACK_NAME_MAX + 1];	/* "" for AEAD */
	char		comp[2][SSHTRACK_NAME_MAX + 1];
};

struct sshtrack_info {
	int		protectable;
	char		reason[SSHTRACK_REASON_MAX];	/* "" if it is */
	int		waiting_keys;	/* a direction waits for a record */
	int		negotiated;	/* algs is valid */
	struct sshtrack_algs algs;
	int		strict_kex;
	int		compression;	/* other than "none" negotiated */
	int		kex_in_progress; /* a KEXINIT not yet followed by
					    its NEWKEYS */
	struct sshtrack_dir_info dir[2];
	uint64_t	c2s_resume_off;	/* first client packet not fully
					   acknowledged by the server */
	size_t		log_entries, log_bytes;
	unsigned	password_attempts;	/* dropped from the log */
	size_t		channels;
	size_t		memory;		/* bytes held for the connection */
};

/* Setup-log entry flags: the message was not kept (its payload is empty). */
#define SSHTRACK_LOG_PASSWORD	0x01	/* USERAUTH_REQUEST "password" */
#define SSHTRACK_LOG_REDACTED	0x02	/* another method not kept */

/*
 * One logged setup message, decrypted; p is valid until the next call for
 * c.  Entries are in processing order: per direction in seqnr order; across
 * directions in capture order, except spans decrypted when their keys came
 * (then the client's first).  Replies are logged only for logged requests,
 * a window-change replaces the channel's previous one, and a channel closed
 * on both sides is removed with all its entries (it holds no server state).
 */
struct sshtrack_msg {
	int		dir;
	uint32_t	seqnr;
	uint8_t		type;		/* SSH message number */
	int		flags;		/* SSHTRACK_LOG_* */
	const uint8_t	*p;		/* the payload, type byte first */
	size_t		len;
};

/*
 * One channel, windows by direction of the data: window[d] is how many bytes
 * the sender of direction d may still send (the receiver's initial window
 * and adjusts, minus the data sent).
 */
struct sshtrack_chan {
	char		type[SSHTRACK_NAME_MAX + 1];	/* "session", ... */
	int		opened_by;	/* direction of CHANNEL_OPEN */
	int		confirmed;
	uint32_t	id_client, id_server;	/* each side's number */
	uint32_t	maxpacket[2];	/* the receiver's, by direction */
	uint32_t	initial_window[2];
	uint64_t	adjust[2];	/* WINDOW_ADJUST sums */
	uint64_t	data[2];	/* DATA + EXTENDED_DATA bytes */
	int64_t		window[2];
	int		eof[2], close[2];	/* sent in that direction */
};

struct sshtrack;

/* Fill lim with the defaults. */
void	sshtrack_limits_default(struct sshtrack_limits *lim);
/* A tracker (lim NULL: defaults) asking keys(arg, ...) for key records. */
struct sshtrack *sshtrack_new(const struct sshtrack_limits *lim,
	    sshtrack_keys_fn keys, void *arg);
/* Free the tracker and what is left of its connections (wiped). */
void	sshtrack_free(struct sshtrack *st);

/*
 * The TCP tracker's consumer callbacks, wired through by the daemon.
 * conn_new hangs the state on c->upper and holds the client's bytes; acked
 * (C2S) moves that hold to the first client packet not fully acknowledged.
 */
void	sshtrack_conn_new(struct sshtrack *st, struct tcptrack_conn *c);
void	sshtrack_data(struct sshtrack *st, struct tcptrack_conn *c, int dir,
	    uint64_t off, const uint8_t *p, size_t len);
void	sshtrack_gap(struct sshtrack *st, struct tcptrack_conn *c, int dir,
	    uint64_t off, uint64_t len);
void	sshtrack_acked(struct sshtrack *st, struct tcptrack_conn *c, int dir,
	    uint64_t acked);
void	sshtrack_conn_end(struct sshtrack *st, struct tcptrack_conn *c);

/* A new key record for c arrived: resume what was waiting for it. */
void	sshtrack_keys_arrived(struct sshtrack *st, struct tcptrack_conn *c);
/* The daemon knows c cannot be protected (e.g. a refused record). */
void	sshtrack_unprotectable(struct sshtrack *st, struct tcptrack_conn *c,
	    const char *reason);

/* Status of c; -1 if c is not tracked. */
int	sshtrack_status(struct sshtrack *st, const struct tcptrack_conn *c,
	    struct sshtrack_info *info);
/*
 * Cipher position of dir.  resume 0: the next packet to be processed (for
 * S2C, where the recovered server goes on).  resume 1, C2S only: the first
 * client packet the server had not fully acknowledged, where the live stream
 * restarts (DESIGN.md 6).  Holds secrets: wipe pos after use.
 */
int	sshtrack_position(struct sshtrack *st, const struct tcptrack_conn *c,
	    int dir, int resume, struct sshtrack_pos *pos);
/* Setup log: number of entries, and entry i. */
size_t	sshtrack_log_count(struct sshtrack *st, const struct tcptrack_conn *c);
int	sshtrack_log_get(struct sshtrack *st, const struct tcptrack_conn *c,
	    size_t i, struct sshtrack_msg *m);
/* Channels: number open, and channel i. */
size_t	sshtrack_channel_count(struct sshtrack *st,
	    const struct tcptrack_conn *c);
int	sshtrack_channel_get(struct sshtrack *st, const struct tcptrack_conn *c,
	    size_t i, struct sshtrack_chan *ch);
/* Text for a phase. */
const char *sshtrack_phase_str(enum sshtrack_phase p);

#endif
