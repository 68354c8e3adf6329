/*
 * conf: parser for jeebs.conf.  The syntax is line-based: a directive and
 * its arguments per line, '#' comments, double-quoted arguments, and
 * `server NAME {` ... `}` blocks.  Anything unknown or malformed is refused
 * with the file name, the line number and the reason.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define CONF_MAX_ARGS	32
#define CONF_LINE_MAX	4096

struct conf_parser {
	const char	*name;		/* file name, for messages */
	int		 line;
	char		*err;
	size_t		 errlen;
	struct conf	*conf;
	struct conf_server *server;	/* open block, or NULL */
};

static int
conf_fail(struct conf_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
conf_fail(struct conf_parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->name, p->line, msg);
	return -1;
}

const char *
conf_addr_str(const struct conf_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, &a->u, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
conf_addr_parse(const char *s, struct conf_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->u.v6) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

int
conf_addr_equal(const struct conf_addr *a, const struct conf_addr *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == AF_INET)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6)) == 0;
}

int
conf_server_export_from(const struct conf_server *s, const struct conf_addr *a)
{
	int i;

	for (i = 0; i < s->nexport_from; i++)
		if (conf_addr_equal(&s->export_from[i], a))
			return 1;
	return 0;
}

const char *
conf_recover_str(int mode)
{
	switch (mode) {
	case CONF_RECOVER_NONE:	return "none";
	case CONF_RECOVER_EXEC:	return "exec";
	case CONF_RECOVER_SSH:	return "ssh";
	default:		return "?";
	}
}

