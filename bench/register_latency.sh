#!/usr/bin/env bash
# Register latency benchmark: p50/p99 of PUT /v1/agent/service/register with a small and a large
# catalog, to show that a write costs in proportion to its service, not to the catalog.
#
# For each round and each catalog size N in SIZES, on a fresh `cairn agent -dev` (own data dir):
#   1. preload N instances spread over SERVICES services, over CONNS keep-alive connections in parallel
#      (bench/register_latency, timed and reported as registrations/s);
#   2. settle 2 s, 200 warm-up registrations of another service (not recorded);
#   3. SAMPLES sequential registrations of new instances of one service ("bench-target", empty before),
#      one connection, one request in flight: p50/p90/p99/p99.9/max of the client-side wall time;
#   4. the agent's VmRSS from /proc/PID/status.
# Sizes run in SIZES order in odd rounds and in reverse order in even rounds.
# Pinning: every agent thread on CPU 1 (`taskset -a -p`), the client on CPU 0.
#
# Usage:  bench/register_latency.sh [path/to/cairn [path/to/register_latency]]
#         (defaults: build/cli/cairn and build/bench/register_latency beside this script)
# Env:    REPS=3 SIZES="1000 100000" SERVICES=1000 CONNS=8 SAMPLES=2000 SERVER_CPU=1 LOAD_CPU=0
#         QUIET_WAIT=300 (before each run, wait at most this long for the machine to be idle)
#         MAX_OTHER=10 RETRIES=3 (a run during which other processes used > MAX_OTHER % of the machine
#         in the sample phase is redone, at most RETRIES times; this machine is shared with builds)
#         HTTP_THREADS= (http_config.threads for the agent; empty = the agent's default)
# Per-run lines go to stderr, a markdown table (median (min-max) of REPS runs) to stdout.
# Loopback only; everything started is stopped by PID, also on error or Ctrl-C (trap).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CAIRN=${1:-$HERE/../build/cli/cairn}
PROG=${2:-$HERE/../build/bench/register_latency}
REPS=${REPS:-3}
SIZES=${SIZES:-1000 100000}
SERVICES=${SERVICES:-1000}
CONNS=${CONNS:-8}
SAMPLES=${SAMPLES:-2000}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
HTTP_THREADS=${HTTP_THREADS:-}
RUN_TIMEOUT=${RUN_TIMEOUT:-900} # seconds, per register_latency run (preload + samples)
MAX_OTHER=${MAX_OTHER:-10}     # % of the machine other processes may use during the samples, else the run is redone
RETRIES=${RETRIES:-3}          # at most this many redos per run (then the disturbed run is kept and flagged)
QUIET_WAIT=${QUIET_WAIT:-300}  # before each run, wait up to this many seconds for an idle machine

[[ -x "$CAIRN" ]] || { echo "no cairn binary at $CAIRN (build first)" >&2; exit 1; }
[[ -x "$PROG" ]] || { echo "no register_latency binary at $PROG (cmake --build build)" >&2; exit 1; }

