/*
 * fuzz_pkt: one captured frame through pkt_decode().  Input: one byte
 * choosing the link type, one byte shortening the wire length relation
 * (caplen < wirelen: a snaplen cut), then the frame.  The decoded segment
 * must point inside the frame.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "pkt.h"

static const int linktypes[] = { 1, 101, 12, 113, 276, 228, 229, 0 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_tcp seg;
	char ep[64];
	size_t caplen, wirelen;
	int lt, r;

	if (size < 2)
		return 0;
	lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	caplen = size - 2;
	wirelen = caplen + (data[1] & 0x80 ? (size_t)(data[1] & 0x7f) * 64 : 0);
	memset(&seg, 0xa5, sizeof(seg));
	r = pkt_decode(lt, data + 2, caplen, wirelen, &seg);
	(void)pkt_strerror(r);
	if (r != PKT_OK)
		return 0;
	FUZZ_CHECK(seg.len <= caplen);
	FUZZ_CHECK(seg.len <= seg.wire_len);
	FUZZ_CHECK(seg.len == 0 || (seg.payload >= data + 2 &&
	    seg.payload + seg.len <= data + size));
	FUZZ_CHECK(seg.nsack >= 0 && seg.nsack <= PKT_MAX_SACK);
	FUZZ_CHECK(seg.src.family == AF_INET || seg.src.family == AF_INET6);
	(void)pkt_endpoint_str(&seg.src, seg.sport, ep, sizeof(ep));
	(void)pkt_endpoint_str(&seg.dst, seg.dport, ep, sizeof(ep));
	return 0;
}
