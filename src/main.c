/*
 * securejeebsd: the SecureJeebs daemon.  main() reads the configuration,
 * opens the state file, wires the modules together and owns the single
 * libev loop; modules never run loops of their own.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "export.h"
#include "keystore.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "seal.h"
#include "store.h"
#include "takeover.h"
#include "version.h"

#define DEFAULT_CONFIG	"/etc/securejeebs/jeebs.conf"
#define HOUSEKEEPING_INTERVAL	60.0	/* seconds */

static void
usage(void)
{
	fprintf(stderr, "usage: securejeebsd [-dft] [-c config_file] "
	    "[-r pcap_file]\n"
	    "       securejeebsd -V\n");
	exit(2);
}

static void
sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_notice("received %s, shutting down", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Reload (SIGHUP, systemctl reload): see securejeebsd(8), SIGNALS.  The new
 * file is read and checked whole; then either all of it is applied, or
 * none of it.  What a running daemon cannot change without re-opening
 * what holds it (the interface, the state file, the keys, the sockets)
 * makes the reload refused, with the reason and "restart needed".
 */

/* The settings only a restart applies; "" if none of them changed. */
static void
reload_restart_only(const struct conf *o, const struct conf *n, char *why,
    size_t len)
{
	size_t used = 0;

#define RELOAD_DIFF(cond, name) do {					\
	if ((cond) && used < len)					\
		used += (size_t)snprintf(why + used, len - used, "%s%s",	\
		    used > 0 ? ", " : "", name);				\
} while (0)
	why[0] = '\0';
	RELOAD_DIFF(strcmp(o->interface, n->interface) != 0, "interface");
	RELOAD_DIFF(strcmp(o->state_file, n->state_file) != 0, "state_file");
	RELOAD_DIFF(strcmp(o->recovery_key, n->recovery_key) != 0,
	    "recovery_key");
	RELOAD_DIFF(strcmp(o->control_socket, n->control_socket) != 0,
	    "control_socket");
	RELOAD_DIFF(o->export_enabled != n->export_enabled ||
	    (n->export_enabled && (o->export_port != n->export_port ||
	    !conf_addr_equal(&o->export_addr, &n->export_addr))),
	    "export_listen");
	RELOAD_DIFF(o->capture_buffer != n->capture_buffer, "capture_buffer");
#undef RELOAD_DIFF
}

/* What changed for one kept server, as words for the log. */
static void
reload_server_changes(const struct conf_server *o, const struct conf_server *n,
    char *buf, size_t len)
{
	size_t used = 0;
	int ports_same = o->nports == n->nports &&
	    memcmp(o->ports, n->ports, sizeof(o->ports[0]) *
	    (size_t)o->nports) == 0;

#define RELOAD_CHANGED(cond, name) do {					\
	if ((cond) && used < len)					\
		used += (size_t)snprintf(buf + used, len - used, "%s%s",	\
		    used > 0 ? " " : "", name);				\
} while (0)
#define RELOAD_STR_NE(a, b) (((a) == NULL) != ((b) == NULL) ||		\
	    ((a) != NULL && strcmp((a), (b)) != 0))
	buf[0] = '\0';
	RELOAD_CHANGED(!conf_addr_equal(&o->service_ip, &n->service_ip),
	    "service_ip");
	RELOAD_CHANGED(!ports_same, "port");
	RELOAD_CHANGED(o->dead_after != n->dead_after, "dead_after");
	RELOAD_CHANGED(o->probe_interval != n->probe_interval,
	    "probe_interval");
	RELOAD_CHANGED(o->probe_timeout != n->probe_timeout, "probe_timeout");
	RELOAD_CHANGED(o->probe_tries != n->probe_tries, "probe_tries");
	RELOAD_CHANGED(o->probe_methods != n->probe_methods, "probe");
	RELOAD_CHANGED(RELOAD_STR_NE(o->fence, n->fence) ||
	    o->fence_none != n->fence_none, "fence");
	RELOAD_CHANGED(o->fence_timeout != n->fence_timeout, "fence_timeout");
	RELOAD_CHANGED(strcmp(o->failback_for, n->failback_for) != 0,
	    "failback_for");
	RELOAD_CHANGED(o->recover != n->recover ||
	    RELOAD_STR_NE(o->recover_command, n->recover_command), "recover");
	RELOAD_CHANGED(RELOAD_STR_NE(o->signing_key, n->signing_key),
	    "signing_key");
	RELOAD_CHANGED(o->nexport_from != n->nexport_from ||
	    memcmp(o->export_from, n->export_from, sizeof(o->export_from[0]) *
	    (size_t)o->nexport_from) != 0, "export_from");
	RELOAD_CHANGED(RELOAD_STR_NE(o->ssh.sshd, n->ssh.sshd) ||
	    RELOAD_STR_NE(o->ssh.sshd_config, n->ssh.sshd_config) ||
	    RELOAD_STR_NE(o->ssh.notice, n->ssh.notice) ||
	    o->ssh.rerun_exec != n->ssh.rerun_exec ||
	    o->ssh.replay_timeout != n->ssh.replay_timeout, "recovery_sshd");
