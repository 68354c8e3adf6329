/*
 * seal: export records (see seal.h, docs/export-format.md).  Everything read
 * from a record goes through buf; every derived secret is wiped before
 * return.  Uses only libcrypto APIs present in both OpenSSL 1.1.1 and 3.x so
 * that the same file can be built into the OpenSSH patch.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>

#include "buf.h"
#include "seal.h"

#define SEAL_MAGIC		"SJX1"
#define SEAL_MAGIC_LEN		4
#define SEAL_PREFIX_LEN		10	/* magic, version, flags, length */
#define SEAL_IDS_LEN		24	/* conn_id, counter, time */
#define SEAL_TAG_LEN		16
#define SEAL_SIG_LEN		64
#define SEAL_AEAD_KEY_LEN	32
#define SEAL_NONCE_LEN		12
#define SEAL_OKM_LEN		(SEAL_AEAD_KEY_LEN + SEAL_NONCE_LEN)
#define SEAL_SHARED_LEN		32
/* Everything after the header. */
#define SEAL_TRAILER_LEN	(SEAL_PUBKEY_LEN + SEAL_TAG_LEN + SEAL_SIG_LEN)
/* Smallest possible record: one-byte sender, empty payload. */
#define SEAL_RECORD_MIN		(SEAL_PREFIX_LEN + 4 + 1 + SEAL_IDS_LEN + \
				    SEAL_TRAILER_LEN)
#define SEAL_KDF_LABEL		"SecureJeebs SJX1 record v1"
#define SEAL_KEYFILE_MAX	4096

#define KEYREC_FLAG_LOGIN	0x01
#define KEYREC_FLAG_CLOSED	0x02
#define KEYREC_FLAG_DRAIN	0x04

/* Character classes for names carried in records. */
#define CHARS_SENDER		0	/* [A-Za-z0-9._-] */
#define CHARS_TOKEN		1	/* printable ASCII, no space */
#define CHARS_TEXT		2	/* anything but controls and NUL */

struct seal_key {
	int		 type;
	int		 has_private;
	EVP_PKEY	*pkey;
};

static int
evp_type(int type)
{
	switch (type) {
	case SEAL_KEY_X25519:	return EVP_PKEY_X25519;
	case SEAL_KEY_ED25519:	return EVP_PKEY_ED25519;
	default:		return -1;
	}
}

static int
chars_ok(const uint8_t *p, size_t len, int class)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < len; i++) {
		c = p[i];
		switch (class) {
		case CHARS_SENDER:
			if (!((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') ||
			    c == '.' || c == '_' || c == '-'))
				return 0;
			break;
		case CHARS_TOKEN:
			if (c < 0x21 || c > 0x7e)
				return 0;
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				return 0;
			break;
		}
	}
	return 1;
}

/* Keys */

static struct seal_key *
key_wrap(int type, int has_private, EVP_PKEY *pkey)
{
	struct seal_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->type = type;
	k->has_private = has_private;
	k->pkey = pkey;
	return k;
}

