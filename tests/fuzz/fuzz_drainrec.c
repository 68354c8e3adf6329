/*
 * fuzz_drainrec: the drain state decoder (SJD1, SJD2: docs/drain.md
 * "Records") that securejeebsd runs on the reassembled drain parts of a
 * connection.  Signed by the exporter, but decoded as hostile input.  What
 * decodes must encode again to the same bytes.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "drainrec.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drainrec d;
	struct buf b;
	char why[256];
	size_t i;

	why[0] = '\0';
	if (drainrec_decode(data, size, &d, why, sizeof(why)) != 0) {
		FUZZ_CHECK(why[0] != '\0');
		FUZZ_CHECK(d.chans == NULL && d.log == NULL);
		return 0;
	}
	FUZZ_CHECK(d.version == 1 || d.version == 2);
	FUZZ_CHECK(d.nchans <= DRAINREC_MAX_CHANS);
	FUZZ_CHECK(d.nlog <= DRAINREC_MAX_LOG);
	for (i = 0; i < d.nlog; i++)
		FUZZ_CHECK(d.log[i].dir <= 1 &&
		    (d.log[i].len > 0 || d.log[i].flags != 0));
	buf_init(&b, 0);
	FUZZ_CHECK(drainrec_encode(&d, &b) == 0);
	FUZZ_CHECK(buf_len(&b) == size && memcmp(buf_ptr(&b), data,
	    size) == 0);
	buf_free(&b);
	drainrec_free(&d);
	return 0;
}
