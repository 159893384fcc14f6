#!/usr/bin/env bash
# Recovery figures (issue 4) of a 3-server Cairn cluster holding INSTANCES instances. Each round:
#   1. load:    a fresh cluster; one follower is stopped (SIGTERM); INSTANCES registrations
#               (bench/register_latency -preload, CONNS connections in parallel, spread over SERVICES
#               services) through the leader. Snapshots are taken every 10,000 entries and the log
#               is compacted, so the stopped follower will need a snapshot.
#   2. catch-up by snapshot (behind): the stopped follower starts again on its data dir. Time from the
#               start command to its first ?stale read that returns the full last service. Peak RSS:
#               VmHWM of the receiver (its whole life) and of the leader (sender; reset with
#               `echo 5 > /proc/PID/clear_refs` just before). Then the RSS of all three servers.
#   3. restart: a follower (SIGTERM), the same follower after SIGKILL (a crash), then the leader
#               (SIGTERM), each started again on its data dir and server port. Times from the start
#               command to (a) its "listening" line (HTTP open, catalog loaded from disk, ?stale
#               served), (b) a full ?stale read, (c) the first ?consistent read that returns the full
#               last service (a ReadIndex round through the leader, and this server has applied up to
#               it: back in the cluster). The leader's restart includes an election.
#   4. catch-up by snapshot (new): a 4th server with an empty data dir and a new node ID starts with
#               -retry-join to a follower; the leader adds it as a learner and sends it the snapshot.
#               Same figures as in 2.
# Data dirs under one mktemp dir in /tmp. Per-run lines go to stderr, a markdown table (median
# (min-max) of REPS rounds) to stdout.
#
# Usage:  bench/recovery.sh [path/to/cairn [path/to/register_latency]]
# Env:    REPS=3 INSTANCES=100000 SERVICES=1000 CONNS=32 QUIET_WAIT=120 SETTLE=3 TIMEOUT=60
#         CAIRN_CONFIG='{...}' (JSON config for every server; default none) KEEP=1 (keep the temp dir)
# Loopback only; everything started is stopped by PID, also on error or Ctrl-C.
set -Eeuo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CAIRN=${1:-$HERE/../build/cli/cairn}
LOADER=${2:-$HERE/../build/bench/register_latency}
REPS=${REPS:-3}
INSTANCES=${INSTANCES:-100000}
SERVICES=${SERVICES:-1000}
CONNS=${CONNS:-32}
QUIET_WAIT=${QUIET_WAIT:-120}
SETTLE=${SETTLE:-3}
TIMEOUT=${TIMEOUT:-60} # seconds, per wait
CAIRN_LOG_LEVEL=${CAIRN_LOG_LEVEL:-info}

[[ -x "$CAIRN" ]] || { echo "no cairn binary at $CAIRN (build first)" >&2; exit 1; }
[[ -x "$LOADER" ]] || { echo "no register_latency binary at $LOADER (build first)" >&2; exit 1; }
command -v curl >/dev/null || { echo "missing curl" >&2; exit 1; }

