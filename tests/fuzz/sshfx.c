/*
 * sshfx: the fixture the two sshtrack harnesses share (included by them):
 * a TCP tracker feeding an SSH tracker, as src/watch.c wires them, one
 * connection 198.18.0.10:40000 -> 198.18.0.2:22 after its handshake, a key
 * provider over up to SSHFX_MAXKEX records, and segment feeding.  After the
 * input, every query the daemon makes at takeover runs on what is left.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "pkt.h"
#include "seal.h"
#include "sshtrack.h"
#include "tcptrack.h"

#define SSHFX_MAXKEX	4

struct sshfx {
	struct tcptrack		*t;
	struct sshtrack		*st;
	struct tcptrack_conn	*c;
	struct pkt_addr		 cli, srv;
	uint32_t		 cisn, sisn;
	double			 now;
	struct seal_keyrec	 rec[SSHFX_MAXKEX];
	int			 avail[SSHFX_MAXKEX];
	uint64_t		 fed[2];	/* stream offset fed so far */
};

static const struct seal_keyrec *
fx_provider(void *arg, const struct tcptrack_conn *c, uint32_t kex)
{
	struct sshfx *f = arg;
	int k;

	(void)c;
	if (kex == SSHTRACK_KEX_NEWEST) {
		for (k = SSHFX_MAXKEX; k-- > 0; )
			if (f->avail[k])
				return &f->rec[k];
		return NULL;
	}
	if (kex >= SSHFX_MAXKEX || !f->avail[kex])
		return NULL;
	return &f->rec[kex];
}

static void
fx_op_new(void *arg, struct tcptrack_conn *c)
{
	struct sshfx *f = arg;

	f->c = c;
	sshtrack_conn_new(f->st, c);
}

static void
fx_op_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	sshtrack_data(((struct sshfx *)arg)->st, c, dir, off, p, len);
}

static void
fx_op_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	sshtrack_acked(((struct sshfx *)arg)->st, c, dir, acked);
}

static void
fx_op_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    uint64_t len)
{
	sshtrack_gap(((struct sshfx *)arg)->st, c, dir, off, len);
}

static void
fx_op_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	struct sshfx *f = arg;

	(void)why;
	sshtrack_conn_end(f->st, c);
	f->c = NULL;
}

static void
fx_op_resumed(void *arg, struct tcptrack_conn *c, int dir, uint64_t off)
{
	sshtrack_resumed(((struct sshfx *)arg)->st, c, dir, off);
}

static const struct tcptrack_ops fx_ops = {
	.conn_new = fx_op_new, .data = fx_op_data, .acked = fx_op_acked,
	.gap = fx_op_gap, .conn_end = fx_op_end, .resumed = fx_op_resumed,
};

/* One segment of dir at stream offset off, acking ackoff of the other. */
static void
fx_seg(struct sshfx *f, int dir, uint64_t off, const void *data, size_t len,
    uint64_t ackoff)
{
	struct pkt_tcp p;

	memset(&p, 0, sizeof(p));
	if (dir == SSHTRACK_C2S) {
		p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = 22;
		p.seq = (uint32_t)(f->cisn + 1 + off);
		p.ack = (uint32_t)(f->sisn + 1 + ackoff);
	} else {
		p.src = f->srv, p.sport = 22, p.dst = f->cli, p.dport = 40000;
		p.seq = (uint32_t)(f->sisn + 1 + off);
		p.ack = (uint32_t)(f->cisn + 1 + ackoff);
	}
	p.flags = PKT_ACK | (len ? PKT_PSH : 0);
	p.win = 1000;
	p.payload = data;
	p.len = p.wire_len = len;
	f->now += 0.001;
	(void)tcptrack_feed(f->t, &p, f->now);
	sshtrack_poll(f->st);
}

/* Feed len stream bytes of dir in segments of at most mss. */
static void
fx_feed(struct sshfx *f, int dir, const uint8_t *p, size_t len, size_t mss)
{
	while (len > 0) {
		size_t n = len < mss ? len : mss;

		fx_seg(f, dir, f->fed[dir], p, n, f->fed[!dir]);
		f->fed[dir] += n;
		p += n;
		len -= n;
	}
}

/* The other side acknowledges everything of dir fed so far. */
static void
fx_ack(struct sshfx *f, int dir)
{
	fx_seg(f, !dir, f->fed[!dir], NULL, 0, f->fed[dir]);
}

