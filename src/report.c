/*
 * report: answers to control requests (status, events, connections), as
 * aligned text tables for a terminal or as JSON with --json.  It only reads
 * the daemon's state; nothing here changes it.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "daemon.h"
#include "export.h"
#include "json.h"
#include "sshtrack.h"
#include "tcptrack.h"
#include "watch.h"
#include "table.h"
#include "version.h"

static void
report_time(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
}

static void
report_ports(const struct conf_server *s, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < s->nports && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u",
		    i ? "," : "", s->ports[i]);
}

/*
 * A server's state: the takeover's once one has begun (fencing, fenced,
 * taken-over, ...), else its health as the watcher sees it now.
 */
static void
report_health(struct daemon *d, size_t i, const char **state,
    int64_t *since_us, const char **why)
{
	double since;

	if ((*state = takeover_state(d->takeover, i, since_us, why)) != NULL)
		return;
	*state = health_state_str(watch_health(d->watch, i, &since, why));
	*since_us = (int64_t)(since * 1e6);
}

/* Milliseconds between two times (0 if either is unknown). */
static double
report_ms(int64_t from_us, int64_t to_us)
{
	return from_us == 0 || to_us == 0 ? 0 : (double)(to_us - from_us) / 1e3;
}

/*
 * A duration for people, in the unit that reads best: "32 us", "4.21 ms",
 * "64 ms", "6.81 s", "2m 05s", "3h 07m".  JSON gives exact numbers.
 */
static void
report_human_us(double us, char *buf, size_t len)
{
	double s = us / 1e6;

	if (us < 0)
		us = 0;
	if (us < 1000)
		snprintf(buf, len, "%.0f us", us);
	else if (us < 10000)
		snprintf(buf, len, "%.2f ms", us / 1e3);
	else if (us < 1e6)
		snprintf(buf, len, "%.0f ms", us / 1e3);
	else if (s < 60)
		snprintf(buf, len, "%.2f s", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm %02ds", (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, len, "%dh %02dm", (int)(s / 3600),
		    (int)(s / 60) % 60);
}

/* Bytes for people: "512 B", "14.0 KiB", "3.2 MiB". */
static void
report_human_bytes(uint64_t n, char *buf, size_t len)
{
	if (n < 1024)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024);
	else if (n < 1024ULL * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / (1024 * 1024));
	else
		snprintf(buf, len, "%.1f GiB", (double)n /
		    (1024.0 * 1024 * 1024));
}

/* A phase's duration ("64 ms"), or "-" when it was not reached. */
static void
report_dur(int64_t from_us, int64_t to_us, char *buf, size_t len)
{
	if (from_us == 0 || to_us == 0)
		snprintf(buf, len, "-");
	else
		report_human_us((double)(to_us - from_us), buf, len);
}

/* The fence's duration, or "none" when the configuration has none. */
static void
report_fence_dur(const char *result, int64_t from_us, int64_t to_us,
    char *buf, size_t len)
{
	if (result != NULL && strncmp(result, "fence none", 10) == 0)
		snprintf(buf, len, "none");
	else
		report_dur(from_us, to_us, buf, len);
}

/* A phase's duration in ms for JSON: null when not reached. */
static void
report_kv_ms(struct buf *out, const char *key, int64_t from_us,
    int64_t to_us)
{
	json_put_string(out, key);
	if (from_us == 0 || to_us == 0)
		buf_putf(out, ":null");
	else
		buf_putf(out, ":%.3f", report_ms(from_us, to_us));
}

static void
report_kv_time(struct buf *out, const char *key, int64_t us)
{
	if (us == 0) {
		json_put_string(out, key);
		buf_putf(out, ":null");
	} else
		json_put_kv_int(out, key, us);
}

/* The newest takeover of each server, copied out of the store. */
struct report_takeover {
	int64_t		 id;
	char		 server[CONF_NAME_MAX + 1];
	char		 state[32];
	char		 cause[200];
	char		 detail[512];
	char		 fence_result[600];
	int64_t		 last_frame_us, dead_us, fence_start_us, fence_end_us;
	int64_t		 rebuilt_us, address_us, done_us;
	uint64_t	 conns, recovered, reset, failed;
};

struct report_takeovers {
	struct report_takeover	*v;
	size_t			 n, alloc;
};

static int
report_takeover_cb(void *arg, const struct store_takeover *t)
{
	struct report_takeovers *rt = arg;
	struct report_takeover *r, *n;

	if (rt->n == rt->alloc) {
		size_t na = rt->alloc ? rt->alloc * 2 : 8;

		if ((n = reallocarray(rt->v, na, sizeof(*n))) == NULL)
			return -1;
		rt->v = n;
		rt->alloc = na;
	}
	r = &rt->v[rt->n++];
	memset(r, 0, sizeof(*r));
	r->id = t->id;
	snprintf(r->server, sizeof(r->server), "%s", t->server);
	snprintf(r->state, sizeof(r->state), "%s", t->state);
	snprintf(r->cause, sizeof(r->cause), "%s", t->cause);
	snprintf(r->detail, sizeof(r->detail), "%s", t->detail);
	snprintf(r->fence_result, sizeof(r->fence_result), "%s",
	    t->fence_result);
	r->last_frame_us = t->last_frame_us;
	r->dead_us = t->dead_us;
	r->fence_start_us = t->fence_start_us;
	r->fence_end_us = t->fence_end_us;
	r->rebuilt_us = t->rebuilt_us;
	r->address_us = t->address_us;
	r->done_us = t->done_us;
	r->conns = t->conns;
	r->recovered = t->recovered;
	r->reset = t->reset;
	r->failed = t->failed;
	return 0;
}

static int
report_takeovers_load(struct daemon *d, struct report_takeovers *rt)
{
	memset(rt, 0, sizeof(*rt));
	return store_takeovers(d->store, 1, report_takeover_cb, rt);
}

static const struct report_takeover *
report_takeover_of(const struct report_takeovers *rt, const char *server)
{
	size_t i;

	for (i = 0; i < rt->n; i++)
		if (strcmp(rt->v[i].server, server) == 0)
			return &rt->v[i];
	return NULL;
}