#undef RELOAD_STR_NE
#undef RELOAD_CHANGED
}

static void
reload_refuse(struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reload_refuse(struct daemon *d, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("reload refused, keeping the running configuration: %s",
	    msg);
	store_put_event(d->store, NULL, "reload-refused", "%s", msg);
	d->reloads_failed++;
	notify_ready("reload refused; running configuration kept");
}

static void
daemon_reload(struct daemon *d)
{
	struct conf *nc, *oc = d->conf;
	struct keystore_keys nk;
	struct daemon_server *ns;
	size_t dropped[CONF_MAX_SERVERS], i, changed = 0, added = 0,
	    removed = 0, forgotten = 0;
	int old_of_new[CONF_MAX_SERVERS], kept[CONF_MAX_SERVERS], j, r;
	char err[1024], what[512];

	notify_reloading();
	log_notice("reload: reading %s", oc->path);
	if (conf_load(oc->path, &nc, err, sizeof(err)) != 0) {
		reload_refuse(d, "%s", err);
		return;
	}
	reload_restart_only(oc, nc, what, sizeof(what));
	if (what[0] != '\0') {
		reload_refuse(d, "%s changed: a restart is needed to apply "
		    "%s (systemctl restart securejeebsd)", what,
		    strchr(what, ',') != NULL ? "them" : "it");
		conf_free(nc);
		return;
	}
	/* Servers are matched by name: a renamed one is removed and added. */
	memset(kept, 0, sizeof(kept));
	for (i = 0; i < nc->nservers; i++) {
		old_of_new[i] = conf_server_index(oc, nc->servers[i].name);
		if (old_of_new[i] >= 0)
			kept[old_of_new[i]] = 1;
	}
	if (d->takeover != NULL && takeover_reconf_check(d->takeover, nc,
	    old_of_new, err, sizeof(err)) != 0) {
		reload_refuse(d, "%s: a restart is needed to apply it", err);
		conf_free(nc);
		return;
	}
	if (keystore_keys_load(nc, &nk, err, sizeof(err)) != 0) {
		reload_refuse(d, "%s", err);
		conf_free(nc);
		return;
	}
	if ((ns = calloc(nc->nservers > 0 ? nc->nservers : 1,
	    sizeof(*ns))) == NULL) {
		keystore_keys_free(&nk);
		reload_refuse(d, "out of memory");
		conf_free(nc);
		return;
	}

	/* From here on the new configuration is applied, all of it. */
	if (d->watch != NULL && watch_reconf(d->watch, nc, old_of_new,
	    dropped, err, sizeof(err)) != 0)
		log_error("reload: capture: %s", err);
	if (d->watch == NULL)
		memset(dropped, 0, sizeof(dropped));
	if ((r = keystore_reconf(d->keystore, nc, old_of_new)) > 0)
		forgotten = (size_t)r;
	/* The recovery key stays (recovery_key is restart-only). */
	seal_key_free(nk.recovery);
	nk.recovery = d->keys.recovery;
	for (i = 0; i < CONF_MAX_SERVERS; i++)
		seal_key_free(d->keys.signing[i]);
	d->keys = nk;
	export_set_conf(nc);
	if (d->takeover != NULL)
		takeover_reconf(d->takeover, nc, old_of_new);
	for (i = 0; i < oc->nservers; i++) {
		if (kept[i])
			continue;
		removed++;
		log_notice("reload: server %s removed: %zu tracked "
		    "connections dropped, no longer protected",
		    oc->servers[i].name, dropped[i]);
		store_put_event(d->store, oc->servers[i].name,
		    "server-removed", "reload: no longer watched; %zu tracked "
		    "connections dropped", dropped[i]);
	}
	for (i = 0; i < nc->nservers; i++) {
		const struct conf_server *s = &nc->servers[i];

		ns[i].conf = s;
		if ((j = old_of_new[i]) < 0) {
			added++;
			snprintf(ns[i].state, sizeof(ns[i].state), "unknown");
			snprintf(ns[i].why, sizeof(ns[i].why),
			    "no traffic seen yet");
			ns[i].since_us = store_now_us();
			store_put_server_state(d->store, s->name, ns[i].state,
			    ns[i].since_us);
			log_notice("reload: server %s added", s->name);
			store_put_event(d->store, s->name, "server-added",
			    "reload: now watched");
			continue;
		}
		memcpy(ns[i].state, d->servers[j].state, sizeof(ns[i].state));
		memcpy(ns[i].why, d->servers[j].why, sizeof(ns[i].why));
		ns[i].since_us = d->servers[j].since_us;
		reload_server_changes(&oc->servers[j], s, what, sizeof(what));
		if (what[0] == '\0')
			continue;
		changed++;
		if (dropped[j] > 0)
			snprintf(err, sizeof(err), "; %zu tracked connections "
			    "no longer watched were dropped", dropped[j]);
		else
			err[0] = '\0';
		log_notice("reload: server %s: %s changed%s", s->name, what,
		    err);
		store_put_event(d->store, s->name, "server-changed",
		    "reload: %s%s", what, err);
	}
	free(d->servers);
	d->servers = ns;
	d->nservers = nc->nservers;
	d->conf = nc;
	conf_free(oc);
	if (metrics_reconf(d) != 0)
		log_error("reload: metrics: see above; the rest is applied");
	keystore_keys_check(d->conf, &d->keys);
	takeover_conf_check(d->conf);
	d->reloads++;
	snprintf(what, sizeof(what), "%zu servers: %zu added, %zu removed, "
	    "%zu changed", nc->nservers, added, removed, changed);
	if (forgotten > 0)
		log_info("reload: %zu export connections of removed servers "
		    "forgotten in memory", forgotten);
	log_notice("reload: applied %s (%s)", nc->path, what);
	store_put_event(d->store, NULL, "reload", "%s", what);
	notify_ready(what);
}

static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	daemon_reload(w->data);
}

