/*
 * tcptrack: TCP connection tracking and stream reassembly (see tcptrack.h).
 *
 * Each direction's stream is kept as: bytes [base, delivered) retained
 * contiguously (what recovery may need: not yet acknowledged by the peer, or
 * held by the consumer), and a short sorted list of out-of-order segments
 * beyond `delivered`.  A hole that the peer acknowledges was on the wire but
 * not in our capture: it is reported as a gap and skipped, never guessed.
 *
 * A resumed connection (tcptrack_resume()) starts with each direction's
 * `delivered` at the saved reference offset; the sender's first segment
 * re-anchors that direction there (base = delivered = its offset), so the
 * bytes before it are a hole we knew about, reported as the lost reason
 * TCPTRACK_RESUME_HOLE only while the peer has not acknowledged past it.
 */
#include <stdlib.h>
#include <string.h>

#include "tcptrack.h"

#define TCPTRACK_HASH_SIZE	4096
#define TCPTRACK_MAX_WATCH	64
/* Segments this far beyond what we have are not of this connection. */
#define TCPTRACK_WINDOW_SANITY	(1ULL << 30)
/* An emptied retention buffer larger than this is given back. */
#define TCPTRACK_IDLE_KEEP	4096
/*
 * A full table makes room by evicting the stalest connection that cannot
 * be protected anyway (no handshake seen, or a handshake silent this long)
 * among the next hash buckets' (in turn), once this many connections were
 * looked at and one can go (or every bucket was).
 */
#define TCPTRACK_EVICT_LOOK	64
#define TCPTRACK_EVICT_SYN_IDLE	5.0

struct tcptrack_watch {
	struct pkt_addr	addr;
	uint16_t	port;
};

struct tcptrack {
	struct tcptrack_limits	 lim;
	struct tcptrack_ops	 ops;
	void			*arg;
	struct tcptrack_watch	 watch[TCPTRACK_MAX_WATCH];
	int			 nwatch;
	struct tcptrack_conn	*hash[TCPTRACK_HASH_SIZE];
	struct tcptrack_conn	*all;
	size_t			 nconns;
	uint64_t		 next_id;
	unsigned		 evict_next;	/* the next bucket to look at */
};

void
tcptrack_limits_default(struct tcptrack_limits *lim)
{
	lim->max_retain = 8 * 1024 * 1024;
	lim->max_ooo = 1024 * 1024;
	lim->max_conns = 65536;
	lim->syn_timeout = 30.0;
	lim->fin_timeout = 60.0;
	lim->resume_timeout = 3600.0;
	lim->midstream_timeout = 300.0;
}

struct tcptrack *
tcptrack_new(const struct tcptrack_limits *lim, const struct tcptrack_ops *ops,
    void *arg)
{
	struct tcptrack *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (lim != NULL)
		t->lim = *lim;
	else
		tcptrack_limits_default(&t->lim);
	t->ops = *ops;
	t->arg = arg;
	return t;
}

int
tcptrack_watch(struct tcptrack *t, const struct pkt_addr *addr, uint16_t port)
{
	if (t->nwatch == TCPTRACK_MAX_WATCH)
		return -1;
	t->watch[t->nwatch].addr = *addr;
	t->watch[t->nwatch].port = port;
	t->nwatch++;
	return 0;
}

void
tcptrack_unwatch_all(struct tcptrack *t)
{
	t->nwatch = 0;
}

static int
tcptrack_is_watched(const struct tcptrack *t, const struct pkt_addr *a,
    uint16_t port)
{
	int i;

	for (i = 0; i < t->nwatch; i++)
		if (t->watch[i].port == port &&
		    memcmp(&t->watch[i].addr, a, sizeof(*a)) == 0)
			return 1;
	return 0;
}

static unsigned
tcptrack_hash(const struct pkt_addr *client, uint16_t cport,
    const struct pkt_addr *server, uint16_t sport)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(client->a); i++)
		h = (h ^ client->a[i]) * 16777619u;
	for (i = 0; i < sizeof(server->a); i++)
		h = (h ^ server->a[i]) * 16777619u;
	h = (h ^ cport) * 16777619u;
	h = (h ^ sport) * 16777619u;
	return h % TCPTRACK_HASH_SIZE;
}

