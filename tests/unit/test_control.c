/*
 * Unit tests for src/control.c: request parsing, and a real exchange over a
 * Unix socket served by the libev loop (the client is a child process).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <ev.h>

#include "control.h"
#include "log.h"

static void
test_parse(void **state)
{
	char *av[4], line[128];
	const char *why = NULL;

	(void)state;
	snprintf(line, sizeof(line), "  status   --json ");
	assert_int_equal(control_parse_request(line, av, 4, &why), 2);
	assert_string_equal(av[0], "status");
	assert_string_equal(av[1], "--json");
	snprintf(line, sizeof(line), "   ");
	assert_int_equal(control_parse_request(line, av, 4, &why), -1);
	assert_string_equal(why, "empty request");
	snprintf(line, sizeof(line), "a b c d e");
	assert_int_equal(control_parse_request(line, av, 4, &why), -1);
	assert_string_equal(why, "too many words in request");
	snprintf(line, sizeof(line), "status\t--json");
	assert_int_equal(control_parse_request(line, av, 4, &why), -1);
	snprintf(line, sizeof(line), "st\xc3\xa9tus");
	assert_int_equal(control_parse_request(line, av, 4, &why), -1);
}

static int
handler(void *arg, int ac, char **av, struct buf *out)
{
	(void)arg;
	if (strcmp(av[0], "echo") == 0 && ac == 2) {
		buf_putf(out, "%s\n", av[1]);
		return 0;
	}
	buf_putf(out, "unknown command \"%s\"", av[0]);
	return -1;
}

/* In a child: send req, read everything, compare with want. */
static int
client(const char *path, const char *req, const char *want)
{
	struct sockaddr_un sun;
	char got[8192];
	size_t have = 0;
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return 10;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return 11;
	while ((n = read(fd, got + have, sizeof(got) - 1 - have)) > 0)
		have += (size_t)n;
	got[have] = '\0';
	close(fd);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "got [%s] want [%s]\n", got, want);
		return 12;
	}
	return 0;
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	int *status = w->data;

	(void)revents;
	*status = w->rstatus;
	ev_child_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void
exchange(struct ev_loop *loop, const char *path, const char *req,
    const char *want)
{
	ev_child cw;
	pid_t pid;
	int status = -1;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(client(path, req, want));
	ev_child_init(&cw, child_cb, pid, 0);
	cw.data = &status;
	ev_child_start(loop, &cw);
	ev_run(loop, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_exchange(void **state)
{
	char dir[] = "/tmp/sj-test-ctl-XXXXXX", path[128], big[2000];
	struct ev_loop *loop = ev_default_loop(0);
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/ctl.sock", dir);
	/* A stale socket file is replaced. */
	assert_int_equal(control_init(loop, path, handler, NULL), 0);
	control_fini();
	assert_int_equal(control_init(loop, path, handler, NULL), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	exchange(loop, path, "echo hi\n", "ok\nhi\n");
	exchange(loop, path, "nope\n", "error: unknown command \"nope\"\n");
	exchange(loop, path, "\n", "error: empty request\n");
	exchange(loop, path, "echo \x01\n",
	    "error: request contains a control or non-ASCII byte\n");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	exchange(loop, path, big,
	    "error: request too long (at most 1023 bytes)\n");
	/* The daemon still answers after all that. */
	exchange(loop, path, "echo again\n", "ok\nagain\n");
	control_fini();
	assert_int_equal(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_exchange),
	};

	log_init("test_control", 1, 0);
	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
