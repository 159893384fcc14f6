// Forwarder: sends queries for names outside our domains to the configured
// recursors and hands back their answers. The implementation uses c-ares
// on a thread of its own; no c-ares type appears here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace cairn::dns {

class Forwarder {
 public:
  // Called exactly once per forward(), on the forwarder's thread: with the
  // recursor's answer (its ID already set back to the query's), or with an
  // empty span when every recursor failed or timed out, when too many
  // queries are in flight, or when the forwarder stops.
  using Done = std::function<void(std::span<const uint8_t> answer)>;

  // `servers`: "ip", "ip:port" or "[ip6]:port". Each recursor is tried once
  // for at most `timeout`. Fails on an unparsable server list.
  static Result<std::unique_ptr<Forwarder>> create(const std::vector<std::string>& servers,
                                                   std::chrono::milliseconds timeout,
                                                   int maxInFlight);
  virtual ~Forwarder() = default;

  // Forwards the query bytes (over TCP to the recursor when `tcp`, so a
  // large answer is not truncated). Thread-safe.
  virtual void forward(std::span<const uint8_t> query, bool tcp, Done done) = 0;

  // Fails every pending query and joins the thread. Idempotent.
  virtual void stop() = 0;

  virtual uint64_t forwardedTotal() const = 0;
  virtual uint64_t failedTotal() const = 0;
};

}  // namespace cairn::dns
