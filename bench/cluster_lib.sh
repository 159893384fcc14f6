# Shared by bench/raft_write.sh and bench/recovery.sh (sourced, not run).
# Starts 3-server Cairn clusters and 3-member etcd clusters on loopback, runs wrk, and
# summarises. Expects the caller to set: T (a mktemp dir), CAIRN (the binary).
# Every process started is recorded in PIDS (or returned) and stopped by PID.

PIDS=()

stop_pid() { # TERM, wait up to 10 s, then KILL
  local p=$1
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  PIDS=()
}

stats() { # median (min-max)
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s (%s-%s)", m, a[1], a[NR]}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
cpu_ns() { # CPU time of all threads of the given PIDs, from the scheduler
  local p s=0 v
  for p in "$@"; do
    v=$(cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{printf "%.0f", s}')
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN{printf "%.3f", b-a}'; }
loadavg1() { cut -d' ' -f1 /proc/loadavg; }

quiet_wait() { # wait (at most QUIET_WAIT s) until the machine was < 5 % busy over 3 s; other builds share it
  local deadline=$((SECONDS + ${QUIET_WAIT:-300})) a b
  while ((SECONDS < deadline)); do
    a=$(awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat); sleep 3
    b=$(awk '$1=="cpu"{t=0; for(i=2;i<=9;i++) t+=$i; print t-$5-$6, t}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); exit !(100*(y[1]-x[1]) < 5*(y[2]-x[2]))}' && return 0
  done
  echo "#   (machine still busy after QUIET_WAIT=${QUIET_WAIT:-300}s; measuring anyway, load $(loadavg1))" >&2
}

# ---- Cairn ------------------------------------------------------------------------------------------
# Server i (1..3) gets a fixed node ID, so a wiped data dir restarts with the same Raft identity.
CAIRN_PID=(); CAIRN_HTTP=(); CAIRN_RAFT=(); CAIRN_DIR=()
cairn_node_id() { printf '00000000-0000-4000-8000-%012d' "$1"; }

# cairn_start I DATA_DIR SERVER_PORT [JOIN...]: starts server I and waits for its listening line.
cairn_start() {
  local i=$1 d=$2 sport=$3; shift 3
  local joins=() j
  for j in "$@"; do joins+=(-retry-join "$j"); done
  mkdir -p "$d"
  local cfg=${CAIRN_CONFIG:-}
  [[ -n "$cfg" ]] || cfg='{}'
  echo "$cfg" >"$T/cairn-$i.json"
  : >"$T/cairn-$i.out"
  "$CAIRN" agent -server -data-dir "$d" -node "s$i" -node-id "$(cairn_node_id "$i")" -bind 127.0.0.1 \
    -client 127.0.0.1 -http-port 0 -dns-port -1 -server-port "$sport" -bootstrap-expect 3 \
    -log-level "${CAIRN_LOG_LEVEL:-info}" -config-file "$T/cairn-$i.json" "${joins[@]}" \
    >"$T/cairn-$i.out" 2>>"$T/cairn-$i.log" &
  CAIRN_PID[$i]=$!; PIDS+=($!); CAIRN_DIR[$i]=$d
  local line=""
  for _ in $(seq 300); do
    line=$(grep -m1 '^cairn: listening' "$T/cairn-$i.out" || true)
    [[ -n "$line" ]] && break
    kill -0 "${CAIRN_PID[$i]}" 2>/dev/null || { echo "cairn s$i died:" >&2; tail -20 "$T/cairn-$i.log" >&2; exit 1; }
    sleep 0.02
  done
  [[ -n "$line" ]] || { echo "cairn s$i printed no listening line" >&2; exit 1; }
  CAIRN_HTTP[$i]=$(sed -n 's/.*http=\([0-9.]*:[0-9]*\).*/\1/p' <<<"$line")
  CAIRN_RAFT[$i]=$(sed -n 's/.*server=\([0-9.]*:[0-9]*\).*/\1/p' <<<"$line")
}

cairn_stop() { # I [SIGNAL]: TERM (a clean shutdown, default) or KILL (a crash)
  local i=$1 p=${CAIRN_PID[$1]}
  if [[ "${2:-TERM}" == KILL ]]; then kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  stop_pid "$p"
  local q=() x
  for x in "${PIDS[@]}"; do [[ "$x" != "$p" ]] && q+=("$x"); done
  PIDS=("${q[@]}")
  CAIRN_PID[$i]=""
}

cairn_leader_raft() { curl -s -m 2 "http://$1/v1/status/leader" 2>/dev/null | tr -d '"'; }

# cairn_cluster DIR: fresh 3-server cluster with data dirs DIR/sI; waits until all three agree on a
# leader and every server's node is registered. Sets CAIRN_LEADER / CAIRN_FOLLOWER (indexes 1..3).
cairn_cluster() {
  local root=$1 i
  rm -rf "$root"; mkdir -p "$root"
  rm -f "$T"/cairn-*.log # logs of an earlier cluster (restarts append to them)
  cairn_start 1 "$root/s1" 0
  cairn_start 2 "$root/s2" 0 "${CAIRN_RAFT[1]}"
  cairn_start 3 "$root/s3" 0 "${CAIRN_RAFT[1]}" "${CAIRN_RAFT[2]}"
  cairn_wait_ready 1 2 3 || { echo "cairn cluster did not become ready" >&2; tail -5 "$T"/cairn-*.log >&2; exit 1; }
}

# cairn_wait_ready I...: until the given servers name the same leader, that leader is one of ours, and
# its catalog lists 3 nodes (every server has registered itself). Sets CAIRN_LEADER, CAIRN_FOLLOWER.
cairn_wait_ready() {
  local deadline=$((SECONDS + 30)) i l lead n
  while ((SECONDS < deadline)); do
    lead=""
    for i in "$@"; do
      l=$(cairn_leader_raft "${CAIRN_HTTP[$i]}")
      [[ -n "$l" ]] || { lead=""; break; }
      [[ -z "$lead" || "$lead" == "$l" ]] || { lead=""; break; }
      lead=$l
    done
    if [[ -n "$lead" ]]; then
      CAIRN_LEADER=""; CAIRN_FOLLOWER=""
      for i in 1 2 3; do
        if [[ "${CAIRN_RAFT[$i]}" == "$lead" ]]; then CAIRN_LEADER=$i; elif [[ -z "$CAIRN_FOLLOWER" ]]; then CAIRN_FOLLOWER=$i; fi
      done
      if [[ -n "$CAIRN_LEADER" ]]; then
        n=$(curl -s -m 2 "http://${CAIRN_HTTP[$CAIRN_LEADER]}/v1/catalog/nodes" | grep -o '"Node":' | wc -l)
        ((n >= 3)) && return 0
      fi
    fi
    sleep 0.1
  done
  return 1
}

rss_kib() { awk '/^VmRSS:/{print $2}' /proc/"$1"/status 2>/dev/null; }
hwm_kib() { awk '/^VmHWM:/{print $2}' /proc/"$1"/status 2>/dev/null; }
mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }

# ---- etcd (as ../shared/anchors/anchor_etcd_write.sh) -----------------------------------------------
ETCD_BASE=${ETCD_BASE:-23790} # client ports BASE+1..3, peer ports BASE+11..13
ETCD_PIDS=(); ETCD_ENDPOINTS=""; ETCD_LEADER=""
etcd_cluster() { # DIR: fresh 3-member cluster; sets ETCD_LEADER (client URL)
  local root=$1 i ic="" d token="bench-$$-$RANDOM"
  for i in 1 2 3; do ic+="${ic:+,}m$i=http://127.0.0.1:$((ETCD_BASE + 10 + i))"; done
  rm -rf "$root"; mkdir -p "$root"
  ETCD_ENDPOINTS=""; ETCD_PIDS=()
  for i in 1 2 3; do
    d="$root/m$i"
    etcd --name "m$i" --data-dir "$d" \
      --listen-client-urls "http://127.0.0.1:$((ETCD_BASE + i))" --advertise-client-urls "http://127.0.0.1:$((ETCD_BASE + i))" \
      --listen-peer-urls "http://127.0.0.1:$((ETCD_BASE + 10 + i))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_BASE + 10 + i))" \
      --initial-cluster "$ic" --initial-cluster-state new --initial-cluster-token "$token" \
      --logger zap --log-level error >"$T/etcd-m$i.log" 2>&1 &
    PIDS+=($!); ETCD_PIDS+=($!)
    ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}http://127.0.0.1:$((ETCD_BASE + i))"
  done
  for _ in $(seq 150); do
    ETCDCTL_API=3 etcdctl --endpoints="$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1 && break
    sleep 0.2
  done
  ETCD_LEADER=$(ETCDCTL_API=3 etcdctl --endpoints="$ETCD_ENDPOINTS" endpoint status -w simple 2>/dev/null | awk -F', ' '$5=="true"{print $1}')
  [[ -n "$ETCD_LEADER" ]] || { echo "etcd: no leader" >&2; tail -5 "$T"/etcd-m*.log >&2; exit 1; }
}

# ---- wrk --------------------------------------------------------------------------------------------
to_ms() { # wrk value like 812.00us / 1.23ms / 1.02s -> ms
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /m$/) {sub(/m$/,"",v); print v*60000} else {sub(/s$/,"",v); print v*1000} }'
}
# run_wrk CONNS URL LUA: sets W_RPS W_P50 W_P90 W_P99 W_ERR W_NON2XX W_SRV_CPU (% of one core, the
# given server PIDs in WRK_SERVER_PIDS) W_LOAD (1-min load average before the run)
run_wrk() {
  local c=$1 url=$2 lua=$3 th=${WRK_THREADS:-2} c0 c1 t0
  ((th > c)) && th=$c # wrk needs connections >= threads
  W_LOAD=$(loadavg1)
  c0=$(cpu_ns "${WRK_SERVER_PIDS[@]}"); t0=$(now_s)
  wrk -t "$th" -c "$c" -d "${DURATION:-10}s" --latency -s "$lua" "$url" >"$T/wrk.txt" 2>&1 || true
  c1=$(cpu_ns "${WRK_SERVER_PIDS[@]}")
  W_SRV_CPU=$(awk -v d=$((c1 - c0)) -v w="$(elapsed "$t0")" 'BEGIN{printf "%.0f", 100*d/1e9/w}')
  W_RPS=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$T/wrk.txt")
  W_P50=$(to_ms "$(awk '$1=="50%"{print $2}' "$T/wrk.txt")")
  W_P90=$(to_ms "$(awk '$1=="90%"{print $2}' "$T/wrk.txt")")
  W_P99=$(to_ms "$(awk '$1=="99%"{print $2}' "$T/wrk.txt")")
  W_NON2XX=$(awk '/Non-2xx/{e+=$NF} END{print e+0}' "$T/wrk.txt")
  W_ERR=$(awk '/Socket errors/{gsub(/[a-z ,:]+/," "); split($0,a," "); e+=a[1]+a[2]+a[3]+a[4]} END{print e+0}' "$T/wrk.txt")
  [[ -n "$W_RPS" ]] || { echo "wrk failed:" >&2; cat "$T/wrk.txt" >&2; exit 1; }
}
