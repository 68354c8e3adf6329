#!/bin/bash
# SIGHUP reload, end to end on the loopback interface: a valid new file is
# applied without losing what the daemon holds (a TCP connection tracked
# from the capture, the keys of an export connection, the events), changed
# thresholds are applied in place, a server can be added and removed (its
# connections dropped, with an event), a changed port rebuilds the capture
# filter and drops only what is no longer watched; a bad file is refused
# with file:line: reason, and a restart-only setting with "a restart is
# needed"; in every refusal the running configuration stays.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
d=$top/src/securejeebsd ctl=$top/src/securejeebsctl
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
tmp=$(mktemp -d /tmp/sj-reload-test.XXXXXX)
pid= lpid= cpid=
cleanup() {
	for p in $pid $lpid $cpid; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -n 30 "$tmp/log"; exit 1; }
c() { "$ctl" -s "$tmp/ctl.sock" "$@"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -m 0700 "$tmp/keys"
"$ctl" keygen recovery "$tmp/keys" >/dev/null || fail "keygen recovery"
"$ctl" keygen signing web1 "$tmp/keys" >/dev/null || fail "keygen signing"
port=$(freeport) svc=$(freeport) svc2=$(freeport)

# A TCP service on 127.0.0.1:$svc with one long-lived client connection,
# the one the daemon tracks from the capture.
python3 - "$svc" "$svc2" >"$tmp/listener.out" 2>&1 <<'PY' &
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.2", port)); s.listen(8)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: [c.sendall(b) for b in iter(lambda: c.recv(4096), b"")], daemon=True).start()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
threading.Event().wait()
PY
lpid=$!

conf() {	# conf DEAD_AFTER LOCAL_PORTS [EXTRA_SERVER_BLOCKS] [INTERFACE]
	cat <<CONF
interface       ${4:-lo}
state_file      $tmp/state/state.db
control_socket  $tmp/ctl.sock
export_listen   127.0.0.1:$port
recovery_key    $tmp/keys/recovery.key
server web1 {
    service_ip  198.18.0.2
    fence       none
    signing_key $tmp/keys/web1-export.pub
    export_from 127.0.0.1
}
server local {
    service_ip  127.0.0.2
    ports       $2
    dead_after  $1
    probe       tcp
}
${3:-}
CONF
}
conf 100 "$svc" >"$tmp/jeebs.conf"
"$d" -t -c "$tmp/jeebs.conf" >/dev/null 2>&1 || fail "test configuration refused: $("$d" -t -c "$tmp/jeebs.conf" 2>&1)"
"$d" -f -d -c "$tmp/jeebs.conf" 2>>"$tmp/log" &
pid=$!
for _ in $(seq 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
[ -S "$tmp/ctl.sock" ] || fail "control socket never appeared"

# The connection the daemon tracks: a client that sends a line a second.
python3 - "$svc" <<'PY' >"$tmp/client.out" 2>&1 &
import socket, sys, time
s = socket.create_connection(("127.0.0.2", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
n = 0
while True:
    s.sendall(b"line %d\n" % n); s.recv(4096); n += 1; time.sleep(0.2)
PY
cpid=$!
# tracked PORT: 1 if the connection from client port PORT is tracked, else 0
# (the TCP probes of the health check come and go beside it).
tracked() { c connections --json | python3 -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["client_port"]==int(sys.argv[1])))' "${1:-$cport}"; }
for _ in $(seq 30); do cport=$(head -n 1 "$tmp/client.out"); [ -n "$cport" ] && break; sleep 0.1; done
for _ in $(seq 30); do [ "$(tracked)" = 1 ] && break; sleep 0.1; done
[ "$(tracked)" = 1 ] || fail "the client connection is not tracked: $(c connections)"
# An export connection whose keys the daemon holds.
out=$(python3 "$top/tests/unit/sjx1-send.py" 127.0.0.1 "$port" "$tmp/keys/recovery.pub" \
	"$tmp/keys/web1-export.key" web1 00c0ffee00c0ffee 0 1) || fail "sjx1-send failed: $out"
keys() { c status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections_keys_held"])'; }
[ "$(keys)" = 1 ] || fail "keys not held before the reloads"
frames0=$(c status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["capture"]["frames"])')
hup() { kill -HUP "$pid"; sleep 0.5; kill -0 "$pid" || fail "daemon died on SIGHUP"; }
ev() { c events --json | python3 -c 'import json,sys; e=json.load(sys.stdin)[-1]; print(e["kind"], e["server"] or "-", e["detail"])'; }

# 1. A changed threshold: applied in place, nothing else touched.
conf 250 "$svc" >"$tmp/jeebs.conf"
hup
grep -q 'reload: server local: dead_after changed' "$tmp/log" || fail "threshold change not logged"
grep -q 'reload: applied .*(2 servers: 0 added, 0 removed, 1 changed)' "$tmp/log" || fail "reload not applied"
[ "$(ev)" = "reload - 2 servers: 0 added, 0 removed, 1 changed" ] || fail "reload event: $(ev)"
[ "$(tracked)" = 1 ] || fail "tracked connection lost by a threshold reload"
[ "$(keys)" = 1 ] || fail "export keys lost by a reload"
grep -q 'capture filter now' "$tmp/log" && fail "the capture filter was rebuilt for a threshold change"

# 2. A bad file: refused with file:line: reason; the running one stays.
{ conf 250 "$svc"; echo "dead_after 50"; } >"$tmp/jeebs.conf"
hup
grep -q "reload refused, keeping the running configuration: $tmp/jeebs.conf:[0-9]*: " "$tmp/log" ||
	fail "bad file not refused with file:line"
ev | grep -q "^reload-refused - $tmp/jeebs.conf:[0-9]*: " || fail "refusal event: $(ev)"
[ "$(tracked)" = 1 ] || fail "tracked connection lost by a refused reload"

# 3. A restart-only setting: refused, with the setting named.
conf 250 "$svc" "" eth-nonesuch >"$tmp/jeebs.conf"
hup
grep -q 'reload refused, keeping the running configuration: interface changed: a restart is needed' "$tmp/log" ||
	fail "interface change not refused as restart-only"
c status | grep -q '^interface   lo$' || fail "interface changed after all"

# 4. A server added: watched, nothing else lost; then the same file again.
conf 250 "$svc" "server web3 {
    service_ip 198.18.0.9
}" >"$tmp/jeebs.conf"
hup
c status | grep -Eq '^web3 +198\.18\.0\.9 +22 +unknown ' || fail "added server not listed: $(c status)"
ev | grep -q '^reload - 3 servers: 1 added, 0 removed, 0 changed' || fail "add event: $(ev)"
c events --json | grep -q '"server-added"' || fail "no server-added event"
grep -q 'capture filter now: .*198\.18\.0\.9' "$tmp/log" || fail "capture filter not rebuilt for the new server"
[ "$(tracked)" = 1 ] || fail "tracked connection lost by adding a server"
[ "$(keys)" = 1 ] || fail "keys lost by adding a server"
hup
ev | grep -q '^reload - 3 servers: 0 added, 0 removed, 0 changed' || fail "no-op reload: $(ev)"

# 5. web3 removed, and local's port moved: its connection is no longer
#    watched, so it is dropped, said so, and the filter follows.
conf 250 "$svc2" >"$tmp/jeebs.conf"
hup
c status | grep -q '^web3 ' && fail "removed server still listed"
c events --json | grep -q '"server-removed"' || fail "no server-removed event"
grep -q 'reload: server local: port changed; [1-9][0-9]* tracked connections no longer watched were dropped' "$tmp/log" ||
	fail "dropped connection not reported"
[ "$(tracked)" = 0 ] || fail "connection to the old port still tracked"
[ "$(keys)" = 1 ] || fail "web1's keys lost by changes to other servers"
grep -q "capture filter now: .*port $svc2" "$tmp/log" || fail "capture filter not rebuilt for the new port"
# A new connection to the new port is tracked.
python3 -c 'import socket,sys,time; s=socket.create_connection(("127.0.0.2", int(sys.argv[1]))); print(s.getsockname()[1], flush=True); s.sendall(b"x\n"); s.recv(10); time.sleep(3)' "$svc2" >"$tmp/client2.out" &
for _ in $(seq 30); do cport2=$(head -n 1 "$tmp/client2.out"); [ -n "$cport2" ] && break; sleep 0.1; done
for _ in $(seq 30); do [ "$(tracked "$cport2")" = 1 ] && break; sleep 0.1; done
[ "$(tracked "$cport2")" = 1 ] || fail "connection to the new port not tracked"
frames1=$(c status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["capture"]["frames"])')
[ "$frames1" -gt "$frames0" ] || fail "capture counters went back ($frames0 -> $frames1): capture re-opened?"

# 6. Removing web1: its export keys are forgotten in memory.
conf 250 "$svc2" | sed '/^server web1 {/,/^}/d' >"$tmp/jeebs.conf"
hup
[ "$(keys)" = 0 ] || fail "keys of a removed server still held"
c status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [s["name"] for s in d["servers"]]==["local"], d["servers"]; assert d["reloads"]==5 and d["reloads_refused"]==2, d' ||
	fail "status --json after the reloads"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
echo "reload OK"
