#!/usr/bin/env bash
# Inspects the .rpm without installing it: its files and their attributes
# (rpm -qpl / -qplv / --configfiles), its scriptlets (-qp --scripts) and its
# requirements (-qpR), then rpmlint. Fails on anything the issue's list
# rules out; prints what it read.
# Usage: packaging/test_rpm.sh PACKAGE.rpm
set -euo pipefail
rpmf="${1:?usage: test_rpm.sh PACKAGE.rpm}"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

files="$(rpm -qpl "$rpmf")"
echo "--- rpm -qpl"; echo "$files"
for f in /usr/bin/cairn /etc/cairn/cairn.toml /usr/lib/systemd/system/cairn.service \
         /usr/lib/sysusers.d/cairn.conf /usr/share/licenses/cairn/LICENSE \
         /usr/share/doc/cairn/README.md /usr/share/man/man1/cairn.1.gz; do
  grep -qx "$f" <<<"$files" || bad "missing $f"
done
# /var/lib/cairn comes from %post, so that erasing the package keeps the data.
for d in /var/lib/cairn /usr /usr/bin /etc /var /var/lib /usr/lib /usr/lib/systemd /usr/lib/systemd/system /usr/share; do
  grep -qx "$d" <<<"$files" && bad "owns the system directory $d"
done

long="$(rpm -qplv "$rpmf")"
grep -Eq '^-rwxr-xr-x +[0-9]+ +root +root .* /usr/bin/cairn$' <<<"$long" || bad "/usr/bin/cairn mode"

[[ "$(rpm -qp --configfiles "$rpmf")" == "/etc/cairn/cairn.toml" ]] || bad "config files: $(rpm -qp --configfiles "$rpmf")"
flags="$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmf")"
grep -Eq '^c?n? ?cn? /etc/cairn/cairn.toml$|^cn /etc/cairn/cairn.toml$' <<<"$flags" ||
  bad "cairn.toml is not %config(noreplace): $(grep cairn.toml <<<"$flags")"
grep -Eq '^[^ ]*c[^ ]* /usr/lib/systemd/system/cairn.service$' <<<"$flags" && bad "the unit is marked %config"
grep -Eq '^[^ ]*l[^ ]* /usr/share/licenses/cairn/LICENSE$' <<<"$flags" || bad "LICENSE is not %license"

scripts="$(rpm -qp --scripts "$rpmf")"
echo "--- rpm -qp --scripts"; echo "$scripts"
want=(
  'preinstall scriptlet'  'useradd -r -g cairn'
  'postinstall scriptlet' 'install -d -m 0700 -o cairn -g cairn /var/lib/cairn'
  'postinstall scriptlet' 'if \[ \$1 -eq 1 \].*preset cairn.service'
  'preuninstall scriptlet' 'if \[ \$1 -eq 0 \].*disable --now cairn.service'
  'postuninstall scriptlet' 'if \[ \$1 -ge 1 \].*try-restart cairn.service'
)
for ((i = 0; i < ${#want[@]}; i += 2)); do
  section="$(awk -v s="${want[i]}" 'index($0, s) == 1 {on = 1; next} / scriptlet \(using/ {on = 0} on' <<<"$scripts")"
  [[ -n "$section" ]] || { bad "no ${want[i]}"; continue; }
  tr '\n' ' ' <<<"$section" | grep -Eq "${want[i + 1]}" || bad "${want[i]} lacks /${want[i + 1]}/"
done
grep -q 'rm -rf /var/lib/cairn' <<<"$(grep -v '^#' <<<"$scripts")" && bad "a scriptlet deletes the data"

reqs="$(rpm -qpR "$rpmf")"
echo "--- rpm -qpR"; echo "$reqs"
# Debian-only sonames and libraries that the binary should carry inside.
if grep -E 'libbz2\.so\.1\.0|librocksdb|libprotobuf|libcares|libsnappy|liblz4|libzstd|libspdlog|libfmt|libboost|libstdc\+\+|libgflags' <<<"$reqs"; then
  bad "requires a library that EL9 lacks or that should be linked in (above)"
fi
newest="$(grep -o 'GLIBC_[0-9.]*' <<<"$reqs" | sed 's/GLIBC_//' | sort -uV | tail -1)"
echo "highest GLIBC required: $newest"
[[ "$(printf '%s\n2.34\n' "$newest" | sort -V | tail -1)" == "2.34" ]] || bad "requires GLIBC_$newest > 2.34"
for r in systemd shadow-utils 'libssl.so.3()(64bit)' 'libc.so.6()(64bit)'; do
  grep -qxF "$r" <<<"$reqs" || bad "does not require $r"
done

if command -v rpmlint >/dev/null; then
  echo "--- rpmlint"
  out="$(rpmlint -c "$(dirname "$0")/rpmlint.toml" "$rpmf" 2>&1 || true)"
  echo "$out"
  summary="$(grep -E '[0-9]+ errors?, [0-9]+ warnings?' <<<"$out" | tail -1)"
  [[ -n "$summary" ]] || bad "no rpmlint summary"
  errors="$(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+')"
  [[ "${errors:-1}" == 0 ]] || bad "rpmlint: $summary"
else
  bad "rpmlint is not installed (scripts/deps --package)"
fi

if ((fail)); then echo "test_rpm: FAILED"; exit 1; fi
echo "test_rpm: ok"
