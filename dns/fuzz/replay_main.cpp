// Runs LLVMFuzzerTestOneInput without libFuzzer, for the regular build and
// CI: every file of the seed corpus, then a fixed number of deterministic
// byte-level mutations of them (flips, truncations, insertions, splices).
// Usage: dns_fuzz_replay CORPUS_DIR [MUTATIONS]
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "dns/order.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
    return 2;
  }
  std::vector<std::vector<uint8_t>> seeds;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(e.path(), std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (seeds.empty()) return 2;
  for (const auto& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());
  long n = argc > 2 ? std::stol(argv[2]) : 100000;
  cairn::dns::Rng rng(12345);
  for (long i = 0; i < n; ++i) {
    std::vector<uint8_t> b = seeds[rng.next() % seeds.size()];
    int edits = 1 + static_cast<int>(rng.next() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = b.empty() ? 0 : rng.next() % b.size();
      switch (rng.next() % 5) {
        case 0:
          if (!b.empty()) b[at] ^= static_cast<uint8_t>(1u << (rng.next() % 8));
          break;
        case 1:
          if (!b.empty()) b[at] = static_cast<uint8_t>(rng.next());
          break;
        case 2:
          b.resize(at);
          break;
        case 3:
          b.insert(b.begin() + static_cast<long>(at), static_cast<uint8_t>(rng.next()));
          break;
        default: {
          const auto& o = seeds[rng.next() % seeds.size()];
          size_t from = rng.next() % o.size();
          b.insert(b.begin() + static_cast<long>(at), o.begin() + static_cast<long>(from), o.end());
        }
      }
    }
    LLVMFuzzerTestOneInput(b.data(), b.size());
  }
  std::printf("dns_fuzz_replay: %zu seeds, %ld mutations, no invariant broken\n", seeds.size(), n);
  return 0;
}