static void
housekeeping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	keystore_expire(d->keystore, time(NULL));
}

/*
 * The keys, once, before anything else: with export_listen set, a daemon
 * that cannot open records must not pretend to protect anything.
 */
static int
daemon_keys_load(struct daemon *d)
{
	char err[512];

	if (keystore_keys_load(d->conf, &d->keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "securejeebsd: %s\n"
		    "securejeebsd: export_listen is set, so the keys that "
		    "open export records must be usable (securejeebsctl keygen "
		    "makes them; export_listen none turns the export off)\n",
		    err);
		return -1;
	}
	return 0;
}

static int
daemon_servers_init(struct daemon *d)
{
	size_t i;
	int r;

	d->nservers = d->conf->nservers;
	if ((d->servers = calloc(d->nservers, sizeof(*d->servers))) == NULL)
		return -1;
	for (i = 0; i < d->nservers; i++) {
		struct daemon_server *s = &d->servers[i];

		s->conf = &d->conf->servers[i];
		r = store_get_server_state(d->store, s->conf->name, s->state,
		    sizeof(s->state), &s->since_us);
		/* Health is re-learnt from the wire after every start. */
		if (r == 1 && strcmp(s->state, "unknown") != 0)
			log_info("%s: was %s before this start", s->conf->name,
			    s->state);
		snprintf(s->state, sizeof(s->state), "unknown");
		snprintf(s->why, sizeof(s->why), "no traffic seen yet");
		s->since_us = d->started_us;
		store_put_server_state(d->store, s->conf->name, s->state,
		    s->since_us);
	}
	return 0;
}

/* The health of a server changed: remember, record, log. */
static void
daemon_health_cb(void *arg, size_t server, enum health_state from,
    enum health_state to, const char *why)
{
	struct daemon *d = arg;
	struct daemon_server *s = &d->servers[server];

	snprintf(s->state, sizeof(s->state), "%s", health_state_str(to));
	snprintf(s->why, sizeof(s->why), "%s", why);
	s->since_us = store_now_us();
	store_put_server_state(d->store, s->conf->name, s->state, s->since_us);
	store_put_event(d->store, s->conf->name, health_state_str(to),
	    "%s (was %s)", why, health_state_str(from));
	log_msg(to == HEALTH_DEAD ? LOG_ERR : to == HEALTH_SUSPECT ?
	    LOG_WARNING : LOG_NOTICE, "%s: %s -> %s: %s", s->conf->name,
	    health_state_str(from), health_state_str(to), why);
	if (to == HEALTH_DEAD)
		takeover_dead(d->takeover, server, why);
}

