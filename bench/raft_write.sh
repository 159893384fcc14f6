#!/usr/bin/env bash
# Replicated-write benchmark (issue 4): a 3-server Cairn cluster registering instances over HTTP
# beside a 3-member etcd 3.4 cluster doing puts of the same size, in the same run, on the same disk.
#
# Each round starts both clusters fresh (data dirs under one mktemp dir in /tmp, the same disk),
# one after the other (etcd first in odd rounds, Cairn first in even rounds), and for each
# connection count C in CONNS runs
#     wrk -t min(WRK_THREADS,C) -c C -d DURATION s --latency -s LUA URL
#   etcd:  POST /v3/kv/put to the leader (bench/wrk/etcd_put.lua: 32-byte key, 256-byte value,
#          3,000 distinct keys; the method of ../shared/anchors/anchor_etcd_write.sh)
#   Cairn: PUT /v1/agent/service/register to the leader (bench/wrk/cairn_register.lua: the same
#          registration as a 256-byte JSON body, 3,000 distinct instance IDs), then the same to a
#          follower (FOLLOWER=1), which forwards to the leader and answers once it has applied.
# No CPU pinning (as in the anchor): 3 servers and wrk share the 2 cores.
# Prints per-run lines on stderr and markdown tables (median (min-max) of REPS rounds; ratios per
# round, then median (min-max)) on stdout. Fails if any run had a non-2xx answer or a socket error.
#
# Usage:  bench/raft_write.sh [path/to/cairn]     (default: build/cli/cairn beside this script)
# Env:    REPS=3 DURATION=10 CONNS="1 16 64" WRK_THREADS=2 FOLLOWER=1 QUIET_WAIT=120
#         ETCD_BASE=23790 (etcd client ports BASE+1..3, peer ports BASE+11..13)
#         CAIRN_CONFIG='{...}' (JSON config given to every Cairn server; default none)
# Needs: etcd-server, etcd-client, wrk, curl (Debian packages). Loopback only; everything started
# is stopped by PID, also on error or Ctrl-C.
set -Eeuo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CAIRN=${1:-$HERE/../build/cli/cairn}
REPS=${REPS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-1 16 64}
WRK_THREADS=${WRK_THREADS:-2}
FOLLOWER=${FOLLOWER:-1}
QUIET_WAIT=${QUIET_WAIT:-120}
CAIRN_LOG_LEVEL=${CAIRN_LOG_LEVEL:-warn}

