/*
 * handoff: fork, arrange the descriptors, send what the dead server had
 * not got acknowledged, exec (see handoff.h).  The child tells the daemon
 * how far it got through a close-on-exec pipe: nothing but EOF means the
 * exec succeeded, else one struct handoff_failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handoff.h"

#define HANDOFF_STAGE_SETUP	1
#define HANDOFF_STAGE_SEND	2
#define HANDOFF_STAGE_EXEC	3

struct handoff_failure {
	int	stage;
	int	err;
};

static void __attribute__((noreturn))
handoff_child_fail(int status, int stage)
{
	struct handoff_failure f = { stage, errno };

	(void)!write(status, &f, sizeof(f));
	_exit(stage == HANDOFF_STAGE_EXEC ? 127 : 71);
}

/*
 * A command that is just words of plain characters means to /bin/sh the same
 * as executing its first word with them as arguments: do that, and save a
 * shell (and the fork dash makes for its command) per connection.  Fills
 * argv (NULL-terminated, pointing into buf); 0, or -1 if the shell is needed.
 */
static int
handoff_plain_argv(const char *command, char *buf, size_t buflen,
    char **argv, size_t maxargs)
{
	static const char plain_or_space[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+=:,@%- ";
	size_t n = 0, len = strlen(command);
	char *p, *save = NULL;

	if (len >= buflen || command[0] != '/' ||
	    strspn(command, plain_or_space) != len)
		return -1;
	memcpy(buf, command, len + 1);
	for (p = strtok_r(buf, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		if (n + 1 >= maxargs)
			return -1;
		argv[n++] = p;
	}
	argv[n] = NULL;
	return n > 0 ? 0 : -1;
}

/* What the program runs: a command for /bin/sh, or an argv (no shell). */
struct handoff_prog {
	const char	*command;	/* or NULL */
	char *const	*argv;		/* argv[0] an absolute path */
	char *const	*envp;
	const int	*extra;		/* become 3, 4, ... */
	size_t		 nextra;
};

/*
 * An argv program (jeebs-replay) that cannot be started leaves a connection
 * nobody will continue: reset it (SO_LINGER 0: the child's exit sends an
 * RST), keeping errno for the report.
 */
static void __attribute__((noreturn))
handoff_child_abort(const struct handoff_prog *pg, int status, int stage)
{
	struct linger l = { 1, 0 };
	int e = errno;

	if (pg->command == NULL)
		(void)setsockopt(1, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	errno = e;
	handoff_child_fail(status, stage);
}

static void __attribute__((noreturn))
handoff_child(int fd, const struct repair_conn *rc,
    const struct handoff_prog *pg, int status)
{
	char buf[4096], *argv[64];
	int hi[HANDOFF_MAX_EXTRA];
	int first = 3 + (int)pg->nextra;
	sigset_t none;
	size_t i;
	int sig, s;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	/* Everything out of the way of 0, 1 and the extras' places first. */
	if (status < first &&
	    (status = fcntl(status, F_DUPFD_CLOEXEC, first)) == -1)
		_exit(71);
	if ((s = fcntl(fd, F_DUPFD_CLOEXEC, first)) == -1)
		handoff_child_fail(status, HANDOFF_STAGE_SETUP);
	for (i = 0; i < pg->nextra; i++)
		if ((hi[i] = fcntl(pg->extra[i], F_DUPFD_CLOEXEC, first)) ==
		    -1)
			handoff_child_fail(status, HANDOFF_STAGE_SETUP);
	if (dup2(s, 0) == -1 || dup2(s, 1) == -1)
		handoff_child_fail(status, HANDOFF_STAGE_SETUP);
	for (i = 0; i < pg->nextra; i++)
		if (dup2(hi[i], 3 + (int)i) == -1)
			handoff_child_fail(status, HANDOFF_STAGE_SETUP);
	/* Nothing else of the daemon's reaches the program. */
	if (close_range((unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		int j, max = (int)sysconf(_SC_OPEN_MAX);

		for (j = first; j < max && j < 65536; j++)
			if (j != status)
				(void)fcntl(j, F_SETFD, FD_CLOEXEC);
	}
	if (repair_send_pending(1, rc) != 0)
		handoff_child_abort(pg, status, HANDOFF_STAGE_SEND);
	if (pg->command == NULL)
		execve(pg->argv[0], pg->argv, pg->envp);
	else if (handoff_plain_argv(pg->command, buf, sizeof(buf), argv,
	    sizeof(argv) / sizeof(argv[0])) == 0)
		execve(argv[0], argv, pg->envp);
	else
		execle("/bin/sh", "sh", "-c", pg->command, (char *)NULL,
		    pg->envp);
	handoff_child_abort(pg, status, HANDOFF_STAGE_EXEC);
}

/*
 * Nothing to send before the program runs: posix_spawn (a vfork, whose cost
 * does not grow with the daemon's memory and descriptors, as fork's does)
 * returns once the exec has happened, or with its error.
 */
static pid_t
handoff_spawn_direct(int fd, const struct handoff_prog *pg, char *err,
    size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	char buf[4096], *argv[64], *sh[] = { "sh", "-c",
	    (char *)pg->command, NULL };
	pid_t pid = -1;
	size_t i;
	int r, sig;

	sigemptyset(&none);
	sigemptyset(&def);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaddset(&def, sig);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		snprintf(err, errlen, "posix_spawn: out of memory");
		return -1;
	}
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		snprintf(err, errlen, "posix_spawn: out of memory");
		return -1;
	}
	/* The sources are all above the targets (handoff_start()). */
	r = posix_spawn_file_actions_adddup2(&fa, fd, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, fd, 1);
	for (i = 0; i < pg->nextra && r == 0; i++)
		r = posix_spawn_file_actions_adddup2(&fa, pg->extra[i],
		    3 + (int)i);
	if (r != 0 ||
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa,
	    3 + (int)pg->nextra)) != 0 ||
	    (r = posix_spawnattr_setsigdefault(&at, &def)) != 0 ||
	    (r = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) != 0)
		snprintf(err, errlen, "posix_spawn set-up: %s", strerror(r));
	else if (pg->command == NULL)
		r = posix_spawn(&pid, pg->argv[0], &fa, &at, pg->argv,
		    pg->envp);
	else if (handoff_plain_argv(pg->command, buf, sizeof(buf), argv,
	    sizeof(argv) / sizeof(argv[0])) == 0)
		r = posix_spawn(&pid, argv[0], &fa, &at, argv, pg->envp);
	else
		r = posix_spawn(&pid, "/bin/sh", &fa, &at, sh, pg->envp);
	if (r != 0) {
		if (pid == -1 || err[0] == '\0')
			snprintf(err, errlen, "running the command: %s",
			    strerror(r));
		pid = -1;
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static pid_t
handoff_start(int fd, const struct repair_conn *rc,
    const struct handoff_prog *pg, int *status_fd, char *err, size_t errlen)
{
	struct handoff_prog moved = *pg;
	int pfd[2], src[HANDOFF_MAX_EXTRA], tmp[1 + HANDOFF_MAX_EXTRA];
	int first = 3 + (int)pg->nextra;
	size_t i, ntmp = 0;
	pid_t pid = -1;

	*status_fd = -1;
	err[0] = '\0';
	if (pg->nextra > HANDOFF_MAX_EXTRA) {
		snprintf(err, errlen, "too many descriptors to pass");
		return -1;
	}
	/*
	 * No source where a target goes (0, 1, 3, ...): dup2 in the order
	 * given would overwrite it first.  Copies above them, for the spawn.
	 */
	if (fd < first) {
		if ((tmp[ntmp] = fcntl(fd, F_DUPFD_CLOEXEC, first)) == -1)
			goto dupfail;
		fd = tmp[ntmp++];
	}
	for (i = 0; i < pg->nextra; i++) {
		src[i] = pg->extra[i];
		if (src[i] >= first)
			continue;
		if ((tmp[ntmp] = fcntl(src[i], F_DUPFD_CLOEXEC, first)) == -1)
			goto dupfail;
		src[i] = tmp[ntmp++];
	}
	moved.extra = src;
	if (rc->sendq_len == 0) {
		pid = handoff_spawn_direct(fd, &moved, err, errlen);
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		handoff_child(fd, rc, &moved, pfd[1]);
	}
	close(pfd[1]);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	*status_fd = pfd[0];
	goto out;
 dupfail:
	snprintf(err, errlen, "moving descriptors: %s", strerror(errno));
 out:
	for (i = 0; i < ntmp; i++)
		close(tmp[i]);
	return pid;
}

pid_t
handoff_spawn(int fd, const struct repair_conn *rc, const char *command,
    char *const envp[], int *status_fd, char *err, size_t errlen)
{
	struct handoff_prog pg = { command, NULL, envp, NULL, 0 };

	return handoff_start(fd, rc, &pg, status_fd, err, errlen);
}

pid_t
handoff_spawn_argv(int fd, const struct repair_conn *rc, char *const argv[],
    char *const envp[], const int *extra, size_t nextra, int *status_fd,
    char *err, size_t errlen)
{
	struct handoff_prog pg = { NULL, argv, envp, extra, nextra };

	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		*status_fd = -1;
		snprintf(err, errlen, "the program must be an absolute path");
		return -1;
	}
	return handoff_start(fd, rc, &pg, status_fd, err, errlen);
}

int
handoff_status(int status_fd, char *why, size_t whylen)
{
	struct handoff_failure f;
	ssize_t n;

	n = read(status_fd, &f, sizeof(f));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 0)
		return 1;
	if (n != (ssize_t)sizeof(f)) {
		snprintf(why, whylen, "the hand-off child failed unreported");
		return -1;
	}
	snprintf(why, whylen, "%s: %s", f.stage == HANDOFF_STAGE_SETUP ?
	    "setting up the program's descriptors" :
	    f.stage == HANDOFF_STAGE_SEND ? "sending the server bytes the "
	    "client had not acknowledged" : "running the command",
	    strerror(f.err));
	return -1;
}
