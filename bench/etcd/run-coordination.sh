#!/usr/bin/env bash
# The issue-5 coordination benchmarks, KvStore and etcd side by side on this machine, 3 nodes
# each, fsync on: lock cycles and hand-off latency with 16 clients contending for one lock
# (KvStore Lock/Unlock vs etcd's v3lockpb.Lock), then LEASES leases kept alive by 10 clients for
# HOLD seconds, counting the ones lost. Prints each run's report and the load average.
#
#   bench/etcd/run-coordination.sh [LOCK_SECONDS] [LEASES] [HOLD_SECONDS]   (default 20 100000 60)
#
# Needs: the .NET SDK (builds src/Server in Release) and apt (installs etcd-server if missing).
set -euo pipefail

LOCK_SECONDS="${1:-20}"
LEASES="${2:-100000}"
HOLD="${3:-60}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/etcd"
# A state file and ports of its own, so it can run while another side-by-side run is up.
export ETCD_BENCH_STATE="${ETCD_BENCH_STATE:-/tmp/kvstore-etcd-coordination.state}"
dotnet build "$ROOT/src/Server" -c Release -v quiet -nologo >/dev/null
KVSTORE="$ROOT/src/Server/bin/Release/net10.0/kvstore"

KV_DIR="$(mktemp -d /tmp/kvstore-bench.XXXXXX)"
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
[[ -n "$KV_ENDPOINTS" ]] || { echo "run-coordination: kvstore cluster did not start; see $KV_DIR" >&2; exit 1; }
ETCD_ENDPOINTS="$("$HERE/start-etcd-cluster.sh" 23890 | sed -n 's/^endpoints: //p')"

for target in kvstore etcd; do
  endpoints="$KV_ENDPOINTS"; [[ "$target" == etcd ]] && endpoints="$ETCD_ENDPOINTS"
  echo "== $target lock, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$KVSTORE" bench lock --target "$target" --endpoints "$endpoints" --clients 16 --duration "$LOCK_SECONDS" 2>"$KV_DIR/$target-lock.err" || tail -3 "$KV_DIR/$target-lock.err" || true
done
for target in kvstore etcd; do
  endpoints="$KV_ENDPOINTS"; [[ "$target" == etcd ]] && endpoints="$ETCD_ENDPOINTS"
  echo "== $target leases, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$KVSTORE" bench leases --target "$target" --endpoints "$endpoints" --clients 10 --leases "$LEASES" --hold "$HOLD" 2>"$KV_DIR/$target-leases.err" || tail -3 "$KV_DIR/$target-leases.err" || true
  echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
