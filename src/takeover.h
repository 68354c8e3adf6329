/*
 * takeover: what the daemon does when a server dies (DESIGN.md 4), the glue
 * between health (which says when), watch (which knows the connections)
 * and recovery/ (which acts): fence the server, rebuild every connection
 * with TCP_REPAIR, take over the address, reset what cannot be rebuilt and
 * hand each rebuilt connection to its own program (recover exec) or to
 * jeebs-replay and the recovery sshd (recover ssh), a bounded number at a
 * time; every phase is timed, stored and reported.
 */
#ifndef SJ_TAKEOVER_H
#define SJ_TAKEOVER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "conf.h"
#include "drainrec.h"
#include "rebuild.h"
#include "seal.h"
#include "sshtrack.h"
#include "store.h"
#include "watch.h"

struct takeover;

/*
 * Set up for the servers of c: servers recovered by a program of their own
 * (recover exec) get the plain-TCP hold in w; the others' connections stay
 * with the SSH tracker (recover ssh needs it).  Before capturing starts.
 */
struct takeover *takeover_new(struct ev_loop *loop, const struct conf *c,
	    struct store *st, struct watch *w);
/*
 * Capturing live: open the interface for the takeovers to come, and leave
 * alone any server whose address this host holds already (an earlier
 * takeover, before a restart).
 */
void	takeover_start(struct takeover *t);
/* Free (the programs it started go on running). */
void	takeover_free(struct takeover *t);
/*
 * A reload to nc (old_of_new[i]: the old index of nc's server i, or -1).
 * takeover_reconf_check(): 0 if it can be applied live, else -1 with the
 * reason (a takeover has begun and the servers change; a server changes
 * to or from recover exec).  takeover_reconf(): apply it (after
 * watch_reconf()); the new thresholds, fence and recovery settings hold
 * from the next takeover on.
 */
int	takeover_reconf_check(struct takeover *t, const struct conf *nc,
	    const int *old_of_new, char *why, size_t whylen);
void	takeover_reconf(struct takeover *t, const struct conf *nc,
	    const int *old_of_new);
/* Log what in c means a server will never be taken over. */
void	takeover_conf_check(const struct conf *c);
/* Health declared server dead, for this reason: take it over if configured. */
void	takeover_dead(struct takeover *t, size_t server, const char *why);
/*
 * securejeebsctl takeover: declare server dead now and take it over.  0
 * with a line for the operator in out, or -1 with the reason in out.
 */
int	takeover_force(struct takeover *t, size_t server, struct buf *out);
/*
 * securejeebsctl drain: run the server's drain_command, collect the
 * sessions' drain records, then take the server over from them
 * (docs/drain.md).  0 with a line in out, or -1 with the reason.
 */
int	takeover_drain(struct takeover *t, size_t server, struct buf *out);
/* The drain's progress and, once over, each connection's fate. */
int	takeover_drain_status(struct takeover *t, size_t server,
	    struct buf *out);
/*
 * The takeover state of server ("fencing", "fence-failed", "fenced",
 * "handing-off", "taken-over", "takeover-failed"), when it was entered and
 * why; NULL if no takeover has begun since the daemon started.
 */
const char *takeover_state(struct takeover *t, size_t server,
	    int64_t *since_us, const char **why);

/*
 * recover ssh, one connection (the pieces the takeover uses, exposed for
 * unit tests).  takeover_ssh_prepare(): whether c can be recovered with
 * the recovery sshd (TCP and SSH tracking protectable, the keys of the KEX
 * in force held, an attested login, no compression, no key exchange under
 * way, the channels at the resume point representable), its repair plan
 * (receive queue from the client resume point, send queue up to the end of
 * the last whole server packet) and its recovery package, encoded into pkg
 * (docs/recovery-format.md; pkg should be secret).  0, or -1 with the reason
 * (the connection is to be reset) and nothing to free.  p and pkg NULL:
 * only whether it could be (for reports).
 */
struct takeover_ssh_info {
	uint64_t	 resume_off[2];	/* c2s resume point, s2c packet end */
	size_t		 messages;	/* log entries in the package */
	size_t		 replayed;	/* of them, the client's */
	size_t		 channels;
};

int	takeover_ssh_prepare(struct sshtrack *st, const struct tcptrack_conn *c,
	    const struct conf_server *cs, double now, struct rebuild_plan *p,
	    struct buf *pkg, struct takeover_ssh_info *info, char *why,
	    size_t whylen);

/*
 * recover ssh, one connection drained with an SJD2 state (docs/drain.md):
 * the package from d and the key record rec alone (the versions, host key
 * algorithm, strict KEX and setup log from d; the keys, session_id, KEX
 * algorithm and attested login from rec, which must be of d's KEX), and the
 * socket from d's TCP state between service:sport and client:cport.  No
 * capture involved: the connection may have been picked up mid-stream, or
 * not seen at all.  arrived: ev_time() when d was complete.  0, or -1 with
 * the reason; pkg NULL: not encoded.
 */
int	takeover_ssh_prepare_sjd2(const struct drainrec *d,
	    const struct seal_keyrec *rec, const struct conf_server *cs,
	    const struct pkt_addr *client, uint16_t cport,
	    const struct pkt_addr *service, uint16_t sport, double arrived,
	    double now, struct rebuild_plan *p, struct buf *pkg,
	    struct takeover_ssh_info *info, char *why, size_t whylen);

/*
 * jeebs-replay's report line (without its newline): 1, `ok` (r filled in;
 * r->complete if every number was there, else why says so); 0, `fail
 * REASON` (the reason in why, control characters replaced); -1, neither
 * (why says what is wrong).
 */
struct takeover_ssh_report {
	int		 complete;
	int64_t		 sshd_pid, sshd_us, replay_us, cutover_us, messages;
};

int	takeover_ssh_report_parse(const char *line,
	    struct takeover_ssh_report *r, char *why, size_t whylen);

#endif
