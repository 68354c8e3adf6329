/*
 * fence: run a server's fence command (power it off, shut its switch port,
 * ...) without blocking the daemon's loop, with a time limit, and report
 * how it ended with the tail of what it printed (DESIGN.md 3 and 4.1).
 */
#ifndef SJ_FENCE_H
#define SJ_FENCE_H

#include <ev.h>

#define FENCE_OUTPUT_MAX	512	/* bytes of output kept for the event */

/*
 * How it ended: ok is 1 only for exit status 0.  result is one line:
 * "exit 0 after 12 ms", "exit 3 after ...", "killed by signal 9",
 * "timed out after 30 s (killed)", "cannot start: ..."; output is what the
 * command wrote on stdout and stderr (the last FENCE_OUTPUT_MAX bytes,
 * non-printable bytes replaced, newlines as " | "), possibly empty.
 */
typedef void (*fence_done_cb)(void *arg, int ok, const char *result,
    const char *output);

struct fence;

/*
 * Run command through /bin/sh -c, in its own session, with envp as its
 * environment, stdin from /dev/null; kill its whole process group after
 * timeout seconds.  cb is then called exactly once, from the loop.  NULL
 * with a reason in err if it cannot start (and cb is never called).
 */
struct fence *fence_start(struct ev_loop *loop, const char *command,
	    char *const envp[], double timeout, fence_done_cb cb, void *arg,
	    char *err, size_t errlen);
/*
 * Stop waiting and free, without cb (the daemon is stopping): the command
 * runs on, unwatched; killing a power-off half way helps nobody.
 */
void	fence_abandon(struct fence *f);

#endif