int
seal_key_generate(int type, struct seal_key **kp)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int id;

	*kp = NULL;
	if ((id = evp_type(type)) < 0)
		return SEAL_ERR_INVALID;
	if ((ctx = EVP_PKEY_CTX_new_id(id, NULL)) == NULL)
		return SEAL_ERR_CRYPTO;
	if (EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_keygen(ctx, &pkey) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return SEAL_ERR_CRYPTO;
	}
	EVP_PKEY_CTX_free(ctx);
	if ((*kp = key_wrap(type, 1, pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		return SEAL_ERR_NOMEM;
	}
	return SEAL_OK;
}

int
seal_key_from_raw(int type, const uint8_t *priv, const uint8_t *pub,
    struct seal_key **kp)
{
	EVP_PKEY *pkey;
	int id;

	*kp = NULL;
	if ((id = evp_type(type)) < 0 || (priv == NULL && pub == NULL))
		return SEAL_ERR_INVALID;
	if (priv != NULL)
		pkey = EVP_PKEY_new_raw_private_key(id, NULL, priv,
		    SEAL_PUBKEY_LEN);
	else
		pkey = EVP_PKEY_new_raw_public_key(id, NULL, pub,
		    SEAL_PUBKEY_LEN);
	if (pkey == NULL)
		return SEAL_ERR_KEY;
	if ((*kp = key_wrap(type, priv != NULL, pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		return SEAL_ERR_NOMEM;
	}
	return SEAL_OK;
}

int
seal_key_public_raw(const struct seal_key *k, uint8_t pub[SEAL_PUBKEY_LEN])
{
	size_t len = SEAL_PUBKEY_LEN;

	if (k == NULL)
		return SEAL_ERR_INVALID;
	if (EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) != 1 ||
	    len != SEAL_PUBKEY_LEN)
		return SEAL_ERR_KEY;
	return SEAL_OK;
}

int
seal_key_type(const struct seal_key *k)
{
	return k == NULL ? 0 : k->type;
}

int
seal_key_is_private(const struct seal_key *k)
{
	return k != NULL && k->has_private;
}

void
seal_key_free(struct seal_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* Never prompt: key files are stored without a passphrase. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Read a key file after checking, on the open descriptor, that it is a
 * regular file owned by root or by us and that its mode is safe: no group or
 * other bits at all for a private key (as sshd), not group/other writable
 * for a public one (a writable pinned key could be replaced).
 */
static int
key_file_read(const char *path, int private, char *data, size_t *lenp)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, r, saved;

	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1)
		return SEAL_ERR_SYSTEM;
	if (fstat(fd, &st) == -1) {
		r = SEAL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (private ? 077 : 022)) != 0) {
		r = SEAL_ERR_PERM;
		goto out;
	}
	for (;;) {
		if (got == SEAL_KEYFILE_MAX) {
			r = SEAL_ERR_KEY;	/* no key file is this big */
			goto out;
		}
		n = read(fd, data + got, SEAL_KEYFILE_MAX - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = SEAL_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*lenp = got;
	r = SEAL_OK;
 out:
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

static int
key_load(const char *path, int type, int private, struct seal_key **kp)
{
	char data[SEAL_KEYFILE_MAX];
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	size_t len;
	int id, r;

	*kp = NULL;
	if ((id = evp_type(type)) < 0)
		return SEAL_ERR_INVALID;
	if ((r = key_file_read(path, private, data, &len)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	if (private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL || EVP_PKEY_id(pkey) != id) {
		EVP_PKEY_free(pkey);
		r = SEAL_ERR_KEY;
		goto out;
	}
	if ((*kp = key_wrap(type, private, pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	r = SEAL_OK;
 out:
	OPENSSL_cleanse(data, sizeof(data));
	return r;
}

int
seal_key_load_private(const char *path, int type, struct seal_key **kp)
{
	return key_load(path, type, 1, kp);
}

int
seal_key_load_public(const char *path, int type, struct seal_key **kp)
{
	return key_load(path, type, 0, kp);
}

/* Create path (never replacing a file), exactly mode, with the BIO's bytes. */
static int
key_file_write(const char *path, mode_t mode, BIO *mem)
{
	char *data = NULL;
	long len;
	size_t done = 0;
	ssize_t n;
	int fd, saved;

	if ((len = BIO_get_mem_data(mem, &data)) <= 0 || data == NULL)
		return SEAL_ERR_CRYPTO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		return SEAL_ERR_SYSTEM;
	if (fchmod(fd, mode) == -1)	/* whatever the umask said */
		goto fail;
	while (done < (size_t)len) {
		n = write(fd, data + done, (size_t)len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return SEAL_OK;
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(path);
	errno = saved;
	return SEAL_ERR_SYSTEM;
}

int
seal_key_save_private(const struct seal_key *k, const char *path)
{
	char *data = NULL;
	long len;
	BIO *mem;
	int r;

	if (k == NULL || !k->has_private)
		return SEAL_ERR_KEY;
	if ((mem = BIO_new(BIO_s_secmem())) == NULL)
		return SEAL_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(mem, k->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1)
		r = SEAL_ERR_CRYPTO;
	else
		r = key_file_write(path, 0600, mem);
	if ((len = BIO_get_mem_data(mem, &data)) > 0 && data != NULL)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free(mem);
	return r;
}

int
seal_key_save_public(const struct seal_key *k, const char *path)
{
	BIO *mem;
	int r;

	if (k == NULL)
		return SEAL_ERR_KEY;
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		return SEAL_ERR_NOMEM;
	if (PEM_write_bio_PUBKEY(mem, k->pkey) != 1)
		r = SEAL_ERR_CRYPTO;
	else
		r = key_file_write(path, 0644, mem);
	BIO_free(mem);
	return r;
}

/* Crypto primitives */

/* X25519; libcrypto refuses an all-zero result (low-order peer point). */
static int
x25519_shared(const struct seal_key *priv, const uint8_t *peer_pub,
    uint8_t shared[SEAL_SHARED_LEN])
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer;
	size_t len = SEAL_SHARED_LEN;
	int ok = 0;

	if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
	    peer_pub, SEAL_PUBKEY_LEN)) == NULL)
		return 0;
	if ((ctx = EVP_PKEY_CTX_new(priv->pkey, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, shared, &len) == 1 &&
	    len == SEAL_SHARED_LEN)
		ok = 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	if (!ok)
		OPENSSL_cleanse(shared, SEAL_SHARED_LEN);
	return ok;
}

/*
 * HKDF-SHA256: IKM = X25519 shared secret, salt = ephemeral pub || recipient
 * pub, info = label || header bytes; output = AEAD key || nonce.
 */
static int
derive_okm(const uint8_t shared[SEAL_SHARED_LEN], const uint8_t *eph_pub,
    const uint8_t *rcpt_pub, const uint8_t *hdr, size_t hdr_len,
    uint8_t okm[SEAL_OKM_LEN])
{
	EVP_PKEY_CTX *ctx;
	struct buf salt;
	size_t len = SEAL_OKM_LEN;
	int ok = 0;

	buf_init(&salt, 2 * SEAL_PUBKEY_LEN);
	if (buf_put(&salt, eph_pub, SEAL_PUBKEY_LEN) != 0 ||
	    buf_put(&salt, rcpt_pub, SEAL_PUBKEY_LEN) != 0) {
		buf_free(&salt);
		return 0;
	}
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, buf_ptr(&salt),
	    (int)buf_len(&salt)) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, shared, SEAL_SHARED_LEN) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx,
	    (const unsigned char *)SEAL_KDF_LABEL,
	    (int)strlen(SEAL_KDF_LABEL)) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, hdr, (int)hdr_len) == 1 &&
	    EVP_PKEY_derive(ctx, okm, &len) == 1 && len == SEAL_OKM_LEN)
		ok = 1;
	EVP_PKEY_CTX_free(ctx);
	buf_free(&salt);
	if (!ok)
		OPENSSL_cleanse(okm, SEAL_OKM_LEN);
	return ok;
}

/* ChaCha20-Poly1305 in either direction; tag is written or checked. */
static int
aead(int enc, const uint8_t okm[SEAL_OKM_LEN], const uint8_t *aad,
    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
    uint8_t tag[SEAL_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	uint8_t fin[SEAL_TAG_LEN];
	int outl, ok = 0;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return 0;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, okm, okm + SEAL_AEAD_KEY_LEN,
	    enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (len > 0 &&
	    (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    (size_t)outl != len))
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, fin, &outl) != 1 || outl != 0)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	ok = 1;
 out:
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* Local state at rest */

int
seal_local_key(const struct seal_key *k, const char *label,
    uint8_t key[SEAL_LOCAL_KEY_LEN])
{
	EVP_PKEY_CTX *ctx;
	uint8_t raw[SEAL_PUBKEY_LEN];
	size_t rawlen = sizeof(raw), len = SEAL_LOCAL_KEY_LEN;
	int ok = 0;

	if (k == NULL || !k->has_private)
		return SEAL_ERR_KEY;
	if (EVP_PKEY_get_raw_private_key(k->pkey, raw, &rawlen) != 1 ||
	    rawlen != sizeof(raw)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return SEAL_ERR_KEY;
	}
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, raw, (int)rawlen) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)label,
	    (int)strlen(label)) == 1 &&
	    EVP_PKEY_derive(ctx, key, &len) == 1 && len == SEAL_LOCAL_KEY_LEN)
		ok = 1;
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!ok)
		OPENSSL_cleanse(key, SEAL_LOCAL_KEY_LEN);
	return ok ? SEAL_OK : SEAL_ERR_CRYPTO;
}