int
conf_server_index(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
conf_failback_index(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nservers; i++)
		if (c->servers[i].failback_for[0] != '\0' &&
		    strcmp(c->servers[i].failback_for, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Split one line into words: whitespace separates, '#' starts a comment
 * outside quotes, "..." groups (with \" and \\ escapes).  The line is
 * modified in place.  Returns the word count or -1.
 */
static int
conf_split(struct conf_parser *p, char *s, char **av)
{
	int ac = 0;
	char *w;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0' || *s == '#')
			return ac;
		if (ac == CONF_MAX_ARGS)
			return conf_fail(p, "too many arguments");
		if (*s == '"') {
			w = ++s;
			av[ac++] = w;
			for (;;) {
				if (*s == '\0')
					return conf_fail(p,
					    "unterminated quoted string");
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				else if (*s == '"')
					break;
				*w++ = *s++;
			}
			*w = '\0';
			s++;
			if (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '\r' && *s != '#')
				return conf_fail(p,
				    "unexpected text after quoted string");
			continue;
		}
		av[ac++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' &&
		    *s != '#')
			s++;
		if (*s == '#') {
			*s = '\0';
			return ac;
		}
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int
conf_want_args(struct conf_parser *p, int ac, int min, int max,
    const char *what)
{
	if (ac - 1 < min)
		return conf_fail(p, "%s: missing argument", what);
	if (max >= 0 && ac - 1 > max)
		return conf_fail(p, "%s: too many arguments", what);
	return 0;
}

static int
conf_set_path(struct conf_parser *p, char **dst, const char *what,
    const char *val)
{
	if (val[0] != '/')
		return conf_fail(p, "%s: \"%s\" is not an absolute path",
		    what, val);
	if (strlen(val) >= PATH_MAX)
		return conf_fail(p, "%s: path too long", what);
	free(*dst);
	if ((*dst = strdup(val)) == NULL)
		return conf_fail(p, "out of memory");
	return 0;
}

static int
conf_parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* ADDR:PORT, [V6ADDR]:PORT, or ADDR alone (default port), for directive what. */
static int
conf_parse_addr_port(struct conf_parser *p, const char *what, const char *val,
    struct conf_addr *addr, uint16_t *portp, uint16_t defport)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *colon;
	size_t hl;

	if (val[0] == '[') {
		const char *end = strchr(val, ']');

		if (end == NULL)
			return conf_fail(p, "%s: missing ']'", what);
		hl = (size_t)(end - val - 1);
		if (hl >= sizeof(host))
			return conf_fail(p, "%s: bad address", what);
		memcpy(host, val + 1, hl);
		host[hl] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return conf_fail(p, "%s: bad address", what);
	} else {
		colon = strchr(val, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return conf_fail(p, "%s: write IPv6 "
			    "addresses as [ADDR]:PORT", what);
		hl = colon ? (size_t)(colon - val) : strlen(val);
		if (hl >= sizeof(host))
			return conf_fail(p, "%s: bad address", what);
		memcpy(host, val, hl);
		host[hl] = '\0';
		if (colon != NULL)
			port = colon + 1;
	}
	if (conf_addr_parse(host, addr) != 0)
		return conf_fail(p, "%s: \"%s\" is not an IP address", what,
		    host);
	*portp = defport;
	if (port != NULL && conf_parse_port(port, portp) != 0)
		return conf_fail(p, "%s: \"%s\" is not a port "
		    "number (1-65535)", what, port);
	return 0;
}

static int
conf_parse_listen(struct conf_parser *p, const char *val)
{
	if (conf_parse_addr_port(p, "export_listen", val,
	    &p->conf->export_addr, &p->conf->export_port,
	    CONF_DEFAULT_EXPORT_PORT) != 0)
		return -1;
	p->conf->export_enabled = 1;
	return 0;
}

int
conf_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CONF_NAME_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static int
conf_server_open(struct conf_parser *p, int ac, char **av)
{
	struct conf *c = p->conf;
	struct conf_server *s;
	size_t i;

	if (p->server != NULL)
		return conf_fail(p, "server blocks cannot be nested");
	if (ac != 3 || strcmp(av[2], "{") != 0)
		return conf_fail(p, "expected: server NAME {");
	if (!conf_name_valid(av[1]))
		return conf_fail(p, "server: \"%s\" is not a valid name "
		    "(letters, digits, '-', '_', '.'; at most %d)", av[1],
		    CONF_NAME_MAX);
	for (i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, av[1]) == 0)
			return conf_fail(p, "server %s: defined twice "
			    "(first at line %d)", av[1], c->servers[i].line);
	if (c->nservers == CONF_MAX_SERVERS)
		return conf_fail(p, "too many servers (at most %d)",
		    CONF_MAX_SERVERS);
	s = realloc(c->servers, (c->nservers + 1) * sizeof(*s));
	if (s == NULL)
		return conf_fail(p, "out of memory");
	c->servers = s;
	s = &c->servers[c->nservers++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", av[1]);
	s->line = p->line;
	s->dead_after = CONF_DEFAULT_DEAD_AFTER;
	s->probe_interval = CONF_DEFAULT_PROBE_INTERVAL;
	s->probe_timeout = CONF_DEFAULT_PROBE_TIMEOUT;
	s->probe_tries = CONF_DEFAULT_PROBE_TRIES;
	s->probe_methods = CONF_PROBE_ARP;
	s->fence_timeout = CONF_DEFAULT_FENCE_TIMEOUT;
	s->drain_timeout = CONF_DEFAULT_DRAIN_TIMEOUT;
	s->recover = CONF_RECOVER_NONE;
	s->ssh.rerun_exec = -1;
	p->server = s;
	return 0;
}

static int
conf_server_close(struct conf_parser *p)
{
	struct conf_server *s = p->server;
	struct conf *c = p->conf;
	size_t i;

	if (s == NULL)
		return conf_fail(p, "'}' without an open server block");
	if (s->service_ip.family == 0)
		return conf_fail(p, "server %s: service_ip is required",
		    s->name);
	if (s->nports == 0)
		s->ports[s->nports++] = 22;
	if (s->nexport_from == 0)
		s->export_from[s->nexport_from++] = s->service_ip;
	for (i = 0; i + 1 < c->nservers; i++)
		if (conf_addr_equal(&c->servers[i].service_ip, &s->service_ip))
			return conf_fail(p, "server %s: service_ip already "
			    "used by server %s", s->name, c->servers[i].name);
	p->server = NULL;
	return 0;
}

/* An integer argument in [min, max], for directive what. */
static int
conf_parse_uint(struct conf_parser *p, const char *what, const char *s,
    long min, long max, const char *unit, uint32_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || errno != 0 || *end != '\0' ||
	    v < min || v > max)
		return conf_fail(p, "%s: \"%s\" is not a number of %s "
		    "(%ld-%ld)", what, s, unit, min, max);
	*out = (uint32_t)v;
	return 0;
}

/*
 * The directives of `recover ssh`, globally (the servers' default) or in a
 * server block: 0 taken, -1 refused, 1 not one of them.
 */
static int
conf_ssh_directive(struct conf_parser *p, struct conf_ssh *ssh, int ac,
    char **av)
{
	const unsigned char *u;

	if (strcmp(av[0], "recovery_sshd") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_set_path(p, &ssh->sshd, av[0], av[1]);
	}
	if (strcmp(av[0], "recovery_sshd_config") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_set_path(p, &ssh->sshd_config, av[0], av[1]);
	}
	if (strcmp(av[0], "recover_exec") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		if (strcmp(av[1], "close") == 0)
			ssh->rerun_exec = 0;
		else if (strcmp(av[1], "rerun") == 0)
			ssh->rerun_exec = 1;
		else
			return conf_fail(p, "recover_exec: \"%s\" is not close "
			    "or rerun", av[1]);
		return 0;
	}
	if (strcmp(av[0], "recovery_notice") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return conf_fail(p, "recovery_notice: give one line of "
			    "text (quote it)");
		if (strlen(av[1]) > CONF_NOTICE_MAX)
			return conf_fail(p, "recovery_notice: longer than %d "
			    "bytes", CONF_NOTICE_MAX);
		/* It goes to terminals: no escape sequence, one line. */
		for (u = (const unsigned char *)av[1]; *u != '\0'; u++)
			if (*u < 0x20 || *u == 0x7f)
				return conf_fail(p, "recovery_notice: control "
				    "characters are not allowed");
		free(ssh->notice);
		if ((ssh->notice = strdup(av[1])) == NULL)
			return conf_fail(p, "out of memory");
		return 0;
	}
	if (strcmp(av[0], "replay_timeout") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1,
		    CONF_MAX_REPLAY_TIMEOUT, "seconds", &ssh->replay_timeout);
	}
	return 1;
}

static int
conf_server_directive(struct conf_parser *p, int ac, char **av)
{
	struct conf_server *s = p->server;
	int i, j, r;

	if (strcmp(av[0], "server") == 0)
		return conf_fail(p, "server blocks cannot be nested");
	if ((r = conf_ssh_directive(p, &s->ssh, ac, av)) <= 0)
		return r;
	if (strcmp(av[0], "service_ip") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		if (conf_addr_parse(av[1], &s->service_ip) != 0)
			return conf_fail(p, "service_ip: \"%s\" is not an IP "
			    "address", av[1]);
		return 0;
	}
	if (strcmp(av[0], "ports") == 0) {
		if (conf_want_args(p, ac, 1, CONF_MAX_PORTS, av[0]) != 0)
			return -1;
		s->nports = 0;
		for (i = 1; i < ac; i++) {
			uint16_t port;

			if (conf_parse_port(av[i], &port) != 0)
				return conf_fail(p, "ports: \"%s\" is not a "
				    "port number (1-65535)", av[i]);
			for (j = 0; j < s->nports; j++)
				if (s->ports[j] == port)
					return conf_fail(p, "ports: %u listed "
					    "twice", port);
			s->ports[s->nports++] = port;
		}
		return 0;
	}
	if (strcmp(av[0], "export_from") == 0) {
		if (conf_want_args(p, ac, 1, CONF_MAX_EXPORT_FROM, av[0]) != 0)
			return -1;
		s->nexport_from = 0;
		for (i = 1; i < ac; i++) {
			struct conf_addr a;

			if (conf_addr_parse(av[i], &a) != 0)
				return conf_fail(p, "export_from: \"%s\" is "
				    "not an IP address", av[i]);
			if (conf_server_export_from(s, &a))
				return conf_fail(p, "export_from: %s listed "
				    "twice", av[i]);
			s->export_from[s->nexport_from++] = a;
		}
		return 0;
	}
	if (strcmp(av[0], "signing_key") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_set_path(p, &s->signing_key, av[0], av[1]);
	}
	if (strcmp(av[0], "fence") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return conf_fail(p, "fence: give one argument: `none` "
			    "or a command (quote it if it has arguments)");
		free(s->fence);
		s->fence = NULL;
		s->fence_none = 0;
		if (strcmp(av[1], "none") == 0) {
			s->fence_none = 1;
			return 0;
		}
		if (av[1][0] != '/')
			return conf_fail(p, "fence: the command must start "
			    "with an absolute path");
		if ((s->fence = strdup(av[1])) == NULL)
			return conf_fail(p, "out of memory");
		return 0;
	}
	if (strcmp(av[0], "drain_command") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return conf_fail(p, "drain_command: give one argument, "
			    "the command (quote it if it has arguments)");
		if (av[1][0] != '/')
			return conf_fail(p, "drain_command: the command must "
			    "start with an absolute path");
		free(s->drain_command);
		if ((s->drain_command = strdup(av[1])) == NULL)
			return conf_fail(p, "out of memory");
		return 0;
	}
	if (strcmp(av[0], "failback_for") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return conf_fail(p, "failback_for: give one argument, "
			    "the name of the host this daemon runs on");
		if (!conf_name_valid(av[1]))
			return conf_fail(p, "failback_for: \"%.64s\" is not a "
			    "valid name (letters, digits, '-', '_', '.', at "
			    "most %d)", av[1], CONF_NAME_MAX);
		snprintf(s->failback_for, sizeof(s->failback_for), "%s",
		    av[1]);
		return 0;
	}
	if (strcmp(av[0], "drain_timeout") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1, 3600, "seconds",
		    &s->drain_timeout);
	}
	if (strcmp(av[0], "fence_timeout") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1, 3600, "seconds",
		    &s->fence_timeout);
	}
	if (strcmp(av[0], "recover") == 0) {
		if (ac < 2)
			return conf_fail(p, "recover: missing argument (none, "
			    "exec COMMAND, or ssh)");
		free(s->recover_command);
		s->recover_command = NULL;
		if (strcmp(av[1], "none") == 0 || strcmp(av[1], "ssh") == 0) {
			if (ac != 2)
				return conf_fail(p, "recover: too many "
				    "arguments");
			s->recover = strcmp(av[1], "ssh") == 0 ?
			    CONF_RECOVER_SSH : CONF_RECOVER_NONE;
			return 0;
		}
		if (strcmp(av[1], "exec") != 0)
			return conf_fail(p, "recover: \"%s\" is not none, "
			    "exec or ssh", av[1]);
		if (ac != 3)
			return conf_fail(p, "recover exec: give one command "
			    "(quote it if it has arguments)");
		if (av[2][0] != '/')
			return conf_fail(p, "recover exec: the command must "
			    "start with an absolute path");
		if ((s->recover_command = strdup(av[2])) == NULL)
			return conf_fail(p, "out of memory");
		s->recover = CONF_RECOVER_EXEC;
		return 0;
	}
	if (strcmp(av[0], "dead_after") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 10, 600000,
		    "milliseconds", &s->dead_after);
	}
	if (strcmp(av[0], "probe_interval") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 50, 3600000,
		    "milliseconds", &s->probe_interval);
	}
	if (strcmp(av[0], "probe_timeout") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1, 10000,
		    "milliseconds", &s->probe_timeout);
	}
	if (strcmp(av[0], "probe_tries") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1, 20, "probes",
		    &s->probe_tries);
	}
	if (strcmp(av[0], "probe") == 0) {
		if (conf_want_args(p, ac, 1, 2, av[0]) != 0)
			return -1;
		s->probe_methods = 0;
		for (i = 1; i < ac; i++) {
			if (strcmp(av[i], "arp") == 0)
				s->probe_methods |= CONF_PROBE_ARP;
			else if (strcmp(av[i], "tcp") == 0)
				s->probe_methods |= CONF_PROBE_TCP;
			else
				return conf_fail(p, "probe: \"%s\" is not "
				    "arp or tcp", av[i]);
		}
		return 0;
	}
	return conf_fail(p, "unknown directive \"%s\" in server block",
	    av[0]);
}

