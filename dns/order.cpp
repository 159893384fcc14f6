#include "dns/order.hpp"

#include <algorithm>

namespace cairn::dns {
namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

// Efraimidis-Spirakis with exponential keys: key = Exp(1)/w, ascending.
// The smallest of independent Exp(w_i) variables is i with probability
// w_i / sum(w), and the rest are again such a race: a weighted permutation.
void weightedKeys(std::span<OrderItem> items, Rng& rng) {
  for (auto& it : items) {
    double e = -std::log(rng.unit());
    it.key = it.weight ? e / it.weight : 1e300 + e * 1e290;
  }
}

}  // namespace

std::optional<Order> parseOrder(std::string_view s) {
  if (s == "weighted") return Order::kWeighted;
  if (s == "round-robin") return Order::kRoundRobin;
  if (s == "least-loaded") return Order::kLeastLoaded;
  return std::nullopt;
}

std::string_view toString(Order o) {
  switch (o) {
    case Order::kWeighted:
      return "weighted";
    case Order::kRoundRobin:
      return "round-robin";
    case Order::kLeastLoaded:
      return "least-loaded";
  }
  return "weighted";
}

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}

uint64_t Rng::next() {
  uint64_t r = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return r;
}

void orderItems(std::span<OrderItem> items, Order order, Rng& rng, uint64_t turn) {
  if (items.size() < 2) return;
  switch (order) {
    case Order::kRoundRobin:
      std::rotate(items.begin(), items.begin() + static_cast<ptrdiff_t>(turn % items.size()),
                  items.end());
      return;
    case Order::kWeighted:
      weightedKeys(items, rng);
      std::sort(items.begin(), items.end(),
                [](const OrderItem& a, const OrderItem& b) { return a.key < b.key; });
      return;
    case Order::kLeastLoaded:
      weightedKeys(items, rng);
      std::sort(items.begin(), items.end(), [](const OrderItem& a, const OrderItem& b) {
        bool ha = !std::isnan(a.load), hb = !std::isnan(b.load);
        if (ha != hb) return ha;
        if (ha && a.load != b.load) return a.load < b.load;
        return a.key < b.key;
      });
      return;
  }
}

}  // namespace cairn::dns
