/*
 * store: SQLite persistence (see store.h).  Every statement goes through
 * prepared statements with bound parameters; errors are logged with the
 * SQLite message and returned, never fatal, so a full disk costs history,
 * not the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

struct store {
	sqlite3	*db;
	char	*path;
	/* Prepared once: saved every second for every busy connection. */
	sqlite3_stmt	*ssh_sync_put;
	sqlite3_stmt	*tcp_refs;
};

/*
 * Migration i takes the schema from version i to i + 1.  Append only:
 * never edit a migration that has shipped.
 */
static const char *const store_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE events ("
	"  id      INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts_us   INTEGER NOT NULL,"
	"  server  TEXT,"
	"  kind    TEXT NOT NULL,"
	"  detail  TEXT);"
	"CREATE INDEX events_server ON events(server, id);"
	"CREATE TABLE servers ("
	"  name     TEXT PRIMARY KEY,"
	"  state    TEXT NOT NULL,"
	"  since_us INTEGER NOT NULL);",
	/*
	 * 1 -> 2: export records.  Records are kept exactly as received,
	 * still sealed, while their connection is open; an ended connection
	 * keeps only its row (the replay guard) until it is purged.  u64
	 * values (conn_id, counter, time) are stored as their int64 bit
	 * pattern.  No column holds key material.
	 */
	"CREATE TABLE export_conns ("
	"  server       TEXT NOT NULL,"
	"  conn_id      INTEGER NOT NULL,"
	"  state        TEXT NOT NULL CHECK (state IN ('open', 'closed')),"
	"  last_counter INTEGER NOT NULL,"
	"  nrecords     INTEGER NOT NULL,"
	"  first_us     INTEGER NOT NULL,"
	"  last_us      INTEGER NOT NULL,"
	"  last_time    INTEGER NOT NULL,"
	"  closed_us    INTEGER,"
	"  family       INTEGER NOT NULL,"
	"  client_addr  TEXT NOT NULL,"
	"  client_port  INTEGER NOT NULL,"
	"  server_addr  TEXT NOT NULL,"
	"  server_port  INTEGER NOT NULL,"
	"  kex_number   INTEGER NOT NULL,"
	"  kex_alg      TEXT NOT NULL,"
	"  hostkey_alg  TEXT NOT NULL,"
	"  c2s_cipher   TEXT NOT NULL,"
	"  c2s_mac      TEXT NOT NULL,"
	"  c2s_comp     TEXT NOT NULL,"
	"  s2c_cipher   TEXT NOT NULL,"
	"  s2c_mac      TEXT NOT NULL,"
	"  s2c_comp     TEXT NOT NULL,"
	"  strict_kex   INTEGER NOT NULL,"
	"  user         TEXT NOT NULL,"
	"  auth_method  TEXT NOT NULL,"
	"  PRIMARY KEY (server, conn_id)) WITHOUT ROWID;"
	"CREATE TABLE export_records ("
	"  server   TEXT NOT NULL,"
	"  conn_id  INTEGER NOT NULL,"
	"  counter  INTEGER NOT NULL,"
	"  recv_us  INTEGER NOT NULL,"
	"  record   BLOB NOT NULL,"
	"  PRIMARY KEY (server, conn_id, counter),"
	"  FOREIGN KEY (server, conn_id) REFERENCES export_conns"
	"    ON DELETE CASCADE) WITHOUT ROWID;",
	/*
	 * 2 -> 3: takeovers (DESIGN.md 4).  One row per takeover of a server
	 * with the time of each phase (microseconds since 1970, NULL until
	 * reached), and one row per connection it handled with its fate.
	 */
	"CREATE TABLE takeovers ("
	"  id            INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  server        TEXT NOT NULL,"
	"  cause         TEXT NOT NULL,"
	"  state         TEXT NOT NULL,"
	"  detail        TEXT,"
	"  last_frame_us INTEGER,"
	"  dead_us       INTEGER NOT NULL,"
	"  fence_start_us INTEGER,"
	"  fence_end_us  INTEGER,"
	"  fence_result  TEXT,"
	"  rebuilt_us    INTEGER,"
	"  address_us    INTEGER,"
	"  done_us       INTEGER,"
	"  conns         INTEGER NOT NULL DEFAULT 0,"
	"  recovered     INTEGER NOT NULL DEFAULT 0,"
	"  reset         INTEGER NOT NULL DEFAULT 0,"
	"  failed        INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX takeovers_server ON takeovers(server, id);"
	"CREATE TABLE takeover_conns ("
	"  takeover_id   INTEGER NOT NULL REFERENCES takeovers(id)"
	"    ON DELETE CASCADE,"
	"  n             INTEGER NOT NULL,"
	"  client_addr   TEXT NOT NULL,"
	"  client_port   INTEGER NOT NULL,"
	"  service_addr  TEXT NOT NULL,"
	"  service_port  INTEGER NOT NULL,"
	"  fate          TEXT NOT NULL,"
	"  reason        TEXT,"
	"  in_bytes      INTEGER NOT NULL DEFAULT 0,"
	"  out_bytes     INTEGER NOT NULL DEFAULT 0,"
	"  in_off        INTEGER NOT NULL DEFAULT 0,"
	"  out_off       INTEGER NOT NULL DEFAULT 0,"
	"  last_frame_us INTEGER,"
	"  rebuild_ns    INTEGER,"
	"  started_us    INTEGER,"
	"  pid           INTEGER,"
	"  exit_status   INTEGER,"
	"  ended_us      INTEGER,"
	"  PRIMARY KEY (takeover_id, n)) WITHOUT ROWID;",
	/*
	 * 3 -> 4: resuming after a restart.  tcp_resume: what only a
	 * connection's handshake showed (ISNs, options) and a recent offset
	 * of each stream (to unwrap 32-bit sequence numbers), from the
	 * handshake until the connection ends.  ssh_sync: per direction the
	 * latest proven SSH packet boundary (offset, sequence number, KEX
	 * number, packets and blocks since its keys, the CBC block before it,
	 * which is ciphertext), the tracker's non-secret state (algorithms,
	 * channels) and the setup log sealed with a key derived from the
	 * recovery key (NULL without one).  No column holds key material.
	 * u64 values are stored as their int64 bit pattern.
	 */
	"CREATE TABLE tcp_resume ("
	"  server      TEXT NOT NULL,"
	"  family      INTEGER NOT NULL,"
	"  client_addr TEXT NOT NULL,"
	"  client_port INTEGER NOT NULL,"
	"  server_addr TEXT NOT NULL,"
	"  server_port INTEGER NOT NULL,"
	"  c2s_isn     INTEGER NOT NULL,"
	"  s2c_isn     INTEGER NOT NULL,"
	"  c2s_mss     INTEGER NOT NULL,"
	"  s2c_mss     INTEGER NOT NULL,"
	"  c2s_wscale  INTEGER NOT NULL,"
	"  s2c_wscale  INTEGER NOT NULL,"
	"  sack        INTEGER NOT NULL,"
	"  timestamps  INTEGER NOT NULL,"
	"  c2s_ref     INTEGER NOT NULL,"
	"  s2c_ref     INTEGER NOT NULL,"
	"  created_us  INTEGER NOT NULL,"
	"  updated_us  INTEGER NOT NULL,"
	"  PRIMARY KEY (server, family, client_addr, client_port,"
	"    server_addr, server_port)) WITHOUT ROWID;"
	"CREATE TABLE ssh_sync ("
	"  server      TEXT NOT NULL,"
	"  family      INTEGER NOT NULL,"
	"  client_addr TEXT NOT NULL,"
	"  client_port INTEGER NOT NULL,"
	"  server_addr TEXT NOT NULL,"
	"  server_port INTEGER NOT NULL,"
	"  updated_us  INTEGER NOT NULL,"
	"  c2s_off     INTEGER,"
	"  c2s_seqnr   INTEGER,"
	"  c2s_kex     INTEGER,"
	"  c2s_packets INTEGER,"
	"  c2s_blocks  INTEGER,"
	"  c2s_cbc     BLOB,"
	"  s2c_off     INTEGER,"
	"  s2c_seqnr   INTEGER,"
	"  s2c_kex     INTEGER,"
	"  s2c_packets INTEGER,"
	"  s2c_blocks  INTEGER,"
	"  s2c_cbc     BLOB,"
	"  state       BLOB NOT NULL,"
	"  setup_log   BLOB,"
	"  PRIMARY KEY (server, family, client_addr, client_port,"
	"    server_addr, server_port),"
	"  FOREIGN KEY (server, family, client_addr, client_port,"
	"    server_addr, server_port) REFERENCES tcp_resume"
	"    ON DELETE CASCADE) WITHOUT ROWID;",
	/*
	 * 4 -> 5: recover ssh.  Per taken-over connection, what recovered
	 * it ('exec' or 'ssh'; NULL in rows of older takeovers) and, for
	 * ssh, jeebs-replay's report: the recovery sshd's pid, how long it
	 * took to start, to replay the setup log and to cut over
	 * (microseconds), and how many messages it replayed; NULL until
	 * reported.
	 */
	"ALTER TABLE takeover_conns ADD COLUMN recover TEXT;"
	"ALTER TABLE takeover_conns ADD COLUMN sshd_pid INTEGER;"
	"ALTER TABLE takeover_conns ADD COLUMN sshd_us INTEGER;"
	"ALTER TABLE takeover_conns ADD COLUMN replay_us INTEGER;"
	"ALTER TABLE takeover_conns ADD COLUMN cutover_us INTEGER;"
	"ALTER TABLE takeover_conns ADD COLUMN messages INTEGER;",
};

