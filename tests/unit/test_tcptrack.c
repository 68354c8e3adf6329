/*
 * Unit tests for monitor/tcptrack.c: handshake options, in-order and
 * out-of-order reassembly, retransmission and overlap, sequence wrap, gaps
 * proved by acks, retention released by acks and held by the consumer,
 * FIN/RST ends, mid-stream pickup, timeouts and bounded memory; resuming
 * from a saved handshake after a restart (positions exact at once, across
 * sequence wraps, the hole not a capture loss).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "tcptrack.h"

#define C2S TCPTRACK_C2S
#define S2C TCPTRACK_S2C

struct sink {
	uint8_t		stream[2][1 << 20];
	uint64_t	got[2];		/* bytes delivered, in order */
	uint64_t	gap_off[2], gap_len[2];
	int		gaps[2];
	int		news, ends;
	int		resumed[2];
	uint64_t	resumed_off[2];
	uint64_t	acked[2];
	char		why[64];
	int		out_of_order;	/* delivery not at the expected offset */
};

static void
on_new(void *arg, struct tcptrack_conn *c)
{
	struct sink *s = arg;

	(void)c;
	s->news++;
}

static void
on_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	struct sink *s = arg;

	(void)c;
	if (off != s->got[dir])
		s->out_of_order++;
	if (off + len <= sizeof(s->stream[dir]))
		memcpy(s->stream[dir] + off, p, len);
	s->got[dir] = off + len;
}

static void
on_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off, uint64_t len)
{
	struct sink *s = arg;

	(void)c;
	s->gaps[dir]++;
	s->gap_off[dir] = off;
	s->gap_len[dir] = len;
	s->got[dir] = off + len;
}

static void
on_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	struct sink *s = arg;

	(void)c;
	s->ends++;
	strncpy(s->why, why, sizeof(s->why) - 1);
}

static void
on_resumed(void *arg, struct tcptrack_conn *c, int dir, uint64_t off)
{
	struct sink *s = arg;

	(void)c;
	s->resumed[dir]++;
	s->resumed_off[dir] = off;
	s->got[dir] = off;
}

static void
on_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	struct sink *s = arg;

	(void)c;
	s->acked[dir] = acked;
}

static const struct tcptrack_ops ops = {
	.conn_new = on_new, .data = on_data, .gap = on_gap, .conn_end = on_end,
	.resumed = on_resumed, .acked = on_acked,
};

struct fx {
	struct tcptrack	*t;
	struct sink	*s;
	struct pkt_addr	 cli, srv;
	uint32_t	 cisn, sisn;
	double		 now;
};

static struct fx *
fx_new(uint32_t cisn, uint32_t sisn, const struct tcptrack_limits *lim)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t a[4];

	assert_non_null(f);
	f->s = calloc(1, sizeof(*f->s));
	assert_non_null(f->s);
	assert_non_null(f->t = tcptrack_new(lim, &ops, f->s));
	inet_pton(AF_INET, "198.18.0.10", a);
	pkt_addr_set(&f->cli, AF_INET, a);
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&f->srv, AF_INET, a);
	assert_int_equal(tcptrack_watch(f->t, &f->srv, 22), 0);
	f->cisn = cisn;
	f->sisn = sisn;
	f->now = 1000.0;
	return f;
}

static void
fx_free(struct fx *f)
{
	tcptrack_free(f->t);
	free(f->s);
	free(f);
}

/* A segment of dir at relative stream offset off (0 = first data byte). */
static int
seg(struct fx *f, int dir, uint8_t flags, uint64_t off, const void *data,
    size_t len, uint64_t ackoff)
{
	struct pkt_tcp p;

	memset(&p, 0, sizeof(p));
	if (dir == C2S) {
		p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = 22;
		p.seq = (uint32_t)(f->cisn + 1 + off);
		p.ack = (uint32_t)(f->sisn + 1 + ackoff);
	} else {
		p.src = f->srv, p.sport = 22, p.dst = f->cli, p.dport = 40000;
		p.seq = (uint32_t)(f->sisn + 1 + off);
		p.ack = (uint32_t)(f->cisn + 1 + ackoff);
	}
	p.flags = flags;
	p.win = 1000;
	p.has_ts = 1;
	p.tsval = (uint32_t)(f->now * 1000);
	p.payload = data;
	p.len = p.wire_len = len;
	f->now += 0.001;
	return tcptrack_feed(f->t, &p, f->now);
}

