/*
 * repair: TCP_REPAIR socket rebuild (see repair.h).
 *
 * Server bytes the client has not acknowledged are written after the socket
 * leaves repair mode, as new data starting at the client's ack, rather than
 * queued in repair mode as already sent: repair-mode data waits for the
 * retransmission timer (one second on a fresh socket), new data goes out at
 * once.  The client drops any part it had already received.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "repair.h"

#ifndef TCPOPT_MAXSEG
#define TCPOPT_MAXSEG		2
#define TCPOPT_WINDOW		3
#define TCPOPT_SACK_PERMITTED	4
#define TCPOPT_TIMESTAMP	8
#endif

static int
repair_fail(char *err, size_t errlen, const char *step, int fd)
{
	snprintf(err, errlen, "%s: %s", step, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static socklen_t
repair_sockaddr(const struct pkt_addr *a, uint16_t port,
    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->a, 4);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->a, 16);
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
}

static int
repair_setopt(int fd, int level, int opt, const void *v, socklen_t len)
{
	return setsockopt(fd, level, opt, v, len);
}

/* Write all of p to the repaired socket, waiting for window if needed. */
static int
repair_write_all(int fd, const uint8_t *p, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The send buffer is full: the client will make room. */
			if (poll(&pfd, 1, 5000) <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

int
repair_socket(const struct repair_conn *rc, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct tcp_repair_opt opts[4];
	struct tcp_repair_window win;
	socklen_t sl;
	ssize_t n;
	size_t done;
	uint32_t seq, ts;
	int fd, on = 1, q, nopt = 0, off = TCP_REPAIR_OFF_NO_WP;
	int ipproto = rc->local.family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int transparent = rc->local.family == AF_INET ? IP_TRANSPARENT :
	    IPV6_TRANSPARENT;

	/*
	 * 1. A socket in repair mode, bound to the service address.
	 * SO_REUSEADDR goes first: TCP_REPAIR=1 then makes the bind succeed
	 * whatever else holds the port (SK_FORCE_REUSE), which every socket
	 * after the first of a service port needs; SO_REUSEADDR after it
	 * would turn that back into an ordinary reuse, and leaving repair
	 * mode clears it, so the next rebuild would get EADDRINUSE.
	 */
	if ((fd = socket(rc->local.family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return repair_fail(err, errlen, "socket", -1);
	if (repair_setopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
		return repair_fail(err, errlen, "SO_REUSEADDR", fd);
	if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0)
		return repair_fail(err, errlen, "TCP_REPAIR on (needs "
		    "CAP_NET_ADMIN)", fd);
	/* IP_FREEBIND is not enough: connect() in repair mode then fails. */
	if (repair_setopt(fd, ipproto, transparent, &on, sizeof(on)) != 0)
		return repair_fail(err, errlen, "IP_TRANSPARENT", fd);
	sl = repair_sockaddr(&rc->local, rc->lport, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		return repair_fail(err, errlen, "bind to the service address",
		    fd);

	/* 2. Both queues' sequence numbers, before connect(). */
	q = TCP_RECV_QUEUE;
	seq = rc->rcv_nxt - (uint32_t)rc->recvq_len;
	if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q,
	    sizeof(q)) != 0 ||
	    repair_setopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq,
	    sizeof(seq)) != 0)
		return repair_fail(err, errlen, "receive queue sequence", fd);
	q = TCP_SEND_QUEUE;
	seq = rc->snd_una;
	if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q,
	    sizeof(q)) != 0 ||
	    repair_setopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq,
	    sizeof(seq)) != 0)
		return repair_fail(err, errlen, "send queue sequence", fd);

	/* 3. connect() sends nothing in repair mode. */
	sl = repair_sockaddr(&rc->remote, rc->rport, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0)
		return repair_fail(err, errlen, "connect in repair mode", fd);

	/* 4. The options the SYNs negotiated. */
	opts[nopt].opt_code = TCPOPT_MAXSEG;
	opts[nopt++].opt_val = rc->mss ? rc->mss : 536;
	if (rc->wscale_ok) {
		opts[nopt].opt_code = TCPOPT_WINDOW;
		opts[nopt++].opt_val = rc->snd_wscale |
		    ((uint32_t)rc->rcv_wscale << 16);
	}
	if (rc->sack_ok) {
		opts[nopt].opt_code = TCPOPT_SACK_PERMITTED;
		opts[nopt++].opt_val = 0;
	}
	if (rc->ts_ok) {
		opts[nopt].opt_code = TCPOPT_TIMESTAMP;
		opts[nopt++].opt_val = 0;
	}
	if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts,
	    (socklen_t)(nopt * sizeof(opts[0]))) != 0)
		return repair_fail(err, errlen, "TCP_REPAIR_OPTIONS", fd);

	/*
	 * 5. The timestamp clock: even, or recent kernels switch the socket
	 * to microseconds; never behind the client's view (PAWS).
	 */
	if (rc->ts_ok) {
		ts = rc->tsval & ~1u;
		if (repair_setopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts,
		    sizeof(ts)) != 0)
			return repair_fail(err, errlen, "TCP_TIMESTAMP", fd);
	}

	/* 6. The client bytes the dead server never answered. */
	if (rc->recvq_len > 0) {
		q = TCP_RECV_QUEUE;
		if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q,
		    sizeof(q)) != 0)
			return repair_fail(err, errlen, "select receive queue",
			    fd);
		/*
		 * The kernel takes at most one skb's worth per call (17
		 * pages), within the receive buffer: a large queue needs a
		 * larger buffer (which stops autotuning) and several calls.
		 */
		if (rc->recvq_len > 65536) {
			int rcvbuf = (int)(rc->recvq_len > (1 << 28) ?
			    (1 << 29) : rc->recvq_len * 2);

			(void)repair_setopt(fd, SOL_SOCKET, SO_RCVBUFFORCE,
			    &rcvbuf, sizeof(rcvbuf));
		}
		for (done = 0; done < rc->recvq_len; done += (size_t)n) {
			n = send(fd, rc->recvq + done, rc->recvq_len - done,
			    0);
			if (n <= 0) {
				if (n == 0)
					errno = ENOBUFS;
				return repair_fail(err, errlen,
				    "fill receive queue", fd);
			}
		}
	}

	/* 7. Windows: without this the send window is 0 until the client speaks. */
	memset(&win, 0, sizeof(win));
	win.snd_wl1 = rc->snd_wl1;
	win.snd_wnd = rc->snd_wnd;
	win.max_window = rc->snd_wnd;
	win.rcv_wnd = rc->rcv_wnd;
	win.rcv_wup = rc->rcv_wup;
	if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &win,
	    sizeof(win)) != 0)
		return repair_fail(err, errlen, "TCP_REPAIR_WINDOW", fd);

	/* 8. Out of repair mode, without a useless window probe. */
	if (repair_setopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) != 0)
		return repair_fail(err, errlen, "TCP_REPAIR off", fd);
	return fd;
}

int
repair_send_pending(int fd, const struct repair_conn *rc)
{
	if (rc->sendq_len == 0)
		return 0;
	return repair_write_all(fd, rc->sendq, rc->sendq_len);
}

int
repair_close_silently(int fd)
{
	int on = TCP_REPAIR_ON;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

void
repair_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}
