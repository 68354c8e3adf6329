/*
 * fuzz_rpkg: the recovery package (SJRP1) and import (SJRI1) decoders that
 * jeebs-replay runs on what securejeebsd hands it, and the control
 * channel's packet framing.  Input: one byte choosing the decoder, then its
 * bytes.  What decodes must encode again and decode to the same bytes.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "rpkg.h"

/* Encode k, decode the result, encode again: the two encodings agree. */
static void
roundtrip(const struct rpkg *k, int import)
{
	struct buf a, b;
	struct rpkg *k2 = NULL;
	char why[256];
	int r;

	buf_init(&a, RPKG_MAX);
	buf_init(&b, RPKG_MAX);
	r = import ? rpkg_encode_import(k, &a) : rpkg_encode(k, &a);
	FUZZ_CHECK(r == 0);
	r = import ? rpkg_decode_import(buf_ptr(&a), buf_len(&a), &k2, why,
	    sizeof(why)) : rpkg_decode(buf_ptr(&a), buf_len(&a), &k2, why,
	    sizeof(why));
	FUZZ_CHECK(r == 0 && k2 != NULL);
	r = import ? rpkg_encode_import(k2, &b) : rpkg_encode(k2, &b);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(buf_len(&a) == buf_len(&b) &&
	    memcmp(buf_ptr(&a), buf_ptr(&b), buf_len(&a)) == 0);
	rpkg_free(k2);
	buf_free(&a);
	buf_free(&b);
}

static void
packets(const uint8_t *p, size_t len)
{
	struct buf in;
	const uint8_t *pl;
	size_t plen;
	char why[256], tmp[32];
	int r;

	buf_init(&in, RPKG_PACKET_MAX * 2 + 64);
	if (buf_put(&in, p, len) != 0) {
		buf_free(&in);
		return;
	}
	while ((r = rpkg_packet_get(&in, &pl, &plen, why, sizeof(why))) == 0) {
		FUZZ_CHECK(plen <= RPKG_PACKET_MAX);
		if (plen > 0)
			(void)rpkg_msg_name(pl[0], tmp, sizeof(tmp));
	}
	FUZZ_CHECK(r == BUF_ERR_SHORT || r == BUF_ERR_FORMAT);
	buf_free(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpkg *k = NULL;
	char why[256];
	int import;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
	case 1:
		import = data[0] % 3 == 1;
		why[0] = '\0';
		if ((import ? rpkg_decode_import(data + 1, size - 1, &k, why,
		    sizeof(why)) : rpkg_decode(data + 1, size - 1, &k, why,
		    sizeof(why))) != 0) {
			FUZZ_CHECK(k == NULL);
			FUZZ_CHECK(why[0] != '\0');
			return 0;
		}
		FUZZ_CHECK(k != NULL);
		roundtrip(k, import);
		rpkg_free(k);
		break;
	case 2:
		packets(data + 1, size - 1);
		break;
	}
	return 0;
}
