/*
 * rio: waits bounded by one deadline, and the control channel to the
 * recovery sshd (see rio.h).  Sending always reads too, so that an sshd
 * blocked writing to us never deadlocks against us blocked writing to it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "rio.h"
#include "rpkg.h"

/* Bytes received and not yet taken: two packets of the largest size. */
#define RIO_IN_MAX		(2 * RPKG_PACKET_MAX + 64)
#define RIO_OUT_MAX		(RPKG_MAX + 64)
/* Without a pidfd, how often a wait looks whether the sshd still runs. */
#define RIO_CHILD_POLL_MS	50
/* How long an sshd that closed the channel may take to exit. */
#define RIO_EXIT_GRACE_MS	1000

static volatile sig_atomic_t rio_signal;
static sigset_t rio_oldmask, rio_pollmask;

static void
rio_catch(int sig)
{
	rio_signal = sig;
}

int
rio_signals_init(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	sigset_t block;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, &rio_oldmask) == -1)
		return -1;
	rio_pollmask = rio_oldmask;
	sa.sa_handler = rio_catch;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigdelset(&rio_pollmask, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	}
	return 0;
}

void
rio_signals_child(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE };
	struct sigaction sa;
	size_t i;

	/* Async-signal-safe only: this runs between fork and exec. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	(void)sigprocmask(SIG_SETMASK, &rio_oldmask, NULL);
}

void
rio_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

uint64_t
rio_us(const struct timespec *a, const struct timespec *b)
{
	int64_t us;

	us = ((int64_t)b->tv_sec - a->tv_sec) * 1000000 +
	    (b->tv_nsec - a->tv_nsec) / 1000;
	return us < 0 ? 0 : (uint64_t)us;
}

long
rio_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ms;

	rio_now(&now);
	ms = ((int64_t)deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec + 999999) / 1000000;
	return ms < 0 ? 0 : (long)ms;
}

int
rio_poll(struct pollfd *pfd, nfds_t n, const struct timespec *deadline,
    int max_ms, char *why, size_t whylen)
{
	struct timespec ts;
	long ms;
	int r;

	if (rio_signal != 0) {
		snprintf(why, whylen, "terminated by signal %d",
		    (int)rio_signal);
		return -1;
	}
	if ((ms = rio_ms_left(deadline)) == 0)
		return 0;
	if (max_ms >= 0 && ms > max_ms)
		ms = max_ms;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	if ((r = ppoll(pfd, n, &ts, &rio_pollmask)) >= 0)
		return r;
	if (errno == EINTR && rio_signal != 0) {
		snprintf(why, whylen, "terminated by signal %d",
		    (int)rio_signal);
		return -1;
	}
	if (errno == EINTR)
		return 0;
	snprintf(why, whylen, "poll: %s", strerror(errno));
	return -1;
}

static int
rio_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) >= 0) {
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
#else
	(void)pid;
#endif
	return -1;
}

void
rio_init(struct rio *io, int fd, pid_t pid, const struct timespec *deadline,
    double timeout)
{
	int fl;

	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->pid = pid;
	io->deadline = deadline;
	io->timeout = timeout;
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	io->pidfd = rio_pidfd_open(pid);
	buf_init(&io->in, RIO_IN_MAX);
	buf_init(&io->out, RIO_OUT_MAX);
	buf_init(&io->pkt, RPKG_PACKET_MAX);
	/* Userauth requests pass here; the import holds the keys. */
	buf_set_secret(&io->in);
	buf_set_secret(&io->out);
	buf_set_secret(&io->pkt);
}

void
rio_fini(struct rio *io)
{
	if (io->fd >= 0)
		close(io->fd);
	if (io->pidfd >= 0)
		close(io->pidfd);
	io->fd = io->pidfd = -1;
	buf_free(&io->in);
	buf_free(&io->out);
	buf_free(&io->pkt);
}

int
rio_reap(struct rio *io, int ms)
{
	struct pollfd pfd;
	struct timespec until, sleep5 = { 0, 5000000 };
	pid_t r;
	int st;

	if (io->reaped)
		return 1;
	rio_now(&until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	for (;;) {
		r = waitpid(io->pid, &st, WNOHANG);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == io->pid) {
			io->reaped = 1;
			io->status = st;
			return 1;
		}
		if (r == -1) {
			/* Not ours to wait for any more: gone, cause unknown. */
			io->reaped = 1;
			io->status = -1;
			return 1;
		}
		if (rio_ms_left(&until) == 0)
			return 0;
		if (io->pidfd >= 0) {
			pfd.fd = io->pidfd;
			pfd.events = POLLIN;
			(void)poll(&pfd, 1, (int)rio_ms_left(&until));
		} else
			(void)nanosleep(&sleep5, NULL);
	}
}

/* The sshd went away: say how, as the reason. */
static int
rio_gone(struct rio *io, const char *doing, char *why, size_t whylen)
{
	long grace = rio_ms_left(io->deadline);

	if (grace > RIO_EXIT_GRACE_MS || grace < 100)
		grace = grace < 100 ? 100 : RIO_EXIT_GRACE_MS;
	if (!rio_reap(io, (int)grace))
		snprintf(why, whylen, "the recovery sshd closed the control "
		    "channel (%s)", doing);
	else if (io->status == -1)
		snprintf(why, whylen, "the recovery sshd is gone (%s)", doing);
	else if (WIFEXITED(io->status))
		snprintf(why, whylen, "the recovery sshd exited with status "
		    "%d (%s)", WEXITSTATUS(io->status), doing);
	else if (WIFSIGNALED(io->status))
		snprintf(why, whylen, "the recovery sshd was killed by signal "
		    "%d (%s)", WTERMSIG(io->status), doing);
	else
		snprintf(why, whylen, "the recovery sshd stopped (%s)", doing);
	return -1;
}

