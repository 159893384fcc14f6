#!/usr/bin/env bash
# Inspects the .deb without installing it: its files (dpkg-deb -c), control
# fields, conffiles and maintainer scripts (dpkg-deb -I / -e), then lintian.
# Usage: packaging/test_deb.sh PACKAGE.deb
set -euo pipefail
deb="${1:?usage: test_deb.sh PACKAGE.deb}"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

listing="$(dpkg-deb -c "$deb")"
echo "--- dpkg-deb -c"; echo "$listing"
has() { grep -Eq "^$1 +$2 .* \./${3#/}$" <<<"$listing" || bad "no $3 with mode $1 and owner $2"; }
has -rwxr-xr-x root/root /usr/bin/cairn
has -rw-r--r-- root/root /etc/cairn/cairn.toml
has -rw-r--r-- root/root /lib/systemd/system/cairn.service
has -rw-r--r-- root/root /usr/lib/sysusers.d/cairn.conf
has -rw-r--r-- root/root /usr/share/doc/cairn/copyright
has -rw-r--r-- root/root /usr/share/doc/cairn/changelog.Debian.gz
has -rw-r--r-- root/root /usr/share/man/man1/cairn.1.gz
grep -q '/usr/lib/systemd/system/' <<<"$listing" && bad "ships a unit under /usr/lib/systemd/system"

dpkg-deb -e "$deb" "$work/ctl"
echo "--- control"; cat "$work/ctl/control"
depends="$(sed -n 's/^Depends: //p' "$work/ctl/control")"
for d in adduser libc6 libgcc-s1 libssl3 libsystemd0 zlib1g; do
  grep -Eq "(^|, )$d( |,|$)" <<<"$depends" || bad "Depends lacks $d"
done
grep -Eq 'librocksdb|libprotobuf|libc-ares|libsnappy|liblz4|libzstd|libspdlog|libfmt|libboost|libstdc\+\+|libbz2' <<<"$depends" &&
  bad "depends on a library that should be linked in: $depends"
[[ "$(cat "$work/ctl/conffiles")" == "/etc/cairn/cairn.toml" ]] || bad "conffiles: $(cat "$work/ctl/conffiles")"
for s in postinst prerm postrm; do
  [[ -x "$work/ctl/$s" ]] || bad "no executable $s"
  sh -n "$work/ctl/$s" || bad "$s: shell syntax"
done
grep -q 'try-restart' "$work/ctl/postinst" || bad "postinst does not restart a running service on upgrade"
awk '/"\$1" = "purge"/,/^fi$/' "$work/ctl/postrm" | grep -q 'rm -rf /var/lib/cairn' || bad "purge keeps the data"
awk '/"\$1" = "remove"/,/^fi$/' "$work/ctl/postrm" | grep -q 'rm -rf' && bad "remove deletes something"

echo "--- lintian"
out="$(lintian --display-info "$deb" 2>&1 || true)"
echo "$out"
if grep -q '^E: ' <<<"$out"; then bad "lintian errors"; fi
command -v lintian >/dev/null || bad "lintian is not installed (scripts/deps --package)"

if ((fail)); then echo "test_deb: FAILED"; exit 1; fi
echo "test_deb: ok"