static struct tcptrack_conn *
handshake(struct fx *f)
{
	struct pkt_tcp p;
	struct tcptrack_conn *c;

	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = 22;
	p.seq = f->cisn;
	p.flags = PKT_SYN;
	p.has_mss = 1, p.mss = 1460;
	p.has_wscale = 1, p.wscale = 7;
	p.has_sackok = 1;
	p.has_ts = 1, p.tsval = 5;
	p.win = 64240;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	memset(&p, 0, sizeof(p));
	p.src = f->srv, p.sport = 22, p.dst = f->cli, p.dport = 40000;
	p.seq = f->sisn;
	p.ack = f->cisn + 1;
	p.flags = PKT_SYN | PKT_ACK;
	p.has_mss = 1, p.mss = 1400;
	p.has_wscale = 1, p.wscale = 9;
	p.has_sackok = 1;
	p.has_ts = 1, p.tsval = 77;
	p.win = 65160;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	assert_int_equal(seg(f, C2S, PKT_ACK, 0, NULL, 0, 0), 0);
	c = tcptrack_find(f->t, &f->cli, 40000, &f->srv, 22);
	assert_non_null(c);
	return c;
}

static void
test_handshake_options(void **state)
{
	struct fx *f = fx_new(1000, 5000, NULL);
	struct tcptrack_conn *c;

	(void)state;
	c = handshake(f);
	assert_int_equal(c->state, TCPTRACK_ESTABLISHED);
	assert_int_equal(c->dir[C2S].isn, 1000);
	assert_int_equal(c->dir[S2C].isn, 5000);
	assert_int_equal(c->dir[C2S].mss, 1460);
	assert_int_equal(c->dir[S2C].mss, 1400);
	assert_int_equal(c->dir[C2S].wscale, 7);
	assert_int_equal(c->dir[S2C].wscale, 9);
	assert_true(c->dir[C2S].has_sackok && c->dir[S2C].has_ts);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	/* Windows are scaled by the sender's own factor after the SYNs. */
	assert_int_equal(c->dir[C2S].win, 1000 << 7);
	assert_int_equal(f->s->news, 1);
	fx_free(f);
}

static void
test_reassembly_out_of_order(void **state)
{
	struct fx *f = fx_new(1, 2, NULL);
	struct tcptrack_conn *c;
	const char *msg = "0123456789abcdefghijklmnopqrstuvwxyz";

	(void)state;
	c = handshake(f);
	/* Out of order, duplicated and overlapping pieces. */
	seg(f, C2S, PKT_ACK, 20, msg + 20, 10, 0);
	seg(f, C2S, PKT_ACK, 10, msg + 10, 5, 0);
	seg(f, C2S, PKT_ACK, 25, msg + 25, 11, 0);	/* overlaps 20..29 */
	seg(f, C2S, PKT_ACK, 12, msg + 12, 6, 0);	/* overlaps 10..14 */
	assert_int_equal(f->s->got[C2S], 0);		/* hole at 0 */
	seg(f, C2S, PKT_ACK, 0, msg, 12, 0);
	assert_int_equal(f->s->got[C2S], 18);		/* hole at 18..19 */
	seg(f, C2S, PKT_ACK, 18, msg + 18, 2, 0);
	assert_int_equal(f->s->got[C2S], 36);
	assert_memory_equal(f->s->stream[C2S], msg, 36);
	assert_int_equal(f->s->out_of_order, 0);
	/* A plain retransmission delivers nothing again. */
	seg(f, C2S, PKT_ACK, 5, msg + 5, 10, 0);
	assert_int_equal(f->s->got[C2S], 36);
	assert_int_equal(c->dir[C2S].delivered, 36);
	assert_int_equal(c->dir[C2S].ooo_bytes, 0);
	assert_int_equal(f->s->gaps[C2S], 0);
	fx_free(f);
}

