/*
 * Unit tests for monitor/capture.c and the tracker chain from a recorded
 * capture: tests/pcaps/ssh-bulk.pcap (an SSH session recorded in the lab by
 * tests/pcaps/record-ssh-bulk.sh) replayed through capture -> pkt ->
 * tcptrack must end with the positions the server's kernel reported
 * (tests/pcaps/ssh-bulk.expect, from `ss -tin`).  tests/pcaps/ssh-keys.pcap
 * (tests/pcaps/record-ssh-keys.sh) adds the sshd's key export stream: its
 * records, opened with the lab's throwaway recovery key, drive the SSH
 * tracker through every rekey.  Also the BPF filter text and the decoder on
 * malformed frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "capture.h"
#include "pkt.h"
#include "tcptrack.h"
#include "seal.h"
#include "sshtrack.h"

#define PCAP_DIR	"tests/pcaps/"

struct replay {
	struct tcptrack	*t;
	long		 frames, tcp, bad;
};

static void
frame_cb(void *arg, int linktype, const uint8_t *frame, size_t caplen,
    size_t wirelen, double ts)
{
	struct replay *r = arg;
	struct pkt_tcp seg;

	r->frames++;
	if (pkt_decode(linktype, frame, caplen, wirelen, &seg) != PKT_OK) {
		r->bad++;
		return;
	}
	if (tcptrack_feed(r->t, &seg, ts) == 0)
		r->tcp++;
}

static long
expect(const char *file, const char *key)
{
	char line[512], path[256];
	size_t n = strlen(key);
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), PCAP_DIR "%s", file);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == '=')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	if (v < 0)
		fail_msg("%s: no %s", path, key);
	return v;
}

static const struct tcptrack_ops no_ops;

static void
test_ssh_bulk_positions(void **state)
{
	struct replay r = { 0 };
	struct capture *cap;
	struct tcptrack_conn *c;
	struct pkt_addr cli, srv;
	uint8_t a[4];
	char err[256];

	(void)state;
	assert_non_null(r.t = tcptrack_new(NULL, &no_ops, NULL));
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&srv, AF_INET, a);
	inet_pton(AF_INET, "198.18.0.10", a);
	pkt_addr_set(&cli, AF_INET, a);
	assert_int_equal(tcptrack_watch(r.t, &srv, 22), 0);
	cap = capture_open_file(PCAP_DIR "ssh-bulk.pcap", "tcp port 22", err,
	    sizeof(err));
	if (cap == NULL)
		fail_msg("%s", err);
	assert_true(capture_read_all(cap, frame_cb, &r) > 20);
	capture_close(cap);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.tcp, r.frames);
	c = tcptrack_find(r.t, &cli, (uint16_t)expect("ssh-bulk.expect",
	    "client_port"), &srv, 22);
	assert_non_null(c);
	assert_int_equal(c->state, TCPTRACK_ESTABLISHED);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	/* The server's kernel: bytes received from the client, acked by it. */
	assert_int_equal(c->dir[TCPTRACK_C2S].delivered,
	    expect("ssh-bulk.expect", "bytes_received"));
	assert_int_equal(c->dir[TCPTRACK_S2C].acked,
	    expect("ssh-bulk.expect", "bytes_acked"));
	assert_int_equal(c->dir[TCPTRACK_C2S].acked,
	    expect("ssh-bulk.expect", "bytes_received"));
	assert_int_equal(c->dir[TCPTRACK_C2S].wscale,
	    expect("ssh-bulk.expect", "wscale"));
	assert_true(c->dir[TCPTRACK_C2S].has_ts && c->dir[TCPTRACK_S2C].has_ts);
	assert_true(c->dir[TCPTRACK_C2S].has_sackok);
	assert_int_equal(c->dir[TCPTRACK_C2S].gaps, 0);
	assert_int_equal(c->dir[TCPTRACK_S2C].gaps, 0);
	/* Everything acknowledged: the idle session holds almost nothing. */
	assert_true(tcptrack_conn_memory(c) < 4096);
	tcptrack_free(r.t);
}

