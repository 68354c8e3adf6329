/*
 * rebuild: what the monitor saw of one connection, turned into a repair
 * plan (DESIGN.md 4, step 3): sequence numbers, the options of the SYNs,
 * the timestamp clock, the windows, and the two queues copied out of the
 * TCP tracker.  It also keeps, for plain TCP services (recover exec), the
 * tracker's hold on the client bytes the dead server never answered.
 */
#ifndef SJ_REBUILD_H
#define SJ_REBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "repair.h"
#include "tcptrack.h"

/* Added to the extrapolated TSval: the client must never see it go back. */
#define REBUILD_TSVAL_MARGIN	100	/* ms */

struct rebuild_plan {
	struct repair_conn rc;		/* recvq and sendq point below */
	uint8_t		*recvq;		/* owned copies, wiped when freed */
	uint8_t		*sendq;
	uint64_t	 in_off;	/* client stream offset of recvq[0] */
	uint64_t	 out_off;	/* server stream offset after sendq */
	int		 reset_only;	/* sequence numbers only: for an RST */
};

/*
 * Plan the rebuild of c at time now (the capture clock).  0, or -1 with
 * the reason in why: the connection cannot be continued faithfully and
 * must be reset (rebuild_plan_reset()).
 */
int	rebuild_plan(const struct tcptrack_conn *c, double now,
	    struct rebuild_plan *p, char *why, size_t whylen);
/*
 * As rebuild_plan(), for a program that resumes a protocol at boundaries of
 * its own (recover ssh): the receive queue starts at client stream offset
 * in_from (the tracker must still retain it; bytes retained before it are
 * left out), the send queue ends at server offset out_to (the server bytes
 * after it are dropped; a client that acknowledged some of them fails the
 * plan).  REBUILD_ANY for either: rebuild_plan()'s.
 */
#define REBUILD_ANY	UINT64_MAX
int	rebuild_plan_range(const struct tcptrack_conn *c, double now,
	    uint64_t in_from, uint64_t out_to, struct rebuild_plan *p,
	    char *why, size_t whylen);
/*
 * Plan just enough of c to reset it cleanly: the sequence numbers the
 * client expects, no options, no data.  0, or -1 if even those are unknown.
 */
int	rebuild_plan_reset(const struct tcptrack_conn *c,
	    struct rebuild_plan *p);
/* Wipe and free the plan's copies. */
void	rebuild_plan_free(struct rebuild_plan *p);
/* The TSval to continue from: last seen at last_time, now is later (even). */
uint32_t rebuild_tsval(uint32_t last, double last_time, double now);

/*
 * The hold for plain TCP (recover exec).  The TCP tracker releases client
 * bytes once the server acknowledges them; a server that acknowledged a
 * request but died before answering it would lose it.  So client bytes are
 * held from the acknowledgement number of the server's latest new data on:
 * what the server had received when it last said something is answered,
 * the rest goes back into the rebuilt socket.  rebuild_hold_start() on a
 * new connection, rebuild_hold_answered() whenever the server sends new
 * data (before the tracker processes that segment's ack).
 */
void	rebuild_hold_start(struct tcptrack_conn *c);
void	rebuild_hold_answered(struct tcptrack_conn *c);

#endif
