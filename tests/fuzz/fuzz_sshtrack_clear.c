/*
 * fuzz_sshtrack_clear: the SSH tracker with no keys at all: identification
 * lines, clear packets and the KEXINIT negotiation, then whatever follows
 * NEWKEYS buffered while the keys never come (src/watch.c's wiring, through
 * the TCP tracker).  Input: records of an op byte and a chunk
 * (fuzz_chunk()): bit 0 the direction; bit 1 the chunk is not fed but
 * skipped (a capture loss, seen once acknowledged); bit 2 the other side
 * then acknowledges everything; bits 3-4 the segment size (1, 7, 536,
 * 1448 bytes).
 */
#include "sshfx.c"

static const size_t mss_of[4] = { 1, 7, 536, 1448 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshfx *f = fx_new();
	const uint8_t *p;
	struct buf in;
	size_t len;
	uint8_t op;
	int dir;

	buf_view(&in, data, size);
	while (f->c != NULL && buf_get_u8(&in, &op) == 0 &&
	    fuzz_chunk(&in, &p, &len) == 0) {
		dir = op & 1;
		if (op & 2)
			f->fed[dir] += len;		/* lost */
		else
			fx_feed(f, dir, p, len, mss_of[(op >> 3) & 3]);
		if (op & 4)
			fx_ack(f, dir);
	}
	fx_query(f);
	fx_free(f);
	return 0;
}
