/*
 * securejeebsctl: the administrator's view of securejeebsd, through its
 * control socket.  It sends one request line and prints the answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "version.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: securejeebsctl [-s socket] command [options]\n"
	    "commands:\n"
	    "  status [--json]                  daemon and server state\n"
	    "  events [--json] [--limit=N]      recent events (default 50)\n"
	    "  version                          this tool's version\n");
	exit(2);
}

/* Send the request and copy the answer to stdout; the exit status. */
static int
ctl_request(const char *path, const char *req)
{
	struct sockaddr_un sun;
	char buf[8192], *nl;
	size_t have = 0;
	int fd, first = 1, failed = 0;
	ssize_t n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "securejeebsctl: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "securejeebsctl: cannot connect to %s: %s "
		    "(is securejeebsd running?)\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "securejeebsctl: write: %s\n",
		    strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "securejeebsctl: read: %s\n",
			    strerror(errno));
			close(fd);
			return 1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (first) {
			/* The status line: "ok" or "error: reason". */
			if ((nl = memchr(buf, '\n', have)) == NULL) {
				if (n > 0 && have < sizeof(buf) - 1)
					continue;
				fprintf(stderr, "securejeebsctl: malformed "
				    "answer from the daemon\n");
				close(fd);
				return 1;
			}
			*nl = '\0';
			if (strcmp(buf, "ok") != 0) {
				fprintf(stderr, "securejeebsctl: %s\n",
				    strncmp(buf, "error: ", 7) == 0 ?
				    buf + 7 : buf);
				failed = 1;
			}
			first = 0;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (have > 0) {
			fwrite(buf, 1, have, failed ? stderr : stdout);
			have = 0;
		}
		if (n == 0)
			break;
	}
	close(fd);
	if (first) {
		fprintf(stderr, "securejeebsctl: no answer from the daemon\n");
		return 1;
	}
	return failed;
}

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_CONTROL_SOCKET;
	char req[1024];
	size_t off = 0;
	int ch, i;

	while ((ch = getopt(argc, argv, "+s:hV")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'V':
			printf("securejeebsctl %s\n", SJ_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (strcmp(argv[optind], "version") == 0) {
		printf("securejeebsctl %s\n", SJ_VERSION);
		return 0;
	}
	if (strcmp(argv[optind], "help") == 0)
		usage();
	for (i = optind; i < argc; i++) {
		if (strpbrk(argv[i], " \n") != NULL) {
			fprintf(stderr, "securejeebsctl: arguments cannot "
			    "contain spaces or newlines\n");
			return 2;
		}
		if (off + strlen(argv[i]) + 2 >= sizeof(req)) {
			fprintf(stderr, "securejeebsctl: request too long\n");
			return 2;
		}
		off += (size_t)snprintf(req + off, sizeof(req) - off, "%s%s",
		    i > optind ? " " : "", argv[i]);
	}
	snprintf(req + off, sizeof(req) - off, "\n");
	return ctl_request(path, req);
}