static void
test_sequence_wrap(void **state)
{
	/* ISNs just below 2^32: the stream crosses the wrap at once. */
	struct fx *f = fx_new(0xfffffff0u, 0xffffff00u, NULL);
	struct tcptrack_conn *c;
	uint8_t data[1000];
	uint64_t off;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	c = handshake(f);
	for (off = 0; off < 10 * sizeof(data); off += sizeof(data))
		seg(f, S2C, PKT_ACK, off, data, sizeof(data), 0);
	assert_int_equal(f->s->got[S2C], 10000);
	seg(f, C2S, PKT_ACK, 0, NULL, 0, 10000);
	assert_int_equal(c->dir[S2C].acked, 10000);
	assert_int_equal(tcptrack_seq(c, S2C, 10000),
	    (uint32_t)(0xffffff00u + 1 + 10000));
	assert_int_equal(f->s->gaps[S2C], 0);
	fx_free(f);
}

static void
test_long_stream_across_4g(void **state)
{
	/*
	 * More than 4 GiB through one direction: offsets keep counting.  The
	 * segment that straddles 2^32 is lost by the capture, so the next ones
	 * arrive beyond a hole right across the 32-bit wrap.
	 */
	struct fx *f = fx_new(7, 9, NULL);
	struct tcptrack_conn *c;
	static uint8_t data[60000];	/* not a divisor of 2^32 */
	uint64_t off, lost = 0, total = (5ULL << 30) / sizeof(data) *
	    sizeof(data);

	(void)state;
	c = handshake(f);
	for (off = 0; off < total; off += sizeof(data)) {
		if (off < (1ULL << 32) && off + sizeof(data) > (1ULL << 32))
			lost = off;
		else
			seg(f, S2C, PKT_ACK, off, data, sizeof(data), 0);
		if ((off / sizeof(data)) % 16 == 0)
			seg(f, C2S, PKT_ACK, 0, NULL, 0, off + sizeof(data));
	}
	assert_true(lost != 0);
	assert_true(c->dir[S2C].delivered == total);
	assert_int_equal(f->s->gaps[S2C], 1);
	assert_true(f->s->gap_off[S2C] == lost);
	assert_int_equal(f->s->gap_len[S2C], sizeof(data));
	/* Memory does not grow with the stream: only unacked bytes stay. */
	assert_true(tcptrack_conn_memory(c) < 4 * 1024 * 1024);
	seg(f, C2S, PKT_ACK, 0, NULL, 0, total);
	assert_true(tcptrack_conn_memory(c) < 16 * 1024);
	fx_free(f);
}

static void
test_gap_proved_by_ack(void **state)
{
	struct fx *f = fx_new(100, 200, NULL);
	struct tcptrack_conn *c;
	char data[100];

	(void)state;
	memset(data, 'x', sizeof(data));
	c = handshake(f);
	seg(f, S2C, PKT_ACK, 0, data, 100, 0);
	/* Bytes 100..199 never reach the capture; 200..299 do. */
	seg(f, S2C, PKT_ACK, 200, data, 100, 0);
	assert_int_equal(f->s->gaps[S2C], 0);		/* may still come */
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	/* The client acknowledges everything: the hole was on the wire. */
	seg(f, C2S, PKT_ACK, 0, NULL, 0, 300);
	assert_int_equal(f->s->gaps[S2C], 1);
	assert_int_equal(f->s->gap_off[S2C], 100);
	assert_int_equal(f->s->gap_len[S2C], 100);
	assert_int_equal(c->dir[S2C].delivered, 300);
	/* Everything is acknowledged, so nothing is missing for recovery. */
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	fx_free(f);
}