int64_t
store_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Create the file 0600 (and its directory 0700) before SQLite opens it. */
static int
store_prepare_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *dup, *dir;
	int fd;

	if ((dup = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	dir = dirname(dup);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create directory %s: %s", dir,
		    strerror(errno));
		free(dup);
		return -1;
	}
	free(dup);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by us", path,
		    (unsigned)st.st_uid);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("%s: mode %04o is too open, setting 0600", path,
		    (unsigned)(st.st_mode & 07777));
		if (fchmod(fd, 0600) == -1) {
			snprintf(err, errlen, "%s: chmod: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int
store_exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", st->path,
		    msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_schema_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
store_migrate(struct store *st, char *err, size_t errlen)
{
	int have, n = (int)(sizeof(store_migrations) /
	    sizeof(store_migrations[0]));
	char sql[64];

	if ((have = store_schema_version(st)) < 0) {
		snprintf(err, errlen, "%s: cannot read schema version: %s",
		    st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	if (have > n) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this securejeebsd understands (%d); refusing to touch it",
		    st->path, have, n);
		return -1;
	}
	for (; have < n; have++) {
		if (store_exec(st, "BEGIN IMMEDIATE", err, errlen) != 0)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    have + 1);
		if (store_exec(st, store_migrations[have], err, errlen) != 0 ||
		    store_exec(st, sql, err, errlen) != 0) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (store_exec(st, "COMMIT", err, errlen) != 0)
			return -1;
		log_info("%s: schema migrated to version %d", st->path,
		    have + 1);
	}
	return 0;
}

int
store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *st;

	*out = NULL;
	if (store_prepare_file(path, err, errlen) != 0)
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, st->db ?
		    sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 2000);
	if (store_exec(st, "PRAGMA journal_mode = WAL", err, errlen) != 0 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL", err, errlen) != 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", err, errlen) != 0 ||
	    /* Records of ended connections must not linger in free pages. */
	    store_exec(st, "PRAGMA secure_delete = ON", err, errlen) != 0 ||
	    store_migrate(st, err, errlen) != 0)
		goto fail;
	*out = st;
	return 0;
 fail:
	store_close(st);
	return -1;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->ssh_sync_put);
	sqlite3_finalize(st->tcp_refs);
	if (st->db != NULL)
		sqlite3_close_v2(st->db);
	free(st->path);
	free(st);
}

