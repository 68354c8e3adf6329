/*
 * conf: the one parser of jeebs.conf.  Every directive it accepts is
 * documented, with its default, in docs/jeebs.conf.5; the two change together.
 */
#ifndef SJ_CONF_H
#define SJ_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define CONF_MAX_SERVERS	64
#define CONF_MAX_PORTS		16
#define CONF_MAX_EXPORT_FROM	16
#define CONF_NAME_MAX		32
#define CONF_MAX_SIZE		(1024 * 1024)	/* refuse larger files */

#define CONF_DEFAULT_STATE_FILE		"/var/lib/securejeebs/state.db"
#define CONF_DEFAULT_RECOVERY_KEY	"/etc/securejeebs/recovery.key"
#define CONF_DEFAULT_CONTROL_SOCKET	"/run/securejeebs/control.sock"
#define CONF_DEFAULT_EXPORT_PORT	7022
#define CONF_DEFAULT_EXPORT_MAX_AGE	600	/* seconds */
#define CONF_MAX_EXPORT_MAX_AGE		604800	/* a week */
/* recover ssh (DESIGN.md 6): the recovery sshd and jeebs-replay. */
#define CONF_DEFAULT_RECOVERY_SSHD	"/usr/sbin/sshd"
#define CONF_DEFAULT_RECOVERY_SSHD_CONFIG "/etc/ssh/sshd_config"
/* Where `make install` puts it: $(LIBEXECDIR), PREFIX /usr. */
#define CONF_DEFAULT_REPLAY_PROGRAM	"/usr/lib/securejeebs/jeebs-replay"
#define CONF_DEFAULT_REPLAY_TIMEOUT	10	/* s */
#define CONF_MAX_REPLAY_TIMEOUT		300	/* s */
/* Prometheus metrics (docs/jeebs.conf.5): off unless configured. */
#define CONF_DEFAULT_METRICS_PORT	9722
#define CONF_NOTICE_MAX			200	/* bytes of recovery_notice */

/* An IPv4 or IPv6 address. */
struct conf_addr {
	int		family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} u;
};

/*
 * What recovers a connection with `recover ssh`.  Allowed globally (the
 * default of every server) and in a server block (that server's); unset is
 * NULL, -1 or 0 while parsing, and every server's is filled in once the
 * file is read: its own, else the global one, else the built-in default.
 */
struct conf_ssh {
	char		*sshd;		/* recovery_sshd */
	char		*sshd_config;	/* recovery_sshd_config */
	int		 rerun_exec;	/* recover_exec: 0 close, 1 rerun */
	char		*notice;	/* recovery_notice, "" for none */
	uint32_t	 replay_timeout;	/* seconds */
};

/* One protected production server: a `server NAME { ... }` block. */
struct conf_server {
	char		 name[CONF_NAME_MAX + 1];
	struct conf_addr service_ip;
	uint16_t	 ports[CONF_MAX_PORTS];
	int		 nports;
	char		*signing_key;	/* pinned export signing key, or NULL */
	/* Where its export connections may come from (default: service_ip). */
	struct conf_addr export_from[CONF_MAX_EXPORT_FROM];
	int		 nexport_from;
	char		*fence;		/* fence command, or NULL */
	int		 fence_none;	/* `fence none`: take over unfenced */
	uint32_t	 fence_timeout;	/* seconds the fence command may take */
	/* Maintenance drain (docs/drain.md): command run on `drain`. */
	char		*drain_command;	/* absolute path + arguments, or NULL */
	uint32_t	 drain_timeout;	/* s for the command, then the records */
	/*
	 * `failback_for NAME`: `securejeebsctl failback NAME` drains this
	 * server (NAME: the host this daemon runs on, whose service address
	 * this server holds after a drain); "" if not set.
	 */
	char		 failback_for[CONF_NAME_MAX + 1];
	/* What takes over each connection (`recover`): CONF_RECOVER_*. */
	int		 recover;
	char		*recover_command;	/* `recover exec COMMAND` */
	struct conf_ssh	 ssh;		/* `recover ssh`: always filled in */
	/* Failure detection (DESIGN.md section 3), milliseconds. */
	uint32_t	 dead_after;
	uint32_t	 probe_interval;
	uint32_t	 probe_timeout;
	uint32_t	 probe_tries;
	int		 probe_methods;	/* CONF_PROBE_* */
	int		 line;		/* where the block starts */
};

#define CONF_RECOVER_NONE	0	/* watch and report only */
#define CONF_RECOVER_EXEC	1	/* a program per connection (inetd) */
#define CONF_RECOVER_SSH	2	/* recovery sshd and jeebs-replay */

#define CONF_PROBE_ARP		0x1
#define CONF_PROBE_TCP		0x2
#define CONF_DEFAULT_DEAD_AFTER		100	/* ms */
#define CONF_DEFAULT_PROBE_INTERVAL	1000	/* ms */
#define CONF_DEFAULT_PROBE_TIMEOUT	10	/* ms */
#define CONF_DEFAULT_PROBE_TRIES	3
#define CONF_DEFAULT_CAPTURE_BUFFER	64	/* MiB */
#define CONF_DEFAULT_FENCE_TIMEOUT	30	/* s */
#define CONF_DEFAULT_DRAIN_TIMEOUT	30	/* s */
#define CONF_DEFAULT_RECOVER_CONCURRENCY 16	/* hand-offs at once */

struct conf {
	char			*path;
	char			*interface;
	char			*state_file;
	char			*recovery_key;
	char			*control_socket;
	int			 export_enabled;
	struct conf_addr	 export_addr;
	uint16_t		 export_port;
	uint32_t		 export_max_age;	/* s, 0: no check */
	int			 export_max_age_set;
	uint32_t		 capture_buffer;	/* MiB */
	uint32_t		 recover_concurrency;	/* hand-offs at once */
	char			*replay_program;	/* jeebs-replay */
	int			 metrics_enabled;	/* metrics_listen set */
	struct conf_addr	 metrics_addr;
	uint16_t		 metrics_port;
	char			*metrics_textfile;	/* or NULL */
	struct conf_ssh		 ssh;	/* the servers' defaults, as written */
	struct conf_server	*servers;
	size_t			 nservers;
};

/* Read and check the file at path; on error *out is NULL and err says where and why. */
int	conf_load(const char *path, struct conf **out, char *err, size_t errlen);
/* Parse text as if read from a file called name (tests and fuzzing). */
int	conf_parse(const char *text, size_t len, const char *name,
	    struct conf **out, char *err, size_t errlen);
/* Release a configuration. */
void	conf_free(struct conf *c);
/* Format an address as text into buf. */
const char *conf_addr_str(const struct conf_addr *a, char *buf, size_t len);
/* Parse an IPv4 or IPv6 address; 0 on success. */
int	conf_addr_parse(const char *s, struct conf_addr *a);
/* Non-zero if a and b are the same address. */
int	conf_addr_equal(const struct conf_addr *a, const struct conf_addr *b);
/* Non-zero if a is one of the server's export_from addresses. */
int	conf_server_export_from(const struct conf_server *s,
	    const struct conf_addr *a);
/* Non-zero if s is a valid server name. */
int	conf_name_valid(const char *s);
/* Text for a CONF_RECOVER_* mode. */
const char *conf_recover_str(int mode);
/* Index in c->servers of the server called name, or -1. */
int	conf_server_index(const struct conf *c, const char *name);
/* Index in c->servers of the server with `failback_for name`, or -1. */
int	conf_failback_index(const struct conf *c, const char *name);

#endif