/*
 * ssh-keys.pcap: the session on port 22 through tcptrack and sshtrack, and
 * the sshd's export stream (198.18.0.2 -> 198.18.0.4:7022, records back to
 * back, docs/export-format.md 8) reassembled here, its records opened and
 * handed to the SSH tracker as they arrive, in capture order.
 */
#define KEYS_EXPECT	"ssh-keys.expect"
#define KEYS_MAX	16

struct keys_replay {
	struct tcptrack		*t;
	struct sshtrack		*st;
	struct seal_key		*recipient, *signer;
	struct pkt_addr		 srv, mon;
	/* The export stream, from the first data segment seen. */
	int			 started;
	uint32_t		 next_seq;
	struct buf		 stream;	/* bytes not yet framed */
	/* Opened records, by KEX number (the latest one per number). */
	struct seal_keyrec	*kr[KEYS_MAX];
	size_t			 nrecords;
	long			 frames, tcp, bad, export_segs;
};

static void
ko_conn_new(void *arg, struct tcptrack_conn *c)
{
	sshtrack_conn_new(((struct keys_replay *)arg)->st, c);
}

static void
ko_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	sshtrack_data(((struct keys_replay *)arg)->st, c, dir, off, p, len);
}

static void
ko_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	sshtrack_acked(((struct keys_replay *)arg)->st, c, dir, acked);
}

static void
ko_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    uint64_t len)
{
	sshtrack_gap(((struct keys_replay *)arg)->st, c, dir, off, len);
}

static void
ko_conn_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	(void)why;
	sshtrack_conn_end(((struct keys_replay *)arg)->st, c);
}

static const struct tcptrack_ops keys_ops = {
	.conn_new = ko_conn_new,
	.data = ko_data,
	.acked = ko_acked,
	.gap = ko_gap,
	.conn_end = ko_conn_end,
};

static int
keys_same_conn(const struct seal_keyrec *kr, const struct tcptrack_conn *c)
{
	return kr->family == SEAL_AF_INET && c->client.family == AF_INET &&
	    memcmp(kr->client.addr, c->client.a, 4) == 0 &&
	    kr->client.port == c->cport &&
	    memcmp(kr->server.addr, c->server.a, 4) == 0 &&
	    kr->server.port == c->sport;
}

/* The key provider: the records that have arrived so far. */
static const struct seal_keyrec *
keys_fn(void *arg, const struct tcptrack_conn *c, uint32_t kex_number)
{
	struct keys_replay *r = arg;
	const struct seal_keyrec *newest = NULL;
	size_t i;

	for (i = 0; i < KEYS_MAX; i++) {
		if (r->kr[i] == NULL || !keys_same_conn(r->kr[i], c))
			continue;
		if (kex_number == i)
			return r->kr[i];
		if (newest == NULL || r->kr[i]->kex_number > newest->kex_number)
			newest = r->kr[i];
	}
	return kex_number == SSHTRACK_KEX_NEWEST ? newest : NULL;
}

/* Open every whole record at the front of the stream. */
static void
keys_frame(struct keys_replay *r)
{
	struct seal_header hdr;
	struct seal_keyrec *kr;
	struct tcptrack_conn *c;
	struct pkt_addr cli;
	struct buf pt;
	size_t total;
	int e;

	while (buf_len(&r->stream) >= 10) {
		e = seal_record_length(buf_ptr(&r->stream),
		    buf_len(&r->stream), &total);
		if (e != SEAL_OK)
			fail_msg("export stream: %s", seal_strerror(e));
		if (buf_len(&r->stream) < total)
			return;
		buf_init(&pt, SEAL_PAYLOAD_MAX);
		e = seal_open(buf_ptr(&r->stream), total, r->recipient,
		    r->signer, "web1", &hdr, &pt);
		if (e != SEAL_OK)
			fail_msg("record %zu: seal_open: %s", r->nrecords,
			    seal_strerror(e));
		e = seal_keyrec_decode(buf_ptr(&pt), buf_len(&pt), &hdr, &kr);
		buf_free(&pt);
		if (e != SEAL_OK)
			fail_msg("record %zu: seal_keyrec_decode: %s",
			    r->nrecords, seal_strerror(e));
		assert_int_equal(buf_skip(&r->stream, total), 0);
		r->nrecords++;
		if (kr->closed) {
			seal_keyrec_free(kr);
			continue;
		}
		assert_true(kr->kex_number < KEYS_MAX);
		seal_keyrec_free(r->kr[kr->kex_number]);
		r->kr[kr->kex_number] = kr;
		pkt_addr_set(&cli, AF_INET, kr->client.addr);
		if ((c = tcptrack_find(r->t, &cli, kr->client.port, &r->srv,
		    kr->server.port)) != NULL)
			sshtrack_keys_arrived(r->st, c);
	}
}

