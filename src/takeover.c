/*
 * takeover: fence, rebuild, take the address, hand off (see takeover.h).
 *
 * The order is DESIGN.md section 4's and it matters: no packet may reach a
 * kernel that has no socket for it.  Once the fence has succeeded (or the
 * configuration says `fence none`), in one go on the loop: snapshot every
 * tracked connection of the server and stop tracking them (they are this
 * host's own from now on), pin the neighbour entries, rebuild every socket,
 * add the address and announce it, reset what could not be rebuilt.  Then
 * the hand-offs, at most recover_concurrency starting at once; the first
 * announcement goes before any of them, two more follow on timers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drainrec.h"
#include "fence.h"
#include "handoff.h"
#include "log.h"
#include "rebuild.h"
#include "repair.h"
#include "rpkg.h"
#include "takeover.h"
#include "tcptrack.h"
#include "vip.h"

#define TK_HANDOFF_TIMEOUT	30.0	/* s for a program to start */
/* recover ssh: beyond replay_timeout, when the daemon gives up on it. */
#define TK_REPLAY_MARGIN	5.0	/* s */
#define TK_REPORT_MAX		1000	/* bytes of the report line */
#define TK_UNPIN_AFTER		2.0	/* s after the address is up */
#define TK_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Gratuitous ARPs (or advertisements) after the first, in seconds. */
static const double tk_announce_at[] = { 0.02, 0.2 };
#define TK_ANNOUNCE_MORE	(sizeof(tk_announce_at) / sizeof(tk_announce_at[0]))

enum tk_phase {
	TK_NONE,
	TK_FENCING,
	TK_FENCE_FAILED,
	TK_FENCED,		/* briefly: rebuilding */
	TK_HANDING_OFF,
	TK_DONE,
	TK_FAILED,
	TK_DRAINING,		/* drain command, then the drain records */
};

enum tk_fate {
	TK_PENDING,		/* rebuilt, waiting for its hand-off */
	TK_STARTING,		/* its program is being started */
	TK_RECOVERED,		/* its program runs (or ran) */
	TK_RESET,
	TK_LOST,		/* neither rebuilt nor reset */
};

struct tk_server;

struct tk_conn {
	struct tk_server	*ts;
	size_t			 n;
	struct pkt_addr		 client;
	uint16_t		 cport, sport;
	char			 client_str[INET6_ADDRSTRLEN];
	char			 service_str[INET6_ADDRSTRLEN];
	struct rebuild_plan	 plan;
	int			 has_plan;
	int			 fd;
	enum tk_fate		 fate;
	char			 reason[400];
	uint64_t		 in_bytes, out_bytes, in_off, out_off;
	int64_t			 last_frame_us;
	int64_t			 rebuild_ns;	/* -1: not rebuilt */
	int64_t			 started_us;
	pid_t			 pid;
	int			 status_fd;
	ev_io			 status_io;
	ev_timer		 timeout;
	ev_child		 child;
	int			 exited, exit_status;
	int64_t			 ended_us;
	/* recover ssh */
	int			 ssh;
	struct buf		 pkg;		/* the encoded package (secret) */
	int			 pkg_fd;	/* its memfd while jeebs-replay
						   runs, wiped after */
	size_t			 pkg_messages, pkg_replayed, pkg_channels;
	int			 report_fd;	/* jeebs-replay's fd 4 */
	ev_io			 report_io;
	char			 report[TK_REPORT_MAX + 2];
	size_t			 report_len;
	int			 reported;	/* its numbers are in rep */
	struct takeover_ssh_report rep;
	/* drain: rebuilt from the sshd's own final state */
	int			 drained;
	int64_t			 drain_stop_us;	/* the sshd stopped it */
	int			 handshake;	/* SYN only: nothing to move */
};

/* One connection's drain records, reassembled (docs/drain.md). */
struct tk_drain {
	uint64_t		 conn_id;
	uint8_t			 family;
	struct seal_endpoint	 client, service;
	uint32_t		 nparts, have;
	struct buf		 data;		/* secret */
	int			 complete;	/* decoded into rec */
	int			 bad;
	struct drainrec		 rec;
	double			 arrived;	/* ev_time when complete */
	char			 why[200];	/* bad: why */
	int			 matched;	/* tk_snapshot: a tracked conn */
};

/*
 * A session the tracker does not hold, found for a drain: a drain state
 * (dr) whose connection the capture never picked up, or a connection whose
 * keys are held but that sent no drain state (dr NULL).
 */
struct tk_extra {
	struct tk_drain		*dr;
	uint64_t		 conn_id;
	uint8_t			 family;	/* SEAL_AF_* */
	struct seal_endpoint	 client, service;
	int64_t			 last_us;	/* its latest export record */
};

/* What a drain expects (tk_expect_count()). */
struct tk_expect {
	struct takeover	*t;
	size_t		 server, n;
	struct tcptrack_conn **list;	/* the tracked ones counted */
	size_t		 nlist, alist;
	int		 all;		/* list every tracked conn */
	struct tk_extra	*extra;		/* keystore only, one per tuple */
	size_t		 nextra, aextra;
	const char	*name;
	size_t		 from_syn;	/* counted, tracked from the SYN on */
};

/* A neighbour entry pinned for the takeover. */
struct tk_pin {
	struct pkt_addr		 client;
	struct pkt_addr		 hop;
	uint8_t			 mac[6];
	int			 pinned;
};

struct tk_server {
	struct takeover		*t;
	size_t			 idx;
	const struct conf_server *cs;
	struct pkt_addr		 service;
	enum tk_phase		 phase;
	int64_t			 since_us;
	char			 why[256];
	/* The store row and the strings it points to. */
	struct store_takeover	 row;
	char			 cause[200];
	char			 detail[512];
	char			 fence_result[FENCE_OUTPUT_MAX * 3 + 512];
	struct fence		*fence;
	struct tk_conn		*conns;
	size_t			 nconns, next, starting;
	struct tk_pin		*pins;
	size_t			 npins;
	ev_timer		 announce;
	size_t			 announced;
	int			 unpinned;
	/* maintenance drain */
	int			 draining;
	struct tk_drain		*drains;
	size_t			 ndrains, adrains;
	size_t			 drain_expected;
	ev_timer		 drain_timer;
	double			 drain_deadline;
	int			 drain_cmd_failed;
	char			 drain_output[FENCE_OUTPUT_MAX * 3 + 1];
};

struct takeover {
	struct ev_loop		*loop;
	const struct conf	*conf;
	struct store		*store;
	struct watch		*watch;
	struct vip		*vip;
	struct tk_server	 srv[CONF_MAX_SERVERS];
	size_t			 starting;	/* hand-offs under way, all servers */
	ev_timer		 addr_timer;	/* who holds each address */
};

static void tk_pump(struct takeover *t);
static void tk_unpin_all(struct tk_server *ts);
static void tk_drain_part(void *arg, size_t server,
    const struct keystore_conn *kc, const struct seal_keyrec *kr);
static struct tk_drain *tk_drain_find(struct tk_server *ts,
    const struct tcptrack_conn *c);
static int tk_ssh_prepare_drain(struct sshtrack *st,
    const struct tcptrack_conn *c, const struct conf_server *cs,
    struct tk_drain *dr, double now, struct rebuild_plan *p,
    struct buf *pkg, struct takeover_ssh_info *info, char *why,
    size_t whylen);
struct tk_conn;
struct tk_env;
static void tk_ssh_exited(struct tk_conn *k);
static void tk_env_conn(struct tk_env *e, const struct tk_conn *k);

static const char *
tk_phase_str(enum tk_phase p)
{
	switch (p) {
	case TK_NONE:		return "none";
	case TK_FENCING:	return "fencing";
	case TK_FENCE_FAILED:	return "fence-failed";
	case TK_FENCED:		return "fenced";
	case TK_DRAINING:	return "draining";
	case TK_HANDING_OFF:	return "handing-off";
	case TK_DONE:		return "taken-over";
	case TK_FAILED:		return "takeover-failed";
	default:		return "?";
	}
}

static const char *
tk_fate_str(enum tk_fate f)
{
	switch (f) {
	case TK_PENDING:	return "pending";
	case TK_STARTING:	return "starting";
	case TK_RECOVERED:	return "recovered";
	case TK_RESET:		return "reset";
	case TK_LOST:		return "failed";
	default:		return "?";
	}
}

static int64_t
tk_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
tk_ms(int64_t from_us, int64_t to_us)
{
	return from_us == 0 || to_us == 0 ? 0 : (double)(to_us - from_us) / 1e3;
}

static void
tk_set_phase(struct tk_server *ts, enum tk_phase p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tk_set_phase(struct tk_server *ts, enum tk_phase p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ts->why, sizeof(ts->why), fmt, ap);
	va_end(ap);
	ts->phase = p;
	ts->since_us = store_now_us();
	ts->row.state = tk_phase_str(p);
	snprintf(ts->detail, sizeof(ts->detail), "%s", ts->why);
	store_put_server_state(ts->t->store, ts->cs->name, ts->row.state,
	    ts->since_us);
}

static void
tk_row_save(struct tk_server *ts)
{
	if (ts->row.id > 0)
		(void)store_takeover_update(ts->t->store, &ts->row);
}

static void
tk_conn_save(struct tk_conn *k)
{
	struct store_takeover_conn c;

	memset(&c, 0, sizeof(c));
	c.takeover_id = k->ts->row.id;
	c.n = (int64_t)k->n;
	c.client_addr = k->client_str;
	c.client_port = k->cport;
	c.service_addr = k->service_str;
	c.service_port = k->sport;
	c.fate = tk_fate_str(k->fate);
	c.reason = k->reason;
	c.in_bytes = k->in_bytes;
	c.out_bytes = k->out_bytes;
	c.in_off = k->in_off;
	c.out_off = k->out_off;
	c.last_frame_us = k->last_frame_us;
	c.rebuild_ns = k->rebuild_ns;
	c.started_us = k->started_us;
	c.pid = k->pid;
	c.exited = k->exited;
	c.exit_status = k->exit_status;
	c.ended_us = k->ended_us;
	c.recover = k->ssh ? "ssh" : "exec";
	if ((c.ssh_reported = k->reported)) {
		c.sshd_pid = k->rep.sshd_pid;
		c.sshd_us = k->rep.sshd_us;
		c.replay_us = k->rep.replay_us;
		c.cutover_us = k->rep.cutover_us;
		c.messages = k->rep.messages;
	}
	if (k->ts->row.id > 0)
		(void)store_takeover_conn_put(k->ts->t->store, &c);
}

/* --- the plain-TCP hold (recover exec) --- */

static void
tk_exec_conn_new(void *arg, struct tcptrack_conn *c)
{
	(void)arg;
	rebuild_hold_start(c);
}

static void
tk_exec_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	(void)arg;
	(void)off;
	(void)p;
	(void)len;
	if (dir == TCPTRACK_S2C)
		rebuild_hold_answered(c);
}

/* --- set-up --- */

struct takeover *
takeover_new(struct ev_loop *loop, const struct conf *c, struct store *st,
    struct watch *w)
{
	struct tcptrack_ops ops;
	struct takeover *t;
	struct rlimit rl;
	size_t i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->loop = loop;
	t->conf = c;
	t->store = st;
	t->watch = w;
	memset(&ops, 0, sizeof(ops));
	ops.conn_new = tk_exec_conn_new;
	ops.data = tk_exec_data;
	for (i = 0; i < c->nservers && i < CONF_MAX_SERVERS; i++) {
		struct tk_server *ts = &t->srv[i];

		ts->t = t;
		ts->idx = i;
		ts->cs = &c->servers[i];
		pkt_addr_set(&ts->service, ts->cs->service_ip.family,
		    &ts->cs->service_ip.u);
		if (ts->cs->recover == CONF_RECOVER_EXEC)
			watch_set_consumer(w, i, &ops, t);
	}
	/* Drain records go to the drain of their server. */
	if (watch_keystore(w) != NULL)
		keystore_set_drain_listener(watch_keystore(w), tk_drain_part,
		    t);
	/* One descriptor per rebuilt connection until its hand-off. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return t;
}

/*
 * Who holds each server's address, every TK_ADDR_CHECK s (symmetric roles,
 * docs/drain.md "Failback"): a server whose address this host holds is not
 * watched (its frames are this host's own); when the address leaves this
 * host (a failback drained it back to the other host, an operator removed
 * it), the server is watched again, from unknown health; when it appears
 * on this host while the server is watched and no takeover is under way
 * (the host's own service address, brought up after the daemon started),
 * the server is no longer watched.
 */
#define TK_ADDR_CHECK	1.0	/* s */

static void
tk_addr_check_one(struct takeover *t, size_t i)
{
	struct tk_server *ts = &t->srv[i];
	char ip[INET6_ADDRSTRLEN];
	int released = watch_released(t->watch, i);

	if (t->vip == NULL)
		return;
	if (released && (ts->phase == TK_DONE || ts->phase == TK_NONE) &&
	    !vip_addr_present(t->vip, &ts->service)) {
		conf_addr_str(&ts->cs->service_ip, ip, sizeof(ip));
		log_notice("%s: its address %s left this host: watching it "
		    "again", ts->cs->name, ip);
		store_put_event(t->store, ts->cs->name, "address-left", "%s is "
		    "no longer on this host: watching %s again", ip,
		    ts->cs->name);
		watch_unrelease(t->watch, i, "its address left this host; not "
		    "seen since");
		ts->draining = 0;
		tk_set_phase(ts, TK_NONE, "its address %s left this host", ip);
	} else if (!released && (ts->phase == TK_NONE ||
	    ts->phase == TK_FENCE_FAILED) &&
	    vip_addr_present(t->vip, &ts->service)) {
		conf_addr_str(&ts->cs->service_ip, ip, sizeof(ip));
		log_warn("%s: this host holds its address %s: not watching it",
		    ts->cs->name, ip);
		store_put_event(t->store, ts->cs->name, "address-here", "%s is "
		    "on this host: %s not watched", ip, ts->cs->name);
		watch_release(t->watch, i);
		tk_set_phase(ts, TK_DONE, "this host holds %s", ip);
	}
}

static void
tk_addr_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct takeover *t = w->data;
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < t->conf->nservers && i < CONF_MAX_SERVERS; i++)
		tk_addr_check_one(t, i);
}

void
takeover_start(struct takeover *t)
{
	char err[256], ip[INET6_ADDRSTRLEN];
	size_t i;

	if ((t->vip = vip_open(t->conf->interface, err, sizeof(err))) ==
	    NULL) {
		log_error("takeover: %s: %s: no server can be taken over",
		    t->conf->interface, err);
		return;
	}
	for (i = 0; i < t->conf->nservers && i < CONF_MAX_SERVERS; i++) {
		struct tk_server *ts = &t->srv[i];

		if (!vip_addr_present(t->vip, &ts->service))
			continue;
		conf_addr_str(&ts->cs->service_ip, ip, sizeof(ip));
		log_warn("%s: this host holds its address %s already (an "
		    "earlier takeover?): not watching it", ts->cs->name, ip);
		watch_release(t->watch, i);
		tk_set_phase(ts, TK_DONE, "this host holds %s already", ip);
	}
	ev_timer_init(&t->addr_timer, tk_addr_check_cb, TK_ADDR_CHECK,
	    TK_ADDR_CHECK);
	t->addr_timer.data = t;
	ev_timer_start(t->loop, &t->addr_timer);
}

