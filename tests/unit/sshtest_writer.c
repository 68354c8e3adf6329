/*
 * sshtest_writer: a small SSH transport writer for test_sshtrack.c (included
 * from it).  It frames and encrypts packets the way OpenSSH's
 * ssh_packet_send2_wrapped() does, with chosen keys and deterministic padding
 * (byte j of the packet with sequence number s is s * 16 + j, as in
 * sshtest_genvec.c), and keeps the cipher state as OpenSSH does: one running
 * EVP context per direction, GCM's IV advanced by EVP_CTRL_GCM_IV_GEN.  It
 * deliberately shares no code with the tracker (UMAC: sshtest_umac.c).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "buf.h"
#include "seal.h"

#include "sshtest_umac.c"

enum { W_CLEAR, W_CHACHA, W_GCM, W_CTR, W_CBC };

struct sshtest_w {
	struct buf	 out;		/* the stream written so far */
	uint32_t	 seqnr;
	int		 strict;	/* reset seqnr after NEWKEYS */
	int		 compress_from_now;	/* not supported: a marker */
	/* Keys in use. */
	int		 enc;
	size_t		 bs, authlen, maclen;
	int		 etm, umac;
	const char	*digest;
	uint8_t		 mackey[64];
	size_t		 mackey_len;
	EVP_CIPHER_CTX	*ctx, *hctx;
	/* Keys installed by the next NEWKEYS. */
	struct seal_dir	 next;
	int		 have_next;
	/* Where packets start (for tests), and their seqnrs. */
	uint64_t	 starts[512];
	uint32_t	 seqnrs[512];
	size_t		 npackets;
};

static void
w_init(struct sshtest_w *w)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->out, 64 * 1024 * 1024);
	w->bs = 8;
}

static void
w_free(struct sshtest_w *w)
{
	buf_free(&w->out);
	EVP_CIPHER_CTX_free(w->ctx);
	EVP_CIPHER_CTX_free(w->hctx);
	memset(w, 0, sizeof(*w));
}

static void
w_raw(struct sshtest_w *w, const void *p, size_t len)
{
	if (buf_put(&w->out, p, len) != 0)
		abort();
}

/* Keys that the next NEWKEYS written will install. */
static void
w_next_keys(struct sshtest_w *w, const struct seal_dir *kd)
{
	w->next = *kd;
	w->have_next = 1;
}

static void
w_install(struct sshtest_w *w)
{
	const struct seal_dir *kd = &w->next;
	const EVP_CIPHER *c = NULL;
	const char *m = kd->mac;

	EVP_CIPHER_CTX_free(w->ctx);
	EVP_CIPHER_CTX_free(w->hctx);
	w->ctx = w->hctx = NULL;
	w->authlen = w->maclen = 0;
	w->etm = w->umac = 0;
	w->bs = 16;
	if (strcmp(kd->cipher, "chacha20-poly1305@openssh.com") == 0) {
		w->enc = W_CHACHA;
		w->bs = 8;
		w->authlen = 16;
		w->ctx = EVP_CIPHER_CTX_new();
		w->hctx = EVP_CIPHER_CTX_new();
		if (!EVP_CipherInit(w->ctx, EVP_chacha20(), kd->enc_key, NULL,
		    1) || !EVP_CipherInit(w->hctx, EVP_chacha20(),
		    kd->enc_key + 32, NULL, 1))
			abort();
		return;
	}
	if (strcmp(kd->cipher, "aes128-gcm@openssh.com") == 0)
		c = EVP_aes_128_gcm(), w->enc = W_GCM;
	else if (strcmp(kd->cipher, "aes256-gcm@openssh.com") == 0)
		c = EVP_aes_256_gcm(), w->enc = W_GCM;
	else if (strcmp(kd->cipher, "aes128-ctr") == 0)
		c = EVP_aes_128_ctr(), w->enc = W_CTR;
	else if (strcmp(kd->cipher, "aes192-ctr") == 0)
		c = EVP_aes_192_ctr(), w->enc = W_CTR;
	else if (strcmp(kd->cipher, "aes256-ctr") == 0)
		c = EVP_aes_256_ctr(), w->enc = W_CTR;
	else if (strcmp(kd->cipher, "aes128-cbc") == 0)
		c = EVP_aes_128_cbc(), w->enc = W_CBC;
	else if (strcmp(kd->cipher, "aes192-cbc") == 0)
		c = EVP_aes_192_cbc(), w->enc = W_CBC;
	else if (strcmp(kd->cipher, "aes256-cbc") == 0)
		c = EVP_aes_256_cbc(), w->enc = W_CBC;
	else
		abort();
	w->ctx = EVP_CIPHER_CTX_new();
	/* As cipher.c:cipher_init() does it. */
	if (!EVP_CipherInit(w->ctx, c, NULL, kd->iv, 1))
		abort();
	if (w->enc == W_GCM) {
		w->authlen = 16;
		if (!EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1,
		    (void *)kd->iv))
			abort();
	}
	if (!EVP_CipherInit(w->ctx, NULL, kd->enc_key, NULL, -1))
		abort();
	if (w->enc == W_GCM)
		return;
	w->etm = strstr(m, "-etm@openssh.com") != NULL;
	if (strncmp(m, "umac-64", 7) == 0)
		w->umac = 1, w->maclen = 8;
	else if (strncmp(m, "umac-128", 8) == 0)
		w->umac = 1, w->maclen = 16;
	else if (strncmp(m, "hmac-sha2-256", 13) == 0)
		w->digest = "SHA256", w->maclen = 32;
	else if (strncmp(m, "hmac-sha2-512", 13) == 0)
		w->digest = "SHA512", w->maclen = 64;
	else if (strncmp(m, "hmac-sha1-96", 12) == 0)
		w->digest = "SHA1", w->maclen = 12;
	else if (strncmp(m, "hmac-sha1", 9) == 0)
		w->digest = "SHA1", w->maclen = 20;
	else
		abort();
	memcpy(w->mackey, kd->mac_key, kd->mac_key_len);
	w->mackey_len = kd->mac_key_len;
}