static int
conf_global_directive(struct conf_parser *p, int ac, char **av)
{
	struct conf *c = p->conf;
	int r;

	if ((r = conf_ssh_directive(p, &c->ssh, ac, av)) <= 0)
		return r;
	if (strcmp(av[0], "replay_program") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_set_path(p, &c->replay_program, av[0], av[1]);
	}

	if (strcmp(av[0], "interface") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		if (strlen(av[1]) >= IF_NAMESIZE || strchr(av[1], '/') != NULL)
			return conf_fail(p, "interface: \"%s\" is not a valid "
			    "interface name", av[1]);
		free(c->interface);
		if ((c->interface = strdup(av[1])) == NULL)
			return conf_fail(p, "out of memory");
		return 0;
	}
	if (strcmp(av[0], "state_file") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_set_path(p, &c->state_file, av[0], av[1]);
	}
	if (strcmp(av[0], "recovery_key") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_set_path(p, &c->recovery_key, av[0], av[1]);
	}
	if (strcmp(av[0], "control_socket") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		if (strlen(av[1]) >= 100)
			return conf_fail(p, "control_socket: path too long "
			    "for a Unix socket (at most 99 bytes)");
		return conf_set_path(p, &c->control_socket, av[0], av[1]);
	}
	if (strcmp(av[0], "export_listen") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		if (strcmp(av[1], "none") == 0) {
			c->export_enabled = 0;
			return 0;
		}
		return conf_parse_listen(p, av[1]);
	}
	if (strcmp(av[0], "metrics_listen") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		c->metrics_enabled = 0;
		if (strcmp(av[1], "none") == 0)
			return 0;
		if (conf_parse_addr_port(p, av[0], av[1], &c->metrics_addr,
		    &c->metrics_port, CONF_DEFAULT_METRICS_PORT) != 0)
			return -1;
		c->metrics_enabled = 1;
		return 0;
	}
	if (strcmp(av[0], "metrics_textfile") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		if (strcmp(av[1], "none") == 0) {
			free(c->metrics_textfile);
			c->metrics_textfile = NULL;
			return 0;
		}
		return conf_set_path(p, &c->metrics_textfile, av[0], av[1]);
	}
	if (strcmp(av[0], "export_max_age") == 0) {
		char *end;
		long v;

		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		errno = 0;
		v = strtol(av[1], &end, 10);
		if (!isdigit((unsigned char)av[1][0]) || errno != 0 ||
		    *end != '\0' || v < 0 || v > CONF_MAX_EXPORT_MAX_AGE)
			return conf_fail(p, "export_max_age: \"%s\" is not a "
			    "number of seconds (0-%d)", av[1],
			    CONF_MAX_EXPORT_MAX_AGE);
		c->export_max_age = (uint32_t)v;
		c->export_max_age_set = 1;
		return 0;
	}
	if (strcmp(av[0], "capture_buffer") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1, 2047, "MiB",
		    &c->capture_buffer);
	}
	if (strcmp(av[0], "recover_concurrency") == 0) {
		if (conf_want_args(p, ac, 1, 1, av[0]) != 0)
			return -1;
		return conf_parse_uint(p, av[0], av[1], 1, 1024,
		    "hand-offs", &c->recover_concurrency);
	}
	if (strcmp(av[0], "server") == 0)
		return conf_server_open(p, ac, av);
	return conf_fail(p, "unknown directive \"%s\"", av[0]);
}

