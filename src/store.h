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
#define STORE_SCHEMA_VERSION	1

/* One event, as store_events() hands it out. */
struct store_event {
	int64_t		 id;
	int64_t		 ts_us;		/* wall clock, microseconds */
	const char	*server;	/* may be NULL */
	const char	*kind;
	const char	*detail;	/* may be NULL */
};

typedef int (*store_event_cb)(void *arg, const struct store_event *ev);

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
/* Microseconds since the epoch. */
int64_t	store_now_us(void);

#endif