struct tcptrack_conn *
tcptrack_find(struct tcptrack *t, const struct pkt_addr *client,
    uint16_t cport, const struct pkt_addr *server, uint16_t sport)
{
	struct tcptrack_conn *c;

	for (c = t->hash[tcptrack_hash(client, cport, server, sport)];
	    c != NULL; c = c->hnext)
		if (c->cport == cport && c->sport == sport &&
		    memcmp(&c->client, client, sizeof(*client)) == 0 &&
		    memcmp(&c->server, server, sizeof(*server)) == 0)
			return c;
	return NULL;
}

size_t
tcptrack_count(const struct tcptrack *t)
{
	return t->nconns;
}

static void
tcptrack_dir_free(struct tcptrack_dir *d)
{
	struct tcptrack_seg *s, *n;

	buf_free(&d->retained);
	for (s = d->ooo; s != NULL; s = n) {
		n = s->next;
		free(s);
	}
	d->ooo = NULL;
	d->ooo_bytes = 0;
}

/* Unlink, tell the consumer, free. */
static void
tcptrack_conn_end(struct tcptrack *t, struct tcptrack_conn *c, const char *why)
{
	struct tcptrack_conn **pp;

	pp = &t->hash[tcptrack_hash(&c->client, c->cport, &c->server,
	    c->sport)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		t->all = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	t->nconns--;
	if (t->ops.conn_end != NULL)
		t->ops.conn_end(t->arg, c, why);
	tcptrack_dir_free(&c->dir[0]);
	tcptrack_dir_free(&c->dir[1]);
	free(c);
}

void
tcptrack_free(struct tcptrack *t)
{
	if (t == NULL)
		return;
	while (t->all != NULL)
		tcptrack_conn_end(t, t->all, "shutdown");
	free(t);
}

/*
 * The table is full: end the stalest connection that cannot be protected
 * anyway, among a few buckets' (0), or find none (-1).  Anybody's segments
 * to a watched port make connections picked up mid-stream, and spoofed SYNs
 * handshakes that never complete: they must not keep a real one out.
 */
static int
tcptrack_evict(struct tcptrack *t, double now)
{
	struct tcptrack_conn *c, *victim = NULL;
	size_t looked = 0;
	int i;

	for (i = 0; i < TCPTRACK_HASH_SIZE; i++) {
		if (looked >= TCPTRACK_EVICT_LOOK &&
		    (victim != NULL || looked >= 4 * TCPTRACK_EVICT_LOOK))
			break;
		c = t->hash[t->evict_next++ % TCPTRACK_HASH_SIZE];
		for (; c != NULL; c = c->hnext) {
			looked++;
			if (!((c->unprotectable == TCPTRACK_NO_HANDSHAKE &&
			    !c->resumed) ||
			    ((c->state == TCPTRACK_SYN_SENT ||
			    c->state == TCPTRACK_SYN_RECEIVED) &&
			    now - c->last_time > TCPTRACK_EVICT_SYN_IDLE)))
				continue;
			if (victim == NULL || c->last_time < victim->last_time)
				victim = c;
		}
	}
	if (victim == NULL)
		return -1;
	tcptrack_conn_end(t, victim, "evicted: too many connections");
	return 0;
}

static struct tcptrack_conn *
tcptrack_conn_new(struct tcptrack *t, const struct pkt_addr *client,
    uint16_t cport, const struct pkt_addr *server, uint16_t sport, double now)
{
	struct tcptrack_conn *c;
	unsigned h;
	int i;

	if (t->nconns >= t->lim.max_conns && tcptrack_evict(t, now) != 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->client = *client;
	c->server = *server;
	c->cport = cport;
	c->sport = sport;
	c->first_time = c->last_time = now;
	c->id = ++t->next_id;
	for (i = 0; i < 2; i++) {
		buf_init(&c->dir[i].retained, t->lim.max_retain);
		c->dir[i].hold = UINT64_MAX;
	}
	h = tcptrack_hash(client, cport, server, sport);
	c->hnext = t->hash[h];
	t->hash[h] = c;
	c->lnext = t->all;
	if (t->all != NULL)
		t->all->lprev = c;
	t->all = c;
	t->nconns++;
	return c;
}

/* Tell the consumer, once the connection's first segment is applied. */
static void
tcptrack_announce(struct tcptrack *t, struct tcptrack_conn *c)
{
	if (t->ops.conn_new != NULL)
		t->ops.conn_new(t->arg, c);
}

uint64_t
tcptrack_unwrap(uint32_t rel, uint64_t ref)
{
	uint64_t cand = (ref & ~(uint64_t)0xffffffff) | rel;

	if (cand + 0x80000000ULL < ref)
		cand += 1ULL << 32;
	else if (cand > ref + 0x80000000ULL && cand >= (1ULL << 32))
		cand -= 1ULL << 32;
	return cand;
}

uint32_t
tcptrack_seq(const struct tcptrack_conn *c, int dir, uint64_t off)
{
	return (uint32_t)(c->dir[dir].isn + 1 + off);
}

/* Drop retained bytes that nobody needs any more. */
static void
tcptrack_release(struct tcptrack_dir *d)
{
	uint64_t upto = d->acked < d->hold ? d->acked : d->hold;

	if (upto > d->delivered)
		upto = d->delivered;
	if (upto <= d->base)
		return;
	buf_skip(&d->retained, (size_t)(upto - d->base));
	d->base = upto;
	if (buf_len(&d->retained) == 0 &&
	    d->retained.alloc > TCPTRACK_IDLE_KEEP) {
		size_t max = d->retained.max;

		buf_free(&d->retained);		/* idle connections hold little */
		buf_init(&d->retained, max);
	}
}

void
tcptrack_hold(struct tcptrack_conn *c, int dir, uint64_t off)
{
	c->dir[dir].hold = off;
	tcptrack_release(&c->dir[dir]);
}

/* Append in-order bytes: retain them and hand them to the consumer. */
static void
tcptrack_deliver(struct tcptrack *t, struct tcptrack_conn *c, int dir,
    const uint8_t *p, size_t len)
{
	struct tcptrack_dir *d = &c->dir[dir];
	uint64_t off = d->delivered;

	if (buf_put(&d->retained, p, len) != 0) {
		/* Over the bound: retention restarts here (see lost_reason). */
		buf_reset(&d->retained);
		d->base = d->delivered + len;
		d->lost_reason = TCPTRACK_RETAIN_LIMIT;
	}
	d->delivered += len;
	if (t->ops.data != NULL)
		t->ops.data(t->arg, c, dir, off, p, len);
}

/* Move out-of-order segments that have become contiguous. */
static void
tcptrack_drain(struct tcptrack *t, struct tcptrack_conn *c, int dir)
{
	struct tcptrack_dir *d = &c->dir[dir];
	struct tcptrack_seg *s;

	while ((s = d->ooo) != NULL && s->off <= d->delivered) {
		d->ooo = s->next;
		d->ooo_bytes -= s->len;
		if (s->off + s->len > d->delivered) {
			size_t skip = (size_t)(d->delivered - s->off);

			tcptrack_deliver(t, c, dir, s->data + skip,
			    s->len - skip);
		}
		free(s);
	}
}

/* Keep a segment beyond a hole; overlapping parts already held are dropped. */
static void
tcptrack_ooo_insert(struct tcptrack *t, struct tcptrack_conn *c, int dir,
    uint64_t off, const uint8_t *p, size_t len)
{
	struct tcptrack_dir *d = &c->dir[dir];
	struct tcptrack_seg **pp, *s;
	uint64_t end = off + len;

	for (pp = &d->ooo; *pp != NULL && (*pp)->off + (*pp)->len <= off;
	    pp = &(*pp)->next)
		;
	/* Trim against the neighbour that starts before or at off. */
	if (*pp != NULL && (*pp)->off <= off) {
		uint64_t pend = (*pp)->off + (*pp)->len;

		if (pend >= end)
			return;			/* already held */
		p += pend - off;
		len -= (size_t)(pend - off);
		off = pend;
		pp = &(*pp)->next;
	}
	/* Trim the tail against the next segment. */
	if (*pp != NULL && (*pp)->off < off + len)
		len = (size_t)((*pp)->off - off);
	if (len == 0)
		return;
	if (d->ooo_bytes + len > t->lim.max_ooo) {
		d->ooo_dropped++;
		return;			/* a retransmission or an ack will tell */
	}
	if ((s = malloc(sizeof(*s) + len)) == NULL)
		return;
	s->off = off;
	s->len = len;
	memcpy(s->data, p, len);
	s->next = *pp;
	*pp = s;
	d->ooo_bytes += len;
}

/* Payload of direction dir at stream offset off. */
static void
tcptrack_data(struct tcptrack *t, struct tcptrack_conn *c, int dir,
    uint64_t off, const uint8_t *p, size_t len)
{
	struct tcptrack_dir *d = &c->dir[dir];

	if (len == 0)
		return;
	if (off + len > d->highest)
		d->highest = off + len;
	if (off + len <= d->delivered)
		return;				/* retransmission */
	if (off < d->delivered) {
		p += d->delivered - off;
		len -= (size_t)(d->delivered - off);
		off = d->delivered;
	}
	if (off == d->delivered) {
		tcptrack_deliver(t, c, dir, p, len);
		tcptrack_drain(t, c, dir);
	} else
		tcptrack_ooo_insert(t, c, dir, off, p, len);
}

/*
 * The peer acknowledged direction dir up to ack.  Bytes below it that we
 * never saw were lost by the capture: report them and move on.
 */
static void
tcptrack_acked(struct tcptrack *t, struct tcptrack_conn *c, int dir,
    uint64_t ack)
{
	struct tcptrack_dir *d = &c->dir[dir];
	uint64_t data_end = ack;

	if (d->fin_seen && ack > d->fin_off)
		data_end = d->fin_off;		/* the FIN takes one number */
	if (data_end > d->acked) {
		d->acked = data_end;
		if (t->ops.acked != NULL)
			t->ops.acked(t->arg, c, dir, d->acked);
	}
	while (d->acked > d->delivered) {
		uint64_t to = d->acked;

		if (d->ooo != NULL && d->ooo->off < to)
			to = d->ooo->off;
		if (t->ops.gap != NULL)
			t->ops.gap(t->arg, c, dir, d->delivered,
			    to - d->delivered);
		d->gaps++;
		d->gap_bytes += to - d->delivered;
		d->lost_reason = TCPTRACK_GAP;
		buf_reset(&d->retained);
		d->delivered = to;
		d->base = to;
		if (d->highest < to)
			d->highest = to;
		tcptrack_drain(t, c, dir);
	}
	tcptrack_release(d);
}

/*
 * The first ack of direction dir seen since it was re-anchored: it may be
 * below the anchor (the peer had not acknowledged everything sent before the
 * restart), the only time acked moves backwards.
 */
static void
tcptrack_ack_first(struct tcptrack *t, struct tcptrack_conn *c, int dir,
    uint64_t ack)
{
	struct tcptrack_dir *d = &c->dir[dir];

	d->ack_unknown = 0;
	if (ack < d->acked)
		d->acked = ack;
	/* The consumer learns where acks stand, even if they did not move. */
	if (t->ops.acked != NULL)
		t->ops.acked(t->arg, c, dir, d->acked);
	tcptrack_acked(t, c, dir, ack);
}

/*
 * The first segment of a resumed direction: its offset, relative to the
 * saved ISN and unwrapped near the saved reference, is where the stream
 * goes on.  The peer's latest ack, if it spoke first, says what it has.
 */
static void
tcptrack_anchor(struct tcptrack *t, struct tcptrack_conn *c, int dir,
    uint32_t seq)
{
	struct tcptrack_dir *d = &c->dir[dir], *o = &c->dir[!dir];
	uint64_t off = tcptrack_unwrap(seq - (d->isn + 1), d->delivered);

	d->resume_pending = 0;
	d->anchor = d->delivered = d->base = d->highest = d->acked = off;
	d->ack_unknown = 1;
	d->lost_reason = TCPTRACK_RESUME_HOLE;
	buf_reset(&d->retained);
	if (t->ops.resumed != NULL)
		t->ops.resumed(t->arg, c, dir, off);
	if (o->segments > 0)
		tcptrack_ack_first(t, c, dir, tcptrack_unwrap(o->last_ack -
		    (d->isn + 1), off));
}

static void
tcptrack_syn_options(struct tcptrack_dir *d, const struct pkt_tcp *seg)
{
	d->syn_seen = 1;
	d->isn = seg->seq;
	d->has_mss = seg->has_mss;
	d->mss = seg->mss;
	d->has_wscale = seg->has_wscale;
	d->wscale = seg->wscale > 14 ? 14 : seg->wscale;
	d->has_sackok = seg->has_sackok;
	d->has_ts = seg->has_ts;
}

int
tcptrack_feed(struct tcptrack *t, const struct pkt_tcp *seg, double now)
{
	const struct pkt_addr *client, *server;
	struct tcptrack_conn *c;
	struct tcptrack_dir *d, *o;
	uint16_t cport, sport;
	uint64_t off;
	int dir;

	if (tcptrack_is_watched(t, &seg->dst, seg->dport)) {
		dir = TCPTRACK_C2S;
		client = &seg->src, cport = seg->sport;
		server = &seg->dst, sport = seg->dport;
	} else if (tcptrack_is_watched(t, &seg->src, seg->sport)) {
		dir = TCPTRACK_S2C;
		client = &seg->dst, cport = seg->dport;
		server = &seg->src, sport = seg->sport;
	} else
		return -1;

	c = tcptrack_find(t, client, cport, server, sport);
	if ((seg->flags & (PKT_SYN | PKT_ACK)) == PKT_SYN &&
	    dir == TCPTRACK_C2S) {
		if (c != NULL && c->dir[TCPTRACK_C2S].syn_seen &&
		    c->dir[TCPTRACK_C2S].isn == seg->seq)
			return 0;		/* retransmitted SYN */
		if (c != NULL)
			tcptrack_conn_end(t, c, "port reused by a new SYN");
		if ((c = tcptrack_conn_new(t, client, cport, server, sport,
		    now)) == NULL)
			return -1;
		c->state = TCPTRACK_SYN_SENT;
		tcptrack_syn_options(&c->dir[TCPTRACK_C2S], seg);
		c->dir[TCPTRACK_C2S].last_seq = seg->seq;
		c->dir[TCPTRACK_C2S].last_time = now;
		if (seg->has_ts) {
			c->dir[TCPTRACK_C2S].tsval = seg->tsval;
			c->dir[TCPTRACK_C2S].tsval_time = now;
		}
		c->dir[TCPTRACK_C2S].win = seg->win;
		tcptrack_announce(t, c);
		return 0;
	}
	if (c == NULL) {
		if (seg->flags & (PKT_RST | PKT_SYN))
			return -1;	/* the end or start of what we never saw */
		if ((c = tcptrack_conn_new(t, client, cport, server, sport,
		    now)) == NULL)
			return -1;
		/* Picked up mid-stream: options unknown. */
		c->state = TCPTRACK_ESTABLISHED;
		c->unprotectable = TCPTRACK_NO_HANDSHAKE;
		c->dir[dir].isn = seg->seq - 1;
		if (seg->flags & PKT_ACK)
			c->dir[!dir].isn = seg->ack - 1;
		else
			c->dir[!dir].isn = 0;
		tcptrack_announce(t, c);
	}
	d = &c->dir[dir];
	o = &c->dir[!dir];
	c->last_time = now;
	d->last_time = now;
	d->segments++;
	d->bytes += seg->wire_len;

	if (seg->flags & PKT_SYN) {
		/* The server's SYN-ACK (a client SYN-ACK is nonsense). */
		if (dir != TCPTRACK_S2C || !(seg->flags & PKT_ACK))
			return 0;
		if (d->syn_seen && d->isn != seg->seq)
			return 0;		/* not this connection's */
		tcptrack_syn_options(d, seg);
		if (c->state == TCPTRACK_SYN_SENT)
			c->state = TCPTRACK_SYN_RECEIVED;
		/* Scaling and SACK apply only if both SYNs offered them. */
		if (!o->has_wscale || !d->has_wscale)
			o->has_wscale = d->has_wscale = 0;
		if (!o->has_sackok || !d->has_sackok)
			o->has_sackok = d->has_sackok = 0;
		if (!o->has_ts || !d->has_ts)
			o->has_ts = d->has_ts = 0;
		d->last_seq = seg->seq;
		d->last_ack = seg->ack;
		d->win = seg->win;
		if (seg->has_ts) {
			d->tsval = seg->tsval;
			d->tsecr = seg->tsecr;
			d->tsval_time = now;
		}
		return 0;
	}
	if (c->state == TCPTRACK_SYN_RECEIVED && dir == TCPTRACK_C2S) {
		c->state = TCPTRACK_ESTABLISHED;
		if (t->ops.established != NULL)
			t->ops.established(t->arg, c);
	}
	if (c->state == TCPTRACK_SYN_SENT && dir == TCPTRACK_C2S) {
		/* SYN-ACK lost by the capture: no server options. */
		c->state = TCPTRACK_ESTABLISHED;
		c->unprotectable = TCPTRACK_NO_HANDSHAKE;
		if (seg->flags & PKT_ACK)
			o->isn = seg->ack - 1;
	}

	d->last_seq = seg->seq;
	if (seg->flags & PKT_ACK)
		d->last_ack = seg->ack;
	d->win = (uint32_t)seg->win << (d->has_wscale ? d->wscale : 0);
	if (seg->has_ts) {
		d->tsval = seg->tsval;
		d->tsecr = seg->tsecr;
		d->tsval_time = now;
	}

	if (seg->flags & PKT_RST) {
		tcptrack_conn_end(t, c, dir == TCPTRACK_C2S ?
		    "reset by client" : "reset by server");
		return 0;
	}

	if (d->resume_pending)
		tcptrack_anchor(t, c, dir, seg->seq);
	off = tcptrack_unwrap(seg->seq - (d->isn + 1), d->delivered);
	if (off > d->delivered + TCPTRACK_WINDOW_SANITY)
		return 0;			/* far outside any window */
	tcptrack_data(t, c, dir, off, seg->payload, seg->len);
	if ((seg->flags & PKT_FIN) && !d->fin_seen) {
		d->fin_seen = 1;
		d->fin_off = off + seg->wire_len;
		if (c->state < TCPTRACK_FIN_WAIT)
			c->state = TCPTRACK_FIN_WAIT;
	}
	/* A resumed direction not anchored yet: its anchor will use this. */
	if ((seg->flags & PKT_ACK) && !o->resume_pending) {
		uint64_t ack = tcptrack_unwrap(seg->ack - (o->isn + 1),
		    o->delivered);

		if (ack <= o->delivered + TCPTRACK_WINDOW_SANITY) {
			if (o->ack_unknown)
				tcptrack_ack_first(t, c, !dir, ack);
			else
				tcptrack_acked(t, c, !dir, ack);
			if (o->fin_seen && ack > o->fin_off)
				o->fin_acked = 1;
		}
	}
	/* Both FINs sent and acknowledged: the connection is over. */
	if (d->fin_acked && o->fin_acked) {
		c->state = TCPTRACK_CLOSED;
		tcptrack_conn_end(t, c, "closed");
	}
	return 0;
}

void
tcptrack_expire(struct tcptrack *t, double now)
{
	struct tcptrack_conn *c, *n;

	for (c = t->all; c != NULL; c = n) {
		n = c->lnext;
		if ((c->state == TCPTRACK_SYN_SENT ||
		    c->state == TCPTRACK_SYN_RECEIVED) &&
		    now - c->last_time > t->lim.syn_timeout)
			tcptrack_conn_end(t, c, "handshake timed out");
		else if (c->state == TCPTRACK_FIN_WAIT &&
		    now - c->last_time > t->lim.fin_timeout)
			tcptrack_conn_end(t, c, "timed out after FIN");
		else if (c->resumed && c->dir[0].resume_pending &&
		    c->dir[1].resume_pending &&
		    now - c->last_time > t->lim.resume_timeout)
			tcptrack_conn_end(t, c, "not seen since the restart");
		else if (c->state == TCPTRACK_ESTABLISHED && !c->resumed &&
		    c->unprotectable == TCPTRACK_NO_HANDSHAKE &&
		    now - c->last_time > t->lim.midstream_timeout)
			tcptrack_conn_end(t, c, "picked up mid-stream, then "
			    "silent");
	}
}

int
tcptrack_handshake(const struct tcptrack_conn *c,
    struct tcptrack_handshake *hs)
{
	const struct tcptrack_dir *d;
	int i;

	memset(hs, 0, sizeof(*hs));
	if (!c->dir[0].syn_seen || !c->dir[1].syn_seen ||
	    c->state < TCPTRACK_ESTABLISHED)
		return -1;
	hs->client = c->client;
	hs->server = c->server;
	hs->cport = c->cport;
	hs->sport = c->sport;
	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		hs->isn[i] = d->isn;
		hs->has_mss[i] = d->has_mss;
		hs->mss[i] = d->mss;
		hs->wscale[i] = d->wscale;
		hs->ref_off[i] = d->delivered;
	}
	/* Negotiated at the SYN-ACK: both directions say the same. */
	hs->has_wscale = c->dir[0].has_wscale;
	hs->sackok = c->dir[0].has_sackok;
	hs->ts = c->dir[0].has_ts;
	return 0;
}

struct tcptrack_conn *
tcptrack_resume(struct tcptrack *t, const struct tcptrack_handshake *hs,
    double now)
{
	struct tcptrack_conn *c;
	struct tcptrack_dir *d;
	int i;

	if (!tcptrack_is_watched(t, &hs->server, hs->sport) ||
	    tcptrack_find(t, &hs->client, hs->cport, &hs->server,
	    hs->sport) != NULL)
		return NULL;
	if ((c = tcptrack_conn_new(t, &hs->client, hs->cport, &hs->server,
	    hs->sport, now)) == NULL)
		return NULL;
	c->state = TCPTRACK_ESTABLISHED;
	c->resumed = 1;
	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		d->syn_seen = 1;
		d->isn = hs->isn[i];
		d->has_mss = hs->has_mss[i];
		d->mss = hs->mss[i];
		d->has_wscale = hs->has_wscale;
		d->wscale = hs->wscale[i] > 14 ? 14 : hs->wscale[i];
		d->has_sackok = hs->sackok;
		d->has_ts = hs->ts;
		/* The unwrap reference until the anchor replaces it. */
		d->delivered = d->base = d->highest = d->acked = hs->ref_off[i];
		d->resume_pending = 1;
		d->last_time = now;
	}
	tcptrack_announce(t, c);
	return c;
}

