#!/bin/sh
# Installs, as root and idempotently, every Debian package that the build, the
# tests, the benchmarks and the demo need, and creates the OpenSSH
# privilege-separation user and directory.  Both README commands run it first;
# a fresh Debian 12 machine needs nothing else.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: must run as root (it installs packages)" >&2
	exit 1
fi

# Build of securejeebsd and its tools.
PKGS="build-essential autoconf automake pkg-config
libpcap-dev libssl-dev libsqlite3-dev libev-dev libcmocka-dev sqlite3"
# Build of the patched OpenSSH from Debian's source package, with the same
# features as Debian's own build (see scripts/build-openssh.sh).
PKGS="$PKGS dpkg-dev quilt patch zlib1g-dev libpam0g-dev libselinux1-dev
libkrb5-dev libedit-dev libaudit-dev libfido2-dev libsystemd-dev libwrap0-dev"
# The network lab, its clients (independent SSH clients: paramiko, dropbear
# dbclient, PuTTY plink; see /work/shared/CLIENTS.md) and the benchmarks.
PKGS="$PKGS iproute2 iputils-ping tcpdump procps psmisc util-linux
openssh-client tmux python3 socat netcat-openbsd gnuplot-nox
python3-paramiko python3-cryptography dropbear-bin putty-tools nftables openssl"
# The metrics test (an independent parser of the Prometheus text format, and
# curl as a scraper would fetch), and the Debian packages (make deb:
# dpkg-buildpackage from dpkg-dev, above, with debhelper and fakeroot).
PKGS="$PKGS python3-prometheus-client curl debhelper fakeroot"
# Fuzzing (make fuzz: clang, libFuzzer), sanitizers, valgrind
# (tests/lab/valgrind-failover).
PKGS="$PKGS clang libclang-rt-14-dev valgrind"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = "installed" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
else
	echo "setup.sh: all packages present"
fi

# Privilege separation for the patched sshd (Debian's own layout).
getent group sshd >/dev/null || groupadd --system sshd
getent passwd sshd >/dev/null || useradd --system --gid sshd --home-dir /run/sshd \
	--shell /usr/sbin/nologin --no-create-home sshd
install -d -m 0755 -o root -g root /run/sshd
install -d -m 0755 -o root -g root /var/empty
