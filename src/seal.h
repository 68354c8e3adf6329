/*
 * seal: sealing and opening export records (format: docs/export-format.md).
 * A production sshd seals each connection's key material to the recovery
 * host's X25519 key and signs it with its Ed25519 export key; the daemon
 * verifies, decrypts, decodes and checks freshness.  libcrypto only.
 */
#ifndef SJ_SEAL_H
#define SJ_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define SEAL_OK			0
#define SEAL_ERR_FORMAT		-1	/* malformed record envelope */
#define SEAL_ERR_VERSION	-2	/* unknown record or payload version */
#define SEAL_ERR_TRUNCATED	-3	/* record shorter than it says */
#define SEAL_ERR_OVERSIZE	-4	/* record or payload above the limit */
#define SEAL_ERR_SIGNATURE	-5	/* signature does not verify */
#define SEAL_ERR_DECRYPT	-6	/* AEAD open failed (wrong recipient) */
#define SEAL_ERR_REPLAY		-7	/* counter not above the last one */
#define SEAL_ERR_REORDER	-8	/* counter skips ahead of last + 1 */
#define SEAL_ERR_STALE		-9	/* timestamp outside the allowed age */
#define SEAL_ERR_SENDER		-10	/* header names another server */
#define SEAL_ERR_PAYLOAD	-11	/* malformed key record payload */
#define SEAL_ERR_KEY		-12	/* key of the wrong type or unusable */
#define SEAL_ERR_PERM		-13	/* key file owner or mode unsafe */
#define SEAL_ERR_SYSTEM		-14	/* system call failed, see errno */
#define SEAL_ERR_CRYPTO		-15	/* libcrypto failed internally */
#define SEAL_ERR_NOMEM		-16	/* allocation failed */
#define SEAL_ERR_INVALID	-17	/* caller passed an unencodable value */

/* Envelope limits. */
#define SEAL_RECORD_MAX		16384	/* whole record, bytes */
#define SEAL_PAYLOAD_MAX	16000	/* plaintext payload, bytes */
#define SEAL_SENDER_MAX		64	/* server name: [A-Za-z0-9._-]{1,64} */
#define SEAL_PUBKEY_LEN		32	/* X25519 and Ed25519 raw keys */
#define SEAL_RECORD_VERSION	1

/* Key record payload limits. */
#define SEAL_KEYREC_VERSION	1
#define SEAL_NAME_MAX		64	/* algorithm and auth method names */
#define SEAL_SESSION_ID_MAX	64
#define SEAL_SECRET_MAX		64	/* cipher key, IV, MAC key */
#define SEAL_USER_MAX		256
#define SEAL_OPTIONS_MAX	8192

#define SEAL_AF_INET		4
#define SEAL_AF_INET6		6

#define SEAL_KEY_X25519		1	/* recovery (recipient) key */
#define SEAL_KEY_ED25519	2	/* export signing key */

/* An X25519 or Ed25519 key, private (with its public half) or public only. */
struct seal_key;

/* Envelope header: authenticated, not encrypted. */
struct seal_header {
	uint8_t		version;
	uint8_t		flags;
	char		sender[SEAL_SENDER_MAX + 1];
	uint64_t	conn_id;	/* random, chosen by the exporter */
	uint64_t	counter;	/* 0, 1, 2, ... per connection */
	uint64_t	time;		/* exporter's clock, Unix seconds */
};

struct seal_endpoint {
	uint8_t		addr[16];	/* network order; IPv4 in addr[0..3] */
	uint16_t	port;
};

/* One direction's new keys. */
struct seal_dir {
	char		cipher[SEAL_NAME_MAX + 1];
	char		mac[SEAL_NAME_MAX + 1];	/* "" for AEAD ciphers */
	char		comp[SEAL_NAME_MAX + 1];
	uint8_t		enc_key[SEAL_SECRET_MAX];
	size_t		enc_key_len;
	uint8_t		iv[SEAL_SECRET_MAX];
	size_t		iv_len;
	uint8_t		mac_key[SEAL_SECRET_MAX];
	size_t		mac_key_len;
	uint32_t	start_seqnr;	/* seqnr of the first packet under them */
	int		strict_kex;
};

/* Drain parts (docs/drain.md): bytes per part, parts per drain. */
#define SEAL_DRAIN_CHUNK_MAX	15000
#define SEAL_DRAIN_PARTS_MAX	4096

/* Payload v1: one connection's state after one key exchange. */
struct seal_keyrec {
	uint64_t	conn_id;	/* equal to the header's */
	uint64_t	counter;	/* equal to the header's */
	uint32_t	kex_number;	/* 0 = first KEX */
	uint8_t		family;		/* SEAL_AF_INET or SEAL_AF_INET6 */
	struct seal_endpoint client;
	struct seal_endpoint server;
	uint8_t		session_id[SEAL_SESSION_ID_MAX];
	size_t		session_id_len;
	char		kex_alg[SEAL_NAME_MAX + 1];
	char		hostkey_alg[SEAL_NAME_MAX + 1];
	struct seal_dir	c2s;
	struct seal_dir	s2c;
	int		has_login;	/* the attested login below is set */
	int		closed;		/* end notice: the connection ended;
					   nothing after the endpoints is set */
	char		user[SEAL_USER_MAX + 1];
	char		auth_method[SEAL_NAME_MAX + 1];
	char		auth_options[SEAL_OPTIONS_MAX + 1];
	/*
	 * Drain part (flags bit 2, docs/drain.md): one piece of the
	 * connection's final state; nothing after the endpoints but these.
	 */
	int		drain;
	uint32_t	drain_part;	/* 0 .. drain_nparts - 1 */
	uint32_t	drain_nparts;	/* 1 .. SEAL_DRAIN_PARTS_MAX */
	uint8_t		*drain_data;	/* malloc'd, wiped by seal_keyrec_free */
	size_t		drain_len;	/* 1 .. SEAL_DRAIN_CHUNK_MAX */
};

