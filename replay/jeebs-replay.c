/*
 * jeebs-replay: the Controlled Partial Replay client (DESIGN.md 6,
 * docs/recovery-format.md).  securejeebsd runs it per recovered SSH
 * connection with the repaired socket on fd 0 and 1, the recovery package on
 * fd 3 and the report pipe on fd 4.  It starts the recovery sshd on the
 * socket, replays the setup log to it over a private control channel, checks
 * every answer and orders the cutover.  It never reads or writes the socket:
 * on any failure it kills the sshd and resets the connection, so that the
 * client gets an RST and never a byte.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cpr.h"
#include "log.h"
#include "rio.h"
#include "rpkg.h"
#include "version.h"

#define FD_SOCKET		0	/* and 1: the repaired socket */
#define FD_PACKAGE		3
#define FD_REPORT		4
#define FD_SSHD_CONTROL		3	/* the sshd's end of the channel */
#define FD_HIGH			10	/* ours live above the fixed ones */

#define REPLAY_TIMEOUT		10.0	/* -t, seconds */
#define REPLAY_TIMEOUT_MAX	3600.0
#define REPLAY_MAX_OPTIONS	64	/* -o */
#define REPORT_MAX		1000	/* the report line, with its \n */
#define REASON_MAX		(REPORT_MAX - sizeof("fail \n") + 1)

struct replay {
	int			 sock;		/* our duplicate of the socket */
	pid_t			 pid;		/* the sshd, once started */
	int			 reaped;
	struct rio		 io;
	int			 io_open;
	struct timespec		 deadline;
	double			 timeout;
	/* Secrets, wiped on either way out. */
	struct buf		 raw;		/* the package as read */
	struct rpkg		*k;
	struct cpr_plan		 plan;
};

static void
usage(void)
{
	fprintf(stderr, "usage: jeebs-replay [-d] [-t seconds] -s sshd "
	    "[-f sshd_config] [-o option]...\n"
	    "       jeebs-replay -V\n");
}

static void
wipe_secrets(struct replay *rp)
{
	buf_free(&rp->raw);
	cpr_plan_free(&rp->plan);
	rpkg_free(rp->k);
	rp->k = NULL;
}

/* One line to fd 4; the reason made printable and cut to fit. */
static void
report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
report(const char *fmt, ...)
{
	char line[REPORT_MAX + 1];
	va_list ap;
	size_t len, off = 0, i;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	len = strlen(line);
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	while (off < len) {
		n = write(FD_REPORT, line + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			line[len - 1] = '\0';
			log_error("cannot write the report to fd %d (%s): %s",
			    FD_REPORT, strerror(errno), line);
			return;
		}
		off += (size_t)n;
	}
}

/*
 * Any failure: kill the sshd, then close the control channel (what the sshd
 * started, privilege-separated children, exits on its end of file) and our
 * duplicate of the socket.  SO_LINGER 0 goes first: whoever closes the
 * socket last resets it, and the client gets an RST.  The sshd stays in our
 * process group, so that securejeebsd's last resort, killing that group,
 * takes it too.
 */
