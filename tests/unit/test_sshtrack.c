/*
 * Unit tests for monitor/sshtrack.c, fed through a real TCP tracker:
 * reference streams encrypted by OpenSSH's own cipher code
 * (sshtest_vectors.h), whole synthetic sessions for every cipher and MAC the
 * clients use (sshtest_writer.c), with keys that arrive late, segments out
 * of order, a rekey with and without strict KEX, the setup log (never a
 * password), channel windows, the client-side hold for recovery, and every
 * way a connection becomes unprotectable: corruption, compression, capture
 * gaps, late keys, bounds.  Also the recorded OpenSSH session
 * tests/pcaps/ssh-bulk.pcap, for which no keys exist.  And restarts: a sync
 * point saved by one tracker, packets unseen, a new tracker resuming from it
 * and proving where packets start for every cipher family (also across a
 * rekey in the hole, after a capture gap, after late keys), the ways it
 * gives up, and the sealed setup log through the state file.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "capture.h"
#include "conf.h"
#include "pkt.h"
#include "rebuild.h"
#include "resume.h"
#include "rpkg.h"
#include "seal.h"
#include "sshtrack.h"
#include "store.h"
#include "takeover.h"
#include "tcptrack.h"

#include "sshtest_writer.c"
#include "sshtest_vectors.h"

#define C2S	SSHTRACK_C2S
#define S2C	SSHTRACK_S2C
#define MAXKEX	4

/* --- fixture: tcptrack -> sshtrack, a key provider, segment feeding --- */

struct fx {
	struct tcptrack		*t;
	struct sshtrack		*st;
	struct tcptrack_conn	*c;
	struct pkt_addr		 cli, srv;
	uint32_t		 cisn, sisn;
	double			 now;
	struct seal_keyrec	 rec[MAXKEX];
	int			 avail[MAXKEX];
	int			 newest_only;	/* like the key store */
	int			 asked;		/* provider calls */
	struct sshtest_w	 w[2];		/* the two streams */
	uint64_t		 fed[2];	/* bytes of each fed so far */
	int			 ended;
};

static const struct seal_keyrec *
provider(void *arg, const struct tcptrack_conn *c, uint32_t kex)
{
	struct fx *f = arg;

	int k;

	assert_ptr_equal(c, f->c);
	f->asked++;
	if (kex == SSHTRACK_KEX_NEWEST) {
		for (k = MAXKEX; k-- > 0; )
			if (f->avail[k])
				return &f->rec[k];
		return NULL;
	}
	if (kex >= MAXKEX || !f->avail[kex])
		return NULL;
	for (k = (int)kex + 1; f->newest_only && k < MAXKEX; k++)
		if (f->avail[k])
			return NULL;
	return &f->rec[kex];
}

static void
op_new(void *arg, struct tcptrack_conn *c)
{
	struct fx *f = arg;

	f->c = c;
	sshtrack_conn_new(f->st, c);
}

static void
op_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	sshtrack_data(((struct fx *)arg)->st, c, dir, off, p, len);
}

static void
op_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	sshtrack_acked(((struct fx *)arg)->st, c, dir, acked);
}

static void
op_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    uint64_t len)
{
	sshtrack_gap(((struct fx *)arg)->st, c, dir, off, len);
}

static void
op_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	struct fx *f = arg;

	(void)why;
	sshtrack_conn_end(f->st, c);
	f->ended++;
	f->c = NULL;
}

static void
op_resumed(void *arg, struct tcptrack_conn *c, int dir, uint64_t off)
{
	sshtrack_resumed(((struct fx *)arg)->st, c, dir, off);
}

static const struct tcptrack_ops fx_ops = {
	.conn_new = op_new, .data = op_data, .acked = op_acked,
	.gap = op_gap, .conn_end = op_end, .resumed = op_resumed,
};

static struct fx *
fx_new(const struct sshtrack_limits *lim)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t a[4];

	assert_non_null(f);
	assert_non_null(f->t = tcptrack_new(NULL, &fx_ops, f));
	assert_non_null(f->st = sshtrack_new(lim, provider, f));
	inet_pton(AF_INET, "198.18.0.10", a);
	pkt_addr_set(&f->cli, AF_INET, a);
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&f->srv, AF_INET, a);
	assert_int_equal(tcptrack_watch(f->t, &f->srv, 22), 0);
	f->cisn = 0xfffff000u;		/* wraps during the session */
	f->sisn = 12345;
	f->now = 1000.0;
	w_init(&f->w[C2S]);
	w_init(&f->w[S2C]);
	return f;
}

static void
fx_free(struct fx *f)
{
	tcptrack_free(f->t);
	sshtrack_free(f->st);
	w_free(&f->w[C2S]);
	w_free(&f->w[S2C]);
	explicit_bzero(f->rec, sizeof(f->rec));
	free(f);
}

/* One segment of dir at stream offset off, acking ackoff of the other. */
static void
seg(struct fx *f, int dir, uint64_t off, const void *data, size_t len,
    uint64_t ackoff)
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
	p.flags = PKT_ACK | (len ? PKT_PSH : 0);
	p.win = 1000;
	p.payload = data;
	p.len = p.wire_len = len;
	f->now += 0.001;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
}

static void
handshake(struct fx *f)
{
	struct pkt_tcp p;

	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = 22;
	p.seq = f->cisn;
	p.flags = PKT_SYN;
	p.has_mss = 1, p.mss = 1460;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	memset(&p, 0, sizeof(p));
	p.src = f->srv, p.sport = 22, p.dst = f->cli, p.dport = 40000;
	p.seq = f->sisn;
	p.ack = f->cisn + 1;
	p.flags = PKT_SYN | PKT_ACK;
	p.has_mss = 1, p.mss = 1460;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	seg(f, C2S, 0, NULL, 0, 0);
	assert_non_null(f->c);
	assert_non_null(f->c->upper);
}

/* One byte of one stream to flip as it is fed (test_mutations). */
static struct {
	int		on, dir;
	uint64_t	at;
	uint8_t		x;
} mutation;

/*
 * Feed what the writer of dir wrote since the last call, in segments of at
 * most mss bytes, every pair of segments swapped when ooo; each acks all
 * the other direction fed so far.
 */
static void
feed_mode(struct fx *f, int dir, size_t mss, int ooo)
{
	const uint8_t *p = buf_ptr(&f->w[dir].out);
	uint64_t end = buf_len(&f->w[dir].out), off = f->fed[dir];

	if (mutation.on && mutation.dir == dir && mutation.at >= off &&
	    mutation.at < end)
		f->w[dir].out.data[mutation.at] ^= mutation.x;

	while (off < end) {
		size_t a = end - off < mss ? (size_t)(end - off) : mss;
		size_t b = end - off - a < mss ? (size_t)(end - off - a) : mss;

		if (ooo && b > 0) {
			seg(f, dir, off + a, p + off + a, b, f->fed[!dir]);
			seg(f, dir, off, p + off, a, f->fed[!dir]);
			off += a + b;
		} else {
			seg(f, dir, off, p + off, a, f->fed[!dir]);
			off += a;
		}
	}
	f->fed[dir] = end;
}

static void
feed(struct fx *f, int dir)
{
	feed_mode(f, dir, 536, 1);
}

/* Acknowledge everything of dir fed so far (a pure ACK from the peer). */
static void
ack_all(struct fx *f, int dir)
{
	seg(f, !dir, f->fed[!dir], NULL, 0, f->fed[dir]);
}

static void
status(struct fx *f, struct sshtrack_info *info)
{
	assert_int_equal(sshtrack_status(f->st, f->c, info), 0);
}

/* --- key records --- */

struct combo {
	const char	*cipher, *mac;
};

/* What the session tests run with: every cipher and MAC kind. */
static const struct combo combos[] = {
	{ "chacha20-poly1305@openssh.com", "" },
	{ "aes128-gcm@openssh.com", "" },
	{ "aes256-gcm@openssh.com", "" },
	{ "aes128-ctr", "hmac-sha2-256-etm@openssh.com" },
	{ "aes256-ctr", "hmac-sha2-512" },
	{ "aes256-ctr", "umac-64@openssh.com" },
	{ "aes256-cbc", "hmac-sha2-256" },
	{ "aes192-cbc", "hmac-sha1-etm@openssh.com" },
};

static void
fill(const char *label, int n, uint8_t *out, size_t len)
{
	uint8_t h[SHA512_DIGEST_LENGTH];
	char s[64];

	snprintf(s, sizeof(s), "%s %d", label, n);
	SHA512((const uint8_t *)s, strlen(s), h);
	memcpy(out, h, len);
}

static size_t
keylen_of(const char *cipher)
{
	if (strstr(cipher, "chacha") != NULL)
		return 64;
	if (strstr(cipher, "128") != NULL)
		return 16;
	if (strstr(cipher, "192") != NULL)
		return 24;
	return 32;
}

static size_t
mackeylen_of(const char *mac)
{
	if (*mac == '\0')
		return 0;
	if (strncmp(mac, "umac", 4) == 0)
		return 16;
	if (strncmp(mac, "hmac-sha2-512", 13) == 0)
		return 64;
	if (strncmp(mac, "hmac-sha1", 9) == 0)
		return 20;
	return 32;
}

static void
dir_keys(struct seal_dir *d, const struct combo *co, int kex, int dir,
    uint32_t start, int strict)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->cipher, sizeof(d->cipher), "%s", co->cipher);
	snprintf(d->mac, sizeof(d->mac), "%s", co->mac);
	snprintf(d->comp, sizeof(d->comp), "none");
	d->enc_key_len = keylen_of(co->cipher);
	fill("enc", kex * 2 + dir, d->enc_key, d->enc_key_len);
	d->iv_len = strstr(co->cipher, "chacha") ? 0 :
	    strstr(co->cipher, "gcm") ? 12 : 16;
	fill("iv", kex * 2 + dir, d->iv, d->iv_len);
	d->mac_key_len = mackeylen_of(co->mac);
	fill("mac", kex * 2 + dir, d->mac_key, d->mac_key_len);
	d->start_seqnr = start;
	d->strict_kex = strict;
}

/* Record kex for both directions, starting at each writer's seqnr after
 * its NEWKEYS (written next): strict 0, else the next number. */
static void
make_rec(struct fx *f, int kex, const struct combo *co, int strict)
{
	struct seal_keyrec *r = &f->rec[kex];

	memset(r, 0, sizeof(*r));
	r->kex_number = kex;
	r->counter = kex;
	r->family = SEAL_AF_INET;
	snprintf(r->kex_alg, sizeof(r->kex_alg), "curve25519-sha256");
	snprintf(r->hostkey_alg, sizeof(r->hostkey_alg), "ssh-ed25519");
	dir_keys(&r->c2s, co, kex, C2S, strict ? 0 : f->w[C2S].seqnr + 1,
	    strict);
	dir_keys(&r->s2c, co, kex, S2C, strict ? 0 : f->w[S2C].seqnr + 1,
	    strict);
	w_next_keys(&f->w[C2S], &r->c2s);
	w_next_keys(&f->w[S2C], &r->s2c);
}

/* --- session scripts --- */

#define CLIENT_VERSION	"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6"
#define SERVER_VERSION	"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10 SecureJeebs"
#define PASSWORD	"hunter2-very-secret"

/* Identification and KEXINITs, in clear; the client's lists come first. */
static void
kex_start(struct fx *f, const struct combo *co, int strict, const char *comp)
{
	char clist[512], slist[512], ciphers[256], macs[256];

	f->w[C2S].strict = f->w[S2C].strict = strict;
	w_raw(&f->w[C2S], CLIENT_VERSION "\r\n", strlen(CLIENT_VERSION) + 2);
	feed(f, C2S);
	w_raw(&f->w[S2C], "Please be nice.\r\n", 17);
	w_raw(&f->w[S2C], SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2);
	feed(f, S2C);
	snprintf(clist, sizeof(clist), "sntrup761x25519-sha512@openssh.com,"
	    "curve25519-sha256,ext-info-c%s", strict ?
	    ",kex-strict-c-v00@openssh.com" : "");
	snprintf(slist, sizeof(slist), "curve25519-sha256,"
	    "kex-strict-s-v00@openssh.com");
	/* Client prefers the combo; the server lists it after others. */
	snprintf(ciphers, sizeof(ciphers), "%s,aes128-ctr", co->cipher);
	snprintf(macs, sizeof(macs), "%s%shmac-sha2-256", co->mac,
	    *co->mac ? "," : "");
	w_kexinit(&f->w[C2S], clist, ciphers, macs, comp);
	feed(f, C2S);
	snprintf(ciphers, sizeof(ciphers),
	    "aes128-ctr,%s,aes256-gcm@openssh.com", co->cipher);
	snprintf(macs, sizeof(macs), "hmac-sha2-256,%s", co->mac);
	w_kexinit(&f->w[S2C], slist, ciphers, macs, "none,zlib@openssh.com");
	feed(f, S2C);
}

/* The key exchange proper and both NEWKEYS, with record kex. */
static void
kex_finish(struct fx *f, int kex, const struct combo *co, int strict)
{
	struct msg m;
	uint8_t pub[32];

	memset(pub, 0x42, sizeof(pub));
	m_init(&m, 30);				/* KEX_ECDH_INIT */
	m_bytes(&m, pub, sizeof(pub));
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 31);				/* KEX_ECDH_REPLY */
	m_bytes(&m, pub, 20);
	m_bytes(&m, pub, sizeof(pub));
	m_bytes(&m, pub, 30);
	m_send(&m, &f->w[S2C]);
	make_rec(f, kex, co, strict);
	w_newkeys(&f->w[S2C]);
	feed(f, S2C);
	w_newkeys(&f->w[C2S]);
	feed(f, C2S);
}

static void
send_str(struct fx *f, int dir, uint8_t type, const char *s)
{
	struct msg m;

	m_init(&m, type);
	m_str(&m, s);
	m_send(&m, &f->w[dir]);
	feed(f, dir);
}

static void
send_u32(struct fx *f, int dir, uint8_t type, uint32_t a)
{
	struct msg m;

	m_init(&m, type);
	m_u32(&m, a);
	m_send(&m, &f->w[dir]);
	feed(f, dir);
}

static void
send_data(struct fx *f, int dir, uint32_t chan, size_t n, int ext)
{
	static uint8_t data[40000];
	struct msg m;

	memset(data, 'x', sizeof(data));
	m_init(&m, ext ? 95 : 94);
	m_u32(&m, chan);
	if (ext)
		m_u32(&m, 1);
	m_bytes(&m, data, n);
	m_send(&m, &f->w[dir]);
	feed(f, dir);
}

/* SSH_MSG_IGNORE with n bytes: a packet of a chosen size, no state. */
static void
send_ignore(struct fx *f, int dir, size_t n)
{
	static uint8_t junk[40000];
	struct msg m;

	memset(junk, 'i', sizeof(junk));
	m_init(&m, 2);
	m_bytes(&m, junk, n);
	m_send(&m, &f->w[dir]);
	feed(f, dir);
}

