#!/usr/bin/env bash
# Health-check benchmark: 10,000 HTTP checks and 10,000 TCP checks at a 10 s interval, run by a real
# `cairn agent -dev` against local targets, a new connection per probe (as Consul does).
#
# Per run (one check set: http, tcp or both):
#   1. bench/health_targets on TARGET_CPU: PORTS HTTP ports (answer 200, close) and PORTS TCP ports
#      (accept, close) on 127.0.0.1, one epoll thread; it counts every probe per port and per check
#      (the HTTP path /c/<i> names the check) and the time between two probes of one check.
#   2. A fresh `cairn agent -dev` (own data dir, free HTTP port, DNS off) started under
#      `taskset -c AGENT_CPU` (every thread on that CPU); CHECKS services registered through
#      PUT /v1/agent/service/register (bench/health_register, 8 connections), each with one check
#      (interval INTERVAL s, timeout 5 s), spread round-robin over the ports of their kind.
#   3. Warm-up: one full interval plus WARMUP_EXTRA s after the last registration (every check has run
#      once and its critical -> passing change is written), then until the applied index has not
#      moved for 3 s (at most 60 s more).
#   4. Steady state, DURATION s: the agent's CPU (utime+stime of /proc/PID/stat, all threads, in % of
#      one core) and the targets' CPU the same way; probes per second counted at the targets (and
#      their spread per check and per port); schedule lateness (due time to probe start) p50/p99/max
#      from the agent's cairn_health_check_lateness_seconds histogram at /v1/agent/metrics (read as
#      the upper bound of the bucket that holds the quantile); the spread of the time between two
#      probes of one HTTP check around the interval, seen by the targets; Raft writes = moves of
#      cairn_catalog_applied_index; probes skipped because the previous one was still in flight;
#      checks critical at the end; and what other processes used of the machine meanwhile.
#   5. The floor (reference): with the agent stopped, bench/health_floor on AGENT_CPU makes the same
#      probes per second against the same targets for FLOOR_SECONDS (a bare epoll loop: socket,
#      connect, the same request bytes, read, close; nothing else). On loopback the kernel does the
#      target's side of every connection in the prober's context too, so this is the least CPU a
#      prober that wakes once per probe can be charged here (the agent's checker starts the runs due
#      within 10 ms together, so it can go below it); the table gives agent / floor.
#
# Modes (MODE=loopback|netns):
#   loopback (default): targets on 127.0.0.1; the kernel's work for the targets' half of each
#      connection (SYN-ACK, accept, the receive softirq) runs in the prober's context and is charged
#      to it, which a prober of remote targets would not pay.
#   netns: what a deployment with remote targets sees. The targets run in a network namespace of
#      their own (NETNS_NAME, made here and deleted on exit), reached through a veth pair
#      (10.<o>.0.1 here, 10.<o>.0.2 there); RPS on each end of the pair
#      (/sys/class/net/<veth>/queues/rx-0/rps_cpus) steers the receive processing of packets for the
#      targets to TARGET_CPU and of packets for the agent to AGENT_CPU, so each side's kernel work
#      happens on its own CPU (a packet sent is queued to the other CPU's backlog, not processed
#      inline as on loopback). Defaults there: AGENT_CPU=0, TARGET_CPU=1. Besides the agent's
#      utime+stime, each run reports AGENT_CPU's busy time over the window as the idle clock sees
#      it (wall - idle - iowait of /proc/stat, which NO_HZ_IDLE keeps by the clock, not by ticks:
#      everything that ran on that CPU, including receive softirqs that landed while it was idle
#      and are charged to no process), its softirq time (tick-sampled: a process that wakes on a
#      10 ms grid is missed by the 4 ms tick, so this and the user/system split are rough), and the
#      RPS wake-ups (IPIs) each CPU received (/proc/net/softnet_stat, received_rps).
#      Needs root (ip netns, ip link).
#
# Close (CLOSE="fin", "reset" or "fin reset"): how the agent's HTTP and TCP probes end their
# connection, the agent's `check_close` (written to a config file the agent reads); the floor makes
# the same close (health_floor -close). fin (default): a normal close, as Consul; reset: SO_LINGER
# {1, 0}, an RST and no TIME_WAIT, as HAProxy. With several, each rep runs every set in each close
# in turn, and the table has a row per set and close.
#
# Engine (ENGINE="uring", "epoll" or "uring epoll"): the agent's `check_io_uring` (true: plain HTTP
# and TCP probes through io_uring, the default since session 6; false: through epoll, Asio). The
# floor of a run follows it: bench/health_floor (epoll) or bench/health_floor_uring (io_uring, one
# enter per 10 ms tick), with the same close.
#
# Usage:  bench/health_checks.sh [path/to/cairn [path/to/bench/bindir]]
#         (defaults: build/cli/cairn and build/bench beside this script)
# Env:    MODE=loopback|netns CLOSE="fin" ENGINE="uring" GRANULARITY= TICK_MS=20 RUNS="http tcp both" REPS=1 CHECKS=10000 INTERVAL=10 DURATION=60 PORTS=100 WARMUP_EXTRA=5
#         AGENT_CPU=1 TARGET_CPU=0 (netns: 0 and 1) QUIET_WAIT=120 (before each run, wait at most this long for the
#         machine to be idle) THREADS=1 (print each agent thread's CPU on stderr) FLOOR_SECONDS=30
#         LOCK= (a file held with flock during each run, so that builds wait between runs, not during)
#         PERF_OUT= (path prefix: after each measured window, `perf record -g` the agent PERF_SECONDS=20)
# Per-run lines go to stderr, a markdown table (median (min-max) of REPS runs) to stdout.
# Every process started is stopped by PID (trap), and each is bounded in time by
# itself too (`timeout` around the agent and the registration, -max-seconds for the targets).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CAIRN=${1:-$HERE/../build/cli/cairn}
BIN=${2:-$HERE/../build/bench}
RUNS=${RUNS:-http tcp both}
REPS=${REPS:-1}
CHECKS=${CHECKS:-10000}
INTERVAL=${INTERVAL:-10}
DURATION=${DURATION:-60}
PORTS=${PORTS:-100}
WARMUP_EXTRA=${WARMUP_EXTRA:-5}
MODE=${MODE:-loopback}
CLOSE=${CLOSE:-fin}
for c in $CLOSE; do
  [[ $c == fin || $c == reset ]] || { echo "CLOSE must be fin, reset or \"fin reset\"" >&2; exit 2; }
