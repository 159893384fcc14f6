// The simulator's replicated state machine: a key-value register per key,
// with per-client de-duplication (a proposal delivered twice applies once).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace cairn::raft::sim {

struct KvOp {
  uint64_t client = 0;
  uint64_t seq = 0;
  std::string key;
  std::string value;
  std::string encode() const;
  static std::optional<KvOp> decode(const std::string& data);
};

class KvStore {
 public:
  // Applies a put; returns false if it was a duplicate (already applied).
  bool apply(const KvOp& op);
  std::string get(const std::string& key) const;
  std::string serialize() const;
  bool restore(const std::string& data);
  uint64_t checksum() const;

 private:
  std::map<std::string, std::string> data_;
  std::map<uint64_t, uint64_t> lastSeq_;  // client -> highest applied seq
};

}  // namespace cairn::raft::sim