/* Generate a new private key of type SEAL_KEY_X25519 or SEAL_KEY_ED25519. */
int	seal_key_generate(int type, struct seal_key **kp);
/* Make a key from 32 raw bytes: the private key if priv != NULL, else pub. */
int	seal_key_from_raw(int type, const uint8_t *priv, const uint8_t *pub,
	    struct seal_key **kp);
/* Copy the raw 32-byte public key out. */
int	seal_key_public_raw(const struct seal_key *k,
	    uint8_t pub[SEAL_PUBKEY_LEN]);
/* Key type, and whether the private half is present. */
int	seal_key_type(const struct seal_key *k);
int	seal_key_is_private(const struct seal_key *k);
/* Free a key; private material is wiped by libcrypto. */
void	seal_key_free(struct seal_key *k);
/* Load a PEM private key; refused if not ours/root's or any group/other bit. */
int	seal_key_load_private(const char *path, int type, struct seal_key **kp);
/* Load a PEM public key; refused if group/other writable or owned by others. */
int	seal_key_load_public(const char *path, int type, struct seal_key **kp);
/* Write a new private key file, mode 0600; never overwrites. */
int	seal_key_save_private(const struct seal_key *k, const char *path);
/* Write a new public key file, mode 0644; never overwrites. */
int	seal_key_save_public(const struct seal_key *k, const char *path);

/* Seal and sign payload (hdr version/flags ignored); append record to out. */
int	seal_create(const struct seal_header *hdr, const uint8_t *payload,
	    size_t len, const struct seal_key *recipient,
	    const struct seal_key *signer, struct buf *out);
/* As seal_create with a given ephemeral private key: test vectors only. */
int	seal_create_with_ephemeral(const struct seal_header *hdr,
	    const uint8_t *payload, size_t len,
	    const struct seal_key *recipient, const struct seal_key *signer,
	    const struct seal_key *ephemeral, struct buf *out);
/* Total length of the record starting at p (needs 10 bytes), for framing. */
int	seal_record_length(const uint8_t *p, size_t len, size_t *total);
/* Parse the header with no crypto: unauthenticated, only to pick keys. */
int	seal_peek_header(const uint8_t *rec, size_t len,
	    struct seal_header *hdr);
/* Check, verify, decrypt; appends the payload to out (marked secret). */
int	seal_open(const uint8_t *rec, size_t len,
	    const struct seal_key *recipient, const struct seal_key *signer,
	    const char *expected_sender, struct seal_header *hdr,
	    struct buf *out);
/* Counter rule: first record 0, then exactly last + 1. */
int	seal_replay_check(int have_last, uint64_t last, uint64_t counter);
/* Reject a header whose time is more than max_age s from now (0: no check). */
int	seal_age_check(const struct seal_header *hdr, time_t now,
	    uint32_t max_age);

/* A zeroed key record, or NULL. */
struct seal_keyrec *seal_keyrec_new(void);
/* Wipe and free a key record. */
void	seal_keyrec_free(struct seal_keyrec *kr);
/* Encode a key record as payload v1; appends to out (marked secret). */
int	seal_keyrec_encode(const struct seal_keyrec *kr, struct buf *out);
/* Decode payload v1; conn_id and counter must match hdr. */
int	seal_keyrec_decode(const uint8_t *p, size_t len,
	    const struct seal_header *hdr, struct seal_keyrec **krp);

/*
 * Local state at rest (the daemon's own files, not export records): a
 * 32-byte key derived from a private key (HKDF-SHA256 over its raw bytes,
 * info = label), and ChaCha20-Poly1305 boxes under it with a random nonce,
 * bound to aad: nonce (12) || ciphertext || tag (16).
 */
#define SEAL_LOCAL_KEY_LEN	32
#define SEAL_LOCAL_OVERHEAD	(12 + 16)
/* Derive the local key for label from private key k. */
int	seal_local_key(const struct seal_key *k, const char *label,
	    uint8_t key[SEAL_LOCAL_KEY_LEN]);
/* Box pt under key, bound to aad; appends to out. */
int	seal_local_box(const uint8_t key[SEAL_LOCAL_KEY_LEN],
	    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
	    struct buf *out);
/* Open a box made by seal_local_box(); appends the plaintext to out. */
int	seal_local_open(const uint8_t key[SEAL_LOCAL_KEY_LEN],
	    const uint8_t *aad, size_t aad_len, const uint8_t *box, size_t len,
	    struct buf *out);

/* Text for an error value. */
const char *seal_strerror(int r);

#endif