int
seal_local_box(const uint8_t key[SEAL_LOCAL_KEY_LEN], const uint8_t *aad,
    size_t aad_len, const uint8_t *pt, size_t len, struct buf *out)
{
	uint8_t okm[SEAL_OKM_LEN], *p;
	int r = SEAL_ERR_CRYPTO;

	if (len > BUF_MAX_SIZE - SEAL_LOCAL_OVERHEAD || aad_len > INT32_MAX)
		return SEAL_ERR_OVERSIZE;
	memcpy(okm, key, SEAL_AEAD_KEY_LEN);
	arc4random_buf(okm + SEAL_AEAD_KEY_LEN, SEAL_NONCE_LEN);
	if (buf_reserve(out, SEAL_NONCE_LEN + len + SEAL_TAG_LEN, &p) != 0) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	memcpy(p, okm + SEAL_AEAD_KEY_LEN, SEAL_NONCE_LEN);
	if (aead(1, okm, aad, aad_len, pt, len, p + SEAL_NONCE_LEN,
	    p + SEAL_NONCE_LEN + len))
		r = SEAL_OK;
 out:
	OPENSSL_cleanse(okm, sizeof(okm));
	return r;
}

int
seal_local_open(const uint8_t key[SEAL_LOCAL_KEY_LEN], const uint8_t *aad,
    size_t aad_len, const uint8_t *box, size_t len, struct buf *out)
{
	uint8_t okm[SEAL_OKM_LEN], tag[SEAL_TAG_LEN], *p;
	const uint8_t *nonce, *ct;
	struct buf b, tmp;
	size_t ctlen;
	int r = SEAL_ERR_DECRYPT;

	buf_view(&b, box, len);
	if (len < SEAL_LOCAL_OVERHEAD || aad_len > INT32_MAX)
		return SEAL_ERR_TRUNCATED;
	ctlen = len - SEAL_LOCAL_OVERHEAD;
	nonce = buf_ptr(&b);
	if (buf_skip(&b, SEAL_NONCE_LEN) != 0)
		return SEAL_ERR_TRUNCATED;
	ct = buf_ptr(&b);
	if (buf_skip(&b, ctlen) != 0 || buf_get(&b, tag, sizeof(tag)) != 0)
		return SEAL_ERR_TRUNCATED;
	/* Into a wiped buffer first: nothing of a failed open reaches out. */
	buf_init(&tmp, ctlen + 1);
	buf_set_secret(&tmp);
	memcpy(okm, key, SEAL_AEAD_KEY_LEN);
	memcpy(okm + SEAL_AEAD_KEY_LEN, nonce, SEAL_NONCE_LEN);
	if (buf_reserve(&tmp, ctlen, &p) != 0)
		r = SEAL_ERR_NOMEM;
	else if (aead(0, okm, aad, aad_len, ct, ctlen, p, tag))
		r = buf_put(out, buf_ptr(&tmp), ctlen) == 0 ? SEAL_OK :
		    SEAL_ERR_NOMEM;
	buf_free(&tmp);
	OPENSSL_cleanse(okm, sizeof(okm));
	OPENSSL_cleanse(tag, sizeof(tag));
	return r;
}