/* A server's string: its own, else the global one, else the default. */
static int
conf_inherit(char **dst, const char *global, const char *def)
{
	if (*dst != NULL)
		return 0;
	*dst = strdup(global != NULL ? global : def);
	return *dst == NULL ? -1 : 0;
}

/* Fill in every server's `recover ssh` settings. */
static int
conf_ssh_defaults(struct conf_parser *p)
{
	struct conf *c = p->conf;
	const struct conf_ssh *g = &c->ssh;
	struct conf_ssh *s;
	size_t i;

	if (c->replay_program == NULL &&
	    (c->replay_program = strdup(CONF_DEFAULT_REPLAY_PROGRAM)) == NULL)
		return conf_fail(p, "out of memory");
	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i].ssh;
		if (conf_inherit(&s->sshd, g->sshd,
		    CONF_DEFAULT_RECOVERY_SSHD) != 0 ||
		    conf_inherit(&s->sshd_config, g->sshd_config,
		    CONF_DEFAULT_RECOVERY_SSHD_CONFIG) != 0 ||
		    conf_inherit(&s->notice, g->notice, "") != 0)
			return conf_fail(p, "out of memory");
		if (s->rerun_exec < 0)
			s->rerun_exec = g->rerun_exec > 0;
		if (s->replay_timeout == 0)
			s->replay_timeout = g->replay_timeout != 0 ?
			    g->replay_timeout : CONF_DEFAULT_REPLAY_TIMEOUT;
	}
	return 0;
}

