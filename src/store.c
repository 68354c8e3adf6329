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
