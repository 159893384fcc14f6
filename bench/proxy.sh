#!/usr/bin/env bash
# Throughput and added latency of a Cairn proxy pair with mutual TLS between
# the two proxies, beside an HAProxy pair doing the same (plain in, TLS 1.3
# with client-certificate verification between, plain out), and a direct
# baseline, all in one run against one nginx backend (100-byte body).
#   wrk -> [proxy A] -> TLS -> [proxy B] -> nginx
# Both proxies of a pair run one thread each (Cairn's proxy is one io thread;
# HAProxy nbthread 1). Two loads per pair:
#  - keep-alive: HTTP/1.1 keep-alive, one handshake per wrk connection, so it
#    measures the relay and record layer;
#  - handshakes: "Connection: close", so every request is a new connection
#    into proxy A and a new TLS 1.3 connection between A and B; requests/s =
#    handshakes/s. Both resume sessions as they do by default (HAProxy reuses
#    the last session per server, Cairn keeps the last ticket per peer);
#  - full-handshakes: the same against a second A of each kind that does not
#    resume (HAProxy no-ssl-reuse, Cairn -tls-resumption=false): every
#    connection does the full handshake with certificates both ways.
# For each, the CPU time the pair's two processes used (utime+stime from
# /proc) gives the rate per core of CPU spent by the pair.
# With PIN=1 (the default on 2+ cores) the pair under test (both proxies) runs
# on CPU 0 and everything else (nginx, wrk, the agent) on CPU 1, so each
# pair's rate is what its two processes do with one core between them.
# Usage: bench/proxy.sh   Env: CAIRN_BIN DURATION=10 CONNS=50 WRK_THREADS=2 REPS=1 PIN=1
# Run under `flock /work/build.lock` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
CAIRN=${CAIRN_BIN:-build/cli/cairn}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
WRK_THREADS=${WRK_THREADS:-2}
REPS=${REPS:-1}
PIN=${PIN:-$([[ $(nproc) -ge 2 ]] && echo 1 || echo 0)}
on_pair=(); on_load=()
[[ $PIN == 1 ]] && { on_pair=(taskset -c 0); on_load=(taskset -c 1); }
for p in haproxy nginx wrk openssl curl; do
  command -v "$p" >/dev/null || { echo "bench/proxy.sh needs $p (apt-get install $p)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/cairn-bench-proxy.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; for f in "$T"/*.err "$T"/*.log "$T"/nginx/error.log; do echo "== $f"; tail -n 5 "$f"; done >&2 2>/dev/null || true; return 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- PKI: one CA, a leaf per side with a SPIFFE URI SAN ---------------------
TD="spiffe://bench.cairn/ns/default/dc/dc1/svc"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
leaf() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:%s/%s\n' "$TD" "$1" >"$T/$1.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null
  openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 1 -extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
  cat "$T/$1.crt" "$T/$1.key" >"$T/$1.pem"
}
leaf web; leaf api

# ---- backend ----------------------------------------------------------------
NG=$(free_port)
BODY=$(head -c 100 /dev/zero | tr '\0' 'x')
mkdir -p "$T/nginx/tmp"
cat >"$T/nginx/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $T/nginx/nginx.pid; error_log $T/nginx/error.log error;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 120s;
  client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp; fastcgi_temp_path $T/nginx/tmp;
  uwsgi_temp_path $T/nginx/tmp; scgi_temp_path $T/nginx/tmp;
  server { listen 127.0.0.1:$NG; location / { default_type text/plain; return 200 "$BODY"; } }
}
NGX
"${on_load[@]}" nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" & PIDS+=($!)
wait_port "$NG"

# ---- Cairn pair ---------------------------------------------------------------
"${on_load[@]}" "$CAIRN" agent -dev -http-port 0 -dns-port 0 -data-dir "$T/agent" >"$T/agent.out" 2>"$T/agent.err" & PIDS+=($!)
for _ in $(seq 100); do grep -q "listening http=" "$T/agent.out" && break; sleep 0.1; done
HTTP=$(sed -n 's/.*listening http=\([0-9.:]*\).*/\1/p' "$T/agent.out")
CB=$(free_port); CA_=$(free_port)
tls() { echo -tls-cert "$T/$1.crt" -tls-key "$T/$1.key" -tls-ca "$T/ca.pem" -tls-peer-id "$TD/$2"; }
"${on_pair[@]}" "$CAIRN" proxy -service api -http-addr "$HTTP" -listen "127.0.0.1:$CB" -local-app "127.0.0.1:$NG" \
  $(tls api web) -log-level warn >/dev/null 2>"$T/proxy-b.err" & PIDS+=($!); CAIRN_B=$!
curl -sf -X PUT "http://$HTTP/v1/agent/service/register" \
  -d "{\"Name\":\"api\",\"ID\":\"api-proxy\",\"Address\":\"127.0.0.1\",\"Port\":$CB}" >/dev/null
"${on_pair[@]}" "$CAIRN" proxy -service web -http-addr "$HTTP" -upstream "api:$CA_" $(tls web api) -log-level warn \
  >/dev/null 2>"$T/proxy-a.err" & PIDS+=($!); CAIRN_A=$!
