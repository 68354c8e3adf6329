/*
 * fake-sshd: the recovery sshd as test_replay needs it.  jeebs-replay starts
 * it as `SSHD -i -J 3 ...`; it checks the descriptors it got, reads the
 * import frame and the plaintext packets on fd 3 and answers as the patched
 * sshd would: channel ids forced from the import, AuthenticationMethods from
 * the import's auth_method, X11 refused, the cutover checked against the
 * import.  After the cutover it writes "LIVE\n" to the socket (fd 1).
 *
 * FAKE_SSHD_MODE makes it misbehave (see the modes below); FAKE_SSHD_TRACE
 * names a file where it writes what it saw, one line per event.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "rpkg.h"

#define CONTROL_FD	3
#define MAX_CHANS	64

static const char *mode = "ok";
static FILE *trace;
static struct rpkg *import;
static int answered;		/* packets answered */

static struct {
	uint32_t	id_client, id_server;
	int		used;
} chans[MAX_CHANS];

static void
tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tracef(const char *fmt, ...)
{
	va_list ap;

	if (trace == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(trace, fmt, ap);
	va_end(ap);
	fputc('\n', trace);
	fflush(trace);
}

/* FNV-1a, to compare the log the sshd got with the package's. */
static uint32_t
fnv(uint32_t h, const void *p, size_t len)
{
	const uint8_t *q = p;

	while (len-- > 0)
		h = (h ^ *q++) * 16777619u;
	return h;
}

/*
 * Where the SJRI1 fields of an SJRI2 import end (docs/recovery-format.md),
 * and its log: the number of entries and a hash of them (dir, flags,
 * payload length and bytes, each u32 big endian).
 */
static int
sjri2_split(const uint8_t *p, size_t len, size_t *one, uint32_t *nlog,
    uint32_t *hash)
{
	struct buf b;
	const uint8_t *s;
	size_t slen;
	uint32_t n, i, u32[3];
	uint64_t u64;
	int d, j;

	buf_view(&b, p, len);
	for (j = 0; j < 6; j++)		/* magic .. hostkey_alg */
		if (buf_get_string_direct(&b, NULL, NULL) != 0)
			return -1;
	if (buf_get_u32(&b, &n) != 0 ||			/* strict */
	    buf_get_string_direct(&b, NULL, NULL) != 0 ||	/* user */
	    buf_get_string_direct(&b, NULL, NULL) != 0 ||	/* method */
	    buf_get_u32(&b, &n) != 0 ||			/* flags */
	    buf_get_string_direct(&b, NULL, NULL) != 0)	/* notice */
		return -1;
	for (d = 0; d < 2; d++) {
		for (j = 0; j < 5; j++)
			if (buf_get_string_direct(&b, NULL, NULL) != 0)
				return -1;
		if (buf_get_u32(&b, &n) != 0 || buf_get_u64(&b, &u64) != 0 ||
		    buf_get_u64(&b, &u64) != 0)
			return -1;
	}
	if (buf_get_u32(&b, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf_get_u32(&b, &u32[0]) != 0 ||
		    buf_get_u32(&b, &u32[0]) != 0 ||
		    buf_get_string_direct(&b, NULL, NULL) != 0)
			return -1;
		for (j = 0; j < 5; j++)
			if (buf_get_u32(&b, &u32[0]) != 0)
				return -1;
	}
	*one = len - buf_len(&b);
	if (buf_get_u32(&b, nlog) != 0)
		return -1;
	*hash = 2166136261u;
	for (i = 0; i < *nlog; i++) {
		if (buf_get_u32(&b, &u32[0]) != 0 ||
		    buf_get_u32(&b, &u32[1]) != 0 ||
		    buf_get_string_direct(&b, &s, &slen) != 0)
			return -1;
		u32[2] = (uint32_t)slen;
		for (j = 0; j < 3; j++) {
			uint8_t be[4] = { u32[j] >> 24, u32[j] >> 16,
			    u32[j] >> 8, u32[j] };

			*hash = fnv(*hash, be, 4);
		}
		*hash = fnv(*hash, s, slen);
	}
	return buf_len(&b) == 0 ? 0 : -1;
}

static int
is_mode(const char *m)
{
	return strcmp(mode, m) == 0;
}

static void
die(const char *what)
{
	tracef("error %s", what);
	exit(2);
}

static void
read_full(void *p, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(CONTROL_FD, (uint8_t *)p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			tracef("eof");
			exit(0);
		}
		off += (size_t)n;
	}
}

