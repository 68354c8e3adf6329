/*
 * rebuild: from tracked TCP state to a repair plan (see rebuild.h).
 *
 * Receive queue: every client byte the tracker still retains, from the
 * hold (the first byte not answered) to the end of what the client sent;
 * the rebuilt socket acknowledges them all at once.  Send queue: the server
 * bytes from the client's highest ack to the end of what the server sent.
 * Anything the tracker cannot vouch for (lost stream bytes, a hole in the
 * server's data that the client may hold beyond, options never seen) makes
 * the plan fail: a reset is better than corrupt bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rebuild.h"

#define S2C	TCPTRACK_S2C
#define C2S	TCPTRACK_C2S

/* Sequence comparison modulo 2^32: a after b. */
static int
rebuild_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

void
rebuild_hold_start(struct tcptrack_conn *c)
{
	tcptrack_hold(c, C2S, 0);
}

void
rebuild_hold_answered(struct tcptrack_conn *c)
{
	const struct tcptrack_dir *cd = &c->dir[C2S];
	uint64_t off;

	if (cd->hold == UINT64_MAX)
		return;			/* someone released it for good */
	off = tcptrack_unwrap((uint32_t)(c->dir[S2C].last_ack - (cd->isn + 1)),
	    cd->delivered);
	if (off > cd->hold && off <= cd->delivered + (1ULL << 30))
		tcptrack_hold(c, C2S, off);
}

uint32_t
rebuild_tsval(uint32_t last, double last_time, double now)
{
	double elapsed = now - last_time;
	uint32_t ts;

	/* A clock that went back, or an absurd gap, adds nothing. */
	if (elapsed < 0 || elapsed > 86400)
		elapsed = 0;
	ts = last + (uint32_t)(elapsed * 1000) + REBUILD_TSVAL_MARGIN;
	return (ts + 1) & ~1u;
}

/* Copy len bytes at p into a new buffer (NULL, 0 gives NULL). */
static int
rebuild_copy(const uint8_t *p, size_t len, uint8_t **out)
{
	*out = NULL;
	if (len == 0)
		return 0;
	if ((*out = malloc(len)) == NULL)
		return -1;
	memcpy(*out, p, len);
	return 0;
}

static void
rebuild_endpoints(const struct tcptrack_conn *c, struct repair_conn *rc)
{
	rc->local = c->server;
	rc->lport = c->sport;
	rc->remote = c->client;
	rc->rport = c->cport;
}

int
rebuild_plan(const struct tcptrack_conn *c, double now,
    struct rebuild_plan *p, char *why, size_t whylen)
{
	return rebuild_plan_range(c, now, REBUILD_ANY, REBUILD_ANY, p, why,
	    whylen);
}

