/*
 * export: the export record listener (see export.h).  Each connection reads
 * exactly one record at a time into a fixed buffer (framing by
 * seal_record_length()), so nothing an exporter sends can make it hold more
 * than one record; acknowledgements queue in a small buffer, and a peer that
 * does not read them stops being read.  Records are opened in the order of
 * docs/export-format.md section 5; only accepted ones reach the keystore.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "export.h"
#include "log.h"
#include "store.h"

#define EXPORT_FRAME_PREFIX	10	/* bytes seal_record_length() needs */
#define EXPORT_OUT_MAX		(64 * EXPORT_ACK_LEN)	/* queued acks */
#define EXPORT_BURST		32	/* records per read callback */
#define EXPORT_ACCEPT_BURST	16
#define EXPORT_KEEPIDLE		60	/* TCP keepalive: idle seconds, */
#define EXPORT_KEEPINTVL	10	/* probe interval, */
#define EXPORT_KEEPCNT		6	/* and unanswered probes */
#define EXPORT_LOG_INTERVAL	10	/* seconds between similar lines */

struct export_conn {
	ev_io			 rio;
	ev_io			 wio;
	ev_timer		 timer;		/* for a started record */
	int			 fd;
	struct conf_addr	 peer;
	char			 peer_str[INET6_ADDRSTRLEN + 8];
	uint64_t		 serial;	/* order of arrival */
	uint8_t			 in[SEAL_RECORD_MAX];
	size_t			 have;
	size_t			 need;		/* 0: length not known yet */
	struct buf		 out;		/* acknowledgements to send */
	int			 paused;	/* not reading: acks pile up */
	int			 draining;	/* peer is done: flush, close */
	struct export_conn	*next;
};

static struct {
	struct ev_loop			*loop;
	const struct conf		*conf;
	const struct keystore_keys	*keys;
	struct keystore			*ks;
	int				 fd;
	ev_io				 listen_io;
	struct export_conn		*conns;
	uint64_t			 serial;
	struct export_stats		 stats;
	struct log_ratelimit		 rl_server[CONF_MAX_SERVERS];
	struct log_ratelimit		 rl_dup[CONF_MAX_SERVERS];
	struct log_ratelimit		 rl_peer;
	struct log_ratelimit		 rl_refused;
} ex = { .fd = -1 };

/* Fingerprints for the debug line */

static void
export_fp(const uint8_t *p, size_t len, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 8) {
		snprintf(out, 17, "%s", "?");
		return;
	}
	for (i = 0; i < 8; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[16] = '\0';
	explicit_bzero(md, sizeof(md));
}

int
export_keys_line(const struct seal_keyrec *kr, char *buf, size_t len)
{
	char sid[17], ck[17], civ[17], cmac[17], sk[17], siv[17], smac[17];
	int n;

	export_fp(kr->session_id, kr->session_id_len, sid);
	export_fp(kr->c2s.enc_key, kr->c2s.enc_key_len, ck);
	export_fp(kr->c2s.iv, kr->c2s.iv_len, civ);
	export_fp(kr->c2s.mac_key, kr->c2s.mac_key_len, cmac);
	export_fp(kr->s2c.enc_key, kr->s2c.enc_key_len, sk);
	export_fp(kr->s2c.iv, kr->s2c.iv_len, siv);
	export_fp(kr->s2c.mac_key, kr->s2c.mac_key_len, smac);
	n = snprintf(buf, len, "failover-keys conn=%016llx kex=%u sid=%s "
	    "c2s=%s/%s/%s/%u s2c=%s/%s/%s/%u strict=%d",
	    (unsigned long long)kr->conn_id, kr->kex_number, sid, ck, civ,
	    cmac, kr->c2s.start_seqnr, sk, siv, smac, kr->s2c.start_seqnr,
	    kr->c2s.strict_kex);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Connections */

static void
export_addr_from_sockaddr(const struct sockaddr_storage *ss,
    struct conf_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		a->family = AF_INET;
		a->u.v4 = sin->sin_addr;
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		*port = ntohs(sin6->sin6_port);
		/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(&a->u.v4, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = AF_INET6;
			a->u.v6 = sin6->sin6_addr;
		}
	}
}

static int
export_peer_allowed(const struct conf_addr *a)
{
	size_t i;

	for (i = 0; i < ex.conf->nservers; i++)
		if (conf_server_export_from(&ex.conf->servers[i], a))
			return 1;
	return 0;
}

