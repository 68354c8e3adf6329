/*
 * sshtrack: SSH transport tracking (see sshtrack.h).
 *
 * Each direction is a small parser over its reassembled stream: the
 * identification line, then binary packets (RFC 4253 6), in clear until that
 * direction's NEWKEYS and under the next KEX's keys after it.  A packet is
 * looked at only once it is complete in the buffer, and the cipher state is
 * derived per packet from counters (seqnr, packets, blocks, the last CBC
 * block), so a partial packet never moves anything.  Framing and checks
 * follow OpenSSH 9.2p1's ssh_packet_read_poll2() one for one; the cipher
 * constructions follow its cipher.c, cipher-chachapoly-libcrypto.c, mac.c
 * and umac.c, and tests/unit/sshtest_vectors.h holds streams encrypted by
 * that very code.
 *
 * The two directions are processed in the order their bytes were captured
 * (an arrival FIFO): a message may depend on one of the other direction (a
 * request on a channel the peer's confirmation numbered), and bytes waiting
 * for keys must not be overtaken when the keys come.
 *
 * Never guess: a failed MAC or tag, a bad header, keys that do not match
 * what the wire says, a message referring to what we never saw, a bound
 * exceeded: the connection becomes unprotectable with the first reason, and
 * the direction concerned stops.  Lost bytes (a capture gap, the daemon's
 * restart) are the one exception: the direction resynchronises at the
 * first packet boundary it can prove with the keys ("resync" below), or
 * gives up with the reason.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "buf.h"
#include "log.h"
#include "seal.h"
#include "sshtrack.h"

/* Message numbers (RFC 4250 4.1; OpenSSH's ssh2.h names). */
#define SSH2_MSG_SERVICE_REQUEST		5
#define SSH2_MSG_SERVICE_ACCEPT			6
#define SSH2_MSG_KEXINIT			20
#define SSH2_MSG_NEWKEYS			21
#define SSH2_MSG_USERAUTH_REQUEST		50
#define SSH2_MSG_USERAUTH_FAILURE		51
#define SSH2_MSG_USERAUTH_SUCCESS		52
#define SSH2_MSG_GLOBAL_REQUEST			80
#define SSH2_MSG_REQUEST_SUCCESS		81
#define SSH2_MSG_REQUEST_FAILURE		82
#define SSH2_MSG_CHANNEL_OPEN			90
#define SSH2_MSG_CHANNEL_OPEN_CONFIRMATION	91
#define SSH2_MSG_CHANNEL_OPEN_FAILURE		92
#define SSH2_MSG_CHANNEL_WINDOW_ADJUST		93
#define SSH2_MSG_CHANNEL_DATA			94
#define SSH2_MSG_CHANNEL_EXTENDED_DATA		95
#define SSH2_MSG_CHANNEL_EOF			96
#define SSH2_MSG_CHANNEL_CLOSE			97
#define SSH2_MSG_CHANNEL_REQUEST		98
#define SSH2_MSG_CHANNEL_SUCCESS		99
#define SSH2_MSG_CHANNEL_FAILURE		100
#define SSH2_MSG_LOCAL_MIN			192

#define PACKET_MAX_SIZE		(256 * 1024)	/* OpenSSH packet.c */
#define MAX_BANNER_LINE		8192		/* OpenSSH SSH_MAX_BANNER_LEN */
#define MAX_PRE_BANNER_LINES	1024
/* Payload bytes decrypted of messages we only peek at (channel data). */
#define PEEK_LEN		32
#define POLY1305_TAGLEN		16
#define POLY1305_KEYLEN		32
#define MAX_MAC_LEN		64
/* Requests awaiting a reply, per queue (a ring of bits). */
#define REPLYQ_MAX		64
/* An emptied stream buffer larger than this is given back. */
#define IDLE_KEEP		4096

#define KEX_STRICT_C		"kex-strict-c-v00@openssh.com"
#define KEX_STRICT_S		"kex-strict-s-v00@openssh.com"

enum enc_type { ENC_CHACHA, ENC_GCM, ENC_CTR, ENC_CBC };
enum mac_type { MAC_HMAC, MAC_UMAC };

struct enc_alg {
	const char	*name;
	enum enc_type	 type;
	size_t		 key_len, iv_len, block_size, authlen;
	const EVP_CIPHER *(*evp)(void);
};

/* OpenSSH cipher.c ciphers[], minus 3des-cbc and none. */
static const struct enc_alg enc_algs[] = {
	{ "chacha20-poly1305@openssh.com", ENC_CHACHA, 64, 0, 8, 16, NULL },
	{ "aes128-gcm@openssh.com", ENC_GCM, 16, 12, 16, 16, EVP_aes_128_gcm },
	{ "aes256-gcm@openssh.com", ENC_GCM, 32, 12, 16, 16, EVP_aes_256_gcm },
	{ "aes128-ctr", ENC_CTR, 16, 16, 16, 0, EVP_aes_128_ctr },
	{ "aes192-ctr", ENC_CTR, 24, 16, 16, 0, EVP_aes_192_ctr },
	{ "aes256-ctr", ENC_CTR, 32, 16, 16, 0, EVP_aes_256_ctr },
	{ "aes128-cbc", ENC_CBC, 16, 16, 16, 0, EVP_aes_128_cbc },
	{ "aes192-cbc", ENC_CBC, 24, 16, 16, 0, EVP_aes_192_cbc },
	{ "aes256-cbc", ENC_CBC, 32, 16, 16, 0, EVP_aes_256_cbc },
	{ NULL, 0, 0, 0, 0, 0, NULL }
};

struct mac_alg {
	const char	*name;
	enum mac_type	 type;
	const char	*digest;
	size_t		 key_len, mac_len;
	int		 etm;
};

/* OpenSSH mac.c macs[]: HMAC keys are as long as the digest. */
static const struct mac_alg mac_algs[] = {
	{ "hmac-sha1", MAC_HMAC, "SHA1", 20, 20, 0 },
	{ "hmac-sha1-96", MAC_HMAC, "SHA1", 20, 12, 0 },
	{ "hmac-sha2-256", MAC_HMAC, "SHA256", 32, 32, 0 },
	{ "hmac-sha2-512", MAC_HMAC, "SHA512", 64, 64, 0 },
	{ "hmac-md5", MAC_HMAC, "MD5", 16, 16, 0 },
	{ "hmac-md5-96", MAC_HMAC, "MD5", 16, 12, 0 },
	{ "umac-64@openssh.com", MAC_UMAC, NULL, 16, 8, 0 },
	{ "umac-128@openssh.com", MAC_UMAC, NULL, 16, 16, 0 },
	{ "hmac-sha1-etm@openssh.com", MAC_HMAC, "SHA1", 20, 20, 1 },
	{ "hmac-sha1-96-etm@openssh.com", MAC_HMAC, "SHA1", 20, 12, 1 },
	{ "hmac-sha2-256-etm@openssh.com", MAC_HMAC, "SHA256", 32, 32, 1 },
	{ "hmac-sha2-512-etm@openssh.com", MAC_HMAC, "SHA512", 64, 64, 1 },
	{ "hmac-md5-etm@openssh.com", MAC_HMAC, "MD5", 16, 16, 1 },
	{ "hmac-md5-96-etm@openssh.com", MAC_HMAC, "MD5", 16, 12, 1 },
	{ "umac-64-etm@openssh.com", MAC_UMAC, NULL, 16, 8, 1 },
	{ "umac-128-etm@openssh.com", MAC_UMAC, NULL, 16, 16, 1 },
	{ NULL, 0, NULL, 0, 0, 0 }
};

/* One direction's keys in use. */
struct resync;

struct sshtrack_keys {
	const struct enc_alg	*enc;
	const struct mac_alg	*mac;		/* NULL for AEAD */
	uint32_t		 kex_number;
	EVP_CIPHER_CTX		*ctx;		/* AES, or chacha K_2 (main) */
	EVP_CIPHER_CTX		*hctx;		/* chacha K_1 (length) */
	EVP_MAC_CTX		*mctx;		/* HMAC, keyed */
	struct umac		*umac;		/* UMAC, keyed */
	uint8_t			 iv0[16];	/* CTR, GCM: as installed */
	uint8_t			 cbc[16];	/* CBC: last ciphertext block */
};

/*
 * Client requests awaiting the server's reply, oldest first: 1 if logged.
 * Only the client's: every request we log is the client's, and the client's
 * replies to the server's requests (keepalives) may be decrypted before the
 * requests themselves when the first keys come late.
 */
struct replyq {
	uint64_t	bits;
	unsigned	head, n;
};

/* A KEXINIT waiting for the peer's of the same round. */
struct kexinit {
	uint32_t	 round;
	uint8_t		*p;
	size_t		 len;
};

struct sshtrack_dir {
	enum sshtrack_phase phase;
	struct buf	 in;		/* unprocessed stream bytes */
	uint64_t	 in_off;	/* stream offset of buf_ptr(&in) */
	uint64_t	 next_off;	/* end of what the TCP tracker gave */
	/* Identification. */
	struct buf	 line;
	int		 cr;		/* a CR was seen: LF must follow */
	unsigned	 lines;
	char		 version[SSHTRACK_VERSION_MAX + 1];
	/* Packets. */
	uint64_t	 msg_off;	/* where the packet being handled starts */
	uint32_t	 seqnr;
	uint64_t	 total_packets, bytes;
	uint32_t	 newkeys;
	int		 keyed;		/* keys of KEX newkeys - 1 installed */
	uint64_t	 packets, blocks;
	struct sshtrack_keys keys;
	uint64_t	 packet_end;
	int		 comp;		/* 1 zlib, 2 zlib@openssh.com */
	int		 compressed;	/* payloads compressed from now on */
	uint32_t	 kexinits;
	struct kexinit	 kexinit[2];
	int		 nkexinit;
	/* Waiting for keys, length in clear: boundaries scanned so far. */
	int		 scanning;
	uint64_t	 scan_off;
	struct sshtrack_pos scan_pos;
	/* Lost bytes: proving a boundary (phase RESYNC), and what it cost. */
	struct resync	*rs;
	int		 decrypted;	/* has followed packets under keys */
	uint32_t	 resyncs;
	uint64_t	 missed;
	int		 missed_unknown;
};

struct chan {
	struct sshtrack_chan pub;
	int		 known[2];	/* id_client, id_server set */
	uint64_t	 serial;	/* tags its log entries */
	struct replyq	 req;		/* the client's channel requests */
};

struct entry {
	int		 dir;
	uint64_t	 off;		/* stream offset of its packet */
	uint32_t	 seqnr;
	uint8_t		 type;
	int		 flags;
	uint64_t	 chan;		/* channel serial, 0 for none */
	int		 winch;		/* a window-change: the next replaces */
	size_t		 len;
	uint8_t		 data[];
};

struct arrival {
	uint64_t	end;
	int		dir;
};

/*
 * What a client packet does that the server's state at the resume point
 * must not include if the packet is live (after it): its message, and for
 * channel messages the channel and the bytes it adds or grants.
 */
struct effect {
	uint8_t		type;		/* 0: not parsed (yet) */
	uint64_t	chan;		/* channel serial, 0 for none */
	uint32_t	n;		/* DATA bytes, WINDOW_ADJUST bytes */
};

/* A client packet boundary not yet fully acknowledged, and that packet. */
struct mark {
	struct sshtrack_pos pos;	/* where it starts */
	struct effect	 eff;		/* what the packet there does */
};

struct sshtrack_conn {
	struct sshtrack		*st;
	struct tcptrack_conn	*c;
	struct sshtrack_conn	*next, *prev;
	int			 started;	/* pickup_check() done */
	struct sshtrack_dir	 dir[2];
	int			 unprotectable;
	char			 reason[SSHTRACK_REASON_MAX];
	int			 strict, strict_known;
	int			 negotiated;
	struct sshtrack_algs	 algs;		/* latest round */
	struct sshtrack_algs	 neg[2];	/* by round % 2 */
	int			 neg_valid[2];
	int			 compression;
	int			 auth_done;
	struct replyq		 greq;		/* client global requests */
	char			 hostkey0[SSHTRACK_NAME_MAX + 1];	/* of
						   the first KEX, "" unknown */
	struct effect		 eff;		/* of the client packet being
						   handled */
	/*
	 * Client packets not fully acknowledged (C2S), oldest first: the
	 * first is the resume point, the last where the next packet starts.
	 */
	struct mark		*marks;
	size_t			 mark_head, nmarks, marks_alloc;
	/* Boundaries found by scanning, for the decryption to confirm. */
	uint64_t		*prov;
	size_t			 prov_head, nprov, prov_alloc;
	uint64_t		 confirmed_off;	/* latest boundary parsed */
	uint64_t		 c2s_acked;
	uint64_t		 hold;
	int			 hold_released;
	/* Setup log. */
	struct entry		**log;
	size_t			 nlog, log_alloc, log_bytes;
	int			 log_full;
	unsigned		 password_attempts;
	/* Channels. */
	struct chan		*chans;
	size_t			 nchans, chans_alloc;
	uint64_t		 next_serial;
	/*
	 * Arrival order across the two directions, (direction, stream end)
	 * with consecutive arrivals of one direction merged: what waits for
	 * keys is decrypted later in this order, so that a message is never
	 * read before one of the other direction it depends on (a channel
	 * confirmation before the requests on that channel).
	 */
	struct arrival		*arr;
	size_t			 arr_head, narr, arr_alloc;
	int			 unordered;	/* the order was lost */
	/* Saving and resuming (sshtrack_sync_*). */
	uint64_t		 gen, log_gen;		/* bumped on change */
	uint64_t		 saved_gen, saved_log_gen;
	int			 restored;
	int			 windows_unknown;	/* packets were missed */
	int			 replies_lost;	/* replies to unseen requests
						   may come: not out of step */
};

struct sshtrack {
	struct sshtrack_limits	 lim;
	sshtrack_keys_fn	 keys;
	void			*arg;
	EVP_MAC			*hmac, *poly;
	EVP_MAC_CTX		*pctx;		/* Poly1305, keyed per packet */
	uint8_t			*scratch;	/* one packet's plaintext */
	size_t			 scratch_len;
	struct log_ratelimit	 rl_resync;	/* resyncs after gaps */
	struct sshtrack_conn	*all;
};

static void dir_stop(struct sshtrack_conn *sc, int dir);
static void resync_free(struct sshtrack_dir *d);

static const char *
dir_str(int dir)
{
	return dir == SSHTRACK_C2S ? "c2s" : "s2c";
}

void
sshtrack_limits_default(struct sshtrack_limits *lim)
{
	lim->max_buffer = 1024 * 1024;
	lim->max_log = 64 * 1024;
	lim->max_channels = 256;
	lim->max_marks = 4096;
	lim->max_kexinit = 16 * 1024;
	lim->max_arrivals = 4096;
	lim->resync_max_packets = 262144;
	lim->resync_max_candidates = 4096;
	lim->resync_max_bytes = 64 * 1024 * 1024;
	lim->resync_cpu = 2.0;
	lim->resync_slice = 0.01;
}

