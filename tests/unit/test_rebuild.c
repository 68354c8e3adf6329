/*
 * Unit tests for recovery/rebuild.c: what a tracked connection becomes as a
 * repair plan (sequence numbers, options, windows, queues), the plain-TCP
 * hold (client bytes the server acknowledged but never answered stay in
 * the plan), the TSval rule, the refusals (no handshake, lost bytes, a hole
 * in the server's data) and the reset-only plan.  Segments are fed to a
 * real TCP tracker whose consumer is the exec-mode hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "rebuild.h"
#include "tcptrack.h"

#define C2S TCPTRACK_C2S
#define S2C TCPTRACK_S2C
#define PORT 7000

static void
on_new(void *arg, struct tcptrack_conn *c)
{
	(void)arg;
	rebuild_hold_start(c);
}

static void
on_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	(void)arg;
	(void)off;
	(void)p;
	(void)len;
	if (dir == S2C)
		rebuild_hold_answered(c);
}

static const struct tcptrack_ops hold_ops = {
	.conn_new = on_new, .data = on_data,
};

struct fx {
	struct tcptrack	*t;
	struct pkt_addr	 cli, srv;
	uint32_t	 cisn, sisn;
	double		 now;
};

static struct fx *
fx_new(uint32_t cisn, uint32_t sisn)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t a[4];

	assert_non_null(f);
	assert_non_null(f->t = tcptrack_new(NULL, &hold_ops, NULL));
	inet_pton(AF_INET, "198.18.0.10", a);
	pkt_addr_set(&f->cli, AF_INET, a);
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&f->srv, AF_INET, a);
	assert_int_equal(tcptrack_watch(f->t, &f->srv, PORT), 0);
	f->cisn = cisn;
	f->sisn = sisn;
	f->now = 1000.0;
	return f;
}

static void
fx_free(struct fx *f)
{
	tcptrack_free(f->t);
	free(f);
}

/* A segment of dir at stream offset off, acknowledging ackoff. */
static void
seg(struct fx *f, int dir, uint64_t off, const char *data, uint64_t ackoff,
    uint16_t win)
{
	struct pkt_tcp p;
	size_t len = data != NULL ? strlen(data) : 0;

	memset(&p, 0, sizeof(p));
	if (dir == C2S) {
		p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = PORT;
		p.seq = (uint32_t)(f->cisn + 1 + off);
		p.ack = (uint32_t)(f->sisn + 1 + ackoff);
		p.tsval = (uint32_t)(f->now * 1000);
	} else {
		p.src = f->srv, p.sport = PORT, p.dst = f->cli, p.dport = 40000;
		p.seq = (uint32_t)(f->sisn + 1 + off);
		p.ack = (uint32_t)(f->cisn + 1 + ackoff);
		p.tsval = (uint32_t)(f->now * 1000) + 12345;
	}
	p.flags = PKT_ACK;
	p.win = win;
	p.has_ts = 1;
	p.payload = (const uint8_t *)data;
	p.len = p.wire_len = len;
	f->now += 0.001;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
}

static struct tcptrack_conn *
handshake(struct fx *f, int ts, int sack)
{
	struct pkt_tcp p;
	struct tcptrack_conn *c;

	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = PORT;
	p.seq = f->cisn;
	p.flags = PKT_SYN;
	p.has_mss = 1, p.mss = 1460;
	p.has_wscale = 1, p.wscale = 7;
	p.has_sackok = sack;
	p.has_ts = ts, p.tsval = 5;
	p.win = 64240;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	memset(&p, 0, sizeof(p));
	p.src = f->srv, p.sport = PORT, p.dst = f->cli, p.dport = 40000;
	p.seq = f->sisn;
	p.ack = f->cisn + 1;
	p.flags = PKT_SYN | PKT_ACK;
	p.has_mss = 1, p.mss = 1400;
	p.has_wscale = 1, p.wscale = 9;
	p.has_sackok = 1;
	p.has_ts = 1, p.tsval = 77;
	p.win = 65160;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	seg(f, C2S, 0, NULL, 0, 500);
	c = tcptrack_find(f->t, &f->cli, 40000, &f->srv, PORT);
	assert_non_null(c);
	return c;
}

