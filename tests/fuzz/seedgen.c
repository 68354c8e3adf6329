/*
 * seedgen: writes the generated part of the seed corpora (tests/fuzz/
 * make-seeds runs it): frames, frame sequences, SSH streams and export
 * records cut from the lab's captures (tests/pcaps/, every .pcap), SSH sessions
 * for the keyed tracker, recovery packages, and the recovery sshd's answers
 * as tests/unit/fake-sshd gives them.
 *
 * usage: seedgen OUTDIR FAKE-SSHD   (run from the top of the tree)
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "buf.h"
#include "cpr.h"
#include "drainrec.h"
#include "fuzz.h"
#include "pkt.h"
#include "rio.h"
#include "rpkg.h"
#include "seal.h"

static const char *outdir;
static int nwritten;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "seedgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void
put(const char *harness, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, harness);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, harness, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf_ptr(b), 1, buf_len(b), f) != buf_len(b) ||
	    fclose(f) != 0)
		die("cannot write %s", path);
	nwritten++;
}

static void
chunk(struct buf *b, uint8_t op, const void *p, size_t len)
{
	if (len > 0xffff)
		len = 0xffff;
	if (buf_put_u8(b, op) != 0 || buf_put_u16(b, (uint16_t)len) != 0 ||
	    buf_put(b, p, len) != 0)
		die("chunk");
}

/* --- captures --- */

struct frame {
	double		 ts;
	uint8_t		*p;
	size_t		 len;
	struct pkt_tcp	 seg;		/* decoded; payload points into p */
};

static struct frame *
read_pcap(const char *path, size_t *nout)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct frame *fr = NULL;
	size_t n = 0;
	pcap_t *pc;

	if ((pc = pcap_open_offline(path, err)) == NULL)
		die("%s: %s", path, err);
	if (pcap_datalink(pc) != DLT_EN10MB)
		die("%s: not Ethernet", path);
	while (pcap_next_ex(pc, &h, &d) == 1) {
		if ((fr = realloc(fr, (n + 1) * sizeof(*fr))) == NULL ||
		    (fr[n].p = malloc(h->caplen)) == NULL)
			die("out of memory");
		memcpy(fr[n].p, d, h->caplen);
		fr[n].len = h->caplen;
		fr[n].ts = (double)h->ts.tv_sec + h->ts.tv_usec / 1e6;
		if (pkt_decode(DLT_EN10MB, fr[n].p, fr[n].len, h->len,
		    &fr[n].seg) != PKT_OK)
			memset(&fr[n].seg, 0, sizeof(fr[n].seg));
		n++;
	}
	pcap_close(pc);
	*nout = n;
	return fr;
}

/* fuzz_pkt: [link type index][0][frame]; index 0 Ethernet, 1 raw IP,
 * 3 Linux cooked, 4 Linux cooked v2, 6 IPv6 alone. */
static void
seeds_pkt(const char *tag, const struct frame *fr, size_t n)
{
	static const uint8_t sll[14] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0,
	    0, 0 };
	static const uint8_t sll2[18] = { 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0,
	    0, 0, 0, 0, 0, 0 };
	struct buf b;
	char name[64];
	size_t i, k = 0;

	for (i = 0; i < n && k < 8; i++) {
		const struct frame *f = &fr[i];

		if (f->len < 14 || f->len > 600 || f->seg.src.family == 0)
			continue;
		buf_init(&b, 1 << 16);
		buf_put_u8(&b, 0);
		buf_put_u8(&b, 0);
		buf_put(&b, f->p, f->len);
		snprintf(name, sizeof(name), "%s-eth-%zu", tag, i);
		put("pkt", name, &b);
		buf_reset(&b);
		buf_put_u8(&b, 1);
		buf_put_u8(&b, 0x81);		/* wire longer: snaplen cut */
		buf_put(&b, f->p + 14, f->len - 14);
		snprintf(name, sizeof(name), "%s-raw-%zu", tag, i);
		put("pkt", name, &b);
		buf_reset(&b);
		buf_put_u8(&b, 3);
		buf_put_u8(&b, 0);
		buf_put(&b, sll, sizeof(sll));
		buf_put(&b, f->p + 12, f->len - 12);
		snprintf(name, sizeof(name), "%s-sll-%zu", tag, i);
		put("pkt", name, &b);
		buf_reset(&b);
		buf_put_u8(&b, 4);
		buf_put_u8(&b, 0);
		buf_put(&b, f->p + 12, 2);
		buf_put(&b, sll2, sizeof(sll2));
		buf_put(&b, f->p + 14, f->len - 14);
		snprintf(name, sizeof(name), "%s-sll2-%zu", tag, i);
		put("pkt", name, &b);
		if (k == 0) {
			/* The same TCP segment over IPv6, VLAN-tagged. */
			const uint8_t *ip = f->p + 14;
			size_t ihl = (size_t)(ip[0] & 15) * 4;
			size_t tcp = f->len - 14 - ihl;
			static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d,
			    0xb8, [15] = 10 }, v6b[16] = { 0x20, 0x01, 0x0d,
			    0xb8, [15] = 2 };

			buf_reset(&b);
			buf_put_u8(&b, 0);
			buf_put_u8(&b, 0);
			buf_put(&b, f->p, 12);
			buf_put_u16(&b, 0x8100);
			buf_put_u16(&b, 42);
			buf_put_u16(&b, 0x86dd);
			buf_put_u32(&b, 0x60000000);
			buf_put_u16(&b, (uint16_t)tcp);
			buf_put_u8(&b, 6);
			buf_put_u8(&b, 64);
			buf_put(&b, v6a, 16);
			buf_put(&b, v6b, 16);
			buf_put(&b, ip + ihl, tcp);
			snprintf(name, sizeof(name), "%s-vlan-ipv6-%zu", tag,
			    i);
			put("pkt", name, &b);
		}
		buf_free(&b);
		k++;
	}
}

