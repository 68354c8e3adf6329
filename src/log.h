/*
 * log: the daemon's one logging path, to syslog or (foreground) to stderr.
 * Messages name the function that logs them, as OpenSSH's error_f() does.
 * A rate limiter keeps floods of bad input down to a line per interval.
 */
#ifndef SJ_LOG_H
#define SJ_LOG_H

#include <stdarg.h>
#include <syslog.h>
#include <time.h>

/* Start logging as ident; to stderr if foreground, with debug messages if debug. */
void	log_init(const char *ident, int foreground, int debug);
/* Stop logging (closes syslog). */
void	log_fini(void);
/* Log at a syslog priority, printf-style. */
void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(int prio, const char *fmt, va_list ap);
/* Non-zero when debug messages are being emitted. */
int	log_debug_enabled(void);

#define log_error(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_debug_enabled()) \
	log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
/* The same, prefixed with the calling function's name. */
#define error_f(fmt, ...)	log_msg(LOG_ERR, "%s: " fmt, __func__, ##__VA_ARGS__)
#define warn_f(fmt, ...)	log_msg(LOG_WARNING, "%s: " fmt, __func__, ##__VA_ARGS__)
#define debug_f(fmt, ...)	log_debug("%s: " fmt, __func__, ##__VA_ARGS__)

/*
 * A rate limit for one kind of message: at most one line per interval;
 * the next line that passes says how many were suppressed.
 */
struct log_ratelimit {
	int		interval;	/* seconds between lines */
	time_t		last;		/* when the last line was logged */
	unsigned long	suppressed;	/* lines dropped since then */
};

#define LOG_RATELIMIT_INIT(secs) { (secs), 0, 0 }

/* Log through rl, or count the message as suppressed. */
void	log_limited(struct log_ratelimit *rl, int prio, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
