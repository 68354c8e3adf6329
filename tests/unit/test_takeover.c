/*
 * Unit tests for src/takeover.c, recover ssh: jeebs-replay's report line
 * (docs/recovery-format.md), the verdict the daemon takes from it; the
 * package and the socket of a connection drained with an SJD2 state, from
 * the state and the key record alone (docs/drain.md).  The package from
 * the capture is tested from real streams in test_sshtrack.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "rpkg.h"
#include "takeover.h"

static void
test_report_ok(void **state)
{
	struct takeover_ssh_report r;
	char why[200];

	(void)state;
	assert_int_equal(takeover_ssh_report_parse("ok sshd_pid=4242 "
	    "sshd_us=12000 replay_us=3100 cutover_us=400 messages=17", &r, why,
	    sizeof(why)), 1);
	assert_true(r.complete);
	assert_string_equal(why, "");
	assert_int_equal(r.sshd_pid, 4242);
	assert_int_equal(r.sshd_us, 12000);
	assert_int_equal(r.replay_us, 3100);
	assert_int_equal(r.cutover_us, 400);
	assert_int_equal(r.messages, 17);
	/* Any order; words a newer jeebs-replay adds are ignored. */
	assert_int_equal(takeover_ssh_report_parse("ok messages=0 cutover_us=1 "
	    "future=x replay_us=2 sshd_us=3 sshd_pid=9", &r, why, sizeof(why)),
	    1);
	assert_true(r.complete);
	assert_int_equal(r.sshd_pid, 9);
	assert_int_equal(r.messages, 0);
	/* ok without all numbers: still ok, said so. */
	assert_int_equal(takeover_ssh_report_parse("ok", &r, why, sizeof(why)),
	    1);
	assert_false(r.complete);
	assert_string_equal(why, "ok, but the report lacks numbers");
	assert_int_equal(takeover_ssh_report_parse("ok sshd_pid=12 sshd_us=-3 "
	    "replay_us=2 cutover_us=1 messages=1", &r, why, sizeof(why)), 1);
	assert_false(r.complete);
	assert_int_equal(takeover_ssh_report_parse("ok sshd_pid=12x sshd_us=3 "
	    "replay_us=2 cutover_us=1 messages=1", &r, why, sizeof(why)), 1);
	assert_false(r.complete);
}

