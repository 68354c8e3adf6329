/*
 * Unit tests for seal: round trips, every rejection rule of
 * docs/export-format.md, key files, and the fixed SJX1 v1 test vectors.
 */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "seal.h"

#include "../vectors/sjx1-v1.h"

struct fixture {
	struct seal_key		*rcpt;		/* recovery host, X25519 */
	struct seal_key		*signer;	/* production export key */
	struct seal_key		*other_rcpt;
	struct seal_key		*other_signer;
	struct seal_keyrec	*kr;
	struct buf		 payload;
	struct buf		 record;
};

static void
sample_keyrec(struct seal_keyrec *kr, uint64_t conn_id, uint64_t counter)
{
	static const uint8_t cli[16] = { 0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4,
	    5, 6, 7, 8, 9, 10, 11, 12 };
	static const uint8_t srv[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 1 };
	size_t i;

	memset(kr, 0, sizeof(*kr));
	kr->conn_id = conn_id;
	kr->counter = counter;
	kr->kex_number = 2;
	kr->family = SEAL_AF_INET6;
	memcpy(kr->client.addr, cli, sizeof(cli));
	kr->client.port = 61000;
	memcpy(kr->server.addr, srv, sizeof(srv));
	kr->server.port = 22;
	for (i = 0; i < 48; i++)
		kr->session_id[i] = (uint8_t)(0xa0 ^ i);
	kr->session_id_len = 48;
	strcpy(kr->kex_alg, "ecdh-sha2-nistp384");
	strcpy(kr->hostkey_alg, "ecdsa-sha2-nistp384");
	strcpy(kr->c2s.cipher, "aes128-gcm@openssh.com");
	strcpy(kr->c2s.comp, "none");
	for (i = 0; i < 16; i++)
		kr->c2s.enc_key[i] = (uint8_t)i;
	kr->c2s.enc_key_len = 16;
	for (i = 0; i < 12; i++)
		kr->c2s.iv[i] = (uint8_t)(0x40 + i);
	kr->c2s.iv_len = 12;
	kr->c2s.start_seqnr = 0xfffffffe;
	kr->c2s.strict_kex = 1;
	strcpy(kr->s2c.cipher, "aes256-cbc");
	strcpy(kr->s2c.mac, "umac-128@openssh.com");
	strcpy(kr->s2c.comp, "zlib@openssh.com");
	for (i = 0; i < 32; i++)
		kr->s2c.enc_key[i] = (uint8_t)(0x80 + i);
	kr->s2c.enc_key_len = 32;
	for (i = 0; i < 16; i++)
		kr->s2c.iv[i] = (uint8_t)(0xc0 + i);
	kr->s2c.iv_len = 16;
	for (i = 0; i < 16; i++)
		kr->s2c.mac_key[i] = (uint8_t)(0xe0 + i);
	kr->s2c.mac_key_len = 16;
	kr->s2c.start_seqnr = 7;
	kr->s2c.strict_kex = 1;
	kr->has_login = 1;
	strcpy(kr->user, "bob");
	strcpy(kr->auth_method, "keyboard-interactive");
	strcpy(kr->auth_options, "restrict,pty,from=\"198.18.0.0/24\"");
}

static void
sample_header(struct seal_header *hdr, uint64_t conn_id, uint64_t counter)
{
	memset(hdr, 0, sizeof(*hdr));
	strcpy(hdr->sender, "prod-2_a.example.org");
	hdr->conn_id = conn_id;
	hdr->counter = counter;
	hdr->time = 1750000000;
}

static void
assert_dir_equal(const struct seal_dir *a, const struct seal_dir *b)
{
	assert_string_equal(a->cipher, b->cipher);
	assert_string_equal(a->mac, b->mac);
	assert_string_equal(a->comp, b->comp);
	assert_int_equal(a->enc_key_len, b->enc_key_len);
	assert_memory_equal(a->enc_key, b->enc_key, a->enc_key_len);
	assert_int_equal(a->iv_len, b->iv_len);
	assert_memory_equal(a->iv, b->iv, a->iv_len);
	assert_int_equal(a->mac_key_len, b->mac_key_len);
	assert_memory_equal(a->mac_key, b->mac_key, a->mac_key_len);
	assert_int_equal(a->start_seqnr, b->start_seqnr);
	assert_int_equal(a->strict_kex, b->strict_kex);
}

static void
assert_keyrec_equal(const struct seal_keyrec *a, const struct seal_keyrec *b)
{
	size_t alen = a->family == SEAL_AF_INET ? 4 : 16;

	assert_true(a->conn_id == b->conn_id);
	assert_true(a->counter == b->counter);
	assert_int_equal(a->kex_number, b->kex_number);
	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->client.addr, b->client.addr, alen);
	assert_int_equal(a->client.port, b->client.port);
	assert_memory_equal(a->server.addr, b->server.addr, alen);
	assert_int_equal(a->server.port, b->server.port);
	assert_int_equal(a->session_id_len, b->session_id_len);
	assert_memory_equal(a->session_id, b->session_id, a->session_id_len);
	assert_string_equal(a->kex_alg, b->kex_alg);
	assert_string_equal(a->hostkey_alg, b->hostkey_alg);
	assert_dir_equal(&a->c2s, &b->c2s);
	assert_dir_equal(&a->s2c, &b->s2c);
	assert_int_equal(a->has_login, b->has_login);
	if (a->has_login) {
		assert_string_equal(a->user, b->user);
		assert_string_equal(a->auth_method, b->auth_method);
		assert_string_equal(a->auth_options, b->auth_options);
	}
}

static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t i, n = strlen(s) / 2;
	unsigned int v;

	assert_true(strlen(s) % 2 == 0 && n <= max);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Seal kr under hdr with the fixture's keys into a fresh record buffer. */
static void
make_record(struct fixture *f, const struct seal_header *hdr,
    const struct seal_keyrec *kr, struct buf *rec)
{
	struct buf pl;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_keyrec_encode(kr, &pl), SEAL_OK);
	buf_init(rec, SEAL_RECORD_MAX);
	assert_int_equal(seal_create(hdr, buf_ptr(&pl), buf_len(&pl),
	    f->rcpt, f->signer, rec), SEAL_OK);
	buf_free(&pl);
}

/* Open with the fixture's keys; on success decode too and return it. */
static int
open_record(struct fixture *f, const uint8_t *p, size_t len,
    struct seal_header *hdr, struct seal_keyrec **krp)
{
	struct buf pl;
	int r;

