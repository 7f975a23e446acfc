#!/usr/bin/env bash
# The issue-4 benchmark, KvStore and etcd side by side on this machine, 3 nodes each, fsync on:
# put with 1, 16 and 256 clients (256-byte values); linearizable and serializable get with 1 and
# 64 clients; compare-and-swap with 16 clients. Prints one JSON line per run (kvstore bench -o json)
# and a Markdown table with the throughput ratio kvstore/etcd.
#
#   bench/etcd/run-side-by-side.sh [SECONDS_PER_RUN]      (default 10)
#
# Needs: the .NET SDK (builds src/Server in Release) and apt (installs etcd-server if missing).
set -euo pipefail

SECONDS_PER_RUN="${1:-10}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/etcd"
dotnet build "$ROOT/src/Server" -c Release -v quiet -nologo >/dev/null
KVSTORE="$ROOT/src/Server/bin/Release/net10.0/kvstore"

KV_DIR="$(mktemp -d /tmp/kvstore-bench.XXXXXX)"
RESULTS="$(mktemp /tmp/side-by-side.XXXXXX.jsonl)"
cleanup() {
  [[ -n "${KV_PID:-}" ]] && kill -TERM "$KV_PID" 2>/dev/null && wait "$KV_PID" 2>/dev/null || true
  "$HERE/stop-etcd-cluster.sh" >/dev/null 2>&1 || true
  rm -rf "$KV_DIR"
}
trap cleanup EXIT

"$KVSTORE" cluster up --nodes 3 --data-dir "$KV_DIR" --base-port 24300 >"$KV_DIR/up.out" 2>&1 &
KV_PID=$!
for _ in $(seq 1 300); do
  grep -q '^endpoints:' "$KV_DIR/up.out" 2>/dev/null && break
  sleep 0.2
done
KV_ENDPOINTS="$(sed -n 's/^endpoints: //p' "$KV_DIR/up.out")"
[[ -n "$KV_ENDPOINTS" ]] || { echo "run-side-by-side: kvstore cluster did not start; see $KV_DIR" >&2; exit 1; }
ETCD_ENDPOINTS="$("$HERE/start-etcd-cluster.sh" | sed -n 's/^endpoints: //p')"

run() { # target endpoints workload args...
  local target="$1" endpoints="$2"; shift 2
  "$KVSTORE" bench "$@" --target "$target" --endpoints "$endpoints" --duration "$SECONDS_PER_RUN" -o json 2>/dev/null | tee -a "$RESULTS"
}

for target in kvstore etcd; do
  endpoints="$KV_ENDPOINTS"; [[ "$target" == etcd ]] && endpoints="$ETCD_ENDPOINTS"
  for clients in 1 16 256; do run "$target" "$endpoints" put --clients "$clients"; done
  for clients in 1 64; do
    run "$target" "$endpoints" get --clients "$clients" --key-space 1000
    run "$target" "$endpoints" get --clients "$clients" --key-space 1000 --serializable --no-preload
  done
  run "$target" "$endpoints" cas --clients 16 --key-space 1000
done

python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
key = lambda r: (r["workload"], r["clients"])
etcd = {key(r): r for r in rows if r["target"] == "etcd"}
print("| workload | clients | kvstore ops/s | etcd ops/s | ratio | kvstore p50 ms | etcd p50 ms | kvstore p99 ms | etcd p99 ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in (r for r in rows if r["target"] == "kvstore"):
    e = etcd.get(key(r))
    if e is None:
        continue
    ratio = r["ops_per_second"] / e["ops_per_second"] if e["ops_per_second"] else float("nan")
    print(f'| {r["workload"]} | {r["clients"]} | {r["ops_per_second"]:.0f} | {e["ops_per_second"]:.0f} | {ratio:.2f}x | '
          f'{r["p50_ms"]:.3f} | {e["p50_ms"]:.3f} | {r["p99_ms"]:.3f} | {e["p99_ms"]:.3f} |')
PY
