/*
 * health: is each protected server alive?  Death is declared only when the
 * evidence agrees (DESIGN.md section 3): client data has gone unanswered for
 * dead_after, no frame from the server has been seen for as long, and a
 * confirmation probe (a unicast ARP request to the server's MAC, or a TCP
 * SYN to its service port) gets no answer.  Idle servers are probed
 * periodically.  A lossy capture alone never kills a server: the probe
 * answers for it.
 */
#ifndef SJ_HEALTH_H
#define SJ_HEALTH_H

#include <stdint.h>

#include <ev.h>

#include "pkt.h"

enum health_state {
	HEALTH_UNKNOWN,		/* never seen alive: never declared dead */
	HEALTH_ALIVE,
	HEALTH_SUSPECT,		/* evidence of death, probe under way */
	HEALTH_DEAD,		/* declared; what follows is the takeover's */
};

#define HEALTH_PROBE_ARP	0x1
#define HEALTH_PROBE_TCP	0x2

/* Per-server thresholds, in milliseconds. */
struct health_params {
	double		dead_after;	/* unanswered client data, server silence */
	double		probe_interval;	/* probe a server silent this long */
	double		probe_timeout;	/* wait this long for a probe answer */
	int		probe_tries;	/* probes before a suspect is dead */
	int		probe_methods;	/* HEALTH_PROBE_* */
	uint16_t	probe_port;	/* TCP probe target */
};

/* A state change, for the daemon to log, store and act on. */
typedef void (*health_change_cb)(void *arg, int server,
    enum health_state from, enum health_state to, const char *why);

/*
 * A probe: start one (return 0, or -1 if it cannot be sent) and report its
 * answer with health_probe_answer().  The real one sends ARP or TCP; unit
 * tests plug in their own.
 */
struct health_prober {
	int	(*start)(void *arg, int server, int method);
	void	*arg;
};

struct health;

/* Create the health watcher on loop; changes go to cb. */
struct health *health_new(struct ev_loop *loop, health_change_cb cb,
	    void *arg);
/* Free it (stops every timer). */
void	health_free(struct health *h);
/* Fill p with the defaults. */
void	health_params_default(struct health_params *p);
/* Add a server; returns its index. */
int	health_add_server(struct health *h, const char *name,
	    const struct pkt_addr *addr, const struct health_params *p);
/*
 * A reload: the servers become n new ones (names, addrs, params by new
 * index); old_of_new[i] is the old index of new server i, or -1 for a new
 * one.  A kept server at the same address keeps its state and evidence
 * (a probe round under way starts again with the new thresholds); any
 * other starts unknown.  -1 (nothing changed) if n is too large.
 */
int	health_reconf(struct health *h, int n, const int *old_of_new,
	    const char *const *names, const struct pkt_addr *addrs,
	    const struct health_params *params);
/* Use prober instead of the built-in ARP/TCP one. */
void	health_set_prober(struct health *h, const struct health_prober *pr);
/* Send real probes on interface ifname (ARP needs it). */
int	health_open_interface(struct health *h, const char *ifname,
	    char *err, size_t errlen);
/*
 * A captured frame of server: from_server says its direction; wants_answer
 * that it is client data or a SYN the server must answer; mac is the
 * server's MAC (NULL if unknown); ts the capture time (ev_time() clock).
 */
void	health_frame(struct health *h, int server, int from_server,
	    int wants_answer, const uint8_t *mac, double ts);
/* The answer to a probe of server (alive = 1), from a prober. */
void	health_probe_answer(struct health *h, int server, int alive,
	    const char *how);
/* Current state, when it was entered, and a line of detail. */
enum health_state health_get(const struct health *h, int server,
	    double *since, const char **why);
/* Text for a state. */
const char *health_state_str(enum health_state s);
/*
 * paused 1: this host holds the server's address (a takeover, or its own
 * service address): no evidence, no probes, its state stays as it is.
 * paused 0: watch it again from nothing: unknown (why says why), so it
 * must be seen alive before it can be declared dead.
 */
void	health_pause(struct health *h, int server, int paused,
	    const char *why);
/* Declare a server dead now, without evidence (a forced takeover drill). */
void	health_force_dead(struct health *h, int server, const char *why);

#endif
