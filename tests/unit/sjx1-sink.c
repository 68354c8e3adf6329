/*
 * sjx1-sink: a minimal export receiver for tests by hand (not securejeebsd):
 * listens on ADDR:PORT, opens every SJX1 record with the recovery private
 * key and the pinned signing public key (docs/export-format.md), answers
 * each with an SJA1 acknowledgement (status 0, or 2 if it does not open),
 * and prints one line per record; drain parts are reassembled per conn_id
 * and the drain record (SJD1 or SJD2, docs/drain.md) is summarised, the
 * SJD2 setup log entry by entry (types only, never payload bytes), and
 * written to DIR/drain-CONNID.bin with -o DIR.  No counter or replay
 * state is kept beyond what the summary needs.
 *
 *   cc -std=c11 -D_DEFAULT_SOURCE -Isrc src/buf.c src/seal.c \
 *       tests/unit/sjx1-sink.c -lcrypto -o /tmp/sjx1-sink
 *   sjx1-sink -l 198.18.0.3:7022 -r recovery.key -s rescue-export.pub \
 *       [-n SENDER] [-o DIR]
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "seal.h"

#define MAX_CLIENTS	16
#define MAX_DRAINS	64

struct client {
	int	 fd;
	uint8_t	 in[SEAL_RECORD_MAX];
	size_t	 len;
};

struct drain {
	uint64_t conn_id;
	uint32_t nparts, got;
	struct buf data;
	int	 used;
};

static struct seal_key *rkey, *skey;
static const char *sender, *outdir;
static struct drain drains[MAX_DRAINS];

static void
hex(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < len && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static const char *
msgname(uint8_t t)
{
	static char tmp[16];

	switch (t) {
	case 5: return "SERVICE_REQUEST";
	case 6: return "SERVICE_ACCEPT";
	case 50: return "USERAUTH_REQUEST";
	case 51: return "USERAUTH_FAILURE";
	case 52: return "USERAUTH_SUCCESS";
	case 80: return "GLOBAL_REQUEST";
	case 81: return "REQUEST_SUCCESS";
	case 82: return "REQUEST_FAILURE";
	case 90: return "CHANNEL_OPEN";
	case 91: return "CHANNEL_OPEN_CONFIRMATION";
	case 92: return "CHANNEL_OPEN_FAILURE";
	case 96: return "CHANNEL_EOF";
	case 97: return "CHANNEL_CLOSE";
	case 98: return "CHANNEL_REQUEST";
	case 99: return "CHANNEL_SUCCESS";
	case 100: return "CHANNEL_FAILURE";
	}
	snprintf(tmp, sizeof(tmp), "message %u", t);
	return tmp;
}

/* A name from the start of a payload after skip bytes (for the summary). */
static void
peek_name(const uint8_t *p, size_t len, size_t skip, char *out, size_t outlen)
{
	struct buf b;
	const uint8_t *s;
	size_t n;

	out[0] = '\0';
	if (len < skip)
		return;
	buf_view(&b, p + skip, len - skip);
	if (buf_get_string_direct(&b, &s, &n) != 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x21 || out[i] > 0x7e)
			out[i] = '?';
}

