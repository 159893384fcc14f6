#!/usr/bin/env bash
# Checks the packaged binary's runtime needs: prints the highest GLIBC and
# GLIBCXX symbol versions it requires (objdump -T) and its DT_NEEDED
# libraries, and fails if it needs a glibc past 2.34 (EL9), any GLIBCXX
# (libstdc++ is linked in), or a library outside the set that Debian 12,
# Ubuntu 22.04 and EL9 all ship under the same soname.
# Usage: packaging/test_binary.sh BINARY
set -euo pipefail
bin="${1:?usage: test_binary.sh BINARY}"
MAX_GLIBC="${MAX_GLIBC:-2.34}"
ALLOWED_NEEDED="libc.so.6 libm.so.6 ld-linux-x86-64.so.2 libgcc_s.so.1 libssl.so.3 libcrypto.so.3 libsystemd.so.0 libz.so.1"
fail=0

versions() { objdump -T "$bin" | { grep -o "\b$1_[0-9][0-9.]*" || true; } | sed "s/^$1_//" | sort -uV; }
glibc="$(versions GLIBC | tail -1)"
glibcxx="$(versions GLIBCXX | tail -1)"
gcc="$(versions GCC | tail -1)"
echo "highest GLIBC: ${glibc:-none}"
echo "highest GLIBCXX: ${glibcxx:-none}"
echo "highest GCC (libgcc_s): ${gcc:-none}"
if [[ -z "$glibc" ]]; then
  echo "FAIL: no GLIBC versions found (is $bin dynamically linked against glibc?)"
  fail=1
elif [[ "$(printf '%s\n%s\n' "$glibc" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]]; then
  echo "FAIL: needs GLIBC_$glibc > $MAX_GLIBC; the symbols:"
  objdump -T "$bin" | grep "GLIBC_$glibc" | awk '{print "  " $NF}'
  fail=1
fi
if [[ -n "$glibcxx" ]]; then
  echo "FAIL: needs libstdc++ (GLIBCXX_$glibcxx); expected -static-libstdc++"
  fail=1
fi

# libgcc_s stays shared (see static_deps.cmake); EL9's is GCC 11's.
if [[ -n "$gcc" && "$(printf '%s\n11\n' "$gcc" | sort -V | tail -1)" != 11 ]]; then
  echo "FAIL: needs libgcc_s GCC_$gcc, newer than EL9's GCC 11"
  fail=1
fi

needed="$(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}')"
echo "NEEDED: $(echo $needed)"
for lib in $needed; do
  if [[ " $ALLOWED_NEEDED " != *" $lib "* ]]; then
    echo "FAIL: needs $lib, which is not in: $ALLOWED_NEEDED"
    fail=1
  fi
done
for lib in libssl.so.3 libz.so.1; do
  [[ " $(echo $needed) " == *" $lib "* ]] || { echo "FAIL: expected $lib among NEEDED"; fail=1; }
done

if ((fail)); then echo "test_binary: FAILED"; exit 1; fi
echo "test_binary: ok"
