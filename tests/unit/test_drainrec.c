/*
 * Unit tests for drainrec: the drain state of one connection (SJD1, SJD2:
 * docs/drain.md "Records") round trips field by field; every truncation,
 * trailing bytes, oversize counts, malformed names and log entries are
 * rejected with a reason, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "drainrec.h"

static const uint8_t raw_in[] = "unprocessed";
static const uint8_t raw_out[] = "unsent bytes";
static const uint8_t sendq[] = "kernel send queue";
static const uint8_t recvq[] = "kernel receive queue";
/* CHANNEL_OPEN "session", a USERAUTH_REQUEST kept as its type alone. */
static const uint8_t open_session[] = { 90, 0, 0, 0, 7, 's', 'e', 's', 's',
    'i', 'o', 'n', 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x80, 0 };
static const uint8_t userauth[] = { 50 };
static const uint8_t confirm[] = { 91, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x20, 0,
    0, 0, 0, 0x80, 0 };

static struct drainrec_chan sample_chans[2] = {
	{ 3, 0, "session", 2097152, 1048576, 32768, 16384, 0 },
	{ 7, 1, "direct-tcpip", 100, 200, 300, 400,
	    DRAINREC_CHAN_EOF_RCVD | DRAINREC_CHAN_BY_SERVER },
};

static struct drainrec_msg sample_log[3] = {
	{ 0, DRAINREC_LOG_PASSWORD, userauth, sizeof(userauth) },
	{ 0, 0, open_session, sizeof(open_session) },
	{ 1, 0, confirm, sizeof(confirm) },
};

