/*
 * securejeebsd: the SecureJeebs daemon.  main() reads the configuration,
 * opens the state file, wires the modules together and owns the single
 * libev loop; modules never run loops of their own.
 */
#include <errno.h>
#include <signal.h>
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
#include "notify.h"
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

static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct conf *c;
	char err[512];

	(void)loop;
	(void)revents;
	if (conf_load(d->conf->path, &c, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the running "
		    "configuration: %s", err);
		store_put_event(d->store, NULL, "reload-refused", "%s", err);
		return;
	}
	conf_free(c);
	log_warn("reload: %s is valid, but this version applies changes "
	    "only at restart", d->conf->path);
	store_put_event(d->store, NULL, "reload-deferred",
	    "configuration valid; applied at next restart");
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
