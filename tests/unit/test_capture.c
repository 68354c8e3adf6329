/*
 * Unit tests for monitor/capture.c and the tracker chain from a recorded
 * capture: tests/pcaps/ssh-bulk.pcap (an SSH session recorded in the lab by
 * tests/pcaps/record-ssh-bulk.sh) replayed through capture -> pkt ->
 * tcptrack must end with the positions the server's kernel reported
 * (tests/pcaps/ssh-bulk.expect, from `ss -tin`).  Also the BPF filter text
 * and the decoder on malformed frames.
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

#include "capture.h"
#include "pkt.h"
#include "tcptrack.h"

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
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_filter_text),
		cmocka_unit_test(test_decode_malformed),
	};

	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
