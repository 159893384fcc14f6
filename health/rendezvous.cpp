#include "health/rendezvous.hpp"

namespace cairn::health {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t rendezvousWeight(std::string_view server, std::string_view key) {
  // The server's length goes in first, so ("ab", "c") and ("a", "bc") differ.
  uint64_t h = mix(kFnvOffset ^ server.size());
  h = fnv1a(h, server);
  h = mix(h);
  h = fnv1a(h, key);
  return mix(h);
}

std::string rendezvousOwner(std::string_view key, const std::vector<std::string>& servers) {
  const std::string* best = nullptr;
  uint64_t bestWeight = 0;
  for (const auto& s : servers) {
    uint64_t w = rendezvousWeight(s, key);
    if (!best || w > bestWeight || (w == bestWeight && s < *best)) {
      best = &s;
      bestWeight = w;
    }
  }
  return best ? *best : std::string();
}

}  // namespace cairn::health
