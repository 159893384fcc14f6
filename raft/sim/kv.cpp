#include "raft/sim/kv.hpp"

#include <sstream>

namespace cairn::raft::sim {

std::string KvOp::encode() const {
  return "P " + std::to_string(client) + " " + std::to_string(seq) + " " + key + " " + value;
}

std::optional<KvOp> KvOp::decode(const std::string& data) {
  if (data.size() < 2 || data[0] != 'P') return std::nullopt;
  std::istringstream in(data.substr(2));
  KvOp op;
  if (!(in >> op.client >> op.seq >> op.key >> op.value)) return std::nullopt;
  return op;
}

bool KvStore::apply(const KvOp& op) {
  uint64_t& last = lastSeq_[op.client];
  if (op.seq <= last) return false;
  last = op.seq;
  data_[op.key] = op.value;
  return true;
}

std::string KvStore::get(const std::string& key) const {
  auto it = data_.find(key);
  return it == data_.end() ? "" : it->second;
}

std::string KvStore::serialize() const {
  std::ostringstream out;
  out << data_.size() << " ";
  for (const auto& [k, v] : data_) out << k << " " << v << " ";
  out << lastSeq_.size() << " ";
  for (const auto& [c, s] : lastSeq_) out << c << " " << s << " ";
  return out.str();
}

bool KvStore::restore(const std::string& data) {
  data_.clear();
  lastSeq_.clear();
  if (data.empty()) return true;
  std::istringstream in(data);
  size_t n = 0;
  if (!(in >> n)) return false;
  for (size_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!(in >> k >> v)) return false;
    data_[k] = v;
  }
  if (!(in >> n)) return false;
  for (size_t i = 0; i < n; ++i) {
    uint64_t c = 0, s = 0;
    if (!(in >> c >> s)) return false;
    lastSeq_[c] = s;
  }
  return true;
}

uint64_t KvStore::checksum() const {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : serialize()) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace cairn::raft::sim
