#!/bin/sh
# `make install DESTDIR=...` puts every file where the FHS and Debian expect
# it, with the right modes, and the installed programs run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d /tmp/sj-install.XXXXXX)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
make -s -C "$top" install DESTDIR="$d" >/dev/null || fail "make install failed"
for f in usr/sbin/securejeebsd usr/sbin/securejeebsctl usr/lib/securejeebs/jeebs-replay; do
	[ -x "$d/$f" ] || fail "$f missing or not executable"
done
for f in usr/share/man/man5/jeebs.conf.5 usr/share/man/man8/securejeebsd.8 \
    usr/share/man/man8/securejeebsctl.8 usr/share/man/man8/jeebs-replay.8 \
    lib/systemd/system/securejeebsd.service usr/share/doc/securejeebs/jeebs.conf.example; do
	[ -f "$d/$f" ] || fail "$f missing"
done
[ "$(stat -c %a "$d/etc/securejeebs")" = 700 ] || fail "/etc/securejeebs is not 0700"
"$d/usr/sbin/securejeebsd" -V | grep -q '^securejeebsd [0-9]' || fail "installed securejeebsd does not run"
"$d/usr/sbin/securejeebsctl" -V | grep -q '^securejeebsctl [0-9]' || fail "installed securejeebsctl does not run"
grep -q '^Type=notify$' "$d/lib/systemd/system/securejeebsd.service" || fail "unit is not Type=notify"
# The example configuration is valid except for its keys and interface.
"$d/usr/sbin/securejeebsd" -t -c "$d/usr/share/doc/securejeebs/jeebs.conf.example" 2>&1 |
	grep -q 'recovery.key\|configuration OK' || fail "example configuration does not parse"
make -s -C "$top" uninstall DESTDIR="$d" >/dev/null || fail "make uninstall failed"
[ -z "$(find "$d" -type f)" ] || fail "uninstall left files: $(find "$d" -type f)"
echo "install layout OK"
