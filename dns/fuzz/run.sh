#!/usr/bin/env bash
# Builds dns_fuzz (clang-14, libFuzzer + ASan + UBSan) in build-fuzz/ and runs
# it for N executions (default 100000) over a copy of the seed corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-100000}
B=${FUZZ_BUILD_DIR:-build-fuzz}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
if [[ ! -f "$B/build.ninja" ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCAIRN_DNS_FUZZ=ON -DCMAKE_CXX_FLAGS="$SAN -fsanitize=fuzzer-no-link" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
cmake --build "$B" --target dns_fuzz
work=$(mktemp -d /tmp/dns-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp dns/fuzz/corpus/* "$work"/
"$B/dns/dns_fuzz" -runs="$RUNS" -max_len=4096 -timeout=10 -print_final_stats=1 "$work"
