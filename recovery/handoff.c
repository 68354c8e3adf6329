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

static void __attribute__((noreturn))
handoff_child(int fd, const struct repair_conn *rc, const char *command,
    char *const envp[], int status)
{
	char buf[4096], *argv[64];
	sigset_t none;
	int sig, s;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	/* Both out of the way of 0 and 1 first. */
	if (status < 3 && (status = fcntl(status, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(71);
	if ((s = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    dup2(s, 0) == -1 || dup2(s, 1) == -1)
		handoff_child_fail(status, HANDOFF_STAGE_SETUP);
	/* Nothing else of the daemon's reaches the program. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		int i, max = (int)sysconf(_SC_OPEN_MAX);

		for (i = 3; i < max && i < 65536; i++)
			if (i != status)
				(void)fcntl(i, F_SETFD, FD_CLOEXEC);
	}
	if (repair_send_pending(1, rc) != 0)
		handoff_child_fail(status, HANDOFF_STAGE_SEND);
	if (handoff_plain_argv(command, buf, sizeof(buf), argv,
	    sizeof(argv) / sizeof(argv[0])) == 0)
		execve(argv[0], argv, envp);
	else
		execle("/bin/sh", "sh", "-c", command, (char *)NULL, envp);
	handoff_child_fail(status, HANDOFF_STAGE_EXEC);
}

/*
 * Nothing to send before the program runs: posix_spawn (a vfork, whose cost
 * does not grow with the daemon's memory and descriptors, as fork's does)
 * returns once the exec has happened, or with its error.
 */
static pid_t
handoff_spawn_direct(int fd, const char *command, char *const envp[],
    char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	char buf[4096], *argv[64], *sh[] = { "sh", "-c", (char *)command,
	    NULL };
	pid_t pid = -1;
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
	if ((r = posix_spawn_file_actions_adddup2(&fa, fd, 0)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, fd, 1)) != 0 ||
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (r = posix_spawnattr_setsigdefault(&at, &def)) != 0 ||
	    (r = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) != 0)
		snprintf(err, errlen, "posix_spawn set-up: %s", strerror(r));
	else if (handoff_plain_argv(command, buf, sizeof(buf), argv,
	    sizeof(argv) / sizeof(argv[0])) == 0)
		r = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
	else
		r = posix_spawn(&pid, "/bin/sh", &fa, &at, sh, envp);
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

pid_t
handoff_spawn(int fd, const struct repair_conn *rc, const char *command,
    char *const envp[], int *status_fd, char *err, size_t errlen)
{
	int pfd[2];
	pid_t pid;

	*status_fd = -1;
	if (rc->sendq_len == 0) {
		err[0] = '\0';
		return handoff_spawn_direct(fd, command, envp, err, errlen);
	}

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		handoff_child(fd, rc, command, envp, pfd[1]);
	}
	close(pfd[1]);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	*status_fd = pfd[0];
	return pid;
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
