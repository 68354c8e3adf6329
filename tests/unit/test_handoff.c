/*
 * Unit tests for recovery/handoff.c on a socket pair standing in for the
 * rebuilt connection: the program gets the socket as stdin and stdout and
 * exactly the environment given, both ways of starting it (spawned when
 * nothing is to be resent, forked when server bytes go first, which then
 * reach the peer before anything the program writes), plain commands run
 * without a shell and shell syntax with one, and failures are reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "handoff.h"

static char *const envp[] = { "PATH=/usr/bin:/bin", "SJ_SERVER=web1",
    "SJ_CLIENT_PORT=40000", NULL };

/* Read from fd until EOF or timeout, into buf (NUL-terminated). */
static size_t
read_all(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got + 1 < len && poll(&pfd, 1, 5000) > 0) {
		if ((n = read(fd, buf + got, len - 1 - got)) <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* Start command on one end of a socket pair; the other end is returned. */
static pid_t
start(const char *command, const struct repair_conn *rc, int *peer,
    int *status_fd)
{
	char err[256];
	pid_t pid;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	pid = handoff_spawn(sv[0], rc, command, envp, status_fd, err,
	    sizeof(err));
	close(sv[0]);
	*peer = sv[1];
	return pid;
}

static int
wait_exit(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Nothing to resend: spawned, running at once; a plain command, no shell. */
static void
test_spawned(void **state)
{
	struct repair_conn rc;
	char buf[256];
	int peer, status_fd;
	pid_t pid;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	pid = start("/bin/cat", &rc, &peer, &status_fd);
	assert_true(pid > 0);
	assert_int_equal(status_fd, -1);
	assert_int_equal(write(peer, "line 1\n", 7), 7);
	shutdown(peer, SHUT_WR);
	assert_int_equal(read_all(peer, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "line 1\n");
	close(peer);
	assert_int_equal(wait_exit(pid), 0);
}

/* Shell syntax goes through /bin/sh; the environment is exactly envp. */
static void
test_shell_env(void **state)
{
	struct repair_conn rc;
	char buf[512];
	int peer, status_fd;
	pid_t pid;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	pid = start("/usr/bin/env | sort; ls /proc/self/fd | wc -l", &rc,
	    &peer, &status_fd);
	assert_true(pid > 0);
	read_all(peer, buf, sizeof(buf));
	close(peer);
	assert_int_equal(wait_exit(pid), 0);
	assert_non_null(strstr(buf, "SJ_CLIENT_PORT=40000\nSJ_SERVER=web1\n"));
	assert_null(strstr(buf, "HOME="));
	/* ls sees 0, 1, 2, its own directory fd, and the pipe to wc. */
	assert_non_null(strstr(buf, "\n4\n") ? strstr(buf, "\n4\n") :
	    strstr(buf, "\n5\n"));
}

/* Server bytes to resend: forked, they go first, then the program. */
static void
test_forked_sendq(void **state)
{
	struct repair_conn rc;
	char buf[256], why[200];
	int peer, status_fd, r, i;
	pid_t pid;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	rc.sendq = (const uint8_t *)"resent-";
	rc.sendq_len = 7;
	pid = start("/bin/echo program", &rc, &peer, &status_fd);
	assert_true(pid > 0);
	assert_true(status_fd >= 0);
	for (i = 0, r = 0; i < 500 && r == 0; i++) {
		r = handoff_status(status_fd, why, sizeof(why));
		if (r == 0)
			usleep(10000);
	}
	assert_int_equal(r, 1);
	close(status_fd);
	read_all(peer, buf, sizeof(buf));
	assert_string_equal(buf, "resent-program\n");
	close(peer);
	assert_int_equal(wait_exit(pid), 0);
}

/* A program that cannot run: spawned, the error at once; forked, reported. */
static void
test_failures(void **state)
{
	struct repair_conn rc;
	char why[200], err[256];
	int peer, status_fd, r, i, sv[2];
	pid_t pid;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = handoff_spawn(sv[0], &rc, "/nonexistent/prog", envp, &status_fd,
	    err, sizeof(err));
	assert_int_equal(pid, -1);
	assert_non_null(strstr(err, "No such file"));
	close(sv[0]);
	close(sv[1]);
	rc.sendq = (const uint8_t *)"x";
	rc.sendq_len = 1;
	pid = start("/nonexistent/prog", &rc, &peer, &status_fd);
	assert_true(pid > 0);
	for (i = 0, r = 0; i < 500 && r == 0; i++) {
		r = handoff_status(status_fd, why, sizeof(why));
		if (r == 0)
			usleep(10000);
	}
	assert_int_equal(r, -1);
	assert_non_null(strstr(why, "running the command"));
	close(status_fd);
	close(peer);
	assert_int_equal(wait_exit(pid), 127);
	/* The peer gone: the resend fails, and says so. */
	rc.sendq_len = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	pid = handoff_spawn(sv[0], &rc, "/bin/cat", envp, &status_fd, err,
	    sizeof(err));
	close(sv[0]);
	assert_true(pid > 0);
	for (i = 0, r = 0; i < 500 && r == 0; i++) {
		r = handoff_status(status_fd, why, sizeof(why));
		if (r == 0)
			usleep(10000);
	}
	assert_int_equal(r, -1);
	assert_non_null(strstr(why, "sending the server bytes"));
	close(status_fd);
	assert_int_equal(wait_exit(pid), 71);
}

/*
 * An argv program with extra descriptors 3 and 4, given in the worst
 * places: the daemon's own 4 and 3 (swapped), so that a plain dup2 in
 * order would overwrite one before passing it.  Both ways of starting.
 */
static int
high(int fd)
{
	int h = fcntl(fd, F_DUPFD, 50);

	assert_true(h >= 50);
	close(fd);
	return h;
}

static void
argv_case(int resend)
{
	char *const argv[] = { "/bin/sh", "-c", "cat <&3; echo report >&4; "
	    "ls /proc/self/fd | sort -n | tr '\\n' ' '", NULL };
	struct repair_conn rc;
	char buf[512], rep[64], err[256], why[200];
	int pkg[2], rpt[2], sv[2], extra[2], status_fd, r, i;
	pid_t pid;

	memset(&rc, 0, sizeof(rc));
	if (resend) {
		rc.sendq = (const uint8_t *)"resent-";
		rc.sendq_len = 7;
	}
	assert_int_equal(pipe(pkg), 0);
	assert_int_equal(write(pkg[1], "PKG.", 4), 4);
	close(pkg[1]);
	assert_int_equal(pipe(rpt), 0);
	/* Out of the way first, then the package's read end on 4 and the
	 * report's write end on 3. */
	pkg[0] = high(pkg[0]);
	rpt[0] = high(rpt[0]);
	rpt[1] = high(rpt[1]);
	assert_int_equal(dup2(pkg[0], 4), 4);
	assert_int_equal(dup2(rpt[1], 3), 3);
	close(pkg[0]);
	close(rpt[1]);
	extra[0] = 4;
	extra[1] = 3;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	pid = handoff_spawn_argv(sv[0], &rc, argv, envp, extra, 2, &status_fd,
	    err, sizeof(err));
	if (pid == -1)
		fail_msg("%s", err);
	close(sv[0]);
	close(3);
	close(4);
	if (resend) {
		assert_true(status_fd >= 0);
		for (i = 0, r = 0; i < 500 && r == 0; i++) {
			r = handoff_status(status_fd, why, sizeof(why));
			if (r == 0)
				usleep(10000);
		}
		assert_int_equal(r, 1);
		close(status_fd);
	} else
		assert_int_equal(status_fd, -1);
	read_all(sv[1], buf, sizeof(buf));
	close(sv[1]);
	read_all(rpt[0], rep, sizeof(rep));
	close(rpt[0]);
	assert_int_equal(wait_exit(pid), 0);
	assert_string_equal(rep, "report\n");
	/* 0 1 2 3 4 and ls's own directory: nothing else of ours. */
	if (resend)
		assert_string_equal(buf, "resent-PKG.0 1 2 3 4 5 ");
	else
		assert_string_equal(buf, "PKG.0 1 2 3 4 5 ");
}

static void
test_argv_extra(void **state)
{
	(void)state;
	argv_case(0);
	argv_case(1);
}

/* A TCP connection over loopback: *srv the accepted end, returns the other. */
static int
tcp_pair(int *srv)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int l, c;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	assert_true((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_true((*srv = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0);
	close(l);
	return c;
}

/*
 * jeebs-replay cannot be run: the bytes to resend still went first, then
 * the connection is reset (nobody will continue it), and the reason comes.
 */
static void
test_argv_cannot_run(void **state)
{
	char *const argv[] = { "/nonexistent/jeebs-replay", NULL };
	struct repair_conn rc;
	char buf[64], err[256], why[200];
	int peer, srv, status_fd, r, i;
	ssize_t n;
	pid_t pid;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	rc.sendq = (const uint8_t *)"resent";
	rc.sendq_len = 6;
	peer = tcp_pair(&srv);
	/* Unread bytes would make any close an RST: none here. */
	pid = handoff_spawn_argv(srv, &rc, argv, envp, NULL, 0, &status_fd,
	    err, sizeof(err));
	assert_true(pid > 0);
	close(srv);
	for (i = 0, r = 0; i < 500 && r == 0; i++) {
		r = handoff_status(status_fd, why, sizeof(why));
		if (r == 0)
			usleep(10000);
	}
	assert_int_equal(r, -1);
	assert_non_null(strstr(why, "running the command: No such file"));
	close(status_fd);
	assert_int_equal(wait_exit(pid), 127);
	n = read(peer, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "resent", 6);
	n = read(peer, buf, sizeof(buf));
	assert_int_equal(n, -1);
	assert_int_equal(errno, ECONNRESET);
	close(peer);
}

static void
test_argv_refused(void **state)
{
	char *const argv[] = { "jeebs-replay", NULL };
	struct repair_conn rc;
	char err[256];
	int status_fd;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	assert_int_equal(handoff_spawn_argv(0, &rc, argv, envp, NULL, 0,
	    &status_fd, err, sizeof(err)), -1);
	assert_string_equal(err, "the program must be an absolute path");
	assert_int_equal(status_fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawned),
		cmocka_unit_test(test_shell_env),
		cmocka_unit_test(test_forked_sendq),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_argv_extra),
		cmocka_unit_test(test_argv_cannot_run),
		cmocka_unit_test(test_argv_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