	*krp = NULL;
	buf_init(&pl, SEAL_PAYLOAD_MAX);
	r = seal_open(p, len, f->rcpt, f->signer, NULL, hdr, &pl);
	if (r != SEAL_OK)
		assert_int_equal(buf_len(&pl), 0);	/* nothing leaks out */
	else
		r = seal_keyrec_decode(buf_ptr(&pl), buf_len(&pl), hdr, krp);
	buf_free(&pl);
	return r;
}

static int
setup(void **state)
{
	struct fixture *f;
	struct seal_header hdr;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if (seal_key_generate(SEAL_KEY_X25519, &f->rcpt) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &f->signer) != 0 ||
	    seal_key_generate(SEAL_KEY_X25519, &f->other_rcpt) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &f->other_signer) != 0 ||
	    (f->kr = seal_keyrec_new()) == NULL)
		return -1;
	sample_keyrec(f->kr, 0x1122334455667788ULL, 0);
	sample_header(&hdr, 0x1122334455667788ULL, 0);
	buf_init(&f->payload, SEAL_PAYLOAD_MAX);
	buf_init(&f->record, SEAL_RECORD_MAX);
	if (seal_keyrec_encode(f->kr, &f->payload) != 0 ||
	    seal_create(&hdr, buf_ptr(&f->payload), buf_len(&f->payload),
	    f->rcpt, f->signer, &f->record) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	seal_key_free(f->rcpt);
	seal_key_free(f->signer);
	seal_key_free(f->other_rcpt);
	seal_key_free(f->other_signer);
	seal_keyrec_free(f->kr);
	buf_free(&f->payload);
	buf_free(&f->record);
	free(f);
	return 0;
}

static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr, peek;
	struct seal_keyrec *kr;
	struct buf pl;

	assert_int_equal(seal_peek_header(buf_ptr(&f->record),
	    buf_len(&f->record), &peek), SEAL_OK);
	assert_string_equal(peek.sender, "prod-2_a.example.org");

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->rcpt, f->signer, "prod-2_a.example.org", &hdr, &pl), SEAL_OK);
	assert_int_equal(buf_len(&pl), buf_len(&f->payload));
	assert_memory_equal(buf_ptr(&pl), buf_ptr(&f->payload), buf_len(&pl));
	assert_int_equal(hdr.version, SEAL_RECORD_VERSION);
	assert_int_equal(hdr.flags, 0);
	assert_string_equal(hdr.sender, "prod-2_a.example.org");
	assert_true(hdr.conn_id == 0x1122334455667788ULL);
	assert_true(hdr.counter == 0);
	assert_true(hdr.time == 1750000000);
	assert_memory_equal(&hdr, &peek, sizeof(hdr));

	assert_int_equal(seal_keyrec_decode(buf_ptr(&pl), buf_len(&pl), &hdr,
	    &kr), SEAL_OK);
	assert_keyrec_equal(kr, f->kr);
	assert_int_equal(seal_replay_check(0, 0, hdr.counter), SEAL_OK);
	seal_keyrec_free(kr);
	buf_free(&pl);
}

/* A second, IPv4 connection without login, to cover the other branches. */
static void
test_roundtrip_ipv4_nologin(void **state)
{
	struct fixture *f = *state;
	struct seal_keyrec *in, *out;
	struct seal_header hdr, got;
	struct buf rec;

	assert_non_null(in = seal_keyrec_new());
	sample_keyrec(in, 42, 5);
	in->family = SEAL_AF_INET;
	memset(in->client.addr, 0, sizeof(in->client.addr));
	memset(in->server.addr, 0, sizeof(in->server.addr));
	memcpy(in->client.addr, "\xc6\x12\x00\x0a", 4);
	memcpy(in->server.addr, "\xc6\x12\x00\x01", 4);
	in->has_login = 0;
	in->c2s.strict_kex = in->s2c.strict_kex = 0;
	sample_header(&hdr, 42, 5);
	make_record(f, &hdr, in, &rec);
	assert_int_equal(open_record(f, buf_ptr(&rec), buf_len(&rec), &got,
	    &out), SEAL_OK);
	assert_keyrec_equal(out, in);
	assert_int_equal(out->user[0], '\0');
	assert_int_equal(seal_replay_check(1, 4, got.counter), SEAL_OK);
	seal_keyrec_free(out);
	seal_keyrec_free(in);
	buf_free(&rec);
}

/* The end notice: endpoints only, no key material; login not allowed. */
static void
test_closed_notice(void **state)
{
	struct fixture *f = *state;
	struct seal_keyrec *in, *out;
	struct seal_header hdr, got;
	struct buf rec, pl;

	assert_non_null(in = seal_keyrec_new());
	sample_keyrec(in, 77, 3);
	in->has_login = 0;
	in->closed = 1;
	sample_header(&hdr, 77, 3);
	make_record(f, &hdr, in, &rec);
	assert_int_equal(open_record(f, buf_ptr(&rec), buf_len(&rec), &got,
	    &out), SEAL_OK);
	assert_int_equal(out->closed, 1);
	assert_int_equal(out->conn_id, 77);
	assert_int_equal(out->client.port, in->client.port);
	/* Nothing secret travels in an end notice. */
	assert_int_equal(out->session_id_len, 0);
	assert_int_equal(out->c2s.enc_key_len, 0);
	assert_int_equal(out->s2c.mac_key_len, 0);
	assert_int_equal(out->kex_alg[0], '\0');
	seal_keyrec_free(out);
	buf_free(&rec);
	/* Closed and login together are refused by the encoder. */
	in->has_login = 1;
	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_keyrec_encode(in, &pl), SEAL_ERR_INVALID);
	buf_free(&pl);
	seal_keyrec_free(in);
}

/* Two seals of the same payload differ (fresh ephemeral key each time). */
static void
test_nondeterministic(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf a, b;

	sample_header(&hdr, 1, 0);
	make_record(f, &hdr, f->kr, &a);
	make_record(f, &hdr, f->kr, &b);
	assert_int_equal(buf_len(&a), buf_len(&b));
	assert_memory_not_equal(buf_ptr(&a), buf_ptr(&b), buf_len(&a));
	buf_free(&a);
	buf_free(&b);
}

