/*
 * watch: capture -> decode -> TCP tracker, and health evidence from the
 * same frames (see watch.h).  Frames of the watched services only reach
 * here (the BPF filter); anything else that slips through is counted and
 * dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "keystore.h"
#include "log.h"
#include "pkt.h"
#include "resume.h"
#include "sshtrack.h"
#include "watch.h"

#define WATCH_EXPIRE_INTERVAL	5.0	/* seconds between timeout sweeps */
/*
 * Saving for a restart (resume): a connection at most once a second, a
 * tick every quarter of one taking at most 10 ms of the loop (the rest
 * waits for the next tick: those saved least recently go first).
 */
#define WATCH_SAVE_INTERVAL	0.25
#define WATCH_SAVE_EVERY	1.0
#define WATCH_SAVE_BUDGET	0.010
#define WATCH_MAC_BUCKETS	1024
#define WATCH_MAC_MAX		65536	/* peers remembered */

/* The MAC a peer's frames come with (for the takeover's neighbour pins). */
struct watch_mac {
	struct pkt_addr		 addr;
	uint8_t			 mac[6];
	struct watch_mac	*next;
};

/* Who consumes a server's connections instead of the SSH tracker. */
struct watch_consumer {
	struct tcptrack_ops	 ops;
	void			*arg;
	int			 set;
};

struct watch {
	struct ev_loop		*loop;
	const struct conf	*conf;
	struct capture		*cap;
	struct tcptrack		*tcp;
	struct sshtrack		*ssh;
	struct keystore		*keystore;
	struct health		*health;
	watch_health_cb		 cb;
	void			*arg;
	ev_timer		 expire;
	struct watch_stats	 st;
	struct pkt_addr		 addrs[CONF_MAX_SERVERS];
	struct watch_consumer	 consumer[CONF_MAX_SERVERS];
	double			 last_server[CONF_MAX_SERVERS];
	int			 released[CONF_MAX_SERVERS];
	struct watch_mac	*macs[WATCH_MAC_BUCKETS];
	size_t			 nmacs;
	struct log_ratelimit	 rl_malformed;
	int			 offline;	/* reading a file */
	/* Saved for a restart (live only): resume.h. */
	struct resume		*resume;
	ev_timer		 save;
	double			 save_now, save_until;	/* this tick */
	int			 stopping;	/* ends are shutdown, not ends */
};

static void
watch_addr(const struct conf_addr *ca, struct pkt_addr *pa)
{
	pkt_addr_set(pa, ca->family, &ca->u);
}

/* The configured server whose service address is a, or -1. */
static int
watch_server_of(const struct watch *w, const struct pkt_addr *a)
{
	size_t i;

	for (i = 0; i < w->conf->nservers; i++)
		if (memcmp(&w->addrs[i], a, sizeof(*a)) == 0)
			return (int)i;
	return -1;
}

static unsigned
watch_mac_hash(const struct pkt_addr *a)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(a->a); i++)
		h = (h ^ a->a[i]) * 16777619u;
	return h % WATCH_MAC_BUCKETS;
}

static void
watch_mac_note(struct watch *w, const struct pkt_addr *a, const uint8_t *mac)
{
	struct watch_mac *m, **head = &w->macs[watch_mac_hash(a)];

	for (m = *head; m != NULL; m = m->next)
		if (memcmp(&m->addr, a, sizeof(*a)) == 0) {
			memcpy(m->mac, mac, 6);
			return;
		}
	if (w->nmacs >= WATCH_MAC_MAX || (m = calloc(1, sizeof(*m))) == NULL)
		return;
	m->addr = *a;
	memcpy(m->mac, mac, 6);
	m->next = *head;
	*head = m;
	w->nmacs++;
}

int
watch_peer_mac(struct watch *w, const struct pkt_addr *a, uint8_t mac[6])
{
	struct watch_mac *m;

	for (m = w->macs[watch_mac_hash(a)]; m != NULL; m = m->next)
		if (memcmp(&m->addr, a, sizeof(*a)) == 0) {
			memcpy(mac, m->mac, 6);
			return 0;
		}
	return -1;
}

static int
watch_is_service_port(const struct conf_server *s, uint16_t port)
{
	int i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i] == port)
			return 1;
	return 0;
}

