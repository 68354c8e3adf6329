/*
 * takeover: what the daemon does when a server dies (DESIGN.md 4), the glue
 * between health (which says when), watch (which knows the connections)
 * and recovery/ (which acts): fence the server, rebuild every connection
 * with TCP_REPAIR, take over the address, reset what cannot be rebuilt and
 * hand each rebuilt connection to its own program, a bounded number at a
 * time; every phase is timed, stored and reported.
 */
#ifndef SJ_TAKEOVER_H
#define SJ_TAKEOVER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "conf.h"
#include "store.h"
#include "watch.h"

struct takeover;

/*
 * Set up for the servers of c: servers recovered by a program of their own
 * (recover exec) get the plain-TCP hold in w.  Before capturing starts.
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
 * The takeover state of server ("fencing", "fence-failed", "fenced",
 * "handing-off", "taken-over", "takeover-failed"), when it was entered and
 * why; NULL if no takeover has begun since the daemon started.
 */
const char *takeover_state(struct takeover *t, size_t server,
	    int64_t *since_us, const char **why);

#endif