static void
test_payload_sizes(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr, got;
	struct buf rec, pl;
	uint8_t *big;

	assert_non_null(big = malloc(SEAL_PAYLOAD_MAX + 1));
	memset(big, 0x5a, SEAL_PAYLOAD_MAX + 1);
	sample_header(&hdr, 7, 0);
	/* The longest sender with the largest payload still fits. */
	memset(hdr.sender, 'x', SEAL_SENDER_MAX);
	hdr.sender[SEAL_SENDER_MAX] = '\0';

	buf_init(&rec, SEAL_RECORD_MAX);
	assert_int_equal(seal_create(&hdr, big, SEAL_PAYLOAD_MAX, f->rcpt,
	    f->signer, &rec), SEAL_OK);
	assert_true(buf_len(&rec) <= SEAL_RECORD_MAX);
	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&rec), buf_len(&rec), f->rcpt,
	    f->signer, NULL, &got, &pl), SEAL_OK);
	assert_int_equal(buf_len(&pl), SEAL_PAYLOAD_MAX);
	assert_memory_equal(buf_ptr(&pl), big, SEAL_PAYLOAD_MAX);
	buf_free(&pl);
	buf_free(&rec);

	/* Empty payload: allowed by the envelope, refused by the decoder. */
	buf_init(&rec, SEAL_RECORD_MAX);
	assert_int_equal(seal_create(&hdr, NULL, 0, f->rcpt, f->signer, &rec),
	    SEAL_OK);
	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&rec), buf_len(&rec), f->rcpt,
	    f->signer, NULL, &got, &pl), SEAL_OK);
	assert_int_equal(buf_len(&pl), 0);
	buf_free(&pl);
	buf_free(&rec);

	/* One byte more is refused before anything is produced. */
	buf_init(&rec, SEAL_RECORD_MAX);
	assert_int_equal(seal_create(&hdr, big, SEAL_PAYLOAD_MAX + 1, f->rcpt,
	    f->signer, &rec), SEAL_ERR_OVERSIZE);
	assert_int_equal(buf_len(&rec), 0);
	buf_free(&rec);
	free(big);
}

static void
test_wrong_recipient(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->other_rcpt, f->signer, NULL, &hdr, &pl), SEAL_ERR_DECRYPT);
	assert_int_equal(buf_len(&pl), 0);
	buf_free(&pl);
}

static void
test_wrong_signer(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->rcpt, f->other_signer, NULL, &hdr, &pl), SEAL_ERR_SIGNATURE);
	/* Signature first: with a wrong recipient too, it is the signature. */
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->other_rcpt, f->other_signer, NULL, &hdr, &pl),
	    SEAL_ERR_SIGNATURE);
	assert_int_equal(buf_len(&pl), 0);
	buf_free(&pl);
}

static void
test_wrong_sender(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->rcpt, f->signer, "prod-3", &hdr, &pl), SEAL_ERR_SENDER);
	assert_int_equal(buf_len(&pl), 0);
	buf_free(&pl);
}

static void
test_wrong_key_types(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct seal_key *pub;
	struct buf pl, rec;
	uint8_t raw[SEAL_PUBKEY_LEN];

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->signer, f->signer, NULL, &hdr, &pl), SEAL_ERR_KEY);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    f->rcpt, f->rcpt, NULL, &hdr, &pl), SEAL_ERR_KEY);
	/* A public-only recipient key cannot open. */
	assert_int_equal(seal_key_public_raw(f->rcpt, raw), SEAL_OK);
	assert_int_equal(seal_key_from_raw(SEAL_KEY_X25519, NULL, raw, &pub),
	    SEAL_OK);
	assert_false(seal_key_is_private(pub));
	assert_int_equal(seal_key_type(pub), SEAL_KEY_X25519);
	assert_int_equal(seal_open(buf_ptr(&f->record), buf_len(&f->record),
	    pub, f->signer, NULL, &hdr, &pl), SEAL_ERR_KEY);
	seal_key_free(pub);
	/* A public-only signing key cannot seal. */
	assert_int_equal(seal_key_public_raw(f->signer, raw), SEAL_OK);
	assert_int_equal(seal_key_from_raw(SEAL_KEY_ED25519, NULL, raw, &pub),
	    SEAL_OK);
	buf_init(&rec, SEAL_RECORD_MAX);
	sample_header(&hdr, 1, 0);
	assert_int_equal(seal_create(&hdr, buf_ptr(&f->payload),
	    buf_len(&f->payload), f->rcpt, pub, &rec), SEAL_ERR_KEY);
	seal_key_free(pub);
	/* A low-order recipient point gives an all-zero secret: refused. */
	memset(raw, 0, sizeof(raw));
	assert_int_equal(seal_key_from_raw(SEAL_KEY_X25519, NULL, raw, &pub),
	    SEAL_OK);
	assert_int_equal(seal_create(&hdr, buf_ptr(&f->payload),
	    buf_len(&f->payload), pub, f->signer, &rec), SEAL_ERR_KEY);
	assert_int_equal(buf_len(&rec), 0);
	seal_key_free(pub);
	buf_free(&rec);
	buf_free(&pl);
}

/* Every single-bit change anywhere in a record must be rejected. */
static void
test_bitflip_every_bit(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;
	uint8_t *copy;
	size_t len = buf_len(&f->record), hdr_len, i;
	int bit, r;

	hdr_len = 10 + 4 + strlen("prod-2_a.example.org") + 24;
	assert_non_null(copy = malloc(len));
	memcpy(copy, buf_ptr(&f->record), len);
	buf_init(&pl, SEAL_PAYLOAD_MAX);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			copy[i] ^= (uint8_t)(1 << bit);
			r = seal_open(copy, len, f->rcpt, f->signer, NULL,
			    &hdr, &pl);
			copy[i] ^= (uint8_t)(1 << bit);
			if (r == SEAL_OK)
				fail_msg("flip of byte %zu bit %d accepted",
				    i, bit);
			assert_int_equal(buf_len(&pl), 0);
			if (i >= hdr_len)
				assert_int_equal(r, SEAL_ERR_SIGNATURE);
			else
				assert_true(r == SEAL_ERR_FORMAT ||
				    r == SEAL_ERR_VERSION ||
				    r == SEAL_ERR_TRUNCATED ||
				    r == SEAL_ERR_OVERSIZE ||
				    r == SEAL_ERR_SIGNATURE);
		}
	}
	/* Unchanged, it still opens. */
	assert_int_equal(seal_open(copy, len, f->rcpt, f->signer, NULL, &hdr,
	    &pl), SEAL_OK);
	buf_free(&pl);
	free(copy);
}

