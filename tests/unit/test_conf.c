/* Unit tests for src/conf.c: jeebs.conf parsing, defaults and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

static struct conf *
parse_ok(const char *text)
{
	struct conf *c;
	char err[512] = "";

	if (conf_parse(text, strlen(text), "t.conf", &c, err,
	    sizeof(err)) != 0)
		fail_msg("unexpected refusal: %s", err);
	return c;
}

/* The text must be refused with exactly this message. */
static void
parse_bad(const char *text, const char *want)
{
	struct conf *c = (struct conf *)1;
	char err[512] = "";

	assert_int_equal(conf_parse(text, strlen(text), "t.conf", &c, err,
	    sizeof(err)), -1);
	assert_null(c);
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void
test_full(void **state)
{
	struct conf *c;
	char a[64];

	(void)state;
	c = parse_ok(
	    "# comment line\n"
	    "interface        eth1   # trailing comment\n"
	    "state_file       /var/lib/sj/state.db\n"
	    "recovery_key     /etc/sj/recovery.key\n"
	    "export_listen    198.18.0.4:7022\n"
	    "control_socket   /run/sj/control.sock\n"
	    "\n"
	    "server web1 {\n"
	    "    service_ip   198.18.0.2\n"
	    "    ports        22 2222\n"
	    "    signing_key  /etc/sj/web1-export.pub\n"
	    "    fence        \"/usr/local/sbin/fence-web1 --hard\"\n"
	    "}\n"
	    "server web2 {\n"
	    "\tservice_ip 2001:db8::2\n"
	    "\tfence none\n"
	    "}\n");
	assert_string_equal(c->interface, "eth1");
	assert_string_equal(c->state_file, "/var/lib/sj/state.db");
	assert_string_equal(c->recovery_key, "/etc/sj/recovery.key");
	assert_string_equal(c->control_socket, "/run/sj/control.sock");
	assert_true(c->export_enabled);
	assert_string_equal(conf_addr_str(&c->export_addr, a, sizeof(a)),
	    "198.18.0.4");
	assert_int_equal(c->export_port, 7022);
	assert_int_equal(c->nservers, 2);
	assert_string_equal(c->servers[0].name, "web1");
	assert_int_equal(c->servers[0].nports, 2);
	assert_int_equal(c->servers[0].ports[1], 2222);
	assert_string_equal(c->servers[0].fence,
	    "/usr/local/sbin/fence-web1 --hard");
	assert_false(c->servers[0].fence_none);
	assert_string_equal(c->servers[0].signing_key,
	    "/etc/sj/web1-export.pub");
	assert_string_equal(conf_addr_str(&c->servers[1].service_ip, a,
	    sizeof(a)), "2001:db8::2");
	assert_true(c->servers[1].fence_none);
	assert_null(c->servers[1].fence);
	conf_free(c);
}

static void
test_defaults(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("interface eth0\nserver a {\nservice_ip 10.0.0.1\n}\n");
	assert_string_equal(c->state_file, CONF_DEFAULT_STATE_FILE);
	assert_string_equal(c->recovery_key, CONF_DEFAULT_RECOVERY_KEY);
	assert_string_equal(c->control_socket, CONF_DEFAULT_CONTROL_SOCKET);
	assert_false(c->export_enabled);
	assert_int_equal(c->servers[0].nports, 1);
	assert_int_equal(c->servers[0].ports[0], 22);
	assert_null(c->servers[0].fence);
	assert_false(c->servers[0].fence_none);
	conf_free(c);
	c = parse_ok("interface eth0\nexport_listen [2001:db8::4]\n"
	    "server a {\nservice_ip 10.0.0.1\n}\n");
	assert_int_equal(c->export_port, CONF_DEFAULT_EXPORT_PORT);
	conf_free(c);
}

static void
test_refusals(void **state)
{
	(void)state;
	parse_bad("interface eth0\nbogus 1\n",
	    "t.conf:2: unknown directive \"bogus\"");
	parse_bad("server a {\nservice_ip 1.2.3.4\n}\n",
	    "t.conf:3: interface is required");
	parse_bad("interface eth0\n",
	    "t.conf:1: no server block: nothing to protect");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3\n}\n",
	    "t.conf:3: service_ip: \"1.2.3\" is not an IP address");
	parse_bad("interface eth0\nserver a {\nports 22\n}\n",
	    "t.conf:4: server a: service_ip is required");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n",
	    "t.conf:3: server a: block opened at line 2 is not closed");
	parse_bad("interface eth0\n}\n",
	    "t.conf:2: '}' without an open server block");
	parse_bad("interface eth0\nserver a {\nserver b {\n",
	    "t.conf:3: server blocks cannot be nested");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "ports 22 70000\n}\n",
	    "t.conf:4: ports: \"70000\" is not a port number (1-65535)");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "ports 22 22\n}\n", "t.conf:4: ports: 22 listed twice");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n}\n"
	    "server a {\n", "t.conf:5: server a: defined twice (first at "
	    "line 2)");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n}\n"
	    "server b {\nservice_ip 1.2.3.4\n}\n",
	    "t.conf:7: server b: service_ip already used by server a");
	parse_bad("interface eth0\nstate_file relative/x.db\n",
	    "t.conf:2: state_file: \"relative/x.db\" is not an absolute "
	    "path");
	parse_bad("interface eth0\nexport_listen 1.2.3.4:0\n",
	    "t.conf:2: export_listen: \"0\" is not a port number (1-65535)");
	parse_bad("interface eth0\nexport_listen ::1:22\n",
	    "t.conf:2: export_listen: write IPv6 addresses as [ADDR]:PORT");
	parse_bad("interface \"eth0\n",
	    "t.conf:1: unterminated quoted string");
	parse_bad("interface\n", "t.conf:1: interface: missing argument");
	parse_bad("interface a b\n", "t.conf:1: interface: too many "
	    "arguments");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "fence relative\n}\n",
	    "t.conf:4: fence: the command must start with an absolute path");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "fence /bin/x -y\n}\n",
	    "t.conf:4: fence: give one argument: `none` or a command (quote "
	    "it if it has arguments)");
	parse_bad("interface a\nserver bad/name {\n", "t.conf:2: server: "
	    "\"bad/name\" is not a valid name (letters, digits, '-', '_', "
	    "'.'; at most 32)");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\nwhat 1\n}\n",
	    "t.conf:4: unknown directive \"what\" in server block");
}