void
tcptrack_foreach(struct tcptrack *t,
    void (*fn)(void *arg, struct tcptrack_conn *c), void *arg)
{
	struct tcptrack_conn *c, *n;

	for (c = t->all; c != NULL; c = n) {
		n = c->lnext;
		fn(arg, c);
	}
}

int
tcptrack_protectable(const struct tcptrack_conn *c)
{
	const struct tcptrack_dir *d;
	uint64_t need;
	int i;

	if (c->unprotectable != TCPTRACK_OK)
		return c->unprotectable;
	if (c->state == TCPTRACK_FIN_WAIT || c->state == TCPTRACK_CLOSED)
		return TCPTRACK_CLOSING;
	if (c->state != TCPTRACK_ESTABLISHED)
		return TCPTRACK_NO_HANDSHAKE;
	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		if (d->resume_pending)
			return TCPTRACK_RESUME_WAIT;
		need = d->acked < d->hold ? d->acked : d->hold;
		if (need < d->base)
			return d->lost_reason;
	}
	return TCPTRACK_OK;
}

int
tcptrack_retained(const struct tcptrack_conn *c, int dir, uint64_t *off,
    const uint8_t **p, size_t *len)
{
	const struct tcptrack_dir *d = &c->dir[dir];

	*off = d->base;
	*p = buf_ptr(&d->retained);
	*len = buf_len(&d->retained);
	return d->delivered == d->base + *len ? 0 : -1;
}