static void
test_truncated(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;
	uint8_t *copy;
	size_t len = buf_len(&f->record), n, total;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_non_null(copy = malloc(len + 1));
	memcpy(copy, buf_ptr(&f->record), len);
	for (n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so ASan sees any overread. */
		uint8_t *cut = malloc(n + 1);

		assert_non_null(cut);
		memcpy(cut, copy, n);
		assert_int_equal(seal_open(cut, n, f->rcpt,
		    f->signer, NULL, &hdr, &pl), SEAL_ERR_TRUNCATED);
		assert_int_equal(seal_peek_header(cut, n, &hdr),
		    SEAL_ERR_TRUNCATED);
		free(cut);
	}
	assert_int_equal(buf_len(&pl), 0);
	/* Framing helper: needs 10 bytes, then knows the total. */
	assert_int_equal(seal_record_length(copy, 9, &total),
	    SEAL_ERR_TRUNCATED);
	assert_int_equal(seal_record_length(copy, 10, &total), SEAL_OK);
	assert_int_equal(total, len);
	/* One trailing byte is malformed, not ignored. */
	copy[len] = 0;
	assert_int_equal(seal_open(copy, len + 1, f->rcpt, f->signer, NULL,
	    &hdr, &pl), SEAL_ERR_FORMAT);
	buf_free(&pl);
	free(copy);
}

/*
 * A daemon's view of one connection: last accepted counter, updated only
 * when a record passed every check.
 */
struct conn_state {
	int		have_last;
	uint64_t	last;
};

static int
accept_record(struct fixture *f, struct conn_state *cs, const struct buf *rec)
{
	struct seal_header hdr;
	struct seal_keyrec *kr;
	int r;

	if ((r = open_record(f, buf_ptr(rec), buf_len(rec), &hdr, &kr)) != 0)
		return r;
	seal_keyrec_free(kr);
	if ((r = seal_replay_check(cs->have_last, cs->last, hdr.counter)) != 0)
		return r;
	cs->have_last = 1;
	cs->last = hdr.counter;
	return SEAL_OK;
}

static void
test_replay(void **state)
{
	struct fixture *f = *state;
	struct conn_state cs = { 0, 0 };
	struct seal_keyrec kr;
	struct seal_header hdr;
	struct buf rec[3];
	int i;

	for (i = 0; i < 3; i++) {
		sample_keyrec(&kr, 99, (uint64_t)i);
		sample_header(&hdr, 99, (uint64_t)i);
		make_record(f, &hdr, &kr, &rec[i]);
	}
	assert_int_equal(accept_record(f, &cs, &rec[0]), SEAL_OK);
	assert_int_equal(accept_record(f, &cs, &rec[0]), SEAL_ERR_REPLAY);
	assert_int_equal(accept_record(f, &cs, &rec[1]), SEAL_OK);
	assert_int_equal(accept_record(f, &cs, &rec[1]), SEAL_ERR_REPLAY);
	assert_int_equal(accept_record(f, &cs, &rec[0]), SEAL_ERR_REPLAY);
	assert_int_equal(accept_record(f, &cs, &rec[2]), SEAL_OK);
	assert_int_equal(accept_record(f, &cs, &rec[2]), SEAL_ERR_REPLAY);
	assert_true(cs.last == 2);
	for (i = 0; i < 3; i++)
		buf_free(&rec[i]);
	explicit_bzero(&kr, sizeof(kr));

	assert_int_equal(seal_replay_check(1, UINT64_MAX, UINT64_MAX),
	    SEAL_ERR_REPLAY);
	assert_int_equal(seal_replay_check(1, 10, 0), SEAL_ERR_REPLAY);
}

static void
test_reorder(void **state)
{
	struct fixture *f = *state;
	struct conn_state cs = { 0, 0 };
	struct seal_keyrec kr;
	struct seal_header hdr;
	struct buf rec[3];
	int i;

	for (i = 0; i < 3; i++) {
		sample_keyrec(&kr, 77, (uint64_t)i);
		sample_header(&hdr, 77, (uint64_t)i);
		make_record(f, &hdr, &kr, &rec[i]);
	}
	/* A connection's first record must be counter 0. */
	assert_int_equal(accept_record(f, &cs, &rec[1]), SEAL_ERR_REORDER);
	assert_int_equal(cs.have_last, 0);
	assert_int_equal(accept_record(f, &cs, &rec[0]), SEAL_OK);
	/* Skipping 1 is refused, and does not move the window. */
	assert_int_equal(accept_record(f, &cs, &rec[2]), SEAL_ERR_REORDER);
	assert_true(cs.last == 0);
	assert_int_equal(accept_record(f, &cs, &rec[1]), SEAL_OK);
	assert_int_equal(accept_record(f, &cs, &rec[2]), SEAL_OK);
	for (i = 0; i < 3; i++)
		buf_free(&rec[i]);
	explicit_bzero(&kr, sizeof(kr));
	assert_int_equal(seal_replay_check(1, 5, 7), SEAL_ERR_REORDER);
	assert_int_equal(seal_replay_check(1, 5, 6), SEAL_OK);
}

static void
test_oversize(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;
	uint8_t *big;
	size_t total;

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	/* A valid record followed by junk up to one byte over the limit. */
	assert_non_null(big = calloc(1, SEAL_RECORD_MAX + 1));
	memcpy(big, buf_ptr(&f->record), buf_len(&f->record));
	assert_int_equal(seal_open(big, SEAL_RECORD_MAX + 1, f->rcpt,
	    f->signer, NULL, &hdr, &pl), SEAL_ERR_OVERSIZE);
	assert_int_equal(seal_peek_header(big, SEAL_RECORD_MAX + 1, &hdr),
	    SEAL_ERR_OVERSIZE);
	/* A header claiming more than the limit. */
	big[6] = 0x00; big[7] = 0x00; big[8] = 0x40; big[9] = 0x01;
	assert_int_equal(seal_record_length(big, 10, &total),
	    SEAL_ERR_OVERSIZE);
	assert_int_equal(seal_open(big, SEAL_RECORD_MAX, f->rcpt, f->signer,
	    NULL, &hdr, &pl), SEAL_ERR_OVERSIZE);
	assert_int_equal(buf_len(&pl), 0);
	buf_free(&pl);
	free(big);
}

