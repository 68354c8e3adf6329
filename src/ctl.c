/*
 * securejeebsctl: the administrator's view of securejeebsd, through its
 * control socket.  It sends one request line and prints the answer.  The
 * one local command, keygen, makes the export key files without a daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "seal.h"
#include "version.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: securejeebsctl [-s socket] command [options]\n"
	    "commands:\n"
	    "  status [--json]                  daemon and server state\n"
	    "  connections [--json]             exported connections, no keys\n"
	    "  events [--json] [--limit=N]      recent events (default 50)\n"
	    "  drain SERVER                     move SERVER's sessions here "
	    "with their exact state\n"
	    "  failback NAME                    on NAME (this host): drain "
	    "back the server\n"
	    "                                   that holds NAME's address "
	    "(failback_for NAME)\n"
	    "  takeover SERVER [--yes]          fence SERVER and take it over "
	    "now\n"
	    "  keygen recovery DIR              DIR/recovery.key and .pub\n"
	    "  keygen signing NAME DIR          DIR/NAME-export.key and .pub\n"
	    "  version                          this tool's version\n");
	exit(2);
}

/* Where answers go when not to stdout (drain progress). */
static FILE *ctl_out;

/* Send the request and copy the answer to stdout; the exit status. */
static int
ctl_request(const char *path, const char *req)
{
	struct sockaddr_un sun;
	char buf[8192], *nl;
	size_t have = 0;
	int fd, first = 1, failed = 0;
	ssize_t n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "securejeebsctl: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "securejeebsctl: cannot connect to %s: %s "
		    "(is securejeebsd running?)\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "securejeebsctl: write: %s\n",
		    strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "securejeebsctl: read: %s\n",
			    strerror(errno));
			close(fd);
			return 1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (first) {
			/* The status line: "ok" or "error: reason". */
			if ((nl = memchr(buf, '\n', have)) == NULL) {
				if (n > 0 && have < sizeof(buf) - 1)
					continue;
				fprintf(stderr, "securejeebsctl: malformed "
				    "answer from the daemon\n");
				close(fd);
				return 1;
			}
			*nl = '\0';
			if (strcmp(buf, "ok") != 0) {
				fprintf(stderr, "securejeebsctl: %s\n",
				    strncmp(buf, "error: ", 7) == 0 ?
				    buf + 7 : buf);
				failed = 1;
			}
			first = 0;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (have > 0) {
			fwrite(buf, 1, have, failed ? stderr :
			    ctl_out != NULL ? ctl_out : stdout);
			have = 0;
		}
		if (n == 0)
			break;
	}
	close(fd);
	if (first) {
		fprintf(stderr, "securejeebsctl: no answer from the daemon\n");
		return 1;
	}
	return failed;
}

/* "DIR/NAMEsuffix" into buf; -1 if too long. */
static int
ctl_path(char *buf, size_t len, const char *dir, const char *name,
    const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
ctl_exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		fprintf(stderr, "securejeebsctl: %s already exists; not "
		    "overwriting it\n", path);
		return 1;
	}
	return 0;
}

/*
 * keygen recovery DIR | keygen signing NAME DIR: a new key pair, the
 * private file 0600 and the public one 0644, never over existing files.
 */
