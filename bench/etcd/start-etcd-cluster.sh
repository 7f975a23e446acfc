#!/usr/bin/env bash
# Starts a 3-node etcd cluster on loopback for the side-by-side benchmark (docs/benchmarks.md).
# Installs Debian's etcd-server package (etcd 3.4 on Debian 12) if etcd is missing.
#
#   bench/etcd/start-etcd-cluster.sh [BASE_PORT]     (default 23790)
#
# Member i (1..3) is e$i, serving clients on 127.0.0.1:BASE+2(i-1) and peers on BASE+2(i-1)+1,
# with fsync on (etcd's default), its data in a fresh temporary directory. The script waits until
# every member reports healthy, prints "endpoints: ..." and records the run in
# ${ETCD_BENCH_STATE:-/tmp/kvstore-etcd-bench.state} for stop-etcd-cluster.sh.
set -euo pipefail

BASE_PORT="${1:-23790}"
STATE="${ETCD_BENCH_STATE:-/tmp/kvstore-etcd-bench.state}"

if [[ -e "$STATE" ]]; then
  echo "start-etcd-cluster: $STATE exists; run stop-etcd-cluster.sh first" >&2
  exit 1
fi

ETCD="$(command -v etcd || true)"
if [[ -z "$ETCD" ]]; then
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  echo "start-etcd-cluster: installing etcd-server..." >&2
  if ! $SUDO apt-get install -y etcd-server >/dev/null; then
    $SUDO apt-get update >/dev/null
    $SUDO apt-get install -y etcd-server >/dev/null
  fi
  ETCD="$(command -v etcd)"
fi

# The Debian package starts a single-node etcd service on the default ports; it is not ours
# and does not collide with BASE_PORT, so it is left alone.
DATA="$(mktemp -d /tmp/etcd-bench.XXXXXX)"
CLUSTER=""
for i in 1 2 3; do
  peer=$((BASE_PORT + 2 * (i - 1) + 1))
  CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:$peer"
done

ENDPOINTS=""
{
  echo "DATA=$DATA"
  for i in 1 2 3; do
    client=$((BASE_PORT + 2 * (i - 1)))
    peer=$((client + 1))
    ENDPOINTS+="${ENDPOINTS:+,}127.0.0.1:$client"
    # setsid: the members survive this script and ignore a Ctrl-C aimed at the caller's shell.
    setsid "$ETCD" \
      --name "e$i" \
      --data-dir "$DATA/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" \
      --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" \
      --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$CLUSTER" \
      --initial-cluster-token kvstore-bench \
      --initial-cluster-state new \
      >"$DATA/e$i.log" 2>&1 </dev/null &
    echo "PID=$!"
  done
  echo "ENDPOINTS=$ENDPOINTS"
} >"$STATE"

for attempt in $(seq 1 100); do
  healthy=0
  for endpoint in ${ENDPOINTS//,/ }; do
    if curl -fsS --max-time 1 "http://$endpoint/health" 2>/dev/null | grep -q '"health":"true"'; then
      healthy=$((healthy + 1))
    fi
  done
  if [[ $healthy -eq 3 ]]; then
    echo "endpoints: $ENDPOINTS"
    echo "etcd $("$ETCD" --version | head -1 | awk '{print $3}'), data in $DATA, logs in $DATA/e*.log"
    exit 0
  fi
  sleep 0.3
done

echo "start-etcd-cluster: the cluster did not become healthy within 30 s; see $DATA/e*.log" >&2
"$(dirname "$0")/stop-etcd-cluster.sh" >/dev/null 2>&1 || true
exit 1
