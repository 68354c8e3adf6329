/*
 * Unit tests for src/export.c: the real export listener on 127.0.0.1 in an
 * ev loop that the test drives step by step, with clients on 127.0.0.1,
 * 127.0.0.2 and 127.0.0.3.  Every answer of docs/export-format.md
 * section 8: accepted, duplicate, rejected (reordered, wrong signer, wrong
 * recipient, flipped bits, unknown or misplaced sender, stale), framing
 * errors closing only their connection, refused peers, end notices,
 * restarts, and no plaintext key byte in the state file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "export.h"
#include "keystore.h"
#include "log.h"
#include "store.h"

#include "export_fixture.h"

#define CLOSED		-1
#define TIMEOUT		-2

static char dir[] = "/tmp/sj-test-export-XXXXXX";
static char dbpath[256], walpath[300];
static uint16_t port;
static struct seal_key *rcpt, *other_rcpt, *web1, *web2, *web3, *forger;
static struct ev_loop *loop;

struct env {
	struct conf		*conf;
	struct keystore_keys	 keys;
	struct store		*st;
	struct keystore		*ks;
};
static struct env env;

static void
save_pair(const struct seal_key *k, const char *name)
{
	char priv[300], pub[300];

	snprintf(priv, sizeof(priv), "%s/%s.key", dir, name);
	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name);
	assert_int_equal(seal_key_save_private(k, priv), SEAL_OK);
	assert_int_equal(seal_key_save_public(k, pub), SEAL_OK);
}

/* A port that was free a moment ago. */
static uint16_t
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		return 0;
	close(fd);
	return ntohs(sin.sin_port);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", dir);
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	if (seal_key_generate(SEAL_KEY_X25519, &rcpt) != 0 ||
	    seal_key_generate(SEAL_KEY_X25519, &other_rcpt) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &web1) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &web2) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &web3) != 0 ||
	    seal_key_generate(SEAL_KEY_ED25519, &forger) != 0)
		return -1;
	save_pair(rcpt, "recovery");
	save_pair(web1, "web1");
	save_pair(web2, "web2");
	if ((port = free_port()) == 0)
		return -1;
	loop = ev_default_loop(0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	seal_key_free(rcpt);
	seal_key_free(other_rcpt);
	seal_key_free(web1);
	seal_key_free(web2);
	seal_key_free(web3);
	seal_key_free(forger);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* The daemon's export side, as main() wires it. */
static void
env_start(void)
{
	char text[2048], err[512];

	snprintf(text, sizeof(text),
	    "interface lo\n"
	    "state_file %s\n"
	    "export_listen 127.0.0.1:%u\n"
	    "recovery_key %s/recovery.key\n"
	    "server web1 {\n service_ip 198.18.0.2\n export_from 127.0.0.1\n"
	    " signing_key %s/web1.pub\n}\n"
	    "server web2 {\n service_ip 198.18.0.5\n export_from 127.0.0.2\n"
	    " signing_key %s/web2.pub\n}\n"
	    "server web3 {\n service_ip 198.18.0.6\n"
	    " export_from 127.0.0.1\n}\n",
	    dbpath, port, dir, dir, dir);
	if (conf_parse(text, strlen(text), "t.conf", &env.conf, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(env.conf->export_max_age, 600);
	assert_int_equal(keystore_keys_load(env.conf, &env.keys, err,
	    sizeof(err)), 0);
	assert_int_equal(store_open(dbpath, &env.st, err, sizeof(err)), 0);
	assert_int_equal(keystore_open(env.st, env.conf, &env.keys, &env.ks),
	    KEYSTORE_OK);
	assert_int_equal(export_init(loop, env.conf, &env.keys, env.ks), 0);
}

static void
env_stop(void)
{
	export_fini();
	keystore_close(env.ks);
	store_close(env.st);
	keystore_keys_free(&env.keys);
	conf_free(env.conf);
	memset(&env, 0, sizeof(env));
}

/* After a failed test too: leave no listener behind for the next one. */
static int
env_cleanup(void **state)
{
	(void)state;
	if (env.conf != NULL)
		env_stop();
	return 0;
}

static void
env_wipe(void)
{
	char p[300];

	unlink(dbpath);
	unlink(walpath);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

/* A client connection from src (127.0.0.x) to the listener. */
static int
cli_connect(const char *src)
{
	struct sockaddr_in sin;
	int fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	/* The kernel completes the handshake before the daemon accepts. */
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
cli_send(int fd, const void *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * Run the daemon's loop until the client has 24 bytes (0), sees the
 * connection closed (CLOSED) or 3 s pass (TIMEOUT).
 */
static int
pump(int fd, uint8_t ack[EXPORT_ACK_LEN])
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t have = 0;
	ssize_t n;
	int i;

	for (i = 0; i < 3000; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		if (poll(&pfd, 1, 1) != 1)
			continue;
		n = recv(fd, ack + have, EXPORT_ACK_LEN - have, MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return CLOSED;
		if (n > 0 && (have += (size_t)n) == EXPORT_ACK_LEN)
			return 0;
	}
	return TIMEOUT;
}

/* Let the loop run a little without expecting anything. */
static void
spin(void)
{
	int i;

	for (i = 0; i < 20; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void
expect_ack(int fd, int status, uint64_t conn_id, uint64_t counter)
{
	uint8_t ack[EXPORT_ACK_LEN];
	struct buf b;
	uint8_t st, magic[4], zero[3];
	uint64_t id, ctr;

	assert_int_equal(pump(fd, ack), 0);
	buf_view(&b, ack, sizeof(ack));
	assert_int_equal(buf_get(&b, magic, 4), 0);
	assert_memory_equal(magic, "SJA1", 4);
	assert_int_equal(buf_get_u8(&b, &st), 0);
	assert_int_equal(buf_get(&b, zero, 3), 0);
	assert_int_equal(zero[0] | zero[1] | zero[2], 0);
	assert_int_equal(buf_get_u64(&b, &id), 0);
	assert_int_equal(buf_get_u64(&b, &ctr), 0);
	if (st != status || id != conn_id || ctr != counter)
		fail_msg("ack %u %016llx#%llu, want %d %016llx#%llu", st,
		    (unsigned long long)id, (unsigned long long)ctr, status,
		    (unsigned long long)conn_id,
		    (unsigned long long)counter);
}

static void
expect_closed(int fd)
{
	uint8_t ack[EXPORT_ACK_LEN];

	assert_int_equal(pump(fd, ack), CLOSED);
	close(fd);
}

/* Seal kr as sender with the given keys and send it. */
static void
send_rec(int fd, const char *sender, const struct seal_keyrec *kr,
    const struct seal_key *to, const struct seal_key *by)
{
	struct seal_header hdr;
	struct buf rec;

	fx_header(&hdr, sender, kr->conn_id, kr->counter);
	fx_seal(&rec, &hdr, kr, to, by);
	cli_send(fd, buf_ptr(&rec), buf_len(&rec));
	buf_free(&rec);
}

static void
assert_held(size_t server, const struct seal_keyrec *kr)
{
	const struct seal_keyrec *held = keystore_get(env.ks, server,
	    kr->conn_id);

	assert_non_null(held);
	assert_true(held->counter == kr->counter);
	assert_memory_equal(held->c2s.enc_key, kr->c2s.enc_key, 32);
	assert_memory_equal(held->s2c.mac_key, kr->s2c.mac_key, 32);
	assert_memory_equal(held->session_id, kr->session_id, 32);
}

static void
assert_no_plaintext(const struct seal_keyrec *kr)
{
	if (fx_file_has_keys(dbpath, kr) || fx_file_has_keys(walpath, kr))
		fail_msg("plaintext key bytes of %016llx#%llu in the state "
		    "file", (unsigned long long)kr->conn_id,
		    (unsigned long long)kr->counter);
}

static void
test_keys_line(void **state)
{
	struct seal_keyrec kr;
	char line[256];

	(void)state;
	memset(&kr, 0, sizeof(kr));
	kr.conn_id = 0x0123456789abcdefULL;
	kr.kex_number = 2;
	memset(kr.session_id, 0x11, 32);
	kr.session_id_len = 32;
	memset(kr.c2s.enc_key, 0x22, 16);
	kr.c2s.enc_key_len = 16;
	memset(kr.c2s.iv, 0x33, 16);
	kr.c2s.iv_len = 16;
	memset(kr.c2s.mac_key, 0x44, 32);
	kr.c2s.mac_key_len = 32;
	kr.c2s.start_seqnr = 3;
	kr.c2s.strict_kex = 1;
	memset(kr.s2c.enc_key, 0x55, 64);
	kr.s2c.enc_key_len = 64;
	kr.s2c.start_seqnr = 7;
	kr.s2c.strict_kex = 1;
	/* Expected values from sha256sum, independently. */
	assert_int_equal(export_keys_line(&kr, line, sizeof(line)), 0);
	assert_string_equal(line, "failover-keys conn=0123456789abcdef kex=2 "
	    "sid=02d449a31fbb267c "
	    "c2s=3dc30fbac8417f76/a088eff91e38dff1/bb391415c05e39d7/3 "
	    "s2c=3d9eae666b06b1a9/e3b0c44298fc1c14/e3b0c44298fc1c14/7 "
	    "strict=1");
	assert_int_equal(export_keys_line(&kr, line, 20), -1);
}

static void
test_accept_duplicate_reorder(void **state)
{
	struct seal_keyrec kr0, kr1, kr2;
	struct seal_header hdr;
	struct export_stats es;
	struct buf rec;
	const struct keystore_conn *kc;
	const uint64_t id = 0x8877665544332211ULL;
	int fd;

	(void)state;
	env_wipe();
	env_start();
	fd = cli_connect("127.0.0.1");
	fx_keyrec(&kr0, id, 0, 1);
	fx_header(&hdr, "web1", id, 0);
	fx_seal(&rec, &hdr, &kr0, rcpt, web1);
	cli_send(fd, buf_ptr(&rec), buf_len(&rec));
	expect_ack(fd, EXPORT_ACK_ACCEPTED, id, 0);
	assert_held(0, &kr0);
	kc = keystore_conn(env.ks, 0, id);
	assert_non_null(kc);
	assert_true(kc->keys_held && !kc->closed);
	assert_string_equal(kc->user, "bob");
	/* The very same bytes again: a duplicate, nothing changes. */
	cli_send(fd, buf_ptr(&rec), buf_len(&rec));
	expect_ack(fd, EXPORT_ACK_DUPLICATE, id, 0);
	buf_free(&rec);
	/* Counter 2 skips 1: rejected. */
	fx_keyrec(&kr2, id, 2, 0);
	send_rec(fd, "web1", &kr2, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_REJECTED, id, 2);
	assert_held(0, &kr0);
	/* Then 1 and 2 in order, in one write. */
	fx_keyrec(&kr1, id, 1, 0);
	send_rec(fd, "web1", &kr1, rcpt, web1);
	send_rec(fd, "web1", &kr2, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, id, 1);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, id, 2);
	assert_held(0, &kr2);
	assert_int_equal(keystore_conn(env.ks, 0, id)->nrecords, 3);
	export_get_stats(&es);
	assert_int_equal(es.received, 5);
	assert_int_equal(es.accepted, 3);
	assert_int_equal(es.duplicates, 1);
	assert_int_equal(es.rejected, 1);
	assert_int_equal(es.conns, 1);
	/* No plaintext in the state file, with the database open or not. */
	assert_no_plaintext(&kr0);
	assert_no_plaintext(&kr2);
	close(fd);
	spin();
	env_stop();
	assert_no_plaintext(&kr0);
	assert_no_plaintext(&kr1);
	assert_no_plaintext(&kr2);
}

static void
test_rejections(void **state)
{
	struct seal_keyrec kr;
	struct seal_header hdr;
	struct buf rec;
	uint8_t bytes[SEAL_RECORD_MAX];
	size_t len;
	int fd;

	(void)state;
	env_wipe();
	env_start();
	fd = cli_connect("127.0.0.1");
	/* Signed with a key that is not web1's pinned one. */
	fx_keyrec(&kr, 1, 0, 1);
	send_rec(fd, "web1", &kr, rcpt, forger);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	/* Sealed to another recovery key. */
	send_rec(fd, "web1", &kr, other_rcpt, web1);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	/* An unknown sender, and a server without signing_key. */
	send_rec(fd, "web9", &kr, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	send_rec(fd, "web3", &kr, rcpt, web3);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	/* web2's records must come from web2's export_from. */
	send_rec(fd, "web2", &kr, rcpt, web2);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	/* Stale: an hour old with export_max_age 600. */
	fx_header(&hdr, "web1", 1, 0);
	hdr.time -= 3600;
	fx_seal(&rec, &hdr, &kr, rcpt, web1);
	cli_send(fd, buf_ptr(&rec), buf_len(&rec));
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	buf_free(&rec);
	/* One flipped bit: in the ciphertext, the signature, the conn_id. */
	fx_header(&hdr, "web1", 1, 0);
	fx_seal(&rec, &hdr, &kr, rcpt, web1);
	len = buf_len(&rec);
	memcpy(bytes, buf_ptr(&rec), len);
	buf_free(&rec);
	bytes[70 + 4 + 10] ^= 0x01;
	cli_send(fd, bytes, len);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	bytes[70 + 4 + 10] ^= 0x01;
	bytes[len - 1] ^= 0x80;
	cli_send(fd, bytes, len);
	expect_ack(fd, EXPORT_ACK_REJECTED, 1, 0);
	bytes[len - 1] ^= 0x80;
	bytes[14 + 4 + 7] ^= 0x04;	/* conn_id 1 -> 5 */
	cli_send(fd, bytes, len);
	expect_ack(fd, EXPORT_ACK_REJECTED, 5, 0);
	bytes[14 + 4 + 7] ^= 0x04;
	/* Nothing of all that was kept. */
	assert_null(keystore_conn(env.ks, 0, 1));
	assert_null(keystore_conn(env.ks, 0, 5));
	assert_null(keystore_conn(env.ks, 1, 1));
	/* The connection goes on: the intact record is accepted. */
	cli_send(fd, bytes, len);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, 1, 0);
	assert_held(0, &kr);
	close(fd);
	spin();
	env_stop();
}

static void
test_source_addresses(void **state)
{
	struct seal_keyrec kr;
	struct export_stats es;
	int fd, fd2;

	(void)state;
	env_wipe();
	env_start();
	fd2 = cli_connect("127.0.0.2");
	fx_keyrec(&kr, 2, 0, 1);
	send_rec(fd2, "web2", &kr, rcpt, web2);
	expect_ack(fd2, EXPORT_ACK_ACCEPTED, 2, 0);
	assert_held(1, &kr);
	/* 127.0.0.2 is web2's, not web1's. */
	send_rec(fd2, "web1", &kr, rcpt, web1);
	expect_ack(fd2, EXPORT_ACK_REJECTED, 2, 0);
	assert_null(keystore_conn(env.ks, 0, 2));
	/* No server exports from 127.0.0.3: closed at once. */
	fd = cli_connect("127.0.0.3");
	expect_closed(fd);
	export_get_stats(&es);
	assert_int_equal(es.refused, 1);
	/* The others are unaffected. */
	fx_keyrec(&kr, 2, 1, 0);
	send_rec(fd2, "web2", &kr, rcpt, web2);
	expect_ack(fd2, EXPORT_ACK_ACCEPTED, 2, 1);
	close(fd2);
	spin();
	env_stop();
}

static void
test_framing(void **state)
{
	struct seal_keyrec kr;
	struct seal_header hdr;
	struct buf rec, b;
	const uint8_t *p;
	size_t i;
	int fd, fds[EXPORT_MAX_PER_PEER + 1];
	uint8_t ack[EXPORT_ACK_LEN];

	(void)state;
	env_wipe();
	env_start();
	/* Garbage: closed. */
	fd = cli_connect("127.0.0.1");
	cli_send(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	expect_closed(fd);
	/* A length field beyond 16384, and one below 151: closed. */
	buf_init(&b, 64);
	assert_int_equal(buf_put(&b, "SJX1\x01\x00", 6), 0);
	assert_int_equal(buf_put_u32(&b, 20000), 0);
	fd = cli_connect("127.0.0.1");
	cli_send(fd, buf_ptr(&b), buf_len(&b));
	expect_closed(fd);
	buf_reset(&b);
	assert_int_equal(buf_put(&b, "SJX1\x01\x00", 6), 0);
	assert_int_equal(buf_put_u32(&b, 100), 0);
	fd = cli_connect("127.0.0.1");
	cli_send(fd, buf_ptr(&b), buf_len(&b));
	expect_closed(fd);
	buf_free(&b);
	/* A good record after a good one, then garbage: the first is
	 * answered, then the connection closes. */
	fd = cli_connect("127.0.0.1");
	fx_keyrec(&kr, 3, 0, 1);
	send_rec(fd, "web1", &kr, rcpt, web1);
	cli_send(fd, "XXXXXXXXXXXXXXXXXXXX", 20);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, 3, 0);
	expect_closed(fd);
	/* Half a record, then the peer goes: no ack, no crash. */
	fx_keyrec(&kr, 3, 1, 0);
	fx_header(&hdr, "web1", 3, 1);
	fx_seal(&rec, &hdr, &kr, rcpt, web1);
	fd = cli_connect("127.0.0.1");
	cli_send(fd, buf_ptr(&rec), buf_len(&rec) / 2);
	spin();
	close(fd);
	spin();
	assert_true(keystore_conn(env.ks, 0, 3)->last_counter == 0);
	/* The listener still serves: the same record, a few bytes at a time. */
	fd = cli_connect("127.0.0.1");
	p = buf_ptr(&rec);
	for (i = 0; i < buf_len(&rec); i += 7) {
		cli_send(fd, p + i, buf_len(&rec) - i < 7 ?
		    buf_len(&rec) - i : 7);
		ev_run(loop, EVRUN_NOWAIT);
	}
	expect_ack(fd, EXPORT_ACK_ACCEPTED, 3, 1);
	buf_free(&rec);
	/* At most EXPORT_MAX_PER_PEER from one address: the oldest goes. */
	for (i = 0; i < EXPORT_MAX_PER_PEER; i++) {
		fds[i] = cli_connect("127.0.0.1");
		if (i % 32 == 31 || i + 1 == EXPORT_MAX_PER_PEER)
			spin();
	}
	expect_closed(fd);
	for (i = 0; i < EXPORT_MAX_PER_PEER; i++) {
		assert_int_equal(recv(fds[i], ack, sizeof(ack), MSG_DONTWAIT),
		    -1);
		assert_int_equal(errno, EAGAIN);
		close(fds[i]);
	}
	spin();
	env_stop();
}

static void
test_end_notice(void **state)
{
	struct seal_keyrec kr, end;
	const struct keystore_conn *kc;
	struct keystore_counts n;
	int fd;

	(void)state;
	env_wipe();
	env_start();
	fd = cli_connect("127.0.0.1");
	fx_keyrec(&kr, 4, 0, 1);
	send_rec(fd, "web1", &kr, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, 4, 0);
	keystore_counts(env.ks, &n);
	assert_int_equal(n.keys_held, 1);
	fx_endrec(&end, 4, 1);
	send_rec(fd, "web1", &end, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, 4, 1);
	/* Keys wiped: keys held = no, state closed. */
	assert_null(keystore_get(env.ks, 0, 4));
	kc = keystore_conn(env.ks, 0, 4);
	assert_non_null(kc);
	assert_true(kc->closed);
	assert_false(kc->keys_held);
	keystore_counts(env.ks, &n);
	assert_int_equal(n.keys_held, 0);
	assert_int_equal(n.closed, 1);
	/* Nothing more for it; its old records are duplicates. */
	fx_keyrec(&kr, 4, 2, 0);
	send_rec(fd, "web1", &kr, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_REJECTED, 4, 2);
	fx_keyrec(&kr, 4, 0, 1);
	send_rec(fd, "web1", &kr, rcpt, web1);
	expect_ack(fd, EXPORT_ACK_DUPLICATE, 4, 0);
	close(fd);
	spin();
	env_stop();
}

static void
test_restart(void **state)
{
	struct seal_keyrec kr[3];
	const struct keystore_conn *kc;
	int fd, i;

	(void)state;
	env_wipe();
	env_start();
	fd = cli_connect("127.0.0.1");
	for (i = 0; i < 2; i++) {
		fx_keyrec(&kr[i], 6, (uint64_t)i, i == 0);
		send_rec(fd, "web1", &kr[i], rcpt, web1);
		expect_ack(fd, EXPORT_ACK_ACCEPTED, 6, (uint64_t)i);
	}
	close(fd);
	spin();
	/* Close everything, as at shutdown, and start again. */
	env_stop();
	assert_no_plaintext(&kr[0]);
	assert_no_plaintext(&kr[1]);
	env_start();
	assert_held(0, &kr[1]);
	kc = keystore_conn(env.ks, 0, 6);
	assert_non_null(kc);
	assert_int_equal(kc->nrecords, 2);
	assert_string_equal(kc->user, "bob");
	assert_true(kc->keys_held && !kc->closed);
	/* The exporter reconnects and resends: a duplicate, then the next. */
	fd = cli_connect("127.0.0.1");
	send_rec(fd, "web1", &kr[1], rcpt, web1);
	expect_ack(fd, EXPORT_ACK_DUPLICATE, 6, 1);
	fx_keyrec(&kr[2], 6, 2, 0);
	send_rec(fd, "web1", &kr[2], rcpt, web1);
	expect_ack(fd, EXPORT_ACK_ACCEPTED, 6, 2);
	assert_held(0, &kr[2]);
	close(fd);
	spin();
	env_stop();
	assert_no_plaintext(&kr[2]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_line),
		cmocka_unit_test_teardown(test_accept_duplicate_reorder,
		    env_cleanup),
		cmocka_unit_test_teardown(test_rejections, env_cleanup),
		cmocka_unit_test_teardown(test_source_addresses, env_cleanup),
		cmocka_unit_test_teardown(test_framing, env_cleanup),
		cmocka_unit_test_teardown(test_end_notice, env_cleanup),
		cmocka_unit_test_teardown(test_restart, env_cleanup),
	};

	log_init("test_export", 1, 1);
	return cmocka_run_group_tests_name("export", tests, setup, teardown);
}