static void
watch_frame(void *arg, int linktype, const uint8_t *frame, size_t caplen,
    size_t wirelen, double ts)
{
	struct watch *w = arg;
	struct pkt_tcp seg;
	int r, srv, from_server;

	w->st.frames++;
	if ((r = pkt_decode(linktype, frame, caplen, wirelen, &seg)) !=
	    PKT_OK) {
		if (r == PKT_MALFORMED) {
			w->st.malformed++;
			log_limited(&w->rl_malformed, LOG_WARNING, "capture: "
			    "malformed frame of %zu bytes ignored", caplen);
		} else if (r == PKT_FRAGMENT)
			w->st.fragments++;
		else
			w->st.other++;
		return;
	}
	if ((srv = watch_server_of(w, &seg.dst)) >= 0 &&
	    watch_is_service_port(&w->conf->servers[srv], seg.dport))
		from_server = 0;
	else if ((srv = watch_server_of(w, &seg.src)) >= 0 &&
	    watch_is_service_port(&w->conf->servers[srv], seg.sport))
		from_server = 1;
	else {
		w->st.other++;
		return;
	}
	if (w->released[srv]) {
		w->st.other++;		/* this host's own traffic now */
		return;
	}
	w->st.tcp++;
	if (from_server && ts > w->last_server[srv])
		w->last_server[srv] = ts;
	else if (!from_server && seg.has_mac)
		watch_mac_note(w, &seg.src, seg.src_mac);
	/* A file is history: it says nothing of the servers' health now. */
	if (!w->offline)
		health_frame(w->health, srv, from_server, !from_server &&
		    (seg.wire_len > 0 || (seg.flags & PKT_SYN)),
		    from_server && seg.has_mac ? seg.src_mac : NULL, ts);
	tcptrack_feed(w->tcp, &seg, ts);
}

static void
watch_health_change(void *arg, int server, enum health_state from,
    enum health_state to, const char *why)
{
	struct watch *w = arg;

	if (w->cb != NULL)
		w->cb(w->arg, (size_t)server, from, to, why);
}

/*
 * The TCP tracker's consumer is the SSH tracker, unless the server has a
 * consumer of its own (watch_set_consumer()).
 */
static const struct watch_consumer *
watch_consumer_of(struct watch *w, const struct tcptrack_conn *c)
{
	int srv = watch_server_of(w, &c->server);

	return srv >= 0 && w->consumer[srv].set ? &w->consumer[srv] : NULL;
}

static void
watch_conn_new(void *arg, struct tcptrack_conn *c)
{
	struct watch *w = arg;
	const struct watch_consumer *wc = watch_consumer_of(w, c);

	if (wc == NULL)
		sshtrack_conn_new(w->ssh, c);
	else if (wc->ops.conn_new != NULL)
		wc->ops.conn_new(wc->arg, c);
}

static void
watch_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	struct watch *w = arg;
	const struct watch_consumer *wc = watch_consumer_of(w, c);

	if (wc == NULL)
		sshtrack_data(w->ssh, c, dir, off, p, len);
	else if (wc->ops.data != NULL)
		wc->ops.data(wc->arg, c, dir, off, p, len);
}

static void
watch_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	struct watch *w = arg;
	const struct watch_consumer *wc = watch_consumer_of(w, c);

	if (wc == NULL)
		sshtrack_acked(w->ssh, c, dir, acked);
	else if (wc->ops.acked != NULL)
		wc->ops.acked(wc->arg, c, dir, acked);
}

static void
watch_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    uint64_t len)
{
	struct watch *w = arg;
	const struct watch_consumer *wc = watch_consumer_of(w, c);

	if (wc == NULL)
		sshtrack_gap(w->ssh, c, dir, off, len);
	else if (wc->ops.gap != NULL)
		wc->ops.gap(wc->arg, c, dir, off, len);
}

