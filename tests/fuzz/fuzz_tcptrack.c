/*
 * fuzz_tcptrack: a sequence of frames through pkt_decode() and the TCP
 * tracker, with a consumer that checks what the tracker promises: stream
 * data is handed over contiguously, gaps and re-anchoring account for every
 * skipped byte, and the retained bytes are where they are said to be.
 *
 * Input: records of an op byte and a chunk (fuzz_chunk()).  op bits 0-2: the time
 * advances by 2^(bits) ms before the record; 0x08: expire connections;
 * 0x10: the consumer holds the stream from the latest offset; 0x20: the
 * bytes are a saved handshake to resume (see fuzz_handshake()); 0x40: raw
 * IP instead of Ethernet; 0x80: flip the per-connection hold back off.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "pkt.h"
#include "tcptrack.h"

struct cons {
	uint64_t	next[2];	/* next offset expected per direction */
	int		started[2];
	int		hold;
};

static int hold_next;

static void
c_new(void *arg, struct tcptrack_conn *c)
{
	struct cons *k = calloc(1, sizeof(*k));

	(void)arg;
	FUZZ_CHECK(k != NULL);
	FUZZ_CHECK(c->upper == NULL);
	c->upper = k;
}

static void
c_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	struct cons *k = c->upper;
	volatile uint8_t sum = 0;
	size_t i;

	(void)arg;
	FUZZ_CHECK(dir == 0 || dir == 1);
	FUZZ_CHECK(len > 0);
	if (k->started[dir])
		FUZZ_CHECK(off == k->next[dir]);
	k->started[dir] = 1;
	k->next[dir] = off + len;
	for (i = 0; i < len; i++)	/* every byte handed over is readable */
		sum ^= p[i];
	(void)sum;
	if (hold_next)
		tcptrack_hold(c, dir, off);
}

static void
c_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	(void)arg;
	(void)c;
	FUZZ_CHECK(dir == 0 || dir == 1);
	(void)acked;
}

static void
c_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off, uint64_t len)
{
	struct cons *k = c->upper;

	(void)arg;
	FUZZ_CHECK(len > 0);
	if (k->started[dir])
		FUZZ_CHECK(off == k->next[dir]);
	k->started[dir] = 1;
	k->next[dir] = off + len;
}

static void
c_resumed(void *arg, struct tcptrack_conn *c, int dir, uint64_t off)
{
	struct cons *k = c->upper;

	(void)arg;
	k->started[dir] = 1;
	k->next[dir] = off;
}

static void
c_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	(void)arg;
	FUZZ_CHECK(why != NULL);
	free(c->upper);
	c->upper = NULL;
}

static void
c_established(void *arg, struct tcptrack_conn *c)
{
	struct tcptrack_handshake hs;

	(void)arg;
	FUZZ_CHECK(tcptrack_handshake(c, &hs) == 0);
}

static const struct tcptrack_ops ops = {
	.conn_new = c_new, .data = c_data, .acked = c_acked, .gap = c_gap,
	.conn_end = c_end, .established = c_established,
	.resumed = c_resumed,
};

/* Check every connection's retained bytes against what it says. */
static void
check_conn(void *arg, struct tcptrack_conn *c)
{
	const uint8_t *p;
	volatile uint8_t sum = 0;
	uint64_t off;
	size_t len, i;
	int d;

	(void)arg;
	for (d = 0; d < 2; d++) {
		if (tcptrack_retained(c, d, &off, &p, &len) != 0)
			continue;
		FUZZ_CHECK(off + len == c->dir[d].delivered);
		for (i = 0; i < len; i++)
			sum ^= p[i];
	}
	(void)sum;
	(void)tcptrack_protectable(c);
	(void)tcptrack_reason_str(tcptrack_protectable(c));
	(void)tcptrack_state_str(c->state);
	(void)tcptrack_conn_memory(c);
}

/* A saved handshake from the bytes (any length; missing bytes are 0). */
static void
fuzz_handshake(const uint8_t *p, size_t len, struct tcptrack_handshake *hs)
{
	uint8_t b[40];
	uint8_t cli[4] = { 198, 18, 0, 10 }, srv[4] = { 198, 18, 0, 2 };

	memset(b, 0, sizeof(b));
	memcpy(b, p, len < sizeof(b) ? len : sizeof(b));
	memset(hs, 0, sizeof(*hs));
	cli[3] = b[0];
	pkt_addr_set(&hs->client, AF_INET, cli);
	pkt_addr_set(&hs->server, AF_INET, srv);
	hs->cport = (uint16_t)(b[1] << 8 | b[2]);
	hs->sport = 22;
	memcpy(&hs->isn[0], b + 3, 4);
	memcpy(&hs->isn[1], b + 7, 4);
	hs->has_mss[0] = b[11] & 1;
	hs->has_mss[1] = b[11] & 2;
	hs->has_wscale = (b[11] & 4) != 0;
	hs->sackok = (b[11] & 8) != 0;
	hs->ts = (b[11] & 16) != 0;
	hs->mss[0] = (uint16_t)(b[12] << 8 | b[13]);
	hs->mss[1] = (uint16_t)(b[14] << 8 | b[15]);
	hs->wscale[0] = b[16];
	hs->wscale[1] = b[17];
	memcpy(&hs->ref_off[0], b + 18, 8);
	memcpy(&hs->ref_off[1], b + 26, 8);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcptrack_limits lim;
	struct tcptrack_handshake hs;
	struct tcptrack *t;
	struct pkt_addr a;
	struct pkt_tcp seg;
	struct buf in;
	const uint8_t *p;
	size_t len;
	uint8_t srv4[4] = { 198, 18, 0, 2 }, srv6[16] = { 0x20, 0x01, 0x0d,
	    0xb8, [15] = 2 }, op;
	double now = 1000.0;

	tcptrack_limits_default(&lim);
	/* Small bounds, so that inputs reach them. */
	lim.max_retain = 64 * 1024;
	lim.max_ooo = 16 * 1024;
	lim.max_conns = 16;
	FUZZ_CHECK((t = tcptrack_new(&lim, &ops, NULL)) != NULL);
	pkt_addr_set(&a, AF_INET, srv4);
	FUZZ_CHECK(tcptrack_watch(t, &a, 22) == 0);
	pkt_addr_set(&a, AF_INET6, srv6);
	FUZZ_CHECK(tcptrack_watch(t, &a, 22) == 0);
	hold_next = 0;

	buf_view(&in, data, size);
	while (buf_get_u8(&in, &op) == 0 &&
	    fuzz_chunk(&in, &p, &len) == 0) {
		now += (double)(1u << (op & 7)) / 1000.0;
		if (op & 0x10)
			hold_next = 1;
		if (op & 0x80)
			hold_next = 0;
		if (op & 0x20) {
			fuzz_handshake(p, len, &hs);
			(void)tcptrack_resume(t, &hs, now);
		} else if (pkt_decode(op & 0x40 ? 101 : 1, p, len, len,
		    &seg) == PKT_OK)
			(void)tcptrack_feed(t, &seg, now);
		if (op & 0x08) {
			now += 120.0;
			tcptrack_expire(t, now);
		}
		tcptrack_foreach(t, check_conn, NULL);
	}
	FUZZ_CHECK(tcptrack_count(t) <= lim.max_conns);
	tcptrack_free(t);
	return 0;
}
