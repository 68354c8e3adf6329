/*
 * daemon: what securejeebsd's main holds together, shared with the control
 * request handlers that report on it.
 */
#ifndef SJ_DAEMON_H
#define SJ_DAEMON_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "keystore.h"
#include "store.h"
#include "takeover.h"
#include "watch.h"

/* Per-server runtime state. */
struct daemon_server {
	const struct conf_server *conf;
	char		 state[16];	/* health state name */
	int64_t		 since_us;	/* when it entered that state */
	char		 why[160];	/* what made it so */
};

struct daemon {
	struct conf		*conf;
	struct store		*store;
	struct keystore_keys	 keys;		/* loaded once at start-up */
	struct keystore		*keystore;
	struct watch		*watch;
	struct takeover		*takeover;
	const char		*pcap_file;	/* -r: read this, not the interface */
	struct daemon_server	*servers;
	size_t			 nservers;
	int64_t			 started_us;
	double			 started_mono;
	uint64_t		 reloads;	/* applied since start */
	uint64_t		 reloads_failed;	/* refused */
};

/*
 * Call fn for every open connection `securejeebsctl connections` lists
 * (tracked, or with keys held), with its server's name, whether a takeover
 * now would recover it and, if not, why (report.c).
 */
typedef void (*daemon_protection_fn)(void *arg, const char *server, int ok,
    const char *why);
int	daemon_protection(struct daemon *d, daemon_protection_fn fn, void *arg);

/* Answer one control request (the control module's handler). */
int	daemon_control(void *arg, int ac, char **av, struct buf *out);

#endif