[[ -x "$CAIRN" ]] || { echo "no cairn binary at $CAIRN (build first)" >&2; exit 1; }
for b in etcd etcdctl wrk curl; do
  command -v "$b" >/dev/null || { echo "missing $b (apt-get install etcd-server etcd-client wrk curl)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/bench-raft-write.XXXXXX)
# shellcheck source=bench/cluster_lib.sh
source "$HERE/cluster_lib.sh"
cleanup() { trap "" INT TERM; stop_all; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "raft_write.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

echo "# raft_write: cairn $("$CAIRN" version 2>/dev/null | head -1), etcd $(etcd --version | awk '/etcd Version/{print $3}'), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null); data dirs under $T ($(df --output=source "$T" | tail -1)); nproc $(nproc)" >&2

declare -A RPS P50 P90 P99 CPU LOADS LAST_RPS LAST_P99 R_RPS R_P99
BAD=0
record() { # $1 system key, $2 C, $3 round, $4 label
  local k="$1/$2"
  echo "#   run $3: $4 c=$2 rps=$W_RPS p50_ms=$W_P50 p90_ms=$W_P90 p99_ms=$W_P99 non2xx=$W_NON2XX socket_errors=$W_ERR servers_cpu_pct=$W_SRV_CPU load1=$W_LOAD" >&2
  RPS[$k]+="$W_RPS "; P50[$k]+="$W_P50 "; P90[$k]+="$W_P90 "; P99[$k]+="$W_P99 "; CPU[$k]+="$W_SRV_CPU "; LOADS[$k]+="$W_LOAD "
  LAST_RPS[$k]=$W_RPS; LAST_P99[$k]=$W_P99
  if ((W_NON2XX != 0 || W_ERR != 0)); then
    echo "#   run $3: $4 c=$2 had $W_NON2XX non-2xx answers and $W_ERR socket errors" >&2
    tail -20 "$T/wrk.txt" >&2
    BAD=1
  fi
}

bench_etcd() { # $1 round
  quiet_wait
  etcd_cluster "$T/etcd"
  WRK_SERVER_PIDS=("${ETCD_PIDS[@]}")
  local c
  for c in $CONNS; do
    run_wrk "$c" "$ETCD_LEADER" "$HERE/wrk/etcd_put.lua"
    record etcd "$c" "$1" "etcd leader=$ETCD_LEADER"
  done
  stop_all
  rm -rf "$T/etcd"
}

bench_cairn() { # $1 round
  quiet_wait
  cairn_cluster "$T/cairn"
  WRK_SERVER_PIDS=("${CAIRN_PID[1]}" "${CAIRN_PID[2]}" "${CAIRN_PID[3]}")
  local c
  for c in $CONNS; do
    run_wrk "$c" "http://${CAIRN_HTTP[$CAIRN_LEADER]}" "$HERE/wrk/cairn_register.lua"
    record cairn "$c" "$1" "cairn leader=s$CAIRN_LEADER"
  done
  if ((FOLLOWER)); then
    for c in $CONNS; do
      run_wrk "$c" "http://${CAIRN_HTTP[$CAIRN_FOLLOWER]}" "$HERE/wrk/cairn_register.lua"
      record cairn-follower "$c" "$1" "cairn via follower=s$CAIRN_FOLLOWER"
    done
  fi
  # The writes were replicated, not just acknowledged: every server returns the same instances.
  local svc i b0 b ok
  for svc in svc-0000 svc-0999; do
    ok=0
    for _ in $(seq 50); do
      b0=$(curl -s -m 5 "http://${CAIRN_HTTP[1]}/v1/catalog/service/$svc?stale")
      ok=1
      for i in 2 3; do
        b=$(curl -s -m 5 "http://${CAIRN_HTTP[$i]}/v1/catalog/service/$svc?stale")
        [[ "$b0" == *ServiceID* && "$b" == "$b0" ]] || ok=0
      done
      ((ok)) && break
      sleep 0.1
    done
    ((ok)) || { echo "#   run $1: the servers disagree on $svc (or it is empty)" >&2; BAD=1; }
  done
  stop_all
  rm -rf "$T/cairn"
}

for r in $(seq "$REPS"); do
  if ((r % 2 == 1)); then bench_etcd "$r"; bench_cairn "$r"; else bench_cairn "$r"; bench_etcd "$r"; fi
  for c in $CONNS; do
    R_RPS[$c]+="$(awk -v a="${LAST_RPS[cairn/$c]}" -v b="${LAST_RPS[etcd/$c]}" 'BEGIN{printf "%.2f", a/b}') "
    R_P99[$c]+="$(awk -v a="${LAST_P99[cairn/$c]}" -v b="${LAST_P99[etcd/$c]}" 'BEGIN{printf "%.2f", a/b}') "
    if ((FOLLOWER)); then
      R_RPS[f$c]+="$(awk -v a="${LAST_RPS[cairn-follower/$c]}" -v b="${LAST_RPS[etcd/$c]}" 'BEGIN{printf "%.2f", a/b}') "
      R_P99[f$c]+="$(awk -v a="${LAST_P99[cairn-follower/$c]}" -v b="${LAST_P99[etcd/$c]}" 'BEGIN{printf "%.2f", a/b}') "
    fi
  done
done

# shellcheck disable=SC2086
{
  echo "3 servers/members on 127.0.0.1, wrk -t min($WRK_THREADS,C) -c C -d ${DURATION}s --latency; median (min-max) of $REPS rounds"
  echo
  echo "| system | clients C | req/s | p50 ms | p90 ms | p99 ms | servers' CPU % (of one core) | load avg before |"
  echo "|---|---|---|---|---|---|---|---|"
  systems="etcd cairn"; ((FOLLOWER)) && systems+=" cairn-follower"
  for s in $systems; do
    case $s in etcd) label="etcd 3.4 put, leader";; cairn) label="Cairn register, leader";; *) label="Cairn register, via a follower";; esac
    for c in $CONNS; do
      k="$s/$c"
      echo "| $label | $c | $(stats ${RPS[$k]}) | $(stats ${P50[$k]}) | $(stats ${P90[$k]}) | $(stats ${P99[$k]}) | $(stats ${CPU[$k]}) | $(stats ${LOADS[$k]}) |"
    done
  done
  echo
  echo "| ratio Cairn / etcd (per round, then median (min-max)) | clients C | req/s | p99 (lower is better) |"
  echo "|---|---|---|---|"
  for c in $CONNS; do echo "| through the leader | $c | $(stats ${R_RPS[$c]}) | $(stats ${R_P99[$c]}) |"; done
  if ((FOLLOWER)); then
    for c in $CONNS; do echo "| through a follower | $c | $(stats ${R_RPS[f$c]}) | $(stats ${R_P99[f$c]}) |"; done
  fi
}
((BAD == 0)) || { echo "raft_write.sh: some runs had errors (see above)" >&2; exit 1; }
