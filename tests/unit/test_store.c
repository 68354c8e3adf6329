/* Unit tests for src/store.c: file mode, WAL, schema versioning, events. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_reopen),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_open_mode_tightened),
		cmocka_unit_test(test_not_a_database),
	};

	log_init("test_store", 1, 0);
	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