void
takeover_conf_check(const struct conf *c)
{
	const struct conf_server *s;
	size_t i;

	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i];
		if (s->recover == CONF_RECOVER_NONE)
			continue;
		if (s->fence == NULL && !s->fence_none)
			log_warn("server %s: recover %s but no fence line: "
			    "it is never taken over", s->name,
			    conf_recover_str(s->recover));
		else if (s->fence_none)
			log_warn("server %s: fence none: it is taken over "
			    "without being fenced", s->name);
		if (s->recover != CONF_RECOVER_SSH)
			continue;
		if (!c->export_enabled)
			log_warn("server %s: recover ssh without export_listen: "
			    "no keys, every connection will be reset", s->name);
		else if (s->signing_key == NULL)
			log_warn("server %s: recover ssh without signing_key: "
			    "no keys, every connection will be reset", s->name);
		if (access(c->replay_program, X_OK) != 0)
			log_warn("server %s: replay_program %s: %s", s->name,
			    c->replay_program, strerror(errno));
		if (access(s->ssh.sshd, X_OK) != 0)
			log_warn("server %s: recovery_sshd %s: %s", s->name,
			    s->ssh.sshd, strerror(errno));
		if (access(s->ssh.sshd_config, R_OK) != 0)
			log_warn("server %s: recovery_sshd_config %s: %s",
			    s->name, s->ssh.sshd_config, strerror(errno));
	}
}

/* Wipe the package, wherever it is: memory, its memfd. */
static void
tk_pkg_wipe(struct tk_conn *k)
{
	static const uint8_t zero[4096];
	off_t off = 0, len;

	buf_free(&k->pkg);
	if (k->pkg_fd == -1)
		return;
	if ((len = lseek(k->pkg_fd, 0, SEEK_END)) > 0)
		while (off < len) {
			size_t n = (size_t)(len - off) < sizeof(zero) ?
			    (size_t)(len - off) : sizeof(zero);
			ssize_t w = pwrite(k->pkg_fd, zero, n, off);

			if (w <= 0)
				break;
			off += w;
		}
	close(k->pkg_fd);
	k->pkg_fd = -1;
}

/* Stop watching a hand-off under way (its descriptors too). */
static void
tk_handoff_stop(struct takeover *t, struct tk_conn *k)
{
	if (k->status_fd != -1) {
		ev_io_stop(t->loop, &k->status_io);
		close(k->status_fd);
		k->status_fd = -1;
	}
	if (k->report_fd != -1) {
		ev_io_stop(t->loop, &k->report_io);
		close(k->report_fd);
		k->report_fd = -1;
	}
	ev_timer_stop(t->loop, &k->timeout);
	tk_pkg_wipe(k);
}

static void
tk_conn_stop(struct takeover *t, struct tk_conn *k)
{
	tk_handoff_stop(t, k);
	if (k->pid > 0 && !k->exited)
		ev_child_stop(t->loop, &k->child);
	if (k->fd != -1)
		close(k->fd);
	rebuild_plan_free(&k->plan);
}

void
takeover_free(struct takeover *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	ev_timer_stop(t->loop, &t->addr_timer);
	for (i = 0; i < CONF_MAX_SERVERS; i++) {
		struct tk_server *ts = &t->srv[i];

		if (ts->cs == NULL)
			continue;
		fence_abandon(ts->fence);
		ev_timer_stop(t->loop, &ts->announce);
		for (j = 0; j < ts->nconns; j++)
			tk_conn_stop(t, &ts->conns[j]);
		free(ts->conns);
		free(ts->pins);
	}
	vip_close(t->vip);
	free(t);
}

/*
 * Forget an earlier takeover's connections before a new one: their
 * programs go on running, unwatched (after a failback took the address
 * away, or a drain that was called off).
 */
static void
tk_conns_release(struct tk_server *ts)
{
	struct takeover *t = ts->t;
	size_t j;

	ev_timer_stop(t->loop, &ts->announce);
	if (ts->pins != NULL)
		tk_unpin_all(ts);
	for (j = 0; j < ts->nconns; j++) {
		tk_conn_stop(t, &ts->conns[j]);
	}
	free(ts->conns);
	free(ts->pins);
	ts->conns = NULL;
	ts->pins = NULL;
	ts->nconns = ts->next = ts->starting = ts->npins = 0;
	ts->announced = 0;
	ts->unpinned = 0;
}

/* --- phase 1: fence --- */

static void tk_go(struct tk_server *ts);

struct tk_count {
	size_t	server, n;
};

static void
tk_count_cb(void *arg, size_t server, struct tcptrack_conn *c)
{
	struct tk_count *cnt = arg;

	(void)c;
	if (server == cnt->server)
		cnt->n++;
}

static size_t
tk_count_conns(struct takeover *t, size_t server)
{
	struct tk_count cnt = { server, 0 };

	watch_foreach_conn(t->watch, tk_count_cb, &cnt);
	return cnt.n;
}

static void
tk_fence_done(void *arg, int ok, const char *result, const char *output)
{
	struct tk_server *ts = arg;
	struct takeover *t = ts->t;
	size_t n;

	ts->fence = NULL;
	ts->row.fence_end_us = store_now_us();
	snprintf(ts->fence_result, sizeof(ts->fence_result), "%s: %s%s%s",
	    ts->cs->fence, result, output[0] != '\0' ? ": " : "", output);
	ts->row.fence_result = ts->fence_result;
	if (ok) {
		log_notice("%s: fenced (%s)", ts->cs->name, ts->fence_result);
		store_put_event(t->store, ts->cs->name, "fenced", "%s",
		    ts->fence_result);
		tk_set_phase(ts, TK_FENCED, "fenced: %s", result);
		tk_go(ts);
		return;
	}
	n = tk_count_conns(t, ts->idx);
	log_error("%s: fence failed (%s): not taking over; its %zu "
	    "connections are left alone", ts->cs->name, ts->fence_result, n);
	store_put_event(t->store, ts->cs->name, "fence-failed", "%s; not "
	    "taken over: its %zu connections are left alone",
	    ts->fence_result, n);
	tk_set_phase(ts, TK_FENCE_FAILED, "fence failed (%s): not taken "
	    "over", result);
	tk_row_save(ts);
}

/* The environment of a fence command or a program: name=value strings. */
struct tk_env {
	char	*v[24];
	size_t	 n;
	char	 buf[4096];
	size_t	 off;
};

static void
tk_env_add(struct tk_env *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tk_env_add(struct tk_env *e, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->n + 1 >= sizeof(e->v) / sizeof(e->v[0]) ||
	    e->off >= sizeof(e->buf))
		return;
	n = snprintf(e->buf + e->off, sizeof(e->buf) - e->off, "%s=", name);
	if (n < 0 || (size_t)n >= sizeof(e->buf) - e->off)
		return;
	va_start(ap, fmt);
	n += vsnprintf(e->buf + e->off + n, sizeof(e->buf) - e->off - n, fmt,
	    ap);
	va_end(ap);
	if ((size_t)n >= sizeof(e->buf) - e->off)
		return;
	e->v[e->n++] = e->buf + e->off;
	e->v[e->n] = NULL;
	e->off += (size_t)n + 1;
}

static void
tk_env_server(struct tk_env *e, const struct tk_server *ts)
{
	char ip[INET6_ADDRSTRLEN];

	memset(e, 0, sizeof(*e));
	tk_env_add(e, "PATH", "%s", TK_PATH);
	tk_env_add(e, "SJ_SERVER", "%s", ts->cs->name);
	tk_env_add(e, "SJ_SERVICE_ADDR", "%s",
	    conf_addr_str(&ts->cs->service_ip, ip, sizeof(ip)));
	tk_env_add(e, "SJ_TAKEOVER_ID", "%" PRId64, ts->row.id);
}

void
takeover_dead(struct takeover *t, size_t server, const char *why)
{
	struct tk_server *ts;
	struct tk_env env;
	char err[256];

	if (t == NULL || server >= t->conf->nservers)
		return;
	ts = &t->srv[server];
	if (ts->phase != TK_NONE && ts->phase != TK_FENCE_FAILED)
		return;			/* one takeover at a time */
	if (ts->cs->recover == CONF_RECOVER_NONE) {
		log_notice("%s: no recover line: not taking it over",
		    ts->cs->name);
		store_put_event(t->store, ts->cs->name, "no-takeover",
		    "recover none: its connections are not taken over");
		return;
	}
	if (ts->cs->fence == NULL && !ts->cs->fence_none) {
		log_warn("%s: no fence line: never taken over", ts->cs->name);
		store_put_event(t->store, ts->cs->name, "no-takeover",
		    "no fence line: never taken over (`fence none` takes "
		    "over unfenced)");
		return;
	}
	tk_conns_release(ts);
	memset(&ts->row, 0, sizeof(ts->row));
	snprintf(ts->cause, sizeof(ts->cause), "%s", why);
	ts->fence_result[0] = '\0';
	ts->row.server = ts->cs->name;
	ts->row.cause = ts->cause;
	ts->row.detail = ts->detail;
	ts->row.dead_us = store_now_us();
	ts->row.last_frame_us = (int64_t)(watch_last_server_frame(t->watch,
	    server) * 1e6);
	tk_set_phase(ts, TK_FENCING, "%s", ts->cs->fence_none ?
	    "not fenced (fence none)" : "running the fence command");
	ts->row.id = store_takeover_new(t->store, &ts->row);
	ts->row.fence_start_us = store_now_us();
	if (ts->cs->fence_none) {
		ts->row.fence_end_us = ts->row.fence_start_us;
		snprintf(ts->fence_result, sizeof(ts->fence_result),
		    "fence none: not fenced");
		ts->row.fence_result = ts->fence_result;
		log_warn("%s: fence none: taking over without fencing",
		    ts->cs->name);
		store_put_event(t->store, ts->cs->name, "fence-none",
		    "fence none in the configuration: taking over without "
		    "fencing");
		tk_go(ts);
		return;
	}
	log_notice("%s: fencing: %s", ts->cs->name, ts->cs->fence);
	tk_env_server(&env, ts);
	ts->fence = fence_start(t->loop, ts->cs->fence, env.v,
	    (double)ts->cs->fence_timeout, tk_fence_done, ts, err,
	    sizeof(err));
	if (ts->fence == NULL)
		tk_fence_done(ts, 0, err, "");
}

/* --- phase 2: rebuild, take the address, reset --- */

struct tk_collect {
	size_t			 server;
	struct tcptrack_conn	**list;
	size_t			 n, alloc;
};

static void
tk_collect_cb(void *arg, size_t server, struct tcptrack_conn *c)
{
	struct tk_collect *col = arg;
	struct tcptrack_conn **n;

	if (server != col->server)
		return;
	if (col->n == col->alloc) {
		size_t na = col->alloc ? col->alloc * 2 : 64;

		if ((n = reallocarray(col->list, na, sizeof(*n))) == NULL)
			return;
		col->list = n;
		col->alloc = na;
	}
	col->list[col->n++] = c;
}

static void
tk_pin_note(struct tk_server *ts, const struct pkt_addr *client)
{
	struct tk_pin *p;
	size_t i;

	for (i = 0; i < ts->npins; i++)
		if (memcmp(&ts->pins[i].client, client, sizeof(*client)) == 0)
			return;
	p = &ts->pins[ts->npins++];
	memset(p, 0, sizeof(*p));
	p->client = *client;
	if (watch_peer_mac(ts->t->watch, client, p->mac) != 0)
		p->pinned = -1;		/* no MAC seen */
}

static struct tk_drain *tk_drain_find(struct tk_server *ts,
    const struct tcptrack_conn *c);
static void tk_expect_count(struct takeover *t, size_t server, int all,
    struct tk_expect *e);
static void tk_expect_free(struct tk_expect *e);
static int tk_tuple_eq(uint8_t fa, const struct seal_endpoint *ca,
    const struct seal_endpoint *sa, uint8_t fb,
    const struct seal_endpoint *cb, const struct seal_endpoint *sb);
static int tk_tuple_is(uint8_t family, const struct seal_endpoint *client,
    const struct seal_endpoint *service, const struct tcptrack_conn *c);
static void tk_plan_to_reset(struct rebuild_plan *p);

static void
tk_conn_init(struct tk_server *ts, struct tk_conn *k, size_t i,
    const struct pkt_addr *client, uint16_t cport,
    const struct pkt_addr *server, uint16_t sport)
{
	k->ts = ts;
	k->n = i;
	k->fd = -1;
	k->status_fd = -1;
	k->report_fd = -1;
	k->pkg_fd = -1;
	k->rebuild_ns = -1;
	k->ssh = ts->cs->recover == CONF_RECOVER_SSH;
	buf_init(&k->pkg, RPKG_MAX);
	buf_set_secret(&k->pkg);
	k->client = *client;
	k->cport = cport;
	k->sport = sport;
	inet_ntop(client->family, client->a, k->client_str,
	    sizeof(k->client_str));
	inet_ntop(server->family, server->a, k->service_str,
	    sizeof(k->service_str));
}

static void
tk_seal_addr(struct pkt_addr *a, uint8_t family,
    const struct seal_endpoint *ep)
{
	memset(a, 0, sizeof(*a));
	pkt_addr_set(a, family == SEAL_AF_INET ? AF_INET : AF_INET6,
	    ep->addr);
}

/* A plan that resets at the drain state's sequence numbers. */
static void
tk_plan_reset_drained(struct rebuild_plan *p, const struct drainrec *d,
    const struct pkt_addr *local, uint16_t lport,
    const struct pkt_addr *remote, uint16_t rport)
{
	memset(p, 0, sizeof(*p));
	p->rc.local = *local;
	p->rc.lport = lport;
	p->rc.remote = *remote;
	p->rc.rport = rport;
	p->rc.snd_una = d->snd_una;
	p->rc.rcv_nxt = d->rcv_nxt;
	tk_plan_to_reset(p);
}

/*
 * The key record of an SJD2 drain: the export connection's newest (the
 * drain parts come after it on the same connection), else, for a tracked
 * connection, the tracker's of the state's KEX.
 */
static const struct seal_keyrec *
tk_drain_keyrec(struct tk_server *ts, const struct tk_drain *dr,
    const struct tcptrack_conn *c)
{
	struct keystore *ks = watch_keystore(ts->t->watch);
	const struct seal_keyrec *rec = NULL, *r2;

	if (ks != NULL)
		rec = keystore_get(ks, ts->idx, dr->conn_id);
	if ((rec == NULL || rec->kex_number != dr->rec.kex_number) &&
	    c != NULL && (r2 = sshtrack_keyrec(watch_sshtrack(ts->t->watch),
	    c, dr->rec.kex_number)) != NULL)
		rec = r2;
	return rec;
}