static void
watch_conn_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	struct watch *w = arg;
	const struct watch_consumer *wc = watch_consumer_of(w, c);
	char cli[64], srv[64];
	int srvi;

	debug_f("%s -> %s ended: %s",
	    pkt_endpoint_str(&c->client, c->cport, cli, sizeof(cli)),
	    pkt_endpoint_str(&c->server, c->sport, srv, sizeof(srv)), why);
	if (w->resume != NULL && !w->stopping &&
	    (srvi = watch_server_of(w, &c->server)) >= 0)
		resume_forget(w->resume, (size_t)srvi, c);
	if (wc == NULL)
		sshtrack_conn_end(w->ssh, c);
	else if (wc->ops.conn_end != NULL)
		wc->ops.conn_end(wc->arg, c, why);
}

/* A resumed connection's direction re-anchored (after a restart). */
static void
watch_resumed(void *arg, struct tcptrack_conn *c, int dir, uint64_t off)
{
	struct watch *w = arg;
	const struct watch_consumer *wc = watch_consumer_of(w, c);

	if (wc == NULL)
		sshtrack_resumed(w->ssh, c, dir, off);
	else if (wc->ops.resumed != NULL)
		wc->ops.resumed(wc->arg, c, dir, off);
}

/* Endpoints of c in the export records' terms. */
static void
watch_endpoints(const struct tcptrack_conn *c, uint8_t *family,
    struct seal_endpoint *client, struct seal_endpoint *service)
{
	size_t alen = c->client.family == AF_INET ? 4 : 16;

	memset(client, 0, sizeof(*client));
	memset(service, 0, sizeof(*service));
	*family = c->client.family == AF_INET ? SEAL_AF_INET : SEAL_AF_INET6;
	memcpy(client->addr, c->client.a, alen);
	client->port = c->cport;
	memcpy(service->addr, c->server.a, alen);
	service->port = c->sport;
}

/* The SSH tracker asks for the keys of one KEX of c. */
static const struct seal_keyrec *
watch_keys(void *arg, const struct tcptrack_conn *c, uint32_t kex_number)
{
	struct watch *w = arg;
	struct seal_endpoint cli, svc;
	const struct seal_keyrec *kr;
	uint8_t family;
	int srv;

	if (w->keystore == NULL || (srv = watch_server_of(w, &c->server)) < 0)
		return NULL;
	watch_endpoints(c, &family, &cli, &svc);
	kr = keystore_find_tuple(w->keystore, (size_t)srv, family, &cli, &svc);
	if (kex_number == SSHTRACK_KEX_NEWEST)
		return kr;
	return kr != NULL && kr->kex_number == kex_number ? kr : NULL;
}

/* A record was accepted: the connection it names may be waiting for it. */
static void
watch_record(void *arg, size_t server, const struct keystore_conn *kc,
    const struct seal_keyrec *kr)
{
	struct watch *w = arg;
	struct pkt_addr cli, svc;
	struct tcptrack_conn *c;
	int family = kc->family == SEAL_AF_INET ? AF_INET : AF_INET6;

	(void)server;
	if (kr == NULL)
		return;
	pkt_addr_set(&cli, family, kc->client.addr);
	pkt_addr_set(&svc, family, kc->service.addr);
	if ((c = tcptrack_find(w->tcp, &cli, kc->client.port, &svc,
	    kc->service.port)) != NULL)
		sshtrack_keys_arrived(w->ssh, c);
}

static void
watch_expire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch *w = t->data;

	(void)revents;
	tcptrack_expire(w->tcp, ev_now(loop));
}

/* Save what changed for a restart (one transaction), and go on with searches. */
static void
watch_save_iter(void *arg, struct tcptrack_conn *c)
{
	struct watch *w = arg;
	int srv = watch_server_of(w, &c->server);

	if (srv < 0 || w->released[srv] ||
	    (c->saved && w->save_now - c->saved_time < WATCH_SAVE_EVERY) ||
	    ev_time() > w->save_until)
		return;
	if (resume_save(w->resume, (size_t)srv, c,
	    watch_consumer_of(w, c) == NULL ? w->ssh : NULL))
		c->saved_time = w->save_now;
}

/* Save what changed, within budget seconds (0: all of it). */
static void
watch_save_all(struct watch *w, double budget)
{
	w->save_now = ev_time();
	w->save_until = budget > 0 ? w->save_now + budget : 1e300;
	resume_begin(w->resume);
	tcptrack_foreach(w->tcp, watch_save_iter, w);
	resume_end(w->resume);
}

