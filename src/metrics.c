/*
 * metrics: Prometheus text format from the daemon's counters, its tracked
 * connections (the same judgement as `securejeebsctl connections`) and the
 * takeover history in the state file (see metrics.h).  Counters that come
 * from the state file (takeovers, recoveries, the histograms) count since
 * the state file was created; the others since the daemon started.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "export.h"
#include "health.h"
#include "keystore.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "version.h"
#include "watch.h"

#define METRICS_OUT_MAX		(8 * 1024 * 1024)	/* a rendering */

/* --- the exposition format --- */

void
metrics_family(struct buf *out, const char *name, const char *type,
    const char *help)
{
	buf_putf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
metrics_labels(char *dst, size_t len, int n, ...)
{
	va_list ap;
	size_t used = 0;
	int i;

	if (len == 0)
		return -1;
	dst[0] = '\0';
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *k = va_arg(ap, const char *);
		const char *v = va_arg(ap, const char *);
		int w = snprintf(dst + used, len - used, "%s%s=\"", i ? "," :
		    "", k);

		if (w < 0 || (size_t)w >= len - used)
			goto full;
		used += (size_t)w;
		for (; v != NULL && *v != '\0'; v++) {
			const char *esc = *v == '\\' ? "\\\\" : *v == '"' ?
			    "\\\"" : *v == '\n' ? "\\n" : NULL;
			size_t el = esc != NULL ? 2 : 1;

			if (used + el + 2 > len)
				goto full;
			if (esc != NULL)
				memcpy(dst + used, esc, 2);
			else
				dst[used] = *v;
			used += el;
		}
		if (used + 2 > len)
			goto full;
		dst[used++] = '"';
		dst[used] = '\0';
	}
	va_end(ap);
	return 0;
 full:
	va_end(ap);
	dst[0] = '\0';
	return -1;
}

static void
metrics_value(char *buf, size_t len, double v)
{
	if (v != v)
		snprintf(buf, len, "NaN");
	else if (v > 1e308 || v < -1e308)
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(int64_t)v)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.9g", v);
}

void
metrics_sample(struct buf *out, const char *name, const char *labels,
    double v)
{
	char val[64];

	metrics_value(val, sizeof(val), v);
	if (labels != NULL && labels[0] != '\0')
		buf_putf(out, "%s{%s} %s\n", name, labels, val);
	else
		buf_putf(out, "%s %s\n", name, val);
}

void
metrics_hist_init(struct metrics_hist *h, const double *bounds, size_t nbounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nbounds = nbounds < METRICS_MAX_BUCKETS ? nbounds :
	    METRICS_MAX_BUCKETS;
}

void
metrics_hist_add(struct metrics_hist *h, double v)
{
	size_t i;

	for (i = 0; i < h->nbounds; i++)
		if (v <= h->bounds[i]) {
			h->counts[i]++;
			break;
		}
	h->count++;
	h->sum += v;
}

void
metrics_hist_write(struct buf *out, const char *name, const char *labels,
    const struct metrics_hist *h)
{
	char n[128], le[32], l[512];
	uint64_t cum = 0;
	size_t i;
	const char *sep = labels != NULL && labels[0] != '\0' ? "," : "";

	snprintf(n, sizeof(n), "%s_bucket", name);
	for (i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		metrics_value(le, sizeof(le), h->bounds[i]);
		snprintf(l, sizeof(l), "%s%sle=\"%s\"", labels != NULL ?
		    labels : "", sep, le);
		metrics_sample(out, n, l, (double)cum);
	}
	snprintf(l, sizeof(l), "%s%sle=\"+Inf\"", labels != NULL ? labels :
	    "", sep);
	metrics_sample(out, n, l, (double)h->count);
	snprintf(n, sizeof(n), "%s_sum", name);
	metrics_sample(out, n, labels, h->sum);
	snprintf(n, sizeof(n), "%s_count", name);
	metrics_sample(out, n, labels, (double)h->count);
}

/* --- what the daemon knows --- */

