#!/usr/bin/env bash
# Stops the etcd cluster started by start-etcd-cluster.sh and deletes its data.
set -euo pipefail

STATE="${ETCD_BENCH_STATE:-/tmp/kvstore-etcd-bench.state}"
if [[ ! -e "$STATE" ]]; then
  echo "stop-etcd-cluster: no cluster recorded in $STATE" >&2
  exit 0
fi

DATA="$(sed -n 's/^DATA=//p' "$STATE")"
PIDS="$(sed -n 's/^PID=//p' "$STATE")"
for pid in $PIDS; do
  kill -TERM "$pid" 2>/dev/null || true
done
for _ in $(seq 1 50); do
  alive=0
  for pid in $PIDS; do
    kill -0 "$pid" 2>/dev/null && alive=1
  done
  [[ $alive -eq 0 ]] && break
  sleep 0.1
done
for pid in $PIDS; do
  kill -KILL "$pid" 2>/dev/null || true
done

# Only a directory this script family created is removed.
if [[ "$DATA" == /tmp/etcd-bench.* ]]; then
  rm -rf "$DATA"
fi
rm -f "$STATE"
echo "stopped etcd members $(echo $PIDS)"