/* The first reason sticks; the C2S hold is released (nothing to recover). */
static void
unprotect(struct sshtrack_conn *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
unprotect_v(struct sshtrack_conn *sc, struct log_ratelimit *rl,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
unprotect_v(struct sshtrack_conn *sc, struct log_ratelimit *rl,
    const char *fmt, va_list ap)
{
	char who[80];

	if (sc->unprotectable)
		return;
	sc->unprotectable = 1;
	sc->gen++;
	vsnprintf(sc->reason, sizeof(sc->reason), fmt, ap);
	pkt_endpoint_str(&sc->c->client, sc->c->cport, who, sizeof(who));
	if (rl != NULL)
		log_limited(rl, LOG_INFO, "sshtrack: %s: unprotectable: %s",
		    who, sc->reason);
	else
		log_info("sshtrack: %s: unprotectable: %s", who, sc->reason);
	if (!sc->hold_released) {
		sc->hold_released = 1;
		tcptrack_hold(sc->c, TCPTRACK_C2S, UINT64_MAX);
	}
}

static void
unprotect(struct sshtrack_conn *sc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	unprotect_v(sc, NULL, fmt, ap);
	va_end(ap);
}

/* The same, with its line rate-limited (what anybody's packets can cause). */
static void
unprotect_limited(struct sshtrack_conn *sc, struct log_ratelimit *rl,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
unprotect_limited(struct sshtrack_conn *sc, struct log_ratelimit *rl,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	unprotect_v(sc, rl, fmt, ap);
	va_end(ap);
}

/* A pointer to the next len bytes of b, consumed; bounds-checked. */
static int
get_direct(struct buf *b, size_t len, const uint8_t **p)
{
	*p = buf_ptr(b);
	return buf_skip(b, len);
}

/* Text of a name or string field into out (NUL-terminated), if it fits. */
static int
get_name(struct buf *b, char *out, size_t outlen)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = buf_get_string_direct(b, &p, &len)) != 0)
		return r;
	if (len >= outlen || memchr(p, '\0', len) != NULL)
		return BUF_ERR_FORMAT;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* --- reply queues --- */

static int
replyq_push(struct replyq *q, int logged)
{
	unsigned slot;

	if (q->n == REPLYQ_MAX)
		return -1;
	slot = (q->head + q->n) % REPLYQ_MAX;
	if (logged)
		q->bits |= 1ULL << slot;
	else
		q->bits &= ~(1ULL << slot);
	q->n++;
	return 0;
}

/* The oldest request's logged flag, or -1 if none awaits a reply. */
static int
replyq_pop(struct replyq *q)
{
	int logged;

	if (q->n == 0)
		return -1;
	logged = (q->bits >> q->head) & 1;
	q->head = (q->head + 1) % REPLYQ_MAX;
	q->n--;
	return logged;
}

/*
 * --- UMAC (RFC 4418), as OpenSSH's umac.c computes it ---
 * UMAC-64 and UMAC-128: 2 or 4 streams of NH (L1) over 1024-byte chunks, a
 * 64-bit polynomial (L2, only for messages over one chunk; SSH packets never
 * reach its 128-bit stage), an inner product mod 2^36 - 5 (L3), XORed with
 * an AES pad of the nonce (the seqnr).  Keys come from an AES-128 KDF.
 * Like any MAC primitive it reads the bytes it authenticates directly.
 */
#define UMAC_L1_LEN	1024
#define UMAC_P36	0x0000000FFFFFFFFBULL	/* 2^36 - 5 */
#define UMAC_M36	0x0000000FFFFFFFFFULL
#define UMAC_P64	0xFFFFFFFFFFFFFFC5ULL	/* 2^64 - 59 */

struct umac {
	int		 streams;		/* tag length / 4 */
	uint32_t	 nh_key[(UMAC_L1_LEN + 16 * 3) / 4];
	uint64_t	 poly_key[4];
	uint64_t	 ip_key[4][4];
	uint32_t	 ip_trans[4];
	EVP_CIPHER_CTX	*pdf;			/* AES-128 with the pad key */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static int
aes_block(EVP_CIPHER_CTX *ctx, const uint8_t in[16], uint8_t out[16])
{
	int outl;

	return EVP_EncryptUpdate(ctx, out, &outl, in, 16) && outl == 16 ?
	    0 : -1;
}

static EVP_CIPHER_CTX *
aes_ecb(const uint8_t key[16])
{
	EVP_CIPHER_CTX *ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (!EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0)) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* KDF: AES of (index as 64 bits, counter as 64 bits), the counter from 1. */
static int
umac_kdf(EVP_CIPHER_CTX *k, uint8_t index, uint8_t *out, size_t len)
{
	uint8_t in[16], blk[16];
	size_t n;
	int r = 0;

	memset(in, 0, sizeof(in));
	in[7] = index;
	while (len > 0 && r == 0) {
		in[15]++;
		if ((r = aes_block(k, in, blk)) != 0)
			break;
		n = len < 16 ? len : 16;
		memcpy(out, blk, n);
		out += n;
		len -= n;
	}
	explicit_bzero(blk, sizeof(blk));
	return r;
}

static void
umac_free(struct umac *u)
{
	if (u == NULL)
		return;
	EVP_CIPHER_CTX_free(u->pdf);
	explicit_bzero(u, sizeof(*u));
	free(u);
}

static struct umac *
umac_new(const uint8_t key[16], size_t taglen)
{
	uint8_t buf[UMAC_L1_LEN + 16 * 3], pdfkey[16];
	EVP_CIPHER_CTX *k;
	struct umac *u;
	int s, j, r;
	size_t i;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if ((k = aes_ecb(key)) == NULL) {
		free(u);
		return NULL;
	}
	u->streams = (int)(taglen / 4);
	r = umac_kdf(k, 1, buf, UMAC_L1_LEN + 16 * (u->streams - 1));
	for (i = 0; r == 0 && i < (UMAC_L1_LEN + 16 * (size_t)(u->streams -
	    1)) / 4; i++)
		u->nh_key[i] = be32(buf + 4 * i);
	if (r == 0)
		r = umac_kdf(k, 2, buf, 24 * (size_t)u->streams);
	for (s = 0; r == 0 && s < u->streams; s++)
		u->poly_key[s] = be64(buf + 24 * s) & 0x01ffffff01ffffffULL;
	if (r == 0)
		r = umac_kdf(k, 3, buf, 64 * (size_t)u->streams);
	/* Only the second half: the first 8 bytes of L3's input are zero. */
	for (s = 0; r == 0 && s < u->streams; s++)
		for (j = 0; j < 4; j++)
			u->ip_key[s][j] = be64(buf + 64 * s + 32 + 8 * j) %
			    UMAC_P36;
	if (r == 0)
		r = umac_kdf(k, 4, buf, 4 * (size_t)u->streams);
	for (s = 0; r == 0 && s < u->streams; s++)
		u->ip_trans[s] = be32(buf + 4 * s);
	if (r == 0)
		r = umac_kdf(k, 0, pdfkey, sizeof(pdfkey));
	if (r == 0 && (u->pdf = aes_ecb(pdfkey)) == NULL)
		r = -1;
	EVP_CIPHER_CTX_free(k);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(pdfkey, sizeof(pdfkey));
	if (r != 0) {
		umac_free(u);
		return NULL;
	}
	return u;
}

/* L1: NH of one chunk (len <= 1024) zero-padded to 32 bytes, + its bits. */
static void
umac_nh(const struct umac *u, const uint8_t *p, size_t len, uint64_t out[4])
{
	uint8_t tail[32];
	uint32_t m[8];
	const uint32_t *k;
	const uint8_t *d;
	size_t b, nblocks = len == 0 ? 1 : (len + 31) / 32;
	int s, j;

	for (s = 0; s < u->streams; s++)
		out[s] = 0;
	for (b = 0; b < nblocks; b++) {
		d = p + 32 * b;
		if (32 * (b + 1) > len) {
			memset(tail, 0, sizeof(tail));
			memcpy(tail, d, len - 32 * b);
			d = tail;
		}
		for (j = 0; j < 8; j++)
			m[j] = le32(d + 4 * j);
		for (s = 0; s < u->streams; s++) {
			/* Toeplitz: each stream's key is 4 words further. */
			k = u->nh_key + 8 * b + 4 * s;
			for (j = 0; j < 4; j++)
				out[s] += (uint64_t)(uint32_t)(m[j] + k[j]) *
				    (uint32_t)(m[j + 4] + k[j + 4]);
		}
	}
	for (s = 0; s < u->streams; s++)
		out[s] += (uint64_t)len * 8;
	explicit_bzero(tail, sizeof(tail));
	explicit_bzero(m, sizeof(m));
}

/* L2: one step of the polynomial mod 2^64 - 59. */
static uint64_t
umac_poly(uint64_t y, uint64_t k, uint64_t m)
{
	if ((m >> 32) == 0xffffffffULL) {
		/* A word out of range goes in as a marker and m - 59. */
		y = (uint64_t)(((unsigned __int128)k * y + (UMAC_P64 - 1)) %
		    UMAC_P64);
		m -= 59;
	}
	return (uint64_t)(((unsigned __int128)k * y + m) % UMAC_P64);
}

/* L3: inner product of the 16-bit words of v with the key, mod 2^36 - 5. */
static uint32_t
umac_ip(const uint64_t key[4], uint64_t v, uint32_t trans)
{
	uint64_t t;

	t = key[0] * (v >> 48) + key[1] * ((v >> 32) & 0xffff) +
	    key[2] * ((v >> 16) & 0xffff) + key[3] * (v & 0xffff);
	t = (t & UMAC_M36) + 5 * (t >> 36);
	if (t >= UMAC_P36)
		t -= UMAC_P36;
	return (uint32_t)t ^ trans;
}

/* The tag of len bytes at p with the sequence number as nonce. */
static int
umac_tag(const struct umac *u, const uint8_t *p, size_t len, uint32_t seqnr,
    uint8_t *tag)
{
	uint64_t nh[4], acc[4] = { 1, 1, 1, 1 };
	uint8_t nonce[16], pad[16];
	size_t off, n, ndx = 0;
	uint32_t h;
	int s, i;

	if (len <= UMAC_L1_LEN) {
		umac_nh(u, p, len, acc);
	} else {
		for (off = 0; off < len; off += n) {
			n = len - off < UMAC_L1_LEN ? len - off : UMAC_L1_LEN;
			umac_nh(u, p + off, n, nh);
			for (s = 0; s < u->streams; s++)
				acc[s] = umac_poly(acc[s], u->poly_key[s],
				    nh[s]);
		}
	}
	for (s = 0; s < u->streams; s++) {
		h = umac_ip(u->ip_key[s], acc[s], u->ip_trans[s]);
		for (i = 0; i < 4; i++)
			tag[4 * s + i] = (uint8_t)(h >> (24 - 8 * i));
	}
	/* The pad: AES of the 64-bit nonce; UMAC-64 uses half a block. */
	memset(nonce, 0, sizeof(nonce));
	for (i = 0; i < 4; i++)
		nonce[4 + i] = (uint8_t)(seqnr >> (24 - 8 * i));
	if (u->streams == 2) {
		ndx = nonce[7] & 1;
		nonce[7] &= ~1;
	}
	if (aes_block(u->pdf, nonce, pad) != 0)
		return -1;
	for (i = 0; i < 4 * u->streams; i++)
		tag[i] ^= pad[8 * ndx + (size_t)i];
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(nh, sizeof(nh));
	explicit_bzero(acc, sizeof(acc));
	return 0;
}

/* --- cipher state --- */

static const struct enc_alg *
enc_lookup(const char *name)
{
	const struct enc_alg *e;

	for (e = enc_algs; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static const struct mac_alg *
mac_lookup(const char *name)
{
	const struct mac_alg *m;

	for (m = mac_algs; m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static void
keys_release(struct sshtrack_keys *k)
{
	EVP_CIPHER_CTX_free(k->ctx);
	EVP_CIPHER_CTX_free(k->hctx);
	EVP_MAC_CTX_free(k->mctx);
	umac_free(k->umac);
	explicit_bzero(k, sizeof(*k));
}

/* CTR: the counter block blocks after iv0 (128-bit big-endian add). */
static void
ctr_at(const uint8_t iv0[16], uint64_t blocks, uint8_t out[16])
{
	unsigned carry = 0;
	int i;

	for (i = 15; i >= 0; i--) {
		unsigned v = iv0[i] + (unsigned)(blocks & 0xff) + carry;

		out[i] = (uint8_t)v;
		carry = v >> 8;
		blocks >>= 8;
	}
}

/* GCM: fixed field, then the 64-bit invocation counter + packets (RFC 5647). */
static void
gcm_at(const uint8_t iv0[12], uint64_t packets, uint8_t out[12])
{
	uint64_t inv = 0;
	int i;

	memcpy(out, iv0, 4);
	for (i = 4; i < 12; i++)
		inv = inv << 8 | iv0[i];
	inv += packets;
	for (i = 11; i >= 4; i--) {
		out[i] = (uint8_t)inv;
		inv >>= 8;
	}
}

/* The IV state of the next packet under k, for a position. */
static void
keys_pos_iv(const struct sshtrack_keys *k, uint64_t packets, uint64_t blocks,
    struct sshtrack_pos *pos)
{
	pos->iv_len = 0;
	switch (k->enc->type) {
	case ENC_CTR:
		ctr_at(k->iv0, blocks, pos->iv);
		pos->iv_len = 16;
		break;
	case ENC_GCM:
		gcm_at(k->iv0, packets, pos->iv);
		pos->iv_len = 12;
		break;
	case ENC_CBC:
		memcpy(pos->iv, k->cbc, 16);
		pos->iv_len = 16;
		break;
	case ENC_CHACHA:
		break;
	}
}

/* Set up k for one direction of a key record. */
static int
keys_setup(struct sshtrack *st, struct sshtrack_keys *k,
    const struct seal_dir *kd, char *why, size_t whylen)
{
	const struct enc_alg *enc;
	const struct mac_alg *mac = NULL;
	OSSL_PARAM params[2];

	if ((enc = enc_lookup(kd->cipher)) == NULL) {
		snprintf(why, whylen, "unsupported cipher %s", kd->cipher);
		return -1;
	}
	if (enc->authlen == 0 && (mac = mac_lookup(kd->mac)) == NULL) {
		snprintf(why, whylen, "unsupported MAC %s", kd->mac);
		return -1;
	}
	if (kd->enc_key_len != enc->key_len || kd->iv_len < enc->iv_len ||
	    (mac != NULL && kd->mac_key_len != mac->key_len)) {
		snprintf(why, whylen, "key lengths do not fit %s", kd->cipher);
		return -1;
	}
	k->enc = enc;
	k->mac = mac;
	if ((k->ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto crypto;
	switch (enc->type) {
	case ENC_CHACHA:
		/* cipher-chachapoly-libcrypto.c: main key first, then K_1. */
		if ((k->hctx = EVP_CIPHER_CTX_new()) == NULL ||
		    !EVP_CipherInit_ex(k->ctx, EVP_chacha20(), NULL,
		    kd->enc_key, NULL, 1) ||
		    !EVP_CipherInit_ex(k->hctx, EVP_chacha20(), NULL,
		    kd->enc_key + 32, NULL, 1))
			goto crypto;
		break;
	case ENC_GCM:
		memcpy(k->iv0, kd->iv, 12);
		if (!EVP_DecryptInit_ex(k->ctx, enc->evp(), NULL, kd->enc_key,
		    NULL))
			goto crypto;
		break;
	case ENC_CTR:
	case ENC_CBC:
		memcpy(k->iv0, kd->iv, 16);
		memcpy(k->cbc, kd->iv, 16);
		if (!EVP_DecryptInit_ex(k->ctx, enc->evp(), NULL, kd->enc_key,
		    kd->iv) ||
		    !EVP_CIPHER_CTX_set_padding(k->ctx, 0))
			goto crypto;
		break;
	}
	if (mac != NULL && mac->type == MAC_HMAC) {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)mac->digest, 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((k->mctx = EVP_MAC_CTX_new(st->hmac)) == NULL ||
		    !EVP_MAC_init(k->mctx, kd->mac_key, kd->mac_key_len,
		    params))
			goto crypto;
	}
	if (mac != NULL && mac->type == MAC_UMAC &&
	    (k->umac = umac_new(kd->mac_key, mac->mac_len)) == NULL)
		goto crypto;
	return 0;
 crypto:
	snprintf(why, whylen, "libcrypto failed setting up %s", kd->cipher);
	return -1;
}

/* Decrypt len bytes with a stream or block cipher context. */
static int
crypt_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	int outl;

	if (len == 0)
		return 0;
	if (len > INT32_MAX || !EVP_CipherUpdate(ctx, out, &outl, in,
	    (int)len) || (size_t)outl != len)
		return -1;
	return 0;
}

/* Point ctx at a new IV without re-keying. */
static int
crypt_iv(EVP_CIPHER_CTX *ctx, const uint8_t *iv)
{
	return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) ? 0 : -1;
}

/* chacha20 IV as OpenSSH lays it out: u64 LE block counter, u64 BE seqnr. */
static void
chacha_iv(uint8_t iv[16], uint8_t counter, uint32_t seqnr)
{
	memset(iv, 0, 16);
	iv[0] = counter;
	iv[12] = (uint8_t)(seqnr >> 24);
	iv[13] = (uint8_t)(seqnr >> 16);
	iv[14] = (uint8_t)(seqnr >> 8);
	iv[15] = (uint8_t)seqnr;
}

/* The MAC of a packet (mac.c: HMAC over seqnr || data, UMAC with seqnr as
 * nonce) compared with tag. */
static int
mac_check(struct sshtrack_keys *k, uint32_t seqnr, const uint8_t *data,
    size_t len, const uint8_t *tag)
{
	uint8_t sq[4], out[MAX_MAC_LEN];
	size_t outl;
	int ok;

	if (k->mac->type == MAC_UMAC) {
		if (umac_tag(k->umac, data, len, seqnr, out) != 0)
			return -1;
		ok = CRYPTO_memcmp(out, tag, k->mac->mac_len) == 0;
		explicit_bzero(out, sizeof(out));
		return ok ? 0 : -1;
	}
	sq[0] = (uint8_t)(seqnr >> 24);
	sq[1] = (uint8_t)(seqnr >> 16);
	sq[2] = (uint8_t)(seqnr >> 8);
	sq[3] = (uint8_t)seqnr;
	if (!EVP_MAC_init(k->mctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(k->mctx, sq, sizeof(sq)) ||
	    !EVP_MAC_update(k->mctx, data, len) ||
	    !EVP_MAC_final(k->mctx, out, &outl, sizeof(out)) ||
	    outl < k->mac->mac_len)
		return -1;
	ok = CRYPTO_memcmp(out, tag, k->mac->mac_len) == 0;
	explicit_bzero(out, sizeof(out));
	return ok ? 0 : -1;
}

/* Poly1305 tag of chacha20-poly1305@openssh.com for seqnr over data. */
static int
poly_check(struct sshtrack *st, struct sshtrack_keys *k, uint32_t seqnr,
    const uint8_t *data, size_t len, const uint8_t *tag)
{
	static const uint8_t zero[POLY1305_KEYLEN];
	uint8_t iv[16], key[POLY1305_KEYLEN], out[POLY1305_TAGLEN];
	size_t outl;
	int r = -1;

	chacha_iv(iv, 0, seqnr);
	if (crypt_iv(k->ctx, iv) != 0 ||
	    crypt_update(k->ctx, key, zero, sizeof(key)) != 0)
		goto out;
	if (!EVP_MAC_init(st->pctx, key, sizeof(key), NULL) ||
	    !EVP_MAC_update(st->pctx, data, len) ||
	    !EVP_MAC_final(st->pctx, out, &outl, sizeof(out)) ||
	    outl != POLY1305_TAGLEN)
		goto out;
	r = CRYPTO_memcmp(out, tag, POLY1305_TAGLEN) == 0 ? 0 : -1;
 out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(out, sizeof(out));
	return r;
}

/* --- marks: where client packets start, for the TCP tracker's hold --- */

static int
marks_append(struct sshtrack_conn *sc, const struct sshtrack_pos *pos)
{
	struct mark *n;
	size_t nalloc;

	if (sc->mark_head > 0 &&
	    sc->mark_head + sc->nmarks == sc->marks_alloc) {
		memmove(sc->marks, sc->marks + sc->mark_head,
		    sc->nmarks * sizeof(*sc->marks));
		sc->mark_head = 0;
	}
	if (sc->mark_head + sc->nmarks == sc->marks_alloc) {
		if (sc->nmarks >= sc->st->lim.max_marks)
			return -1;
		nalloc = sc->marks_alloc == 0 ? 16 : sc->marks_alloc * 2;
		if (nalloc > sc->st->lim.max_marks)
			nalloc = sc->st->lim.max_marks;
		if ((n = calloc(nalloc, sizeof(*n))) == NULL)
			return -1;
		if (sc->marks != NULL) {
			memcpy(n, sc->marks + sc->mark_head,
			    sc->nmarks * sizeof(*n));
			explicit_bzero(sc->marks,
			    sc->marks_alloc * sizeof(*n));
			free(sc->marks);
		}
		sc->marks = n;
		sc->marks_alloc = nalloc;
		sc->mark_head = 0;
	}
	n = &sc->marks[sc->mark_head + sc->nmarks++];
	memset(n, 0, sizeof(*n));
	n->pos = *pos;
	return 0;
}

static struct mark *
marks_last(struct sshtrack_conn *sc)
{
	return sc->nmarks == 0 ? NULL :
	    &sc->marks[sc->mark_head + sc->nmarks - 1];
}

/* The mark of the client packet boundary off, or NULL. */
static struct mark *
mark_at(struct sshtrack_conn *sc, uint64_t off)
{
	struct mark *m;
	size_t i;

	for (i = sc->nmarks; i-- > 0; ) {
		m = &sc->marks[sc->mark_head + i];
		if (m->pos.off == off)
			return m;
		if (m->pos.off < off)
			break;
	}
	return NULL;
}

/*
 * The client packet at off was handled: note what it did on its mark (none
 * if the server acknowledged all of it already: it is not live).
 */
static void
mark_effect(struct sshtrack_conn *sc, uint64_t off, const struct effect *e)
{
	struct mark *m;

	if ((m = mark_at(sc, off)) != NULL)
		m->eff = *e;
}

/* Move the hold to the first client packet the server has not fully acked. */
static void
hold_update(struct sshtrack_conn *sc)
{
	struct mark *m;

	while (sc->nmarks >= 2 &&
	    sc->marks[sc->mark_head + 1].pos.off <= sc->c2s_acked) {
		explicit_bzero(&sc->marks[sc->mark_head], sizeof(*m));
		sc->mark_head++;
		sc->nmarks--;
	}
	if (sc->nmarks == 0)
		return;
	m = &sc->marks[sc->mark_head];
	if (!sc->hold_released && m->pos.off > sc->hold &&
	    m->pos.off <= sc->c2s_acked) {
		sc->hold = m->pos.off;
		tcptrack_hold(sc->c, TCPTRACK_C2S, sc->hold);
	}
}

/* A boundary the scan found while keys were missing: checked later. */
static int
prov_append(struct sshtrack_conn *sc, uint64_t off)
{
	uint64_t *n;
	size_t nalloc;

	if (sc->prov_head > 0 && sc->prov_head + sc->nprov == sc->prov_alloc) {
		memmove(sc->prov, sc->prov + sc->prov_head,
		    sc->nprov * sizeof(*sc->prov));
		sc->prov_head = 0;
	}
	if (sc->prov_head + sc->nprov == sc->prov_alloc) {
		if (sc->nprov >= sc->st->lim.max_marks)
			return -1;
		nalloc = sc->prov_alloc == 0 ? 16 : sc->prov_alloc * 2;
		if ((n = reallocarray(sc->prov, nalloc, sizeof(*n))) == NULL)
			return -1;
		sc->prov = n;
		sc->prov_alloc = nalloc;
	}
	sc->prov[sc->prov_head + sc->nprov++] = off;
	return 0;
}

/*
 * The parser reached the client packet boundary pos->off.  If the scan got
 * there first, the two must agree; the decrypted position replaces the
 * scanned one, whose IV was not known.  A boundary may be confirmed twice
 * (NEWKEYS, then the keys for it): the second has the IV.
 */
static void
mark_confirmed(struct sshtrack_conn *sc, const struct sshtrack_pos *pos)
{
	struct mark *m, *last = marks_last(sc);

	if (sc->nprov > 0 && pos->off != sc->confirmed_off) {
		if (sc->prov[sc->prov_head] != pos->off) {
			unprotect(sc, "client packet boundaries disagree at "
			    "offset %" PRIu64, pos->off);
			sc->nprov = sc->prov_head = 0;
			return;
		}
		sc->prov_head++;
		if (--sc->nprov == 0)
			sc->prov_head = 0;
	}
	sc->confirmed_off = pos->off;
	if ((m = mark_at(sc, pos->off)) != NULL) {
		m->pos = *pos;
		return;
	}
	if (last != NULL && last->pos.off > pos->off)
		return;		/* already acknowledged and dropped */
	if (marks_append(sc, pos) != 0)
		unprotect(sc, "more than %zu client packets unacknowledged",
		    sc->st->lim.max_marks);
}

/* --- setup log --- */

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	explicit_bzero(e, sizeof(*e) + e->len);
	free(e);
}

static void
log_remove(struct sshtrack_conn *sc, size_t i)
{
	sc->log_gen++;
	sc->log_bytes -= sizeof(struct entry) + sc->log[i]->len;
	entry_free(sc->log[i]);
	memmove(&sc->log[i], &sc->log[i + 1],
	    (sc->nlog - i - 1) * sizeof(*sc->log));
	sc->nlog--;
}

/* Drop every entry of a channel that no longer exists on either side. */
static void
log_purge_chan(struct sshtrack_conn *sc, uint64_t serial)
{
	size_t i = 0;

	while (i < sc->nlog)
		if (sc->log[i]->chan == serial)
			log_remove(sc, i);
		else
			i++;
}

static void
log_add(struct sshtrack_conn *sc, int dir, uint32_t seqnr, uint8_t type,
    int flags, uint64_t chan, int winch, const uint8_t *p, size_t len)
{
	struct entry *e, **n;
	size_t i, need = sizeof(*e) + len;

	if (sc->log_full)
		return;
	if (winch) {
		/* Only the latest size of a terminal matters. */
		for (i = 0; i < sc->nlog; i++)
			if (sc->log[i]->winch && sc->log[i]->chan == chan) {
				log_remove(sc, i);
				break;
			}
	}
	if (sc->log_bytes + need > sc->st->lim.max_log) {
		sc->log_full = 1;
		unprotect(sc, "setup log over %zu bytes", sc->st->lim.max_log);
		return;
	}
	if (sc->nlog == sc->log_alloc) {
		size_t nalloc = sc->log_alloc == 0 ? 16 : sc->log_alloc * 2;

		if ((n = reallocarray(sc->log, nalloc, sizeof(*n))) == NULL)
			goto nomem;
		sc->log = n;
		sc->log_alloc = nalloc;
	}
	if ((e = malloc(need)) == NULL)
		goto nomem;
	e->dir = dir;
	e->off = sc->dir[dir].msg_off;
	e->seqnr = seqnr;
	e->type = type;
	e->flags = flags;
	e->chan = chan;
	e->winch = winch;
	e->len = len;
	if (len > 0)
		memcpy(e->data, p, len);
	sc->log[sc->nlog++] = e;
	sc->log_bytes += need;
	sc->log_gen++;
	return;
 nomem:
	sc->log_full = 1;
	unprotect(sc, "out of memory for the setup log");
}

/* --- channels --- */

static struct chan *
chan_new(struct sshtrack_conn *sc)
{
	struct chan *n;

	if (sc->nchans >= sc->st->lim.max_channels)
		return NULL;
	if (sc->nchans == sc->chans_alloc) {
		size_t nalloc = sc->chans_alloc == 0 ? 4 : sc->chans_alloc * 2;

		if ((n = reallocarray(sc->chans, nalloc, sizeof(*n))) == NULL)
			return NULL;
		sc->chans = n;
		sc->chans_alloc = nalloc;
	}
	n = &sc->chans[sc->nchans++];
	memset(n, 0, sizeof(*n));
	n->serial = ++sc->next_serial;
	return n;
}

static void
chan_remove(struct sshtrack_conn *sc, struct chan *ch)
{
	size_t i = (size_t)(ch - sc->chans);

	log_purge_chan(sc, ch->serial);
	memmove(&sc->chans[i], &sc->chans[i + 1],
	    (sc->nchans - i - 1) * sizeof(*sc->chans));
	sc->nchans--;
}

/*
 * The channel a message in direction dir is addressed to: the recipient
 * number is the receiving side's (the server's for C2S).
 */
static struct chan *
chan_find(struct sshtrack_conn *sc, int dir, uint32_t recipient)
{
	int side = !dir;	/* owner 0 client, 1 server */
	size_t i;

	for (i = 0; i < sc->nchans; i++) {
		struct chan *ch = &sc->chans[i];
		uint32_t id = side == 0 ? ch->pub.id_client : ch->pub.id_server;

		/* Numbers are freed only when both sides closed: unique. */
		if (ch->known[side] && id == recipient)
			return ch;
	}
	return NULL;
}

static void
chan_window(struct chan *ch, int d)
{
	ch->pub.window[d] = (int64_t)ch->pub.initial_window[d] +
	    (int64_t)ch->pub.adjust[d] - (int64_t)ch->pub.data[d];
}

/* --- key exchange --- */

/* Next comma-separated name of a name-list. */
static int
namelist_next(struct buf *b, const uint8_t **name, size_t *len)
{
	uint8_t ch;
	size_t n = 0;

	if (buf_len(b) == 0)
		return -1;
	while (buf_peek_u8(b, n, &ch) == 0 && ch != ',')
		n++;
	if (get_direct(b, n, name) != 0)
		return -1;
	*len = n;
	(void)buf_skip(b, 1);			/* the comma, if any */
	return 0;
}

static int
namelist_has(const uint8_t *list, size_t listlen, const uint8_t *name,
    size_t len)
{
	const uint8_t *n;
	struct buf b;
	size_t l;

	buf_view(&b, list, listlen);
	while (namelist_next(&b, &n, &l) == 0)
		if (l == len && memcmp(n, name, len) == 0)
			return 1;
	return 0;
}

/* RFC 4253 7.1: the first of the client's names the server also lists. */
static int
namelist_choose(const uint8_t *cl, size_t cllen, const uint8_t *sl,
    size_t sllen, char *out, size_t outlen)
{
	const uint8_t *n;
	struct buf b;
	size_t l;

	buf_view(&b, cl, cllen);
	while (namelist_next(&b, &n, &l) == 0) {
		if (l == 0 || !namelist_has(sl, sllen, n, l))
			continue;
		if (l >= outlen)
			return -1;
		memcpy(out, n, l);
		out[l] = '\0';
		return 0;
	}
	return -1;
}

/* The ten name-lists of a KEXINIT payload (RFC 4253 7.1). */
struct kexinit_lists {
	const uint8_t	*p[10];
	size_t		 len[10];
};

#define KEXL_KEX	0
#define KEXL_HOSTKEY	1
#define KEXL_ENC	2	/* + dir */
#define KEXL_MAC	4
#define KEXL_COMP	6

static int
kexinit_parse(const uint8_t *p, size_t len, struct kexinit_lists *l)
{
	struct buf b;
	int i;

	buf_view(&b, p, len);
	if (buf_skip(&b, 1 + 16) != 0)		/* type, cookie */
		return -1;
	for (i = 0; i < 10; i++)
		if (buf_get_string_direct(&b, &l->p[i], &l->len[i]) != 0)
			return -1;
	return 0;
}

/* Both KEXINITs of a round are in: negotiate as OpenSSH's kex_choose_conf. */
static void
kex_negotiate(struct sshtrack_conn *sc, uint32_t round, const uint8_t *cp,
    size_t clen, const uint8_t *sp, size_t slen)
{
	struct kexinit_lists cl, sl;
	struct sshtrack_algs a;
	const struct enc_alg *enc;
	int d;

	memset(&a, 0, sizeof(a));
	a.round = round;
	if (kexinit_parse(cp, clen, &cl) != 0 ||
	    kexinit_parse(sp, slen, &sl) != 0) {
		unprotect(sc, "malformed KEXINIT in round %u", round);
		return;
	}
	if (round == 0) {
		/* kex.c: decided once, on the first KEXINITs (Terrapin fix). */
		sc->strict = namelist_has(cl.p[KEXL_KEX], cl.len[KEXL_KEX],
		    (const uint8_t *)KEX_STRICT_C, strlen(KEX_STRICT_C)) &&
		    namelist_has(sl.p[KEXL_KEX], sl.len[KEXL_KEX],
		    (const uint8_t *)KEX_STRICT_S, strlen(KEX_STRICT_S));
		sc->strict_known = 1;
	}
	if (namelist_choose(cl.p[KEXL_KEX], cl.len[KEXL_KEX], sl.p[KEXL_KEX],
	    sl.len[KEXL_KEX], a.kex, sizeof(a.kex)) != 0 ||
	    namelist_choose(cl.p[KEXL_HOSTKEY], cl.len[KEXL_HOSTKEY],
	    sl.p[KEXL_HOSTKEY], sl.len[KEXL_HOSTKEY], a.hostkey,
	    sizeof(a.hostkey)) != 0)
		goto nomatch;
	for (d = 0; d < 2; d++) {
		if (namelist_choose(cl.p[KEXL_ENC + d], cl.len[KEXL_ENC + d],
		    sl.p[KEXL_ENC + d], sl.len[KEXL_ENC + d], a.cipher[d],
		    sizeof(a.cipher[d])) != 0)
			goto nomatch;
		enc = enc_lookup(a.cipher[d]);
		/* No MAC with an AEAD cipher. */
		if ((enc == NULL || enc->authlen == 0) &&
		    namelist_choose(cl.p[KEXL_MAC + d], cl.len[KEXL_MAC + d],
		    sl.p[KEXL_MAC + d], sl.len[KEXL_MAC + d], a.mac[d],
		    sizeof(a.mac[d])) != 0)
			goto nomatch;
		if (namelist_choose(cl.p[KEXL_COMP + d], cl.len[KEXL_COMP + d],
		    sl.p[KEXL_COMP + d], sl.len[KEXL_COMP + d], a.comp[d],
		    sizeof(a.comp[d])) != 0)
			goto nomatch;
		if (strcmp(a.comp[d], "none") != 0)
			sc->compression = 1;
	}
	sc->algs = a;
	if (round == 0)
		snprintf(sc->hostkey0, sizeof(sc->hostkey0), "%s", a.hostkey);
	sc->neg[round % 2] = a;
	sc->neg_valid[round % 2] = 1;
	sc->negotiated = 1;
	if (sc->compression)
		unprotect(sc, "compression negotiated (%s)",
		    strcmp(a.comp[0], "none") != 0 ? a.comp[0] : a.comp[1]);
	return;
 nomatch:
	unprotect(sc, "no common algorithm in KEX round %u", round);
}

static const struct sshtrack_algs *
kex_algs(struct sshtrack_conn *sc, uint32_t round)
{
	if (sc->neg_valid[round % 2] && sc->neg[round % 2].round == round)
		return &sc->neg[round % 2];
	return NULL;
}

static void
kexinit_add(struct sshtrack_conn *sc, int dir, const uint8_t *p, size_t len)
{
	struct sshtrack_dir *d = &sc->dir[dir], *o = &sc->dir[!dir];
	uint32_t round = d->kexinits++;
	struct kexinit *k;
	int i;

	for (i = 0; i < o->nkexinit; i++) {
		k = &o->kexinit[i];
		if (k->round != round)
			continue;
		if (dir == SSHTRACK_C2S)
			kex_negotiate(sc, round, p, len, k->p, k->len);
		else
			kex_negotiate(sc, round, k->p, k->len, p, len);
		free(k->p);
		if (i == 0 && o->nkexinit == 2)
			o->kexinit[0] = o->kexinit[1];
		o->nkexinit--;
		return;
	}
	if (len > sc->st->lim.max_kexinit) {
		unprotect(sc, "KEXINIT of %zu bytes over the limit", len);
		return;
	}
	if (d->nkexinit == 2) {
		unprotect(sc, "key exchanges out of step (%s)", dir_str(dir));
		return;
	}
	k = &d->kexinit[d->nkexinit];
	if ((k->p = malloc(len)) == NULL) {
		unprotect(sc, "out of memory for KEXINIT");
		return;
	}
	memcpy(k->p, p, len);
	k->len = len;
	k->round = round;
	d->nkexinit++;
}

/* Drop KEXINITs waiting for a peer of a round before `round`. */
static void
kexinit_purge(struct sshtrack_conn *sc, uint32_t round)
{
	struct sshtrack_dir *d;
	int i, j;

	for (i = 0; i < 2; i++) {
		d = &sc->dir[i];
		for (j = 0; j < d->nkexinit; ) {
			if (d->kexinit[j].round >= round) {
				j++;
				continue;
			}
			free(d->kexinit[j].p);
			if (j == 0 && d->nkexinit == 2)
				d->kexinit[0] = d->kexinit[1];
			d->nkexinit--;
		}
	}
}

/* --- messages --- */

/* Messages whose whole payload we need; the others are only peeked at. */
static int
needs_payload(uint8_t type)
{
	switch (type) {
	case SSH2_MSG_SERVICE_REQUEST:
	case SSH2_MSG_SERVICE_ACCEPT:
	case SSH2_MSG_KEXINIT:
	case SSH2_MSG_USERAUTH_REQUEST:
	case SSH2_MSG_USERAUTH_FAILURE:
	case SSH2_MSG_USERAUTH_SUCCESS:
	case SSH2_MSG_GLOBAL_REQUEST:
	case SSH2_MSG_REQUEST_SUCCESS:
	case SSH2_MSG_REQUEST_FAILURE:
	case SSH2_MSG_CHANNEL_OPEN:
	case SSH2_MSG_CHANNEL_OPEN_CONFIRMATION:
	case SSH2_MSG_CHANNEL_OPEN_FAILURE:
	case SSH2_MSG_CHANNEL_WINDOW_ADJUST:
	case SSH2_MSG_CHANNEL_EOF:
	case SSH2_MSG_CHANNEL_CLOSE:
	case SSH2_MSG_CHANNEL_REQUEST:
	case SSH2_MSG_CHANNEL_SUCCESS:
	case SSH2_MSG_CHANNEL_FAILURE:
		return 1;
	default:
		return 0;
	}
}

static int
name_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* Userauth methods whose requests hold no secret (the replay may use them). */
static const char *const auth_keep[] = {
	"none", "publickey", "publickey-hostbound-v00@openssh.com",
	"hostbased", "keyboard-interactive", NULL
};
/* Global requests that make server state the recovery must rebuild. */
static const char *const global_keep[] = {
	"tcpip-forward", "cancel-tcpip-forward",
	"streamlocal-forward@openssh.com",
	"cancel-streamlocal-forward@openssh.com",
	"no-more-sessions@openssh.com", NULL
};
/* Channel requests likewise (not signals, exits or keepalives). */
static const char *const chanreq_keep[] = {
	"pty-req", "x11-req", "env", "shell", "exec", "subsystem",
	"window-change", "auth-agent-req@openssh.com", NULL
};

static void
msg_userauth_request(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    struct buf *b, const uint8_t *p, size_t len)
{
	char user[SEAL_USER_MAX + 1], service[SSHTRACK_NAME_MAX + 1];
	char method[SSHTRACK_NAME_MAX + 1];

	if (dir != SSHTRACK_C2S)
		return;
	if (get_name(b, user, sizeof(user)) != 0 ||
	    get_name(b, service, sizeof(service)) != 0 ||
	    get_name(b, method, sizeof(method)) != 0) {
		/* Unreadable: keep nothing of it, it might hold a secret. */
		log_add(sc, dir, seqnr, SSH2_MSG_USERAUTH_REQUEST,
		    SSHTRACK_LOG_REDACTED, 0, 0, NULL, 0);
		return;
	}
	if (strcmp(method, "password") == 0) {
		/* Never kept: the record's attested login stands for it. */
		sc->password_attempts++;
		log_add(sc, dir, seqnr, SSH2_MSG_USERAUTH_REQUEST,
		    SSHTRACK_LOG_PASSWORD, 0, 0, NULL, 0);
	} else if (name_in(method, auth_keep))
		log_add(sc, dir, seqnr, SSH2_MSG_USERAUTH_REQUEST, 0, 0, 0,
		    p, len);
	else
		log_add(sc, dir, seqnr, SSH2_MSG_USERAUTH_REQUEST,
		    SSHTRACK_LOG_REDACTED, 0, 0, NULL, 0);
	explicit_bzero(user, sizeof(user));
}

static void
msg_global_request(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    struct buf *b, const uint8_t *p, size_t len)
{
	char name[SSHTRACK_NAME_MAX + 1];
	uint8_t want_reply;
	int keep;

	if (get_name(b, name, sizeof(name)) != 0 ||
	    buf_get_u8(b, &want_reply) != 0) {
		unprotect(sc, "malformed GLOBAL_REQUEST at %s seqnr %u",
		    dir_str(dir), seqnr);
		return;
	}
	keep = dir == SSHTRACK_C2S && name_in(name, global_keep);
	if (keep)
		log_add(sc, dir, seqnr, SSH2_MSG_GLOBAL_REQUEST, 0, 0, 0,
		    p, len);
	if (want_reply && dir == SSHTRACK_C2S &&
	    replyq_push(&sc->greq, keep) != 0)
		unprotect(sc, "over %d global requests unanswered",
		    REPLYQ_MAX);
}

/*
 * A message that refers to what we never saw: a channel number unknown on
 * that side, a reply to no request.  Messages are read in the order they
 * were captured, so the peer saw something we did not: most likely the
 * other direction is stuck on a length the capture corrupted (it waits for
 * a packet end that never comes; checksums are not verified).  Out of step
 * means unprotectable.
 */
static void
out_of_step(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    const char *what, uint32_t chan)
{
	unprotect(sc, "out of step: %s %s seqnr %u refers to unseen %s %u",
	    dir_str(dir), what, seqnr, strcmp(what, "global reply") == 0 ?
	    "request" : "channel", chan);
}

static void
msg_channel_open(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    struct buf *b, const uint8_t *p, size_t len)
{
	char type[SSHTRACK_NAME_MAX + 1];
	uint32_t sender, window, maxpacket;
	struct chan *ch;

	if (get_name(b, type, sizeof(type)) != 0 ||
	    buf_get_u32(b, &sender) != 0 || buf_get_u32(b, &window) != 0 ||
	    buf_get_u32(b, &maxpacket) != 0) {
		unprotect(sc, "malformed CHANNEL_OPEN at %s seqnr %u",
		    dir_str(dir), seqnr);
		return;
	}
	if ((ch = chan_new(sc)) == NULL) {
		unprotect(sc, "more than %zu channels",
		    sc->st->lim.max_channels);
		return;
	}
	snprintf(ch->pub.type, sizeof(ch->pub.type), "%s", type);
	sc->eff.chan = ch->serial;
	ch->pub.opened_by = dir;
	ch->pub.window_known = 1;
	/* The opener's numbers; its window is for data sent towards it. */
	if (dir == SSHTRACK_C2S)
		ch->pub.id_client = sender;
	else
		ch->pub.id_server = sender;
	ch->known[dir] = 1;
	ch->pub.initial_window[!dir] = window;
	ch->pub.maxpacket[!dir] = maxpacket;
	chan_window(ch, !dir);
	log_add(sc, dir, seqnr, SSH2_MSG_CHANNEL_OPEN, 0, ch->serial, 0, p,
	    len);
}

static void
msg_channel_confirm(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    struct buf *b, const uint8_t *p, size_t len)
{
	uint32_t recipient, sender, window, maxpacket;
	struct chan *ch;

	if (buf_get_u32(b, &recipient) != 0 || buf_get_u32(b, &sender) != 0 ||
	    buf_get_u32(b, &window) != 0 || buf_get_u32(b, &maxpacket) != 0) {
		unprotect(sc, "malformed OPEN_CONFIRMATION at %s seqnr %u",
		    dir_str(dir), seqnr);
		return;
	}
	if ((ch = chan_find(sc, dir, recipient)) == NULL || ch->pub.confirmed ||
	    ch->pub.opened_by == dir) {
		out_of_step(sc, dir, seqnr, "OPEN_CONFIRMATION", recipient);
		return;
	}
	ch->pub.confirmed = 1;
	sc->eff.chan = ch->serial;
	if (dir == SSHTRACK_C2S)
		ch->pub.id_client = sender;
	else
		ch->pub.id_server = sender;
	ch->known[dir] = 1;
	ch->pub.initial_window[!dir] = window;
	ch->pub.maxpacket[!dir] = maxpacket;
	chan_window(ch, !dir);
	log_add(sc, dir, seqnr, SSH2_MSG_CHANNEL_OPEN_CONFIRMATION, 0,
	    ch->serial, 0, p, len);
}

static void
msg_channel_request(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    struct chan *ch, struct buf *b, const uint8_t *p, size_t len)
{
	char name[SSHTRACK_NAME_MAX + 1];
	uint8_t want_reply;
	int keep;

	if (get_name(b, name, sizeof(name)) != 0 ||
	    buf_get_u8(b, &want_reply) != 0) {
		unprotect(sc, "malformed CHANNEL_REQUEST at %s seqnr %u",
		    dir_str(dir), seqnr);
		return;
	}
	keep = dir == SSHTRACK_C2S && name_in(name, chanreq_keep);
	if (keep)
		log_add(sc, dir, seqnr, SSH2_MSG_CHANNEL_REQUEST, 0,
		    ch->serial, strcmp(name, "window-change") == 0 &&
		    !want_reply, p, len);
	if (want_reply && dir == SSHTRACK_C2S &&
	    replyq_push(&ch->req, keep) != 0)
		unprotect(sc, "over %d channel requests unanswered",
		    REPLYQ_MAX);
}

/* Messages about an existing channel: windows, requests, EOF, CLOSE. */
static void
msg_channel(struct sshtrack_conn *sc, int dir, uint32_t seqnr, uint8_t type,
    struct buf *b, const uint8_t *p, size_t len, size_t payload_len)
{
	uint32_t recipient, n, code;
	struct chan *ch;
	size_t hdr;
	int logged;

	if (buf_get_u32(b, &recipient) != 0)
		goto bad;
	if ((ch = chan_find(sc, dir, recipient)) == NULL) {
		out_of_step(sc, dir, seqnr, "channel message", recipient);
		return;
	}
	sc->eff.chan = ch->serial;
	switch (type) {
	case SSH2_MSG_CHANNEL_OPEN_FAILURE:
		/* It never existed: forget it and what was logged of it. */
		if (ch->pub.confirmed || ch->pub.opened_by == dir)
			goto bad;
		chan_remove(sc, ch);
		return;
	case SSH2_MSG_CHANNEL_WINDOW_ADJUST:
		if (buf_get_u32(b, &n) != 0)
			goto bad;
		/* The sender grants room for data sent towards it. */
		sc->eff.n = n;
		ch->pub.adjust[!dir] += n;
		chan_window(ch, !dir);
		return;
	case SSH2_MSG_CHANNEL_DATA:
	case SSH2_MSG_CHANNEL_EXTENDED_DATA:
		if (type == SSH2_MSG_CHANNEL_EXTENDED_DATA &&
		    buf_get_u32(b, &code) != 0)
			goto bad;
		/* Only the header was decrypted: check n against the size. */
		hdr = type == SSH2_MSG_CHANNEL_DATA ? 9 : 13;
		if (buf_get_u32(b, &n) != 0 || payload_len < hdr ||
		    n > payload_len - hdr)
			goto bad;
		sc->eff.n = n;
		ch->pub.data[dir] += n;
		chan_window(ch, dir);
		return;
	case SSH2_MSG_CHANNEL_EOF:
		ch->pub.eof[dir] = 1;
		log_add(sc, dir, seqnr, type, 0, ch->serial, 0, p, len);
		return;
	case SSH2_MSG_CHANNEL_CLOSE:
		ch->pub.close[dir] = 1;
		log_add(sc, dir, seqnr, type, 0, ch->serial, 0, p, len);
		if (ch->pub.close[!dir])
			chan_remove(sc, ch);	/* gone on both sides */
		return;
	case SSH2_MSG_CHANNEL_REQUEST:
		msg_channel_request(sc, dir, seqnr, ch, b, p, len);
		return;
	case SSH2_MSG_CHANNEL_SUCCESS:
	case SSH2_MSG_CHANNEL_FAILURE:
		if (dir != SSHTRACK_S2C)
			return;
		if ((logged = replyq_pop(&ch->req)) == 1)
			log_add(sc, dir, seqnr, type, 0, ch->serial, 0, p, len);
		else if (logged < 0 && !sc->replies_lost)
			out_of_step(sc, dir, seqnr, "reply", recipient);
		return;
	}
	return;
 bad:
	unprotect(sc, "malformed channel message %u at %s seqnr %u", type,
	    dir_str(dir), seqnr);
}

/*
 * One packet's payload, decrypted (p, len: len is all of it or the first
 * bytes only, for messages we peek at; payload_len is its full length).
 */
static void
msg_handle(struct sshtrack_conn *sc, int dir, uint32_t seqnr,
    const uint8_t *p, size_t len, size_t payload_len)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct buf b;
	uint8_t type;
	int logged;

	buf_view(&b, p, len);
	if (buf_get_u8(&b, &type) != 0)
		return;
	sc->eff.type = type;
	switch (type) {
	case SSH2_MSG_KEXINIT:
		kexinit_add(sc, dir, p, len);
		break;
	case SSH2_MSG_NEWKEYS:
		/* packet.c: under strict KEX the seqnr restarts after it. */
		if (!sc->strict_known) {
			unprotect(sc, "NEWKEYS before both KEXINITs (%s)",
			    dir_str(dir));
			dir_stop(sc, dir);
			break;
		}
		if (sc->strict)
			d->seqnr = 0;
		d->newkeys++;
		if (d->kexinits < d->newkeys) {
			/* Its KEXINIT was not seen (lost bytes): rounds agree
			 * again from here; what waited for it never will. */
			d->kexinits = d->newkeys;
			kexinit_purge(sc, d->newkeys);
		}
		keys_release(&d->keys);
		d->keyed = 0;
		d->packets = d->blocks = 0;
		d->compressed = 0;
		d->phase = SSHTRACK_PHASE_WAIT_KEYS;
		break;
	case SSH2_MSG_SERVICE_REQUEST:
	case SSH2_MSG_SERVICE_ACCEPT:
	case SSH2_MSG_USERAUTH_FAILURE:
		log_add(sc, dir, seqnr, type, 0, 0, 0, p, len);
		break;
	case SSH2_MSG_USERAUTH_SUCCESS:
		log_add(sc, dir, seqnr, type, 0, 0, 0, p, len);
		if (dir == SSHTRACK_S2C) {
			sc->auth_done = 1;
			/* zlib@openssh.com starts after this packet. */
			if (d->comp == 2)
				d->compressed = 1;
			if (sc->dir[SSHTRACK_C2S].comp == 2)
				sc->dir[SSHTRACK_C2S].compressed = 1;
		}
		break;
	case SSH2_MSG_USERAUTH_REQUEST:
		msg_userauth_request(sc, dir, seqnr, &b, p, len);
		break;
	case SSH2_MSG_GLOBAL_REQUEST:
		msg_global_request(sc, dir, seqnr, &b, p, len);
		break;
	case SSH2_MSG_REQUEST_SUCCESS:
	case SSH2_MSG_REQUEST_FAILURE:
		if (dir != SSHTRACK_S2C)
			break;
		if ((logged = replyq_pop(&sc->greq)) == 1)
			log_add(sc, dir, seqnr, type, 0, 0, 0, p, len);
		else if (logged < 0 && !sc->replies_lost)
			out_of_step(sc, dir, seqnr, "global reply", 0);
		break;
	case SSH2_MSG_CHANNEL_OPEN:
		msg_channel_open(sc, dir, seqnr, &b, p, len);
		break;
	case SSH2_MSG_CHANNEL_OPEN_CONFIRMATION:
		msg_channel_confirm(sc, dir, seqnr, &b, p, len);
		break;
	case SSH2_MSG_CHANNEL_OPEN_FAILURE:
	case SSH2_MSG_CHANNEL_WINDOW_ADJUST:
	case SSH2_MSG_CHANNEL_DATA:
	case SSH2_MSG_CHANNEL_EXTENDED_DATA:
	case SSH2_MSG_CHANNEL_EOF:
	case SSH2_MSG_CHANNEL_CLOSE:
	case SSH2_MSG_CHANNEL_REQUEST:
	case SSH2_MSG_CHANNEL_SUCCESS:
	case SSH2_MSG_CHANNEL_FAILURE:
		msg_channel(sc, dir, seqnr, type, &b, p, len, payload_len);
		break;
	default:
		break;
	}
}

/* --- the per-direction parser --- */

static void
dir_stop(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_dir *d = &sc->dir[dir];

	d->phase = SSHTRACK_PHASE_STOPPED;
	d->in_off += buf_len(&d->in);
	buf_free(&d->in);
	buf_free(&d->line);
	keys_release(&d->keys);
	d->keyed = 0;
	d->scanning = 0;
	resync_free(d);
	sc->gen++;
}

static void
dir_fail(struct sshtrack_conn *sc, int dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dir_fail(struct sshtrack_conn *sc, int dir, const char *fmt, ...)
{
	char msg[SSHTRACK_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unprotect(sc, "%s", msg);
	dir_stop(sc, dir);
}

/* The position of dir's next packet (keys of the current KEX, if any). */
static void
dir_pos(const struct sshtrack_dir *d, struct sshtrack_pos *pos)
{
	memset(pos, 0, sizeof(*pos));
	pos->off = d->in_off;
	pos->seqnr = d->seqnr;
	pos->keyed = d->newkeys > 0;
	pos->kex_number = d->newkeys > 0 ? d->newkeys - 1 : 0;
	pos->packets = d->packets;
	pos->blocks = d->blocks;
	if (d->keyed)
		keys_pos_iv(&d->keys, d->packets, d->blocks, pos);
}

/* A client packet (or the identification) ends here: a new boundary. */
static void
dir_boundary(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_pos pos;

	if (dir != SSHTRACK_C2S)
		return;
	dir_pos(&sc->dir[dir], &pos);
	mark_confirmed(sc, &pos);
	explicit_bzero(&pos, sizeof(pos));
}

/*
 * Identification lines, not reading beyond stream offset limit: 1 per line
 * taken, 0 for more bytes, -1 stopped.
 */
static int
version_step(struct sshtrack_conn *sc, int dir, uint64_t limit)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	const uint8_t *l;
	uint8_t ch;
	size_t len, i;

	for (;;) {
		if (d->in_off >= limit || buf_get_u8(&d->in, &ch) != 0)
			return 0;
		d->in_off++;
		if (ch == '\r' && !d->cr) {
			d->cr = 1;
			continue;
		}
		if (ch == '\n')
			break;
		/* kex.c: a NUL, or a CR not followed by LF, is invalid. */
		if (ch == '\0' || d->cr) {
			dir_fail(sc, dir, "invalid identification (%s)",
			    dir_str(dir));
			return -1;
		}
		if (buf_put_u8(&d->line, ch) != 0) {
			dir_fail(sc, dir, "identification line too long (%s)",
			    dir_str(dir));
			return -1;
		}
	}
	d->cr = 0;
	l = buf_ptr(&d->line);
	len = buf_len(&d->line);
	if (len < 4 || memcmp(l, "SSH-", 4) != 0) {
		/* RFC 4253 4.2: only the server may send other lines first. */
		if (dir == SSHTRACK_C2S || ++d->lines > MAX_PRE_BANNER_LINES) {
			dir_fail(sc, dir, "no SSH identification (%s)",
			    dir_str(dir));
			return -1;
		}
		buf_reset(&d->line);
		return 1;
	}
	if (len > SSHTRACK_VERSION_MAX ||
	    !((len > 8 && memcmp(l, "SSH-2.0-", 8) == 0) ||
	    (len > 9 && memcmp(l, "SSH-1.99-", 9) == 0))) {
		dir_fail(sc, dir, "not an SSH-2 identification (%s)",
		    dir_str(dir));
		return -1;
	}
	for (i = 0; i < len; i++)
		if (l[i] < 0x20 || l[i] > 0x7e) {
			dir_fail(sc, dir, "identification not printable (%s)",
			    dir_str(dir));
			return -1;
		}
	memcpy(d->version, l, len);
	d->version[len] = '\0';
	buf_free(&d->line);
	d->phase = SSHTRACK_PHASE_CLEAR;
	d->packet_end = d->in_off;
	dir_boundary(sc, dir);
	return 1;
}

/*
 * What a packet is encrypted with: the counters of its position (the
 * direction's own while following, a candidate's while resynchronising).
 */
struct cursor {
	uint32_t	 seqnr;
	uint64_t	 packets, blocks;
	const uint8_t	*cbc;		/* CBC: the ciphertext block before it */
};

static void
dir_cursor(const struct sshtrack_dir *d, struct cursor *cur)
{
	cur->seqnr = d->seqnr;
	cur->packets = d->packets;
	cur->blocks = d->blocks;
	cur->cbc = d->keys.cbc;
}

/* Whether the length is sent in clear under k (NULL: no keys yet). */
static int
length_in_clear(const struct sshtrack_keys *k)
{
	return k == NULL || (k->enc->type != ENC_CHACHA &&
	    (k->enc->authlen > 0 || k->mac->etm));
}

/*
 * The packet length of the packet at p (avail bytes) under k at cur: 0, 1
 * if more bytes are needed, -1 if libcrypto failed.
 */
static int
packet_length(struct sshtrack_keys *k, const struct cursor *cur,
    const uint8_t *p, size_t avail, uint32_t *packlen)
{
	uint8_t first[16], iv[16];
	const uint8_t *ct;
	EVP_CIPHER_CTX *ctx;
	struct buf b;
	size_t n;
	int r;

	buf_view(&b, p, avail);
	if (length_in_clear(k))
		return buf_peek_u32(&b, 0, packlen) == 0 ? 0 : 1;
	n = k->enc->type == ENC_CHACHA ? 4 : k->enc->block_size;
	if (get_direct(&b, n, &ct) != 0)
		return 1;
	if (k->enc->type == ENC_CHACHA)
		chacha_iv(iv, 0, cur->seqnr);
	else if (k->enc->type == ENC_CTR)
		ctr_at(k->iv0, cur->blocks, iv);
	else
		memcpy(iv, cur->cbc, 16);
	ctx = k->enc->type == ENC_CHACHA ? k->hctx : k->ctx;
	r = crypt_iv(ctx, iv) != 0 || crypt_update(ctx, first, ct, n) != 0;
	buf_view(&b, first, 4);
	(void)buf_get_u32(&b, packlen);
	explicit_bzero(iv, sizeof(iv));
	explicit_bzero(first, sizeof(first));
	return r ? -1 : 0;
}

/* Whether packlen can frame a packet under k (packet.c's checks). */
static int
frame_ok(const struct sshtrack_keys *k, uint32_t packlen)
{
	size_t bs = k != NULL ? k->enc->block_size : 8;
	int aad = k != NULL && (k->enc->authlen > 0 || k->mac->etm);

	if (packlen < 1 + 4 || packlen > PACKET_MAX_SIZE)
		return 0;
	return (aad ? packlen : 4 + packlen) % bs == 0 &&
	    (aad || 4 + packlen >= bs);
}

/*
 * Decrypt and verify the complete packet at p (avail bytes, length
 * packlen) under k (NULL: in clear) at cur, as ssh_packet_read_poll2()
 * would.  The plaintext, length field first, goes to st->scratch: all of
 * it, or (when the MAC does not need it and full is 0) the first PEEK_LEN
 * payload bytes; *ptlen says how many.  Returns 0, or -1 with why set.
 */
static int
packet_open(struct sshtrack *st, struct sshtrack_keys *k,
    const struct cursor *cur, const uint8_t *p, size_t avail,
    uint32_t packlen, int full, size_t *ptlen, const char **why)
{
	uint8_t *pt = st->scratch, iv[16];
	const uint8_t *ct, *tag;
	size_t maclen, want, len = 4 + (size_t)packlen;
	struct buf b;
	int outl, r = -1;

	*why = "truncated";
	buf_view(&b, p, avail);
	if (k == NULL) {
		if (get_direct(&b, len, &ct) != 0)
			return -1;
		memcpy(pt, ct, len);
		*ptlen = len;
		return 0;
	}
	maclen = k->mac != NULL ? k->mac->mac_len : 0;
	if (get_direct(&b, len, &ct) != 0 ||
	    get_direct(&b, k->enc->authlen + maclen, &tag) != 0)
		return -1;
	want = full ? packlen : (packlen < PEEK_LEN ? packlen : PEEK_LEN);
	memcpy(pt, ct, 4);	/* the length, in clear or decrypted below */
	*ptlen = 4;
	switch (k->enc->type) {
	case ENC_CHACHA:
		/* Tag first, over the encrypted length and payload. */
		*why = "MAC mismatch";
		if (poly_check(st, k, cur->seqnr, ct, len, tag) != 0)
			goto out;
		*why = "decryption error";
		chacha_iv(iv, 0, cur->seqnr);
		if (crypt_iv(k->hctx, iv) != 0 ||
		    crypt_update(k->hctx, pt, ct, 4) != 0)
			goto out;
		chacha_iv(iv, 1, cur->seqnr);
		if (crypt_iv(k->ctx, iv) != 0 ||
		    crypt_update(k->ctx, pt + 4, ct + 4, want) != 0)
			goto out;
		*ptlen = 4 + want;
		break;
	case ENC_GCM:
		/* The tag covers everything: decrypt all to check it. */
		*why = "GCM tag mismatch";
		gcm_at(k->iv0, cur->packets, iv);
		if (!EVP_DecryptInit_ex(k->ctx, NULL, NULL, NULL, iv) ||
		    !EVP_DecryptUpdate(k->ctx, NULL, &outl, ct, 4) ||
		    !EVP_DecryptUpdate(k->ctx, pt + 4, &outl, ct + 4,
		    (int)packlen) || (uint32_t)outl != packlen ||
		    !EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_GCM_SET_TAG,
		    POLY1305_TAGLEN, (void *)tag) ||
		    EVP_DecryptFinal_ex(k->ctx, pt + 4 + outl, &outl) <= 0)
			goto out;
		*ptlen = len;
		break;
	case ENC_CTR:
	case ENC_CBC:
		if (k->enc->type == ENC_CTR)
			ctr_at(k->iv0, cur->blocks, iv);
		else
			memcpy(iv, cur->cbc, 16);
		*why = "decryption error";
		if (crypt_iv(k->ctx, iv) != 0)
			goto out;
		if (k->mac->etm) {
			/* MAC over the length and the ciphertext. */
			*why = "MAC mismatch";
			if (mac_check(k, cur->seqnr, ct, len, tag) != 0)
				goto out;
			*why = "decryption error";
			want = (want + 15) & ~(size_t)15;
			if (crypt_update(k->ctx, pt + 4, ct + 4, want) != 0)
				goto out;
			*ptlen = 4 + want;
		} else {
			/* MAC over the plaintext: decrypt it all. */
			if (crypt_update(k->ctx, pt, ct, len) != 0)
				goto out;
			*ptlen = len;
			*why = "MAC mismatch";
			if (mac_check(k, cur->seqnr, pt, len, tag) != 0)
				goto out;
		}
		break;
	}
	r = 0;
 out:
	explicit_bzero(iv, sizeof(iv));
	return r;
}

/* The rest of a payload packet_open() only peeked at (etm and chacha). */
static int
packet_open_rest(struct sshtrack *st, struct sshtrack_keys *k,
    const uint8_t *p, size_t avail, uint32_t packlen, size_t *ptlen)
{
	const uint8_t *ct;
	struct buf b;

	if (*ptlen >= 4 + (size_t)packlen)
		return 0;
	buf_view(&b, p, avail);
	if (get_direct(&b, 4 + (size_t)packlen, &ct) != 0)
		return -1;
	/* The contexts continue where packet_open() left them. */
	if (crypt_update(k->ctx, st->scratch + *ptlen, ct + *ptlen,
	    4 + (size_t)packlen - *ptlen) != 0)
		return -1;
	*ptlen = 4 + (size_t)packlen;
	return 0;
}

/*
 * One binary packet, if it ends by stream offset limit: 1 taken, 0 for more
 * bytes, -1 stopped.
 */
static int
packet_step(struct sshtrack_conn *sc, int dir, uint64_t limit)
{
	struct sshtrack *st = sc->st;
	struct sshtrack_dir *d = &sc->dir[dir];
	struct sshtrack_keys *k = &d->keys, *kk;
	size_t bs, authlen, maclen, aadlen, total, ptlen = 0, payload_len;
	size_t avail;
	uint8_t padlen, type;
	uint32_t packlen, seqnr = d->seqnr;
	const uint8_t *p;
	const char *why;
	struct cursor cur;
	struct buf b;
	int full, r;

	bs = d->keyed ? k->enc->block_size : 8;
	authlen = d->keyed ? k->enc->authlen : 0;
	maclen = d->keyed && k->mac != NULL ? k->mac->mac_len : 0;
	aadlen = authlen > 0 || (maclen > 0 && k->mac->etm) ? 4 : 0;
	kk = d->keyed ? k : NULL;
	dir_cursor(d, &cur);
	p = buf_ptr(&d->in);
	avail = buf_len(&d->in);

	/* The packet length: in clear, or from the first bytes decrypted. */
	if ((r = packet_length(kk, &cur, p, avail, &packlen)) > 0)
		return 0;
	if (r < 0) {
		dir_fail(sc, dir, "decryption failed at %s seqnr %u: "
		    "libcrypto", dir_str(dir), seqnr);
		return -1;
	}
	if (packlen < 1 + 4 || packlen > PACKET_MAX_SIZE) {
		dir_fail(sc, dir, "%s at %s seqnr %u: bad packet length %u",
		    d->keyed ? "decryption failed" : "bad packet", dir_str(dir),
		    seqnr, packlen);
		return -1;
	}
	/* packet.c: what follows the first block must fill whole blocks. */
	if ((aadlen > 0 ? packlen : 4 + packlen) % bs != 0 ||
	    (aadlen == 0 && 4 + packlen < bs)) {
		dir_fail(sc, dir, "%s at %s seqnr %u: length %u not a multiple "
		    "of the block size", d->keyed ? "decryption failed" :
		    "bad packet", dir_str(dir), seqnr, packlen);
		return -1;
	}
	total = 4 + (size_t)packlen + authlen + maclen;
	if (d->in_off + total > limit)
		return 0;
	if (avail < total) {
		if (total > st->lim.max_buffer) {
			dir_fail(sc, dir, "%s packet of %zu bytes over the "
			    "buffer limit", dir_str(dir), total);
			return -1;
		}
		return 0;
	}

	full = !d->keyed || k->enc->type == ENC_GCM || !aadlen;
	if (packet_open(st, kk, &cur, p, avail, packlen, full, &ptlen,
	    &why) != 0)
		goto fail;
	buf_view(&b, st->scratch, ptlen);
	(void)buf_skip(&b, 4);
	if (buf_get_u8(&b, &padlen) != 0 || padlen < 4 ||
	    (size_t)padlen + 1 >= packlen) {
		why = "bad padding length";
		goto fail;
	}
	payload_len = packlen - padlen - 1;
	if (!d->compressed) {
		if (buf_peek_u8(&b, 0, &type) != 0 || type == 0 ||
		    type >= SSH2_MSG_LOCAL_MIN) {
			why = "invalid message type";
			goto fail;
		}
		if (needs_payload(type) &&
		    packet_open_rest(st, kk, p, avail, packlen, &ptlen) != 0) {
			why = "decryption error";
			goto fail;
		}
	}
	/* CBC: the next packet's IV is this one's last ciphertext block. */
	if (d->keyed && k->enc->type == ENC_CBC) {
		buf_view(&b, p, avail);
		if (buf_skip(&b, 4 + (size_t)packlen - 16) != 0 ||
		    buf_get(&b, k->cbc, 16) != 0)
			goto fail;
	}

	/* The packet is good: count it as OpenSSH does. */
	if (buf_skip(&d->in, total) != 0)
		goto fail;
	d->msg_off = d->in_off;
	d->in_off += total;
	d->packet_end = d->in_off;
	d->seqnr++;
	d->total_packets++;
	d->packets++;
	d->blocks += (4 + (size_t)packlen) / bs;
	d->bytes += 4 + (size_t)packlen;
	if (d->keyed)
		d->decrypted = 1;
	sc->gen++;
	if (!d->compressed) {
		size_t have = ptlen - 5 < payload_len ? ptlen - 5 :
		    payload_len;

		memset(&sc->eff, 0, sizeof(sc->eff));
		msg_handle(sc, dir, seqnr, st->scratch + 5, have, payload_len);
		if (dir == SSHTRACK_C2S)
			mark_effect(sc, d->msg_off, &sc->eff);
	}
	explicit_bzero(st->scratch, ptlen);
	if (d->phase != SSHTRACK_PHASE_STOPPED)
		dir_boundary(sc, dir);
	if (d->phase == SSHTRACK_PHASE_WAIT_KEYS && dir == SSHTRACK_C2S) {
		d->scanning = 1;
		d->scan_off = d->in_off;
		dir_pos(d, &d->scan_pos);
	}
	return d->phase == SSHTRACK_PHASE_STOPPED ? -1 : 1;
 fail:
	explicit_bzero(st->scratch, ptlen);
	dir_fail(sc, dir, "%s at %s seqnr %u: %s", d->keyed ?
	    "decryption failed" : "bad packet", dir_str(dir), seqnr, why);
	return -1;
}

/* Keys for the NEWKEYS just seen: 1 installed, 0 not arrived, -1 stopped. */
static int
keys_install(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack *st = sc->st;
	struct sshtrack_dir *d = &sc->dir[dir];
	uint32_t kex = d->newkeys - 1;
	const struct sshtrack_algs *a;
	const struct seal_keyrec *rec;
	const struct seal_dir *kd;
	char why[SSHTRACK_REASON_MAX];

	if ((rec = st->keys(st->arg, sc->c, kex)) == NULL)
		return 0;
	if (rec->closed || rec->kex_number != kex) {
		dir_fail(sc, dir, "key record for KEX %u is not usable", kex);
		return -1;
	}
	kd = dir == SSHTRACK_C2S ? &rec->c2s : &rec->s2c;
	if (kd->start_seqnr != d->seqnr) {
		dir_fail(sc, dir, "sequence number mismatch in KEX %u (%s: "
		    "tracked %u, record %u)", kex, dir_str(dir), d->seqnr,
		    kd->start_seqnr);
		return -1;
	}
	if ((kd->strict_kex != 0) != (sc->strict != 0)) {
		dir_fail(sc, dir, "strict KEX mismatch in KEX %u", kex);
		return -1;
	}
	if ((a = kex_algs(sc, kex)) != NULL &&
	    (strcmp(a->cipher[dir], kd->cipher) != 0 ||
	    strcmp(a->mac[dir], kd->mac) != 0 ||
	    strcmp(a->comp[dir], kd->comp) != 0)) {
		dir_fail(sc, dir, "algorithms of KEX %u differ from the key "
		    "record (%s)", kex, dir_str(dir));
		return -1;
	}
	if (keys_setup(st, &d->keys, kd, why, sizeof(why)) != 0) {
		keys_release(&d->keys);
		dir_fail(sc, dir, "%s (%s)", why, dir_str(dir));
		return -1;
	}
	d->keys.kex_number = kex;
	d->keyed = 1;
	d->scanning = 0;
	d->phase = SSHTRACK_PHASE_DECRYPT;
	sc->gen++;
	if (log_debug_enabled()) {
		char who[80];

		/* The lab compares this with the sshd's failover-keys line. */
		log_debug("sshtrack-newkeys client=%s dir=%s kex=%u seqnr=%u",
		    pkt_endpoint_str(&sc->c->client, sc->c->cport, who,
		    sizeof(who)), dir_str(dir), kex, d->seqnr);
	}
	if (strcmp(kd->comp, "none") != 0) {
		unprotect(sc, "compression negotiated (%s)", kd->comp);
		/* Counting goes on while payloads can be told apart. */
		d->comp = strcmp(kd->comp, "zlib@openssh.com") == 0 ? 2 : 1;
		d->compressed = d->comp == 1 || sc->auth_done;
	}
	/* The position of the first packet under them is known now. */
	dir_boundary(sc, dir);
	return 1;
}

/*
 * Waiting for keys with the length in clear (EtM, GCM): find where the
 * client's packets start, so the TCP tracker need not hold them all.  The
 * decryption must later agree (mark_confirmed).
 */
static void
wait_scan(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	const struct sshtrack_algs *a;
	const struct enc_alg *enc;
	const struct mac_alg *mac = NULL;
	struct sshtrack_pos *p = &d->scan_pos;
	uint32_t packlen;
	size_t total, maclen;
	struct buf b;

	if (!d->scanning || dir != SSHTRACK_C2S)
		return;
	if ((a = kex_algs(sc, d->newkeys - 1)) == NULL ||
	    (enc = enc_lookup(a->cipher[dir])) == NULL ||
	    enc->type == ENC_CHACHA ||
	    (enc->authlen == 0 && ((mac = mac_lookup(a->mac[dir])) == NULL ||
	    !mac->etm))) {
		d->scanning = 0;	/* length encrypted: hold it all */
		return;
	}
	maclen = mac != NULL ? mac->mac_len : 0;
	buf_view(&b, buf_ptr(&d->in), buf_len(&d->in));
	if (buf_skip(&b, (size_t)(d->scan_off - d->in_off)) != 0)
		return;
	while (buf_peek_u32(&b, 0, &packlen) == 0) {
		if (packlen < 5 || packlen > PACKET_MAX_SIZE ||
		    packlen % enc->block_size != 0) {
			d->scanning = 0;	/* the decryption will say */
			return;
		}
		total = 4 + (size_t)packlen + enc->authlen + maclen;
		if (buf_skip(&b, total) != 0)
			return;
		d->scan_off += total;
		p->off = d->scan_off;
		p->seqnr++;
		p->packets++;
		p->blocks += (4 + (size_t)packlen) / enc->block_size;
		p->iv_len = 0;
		if (prov_append(sc, p->off) != 0 || marks_append(sc, p) != 0) {
			unprotect(sc, "more than %zu client packets "
			    "unacknowledged", sc->st->lim.max_marks);
			d->scanning = 0;
			return;
		}
	}
}

/*
 * --- resync: proving a packet boundary after lost bytes ---
 *
 * The base is the direction's last proven position: a packet boundary with
 * its seqnr, and its packets and blocks under the keys of KEX base_kex.  n
 * packets went unseen since.  A candidate boundary x is proved when the
 * whole packet there verifies (MAC or AEAD tag, then padding length and
 * message type: packet_open(), as for any packet) at the cursor that x and
 * n imply: seqnr + n, the GCM invocation counter + n, the CTR counter + the
 * blocks the byte distance leaves once n packets' overhead is taken out
 * (every packet is 4 + packet_length + tag or MAC bytes, and packet_length
 * fills whole blocks); CBC only needs the ciphertext block before x.  When
 * only a later KEX's keys are left (a rekey while bytes were lost: the key
 * store keeps the newest record), n counts from that record's first packet
 * (its start seqnr); with CTR the block counter is searched as well (the
 * first block must decrypt to a plausible length), and with CTR and an EtM
 * MAC nothing proves the counter: given up.
 *
 * Candidates: where the length is encrypted under a state that depends on
 * n (chacha20-poly1305, CTR), the starts of the segments received; where it
 * is in clear (GCM, EtM) or CBC, every offset whose length, and the next
 * packet's, are plausible.  n runs over what the distance allows (packets
 * are min_total to max_total bytes) with the congruence it implies;
 * chacha20's length keystream per n is cached, so a candidate costs a few
 * bytes per n until one length is plausible.  A trial whose packet has not
 * all arrived waits (pending).  Everything is bounded (sshtrack_limits:
 * candidates, n, bytes, CPU in all and per call) and resumes where it
 * stopped: sshtrack_poll(), or the next bytes, go on with it.
 */
#define RESYNC_RESTART		1
#define RESYNC_GAP		2
#define RESYNC_LATE_KEYS	3	/* a rekey's keys came too late */
#define RESYNC_MAX_SEGS		256	/* segment starts not tried yet */
#define RESYNC_MAX_PENDING	16	/* trials waiting for their packet */
#define RESYNC_KS_BLOCKS	4096	/* CTR keystream blocks per batch */
#define RESYNC_CHECK_EVERY	256	/* steps between clock readings */

enum framing { FR_SEGMENT, FR_CLEARLEN, FR_CBC };
enum { TRY_NO, TRY_YES, TRY_MORE };

struct trial {
	uint64_t	 x;		/* candidate boundary */
	uint64_t	 n;		/* packets not seen since the base */
	uint64_t	 b;		/* CTR, a later KEX: blocks since it */
	uint64_t	 end;		/* TRY_MORE: the stream must reach it */
	int		 whole;		/* pending: x from n on (the length is
					   in clear: the end is the same for
					   every n), not this n alone */
};

struct resync {
	int		 cause;
	/* The last proven position. */
	uint64_t	 base_off;
	uint32_t	 base_seqnr, base_kex;
	uint64_t	 base_packets, base_blocks;
	int		 base_has_cbc;
	uint8_t		 base_cbc[16];
	/* Where the bytes we have start (restart: the TCP anchor). */
	int		 anchored;
	uint64_t	 anchor;
	int		 anchor_proof;	/* anchored exactly at the base */
	/* The keys tried: base_kex's, or a later KEX's (newest). */
	int		 keyed, newest;
	uint32_t	 kex, start_seqnr;
	enum framing	 framing;
	size_t		 ovh, bs, maclen, min_total, max_total;
	/* Candidates and trials. */
	uint64_t	 segs[RESYNC_MAX_SEGS];
	size_t		 nsegs;
	uint64_t	 scan_off;
	int		 have_cur;
	struct trial	 cur;		/* x, and the next n (and b) */
	struct trial	 pending[RESYNC_MAX_PENDING];
	size_t		 npending;
	struct trial	 proof;
	/* What it cost. */
	uint64_t	 candidates, trials, steps;
	double		 cpu;
	int		 more;		/* a slice ran out: work is left */
	/* chacha20: the length keystream, 4 bytes per n. */
	uint8_t		*hks;
	uint64_t	 hks_n, hks_alloc;
	/* CTR, a later KEX: keystream of blocks ks_b .. ks_b + ks_n - 1. */
	uint8_t		*ks;
	uint64_t	 ks_b;
	size_t		 ks_n;
	char		 why[SSHTRACK_REASON_MAX];
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
resync_free(struct sshtrack_dir *d)
{
	struct resync *rs = d->rs;

	if (rs == NULL)
		return;
	if (rs->hks != NULL) {
		explicit_bzero(rs->hks, rs->hks_alloc * 4);
		free(rs->hks);
	}
	if (rs->ks != NULL) {
		explicit_bzero(rs->ks, RESYNC_KS_BLOCKS * 16);
		free(rs->ks);
	}
	explicit_bzero(rs, sizeof(*rs));
	free(rs);
	d->rs = NULL;
}

static const char *
resync_cause(const struct resync *rs)
{
	switch (rs->cause) {
	case RESYNC_RESTART:	return "after the restart";
	case RESYNC_GAP:	return "after a capture gap";
	default:		return "after keys came too late";
	}
}

static void
resync_fail(struct sshtrack_conn *sc, int dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
resync_fail(struct sshtrack_conn *sc, int dir, const char *fmt, ...)
{
	char msg[SSHTRACK_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dir_fail(sc, dir, "could not prove a packet boundary %s (%s): %s",
	    resync_cause(sc->dir[dir].rs), dir_str(dir), msg);
}

/* Once packets were missed, channel windows and pending replies are not
 * known: say so, never guess. */
static void
conn_missed(struct sshtrack_conn *sc)
{
	size_t i;

	sc->windows_unknown = 1;
	sc->replies_lost = 1;
	for (i = 0; i < sc->nchans; i++) {
		sc->chans[i].pub.window_known = 0;
		sc->chans[i].req.n = 0;
	}
	sc->greq.n = 0;
}

/* The buffered bytes from stream offset x on: how many, at *p. */
static size_t
in_at(const struct sshtrack_dir *d, uint64_t x, const uint8_t **p)
{
	struct buf b;

	*p = NULL;
	buf_view(&b, buf_ptr(&d->in), buf_len(&d->in));
	if (x < d->in_off || x - d->in_off > buf_len(&b) ||
	    buf_skip(&b, (size_t)(x - d->in_off)) != 0)
		return 0;
	*p = buf_ptr(&b);
	return buf_len(&b);
}

static uint64_t
in_end(const struct sshtrack_dir *d)
{
	return d->in_off + buf_len(&d->in);
}

static void
resync_framing(struct resync *rs, const struct sshtrack_keys *k)
{
	size_t authlen = k->enc->authlen, bs = k->enc->block_size;
	int aad = authlen > 0 || k->mac->etm;

	rs->bs = bs;
	rs->maclen = k->mac != NULL ? k->mac->mac_len : 0;
	rs->ovh = (aad ? 4 : 0) + authlen + rs->maclen;
	/* packet_length >= 6: padding length, type, 4 bytes of padding. */
	rs->min_total = (aad ? 4 + (6 + bs - 1) / bs * bs :
	    (4 + 6 + bs - 1) / bs * bs) + authlen + rs->maclen;
	rs->max_total = 4 + PACKET_MAX_SIZE + authlen + rs->maclen;
	rs->framing = length_in_clear(k) ? FR_CLEARLEN :
	    k->enc->type == ENC_CBC ? FR_CBC : FR_SEGMENT;
}

/* Forget the candidates tried so far (new keys, new search). */
static void
resync_restart_search(struct sshtrack_dir *d)
{
	struct resync *rs = d->rs;

	rs->have_cur = 0;
	rs->npending = 0;
	rs->scan_off = d->in_off;
	rs->candidates = 0;
	rs->cpu = 0;
	rs->hks_n = 0;
	rs->ks_n = 0;
}

/*
 * dir lost bytes: go on from base, its last proven position.  Its bytes
 * come from the anchor on (a gap: right away; a restart: sshtrack_resumed()).
 */
static int
resync_begin(struct sshtrack_conn *sc, int dir, int cause,
    const struct sshtrack_sync_dir *base)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs;
	char who[80];

	resync_free(d);
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		dir_fail(sc, dir, "out of memory to resynchronise %s",
		    dir_str(dir));
		return -1;
	}
	rs->cause = cause;
	rs->base_off = base->off;
	rs->base_seqnr = base->seqnr;
	rs->base_kex = base->kex_number;
	rs->base_packets = base->packets;
	rs->base_blocks = base->blocks;
	rs->base_has_cbc = base->has_cbc;
	memcpy(rs->base_cbc, base->cbc, sizeof(rs->base_cbc));
	d->rs = rs;
	d->phase = SSHTRACK_PHASE_RESYNC;
	d->scanning = 0;
	if (cause == RESYNC_LATE_KEYS) {
		/* What is buffered starts at the base: keep it. */
		rs->anchored = 1;
		rs->anchor = rs->scan_off = d->in_off;
	} else
		buf_reset(&d->in);
	if (d->keyed && d->keys.kex_number == rs->base_kex) {
		/* A gap under keys in use: go on with them. */
		rs->keyed = 1;
		rs->kex = rs->base_kex;
		resync_framing(rs, &d->keys);
	} else {
		keys_release(&d->keys);
		d->keyed = 0;
	}
	if (dir == SSHTRACK_C2S) {
		/* Boundaries scanned beyond the base will never be confirmed. */
		sc->nprov = sc->prov_head = 0;
		while (sc->nmarks > 0 &&
		    marks_last(sc)->pos.off > rs->base_off) {
			explicit_bzero(marks_last(sc), sizeof(struct mark));
			sc->nmarks--;
		}
		if (sc->nmarks == 0)
			sc->mark_head = 0;
	}
	conn_missed(sc);
	snprintf(rs->why, sizeof(rs->why), "%s resynchronising %s (from "
	    "seqnr %u of KEX %u)", dir_str(dir), resync_cause(rs),
	    rs->base_seqnr, rs->base_kex);
	/* A restart says it for every connection, once; gaps may be many. */
	log_msg(cause == RESYNC_RESTART ? LOG_INFO : LOG_DEBUG,
	    "sshtrack: %s: %s", pkt_endpoint_str(&sc->c->client,
	    sc->c->cport, who, sizeof(who)), rs->why);
	sc->gen++;
	return 0;
}

/*
 * The keys to prove with: base_kex's record, else the newest one if it is
 * of a later KEX.  1 ready, 0 none yet, -1 stopped.
 */
static int
resync_keys(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack *st = sc->st;
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	const struct seal_keyrec *rec;
	const struct seal_dir *kd;
	char why[SSHTRACK_REASON_MAX];
	int newest;

	if (rs->keyed)
		return 1;
	if ((rec = st->keys(st->arg, sc->c, rs->base_kex)) != NULL &&
	    rec->kex_number != rs->base_kex)
		rec = NULL;
	if (rec == NULL && (rec = st->keys(st->arg, sc->c,
	    SSHTRACK_KEX_NEWEST)) != NULL && !rec->closed &&
	    rec->kex_number <= rs->base_kex)
		rec = NULL;
	if (rec == NULL)
		return 0;
	if (rec->closed) {
		resync_fail(sc, dir, "the connection ended");
		return -1;
	}
	newest = rec->kex_number != rs->base_kex;
	kd = dir == SSHTRACK_C2S ? &rec->c2s : &rec->s2c;
	if ((kd->strict_kex != 0) != (sc->strict != 0)) {
		resync_fail(sc, dir, "strict KEX mismatch in KEX %u",
		    rec->kex_number);
		return -1;
	}
	/* Counted since the keys came in: the record says where that was. */
	if (!newest && kd->start_seqnr != (uint32_t)(rs->base_seqnr -
	    (uint32_t)rs->base_packets)) {
		resync_fail(sc, dir, "the saved position (seqnr %u, %" PRIu64
		    " packets) disagrees with the record of KEX %u (start %u)",
		    rs->base_seqnr, rs->base_packets, rec->kex_number,
		    kd->start_seqnr);
		return -1;
	}
	if (strcmp(kd->comp, "none") != 0) {
		resync_fail(sc, dir, "compression (%s)", kd->comp);
		return -1;
	}
	keys_release(&d->keys);
	if (keys_setup(st, &d->keys, kd, why, sizeof(why)) != 0) {
		keys_release(&d->keys);
		resync_fail(sc, dir, "%s", why);
		return -1;
	}
	d->keys.kex_number = rec->kex_number;
	d->keyed = 1;
	rs->keyed = 1;
	rs->newest = newest;
	rs->kex = rec->kex_number;
	rs->start_seqnr = kd->start_seqnr;
	resync_framing(rs, &d->keys);
	resync_restart_search(d);
	if (newest && d->keys.enc->type == ENC_CTR && d->keys.mac->etm) {
		resync_fail(sc, dir, "CTR with an EtM MAC across a rekey (KEX "
		    "%u to %u): nothing proves its counter", rs->base_kex,
		    rs->kex);
		return -1;
	}
	return 1;
}

/*
 * The cursor of a trial: 0, or -1 if x and n cannot go together (distance,
 * congruence, CBC block not buffered).
 */
static int
resync_cursor(const struct sshtrack_conn *sc, int dir, const struct trial *t,
    struct cursor *cur, uint8_t cbc[16])
{
	const struct sshtrack_dir *d = &sc->dir[dir];
	const struct resync *rs = d->rs;
	const struct sshtrack_keys *k = &d->keys;
	const uint8_t *w;
	uint64_t dist;

	if (t->x < rs->base_off)
		return -1;
	dist = t->x - rs->base_off;
	if (!rs->newest) {
		if (dist < t->n * rs->ovh || (dist - t->n * rs->ovh) %
		    rs->bs != 0)
			return -1;
		cur->seqnr = rs->base_seqnr + (uint32_t)t->n;
		cur->packets = rs->base_packets + t->n;
		cur->blocks = rs->base_blocks + (dist - t->n * rs->ovh) /
		    rs->bs;
	} else {
		cur->seqnr = rs->start_seqnr + (uint32_t)t->n;
		cur->packets = t->n;
		cur->blocks = t->b;
	}
	cur->cbc = NULL;
	if (k->enc->type != ENC_CBC)
		return 0;
	if (t->n == 0)
		/* The first packet under the keys, or the base itself. */
		cur->cbc = rs->newest || !rs->base_has_cbc ? k->iv0 :
		    rs->base_cbc;
	else {
		if (t->x < d->in_off + rs->maclen + 16 ||
		    in_at(d, t->x - rs->maclen - 16, &w) < 16)
			return -1;
		memcpy(cbc, w, 16);
		cur->cbc = cbc;
	}
	return 0;
}

/* Does the whole packet at t->x verify at t's cursor? */
static int
resync_try(struct sshtrack_conn *sc, int dir, struct trial *t)
{
	struct sshtrack *st = sc->st;
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	struct sshtrack_keys *k = &d->keys;
	struct cursor cur;
	const uint8_t *p;
	const char *why;
	uint8_t cbc[16], padlen, type;
	uint32_t packlen;
	size_t avail, total, ptlen = 0;
	struct buf b;
	int r, ok = 0;

	if (resync_cursor(sc, dir, t, &cur, cbc) != 0)
		return TRY_NO;
	avail = in_at(d, t->x, &p);
	if ((r = packet_length(k, &cur, p, avail, &packlen)) > 0) {
		t->end = t->x + rs->bs;
		return TRY_MORE;
	}
	if (r < 0 || !frame_ok(k, packlen))
		return TRY_NO;
	total = 4 + (size_t)packlen + k->enc->authlen + rs->maclen;
	if (avail < total) {
		t->end = t->x + total;
		return TRY_MORE;
	}
	rs->trials++;
	if (packet_open(st, k, &cur, p, avail, packlen, k->enc->type ==
	    ENC_GCM || rs->ovh == rs->maclen, &ptlen, &why) == 0) {
		buf_view(&b, st->scratch, ptlen);
		ok = buf_skip(&b, 4) == 0 && buf_get_u8(&b, &padlen) == 0 &&
		    padlen >= 4 && (size_t)padlen + 1 < packlen &&
		    (d->compressed || (buf_get_u8(&b, &type) == 0 &&
		    type != 0 && type < SSH2_MSG_LOCAL_MIN));
	}
	explicit_bzero(st->scratch, ptlen);
	explicit_bzero(cbc, sizeof(cbc));
	return ok ? TRY_YES : TRY_NO;
}

/*
 * A trial whose packet has not all arrived waits for it.  When too many
 * wait, it is dropped: a later boundary will do (waiting for it could
 * stall the search on a plausible length that is not one).
 */
static void
resync_pending_add(struct resync *rs, const struct trial *t)
{
	if (rs->npending < RESYNC_MAX_PENDING)
		rs->pending[rs->npending++] = *t;
}

/* The first block at p decrypted with CBC from iv gives a length. */
static int
cbc_length(struct sshtrack_keys *k, const uint8_t *iv, const uint8_t *p,
    uint32_t *packlen)
{
	struct cursor cur;

	memset(&cur, 0, sizeof(cur));
	cur.cbc = iv;
	return packet_length(k, &cur, p, 16, packlen);
}

/*
 * Could a packet start at x?  Lengths in clear: its length and the next
 * packet's (when buffered) must frame.  CBC: likewise, decrypted with the
 * block before each (or the keys' IV, or the base's block).
 */
static int
resync_plausible(struct sshtrack_conn *sc, int dir, uint64_t x)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	struct sshtrack_keys *k = &d->keys;
	const uint8_t *p, *ivs[3], *w;
	uint64_t next, end = in_end(d);
	uint32_t len, len2;
	size_t avail, niv = 0, i;
	struct buf b;

	avail = in_at(d, x, &p);
	if (rs->framing == FR_CLEARLEN) {
		buf_view(&b, p, avail);
		if (buf_peek_u32(&b, 0, &len) != 0 || !frame_ok(k, len))
			return 0;
		next = x + 4 + len + k->enc->authlen + rs->maclen;
		if (next + 4 > end)
			return 1;
		buf_view(&b, p, avail);
		return buf_peek_u32(&b, (size_t)(next - x), &len2) == 0 &&
		    frame_ok(k, len2);
	}
	/* CBC without EtM. */
	if (avail < 16)
		return 0;
	if (x >= d->in_off + rs->maclen + 16 &&
	    in_at(d, x - rs->maclen - 16, &w) >= 16)
		ivs[niv++] = w;
	if (!rs->newest && x == rs->base_off)
		ivs[niv++] = rs->base_has_cbc ? rs->base_cbc : k->iv0;
	if (rs->newest)
		ivs[niv++] = k->iv0;
	for (i = 0; i < niv; i++) {
		if (cbc_length(k, ivs[i], p, &len) != 0 || !frame_ok(k, len))
			continue;
		next = x + 4 + len + rs->maclen;
		if (next + 16 > end)
			return 1;
		if (in_at(d, next - rs->maclen - 16, &w) < 16 ||
		    in_at(d, next, &p) < 16 || cbc_length(k, w, p,
		    &len2) != 0)
			return 0;
		return frame_ok(k, len2);
	}
	return 0;
}

/* The next candidate boundary: 1 (rs->cur), 0 none now, -1 stopped. */
static int
resync_next_candidate(struct sshtrack_conn *sc, int dir, double deadline)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	uint64_t x, end = in_end(d), from;

	if (rs->framing == FR_SEGMENT) {
		for (;;) {
			if (rs->nsegs == 0 || (x = rs->segs[0]) >= end)
				return 0;
			memmove(rs->segs, rs->segs + 1,
			    --rs->nsegs * sizeof(*rs->segs));
			if (x >= d->in_off && x >= rs->base_off)
				break;
		}
	} else {
		from = rs->scan_off > d->in_off ? rs->scan_off : d->in_off;
		if (from < rs->base_off)
			from = rs->base_off;
		for (x = from; x + 16 <= end; x++) {
			if ((++rs->steps % (RESYNC_CHECK_EVERY * 64)) == 0 &&
			    cpu_now() > deadline) {
				rs->scan_off = x;
				rs->more = 1;
				return 0;
			}
			if (resync_plausible(sc, dir, x))
				break;
		}
		rs->scan_off = x + 1;
		if (x + 16 > end) {
			rs->scan_off = x;
			return 0;
		}
	}
	if (++rs->candidates > sc->st->lim.resync_max_candidates) {
		resync_fail(sc, dir, "none of %zu candidate boundaries "
		    "verified (%" PRIu64 " trials)",
		    sc->st->lim.resync_max_candidates, rs->trials);
		return -1;
	}
	memset(&rs->cur, 0, sizeof(rs->cur));
	rs->cur.x = x;
	rs->have_cur = 1;
	return 1;
}

/* chacha20: the length keystream for the n-th packet; NULL on failure. */
static const uint8_t *
resync_hks(struct sshtrack_conn *sc, int dir, uint64_t n)
{
	static const uint8_t zero[4];
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	uint32_t first = rs->newest ? rs->start_seqnr : rs->base_seqnr;
	uint8_t iv[16], *nh;
	uint64_t na;

	if (n >= rs->hks_alloc) {
		na = rs->hks_alloc == 0 ? 1024 : rs->hks_alloc * 2;
		while (na <= n)
			na *= 2;
		if ((nh = reallocarray(rs->hks, na, 4)) == NULL)
			return NULL;
		rs->hks = nh;
		rs->hks_alloc = na;
	}
	for (; rs->hks_n <= n; rs->hks_n++) {
		chacha_iv(iv, 0, first + (uint32_t)rs->hks_n);
		if (crypt_iv(d->keys.hctx, iv) != 0 ||
		    crypt_update(d->keys.hctx, rs->hks + 4 * rs->hks_n, zero,
		    4) != 0)
			return NULL;
	}
	return rs->hks + 4 * n;
}

/*
 * CTR under a later KEX: for each block count b whose keystream makes the
 * first block a plausible length, every n.
 */
static int
resync_candidate_ctr(struct sshtrack_conn *sc, int dir, double deadline,
    uint64_t n_hi, struct trial *c)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	struct sshtrack_keys *k = &d->keys;
	const uint8_t *p;
	uint64_t b_hi = (c->x - rs->base_off) / 16;
	uint8_t iv[16], blk[4];
	uint32_t len;
	struct trial t;
	struct buf v;
	size_t i;
	int r;

	if (in_at(d, c->x, &p) < 16) {
		t = *c;
		t.whole = 1;
		t.end = c->x + 16;
		resync_pending_add(rs, &t);
		return 0;
	}
	if (rs->ks == NULL &&
	    (rs->ks = calloc(RESYNC_KS_BLOCKS, 16)) == NULL) {
		resync_fail(sc, dir, "out of memory");
		return -1;
	}
	for (; c->b <= b_hi; c->b++, c->n = 0) {
		if ((++rs->steps % RESYNC_CHECK_EVERY) == 0 &&
		    cpu_now() > deadline) {
			rs->more = 1;
			return 2;
		}
		if (c->n == 0) {
			if (rs->ks_n == 0 || c->b < rs->ks_b ||
			    c->b >= rs->ks_b + rs->ks_n) {
				rs->ks_b = c->b;
				rs->ks_n = b_hi - c->b + 1 <
				    RESYNC_KS_BLOCKS ? (size_t)(b_hi -
				    c->b + 1) : RESYNC_KS_BLOCKS;
				memset(rs->ks, 0, rs->ks_n * 16);
				ctr_at(k->iv0, rs->ks_b, iv);
				r = crypt_iv(k->ctx, iv) != 0 ||
				    crypt_update(k->ctx, rs->ks, rs->ks,
				    rs->ks_n * 16) != 0;
				explicit_bzero(iv, sizeof(iv));
				if (r) {
					resync_fail(sc, dir, "libcrypto");
					return -1;
				}
			}
			for (i = 0; i < 4; i++)
				blk[i] = p[i] ^ rs->ks[16 * (c->b -
				    rs->ks_b) + i];
			buf_view(&v, blk, 4);
			(void)buf_get_u32(&v, &len);
			if (!frame_ok(k, len))
				continue;
		}
		for (; c->n <= n_hi; c->n++) {
			if ((++rs->steps % RESYNC_CHECK_EVERY) == 0 &&
			    cpu_now() > deadline) {
				rs->more = 1;
				return 2;
			}
			t = *c;
			t.whole = 0;
			if ((r = resync_try(sc, dir, &t)) == TRY_YES) {
				rs->proof = t;
				return 1;
			}
			if (r == TRY_MORE)
				resync_pending_add(rs, &t);
		}
	}
	return 0;
}

/*
 * Every n (and b) for candidate c, from where c says: 1 proved
 * (rs->proof), 0 none left (or parked), 2 paused, -1 stopped.
 */
static int
resync_candidate(struct sshtrack_conn *sc, int dir, double deadline,
    struct trial *c)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	struct sshtrack_keys *k = &d->keys;
	uint64_t dist, n_lo, n_hi;
	const uint8_t *p, *ks;
	uint8_t blk[4];
	uint32_t len;
	struct trial t;
	struct buf v;
	size_t avail, i;
	int r;

	if (c->x < rs->base_off)
		return 0;
	dist = c->x - rs->base_off;
	n_lo = rs->newest || dist == 0 ? 0 :
	    (dist + rs->max_total - 1) / rs->max_total;
	n_hi = dist / rs->min_total;
	if (n_hi > sc->st->lim.resync_max_packets)
		n_hi = sc->st->lim.resync_max_packets;
	if (rs->newest && k->enc->type == ENC_CTR)
		return resync_candidate_ctr(sc, dir, deadline, n_hi, c);
	if (c->n < n_lo)
		c->n = n_lo;
	avail = in_at(d, c->x, &p);
	for (; c->n <= n_hi; c->n++) {
		if ((++rs->steps % RESYNC_CHECK_EVERY) == 0 &&
		    cpu_now() > deadline) {
			rs->more = 1;
			return 2;
		}
		if (!rs->newest && (dist - c->n * rs->ovh) % rs->bs != 0)
			continue;
		if (k->enc->type == ENC_CHACHA && avail >= 4) {
			/* Most n fail here, at the cost of a 4-byte XOR. */
			if ((ks = resync_hks(sc, dir, c->n)) == NULL) {
				resync_fail(sc, dir, "out of memory");
				return -1;
			}
			for (i = 0; i < 4; i++)
				blk[i] = p[i] ^ ks[i];
			buf_view(&v, blk, 4);
			(void)buf_get_u32(&v, &len);
			if (!frame_ok(k, len))
				continue;
		}
		t = *c;
		t.whole = 0;
		if ((r = resync_try(sc, dir, &t)) == TRY_YES) {
			rs->proof = t;
			return 1;
		}
		if (r != TRY_MORE)
			continue;
		if (length_in_clear(k)) {
			/* The same end for every n: x waits, whole. */
			t.whole = 1;
			resync_pending_add(rs, &t);
			return 0;
		}
		resync_pending_add(rs, &t);
	}
	return 0;
}

/* Search on: 1 proved (rs->proof), 0 not yet, -1 stopped. */
static int
resync_search(struct sshtrack_conn *sc, int dir, double deadline)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	uint64_t end = in_end(d);
	struct trial t;
	size_t i;
	int r;

	/* Trials that waited for the end of their packet. */
	for (i = 0; i < rs->npending; ) {
		t = rs->pending[i];
		if (t.x >= d->in_off && t.end > end) {
			i++;
			continue;
		}
		rs->pending[i] = rs->pending[--rs->npending];
		if (t.x < d->in_off)
			continue;
		if (t.whole) {
			/* The candidate from t.n on; it may park again. */
			if ((r = resync_candidate(sc, dir, deadline, &t)) == 2) {
				t.end = end;
				resync_pending_add(rs, &t);
				return 0;
			}
			if (r != 0)
				return r;
			continue;
		}
		if ((r = resync_try(sc, dir, &t)) == TRY_YES) {
			rs->proof = t;
			return 1;
		}
		if (r == TRY_MORE)
			resync_pending_add(rs, &t);
	}
	for (;;) {
		if (!rs->have_cur &&
		    (r = resync_next_candidate(sc, dir, deadline)) <= 0)
			return r;
		if ((r = resync_candidate(sc, dir, deadline, &rs->cur)) != 0)
			return r == 2 ? 0 : r;
		rs->have_cur = 0;
	}
}