static int
ed25519_sign(const struct seal_key *k, const uint8_t *msg, size_t len,
    uint8_t sig[SEAL_SIG_LEN])
{
	EVP_MD_CTX *md;
	size_t siglen = SEAL_SIG_LEN;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, msg, len) == 1 &&
	    siglen == SEAL_SIG_LEN;
	EVP_MD_CTX_free(md);
	return ok;
}

static int
ed25519_verify(const struct seal_key *k, const uint8_t *msg, size_t len,
    const uint8_t sig[SEAL_SIG_LEN])
{
	EVP_MD_CTX *md;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(md, sig, SEAL_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Envelope */

static int
header_put(const struct seal_header *hdr, size_t total, struct buf *b)
{
	int r;

	if ((r = buf_put(b, SEAL_MAGIC, SEAL_MAGIC_LEN)) != 0 ||
	    (r = buf_put_u8(b, SEAL_RECORD_VERSION)) != 0 ||
	    (r = buf_put_u8(b, 0)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)total)) != 0 ||
	    (r = buf_put_cstring(b, hdr->sender)) != 0 ||
	    (r = buf_put_u64(b, hdr->conn_id)) != 0 ||
	    (r = buf_put_u64(b, hdr->counter)) != 0 ||
	    (r = buf_put_u64(b, hdr->time)) != 0)
		return r == BUF_ERR_NOMEM ? SEAL_ERR_NOMEM : SEAL_ERR_OVERSIZE;
	return SEAL_OK;
}

