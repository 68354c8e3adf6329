#!/bin/bash
# Records tests/pcaps/ssh-bulk.pcap and ssh-bulk.expect: one SSH session in a
# lab, captured on the monitor's port, with the server kernel's own view of
# the connection (`ss -tin` in -srv) taken while the session is still open.
# The unit tests replay the pcap through the trackers and compare.
# Run as root from the top of the tree: tests/pcaps/record-ssh-bulk.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/tests/pcaps
export SJ_LAB_PREFIX=${SJ_LAB_PREFIX:-sjrec} SJ_LAB_NO_DAEMON=1
lab=$top/tests/lab/lab
trap '"$lab" down >/dev/null 2>&1 || true' EXIT
"$lab" up >/dev/null
eval "$("$lab" env)"
"$lab" exec mon -- tcpdump -q -n -s 0 -i "$SJ_IF_MON" -w "$SJ_LAB_DIR/mon/cap.pcap" \
	-U "tcp port $SJ_PORT" 2>/dev/null &
dump=$!
sleep 1
"$lab" exec cli -- ssh -i "$SJ_KEY" -o UserKnownHostsFile="$SJ_KNOWN_HOSTS" \
	-o BatchMode=yes "$SJ_USER@$SJ_VIP" \
	'head -c 200000 /dev/zero | tr "\0" x; echo; sleep 30' >/dev/null &
ssh=$!
# Wait for the bulk output to be sent and acknowledged, then read the
# server's view while the session idles.
sleep 3
ss_line=$("$lab" exec srv -- ss -tinH state established "( sport = :$SJ_PORT )" | tr '\n' ' ')
kill -INT "$dump"; wait "$dump" || true
kill "$ssh" 2>/dev/null || true
cport=$(awk '{print $4}' <<<"$ss_line" | sed 's/.*://')
get() { grep -o "$1:[0-9,]*" <<<"$ss_line" | head -n 1 | cut -d: -f2; }
cp "$SJ_LAB_DIR/mon/cap.pcap" "$out/ssh-bulk.pcap"
{
	echo "# ss -tin in -srv while the session was open (recorded $(date -u +%F))"
	echo "client_port=$cport"
	echo "bytes_received=$(get bytes_received)"
	echo "bytes_acked=$(get bytes_acked)"
	echo "wscale=$(get wscale)"
	echo "# raw: $ss_line"
} >"$out/ssh-bulk.expect"
cat "$out/ssh-bulk.expect"
ls -la "$out/ssh-bulk.pcap"