/* The boundary is proved: follow packets from there. */
static int
resync_done(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	struct sshtrack_keys *k = &d->keys;
	struct trial t = rs->proof;
	struct cursor cur;
	uint8_t cbc[16];
	uint64_t dist;
	char who[80], n[32];

	if (resync_cursor(sc, dir, &t, &cur, cbc) != 0 ||
	    buf_skip(&d->in, (size_t)(t.x - d->in_off)) != 0) {
		resync_fail(sc, dir, "internal error");
		return -1;
	}
	dist = t.x - rs->base_off;
	d->in_off = d->packet_end = t.x;
	d->seqnr = cur.seqnr;
	d->packets = cur.packets;
	d->blocks = cur.blocks;
	if (k->enc->type == ENC_CBC)
		memcpy(k->cbc, cur.cbc, 16);
	explicit_bzero(cbc, sizeof(cbc));
	if (rs->newest) {
		/* Its NEWKEYS went by unseen. */
		d->newkeys = rs->kex + 1;
		if (d->kexinits < d->newkeys)
			d->kexinits = d->newkeys;
		kexinit_purge(sc, d->newkeys);
		d->missed_unknown = 1;
		snprintf(n, sizeof(n), "some");
	} else {
		d->missed += t.n;
		d->total_packets += t.n;
		d->bytes += dist - t.n * (k->enc->authlen + rs->maclen);
		snprintf(n, sizeof(n), "%" PRIu64, t.n);
	}
	d->keyed = 1;
	d->phase = SSHTRACK_PHASE_DECRYPT;
	d->resyncs++;
	pkt_endpoint_str(&sc->c->client, sc->c->cport, who, sizeof(who));
#define RESYNC_DONE_FMT	"sshtrack: %s: %s resynchronised %s at offset %" \
	PRIu64 ": seqnr %u, KEX %u, %s packets not seen (%" PRIu64 \
	" candidates, %" PRIu64 " trials, %.1f ms)"
	if (rs->cause == RESYNC_RESTART)
		log_info(RESYNC_DONE_FMT, who, dir_str(dir), resync_cause(rs),
		    t.x, d->seqnr, rs->kex, n, rs->candidates, rs->trials,
		    rs->cpu * 1e3);
	else
		log_limited(&sc->st->rl_resync, LOG_INFO, RESYNC_DONE_FMT, who,
		    dir_str(dir), resync_cause(rs), t.x, d->seqnr, rs->kex, n,
		    rs->candidates, rs->trials, rs->cpu * 1e3);
#undef RESYNC_DONE_FMT
	resync_free(d);
	sc->gen++;
	dir_boundary(sc, dir);
	return 1;
}