/* The fixed prefix: magic, version, flags, total length. */
static int
prefix_get(struct buf *b, uint8_t *version, uint8_t *flags, uint32_t *total)
{
	uint8_t magic[SEAL_MAGIC_LEN];

	if (buf_len(b) < SEAL_PREFIX_LEN)
		return SEAL_ERR_TRUNCATED;
	if (buf_get(b, magic, sizeof(magic)) != 0 ||
	    buf_get_u8(b, version) != 0 ||
	    buf_get_u8(b, flags) != 0 ||
	    buf_get_u32(b, total) != 0)
		return SEAL_ERR_TRUNCATED;
	if (memcmp(magic, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return SEAL_ERR_FORMAT;
	if (*version != SEAL_RECORD_VERSION)
		return SEAL_ERR_VERSION;
	if (*flags != 0)
		return SEAL_ERR_FORMAT;
	if (*total > SEAL_RECORD_MAX)
		return SEAL_ERR_OVERSIZE;
	if (*total < SEAL_RECORD_MIN)
		return SEAL_ERR_FORMAT;
	return SEAL_OK;
}

/*
 * Parse the header of a complete record of len bytes into hdr; b is left
 * just after the header.  No crypto: the result is unauthenticated.
 */
static int
header_get(const uint8_t *rec, size_t len, struct seal_header *hdr,
    struct buf *b)
{
	const uint8_t *name;
	size_t name_len;
	uint32_t total;
	int r;

	memset(hdr, 0, sizeof(*hdr));
	if (len > SEAL_RECORD_MAX)
		return SEAL_ERR_OVERSIZE;
	buf_view(b, rec, len);
	if ((r = prefix_get(b, &hdr->version, &hdr->flags, &total)) != 0)
		return r;
	if (total > len)
		return SEAL_ERR_TRUNCATED;
	if (total < len)
		return SEAL_ERR_FORMAT;		/* trailing bytes */
	/* From here the record has the length it claims: short is malformed. */
	if (buf_get_string_direct(b, &name, &name_len) != 0 ||
	    name_len < 1 || name_len > SEAL_SENDER_MAX ||
	    !chars_ok(name, name_len, CHARS_SENDER))
		return SEAL_ERR_FORMAT;
	memcpy(hdr->sender, name, name_len);
	hdr->sender[name_len] = '\0';
	if (buf_get_u64(b, &hdr->conn_id) != 0 ||
	    buf_get_u64(b, &hdr->counter) != 0 ||
	    buf_get_u64(b, &hdr->time) != 0 ||
	    buf_len(b) < SEAL_TRAILER_LEN)
		return SEAL_ERR_FORMAT;
	if (buf_len(b) - SEAL_TRAILER_LEN > SEAL_PAYLOAD_MAX)
		return SEAL_ERR_OVERSIZE;
	return SEAL_OK;
}

int
seal_create_with_ephemeral(const struct seal_header *hdr,
    const uint8_t *payload, size_t len, const struct seal_key *recipient,
    const struct seal_key *signer, const struct seal_key *ephemeral,
    struct buf *out)
{
	struct buf rec;
	uint8_t eph_pub[SEAL_PUBKEY_LEN], rcpt_pub[SEAL_PUBKEY_LEN];
	uint8_t shared[SEAL_SHARED_LEN], okm[SEAL_OKM_LEN];
	uint8_t tag[SEAL_TAG_LEN], sig[SEAL_SIG_LEN];
	uint8_t *ct;
	size_t name_len, hdr_len, total;
	int r;

	if (hdr == NULL || (payload == NULL && len > 0) || out == NULL)
		return SEAL_ERR_INVALID;
	if (len > SEAL_PAYLOAD_MAX)
		return SEAL_ERR_OVERSIZE;
	name_len = strnlen(hdr->sender, sizeof(hdr->sender));
	if (name_len < 1 || name_len > SEAL_SENDER_MAX ||
	    !chars_ok((const uint8_t *)hdr->sender, name_len, CHARS_SENDER))
		return SEAL_ERR_INVALID;
	if (recipient == NULL || recipient->type != SEAL_KEY_X25519 ||
	    signer == NULL || signer->type != SEAL_KEY_ED25519 ||
	    !signer->has_private ||
	    ephemeral == NULL || ephemeral->type != SEAL_KEY_X25519 ||
	    !ephemeral->has_private)
		return SEAL_ERR_KEY;
	if ((r = seal_key_public_raw(ephemeral, eph_pub)) != 0 ||
	    (r = seal_key_public_raw(recipient, rcpt_pub)) != 0)
		return r;

	hdr_len = SEAL_PREFIX_LEN + 4 + name_len + SEAL_IDS_LEN;
	total = hdr_len + SEAL_TRAILER_LEN + len;
	buf_init(&rec, SEAL_RECORD_MAX);
	if ((r = header_put(hdr, total, &rec)) != 0)
		goto out;
	if (!x25519_shared(ephemeral, rcpt_pub, shared)) {
		r = SEAL_ERR_KEY;	/* low-order recipient key */
		goto out;
	}
	if (!derive_okm(shared, eph_pub, rcpt_pub, buf_ptr(&rec), hdr_len,
	    okm)) {
		r = SEAL_ERR_CRYPTO;
		goto out;
	}
	if (buf_put(&rec, eph_pub, sizeof(eph_pub)) != 0 ||
	    buf_reserve(&rec, len, &ct) != 0) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	/* The header is still the first hdr_len bytes of rec. */
	if (!aead(1, okm, buf_ptr(&rec), hdr_len, payload, len, ct, tag)) {
		r = SEAL_ERR_CRYPTO;
		goto out;
	}
	if (buf_put(&rec, tag, sizeof(tag)) != 0) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	if (!ed25519_sign(signer, buf_ptr(&rec), buf_len(&rec), sig)) {
		r = SEAL_ERR_CRYPTO;
		goto out;
	}
	if (buf_put(&rec, sig, sizeof(sig)) != 0 ||
	    buf_len(&rec) != total) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	if (buf_put(out, buf_ptr(&rec), buf_len(&rec)) != 0) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	r = SEAL_OK;
 out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(okm, sizeof(okm));
	buf_free(&rec);
	return r;
}

int
seal_create(const struct seal_header *hdr, const uint8_t *payload,
    size_t len, const struct seal_key *recipient,
    const struct seal_key *signer, struct buf *out)
{
	struct seal_key *eph;
	int r;

	if ((r = seal_key_generate(SEAL_KEY_X25519, &eph)) != 0)
		return r;
	r = seal_create_with_ephemeral(hdr, payload, len, recipient, signer,
	    eph, out);
	seal_key_free(eph);
	return r;
}

int
seal_record_length(const uint8_t *p, size_t len, size_t *total)
{
	struct buf b;
	uint8_t version, flags;
	uint32_t n;
	int r;

	*total = 0;
	buf_view(&b, p, len);
	if ((r = prefix_get(&b, &version, &flags, &n)) != 0)
		return r;
	*total = n;
	return SEAL_OK;
}

int
seal_peek_header(const uint8_t *rec, size_t len, struct seal_header *hdr)
{
	struct buf b;

	return header_get(rec, len, hdr, &b);
}

/*
 * Order matters: size and header format, then the signature with the pinned
 * key, and only then any work on the ciphertext.
 */
int
seal_open(const uint8_t *rec, size_t len, const struct seal_key *recipient,
    const struct seal_key *signer, const char *expected_sender,
    struct seal_header *hdr, struct buf *out)
{
	struct seal_header h;
	struct buf b, pt;
	const uint8_t *ct;
	uint8_t eph_pub[SEAL_PUBKEY_LEN], rcpt_pub[SEAL_PUBKEY_LEN];
	uint8_t tag[SEAL_TAG_LEN], sig[SEAL_SIG_LEN];
	uint8_t shared[SEAL_SHARED_LEN], okm[SEAL_OKM_LEN];
	uint8_t *ptp = NULL;
	size_t hdr_len, ct_len;
	int r;

	if (hdr != NULL)
		memset(hdr, 0, sizeof(*hdr));
	if (rec == NULL || out == NULL)
		return SEAL_ERR_INVALID;
	if (recipient == NULL || recipient->type != SEAL_KEY_X25519 ||
	    !recipient->has_private ||
	    signer == NULL || signer->type != SEAL_KEY_ED25519)
		return SEAL_ERR_KEY;
	if (len > SEAL_RECORD_MAX)
		return SEAL_ERR_OVERSIZE;
	if ((r = header_get(rec, len, &h, &b)) != 0)
		return r;
	if (expected_sender != NULL && strcmp(h.sender, expected_sender) != 0)
		return SEAL_ERR_SENDER;
	hdr_len = len - buf_len(&b);
	ct_len = buf_len(&b) - SEAL_TRAILER_LEN;
	if (buf_get(&b, eph_pub, sizeof(eph_pub)) != 0)
		return SEAL_ERR_FORMAT;
	ct = buf_ptr(&b);
	if (buf_skip(&b, ct_len) != 0 ||
	    buf_get(&b, tag, sizeof(tag)) != 0 ||
	    buf_get(&b, sig, sizeof(sig)) != 0 ||
	    buf_len(&b) != 0)
		return SEAL_ERR_FORMAT;

	if (!ed25519_verify(signer, rec, len - SEAL_SIG_LEN, sig))
		return SEAL_ERR_SIGNATURE;

	if ((r = seal_key_public_raw(recipient, rcpt_pub)) != 0)
		return r;
	buf_init(&pt, SEAL_PAYLOAD_MAX);
	buf_set_secret(&pt);
	if (!x25519_shared(recipient, eph_pub, shared)) {
		r = SEAL_ERR_DECRYPT;
		goto out;
	}
	if (!derive_okm(shared, eph_pub, rcpt_pub, rec, hdr_len, okm)) {
		r = SEAL_ERR_CRYPTO;
		goto out;
	}
	if (ct_len > 0 && buf_reserve(&pt, ct_len, &ptp) != 0) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	if (!aead(0, okm, rec, hdr_len, ct, ct_len, ptp, tag)) {
		r = SEAL_ERR_DECRYPT;
		goto out;
	}
	buf_set_secret(out);
	if (buf_put(out, buf_ptr(&pt), buf_len(&pt)) != 0) {
		r = SEAL_ERR_NOMEM;
		goto out;
	}
	if (hdr != NULL)
		*hdr = h;
	r = SEAL_OK;
 out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(okm, sizeof(okm));
	buf_free(&pt);
	return r;
}

int
seal_replay_check(int have_last, uint64_t last, uint64_t counter)
{
	if (!have_last)
		return counter == 0 ? SEAL_OK : SEAL_ERR_REORDER;
	if (counter <= last)
		return SEAL_ERR_REPLAY;
	if (counter != last + 1)
		return SEAL_ERR_REORDER;
	return SEAL_OK;
}

int
seal_age_check(const struct seal_header *hdr, time_t now, uint32_t max_age)
{
	uint64_t t, diff;

	if (max_age == 0)
		return SEAL_OK;
	t = now < 0 ? 0 : (uint64_t)now;
	diff = hdr->time > t ? hdr->time - t : t - hdr->time;
	return diff > max_age ? SEAL_ERR_STALE : SEAL_OK;
}

/* Key record payload v1 */

struct seal_keyrec *
seal_keyrec_new(void)
{
	return calloc(1, sizeof(struct seal_keyrec));
}

void
seal_keyrec_free(struct seal_keyrec *kr)
{
	if (kr == NULL)
		return;
	if (kr->drain_data != NULL) {
		explicit_bzero(kr->drain_data, kr->drain_len);
		free(kr->drain_data);
	}
	explicit_bzero(kr, sizeof(*kr));
	free(kr);
}

static int
put_text(struct buf *b, const char *s, size_t min, size_t max, int class)
{
	size_t len = strnlen(s, max + 1);

	if (len < min || len > max || !chars_ok((const uint8_t *)s, len, class))
		return SEAL_ERR_INVALID;
	return buf_put_string(b, s, len) == 0 ? SEAL_OK : SEAL_ERR_OVERSIZE;
}

static int
put_bytes(struct buf *b, const uint8_t *p, size_t len, size_t min, size_t max)
{
	if (len < min || len > max)
		return SEAL_ERR_INVALID;
	return buf_put_string(b, p, len) == 0 ? SEAL_OK : SEAL_ERR_OVERSIZE;
}

static int
put_dir(struct buf *b, const struct seal_dir *d)
{
	int r;

	if ((r = put_text(b, d->cipher, 1, SEAL_NAME_MAX, CHARS_TOKEN)) != 0 ||
	    (r = put_text(b, d->mac, 0, SEAL_NAME_MAX, CHARS_TOKEN)) != 0 ||
	    (r = put_text(b, d->comp, 1, SEAL_NAME_MAX, CHARS_TOKEN)) != 0 ||
	    (r = put_bytes(b, d->enc_key, d->enc_key_len, 0,
	    SEAL_SECRET_MAX)) != 0 ||
	    (r = put_bytes(b, d->iv, d->iv_len, 0, SEAL_SECRET_MAX)) != 0 ||
	    (r = put_bytes(b, d->mac_key, d->mac_key_len, 0,
	    SEAL_SECRET_MAX)) != 0)
		return r;
	if (d->strict_kex != 0 && d->strict_kex != 1)
		return SEAL_ERR_INVALID;
	if (buf_put_u32(b, d->start_seqnr) != 0 ||
	    buf_put_u8(b, (uint8_t)d->strict_kex) != 0)
		return SEAL_ERR_OVERSIZE;
	return SEAL_OK;
}

int
seal_keyrec_encode(const struct seal_keyrec *kr, struct buf *out)
{
	size_t alen;
	int r;

	if (kr == NULL || out == NULL)
		return SEAL_ERR_INVALID;
	if (kr->family == SEAL_AF_INET)
		alen = 4;
	else if (kr->family == SEAL_AF_INET6)
		alen = 16;
	else
		return SEAL_ERR_INVALID;
	if ((kr->has_login != 0 && kr->has_login != 1) ||
	    (kr->closed != 0 && kr->closed != 1) ||
	    (kr->drain != 0 && kr->drain != 1) ||
	    (kr->closed && kr->has_login) ||
	    (kr->drain && (kr->closed || kr->has_login)))
		return SEAL_ERR_INVALID;
	if (kr->drain && (kr->drain_nparts < 1 ||
	    kr->drain_nparts > SEAL_DRAIN_PARTS_MAX ||
	    kr->drain_part >= kr->drain_nparts || kr->drain_len < 1 ||
	    kr->drain_len > SEAL_DRAIN_CHUNK_MAX || kr->drain_data == NULL))
		return SEAL_ERR_INVALID;
	if (!kr->closed && !kr->drain && (kr->session_id_len < 1 ||
	    kr->session_id_len > SEAL_SESSION_ID_MAX))
		return SEAL_ERR_INVALID;
	buf_set_secret(out);
	if (buf_put_u8(out, SEAL_KEYREC_VERSION) != 0 ||
	    buf_put_u8(out, (kr->has_login ? KEYREC_FLAG_LOGIN : 0) |
	    (kr->closed ? KEYREC_FLAG_CLOSED : 0) |
	    (kr->drain ? KEYREC_FLAG_DRAIN : 0)) != 0 ||
	    buf_put_u64(out, kr->conn_id) != 0 ||
	    buf_put_u64(out, kr->counter) != 0 ||
	    buf_put_u32(out, kr->kex_number) != 0 ||
	    buf_put_u8(out, kr->family) != 0 ||
	    buf_put(out, kr->client.addr, alen) != 0 ||
	    buf_put_u16(out, kr->client.port) != 0 ||
	    buf_put(out, kr->server.addr, alen) != 0 ||
	    buf_put_u16(out, kr->server.port) != 0)
		return SEAL_ERR_OVERSIZE;
	if (kr->closed)
		return SEAL_OK;		/* the end notice carries no keys */
	if (kr->drain) {
		/* A drain part: a piece of the final state, no keys */
		if (buf_put_u32(out, kr->drain_part) != 0 ||
		    buf_put_u32(out, kr->drain_nparts) != 0 ||
		    buf_put_string(out, kr->drain_data, kr->drain_len) != 0)
			return SEAL_ERR_OVERSIZE;
		return SEAL_OK;
	}
	if ((r = put_bytes(out, kr->session_id, kr->session_id_len, 1,
	    SEAL_SESSION_ID_MAX)) != 0 ||
	    (r = put_text(out, kr->kex_alg, 1, SEAL_NAME_MAX,
	    CHARS_TOKEN)) != 0 ||
	    (r = put_text(out, kr->hostkey_alg, 1, SEAL_NAME_MAX,
	    CHARS_TOKEN)) != 0 ||
	    (r = put_dir(out, &kr->c2s)) != 0 ||
	    (r = put_dir(out, &kr->s2c)) != 0)
		return r;
	if (!kr->has_login)
		return SEAL_OK;
	if ((r = put_text(out, kr->user, 1, SEAL_USER_MAX, CHARS_TEXT)) != 0 ||
	    (r = put_text(out, kr->auth_method, 1, SEAL_NAME_MAX,
	    CHARS_TOKEN)) != 0 ||
	    (r = put_text(out, kr->auth_options, 0, SEAL_OPTIONS_MAX,
	    CHARS_TEXT)) != 0)
		return r;
	return SEAL_OK;
}

/* A length-prefixed name into dst (size max + 1), NUL-terminated. */
static int
get_text(struct buf *b, char *dst, size_t min, size_t max, int class)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_string_direct(b, &p, &len) != 0 ||
	    len < min || len > max || !chars_ok(p, len, class))
		return SEAL_ERR_PAYLOAD;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return SEAL_OK;
}

