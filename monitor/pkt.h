/*
 * pkt: decode one captured frame down to its TCP segment.  Link layers:
 * Ethernet (with 802.1Q tags), Linux cooked (v1 and v2) and raw IP.  Every
 * byte is read through buf; anything malformed is refused with a reason.
 * Checksums are not verified: capture happens before NIC checksum offload
 * fills them in.
 */
#ifndef SJ_PKT_H
#define SJ_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define PKT_MAX_SACK	4

/* TCP flag bits, as on the wire. */
#define PKT_FIN		0x01
#define PKT_SYN		0x02
#define PKT_RST		0x04
#define PKT_PSH		0x08
#define PKT_ACK		0x10

/* An address of either family, comparable with memcmp. */
struct pkt_addr {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		pad[3];
	uint8_t		a[16];		/* IPv4 in the first 4 bytes */
};

struct pkt_sack {
	uint32_t	left, right;
};

struct pkt_tcp {
	int		 has_mac;	/* Ethernet: the MACs below are set */
	uint8_t		 src_mac[6], dst_mac[6];
	struct pkt_addr	 src, dst;
	uint16_t	 sport, dport;
	uint32_t	 seq, ack;
	uint8_t		 flags;
	uint16_t	 win;		/* raw, unscaled */
	/* Options: has_* says which were present. */
	int		 has_mss, has_wscale, has_sackok, has_ts;
	uint16_t	 mss;
	uint8_t		 wscale;
	uint32_t	 tsval, tsecr;
	int		 nsack;
	struct pkt_sack	 sack[PKT_MAX_SACK];
	const uint8_t	*payload;	/* points into the frame */
	size_t		 len;		/* payload bytes present in the capture */
	size_t		 wire_len;	/* payload bytes on the wire (snaplen may cut) */
};

/* Result codes: 0, or a reason the frame is not a usable TCP segment. */
#define PKT_OK			0
#define PKT_NOT_TCP		1	/* well-formed, but not TCP/IP: ignore */
#define PKT_MALFORMED		2	/* truncated or inconsistent */
#define PKT_FRAGMENT		3	/* an IP fragment: cannot be tracked */

/* Decode a frame of the given pcap link type (DLT_*) into seg. */
int	pkt_decode(int linktype, const uint8_t *frame, size_t caplen,
	    size_t wirelen, struct pkt_tcp *seg);
/* Text for a result code. */
const char *pkt_strerror(int r);
/* Set a from an IPv4 or IPv6 address in network order. */
void	pkt_addr_set(struct pkt_addr *a, int family, const void *addr);
/* Format "addr:port" ("[addr]:port" for IPv6) into buf. */
const char *pkt_endpoint_str(const struct pkt_addr *a, uint16_t port,
	    char *buf, size_t len);

#endif