/* Phase RESYNC, one step: 1 proved (now DECRYPT), 0 not yet, -1 stopped. */
static int
resync_step(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	const struct sshtrack_limits *lim = &sc->st->lim;
	double t0;
	int r;

	if (rs == NULL || !rs->anchored)
		return 0;
	if ((r = resync_keys(sc, dir)) <= 0)
		return r;
	rs->more = 0;
	if (rs->anchor_proof && !rs->newest) {
		/* Nothing was sent since the base: it is the boundary. */
		memset(&rs->proof, 0, sizeof(rs->proof));
		rs->proof.x = rs->base_off;
		return resync_done(sc, dir);
	}
	t0 = cpu_now();
	r = resync_search(sc, dir, t0 + lim->resync_slice);
	if (d->rs == NULL)
		return -1;		/* given up inside */
	rs->cpu += cpu_now() - t0;
	if (r == 1)
		return resync_done(sc, dir);
	if (r < 0)
		return -1;
	if (rs->cpu > lim->resync_cpu) {
		resync_fail(sc, dir, "%.1f s of CPU spent on %" PRIu64
		    " candidates, %" PRIu64 " trials", rs->cpu,
		    rs->candidates, rs->trials);
		return -1;
	}
	return 0;
}

/* The buffer is full of unproved bytes: drop the older half. */
static void
resync_slide(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct resync *rs = d->rs;
	size_t drop = buf_len(&d->in) / 2, i;

	if (drop == 0)
		drop = buf_len(&d->in);
	(void)buf_skip(&d->in, drop);
	d->in_off += drop;
	for (i = 0; i < rs->nsegs && rs->segs[i] < d->in_off; i++)
		;
	memmove(rs->segs, rs->segs + i, (rs->nsegs - i) * sizeof(*rs->segs));
	rs->nsegs -= i;
	if (rs->have_cur && rs->cur.x < d->in_off)
		rs->have_cur = 0;
	if (rs->scan_off < d->in_off)
		rs->scan_off = d->in_off;
	if (d->in_off - rs->anchor > sc->st->lim.resync_max_bytes)
		resync_fail(sc, dir, "no boundary proved in %" PRIu64 " bytes "
		    "(%" PRIu64 " candidates, %" PRIu64 " trials)",
		    d->in_off - rs->anchor, rs->candidates, rs->trials);
}

