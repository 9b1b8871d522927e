#!/bin/bash
# A room, measured: CLIENTS simple_client processes chat through one
# simple_server whose teacher's view (--dashboard) is read throughout, as
# on the projector. Each client sends MESSAGES lines, one every PAUSE
# seconds (a student's pace), after every client has joined; the script
# checks that every client received every message, and reports the
# server's memory and CPU. docs/CLASSROOM.md gives the figures.
#
# usage: dist/room.sh [BIN_DIR]   (default: the bin/ beside it in the
#                                  make dist archive, else target/release)
#        CLIENTS=40 MESSAGES=30 PAUSE=2 dist/room.sh
#        CHAT_PASSWORD=s3cret SERVER=ae_server CLIENT=aead_client dist/room.sh
#        WIRE=zmq dist/room.sh       (the Python class's wire)
set -eu

BESIDE=$(dirname "$0")/bin
if [ -x "$BESIDE/simple_server" ]; then BIN=${1:-$BESIDE}; else BIN=${1:-target/release}; fi
CLIENTS=${CLIENTS:-40}
MESSAGES=${MESSAGES:-30}
PAUSE=${PAUSE:-2}
SERVER_BIN=${SERVER:-simple_server}
CLIENT_BIN=${CLIENT:-simple_client}
WIRE=${WIRE:-json}
# How long anything that should happen promptly may take: a failure guard.
PATIENCE=60

WORK=$(mktemp -d)
cleanup() {
	touch "$WORK/done"
	jobs -p | xargs -r kill 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "room: $*" >&2; exit 1; }

# Waits until the command succeeds, PATIENCE seconds at most.
await() {
	local deadline=$((SECONDS + PATIENCE))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_kib() { awk -v f="$2" '$1 == f { print $2 }' "/proc/$1/status"; }
joined() { [ "$(grep -l '^joined as' "$WORK"/c*.err 2>/dev/null | wc -l)" -eq "$CLIENTS" ]; }
# Messages shown as accepted (`c7 : message 3 from c7`), not `[rejected]`.
accepted() { grep -c '^c[0-9]* : message ' "$@" || true; }
received() { cat "$WORK"/c*.out | accepted; }
all_received() { [ "$(received)" -eq $((CLIENTS * CLIENTS * MESSAGES)) ]; }

"$BIN/$SERVER_BIN" --port 0 --broadcast-port 0 --wire "$WIRE" --dashboard \
	>"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
await grep -q '^listening on' "$WORK/server.out" || fail "the server did not start"
PORTS=$(grep -o ':[0-9]*' "$WORK/server.out" | tr -d :)
PORT=$(echo "$PORTS" | sed -n 1p)
BROADCAST=$(echo "$PORTS" | sed -n 2p)
DASHBOARD=$(grep -o 'dashboard: http://[^ ]*' "$WORK/server.err" | cut -d' ' -f2)
if command -v curl >/dev/null; then
	curl -sN "${DASHBOARD%/}/events" >"$WORK/dashboard.events" &
else
	echo "room: no curl: the teacher's view is served but not read" >&2
fi

# One student: waits for the go, then types MESSAGES lines at PAUSE
# seconds apart (each starting at its own moment in the first second),
# then stays until everyone is done.
student() {
	await test -e "$WORK/go" || true
	sleep "0.$((RANDOM % 10))"
	for i in $(seq "$MESSAGES"); do
		echo "message $i from c$1"
		sleep "$PAUSE"
	done
	while [ ! -e "$WORK/done" ]; do sleep 0.2; done
}

for k in $(seq "$CLIENTS"); do
	student "$k" | "$BIN/$CLIENT_BIN" --wire "$WIRE" --port "$PORT" --broadcast-port "$BROADCAST" --nick "c$k" \
		>"$WORK/c$k.out" 2>"$WORK/c$k.err" &
done
await joined || fail "not every client joined"

BEFORE=$(cpu_ticks "$SERVER_PID")
START=$SECONDS
touch "$WORK/go"
sleep $((MESSAGES * PAUSE))
await all_received || true
ELAPSED=$((SECONDS - START))
AFTER=$(cpu_ticks "$SERVER_PID")
HZ=$(getconf CLK_TCK)

EXPECTED=$((CLIENTS * CLIENTS * MESSAGES))
GOT=$(received)
SENT=$((CLIENTS * MESSAGES))
echo "$SERVER_BIN and $CLIENTS ${CLIENT_BIN}s on the $WIRE wire, each sending $MESSAGES messages, one every ${PAUSE} s"
echo "messages sent: $SENT; deliveries: $GOT of $EXPECTED (every client receives every message, its own included)"
for k in $(seq "$CLIENTS"); do
	[ "$(accepted "$WORK/c$k.out")" -eq "$SENT" ] || echo "c$k received $(accepted "$WORK/c$k.out") of $SENT"
done
echo "server: $(status_kib "$SERVER_PID" VmRSS:) KiB resident, $(status_kib "$SERVER_PID" VmHWM:) KiB at peak, $(status_kib "$SERVER_PID" Threads:) threads"
awk -v t=$((AFTER - BEFORE)) -v hz="$HZ" -v s="$ELAPSED" \
	'BEGIN { printf "server CPU: %.2f s over %d s (%.1f%% of one core)\n", t / hz, s, 100 * t / hz / s }'
[ -s "$WORK/dashboard.events" ] && echo "teacher's view: $(wc -c <"$WORK/dashboard.events") bytes of events read"
[ "$GOT" -eq "$EXPECTED" ]
