/*
 * Unit tests for src/metrics.c's exposition format (Prometheus text format
 * 0.0.4): HELP/TYPE lines, label escaping, values, cumulative histogram
 * buckets with +Inf, _sum and _count; and the metrics_* directives of
 * jeebs.conf.  The daemon's side is tested by tests/unit/metrics.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "metrics.h"

static char *
text(struct buf *b)
{
	char *s = malloc(buf_len(b) + 1);

	assert_non_null(s);
	memcpy(s, buf_ptr(b), buf_len(b));
	s[buf_len(b)] = '\0';
	return s;
}

static void
test_family_and_samples(void **state)
{
	struct buf b;
	char l[128], *s;

	(void)state;
	buf_init(&b, 65536);
	metrics_family(&b, "sj_x_total", "counter", "Things counted.");
	assert_int_equal(metrics_labels(l, sizeof(l), 2, "server", "web1",
	    "result", "ok"), 0);
	metrics_sample(&b, "sj_x_total", l, 42);
	metrics_sample(&b, "sj_y", NULL, 0.25);
	metrics_sample(&b, "sj_z", "", 18446744073709551615.0);
	metrics_sample(&b, "sj_big", NULL, 1234567890123.0);
	s = text(&b);
	assert_string_equal(s,
	    "# HELP sj_x_total Things counted.\n"
	    "# TYPE sj_x_total counter\n"
	    "sj_x_total{server=\"web1\",result=\"ok\"} 42\n"
	    "sj_y 0.25\n"
	    "sj_z 1.84467441e+19\n"
	    "sj_big 1234567890123\n");
	free(s);
	buf_free(&b);
}

static void
test_label_escaping(void **state)
{
	char l[64];

	(void)state;
	assert_int_equal(metrics_labels(l, sizeof(l), 1, "reason",
	    "a \"quoted\" \\ back\nslash"), 0);
	assert_string_equal(l,
	    "reason=\"a \\\"quoted\\\" \\\\ back\\nslash\"");
	/* Too long: refused whole, never cut in the middle of an escape. */
	assert_int_equal(metrics_labels(l, 12, 1, "reason", "abcdefghijk"),
	    -1);
	assert_string_equal(l, "");
	assert_int_equal(metrics_labels(l, sizeof(l), 0), 0);
	assert_string_equal(l, "");
}

static void
test_histogram(void **state)
{
	static const double bounds[] = { 0.1, 0.5, 1 };
	struct metrics_hist h;
	struct buf b;
	char *s;

	(void)state;
	metrics_hist_init(&h, bounds, 3);
	metrics_hist_add(&h, 0.05);
	metrics_hist_add(&h, 0.1);	/* on a bound: le is inclusive */
	metrics_hist_add(&h, 0.3);
	metrics_hist_add(&h, 7);	/* only in +Inf */
	buf_init(&b, 65536);
	metrics_hist_write(&b, "sj_t_seconds", "server=\"a\"", &h);
	s = text(&b);
	assert_string_equal(s,
	    "sj_t_seconds_bucket{server=\"a\",le=\"0.1\"} 2\n"
	    "sj_t_seconds_bucket{server=\"a\",le=\"0.5\"} 3\n"
	    "sj_t_seconds_bucket{server=\"a\",le=\"1\"} 3\n"
	    "sj_t_seconds_bucket{server=\"a\",le=\"+Inf\"} 4\n"
	    "sj_t_seconds_sum{server=\"a\"} 7.45\n"
	    "sj_t_seconds_count{server=\"a\"} 4\n");
	free(s);
	buf_reset(&b);
	metrics_hist_init(&h, bounds, 3);
	metrics_hist_write(&b, "sj_e", NULL, &h);
	s = text(&b);
	assert_string_equal(s,
	    "sj_e_bucket{le=\"0.1\"} 0\n"
	    "sj_e_bucket{le=\"0.5\"} 0\n"
	    "sj_e_bucket{le=\"1\"} 0\n"
	    "sj_e_bucket{le=\"+Inf\"} 0\n"
	    "sj_e_sum 0\n"
	    "sj_e_count 0\n");
	free(s);
	buf_free(&b);
}

static struct conf *
parse(const char *extra, char *err, size_t errlen)
{
	char t[1024];
	struct conf *c;

	snprintf(t, sizeof(t), "interface eth0\n%s\nserver a {\n"
	    "  service_ip 192.0.2.1\n}\n", extra);
	if (conf_parse(t, strlen(t), "t.conf", &c, err, errlen) != 0)
		return NULL;
	return c;
}

static void
test_conf(void **state)
{
	struct conf *c;
	char err[512], a[64];

	(void)state;
	assert_non_null(c = parse("", err, sizeof(err)));
	assert_int_equal(c->metrics_enabled, 0);	/* off by default */
	assert_null(c->metrics_textfile);
	conf_free(c);
	assert_non_null(c = parse("metrics_listen 127.0.0.1:9100\n"
	    "metrics_textfile /var/lib/node/sj.prom", err, sizeof(err)));
	assert_int_equal(c->metrics_enabled, 1);
	assert_int_equal(c->metrics_port, 9100);
	assert_string_equal(conf_addr_str(&c->metrics_addr, a, sizeof(a)),
	    "127.0.0.1");
	assert_string_equal(c->metrics_textfile, "/var/lib/node/sj.prom");
	conf_free(c);
	assert_non_null(c = parse("metrics_listen [::1]", err, sizeof(err)));
	assert_int_equal(c->metrics_port, CONF_DEFAULT_METRICS_PORT);
	conf_free(c);
	assert_non_null(c = parse("metrics_listen 127.0.0.1:9100\n"
	    "metrics_listen none\nmetrics_textfile /x.prom\n"
	    "metrics_textfile none", err, sizeof(err)));
	assert_int_equal(c->metrics_enabled, 0);
	assert_null(c->metrics_textfile);
	conf_free(c);
	assert_null(parse("metrics_listen 127.0.0.1:99999", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:2: metrics_listen: \"99999\" is not "
	    "a port number (1-65535)");
	assert_null(parse("metrics_listen localhost:9100", err, sizeof(err)));
	assert_string_equal(err, "t.conf:2: metrics_listen: \"localhost\" is "
	    "not an IP address");
	assert_null(parse("metrics_textfile sj.prom", err, sizeof(err)));
	assert_string_equal(err, "t.conf:2: metrics_textfile: \"sj.prom\" is "
	    "not an absolute path");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