static void
test_export_directives(void **state)
{
	struct conf *c;
	struct conf_addr a;
	char buf[64];

	(void)state;
	/* Defaults: export_from is the service IP, max age 600 s. */
	c = parse_ok("interface eth0\nexport_listen 198.18.0.4\n"
	    "server web1 {\nservice_ip 198.18.0.2\n}\n");
	assert_int_equal(c->export_max_age, CONF_DEFAULT_EXPORT_MAX_AGE);
	assert_int_equal(c->export_max_age, 600);
	assert_int_equal(c->servers[0].nexport_from, 1);
	assert_string_equal(conf_addr_str(&c->servers[0].export_from[0], buf,
	    sizeof(buf)), "198.18.0.2");
	assert_int_equal(conf_addr_parse("198.18.0.2", &a), 0);
	assert_true(conf_server_export_from(&c->servers[0], &a));
	assert_int_equal(conf_addr_parse("198.18.0.3", &a), 0);
	assert_false(conf_server_export_from(&c->servers[0], &a));
	assert_int_equal(conf_server_index(c, "web1"), 0);
	assert_int_equal(conf_server_index(c, "web2"), -1);
	conf_free(c);

	/* Several addresses, IPv6 too; an address may serve two servers. */
	c = parse_ok("interface eth0\nexport_max_age 0\n"
	    "server web1 {\nservice_ip 198.18.0.2\n"
	    "export_from 10.0.0.1 2001:db8::1\n}\n"
	    "server web2 {\nservice_ip 198.18.0.3\nexport_from 10.0.0.1\n}\n");
	assert_int_equal(c->export_max_age, 0);
	assert_int_equal(c->servers[0].nexport_from, 2);
	assert_int_equal(conf_addr_parse("2001:db8::1", &a), 0);
	assert_true(conf_server_export_from(&c->servers[0], &a));
	assert_false(conf_server_export_from(&c->servers[1], &a));
	assert_int_equal(conf_addr_parse("198.18.0.2", &a), 0);
	assert_false(conf_server_export_from(&c->servers[0], &a));
	assert_int_equal(conf_addr_parse("10.0.0.1", &a), 0);
	assert_true(conf_server_export_from(&c->servers[1], &a));
	assert_int_equal(conf_server_index(c, "web2"), 1);
	conf_free(c);

	c = parse_ok("interface eth0\nexport_max_age 604800\n"
	    "server a {\nservice_ip 10.0.0.1\n}\n");
	assert_int_equal(c->export_max_age, 604800);
	conf_free(c);

	parse_bad("interface eth0\nexport_max_age -1\n",
	    "t.conf:2: export_max_age: \"-1\" is not a number of seconds "
	    "(0-604800)");
	parse_bad("interface eth0\nexport_max_age 604801\n",
	    "t.conf:2: export_max_age: \"604801\" is not a number of seconds "
	    "(0-604800)");
	parse_bad("interface eth0\nexport_max_age 10s\n",
	    "t.conf:2: export_max_age: \"10s\" is not a number of seconds "
	    "(0-604800)");
	parse_bad("interface eth0\nexport_max_age\n",
	    "t.conf:2: export_max_age: missing argument");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "export_from 1.2.3\n}\n",
	    "t.conf:4: export_from: \"1.2.3\" is not an IP address");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "export_from 1.2.3.5 1.2.3.5\n}\n",
	    "t.conf:4: export_from: 1.2.3.5 listed twice");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "export_from\n}\n", "t.conf:4: export_from: missing argument");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "export_from 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 "
	    "10.0.0.6 10.0.0.7 10.0.0.8 10.0.0.9 10.0.0.10 10.0.0.11 "
	    "10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 10.0.0.16 10.0.0.17\n"
	    "}\n", "t.conf:4: export_from: too many arguments");
	parse_bad("interface eth0\nexport_from 1.2.3.4\n",
	    "t.conf:2: unknown directive \"export_from\"");
	parse_bad("interface eth0\nserver a {\nservice_ip 1.2.3.4\n"
	    "export_max_age 5\n}\n",
	    "t.conf:4: unknown directive \"export_max_age\" in server block");
	assert_true(conf_name_valid("web-1.example_a"));
	assert_false(conf_name_valid("-web"));
	assert_false(conf_name_valid("a/b"));
	assert_false(conf_name_valid(""));
}

