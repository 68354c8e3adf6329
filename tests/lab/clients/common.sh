# tests/lab/clients/common.sh - shared by the lab's client drivers (bash);
# sourced, never run.
#
# Every driver runs inside the lab's -cli namespace:
#   tests/lab/lab exec cli -- tests/lab/clients/NAME [-c CIPHER] [-m MAC]
#                                       [-k KEX] [-v] [-t] [--] [COMMAND...]
# with the lab's environment (eval "$(tests/lab/lab env)"): SJ_KEY,
# SJ_KNOWN_HOSTS, SJ_USER, SJ_VIP, SJ_PORT (default 22).  It logs in as
# SJ_USER on SJ_VIP:SJ_PORT with SJ_KEY, checks the server's host key against
# SJ_KNOWN_HOSTS (never accepts an unknown one), runs COMMAND (one string, or
# several words joined with spaces, like ssh), passes stdin to it, prints its
# output and exits with its exit status; 255 when the client itself fails
# (connection, host key, authentication), like ssh.  -c/-m/-k take OpenSSH
# algorithm names (a comma-separated list where the client takes a list);
# a choice the client cannot make is an error (exit 255), never ignored.
# -v: the client's own verbose output on stderr.
# -t: a terminal session (the client asks for a pty; its stdin must be a
# terminal, e.g. in tmux); without COMMAND, a login shell.  SJ_CLIENT_REKEY
# (bytes, e.g. 64K): the client itself rekeys after that much data, where
# it can be told to (ssh RekeyLimit, plink RekeyBytes, paramiko).
#
# Keys in the client's own format are converted once per lab and cached in
# <dirname SJ_KEY>/clients/ (the lab's cli/ directory).
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are used by the driver that sources it.)
set -euo pipefail

CLIENT=$(basename "$0")
client_die() { echo "$CLIENT: $*" >&2; exit 255; }

opt_cipher='' opt_mac='' opt_kex='' opt_verbose=0 opt_tty=0 CMD=()
client_parse_args() {
	local o
	OPTIND=1
	while getopts 'c:m:k:vth' o; do
		case $o in
		c) opt_cipher=$OPTARG ;;
		m) opt_mac=$OPTARG ;;
		k) opt_kex=$OPTARG ;;
		v) opt_verbose=1 ;;
		t) opt_tty=1 ;;
		*) echo "usage: $CLIENT [-c CIPHER] [-m MAC] [-k KEX] [-v] [-t] [--] [COMMAND...]" >&2; exit 255 ;;
		esac
	done
	shift $((OPTIND - 1))
	[[ $# -gt 0 || $opt_tty == 1 ]] || client_die "no command given"
	CMD=("$@")
	local v
	for v in SJ_KEY SJ_KNOWN_HOSTS SJ_USER SJ_VIP; do
		[[ -n ${!v:-} ]] || client_die "$v is not set: eval \"\$(tests/lab/lab env)\" first"
	done
	[[ -r $SJ_KEY ]] || client_die "cannot read SJ_KEY $SJ_KEY"
	[[ -r $SJ_KNOWN_HOSTS ]] || client_die "cannot read SJ_KNOWN_HOSTS $SJ_KNOWN_HOSTS"
	SJ_PORT=${SJ_PORT:-22}
	CACHE=$(dirname "$SJ_KEY")/clients
}

# client_cached NAME CMD... - the cache file NAME, made by CMD (which writes
# the file given as its last argument) if it does not exist yet; made under a
# temporary name and renamed, so drivers running in parallel never see half a
# file.
client_cached() {
	local name=$1 f tmp; shift
	f=$CACHE/$name
	if [[ ! -s $f ]]; then
		install -d -m 0700 "$CACHE"
		tmp=$f.tmp.$$
		rm -f "$tmp"
		"$@" "$tmp" >"$tmp.err" 2>&1 || {
			local e; e=$(tail -n 1 "$tmp.err"); rm -f "$tmp" "$tmp.err"
			client_die "making $f failed: $*: $e"
		}
		rm -f "$tmp.err"
		[[ -s $tmp ]] || client_die "making $f failed: $* wrote nothing"
		chmod 0600 "$tmp"
		mv -f "$tmp" "$f"
	fi
	echo "$f"
}

# known_hosts lines for the VIP (host names as in SJ_KNOWN_HOSTS: the VIP).
client_known_lines() {
	local k
	k=$(awk -v h="$SJ_VIP" -v hp="[$SJ_VIP]:$SJ_PORT" '
		{ n = split($1, a, ","); for (i = 1; i <= n; i++) if (a[i] == h || a[i] == hp) { print; next } }' \
		"$SJ_KNOWN_HOSTS")
	[[ -n $k ]] || client_die "no host key for $SJ_VIP in $SJ_KNOWN_HOSTS"
	echo "$k"
}