/* An answered line goes; an acknowledged but unanswered one stays. */
static void
test_hold_answered(void **state)
{
	struct fx *f = fx_new(4000000000u, 100);	/* client seq wraps */
	struct tcptrack_conn *c;
	struct rebuild_plan p;
	char why[160];

	(void)state;
	c = handshake(f, 1, 1);
	seg(f, C2S, 0, "0001\n", 0, 500);		/* request 1 */
	seg(f, S2C, 0, "0001\n", 5, 600);		/* answered */
	seg(f, C2S, 5, "0002\n", 5, 500);		/* request 2 */
	seg(f, S2C, 5, NULL, 10, 600);			/* acked, no answer */
	seg(f, C2S, 10, "0003\n", 5, 500);		/* request 3 */
	assert_int_equal(rebuild_plan(c, f->now + 0.5, &p, why, sizeof(why)),
	    0);
	assert_int_equal(p.rc.recvq_len, 10);
	assert_memory_equal(p.rc.recvq, "0002\n0003\n", 10);
	assert_int_equal(p.in_off, 5);
	assert_int_equal(p.rc.sendq_len, 0);
	assert_int_equal(p.out_off, 5);
	assert_int_equal(p.rc.rcv_nxt, (uint32_t)(4000000000u + 1 + 15));
	assert_int_equal(p.rc.snd_una, 100 + 1 + 5);
	/* Options from the SYNs: the client's MSS, both scales. */
	assert_int_equal(p.rc.mss, 1460);
	assert_true(p.rc.wscale_ok);
	assert_int_equal(p.rc.snd_wscale, 7);
	assert_int_equal(p.rc.rcv_wscale, 9);
	assert_true(p.rc.sack_ok && p.rc.ts_ok);
	/* Windows, scaled by their sender's factor. */
	assert_int_equal(p.rc.snd_wnd, 500 << 7);
	assert_int_equal(p.rc.rcv_wnd, 600 << 9);
	assert_int_equal(p.rc.rcv_wup, 4000000000u + 1 + 10);
	assert_int_equal(p.rc.snd_wl1, 4000000000u + 1 + 10);
	/* TSval: the server's last, the elapsed time, a margin; even. */
	assert_int_equal(p.rc.tsval % 2, 0);
	assert_true(p.rc.tsval >= c->dir[S2C].tsval + 500 +
	    REBUILD_TSVAL_MARGIN);
	assert_true(p.rc.tsval <= c->dir[S2C].tsval + 500 +
	    REBUILD_TSVAL_MARGIN + 2);
	rebuild_plan_free(&p);
	assert_null(p.recvq);
	fx_free(f);
}

/* Server bytes the client has not acknowledged are sent again. */
static void
test_sendq(void **state)
{
	struct fx *f = fx_new(10, 20);
	struct tcptrack_conn *c;
	struct rebuild_plan p;
	char why[160];

	(void)state;
	c = handshake(f, 0, 0);
	seg(f, C2S, 0, "get\n", 0, 500);
	seg(f, S2C, 0, "aaaa", 4, 600);
	seg(f, S2C, 4, "bbbb", 4, 600);
	seg(f, C2S, 4, NULL, 4, 500);			/* "aaaa" acked */
	seg(f, S2C, 8, "cccc", 4, 600);
	assert_int_equal(rebuild_plan(c, f->now, &p, why, sizeof(why)), 0);
	assert_int_equal(p.rc.sendq_len, 8);
	assert_memory_equal(p.rc.sendq, "bbbbcccc", 8);
	assert_int_equal(p.rc.snd_una, 20 + 1 + 4);
	assert_int_equal(p.out_off, 12);
	assert_int_equal(p.rc.recvq_len, 0);
	/* Neither timestamps nor SACK negotiated. */
	assert_false(p.rc.ts_ok);
	assert_false(p.rc.sack_ok);
	rebuild_plan_free(&p);
	fx_free(f);
}