static void
report_takeover_json(struct buf *out, const struct report_takeover *r)
{
	char when[64];

	buf_putf(out, "{\"id\":%" PRId64 ",", r->id);
	json_put_kv_string(out, "state", r->state);
	buf_putf(out, ",");
	json_put_kv_string(out, "cause", r->cause);
	buf_putf(out, ",");
	json_put_kv_string(out, "detail", r->detail);
	buf_putf(out, ",");
	json_put_kv_string(out, "fence_result", r->fence_result);
	buf_putf(out, ",");
	report_time(r->dead_us, when, sizeof(when));
	json_put_kv_string(out, "dead", when);
	buf_putf(out, ",");
	report_kv_time(out, "last_frame_us", r->last_frame_us);
	buf_putf(out, ",");
	report_kv_time(out, "dead_us", r->dead_us);
	buf_putf(out, ",");
	report_kv_time(out, "fence_start_us", r->fence_start_us);
	buf_putf(out, ",");
	report_kv_time(out, "fence_end_us", r->fence_end_us);
	buf_putf(out, ",");
	report_kv_time(out, "rebuilt_us", r->rebuilt_us);
	buf_putf(out, ",");
	report_kv_time(out, "address_us", r->address_us);
	buf_putf(out, ",");
	report_kv_time(out, "done_us", r->done_us);
	buf_putf(out, ",");
	report_kv_ms(out, "detection_ms", r->last_frame_us, r->dead_us);
	buf_putf(out, ",");
	report_kv_ms(out, "fence_ms", r->fence_start_us, r->fence_end_us);
	buf_putf(out, ",");
	report_kv_ms(out, "rebuild_ms", r->fence_end_us, r->rebuilt_us);
	buf_putf(out, ",");
	report_kv_ms(out, "address_ms", r->rebuilt_us, r->address_us);
	buf_putf(out, ",");
	report_kv_ms(out, "handoff_ms", r->address_us, r->done_us);
	buf_putf(out, ",");
	report_kv_ms(out, "total_ms", r->dead_us, r->done_us);
	buf_putf(out, ",\"conns\":%" PRIu64 ",\"recovered\":%" PRIu64
	    ",\"reset\":%" PRIu64 ",\"failed\":%" PRIu64 "}", r->conns,
	    r->recovered, r->reset, r->failed);
}

/* The takeovers table of `status`. */
static void
report_takeovers_text(const struct report_takeovers *rt, struct buf *out)
{
	char when[64], n[4][24], det[24], fen[24], reb[24], adr[24], hof[24],
	    tot[24];
	struct table t;
	size_t i;

	if (rt->n == 0)
		return;
	buf_putf(out, "\n");
	table_init(&t, 14, "TAKEOVER", "SERVER", "DEAD AT", "STATE", "CONNS",
	    "RECOVERED", "RESET", "FAILED", "DETECT", "FENCE", "REBUILD",
	    "ADDRESS", "HANDOFF", "TOTAL");
	for (i = 0; i < rt->n; i++) {
		const struct report_takeover *r = &rt->v[i];
		char id[24];

		snprintf(id, sizeof(id), "%" PRId64, r->id);
		report_time(r->dead_us, when, sizeof(when));
		snprintf(n[0], sizeof(n[0]), "%" PRIu64, r->conns);
		snprintf(n[1], sizeof(n[1]), "%" PRIu64, r->recovered);
		snprintf(n[2], sizeof(n[2]), "%" PRIu64, r->reset);
		snprintf(n[3], sizeof(n[3]), "%" PRIu64, r->failed);
		report_dur(r->last_frame_us, r->dead_us, det, sizeof(det));
		report_fence_dur(r->fence_result, r->fence_start_us,
		    r->fence_end_us, fen, sizeof(fen));
		report_dur(r->fence_end_us, r->rebuilt_us, reb, sizeof(reb));
		report_dur(r->rebuilt_us, r->address_us, adr, sizeof(adr));
		report_dur(r->address_us, r->done_us, hof, sizeof(hof));
		report_dur(r->dead_us, r->done_us, tot, sizeof(tot));
		table_row(&t, id, r->server, when, r->state, n[0], n[1], n[2],
		    n[3], det, fen, reb, adr, hof, tot);
	}
	table_render(&t, out);
}