static void
test_health_directives(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("interface eth0\ncapture_buffer 256\n"
	    "server a {\nservice_ip 10.0.0.1\n}\n"
	    "server b {\nservice_ip 10.0.0.2\ndead_after 60\n"
	    "probe_interval 500\nprobe_timeout 5\nprobe_tries 4\n"
	    "probe arp tcp\n}\n");
	assert_int_equal(c->capture_buffer, 256);
	assert_int_equal(c->servers[0].dead_after, CONF_DEFAULT_DEAD_AFTER);
	assert_int_equal(c->servers[0].probe_interval,
	    CONF_DEFAULT_PROBE_INTERVAL);
	assert_int_equal(c->servers[0].probe_methods, CONF_PROBE_ARP);
	assert_int_equal(c->servers[1].dead_after, 60);
	assert_int_equal(c->servers[1].probe_interval, 500);
	assert_int_equal(c->servers[1].probe_timeout, 5);
	assert_int_equal(c->servers[1].probe_tries, 4);
	assert_int_equal(c->servers[1].probe_methods,
	    CONF_PROBE_ARP | CONF_PROBE_TCP);
	conf_free(c);
	c = parse_ok("interface eth0\nserver a {\nservice_ip 10.0.0.1\n}\n");
	assert_int_equal(c->capture_buffer, CONF_DEFAULT_CAPTURE_BUFFER);
	conf_free(c);
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "dead_after 5\n}\n", "t.conf:4: dead_after: \"5\" is not a "
	    "number of milliseconds (10-600000)");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "probe icmp\n}\n", "t.conf:4: probe: \"icmp\" is not arp or tcp");
	parse_bad("interface a\ncapture_buffer 1x\n", "t.conf:2: "
	    "capture_buffer: \"1x\" is not a number of MiB (1-2047)");
}