/* failback_for: on a drainable server, one server per name, not a server. */
static int
conf_failback_check(struct conf_parser *p)
{
	const struct conf *c = p->conf;
	size_t i, j;

	for (i = 0; i < c->nservers; i++) {
		const struct conf_server *s = &c->servers[i];

		if (s->failback_for[0] == '\0')
			continue;
		p->line = s->line;
		if (s->recover != CONF_RECOVER_SSH || s->drain_command == NULL)
			return conf_fail(p, "server %s: failback_for needs "
			    "`recover ssh` and a drain_command", s->name);
		if (conf_server_index(c, s->failback_for) >= 0)
			return conf_fail(p, "server %s: failback_for %s: %s is "
			    "a server block here (failback_for names the host "
			    "this daemon runs on)", s->name, s->failback_for,
			    s->failback_for);
		for (j = 0; j < i; j++)
			if (strcmp(c->servers[j].failback_for,
			    s->failback_for) == 0)
				return conf_fail(p, "server %s: failback_for "
				    "%s: already said by server %s", s->name,
				    s->failback_for, c->servers[j].name);
	}
	return 0;
}

static int
conf_defaults(struct conf_parser *p)
{
	struct conf *c = p->conf;

	if (c->interface == NULL)
		return conf_fail(p, "interface is required");
	if (c->capture_buffer == 0)
		c->capture_buffer = CONF_DEFAULT_CAPTURE_BUFFER;
	if (c->recover_concurrency == 0)
		c->recover_concurrency = CONF_DEFAULT_RECOVER_CONCURRENCY;
	if (c->state_file == NULL &&
	    (c->state_file = strdup(CONF_DEFAULT_STATE_FILE)) == NULL)
		return conf_fail(p, "out of memory");
	if (c->recovery_key == NULL &&
	    (c->recovery_key = strdup(CONF_DEFAULT_RECOVERY_KEY)) == NULL)
		return conf_fail(p, "out of memory");
	if (c->control_socket == NULL &&
	    (c->control_socket = strdup(CONF_DEFAULT_CONTROL_SOCKET)) == NULL)
		return conf_fail(p, "out of memory");
	if (!c->export_max_age_set)
		c->export_max_age = CONF_DEFAULT_EXPORT_MAX_AGE;
	if (c->nservers == 0)
		return conf_fail(p, "no server block: nothing to protect");
	if (conf_failback_check(p) != 0)
		return -1;
	return conf_ssh_defaults(p);
}