static int
report_status(struct daemon *d, int json, struct buf *out)
{
	char ip[64], ports[128], since[64], exp[96], up[32];
	struct table t;
	struct export_stats es;
	struct keystore_counts kn;
	struct watch_stats ws;
	const char *hs, *hwhy;
	int64_t hsince;
	int64_t uptime = (int64_t)(ev_time() - d->started_mono);
	struct report_takeovers rt;
	const struct report_takeover *rto;
	size_t i;
	int r;

	if (report_takeovers_load(d, &rt) != 0) {
		free(rt.v);
		return -1;
	}
	export_get_stats(&es);
	keystore_counts(d->keystore, &kn);
	watch_stats(d->watch, &ws);

	if (d->conf->export_enabled) {
		char a[64];

		conf_addr_str(&d->conf->export_addr, a, sizeof(a));
		snprintf(exp, sizeof(exp), d->conf->export_addr.family ==
		    AF_INET6 ? "[%s]:%u" : "%s:%u", a, d->conf->export_port);
	} else
		snprintf(exp, sizeof(exp), "none");
	if (json) {
		buf_putf(out, "{");
		json_put_kv_string(out, "version", SJ_VERSION);
		buf_putf(out, ",");
		json_put_kv_int(out, "pid", (int64_t)getpid());
		buf_putf(out, ",");
		json_put_kv_int(out, "uptime_s", uptime);
		buf_putf(out, ",");
		json_put_kv_string(out, "config", d->conf->path);
		buf_putf(out, ",");
		json_put_kv_uint(out, "reloads", d->reloads);
		buf_putf(out, ",");
		json_put_kv_uint(out, "reloads_refused", d->reloads_failed);
		buf_putf(out, ",");
		json_put_kv_string(out, "interface", d->conf->interface);
		buf_putf(out, ",");
		json_put_kv_string(out, "state_file", d->conf->state_file);
		buf_putf(out, ",");
		json_put_kv_string(out, "export_listen", exp);
		buf_putf(out, ",");
		json_put_kv_uint(out, "records_received", es.received);
		buf_putf(out, ",");
		json_put_kv_uint(out, "records_accepted", es.accepted);
		buf_putf(out, ",");
		json_put_kv_uint(out, "records_duplicate", es.duplicates);
		buf_putf(out, ",");
		json_put_kv_uint(out, "records_rejected", es.rejected);
		buf_putf(out, ",");
		json_put_kv_uint(out, "export_peers", es.conns);
		buf_putf(out, ",");
		json_put_kv_uint(out, "export_peers_refused", es.refused);
		buf_putf(out, ",");
		json_put_kv_uint(out, "connections_open", kn.open);
		buf_putf(out, ",");
		json_put_kv_uint(out, "connections_ended", kn.closed);
		buf_putf(out, ",");
		json_put_kv_uint(out, "connections_keys_held", kn.keys_held);
		buf_putf(out, ",\"capture\":{");
		json_put_kv_string(out, "source", d->pcap_file != NULL ?
		    d->pcap_file : d->conf->interface);
		buf_putf(out, ",");
		json_put_kv_uint(out, "frames", ws.frames);
		buf_putf(out, ",");
		json_put_kv_uint(out, "tcp", ws.tcp);
		buf_putf(out, ",");
		json_put_kv_uint(out, "other", ws.other);
		buf_putf(out, ",");
		json_put_kv_uint(out, "malformed", ws.malformed);
		buf_putf(out, ",");
		json_put_kv_uint(out, "kernel_drops", ws.kernel_drops);
		buf_putf(out, ",");
		json_put_kv_uint(out, "interface_drops", ws.if_drops);
		buf_putf(out, ",");
		json_put_kv_uint(out, "connections", ws.connections);
		buf_putf(out, ",");
		json_put_kv_uint(out, "memory_bytes", ws.memory);
		buf_putf(out, "},\"servers\":[");
		for (i = 0; i < d->nservers; i++) {
			const struct conf_server *s = d->servers[i].conf;
			int p;

			buf_putf(out, "%s{", i ? "," : "");
			json_put_kv_string(out, "name", s->name);
			buf_putf(out, ",");
			json_put_kv_string(out, "service_ip",
			    conf_addr_str(&s->service_ip, ip, sizeof(ip)));
			buf_putf(out, ",\"ports\":[");
			for (p = 0; p < s->nports; p++)
				buf_putf(out, "%s%u", p ? "," : "",
				    s->ports[p]);
			buf_putf(out, "],");
			report_health(d, i, &hs, &hsince, &hwhy);
			json_put_kv_string(out, "state", hs);
			buf_putf(out, ",");
			json_put_kv_int(out, "since_us", hsince);
			buf_putf(out, ",");
			json_put_kv_string(out, "why", hwhy);
			buf_putf(out, ",");
			json_put_kv_string(out, "recover",
			    conf_recover_str(s->recover));
			buf_putf(out, ",\"takeover\":");
			if ((rto = report_takeover_of(&rt, s->name)) != NULL)
				report_takeover_json(out, rto);
			else
				buf_putf(out, "null");
			buf_putf(out, "}");
		}
		free(rt.v);
		return buf_putf(out, "]}\n");
	}
	if (uptime < 60)
		snprintf(up, sizeof(up), "%" PRId64 "s", uptime);
	else if (uptime < 3600)
		snprintf(up, sizeof(up), "%" PRId64 "m %02" PRId64 "s",
		    uptime / 60, uptime % 60);
	else if (uptime < 86400)
		snprintf(up, sizeof(up), "%" PRId64 "h %02" PRId64 "m",
		    uptime / 3600, uptime / 60 % 60);
	else
		snprintf(up, sizeof(up), "%" PRId64 "d %02" PRId64 "h",
		    uptime / 86400, uptime / 3600 % 24);
	buf_putf(out, "securejeebsd %s, pid %ld, up %s\n", SJ_VERSION,
	    (long)getpid(), up);
	if (d->reloads + d->reloads_failed > 0)
		buf_putf(out, "config      %s (reloaded %" PRIu64 " times, %"
		    PRIu64 " refused)\n", d->conf->path, d->reloads,
		    d->reloads_failed);
	else
		buf_putf(out, "config      %s\n", d->conf->path);
	buf_putf(out, "interface   %s\n", d->conf->interface);
	buf_putf(out, "state file  %s\n", d->conf->state_file);
	buf_putf(out, "export      %s, %u peers connected, %" PRIu64
	    " refused\n", exp, es.conns, es.refused);
	buf_putf(out, "records     %" PRIu64 " received: %" PRIu64
	    " accepted, %" PRIu64 " duplicate, %" PRIu64 " rejected "
	    "(since start)\n", es.received, es.accepted, es.duplicates,
	    es.rejected);
	buf_putf(out, "keys held   %zu connections (%zu open, %zu ended)"
	    "\n", kn.keys_held, kn.open, kn.closed);
	buf_putf(out, "capture     %s: %" PRIu64 " frames, %" PRIu64
	    " dropped by the kernel, %" PRIu64 " by the interface, %" PRIu64
	    " malformed\n", d->pcap_file != NULL ? d->pcap_file :
	    d->conf->interface, ws.frames, ws.kernel_drops, ws.if_drops,
	    ws.malformed);
	buf_putf(out, "tracking    %zu TCP connections, %zu KiB\n\n",
	    ws.connections, (ws.memory + 1023) / 1024);
	table_init(&t, 6, "SERVER", "SERVICE IP", "PORTS", "STATE", "SINCE",
	    "WHY");
	for (i = 0; i < d->nservers; i++) {
		const struct conf_server *s = d->servers[i].conf;

		conf_addr_str(&s->service_ip, ip, sizeof(ip));
		report_ports(s, ports, sizeof(ports));
		report_health(d, i, &hs, &hsince, &hwhy);
		report_time(hsince, since, sizeof(since));
		table_row(&t, s->name, ip, ports, hs, since, hwhy);
	}
	r = table_render(&t, out);
	report_takeovers_text(&rt, out);
	free(rt.v);
	return r;
}

struct report_events {
	struct buf	*out;
	struct table	*t;
	int		 json;
	int		 n;
};

static int
report_event_cb(void *arg, const struct store_event *ev)
{
	struct report_events *re = arg;
	char ts[64];

	report_time(ev->ts_us, ts, sizeof(ts));
	if (!re->json) {
		table_row(re->t, ts, ev->server ? ev->server : "-", ev->kind,
		    ev->detail ? ev->detail : "");
		return 0;
	}
	buf_putf(re->out, "%s{", re->n++ ? "," : "");
	json_put_kv_int(re->out, "id", ev->id);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "time", ts);
	buf_putf(re->out, ",");
	json_put_kv_int(re->out, "ts_us", ev->ts_us);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "server", ev->server);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "kind", ev->kind);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "detail", ev->detail);
	return buf_putf(re->out, "}");
}