/* Everything the tracker knows of the server's connections, copied. */
static int
tk_snapshot(struct tk_server *ts)
{
	struct takeover *t = ts->t;
	struct tk_collect col = { ts->idx, NULL, 0, 0 };
	struct tk_extra *extra = NULL;
	struct tk_expect e;
	double now = ev_time();
	size_t i, j, nextra = 0, total;

	memset(&e, 0, sizeof(e));
	watch_foreach_conn(t->watch, tk_collect_cb, &col);
	if (ts->draining) {
		/*
		 * A drain: the states of connections the tracker does not
		 * hold, and the sessions known by their keys only that sent
		 * none (docs/drain.md "Failback").
		 */
		for (i = 0; i < ts->ndrains; i++)
			ts->drains[i].matched = 0;
		for (i = 0; i < col.n; i++) {
			struct tk_drain *dr = tk_drain_find(ts, col.list[i]);

			if (dr != NULL)
				dr->matched = 1;
		}
		tk_expect_count(t, ts->idx, 1, &e);
		if ((extra = calloc(ts->ndrains + e.nextra + 1,
		    sizeof(*extra))) == NULL) {
			tk_expect_free(&e);
			free(col.list);
			return -1;
		}
		for (i = 0; i < ts->ndrains; i++) {
			struct tk_drain *dr = &ts->drains[i];

			if (dr->matched)
				continue;
			/* Not a complete state of a tracked connection. */
			for (j = 0; j < col.n; j++)
				if (tk_tuple_is(dr->family, &dr->client,
				    &dr->service, col.list[j]))
					break;
			if (j < col.n)
				continue;	/* tracked: capture fallback */
			extra[nextra].dr = dr;
			extra[nextra].conn_id = dr->conn_id;
			extra[nextra].family = dr->family;
			extra[nextra].client = dr->client;
			extra[nextra].service = dr->service;
			nextra++;
		}
		for (i = 0; i < e.nextra; i++) {
			for (j = 0; j < nextra; j++)
				if (extra[j].conn_id == e.extra[i].conn_id ||
				    tk_tuple_eq(extra[j].family,
				    &extra[j].client, &extra[j].service,
				    e.extra[i].family, &e.extra[i].client,
				    &e.extra[i].service))
					break;
			if (j == nextra)
				extra[nextra++] = e.extra[i];
		}
		tk_expect_free(&e);
	}
	total = col.n + nextra;
	if (total > 0 && ((ts->conns = calloc(total, sizeof(*ts->conns))) ==
	    NULL || (ts->pins = calloc(total, sizeof(*ts->pins))) == NULL)) {
		free(col.list);
		free(extra);
		return -1;
	}
	for (i = 0; i < col.n; i++) {
		struct tcptrack_conn *c = col.list[i];
		struct tk_conn *k = &ts->conns[i];
		char why[300];
		int r;

		tk_conn_init(ts, k, i, &c->client, c->cport, &c->server,
		    c->sport);
		k->last_frame_us = (int64_t)(c->dir[TCPTRACK_S2C].last_time *
		    1e6);
		if (c->state == TCPTRACK_SYN_SENT ||
		    c->state == TCPTRACK_SYN_RECEIVED) {
			/* Nothing to rebuild; no listener refuses the retry. */
			k->fate = TK_RESET;
			k->handshake = 1;
			snprintf(k->reason, sizeof(k->reason), "handshake "
			    "under way: the client's next SYN is refused");
			continue;
		}
		if (k->ssh) {
			struct takeover_ssh_info si;
			struct tk_drain *dr = ts->draining ?
			    tk_drain_find(ts, c) : NULL;

			if (dr != NULL && dr->rec.version == 2) {
				/* The sshd's own state and log: no capture */
				k->drained = 1;
				k->drain_stop_us = (int64_t)dr->rec.stop_us;
				r = takeover_ssh_prepare_sjd2(&dr->rec,
				    tk_drain_keyrec(ts, dr, c), ts->cs,
				    &c->client, c->cport, &c->server,
				    c->sport, dr->arrived, now, &k->plan,
				    &k->pkg, &si, why, sizeof(why));
				if (r != 0) {
					/* Its sshd is gone: reset it where
					 * the sshd left it. */
					k->fate = TK_RESET;
					snprintf(k->reason, sizeof(k->reason),
					    "%s", why);
					tk_plan_reset_drained(&k->plan,
					    &dr->rec, &c->server, c->sport,
					    &c->client, c->cport);
					k->has_plan = 1;
					tk_pin_note(ts, &c->client);
					continue;
				}
			} else if (dr != NULL) {
				/* The sshd's own final state (docs/drain.md) */
				k->drained = 1;
				k->drain_stop_us = (int64_t)dr->rec.stop_us;
				r = tk_ssh_prepare_drain(
				    watch_sshtrack(t->watch), c, ts->cs, dr,
				    now, &k->plan, &k->pkg, &si, why,
				    sizeof(why));
			} else
			r = takeover_ssh_prepare(watch_sshtrack(t->watch), c,
			    ts->cs, now, &k->plan, &k->pkg, &si, why,
			    sizeof(why));
			k->pkg_messages = si.messages;
			k->pkg_replayed = si.replayed;
			k->pkg_channels = si.channels;
		} else
			r = rebuild_plan(c, now, &k->plan, why, sizeof(why));
		if (r == 0) {
			k->has_plan = 1;
			k->fate = TK_PENDING;
			k->in_bytes = k->plan.rc.recvq_len;
			k->out_bytes = k->plan.rc.sendq_len;
			k->in_off = k->plan.in_off;
			k->out_off = k->plan.out_off;
		} else {
			k->fate = TK_RESET;
			snprintf(k->reason, sizeof(k->reason), "%s", why);
			if (rebuild_plan_reset(c, &k->plan) == 0)
				k->has_plan = 1;
			else {
				k->fate = TK_LOST;
				snprintf(k->reason, sizeof(k->reason), "%s; "
				    "no sequence numbers to reset it with",
				    why);
			}
		}
		if (k->has_plan)
			tk_pin_note(ts, &c->client);
	}
	/* The drain's sessions that the capture did not follow. */
	for (i = 0; i < nextra; i++) {
		struct tk_extra *x = &extra[i];
		struct tk_conn *k = &ts->conns[col.n + i];
		struct pkt_addr cli, srv;
		struct takeover_ssh_info si;
		char why[300];

		tk_seal_addr(&cli, x->family, &x->client);
		tk_seal_addr(&srv, x->family, &x->service);
		tk_conn_init(ts, k, col.n + i, &cli, x->client.port, &srv,
		    x->service.port);
		k->last_frame_us = 0;
		if (x->dr == NULL) {
			k->fate = TK_LOST;
			snprintf(k->reason, sizeof(k->reason), "no drain state "
			    "(its keys are held, the capture has not seen it): "
			    "it stayed on %s without the address",
			    ts->cs->name);
			continue;
		}
		if (!x->dr->complete) {
			k->fate = TK_LOST;
			snprintf(k->reason, sizeof(k->reason), "%s (not "
			    "captured: nothing to fall back on)",
			    x->dr->bad ? x->dr->why : "drain state "
			    "incomplete");
			continue;
		}
		k->drained = 1;
		k->drain_stop_us = (int64_t)x->dr->rec.stop_us;
		if (x->dr->rec.version != 2) {
			/* SJD1 needs the capture's setup log. */
			k->fate = TK_RESET;
			snprintf(k->reason, sizeof(k->reason), "drain: an SJD1 "
			    "state, but the capture never saw the connection "
			    "(no setup log)");
		} else if (takeover_ssh_prepare_sjd2(&x->dr->rec,
		    tk_drain_keyrec(ts, x->dr, NULL), ts->cs, &cli,
		    x->client.port, &srv, x->service.port, x->dr->arrived,
		    now, &k->plan, &k->pkg, &si, why, sizeof(why)) == 0) {
			k->has_plan = 1;
			k->fate = TK_PENDING;
			k->in_bytes = k->plan.rc.recvq_len;
			k->out_bytes = k->plan.rc.sendq_len;
			k->pkg_messages = si.messages;
			k->pkg_replayed = si.replayed;
			k->pkg_channels = si.channels;
			tk_pin_note(ts, &cli);
			continue;
		} else {
			k->fate = TK_RESET;
			snprintf(k->reason, sizeof(k->reason), "%s", why);
		}
		tk_plan_reset_drained(&k->plan, &x->dr->rec, &srv,
		    x->service.port, &cli, x->client.port);
		k->has_plan = 1;
		tk_pin_note(ts, &cli);
	}
	ts->nconns = total;
	free(col.list);
	free(extra);
	return 0;
}

/* Pin every client's (or its router's) MAC: step 2. */
static void
tk_pin_all(struct tk_server *ts)
{
	struct takeover *t = ts->t;
	char err[256], who[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < ts->npins; i++) {
		struct tk_pin *p = &ts->pins[i];

		inet_ntop(p->client.family, p->client.a, who, sizeof(who));
		if (p->pinned == -1) {
			log_warn("%s: no frame from %s seen with a MAC: the "
			    "kernel will resolve it", ts->cs->name, who);
			continue;
		}
		if (vip_next_hop(t->vip, &p->client, &p->hop, err,
		    sizeof(err)) != 0 ||
		    vip_neigh_pin(t->vip, &p->hop, p->mac, err,
		    sizeof(err)) != 0) {
			log_warn("%s: cannot pin the neighbour entry for %s: "
			    "%s", ts->cs->name, who, err);
			p->pinned = 0;
			continue;
		}
		p->pinned = 1;
	}
}

static void
tk_unpin_all(struct tk_server *ts)
{
	size_t i;

	if (ts->unpinned)
		return;
	ts->unpinned = 1;
	for (i = 0; i < ts->npins; i++)
		if (ts->pins[i].pinned == 1)
			(void)vip_neigh_release(ts->t->vip, &ts->pins[i].hop,
			    ts->pins[i].mac);
}

/* A plan that only resets: the same sequence numbers, nothing else. */
static void
tk_plan_to_reset(struct rebuild_plan *p)
{
	struct repair_conn *rc = &p->rc;

	rebuild_plan_free(p);
	p->reset_only = 1;
	rc->mss = 536;
	rc->wscale_ok = rc->sack_ok = rc->ts_ok = 0;
	rc->snd_wnd = rc->rcv_wnd = 65535;
	rc->snd_wl1 = rc->rcv_wup = rc->rcv_nxt;
}

/* Step 3: every socket, in repair mode, before the address exists. */
static void
tk_rebuild_all(struct tk_server *ts)
{
	char err[256], err2[256];
	int64_t t0;
	size_t i;

	for (i = 0; i < ts->nconns; i++) {
		struct tk_conn *k = &ts->conns[i];

		if (!k->has_plan)
			continue;
		t0 = tk_mono_ns();
		k->fd = repair_socket(&k->plan.rc, err, sizeof(err));
		k->rebuild_ns = tk_mono_ns() - t0;
		if (k->fd != -1)
			continue;
		log_warn("%s: %s:%u: cannot rebuild: %s", ts->cs->name,
		    k->client_str, k->cport, err);
		if (k->fate == TK_PENDING) {
			k->fate = TK_RESET;
			snprintf(k->reason, sizeof(k->reason), "cannot "
			    "rebuild: %s", err);
			tk_plan_to_reset(&k->plan);
			if ((k->fd = repair_socket(&k->plan.rc, err2,
			    sizeof(err2))) != -1)
				continue;
		} else
			snprintf(err2, sizeof(err2), "%s", err);
		k->fate = TK_LOST;
		snprintf(k->reason + strlen(k->reason), sizeof(k->reason) -
		    strlen(k->reason), "; cannot reset it either: %s", err2);
	}
}

/* The later announcements, then the pins' release. */
static void
tk_announce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tk_server *ts = w->data;
	char err[256];
	double next;

	(void)revents;
	if (ts->announced > TK_ANNOUNCE_MORE) {
		tk_unpin_all(ts);
		return;
	}
	if (vip_announce(ts->t->vip, &ts->service, (int)ts->announced, err,
	    sizeof(err)) != 0)
		log_warn("%s: %s", ts->cs->name, err);
	ts->announced++;
	next = ts->announced <= TK_ANNOUNCE_MORE ?
	    tk_announce_at[ts->announced - 1] -
	    tk_announce_at[ts->announced - 2] : TK_UNPIN_AFTER;
	ev_timer_set(w, next, 0.);
	ev_timer_start(loop, w);
}