T=$(mktemp -d /tmp/bench-register.XXXXXX)
CAIRN_PID=""
stop_pid() {
  local p=$1
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() { trap "" INT TERM; stop_pid "$CAIRN_PID"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "register_latency.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

stats() { # median (min-max)
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s (%s-%s)", m, a[1], a[NR]}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
kv() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{printf "%.0f", s}'; }

quiet_wait() { # wait (at most QUIET_WAIT s) until the machine was < 5 % busy over 3 s; other builds share it
  local deadline=$((SECONDS + QUIET_WAIT)) a b
  while ((SECONDS < deadline)); do
    a=$(awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat); sleep 3
    b=$(awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); exit !(100*(y[1]-x[1]) < 5*(y[2]-x[2]))}' && return 0
  done
  echo "#   (machine still busy after QUIET_WAIT=${QUIET_WAIT}s; measuring anyway)" >&2
}
start_agent() { # fresh agent with its own data dir; sets CAIRN_PID and PORT
  local d="$T/agent-$1"
  rm -rf "$d"; mkdir -p "$d"
  local cfg=()
  if [[ -n "$HTTP_THREADS" ]]; then
    echo "{\"http_config\": {\"threads\": $HTTP_THREADS}}" >"$d/cfg.json"; cfg=(-config-file "$d/cfg.json")
  fi
  "$CAIRN" agent -dev -http-port 0 -data-dir "$d/data" -log-level warn "${cfg[@]}" >"$d/out" 2>"$d/err" &
  CAIRN_PID=$!
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's/^cairn: listening http=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/out" | head -1)
    [[ -n "$PORT" ]] && break
    kill -0 "$CAIRN_PID" 2>/dev/null || { echo "cairn died:" >&2; cat "$d/err" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n "$PORT" ]] || { echo "cairn printed no listening line" >&2; exit 1; }
  taskset -a -p -c "$SERVER_CPU" "$CAIRN_PID" >/dev/null
}

echo "# register_latency: cairn $("$CAIRN" version 2>/dev/null | head -1); data dirs under $T ($(df --output=source "$T" | tail -1))" >&2

run_one() { # $1 label, $2 size; sets LINE RSS_MIB AGENT_US
  quiet_wait
  start_agent "$1"
  local c0 c1
  c0=$(cpu_ns "$CAIRN_PID")
  LINE=$(timeout "$RUN_TIMEOUT" taskset -c "$LOAD_CPU" "$PROG" -port "$PORT" -preload "$2" -services "$SERVICES" \
    -conns "$CONNS" -samples "$SAMPLES" -agent-pid "$CAIRN_PID" 2>"$T/prog.err") || { cat "$T/prog.err" >&2; exit 1; }
  c1=$(cpu_ns "$CAIRN_PID")
  RSS_MIB=$(awk '/^VmRSS:/{printf "%.0f", $2/1024}' /proc/"$CAIRN_PID"/status)
  # agent CPU per registration over the whole run (preload + warm-up + samples), in microseconds
  AGENT_US=$(awk -v d=$((c1 - c0)) -v k=$(($2 + 200 + SAMPLES)) 'BEGIN{printf "%.0f", d/1000/k}')
  stop_pid "$CAIRN_PID"; CAIRN_PID=""
  rm -rf "$T/agent-$1"
}

declare -A last_p50 last_p99 OTHER P50 P90 P99 P999 MAX MEAN PRE_S PRE_RPS RSS CPU_US
R50=""; R99=""; DISCARDED=0
for r in $(seq "$REPS"); do
  order=$SIZES; ((r % 2 == 0)) && order=$(printf '%s\n' $SIZES | tac | tr '\n' ' ') # alternate the order
  for n in $order; do
    for try in $(seq 0 "$RETRIES"); do
      run_one "$r-$n-$try" "$n"
      other=$(kv other_load_pct "$LINE")
      echo "#   run $r: instances=$n $LINE rss_mib=$RSS_MIB agent_cpu_us_per_reg=$AGENT_US" >&2
      ((other <= MAX_OTHER)) && break
      if ((try < RETRIES)); then
        echo "#   run $r: discarded (other processes used $other % of the machine during the samples > MAX_OTHER=$MAX_OTHER); retrying" >&2
        DISCARDED=$((DISCARDED + 1))
      else
        echo "#   run $r: kept although disturbed (other load $other % after $RETRIES retries)" >&2
      fi
    done
    P50[$n]+="$(kv p50_us "$LINE") "; P90[$n]+="$(kv p90_us "$LINE") "; P99[$n]+="$(kv p99_us "$LINE") "
    P999[$n]+="$(kv p999_us "$LINE") "; MAX[$n]+="$(kv max_us "$LINE") "; MEAN[$n]+="$(kv mean_us "$LINE") "
    PRE_S[$n]+="$(kv preload_s "$LINE") "; PRE_RPS[$n]+="$(kv preload_rps "$LINE") "; RSS[$n]+="$RSS_MIB "
    CPU_US[$n]+="$AGENT_US "; OTHER[$n]+="$other "
    last_p50[$n]=$(kv p50_us "$LINE"); last_p99[$n]=$(kv p99_us "$LINE")
  done
  set -- $SIZES
  if (($# >= 2)); then # per-round ratios, largest size / smallest size
    lo=$1; hi=${!#}
    R50+="$(awk -v a="${last_p50[$hi]}" -v b="${last_p50[$lo]}" 'BEGIN{printf "%.2f", a/b}') "
    R99+="$(awk -v a="${last_p99[$hi]}" -v b="${last_p99[$lo]}" 'BEGIN{printf "%.2f", a/b}') "
  fi
done

# shellcheck disable=SC2086
{
  echo "$SAMPLES sequential registrations of new instances of one service after preloading N instances over"
  echo "$SERVICES services ($CONNS connections); agent on CPU $SERVER_CPU, client on CPU $LOAD_CPU; median (min-max) of $REPS runs"
  echo "($DISCARDED disturbed runs discarded and redone; other load = % of the machine used by other processes during the samples)"
  echo
  echo "| instances in catalog | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | mean µs | preload s | preload reg/s | agent CPU µs/reg | agent RSS MiB | other load % |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for n in $SIZES; do
    echo "| $(printf "%'d" "$n") | $(stats ${P50[$n]}) | $(stats ${P90[$n]}) | $(stats ${P99[$n]}) | $(stats ${P999[$n]}) | $(stats ${MAX[$n]}) | $(stats ${MEAN[$n]}) | $(stats ${PRE_S[$n]}) | $(stats ${PRE_RPS[$n]}) | $(stats ${CPU_US[$n]}) | $(stats ${RSS[$n]}) | $(stats ${OTHER[$n]}) |"
  done
  set -- $SIZES
  if (($# >= 2)); then
    lo=$1; hi=${!#}
    echo
    echo "| ratio ${hi} / ${lo} | of the medians | per round: median (min-max) |"
    echo "|---|---|---|"
    echo "| p50 | $(awk -v a="$(median ${P50[$hi]})" -v b="$(median ${P50[$lo]})" 'BEGIN{printf "%.2f", a/b}') | $(stats $R50) |"
    echo "| p99 | $(awk -v a="$(median ${P99[$hi]})" -v b="$(median ${P99[$lo]})" 'BEGIN{printf "%.2f", a/b}') | $(stats $R99) |"
  fi
}