static void __attribute__((noreturn))
fail(struct replay *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void __attribute__((noreturn))
fail(struct replay *rp, const char *fmt, ...)
{
	struct linger lg = { 1, 0 };
	char why[REASON_MAX];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (rp->sock >= 0 && setsockopt(rp->sock, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)) == -1 && errno != ENOTSOCK)
		log_error("SO_LINGER on the socket: %s", strerror(errno));
	if (rp->pid > 0 && !rp->reaped && !(rp->io_open && rp->io.reaped)) {
		(void)kill(rp->pid, SIGKILL);
		while (waitpid(rp->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (rp->io_open)
		rio_fini(&rp->io);
	if (rp->sock >= 0)
		close(rp->sock);
	wipe_secrets(rp);
	log_debug("fail %s", why);
	report("fail %s", why);
	exit(1);
}

static int
fd_high(int fd)
{
	int n;

	if ((n = fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH)) == -1)
		return -1;
	close(fd);
	return n;
}

/* The package, read to EOF from fd 3; at most RPKG_MAX bytes. */
static void
read_package(struct replay *rp, struct buf *pkg)
{
	struct pollfd pfd;
	uint8_t chunk[65536];
	char why[256];
	ssize_t n;
	int r;

	for (;;) {
		pfd.fd = FD_PACKAGE;
		pfd.events = POLLIN;
		if ((r = rio_poll(&pfd, 1, &rp->deadline, -1, why,
		    sizeof(why))) < 0)
			fail(rp, "reading the package: %s", why);
		if (r == 0) {
			if (rio_ms_left(&rp->deadline) == 0)
				fail(rp, "package: timed out after %g s "
				    "reading fd %d", rp->timeout, FD_PACKAGE);
			continue;
		}
		if (pfd.revents & POLLNVAL)
			fail(rp, "package: fd %d is not open", FD_PACKAGE);
		n = read(FD_PACKAGE, chunk, sizeof(chunk));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			fail(rp, "package: reading fd %d: %s", FD_PACKAGE,
			    strerror(errno));
		if (n == 0)
			break;
		if (buf_len(pkg) + (size_t)n > RPKG_MAX ||
		    buf_put(pkg, chunk, (size_t)n) != 0) {
			explicit_bzero(chunk, sizeof(chunk));
			fail(rp, "package: over %u bytes", RPKG_MAX);
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(FD_PACKAGE);
}

/*
 * Close lowfd to highfd, both included (async-signal-safe); without
 * close_range(), a loop that stops at maxfd.
 */
static void
close_fds(int lowfd, int highfd, int maxfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, (unsigned)highfd,
	    0) == 0)
		return;
#endif
	for (; lowfd <= highfd && lowfd < maxfd; lowfd++)
		(void)close(lowfd);
}

/*
 * The sshd: fd 0 and 1 the socket, fd 3 its end of the control channel,
 * stderr ours, nothing else.  exec_fd reports errno if the exec fails.
 */
static void __attribute__((noreturn))
sshd_child(struct replay *rp, int ctl, int exec_fd, char **argv, int maxfd)
{
	int e;

	rio_signals_child();
	if (dup2(rp->sock, 0) == -1 || dup2(rp->sock, 1) == -1 ||
	    dup2(ctl, FD_SSHD_CONTROL) == -1)
		goto bad;
	if (exec_fd <= FD_SSHD_CONTROL)
		goto bad;
	/* exec_fd is close-on-exec: keep it until the exec. */
	close_fds(FD_SSHD_CONTROL + 1, exec_fd - 1, maxfd);
	close_fds(exec_fd + 1, INT_MAX, maxfd);
	execv(argv[0], argv);
 bad:
	e = errno;
	(void)!write(exec_fd, &e, sizeof(e));
	_exit(127);
}

static void
start_sshd(struct replay *rp, char **argv, struct timespec *started)
{
	struct pollfd pfd;
	char why[256];
	int sv[2], ep[2], ours, theirs, e = 0, maxfd, r;
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fail(rp, "socketpair: %s", strerror(errno));
	if ((ours = fd_high(sv[0])) == -1 || (theirs = fd_high(sv[1])) == -1)
		fail(rp, "fcntl: %s", strerror(errno));
	if (pipe2(ep, O_CLOEXEC) == -1 || (ep[0] = fd_high(ep[0])) == -1 ||
	    (ep[1] = fd_high(ep[1])) == -1)
		fail(rp, "pipe: %s", strerror(errno));
	/* The fallback's bound; close_range() needs none. */
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	if (maxfd <= 0 || maxfd > 65536)
		maxfd = 65536;
	rio_now(started);
	if ((pid = fork()) == -1)
		fail(rp, "fork: %s", strerror(errno));
	if (pid == 0)
		sshd_child(rp, theirs, ep[1], argv, maxfd);
	rp->pid = pid;
	close(theirs);
	close(ep[1]);
	rio_init(&rp->io, ours, pid, &rp->deadline, rp->timeout);
	rp->io_open = 1;

	/* EOF: the exec happened; an errno: it did not. */
	pfd.fd = ep[0];
	pfd.events = POLLIN;
	for (;;) {
		if ((r = rio_poll(&pfd, 1, &rp->deadline, -1, why,
		    sizeof(why))) < 0)
			fail(rp, "starting %s: %s", argv[0], why);
		if (r == 0 && rio_ms_left(&rp->deadline) == 0)
			fail(rp, "starting %s: timed out after %g s", argv[0],
			    rp->timeout);
		if (r == 0)
			continue;
		n = read(ep[0], &e, sizeof(e));
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		if (rio_reap(&rp->io, 1000))
			rp->reaped = 1;
		fail(rp, "cannot execute %s: %s", argv[0], strerror(e));
	}
	debug_f("started %s, pid %ld", argv[0], (long)pid);
}

/* Our fd 0 and 1 become /dev/null: only the sshd holds the socket there. */
static void
drop_stdio(struct replay *rp)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fail(rp, "/dev/null: %s", strerror(errno));
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		fail(rp, "dup2: %s", strerror(errno));
	if (fd > 1)
		close(fd);
}

static double
parse_timeout(const char *s)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(t > 0) ||
	    t > REPLAY_TIMEOUT_MAX)
		return -1;
	return t;
}

