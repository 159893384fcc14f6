#!/usr/bin/env bash
# DNS: Cairn vs Knot DNS, side by side in one run, the anchor's method
# (/work/shared/anchors/anchor_dns.sh): the same 1,000 services x 3 instances
# (Knot: a static zone; Cairn: registered through the HTTP API), the same
# 100,000-query file (50% SRV / 50% A, uniform, seed 42), one worker thread
# each pinned to CPU 1, dnsperf on CPU 0, server CPU from schedstat.
#
# Usage:  bench/dns.sh            (env: REPS=3 DURATION=10 CLIENTS=16 OUTSTANDING=256 QTIMEOUT=1
#                                       LAT_QPS=50000 CAIRN=build/cli/cairn)
# Prints per run lines on stderr and one summary line per configuration on
# stdout: qps | avg_ms | max_ms | lost | server_cpu% | qps_per_server_core,
# then a p99 at a fixed offered load (LAT_QPS, dnsperf -v), and the ratios.
# Configurations: knot, cairn (idle catalog), cairn+writes (100 catalog
# writes/s during the run). Cairn orders every answer per query (weighted
# random), no cached packet.
# Only loopback traffic; everything started is stopped by PID (trap).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-16}
OUTSTANDING=${OUTSTANDING:-256}
QTIMEOUT=${QTIMEOUT:-1}
LAT_QPS=${LAT_QPS:-50000}
CAIRN=${CAIRN:-build/cli/cairn}
NSVC=1000
for b in dnsperf knotd dig taskset; do
  command -v "$b" >/dev/null || { echo "missing $b: run scripts/deps --bench" >&2; exit 1; }
done
[[ -x "$CAIRN" ]] || { echo "build Cairn first ($CAIRN)" >&2; exit 1; }

T=$(mktemp -d /tmp/bench-dns.XXXXXX)
SERVER_PID=""
WRITER_PID=""
PORT=""
stop_pid() { # $1 pid
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() { stop_pid "$WRITER_PID"; stop_pid "$SERVER_PID"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- data: the anchor's zone, and the same catalog for Cairn -----------------------------------
mkdir -p "$T/zones"
awk -v n=$NSVC 'BEGIN{
  z="service.consul."; print "$ORIGIN " z; print "$TTL 30";
  print "@ SOA ns.service.consul. hostmaster.service.consul. 1 3600 600 86400 30";
  print "@ NS ns.service.consul."; print "ns A 127.0.0.1";
  for (s=0; s<n; s++) {
    name=sprintf("svc-%04d", s);
    for (i=0; i<3; i++) { k=3*s+i;
      printf "_%s._tcp SRV 1 %d %d node-%d.node.consul.\n", name, i+1, 8000+i, k; }
    for (i=0; i<3; i++) { k=3*s+i;
      printf "%s A 10.0.%d.%d\n", name, int(k/250), k%250+1; }
  }
}' >"$T/zones/service.consul.zone"
awk -v n=$NSVC 'BEGIN{
  print "$ORIGIN node.consul."; print "$TTL 30";
  print "@ SOA ns.node.consul. hostmaster.node.consul. 1 3600 600 86400 30";
  print "@ NS ns.node.consul."; print "ns A 127.0.0.1";
  for (k=0; k<3*n; k++) printf "node-%d A 10.0.%d.%d\n", k, int(k/250), k%250+1;
}' >"$T/zones/node.consul.zone"
awk -v n=$NSVC 'BEGIN{ srand(42);
  for (q=0; q<100000; q++) { s=int(rand()*n);
    if (rand()<0.5) printf "_svc-%04d._tcp.service.consul. SRV\n", s;
    else            printf "svc-%04d.service.consul. A\n", s; } }' >"$T/queries.txt"