static void
send_chanreq(struct fx *f, int dir, uint32_t chan, const char *req, int want,
    const char *arg)
{
	struct msg m;

	m_init(&m, 98);
	m_u32(&m, chan);
	m_str(&m, req);
	m_u8(&m, (uint8_t)want);
	if (arg != NULL)
		m_str(&m, arg);
	m_send(&m, &f->w[dir]);
	feed(f, dir);
}

static void
send_winch(struct fx *f, uint32_t chan, uint32_t cols)
{
	struct msg m;

	m_init(&m, 98);
	m_u32(&m, chan);
	m_str(&m, "window-change");
	m_u8(&m, 0);
	m_u32(&m, cols);
	m_u32(&m, 24);
	m_u32(&m, 0);
	m_u32(&m, 0);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
}

static void
send_global(struct fx *f, int dir, const char *name, int want)
{
	struct msg m;

	m_init(&m, 80);
	m_str(&m, name);
	m_u8(&m, (uint8_t)want);
	if (strcmp(name, "tcpip-forward") == 0) {
		m_str(&m, "");
		m_u32(&m, 0);
	}
	m_send(&m, &f->w[dir]);
	feed(f, dir);
}

/* Authentication: none, password (refused), publickey (accepted). */
static void
auth(struct fx *f)
{
	static uint8_t blob[300], sig[83];
	struct msg m;

	send_str(f, C2S, 5, "ssh-userauth");
	send_str(f, S2C, 6, "ssh-userauth");
	m_init(&m, 50);
	m_str(&m, "alice");
	m_str(&m, "ssh-connection");
	m_str(&m, "none");
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 51);
	m_str(&m, "publickey,password");
	m_u8(&m, 0);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	m_init(&m, 50);
	m_str(&m, "alice");
	m_str(&m, "ssh-connection");
	m_str(&m, "password");
	m_u8(&m, 0);
	m_str(&m, PASSWORD);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 51);
	m_str(&m, "publickey,password");
	m_u8(&m, 0);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	memset(blob, 0xb1, sizeof(blob));
	memset(sig, 0x5e, sizeof(sig));
	m_init(&m, 50);
	m_str(&m, "alice");
	m_str(&m, "ssh-connection");
	m_str(&m, "publickey");
	m_u8(&m, 1);
	m_str(&m, "ssh-ed25519");
	m_bytes(&m, blob, sizeof(blob));
	m_bytes(&m, sig, sizeof(sig));
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 52);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
}

#define CLIENT_CHAN	0
#define SERVER_CHAN	7
#define CLIENT_WIN	(2 * 1024 * 1024)

/* A session channel with a pty and a shell, a forward, some traffic. */
static void
session(struct fx *f)
{
	struct msg m;

	m_init(&m, 90);
	m_str(&m, "session");
	m_u32(&m, CLIENT_CHAN);
	m_u32(&m, CLIENT_WIN);
	m_u32(&m, 32768);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 91);
	m_u32(&m, CLIENT_CHAN);
	m_u32(&m, SERVER_CHAN);
	m_u32(&m, 0);
	m_u32(&m, 32768);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	send_global(f, C2S, "keepalive@openssh.com", 1);
	m_init(&m, 82);
	m_send(&m, &f->w[S2C]);			/* not logged */
	feed(f, S2C);
	send_global(f, C2S, "tcpip-forward", 1);
	send_u32(f, S2C, 81, 40000);		/* logged, port allocated */
	send_chanreq(f, C2S, SERVER_CHAN, "pty-req", 1, "xterm");
	send_u32(f, S2C, 99, CLIENT_CHAN);
	send_chanreq(f, C2S, SERVER_CHAN, "env", 0, "LANG");
	send_chanreq(f, C2S, SERVER_CHAN, "shell", 1, NULL);
	send_u32(f, S2C, 99, CLIENT_CHAN);
	m_init(&m, 93);
	m_u32(&m, CLIENT_CHAN);
	m_u32(&m, 2097152);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	send_data(f, S2C, CLIENT_CHAN, 1000, 0);
	send_data(f, C2S, SERVER_CHAN, 10, 0);
	m_init(&m, 93);
	m_u32(&m, SERVER_CHAN);
	m_u32(&m, 1000);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	send_winch(f, SERVER_CHAN, 80);
	send_winch(f, SERVER_CHAN, 132);
	send_chanreq(f, S2C, CLIENT_CHAN, "keepalive@openssh.com", 1, NULL);
	send_u32(f, C2S, 100, SERVER_CHAN);	/* not logged */
	send_data(f, S2C, CLIENT_CHAN, 50, 1);
	send_data(f, S2C, CLIENT_CHAN, 30000, 0);
}

/* Positions agree with what the writers counted. */
static void
check_positions(struct fx *f)
{
	struct sshtrack_info info;
	int d;

	status(f, &info);
	for (d = 0; d < 2; d++) {
		assert_int_equal(info.dir[d].seqnr, f->w[d].seqnr);
		assert_int_equal(info.dir[d].packet_end, buf_len(&f->w[d].out));
		assert_int_equal(info.dir[d].total_packets, f->w[d].npackets);
		assert_int_equal(info.dir[d].buffered, 0);
	}
}

/* The entries of one direction, by type, in order. */
static size_t
log_types(struct fx *f, int dir, uint8_t *types, size_t max)
{
	struct sshtrack_msg m;
	size_t i, n = 0;

	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &m), 0);
		if (m.dir == dir && n < max)
			types[n++] = m.type;
	}
	return n;
}

/* No entry holds these bytes. */
static void
assert_not_logged(struct fx *f, const char *s)
{
	struct sshtrack_msg m;
	size_t i;

	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &m), 0);
		assert_null(memmem(m.p, m.len, s, strlen(s)));
	}
}

/* --- tests --- */

/* The test writer produces OpenSSH's bytes exactly. */
static void
test_writer_matches_openssh(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sshtest_vecs) / sizeof(sshtest_vecs[0]); i++) {
		const struct sshtest_vec *v = &sshtest_vecs[i];
		struct sshtest_w w;
		struct seal_dir kd;

		memset(&kd, 0, sizeof(kd));
		snprintf(kd.cipher, sizeof(kd.cipher), "%s", v->cipher);
		snprintf(kd.mac, sizeof(kd.mac), "%s", v->mac);
		memcpy(kd.enc_key, v->key, v->key_len);
		memcpy(kd.iv, v->iv, v->iv_len);
		memcpy(kd.mac_key, v->mackey, v->mackey_len);
		kd.mac_key_len = v->mackey_len;
		w_init(&w);
		w_next_keys(&w, &kd);
		w_install(&w);
		w.seqnr = SSHTEST_VEC_SEQNR;
		w_packet(&w, vec_p_service, sizeof(vec_p_service));
		w_packet(&w, vec_p_data, sizeof(vec_p_data));
		w_packet(&w, vec_p_ignore, sizeof(vec_p_ignore));
		w_packet(&w, vec_p_big, sizeof(vec_p_big));
		assert_int_equal(buf_len(&w.out), v->stream_len);
		assert_memory_equal(buf_ptr(&w.out), v->stream, v->stream_len);
		w_free(&w);
	}
}

/* OpenSSH's own ciphertext, in both directions, after a clear KEX. */
static void
test_openssh_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sshtest_vecs) / sizeof(sshtest_vecs[0]); i++) {
		const struct sshtest_vec *v = &sshtest_vecs[i];
		const struct combo co = { v->cipher, v->mac };
		struct sshtrack_info info;
		struct sshtrack_msg m;
		struct sshtrack_pos pos;
		struct fx *f = fx_new(NULL);
		struct seal_dir *kd;
		int d;

		handshake(f);
		kex_start(f, &co, 0, "none");
		kex_finish(f, 0, &co, 0);
		/* Replace the generated keys with the vector's. */
		for (d = 0; d < 2; d++) {
			kd = d == C2S ? &f->rec[0].c2s : &f->rec[0].s2c;
			assert_int_equal(kd->start_seqnr, SSHTEST_VEC_SEQNR);
			memcpy(kd->enc_key, v->key, v->key_len);
			memcpy(kd->iv, v->iv, v->iv_len);
			memcpy(kd->mac_key, v->mackey, v->mackey_len);
			w_raw(&f->w[d], v->stream, v->stream_len);
		}
		f->avail[0] = 1;
		sshtrack_keys_arrived(f->st, f->c);
		feed_mode(f, C2S, 7, 1);	/* tiny segments, reordered */
		feed_mode(f, S2C, 1460, 0);
		status(f, &info);
		if (!info.protectable)
			fail_msg("%s %s: %s", v->cipher, v->mac, info.reason);
		for (d = 0; d < 2; d++) {
			assert_int_equal(info.dir[d].phase,
			    SSHTRACK_PHASE_DECRYPT);
			assert_int_equal(info.dir[d].seqnr,
			    SSHTEST_VEC_SEQNR + 4);
			assert_int_equal(info.dir[d].packets, 4);
			assert_int_equal(info.dir[d].kex_number, 0);
			assert_int_equal(info.dir[d].packet_end,
			    buf_len(&f->w[d].out));
			assert_string_equal(info.dir[d].cipher, v->cipher);
			assert_true(info.dir[d].mac_verified);
		}
		assert_string_equal(info.algs.cipher[C2S], v->cipher);
		assert_string_equal(info.algs.mac[S2C], v->mac);
		assert_false(info.strict_kex);
		/* The SERVICE_REQUEST, decrypted, in each direction. */
		assert_int_equal(sshtrack_log_count(f->st, f->c), 2);
		assert_int_equal(sshtrack_log_get(f->st, f->c, 0, &m), 0);
		assert_int_equal(m.seqnr, SSHTEST_VEC_SEQNR);
		assert_int_equal(m.len, sizeof(vec_p_service));
		assert_memory_equal(m.p, vec_p_service, m.len);
		/* Counters as OpenSSH's: CTR +1 a block, GCM +1 a packet. */
		assert_int_equal(sshtrack_position(f->st, f->c, S2C, 0, &pos),
		    0);
		assert_int_equal(pos.seqnr, SSHTEST_VEC_SEQNR + 4);
		if (strstr(v->cipher, "gcm") != NULL) {
			uint8_t want[12];
			uint64_t inv = 0;
			int j;

			/* The invocation counter + 4, mod 2^64 (one vector
			 * starts at ..fffe and wraps). */
			memcpy(want, v->iv, 12);
			for (j = 4; j < 12; j++)
				inv = inv << 8 | want[j];
			inv += 4;
			for (j = 11; j >= 4; j--, inv >>= 8)
				want[j] = (uint8_t)inv;
			assert_int_equal(pos.iv_len, 12);
			assert_memory_equal(pos.iv, want, 12);
		} else if (strstr(v->cipher, "cbc") != NULL) {
			/* The last ciphertext block before the MAC. */
			size_t maclen = v->mackey_len == 20 &&
			    strstr(v->mac, "96") == NULL ? 20 : 32;

			assert_int_equal(pos.iv_len, 16);
			assert_memory_equal(pos.iv, v->stream + v->stream_len -
			    maclen - 16, 16);
		} else if (strstr(v->cipher, "ctr") != NULL)
			assert_int_equal(pos.iv_len, 16);
		explicit_bzero(&pos, sizeof(pos));
		fx_free(f);
	}
}

/* A whole session per cipher: keys late, then everything checked. */
static void
test_session(void **state)
{
	const struct combo *co = *state;
	struct sshtrack_info info;
	struct sshtrack_chan ch;
	struct sshtrack_msg m;
	struct fx *f = fx_new(NULL);
	uint8_t types[64], sig[83];
	size_t n, i;
	uint64_t roff;
	const uint8_t *rp;
	size_t rlen;

	handshake(f);
	kex_start(f, co, 1, "none");
	status(f, &info);
	assert_true(info.negotiated);
	assert_true(info.strict_kex);
	assert_string_equal(info.algs.cipher[C2S], co->cipher);
	assert_string_equal(info.algs.mac[S2C], co->mac);
	assert_string_equal(info.algs.kex, "curve25519-sha256");
	assert_string_equal(info.algs.hostkey, "ssh-ed25519");
	assert_string_equal(info.algs.comp[C2S], "none");
	assert_string_equal(info.dir[C2S].version, CLIENT_VERSION);
	assert_string_equal(info.dir[S2C].version, SERVER_VERSION);
	assert_true(info.kex_in_progress);
	kex_finish(f, 0, co, 1);
	auth(f);

	/* The first keys come only after authentication: all buffered. */
	status(f, &info);
	assert_true(info.protectable);
	assert_true(info.waiting_keys);
	assert_false(info.kex_in_progress);
	for (i = 0; i < 2; i++) {
		assert_int_equal(info.dir[i].phase, SSHTRACK_PHASE_WAIT_KEYS);
		assert_int_equal(info.dir[i].newkeys, 1);
		assert_int_equal(info.dir[i].seqnr, 0);	/* strict */
		assert_true(info.dir[i].buffered > 0);
	}
	/* The server acked every client byte: the hold is where the
	 * undecrypted (or, in clear-length modes, the last) packet starts. */
	assert_int_equal(tcptrack_retained(f->c, C2S, &roff, &rp, &rlen), 0);
	assert_int_equal(roff, info.c2s_resume_off);
	if (strstr(co->cipher, "gcm") != NULL || strstr(co->mac, "etm")) {
		/* The length is in clear: boundaries known without keys,
		 * and every packet was acknowledged. */
		assert_int_equal(roff, buf_len(&f->w[C2S].out));
	} else {
		/* Held from the first packet under the missing keys. */
		assert_int_equal(roff, f->w[C2S].starts[3]);
	}
	assert_int_equal(sshtrack_log_count(f->st, f->c), 0);

	f->avail[0] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	check_positions(f);
	session(f);
	check_positions(f);
	status(f, &info);
	if (!info.protectable)
		fail_msg("%s: %s", co->cipher, info.reason);
	assert_false(info.waiting_keys);
	assert_int_equal(info.dir[C2S].kex_number, 0);
	assert_int_equal(info.password_attempts, 1);
	assert_not_logged(f, PASSWORD);

	/* The client's messages, in order; the password attempt kept as a
	 * marker only; one window-change (the latest). */
	n = log_types(f, C2S, types, sizeof(types));
	assert_int_equal(n, 10);
	assert_memory_equal(types, ((uint8_t[]){ 5, 50, 50, 50, 90, 80, 98,
	    98, 98, 98 }), 10);
	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &m), 0);
		if (m.type == 50 && m.flags != 0) {
			assert_int_equal(m.flags, SSHTRACK_LOG_PASSWORD);
			assert_int_equal(m.len, 0);
		}
		if (m.type == 50 && m.flags == 0 && m.len > 300) {
			/* publickey: verbatim, signature included */
			memset(sig, 0x5e, sizeof(sig));
			assert_memory_equal(m.p + m.len - sizeof(sig), sig,
			    sizeof(sig));
		}
		if (m.type == 98 && m.len > 30 &&
		    memmem(m.p, m.len, "window-change", 13) != NULL)
			assert_non_null(memmem(m.p, m.len,
			    "\0\0\0\x84", 4));	/* 132 columns */
	}
	n = log_types(f, S2C, types, sizeof(types));
	assert_int_equal(n, 8);
	assert_memory_equal(types, ((uint8_t[]){ 6, 51, 51, 52, 91, 81, 99,
	    99 }), 8);

	/* Windows each way (DESIGN 2). */
	assert_int_equal(sshtrack_channel_count(f->st, f->c), 1);
	assert_int_equal(sshtrack_channel_get(f->st, f->c, 0, &ch), 0);
	assert_string_equal(ch.type, "session");
	assert_int_equal(ch.opened_by, C2S);
	assert_true(ch.confirmed);
	assert_int_equal(ch.id_client, CLIENT_CHAN);
	assert_int_equal(ch.id_server, SERVER_CHAN);
	assert_int_equal(ch.initial_window[S2C], CLIENT_WIN);
	assert_int_equal(ch.initial_window[C2S], 0);
	assert_int_equal(ch.maxpacket[C2S], 32768);
	assert_int_equal(ch.adjust[C2S], 2097152);
	assert_int_equal(ch.adjust[S2C], 1000);
	assert_int_equal(ch.data[C2S], 10);
	assert_int_equal(ch.data[S2C], 1000 + 50 + 30000);
	assert_int_equal(ch.window[C2S], 2097152 - 10);
	assert_int_equal(ch.window[S2C], CLIENT_WIN + 1000 - 31050);

	/* Everything acked: the hold is at the end, little is kept. */
	ack_all(f, C2S);
	ack_all(f, S2C);
	assert_int_equal(tcptrack_retained(f->c, C2S, &roff, &rp, &rlen), 0);
	assert_int_equal(roff, buf_len(&f->w[C2S].out));
	assert_int_equal(rlen, 0);
	status(f, &info);
	assert_true(info.memory < 16384);
	fx_free(f);
}