done
RUN_CLOSE=fin # the close of the run in progress
ENGINE=${ENGINE:-uring}
for e in $ENGINE; do
  [[ $e == uring || $e == epoll ]] || { echo "ENGINE must be uring, epoll or \"uring epoll\"" >&2; exit 2; }
done
RUN_ENGINE=uring # the engine of the run in progress
GRANULARITY=${GRANULARITY:-} # the agent's check_run_granularity (e.g. 10ms); empty: its default
TICK_MS=${TICK_MS:-20}       # health_floor_uring's tick (match the agent's granularity)
case $MODE in
  loopback) AGENT_CPU=${AGENT_CPU:-1}; TARGET_CPU=${TARGET_CPU:-0} ;;
  netns) AGENT_CPU=${AGENT_CPU:-0}; TARGET_CPU=${TARGET_CPU:-1} ;;
  *) echo "MODE must be loopback or netns" >&2; exit 2 ;;
esac
QUIET_WAIT=${QUIET_WAIT:-120}
THREADS=${THREADS:-1}
FLOOR_SECONDS=${FLOOR_SECONDS:-30}
PERF_OUT=${PERF_OUT:-}         # a path prefix: profile the agent with perf after each measured window
PERF_SECONDS=${PERF_SECONDS:-20} # for that long (perf runs on TARGET_CPU's side of the machine)
LOCK=${LOCK:-}  # a file to hold with flock during each run (e.g. /work/build.lock: no build meanwhile)
HZ=$(getconf CLK_TCK)
# Upper bound on one run's life (register + warm-up + measurement + slack); the agent and the targets
# stop by themselves after it even if this script is killed with SIGKILL.
RUN_MAX=$((120 + 2 * INTERVAL + 60 + DURATION + 120))