static void
watch_save_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch *w = t->data;

	(void)loop;
	(void)revents;
	watch_save_all(w, WATCH_SAVE_BUDGET);
	sshtrack_poll(w->ssh);
}

static int
watch_ssh_tracked_cb(void *arg, size_t server)
{
	struct watch *w = arg;

	return server < w->conf->nservers && !w->consumer[server].set;
}

/* The health thresholds of a configured server. */
static void
watch_health_params(const struct conf_server *s, struct health_params *hp)
{
	health_params_default(hp);
	hp->dead_after = s->dead_after;
	hp->probe_interval = s->probe_interval;
	hp->probe_timeout = s->probe_timeout;
	hp->probe_tries = (int)s->probe_tries;
	hp->probe_methods = (s->probe_methods & CONF_PROBE_ARP ?
	    HEALTH_PROBE_ARP : 0) | (s->probe_methods & CONF_PROBE_TCP ?
	    HEALTH_PROBE_TCP : 0);
	hp->probe_port = s->ports[0];
}

int
watch_init(struct ev_loop *loop, const struct conf *c, struct keystore *ks,
    watch_health_cb cb, void *arg, struct watch **out, char *err,
    size_t errlen)
{
	struct tcptrack_ops ops;
	struct watch *w;
	size_t i;
	int j;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->loop = loop;
	w->conf = c;
	w->cb = cb;
	w->arg = arg;
	w->rl_malformed.interval = 10;
	w->keystore = ks;
	memset(&ops, 0, sizeof(ops));
	ops.conn_new = watch_conn_new;
	ops.data = watch_data;
	ops.acked = watch_acked;
	ops.gap = watch_gap;
	ops.conn_end = watch_conn_end;
	ops.resumed = watch_resumed;
	if ((w->ssh = sshtrack_new(NULL, watch_keys, w)) == NULL ||
	    (w->tcp = tcptrack_new(NULL, &ops, w)) == NULL ||
	    (w->health = health_new(loop, watch_health_change, w)) == NULL) {
		snprintf(err, errlen, "out of memory");
		watch_fini(w);
		return -1;
	}
	for (i = 0; i < c->nservers; i++) {
		const struct conf_server *s = &c->servers[i];
		struct health_params hp;

		watch_addr(&s->service_ip, &w->addrs[i]);
		for (j = 0; j < s->nports; j++)
			tcptrack_watch(w->tcp, &w->addrs[i], s->ports[j]);
		watch_health_params(s, &hp);
		health_add_server(w->health, s->name, &w->addrs[i], &hp);
	}
	if (ks != NULL) {
		keystore_set_listener(ks, watch_record, w);
		if ((w->resume = resume_new(keystore_store(ks), c,
		    keystore_keys(ks) != NULL ? keystore_keys(ks)->recovery :
		    NULL)) == NULL) {
			snprintf(err, errlen, "out of memory");
			watch_fini(w);
			return -1;
		}
	}
	ev_timer_init(&w->save, watch_save_cb, WATCH_SAVE_INTERVAL,
	    WATCH_SAVE_INTERVAL);
	w->save.data = w;
	ev_timer_init(&w->expire, watch_expire_cb, WATCH_EXPIRE_INTERVAL,
	    WATCH_EXPIRE_INTERVAL);
	w->expire.data = w;
	ev_timer_start(loop, &w->expire);
	*out = w;
	return 0;
}

static void
watch_filter(struct watch *w, char *buf, size_t len)
{
	struct capture_service svc[CONF_MAX_SERVERS];
	size_t i;
	int j;

	memset(svc, 0, sizeof(svc));
	for (i = 0; i < w->conf->nservers; i++) {
		svc[i].addr = w->addrs[i];
		for (j = 0; j < w->conf->servers[i].nports; j++)
			svc[i].ports[j] = w->conf->servers[i].ports[j];
		svc[i].nports = w->conf->servers[i].nports;
	}
	if (capture_filter(svc, (int)w->conf->nservers,
	    w->conf->export_enabled ? w->conf->export_port : 0, buf,
	    len) != 0)
		buf[0] = '\0';		/* too long: capture all, sort here */
}

struct watch_reconf_drop {
	struct watch		*w;
	const struct conf	*nc;
	const int		*old_of_new;
	const struct pkt_addr	*naddrs;
	struct tcptrack_conn	**list;
	size_t			 n, alloc;
};

