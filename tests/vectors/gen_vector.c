/*
 * gen_vector: writes the SJX1 v1 test vectors (sjx1-v1.txt for other
 * implementations, sjx1-v1.h for tests/unit/test_seal.c).  All keys are
 * derived from fixed labels, so a rerun reproduces the files byte for byte.
 * The intermediate values (shared secret, AEAD key and nonce) are computed
 * here independently of seal.c, as a cross-check of the construction.
 *
 * cc -std=c11 -D_DEFAULT_SOURCE -Isrc src/buf.c src/seal.c \
 *     tests/vectors/gen_vector.c -lcrypto -o /tmp/gen_vector
 * /tmp/gen_vector tests/vectors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

#include "buf.h"
#include "seal.h"

struct vec {
	const char	*desc;
	const char	*eph_label;
	struct seal_header hdr;
	struct seal_keyrec kr;
	/* filled in */
	uint8_t		 eph_priv[32], eph_pub[32];
	uint8_t		 shared[32], okm[44];
	struct buf	 payload, record;
};

static void
die(const char *what, int r)
{
	fprintf(stderr, "gen_vector: %s: %s\n", what, seal_strerror(r));
	exit(1);
}

static void
label_bytes(const char *label, uint8_t out[32])
{
	SHA256((const unsigned char *)label, strlen(label), out);
}

static void
pattern(uint8_t *p, size_t len, uint8_t start)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(start + i);
}

static void
hexline(FILE *f, const char *name, const uint8_t *p, size_t len)
{
	size_t i;

	fprintf(f, "%s = ", name);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fprintf(f, "\n");
}

static void
hexstr(FILE *f, const uint8_t *p, size_t len, const char *end)
{
	size_t i;

	fprintf(f, "\t    \"");
	for (i = 0; i < len; i++) {
		if (i > 0 && i % 32 == 0)
			fprintf(f, "\"\n\t    \"");
		fprintf(f, "%02x", p[i]);
	}
	fprintf(f, "\"%s\n", end);
}

static void
sample_v4(struct vec *v)
{
	struct seal_keyrec *kr = &v->kr;
	uint8_t cli[4] = { 198, 18, 0, 10 }, srv[4] = { 198, 18, 0, 1 };

	v->desc = "IPv4, first KEX, chacha20-poly1305, strict KEX, login";
	v->eph_label = "SecureJeebs test vector 1 ephemeral";
	snprintf(v->hdr.sender, sizeof(v->hdr.sender), "prod1.example");
	v->hdr.conn_id = 0x0123456789abcdefULL;
	v->hdr.counter = 0;
	v->hdr.time = 1700000000;
	kr->conn_id = v->hdr.conn_id;
	kr->counter = v->hdr.counter;
	kr->kex_number = 0;
	kr->family = SEAL_AF_INET;
	memcpy(kr->client.addr, cli, 4);
	kr->client.port = 50022;
	memcpy(kr->server.addr, srv, 4);
	kr->server.port = 22;
	label_bytes("SecureJeebs test vector 1 session_id", kr->session_id);
	kr->session_id_len = 32;
	snprintf(kr->kex_alg, sizeof(kr->kex_alg), "curve25519-sha256");
	snprintf(kr->hostkey_alg, sizeof(kr->hostkey_alg), "ssh-ed25519");
	snprintf(kr->c2s.cipher, sizeof(kr->c2s.cipher),
	    "chacha20-poly1305@openssh.com");
	snprintf(kr->c2s.comp, sizeof(kr->c2s.comp), "none");
	pattern(kr->c2s.enc_key, 64, 0x00);
	kr->c2s.enc_key_len = 64;
	kr->c2s.start_seqnr = 0;
	kr->c2s.strict_kex = 1;
	snprintf(kr->s2c.cipher, sizeof(kr->s2c.cipher),
	    "chacha20-poly1305@openssh.com");
	snprintf(kr->s2c.comp, sizeof(kr->s2c.comp), "none");
	pattern(kr->s2c.enc_key, 64, 0x80);
	kr->s2c.enc_key_len = 64;
	kr->s2c.start_seqnr = 0;
	kr->s2c.strict_kex = 1;
	kr->has_login = 1;
	snprintf(kr->user, sizeof(kr->user), "alice");
	snprintf(kr->auth_method, sizeof(kr->auth_method), "publickey");
	snprintf(kr->auth_options, sizeof(kr->auth_options),
	    "no-port-forwarding,command=\"/usr/bin/date\"");
}

