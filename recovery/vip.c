/*
 * vip: rtnetlink and packet-socket work for the address takeover (see
 * vip.h).  Requests are small and synchronous: the kernel answers at once,
 * and the takeover needs each answer before its next step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "vip.h"

#define VIP_NL_TIMEOUT	1000	/* ms for a kernel answer */

struct vip {
	char		 ifname[IF_NAMESIZE];
	int		 ifindex;
	uint8_t		 mac[6];
	int		 nl_fd;
	uint32_t	 seq;
	int		 arp_fd;	/* AF_PACKET, ETH_P_ARP */
};

/* A request: header, family-specific part, attributes. */
struct vip_req {
	struct nlmsghdr	 nh;
	union {
		struct ndmsg	nd;
		struct ifaddrmsg ifa;
		struct rtmsg	rt;
	} u;
	char		 attrs[256];
};

static int
vip_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

static size_t
vip_alen(const struct pkt_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

static void
vip_attr(struct vip_req *r, unsigned short type, const void *data,
    size_t len)
{
	struct rtattr *rta;
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);

	if (off + RTA_SPACE(len) > sizeof(*r))
		return;			/* cannot happen: attributes are few */
	rta = (struct rtattr *)((char *)r + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static void
vip_req_init(struct vip *v, struct vip_req *r, uint16_t type,
    uint16_t flags, size_t body)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	r->nh.nlmsg_seq = ++v->seq;
}

/*
 * Send r and wait for its answer: an error message (0 for an ack, else
 * -1 with errno set) or, with want != 0, a message of that type copied
 * into reply.
 */
static int
vip_nl_talk(struct vip *v, struct vip_req *r, uint16_t want, void *reply,
    size_t replylen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct pollfd pfd = { .fd = v->nl_fd, .events = POLLIN };
	char buf[8192];
	struct nlmsghdr *nh;
	ssize_t n;
	size_t len;

	if (sendto(v->nl_fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) != (ssize_t)r->nh.nlmsg_len)
		return -1;
	for (;;) {
		if (poll(&pfd, 1, VIP_NL_TIMEOUT) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = recv(v->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		len = (size_t)n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		    nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != r->nh.nlmsg_seq)
				continue;	/* an old answer */
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
					errno = EPROTO;
					return -1;
				}
				if (e->error == 0)
					return 0;
				errno = -e->error;
				return -1;
			}
			if (want != 0 && nh->nlmsg_type == want) {
				memset(reply, 0, replylen);
				memcpy(reply, nh, nh->nlmsg_len < replylen ?
				    nh->nlmsg_len : replylen);
				return 0;
			}
		}
	}
}

