/*
 * log: syslog or stderr output for the daemon and its tools (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_foreground = 1;
static int log_debug_on;
static const char *log_ident = "securejeebs";

void
log_init(const char *ident, int foreground, int debug)
{
	log_ident = ident;
	log_foreground = foreground;
	log_debug_on = debug;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_fini(void)
{
	if (!log_foreground)
		closelog();
}

int
log_debug_enabled(void)
{
	return log_debug_on;
}

static const char *
log_prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR:		return "error";
	case LOG_WARNING:	return "warning";
	case LOG_NOTICE:	return "notice";
	case LOG_INFO:		return "info";
	case LOG_DEBUG:		return "debug";
	default:		return "log";
	}
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_foreground) {
		syslog(prio, "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
	    log_prio_name(prio), msg);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void
log_limited(struct log_ratelimit *rl, int prio, const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (rl->last != 0 && now.tv_sec - rl->last < rl->interval) {
		rl->suppressed++;
		return;
	}
	if (rl->suppressed > 0)
		log_msg(prio, "(%lu similar messages suppressed)", rl->suppressed);
	rl->suppressed = 0;
	rl->last = now.tv_sec;
	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
