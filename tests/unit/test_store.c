/*
 * Unit tests for src/store.c: file mode, WAL, schema versioning and the
 * 1 -> 2 migration, events, export connections and sealed records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

static char dir[] = "/tmp/sj-test-store-XXXXXX";
static char path[256];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/sub/state.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

struct collect {
	int	n;
	char	kinds[8][32];
	char	details[8][64];
};

static int
collect_cb(void *arg, const struct store_event *ev)
{
	struct collect *c = arg;

	if (c->n < 8) {
		snprintf(c->kinds[c->n], sizeof(c->kinds[0]), "%s", ev->kind);
		snprintf(c->details[c->n], sizeof(c->details[0]), "%s",
		    ev->detail ? ev->detail : "(null)");
	}
	c->n++;
	return 0;
}

static void
test_create_and_reopen(void **state)
{
	struct store *st;
	struct collect col;
	struct stat sb;
	char err[512], s[16], walpath[300];
	int64_t since;

	(void)state;
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_put_event(st, "web1", "alive", "rtt %d ms",
	    3), 0);
	assert_int_equal(store_put_event(st, NULL, "daemon-start", NULL), 0);
	assert_int_equal(store_put_server_state(st, "web1", "alive", 42), 0);
	/* WAL: the -wal file exists while the database is open. */
	snprintf(walpath, sizeof(walpath), "%s-wal", path);
	assert_int_equal(stat(walpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(st);

	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	memset(&col, 0, sizeof(col));
	assert_int_equal(store_events(st, 0, collect_cb, &col), 0);
	assert_int_equal(col.n, 2);
	assert_string_equal(col.kinds[0], "alive");
	assert_string_equal(col.details[0], "rtt 3 ms");
	assert_string_equal(col.kinds[1], "daemon-start");
	assert_string_equal(col.details[1], "(null)");
	/* The limit keeps the newest, in order. */
	memset(&col, 0, sizeof(col));
	assert_int_equal(store_events(st, 1, collect_cb, &col), 0);
	assert_int_equal(col.n, 1);
	assert_string_equal(col.kinds[0], "daemon-start");
	assert_int_equal(store_get_server_state(st, "web1", s, sizeof(s),
	    &since), 1);
	assert_string_equal(s, "alive");
	assert_int_equal(since, 42);
	assert_int_equal(store_get_server_state(st, "nope", s, sizeof(s),
	    &since), 0);
	store_close(st);
}

static void
test_newer_schema_refused(void **state)
{
	struct store *st;
	sqlite3 *db;
	char err[512];

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "schema version 99 is newer"));
	assert_int_equal(unlink(path), 0);
}

static void
test_open_mode_tightened(void **state)
{
	struct store *st;
	struct stat sb;
	char err[512];
	FILE *f;

	(void)state;
	unlink(path);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(st);
}

static void
test_not_a_database(void **state)
{
	struct store *st;
	char err[512];
	FILE *f;

	(void)state;
	unlink(path);
	assert_non_null(f = fopen(path, "w"));
	fputs("this is not an SQLite file, but it is long enough to look "
	    "like a header of one hundred bytes or so, which SQLite reads "
	    "first...............", f);
	fclose(f);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	unlink(path);
}

/* A version 1 file, as the previous release wrote it, migrates to 2. */
static void
test_migrate_from_v1(void **state)
{
	struct store *st;
	struct collect col;
	sqlite3 *db;
	char err[512];

	(void)state;
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
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
	    "  since_us INTEGER NOT NULL);"
	    "INSERT INTO events (ts_us, kind, detail) VALUES (1, 'old', 'v1');"
	    "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	memset(&col, 0, sizeof(col));
	assert_int_equal(store_events(st, 0, collect_cb, &col), 0);
	assert_int_equal(col.n, 1);
	assert_string_equal(col.kinds[0], "old");
	store_close(st);
	unlink(path);
}