static void
test_header_format(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf pl;
	uint8_t *copy;
	size_t len = buf_len(&f->record);

	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_non_null(copy = malloc(len));
#define RESET()	memcpy(copy, buf_ptr(&f->record), len)
	RESET();
	copy[0] = 'X';
	assert_int_equal(seal_open(copy, len, f->rcpt, f->signer, NULL, &hdr,
	    &pl), SEAL_ERR_FORMAT);
	RESET();
	copy[4] = 2;
	assert_int_equal(seal_open(copy, len, f->rcpt, f->signer, NULL, &hdr,
	    &pl), SEAL_ERR_VERSION);
	RESET();
	copy[5] = 1;
	assert_int_equal(seal_open(copy, len, f->rcpt, f->signer, NULL, &hdr,
	    &pl), SEAL_ERR_FORMAT);
	RESET();
	copy[14] = ' ';			/* sender character */
	assert_int_equal(seal_open(copy, len, f->rcpt, f->signer, NULL, &hdr,
	    &pl), SEAL_ERR_FORMAT);
	RESET();
	copy[13] = 0;			/* sender length 0 */
	assert_int_equal(seal_open(copy, len, f->rcpt, f->signer, NULL, &hdr,
	    &pl), SEAL_ERR_FORMAT);
#undef RESET
	assert_int_equal(buf_len(&pl), 0);
	buf_free(&pl);
	free(copy);
}

static void
test_create_rejects(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr;
	struct buf rec;

	buf_init(&rec, SEAL_RECORD_MAX);
	sample_header(&hdr, 1, 0);
	hdr.sender[0] = '\0';
	assert_int_equal(seal_create(&hdr, buf_ptr(&f->payload),
	    buf_len(&f->payload), f->rcpt, f->signer, &rec), SEAL_ERR_INVALID);
	strcpy(hdr.sender, "bad name");
	assert_int_equal(seal_create(&hdr, buf_ptr(&f->payload),
	    buf_len(&f->payload), f->rcpt, f->signer, &rec), SEAL_ERR_INVALID);
	memset(hdr.sender, 'a', sizeof(hdr.sender));	/* unterminated */
	assert_int_equal(seal_create(&hdr, buf_ptr(&f->payload),
	    buf_len(&f->payload), f->rcpt, f->signer, &rec), SEAL_ERR_INVALID);
	assert_int_equal(buf_len(&rec), 0);
	buf_free(&rec);
}

/*
 * An independent encoder of payload v1 (docs/export-format.md), with one
 * deliberate defect per mutation.
 */
enum mutation {
	M_NONE, M_VERSION, M_FLAGS, M_FAMILY, M_EMPTY_SESSION, M_LONG_SESSION,
	M_LONG_KEY, M_EMPTY_CIPHER, M_LONG_NAME, M_SPACE_IN_NAME, M_NUL_IN_NAME,
	M_STRICT_2, M_NEWLINE_IN_USER, M_LONG_USER, M_LONG_OPTIONS,
	M_STRING_PAST_END, M_TRAILING, M_CONN_ID, M_COUNTER, M_COUNT
};

static void
put_str(struct buf *b, const void *p, size_t len)
{
	assert_int_equal(buf_put_string(b, p, len), 0);
}