static int
get_bytes(struct buf *b, uint8_t *dst, size_t *lenp, size_t min, size_t max)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_string_direct(b, &p, &len) != 0 || len < min || len > max)
		return SEAL_ERR_PAYLOAD;
	memcpy(dst, p, len);
	*lenp = len;
	return SEAL_OK;
}

static int
get_dir(struct buf *b, struct seal_dir *d)
{
	uint8_t strict;

	if (get_text(b, d->cipher, 1, SEAL_NAME_MAX, CHARS_TOKEN) != 0 ||
	    get_text(b, d->mac, 0, SEAL_NAME_MAX, CHARS_TOKEN) != 0 ||
	    get_text(b, d->comp, 1, SEAL_NAME_MAX, CHARS_TOKEN) != 0 ||
	    get_bytes(b, d->enc_key, &d->enc_key_len, 0,
	    SEAL_SECRET_MAX) != 0 ||
	    get_bytes(b, d->iv, &d->iv_len, 0, SEAL_SECRET_MAX) != 0 ||
	    get_bytes(b, d->mac_key, &d->mac_key_len, 0,
	    SEAL_SECRET_MAX) != 0 ||
	    buf_get_u32(b, &d->start_seqnr) != 0 ||
	    buf_get_u8(b, &strict) != 0 || strict > 1)
		return SEAL_ERR_PAYLOAD;
	d->strict_kex = strict;
	return SEAL_OK;
}

