/*
 * resume: what the trackers need to go on after the daemon restarts, kept
 * in the state file (DESIGN.md 2).  Per connection what only its TCP
 * handshake showed (from the handshake until the connection ends), and per
 * SSH direction the latest proven packet boundary with the SSH tracker's
 * state and its setup log, the log sealed with a key derived from the
 * recovery key (not saved without one).  Never a session key: those come
 * back from the export records.
 */
#ifndef SJ_RESUME_H
#define SJ_RESUME_H

#include <stddef.h>

#include "conf.h"
#include "seal.h"
#include "sshtrack.h"
#include "store.h"
#include "tcptrack.h"

/* The label of the setup-log key (HKDF info). */
#define RESUME_LOG_LABEL	"SecureJeebs setup log v1"

struct resume;

/* Save to st for the servers of c; recovery (may be NULL) seals the logs. */
struct resume *resume_new(struct store *st, const struct conf *c,
	    const struct seal_key *recovery);
/* Free (the log key is wiped). */
void	resume_free(struct resume *r);
/* A reload: server indices are c's from now on. */
void	resume_set_conf(struct resume *r, const struct conf *c);
/*
 * Put every saved connection back into the trackers (before capturing),
 * at time now; ssh_tracked(arg, server) says whether a server's
 * connections go to ssh.  The number of connections resumed.
 */
size_t	resume_restore(struct resume *r, struct tcptrack *t,
	    struct sshtrack *ssh, int (*ssh_tracked)(void *arg, size_t server),
	    void *arg, double now);
/* Start and end a batch of saves: one transaction. */
void	resume_begin(struct resume *r);
void	resume_end(struct resume *r);
/*
 * Save what changed of c, a connection of server (ssh NULL: not followed by
 * the SSH tracker): its handshake once, its sync point when it moved.
 * 1 if something was written, else 0.
 */
int	resume_save(struct resume *r, size_t server, struct tcptrack_conn *c,
	    struct sshtrack *ssh);
/* c ended: forget what was saved of it. */
void	resume_forget(struct resume *r, size_t server,
	    const struct tcptrack_conn *c);

#endif
