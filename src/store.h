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
#define STORE_SCHEMA_VERSION	5

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

/*
 * One takeover of a server (table takeovers).  Times are microseconds since
 * 1970, 0 until the phase is reached.  Strings are never NULL when read
 * ("" when unknown).
 */
struct store_takeover {
	int64_t		 id;
	const char	*server;
	const char	*cause;		/* why the server was declared dead */
	const char	*state;		/* fencing, fence-failed, handing-off,
					   taken-over, failed */
	const char	*detail;	/* the latest word on it */
	int64_t		 last_frame_us;	/* last frame seen from the server */
	int64_t		 dead_us;
	int64_t		 fence_start_us, fence_end_us;
	const char	*fence_result;
	int64_t		 rebuilt_us;	/* every socket rebuilt */
	int64_t		 address_us;	/* address added and announced */
	int64_t		 done_us;	/* every hand-off over */
	uint64_t	 conns, recovered, reset, failed;
};

/* One connection of a takeover (table takeover_conns). */
struct store_takeover_conn {
	int64_t		 takeover_id;
	int64_t		 n;		/* its number within the takeover */
	const char	*client_addr;
	uint16_t	 client_port;
	const char	*service_addr;
	uint16_t	 service_port;
	const char	*fate;		/* pending, recovered, reset, failed */
	const char	*reason;	/* why reset or failed */
	uint64_t	 in_bytes;	/* client bytes put in the receive queue */
	uint64_t	 out_bytes;	/* server bytes sent again */
	uint64_t	 in_off, out_off;	/* stream offsets the program
						   starts at */
	int64_t		 last_frame_us;	/* its last frame from the server */
	int64_t		 rebuild_ns;	/* socket rebuild time; -1: none */
	int64_t		 started_us;	/* its program runs */
	int64_t		 pid;		/* 0: none */
	int		 exited;	/* the program has exited with: */
	int		 exit_status;	/* exit code, or 128 + signal */
	int64_t		 ended_us;
	const char	*recover;	/* "exec", "ssh"; "" in older rows */
	/* recover ssh: jeebs-replay's report (all set, or none). */
	int		 ssh_reported;
	int64_t		 sshd_pid;
	int64_t		 sshd_us;	/* fork of the sshd to its answer */
	int64_t		 replay_us;	/* replaying the setup log */
	int64_t		 cutover_us;	/* cutover request to its answer */
	int64_t		 messages;	/* replayed */
};

typedef int (*store_takeover_cb)(void *arg, const struct store_takeover *t);
typedef int (*store_takeover_conn_cb)(void *arg,
    const struct store_takeover_conn *c);

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
/* Group the writes that follow into one transaction, until store_batch_end(). */
int	store_batch_begin(struct store *st);
int	store_batch_end(struct store *st);
/* A new takeover row (id, dead_us ... ignored beyond the first columns); its id or -1. */
int64_t	store_takeover_new(struct store *st, const struct store_takeover *t);
/* Update a takeover row's state, detail, phase times and counts. */
int	store_takeover_update(struct store *st, const struct store_takeover *t);
/* Insert or replace one connection row of a takeover. */
int	store_takeover_conn_put(struct store *st,
	    const struct store_takeover_conn *c);
/* Call cb for every takeover in order, or (latest) each server's newest. */
int	store_takeovers(struct store *st, int latest, store_takeover_cb cb,
	    void *arg);
/* Call cb for each connection of a takeover, in order. */
int	store_takeover_conns(struct store *st, int64_t takeover_id,
	    store_takeover_conn_cb cb, void *arg);
/*
 * Resuming after a restart (tables tcp_resume and ssh_sync): per connection,
 * what only its TCP handshake showed, and per SSH direction the latest
 * proven packet boundary with the tracker's state (nothing secret: no keys;
 * the setup log only sealed by the caller).  A connection is named by its
 * server and 4-tuple.
 */
struct store_conn_key {
	const char	*server;
	int		 family;	/* 4 or 6 */
	const char	*client_addr;
	uint16_t	 client_port;
	const char	*server_addr;
	uint16_t	 server_port;
};

struct store_tcp_resume {
	struct store_conn_key key;
	uint32_t	 isn[2];	/* by direction: c2s, s2c */
	int		 mss[2];	/* -1: no MSS option */
	int		 wscale[2];	/* -1: window scaling not negotiated */
	int		 sack, timestamps;
	uint64_t	 ref_off[2];	/* a recent offset of each stream */
	int64_t		 created_us, updated_us;
};

/* One direction's proven packet boundary. */
struct store_ssh_pos {
	int		 valid;		/* 0: none (when writing: keep the
					   saved one) */
	uint64_t	 off;
	uint32_t	 seqnr;
	uint32_t	 kex_number;
	uint64_t	 packets, blocks;	/* since those keys came in */
	const uint8_t	*cbc;		/* CBC: last ciphertext block, or NULL */
	size_t		 cbc_len;
};

struct store_ssh_sync {
	struct store_conn_key key;
	struct store_ssh_pos dir[2];
	const uint8_t	*state;		/* the tracker's encoding */
	size_t		 state_len;
	int		 log_set;	/* writing: replace the saved log */
	const uint8_t	*log;		/* sealed setup log, or NULL */
	size_t		 log_len;
	int64_t		 updated_us;
};

/* One saved connection; s is NULL if it has no SSH sync point. */
typedef int (*store_resume_cb)(void *arg, const struct store_tcp_resume *t,
    const struct store_ssh_sync *s);

/* Save (insert or replace) a connection's handshake. */
int	store_tcp_resume_put(struct store *st, const struct store_tcp_resume *t);
/* Update a saved connection's recent stream offsets. */
int	store_tcp_resume_refs(struct store *st, const struct store_conn_key *k,
	    const uint64_t ref_off[2]);
/* Forget a connection: its handshake and its sync point. */
int	store_tcp_resume_delete(struct store *st,
	    const struct store_conn_key *k);
/* Save a connection's SSH sync point (its handshake must be saved). */
int	store_ssh_sync_put(struct store *st, const struct store_ssh_sync *s);
/* Call cb for every saved connection; cb returning non-zero stops. */
int	store_resume_load(struct store *st, store_resume_cb cb, void *arg);
/* Microseconds since the epoch. */
int64_t	store_now_us(void);

#endif