static void
tk_fail(struct tk_server *ts, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tk_fail(struct tk_server *ts, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The sockets are useless without the address: drop them silently. */
	for (i = 0; i < ts->nconns; i++) {
		struct tk_conn *k = &ts->conns[i];

		if (k->fd != -1) {
			(void)repair_close_silently(k->fd);
			k->fd = -1;
		}
		rebuild_plan_free(&k->plan);
		tk_pkg_wipe(k);
		if (k->fate == TK_PENDING || k->fate == TK_RESET) {
			k->fate = TK_LOST;
			snprintf(k->reason, sizeof(k->reason), "takeover "
			    "failed: %s", msg);
		}
	}
	tk_unpin_all(ts);
	log_error("%s: takeover failed: %s", ts->cs->name, msg);
	store_put_event(ts->t->store, ts->cs->name, "takeover-failed", "%s",
	    msg);
	tk_set_phase(ts, TK_FAILED, "%s", msg);
	ts->row.conns = ts->nconns;
	ts->row.failed = ts->nconns;
	ts->row.done_us = store_now_us();
	(void)store_batch_begin(ts->t->store);
	tk_row_save(ts);
	for (i = 0; i < ts->nconns; i++)
		tk_conn_save(&ts->conns[i]);
	(void)store_batch_end(ts->t->store);
}

static void
tk_go(struct tk_server *ts)
{
	struct takeover *t = ts->t;
	char err[256], ip[INET6_ADDRSTRLEN];
	size_t i, nreset = 0;
	int r;

	if (t->vip == NULL && (t->vip = vip_open(t->conf->interface, err,
	    sizeof(err))) == NULL) {
		tk_fail(ts, "%s: %s", t->conf->interface, err);
		return;
	}
	if (tk_snapshot(ts) != 0) {
		tk_fail(ts, "out of memory for %s connections", ts->cs->name);
		return;
	}
	/* From here on the connections, and the address, are ours. */
	watch_release(t->watch, ts->idx);
	tk_pin_all(ts);
	tk_rebuild_all(ts);
	ts->row.rebuilt_us = store_now_us();
	if ((r = vip_addr_add(t->vip, &ts->service, err, sizeof(err))) < 0) {
		tk_fail(ts, "%s", err);
		return;
	}
	if (vip_announce(t->vip, &ts->service, 0, err, sizeof(err)) != 0)
		log_warn("%s: %s", ts->cs->name, err);
	ts->announced = 1;
	ts->row.address_us = store_now_us();
	if (ts->draining && watch_keystore(t->watch) != NULL) {
		/*
		 * The server gave its sessions up: their export connections
		 * end here (their monitors exit without an end notice).  A
		 * later drain back (failback) must not wait for them.
		 */
		size_t nf = keystore_forget_server(watch_keystore(t->watch),
		    ts->idx, store_now_us());

		if (nf > 0)
			debug_f("%s: %zu export connections ended by the "
			    "drain", ts->cs->name, nf);
	}
	ev_timer_init(&ts->announce, tk_announce_cb, tk_announce_at[0], 0.);
	ts->announce.data = ts;
	ev_timer_start(t->loop, &ts->announce);
	log_notice("%s: %s %s on %s; %zu connections rebuilt in %.1f ms",
	    ts->cs->name, r == 1 ? "already had" : "took over",
	    conf_addr_str(&ts->cs->service_ip, ip, sizeof(ip)),
	    t->conf->interface, ts->nconns,
	    tk_ms(ts->row.fence_end_us, ts->row.rebuilt_us));
	/* What could not be rebuilt: an RST the client accepts. */
	for (i = 0; i < ts->nconns; i++) {
		struct tk_conn *k = &ts->conns[i];

		if (k->fate != TK_RESET)
			continue;
		nreset++;
		if (k->fd != -1) {
			repair_reset(k->fd);
			k->fd = -1;
		}
		rebuild_plan_free(&k->plan);
		tk_pkg_wipe(k);
		log_notice("%s: %s:%u reset: %s", ts->cs->name, k->client_str,
		    k->cport, k->reason);
	}
	tk_set_phase(ts, TK_HANDING_OFF, "handing off %zu connections",
	    ts->nconns - nreset);
	ts->row.conns = ts->nconns;
	(void)store_batch_begin(t->store);
	tk_row_save(ts);
	for (i = 0; i < ts->nconns; i++)
		tk_conn_save(&ts->conns[i]);
	(void)store_batch_end(t->store);
	tk_pump(t);
}

/* --- phase 3: hand-off --- */

/* The conn-recovered event of a connection the recovery sshd took over. */
static void
tk_ssh_event(const struct tk_conn *k)
{
	const struct tk_server *ts = k->ts;
	char times[200];

	if (k->reported)
		snprintf(times, sizeof(times), "recovery sshd (pid %" PRId64
		    ") started in %.1f ms, %" PRId64 " messages replayed in "
		    "%.1f ms, cutover %.1f ms", k->rep.sshd_pid,
		    (double)k->rep.sshd_us / 1e3, k->rep.messages,
		    (double)k->rep.replay_us / 1e3,
		    (double)k->rep.cutover_us / 1e3);
	else
		snprintf(times, sizeof(times), "recovery sshd running (%.150s)",
		    k->reason);
	store_put_event(ts->t->store, ts->cs->name, "conn-recovered",
	    "%s:%u: ssh: %s; %" PRIu64 " live client bytes, %" PRIu64
	    " server bytes resent; %zu channels, %zu setup messages; rebuilt "
	    "in %" PRId64 " us; running %.1f ms after the address",
	    k->client_str, k->cport, times, k->in_bytes, k->out_bytes,
	    k->pkg_channels, k->pkg_messages, k->rebuild_ns / 1000,
	    tk_ms(ts->row.address_us, k->started_us));
}

static void
tk_finish(struct tk_server *ts)
{
	struct takeover *t = ts->t;
	struct store_takeover *row = &ts->row;
	struct tk_conn *k;
	size_t i;
	char timing[256];

	row->recovered = row->reset = row->failed = 0;
	for (i = 0; i < ts->nconns; i++) {
		k = &ts->conns[i];
		if (k->fate == TK_RECOVERED)
			row->recovered++;
		else if (k->fate == TK_RESET)
			row->reset++;
		else
			row->failed++;
	}
	row->done_us = store_now_us();
	snprintf(timing, sizeof(timing), "detection %.0f ms, fence %.0f ms, "
	    "rebuild %.1f ms, address %.1f ms, hand-off %.1f ms; total "
	    "%.1f ms from death", tk_ms(row->last_frame_us, row->dead_us),
	    tk_ms(row->fence_start_us, row->fence_end_us),
	    tk_ms(row->fence_end_us, row->rebuilt_us),
	    tk_ms(row->rebuilt_us, row->address_us),
	    tk_ms(row->address_us, row->done_us),
	    tk_ms(row->dead_us, row->done_us));
	tk_set_phase(ts, TK_DONE, "%" PRIu64 " recovered, %" PRIu64 " reset, "
	    "%" PRIu64 " failed", row->recovered, row->reset, row->failed);
	(void)store_batch_begin(t->store);
	for (i = 0; i < ts->nconns; i++) {
		k = &ts->conns[i];
		tk_conn_save(k);
		if (k->fate == TK_RECOVERED && k->ssh)
			tk_ssh_event(k);
		else if (k->fate == TK_RECOVERED)
			store_put_event(t->store, ts->cs->name,
			    "conn-recovered", "%s:%u: %" PRIu64 " client "
			    "bytes replayed, %" PRIu64 " server bytes resent; "
			    "rebuilt in %" PRId64 " us; program (pid %ld) "
			    "running %.1f ms after the address", k->client_str,
			    k->cport, k->in_bytes, k->out_bytes,
			    k->rebuild_ns / 1000, (long)k->pid,
			    tk_ms(row->address_us, k->started_us));
		else
			store_put_event(t->store, ts->cs->name,
			    k->fate == TK_RESET ? "conn-reset" : "conn-failed",
			    "%s:%u: %s", k->client_str, k->cport, k->reason);
	}
	store_put_event(t->store, ts->cs->name, "taken-over", "%" PRIu64
	    " connections: %" PRIu64 " recovered, %" PRIu64 " reset, %"
	    PRIu64 " failed; %s", (uint64_t)ts->nconns, row->recovered,
	    row->reset, row->failed, timing);
	snprintf(ts->detail, sizeof(ts->detail), "%s", timing);
	tk_row_save(ts);
	(void)store_batch_end(t->store);
	log_notice("%s: taken over: %" PRIu64 " recovered, %" PRIu64
	    " reset, %" PRIu64 " failed; %s", ts->cs->name, row->recovered,
	    row->reset, row->failed, timing);
}

static void
tk_started(struct tk_conn *k, int r, const char *why)
{
	struct tk_server *ts = k->ts;
	struct takeover *t = ts->t;

	ev_io_stop(t->loop, &k->status_io);
	ev_timer_stop(t->loop, &k->timeout);
	close(k->status_fd);
	k->status_fd = -1;
	if (r == 1) {
		k->fate = TK_RECOVERED;
		k->started_us = store_now_us();
		debug_f("%s: %s:%u: program running (pid %ld)", ts->cs->name,
		    k->client_str, k->cport, (long)k->pid);
	} else {
		k->fate = TK_LOST;
		snprintf(k->reason, sizeof(k->reason), "%s", why);
		log_warn("%s: %s:%u: hand-off failed: %s", ts->cs->name,
		    k->client_str, k->cport, why);
	}
	ts->starting--;
	t->starting--;
	tk_pump(t);
}

static void
tk_status_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tk_conn *k = w->data;
	char why[200];
	int r;

	(void)loop;
	(void)revents;
	if ((r = handoff_status(k->status_fd, why, sizeof(why))) != 0)
		tk_started(k, r, why);
}

static void
tk_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tk_conn *k = w->data;
	char why[80];

	(void)loop;
	(void)revents;
	kill(k->pid, SIGKILL);
	snprintf(why, sizeof(why), "the program did not start within %.0f s "
	    "(killed)", TK_HANDOFF_TIMEOUT);
	tk_started(k, -1, why);
}

static void
tk_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct tk_conn *k = w->data;
	char why[200];
	int r, st = w->rstatus;

	(void)revents;
	ev_child_stop(loop, w);
	k->exited = 1;
	k->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) :
	    WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
	k->ended_us = store_now_us();
	if (k->fate == TK_STARTING && k->ssh)
		tk_ssh_exited(k);
	else if (k->fate == TK_STARTING) {
		/* It ended before its verdict was read: read it now. */
		if ((r = handoff_status(k->status_fd, why, sizeof(why))) == 0)
			snprintf(why, sizeof(why), "exited with %d before "
			    "starting", k->exit_status), r = -1;
		tk_started(k, r, why);
	}
	log_info("%s: %s:%u: program (pid %ld) exited with %d",
	    k->ts->cs->name, k->client_str, k->cport, (long)k->pid,
	    k->exit_status);
	if (k->ts->phase == TK_DONE)
		tk_conn_save(k);
}

/* --- phase 3 for recover ssh: jeebs-replay and the recovery sshd --- */

/* The replay of k is over: fate and reason, then the next hand-off. */
static void
tk_ssh_done(struct tk_conn *k, enum tk_fate fate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tk_ssh_done(struct tk_conn *k, enum tk_fate fate, const char *fmt, ...)
{
	struct tk_server *ts = k->ts;
	struct takeover *t = ts->t;
	va_list ap;

	if (k->fate != TK_STARTING)
		return;
	tk_handoff_stop(t, k);
	k->fate = fate;
	va_start(ap, fmt);
	vsnprintf(k->reason, sizeof(k->reason), fmt, ap);
	va_end(ap);
	if (fate == TK_RECOVERED) {
		k->started_us = store_now_us();
		debug_f("%s: %s:%u: recovered by sshd pid %" PRId64 "%s%s",
		    ts->cs->name, k->client_str, k->cport, k->rep.sshd_pid,
		    k->reason[0] != '\0' ? ": " : "", k->reason);
	} else
		log_warn("%s: %s:%u: %s: %s", ts->cs->name, k->client_str,
		    k->cport, fate == TK_RESET ? "reset" : "not recovered",
		    k->reason);
	ts->starting--;
	t->starting--;
	tk_pump(t);
}

/*
 * No verdict will come: jeebs-replay and whatever it started (its process
 * group: the recovery sshd too, unless it cut over) go, so that nothing is
 * left holding the socket; that closes the connection.
 */
static void
tk_ssh_kill(struct tk_conn *k)
{
	if (k->pid > 0)
		(void)kill(-k->pid, SIGKILL);
}

/* A whole report line (NUL-terminated, no newline): the verdict. */
static void
tk_ssh_verdict(struct tk_conn *k, const char *line)
{
	struct takeover_ssh_report r;
	char why[TK_REPORT_MAX + 1];

	switch (takeover_ssh_report_parse(line, &r, why, sizeof(why))) {
	case 1:
		k->rep = r;
		k->reported = r.complete;
		tk_ssh_done(k, TK_RECOVERED, "%s", why);
		break;
	case 0:
		/* jeebs-replay has reset the connection itself. */
		tk_ssh_done(k, TK_RESET, "jeebs-replay: %s", why);
		break;
	default:
		tk_ssh_kill(k);
		tk_ssh_done(k, TK_LOST, "jeebs-replay's report unreadable "
		    "(%s): %.80s", why, line);
		break;
	}
}

/*
 * Read what the report pipe has: 1, a verdict was taken; 0, more to come;
 * -1, end of file or error without a whole line.
 */
static int
tk_ssh_read_report(struct tk_conn *k)
{
	char *nl;
	ssize_t n;

	for (;;) {
		if (k->report_len >= TK_REPORT_MAX + 1) {
			k->report[TK_REPORT_MAX] = '\0';
			tk_ssh_verdict(k, "report line too long");
			return 1;
		}
		n = read(k->report_fd, k->report + k->report_len,
		    TK_REPORT_MAX + 1 - k->report_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		k->report_len += (size_t)n;
		k->report[k->report_len] = '\0';
		if ((nl = memchr(k->report, '\n', k->report_len)) != NULL) {
			*nl = '\0';
			tk_ssh_verdict(k, k->report);
			return 1;
		}
	}
}

static void
tk_ssh_report_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tk_conn *k = w->data;

	(void)revents;
	if (tk_ssh_read_report(k) == -1) {
		/* Closed without a line: the exit status will tell. */
		ev_io_stop(loop, w);
		close(k->report_fd);
		k->report_fd = -1;
	}
}

/* jeebs-replay exited (k->exit_status) with no verdict read yet. */
static void
tk_ssh_exited(struct tk_conn *k)
{
	if (k->status_fd != -1) {
		char why[200];

		if (handoff_status(k->status_fd, why, sizeof(why)) == -1) {
			tk_ssh_done(k, TK_RESET, "cannot start jeebs-replay: "
			    "%s", why);
			return;
		}
	}
	if (k->report_fd != -1 && tk_ssh_read_report(k) == 1)
		return;
	if (k->report_len > 0) {
		/* A last line without its newline. */
		k->report[k->report_len] = '\0';
		tk_ssh_verdict(k, k->report);
		return;
	}
	tk_ssh_kill(k);
	tk_ssh_done(k, TK_RESET, "jeebs-replay exited with %d without a "
	    "verdict", k->exit_status);
}

/* The hand-off child: jeebs-replay runs (or could not be started). */
static void
tk_ssh_status_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tk_conn *k = w->data;
	char why[200];
	int r;

	(void)revents;
	if ((r = handoff_status(k->status_fd, why, sizeof(why))) == 0)
		return;
	ev_io_stop(loop, w);
	close(k->status_fd);
	k->status_fd = -1;
	/* The child reset the connection when it gave up (handoff.h). */
	if (r < 0)
		tk_ssh_done(k, TK_RESET, "cannot start jeebs-replay: %s", why);
}

static void
tk_ssh_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tk_conn *k = w->data;

	(void)loop;
	(void)revents;
	tk_ssh_kill(k);
	tk_ssh_done(k, TK_RESET, "jeebs-replay gave no verdict within %.0f "
	    "s: killed, with its sshd",
	    (double)k->ts->cs->ssh.replay_timeout + TK_REPLAY_MARGIN);
}

/*
 * The package as a memfd: sized, sealed against resizing, at offset 0 for
 * the reader; the daemon keeps it to wipe it once the replay is over.
 */
static int
tk_pkg_memfd(struct tk_conn *k, char *err, size_t errlen)
{
	const uint8_t *p = buf_ptr(&k->pkg);
	size_t len = buf_len(&k->pkg), off = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create("securejeebs-rpkg", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, p + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "writing the package: %s",
			    n == 0 ? "short write" : strerror(errno));
			k->pkg_fd = fd;
			tk_pkg_wipe(k);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) != 0) {
		snprintf(err, errlen, "sealing the package: %s",
		    strerror(errno));
		k->pkg_fd = fd;
		tk_pkg_wipe(k);
		return -1;
	}
	k->pkg_fd = fd;
	buf_free(&k->pkg);
	return 0;
}