static uint8_t
time_op(double dt)
{
	uint8_t op = 0;

	while (op < 7 && (double)(1u << (op + 1)) / 1000.0 <= dt)
		op++;
	return op;
}

/* fuzz_tcptrack: frames from `from` while the seed stays under max. */
static void
seeds_tcptrack(const char *tag, const struct frame *fr, size_t n,
    size_t from, size_t maxbytes, uint8_t extra)
{
	struct buf b;
	char name[64];
	size_t i;

	buf_init(&b, 1 << 20);
	for (i = from; i < n; i++) {
		if (buf_len(&b) + fr[i].len + 3 > maxbytes)
			break;
		chunk(&b, time_op(i > 0 ? fr[i].ts - fr[i - 1].ts : 0) |
		    extra, fr[i].p, fr[i].len);
	}
	snprintf(name, sizeof(name), "%s-from-%zu%s", tag, from,
	    extra ? "-hold" : "");
	put("tcptrack", name, &b);
	buf_free(&b);
}

/* A resumed connection: its saved handshake, then frames mid-stream. */
static void
seeds_tcptrack_resume(const char *tag, const struct frame *fr, size_t n)
{
	uint8_t hs[40];
	struct buf b;
	char name[64];
	uint32_t cisn = 0, sisn = 0;
	uint16_t cport = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (fr[i].seg.flags == PKT_SYN) {
			cisn = fr[i].seg.seq;
			cport = fr[i].seg.sport;
		} else if (fr[i].seg.flags == (PKT_SYN | PKT_ACK))
			sisn = fr[i].seg.seq;
	}
	memset(hs, 0, sizeof(hs));
	hs[0] = 10;
	hs[1] = (uint8_t)(cport >> 8);
	hs[2] = (uint8_t)cport;
	memcpy(hs + 3, &cisn, 4);
	memcpy(hs + 7, &sisn, 4);
	hs[11] = 1 | 2 | 4 | 8 | 16;
	hs[12] = 0x05, hs[13] = 0xb4;
	hs[14] = 0x05, hs[15] = 0xb4;
	hs[16] = 10, hs[17] = 10;
	buf_init(&b, 1 << 20);
	chunk(&b, 0x20, hs, sizeof(hs));
	for (i = n / 2; i < n && buf_len(&b) < 6000; i++)
		if (fr[i].len < 200)
			chunk(&b, 1, fr[i].p, fr[i].len);
	snprintf(name, sizeof(name), "%s-resume", tag);
	put("tcptrack", name, &b);
	buf_free(&b);
}

/* fuzz_sshtrack_clear: the SSH connection's segments, in capture order. */
static void
seeds_ssh_clear(const char *tag, const struct frame *fr, size_t n,
    size_t maxbytes)
{
	struct buf b;
	char name[64];
	size_t i;
	int dir;

	buf_init(&b, 1 << 20);
	for (i = 0; i < n; i++) {
		const struct pkt_tcp *s = &fr[i].seg;

		if (s->len == 0 || (s->sport != 22 && s->dport != 22))
			continue;
		if (buf_len(&b) + s->len + 3 > maxbytes)
			break;
		dir = s->sport == 22;
		/* fed in 1448-byte segments, then acknowledged */
		chunk(&b, (uint8_t)(dir | 4 | 3 << 3), s->payload, s->len);
	}
	snprintf(name, sizeof(name), "%s-%zu", tag, maxbytes);
	put("sshtrack_clear", name, &b);
	buf_free(&b);
}