static int
ctl_keygen(int ac, char **av)
{
	char dir[PATH_MAX], priv[PATH_MAX], pub[PATH_MAX];
	const char *name, *base;
	struct seal_key *k = NULL;
	struct stat st;
	int type, r;

	if (ac == 3 && strcmp(av[1], "recovery") == 0) {
		type = SEAL_KEY_X25519;
		name = NULL;
		base = "recovery";
	} else if (ac == 4 && strcmp(av[1], "signing") == 0) {
		type = SEAL_KEY_ED25519;
		name = av[2];
		base = av[2];
		if (!conf_name_valid(name)) {
			fprintf(stderr, "securejeebsctl: \"%s\" is not a "
			    "server name (letters, digits, '-', '_', '.'; at "
			    "most %d; as in jeebs.conf)\n", name,
			    CONF_NAME_MAX);
			return 2;
		}
	} else {
		fprintf(stderr, "usage: securejeebsctl keygen recovery DIR\n"
		    "       securejeebsctl keygen signing NAME DIR\n");
		return 2;
	}
	if (realpath(av[ac - 1], dir) == NULL || stat(dir, &st) != 0 ||
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "securejeebsctl: %s: not a directory\n",
		    av[ac - 1]);
		return 1;
	}
	if (ctl_path(priv, sizeof(priv), dir, base,
	    name ? "-export.key" : ".key") != 0 ||
	    ctl_path(pub, sizeof(pub), dir, base,
	    name ? "-export.pub" : ".pub") != 0) {
		fprintf(stderr, "securejeebsctl: %s: path too long\n", dir);
		return 1;
	}
	if (ctl_exists(priv) || ctl_exists(pub))
		return 1;
	if ((r = seal_key_generate(type, &k)) != SEAL_OK) {
		fprintf(stderr, "securejeebsctl: cannot make a key: %s\n",
		    seal_strerror(r));
		return 1;
	}
	if ((r = seal_key_save_private(k, priv)) != SEAL_OK) {
		fprintf(stderr, "securejeebsctl: %s: %s\n", priv,
		    r == SEAL_ERR_SYSTEM ? strerror(errno) : seal_strerror(r));
		seal_key_free(k);
		return 1;
	}
	if ((r = seal_key_save_public(k, pub)) != SEAL_OK) {
		fprintf(stderr, "securejeebsctl: %s: %s\n", pub,
		    r == SEAL_ERR_SYSTEM ? strerror(errno) : seal_strerror(r));
		unlink(priv);	/* ours: made just now, O_EXCL */
		seal_key_free(k);
		return 1;
	}
	seal_key_free(k);
	if (name == NULL) {
		printf("wrote %s (X25519 private key, mode 0600)\n"
		    "  keep it on the recovery host; in jeebs.conf:\n"
		    "    recovery_key %s\n", priv, priv);
		printf("wrote %s (X25519 public key, mode 0644)\n"
		    "  copy it to every production server; in each "
		    "sshd_config:\n"
		    "    FailoverRecoveryKey /path/to/recovery.pub\n", pub);
	} else {
		printf("wrote %s (Ed25519 private key, mode 0600)\n"
		    "  copy it to server %s only, then delete it here; in its "
		    "sshd_config:\n"
		    "    FailoverSigningKey /path/to/%s-export.key\n", priv,
		    name, name);
		printf("wrote %s (Ed25519 public key, mode 0644)\n"
		    "  keep it on the recovery host; in jeebs.conf, block "
		    "server %s:\n"
		    "    signing_key %s\n", pub, name, pub);
	}
	return 0;
}

/*
 * takeover SERVER [--yes]: an operator's takeover (or a drill) fences a
 * server and moves its address: ask first, on a terminal; without one,
 * only --yes will do.
 */
static int
ctl_takeover(const char *path, int ac, char **av)
{
	const char *server = NULL;
	char req[256], answer[64];
	int i, yes = 0, bad = 0;
	FILE *tty;

	for (i = 1; i < ac; i++) {
		if (strcmp(av[i], "--yes") == 0)
			yes = 1;
		else if (server == NULL && av[i][0] != '-')
			server = av[i];
		else
			bad = 1;
	}
	if (server == NULL || bad || !conf_name_valid(server)) {
		fprintf(stderr, "usage: securejeebsctl takeover SERVER "
		    "[--yes]\n");
		return 2;
	}
	if (!yes) {
		if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty",
		    "r+")) == NULL) {
			fprintf(stderr, "securejeebsctl: takeover asks for "
			    "confirmation on a terminal; add --yes to take "
			    "over %s without asking\n", server);
			return 2;
		}
		fprintf(tty, "Take over server %s now?  securejeebsd fences it "
		    "(its fence command), adds its\nservice address here and "
		    "moves its connections to this host, as if it had died.\n"
		    "Type the server name to confirm: ", server);
		fflush(tty);
		if (fgets(answer, sizeof(answer), tty) == NULL)
			answer[0] = '\0';
		fclose(tty);
		answer[strcspn(answer, "\r\n")] = '\0';
		if (strcmp(answer, server) != 0) {
			fprintf(stderr, "securejeebsctl: not confirmed; "
			    "nothing done\n");
			return 1;
		}
	}
	snprintf(req, sizeof(req), "takeover %s\n", server);
	return ctl_request(path, req);
}

/* One drain-status answer into buf; 0, or the request's exit status. */
static int
ctl_drain_status(const char *path, const char *server, char **buf)
{
	char req[256];
	size_t len;
	int r;

	snprintf(req, sizeof(req), "drain-status %s\n", server);
	if ((ctl_out = open_memstream(buf, &len)) == NULL)
		return 1;
	r = ctl_request(path, req);
	fclose(ctl_out);
	ctl_out = NULL;
	return r;
}

static long
ctl_field(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p == NULL ? -1 : strtol(p + strlen(key), NULL, 10);
}

