#!/usr/bin/env bash
# The .deb on a clean Debian 12: mmdebstrap makes a root and installs OLD
# into it as `apt install ./cairn_*.deb` would (dependencies from the Debian
# mirror). Then, in a chroot:
#   install   the cairn user, /var/lib/cairn (cairn, 0700), the conffile, the
#             enabled unit (and `systemd-analyze verify` on it);
#   serve     `cairn agent -config-dir /etc/cairn` as cairn answers HTTP and
#             DNS (systemd does not run in a chroot, so setpriv starts it;
#             ports 0 over the config's, so nothing collides);
#   upgrade   to NEW keeps an edited config and the catalog;
#   remove    keeps config, data and user; purge deletes them.
# With OLD.rpm NEW.rpm too, the same root then takes the .rpm through
# `rpm --root --nodeps` (Debian's userland stands in for EL9's: the point is
# the scriptlets and their $1 counts): install (user, /var/lib/cairn 0700),
# serve, upgrade keeping the edited %config(noreplace) and the data, erase
# keeping data and user (the edited config saved as .rpmsave).
# Needs root and the Debian mirror; about 2-3 minutes.
# Usage: packaging/test_install.sh OLD.deb NEW.deb [OLD.rpm NEW.rpm]
#        (KEEP=1 keeps the root)
set -euo pipefail
old="$(realpath "${1:?usage: test_install.sh OLD.deb NEW.deb}")"
new="$(realpath "${2:?usage: test_install.sh OLD.deb NEW.deb}")"
old_rpm="${3:+$(realpath "$3")}"
new_rpm="${4:+$(realpath "$4")}"
SUITE="${SUITE:-bookworm}"
work="$(mktemp -d /tmp/cairn-install.XXXXXX)"
root="$work/root"
agent_pid=""
fail=0

