#!/bin/bash
# The daemon spine end to end, without a network: securejeebsctl keygen makes
# the export keys (modes, no overwrite); securejeebsd with a temporary
# configuration refuses to start without a usable recovery key, answers
# securejeebsctl (text and JSON), refuses a bad file with its line number,
# refuses non-root clients and bad requests, takes export records sealed by an
# independent implementation (tests/unit/sjx1-send.py) and logs the same
# failover-keys lines, lists the connections without keys, keeps events and
# keys across a restart, wipes keys at an end notice, refuses `failback NAME`
# without a `failback_for NAME` block and reports a called-off failback (exit
# 2, the drain command naming the session), and exits cleanly on
# SIGTERM.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
d=$top/src/securejeebsd ctl=$top/src/securejeebsctl
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
tmp=$(mktemp -d /tmp/sj-daemon-test.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -n 20 "$tmp/log"; exit 1; }

# keygen: the key files, their modes, and no overwriting.
mkdir -m 0700 "$tmp/keys"
out=$("$ctl" keygen recovery "$tmp/keys") || fail "keygen recovery failed"
echo "$out"
grep -q "^wrote $tmp/keys/recovery.key " <<<"$out" || fail "keygen recovery does not say what it wrote"
grep -q "FailoverRecoveryKey" <<<"$out" || fail "keygen recovery does not say where the .pub goes"
"$ctl" keygen signing web1 "$tmp/keys" >"$tmp/keygen.out" || fail "keygen signing failed"
grep -q "signing_key $tmp/keys/web1-export.pub" "$tmp/keygen.out" || fail "keygen signing does not say where the .pub goes"
grep -q "FailoverSigningKey" "$tmp/keygen.out" || fail "keygen signing does not say where the .key goes"
for f in recovery.key web1-export.key; do
	[ "$(stat -c %a "$tmp/keys/$f")" = 600 ] || fail "$f mode not 0600"
done
for f in recovery.pub web1-export.pub; do
	[ "$(stat -c %a "$tmp/keys/$f")" = 644 ] || fail "$f mode not 0644"
done
openssl pkey -in "$tmp/keys/recovery.key" -noout -text 2>/dev/null | grep -q X25519 ||
	fail "recovery.key is not an X25519 PEM key"
openssl pkey -pubin -in "$tmp/keys/web1-export.pub" -noout -text 2>/dev/null | grep -q ED25519 ||
	fail "web1-export.pub is not an Ed25519 PEM key"