int
store_put_event(struct store *st, const char *server, const char *kind,
    const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	char detail[1024];
	va_list ap;
	int r = -1;

	detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (sqlite3_prepare_v2(st->db, "INSERT INTO events "
	    "(ts_us, server, kind, detail) VALUES (?, ?, ?, ?)", -1, &s,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, store_now_us());
	if (server != NULL)
		sqlite3_bind_text(s, 2, server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_TRANSIENT);
	if (detail[0] != '\0')
		sqlite3_bind_text(s, 4, detail, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_DONE)
		r = 0;
 out:
	if (r != 0)
		log_error("store: cannot record event %s: %s", kind,
		    sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return r;
}

int
store_events(struct store *st, int limit, store_event_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct store_event ev;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT id, ts_us, server, kind, "
	    "detail FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?) "
	    "ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
		log_error("store: events: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_int(s, 1, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ev.id = sqlite3_column_int64(s, 0);
		ev.ts_us = sqlite3_column_int64(s, 1);
		ev.server = (const char *)sqlite3_column_text(s, 2);
		ev.kind = (const char *)sqlite3_column_text(s, 3);
		ev.detail = (const char *)sqlite3_column_text(s, 4);
		if (ev.kind == NULL)
			ev.kind = "";
		if (cb(arg, &ev) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("store: events: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_put_server_state(struct store *st, const char *server,
    const char *state, int64_t since_us)
{
	sqlite3_stmt *s;
	int r = -1;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO servers (name, state, "
	    "since_us) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
	    "state = excluded.state, since_us = excluded.since_us", -1, &s,
	    NULL) != SQLITE_OK) {
		log_error("store: server state: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, 1, server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, since_us);
	if (sqlite3_step(s) == SQLITE_DONE)
		r = 0;
	else
		log_error("store: server state: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return r;
}

int
store_get_server_state(struct store *st, const char *server, char *state,
    size_t statelen, int64_t *since_us)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT state, since_us FROM servers "
	    "WHERE name = ?", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(state, statelen, "%s",
		    (const char *)sqlite3_column_text(s, 0));
		*since_us = sqlite3_column_int64(s, 1);
		r = 1;
	} else if (rc != SQLITE_DONE)
		r = -1;
	sqlite3_finalize(s);
	return r;
}

/* Export connections and their sealed records */

static int
store_begin(struct store *st)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	return 0;
}

static int
store_end(struct store *st, int ok)
{
	if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL,
	    NULL) == SQLITE_OK)
		return 0;
	/*
	 * A COMMIT that failed for a full disk (or an I/O error) has rolled
	 * the transaction back already: a ROLLBACK would fail too, and its
	 * message ("no transaction is active") would hide the reason.
	 */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Insert or replace the whole row of c. */
static int
store_export_conn_put(struct store *st, const struct store_export_conn *c)
{
	sqlite3_stmt *s;
	int r = -1, i = 1;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO export_conns (server, "
	    "conn_id, state, last_counter, nrecords, first_us, last_us, "
	    "last_time, closed_us, family, client_addr, client_port, "
	    "server_addr, server_port, kex_number, kex_alg, hostkey_alg, "
	    "c2s_cipher, c2s_mac, c2s_comp, s2c_cipher, s2c_mac, s2c_comp, "
	    "strict_kex, user, auth_method) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (server, conn_id) DO UPDATE SET "
	    "state = excluded.state, last_counter = excluded.last_counter, "
	    "nrecords = excluded.nrecords, first_us = excluded.first_us, "
	    "last_us = excluded.last_us, last_time = excluded.last_time, "
	    "closed_us = excluded.closed_us, family = excluded.family, "
	    "client_addr = excluded.client_addr, "
	    "client_port = excluded.client_port, "
	    "server_addr = excluded.server_addr, "
	    "server_port = excluded.server_port, "
	    "kex_number = excluded.kex_number, kex_alg = excluded.kex_alg, "
	    "hostkey_alg = excluded.hostkey_alg, "
	    "c2s_cipher = excluded.c2s_cipher, c2s_mac = excluded.c2s_mac, "
	    "c2s_comp = excluded.c2s_comp, s2c_cipher = excluded.s2c_cipher, "
	    "s2c_mac = excluded.s2c_mac, s2c_comp = excluded.s2c_comp, "
	    "strict_kex = excluded.strict_kex, user = excluded.user, "
	    "auth_method = excluded.auth_method", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, i++, c->server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, i++, (int64_t)c->conn_id);
	sqlite3_bind_text(s, i++, c->closed ? "closed" : "open", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, i++, (int64_t)c->last_counter);
	sqlite3_bind_int64(s, i++, (int64_t)c->nrecords);
	sqlite3_bind_int64(s, i++, c->first_us);
	sqlite3_bind_int64(s, i++, c->last_us);
	sqlite3_bind_int64(s, i++, (int64_t)c->last_time);
	if (c->closed)
		sqlite3_bind_int64(s, i++, c->closed_us);
	else
		sqlite3_bind_null(s, i++);
	sqlite3_bind_int(s, i++, c->family);
	sqlite3_bind_text(s, i++, c->client_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, c->client_port);
	sqlite3_bind_text(s, i++, c->server_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, c->server_port);
	sqlite3_bind_int64(s, i++, c->kex_number);
	sqlite3_bind_text(s, i++, c->kex_alg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->hostkey_alg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->c2s_cipher, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->c2s_mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->c2s_comp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->s2c_cipher, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->s2c_mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->s2c_comp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, c->strict_kex);
	sqlite3_bind_text(s, i++, c->user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, i++, c->auth_method, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_DONE)
		r = 0;
	sqlite3_finalize(s);
	return r;
}

int
store_export_record(struct store *st, const struct store_export_conn *c,
    uint64_t counter, int64_t recv_us, const uint8_t *rec, size_t len)
{
	sqlite3_stmt *s = NULL;
	int ok = 0;

	if (store_begin(st) != 0)
		goto out;
	if (store_export_conn_put(st, c) != 0)
		goto out;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO export_records (server, "
	    "conn_id, counter, recv_us, record) VALUES (?, ?, ?, ?, ?)", -1,
	    &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, c->server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)c->conn_id);
	sqlite3_bind_int64(s, 3, (int64_t)counter);
	sqlite3_bind_int64(s, 4, recv_us);
	sqlite3_bind_blob(s, 5, rec, (int)len, SQLITE_TRANSIENT);
	ok = sqlite3_step(s) == SQLITE_DONE;
 out:
	if (!ok)
		log_error("store: cannot keep export record %s/%016llx#%llu: "
		    "%s", c->server, (unsigned long long)c->conn_id,
		    (unsigned long long)counter, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return store_end(st, ok);
}

int
store_export_close(struct store *st, const struct store_export_conn *c)
{
	sqlite3_stmt *s = NULL;
	int ok = 0;

	if (store_begin(st) != 0)
		goto out;
	if (store_export_conn_put(st, c) != 0)
		goto out;
	if (sqlite3_prepare_v2(st->db, "DELETE FROM export_records WHERE "
	    "server = ? AND conn_id = ?", -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, c->server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)c->conn_id);
	ok = sqlite3_step(s) == SQLITE_DONE;
 out:
	if (!ok)
		log_error("store: cannot close export connection %s/%016llx: "
		    "%s", c->server, (unsigned long long)c->conn_id,
		    sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return store_end(st, ok);
}

int
store_export_lookup(struct store *st, const char *server, uint64_t conn_id,
    uint64_t *last_counter, int *closed)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT last_counter, state FROM "
	    "export_conns WHERE server = ? AND conn_id = ?", -1, &s,
	    NULL) != SQLITE_OK) {
		log_error("store: export lookup: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, 1, server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)conn_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 1);

		*last_counter = (uint64_t)sqlite3_column_int64(s, 0);
		*closed = state == NULL || strcmp(state, "open") != 0;
		r = 1;
	} else if (rc != SQLITE_DONE) {
		log_error("store: export lookup: %s", sqlite3_errmsg(st->db));
		r = -1;
	}
	sqlite3_finalize(s);
	return r;
}

static const char *
store_column_text(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	return t != NULL ? t : "";
}

int
store_export_conns(struct store *st, store_export_conn_cb cb, void *arg)
{
	struct store_export_conn c;
	sqlite3_stmt *s;
	int rc, i;

	if (sqlite3_prepare_v2(st->db, "SELECT server, conn_id, state, "
	    "last_counter, nrecords, first_us, last_us, last_time, closed_us, "
	    "family, client_addr, client_port, server_addr, server_port, "
	    "kex_number, kex_alg, hostkey_alg, c2s_cipher, c2s_mac, c2s_comp, "
	    "s2c_cipher, s2c_mac, s2c_comp, strict_kex, user, auth_method "
	    "FROM export_conns ORDER BY server, conn_id", -1, &s,
	    NULL) != SQLITE_OK) {
		log_error("store: export connections: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		i = 0;
		c.server = store_column_text(s, i++);
		c.conn_id = (uint64_t)sqlite3_column_int64(s, i++);
		c.closed = strcmp(store_column_text(s, i++), "open") != 0;
		c.last_counter = (uint64_t)sqlite3_column_int64(s, i++);
		c.nrecords = (uint64_t)sqlite3_column_int64(s, i++);
		c.first_us = sqlite3_column_int64(s, i++);
		c.last_us = sqlite3_column_int64(s, i++);
		c.last_time = (uint64_t)sqlite3_column_int64(s, i++);
		c.closed_us = sqlite3_column_int64(s, i++);
		c.family = sqlite3_column_int(s, i++);
		c.client_addr = store_column_text(s, i++);
		c.client_port = (uint16_t)sqlite3_column_int(s, i++);
		c.server_addr = store_column_text(s, i++);
		c.server_port = (uint16_t)sqlite3_column_int(s, i++);
		c.kex_number = (uint32_t)sqlite3_column_int64(s, i++);
		c.kex_alg = store_column_text(s, i++);
		c.hostkey_alg = store_column_text(s, i++);
		c.c2s_cipher = store_column_text(s, i++);
		c.c2s_mac = store_column_text(s, i++);
		c.c2s_comp = store_column_text(s, i++);
		c.s2c_cipher = store_column_text(s, i++);
		c.s2c_mac = store_column_text(s, i++);
		c.s2c_comp = store_column_text(s, i++);
		c.strict_kex = sqlite3_column_int(s, i++);
		c.user = store_column_text(s, i++);
		c.auth_method = store_column_text(s, i++);
		if (cb(arg, &c) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("store: export connections: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_export_records(struct store *st, const char *server, uint64_t conn_id,
    store_export_record_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT counter, recv_us, record FROM "
	    "export_records WHERE server = ? AND conn_id = ? ORDER BY counter",
	    -1, &s, NULL) != SQLITE_OK) {
		log_error("store: export records: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, 1, server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)conn_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const uint8_t *rec = sqlite3_column_blob(s, 2);
		int len = sqlite3_column_bytes(s, 2);

		if (cb(arg, (uint64_t)sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), rec, rec ? (size_t)len : 0) !=
		    0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("store: export records: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_export_purge(struct store *st, int64_t before_us)
{
	sqlite3_stmt *s;
	int r = -1;

	/* last_time is the exporter's clock, in seconds. */
	if (sqlite3_prepare_v2(st->db, "DELETE FROM export_conns WHERE "
	    "state = 'closed' AND closed_us < ?1 AND "
	    "last_time < ?1 / 1000000", -1, &s, NULL) != SQLITE_OK) {
		log_error("store: export purge: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_int64(s, 1, before_us);
	if (sqlite3_step(s) == SQLITE_DONE)
		r = sqlite3_changes(st->db);
	else
		log_error("store: export purge: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return r;
}

/* Takeovers */

/* Batches run every quarter second: a full disk says so every 10 s. */
static struct log_ratelimit store_batch_rl = LOG_RATELIMIT_INIT(10);

int
store_batch_begin(struct store *st)
{
	if (store_begin(st) != 0) {
		log_limited(&store_batch_rl, LOG_ERR, "store: %s: begin: %s",
		    st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_batch_end(struct store *st)
{
	if (store_end(st, 1) != 0) {
		log_limited(&store_batch_rl, LOG_ERR, "store: %s: commit: %s",
		    st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* Bind v, or NULL when it is 0 (not reached yet). */
static void
store_bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	if (v != 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static void
store_bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL && v[0] != '\0')
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

int64_t
store_takeover_new(struct store *st, const struct store_takeover *t)
{
	sqlite3_stmt *s;
	int64_t id = -1;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO takeovers (server, "
	    "cause, state, detail, last_frame_us, dead_us) VALUES (?, ?, ?, "
	    "?, ?, ?)", -1, &s, NULL) != SQLITE_OK) {
		log_error("store: takeover: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, 1, t->server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, t->cause, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, t->state, -1, SQLITE_TRANSIENT);
	store_bind_text_or_null(s, 4, t->detail);
	store_bind_time(s, 5, t->last_frame_us);
	sqlite3_bind_int64(s, 6, t->dead_us);
	if (sqlite3_step(s) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(st->db);
	else
		log_error("store: takeover: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return id;
}

int
store_takeover_update(struct store *st, const struct store_takeover *t)
{
	sqlite3_stmt *s;
	int r = -1, i = 1;

	if (sqlite3_prepare_v2(st->db, "UPDATE takeovers SET state = ?, "
	    "detail = ?, fence_start_us = ?, fence_end_us = ?, "
	    "fence_result = ?, rebuilt_us = ?, address_us = ?, done_us = ?, "
	    "conns = ?, recovered = ?, reset = ?, failed = ? WHERE id = ?",
	    -1, &s, NULL) != SQLITE_OK) {
		log_error("store: takeover: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, i++, t->state, -1, SQLITE_TRANSIENT);
	store_bind_text_or_null(s, i++, t->detail);
	store_bind_time(s, i++, t->fence_start_us);
	store_bind_time(s, i++, t->fence_end_us);
	store_bind_text_or_null(s, i++, t->fence_result);
	store_bind_time(s, i++, t->rebuilt_us);
	store_bind_time(s, i++, t->address_us);
	store_bind_time(s, i++, t->done_us);
	sqlite3_bind_int64(s, i++, (int64_t)t->conns);
	sqlite3_bind_int64(s, i++, (int64_t)t->recovered);
	sqlite3_bind_int64(s, i++, (int64_t)t->reset);
	sqlite3_bind_int64(s, i++, (int64_t)t->failed);
	sqlite3_bind_int64(s, i++, t->id);
	if (sqlite3_step(s) == SQLITE_DONE)
		r = 0;
	else
		log_error("store: takeover: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return r;
}

int
store_takeover_conn_put(struct store *st, const struct store_takeover_conn *c)
{
	sqlite3_stmt *s;
	int r = -1, i = 1;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO takeover_conns "
	    "(takeover_id, n, client_addr, client_port, service_addr, "
	    "service_port, fate, reason, in_bytes, out_bytes, in_off, "
	    "out_off, last_frame_us, rebuild_ns, started_us, pid, "
	    "exit_status, ended_us, recover, sshd_pid, sshd_us, replay_us, "
	    "cutover_us, messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL) !=
	    SQLITE_OK) {
		log_error("store: takeover connection: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_int64(s, i++, c->takeover_id);
	sqlite3_bind_int64(s, i++, c->n);
	sqlite3_bind_text(s, i++, c->client_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, c->client_port);
	sqlite3_bind_text(s, i++, c->service_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, c->service_port);
	sqlite3_bind_text(s, i++, c->fate, -1, SQLITE_TRANSIENT);
	store_bind_text_or_null(s, i++, c->reason);
	sqlite3_bind_int64(s, i++, (int64_t)c->in_bytes);
	sqlite3_bind_int64(s, i++, (int64_t)c->out_bytes);
	sqlite3_bind_int64(s, i++, (int64_t)c->in_off);
	sqlite3_bind_int64(s, i++, (int64_t)c->out_off);
	store_bind_time(s, i++, c->last_frame_us);
	if (c->rebuild_ns >= 0)
		sqlite3_bind_int64(s, i++, c->rebuild_ns);
	else
		sqlite3_bind_null(s, i++);
	store_bind_time(s, i++, c->started_us);
	store_bind_time(s, i++, c->pid);
	if (c->exited)
		sqlite3_bind_int(s, i++, c->exit_status);
	else
		sqlite3_bind_null(s, i++);
	store_bind_time(s, i++, c->ended_us);
	store_bind_text_or_null(s, i++, c->recover);
	if (c->ssh_reported) {
		sqlite3_bind_int64(s, i++, c->sshd_pid);
		sqlite3_bind_int64(s, i++, c->sshd_us);
		sqlite3_bind_int64(s, i++, c->replay_us);
		sqlite3_bind_int64(s, i++, c->cutover_us);
		sqlite3_bind_int64(s, i++, c->messages);
	} else
		while (i <= 24)
			sqlite3_bind_null(s, i++);
	if (sqlite3_step(s) == SQLITE_DONE)
		r = 0;
	else
		log_error("store: takeover connection: %s",
		    sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return r;
}

static int64_t
store_column_time(sqlite3_stmt *s, int col)
{
	return sqlite3_column_type(s, col) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(s, col);
}

int
store_takeovers(struct store *st, int latest, store_takeover_cb cb,
    void *arg)
{
	struct store_takeover t;
	sqlite3_stmt *s;
	int rc, i;

	if (sqlite3_prepare_v2(st->db, latest ?
	    "SELECT id, server, cause, state, detail, last_frame_us, dead_us, "
	    "fence_start_us, fence_end_us, fence_result, rebuilt_us, "
	    "address_us, done_us, conns, recovered, reset, failed FROM "
	    "takeovers WHERE id IN (SELECT max(id) FROM takeovers GROUP BY "
	    "server) ORDER BY server" :
	    "SELECT id, server, cause, state, detail, last_frame_us, dead_us, "
	    "fence_start_us, fence_end_us, fence_result, rebuilt_us, "
	    "address_us, done_us, conns, recovered, reset, failed FROM "
	    "takeovers ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
		log_error("store: takeovers: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		i = 0;
		t.id = sqlite3_column_int64(s, i++);
		t.server = store_column_text(s, i++);
		t.cause = store_column_text(s, i++);
		t.state = store_column_text(s, i++);
		t.detail = store_column_text(s, i++);
		t.last_frame_us = store_column_time(s, i++);
		t.dead_us = store_column_time(s, i++);
		t.fence_start_us = store_column_time(s, i++);
		t.fence_end_us = store_column_time(s, i++);
		t.fence_result = store_column_text(s, i++);
		t.rebuilt_us = store_column_time(s, i++);
		t.address_us = store_column_time(s, i++);
		t.done_us = store_column_time(s, i++);
		t.conns = (uint64_t)sqlite3_column_int64(s, i++);
		t.recovered = (uint64_t)sqlite3_column_int64(s, i++);
		t.reset = (uint64_t)sqlite3_column_int64(s, i++);
		t.failed = (uint64_t)sqlite3_column_int64(s, i++);
		if (cb(arg, &t) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("store: takeovers: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_takeover_conns(struct store *st, int64_t takeover_id,
    store_takeover_conn_cb cb, void *arg)
{
	struct store_takeover_conn c;
	sqlite3_stmt *s;
	int rc, i;

	if (sqlite3_prepare_v2(st->db, "SELECT takeover_id, n, client_addr, "
	    "client_port, service_addr, service_port, fate, reason, in_bytes, "
	    "out_bytes, in_off, out_off, last_frame_us, rebuild_ns, "
	    "started_us, pid, exit_status, ended_us, recover, sshd_pid, "
	    "sshd_us, replay_us, cutover_us, messages FROM takeover_conns "
	    "WHERE takeover_id = ? ORDER BY n", -1, &s, NULL) != SQLITE_OK) {
		log_error("store: takeover connections: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_int64(s, 1, takeover_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		i = 0;
		c.takeover_id = sqlite3_column_int64(s, i++);
		c.n = sqlite3_column_int64(s, i++);
		c.client_addr = store_column_text(s, i++);
		c.client_port = (uint16_t)sqlite3_column_int(s, i++);
		c.service_addr = store_column_text(s, i++);
		c.service_port = (uint16_t)sqlite3_column_int(s, i++);
		c.fate = store_column_text(s, i++);
		c.reason = store_column_text(s, i++);
		c.in_bytes = (uint64_t)sqlite3_column_int64(s, i++);
		c.out_bytes = (uint64_t)sqlite3_column_int64(s, i++);
		c.in_off = (uint64_t)sqlite3_column_int64(s, i++);
		c.out_off = (uint64_t)sqlite3_column_int64(s, i++);
		c.last_frame_us = store_column_time(s, i++);
		c.rebuild_ns = sqlite3_column_type(s, i) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, i);
		i++;
		c.started_us = store_column_time(s, i++);
		c.pid = store_column_time(s, i++);
		c.exited = sqlite3_column_type(s, i) != SQLITE_NULL;
		c.exit_status = sqlite3_column_int(s, i++);
		c.ended_us = store_column_time(s, i++);
		c.recover = store_column_text(s, i++);
		c.ssh_reported = sqlite3_column_type(s, i) != SQLITE_NULL;
		c.sshd_pid = sqlite3_column_int64(s, i++);
		c.sshd_us = sqlite3_column_int64(s, i++);
		c.replay_us = sqlite3_column_int64(s, i++);
		c.cutover_us = sqlite3_column_int64(s, i++);
		c.messages = sqlite3_column_int64(s, i++);
		if (cb(arg, &c) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("store: takeover connections: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* Resuming after a restart */

/* Bind the six key columns from parameter i on; the next parameter. */
static int
store_bind_key(sqlite3_stmt *s, int i, const struct store_conn_key *k)
{
	sqlite3_bind_text(s, i++, k->server, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, k->family);
	sqlite3_bind_text(s, i++, k->client_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, k->client_port);
	sqlite3_bind_text(s, i++, k->server_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, k->server_port);
	return i;
}

#define STORE_KEY_COLS	"server, family, client_addr, client_port, " \
			"server_addr, server_port"
#define STORE_KEY_WHERE	"server = ? AND family = ? AND client_addr = ? " \
			"AND client_port = ? AND server_addr = ? AND " \
			"server_port = ?"

/* Run a prepared statement to completion; 0 or -1 (logged as what). */
static int
store_step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int r = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;

	if (r != 0)
		log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return r;
}

int
store_tcp_resume_put(struct store *st, const struct store_tcp_resume *t)
{
	sqlite3_stmt *s;
	int i, d;

	/* An upsert: a REPLACE would delete the row, and its sync point. */
	if (sqlite3_prepare_v2(st->db, "INSERT INTO tcp_resume ("
	    STORE_KEY_COLS ", c2s_isn, s2c_isn, c2s_mss, s2c_mss, "
	    "c2s_wscale, s2c_wscale, sack, timestamps, c2s_ref, s2c_ref, "
	    "created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (" STORE_KEY_COLS ") DO "
	    "UPDATE SET c2s_isn = excluded.c2s_isn, "
	    "s2c_isn = excluded.s2c_isn, c2s_mss = excluded.c2s_mss, "
	    "s2c_mss = excluded.s2c_mss, c2s_wscale = excluded.c2s_wscale, "
	    "s2c_wscale = excluded.s2c_wscale, sack = excluded.sack, "
	    "timestamps = excluded.timestamps, c2s_ref = excluded.c2s_ref, "
	    "s2c_ref = excluded.s2c_ref, updated_us = excluded.updated_us",
	    -1, &s, NULL) != SQLITE_OK) {
		log_error("store: tcp resume: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	i = store_bind_key(s, 1, &t->key);
	for (d = 0; d < 2; d++)
		sqlite3_bind_int64(s, i++, t->isn[d]);
	for (d = 0; d < 2; d++)
		sqlite3_bind_int(s, i++, t->mss[d]);
	for (d = 0; d < 2; d++)
		sqlite3_bind_int(s, i++, t->wscale[d]);
	sqlite3_bind_int(s, i++, t->sack);
	sqlite3_bind_int(s, i++, t->timestamps);
	for (d = 0; d < 2; d++)
		sqlite3_bind_int64(s, i++, (int64_t)t->ref_off[d]);
	sqlite3_bind_int64(s, i++, t->created_us);
	sqlite3_bind_int64(s, i++, t->updated_us);
	return store_step_done(st, s, "tcp resume");
}

/*
 * A cached statement: prepared at first use, reset and unbound after each
 * (store_step_cached()).
 */
static sqlite3_stmt *
store_cached(struct store *st, sqlite3_stmt **sp, const char *sql,
    const char *what)
{
	if (*sp == NULL && sqlite3_prepare_v3(st->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, sp, NULL) != SQLITE_OK) {
		log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
		*sp = NULL;
	}
	return *sp;
}

static int
store_step_cached(struct store *st, sqlite3_stmt *s, const char *what)
{
	int r = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;

	if (r != 0)
		log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

int
store_tcp_resume_refs(struct store *st, const struct store_conn_key *k,
    const uint64_t ref_off[2])
{
	sqlite3_stmt *s;

	if ((s = store_cached(st, &st->tcp_refs, "UPDATE tcp_resume SET "
	    "c2s_ref = ?, s2c_ref = ?, updated_us = ? WHERE " STORE_KEY_WHERE,
	    "tcp resume offsets")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)ref_off[0]);
	sqlite3_bind_int64(s, 2, (int64_t)ref_off[1]);
	sqlite3_bind_int64(s, 3, store_now_us());
	store_bind_key(s, 4, k);
	return store_step_cached(st, s, "tcp resume offsets");
}

int
store_tcp_resume_delete(struct store *st, const struct store_conn_key *k)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM tcp_resume WHERE "
	    STORE_KEY_WHERE, -1, &s, NULL) != SQLITE_OK) {
		log_error("store: tcp resume: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	store_bind_key(s, 1, k);
	return store_step_done(st, s, "tcp resume delete");
}

/* Bind one direction's position (NULLs when not valid) from i on. */
static int
store_bind_pos(sqlite3_stmt *s, int i, const struct store_ssh_pos *p)
{
	int j;

	if (!p->valid) {
		for (j = 0; j < 6; j++)
			sqlite3_bind_null(s, i++);
		return i;
	}
	sqlite3_bind_int64(s, i++, (int64_t)p->off);
	sqlite3_bind_int64(s, i++, p->seqnr);
	sqlite3_bind_int64(s, i++, p->kex_number);
	sqlite3_bind_int64(s, i++, (int64_t)p->packets);
	sqlite3_bind_int64(s, i++, (int64_t)p->blocks);
	if (p->cbc != NULL)
		sqlite3_bind_blob(s, i++, p->cbc, (int)p->cbc_len,
		    SQLITE_TRANSIENT);
	else
		sqlite3_bind_zeroblob(s, i++, 0);
	return i;
}

/*
 * A direction without a valid position keeps the saved one (all its
 * columns, or none: a position is one unit).
 */
#define STORE_POS_UPDATE(d) \
	#d "_off = CASE WHEN excluded." #d "_off IS NULL THEN " #d "_off " \
	"ELSE excluded." #d "_off END, " \
	#d "_seqnr = CASE WHEN excluded." #d "_off IS NULL THEN " #d \
	"_seqnr ELSE excluded." #d "_seqnr END, " \
	#d "_kex = CASE WHEN excluded." #d "_off IS NULL THEN " #d \
	"_kex ELSE excluded." #d "_kex END, " \
	#d "_packets = CASE WHEN excluded." #d "_off IS NULL THEN " #d \
	"_packets ELSE excluded." #d "_packets END, " \
	#d "_blocks = CASE WHEN excluded." #d "_off IS NULL THEN " #d \
	"_blocks ELSE excluded." #d "_blocks END, " \
	#d "_cbc = CASE WHEN excluded." #d "_off IS NULL THEN " #d \
	"_cbc ELSE excluded." #d "_cbc END, "

int
store_ssh_sync_put(struct store *st, const struct store_ssh_sync *y)
{
	sqlite3_stmt *s;
	int i;

	if ((s = store_cached(st, &st->ssh_sync_put, "INSERT INTO ssh_sync ("
	    STORE_KEY_COLS ", updated_us, c2s_off, c2s_seqnr, c2s_kex, "
	    "c2s_packets, c2s_blocks, c2s_cbc, s2c_off, s2c_seqnr, s2c_kex, "
	    "s2c_packets, s2c_blocks, s2c_cbc, state, setup_log) VALUES (?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (" STORE_KEY_COLS ") DO UPDATE SET "
	    "updated_us = excluded.updated_us, "
	    STORE_POS_UPDATE(c2s) STORE_POS_UPDATE(s2c)
	    "state = excluded.state, setup_log = CASE WHEN ? THEN "
	    "excluded.setup_log ELSE setup_log END", "ssh sync")) == NULL)
		return -1;
	i = store_bind_key(s, 1, &y->key);
	sqlite3_bind_int64(s, i++, y->updated_us);
	i = store_bind_pos(s, i, &y->dir[0]);
	i = store_bind_pos(s, i, &y->dir[1]);
	sqlite3_bind_blob(s, i++, y->state, (int)y->state_len,
	    SQLITE_TRANSIENT);
	if (y->log != NULL)
		sqlite3_bind_blob(s, i++, y->log, (int)y->log_len,
		    SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i++);
	sqlite3_bind_int(s, i++, y->log_set);
	return store_step_cached(st, s, "ssh sync");
}

/* One direction's position from column i on (six columns). */
static void
store_column_pos(sqlite3_stmt *s, int i, struct store_ssh_pos *p)
{
	memset(p, 0, sizeof(*p));
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return;
	p->valid = 1;
	p->off = (uint64_t)sqlite3_column_int64(s, i++);
	p->seqnr = (uint32_t)sqlite3_column_int64(s, i++);
	p->kex_number = (uint32_t)sqlite3_column_int64(s, i++);
	p->packets = (uint64_t)sqlite3_column_int64(s, i++);
	p->blocks = (uint64_t)sqlite3_column_int64(s, i++);
	p->cbc = sqlite3_column_blob(s, i);
	p->cbc_len = (size_t)sqlite3_column_bytes(s, i);
	if (p->cbc_len == 0)
		p->cbc = NULL;
}

int
store_resume_load(struct store *st, store_resume_cb cb, void *arg)
{
	struct store_tcp_resume t;
	struct store_ssh_sync y;
	sqlite3_stmt *s;
	int rc, i, d;

	if (sqlite3_prepare_v2(st->db, "SELECT t.server, t.family, "
	    "t.client_addr, t.client_port, t.server_addr, t.server_port, "
	    "c2s_isn, s2c_isn, c2s_mss, s2c_mss, c2s_wscale, s2c_wscale, "
	    "sack, timestamps, c2s_ref, s2c_ref, created_us, t.updated_us, "
	    "y.updated_us, c2s_off, c2s_seqnr, c2s_kex, c2s_packets, "
	    "c2s_blocks, c2s_cbc, s2c_off, s2c_seqnr, s2c_kex, s2c_packets, "
	    "s2c_blocks, s2c_cbc, state, setup_log FROM tcp_resume t "
	    "LEFT JOIN ssh_sync y USING (" STORE_KEY_COLS ") "
	    "ORDER BY t.created_us", -1, &s, NULL) != SQLITE_OK) {
		log_error("store: resume load: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&t, 0, sizeof(t));
		memset(&y, 0, sizeof(y));
		i = 0;
		t.key.server = store_column_text(s, i++);
		t.key.family = sqlite3_column_int(s, i++);
		t.key.client_addr = store_column_text(s, i++);
		t.key.client_port = (uint16_t)sqlite3_column_int(s, i++);
		t.key.server_addr = store_column_text(s, i++);
		t.key.server_port = (uint16_t)sqlite3_column_int(s, i++);
		for (d = 0; d < 2; d++)
			t.isn[d] = (uint32_t)sqlite3_column_int64(s, i++);
		for (d = 0; d < 2; d++)
			t.mss[d] = sqlite3_column_int(s, i++);
		for (d = 0; d < 2; d++)
			t.wscale[d] = sqlite3_column_int(s, i++);
		t.sack = sqlite3_column_int(s, i++);
		t.timestamps = sqlite3_column_int(s, i++);
		for (d = 0; d < 2; d++)
			t.ref_off[d] = (uint64_t)sqlite3_column_int64(s, i++);
		t.created_us = sqlite3_column_int64(s, i++);
		t.updated_us = sqlite3_column_int64(s, i++);
		y.key = t.key;
		if (sqlite3_column_type(s, i) != SQLITE_NULL) {
			y.updated_us = sqlite3_column_int64(s, i++);
			store_column_pos(s, i, &y.dir[0]);
			i += 6;
			store_column_pos(s, i, &y.dir[1]);
			i += 6;
			y.state = sqlite3_column_blob(s, i);
			y.state_len = (size_t)sqlite3_column_bytes(s, i++);
			y.log = sqlite3_column_blob(s, i);
			y.log_len = (size_t)sqlite3_column_bytes(s, i++);
			if (y.log_len == 0)
				y.log = NULL;
		}
		if (cb(arg, &t, y.state != NULL ? &y : NULL) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_error("store: resume load: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}