/* A rekey: strict restarts both seqnrs at 0, otherwise they run on. */
static void
rekey(int strict)
{
	const struct combo c0 = { "chacha20-poly1305@openssh.com", "" };
	const struct combo c1 = { "aes256-gcm@openssh.com", "" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);
	uint32_t before[2];
	int d;

	handshake(f);
	kex_start(f, &c0, strict, "none");
	kex_finish(f, 0, &c0, strict);
	f->avail[0] = 1;
	auth(f);
	session(f);
	for (d = 0; d < 2; d++)
		before[d] = f->w[d].seqnr;
	/* Rekey to another cipher; its record arrives before NEWKEYS. */
	w_kexinit(&f->w[S2C], "curve25519-sha256", "aes256-gcm@openssh.com",
	    "hmac-sha2-256", "none");
	feed(f, S2C);
	w_kexinit(&f->w[C2S], "curve25519-sha256",
	    "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com",
	    "hmac-sha2-256", "none");
	feed(f, C2S);
	status(f, &info);
	assert_true(info.kex_in_progress);
	assert_int_equal(info.algs.round, 1);
	assert_string_equal(info.algs.cipher[S2C], "aes256-gcm@openssh.com");
	send_data(f, S2C, CLIENT_CHAN, 100, 0);	/* allowed during KEX */
	f->avail[1] = 1;
	kex_finish(f, 1, &c1, strict);
	send_data(f, S2C, CLIENT_CHAN, 500, 0);
	send_data(f, C2S, SERVER_CHAN, 5, 0);
	send_chanreq(f, C2S, SERVER_CHAN, "exec", 1, "true");
	check_positions(f);
	status(f, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	for (d = 0; d < 2; d++) {
		assert_int_equal(info.dir[d].newkeys, 2);
		assert_int_equal(info.dir[d].kex_number, 1);
		assert_string_equal(info.dir[d].cipher,
		    "aes256-gcm@openssh.com");
	}
	assert_false(info.kex_in_progress);
	/* c2s: KEXINIT, ECDH_INIT, NEWKEYS, then DATA and exec after it. */
	assert_int_equal(info.dir[C2S].packets, 2);
	assert_int_equal(info.dir[C2S].seqnr, strict ? 2 : before[C2S] + 5);
	/* s2c: KEXINIT, DATA, ECDH_REPLY, NEWKEYS, then one DATA. */
	assert_int_equal(info.dir[S2C].packets, 1);
	assert_int_equal(info.dir[S2C].seqnr, strict ? 1 : before[S2C] + 5);
	fx_free(f);
}

static void
test_rekey_strict(void **state)
{
	(void)state;
	rekey(1);
}

static void
test_rekey_not_strict(void **state)
{
	(void)state;
	rekey(0);
}

/* One flipped bit in a client packet: unprotectable, with where. */
static void
test_corrupt(void **state)
{
	const struct combo *co = *state;
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);
	uint32_t bad;
	uint8_t *p;
	char want[64];
	struct msg m;

	handshake(f);
	kex_start(f, co, 1, "none");
	kex_finish(f, 0, co, 1);
	f->avail[0] = 1;
	auth(f);
	send_ignore(f, S2C, 10);
	/* The packet's last ciphertext byte before its MAC or tag. */
	m_init(&m, 2);
	m_str(&m, "some ignored bytes to corrupt");
	bad = m_send(&m, &f->w[C2S]);
	p = f->w[C2S].out.data + buf_len(&f->w[C2S].out) - 1 -
	    (strstr(co->cipher, "gcm") || strstr(co->cipher, "chacha") ? 16 :
	    strncmp(co->mac, "umac-64", 7) == 0 ? 8 : mackeylen_of(co->mac));
	*p ^= 0x10;
	feed(f, C2S);
	send_ignore(f, S2C, 10);
	status(f, &info);
	assert_false(info.protectable);
	snprintf(want, sizeof(want), "decryption failed at c2s seqnr %u", bad);
	if (strstr(info.reason, want) == NULL)
		fail_msg("reason \"%s\", wanted \"%s\"", info.reason, want);
	assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_STOPPED);
	assert_int_equal(info.dir[C2S].seqnr, bad);	/* stopped before it */
	/* The other direction goes on. */
	assert_int_equal(info.dir[S2C].phase, SSHTRACK_PHASE_DECRYPT);
	assert_int_equal(info.dir[S2C].seqnr, f->w[S2C].seqnr);
	fx_free(f);
}

/* zlib@openssh.com negotiated: unprotectable, counting goes on. */
static void
test_compression(void **state)
{
	const struct combo co = {
		"aes128-ctr", "hmac-sha2-256-etm@openssh.com"
	};
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);

	(void)state;
	handshake(f);
	kex_start(f, &co, 0, "zlib@openssh.com,none");
	status(f, &info);
	assert_false(info.protectable);
	assert_true(info.compression);
	assert_string_equal(info.algs.comp[C2S], "zlib@openssh.com");
	assert_non_null(strstr(info.reason, "compression negotiated"));
	/* The record agrees; before auth nothing is compressed yet. */
	kex_finish(f, 0, &co, 0);
	snprintf(f->rec[0].c2s.comp, sizeof(f->rec[0].c2s.comp),
	    "zlib@openssh.com");
	snprintf(f->rec[0].s2c.comp, sizeof(f->rec[0].s2c.comp),
	    "zlib@openssh.com");
	f->avail[0] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	send_str(f, C2S, 5, "ssh-userauth");
	send_str(f, S2C, 6, "ssh-userauth");
	check_positions(f);
	status(f, &info);
	assert_false(info.dir[C2S].compressed);
	assert_non_null(strstr(info.reason, "compression negotiated"));
	fx_free(f);
}

/* Keys that never come: the buffer stays within its bound, then gives up. */
static void
test_buffer_bound(void **state)
{
	const struct combo co = { "chacha20-poly1305@openssh.com", "" };
	struct sshtrack_limits lim;
	struct sshtrack_info info;
	struct fx *f;
	int i;

	(void)state;
	sshtrack_limits_default(&lim);
	lim.max_buffer = 48 * 1024;
	f = fx_new(&lim);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	for (i = 0; i < 20; i++) {
		send_ignore(f, S2C, 4000);
		status(f, &info);
		assert_true(info.dir[S2C].buffered <= lim.max_buffer);
		assert_true(info.memory < 4 * lim.max_buffer);
	}
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "keys did not arrive in time"));
	assert_int_equal(info.dir[S2C].phase, SSHTRACK_PHASE_STOPPED);
	assert_int_equal(info.dir[S2C].buffered, 0);
	/* Late keys change nothing now. */
	f->avail[0] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	status(f, &info);
	assert_int_equal(info.dir[S2C].phase, SSHTRACK_PHASE_STOPPED);
	fx_free(f);
}

/* The setup log is bounded. */
static void
test_log_bound(void **state)
{
	const struct combo co = { "aes256-gcm@openssh.com", "" };
	struct sshtrack_limits lim;
	struct sshtrack_info info;
	struct fx *f;

	(void)state;
	sshtrack_limits_default(&lim);
	lim.max_log = 512;
	f = fx_new(&lim);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);		/* the publickey request alone is larger */
	status(f, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "setup log over 512 bytes"));
	assert_true(info.log_bytes <= 512);
	check_positions(f);		/* positions are still followed */
	fx_free(f);
}

/* A channel closed both ways is forgotten, with its log entries. */
static void
test_channel_close(void **state)
{
	const struct combo co = { "aes128-ctr", "hmac-sha2-256" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);
	size_t before;
	struct msg m;

	(void)state;
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	f->avail[0] = 1;
	auth(f);
	before = sshtrack_log_count(f->st, f->c);
	session(f);
	/* A second channel the server opens (a forwarded connection). */
	m_init(&m, 90);
	m_str(&m, "forwarded-tcpip");
	m_u32(&m, 3);
	m_u32(&m, 65536);
	m_u32(&m, 16384);
	m_str(&m, "127.0.0.1");
	m_u32(&m, 40000);
	m_str(&m, "198.18.0.10");
	m_u32(&m, 5555);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	m_init(&m, 91);
	m_u32(&m, 3);
	m_u32(&m, 9);
	m_u32(&m, 1 << 20);
	m_u32(&m, 16384);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	assert_int_equal(sshtrack_channel_count(f->st, f->c), 2);
	/* A third the client opens and the server refuses. */
	m_init(&m, 90);
	m_str(&m, "direct-tcpip");
	m_u32(&m, 4);
	m_u32(&m, 65536);
	m_u32(&m, 16384);
	m_str(&m, "10.0.0.1");
	m_u32(&m, 80);
	m_str(&m, "127.0.0.1");
	m_u32(&m, 1234);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 92);
	m_u32(&m, 4);
	m_u32(&m, 2);
	m_str(&m, "refused");
	m_str(&m, "");
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	assert_int_equal(sshtrack_channel_count(f->st, f->c), 2);
	/* The session channel ends. */
	send_u32(f, S2C, 96, CLIENT_CHAN);
	send_u32(f, S2C, 97, CLIENT_CHAN);
	status(f, &info);
	assert_int_equal(info.channels, 2);
	send_u32(f, C2S, 97, SERVER_CHAN);
	status(f, &info);
	assert_true(info.protectable);
	assert_int_equal(info.channels, 1);
	/* Left: auth, the forward and its reply, the forwarded channel. */
	assert_int_equal(sshtrack_log_count(f->st, f->c), before + 4);
	check_positions(f);
	fx_free(f);
}

/* Client packets written from now on are live until the server acks. */
static uint64_t
c2s_at(struct fx *f)
{
	return buf_len(&f->w[C2S].out);
}

/* The server acknowledges client bytes up to off (a pure ACK). */
static void
server_acks(struct fx *f, uint64_t off)
{
	seg(f, S2C, f->fed[S2C], NULL, 0, off);
}

static size_t
chan_index(struct fx *f, uint32_t id_server, int *found)
{
	struct sshtrack_chan ch;
	size_t i;

	*found = 0;
	for (i = 0; i < sshtrack_channel_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_channel_get(f->st, f->c, i, &ch), 0);
		if (ch.id_server == id_server) {
			*found = 1;
			return i;
		}
	}
	return 0;
}

/*
 * The server's state at the client resume point: each log entry knows
 * where its packet starts; the client's packets the server had not fully
 * acknowledged are live, and what they did (data, window adjusts, a
 * channel open, EOF) is not in the channel table at the resume point.
 */
static void
test_resume_point(void **state)
{
	const struct combo co = { "aes256-gcm@openssh.com", "" };
	struct sshtrack_chan now, at;
	struct sshtrack_pos pos;
	struct sshtrack_msg m;
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);
	uint64_t r[6], starts[64], r_eof, want[3];
	size_t i, j, nstarts = 0, idx, live, before;
	struct msg mm;
	char why[200];
	int found;

	(void)state;
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	status(f, &info);
	assert_true(info.protectable);
	assert_string_equal(info.hostkey0, "ssh-ed25519");
	/* Everything acked: the resume point is where the next one goes. */
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_true(pos.off == c2s_at(f));
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    0);
	/* Every entry's offset is one where a packet of its side starts. */
	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &m), 0);
		for (j = 0; j < f->w[m.dir].npackets; j++)
			if (f->w[m.dir].starts[j] == m.off)
				break;
		if (j == f->w[m.dir].npackets)
			fail_msg("entry %zu (type %u): %" PRIu64 " is no packet "
			    "start", i, m.type, m.off);
		if (m.dir == C2S)
			starts[nstarts++] = m.off;
	}
	assert_int_equal(nstarts, 10);
	for (i = 1; i < nstarts; i++)
		assert_true(starts[i] > starts[i - 1]);
	before = sshtrack_log_count(f->st, f->c);

	/* Now the client goes on and the server acknowledges none of it. */
	r[0] = c2s_at(f);
	send_data(f, C2S, SERVER_CHAN, 10, 0);
	r[1] = c2s_at(f);
	m_init(&mm, 93);
	m_u32(&mm, SERVER_CHAN);
	m_u32(&mm, 5000);
	m_send(&mm, &f->w[C2S]);
	feed(f, C2S);
	r[2] = c2s_at(f);
	send_winch(f, SERVER_CHAN, 90);
	r[3] = c2s_at(f);
	m_init(&mm, 90);
	m_str(&mm, "direct-tcpip");
	m_u32(&mm, 5);
	m_u32(&mm, 65536);
	m_u32(&mm, 16384);
	m_str(&mm, "10.0.0.1");
	m_u32(&mm, 80);
	m_str(&mm, "127.0.0.1");
	m_u32(&mm, 1234);
	m_send(&mm, &f->w[C2S]);
	feed(f, C2S);
	r[4] = c2s_at(f);
	send_data(f, C2S, SERVER_CHAN, 77, 1);
	r_eof = c2s_at(f);
	send_u32(f, C2S, 96, SERVER_CHAN);	/* EOF */
	r[5] = c2s_at(f);

	status(f, &info);
	assert_true(info.protectable);
	assert_true(info.c2s_resume_off == r[0]);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_true(pos.off == r[0]);
	assert_int_equal(pos.seqnr, f->w[C2S].seqnr - 6);
	assert_int_equal(pos.iv_len, 12);
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    0);
	/* The live client entries: the window-change, the open, the EOF. */
	want[0] = r[2];
	want[1] = r[3];
	want[2] = r_eof;
	live = 0;
	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &m), 0);
		if (m.dir != C2S || m.off < r[0])
			continue;
		assert_true(live < 3);
		assert_true(m.off == want[live]);
		assert_int_equal(m.type, ((uint8_t[]){ 98, 90, 96 })[live]);
		live++;
		/* The window-change replaced the logged one (before). */
		assert_true(i >= before - 1);
	}
	assert_int_equal(live, 3);
	/* Windows now and at the resume point. */
	idx = chan_index(f, SERVER_CHAN, &found);
	assert_true(found);
	assert_int_equal(sshtrack_channel_get(f->st, f->c, idx, &now), 0);
	assert_int_equal(sshtrack_channel_get_resume(f->st, f->c, idx, &at),
	    0);
	assert_true(now.eof[C2S]);
	assert_false(at.eof[C2S]);
	assert_int_equal(now.window[C2S], 2097152 - 10 - 10 - 77);
	assert_int_equal(at.window[C2S], 2097152 - 10);
	assert_int_equal(at.data[C2S], 10);
	assert_int_equal(now.window[S2C], CLIENT_WIN + 1000 + 5000 - 31050);
	assert_int_equal(at.window[S2C], CLIENT_WIN + 1000 - 31050);
	assert_int_equal(at.adjust[S2C], 1000);
	assert_true(at.confirmed);
	assert_int_equal(at.id_client, CLIENT_CHAN);
	/* The channel a live packet opens did not exist then. */
	assert_int_equal(sshtrack_channel_count(f->st, f->c), 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(sshtrack_channel_get(f->st, f->c, i, &now), 0);
		if (strcmp(now.type, "direct-tcpip") == 0)
			assert_int_equal(sshtrack_channel_get_resume(f->st,
			    f->c, i, &at), 1);
	}
	assert_int_equal(sshtrack_channel_get_resume(f->st, f->c, 2, &at), -1);

	/* The server acknowledges the data and the adjust only. */
	server_acks(f, r[2]);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_true(pos.off == r[2]);
	assert_int_equal(sshtrack_channel_get_resume(f->st, f->c, idx, &at),
	    0);
	assert_int_equal(at.window[C2S], 2097152 - 20);
	assert_int_equal(at.window[S2C], CLIENT_WIN + 1000 + 5000 - 31050);
	/* A byte short of the open's end: still live. */
	server_acks(f, r[4] - 1);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_true(pos.off == r[3]);
	/* All of it: nothing is live, the state is the tracker's. */
	server_acks(f, r[5]);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_true(pos.off == r[5]);
	for (i = 0; i < 2; i++) {
		assert_int_equal(sshtrack_channel_get(f->st, f->c, i, &now), 0);
		assert_int_equal(sshtrack_channel_get_resume(f->st, f->c, i,
		    &at), 0);
		assert_memory_equal(&now, &at, sizeof(now));
	}
	explicit_bzero(&pos, sizeof(pos));
	check_positions(f);
	fx_free(f);
}