static const double metrics_detect_bounds[] = {
	0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30
};
static const double metrics_rebuild_bounds[] = {
	0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1
};
static const double metrics_replay_bounds[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define METRICS_NB(a)	(sizeof(a) / sizeof((a)[0]))

/* Per server: connections by protection and reason; takeover history. */
struct metrics_reason {
	char		 text[64];
	uint64_t	 n;
};

struct metrics_server {
	uint64_t		 protected;
	struct metrics_reason	 reasons[METRICS_MAX_REASONS];
	size_t			 nreasons;
	uint64_t		 takeovers;
	uint64_t		 recovered, reset, failed;
	struct metrics_hist	 detect, rebuild, sshd, replay, cutover;
};

struct metrics_walk {
	struct daemon		*d;
	struct metrics_server	*s;	/* by server index */
	size_t			 cur;	/* takeover_conns: whose */
};

/*
 * A reason as a label value: the words before any detail (a colon or a
 * parenthesis), without digits, so that the label set stays small.
 */
static void
metrics_reason_label(const char *why, char *dst, size_t len)
{
	size_t n = 0;

	for (; *why != '\0' && *why != ':' && *why != '(' && n + 1 < len;
	    why++) {
		if (*why >= '0' && *why <= '9')
			continue;
		if (*why == ' ' && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = *why;
	}
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == ',' ||
	    dst[n - 1] == '.'))
		n--;
	dst[n] = '\0';
	if (n == 0)
		snprintf(dst, len, "unknown");
}

static void
metrics_protection_cb(void *arg, const char *server, int ok, const char *why)
{
	struct metrics_walk *w = arg;
	struct metrics_server *s;
	char r[64];
	size_t i;
	int idx = conf_server_index(w->d->conf, server);

	if (idx < 0)
		return;
	s = &w->s[idx];
	if (ok) {
		s->protected++;
		return;
	}
	metrics_reason_label(why, r, sizeof(r));
	for (i = 0; i < s->nreasons; i++)
		if (strcmp(s->reasons[i].text, r) == 0)
			break;
	if (i == s->nreasons) {
		if (s->nreasons == METRICS_MAX_REASONS)
			i = METRICS_MAX_REASONS - 1;	/* "other" */
		else
			snprintf(s->reasons[s->nreasons++].text,
			    sizeof(s->reasons[0].text), "%s", r);
		if (i == METRICS_MAX_REASONS - 1)
			snprintf(s->reasons[i].text, sizeof(s->reasons[0].text),
			    "other");
	}
	s->reasons[i].n++;
}

static int
metrics_takeover_conn_cb(void *arg, const struct store_takeover_conn *c)
{
	struct metrics_walk *w = arg;
	struct metrics_server *s = &w->s[w->cur];

	if (c->rebuild_ns >= 0)
		metrics_hist_add(&s->rebuild, (double)c->rebuild_ns / 1e9);
	if (c->ssh_reported) {
		metrics_hist_add(&s->sshd, (double)c->sshd_us / 1e6);
		metrics_hist_add(&s->replay, (double)c->replay_us / 1e6);
		metrics_hist_add(&s->cutover, (double)c->cutover_us / 1e6);
	}
	return 0;
}

static int
metrics_takeover_cb(void *arg, const struct store_takeover *t)
{
	struct metrics_walk *w = arg;
	struct metrics_server *s;
	int idx = conf_server_index(w->d->conf, t->server);

	if (idx < 0)
		return 0;	/* a server no longer configured */
	s = &w->s[idx];
	s->takeovers++;
	s->recovered += t->recovered;
	s->reset += t->reset;
	s->failed += t->failed;
	if (t->last_frame_us > 0 && t->dead_us >= t->last_frame_us)
		metrics_hist_add(&s->detect,
		    (double)(t->dead_us - t->last_frame_us) / 1e6);
	w->cur = (size_t)idx;
	return store_takeover_conns(w->d->store, t->id,
	    metrics_takeover_conn_cb, w);
}