static void
test_gap_in_needed_bytes(void **state)
{
	struct fx *f = fx_new(100, 200, NULL);
	struct tcptrack_conn *c;
	char data[100];

	(void)state;
	memset(data, 'y', sizeof(data));
	c = handshake(f);
	/* The consumer holds client bytes from offset 0 (an SSH packet). */
	tcptrack_hold(c, C2S, 0);
	seg(f, C2S, PKT_ACK, 0, data, 100, 0);
	seg(f, C2S, PKT_ACK, 200, data, 100, 0);
	seg(f, S2C, PKT_ACK, 0, NULL, 0, 300);		/* server got it all */
	assert_int_equal(f->s->gaps[C2S], 1);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_GAP);
	/* Once the consumer releases past the gap, it is whole again. */
	tcptrack_hold(c, C2S, 300);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	fx_free(f);
}

static void
test_retention(void **state)
{
	struct fx *f = fx_new(100, 200, NULL);
	struct tcptrack_conn *c;
	const uint8_t *p;
	uint64_t off;
	size_t len;

	(void)state;
	c = handshake(f);
	seg(f, S2C, PKT_ACK, 0, "hello world", 11, 0);
	assert_int_equal(tcptrack_retained(c, S2C, &off, &p, &len), 0);
	assert_int_equal(off, 0);
	assert_int_equal(len, 11);
	seg(f, C2S, PKT_ACK, 0, NULL, 0, 6);		/* "hello " acked */
	assert_int_equal(tcptrack_retained(c, S2C, &off, &p, &len), 0);
	assert_int_equal(off, 6);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "world", 5);
	/* The consumer holds client bytes from 3 on, even once acked. */
	tcptrack_hold(c, C2S, 3);
	seg(f, C2S, PKT_ACK, 0, "abcdefgh", 8, 11);
	seg(f, S2C, PKT_ACK, 11, NULL, 0, 8);
	assert_int_equal(tcptrack_retained(c, C2S, &off, &p, &len), 0);
	assert_int_equal(off, 3);
	assert_memory_equal(p, "defgh", 5);
	fx_free(f);
}

static void
test_retain_limit(void **state)
{
	struct tcptrack_limits lim;
	struct fx *f;
	struct tcptrack_conn *c;
	static uint8_t data[4096];
	int i;

	(void)state;
	tcptrack_limits_default(&lim);
	lim.max_retain = 16 * 1024;
	f = fx_new(1, 1, &lim);
	c = handshake(f);
	for (i = 0; i < 8; i++)
		seg(f, S2C, PKT_ACK, (uint64_t)i * 4096, data, 4096, 0);
	/* 32 KiB unacked, bound 16 KiB: not protectable, memory bounded. */
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_RETAIN_LIMIT);
	assert_true(c->dir[S2C].retained.alloc <= 16 * 1024);
	/* Once the client has acknowledged everything, it is again. */
	seg(f, C2S, PKT_ACK, 0, NULL, 0, 8 * 4096);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	fx_free(f);
}

static void
test_fin_and_rst(void **state)
{
	struct fx *f = fx_new(1, 1, NULL);

	(void)state;
	handshake(f);
	seg(f, C2S, PKT_ACK | PKT_FIN, 0, "bye", 3, 0);
	seg(f, S2C, PKT_ACK | PKT_FIN, 0, NULL, 0, 4);
	assert_int_equal(f->s->ends, 0);
	seg(f, C2S, PKT_ACK, 4, NULL, 0, 1);
	assert_int_equal(f->s->ends, 1);
	assert_string_equal(f->s->why, "closed");
	assert_int_equal(tcptrack_count(f->t), 0);
	fx_free(f);

	f = fx_new(1, 1, NULL);
	handshake(f);
	seg(f, S2C, PKT_RST, 0, NULL, 0, 0);
	assert_int_equal(f->s->ends, 1);
	assert_string_equal(f->s->why, "reset by server");
	fx_free(f);
}