int
rebuild_plan_range(const struct tcptrack_conn *c, double now,
    uint64_t in_from, uint64_t out_to, struct rebuild_plan *p, char *why,
    size_t whylen)
{
	const struct tcptrack_dir *cd = &c->dir[C2S], *sd = &c->dir[S2C];
	struct repair_conn *rc = &p->rc;
	const uint8_t *cp, *sp;
	uint64_t coff, soff, send_end;
	size_t clen, slen, skip, cskip = 0;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = tcptrack_protectable(c)) != TCPTRACK_OK) {
		snprintf(why, whylen, "%s", tcptrack_reason_str(r));
		return -1;
	}
	if (!cd->syn_seen || !sd->syn_seen) {
		snprintf(why, whylen, "%s",
		    tcptrack_reason_str(TCPTRACK_NO_HANDSHAKE));
		return -1;
	}
	/*
	 * Server bytes beyond a hole we never saw: the client may hold some
	 * of them out of order, and new data written over that range would
	 * mix with them.
	 */
	if (sd->highest > sd->delivered) {
		snprintf(why, whylen, "the capture missed server bytes "
		    "at offset %llu that the client has not acknowledged",
		    (unsigned long long)sd->delivered);
		return -1;
	}
	if (tcptrack_retained(c, C2S, &coff, &cp, &clen) != 0 ||
	    tcptrack_retained(c, S2C, &soff, &sp, &slen) != 0 ||
	    soff > sd->acked || sd->acked > sd->delivered) {
		snprintf(why, whylen, "retained stream bytes incomplete");
		return -1;
	}
	/* Where the receive queue starts: what the caller's protocol says. */
	if (in_from != REBUILD_ANY) {
		if (in_from < coff) {
			snprintf(why, whylen, "the client bytes from offset "
			    "%llu are no longer retained (kept from %llu)",
			    (unsigned long long)in_from,
			    (unsigned long long)coff);
			return -1;
		}
		if (in_from > cd->delivered) {
			snprintf(why, whylen, "the client resume point %llu "
			    "is beyond what the client sent (%llu)",
			    (unsigned long long)in_from,
			    (unsigned long long)cd->delivered);
			return -1;
		}
		cskip = (size_t)(in_from - coff);
	}
	/* Where the send queue ends: likewise, never before the client's ack. */
	send_end = sd->delivered;
	if (out_to != REBUILD_ANY) {
		if (out_to < sd->acked) {
			snprintf(why, whylen, "the client acknowledged %llu "
			    "bytes of a server packet cut off by the crash "
			    "(the last whole one ends at offset %llu)",
			    (unsigned long long)(sd->acked - out_to),
			    (unsigned long long)out_to);
			return -1;
		}
		if (out_to > sd->delivered) {
			snprintf(why, whylen, "the server resume point %llu "
			    "is beyond what the server sent (%llu)",
			    (unsigned long long)out_to,
			    (unsigned long long)sd->delivered);
			return -1;
		}
		send_end = out_to;
	}
	skip = (size_t)(sd->acked - soff);
	slen = (size_t)(send_end - soff);
	if (rebuild_copy(cp + cskip, clen - cskip, &p->recvq) != 0 ||
	    rebuild_copy(sp + skip, slen - skip, &p->sendq) != 0) {
		rebuild_plan_free(p);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	clen -= cskip;
	p->in_off = coff + cskip;
	p->out_off = send_end;

	rebuild_endpoints(c, rc);
	rc->snd_una = tcptrack_seq(c, S2C, sd->acked);
	rc->rcv_nxt = tcptrack_seq(c, C2S, cd->delivered);
	rc->recvq = p->recvq;
	rc->recvq_len = clen;
	rc->sendq = p->sendq;
	rc->sendq_len = slen - skip;
	rc->mss = cd->has_mss ? cd->mss : 536;
	rc->wscale_ok = cd->has_wscale && sd->has_wscale;
	rc->snd_wscale = cd->wscale;
	rc->rcv_wscale = sd->wscale;
	rc->sack_ok = cd->has_sackok && sd->has_sackok;
	rc->ts_ok = cd->has_ts && sd->has_ts;
	if (rc->ts_ok)
		rc->tsval = rebuild_tsval(sd->tsval, sd->tsval_time, now);
	/*
	 * Windows as last advertised.  The kernel refuses a window update
	 * sequence beyond what it has received, or an ack edge beyond its
	 * receive position: clamp both.
	 */
	rc->snd_wnd = cd->win;
	rc->snd_wl1 = rebuild_after(cd->last_seq, rc->rcv_nxt) ?
	    rc->rcv_nxt : cd->last_seq;
	rc->rcv_wnd = sd->win;
	rc->rcv_wup = rebuild_after(sd->last_ack, rc->rcv_nxt) ?
	    rc->rcv_nxt : sd->last_ack;
	return 0;
}

int
rebuild_plan_reset(const struct tcptrack_conn *c, struct rebuild_plan *p)
{
	const struct tcptrack_dir *cd = &c->dir[C2S], *sd = &c->dir[S2C];
	struct repair_conn *rc = &p->rc;

	memset(p, 0, sizeof(*p));
	p->reset_only = 1;
	rebuild_endpoints(c, rc);
	/*
	 * The RST must carry exactly the sequence number the client expects
	 * next: the latest ack it sent, or failing that the end of what the
	 * server sent.  A connection resumed after a restart and silent since
	 * has only the positions saved before it (exact if nothing moved
	 * since; else near them: an RST in the client's window draws a
	 * challenge ACK, which the closed socket answers with an exact RST).
	 */
	if (cd->segments > 0 && cd->last_ack != 0)
		rc->snd_una = cd->last_ack;
	else if (sd->segments > 0 || c->resumed)
		rc->snd_una = tcptrack_seq(c, S2C, sd->delivered);
	else
		return -1;
	if (cd->segments > 0 || (c->resumed && sd->segments == 0))
		rc->rcv_nxt = tcptrack_seq(c, C2S, cd->delivered);
	else
		rc->rcv_nxt = sd->last_ack;
	rc->mss = 536;
	rc->snd_wnd = rc->rcv_wnd = 65535;
	rc->snd_wl1 = rc->rcv_nxt;
	rc->rcv_wup = rc->rcv_nxt;
	return 0;
}

void
rebuild_plan_free(struct rebuild_plan *p)
{
	if (p->recvq != NULL) {
		explicit_bzero(p->recvq, p->rc.recvq_len);
		free(p->recvq);
	}
	if (p->sendq != NULL) {
		explicit_bzero(p->sendq, p->rc.sendq_len);
		free(p->sendq);
	}
	p->recvq = p->sendq = NULL;
	p->rc.recvq = p->rc.sendq = NULL;
	p->rc.recvq_len = p->rc.sendq_len = 0;
}