static void
export_conn_close(struct export_conn *ec)
{
	struct export_conn **pp;

	for (pp = &ex.conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ec) {
			*pp = ec->next;
			break;
		}
	}
	ev_io_stop(ex.loop, &ec->rio);
	ev_io_stop(ex.loop, &ec->wio);
	ev_timer_stop(ex.loop, &ec->timer);
	close(ec->fd);
	buf_free(&ec->out);
	free(ec);
	ex.stats.conns--;
}

/*
 * Close after one last try to send the acks already queued: the records
 * they answer were taken, and the exporter should not have to resend them.
 */
static void
export_conn_abort(struct export_conn *ec)
{
	if (buf_len(&ec->out) > 0)
		(void)send(ec->fd, buf_ptr(&ec->out), buf_len(&ec->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	export_conn_close(ec);
}

/* Send queued acks; 0, or -1 if the connection was closed. */
static int
export_flush(struct export_conn *ec)
{
	ssize_t n;

	while (buf_len(&ec->out) > 0) {
		n = send(ec->fd, buf_ptr(&ec->out), buf_len(&ec->out),
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			debug_f("%s: %s", ec->peer_str, strerror(errno));
			export_conn_close(ec);
			return -1;
		}
		buf_skip(&ec->out, (size_t)n);
	}
	if (buf_len(&ec->out) > 0) {
		ev_io_start(ex.loop, &ec->wio);
		return 0;
	}
	ev_io_stop(ex.loop, &ec->wio);
	if (ec->draining) {
		export_conn_close(ec);
		return -1;
	}
	if (ec->paused) {
		ec->paused = 0;
		ev_io_start(ex.loop, &ec->rio);
	}
	return 0;
}

static void
export_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)export_flush(w->data);
}

static void
export_ack(struct export_conn *ec, const struct seal_header *hdr,
    uint8_t status)
{
	static const uint8_t zero[3];

	/* Never fails: the read side stops before the queue can fill. */
	if (buf_put(&ec->out, "SJA1", 4) != 0 ||
	    buf_put_u8(&ec->out, status) != 0 ||
	    buf_put(&ec->out, zero, sizeof(zero)) != 0 ||
	    buf_put_u64(&ec->out, hdr->conn_id) != 0 ||
	    buf_put_u64(&ec->out, hdr->counter) != 0)
		error_f("%s: ack queue full", ec->peer_str);
	switch (status) {
	case EXPORT_ACK_ACCEPTED:
		ex.stats.accepted++;
		break;
	case EXPORT_ACK_DUPLICATE:
		ex.stats.duplicates++;
		break;
	default:
		ex.stats.rejected++;
		break;
	}
}

static struct log_ratelimit *
export_rl(int server)
{
	if (server >= 0 && server < CONF_MAX_SERVERS)
		return &ex.rl_server[server];
	return &ex.rl_peer;
}

/*
 * Answer a record that is not accepted: status 1 for an authentic
 * duplicate, 2 for anything else; one rate-limited line either way.  r is
 * the seal error, or SEAL_OK when detail alone says why.
 */
static int
export_refuse(struct export_conn *ec, int server,
    const struct seal_header *hdr, int r, const char *detail)
{
	char why[256];
	int dup = r == SEAL_ERR_REPLAY;

	if (r == SEAL_OK)
		snprintf(why, sizeof(why), "%s", detail);
	else if (detail != NULL)
		snprintf(why, sizeof(why), "%s (%s)", seal_strerror(r),
		    detail);
	else
		snprintf(why, sizeof(why), "%s", seal_strerror(r));
	/* Duplicates are normal after a reconnect: not to hide rejections. */
	if (server >= 0)
		log_limited(dup ? &ex.rl_dup[server] : export_rl(server),
		    dup ? LOG_NOTICE : LOG_WARNING,
		    "export: server %s (peer %s): record %016llx#%llu %s: %s",
		    ex.conf->servers[server].name, ec->peer_str,
		    (unsigned long long)hdr->conn_id,
		    (unsigned long long)hdr->counter,
		    dup ? "is a duplicate" : "rejected", why);
	else
		log_limited(export_rl(server), LOG_WARNING,
		    "export: peer %s (sender \"%s\"): record %016llx#%llu "
		    "rejected: %s", ec->peer_str, hdr->sender,
		    (unsigned long long)hdr->conn_id,
		    (unsigned long long)hdr->counter, why);
	export_ack(ec, hdr, dup ? EXPORT_ACK_DUPLICATE : EXPORT_ACK_REJECTED);
	return 0;
}

/*
 * A failure of ours, not of the record: close without an ack, so that the
 * exporter sends the record again on its next connection.
 */