/* Whether c goes on being watched under the new configuration. */
static int
watch_reconf_keeps(const struct watch_reconf_drop *d,
    const struct tcptrack_conn *c)
{
	int old = watch_server_of(d->w, &c->server);
	size_t j;

	for (j = 0; j < d->nc->nservers; j++)
		if (d->old_of_new[j] == old && old >= 0 &&
		    memcmp(&d->naddrs[j], &c->server, sizeof(c->server)) == 0)
			return watch_is_service_port(&d->nc->servers[j],
			    c->sport);
	return 0;
}

static void
watch_reconf_drop_cb(void *arg, struct tcptrack_conn *c)
{
	struct watch_reconf_drop *d = arg;
	struct tcptrack_conn **n;

	if (watch_reconf_keeps(d, c))
		return;
	if (d->n == d->alloc) {
		size_t na = d->alloc ? d->alloc * 2 : 64;

		if ((n = reallocarray(d->list, na, sizeof(*n))) == NULL)
			return;
		d->list = n;
		d->alloc = na;
	}
	d->list[d->n++] = c;
}

/* End c through the tracker's usual path: an RST from its client. */
static void
watch_drop_conn(struct watch *w, struct tcptrack_conn *c)
{
	struct pkt_tcp rst;

	memset(&rst, 0, sizeof(rst));
	rst.src = c->client;
	rst.sport = c->cport;
	rst.dst = c->server;
	rst.dport = c->sport;
	rst.seq = tcptrack_seq(c, TCPTRACK_C2S,
	    c->dir[TCPTRACK_C2S].delivered);
	rst.flags = PKT_RST;
	(void)tcptrack_feed(w->tcp, &rst, ev_now(w->loop));
}

int
watch_reconf(struct watch *w, const struct conf *nc, const int *old_of_new,
    size_t dropped[CONF_MAX_SERVERS], char *err, size_t errlen)
{
	struct watch_reconf_drop d;
	struct pkt_addr naddrs[CONF_MAX_SERVERS];
	struct watch_consumer consumer[CONF_MAX_SERVERS];
	double last_server[CONF_MAX_SERVERS];
	int released[CONF_MAX_SERVERS];
	struct health_params hp[CONF_MAX_SERVERS];
	const char *names[CONF_MAX_SERVERS];
	char ofilter[4096], nfilter[4096];
	size_t i;
	int j, old;

	memset(dropped, 0, CONF_MAX_SERVERS * sizeof(*dropped));
	if (nc->nservers > CONF_MAX_SERVERS) {
		snprintf(err, errlen, "too many servers");
		return -1;
	}
	memset(naddrs, 0, sizeof(naddrs));
	for (i = 0; i < nc->nservers; i++) {
		watch_addr(&nc->servers[i].service_ip, &naddrs[i]);
		names[i] = nc->servers[i].name;
		watch_health_params(&nc->servers[i], &hp[i]);
	}
	/* What is no longer watched ends now, under the old indices. */
	memset(&d, 0, sizeof(d));
	d.w = w;
	d.nc = nc;
	d.old_of_new = old_of_new;
	d.naddrs = naddrs;
	tcptrack_foreach(w->tcp, watch_reconf_drop_cb, &d);
	for (i = 0; i < d.n; i++) {
		if ((old = watch_server_of(w, &d.list[i]->server)) >= 0)
			dropped[old]++;
		watch_drop_conn(w, d.list[i]);
	}
	free(d.list);
	watch_filter(w, ofilter, sizeof(ofilter));
	/* Everything indexed by server, in the new order. */
	memset(consumer, 0, sizeof(consumer));
	memset(last_server, 0, sizeof(last_server));
	memset(released, 0, sizeof(released));
	for (i = 0; i < nc->nservers; i++) {
		if ((old = old_of_new[i]) < 0)
			continue;
		consumer[i] = w->consumer[old];
		last_server[i] = w->last_server[old];
		released[i] = w->released[old];
	}
	memcpy(w->addrs, naddrs, sizeof(naddrs));
	memcpy(w->consumer, consumer, sizeof(consumer));
	memcpy(w->last_server, last_server, sizeof(last_server));
	memcpy(w->released, released, sizeof(released));
	w->conf = nc;
	tcptrack_unwatch_all(w->tcp);
	for (i = 0; i < nc->nservers; i++)
		for (j = 0; j < nc->servers[i].nports; j++)
			tcptrack_watch(w->tcp, &w->addrs[i],
			    nc->servers[i].ports[j]);
	resume_set_conf(w->resume, nc);
	if (health_reconf(w->health, (int)nc->nservers, old_of_new, names,
	    naddrs, hp) != 0) {
		snprintf(err, errlen, "health: out of memory");
		return -1;
	}
	watch_filter(w, nfilter, sizeof(nfilter));
	if (w->cap != NULL && !w->offline && strcmp(ofilter, nfilter) != 0) {
		if (capture_refilter(w->cap, nfilter, err, errlen) != 0)
			return -1;
		log_info("capture filter now: %s", nfilter[0] != '\0' ?
		    nfilter : "(everything)");
	}
	return 0;
}

