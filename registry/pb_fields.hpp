// Internal to registry/: the pieces the protobuf record conversions share
// (command.cpp, command_connect.cpp). They set and read the same fields as
// spelled-out code would, so the bytes do not change; the encodings are
// pinned in command_golden_test.cpp.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace cairn::registry {

// createIndex and modifyIndex, which every stored record carries as
// create_index and modify_index.
template <typename T, typename P>
void indexesToPb(const T& x, P* p) {
  p->set_create_index(x.createIndex);
  p->set_modify_index(x.modifyIndex);
}

template <typename P, typename T>
void indexesFromPb(const P& p, T& x) {
  x.createIndex = p.create_index();
  x.modifyIndex = p.modify_index();
}

// A string map into a protobuf map<string, string> field (meta, tagged
// addresses); back is `m.insert(p.begin(), p.end())`.
template <typename PMap>
void mapToPb(const std::map<std::string, std::string>& m, PMap* out) {
  for (const auto& [k, v] : m) (*out)[k] = v;
}

template <typename P>
[[nodiscard]] bool parsePb(P& p, std::string_view bytes) {
  return p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

template <typename P>
std::string serializePb(const P& p) {
  std::string out;
  p.SerializeToString(&out);
  return out;
}

}  // namespace cairn::registry
