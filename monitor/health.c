/*
 * health: evidence-based failure detection (see health.h).
 *
 * Timeline of a crash with dead_after = 100 ms: the first client segment
 * that the server does not answer starts the clock; at half of dead_after
 * the confirmation probe round starts, quietly (so that it is over by the
 * deadline); at dead_after, if the server has stayed silent and every probe
 * went unanswered, it is declared dead (suspect only while the last probe
 * is still out).  Any frame from the server, or any probe answer,
 * makes it alive again at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "health.h"
#include "log.h"

#define HEALTH_MAX_SERVERS	64
#define HEALTH_NAME_MAX		32

struct health_server {
	struct health		*h;
	int			 idx;
	char			 name[HEALTH_NAME_MAX + 1];
	struct pkt_addr		 addr;
	struct health_params	 p;
	enum health_state	 state;
	double			 since;
	char			 why[160];
	uint8_t			 mac[6];
	int			 has_mac;
	double			 last_server;	/* last frame from it */
	double			 unanswered;	/* first unanswered client frame */
	/* The probe round. */
	int			 probing;	/* a round is under way */
	int			 tries;		/* probes sent this round */
	int			 round_failed;	/* every probe went unanswered */
	int			 idle_round;	/* started by the idle check */
	double			 round_start;
	ev_timer		 evidence;	/* dead_after checks */
	ev_timer		 probe;		/* probe timeout */
	ev_timer		 idle;		/* periodic idle check */
	ev_timer		 silence;	/* quiet after a client ACK */
	/* TCP probe in flight. */
	int			 tcp_fd;
	int			 paused;	/* this host holds its address */
	struct log_ratelimit	 rl_dead_frames;
	ev_io			 tcp_io;
};

struct health {
	struct ev_loop		*loop;
	health_change_cb	 cb;
	void			*arg;
	struct health_server	 srv[HEALTH_MAX_SERVERS];
	int			 nsrv;
	struct health_prober	 prober;
	/* The built-in ARP prober. */
	int			 arp_fd;
	ev_io			 arp_io;
	int			 ifindex;
	uint8_t			 ifmac[6];
	struct in_addr		 ifaddr;
};

static int health_builtin_start(void *arg, int server, int method);

void
health_params_default(struct health_params *p)
{
	p->dead_after = 100;
	p->probe_interval = 1000;
	p->probe_timeout = 10;
	p->probe_tries = 3;
	p->probe_methods = HEALTH_PROBE_ARP;
	p->probe_port = 22;
}

const char *
health_state_str(enum health_state s)
{
	switch (s) {
	case HEALTH_UNKNOWN:	return "unknown";
	case HEALTH_ALIVE:	return "alive";
	case HEALTH_SUSPECT:	return "suspect";
	case HEALTH_DEAD:	return "dead";
	default:		return "?";
	}
}

