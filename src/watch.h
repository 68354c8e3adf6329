/*
 * watch: the daemon's eyes.  It owns the capture, the TCP tracker and the
 * health watcher, feeds every captured frame through them, and tells main
 * when a server's health changes.  It only watches; acting is recovery's.
 */
#ifndef SJ_WATCH_H
#define SJ_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "health.h"
#include "keystore.h"
#include "sshtrack.h"
#include "tcptrack.h"

struct watch;

/* A server's health changed: from and to are health_state_str() names. */
typedef void (*watch_health_cb)(void *arg, size_t server,
    enum health_state from, enum health_state to, const char *why);

struct watch_stats {
	uint64_t	frames;		/* handed over by the capture */
	uint64_t	tcp;		/* of the watched services */
	uint64_t	other;		/* not TCP of a watched service */
	uint64_t	malformed;	/* refused by the decoder */
	uint64_t	fragments;
	uint64_t	kernel_drops;	/* capture ring buffer full */
	uint64_t	if_drops;	/* dropped by the interface */
	size_t		connections;	/* tracked now */
	size_t		memory;		/* bytes held by tracked connections */
	int		live;		/* capturing an interface (not a file) */
};

/*
 * Set up for c (no capture yet): the SSH tracker takes its keys from ks
 * (NULL: none); health changes go to cb.
 */
int	watch_init(struct ev_loop *loop, const struct conf *c,
	    struct keystore *ks, watch_health_cb cb, void *arg,
	    struct watch **out, char *err, size_t errlen);
/* Capture the configured interface and start probing. */
int	watch_start_live(struct watch *w, char *err, size_t errlen);
/* Read a pcap file through the trackers instead; the frame count or -1. */
long	watch_read_file(struct watch *w, const char *path, char *err,
	    size_t errlen);
/*
 * A reload: watch the servers of nc from now on (old_of_new[i]: the old
 * index of nc's server i, or -1).  Tracked connections of a service that
 * is no longer watched, or whose server is gone, are dropped, and counted
 * in dropped[] by old index; every other connection, the capture and the
 * health of kept servers go on.  The capture filter is replaced if it
 * changed.  Call before anything else sees nc's indices.
 */
int	watch_reconf(struct watch *w, const struct conf *nc,
	    const int *old_of_new, size_t dropped[CONF_MAX_SERVERS],
	    char *err, size_t errlen);
/* Stop everything and free. */
void	watch_fini(struct watch *w);
/* Counters for status. */
void	watch_stats(struct watch *w, struct watch_stats *st);
/* A server's health. */
enum health_state watch_health(struct watch *w, size_t server,
	    double *since, const char **why);
/* Declare a server dead now (a forced takeover drill). */
void	watch_force_dead(struct watch *w, size_t server, const char *why);
/* The SSH tracker, for reports on its connections. */
struct sshtrack *watch_sshtrack(struct watch *w);
/* The keystore it was given (NULL without export). */
struct keystore *watch_keystore(struct watch *w);
/* Call fn for every tracked connection, with its server's index. */
void	watch_foreach_conn(struct watch *w,
	    void (*fn)(void *arg, size_t server, struct tcptrack_conn *c),
	    void *arg);
/*
 * Hand server's connections to ops (with arg) instead of the SSH tracker:
 * a service that is not SSH, recovered otherwise (recover exec).  Before
 * capturing starts.
 */
void	watch_set_consumer(struct watch *w, size_t server,
	    const struct tcptrack_ops *ops, void *arg);
/* Whether server's connections go to the SSH tracker. */
int	watch_ssh_tracked(struct watch *w, size_t server);
/*
 * The source MAC of the latest frame from peer address a to a service (a
 * router's, for a client behind one): 0, or -1 if none was seen.
 */
int	watch_peer_mac(struct watch *w, const struct pkt_addr *a,
	    uint8_t mac[6]);
/* Capture time of the latest frame from server (0: none seen). */
double	watch_last_server_frame(struct watch *w, size_t server);
/*
 * This host owns server's address now: forget its connections and ignore
 * its frames from here on (they are this host's own), health included.
 */
void	watch_release(struct watch *w, size_t server);
/*
 * The address left this host (a drain took it back, docs/drain.md
 * "Failback"): watch server again, its health from unknown (why says why).
 */
void	watch_unrelease(struct watch *w, size_t server, const char *why);
/*
 * Forget what health knew of server: unknown again (why says why), seen
 * alive before it can be declared dead.  A drain that moved nothing: the
 * address was away for a moment, which is no death.
 */
void	watch_health_reset(struct watch *w, size_t server, const char *why);
/* Whether watch_release() was called for server. */
int	watch_released(struct watch *w, size_t server);

#endif