int
watch_start_live(struct watch *w, char *err, size_t errlen)
{
	char filter[4096];

	/* What was saved before a restart goes on (DESIGN.md 2). */
	if (w->resume != NULL) {
		(void)resume_restore(w->resume, w->tcp, w->ssh,
		    watch_ssh_tracked_cb, w, ev_now(w->loop));
		ev_timer_start(w->loop, &w->save);
	}
	watch_filter(w, filter, sizeof(filter));
	w->cap = capture_open_live(w->conf->interface, filter,
	    (size_t)w->conf->capture_buffer * 1024 * 1024, err, errlen);
	if (w->cap == NULL)
		return -1;
	if (capture_start(w->cap, w->loop, watch_frame, w) != 0) {
		snprintf(err, errlen, "%s: cannot poll the capture",
		    w->conf->interface);
		return -1;
	}
	w->st.live = 1;
	if (health_open_interface(w->health, w->conf->interface, err,
	    errlen) != 0)
		return -1;
	log_info("capturing on %s (buffer %u MiB), filter: %s",
	    w->conf->interface, w->conf->capture_buffer, filter);
	return 0;
}

long
watch_read_file(struct watch *w, const char *path, char *err, size_t errlen)
{
	char filter[4096];
	long n;

	w->offline = 1;
	watch_filter(w, filter, sizeof(filter));
	if ((w->cap = capture_open_file(path, filter, err, errlen)) == NULL)
		return -1;
	n = capture_read_all(w->cap, watch_frame, w);
	if (n < 0)
		snprintf(err, errlen, "%s: read error", path);
	return n;
}

void
watch_fini(struct watch *w)
{
	struct watch_mac *m, *n;
	size_t i;

	if (w == NULL)
		return;
	ev_timer_stop(w->loop, &w->expire);
	if (w->resume != NULL && ev_is_active(&w->save)) {
		/* The latest positions, for the next start. */
		ev_timer_stop(w->loop, &w->save);
		watch_save_all(w, 0);
	}
	w->stopping = 1;		/* shutting down ends nothing saved */
	capture_close(w->cap);
	if (w->keystore != NULL)
		keystore_set_listener(w->keystore, NULL, NULL);
	health_free(w->health);
	tcptrack_free(w->tcp);		/* ends every SSH state too */
	sshtrack_free(w->ssh);
	resume_free(w->resume);
	for (i = 0; i < WATCH_MAC_BUCKETS; i++)
		for (m = w->macs[i]; m != NULL; m = n) {
			n = m->next;
			free(m);
		}
	free(w);
}

struct watch_mem {
	size_t	bytes;
};

static void
watch_mem_cb(void *arg, struct tcptrack_conn *c)
{
	struct watch_mem *m = arg;

	m->bytes += tcptrack_conn_memory(c);
}

void
watch_stats(struct watch *w, struct watch_stats *st)
{
	struct capture_stats cs;
	struct watch_mem m = { 0 };

	*st = w->st;
	if (w->cap != NULL) {
		capture_stats(w->cap, &cs);
		st->kernel_drops = cs.kernel_drops;
		st->if_drops = cs.if_drops;
	}
	st->connections = tcptrack_count(w->tcp);
	tcptrack_foreach(w->tcp, watch_mem_cb, &m);
	st->memory = m.bytes;
}