static void
health_set(struct health_server *s, enum health_state to, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
health_set(struct health_server *s, enum health_state to, const char *fmt, ...)
{
	enum health_state from = s->state;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	if (from == to)
		return;
	s->state = to;
	s->since = ev_now(s->h->loop);
	if (s->h->cb != NULL)
		s->h->cb(s->h->arg, s->idx, from, to, s->why);
}

static void
health_tcp_done(struct health_server *s)
{
	if (s->tcp_fd != -1) {
		ev_io_stop(s->h->loop, &s->tcp_io);
		close(s->tcp_fd);
		s->tcp_fd = -1;
	}
}

static void
health_round_end(struct health_server *s)
{
	s->probing = 0;
	ev_timer_stop(s->h->loop, &s->probe);
	health_tcp_done(s);
}

/* Send the next probe of the round, or conclude it. */
static void
health_probe_next(struct health_server *s)
{
	struct health *h = s->h;
	int methods = s->p.probe_methods, sent = 0;

	if (s->tries >= s->p.probe_tries) {
		double now = ev_now(h->loop);

		health_round_end(s);
		s->round_failed = 1;
		if (s->idle_round && s->state == HEALTH_UNKNOWN) {
			/*
			 * Never seen alive: nothing to take over, and more
			 * likely a wrong address or interface than a death.
			 */
			snprintf(s->why, sizeof(s->why), "never seen; %d "
			    "probes went unanswered", s->tries);
			return;
		}
		if (s->idle_round) {
			health_set(s, HEALTH_DEAD, "idle, and %d probes in "
			    "%.0f ms went unanswered", s->tries,
			    (now - s->round_start) * 1000);
			return;
		}
		/* Evidence of a crash: dead once dead_after has passed. */
		if (now - s->unanswered >= s->p.dead_after / 1000)
			health_set(s, HEALTH_DEAD, "client data unanswered "
			    "for %.0f ms, server silent, %d probes "
			    "unanswered", (now - s->unanswered) * 1000,
			    s->tries);
		return;
	}
	s->tries++;
	if ((methods & HEALTH_PROBE_ARP) && h->prober.start(h->prober.arg,
	    s->idx, HEALTH_PROBE_ARP) == 0)
		sent++;
	if ((methods & HEALTH_PROBE_TCP) && h->prober.start(h->prober.arg,
	    s->idx, HEALTH_PROBE_TCP) == 0)
		sent++;
	if (sent == 0)
		log_warn("health: %s: cannot send a probe", s->name);
	ev_timer_set(&s->probe, s->p.probe_timeout / 1000, 0.);
	ev_timer_start(h->loop, &s->probe);
}

static void
health_round_start(struct health_server *s, int idle)
{
	if (s->probing)
		return;
	s->probing = 1;
	s->tries = 0;
	s->round_failed = 0;
	s->idle_round = idle;
	s->round_start = ev_now(s->h->loop);
	health_probe_next(s);
}

static void
health_probe_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_server *s = w->data;

	(void)loop;
	(void)revents;
	health_tcp_done(s);
	health_probe_next(s);
}

/* The server is alive: any evidence of death is void. */
static void
health_alive(struct health_server *s, const char *how)
{
	s->unanswered = 0;
	s->round_failed = 0;
	ev_timer_stop(s->h->loop, &s->evidence);
	if (s->probing)
		health_round_end(s);
	if (s->state != HEALTH_ALIVE)
		health_set(s, HEALTH_ALIVE, "%s", how);
}

static void
health_evidence_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_server *s = w->data;
	double now = ev_now(loop), waited;

	(void)revents;
	if (s->unanswered == 0 || s->state == HEALTH_DEAD || s->paused)
		return;
	waited = now - s->unanswered;
	if (waited < s->p.dead_after / 2000) {
		ev_timer_set(w, s->p.dead_after / 2000 - waited, 0.);
		ev_timer_start(loop, w);
		return;
	}
	if (waited < s->p.dead_after / 1000) {
		/*
		 * Half way: confirm quietly, so that the answer is in by the
		 * deadline.  A lossy capture makes this common; it is not
		 * worth an event unless the probe fails too.
		 */
		health_round_start(s, 0);
		ev_timer_set(w, s->p.dead_after / 1000 - waited, 0.);
		ev_timer_start(loop, w);
		return;
	}
	if (s->round_failed)
		health_set(s, HEALTH_DEAD, "client data unanswered for %.0f "
		    "ms, server silent, %d probes unanswered", waited * 1000,
		    s->tries);
	else {
		/* Evidence complete, confirmation still pending. */
		health_set(s, HEALTH_SUSPECT, "client data unanswered for "
		    "%.0f ms, confirming", waited * 1000);
		health_round_start(s, 0);	/* no-op if under way */
	}
}

/*
 * A client ACK means the server sent something just before.  If the server
 * then stays silent for dead_after, probe it: a crash in the middle of a
 * bulk transfer leaves no unanswered client data to time.
 */
static void
health_silence_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_server *s = w->data;
	double now = ev_now(loop);

	(void)revents;
	if (s->state == HEALTH_DEAD || s->probing || s->paused)
		return;
	if (now - s->last_server >= s->p.dead_after / 1000)
		health_round_start(s, 1);
}

static void
health_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_server *s = w->data;
	double now = ev_now(loop);

	(void)revents;
	if (s->state == HEALTH_DEAD || s->probing || s->paused)
		return;
	if (s->last_server == 0 ||
	    now - s->last_server >= s->p.probe_interval / 1000)
		health_round_start(s, 1);
}

struct health *
health_new(struct ev_loop *loop, health_change_cb cb, void *arg)
{
	struct health *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->cb = cb;
	h->arg = arg;
	h->arp_fd = -1;
	h->prober.start = health_builtin_start;
	h->prober.arg = h;
	return h;
}