static void
sample(struct drainrec *d, int version)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->version = version;
	d->kex_number = 2;
	d->stop_us = 1764220000123456ull;
	d->dir[0].seqnr = 17;
	d->dir[0].packets = 1ull << 33;
	d->dir[0].blocks = 99;
	d->dir[0].iv_len = 12;
	for (i = 0; i < 12; i++)
		d->dir[0].iv[i] = (uint8_t)i;
	d->dir[0].raw = raw_in;
	d->dir[0].raw_len = sizeof(raw_in) - 1;
	d->dir[1].seqnr = 0xffffffff;
	d->dir[1].packets = 5;
	d->dir[1].blocks = 1ull << 40;
	d->dir[1].iv_len = 16;
	memset(d->dir[1].iv, 0xab, 16);
	d->dir[1].raw = raw_out;
	d->dir[1].raw_len = sizeof(raw_out) - 1;
	d->chans = sample_chans;
	d->nchans = 2;
	d->snd_una = 0xfffffff0;
	d->rcv_nxt = 12345;
	d->sendq = sendq;
	d->sendq_len = sizeof(sendq) - 1;
	d->recvq = recvq;
	d->recvq_len = sizeof(recvq) - 1;
	d->mss = 1448;
	d->tcp_flags = DRAINREC_TCP_WSCALE | DRAINREC_TCP_SACK |
	    DRAINREC_TCP_TS;
	d->snd_wscale = 7;
	d->rcv_wscale = 9;
	d->tsval = 0x01020304;
	d->snd_wl1 = 1;
	d->snd_wnd = 2;
	d->max_window = 3;
	d->rcv_wnd = 4;
	d->rcv_wup = 5;
	if (version == 2) {
		strcpy(d->client_version, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
		strcpy(d->server_version, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10");
		strcpy(d->hostkey_alg, "ssh-ed25519");
		d->strict_kex = 1;
		d->log = sample_log;
		d->nlog = 3;
	}
}

static void
encode(const struct drainrec *d, struct buf *b)
{
	buf_init(b, 0);
	assert_int_equal(drainrec_encode(d, b), 0);
}

static void
same(const struct drainrec *a, const struct drainrec *b)
{
	size_t i;
	int dd;

	assert_int_equal(a->version, b->version);
	assert_int_equal(a->kex_number, b->kex_number);
	assert_true(a->stop_us == b->stop_us);
	for (dd = 0; dd < 2; dd++) {
		assert_int_equal(a->dir[dd].seqnr, b->dir[dd].seqnr);
		assert_true(a->dir[dd].packets == b->dir[dd].packets);
		assert_true(a->dir[dd].blocks == b->dir[dd].blocks);
		assert_int_equal(a->dir[dd].iv_len, b->dir[dd].iv_len);
		assert_memory_equal(a->dir[dd].iv, b->dir[dd].iv,
		    a->dir[dd].iv_len);
		assert_int_equal(a->dir[dd].raw_len, b->dir[dd].raw_len);
		assert_memory_equal(a->dir[dd].raw, b->dir[dd].raw,
		    a->dir[dd].raw_len);
	}
	assert_int_equal(a->nchans, b->nchans);
	for (i = 0; i < a->nchans; i++)
		assert_memory_equal(&a->chans[i], &b->chans[i],
		    sizeof(a->chans[i]));
	assert_int_equal(a->snd_una, b->snd_una);
	assert_int_equal(a->rcv_nxt, b->rcv_nxt);
	assert_int_equal(a->sendq_len, b->sendq_len);
	assert_memory_equal(a->sendq, b->sendq, a->sendq_len);
	assert_int_equal(a->recvq_len, b->recvq_len);
	assert_memory_equal(a->recvq, b->recvq, a->recvq_len);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->tcp_flags, b->tcp_flags);
	assert_int_equal(a->snd_wscale, b->snd_wscale);
	assert_int_equal(a->rcv_wscale, b->rcv_wscale);
	assert_int_equal(a->tsval, b->tsval);
	assert_int_equal(a->snd_wl1, b->snd_wl1);
	assert_int_equal(a->snd_wnd, b->snd_wnd);
	assert_int_equal(a->max_window, b->max_window);
	assert_int_equal(a->rcv_wnd, b->rcv_wnd);
	assert_int_equal(a->rcv_wup, b->rcv_wup);
	assert_string_equal(a->client_version, b->client_version);
	assert_string_equal(a->server_version, b->server_version);
	assert_string_equal(a->hostkey_alg, b->hostkey_alg);
	assert_int_equal(a->strict_kex, b->strict_kex);
	assert_int_equal(a->nlog, b->nlog);
	for (i = 0; i < a->nlog; i++) {
		assert_int_equal(a->log[i].dir, b->log[i].dir);
		assert_int_equal(a->log[i].flags, b->log[i].flags);
		assert_int_equal(a->log[i].len, b->log[i].len);
		assert_memory_equal(a->log[i].p, b->log[i].p, a->log[i].len);
	}
}

static void
roundtrip(int version)
{
	struct drainrec d, out;
	struct buf b;
	char why[256];

	sample(&d, version);
	encode(&d, &b);
	assert_int_equal(drainrec_decode(buf_ptr(&b), buf_len(&b), &out, why,
	    sizeof(why)), 0);
	same(&d, &out);
	drainrec_free(&out);
	buf_free(&b);
}

static void
test_roundtrip_sjd1(void **state)
{
	(void)state;
	roundtrip(1);
}

static void
test_roundtrip_sjd2(void **state)
{
	(void)state;
	roundtrip(2);
}

/* An SJD2 without a log and without channels. */
static void
test_sjd2_empty_log(void **state)
{
	struct drainrec d, out;
	struct buf b;
	char why[256];

	(void)state;
	sample(&d, 2);
	d.nlog = 0;
	d.nchans = 0;
	d.strict_kex = 0;
	encode(&d, &b);
	assert_int_equal(drainrec_decode(buf_ptr(&b), buf_len(&b), &out, why,
	    sizeof(why)), 0);
	same(&d, &out);
	assert_null(out.log);
	drainrec_free(&out);
	buf_free(&b);
}

