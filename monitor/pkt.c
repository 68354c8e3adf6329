/*
 * pkt: frame -> IP -> TCP decoding (see pkt.h).  Only what the trackers
 * need is extracted; options are parsed strictly (a length that runs past
 * the header is malformed, unknown options are skipped by their length).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "pkt.h"

/* pcap link types (from pcap/dlt.h, copied to keep this module pcap-free). */
#define LINK_EN10MB		1
#define LINK_RAW		101
#define LINK_RAW_ALT		12	/* DLT_RAW on some systems */
#define LINK_LINUX_SLL		113
#define LINK_LINUX_SLL2		276
#define LINK_IPV4		228
#define LINK_IPV6		229

#define ETH_IPV4		0x0800
#define ETH_IPV6		0x86dd
#define ETH_VLAN		0x8100
#define ETH_QINQ		0x88a8

#define IPPROTO_TCP_NUM		6

void
pkt_addr_set(struct pkt_addr *a, int family, const void *addr)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	memcpy(a->a, addr, family == AF_INET ? 4 : 16);
}

const char *
pkt_endpoint_str(const struct pkt_addr *a, uint16_t port, char *buf,
    size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, a->a, ip, sizeof(ip)) == NULL)
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
	    port);
	return buf;
}

const char *
pkt_strerror(int r)
{
	switch (r) {
	case PKT_OK:		return "ok";
	case PKT_NOT_TCP:	return "not a TCP/IP frame";
	case PKT_MALFORMED:	return "malformed frame";
	case PKT_FRAGMENT:	return "IP fragment";
	default:		return "unknown";
	}
}

static int
pkt_tcp_options(struct buf *b, size_t optlen, struct pkt_tcp *seg)
{
	struct buf o;
	uint8_t kind, len;

	if (buf_len(b) < optlen)
		return PKT_MALFORMED;
	buf_view(&o, buf_ptr(b), optlen);
	buf_skip(b, optlen);
	while (buf_len(&o) > 0) {
		(void)buf_get_u8(&o, &kind);
		if (kind == 0)			/* end of options */
			break;
		if (kind == 1)			/* no-op */
			continue;
		if (buf_get_u8(&o, &len) != 0 || len < 2 ||
		    buf_len(&o) < (size_t)len - 2)
			return PKT_MALFORMED;
		switch (kind) {
		case 2:				/* MSS */
			if (len != 4 || buf_get_u16(&o, &seg->mss) != 0)
				return PKT_MALFORMED;
			seg->has_mss = 1;
			break;
		case 3:				/* window scale */
			if (len != 3 || buf_get_u8(&o, &seg->wscale) != 0)
				return PKT_MALFORMED;
			seg->has_wscale = 1;
			break;
		case 4:				/* SACK permitted */
			if (len != 2)
				return PKT_MALFORMED;
			seg->has_sackok = 1;
			break;
		case 5:				/* SACK blocks */
			if ((len - 2) % 8 != 0)
				return PKT_MALFORMED;
			seg->nsack = 0;
			for (int i = 0; i < (len - 2) / 8; i++) {
				struct pkt_sack s;

				if (buf_get_u32(&o, &s.left) != 0 ||
				    buf_get_u32(&o, &s.right) != 0)
					return PKT_MALFORMED;
				if (seg->nsack < PKT_MAX_SACK)
					seg->sack[seg->nsack++] = s;
			}
			break;
		case 8:				/* timestamps */
			if (len != 10 || buf_get_u32(&o, &seg->tsval) != 0 ||
			    buf_get_u32(&o, &seg->tsecr) != 0)
				return PKT_MALFORMED;
			seg->has_ts = 1;
			break;
		default:
			buf_skip(&o, (size_t)len - 2);
			break;
		}
	}
	return PKT_OK;
}

static int
pkt_tcp(struct buf *b, size_t ip_payload_len, size_t wire_payload_len,
    struct pkt_tcp *seg)
{
	uint16_t off_flags;
	size_t hlen;
	int r;

	if (buf_len(b) < 20 || ip_payload_len < 20)
		return PKT_MALFORMED;
	(void)buf_get_u16(b, &seg->sport);
	(void)buf_get_u16(b, &seg->dport);
	(void)buf_get_u32(b, &seg->seq);
	(void)buf_get_u32(b, &seg->ack);
	(void)buf_get_u16(b, &off_flags);
	(void)buf_get_u16(b, &seg->win);
	buf_skip(b, 4);				/* checksum, urgent pointer */
	hlen = (size_t)(off_flags >> 12) * 4;
	seg->flags = (uint8_t)(off_flags & 0x3f);
	if (hlen < 20 || hlen > ip_payload_len)
		return PKT_MALFORMED;
	if ((r = pkt_tcp_options(b, hlen - 20, seg)) != PKT_OK)
		return r;
	seg->wire_len = wire_payload_len >= hlen ? wire_payload_len - hlen : 0;
	if (ip_payload_len - hlen < seg->wire_len)
		seg->wire_len = ip_payload_len - hlen;
	seg->len = buf_len(b) < seg->wire_len ? buf_len(b) : seg->wire_len;
	seg->payload = buf_ptr(b);
	return PKT_OK;
}