static void
tk_spawn_ssh(struct tk_conn *k)
{
	struct tk_server *ts = k->ts;
	struct takeover *t = ts->t;
	const struct conf_ssh *cs = &ts->cs->ssh;
	struct tk_env env;
	char err[256], tmo[16], *argv[10];
	int rp[2] = { -1, -1 }, extra[2], n = 0;
	int64_t t0;
	pid_t pid = -1;

	snprintf(tmo, sizeof(tmo), "%u", cs->replay_timeout);
	argv[n++] = t->conf->replay_program;
	if (log_debug_enabled())
		argv[n++] = "-d";
	argv[n++] = "-t";
	argv[n++] = tmo;
	argv[n++] = "-s";
	argv[n++] = cs->sshd;
	argv[n++] = "-f";
	argv[n++] = cs->sshd_config;
	argv[n] = NULL;
	tk_env_conn(&env, k);
	t0 = tk_mono_ns();
	if (tk_pkg_memfd(k, err, sizeof(err)) == 0) {
		if (pipe2(rp, O_CLOEXEC) == -1)
			snprintf(err, sizeof(err), "pipe: %s",
			    strerror(errno));
		else {
			extra[0] = k->pkg_fd;
			extra[1] = rp[1];
			pid = handoff_spawn_argv(k->fd, &k->plan.rc, argv,
			    env.v, extra, 2, &k->status_fd, err, sizeof(err));
			close(rp[1]);
		}
	}
	debug_f("%s: %s:%u: starting jeebs-replay took %" PRId64 " us",
	    ts->cs->name, k->client_str, k->cport,
	    (tk_mono_ns() - t0) / 1000);
	explicit_bzero(&env, sizeof(env));
	if (pid == -1) {
		/* Nobody has the socket: an RST at the expected numbers. */
		repair_reset(k->fd);
		k->fd = -1;
		rebuild_plan_free(&k->plan);
		if (rp[0] != -1)
			close(rp[0]);
		tk_pkg_wipe(k);
		k->fate = TK_RESET;
		snprintf(k->reason, sizeof(k->reason), "cannot start "
		    "jeebs-replay: %s", err);
		log_warn("%s: %s:%u: %s", ts->cs->name, k->client_str,
		    k->cport, k->reason);
		return;
	}
	/* jeebs-replay has the socket and the bytes; the daemon never will. */
	close(k->fd);
	k->fd = -1;
	rebuild_plan_free(&k->plan);
	k->pid = pid;
	k->report_fd = rp[0];
	(void)fcntl(k->report_fd, F_SETFL, O_NONBLOCK);
	k->fate = TK_STARTING;
	ts->starting++;
	t->starting++;
	ev_child_init(&k->child, tk_child_cb, pid, 0);
	k->child.data = k;
	ev_child_start(t->loop, &k->child);
	if (k->status_fd != -1) {
		ev_io_init(&k->status_io, tk_ssh_status_cb, k->status_fd,
		    EV_READ);
		k->status_io.data = k;
		ev_io_start(t->loop, &k->status_io);
	}
	ev_io_init(&k->report_io, tk_ssh_report_cb, k->report_fd, EV_READ);
	k->report_io.data = k;
	ev_io_start(t->loop, &k->report_io);
	ev_timer_init(&k->timeout, tk_ssh_timeout_cb,
	    (double)cs->replay_timeout + TK_REPLAY_MARGIN, 0.);
	k->timeout.data = k;
	ev_timer_start(t->loop, &k->timeout);
}

static void
tk_env_conn(struct tk_env *e, const struct tk_conn *k)
{
	tk_env_server(e, k->ts);
	tk_env_add(e, "SJ_RECOVER", "%s", k->ssh ? "ssh" : "exec");
	tk_env_add(e, "SJ_CLIENT_ADDR", "%s", k->client_str);
	tk_env_add(e, "SJ_CLIENT_PORT", "%u", k->cport);
	tk_env_add(e, "SJ_SERVICE_PORT", "%u", k->sport);
	tk_env_add(e, "SJ_IN_OFFSET", "%" PRIu64, k->in_off);
	tk_env_add(e, "SJ_IN_REPLAYED", "%" PRIu64, k->in_bytes);
	tk_env_add(e, "SJ_OUT_OFFSET", "%" PRIu64, k->out_off);
	tk_env_add(e, "SJ_OUT_RESENT", "%" PRIu64, k->out_bytes);
}

static void
tk_spawn(struct tk_conn *k)
{
	struct tk_server *ts = k->ts;
	struct takeover *t = ts->t;
	struct tk_env env;
	char err[256];
	int64_t t0;
	pid_t pid;

	if (k->ssh) {
		tk_spawn_ssh(k);
		return;
	}
	tk_env_conn(&env, k);
	t0 = tk_mono_ns();
	pid = handoff_spawn(k->fd, &k->plan.rc, ts->cs->recover_command,
	    env.v, &k->status_fd, err, sizeof(err));
	debug_f("%s: %s:%u: %s took %" PRId64 " us", ts->cs->name,
	    k->client_str, k->cport, k->status_fd == -1 ? "spawn" : "fork",
	    (tk_mono_ns() - t0) / 1000);
	/* The child has the socket and the bytes now; the daemon never will. */
	close(k->fd);
	k->fd = -1;
	rebuild_plan_free(&k->plan);
	explicit_bzero(&env, sizeof(env));
	if (pid == -1) {
		k->fate = TK_LOST;
		snprintf(k->reason, sizeof(k->reason), "hand-off: %s", err);
		log_warn("%s: %s:%u: hand-off failed: %s", ts->cs->name,
		    k->client_str, k->cport, err);
		return;
	}
	k->pid = pid;
	ev_child_init(&k->child, tk_child_cb, pid, 0);
	k->child.data = k;
	ev_child_start(t->loop, &k->child);
	if (k->status_fd == -1) {
		/* Spawned: the program runs already. */
		k->fate = TK_RECOVERED;
		k->started_us = store_now_us();
		return;
	}
	k->fate = TK_STARTING;
	ts->starting++;
	t->starting++;
	ev_io_init(&k->status_io, tk_status_cb, k->status_fd, EV_READ);
	k->status_io.data = k;
	ev_io_start(t->loop, &k->status_io);
	ev_timer_init(&k->timeout, tk_timeout_cb, TK_HANDOFF_TIMEOUT, 0.);
	k->timeout.data = k;
	ev_timer_start(t->loop, &k->timeout);
}

/* Start hand-offs while there is room; finish servers that are done. */
static void
tk_pump(struct takeover *t)
{
	size_t i;

	for (i = 0; i < t->conf->nservers && i < CONF_MAX_SERVERS; i++) {
		struct tk_server *ts = &t->srv[i];

		if (ts->phase != TK_HANDING_OFF)
			continue;
		while (t->starting < t->conf->recover_concurrency &&
		    ts->next < ts->nconns) {
			struct tk_conn *k = &ts->conns[ts->next++];

			if (k->fate == TK_PENDING)
				tk_spawn(k);
		}
		if (ts->next == ts->nconns && ts->starting == 0)
			tk_finish(ts);
	}
}

/* --- control --- */

int
takeover_force(struct takeover *t, size_t server, struct buf *out)
{
	struct tk_server *ts;
	const char *why;
	double since;

	if (t == NULL || server >= t->conf->nservers) {
		buf_putf(out, "no such server");
		return -1;
	}
	ts = &t->srv[server];
	if (ts->cs->recover == CONF_RECOVER_NONE) {
		buf_putf(out, "server %s has no recover line: it is never "
		    "taken over", ts->cs->name);
		return -1;
	}
	if (ts->cs->fence == NULL && !ts->cs->fence_none) {
		buf_putf(out, "server %s has no fence line: it is never taken "
		    "over", ts->cs->name);
		return -1;
	}
	switch (ts->phase) {
	case TK_FENCING:
	case TK_FENCED:
	case TK_HANDING_OFF:
		buf_putf(out, "a takeover of %s is under way (%s)",
		    ts->cs->name, tk_phase_str(ts->phase));
		return -1;
	case TK_DONE:
	case TK_FAILED:
		buf_putf(out, "%s has been taken over already (%s: %s)",
		    ts->cs->name, tk_phase_str(ts->phase), ts->why);
		return -1;
	default:
		break;
	}
	if (watch_released(t->watch, server)) {
		buf_putf(out, "this host holds %s's address already",
		    ts->cs->name);
		return -1;
	}
	log_warn("%s: takeover forced by securejeebsctl", ts->cs->name);
	store_put_event(t->store, ts->cs->name, "takeover-forced",
	    "securejeebsctl takeover");
	if (watch_health(t->watch, server, &since, &why) == HEALTH_DEAD)
		takeover_dead(t, server, "forced by securejeebsctl takeover");
	else
		watch_force_dead(t->watch, server,
		    "forced by securejeebsctl takeover");
	buf_putf(out, "takeover of %s: %s (%s)\n", ts->cs->name,
	    tk_phase_str(ts->phase), ts->why);
	return 0;
}

const char *
takeover_state(struct takeover *t, size_t server, int64_t *since_us,
    const char **why)
{
	struct tk_server *ts;

	if (t == NULL || server >= t->conf->nservers ||
	    t->srv[server].phase == TK_NONE)
		return NULL;
	ts = &t->srv[server];
	*since_us = ts->since_us;
	*why = ts->why;
	return tk_phase_str(ts->phase);
}

/*
 * --- recover ssh: one connection's plan and package ---
 *
 * The package describes the server as it was at the client resume point:
 * the first client packet the dead server had not fully acknowledged
 * (everything from it on is live, in the rebuilt socket's receive queue)
 * and, outbound, the end of the last whole server packet.  DESIGN.md 6,
 * docs/recovery-format.md.
 */

/* Whether s is one line of text as the package allows (no control chars). */
static int
tk_text_ok(const char *s)
{
	const unsigned char *u;

	for (u = (const unsigned char *)s; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f)
			return 0;
	return 1;
}

/* One direction's keys at its position. */
static int
tk_ssh_dir(struct rpkg_dir *rd, const struct seal_dir *kd,
    const struct sshtrack_pos *pos, const char *tracked, const char *name,
    char *why, size_t whylen)
{
	int needs_iv = strstr(kd->cipher, "chacha20") == NULL;

	if (strcmp(kd->cipher, tracked) != 0) {
		snprintf(why, whylen, "%s: the key record's cipher %s is not "
		    "the one tracked (%s)", name, kd->cipher, tracked);
		return -1;
	}
	if (strlen(kd->cipher) > RPKG_NAME_MAX ||
	    strlen(kd->mac) > RPKG_NAME_MAX ||
	    kd->enc_key_len == 0 || kd->enc_key_len > RPKG_SECRET_MAX ||
	    kd->mac_key_len > RPKG_SECRET_MAX ||
	    pos->iv_len > RPKG_SECRET_MAX) {
		snprintf(why, whylen, "%s: keys do not fit the package", name);
		return -1;
	}
	if (needs_iv && pos->iv_len == 0) {
		snprintf(why, whylen, "%s: the cipher position (IV) at the "
		    "resume point is not known", name);
		return -1;
	}
	snprintf(rd->cipher, sizeof(rd->cipher), "%s", kd->cipher);
	snprintf(rd->mac, sizeof(rd->mac), "%s", kd->mac);
	memcpy(rd->key, kd->enc_key, kd->enc_key_len);
	rd->key_len = kd->enc_key_len;
	memcpy(rd->iv, pos->iv, pos->iv_len);
	rd->iv_len = needs_iv ? pos->iv_len : 0;
	memcpy(rd->mac_key, kd->mac_key, kd->mac_key_len);
	rd->mac_key_len = kd->mac[0] != '\0' ? kd->mac_key_len : 0;
	rd->seqnr = pos->seqnr;
	rd->packets = pos->packets;
	rd->blocks = pos->blocks;
	return 0;
}

/* The channels as the server had them at the resume point. */
static int
tk_ssh_chans(struct sshtrack *st, const struct tcptrack_conn *c,
    struct rpkg *k, size_t *n, char *why, size_t whylen)
{
	struct sshtrack_chan ch;
	struct rpkg_chan rc;
	size_t i, count = sshtrack_channel_count(st, c);
	int r, d;