static void
test_report_fail(void **state)
{
	struct takeover_ssh_report r;
	char why[200];

	(void)state;
	assert_int_equal(takeover_ssh_report_parse("fail channel 0: the sshd "
	    "assigned id 1, the original server 0", &r, why, sizeof(why)), 0);
	assert_string_equal(why, "channel 0: the sshd assigned id 1, the "
	    "original server 0");
	assert_int_equal(takeover_ssh_report_parse("fail", &r, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "no reason given");
	/* Nothing reaches a log or a terminal raw. */
	assert_int_equal(takeover_ssh_report_parse("fail bad\x1b[2J\tx", &r,
	    why, sizeof(why)), 0);
	assert_string_equal(why, "bad?[2J?x");
	/* Truncated to the caller's buffer. */
	assert_int_equal(takeover_ssh_report_parse("fail 0123456789", &r, why,
	    5), 0);
	assert_string_equal(why, "0123");
}

static void
test_report_unreadable(void **state)
{
	struct takeover_ssh_report r;
	char why[200];

	(void)state;
	assert_int_equal(takeover_ssh_report_parse("", &r, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "neither ok nor fail");
	assert_int_equal(takeover_ssh_report_parse("okay", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(takeover_ssh_report_parse("failed x", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(takeover_ssh_report_parse("OK sshd_pid=1", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(takeover_ssh_report_parse(" ok", &r, why,
	    sizeof(why)), -1);
}

/* --- a connection drained with SJD2: no capture at all --- */

static const uint8_t d_raw_in[] = "in-raw", d_recvq[] = "in-kernel";
static const uint8_t d_sendq[] = "out-kernel", d_raw_out[] = "out-raw";
static const uint8_t d_auth[] = { 50 };
static const uint8_t d_open[] = { 90, 0, 0, 0, 7, 's', 'e', 's', 's', 'i',
    'o', 'n', 0, 0, 0, 4, 0, 0x20, 0, 0, 0, 0, 0x80, 0 };
static const uint8_t d_conf[] = { 91, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x20, 0,
    0, 0, 0, 0x80, 0 };

static struct drainrec_chan d_chans[1] = {
	{ 0, 4, "session", 1000, 2000, 32768, 16384,
	    DRAINREC_CHAN_EOF_RCVD },
};
static struct drainrec_msg d_log[3] = {
	{ 0, DRAINREC_LOG_PASSWORD, d_auth, 1 },
	{ 0, 0, d_open, sizeof(d_open) },
	{ 1, 0, d_conf, sizeof(d_conf) },
};

static void
sjd2_fixture(struct drainrec *d, struct seal_keyrec *rec,
    struct conf_server *cs)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->version = 2;
	d->kex_number = 3;
	d->stop_us = 1764220000000000ull;
	d->dir[0].seqnr = 40;
	d->dir[0].packets = 40;
	d->dir[0].blocks = 400;
	d->dir[0].iv_len = 12;
	memset(d->dir[0].iv, 0x11, 12);
	d->dir[0].raw = d_raw_in;
	d->dir[0].raw_len = 6;
	d->dir[1].seqnr = 50;
	d->dir[1].packets = 50;
	d->dir[1].blocks = 500;
	d->dir[1].iv_len = 12;
	memset(d->dir[1].iv, 0x22, 12);
	d->dir[1].raw = d_raw_out;
	d->dir[1].raw_len = 7;
	d->chans = d_chans;
	d->nchans = 1;
	d->snd_una = 0xfffffffa;
	d->rcv_nxt = 77777;
	d->sendq = d_sendq;
	d->sendq_len = 10;
	d->recvq = d_recvq;
	d->recvq_len = 9;
	d->mss = 1400;
	d->tcp_flags = DRAINREC_TCP_WSCALE | DRAINREC_TCP_TS;
	d->snd_wscale = 7;
	d->rcv_wscale = 6;
	d->tsval = 1000;
	d->snd_wl1 = 77000;
	d->snd_wnd = 60000;
	d->max_window = 60000;
	d->rcv_wnd = 50000;
	d->rcv_wup = 77777;
	strcpy(d->client_version, "SSH-2.0-paramiko_3.4.0");
	strcpy(d->server_version, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10");
	strcpy(d->hostkey_alg, "ssh-ed25519");
	d->strict_kex = 1;
	d->log = d_log;
	d->nlog = 3;

	memset(rec, 0, sizeof(*rec));
	rec->kex_number = 3;
	rec->session_id_len = 32;
	for (i = 0; i < 32; i++)
		rec->session_id[i] = (uint8_t)(0x40 + i);
	strcpy(rec->kex_alg, "curve25519-sha256");
	strcpy(rec->hostkey_alg, "ssh-rsa");	/* the record's: not used */
	strcpy(rec->c2s.cipher, "aes128-gcm@openssh.com");
	strcpy(rec->s2c.cipher, "aes128-gcm@openssh.com");
	rec->c2s.enc_key_len = rec->s2c.enc_key_len = 16;
	memset(rec->c2s.enc_key, 0xc2, 16);
	memset(rec->s2c.enc_key, 0x2c, 16);
	rec->has_login = 1;
	strcpy(rec->user, "alice");
	strcpy(rec->auth_method, "publickey");

	memset(cs, 0, sizeof(*cs));
	strcpy(cs->name, "rescue");
	cs->recover = CONF_RECOVER_SSH;
	cs->ssh.rerun_exec = 1;
	cs->ssh.notice = (char *)"moved";
}

static void
sjd2_addrs(struct pkt_addr *cli, struct pkt_addr *srv)
{
	uint8_t a[4] = { 198, 18, 0, 1 }, b[4] = { 198, 18, 0, 2 };

	memset(cli, 0, sizeof(*cli));
	memset(srv, 0, sizeof(*srv));
	pkt_addr_set(cli, AF_INET, a);
	pkt_addr_set(srv, AF_INET, b);
}

static void
test_sjd2_package(void **state)
{
	struct drainrec d;
	struct seal_keyrec rec;
	struct conf_server cs;
	struct pkt_addr cli, srv;
	struct rebuild_plan p;
	struct takeover_ssh_info info;
	struct buf pkg;
	struct rpkg *k = NULL;
	char why[300];

	(void)state;
	sjd2_fixture(&d, &rec, &cs);
	sjd2_addrs(&cli, &srv);
	buf_init(&pkg, RPKG_MAX);
	assert_int_equal(takeover_ssh_prepare_sjd2(&d, &rec, &cs, &cli, 40000,
	    &srv, 22, 100.0, 100.5, &p, &pkg, &info, why, sizeof(why)), 0);
	assert_int_equal(info.messages, 3);
	assert_int_equal(info.replayed, 2);
	assert_int_equal(info.channels, 1);
	if (rpkg_decode(buf_ptr(&pkg), buf_len(&pkg), &k, why,
	    sizeof(why)) != 0)
		fail_msg("package: %s", why);
	assert_string_equal(k->client_version, d.client_version);
	assert_string_equal(k->server_version, d.server_version);
	assert_string_equal(k->hostkey_alg, "ssh-ed25519");
	assert_int_equal(k->strict_kex, 1);
	assert_string_equal(k->kex_alg, "curve25519-sha256");
	assert_int_equal(k->session_id_len, 32);
	assert_memory_equal(k->session_id, rec.session_id, 32);
	assert_string_equal(k->user, "alice");
	assert_string_equal(k->auth_method, "publickey");
	assert_int_equal(k->flags, RPKG_RERUN_EXEC);
	assert_string_equal(k->notice, "moved");
	assert_string_equal(k->dir[RPKG_C2S].cipher, "aes128-gcm@openssh.com");
	assert_int_equal(k->dir[RPKG_C2S].key_len, 16);
	assert_memory_equal(k->dir[RPKG_C2S].key, rec.c2s.enc_key, 16);
	assert_memory_equal(k->dir[RPKG_S2C].key, rec.s2c.enc_key, 16);
	assert_int_equal(k->dir[RPKG_C2S].iv_len, 12);
	assert_memory_equal(k->dir[RPKG_C2S].iv, d.dir[0].iv, 12);
	assert_memory_equal(k->dir[RPKG_S2C].iv, d.dir[1].iv, 12);
	assert_int_equal(k->dir[RPKG_C2S].seqnr, 40);
	assert_true(k->dir[RPKG_C2S].blocks == 400);
	assert_int_equal(k->dir[RPKG_S2C].seqnr, 50);
	assert_true(k->dir[RPKG_S2C].packets == 50);
	assert_int_equal(k->nchans, 1);
	assert_int_equal(k->chans[0].id_client, 4);
	assert_int_equal(k->chans[0].id_server, 0);
	assert_int_equal(k->chans[0].window_c2s, 1000);
	assert_int_equal(k->chans[0].window_s2c, 2000);
	assert_int_equal(k->chans[0].flags, RPKG_CHAN_EOF_C2S);
	assert_int_equal(k->nlog, 3);
	assert_int_equal(k->log[0].dir, RPKG_C2S);
	assert_int_equal(k->log[0].flags, 1);
	assert_int_equal(k->log[1].len, sizeof(d_open));
	assert_memory_equal(k->log[1].p, d_open, sizeof(d_open));
	assert_int_equal(k->log[2].dir, RPKG_S2C);
	rpkg_free(k);
	/* The socket: the server's own. */
	assert_int_equal(p.rc.lport, 22);
	assert_int_equal(p.rc.rport, 40000);
	assert_memory_equal(&p.rc.local, &srv, sizeof(srv));
	assert_memory_equal(&p.rc.remote, &cli, sizeof(cli));
	assert_int_equal(p.rc.snd_una, 0xfffffffa);
	assert_int_equal(p.rc.rcv_nxt, 77777);
	assert_int_equal(p.rc.recvq_len, 15);
	assert_memory_equal(p.rc.recvq, "in-rawin-kernel", 15);
	assert_int_equal(p.rc.sendq_len, 17);
	assert_memory_equal(p.rc.sendq, "out-kernelout-raw", 17);
	assert_int_equal(p.rc.mss, 1400);
	assert_true(p.rc.wscale_ok);
	assert_false(p.rc.sack_ok);
	assert_true(p.rc.ts_ok);
	assert_int_equal(p.rc.snd_wscale, 7);
	assert_int_equal(p.rc.rcv_wscale, 6);
	assert_int_equal(p.rc.rcv_wnd, 50000);
	assert_true(p.rc.tsval >= 1000 + 500);	/* 0.5 s later */
	rebuild_plan_free(&p);
	buf_free(&pkg);
}

static void
expect_sjd2_refused(struct drainrec *d, struct seal_keyrec *rec,
    struct conf_server *cs, const char *what)
{
	struct pkt_addr cli, srv;
	struct rebuild_plan p;
	struct takeover_ssh_info info;
	struct buf pkg;
	char why[300];

	sjd2_addrs(&cli, &srv);
	buf_init(&pkg, RPKG_MAX);
	why[0] = '\0';
	assert_int_equal(takeover_ssh_prepare_sjd2(d, rec, cs, &cli, 40000,
	    &srv, 22, 1.0, 1.0, &p, &pkg, &info, why, sizeof(why)), -1);
	if (strstr(why, what) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", what, why);
	assert_int_equal(buf_len(&pkg), 0);
	assert_null(p.recvq);
	assert_null(p.sendq);
	buf_free(&pkg);
}

static void
test_sjd2_refused(void **state)
{
	struct drainrec d;
	struct seal_keyrec rec;
	struct conf_server cs;
	struct drainrec_chan closing = { 0, 4, "session", 1, 1, 1, 1,
	    DRAINREC_CHAN_CLOSE_SENT };

	(void)state;
	sjd2_fixture(&d, &rec, &cs);
	expect_sjd2_refused(&d, NULL, &cs, "keys of KEX 3 not held");
	rec.kex_number = 2;
	expect_sjd2_refused(&d, &rec, &cs, "newest key record is of KEX 2");
	sjd2_fixture(&d, &rec, &cs);
	rec.has_login = 0;
	expect_sjd2_refused(&d, &rec, &cs, "no usable attested login");
	sjd2_fixture(&d, &rec, &cs);
	rec.session_id_len = 0;
	expect_sjd2_refused(&d, &rec, &cs, "no usable attested login");
	sjd2_fixture(&d, &rec, &cs);
	d.chans = &closing;
	expect_sjd2_refused(&d, &rec, &cs, "being closed");
	sjd2_fixture(&d, &rec, &cs);
	strcpy(rec.s2c.cipher, "aes256-ctr");
	d.dir[1].iv_len = 0;
	expect_sjd2_refused(&d, &rec, &cs, "IV");
	sjd2_fixture(&d, &rec, &cs);
	d.version = 1;
	expect_sjd2_refused(&d, &rec, &cs, "not an SJD2");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_ok),
		cmocka_unit_test(test_report_fail),
		cmocka_unit_test(test_report_unreadable),
		cmocka_unit_test(test_sjd2_package),
		cmocka_unit_test(test_sjd2_refused),
	};

	return cmocka_run_group_tests_name("takeover", tests, NULL, NULL);
}