/* fuzz_seal: the sshd's export stream, and each record's payload. */
static void
seeds_seal(const struct frame *fr, size_t n)
{
	struct seal_key *recipient, *signer;
	struct seal_header hdr;
	struct buf stream, b, pt;
	static const uint8_t key[SEAL_LOCAL_KEY_LEN] = { 1, 2, 3 };
	static const uint8_t aad[] = "fuzz";
	const uint8_t *p;
	char name[64];
	size_t i, total, len, k = 0;

	fuzz_lab_keys(&recipient, &signer);
	buf_init(&stream, 1 << 20);
	for (i = 0; i < n; i++)
		if (fr[i].seg.dport == 7022 && fr[i].seg.len > 0)
			buf_put(&stream, fr[i].seg.payload, fr[i].seg.len);
	buf_init(&b, 1 << 20);
	buf_put_u8(&b, 0);
	buf_put(&b, buf_ptr(&stream), buf_len(&stream));
	put("seal", "export-stream", &b);
	buf_free(&b);
	p = buf_ptr(&stream);
	len = buf_len(&stream);
	while (len >= 10 && seal_record_length(p, 10, &total) == SEAL_OK &&
	    total <= len) {
		buf_init(&b, 1 << 20);
		buf_put_u8(&b, 0);
		buf_put(&b, p, total);
		snprintf(name, sizeof(name), "record-%zu", k);
		put("seal", name, &b);
		buf_free(&b);
		buf_init(&pt, SEAL_PAYLOAD_MAX);
		if (seal_open(p, total, recipient, signer, "web1", &hdr,
		    &pt) != SEAL_OK)
			die("record %zu of the lab capture does not open", k);
		buf_init(&b, 1 << 20);
		buf_put_u8(&b, 1);
		buf_put(&b, buf_ptr(&pt), buf_len(&pt));
		snprintf(name, sizeof(name), "payload-%zu", k);
		put("seal", name, &b);
		buf_free(&b);
		if (k == 0) {
			buf_init(&b, 1 << 20);
			buf_put_u8(&b, 2);
			if (seal_local_box(key, aad, sizeof(aad), buf_ptr(&pt),
			    buf_len(&pt), &b) != SEAL_OK)
				die("seal_local_box");
			put("seal", "local-box", &b);
			buf_free(&b);
		}
		buf_free(&pt);
		p += total;
		len -= total;
		k++;
	}
	if (k == 0)
		die("no export records in the lab capture");
	buf_free(&stream);
	seal_key_free(recipient);
	seal_key_free(signer);
}

static void
seeds_captures(void)
{
	static const char *const pcaps[] = { "ssh-keys", "ssh-bulk" };
	struct frame *fr;
	char path[4096];
	size_t n, i, j;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tests/pcaps/%s.pcap",
		    fuzz_top(), pcaps[i]);
		fr = read_pcap(path, &n);
		seeds_pkt(pcaps[i], fr, n);
		seeds_tcptrack(pcaps[i], fr, n, 0, 8192, 0);
		seeds_tcptrack(pcaps[i], fr, n, 0, 4096, 0x10);
		seeds_tcptrack(pcaps[i], fr, n, n / 3, 8192, 0);
		seeds_tcptrack(pcaps[i], fr, n, n - 12, 16384, 0);
		seeds_tcptrack_resume(pcaps[i], fr, n);
		seeds_ssh_clear(pcaps[i], fr, n, 4096);
		seeds_ssh_clear(pcaps[i], fr, n, 16384);
		if (i == 0)
			seeds_seal(fr, n);
		for (j = 0; j < n; j++)
			free(fr[j].p);
		free(fr);
	}
}

/* --- SSH messages --- */

static void
m_str(struct buf *b, const char *s)
{
	buf_put_cstring(b, s);
}

/* Ops of fuzz_sshtrack_keyed. */
#define K_PKT		0
#define K_RAW		1
#define K_REKEY		2
#define K_ARRIVE	3
#define K_ACK		4
#define K_LOST		5
#define K_FLIP		6
#define K_QUERY		7
#define K_S2C		0x80
#define K_WITHHOLD	0x08

