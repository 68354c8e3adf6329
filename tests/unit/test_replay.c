/*
 * Unit tests for jeebs-replay: the real binary (replay/jeebs-replay) against
 * tests/unit/fake-sshd, on a real TCP connection over loopback whose server
 * end stands for the repaired socket.  The ok path reports and hands the
 * socket over; every misbehaviour of the sshd, a bad package or a log without
 * a successful authentication reports a failure with its reason, exits 1,
 * and the client end sees an RST and never a byte.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "rpkg.h"

static char replay_path[PATH_MAX + 64], fake_path[PATH_MAX + 64];
/* > 0: send jeebs-replay SIGTERM after this many ms. */
static int term_after_ms;

struct run {
	int	status;			/* jeebs-replay's exit status */
	char	report[1200];
	char	trace[8192];		/* what the fake sshd saw */
	char	err[32768];		/* jeebs-replay's stderr */
	int	client;			/* the client's end of the connection */
	double	secs;
};

/* Payload builders: one SSH message each, appended to the log. */

static void
add(struct rpkg *k, uint32_t dir, struct buf *b)
{
	assert_int_equal(rpkg_add_msg(k, dir, 0, buf_ptr(b), buf_len(b)), 0);
	buf_free(b);
}

static void
m_service(struct rpkg *k, uint32_t dir, uint8_t type)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, type);
	buf_put_cstring(&b, "ssh-userauth");
	add(k, dir, &b);
}

/* sig: -1 not publickey, 0 a query, 1 signed. */
static void
m_userauth(struct rpkg *k, const char *method, int sig)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, 50);
	buf_put_cstring(&b, "alice");
	buf_put_cstring(&b, "ssh-connection");
	buf_put_cstring(&b, method);
	if (sig >= 0) {
		buf_put_u8(&b, (uint8_t)sig);
		buf_put_cstring(&b, "ssh-ed25519");
		buf_put_cstring(&b, "public key blob");
		if (sig)
			buf_put_cstring(&b, "SECRET-SIGNATURE-BYTES");
	}
	add(k, RPKG_C2S, &b);
}

static void
m_password(struct rpkg *k)
{
	assert_int_equal(rpkg_add_msg(k, RPKG_C2S, 1, NULL, 0), 0);
}

static void
m_uafail(struct rpkg *k, const char *methods, int partial)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, 51);
	buf_put_cstring(&b, methods);
	buf_put_u8(&b, (uint8_t)partial);
	add(k, RPKG_S2C, &b);
}

static void
m_type(struct rpkg *k, uint32_t dir, uint8_t type)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, type);
	add(k, dir, &b);
}

static void
m_global(struct rpkg *k, const char *name, int want, int port)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, 80);
	buf_put_cstring(&b, name);
	buf_put_u8(&b, (uint8_t)want);
	if (port >= 0) {
		buf_put_cstring(&b, "");
		buf_put_u32(&b, (uint32_t)port);
	}
	add(k, RPKG_C2S, &b);
}

static void
m_u32s(struct rpkg *k, uint32_t dir, uint8_t type, int n, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 0);
	buf_put_u8(&b, type);
	va_start(ap, n);
	while (n-- > 0)
		buf_put_u32(&b, va_arg(ap, uint32_t));
	va_end(ap);
	add(k, dir, &b);
}

static void
m_open(struct rpkg *k, uint32_t dir, const char *type, uint32_t sender)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, 90);
	buf_put_cstring(&b, type);
	buf_put_u32(&b, sender);
	buf_put_u32(&b, 2097152);
	buf_put_u32(&b, 32768);
	add(k, dir, &b);
}

static void
m_chanreq(struct rpkg *k, uint32_t recipient, const char *name, int want)
{
	struct buf b;

	buf_init(&b, 0);
	buf_put_u8(&b, 98);
	buf_put_u32(&b, recipient);
	buf_put_cstring(&b, name);
	buf_put_u8(&b, (uint8_t)want);
	if (strcmp(name, "env") == 0) {
		buf_put_cstring(&b, "LANG");
		buf_put_cstring(&b, "C.UTF-8");
	}
	add(k, RPKG_C2S, &b);
}

