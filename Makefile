# SecureJeebs top-level Makefile.
#
#   make            securejeebsd, securejeebsctl, jeebs-replay
#   make openssh    the patched sshd from Debian's source package (build/openssh/)
#   make check      everything: unit tests, then the lab scenarios; one summary line
#   make demo       the lab demo (see README.md)
#   make bench      every benchmark; writes BENCHMARKS.md
#   make deb        the Debian packages in build/deb/ (cached; debian/)
#   make fuzz       every libFuzzer harness for FUZZ_TIME s (tests/fuzz/fuzz.mk)
#
# configure runs by itself the first time (or after configure.ac changes).

include config.mk

WARN		= -Wall -Wextra -Wshadow -Wpointer-arith -Wmissing-prototypes
HARDEN		= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS		= -std=c11 -O2 -g $(WARN) $(HARDEN) $(SANITIZE_FLAGS) $(CFLAGS_USER)
CPPFLAGS	= -D_GNU_SOURCE -Isrc -Imonitor -Irecovery $(PCAP_CFLAGS) $(CRYPTO_CFLAGS) \
		  $(SQLITE_CFLAGS) $(CPPFLAGS_USER)
LDFLAGS		= -pie -Wl,-z,relro,-z,now $(SANITIZE_FLAGS) $(LDFLAGS_USER)
LIBS		= $(PCAP_LIBS) $(CRYPTO_LIBS) $(SQLITE_LIBS) $(EV_LIBS)

# The daemon's modules, in the order data flows through them.
CORE_OBJS	= src/buf.o src/log.o src/json.o src/table.o src/conf.o \
		  src/store.o src/control.o src/report.o src/seal.o \
		  src/keystore.o src/export.o src/resume.o src/watch.o \
		  src/notify.o src/rpkg.o src/metrics.o \
		  src/takeover.o src/drainrec.o \
		  $(MONITOR_OBJS) $(RECOVERY_OBJS)
# recovery/: what the daemon does when a server dies.
RECOVERY_OBJS	= recovery/repair.o recovery/rebuild.o recovery/fence.o \
		  recovery/vip.o recovery/handoff.o
# monitor/: what the daemon watches (capture, TCP and SSH tracking, health).
MONITOR_OBJS	= monitor/pkt.o monitor/tcptrack.o monitor/capture.o \
		  monitor/health.o monitor/sshtrack.o
DAEMON_OBJS	= src/main.o
CTL_OBJS	= src/ctl.o
REPLAY_OBJS	= replay/jeebs-replay.o replay/cpr.o replay/rio.o

PROGS		= src/securejeebsd src/securejeebsctl replay/jeebs-replay
UNIT_SRCS	= $(wildcard tests/unit/test_*.c)
UNIT_TESTS	= $(UNIT_SRCS:.c=)

ALL_OBJS	= $(CORE_OBJS) $(DAEMON_OBJS) $(CTL_OBJS) $(REPLAY_OBJS) \
		  $(UNIT_SRCS:.c=.o)

.PHONY: all openssh check check-sanitize unit unit-progs lab demo bench fuzz clean distclean install uninstall deb
# Keep object files of the unit tests between runs.
.SECONDARY:

all: $(PROGS)

# The fuzz harnesses and their replay drivers (defines FUZZ_REPLAYS).
include tests/fuzz/fuzz.mk

config.mk: configure.ac config.mk.in VERSION src/version.h.in
	autoreconf -fi
	./configure $(CONFIGURE_FLAGS)

src/version.h: config.mk

src/libsj.a: $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $(CORE_OBJS)

src/securejeebsd: $(DAEMON_OBJS) src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) src/libsj.a $(LIBS)

src/securejeebsctl: $(CTL_OBJS) src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) src/libsj.a $(LIBS)

replay/jeebs-replay: $(REPLAY_OBJS) src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $(REPLAY_OBJS) src/libsj.a $(LIBS)

%.o: %.c src/version.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

tests/unit/%.o: tests/unit/%.c src/version.h
	$(CC) $(CPPFLAGS) $(CMOCKA_CFLAGS) $(CFLAGS) -Wno-missing-prototypes \
		-MMD -MP -c -o $@ $<

tests/unit/test_%: tests/unit/test_%.o src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $< src/libsj.a $(LIBS) $(CMOCKA_LIBS)

# The recovery sshd that test_replay runs jeebs-replay against.
tests/unit/fake-sshd: tests/unit/fake-sshd.o src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $< src/libsj.a $(LIBS)
tests/unit/test_replay: tests/unit/fake-sshd

openssh:
	scripts/build-openssh.sh

# What the unit tests run: the programs, the tests, the fuzz replay drivers.
unit-progs: $(PROGS) $(UNIT_TESTS) $(FUZZ_REPLAYS)

unit: unit-progs
	tests/run --unit-only

# Everything: unit tests first, then the lab scenarios in parallel labs.
check: $(PROGS) $(UNIT_TESTS) $(FUZZ_REPLAYS) openssh
	tests/run

# The unit tests and the step-5 lab scenarios again, built with ASan and
# UBSan in build/sanitize/ (tests/check-sanitize); .ci/run runs it.
check-sanitize: openssh
	tests/check-sanitize

demo: $(PROGS) openssh
	tests/lab/demo

bench: $(PROGS) openssh
	bench/run

# securejeebs and openssh-server-securejeebs with dpkg-buildpackage, in a
# copy of the tree; rebuilt only when their inputs change.
deb:
	scripts/build-deb.sh

# Install with FHS paths; DESTDIR for packaging.  The patched sshd is
# installed by its own package (see docs/deploying.md), not here.
PREFIX		?= /usr
SBINDIR		= $(PREFIX)/sbin
LIBEXECDIR	= $(PREFIX)/lib/securejeebs
MANDIR		= $(PREFIX)/share/man
DOCDIR		= $(PREFIX)/share/doc/securejeebs
SYSCONFDIR	= /etc/securejeebs
UNITDIR		= /lib/systemd/system

install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 src/securejeebsd src/securejeebsctl $(DESTDIR)$(SBINDIR)/
	install -m 0755 replay/jeebs-replay $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 docs/jeebs.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/securejeebsd.8 docs/securejeebsctl.8 \
		docs/jeebs-replay.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README.md docs/export-format.md docs/decisions.md \
		$(DESTDIR)$(DOCDIR)/
	install -m 0644 contrib/jeebs.conf.example $(DESTDIR)$(DOCDIR)/
	install -m 0644 contrib/securejeebsd.service $(DESTDIR)$(UNITDIR)/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/securejeebsd $(DESTDIR)$(SBINDIR)/securejeebsctl \
		$(DESTDIR)$(LIBEXECDIR)/jeebs-replay \
		$(DESTDIR)$(MANDIR)/man5/jeebs.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/securejeebsd.8 \
		$(DESTDIR)$(MANDIR)/man8/securejeebsctl.8 \
		$(DESTDIR)$(MANDIR)/man8/jeebs-replay.8 \
		$(DESTDIR)$(UNITDIR)/securejeebsd.service
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -f $(ALL_OBJS) $(ALL_OBJS:.o=.d) $(PROGS) $(UNIT_TESTS) src/libsj.a
	rm -f $(FUZZ_TOOL_OBJS) $(FUZZ_TOOL_OBJS:.o=.d) $(FUZZ_REPLAYS) \
		tests/fuzz/seedgen
	rm -rf $(FUZZ_DIR)

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache \
		aclocal.m4 src/version.h build

-include $(ALL_OBJS:.o=.d)