static void
write_full(int fd, const void *p, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, (const uint8_t *)p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		off += (size_t)n;
	}
}

/*
 * FAKE_SSHD_RECORD names a file where every payload sent is appended as a
 * u16 length and the payload: tests/fuzz/seedgen makes fuzz_cpr's seeds
 * of the answers so.
 */
static void
record(const struct buf *payload)
{
	const char *path = getenv("FAKE_SSHD_RECORD");
	uint8_t len[2];
	FILE *f;

	if (path == NULL || (f = fopen(path, "ab")) == NULL)
		return;
	len[0] = (uint8_t)(buf_len(payload) >> 8);
	len[1] = (uint8_t)buf_len(payload);
	fwrite(len, 1, 2, f);
	fwrite(buf_ptr(payload), 1, buf_len(payload), f);
	fclose(f);
}

static void
send_payload(struct buf *payload)
{
	struct buf pkt;

	buf_init(&pkt, 0);
	if (rpkg_packet_put(&pkt, buf_ptr(payload), buf_len(payload)) != 0)
		die("packet");
	write_full(CONTROL_FD, buf_ptr(&pkt), buf_len(&pkt));
	buf_free(&pkt);
	record(payload);
	buf_free(payload);
}

static void
send_type(uint8_t type)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, type);
	send_payload(&b);
}

static void
send_u32(uint8_t type, uint32_t v)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, type);
	buf_put_u32(&b, v);
	send_payload(&b);
}

/* What a real sshd sends unasked, in the noise mode. */
static void
noise(void)
{
	struct buf b;

	if (!is_mode("noise"))
		return;
	buf_init(&b, 0);
	buf_put_u8(&b, 2);			/* IGNORE */
	buf_put_cstring(&b, "padding");
	send_payload(&b);
	buf_init(&b, 0);
	buf_put_u8(&b, 4);			/* DEBUG */
	buf_put_u8(&b, 0);
	buf_put_cstring(&b, "debug text");
	buf_put_cstring(&b, "");
	send_payload(&b);
	buf_init(&b, 0);
	buf_put_u8(&b, 80);			/* GLOBAL_REQUEST, no reply */
	buf_put_cstring(&b, "hostkeys-00@openssh.com");
	buf_put_u8(&b, 0);
	buf_put_cstring(&b, "a host key blob");
	send_payload(&b);
	if (answered == 1) {
		buf_init(&b, 0);
		buf_put_u8(&b, 7);		/* EXT_INFO */
		buf_put_u32(&b, 1);
		buf_put_cstring(&b, "server-sig-algs");
		buf_put_cstring(&b, "ssh-ed25519");
		send_payload(&b);
		buf_init(&b, 0);
		buf_put_u8(&b, 53);		/* USERAUTH_BANNER */
		buf_put_cstring(&b, "Welcome\n");
		buf_put_cstring(&b, "");
		send_payload(&b);
	}
	if (chans[0].used) {
		buf_init(&b, 0);
		buf_put_u8(&b, 93);		/* CHANNEL_WINDOW_ADJUST */
		buf_put_u32(&b, chans[0].id_client);
		buf_put_u32(&b, 65536);
		send_payload(&b);
	}
}