/*
 * What the tracker cannot tell at the resume point: a live client packet
 * about a channel it removed since (the client's CLOSE answering the
 * server's, a refusal of a channel the server opened), or of a key
 * exchange.  And a server-opened channel the client confirms in a live
 * packet is not confirmed at the resume point.
 */
static void
test_resume_untellable(void **state)
{
	const struct combo co = { "chacha20-poly1305@openssh.com", "" };
	struct sshtrack_chan at;
	struct fx *f;
	struct msg m;
	char why[200];
	uint64_t r;
	size_t idx;
	int found;

	(void)state;
	/* The client's CLOSE, answering the server's, is live. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	send_u32(f, S2C, 96, CLIENT_CHAN);
	send_u32(f, S2C, 97, CLIENT_CHAN);
	r = c2s_at(f);
	send_u32(f, C2S, 97, SERVER_CHAN);
	assert_int_equal(sshtrack_channel_count(f->st, f->c), 0);
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "the client's message 97 (seqnr 15) was not "
	    "acknowledged and its channel is gone since");
	server_acks(f, r + 1);
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    -1);
	server_acks(f, c2s_at(f));
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    0);
	fx_free(f);

	/* A channel the server opens, confirmed by a live client packet. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	m_init(&m, 90);
	m_str(&m, "forwarded-tcpip");
	m_u32(&m, 3);
	m_u32(&m, 65536);
	m_u32(&m, 16384);
	m_str(&m, "127.0.0.1");
	m_u32(&m, 40000);
	m_str(&m, "198.18.0.10");
	m_u32(&m, 5555);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	m_init(&m, 91);
	m_u32(&m, 3);
	m_u32(&m, 9);
	m_u32(&m, 1 << 20);
	m_u32(&m, 16384);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	send_data(f, C2S, 3, 100, 0);
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    0);
	idx = chan_index(f, 3, &found);
	assert_true(found);
	assert_int_equal(sshtrack_channel_get_resume(f->st, f->c, idx, &at),
	    0);
	assert_false(at.confirmed);
	assert_int_equal(at.id_client, 0);
	assert_int_equal(at.window[S2C], 0);
	assert_int_equal(at.window[C2S], 65536);
	assert_int_equal(at.opened_by, S2C);
	/* The client refuses it instead: the channel is gone. */
	fx_free(f);
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	m_init(&m, 90);
	m_str(&m, "auth-agent@openssh.com");
	m_u32(&m, 3);
	m_u32(&m, 65536);
	m_u32(&m, 16384);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	m_init(&m, 92);
	m_u32(&m, 3);
	m_u32(&m, 1);
	m_str(&m, "no agent");
	m_str(&m, "");
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "message 92"));
	fx_free(f);

	/* A rekey the client starts, not acknowledged. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	w_kexinit(&f->w[C2S], "curve25519-sha256", co.cipher, "hmac-sha2-256",
	    "none");
	feed(f, C2S);
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "the client's KEXINIT (seqnr"));
	server_acks(f, c2s_at(f));
	assert_int_equal(sshtrack_resume_check(f->st, f->c, why, sizeof(why)),
	    0);
	fx_free(f);
}

/* --- recover ssh: the package (takeover_ssh_prepare) --- */

static void
login(struct fx *f, int kex)
{
	struct seal_keyrec *r = &f->rec[kex];

	r->has_login = 1;
	snprintf(r->user, sizeof(r->user), "alice");
	snprintf(r->auth_method, sizeof(r->auth_method), "publickey");
	r->session_id_len = 32;
	fill("session_id", 0, r->session_id, 32);
}

static void
ssh_server(struct conf_server *cs)
{
	memset(cs, 0, sizeof(*cs));
	snprintf(cs->name, sizeof(cs->name), "web1");
	cs->recover = CONF_RECOVER_SSH;
	cs->ssh.rerun_exec = 1;
	cs->ssh.notice = "Recovered: the server web1 died.";
	cs->ssh.replay_timeout = 10;
}

/* Prepared and decoded: 0 and *kp, or -1 with why. */
static int
prepare(struct fx *f, struct rebuild_plan *p, struct rpkg **kp,
    struct takeover_ssh_info *info, char *why, size_t whylen)
{
	struct conf_server cs;
	struct buf pkg;
	char dwhy[200];
	int r;

	ssh_server(&cs);
	buf_init(&pkg, RPKG_MAX);
	buf_set_secret(&pkg);
	*kp = NULL;
	r = takeover_ssh_prepare(f->st, f->c, &cs, f->now, p, &pkg, info, why,
	    whylen);
	if (r == 0 && rpkg_decode(buf_ptr(&pkg), buf_len(&pkg), kp, dwhy,
	    sizeof(dwhy)) != 0)
		fail_msg("the package does not decode: %s", dwhy);
	if (r != 0)
		assert_int_equal(buf_len(&pkg), 0);
	buf_free(&pkg);
	return r;
}

/*
 * The package of a connection in the middle of things: live client
 * packets (data, a window-change) after a prefix the server acknowledged,
 * and a server packet the crash cut in half.  Everything in it is the
 * server's state at the resume point; the plan's queues start and end
 * exactly there.
 */
static void
test_package(void **state)
{
	const struct combo co = { "aes256-ctr", "hmac-sha2-512" };
	struct takeover_ssh_info info;
	struct sshtrack_pos cpos, cnow, spos;
	struct sshtrack_info si;
	struct rebuild_plan p;
	struct rpkg *k;
	struct fx *f = fx_new(NULL);
	uint64_t resume, s_end;
	uint32_t s_seqnr;
	size_t i, nc = 0, cut;
	char why[300];

	(void)state;
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	login(f, 0);
	auth(f);
	session(f);
	ack_all(f, C2S);
	/* Live: the server acknowledges none of these. */
	resume = c2s_at(f);
	send_data(f, C2S, SERVER_CHAN, 10, 0);
	send_winch(f, SERVER_CHAN, 100);
	/*
	 * The server sends a whole packet, then one the crash cuts in half;
	 * its segments acknowledge no live client byte.
	 */
	{
		struct msg m;
		static uint8_t junk[3000];

		m_init(&m, 2);
		m_bytes(&m, junk, 10);
		m_send(&m, &f->w[S2C]);
		s_end = buf_len(&f->w[S2C].out);
		s_seqnr = f->w[S2C].seqnr;
		m_init(&m, 94);
		m_u32(&m, CLIENT_CHAN);
		m_bytes(&m, junk, sizeof(junk));
		m_send(&m, &f->w[S2C]);
		cut = (size_t)(s_end - f->fed[S2C]) + 1000;
		seg(f, S2C, f->fed[S2C], buf_ptr(&f->w[S2C].out) + f->fed[S2C],
		    cut, resume);
		f->fed[S2C] += cut;
	}
	status(f, &si);
	assert_true(si.protectable);
	assert_true(si.dir[S2C].packet_end == s_end);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &cpos), 0);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 0, &cnow), 0);
	assert_int_equal(sshtrack_position(f->st, f->c, S2C, 0, &spos), 0);
	assert_true(cpos.off == resume);
	assert_true(cpos.blocks < cnow.blocks);

	if (prepare(f, &p, &k, &info, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	/* The socket: live client bytes, the server's up to its last whole
	 * packet (the client acknowledged the rest of what it had). */
	assert_true(p.in_off == resume);
	assert_int_equal(p.rc.recvq_len, c2s_at(f) - resume);
	assert_memory_equal(p.rc.recvq, buf_ptr(&f->w[C2S].out) + resume,
	    p.rc.recvq_len);
	assert_true(p.out_off == s_end);
	assert_int_equal(p.rc.sendq_len, s_end - f->c->dir[S2C].acked);
	assert_true(info.resume_off[C2S] == resume);
	assert_true(info.resume_off[S2C] == s_end);
	rebuild_plan_free(&p);

	/* The import. */
	assert_string_equal(k->client_version, CLIENT_VERSION);
	assert_string_equal(k->server_version, SERVER_VERSION);
	assert_int_equal(k->session_id_len, 32);
	assert_memory_equal(k->session_id, f->rec[0].session_id, 32);
	assert_string_equal(k->kex_alg, "curve25519-sha256");
	assert_string_equal(k->hostkey_alg, "ssh-ed25519");
	assert_int_equal(k->strict_kex, 1);
	assert_string_equal(k->user, "alice");
	assert_string_equal(k->auth_method, "publickey");
	assert_int_equal(k->flags, RPKG_RERUN_EXEC);
	assert_string_equal(k->notice, "Recovered: the server web1 died.");
	/* Keys at the positions: c2s at the resume point, not now. */
	assert_string_equal(k->dir[RPKG_C2S].cipher, "aes256-ctr");
	assert_string_equal(k->dir[RPKG_C2S].mac, "hmac-sha2-512");
	assert_int_equal(k->dir[RPKG_C2S].key_len, 32);
	assert_memory_equal(k->dir[RPKG_C2S].key, f->rec[0].c2s.enc_key, 32);
	assert_int_equal(k->dir[RPKG_C2S].mac_key_len, 64);
	assert_memory_equal(k->dir[RPKG_C2S].mac_key, f->rec[0].c2s.mac_key,
	    64);
	assert_int_equal(k->dir[RPKG_C2S].iv_len, 16);
	assert_memory_equal(k->dir[RPKG_C2S].iv, cpos.iv, 16);
	assert_memory_not_equal(k->dir[RPKG_C2S].iv, cnow.iv, 16);
	assert_int_equal(k->dir[RPKG_C2S].seqnr, f->w[C2S].seqnr - 2);
	assert_true(k->dir[RPKG_C2S].blocks == cpos.blocks);
	assert_true(k->dir[RPKG_C2S].packets == cpos.packets);
	assert_memory_equal(k->dir[RPKG_S2C].key, f->rec[0].s2c.enc_key, 32);
	assert_memory_equal(k->dir[RPKG_S2C].iv, spos.iv, 16);
	assert_int_equal(k->dir[RPKG_S2C].seqnr, s_seqnr);
	assert_true(k->dir[RPKG_S2C].packets == spos.packets);
	/* The channel at the resume point. */
	assert_int_equal(k->nchans, 1);
	assert_int_equal(info.channels, 1);
	assert_int_equal(k->chans[0].id_client, CLIENT_CHAN);
	assert_int_equal(k->chans[0].id_server, SERVER_CHAN);
	assert_string_equal(k->chans[0].type, "session");
	assert_int_equal(k->chans[0].window_c2s, 2097152 - 10);
	assert_int_equal(k->chans[0].window_s2c, CLIENT_WIN + 1000 - 31050);
	assert_int_equal(k->chans[0].maxpacket_c2s, 32768);
	assert_int_equal(k->chans[0].maxpacket_s2c, 32768);
	assert_int_equal(k->chans[0].flags, 0);
	/* The log: no live client message; the password a marker only. */
	assert_int_equal(k->nlog, info.messages);
	for (i = 0; i < k->nlog; i++) {
		if (k->log[i].dir == RPKG_C2S)
			nc++;
		if (k->log[i].flags != 0) {
			assert_int_equal(k->log[i].flags, SSHTRACK_LOG_PASSWORD);
			assert_int_equal(k->log[i].len, 0);
		} else
			assert_null(memmem(k->log[i].p, k->log[i].len,
			    "\0\0\0\x64", 4));	/* the live 100 columns */
	}
	assert_int_equal(nc, info.replayed);
	assert_int_equal(nc, 9);
	assert_int_equal(k->log[0].dir, RPKG_C2S);
	assert_int_equal(k->log[0].p[0], 5);	/* SERVICE_REQUEST */
	rpkg_free(k);
	explicit_bzero(&cpos, sizeof(cpos));
	explicit_bzero(&cnow, sizeof(cnow));
	explicit_bzero(&spos, sizeof(spos));

	/* The client acknowledges into the cut packet: not recoverable. */
	seg(f, C2S, c2s_at(f), NULL, 0, s_end + 100);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "the client acknowledged 100 bytes of a "
	    "server packet cut off by the crash"));
	fx_free(f);
}