enum health_state
watch_health(struct watch *w, size_t server, double *since, const char **why)
{
	return health_get(w->health, (int)server, since, why);
}

void
watch_force_dead(struct watch *w, size_t server, const char *why)
{
	health_force_dead(w->health, (int)server, why);
}

struct watch_iter {
	struct watch	*w;
	void		(*fn)(void *arg, size_t server,
			    struct tcptrack_conn *c);
	void		*arg;
};

static void
watch_iter_cb(void *arg, struct tcptrack_conn *c)
{
	struct watch_iter *it = arg;
	int srv = watch_server_of(it->w, &c->server);

	if (srv >= 0 && !it->w->released[srv])
		it->fn(it->arg, (size_t)srv, c);
}

struct sshtrack *
watch_sshtrack(struct watch *w)
{
	return w->ssh;
}

struct keystore *
watch_keystore(struct watch *w)
{
	return w->keystore;
}

void
watch_foreach_conn(struct watch *w,
    void (*fn)(void *arg, size_t server, struct tcptrack_conn *c), void *arg)
{
	struct watch_iter it = { w, fn, arg };

	tcptrack_foreach(w->tcp, watch_iter_cb, &it);
}

void
watch_set_consumer(struct watch *w, size_t server,
    const struct tcptrack_ops *ops, void *arg)
{
	if (server >= w->conf->nservers)
		return;
	w->consumer[server].ops = *ops;
	w->consumer[server].arg = arg;
	w->consumer[server].set = 1;
}

int
watch_ssh_tracked(struct watch *w, size_t server)
{
	return server < w->conf->nservers && !w->consumer[server].set;
}

double
watch_last_server_frame(struct watch *w, size_t server)
{
	return server < w->conf->nservers ? w->last_server[server] : 0;
}

struct watch_forget {
	struct watch	*w;
	size_t		 server;
	struct tcptrack_conn **list;
	size_t		 n, alloc;
};

static void
watch_forget_cb(void *arg, struct tcptrack_conn *c)
{
	struct watch_forget *f = arg;
	struct tcptrack_conn **n;

	if (watch_server_of(f->w, &c->server) != (int)f->server)
		return;
	if (f->n == f->alloc) {
		size_t na = f->alloc ? f->alloc * 2 : 64;

		if ((n = reallocarray(f->list, na, sizeof(*n))) == NULL)
			return;
		f->list = n;
		f->alloc = na;
	}
	f->list[f->n++] = c;
}

void
watch_release(struct watch *w, size_t server)
{
	struct watch_forget f = { w, server, NULL, 0, 0 };
	struct pkt_tcp rst;
	size_t i;

	if (server >= w->conf->nservers || w->released[server])
		return;
	w->released[server] = 1;
	health_pause(w->health, (int)server, 1, "");
	/*
	 * The tracker has no call to drop a connection: an RST from the
	 * client, at the sequence number it would use, ends each one through
	 * the usual path (the consumers free their state).
	 */
	tcptrack_foreach(w->tcp, watch_forget_cb, &f);
	for (i = 0; i < f.n; i++) {
		struct tcptrack_conn *c = f.list[i];

		memset(&rst, 0, sizeof(rst));
		rst.src = c->client;
		rst.sport = c->cport;
		rst.dst = c->server;
		rst.dport = c->sport;
		rst.seq = tcptrack_seq(c, TCPTRACK_C2S,
		    c->dir[TCPTRACK_C2S].delivered);
		rst.flags = PKT_RST;
		(void)tcptrack_feed(w->tcp, &rst, ev_now(w->loop));
	}
	free(f.list);
}

void
watch_unrelease(struct watch *w, size_t server, const char *why)
{
	if (server >= w->conf->nservers || !w->released[server])
		return;
	w->released[server] = 0;
	w->last_server[server] = 0;
	health_pause(w->health, (int)server, 0, why);
}

void
watch_health_reset(struct watch *w, size_t server, const char *why)
{
	if (server >= w->conf->nservers || w->released[server])
		return;
	health_pause(w->health, (int)server, 1, "");
	health_pause(w->health, (int)server, 0, why);
}

int
watch_released(struct watch *w, size_t server)
{
	return server < w->conf->nservers && w->released[server];
}