static void
k_op(struct buf *out, uint8_t op, const struct buf *payload)
{
	chunk(out, op, payload != NULL ? buf_ptr(payload) : NULL,
	    payload != NULL ? buf_len(payload) : 0);
}

/* One message: type, then a format of s (string), u (u32), b (u8). */
static void
k_msg(struct buf *out, uint8_t op, uint8_t type, const char *fmt, ...)
{
	struct buf m;
	va_list ap;

	buf_init(&m, 1 << 16);
	buf_put_u8(&m, type);
	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++) {
		if (*fmt == 's')
			m_str(&m, va_arg(ap, const char *));
		else if (*fmt == 'u')
			buf_put_u32(&m, va_arg(ap, uint32_t));
		else if (*fmt == 'b')
			buf_put_u8(&m, (uint8_t)va_arg(ap, int));
	}
	va_end(ap);
	k_op(out, op, &m);
	buf_free(&m);
}

/* A login and a shell, as OpenSSH's client does them. */
static void
k_session(struct buf *o)
{
	k_msg(o, K_PKT, 5, "s", "ssh-userauth");
	k_msg(o, K_PKT | K_S2C, 6, "s", "ssh-userauth");
	k_msg(o, K_PKT | K_S2C, 7, "us", 1, "server-sig-algs");
	k_msg(o, K_PKT, 50, "sss", "alice", "ssh-connection", "none");
	k_msg(o, K_PKT | K_S2C, 51, "sb", "publickey,password", 0);
	k_msg(o, K_PKT, 50, "sssbsss", "alice", "ssh-connection",
	    "publickey", 1, "ssh-ed25519", "blob", "signature");
	k_msg(o, K_PKT | K_S2C, 51, "sb", "password", 1);
	k_msg(o, K_PKT, 50, "sssbs", "alice", "ssh-connection", "password",
	    0, "hunter2");
	k_msg(o, K_PKT | K_S2C, 52, "");
	k_op(o, K_ACK, NULL);
	k_op(o, K_ACK | K_S2C, NULL);
	k_msg(o, K_PKT, 80, "sbsu", "tcpip-forward", 1, "", 0);
	k_msg(o, K_PKT | K_S2C, 81, "u", 40022);
	k_msg(o, K_PKT, 90, "suuu", "session", 0, 2097152, 32768);
	k_msg(o, K_PKT | K_S2C, 91, "uuuu", 0, 3, 2097152, 32768);
	k_msg(o, K_PKT, 98, "usbsuuuus", 3, "pty-req", 1, "xterm", 80, 24,
	    0, 0, "");
	k_msg(o, K_PKT, 98, "usbss", 3, "env", 0, "LANG", "C.UTF-8");
	k_msg(o, K_PKT, 98, "usb", 3, "shell", 1);
	k_msg(o, K_PKT | K_S2C, 99, "u", 0);
	k_msg(o, K_PKT | K_S2C, 99, "u", 0);
	k_msg(o, K_PKT, 94, "us", 3, "ls -l\n");
	k_msg(o, K_PKT | K_S2C, 94, "us", 0, "total 0\n");
	k_msg(o, K_PKT | K_S2C, 95, "uus", 0, 1, "oops\n");
	k_msg(o, K_PKT, 93, "uu", 3, 4096);
	k_msg(o, K_PKT | K_S2C, 93, "uu", 0, 65536);
	k_msg(o, K_PKT, 98, "usbuuuu", 3, "window-change", 0, 120, 40, 0,
	    0);
	k_msg(o, K_PKT, 80, "sb", "keepalive@openssh.com", 1);
	k_msg(o, K_PKT | K_S2C, 82, "");
	k_msg(o, K_PKT, 2, "s", "ignore me");
	k_msg(o, K_PKT | K_S2C, 4, "bss", 0, "debug", "");
	k_op(o, K_ACK, NULL);
	k_op(o, K_QUERY, NULL);
}