static void
w_mac(struct sshtest_w *w, uint32_t seqnr, const uint8_t *data, size_t len,
    uint8_t *out)
{
	static uint8_t tmp[300 * 1024];
	uint8_t md[64];
	size_t mdlen;

	if (w->umac) {
		t_umac(w->mackey, data, len, seqnr, w->maclen, out);
		return;
	}
	tmp[0] = seqnr >> 24, tmp[1] = seqnr >> 16;
	tmp[2] = seqnr >> 8, tmp[3] = seqnr;
	memcpy(tmp + 4, data, len);
	if (EVP_Q_mac(NULL, "HMAC", NULL, w->digest, NULL, w->mackey,
	    w->mackey_len, tmp, len + 4, md, sizeof(md), &mdlen) == NULL)
		abort();
	memcpy(out, md, w->maclen);
}

/* Frame, encrypt and append one packet; returns its sequence number. */
static uint32_t
w_packet(struct sshtest_w *w, const uint8_t *payload, size_t plen)
{
	static uint8_t pkt[300 * 1024], enc[300 * 1024];
	size_t len, padlen, aadlen, i;
	uint32_t seqnr = w->seqnr;
	uint8_t iv[16], polykey[32], tag[16], mac[64], last[1];
	int outl;

	if (w->npackets < 512) {
		w->starts[w->npackets] = buf_len(&w->out);
		w->seqnrs[w->npackets] = seqnr;
	}
	w->npackets++;
	aadlen = (w->maclen && w->etm) || w->authlen ? 4 : 0;
	len = 4 + 1 + plen - aadlen;
	padlen = w->bs - (len % w->bs);
	if (padlen < 4)
		padlen += w->bs;
	len = 4 + 1 + plen + padlen;
	pkt[0] = (len - 4) >> 24, pkt[1] = (len - 4) >> 16;
	pkt[2] = (len - 4) >> 8, pkt[3] = len - 4;
	pkt[4] = padlen;
	memcpy(pkt + 5, payload, plen);
	for (i = 0; i < padlen; i++)
		pkt[5 + plen + i] = (uint8_t)(seqnr * 16 + i);
	switch (w->ctx == NULL ? W_CLEAR : w->enc) {
	case W_CLEAR:
		/* OpenSSH zeroes the padding in clear. */
		memset(pkt + 5 + plen, 0, padlen);
		w_raw(w, pkt, len);
		break;
	case W_CHACHA:
		memset(iv, 0, sizeof(iv));
		for (i = 0; i < 4; i++)
			iv[15 - i] = (uint8_t)(seqnr >> (8 * i));
		memset(polykey, 0, sizeof(polykey));
		if (!EVP_CipherInit(w->ctx, NULL, NULL, iv, 1) ||
		    !EVP_CipherUpdate(w->ctx, polykey, &outl, polykey, 32) ||
		    !EVP_CipherInit(w->hctx, NULL, NULL, iv, 1) ||
		    !EVP_CipherUpdate(w->hctx, enc, &outl, pkt, 4))
			abort();
		iv[0] = 1;
		if (!EVP_CipherInit(w->ctx, NULL, NULL, iv, 1) ||
		    !EVP_CipherUpdate(w->ctx, enc + 4, &outl, pkt + 4,
		    (int)len - 4))
			abort();
		if (EVP_Q_mac(NULL, "POLY1305", NULL, NULL, NULL, polykey, 32,
		    enc, len, tag, sizeof(tag), &i) == NULL)
			abort();
		w_raw(w, enc, len);
		w_raw(w, tag, 16);
		break;
	case W_GCM:
		if (!EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_IV_GEN, 1,
		    last) ||
		    !EVP_Cipher(w->ctx, NULL, pkt, 4))
			abort();
		memcpy(enc, pkt, 4);
		if (EVP_Cipher(w->ctx, enc + 4, pkt + 4, len - 4) < 0 ||
		    EVP_Cipher(w->ctx, NULL, NULL, 0) < 0 ||
		    !EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_GET_TAG, 16, tag))
			abort();
		w_raw(w, enc, len);
		w_raw(w, tag, 16);
		break;
	case W_CTR:
	case W_CBC:
		if (!w->etm)
			w_mac(w, seqnr, pkt, len, mac);
		memcpy(enc, pkt, aadlen);
		if (EVP_Cipher(w->ctx, enc + aadlen, pkt + aadlen,
		    len - aadlen) < 0)
			abort();
		if (w->etm)
			w_mac(w, seqnr, enc, len, mac);
		w_raw(w, enc, len);
		w_raw(w, mac, w->maclen);
		break;
	}
	w->seqnr++;
	return seqnr;
}