static int
report_events(struct daemon *d, int json, int limit, struct buf *out)
{
	struct report_events re = { out, NULL, json, 0 };
	struct table t;
	int r;

	if (json) {
		buf_putf(out, "[");
		r = store_events(d->store, limit, report_event_cb, &re);
		buf_putf(out, "]\n");
		return r;
	}
	table_init(&t, 4, "TIME", "SERVER", "EVENT", "DETAIL");
	re.t = &t;
	if ((r = store_events(d->store, limit, report_event_cb, &re)) != 0) {
		table_free(&t);
		return r;
	}
	return table_render(&t, out);
}

/* "addr:port", with IPv6 addresses in brackets; "-" when unknown. */
static void
report_endpoint(uint8_t family, const struct seal_endpoint *ep, char *buf,
    size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int af = family == SEAL_AF_INET6 ? AF_INET6 : AF_INET;

	if (family == 0 || inet_ntop(af, ep->addr, a, sizeof(a)) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, af == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ep->port);
}

static void
report_addr(uint8_t family, const struct seal_endpoint *ep, char *buf,
    size_t len)
{
	if (family == 0 || inet_ntop(family == SEAL_AF_INET6 ? AF_INET6 :
	    AF_INET, ep->addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "%s", "");
}

static const char *
report_dash(const char *s)
{
	return *s != '\0' ? s : "-";
}

/* A string, or null when it is not known. */
static void
report_kv_known(struct buf *out, const char *key, const char *val,
    int known)
{
	json_put_kv_string(out, key, known ? val : NULL);
}


static void
report_dir_json(struct buf *out, const char *key, const char *cipher,
    const char *mac, const char *comp, int known)
{
	json_put_string(out, key);
	buf_putf(out, ":{");
	report_kv_known(out, "cipher", cipher, known);
	buf_putf(out, ",");
	report_kv_known(out, "mac", mac, known);
	buf_putf(out, ",");
	report_kv_known(out, "compression", comp, known);
	buf_putf(out, "}");
}

/* The export view of kc as JSON members (no braces). */
static void
report_export_fields(struct buf *out, const struct keystore_conn *kc)
{
	char id[17], addr[INET6_ADDRSTRLEN], when[64];
	int known = kc->kex_alg[0] != '\0';

	snprintf(id, sizeof(id), "%016llx", (unsigned long long)kc->conn_id);
	json_put_kv_string(out, "server", kc->server);
	buf_putf(out, ",");
	json_put_kv_string(out, "conn_id", id);
	buf_putf(out, ",");
	json_put_kv_string(out, "state", kc->closed ? "closed" : "open");
	buf_putf(out, ",");
	report_addr(kc->family, &kc->client, addr, sizeof(addr));
	json_put_kv_string(out, "client_addr", addr);
	buf_putf(out, ",");
	json_put_kv_int(out, "client_port", kc->client.port);
	buf_putf(out, ",");
	report_addr(kc->family, &kc->service, addr, sizeof(addr));
	json_put_kv_string(out, "server_addr", addr);
	buf_putf(out, ",");
	json_put_kv_int(out, "server_port", kc->service.port);
	buf_putf(out, ",");
	report_kv_known(out, "user", kc->user, kc->user[0] != '\0');
	buf_putf(out, ",");
	report_kv_known(out, "auth_method", kc->auth_method,
	    kc->auth_method[0] != '\0');
	buf_putf(out, ",");
	report_kv_known(out, "kex_alg", kc->kex_alg, known);
	buf_putf(out, ",");
	report_kv_known(out, "hostkey_alg", kc->hostkey_alg, known);
	buf_putf(out, ",");
	if (known) {
		json_put_kv_uint(out, "kex_number", kc->kex_number);
		buf_putf(out, ",");
		json_put_kv_bool(out, "strict_kex", kc->strict_kex);
	} else
		buf_putf(out, "\"kex_number\":null,\"strict_kex\":null");
	buf_putf(out, ",");
	report_dir_json(out, "c2s", kc->c2s_cipher, kc->c2s_mac,
	    kc->c2s_comp, known);
	buf_putf(out, ",");
	report_dir_json(out, "s2c", kc->s2c_cipher, kc->s2c_mac,
	    kc->s2c_comp, known);
	buf_putf(out, ",");
	json_put_kv_uint(out, "records", kc->nrecords);
	buf_putf(out, ",");
	json_put_kv_uint(out, "last_counter", kc->last_counter);
	buf_putf(out, ",");
	json_put_kv_int(out, "first_record_us", kc->first_us);
	buf_putf(out, ",");
	json_put_kv_int(out, "last_record_us", kc->last_us);
	buf_putf(out, ",");
	report_time(kc->last_us, when, sizeof(when));
	json_put_kv_string(out, "last_record", when);
	buf_putf(out, ",");
	if (kc->closed)
		json_put_kv_int(out, "closed_us", kc->closed_us);
	else
		buf_putf(out, "\"closed_us\":null");
	buf_putf(out, ",");
	json_put_kv_bool(out, "keys_held", kc->keys_held);
}

/*
 * The merged view of `connections`: what the wire shows (TCP and SSH
 * tracking) joined with what the exports say (keys), by 4-tuple.  An export
 * without a tracked connection, and a tracked connection without exports,
 * are listed too.
 */
struct report_merge {
	struct daemon		*d;
	/* daemon_protection(): only this is told, nothing is written. */
	daemon_protection_fn	 count;
	void			*count_arg;
	struct buf		*out;
	struct table		*t;
	int			 n;
	struct keystore_conn	*kcs;
	int			*used;
	size_t			 nkcs, akcs;
};

static int
report_collect_cb(void *arg, const struct keystore_conn *kc)
{
	struct report_merge *m = arg;
	struct keystore_conn *n;

	if (m->nkcs == m->akcs) {
		size_t na = m->akcs ? m->akcs * 2 : 64;

		if ((n = realloc(m->kcs, na * sizeof(*n))) == NULL)
			return -1;
		m->kcs = n;
		m->akcs = na;
	}
	m->kcs[m->nkcs++] = *kc;
	return 0;
}

/* The open export connection with c's endpoints, or -1. */
static int
report_match(struct report_merge *m, size_t server,
    const struct tcptrack_conn *c)
{
	size_t i, alen = c->client.family == AF_INET ? 4 : 16;
	uint8_t fam = c->client.family == AF_INET ? SEAL_AF_INET :
	    SEAL_AF_INET6;

	for (i = 0; i < m->nkcs; i++) {
		const struct keystore_conn *kc = &m->kcs[i];

		if (m->used[i] || kc->closed || kc->family != fam ||
		    strcmp(kc->server, m->d->conf->servers[server].name) != 0 ||
		    kc->client.port != c->cport ||
		    kc->service.port != c->sport ||
		    memcmp(kc->client.addr, c->client.a, alen) != 0 ||
		    memcmp(kc->service.addr, c->server.a, alen) != 0)
			continue;
		return (int)i;
	}
	return -1;
}

/*
 * Can this connection be recovered now?  If not, why.  A connection handed
 * to a program (recover exec) needs only what the TCP tracker knows.
 */
static int
report_protect(const struct tcptrack_conn *c, const struct sshtrack_info *si,
    const struct keystore_conn *kc, int tcp_only, const char **why)
{
	int r;

	if (c == NULL) {
		*why = kc != NULL && kc->closed ? "ended" :
		    "not seen on the wire";
		return 0;
	}
	if ((r = tcptrack_protectable(c)) != TCPTRACK_OK) {
		*why = tcptrack_reason_str(r);
		return 0;
	}
	if (tcp_only) {
		*why = "";
		return 1;
	}
	if (!si->protectable) {
		*why = si->reason;
		return 0;
	}
	if (kc == NULL || !kc->keys_held) {
		*why = "no keys received";
		return 0;
	}
	if (si->waiting_keys) {
		*why = "waiting for keys";
		return 0;
	}

	*why = "";
	return 1;
}

static void
report_tcp_dir_json(struct buf *out, const char *key,
    const struct tcptrack_conn *c, int dir)
{
	const struct tcptrack_dir *td = &c->dir[dir];

	json_put_string(out, key);
	buf_putf(out, ":{\"isn\":%u,\"seq_next\":%u,", td->isn,
	    tcptrack_seq(c, dir, td->delivered));
	/*
	 * Byte counts are offsets from the first byte after the SYN: without
	 * the SYN they would count from wherever tracking began, a position
	 * that looks exact and is not.  Unknown is said as null.
	 */
	if (td->syn_seen)
		buf_putf(out, "\"bytes_sent\":%llu,\"bytes_acked\":%llu,",
		    (unsigned long long)td->delivered,
		    (unsigned long long)td->acked);
	else
		buf_putf(out, "\"bytes_sent\":null,\"bytes_acked\":null,");
	buf_putf(out, "\"last_ack\":%u,\"window\":%u,"
	    "\"tsval\":%u,\"mss\":%u,\"wscale\":%d,\"gaps\":%llu,"
	    "\"retained\":%zu}", td->last_ack, td->win, td->tsval,
	    td->mss, td->has_wscale ? td->wscale : -1,
	    (unsigned long long)td->gaps, buf_len(&td->retained));
}

static void
report_ssh_dir_json(struct buf *out, const char *key,
    const struct sshtrack_dir_info *di)
{
	json_put_string(out, key);
	buf_putf(out, ":{");
	json_put_kv_string(out, "phase", sshtrack_phase_str(di->phase));
	buf_putf(out, ",");
	json_put_kv_string(out, "version", di->version);
	buf_putf(out, ",\"seqnr\":%u,\"packets_total\":%llu,\"kex_number\":%u,"
	    "\"packets\":%llu,\"blocks\":%llu,\"buffered\":%zu,",
	    di->seqnr, (unsigned long long)di->total_packets, di->kex_number,
	    (unsigned long long)di->packets, (unsigned long long)di->blocks,
	    di->buffered);
	json_put_kv_string(out, "cipher", di->cipher);
	buf_putf(out, ",");
	json_put_kv_string(out, "mac", di->mac);
	/* Boundaries proved after lost bytes, and the packets not seen. */
	buf_putf(out, ",\"resyncs\":%u,\"missed_packets\":", di->resyncs);
	if (di->missed_unknown)
		buf_putf(out, "null");
	else
		buf_putf(out, "%llu", (unsigned long long)di->missed_packets);
	buf_putf(out, "}");
}

static void
report_wire_json(struct report_merge *m, const struct tcptrack_conn *c,
    const struct sshtrack_info *si, int ssh)
{
	struct sshtrack *st = watch_sshtrack(m->d->watch);
	struct buf *out = m->out;
	struct sshtrack_chan ch;
	size_t i;

	buf_putf(out, ",\"tcp\":{");
	json_put_kv_string(out, "state", tcptrack_state_str(c->state));
	buf_putf(out, ",\"handshake_seen\":%s,\"sack\":%s,\"timestamps\":%s,",
	    c->dir[TCPTRACK_C2S].syn_seen && c->dir[TCPTRACK_S2C].syn_seen ?
	    "true" : "false", c->dir[TCPTRACK_C2S].has_sackok ? "true" :
	    "false", c->dir[TCPTRACK_C2S].has_ts ? "true" : "false");
	report_tcp_dir_json(out, "c2s", c, TCPTRACK_C2S);
	buf_putf(out, ",");
	report_tcp_dir_json(out, "s2c", c, TCPTRACK_S2C);
	buf_putf(out, ",\"resumed\":%s,\"memory\":%zu}", c->resumed ?
	    "true" : "false", tcptrack_conn_memory(c));
	if (!ssh) {
		buf_putf(out, ",\"ssh\":null");
		return;
	}
	buf_putf(out, ",\"ssh\":{");
	buf_putf(out, "\"strict_kex\":%s,\"compression\":%s,"
	    "\"waiting_keys\":%s,\"log_entries\":%zu,\"password_attempts\":%u,"
	    "\"memory\":%zu,", si->strict_kex ? "true" : "false",
	    si->compression ? "true" : "false", si->waiting_keys ? "true" :
	    "false", si->log_entries, si->password_attempts, si->memory);
	buf_putf(out, "\"restored\":%s,\"resyncing\":%s,", si->restored ?
	    "true" : "false", si->resyncing ? "true" : "false");
	json_put_kv_string(out, "windows", !si->windows_unknown ? "exact" :
	    si->restored ? "unknown since restart" :
	    "unknown since packets were missed");
	buf_putf(out, ",");
	report_ssh_dir_json(out, "c2s", &si->dir[TCPTRACK_C2S]);
	buf_putf(out, ",");
	report_ssh_dir_json(out, "s2c", &si->dir[TCPTRACK_S2C]);
	buf_putf(out, ",\"channels\":[");
	for (i = 0; i < sshtrack_channel_count(st, (struct tcptrack_conn *)c);
	    i++) {
		if (sshtrack_channel_get(st, (struct tcptrack_conn *)c, i,
		    &ch) != 0)
			break;
		buf_putf(out, "%s{", i ? "," : "");
		json_put_kv_string(out, "type", ch.type);
		buf_putf(out, ",\"id_client\":%u,\"id_server\":%u,"
		    "\"confirmed\":%s,\"window_c2s\":%lld,\"window_s2c\":%lld,"
		    "\"window_known\":%s}",
		    ch.id_client, ch.id_server, ch.confirmed ? "true" : "false",
		    (long long)ch.window[TCPTRACK_C2S],
		    (long long)ch.window[TCPTRACK_S2C],
		    ch.window_known ? "true" : "false");
	}
	buf_putf(out, "]}");
}

/*
 * One connection: export part (kc, may be NULL), wire part (c, may be
 * NULL); server is its index, or -1 if it names no configured server.
 */
static void
report_merged(struct report_merge *m, const char *server,
    const struct keystore_conn *kc, const struct tcptrack_conn *c)
{
	struct sshtrack_info si;
	struct takeover_ssh_info ti;
	char cli[64], id[17], seq[48], kexn[16], tcp[16], sshwhy[300];
	const char *why, *user = "-", *cipher = "-";
	int ok, si_ok = conf_server_index(m->d->conf, server), ssh;

	ssh = si_ok < 0 || watch_ssh_tracked(m->d->watch, (size_t)si_ok);
	memset(&si, 0, sizeof(si));
	if (c != NULL && ssh)
		sshtrack_status(watch_sshtrack(m->d->watch),
		    (struct tcptrack_conn *)c, &si);
	ok = report_protect(c, &si, kc, !ssh, &why);
	/*
	 * Keys of a connection this host took over: it is listed with its
	 * fate under "taken over", not as something missing from the wire.
	 */
	if (c == NULL && kc != NULL && !kc->closed && si_ok >= 0 &&
	    watch_released(m->d->watch, (size_t)si_ok))
		why = m->t != NULL ? "taken over (see below)" : "taken over";
	/* recover ssh: what a takeover now would decide, exactly. */
	if (ok && c != NULL && si_ok >= 0 &&
	    m->d->conf->servers[si_ok].recover == CONF_RECOVER_SSH &&
	    takeover_ssh_prepare(watch_sshtrack(m->d->watch), c,
	    &m->d->conf->servers[si_ok], ev_time(), NULL, NULL, &ti, sshwhy,
	    sizeof(sshwhy)) != 0) {
		ok = 0;
		why = sshwhy;
	}
	if (m->count != NULL) {
		m->count(m->count_arg, server, ok, ok ? "" : why);
		return;
	}
	if (m->t == NULL) {
		buf_putf(m->out, "%s{", m->n++ ? "," : "");
		if (kc != NULL)
			report_export_fields(m->out, kc);
		else {
			json_put_kv_string(m->out, "server", server);
			buf_putf(m->out, ",\"conn_id\":null,\"state\":\"open\","
			    "\"client_addr\":");
			inet_ntop(c->client.family, c->client.a, cli,
			    sizeof(cli));
			json_put_string(m->out, cli);
			buf_putf(m->out, ",\"client_port\":%u,\"server_addr\":",
			    c->cport);
			inet_ntop(c->server.family, c->server.a, cli,
			    sizeof(cli));
			json_put_string(m->out, cli);
			buf_putf(m->out, ",\"server_port\":%u,\"keys_held\":false",
			    c->sport);
		}
		if (c != NULL)
			report_wire_json(m, c, &si, ssh);
		else
			buf_putf(m->out, ",\"tcp\":null,\"ssh\":null");
		buf_putf(m->out, ",\"protectable\":%s,", ok ? "true" : "false");
		json_put_kv_string(m->out, "reason", ok ? NULL : why);
		buf_putf(m->out, ",\"takeover\":null}");
		return;
	}
	if (kc != NULL) {
		snprintf(id, sizeof(id), "%016llx",
		    (unsigned long long)kc->conn_id);
		report_endpoint(kc->family, &kc->client, cli, sizeof(cli));
		user = report_dash(kc->user);
	} else {
		snprintf(id, sizeof(id), "-");
		pkt_endpoint_str(&c->client, c->cport, cli, sizeof(cli));
	}
	if (c != NULL && si.dir[TCPTRACK_S2C].cipher[0] != '\0')
		cipher = si.dir[TCPTRACK_S2C].cipher;
	else if (kc != NULL && kc->s2c_cipher[0] != '\0')
		cipher = kc->s2c_cipher;
	if (c != NULL && !ssh) {
		snprintf(seq, sizeof(seq), "-");
		snprintf(kexn, sizeof(kexn), "-");
		snprintf(tcp, sizeof(tcp), "%s", tcptrack_state_str(c->state));
	} else if (c != NULL) {
		snprintf(seq, sizeof(seq), "%u/%u",
		    si.dir[TCPTRACK_C2S].seqnr, si.dir[TCPTRACK_S2C].seqnr);
		snprintf(kexn, sizeof(kexn), "%u",
		    si.dir[TCPTRACK_S2C].kex_number);
		snprintf(tcp, sizeof(tcp), "%s", tcptrack_state_str(c->state));
	} else {
		snprintf(seq, sizeof(seq), "-");
		snprintf(kexn, sizeof(kexn), "-");
		snprintf(tcp, sizeof(tcp), "-");
	}
	table_row(m->t, server, id, cli, user, cipher, kexn, seq, tcp,
	    kc != NULL && kc->keys_held ? "yes" : "no", ok ? "yes" : "no",
	    ok ? "" : why);
}

static void
report_wire_cb(void *arg, size_t server, struct tcptrack_conn *c)
{
	struct report_merge *m = arg;
	int i = report_match(m, server, c);

	if (i >= 0)
		m->used[i] = 1;
	report_merged(m, m->d->conf->servers[server].name,
	    i >= 0 ? &m->kcs[i] : NULL, c);
}

/* Connections a takeover handled: rows of their own, with their fate. */
struct report_taken {
	struct buf			*out;
	struct table			*t;
	int				*n;	/* JSON objects so far */
	const struct report_takeover	*r;
};

static int
report_taken_cb(void *arg, const struct store_takeover_conn *c)
{
	struct report_taken *rk = arg;
	const struct report_takeover *r = rk->r;
	struct buf *out = rk->out;
	char cli[80], in[24], outb[24], det[24], fen[24], reb[24], hof[24],
	    prog[48], ssh[96];

	if (rk->t != NULL) {
		snprintf(cli, sizeof(cli), strchr(c->client_addr, ':') ?
		    "[%s]:%u" : "%s:%u", c->client_addr, c->client_port);
		report_human_bytes(c->in_bytes, in, sizeof(in));
		report_human_bytes(c->out_bytes, outb, sizeof(outb));
		report_dur(r->last_frame_us, r->dead_us, det, sizeof(det));
		report_fence_dur(r->fence_result, r->fence_start_us,
		    r->fence_end_us, fen, sizeof(fen));
		if (c->rebuild_ns >= 0)
			report_human_us((double)c->rebuild_ns / 1e3, reb,
			    sizeof(reb));
		else
			snprintf(reb, sizeof(reb), "-");
		report_dur(r->address_us, c->started_us, hof, sizeof(hof));
		if (c->pid == 0)
			snprintf(prog, sizeof(prog), "-");
		else if (c->exited)
			snprintf(prog, sizeof(prog), "%" PRId64 " exit %d",
			    c->pid, c->exit_status);
		else
			snprintf(prog, sizeof(prog), "%" PRId64 " running",
			    c->pid);
		/* recover ssh: the sshd's pid, its start/replay/cutover. */
		if (c->ssh_reported) {
			char t1[24], t2[24], t3[24];

			report_human_us((double)c->sshd_us, t1, sizeof(t1));
			report_human_us((double)c->replay_us, t2, sizeof(t2));
			report_human_us((double)c->cutover_us, t3, sizeof(t3));
			snprintf(ssh, sizeof(ssh), "%" PRId64 ": %s / %s / %s",
			    c->sshd_pid, t1, t2, t3);
		} else
			snprintf(ssh, sizeof(ssh), "-");
		table_row(rk->t, r->server, cli, c->fate, in, outb, det, fen,
		    reb, hof, prog, ssh, report_dash(c->reason));
		return 0;
	}
	buf_putf(out, "%s{", (*rk->n)++ ? "," : "");
	json_put_kv_string(out, "server", r->server);
	buf_putf(out, ",\"conn_id\":null,\"state\":\"taken-over\",");
	json_put_kv_string(out, "client_addr", c->client_addr);
	buf_putf(out, ",\"client_port\":%u,", c->client_port);
	json_put_kv_string(out, "server_addr", c->service_addr);
	buf_putf(out, ",\"server_port\":%u,\"keys_held\":false,"
	    "\"tcp\":null,\"ssh\":null,\"protectable\":false,",
	    c->service_port);
	json_put_kv_string(out, "reason", "taken over");
	buf_putf(out, ",\"takeover\":{\"id\":%" PRId64 ",", r->id);
	json_put_kv_string(out, "fate", c->fate);
	buf_putf(out, ",");
	json_put_kv_string(out, "why", c->reason[0] ? c->reason : NULL);
	buf_putf(out, ",\"in_bytes\":%" PRIu64 ",\"out_bytes\":%" PRIu64
	    ",\"in_offset\":%" PRIu64 ",\"out_offset\":%" PRIu64 ",",
	    c->in_bytes, c->out_bytes, c->in_off, c->out_off);
	report_kv_ms(out, "detection_ms", r->last_frame_us, r->dead_us);
	buf_putf(out, ",");
	report_kv_ms(out, "fence_ms", r->fence_start_us, r->fence_end_us);
	buf_putf(out, ",");
	if (c->rebuild_ns >= 0)
		buf_putf(out, "\"rebuild_us\":%.3f,",
		    (double)c->rebuild_ns / 1e3);
	else
		buf_putf(out, "\"rebuild_us\":null,");
	report_kv_ms(out, "handoff_ms", r->address_us, c->started_us);
	buf_putf(out, ",");
	report_kv_ms(out, "total_ms", r->dead_us, c->started_us);
	buf_putf(out, ",");
	report_kv_time(out, "last_frame_us", c->last_frame_us);
	buf_putf(out, ",");
	report_kv_time(out, "started_us", c->started_us);
	buf_putf(out, ",");
	report_kv_time(out, "ended_us", c->ended_us);
	buf_putf(out, ",");
	if (c->pid != 0)
		json_put_kv_int(out, "pid", c->pid);
	else
		buf_putf(out, "\"pid\":null");
	buf_putf(out, ",");
	if (c->exited)
		json_put_kv_int(out, "exit_status", c->exit_status);
	else
		buf_putf(out, "\"exit_status\":null");
	buf_putf(out, ",");
	json_put_kv_string(out, "recover", c->recover[0] != '\0' ?
	    c->recover : NULL);
	buf_putf(out, ",\"ssh\":");
	if (c->ssh_reported)
		buf_putf(out, "{\"sshd_pid\":%" PRId64 ",\"sshd_ms\":%.3f,"
		    "\"replay_ms\":%.3f,\"cutover_ms\":%.3f,\"messages\":%"
		    PRId64 "}", c->sshd_pid, (double)c->sshd_us / 1e3,
		    (double)c->replay_us / 1e3, (double)c->cutover_us / 1e3,
		    c->messages);
	else
		buf_putf(out, "null");
	return buf_putf(out, "}}");
}

int
daemon_protection(struct daemon *d, daemon_protection_fn fn, void *arg)
{
	struct report_merge m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.d = d;
	m.count = fn;
	m.count_arg = arg;
	if (keystore_walk(d->keystore, report_collect_cb, &m) != 0 ||
	    (m.used = calloc(m.nkcs + 1, sizeof(*m.used))) == NULL) {
		free(m.kcs);
		return -1;
	}
	watch_foreach_conn(d->watch, report_wire_cb, &m);
	for (i = 0; i < m.nkcs; i++)
		if (!m.used[i] && !m.kcs[i].closed)
			report_merged(&m, m.kcs[i].server, &m.kcs[i], NULL);
	free(m.kcs);
	free(m.used);
	return 0;
}

static int
report_connections(struct daemon *d, int json, struct buf *out)
{
	struct report_merge m;
	struct report_takeovers rt;
	struct report_taken rk;
	struct table t, t2;
	size_t i;
	int r = 0;

	memset(&m, 0, sizeof(m));
	m.d = d;
	m.out = out;
	if (keystore_walk(d->keystore, report_collect_cb, &m) != 0 ||
	    (m.used = calloc(m.nkcs + 1, sizeof(*m.used))) == NULL) {
		free(m.kcs);
		return -1;
	}
	if (!json) {
		table_init(&t, 11, "SERVER", "CONN", "CLIENT", "USER",
		    "CIPHER", "KEX#", "SEQ IN/OUT", "TCP", "KEYS",
		    "PROTECTED", "WHY NOT");
		m.t = &t;
	} else
		buf_putf(out, "[");
	watch_foreach_conn(d->watch, report_wire_cb, &m);
	for (i = 0; i < m.nkcs; i++)
		if (!m.used[i])
			report_merged(&m, m.kcs[i].server, &m.kcs[i], NULL);
	free(m.kcs);
	free(m.used);
	/* Then the connections of each server's latest takeover. */
	if (report_takeovers_load(d, &rt) != 0) {
		free(rt.v);
		if (!json)
			table_free(&t);
		return -1;
	}
	memset(&rk, 0, sizeof(rk));
	rk.out = out;
	rk.n = &m.n;
	if (!json) {
		r = table_render(&t, out);
		table_init(&t2, 12, "SERVER", "CLIENT", "FATE", "IN", "OUT",
		    "DETECT", "FENCE", "REBUILD", "HANDOFF", "PROGRAM",
		    "SSHD: START/REPLAY/CUTOVER", "WHY");
		rk.t = &t2;
	}
	for (i = 0; i < rt.n && r == 0; i++) {
		rk.r = &rt.v[i];
		r = store_takeover_conns(d->store, rt.v[i].id, report_taken_cb,
		    &rk);
	}
	free(rt.v);
	if (json)
		return r != 0 ? -1 : buf_putf(out, "]\n");
	if (t2.nrows > 1) {
		buf_putf(out, "\ntaken over:\n");
		return table_render(&t2, out) | r;
	}
	table_free(&t2);
	return r;
}

/* takeover SERVER: a drill, or an operator's decision. */
static int
report_takeover_cmd(struct daemon *d, int ac, char **av, struct buf *out)
{
	int i;

	if (ac != 2) {
		buf_putf(out, "usage: takeover SERVER");
		return -1;
	}
	if ((i = conf_server_index(d->conf, av[1])) < 0) {
		buf_putf(out, "no server \"%.64s\" in %s", av[1],
		    d->conf->path);
		return -1;
	}
	if (d->pcap_file != NULL) {
		buf_putf(out, "reading %s, not capturing: nothing to take over",
		    d->pcap_file);
		return -1;
	}
	return takeover_force(d->takeover, (size_t)i, out);
}

/* drain SERVER / drain-status SERVER (docs/drain.md) */
static int
report_drain_cmd(struct daemon *d, int ac, char **av, struct buf *out)
{
	int i;

	if (ac != 2) {
		buf_putf(out, "usage: %s SERVER", av[0]);
		return -1;
	}
	if ((i = conf_server_index(d->conf, av[1])) < 0) {
		buf_putf(out, "no server \"%.64s\" in %s", av[1],
		    d->conf->path);
		return -1;
	}
	if (strcmp(av[0], "drain-status") == 0)
		return takeover_drain_status(d->takeover, (size_t)i, out);
	if (d->pcap_file != NULL) {
		buf_putf(out, "reading %s, not capturing: nothing to drain",
		    d->pcap_file);
		return -1;
	}
	return takeover_drain(d->takeover, (size_t)i, out);
}

/*
 * failback NAME (docs/drain.md "Failback"): NAME is the host this daemon
 * runs on; the server block with `failback_for NAME` is the other host,
 * which holds NAME's service address after a drain.  Drain it back.
 */
static int
report_failback_cmd(struct daemon *d, int ac, char **av, struct buf *out)
{
	int i;

	if (ac != 2) {
		buf_putf(out, "usage: failback NAME");
		return -1;
	}
	if ((i = conf_failback_index(d->conf, av[1])) < 0) {
		if (conf_server_index(d->conf, av[1]) >= 0)
			buf_putf(out, "%.64s is a server this daemon protects: "
			    "`drain %.64s` moves its sessions to this host; "
			    "`failback %.64s` is run on %.64s's own daemon",
			    av[1], av[1], av[1], av[1]);
		else
			buf_putf(out, "no server block of %s says "
			    "`failback_for %.64s`: this daemon does not know "
			    "which server holds %.64s's service address",
			    d->conf->path, av[1], av[1]);
		return -1;
	}
	if (d->pcap_file != NULL) {
		buf_putf(out, "reading %s, not capturing: nothing to drain",
		    d->pcap_file);
		return -1;
	}
	{
		struct buf tmp;
		int r;

		buf_init(&tmp, 4096);
		if ((r = takeover_drain(d->takeover, (size_t)i, &tmp)) == 0)
			buf_putf(out, "failback %s: server %s\n", av[1],
			    d->conf->servers[i].name);
		else
			buf_putf(out, "failback %s: server %s: ", av[1],
			    d->conf->servers[i].name);
		(void)buf_put(out, buf_ptr(&tmp), buf_len(&tmp));
		buf_free(&tmp);
		return r;
	}
}

int
daemon_control(void *arg, int ac, char **av, struct buf *out)
{
	struct daemon *d = arg;
	int i, json = 0, limit = 50;

	if (strcmp(av[0], "takeover") == 0)
		return report_takeover_cmd(d, ac, av, out);
	if (strcmp(av[0], "drain") == 0 || strcmp(av[0], "drain-status") == 0)
		return report_drain_cmd(d, ac, av, out);
	if (strcmp(av[0], "failback") == 0)
		return report_failback_cmd(d, ac, av, out);

	for (i = 1; i < ac; i++) {
		if (strcmp(av[i], "--json") == 0)
			json = 1;
		else if (strcmp(av[0], "events") == 0 &&
		    strncmp(av[i], "--limit=", 8) == 0) {
			char *end;
			long v = strtol(av[i] + 8, &end, 10);

			if (*end != '\0' || v < 0 || v > 100000) {
				buf_putf(out, "bad limit \"%s\"", av[i] + 8);
				return -1;
			}
			limit = (int)v;
		} else {
			buf_putf(out, "%s: unknown argument \"%.64s\"", av[0],
			    av[i]);
			return -1;
		}
	}
	if (strcmp(av[0], "status") == 0)
		return report_status(d, json, out) == 0 ? 0 : -1;
	if (strcmp(av[0], "connections") == 0) {
		if (report_connections(d, json, out) != 0) {
			buf_reset(out);
			buf_putf(out, "cannot list the connections");
			return -1;
		}
		return 0;
	}
	if (strcmp(av[0], "events") == 0) {
		if (report_events(d, json, limit, out) != 0) {
			buf_reset(out);
			buf_putf(out, "cannot read events from the state file");
			return -1;
		}
		return 0;
	}
	buf_putf(out, "unknown command \"%.64s\"", av[0]);
	return -1;
}