/* Channels opened both ways, closed, and a forward. */
static void
k_channels(struct buf *o)
{
	k_msg(o, K_PKT, 90, "suuusuus", "direct-tcpip", 1, 2097152, 32768,
	    "localhost", 80, 0x7f000001, "127.0.0.1");
	k_msg(o, K_PKT | K_S2C, 91, "uuuu", 1, 7, 2097152, 32768);
	k_msg(o, K_PKT | K_S2C, 90, "suuusu", "forwarded-tcpip", 9,
	    2097152, 32768, "127.0.0.1", 40022);
	k_msg(o, K_PKT, 91, "uuuu", 9, 2, 2097152, 32768);
	k_msg(o, K_PKT, 94, "us", 7, "GET / HTTP/1.0\r\n\r\n");
	k_msg(o, K_PKT, 96, "u", 7);
	k_msg(o, K_PKT | K_S2C, 96, "u", 1);
	k_msg(o, K_PKT, 97, "u", 7);
	k_msg(o, K_PKT | K_S2C, 97, "u", 1);
	k_msg(o, K_PKT | K_S2C, 90, "suuu", "auth-agent@openssh.com", 10,
	    65536, 16384);
	k_msg(o, K_PKT, 92, "uuss", 10, 1, "no agent", "");
	k_msg(o, K_PKT, 90, "suuu", "session", 4, 2097152, 32768);
	k_msg(o, K_PKT | K_S2C, 92, "uuss", 4, 2, "refused", "");
	k_msg(o, K_PKT, 98, "usbs", 3, "exec", 1, "uname -a");
	k_msg(o, K_PKT | K_S2C, 100, "u", 0);
	k_msg(o, K_PKT | K_S2C, 98, "usbu", 0, "exit-status", 0, 0);
	k_op(o, K_ACK, NULL);
	k_op(o, K_ACK | K_S2C, NULL);
}

static void
seeds_keyed(void)
{
	struct buf o, m;
	char name[64];
	int combo;

	for (combo = 0; combo < 10; combo++) {
		buf_init(&o, 1 << 20);
		buf_put_u8(&o, (uint8_t)combo);
		buf_put_u8(&o, combo & 1);		/* strict every other */
		k_session(&o);
		if (combo < 3)
			k_channels(&o);
		if (combo % 3 == 0) {
			k_op(&o, K_REKEY, NULL);
			k_msg(&o, K_PKT, 94, "us", 3, "after the rekey\n");
		}
		snprintf(name, sizeof(name), "session-%d", combo);
		put("sshtrack_keyed", name, &o);
		buf_free(&o);
	}
	/* Keys late: a rekey whose record comes after its packets. */
	buf_init(&o, 1 << 20);
	buf_put_u8(&o, 0);
	buf_put_u8(&o, 1);
	k_session(&o);
	k_op(&o, K_REKEY | K_WITHHOLD, NULL);
	k_msg(&o, K_PKT, 94, "us", 3, "waiting for keys\n");
	k_msg(&o, K_PKT | K_S2C, 94, "us", 0, "still waiting\n");
	k_op(&o, K_QUERY, NULL);
	k_op(&o, K_ARRIVE, NULL);
	k_msg(&o, K_PKT, 94, "us", 3, "keys came\n");
	put("sshtrack_keyed", "keys-late", &o);
	buf_free(&o);
	/* A lost packet (resynchronisation), then a corrupted one. */
	for (combo = 0; combo < 10; combo += 3) {
		buf_init(&o, 1 << 20);
		buf_put_u8(&o, (uint8_t)combo);
		buf_put_u8(&o, 0);
		k_session(&o);
		buf_init(&m, 1 << 16);
		buf_put_u8(&m, 94);
		buf_put_u32(&m, 3);
		m_str(&m, "this packet is lost by the capture");
		k_op(&o, K_LOST, &m);
		buf_free(&m);
		k_msg(&o, K_PKT, 94, "us", 3, "and this one is seen");
		k_msg(&o, K_PKT, 94, "us", 3, "and this one too");
		k_op(&o, K_ACK, NULL);
		k_op(&o, K_QUERY, NULL);
		buf_init(&m, 1 << 16);
		buf_put_u8(&m, 9);		/* flip the 10th byte */
		buf_put_u32(&m, 3);
		k_op(&o, K_FLIP | K_S2C, &m);
		buf_free(&m);
		snprintf(name, sizeof(name), "lost-flip-%d", combo);
		put("sshtrack_keyed", name, &o);
		buf_free(&o);
	}
}

/* --- recovery packages and the sshd's answers --- */

static void
add_msg(struct rpkg *k, uint32_t dir, uint8_t type, const char *fmt, ...)
{
	struct buf m;
	va_list ap;

	buf_init(&m, 1 << 16);
	buf_put_u8(&m, type);
	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++) {
		if (*fmt == 's')
			m_str(&m, va_arg(ap, const char *));
		else if (*fmt == 'u')
			buf_put_u32(&m, va_arg(ap, uint32_t));
		else if (*fmt == 'b')
			buf_put_u8(&m, (uint8_t)va_arg(ap, int));
	}
	va_end(ap);
	if (rpkg_add_msg(k, dir, 0, buf_ptr(&m), buf_len(&m)) != 0)
		die("rpkg_add_msg");
	buf_free(&m);
}

