/*
 * handoff: give a rebuilt connection to a program of its own, inetd-style
 * (DESIGN.md 4, step 4; `recover exec`, and jeebs-replay for `recover ssh`):
 * the socket becomes the program's stdin and stdout, the connection's
 * metadata its environment.  The server bytes the client has not
 * acknowledged are sent first, from the child, before the program runs; the
 * daemon itself never reads or writes the socket.
 */
#ifndef SJ_HANDOFF_H
#define SJ_HANDOFF_H

#include <stddef.h>
#include <sys/types.h>

#include "repair.h"

/*
 * Start the program: a child with a session of its own, default signals,
 * the socket fd on 0 and 1 (stderr stays the daemon's) and no other of the
 * daemon's descriptors sends the pending server bytes of rc, then runs
 * /bin/sh -c command with exactly envp (a command of plain words without
 * any shell syntax is executed directly: the same, one exec cheaper).
 * Returns the child's pid.  With bytes to send, the child is forked and
 * *status_fd is a non-blocking pipe for handoff_status(); without, it is
 * spawned (vfork and exec) and already runs: *status_fd is -1.  -1 with err
 * if it cannot be started.  The caller closes its copy of fd.
 */
pid_t	handoff_spawn(int fd, const struct repair_conn *rc,
	    const char *command, char *const envp[], int *status_fd,
	    char *err, size_t errlen);
/*
 * As handoff_spawn(), for a program given as argv (argv[0] an absolute
 * path, no shell) that also gets extra[i] as descriptor 3 + i (at most
 * HANDOFF_MAX_EXTRA; the caller closes its copies).  If the forked child
 * cannot send the pending bytes or run the program, it resets the
 * connection (an RST as it exits) before reporting.
 */
#define HANDOFF_MAX_EXTRA	8
pid_t	handoff_spawn_argv(int fd, const struct repair_conn *rc,
	    char *const argv[], char *const envp[], const int *extra,
	    size_t nextra, int *status_fd, char *err, size_t errlen);
/*
 * How the child is getting on: 1, the program is running (the pipe closed
 * on exec); 0, not yet; -1, it failed before, with the reason in why.  Once
 * it returns 1 or -1 the caller closes status_fd.
 */
int	handoff_status(int status_fd, char *why, size_t whylen);

#endif