static void
test_midstream_and_timeouts(void **state)
{
	struct fx *f = fx_new(1, 1, NULL);
	struct tcptrack_conn *c;
	struct pkt_tcp p;

	(void)state;
	/* No handshake: tracked, not protectable. */
	seg(f, C2S, PKT_ACK, 50, "data", 4, 70);
	c = tcptrack_find(f->t, &f->cli, 40000, &f->srv, 22);
	assert_non_null(c);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_NO_HANDSHAKE);
	assert_int_equal(f->s->got[C2S], 4);
	/* Unwatched traffic is ignored. */
	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.dst = f->cli, p.sport = 1, p.dport = 2;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), -1);
	fx_free(f);

	/* A handshake that never completes times out; established does not. */
	f = fx_new(1, 1, NULL);
	handshake(f);
	{
		struct pkt_tcp syn;

		memset(&syn, 0, sizeof(syn));
		syn.src = f->cli, syn.sport = 40001;
		syn.dst = f->srv, syn.dport = 22;
		syn.flags = PKT_SYN;
		assert_int_equal(tcptrack_feed(f->t, &syn, f->now), 0);
	}
	assert_int_equal(tcptrack_count(f->t), 2);
	tcptrack_expire(f->t, f->now + 3600);
	assert_int_equal(tcptrack_count(f->t), 1);
	assert_string_equal(f->s->why, "handshake timed out");
	fx_free(f);
}

static void
test_memory_idle(void **state)
{
	struct fx *f = fx_new(1, 1, NULL);
	struct tcptrack_conn *c;

	(void)state;
	c = handshake(f);
	seg(f, C2S, PKT_ACK, 0, "ls\n", 3, 0);
	seg(f, S2C, PKT_ACK, 0, "file\n", 5, 3);
	seg(f, C2S, PKT_ACK, 3, NULL, 0, 5);
	/* An idle connection with everything acknowledged holds little. */
	assert_true(tcptrack_conn_memory(c) < 2048);
	fx_free(f);
}

/*
 * The daemon restarts: a new tracker resumes the connection from its saved
 * handshake.  Bytes flowed meanwhile; the first segment of each side
 * re-anchors it, and positions equal the true ones at once.
 */
static void
resume_case(uint32_t cisn, uint32_t sisn, uint64_t c_off, uint64_t s_off,
    uint64_t c_down, uint64_t s_down)
{
	struct fx *f = fx_new(cisn, sisn, NULL), *g;
	struct tcptrack_handshake hs;
	struct tcptrack_conn *c;
	char data[500];

	memset(data, 'r', sizeof(data));
	c = handshake(f);
	assert_int_equal(tcptrack_handshake(c, &hs), 0);
	assert_int_equal(hs.isn[C2S], cisn);
	assert_int_equal(hs.isn[S2C], sisn);
	assert_true(hs.has_wscale && hs.sackok && hs.ts);
	assert_int_equal(hs.wscale[C2S], 7);
	assert_int_equal(hs.mss[S2C], 1400);
	/* What the consumer saved last: positions c_off, s_off. */
	hs.ref_off[C2S] = c_off;
	hs.ref_off[S2C] = s_off;

	g = fx_new(cisn, sisn, NULL);
	g->now = f->now + 30;
	assert_non_null(c = tcptrack_resume(g->t, &hs, g->now));
	assert_null(tcptrack_resume(g->t, &hs, g->now));	/* once */
	assert_true(c->resumed);
	assert_int_equal(g->s->news, 1);
	assert_int_equal(c->state, TCPTRACK_ESTABLISHED);
	assert_int_equal(c->dir[S2C].wscale, 9);
	assert_true(c->dir[C2S].has_sackok && c->dir[C2S].has_ts);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_RESUME_WAIT);
	/*
	 * While it was down the client sent c_down bytes, the server s_down;
	 * the client acked all but 100 of the server's.  The client speaks
	 * first: its segment anchors c2s; its ack waits for s2c's anchor.
	 */
	seg(g, C2S, PKT_ACK | PKT_PSH, c_off + c_down, data, 10,
	    s_off + s_down - 100);
	assert_int_equal(g->s->resumed[C2S], 1);
	assert_true(g->s->resumed_off[C2S] == c_off + c_down);
	assert_true(c->dir[C2S].delivered == c_off + c_down + 10);
	assert_int_equal(g->s->gaps[C2S], 0);
	assert_int_equal(g->s->out_of_order, 0);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_RESUME_WAIT);
	/* The server's first segment: all it sent, an ack of the 10 bytes. */
	seg(g, S2C, PKT_ACK | PKT_PSH, s_off + s_down, data, 200,
	    c_off + c_down + 10);
	assert_true(g->s->resumed_off[S2C] == s_off + s_down);
	assert_true(c->dir[S2C].delivered == s_off + s_down + 200);
	/* The client had not acked 100 bytes sent before the restart. */
	assert_true(c->dir[S2C].acked == s_off + s_down - 100);
	assert_true(c->dir[C2S].acked == c_off + c_down + 10);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_RESUME_HOLE);
	assert_string_equal(tcptrack_reason_str(TCPTRACK_RESUME_HOLE),
	    "bytes sent while the daemon was down are still needed");
	/* Acked past the hole: nothing is missing any more. */
	seg(g, C2S, PKT_ACK, c_off + c_down + 10, NULL, 0,
	    s_off + s_down + 200);
	assert_true(c->dir[S2C].acked == s_off + s_down + 200);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	assert_int_equal(g->s->gaps[C2S] + g->s->gaps[S2C], 0);
	/* The wire positions are the true ones. */
	assert_int_equal(tcptrack_seq(c, S2C, c->dir[S2C].delivered),
	    (uint32_t)(sisn + 1 + s_off + s_down + 200));
	/* A later capture loss is one again. */
	seg(g, S2C, PKT_ACK | PKT_PSH, s_off + s_down + 300, data, 50,
	    c_off + c_down + 10);
	seg(g, C2S, PKT_ACK, c_off + c_down + 10, NULL, 0,
	    s_off + s_down + 350);
	assert_int_equal(g->s->gaps[S2C], 1);
	assert_true(g->s->gap_off[S2C] == s_off + s_down + 200);
	assert_int_equal(g->s->gap_len[S2C], 100);
	fx_free(f);
	fx_free(g);
}

