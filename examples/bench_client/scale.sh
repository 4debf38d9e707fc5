#!/usr/bin/env bash
# Scale run (issue 6, point 4): K concurrent connections from one client process against
# a socketioxide sink server, REPS times per client; prints time to all connected, peak RSS,
# and the cost per connection.
#
#   cargo build --release --example bench_server --example bench_client
#   examples/bench_client/scale.sh 10000 3
#
# Env: SERVER (a sink server taking its port as first argument and printing a READY line;
# default this repository's release examples/bench_server), CLIENTS ("name=command ..." of
# clients speaking the bench contract; default ferrio's release bench client), PORT (default
# 19460). The file limit is raised to what the hard limit allows (each connection is one
# socket on each side).
set -euo pipefail

K=${1:-10000}
REPS=${2:-3}
PORT=${PORT:-19460}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$HERE/target}
CLIENTS=${CLIENTS:-"ferrio=$TARGET/release/examples/bench_client"}
SERVER=${SERVER:-$TARGET/release/examples/bench_server}
[ -x "$SERVER" ] || { echo "no server at $SERVER: cargo build --release --example bench_server" >&2; exit 1; }

need=$((K + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  echo "the hard file limit ($hard) is below the $need this run needs" >&2
  exit 1
fi
ulimit -n "$need"

log=$(mktemp)
"$SERVER" "$PORT" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q READY "$log" && break
  sleep 0.1
done
grep -q READY "$log" || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), K=$K, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "| client | run | ok | time to all connected (s) | peak RSS (MiB) | RSS per connection (KiB) | CPU per connection (µs) |"
echo "|---|---|---|---|---|---|---|"
for entry in $CLIENTS; do
  name=${entry%%=*}
  cmd=${entry#*=}
  for rep in $(seq "$REPS"); do
    line=$(BENCH_TIMEOUT=120 $cmd "http://127.0.0.1:$PORT" many_connections "$K" | grep '^RESULT' || true)
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    ok=$(field ok)
    secs=$(field secs)
    rss_kb=$(field rss_kb)
    cpu_ms=$(field cpu_ms)
    if [ -z "$secs" ] || [ -z "$rss_kb" ]; then
      echo "| $name | $rep | false | - | - | - | - |"
      continue
    fi
    awk -v n="$name" -v r="$rep" -v ok="$ok" -v s="$secs" -v rss="$rss_kb" -v cpu="$cpu_ms" -v k="$K" \
      'BEGIN { printf "| %s | %d | %s | %.2f | %.0f | %.1f | %.0f |\n", n, r, ok, s, rss/1024, rss/k, cpu*1000/k }'
  done
done