static void
sample_v6(struct vec *v)
{
	struct seal_keyrec *kr = &v->kr;
	uint8_t cli[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x0a };
	uint8_t srv[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x01 };

	v->desc = "IPv6, rekey, aes256-ctr + hmac-sha2-256-etm, no login";
	v->eph_label = "SecureJeebs test vector 2 ephemeral";
	snprintf(v->hdr.sender, sizeof(v->hdr.sender), "prod1.example");
	v->hdr.conn_id = 0xfedcba9876543210ULL;
	v->hdr.counter = 1;
	v->hdr.time = 1700003600;
	kr->conn_id = v->hdr.conn_id;
	kr->counter = v->hdr.counter;
	kr->kex_number = 1;
	kr->family = SEAL_AF_INET6;
	memcpy(kr->client.addr, cli, 16);
	kr->client.port = 40000;
	memcpy(kr->server.addr, srv, 16);
	kr->server.port = 2222;
	label_bytes("SecureJeebs test vector 2 session_id", kr->session_id);
	kr->session_id_len = 32;
	snprintf(kr->kex_alg, sizeof(kr->kex_alg),
	    "sntrup761x25519-sha512@openssh.com");
	snprintf(kr->hostkey_alg, sizeof(kr->hostkey_alg), "rsa-sha2-512");
	snprintf(kr->c2s.cipher, sizeof(kr->c2s.cipher), "aes256-ctr");
	snprintf(kr->c2s.mac, sizeof(kr->c2s.mac),
	    "hmac-sha2-256-etm@openssh.com");
	snprintf(kr->c2s.comp, sizeof(kr->c2s.comp), "none");
	pattern(kr->c2s.enc_key, 32, 0x10);
	kr->c2s.enc_key_len = 32;
	pattern(kr->c2s.iv, 16, 0x30);
	kr->c2s.iv_len = 16;
	pattern(kr->c2s.mac_key, 32, 0x40);
	kr->c2s.mac_key_len = 32;
	kr->c2s.start_seqnr = 1234;
	kr->c2s.strict_kex = 0;
	snprintf(kr->s2c.cipher, sizeof(kr->s2c.cipher), "aes256-ctr");
	snprintf(kr->s2c.mac, sizeof(kr->s2c.mac),
	    "hmac-sha2-256-etm@openssh.com");
	snprintf(kr->s2c.comp, sizeof(kr->s2c.comp), "none");
	pattern(kr->s2c.enc_key, 32, 0x90);
	kr->s2c.enc_key_len = 32;
	pattern(kr->s2c.iv, 16, 0xb0);
	kr->s2c.iv_len = 16;
	pattern(kr->s2c.mac_key, 32, 0xc0);
	kr->s2c.mac_key_len = 32;
	kr->s2c.start_seqnr = 5678;
	kr->s2c.strict_kex = 0;
	kr->has_login = 0;
}

/* The construction of docs/export-format.md, without seal.c. */
static void
intermediates(struct vec *v, const uint8_t rcpt_priv[32],
    const uint8_t rcpt_pub[32], size_t hdr_len)
{
	EVP_PKEY *eph, *peer;
	EVP_PKEY_CTX *ctx;
	uint8_t salt[64];
	size_t len = 32;
	const char *label = "SecureJeebs SJX1 record v1";

	(void)rcpt_priv;
	eph = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
	    v->eph_priv, 32);
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, rcpt_pub, 32);
	ctx = EVP_PKEY_CTX_new(eph, NULL);
	if (eph == NULL || peer == NULL || ctx == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, v->shared, &len) != 1)
		die("x25519", SEAL_ERR_CRYPTO);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(peer);

	memcpy(salt, v->eph_pub, 32);
	memcpy(salt + 32, rcpt_pub, 32);
	len = sizeof(v->okm);
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, 64) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, v->shared, 32) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)label,
	    (int)strlen(label)) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, buf_ptr(&v->record),
	    (int)hdr_len) != 1 ||
	    EVP_PKEY_derive(ctx, v->okm, &len) != 1)
		die("hkdf", SEAL_ERR_CRYPTO);
	EVP_PKEY_CTX_free(ctx);
}

