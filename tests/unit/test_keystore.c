/*
 * Unit tests for src/keystore.c: loading the keys, the counter rule per
 * (server, conn_id), the attested login across rekeys, end notices,
 * rebuilding from the state file after a restart, forgetting ended
 * connections, and that a failing state file changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "keystore.h"
#include "log.h"
#include "store.h"

#include "export_fixture.h"

static char dir[] = "/tmp/sj-test-keystore-XXXXXX";
static char dbpath[256];
static struct seal_key *rcpt, *web1, *web2, *other;

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
save_pair(const struct seal_key *k, const char *name)
{
	char priv[300], pub[300];

	snprintf(priv, sizeof(priv), "%s/%s.key", dir, name);
	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name);
	assert_int_equal(seal_key_save_private(k, priv), SEAL_OK);
	assert_int_equal(seal_key_save_public(k, pub), SEAL_OK);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", dir);
	if (seal_key_generate(SEAL_KEY_X25519, &rcpt) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &web1) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &web2) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &other) != 0)
		return -1;
	save_pair(rcpt, "recovery");
	save_pair(web1, "web1");
	save_pair(web2, "web2");
	save_pair(other, "other");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	seal_key_free(rcpt);
	seal_key_free(web1);
	seal_key_free(web2);
	seal_key_free(other);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* A configuration in dir; web1's signing key file is given by web1_pub. */
