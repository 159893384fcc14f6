#!/usr/bin/env bash
# HTTP read benchmark: cairn's GET /v1/health/service/web?passing (3 passing instances) beside nginx
# serving the very same response bytes as a static file, in one run, with the same wrk settings.
#
#  cairn : `cairn agent -dev -http-port 0` with http_config.threads = 1 (one HTTP worker thread)
#  nginx : worker_processes 1, access_log off, sendfile + open_file_cache, keep-alive; it serves
#          a file holding the exact body cairn returned (fetched with curl from cairn in this run)
#  load  : wrk -t WRK_THREADS -c CONNS -d DURATION --latency (HTTP/1.1 keep-alive)
#  pinning: every thread of both servers on CPU 1 (`taskset -a -p`), wrk on CPU 0
#  CPU   : on-CPU time of all the server's threads (and child processes: the nginx worker) from the
#          scheduler, /proc/PID/task/*/schedstat, over the wrk run; as ../shared/anchors does.
#
# Usage:  bench/http_read.sh [path/to/cairn]          (default: build/cli/cairn beside this script)
# Env:    REPS=3 DURATION=10 CONNS=32 WRK_THREADS=1 SERVER_CPU=1 LOAD_CPU=0 QUIET_WAIT=300
# Before each wrk run the script waits (at most QUIET_WAIT s) for the machine to be idle; the per-run
# lines show how busy each CPU was (cpuN_busy%), so a run disturbed by other processes can be seen.
# Runs REPS rounds; each round measures cairn then nginx (the order alternates between rounds).
# Per-run lines go to stderr, a markdown table (median (min-max) of REPS runs) to stdout.
# Loopback only; everything started is stopped by PID, also on error or Ctrl-C (trap).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CAIRN=${1:-$HERE/../build/cli/cairn}
REPS=${REPS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
QUIET_WAIT=${QUIET_WAIT:-300} # before each wrk run, wait up to this many seconds for an idle machine
URL_PATH='/v1/health/service/web?passing'

[[ -x "$CAIRN" ]] || { echo "no cairn binary at $CAIRN (build first)" >&2; exit 1; }
for b in wrk nginx curl taskset; do
  command -v "$b" >/dev/null || { echo "missing $b (apt-get install wrk nginx-light curl util-linux)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/bench-http-read.XXXXXX)
CAIRN_PID=""; NGINX_PID=""
stop_pid() {
  local p=$1
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() { trap "" INT TERM; stop_pid "$CAIRN_PID"; stop_pid "$NGINX_PID"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "http_read.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

stats() { # median (min-max)
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s (%s-%s)", m, a[1], a[NR]}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
tree_pids() { local c; echo "$1"; for c in $(pgrep -P "$1" 2>/dev/null || true); do tree_pids "$c"; done; }
cpu_ns() { local p; for p in $(tree_pids "$1"); do cat /proc/"$p"/task/*/schedstat 2>/dev/null || true; done | awk '{s+=$1} END{printf "%.0f", s}'; }
pin_tree() { local p; for p in $(tree_pids "$1"); do taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null; done; }
to_ms() {
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else {sub(/s$/,"",v); print v*1000} }'
}
cpu_busy() { # "cpuN_busy_jiffies cpuN_total_jiffies" from /proc/stat (to spot other load on the machine)
  awk -v c="cpu$1" '$1==c{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat
}
busy_pct() { # $1 "b0 t0", $2 "b1 t1"
  awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); printf "%.0f", (y[2]>x[2])? 100*(y[1]-x[1])/(y[2]-x[2]) : 0}'
}
wait_port() { # $1 port, $2 pid that must stay alive
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "server pid $2 died" >&2; return 1; }
    sleep 0.1
  done
  echo "port $1 not up after 10 s" >&2; return 1
}
free_port() { # a port in 20000-39999 that nothing accepts connections on
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  echo "no free port found" >&2; return 1
}

# ---- cairn: one HTTP worker thread, 3 passing instances of "web" -------------------------------
echo '{"http_config": {"threads": 1}}' >"$T/cairn.json"
"$CAIRN" agent -dev -http-port 0 -data-dir "$T/cairn-data" -config-file "$T/cairn.json" -log-level warn \
  >"$T/cairn.out" 2>"$T/cairn.err" &
CAIRN_PID=$!
CPORT=""
for _ in $(seq 100); do
  CPORT=$(sed -n 's/^cairn: listening http=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/cairn.out" | head -1)
  [[ -n "$CPORT" ]] && break
  kill -0 "$CAIRN_PID" 2>/dev/null || { echo "cairn died:" >&2; cat "$T/cairn.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$CPORT" ]] || { echo "cairn printed no listening line" >&2; exit 1; }
wait_port "$CPORT" "$CAIRN_PID"
for i in 1 2 3; do
  curl -sf -m 5 -X PUT -o /dev/null \
    -d "{\"Name\":\"web\",\"ID\":\"web$i\",\"Port\":808$i,\"Address\":\"10.0.0.$i\",\"Tags\":[\"v1\"]}" \
    "http://127.0.0.1:$CPORT/v1/agent/service/register" || { echo "register web$i failed" >&2; exit 1; }
done
curl -sf -m 5 -D "$T/cairn.headers" -o "$T/body.json" "http://127.0.0.1:$CPORT$URL_PATH"
n=$(grep -o '"Service":{"ID":"web[0-9]"' "$T/body.json" | wc -l)
[[ "$n" == 3 ]] || { echo "expected 3 passing instances of web, got $n" >&2; exit 1; }
BODY_BYTES=$(wc -c <"$T/body.json")

# ---- nginx: the same bytes as a static file ----------------------------------------------------
NPORT=$(free_port)
chmod 755 "$T" # nginx's worker runs as an unprivileged user when started as root
mkdir -p "$T/nginx/tmp" "$T/www/v1/health/service"
cp "$T/body.json" "$T/www/v1/health/service/web"
cat >"$T/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp; fastcgi_temp_path $T/nginx/tmp;
  uwsgi_temp_path $T/nginx/tmp; scgi_temp_path $T/nginx/tmp;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  open_file_cache max=16 inactive=60s; open_file_cache_valid 60s;
  keepalive_requests 10000000; keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$NPORT;
    root $T/www;
    location /v1/ { default_type application/json; }
  }
}
EOF
nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" &
NGINX_PID=$!
wait_port "$NPORT" "$NGINX_PID"
curl -sf -m 5 -D "$T/nginx.headers" -o "$T/nginx-body.json" "http://127.0.0.1:$NPORT$URL_PATH"
cmp -s "$T/body.json" "$T/nginx-body.json" || { echo "nginx does not serve the same bytes" >&2; exit 1; }

sleep 0.5 # the nginx worker is forked after the listener opens
pin_tree "$CAIRN_PID"; pin_tree "$NGINX_PID"

hdr_bytes() { tr -d '\r' <"$1" | awk 'NF' | awk '{s+=length($0)+2} END{print s+2}'; }
echo "# http_read: cairn $("$CAIRN" version 2>/dev/null | head -1), $(nginx -v 2>&1), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)" >&2
echo "# body $BODY_BYTES bytes (identical); response headers cairn $(hdr_bytes "$T/cairn.headers") B, nginx $(hdr_bytes "$T/nginx.headers") B" >&2
echo "# cairn pid $CAIRN_PID port $CPORT threads $(ls /proc/$CAIRN_PID/task | wc -l); nginx pid $NGINX_PID port $NPORT procs $(tree_pids $NGINX_PID | wc -l)" >&2

quiet_wait() { # wait (at most QUIET_WAIT s) until the machine was < 5 % busy over 3 s; other builds share it
  local deadline=$((SECONDS + QUIET_WAIT)) a b
  while ((SECONDS < deadline)); do
    a=$(awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat); sleep 3
    b=$(awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); exit !(100*(y[1]-x[1]) < 5*(y[2]-x[2]))}' && return 0
  done
  echo "#   (machine still busy after QUIET_WAIT=${QUIET_WAIT}s; measuring anyway)" >&2
}
# run wrk once; sets W_RPS W_P50 W_P99 W_ERR W_CPU (server CPU % of one core over the run)
run_wrk() { # $1 port, $2 server pid
  local c0 c1 t0 t1 s0 s1 l0 l1
  quiet_wait
  s0=$(cpu_busy "$SERVER_CPU"); l0=$(cpu_busy "$LOAD_CPU")
  c0=$(cpu_ns "$2"); t0=$(date +%s%N)
  timeout $((DURATION + 30)) taskset -c "$LOAD_CPU" wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --latency \
    "http://127.0.0.1:$1$URL_PATH" >"$T/wrk.txt" 2>&1 || true
  t1=$(date +%s%N); c1=$(cpu_ns "$2")
  s1=$(cpu_busy "$SERVER_CPU"); l1=$(cpu_busy "$LOAD_CPU")
  W_BUSY="cpu${SERVER_CPU}_busy%=$(busy_pct "$s0" "$s1") cpu${LOAD_CPU}_busy%=$(busy_pct "$l0" "$l1")"
  W_RPS=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$T/wrk.txt")
  [[ -n "$W_RPS" ]] || { echo "wrk failed:" >&2; cat "$T/wrk.txt" >&2; exit 1; }
  W_P50=$(to_ms "$(awk '$1=="50%"{print $2}' "$T/wrk.txt")")
  W_P99=$(to_ms "$(awk '$1=="99%"{print $2}' "$T/wrk.txt")")
  W_ERR=$(awk '/Non-2xx/{e+=$NF} /Socket errors/{gsub(/[a-z ,:]+/," "); split($0,a," "); e+=a[1]+a[2]+a[3]+a[4]} END{print e+0}' "$T/wrk.txt")
  W_CPU=$(awk -v d=$((c1 - c0)) -v w=$((t1 - t0)) 'BEGIN{printf "%.1f", 100*d/w}')
}

declare -A RPS P50 P99 ERR CPU PER_CORE
for r in $(seq "$REPS"); do
  order="cairn nginx"; ((r % 2 == 0)) && order="nginx cairn"
  for s in $order; do
    if [[ $s == cairn ]]; then run_wrk "$CPORT" "$CAIRN_PID"; else run_wrk "$NPORT" "$NGINX_PID"; fi
    pc=$(awk -v r="$W_RPS" -v c="$W_CPU" 'BEGIN{printf "%.0f", (c>0)? r*100/c : 0}')
    echo "#   run $r: $s rps=$W_RPS p50_ms=$W_P50 p99_ms=$W_P99 errors=$W_ERR server_cpu%=$W_CPU rps_per_core=$pc $W_BUSY" >&2
    RPS[$s]+="$W_RPS "; P50[$s]+="$W_P50 "; P99[$s]+="$W_P99 "; ERR[$s]+="$W_ERR "; CPU[$s]+="$W_CPU "
    PER_CORE[$s]+="$pc "
    if [[ $s == cairn ]]; then c_rps=$W_RPS; c_pc=$pc; else n_rps=$W_RPS; n_pc=$pc; fi
  done
  RATIO_RPS+="$(awk -v a="$c_rps" -v b="$n_rps" 'BEGIN{printf "%.2f", a/b}') "
  RATIO_PC+="$(awk -v a="$c_pc" -v b="$n_pc" 'BEGIN{printf "%.2f", (b>0)? a/b : 0}') "
done

# shellcheck disable=SC2086
{
  echo "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency, server on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU; median (min-max) of $REPS runs; body $BODY_BYTES B"
  echo
  echo "| server | req/s | p50 ms | p99 ms | errors | server CPU % | req/s per server-core |"
  echo "|---|---|---|---|---|---|---|"
  for s in cairn nginx; do
    label=$s; [[ $s == cairn ]] && label="cairn (1 HTTP thread)"; [[ $s == nginx ]] && label="nginx $(nginx -v 2>&1 | sed 's|.*/||') (1 worker, static file)"
    echo "| $label | $(stats ${RPS[$s]}) | $(stats ${P50[$s]}) | $(stats ${P99[$s]}) | $(stats ${ERR[$s]}) | $(stats ${CPU[$s]}) | $(stats ${PER_CORE[$s]}) |"
  done
  echo
  echo "| ratio cairn/nginx (per round, then median) | value |"
  echo "|---|---|"
  echo "| req/s | $(stats $RATIO_RPS) |"
  echo "| req/s per server-core | $(stats $RATIO_PC) |"
}