int
main(int argc, char **argv)
{
	struct replay rp;
	struct cpr_result res;
	struct timespec started;
	char why[REASON_MAX], *sshd = NULL, *config = NULL;
	char *options[REPLAY_MAX_OPTIONS], *sargv[2 * REPLAY_MAX_OPTIONS + 8];
	int ch, debug = 0, type = 0, noptions = 0, i, n;
	socklen_t tlen = sizeof(type);
	long ns;

	memset(&rp, 0, sizeof(rp));
	rp.sock = -1;
	buf_init(&rp.raw, RPKG_MAX);
	buf_set_secret(&rp.raw);
	rp.timeout = REPLAY_TIMEOUT;
	log_init("jeebs-replay", 1, 0);
	(void)fcntl(FD_REPORT, F_SETFD, FD_CLOEXEC);

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("jeebs-replay %s\n", SJ_VERSION);
		return 0;
	}
	/* A failure resets the connection: take the socket first. */
	if ((rp.sock = fcntl(FD_SOCKET, F_DUPFD_CLOEXEC, FD_HIGH)) == -1) {
		report("fail fd %d: %s", FD_SOCKET, strerror(errno));
		return 1;
	}
	if (rio_signals_init() != 0)
		fail(&rp, "signals: %s", strerror(errno));
	while ((ch = getopt(argc, argv, "dt:s:f:o:V")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 't':
			if ((rp.timeout = parse_timeout(optarg)) < 0) {
				usage();
				fail(&rp, "usage: -t %s: not a number of "
				    "seconds in (0, %g]", optarg,
				    REPLAY_TIMEOUT_MAX);
			}
			break;
		case 's':
			sshd = optarg;
			break;
		case 'f':
			config = optarg;
			break;
		case 'o':
			if (noptions == REPLAY_MAX_OPTIONS)
				fail(&rp, "usage: over %d -o options",
				    REPLAY_MAX_OPTIONS);
			options[noptions++] = optarg;
			break;
		case 'V':
			printf("jeebs-replay %s\n", SJ_VERSION);
			return 0;
		default:
			usage();
			fail(&rp, "usage: unknown option");
		}
	}
	if (optind != argc || sshd == NULL) {
		usage();
		fail(&rp, "usage: %s", sshd == NULL ? "no -s sshd" :
		    "unexpected arguments");
	}
	log_init("jeebs-replay", 1, debug);
	rio_now(&rp.deadline);
	ns = (long)((rp.timeout - (double)(long)rp.timeout) * 1e9);
	rp.deadline.tv_sec += (time_t)rp.timeout;
	rp.deadline.tv_nsec += ns;
	if (rp.deadline.tv_nsec >= 1000000000) {
		rp.deadline.tv_sec++;
		rp.deadline.tv_nsec -= 1000000000;
	}
	if (getsockopt(rp.sock, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_STREAM)
		fail(&rp, "fd %d is not a stream socket", FD_SOCKET);

	read_package(&rp, &rp.raw);
	if (rpkg_decode(buf_ptr(&rp.raw), buf_len(&rp.raw), &rp.k, why,
	    sizeof(why)) != 0)
		fail(&rp, "%s", why);
	buf_free(&rp.raw);
	debug_f("package: user %s, %zu channels, %zu log entries",
	    rp.k->user, rp.k->nchans, rp.k->nlog);
	if (cpr_plan(rp.k, &rp.plan, why, sizeof(why)) != 0)
		fail(&rp, "%s", why);

	n = 0;
	sargv[n++] = sshd;
	sargv[n++] = "-i";
	sargv[n++] = "-J";
	sargv[n++] = "3";
	if (config != NULL) {
		sargv[n++] = "-f";
		sargv[n++] = config;
	}
	for (i = 0; i < noptions; i++) {
		sargv[n++] = "-o";
		sargv[n++] = options[i];
	}
	sargv[n] = NULL;
	start_sshd(&rp, sargv, &started);
	drop_stdio(&rp);

	if (cpr_run(rp.k, &rp.plan, &rp.io, &res, why, sizeof(why)) != 0)
		fail(&rp, "%s", why);
	wipe_secrets(&rp);

	/* The sshd goes on alone with the socket. */
	rio_fini(&rp.io);
	rp.io_open = 0;
	close(rp.sock);
	rp.sock = -1;
	debug_f("cutover done: %zu messages replayed", res.messages);
	report("ok sshd_pid=%ld sshd_us=%llu replay_us=%llu cutover_us=%llu "
	    "messages=%zu", (long)rp.pid,
	    (unsigned long long)rio_us(&started, &rp.io.first),
	    (unsigned long long)rio_us(&rp.io.first, &res.cutover_sent),
	    (unsigned long long)rio_us(&res.cutover_sent, &res.cutover_done),
	    res.messages);
	return 0;
}