/* dir waited for a rekey's keys until its buffer filled up. */
static void
resync_late_keys(struct sshtrack_conn *sc, int dir)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	struct sshtrack_sync_dir base;

	memset(&base, 0, sizeof(base));
	base.off = d->in_off;
	base.seqnr = d->seqnr;
	base.kex_number = d->newkeys - 1;
	if (resync_begin(sc, dir, RESYNC_LATE_KEYS, &base) == 0)
		d->rs->segs[d->rs->nsegs++] = base.off;	/* n = 0 there */
}

/* Received bytes [off, off + len): the segment start is a candidate. */
static void
resync_segment(struct sshtrack_dir *d, uint64_t off, uint64_t len)
{
	struct resync *rs = d->rs;

	if (rs->nsegs < RESYNC_MAX_SEGS && off >= rs->base_off)
		rs->segs[rs->nsegs++] = off;
	/* The base itself, when the bytes around it came in one segment. */
	if (rs->nsegs < RESYNC_MAX_SEGS && rs->base_off > off &&
	    rs->base_off < off + len)
		rs->segs[rs->nsegs++] = rs->base_off;
}

/*
 * Run dir's parser over what it has buffered, as far as it goes without
 * taking a packet that ends beyond stream offset limit.  clear_only: only
 * the identification and packets in clear (nothing there depends on the
 * other direction's encrypted messages).
 */