static struct conf *
make_conf(const char *recovery, const char *web1_pub, uint32_t max_age)
{
	struct conf *c;
	char text[2048], err[512];

	snprintf(text, sizeof(text),
	    "interface lo\n"
	    "state_file %s\n"
	    "export_listen 127.0.0.1:7022\n"
	    "export_max_age %u\n"
	    "recovery_key %s/%s\n"
	    "server web1 {\n service_ip 198.18.0.2\n"
	    " signing_key %s/%s\n}\n"
	    "server web2 {\n service_ip 198.18.0.5\n"
	    " signing_key %s/web2.pub\n}\n"
	    "server web3 {\n service_ip 198.18.0.6\n}\n",
	    dbpath, max_age, dir, recovery, dir, web1_pub, dir);
	if (conf_parse(text, strlen(text), "t.conf", &c, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	return c;
}

static void
test_keys_load(void **state)
{
	struct keystore_keys k;
	struct conf *c;
	char err[512], want[600], p[300];

	(void)state;
	c = make_conf("recovery.key", "web1.pub", 600);
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), 0);
	assert_non_null(k.recovery);
	assert_true(seal_key_is_private(k.recovery));
	assert_non_null(k.signing[0]);
	assert_non_null(k.signing[1]);
	assert_null(k.signing[2]);		/* web3: no signing_key */
	keystore_keys_check(c, &k);
	keystore_keys_free(&k);
	assert_null(k.recovery);

	/* Export off: nothing is needed, nothing is loaded. */
	c->export_enabled = 0;
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), 0);
	assert_null(k.recovery);
	assert_null(k.signing[0]);
	conf_free(c);

	/* A missing recovery key. */
	c = make_conf("nope.key", "web1.pub", 600);
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "recovery_key %s/nope.key: No such "
	    "file or directory", dir);
	assert_string_equal(err, want);
	assert_null(k.recovery);
	conf_free(c);

	/* A recovery key readable by others. */
	path_of(p, sizeof(p), "recovery.key");
	assert_int_equal(chmod(p, 0640), 0);
	c = make_conf("recovery.key", "web1.pub", 600);
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "recovery_key %s/recovery.key: unsafe "
	    "key file owner or mode", dir);
	assert_string_equal(err, want);
	assert_int_equal(chmod(p, 0600), 0);
	conf_free(c);

	/* An Ed25519 key where the X25519 recovery key belongs. */
	c = make_conf("web1.key", "web1.pub", 600);
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "recovery_key %s/web1.key: unusable "
	    "key", dir);
	assert_string_equal(err, want);
	conf_free(c);

	/* A configured signing key that cannot be read is an error too. */
	c = make_conf("recovery.key", "gone.pub", 600);
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "server web1: signing_key %s/gone.pub: "
	    "No such file or directory", dir);
	assert_string_equal(err, want);
	assert_null(k.recovery);
	conf_free(c);
	c = make_conf("recovery.key", "recovery.pub", 600);
	assert_int_equal(keystore_keys_load(c, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unusable key"));
	conf_free(c);
}

struct env {
	struct conf		*conf;
	struct keystore_keys	 keys;
	struct store		*st;
	struct keystore		*ks;
};

static void
env_open(struct env *e, const char *web1_pub, uint32_t max_age)
{
	char err[512];

	e->conf = make_conf("recovery.key", web1_pub, max_age);
	assert_int_equal(keystore_keys_load(e->conf, &e->keys, err,
	    sizeof(err)), 0);
	assert_int_equal(store_open(dbpath, &e->st, err, sizeof(err)), 0);
	assert_int_equal(keystore_open(e->st, e->conf, &e->keys, &e->ks),
	    KEYSTORE_OK);
}

static void
env_close(struct env *e)
{
	keystore_close(e->ks);
	store_close(e->st);
	keystore_keys_free(&e->keys);
	conf_free(e->conf);
	memset(e, 0, sizeof(*e));
}

static void
env_wipe(void)
{
	char p[300];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

/* Seal kr as web1 (or web2) and give it to the keystore. */
static int
put(struct env *e, size_t server, const struct seal_keyrec *kr,
    uint64_t time_of)
{
	struct seal_header hdr;
	struct seal_keyrec *copy;
	struct buf rec;
	int r;

	fx_header(&hdr, server == 0 ? "web1" : "web2", kr->conn_id,
	    kr->counter);
	if (time_of != 0)
		hdr.time = time_of;
	fx_seal(&rec, &hdr, kr, rcpt, server == 0 ? web1 : web2);
	assert_non_null(copy = seal_keyrec_new());
	*copy = *kr;
	r = keystore_put(e->ks, server, &hdr, buf_ptr(&rec), buf_len(&rec),
	    copy, store_now_us());
	buf_free(&rec);
	return r;
}

static void
assert_keys_equal(const struct seal_keyrec *a, const struct seal_keyrec *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_equal(a->session_id, b->session_id, 32);
	assert_memory_equal(a->c2s.enc_key, b->c2s.enc_key, 32);
	assert_memory_equal(a->c2s.iv, b->c2s.iv, 12);
	assert_memory_equal(a->s2c.enc_key, b->s2c.enc_key, 16);
	assert_memory_equal(a->s2c.mac_key, b->s2c.mac_key, 32);
	assert_int_equal(a->s2c.start_seqnr, b->s2c.start_seqnr);
	assert_true(a->counter == b->counter);
}

static void
test_counters_login_end(void **state)
{
	struct env e;
	struct seal_keyrec kr0, kr1, end;
	const struct seal_keyrec *held;
	const struct keystore_conn *kc;
	struct keystore_counts n;
	uint64_t last;
	int have, closed;

	(void)state;
	env_wipe();
	env_open(&e, "web1.pub", 600);
	assert_int_equal(keystore_last(e.ks, 0, 42, &have, &last, &closed),
	    KEYSTORE_OK);
	assert_false(have);

	fx_keyrec(&kr0, 42, 0, 1);
	assert_int_equal(put(&e, 0, &kr0, 0), KEYSTORE_OK);
	assert_keys_equal(keystore_get(e.ks, 0, 42), &kr0);
	assert_null(keystore_get(e.ks, 1, 42));	/* other server */
	assert_int_equal(keystore_last(e.ks, 0, 42, &have, &last, &closed),
	    KEYSTORE_OK);
	assert_true(have && last == 0 && !closed);
	/* The keystore checks the counter rule again. */
	assert_int_equal(put(&e, 0, &kr0, 0), KEYSTORE_ERR_STATE);
	fx_keyrec(&kr1, 42, 2, 0);
	assert_int_equal(put(&e, 0, &kr1, 0), KEYSTORE_ERR_STATE);
	assert_keys_equal(keystore_get(e.ks, 0, 42), &kr0);

	/* A rekey without login keeps the attested login. */
	fx_keyrec(&kr1, 42, 1, 0);
	assert_int_equal(put(&e, 0, &kr1, 0), KEYSTORE_OK);
	held = keystore_get(e.ks, 0, 42);
	assert_keys_equal(held, &kr1);
	assert_true(held->has_login);
	assert_string_equal(held->user, "bob");
	assert_string_equal(held->auth_options, "restrict,pty");
	kc = keystore_conn(e.ks, 0, 42);
	assert_non_null(kc);
	assert_string_equal(kc->user, "bob");
	assert_string_equal(kc->auth_method, "publickey");
	assert_int_equal(kc->nrecords, 2);
	assert_int_equal(kc->kex_number, 1);
	assert_string_equal(kc->c2s_cipher, "aes256-gcm@openssh.com");
	assert_string_equal(kc->s2c_mac, "hmac-sha2-256-etm@openssh.com");
	assert_true(kc->keys_held);

	/* A second connection, of web2, with the same conn_id. */
	fx_keyrec(&kr0, 42, 0, 0);
	assert_int_equal(put(&e, 1, &kr0, 0), KEYSTORE_OK);
	keystore_counts(e.ks, &n);
	assert_int_equal(n.open, 2);
	assert_int_equal(n.keys_held, 2);

	/* The end notice wipes the keys; nothing is accepted after it. */
	fx_endrec(&end, 42, 2);
	assert_int_equal(put(&e, 0, &end, 0), KEYSTORE_OK);
	assert_null(keystore_get(e.ks, 0, 42));
	kc = keystore_conn(e.ks, 0, 42);
	assert_true(kc->closed && !kc->keys_held);
	assert_int_equal(kc->nrecords, 3);
	assert_string_equal(kc->user, "bob");
	assert_int_equal(keystore_last(e.ks, 0, 42, &have, &last, &closed),
	    KEYSTORE_OK);
	assert_true(have && last == 2 && closed);
	fx_keyrec(&kr1, 42, 3, 0);
	assert_int_equal(put(&e, 0, &kr1, 0), KEYSTORE_ERR_STATE);
	keystore_counts(e.ks, &n);
	assert_int_equal(n.open, 1);
	assert_int_equal(n.closed, 1);
	assert_int_equal(n.keys_held, 1);
	/* The state file holds no plaintext key bytes. */
	assert_false(fx_file_has_keys(dbpath, &kr0));
	env_close(&e);
	assert_false(fx_file_has_keys(dbpath, &kr0));
	assert_false(fx_file_has_keys(dbpath, &kr1));
}

/*
 * Records ahead of the capture: the tracker asks for the keys of an earlier
 * KEX after newer records replaced them (lab 016 under load).
 */
static void
test_replaced_keys(void **state)
{
	struct env e;
	struct seal_keyrec kr[KEYSTORE_OLD_KEYS + 3], end;
	struct seal_endpoint cli, svc;
	const struct seal_keyrec *got;
	uint32_t i, n = KEYSTORE_OLD_KEYS + 3;

	(void)state;
	env_wipe();
	env_open(&e, "web1.pub", 600);
	for (i = 0; i < n; i++) {
		fx_keyrec(&kr[i], 7, i, i == 0);
		assert_int_equal(put(&e, 0, &kr[i], 0), KEYSTORE_OK);
	}
	cli = kr[0].client;
	svc = kr[0].server;
	got = keystore_find_tuple(e.ks, 0, SEAL_AF_INET, &cli, &svc);
	assert_keys_equal(got, &kr[n - 1]);
	/* The newest and KEYSTORE_OLD_KEYS replaced ones are there... */
	assert_null(keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 2 - KEYSTORE_OLD_KEYS));
	assert_null(keystore_find_tuple_kex(e.ks, 1, SEAL_AF_INET, &cli, &svc,
	    n - 2));			/* other server */
	got = keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 1 - KEYSTORE_OLD_KEYS);
	assert_keys_equal(got, &kr[n - 1 - KEYSTORE_OLD_KEYS]);
	got = keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 3);
	assert_keys_equal(got, &kr[n - 3]);
	/* ...and asking for a KEX wipes the earlier ones. */
	assert_null(keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 4));
	got = keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 2);
	assert_keys_equal(got, &kr[n - 2]);
	got = keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 1);
	assert_keys_equal(got, &kr[n - 1]);
	assert_null(keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 2));
	assert_null(keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n));
	/* The end notice wipes them all. */
	fx_keyrec(&kr[0], 7, n, 0);
	assert_int_equal(put(&e, 0, &kr[0], 0), KEYSTORE_OK);
	fx_endrec(&end, 7, n + 1);
	assert_int_equal(put(&e, 0, &end, 0), KEYSTORE_OK);
	assert_null(keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n - 1));
	assert_null(keystore_find_tuple_kex(e.ks, 0, SEAL_AF_INET, &cli, &svc,
	    n));
	env_close(&e);
}