static struct sshfx *
fx_new(void)
{
	struct sshfx *f = calloc(1, sizeof(*f));
	struct sshtrack_limits lim;
	struct pkt_tcp p;
	uint8_t a[4] = { 198, 18, 0, 10 }, b[4] = { 198, 18, 0, 2 };

	FUZZ_CHECK(f != NULL);
	sshtrack_limits_default(&lim);
	/* Bounds small enough for inputs to reach them; CPU in check. */
	lim.max_log = 16 * 1024;
	lim.max_channels = 8;
	lim.max_marks = 64;
	lim.max_arrivals = 64;
	lim.resync_max_packets = 64;
	lim.resync_max_candidates = 64;
	lim.resync_max_bytes = 256 * 1024;
	lim.resync_cpu = 0.05;
	FUZZ_CHECK((f->t = tcptrack_new(NULL, &fx_ops, f)) != NULL);
	FUZZ_CHECK((f->st = sshtrack_new(&lim, fx_provider, f)) != NULL);
	pkt_addr_set(&f->cli, AF_INET, a);
	pkt_addr_set(&f->srv, AF_INET, b);
	FUZZ_CHECK(tcptrack_watch(f->t, &f->srv, 22) == 0);
	f->cisn = 0xfffff000u;		/* wraps during the session */
	f->sisn = 12345;
	f->now = 1000.0;
	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = 22;
	p.seq = f->cisn;
	p.flags = PKT_SYN;
	p.has_mss = 1, p.mss = 1460;
	FUZZ_CHECK(tcptrack_feed(f->t, &p, f->now) == 0);
	memset(&p, 0, sizeof(p));
	p.src = f->srv, p.sport = 22, p.dst = f->cli, p.dport = 40000;
	p.seq = f->sisn;
	p.ack = f->cisn + 1;
	p.flags = PKT_SYN | PKT_ACK;
	p.has_mss = 1, p.mss = 1460;
	FUZZ_CHECK(tcptrack_feed(f->t, &p, f->now) == 0);
	fx_seg(f, SSHTRACK_C2S, 0, NULL, 0, 0);
	FUZZ_CHECK(f->c != NULL && f->c->upper != NULL);
	return f;
}

/* What the daemon asks at takeover and for status, on what is left. */
static void
fx_query(struct sshfx *f)
{
	struct sshtrack_info info;
	struct sshtrack_pos pos;
	struct sshtrack_msg m;
	struct sshtrack_chan ch;
	struct sshtrack_sync sp;
	struct buf state, log;
	char why[256];
	size_t i, n;
	int d, r;

	if (f->c == NULL)
		return;
	FUZZ_CHECK(sshtrack_status(f->st, f->c, &info) == 0);
	FUZZ_CHECK(memchr(info.reason, '\0', sizeof(info.reason)) != NULL);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "  protectable %d (%s), log %zu, channels %zu, "
		    "phases %s/%s, packets %llu/%llu\n", info.protectable,
		    info.reason, info.log_entries, info.channels,
		    sshtrack_phase_str(info.dir[0].phase),
		    sshtrack_phase_str(info.dir[1].phase),
		    (unsigned long long)info.dir[0].total_packets,
		    (unsigned long long)info.dir[1].total_packets);
	for (d = 0; d < 2; d++) {
		(void)sshtrack_phase_str(info.dir[d].phase);
		if (sshtrack_position(f->st, f->c, d, 0, &pos) == 0)
			FUZZ_CHECK(pos.iv_len <= sizeof(pos.iv));
	}
	(void)sshtrack_position(f->st, f->c, SSHTRACK_C2S, 1, &pos);
	n = sshtrack_log_count(f->st, f->c);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(sshtrack_log_get(f->st, f->c, i, &m) == 0);
		FUZZ_CHECK(m.len >= 1 || (m.flags & (SSHTRACK_LOG_PASSWORD |
		    SSHTRACK_LOG_REDACTED)));
		FUZZ_CHECK(m.len == 0 || m.p[0] == m.type);
	}
	n = sshtrack_channel_count(f->st, f->c);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(sshtrack_channel_get(f->st, f->c, i, &ch) == 0);
	if (sshtrack_resume_check(f->st, f->c, why, sizeof(why)) == 0)
		for (i = 0; i < n; i++)
			(void)sshtrack_channel_get_resume(f->st, f->c, i, &ch);
	buf_init(&state, 4 << 20);
	buf_init(&log, 4 << 20);
	buf_set_secret(&log);
	r = sshtrack_sync_get(f->st, f->c, &sp, &state, &log);
	if (r == 0)
		sshtrack_sync_saved(f->st, f->c, &sp);
	buf_free(&state);
	buf_free(&log);
	explicit_bzero(&pos, sizeof(pos));
}

static void
fx_free(struct sshfx *f)
{
	tcptrack_free(f->t);
	sshtrack_free(f->st);
	explicit_bzero(f->rec, sizeof(f->rec));
	free(f);
}