int
seal_keyrec_decode(const uint8_t *p, size_t len,
    const struct seal_header *hdr, struct seal_keyrec **krp)
{
	struct seal_keyrec *kr;
	struct buf b;
	uint8_t version, flags;
	size_t alen;
	int r = SEAL_ERR_PAYLOAD;

	*krp = NULL;
	if ((p == NULL && len > 0) || hdr == NULL)
		return SEAL_ERR_INVALID;
	if (len > SEAL_PAYLOAD_MAX)
		return SEAL_ERR_OVERSIZE;
	buf_view(&b, p, len);
	if (buf_get_u8(&b, &version) != 0)
		return SEAL_ERR_PAYLOAD;
	if (version != SEAL_KEYREC_VERSION)
		return SEAL_ERR_VERSION;
	if ((kr = seal_keyrec_new()) == NULL)
		return SEAL_ERR_NOMEM;
	if (buf_get_u8(&b, &flags) != 0 ||
	    (flags & ~(KEYREC_FLAG_LOGIN | KEYREC_FLAG_CLOSED |
	    KEYREC_FLAG_DRAIN)) != 0 ||
	    (flags & KEYREC_FLAG_LOGIN && flags & KEYREC_FLAG_CLOSED) ||
	    (flags & KEYREC_FLAG_DRAIN &&
	    flags & (KEYREC_FLAG_LOGIN | KEYREC_FLAG_CLOSED)) ||
	    buf_get_u64(&b, &kr->conn_id) != 0 ||
	    buf_get_u64(&b, &kr->counter) != 0 ||
	    buf_get_u32(&b, &kr->kex_number) != 0 ||
	    buf_get_u8(&b, &kr->family) != 0)
		goto out;
	if (kr->family == SEAL_AF_INET)
		alen = 4;
	else if (kr->family == SEAL_AF_INET6)
		alen = 16;
	else
		goto out;
	if (buf_get(&b, kr->client.addr, alen) != 0 ||
	    buf_get_u16(&b, &kr->client.port) != 0 ||
	    buf_get(&b, kr->server.addr, alen) != 0 ||
	    buf_get_u16(&b, &kr->server.port) != 0)
		goto out;
	kr->closed = (flags & KEYREC_FLAG_CLOSED) != 0;
	kr->drain = (flags & KEYREC_FLAG_DRAIN) != 0;
	if (kr->drain) {
		const uint8_t *dp;
		size_t dl;

		if (buf_get_u32(&b, &kr->drain_part) != 0 ||
		    buf_get_u32(&b, &kr->drain_nparts) != 0 ||
		    buf_get_string_direct(&b, &dp, &dl) != 0 ||
		    kr->drain_nparts < 1 ||
		    kr->drain_nparts > SEAL_DRAIN_PARTS_MAX ||
		    kr->drain_part >= kr->drain_nparts || dl < 1 ||
		    dl > SEAL_DRAIN_CHUNK_MAX)
			goto out;
		if ((kr->drain_data = malloc(dl)) == NULL) {
			r = SEAL_ERR_NOMEM;
			goto out;
		}
		memcpy(kr->drain_data, dp, dl);
		kr->drain_len = dl;
	}
	if (!kr->closed && !kr->drain && (get_bytes(&b, kr->session_id, &kr->session_id_len, 1,
	    SEAL_SESSION_ID_MAX) != 0 ||
	    get_text(&b, kr->kex_alg, 1, SEAL_NAME_MAX, CHARS_TOKEN) != 0 ||
	    get_text(&b, kr->hostkey_alg, 1, SEAL_NAME_MAX, CHARS_TOKEN) != 0 ||
	    get_dir(&b, &kr->c2s) != 0 ||
	    get_dir(&b, &kr->s2c) != 0))
		goto out;
	kr->has_login = (flags & KEYREC_FLAG_LOGIN) != 0;
	if (kr->has_login &&
	    (get_text(&b, kr->user, 1, SEAL_USER_MAX, CHARS_TEXT) != 0 ||
	    get_text(&b, kr->auth_method, 1, SEAL_NAME_MAX, CHARS_TOKEN) != 0 ||
	    get_text(&b, kr->auth_options, 0, SEAL_OPTIONS_MAX,
	    CHARS_TEXT) != 0))
		goto out;
	if (buf_len(&b) != 0)
		goto out;			/* trailing bytes */
	if (kr->conn_id != hdr->conn_id || kr->counter != hdr->counter)
		goto out;			/* payload disowns its header */
	*krp = kr;
	kr = NULL;
	r = SEAL_OK;
 out:
	seal_keyrec_free(kr);
	return r;
}

