/*
 * Unit tests for recovery/fence.c: the fence command's result (exit status,
 * signal, time limit, a command that cannot run), its output (stdout and
 * stderr, the tail only, made printable) and its environment, all through
 * the loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ev.h>

#include "fence.h"

struct result {
	int	done, ok;
	char	result[256];
	char	output[FENCE_OUTPUT_MAX * 3 + 8];
};

static void
done_cb(void *arg, int ok, const char *result, const char *output)
{
	struct result *r = arg;

	r->done++;
	r->ok = ok;
	snprintf(r->result, sizeof(r->result), "%s", result);
	snprintf(r->output, sizeof(r->output), "%s", output);
}

/* Run command to its end; the result in r. */
static void
run(const char *command, double timeout, struct result *r)
{
	struct ev_loop *loop = ev_default_loop(0);
	char *const envp[] = { "PATH=/usr/bin:/bin", "SJ_SERVER=web1", NULL };
	char err[256];
	struct fence *f;
	int i;

	memset(r, 0, sizeof(*r));
	f = fence_start(loop, command, envp, timeout, done_cb, r, err,
	    sizeof(err));
	assert_non_null(f);
	assert_int_equal(r->done, 0);		/* never from fence_start */
	for (i = 0; i < 1000 && !r->done; i++)
		ev_run(loop, EVRUN_ONCE);
	assert_int_equal(r->done, 1);
}

static void
test_success(void **state)
{
	struct result r;

	(void)state;
	run("echo powered off $SJ_SERVER; echo warn >&2", 5, &r);
	assert_true(r.ok);
	assert_non_null(strstr(r.result, "exit 0 after"));
	assert_string_equal(r.output, "powered off web1 | warn");
}

static void
test_failure(void **state)
{
	struct result r;

	(void)state;
	run("printf 'BMC down\\r\\n\\001'; exit 3", 5, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.result, "exit 3 after"));
	assert_string_equal(r.output, "BMC down  | ?");
	run("kill -9 $$", 5, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.result, "killed by signal 9"));
	run("/nonexistent/fence", 5, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.result, "exit 127"));
	assert_non_null(strstr(r.output, "not found"));
}

static void
test_timeout(void **state)
{
	struct result r;
	double t0 = ev_time();

	(void)state;
	/* The group dies: the background sleep holding the pipe too. */
	run("sleep 30 & echo started; wait", 0.3, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.result, "timed out after"));
	assert_string_equal(r.output, "started");
	assert_true(ev_time() - t0 < 5);
}

static void
test_long_output(void **state)
{
	struct result r;

	(void)state;
	/* 20000 lines: only the last FENCE_OUTPUT_MAX bytes are kept. */
	run("seq 1 20000", 5, &r);
	assert_true(r.ok);
	assert_non_null(strstr(r.output, "19999 | 20000"));
	assert_null(strstr(r.output, " 100 | "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_long_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
