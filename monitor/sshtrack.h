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
 * It never guesses.  A failed MAC or tag, a bad header, a key record that
 * disagrees with the wire, compression, keys that come too late, a bound
 * exceeded: the connection becomes unprotectable with the first reason, and
 * the direction concerned stops.
 *
 * A direction that lost bytes (a capture gap, or the daemon's own restart,
 * resumed from a saved sync point: sshtrack_sync_get() and _restore())
 * resynchronises instead: it searches the bytes it gets for a packet
 * boundary it can prove with the keys (the MAC or AEAD tag of a whole packet
 * verifies with the sequence number and cipher position that n unseen
 * packets since the last proven boundary imply), within bounds (struct
 * sshtrack_limits), and goes on from there; or it gives up with the reason.
 * What the unseen packets said is lost: channel windows become unknown, and
 * the number of unseen packets is reported (missed_packets).
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
	SSHTRACK_PHASE_RESYNC,		/* bytes lost: proving a boundary */
};

/* The key provider's kex_number asking for the newest record, whatever KEX. */
#define SSHTRACK_KEX_NEWEST	UINT32_MAX

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
	/*
	 * Resynchronising one direction (one episode after a gap or restart;
	 * candidates and CPU count again when newer keys come in).
	 */
	uint64_t resync_max_packets;	/* unseen packets n tried per
					   candidate boundary; 262144 */
	size_t	resync_max_candidates;	/* candidate boundaries tried; 4096
					   (one per received segment, or every
					   offset whose lengths chain when
					   lengths are in clear or CBC) */
	uint64_t resync_max_bytes;	/* stream bytes searched; 64 MiB */
	double	resync_cpu;		/* CPU seconds in all; 2 */
	double	resync_slice;		/* CPU seconds per call; 0.01 */
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
	uint32_t	resyncs;	/* boundaries proved after lost bytes */
	uint64_t	missed_packets;	/* packets not seen (lost bytes) */
	int		missed_unknown;	/* some were lost across a rekey:
					   their number is not known */
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
	char		hostkey0[SSHTRACK_NAME_MAX + 1];	/* host key
					   algorithm of the first KEX (what
					   publickey-hostbound binds), "" if
					   not seen (resumed from a sync point
					   older than version 2) */
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
	int		resyncing;	/* a direction is proving a boundary */
	int		restored;	/* resumed from a saved sync point */
	int		windows_unknown; /* packets were missed: channel windows
					    are not known exactly */
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
	uint64_t	off;		/* stream offset of its packet (0 if
					   restored from a version 1 log: such
					   entries are before any resume point)
					   */
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
	int		window_known;	/* 0: packets were missed since it
					   opened: window is not known, do
					   not use it */
	int		eof[2], close[2];	/* sent in that direction */
};

/*
 * A sync point: what the tracker saves to resume a connection after a
 * restart.  Per direction the latest proven packet boundary (nothing
 * secret: the CBC block is ciphertext; the keys come from the key records),
 * plus two encodings: the state (algorithms, versions, channels, counters:
 * not secret) and the setup log (secret: seal it before it is stored).
 */
struct sshtrack_sync_dir {
	int		valid;		/* keyed: a position to resume from */
	uint64_t	off;
	uint32_t	seqnr;
	uint32_t	kex_number;
	uint64_t	packets, blocks;	/* since those keys came in */
	int		has_cbc;	/* CBC, after its first packet */
	uint8_t		cbc[16];	/* the ciphertext block before off */
};

struct sshtrack_sync {
	struct sshtrack_sync_dir dir[2];
	uint64_t	gen;		/* changes whenever any of it does */
	uint64_t	log_gen;	/* changes whenever the log does */
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

/*
 * A resumed connection's direction re-anchored at off (tcptrack's resumed
 * callback): bytes before it were sent while the daemon was down.
 */
void	sshtrack_resumed(struct sshtrack *st, struct tcptrack_conn *c, int dir,
	    uint64_t off);
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
/*
 * The key record of KEX kex_number of c from the key provider, or NULL if
 * it has none (the daemon's key store keeps only the newest record).
 * Secret: use it at once, never keep the pointer.
 */
const struct seal_keyrec *sshtrack_keyrec(struct sshtrack *st,
	    const struct tcptrack_conn *c, uint32_t kex_number);
/* Setup log: number of entries, and entry i. */
size_t	sshtrack_log_count(struct sshtrack *st, const struct tcptrack_conn *c);
int	sshtrack_log_get(struct sshtrack *st, const struct tcptrack_conn *c,
	    size_t i, struct sshtrack_msg *m);
/* Channels: number open, and channel i. */
size_t	sshtrack_channel_count(struct sshtrack *st,
	    const struct tcptrack_conn *c);
int	sshtrack_channel_get(struct sshtrack *st, const struct tcptrack_conn *c,
	    size_t i, struct sshtrack_chan *ch);
/*
 * The server's state at the client resume point (sshtrack_position(...,
 * SSHTRACK_C2S, 1, ...)), what a recovery must rebuild: client packets
 * from there on are live (in the rebuilt socket's receive queue, processed
 * again after the cutover), so they are not part of it.  The setup log
 * holds them too: leave out client entries whose off is at or after the
 * resume offset.  sshtrack_resume_check(): -1 with the reason if that
 * state cannot be told from what was tracked (a live client packet of a
 * key exchange, or about a channel removed since).  Then
 * sshtrack_channel_get_resume() is sshtrack_channel_get() at the resume
 * point: 1 if channel i did not exist there (a live client packet opens
 * it), else 0 with window[C2S] plus the client's live data, window[S2C]
 * minus the client's live WINDOW_ADJUSTs (adjust and data likewise), EOF
 * and CLOSE of live client packets not set, and a server-opened channel
 * confirmed by a live client packet not confirmed (id_client, the client's
 * initial window and maximum packet 0).
 */
int	sshtrack_resume_check(struct sshtrack *st,
	    const struct tcptrack_conn *c, char *why, size_t whylen);
int	sshtrack_channel_get_resume(struct sshtrack *st,
	    const struct tcptrack_conn *c, size_t i, struct sshtrack_chan *ch);
/*
 * The sync point of c: 0 and sp, state and log (appended; log is secret)
 * filled; -1 if there is nothing to save (no keys yet, not tracked).
 */
int	sshtrack_sync_get(struct sshtrack *st, const struct tcptrack_conn *c,
	    struct sshtrack_sync *sp, struct buf *state, struct buf *log);
/* Whether c changed since the sync point saved last (log: its log did). */
int	sshtrack_sync_dirty(struct sshtrack *st, const struct tcptrack_conn *c,
	    int *log);
/* The caller saved sp (from sshtrack_sync_get()). */
void	sshtrack_sync_saved(struct sshtrack *st, const struct tcptrack_conn *c,
	    const struct sshtrack_sync *sp);
/*
 * Resume c (just resumed by the TCP tracker) from a saved sync point: each
 * direction resynchronises from its position.  log NULL: no setup log was
 * saved (then c is unprotectable).  -1 with why if the state is unusable.
 */
int	sshtrack_sync_restore(struct sshtrack *st, struct tcptrack_conn *c,
	    const struct sshtrack_sync *sp, const uint8_t *state,
	    size_t state_len, const uint8_t *log, size_t log_len, char *why,
	    size_t whylen);
/* Go on with searches a CPU slice interrupted (call now and then). */
void	sshtrack_poll(struct sshtrack *st);
/* Text for a phase. */
const char *sshtrack_phase_str(enum sshtrack_phase p);

#endif
