/*
 * control: the Unix control socket (see control.h).  Clients are few and
 * requests small, so each client gets a fixed request buffer, a timeout, and
 * a reply written without blocking the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

#define CONTROL_TIMEOUT		5.0	/* seconds for a whole exchange */
#define CONTROL_MAX_CLIENTS	32

struct control_client {
	ev_io			 io;
	ev_timer		 timer;
	int			 fd;
	char			 req[CONTROL_MAX_REQUEST];
	size_t			 reqlen;
	struct buf		 reply;
	int			 replying;
	struct control_client	*next;
};

static struct {
	struct ev_loop		*loop;
	ev_io			 listen_io;
	int			 fd;
	char			*path;
	control_handler		 handler;
	void			*arg;
	struct control_client	*clients;
	int			 nclients;
} ctl = { .fd = -1 };

static struct log_ratelimit control_rl = LOG_RATELIMIT_INIT(10);

int
control_parse_request(char *line, char **av, int maxargs, const char **why)
{
	int ac = 0;
	char *p;

	for (p = line; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
			*why = "request contains a control or non-ASCII byte";
			return -1;
		}
	}
	for (p = line;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (ac == maxargs) {
			*why = "too many words in request";
			return -1;
		}
		av[ac++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (*p == ' ')
			*p++ = '\0';
	}
	if (ac == 0) {
		*why = "empty request";
		return -1;
	}
	return ac;
}

static void
control_client_free(struct control_client *c)
{
	struct control_client **pp;

	for (pp = &ctl.clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ev_io_stop(ctl.loop, &c->io);
	ev_timer_stop(ctl.loop, &c->timer);
	close(c->fd);
	buf_free(&c->reply);
	free(c);
	ctl.nclients--;
}

static void
control_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	while (buf_len(&c->reply) > 0) {
		n = send(c->fd, buf_ptr(&c->reply), buf_len(&c->reply),
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			debug_f("client went away: %s", strerror(errno));
			break;
		}
		buf_skip(&c->reply, (size_t)n);
	}
	control_client_free(c);
}

static void
control_answer(struct control_client *c)
{
	char *av[CONTROL_MAX_ARGS];
	const char *why = NULL;
	struct buf body;
	int ac, r;

	buf_init(&body, CONTROL_MAX_REPLY);
	buf_init(&c->reply, CONTROL_MAX_REPLY + 256);
	if ((ac = control_parse_request(c->req, av, CONTROL_MAX_ARGS,
	    &why)) < 0) {
		log_limited(&control_rl, LOG_WARNING,
		    "control: bad request: %s", why);
		buf_putf(&c->reply, "error: %s\n", why);
	} else if ((r = ctl.handler(ctl.arg, ac, av, &body)) == 0) {
		if (buf_put(&c->reply, "ok\n", 3) != 0 ||
		    buf_put(&c->reply, buf_ptr(&body), buf_len(&body)) != 0) {
			buf_reset(&c->reply);
			buf_putf(&c->reply, "error: reply too large\n");
		}
	} else {
		buf_putf(&c->reply, "error: %.*s\n", (int)buf_len(&body),
		    buf_len(&body) ? (const char *)buf_ptr(&body) :
		    "request failed");
	}
	buf_free(&body);
	c->replying = 1;
	ev_io_stop(ctl.loop, &c->io);
	ev_io_init(&c->io, control_write_cb, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(ctl.loop, &c->io);
}

static void
control_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = w->data;
	char *nl;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(c->fd, c->req + c->reqlen, sizeof(c->req) - 1 - c->reqlen, 0);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		control_client_free(c);
		return;
	}
	c->reqlen += (size_t)n;
	c->req[c->reqlen] = '\0';
	if ((nl = memchr(c->req, '\n', c->reqlen)) != NULL) {
		*nl = '\0';
		control_answer(c);
		return;
	}
	if (c->reqlen == sizeof(c->req) - 1) {
		log_limited(&control_rl, LOG_WARNING,
		    "control: request too long, dropped");
		buf_init(&c->reply, 256);
		buf_putf(&c->reply, "error: request too long (at most %d "
		    "bytes)\n", CONTROL_MAX_REQUEST - 1);
		c->replying = 1;
		ev_io_stop(ctl.loop, &c->io);
		ev_io_init(&c->io, control_write_cb, c->fd, EV_WRITE);
		c->io.data = c;
		ev_io_start(ctl.loop, &c->io);
	}
}

static void
control_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_client *c = w->data;

	(void)loop;
	(void)revents;
	log_limited(&control_rl, LOG_WARNING, "control: client timed out");
	control_client_free(c);
}

static void
control_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	(void)w;
	(void)revents;
	fd = accept4(ctl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_limited(&control_rl, LOG_WARNING,
			    "control: accept: %s", strerror(errno));
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != 0) {
		log_limited(&control_rl, LOG_WARNING, "control: refused "
		    "connection from uid %d: only root may use the control "
		    "socket", len == sizeof(cred) ? (int)cred.uid : -1);
		(void)send(fd, "error: permission denied\n", 25, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	if (ctl.nclients >= CONTROL_MAX_CLIENTS) {
		log_limited(&control_rl, LOG_WARNING,
		    "control: too many clients, connection refused");
		(void)send(fd, "error: busy\n", 12, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	ev_io_init(&c->io, control_read_cb, fd, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->timer, control_timeout_cb, CONTROL_TIMEOUT, 0.);
	c->timer.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_start(loop, &c->timer);
	c->next = ctl.clients;
	ctl.clients = c;
	ctl.nclients++;
}

int
control_init(struct ev_loop *loop, const char *path, control_handler handler,
    void *arg)
{
	struct sockaddr_un sun;
	char *dup;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("control socket %s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((dup = strdup(path)) == NULL)
		return -1;
	if (mkdir(dirname(dup), 0755) == -1 && errno != EEXIST) {
		log_error("control socket %s: cannot create directory: %s",
		    path, strerror(errno));
		free(dup);
		return -1;
	}
	free(dup);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_error("control socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file left by a killed daemon is replaced. */
	if (unlink(path) == -1 && errno != ENOENT) {
		log_error("control socket %s: cannot remove old socket: %s",
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 16) == -1) {
		log_error("control socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	ctl.loop = loop;
	ctl.fd = fd;
	ctl.handler = handler;
	ctl.arg = arg;
	if ((ctl.path = strdup(path)) == NULL) {
		close(fd);
		return -1;
	}
	ev_io_init(&ctl.listen_io, control_accept_cb, fd, EV_READ);
	ev_io_start(loop, &ctl.listen_io);
	return 0;
}

void
control_fini(void)
{
	while (ctl.clients != NULL)
		control_client_free(ctl.clients);
	if (ctl.fd != -1) {
		ev_io_stop(ctl.loop, &ctl.listen_io);
		close(ctl.fd);
		ctl.fd = -1;
	}
	if (ctl.path != NULL) {
		unlink(ctl.path);
		free(ctl.path);
		ctl.path = NULL;
	}
}