static int
export_fail(struct export_conn *ec, int server, const struct seal_header *hdr,
    const char *why)
{
	log_limited(export_rl(server), LOG_ERR, "export: %s%s (peer %s): "
	    "cannot take record %016llx#%llu: %s; closing the connection "
	    "so that it is sent again", server >= 0 ? "server " : "",
	    server >= 0 ? ex.conf->servers[server].name : "", ec->peer_str,
	    (unsigned long long)hdr->conn_id,
	    (unsigned long long)hdr->counter, why);
	export_conn_abort(ec);
	return -1;
}

static void
export_log_accepted(int server, const struct seal_header *hdr,
    const char *keys_line)
{
	const struct keystore_conn *kc;
	const char *name = ex.conf->servers[server].name;
	char cli[INET6_ADDRSTRLEN];

	kc = keystore_conn(ex.ks, (size_t)server, hdr->conn_id);
	if (kc == NULL)
		return;
	if (kc->closed)
		log_info("export: %s connection %016llx ended after %llu "
		    "records: keys wiped", name,
		    (unsigned long long)hdr->conn_id,
		    (unsigned long long)kc->nrecords);
	else if (kc->nrecords == 1) {
		if (inet_ntop(kc->family == SEAL_AF_INET6 ? AF_INET6 :
		    AF_INET, kc->client.addr, cli, sizeof(cli)) == NULL)
			snprintf(cli, sizeof(cli), "?");
		log_info("export: %s connection %016llx from %s port %u: "
		    "keys received (%s)", name,
		    (unsigned long long)hdr->conn_id, cli, kc->client.port,
		    kc->c2s_cipher);
	}
	if (keys_line != NULL)
		log_debug("export: %s record %llu: %s", name,
		    (unsigned long long)hdr->counter, keys_line);
}

/* Handle the complete record in ec->in; -1 if the connection was closed. */
static int
export_record(struct export_conn *ec)
{
	const struct conf_server *s;
	const uint8_t *rec = ec->in;
	size_t len = ec->need;
	struct seal_header hdr, peeked;
	struct seal_keyrec *kr = NULL;
	struct buf pt;
	char line[256], *keys_line = NULL;
	int idx, r, have_last, closed;
	uint64_t last;

	ex.stats.received++;
	/* 1. The unauthenticated header, only to pick the pinned key. */
	if ((r = seal_peek_header(rec, len, &peeked)) != SEAL_OK) {
		memset(&peeked, 0, sizeof(peeked));
		return export_refuse(ec, -1, &peeked, r, NULL);
	}
	if ((idx = conf_server_index(ex.conf, peeked.sender)) < 0)
		return export_refuse(ec, -1, &peeked, SEAL_ERR_SENDER,
		    "no server of that name");
	s = &ex.conf->servers[idx];
	if (!conf_server_export_from(s, &ec->peer))
		return export_refuse(ec, idx, &peeked, SEAL_ERR_SENDER,
		    "the peer is not one of its export_from addresses");
	if (ex.keys->signing[idx] == NULL)
		return export_refuse(ec, idx, &peeked, SEAL_ERR_KEY,
		    "no signing_key configured");
	/* 2-3. Signature, decryption, payload; hdr is authenticated. */
	buf_init(&pt, SEAL_PAYLOAD_MAX);
	buf_set_secret(&pt);
	r = seal_open(rec, len, ex.keys->recovery, ex.keys->signing[idx],
	    s->name, &hdr, &pt);
	if (r == SEAL_OK)
		r = seal_keyrec_decode(buf_ptr(&pt), buf_len(&pt), &hdr, &kr);
	buf_free(&pt);
	if (r == SEAL_ERR_NOMEM || r == SEAL_ERR_CRYPTO)
		return export_fail(ec, idx, &peeked, seal_strerror(r));
	if (r != SEAL_OK)
		return export_refuse(ec, idx, &peeked, r, NULL);
	/* 4. Freshness: the counter. */
	if (keystore_last(ex.ks, (size_t)idx, hdr.conn_id, &have_last, &last,
	    &closed) != KEYSTORE_OK) {
		seal_keyrec_free(kr);
		return export_fail(ec, idx, &hdr,
		    keystore_strerror(KEYSTORE_ERR_STORE));
	}
	if (closed && hdr.counter > last)
		r = SEAL_ERR_REORDER;
	else
		r = seal_replay_check(have_last, last, hdr.counter);
	/* 5. Freshness: the signed time. */
	if (r == SEAL_OK)
		r = seal_age_check(&hdr, time(NULL), ex.conf->export_max_age);
	if (r != SEAL_OK) {
		seal_keyrec_free(kr);
		return export_refuse(ec, idx, &hdr, r, closed &&
		    r == SEAL_ERR_REORDER ? "the connection has ended" : NULL);
	}
	if (log_debug_enabled() && !kr->closed && !kr->drain &&
	    export_keys_line(kr, line, sizeof(line)) == 0)
		keys_line = line;
	/* 6. Keep it; kr belongs to the keystore from here on. */
	r = keystore_put(ex.ks, (size_t)idx, &hdr, rec, len, kr,
	    store_now_us());
	kr = NULL;
	if (r == KEYSTORE_ERR_STORE || r == KEYSTORE_ERR_NOMEM)
		return export_fail(ec, idx, &hdr, keystore_strerror(r));
	if (r != KEYSTORE_OK)
		return export_refuse(ec, idx, &hdr, SEAL_OK,
		    keystore_strerror(r));
	export_log_accepted(idx, &hdr, keys_line);
	export_ack(ec, &hdr, EXPORT_ACK_ACCEPTED);
	return 0;
}

