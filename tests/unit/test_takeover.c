/*
 * Unit tests for src/takeover.c, recover ssh: jeebs-replay's report line
 * (docs/recovery-format.md), the verdict the daemon takes from it.  The
 * package itself is tested from real streams in test_sshtrack.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "takeover.h"

static void
test_report_ok(void **state)
{
	struct takeover_ssh_report r;
	char why[200];

	(void)state;
	assert_int_equal(takeover_ssh_report_parse("ok sshd_pid=4242 "
	    "sshd_us=12000 replay_us=3100 cutover_us=400 messages=17", &r, why,
	    sizeof(why)), 1);
	assert_true(r.complete);
	assert_string_equal(why, "");
	assert_int_equal(r.sshd_pid, 4242);
	assert_int_equal(r.sshd_us, 12000);
	assert_int_equal(r.replay_us, 3100);
	assert_int_equal(r.cutover_us, 400);
	assert_int_equal(r.messages, 17);
	/* Any order; words a newer jeebs-replay adds are ignored. */
	assert_int_equal(takeover_ssh_report_parse("ok messages=0 cutover_us=1 "
	    "future=x replay_us=2 sshd_us=3 sshd_pid=9", &r, why, sizeof(why)),
	    1);
	assert_true(r.complete);
	assert_int_equal(r.sshd_pid, 9);
	assert_int_equal(r.messages, 0);
	/* ok without all numbers: still ok, said so. */
	assert_int_equal(takeover_ssh_report_parse("ok", &r, why, sizeof(why)),
	    1);
	assert_false(r.complete);
	assert_string_equal(why, "ok, but the report lacks numbers");
	assert_int_equal(takeover_ssh_report_parse("ok sshd_pid=12 sshd_us=-3 "
	    "replay_us=2 cutover_us=1 messages=1", &r, why, sizeof(why)), 1);
	assert_false(r.complete);
	assert_int_equal(takeover_ssh_report_parse("ok sshd_pid=12x sshd_us=3 "
	    "replay_us=2 cutover_us=1 messages=1", &r, why, sizeof(why)), 1);
	assert_false(r.complete);
}

static void
test_report_fail(void **state)
{
	struct takeover_ssh_report r;
	char why[200];

	(void)state;
	assert_int_equal(takeover_ssh_report_parse("fail channel 0: the sshd "
	    "assigned id 1, the original server 0", &r, why, sizeof(why)), 0);
	assert_string_equal(why, "channel 0: the sshd assigned id 1, the "
	    "original server 0");
	assert_int_equal(takeover_ssh_report_parse("fail", &r, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "no reason given");
	/* Nothing reaches a log or a terminal raw. */
	assert_int_equal(takeover_ssh_report_parse("fail bad\x1b[2J\tx", &r,
	    why, sizeof(why)), 0);
	assert_string_equal(why, "bad?[2J?x");
	/* Truncated to the caller's buffer. */
	assert_int_equal(takeover_ssh_report_parse("fail 0123456789", &r, why,
	    5), 0);
	assert_string_equal(why, "0123");
}

static void
test_report_unreadable(void **state)
{
	struct takeover_ssh_report r;
	char why[200];

	(void)state;
	assert_int_equal(takeover_ssh_report_parse("", &r, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "neither ok nor fail");
	assert_int_equal(takeover_ssh_report_parse("okay", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(takeover_ssh_report_parse("failed x", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(takeover_ssh_report_parse("OK sshd_pid=1", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(takeover_ssh_report_parse(" ok", &r, why,
	    sizeof(why)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_ok),
		cmocka_unit_test(test_report_fail),
		cmocka_unit_test(test_report_unreadable),
	};

	return cmocka_run_group_tests_name("takeover", tests, NULL, NULL);
}