static void
import_fields(struct rpkg *k)
{
	static const struct rpkg_chan chans[] = {
		{ 0, 3, "session", 1000, 2000, 32768, 16384, 0 },
		{ 1, 7, "direct-tcpip", 1000, 2000, 32768, 16384,
		    RPKG_CHAN_EOF_C2S },
		{ 2, 9, "forwarded-tcpip", 1000, 2000, 32768, 16384,
		    RPKG_CHAN_BY_SERVER },
	};
	size_t i;

	strcpy(k->client_version, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	strcpy(k->server_version, "SSH-2.0-OpenSSH_9.2p1");
	memset(k->session_id, 0x5a, 32);
	k->session_id_len = 32;
	strcpy(k->kex_alg, "curve25519-sha256");
	strcpy(k->hostkey_alg, "ssh-ed25519");
	k->strict_kex = 1;
	strcpy(k->user, "alice");
	strcpy(k->auth_method, "publickey,password");
	for (i = 0; i < 2; i++) {
		strcpy(k->dir[i].cipher, "aes128-ctr");
		strcpy(k->dir[i].mac, "hmac-sha2-256-etm@openssh.com");
		memset(k->dir[i].key, 0x11, 16);
		k->dir[i].key_len = 16;
		memset(k->dir[i].iv, 0x22, 16);
		k->dir[i].iv_len = 16;
		memset(k->dir[i].mac_key, 0x33, 32);
		k->dir[i].mac_key_len = 32;
		k->dir[i].seqnr = 40 + (uint32_t)i;
	}
	for (i = 0; i < sizeof(chans) / sizeof(chans[0]); i++)
		assert_int_equal(rpkg_add_chan(k, &chans[i]), 0);
}

/*
 * A session as OpenSSH's client makes it: none, a publickey query and the
 * signed request (partial success), a wrong password, the right one, a
 * remote forward on port 0, a shell with pty, env and a refused X11, a
 * direct-tcpip channel, then a forward the server opened.
 */
static struct rpkg *
sample(void)
{
	struct rpkg *k = rpkg_new();

	assert_non_null(k);
	import_fields(k);
	m_service(k, RPKG_C2S, 5);
	m_service(k, RPKG_S2C, 6);
	m_userauth(k, "none", -1);
	m_uafail(k, "publickey,password", 0);
	m_userauth(k, "publickey", 0);		/* PK_OK is not logged */
	m_userauth(k, "publickey", 1);
	m_uafail(k, "password", 1);
	m_password(k);
	m_uafail(k, "password", 0);
	m_password(k);
	m_type(k, RPKG_S2C, 52);
	m_global(k, "tcpip-forward", 1, 0);
	m_open(k, RPKG_C2S, "session", 0);
	m_u32s(k, RPKG_S2C, 81, 1, 40022);
	m_u32s(k, RPKG_S2C, 91, 4, 0, 3, 2097152, 32768);
	m_chanreq(k, 3, "pty-req", 1);
	m_chanreq(k, 3, "env", 0);
	m_chanreq(k, 3, "x11-req", 1);
	m_chanreq(k, 3, "shell", 1);
	m_u32s(k, RPKG_S2C, 99, 1, 0);
	m_u32s(k, RPKG_S2C, 100, 1, 0);
	m_u32s(k, RPKG_S2C, 99, 1, 0);
	m_open(k, RPKG_C2S, "direct-tcpip", 1);
	m_u32s(k, RPKG_S2C, 91, 4, 1, 7, 2097152, 32768);
	m_u32s(k, RPKG_C2S, 96, 1, 7);		/* EOF: in the import */
	m_global(k, "no-more-sessions@openssh.com", 0, -1);
	m_open(k, RPKG_S2C, "forwarded-tcpip", 9);
	m_u32s(k, RPKG_C2S, 91, 4, 9, 2, 2097152, 32768);
	return k;
}

static const char sample_trace[] =
	"SERVICE_REQUEST ssh-userauth\n"
	"USERAUTH_REQUEST alice ssh-connection publickey sig=1\n"
	"USERAUTH_REQUEST alice ssh-connection "
	    "securejeebs-attested@securejeebs.org extra=0\n"
	"GLOBAL_REQUEST tcpip-forward 1 port=40022\n"
	"CHANNEL_OPEN session 0\n"
	"CHANNEL_REQUEST 3 pty-req 1\n"
	"CHANNEL_REQUEST 3 env 0\n"
	"CHANNEL_REQUEST 3 x11-req 1\n"
	"CHANNEL_REQUEST 3 shell 1\n"
	"CHANNEL_OPEN direct-tcpip 1\n"
	"GLOBAL_REQUEST no-more-sessions@openssh.com 0\n"
	"GLOBAL_REQUEST cutover@securejeebs.org 1\n";

/* The sample's log: its size and hash, as fake-sshd computes them. */
static size_t
sample_nlog(void)
{
	struct rpkg *k = sample();
	size_t n = k->nlog;

	rpkg_free(k);
	return n;
}

static uint32_t
sample_log_hash(void)
{
	struct rpkg *k = sample();
	uint32_t h = 2166136261u, v[3];
	size_t i, j, b;

	for (i = 0; i < k->nlog; i++) {
		v[0] = k->log[i].dir;
		v[1] = (uint32_t)k->log[i].flags;
		v[2] = (uint32_t)k->log[i].len;
		for (j = 0; j < 3; j++)
			for (b = 0; b < 4; b++)
				h = (h ^ (uint8_t)(v[j] >> (24 - 8 * b))) *
				    16777619u;
		for (j = 0; j < k->log[i].len; j++)
			h = (h ^ k->log[i].p[j]) * 16777619u;
	}
	rpkg_free(k);
	return h;
}

static void
encode(struct rpkg *k, struct buf *pkg)
{
	buf_init(pkg, RPKG_MAX);
	assert_int_equal(rpkg_encode(k, pkg), 0);
	rpkg_free(k);
}

/* A connected TCP pair over loopback: *server is what the daemon repaired. */
static void
tcp_pair(int *client, int *server)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l;

	assert_true((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_true((*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) >= 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_true((*server = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0);
	close(l);
}

static int
temp_file(char *path, size_t len, const char *what)
{
	int fd;

	snprintf(path, len, "/tmp/test_replay.%s.XXXXXX", what);
	assert_true((fd = mkostemp(path, O_CLOEXEC)) >= 0);
	return fd;
}

static void
slurp(const char *path, char *dst, size_t len)
{
	ssize_t n = 0;
	int fd;

	dst[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	n = read(fd, dst, len - 1);
	dst[n > 0 ? n : 0] = '\0';
	close(fd);
}

/*
 * Run jeebs-replay as securejeebsd does: the socket on 0 and 1, the package
 * on 3, the report pipe on 4; the fake sshd in mode.  Extra arguments go
 * before -s.
 */
static void
run(const char *mode, const struct buf *pkg, const char *sshd,
    const char *const *extra, struct run *r)
{
	char pkgpath[64], tracepath[64], errpath[64];
	const char *argv[32];
	struct timespec t0, t1;
	struct pollfd pfd;
	int server, pkgfd, tracefd, errfd, rp[2], st, n = 0;
	size_t got = 0;
	ssize_t m;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	tcp_pair(&r->client, &server);
	pkgfd = temp_file(pkgpath, sizeof(pkgpath), "pkg");
	assert_int_equal(write(pkgfd, buf_ptr(pkg), buf_len(pkg)),
	    (ssize_t)buf_len(pkg));
	assert_int_equal(lseek(pkgfd, 0, SEEK_SET), 0);
	tracefd = temp_file(tracepath, sizeof(tracepath), "trace");
	close(tracefd);
	unlink(tracepath);
	errfd = temp_file(errpath, sizeof(errpath), "err");
	assert_int_equal(pipe2(rp, O_CLOEXEC), 0);

	argv[n++] = replay_path;
	argv[n++] = "-d";
	while (extra != NULL && *extra != NULL)
		argv[n++] = *extra++;
	argv[n++] = "-s";
	argv[n++] = sshd != NULL ? sshd : fake_path;
	argv[n++] = "-f";
	argv[n++] = "/dev/null";
	argv[n++] = "-o";
	argv[n++] = "LogLevel=ERROR";
	argv[n] = NULL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		if (dup2(server, 0) == -1 || dup2(server, 1) == -1 ||
		    dup2(errfd, 2) == -1 || dup2(pkgfd, 3) == -1 ||
		    dup2(rp[1], 4) == -1)
			_exit(126);
		/* dup2() onto itself leaves close-on-exec set. */
		for (n = 0; n <= 4; n++)
			(void)fcntl(n, F_SETFD, 0);
		setenv("FAKE_SSHD_MODE", mode, 1);
		setenv("FAKE_SSHD_TRACE", tracepath, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(server);
	close(pkgfd);
	close(rp[1]);
	unlink(pkgpath);
	pfd.fd = rp[0];
	pfd.events = POLLIN;
	if (term_after_ms > 0 && poll(&pfd, 1, term_after_ms) == 0)
		kill(pid, SIGTERM);
	while (got < sizeof(r->report) - 1 && poll(&pfd, 1, 5000) > 0) {
		if ((m = read(rp[0], r->report + got,
		    sizeof(r->report) - 1 - got)) <= 0)
			break;
		got += (size_t)m;
	}
	r->report[got] = '\0';
	close(rp[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	close(errfd);
	slurp(errpath, r->err, sizeof(r->err));
	unlink(errpath);
	slurp(tracepath, r->trace, sizeof(r->trace));
	unlink(tracepath);
}

/* The client end gets an RST, and not one byte before it. */
static void
assert_reset(int client)
{
	struct pollfd pfd = { .fd = client, .events = POLLIN };
	char c;
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 2000), 1);
	n = recv(client, &c, 1, MSG_DONTWAIT);
	if (n >= 0)
		fail_msg("the client got %s, not an RST", n == 0 ? "a FIN" :
		    "data");
	assert_int_equal(errno, ECONNRESET);
	close(client);
}

/*
 * The lines of the trace after the import: the messages the sshd got (what
 * it writes after the cutover may come after jeebs-replay exits: cut).
 */
static const char *
trace_messages(struct run *r)
{
	char *p = strstr(r->trace, "import ok"), *live;

	assert_non_null(p);
	assert_non_null(p = strchr(p, '\n'));
	if ((live = strstr(p, "\nlive\n")) != NULL)
		live[1] = '\0';
	return p + 1;
}

/* A failure: exit 1, one report line starting with expect, an RST. */
static void
assert_failed(struct run *r, const char *expect)
{
	size_t len = strlen(r->report);

	if (r->status != 1 || strncmp(r->report, "fail ", 5) != 0 ||
	    strstr(r->report, expect) == NULL)
		fail_msg("status %d, report \"%s\", expected \"%s\"; stderr:\n"
		    "%s", r->status, r->report, expect, r->err);
	assert_true(len > 0 && r->report[len - 1] == '\n');
	assert_null(strchr(r->report, '\n') + 1 < r->report + len ?
	    "two lines" : NULL);
	assert_reset(r->client);
}

static void
run_mode(const char *mode, const char *const *extra, struct run *r)
{
	struct buf pkg;

	encode(sample(), &pkg);
	run(mode, &pkg, NULL, extra, r);
	buf_free(&pkg);
}

static void
test_ok(void **state)
{
	unsigned long long pid, sshd_us, replay_us, cutover_us, messages;
	struct pollfd pfd;
	struct run r;
	char live[16], sjri2[64];
	size_t got;
	ssize_t n = -1;

	(void)state;
	run_mode("ok", NULL, &r);
	if (r.status != 0)
		fail_msg("status %d, report %s, stderr:\n%s", r.status,
		    r.report, r.err);
	assert_int_equal(sscanf(r.report, "ok sshd_pid=%llu sshd_us=%llu "
	    "replay_us=%llu cutover_us=%llu messages=%llu\n", &pid, &sshd_us,
	    &replay_us, &cutover_us, &messages), 5);
	assert_true(pid > 1);
	assert_int_equal(messages, 11);
	assert_true(sshd_us > 0 && sshd_us < 5000000);
	/* Exactly the replay rules' selection, in log order. */
	assert_non_null(strstr(r.trace, "argv -i -J 3 -f /dev/null "
	    "-o LogLevel=ERROR\n"));
	assert_non_null(strstr(r.trace, "fds ok\n"));
	assert_non_null(strstr(r.trace, "import ok user=alice chans=3\n"));
	/* SJRI2: the import carries the package's whole setup log */
	snprintf(sjri2, sizeof(sjri2), "import SJRI2 log=%zu hash=%08x\n",
	    sample_nlog(), sample_log_hash());
	assert_non_null(strstr(r.trace, sjri2));
	assert_string_equal(trace_messages(&r), sample_trace);
	/* The debug log names messages, never a byte of a payload. */
	assert_non_null(strstr(r.err, "> USERAUTH_REQUEST publickey"));
	assert_non_null(strstr(r.err, "< CHANNEL_OPEN_CONFIRMATION"));
	assert_non_null(strstr(r.err, "> GLOBAL_REQUEST "
	    "cutover@securejeebs.org"));
	assert_null(strstr(r.err, "SECRET-SIGNATURE"));
	/*
	 * The sshd has the socket: what it writes after the cutover reaches
	 * the client, then its exit closes the connection cleanly (a FIN:
	 * jeebs-replay's copy is closed without resetting it).
	 */
	pfd.fd = r.client;
	pfd.events = POLLIN;
	got = 0;
	while (got < sizeof(live) - 1 && poll(&pfd, 1, 2000) == 1 &&
	    (n = recv(r.client, live + got, sizeof(live) - 1 - got, 0)) > 0)
		got += (size_t)n;
	live[got] = '\0';
	assert_string_equal(live, "LIVE\n");
	assert_int_equal(n, 0);
	close(r.client);
}

/* Messages an sshd sends unasked are skipped. */
static void
test_ok_noise(void **state)
{
	struct run r;

	(void)state;
	run_mode("noise", NULL, &r);
	if (r.status != 0)
		fail_msg("status %d, report %s", r.status, r.report);
	assert_non_null(strstr(r.report, " messages=11\n"));
	assert_non_null(strstr(r.err, "< EXT_INFO (skipped)"));
	assert_non_null(strstr(r.err, "< CHANNEL_WINDOW_ADJUST (skipped)"));
	assert_string_equal(trace_messages(&r), sample_trace);
	close(r.client);
}

static void
test_wrong_channel(void **state)
{
	struct run r;

	(void)state;
	run_mode("wrong-chan", NULL, &r);
	assert_failed(&r, "fail channel 0: the sshd assigned id 4, the "
	    "original server 3\n");
}

static void
test_auth_refused(void **state)
{
	struct run r;

	(void)state;
	run_mode("fail-auth", NULL, &r);
	assert_failed(&r, "USERAUTH_REQUEST publickey: the sshd refused it, "
	    "the original server answered a partial success");
}

static void
test_request_refused(void **state)
{
	struct run r;

	(void)state;
	run_mode("fail-req", NULL, &r);
	assert_failed(&r, "channel 0: pty-req: the sshd answered FAILURE, the "
	    "original server SUCCESS");
}

static void
test_sshd_exits(void **state)
{
	struct run r;

	(void)state;
	run_mode("exit", NULL, &r);
	assert_failed(&r, "fail the recovery sshd exited with status 3");
}

static void
test_sshd_killed(void **state)
{
	struct run r;

	(void)state;
	run_mode("killed", NULL, &r);
	assert_failed(&r, "the recovery sshd was killed by signal 9");
}

/* Whether pid still runs (a zombie does not). */
static int
running(long pid)
{
	char path[64], stat[256], *p;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	slurp(path, stat, sizeof(stat));
	if (stat[0] == '\0' || (p = strrchr(stat, ')')) == NULL)
		return 0;
	return p[2] != 'Z' && p[2] != 'X';
}

/*
 * A hung sshd: the deadline kills it; its child goes when the control
 * channel closes, and the last close of the socket resets it.
 */
static void
test_sshd_hangs(void **state)
{
	static const char *const extra[] = { "-t", "0.3", NULL };
	const char *p;
	long pid, child;
	struct run r;
	int i;

	(void)state;
	run_mode("hang", extra, &r);
	assert_failed(&r, "fail timed out after 0.3 s (waiting for the "
	    "answer to SERVICE_REQUEST ssh-userauth)");
	assert_true(r.secs >= 0.3 && r.secs < 1.5);
	assert_non_null(p = strstr(r.trace, "pid "));
	pid = strtol(p + 4, NULL, 10);
	assert_non_null(p = strstr(r.trace, "child "));
	child = strtol(p + 6, NULL, 10);
	for (i = 0; i < 100 && (running(pid) || running(child)); i++)
		usleep(10000);
	assert_false(running(pid));
	assert_false(running(child));
}

/* Terminated by the daemon: the same as any failure. */
static void
test_terminated(void **state)
{
	struct run r;

	(void)state;
	term_after_ms = 100;
	run_mode("hang", NULL, &r);
	term_after_ms = 0;
	assert_failed(&r, "fail terminated by signal 15\n");
	assert_true(r.secs < 1.5);
}

static void
test_cutover_refused(void **state)
{
	struct run r;

	(void)state;
	run_mode("refuse-cutover", NULL, &r);
	assert_failed(&r, "fail the sshd refused the cutover");
}

static void
test_bad_packet(void **state)
{
	struct run r;

	(void)state;
	run_mode("bad-packet", NULL, &r);
	assert_failed(&r, "the sshd sent a malformed packet: padding of 2 "
	    "bytes");
}

static void
test_disconnect(void **state)
{
	struct run r;

	(void)state;
	run_mode("disconnect", NULL, &r);
	assert_failed(&r, "fail the sshd disconnected: fake says no "
	    "(reason 11");
}

/* A program started before the cutover would make the windows drift. */
static void
test_early_data(void **state)
{
	struct run r;

	(void)state;
	run_mode("early-data", NULL, &r);
	assert_failed(&r, "the sshd sent CHANNEL_DATA, waiting for the answer "
	    "to CHANNEL_REQUEST pty-req on channel 0");
}

/* Only failed attempts: nothing to replay; the sshd is never started. */
static void
test_no_success(void **state)
{
	struct rpkg *k = rpkg_new();
	struct buf pkg;
	struct run r;

	(void)state;
	import_fields(k);
	m_service(k, RPKG_C2S, 5);
	m_service(k, RPKG_S2C, 6);
	m_password(k);
	m_uafail(k, "publickey,password", 0);
	m_userauth(k, "publickey", 1);
	m_uafail(k, "publickey,password", 0);
	encode(k, &pkg);
	run("ok", &pkg, NULL, NULL, &r);
	buf_free(&pkg);
	assert_failed(&r, "fail the log holds no successful authentication\n");
	assert_string_equal(r.trace, "");
}

static void
test_bad_package(void **state)
{
	struct buf pkg, cut;
	struct run r;

	(void)state;
	encode(sample(), &pkg);
	buf_view(&cut, buf_ptr(&pkg), buf_len(&pkg) - 1);
	run("ok", &cut, NULL, NULL, &r);
	buf_free(&pkg);
	assert_failed(&r, "fail package: log entry 27: truncated\n");
	assert_string_equal(r.trace, "");
}

static void
test_no_sshd(void **state)
{
	struct buf pkg;
	struct run r;

	(void)state;
	encode(sample(), &pkg);
	run("ok", &pkg, "/nonexistent/sshd", NULL, &r);
	buf_free(&pkg);
	assert_failed(&r, "fail cannot execute /nonexistent/sshd: No such "
	    "file or directory\n");
}

static void
test_usage(void **state)
{
	static const char *const extra[] = { "-t", "soon", NULL };
	struct run r;

	(void)state;
	run_mode("ok", extra, &r);
	assert_failed(&r, "fail usage: -t soon");
}

/* Where the binaries are: next to this test's own directory. */
static void
find_binaries(void)
{
	char self[PATH_MAX], *p;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "cannot find myself\n");
		exit(1);
	}
	self[n] = '\0';
	if ((p = strstr(self, "/tests/unit/")) == NULL) {
		fprintf(stderr, "%s: not under tests/unit/\n", self);
		exit(1);
	}
	*p = '\0';
	snprintf(replay_path, sizeof(replay_path), "%s/replay/jeebs-replay",
	    self);
	snprintf(fake_path, sizeof(fake_path), "%s/tests/unit/fake-sshd",
	    self);
	if (access(replay_path, X_OK) != 0 || access(fake_path, X_OK) != 0) {
		fprintf(stderr, "build %s and %s first (make unit)\n",
		    replay_path, fake_path);
		exit(1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_ok_noise),
		cmocka_unit_test(test_wrong_channel),
		cmocka_unit_test(test_auth_refused),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_sshd_exits),
		cmocka_unit_test(test_sshd_killed),
		cmocka_unit_test(test_sshd_hangs),
		cmocka_unit_test(test_terminated),
		cmocka_unit_test(test_cutover_refused),
		cmocka_unit_test(test_bad_packet),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_early_data),
		cmocka_unit_test(test_no_success),
		cmocka_unit_test(test_bad_package),
		cmocka_unit_test(test_no_sshd),
		cmocka_unit_test(test_usage),
	};

	signal(SIGPIPE, SIG_IGN);
	find_binaries();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