void
health_free(struct health *h)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nsrv; i++) {
		ev_timer_stop(h->loop, &h->srv[i].evidence);
		ev_timer_stop(h->loop, &h->srv[i].probe);
		ev_timer_stop(h->loop, &h->srv[i].idle);
		ev_timer_stop(h->loop, &h->srv[i].silence);
		health_tcp_done(&h->srv[i]);
	}
	if (h->arp_fd != -1) {
		ev_io_stop(h->loop, &h->arp_io);
		close(h->arp_fd);
	}
	free(h);
}

void
health_set_prober(struct health *h, const struct health_prober *pr)
{
	h->prober = *pr;
}

int
health_add_server(struct health *h, const char *name,
    const struct pkt_addr *addr, const struct health_params *p)
{
	struct health_server *s;

	if (h->nsrv == HEALTH_MAX_SERVERS)
		return -1;
	s = &h->srv[h->nsrv];
	memset(s, 0, sizeof(*s));
	s->h = h;
	s->idx = h->nsrv;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->addr = *addr;
	s->p = *p;
	if (addr->family != AF_INET && (s->p.probe_methods &
	    HEALTH_PROBE_ARP)) {
		/* No ARP for IPv6: confirm with TCP instead. */
		s->p.probe_methods = HEALTH_PROBE_TCP;
	}
	s->state = HEALTH_UNKNOWN;
	s->since = ev_now(h->loop);
	s->tcp_fd = -1;
	s->rl_dead_frames.interval = 10;
	snprintf(s->why, sizeof(s->why), "no traffic seen yet");
	ev_timer_init(&s->evidence, health_evidence_cb, 0., 0.);
	s->evidence.data = s;
	ev_timer_init(&s->probe, health_probe_timeout_cb, 0., 0.);
	s->probe.data = s;
	/* Check four times per interval, so silence is caught on time. */
	ev_timer_init(&s->idle, health_idle_cb, p->probe_interval / 4000,
	    p->probe_interval / 4000);
	s->idle.data = s;
	ev_timer_start(h->loop, &s->idle);
	ev_timer_init(&s->silence, health_silence_cb, 0., 0.);
	s->silence.data = s;
	return h->nsrv++;
}

int
health_reconf(struct health *h, int n, const int *old_of_new,
    const char *const *names, const struct pkt_addr *addrs,
    const struct health_params *params)
{
	struct health_server *old;
	int i, nold = h->nsrv;

	if (n < 0 || n > HEALTH_MAX_SERVERS)
		return -1;
	if ((old = calloc((size_t)(nold > 0 ? nold : 1), sizeof(*old))) ==
	    NULL)
		return -1;
	for (i = 0; i < nold; i++) {
		struct health_server *s = &h->srv[i];

		health_round_end(s);
		ev_timer_stop(h->loop, &s->evidence);
		ev_timer_stop(h->loop, &s->idle);
		ev_timer_stop(h->loop, &s->silence);
		old[i] = *s;		/* plain values only from here on */
	}
	h->nsrv = 0;
	for (i = 0; i < n; i++) {
		struct health_server *s, *o;
		int j = old_of_new[i];

		(void)health_add_server(h, names[i], &addrs[i], &params[i]);
		if (j < 0 || j >= nold ||
		    memcmp(&old[j].addr, &addrs[i], sizeof(addrs[i])) != 0)
			continue;
		s = &h->srv[i];
		o = &old[j];
		s->state = o->state;
		s->since = o->since;
		memcpy(s->why, o->why, sizeof(s->why));
		memcpy(s->mac, o->mac, sizeof(s->mac));
		s->has_mac = o->has_mac;
		s->last_server = o->last_server;
		s->unanswered = o->unanswered;
		s->paused = o->paused;
		s->rl_dead_frames = o->rl_dead_frames;
		/* Evidence under way is judged again, at once, by the new rules. */
		if (s->unanswered != 0 && s->state != HEALTH_DEAD) {
			ev_timer_set(&s->evidence, 0., 0.);
			ev_timer_start(h->loop, &s->evidence);
		}
	}
	explicit_bzero(old, (size_t)(nold > 0 ? nold : 1) * sizeof(*old));
	free(old);
	return 0;
}