static void
put_name(struct buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static void
enc_dir(struct buf *b, const struct seal_dir *d, enum mutation m)
{
	char long_name[SEAL_NAME_MAX + 2];
	uint8_t key[SEAL_SECRET_MAX + 1];

	memset(long_name, 'a', SEAL_NAME_MAX + 1);
	long_name[SEAL_NAME_MAX + 1] = '\0';

	if (m == M_EMPTY_CIPHER)
		put_name(b, "");
	else if (m == M_LONG_NAME)
		put_name(b, long_name);
	else if (m == M_SPACE_IN_NAME)
		put_name(b, "aes128 ctr");
	else if (m == M_NUL_IN_NAME)
		put_str(b, "aes128\0ctr", 10);
	else
		put_name(b, d->cipher);
	put_name(b, d->mac);
	put_name(b, d->comp);
	if (m == M_LONG_KEY) {
		memset(key, 1, sizeof(key));
		put_str(b, key, sizeof(key));
	} else
		put_str(b, d->enc_key, d->enc_key_len);
	put_str(b, d->iv, d->iv_len);
	put_str(b, d->mac_key, d->mac_key_len);
	assert_int_equal(buf_put_u32(b, d->start_seqnr), 0);
	assert_int_equal(buf_put_u8(b, m == M_STRICT_2 ? 2 :
	    (uint8_t)d->strict_kex), 0);
}

static void
enc_payload(struct buf *b, const struct seal_keyrec *kr, enum mutation m)
{
	size_t alen = kr->family == SEAL_AF_INET ? 4 : 16;
	char *big;

	assert_int_equal(buf_put_u8(b, m == M_VERSION ? 2 : 1), 0);
	assert_int_equal(buf_put_u8(b, (kr->has_login ? 1 : 0) |
	    (m == M_FLAGS ? 0x02 : 0)), 0);
	assert_int_equal(buf_put_u64(b, kr->conn_id + (m == M_CONN_ID)), 0);
	assert_int_equal(buf_put_u64(b, kr->counter + (m == M_COUNTER)), 0);
	assert_int_equal(buf_put_u32(b, kr->kex_number), 0);
	assert_int_equal(buf_put_u8(b, m == M_FAMILY ? 5 : kr->family), 0);
	assert_int_equal(buf_put(b, kr->client.addr, alen), 0);
	assert_int_equal(buf_put_u16(b, kr->client.port), 0);
	assert_int_equal(buf_put(b, kr->server.addr, alen), 0);
	assert_int_equal(buf_put_u16(b, kr->server.port), 0);
	if (m == M_EMPTY_SESSION)
		put_str(b, "", 0);
	else if (m == M_LONG_SESSION) {
		uint8_t sid[SEAL_SESSION_ID_MAX + 1] = { 0 };
		put_str(b, sid, sizeof(sid));
	} else
		put_str(b, kr->session_id, kr->session_id_len);
	put_name(b, kr->kex_alg);
	put_name(b, kr->hostkey_alg);
	enc_dir(b, &kr->c2s, m);
	enc_dir(b, &kr->s2c, M_NONE);
	if (kr->has_login) {
		if (m == M_NEWLINE_IN_USER)
			put_name(b, "bob\nroot");
		else if (m == M_LONG_USER) {
			assert_non_null(big = calloc(1, SEAL_USER_MAX + 2));
			memset(big, 'u', SEAL_USER_MAX + 1);
			put_name(b, big);
			free(big);
		} else
			put_name(b, kr->user);
		put_name(b, kr->auth_method);
		if (m == M_LONG_OPTIONS) {
			assert_non_null(big = calloc(1, SEAL_OPTIONS_MAX + 2));
			memset(big, 'o', SEAL_OPTIONS_MAX + 1);
			put_name(b, big);
			free(big);
		} else if (m == M_STRING_PAST_END) {
			/* Claims 100 bytes, has 3. */
			assert_int_equal(buf_put_u32(b, 100), 0);
			assert_int_equal(buf_put(b, "abc", 3), 0);
		} else
			put_name(b, kr->auth_options);
	}
	if (m == M_TRAILING)
		assert_int_equal(buf_put_u8(b, 0), 0);
}

static void
test_payload_encoding_matches_spec(void **state)
{
	struct fixture *f = *state;
	struct buf b;

	buf_init(&b, SEAL_PAYLOAD_MAX);
	enc_payload(&b, f->kr, M_NONE);
	assert_int_equal(buf_len(&b), buf_len(&f->payload));
	assert_memory_equal(buf_ptr(&b), buf_ptr(&f->payload), buf_len(&b));
	buf_free(&b);
}

/* Each malformed payload, correctly sealed and signed, fails to decode. */
static void
test_malformed_payload(void **state)
{
	struct fixture *f = *state;
	struct seal_header hdr, got;
	struct seal_keyrec *kr;
	struct buf pl, rec, opened;
	size_t n;
	int m;

	sample_header(&hdr, f->kr->conn_id, f->kr->counter);
	for (m = M_VERSION; m < M_COUNT; m++) {
		buf_init(&pl, SEAL_PAYLOAD_MAX);
		buf_init(&rec, SEAL_RECORD_MAX);
		buf_init(&opened, SEAL_PAYLOAD_MAX);
		enc_payload(&pl, f->kr, (enum mutation)m);
		assert_int_equal(seal_create(&hdr, buf_ptr(&pl), buf_len(&pl),
		    f->rcpt, f->signer, &rec), SEAL_OK);
		assert_int_equal(seal_open(buf_ptr(&rec), buf_len(&rec),
		    f->rcpt, f->signer, NULL, &got, &opened), SEAL_OK);
		kr = (struct seal_keyrec *)1;
		assert_int_equal(seal_keyrec_decode(buf_ptr(&opened),
		    buf_len(&opened), &got, &kr),
		    m == M_VERSION ? SEAL_ERR_VERSION : SEAL_ERR_PAYLOAD);
		assert_null(kr);
		buf_free(&pl);
		buf_free(&rec);
		buf_free(&opened);
	}
	/* Every proper prefix of a good payload is malformed. */
	for (n = 0; n < buf_len(&f->payload); n++) {
		uint8_t *cut = malloc(n + 1);

		assert_non_null(cut);
		memcpy(cut, buf_ptr(&f->payload), n);
		assert_int_equal(seal_keyrec_decode(cut, n, &hdr, &kr),
		    SEAL_ERR_PAYLOAD);
		free(cut);
	}
}

static void
test_encode_rejects(void **state)
{
	struct fixture *f = *state;
	struct seal_keyrec *kr;
	struct buf b;

	assert_non_null(kr = seal_keyrec_new());
	buf_init(&b, SEAL_PAYLOAD_MAX);
#define TRY(change) do {						\
		*kr = *f->kr;						\
		change;							\
		buf_reset(&b);						\
		assert_int_equal(seal_keyrec_encode(kr, &b),		\
		    SEAL_ERR_INVALID);					\
	} while (0)
	TRY(kr->family = 5);
	TRY(kr->session_id_len = 0);
	TRY(kr->session_id_len = SEAL_SESSION_ID_MAX + 1);
	TRY(kr->c2s.enc_key_len = SEAL_SECRET_MAX + 1);
	TRY(kr->s2c.iv_len = SEAL_SECRET_MAX + 1);
	TRY(kr->s2c.mac_key_len = SEAL_SECRET_MAX + 1);
	TRY(kr->c2s.strict_kex = 2);
	TRY(kr->kex_alg[0] = '\0');
	TRY(strcpy(kr->hostkey_alg, "ssh ed25519"));
	TRY(memset(kr->c2s.cipher, 'c', sizeof(kr->c2s.cipher)));
	TRY(strcpy(kr->user, "bob\n"));
	TRY(kr->user[0] = '\0');
	TRY(kr->has_login = 2);
	TRY(memset(kr->auth_options, 'o', sizeof(kr->auth_options)));
#undef TRY
	buf_free(&b);
	seal_keyrec_free(kr);
}

