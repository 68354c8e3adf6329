/*
 * Helpers shared by test_keystore.c and test_export.c: key records with
 * random key bytes (so that a search of the state file for them means
 * something), sealed records, key files and configurations in a temporary
 * directory.  Include after cmocka.h.
 */
#ifndef SJ_TEST_EXPORT_FIXTURE_H
#define SJ_TEST_EXPORT_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "seal.h"

#define FX_UNUSED	__attribute__((unused))

/* A key record: IPv4, aes256-gcm one way, aes128-ctr with a MAC the other. */
static FX_UNUSED void
fx_keyrec(struct seal_keyrec *kr, uint64_t conn_id, uint64_t counter,
    int login)
{
	static const uint8_t cli[4] = { 198, 18, 0, 3 };
	static const uint8_t srv[4] = { 198, 18, 0, 2 };

	memset(kr, 0, sizeof(*kr));
	kr->conn_id = conn_id;
	kr->counter = counter;
	kr->kex_number = (uint32_t)counter;
	kr->family = SEAL_AF_INET;
	memcpy(kr->client.addr, cli, sizeof(cli));
	kr->client.port = 50123;
	memcpy(kr->server.addr, srv, sizeof(srv));
	kr->server.port = 22;
	arc4random_buf(kr->session_id, 32);
	kr->session_id_len = 32;
	strcpy(kr->kex_alg, "curve25519-sha256");
	strcpy(kr->hostkey_alg, "ssh-ed25519");
	strcpy(kr->c2s.cipher, "aes256-gcm@openssh.com");
	strcpy(kr->c2s.comp, "none");
	arc4random_buf(kr->c2s.enc_key, 32);
	kr->c2s.enc_key_len = 32;
	arc4random_buf(kr->c2s.iv, 12);
	kr->c2s.iv_len = 12;
	kr->c2s.start_seqnr = 3;
	kr->c2s.strict_kex = 1;
	strcpy(kr->s2c.cipher, "aes128-ctr");
	strcpy(kr->s2c.mac, "hmac-sha2-256-etm@openssh.com");
	strcpy(kr->s2c.comp, "none");
	arc4random_buf(kr->s2c.enc_key, 16);
	kr->s2c.enc_key_len = 16;
	arc4random_buf(kr->s2c.iv, 16);
	kr->s2c.iv_len = 16;
	arc4random_buf(kr->s2c.mac_key, 32);
	kr->s2c.mac_key_len = 32;
	kr->s2c.start_seqnr = 4;
	kr->s2c.strict_kex = 1;
	if (login) {
		kr->has_login = 1;
		strcpy(kr->user, "bob");
		strcpy(kr->auth_method, "publickey");
		strcpy(kr->auth_options, "restrict,pty");
	}
}

/* The end notice of conn_id. */
static FX_UNUSED void
fx_endrec(struct seal_keyrec *kr, uint64_t conn_id, uint64_t counter)
{
	fx_keyrec(kr, conn_id, counter, 0);
	kr->closed = 1;
}

static FX_UNUSED void
fx_header(struct seal_header *hdr, const char *sender, uint64_t conn_id,
    uint64_t counter)
{
	memset(hdr, 0, sizeof(*hdr));
	snprintf(hdr->sender, sizeof(hdr->sender), "%s", sender);
	hdr->conn_id = conn_id;
	hdr->counter = counter;
	hdr->time = (uint64_t)time(NULL);
}

/* Seal kr as sender into a fresh buf (caller frees). */
static FX_UNUSED void
fx_seal(struct buf *rec, const struct seal_header *hdr,
    const struct seal_keyrec *kr, const struct seal_key *rcpt,
    const struct seal_key *signer)
{
	struct buf pl;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_keyrec_encode(kr, &pl), SEAL_OK);
	buf_init(rec, SEAL_RECORD_MAX);
	assert_int_equal(seal_create(hdr, buf_ptr(&pl), buf_len(&pl), rcpt,
	    signer, rec), SEAL_OK);
	buf_free(&pl);
}

static FX_UNUSED int
fx_memmem_file(const char *path, const void *needle, size_t len)
{
	FILE *f;
	uint8_t *data;
	long n;
	int found = 0;

	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n > 0 && (data = malloc((size_t)n)) != NULL) {
		if (fread(data, 1, (size_t)n, f) == (size_t)n)
			found = memmem(data, (size_t)n, needle, len) != NULL;
		free(data);
	}
	fclose(f);
	return found;
}

/* Non-zero if any secret byte string of kr is in the file at path. */
static FX_UNUSED int
fx_file_has_keys(const char *path, const struct seal_keyrec *kr)
{
	return fx_memmem_file(path, kr->session_id, kr->session_id_len) ||
	    fx_memmem_file(path, kr->c2s.enc_key, kr->c2s.enc_key_len) ||
	    fx_memmem_file(path, kr->c2s.iv, kr->c2s.iv_len) ||
	    fx_memmem_file(path, kr->s2c.enc_key, kr->s2c.enc_key_len) ||
	    fx_memmem_file(path, kr->s2c.iv, kr->s2c.iv_len) ||
	    fx_memmem_file(path, kr->s2c.mac_key, kr->s2c.mac_key_len);
}

#endif