static void
sample_conn(struct store_export_conn *c, uint64_t conn_id, uint64_t counter)
{
	memset(c, 0, sizeof(*c));
	c->server = "web1";
	c->conn_id = conn_id;
	c->last_counter = counter;
	c->nrecords = counter + 1;
	c->first_us = 1000;
	c->last_us = 2000 + (int64_t)counter;
	c->last_time = 1750000000;
	c->family = 4;
	c->client_addr = "198.18.0.3";
	c->client_port = 50000;
	c->server_addr = "198.18.0.2";
	c->server_port = 22;
	c->kex_number = (uint32_t)counter;
	c->kex_alg = "curve25519-sha256";
	c->hostkey_alg = "ssh-ed25519";
	c->c2s_cipher = c->s2c_cipher = "aes128-ctr";
	c->c2s_mac = c->s2c_mac = "hmac-sha2-256";
	c->c2s_comp = c->s2c_comp = "none";
	c->strict_kex = 1;
	c->user = "bob";
	c->auth_method = "publickey";
}

struct rows {
	int		n;
	uint64_t	conn_id[4];
	int		closed[4];
	char		user[4][16];
	uint64_t	counters[8];
	size_t		lens[8];
	int		nrec;
};

static int
rows_cb(void *arg, const struct store_export_conn *c)
{
	struct rows *r = arg;

	if (r->n < 4) {
		r->conn_id[r->n] = c->conn_id;
		r->closed[r->n] = c->closed;
		snprintf(r->user[r->n], sizeof(r->user[0]), "%s", c->user);
	}
	r->n++;
	return 0;
}

static int
recs_cb(void *arg, uint64_t counter, int64_t recv_us, const uint8_t *rec,
    size_t len)
{
	struct rows *r = arg;

	(void)recv_us;
	if (r->nrec < 8) {
		r->counters[r->nrec] = counter;
		r->lens[r->nrec] = len;
		assert_int_equal(rec[0], (uint8_t)counter);
	}
	r->nrec++;
	return 0;
}

static void
test_export_rows(void **state)
{
	struct store *st;
	struct store_export_conn c;
	struct rows rows;
	uint8_t rec[200];
	uint64_t last;
	int closed;
	char err[512];
	/* conn_id above INT64_MAX: stored as its bit pattern. */
	const uint64_t big = 0xfedcba9876543210ULL;
	uint64_t i;

	(void)state;
	unlink(path);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	assert_int_equal(store_export_lookup(st, "web1", big, &last,
	    &closed), 0);
	for (i = 0; i < 3; i++) {
		sample_conn(&c, big, i);
		memset(rec, (int)i, sizeof(rec));
		assert_int_equal(store_export_record(st, &c, i, 5, rec,
		    sizeof(rec) - i), 0);
	}
	/* The same counter twice is refused and changes nothing. */
	sample_conn(&c, big, 2);
	c.user = "mallory";
	assert_int_equal(store_export_record(st, &c, 2, 5, rec, 10), -1);
	sample_conn(&c, 7, 0);
	rec[0] = 0;
	assert_int_equal(store_export_record(st, &c, 0, 5, rec, 151), 0);

	assert_int_equal(store_export_lookup(st, "web1", big, &last,
	    &closed), 1);
	assert_true(last == 2);
	assert_false(closed);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(store_export_conns(st, rows_cb, &rows), 0);
	assert_int_equal(rows.n, 2);
	assert_true(rows.conn_id[0] == big);	/* stored negative */
	assert_true(rows.conn_id[1] == 7);
	assert_string_equal(rows.user[0], "bob");
	assert_int_equal(store_export_records(st, "web1", big, recs_cb,
	    &rows), 0);
	assert_int_equal(rows.nrec, 3);
	assert_true(rows.counters[0] == 0 && rows.counters[2] == 2);
	assert_int_equal(rows.lens[2], sizeof(rec) - 2);

	/* An end: the row stays (replay guard), the records go. */
	sample_conn(&c, big, 3);
	c.closed = 1;
	c.closed_us = 3000;
	assert_int_equal(store_export_close(st, &c), 0);
	assert_int_equal(store_export_lookup(st, "web1", big, &last,
	    &closed), 1);
	assert_true(last == 3);
	assert_true(closed);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(store_export_records(st, "web1", big, recs_cb,
	    &rows), 0);
	assert_int_equal(rows.nrec, 0);
	/* Purge: only ended connections, only when both times are older. */
	assert_int_equal(store_export_purge(st, 2000), 0);
	assert_int_equal(store_export_purge(st, 1750000000LL * 1000000), 0);
	assert_int_equal(store_export_purge(st, 1750000001LL * 1000000), 1);
	assert_int_equal(store_export_lookup(st, "web1", big, &last,
	    &closed), 0);
	assert_int_equal(store_export_lookup(st, "web1", 7, &last,
	    &closed), 1);
	store_close(st);
	unlink(path);
}