/* A package as test_replay.c's sample(): every kind of setup message. */
static struct rpkg *
package(int variant)
{
	static const struct rpkg_chan chans[] = {
		{ 0, 3, "session", 1000, 2000, 32768, 16384, 0 },
		{ 1, 7, "direct-tcpip", 1000, 2000, 32768, 16384,
		    RPKG_CHAN_EOF_C2S },
		{ 2, 9, "forwarded-tcpip", 1000, 2000, 32768, 16384,
		    RPKG_CHAN_BY_SERVER },
	};
	struct rpkg *k = rpkg_new();
	size_t i;

	if (k == NULL)
		die("rpkg_new");
	strcpy(k->client_version, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	strcpy(k->server_version, "SSH-2.0-OpenSSH_9.2p1");
	memset(k->session_id, 0x5a, 32);
	k->session_id_len = 32;
	strcpy(k->kex_alg, "curve25519-sha256");
	strcpy(k->hostkey_alg, "ssh-ed25519");
	k->strict_kex = 1;
	strcpy(k->user, "alice");
	strcpy(k->auth_method, variant ? "password" : "publickey,password");
	if (variant)
		k->flags = RPKG_RERUN_EXEC;
	strcpy(k->notice, "SecureJeebs: recovered");
	for (i = 0; i < 2; i++) {
		strcpy(k->dir[i].cipher, variant ?
		    "chacha20-poly1305@openssh.com" : "aes128-ctr");
		strcpy(k->dir[i].mac, variant ? "" :
		    "hmac-sha2-256-etm@openssh.com");
		k->dir[i].key_len = variant ? 64 : 16;
		memset(k->dir[i].key, 0x11, k->dir[i].key_len);
		k->dir[i].iv_len = variant ? 0 : 16;
		memset(k->dir[i].iv, 0x22, k->dir[i].iv_len);
		k->dir[i].mac_key_len = variant ? 0 : 32;
		memset(k->dir[i].mac_key, 0x33, k->dir[i].mac_key_len);
		k->dir[i].seqnr = 40 + (uint32_t)i;
	}
	for (i = 0; i < (variant ? 1u : 3u); i++)
		if (rpkg_add_chan(k, &chans[i]) != 0)
			die("rpkg_add_chan");
	add_msg(k, RPKG_C2S, 5, "s", "ssh-userauth");
	add_msg(k, RPKG_S2C, 6, "s", "ssh-userauth");
	add_msg(k, RPKG_C2S, 50, "sss", "alice", "ssh-connection", "none");
	add_msg(k, RPKG_S2C, 51, "sb", "publickey,password", 0);
	if (!variant) {
		add_msg(k, RPKG_C2S, 50, "sssbss", "alice", "ssh-connection",
		    "publickey", 0, "ssh-ed25519", "public key blob");
		add_msg(k, RPKG_C2S, 50, "sssbsss", "alice",
		    "ssh-connection", "publickey", 1, "ssh-ed25519",
		    "public key blob", "SECRET-SIGNATURE-BYTES");
		add_msg(k, RPKG_S2C, 51, "sb", "password", 1);
	}
	if (rpkg_add_msg(k, RPKG_C2S, 1, NULL, 0) != 0)	/* a password */
		die("rpkg_add_msg");
	add_msg(k, RPKG_S2C, 52, "");
	if (!variant) {
		add_msg(k, RPKG_C2S, 80, "sbsu", "tcpip-forward", 1, "", 0);
		add_msg(k, RPKG_S2C, 81, "u", 40022);
	}
	add_msg(k, RPKG_C2S, 90, "suuu", "session", 0, 2097152, 32768);
	add_msg(k, RPKG_S2C, 91, "uuuu", 0, 3, 2097152, 32768);
	add_msg(k, RPKG_C2S, 98, "usbsuuuus", 3, "pty-req", 1, "xterm", 80,
	    24, 0, 0, "");
	add_msg(k, RPKG_C2S, 98, "usbss", 3, "env", 0, "LANG", "C.UTF-8");
	if (!variant) {
		add_msg(k, RPKG_C2S, 98, "usbbssu", 3, "x11-req", 1, 0,
		    "MIT-MAGIC-COOKIE-1", "00", 0);
		add_msg(k, RPKG_C2S, 98, "usb", 3, "shell", 1);
		add_msg(k, RPKG_S2C, 99, "u", 0);
		add_msg(k, RPKG_S2C, 100, "u", 0);
		add_msg(k, RPKG_S2C, 99, "u", 0);
		add_msg(k, RPKG_C2S, 90, "suuusuus", "direct-tcpip", 1,
		    2097152, 32768, "localhost", 80, 0x7f000001, "127.0.0.1");
		add_msg(k, RPKG_S2C, 91, "uuuu", 1, 7, 2097152, 32768);
		add_msg(k, RPKG_C2S, 96, "u", 7);
		add_msg(k, RPKG_C2S, 80, "sb", "no-more-sessions@openssh.com",
		    0);
		add_msg(k, RPKG_S2C, 90, "suuusu", "forwarded-tcpip", 9,
		    2097152, 32768, "127.0.0.1", 40022);
		add_msg(k, RPKG_C2S, 91, "uuuu", 9, 2, 2097152, 32768);
	} else {
		add_msg(k, RPKG_C2S, 98, "usbs", 3, "exec", 1, "top");
		add_msg(k, RPKG_S2C, 99, "u", 0);
	}
	return k;
}

/* Run the replay against fake-sshd in mode; its answers, recorded. */
static void
answers(const char *fake, const char *mode, const struct rpkg *k,
    const struct cpr_plan *plan, struct buf *out)
{
	char rec[] = "/tmp/sj-seedgen-answers-XXXXXX", why[256];
	struct timespec deadline;
	struct cpr_result res;
	struct rio io;
	uint8_t tmp[4096];
	int sv[2], cli[2], fd, st;
	ssize_t n;
	pid_t pid;

	if ((fd = mkstemp(rec)) < 0)
		die("mkstemp");
	close(fd);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, cli) != 0)
		die("socketpair");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		if (dup2(cli[1], 0) == -1 || dup2(cli[1], 1) == -1 ||
		    dup2(sv[1], 3) == -1)
			_exit(126);
		for (fd = 4; fd < 64; fd++)
			close(fd);
		setenv("FAKE_SSHD_MODE", mode, 1);
		setenv("FAKE_SSHD_RECORD", rec, 1);
		execl(fake, fake, "-i", "-J", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	close(cli[1]);
	rio_now(&deadline);
	deadline.tv_sec += 5;
	rio_init(&io, sv[0], pid, &deadline, 5.0);
	if (cpr_run(k, plan, &io, &res, why, sizeof(why)) != 0 &&
	    strcmp(mode, "ok") == 0)
		die("replay against %s: %s", fake, why);
	rio_fini(&io);
	close(cli[0]);
	if (!rio_reap(&io, 2000)) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &st, 0);
	}
	if ((fd = open(rec, O_RDONLY)) < 0)
		die("%s: %s", rec, strerror(errno));
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_put(out, tmp, (size_t)n);
	close(fd);
	unlink(rec);
}