static int
pkt_ipv4(struct buf *b, struct pkt_tcp *seg)
{
	uint8_t vihl, proto, src[4], dst[4];
	uint16_t total, frag;
	size_t hlen, have = buf_len(b);

	if (buf_get_u8(b, &vihl) != 0 || (vihl >> 4) != 4)
		return PKT_MALFORMED;
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < 20 || have < hlen)
		return PKT_MALFORMED;
	buf_skip(b, 1);				/* DSCP/ECN */
	(void)buf_get_u16(b, &total);
	buf_skip(b, 2);				/* identification */
	(void)buf_get_u16(b, &frag);
	buf_skip(b, 1);				/* TTL */
	(void)buf_get_u8(b, &proto);
	buf_skip(b, 2);				/* checksum */
	(void)buf_get(b, src, 4);
	(void)buf_get(b, dst, 4);
	buf_skip(b, hlen - 20);
	if (total < hlen)
		return PKT_MALFORMED;
	if (proto != IPPROTO_TCP_NUM)
		return PKT_NOT_TCP;
	if ((frag & 0x3fff) != 0)		/* MF set or offset != 0 */
		return PKT_FRAGMENT;
	pkt_addr_set(&seg->src, AF_INET, src);
	pkt_addr_set(&seg->dst, AF_INET, dst);
	return pkt_tcp(b, total - hlen, total - hlen, seg);
}

static int
pkt_ipv6(struct buf *b, struct pkt_tcp *seg)
{
	uint8_t vtc, next, src[16], dst[16];
	uint16_t plen;
	int hops = 0;

	if (buf_peek_u8(b, 0, &vtc) != 0 || (vtc >> 4) != 6 ||
	    buf_len(b) < 40)
		return PKT_MALFORMED;
	buf_skip(b, 4);
	(void)buf_get_u16(b, &plen);
	(void)buf_get_u8(b, &next);
	buf_skip(b, 1);				/* hop limit */
	(void)buf_get(b, src, 16);
	(void)buf_get(b, dst, 16);
	/* Skip the extension headers that may precede TCP. */
	while (next == 0 || next == 43 || next == 60 || next == 44) {
		uint8_t nh, elen;

		if (next == 44)
			return PKT_FRAGMENT;
		if (++hops > 8 || buf_get_u8(b, &nh) != 0 ||
		    buf_get_u8(b, &elen) != 0 ||
		    buf_skip(b, (size_t)elen * 8 + 6) != 0 ||
		    plen < (size_t)elen * 8 + 8)
			return PKT_MALFORMED;
		plen -= (uint16_t)(elen * 8 + 8);
		next = nh;
	}
	if (next != IPPROTO_TCP_NUM)
		return PKT_NOT_TCP;
	pkt_addr_set(&seg->src, AF_INET6, src);
	pkt_addr_set(&seg->dst, AF_INET6, dst);
	return pkt_tcp(b, plen, plen, seg);
}

static int
pkt_ip(struct buf *b, uint16_t ethertype, struct pkt_tcp *seg)
{
	if (ethertype == ETH_IPV4)
		return pkt_ipv4(b, seg);
	if (ethertype == ETH_IPV6)
		return pkt_ipv6(b, seg);
	return PKT_NOT_TCP;
}

int
pkt_decode(int linktype, const uint8_t *frame, size_t caplen, size_t wirelen,
    struct pkt_tcp *seg)
{
	struct buf b;
	uint16_t type;
	uint8_t v;

	(void)wirelen;
	memset(seg, 0, sizeof(*seg));
	buf_view(&b, frame, caplen);
	switch (linktype) {
	case LINK_EN10MB:
		if (buf_get(&b, seg->dst_mac, 6) != 0 ||
		    buf_get(&b, seg->src_mac, 6) != 0 ||
		    buf_get_u16(&b, &type) != 0)
			return PKT_MALFORMED;
		seg->has_mac = 1;
		while (type == ETH_VLAN || type == ETH_QINQ) {
			if (buf_skip(&b, 2) != 0 || buf_get_u16(&b, &type) != 0)
				return PKT_MALFORMED;
		}
		return pkt_ip(&b, type, seg);
	case LINK_LINUX_SLL:
		if (buf_skip(&b, 14) != 0 || buf_get_u16(&b, &type) != 0)
			return PKT_MALFORMED;
		return pkt_ip(&b, type, seg);
	case LINK_LINUX_SLL2:
		if (buf_get_u16(&b, &type) != 0 || buf_skip(&b, 18) != 0)
			return PKT_MALFORMED;
		return pkt_ip(&b, type, seg);
	case LINK_RAW:
	case LINK_RAW_ALT:
		if (buf_peek_u8(&b, 0, &v) != 0)
			return PKT_MALFORMED;
		return pkt_ip(&b, (v >> 4) == 6 ? ETH_IPV6 : ETH_IPV4, seg);
	case LINK_IPV4:
		return pkt_ip(&b, ETH_IPV4, seg);
	case LINK_IPV6:
		return pkt_ip(&b, ETH_IPV6, seg);
	default:
		return PKT_NOT_TCP;
	}
}