static void
test_recover_directives(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("interface eth0\nrecover_concurrency 4\n"
	    "server a {\nservice_ip 10.0.0.1\n}\n"
	    "server b {\nservice_ip 10.0.0.2\nports 7000\n"
	    "fence /usr/sbin/fence-b\nfence_timeout 5\n"
	    "recover exec \"/usr/bin/socat - -\"\n}\n"
	    "server c {\nservice_ip 10.0.0.3\nrecover exec /bin/cat\n"
	    "recover none\n}\n");
	assert_int_equal(c->recover_concurrency, 4);
	assert_int_equal(c->servers[0].recover, CONF_RECOVER_NONE);
	assert_null(c->servers[0].recover_command);
	assert_int_equal(c->servers[0].fence_timeout,
	    CONF_DEFAULT_FENCE_TIMEOUT);
	assert_int_equal(c->servers[1].recover, CONF_RECOVER_EXEC);
	assert_string_equal(c->servers[1].recover_command,
	    "/usr/bin/socat - -");
	assert_int_equal(c->servers[1].fence_timeout, 5);
	/* A later line wins. */
	assert_int_equal(c->servers[2].recover, CONF_RECOVER_NONE);
	assert_null(c->servers[2].recover_command);
	assert_string_equal(conf_recover_str(CONF_RECOVER_EXEC), "exec");
	conf_free(c);
	c = parse_ok("interface eth0\nserver a {\nservice_ip 10.0.0.1\n}\n");
	assert_int_equal(c->recover_concurrency,
	    CONF_DEFAULT_RECOVER_CONCURRENCY);
	conf_free(c);
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover\n}\n", "t.conf:4: recover: missing argument (none, "
	    "exec COMMAND, or ssh)");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover telnet\n}\n", "t.conf:4: recover: \"telnet\" is not "
	    "none, exec or ssh");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover ssh /usr/sbin/sshd\n}\n", "t.conf:4: recover: too many "
	    "arguments");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover exec\n}\n", "t.conf:4: recover exec: give one command "
	    "(quote it if it has arguments)");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover exec /bin/socat - -\n}\n", "t.conf:4: recover exec: "
	    "give one command (quote it if it has arguments)");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover exec cat\n}\n", "t.conf:4: recover exec: the command "
	    "must start with an absolute path");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover none x\n}\n", "t.conf:4: recover: too many arguments");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "fence_timeout 0\n}\n", "t.conf:4: fence_timeout: \"0\" is not "
	    "a number of seconds (1-3600)");
	parse_bad("interface a\nrecover_concurrency 0\n", "t.conf:2: "
	    "recover_concurrency: \"0\" is not a number of hand-offs "
	    "(1-1024)");
	parse_bad("interface a\nrecover exec /bin/cat\n", "t.conf:2: "
	    "unknown directive \"recover\"");
}