/* A segment of the export stream, sshd -> daemon: in order, by hand. */
static void
keys_export_seg(struct keys_replay *r, const struct pkt_tcp *seg)
{
	uint32_t skip;

	r->export_segs++;
	if (seg->len == 0)
		return;
	assert_int_equal(seg->len, seg->wire_len);
	if (!r->started) {
		r->started = 1;
		r->next_seq = seg->seq;
	}
	skip = r->next_seq - seg->seq;
	if ((int32_t)skip < 0)
		fail_msg("export stream: %u bytes missing from the capture",
		    (unsigned)-skip);
	if (skip >= seg->len)
		return;			/* a retransmission */
	assert_int_equal(buf_put(&r->stream, seg->payload + skip,
	    seg->len - skip), 0);
	r->next_seq += (uint32_t)(seg->len - skip);
	keys_frame(r);
}

static void
keys_frame_cb(void *arg, int linktype, const uint8_t *frame, size_t caplen,
    size_t wirelen, double ts)
{
	struct keys_replay *r = arg;
	struct pkt_tcp seg;

	r->frames++;
	if (pkt_decode(linktype, frame, caplen, wirelen, &seg) != PKT_OK) {
		r->bad++;
		return;
	}
	if (seg.dport == 7022 && memcmp(&seg.dst, &r->mon, sizeof(r->mon)) ==
	    0) {
		keys_export_seg(r, &seg);
		return;
	}
	if (seg.sport == 7022) {	/* the daemon's acknowledgements */
		r->export_segs++;
		return;
	}
	if (tcptrack_feed(r->t, &seg, ts) == 0)
		r->tcp++;
}

/*
 * The recovery key as committed: git keeps it 0644, and
 * seal_key_load_private() (rightly) refuses that; load a private copy.
 */
static struct seal_key *
keys_load_recovery(void)
{
	char tmp[] = "/tmp/sj-test-recovery-XXXXXX", buf[4096];
	struct seal_key *k = NULL;
	FILE *f;
	size_t n;
	int fd, e;

	if ((f = fopen(PCAP_DIR "ssh-keys.recovery.key", "r")) == NULL)
		fail_msg("cannot open " PCAP_DIR "ssh-keys.recovery.key");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n > 0 && n < sizeof(buf));
	assert_true((fd = mkstemp(tmp)) >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
	e = seal_key_load_private(tmp, SEAL_KEY_X25519, &k);
	unlink(tmp);
	if (e != SEAL_OK)
		fail_msg("recovery key: %s", seal_strerror(e));
	return k;
}