static void
test_resume(void **state)
{
	(void)state;
	resume_case(1000, 5000, 12345, 678901, 777, 20000);
	/* Nothing sent while it was down. */
	resume_case(1000, 5000, 12345, 678901, 0, 100);
}

static void
test_resume_wrap(void **state)
{
	(void)state;
	/* ISNs just below 2^32: relative offsets wrap at once. */
	resume_case(0xfffffff0u, 0xffffff00u, 100, 200, 5000, 7000);
	/* Streams beyond 4 GiB, the 32-bit sequence wrapping in the hole:
	 * the saved reference picks the right 4 GiB. */
	resume_case(7, 9, (4ULL << 30) - 1000, (9ULL << 30) - 5000, 3000,
	    900000);
	/* A reference 1.5 GiB behind: still the right one. */
	resume_case(0x80000000u, 3, 1ULL << 30, 10ULL << 30, 3ULL << 29,
	    3ULL << 29);
}

/* Never seen again: forgotten after resume_timeout, like any timeout. */
static void
test_resume_timeout(void **state)
{
	struct tcptrack_limits lim;
	struct tcptrack_handshake hs;
	struct tcptrack_conn *c;
	struct fx *f, *g;

	(void)state;
	tcptrack_limits_default(&lim);
	lim.resume_timeout = 60;
	f = fx_new(1, 2, NULL);
	c = handshake(f);
	assert_int_equal(tcptrack_handshake(c, &hs), 0);
	g = fx_new(1, 2, &lim);
	assert_non_null(tcptrack_resume(g->t, &hs, g->now));
	tcptrack_expire(g->t, g->now + 59);
	assert_int_equal(tcptrack_count(g->t), 1);
	tcptrack_expire(g->t, g->now + 61);
	assert_int_equal(tcptrack_count(g->t), 0);
	assert_string_equal(g->s->why, "not seen since the restart");
	/* A connection picked up mid-stream has no handshake to save. */
	seg(g, C2S, PKT_ACK, 0, "x", 1, 0);
	c = tcptrack_find(g->t, &g->cli, 40000, &g->srv, 22);
	assert_non_null(c);
	assert_int_equal(tcptrack_handshake(c, &hs), -1);
	fx_free(f);
	fx_free(g);
}