static void
export_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct export_conn *ec = w->data;

	(void)loop;
	(void)revents;
	log_limited(&ex.rl_peer, LOG_WARNING, "export: peer %s: record not "
	    "complete after %.0f s (%zu of %zu bytes), closing", ec->peer_str,
	    EXPORT_RECORD_TIMEOUT, ec->have, ec->need);
	export_conn_close(ec);
}

static void
export_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct export_conn *ec = w->data;
	size_t want, total;
	ssize_t n;
	int r, records = 0;

	(void)loop;
	(void)revents;
	while (records < EXPORT_BURST) {
		if (buf_len(&ec->out) > EXPORT_OUT_MAX - EXPORT_ACK_LEN) {
			/* The peer is not reading its acks: wait for it. */
			ec->paused = 1;
			ev_io_stop(ex.loop, &ec->rio);
			break;
		}
		want = ec->need != 0 ? ec->need : EXPORT_FRAME_PREFIX;
		n = recv(ec->fd, ec->in + ec->have, want - ec->have, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1) {
			debug_f("%s: %s", ec->peer_str, strerror(errno));
			export_conn_close(ec);
			return;
		}
		if (n == 0) {
			if (ec->have > 0)
				log_limited(&ex.rl_peer, LOG_WARNING,
				    "export: peer %s: connection closed in "
				    "the middle of a record", ec->peer_str);
			ev_io_stop(ex.loop, &ec->rio);
			ev_timer_stop(ex.loop, &ec->timer);
			ec->draining = 1;
			break;
		}
		if (ec->have == 0) {
			ev_timer_set(&ec->timer, EXPORT_RECORD_TIMEOUT, 0.);
			ev_timer_start(ex.loop, &ec->timer);
		}
		ec->have += (size_t)n;
		if (ec->need == 0 && ec->have == EXPORT_FRAME_PREFIX) {
			if ((r = seal_record_length(ec->in, ec->have,
			    &total)) != SEAL_OK) {
				/* Nothing after this can be aligned. */
				ex.stats.received++;
				ex.stats.rejected++;
				log_limited(&ex.rl_peer, LOG_WARNING,
				    "export: peer %s: cannot frame a record "
				    "(%s), closing the connection",
				    ec->peer_str, seal_strerror(r));
				export_conn_abort(ec);
				return;
			}
			ec->need = total;
		}
		if (ec->need != 0 && ec->have == ec->need) {
			ev_timer_stop(ex.loop, &ec->timer);
			if (export_record(ec) != 0)
				return;
			ec->have = ec->need = 0;
			records++;
		}
	}
	(void)export_flush(ec);
}

static void
export_set_sockopts(int fd)
{
	int on = 1, idle = EXPORT_KEEPIDLE, intvl = EXPORT_KEEPINTVL,
	    cnt = EXPORT_KEEPCNT;

	/* Acks are small and the exporter waits for them. */
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		debug_f("setsockopt: %s", strerror(errno));
}

