#!/bin/bash
# Prometheus metrics from a running securejeebsd (on the loopback
# interface): `curl` and a bare bash /dev/tcp request fetch /metrics; an
# independent parser (python3-prometheus-client) reads every family; the
# figures follow what happens (export records accepted and rejected, keys
# held, a connection unprotected with its reason, health per server,
# reloads); the textfile is written (0644, atomically) in the same format;
# the listener is bounded (idle clients are cut off, the daemon keeps
# answering control requests while they hang), answers 404/405 as it
# should, and moves on a reload.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
d=$top/src/securejeebsd ctl=$top/src/securejeebsctl
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
command -v curl >/dev/null || { echo "curl not installed (scripts/setup.sh)"; exit 77; }
# Debian's python3 (with Debian's python3-prometheus-client), not another first in PATH.
py=/usr/bin/python3
"$py" -c 'import prometheus_client' 2>/dev/null ||
	{ echo "python3-prometheus-client not installed (scripts/setup.sh)"; exit 77; }
tmp=$(mktemp -d /tmp/sj-metrics-test.XXXXXX)
pid= hold=
cleanup() { for p in $pid $hold; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -n 20 "$tmp/log"; exit 1; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -m 0700 "$tmp/keys" "$tmp/prom"
"$ctl" keygen recovery "$tmp/keys" >/dev/null || fail "keygen"
"$ctl" keygen signing web1 "$tmp/keys" >/dev/null || fail "keygen"
port=$(freeport) mport=$(freeport) mport2=$(freeport)
conf() {
	cat <<CONF
interface        lo
state_file       $tmp/state/state.db
control_socket   $tmp/ctl.sock
export_listen    127.0.0.1:$port
recovery_key     $tmp/keys/recovery.key
metrics_listen   127.0.0.1:$1
metrics_textfile $tmp/prom/securejeebs.prom
server web1 {
    service_ip  198.18.0.2
    fence       none
    signing_key $tmp/keys/web1-export.pub
    export_from 127.0.0.1
}
server "web-2" {
    service_ip  198.18.0.5
}
CONF
}
conf "$mport" >"$tmp/jeebs.conf"
"$d" -f -c "$tmp/jeebs.conf" 2>>"$tmp/log" &
pid=$!
for _ in $(seq 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.1; done
[ -S "$tmp/ctl.sock" ] || fail "control socket never appeared"
grep -q "metrics: serving http://127.0.0.1:$mport/metrics" "$tmp/log" || fail "listener not logged"

# check FILE: every line parses, every family the daemon promises is there
# (the parser is python3-prometheus-client's, not ours); prints
# "name{labels} value" lines for the greps below.
check() {
	"$py" - "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
want = {"securejeebs_build_info": "gauge", "securejeebs_connections": "gauge",
        "securejeebs_capture_drops": "counter", "securejeebs_export_records": "counter",
        "securejeebs_server_health": "gauge", "securejeebs_takeovers": "counter",
        "securejeebs_recoveries": "counter", "securejeebs_detection_seconds": "histogram",
        "securejeebs_rebuild_seconds": "histogram", "securejeebs_replay_seconds": "histogram",
        "securejeebs_reloads": "counter", "securejeebs_keys_held": "gauge"}
for n, t in want.items():
    assert n in fams, "missing family %s" % n
    assert fams[n].type == t, (n, fams[n].type, t)
for f in fams.values():
    for s in f.samples:
        print("%s{%s} %g" % (s.name, ",".join('%s="%s"' % kv for kv in sorted(s.labels.items())), s.value))
PY
}
scrape() { curl -sf --max-time 5 "http://127.0.0.1:${1:-$mport}/metrics"; }

scrape >"$tmp/m1" || fail "curl could not fetch /metrics"
check "$tmp/m1" >"$tmp/s1" || fail "the exposition does not parse: $(head -c 600 "$tmp/m1")"
grep -q '^securejeebs_server_health{server="web-2",state="unknown"} 1$' "$tmp/s1" ||
	fail "health per server missing: $(grep health "$tmp/s1")"
grep -q '^securejeebs_replay_seconds_bucket{le="+Inf",phase="cutover",server="web1"} 0$' "$tmp/s1" ||
	fail "replay histogram missing"

# The headers as a scraper sees them, with a bare bash request.
exec 3<>"/dev/tcp/127.0.0.1/$mport" || fail "bash /dev/tcp connect failed"
printf 'GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n' >&3
resp=$(timeout 5 cat <&3); exec 3<&-
head -n 1 <<<"$resp" | grep -q '^HTTP/1.0 200 OK' || fail "bash fetch status: $(head -n 1 <<<"$resp")"
grep -qi '^Content-Type: text/plain; version=0.0.4' <<<"$resp" || fail "content type: $resp"
grep -q '^securejeebs_build_info{version="' <<<"$resp" || fail "bash fetch has no body"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/nope")" = 404 ] || fail "no 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$mport/metrics")" = 405 ] || fail "no 405"