void
health_frame(struct health *h, int server, int from_server, int wants_answer,
    const uint8_t *mac, double ts)
{
	struct health_server *s;

	if (server < 0 || server >= h->nsrv)
		return;
	s = &h->srv[server];
	if (s->paused)
		return;
	if (from_server) {
		if (mac != NULL) {
			memcpy(s->mac, mac, 6);
			s->has_mac = 1;
		}
		if (ts > s->last_server)
			s->last_server = ts;
		if (s->state == HEALTH_DEAD)
			log_limited(&s->rl_dead_frames, LOG_NOTICE, "health: "
			    "%s: frames from a server declared dead", s->name);
		else
			health_alive(s, "traffic from the server");
		return;
	}
	if (s->state == HEALTH_DEAD)
		return;
	if (!wants_answer) {
		if (!ev_is_active(&s->silence)) {
			ev_timer_set(&s->silence, s->p.dead_after / 1000, 0.);
			ev_timer_start(h->loop, &s->silence);
		}
		return;
	}
	if (s->unanswered != 0)
		return;
	/* The first client frame the server has not answered yet. */
	s->unanswered = ts;
	ev_timer_stop(h->loop, &s->evidence);
	ev_timer_set(&s->evidence, s->p.dead_after / 2000, 0.);
	ev_timer_start(h->loop, &s->evidence);
}

void
health_pause(struct health *h, int server, int paused, const char *why)
{
	struct health_server *s;

	if (server < 0 || server >= h->nsrv)
		return;
	s = &h->srv[server];
	if (s->paused == paused)
		return;
	s->paused = paused;
	/* Whatever was known of it is void either way. */
	health_round_end(s);
	ev_timer_stop(h->loop, &s->evidence);
	ev_timer_stop(h->loop, &s->silence);
	s->unanswered = 0;
	s->round_failed = 0;
	s->last_server = 0;
	s->has_mac = 0;
	memset(s->mac, 0, sizeof(s->mac));
	if (!paused)
		health_set(s, HEALTH_UNKNOWN, "%s", why);
}

void
health_probe_answer(struct health *h, int server, int alive, const char *how)
{
	struct health_server *s;

	if (server < 0 || server >= h->nsrv)
		return;
	s = &h->srv[server];
	if (!alive || s->state == HEALTH_DEAD || s->paused)
		return;
	s->last_server = ev_now(h->loop);
	health_alive(s, how);
}

void
health_force_dead(struct health *h, int server, const char *why)
{
	if (server < 0 || server >= h->nsrv)
		return;
	health_round_end(&h->srv[server]);
	health_set(&h->srv[server], HEALTH_DEAD, "%s", why);
}

enum health_state
health_get(const struct health *h, int server, double *since,
    const char **why)
{
	const struct health_server *s = &h->srv[server];

	if (since != NULL)
		*since = s->since;
	if (why != NULL)
		*why = s->why;
	return s->state;
}

/* The built-in prober: ARP over a packet socket, TCP with connect(). */

static void
health_arp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health *h = w->data;
	uint8_t pkt[128], sha[6], spa[4];
	uint16_t htype, ptype, op;
	uint8_t hlen, plen;
	struct buf b;
	ssize_t n;
	int i, burst;

	(void)loop;
	(void)revents;
	for (burst = 0; burst < 64; burst++) {
		n = recv(h->arp_fd, pkt, sizeof(pkt), MSG_DONTWAIT);
		if (n <= 0)
			return;
		buf_view(&b, pkt, (size_t)n);
		if (buf_get_u16(&b, &htype) != 0 ||
		    buf_get_u16(&b, &ptype) != 0 ||
		    buf_get_u8(&b, &hlen) != 0 || buf_get_u8(&b, &plen) != 0 ||
		    buf_get_u16(&b, &op) != 0 || htype != 1 ||
		    ptype != 0x0800 || hlen != 6 || plen != 4 || op != 2 ||
		    buf_get(&b, sha, 6) != 0 || buf_get(&b, spa, 4) != 0)
			continue;
		for (i = 0; i < h->nsrv; i++) {
			struct health_server *s = &h->srv[i];

			if (s->addr.family != AF_INET ||
			    memcmp(s->addr.a, spa, 4) != 0)
				continue;
			memcpy(s->mac, sha, 6);
			s->has_mac = 1;
			health_probe_answer(h, i, 1, "answered ARP probe");
		}
	}
}