# The same A without session resumption: a full handshake per connection.
CA2=$(free_port)
"${on_pair[@]}" "$CAIRN" proxy -service web -http-addr "$HTTP" -upstream "api:$CA2" $(tls web api) -log-level warn \
  -tls-resumption=false >/dev/null 2>"$T/proxy-a2.err" & PIDS+=($!); CAIRN_A2=$!
wait_port "$CB"; wait_port "$CA_"; wait_port "$CA2"
for port in "$CA_" "$CA2"; do
  for _ in $(seq 100); do [[ $(curl -s "http://127.0.0.1:$port/" | wc -c) == 100 ]] && break; sleep 0.1; done
done

# ---- HAProxy pair ---------------------------------------------------------------
HA=$(free_port); HB=$(free_port)
cat >"$T/hap-a.cfg" <<HAP
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend in
  bind 127.0.0.1:$HA
  default_backend out
backend out
  server b 127.0.0.1:$HB ssl crt $T/web.pem ca-file $T/ca.pem verify required ssl-min-ver TLSv1.3
HAP
cat >"$T/hap-b.cfg" <<HAP
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend in
  bind 127.0.0.1:$HB ssl crt $T/api.pem ca-file $T/ca.pem verify required ssl-min-ver TLSv1.3
  default_backend app
backend app
  server app 127.0.0.1:$NG
HAP
# The same A without session reuse (HAProxy reuses the last session by default).
HA2=$(free_port)
sed -e "s/bind 127.0.0.1:$HA\$/bind 127.0.0.1:$HA2/" -e 's/ssl-min-ver TLSv1.3$/ssl-min-ver TLSv1.3 no-ssl-reuse/' \
  "$T/hap-a.cfg" >"$T/hap-a2.cfg"
"${on_pair[@]}" haproxy -db -f "$T/hap-b.cfg" >"$T/hap-b.log" 2>&1 & PIDS+=($!); HAP_B=$!
"${on_pair[@]}" haproxy -db -f "$T/hap-a.cfg" >"$T/hap-a.log" 2>&1 & PIDS+=($!); HAP_A=$!
"${on_pair[@]}" haproxy -db -f "$T/hap-a2.cfg" >"$T/hap-a2.log" 2>&1 & PIDS+=($!); HAP_A2=$!
wait_port "$HA"; wait_port "$HB"; wait_port "$HA2"
[[ $(curl -s "http://127.0.0.1:$HA/" | wc -c) == 100 ]] || { echo "haproxy pair does not forward" >&2; sleep 0.5; cat "$T"/hap-*.log >&2; exit 1; }

# ---- runs -------------------------------------------------------------------------
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else {sub(/s$/,"",v); print v*1000} }'; }
# CPU seconds (utime+stime) used so far by the given processes.
cpu_s() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t/hz}'; }
# run NAME PORT MODE PID... : one wrk load; prints rate, latency, the pair's CPU
# (in cores) and the rate per core of that CPU.
run() {
  local name=$1 port=$2 mode=$3; shift 3
  local out rps p50 p99 c0 c1 hdr=()
  [[ $mode == handshakes ]] && hdr=(-H "Connection: close")
  c0=$(cpu_s "$@")
  out=$("${on_load[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --latency "${hdr[@]}" "http://127.0.0.1:$port/")
  c1=$(cpu_s "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  awk -v n="$name" -v m="$mode" -v r="$rps" -v a="$p50" -v b="$p99" -v c0="$c0" -v c1="$c1" -v d="$DURATION" \
    'BEGIN{ cores=(c1-c0)/d; printf "%-18s %-10s rps=%-10s p50_ms=%-8s p99_ms=%-8s pair_cores=%-6.2f rps_per_core=%s\n", n, m, r, a, b, cores, (cores>0 ? sprintf("%.0f", r/cores) : "-") }'
}
echo "# wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s, 100-byte responses, $(nproc) cores, PIN=$PIN; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPS"); do
  for mode in keep-alive handshakes full-handshakes; do
    ha=("$HA" "$HAP_A") ca=("$CA_" "$CAIRN_A") m=$mode
    [[ $mode == full-handshakes ]] && { ha=("$HA2" "$HAP_A2"); ca=("$CA2" "$CAIRN_A2"); m=handshakes; }
    [[ $mode != full-handshakes ]] && run direct "$NG" "$m"
    if (( r % 2 )); then  # the order alternates between rounds
      run "haproxy-pair-mtls" "${ha[0]}" "$m" "${ha[1]}" "$HAP_B" | sed "s/ handshakes / $mode /"
      run "cairn-pair-mtls" "${ca[0]}" "$m" "${ca[1]}" "$CAIRN_B" | sed "s/ handshakes / $mode /"
    else
      run "cairn-pair-mtls" "${ca[0]}" "$m" "${ca[1]}" "$CAIRN_B" | sed "s/ handshakes / $mode /"
      run "haproxy-pair-mtls" "${ha[0]}" "$m" "${ha[1]}" "$HAP_B" | sed "s/ handshakes / $mode /"
    fi
  done
done