int
metrics_render(struct daemon *d, struct buf *out)
{
	static const char *const health_states[] = {
		"unknown", "alive", "suspect", "dead"
	};
	struct metrics_walk w;
	struct export_stats es;
	struct watch_stats ws;
	struct keystore_counts kn;
	char l[512];
	size_t i, j, n = d->nservers;
	int r = 0;

	memset(&w, 0, sizeof(w));
	w.d = d;
	if ((w.s = calloc(n > 0 ? n : 1, sizeof(*w.s))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		metrics_hist_init(&w.s[i].detect, metrics_detect_bounds,
		    METRICS_NB(metrics_detect_bounds));
		metrics_hist_init(&w.s[i].rebuild, metrics_rebuild_bounds,
		    METRICS_NB(metrics_rebuild_bounds));
		metrics_hist_init(&w.s[i].sshd, metrics_replay_bounds,
		    METRICS_NB(metrics_replay_bounds));
		metrics_hist_init(&w.s[i].replay, metrics_replay_bounds,
		    METRICS_NB(metrics_replay_bounds));
		metrics_hist_init(&w.s[i].cutover, metrics_replay_bounds,
		    METRICS_NB(metrics_replay_bounds));
	}
	if (d->watch != NULL && d->keystore != NULL &&
	    daemon_protection(d, metrics_protection_cb, &w) != 0)
		r = -1;
	if (store_takeovers(d->store, 0, metrics_takeover_cb, &w) != 0)
		r = -1;
	export_get_stats(&es);
	memset(&ws, 0, sizeof(ws));
	if (d->watch != NULL)
		watch_stats(d->watch, &ws);
	memset(&kn, 0, sizeof(kn));
	if (d->keystore != NULL)
		keystore_counts(d->keystore, &kn);

	metrics_family(out, "securejeebs_build_info", "gauge",
	    "The running securejeebsd's version.");
	metrics_labels(l, sizeof(l), 1, "version", SJ_VERSION);
	metrics_sample(out, "securejeebs_build_info", l, 1);
	metrics_family(out, "securejeebs_start_time_seconds", "gauge",
	    "When the daemon started, seconds since 1970.");
	metrics_sample(out, "securejeebs_start_time_seconds", NULL,
	    (double)(d->started_us / 1000000));
	metrics_family(out, "securejeebs_reloads_total", "counter",
	    "Configuration reloads since start, applied or refused.");
	metrics_sample(out, "securejeebs_reloads_total", "result=\"applied\"",
	    (double)d->reloads);
	metrics_sample(out, "securejeebs_reloads_total", "result=\"refused\"",
	    (double)d->reloads_failed);
	metrics_family(out, "securejeebs_metrics_complete", "gauge",
	    "0 if part of this rendering could not be read (the state file).");
	metrics_sample(out, "securejeebs_metrics_complete", NULL, r == 0);

	metrics_family(out, "securejeebs_connections", "gauge",
	    "Open connections: protected (a takeover now would recover "
	    "them) or unprotected, with the reason.");
	for (i = 0; i < n; i++) {
		const char *name = d->conf->servers[i].name;

		metrics_labels(l, sizeof(l), 2, "server", name, "state",
		    "protected");
		metrics_sample(out, "securejeebs_connections", l,
		    (double)w.s[i].protected);
		for (j = 0; j < w.s[i].nreasons; j++) {
			metrics_labels(l, sizeof(l), 3, "server", name,
			    "state", "unprotected", "reason",
			    w.s[i].reasons[j].text);
			metrics_sample(out, "securejeebs_connections", l,
			    (double)w.s[i].reasons[j].n);
		}
	}
	metrics_family(out, "securejeebs_tracked_connections", "gauge",
	    "TCP connections followed from the capture.");
	metrics_sample(out, "securejeebs_tracked_connections", NULL,
	    (double)ws.connections);
	metrics_family(out, "securejeebs_tracked_memory_bytes", "gauge",
	    "Memory held by the tracked connections.");
	metrics_sample(out, "securejeebs_tracked_memory_bytes", NULL,
	    (double)ws.memory);
	metrics_family(out, "securejeebs_capture_frames_total", "counter",
	    "Frames the capture handed over since start.");
	metrics_sample(out, "securejeebs_capture_frames_total", NULL,
	    (double)ws.frames);
	metrics_family(out, "securejeebs_capture_drops_total", "counter",
	    "Frames lost by the capture since start: the kernel's ring "
	    "buffer was full, or the interface dropped them.");
	metrics_sample(out, "securejeebs_capture_drops_total",
	    "where=\"kernel\"", (double)ws.kernel_drops);
	metrics_sample(out, "securejeebs_capture_drops_total",
	    "where=\"interface\"", (double)ws.if_drops);
	metrics_family(out, "securejeebs_capture_malformed_total", "counter",
	    "Captured frames refused by the decoder since start.");
	metrics_sample(out, "securejeebs_capture_malformed_total", NULL,
	    (double)ws.malformed);

	metrics_family(out, "securejeebs_export_records_received_total",
	    "counter", "Export records received since start.");
	metrics_sample(out, "securejeebs_export_records_received_total", NULL,
	    (double)es.received);
	metrics_family(out, "securejeebs_export_records_total", "counter",
	    "Export records by outcome since start.");
	metrics_sample(out, "securejeebs_export_records_total",
	    "result=\"accepted\"", (double)es.accepted);
	metrics_sample(out, "securejeebs_export_records_total",
	    "result=\"duplicate\"", (double)es.duplicates);
	metrics_sample(out, "securejeebs_export_records_total",
	    "result=\"rejected\"", (double)es.rejected);
	metrics_family(out, "securejeebs_export_peers", "gauge",
	    "Export connections from production servers now.");
	metrics_sample(out, "securejeebs_export_peers", NULL,
	    (double)es.conns);
	metrics_family(out, "securejeebs_export_peers_refused_total",
	    "counter", "Export connections refused (unknown address) since "
	    "start.");
	metrics_sample(out, "securejeebs_export_peers_refused_total", NULL,
	    (double)es.refused);
	metrics_family(out, "securejeebs_keys_held", "gauge",
	    "Connections whose session keys are held in memory.");
	metrics_sample(out, "securejeebs_keys_held", NULL,
	    (double)kn.keys_held);

	metrics_family(out, "securejeebs_server_health", "gauge",
	    "1 for the health state each server is in, 0 for the others.");
	for (i = 0; i < n; i++) {
		enum health_state hs = d->watch != NULL ?
		    watch_health(d->watch, i, NULL, NULL) : HEALTH_UNKNOWN;

		for (j = 0; j < 4; j++) {
			metrics_labels(l, sizeof(l), 2, "server",
			    d->conf->servers[i].name, "state",
			    health_states[j]);
			metrics_sample(out, "securejeebs_server_health", l,
			    (int)hs == (int)j);
		}
	}
	metrics_family(out, "securejeebs_takeovers_total", "counter",
	    "Takeovers begun, per server (state file).");
	for (i = 0; i < n; i++) {
		metrics_labels(l, sizeof(l), 1, "server",
		    d->conf->servers[i].name);
		metrics_sample(out, "securejeebs_takeovers_total", l,
		    (double)w.s[i].takeovers);
	}
	metrics_family(out, "securejeebs_recoveries_total", "counter",
	    "Connections of takeovers by fate: recovered, reset (could not "
	    "be rebuilt), failed (state file).");
	for (i = 0; i < n; i++) {
		static const char *const fates[] = { "recovered", "reset",
		    "failed" };
		uint64_t v[] = { w.s[i].recovered, w.s[i].reset,
		    w.s[i].failed };

		for (j = 0; j < 3; j++) {
			metrics_labels(l, sizeof(l), 2, "server",
			    d->conf->servers[i].name, "result", fates[j]);
			metrics_sample(out, "securejeebs_recoveries_total", l,
			    (double)v[j]);
		}
	}
	metrics_family(out, "securejeebs_detection_seconds", "histogram",
	    "From the last frame seen from a server to its declared death, "
	    "per takeover.");
	for (i = 0; i < n; i++) {
		metrics_labels(l, sizeof(l), 1, "server",
		    d->conf->servers[i].name);
		metrics_hist_write(out, "securejeebs_detection_seconds", l,
		    &w.s[i].detect);
	}
	metrics_family(out, "securejeebs_rebuild_seconds", "histogram",
	    "Rebuilding one connection's socket with TCP_REPAIR.");
	for (i = 0; i < n; i++) {
		metrics_labels(l, sizeof(l), 1, "server",
		    d->conf->servers[i].name);
		metrics_hist_write(out, "securejeebs_rebuild_seconds", l,
		    &w.s[i].rebuild);
	}
	metrics_family(out, "securejeebs_replay_seconds", "histogram",
	    "recover ssh, per connection: the recovery sshd's start "
	    "(sshd_start), the replay of the setup log (replay), the "
	    "cutover (cutover), as jeebs-replay reports them.");
	for (i = 0; i < n; i++) {
		static const char *const phases[] = { "sshd_start", "replay",
		    "cutover" };
		const struct metrics_hist *h[] = { &w.s[i].sshd,
		    &w.s[i].replay, &w.s[i].cutover };

		for (j = 0; j < 3; j++) {
			metrics_labels(l, sizeof(l), 2, "server",
			    d->conf->servers[i].name, "phase", phases[j]);
			metrics_hist_write(out, "securejeebs_replay_seconds", l,
			    h[j]);
		}
	}
	free(w.s);
	return r;
}

/* --- serving it --- */

struct metrics_client {
	ev_io			 io;
	ev_timer		 timer;
	int			 fd;
	char			 req[METRICS_REQUEST_MAX];
	size_t			 have;
	struct buf		 out;
	size_t			 sent;
	struct metrics_client	*next;
};

static struct {
	struct ev_loop		*loop;
	struct daemon		*d;
	/* The listener, and what it was opened for. */
	int			 fd;
	ev_io			 listen_io;
	int			 enabled;
	struct conf_addr	 addr;
	uint16_t		 port;
	struct metrics_client	*clients;
	unsigned		 nclients;
	/* The textfile. */
	char			*textfile;
	ev_timer		 textfile_timer;
	/* The latest rendering. */
	struct buf		 cache;
	double			 cache_at;
	int			 cache_ok;
	uint64_t		 served, refused;
	struct log_ratelimit	 rl;
} mx = { .fd = -1 };

/* The current rendering, re-made if older than METRICS_CACHE. */
static const struct buf *
metrics_current(void)
{
	double now = ev_now(mx.loop);

	if (mx.cache_ok && now - mx.cache_at < METRICS_CACHE &&
	    now >= mx.cache_at)
		return &mx.cache;
	buf_reset(&mx.cache);
	if (metrics_render(mx.d, &mx.cache) != 0)
		log_limited(&mx.rl, LOG_WARNING, "metrics: part of the "
		    "state file could not be read");
	mx.cache_at = now;
	mx.cache_ok = 1;
	return &mx.cache;
}

static void
metrics_client_close(struct metrics_client *c)
{
	struct metrics_client **pp;

	for (pp = &mx.clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ev_io_stop(mx.loop, &c->io);
	ev_timer_stop(mx.loop, &c->timer);
	close(c->fd);
	buf_free(&c->out);
	free(c);
	mx.nclients--;
}

static void
metrics_client_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	metrics_client_close(w->data);
}

static void
metrics_client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct metrics_client *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	while (c->sent < buf_len(&c->out)) {
		n = send(c->fd, buf_ptr(&c->out) + c->sent,
		    buf_len(&c->out) - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			metrics_client_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	metrics_client_close(c);
}

/* The head of a request is in: answer it. */
static void
metrics_client_answer(struct metrics_client *c)
{
	const struct buf *body = NULL;
	const char *status = "200 OK", *text = NULL;
	char method[8], path[256];
	int head = 0;

	if (sscanf(c->req, "%7s %255s", method, path) != 2) {
		status = "400 Bad Request";
		text = "bad request\n";
	} else if (strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0) {
		status = "405 Method Not Allowed";
		text = "GET only\n";
	} else if (strcmp(path, "/metrics") != 0 && strcmp(path, "/") != 0 &&
	    strncmp(path, "/metrics?", 9) != 0) {
		status = "404 Not Found";
		text = "the metrics are at /metrics\n";
	} else {
		head = strcmp(method, "HEAD") == 0;
		body = metrics_current();
		mx.served++;
	}
	buf_init(&c->out, METRICS_OUT_MAX + 1024);
	buf_putf(&c->out, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    body != NULL ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", body != NULL ? buf_len(body) :
	    strlen(text));
	if (body != NULL && !head)
		buf_put(&c->out, buf_ptr(body), buf_len(body));
	else if (body == NULL)
		buf_putf(&c->out, "%s", text);
	ev_io_stop(mx.loop, &c->io);
	ev_io_init(&c->io, metrics_client_write_cb, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(mx.loop, &c->io);
}

static void
metrics_client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct metrics_client *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(c->fd, c->req + c->have, sizeof(c->req) - 1 - c->have,
	    MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_client_close(c);
		return;
	}
	c->have += (size_t)n;
	c->req[c->have] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL ||
	    strstr(c->req, "\n\n") != NULL) {
		metrics_client_answer(c);
		return;
	}
	if (c->have == sizeof(c->req) - 1)
		metrics_client_close(c);	/* too long a head */
}

static void
metrics_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct metrics_client *c;
	int fd, i;

	(void)w;
	(void)revents;
	for (i = 0; i < 16; i++) {
		fd = accept4(mx.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		if (mx.nclients >= METRICS_MAX_CLIENTS ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			mx.refused++;
			close(fd);
			continue;
		}
		c->fd = fd;
		ev_io_init(&c->io, metrics_client_read_cb, fd, EV_READ);
		c->io.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, metrics_client_timeout_cb,
		    METRICS_CLIENT_TIMEOUT, 0.);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
		c->next = mx.clients;
		mx.clients = c;
		mx.nclients++;
	}
}