static void
dir_run(struct sshtrack_conn *sc, int dir, uint64_t limit, int clear_only)
{
	struct sshtrack_dir *d = &sc->dir[dir];
	int r;

	do {
		switch (d->phase) {
		case SSHTRACK_PHASE_VERSION:
			r = version_step(sc, dir, limit);
			break;
		case SSHTRACK_PHASE_CLEAR:
			r = packet_step(sc, dir, limit);
			break;
		case SSHTRACK_PHASE_DECRYPT:
			r = clear_only ? 0 : packet_step(sc, dir, limit);
			break;
		case SSHTRACK_PHASE_WAIT_KEYS:
			if (clear_only || (r = keys_install(sc, dir)) == 0) {
				wait_scan(sc, dir);
				r = 0;
			}
			break;
		case SSHTRACK_PHASE_RESYNC:
			/* Proving touches no message: fine when clear_only. */
			r = resync_step(sc, dir);
			break;
		default:
			r = 0;
			break;
		}
	} while (r > 0);
	if (buf_len(&d->in) == 0 && d->in.alloc > IDLE_KEEP) {
		buf_free(&d->in);	/* idle connections hold little */
		buf_init(&d->in, sc->st->lim.max_buffer);
	}
	if (dir == SSHTRACK_C2S)
		hold_update(sc);
}

/* Note that dir's stream now ends at end. */
static void
arrival_add(struct sshtrack_conn *sc, int dir, uint64_t end)
{
	struct arrival *n;
	size_t nalloc;

	if (sc->unordered)
		return;
	if (sc->narr > 0 && sc->arr[sc->arr_head + sc->narr - 1].dir == dir) {
		sc->arr[sc->arr_head + sc->narr - 1].end = end;
		return;
	}
	if (sc->arr_head > 0 && sc->arr_head + sc->narr == sc->arr_alloc) {
		memmove(sc->arr, sc->arr + sc->arr_head,
		    sc->narr * sizeof(*sc->arr));
		sc->arr_head = 0;
	}
	if (sc->arr_head + sc->narr == sc->arr_alloc) {
		nalloc = sc->arr_alloc == 0 ? 4 : sc->arr_alloc * 2;
		if (sc->narr >= sc->st->lim.max_arrivals ||
		    (n = reallocarray(sc->arr, nalloc, sizeof(*n))) == NULL) {
			/* Go on without: decrypted out of order, not safe. */
			unprotect(sc, "over %zu exchanges while waiting for "
			    "keys", sc->st->lim.max_arrivals);
			sc->unordered = 1;
			sc->narr = sc->arr_head = 0;
			return;
		}
		sc->arr = n;
		sc->arr_alloc = nalloc;
	}
	sc->arr[sc->arr_head + sc->narr].dir = dir;
	sc->arr[sc->arr_head + sc->narr].end = end;
	sc->narr++;
}

/*
 * Process what arrived, in arrival order.  Bytes waiting for keys, or for a
 * proved boundary, hold back everything that arrived after them, but the
 * other direction's key exchange in clear (and its own search).
 */
