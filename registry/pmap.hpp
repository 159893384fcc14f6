// PMap<V>: an immutable, persistent ordered map from string keys to V.
//
// Every update returns a new map that shares all untouched structure with the
// old one (path copying in a treap), so an update costs O(log n) allocations
// and old versions stay valid for readers that still hold them. This is what
// lets the catalog publish a new read view per write at a cost proportional
// to what the write touched, never to the catalog's size.
//
// Thread-safety: a PMap value is immutable; any number of threads may read
// the same map concurrently. Copying a PMap copies one shared_ptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace cairn::registry {

template <typename V>
class PMap {
  struct Node;
  using Ptr = std::shared_ptr<const Node>;
  struct Node {
    std::string key;
    V value;
    uint64_t prio;
    size_t size;
    Ptr left, right;
  };

 public:
  PMap() = default;

  size_t size() const { return root_ ? root_->size : 0; }
  bool empty() const { return !root_; }

  // Returns the value for key, or nullptr. The pointer lives as long as this map.
  const V* find(std::string_view key) const {
    const Node* n = root_.get();
    while (n) {
      int c = key.compare(n->key);
      if (c == 0) return &n->value;
      n = c < 0 ? n->left.get() : n->right.get();
    }
    return nullptr;
  }

  // Returns a map with key set to value (inserted or replaced).
  [[nodiscard]] PMap set(std::string key, V value) const {
    if (find(key)) return PMap(replace(root_, key, std::move(value)));
    auto n = std::make_shared<Node>(
        Node{std::move(key), std::move(value), priority(key), 1, nullptr, nullptr});
    n->prio = priority(n->key);
    return PMap(insert(root_, std::move(n)));
  }

  // A map of `items`, whose keys must be strictly increasing (aborts
  // otherwise). O(n), one allocation per entry: n set()s would copy a path of
  // O(log n) nodes each, which dominates loading a large catalog.
  [[nodiscard]] static PMap fromSorted(std::vector<std::pair<std::string, V>> items) {
    // The treap of these keys and priorities, built as a Cartesian tree: the
    // stack holds the right spine (each node's right child is the one above
    // it); a new, larger key takes the nodes of lower priority off it as its
    // left subtree. A node's subtree is final once it leaves the stack, so
    // its size is set then.
    std::vector<std::shared_ptr<Node>> spine;
    auto close = [](Node& n) { n.size = 1 + sz(n.left) + sz(n.right); };
    for (size_t i = 0; i < items.size(); ++i) {
      CAIRN_CHECK(i == 0 || items[i - 1].first < items[i].first,
                  "PMap::fromSorted needs strictly increasing keys");
      auto n = std::make_shared<Node>(
          Node{std::move(items[i].first), std::move(items[i].second), 0, 1, nullptr, nullptr});
      n->prio = priority(n->key);
      std::shared_ptr<Node> last;
      while (!spine.empty() && spine.back()->prio < n->prio) {
        last = std::move(spine.back());
        spine.pop_back();
        close(*last);
      }
      n->left = std::move(last);
      if (!spine.empty()) spine.back()->right = n;
      spine.push_back(std::move(n));
    }
    while (spine.size() > 1) {
      close(*spine.back());
      spine.pop_back();
    }
    if (spine.empty()) return PMap();
    close(*spine.front());
    return PMap(std::move(spine.front()));
  }

  // Returns a map without key (the same map if key is absent).
  [[nodiscard]] PMap erase(std::string_view key) const {
    if (!find(key)) return *this;
    return PMap(eraseAt(root_, key));
  }

  // Calls fn(key, value) for every entry in key order. fn returns false to stop.
  template <typename F>
  void forEach(F&& fn) const {
    walk(root_.get(), std::string_view(), fn);
  }

  // Calls fn(key, value) in key order for keys >= from. fn returns false to stop.
  template <typename F>
  void forEachFrom(std::string_view from, F&& fn) const {
    walk(root_.get(), from, fn);
  }

  // Calls fn for the keys that start with prefix, in order.
  template <typename F>
  void forEachPrefix(std::string_view prefix, F&& fn) const {
    auto bounded = [&](const std::string& k, const V& v) {
      if (k.compare(0, prefix.size(), prefix) != 0) return false;
      return fn(k, v);
    };
    walk(root_.get(), prefix, bounded);
  }

 private:
  explicit PMap(Ptr root) : root_(std::move(root)) {}

  static uint64_t priority(std::string_view key) {
    // A fixed hash keeps the shape independent of insertion order.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
  }

  static size_t sz(const Ptr& p) { return p ? p->size : 0; }

  static Ptr make(const Node& proto, Ptr l, Ptr r) {
    auto n = std::make_shared<Node>(
        Node{proto.key, proto.value, proto.prio, 0, std::move(l), std::move(r)});
    n->size = 1 + sz(n->left) + sz(n->right);
    return n;
  }

  static Ptr replace(const Ptr& t, std::string_view key, V&& value) {
    int c = key.compare(t->key);
    if (c == 0) {
      auto n = std::make_shared<Node>(
          Node{t->key, std::move(value), t->prio, t->size, t->left, t->right});
      return n;
    }
    if (c < 0) return make(*t, replace(t->left, key, std::move(value)), t->right);
    return make(*t, t->left, replace(t->right, key, std::move(value)));
  }

  // Splits t into keys < key and keys > key (key itself is absent).
  static std::pair<Ptr, Ptr> split(const Ptr& t, std::string_view key) {
    if (!t) return {nullptr, nullptr};
    if (key.compare(t->key) < 0) {
      auto [l, r] = split(t->left, key);
      return {l, make(*t, r, t->right)};
    }
    auto [l, r] = split(t->right, key);
    return {make(*t, t->left, l), r};
  }

  static Ptr merge(const Ptr& a, const Ptr& b) {
    if (!a) return b;
    if (!b) return a;
    if (a->prio > b->prio) return make(*a, a->left, merge(a->right, b));
    return make(*b, merge(a, b->left), b->right);
  }

  static Ptr insert(const Ptr& t, std::shared_ptr<Node> n) {
    if (!t || n->prio > t->prio) {
      auto [l, r] = split(t, n->key);
      n->left = std::move(l);
      n->right = std::move(r);
      n->size = 1 + sz(n->left) + sz(n->right);
      return n;
    }
    if (std::string_view(n->key).compare(t->key) < 0) return make(*t, insert(t->left, n), t->right);
    return make(*t, t->left, insert(t->right, n));
  }

  static Ptr eraseAt(const Ptr& t, std::string_view key) {
    int c = key.compare(t->key);
    if (c == 0) return merge(t->left, t->right);
    if (c < 0) return make(*t, eraseAt(t->left, key), t->right);
    return make(*t, t->left, eraseAt(t->right, key));
  }

  // In-order walk over keys >= from; returns false once fn asked to stop.
  template <typename F>
  static bool walk(const Node* n, std::string_view from, F& fn) {
    if (!n) return true;
    bool inRange = from.compare(n->key) <= 0;
    if (inRange && !walk(n->left.get(), from, fn)) return false;
    if (inRange && !fn(n->key, n->value)) return false;
    return walk(n->right.get(), from, fn);
  }

  Ptr root_;
};

}  // namespace cairn::registry