# The figures follow: 2 records accepted, 1 rejected (out of order), a
# connection with keys not seen on the wire (unprotected, with the reason).
out=$(python3 "$top/tests/unit/sjx1-send.py" 127.0.0.1 "$port" "$tmp/keys/recovery.pub" \
	"$tmp/keys/web1-export.key" web1 00c0ffee00c0ffee 0 1 3) || fail "sjx1-send failed: $out"
sleep 1.1	# one rendering a second
scrape >"$tmp/m2" && check "$tmp/m2" >"$tmp/s2" || fail "second scrape"
for want in 'securejeebs_export_records_total{result="accepted"} 2' \
    'securejeebs_export_records_total{result="rejected"} 1' \
    'securejeebs_export_records_received_total{} 3' \
    'securejeebs_keys_held{} 1' \
    'securejeebs_connections{reason="not seen on the wire",server="web1",state="unprotected"} 1' \
    'securejeebs_connections{server="web1",state="protected"} 0' \
    'securejeebs_takeovers_total{server="web1"} 0'; do
	grep -qxF "$want" "$tmp/s2" || fail "missing: $want; got: $(grep -E 'export|keys|connections' "$tmp/s2" | tr '\n' '|')"
done

# The textfile: written at once, 0644, the same families.
for _ in $(seq 30); do [ -s "$tmp/prom/securejeebs.prom" ] && break; sleep 0.1; done
[ "$(stat -c %a "$tmp/prom/securejeebs.prom")" = 644 ] || fail "textfile mode not 0644"
check "$tmp/prom/securejeebs.prom" >/dev/null || fail "textfile does not parse"
[ ! -e "$tmp/prom/securejeebs.prom.tmp" ] || fail "temporary textfile left behind"

# Bounded: 20 clients that connect and say nothing.  The daemon answers its
# control socket meanwhile, and a real scrape gets through once they are cut.
python3 - "$mport" <<'PY' &
import socket, sys, time
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(20)]
time.sleep(30)
PY
hold=$!
sleep 0.5
t0=$(date +%s%N)
"$ctl" -s "$tmp/ctl.sock" status >/dev/null || fail "control socket stalled by idle metrics clients"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1000 ] || fail "status took $ms ms with idle metrics clients"
for _ in $(seq 15); do scrape >/dev/null 2>&1 && break; sleep 1; done
scrape >/dev/null || fail "no scrape possible after the idle clients timed out"
kill "$hold" 2>/dev/null; hold=

# A reload moves the listener.
conf "$mport2" >"$tmp/jeebs.conf"
kill -HUP "$pid"; sleep 0.5
scrape "$mport2" >"$tmp/m3" || fail "no metrics on the new port after a reload"
scrape "$mport" >/dev/null 2>&1 && fail "the old port still answers after a reload"
check "$tmp/m3" | grep -qx 'securejeebs_reloads_total{result="applied"} 1' || fail "reload not counted"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ $rc -eq 0 ] || fail "exit status $rc"
echo "metrics OK"