/* A segment of a connection never seen (no SYN), from client port cport. */
static int
stray(struct fx *f, uint16_t cport, uint8_t flags)
{
	struct pkt_tcp p;

	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.sport = cport, p.dst = f->srv, p.dport = 22;
	p.seq = 12345, p.ack = 678;
	p.flags = flags;
	p.payload = (const uint8_t *)"junk";
	p.len = p.wire_len = 4;
	f->now += 0.001;
	return tcptrack_feed(f->t, &p, f->now);
}

/*
 * Connections picked up mid-stream (anybody's segments make them) are
 * forgotten once silent for midstream_timeout, and give way to a new
 * connection when the table is full; real ones do neither.
 */
static void
test_midstream_bounded(void **state)
{
	struct tcptrack_limits lim;
	struct fx *f;
	uint16_t p;

	(void)state;
	tcptrack_limits_default(&lim);
	lim.max_conns = 4;
	lim.midstream_timeout = 60;
	f = fx_new(1, 2, &lim);
	handshake(f);				/* port 40000: a real one */
	for (p = 50000; p < 50003; p++)
		assert_int_equal(stray(f, p, PKT_ACK), 0);
	assert_int_equal(tcptrack_count(f->t), 4);
	/* Full: a new SYN evicts the stalest stray, not the real one. */
	{
		struct pkt_tcp syn;

		memset(&syn, 0, sizeof(syn));
		syn.src = f->cli, syn.sport = 40001;
		syn.dst = f->srv, syn.dport = 22;
		syn.flags = PKT_SYN;
		f->now += 0.001;
		assert_int_equal(tcptrack_feed(f->t, &syn, f->now), 0);
	}
	assert_int_equal(tcptrack_count(f->t), 4);
	assert_string_equal(f->s->why, "evicted: too many connections");
	assert_null(tcptrack_find(f->t, &f->cli, 50000, &f->srv, 22));
	assert_non_null(tcptrack_find(f->t, &f->cli, 40000, &f->srv, 22));
	assert_non_null(tcptrack_find(f->t, &f->cli, 40001, &f->srv, 22));
	/* More strays: the other two go, then nothing is evictable. */
	assert_int_equal(stray(f, 50010, PKT_ACK), 0);
	assert_int_equal(stray(f, 50011, PKT_ACK), 0);
	assert_int_equal(tcptrack_count(f->t), 4);
	assert_non_null(tcptrack_find(f->t, &f->cli, 40000, &f->srv, 22));
	assert_non_null(tcptrack_find(f->t, &f->cli, 40001, &f->srv, 22));
	/* Silent strays expire; the real connection stays. */
	tcptrack_expire(f->t, f->now + 59);
	assert_int_equal(tcptrack_count(f->t), 3);	/* the SYN timed out */
	tcptrack_expire(f->t, f->now + 61);
	assert_int_equal(tcptrack_count(f->t), 1);
	assert_string_equal(f->s->why, "picked up mid-stream, then silent");
	assert_non_null(tcptrack_find(f->t, &f->cli, 40000, &f->srv, 22));
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_options),
		cmocka_unit_test(test_reassembly_out_of_order),
		cmocka_unit_test(test_sequence_wrap),
		cmocka_unit_test(test_long_stream_across_4g),
		cmocka_unit_test(test_gap_proved_by_ack),
		cmocka_unit_test(test_gap_in_needed_bytes),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_retain_limit),
		cmocka_unit_test(test_fin_and_rst),
		cmocka_unit_test(test_midstream_and_timeouts),
		cmocka_unit_test(test_memory_idle),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_resume_wrap),
		cmocka_unit_test(test_resume_timeout),
		cmocka_unit_test(test_midstream_bounded),
	};

	return cmocka_run_group_tests_name("tcptrack", tests, NULL, NULL);
}