/* Read what is there; 0, or -1 on too much unasked input. */
static int
rio_read(struct rio *io, char *why, size_t whylen)
{
	uint8_t tmp[16384];
	ssize_t n;

	for (;;) {
		n = recv(io->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* EOF, or an error that means the same. */
			io->eof = 1;
			break;
		}
		if (buf_put(&io->in, tmp, (size_t)n) != 0) {
			explicit_bzero(tmp, sizeof(tmp));
			snprintf(why, whylen, "the sshd sent over %u bytes "
			    "not read yet", RIO_IN_MAX);
			return -1;
		}
	}
	explicit_bzero(tmp, sizeof(tmp));
	return 0;
}

static void
rio_write(struct rio *io)
{
	ssize_t n;

	while (buf_len(&io->out) > 0) {
		n = send(io->fd, buf_ptr(&io->out), buf_len(&io->out),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			/* EPIPE, ECONNRESET: the sshd is gone. */
			io->eof = 1;
			buf_reset(&io->out);
			return;
		}
		(void)buf_skip(&io->out, (size_t)n);
	}
	buf_reset(&io->out);
}

/*
 * Send what is queued, and with want_packet go on until a whole packet has
 * come: 0 (the packet in io->pkt), or -1 with the reason.
 */
static int
rio_run(struct rio *io, int want_packet, const char *doing, char *why,
    size_t whylen)
{
	struct pollfd pfd[2];
	const uint8_t *p;
	char bad[128];
	size_t len;
	nfds_t n;
	int r;

	for (;;) {
		if (want_packet) {
			r = rpkg_packet_get(&io->in, &p, &len, bad,
			    sizeof(bad));
			if (r == 0) {
				if (!io->got_first) {
					io->got_first = 1;
					rio_now(&io->first);
				}
				buf_reset(&io->pkt);
				if (buf_put(&io->pkt, p, len) != 0) {
					snprintf(why, whylen, "out of memory");
					return -1;
				}
				return 0;
			}
			if (r != BUF_ERR_SHORT) {
				snprintf(why, whylen, "the sshd sent a "
				    "malformed packet: %s (%s)", bad, doing);
				return -1;
			}
		} else if (buf_len(&io->out) == 0)
			return 0;
		if (io->eof || io->reaped)
			return rio_gone(io, doing, why, whylen);
		if (rio_ms_left(io->deadline) == 0) {
			snprintf(why, whylen, "timed out after %g s (%s)",
			    io->timeout, doing);
			return -1;
		}
		pfd[0].fd = io->fd;
		pfd[0].events = POLLIN;
		if (buf_len(&io->out) > 0)
			pfd[0].events |= POLLOUT;
		pfd[0].revents = 0;
		n = 1;
		if (io->pidfd >= 0) {
			pfd[1].fd = io->pidfd;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			n = 2;
		}
		r = rio_poll(pfd, n, io->deadline,
		    io->pidfd >= 0 ? -1 : RIO_CHILD_POLL_MS, why, whylen);
		if (r < 0)
			return -1;
		if (pfd[0].revents & POLLOUT)
			rio_write(io);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR) &&
		    rio_read(io, why, whylen) != 0)
			return -1;
		if (n == 2 && (pfd[1].revents & POLLIN)) {
			/* It exited: take what it sent before, then stop. */
			(void)rio_reap(io, 0);
			if (rio_read(io, why, whylen) != 0)
				return -1;
		} else if (io->pidfd < 0 && r == 0)
			(void)rio_reap(io, 0);
	}
}

int
rio_send_frame(struct rio *io, const struct buf *payload, const char *what,
    char *why, size_t whylen)
{
	char doing[160];

	snprintf(doing, sizeof(doing), "sending %s", what);
	if (buf_len(payload) > UINT32_MAX ||
	    buf_put_u32(&io->out, (uint32_t)buf_len(payload)) != 0 ||
	    buf_put(&io->out, buf_ptr(payload), buf_len(payload)) != 0) {
		snprintf(why, whylen, "%s: too large", what);
		return -1;
	}
	return rio_run(io, 0, doing, why, whylen);
}

int
rio_send_packet(struct rio *io, const uint8_t *p, size_t len,
    const char *what, char *why, size_t whylen)
{
	char doing[160];

	snprintf(doing, sizeof(doing), "sending %s", what);
	if (rpkg_packet_put(&io->out, p, len) != 0) {
		snprintf(why, whylen, "%s: too large for a packet", what);
		return -1;
	}
	return rio_run(io, 0, doing, why, whylen);
}

int
rio_recv_packet(struct rio *io, const char *what, const uint8_t **p,
    size_t *len, char *why, size_t whylen)
{
	char doing[160];

	snprintf(doing, sizeof(doing), "waiting for %s", what);
	if (rio_run(io, 1, doing, why, whylen) != 0)
		return -1;
	*p = buf_ptr(&io->pkt);
	*len = buf_len(&io->pkt);
	return 0;
}