/* Copy a string of the message into dst, printable. */
static void
get_str(struct buf *b, char *dst, size_t dstsize)
{
	const uint8_t *p;
	size_t len, i;

	if (buf_get_string_direct(b, &p, &len) != 0)
		die("malformed string");
	if (len > dstsize - 1)
		len = dstsize - 1;
	for (i = 0; i < len; i++)
		dst[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	dst[len] = '\0';
}

static void
userauth(struct buf *b)
{
	char user[256], service[64], method[128];
	struct buf out;
	uint8_t sig = 0;
	int ok;

	get_str(b, user, sizeof(user));
	get_str(b, service, sizeof(service));
	get_str(b, method, sizeof(method));
	if (strcmp(method, "publickey") == 0) {
		if (buf_get_u8(b, &sig) != 0)
			die("publickey");
		tracef("USERAUTH_REQUEST %s %s %s sig=%u", user, service,
		    method, sig);
	} else
		tracef("USERAUTH_REQUEST %s %s %s extra=%zu", user, service,
		    method, buf_len(b));
	noise();
	buf_init(&out, 0);
	if (is_mode("fail-auth")) {
		buf_put_u8(&out, 51);
		buf_put_cstring(&out, "publickey");
		buf_put_u8(&out, 0);
	} else if (strcmp(method, "publickey") == 0 && sig &&
	    strchr(import->auth_method, ',') != NULL) {
		buf_put_u8(&out, 51);
		buf_put_cstring(&out, "securejeebs-attested@securejeebs.org");
		buf_put_u8(&out, 1);
	} else {
		ok = (strcmp(method, "publickey") == 0 && sig) ||
		    (strcmp(method, "securejeebs-attested@securejeebs.org")
		    == 0 && strcmp(user, import->user) == 0 &&
		    strcmp(service, "ssh-connection") == 0 &&
		    buf_len(b) == 0);
		if (ok)
			buf_put_u8(&out, 52);
		else {
			buf_put_u8(&out, 51);
			buf_put_cstring(&out, "publickey");
			buf_put_u8(&out, 0);
		}
	}
	send_payload(&out);
}

/* The cutover: every channel of the import not opened by the server exists. */
static void
cutover(void)
{
	size_t i, c;
	int ok = !is_mode("refuse-cutover");

	for (i = 0; i < import->nchans; i++) {
		if (import->chans[i].flags & RPKG_CHAN_BY_SERVER)
			continue;
		for (c = 0; c < MAX_CHANS; c++)
			if (chans[c].used && chans[c].id_client ==
			    import->chans[i].id_client &&
			    chans[c].id_server == import->chans[i].id_server)
				break;
		if (c == MAX_CHANS)
			ok = 0;
	}
	send_type(ok ? 81 : 82);
	if (!ok)
		return;
	close(CONTROL_FD);
	write_full(1, "LIVE\n", 5);
	tracef("live");
	exit(0);
}

static void
global_request(struct buf *b)
{
	char name[128];
	uint8_t want;
	uint32_t port = 0;
	struct buf out;

	get_str(b, name, sizeof(name));
	if (buf_get_u8(b, &want) != 0)
		die("global request");
	if (strcmp(name, "tcpip-forward") == 0) {
		if (buf_get_string_direct(b, NULL, NULL) != 0 ||
		    buf_get_u32(b, &port) != 0)
			die("tcpip-forward");
		tracef("GLOBAL_REQUEST %s %u port=%u", name, want, port);
	} else
		tracef("GLOBAL_REQUEST %s %u", name, want);
	if (strcmp(name, "cutover@securejeebs.org") == 0) {
		cutover();
		return;
	}
	if (!want)
		return;
	noise();
	buf_init(&out, 0);
	buf_put_u8(&out, 81);
	if (strcmp(name, "tcpip-forward") == 0 && port == 0)
		buf_put_u32(&out, 40000);	/* a port of its own */
	send_payload(&out);
}

static void
channel_open(struct buf *b)
{
	char type[128];
	uint32_t sender, id;
	struct buf out;
	size_t i;

	get_str(b, type, sizeof(type));
	if (buf_get_u32(b, &sender) != 0)
		die("channel open");
	tracef("CHANNEL_OPEN %s %u", type, sender);
	/* The id the import asks for, else the lowest free one. */
	id = 0;
	for (i = 0; i < import->nchans; i++)
		if (import->chans[i].id_client == sender)
			break;
	if (i < import->nchans)
		id = import->chans[i].id_server;
	else
		for (i = 0; i < MAX_CHANS; i++)
			if (chans[i].used && chans[i].id_server == id) {
				id++;
				i = (size_t)-1;
			}
	if (is_mode("wrong-chan"))
		id++;
	for (i = 0; i < MAX_CHANS && chans[i].used; i++)
		;
	if (i == MAX_CHANS)
		die("too many channels");
	chans[i].used = 1;
	chans[i].id_client = sender;
	chans[i].id_server = id;
	noise();
	buf_init(&out, 0);
	buf_put_u8(&out, 91);
	buf_put_u32(&out, sender);
	buf_put_u32(&out, id);
	buf_put_u32(&out, 2097152);
	buf_put_u32(&out, 32768);
	send_payload(&out);
	if (is_mode("early-data")) {
		buf_init(&out, 0);
		buf_put_u8(&out, 94);
		buf_put_u32(&out, sender);
		buf_put_cstring(&out, "Last login: ...\r\n");
		send_payload(&out);
	}
}

static void
channel_request(struct buf *b)
{
	char name[128];
	uint32_t recipient;
	uint8_t want;
	size_t i;

	if (buf_get_u32(b, &recipient) != 0)
		die("channel request");
	get_str(b, name, sizeof(name));
	if (buf_get_u8(b, &want) != 0)
		die("channel request");
	tracef("CHANNEL_REQUEST %u %s %u", recipient, name, want);
	for (i = 0; i < MAX_CHANS; i++)
		if (chans[i].used && chans[i].id_server == recipient)
			break;
	if (i == MAX_CHANS)
		die("no such channel");
	if (!want)
		return;
	noise();
	if (strcmp(name, "x11-req") == 0 ||
	    (is_mode("fail-req") && strcmp(name, "pty-req") == 0))
		send_u32(100, chans[i].id_client);
	else
		send_u32(99, chans[i].id_client);
}

/* The descriptors jeebs-replay must give: 0 = 1 = a socket, 3, no more. */
static void
check_fds(void)
{
	struct stat s0, s1, s3;
	int fd, extra = 0;

	if (fstat(0, &s0) != 0 || fstat(1, &s1) != 0 ||
	    fstat(CONTROL_FD, &s3) != 0 || !S_ISSOCK(s0.st_mode) ||
	    s0.st_ino != s1.st_ino || !S_ISSOCK(s3.st_mode)) {
		tracef("fds bad");
		return;
	}
	for (fd = CONTROL_FD + 1; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) != -1 && (trace == NULL ||
		    fd != fileno(trace)))
			extra++;
	if (extra)
		tracef("fds bad: %d more open", extra);
	else
		tracef("fds ok");
}