static void
test_ssh_keys_positions(void **state)
{
	struct keys_replay r;
	struct capture *cap;
	struct tcptrack_conn *c;
	struct sshtrack_info info;
	struct sshtrack_pos pos;
	struct pkt_addr cli;
	uint8_t a[4];
	char err[256], key[32];
	long nkex, start;
	int d, e;
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	buf_init(&r.stream, 1 << 20);
	r.recipient = keys_load_recovery();
	e = seal_key_load_public(PCAP_DIR "ssh-keys.web1-export.pub",
	    SEAL_KEY_ED25519, &r.signer);
	if (e != SEAL_OK)
		fail_msg("signing key: %s", seal_strerror(e));
	assert_non_null(r.st = sshtrack_new(NULL, keys_fn, &r));
	assert_non_null(r.t = tcptrack_new(NULL, &keys_ops, &r));
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&r.srv, AF_INET, a);
	inet_pton(AF_INET, "198.18.0.4", a);
	pkt_addr_set(&r.mon, AF_INET, a);
	inet_pton(AF_INET, "198.18.0.10", a);
	pkt_addr_set(&cli, AF_INET, a);
	assert_int_equal(tcptrack_watch(r.t, &r.srv, 22), 0);
	cap = capture_open_file(PCAP_DIR "ssh-keys.pcap",
	    "tcp port 22 or tcp port 7022", err, sizeof(err));
	if (cap == NULL)
		fail_msg("%s", err);
	assert_true(capture_read_all(cap, keys_frame_cb, &r) > 20);
	capture_close(cap);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.tcp + r.export_segs, r.frames);
	assert_int_equal(buf_len(&r.stream), 0);	/* no partial record */

	/* TCP: the server kernel's positions. */
	c = tcptrack_find(r.t, &cli, (uint16_t)expect(KEYS_EXPECT,
	    "client_port"), &r.srv, 22);
	assert_non_null(c);
	assert_int_equal(c->state, TCPTRACK_ESTABLISHED);
	assert_int_equal(tcptrack_protectable(c), TCPTRACK_OK);
	assert_int_equal(c->dir[TCPTRACK_C2S].delivered,
	    expect(KEYS_EXPECT, "bytes_received"));
	assert_int_equal(c->dir[TCPTRACK_C2S].acked,
	    expect(KEYS_EXPECT, "bytes_received"));
	assert_int_equal(c->dir[TCPTRACK_S2C].acked,
	    expect(KEYS_EXPECT, "bytes_acked"));
	assert_int_equal(c->dir[TCPTRACK_C2S].gaps, 0);
	assert_int_equal(c->dir[TCPTRACK_S2C].gaps, 0);

	/* One record per KEX, each the sshd's. */
	nkex = expect(KEYS_EXPECT, "kex_count");
	assert_true(nkex >= 2 && nkex <= KEYS_MAX);
	for (i = 0; i < (size_t)nkex; i++) {
		assert_non_null(r.kr[i]);
		assert_int_equal(r.kr[i]->kex_number, i);
		assert_true(keys_same_conn(r.kr[i], c));
		snprintf(key, sizeof(key), "kex%zu_c2s_seqnr", i);
		assert_int_equal(r.kr[i]->c2s.start_seqnr,
		    expect(KEYS_EXPECT, key));
		snprintf(key, sizeof(key), "kex%zu_s2c_seqnr", i);
		assert_int_equal(r.kr[i]->s2c.start_seqnr,
		    expect(KEYS_EXPECT, key));
	}
	assert_null(r.kr[nkex]);

	/* SSH: every packet followed and verified through every rekey. */
	assert_int_equal(sshtrack_status(r.st, c, &info), 0);
	if (!info.protectable)
		fail_msg("not protectable: %s", info.reason);
	assert_false(info.waiting_keys);
	assert_false(info.kex_in_progress);
	assert_false(info.resyncing);
	assert_false(info.windows_unknown);
	assert_true(info.negotiated);
	assert_int_equal(info.algs.round, nkex - 1);
	assert_int_equal(info.strict_kex, r.kr[nkex - 1]->c2s.strict_kex);
	for (d = 0; d < 2; d++) {
		const struct sshtrack_dir_info *di = &info.dir[d];
		const struct seal_dir *sd = d == SSHTRACK_C2S ?
		    &r.kr[nkex - 1]->c2s : &r.kr[nkex - 1]->s2c;

		snprintf(key, sizeof(key), "kex%ld_%s_seqnr", nkex - 1,
		    d == SSHTRACK_C2S ? "c2s" : "s2c");
		start = expect(KEYS_EXPECT, key);
		assert_int_equal(di->phase, SSHTRACK_PHASE_DECRYPT);
		assert_int_equal(di->newkeys, nkex);
		assert_int_equal(di->kex_number, nkex - 1);
		assert_true(di->mac_verified);
		assert_false(di->compressed);
		assert_int_equal(di->missed_packets, 0);
		assert_int_equal(di->resyncs, 0);
		assert_string_equal(di->cipher, sd->cipher);
		assert_string_equal(di->mac, sd->mac);
		/* The next seqnr: the sshd's start seqnr for the last keys
		   plus the packets since then (strict KEX resets it). */
		assert_true(di->packets > 0);
		assert_int_equal(di->seqnr, (uint32_t)start + di->packets);
		if (info.strict_kex)
			assert_int_equal(start, 0);
		else
			assert_int_equal(di->seqnr, di->total_packets);
		assert_int_equal(sshtrack_position(r.st, c, d, 0, &pos), 0);
		assert_int_equal(pos.seqnr, di->seqnr);
		assert_int_equal(pos.kex_number, nkex - 1);
		assert_int_equal(pos.off, di->packet_end);
		memset(&pos, 0, sizeof(pos));
	}
	/* Idle: every byte of the stream is a whole packet. */
	assert_int_equal(info.dir[SSHTRACK_C2S].packet_end,
	    c->dir[TCPTRACK_C2S].delivered);
	assert_int_equal(info.dir[SSHTRACK_S2C].packet_end,
	    c->dir[TCPTRACK_S2C].acked);

	tcptrack_free(r.t);
	sshtrack_free(r.st);
	for (i = 0; i < KEYS_MAX; i++)
		seal_keyrec_free(r.kr[i]);
	buf_free(&r.stream);
	seal_key_free(r.recipient);
	seal_key_free(r.signer);
}

