// ResponseCache: serialized JSON bodies of list queries, keyed by the query
// and valid for one blocking-query index of what they cover. A catalog view
// is immutable, so the same query at the same index always yields the same
// bytes: most reads then skip building and serializing a JSON tree.
//
// Thread-safe. Bounded: past `capacity` entries it starts over.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cairn::http {

class ResponseCache {
 public:
  explicit ResponseCache(size_t capacity = 4096) : capacity_(capacity) {}

  // The body stored for key at exactly `index`, or null.
  std::shared_ptr<const std::string> get(const std::string& key, uint64_t index) const {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || it->second.index != index) return nullptr;
    return it->second.body;
  }

  void put(const std::string& key, uint64_t index, std::shared_ptr<const std::string> body) {
    std::lock_guard lock(mu_);
    if (map_.size() >= capacity_ && !map_.count(key)) map_.clear();
    map_[key] = {index, std::move(body)};
  }

 private:
  struct Entry {
    uint64_t index = 0;
    std::shared_ptr<const std::string> body;
  };
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace cairn::http
