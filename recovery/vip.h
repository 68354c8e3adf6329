/*
 * vip: the service address moves to this host (DESIGN.md 4, steps 2 and
 * 5).  Through rtnetlink: find the next hop toward a client, pin its MAC
 * as a permanent neighbour entry (so that no ARP request of ours announces
 * the address before the sockets exist), and later let the kernel verify it
 * again; add the address to the capture interface.  Through a packet
 * socket: announce it, with gratuitous ARP (IPv4) or an unsolicited
 * neighbour advertisement (IPv6).
 */
#ifndef SJ_VIP_H
#define SJ_VIP_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct vip;

/* Work on interface ifname; NULL with the reason in err. */
struct vip *vip_open(const char *ifname, char *err, size_t errlen);
/* Close the sockets. */
void	vip_close(struct vip *v);
/* The interface's MAC address. */
const uint8_t *vip_mac(const struct vip *v);
/*
 * The next hop toward peer through our interface: peer itself when it is
 * on the link, else the gateway.  0, or -1 with the reason in err (no
 * route, or a route through another interface).
 */
int	vip_next_hop(struct vip *v, const struct pkt_addr *peer,
	    struct pkt_addr *hop, char *err, size_t errlen);
/* Make hop -> mac a permanent neighbour entry; 0 or -1 with err. */
int	vip_neigh_pin(struct vip *v, const struct pkt_addr *hop,
	    const uint8_t mac[6], char *err, size_t errlen);
/* Turn a pinned entry back into an ordinary one the kernel re-verifies. */
int	vip_neigh_release(struct vip *v, const struct pkt_addr *hop,
	    const uint8_t mac[6]);
/*
 * Add a to the interface as a host address (/32, or /128 without duplicate
 * address detection): 0 added, 1 already there, -1 with err.
 */
int	vip_addr_add(struct vip *v, const struct pkt_addr *a, char *err,
	    size_t errlen);
/* Whether a is one of the interface's addresses now. */
int	vip_addr_present(struct vip *v, const struct pkt_addr *a);
/*
 * Announce a once: IPv4, a gratuitous ARP request (n even) or reply (n
 * odd) to broadcast; IPv6, an unsolicited neighbour advertisement with the
 * override flag to all nodes.  0, or -1 with err.
 */
int	vip_announce(struct vip *v, const struct pkt_addr *a, int n, char *err,
	    size_t errlen);

#endif
