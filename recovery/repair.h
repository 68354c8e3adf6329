/*
 * repair: rebuild one TCP connection on this host with TCP_REPAIR, from the
 * state the monitor saw on the wire, so that the client's peer continues
 * exactly where the dead server stopped (DESIGN.md section 4, step 3).  The
 * socket call order below was verified on kernel 6.18; do not reorder.
 */
#ifndef SJ_REPAIR_H
#define SJ_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* Everything needed to rebuild one server-side socket. */
struct repair_conn {
	struct pkt_addr	 local;		/* the service address */
	uint16_t	 lport;
	struct pkt_addr	 remote;	/* the client */
	uint16_t	 rport;
	/* Sequence space, as on the wire. */
	uint32_t	 snd_una;	/* the client's highest ack */
	uint32_t	 rcv_nxt;	/* end of what the client sent */
	/* Client bytes to put in the receive queue: they end at rcv_nxt. */
	const uint8_t	*recvq;
	size_t		 recvq_len;
	/* Server bytes the client has not acknowledged: from snd_una. */
	const uint8_t	*sendq;
	size_t		 sendq_len;
	/* Options from the SYNs. */
	uint16_t	 mss;		/* the client's MSS */
	int		 wscale_ok;
	uint8_t		 snd_wscale;	/* the client's window scale */
	uint8_t		 rcv_wscale;	/* the server's */
	int		 sack_ok;
	int		 ts_ok;
	uint32_t	 tsval;		/* TSval to continue from (made even) */
	/* Windows, scaled, as last seen. */
	uint32_t	 snd_wnd;	/* what the client advertised */
	uint32_t	 snd_wl1;	/* seq of the client's segment that did */
	uint32_t	 rcv_wnd;	/* what the server advertised */
	uint32_t	 rcv_wup;	/* the ack the server advertised it with */
};

/*
 * Build the socket.  It leaves repair mode connected and established, with
 * the receive queue filled.  Returns the descriptor, or -1 with the failing
 * step in err.  Never blocks.
 */
int	repair_socket(const struct repair_conn *rc, char *err, size_t errlen);
/*
 * Send the server bytes the client has not acknowledged (rc->sendq), as new
 * data from the client's ack on.  May block until the client makes room:
 * call it in the process that takes the socket over, not in the daemon.
 */
int	repair_send_pending(int fd, const struct repair_conn *rc);
/*
 * Close a connection without FIN or RST: the socket is put into repair
 * mode first (for draining a live server, or giving up silently).
 */
int	repair_close_silently(int fd);
/* Reset a connection cleanly: an RST to the client (SO_LINGER 0). */
void	repair_reset(int fd);

#endif
