#!/usr/bin/env bash
# The issue-5 watch fan-out benchmark, KvStore and etcd side by side on this machine, 3 nodes
# each, fsync on: WATCHERS watchers on KEYS keys (a write reaches WATCHERS/KEYS watchers), an
# open-loop writer at RATE writes/s, delivery latency from issuing the put to the watcher's
# stream handing over the event. Prints one JSON line per target (kvstore bench watch -o json).
#
#   bench/etcd/run-watch-side-by-side.sh [SECONDS] [WATCHERS] [KEYS] [RATE]   (default 20 10000 1000 1000)
#
# Needs: the .NET SDK (builds src/Server in Release) and apt (installs etcd-server if missing).
set -euo pipefail

SECONDS_PER_RUN="${1:-20}"
WATCHERS="${2:-10000}"
KEYS="${3:-1000}"
RATE="${4:-1000}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/etcd"
dotnet build "$ROOT/src/Server" -c Release -v quiet -nologo >/dev/null
KVSTORE="$ROOT/src/Server/bin/Release/net10.0/kvstore"

# Its own etcd state file and ports, so it can run beside the other side-by-side scripts.
export ETCD_BENCH_STATE="${ETCD_BENCH_STATE:-/tmp/kvstore-etcd-watch-bench.state}"
KV_DIR="$(mktemp -d /tmp/kvstore-watch-bench.XXXXXX)"
cleanup() {
  [[ -n "${KV_PID:-}" ]] && kill -TERM "$KV_PID" 2>/dev/null && wait "$KV_PID" 2>/dev/null || true
  "$HERE/stop-etcd-cluster.sh" >/dev/null 2>&1 || true
  rm -rf "$KV_DIR"
}
trap cleanup EXIT

"$KVSTORE" cluster up --nodes 3 --data-dir "$KV_DIR" --base-port 24400 >"$KV_DIR/up.out" 2>&1 &
KV_PID=$!
for _ in $(seq 1 300); do
  grep -q '^endpoints:' "$KV_DIR/up.out" 2>/dev/null && break
  sleep 0.2
done
KV_ENDPOINTS="$(sed -n 's/^endpoints: //p' "$KV_DIR/up.out")"
[[ -n "$KV_ENDPOINTS" ]] || { echo "run-watch-side-by-side: kvstore cluster did not start; see $KV_DIR" >&2; exit 1; }
ETCD_ENDPOINTS="$("$HERE/start-etcd-cluster.sh" 24500 | sed -n 's/^endpoints: //p')"

for target in kvstore etcd; do
  endpoints="$KV_ENDPOINTS"; [[ "$target" == etcd ]] && endpoints="$ETCD_ENDPOINTS"
  "$KVSTORE" bench watch --target "$target" --endpoints "$endpoints" --duration "$SECONDS_PER_RUN" \
    --watchers "$WATCHERS" --keys "$KEYS" --rate "$RATE"
done