static void
test_vectors(void **state)
{
	struct seal_key *rcpt, *signer, *eph;
	struct seal_header hdr, vh;
	struct seal_keyrec *kr;
	struct buf pl, rec;
	uint8_t raw[32], pub[32], want_pub[32];
	uint8_t payload[SEAL_PAYLOAD_MAX], record[SEAL_RECORD_MAX];
	size_t i, plen, rlen;

	(void)state;
	unhex(vec_recipient_priv, raw, sizeof(raw));
	assert_int_equal(seal_key_from_raw(SEAL_KEY_X25519, raw, NULL, &rcpt),
	    SEAL_OK);
	unhex(vec_recipient_pub, want_pub, sizeof(want_pub));
	assert_int_equal(seal_key_public_raw(rcpt, pub), SEAL_OK);
	assert_memory_equal(pub, want_pub, 32);
	unhex(vec_signer_priv, raw, sizeof(raw));
	assert_int_equal(seal_key_from_raw(SEAL_KEY_ED25519, raw, NULL,
	    &signer), SEAL_OK);
	unhex(vec_signer_pub, want_pub, sizeof(want_pub));
	assert_int_equal(seal_key_public_raw(signer, pub), SEAL_OK);
	assert_memory_equal(pub, want_pub, 32);
	explicit_bzero(raw, sizeof(raw));

	for (i = 0; i < sizeof(seal_vectors) / sizeof(seal_vectors[0]); i++) {
		const struct seal_vector *v = &seal_vectors[i];

		plen = unhex(v->payload, payload, sizeof(payload));
		rlen = unhex(v->record, record, sizeof(record));
		/* Open it with the pinned public signing key only. */
		{
			struct seal_key *spub;

			assert_int_equal(seal_key_from_raw(SEAL_KEY_ED25519,
			    NULL, want_pub, &spub), SEAL_OK);
			buf_init(&pl, SEAL_PAYLOAD_MAX);
			assert_int_equal(seal_open(record, rlen, rcpt, spub,
			    v->sender, &hdr, &pl), SEAL_OK);
			seal_key_free(spub);
		}
		assert_int_equal(buf_len(&pl), plen);
		assert_memory_equal(buf_ptr(&pl), payload, plen);
		assert_string_equal(hdr.sender, v->sender);
		assert_true(hdr.conn_id == v->conn_id);
		assert_true(hdr.counter == v->counter);
		assert_true(hdr.time == v->time);
		assert_int_equal(seal_keyrec_decode(buf_ptr(&pl), buf_len(&pl),
		    &hdr, &kr), SEAL_OK);
		assert_true(kr->conn_id == v->conn_id);
		if (i == 0) {
			assert_int_equal(kr->family, SEAL_AF_INET);
			assert_int_equal(kr->server.port, 22);
			assert_string_equal(kr->c2s.cipher,
			    "chacha20-poly1305@openssh.com");
			assert_int_equal(kr->c2s.enc_key_len, 64);
			assert_int_equal(kr->s2c.enc_key[0], 0x80);
			assert_true(kr->c2s.strict_kex && kr->s2c.strict_kex);
			assert_true(kr->has_login);
			assert_string_equal(kr->user, "alice");
		} else {
			assert_int_equal(kr->family, SEAL_AF_INET6);
			assert_int_equal(kr->kex_number, 1);
			assert_int_equal(kr->s2c.start_seqnr, 5678);
			assert_string_equal(kr->s2c.mac,
			    "hmac-sha2-256-etm@openssh.com");
			assert_false(kr->has_login);
		}
		seal_keyrec_free(kr);
		buf_free(&pl);

		/* Sealing with the same ephemeral key gives the same bytes. */
		unhex(v->eph_priv, raw, sizeof(raw));
		assert_int_equal(seal_key_from_raw(SEAL_KEY_X25519, raw, NULL,
		    &eph), SEAL_OK);
		explicit_bzero(raw, sizeof(raw));
		memset(&vh, 0, sizeof(vh));
		strcpy(vh.sender, v->sender);
		vh.conn_id = v->conn_id;
		vh.counter = v->counter;
		vh.time = v->time;
		buf_init(&rec, SEAL_RECORD_MAX);
		assert_int_equal(seal_create_with_ephemeral(&vh, payload, plen,
		    rcpt, signer, eph, &rec), SEAL_OK);
		assert_int_equal(buf_len(&rec), rlen);
		assert_memory_equal(buf_ptr(&rec), record, rlen);
		buf_free(&rec);
		seal_key_free(eph);
	}
	seal_key_free(rcpt);
	seal_key_free(signer);
}

static void
test_age(void **state)
{
	struct seal_header hdr;

	(void)state;
	sample_header(&hdr, 1, 0);
	hdr.time = 1000;
	assert_int_equal(seal_age_check(&hdr, 1000, 60), SEAL_OK);
	assert_int_equal(seal_age_check(&hdr, 1060, 60), SEAL_OK);
	assert_int_equal(seal_age_check(&hdr, 1061, 60), SEAL_ERR_STALE);
	assert_int_equal(seal_age_check(&hdr, 939, 60), SEAL_ERR_STALE);
	assert_int_equal(seal_age_check(&hdr, 999999, 0), SEAL_OK);
}

static void
test_strerror(void **state)
{
	int a, b;

	(void)state;
	for (a = SEAL_ERR_INVALID; a <= SEAL_OK; a++) {
		assert_string_not_equal(seal_strerror(a), "unknown error");
		for (b = a + 1; b <= SEAL_OK; b++)
			assert_string_not_equal(seal_strerror(a),
			    seal_strerror(b));
	}
	assert_string_equal(seal_strerror(-1000), "unknown error");
}

/* Key files */

static char tmpdir[64];

static void
tmp_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