/* No handshake: no plan, but an RST at the sequence number the client wants. */
static void
test_no_handshake(void **state)
{
	struct fx *f = fx_new(1000, 2000);
	struct tcptrack_conn *c;
	struct rebuild_plan p;
	char why[160];

	(void)state;
	seg(f, C2S, 50, "late\n", 70, 500);
	seg(f, S2C, 70, "late\n", 55, 600);
	seg(f, C2S, 55, NULL, 75, 500);
	c = tcptrack_find(f->t, &f->cli, 40000, &f->srv, PORT);
	assert_non_null(c);
	assert_int_equal(rebuild_plan(c, f->now, &p, why, sizeof(why)), -1);
	assert_string_equal(why, "handshake not seen");
	assert_int_equal(rebuild_plan_reset(c, &p), 0);
	assert_true(p.reset_only);
	assert_int_equal(p.rc.snd_una, 2000 + 1 + 75);
	assert_int_equal(p.rc.rcv_nxt, 1000 + 1 + 55);
	assert_int_equal(p.rc.recvq_len + p.rc.sendq_len, 0);
	assert_false(p.rc.ts_ok || p.rc.sack_ok || p.rc.wscale_ok);
	fx_free(f);
}

/*
 * A connection resumed after a restart and silent since (no segment seen):
 * no plan, but an RST at the positions saved before the restart, not none.
 */
static void
test_resumed_silent(void **state)
{
	struct fx *f = fx_new(1000, 2000);
	struct tcptrack_handshake hs;
	struct tcptrack_conn *c;
	struct rebuild_plan p;
	char why[160];

	(void)state;
	memset(&hs, 0, sizeof(hs));
	hs.client = f->cli, hs.cport = 40000;
	hs.server = f->srv, hs.sport = PORT;
	hs.isn[C2S] = f->cisn, hs.isn[S2C] = f->sisn;
	hs.ref_off[C2S] = 300, hs.ref_off[S2C] = 7000;
	assert_non_null(c = tcptrack_resume(f->t, &hs, f->now));
	assert_int_equal(rebuild_plan(c, f->now, &p, why, sizeof(why)), -1);
	assert_int_equal(rebuild_plan_reset(c, &p), 0);
	assert_true(p.reset_only);
	assert_int_equal(p.rc.snd_una, 2000 + 1 + 7000);
	assert_int_equal(p.rc.rcv_nxt, 1000 + 1 + 300);
	fx_free(f);
}

/* A hole in the server's data the client may hold beyond: no plan. */
static void
test_server_hole(void **state)
{
	struct fx *f = fx_new(10, 20);
	struct tcptrack_conn *c;
	struct rebuild_plan p;
	char why[160];

	(void)state;
	c = handshake(f, 1, 1);
	seg(f, C2S, 0, "x\n", 0, 500);
	seg(f, S2C, 4, "tail", 2, 600);			/* bytes 0-3 unseen */
	assert_int_equal(rebuild_plan(c, f->now, &p, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "missed server bytes"));
	fx_free(f);
}

/* Client bytes lost by the capture, then acked: no plan. */
static void
test_client_gap(void **state)
{
	struct fx *f = fx_new(10, 20);
	struct tcptrack_conn *c;
	struct rebuild_plan p;
	char why[160];

	(void)state;
	c = handshake(f, 1, 1);
	seg(f, C2S, 4, "late", 0, 500);			/* 0-3 never seen */
	seg(f, S2C, 0, NULL, 8, 600);			/* the server had them */
	assert_int_equal(rebuild_plan(c, f->now, &p, why, sizeof(why)), -1);
	assert_string_equal(why, "capture lost stream bytes");
	assert_int_equal(rebuild_plan_reset(c, &p), 0);
	fx_free(f);
}

/*
 * Queues bounded by the caller (recover ssh): the receive queue from a
 * chosen client offset, the send queue up to a chosen server offset.
 */
