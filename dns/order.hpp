// Orderings of service instances, per query: weighted random by Weights,
// round-robin, and least-loaded by reported load. Pure and allocation-free
// (the caller owns the items); shared by DNS answers and the HTTP
// `?order=` extension.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace cairn::dns {

enum class Order : uint8_t { kWeighted, kRoundRobin, kLeastLoaded };

// "weighted", "round-robin", "least-loaded".
std::optional<Order> parseOrder(std::string_view s);
std::string_view toString(Order o);

// A small, fast, seedable generator (xoshiro256**). Not thread-safe: one
// per thread. The same seed gives the same sequence on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  // Uniform in (0, 1]: never 0, so log() of it is finite.
  double unit() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }

 private:
  uint64_t s_[4];
};

struct OrderItem {
  uint32_t index = 0;   // the caller's instance index
  uint32_t weight = 1;  // from Weights.Passing or Weights.Warning
  double load = NAN;    // reported load; NaN when none (or expired)
  double key = 0;       // scratch
};

// Reorders items in place.
// - kWeighted: a random permutation in which each position is drawn with
//   probability proportional to weight among the items left (so the first
//   item is item i with probability w_i / sum(w)); weight-0 items come last,
//   in random order.
// - kRoundRobin: the items' order rotated by `turn` (a per-service counter).
// - kLeastLoaded: ascending reported load; items without a load come after
//   those with one; ties are broken as kWeighted.
void orderItems(std::span<OrderItem> items, Order order, Rng& rng, uint64_t turn);

}  // namespace cairn::dns
