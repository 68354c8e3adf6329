/*
 * fuzz_seal: export records as securejeebsd opens them (src/seal.c, the
 * steps of src/export.c's export_record()), with the keys of the lab run
 * recorded in tests/pcaps/ssh-keys.pcap.  Input: one byte choosing what the
 * rest is:
 *   0  a byte stream from an export connection: framed with
 *      seal_record_length(), each record's header peeked, opened with the
 *      lab keys (sender "web1"), its payload decoded;
 *   1  a key record payload alone, decoded (its header's conn_id and
 *      counter taken from the payload, so the decoder goes on);
 *   2  a local box (the sealed setup log at rest) opened with a fixed key.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "fuzz.h"
#include "seal.h"

static struct seal_key *recipient, *signer;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_lab_keys(&recipient, &signer);
	return 0;
}

static void
keyrec(const uint8_t *p, size_t len, const struct seal_header *hdr)
{
	struct seal_keyrec *kr = NULL;
	int r;

	r = seal_keyrec_decode(p, len, hdr, &kr);
	(void)seal_strerror(r);
	if (r != SEAL_OK) {
		FUZZ_CHECK(kr == NULL);
		return;
	}
	FUZZ_CHECK(kr != NULL);
	FUZZ_CHECK(kr->conn_id == hdr->conn_id &&
	    kr->counter == hdr->counter);
	FUZZ_CHECK(kr->session_id_len <= SEAL_SESSION_ID_MAX);
	FUZZ_CHECK(kr->c2s.enc_key_len <= SEAL_SECRET_MAX &&
	    kr->s2c.enc_key_len <= SEAL_SECRET_MAX);
	FUZZ_CHECK(memchr(kr->user, '\0', sizeof(kr->user)) != NULL);
	seal_keyrec_free(kr);
}

static void
stream(const uint8_t *p, size_t len)
{
	struct seal_header hdr, peeked;
	struct buf pt;
	size_t total;
	int r;

	while (len > 0) {
		/* export_read_cb() frames on the first 10 bytes. */
		if ((r = seal_record_length(p, len < 10 ? len : 10,
		    &total)) != SEAL_OK)
			return;
		FUZZ_CHECK(total > 0 && total <= SEAL_RECORD_MAX);
		if (total > len)
			return;			/* the rest has not come */
		if (seal_peek_header(p, total, &peeked) == SEAL_OK) {
			FUZZ_CHECK(memchr(peeked.sender, '\0',
			    sizeof(peeked.sender)) != NULL);
			buf_init(&pt, SEAL_PAYLOAD_MAX);
			buf_set_secret(&pt);
			r = seal_open(p, total, recipient, signer, "web1", &hdr,
			    &pt);
			if (r == SEAL_OK) {
				keyrec(buf_ptr(&pt), buf_len(&pt), &hdr);
				(void)seal_replay_check(1, hdr.counter,
				    hdr.counter + 1);
				(void)seal_age_check(&hdr, time(NULL), 600);
			}
			buf_free(&pt);
		}
		p += total;
		len -= total;
	}
}

static void
payload(const uint8_t *p, size_t len)
{
	struct seal_header hdr;
	struct buf b;

	memset(&hdr, 0, sizeof(hdr));
	buf_view(&b, p, len);
	/* version, flags, then conn_id and counter: copy them over. */
	if (buf_skip(&b, 2) == 0 && buf_get_u64(&b, &hdr.conn_id) == 0)
		(void)buf_get_u64(&b, &hdr.counter);
	keyrec(p, len, &hdr);
}

static void
box(const uint8_t *p, size_t len)
{
	static const uint8_t key[SEAL_LOCAL_KEY_LEN] = { 1, 2, 3 };
	static const uint8_t aad[] = "fuzz";
	struct buf out;

	buf_init(&out, 1 << 20);
	buf_set_secret(&out);
	(void)seal_local_open(key, aad, sizeof(aad), p, len, &out);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		stream(data + 1, size - 1);
		break;
	case 1:
		payload(data + 1, size - 1);
		break;
	case 2:
		box(data + 1, size - 1);
		break;
	}
	return 0;
}