/* What makes a connection one to reset rather than recover. */
static void
test_package_refused(void **state)
{
	const struct combo co = { "chacha20-poly1305@openssh.com", "" };
	struct takeover_ssh_info info;
	struct rebuild_plan p;
	struct rpkg *k;
	struct fx *f;
	char why[300];

	(void)state;
	/* No attested login. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_string_equal(why, "no attested login (not logged in, or its "
	    "record did not arrive)");
	{
		/* What reports ask: the same verdict, nothing built. */
		struct conf_server cs;

		ssh_server(&cs);
		why[0] = '\0';
		assert_int_equal(takeover_ssh_prepare(f->st, f->c, &cs, f->now,
		    NULL, NULL, &info, why, sizeof(why)), -1);
		assert_string_equal(why, "no attested login (not logged in, "
		    "or its record did not arrive)");
		login(f, 0);
		assert_int_equal(takeover_ssh_prepare(f->st, f->c, &cs, f->now,
		    NULL, NULL, &info, why, sizeof(why)), 0);
		assert_int_equal(info.channels, 1);
	}
	/* Logged in: fine, and chacha20-poly1305 has no IV. */
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), 0);
	assert_int_equal(k->dir[RPKG_C2S].iv_len, 0);
	assert_string_equal(k->dir[RPKG_S2C].mac, "");
	assert_int_equal(k->dir[RPKG_S2C].mac_key_len, 0);
	rpkg_free(k);
	rebuild_plan_free(&p);
	/* The key store lost the record. */
	f->avail[0] = 0;
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_string_equal(why, "keys of KEX 0 not held");
	f->avail[0] = 1;
	/* The server closed the channel, the client had not yet. */
	send_u32(f, S2C, 96, CLIENT_CHAN);
	send_u32(f, S2C, 97, CLIENT_CHAN);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_string_equal(why, "channel 7 (session) was being closed");
	/* The client's answer, not acknowledged: the tracker cannot tell. */
	send_u32(f, C2S, 97, SERVER_CHAN);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "its channel is gone since"));
	/* Acknowledged: nothing open, fine. */
	ack_all(f, C2S);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), 0);
	assert_int_equal(k->nchans, 0);
	rpkg_free(k);
	rebuild_plan_free(&p);
	/* A rekey under way. */
	w_kexinit(&f->w[S2C], "curve25519-sha256", co.cipher, "", "none");
	feed(f, S2C);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_string_equal(why, "a key exchange was under way");
	fx_free(f);

	/* Compression: never. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "zlib@openssh.com,none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	login(f, 0);
	auth(f);
	assert_int_equal(prepare(f, &p, &k, &info, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "compression"));
	fx_free(f);
}

/*
 * The capture lost client bytes the server acknowledged: the direction
 * resynchronises at the next packet it can prove, and says how many it
 * did not see.
 */
static void
test_gap(void **state)
{
	const struct combo co = { "aes128-gcm@openssh.com", "" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);
	uint8_t big[3000];
	uint64_t from;
	struct msg m;
	int i;

	(void)state;
	memset(big, 'g', sizeof(big));
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	from = f->fed[C2S];
	for (i = 0; i < 2; i++) {
		m_init(&m, 2);
		m_bytes(&m, big, i == 0 ? sizeof(big) : 30);
		m_send(&m, &f->w[C2S]);
	}
	/* The first 1000 bytes were never captured. */
	seg(f, C2S, from + 1000, buf_ptr(&f->w[C2S].out) + from + 1000,
	    buf_len(&f->w[C2S].out) - from - 1000, f->fed[S2C]);
	f->fed[C2S] = buf_len(&f->w[C2S].out);
	ack_all(f, C2S);
	send_data(f, C2S, SERVER_CHAN, 10, 0);
	ack_all(f, C2S);
	status(f, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_DECRYPT);
	assert_int_equal(info.dir[C2S].resyncs, 1);
	assert_int_equal(info.dir[C2S].missed_packets, 1);
	assert_false(info.dir[C2S].missed_unknown);
	assert_true(info.windows_unknown);
	check_positions(f);
	fx_free(f);
}

/*
 * Recovery restarts the client's stream at the first packet the server had
 * not fully acknowledged (DESIGN 6): the TCP tracker must hold exactly from
 * there, and the position there must be known.
 */
static void
test_c2s_hold(void **state)
{
	const struct combo co = { "aes256-ctr", "hmac-sha2-512" };
	struct sshtrack_info info;
	struct sshtrack_pos pos, cur;
	struct fx *f = fx_new(NULL);
	struct sshtest_w *w = &f->w[C2S];
	uint64_t roff;
	const uint8_t *rp;
	size_t rlen, k;

	(void)state;
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	f->avail[0] = 1;
	auth(f);
	session(f);
	ack_all(f, C2S);
	/* Five client packets; the server acks into the middle of the 3rd. */
	k = w->npackets;
	send_data(f, C2S, SERVER_CHAN, 100, 0);
	send_data(f, C2S, SERVER_CHAN, 200, 0);
	send_data(f, C2S, SERVER_CHAN, 300, 0);
	send_data(f, C2S, SERVER_CHAN, 400, 0);
	send_data(f, C2S, SERVER_CHAN, 500, 0);
	seg(f, S2C, f->fed[S2C], NULL, 0, w->starts[k + 2] + 50);
	assert_int_equal(tcptrack_retained(f->c, C2S, &roff, &rp, &rlen), 0);
	assert_int_equal(roff, w->starts[k + 2]);
	assert_int_equal(rlen, buf_len(&w->out) - w->starts[k + 2]);
	assert_memory_equal(rp, buf_ptr(&w->out) + roff, rlen);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_int_equal(pos.off, w->starts[k + 2]);
	assert_int_equal(pos.seqnr, w->seqnrs[k + 2]);
	assert_true(pos.keyed);
	assert_int_equal(pos.iv_len, 16);
	/* Exactly at a boundary: that packet is the first unacked one. */
	seg(f, S2C, f->fed[S2C], NULL, 0, w->starts[k + 4]);
	assert_int_equal(tcptrack_retained(f->c, C2S, &roff, &rp, &rlen), 0);
	assert_int_equal(roff, w->starts[k + 4]);
	status(f, &info);
	assert_int_equal(info.c2s_resume_off, w->starts[k + 4]);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_int_equal(pos.seqnr, w->seqnrs[k + 4]);
	/* The CTR counter there is the current one minus that packet. */
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 0, &cur), 0);
	assert_int_equal(cur.seqnr, pos.seqnr + 1);
	assert_true(cur.blocks > pos.blocks);
	assert_memory_not_equal(cur.iv, pos.iv, 16);
	explicit_bzero(&pos, sizeof(pos));
	explicit_bzero(&cur, sizeof(cur));
	fx_free(f);
}

/* The first keys are wrong about where they start: never guess. */
static void
test_seqnr_mismatch(void **state)
{
	const struct combo co = { "aes128-gcm@openssh.com", "" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);

	(void)state;
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	f->rec[0].c2s.start_seqnr = 7;
	f->avail[0] = 1;
	auth(f);
	status(f, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "sequence number mismatch"));
	assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_STOPPED);
	assert_int_equal(info.dir[S2C].phase, SSHTRACK_PHASE_DECRYPT);
	fx_free(f);
}

/* Identification: garbage from a client, NUL, an overlong line. */
static void
test_identification(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} bad[] = {
		{ "GET / HTTP/1.1\r\n", 16 },
		{ "SSH-2.0-ok\0bad\r\n", 17 },
		{ "SSH-1.5-old\r\n", 13 },
		{ "SSH-2.0-cr\rinside\r\n", 20 },
	};
	struct sshtrack_info info;
	struct fx *f;
	char longline[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fx_new(NULL);
		handshake(f);
		w_raw(&f->w[C2S], bad[i].s, bad[i].len);
		feed(f, C2S);
		status(f, &info);
		assert_false(info.protectable);
		assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_STOPPED);
		fx_free(f);
	}
	f = fx_new(NULL);
	handshake(f);
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "SSH-2.0-", 8);
	memcpy(longline + sizeof(longline) - 2, "\r\n", 2);
	w_raw(&f->w[S2C], longline, sizeof(longline));
	feed(f, S2C);
	status(f, &info);
	assert_false(info.protectable);
	fx_free(f);
	/* Bare LF is accepted, as OpenSSH does. */
	f = fx_new(NULL);
	handshake(f);
	w_raw(&f->w[C2S], "SSH-2.0-lf\n", 11);
	feed(f, C2S);
	status(f, &info);
	assert_true(info.protectable);
	assert_string_equal(info.dir[C2S].version, "SSH-2.0-lf");
	assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_CLEAR);
	fx_free(f);
}

/* tcptrack ending the connection frees our state. */
static void
test_conn_end(void **state)
{
	const struct combo co = { "chacha20-poly1305@openssh.com", "" };
	struct fx *f = fx_new(NULL);
	struct pkt_tcp p;

	(void)state;
	handshake(f);
	kex_start(f, &co, 1, "none");
	memset(&p, 0, sizeof(p));
	p.src = f->cli, p.sport = 40000, p.dst = f->srv, p.dport = 22;
	p.seq = (uint32_t)(f->cisn + 1 + f->fed[C2S]);
	p.flags = PKT_RST;
	assert_int_equal(tcptrack_feed(f->t, &p, f->now), 0);
	assert_int_equal(f->ended, 1);
	fx_free(f);
}

/* A connection whose handshake was not seen cannot be framed. */
static void
test_midstream(void **state)
{
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);

	(void)state;
	seg(f, C2S, 0, "garbage", 7, 0);
	assert_non_null(f->c);
	status(f, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "mid-stream"));
	assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_STOPPED);
	assert_int_equal(info.dir[S2C].phase, SSHTRACK_PHASE_STOPPED);
	fx_free(f);
}

/* Hours of churn in a few thousand packets: memory does not grow. */
static void
test_long_session(void **state)
{
	const struct combo co = { "chacha20-poly1305@openssh.com", "" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);
	size_t log0 = 0, mem0 = 0, i;
	struct msg m;

	(void)state;
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	for (i = 0; i < 300; i++) {
		/* Terminal resizes, keepalives both ways, data, adjusts. */
		send_winch(f, SERVER_CHAN, 80 + (uint32_t)(i % 50));
		send_global(f, C2S, "keepalive@openssh.com", 1);
		m_init(&m, 82);
		m_send(&m, &f->w[S2C]);
		feed(f, S2C);
		send_chanreq(f, S2C, CLIENT_CHAN, "keepalive@openssh.com", 1,
		    NULL);
		send_u32(f, C2S, 100, SERVER_CHAN);
		send_data(f, S2C, CLIENT_CHAN, 1000, 0);
		send_data(f, C2S, SERVER_CHAN, 3, 0);
		/* A forwarded connection comes and goes. */
		m_init(&m, 90);
		m_str(&m, "direct-tcpip");
		m_u32(&m, 5);
		m_u32(&m, 65536);
		m_u32(&m, 16384);
		m_str(&m, "10.0.0.1");
		m_u32(&m, 80);
		m_str(&m, "127.0.0.1");
		m_u32(&m, 1234);
		m_send(&m, &f->w[C2S]);
		feed(f, C2S);
		m_init(&m, 91);
		m_u32(&m, 5);
		m_u32(&m, 200 + (uint32_t)i);
		m_u32(&m, 65536);
		m_u32(&m, 16384);
		m_send(&m, &f->w[S2C]);
		feed(f, S2C);
		send_data(f, C2S, 200 + (uint32_t)i, 100, 0);
		send_u32(f, C2S, 96, 200 + (uint32_t)i);
		send_u32(f, C2S, 97, 200 + (uint32_t)i);
		send_u32(f, S2C, 97, 5);
		ack_all(f, C2S);
		ack_all(f, S2C);
		status(f, &info);
		if (i == 0) {
			log0 = info.log_entries;
			mem0 = info.memory;
		}
		assert_int_equal(info.log_entries, log0);
		assert_int_equal(info.channels, 1);
		assert_true(info.memory <= mem0 + 1024);
	}
	assert_true(info.protectable);
	check_positions(f);
	assert_true(tcptrack_conn_memory(f->c) < 4096);
	fx_free(f);
}

/*
 * GCM keys late, the server acks into the middle of a client packet while
 * they are missing: the lengths in clear say where it starts.  When the
 * keys come, the decryption confirms the boundaries and fills in the IV.
 */
static void
test_wait_partial_ack(void **state)
{
	const struct combo co = { "aes128-gcm@openssh.com", "" };
	struct sshtrack_info info;
	struct sshtrack_pos pos;
	struct fx *f = fx_new(NULL);
	struct sshtest_w *w = &f->w[C2S];
	uint64_t roff;
	const uint8_t *rp;
	size_t rlen, k;

	(void)state;
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	k = w->npackets;			/* the first under the keys */
	send_str(f, C2S, 5, "ssh-userauth");
	send_str(f, S2C, 6, "ssh-userauth");
	send_ignore(f, C2S, 500);
	send_ignore(f, C2S, 700);
	seg(f, S2C, f->fed[S2C], NULL, 0, w->starts[k + 1] + 100);
	assert_int_equal(tcptrack_retained(f->c, C2S, &roff, &rp, &rlen), 0);
	assert_int_equal(roff, w->starts[k + 1]);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_int_equal(pos.seqnr, w->seqnrs[k + 1]);
	assert_int_equal(pos.packets, 1);
	assert_int_equal(pos.iv_len, 0);	/* not known without keys */
	f->avail[0] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	status(f, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	check_positions(f);
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_int_equal(pos.off, w->starts[k + 1]);
	assert_int_equal(pos.seqnr, w->seqnrs[k + 1]);
	assert_int_equal(pos.iv_len, 12);
	explicit_bzero(&pos, sizeof(pos));
	fx_free(f);
}

/* A capture gap before any NEWKEYS: the framing is lost as well. */
static void
test_gap_clear(void **state)
{
	const struct combo co = { "aes128-gcm@openssh.com", "" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);

	(void)state;
	handshake(f);
	w_raw(&f->w[S2C], SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2);
	w_kexinit(&f->w[S2C], "curve25519-sha256", co.cipher, "hmac-sha2-256",
	    "none");
	seg(f, S2C, 100, buf_ptr(&f->w[S2C].out) + 100,
	    buf_len(&f->w[S2C].out) - 100, 0);
	f->fed[S2C] = buf_len(&f->w[S2C].out);
	ack_all(f, S2C);
	status(f, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "capture gap at offset 0 (s2c"));
	fx_free(f);
}

/* A key record naming other algorithms than the KEXINITs negotiated. */
static void
test_record_algorithms(void **state)
{
	const struct combo co = { "aes256-ctr", "hmac-sha2-512" };
	struct sshtrack_info info;
	struct fx *f = fx_new(NULL);

	(void)state;
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	snprintf(f->rec[0].s2c.mac, sizeof(f->rec[0].s2c.mac),
	    "hmac-sha2-256");
	f->avail[0] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	status(f, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "algorithms of KEX 0 differ"));
	assert_int_equal(info.dir[S2C].phase, SSHTRACK_PHASE_STOPPED);
	assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_DECRYPT);
	fx_free(f);
}

/*
 * Keys late, and meanwhile the server probes the client (ClientAlive) and
 * the client asks for a pty: once the keys come, every client packet is
 * decrypted before the server's, and the pairing must still hold.
 */