static void
conn_run(struct sshtrack_conn *sc)
{
	struct arrival *e;
	struct sshtrack_dir *d;
	int i;

	if (sc->unordered) {
		dir_run(sc, SSHTRACK_C2S, UINT64_MAX, 0);
		dir_run(sc, SSHTRACK_S2C, UINT64_MAX, 0);
		return;
	}
	while (sc->narr > 0) {
		e = &sc->arr[sc->arr_head];
		d = &sc->dir[e->dir];
		if (d->phase != SSHTRACK_PHASE_STOPPED) {
			dir_run(sc, e->dir, e->end, 0);
			if ((d->phase == SSHTRACK_PHASE_WAIT_KEYS ||
			    d->phase == SSHTRACK_PHASE_RESYNC) &&
			    d->in_off < e->end) {
				dir_run(sc, !e->dir, UINT64_MAX, 1);
				return;
			}
		}
		/* Done, or what is left is a packet completed later. */
		sc->arr_head++;
		if (--sc->narr == 0)
			sc->arr_head = 0;
	}
	/* Everything is through: keys may come in before their packets. */
	for (i = 0; i < 2; i++)
		if (sc->dir[i].phase == SSHTRACK_PHASE_WAIT_KEYS)
			dir_run(sc, i, sc->dir[i].in_off, 0);
}

static int
conn_waiting(const struct sshtrack_conn *sc)
{
	return sc->dir[SSHTRACK_C2S].phase == SSHTRACK_PHASE_WAIT_KEYS ||
	    sc->dir[SSHTRACK_S2C].phase == SSHTRACK_PHASE_WAIT_KEYS;
}

/* --- the tracker --- */

struct sshtrack *
sshtrack_new(const struct sshtrack_limits *lim, sshtrack_keys_fn keys,
    void *arg)
{
	struct sshtrack *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (lim != NULL)
		st->lim = *lim;
	else
		sshtrack_limits_default(&st->lim);
	st->keys = keys;
	st->arg = arg;
	st->rl_resync.interval = 10;
	st->scratch_len = 4 + PACKET_MAX_SIZE + 64;
	if ((st->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (st->poly = EVP_MAC_fetch(NULL, "POLY1305", NULL)) == NULL ||
	    (st->pctx = EVP_MAC_CTX_new(st->poly)) == NULL ||
	    (st->scratch = malloc(st->scratch_len)) == NULL) {
		sshtrack_free(st);
		return NULL;
	}
	return st;
}

static void
conn_free(struct sshtrack_conn *sc)
{
	size_t i;
	int d, j;

	for (d = 0; d < 2; d++) {
		buf_free(&sc->dir[d].in);
		buf_free(&sc->dir[d].line);
		keys_release(&sc->dir[d].keys);
		resync_free(&sc->dir[d]);
		for (j = 0; j < sc->dir[d].nkexinit; j++)
			free(sc->dir[d].kexinit[j].p);
	}
	for (i = 0; i < sc->nlog; i++)
		entry_free(sc->log[i]);
	free(sc->log);
	if (sc->marks != NULL) {
		explicit_bzero(sc->marks, sc->marks_alloc * sizeof(*sc->marks));
		free(sc->marks);
	}
	free(sc->prov);
	free(sc->arr);
	free(sc->chans);
	explicit_bzero(sc, sizeof(*sc));
	free(sc);
}

void
sshtrack_free(struct sshtrack *st)
{
	struct sshtrack_conn *sc, *n;

	if (st == NULL)
		return;
	for (sc = st->all; sc != NULL; sc = n) {
		n = sc->next;
		sc->c->upper = NULL;
		conn_free(sc);
	}
	EVP_MAC_CTX_free(st->pctx);
	EVP_MAC_free(st->poly);
	EVP_MAC_free(st->hmac);
	if (st->scratch != NULL) {
		explicit_bzero(st->scratch, st->scratch_len);
		free(st->scratch);
	}
	free(st);
}

void
sshtrack_conn_new(struct sshtrack *st, struct tcptrack_conn *c)
{
	struct sshtrack_conn *sc;
	int d;

	c->upper = NULL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		error_f("out of memory");
		return;
	}
	sc->st = st;
	sc->c = c;
	/* Never saved: the first sync point saves everything. */
	sc->saved_gen = sc->saved_log_gen = UINT64_MAX;
	for (d = 0; d < 2; d++) {
		buf_init(&sc->dir[d].in, st->lim.max_buffer);
		buf_init(&sc->dir[d].line, MAX_BANNER_LINE);
		sc->dir[d].phase = SSHTRACK_PHASE_VERSION;
	}
	sc->next = st->all;
	if (st->all != NULL)
		st->all->prev = sc;
	st->all = sc;
	c->upper = sc;
	if (c->resumed) {
		/* Nothing to parse until sshtrack_sync_restore() says where. */
		sc->started = 1;
		sc->unprotectable = 1;
		snprintf(sc->reason, sizeof(sc->reason), "no SSH state saved "
		    "before the restart");
		sc->hold_released = 1;
		tcptrack_hold(c, TCPTRACK_C2S, UINT64_MAX);
		for (d = 0; d < 2; d++)
			dir_stop(sc, d);
		return;
	}
	/* Hold client bytes from the start until boundaries say otherwise. */
	tcptrack_hold(c, TCPTRACK_C2S, 0);
	dir_boundary(sc, SSHTRACK_C2S);
}

void
sshtrack_conn_end(struct sshtrack *st, struct tcptrack_conn *c)
{
	struct sshtrack_conn *sc = c->upper;

	if (sc == NULL)
		return;
	if (sc->prev != NULL)
		sc->prev->next = sc->next;
	else
		st->all = sc->next;
	if (sc->next != NULL)
		sc->next->prev = sc->prev;
	c->upper = NULL;
	conn_free(sc);
}

/*
 * The TCP tracker announces a connection before it has looked at its first
 * segment.  Without the client's SYN, offsets are relative to a guess and
 * nothing says where packets start: stop before parsing anything.
 */
/* A segment from any address makes one: a flood of them, one line per 10 s. */
static struct log_ratelimit pickup_rl = LOG_RATELIMIT_INIT(10);

static int
pickup_check(struct sshtrack_conn *sc)
{
	if (!sc->started) {
		sc->started = 1;
		if (!sc->c->dir[TCPTRACK_C2S].syn_seen) {
			unprotect_limited(sc, &pickup_rl,
			    "connection picked up mid-stream");
			dir_stop(sc, SSHTRACK_C2S);
			dir_stop(sc, SSHTRACK_S2C);
		}
	}
	return sc->dir[SSHTRACK_C2S].phase == SSHTRACK_PHASE_STOPPED &&
	    sc->dir[SSHTRACK_S2C].phase == SSHTRACK_PHASE_STOPPED;
}

void
sshtrack_data(struct sshtrack *st, struct tcptrack_conn *c, int dir,
    uint64_t off, const uint8_t *p, size_t len)
{
	struct sshtrack_conn *sc = c->upper;
	struct sshtrack_dir *d;
	const uint8_t *piece;
	struct buf in;
	size_t n, room;

	if (sc == NULL || (dir != SSHTRACK_C2S && dir != SSHTRACK_S2C))
		return;
	d = &sc->dir[dir];
	(void)pickup_check(sc);
	if (d->phase != SSHTRACK_PHASE_STOPPED && off > d->next_off)
		/* tcptrack reports holes with gap(): this is defensive. */
		sshtrack_gap(st, c, dir, d->next_off, off - d->next_off);
	else if (d->phase != SSHTRACK_PHASE_STOPPED && off != d->next_off) {
		dir_fail(sc, dir, "stream out of order at offset %" PRIu64
		    " (%s)", d->next_off, dir_str(dir));
		conn_run(sc);
	}
	d->next_off = off + len;
	if (d->phase == SSHTRACK_PHASE_STOPPED) {
		d->in_off = d->next_off;
		return;
	}
	if (d->phase == SSHTRACK_PHASE_RESYNC)
		resync_segment(d, off, len);
	buf_view(&in, p, len);
	while (buf_len(&in) > 0 && d->phase != SSHTRACK_PHASE_STOPPED) {
		if ((room = d->in.max - buf_len(&d->in)) == 0 &&
		    d->phase == SSHTRACK_PHASE_WAIT_KEYS && d->decrypted)
			/*
			 * A rekey's keys are late (after a restart the
			 * sshd's export reconnects with a backoff): what
			 * waits under them is a hole to prove past later.
			 * Not for the first keys: the setup is in there.
			 */
			resync_late_keys(sc, dir);
		if (room == 0 && d->phase == SSHTRACK_PHASE_RESYNC) {
			/* Unproved bytes: the older ones go. */
			resync_slide(sc, dir);
			continue;
		}
		if (room == 0) {
			if (conn_waiting(sc))
				dir_fail(sc, dir, "keys did not arrive in time "
				    "(%zu %s bytes buffered)", buf_len(&d->in),
				    dir_str(dir));
			else
				dir_fail(sc, dir, "%s buffer limit reached",
				    dir_str(dir));
			conn_run(sc);	/* what waited behind it goes on */
			break;
		}
		n = buf_len(&in) < room ? buf_len(&in) : room;
		if (get_direct(&in, n, &piece) != 0 ||
		    buf_put(&d->in, piece, n) != 0) {
			dir_fail(sc, dir, "out of memory buffering %s",
			    dir_str(dir));
			conn_run(sc);
			break;
		}
		arrival_add(sc, dir, d->in_off + buf_len(&d->in));
		conn_run(sc);
	}
	if (d->phase == SSHTRACK_PHASE_STOPPED)
		d->in_off = d->next_off;
}

void
sshtrack_gap(struct sshtrack *st, struct tcptrack_conn *c, int dir,
    uint64_t off, uint64_t len)
{
	struct sshtrack_conn *sc = c->upper;
	struct sshtrack_sync_dir base;
	struct sshtrack_dir *d;

	(void)st;
	if (sc == NULL || (dir != SSHTRACK_C2S && dir != SSHTRACK_S2C))
		return;
	d = &sc->dir[dir];
	(void)pickup_check(sc);
	if (d->phase == SSHTRACK_PHASE_RESYNC) {
		/* Still proving: the bytes before the hole are no use. */
		buf_reset(&d->in);
	} else if (d->phase == SSHTRACK_PHASE_DECRYPT ||
	    (d->phase == SSHTRACK_PHASE_WAIT_KEYS && d->decrypted)) {
		/*
		 * The last packet boundary followed is proven: from there,
		 * prove one after the hole.  (Before the first keys were
		 * followed, what is lost is the setup itself: no resync.)
		 */
		memset(&base, 0, sizeof(base));
		base.off = d->in_off;
		base.seqnr = d->seqnr;
		base.kex_number = d->newkeys - 1;
		base.packets = d->packets;
		base.blocks = d->blocks;
		if (d->keyed && d->keys.enc->type == ENC_CBC &&
		    d->packets > 0) {
			base.has_cbc = 1;
			memcpy(base.cbc, d->keys.cbc, sizeof(base.cbc));
		}
		debug_f("capture gap at offset %" PRIu64 " (%s, %" PRIu64
		    " bytes)", off, dir_str(dir), len);
		if (resync_begin(sc, dir, RESYNC_GAP, &base) == 0) {
			d->rs->anchored = 1;
			d->rs->anchor = off + len;
		}
	} else if (d->phase != SSHTRACK_PHASE_STOPPED) {
		/* Nothing proven to start from. */
		dir_fail(sc, dir, "capture gap at offset %" PRIu64 " (%s, %"
		    PRIu64 " bytes)", off, dir_str(dir), len);
	}
	d->next_off = off + len;
	d->in_off = d->next_off;
	if (d->rs != NULL)
		d->rs->scan_off = d->in_off;
	conn_run(sc);	/* what waited behind it goes on */
}

void
sshtrack_resumed(struct sshtrack *st, struct tcptrack_conn *c, int dir,
    uint64_t off)
{
	struct sshtrack_conn *sc = c->upper;
	struct sshtrack_dir *d;

	(void)st;
	if (sc == NULL || (dir != SSHTRACK_C2S && dir != SSHTRACK_S2C))
		return;
	d = &sc->dir[dir];
	buf_reset(&d->in);
	d->next_off = d->in_off = off;
	if (d->rs == NULL)
		return;
	d->rs->anchored = 1;
	d->rs->anchor = d->rs->scan_off = off;
	/* The sender's next byte is the base: nothing was sent since. */
	d->rs->anchor_proof = off == d->rs->base_off;
	dir_run(sc, dir, off, 0);
}

void
sshtrack_acked(struct sshtrack *st, struct tcptrack_conn *c, int dir,
    uint64_t acked)
{
	struct sshtrack_conn *sc = c->upper;

	(void)st;
	if (sc == NULL || dir != SSHTRACK_C2S || pickup_check(sc))
		return;
	if (acked > sc->c2s_acked)
		sc->c2s_acked = acked;
	hold_update(sc);
}

void
sshtrack_keys_arrived(struct sshtrack *st, struct tcptrack_conn *c)
{
	struct sshtrack_conn *sc = c->upper;

	const struct seal_keyrec *rec;
	struct sshtrack_dir *d;
	int i;

	if (sc == NULL)
		return;
	for (i = 0; i < 2; i++) {
		d = &sc->dir[i];
		if (d->rs == NULL || !d->rs->keyed)
			continue;
		/* A later KEX than the keys being tried: those are no use. */
		if ((rec = st->keys(st->arg, c, SSHTRACK_KEX_NEWEST)) != NULL &&
		    !rec->closed && rec->kex_number > d->rs->kex) {
			d->rs->keyed = 0;
			keys_release(&d->keys);
			d->keyed = 0;
		}
	}
	/* A search may go on without new bytes, then what it held back. */
	for (i = 0; i < 2; i++)
		if (sc->dir[i].phase == SSHTRACK_PHASE_RESYNC)
			dir_run(sc, i, sc->dir[i].in_off, 1);
	conn_run(sc);
}

void
sshtrack_unprotectable(struct sshtrack *st, struct tcptrack_conn *c,
    const char *reason)
{
	struct sshtrack_conn *sc = c->upper;

	(void)st;
	if (sc != NULL)
		unprotect(sc, "%s", reason);
}

/*
 * --- sync points: saving and resuming ---
 *
 * The state encoding (not secret), version 2, every integer big-endian:
 *   u32 version, u8 strict, u8 auth_done, u8 compression, u8 negotiated,
 *   algs: u32 round, strings kex, hostkey, cipher c2s, s2c, mac c2s, s2c,
 *     comp c2s, s2c
 *   per direction: string version, u32 newkeys, u64 total_packets, u64
 *     bytes, u32 resyncs, u64 missed, u8 missed_unknown, u8 comp
 *   u8 unprotectable, string reason, u32 password_attempts, u8
 *   windows_unknown, u64 next_serial
 *   u32 channels, each: string type, u8 opened_by, u8 confirmed, u8 known
 *     c2s, s2c, u32 id_client, id_server, per direction u32 maxpacket, u32
 *     initial_window, u64 adjust, u64 data, u8 eof, u8 close; u8
 *     window_known, u64 serial
 *   string hostkey0 (version 2 on; version 1 has none: "" when read)
 * The setup log (secret), version 2: u32 version, u32 entries, each: u8
 * dir, u64 offset of its packet (version 2 on), u32 seqnr, u8 type, u8
 * flags, u64 channel serial, u8 winch, string payload.  Version 1 entries
 * read back with offset 0: every entry of a saved log comes from a packet
 * before the saved position, which is before any resume point the resumed
 * connection will have.  Reply queues are not saved: after a restart
 * replies may come to requests never seen (replies_lost).  Both versions
 * are read; only the newest is written.
 */
#define SYNC_STATE_VERSION	2
#define SYNC_LOG_VERSION	2

static int
sync_put_state(const struct sshtrack_conn *sc, struct buf *b)
{
	const struct sshtrack_algs *a = &sc->algs;
	const struct sshtrack_dir *d;
	const struct chan *ch;
	size_t i;
	int r = 0, j;

	r |= buf_put_u32(b, SYNC_STATE_VERSION);
	r |= buf_put_u8(b, (uint8_t)sc->strict);
	r |= buf_put_u8(b, (uint8_t)sc->auth_done);
	r |= buf_put_u8(b, (uint8_t)sc->compression);
	r |= buf_put_u8(b, (uint8_t)sc->negotiated);
	r |= buf_put_u32(b, a->round);
	r |= buf_put_cstring(b, a->kex);
	r |= buf_put_cstring(b, a->hostkey);
	for (j = 0; j < 2; j++)
		r |= buf_put_cstring(b, a->cipher[j]);
	for (j = 0; j < 2; j++)
		r |= buf_put_cstring(b, a->mac[j]);
	for (j = 0; j < 2; j++)
		r |= buf_put_cstring(b, a->comp[j]);
	for (j = 0; j < 2; j++) {
		d = &sc->dir[j];
		r |= buf_put_cstring(b, d->version);
		r |= buf_put_u32(b, d->newkeys);
		r |= buf_put_u64(b, d->total_packets);
		r |= buf_put_u64(b, d->bytes);
		r |= buf_put_u32(b, d->resyncs);
		r |= buf_put_u64(b, d->missed);
		r |= buf_put_u8(b, (uint8_t)d->missed_unknown);
		r |= buf_put_u8(b, (uint8_t)d->comp);
	}
	r |= buf_put_u8(b, (uint8_t)sc->unprotectable);
	r |= buf_put_cstring(b, sc->unprotectable ? sc->reason : "");
	r |= buf_put_u32(b, sc->password_attempts);
	r |= buf_put_u8(b, (uint8_t)sc->windows_unknown);
	r |= buf_put_u64(b, sc->next_serial);
	r |= buf_put_u32(b, (uint32_t)sc->nchans);
	for (i = 0; i < sc->nchans; i++) {
		ch = &sc->chans[i];
		r |= buf_put_cstring(b, ch->pub.type);
		r |= buf_put_u8(b, (uint8_t)ch->pub.opened_by);
		r |= buf_put_u8(b, (uint8_t)ch->pub.confirmed);
		r |= buf_put_u8(b, (uint8_t)ch->known[0]);
		r |= buf_put_u8(b, (uint8_t)ch->known[1]);
		r |= buf_put_u32(b, ch->pub.id_client);
		r |= buf_put_u32(b, ch->pub.id_server);
		for (j = 0; j < 2; j++) {
			r |= buf_put_u32(b, ch->pub.maxpacket[j]);
			r |= buf_put_u32(b, ch->pub.initial_window[j]);
			r |= buf_put_u64(b, ch->pub.adjust[j]);
			r |= buf_put_u64(b, ch->pub.data[j]);
			r |= buf_put_u8(b, (uint8_t)ch->pub.eof[j]);
			r |= buf_put_u8(b, (uint8_t)ch->pub.close[j]);
		}
		r |= buf_put_u8(b, (uint8_t)ch->pub.window_known);
		r |= buf_put_u64(b, ch->serial);
	}
	r |= buf_put_cstring(b, sc->hostkey0);
	return r != 0 ? -1 : 0;
}

static int
sync_put_log(const struct sshtrack_conn *sc, struct buf *b)
{
	const struct entry *e;
	size_t i;
	int r = 0;

	r |= buf_put_u32(b, SYNC_LOG_VERSION);
	r |= buf_put_u32(b, (uint32_t)sc->nlog);
	for (i = 0; i < sc->nlog; i++) {
		e = sc->log[i];
		r |= buf_put_u8(b, (uint8_t)e->dir);
		r |= buf_put_u64(b, e->off);
		r |= buf_put_u32(b, e->seqnr);
		r |= buf_put_u8(b, e->type);
		r |= buf_put_u8(b, (uint8_t)e->flags);
		r |= buf_put_u64(b, e->chan);
		r |= buf_put_u8(b, (uint8_t)e->winch);
		r |= buf_put_string(b, e->data, e->len);
	}
	return r != 0 ? -1 : 0;
}

/* dir's proven position now, if it has one. */
static void
sync_dir(const struct sshtrack_dir *d, struct sshtrack_sync_dir *sd)
{
	const struct resync *rs = d->rs;

	memset(sd, 0, sizeof(*sd));
	switch (d->phase) {
	case SSHTRACK_PHASE_DECRYPT:
	case SSHTRACK_PHASE_WAIT_KEYS:
		if (d->newkeys == 0)
			return;
		sd->valid = 1;
		sd->off = d->in_off;
		sd->seqnr = d->seqnr;
		sd->kex_number = d->newkeys - 1;
		/* Waiting for keys: the first packet under them. */
		sd->packets = d->phase == SSHTRACK_PHASE_DECRYPT ?
		    d->packets : 0;
		sd->blocks = d->phase == SSHTRACK_PHASE_DECRYPT ?
		    d->blocks : 0;
		if (d->phase == SSHTRACK_PHASE_DECRYPT &&
		    d->keys.enc->type == ENC_CBC && d->packets > 0) {
			sd->has_cbc = 1;
			memcpy(sd->cbc, d->keys.cbc, sizeof(sd->cbc));
		}
		break;
	case SSHTRACK_PHASE_RESYNC:
		/* Still the last proven position. */
		sd->valid = 1;
		sd->off = rs->base_off;
		sd->seqnr = rs->base_seqnr;
		sd->kex_number = rs->base_kex;
		sd->packets = rs->base_packets;
		sd->blocks = rs->base_blocks;
		sd->has_cbc = rs->base_has_cbc;
		memcpy(sd->cbc, rs->base_cbc, sizeof(sd->cbc));
		break;
	default:
		break;
	}
}

int
sshtrack_sync_get(struct sshtrack *st, const struct tcptrack_conn *c,
    struct sshtrack_sync *sp, struct buf *state, struct buf *log)
{
	struct sshtrack_conn *sc = c->upper;
	int i;

