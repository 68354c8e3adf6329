/*
 * export: the listener for the production servers' sealed export records
 * (docs/export-format.md sections 5 and 8), in the daemon's libev loop.
 * It frames, opens and checks every record, hands the accepted ones to the
 * keystore and acknowledges each with SJA1 status 0, 1 or 2.
 */
#ifndef SJ_EXPORT_H
#define SJ_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "keystore.h"
#include "seal.h"

/*
 * A production sshd's listener exports through one relay (one connection);
 * a recovery host in symmetric roles (docs/drain.md "Failback") runs one
 * recovery sshd per moved session, each with its own relay: as many export
 * connections from its address as sessions.
 */
#define EXPORT_MAX_CONNS	4096	/* export connections at once */
#define EXPORT_MAX_PER_PEER	2048	/* from one address; the oldest goes */
#define EXPORT_RECORD_TIMEOUT	30.0	/* seconds to finish a started record */

#define EXPORT_ACK_LEN		24
#define EXPORT_ACK_ACCEPTED	0
#define EXPORT_ACK_DUPLICATE	1
#define EXPORT_ACK_REJECTED	2

/* Counters since export_init(). */
struct export_stats {
	uint64_t	 received;	/* records, or what failed to frame */
	uint64_t	 accepted;	/* ack 0 */
	uint64_t	 duplicates;	/* ack 1 */
	uint64_t	 rejected;	/* ack 2, or closed for bad framing */
	uint64_t	 refused;	/* connections from unknown addresses */
	unsigned int	 conns;		/* export connections now */
};

/* Listen on c's export_listen and serve from loop; -1 (logged) on failure. */
int	export_init(struct ev_loop *loop, const struct conf *c,
	    const struct keystore_keys *keys, struct keystore *ks);
/* A reload: c's servers (indices, export_from) from now on; the listener stays. */
void	export_set_conf(const struct conf *c);
/* Close the listener and every export connection. */
void	export_fini(void);
/* The counters. */
void	export_get_stats(struct export_stats *st);
/*
 * The "failover-keys ..." line for a key record: fingerprints (SHA-256
 * prefixes) of its keys, never the keys; the patched sshd logs the same.
 */
int	export_keys_line(const struct seal_keyrec *kr, char *buf, size_t len);

#endif
