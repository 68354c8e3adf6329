/*
 * keystore: what the daemon knows of every exported connection, per
 * (server, conn_id).  The decoded key record of the newest export record is
 * held only in memory and wiped when it is replaced, when the connection
 * ends, and at shutdown; the state file gets the records still sealed and
 * the non-secret metadata, from which keystore_open() rebuilds everything.
 */
#ifndef SJ_KEYSTORE_H
#define SJ_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "seal.h"
#include "store.h"

#define KEYSTORE_OK		0
#define KEYSTORE_ERR_STORE	-1	/* the state file failed: retry later */
#define KEYSTORE_ERR_FULL	-2	/* KEYSTORE_MAX_CONNS reached */
#define KEYSTORE_ERR_NOMEM	-3	/* allocation failed */
#define KEYSTORE_ERR_STATE	-4	/* record does not follow the last */

#define KEYSTORE_MAX_CONNS	65536	/* open and ended, in memory */
/* How long an ended connection stays listed when export_max_age is 0. */
#define KEYSTORE_CLOSED_LINGER	600

/* The keys that open export records, loaded once at start-up. */
struct keystore_keys {
	struct seal_key	*recovery;		/* X25519 private, or NULL */
	struct seal_key	*signing[CONF_MAX_SERVERS];	/* Ed25519, by
						   server index, or NULL */
};

/* One connection as reports see it: no key material. */
struct keystore_conn {
	const char	*server;
	uint64_t	 conn_id;
	int		 closed;	/* an end notice was accepted */
	int		 keys_held;	/* its key record is in memory */
	uint64_t	 nrecords;	/* accepted, end notice included */
	uint64_t	 last_counter;
	int64_t		 first_us;	/* first and last record received */
	int64_t		 last_us;
	uint64_t	 last_time;	/* exporter's clock, last record */
	int64_t		 closed_us;	/* 0 while open */
	uint8_t		 family;	/* SEAL_AF_INET or SEAL_AF_INET6 */
	struct seal_endpoint client;
	struct seal_endpoint service;
	uint32_t	 kex_number;
	char		 kex_alg[SEAL_NAME_MAX + 1];
	char		 hostkey_alg[SEAL_NAME_MAX + 1];
	char		 c2s_cipher[SEAL_NAME_MAX + 1];
	char		 c2s_mac[SEAL_NAME_MAX + 1];
	char		 c2s_comp[SEAL_NAME_MAX + 1];
	char		 s2c_cipher[SEAL_NAME_MAX + 1];
	char		 s2c_mac[SEAL_NAME_MAX + 1];
	char		 s2c_comp[SEAL_NAME_MAX + 1];
	int		 strict_kex;
	char		 user[SEAL_USER_MAX + 1];	/* "" before login */
	char		 auth_method[SEAL_NAME_MAX + 1];
};

struct keystore_counts {
	size_t		 open;
	size_t		 closed;
	size_t		 keys_held;
};

struct keystore;

typedef int (*keystore_walk_cb)(void *arg, const struct keystore_conn *kc);
/* A record was accepted for kc; kr is its key record (NULL after an end notice). */
typedef void (*keystore_listener_fn)(void *arg, size_t server,
    const struct keystore_conn *kc, const struct seal_keyrec *kr);

/*
 * Load the recovery key and every signing key of c, once.  With export
 * off nothing is loaded.  A key that is configured but cannot be used is
 * an error, with the reason in err.
 */
int	keystore_keys_load(const struct conf *c, struct keystore_keys *k,
	    char *err, size_t errlen);
/* Log what the keys leave unprotected (servers without signing_key). */
void	keystore_keys_check(const struct conf *c,
	    const struct keystore_keys *k);
/* Free the keys (libcrypto wipes the private one). */
void	keystore_keys_free(struct keystore_keys *k);

/* Rebuild the state from st: re-open the sealed records of open connections. */
int	keystore_open(struct store *st, const struct conf *c,
	    const struct keystore_keys *keys, struct keystore **out);
/*
 * A reload: server indices are nc's from now on (old_of_new[i]: the old
 * index of nc's server i, or -1).  The connections of a server no longer
 * configured are forgotten in memory (their keys wiped; the state file
 * keeps them); how many, or -1 (nothing changed) on failure.
 */
int	keystore_reconf(struct keystore *ks, const struct conf *nc,
	    const int *old_of_new);
/* Wipe every key record and free the keystore. */
void	keystore_close(struct keystore *ks);
/* The freshness state of (server, conn_id); KEYSTORE_ERR_STORE on failure. */
int	keystore_last(struct keystore *ks, size_t server, uint64_t conn_id,
	    int *have_last, uint64_t *last, int *closed);
/*
 * Take an accepted record (rec: the sealed bytes, kr: its decoded payload,
 * always consumed): persist it, then hold kr, or wipe everything on an end
 * notice.  Nothing changes unless it returns KEYSTORE_OK.
 */
int	keystore_put(struct keystore *ks, size_t server,
	    const struct seal_header *hdr, const uint8_t *rec, size_t len,
	    struct seal_keyrec *kr, int64_t now_us);
/* Tell fn about every accepted record (one listener). */
void	keystore_set_listener(struct keystore *ks, keystore_listener_fn fn,
	    void *arg);
/*
 * Tell fn about every accepted drain part (docs/drain.md) instead of the
 * listener; kr is the part (its data valid during the call only).
 */
void	keystore_set_drain_listener(struct keystore *ks,
	    keystore_listener_fn fn, void *arg);
/* The newest key record of the open connection with these endpoints, or NULL. */
const struct seal_keyrec *keystore_find_tuple(struct keystore *ks,
	    size_t server, uint8_t family, const struct seal_endpoint *client,
	    const struct seal_endpoint *service);
/* The key record held for (server, conn_id), or NULL. */
const struct seal_keyrec *keystore_get(struct keystore *ks, size_t server,
	    uint64_t conn_id);
/*
 * Every open connection of server has left it (a drain took them over):
 * end them as an end notice would (keys wiped, further records refused);
 * how many.
 */
size_t	keystore_forget_server(struct keystore *ks, size_t server,
	    int64_t now_us);
/* The public view of (server, conn_id), or NULL. */
const struct keystore_conn *keystore_conn(struct keystore *ks, size_t server,
	    uint64_t conn_id);
/* Forget ended connections older than export_max_age; how many. */
size_t	keystore_expire(struct keystore *ks, time_t now);
/* Call cb for every connection, by server then conn_id; non-zero stops. */
int	keystore_walk(struct keystore *ks, keystore_walk_cb cb, void *arg);
/* How many connections are open, ended, and have keys held. */
void	keystore_counts(struct keystore *ks, struct keystore_counts *n);
/* The state file and the keys it was opened with (for other saved state). */
struct store *keystore_store(struct keystore *ks);
const struct keystore_keys *keystore_keys(struct keystore *ks);
/* Text for an error value. */
const char *keystore_strerror(int r);

#endif