static int
daemon_watch_start(struct daemon *d, struct ev_loop *loop)
{
	char err[512];
	long n;

	if (watch_init(loop, d->conf, d->keystore, daemon_health_cb, d,
	    &d->watch, err, sizeof(err)) != 0) {
		log_error("cannot set up the capture: %s", err);
		return -1;
	}
	if ((d->takeover = takeover_new(loop, d->conf, d->store,
	    d->watch)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	if (d->pcap_file == NULL) {
		if (watch_start_live(d->watch, err, sizeof(err)) != 0) {
			log_error("cannot capture: %s", err);
			return -1;
		}
		takeover_start(d->takeover);
		return 0;
	}
	if ((n = watch_read_file(d->watch, d->pcap_file, err,
	    sizeof(err))) < 0) {
		log_error("cannot read %s: %s", d->pcap_file, err);
		return -1;
	}
	log_notice("read %ld frames from %s; not capturing live", n,
	    d->pcap_file);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	struct daemon d;
	struct ev_loop *loop;
	ev_signal sigterm, sigint, sighup;
	ev_timer housekeeping;
	char err[512];
	int ch, r, foreground = 0, debug = 0, test_only = 0;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt(argc, argv, "c:dfr:tV")) != -1) {
		switch (ch) {
		case 'r':
			d.pcap_file = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			test_only = 1;
			break;
		case 'V':
			printf("securejeebsd %s\n", SJ_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	umask(077);
	if (conf_load(config, &d.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "securejeebsd: %s\n", err);
		return 1;
	}
	if (daemon_keys_load(&d) != 0) {
		conf_free(d.conf);
		return 1;
	}
	if (test_only) {
		keystore_keys_check(d.conf, &d.keys);
		takeover_conf_check(d.conf);
		printf("%s: configuration OK (%zu servers)\n", config,
		    d.conf->nservers);
		keystore_keys_free(&d.keys);
		conf_free(d.conf);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "securejeebsd: must run as root\n");
		return 1;
	}
	log_init("securejeebsd", foreground, debug);
	keystore_keys_check(d.conf, &d.keys);
	takeover_conf_check(d.conf);
	if (store_open(d.conf->state_file, &d.store, err, sizeof(err)) != 0) {
		log_error("cannot open state file: %s", err);
		return 1;
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	d.started_us = store_now_us();
	d.started_mono = ev_time();
	if (daemon_servers_init(&d) != 0) {
		log_error("out of memory");
		return 1;
	}
	if ((r = keystore_open(d.store, d.conf, &d.keys, &d.keystore)) !=
	    KEYSTORE_OK) {
		log_error("cannot load the export state: %s",
		    keystore_strerror(r));
		return 1;
	}
	if (export_init(loop, d.conf, &d.keys, d.keystore) != 0)
		return 1;
	if (!d.conf->export_enabled)
		log_notice("export_listen none: no export records are "
		    "received, no connection can be recovered");
	ev_timer_init(&housekeeping, housekeeping_cb, HOUSEKEEPING_INTERVAL,
	    HOUSEKEEPING_INTERVAL);
	housekeeping.data = &d;
	ev_timer_start(loop, &housekeeping);
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&sigterm, sigterm_cb, SIGTERM);
	ev_signal_init(&sigint, sigterm_cb, SIGINT);
	ev_signal_init(&sighup, sighup_cb, SIGHUP);
	sighup.data = &d;
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sighup);
	if (daemon_watch_start(&d, loop) != 0)
		return 1;
	if (control_init(loop, d.conf->control_socket, daemon_control,
	    &d) != 0)
		return 1;
	/* Metrics that cannot be served are logged; protection goes on. */
	(void)metrics_init(loop, &d);

	log_notice("securejeebsd %s started: %zu servers, interface %s, "
	    "state %s (schema %d), control %s", SJ_VERSION, d.nservers,
	    d.conf->interface, d.conf->state_file,
	    store_schema_version(d.store), d.conf->control_socket);
	store_put_event(d.store, NULL, "daemon-start", "securejeebsd %s, "
	    "pid %ld", SJ_VERSION, (long)getpid());

	snprintf(err, sizeof(err), "watching %zu servers on %s", d.nservers,
	    d.pcap_file != NULL ? d.pcap_file : d.conf->interface);
	notify_ready(err);
	ev_run(loop, 0);

	notify_stopping();
	metrics_fini();
	control_fini();
	takeover_free(d.takeover);
	watch_fini(d.watch);
	export_fini();
	ev_timer_stop(loop, &housekeeping);
	keystore_close(d.keystore);
	keystore_keys_free(&d.keys);
	store_put_event(d.store, NULL, "daemon-stop", "clean shutdown");
	store_close(d.store);
	free(d.servers);
	conf_free(d.conf);
	log_notice("stopped");
	log_fini();
	ev_loop_destroy(loop);
	return 0;
}
