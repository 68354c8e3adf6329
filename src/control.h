/*
 * control: the daemon's Unix control socket.  Only root may connect (the
 * socket is 0600 and the peer's credentials are checked).  A request is one
 * line of words; the answer is a status line ("ok" or "error: REASON")
 * followed by the body, then the daemon closes the connection.
 */
#ifndef SJ_CONTROL_H
#define SJ_CONTROL_H

#include <ev.h>

#include "buf.h"

#define CONTROL_MAX_REQUEST	1024	/* bytes, newline included */
#define CONTROL_MAX_ARGS	16
#define CONTROL_MAX_REPLY	(4u * 1024 * 1024)

/*
 * Handle one request of ac words; write the body into out.  Return 0 for
 * success, or -1 with a one-line reason in out (it becomes "error: ...").
 */
typedef int (*control_handler)(void *arg, int ac, char **av, struct buf *out);

/* Listen on path (replacing a stale socket) and serve requests from loop. */
int	control_init(struct ev_loop *loop, const char *path,
	    control_handler handler, void *arg);
/* Stop listening, drop clients and remove the socket file. */
void	control_fini(void);
/*
 * Split a request line (NUL-terminated, newline removed) into words in place.
 * Returns the word count, or -1 with a reason in *why if the line is not a
 * well-formed request.
 */
int	control_parse_request(char *line, char **av, int maxargs,
	    const char **why);

#endif