/*
 * drain SERVER / failback NAME: start the drain, show its progress until
 * it is over, then every connection's fate and a summary.  failback NAME
 * drains the server whose block says `failback_for NAME` (the daemon
 * names it).  Exit status: 0 every session moved; 1 some failed; 2
 * nothing moved (drain refused or called off, or its command failed); 3
 * the daemon could not be asked.
 */
static int
ctl_drain(const char *path, int ac, char **av)
{
	char req[256], *st = NULL, last[512] = "", server[64];
	long total, moved, failed, nnew;
	char *nl, *why;
	int r, i;

	if (ac != 2 || !conf_name_valid(av[1])) {
		fprintf(stderr, "usage: securejeebsctl %s %s\n", av[0],
		    strcmp(av[0], "failback") == 0 ? "NAME" : "SERVER");
		return 3;
	}
	snprintf(server, sizeof(server), "%s", av[1]);
	if (strcmp(av[0], "failback") == 0) {
		char *ans = NULL, *p;
		size_t alen;

		/* "failback NAME: server SERVER", then the drain's line. */
		snprintf(req, sizeof(req), "failback %s\n", av[1]);
		if ((ctl_out = open_memstream(&ans, &alen)) == NULL)
			return 3;
		r = ctl_request(path, req);
		fclose(ctl_out);
		ctl_out = NULL;
		if (r != 0) {
			free(ans);
			return 2;
		}
		fputs(ans, stdout);
		if ((p = strstr(ans, ": server ")) == NULL ||
		    sscanf(p + 9, "%63[A-Za-z0-9._-]", server) != 1) {
			fprintf(stderr, "securejeebsctl: malformed failback "
			    "answer from the daemon\n");
			free(ans);
			return 3;
		}
		free(ans);
	} else {
		snprintf(req, sizeof(req), "drain %s\n", server);
		if ((r = ctl_request(path, req)) != 0)
			return 2;
	}
	for (i = 0;; i++) {
		free(st);
		st = NULL;
		if (ctl_drain_status(path, server, &st) != 0) {
			free(st);
			return 3;
		}
		if ((nl = strchr(st, '\n')) != NULL)
			*nl = '\0';
		if (strcmp(st, last) != 0) {
			printf("%s\n", st);
			fflush(stdout);
			snprintf(last, sizeof(last), "%s", st);
		}
		if (ctl_field(st, "over=") == 1)
			break;
		usleep(100000);
	}
	total = ctl_field(st, "total=");
	moved = ctl_field(st, "moved=");
	failed = ctl_field(st, "failed=");
	if (nl != NULL)
		fputs(nl + 1, stdout);
	why = strstr(st, "why=");
	nnew = ctl_field(st, "new=");
	printf("drain of %s: %ld sessions, %ld moved, %ld failed",
	    server, total, moved, failed);
	if (nnew > 0)
		printf(", %ld new connections sent to this host", nnew);
	printf("%s%s\n", why != NULL ? "; " : "", why != NULL ? why + 4 : "");
	r = strstr(st, "phase=taken-over") == NULL ? 2 :
	    failed > 0 ? 1 : 0;
	free(st);
	return r;
}

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_CONTROL_SOCKET;
	char req[1024];
	size_t off = 0;
	int ch, i;

	while ((ch = getopt(argc, argv, "+s:hV")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'V':
			printf("securejeebsctl %s\n", SJ_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (strcmp(argv[optind], "version") == 0) {
		printf("securejeebsctl %s\n", SJ_VERSION);
		return 0;
	}
	if (strcmp(argv[optind], "help") == 0)
		usage();
	if (strcmp(argv[optind], "keygen") == 0)
		return ctl_keygen(argc - optind, argv + optind);
	if (strcmp(argv[optind], "takeover") == 0)
		return ctl_takeover(path, argc - optind, argv + optind);
	if (strcmp(argv[optind], "drain") == 0 ||
	    strcmp(argv[optind], "failback") == 0)
		return ctl_drain(path, argc - optind, argv + optind);
	for (i = optind; i < argc; i++) {
		if (strpbrk(argv[i], " \n") != NULL) {
			fprintf(stderr, "securejeebsctl: arguments cannot "
			    "contain spaces or newlines\n");
			return 2;
		}
		if (off + strlen(argv[i]) + 2 >= sizeof(req)) {
			fprintf(stderr, "securejeebsctl: request too long\n");
			return 2;
		}
		off += (size_t)snprintf(req + off, sizeof(req) - off, "%s%s",
		    i > optind ? " " : "", argv[i]);
	}
	snprintf(req + off, sizeof(req) - off, "\n");
	return ctl_request(path, req);
}