static void
test_catchup_replies(void **state)
{
	const struct combo co = { "chacha20-poly1305@openssh.com", "" };
	struct sshtrack_info info;
	struct sshtrack_chan ch;
	struct fx *f = fx_new(NULL);
	uint8_t types[16];
	struct msg m;
	int i;

	(void)state;
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	auth(f);
	m_init(&m, 90);
	m_str(&m, "session");
	m_u32(&m, CLIENT_CHAN);
	m_u32(&m, CLIENT_WIN);
	m_u32(&m, 32768);
	m_send(&m, &f->w[C2S]);
	feed(f, C2S);
	m_init(&m, 91);
	m_u32(&m, CLIENT_CHAN);
	m_u32(&m, SERVER_CHAN);
	m_u32(&m, 0);
	m_u32(&m, 32768);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	for (i = 0; i < 100; i++) {
		send_chanreq(f, S2C, CLIENT_CHAN, "keepalive@openssh.com", 1,
		    NULL);
		send_global(f, S2C, "keepalive@openssh.com", 1);
		send_u32(f, C2S, 100, SERVER_CHAN);
		m_init(&m, 82);
		m_send(&m, &f->w[C2S]);
		feed(f, C2S);
	}
	send_chanreq(f, C2S, SERVER_CHAN, "pty-req", 1, "vt100");
	send_u32(f, S2C, 99, CLIENT_CHAN);
	m_init(&m, 93);
	m_u32(&m, CLIENT_CHAN);
	m_u32(&m, 5000);
	m_send(&m, &f->w[S2C]);
	feed(f, S2C);
	send_data(f, C2S, SERVER_CHAN, 123, 0);
	status(f, &info);
	assert_true(info.waiting_keys);
	f->avail[0] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	status(f, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	check_positions(f);
	assert_int_equal(log_types(f, C2S, types, sizeof(types)), 6);
	assert_int_equal(types[5], 98);
	assert_int_equal(log_types(f, S2C, types, sizeof(types)), 6);
	assert_int_equal(types[5], 99);		/* the pty-req's answer */
	assert_int_equal(sshtrack_channel_get(f->st, f->c, 0, &ch), 0);
	assert_int_equal(ch.data[C2S], 123);
	assert_int_equal(ch.window[C2S], 5000 - 123);
	fx_free(f);
}

/*
 * One byte flipped anywhere in either stream of a whole session: never a
 * crash, and from the first encrypted packet on, never accepted.
 */
static void
test_mutations(void **state)
{
	static const int pick[] = { 0, 1, 4, 5, 6, 7 };
	struct sshtrack_info info;
	uint64_t len[2], enc[2], seed = 12345;
	struct fx *f;
	int i, k, d, stalled = 0;

	(void)state;
	for (k = 0; k < 6; k++) {
		const struct combo *co = &combos[pick[k]];

		/* Once clean, for the lengths and where encryption starts. */
		f = fx_new(NULL);
		handshake(f);
		kex_start(f, co, k % 2, "none");
		kex_finish(f, 0, co, k % 2);
		for (d = 0; d < 2; d++)
			enc[d] = buf_len(&f->w[d].out);
		f->avail[0] = 1;
		auth(f);
		session(f);
		for (d = 0; d < 2; d++)
			len[d] = buf_len(&f->w[d].out);
		fx_free(f);
		for (i = 0; i < 40; i++) {
			seed = seed * 6364136223846793005ULL +
			    1442695040888963407ULL;
			mutation.on = 1;
			mutation.dir = (int)(seed >> 63);
			mutation.at = (seed >> 20) % len[mutation.dir];
			mutation.x = (uint8_t)(1 + (seed >> 8) % 255);
			f = fx_new(NULL);
			handshake(f);
			kex_start(f, co, k % 2, "none");
			kex_finish(f, 0, co, k % 2);
			f->avail[0] = 1;
			auth(f);
			session(f);
			status(f, &info);
			/* Never processed past a corrupt byte. */
			if (mutation.at >= enc[mutation.dir] &&
			    info.protectable &&
			    info.dir[mutation.dir].packet_end > mutation.at)
				fail_msg("%s: flip at %s %" PRIu64 " accepted",
				    co->cipher, mutation.dir ? "s2c" : "c2s",
				    mutation.at);
			/* A corrupt length leaves it waiting for an end that
			 * never comes: the server's answers give it away. */
			if (mutation.at >= enc[mutation.dir] && info.protectable)
				stalled++;
			if (!info.protectable)
				assert_true(strlen(info.reason) > 0);
			fx_free(f);
		}
	}
	mutation.on = 0;
	if (stalled > 0)
		print_message("%d flips stalled a direction, undetected yet\n",
		    stalled);
}

/* --- the recorded session --- */

struct replay {
	struct tcptrack	*t;
	struct sshtrack	*st;
	struct tcptrack_conn *c;
	int		 asked;
};

static const struct seal_keyrec *
no_keys(void *arg, const struct tcptrack_conn *c, uint32_t kex)
{
	struct replay *r = arg;

	(void)c;
	(void)kex;
	r->asked++;
	return NULL;
}

static void
r_new(void *arg, struct tcptrack_conn *c)
{
	struct replay *r = arg;

	r->c = c;
	sshtrack_conn_new(r->st, c);
}

static void
r_data(void *arg, struct tcptrack_conn *c, int dir, uint64_t off,
    const uint8_t *p, size_t len)
{
	sshtrack_data(((struct replay *)arg)->st, c, dir, off, p, len);
}

static void
r_acked(void *arg, struct tcptrack_conn *c, int dir, uint64_t acked)
{
	sshtrack_acked(((struct replay *)arg)->st, c, dir, acked);
}

static void
r_gap(void *arg, struct tcptrack_conn *c, int dir, uint64_t off, uint64_t len)
{
	sshtrack_gap(((struct replay *)arg)->st, c, dir, off, len);
}

static void
r_end(void *arg, struct tcptrack_conn *c, const char *why)
{
	(void)why;
	sshtrack_conn_end(((struct replay *)arg)->st, c);
}

static const struct tcptrack_ops r_ops = {
	.conn_new = r_new, .data = r_data, .acked = r_acked, .gap = r_gap,
	.conn_end = r_end,
};

static void
frame_cb(void *arg, int linktype, const uint8_t *frame, size_t caplen,
    size_t wirelen, double ts)
{
	struct replay *r = arg;
	struct pkt_tcp seg;

	if (pkt_decode(linktype, frame, caplen, wirelen, &seg) == PKT_OK)
		tcptrack_feed(r->t, &seg, ts);
}

static void
test_pcap_bulk(void **state)
{
	struct replay r = { 0 };
	struct sshtrack_info info;
	struct sshtrack_pos pos;
	struct capture *cap;
	uint64_t roff;
	const uint8_t *rp;
	size_t rlen;
	uint8_t a[4];
	struct pkt_addr srv;
	char err[256];
	int d;

	(void)state;
	assert_non_null(r.t = tcptrack_new(NULL, &r_ops, &r));
	assert_non_null(r.st = sshtrack_new(NULL, no_keys, &r));
	inet_pton(AF_INET, "198.18.0.2", a);
	pkt_addr_set(&srv, AF_INET, a);
	assert_int_equal(tcptrack_watch(r.t, &srv, 22), 0);
	cap = capture_open_file("tests/pcaps/ssh-bulk.pcap", "tcp port 22",
	    err, sizeof(err));
	if (cap == NULL)
		fail_msg("%s", err);
	assert_true(capture_read_all(cap, frame_cb, &r) > 20);
	capture_close(cap);
	assert_non_null(r.c);
	assert_int_equal(sshtrack_status(r.st, r.c, &info), 0);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	assert_string_equal(info.dir[C2S].version,
	    "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6");
	assert_string_equal(info.dir[S2C].version,
	    "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10 SecureJeebs-0.1.0");
	assert_true(info.negotiated);
	/* Debian 12's client lists the new name first. */
	assert_string_equal(info.algs.kex, "sntrup761x25519-sha512");
	assert_string_equal(info.algs.hostkey, "ssh-ed25519");
	for (d = 0; d < 2; d++) {
		assert_string_equal(info.algs.cipher[d],
		    "chacha20-poly1305@openssh.com");
		assert_string_equal(info.algs.mac[d], "");
		assert_string_equal(info.algs.comp[d], "none");
		/* KEXINIT, KEX message, NEWKEYS: seqnr 3, reset to 0. */
		assert_int_equal(info.dir[d].newkeys, 1);
		assert_int_equal(info.dir[d].total_packets, 3);
		assert_int_equal(info.dir[d].seqnr, 0);
		assert_int_equal(info.dir[d].phase, SSHTRACK_PHASE_WAIT_KEYS);
		assert_true(info.dir[d].buffered > 0);
		assert_int_equal(info.dir[d].packet_end + info.dir[d].buffered,
		    r.c->dir[d].delivered);
	}
	assert_true(info.strict_kex);
	assert_false(info.compression);
	assert_true(info.waiting_keys);
	assert_true(r.asked > 0);
	/* chacha20 hides lengths: the client's bytes are held from the first
	 * packet under the missing keys. */
	assert_int_equal(info.c2s_resume_off, info.dir[C2S].packet_end);
	assert_int_equal(tcptrack_retained(r.c, C2S, &roff, &rp, &rlen), 0);
	assert_int_equal(roff, info.dir[C2S].packet_end);
	assert_int_equal(sshtrack_position(r.st, r.c, C2S, 1, &pos), 0);
	assert_int_equal(pos.seqnr, 0);
	assert_true(pos.keyed);
	assert_int_equal(pos.kex_number, 0);
	tcptrack_free(r.t);
	sshtrack_free(r.st);
}

/* --- restarts: sync points and resynchronising --- */

static const char *
dir_name(int dir)
{
	return dir == C2S ? "c2s" : "s2c";
}

/* What a daemon saved of f's connection before it died. */
struct saved {
	struct tcptrack_handshake hs;
	struct sshtrack_sync	 sp;
	struct buf		 state, log;
	size_t			 nlog;
};

static void
save(struct fx *f, struct saved *sv)
{
	memset(sv, 0, sizeof(*sv));
	assert_int_equal(tcptrack_handshake(f->c, &sv->hs), 0);
	buf_init(&sv->state, 1 << 20);
	buf_init(&sv->log, 1 << 20);
	buf_set_secret(&sv->log);
	assert_int_equal(sshtrack_sync_get(f->st, f->c, &sv->sp, &sv->state,
	    &sv->log), 0);
	sv->nlog = sshtrack_log_count(f->st, f->c);
}

static void
saved_free(struct saved *sv)
{
	buf_free(&sv->state);
	buf_free(&sv->log);
	explicit_bzero(&sv->sp, sizeof(sv->sp));
}

/* The restarted daemon: a new tracker g resumes what sv holds. */
static struct fx *
resume_from(struct fx *f, struct saved *sv, const struct sshtrack_limits *lim,
    int with_log)
{
	struct sshtrack_info info;
	struct fx *g = fx_new(lim);
	char why[160];

	g->cisn = f->cisn;
	g->sisn = f->sisn;
	g->now = f->now + 5;
	memcpy(g->rec, f->rec, sizeof(g->rec));
	memcpy(g->avail, f->avail, sizeof(g->avail));
	assert_non_null(tcptrack_resume(g->t, &sv->hs, g->now));
	assert_non_null(g->c);
	status(g, &info);
	assert_false(info.protectable);
	assert_string_equal(info.reason, "no SSH state saved before the "
	    "restart");
	if (sshtrack_sync_restore(g->st, g->c, &sv->sp, buf_ptr(&sv->state),
	    buf_len(&sv->state), with_log ? buf_ptr(&sv->log) : NULL,
	    buf_len(&sv->log), why, sizeof(why)) != 0)
		fail_msg("restore: %s", why);
	status(g, &info);
	assert_true(info.restored);
	assert_false(info.protectable);
	return g;
}

/*
 * g sees the bytes f's writer of dir wrote in [from, to), in segments that
 * start where packets start (split at mss), but the first, which starts at
 * from wherever that is; each acks the other direction up to ack.
 */
static void
feed_into(struct fx *g, struct fx *f, int dir, uint64_t from, uint64_t to,
    size_t mss, uint64_t ack)
{
	const struct sshtest_w *w = &f->w[dir];
	const uint8_t *p = buf_ptr(&w->out);
	uint64_t off = from, next;
	size_t k;

	assert_true(w->npackets < 512);
	while (off < to) {
		next = to;
		for (k = 0; k < w->npackets; k++)
			if (w->starts[k] > off) {
				if (w->starts[k] < next)
					next = w->starts[k];
				break;
			}
		if (next - off > mss)
			next = off + mss;
		seg(g, dir, off, p + off, (size_t)(next - off), ack);
		off = next;
	}
}

/* g's cipher positions are f's, who saw every packet. */
static void
same_positions(struct fx *f, struct fx *g)
{
	struct sshtrack_pos a, b;
	int d;

	for (d = 0; d < 2; d++) {
		assert_int_equal(sshtrack_position(f->st, f->c, d, 0, &a), 0);
		assert_int_equal(sshtrack_position(g->st, g->c, d, 0, &b), 0);
		assert_true(a.off == b.off);
		assert_int_equal(a.seqnr, b.seqnr);
		assert_int_equal(a.kex_number, b.kex_number);
		assert_true(a.packets == b.packets);
		assert_int_equal(a.iv_len, b.iv_len);
		assert_memory_equal(a.iv, b.iv, a.iv_len);
		if (a.kex_number == 0 || strstr(f->rec[a.kex_number].c2s.cipher,
		    "ctr") != NULL)
			assert_true(a.blocks == b.blocks);
		explicit_bzero(&a, sizeof(a));
		explicit_bzero(&b, sizeof(b));
	}
}

/*
 * The daemon dies after saving a sync point; 5 client and 7 server packets
 * go by unseen; the restarted one gets the bytes after them (from a
 * packet's start, or `skew` bytes before it, in its middle) and must prove
 * where packets start: seqnr, cipher position and stream offsets exact.
 */
static void
restart_case(const struct combo *co, int strict, size_t skew)
{
	struct sshtrack_info info, finfo;
	struct sshtrack_chan ch;
	struct sshtrack_msg a, b;
	struct saved sv;
	struct fx *f = fx_new(NULL), *g;
	uint64_t from[2], end[2];
	size_t i;
	int d, cbc;

	handshake(f);
	kex_start(f, co, strict, "none");
	kex_finish(f, 0, co, strict);
	f->avail[0] = 1;
	auth(f);
	session(f);
	ack_all(f, C2S);
	ack_all(f, S2C);
	save(f, &sv);
	for (d = 0; d < 2; d++) {
		assert_true(sv.sp.dir[d].valid);
		assert_true(sv.sp.dir[d].off == f->fed[d]);
		assert_int_equal(sv.sp.dir[d].seqnr, f->w[d].seqnr);
	}
	/* Unseen by the restarted daemon. */
	for (i = 0; i < 5; i++)
		send_data(f, C2S, SERVER_CHAN, 10 + i * 100, 0);
	for (i = 0; i < 7; i++)
		send_data(f, S2C, CLIENT_CHAN, 3000 + i * 777, 0);
	from[C2S] = f->fed[C2S] - skew;
	from[S2C] = f->fed[S2C] - skew;
	/* Seen. */
	send_data(f, C2S, SERVER_CHAN, 1, 0);
	send_winch(f, SERVER_CHAN, 100);
	send_data(f, C2S, SERVER_CHAN, 2, 0);
	send_data(f, S2C, CLIENT_CHAN, 5000, 0);
	send_data(f, S2C, CLIENT_CHAN, 20, 0);
	send_data(f, S2C, CLIENT_CHAN, 21, 0);
	end[C2S] = f->fed[C2S];
	end[S2C] = f->fed[S2C];

	g = resume_from(f, &sv, NULL, 1);
	status(g, &info);
	assert_true(info.resyncing);
	assert_non_null(strstr(info.reason, "resynchronising after the "
	    "restart"));
	feed_into(g, f, C2S, from[C2S], end[C2S], 536, from[S2C]);
	feed_into(g, f, S2C, from[S2C], end[S2C], 1460, end[C2S]);
	seg(g, C2S, end[C2S], NULL, 0, end[S2C]);
	status(g, &info);
	if (!info.protectable)
		fail_msg("%s %s skew %zu: %s", co->cipher, co->mac, skew,
		    info.reason);
	assert_false(info.resyncing);
	status(f, &finfo);
	for (d = 0; d < 2; d++) {
		assert_int_equal(info.dir[d].phase, SSHTRACK_PHASE_DECRYPT);
		assert_int_equal(info.dir[d].seqnr, f->w[d].seqnr);
		assert_true(info.dir[d].packet_end == end[d]);
		assert_int_equal(info.dir[d].resyncs, 1);
		assert_false(info.dir[d].missed_unknown);
		assert_true(info.dir[d].total_packets == f->w[d].npackets);
		assert_true(info.dir[d].bytes == finfo.dir[d].bytes);
		assert_true(g->c->dir[d].delivered == end[d]);
	}
	/*
	 * A packet cut by skew counts as not seen.  CBC needs the ciphertext
	 * block before a packet: the first one received cannot be proved.
	 */
	cbc = strstr(co->cipher, "cbc") != NULL;
	assert_int_equal(info.dir[C2S].missed_packets, 5 + cbc);
	assert_int_equal(info.dir[S2C].missed_packets, 7 + cbc);
	same_positions(f, g);
	/* The log and channels came back; windows are unknown now. */
	assert_true(info.windows_unknown);
	assert_int_equal(sshtrack_log_count(g->st, g->c),
	    sshtrack_log_count(f->st, f->c));
	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &a), 0);
		assert_int_equal(sshtrack_log_get(g->st, g->c, i, &b), 0);
		assert_int_equal(a.dir, b.dir);
		assert_int_equal(a.seqnr, b.seqnr);
		assert_int_equal(a.type, b.type);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.p, b.p, a.len);
	}
	assert_int_equal(sshtrack_channel_count(g->st, g->c), 1);
	assert_int_equal(sshtrack_channel_get(g->st, g->c, 0, &ch), 0);
	assert_int_equal(ch.id_client, CLIENT_CHAN);
	assert_int_equal(ch.id_server, SERVER_CHAN);
	assert_false(ch.window_known);
	/* Going on as usual: a rekey after the restart. */
	saved_free(&sv);
	fx_free(f);
	fx_free(g);
}

