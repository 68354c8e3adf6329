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
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fence.h"
#include "handoff.h"
#include "log.h"
#include "rebuild.h"
#include "repair.h"
#include "takeover.h"
#include "tcptrack.h"
#include "vip.h"

#define TK_HANDOFF_TIMEOUT	30.0	/* s for a program to start */
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
};

struct takeover {
	struct ev_loop		*loop;
	const struct conf	*conf;
	struct store		*store;
	struct watch		*watch;
	struct vip		*vip;
	struct tk_server	 srv[CONF_MAX_SERVERS];
	size_t			 starting;	/* hand-offs under way, all servers */
};

static void tk_pump(struct takeover *t);

static const char *
tk_phase_str(enum tk_phase p)
{
	switch (p) {
	case TK_NONE:		return "none";
	case TK_FENCING:	return "fencing";
	case TK_FENCE_FAILED:	return "fence-failed";
	case TK_FENCED:		return "fenced";
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
	/* One descriptor per rebuilt connection until its hand-off. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return t;
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
	}
}

static void
tk_conn_stop(struct takeover *t, struct tk_conn *k)
{
	if (k->fate == TK_STARTING) {
		ev_io_stop(t->loop, &k->status_io);
		ev_timer_stop(t->loop, &k->timeout);
		close(k->status_fd);
	}
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
	free(ts->conns);
	free(ts->pins);
	ts->conns = NULL;
	ts->pins = NULL;
	ts->nconns = ts->next = ts->starting = ts->npins = 0;
	ts->announced = 0;
	ts->unpinned = 0;
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

/* Everything the tracker knows of the server's connections, copied. */
static int
tk_snapshot(struct tk_server *ts)
{
	struct takeover *t = ts->t;
	struct tk_collect col = { ts->idx, NULL, 0, 0 };
	double now = ev_time();
	size_t i;

	watch_foreach_conn(t->watch, tk_collect_cb, &col);
	if (col.n > 0 && ((ts->conns = calloc(col.n, sizeof(*ts->conns))) ==
	    NULL || (ts->pins = calloc(col.n, sizeof(*ts->pins))) == NULL)) {
		free(col.list);
		return -1;
	}
	for (i = 0; i < col.n; i++) {
		struct tcptrack_conn *c = col.list[i];
		struct tk_conn *k = &ts->conns[i];
		char why[160];

		k->ts = ts;
		k->n = i;
		k->fd = -1;
		k->status_fd = -1;
		k->rebuild_ns = -1;
		k->client = c->client;
		k->cport = c->cport;
		k->sport = c->sport;
		inet_ntop(c->client.family, c->client.a, k->client_str,
		    sizeof(k->client_str));
		inet_ntop(c->server.family, c->server.a, k->service_str,
		    sizeof(k->service_str));
		k->last_frame_us = (int64_t)(c->dir[TCPTRACK_S2C].last_time *
		    1e6);
		if (c->state == TCPTRACK_SYN_SENT ||
		    c->state == TCPTRACK_SYN_RECEIVED) {
			/* Nothing to rebuild; no listener refuses the retry. */
			k->fate = TK_RESET;
			snprintf(k->reason, sizeof(k->reason), "handshake "
			    "under way: the client's next SYN is refused");
			continue;
		}
		if (rebuild_plan(c, now, &k->plan, why, sizeof(why)) == 0) {
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
	ts->nconns = col.n;
	free(col.list);
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
		if (k->fate == TK_RECOVERED)
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
	if (k->fate == TK_STARTING) {
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

static void
tk_env_conn(struct tk_env *e, const struct tk_conn *k)
{
	tk_env_server(e, k->ts);
	tk_env_add(e, "SJ_RECOVER", "exec");
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