int
conf_parse(const char *text, size_t len, const char *name,
    struct conf **out, char *err, size_t errlen)
{
	struct conf_parser p;
	char line[CONF_LINE_MAX], *av[CONF_MAX_ARGS];
	size_t i = 0, n;
	int ac;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	if (len > CONF_MAX_SIZE)
		return conf_fail(&p, "file too large (at most %d bytes)",
		    CONF_MAX_SIZE);
	if ((p.conf = calloc(1, sizeof(*p.conf))) == NULL)
		return conf_fail(&p, "out of memory");
	p.conf->ssh.rerun_exec = -1;
	if ((p.conf->path = strdup(name)) == NULL) {
		conf_fail(&p, "out of memory");
		goto fail;
	}
	while (i < len) {
		p.line++;
		for (n = 0; i + n < len && text[i + n] != '\n'; n++)
			;
		if (n >= sizeof(line)) {
			conf_fail(&p, "line too long (at most %d bytes)",
			    CONF_LINE_MAX - 1);
			goto fail;
		}
		if (memchr(text + i, '\0', n) != NULL) {
			conf_fail(&p, "NUL byte in line");
			goto fail;
		}
		memcpy(line, text + i, n);
		line[n] = '\0';
		i += n + 1;
		if ((ac = conf_split(&p, line, av)) < 0)
			goto fail;
		if (ac == 0)
			continue;
		if (strcmp(av[0], "}") == 0) {
			if (ac != 1) {
				conf_fail(&p, "unexpected text after '}'");
				goto fail;
			}
			if (conf_server_close(&p) != 0)
				goto fail;
		} else if (p.server != NULL) {
			if (conf_server_directive(&p, ac, av) != 0)
				goto fail;
		} else if (conf_global_directive(&p, ac, av) != 0)
			goto fail;
	}
	if (p.server != NULL) {
		conf_fail(&p, "server %s: block opened at line %d is not "
		    "closed", p.server->name, p.server->line);
		goto fail;
	}
	if (conf_defaults(&p) != 0)
		goto fail;
	*out = p.conf;
	return 0;
 fail:
	conf_free(p.conf);
	return -1;
}

int
conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct stat st;
	char *text, *abs;
	ssize_t r;
	size_t got = 0;
	int fd, ret;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		snprintf(err, errlen, "%s: file too large (at most %d bytes)",
		    path, CONF_MAX_SIZE);
		close(fd);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, text + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	ret = conf_parse(text, got, path, out, err, errlen);
	free(text);
	/* Keep the absolute path: reloads must find the file again. */
	if (ret == 0 && (abs = realpath(path, NULL)) != NULL) {
		free((*out)->path);
		(*out)->path = abs;
	}
	return ret;
}

static void
conf_ssh_free(struct conf_ssh *s)
{
	free(s->sshd);
	free(s->sshd_config);
	free(s->notice);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nservers; i++) {
		free(c->servers[i].signing_key);
		free(c->servers[i].fence);
		free(c->servers[i].drain_command);
		free(c->servers[i].recover_command);
		conf_ssh_free(&c->servers[i].ssh);
	}
	conf_ssh_free(&c->ssh);
	free(c->replay_program);
	free(c->servers);
	free(c->path);
	free(c->interface);
	free(c->state_file);
	free(c->recovery_key);
	free(c->control_socket);
	free(c->metrics_textfile);
	free(c);
}