static void
test_restart(void **state)
{
	const struct combo *co = *state;

	restart_case(co, 0, 0);
	restart_case(co, 1, 0);
	restart_case(co, 0, 7);
}

/*
 * A rekey in the hole: only the newer KEX's record is left (the key store
 * keeps the newest).  n counts from its start seqnr; CTR's counter is
 * searched; CTR with an EtM MAC cannot be proved.
 */
static void
restart_rekey_case(const struct combo *co, int strict)
{
	struct sshtrack_info info;
	struct saved sv;
	struct fx *f = fx_new(NULL), *g;
	uint64_t from[2], end[2];
	int d, provable = !(strstr(co->cipher, "ctr") != NULL &&
	    strstr(co->mac, "etm") != NULL);

	handshake(f);
	kex_start(f, co, strict, "none");
	kex_finish(f, 0, co, strict);
	f->avail[0] = 1;
	auth(f);
	session(f);
	save(f, &sv);
	/* Unseen: data, a whole rekey, data under the new keys. */
	send_data(f, S2C, CLIENT_CHAN, 700, 0);
	send_data(f, C2S, SERVER_CHAN, 7, 0);
	w_kexinit(&f->w[S2C], "curve25519-sha256", co->cipher, co->mac,
	    "none");
	feed(f, S2C);
	w_kexinit(&f->w[C2S], "curve25519-sha256", co->cipher, co->mac,
	    "none");
	feed(f, C2S);
	f->avail[1] = 1;
	kex_finish(f, 1, co, strict);
	send_data(f, S2C, CLIENT_CHAN, 900, 0);
	send_data(f, C2S, SERVER_CHAN, 9, 0);
	from[C2S] = f->fed[C2S];
	from[S2C] = f->fed[S2C];
	send_data(f, S2C, CLIENT_CHAN, 3000, 0);
	send_data(f, S2C, CLIENT_CHAN, 30, 0);
	send_data(f, C2S, SERVER_CHAN, 3, 0);
	send_data(f, C2S, SERVER_CHAN, 4, 0);
	end[C2S] = f->fed[C2S];
	end[S2C] = f->fed[S2C];
	check_positions(f);

	g = resume_from(f, &sv, NULL, 1);
	g->newest_only = 1;
	feed_into(g, f, C2S, from[C2S], end[C2S], 536, from[S2C]);
	feed_into(g, f, S2C, from[S2C], end[S2C], 1460, end[C2S]);
	seg(g, C2S, end[C2S], NULL, 0, end[S2C]);
	status(g, &info);
	if (!provable) {
		assert_false(info.protectable);
		if (strstr(info.reason, "nothing proves its counter") == NULL)
			fail_msg("%s", info.reason);
		goto out;
	}
	if (!info.protectable)
		fail_msg("%s %s strict %d: %s", co->cipher, co->mac, strict,
		    info.reason);
	for (d = 0; d < 2; d++) {
		assert_int_equal(info.dir[d].kex_number, 1);
		assert_int_equal(info.dir[d].newkeys, 2);
		assert_int_equal(info.dir[d].seqnr, f->w[d].seqnr);
		assert_true(info.dir[d].packet_end == end[d]);
		assert_true(info.dir[d].missed_unknown);
	}
	same_positions(f, g);
 out:
	saved_free(&sv);
	fx_free(f);
	fx_free(g);
}

static void
test_restart_rekey(void **state)
{
	const struct combo *co = *state;

	restart_rekey_case(co, 0);
	restart_rekey_case(co, 1);
}