	(void)st;
	memset(sp, 0, sizeof(*sp));
	if (sc == NULL)
		return -1;
	/*
	 * Nothing before both directions followed the first keys: until
	 * then the setup messages wait undecrypted, and a restart would lose
	 * them (never save a log that looks complete and is not).
	 */
	if (!sc->unprotectable && (!sc->dir[0].decrypted ||
	    !sc->dir[1].decrypted))
		return -1;
	for (i = 0; i < 2; i++)
		sync_dir(&sc->dir[i], &sp->dir[i]);
	sp->gen = sc->gen;
	sp->log_gen = sc->log_gen;
	if (sync_put_state(sc, state) != 0 || sync_put_log(sc, log) != 0)
		return -1;
	return 0;
}

int
sshtrack_sync_dirty(struct sshtrack *st, const struct tcptrack_conn *c,
    int *log)
{
	struct sshtrack_conn *sc = c->upper;

	(void)st;
	*log = 0;
	if (sc == NULL)
		return 0;
	*log = sc->log_gen != sc->saved_log_gen;
	return sc->gen != sc->saved_gen || *log;
}

void
sshtrack_sync_saved(struct sshtrack *st, const struct tcptrack_conn *c,
    const struct sshtrack_sync *sp)
{
	struct sshtrack_conn *sc = c->upper;

	(void)st;
	if (sc == NULL)
		return;
	sc->saved_gen = sp->gen;
	sc->saved_log_gen = sp->log_gen;
}

/* A NUL-terminated name of at most outlen - 1 bytes. */
static int
sync_get_name(struct buf *b, char *out, size_t outlen)
{
	return get_name(b, out, outlen) == 0 ? 0 : -1;
}

static int
sync_get_flag(struct buf *b, int *v)
{
	uint8_t u;

	if (buf_get_u8(b, &u) != 0 || u > 2)
		return -1;
	*v = u;
	return 0;
}

/* Decode the state into sc (a fresh restored connection). */
static int
sync_read_state(struct sshtrack_conn *sc, const uint8_t *p, size_t len,
    int *lasting, char *reason, size_t reasonlen)
{
	struct sshtrack_algs *a = &sc->algs;
	struct sshtrack_dir *d;
	struct chan *ch;
	struct buf b;
	uint32_t v, n, i;
	uint64_t next_serial;
	int j, f;

	buf_view(&b, p, len);
	if (buf_get_u32(&b, &v) != 0 || v < 1 || v > SYNC_STATE_VERSION)
		return -1;
	if (sync_get_flag(&b, &sc->strict) != 0 ||
	    sync_get_flag(&b, &sc->auth_done) != 0 ||
	    sync_get_flag(&b, &sc->compression) != 0 ||
	    sync_get_flag(&b, &sc->negotiated) != 0 ||
	    buf_get_u32(&b, &a->round) != 0 ||
	    sync_get_name(&b, a->kex, sizeof(a->kex)) != 0 ||
	    sync_get_name(&b, a->hostkey, sizeof(a->hostkey)) != 0)
		return -1;
	for (j = 0; j < 2; j++)
		if (sync_get_name(&b, a->cipher[j], sizeof(a->cipher[j])) != 0)
			return -1;
	for (j = 0; j < 2; j++)
		if (sync_get_name(&b, a->mac[j], sizeof(a->mac[j])) != 0)
			return -1;
	for (j = 0; j < 2; j++)
		if (sync_get_name(&b, a->comp[j], sizeof(a->comp[j])) != 0)
			return -1;
	for (j = 0; j < 2; j++) {
		d = &sc->dir[j];
		if (sync_get_name(&b, d->version, sizeof(d->version)) != 0 ||
		    buf_get_u32(&b, &d->newkeys) != 0 ||
		    buf_get_u64(&b, &d->total_packets) != 0 ||
		    buf_get_u64(&b, &d->bytes) != 0 ||
		    buf_get_u32(&b, &d->resyncs) != 0 ||
		    buf_get_u64(&b, &d->missed) != 0 ||
		    sync_get_flag(&b, &d->missed_unknown) != 0 ||
		    sync_get_flag(&b, &d->comp) != 0)
			return -1;
	}
	if (sync_get_flag(&b, lasting) != 0 ||
	    sync_get_name(&b, reason, reasonlen) != 0 ||
	    buf_get_u32(&b, &sc->password_attempts) != 0 ||
	    sync_get_flag(&b, &sc->windows_unknown) != 0 ||
	    buf_get_u64(&b, &next_serial) != 0 ||
	    buf_get_u32(&b, &n) != 0 || n > sc->st->lim.max_channels)
		return -1;
	for (i = 0; i < n; i++) {
		if ((ch = chan_new(sc)) == NULL ||
		    sync_get_name(&b, ch->pub.type, sizeof(ch->pub.type)) !=
		    0 || sync_get_flag(&b, &ch->pub.opened_by) != 0 ||
		    ch->pub.opened_by > 1 ||
		    sync_get_flag(&b, &ch->pub.confirmed) != 0 ||
		    sync_get_flag(&b, &ch->known[0]) != 0 ||
		    sync_get_flag(&b, &ch->known[1]) != 0 ||
		    buf_get_u32(&b, &ch->pub.id_client) != 0 ||
		    buf_get_u32(&b, &ch->pub.id_server) != 0)
			return -1;
		for (j = 0; j < 2; j++)
			if (buf_get_u32(&b, &ch->pub.maxpacket[j]) != 0 ||
			    buf_get_u32(&b, &ch->pub.initial_window[j]) != 0 ||
			    buf_get_u64(&b, &ch->pub.adjust[j]) != 0 ||
			    buf_get_u64(&b, &ch->pub.data[j]) != 0 ||
			    sync_get_flag(&b, &ch->pub.eof[j]) != 0 ||
			    sync_get_flag(&b, &ch->pub.close[j]) != 0)
				return -1;
		if (sync_get_flag(&b, &f) != 0 ||
		    buf_get_u64(&b, &ch->serial) != 0 ||
		    ch->serial > next_serial)
			return -1;
		ch->pub.window_known = f;
		chan_window(ch, 0);
		chan_window(ch, 1);
	}
	sc->next_serial = next_serial;
	if (v >= 2 && sync_get_name(&b, sc->hostkey0,
	    sizeof(sc->hostkey0)) != 0)
		return -1;
	return buf_len(&b) == 0 ? 0 : -1;
}

static int
sync_read_log(struct sshtrack_conn *sc, const uint8_t *p, size_t len)
{
	const uint8_t *data;
	struct buf b;
	uint32_t v, n, i, seqnr;
	uint8_t dir, type, flags, winch;
	uint64_t chan, off = 0;
	size_t dlen;

	buf_view(&b, p, len);
	if (buf_get_u32(&b, &v) != 0 || v < 1 || v > SYNC_LOG_VERSION ||
	    buf_get_u32(&b, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf_get_u8(&b, &dir) != 0 || dir > 1 ||
		    (v >= 2 && buf_get_u64(&b, &off) != 0) ||
		    buf_get_u32(&b, &seqnr) != 0 ||
		    buf_get_u8(&b, &type) != 0 ||
		    buf_get_u8(&b, &flags) != 0 ||
		    buf_get_u64(&b, &chan) != 0 || chan > sc->next_serial ||
		    buf_get_u8(&b, &winch) != 0 || winch > 1 ||
		    buf_get_string_direct(&b, &data, &dlen) != 0)
			return -1;
		log_add(sc, dir, seqnr, type, flags, chan, 0, data, dlen);
		if (sc->log_full)
			return -1;
		sc->log[sc->nlog - 1]->winch = winch;
		sc->log[sc->nlog - 1]->off = off;
	}
	return buf_len(&b) == 0 ? 0 : -1;
}

int
sshtrack_sync_restore(struct sshtrack *st, struct tcptrack_conn *c,
    const struct sshtrack_sync *sp, const uint8_t *state, size_t state_len,
    const uint8_t *log, size_t log_len, char *why, size_t whylen)
{
	struct sshtrack_conn *sc = c->upper;
	struct sshtrack_dir *d;
	char reason[SSHTRACK_REASON_MAX];
	int i, lasting = 0;

	(void)st;
	if (sc == NULL || !c->resumed || sc->restored) {
		snprintf(why, whylen, "not a resumed connection");
		return -1;
	}
	if (sync_read_state(sc, state, state_len, &lasting, reason,
	    sizeof(reason)) != 0) {
		snprintf(why, whylen, "saved SSH state unreadable");
		goto bad;
	}
	if (log != NULL && sync_read_log(sc, log, log_len) != 0) {
		snprintf(why, whylen, "saved setup log unreadable");
		goto bad;
	}
	sc->restored = 1;
	sc->strict_known = 1;
	sc->neg[sc->algs.round % 2] = sc->algs;
	sc->neg_valid[sc->algs.round % 2] = sc->negotiated;
	sc->unprotectable = 0;
	sc->reason[0] = '\0';
	sc->hold_released = 0;
	sc->hold = 0;
	tcptrack_hold(c, TCPTRACK_C2S, 0);
	sc->gen++;
	if (lasting) {
		unprotect(sc, "before the restart: %s", reason);
		return 0;
	}
	if (log == NULL)
		unprotect(sc, "setup log not available (not saved without a "
		    "recovery key, or sealed with another)");
	for (i = 0; i < 2; i++) {
		d = &sc->dir[i];
		d->kexinits = d->newkeys;
		d->decrypted = 1;
		if (!sp->dir[i].valid || sp->dir[i].kex_number + 1 !=
		    d->newkeys) {
			unprotect(sc, "no sync point saved for %s",
			    dir_str(i));
			continue;
		}
		buf_init(&d->in, st->lim.max_buffer);
		d->in_off = d->next_off = d->packet_end = sp->dir[i].off;
		if (resync_begin(sc, i, RESYNC_RESTART, &sp->dir[i]) != 0)
			continue;
	}
	return 0;
 bad:
	/* Back to what conn_new left: nothing usable. */
	for (i = 0; i < (int)sc->nlog; i++)
		entry_free(sc->log[i]);
	sc->nlog = sc->log_bytes = 0;
	sc->nchans = 0;
	return -1;
}

void
sshtrack_poll(struct sshtrack *st)
{
	struct sshtrack_conn *sc, *n;
	int i;

	for (sc = st->all; sc != NULL; sc = n) {
		n = sc->next;
		if ((sc->dir[0].rs == NULL || !sc->dir[0].rs->more) &&
		    (sc->dir[1].rs == NULL || !sc->dir[1].rs->more))
			continue;
		for (i = 0; i < 2; i++)
			if (sc->dir[i].rs != NULL)
				dir_run(sc, i, sc->dir[i].in_off, 1);
		conn_run(sc);
	}
}

/* --- status --- */

static struct sshtrack_conn *
conn_of(const struct tcptrack_conn *c)
{
	return c->upper;
}

int
sshtrack_status(struct sshtrack *st, const struct tcptrack_conn *c,
    struct sshtrack_info *info)
{
	struct sshtrack_conn *sc = conn_of(c);
	struct sshtrack_dir_info *di;
	struct sshtrack_dir *d;
	int i, j;

	(void)st;
	memset(info, 0, sizeof(*info));
	if (sc == NULL)
		return -1;
	info->protectable = !sc->unprotectable;
	snprintf(info->reason, sizeof(info->reason), "%s", sc->reason);
	info->restored = sc->restored;
	info->windows_unknown = sc->windows_unknown;
	for (i = 0; i < 2; i++) {
		if (sc->dir[i].rs == NULL)
			continue;
		info->resyncing = 1;
		if (info->protectable) {
			info->protectable = 0;
			snprintf(info->reason, sizeof(info->reason), "%s",
			    sc->dir[i].rs->why);
		}
	}
	/* Recovery starts at the first client packet not fully acked. */
	if (info->protectable && sc->nmarks > 0 &&
	    sc->marks[sc->mark_head].pos.off > sc->c2s_acked) {
		info->protectable = 0;
		snprintf(info->reason, sizeof(info->reason), "client bytes "
		    "before the first proved packet not yet acknowledged");
	}
	info->negotiated = sc->negotiated;
	info->algs = sc->algs;
	info->strict_kex = sc->strict;
	info->compression = sc->compression;
	info->memory = sizeof(*sc) + sc->log_bytes +
	    sc->log_alloc * sizeof(*sc->log) +
	    sc->marks_alloc * sizeof(*sc->marks) +
	    sc->prov_alloc * sizeof(*sc->prov) +
	    sc->arr_alloc * sizeof(*sc->arr) +
	    sc->chans_alloc * sizeof(*sc->chans);
	for (i = 0; i < 2; i++) {
		d = &sc->dir[i];
		di = &info->dir[i];
		di->phase = d->phase;
		snprintf(di->version, sizeof(di->version), "%s", d->version);
		di->seqnr = d->seqnr;
		di->total_packets = d->total_packets;
		di->bytes = d->bytes;
		di->newkeys = d->newkeys;
		di->kex_number = d->newkeys > 0 ? d->newkeys - 1 : 0;
		di->packets = d->packets;
		di->blocks = d->blocks;
		di->packet_end = d->packet_end;
		di->buffered = buf_len(&d->in);
		di->resyncs = d->resyncs;
		di->missed_packets = d->missed;
		di->missed_unknown = d->missed_unknown;
		if (d->keyed) {
			snprintf(di->cipher, sizeof(di->cipher), "%s",
			    d->keys.enc->name);
			if (d->keys.mac != NULL)
				snprintf(di->mac, sizeof(di->mac), "%s",
				    d->keys.mac->name);
			di->mac_verified = 1;
		}
		di->compressed = d->compressed;
		if (d->phase == SSHTRACK_PHASE_WAIT_KEYS)
			info->waiting_keys = 1;
		if (d->kexinits > d->newkeys)
			info->kex_in_progress = 1;
		info->memory += d->in.alloc + d->line.alloc;
		if (d->rs != NULL)
			info->memory += sizeof(*d->rs) + d->rs->hks_alloc * 4 +
			    (d->rs->ks != NULL ? RESYNC_KS_BLOCKS * 16 : 0);
		for (j = 0; j < d->nkexinit; j++)
			info->memory += d->kexinit[j].len;
	}
	info->c2s_resume_off = sc->nmarks > 0 ?
	    sc->marks[sc->mark_head].pos.off : sc->dir[SSHTRACK_C2S].in_off;
	snprintf(info->hostkey0, sizeof(info->hostkey0), "%s", sc->hostkey0);
	info->log_entries = sc->nlog;
	info->log_bytes = sc->log_bytes;
	info->password_attempts = sc->password_attempts;
	info->channels = sc->nchans;
	return 0;
}

int
sshtrack_position(struct sshtrack *st, const struct tcptrack_conn *c,
    int dir, int resume, struct sshtrack_pos *pos)
{
	struct sshtrack_conn *sc = conn_of(c);

	(void)st;
	memset(pos, 0, sizeof(*pos));
	if (sc == NULL || (dir != SSHTRACK_C2S && dir != SSHTRACK_S2C))
		return -1;
	if (!resume) {
		dir_pos(&sc->dir[dir], pos);
		return 0;
	}
	if (dir != SSHTRACK_C2S || sc->nmarks == 0)
		return -1;
	*pos = sc->marks[sc->mark_head].pos;
	return 0;
}

const struct seal_keyrec *
sshtrack_keyrec(struct sshtrack *st, const struct tcptrack_conn *c,
    uint32_t kex_number)
{
	const struct seal_keyrec *rec;

	if (conn_of(c) == NULL || kex_number == SSHTRACK_KEX_NEWEST ||
	    (rec = st->keys(st->arg, c, kex_number)) == NULL ||
	    rec->closed || rec->kex_number != kex_number)
		return NULL;
	return rec;
}

size_t
sshtrack_log_count(struct sshtrack *st, const struct tcptrack_conn *c)
{
	struct sshtrack_conn *sc = conn_of(c);

	(void)st;
	return sc == NULL ? 0 : sc->nlog;
}

int
sshtrack_log_get(struct sshtrack *st, const struct tcptrack_conn *c, size_t i,
    struct sshtrack_msg *m)
{
	struct sshtrack_conn *sc = conn_of(c);
	const struct entry *e;

	(void)st;
	memset(m, 0, sizeof(*m));
	if (sc == NULL || i >= sc->nlog)
		return -1;
	e = sc->log[i];
	m->dir = e->dir;
	m->off = e->off;
	m->seqnr = e->seqnr;
	m->type = e->type;
	m->flags = e->flags;
	m->p = e->data;
	m->len = e->len;
	return 0;
}

size_t
sshtrack_channel_count(struct sshtrack *st, const struct tcptrack_conn *c)
{
	struct sshtrack_conn *sc = conn_of(c);

	(void)st;
	return sc == NULL ? 0 : sc->nchans;
}

int
sshtrack_channel_get(struct sshtrack *st, const struct tcptrack_conn *c,
    size_t i, struct sshtrack_chan *ch)
{
	struct sshtrack_conn *sc = conn_of(c);

	(void)st;
	memset(ch, 0, sizeof(*ch));
	if (sc == NULL || i >= sc->nchans)
		return -1;
	*ch = sc->chans[i].pub;
	return 0;
}

/*
 * --- the server's state at the resume point ---
 *
 * Every client packet from the first one the server had not fully
 * acknowledged on is live: the rebuilt socket holds it, and the recovery
 * sshd processes it again after the cutover.  The tracker has counted them
 * already; what each did is on its mark (struct effect), and is taken back
 * out here.
 */
static struct chan *
chan_of_serial(struct sshtrack_conn *sc, uint64_t serial)
{
	size_t i;

	for (i = 0; i < sc->nchans; i++)
		if (sc->chans[i].serial == serial)
			return &sc->chans[i];
	return NULL;
}

int
sshtrack_resume_check(struct sshtrack *st, const struct tcptrack_conn *c,
    char *why, size_t whylen)
{
	struct sshtrack_conn *sc = conn_of(c);
	const struct mark *m;
	size_t i;

	(void)st;
	if (sc == NULL) {
		snprintf(why, whylen, "not tracked");
		return -1;
	}
	if (sc->nmarks == 0) {
		snprintf(why, whylen, "no client packet boundary known");
		return -1;
	}
	for (i = 0; i < sc->nmarks; i++) {
		m = &sc->marks[sc->mark_head + i];
		switch (m->eff.type) {
		case SSH2_MSG_KEXINIT:
		case SSH2_MSG_NEWKEYS:
			snprintf(why, whylen, "the client's %s (seqnr %u) was "
			    "not acknowledged: a key exchange was under way",
			    m->eff.type == SSH2_MSG_KEXINIT ? "KEXINIT" :
			    "NEWKEYS", m->pos.seqnr);
			return -1;
		default:
			break;
		}
		if (m->eff.chan != 0 &&
		    chan_of_serial(sc, m->eff.chan) == NULL) {
			snprintf(why, whylen, "the client's message %u (seqnr "
			    "%u) was not acknowledged and its channel is gone "
			    "since", m->eff.type, m->pos.seqnr);
			return -1;
		}
	}
	return 0;
}

int
sshtrack_channel_get_resume(struct sshtrack *st,
    const struct tcptrack_conn *c, size_t i, struct sshtrack_chan *ch)
{
	struct sshtrack_conn *sc = conn_of(c);
	const struct effect *e;
	uint64_t serial;
	size_t j;
	int d;

	(void)st;
	memset(ch, 0, sizeof(*ch));
	if (sc == NULL || i >= sc->nchans || sc->nmarks == 0)
		return -1;
	*ch = sc->chans[i].pub;
	serial = sc->chans[i].serial;
	for (j = 0; j < sc->nmarks; j++) {
		e = &sc->marks[sc->mark_head + j].eff;
		if (e->chan != serial)
			continue;
		switch (e->type) {
		case SSH2_MSG_CHANNEL_OPEN:
			return 1;	/* opened by a live packet */
		case SSH2_MSG_CHANNEL_OPEN_CONFIRMATION:
			/* The client's numbers and window were not known. */
			ch->confirmed = 0;
			ch->id_client = 0;
			ch->initial_window[SSHTRACK_S2C] = 0;
			ch->maxpacket[SSHTRACK_S2C] = 0;
			break;
		case SSH2_MSG_CHANNEL_DATA:
		case SSH2_MSG_CHANNEL_EXTENDED_DATA:
			ch->data[SSHTRACK_C2S] -= e->n;
			break;
		case SSH2_MSG_CHANNEL_WINDOW_ADJUST:
			ch->adjust[SSHTRACK_S2C] -= e->n;
			break;
		case SSH2_MSG_CHANNEL_EOF:
			ch->eof[SSHTRACK_C2S] = 0;
			break;
		case SSH2_MSG_CHANNEL_CLOSE:
			ch->close[SSHTRACK_C2S] = 0;
			break;
		default:
			break;
		}
	}
	for (d = 0; d < 2; d++)
		ch->window[d] = (int64_t)ch->initial_window[d] +
		    (int64_t)ch->adjust[d] - (int64_t)ch->data[d];
	return 0;
}

const char *
sshtrack_phase_str(enum sshtrack_phase p)
{
	switch (p) {
	case SSHTRACK_PHASE_VERSION:	return "identification";
	case SSHTRACK_PHASE_CLEAR:	return "clear";
	case SSHTRACK_PHASE_WAIT_KEYS:	return "waiting for keys";
	case SSHTRACK_PHASE_DECRYPT:	return "decrypting";
	case SSHTRACK_PHASE_STOPPED:	return "stopped";
	default:			return "?";
	}
}