cleanup() {
  if [[ -n "$agent_pid" ]]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { echo "=== $*"; }
bad() { echo "FAIL: $*"; fail=1; }
in_root() { chroot "$root" "$@"; }
curl_() { curl --noproxy '*' -sS -m 10 "$@"; }

# Starts the agent in the root as cairn; sets agent_pid, http_port, dns_port.
start_agent() {
  local log="$work/agent.$1.log" line=""
  # A private mount namespace: /proc for the agent, gone when it exits.
  unshare --mount --propagation private -- sh -c '
    mount -t proc proc "$1/proc" && exec chroot "$1" setpriv --reuid=cairn --regid=cairn --init-groups \
      --inh-caps=-all /usr/bin/cairn agent -config-dir /etc/cairn -http-port 0 -dns-port 0 -server-port 0' \
    sh "$root" >"$log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 1 300); do
    line="$(grep -m1 '^cairn: listening' "$log" 2>/dev/null || true)"
    [[ -n "$line" ]] && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$line" ]]; then
    cat "$log"
    echo "FAIL: the agent did not start"
    exit 1
  fi
  http_port="$(sed 's/.*http=[^ ]*:\([0-9]*\).*/\1/' <<<"$line")"
  dns_port="$(sed 's/.*dns=[^ ]*:\([0-9]*\).*/\1/' <<<"$line")"
  echo "agent pid $agent_pid: $line"
  # A one-server Raft cluster elects itself; writes wait for that.
  for _ in $(seq 1 100); do
    [[ "$(curl_ "http://127.0.0.1:$http_port/v1/status/leader" || true)" == *:* ]] && return 0
    sleep 0.1
  done
  bad "no leader after 10 s"
}

stop_agent() {
  kill -TERM "$agent_pid"
  local rc=0
  wait "$agent_pid" || rc=$?
  agent_pid=""
  [[ $rc == 0 ]] || bad "the agent exited $rc on SIGTERM"
}

step "mmdebstrap $SUITE with $(basename "$old")"
t0=$SECONDS
# apt in the new root installs the .deb and what it depends on, from the
# mirror, while mmdebstrap still has /proc, /dev and resolv.conf set up.
mmdebstrap --quiet --variant=important \
  --customize-hook="copy-in $old /tmp" \
  --customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/$(basename "$old")" \
  --customize-hook="rm -f \"\$1/tmp/$(basename "$old")\"" \
  "$SUITE" "$root"
echo "root made in $((SECONDS - t0)) s"

step "install"
echo "$(in_root dpkg-query -W -f='${Package} ${Version} ${Status}' cairn)"
pw="$(in_root getent passwd cairn || true)"
echo "passwd: $pw"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[[ -n "$pw" ]] || bad "no cairn user"
((uid > 0 && uid < 1000)) || bad "cairn is not a system user (uid $uid)"
[[ "$home" == /var/lib/cairn && "$shell" == /usr/sbin/nologin ]] || bad "home $home shell $shell"
# Numeric ids: the host's passwd may name them differently.
st="$(stat -c '%u:%g %a' "$root/var/lib/cairn")"
[[ "$st" == "$uid:$gid 700" ]] || bad "/var/lib/cairn is $st, want $uid:$gid 700"
[[ "$(in_root getent group cairn | cut -d: -f3)" == "$gid" ]] || bad "cairn's group is not cairn"
in_root dpkg-query -W -f='${Conffiles}\n' cairn | grep -q '^ /etc/cairn/cairn.toml ' || bad "cairn.toml is not a conffile"
[[ -f "$root/lib/systemd/system/cairn.service" ]] || bad "no unit"
[[ -L "$root/etc/systemd/system/multi-user.target.wants/cairn.service" ]] || bad "the unit is not enabled"
[[ -x "$root/usr/bin/cairn" ]] || bad "no /usr/bin/cairn"
in_root /usr/bin/cairn version || bad "cairn version"
if [[ -x "$root/usr/bin/systemd-analyze" ]]; then
  out="$(unshare --mount --propagation private -- sh -c \
    'mount -t proc proc "$1/proc" && chroot "$1" systemd-analyze verify --man=no /lib/systemd/system/cairn.service' \
    sh "$root" 2>&1)" || bad "systemd-analyze verify: $out"
  echo "systemd-analyze verify: ${out:-clean}"
else
  bad "no systemd-analyze in the root"
fi

step "serve HTTP and DNS as cairn"
start_agent 1
ids="$(ps -o uid=,gid= -p "$agent_pid" | xargs)"
[[ "$ids" == "$uid $gid" ]] || bad "the agent runs as uid/gid $ids, want $uid $gid"
code="$(curl_ -o /dev/null -w '%{http_code}' -X PUT \
  -d '{"ID":"web-1","Name":"web","Address":"192.0.2.10","Port":8080}' \
  "http://127.0.0.1:$http_port/v1/agent/service/register")"
[[ "$code" == 200 ]] || bad "register: HTTP $code"
svc="$(curl_ "http://127.0.0.1:$http_port/v1/catalog/service/web")"
grep -q '"ServiceAddress":"192.0.2.10"' <<<"$svc" || bad "catalog: $svc"
a="$(dig +short +time=2 +tries=2 @127.0.0.1 -p "$dns_port" web.service.consul A)"
echo "dig web.service.consul A: $a"
[[ "$a" == 192.0.2.10 ]] || bad "DNS answered '$a'"
srv="$(dig +short +time=2 +tries=2 @127.0.0.1 -p "$dns_port" web.service.cairn SRV)"
echo "dig web.service.cairn SRV: $srv"
grep -q ' 8080 ' <<<"$srv" || bad "SRV answered '$srv'"
stop_agent
owners="$(find "$root/var/lib/cairn" ! -uid "$uid" | sed "s|^$root||")"
[[ -z "$owners" ]] || bad "not owned by cairn: $owners"

step "upgrade to $(basename "$new")"
printf '\n# edited by test_install\nnode_name = "pkgtest"\n' >>"$root/etc/cairn/cairn.toml"
edited="$(sha256sum <"$root/etc/cairn/cairn.toml")"
cp "$new" "$root/tmp/new.deb"
in_root env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/new.deb
rm -f "$root/tmp/new.deb"
want="$(dpkg-deb -f "$new" Version)"
got="$(in_root dpkg-query -W -f='${Version}' cairn)"
[[ "$got" == "$want" ]] || bad "version after upgrade: $got, want $want"
[[ "$(sha256sum <"$root/etc/cairn/cairn.toml")" == "$edited" ]] || bad "the upgrade changed the edited config"
ls "$root"/etc/cairn/*.dpkg-* 2>/dev/null && bad "dpkg left config copies"
st="$(stat -c '%u:%g %a' "$root/var/lib/cairn")"
[[ "$st" == "$uid:$gid 700" ]] || bad "/var/lib/cairn after upgrade is $st"
start_agent 2
svc="$(curl_ "http://127.0.0.1:$http_port/v1/catalog/service/web")"
grep -q '"ServiceAddress":"192.0.2.10"' <<<"$svc" || bad "the catalog lost web-1: $svc"
nodes="$(curl_ "http://127.0.0.1:$http_port/v1/catalog/nodes")"
grep -q '"Node":"pkgtest"' <<<"$nodes" || bad "the edited node_name is not in effect: $nodes"
stop_agent

step "remove"
in_root dpkg -r cairn
[[ ! -e "$root/usr/bin/cairn" ]] || bad "remove left /usr/bin/cairn"
[[ -f "$root/etc/cairn/cairn.toml" ]] || bad "remove deleted the config"
[[ -n "$(ls -A "$root/var/lib/cairn" 2>/dev/null)" ]] || bad "remove deleted the data"
in_root getent passwd cairn >/dev/null || bad "remove deleted the user"

step "purge"
in_root dpkg -P cairn
[[ ! -e "$root/etc/cairn" ]] || bad "purge left /etc/cairn: $(ls -A "$root/etc/cairn")"
[[ ! -e "$root/var/lib/cairn" ]] || bad "purge left /var/lib/cairn"
in_root getent passwd cairn >/dev/null && bad "purge left the cairn user"
in_root getent group cairn >/dev/null && bad "purge left the cairn group"
[[ ! -e "$root/etc/systemd/system/multi-user.target.wants/cairn.service" ]] || bad "purge left the enable link"
status="$(in_root dpkg-query -W -f='${db:Status-Status}' cairn 2>/dev/null || true)"
[[ -z "$status" || "$status" == not-installed ]] || bad "dpkg says cairn is $status"

if [[ -n "$old_rpm" ]]; then
  step "rpm: install $(basename "$old_rpm")"
  rpm_() { rpm --root "$root" "$@"; }
  rpm_ --initdb
  rpm_ -i --nodeps "$old_rpm"
  pw="$(in_root getent passwd cairn || true)"
  echo "passwd: $pw"
  IFS=: read -r _ _ uid gid _ home _ <<<"$pw"
  [[ -n "$pw" && "$home" == /var/lib/cairn ]] || bad "%pre did not make the cairn user"
  st="$(stat -c '%u:%g %a' "$root/var/lib/cairn" 2>&1)"
  [[ "$st" == "$uid:$gid 700" ]] || bad "/var/lib/cairn is $st, want $uid:$gid 700"
  [[ -f "$root/usr/lib/systemd/system/cairn.service" ]] || bad "no unit in /usr/lib/systemd/system"
  start_agent rpm1
  code="$(curl_ -o /dev/null -w '%{http_code}' -X PUT \
    -d '{"ID":"api-1","Name":"api","Address":"192.0.2.20","Port":9090}' \
    "http://127.0.0.1:$http_port/v1/agent/service/register")"
  [[ "$code" == 200 ]] || bad "rpm: register: HTTP $code"
  a="$(dig +short +time=2 +tries=2 @127.0.0.1 -p "$dns_port" api.service.consul A)"
  [[ "$a" == 192.0.2.20 ]] || bad "rpm: DNS answered '$a'"
  stop_agent

  step "rpm: upgrade to $(basename "$new_rpm")"
  printf '\n# edited by test_install\nnode_name = "rpmtest"\n' >>"$root/etc/cairn/cairn.toml"
  edited="$(sha256sum <"$root/etc/cairn/cairn.toml")"
  rpm_ -U --nodeps "$new_rpm"
  want="$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$new_rpm")"
  got="$(rpm_ -q --qf '%{VERSION}-%{RELEASE}' cairn)"
  [[ "$got" == "$want" ]] || bad "rpm: version after upgrade: $got, want $want"
  [[ "$(sha256sum <"$root/etc/cairn/cairn.toml")" == "$edited" ]] || bad "rpm: the upgrade changed the edited config"
  start_agent rpm2
  svc="$(curl_ "http://127.0.0.1:$http_port/v1/catalog/service/api")"
  grep -q '"ServiceAddress":"192.0.2.20"' <<<"$svc" || bad "rpm: the catalog lost api-1: $svc"
  nodes="$(curl_ "http://127.0.0.1:$http_port/v1/catalog/nodes")"
  grep -q '"Node":"rpmtest"' <<<"$nodes" || bad "rpm: the edited node_name is not in effect: $nodes"
  stop_agent

  step "rpm: erase"
  rpm_ -e --nodeps cairn
  [[ ! -e "$root/usr/bin/cairn" ]] || bad "rpm: erase left /usr/bin/cairn"
  [[ -f "$root/etc/cairn/cairn.toml.rpmsave" ]] || bad "rpm: erase did not save the edited config"
  [[ -n "$(ls -A "$root/var/lib/cairn" 2>/dev/null)" ]] || bad "rpm: erase deleted the data"
  in_root getent passwd cairn >/dev/null || bad "rpm: erase deleted the user"
fi

if ((fail)); then echo "test_install: FAILED"; exit 1; fi
echo "test_install: ok ($((SECONDS - t0)) s)"