sum=$(cat "$tmp"/keys/* | sha256sum)
out=$("$ctl" keygen recovery "$tmp/keys" 2>&1) && fail "keygen overwrote recovery.key"
grep -q "already exists" <<<"$out" || fail "keygen refusal unclear: $out"
"$ctl" keygen signing web1 "$tmp/keys" 2>/dev/null && fail "keygen overwrote web1-export.key"
[ "$(cat "$tmp"/keys/* | sha256sum)" = "$sum" ] || fail "keygen changed existing key files"
"$ctl" keygen signing ../web1 "$tmp/keys" 2>/dev/null; [ $? -eq 2 ] || fail "keygen took a bad server name"
"$ctl" -h 2>&1 | grep -q keygen || fail "usage does not mention keygen"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/jeebs.conf" <<CONF
interface       lo
state_file      $tmp/state/state.db
control_socket  $tmp/ctl.sock
export_listen   127.0.0.1:$port
recovery_key    $tmp/keys/recovery.key
server web1 {
    service_ip  198.18.0.2
    ports       22 2222
    fence       none
    signing_key $tmp/keys/web1-export.pub
    export_from 127.0.0.1
}
server web2 {
    service_ip  198.18.0.5
    recover     ssh
    drain_command "/bin/sh -c 'echo not drain-ready: 198.18.0.9:40000; exit 1'"
    failback_for self1
}
CONF

# With export_listen set, no usable recovery key: no start, a clear reason.
sed "s|^recovery_key .*|recovery_key $tmp/keys/missing.key|" "$tmp/jeebs.conf" >"$tmp/nokey.conf"
out=$("$d" -t -c "$tmp/nokey.conf" 2>&1) && fail "-t accepted a missing recovery key"
grep -q "recovery_key $tmp/keys/missing.key: No such file or directory" <<<"$out" ||
	fail "unclear refusal: $out"
out=$("$d" -f -c "$tmp/nokey.conf" 2>&1) && fail "daemon started without its recovery key"
grep -q "recovery_key" <<<"$out" || fail "unclear refusal: $out"
[ ! -e "$tmp/ctl.sock" ] || fail "daemon without recovery key made its socket"
cp "$tmp/keys/recovery.key" "$tmp/keys/open.key"; chmod 0640 "$tmp/keys/open.key"
sed "s|^recovery_key .*|recovery_key $tmp/keys/open.key|" "$tmp/jeebs.conf" >"$tmp/nokey.conf"
out=$("$d" -t -c "$tmp/nokey.conf" 2>&1) && fail "-t accepted a recovery key of mode 0640"
grep -q "unsafe key file owner or mode" <<<"$out" || fail "unclear refusal: $out"

# A bad file is refused with the line and the reason, before anything starts.
printf 'interface lo\nserver a {\n  service_ip 198.18.0.300\n}\n' >"$tmp/bad.conf"
out=$("$d" -t -c "$tmp/bad.conf" 2>&1) && fail "bad config accepted"
[ "$out" = "securejeebsd: $tmp/bad.conf:3: service_ip: \"198.18.0.300\" is not an IP address" ] ||
	fail "unexpected refusal text: $out"
out=$("$d" -t -c "$tmp/jeebs.conf" 2>&1) || fail "good config refused: $out"
grep -q "server web2: no signing_key" <<<"$out" || fail "-t does not name the server without signing_key"

start() {
	"$d" -f -d -c "$tmp/jeebs.conf" 2>>"$tmp/log" &
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
grep -q "^export      127.0.0.1:$port, " <<<"$st" || fail "status lacks the export listener"
grep -q "^server web2: no signing_key\|warning: server web2: no signing_key" "$tmp/log" ||
	fail "the server without signing_key is not logged at start"
js=$("$ctl" -s "$tmp/ctl.sock" status --json) || fail "status --json failed"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["servers"][0]["name"]=="web1" and d["servers"][0]["ports"]==[22,2222], d' "$js" ||
	fail "status --json is not the expected JSON: $js"

# Bad requests get a clear error and the daemon keeps answering.
out=$("$ctl" -s "$tmp/ctl.sock" frobnicate 2>&1) && fail "unknown command accepted"
[ "$out" = 'securejeebsctl: unknown command "frobnicate"' ] || fail "unexpected error: $out"
out=$("$ctl" -s "$tmp/ctl.sock" status --yaml 2>&1) && fail "unknown option accepted"
printf 'status\001\n' | timeout 5 socat - UNIX-CONNECT:"$tmp/ctl.sock" | grep -q '^error: ' ||
	fail "control byte in request not refused"
# failback NAME: refused with a reason when no block says failback_for NAME
# (docs/drain.md "Failback"); exit status 2, nothing started.
out=$("$ctl" -s "$tmp/ctl.sock" failback web9 2>&1); [ $? -eq 2 ] || fail "failback of an unknown host: exit status not 2"
grep -q 'no server block of .* says `failback_for web9`' <<<"$out" || fail "failback refusal unclear: $out"
out=$("$ctl" -s "$tmp/ctl.sock" failback web1 2>&1); [ $? -eq 2 ] || fail "failback of a protected server: exit status not 2"
grep -q 'web1 is a server this daemon protects' <<<"$out" || fail "failback refusal unclear: $out"
# failback self1 drains web2 (failback_for self1); its drain command calls
# the drain off and names the session that holds the address: exit 2.
out=$("$ctl" -s "$tmp/ctl.sock" failback self1 2>&1); [ $? -eq 2 ] || fail "a called-off failback: exit status not 2: $out"
grep -q '^failback self1: server web2$' <<<"$out" || fail "failback does not name the server it drains: $out"
grep -q '^drain command: not drain-ready: 198.18.0.9:40000$' <<<"$out" || fail "a called-off failback does not name the session: $out"
grep -q '^drain of web2: 0 sessions, 0 moved, 0 failed; drain command failed' <<<"$out" || fail "failback summary unclear: $out"
# Only root may use the socket.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" -s "$tmp/ctl.sock" status 2>&1) &&
	fail "non-root client was answered"
grep -q 'Permission denied\|permission denied' <<<"$out" || fail "non-root refusal unclear: $out"
kill -0 "$pid" || fail "daemon died"

# connections, empty.
out=$("$ctl" -s "$tmp/ctl.sock" connections) || fail "connections failed"
grep -q '^SERVER  CONN  CLIENT  USER  CIPHER  KEX#  SEQ IN/OUT  TCP  KEYS  PROTECTED  WHY NOT$' <<<"$out" ||
	fail "connections header: $out"
[ "$("$ctl" -s "$tmp/ctl.sock" connections --json)" = "[]" ] || fail "connections --json not []"

# Export records from an independent sealer: accepted, duplicate, reordered.
send() { python3 "$top/tests/unit/sjx1-send.py" 127.0.0.1 "$port" "$tmp/keys/recovery.pub" \
	"$tmp/keys/web1-export.key" web1 "$@"; }
out=$(send 00c0ffee00c0ffee 0 1 1 3) || fail "sjx1-send failed: $out"
echo "$out"
[ "$(grep ^ack <<<"$out" | tr '\n' ' ')" = "ack 0 00c0ffee00c0ffee 0 ack 0 00c0ffee00c0ffee 1 ack 1 00c0ffee00c0ffee 1 ack 2 00c0ffee00c0ffee 3 " ] ||
	fail "unexpected acks: $out"
# The daemon logs the very failover-keys lines the sender computed (-d).
for n in 1 2; do
	want=$(grep '^failover-keys' <<<"$out" | sed -n "${n}p")
	grep -qF "$want" "$tmp/log" || fail "daemon did not log: $want"
done
grep -c 'failover-keys conn=00c0ffee00c0ffee' "$tmp/log" | grep -qx 2 ||
	fail "failover-keys logged for a record that was not accepted"
out=$("$ctl" -s "$tmp/ctl.sock" connections) || fail "connections failed"
echo "$out"
# Keys held, but the connection was never seen on the wire (no capture of
# it here): listed, and not protectable, with the reason.
grep -Eq '^web1 +00c0ffee00c0ffee +198\.18\.0\.3:50022 +sjuser +chacha20-poly1305@openssh.com +- +- +- +yes +no +not seen on the wire$' <<<"$out" ||
	fail "connections line wrong: $out"
js=$("$ctl" -s "$tmp/ctl.sock" connections --json) || fail "connections --json failed"
python3 - "$js" <<'PY' || fail "connections --json is not the expected JSON: $js"
import json, sys
c = json.loads(sys.argv[1])
assert len(c) == 1, c
c = c[0]
want = {"server": "web1", "conn_id": "00c0ffee00c0ffee", "state": "open",
	"client_addr": "198.18.0.3", "client_port": 50022,
	"server_addr": "198.18.0.2", "server_port": 22, "user": "sjuser",
	"auth_method": "publickey", "kex_alg": "curve25519-sha256",
	"hostkey_alg": "ssh-ed25519", "kex_number": 1, "strict_kex": True,
	"c2s": {"cipher": "aes128-ctr", "mac": "hmac-sha2-256", "compression": "none"},
	"s2c": {"cipher": "chacha20-poly1305@openssh.com", "mac": "", "compression": "none"},
	"records": 2, "last_counter": 1, "closed_us": None, "keys_held": True}
for k, v in want.items():
	assert c[k] == v, (k, c[k], v)
assert c["tcp"] is None and c["ssh"] is None, c
assert c["protectable"] is False and c["reason"] == "not seen on the wire", c
assert set(c) == set(want) | {"first_record_us", "last_record_us", "last_record",
	"tcp", "ssh", "protectable", "reason", "takeover"}, sorted(c)
assert c["takeover"] is None, c
assert c["first_record_us"] <= c["last_record_us"]
PY
st=$("$ctl" -s "$tmp/ctl.sock" status) || fail "status failed"
grep -q '^records     4 received: 2 accepted, 1 duplicate, 1 rejected (since start)$' <<<"$st" ||
	fail "status lacks the record counts: $st"
grep -q '^keys held   1 connections (1 open, 0 ended)$' <<<"$st" || fail "status lacks keys held: $st"
# No key byte in plaintext in the state file: the sealed records only.
[ "$(sqlite3 "$tmp/state/state.db" 'SELECT count(*) FROM export_records')" = 2 ] ||
	fail "the state file does not hold the 2 sealed records"
sqlite3 "$tmp/state/state.db" "SELECT count(*) FROM export_records WHERE hex(substr(record, 1, 4)) != '534A5831'" | grep -qx 0 ||
	fail "a stored record is not a sealed SJX1 record"

# takeover: asks on a terminal, refuses without one unless --yes; the daemon
# refuses servers it would never take over, and unknown ones.
out=$("$ctl" -s "$tmp/ctl.sock" takeover web1 </dev/null 2>&1); rc=$?
[ $rc -eq 2 ] || fail "takeover without a terminal and without --yes: exit $rc"
grep -q 'confirmation on a terminal; add --yes' <<<"$out" || fail "takeover refusal unclear: $out"
out=$("$ctl" -s "$tmp/ctl.sock" takeover web1 --yes 2>&1) && fail "takeover of a server without recover accepted"
[ "$out" = "securejeebsctl: server web1 has no recover line: it is never taken over" ] ||
	fail "takeover refusal unclear: $out"
out=$("$ctl" -s "$tmp/ctl.sock" takeover nosuch --yes 2>&1) && fail "takeover of an unknown server accepted"
grep -q 'no server "nosuch"' <<<"$out" || fail "unknown server refusal unclear: $out"
"$ctl" -s "$tmp/ctl.sock" takeover --yes >/dev/null 2>&1; [ $? -eq 2 ] || fail "takeover without a server: not a usage error"
"$ctl" -s "$tmp/ctl.sock" status | grep -Eq '^web1 +198\.18\.0\.2 +22,2222 +unknown ' || fail "a refused takeover changed the state"

# A clean stop, then a restart keeps the history.
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
[ ! -e "$tmp/ctl.sock" ] || fail "control socket left behind"
start
grep -q 'keystore: restored 1 open connections (1 with keys)' "$tmp/log" || fail "keys not restored at restart"
"$ctl" -s "$tmp/ctl.sock" connections | grep -Eq '^web1 +00c0ffee00c0ffee .* +yes +no +not seen on the wire$' ||
	fail "connection not listed with keys after restart"
# The exporter reconnects: a duplicate, the next one, then its end notice.
out=$(send 00c0ffee00c0ffee 1 2 3:end) || fail "sjx1-send failed: $out"
[ "$(grep ^ack <<<"$out" | tr '\n' ' ')" = "ack 1 00c0ffee00c0ffee 1 ack 0 00c0ffee00c0ffee 2 ack 0 00c0ffee00c0ffee 3 " ] ||
	fail "unexpected acks after restart: $out"
out=$("$ctl" -s "$tmp/ctl.sock" connections) || fail "connections failed"
echo "$out"
grep -Eq '^web1 +00c0ffee00c0ffee .* +no +no +ended$' <<<"$out" ||
	fail "end notice did not wipe the keys: $out"
[ "$(sqlite3 "$tmp/state/state.db" 'SELECT count(*) FROM export_records')" = 0 ] ||
	fail "sealed records of an ended connection kept"
grep -q '^keys held   0 connections (0 open, 1 ended)$' <<<"$("$ctl" -s "$tmp/ctl.sock" status)" ||
	fail "status still counts keys"
ev=$("$ctl" -s "$tmp/ctl.sock" events --json) || fail "events failed"
python3 -c 'import json,sys; k=[e["kind"] for e in json.loads(sys.argv[1])]; assert k==["daemon-start","drain","drain-failed","daemon-stop","daemon-start"], k' "$ev" ||
	fail "events not kept across restart: $ev"
# SIGHUP with a broken file: refused, old configuration kept.
cp "$tmp/jeebs.conf" "$tmp/good.conf"
echo "bogus_directive 1" >>"$tmp/jeebs.conf"
kill -HUP "$pid"; sleep 0.3
kill -0 "$pid" || fail "daemon died on SIGHUP"
"$ctl" -s "$tmp/ctl.sock" events | grep -q 'reload-refused.*line 19' ||
	"$ctl" -s "$tmp/ctl.sock" events | grep -q 'reload-refused.*:19: unknown directive' ||
	fail "bad reload not reported"
echo "daemon spine OK"
