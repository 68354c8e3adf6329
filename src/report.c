/*
 * report: answers to control requests (status, events), as aligned text
 * tables for a terminal or as JSON with --json.  It only reads the daemon's
 * state; nothing here changes it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "daemon.h"
#include "json.h"
#include "table.h"
#include "version.h"

static void
report_time(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
}

static void
report_ports(const struct conf_server *s, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < s->nports && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u",
		    i ? "," : "", s->ports[i]);
}

static int
report_status(struct daemon *d, int json, struct buf *out)
{
	char ip[64], ports[128], since[64], exp[96];
	struct table t;
	int64_t uptime = (int64_t)(ev_time() - d->started_mono);
	size_t i;

	if (d->conf->export_enabled) {
		char a[64];

		conf_addr_str(&d->conf->export_addr, a, sizeof(a));
		snprintf(exp, sizeof(exp), d->conf->export_addr.family ==
		    AF_INET6 ? "[%s]:%u" : "%s:%u", a, d->conf->export_port);
	} else
		snprintf(exp, sizeof(exp), "none");
	if (json) {
		buf_putf(out, "{");
		json_put_kv_string(out, "version", SJ_VERSION);
		buf_putf(out, ",");
		json_put_kv_int(out, "pid", (int64_t)getpid());
		buf_putf(out, ",");
		json_put_kv_int(out, "uptime_s", uptime);
		buf_putf(out, ",");
		json_put_kv_string(out, "config", d->conf->path);
		buf_putf(out, ",");
		json_put_kv_string(out, "interface", d->conf->interface);
		buf_putf(out, ",");
		json_put_kv_string(out, "state_file", d->conf->state_file);
		buf_putf(out, ",");
		json_put_kv_string(out, "export_listen", exp);
		buf_putf(out, ",\"servers\":[");
		for (i = 0; i < d->nservers; i++) {
			const struct conf_server *s = d->servers[i].conf;
			int p;

			buf_putf(out, "%s{", i ? "," : "");
			json_put_kv_string(out, "name", s->name);
			buf_putf(out, ",");
			json_put_kv_string(out, "service_ip",
			    conf_addr_str(&s->service_ip, ip, sizeof(ip)));
			buf_putf(out, ",\"ports\":[");
			for (p = 0; p < s->nports; p++)
				buf_putf(out, "%s%u", p ? "," : "",
				    s->ports[p]);
			buf_putf(out, "],");
			json_put_kv_string(out, "state", d->servers[i].state);
			buf_putf(out, ",");
			json_put_kv_int(out, "since_us",
			    d->servers[i].since_us);
			buf_putf(out, "}");
		}
		return buf_putf(out, "]}\n");
	}
	buf_putf(out, "securejeebsd %s, pid %ld, up %" PRId64 "d %02"
	    PRId64 ":%02" PRId64 ":%02" PRId64 "\n", SJ_VERSION,
	    (long)getpid(), uptime / 86400, uptime / 3600 % 24,
	    uptime / 60 % 60, uptime % 60);
	buf_putf(out, "config      %s\n", d->conf->path);
	buf_putf(out, "interface   %s\n", d->conf->interface);
	buf_putf(out, "state file  %s\n", d->conf->state_file);
	buf_putf(out, "export      %s\n\n", exp);
	table_init(&t, 5, "SERVER", "SERVICE IP", "PORTS", "STATE", "SINCE");
	for (i = 0; i < d->nservers; i++) {
		const struct conf_server *s = d->servers[i].conf;

		conf_addr_str(&s->service_ip, ip, sizeof(ip));
		report_ports(s, ports, sizeof(ports));
		report_time(d->servers[i].since_us, since, sizeof(since));
		table_row(&t, s->name, ip, ports, d->servers[i].state, since);
	}
	return table_render(&t, out);
}

struct report_events {
	struct buf	*out;
	struct table	*t;
	int		 json;
	int		 n;
};

static int
report_event_cb(void *arg, const struct store_event *ev)
{
	struct report_events *re = arg;
	char ts[64];

	report_time(ev->ts_us, ts, sizeof(ts));
	if (!re->json) {
		table_row(re->t, ts, ev->server ? ev->server : "-", ev->kind,
		    ev->detail ? ev->detail : "");
		return 0;
	}
	buf_putf(re->out, "%s{", re->n++ ? "," : "");
	json_put_kv_int(re->out, "id", ev->id);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "time", ts);
	buf_putf(re->out, ",");
	json_put_kv_int(re->out, "ts_us", ev->ts_us);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "server", ev->server);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "kind", ev->kind);
	buf_putf(re->out, ",");
	json_put_kv_string(re->out, "detail", ev->detail);
	return buf_putf(re->out, "}");
}

static int
report_events(struct daemon *d, int json, int limit, struct buf *out)
{
	struct report_events re = { out, NULL, json, 0 };
	struct table t;
	int r;

	if (json) {
		buf_putf(out, "[");
		r = store_events(d->store, limit, report_event_cb, &re);
		buf_putf(out, "]\n");
		return r;
	}
	table_init(&t, 4, "TIME", "SERVER", "EVENT", "DETAIL");
	re.t = &t;
	if ((r = store_events(d->store, limit, report_event_cb, &re)) != 0) {
		table_free(&t);
		return r;
	}
	return table_render(&t, out);
}

int
daemon_control(void *arg, int ac, char **av, struct buf *out)
{
	struct daemon *d = arg;
	int i, json = 0, limit = 50;

	for (i = 1; i < ac; i++) {
		if (strcmp(av[i], "--json") == 0)
			json = 1;
		else if (strcmp(av[0], "events") == 0 &&
		    strncmp(av[i], "--limit=", 8) == 0) {
			char *end;
			long v = strtol(av[i] + 8, &end, 10);

			if (*end != '\0' || v < 0 || v > 100000) {
				buf_putf(out, "bad limit \"%s\"", av[i] + 8);
				return -1;
			}
			limit = (int)v;
		} else {
			buf_putf(out, "%s: unknown argument \"%.64s\"", av[0],
			    av[i]);
			return -1;
		}
	}
	if (strcmp(av[0], "status") == 0)
		return report_status(d, json, out) == 0 ? 0 : -1;
	if (strcmp(av[0], "events") == 0) {
		if (report_events(d, json, limit, out) != 0) {
			buf_reset(out);
			buf_putf(out, "cannot read events from the state file");
			return -1;
		}
		return 0;
	}
	buf_putf(out, "unknown command \"%.64s\"", av[0]);
	return -1;
}