const char *
seal_strerror(int r)
{
	switch (r) {
	case SEAL_OK:			return "success";
	case SEAL_ERR_FORMAT:		return "malformed record";
	case SEAL_ERR_VERSION:		return "unsupported record version";
	case SEAL_ERR_TRUNCATED:	return "truncated record";
	case SEAL_ERR_OVERSIZE:		return "record too large";
	case SEAL_ERR_SIGNATURE:	return "bad record signature";
	case SEAL_ERR_DECRYPT:		return "record decryption failed";
	case SEAL_ERR_REPLAY:		return "replayed record";
	case SEAL_ERR_REORDER:		return "record out of order";
	case SEAL_ERR_STALE:		return "record timestamp out of range";
	case SEAL_ERR_SENDER:		return "record from unexpected sender";
	case SEAL_ERR_PAYLOAD:		return "malformed key record";
	case SEAL_ERR_KEY:		return "unusable key";
	case SEAL_ERR_PERM:		return "unsafe key file owner or mode";
	case SEAL_ERR_SYSTEM:		return "system error";
	case SEAL_ERR_CRYPTO:		return "cryptographic library error";
	case SEAL_ERR_NOMEM:		return "out of memory";
	case SEAL_ERR_INVALID:		return "invalid argument";
	default:			return "unknown error";
	}
}