/* Nothing was sent while the daemon was down: the anchors are the proof. */
static void
test_restart_idle(void **state)
{
	const struct combo co = { "aes256-cbc", "hmac-sha2-256" };
	struct sshtrack_info info;
	struct saved sv;
	struct fx *f = fx_new(NULL), *g;
	uint64_t end[2];
	int d;

	(void)state;
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	f->avail[0] = 1;
	auth(f);
	session(f);
	ack_all(f, C2S);
	ack_all(f, S2C);
	save(f, &sv);
	g = resume_from(f, &sv, NULL, 1);
	/* Each side's first segment since is a pure ack at its next byte. */
	seg(g, C2S, f->fed[C2S], NULL, 0, f->fed[S2C]);
	seg(g, S2C, f->fed[S2C], NULL, 0, f->fed[C2S]);
	status(g, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	for (d = 0; d < 2; d++) {
		assert_int_equal(info.dir[d].missed_packets, 0);
		assert_int_equal(info.dir[d].resyncs, 1);
	}
	/* And it follows what comes next (CBC: the saved last block). */
	send_data(f, C2S, SERVER_CHAN, 10, 0);
	send_data(f, S2C, CLIENT_CHAN, 100, 0);
	end[C2S] = f->fed[C2S];
	end[S2C] = f->fed[S2C];
	feed_into(g, f, C2S, sv.sp.dir[C2S].off, end[C2S], 536,
	    sv.sp.dir[S2C].off);
	feed_into(g, f, S2C, sv.sp.dir[S2C].off, end[S2C], 536, end[C2S]);
	status(g, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	same_positions(f, g);
	saved_free(&sv);
	fx_free(f);
	fx_free(g);
}

/* Wrong keys, or bytes that are no SSH at all: bounded, then a reason. */
static void
test_restart_unprovable(void **state)
{
	const struct combo cc = { "chacha20-poly1305@openssh.com", "" };
	const struct combo cg = { "aes128-gcm@openssh.com", "" };
	const struct combo *combo[2] = { &cc, &cg };
	struct sshtrack_limits lim;
	struct sshtrack_info info;
	struct saved sv;
	struct fx *f, *g;
	uint8_t junk[1000];
	uint64_t off;
	int i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		/* Keys that are not the session's. */
		f = fx_new(NULL);
		handshake(f);
		kex_start(f, combo[k], 1, "none");
		kex_finish(f, 0, combo[k], 1);
		f->avail[0] = 1;
		auth(f);
		session(f);
		save(f, &sv);
		send_data(f, C2S, SERVER_CHAN, 1, 0);	/* unseen */
		off = f->fed[C2S];
		for (i = 0; i < 12; i++)
			send_data(f, C2S, SERVER_CHAN, 10 + (size_t)i, 0);
		sshtrack_limits_default(&lim);
		lim.resync_max_candidates = 8;
		g = resume_from(f, &sv, &lim, 1);
		g->rec[0].c2s.enc_key[3] ^= 0x40;
		feed_into(g, f, C2S, off, f->fed[C2S], 536, f->fed[S2C]);
		status(g, &info);
		assert_false(info.protectable);
		if (strstr(info.reason, "could not prove a packet boundary "
		    "after the restart (c2s): none of 8 candidate boundaries "
		    "verified") == NULL)
			fail_msg("%s: %s", combo[k]->cipher, info.reason);
		assert_int_equal(info.dir[C2S].phase, SSHTRACK_PHASE_STOPPED);
		saved_free(&sv);
		fx_free(g);
		fx_free(f);
	}
	/* The right keys, but only garbage comes: a bounded search. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &cc, 1, "none");
	kex_finish(f, 0, &cc, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	save(f, &sv);
	sshtrack_limits_default(&lim);
	lim.max_buffer = 16 * 1024;
	lim.resync_max_bytes = 64 * 1024;
	g = resume_from(f, &sv, &lim, 1);
	for (i = 0; i < (int)sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	off = f->fed[S2C] + 5000;
	for (i = 0; i < 100; i++, off += sizeof(junk))
		seg(g, S2C, off, junk, sizeof(junk), f->fed[C2S]);
	status(g, &info);
	assert_false(info.protectable);
	if (strstr(info.reason, "could not prove a packet boundary after "
	    "the restart (s2c): no boundary proved in") == NULL)
		fail_msg("%s", info.reason);
	assert_true(info.memory < 4 * lim.max_buffer + 65536);
	saved_free(&sv);
	fx_free(g);
	fx_free(f);
}

/* What stays after a restart: a lasting reason, a log never saved. */
static void
test_restart_state(void **state)
{
	const struct combo co = { "aes128-ctr", "hmac-sha2-256-etm@openssh.com" };
	struct sshtrack_info info;
	struct saved sv;
	struct fx *f, *g;
	uint8_t junk[64];

	(void)state;
	/* Unprotectable before: the same after, whatever the wire says. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 0, "zlib@openssh.com,none");
	kex_finish(f, 0, &co, 0);
	save(f, &sv);
	g = resume_from(f, &sv, NULL, 1);
	status(g, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "before the restart: "
	    "compression negotiated"));
	saved_free(&sv);
	fx_free(g);
	fx_free(f);
	/* No setup log came back (no recovery key): nothing to replay. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	f->avail[0] = 1;
	auth(f);
	save(f, &sv);
	g = resume_from(f, &sv, NULL, 0);
	seg(g, C2S, f->fed[C2S], NULL, 0, f->fed[S2C]);
	seg(g, S2C, f->fed[S2C], NULL, 0, f->fed[C2S]);
	status(g, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "setup log not available"));
	saved_free(&sv);
	fx_free(g);
	fx_free(f);
	/* A state that is not one is refused. */
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	f->avail[0] = 1;
	auth(f);
	save(f, &sv);
	g = fx_new(NULL);
	assert_non_null(tcptrack_resume(g->t, &sv.hs, g->now));
	memset(junk, 0xa5, sizeof(junk));
	{
		char why[160];

		assert_int_equal(sshtrack_sync_restore(g->st, g->c, &sv.sp,
		    junk, sizeof(junk), NULL, 0, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "unreadable"));
	}
	status(g, &info);
	assert_false(info.protectable);
	/* And before the first keys were followed there is nothing to save. */
	fx_free(f);
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 0, "none");
	kex_finish(f, 0, &co, 0);
	{
		struct sshtrack_sync sp;
		struct buf b1, b2;

		buf_init(&b1, 4096);
		buf_init(&b2, 4096);
		assert_int_equal(sshtrack_sync_get(f->st, f->c, &sp, &b1, &b2),
		    -1);
		buf_free(&b1);
		buf_free(&b2);
	}
	saved_free(&sv);
	fx_free(g);
	fx_free(f);
}

/* sv's encodings as the daemon before version 2 saved them. */
static void
saved_as_v1(struct saved *sv, size_t hostkey0_len)
{
	struct buf in, out;
	const uint8_t *p;
	uint32_t v, n, i, seqnr;
	uint8_t dir, type, flags, winch;
	uint64_t off, chan;
	size_t len;

	/* The state: version 1, no host key algorithm at the end. */
	assert_true(buf_len(&sv->state) > 8 + hostkey0_len);
	sv->state.data[3] = 1;
	sv->state.len -= 4 + hostkey0_len;
	/* The log: no offsets. */
	buf_view(&in, buf_ptr(&sv->log), buf_len(&sv->log));
	buf_init(&out, 1 << 20);
	buf_set_secret(&out);
	assert_int_equal(buf_get_u32(&in, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(buf_get_u32(&in, &n), 0);
	assert_int_equal(buf_put_u32(&out, 1), 0);
	assert_int_equal(buf_put_u32(&out, n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(buf_get_u8(&in, &dir), 0);
		assert_int_equal(buf_get_u64(&in, &off), 0);
		assert_true(off > 0);
		assert_int_equal(buf_get_u32(&in, &seqnr), 0);
		assert_int_equal(buf_get_u8(&in, &type), 0);
		assert_int_equal(buf_get_u8(&in, &flags), 0);
		assert_int_equal(buf_get_u64(&in, &chan), 0);
		assert_int_equal(buf_get_u8(&in, &winch), 0);
		assert_int_equal(buf_get_string_direct(&in, &p, &len), 0);
		assert_int_equal(buf_put_u8(&out, dir) | buf_put_u32(&out, seqnr) |
		    buf_put_u8(&out, type) | buf_put_u8(&out, flags) |
		    buf_put_u64(&out, chan) | buf_put_u8(&out, winch) |
		    buf_put_string(&out, p, len), 0);
	}
	assert_int_equal(buf_len(&in), 0);
	buf_free(&sv->log);
	sv->log = out;
}

/*
 * A state file written before the setup log had offsets and the state the
 * first KEX's host key algorithm: still restored (the old entries all come
 * before any resume point), and a newer version than known is refused.
 */
static void
test_restart_old_encodings(void **state)
{
	const struct combo co = { "aes128-ctr", "hmac-sha2-256-etm@openssh.com" };
	struct sshtrack_info info;
	struct sshtrack_msg a, b;
	struct sshtrack_pos pos;
	struct saved sv;
	struct fx *f, *g;
	char why[160];
	size_t i;

	(void)state;
	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	ack_all(f, C2S);
	ack_all(f, S2C);
	save(f, &sv);
	saved_as_v1(&sv, strlen("ssh-ed25519"));
	g = resume_from(f, &sv, NULL, 1);
	send_data(f, C2S, SERVER_CHAN, 1, 0);
	send_data(f, S2C, CLIENT_CHAN, 2, 0);
	feed_into(g, f, C2S, sv.sp.dir[C2S].off, f->fed[C2S], 536,
	    sv.sp.dir[S2C].off);
	feed_into(g, f, S2C, sv.sp.dir[S2C].off, f->fed[S2C], 536,
	    f->fed[C2S]);
	status(g, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	assert_string_equal(info.hostkey0, "");
	assert_int_equal(sshtrack_log_count(g->st, g->c), sv.nlog);
	assert_int_equal(sshtrack_position(g->st, g->c, C2S, 1, &pos), 0);
	for (i = 0; i < sv.nlog; i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &a), 0);
		assert_int_equal(sshtrack_log_get(g->st, g->c, i, &b), 0);
		assert_int_equal(a.type, b.type);
		assert_int_equal(a.len, b.len);
		assert_true(a.off > 0);
		assert_true(b.off == 0);
		assert_true(b.off < pos.off);
	}
	explicit_bzero(&pos, sizeof(pos));
	fx_free(g);
	saved_free(&sv);

	/* Version 2 reads back whole, and a version 3 is refused. */
	save(f, &sv);
	g = resume_from(f, &sv, NULL, 1);
	status(g, &info);
	assert_string_equal(info.hostkey0, "ssh-ed25519");
	for (i = 0; i < sv.nlog; i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &a), 0);
		assert_int_equal(sshtrack_log_get(g->st, g->c, i, &b), 0);
		assert_true(a.off == b.off);
	}
	fx_free(g);
	sv.log.data[3] = 3;
	g = fx_new(NULL);
	assert_non_null(tcptrack_resume(g->t, &sv.hs, g->now));
	assert_int_equal(sshtrack_sync_restore(g->st, g->c, &sv.sp,
	    buf_ptr(&sv.state), buf_len(&sv.state), buf_ptr(&sv.log),
	    buf_len(&sv.log), why, sizeof(why)), -1);
	assert_string_equal(why, "saved setup log unreadable");
	fx_free(g);
	sv.log.data[3] = 2;
	sv.state.data[3] = 3;
	g = fx_new(NULL);
	assert_non_null(tcptrack_resume(g->t, &sv.hs, g->now));
	assert_int_equal(sshtrack_sync_restore(g->st, g->c, &sv.sp,
	    buf_ptr(&sv.state), buf_len(&sv.state), buf_ptr(&sv.log),
	    buf_len(&sv.log), why, sizeof(why)), -1);
	assert_string_equal(why, "saved SSH state unreadable");
	fx_free(g);
	saved_free(&sv);
	fx_free(f);
}

/* One direction waits for a rekey's keys until its buffer is full. */
static void
late_rekey_keys(const struct combo *co, int dir)
{
	struct sshtrack_limits lim;
	struct sshtrack_info info;
	struct sshtrack_pos pos;
	struct fx *f;
	int i;

	sshtrack_limits_default(&lim);
	lim.max_buffer = 48 * 1024;
	f = fx_new(&lim);
	handshake(f);
	kex_start(f, co, 1, "none");
	kex_finish(f, 0, co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	w_kexinit(&f->w[S2C], "curve25519-sha256", co->cipher, co->mac,
	    "none");
	feed(f, S2C);
	w_kexinit(&f->w[C2S], "curve25519-sha256", co->cipher, co->mac,
	    "none");
	feed(f, C2S);
	kex_finish(f, 1, co, 1);		/* no record yet */
	for (i = 0; i < 30; i++)
		send_data(f, dir, dir == C2S ? SERVER_CHAN : CLIENT_CHAN, 4000,
		    0);
	status(f, &info);
	assert_false(info.protectable);
	assert_int_equal(info.dir[dir].phase, SSHTRACK_PHASE_RESYNC);
	assert_non_null(strstr(info.reason, "after keys came too late"));
	f->avail[1] = 1;
	sshtrack_keys_arrived(f->st, f->c);
	send_data(f, S2C, CLIENT_CHAN, 100, 0);
	send_data(f, C2S, SERVER_CHAN, 5, 0);
	send_data(f, C2S, SERVER_CHAN, 6, 0);
	ack_all(f, C2S);
	ack_all(f, S2C);
	status(f, &info);
	if (!info.protectable)
		fail_msg("%s %s: %s", co->cipher, dir_name(dir), info.reason);
	assert_int_equal(info.dir[dir].kex_number, 1);
	assert_int_equal(info.dir[dir].seqnr, f->w[dir].seqnr);
	assert_true(info.dir[dir].missed_packets > 0);
	/* Where recovery would restart the client: proven, with its IV. */
	assert_int_equal(sshtrack_position(f->st, f->c, C2S, 1, &pos), 0);
	assert_true(pos.keyed);
	assert_int_equal(pos.kex_number, 1);
	if (strstr(co->cipher, "chacha") == NULL)
		assert_true(pos.iv_len > 0);
	explicit_bzero(&pos, sizeof(pos));
	fx_free(f);
}

/*
 * A rekey's record comes late (after a restart the sshd's export
 * reconnects with a backoff) and the buffer fills: the bytes waiting are
 * a hole, proved past when the keys come.  The first keys stay fatal
 * (test_buffer_bound): the setup is in what waits.
 */
static void
test_late_rekey_keys(void **state)
{
	const struct combo cc = { "chacha20-poly1305@openssh.com", "" };
	const struct combo cg = { "aes128-gcm@openssh.com", "" };

	(void)state;
	late_rekey_keys(&cc, S2C);
	late_rekey_keys(&cc, C2S);
	/* Lengths in clear: boundaries scanned while waiting are dropped. */
	late_rekey_keys(&cg, C2S);
}

/* Read a whole file (for searching the state file's bytes). */
static size_t
slurp(const char *path, uint8_t **out)
{
	FILE *fp = fopen(path, "rb");
	size_t n = 0, got;
	uint8_t *p = NULL;

	*out = NULL;
	if (fp == NULL)
		return 0;
	for (;;) {
		assert_non_null(p = realloc(p, n + 65536));
		if ((got = fread(p + n, 1, 65536, fp)) == 0)
			break;
		n += got;
	}
	fclose(fp);
	*out = p;
	return n;
}

static int
tracked_yes(void *arg, size_t server)
{
	(void)arg;
	(void)server;
	return 1;
}

/*
 * Through the state file: saved by the resume module (the setup log
 * sealed under a key derived from the recovery key), restored by a new
 * daemon; the file holds nothing of the log in plaintext; another recovery
 * key cannot open the log.
 */
static void
test_resume_store(void **state)
{
	static const char *cfg = "interface lo\nexport_listen none\n"
	    "server web1 {\n service_ip 198.18.0.2\n ports 22\n}\n";
	static const char *secrets[] = {
	    "ssh-connection", "top-secret-command", "xterm", "LANG",
	    "tcpip-forward", "publickey" };
	const struct combo co = { "aes256-gcm@openssh.com", "" };
	char dir[] = "/tmp/sjt-resume-XXXXXX", path[128], wal[140], err[256];
	struct sshtrack_info info;
	struct sshtrack_msg a, b;
	struct seal_key *rk, *other;
	struct store *st;
	struct conf *c;
	struct resume *r;
	struct fx *f, *g;
	uint8_t *bytes, sig[83], blob[300];
	size_t n, i, j;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(conf_parse(cfg, strlen(cfg), "t", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	assert_int_equal(seal_key_generate(SEAL_KEY_X25519, &rk), SEAL_OK);
	assert_int_equal(seal_key_generate(SEAL_KEY_X25519, &other), SEAL_OK);
	assert_non_null(r = resume_new(st, c, rk));

	f = fx_new(NULL);
	handshake(f);
	kex_start(f, &co, 1, "none");
	kex_finish(f, 0, &co, 1);
	f->avail[0] = 1;
	auth(f);
	session(f);
	send_chanreq(f, C2S, SERVER_CHAN, "exec", 1, "top-secret-command");
	resume_begin(r);
	resume_save(r, 0, f->c, f->st);
	resume_end(r);
	assert_true(f->c->saved);
	/* Saved once: nothing new, nothing written. */
	assert_false(sshtrack_sync_dirty(f->st, f->c, (int *)&n));

	/* The state file's bytes hold no plaintext of the log. */
	memset(sig, 0x5e, sizeof(sig));
	memset(blob, 0xb1, sizeof(blob));
	for (j = 0; j < 2; j++) {
		n = slurp(j == 0 ? path : wal, &bytes);
		if (j == 1)
			assert_true(n > 0);	/* WAL: what was written */
		for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
			if (memmem(bytes, n, secrets[i], strlen(secrets[i])))
				fail_msg("\"%s\" in %s", secrets[i],
				    j == 0 ? path : wal);
		assert_null(memmem(bytes, n, sig, 32));
		assert_null(memmem(bytes, n, blob, 32));
		free(bytes);
	}

	/* The restarted daemon. */
	g = fx_new(NULL);
	memcpy(g->rec, f->rec, sizeof(g->rec));
	memcpy(g->avail, f->avail, sizeof(g->avail));
	assert_int_equal(resume_restore(r, g->t, g->st, tracked_yes, NULL,
	    g->now), 1);
	assert_non_null(g->c);
	assert_true(g->c->saved);
	status(g, &info);
	assert_true(info.restored);
	assert_int_equal(sshtrack_log_count(g->st, g->c),
	    sshtrack_log_count(f->st, f->c));
	for (i = 0; i < sshtrack_log_count(f->st, f->c); i++) {
		assert_int_equal(sshtrack_log_get(f->st, f->c, i, &a), 0);
		assert_int_equal(sshtrack_log_get(g->st, g->c, i, &b), 0);
		assert_int_equal(a.type, b.type);
		assert_int_equal(a.flags, b.flags);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.p, b.p, a.len);
	}
	seg(g, C2S, f->fed[C2S], NULL, 0, f->fed[S2C]);
	seg(g, S2C, f->fed[S2C], NULL, 0, f->fed[C2S]);
	status(g, &info);
	if (!info.protectable)
		fail_msg("%s", info.reason);
	fx_free(g);
	resume_free(r);

	/* Another recovery key: the log does not open. */
	assert_non_null(r = resume_new(st, c, other));
	g = fx_new(NULL);
	memcpy(g->rec, f->rec, sizeof(g->rec));
	memcpy(g->avail, f->avail, sizeof(g->avail));
	assert_int_equal(resume_restore(r, g->t, g->st, tracked_yes, NULL,
	    g->now), 1);
	assert_int_equal(sshtrack_log_count(g->st, g->c), 0);
	status(g, &info);
	assert_false(info.protectable);
	assert_non_null(strstr(info.reason, "setup log not available"));
	/* The connection ends: its rows go. */
	resume_forget(r, 0, g->c);
	fx_free(g);
	g = fx_new(NULL);
	assert_int_equal(resume_restore(r, g->t, g->st, tracked_yes, NULL,
	    g->now), 0);
	fx_free(g);
	resume_free(r);

	fx_free(f);
	store_close(st);
	seal_key_free(rk);
	seal_key_free(other);
	conf_free(c);
	snprintf(err, sizeof(err), "%s-shm", path);
	unlink(err);
	unlink(wal);
	unlink(path);
	rmdir(dir);
}

#define T_COMBO(fn, i) \
	{ #fn "/" #i, fn, NULL, NULL, (void *)&combos[i] }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_matches_openssh),
		cmocka_unit_test(test_openssh_vectors),
		T_COMBO(test_session, 0),
		T_COMBO(test_session, 1),
		T_COMBO(test_session, 2),
		T_COMBO(test_session, 3),
		T_COMBO(test_session, 4),
		T_COMBO(test_session, 5),
		T_COMBO(test_session, 6),
		T_COMBO(test_session, 7),
		cmocka_unit_test(test_rekey_strict),
		cmocka_unit_test(test_rekey_not_strict),
		T_COMBO(test_corrupt, 0),
		T_COMBO(test_corrupt, 1),
		T_COMBO(test_corrupt, 2),
		T_COMBO(test_corrupt, 3),
		T_COMBO(test_corrupt, 4),
		T_COMBO(test_corrupt, 5),
		T_COMBO(test_corrupt, 6),
		T_COMBO(test_corrupt, 7),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_buffer_bound),
		cmocka_unit_test(test_log_bound),
		cmocka_unit_test(test_channel_close),
		cmocka_unit_test(test_resume_point),
		cmocka_unit_test(test_resume_untellable),
		cmocka_unit_test(test_restart_old_encodings),
		cmocka_unit_test(test_package),
		cmocka_unit_test(test_package_refused),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_c2s_hold),
		cmocka_unit_test(test_seqnr_mismatch),
		cmocka_unit_test(test_identification),
		cmocka_unit_test(test_conn_end),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_long_session),
		cmocka_unit_test(test_wait_partial_ack),
		cmocka_unit_test(test_gap_clear),
		cmocka_unit_test(test_record_algorithms),
		cmocka_unit_test(test_catchup_replies),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_pcap_bulk),
		T_COMBO(test_restart, 0),
		T_COMBO(test_restart, 1),
		T_COMBO(test_restart, 2),
		T_COMBO(test_restart, 3),
		T_COMBO(test_restart, 4),
		T_COMBO(test_restart, 5),
		T_COMBO(test_restart, 6),
		T_COMBO(test_restart, 7),
		T_COMBO(test_restart_rekey, 0),
		T_COMBO(test_restart_rekey, 1),
		T_COMBO(test_restart_rekey, 3),
		T_COMBO(test_restart_rekey, 4),
		T_COMBO(test_restart_rekey, 5),
		T_COMBO(test_restart_rekey, 6),
		T_COMBO(test_restart_rekey, 7),
		cmocka_unit_test(test_restart_idle),
		cmocka_unit_test(test_restart_unprovable),
		cmocka_unit_test(test_restart_state),
		cmocka_unit_test(test_late_rekey_keys),
		cmocka_unit_test(test_resume_store),
	};

	return cmocka_run_group_tests_name("sshtrack", tests, NULL, NULL);
}