static int
key_setup(void **state)
{
	int r = setup(state);

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_seal.XXXXXX");
	if (r != 0 || mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
key_teardown(void **state)
{
	const char *names[] = { "rcpt", "rcpt.pub", "sign", "sign.pub",
	    "garbage", NULL };
	char path[128];
	int i;

	for (i = 0; names[i] != NULL; i++) {
		tmp_path(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	return teardown(state);
}

static void
test_key_files(void **state)
{
	struct fixture *f = *state;
	struct seal_key *rcpt, *rcpt_pub, *sign, *sign_pub;
	struct seal_header hdr;
	struct stat st;
	struct buf rec, pl;
	char prcpt[128], prcpt_pub[128], psign[128], psign_pub[128];
	uint8_t a[32], b[32];
	mode_t old = umask(0);

	tmp_path(prcpt, sizeof(prcpt), "rcpt");
	tmp_path(prcpt_pub, sizeof(prcpt_pub), "rcpt.pub");
	tmp_path(psign, sizeof(psign), "sign");
	tmp_path(psign_pub, sizeof(psign_pub), "sign.pub");

	/* Written with exact modes whatever the umask. */
	assert_int_equal(seal_key_save_private(f->rcpt, prcpt), SEAL_OK);
	assert_int_equal(seal_key_save_public(f->rcpt, prcpt_pub), SEAL_OK);
	assert_int_equal(seal_key_save_private(f->signer, psign), SEAL_OK);
	umask(0777);
	assert_int_equal(seal_key_save_public(f->signer, psign_pub), SEAL_OK);
	umask(old);
	assert_int_equal(stat(prcpt, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(psign_pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* Never overwrites. */
	errno = 0;
	assert_int_equal(seal_key_save_private(f->rcpt, prcpt),
	    SEAL_ERR_SYSTEM);
	assert_int_equal(errno, EEXIST);
	/* A public-only key has no private file. */
	assert_int_equal(seal_key_load_public(prcpt_pub, SEAL_KEY_X25519,
	    &rcpt_pub), SEAL_OK);
	assert_int_equal(seal_key_save_private(rcpt_pub, "/nonexistent/x"),
	    SEAL_ERR_KEY);

	/* Load and use: the daemon's side (recipient private, signer pub). */
	assert_int_equal(seal_key_load_private(prcpt, SEAL_KEY_X25519, &rcpt),
	    SEAL_OK);
	assert_int_equal(seal_key_load_private(psign, SEAL_KEY_ED25519, &sign),
	    SEAL_OK);
	assert_int_equal(seal_key_load_public(psign_pub, SEAL_KEY_ED25519,
	    &sign_pub), SEAL_OK);
	assert_true(seal_key_is_private(rcpt));
	assert_false(seal_key_is_private(sign_pub));
	assert_int_equal(seal_key_public_raw(rcpt, a), SEAL_OK);
	assert_int_equal(seal_key_public_raw(f->rcpt, b), SEAL_OK);
	assert_memory_equal(a, b, 32);
	sample_header(&hdr, 5, 0);
	buf_init(&rec, SEAL_RECORD_MAX);
	assert_int_equal(seal_create(&hdr, buf_ptr(&f->payload),
	    buf_len(&f->payload), rcpt_pub, sign, &rec), SEAL_OK);
	buf_init(&pl, SEAL_PAYLOAD_MAX);
	assert_int_equal(seal_open(buf_ptr(&rec), buf_len(&rec), rcpt,
	    sign_pub, NULL, &hdr, &pl), SEAL_OK);
	assert_memory_equal(buf_ptr(&pl), buf_ptr(&f->payload), buf_len(&pl));
	buf_free(&pl);
	buf_free(&rec);
	seal_key_free(rcpt);
	seal_key_free(rcpt_pub);
	seal_key_free(sign);
	seal_key_free(sign_pub);

	/* Wrong type in the file. */
	assert_int_equal(seal_key_load_private(psign, SEAL_KEY_X25519, &rcpt),
	    SEAL_ERR_KEY);
	assert_null(rcpt);
	assert_int_equal(seal_key_load_public(prcpt_pub, SEAL_KEY_ED25519,
	    &rcpt), SEAL_ERR_KEY);
	/* A public key file is not a private key file (mode checked first). */
	assert_int_equal(seal_key_load_private(prcpt_pub, SEAL_KEY_X25519,
	    &rcpt), SEAL_ERR_PERM);
	assert_int_equal(chmod(prcpt_pub, 0600), 0);
	assert_int_equal(seal_key_load_private(prcpt_pub, SEAL_KEY_X25519,
	    &rcpt), SEAL_ERR_KEY);
	assert_int_equal(chmod(prcpt_pub, 0644), 0);
	/* Missing file. */
	assert_int_equal(seal_key_load_private("/nonexistent/key",
	    SEAL_KEY_X25519, &rcpt), SEAL_ERR_SYSTEM);
}

static void
test_key_file_modes(void **state)
{
	struct seal_key *k = NULL;
	char priv[128], pub[128], junk[128];
	FILE *fp;

	(void)state;
	tmp_path(priv, sizeof(priv), "rcpt");
	tmp_path(pub, sizeof(pub), "rcpt.pub");
	tmp_path(junk, sizeof(junk), "garbage");

	assert_int_equal(chmod(priv, 0644), 0);
	assert_int_equal(seal_key_load_private(priv, SEAL_KEY_X25519, &k),
	    SEAL_ERR_PERM);
	assert_null(k);
	assert_int_equal(chmod(priv, 0640), 0);
	assert_int_equal(seal_key_load_private(priv, SEAL_KEY_X25519, &k),
	    SEAL_ERR_PERM);
	assert_int_equal(chmod(priv, 0604), 0);
	assert_int_equal(seal_key_load_private(priv, SEAL_KEY_X25519, &k),
	    SEAL_ERR_PERM);
	assert_int_equal(chmod(priv, 0400), 0);
	assert_int_equal(seal_key_load_private(priv, SEAL_KEY_X25519, &k),
	    SEAL_OK);
	seal_key_free(k);
	assert_int_equal(chmod(priv, 0600), 0);

	assert_int_equal(chmod(pub, 0664), 0);
	assert_int_equal(seal_key_load_public(pub, SEAL_KEY_X25519, &k),
	    SEAL_ERR_PERM);
	assert_int_equal(chmod(pub, 0646), 0);
	assert_int_equal(seal_key_load_public(pub, SEAL_KEY_X25519, &k),
	    SEAL_ERR_PERM);
	assert_int_equal(chmod(pub, 0444), 0);
	assert_int_equal(seal_key_load_public(pub, SEAL_KEY_X25519, &k),
	    SEAL_OK);
	seal_key_free(k);

	/* Not a regular file. */
	assert_int_equal(seal_key_load_private(tmpdir, SEAL_KEY_X25519, &k),
	    SEAL_ERR_PERM);

	/* Owned by someone else (needs root to arrange). */
	if (geteuid() == 0) {
		assert_int_equal(chown(priv, 12345, 12345), 0);
		assert_int_equal(seal_key_load_private(priv, SEAL_KEY_X25519,
		    &k), SEAL_ERR_PERM);
		assert_int_equal(chown(pub, 12345, 12345), 0);
		assert_int_equal(seal_key_load_public(pub, SEAL_KEY_X25519,
		    &k), SEAL_ERR_PERM);
		assert_int_equal(chown(priv, 0, 0), 0);
		assert_int_equal(chown(pub, 0, 0), 0);
	}

	/* Not a key, and too big to be one. */
	assert_non_null(fp = fopen(junk, "w"));
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	    fp);
	fclose(fp);
	assert_int_equal(chmod(junk, 0600), 0);
	assert_int_equal(seal_key_load_private(junk, SEAL_KEY_X25519, &k),
	    SEAL_ERR_KEY);
	assert_non_null(fp = fopen(junk, "w"));
	for (int i = 0; i < 5000; i++)
		fputc('#', fp);
	fclose(fp);
	assert_int_equal(seal_key_load_private(junk, SEAL_KEY_X25519, &k),
	    SEAL_ERR_KEY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_ipv4_nologin,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_notice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nondeterministic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_payload_sizes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_recipient, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_signer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_sender, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_types, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bitflip_every_bit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_header_format, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_payload_encoding_matches_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_payload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_encode_rejects, setup,
		    teardown),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_strerror),
	};
	const struct CMUnitTest key_tests[] = {
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_key_file_modes),
	};
	int failed;

	failed = cmocka_run_group_tests_name("seal", tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("seal key files", key_tests,
	    key_setup, key_teardown);
	return failed != 0;
}