static void
test_range(void **state)
{
	struct fx *f = fx_new(10, 20);
	struct tcptrack_conn *c;
	struct rebuild_plan p, q;
	char why[200];

	(void)state;
	c = handshake(f, 1, 1);
	seg(f, C2S, 0, "0001\n", 0, 500);
	seg(f, S2C, 0, "aaaa", 5, 600);			/* held from 5 */
	seg(f, C2S, 5, "0002\n", 4, 500);
	seg(f, C2S, 10, "0003\n", 4, 500);
	seg(f, S2C, 4, "bbbb", 5, 600);
	seg(f, S2C, 8, "cccc", 5, 600);
	seg(f, S2C, 12, NULL, 15, 600);			/* all acked */
	seg(f, C2S, 15, NULL, 6, 500);			/* 2 of "bbbb" */
	assert_int_equal(rebuild_plan_range(c, f->now, 10, 8, &p, why,
	    sizeof(why)), 0);
	assert_int_equal(p.rc.recvq_len, 5);
	assert_memory_equal(p.rc.recvq, "0003\n", 5);
	assert_int_equal(p.in_off, 10);
	assert_int_equal(p.rc.rcv_nxt, 10 + 1 + 15);
	assert_int_equal(p.rc.sendq_len, 2);
	assert_memory_equal(p.rc.sendq, "bb", 2);
	assert_int_equal(p.rc.snd_una, 20 + 1 + 6);
	assert_int_equal(p.out_off, 8);
	rebuild_plan_free(&p);
	/* Exactly what is retained and acknowledged: empty, fine. */
	assert_int_equal(rebuild_plan_range(c, f->now, 15, 6, &p, why,
	    sizeof(why)), 0);
	assert_int_equal(p.rc.recvq_len + p.rc.sendq_len, 0);
	assert_int_equal(p.in_off, 15);
	rebuild_plan_free(&p);
	/* REBUILD_ANY is rebuild_plan(). */
	assert_int_equal(rebuild_plan_range(c, f->now, REBUILD_ANY,
	    REBUILD_ANY, &p, why, sizeof(why)), 0);
	assert_int_equal(rebuild_plan(c, f->now, &q, why, sizeof(why)), 0);
	assert_int_equal(p.in_off, q.in_off);
	assert_int_equal(p.in_off, 5);
	assert_int_equal(p.out_off, q.out_off);
	assert_int_equal(p.rc.recvq_len, q.rc.recvq_len);
	assert_int_equal(p.rc.sendq_len, 6);
	assert_int_equal(p.rc.sendq_len, q.rc.sendq_len);
	rebuild_plan_free(&p);
	rebuild_plan_free(&q);
	/* What cannot be. */
	assert_int_equal(rebuild_plan_range(c, f->now, 3, 8, &p, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "the client bytes from offset 3 are no "
	    "longer retained (kept from 5)");
	assert_int_equal(rebuild_plan_range(c, f->now, 16, 8, &p, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "the client resume point 16 is beyond what "
	    "the client sent (15)");
	assert_int_equal(rebuild_plan_range(c, f->now, 10, 4, &p, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "the client acknowledged 2 bytes of a server "
	    "packet cut off by the crash (the last whole one ends at offset "
	    "4)");
	assert_int_equal(rebuild_plan_range(c, f->now, 10, 13, &p, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "the server resume point 13 is beyond what "
	    "the server sent (12)");
	assert_null(p.recvq);
	assert_null(p.sendq);
	fx_free(f);
}

static void
test_tsval(void **state)
{
	(void)state;
	assert_int_equal(rebuild_tsval(1000, 10.0, 10.0), 1000 +
	    REBUILD_TSVAL_MARGIN);
	assert_int_equal(rebuild_tsval(1001, 10.0, 10.0) % 2, 0);
	assert_int_equal(rebuild_tsval(1000, 10.0, 12.5), 1000 + 2500 +
	    REBUILD_TSVAL_MARGIN);
	/* A clock that went back never moves the TSval back. */
	assert_int_equal(rebuild_tsval(1000, 10.0, 9.0), 1000 +
	    REBUILD_TSVAL_MARGIN);
	/* Wraps like the TSval itself. */
	assert_int_equal(rebuild_tsval(0xffffff00u, 1.0, 1.0),
	    (0xffffff00u + REBUILD_TSVAL_MARGIN) & 0xffffffffu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_answered),
		cmocka_unit_test(test_sendq),
		cmocka_unit_test(test_no_handshake),
		cmocka_unit_test(test_resumed_silent),
		cmocka_unit_test(test_server_hole),
		cmocka_unit_test(test_client_gap),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_tsval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
