/*
 * store: the daemon's state in one SQLite file (WAL, mode 0600).  The schema
 * is versioned with PRAGMA user_version and migrated forward on open; a file
 * from a newer version is refused rather than damaged.  Nothing secret is
 * written in plaintext.
 */
#ifndef SJ_STORE_H
#define SJ_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The schema version this build writes. */
#define STORE_SCHEMA_VERSION	2

/* One event, as store_events() hands it out. */
struct store_event {
	int64_t		 id;
	int64_t		 ts_us;		/* wall clock, microseconds */
	const char	*server;	/* may be NULL */
	const char	*kind;
	const char	*detail;	/* may be NULL */
};

typedef int (*store_event_cb)(void *arg, const struct store_event *ev);

/*
 * One export connection's non-secret state (table export_conns).  Strings
 * are never NULL ("" when unknown); in callbacks they live only as long as
 * the call.
 */
struct store_export_conn {
	const char	*server;
	uint64_t	 conn_id;
	int		 closed;	/* an end notice was accepted */
	uint64_t	 last_counter;
	uint64_t	 nrecords;	/* accepted, end notice included */
	int64_t		 first_us;	/* first and last record received */
	int64_t		 last_us;
	uint64_t	 last_time;	/* exporter's clock, last record */
	int64_t		 closed_us;	/* end notice received; 0: open */
	int		 family;	/* 4 or 6 */
	const char	*client_addr;
	uint16_t	 client_port;
	const char	*server_addr;
	uint16_t	 server_port;
	uint32_t	 kex_number;
	const char	*kex_alg;
	const char	*hostkey_alg;
	const char	*c2s_cipher, *c2s_mac, *c2s_comp;
	const char	*s2c_cipher, *s2c_mac, *s2c_comp;
	int		 strict_kex;
	const char	*user;
	const char	*auth_method;
};

typedef int (*store_export_conn_cb)(void *arg,
    const struct store_export_conn *c);
typedef int (*store_export_record_cb)(void *arg, uint64_t counter,
    int64_t recv_us, const uint8_t *rec, size_t len);

/* Open (creating, 0600) and migrate the state file; err says why on failure. */
int	store_open(const char *path, struct store **out, char *err,
	    size_t errlen);
/* Close the state file. */
void	store_close(struct store *st);
/* The schema version of the open file. */
int	store_schema_version(struct store *st);
/* Record a timestamped event (server may be NULL); logs and returns -1 on failure. */
int	store_put_event(struct store *st, const char *server, const char *kind,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Call cb for the newest `limit` events in order (0: all); cb returning non-zero stops. */
int	store_events(struct store *st, int limit, store_event_cb cb, void *arg);
/* Remember a server's health state and since when. */
int	store_put_server_state(struct store *st, const char *server,
	    const char *state, int64_t since_us);
/* Look up a server's last recorded state; 1 if found, 0 if not, -1 on error. */
int	store_get_server_state(struct store *st, const char *server,
	    char *state, size_t statelen, int64_t *since_us);
/* Keep a sealed record and its connection's new state (one transaction). */
int	store_export_record(struct store *st, const struct store_export_conn *c,
	    uint64_t counter, int64_t recv_us, const uint8_t *rec, size_t len);
/* Keep an ended connection's row, drop its records (one transaction). */
int	store_export_close(struct store *st, const struct store_export_conn *c);
/* Look up a connection: 1 (and its last counter, closed flag), 0, or -1. */
int	store_export_lookup(struct store *st, const char *server,
	    uint64_t conn_id, uint64_t *last_counter, int *closed);
/* Call cb for every connection row; cb returning non-zero stops. */
int	store_export_conns(struct store *st, store_export_conn_cb cb,
	    void *arg);
/* Call cb for one connection's sealed records in counter order. */
int	store_export_records(struct store *st, const char *server,
	    uint64_t conn_id, store_export_record_cb cb, void *arg);
/* Forget ended connections with nothing after before_us; count, or -1. */
int	store_export_purge(struct store *st, int64_t before_us);
/* Microseconds since the epoch. */
int64_t	store_now_us(void);

#endif