struct vip *
vip_open(const char *ifname, char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct ifreq ifr;
	struct vip *v;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->nl_fd = v->arp_fd = -1;
	snprintf(v->ifname, sizeof(v->ifname), "%s", ifname);
	if ((v->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1 ||
	    bind(v->nl_fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		vip_fail(err, errlen, "rtnetlink socket");
		goto fail;
	}
	/* Protocol 0: it only sends (sendto names ARP), nothing queues up. */
	if ((v->arp_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC,
	    0)) == -1) {
		vip_fail(err, errlen, "packet socket");
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(v->arp_fd, SIOCGIFINDEX, &ifr) == -1) {
		vip_fail(err, errlen, ifname);
		goto fail;
	}
	v->ifindex = ifr.ifr_ifindex;
	if (ioctl(v->arp_fd, SIOCGIFHWADDR, &ifr) == -1) {
		vip_fail(err, errlen, "hardware address");
		goto fail;
	}
	memcpy(v->mac, ifr.ifr_hwaddr.sa_data, 6);
	return v;
 fail:
	vip_close(v);
	return NULL;
}

void
vip_close(struct vip *v)
{
	if (v == NULL)
		return;
	if (v->nl_fd != -1)
		close(v->nl_fd);
	if (v->arp_fd != -1)
		close(v->arp_fd);
	free(v);
}

const uint8_t *
vip_mac(const struct vip *v)
{
	return v->mac;
}

int
vip_next_hop(struct vip *v, const struct pkt_addr *peer,
    struct pkt_addr *hop, char *err, size_t errlen)
{
	struct vip_req r;
	union {
		struct nlmsghdr nh;
		char		buf[4096];
	} ans;
	struct rtmsg *rt;
	struct rtattr *rta;
	size_t len;
	int oif = 0;

	vip_req_init(v, &r, RTM_GETROUTE, 0, sizeof(r.u.rt));
	r.u.rt.rtm_family = peer->family;
	r.u.rt.rtm_dst_len = peer->family == AF_INET ? 32 : 128;
	vip_attr(&r, RTA_DST, peer->a, vip_alen(peer));
	if (vip_nl_talk(v, &r, RTM_NEWROUTE, &ans, sizeof(ans)) != 0)
		return vip_fail(err, errlen, "route lookup");
	*hop = *peer;
	rt = NLMSG_DATA(&ans.nh);
	len = RTM_PAYLOAD(&ans.nh);
	for (rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_OIF &&
		    RTA_PAYLOAD(rta) >= sizeof(int))
			memcpy(&oif, RTA_DATA(rta), sizeof(int));
		else if (rta->rta_type == RTA_GATEWAY &&
		    RTA_PAYLOAD(rta) == vip_alen(peer))
			pkt_addr_set(hop, peer->family, RTA_DATA(rta));
	}
	if (oif != v->ifindex) {
		char ifn[IF_NAMESIZE] = "?";

		if (oif > 0)
			(void)if_indextoname((unsigned)oif, ifn);
		snprintf(err, errlen, "routed through %s, not %s", ifn,
		    v->ifname);
		return -1;
	}
	return 0;
}

static int
vip_neigh_set(struct vip *v, const struct pkt_addr *hop, const uint8_t mac[6],
    uint16_t state)
{
	struct vip_req r;

	vip_req_init(v, &r, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE |
	    NLM_F_ACK, sizeof(r.u.nd));
	r.u.nd.ndm_family = hop->family;
	r.u.nd.ndm_ifindex = v->ifindex;
	r.u.nd.ndm_state = state;
	vip_attr(&r, NDA_DST, hop->a, vip_alen(hop));
	vip_attr(&r, NDA_LLADDR, mac, 6);
	return vip_nl_talk(v, &r, 0, NULL, 0);
}

int
vip_neigh_pin(struct vip *v, const struct pkt_addr *hop, const uint8_t mac[6],
    char *err, size_t errlen)
{
	if (vip_neigh_set(v, hop, mac, NUD_PERMANENT) != 0)
		return vip_fail(err, errlen, "neighbour entry");
	return 0;
}

int
vip_neigh_release(struct vip *v, const struct pkt_addr *hop,
    const uint8_t mac[6])
{
	return vip_neigh_set(v, hop, mac, NUD_STALE);
}

int
vip_addr_present(struct vip *v, const struct pkt_addr *a)
{
	struct ifaddrs *ifa, *i;
	struct pkt_addr x;
	int found = 0;

	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || strcmp(i->ifa_name, v->ifname) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && a->family == AF_INET)
			pkt_addr_set(&x, AF_INET, &((struct sockaddr_in *)
			    i->ifa_addr)->sin_addr);
		else if (i->ifa_addr->sa_family == AF_INET6 &&
		    a->family == AF_INET6)
			pkt_addr_set(&x, AF_INET6, &((struct sockaddr_in6 *)
			    i->ifa_addr)->sin6_addr);
		else
			continue;
		found = memcmp(&x, a, sizeof(x)) == 0;
	}
	freeifaddrs(ifa);
	return found;
}