/* At most EXPORT_MAX_PER_PEER from one address: the oldest gives way. */
static void
export_limit_peer(const struct conf_addr *peer)
{
	struct export_conn *ec, *oldest = NULL;
	int n = 0;

	for (ec = ex.conns; ec != NULL; ec = ec->next) {
		if (!conf_addr_equal(&ec->peer, peer))
			continue;
		n++;
		if (oldest == NULL || ec->serial < oldest->serial)
			oldest = ec;
	}
	if (n >= EXPORT_MAX_PER_PEER && oldest != NULL) {
		log_limited(&ex.rl_peer, LOG_NOTICE, "export: peer %s: more "
		    "than %d connections, closing the oldest",
		    oldest->peer_str, EXPORT_MAX_PER_PEER);
		export_conn_close(oldest);
	}
}

static void
export_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockaddr_storage ss;
	struct export_conn *ec;
	struct conf_addr peer;
	socklen_t sl;
	uint16_t port;
	char a[INET6_ADDRSTRLEN];
	int fd, i;

	(void)w;
	(void)revents;
	for (i = 0; i < EXPORT_ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(ex.fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_limited(&ex.rl_refused, LOG_WARNING,
				    "export: accept: %s", strerror(errno));
			return;
		}
		export_addr_from_sockaddr(&ss, &peer, &port);
		conf_addr_str(&peer, a, sizeof(a));
		if (!export_peer_allowed(&peer)) {
			ex.stats.refused++;
			log_limited(&ex.rl_refused, LOG_WARNING, "export: "
			    "refused connection from %s port %u: not an "
			    "export_from address of any server", a, port);
			close(fd);
			continue;
		}
		export_limit_peer(&peer);
		if (ex.stats.conns >= EXPORT_MAX_CONNS) {
			ex.stats.refused++;
			log_limited(&ex.rl_refused, LOG_WARNING, "export: "
			    "refused connection from %s port %u: already %d "
			    "export connections", a, port, EXPORT_MAX_CONNS);
			close(fd);
			continue;
		}
		if ((ec = calloc(1, sizeof(*ec))) == NULL) {
			log_limited(&ex.rl_refused, LOG_ERR, "export: "
			    "connection from %s: out of memory", a);
			close(fd);
			continue;
		}
		export_set_sockopts(fd);
		ec->fd = fd;
		ec->peer = peer;
		ec->serial = ex.serial++;
		snprintf(ec->peer_str, sizeof(ec->peer_str),
		    peer.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
		buf_init(&ec->out, EXPORT_OUT_MAX);
		ev_io_init(&ec->rio, export_read_cb, fd, EV_READ);
		ev_io_init(&ec->wio, export_write_cb, fd, EV_WRITE);
		ev_init(&ec->timer, export_timeout_cb);
		ec->rio.data = ec->wio.data = ec->timer.data = ec;
		ev_io_start(loop, &ec->rio);
		ec->next = ex.conns;
		ex.conns = ec;
		ex.stats.conns++;
		debug_f("connection from %s", ec->peer_str);
	}
}

void
export_set_conf(const struct conf *c)
{
	ex.conf = c;
}

int
export_init(struct ev_loop *loop, const struct conf *c,
    const struct keystore_keys *keys, struct keystore *ks)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[INET6_ADDRSTRLEN];
	int fd, on = 1, i;

	if (!c->export_enabled)
		return 0;
	if (keys->recovery == NULL) {
		log_error("export: no recovery key loaded");
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (c->export_addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = c->export_addr.u.v4;
		sin->sin_port = htons(c->export_port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = c->export_addr.u.v6;
		sin6->sin6_port = htons(c->export_port);
		sl = sizeof(*sin6);
	}
	conf_addr_str(&c->export_addr, a, sizeof(a));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 64) == -1) {
		log_error("export: cannot listen on %s port %u: %s", a,
		    c->export_port, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	memset(&ex, 0, sizeof(ex));
	ex.loop = loop;
	ex.conf = c;
	ex.keys = keys;
	ex.ks = ks;
	ex.fd = fd;
	for (i = 0; i < CONF_MAX_SERVERS; i++)
		ex.rl_server[i].interval = ex.rl_dup[i].interval =
		    EXPORT_LOG_INTERVAL;
	ex.rl_peer.interval = EXPORT_LOG_INTERVAL;
	ex.rl_refused.interval = EXPORT_LOG_INTERVAL;
	ev_io_init(&ex.listen_io, export_accept_cb, fd, EV_READ);
	ev_io_start(loop, &ex.listen_io);
	return 0;
}

void
export_fini(void)
{
	while (ex.conns != NULL)
		export_conn_close(ex.conns);
	if (ex.fd != -1) {
		ev_io_stop(ex.loop, &ex.listen_io);
		close(ex.fd);
		ex.fd = -1;
	}
}

void
export_get_stats(struct export_stats *st)
{
	*st = ex.stats;
}