int
health_open_interface(struct health *h, const char *ifname, char *err,
    size_t errlen)
{
	struct sockaddr_ll sll;
	struct ifaddrs *ifa, *i;
	struct ifreq ifr;
	int fd, found = 0;

	if ((fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    htons(ETH_P_ARP))) == -1) {
		snprintf(err, errlen, "ARP probe socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) == -1) {
		snprintf(err, errlen, "%s: %s", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	h->ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == -1) {
		snprintf(err, errlen, "%s: no hardware address: %s", ifname,
		    strerror(errno));
		close(fd);
		return -1;
	}
	memcpy(h->ifmac, ifr.ifr_hwaddr.sa_data, 6);
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next)
			if (i->ifa_addr != NULL &&
			    i->ifa_addr->sa_family == AF_INET &&
			    strcmp(i->ifa_name, ifname) == 0) {
				h->ifaddr = ((struct sockaddr_in *)
				    i->ifa_addr)->sin_addr;
				found = 1;
				break;
			}
		freeifaddrs(ifa);
	}
	if (!found)
		log_warn("health: %s has no IPv4 address: ARP probes are "
		    "sent from 0.0.0.0", ifname);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = h->ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		snprintf(err, errlen, "ARP probe socket: bind: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	h->arp_fd = fd;
	ev_io_init(&h->arp_io, health_arp_cb, fd, EV_READ);
	h->arp_io.data = h;
	ev_io_start(h->loop, &h->arp_io);
	return 0;
}

static int
health_send_arp(struct health *h, struct health_server *s)
{
	struct sockaddr_ll sll;
	uint8_t frame[28];
	struct buf b;

	if (h->arp_fd == -1 || s->addr.family != AF_INET)
		return -1;
	buf_init(&b, sizeof(frame));
	buf_put_u16(&b, 1);			/* Ethernet */
	buf_put_u16(&b, 0x0800);		/* IPv4 */
	buf_put_u8(&b, 6);
	buf_put_u8(&b, 4);
	buf_put_u16(&b, 1);			/* request */
	buf_put(&b, h->ifmac, 6);
	buf_put(&b, &h->ifaddr, 4);
	buf_put(&b, "\0\0\0\0\0\0", 6);
	buf_put(&b, s->addr.a, 4);
	memcpy(frame, buf_ptr(&b), sizeof(frame));
	buf_free(&b);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = h->ifindex;
	sll.sll_halen = 6;
	/* Unicast to the server's MAC when known: only it may answer. */
	if (s->has_mac)
		memcpy(sll.sll_addr, s->mac, 6);
	else
		memset(sll.sll_addr, 0xff, 6);
	if (sendto(h->arp_fd, frame, sizeof(frame), 0,
	    (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)sizeof(frame)) {
		log_warn("health: %s: ARP probe: %s", s->name,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
health_tcp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health_server *s = w->data;
	socklen_t len = sizeof(int);
	int e = 0;

	(void)loop;
	(void)revents;
	if (getsockopt(s->tcp_fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	health_tcp_done(s);
	/* An accept or a refusal both prove a live kernel. */
	if (e == 0 || e == ECONNREFUSED)
		health_probe_answer(s->h, s->idx, 1, e == 0 ?
		    "accepted TCP probe" : "refused TCP probe");
}

static int
health_send_tcp(struct health *h, struct health_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	health_tcp_done(s);
	memset(&ss, 0, sizeof(ss));
	if (s->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, s->addr.a, 4);
		sin->sin_port = htons(s->p.probe_port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, s->addr.a, 16);
		sin6->sin6_port = htons(s->p.probe_port);
		sl = sizeof(*sin6);
	}
	fd = socket(s->addr.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0 ||
	    errno == ECONNREFUSED) {
		close(fd);
		health_probe_answer(h, s->idx, 1, "TCP probe answered");
		return 0;
	}
	if (errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	s->tcp_fd = fd;
	ev_io_init(&s->tcp_io, health_tcp_cb, fd, EV_WRITE);
	s->tcp_io.data = s;
	ev_io_start(h->loop, &s->tcp_io);
	return 0;
}

static int
health_builtin_start(void *arg, int server, int method)
{
	struct health *h = arg;

	if (method == HEALTH_PROBE_ARP)
		return health_send_arp(h, &h->srv[server]);
	return health_send_tcp(h, &h->srv[server]);
}