static void
seeds_packages(const char *fake)
{
	static const char *const modes[] = { "ok", "noise", "wrong-chan",
	    "fail-auth", "fail-req", "refuse-cutover", "bad-packet",
	    "disconnect" };
	struct rpkg *k;
	struct cpr_plan plan;
	struct buf pkg, b, ans;
	char name[64], why[256];
	const uint8_t *p;
	size_t i;
	int v;

	for (v = 0; v < 2; v++) {
		k = package(v);
		buf_init(&pkg, RPKG_MAX);
		if (rpkg_encode(k, &pkg) != 0)
			die("rpkg_encode");
		buf_init(&b, RPKG_MAX + 1);
		buf_put_u8(&b, 0);
		buf_put(&b, buf_ptr(&pkg), buf_len(&pkg));
		snprintf(name, sizeof(name), "package-%d", v);
		put("rpkg", name, &b);
		buf_reset(&b);
		buf_put_u8(&b, 1);
		if (rpkg_encode_import(k, &b) != 0)
			die("rpkg_encode_import");
		snprintf(name, sizeof(name), "import-%d", v);
		put("rpkg", name, &b);
		buf_free(&b);
		if (cpr_plan(k, &plan, why, sizeof(why)) != 0)
			die("cpr_plan: %s", why);
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			if (v == 1 && i > 1)
				break;
			buf_init(&ans, 1 << 20);
			answers(fake, modes[i], k, &plan, &ans);
			buf_init(&b, RPKG_MAX + (1 << 20));
			buf_put_u32(&b, (uint32_t)buf_len(&pkg));
			buf_put(&b, buf_ptr(&pkg), buf_len(&pkg));
			buf_put_u8(&b, 0);
			buf_put(&b, buf_ptr(&ans), buf_len(&ans));
			snprintf(name, sizeof(name), "package-%d-%s", v,
			    modes[i]);
			put("cpr", name, &b);
			buf_free(&b);
			if (v == 0 && i == 0) {
				/* The answers framed, for rpkg's packets. */
				struct buf in;
				size_t len;

				buf_init(&b, 1 << 20);
				buf_put_u8(&b, 2);
				buf_view(&in, buf_ptr(&ans), buf_len(&ans));
				while (fuzz_chunk(&in, &p, &len) == 0)
					rpkg_packet_put(&b, p, len);
				put("rpkg", "answers", &b);
				buf_free(&b);
			}
			buf_free(&ans);
		}
		cpr_plan_free(&plan);
		buf_free(&pkg);
		rpkg_free(k);
	}
}