	*n = 0;
	for (i = 0; i < count; i++) {
		if ((r = sshtrack_channel_get_resume(st, c, i, &ch)) == 1)
			continue;	/* opened by a live client packet */
		if (r != 0) {
			snprintf(why, whylen, "channel table unreadable");
			return -1;
		}
		if (!ch.window_known) {
			snprintf(why, whylen, "channel %u: windows unknown "
			    "(packets were not seen since it opened)",
			    ch.id_server);
			return -1;
		}
		if (!ch.confirmed) {
			snprintf(why, whylen, "channel %u (%s) was being "
			    "opened", ch.opened_by == SSHTRACK_C2S ?
			    ch.id_client : ch.id_server, ch.type);
			return -1;
		}
		if (ch.close[SSHTRACK_C2S] || ch.close[SSHTRACK_S2C]) {
			snprintf(why, whylen, "channel %u (%s) was being "
			    "closed", ch.id_server, ch.type);
			return -1;
		}
		for (d = 0; d < 2; d++)
			if (ch.window[d] < 0 || ch.window[d] > UINT32_MAX) {
				snprintf(why, whylen, "channel %u: %s window "
				    "%lld out of range", ch.id_server,
				    d == SSHTRACK_C2S ? "c2s" : "s2c",
				    (long long)ch.window[d]);
				return -1;
			}
		memset(&rc, 0, sizeof(rc));
		rc.id_client = ch.id_client;
		rc.id_server = ch.id_server;
		snprintf(rc.type, sizeof(rc.type), "%s", ch.type);
		rc.window_c2s = (uint32_t)ch.window[SSHTRACK_C2S];
		rc.window_s2c = (uint32_t)ch.window[SSHTRACK_S2C];
		rc.maxpacket_c2s = ch.maxpacket[SSHTRACK_C2S];
		rc.maxpacket_s2c = ch.maxpacket[SSHTRACK_S2C];
		if (ch.opened_by == SSHTRACK_S2C)
			rc.flags |= RPKG_CHAN_BY_SERVER;
		if (ch.eof[SSHTRACK_C2S])
			rc.flags |= RPKG_CHAN_EOF_C2S;
		if (ch.eof[SSHTRACK_S2C])
			rc.flags |= RPKG_CHAN_EOF_S2C;
		if (rpkg_add_chan(k, &rc) != 0) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* The setup log, without the live client messages. */
static int
tk_ssh_log(struct sshtrack *st, const struct tcptrack_conn *c,
    uint64_t resume, struct rpkg *k, struct takeover_ssh_info *info,
    char *why, size_t whylen)
{
	struct sshtrack_msg m;
	size_t i, n = sshtrack_log_count(st, c);

	for (i = 0; i < n; i++) {
		if (sshtrack_log_get(st, c, i, &m) != 0) {
			snprintf(why, whylen, "setup log unreadable");
			return -1;
		}
		if (m.dir == SSHTRACK_C2S && m.off >= resume)
			continue;	/* live: read again after the cutover */
		if (rpkg_add_msg(k, m.dir == SSHTRACK_C2S ? RPKG_C2S :
		    RPKG_S2C, (uint32_t)m.flags, m.p, m.len) != 0) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		info->messages++;
		if (m.dir == SSHTRACK_C2S)
			info->replayed++;
	}
	return 0;
}

int
takeover_ssh_prepare(struct sshtrack *st, const struct tcptrack_conn *c,
    const struct conf_server *cs, double now, struct rebuild_plan *p,
    struct buf *pkg, struct takeover_ssh_info *info, char *why,
    size_t whylen)
{
	struct sshtrack_info si;
	struct sshtrack_pos pos[2];
	const struct seal_keyrec *rec;
	struct rebuild_plan check;
	const char *hostkey;
	struct rpkg *k = NULL;
	int ret = -1, planned = 0, d;

	if (p != NULL)
		memset(p, 0, sizeof(*p));
	memset(info, 0, sizeof(*info));
	memset(pos, 0, sizeof(pos));
	if (sshtrack_status(st, c, &si) != 0) {
		snprintf(why, whylen, "not followed by the SSH tracker");
		return -1;
	}
	if (!si.protectable) {
		snprintf(why, whylen, "%s", si.reason);
		return -1;
	}
	if (si.waiting_keys) {
		snprintf(why, whylen, "waiting for keys");
		return -1;
	}
	if (si.compression) {
		snprintf(why, whylen, "compression negotiated");
		return -1;
	}
	if (si.kex_in_progress) {
		snprintf(why, whylen, "a key exchange was under way");
		return -1;
	}
	for (d = 0; d < 2; d++)
		if (si.dir[d].phase != SSHTRACK_PHASE_DECRYPT ||
		    si.dir[d].compressed) {
			snprintf(why, whylen, "SSH tracking of %s is %s, not "
			    "decrypting", d == SSHTRACK_C2S ? "c2s" : "s2c",
			    sshtrack_phase_str(si.dir[d].phase));
			return -1;
		}
	if (sshtrack_resume_check(st, c, why, whylen) != 0)
		return -1;
	if (sshtrack_position(st, c, SSHTRACK_C2S, 1, &pos[SSHTRACK_C2S]) !=
	    0 || sshtrack_position(st, c, SSHTRACK_S2C, 0,
	    &pos[SSHTRACK_S2C]) != 0 || !pos[0].keyed || !pos[1].keyed) {
		snprintf(why, whylen, "no cipher position to resume from");
		goto out;
	}
	if (pos[SSHTRACK_S2C].off != si.dir[SSHTRACK_S2C].packet_end) {
		snprintf(why, whylen, "the server position is not at the end "
		    "of its last whole packet");
		goto out;
	}
	/* One KEX in force both ways, and its record held. */
	if (pos[0].kex_number != pos[1].kex_number) {
		snprintf(why, whylen, "the directions are under different key "
		    "exchanges at the resume point (c2s %u, s2c %u)",
		    pos[0].kex_number, pos[1].kex_number);
		goto out;
	}
	if ((rec = sshtrack_keyrec(st, c, pos[0].kex_number)) == NULL) {
		snprintf(why, whylen, "keys of KEX %u not held",
		    pos[0].kex_number);
		goto out;
	}
	if (!rec->has_login || rec->user[0] == '\0') {
		snprintf(why, whylen, "no attested login (not logged in, or "
		    "its record did not arrive)");
		goto out;
	}
	if (strlen(rec->user) > RPKG_USER_MAX || !tk_text_ok(rec->user) ||
	    strlen(rec->auth_method) > RPKG_NAME_MAX ||
	    rec->auth_method[0] == '\0') {
		snprintf(why, whylen, "the attested login does not fit the "
		    "package");
		goto out;
	}
	if (rec->session_id_len == 0 ||
	    rec->session_id_len > RPKG_SESSION_ID_MAX) {
		snprintf(why, whylen, "no usable session_id");
		goto out;
	}
	/*
	 * publickey-hostbound binds the host key of the first KEX: the
	 * record says it for KEX 0, the tracker for later ones (a rekey may
	 * not change the key, so a later record's names the same key type
	 * when the tracker's was lost to a restart).
	 */
	hostkey = rec->kex_number == 0 || si.hostkey0[0] == '\0' ?
	    rec->hostkey_alg : si.hostkey0;
	if (strlen(hostkey) == 0 || strlen(hostkey) > RPKG_NAME_MAX ||
	    strlen(rec->kex_alg) == 0 || strlen(rec->kex_alg) > RPKG_NAME_MAX) {
		snprintf(why, whylen, "algorithm names do not fit the "
		    "package");
		goto out;
	}
	/* The socket: receive queue from the resume point, send queue to
	 * the end of the last whole server packet. */
	if (rebuild_plan_range(c, now, pos[SSHTRACK_C2S].off,
	    pos[SSHTRACK_S2C].off, p != NULL ? p : &check, why, whylen) != 0)
		goto out;
	planned = 1;
	if (p == NULL)
		rebuild_plan_free(&check);
	info->resume_off[SSHTRACK_C2S] = pos[SSHTRACK_C2S].off;
	info->resume_off[SSHTRACK_S2C] = pos[SSHTRACK_S2C].off;

	if ((k = rpkg_new()) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	snprintf(k->client_version, sizeof(k->client_version), "%s",
	    si.dir[SSHTRACK_C2S].version);
	snprintf(k->server_version, sizeof(k->server_version), "%s",
	    si.dir[SSHTRACK_S2C].version);
	memcpy(k->session_id, rec->session_id, rec->session_id_len);
	k->session_id_len = rec->session_id_len;
	snprintf(k->kex_alg, sizeof(k->kex_alg), "%s", rec->kex_alg);
	snprintf(k->hostkey_alg, sizeof(k->hostkey_alg), "%s", hostkey);
	k->strict_kex = si.strict_kex != 0;
	snprintf(k->user, sizeof(k->user), "%s", rec->user);
	snprintf(k->auth_method, sizeof(k->auth_method), "%s",
	    rec->auth_method);
	k->flags = cs->ssh.rerun_exec ? RPKG_RERUN_EXEC : 0;
	snprintf(k->notice, sizeof(k->notice), "%s",
	    cs->ssh.notice != NULL ? cs->ssh.notice : "");
	if (tk_ssh_dir(&k->dir[RPKG_C2S], &rec->c2s, &pos[SSHTRACK_C2S],
	    si.dir[SSHTRACK_C2S].cipher, "c2s", why, whylen) != 0 ||
	    tk_ssh_dir(&k->dir[RPKG_S2C], &rec->s2c, &pos[SSHTRACK_S2C],
	    si.dir[SSHTRACK_S2C].cipher, "s2c", why, whylen) != 0 ||
	    tk_ssh_chans(st, c, k, &info->channels, why, whylen) != 0 ||
	    tk_ssh_log(st, c, pos[SSHTRACK_C2S].off, k, info, why,
	    whylen) != 0)
		goto out;
	if (pkg != NULL && rpkg_encode(k, pkg) != 0) {
		snprintf(why, whylen, "the recovery package does not encode "
		    "(over %u bytes?)", RPKG_MAX);
		goto out;
	}
	ret = 0;
 out:
	rpkg_free(k);
	explicit_bzero(pos, sizeof(pos));
	if (ret != 0) {
		if (planned && p != NULL)
			rebuild_plan_free(p);
		if (pkg != NULL)
			buf_reset(pkg);
	}
	return ret;
}

/* --- recover ssh: jeebs-replay's report --- */

/* "key=N" with N a non-negative decimal: 0 and *v, or -1. */
static int
tk_report_num(const char *word, const char *key, int64_t *v)
{
	size_t kl = strlen(key);
	char *end;
	long long n;

	if (strncmp(word, key, kl) != 0 || word[kl] != '=' ||
	    word[kl + 1] < '0' || word[kl + 1] > '9')
		return -1;
	errno = 0;
	n = strtoll(word + kl + 1, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		return -1;
	*v = n;
	return 0;
}

int
takeover_ssh_report_parse(const char *line, struct takeover_ssh_report *r,
    char *why, size_t whylen)
{
	static const char *const keys[] = { "sshd_pid", "sshd_us",
	    "replay_us", "cutover_us", "messages" };
	int64_t *vals[] = { &r->sshd_pid, &r->sshd_us, &r->replay_us,
	    &r->cutover_us, &r->messages };
	char copy[1024], *w, *save = NULL;
	unsigned seen = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (strncmp(line, "fail", 4) == 0 && (line[4] == ' ' ||
	    line[4] == '\0')) {
		snprintf(why, whylen, "%s", line[4] == ' ' && line[5] != '\0' ?
		    line + 5 : "no reason given");
		for (w = why; *w != '\0'; w++)
			if ((unsigned char)*w < 0x20 || *w == 0x7f)
				*w = '?';
		return 0;
	}
	if (strncmp(line, "ok", 2) != 0 || (line[2] != ' ' && line[2] != '\0'))
		goto bad;
	if (strlen(line) >= sizeof(copy))
		goto bad;
	snprintf(copy, sizeof(copy), "%s", line + 2);
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (tk_report_num(w, keys[i], vals[i]) == 0)
				seen |= 1u << i;
	/* Words it does not know are for newer daemons: ignored. */
	r->complete = seen == (1u << (sizeof(keys) / sizeof(keys[0]))) - 1;
	if (!r->complete)
		snprintf(why, whylen, "ok, but the report lacks numbers");
	else
		why[0] = '\0';
	return 1;
 bad:
	snprintf(why, whylen, "neither ok nor fail");
	return -1;
}

/* --- reload --- */

/* Whether nc keeps every server at its index and address. */
static int
tk_reconf_same_servers(const struct takeover *t, const struct conf *nc,
    const int *old_of_new)
{
	size_t i;

	if (nc->nservers != t->conf->nservers)
		return 0;
	for (i = 0; i < nc->nservers; i++)
		if (old_of_new[i] != (int)i ||
		    !conf_addr_equal(&nc->servers[i].service_ip,
		    &t->conf->servers[i].service_ip))
			return 0;
	return 1;
}

int
takeover_reconf_check(struct takeover *t, const struct conf *nc,
    const int *old_of_new, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < nc->nservers; i++) {
		const struct conf_server *ns = &nc->servers[i], *os;

		if (old_of_new[i] < 0)
			continue;
		os = &t->conf->servers[old_of_new[i]];
		if ((os->recover == CONF_RECOVER_EXEC) !=
		    (ns->recover == CONF_RECOVER_EXEC)) {
			snprintf(why, whylen, "server %s: recover %s -> %s "
			    "changes who tracks its connections", ns->name,
			    conf_recover_str(os->recover),
			    conf_recover_str(ns->recover));
			return -1;
		}
	}
	if (tk_reconf_same_servers(t, nc, old_of_new))
		return 0;
	for (i = 0; i < t->conf->nservers && i < CONF_MAX_SERVERS; i++) {
		const struct tk_server *ts = &t->srv[i];

		if (ts->phase != TK_NONE || ts->conns != NULL ||
		    ts->fence != NULL || ts->pins != NULL) {
			snprintf(why, whylen, "server %s: a takeover has "
			    "begun (%s), and servers are added, removed or "
			    "readdressed", ts->cs->name,
			    tk_phase_str(ts->phase));
			return -1;
		}
	}
	return 0;
}

void
takeover_reconf(struct takeover *t, const struct conf *nc,
    const int *old_of_new)
{
	struct tcptrack_ops ops;
	size_t i;

	if (tk_reconf_same_servers(t, nc, old_of_new)) {
		/* Every takeover under way goes on; the settings are new. */
		for (i = 0; i < nc->nservers && i < CONF_MAX_SERVERS; i++)
			t->srv[i].cs = &nc->servers[i];
		t->conf = nc;
		return;
	}
	/* No takeover has begun (takeover_reconf_check()): nothing to move. */
	memset(t->srv, 0, sizeof(t->srv));
	t->conf = nc;
	memset(&ops, 0, sizeof(ops));
	ops.conn_new = tk_exec_conn_new;
	ops.data = tk_exec_data;
	for (i = 0; i < nc->nservers && i < CONF_MAX_SERVERS; i++) {
		struct tk_server *ts = &t->srv[i];

		ts->t = t;
		ts->idx = i;
		ts->cs = &nc->servers[i];
		pkt_addr_set(&ts->service, ts->cs->service_ip.family,
		    &ts->cs->service_ip.u);
		if (ts->cs->recover == CONF_RECOVER_EXEC && old_of_new[i] < 0)
			watch_set_consumer(t->watch, i, &ops, t);
	}
}

/*
 * --- maintenance drain (docs/drain.md) ---
 *
 * securejeebsctl drain SERVER: the drain command makes the production
 * sshd stop every session at a clean point, removes the service address
 * from the server and has each session's monitor send its exact final
 * state (drain records).  The daemon collects them, then takes the server
 * over as after a crash (tk_go), except that each drained connection is
 * rebuilt from the sshd's state instead of the capture; a connection
 * without drain records falls back to the capture, as in a crash.
 */

static void
tk_drains_free(struct tk_server *ts)
{
	size_t i;

	for (i = 0; i < ts->ndrains; i++) {
		drainrec_free(&ts->drains[i].rec);
		buf_free(&ts->drains[i].data);
	}
	free(ts->drains);
	ts->drains = NULL;
	ts->ndrains = ts->adrains = 0;
}

static size_t
tk_drains_complete(const struct tk_server *ts)
{
	size_t i, n = 0;

	for (i = 0; i < ts->ndrains; i++)
		n += ts->drains[i].complete;
	return n;
}

/* Whether the endpoints of an export record are those of c. */
static int
tk_tuple_is(uint8_t family, const struct seal_endpoint *client,
    const struct seal_endpoint *service, const struct tcptrack_conn *c)
{
	size_t alen = c->client.family == AF_INET ? 4 : 16;

	return client->port == c->cport && service->port == c->sport &&
	    (family == SEAL_AF_INET) == (c->client.family == AF_INET) &&
	    memcmp(client->addr, c->client.a, alen) == 0 &&
	    memcmp(service->addr, c->server.a, alen) == 0;
}

static int
tk_tuple_eq(uint8_t fa, const struct seal_endpoint *ca,
    const struct seal_endpoint *sa, uint8_t fb,
    const struct seal_endpoint *cb, const struct seal_endpoint *sb)
{
	size_t alen = fa == SEAL_AF_INET ? 4 : 16;

	return fa == fb && ca->port == cb->port && sa->port == sb->port &&
	    memcmp(ca->addr, cb->addr, alen) == 0 &&
	    memcmp(sa->addr, sb->addr, alen) == 0;
}

static struct tk_drain *
tk_drain_find(struct tk_server *ts, const struct tcptrack_conn *c)
{
	size_t i;

	for (i = 0; i < ts->ndrains; i++) {
		struct tk_drain *dr = &ts->drains[i];

		if (dr->complete && tk_tuple_is(dr->family, &dr->client,
		    &dr->service, c))
			return dr;
	}
	return NULL;
}

/* The keystore accepted a drain part (records come in counter order). */
static void
tk_drain_part(void *arg, size_t server, const struct keystore_conn *kc,
    const struct seal_keyrec *kr)
{
	struct takeover *t = arg;
	struct tk_server *ts;
	struct tk_drain *dr = NULL, *n;
	char why[200];
	size_t i;

	if (server >= t->conf->nservers || server >= CONF_MAX_SERVERS)
		return;
	ts = &t->srv[server];
	if (!ts->draining || ts->phase != TK_DRAINING)
		log_warn("%s: a drain record of connection %016llx outside a "
		    "drain: that session has left the server", ts->cs->name,
		    (unsigned long long)kc->conn_id);
	for (i = 0; i < ts->ndrains; i++)
		if (ts->drains[i].conn_id == kc->conn_id)
			dr = &ts->drains[i];
	if (dr == NULL) {
		if (kr->drain_part != 0)
			return;
		if (ts->ndrains == ts->adrains) {
			size_t na = ts->adrains ? ts->adrains * 2 : 64;

			if ((n = reallocarray(ts->drains, na,
			    sizeof(*n))) == NULL)
				return;
			ts->drains = n;
			ts->adrains = na;
		}
		dr = &ts->drains[ts->ndrains++];
		memset(dr, 0, sizeof(*dr));
		dr->conn_id = kc->conn_id;
		dr->family = kc->family;
		dr->client = kc->client;
		dr->service = kc->service;
		dr->nparts = kr->drain_nparts;
		buf_init(&dr->data, (size_t)kr->drain_nparts *
		    SEAL_DRAIN_CHUNK_MAX);
		buf_set_secret(&dr->data);
	}
	if (dr->bad || dr->complete)
		return;
	if (kr->drain_part != dr->have || kr->drain_nparts != dr->nparts ||
	    buf_put(&dr->data, kr->drain_data, kr->drain_len) != 0) {
		dr->bad = 1;
		snprintf(dr->why, sizeof(dr->why), "drain state: part %u of "
		    "%u out of order", kr->drain_part, kr->drain_nparts);
		log_warn("%s: drain of %016llx: part %u of %u out of order",
		    ts->cs->name, (unsigned long long)kc->conn_id,
		    kr->drain_part, kr->drain_nparts);
		return;
	}
	if (++dr->have < dr->nparts)
		return;
	if (drainrec_decode(buf_ptr(&dr->data), buf_len(&dr->data), &dr->rec,
	    why, sizeof(why)) != 0) {
		dr->bad = 1;
		snprintf(dr->why, sizeof(dr->why), "%s", why);
		log_warn("%s: drain of %016llx: %s", ts->cs->name,
		    (unsigned long long)kc->conn_id, why);
		return;
	}
	dr->complete = 1;
	dr->arrived = ev_time();
	debug_f("%s: drain state of %016llx complete (SJD%d, %u parts, %zu "
	    "bytes)", ts->cs->name, (unsigned long long)kc->conn_id,
	    dr->rec.version, dr->nparts, buf_len(&dr->data));
}

/*
 * Connections of the server whose keys are held: drain records to come.
 * The tracked ones (past the handshake, keys of the KEX in force held),
 * and the sessions whose keys the keystore holds but that the capture has
 * not picked up (after a failback: sessions idle since this daemon
 * started; docs/drain.md "Failback").
 */

static void
tk_expect_cb(void *arg, size_t server, struct tcptrack_conn *c)
{
	struct tk_expect *e = arg;
	struct tcptrack_conn **n;
	struct sshtrack_info si;

	if (server != e->server)
		return;
	if (!e->all && (sshtrack_status(watch_sshtrack(e->t->watch), c,
	    &si) != 0 || si.waiting_keys || c->state == TCPTRACK_SYN_SENT ||
	    c->state == TCPTRACK_SYN_RECEIVED))
		return;
	e->n++;
	if (c->dir[TCPTRACK_C2S].syn_seen)
		e->from_syn++;
	if (e->nlist == e->alist) {
		size_t na = e->alist ? e->alist * 2 : 64;

		if ((n = reallocarray(e->list, na, sizeof(*n))) == NULL)
			return;
		e->list = n;
		e->alist = na;
	}
	e->list[e->nlist++] = c;
}

static int
tk_expect_ks_cb(void *arg, const struct keystore_conn *kc)
{
	struct tk_expect *e = arg;
	struct tk_extra *n;
	size_t i;

	if (strcmp(kc->server, e->name) != 0 || kc->closed || !kc->keys_held)
		return 0;
	for (i = 0; i < e->nlist; i++)
		if (tk_tuple_is(kc->family, &kc->client, &kc->service,
		    e->list[i]))
			return 0;
	for (i = 0; i < e->nextra; i++)
		if (tk_tuple_eq(kc->family, &kc->client, &kc->service,
		    e->extra[i].family, &e->extra[i].client,
		    &e->extra[i].service)) {
			/* The same tuple twice: the newest export counts. */
			if (kc->last_us > e->extra[i].last_us) {
				e->extra[i].conn_id = kc->conn_id;
				e->extra[i].last_us = kc->last_us;
			}
			return 0;
		}
	if (e->nextra == e->aextra) {
		size_t na = e->aextra ? e->aextra * 2 : 16;

		if ((n = reallocarray(e->extra, na, sizeof(*n))) == NULL)
			return 0;
		e->extra = n;
		e->aextra = na;
	}
	n = &e->extra[e->nextra++];
	memset(n, 0, sizeof(*n));
	n->conn_id = kc->conn_id;
	n->family = kc->family;
	n->client = kc->client;
	n->service = kc->service;
	n->last_us = kc->last_us;
	return 0;
}

/* Count (and list) what a drain of server expects; tk_expect_free() after. */
static void
tk_expect_count(struct takeover *t, size_t server, int all,
    struct tk_expect *e)
{
	memset(e, 0, sizeof(*e));
	e->t = t;
	e->server = server;
	e->all = all;
	e->name = t->srv[server].cs->name;
	watch_foreach_conn(t->watch, tk_expect_cb, e);
	if (watch_keystore(t->watch) != NULL)
		(void)keystore_walk(watch_keystore(t->watch), tk_expect_ks_cb,
		    e);
}

static void
tk_expect_free(struct tk_expect *e)
{
	free(e->list);
	free(e->extra);
	memset(e, 0, sizeof(*e));
}

/*
 * Drained connections whose client stream the SSH tracker has not yet
 * followed up to where the sshd had read (the capture lags under load, or
 * waits for the keys of the last rekey): their setup log is not complete.
 */
struct tk_lag {
	struct takeover		*t;
	struct tk_server	*ts;
	size_t			 server, n;
};

static int
tk_drain_lags(struct sshtrack *st, const struct tcptrack_conn *c,
    const struct drainrec *d)
{
	const struct tcptrack_dir *cd = &c->dir[TCPTRACK_C2S];
	struct sshtrack_info si;
	uint32_t resume_seq;
	uint64_t resume;

	if (d->version != 1)
		return 0;	/* SJD2: the log is in the state, not the capture */
	if (sshtrack_status(st, c, &si) != 0 || !cd->syn_seen)
		return 0;	/* it will fail anyway: do not wait for it */
	resume_seq = d->rcv_nxt - (uint32_t)(d->dir[0].raw_len +
	    d->recvq_len);
	resume = tcptrack_unwrap(resume_seq - (cd->isn + 1), cd->delivered);
	return si.dir[SSHTRACK_C2S].packet_end < resume;
}

static void
tk_lag_cb(void *arg, size_t server, struct tcptrack_conn *c)
{
	struct tk_lag *l = arg;
	struct tk_drain *dr;

	if (server != l->server || (dr = tk_drain_find(l->ts, c)) == NULL)
		return;
	if (tk_drain_lags(watch_sshtrack(l->t->watch), c, &dr->rec))
		l->n++;
}

static void
tk_drain_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tk_server *ts = w->data;
	size_t done = tk_drains_complete(ts);
	struct tk_lag l;

	(void)revents;
	if (done < ts->drain_expected && ev_now(loop) < ts->drain_deadline)
		return;
	memset(&l, 0, sizeof(l));
	l.t = ts->t;
	l.ts = ts;
	l.server = (size_t)(ts - ts->t->srv);
	watch_foreach_conn(ts->t->watch, tk_lag_cb, &l);
	if (l.n > 0 && ev_now(loop) < ts->drain_deadline)
		return;		/* the capture catches up */
	if (l.n > 0)
		log_warn("%s: drain: the capture is still behind the sshd on "
		    "%zu connections", ts->cs->name, l.n);
	ev_timer_stop(loop, w);
	if (done == 0 && ts->ndrains == 0 && ts->drain_expected > 0) {
		struct tk_expect e;
		size_t from_syn;

		tk_expect_count(ts->t, ts->idx, 0, &e);
		from_syn = e.from_syn;
		tk_expect_free(&e);
		if (from_syn == 0) {
			/*
			 * Not one state arrived and the capture can rebuild
			 * none of the sessions (after a failback it picked
			 * them up mid-stream, or not at all): taking the
			 * address would only reset them.  Leave it: the
			 * drain command's watcher puts it back on the server
			 * and calls the drain off, and the sessions whose
			 * sshd did not send its state resume there.
			 */
			ts->drain_cmd_failed = 1;
			ts->draining = 0;
			log_error("%s: drain: none of %zu sessions sent its "
			    "state and the capture can rebuild none of them: "
			    "not taking the address (the drain command's "
			    "watcher puts it back on %s)", ts->cs->name,
			    ts->drain_expected, ts->cs->name);
			store_put_event(ts->t->store, ts->cs->name,
			    "drain-failed", "none of %zu sessions sent its "
			    "state, the capture can rebuild none: address not "
			    "taken, nothing moved", ts->drain_expected);
			tk_set_phase(ts, TK_FENCE_FAILED, "no drain state "
			    "from any of %zu sessions within %u s, and the "
			    "capture can rebuild none: address not taken, "
			    "nothing moved", ts->drain_expected,
			    (unsigned)ts->cs->drain_timeout);
			ts->row.done_us = store_now_us();
			tk_row_save(ts);
			watch_health_reset(ts->t->watch, ts->idx, "a drain "
			    "that moved nothing: watched again");
			return;
		}
	}
	log_notice("%s: drain: %zu of %zu sessions sent their state; taking "
	    "over the address", ts->cs->name, done, ts->drain_expected);
	store_put_event(ts->t->store, ts->cs->name, "drain-states", "%zu of "
	    "%zu sessions sent their final state", done, ts->drain_expected);
	tk_go(ts);
}

static void
tk_drain_cmd_done(void *arg, int ok, const char *result, const char *output)
{
	struct tk_server *ts = arg;
	struct takeover *t = ts->t;
	size_t done = tk_drains_complete(ts);

	ts->fence = NULL;
	ts->row.fence_end_us = store_now_us();
	snprintf(ts->fence_result, sizeof(ts->fence_result), "%s: %s%s%s",
	    ts->cs->drain_command, result, output[0] != '\0' ? ": " : "",
	    output);
	ts->row.fence_result = ts->fence_result;
	snprintf(ts->drain_output, sizeof(ts->drain_output), "%s", output);
	if (!ok && done == 0) {
		/* Nothing left the server: it keeps its sessions. */
		ts->drain_cmd_failed = 1;
		ts->draining = 0;
		log_error("%s: drain command failed (%s): nothing moved",
		    ts->cs->name, ts->fence_result);
		store_put_event(t->store, ts->cs->name, "drain-failed",
		    "%s; nothing moved", ts->fence_result);
		tk_set_phase(ts, TK_FENCE_FAILED, "drain command failed (%s): "
		    "nothing moved", result);
		tk_row_save(ts);
		watch_health_reset(t->watch, ts->idx, "a drain that moved "
		    "nothing: watched again");
		return;
	}
	if (!ok)
		log_warn("%s: drain command failed (%s), but %zu sessions have "
		    "left the server: taking them over", ts->cs->name,
		    ts->fence_result, done);
	else {
		/*
		 * Logins that were in progress when the drain began finish
		 * before the sessions are stopped (the drain command holds
		 * new connections back meanwhile): count them too.
		 */
		struct tk_expect e;

		tk_expect_count(t, (size_t)(ts - t->srv), 0, &e);
		if (e.n + e.nextra > ts->drain_expected) {
			log_info("%s: drain: %zu sessions now (%zu logged in "
			    "meanwhile)", ts->cs->name, e.n + e.nextra,
			    e.n + e.nextra - ts->drain_expected);
			ts->drain_expected = e.n + e.nextra;
		}
		tk_expect_free(&e);
	}
	tk_set_phase(ts, TK_DRAINING, "waiting for the sessions' states "
	    "(%zu of %zu)", done, ts->drain_expected);
	ts->drain_deadline = ev_now(t->loop) + ts->cs->drain_timeout;
	ev_timer_init(&ts->drain_timer, tk_drain_timer_cb, 0., 0.02);
	ts->drain_timer.data = ts;
	ev_timer_start(t->loop, &ts->drain_timer);
}

int
takeover_drain(struct takeover *t, size_t server, struct buf *out)
{
	struct tk_server *ts;
	struct tk_expect e;
	struct tk_env env;
	char err[256];

	if (t == NULL || server >= t->conf->nservers) {
		buf_putf(out, "no such server");
		return -1;
	}
	ts = &t->srv[server];
	if (ts->cs->recover != CONF_RECOVER_SSH) {
		buf_putf(out, "server %s is not `recover ssh`: nothing to "
		    "drain", ts->cs->name);
		return -1;
	}
	if (ts->cs->drain_command == NULL) {
		buf_putf(out, "server %s has no drain_command", ts->cs->name);
		return -1;
	}
	/* The address may have left this host since the last check. */
	tk_addr_check_one(t, server);
	if (ts->phase != TK_NONE && ts->phase != TK_FENCE_FAILED) {
		buf_putf(out, "%s: a drain or takeover is under way or done "
		    "(%s: %s)", ts->cs->name, tk_phase_str(ts->phase),
		    ts->why);
		return -1;
	}
	if (watch_released(t->watch, server)) {
		buf_putf(out, "this host holds %s's address already",
		    ts->cs->name);
		return -1;
	}
	tk_conns_release(ts);
	tk_drains_free(ts);
	ts->draining = 1;
	ts->drain_cmd_failed = 0;
	ts->drain_output[0] = '\0';
	tk_expect_count(t, server, 0, &e);
	ts->drain_expected = e.n + e.nextra;
	if (e.nextra > 0)
		log_info("%s: drain: %zu of the sessions are known by their "
		    "keys only (not captured)", ts->cs->name, e.nextra);
	tk_expect_free(&e);
	memset(&ts->row, 0, sizeof(ts->row));
	snprintf(ts->cause, sizeof(ts->cause), "drain (securejeebsctl "
	    "drain)");
	ts->fence_result[0] = '\0';
	ts->row.server = ts->cs->name;
	ts->row.cause = ts->cause;
	ts->row.detail = ts->detail;
	ts->row.dead_us = store_now_us();
	ts->row.last_frame_us = ts->row.dead_us;
	tk_set_phase(ts, TK_DRAINING, "running the drain command (%zu "
	    "sessions)", ts->drain_expected);
	ts->row.id = store_takeover_new(t->store, &ts->row);
	ts->row.fence_start_us = store_now_us();
	log_notice("%s: drain of %zu sessions: %s", ts->cs->name,
	    ts->drain_expected, ts->cs->drain_command);
	store_put_event(t->store, ts->cs->name, "drain", "securejeebsctl "
	    "drain: %zu sessions", ts->drain_expected);
	tk_env_server(&env, ts);
	tk_env_add(&env, "SJ_DRAIN", "1");
	ts->fence = fence_start(t->loop, ts->cs->drain_command, env.v,
	    (double)ts->cs->drain_timeout, tk_drain_cmd_done, ts, err,
	    sizeof(err));
	if (ts->fence == NULL)
		tk_drain_cmd_done(ts, 0, err, "");
	buf_putf(out, "drain of %s started: %zu sessions\n", ts->cs->name,
	    ts->drain_expected);
	return 0;
}

/*
 * The drain's progress, one `key=value` line, then when it is over one
 * line per connection: `conn CLIENT:PORT moved outage_ms=N` or
 * `conn CLIENT:PORT failed REASON`.
 */
int
takeover_drain_status(struct takeover *t, size_t server, struct buf *out)
{
	struct tk_server *ts;
	size_t i, moved = 0, failed = 0, pending = 0, hs = 0;
	int over;

	if (t == NULL || server >= t->conf->nservers) {
		buf_putf(out, "no such server");
		return -1;
	}
	ts = &t->srv[server];
	over = ts->phase == TK_DONE || ts->phase == TK_FAILED ||
	    (ts->phase == TK_FENCE_FAILED && ts->drain_cmd_failed);
	for (i = 0; i < ts->nconns; i++) {
		const struct tk_conn *k = &ts->conns[i];

		if (k->handshake)
			hs++;	/* a new connection, not a session */
		else if (k->fate == TK_RECOVERED)
			moved++;
		else if (k->fate == TK_PENDING || k->fate == TK_STARTING)
			pending++;
		else
			failed++;
	}
	buf_putf(out, "phase=%s over=%d total=%zu states=%zu moved=%zu "
	    "failed=%zu pending=%zu new=%zu why=%s\n", tk_phase_str(ts->phase),
	    over, ts->nconns > 0 ? ts->nconns - hs : ts->drain_expected,
	    tk_drains_complete(ts), moved, failed, pending, hs, ts->why);
	if (!over)
		return 0;
	/*
	 * A drain called off: the drain command says why, and which
	 * sessions held the address (docs/drain.md "Failback").
	 */
	if (ts->drain_cmd_failed && ts->drain_output[0] != '\0')
		buf_putf(out, "drain command: %s\n", ts->drain_output);
	for (i = 0; i < ts->nconns; i++) {
		const struct tk_conn *k = &ts->conns[i];
		int64_t from = k->drained && k->drain_stop_us > 0 ?
		    k->drain_stop_us : ts->row.dead_us;

		if (k->handshake)
			buf_putf(out, "conn %s:%u new: a handshake under way "
			    "(its next SYN goes to this host)\n",
			    k->client_str, k->cport);
		else if (k->fate == TK_RECOVERED)
			buf_putf(out, "conn %s:%u moved %s outage_ms=%.1f\n",
			    k->client_str, k->cport, k->drained ?
			    "exact" : "from-capture",
			    (double)(k->started_us - from) / 1e3);
		else
			buf_putf(out, "conn %s:%u failed %s\n", k->client_str,
			    k->cport, k->reason);
	}
	return 0;
}

/*
 * A drained connection's package fields that come from the drain state
 * and the key record, whatever the format: the attested login, the keys at
 * the sshd's positions, the channels with their windows.
 */
static int
tk_drain_pkg(struct rpkg *k, const struct drainrec *d,
    const struct seal_keyrec *rec, const struct conf_server *cs,
    struct takeover_ssh_info *info, char *why, size_t whylen)
{
	struct sshtrack_pos pos[2];
	size_t i;
	int dd, ret = -1;

	if (!rec->has_login || rec->user[0] == '\0' ||
	    strlen(rec->user) > RPKG_USER_MAX || !tk_text_ok(rec->user) ||
	    rec->auth_method[0] == '\0' ||
	    strlen(rec->auth_method) > RPKG_NAME_MAX ||
	    rec->session_id_len == 0 ||
	    rec->session_id_len > RPKG_SESSION_ID_MAX) {
		snprintf(why, whylen, "drain: no usable attested login");
		return -1;
	}
	if (rec->kex_alg[0] == '\0' || strlen(rec->kex_alg) > RPKG_NAME_MAX) {
		snprintf(why, whylen, "drain: the key record's KEX algorithm "
		    "does not fit the package");
		return -1;
	}
	memset(pos, 0, sizeof(pos));
	memcpy(k->session_id, rec->session_id, rec->session_id_len);
	k->session_id_len = rec->session_id_len;
	snprintf(k->kex_alg, sizeof(k->kex_alg), "%s", rec->kex_alg);
	snprintf(k->user, sizeof(k->user), "%s", rec->user);
	snprintf(k->auth_method, sizeof(k->auth_method), "%s",
	    rec->auth_method);
	k->flags = cs->ssh.rerun_exec ? RPKG_RERUN_EXEC : 0;
	snprintf(k->notice, sizeof(k->notice), "%s", cs->ssh.notice != NULL &&
	    cs->ssh.notice[0] != '\0' ? cs->ssh.notice : "[securejeebs] "
	    "This session was moved to another host for maintenance; it goes "
	    "on there in a new shell.");
	for (dd = 0; dd < 2; dd++) {
		const struct seal_dir *kd = dd == 0 ? &rec->c2s : &rec->s2c;

		if (d->dir[dd].iv_len > sizeof(pos[dd].iv)) {
			snprintf(why, whylen, "drain: IV of %zu bytes",
			    d->dir[dd].iv_len);
			goto out;
		}
		pos[dd].keyed = 1;
		pos[dd].seqnr = d->dir[dd].seqnr;
		pos[dd].packets = d->dir[dd].packets;
		pos[dd].blocks = d->dir[dd].blocks;
		pos[dd].iv_len = d->dir[dd].iv_len;
		memcpy(pos[dd].iv, d->dir[dd].iv, d->dir[dd].iv_len);
		if (tk_ssh_dir(&k->dir[dd], kd, &pos[dd], kd->cipher,
		    dd == 0 ? "c2s" : "s2c", why, whylen) != 0)
			goto out;
	}
	for (i = 0; i < d->nchans; i++) {
		const struct drainrec_chan *dc = &d->chans[i];
		struct rpkg_chan ch;
		const char *c;

		if (dc->flags & (DRAINREC_CHAN_CLOSE_SENT |
		    DRAINREC_CHAN_CLOSE_RCVD)) {
			snprintf(why, whylen, "drain: channel %u (%s) was "
			    "being closed", dc->self, dc->type);
			goto out;
		}
		for (c = dc->type; *c != '\0'; c++)
			if (*c < 0x21 || *c > 0x7e) {
				snprintf(why, whylen, "drain: channel %u: its "
				    "type is not a name", dc->self);
				goto out;
			}
		memset(&ch, 0, sizeof(ch));
		ch.id_client = dc->remote_id;
		ch.id_server = dc->self;
		snprintf(ch.type, sizeof(ch.type), "%s", dc->type);
		ch.window_c2s = dc->local_window;
		ch.window_s2c = dc->remote_window;
		ch.maxpacket_c2s = dc->local_maxpacket;
		ch.maxpacket_s2c = dc->remote_maxpacket;
		if (dc->flags & DRAINREC_CHAN_BY_SERVER)
			ch.flags |= RPKG_CHAN_BY_SERVER;
		if (dc->flags & DRAINREC_CHAN_EOF_RCVD)
			ch.flags |= RPKG_CHAN_EOF_C2S;
		if (dc->flags & DRAINREC_CHAN_EOF_SENT)
			ch.flags |= RPKG_CHAN_EOF_S2C;
		if (rpkg_add_chan(k, &ch) != 0) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		info->channels++;
	}
	ret = 0;
 out:
	explicit_bzero(pos, sizeof(pos));
	return ret;
}

/*
 * The socket, exactly as the server's was: receive queue = the sshd's
 * unprocessed input + the kernel receive queue, send queue = the kernel
 * send queue + the sshd's unsent output.
 */
static int
tk_drain_socket(struct rebuild_plan *p, const struct drainrec *d,
    const struct pkt_addr *local, uint16_t lport,
    const struct pkt_addr *remote, uint16_t rport, double arrived,
    double now, char *why, size_t whylen)
{
	struct repair_conn *rc = &p->rc;
	size_t inq = d->dir[0].raw_len + d->recvq_len;
	size_t outq = d->sendq_len + d->dir[1].raw_len;

	rc->local = *local;
	rc->lport = lport;
	rc->remote = *remote;
	rc->rport = rport;
	rc->snd_una = d->snd_una;
	rc->rcv_nxt = d->rcv_nxt;
	if ((inq > 0 && (p->recvq = malloc(inq)) == NULL) ||
	    (outq > 0 && (p->sendq = malloc(outq)) == NULL)) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (d->dir[0].raw_len > 0)
		memcpy(p->recvq, d->dir[0].raw, d->dir[0].raw_len);
	if (d->recvq_len > 0)
		memcpy(p->recvq + d->dir[0].raw_len, d->recvq, d->recvq_len);
	if (d->sendq_len > 0)
		memcpy(p->sendq, d->sendq, d->sendq_len);
	if (d->dir[1].raw_len > 0)
		memcpy(p->sendq + d->sendq_len, d->dir[1].raw,
		    d->dir[1].raw_len);
	rc->recvq = p->recvq;
	rc->recvq_len = inq;
	rc->sendq = p->sendq;
	rc->sendq_len = outq;
	rc->mss = (uint16_t)d->mss;
	rc->wscale_ok = (d->tcp_flags & DRAINREC_TCP_WSCALE) != 0;
	rc->snd_wscale = d->snd_wscale;
	rc->rcv_wscale = d->rcv_wscale;
	rc->sack_ok = (d->tcp_flags & DRAINREC_TCP_SACK) != 0;
	rc->ts_ok = (d->tcp_flags & DRAINREC_TCP_TS) != 0;
	rc->tsval = rc->ts_ok ? rebuild_tsval(d->tsval, arrived, now) : 0;
	rc->snd_wnd = d->snd_wnd;
	rc->snd_wl1 = d->snd_wl1;
	rc->rcv_wnd = d->rcv_wnd;
	rc->rcv_wup = d->rcv_wup;
	p->out_off = 0;
	return 0;
}

/*
 * One connection of an SJD1 drain: the package from the sshd's final state,
 * the versions and the setup log from the capture (its SYN must have been
 * seen, and the capture must have followed the client up to where the sshd
 * had read).
 */
static int
tk_ssh_prepare_drain(struct sshtrack *st, const struct tcptrack_conn *c,
    const struct conf_server *cs, struct tk_drain *dr, double now,
    struct rebuild_plan *p, struct buf *pkg, struct takeover_ssh_info *info,
    char *why, size_t whylen)
{
	const struct drainrec *d = &dr->rec;
	const struct tcptrack_dir *cd = &c->dir[TCPTRACK_C2S];
	struct sshtrack_info si;
	const struct seal_keyrec *rec;
	struct rpkg *k = NULL;
	const char *hostkey;
	uint64_t resume;
	uint32_t resume_seq;
	size_t inq;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	memset(info, 0, sizeof(*info));
	if (sshtrack_status(st, c, &si) != 0) {
		snprintf(why, whylen, "drain: not followed by the SSH tracker");
		return -1;
	}
	if ((rec = sshtrack_keyrec(st, c, d->kex_number)) == NULL) {
		snprintf(why, whylen, "drain: keys of KEX %u not held",
		    d->kex_number);
		return -1;
	}
	if (!cd->syn_seen) {
		snprintf(why, whylen, "drain: the client's SYN was not seen: "
		    "no stream offsets for the setup log");
		return -1;
	}
	/* Where the live client stream starts: what the sshd had not read
	 * or not processed, up to rcv_nxt. */
	inq = d->dir[0].raw_len + d->recvq_len;
	resume_seq = d->rcv_nxt - (uint32_t)inq;
	resume = tcptrack_unwrap(resume_seq - (cd->isn + 1), cd->delivered);
	if (si.dir[SSHTRACK_C2S].packet_end < resume) {
		snprintf(why, whylen, "drain: the capture has followed the "
		    "client only to offset %llu, the server had read to "
		    "%llu", (unsigned long long)si.dir[SSHTRACK_C2S].packet_end,
		    (unsigned long long)resume);
		return -1;
	}
	hostkey = rec->kex_number == 0 || si.hostkey0[0] == '\0' ?
	    rec->hostkey_alg : si.hostkey0;
	if ((k = rpkg_new()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	snprintf(k->client_version, sizeof(k->client_version), "%s",
	    si.dir[SSHTRACK_C2S].version);
	snprintf(k->server_version, sizeof(k->server_version), "%s",
	    si.dir[SSHTRACK_S2C].version);
	snprintf(k->hostkey_alg, sizeof(k->hostkey_alg), "%s", hostkey);
	k->strict_kex = rec->c2s.strict_kex != 0;
	if (tk_drain_pkg(k, d, rec, cs, info, why, whylen) != 0)
		goto out;
	/* The setup log from the capture, up to what the server had read. */
	if (tk_ssh_log(st, c, resume, k, info, why, whylen) != 0)
		goto out;
	if (pkg != NULL && rpkg_encode(k, pkg) != 0) {
		snprintf(why, whylen, "the recovery package does not encode");
		goto out;
	}
	if (tk_drain_socket(p, d, &c->server, c->sport, &c->client, c->cport,
	    dr->arrived, now, why, whylen) != 0)
		goto out;
	p->in_off = resume;
	info->resume_off[SSHTRACK_C2S] = resume;
	ret = 0;
 out:
	rpkg_free(k);
	if (ret != 0) {
		rebuild_plan_free(p);
		if (pkg != NULL)
			buf_reset(pkg);
	}
	return ret;
}

int
takeover_ssh_prepare_sjd2(const struct drainrec *d,
    const struct seal_keyrec *rec, const struct conf_server *cs,
    const struct pkt_addr *client, uint16_t cport,
    const struct pkt_addr *service, uint16_t sport, double arrived,
    double now, struct rebuild_plan *p, struct buf *pkg,
    struct takeover_ssh_info *info, char *why, size_t whylen)
{
	struct rpkg *k = NULL;
	size_t i;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	memset(info, 0, sizeof(*info));
	if (d->version != 2) {
		snprintf(why, whylen, "drain: not an SJD2 state");
		return -1;
	}
	if (rec == NULL) {
		snprintf(why, whylen, "drain: keys of KEX %u not held",
		    d->kex_number);
		return -1;
	}
	if (rec->kex_number != d->kex_number) {
		snprintf(why, whylen, "drain: keys of KEX %u not held (the "
		    "newest key record is of KEX %u)", d->kex_number,
		    rec->kex_number);
		return -1;
	}
	/* drainrec_decode() bounded these to the package's limits. */
	if (strlen(d->client_version) > RPKG_VERSION_MAX ||
	    strlen(d->server_version) > RPKG_VERSION_MAX ||
	    strlen(d->hostkey_alg) > RPKG_NAME_MAX ||
	    d->nlog > RPKG_MAX_LOG) {
		snprintf(why, whylen, "drain: the state does not fit the "
		    "package");
		return -1;
	}
	if ((k = rpkg_new()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	snprintf(k->client_version, sizeof(k->client_version), "%s",
	    d->client_version);
	snprintf(k->server_version, sizeof(k->server_version), "%s",
	    d->server_version);
	snprintf(k->hostkey_alg, sizeof(k->hostkey_alg), "%s",
	    d->hostkey_alg);
	k->strict_kex = d->strict_kex != 0;
	if (tk_drain_pkg(k, d, rec, cs, info, why, whylen) != 0)
		goto out;
	/* The setup log as the sshd kept it: no capture involved. */
	for (i = 0; i < d->nlog; i++) {
		const struct drainrec_msg *m = &d->log[i];

		if (rpkg_add_msg(k, m->dir == 0 ? RPKG_C2S : RPKG_S2C,
		    m->flags, m->p, m->len) != 0) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		info->messages++;
		if (m->dir == 0)
			info->replayed++;
	}
	if (pkg != NULL && rpkg_encode(k, pkg) != 0) {
		snprintf(why, whylen, "the recovery package does not encode "
		    "(over %u bytes?)", RPKG_MAX);
		goto out;
	}
	if (tk_drain_socket(p, d, service, sport, client, cport, arrived, now,
	    why, whylen) != 0)
		goto out;
	p->in_off = 0;		/* no capture: stream offsets unknown */
	ret = 0;
 out:
	rpkg_free(k);
	if (ret != 0) {
		rebuild_plan_free(p);
		if (pkg != NULL)
			buf_reset(pkg);
	}
	return ret;
}