int
vip_addr_add(struct vip *v, const struct pkt_addr *a, char *err,
    size_t errlen)
{
	struct vip_req r;
	uint32_t flags = IFA_F_NODAD;

	vip_req_init(v, &r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL |
	    NLM_F_ACK, sizeof(r.u.ifa));
	r.u.ifa.ifa_family = a->family;
	r.u.ifa.ifa_prefixlen = a->family == AF_INET ? 32 : 128;
	r.u.ifa.ifa_index = (uint32_t)v->ifindex;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	if (a->family == AF_INET6) {
		r.u.ifa.ifa_flags = IFA_F_NODAD;
		vip_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	}
	vip_attr(&r, IFA_LOCAL, a->a, vip_alen(a));
	vip_attr(&r, IFA_ADDRESS, a->a, vip_alen(a));
	if (vip_nl_talk(v, &r, 0, NULL, 0) == 0)
		return 0;
	if (errno == EEXIST)
		return 1;
	return vip_fail(err, errlen, "adding the address");
}

static int
vip_garp(struct vip *v, const struct pkt_addr *a, int reply, char *err,
    size_t errlen)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	struct sockaddr_ll sll;
	struct buf b;
	ssize_t n;
	int r;

	/*
	 * Sender and target are both the address: a request with a zero
	 * target MAC, or a reply to broadcast (what Linux calls a GARP and
	 * lets override a recent entry).
	 */
	buf_init(&b, 28);
	r = buf_put_u16(&b, 1) | buf_put_u16(&b, 0x0800) | buf_put_u8(&b, 6) |
	    buf_put_u8(&b, 4) | buf_put_u16(&b, reply ? 2 : 1) |
	    buf_put(&b, v->mac, 6) | buf_put(&b, a->a, 4) |
	    buf_put(&b, reply ? bcast : zero, 6) | buf_put(&b, a->a, 4);
	if (r != 0) {
		buf_free(&b);
		snprintf(err, errlen, "cannot build the ARP frame");
		return -1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = v->ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, bcast, 6);
	n = sendto(v->arp_fd, buf_ptr(&b), buf_len(&b), 0,
	    (struct sockaddr *)&sll, sizeof(sll));
	buf_free(&b);
	if (n != 28)
		return vip_fail(err, errlen, "gratuitous ARP");
	return 0;
}

static int
vip_unsolicited_na(struct vip *v, const struct pkt_addr *a, char *err,
    size_t errlen)
{
	struct sockaddr_in6 src, dst;
	struct buf b;
	int fd, hops = 255, r;
	ssize_t n;

	if ((fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC,
	    IPPROTO_ICMPV6)) == -1)
		return vip_fail(err, errlen, "ICMPv6 socket");
	memset(&src, 0, sizeof(src));
	src.sin6_family = AF_INET6;
	memcpy(&src.sin6_addr, a->a, 16);
	memset(&dst, 0, sizeof(dst));
	dst.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	dst.sin6_scope_id = (uint32_t)v->ifindex;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
	    sizeof(hops)) != 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v->ifindex,
	    sizeof(v->ifindex)) != 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
		vip_fail(err, errlen, "ICMPv6 socket setup");
		close(fd);
		return -1;
	}
	/* Type 136, override flag, the target, its link-layer address. */
	buf_init(&b, 32);
	r = buf_put_u8(&b, ND_NEIGHBOR_ADVERT) | buf_put_u8(&b, 0) |
	    buf_put_u16(&b, 0) | buf_put_u32(&b, 0x20000000) |
	    buf_put(&b, a->a, 16) | buf_put_u8(&b, ND_OPT_TARGET_LINKADDR) |
	    buf_put_u8(&b, 1) | buf_put(&b, v->mac, 6);
	n = r == 0 ? sendto(fd, buf_ptr(&b), buf_len(&b), 0,
	    (struct sockaddr *)&dst, sizeof(dst)) : -1;
	buf_free(&b);
	close(fd);
	if (n != 32)
		return vip_fail(err, errlen, "neighbour advertisement");
	return 0;
}

int
vip_announce(struct vip *v, const struct pkt_addr *a, int n, char *err,
    size_t errlen)
{
	if (a->family == AF_INET)
		return vip_garp(v, a, n % 2, err, errlen);
	return vip_unsolicited_na(v, a, err, errlen);
}
