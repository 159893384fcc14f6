#!/usr/bin/env bash
# Throughput and added latency of a Cairn proxy pair with mutual TLS between
# the two proxies, beside an HAProxy pair doing the same (plain in, TLS 1.3
# with client-certificate verification between, plain out), and a direct
# baseline, all in one run against one nginx backend (100-byte body).
#   wrk -> [proxy A] -> TLS -> [proxy B] -> nginx
# Both proxies of a pair run one thread each (Cairn's proxy is one io thread;
# HAProxy nbthread 1). HTTP/1.1 keep-alive: one handshake per wrk connection,
# so this measures the relay and record layer, not handshakes.
# Usage: bench/proxy.sh   Env: CAIRN_BIN DURATION=10 CONNS=50 WRK_THREADS=2 REPS=1
# Run under `flock /work/build.lock` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
CAIRN=${CAIRN_BIN:-build/cli/cairn}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
WRK_THREADS=${WRK_THREADS:-2}
REPS=${REPS:-1}
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
nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" & PIDS+=($!)
wait_port "$NG"

# ---- Cairn pair ---------------------------------------------------------------
"$CAIRN" agent -dev -http-port 0 -dns-port 0 -data-dir "$T/agent" >"$T/agent.out" 2>"$T/agent.err" & PIDS+=($!)
for _ in $(seq 100); do grep -q "listening http=" "$T/agent.out" && break; sleep 0.1; done
HTTP=$(sed -n 's/.*listening http=\([0-9.:]*\).*/\1/p' "$T/agent.out")
CB=$(free_port); CA_=$(free_port)
tls() { echo -tls-cert "$T/$1.crt" -tls-key "$T/$1.key" -tls-ca "$T/ca.pem" -tls-peer-id "$TD/$2"; }
"$CAIRN" proxy -service api -http-addr "$HTTP" -listen "127.0.0.1:$CB" -local-app "127.0.0.1:$NG" \
  $(tls api web) -log-level warn >/dev/null 2>"$T/proxy-b.err" & PIDS+=($!)
curl -sf -X PUT "http://$HTTP/v1/agent/service/register" \
  -d "{\"Name\":\"api\",\"ID\":\"api-proxy\",\"Address\":\"127.0.0.1\",\"Port\":$CB}" >/dev/null
"$CAIRN" proxy -service web -http-addr "$HTTP" -upstream "api:$CA_" $(tls web api) -log-level warn \
  >/dev/null 2>"$T/proxy-a.err" & PIDS+=($!)
wait_port "$CB"; wait_port "$CA_"
for _ in $(seq 100); do [[ $(curl -s "http://127.0.0.1:$CA_/" | wc -c) == 100 ]] && break; sleep 0.1; done

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
haproxy -db -f "$T/hap-b.cfg" >"$T/hap-b.log" 2>&1 & PIDS+=($!)
haproxy -db -f "$T/hap-a.cfg" >"$T/hap-a.log" 2>&1 & PIDS+=($!)
wait_port "$HA"; wait_port "$HB"
[[ $(curl -s "http://127.0.0.1:$HA/" | wc -c) == 100 ]] || { echo "haproxy pair does not forward" >&2; sleep 0.5; cat "$T"/hap-*.log >&2; exit 1; }

# ---- runs -------------------------------------------------------------------------
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else {sub(/s$/,"",v); print v*1000} }'; }
run() {
  local out rps p50 p99
  out=$(wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --latency "http://127.0.0.1:$2/")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  printf '%-22s rps=%-10s p50_ms=%-8s p99_ms=%s\n' "$1" "$rps" "$p50" "$p99"
}
echo "# wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s, 100-byte responses, $(nproc) cores shared by everything"
for r in $(seq "$REPS"); do
  run direct "$NG"
  run haproxy-pair-mtls "$HA"
  run cairn-pair-mtls "$CA_"
done
