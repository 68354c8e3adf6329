/*
 * fence: the fence command as a child process watched by the loop (see
 * fence.h).  Three watchers: the child's exit, its output pipe, and the
 * time limit.  The result is reported once both the exit status is known
 * and the output pipe is closed (or the time limit hit).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fence.h"

struct fence {
	struct ev_loop	*loop;
	fence_done_cb	 cb;
	void		*arg;
	pid_t		 pid;
	int		 out_fd;
	ev_child	 child;
	ev_io		 out;
	ev_timer	 timer;
	double		 started;
	double		 timeout;
	int		 exited, status, eof, timed_out, reported;
	char		 tail[FENCE_OUTPUT_MAX];
	size_t		 tail_len;
};

static void
fence_stop_watchers(struct fence *f)
{
	ev_child_stop(f->loop, &f->child);
	ev_timer_stop(f->loop, &f->timer);
	if (f->out_fd != -1) {
		ev_io_stop(f->loop, &f->out);
		close(f->out_fd);
		f->out_fd = -1;
	}
}

/* The kept output as one printable line. */
static void
fence_output_line(const struct fence *f, char *buf, size_t len)
{
	size_t i, o = 0;
	unsigned char ch;

	for (i = 0; i < f->tail_len && o + 4 < len; i++) {
		ch = (unsigned char)f->tail[i];
		if (ch == '\n') {
			if (i + 1 < f->tail_len) {
				memcpy(buf + o, " | ", 3);
				o += 3;
			}
		} else if (ch == '\r' || ch == '\t')
			buf[o++] = ' ';
		else if (ch < 0x20 || ch >= 0x7f)
			buf[o++] = '?';
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
}

static void
fence_report(struct fence *f)
{
	char result[160], output[FENCE_OUTPUT_MAX * 3 + 8];
	double ms = (ev_now(f->loop) - f->started) * 1000;
	int ok = 0;

	if (f->reported)
		return;
	f->reported = 1;
	if (f->timed_out)
		snprintf(result, sizeof(result), "timed out after %.0f s "
		    "(process group killed)", f->timeout);
	else if (WIFEXITED(f->status)) {
		ok = WEXITSTATUS(f->status) == 0;
		snprintf(result, sizeof(result), "exit %d after %.0f ms",
		    WEXITSTATUS(f->status), ms);
	} else if (WIFSIGNALED(f->status))
		snprintf(result, sizeof(result), "killed by signal %d after "
		    "%.0f ms", WTERMSIG(f->status), ms);
	else
		snprintf(result, sizeof(result), "ended with status 0x%x",
		    f->status);
	fence_output_line(f, output, sizeof(output));
	fence_stop_watchers(f);
	f->cb(f->arg, ok, result, output);
	free(f);
}

/* Read what the pipe has now; 0 while it stays open, -1 at its end. */
static int
fence_read(struct fence *f)
{
	char buf[1024];
	ssize_t n;
	size_t keep;

	n = read(f->out_fd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		ev_io_stop(f->loop, &f->out);
		close(f->out_fd);
		f->out_fd = -1;
		f->eof = 1;
		return -1;
	}
	/* Keep the last FENCE_OUTPUT_MAX bytes. */
	if ((size_t)n >= sizeof(f->tail)) {
		memcpy(f->tail, buf + n - sizeof(f->tail), sizeof(f->tail));
		f->tail_len = sizeof(f->tail);
		return 1;
	}
	keep = sizeof(f->tail) - (size_t)n;
	if (f->tail_len > keep) {
		memmove(f->tail, f->tail + f->tail_len - keep, keep);
		f->tail_len = keep;
	}
	memcpy(f->tail + f->tail_len, buf, (size_t)n);
	f->tail_len += (size_t)n;
	return 1;
}

static void
fence_out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)fence_read(w->data);
}

static void
fence_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct fence *f = w->data;
	int i;

	(void)loop;
	(void)revents;
	f->exited = 1;
	f->status = w->rstatus;
	ev_child_stop(f->loop, &f->child);
	/*
	 * What it wrote before exiting is in the pipe; a background child
	 * of its own may keep the pipe open, so take what is there and go.
	 */
	for (i = 0; i < 64 && f->out_fd != -1 && fence_read(f) > 0; i++)
		;
	fence_report(f);
}

static void
fence_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fence *f = w->data;

	(void)loop;
	(void)revents;
	f->timed_out = 1;
	kill(-f->pid, SIGKILL);
	/* Reaped by libev in any case; the result is known now. */
	fence_report(f);
}

/* In the child: never returns. */
static void
fence_child(const char *command, char *const envp[], int out)
{
	sigset_t none;
	int fd, sig;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if ((fd = open("/dev/null", O_RDONLY)) != -1 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	dup2(out, 1);
	dup2(out, 2);
	if (out > 2)
		close(out);
	execle("/bin/sh", "sh", "-c", command, (char *)NULL, envp);
	dprintf(2, "cannot run /bin/sh: %s\n", strerror(errno));
	_exit(127);
}

struct fence *
fence_start(struct ev_loop *loop, const char *command, char *const envp[],
    double timeout, fence_done_cb cb, void *arg, char *err, size_t errlen)
{
	struct fence *f;
	int pfd[2];

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->loop = loop;
	f->cb = cb;
	f->arg = arg;
	f->timeout = timeout;
	f->out_fd = -1;
	f->started = ev_now(loop);
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(f);
		return NULL;
	}
	if ((f->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(f);
		return NULL;
	}
	if (f->pid == 0)
		fence_child(command, envp, pfd[1]);
	close(pfd[1]);
	f->out_fd = pfd[0];
	(void)fcntl(f->out_fd, F_SETFL, O_NONBLOCK);
	ev_child_init(&f->child, fence_child_cb, f->pid, 0);
	f->child.data = f;
	ev_child_start(loop, &f->child);
	ev_io_init(&f->out, fence_out_cb, f->out_fd, EV_READ);
	f->out.data = f;
	ev_io_start(loop, &f->out);
	ev_timer_init(&f->timer, fence_timer_cb, timeout, 0.);
	f->timer.data = f;
	ev_timer_start(loop, &f->timer);
	return f;
}

void
fence_abandon(struct fence *f)
{
	if (f == NULL)
		return;
	fence_stop_watchers(f);
	free(f);
}
