#!/bin/bash
# The daemon spine end to end, without a network: securejeebsd with a
# temporary configuration answers securejeebsctl (text and JSON), refuses a
# bad file with its line number, refuses non-root clients and bad requests,
# keeps its events across a restart, and exits cleanly on SIGTERM.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
d=$top/src/securejeebsd ctl=$top/src/securejeebsctl
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
tmp=$(mktemp -d /tmp/sj-daemon-test.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -n 20 "$tmp/log"; exit 1; }

cat >"$tmp/jeebs.conf" <<CONF
interface       lo
state_file      $tmp/state/state.db
control_socket  $tmp/ctl.sock
export_listen   127.0.0.1:7022
server web1 {
    service_ip  198.18.0.2
    ports       22 2222
    fence       none
}
CONF

# A bad file is refused with the line and the reason, before anything starts.
printf 'interface lo\nserver a {\n  service_ip 198.18.0.300\n}\n' >"$tmp/bad.conf"
out=$("$d" -t -c "$tmp/bad.conf" 2>&1) && fail "bad config accepted"
[ "$out" = "securejeebsd: $tmp/bad.conf:3: service_ip: \"198.18.0.300\" is not an IP address" ] ||
	fail "unexpected refusal text: $out"
"$d" -t -c "$tmp/jeebs.conf" >/dev/null || fail "good config refused"

start() {
	"$d" -f -c "$tmp/jeebs.conf" 2>>"$tmp/log" &
	pid=$!
	for _ in $(seq 50); do [ -S "$tmp/ctl.sock" ] && return 0; sleep 0.1; done
	fail "control socket never appeared"
}
start
[ "$(stat -c %a "$tmp/state/state.db")" = 600 ] || fail "state file mode not 0600"
[ "$(stat -c %a "$tmp/ctl.sock")" = 600 ] || fail "control socket mode not 0600"
[ "$(sqlite3 "$tmp/state/state.db" 'PRAGMA journal_mode')" = wal ] || fail "state file not in WAL mode"

st=$("$ctl" -s "$tmp/ctl.sock" status) || fail "status failed"
echo "$st"
grep -q '^securejeebsd 0\.' <<<"$st" || fail "status lacks the version"
grep -Eq '^web1 +198\.18\.0\.2 +22,2222 +unknown ' <<<"$st" || fail "status lacks the server line"
js=$("$ctl" -s "$tmp/ctl.sock" status --json) || fail "status --json failed"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["servers"][0]["name"]=="web1" and d["servers"][0]["ports"]==[22,2222], d' "$js" ||
	fail "status --json is not the expected JSON: $js"

# Bad requests get a clear error and the daemon keeps answering.
out=$("$ctl" -s "$tmp/ctl.sock" frobnicate 2>&1) && fail "unknown command accepted"
[ "$out" = 'securejeebsctl: unknown command "frobnicate"' ] || fail "unexpected error: $out"
out=$("$ctl" -s "$tmp/ctl.sock" status --yaml 2>&1) && fail "unknown option accepted"
printf 'status\001\n' | timeout 5 socat - UNIX-CONNECT:"$tmp/ctl.sock" | grep -q '^error: ' ||
	fail "control byte in request not refused"
# Only root may use the socket.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" -s "$tmp/ctl.sock" status 2>&1) &&
	fail "non-root client was answered"
grep -q 'Permission denied\|permission denied' <<<"$out" || fail "non-root refusal unclear: $out"
kill -0 "$pid" || fail "daemon died"

# A clean stop, then a restart keeps the history.
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
[ ! -e "$tmp/ctl.sock" ] || fail "control socket left behind"
start
ev=$("$ctl" -s "$tmp/ctl.sock" events --json) || fail "events failed"
python3 -c 'import json,sys; k=[e["kind"] for e in json.loads(sys.argv[1])]; assert k==["daemon-start","daemon-stop","daemon-start"], k' "$ev" ||
	fail "events not kept across restart: $ev"
# SIGHUP with a broken file: refused, old configuration kept.
cp "$tmp/jeebs.conf" "$tmp/good.conf"
echo "bogus_directive 1" >>"$tmp/jeebs.conf"
kill -HUP "$pid"; sleep 0.3
kill -0 "$pid" || fail "daemon died on SIGHUP"
"$ctl" -s "$tmp/ctl.sock" events | grep -q 'reload-refused.*line 10' ||
	"$ctl" -s "$tmp/ctl.sock" events | grep -q 'reload-refused.*:10: unknown directive' ||
	fail "bad reload not reported"
echo "daemon spine OK"