static void
test_recover_ssh(void **state)
{
	struct conf *c;
	const struct conf_ssh *s;

	(void)state;
	/* Built-in defaults. */
	c = parse_ok("interface eth0\nserver a {\nservice_ip 10.0.0.1\n"
	    "recover ssh\n}\n");
	assert_int_equal(c->servers[0].recover, CONF_RECOVER_SSH);
	assert_string_equal(conf_recover_str(CONF_RECOVER_SSH), "ssh");
	assert_null(c->servers[0].recover_command);
	s = &c->servers[0].ssh;
	assert_string_equal(s->sshd, "/usr/sbin/sshd");
	assert_string_equal(s->sshd_config, "/etc/ssh/sshd_config");
	assert_int_equal(s->rerun_exec, 0);
	assert_string_equal(s->notice, "");
	assert_int_equal(s->replay_timeout, 10);
	assert_string_equal(c->replay_program,
	    "/usr/lib/securejeebs/jeebs-replay");
	conf_free(c);

	/*
	 * Global lines are every server's default wherever they stand in
	 * the file; a server's own line wins; a later line wins.
	 */
	c = parse_ok("interface eth0\n"
	    "replay_program /opt/sj/jeebs-replay\n"
	    "recovery_sshd /opt/ssh/sbin/sshd\n"
	    "server a {\nservice_ip 10.0.0.1\nrecover ssh\n"
	    "recovery_sshd_config /etc/ssh/a.conf\n"
	    "recover_exec rerun\nrecover_exec close\n"
	    "recovery_notice \"\"\n"
	    "replay_timeout 3\n}\n"
	    "server b {\nservice_ip 10.0.0.2\nrecover ssh\n"
	    "recovery_sshd /usr/local/sbin/sshd\n}\n"
	    "server c {\nservice_ip 10.0.0.3\nrecover exec /bin/cat\n}\n"
	    "recover_exec rerun\n"
	    "recovery_notice \"Recovered by SecureJeebs: \\\"web1\\\" "
	    "died\"\n"
	    "replay_timeout 300\n"
	    "recovery_sshd_config /etc/ssh/all.conf\n");
	assert_string_equal(c->replay_program, "/opt/sj/jeebs-replay");
	s = &c->servers[0].ssh;
	assert_string_equal(s->sshd, "/opt/ssh/sbin/sshd");
	assert_string_equal(s->sshd_config, "/etc/ssh/a.conf");
	assert_int_equal(s->rerun_exec, 0);
	assert_string_equal(s->notice, "");
	assert_int_equal(s->replay_timeout, 3);
	s = &c->servers[1].ssh;
	assert_string_equal(s->sshd, "/usr/local/sbin/sshd");
	assert_string_equal(s->sshd_config, "/etc/ssh/all.conf");
	assert_int_equal(s->rerun_exec, 1);
	assert_string_equal(s->notice,
	    "Recovered by SecureJeebs: \"web1\" died");
	assert_int_equal(s->replay_timeout, 300);
	/* Filled in for every server, whatever its recover line. */
	s = &c->servers[2].ssh;
	assert_string_equal(s->sshd, "/opt/ssh/sbin/sshd");
	assert_int_equal(c->servers[2].recover, CONF_RECOVER_EXEC);
	conf_free(c);

	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recover_exec kill\n}\n", "t.conf:4: recover_exec: \"kill\" is "
	    "not close or rerun");
	parse_bad("interface a\nrecover_exec\n", "t.conf:2: recover_exec: "
	    "missing argument");
	parse_bad("interface a\nrecovery_sshd sshd\n", "t.conf:2: "
	    "recovery_sshd: \"sshd\" is not an absolute path");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "recovery_sshd_config ssh/sshd_config\n}\n", "t.conf:4: "
	    "recovery_sshd_config: \"ssh/sshd_config\" is not an absolute "
	    "path");
	parse_bad("interface a\nreplay_program jeebs-replay\n", "t.conf:2: "
	    "replay_program: \"jeebs-replay\" is not an absolute path");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "replay_program /usr/bin/x\n}\n", "t.conf:4: unknown directive "
	    "\"replay_program\" in server block");
	parse_bad("interface a\nreplay_timeout 0\n", "t.conf:2: "
	    "replay_timeout: \"0\" is not a number of seconds (1-300)");
	parse_bad("interface a\nserver a {\nservice_ip 1.2.3.4\n"
	    "replay_timeout 301\n}\n", "t.conf:4: replay_timeout: \"301\" is "
	    "not a number of seconds (1-300)");
	parse_bad("interface a\nrecovery_notice Server died\n", "t.conf:2: "
	    "recovery_notice: give one line of text (quote it)");
	parse_bad("interface a\nrecovery_notice \"bell\a\"\n", "t.conf:2: "
	    "recovery_notice: control characters are not allowed");
	parse_bad("interface a\nrecovery_notice \"esc\x1b[2J\"\n",
	    "t.conf:2: recovery_notice: control characters are not allowed");
	parse_bad("interface a\nrecovery_notice \"del\x7f\"\n",
	    "t.conf:2: recovery_notice: control characters are not allowed");
	parse_bad("interface a\nrecovery_notice \"x"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\"\n",
	    "t.conf:2: recovery_notice: longer than 200 bytes");
	/* 200 bytes exactly, UTF-8 allowed. */
	c = parse_ok("interface a\nrecovery_notice \"\xc3\xa9"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "01234567890123456789012345678901234567\"\n"
	    "server a {\nservice_ip 1.2.3.4\n}\n");
	assert_int_equal(strlen(c->servers[0].ssh.notice), 200);
	conf_free(c);
}