static int
metrics_listen(const struct conf *c)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[INET6_ADDRSTRLEN];
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (c->metrics_addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = c->metrics_addr.u.v4;
		sin->sin_port = htons(c->metrics_port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = c->metrics_addr.u.v6;
		sin6->sin6_port = htons(c->metrics_port);
		sl = sizeof(*sin6);
	}
	conf_addr_str(&c->metrics_addr, a, sizeof(a));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 16) == -1) {
		log_error("metrics: cannot listen on %s port %u: %s", a,
		    c->metrics_port, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	mx.fd = fd;
	mx.enabled = 1;
	mx.addr = c->metrics_addr;
	mx.port = c->metrics_port;
	ev_io_init(&mx.listen_io, metrics_accept_cb, fd, EV_READ);
	ev_io_start(mx.loop, &mx.listen_io);
	log_info("metrics: serving http://%s%s%s:%u/metrics",
	    c->metrics_addr.family == AF_INET6 ? "[" : "", a,
	    c->metrics_addr.family == AF_INET6 ? "]" : "", c->metrics_port);
	return 0;
}

static void
metrics_unlisten(void)
{
	while (mx.clients != NULL)
		metrics_client_close(mx.clients);
	if (mx.fd != -1) {
		ev_io_stop(mx.loop, &mx.listen_io);
		close(mx.fd);
	}
	mx.fd = -1;
	mx.enabled = 0;
}

/*
 * Write the textfile: a temporary file beside it, then rename, so that a
 * collector never reads half of one.  Mode 0644: nothing in it is secret,
 * and node_exporter does not run as root.
 */
static void
metrics_textfile_write(void)
{
	const struct buf *b;
	char tmp[4096 + 8];
	ssize_t n;
	size_t off = 0;
	int fd;

	if (mx.textfile == NULL)
		return;
	mx.cache_ok = 0;		/* always a fresh one */
	b = metrics_current();
	snprintf(tmp, sizeof(tmp), "%s.tmp", mx.textfile);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1) {
		log_limited(&mx.rl, LOG_WARNING, "metrics: %s: %s", tmp,
		    strerror(errno));
		return;
	}
	(void)fchmod(fd, 0644);
	while (off < buf_len(b)) {
		n = write(fd, buf_ptr(b) + off, buf_len(b) - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (close(fd) != 0 || off != buf_len(b) || rename(tmp,
	    mx.textfile) != 0) {
		log_limited(&mx.rl, LOG_WARNING, "metrics: cannot write %s: "
		    "%s", mx.textfile, strerror(errno));
		(void)unlink(tmp);
	}
}

static void
metrics_textfile_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	metrics_textfile_write();
}

static int
metrics_open(const struct conf *c)
{
	int r = 0;

	if (c->metrics_enabled && metrics_listen(c) != 0)
		r = -1;
	if (c->metrics_textfile != NULL) {
		if ((mx.textfile = strdup(c->metrics_textfile)) == NULL)
			return -1;
		ev_timer_init(&mx.textfile_timer, metrics_textfile_cb, 0.,
		    METRICS_TEXTFILE_INTERVAL);
		ev_timer_start(mx.loop, &mx.textfile_timer);
		log_info("metrics: writing %s every %.0f s", mx.textfile,
		    METRICS_TEXTFILE_INTERVAL);
	}
	return r;
}

int
metrics_init(struct ev_loop *loop, struct daemon *d)
{
	mx.loop = loop;
	mx.d = d;
	mx.rl.interval = 60;
	buf_init(&mx.cache, METRICS_OUT_MAX);
	return metrics_open(d->conf);
}

int
metrics_reconf(struct daemon *d)
{
	const struct conf *c = d->conf;
	int same_listen = c->metrics_enabled == mx.enabled &&
	    (!c->metrics_enabled || (c->metrics_port == mx.port &&
	    conf_addr_equal(&c->metrics_addr, &mx.addr)));
	int same_file = (c->metrics_textfile == NULL) ==
	    (mx.textfile == NULL) && (mx.textfile == NULL ||
	    strcmp(c->metrics_textfile, mx.textfile) == 0);
	int r = 0;

	mx.d = d;
	mx.cache_ok = 0;		/* servers may have changed */
	if (!same_listen) {
		metrics_unlisten();
		if (c->metrics_enabled && metrics_listen(c) != 0)
			r = -1;
		else if (!c->metrics_enabled)
			log_info("metrics: no longer served over HTTP");
	}
	if (!same_file) {
		ev_timer_stop(mx.loop, &mx.textfile_timer);
		free(mx.textfile);
		mx.textfile = NULL;
		if (c->metrics_textfile != NULL) {
			if ((mx.textfile = strdup(c->metrics_textfile)) ==
			    NULL)
				return -1;
			ev_timer_init(&mx.textfile_timer, metrics_textfile_cb,
			    0., METRICS_TEXTFILE_INTERVAL);
			ev_timer_start(mx.loop, &mx.textfile_timer);
			log_info("metrics: writing %s every %.0f s",
			    mx.textfile, METRICS_TEXTFILE_INTERVAL);
		}
	}
	return r;
}

void
metrics_fini(void)
{
	if (mx.loop == NULL)
		return;
	metrics_unlisten();
	if (mx.textfile != NULL) {
		ev_timer_stop(mx.loop, &mx.textfile_timer);
		metrics_textfile_write();	/* the final figures */
		free(mx.textfile);
		mx.textfile = NULL;
	}
	buf_free(&mx.cache);
	mx.loop = NULL;
}