/* fuzz_drainrec: drain states as the sshd sends them (SJD1, SJD2). */
static void
seeds_drainrec(void)
{
	static const uint8_t in[] = "ls\n", out[] = "unsent", q[] = "queue";
	static const uint8_t userauth[] = { 50 };
	static const uint8_t open_s[] = { 90, 0, 0, 0, 7, 's', 'e', 's', 's',
	    'i', 'o', 'n', 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x80, 0 };
	static const uint8_t confirm[] = { 91, 0, 0, 0, 0, 0, 0, 0, 3, 0,
	    0x20, 0, 0, 0, 0, 0x80, 0 };
	static const uint8_t req[] = { 98, 0, 0, 0, 3, 0, 0, 0, 7, 'p', 't',
	    'y', '-', 'r', 'e', 'q', 1 };
	struct drainrec_chan ch[2] = {
		{ 3, 0, "session", 2097152, 1048576, 32768, 16384, 0 },
		{ 4, 1, "direct-tcpip", 1, 2, 3, 4, DRAINREC_CHAN_EOF_RCVD },
	};
	struct drainrec_msg log[4] = {
		{ 0, DRAINREC_LOG_PASSWORD, userauth, 1 },
		{ 0, 0, open_s, sizeof(open_s) },
		{ 1, 0, confirm, sizeof(confirm) },
		{ 0, 0, req, sizeof(req) },
	};
	struct drainrec d;
	struct buf b;
	int v;

	for (v = 1; v <= 2; v++) {
		memset(&d, 0, sizeof(d));
		d.version = v;
		d.kex_number = 1;
		d.stop_us = 1764220000000000ull;
		d.dir[0].seqnr = 9;
		d.dir[0].packets = 9;
		d.dir[0].blocks = 40;
		d.dir[0].iv_len = 12;
		d.dir[0].raw = in;
		d.dir[0].raw_len = 3;
		d.dir[1].seqnr = 12;
		d.dir[1].packets = 12;
		d.dir[1].blocks = 60;
		d.dir[1].iv_len = 16;
		d.dir[1].raw = out;
		d.dir[1].raw_len = 6;
		d.chans = ch;
		d.nchans = 2;
		d.snd_una = 1000;
		d.rcv_nxt = 2000;
		d.sendq = q;
		d.sendq_len = 5;
		d.recvq = q;
		d.recvq_len = 5;
		d.mss = 1448;
		d.tcp_flags = DRAINREC_TCP_WSCALE | DRAINREC_TCP_SACK |
		    DRAINREC_TCP_TS;
		d.snd_wscale = 7;
		d.rcv_wscale = 7;
		d.tsval = 123456;
		d.snd_wl1 = 2000;
		d.snd_wnd = 64000;
		d.max_window = 64000;
		d.rcv_wnd = 64000;
		d.rcv_wup = 2000;
		if (v == 2) {
			strcpy(d.client_version, "SSH-2.0-OpenSSH_9.2p1");
			strcpy(d.server_version, "SSH-2.0-OpenSSH_9.2p1 "
			    "Debian-2+deb12u10");
			strcpy(d.hostkey_alg, "ssh-ed25519");
			d.strict_kex = 1;
			d.log = log;
			d.nlog = 4;
		}
		buf_init(&b, 0);
		if (drainrec_encode(&d, &b) != 0)
			die("drainrec_encode");
		put("drainrec", v == 1 ? "sjd1" : "sjd2", &b);
		buf_free(&b);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 3)
		die("usage: seedgen OUTDIR FAKE-SSHD");
	outdir = argv[1];
	signal(SIGPIPE, SIG_IGN);
	seeds_captures();
	seeds_keyed();
	seeds_packages(argv[2]);
	seeds_drainrec();
	printf("seedgen: %d seeds written under %s\n", nwritten, outdir);
	return 0;
}