/* Every proper prefix, and one byte more, is refused with a reason. */
static void
truncations(int version)
{
	struct drainrec d, out;
	struct buf b, x;
	char why[256];
	size_t n;

	sample(&d, version);
	encode(&d, &b);
	for (n = 0; n < buf_len(&b); n++) {
		why[0] = '\0';
		assert_int_equal(drainrec_decode(buf_ptr(&b), n, &out, why,
		    sizeof(why)), -1);
		assert_true(why[0] != '\0');
		assert_null(out.chans);
		assert_null(out.log);
	}
	buf_init(&x, 0);
	assert_int_equal(buf_put(&x, buf_ptr(&b), buf_len(&b)), 0);
	assert_int_equal(buf_put_u8(&x, 0), 0);
	assert_int_equal(drainrec_decode(buf_ptr(&x), buf_len(&x), &out, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "trailing") != NULL ? why :
	    strstr(why, "TCP state"));
	buf_free(&x);
	buf_free(&b);
}

static void
test_truncations_sjd1(void **state)
{
	(void)state;
	truncations(1);
}

static void
test_truncations_sjd2(void **state)
{
	(void)state;
	truncations(2);
}

/*
 * An SJD2 whose fields after rcv_wup are given raw: the SJD1 encoding of
 * the sample with the magic changed, then tail.
 */
static int
decode_tail(const struct buf *tail, char *why, size_t whylen)
{
	struct drainrec d, out;
	struct buf b;
	uint8_t *p;
	int r;

	sample(&d, 1);
	encode(&d, &b);
	p = (uint8_t *)(uintptr_t)buf_ptr(&b);
	assert_memory_equal(p + 4, "SJD1", 4);
	p[7] = '2';
	assert_int_equal(buf_put(&b, buf_ptr(tail), buf_len(tail)), 0);
	why[0] = '\0';
	r = drainrec_decode(buf_ptr(&b), buf_len(&b), &out, why, whylen);
	if (r != 0) {
		assert_true(why[0] != '\0');
		assert_null(out.log);
	}
	drainrec_free(&out);
	buf_free(&b);
	return r;
}

static void
tail_head(struct buf *t, const char *cv, const char *sv, const char *hk,
    uint32_t strict)
{
	buf_init(t, 0);
	assert_int_equal(buf_put_cstring(t, cv), 0);
	assert_int_equal(buf_put_cstring(t, sv), 0);
	assert_int_equal(buf_put_cstring(t, hk), 0);
	assert_int_equal(buf_put_u32(t, strict), 0);
}

#define CV	"SSH-2.0-client"
#define SV	"SSH-2.0-server"