[[ -x "$CAIRN" ]] || { echo "no cairn binary at $CAIRN (build first)" >&2; exit 1; }
for p in health_targets health_register health_floor health_floor_uring; do
  [[ -x "$BIN/$p" ]] || { echo "no $p in $BIN (cmake --build build)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/bench-health.XXXXXX)
# netns mode: the namespace, the veth pair (host end VETH_A, namespace end VETH_B) and the addresses.
NETNS_NAME=${NETNS_NAME:-cairnhb$$}
VETH_A=hbA$$
VETH_B=hbB$$
OCTET=$((200 + $$ % 50))
HOST_ADDR=10.$OCTET.0.1
TARGET_ADDR=127.0.0.1
NETNS_MADE=0
IN_NS=() # the command prefix that runs a program where the targets live
[[ $MODE == netns ]] && TARGET_ADDR=10.$OCTET.0.2
AGENT_PID=""   # the `timeout` wrapper around the agent
CAIRN_PID=""   # the agent itself
TARGETS_PID=""
stop_pid() {
  local p=$1
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
stop_all() {
  stop_pid "$CAIRN_PID"; stop_pid "$AGENT_PID"; stop_pid "$TARGETS_PID"
  CAIRN_PID=""; AGENT_PID=""; TARGETS_PID=""
}
netns_down() {
  ((NETNS_MADE)) || return 0
  ip netns del "$NETNS_NAME" 2>/dev/null || true # takes VETH_B, and with it its peer VETH_A
  ip link del "$VETH_A" 2>/dev/null || true
  NETNS_MADE=0
}
cleanup() { trap "" INT TERM; stop_all; netns_down; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "health_checks.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

cpumask() { printf '%x' $((1 << $1)); }
netns_up() {
  [[ $(id -u) == 0 ]] || { echo "MODE=netns needs root (ip netns, ip link)" >&2; exit 1; }
  ip netns add "$NETNS_NAME"
  NETNS_MADE=1
  ip link add "$VETH_A" type veth peer name "$VETH_B"
  ip link set "$VETH_B" netns "$NETNS_NAME"
  ip addr add "$HOST_ADDR/24" dev "$VETH_A"
  ip link set "$VETH_A" up
  ip netns exec "$NETNS_NAME" ip addr add "$TARGET_ADDR/24" dev "$VETH_B"
  ip netns exec "$NETNS_NAME" ip link set "$VETH_B" up
  ip netns exec "$NETNS_NAME" ip link set lo up
  # Receive processing: packets arriving on VETH_A (for the agent) on AGENT_CPU, packets arriving on
  # VETH_B (for the targets) on TARGET_CPU. (`ip netns exec` mounts the namespace's /sys.)
  cpumask "$AGENT_CPU" >"/sys/class/net/$VETH_A/queues/rx-0/rps_cpus"
  ip netns exec "$NETNS_NAME" sh -c "echo $(cpumask "$TARGET_CPU") >/sys/class/net/$VETH_B/queues/rx-0/rps_cpus"
  IN_NS=(ip netns exec "$NETNS_NAME")
  echo "#   netns $NETNS_NAME: $VETH_A $HOST_ADDR (rps_cpus $(cat "/sys/class/net/$VETH_A/queues/rx-0/rps_cpus"))" \
    "<-> $VETH_B $TARGET_ADDR (rps_cpus $(ip netns exec "$NETNS_NAME" cat "/sys/class/net/$VETH_B/queues/rx-0/rps_cpus"))" >&2
}
# cpu_line N: busy softirq total (ticks) of CPU N from /proc/stat, then idle+iowait (ticks) and the
# wall clock (s). busy and softirq are tick-sampled; idle and iowait are not (NO_HZ_IDLE: the idle
# loop's own clock), so wall - idle - iowait is the CPU's busy time whatever ran on it.
cpu_line() {
  awk -v c="cpu$1" -v now="$(date +%s.%N)" '$1==c{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, $8, t, $5+$6, now}' /proc/stat
}
# rps_received: RPS wake-ups (IPIs) each CPU received to process packets queued to it by another CPU
# (softnet_stat column 10, received_rps), "n0 n1 ..."
rps_received() {
  local -a f
  while read -r -a f; do printf '%d ' $((16#${f[9]})); done </proc/net/softnet_stat
}

stats() { # median (min-max)
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s (%s-%s)", m, a[1], a[NR]}'
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; } # utime+stime, all threads, in clock ticks
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
machine() { awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat; } # busy total
metric() { awk -v n="$1" '$1==n{print $2}' "$2"; }
http() { curl -sf -m 10 "$@"; }

quiet_wait() { # wait (at most QUIET_WAIT s) until the machine was < 10 % busy over 3 s; it is shared
  local deadline=$((SECONDS + QUIET_WAIT)) a b
  while ((SECONDS < deadline)); do
    a=$(machine); sleep 3; b=$(machine)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); exit !(100*(y[1]-x[1]) < 10*(y[2]-x[2]))}' && return 0
  done
  echo "#   (machine still busy after QUIET_WAIT=${QUIET_WAIT}s; measuring anyway)" >&2
}

# quantile FILE_BEFORE FILE_AFTER Q: the upper bound (ms) of the lateness bucket holding quantile Q of
# the probes started between the two scrapes; Q=1 gives the bucket of the largest.
quantile() {
  awk -v q="$3" '
    /^cairn_health_check_lateness_seconds_bucket/ {
      le=$1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      if (FILENAME==ARGV[1]) { before[le]=$2 } else { n++; les[n]=le; after[le]=$2 } }
    END {
      total=after["+Inf"]-before["+Inf"]; if (total<=0) { print "n/a"; exit }
      for (i=1; i<=n; i++) { c=after[les[i]]-before[les[i]]
        if (c >= q*total) { if (les[i]=="+Inf") print ">30000"; else printf "%g\n", les[i]*1000; exit } } }' "$1" "$2"
}

start_targets() {
  timeout -k 5 "$RUN_MAX" "${IN_NS[@]}" taskset -c "$TARGET_CPU" "$BIN/health_targets" -addr "$TARGET_ADDR" \
    -http-ports "$PORTS" -tcp-ports "$PORTS" -interval-ms $((INTERVAL * 1000)) -max-seconds "$RUN_MAX" >"$T/targets.out" 2>"$T/targets.err" &
  TARGETS_PID=$!
  local line=""
  for _ in $(seq 100); do
    line=$(head -1 "$T/targets.out" 2>/dev/null || true) # the file may not exist yet
    [[ -n "$line" ]] && break
    sleep 0.05
  done
  [[ -n "$line" ]] || { echo "targets printed no ports:" >&2; cat "$T/targets.err" >&2; exit 1; }
  TARGETS_REAL=$(pgrep -P "$TARGETS_PID" | head -1) # the program under timeout (ip netns exec and taskset exec it)
  CONTROL=$(kv control "$line"); HTTP_PORTS=$(kv http "$line"); TCP_PORTS=$(kv tcp "$line")
}

start_agent() { # fresh agent with its own data dir; sets CAIRN_PID and PORT
  local d="$T/agent-$1"
  rm -rf "$d"; mkdir -p "$d"
  echo "check_close = \"$RUN_CLOSE\"" >"$d/close.toml"
  echo "check_io_uring = $([[ $RUN_ENGINE == uring ]] && echo true || echo false)" >>"$d/close.toml"
  [[ -n "$GRANULARITY" ]] && echo "check_run_granularity = \"$GRANULARITY\"" >>"$d/close.toml"
  timeout -k 5 "$RUN_MAX" taskset -c "$AGENT_CPU" "$CAIRN" agent -dev -http-port 0 -dns-port -1 \
    -config-file "$d/close.toml" -data-dir "$d/data" -node bench -log-level warn >"$d/out" 2>"$d/err" &
  AGENT_PID=$!
  PORT=""
  for _ in $(seq 200); do
    PORT=$(sed -n 's/^cairn: listening http=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/out" | head -1)
    [[ -n "$PORT" ]] && break
    kill -0 "$AGENT_PID" 2>/dev/null || { echo "cairn died:" >&2; cat "$d/err" >&2; exit 1; }
    sleep 0.05
  done
  [[ -n "$PORT" ]] || { echo "cairn printed no listening line" >&2; exit 1; }
  CAIRN_PID=$(pgrep -P "$AGENT_PID" | head -1)
  [[ -n "$CAIRN_PID" ]] || { echo "no cairn process under timeout $AGENT_PID" >&2; exit 1; }
}

register() { # kind count
  local ports=$HTTP_PORTS
  [[ $1 == tcp ]] && ports=$TCP_PORTS
  timeout 300 taskset -c "$TARGET_CPU" "$BIN/health_register" -port "$PORT" -kind "$1" -count "$2" \
    -targets "$ports" -target-host "$TARGET_ADDR" -interval "${INTERVAL}s" -timeout 5s -conns 8
}

applied() { http "http://127.0.0.1:$PORT/v1/agent/metrics" | awk '$1=="cairn_catalog_applied_index"{print $2}'; }

thread_ticks() { # tid ticks, per agent thread
  for f in /proc/"$CAIRN_PID"/task/*/stat; do
    awk '{sub(/ \(.*\) /, " x "); print $1, $14+$15}' "$f"
  done 2>/dev/null | sort
}

# pct D_TICKS SECS: ticks over SECS seconds in % of one core
pct() { awk -v d="$1" -v s="$2" -v hz="$HZ" 'BEGIN{printf "%.2f", 100*d/hz/s}'; }
# cpu_delta BEFORE AFTER: "busy% softirq%" of one CPU between two cpu_line readings (% of that CPU)
# "busy% softirq% busy_by_idle%": the last is 100 - idle% measured by the idle clock (see cpu_line).
cpu_delta() {
  awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN{split(a,x," "); split(b,y," "); t=y[3]-x[3]; if (t<=0) t=1
    w=y[5]-x[5]; if (w<=0) w=1
    printf "%.2f %.2f %.2f", 100*(y[1]-x[1])/t, 100*(y[2]-x[2])/t, 100-100*(y[4]-x[4])/hz/w}'
}
# rps_delta BEFORE AFTER CPU: RPS IPIs CPU received between two rps_received readings
rps_delta() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN{split(a,x," "); split(b,y," "); print y[c+1]-x[c+1]}'; }

# floor N_HTTP N_TCP: sets FL to the CPU (% of one core) of bench/health_floor doing the same probes
# per second against the same targets on AGENT_CPU for FLOOR_SECONDS: the least a prober can spend
# here; FL_CPU to "busy% softirq%" of AGENT_CPU meanwhile.
floor() {
  local pids=() outs=() k n ports i=0 cl0 cl1
  cl0=$(cpu_line "$AGENT_CPU")
  for k in http tcp; do
    n=$1; ports=$HTTP_PORTS
    [[ $k == tcp ]] && n=$2 && ports=$TCP_PORTS
    ((n)) || continue
    if [[ $RUN_ENGINE == uring ]]; then
      timeout $((FLOOR_SECONDS + 30)) taskset -c "$AGENT_CPU" "$BIN/health_floor_uring" -kind "$k" \
        -targets "$ports" -addr "$TARGET_ADDR" -rate $((n / INTERVAL)) -seconds "$FLOOR_SECONDS" \
        -close "$RUN_CLOSE" -tick-ms "$TICK_MS" >"$T/floor.$k" 2>&1 &
    else
      timeout $((FLOOR_SECONDS + 30)) taskset -c "$AGENT_CPU" "$BIN/health_floor" -kind "$k" -targets "$ports" \
        -addr "$TARGET_ADDR" -rate $((n / INTERVAL)) -seconds "$FLOOR_SECONDS" -close "$RUN_CLOSE" \
        >"$T/floor.$k" 2>&1 &
    fi
    pids+=($!); outs+=("$T/floor.$k")
  done
  for i in "${pids[@]}"; do wait "$i" || { cat "${outs[@]}" >&2; exit 1; }; done
  cl1=$(cpu_line "$AGENT_CPU")
  sed 's/^/#     floor: /' "${outs[@]}" >&2
  FL=$(cat "${outs[@]}" | sed -n 's/.*cpu_pct=\([0-9.]*\).*/\1/p' | awk '{s+=$1} END{printf "%.2f", s}')
  FL_CPU=$(cpu_delta "$cl0" "$cl1")
}

run_one() { # $1 label, $2 set (http|tcp|both); sets LINE
  local set=$2 n_http=0 n_tcp=0
  [[ $set == http || $set == both ]] && n_http=$CHECKS
  [[ $set == tcp || $set == both ]] && n_tcp=$CHECKS
  quiet_wait
  start_targets
  start_agent "$1"
  local reg="" t0=$SECONDS
  ((n_http)) && reg+="http: $(register http "$n_http") "
  ((n_tcp)) && reg+="tcp: $(register tcp "$n_tcp") "
  echo "#   run $1: registered $reg" >&2
  sleep $((INTERVAL + WARMUP_EXTRA))
  local a b deadline=$((SECONDS + 60))
  a=$(applied)
  while ((SECONDS < deadline)); do
    sleep 3; b=$(applied)
    [[ "$a" == "$b" ]] && break
    a=$b
  done
  local warm=$((SECONDS - t0))
  # --- steady state ---
  local m0 m1 c0 c1 tg0 tg1 s0 s1 th0 th1 k0 k1
  http "http://127.0.0.1:$PORT/v1/agent/metrics" >"$T/m0"
  http "http://$TARGET_ADDR:$CONTROL/mark" >/dev/null
  local cl0 cl1 r0 r1
  c0=$(ticks "$CAIRN_PID"); tg0=$(ticks "$TARGETS_REAL"); m0=$(machine); s0=$(date +%s.%N); k0=$(sys_ticks "$CAIRN_PID")
  th0=$(thread_ticks); cl0=$(cpu_line "$AGENT_CPU"); r0=$(rps_received)
  sleep "$DURATION"
  c1=$(ticks "$CAIRN_PID"); tg1=$(ticks "$TARGETS_REAL"); m1=$(machine); s1=$(date +%s.%N); k1=$(sys_ticks "$CAIRN_PID")
  th1=$(thread_ticks); cl1=$(cpu_line "$AGENT_CPU"); r1=$(rps_received)
  local win
  win=$(http "http://$TARGET_ADDR:$CONTROL/window")
  http "http://127.0.0.1:$PORT/v1/agent/metrics" >"$T/m1"
  local secs agent_pct targets_pct other_pct probes expected rate writes skipped critical
  secs=$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.3f", b-a}')
  agent_pct=$(awk -v d=$((c1 - c0)) -v s="$secs" -v hz="$HZ" 'BEGIN{printf "%.2f", 100*d/hz/s}')
  local agent_sys
  agent_sys=$(awk -v d=$((k1 - k0)) -v s="$secs" -v hz="$HZ" 'BEGIN{printf "%.2f", 100*d/hz/s}')
  targets_pct=$(awk -v d=$((tg1 - tg0)) -v s="$secs" -v hz="$HZ" 'BEGIN{printf "%.2f", 100*d/hz/s}')
  # other processes, in % of the whole machine: all busy ticks minus the agent's and the targets'
  other_pct=$(awk -v a="$m0" -v b="$m1" -v own=$((c1 - c0 + tg1 - tg0)) \
    'BEGIN{split(a,x," "); split(b,y," "); o=100*((y[1]-x[1])-own)/(y[2]-x[2]); printf "%.1f", (o<0)?0:o}')
  probes=$(($(kv http "$win") + $(kv tcp "$win")))
  rate=$(awk -v p="$probes" -v s="$(kv secs "$win")" 'BEGIN{printf "%.1f", p/s}')
  expected=$(awk -v n=$((n_http + n_tcp)) -v i="$INTERVAL" 'BEGIN{printf "%.1f", n/i}')
  writes=$(awk -v a="$(metric cairn_catalog_applied_index "$T/m0")" -v b="$(metric cairn_catalog_applied_index "$T/m1")" \
    -v s="$secs" 'BEGIN{printf "%.1f", (b-a)*60/s}')
  skipped=$(($(metric cairn_health_probes_skipped_total "$T/m1") - $(metric cairn_health_probes_skipped_total "$T/m0")))
  local uring_per_s
  uring_per_s=$(awk -v a="$(metric cairn_health_probes_io_uring_total "$T/m0")" \
    -v b="$(metric cairn_health_probes_io_uring_total "$T/m1")" -v s="$secs" 'BEGIN{printf "%.1f", (b-a)/s}')
  critical=$(http "http://127.0.0.1:$PORT/v1/health/state/critical" | grep -o '"Status":"critical"' | wc -l || true)
  local mean
  mean=$(awk '$1=="cairn_health_check_lateness_seconds_sum"{s[FILENAME]=$2} $1=="cairn_health_check_lateness_seconds_count"{c[FILENAME]=$2}
    END{dc=c[ARGV[2]]-c[ARGV[1]]; if (dc>0) printf "%.2f", 1000*(s[ARGV[2]]-s[ARGV[1]])/dc; else print "n/a"}' "$T/m0" "$T/m1")
  LINE="checks=$((n_http + n_tcp)) secs=$secs agent_cpu_pct=$agent_pct agent_sys_pct=$agent_sys targets_cpu_pct=$targets_pct"
  LINE+=" probes_per_s=$rate expected_per_s=$expected late_p50_ms=$(quantile "$T/m0" "$T/m1" 0.5)"
  LINE+=" late_p99_ms=$(quantile "$T/m0" "$T/m1" 0.99) late_max_ms=$(quantile "$T/m0" "$T/m1" 1) late_mean_ms=$mean"
  LINE+=" raft_writes_per_min=$writes skipped=$skipped critical_at_end=$critical other_load_pct=$other_pct"
  LINE+=" load1=$(cut -d' ' -f1 /proc/loadavg) warmup_s=$warm rss_mib=$(awk '/^VmRSS:/{printf "%.0f", $2/1024}' /proc/"$CAIRN_PID"/status)"
  LINE+=" gap_p50_ms=$(kv gap_p50_ms "$win") gap_p99_ms=$(kv gap_p99_ms "$win") gap_max_ms=$(kv gap_max_ms "$win")"
  LINE+=" per_check=$(kv check_min "$win")-$(kv check_max "$win") http_port=$(kv http_port_min "$win")-$(kv http_port_max "$win")"
  LINE+=" tcp_port=$(kv tcp_port_min "$win")-$(kv tcp_port_max "$win")"
  local cd
  cd=$(cpu_delta "$cl0" "$cl1")
  local cb cs ci
  read -r cb cs ci <<<"$cd"
  LINE+=" agent_cpu_busy_pct=$cb agent_cpu_softirq_pct=$cs agent_cpu_busy_by_idle_pct=$ci"
  LINE+=" io_uring_probes_per_s=$uring_per_s"
  LINE+=" rps_ipis_to_agent_cpu_per_s=$(awk -v d="$(rps_delta "$r0" "$r1" "$AGENT_CPU")" -v s="$secs" 'BEGIN{printf "%.0f", d/s}')"
  LINE+=" rps_ipis_to_target_cpu_per_s=$(awk -v d="$(rps_delta "$r0" "$r1" "$TARGET_CPU")" -v s="$secs" 'BEGIN{printf "%.0f", d/s}')"
  if [[ $THREADS == 1 ]]; then
    join <(echo "$th0") <(echo "$th1") | awk -v s="$secs" -v hz="$HZ" \
      '{d=$3-$2; if (d>0) printf "#     agent thread %s: %.2f %% of a core\n", $1, 100*d/hz/s}' >&2
  fi
  if [[ -n "$PERF_OUT" ]]; then # after the measured window, so it does not count in it
    perf record -q -F 997 -g -p "$CAIRN_PID" -o "$PERF_OUT.$1" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 ||
      echo "#   perf record failed" >&2
    echo "#   profile of the agent: $PERF_OUT.$1 (perf report -i $PERF_OUT.$1)" >&2
  fi
  stop_pid "$CAIRN_PID"; stop_pid "$AGENT_PID"; CAIRN_PID=""; AGENT_PID=""
  floor "$n_http" "$n_tcp"
  LINE+=" floor_cpu_pct=$FL agent_over_floor=$(awk -v a="$agent_pct" -v f="$FL" 'BEGIN{printf "%.2f", a/f}')"
  local fb fs fi
  read -r fb fs fi <<<"$FL_CPU"
  LINE+=" floor_cpu_busy_pct=$fb floor_cpu_softirq_pct=$fs floor_cpu_busy_by_idle_pct=$fi"
  stop_all
  rm -rf "$T/agent-$1"
}

echo "# health_checks: cairn $("$CAIRN" version 2>/dev/null | head -1); $(nproc) CPUs; agent on CPU $AGENT_CPU," \
  "targets and registration on CPU $TARGET_CPU; mode $MODE; close $CLOSE; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[[ $MODE == netns ]] && netns_up

declare -A CPU SYS FLOOR RATIO ABUSY ASIRQ FBUSY TCPU RATE EXP P50 P99 MAX MEAN WR SKIP CRIT OTHER GAP99 GAPMAX
for r in $(seq "$REPS"); do
  for set0 in $RUNS; do
  for RUN_CLOSE in $CLOSE; do
  for RUN_ENGINE in $ENGINE; do
    set="$set0/$RUN_CLOSE/$RUN_ENGINE"
    if [[ -n "$LOCK" ]]; then exec 9>>"$LOCK"; flock 9; fi
    run_one "$r-$set0-$RUN_CLOSE-$RUN_ENGINE" "$set0"
    if [[ -n "$LOCK" ]]; then flock -u 9; exec 9>&-; fi
    echo "#   run $r $set0 close=$RUN_CLOSE engine=$RUN_ENGINE: $LINE" >&2
    # A run whose probes did not reach the targets measures nothing: say so loudly.
    if awk -v r="$(kv probes_per_s "$LINE")" -v e="$(kv expected_per_s "$LINE")" -v c="$(kv critical_at_end "$LINE")" \
      'BEGIN{exit !(r < 0.95 * e || c > 0)}'; then
      echo "# WARNING: run $r $set0 $RUN_CLOSE $RUN_ENGINE is not valid: $(kv probes_per_s "$LINE") probes/s at the targets" \
        "of $(kv expected_per_s "$LINE") expected, $(kv critical_at_end "$LINE") checks critical" >&2
    fi
    CPU[$set]+="$(kv agent_cpu_pct "$LINE") "; TCPU[$set]+="$(kv targets_cpu_pct "$LINE") "
    SYS[$set]+="$(kv agent_sys_pct "$LINE") "; FLOOR[$set]+="$(kv floor_cpu_pct "$LINE") "
    RATIO[$set]+="$(kv agent_over_floor "$LINE") "
    ABUSY[$set]+="$(kv agent_cpu_busy_by_idle_pct "$LINE") "; ASIRQ[$set]+="$(kv agent_cpu_softirq_pct "$LINE") "
    FBUSY[$set]+="$(kv floor_cpu_busy_by_idle_pct "$LINE") "
    RATE[$set]+="$(kv probes_per_s "$LINE") "; EXP[$set]=$(kv expected_per_s "$LINE")
    P50[$set]+="$(kv late_p50_ms "$LINE") "; P99[$set]+="$(kv late_p99_ms "$LINE") "
    MAX[$set]+="$(kv late_max_ms "$LINE") "; MEAN[$set]+="$(kv late_mean_ms "$LINE") "
    WR[$set]+="$(kv raft_writes_per_min "$LINE") "; SKIP[$set]+="$(kv skipped "$LINE") "
    CRIT[$set]+="$(kv critical_at_end "$LINE") "; OTHER[$set]+="$(kv other_load_pct "$LINE") "
    GAP99[$set]+="$(kv gap_p99_ms "$LINE") "; GAPMAX[$set]+="$(kv gap_max_ms "$LINE") "
  done
  done
  done
done

# shellcheck disable=SC2086
{
  where="127.0.0.1 (loopback)"
  [[ $MODE == netns ]] && where="$TARGET_ADDR (own network namespace over veth, RPS: receive work on each side's CPU)"
  echo "$CHECKS checks per kind at a ${INTERVAL} s interval against $PORTS HTTP + $PORTS TCP ports on $where,"
  echo "${DURATION} s of steady state after warm-up; agent on CPU $AGENT_CPU, targets on CPU $TARGET_CPU; median (min-max) of $REPS runs"
  echo "(lateness: upper bound of the histogram bucket; gap: |time between two probes of one HTTP check - ${INTERVAL} s| at the target)"
  echo
  echo "| checks, close, engine | agent CPU % of a core | of which kernel % | floor CPU % | agent / floor | CPU $AGENT_CPU busy %, idle clock (agent run) | CPU $AGENT_CPU softirq %, ticks (agent run) | CPU $AGENT_CPU busy %, idle clock (floor run) | probes/s (expected) | lateness p50 ms | p99 ms | max ms | mean ms | gap p99 ms | gap max ms | Raft writes/min | skipped | critical | targets CPU % | other load % |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for set0 in $RUNS; do
  for c in $CLOSE; do
  for e in $ENGINE; do
    set="$set0/$c/$e"
    label="$CHECKS $set0"; [[ $set0 == both ]] && label="$CHECKS http + $CHECKS tcp"
    label+=", $c, $e"
    echo "| $label | $(stats ${CPU[$set]}) | $(stats ${SYS[$set]}) | $(stats ${FLOOR[$set]}) | $(stats ${RATIO[$set]}) | $(stats ${ABUSY[$set]}) | $(stats ${ASIRQ[$set]}) | $(stats ${FBUSY[$set]}) | $(stats ${RATE[$set]}) (${EXP[$set]}) | $(stats ${P50[$set]}) | $(stats ${P99[$set]}) | $(stats ${MAX[$set]}) | $(stats ${MEAN[$set]}) | $(stats ${GAP99[$set]}) | $(stats ${GAPMAX[$set]}) | $(stats ${WR[$set]}) | $(stats ${SKIP[$set]}) | $(stats ${CRIT[$set]}) | $(stats ${TCPU[$set]}) | $(stats ${OTHER[$set]}) |"
  done
  done
  done
}