struct conns {
	int				 n;
	struct store_takeover_conn	 c[4];
	char				 recover[4][8];
};

static int
conns_cb(void *arg, const struct store_takeover_conn *c)
{
	struct conns *cs = arg;

	if (cs->n < 4) {
		cs->c[cs->n] = *c;
		snprintf(cs->recover[cs->n], sizeof(cs->recover[0]), "%s",
		    c->recover);
		cs->c[cs->n].recover = cs->recover[cs->n];
		cs->c[cs->n].client_addr = cs->c[cs->n].service_addr =
		    cs->c[cs->n].fate = cs->c[cs->n].reason = NULL;
	}
	cs->n++;
	return 0;
}

/*
 * Taken-over connections keep what recovered them and, for recover ssh,
 * jeebs-replay's report; a file of schema 4 migrates with its rows.
 */
static void
test_takeover_conns(void **state)
{
	struct store_takeover t;
	struct store_takeover_conn c;
	struct store *st;
	struct conns cs;
	sqlite3 *db;
	char err[512];
	int64_t id;

	(void)state;
	unlink(path);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	memset(&t, 0, sizeof(t));
	t.server = "web1";
	t.cause = "dead";
	t.state = "handing-off";
	t.dead_us = 1000;
	assert_true((id = store_takeover_new(st, &t)) > 0);
	memset(&c, 0, sizeof(c));
	c.takeover_id = id;
	c.client_addr = "198.18.0.10";
	c.client_port = 40000;
	c.service_addr = "198.18.0.2";
	c.service_port = 22;
	c.fate = "recovered";
	c.reason = "";
	c.rebuild_ns = 1500;
	c.recover = "exec";
	assert_int_equal(store_takeover_conn_put(st, &c), 0);
	c.n = 1;
	c.recover = "ssh";
	c.ssh_reported = 1;
	c.sshd_pid = 4242;
	c.sshd_us = 12000;
	c.replay_us = 3100;
	c.cutover_us = 400;
	c.messages = 17;
	assert_int_equal(store_takeover_conn_put(st, &c), 0);
	c.n = 2;
	c.ssh_reported = 0;
	c.fate = "reset";
	assert_int_equal(store_takeover_conn_put(st, &c), 0);
	memset(&cs, 0, sizeof(cs));
	assert_int_equal(store_takeover_conns(st, id, conns_cb, &cs), 0);
	assert_int_equal(cs.n, 3);
	assert_string_equal(cs.c[0].recover, "exec");
	assert_false(cs.c[0].ssh_reported);
	assert_string_equal(cs.c[1].recover, "ssh");
	assert_true(cs.c[1].ssh_reported);
	assert_int_equal(cs.c[1].sshd_pid, 4242);
	assert_int_equal(cs.c[1].sshd_us, 12000);
	assert_int_equal(cs.c[1].replay_us, 3100);
	assert_int_equal(cs.c[1].cutover_us, 400);
	assert_int_equal(cs.c[1].messages, 17);
	assert_string_equal(cs.c[2].recover, "ssh");
	assert_false(cs.c[2].ssh_reported);
	store_close(st);

	/* Back to schema 4, a row in it, and forward again. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "ALTER TABLE takeover_conns DROP COLUMN recover;"
	    "ALTER TABLE takeover_conns DROP COLUMN sshd_pid;"
	    "ALTER TABLE takeover_conns DROP COLUMN sshd_us;"
	    "ALTER TABLE takeover_conns DROP COLUMN replay_us;"
	    "ALTER TABLE takeover_conns DROP COLUMN cutover_us;"
	    "ALTER TABLE takeover_conns DROP COLUMN messages;"
	    "PRAGMA user_version = 4;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(st), 5);
	memset(&cs, 0, sizeof(cs));
	assert_int_equal(store_takeover_conns(st, id, conns_cb, &cs), 0);
	assert_int_equal(cs.n, 3);
	assert_string_equal(cs.c[1].recover, "");
	assert_false(cs.c[1].ssh_reported);
	assert_int_equal(cs.c[1].rebuild_ns, 1500);
	store_close(st);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_reopen),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_open_mode_tightened),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_migrate_from_v1),
		cmocka_unit_test(test_export_rows),
		cmocka_unit_test(test_takeover_conns),
	};

	log_init("test_store", 1, 0);
	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