# Registers the catalog (and, with "writes", keeps re-registering one instance
# per 10 ms, alternating its port, so each write changes a service).
cat >"$T/catalog.py" <<'EOF'
import http.client, json, signal, sys, time
port, mode, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
n = 0
def done(*_):
    print(n, file=sys.stderr)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def reg(s, i, p):
    k = 3 * s + i
    body = {"Node": "node-%d" % k, "Address": "10.0.%d.%d" % (k // 250, k % 250 + 1),
            "Service": {"Service": "svc-%04d" % s, "ID": "svc-%04d-%d" % (s, i), "Port": p,
                        "Weights": {"Passing": i + 1, "Warning": 1}}}
    c.request("PUT", "/v1/catalog/register", json.dumps(body))
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
if mode == "load":
    for s in range(1000):
        for i in range(3):
            reg(s, i, 8000 + i)
else:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = n % 1000
        reg(s, n % 3, 8000 + n % 3 + (1 if (n // 3000) % 2 == 0 else 0))
        n += 1
        time.sleep(max(0.0, (n * 0.01) - (time.monotonic() - (end - seconds))))
    done()
EOF

start_knot() {
  local d="$T/knot"; rm -rf "$d"; mkdir -p "$d/run" "$d/db"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d/run"
    listen: 127.0.0.1@$PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$d/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$T/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: service.consul
    file: service.consul.zone
  - domain: node.consul
    file: node.consul.zone
EOF
  taskset -c 1 knotd -c "$d/knot.conf" >"$d/log" 2>&1 &
  SERVER_PID=$!
}
start_cairn() {
  local d="$T/cairn"; rm -rf "$d"; mkdir -p "$d"
  CAIRN_DNS_WORKERS=1 taskset -c 1 "$CAIRN" agent -dev -http-port 0 -dns-port 0 \
    -data-dir "$d/data" -log-level warn >"$d/out" 2>"$d/err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q "dns=" "$d/out" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$d/err" >&2; exit 1; }
    sleep 0.1
  done
  PORT=$(sed -n 's/.* dns=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/out")
  HTTP_PORT=$(sed -n 's/.*http=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/out")
  taskset -c 0 python3 "$T/catalog.py" "$HTTP_PORT" load 0
}
wait_ready() {
  for _ in $(seq 100); do
    if dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short svc-0999.service.consul A 2>/dev/null | grep -q '^10\.'; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server died" >&2; return 1; }
    sleep 0.2
  done
  echo "server not ready" >&2; return 1
}
server_cpu_ns() { cat /proc/"$SERVER_PID"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{printf "%.0f", s}'; }
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s (%s-%s)", m, a[1], a[NR]}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

declare -A QPC P99
echo "# bench/dns: $(knotd -V | head -1); cairn $("$CAIRN" version 2>/dev/null | head -1); dnsperf $(dpkg-query -W -f='${Version}' dnsperf)" >&2
for cfg in knot cairn cairn+writes; do
  qps=(); avg=(); mx=(); lost=(); scpu=(); qpcs=(); p99s=()
  for r in $(seq "$REPS"); do
    if [[ $cfg == knot ]]; then start_knot; else start_cairn; fi
    wait_ready
    for t in /proc/"$SERVER_PID"/task/*; do taskset -p -c 1 "${t##*/}" >/dev/null; done
    if [[ $r == 1 ]]; then
      echo "#   $cfg: SRV answer: $(dig @127.0.0.1 -p "$PORT" +norec _svc-0001._tcp.service.consul SRV | grep -E 'ANSWER:|MSG SIZE' | tr -s ' \n' ' ')" >&2
    fi
    if [[ $cfg == cairn+writes ]]; then
      taskset -c 0 python3 "$T/catalog.py" "$HTTP_PORT" writes "$((DURATION + 8))" 2>"$T/writes.txt" &
      WRITER_PID=$!
      sleep 1
    fi
    t0=$(server_cpu_ns)
    TIMEFORMAT='%U %S %R'
    { time taskset -c 0 dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/queries.txt" -c "$CLIENTS" -T 1 \
        -q "$OUTSTANDING" -t "$QTIMEOUT" -l "$DURATION" >"$T/out.txt" 2>&1 ; } 2>"$T/time.txt"
    t1=$(server_cpu_ns)
    # p99 at a fixed offered load, from every query's latency (dnsperf -v).
    taskset -c 0 dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/queries.txt" -c "$CLIENTS" -T 1 \
      -q "$OUTSTANDING" -t "$QTIMEOUT" -l 3 -Q "$LAT_QPS" -v 2>/dev/null |
      awk '/^> /{print $NF}' | sort -g >"$T/lat.txt"
    p99=$(awk '{a[NR]=$1} END{ if (NR) printf "%.3f", a[int(NR*0.99)]*1000; else print "nan"}' "$T/lat.txt")
    stop_pid "$WRITER_PID"; WRITER_PID=""
    stop_pid "$SERVER_PID"; SERVER_PID=""
    q=$(awk '/Queries per second:/{print $4}' "$T/out.txt")
    [[ -n "$q" ]] || { echo "dnsperf produced no result:" >&2; cat "$T/out.txt" >&2; exit 1; }
    a=$(awk '/Average Latency/{print $4*1000}' "$T/out.txt")
    m=$(awk '/Average Latency/{gsub(/[(),]/,""); print $8*1000}' "$T/out.txt")
    l=$(awk '/Queries lost:/{print $3}' "$T/out.txt")
    read -r _ _ w <"$T/time.txt"
    sc=$(awk -v d=$((t1 - t0)) -v w="$w" 'BEGIN{printf "%.0f", 100*d/1e9/w}')
    qpc=$(awk -v q="$q" -v c="$sc" 'BEGIN{ if (c>0) printf "%.0f", q*100/c; else print "nan"}')
    q=$(printf '%.0f' "$q")
    extra=""; [[ $cfg == cairn+writes ]] && extra=" catalog_writes=$(cat "$T/writes.txt") (over $((DURATION + 3)) s)"
    echo "#   run $r: $cfg qps=$q avg_ms=$a max_ms=$m lost=$l server_cpu%=$sc qps_per_server_core=$qpc p99_ms@${LAT_QPS}qps=$p99$extra" >&2
    qps+=("$q"); avg+=("$a"); mx+=("$m"); lost+=("$l"); scpu+=("$sc"); qpcs+=("$qpc"); p99s+=("$p99")
  done
  echo "dns $cfg threads=1 cpus=1: qps $(stats "${qps[@]}") | avg_ms $(stats "${avg[@]}") | max_ms $(stats "${mx[@]}") | lost $(stats "${lost[@]}") | server_cpu% $(stats "${scpu[@]}") | qps_per_server_core $(stats "${qpcs[@]}") | p99_ms@${LAT_QPS}qps $(stats "${p99s[@]}")"
  QPC[$cfg]=$(median "${qpcs[@]}"); P99[$cfg]=$(median "${p99s[@]}")
done
for cfg in cairn cairn+writes; do
  awk -v a="${QPC[$cfg]}" -v b="${QPC[knot]}" -v p="${P99[$cfg]}" -v k="${P99[knot]}" -v c="$cfg" \
    'BEGIN{printf "ratio %s/knot: qps_per_server_core %.2fx | p99 %.2fx (lower is better)\n", c, a/b, p/k}'
done