T=$(mktemp -d /tmp/bench-recovery.XXXXXX)
# shellcheck source=bench/cluster_lib.sh
source "$HERE/cluster_lib.sh"
cleanup() { trap "" INT TERM; stop_all; [[ -n "${KEEP:-}" ]] || rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "recovery.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

PER_SVC=$(( (INSTANCES + SERVICES - 1) / SERVICES ))
LAST_SVC=$(printf 'svc-%04d' $((SERVICES - 1)))
LAST_N=$(( INSTANCES / SERVICES )) # instances of the last service (round-robin)

echo "# recovery: cairn $("$CAIRN" version 2>/dev/null | head -1); $INSTANCES instances over $SERVICES services; data dirs under $T ($(df --output=source "$T" | tail -1)); nproc $(nproc)" >&2

count_instances() { # HTTP QUERY -> number of instances of LAST_SVC (0 on any error)
  { curl -s -f -m 5 "http://$1/v1/catalog/service/$LAST_SVC?$2" 2>/dev/null || true; } | { grep -o '"ServiceID"' || true; } | wc -l
}
# wait_full HTTP QUERY: until LAST_SVC has LAST_N instances there; prints seconds since $T0
wait_full() {
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if (($(count_instances "$1" "$2") >= LAST_N)); then elapsed "$T0"; return 0; fi
    sleep 0.01
  done
  echo "timeout"; return 1
}
wait_listening() { # I: seconds since T0 until server I printed its listening line
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if grep -q '^cairn: listening' "$T/cairn-$1.out"; then elapsed "$T0"; return 0; fi
    sleep 0.005
  done
  echo "timeout"; return 1
}
others() { local i; for i in 1 2 3; do if [[ $i != "$1" ]]; then echo "${CAIRN_RAFT[$i]}"; fi; done; }

# cairn_launch I: start server I again on its data dir and server port, without waiting
cairn_launch() {
  local i=$1 port=${CAIRN_RAFT[$1]##*:} joins=() j
  for j in $(others "$i"); do joins+=(-retry-join "$j"); done
  : >"$T/cairn-$i.out"
  T0=$(now_s)
  "$CAIRN" agent -server -data-dir "${CAIRN_DIR[$i]}" -node "s$i" -node-id "$(cairn_node_id "$i")" -bind 127.0.0.1 \
    -client 127.0.0.1 -http-port 0 -dns-port -1 -server-port "$port" -bootstrap-expect 3 \
    -log-level "$CAIRN_LOG_LEVEL" -config-file "$T/cairn-$i.json" "${joins[@]}" \
    >"$T/cairn-$i.out" 2>>"$T/cairn-$i.log" &
  CAIRN_PID[$i]=$!; PIDS+=($!)
}
http_of() { # I: HTTP address once listening
  sed -n 's/^cairn: listening http=\([0-9.]*:[0-9]*\).*/\1/p' "$T/cairn-$1.out" | head -1
}

declare -A V
add() { V[$1]+="$2 "; }

catchup() { # $1 label, $2 server index; T0 set by cairn_launch; the leader's VmHWM was reset before
  local F=$2 tl ts line rhwm rrss shwm srss
  tl=$(wait_listening "$F")
  CAIRN_HTTP[$F]=$(http_of "$F")
  ts=$(wait_full "${CAIRN_HTTP[$F]}" stale)
  sleep 1
  line=$(grep "installed snapshot" "$T/cairn-$F.log" | tail -1 || true)
  [[ -n "$line" ]] || line="NO SNAPSHOT INSTALLED"
  rhwm=$(mib "$(hwm_kib "${CAIRN_PID[$F]}")"); rrss=$(mib "$(rss_kib "${CAIRN_PID[$F]}")")
  shwm=$(mib "$(hwm_kib "${CAIRN_PID[$L]}")"); srss=$(mib "$(rss_kib "${CAIRN_PID[$L]}")")
  echo "#   run $r: catch-up ($1) of s$F from leader s$L: listening ${tl}s, full ?stale read ${ts}s; receiver VmHWM ${rhwm} MiB (RSS after ${rrss}); sender VmHWM ${shwm} MiB during the install (RSS before ${SRSS0}, after ${srss}); ${line#* [info] }" >&2
  add "$1_s" "$ts"; add "$1_recv_hwm" "$rhwm"; add "$1_recv_rss" "$rrss"; add "$1_send_hwm" "$shwm"; add "$1_send_rss0" "$SRSS0"
}
reset_hwm() { # I: the VmHWM of server I restarts from its current RSS
  echo 5 >/proc/"${CAIRN_PID[$1]}"/clear_refs
  SRSS0=$(mib "$(rss_kib "${CAIRN_PID[$1]}")")
}

for r in $(seq "$REPS"); do
  quiet_wait
  cairn_cluster "$T/cairn"
  L=$CAIRN_LEADER; F=$CAIRN_FOLLOWER
  # ---- 1. load, with one follower down (it will need a snapshot) -----------------------------------
  cairn_stop "$F"
  t0=$(now_s)
  timeout 900 "$LOADER" -port "${CAIRN_HTTP[$L]##*:}" -preload "$INSTANCES" -services "$SERVICES" \
    -conns "$CONNS" -samples 1 -warmup 0 -settle-ms 0 >"$T/load.out" 2>"$T/load.err" || { cat "$T/load.err" >&2; exit 1; }
  load_s=$(elapsed "$t0")
  echo "#   run $r: loaded $INSTANCES in ${load_s}s ($(awk -v n="$INSTANCES" -v s="$load_s" 'BEGIN{printf "%.0f", n/s}') reg/s, $CONNS conns) through leader s$L with s$F down" >&2
  add load_s "$load_s"; add load_rps "$(awk -v n="$INSTANCES" -v s="$load_s" 'BEGIN{printf "%.0f", n/s}')"
  sleep "$SETTLE"

  # ---- 2. catch-up by snapshot of the follower that was down -----------------------------------------
  reset_hwm "$L"
  cairn_launch "$F"
  catchup behind "$F"
  cairn_wait_ready 1 2 3 || { echo "cluster not ready after the catch-up of s$F" >&2; exit 1; }
  sleep "$SETTLE"
  rss=(); for i in 1 2 3; do rss+=("$(mib "$(rss_kib "${CAIRN_PID[$i]}")")"); done
  disk=$(du -sm "${CAIRN_DIR[$L]}" | cut -f1)
  echo "#   run $r: RSS MiB s1..s3 ${rss[*]} (leader s$L); leader data dir ${disk} MiB" >&2
  add rss_leader "${rss[$((L - 1))]}"
  for i in 1 2 3; do if [[ $i != "$L" ]]; then add rss_follower "${rss[$((i - 1))]}"; fi; done
  add rss_max "$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)"
  add disk "$disk"

  # ---- 3. restart to serving: a follower, then the leader ------------------------------------------
  for role in follower follower_kill9 leader; do
    sig=TERM; [[ $role == follower_kill9 ]] && sig=KILL
    if [[ $role == leader ]]; then i=$CAIRN_LEADER; else i=$CAIRN_FOLLOWER; fi
    cairn_stop "$i" "$sig"
    sleep 1
    cairn_launch "$i"
    tl=$(wait_listening "$i")
    CAIRN_HTTP[$i]=$(http_of "$i")
    ts=$(wait_full "${CAIRN_HTTP[$i]}" stale)
    tc=$(wait_full "${CAIRN_HTTP[$i]}" consistent)
    rs=$(mib "$(rss_kib "${CAIRN_PID[$i]}")")
    echo "#   run $r: restart $role s$i: listening ${tl}s, full ?stale read ${ts}s, full ?consistent read ${tc}s; RSS ${rs} MiB" >&2
    add "restart_${role}_listen" "$tl"; add "restart_${role}_stale" "$ts"; add "restart_${role}_consistent" "$tc"
    add "restart_${role}_rss" "$rs"
    cairn_wait_ready 1 2 3 || { echo "cluster not ready after the restart of s$i" >&2; exit 1; }
  done

  # ---- 4. a new server (empty data dir, new node ID) joins and catches up by snapshot ------------------
  L=$CAIRN_LEADER
  reset_hwm "$L"
  T0=$(now_s)
  cairn_start 4 "$T/cairn/s4" 0 "${CAIRN_RAFT[$CAIRN_FOLLOWER]}"
  catchup new 4
  stop_all
  rm -rf "$T/cairn"
done

# shellcheck disable=SC2086
{
  echo "3 servers on 127.0.0.1, $INSTANCES instances ($SERVICES services x $PER_SVC), median (min-max) of $REPS rounds"
  echo
  echo "| figure | value | target |"
  echo "|---|---|---|"
  echo "| load $INSTANCES registrations through the leader, $CONNS connections | $(stats ${V[load_s]}) s = $(stats ${V[load_rps]}) reg/s | |"
  echo "| RSS of the leader (after the load and the catch-up) | $(stats ${V[rss_leader]}) MiB | <= 300 MB |"
  echo "| RSS of the followers (both, all rounds) | $(stats ${V[rss_follower]}) MiB | <= 300 MB |"
  echo "| RSS of the largest server | $(stats ${V[rss_max]}) MiB | <= 300 MB |"
  echo "| data dir of the leader | $(stats ${V[disk]}) MiB | |"
  for role in follower follower_kill9 leader; do
    echo "| restart of the $role: start to listening (catalog loaded, ?stale served) | $(stats ${V[restart_${role}_listen]}) s | |"
    echo "| restart of the $role: start to a full ?stale read | $(stats ${V[restart_${role}_stale]}) s | |"
    echo "| restart of the $role: start to a full ?consistent read (back in the cluster) | $(stats ${V[restart_${role}_consistent]}) s | <= 2 s |"
    echo "| RSS of the $role after its restart | $(stats ${V[restart_${role}_rss]}) MiB | <= 300 MB |"
  done
  for k in behind new; do
    [[ -n "${V[${k}_s]:-}" ]] || continue
    if [[ $k == behind ]]; then what="a follower that was down during the load (its data dir kept)"; else what="a new server (empty data dir, joins through a follower; added as a learner)"; fi
    echo "| catch-up by snapshot of $what: start to a full ?stale read | $(stats ${V[${k}_s]}) s | <= 5 s |"
    echo "| peak RSS (VmHWM) of the receiver (its whole life) | $(stats ${V[${k}_recv_hwm]}) MiB | <= 300 MB |"
    echo "| RSS of the receiver after the install | $(stats ${V[${k}_recv_rss]}) MiB | |"
    echo "| peak RSS (VmHWM) of the sender (leader) during the catch-up | $(stats ${V[${k}_send_hwm]}) MiB (RSS before: $(stats ${V[${k}_send_rss0]})) | <= 300 MB |"
  done
}