struct walk {
	int	 n;
	char	 names[8][8];
	uint64_t ids[8];
};

static int
walk_cb(void *arg, const struct keystore_conn *kc)
{
	struct walk *w = arg;

	if (w->n < 8) {
		snprintf(w->names[w->n], sizeof(w->names[0]), "%s",
		    kc->server);
		w->ids[w->n] = kc->conn_id;
	}
	w->n++;
	return 0;
}

static void
test_restart(void **state)
{
	struct env e;
	struct seal_keyrec kr[3], end;
	const struct keystore_conn *kc;
	struct walk w;
	uint64_t last;
	int have, closed, i;

	(void)state;
	env_wipe();
	env_open(&e, "web1.pub", 600);
	for (i = 0; i < 3; i++) {
		fx_keyrec(&kr[i], 0xfedcba9876543210ULL, (uint64_t)i, i == 0);
		assert_int_equal(put(&e, 0, &kr[i], 0), KEYSTORE_OK);
	}
	fx_keyrec(&end, 7, 0, 1);
	assert_int_equal(put(&e, 1, &end, 0), KEYSTORE_OK);
	fx_endrec(&end, 7, 1);
	assert_int_equal(put(&e, 1, &end, 0), KEYSTORE_OK);
	fx_keyrec(&end, 5, 0, 1);
	assert_int_equal(put(&e, 0, &end, 0), KEYSTORE_OK);
	env_close(&e);

	/* Everything comes back, keys included, from the sealed records. */
	env_open(&e, "web1.pub", 600);
	assert_keys_equal(keystore_get(e.ks, 0, 0xfedcba9876543210ULL),
	    &kr[2]);
	assert_true(keystore_get(e.ks, 0, 0xfedcba9876543210ULL)->has_login);
	assert_keys_equal(keystore_get(e.ks, 0, 5), &end);
	kc = keystore_conn(e.ks, 0, 0xfedcba9876543210ULL);
	assert_int_equal(kc->nrecords, 3);
	assert_true(kc->last_counter == 2);
	assert_string_equal(kc->user, "bob");
	assert_string_equal(kc->kex_alg, "curve25519-sha256");
	assert_int_equal(kc->client.port, 50123);
	assert_memory_equal(kc->client.addr, kr[0].client.addr, 4);
	kc = keystore_conn(e.ks, 1, 7);
	assert_non_null(kc);
	assert_true(kc->closed);
	assert_null(keystore_get(e.ks, 1, 7));
	/* The counter rule survives the restart. */
	assert_int_equal(put(&e, 0, &kr[2], 0), KEYSTORE_ERR_STATE);
	memset(&w, 0, sizeof(w));
	assert_int_equal(keystore_walk(e.ks, walk_cb, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.names[0], "web1");
	assert_true(w.ids[0] == 5);
	assert_true(w.ids[1] == 0xfedcba9876543210ULL);
	assert_string_equal(w.names[2], "web2");
	env_close(&e);

	/* Another pinned key: the records no longer verify, keys are not
	 * restored, but the connection and its counter are. */
	env_open(&e, "other.pub", 600);
	assert_null(keystore_get(e.ks, 0, 0xfedcba9876543210ULL));
	kc = keystore_conn(e.ks, 0, 0xfedcba9876543210ULL);
	assert_non_null(kc);
	assert_false(kc->closed);
	assert_false(kc->keys_held);
	assert_int_equal(keystore_last(e.ks, 0, 0xfedcba9876543210ULL, &have,
	    &last, &closed), KEYSTORE_OK);
	assert_true(have && last == 2);
	env_close(&e);
}

static void
test_expire(void **state)
{
	struct env e;
	struct seal_keyrec kr;
	uint64_t last;
	time_t now = time(NULL);
	int have, closed;

	(void)state;
	env_wipe();
	env_open(&e, "web1.pub", 600);
	fx_keyrec(&kr, 9, 0, 1);
	assert_int_equal(put(&e, 0, &kr, 0), KEYSTORE_OK);
	fx_endrec(&kr, 9, 1);
	assert_int_equal(put(&e, 0, &kr, 0), KEYSTORE_OK);
	fx_keyrec(&kr, 10, 0, 1);
	assert_int_equal(put(&e, 0, &kr, 0), KEYSTORE_OK);
	assert_int_equal(keystore_expire(e.ks, now + 300), 0);
	assert_non_null(keystore_conn(e.ks, 0, 9));
	/* After export_max_age its records could not pass the age check:
	 * forgotten, in memory and in the state file.  Open ones stay. */
	assert_int_equal(keystore_expire(e.ks, now + 602), 1);
	assert_null(keystore_conn(e.ks, 0, 9));
	assert_int_equal(keystore_last(e.ks, 0, 9, &have, &last, &closed),
	    KEYSTORE_OK);
	assert_false(have);
	assert_non_null(keystore_get(e.ks, 0, 10));
	env_close(&e);

	/* With the age check off, the state file remembers for good. */
	env_wipe();
	env_open(&e, "web1.pub", 0);
	fx_keyrec(&kr, 9, 0, 1);
	assert_int_equal(put(&e, 0, &kr, 0), KEYSTORE_OK);
	fx_endrec(&kr, 9, 1);
	assert_int_equal(put(&e, 0, &kr, 0), KEYSTORE_OK);
	assert_int_equal(keystore_expire(e.ks, now + 100000), 1);
	assert_null(keystore_conn(e.ks, 0, 9));
	assert_int_equal(keystore_last(e.ks, 0, 9, &have, &last, &closed),
	    KEYSTORE_OK);
	assert_true(have && closed && last == 1);
	fx_keyrec(&kr, 9, 0, 1);
	assert_int_equal(put(&e, 0, &kr, 0), KEYSTORE_ERR_STATE);
	env_close(&e);
}

/* While another process holds the state file locked, nothing changes. */
static void
test_store_failure(void **state)
{
	struct env e;
	struct seal_keyrec kr0, kr1;
	uint64_t last;
	sqlite3 *db;
	int have, closed;

	(void)state;
	env_wipe();
	env_open(&e, "web1.pub", 600);
	fx_keyrec(&kr0, 11, 0, 1);
	assert_int_equal(put(&e, 0, &kr0, 0), KEYSTORE_OK);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	fx_keyrec(&kr1, 11, 1, 0);
	assert_int_equal(put(&e, 0, &kr1, 0), KEYSTORE_ERR_STORE);
	assert_keys_equal(keystore_get(e.ks, 0, 11), &kr0);
	assert_int_equal(keystore_last(e.ks, 0, 11, &have, &last, &closed),
	    KEYSTORE_OK);
	assert_true(have && last == 0);
	fx_keyrec(&kr1, 12, 0, 1);
	assert_int_equal(put(&e, 0, &kr1, 0), KEYSTORE_ERR_STORE);
	assert_null(keystore_conn(e.ks, 0, 12));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	fx_keyrec(&kr1, 11, 1, 0);
	assert_int_equal(put(&e, 0, &kr1, 0), KEYSTORE_OK);
	env_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_load),
		cmocka_unit_test(test_counters_login_end),
		cmocka_unit_test(test_replaced_keys),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_store_failure),
	};

	log_init("test_keystore", 1, 0);
	return cmocka_run_group_tests_name("keystore", tests, setup,
	    teardown);
}
