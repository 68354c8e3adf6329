/*
 * fuzz_control: control-socket requests as securejeebsd answers them: the
 * bytes a client sent (up to the first newline, as control_read_cb() cuts
 * them), control_parse_request(), then the daemon's handler
 * daemon_control() on a daemon that has read tests/pcaps/ssh-keys.pcap
 * (-r mode, so `takeover` is refused rather than acted on), with its state
 * file in a temporary directory.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "fuzz.h"
#include "keystore.h"
#include "log.h"
#include "store.h"
#include "takeover.h"
#include "watch.h"

static struct daemon d;
static char dir[] = "/tmp/sj-fuzz-control-XXXXXX";

static void
health_cb(void *arg, size_t server, enum health_state from,
    enum health_state to, const char *why)
{
	(void)arg;
	(void)server;
	(void)from;
	(void)to;
	(void)why;
}

static void
cleanup(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/state.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-shm", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-journal", dir);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ev_loop *loop;
	char text[1024], err[512], pcap[4096];
	size_t i;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp", __FILE__, __LINE__);
	atexit(cleanup);
	log_init("fuzz_control", 1, 0);
	snprintf(text, sizeof(text),
	    "interface lo\n"
	    "state_file %s/state.db\n"
	    "control_socket %s/control.sock\n"
	    "export_listen none\n"
	    "server web1 {\n"
	    "    service_ip 198.18.0.2\n"
	    "    ports 22\n"
	    "    fence none\n"
	    "}\n", dir, dir);
	if (conf_parse(text, strlen(text), "fuzz.conf", &d.conf, err,
	    sizeof(err)) != 0)
		fuzz_fail(err, __FILE__, __LINE__);
	if (store_open(d.conf->state_file, &d.store, err, sizeof(err)) != 0)
		fuzz_fail(err, __FILE__, __LINE__);
	loop = ev_default_loop(EVFLAG_AUTO);
	d.started_us = store_now_us();
	d.started_mono = ev_time();
	d.nservers = d.conf->nservers;
	if ((d.servers = calloc(d.nservers, sizeof(*d.servers))) == NULL)
		fuzz_fail("calloc", __FILE__, __LINE__);
	for (i = 0; i < d.nservers; i++) {
		d.servers[i].conf = &d.conf->servers[i];
		snprintf(d.servers[i].state, sizeof(d.servers[i].state),
		    "unknown");
		d.servers[i].since_us = d.started_us;
	}
	if (keystore_open(d.store, d.conf, &d.keys, &d.keystore) !=
	    KEYSTORE_OK)
		fuzz_fail("keystore_open", __FILE__, __LINE__);
	if (watch_init(loop, d.conf, d.keystore, health_cb, &d, &d.watch, err,
	    sizeof(err)) != 0)
		fuzz_fail(err, __FILE__, __LINE__);
	if ((d.takeover = takeover_new(loop, d.conf, d.store, d.watch)) ==
	    NULL)
		fuzz_fail("takeover_new", __FILE__, __LINE__);
	snprintf(pcap, sizeof(pcap), "%s/tests/pcaps/ssh-keys.pcap",
	    fuzz_top());
	d.pcap_file = "ssh-keys.pcap";
	if (watch_read_file(d.watch, pcap, err, sizeof(err)) < 0)
		fuzz_fail(err, __FILE__, __LINE__);
	store_put_event(d.store, "web1", "fuzz", "an event for `events`");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char req[CONTROL_MAX_REQUEST], *av[CONTROL_MAX_ARGS], *nl;
	const char *why = NULL;
	struct buf body;
	size_t n;
	int ac, r;

	/* control_read_cb(): at most CONTROL_MAX_REQUEST - 1 bytes. */
	n = size < sizeof(req) - 1 ? size : sizeof(req) - 1;
	memcpy(req, data, n);
	req[n] = '\0';
	if ((nl = memchr(req, '\n', n)) == NULL)
		return 0;		/* no request yet */
	*nl = '\0';
	if ((ac = control_parse_request(req, av, CONTROL_MAX_ARGS,
	    &why)) < 0) {
		FUZZ_CHECK(why != NULL);
		return 0;
	}
	FUZZ_CHECK(ac > 0 && ac <= CONTROL_MAX_ARGS);
	buf_init(&body, CONTROL_MAX_REPLY);
	r = daemon_control(&d, ac, av, &body);
	FUZZ_CHECK(r == 0 || r == -1);
	buf_free(&body);
	return 0;
}