static void
test_bad_file(void **state)
{
	char err[256];

	(void)state;
	assert_null(capture_open_file(PCAP_DIR "no-such.pcap", NULL, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "no-such.pcap"));
	assert_null(capture_open_file(PCAP_DIR "ssh-bulk.expect", NULL, err,
	    sizeof(err)));
}

static void
test_filter_text(void **state)
{
	struct capture_service svc[2];
	char buf[512];
	uint8_t a[4];

	(void)state;
	memset(svc, 0, sizeof(svc));
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&svc[0].addr, AF_INET, a);
	svc[0].ports[0] = 22;
	svc[0].ports[1] = 2222;
	svc[0].nports = 2;
	inet_pton(AF_INET, "198.18.0.3", a);
	pkt_addr_set(&svc[1].addr, AF_INET, a);
	svc[1].ports[0] = 22;
	svc[1].nports = 1;
	assert_int_equal(capture_filter(svc, 2, 7022, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "(tcp and host 198.18.0.2 and (port 22 or "
	    "port 2222)) or (tcp and host 198.18.0.3 and (port 22)) or "
	    "(tcp and port 7022)");
	assert_int_equal(capture_filter(svc, 2, 7022, buf, 20), -1);
}

static void
test_decode_malformed(void **state)
{
	/* Ethernet + IPv4 + TCP header claiming options beyond its end. */
	uint8_t f[14 + 20 + 20];
	struct pkt_tcp seg;
	size_t i;

	(void)state;
	memset(f, 0, sizeof(f));
	f[12] = 0x08;				/* IPv4 */
	f[14] = 0x45;
	f[16] = 0; f[17] = 40;			/* total length */
	f[23] = 6;				/* TCP */
	f[14 + 20 + 12] = 0xf0;			/* data offset 60 > 20 */
	assert_int_equal(pkt_decode(1, f, sizeof(f), sizeof(f), &seg),
	    PKT_MALFORMED);
	f[14 + 20 + 12] = 0x50;
	assert_int_equal(pkt_decode(1, f, sizeof(f), sizeof(f), &seg), PKT_OK);
	/* Every truncation of a good frame is refused, never read past. */
	for (i = 0; i < sizeof(f); i++)
		assert_int_not_equal(pkt_decode(1, f, i, sizeof(f), &seg),
		    PKT_OK);
	/* A fragment is reported as such. */
	f[20] = 0x20;				/* more fragments */
	assert_int_equal(pkt_decode(1, f, sizeof(f), sizeof(f), &seg),
	    PKT_FRAGMENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_bulk_positions),
		cmocka_unit_test(test_ssh_keys_positions),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_filter_text),
		cmocka_unit_test(test_decode_malformed),
	};

	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