size_t
tcptrack_conn_memory(const struct tcptrack_conn *c)
{
	size_t m = sizeof(*c);
	int i;

	for (i = 0; i < 2; i++)
		m += c->dir[i].retained.alloc + c->dir[i].ooo_bytes;
	return m;
}

const char *
tcptrack_reason_str(int reason)
{
	switch (reason) {
	case TCPTRACK_OK:		return "ok";
	case TCPTRACK_NO_HANDSHAKE:	return "handshake not seen";
	case TCPTRACK_GAP:		return "capture lost stream bytes";
	case TCPTRACK_RETAIN_LIMIT:	return "unacknowledged bytes over limit";
	case TCPTRACK_OOO_LIMIT:	return "out-of-order bytes over limit";
	case TCPTRACK_CLOSING:		return "connection closing";
	case TCPTRACK_RESUME_HOLE:	return "bytes sent while the daemon was "
					    "down are still needed";
	case TCPTRACK_RESUME_WAIT:	return "not seen since the restart";
	default:			return "unknown";
	}
}

const char *
tcptrack_state_str(enum tcptrack_state s)
{
	switch (s) {
	case TCPTRACK_SYN_SENT:		return "syn-sent";
	case TCPTRACK_SYN_RECEIVED:	return "syn-received";
	case TCPTRACK_ESTABLISHED:	return "established";
	case TCPTRACK_FIN_WAIT:		return "fin-wait";
	case TCPTRACK_CLOSED:		return "closed";
	default:			return "?";
	}
}