static void
bad_packet(void)
{
	/* packet_length 12, padding 2: too little padding. */
	static const uint8_t p[16] = { 0, 0, 0, 12, 2, 6, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0 };

	write_full(CONTROL_FD, p, sizeof(p));
}

static void
disconnect(void)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, 1);
	buf_put_u32(&b, 11);
	buf_put_cstring(&b, "fake says no");
	buf_put_cstring(&b, "");
	send_payload(&b);
	exit(255);
}

int
main(int argc, char **argv)
{
	uint8_t lenbuf[4], *frame;
	const uint8_t *payload;
	struct buf in, b;
	char why[256], argline[1024] = "";
	uint32_t flen;
	size_t plen;
	uint8_t type;
	int i, tracefd = -1;

	if (getenv("FAKE_SSHD_MODE") != NULL)
		mode = getenv("FAKE_SSHD_MODE");
	/* Opened high, so that it is not taken for a leaked descriptor. */
	if (getenv("FAKE_SSHD_TRACE") != NULL &&
	    (tracefd = open(getenv("FAKE_SSHD_TRACE"),
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) != -1 &&
	    (i = fcntl(tracefd, F_DUPFD_CLOEXEC, 200)) != -1) {
		close(tracefd);
		trace = fdopen(i, "a");
	}
	tracef("pid %ld", (long)getpid());
	for (i = 1; i < argc; i++) {
		strncat(argline, " ", sizeof(argline) - strlen(argline) - 1);
		strncat(argline, argv[i], sizeof(argline) - strlen(argline) -
		    1);
	}
	tracef("argv%s", argline);
	check_fds();

	read_full(lenbuf, 4);
	flen = (uint32_t)lenbuf[0] << 24 | (uint32_t)lenbuf[1] << 16 |
	    (uint32_t)lenbuf[2] << 8 | lenbuf[3];
	if (flen > RPKG_MAX || (frame = malloc(flen ? flen : 1)) == NULL)
		die("import frame length");
	read_full(frame, flen);
	/* SJRI2: SJRI1 (its magic aside) and the setup log after it */
	if (flen >= 9 && memcmp(frame, "\0\0\0\5SJRI2", 9) == 0) {
		size_t one;
		uint32_t nlog, hash;

		if (sjri2_split(frame, flen, &one, &nlog, &hash) != 0) {
			tracef("import bad: SJRI2 log");
			exit(2);
		}
		frame[8] = '1';
		flen = (uint32_t)one;
		tracef("import SJRI2 log=%u hash=%08x", nlog, hash);
	}
	if (rpkg_decode_import(frame, flen, &import, why, sizeof(why)) != 0) {
		tracef("import bad: %s", why);
		exit(2);
	}
	tracef("import ok user=%s chans=%zu", import->user, import->nchans);
	free(frame);
	if (is_mode("exit")) {
		rpkg_free(import);
		exit(3);
	}
	if (is_mode("hang")) {
		/*
		 * A privilege-separated child holding the socket too: like
		 * sshd's, it exits when the control channel closes.
		 */
		pid_t child = fork();
		uint8_t c;

		if (child == 0) {
			while (read(CONTROL_FD, &c, 1) != 0)
				;
			_exit(0);
		}
		tracef("child %ld", (long)child);
		for (;;)
			pause();
	}

	buf_init(&in, 0);
	for (;;) {
		/* One packet: its length, then the rest. */
		read_full(lenbuf, 4);
		flen = (uint32_t)lenbuf[0] << 24 | (uint32_t)lenbuf[1] << 16 |
		    (uint32_t)lenbuf[2] << 8 | lenbuf[3];
		if (flen > RPKG_PACKET_MAX)
			die("packet too long");
		buf_reset(&in);
		buf_put(&in, lenbuf, 4);
		frame = realloc(NULL, flen ? flen : 1);
		read_full(frame, flen);
		buf_put(&in, frame, flen);
		free(frame);
		if (rpkg_packet_get(&in, &payload, &plen, why,
		    sizeof(why)) != 0) {
			tracef("bad packet: %s", why);
			exit(2);
		}
		buf_view(&b, payload, plen);
		if (buf_get_u8(&b, &type) != 0)
			die("empty payload");
		answered++;
		if (is_mode("killed"))
			kill(getpid(), SIGKILL);
		if (is_mode("disconnect"))
			disconnect();
		if (is_mode("bad-packet")) {
			bad_packet();
			for (;;)
				pause();
		}
		switch (type) {
		case 5:
			tracef("SERVICE_REQUEST %.*s",
			    (int)(buf_len(&b) > 4 ? buf_len(&b) - 4 : 0),
			    buf_ptr(&b) + 4);
			noise();
			buf_init(&b, 0);
			buf_put_u8(&b, 6);
			buf_put_cstring(&b, "ssh-userauth");
			send_payload(&b);
			break;
		case 50:
			userauth(&b);
			break;
		case 80:
			global_request(&b);
			break;
		case 90:
			channel_open(&b);
			break;
		case 98:
			channel_request(&b);
			break;
		default:
			tracef("MSG %u", type);
			send_u32(3, 0);
			break;
		}
	}
}
