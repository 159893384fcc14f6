#!/usr/bin/env bash
# The packaged files against the current code, without building a package
# (ctest packaging_files): the default /etc/cairn/cairn.toml is accepted by
# `cairn agent -config-dir` and makes a one-server cluster that elects itself
# and takes writes; `systemd-analyze verify` finds nothing wrong with the unit.
# Ports 0 and a temp data dir override the config's, so nothing collides.
# Usage: packaging/test_config.sh CAIRN_BINARY
set -euo pipefail
bin="$(realpath "${1:?usage: test_config.sh CAIRN_BINARY}")"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
curl_() { curl --noproxy '*' -sS -m 10 "$@"; }

mkdir "$work/etc"
cp "$here/cairn.toml" "$work/etc/"
"$bin" agent -config-dir "$work/etc" -data-dir "$work/data" -http-port 0 -dns-port 0 \
  -server-port 0 >"$work/log" 2>&1 &
pid=$!
line=""
for _ in $(seq 1 200); do
  line="$(grep -m1 '^cairn: listening' "$work/log" 2>/dev/null || true)"
  [[ -n "$line" ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$line" ]] || { cat "$work/log"; echo "FAIL: the agent did not start with the default config"; exit 1; }
echo "$line"
[[ "$line" == *" server=127.0.0.1:"* ]] || bad "not a Raft server on 127.0.0.1: $line"
http="$(sed 's/.*http=127.0.0.1:\([0-9]*\).*/\1/' <<<"$line")"
leader=""
for _ in $(seq 1 100); do
  leader="$(curl_ "http://127.0.0.1:$http/v1/status/leader" || true)"
  [[ "$leader" == *:* ]] && break
  sleep 0.1
done
echo "leader: $leader"
[[ "$leader" == *:* ]] || bad "no leader after 10 s"
code="$(curl_ -o /dev/null -w '%{http_code}' -X PUT -d '{"Name":"web","Port":80}' \
  "http://127.0.0.1:$http/v1/agent/service/register")"
[[ "$code" == 200 ]] || bad "register: HTTP $code"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc == 0 ]] || bad "exit status $rc on SIGTERM"

# The unit as shipped, but ExecStart pointing at this build's binary.
sed "s|^ExecStart=/usr/bin/cairn |ExecStart=$bin |" "$here/cairn.service" >"$work/cairn.service"
out="$(systemd-analyze verify --man=no "$work/cairn.service" 2>&1)" || bad "systemd-analyze verify: $out"
[[ -z "$out" ]] || bad "systemd-analyze verify says: $out"
grep -q '^Type=notify$' "$here/cairn.service" || bad "the unit is not Type=notify"

if ((fail)); then echo "test_config: FAILED"; exit 1; fi
echo "test_config: ok"