/* Open the record with the intermediates alone; die unless it matches. */
static void
cross_check(const struct vec *v, const uint8_t sign_pub[32], size_t hdr_len)
{
	const uint8_t *rec = buf_ptr(&v->record);
	size_t len = buf_len(&v->record), ct_len = len - hdr_len - 32 - 16 - 64;
	uint8_t pt[SEAL_PAYLOAD_MAX], fin[16];
	EVP_CIPHER_CTX *c;
	EVP_MD_CTX *md;
	EVP_PKEY *pk;
	int outl;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, sign_pub, 32);
	md = EVP_MD_CTX_new();
	if (pk == NULL || md == NULL ||
	    EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestVerify(md, rec + len - 64, 64, rec, len - 64) != 1)
		die("cross-check signature", SEAL_ERR_SIGNATURE);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL ||
	    EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL,
	    NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, v->okm, v->okm + 32) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &outl, rec, (int)hdr_len) != 1 ||
	    EVP_DecryptUpdate(c, pt, &outl, rec + hdr_len + 32,
	    (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16,
	    (void *)(rec + len - 80)) != 1 ||
	    EVP_DecryptFinal_ex(c, fin, &outl) != 1)
		die("cross-check decrypt", SEAL_ERR_DECRYPT);
	EVP_CIPHER_CTX_free(c);
	if (ct_len != buf_len(&v->payload) ||
	    memcmp(pt, buf_ptr(&v->payload), ct_len) != 0)
		die("cross-check payload", SEAL_ERR_PAYLOAD);
}