static void
expect_bad(struct buf *t, const char *field)
{
	char why[256];

	assert_int_equal(decode_tail(t, why, sizeof(why)), -1);
	if (strstr(why, field) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", field, why);
	buf_free(t);
}

static void
test_sjd2_bad_names(void **state)
{
	struct buf t;
	char why[256], longv[300];

	(void)state;
	/* The good one first. */
	tail_head(&t, CV, SV, "rsa-sha2-512", 1);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	assert_int_equal(decode_tail(&t, why, sizeof(why)), 0);
	buf_free(&t);

	tail_head(&t, "HTTP/1.1", SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "client_version");
	tail_head(&t, CV, "SSH-2.0-with\rCR", "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "server_version");
	tail_head(&t, CV, "", "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "server_version");
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	memcpy(longv, "SSH-", 4);
	tail_head(&t, longv, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "client_version");
	tail_head(&t, CV, SV, "ssh ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "hostkey_alg");
	tail_head(&t, CV, SV, "", 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "hostkey_alg");
	longv[70] = '\0';
	tail_head(&t, CV, SV, longv, 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "hostkey_alg");
	tail_head(&t, CV, SV, "ssh-ed25519", 2);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "strict_kex");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	expect_bad(&t, "nlog");
}

static void
log_entry(struct buf *t, uint32_t dir, uint32_t flags, const void *p,
    size_t len)
{
	assert_int_equal(buf_put_u32(t, dir), 0);
	assert_int_equal(buf_put_u32(t, flags), 0);
	assert_int_equal(buf_put_string(t, p, len), 0);
}

static void
test_sjd2_bad_log(void **state)
{
	struct buf t;
	char why[256];

	(void)state;
	/* A flagged USERAUTH_REQUEST may be empty or its type alone. */
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 2), 0);
	log_entry(&t, 0, DRAINREC_LOG_REDACTED, NULL, 0);
	log_entry(&t, 0, DRAINREC_LOG_PASSWORD, userauth, 1);
	assert_int_equal(decode_tail(&t, why, sizeof(why)), 0);
	buf_free(&t);

	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, DRAINREC_MAX_LOG + 1), 0);
	expect_bad(&t, "log entries");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1000), 0);	/* more than the bytes */
	log_entry(&t, 0, 0, open_session, sizeof(open_session));
	expect_bad(&t, "log truncated");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	log_entry(&t, 2, 0, open_session, sizeof(open_session));
	expect_bad(&t, "direction");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	log_entry(&t, 0, 0x10, userauth, 1);
	expect_bad(&t, "unknown flags");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	log_entry(&t, 0, DRAINREC_LOG_PASSWORD, open_session,
	    sizeof(open_session));
	expect_bad(&t, "other than USERAUTH_REQUEST");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	log_entry(&t, 1, DRAINREC_LOG_PASSWORD, userauth, 1);
	expect_bad(&t, "other than USERAUTH_REQUEST");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	log_entry(&t, 1, 0, NULL, 0);
	expect_bad(&t, "empty");
	/* A log entry whose string runs past the end. */
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	assert_int_equal(buf_put_u32(&t, 0xffffffff), 0);
	assert_int_equal(buf_put_u32(&t, 0), 0);
	expect_bad(&t, "log");
	tail_head(&t, CV, SV, "ssh-ed25519", 0);
	assert_int_equal(buf_put_u32(&t, 1), 0);
	log_entry(&t, 1, 0, confirm, sizeof(confirm));
	assert_int_equal(buf_put_u8(&t, 7), 0);
	expect_bad(&t, "trailing");
}

static void
test_bad_magic_and_counts(void **state)
{
	struct drainrec d, out;
	struct buf b;
	char why[256];
	uint8_t *p;

	(void)state;
	sample(&d, 2);
	encode(&d, &b);
	p = (uint8_t *)(uintptr_t)buf_ptr(&b);
	p[7] = '3';
	assert_int_equal(drainrec_decode(buf_ptr(&b), buf_len(&b), &out, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "magic"));
	buf_free(&b);
	/* An IV over DRAINREC_IV_MAX, a channel count the bytes cannot hold. */
	sample(&d, 1);
	d.dir[0].iv_len = DRAINREC_IV_MAX + 1;
	buf_init(&b, 0);
	assert_int_equal(drainrec_encode(&d, &b), -1);
	buf_free(&b);
	d.dir[0].iv_len = 0;
	d.nchans = 0;
	encode(&d, &b);
	/* magic (8 bytes), kex_number (4), then the session state string:
	 * with no channel, nchans is its last u32. */
	{
		uint8_t *np = (uint8_t *)(uintptr_t)buf_ptr(&b);
		size_t slen = (size_t)np[12] << 24 | (size_t)np[13] << 16 |
		    (size_t)np[14] << 8 | np[15];

		np += 16 + slen - 4;
		np[0] = 0;
		np[1] = 0;
		np[2] = 0x0f;
		np[3] = 0xff;	/* 4095 channels in 0 bytes */
	}
	assert_int_equal(drainrec_decode(buf_ptr(&b), buf_len(&b), &out, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "session state"));
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sjd1),
		cmocka_unit_test(test_roundtrip_sjd2),
		cmocka_unit_test(test_sjd2_empty_log),
		cmocka_unit_test(test_truncations_sjd1),
		cmocka_unit_test(test_truncations_sjd2),
		cmocka_unit_test(test_sjd2_bad_names),
		cmocka_unit_test(test_sjd2_bad_log),
		cmocka_unit_test(test_bad_magic_and_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