static void
test_hostile_bytes(void **state)
{
	struct conf *c;
	char err[512], big[5000];
	static const char nul[] = "interface eth0\nserver a\0 {\n";

	(void)state;
	assert_int_equal(conf_parse(nul, sizeof(nul) - 1, "t.conf", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: NUL byte in line");
	memset(big, 'a', sizeof(big));
	assert_int_equal(conf_parse(big, sizeof(big), "t.conf", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1: line too long (at most 4095 "
	    "bytes)");
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/sj-test-conf-XXXXXX", err[512];
	struct conf *c;
	const char *text = "interface lo\nserver a {\nservice_ip ::1\n}\n";
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c->path, path);
	conf_free(c);
	unlink(path);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

/* failback_for: which server `failback NAME` drains (docs/drain.md). */
static void
test_failback_for(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("interface eth0\n"
	    "server rescue {\nservice_ip 10.0.0.1\nrecover ssh\n"
	    "drain_command /bin/true\nfailback_for web1\n}\n"
	    "server other {\nservice_ip 10.0.0.2\n}\n");
	assert_string_equal(c->servers[0].failback_for, "web1");
	assert_string_equal(c->servers[1].failback_for, "");
	assert_int_equal(conf_failback_index(c, "web1"), 0);
	assert_int_equal(conf_failback_index(c, "rescue"), -1);
	assert_int_equal(conf_failback_index(c, ""), -1);
	conf_free(c);
	parse_bad("interface eth0\nserver rescue {\nservice_ip 10.0.0.1\n"
	    "recover ssh\ndrain_command /bin/true\nfailback_for\n}\n",
	    "t.conf:6: failback_for: give one argument, the name of the host "
	    "this daemon runs on");
	parse_bad("interface eth0\nserver rescue {\nservice_ip 10.0.0.1\n"
	    "recover ssh\ndrain_command /bin/true\nfailback_for -x\n}\n",
	    "t.conf:6: failback_for: \"-x\" is not a valid name (letters, "
	    "digits, '-', '_', '.', at most 32)");
	parse_bad("interface eth0\nserver rescue {\nservice_ip 10.0.0.1\n"
	    "recover ssh\nfailback_for web1\n}\n",
	    "t.conf:2: server rescue: failback_for needs `recover ssh` and a "
	    "drain_command");
	parse_bad("interface eth0\nserver rescue {\nservice_ip 10.0.0.1\n"
	    "recover ssh\ndrain_command /bin/true\nfailback_for web1\n}\n"
	    "server web1 {\nservice_ip 10.0.0.2\n}\n",
	    "t.conf:2: server rescue: failback_for web1: web1 is a server "
	    "block here (failback_for names the host this daemon runs on)");
	parse_bad("interface eth0\nserver a {\nservice_ip 10.0.0.1\n"
	    "recover ssh\ndrain_command /bin/true\nfailback_for web1\n}\n"
	    "server b {\nservice_ip 10.0.0.2\n"
	    "recover ssh\ndrain_command /bin/true\nfailback_for web1\n}\n",
	    "t.conf:8: server b: failback_for web1: already said by server a");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_export_directives),
		cmocka_unit_test(test_health_directives),
		cmocka_unit_test(test_recover_directives),
		cmocka_unit_test(test_recover_ssh),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_failback_for),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