int
main(int argc, char **argv)
{
	struct vec v[2];
	struct seal_key *rcpt, *signer, *eph;
	uint8_t rcpt_priv[32], rcpt_pub[32], sign_priv[32], sign_pub[32];
	char path[4096];
	FILE *txt, *hdr;
	size_t i, n = sizeof(v) / sizeof(v[0]), hdr_len;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_vector dir\n");
		return 2;
	}
	memset(v, 0, sizeof(v));
	sample_v4(&v[0]);
	sample_v6(&v[1]);
	label_bytes("SecureJeebs test vector recipient", rcpt_priv);
	label_bytes("SecureJeebs test vector signer", sign_priv);
	if ((r = seal_key_from_raw(SEAL_KEY_X25519, rcpt_priv, NULL,
	    &rcpt)) != 0 ||
	    (r = seal_key_from_raw(SEAL_KEY_ED25519, sign_priv, NULL,
	    &signer)) != 0 ||
	    (r = seal_key_public_raw(rcpt, rcpt_pub)) != 0 ||
	    (r = seal_key_public_raw(signer, sign_pub)) != 0)
		die("keys", r);

	for (i = 0; i < n; i++) {
		label_bytes(v[i].eph_label, v[i].eph_priv);
		if ((r = seal_key_from_raw(SEAL_KEY_X25519, v[i].eph_priv,
		    NULL, &eph)) != 0 ||
		    (r = seal_key_public_raw(eph, v[i].eph_pub)) != 0)
			die("ephemeral", r);
		buf_init(&v[i].payload, SEAL_PAYLOAD_MAX);
		buf_init(&v[i].record, SEAL_RECORD_MAX);
		if ((r = seal_keyrec_encode(&v[i].kr, &v[i].payload)) != 0)
			die("encode", r);
		if ((r = seal_create_with_ephemeral(&v[i].hdr,
		    buf_ptr(&v[i].payload), buf_len(&v[i].payload), rcpt,
		    signer, eph, &v[i].record)) != 0)
			die("seal", r);
		seal_key_free(eph);
		hdr_len = 10 + 4 + strlen(v[i].hdr.sender) + 24;
		intermediates(&v[i], rcpt_priv, rcpt_pub, hdr_len);
		cross_check(&v[i], sign_pub, hdr_len);
	}

	snprintf(path, sizeof(path), "%s/sjx1-v1.txt", argv[1]);
	if ((txt = fopen(path, "w")) == NULL) {
		perror(path);
		return 1;
	}
	fprintf(txt, "# SecureJeebs export record test vectors, SJX1 v1\n"
	    "# (docs/export-format.md).  Generated by "
	    "tests/vectors/gen_vector.c: do not edit.\n"
	    "# All values hex unless noted.  TEST KEYS ONLY: each private "
	    "key is\n# SHA-256 of an ASCII label, shown in brackets.\n\n");
	fprintf(txt, "# [SecureJeebs test vector recipient]\n");
	hexline(txt, "recipient_x25519_private", rcpt_priv, 32);
	hexline(txt, "recipient_x25519_public", rcpt_pub, 32);
	fprintf(txt, "# [SecureJeebs test vector signer]\n");
	hexline(txt, "signer_ed25519_private", sign_priv, 32);
	hexline(txt, "signer_ed25519_public", sign_pub, 32);
	for (i = 0; i < n; i++) {
		fprintf(txt, "\n[vector %zu]\ndescription = %s\n", i + 1,
		    v[i].desc);
		fprintf(txt, "# [%s]\n", v[i].eph_label);
		hexline(txt, "ephemeral_x25519_private", v[i].eph_priv, 32);
		hexline(txt, "ephemeral_x25519_public", v[i].eph_pub, 32);
		fprintf(txt, "sender = %s (ASCII)\n", v[i].hdr.sender);
		fprintf(txt, "conn_id = %016llx\n",
		    (unsigned long long)v[i].hdr.conn_id);
		fprintf(txt, "counter = %llu (decimal)\n",
		    (unsigned long long)v[i].hdr.counter);
		fprintf(txt, "time = %llu (decimal)\n",
		    (unsigned long long)v[i].hdr.time);
		hexline(txt, "x25519_shared", v[i].shared, 32);
		hexline(txt, "aead_key", v[i].okm, 32);
		hexline(txt, "aead_nonce", v[i].okm + 32, 12);
		hexline(txt, "payload", buf_ptr(&v[i].payload),
		    buf_len(&v[i].payload));
		hexline(txt, "record", buf_ptr(&v[i].record),
		    buf_len(&v[i].record));
	}
	fclose(txt);

	snprintf(path, sizeof(path), "%s/sjx1-v1.h", argv[1]);
	if ((hdr = fopen(path, "w")) == NULL) {
		perror(path);
		return 1;
	}
	fprintf(hdr, "/* SJX1 v1 test vectors (sjx1-v1.txt as C). "
	    "Generated by gen_vector.c: do not edit. */\n\n"
	    "struct seal_vector {\n"
	    "\tconst char\t*eph_priv;\n\tconst char\t*sender;\n"
	    "\tuint64_t\t conn_id;\n\tuint64_t\t counter;\n"
	    "\tuint64_t\t time;\n"
	    "\tconst char\t*payload;\n\tconst char\t*record;\n};\n\n");
	fprintf(hdr, "static const char vec_recipient_priv[] =\n");
	hexstr(hdr, rcpt_priv, 32, ";");
	fprintf(hdr, "static const char vec_recipient_pub[] =\n");
	hexstr(hdr, rcpt_pub, 32, ";");
	fprintf(hdr, "static const char vec_signer_priv[] =\n");
	hexstr(hdr, sign_priv, 32, ";");
	fprintf(hdr, "static const char vec_signer_pub[] =\n");
	hexstr(hdr, sign_pub, 32, ";");
	fprintf(hdr, "\nstatic const struct seal_vector seal_vectors[] = {\n");
	for (i = 0; i < n; i++) {
		fprintf(hdr, "\t{\n");
		hexstr(hdr, v[i].eph_priv, 32, ",");
		fprintf(hdr, "\t    \"%s\",\n", v[i].hdr.sender);
		fprintf(hdr, "\t    0x%016llxULL, %llu, %llu,\n",
		    (unsigned long long)v[i].hdr.conn_id,
		    (unsigned long long)v[i].hdr.counter,
		    (unsigned long long)v[i].hdr.time);
		hexstr(hdr, buf_ptr(&v[i].payload), buf_len(&v[i].payload),
		    ",");
		hexstr(hdr, buf_ptr(&v[i].record), buf_len(&v[i].record), ",");
		fprintf(hdr, "\t},\n");
		buf_free(&v[i].payload);
		buf_free(&v[i].record);
	}
	fprintf(hdr, "};\n");
	fclose(hdr);
	seal_key_free(rcpt);
	seal_key_free(signer);
	return 0;
}
