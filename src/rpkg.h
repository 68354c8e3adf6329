/*
 * rpkg: the recovery package of one SSH connection (SJRP1) and the import
 * the recovery sshd reads (SJRI1): docs/recovery-format.md.  Built by the
 * daemon at takeover, decoded by jeebs-replay.  Holds keys: rpkg_free()
 * wipes everything.
 */
#ifndef SJ_RPKG_H
#define SJ_RPKG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RPKG_NAME_MAX		64
#define RPKG_VERSION_MAX	255
#define RPKG_USER_MAX		255
#define RPKG_NOTICE_MAX		200
#define RPKG_SECRET_MAX		64
#define RPKG_SESSION_ID_MAX	64
#define RPKG_MAX		(4u << 20)	/* a package, bytes */
#define RPKG_MAX_CHANS		4096
#define RPKG_MAX_LOG		65536
#define RPKG_PACKET_MAX		(256u * 1024)	/* plaintext packet_length */

#define RPKG_C2S		0
#define RPKG_S2C		1

/* Import flags. */
#define RPKG_RERUN_EXEC		0x01

/* Channel flags. */
#define RPKG_CHAN_BY_SERVER	0x01
#define RPKG_CHAN_EOF_C2S	0x02
#define RPKG_CHAN_EOF_S2C	0x04

struct rpkg_dir {
	char		cipher[RPKG_NAME_MAX + 1];
	char		mac[RPKG_NAME_MAX + 1];		/* "" for AEAD */
	uint8_t		key[RPKG_SECRET_MAX];
	size_t		key_len;
	uint8_t		iv[RPKG_SECRET_MAX];		/* at the position */
	size_t		iv_len;
	uint8_t		mac_key[RPKG_SECRET_MAX];
	size_t		mac_key_len;
	uint32_t	seqnr;
	uint64_t	packets, blocks;
};

struct rpkg_chan {
	uint32_t	id_client, id_server;
	char		type[RPKG_NAME_MAX + 1];
	uint32_t	window_c2s, window_s2c;
	uint32_t	maxpacket_c2s, maxpacket_s2c;
	uint32_t	flags;				/* RPKG_CHAN_* */
};

struct rpkg_msg {
	uint32_t	dir;				/* RPKG_C2S, RPKG_S2C */
	uint32_t	flags;
	uint8_t		*p;				/* type byte first */
	size_t		len;
};

struct rpkg {
	char		client_version[RPKG_VERSION_MAX + 1];
	char		server_version[RPKG_VERSION_MAX + 1];
	uint8_t		session_id[RPKG_SESSION_ID_MAX];
	size_t		session_id_len;
	char		kex_alg[RPKG_NAME_MAX + 1];
	char		hostkey_alg[RPKG_NAME_MAX + 1];
	int		strict_kex;
	char		user[RPKG_USER_MAX + 1];
	char		auth_method[RPKG_NAME_MAX + 1];
	uint32_t	flags;				/* RPKG_RERUN_EXEC */
	char		notice[RPKG_NOTICE_MAX + 1];
	struct rpkg_dir	dir[2];				/* RPKG_C2S, RPKG_S2C */
	struct rpkg_chan *chans;
	size_t		nchans;
	struct rpkg_msg	*log;
	size_t		nlog;
};

/* A new, empty package (NULL: out of memory). */
struct rpkg *rpkg_new(void);
/* Append a channel / a log entry (the payload is copied). 0 or -1. */
int	rpkg_add_chan(struct rpkg *k, const struct rpkg_chan *ch);
int	rpkg_add_msg(struct rpkg *k, uint32_t dir, uint32_t flags,
	    const uint8_t *p, size_t len);
/* Encode the import (SJRI1 payload, no frame) / the whole package. */
int	rpkg_encode_import(const struct rpkg *k, struct buf *out);
int	rpkg_encode(const struct rpkg *k, struct buf *out);
/*
 * Decode a package; 0 and *kp, or -1 with the reason in why (every field
 * checked: lengths, names, counts, trailing bytes).
 */
int	rpkg_decode(const uint8_t *p, size_t len, struct rpkg **kp, char *why,
	    size_t whylen);
/* Decode an import payload alone (same checks). */
int	rpkg_decode_import(const uint8_t *p, size_t len, struct rpkg **kp,
	    char *why, size_t whylen);
/* Wipe and free. */
void	rpkg_free(struct rpkg *k);

/*
 * Plaintext SSH packets on the control channel (RFC 4253 6, cipher "none",
 * no MAC): append one packet holding payload (zero padding, at least 4
 * bytes, total a multiple of 8); 0 or a BUF_ERR_* value.
 */
int	rpkg_packet_put(struct buf *out, const uint8_t *payload, size_t len);
/*
 * Take one whole packet from the front of in: 0 and the payload in place
 * (valid until in changes); BUF_ERR_SHORT: not all there yet, nothing
 * consumed; BUF_ERR_FORMAT: malformed, the reason in why.
 */
int	rpkg_packet_get(struct buf *in, const uint8_t **p, size_t *len,
	    char *why, size_t whylen);
/* An SSH message number's name: "CHANNEL_OPEN"; "message 201" (in tmp). */
const char *rpkg_msg_name(uint8_t type, char *tmp, size_t tmplen);

#endif