/* NEWKEYS, then the keys set with w_next_keys() (strict: seqnr to 0). */
static uint32_t
w_newkeys(struct sshtest_w *w)
{
	static const uint8_t nk[1] = { 21 };
	uint32_t seqnr = w_packet(w, nk, 1);

	if (w->strict)
		w->seqnr = 0;
	if (!w->have_next)
		abort();
	w_install(w);
	w->have_next = 0;
	return seqnr;
}

/* --- payload builders --- */

struct msg {
	struct buf	b;
};

static void
m_init(struct msg *m, uint8_t type)
{
	buf_init(&m->b, 1024 * 1024);
	buf_put_u8(&m->b, type);
}

static void
m_u8(struct msg *m, uint8_t v)
{
	buf_put_u8(&m->b, v);
}

static void
m_u32(struct msg *m, uint32_t v)
{
	buf_put_u32(&m->b, v);
}

static void
m_str(struct msg *m, const char *s)
{
	buf_put_cstring(&m->b, s);
}

static void
m_bytes(struct msg *m, const void *p, size_t len)
{
	buf_put_string(&m->b, p, len);
}

/* Write the message as a packet and free it; returns its seqnr. */
static uint32_t
m_send(struct msg *m, struct sshtest_w *w)
{
	uint32_t s = w_packet(w, buf_ptr(&m->b), buf_len(&m->b));

	buf_free(&m->b);
	return s;
}

/* A KEXINIT offering exactly these lists (both directions alike). */
static uint32_t
w_kexinit(struct sshtest_w *w, const char *kex, const char *cipher,
    const char *mac, const char *comp)
{
	struct msg m;
	int i;

	m_init(&m, 20);
	for (i = 0; i < 16; i++)
		m_u8(&m, (uint8_t)i);
	m_str(&m, kex);
	m_str(&m, "ssh-ed25519,ecdsa-sha2-nistp256");
	m_str(&m, cipher);
	m_str(&m, cipher);
	m_str(&m, mac);
	m_str(&m, mac);
	m_str(&m, comp);
	m_str(&m, comp);
	m_str(&m, "");
	m_str(&m, "");
	m_u8(&m, 0);
	m_u32(&m, 0);
	return m_send(&m, w);
}
