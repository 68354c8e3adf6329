/*
 * notify: the systemd notification protocol (sd_notify(3)), written out so
 * that the daemon needs no libsystemd: one datagram to $NOTIFY_SOCKET per
 * message.  Without NOTIFY_SOCKET every call does nothing.
 */
#ifndef SJ_NOTIFY_H
#define SJ_NOTIFY_H

/* Send "READY=1" (and STATUS=...) once start-up is complete. */
int	notify_ready(const char *status);
/* Send a free-form STATUS= line, shown by `systemctl status`. */
int	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Send "RELOADING=1" before a reload and "READY=1" after it. */
int	notify_reloading(void);
/* Send "STOPPING=1" at shutdown. */
int	notify_stopping(void);
/* Send a raw message (several "KEY=value" lines); 0 if sent or not wanted. */
int	notify_send(const char *msg);

#endif