static int
get_str(struct buf *b, char *out, size_t outlen)
{
	const uint8_t *s;
	size_t n;

	if (buf_get_string_direct(b, &s, &n) != 0)
		return -1;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static void
summarise_drain(struct drain *d)
{
	struct buf b, st;
	char magic[8], cv[256], sv[256], hk[65], ivh[80], name[65];
	const uint8_t *state, *p;
	size_t statelen, n, i;
	uint32_t kex, u32, nlog, dir, flags, nch;
	uint64_t u64, packets, blocks;
	uint8_t u8;
	int k;

	buf_view(&b, buf_ptr(&d->data), buf_len(&d->data));
	if (get_str(&b, magic, sizeof(magic)) != 0 ||
	    buf_get_u32(&b, &kex) != 0 ||
	    buf_get_string_direct(&b, &state, &statelen) != 0) {
		printf("drain conn=%016llx malformed\n",
		    (unsigned long long)d->conn_id);
		return;
	}
	printf("drain conn=%016llx magic=%s kex=%u bytes=%zu\n",
	    (unsigned long long)d->conn_id, magic, kex, buf_len(&d->data));
	buf_view(&st, state, statelen);
	(void)buf_get_u64(&st, &u64);
	for (k = 0; k < 2; k++) {
		if (buf_get_u32(&st, &u32) != 0 ||
		    buf_get_u64(&st, &packets) != 0 ||
		    buf_get_u64(&st, &blocks) != 0 ||
		    buf_get_string_direct(&st, &p, &n) != 0)
			break;
		hex(p, n, ivh, sizeof(ivh));
		printf("drain-dir %s seqnr=%u packets=%llu blocks=%llu iv=%s",
		    k == 0 ? "c2s" : "s2c", u32, (unsigned long long)packets,
		    (unsigned long long)blocks, ivh);
		if (buf_get_string_direct(&st, &p, &n) == 0)
			printf(" raw=%zu", n);
		printf("\n");
	}
	if (buf_get_u32(&st, &nch) == 0) {
		for (i = 0; i < nch; i++) {
			uint32_t self, rid, lw, rw, lm, rm, fl;

			if (buf_get_u32(&st, &self) != 0 ||
			    buf_get_u32(&st, &rid) != 0 ||
			    get_str(&st, name, sizeof(name)) != 0 ||
			    buf_get_u32(&st, &lw) != 0 ||
			    buf_get_u32(&st, &rw) != 0 ||
			    buf_get_u32(&st, &lm) != 0 ||
			    buf_get_u32(&st, &rm) != 0 ||
			    buf_get_u32(&st, &fl) != 0)
				break;
			printf("drain-chan self=%u remote=%u type=%s lwin=%u "
			    "rwin=%u flags=0x%x\n", self, rid, name, lw, rw, fl);
		}
	}
	/* TCP: snd_una, rcv_nxt, sendq, recvq, mss, flags, wscales, ... */
	if (buf_get_u32(&b, &u32) != 0 || buf_get_u32(&b, &u32) != 0 ||
	    buf_get_string_direct(&b, NULL, NULL) != 0 ||
	    buf_get_string_direct(&b, NULL, NULL) != 0 ||
	    buf_get_u32(&b, &u32) != 0 || buf_get_u8(&b, &u8) != 0 ||
	    buf_get_u8(&b, &u8) != 0 || buf_get_u8(&b, &u8) != 0)
		goto bad;
	for (k = 0; k < 6; k++)
		if (buf_get_u32(&b, &u32) != 0)
			goto bad;
	if (strcmp(magic, "SJD2") != 0) {
		printf("drain-end trailing=%zu\n", buf_len(&b));
		return;
	}
	if (get_str(&b, cv, sizeof(cv)) != 0 ||
	    get_str(&b, sv, sizeof(sv)) != 0 ||
	    get_str(&b, hk, sizeof(hk)) != 0 ||
	    buf_get_u32(&b, &u32) != 0 || buf_get_u32(&b, &nlog) != 0)
		goto bad;
	printf("sjd2 client=\"%s\" server=\"%s\" hostkey=%s strict=%u "
	    "nlog=%u\n", cv, sv, hk, u32, nlog);
	for (i = 0; i < nlog; i++) {
		if (buf_get_u32(&b, &dir) != 0 ||
		    buf_get_u32(&b, &flags) != 0 ||
		    buf_get_string_direct(&b, &p, &n) != 0)
			goto bad;
		name[0] = '\0';
		if (n > 0 && (p[0] == 80 || p[0] == 90))
			peek_name(p, n, 1, name, sizeof(name));
		else if (n > 0 && p[0] == 98)
			peek_name(p, n, 5, name, sizeof(name));
		else if (n > 0 && p[0] == 50)
			peek_name(p, n, 1, name, sizeof(name));	/* user */
		printf("sjd2-log %zu dir=%u flags=%u %s%s%s len=%zu\n", i, dir,
		    flags, n > 0 ? msgname(p[0]) : "(payload dropped)",
		    name[0] ? " " : "", name, n);
	}
	printf("drain-end trailing=%zu\n", buf_len(&b));
	return;
 bad:
	printf("drain conn=%016llx: record does not parse\n",
	    (unsigned long long)d->conn_id);
}

static void
drain_part(const struct seal_keyrec *kr)
{
	struct drain *d = NULL;
	char path[512];
	FILE *f;
	int i;

	for (i = 0; i < MAX_DRAINS; i++)
		if (drains[i].used && drains[i].conn_id == kr->conn_id)
			d = &drains[i];
	if (d == NULL) {
		for (i = 0; i < MAX_DRAINS && drains[i].used; i++)
			;
		if (i == MAX_DRAINS || kr->drain_part != 0)
			return;
		d = &drains[i];
		d->used = 1;
		d->conn_id = kr->conn_id;
		d->nparts = kr->drain_nparts;
		d->got = 0;
		buf_init(&d->data, (size_t)SEAL_DRAIN_PARTS_MAX *
		    SEAL_DRAIN_CHUNK_MAX);
	}
	if (kr->drain_part != d->got)
		return;
	buf_put(&d->data, kr->drain_data, kr->drain_len);
	if (++d->got < d->nparts)
		return;
	summarise_drain(d);
	if (outdir != NULL) {
		snprintf(path, sizeof(path), "%s/drain-%016llx.bin", outdir,
		    (unsigned long long)d->conn_id);
		if ((f = fopen(path, "w")) != NULL) {
			fwrite(buf_ptr(&d->data), 1, buf_len(&d->data), f);
			fclose(f);
		}
	}
	buf_free(&d->data);
	d->used = 0;
}

static void
print_dir(const char *name, const struct seal_dir *d)
{
	char ivh[2 * SEAL_SECRET_MAX + 1];

	hex(d->iv, d->iv_len, ivh, sizeof(ivh));
	printf(" %s=%s/%s seqnr=%u iv=%s strict=%d", name, d->cipher,
	    d->mac[0] ? d->mac : "-", d->start_seqnr, ivh, d->strict_kex);
}

static void
one_record(struct client *c, const uint8_t *rec, size_t len)
{
	struct seal_header hdr;
	struct seal_keyrec *kr = NULL;
	struct buf payload;
	uint8_t ack[24];
	char sid[2 * SEAL_SESSION_ID_MAX + 1];
	int r, status = 0;

	memset(&hdr, 0, sizeof(hdr));
	buf_init(&payload, SEAL_PAYLOAD_MAX);
	if ((r = seal_open(rec, len, rkey, skey, sender, &hdr,
	    &payload)) != 0 ||
	    (r = seal_keyrec_decode(buf_ptr(&payload), buf_len(&payload),
	    &hdr, &kr)) != 0) {
		status = 2;
		(void)seal_peek_header(rec, len, &hdr);
		printf("reject conn=%016llx counter=%llu: error %d\n",
		    (unsigned long long)hdr.conn_id,
		    (unsigned long long)hdr.counter, r);
	} else if (kr->drain) {
		printf("rec sender=%s conn=%016llx counter=%llu kex=%u drain "
		    "part=%u/%u len=%zu\n", hdr.sender,
		    (unsigned long long)hdr.conn_id,
		    (unsigned long long)hdr.counter, kr->kex_number,
		    kr->drain_part, kr->drain_nparts, kr->drain_len);
		drain_part(kr);
	} else if (kr->closed) {
		printf("rec sender=%s conn=%016llx counter=%llu end\n",
		    hdr.sender, (unsigned long long)hdr.conn_id,
		    (unsigned long long)hdr.counter);
	} else {
		hex(kr->session_id, kr->session_id_len, sid, sizeof(sid));
		printf("rec sender=%s conn=%016llx counter=%llu kex=%u "
		    "client=%s:%u sid=%.16s kex_alg=%s hostkey=%s",
		    hdr.sender, (unsigned long long)hdr.conn_id,
		    (unsigned long long)hdr.counter, kr->kex_number,
		    inet_ntoa(*(struct in_addr *)kr->client.addr),
		    kr->client.port, sid, kr->kex_alg, kr->hostkey_alg);
		print_dir("c2s", &kr->c2s);
		print_dir("s2c", &kr->s2c);
		if (kr->has_login)
			printf(" login user=%s method=%s options=\"%s\"",
			    kr->user, kr->auth_method, kr->auth_options);
		printf("\n");
	}
	seal_keyrec_free(kr);
	buf_free(&payload);
	memcpy(ack, "SJA1", 4);
	ack[4] = (uint8_t)status;
	ack[5] = ack[6] = ack[7] = 0;
	for (r = 0; r < 8; r++) {
		ack[8 + r] = (uint8_t)(hdr.conn_id >> (56 - 8 * r));
		ack[16 + r] = (uint8_t)(hdr.counter >> (56 - 8 * r));
	}
	(void)!write(c->fd, ack, sizeof(ack));
	fflush(stdout);
}

/* 0 go on, -1 close the client. */
static int
client_read(struct client *c)
{
	ssize_t n;
	size_t total;

	n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	while (c->len >= 10) {
		if (seal_record_length(c->in, c->len, &total) != 0 ||
		    total > sizeof(c->in))
			return -1;
		if (c->len < total)
			break;
		one_record(c, c->in, total);
		memmove(c->in, c->in + total, c->len - total);
		c->len -= total;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct client clients[MAX_CLIENTS];
	struct pollfd pfd[MAX_CLIENTS + 1];
	struct sockaddr_in sin;
	char *listen_at = NULL, *rpath = NULL, *spath = NULL, *colon;
	int ch, l, i, one = 1;

	while ((ch = getopt(argc, argv, "l:r:s:n:o:")) != -1) {
		switch (ch) {
		case 'l': listen_at = optarg; break;
		case 'r': rpath = optarg; break;
		case 's': spath = optarg; break;
		case 'n': sender = optarg; break;
		case 'o': outdir = optarg; break;
		default: goto usage;
		}
	}
	if (listen_at == NULL || rpath == NULL || spath == NULL ||
	    (colon = strrchr(listen_at, ':')) == NULL)
		goto usage;
	*colon = '\0';
	if (seal_key_load_private(rpath, SEAL_KEY_X25519, &rkey) != 0 ||
	    seal_key_load_public(spath, SEAL_KEY_ED25519, &skey) != 0) {
		fprintf(stderr, "sjx1-sink: cannot load the keys\n");
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, listen_at, &sin.sin_addr) != 1 ||
	    (l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 8) == -1) {
		fprintf(stderr, "sjx1-sink: listen %s:%s: %s\n", listen_at,
		    colon + 1, strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening\n");
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	for (;;) {
		pfd[0].fd = l;
		pfd[0].events = POLLIN;
		for (i = 0; i < MAX_CLIENTS; i++) {
			pfd[i + 1].fd = clients[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, MAX_CLIENTS + 1, -1) == -1 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(l, NULL, NULL);

			for (i = 0; i < MAX_CLIENTS && clients[i].fd != -1; i++)
				;
			if (fd != -1 && i < MAX_CLIENTS) {
				clients[i].fd = fd;
				clients[i].len = 0;
				printf("connect\n");
			} else if (fd != -1)
				close(fd);
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd == -1 || pfd[i + 1].revents == 0)
				continue;
			if (client_read(&clients[i]) != 0) {
				close(clients[i].fd);
				clients[i].fd = -1;
				printf("disconnect\n");
			}
		}
	}
 usage:
	fprintf(stderr, "usage: sjx1-sink -l ADDR:PORT -r RECOVERY.key "
	    "-s SIGNING.pub [-n SENDER] [-o DIR]\n");
	return 2;
}
